/* resp.h -- incremental parser of client requests (RESP2/RESP3 clients send the same requests).
 *
 * Two request forms, chosen by the first byte of each request as Redis does:
 *   multibulk  "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n"   (binary-safe arguments)
 *   inline     any other first byte: one line ending in "\n" or "\r\n", split into words with
 *              Redis's sdssplitargs rules (double quotes with \n \r \t \b \a \\ \" \xHH escapes,
 *              single quotes with \', a closing quote must be followed by a space or the end).
 * Empty requests ("*0\r\n", "*-1\r\n", any "*<n <= 0>\r\n", an empty or blank inline line) are
 * skipped as Redis skips them.
 *
 * The parser never touches a socket and never copies a multibulk argument: it returns views into
 * the caller's buffer. It is resumable: when a request is incomplete it remembers how far it has
 * validated (offsets, never pointers, so the caller may move or grow its buffer between calls)
 * and the next call continues from there instead of rescanning.
 *
 * Usage by a connection that keeps unconsumed input in buf[rpos, wpos):
 *     for (;;) {
 *         rc = resp_parse(p, buf + rpos, wpos - rpos, &argv, &used, &err);
 *         if (rc == RESP_OK) { run the command on argv; rpos += used; continue; }
 *         rpos += used;                       (NEED_MORE: skipped empty requests)
 *         if (rc == RESP_NEED_MORE) break;    (read more; resp_bytes_wanted() says how much)
 *         send "-ERR Protocol error: <err>\r\n" and close      (PROTO_ERR, ENOMEM)
 *     }
 *
 * Divergences from Redis 7, all deliberate:
 *  - An inline line longer than max_inline is rejected ("too big inline request") even when its
 *    newline arrived in the same read; Redis checks only while the newline is missing, so its
 *    answer depends on how the bytes were split into reads.
 *  - A NUL byte inside an inline line ends the line's words (sdssplitargs stops at NUL); Redis
 *    would instead not see the newline behind it (strchr) and wait for more input.
 *  - Redis does not check the two bytes after a bulk's data are "\r\n" and neither does this
 *    parser (they are skipped), nor that the byte after a header's '\r' is '\n'.
 * Thread-safety: a parser belongs to one connection; no shared state. */
#ifndef STRATA_NET_RESP_H
#define STRATA_NET_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes of resp_parse. */
enum {
    RESP_OK = 0,        /* one complete request is in *out */
    RESP_NEED_MORE = 1, /* the buffer ends inside a request (or holds only skipped requests) */
    RESP_PROTO_ERR = -1, /* malformed or over a limit; *errmsg says which; close the connection */
    RESP_ENOMEM = -2,   /* the parser could not grow its argv arrays; close the connection */
};

#define RESP_DEFAULT_MAX_BULK_LEN ((size_t)512 << 20) /* proto-max-bulk-len */
#define RESP_DEFAULT_MAX_MULTIBULK 1048576LL
#define RESP_DEFAULT_MAX_INLINE ((size_t)64 << 10)     /* PROTO_INLINE_MAX_SIZE */
/* A bulk at least this long is "big": the connection should size its buffer for it at once
 * (resp_bytes_wanted) instead of growing it read by read (Redis's PROTO_MBULK_BIG_ARG). */
#define RESP_BIG_BULK ((size_t)32 << 10)
/* Redis's limits for a connection that must still authenticate (resp_parser_set_unauth). */
#define RESP_UNAUTH_MAX_MULTIBULK 10
#define RESP_UNAUTH_MAX_BULK_LEN 16384

typedef struct resp_limits {
    size_t max_bulk_len;     /* a "$<len>" above this: "invalid bulk length" */
    long long max_multibulk; /* a "*<n>" above this: "invalid multibulk length" */
    size_t max_inline;       /* longest inline line and longest "*"/"$" header line */
} resp_limits;

/* The defaults above (Redis 7's). */
resp_limits resp_limits_default(void);

/* One request's arguments. argv[i] points at argvlen[i] bytes (not NUL-terminated, may contain
 * any byte). For a multibulk request they point into the buffer passed to resp_parse; for an
 * inline request into the parser's own memory. Both arrays belong to the parser. Everything is
 * valid until the next resp_parse, resp_parser_reset or resp_parser_free on the same parser, and
 * only while the caller leaves the buffer's bytes in place. argc >= 1 after RESP_OK. */
typedef struct resp_argv {
    size_t argc;
    const uint8_t **argv;
    size_t *argvlen;
} resp_argv;

typedef struct resp_parser resp_parser;

/* A parser with the given limits (NULL: resp_limits_default()). Returns NULL on ENOMEM.
 * Release with resp_parser_free. */
resp_parser *resp_parser_new(const resp_limits *lim);
void resp_parser_free(resp_parser *p); /* NULL-safe */

/* Changes the limits (CONFIG SET); they apply from the next header the parser reads. */
void resp_parser_set_limits(resp_parser *p, const resp_limits *lim);

/* on=true applies Redis's limits for unauthenticated clients on top of the others: more than
 * RESP_UNAUTH_MAX_MULTIBULK arguments -> "unauthenticated multibulk length", a bulk longer than
 * RESP_UNAUTH_MAX_BULK_LEN -> "unauthenticated bulk length". The connection turns it on at accept
 * when a password is required and off once AUTH succeeds (before parsing the next request). */
void resp_parser_set_unauth(resp_parser *p, bool on);

/* Forgets any partial request and a sticky error; keeps the limits and the unauth flag. */
void resp_parser_reset(resp_parser *p);

/* Parses the next request from buf[0, len).
 * [in]  buf, len   The connection's unconsumed input. buf[0] must be the first byte not yet
 *                  consumed; between calls the caller may move the bytes and append to them but
 *                  must not change or drop any byte it has not consumed.
 * [out] out        On RESP_OK the request (see resp_argv); otherwise out->argc = 0.
 * [out] consumed   Always set: how many bytes of buf the caller must now drop. On RESP_OK they
 *                  include the request in *out (drop them after using *out, the views point into
 *                  them); on RESP_NEED_MORE they are empty requests skipped before the partial
 *                  one. Never more than len.
 * [out] errmsg     On RESP_PROTO_ERR, a NUL-terminated message owned by the parser, exactly as
 *                  Redis 7 words it, to be sent as "-ERR Protocol error: <errmsg>": "invalid
 *                  multibulk length", "invalid bulk length", "expected '$', got 'X'", "too big
 *                  inline request", "too big mbulk count string", "too big bulk count string",
 *                  "unbalanced quotes in request", "unauthenticated multibulk length",
 *                  "unauthenticated bulk length". On RESP_ENOMEM "out of memory". Else NULL.
 * Returns RESP_OK, RESP_NEED_MORE, RESP_PROTO_ERR or RESP_ENOMEM. Errors are sticky: later calls
 * return the same error until resp_parser_reset. Reads only buf[0, len). */
int resp_parse(resp_parser *p, const uint8_t *buf, size_t len, resp_argv *out, size_t *consumed,
               const char **errmsg);

/* Look-ahead for prefetching, separate from the parser and changing nothing: walks the complete
 * multibulk requests at the start of buf[0, len) (at most max_requests of them, none with more
 * than 1024 arguments) and collects the key of each two-argument GET (any case) into
 * keys/klens, up to max_keys. Stops early, without error, at anything else: an inline request,
 * an incomplete or malformed one. Returns the number of keys; they are views into buf. */
size_t resp_scan_gets(const uint8_t *buf, size_t len, size_t max_requests, size_t max_keys, const uint8_t **keys,
                      size_t *klens);

/* After RESP_NEED_MORE inside a bulk argument whose header has been read: how many bytes beyond
 * the last len passed to resp_parse complete that argument (its data and trailing "\r\n"), so
 * the connection can make room for a big bulk (>= RESP_BIG_BULK) with a single allocation.
 * 0 when not inside a bulk's data. */
size_t resp_bytes_wanted(const resp_parser *p);

#endif
