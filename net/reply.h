/* reply.h -- the reply encoder: a connection's growable output buffer and the RESP2/RESP3
 * encodings commands append to it.
 *
 * A reply_buf is embedded in the connection (init/destroy). Commands append through the reply_*
 * functions; the connection writes data[sent, ...) to the socket and reports progress with
 * reply_buf_advance. rb->proto (2 or 3, changed by HELLO) picks the encoding of the types that
 * differ: nulls, maps, sets, pushes, doubles, booleans, verbatim strings and big numbers.
 *
 * Appends never fail from the caller's point of view: on an allocation failure the buffer sets
 * rb->failed, drops that and every later append, and the connection must close after sending
 * nothing more (the stream would be missing a reply). Appending is a capacity check and a
 * memcpy: the buffer grows by doubling and keeps its memory between replies (it is released
 * only when it drains while over REPLY_BUF_KEEP bytes). Integers are formatted without printf.
 *
 * Deferred lengths (Redis's addReplyDeferredLen): reply_defer_len marks where an aggregate header
 * goes before its count is known; reply_set_deferred_len inserts it later, moving the bytes
 * appended since (a memmove of the reply's tail). Handles may be set in any order; nested ones
 * stay correct. Until every handle is set, only the bytes before the first pending header may
 * be written (reply_buf_unsent enforces this).
 * Thread-safety: a reply_buf belongs to one connection (one loop thread). */
#ifndef STRATA_NET_REPLY_H
#define STRATA_NET_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLY_BUF_INITIAL ((size_t)16 << 10) /* first allocation (Redis's PROTO_REPLY_CHUNK_BYTES) */
#define REPLY_BUF_KEEP ((size_t)1 << 20)     /* a drained buffer larger than this is released */

struct reply_defer; /* pending deferred header (reply.c) */

typedef struct reply_buf {
    uint8_t *data;   /* data[0, len) encoded replies; owned */
    size_t len;
    size_t cap;
    size_t sent;     /* data[0, sent) already written: advance only with reply_buf_advance */
    int proto;       /* 2 or 3 */
    bool failed;     /* sticky: an append was dropped for lack of memory; close the connection */
    struct reply_defer *defer; /* pending deferred headers, oldest first */
    size_t ndefer;
    size_t defer_cap;
    size_t defer_seq;          /* next handle */
    uint64_t errors;           /* error replies appended (INFO total_error_replies, errorstats) */
    char last_error[24];       /* the code (first word) of the last one: "ERR", "WRONGTYPE" ... */
} reply_buf;

/* ---- the buffer -------------------------------------------------------------------------- */

void reply_buf_init(reply_buf *rb, int proto); /* allocates nothing until the first append */
void reply_buf_destroy(reply_buf *rb);         /* NULL-safe; frees data and pending handles */
/* Makes room for n more bytes (one allocation before a large reply). False (and rb->failed) on
 * ENOMEM. May move unsent bytes to the front (never while a deferred header is pending). */
bool reply_buf_reserve(reply_buf *rb, size_t n);
/* The bytes to write now: *n bytes at the returned pointer (*n == 0: nothing to send). Stops
 * before the first pending deferred header. Valid until the next append or advance. */
const uint8_t *reply_buf_unsent(const reply_buf *rb, size_t *n);
/* n bytes of reply_buf_unsent were written. When everything is written the buffer is emptied
 * (len = sent = 0) and, if its capacity is above REPLY_BUF_KEEP, released. */
void reply_buf_advance(reply_buf *rb, size_t n);
/* Appends already-encoded protocol bytes as they are. */
void reply_raw(reply_buf *rb, const void *p, size_t n);

/* ---- simple types (same bytes in RESP2 and RESP3 unless noted) ------------------------------ */

/* "+<s>\r\n"; CR and LF inside s become spaces. */
void reply_simple(reply_buf *rb, const char *s);
void reply_simple_len(reply_buf *rb, const char *s, size_t n);
/* "-<msg>\r\n". msg starts with its code ("ERR syntax error", "WRONGTYPE ..."); a leading '-' is
 * not doubled; an empty msg sends "-ERR\r\n". CR and LF inside msg become spaces, as Redis's
 * addReplyErrorFormat does, so the reply cannot break the protocol. */
void reply_error(reply_buf *rb, const char *msg);
void reply_error_len(reply_buf *rb, const char *msg, size_t n);
/* reply_error of a printf-formatted message. */
void reply_errorf(reply_buf *rb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":<v>\r\n" */
void reply_int(reply_buf *rb, long long v);
/* "$<n>\r\n<bytes>\r\n" (binary-safe) */
void reply_bulk(reply_buf *rb, const void *p, size_t n);
void reply_bulk_str(reply_buf *rb, const char *s); /* s == NULL sends reply_null */
void reply_bulk_ll(reply_buf *rb, long long v);    /* the decimal text of v as a bulk */
/* A missing value: RESP2 "$-1\r\n", RESP3 "_\r\n". */
void reply_null(reply_buf *rb);
/* A missing aggregate (e.g. a timed-out BLPOP): RESP2 "*-1\r\n", RESP3 "_\r\n". */
void reply_null_array(reply_buf *rb);
/* Aggregate headers, followed by n elements (a map: n key-value pairs = 2n elements). */
void reply_array_header(reply_buf *rb, size_t n); /* "*<n>" */
void reply_map_header(reply_buf *rb, size_t n);   /* RESP2 "*<2n>", RESP3 "%<n>" */
void reply_set_header(reply_buf *rb, size_t n);   /* RESP2 "*<n>",  RESP3 "~<n>" */
void reply_push_header(reply_buf *rb, size_t n);  /* RESP2 "*<n>",  RESP3 "><n>" */
/* RESP2: a bulk of Redis's "%.17g" text (resp_double_to_str: 3 -> "3", inf -> "inf");
 * RESP3: ",<same text>\r\n" (",inf", ",-inf", ",nan"). */
void reply_double(reply_buf *rb, double d);
/* RESP3 "#t\r\n" / "#f\r\n"; RESP2 ":1\r\n" / ":0\r\n". */
void reply_bool(reply_buf *rb, bool b);
/* RESP3 "=<n+4>\r\n<fmt>:<bytes>\r\n" with a 3-byte fmt ("txt", "mkd"); RESP2 a plain bulk. */
void reply_verbatim(reply_buf *rb, const void *p, size_t n, const char *fmt);
/* A big number given as its decimal digits: RESP3 "(<digits>\r\n"; RESP2 a bulk of the digits. */
void reply_bignum(reply_buf *rb, const char *digits, size_t n);

/* ---- deferred lengths -------------------------------------------------------------------- */

typedef enum reply_agg { REPLY_AGG_ARRAY, REPLY_AGG_MAP, REPLY_AGG_SET, REPLY_AGG_PUSH } reply_agg;

/* Marks the current end of the buffer as the place of an aggregate header whose count is not
 * known yet; returns its handle. Every handle must be set before the command returns to the
 * event loop. */
size_t reply_defer_len(reply_buf *rb);
/* Inserts the header of kind with n elements (n pairs for a map) at the handle's place. A handle
 * that is not pending (already set, or from another buffer) is a bug: the process aborts. */
void reply_set_deferred_len(reply_buf *rb, size_t handle, size_t n, reply_agg kind);

/* ---- shared replies and Redis 7's error texts -------------------------------------------- */

enum reply_shared_id {
    REPLY_SH_OK,              /* +OK */
    REPLY_SH_PONG,            /* +PONG */
    REPLY_SH_QUEUED,          /* +QUEUED */
    REPLY_SH_ZERO,            /* :0 */
    REPLY_SH_ONE,             /* :1 */
    REPLY_SH_EMPTY_BULK,      /* $0 "" */
    REPLY_SH_EMPTY_ARRAY,     /* *0 */
    REPLY_SH_WRONGTYPE,       /* -WRONGTYPE Operation against a key holding the wrong kind of value */
    REPLY_SH_SYNTAX,          /* -ERR syntax error */
    REPLY_SH_NOT_INTEGER,     /* -ERR value is not an integer or out of range */
    REPLY_SH_NOT_FLOAT,       /* -ERR value is not a valid float */
    REPLY_SH_OVERFLOW,        /* -ERR increment or decrement would overflow */
    REPLY_SH_NAN_OR_INF,      /* -ERR increment would produce NaN or Infinity */
    REPLY_SH_HASH_NOT_INTEGER,/* -ERR hash value is not an integer */
    REPLY_SH_HASH_NOT_FLOAT,  /* -ERR hash value is not a float */
    REPLY_SH_NOT_POSITIVE,    /* -ERR value is out of range, must be positive */
    REPLY_SH_STRING_TOO_LONG, /* -ERR string exceeds maximum allowed size (proto-max-bulk-len) */
    REPLY_SH_NO_SUCH_KEY,     /* -ERR no such key */
    REPLY_SH_INDEX_RANGE,     /* -ERR index out of range */
    REPLY_SH_SAME_OBJECT,     /* -ERR source and destination objects are the same */
    REPLY_SH_MINMAX_FLOAT,    /* -ERR min or max is not a float */
    REPLY_SH_MINMAX_LEX,      /* -ERR min or max not valid string range item */
    REPLY_SH_INVALID_CURSOR,  /* -ERR invalid cursor */
    REPLY_SH_DB_RANGE,        /* -ERR DB index is out of range */
    REPLY_SH_TIMEOUT,         /* -ERR timeout is not a float or out of range */
    REPLY_SH_BUSYKEY,         /* -BUSYKEY Target key name already exists. */
    REPLY_SH_NOAUTH,          /* -NOAUTH Authentication required. */
    REPLY_SH_WRONGPASS,       /* -WRONGPASS invalid username-password pair or user is disabled. */
    REPLY_SH_NOPASS,          /* -ERR AUTH <password> called without any password configured ... */
    REPLY_SH_NOPROTO,         /* -NOPROTO unsupported protocol version */
    REPLY_SH_OOM,             /* -OOM command not allowed when used memory > 'maxmemory'. */
    REPLY_SH_EXECABORT,       /* -EXECABORT Transaction discarded because of previous errors. */
    REPLY_SH_COUNT
};

/* Appends a shared reply (the same bytes in RESP2 and RESP3). */
void reply_shared(reply_buf *rb, enum reply_shared_id id);
/* Its bytes ("\r\n"-terminated) and length; for tests and for callers that write directly. */
const char *reply_shared_bytes(enum reply_shared_id id, size_t *n);

/* "-ERR Protocol error: <msg>" (msg: resp_parse's errmsg). */
void reply_err_protocol(reply_buf *rb, const char *msg);
/* "-ERR wrong number of arguments for '<name>' command" (name: the command table's name). */
void reply_err_arity(reply_buf *rb, const char *name);
/* "-ERR invalid expire time in '<name>' command" */
void reply_err_invalid_expire(reply_buf *rb, const char *name);
/* Redis 7's "-ERR unknown command '<argv0>', with args beginning with: '<a1>' '<a2>' ": argv[0]
 * cut to 128 bytes; then, while the argument text built so far (quotes and spaces included) is
 * shorter than 128 bytes, the next argument cut to 128 minus that length, in single quotes and
 * followed by a space. As with Redis's "%.*s", every argument also stops at its first NUL.
 * REQUIRES argc >= 1. */
void reply_err_unknown_command(reply_buf *rb, size_t argc, const uint8_t *const *argv,
                               const size_t *argvlen);
/* "-ERR unknown subcommand '<sub>'. Try <CMD> HELP." (sub cut to 128 bytes, cmd upper-cased). */
void reply_err_unknown_subcommand(reply_buf *rb, const char *cmd, const uint8_t *sub, size_t sublen);

#endif
