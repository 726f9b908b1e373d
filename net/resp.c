/* resp.c -- the request parser of resp.h: Redis 7's processMultibulkBuffer and
 * processInlineBuffer made resumable and zero-copy.
 *
 * A request is parsed relative to its own first byte. The state between calls is a handful of
 * offsets into it: `pos`, the first byte not yet parsed; `scan`, where the search for the current
 * header's '\r' (an inline line's '\n') resumes; for a multibulk, the arguments still expected and
 * the pending bulk length; and each complete argument's offset and length. A call therefore only
 * looks at bytes it has not seen before (a bulk's data is never scanned at all), and because
 * nothing stores a pointer the connection may realloc or memmove its buffer between calls.
 * Pointers are made only when a request is complete, from the buffer of that call.
 *
 * Nothing from the socket is trusted: every header is a bounded line parsed with string2ll rules
 * (resp_str_to_ll), every length is checked against the limits before it is used, and every
 * comparison with the available bytes is written so that it cannot overflow. The argv arrays grow
 * with the arguments actually received, never with a count the client claims. */
#include "resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"

enum { FRAME_NONE, FRAME_MULTIBULK, FRAME_INLINE };
enum { STEP_DONE, STEP_MORE, STEP_ERR, STEP_NOMEM };

/* argv arrays above this many slots and inline scratch above SCRATCH_KEEP bytes are released
 * when the next request starts, so one huge request does not pin memory for the connection's life. */
#define ARGV_KEEP 1024
#define SCRATCH_KEEP ((size_t)16 << 10)
#define ARGV_MIN 16

struct resp_parser {
    resp_limits lim;
    bool unauth;         /* apply RESP_UNAUTH_* limits */
    int err;             /* sticky RESP_PROTO_ERR / RESP_ENOMEM, or 0 */
    const char *errmsg;  /* with err: a literal or errbuf */
    char errbuf[32];

    /* The request in progress; every offset is relative to its first byte. */
    int kind;            /* FRAME_* */
    bool have_count;     /* multibulk: "*<n>\r\n" has been parsed */
    long long left;      /* multibulk: arguments still to read */
    long long bulk_len;  /* multibulk: -1 before a "$<len>" header, else that argument's length */
    size_t pos;          /* first byte not yet parsed (the request's length once done) */
    size_t scan;         /* the pending line terminator is at or after this offset */
    size_t seen;         /* bytes of the request the last call saw */

    /* Arguments: multibulk ones as (off, lens) until the request completes; argv is filled then.
     * Inline ones point into scratch directly. */
    size_t argc;
    size_t cap;
    size_t *off;
    size_t *lens;
    const uint8_t **argv;
    uint8_t *scratch;
    size_t scratch_cap;
};

resp_limits resp_limits_default(void) {
    return (resp_limits){
        .max_bulk_len = RESP_DEFAULT_MAX_BULK_LEN,
        .max_multibulk = RESP_DEFAULT_MAX_MULTIBULK,
        .max_inline = RESP_DEFAULT_MAX_INLINE,
    };
}

resp_parser *resp_parser_new(const resp_limits *lim) {
    resp_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->lim = lim ? *lim : resp_limits_default();
    p->bulk_len = -1;
    return p;
}

static void free_args(resp_parser *p) {
    free(p->off);
    free(p->lens);
    free(p->argv);
    p->off = p->lens = NULL;
    p->argv = NULL;
    p->cap = 0;
}

void resp_parser_free(resp_parser *p) {
    if (!p) return;
    free_args(p);
    free(p->scratch);
    free(p);
}

void resp_parser_set_limits(resp_parser *p, const resp_limits *lim) { p->lim = *lim; }

void resp_parser_set_unauth(resp_parser *p, bool on) { p->unauth = on; }

static void start_frame(resp_parser *p, int kind) {
    p->kind = kind;
    p->have_count = false;
    p->left = 0;
    p->bulk_len = -1;
    p->pos = p->scan = p->seen = 0;
    p->argc = 0;
}

void resp_parser_reset(resp_parser *p) {
    start_frame(p, FRAME_NONE);
    p->err = 0;
    p->errmsg = NULL;
}

size_t resp_bytes_wanted(const resp_parser *p) {
    if (p->kind != FRAME_MULTIBULK || p->bulk_len < 0 || p->err) return 0;
    size_t end = p->pos + (size_t)p->bulk_len + 2; /* bulk_len <= max_bulk_len, checked */
    return end > p->seen ? end - p->seen : 0;
}

/* Makes room for argument number argc (0-based). */
static bool grow_args(resp_parser *p) {
    if (p->argc < p->cap) return true;
    size_t cap = p->cap ? p->cap * 2 : ARGV_MIN;
    size_t *off = realloc(p->off, cap * sizeof *off);
    if (!off) return false;
    p->off = off;
    size_t *lens = realloc(p->lens, cap * sizeof *lens);
    if (!lens) return false;
    p->lens = lens;
    const uint8_t **argv = realloc(p->argv, cap * sizeof *argv);
    if (!argv) return false;
    p->argv = argv;
    p->cap = cap;
    return true;
}

static int fail(resp_parser *p, const char *msg) {
    p->errmsg = msg;
    return STEP_ERR;
}

/* Finds the "\r" ending the header line that starts at p->pos, resuming the search at p->scan.
 * Returns its offset, or SIZE_MAX if the line (and the byte after '\r') is not all there yet. */
static size_t find_header_end(resp_parser *p, const uint8_t *f, size_t avail) {
    const uint8_t *r = p->scan < avail ? memchr(f + p->scan, '\r', avail - p->scan) : NULL;
    if (!r) {
        p->scan = avail;
        return SIZE_MAX;
    }
    size_t cr = (size_t)(r - f);
    if (cr + 1 >= avail) { /* Redis wants the byte after '\r' before parsing the line */
        p->scan = cr;
        return SIZE_MAX;
    }
    return cr;
}

static int parse_multibulk(resp_parser *p, const uint8_t *f, size_t avail) {
    if (!p->have_count) {
        size_t cr = find_header_end(p, f, avail);
        if (cr == SIZE_MAX)
            return avail > p->lim.max_inline ? fail(p, "too big mbulk count string") : STEP_MORE;
        long long n;
        if (!resp_str_to_ll(f + 1, cr - 1, &n) || n > p->lim.max_multibulk)
            return fail(p, "invalid multibulk length");
        if (n > RESP_UNAUTH_MAX_MULTIBULK && p->unauth)
            return fail(p, "unauthenticated multibulk length");
        p->pos = p->scan = cr + 2;
        p->have_count = true;
        p->left = n > 0 ? n : 0; /* "*0", "*-1": an empty request, skipped by the caller */
    }
    while (p->left > 0) {
        if (p->bulk_len < 0) {
            size_t cr = find_header_end(p, f, avail);
            if (cr == SIZE_MAX)
                return avail - p->pos > p->lim.max_inline ? fail(p, "too big bulk count string")
                                                          : STEP_MORE;
            if (f[p->pos] != '$') {
                /* Redis replaces CR and LF in error texts with spaces; NUL too here, as the
                 * message is a C string. */
                uint8_t c = f[p->pos];
                snprintf(p->errbuf, sizeof p->errbuf, "expected '$', got '%c'",
                         c == '\r' || c == '\n' || c == '\0' ? ' ' : (char)c);
                return fail(p, p->errbuf);
            }
            long long n;
            if (!resp_str_to_ll(f + p->pos + 1, cr - p->pos - 1, &n) || n < 0 ||
                (unsigned long long)n > p->lim.max_bulk_len)
                return fail(p, "invalid bulk length");
            if (n > RESP_UNAUTH_MAX_BULK_LEN && p->unauth)
                return fail(p, "unauthenticated bulk length");
            p->pos = cr + 2;
            p->bulk_len = n;
        }
        /* pos <= avail holds: a header's '\r' is followed by at least one available byte. */
        if (avail - p->pos < (size_t)p->bulk_len + 2) return STEP_MORE;
        if (!grow_args(p)) return STEP_NOMEM;
        p->off[p->argc] = p->pos;
        p->lens[p->argc] = (size_t)p->bulk_len;
        p->argc++;
        p->pos += (size_t)p->bulk_len + 2;
        p->scan = p->pos;
        p->bulk_len = -1;
        p->left--;
    }
    return STEP_DONE;
}

/* ---- inline requests: sdssplitargs over a bounded line ------------------------------------ */

static bool is_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* isspace, "C" */

static bool is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static uint8_t hex_val(uint8_t c) {
    return (uint8_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

/* Splits s[0, n) into words in p->scratch, as Redis's sdssplitargs splits a NUL-terminated line
 * (so a NUL ends the line here too). Returns STEP_DONE, STEP_ERR (unbalanced quotes: an open
 * quote at the end, or a closing quote followed by something other than a space) or STEP_NOMEM. */
static int split_inline(resp_parser *p, const uint8_t *s, size_t n) {
    const uint8_t *nul = memchr(s, '\0', n);
    if (nul) n = (size_t)(nul - s);
    /* Every word byte comes from at least one line byte, so n bytes of scratch suffice and
     * scratch never moves while words point into it. */
    if (n > p->scratch_cap) {
        uint8_t *sc = realloc(p->scratch, n);
        if (!sc) return STEP_NOMEM;
        p->scratch = sc;
        p->scratch_cap = n;
    }
    uint8_t *w = p->scratch;
#define AT(k) ((k) < n ? s[k] : 0) /* the line as sdssplitargs sees it: NUL after the end */
    size_t i = 0;
    for (;;) {
        while (i < n && is_space(s[i])) i++;
        if (i == n) return STEP_DONE;
        uint8_t *word = w;
        bool inq = false, insq = false, done = false;
        while (!done) {
            uint8_t c = AT(i);
            if (inq) {
                if (c == '\\' && AT(i + 1) == 'x' && is_hex(AT(i + 2)) && is_hex(AT(i + 3))) {
                    *w++ = (uint8_t)(hex_val(AT(i + 2)) * 16 + hex_val(AT(i + 3)));
                    i += 3;
                } else if (c == '\\' && AT(i + 1)) {
                    i++;
                    switch (s[i]) {
                    case 'n': *w++ = '\n'; break;
                    case 'r': *w++ = '\r'; break;
                    case 't': *w++ = '\t'; break;
                    case 'b': *w++ = '\b'; break;
                    case 'a': *w++ = '\a'; break;
                    default: *w++ = s[i]; break;
                    }
                } else if (c == '"') {
                    if (AT(i + 1) && !is_space(AT(i + 1))) return fail(p, "unbalanced quotes in request");
                    done = true;
                } else if (!c) {
                    return fail(p, "unbalanced quotes in request");
                } else {
                    *w++ = c;
                }
            } else if (insq) {
                if (c == '\\' && AT(i + 1) == '\'') {
                    i++;
                    *w++ = '\'';
                } else if (c == '\'') {
                    if (AT(i + 1) && !is_space(AT(i + 1))) return fail(p, "unbalanced quotes in request");
                    done = true;
                } else if (!c) {
                    return fail(p, "unbalanced quotes in request");
                } else {
                    *w++ = c;
                }
            } else {
                switch (c) {
                case ' ': case '\n': case '\r': case '\t': case '\0': done = true; break;
                case '"': inq = true; break;
                case '\'': insq = true; break;
                default: *w++ = c; break;
                }
            }
            if (AT(i)) i++; /* as sdssplitargs: step past the byte the branch stopped on */
        }
#undef AT
        if (!grow_args(p)) return STEP_NOMEM;
        p->argv[p->argc] = word;
        p->lens[p->argc] = (size_t)(w - word);
        p->argc++;
    }
}

static int parse_inline(resp_parser *p, const uint8_t *f, size_t avail) {
    const uint8_t *nl = p->scan < avail ? memchr(f + p->scan, '\n', avail - p->scan) : NULL;
    if (!nl) {
        p->scan = avail;
        return avail > p->lim.max_inline ? fail(p, "too big inline request") : STEP_MORE;
    }
    size_t end = (size_t)(nl - f);
    if (end > p->lim.max_inline) return fail(p, "too big inline request");
    size_t n = end > 0 && f[end - 1] == '\r' ? end - 1 : end;
    int rc = split_inline(p, f, n);
    if (rc != STEP_DONE) return rc;
    p->pos = end + 1;
    return STEP_DONE;
}

int resp_parse(resp_parser *p, const uint8_t *buf, size_t len, resp_argv *out, size_t *consumed,
               const char **errmsg) {
    size_t base = 0; /* the current request starts at buf[base] */
    out->argc = 0;
    out->argv = NULL;
    out->argvlen = NULL;
    *consumed = 0;
    *errmsg = NULL;
    if (p->err) {
        *errmsg = p->errmsg;
        return p->err;
    }
    for (;;) {
        const uint8_t *f = buf + base;
        size_t avail = len - base;
        /* Fewer bytes than last time breaks the contract; start the request over rather than
         * trust offsets past the end. */
        if (p->kind != FRAME_NONE && avail < p->seen) start_frame(p, FRAME_NONE);
        if (p->kind == FRAME_NONE) {
            if (avail == 0) {
                *consumed = base;
                return RESP_NEED_MORE;
            }
            if (p->cap > ARGV_KEEP) free_args(p);
            if (p->scratch_cap > SCRATCH_KEEP) {
                free(p->scratch);
                p->scratch = NULL;
                p->scratch_cap = 0;
            }
            start_frame(p, f[0] == '*' ? FRAME_MULTIBULK : FRAME_INLINE);
        }
        int rc = p->kind == FRAME_MULTIBULK ? parse_multibulk(p, f, avail) : parse_inline(p, f, avail);
        p->seen = avail;
        if (rc != STEP_DONE) {
            *consumed = base;
            if (rc == STEP_MORE) return RESP_NEED_MORE;
            start_frame(p, FRAME_NONE);
            if (rc == STEP_NOMEM) p->errmsg = "out of memory";
            p->err = rc == STEP_NOMEM ? RESP_ENOMEM : RESP_PROTO_ERR;
            *errmsg = p->errmsg;
            return p->err;
        }
        bool multibulk = p->kind == FRAME_MULTIBULK;
        base += p->pos;
        size_t argc = p->argc;
        start_frame(p, FRAME_NONE);
        if (argc == 0) continue; /* an empty request: skipped */
        if (multibulk)
            for (size_t i = 0; i < argc; i++) p->argv[i] = f + p->off[i];
        out->argc = argc;
        out->argv = p->argv;
        out->argvlen = p->lens;
        *consumed = base;
        return RESP_OK;
    }
}

/* ---- look-ahead for prefetching ---------------------------------------------------------------- */

/* "<c><digits>\r\n" at buf[i, len) with a value <= max: the offset after it and *v, or 0. */
static size_t scan_header(const uint8_t *buf, size_t len, size_t i, uint8_t c, uint64_t max, uint64_t *v) {
    if (i >= len || buf[i] != c) return 0;
    uint64_t n = 0;
    size_t start = ++i;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (i - start >= 18) return 0;
        n = n * 10 + (uint64_t)(buf[i++] - '0');
    }
    if (i == start || n > max || len - i < 2 || buf[i] != '\r' || buf[i + 1] != '\n') return 0;
    *v = n;
    return i + 2;
}

size_t resp_scan_gets(const uint8_t *buf, size_t len, size_t max_requests, size_t max_keys, const uint8_t **keys,
                      size_t *klens) {
    size_t at = 0, nk = 0;
    for (size_t r = 0; r < max_requests && nk < max_keys && at < len; r++) {
        uint64_t argc;
        size_t j = scan_header(buf, len, at, '*', 1024, &argc);
        if (!j || argc == 0) break;
        const uint8_t *a[2] = {NULL, NULL};
        size_t alen[2] = {0, 0};
        for (uint64_t k = 0; k < argc; k++) {
            uint64_t bl;
            size_t d = scan_header(buf, len, j, '$', len, &bl);
            if (!d || bl > len - d || len - d - bl < 2) return nk; /* incomplete or not a bulk */
            if (k < 2) {
                a[k] = buf + d;
                alen[k] = (size_t)bl;
            }
            j = d + (size_t)bl + 2;
        }
        if (argc == 2 && alen[0] == 3 && (a[0][0] | 0x20) == 'g' && (a[0][1] | 0x20) == 'e' && (a[0][2] | 0x20) == 't') {
            keys[nk] = a[1];
            klens[nk++] = alen[1];
        }
        at = j;
    }
    return nk;
}
