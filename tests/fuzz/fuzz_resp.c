/* fuzz_resp.c -- libFuzzer target for the RESP request parser (net/resp.h).
 *
 * Input: byte 0 picks the setup, then k split bytes, then the byte stream a client sends.
 *   bits 0-1  limits: Redis's defaults, or three smaller sets so the limit errors are reachable
 *   bit 2     unauthenticated client (RESP_UNAUTH_* limits)
 *   bit 3     "wanted" splits: after NEED_MORE inside a bulk, the next read is exactly
 *             resp_bytes_wanted() bytes
 *   bits 4-7  k, the number of split bytes; byte b is a read of b + 1 bytes, used in a cycle
 * The stream is parsed three ways: whole, in reads cut where the split bytes say (each read makes a
 * new exact-size buffer holding the unconsumed bytes, so the parser sees its input move and
 * ASan sees any byte read past len), and one byte at a time for short streams.
 * Checked: every call reads only buf[0, len) and reports consumed <= len; RESP_OK has argc >= 1
 * and each argument lies wholly inside the consumed bytes or wholly outside the buffer (inline
 * arguments live in the parser); errors are sticky with a message; resp_bytes_wanted() is exact;
 * and every split yields the same requests, consumed bytes and final status as the whole parse.
 * The one allowed difference is Redis's: a header line still missing its '\r' when more than
 * max_inline bytes are buffered is "too big (m)bulk count string" even if the whole stream would
 * have failed later on that line for another reason (resp.h, divergences). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "resp.h"

#define MAX_STREAM ((size_t)64 << 10)
#define MAX_SPLITS 15

/* What a parse produced: the requests rendered as "argc, then len + bytes per argument", the bytes
 * consumed in total, and how it ended. */
typedef struct outcome {
    uint8_t *reqs;
    size_t len, cap;
    size_t nreqs;
    size_t consumed;
    int rc;             /* RESP_NEED_MORE or an error */
    const char *errmsg; /* with an error: the parser's message (a literal or its buffer) */
    char errcopy[64];
} outcome;

static void out_add(outcome *o, const void *p, size_t n) {
    if (o->len + n > o->cap) {
        size_t cap = (o->len + n) * 2;
        uint8_t *r = realloc(o->reqs, cap);
        FZ_CHECK(r);
        o->reqs = r;
        o->cap = cap;
    }
    if (n) memcpy(o->reqs + o->len, p, n);
    o->len += n;
}

static resp_limits profile(unsigned i) {
    resp_limits l = resp_limits_default();
    switch (i & 3) {
    case 1: l = (resp_limits){.max_bulk_len = 1024, .max_multibulk = 16, .max_inline = 64}; break;
    /* max_inline >= 32 keeps every valid header line ("$" + 19 digits + "\r\n") findable before
     * the "too big" check can fire, which the split comparison relies on. */
    case 2: l = (resp_limits){.max_bulk_len = 16, .max_multibulk = 4, .max_inline = 32}; break;
    case 3: l = (resp_limits){.max_bulk_len = (size_t)1 << 20, .max_multibulk = 1024, .max_inline = 1024}; break;
    default: break;
    }
    return l;
}

/* Checks one successful request and renders it into o. */
static void take_request(outcome *o, const resp_argv *a, const uint8_t *buf, size_t used) {
    FZ_CHECK(a->argc >= 1 && a->argv && a->argvlen);
    out_add(o, &a->argc, sizeof a->argc);
    for (size_t i = 0; i < a->argc; i++) {
        const uint8_t *p = a->argv[i];
        size_t n = a->argvlen[i];
        FZ_CHECK(p || n == 0);
        /* multibulk: a view into the consumed bytes; inline: the parser's memory */
        bool inside = p >= buf && p < buf + used;
        if (inside) FZ_CHECK(n <= (size_t)(buf + used - p));
        else if (n) FZ_CHECK(p + n <= buf || p >= buf + used);
        out_add(o, &n, sizeof n);
        out_add(o, p, n);
    }
    o->nreqs++;
}

static void take_error(outcome *o, resp_parser *p, int rc, const char *errmsg) {
    FZ_CHECK(rc == RESP_PROTO_ERR || rc == RESP_ENOMEM);
    FZ_CHECK(errmsg && errmsg[0]);
    o->rc = rc;
    snprintf(o->errcopy, sizeof o->errcopy, "%s", errmsg);
    o->errmsg = o->errcopy;
    /* Sticky: the same error again, nothing consumed, whatever the buffer. */
    resp_argv a;
    size_t used = 1;
    const char *again = NULL;
    static const uint8_t ping[] = "PING\r\n";
    FZ_CHECK(resp_parse(p, ping, sizeof ping - 1, &a, &used, &again) == rc);
    FZ_CHECK(used == 0 && a.argc == 0 && again && strcmp(again, o->errcopy) == 0);
}

/* Parses buf[0, len) until NEED_MORE or an error. Returns the bytes consumed; sets *done on error. */
static size_t drain(resp_parser *p, outcome *o, const uint8_t *buf, size_t len, const resp_limits *lim, bool *done) {
    size_t rpos = 0;
    for (;;) {
        resp_argv a;
        size_t used = SIZE_MAX;
        const char *errmsg = "unset";
        int rc = resp_parse(p, buf + rpos, len - rpos, &a, &used, &errmsg);
        FZ_CHECK(used <= len - rpos);
        if (rc == RESP_OK) {
            FZ_CHECK(errmsg == NULL);
            take_request(o, &a, buf + rpos, used);
            FZ_CHECK(used > 0);
            rpos += used;
            continue;
        }
        FZ_CHECK(a.argc == 0);
        rpos += used;
        if (rc == RESP_NEED_MORE) {
            FZ_CHECK(errmsg == NULL);
            size_t wanted = resp_bytes_wanted(p);
            FZ_CHECK(wanted <= lim->max_bulk_len + 2);
            return rpos;
        }
        take_error(o, p, rc, errmsg);
        *done = true;
        return rpos;
    }
}

static void parse_whole(outcome *o, const uint8_t *s, size_t n, const resp_limits *lim, bool unauth) {
    resp_parser *p = resp_parser_new(lim);
    FZ_CHECK(p);
    resp_parser_set_unauth(p, unauth);
    uint8_t *buf = malloc(n ? n : 1); /* exact size: a read past n is a heap overflow */
    FZ_CHECK(buf);
    if (n) memcpy(buf, s, n);
    bool done = false;
    o->rc = RESP_NEED_MORE;
    o->consumed = drain(p, o, buf, n, lim, &done);
    free(buf);
    resp_parser_free(p);
}

/* Feeds s[0, n) in reads: chunk i is splits[i % nsplits] bytes (byte-at-a-time if nsplits == 0),
 * or exactly resp_bytes_wanted() bytes when `wanted` is set and the parser is inside a bulk. */
static void parse_split(outcome *o, const uint8_t *s, size_t n, const resp_limits *lim, bool unauth,
                        const uint8_t *splits, size_t nsplits, bool wanted) {
    resp_parser *p = resp_parser_new(lim);
    FZ_CHECK(p);
    resp_parser_set_unauth(p, unauth);
    uint8_t *pending = NULL; /* unconsumed bytes */
    size_t have = 0, fed = 0, k = 0;
    bool done = false;
    o->rc = RESP_NEED_MORE;
    while (fed < n && !done) {
        size_t want = resp_bytes_wanted(p);
        size_t chunk = nsplits ? (size_t)splits[k++ % nsplits] + 1 : 1;
        bool exact = wanted && want > 0 && want <= n - fed;
        if (exact) chunk = want;
        if (chunk > n - fed) chunk = n - fed;
        /* The connection moves its bytes between reads: a fresh buffer each time. */
        uint8_t *buf = malloc(have + chunk);
        FZ_CHECK(buf);
        if (have) memcpy(buf, pending, have);
        memcpy(buf + have, s + fed, chunk);
        free(pending);
        fed += chunk;
        size_t used = drain(p, o, buf, have + chunk, lim, &done);
        /* Exactly the wanted bytes complete the bulk: the parser is then at a header or done. */
        if (exact && !done) FZ_CHECK(resp_bytes_wanted(p) == 0);
        o->consumed += used;
        have = have + chunk - used;
        pending = malloc(have ? have : 1);
        FZ_CHECK(pending);
        if (have) memcpy(pending, buf + used, have);
        free(buf);
    }
    free(pending);
    resp_parser_free(p);
}

static bool too_big_header(const char *m) {
    return m && (!strcmp(m, "too big mbulk count string") || !strcmp(m, "too big bulk count string"));
}

static void compare(const outcome *whole, const outcome *split) {
    if (whole->rc == split->rc && whole->consumed == split->consumed) {
        FZ_CHECK(whole->nreqs == split->nreqs && whole->len == split->len);
        FZ_CHECK(whole->len == 0 || memcmp(whole->reqs, split->reqs, whole->len) == 0);
        if (whole->rc != RESP_NEED_MORE)
            FZ_CHECK(!strcmp(whole->errmsg, split->errmsg) || too_big_header(split->errmsg));
        return;
    }
    /* Only the early "too big" verdict on a header line may end a split parse differently, and
     * then at the same request with the same requests before it. */
    FZ_CHECK(split->rc == RESP_PROTO_ERR && too_big_header(split->errmsg));
    FZ_CHECK(whole->rc != RESP_OK);
    FZ_CHECK(whole->nreqs == split->nreqs && whole->len == split->len);
    FZ_CHECK(whole->len == 0 || memcmp(whole->reqs, split->reqs, whole->len) == 0);
}

static void outcome_free(outcome *o) { free(o->reqs); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned setup = data[0];
    size_t nsplits = (setup >> 4) & MAX_SPLITS;
    if (size < 1 + nsplits) return 0;
    const uint8_t *splits = data + 1;
    const uint8_t *s = data + 1 + nsplits;
    size_t n = size - 1 - nsplits;
    if (n > MAX_STREAM) return 0;
    resp_limits lim = profile(setup);
    bool unauth = setup & 4, wanted = setup & 8;

    outcome whole = {0}, split = {0};
    parse_whole(&whole, s, n, &lim, unauth);
    if (nsplits) {
        parse_split(&split, s, n, &lim, unauth, splits, nsplits, wanted);
        compare(&whole, &split);
        outcome_free(&split);
    }
    if (n <= 512) {
        outcome bytes = {0};
        parse_split(&bytes, s, n, &lim, unauth, NULL, 0, wanted);
        compare(&whole, &bytes);
        outcome_free(&bytes);
    }

    /* The prefetch look-ahead: any stream, views inside it. */
    const uint8_t *keys[16];
    size_t klens[16];
    size_t nk = resp_scan_gets(s, n, 64, 16, keys, klens);
    FZ_CHECK(nk <= 16);
    for (size_t i = 0; i < nk; i++) FZ_CHECK(keys[i] >= s && klens[i] <= (size_t)(s + n - keys[i]));
    outcome_free(&whole);
    return 0;
}
