/* reply.c -- see reply.h. Every encoder computes an upper bound of its bytes, makes room once
 * (room(): a compare in the steady state) and writes straight into the buffer. Aggregate
 * headers, integers and bulk lengths go through put_num (a table-driven ll2string), so no
 * printf runs on the hot path; doubles and reply_errorf are the exceptions.
 *
 * Deferred headers are kept as (handle, offset) pairs in creation order. Setting one inserts its
 * bytes at the offset, so every other pending offset behind it moves by the header's length; so
 * does one at the same offset created later (it is nested inside: its header must follow). */
#include "reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

/* Always on: a broken deferred-length handle would corrupt the reply stream. */
#define REPLY_CHECK(e)                                                                             \
    do {                                                                                           \
        if (!(e)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define HDR_MAX (1 + RESP_LL_STR_MAX + 2) /* "<prefix><number>\r\n" */

struct reply_defer {
    size_t id;
    size_t off;
};

/* ---- the buffer ---------------------------------------------------------------------------- */

void reply_buf_init(reply_buf *rb, int proto) {
    memset(rb, 0, sizeof *rb);
    rb->proto = proto;
    rb->defer_seq = 1; /* 0 is never a valid handle */
}

void reply_buf_destroy(reply_buf *rb) {
    if (!rb) return;
    free(rb->data);
    free(rb->defer);
    memset(rb, 0, sizeof *rb);
}

static bool grow(reply_buf *rb, size_t n) {
    if (rb->failed) return false;
    size_t unsent = rb->len - rb->sent;
    /* Reuse the written prefix instead of growing when that frees enough and the move costs no
     * more than the bytes it reclaims. Pending deferred offsets forbid moving. */
    if (rb->ndefer == 0 && rb->sent > 0 && rb->cap - unsent >= n && rb->sent >= unsent) {
        memmove(rb->data, rb->data + rb->sent, unsent);
        rb->len = unsent;
        rb->sent = 0;
        return true;
    }
    if (n > SIZE_MAX / 2 - rb->len) goto fail;
    size_t cap = rb->cap ? rb->cap : REPLY_BUF_INITIAL;
    while (cap - rb->len < n) cap *= 2;
    uint8_t *d = realloc(rb->data, cap);
    if (!d) goto fail;
    rb->data = d;
    rb->cap = cap;
    return true;
fail:
    rb->failed = true;
    return false;
}

static inline bool room(reply_buf *rb, size_t n) {
    return (rb->cap - rb->len >= n && !rb->failed) || grow(rb, n);
}

bool reply_buf_reserve(reply_buf *rb, size_t n) { return room(rb, n); }

static size_t send_limit(const reply_buf *rb) {
    size_t lim = rb->len;
    for (size_t i = 0; i < rb->ndefer; i++)
        if (rb->defer[i].off < lim) lim = rb->defer[i].off;
    return lim;
}

const uint8_t *reply_buf_unsent(const reply_buf *rb, size_t *n) {
    size_t lim = send_limit(rb);
    *n = lim > rb->sent ? lim - rb->sent : 0;
    return rb->data ? rb->data + rb->sent : NULL;
}

void reply_buf_advance(reply_buf *rb, size_t n) {
    REPLY_CHECK(n <= send_limit(rb) - rb->sent);
    rb->sent += n;
    if (rb->sent == rb->len && rb->ndefer == 0) {
        rb->len = rb->sent = 0;
        if (rb->cap > REPLY_BUF_KEEP) {
            free(rb->data);
            rb->data = NULL;
            rb->cap = 0;
        }
    }
}

/* ---- encoding helpers ---------------------------------------------------------------------- */

static inline uint8_t *put(uint8_t *w, const void *p, size_t n) {
    if (n) memcpy(w, p, n);
    return w + n;
}

static inline uint8_t *put_crlf(uint8_t *w) {
    w[0] = '\r';
    w[1] = '\n';
    return w + 2;
}

/* "<prefix><v>\r\n"; at most HDR_MAX bytes. */
static inline uint8_t *put_num(uint8_t *w, char prefix, long long v) {
    *w++ = (uint8_t)prefix;
    w += resp_ll_to_str((char *)w, v);
    return put_crlf(w);
}

static inline uint8_t *put_len(uint8_t *w, char prefix, size_t n) {
    *w++ = (uint8_t)prefix;
    w += resp_ull_to_str((char *)w, n);
    return put_crlf(w);
}

/* Copies n bytes turning CR and LF into spaces. */
static uint8_t *put_sanitized(uint8_t *w, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) w[i] = s[i] == '\r' || s[i] == '\n' ? ' ' : (uint8_t)s[i];
    return w + n;
}

static inline void done(reply_buf *rb, uint8_t *w) { rb->len = (size_t)(w - rb->data); }

void reply_raw(reply_buf *rb, const void *p, size_t n) {
    if (!room(rb, n)) return;
    done(rb, put(rb->data + rb->len, p, n));
}

/* ---- simple types -------------------------------------------------------------------------- */

void reply_simple_len(reply_buf *rb, const char *s, size_t n) {
    if (n > SIZE_MAX - 3 || !room(rb, n + 3)) return;
    uint8_t *w = rb->data + rb->len;
    *w++ = '+';
    w = put_sanitized(w, s, n);
    done(rb, put_crlf(w));
}

void reply_simple(reply_buf *rb, const char *s) { reply_simple_len(rb, s, strlen(s)); }

/* Counts an error reply and keeps its code (the first word, as Redis's errorstats key it). */
static void note_error(reply_buf *rb, const char *msg, size_t n) {
    size_t k = 0;
    while (k < n && k < sizeof rb->last_error - 1 && msg[k] != ' ' && msg[k] != '\r' && msg[k] != '\n') k++;
    memcpy(rb->last_error, msg, k);
    rb->last_error[k] = 0;
    rb->errors++;
}

void reply_error_len(reply_buf *rb, const char *msg, size_t n) {
    if (n > 0 && msg[0] == '-') {
        msg++;
        n--;
    }
    if (n == 0) {
        msg = "ERR";
        n = 3;
    }
    note_error(rb, msg, n);
    if (n > SIZE_MAX - 3 || !room(rb, n + 3)) return;
    uint8_t *w = rb->data + rb->len;
    *w++ = '-';
    w = put_sanitized(w, msg, n);
    done(rb, put_crlf(w));
}

void reply_error(reply_buf *rb, const char *msg) { reply_error_len(rb, msg, strlen(msg)); }

void reply_errorf(reply_buf *rb, const char *fmt, ...) {
    char stackbuf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        reply_error(rb, "ERR");
        return;
    }
    if ((size_t)n < sizeof stackbuf) {
        reply_error_len(rb, stackbuf, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        rb->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error_len(rb, big, (size_t)n);
    free(big);
}

void reply_int(reply_buf *rb, long long v) {
    if (!room(rb, HDR_MAX)) return;
    done(rb, put_num(rb->data + rb->len, ':', v));
}

void reply_bulk(reply_buf *rb, const void *p, size_t n) {
    if (n > SIZE_MAX - HDR_MAX - 2 || !room(rb, HDR_MAX + n + 2)) return;
    uint8_t *w = put_len(rb->data + rb->len, '$', n);
    w = put(w, p, n);
    done(rb, put_crlf(w));
}

void reply_bulk_str(reply_buf *rb, const char *s) {
    if (!s) reply_null(rb);
    else reply_bulk(rb, s, strlen(s));
}

void reply_bulk_ll(reply_buf *rb, long long v) {
    char buf[RESP_LL_STR_MAX];
    reply_bulk(rb, buf, resp_ll_to_str(buf, v));
}

void reply_null(reply_buf *rb) {
    if (rb->proto >= 3) reply_raw(rb, "_\r\n", 3);
    else reply_raw(rb, "$-1\r\n", 5);
}

void reply_null_array(reply_buf *rb) {
    if (rb->proto >= 3) reply_raw(rb, "_\r\n", 3);
    else reply_raw(rb, "*-1\r\n", 5);
}

/* The header of an aggregate of kind with n elements (n pairs for a map) into w. */
static uint8_t *put_agg(uint8_t *w, int proto, reply_agg kind, size_t n) {
    if (proto >= 3) {
        switch (kind) {
        case REPLY_AGG_MAP: return put_len(w, '%', n);
        case REPLY_AGG_SET: return put_len(w, '~', n);
        case REPLY_AGG_PUSH: return put_len(w, '>', n);
        case REPLY_AGG_ARRAY: break;
        }
        return put_len(w, '*', n);
    }
    return put_len(w, '*', kind == REPLY_AGG_MAP ? n * 2 : n);
}

static void agg_header(reply_buf *rb, reply_agg kind, size_t n) {
    if (!room(rb, HDR_MAX)) return;
    done(rb, put_agg(rb->data + rb->len, rb->proto, kind, n));
}

void reply_array_header(reply_buf *rb, size_t n) { agg_header(rb, REPLY_AGG_ARRAY, n); }
void reply_map_header(reply_buf *rb, size_t n) { agg_header(rb, REPLY_AGG_MAP, n); }
void reply_set_header(reply_buf *rb, size_t n) { agg_header(rb, REPLY_AGG_SET, n); }
void reply_push_header(reply_buf *rb, size_t n) { agg_header(rb, REPLY_AGG_PUSH, n); }

void reply_double(reply_buf *rb, double d) {
    char buf[64];
    size_t n = resp_double_to_str(buf, sizeof buf, d);
    if (rb->proto < 3) {
        reply_bulk(rb, buf, n);
        return;
    }
    if (!room(rb, n + 3)) return;
    uint8_t *w = rb->data + rb->len;
    *w++ = ',';
    w = put(w, buf, n);
    done(rb, put_crlf(w));
}

void reply_bool(reply_buf *rb, bool b) {
    if (rb->proto >= 3) reply_raw(rb, b ? "#t\r\n" : "#f\r\n", 4);
    else reply_raw(rb, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(reply_buf *rb, const void *p, size_t n, const char *fmt) {
    if (rb->proto < 3) {
        reply_bulk(rb, p, n);
        return;
    }
    if (n > SIZE_MAX - HDR_MAX - 6 || !room(rb, HDR_MAX + 4 + n + 2)) return;
    uint8_t *w = put_len(rb->data + rb->len, '=', n + 4);
    size_t flen = strnlen(fmt, 3);
    w = put(w, fmt, flen);
    for (; flen < 3; flen++) *w++ = ' '; /* the format is exactly three bytes */
    *w++ = ':';
    w = put(w, p, n);
    done(rb, put_crlf(w));
}

void reply_bignum(reply_buf *rb, const char *digits, size_t n) {
    if (rb->proto < 3) {
        reply_bulk(rb, digits, n);
        return;
    }
    if (n > SIZE_MAX - 3 || !room(rb, n + 3)) return;
    uint8_t *w = rb->data + rb->len;
    *w++ = '(';
    w = put(w, digits, n);
    done(rb, put_crlf(w));
}

/* ---- deferred lengths ---------------------------------------------------------------------- */

size_t reply_defer_len(reply_buf *rb) {
    if (rb->failed) return 0;
    if (rb->ndefer == rb->defer_cap) {
        size_t cap = rb->defer_cap ? rb->defer_cap * 2 : 4;
        struct reply_defer *d = realloc(rb->defer, cap * sizeof *d);
        if (!d) {
            rb->failed = true;
            return 0;
        }
        rb->defer = d;
        rb->defer_cap = cap;
    }
    size_t id = rb->defer_seq++;
    rb->defer[rb->ndefer++] = (struct reply_defer){ .id = id, .off = rb->len };
    return id;
}

void reply_set_deferred_len(reply_buf *rb, size_t handle, size_t n, reply_agg kind) {
    size_t i = rb->ndefer;
    while (i > 0 && rb->defer[i - 1].id != handle) i--; /* usually the newest */
    if (rb->failed) {
        /* The stream is broken anyway; just forget the handle (0 from a failed defer too). */
        if (i > 0) {
            memmove(rb->defer + i - 1, rb->defer + i, (rb->ndefer - i) * sizeof *rb->defer);
            rb->ndefer--;
        }
        return;
    }
    REPLY_CHECK(i > 0);
    size_t idx = i - 1;
    size_t off = rb->defer[idx].off;
    uint8_t hdr[HDR_MAX];
    size_t h = (size_t)(put_agg(hdr, rb->proto, kind, n) - hdr);
    if (room(rb, h)) {
        memmove(rb->data + off + h, rb->data + off, rb->len - off);
        memcpy(rb->data + off, hdr, h);
        rb->len += h;
        for (size_t j = 0; j < rb->ndefer; j++)
            if (rb->defer[j].off > off || (rb->defer[j].off == off && j > idx))
                rb->defer[j].off += h;
    }
    memmove(rb->defer + idx, rb->defer + idx + 1, (rb->ndefer - idx - 1) * sizeof *rb->defer);
    rb->ndefer--;
}

/* ---- shared replies and error texts -------------------------------------------------------- */

#define LIT(s) { s, sizeof(s) - 1 }
static const struct {
    const char *s;
    size_t n;
} shared[REPLY_SH_COUNT] = {
    [REPLY_SH_OK] = LIT("+OK\r\n"),
    [REPLY_SH_PONG] = LIT("+PONG\r\n"),
    [REPLY_SH_QUEUED] = LIT("+QUEUED\r\n"),
    [REPLY_SH_ZERO] = LIT(":0\r\n"),
    [REPLY_SH_ONE] = LIT(":1\r\n"),
    [REPLY_SH_EMPTY_BULK] = LIT("$0\r\n\r\n"),
    [REPLY_SH_EMPTY_ARRAY] = LIT("*0\r\n"),
    [REPLY_SH_WRONGTYPE] = LIT("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    [REPLY_SH_SYNTAX] = LIT("-ERR syntax error\r\n"),
    [REPLY_SH_NOT_INTEGER] = LIT("-ERR value is not an integer or out of range\r\n"),
    [REPLY_SH_NOT_FLOAT] = LIT("-ERR value is not a valid float\r\n"),
    [REPLY_SH_OVERFLOW] = LIT("-ERR increment or decrement would overflow\r\n"),
    [REPLY_SH_NAN_OR_INF] = LIT("-ERR increment would produce NaN or Infinity\r\n"),
    [REPLY_SH_HASH_NOT_INTEGER] = LIT("-ERR hash value is not an integer\r\n"),
    [REPLY_SH_HASH_NOT_FLOAT] = LIT("-ERR hash value is not a float\r\n"),
    [REPLY_SH_NOT_POSITIVE] = LIT("-ERR value is out of range, must be positive\r\n"),
    [REPLY_SH_STRING_TOO_LONG] = LIT("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"),
    [REPLY_SH_NO_SUCH_KEY] = LIT("-ERR no such key\r\n"),
    [REPLY_SH_INDEX_RANGE] = LIT("-ERR index out of range\r\n"),
    [REPLY_SH_SAME_OBJECT] = LIT("-ERR source and destination objects are the same\r\n"),
    [REPLY_SH_MINMAX_FLOAT] = LIT("-ERR min or max is not a float\r\n"),
    [REPLY_SH_MINMAX_LEX] = LIT("-ERR min or max not valid string range item\r\n"),
    [REPLY_SH_INVALID_CURSOR] = LIT("-ERR invalid cursor\r\n"),
    [REPLY_SH_DB_RANGE] = LIT("-ERR DB index is out of range\r\n"),
    [REPLY_SH_TIMEOUT] = LIT("-ERR timeout is not a float or out of range\r\n"),
    [REPLY_SH_BUSYKEY] = LIT("-BUSYKEY Target key name already exists.\r\n"),
    [REPLY_SH_NOAUTH] = LIT("-NOAUTH Authentication required.\r\n"),
    [REPLY_SH_WRONGPASS] = LIT("-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
    [REPLY_SH_NOPASS] = LIT("-ERR AUTH <password> called without any password configured for the "
                            "default user. Are you sure your configuration is correct?\r\n"),
    [REPLY_SH_NOPROTO] = LIT("-NOPROTO unsupported protocol version\r\n"),
    [REPLY_SH_OOM] = LIT("-OOM command not allowed when used memory > 'maxmemory'.\r\n"),
    [REPLY_SH_EXECABORT] = LIT("-EXECABORT Transaction discarded because of previous errors.\r\n"),
};
#undef LIT

const char *reply_shared_bytes(enum reply_shared_id id, size_t *n) {
    REPLY_CHECK((unsigned)id < REPLY_SH_COUNT);
    *n = shared[id].n;
    return shared[id].s;
}

void reply_shared(reply_buf *rb, enum reply_shared_id id) {
    size_t n;
    const char *s = reply_shared_bytes(id, &n);
    if (n > 1 && s[0] == '-') note_error(rb, s + 1, n - 1);
    reply_raw(rb, s, n);
}

void reply_err_protocol(reply_buf *rb, const char *msg) {
    reply_errorf(rb, "ERR Protocol error: %s", msg);
}

void reply_err_arity(reply_buf *rb, const char *name) {
    reply_errorf(rb, "ERR wrong number of arguments for '%s' command", name);
}

void reply_err_invalid_expire(reply_buf *rb, const char *name) {
    reply_errorf(rb, "ERR invalid expire time in '%s' command", name);
}

/* printf's "%.*s" of a binary argument: at most max bytes, and not past a NUL. */
static size_t cstr_prefix(const uint8_t *p, size_t n, size_t max) {
    if (n > max) n = max;
    const uint8_t *nul = memchr(p, '\0', n);
    return nul ? (size_t)(nul - p) : n;
}

void reply_err_unknown_command(reply_buf *rb, size_t argc, const uint8_t *const *argv,
                               const size_t *argvlen) {
    /* "ERR unknown command '" + 128 + "', with args beginning with: " + args (< 128 + 3). */
    char msg[256 + 128];
    size_t n = 0;
#define CAT(p, len) (memcpy(msg + n, (p), (len)), n += (len))
#define CATS(lit) CAT(lit, sizeof(lit) - 1)
    CATS("ERR unknown command '");
    size_t l0 = cstr_prefix(argv[0], argvlen[0], 128);
    CAT(argv[0], l0);
    CATS("', with args beginning with: ");
    size_t args = 0; /* Redis's sdslen(args) */
    for (size_t i = 1; i < argc && args < 128; i++) {
        size_t l = cstr_prefix(argv[i], argvlen[i], 128 - args);
        CATS("'");
        CAT(argv[i], l);
        CATS("' ");
        args += l + 3;
    }
#undef CATS
#undef CAT
    reply_error_len(rb, msg, n);
}

void reply_err_unknown_subcommand(reply_buf *rb, const char *cmd, const uint8_t *sub, size_t sublen) {
    char up[64];
    size_t i = 0;
    for (; cmd[i] && i < sizeof up - 1; i++)
        up[i] = cmd[i] >= 'a' && cmd[i] <= 'z' ? (char)(cmd[i] - 'a' + 'A') : cmd[i];
    up[i] = '\0';
    reply_errorf(rb, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)cstr_prefix(sub, sublen, 128), (const char *)sub, up);
}
