/* test_server_list.c -- the non-blocking list commands of strata-server against Redis 7.0's replies
 * and error texts: LPUSH/RPUSH (order, new length), LPUSHX/RPUSHX (missing keys stay missing),
 * LPOP/RPOP with and without a count (nil vs null array, count 0, count past the end, the last pop
 * deletes the key), LLEN, LINDEX and LRANGE (negative, out-of-range and huge indexes), LSET,
 * LINSERT (also 400 inserts into a 1000-element list), LREM (count > 0, < 0, 0), LTRIM (ranges that
 * keep, cut and empty the list), LPOS (RANK, COUNT, MAXLEN and their errors), LMOVE (all four
 * directions, rotation, a WRONGTYPE destination moves nothing), RPOPLPUSH, LMPOP; binary, empty and
 * 100 KB elements, a 20000-element list built through pipelines, WRONGTYPE for every command, arity
 * errors, RESP2 null shapes and RESP3 shapes on raw sockets, TTLs / DEL / emptied lists not
 * resurrecting old elements, and a pipelined LPUSH/RPUSH/LPOP/RPOP mix checked against a model.
 * One server for the group; each test starts from FLUSHALL. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-list", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char NOT_INT[] = "ERR value is not an integer or out of range";
static const char NOT_POSITIVE[] = "ERR value is out of range, must be positive";
static const char RANK_ZERO[] = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                                "or use negative to start from the end of the list";

/* ---- helpers ------------------------------------------------------------------------------------------ */

static redisReply *vcommand(redisContext *c, const char *file, int line, const char *fmt, va_list ap) {
    redisReply *r = redisvCommand(c, fmt, ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    return r;
}

static char *want_repr(size_t n, const char *const *want, const size_t *wantlen) {
    char *ws = NULL;
    size_t wn = 0;
    FILE *f = open_memstream(&ws, &wn);
    if (!f) return strdup("?");
    fputc('[', f);
    for (size_t i = 0; i < n && i < 64; i++) {
        char *e = st_escape(want[i], wantlen ? wantlen[i] : strlen(want[i]));
        fprintf(f, "%s\"%s\"", i ? ", " : "", e);
        free(e);
    }
    if (n > 64) fprintf(f, ", ...(%zu elements)", n);
    fputc(']', f);
    fclose(f);
    return ws;
}

/* Fails unless r is an array of exactly the n bulk strings want[i] (lengths wantlen[i], or strlen when
 * wantlen is NULL), in this order. n == 0 wants an empty array (not nil). */
static void check_list(const redisReply *r, const char *file, int line, size_t n, const char *const *want,
                       const size_t *wantlen, const char *what) {
    char why[320] = "";
    if (r->type != REDIS_REPLY_ARRAY) snprintf(why, sizeof why, "not an array");
    else if (r->elements != n) snprintf(why, sizeof why, "%zu elements, want %zu", r->elements, n);
    for (size_t i = 0; !why[0] && i < n; i++) {
        const redisReply *e = r->element[i];
        size_t wl = wantlen ? wantlen[i] : strlen(want[i]);
        if (e->type != REDIS_REPLY_STRING || e->len != wl || (wl && memcmp(e->str, want[i], wl))) {
            char *ge = st_reply_repr(e), *we = st_escape(want[i], wl);
            snprintf(why, sizeof why, "first difference at index %zu: %.100s, want \"%.100s\"", i, ge, we);
            free(ge);
            free(we);
        }
    }
    if (!why[0]) return;
    char *gs = st_reply_repr(r);
    char *ws = want_repr(n, want, wantlen);
    st_fail_at(file, line, "`%s`: %s\n    got:  %s\n    want: %s", what, why, gs, ws);
}

static void expect_list(redisContext *c, const char *file, int line, size_t n, const char *const *want,
                        const size_t *wantlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    check_list(r, file, line, n, want, wantlen, fmt);
    freeReplyObject(r);
}
/* EXPECT_LIST(c, 2, L("a", "b"), "LRANGE %s 0 -1", key): an array of exactly these bulk strings, in
 * order; EXPECT_LIST(c, 0, NULL, ...) wants an empty array. */
#define L(...) ((const char *[]){__VA_ARGS__})
#define EXPECT_LIST(c, n, want, ...) expect_list((c), __FILE__, __LINE__, (n), (want), NULL, __VA_ARGS__)
#define EXPECT_LISTB(c, n, want, lens, ...) expect_list((c), __FILE__, __LINE__, (n), (want), (lens), __VA_ARGS__)

/* An array of n integers (LPOS ... COUNT). */
static void expect_ints(redisContext *c, const char *file, int line, size_t n, const long long *want,
                        const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == want[i];
    if (!ok) {
        char *gs = st_reply_repr(r);
        char ws[512];
        int o = snprintf(ws, sizeof ws, "[");
        for (size_t i = 0; i < n && o < (int)sizeof ws - 32; i++)
            o += snprintf(ws + o, sizeof ws - (size_t)o, "%s(integer) %lld", i ? ", " : "", want[i]);
        snprintf(ws + o, sizeof ws - (size_t)o, "]");
        st_fail_at(file, line, "`%s`\n    got:  %s\n    want: %s", fmt, gs, ws);
    }
    freeReplyObject(r);
}
#define EXPECT_INTS(c, n, want, ...) expect_ints((c), __FILE__, __LINE__, (n), (want), __VA_ARGS__)
#define IV(...) ((const long long[]){__VA_ARGS__})

/* LMPOP's reply: [key, [elements...]]. */
static void expect_lmpop(redisContext *c, const char *file, int line, const char *key, size_t n,
                         const char *const *want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !st_reply_is_bulk(r->element[0], key)) {
        char *gs = st_reply_repr(r);
        st_fail_at(file, line, "`%s`\n    got:  %s\n    want: [\"%s\", [...%zu elements]]", fmt, gs, key, n);
    }
    check_list(r->element[1], file, line, n, want, NULL, fmt);
    freeReplyObject(r);
}
#define EXPECT_LMPOP(c, key, n, want, ...) expect_lmpop((c), __FILE__, __LINE__, (key), (n), (want), __VA_ARGS__)

/* Polls EXISTS key until it is 0; fails after deadline_ms. */
static void wait_gone(redisContext *c, const char *file, int line, const char *key, int deadline_ms) {
    int64_t end = st_now_ms() + deadline_ms;
    for (;;) {
        redisReply *r = st_cmd(c, file, line, "EXISTS %s", key);
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n == 0) return;
        if (n != 1) st_fail_at(file, line, "EXISTS %s: not 0 or 1", key);
        if (st_now_ms() > end) st_fail_at(file, line, "%s still exists %d ms later", key, deadline_ms);
        st_sleep_ms(10);
    }
}

static void sleep_past(int ms) {
    int64_t until = st_now_ms() + ms;
    while (st_now_ms() < until) st_sleep_ms(10);
}

/* A command from argv strings (NUL-terminated). */
static redisReply *cmd_strv(redisContext *c, const char *file, int line, int argc, const char **argv) {
    size_t *lens = malloc((size_t)argc * sizeof *lens);
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *r = st_cmd_argv(c, file, line, argc, argv, lens);
    free(lens);
    return r;
}

/* Fails unless LRANGE key 0 -1 is exactly the n strings want. */
static void check_whole_list(redisContext *c, const char *file, int line, const char *key, size_t n,
                             char *const *want) {
    redisReply *r = st_cmd(c, file, line, "LRANGE %s 0 -1", key);
    char what[128];
    snprintf(what, sizeof what, "LRANGE %s 0 -1", key);
    check_list(r, file, line, n, (const char *const *)want, NULL, what);
    freeReplyObject(r);
}

/* ---- LPUSH / RPUSH / LPUSHX / RPUSHX / LLEN ----------------------------------------------------------------- */

static void test_push_and_llen(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "LLEN missing");
    EXPECT_LIST(c, 0, NULL, "LRANGE missing 0 -1");
    EXPECT_INT(c, 3, "LPUSH l a b c"); /* each value goes to the head in turn: c b a */
    EXPECT_LIST(c, 3, L("c", "b", "a"), "LRANGE l 0 -1");
    EXPECT_INT(c, 5, "RPUSH l d e");
    EXPECT_LIST(c, 5, L("c", "b", "a", "d", "e"), "LRANGE l 0 -1");
    EXPECT_INT(c, 6, "LPUSH l z");
    EXPECT_INT(c, 8, "RPUSH l a a"); /* duplicates are kept */
    EXPECT_INT(c, 8, "LLEN l");
    EXPECT_LIST(c, 8, L("z", "c", "b", "a", "d", "e", "a", "a"), "LRANGE l 0 -1");
    EXPECT_STATUS(c, "list", "TYPE l");
    EXPECT_INT(c, 1, "EXISTS l");
    EXPECT_INT(c, 9, "lpush l y"); /* command names are case-insensitive */
    EXPECT_INT(c, 10, "rPush l x");
    EXPECT_BULK(c, "y", "LINDEX l 0");
    EXPECT_BULK(c, "x", "LINDEX l -1");
    /* RPUSH on a missing key creates it in the given order */
    EXPECT_INT(c, 3, "RPUSH r 1 2 3");
    EXPECT_LIST(c, 3, L("1", "2", "3"), "LRANGE r 0 -1");
    /* PUSHX: only onto an existing list */
    EXPECT_INT(c, 0, "LPUSHX missing a");
    EXPECT_INT(c, 0, "RPUSHX missing a b");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_STATUS(c, "none", "TYPE missing");
    EXPECT_INT(c, 5, "LPUSHX r 0 -1");
    EXPECT_INT(c, 7, "RPUSHX r 4 5");
    EXPECT_LIST(c, 7, L("-1", "0", "1", "2", "3", "4", "5"), "LRANGE r 0 -1");
    EXPECT_INT(c, 7, "LLEN r");
    EXPECT_INT(c, 2, "DBSIZE");
    /* a list emptied by pops no longer exists for PUSHX */
    EXPECT_INT(c, 1, "RPUSH one v");
    EXPECT_BULK(c, "v", "LPOP one");
    EXPECT_INT(c, 0, "LPUSHX one w");
    EXPECT_INT(c, 0, "RPUSHX one w");
    EXPECT_INT(c, 0, "EXISTS one");
    EXPECT_INT(c, 0, "LLEN one");
}

/* ---- LPOP / RPOP --------------------------------------------------------------------------------------------- */

static void test_lpop_rpop(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "LPOP missing");
    EXPECT_NIL(c, "RPOP missing");
    EXPECT_NIL(c, "LPOP missing 2"); /* a null array (*-1), see test_resp2_null_shapes */
    EXPECT_NIL(c, "RPOP missing 2");
    EXPECT_NIL(c, "LPOP missing 0");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 6, "RPUSH l 1 2 3 4 5 6");
    EXPECT_BULK(c, "1", "LPOP l");
    EXPECT_BULK(c, "6", "RPOP l");
    EXPECT_INT(c, 4, "LLEN l");
    /* with a count: an array even for one element; RPOP returns tail first */
    EXPECT_LIST(c, 1, L("2"), "LPOP l 1");
    EXPECT_LIST(c, 2, L("5", "4"), "RPOP l 2");
    EXPECT_LIST(c, 0, NULL, "LPOP l 0"); /* count 0 on an existing list: an empty array */
    EXPECT_LIST(c, 0, NULL, "RPOP l 0");
    EXPECT_INT(c, 1, "LLEN l");
    /* a count larger than the list: everything, and the key is gone */
    EXPECT_LIST(c, 1, L("3"), "LPOP l 10");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_NIL(c, "LPOP l");
    EXPECT_NIL(c, "RPOP l 3");
    EXPECT_INT(c, 4, "RPUSH l a b c d");
    EXPECT_LIST(c, 4, L("d", "c", "b", "a"), "RPOP l 4"); /* exactly the length */
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_LIST(c, 3, L("a", "b", "c"), "LPOP l 9223372036854775807");
    EXPECT_INT(c, 0, "EXISTS l");
    /* popping the last element one at a time deletes the key too */
    EXPECT_INT(c, 2, "LPUSH l x y");
    EXPECT_BULK(c, "y", "LPOP l");
    EXPECT_INT(c, 1, "EXISTS l");
    EXPECT_BULK(c, "x", "RPOP l");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_STATUS(c, "none", "TYPE l");
    EXPECT_INT(c, 0, "DBSIZE");
    /* count errors; nothing popped */
    EXPECT_INT(c, 2, "RPUSH l a b");
    EXPECT_ERR(c, NOT_POSITIVE, "LPOP l -1");
    EXPECT_ERR(c, NOT_POSITIVE, "RPOP l -1");
    EXPECT_ERR(c, NOT_POSITIVE, "LPOP l abc");
    EXPECT_ERR(c, NOT_POSITIVE, "RPOP l 1.5");
    EXPECT_ERR(c, NOT_POSITIVE, "LPOP missing -1");
    EXPECT_ERR(c, NOT_POSITIVE, "LPOP l 9223372036854775808");
    EXPECT_LIST(c, 2, L("a", "b"), "LRANGE l 0 -1");
}

/* ---- LINDEX / LRANGE ----------------------------------------------------------------------------------------- */

static void test_lindex_lrange(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "LINDEX missing 0");
    EXPECT_NIL(c, "LINDEX missing -1");
    EXPECT_LIST(c, 0, NULL, "LRANGE missing 0 -1");
    EXPECT_LIST(c, 0, NULL, "LRANGE missing -1000000 1000000");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 8, "RPUSH l a b c d e f g h");
    EXPECT_BULK(c, "a", "LINDEX l 0");
    EXPECT_BULK(c, "d", "LINDEX l 3");
    EXPECT_BULK(c, "h", "LINDEX l 7");
    EXPECT_NIL(c, "LINDEX l 8");
    EXPECT_BULK(c, "h", "LINDEX l -1");
    EXPECT_BULK(c, "g", "LINDEX l -2");
    EXPECT_BULK(c, "a", "LINDEX l -8");
    EXPECT_NIL(c, "LINDEX l -9");
    EXPECT_NIL(c, "LINDEX l 1000000");
    EXPECT_NIL(c, "LINDEX l 9223372036854775807");
    EXPECT_NIL(c, "LINDEX l -9223372036854775808");
    EXPECT_ERR(c, NOT_INT, "LINDEX l 9223372036854775808");
    EXPECT_ERR(c, NOT_INT, "LINDEX l abc");
    EXPECT_ERR(c, NOT_INT, "LINDEX l 1.0");
    EXPECT_ERR(c, NOT_INT, "LINDEX l %s", "");
    /* LRANGE: both ends inclusive, negative from the tail, clamped */
    EXPECT_LIST(c, 8, L("a", "b", "c", "d", "e", "f", "g", "h"), "LRANGE l 0 -1");
    EXPECT_LIST(c, 3, L("b", "c", "d"), "LRANGE l 1 3");
    EXPECT_LIST(c, 1, L("c"), "LRANGE l 2 2");
    EXPECT_LIST(c, 2, L("g", "h"), "LRANGE l -2 -1");
    EXPECT_LIST(c, 3, L("f", "g", "h"), "LRANGE l 5 100");
    EXPECT_LIST(c, 1, L("h"), "LRANGE l 7 100");
    EXPECT_LIST(c, 0, NULL, "LRANGE l 8 100");
    EXPECT_LIST(c, 1, L("a"), "LRANGE l -100 0");
    EXPECT_LIST(c, 0, NULL, "LRANGE l -100 -9");
    EXPECT_LIST(c, 1, L("a"), "LRANGE l -100 -8");
    EXPECT_LIST(c, 0, NULL, "LRANGE l 5 2"); /* start > stop */
    EXPECT_LIST(c, 0, NULL, "LRANGE l -1 -2");
    EXPECT_LIST(c, 3, L("d", "e", "f"), "LRANGE l 3 -3");
    EXPECT_LIST(c, 3, L("d", "e", "f"), "LRANGE l -5 5");
    EXPECT_LIST(c, 8, L("a", "b", "c", "d", "e", "f", "g", "h"), "LRANGE l -1000000 1000000");
    EXPECT_LIST(c, 8, L("a", "b", "c", "d", "e", "f", "g", "h"), "LRANGE l 0 9223372036854775807");
    EXPECT_LIST(c, 1, L("a"), "LRANGE l -9223372036854775808 0");
    EXPECT_LIST(c, 0, NULL, "LRANGE l 9223372036854775807 -1");
    EXPECT_ERR(c, NOT_INT, "LRANGE l a 1");
    EXPECT_ERR(c, NOT_INT, "LRANGE l 0 b");
    EXPECT_ERR(c, NOT_INT, "LRANGE l 1.5 2");
    EXPECT_ERR(c, NOT_INT, "LRANGE l 0 9223372036854775808");
    EXPECT_INT(c, 8, "LLEN l"); /* reads change nothing */
}

/* ---- LSET ---------------------------------------------------------------------------------------------------- */

static void test_lset(void **state) {
    redisContext *c = *state;
    EXPECT_ERR(c, "ERR no such key", "LSET missing 0 x");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_OK(c, "LSET l 0 x");
    EXPECT_OK(c, "LSET l -1 z");
    EXPECT_OK(c, "LSET l 1 y");
    EXPECT_LIST(c, 3, L("x", "y", "z"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LSET l -3 first");
    EXPECT_BULK(c, "first", "LINDEX l 0");
    EXPECT_ERR(c, "ERR index out of range", "LSET l 3 w");
    EXPECT_ERR(c, "ERR index out of range", "LSET l -4 w");
    EXPECT_ERR(c, "ERR index out of range", "LSET l 1000000 w");
    EXPECT_ERR(c, NOT_INT, "LSET l abc w");
    EXPECT_OK(c, "LSET l 1 %s", ""); /* an empty element */
    EXPECT_BULK(c, "", "LINDEX l 1");
    EXPECT_LIST(c, 3, L("first", "", "z"), "LRANGE l 0 -1");
    EXPECT_INT(c, 3, "LLEN l");
    /* LSET keeps the list's TTL */
    EXPECT_INT(c, 1, "EXPIRE l 100");
    EXPECT_OK(c, "LSET l 2 last");
    EXPECT_INT_RANGE(c, 98, 100, "TTL l");
    /* a large element replaced by a small one and back */
    size_t bn = 70000;
    char *big = malloc(bn);
    for (size_t i = 0; i < bn; i++) big[i] = (char)('A' + i % 23);
    EXPECT_OK(c, "LSET l 0 %b", big, bn);
    EXPECT_BULKB(c, big, bn, "LINDEX l 0");
    EXPECT_OK(c, "LSET l 0 small");
    EXPECT_LIST(c, 3, L("small", "", "last"), "LRANGE l 0 -1");
    free(big);
}

/* ---- LINSERT ----------------------------------------------------------------------------------------------- */

static void test_linsert(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "LINSERT missing BEFORE a x");
    EXPECT_INT(c, 0, "LINSERT missing AFTER a x");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 4, "RPUSH l a b c b");
    EXPECT_INT(c, 5, "LINSERT l BEFORE b x"); /* the first match only */
    EXPECT_LIST(c, 5, L("a", "x", "b", "c", "b"), "LRANGE l 0 -1");
    EXPECT_INT(c, 6, "LINSERT l AFTER b y");
    EXPECT_LIST(c, 6, L("a", "x", "b", "y", "c", "b"), "LRANGE l 0 -1");
    EXPECT_INT(c, 7, "LINSERT l BEFORE a head");
    EXPECT_INT(c, 8, "linsert l after c tail-ish"); /* case-insensitive keywords */
    EXPECT_INT(c, 9, "LINSERT l after head h2");
    EXPECT_LIST(c, 9, L("head", "h2", "a", "x", "b", "y", "c", "tail-ish", "b"), "LRANGE l 0 -1");
    EXPECT_INT(c, -1, "LINSERT l BEFORE zz q"); /* pivot missing */
    EXPECT_INT(c, -1, "LINSERT l AFTER B q");   /* case-sensitive pivots */
    EXPECT_INT(c, 9, "LLEN l");
    EXPECT_ERR(c, "ERR syntax error", "LINSERT l MIDDLE a q");
    EXPECT_ERR(c, "ERR syntax error", "LINSERT l BEFOREX a q");
    EXPECT_ERR(c, "ERR syntax error", "LINSERT missing MIDDLE a q");
    EXPECT_INT(c, 9, "LLEN l");
    /* inserting after the last element appends */
    EXPECT_INT(c, 1, "RPUSH t only");
    EXPECT_INT(c, 2, "LINSERT t AFTER only end");
    EXPECT_INT(c, 3, "LINSERT t BEFORE only start");
    EXPECT_LIST(c, 3, L("start", "only", "end"), "LRANGE t 0 -1");

    /* repeated inserts in the middle of a 1000-element list, checked against a model */
    enum { N = 1000, K = 200 };
    char **model = calloc(N + 2 * K, sizeof *model);
    size_t mlen = 0;
    const char **argv = calloc(N + 2, sizeof *argv);
    argv[0] = "RPUSH";
    argv[1] = "big";
    for (int i = 0; i < N; i++) {
        char b[32];
        snprintf(b, sizeof b, "v%d", i);
        model[mlen++] = strdup(b);
        argv[i + 2] = model[mlen - 1];
    }
    redisReply *r = cmd_strv(c, __FILE__, __LINE__, N + 2, argv);
    st_check_reply_int(r, __FILE__, __LINE__, N, "RPUSH big v0..v999");
    freeReplyObject(r);
    free(argv);
    for (int k = 0; k < K; k++) {
        /* n<k> right before v500 (so n0..n199 end up in order), a<k> right after v250 (reversed) */
        char nb[32], ab[32];
        snprintf(nb, sizeof nb, "n%d", k);
        snprintf(ab, sizeof ab, "a%d", k);
        EXPECT_INT(c, (long long)mlen + 1, "LINSERT big BEFORE v500 %s", nb);
        size_t at = 0;
        while (at < mlen && strcmp(model[at], "v500")) at++;
        memmove(model + at + 1, model + at, (mlen - at) * sizeof *model);
        model[at] = strdup(nb);
        mlen++;
        EXPECT_INT(c, (long long)mlen + 1, "LINSERT big AFTER v250 %s", ab);
        at = 0;
        while (at < mlen && strcmp(model[at], "v250")) at++;
        at++;
        memmove(model + at + 1, model + at, (mlen - at) * sizeof *model);
        model[at] = strdup(ab);
        mlen++;
    }
    EXPECT_INT(c, N + 2 * K, "LLEN big");
    check_whole_list(c, __FILE__, __LINE__, "big", mlen, model);
    EXPECT_BULK(c, "a199", "LINDEX big 251");
    EXPECT_BULK(c, "a0", "LINDEX big %d", 251 + K - 1);
    EXPECT_BULK(c, "v251", "LINDEX big %d", 251 + K);
    EXPECT_BULK(c, "n0", "LINDEX big %d", 500 + K);
    EXPECT_BULK(c, "v500", "LINDEX big %d", 500 + 2 * K);
    EXPECT_BULK(c, "v999", "LINDEX big -1");
    for (size_t i = 0; i < mlen; i++) free(model[i]);
    free(model);
}

/* ---- LREM ---------------------------------------------------------------------------------------------------- */

static void test_lrem(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "LREM missing 0 a");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 7, "RPUSH l a b a c a b a");
    EXPECT_INT(c, 2, "LREM l 2 a"); /* count > 0: the first count matches from the head */
    EXPECT_LIST(c, 5, L("b", "c", "a", "b", "a"), "LRANGE l 0 -1");
    EXPECT_INT(c, 1, "LREM l -1 a"); /* count < 0: from the tail */
    EXPECT_LIST(c, 4, L("b", "c", "a", "b"), "LRANGE l 0 -1");
    EXPECT_INT(c, 1, "LREM l -1 b");
    EXPECT_LIST(c, 3, L("b", "c", "a"), "LRANGE l 0 -1");
    EXPECT_INT(c, 0, "LREM l 0 zz");
    EXPECT_INT(c, 0, "LREM l 0 A"); /* case-sensitive */
    EXPECT_INT(c, 1, "LREM l 5 a"); /* count larger than the matches */
    EXPECT_LIST(c, 2, L("b", "c"), "LRANGE l 0 -1");
    EXPECT_INT(c, 8, "RPUSH l b x b b y b");
    EXPECT_INT(c, 5, "LREM l 0 b"); /* count 0: all of them */
    EXPECT_LIST(c, 3, L("c", "x", "y"), "LRANGE l 0 -1");
    EXPECT_INT(c, 6, "RPUSH l y z y");
    EXPECT_INT(c, 2, "LREM l -2 y");
    EXPECT_LIST(c, 4, L("c", "x", "y", "z"), "LRANGE l 0 -1");
    /* removing every element deletes the key */
    EXPECT_INT(c, 3, "RPUSH k v v v");
    EXPECT_INT(c, 3, "LREM k 0 v");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_INT(c, 2, "RPUSH k v v");
    EXPECT_INT(c, 2, "LREM k -5 v");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_INT(c, 1, "RPUSH k v");
    EXPECT_INT(c, 1, "LREM k 1 v");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_ERR(c, NOT_INT, "LREM l abc a");
    EXPECT_ERR(c, NOT_INT, "LREM l 1.5 a");
    EXPECT_INT(c, 4, "LLEN l");
}

/* ---- LTRIM --------------------------------------------------------------------------------------------------- */

static void test_ltrim(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "LTRIM missing 0 1");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 10, "RPUSH l 0 1 2 3 4 5 6 7 8 9");
    EXPECT_OK(c, "LTRIM l 0 -1");
    EXPECT_INT(c, 10, "LLEN l");
    EXPECT_OK(c, "LTRIM l 1 -2");
    EXPECT_LIST(c, 8, L("1", "2", "3", "4", "5", "6", "7", "8"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LTRIM l -100 100");
    EXPECT_INT(c, 8, "LLEN l");
    EXPECT_OK(c, "LTRIM l -3 -1");
    EXPECT_LIST(c, 3, L("6", "7", "8"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LTRIM l 1 1");
    EXPECT_LIST(c, 1, L("7"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LTRIM l 0 0");
    EXPECT_LIST(c, 1, L("7"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LTRIM l 1 0"); /* start > stop: empty, the key is deleted */
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_OK(c, "LTRIM l 3 10"); /* start past the end */
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_OK(c, "LTRIM l -1 -2");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_OK(c, "LTRIM l -100 -50"); /* entirely before the head */
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_OK(c, "LTRIM l -100 -3");
    EXPECT_LIST(c, 1, L("a"), "LRANGE l 0 -1");
    EXPECT_INT(c, 3, "RPUSH l b c");
    EXPECT_OK(c, "LTRIM l 1 9223372036854775807");
    EXPECT_LIST(c, 2, L("b", "c"), "LRANGE l 0 -1");
    EXPECT_OK(c, "LTRIM l -9223372036854775808 0");
    EXPECT_LIST(c, 1, L("b"), "LRANGE l 0 -1");
    EXPECT_ERR(c, NOT_INT, "LTRIM l a 1");
    EXPECT_ERR(c, NOT_INT, "LTRIM l 0 1.0");
    EXPECT_LIST(c, 1, L("b"), "LRANGE l 0 -1");
    /* a trimmed-away list pushed again starts empty */
    EXPECT_OK(c, "LTRIM l 5 6");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 1, "RPUSH l new");
    EXPECT_LIST(c, 1, L("new"), "LRANGE l 0 -1");
}

/* ---- LPOS ----------------------------------------------------------------------------------------------------- */

static void test_lpos(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "LPOS missing a");
    EXPECT_LIST(c, 0, NULL, "LPOS missing a COUNT 0"); /* an empty array, not nil */
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 8, "RPUSH l a b c a b c a x");
    EXPECT_INT(c, 0, "LPOS l a");
    EXPECT_INT(c, 2, "LPOS l c");
    EXPECT_INT(c, 7, "LPOS l x");
    EXPECT_NIL(c, "LPOS l zz");
    EXPECT_NIL(c, "LPOS l A");
    /* RANK: the n-th match; negative from the tail */
    EXPECT_INT(c, 0, "LPOS l a RANK 1");
    EXPECT_INT(c, 3, "LPOS l a RANK 2");
    EXPECT_INT(c, 6, "LPOS l a RANK 3");
    EXPECT_NIL(c, "LPOS l a RANK 4");
    EXPECT_INT(c, 6, "LPOS l a RANK -1");
    EXPECT_INT(c, 3, "LPOS l a RANK -2");
    EXPECT_INT(c, 0, "LPOS l a RANK -3");
    EXPECT_NIL(c, "LPOS l a RANK -4");
    EXPECT_INT(c, 4, "LPOS l b RANK -1");
    EXPECT_NIL(c, "LPOS l a RANK 9223372036854775807");
    EXPECT_INT(c, 3, "LPOS l a RANK 1 RANK 2"); /* the last option wins */
    EXPECT_INT(c, 3, "lpos l a rank 2");
    /* COUNT: an array of indexes; 0 means all */
    EXPECT_INTS(c, 3, IV(0, 3, 6), "LPOS l a COUNT 0");
    EXPECT_INTS(c, 2, IV(0, 3), "LPOS l a COUNT 2");
    EXPECT_INTS(c, 1, IV(0), "LPOS l a COUNT 1");
    EXPECT_INTS(c, 3, IV(0, 3, 6), "LPOS l a COUNT 100");
    EXPECT_INTS(c, 3, IV(0, 3, 6), "LPOS l a COUNT 9223372036854775807");
    EXPECT_LIST(c, 0, NULL, "LPOS l zz COUNT 0");
    EXPECT_LIST(c, 0, NULL, "LPOS l zz COUNT 1");
    EXPECT_INTS(c, 3, IV(6, 3, 0), "LPOS l a COUNT 0 RANK -1"); /* from the tail: descending */
    EXPECT_INTS(c, 2, IV(3, 0), "LPOS l a RANK -2 COUNT 0");
    EXPECT_INTS(c, 2, IV(3, 6), "LPOS l a COUNT 0 RANK 2");
    EXPECT_INTS(c, 1, IV(6), "LPOS l a COUNT 1 RANK 3");
    EXPECT_LIST(c, 0, NULL, "LPOS l a COUNT 0 RANK 4");
    /* MAXLEN: compare at most that many elements (from the end RANK starts at); 0 means all */
    EXPECT_INT(c, 0, "LPOS l a MAXLEN 1");
    EXPECT_NIL(c, "LPOS l b MAXLEN 1");
    EXPECT_INT(c, 1, "LPOS l b MAXLEN 2");
    EXPECT_NIL(c, "LPOS l a RANK 2 MAXLEN 3");
    EXPECT_INT(c, 3, "LPOS l a RANK 2 MAXLEN 4");
    EXPECT_INTS(c, 2, IV(0, 3), "LPOS l a COUNT 0 MAXLEN 4");
    EXPECT_INTS(c, 3, IV(0, 3, 6), "LPOS l a COUNT 0 MAXLEN 0");
    EXPECT_NIL(c, "LPOS l a RANK -1 MAXLEN 1");
    EXPECT_INT(c, 6, "LPOS l a RANK -1 MAXLEN 2");
    EXPECT_INTS(c, 1, IV(3), "LPOS l a COUNT 0 RANK -2 MAXLEN 5");
    EXPECT_INT(c, 7, "LPOS l x MAXLEN 8");
    EXPECT_NIL(c, "LPOS l x MAXLEN 7");
    /* errors */
    EXPECT_ERR(c, RANK_ZERO, "LPOS l a RANK 0");
    EXPECT_ERR(c, RANK_ZERO, "LPOS missing a RANK 0");
    EXPECT_ERR(c, NOT_INT, "LPOS l a RANK abc");
    EXPECT_ERR(c, "ERR COUNT can't be negative", "LPOS l a COUNT -1");
    EXPECT_ERR(c, "ERR COUNT can't be negative", "LPOS l a COUNT abc");
    EXPECT_ERR(c, "ERR MAXLEN can't be negative", "LPOS l a MAXLEN -1");
    EXPECT_ERR(c, "ERR MAXLEN can't be negative", "LPOS l a MAXLEN abc");
    EXPECT_ERR(c, "ERR syntax error", "LPOS l a FOO 1");
    EXPECT_ERR(c, "ERR syntax error", "LPOS l a RANK");
    EXPECT_ERR(c, "ERR syntax error", "LPOS l a COUNT");
    EXPECT_ERR(c, "ERR syntax error", "LPOS l a MAXLEN");
    EXPECT_ERR(c, "ERR syntax error", "LPOS l a RANK 1 COUNT");
    EXPECT_INT(c, 8, "LLEN l");
}

/* ---- LMOVE / RPOPLPUSH -------------------------------------------------------------------------------------------- */

static void test_lmove_rpoplpush(void **state) {
    redisContext *c = *state;
    static const struct {
        const char *from, *to, *moved;
        const char *src[2], *dst[3];
    } dirs[] = {
        {"LEFT", "LEFT", "a", {"b", "c"}, {"a", "x", "y"}},
        {"LEFT", "RIGHT", "a", {"b", "c"}, {"x", "y", "a"}},
        {"RIGHT", "LEFT", "c", {"a", "b"}, {"c", "x", "y"}},
        {"RIGHT", "RIGHT", "c", {"a", "b"}, {"x", "y", "c"}},
    };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        EXPECT_OK(c, "FLUSHALL");
        EXPECT_INT(c, 3, "RPUSH src a b c");
        EXPECT_INT(c, 2, "RPUSH dst x y");
        EXPECT_BULK(c, dirs[i].moved, "LMOVE src dst %s %s", dirs[i].from, dirs[i].to);
        EXPECT_LIST(c, 2, dirs[i].src, "LRANGE src 0 -1");
        EXPECT_LIST(c, 3, dirs[i].dst, "LRANGE dst 0 -1");
    }
    EXPECT_OK(c, "FLUSHALL");
    /* a missing source: nil, nothing created */
    EXPECT_NIL(c, "LMOVE missing dst LEFT RIGHT");
    EXPECT_NIL(c, "RPOPLPUSH missing dst");
    EXPECT_INT(c, 0, "DBSIZE");
    /* a missing destination is created; moving the last element deletes the source */
    EXPECT_INT(c, 2, "RPUSH s 1 2");
    EXPECT_BULK(c, "1", "lmove s d left right");
    EXPECT_BULK(c, "2", "LMOVE s d LEFT RIGHT");
    EXPECT_INT(c, 0, "EXISTS s");
    EXPECT_LIST(c, 2, L("1", "2"), "LRANGE d 0 -1");
    EXPECT_STATUS(c, "list", "TYPE d");
    /* the same key as source and destination: rotation */
    EXPECT_INT(c, 4, "RPUSH r a b c d");
    EXPECT_BULK(c, "a", "LMOVE r r LEFT RIGHT");
    EXPECT_LIST(c, 4, L("b", "c", "d", "a"), "LRANGE r 0 -1");
    EXPECT_BULK(c, "a", "LMOVE r r RIGHT LEFT");
    EXPECT_LIST(c, 4, L("a", "b", "c", "d"), "LRANGE r 0 -1");
    EXPECT_BULK(c, "a", "LMOVE r r LEFT LEFT");
    EXPECT_BULK(c, "d", "LMOVE r r RIGHT RIGHT");
    EXPECT_LIST(c, 4, L("a", "b", "c", "d"), "LRANGE r 0 -1");
    EXPECT_BULK(c, "d", "RPOPLPUSH r r");
    EXPECT_BULK(c, "c", "RPOPLPUSH r r");
    EXPECT_LIST(c, 4, L("c", "d", "a", "b"), "LRANGE r 0 -1");
    static const char *const rot[] = {"b", "a", "d", "c"};
    for (int i = 0; i < 4; i++) EXPECT_BULK(c, rot[i], "LMOVE r r RIGHT LEFT");
    EXPECT_LIST(c, 4, L("c", "d", "a", "b"), "LRANGE r 0 -1"); /* a full turn */
    EXPECT_INT(c, 1, "RPUSH single only");
    EXPECT_BULK(c, "only", "LMOVE single single LEFT RIGHT");
    EXPECT_BULK(c, "only", "RPOPLPUSH single single");
    EXPECT_LIST(c, 1, L("only"), "LRANGE single 0 -1");
    /* RPOPLPUSH = LMOVE RIGHT LEFT */
    EXPECT_INT(c, 3, "RPUSH p 1 2 3");
    EXPECT_BULK(c, "3", "RPOPLPUSH p q");
    EXPECT_BULK(c, "2", "RPOPLPUSH p q");
    EXPECT_LIST(c, 2, L("2", "3"), "LRANGE q 0 -1");
    EXPECT_LIST(c, 1, L("1"), "LRANGE p 0 -1");
    EXPECT_BULK(c, "1", "RPOPLPUSH p q");
    EXPECT_INT(c, 0, "EXISTS p");
    EXPECT_LIST(c, 3, L("1", "2", "3"), "LRANGE q 0 -1");
    /* a destination of the wrong type: WRONGTYPE, nothing moved */
    EXPECT_OK(c, "SET str v");
    EXPECT_ERR(c, WRONGTYPE, "LMOVE q str LEFT LEFT");
    EXPECT_ERR(c, WRONGTYPE, "LMOVE q str RIGHT RIGHT");
    EXPECT_ERR(c, WRONGTYPE, "RPOPLPUSH q str");
    EXPECT_LIST(c, 3, L("1", "2", "3"), "LRANGE q 0 -1");
    EXPECT_BULK(c, "v", "GET str");
    EXPECT_INT(c, 1, "RPUSH one last");
    EXPECT_ERR(c, WRONGTYPE, "LMOVE one str LEFT RIGHT"); /* would have emptied the source */
    EXPECT_LIST(c, 1, L("last"), "LRANGE one 0 -1");
    /* a source of the wrong type */
    EXPECT_ERR(c, WRONGTYPE, "LMOVE str q LEFT LEFT");
    EXPECT_ERR(c, WRONGTYPE, "RPOPLPUSH str q");
    /* Redis 7.0 does not look at the destination when the source is missing */
    EXPECT_NIL(c, "LMOVE missing str LEFT LEFT");
    EXPECT_NIL(c, "RPOPLPUSH missing str");
    EXPECT_LIST(c, 3, L("1", "2", "3"), "LRANGE q 0 -1");
    /* syntax */
    EXPECT_ERR(c, "ERR syntax error", "LMOVE q d UP LEFT");
    EXPECT_ERR(c, "ERR syntax error", "LMOVE q d LEFT DOWN");
    EXPECT_ERR(c, "ERR syntax error", "LMOVE q d LEFTX RIGHT");
    EXPECT_LIST(c, 3, L("1", "2", "3"), "LRANGE q 0 -1");
    /* LMOVE keeps the destination's TTL */
    EXPECT_INT(c, 1, "EXPIRE q 100");
    EXPECT_BULK(c, "last", "LMOVE one q LEFT LEFT");
    EXPECT_INT_RANGE(c, 98, 100, "TTL q");
    EXPECT_LIST(c, 4, L("last", "1", "2", "3"), "LRANGE q 0 -1");
}

/* ---- LMPOP ----------------------------------------------------------------------------------------------------------- */

static void test_lmpop(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "LMPOP 1 missing LEFT");
    EXPECT_NIL(c, "LMPOP 2 missing other RIGHT COUNT 5");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 3, "RPUSH a 1 2 3");
    EXPECT_INT(c, 2, "RPUSH b x y");
    /* the first non-empty key, one element by default */
    EXPECT_LMPOP(c, "a", 1, L("1"), "LMPOP 2 missing a LEFT");
    EXPECT_LMPOP(c, "b", 1, L("y"), "LMPOP 2 b a RIGHT");
    EXPECT_LMPOP(c, "a", 2, L("3", "2"), "LMPOP 3 missing a b RIGHT COUNT 2");
    EXPECT_INT(c, 0, "EXISTS a"); /* emptied: deleted */
    EXPECT_LMPOP(c, "b", 1, L("x"), "lmpop 2 a b left count 10");
    EXPECT_INT(c, 0, "EXISTS b");
    EXPECT_NIL(c, "LMPOP 2 a b LEFT");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 5, "RPUSH c 1 2 3 4 5");
    EXPECT_LMPOP(c, "c", 3, L("1", "2", "3"), "LMPOP 1 c LEFT COUNT 3");
    EXPECT_LMPOP(c, "c", 1, L("5"), "LMPOP 1 c RIGHT COUNT 1");
    EXPECT_LMPOP(c, "c", 1, L("4"), "LMPOP 1 c LEFT COUNT 9223372036854775807");
    EXPECT_INT(c, 0, "EXISTS c");
    /* errors; nothing popped */
    EXPECT_INT(c, 2, "RPUSH l p q");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "LMPOP 0 l LEFT");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "LMPOP -1 l LEFT");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "LMPOP abc l LEFT");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 2 l LEFT"); /* numkeys past the arguments */
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 5 l LEFT");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 1 l MIDDLE");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 1 l LEFT FOO 1");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 1 l LEFT COUNT");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 1 l LEFT COUNT 1 COUNT 2");
    EXPECT_ERR(c, "ERR syntax error", "LMPOP 1 l LEFT COUNT 1 extra");
    EXPECT_ERR(c, "ERR count should be greater than 0", "LMPOP 1 l LEFT COUNT 0");
    EXPECT_ERR(c, "ERR count should be greater than 0", "LMPOP 1 l LEFT COUNT -1");
    EXPECT_ERR(c, "ERR count should be greater than 0", "LMPOP 1 l LEFT COUNT abc");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'lmpop' command", "LMPOP 1 l");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'lmpop' command", "LMPOP 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'lmpop' command", "LMPOP");
    EXPECT_LIST(c, 2, L("p", "q"), "LRANGE l 0 -1");
    /* WRONGTYPE when a key of the wrong type is reached before a non-empty list */
    EXPECT_OK(c, "SET str v");
    EXPECT_ERR(c, WRONGTYPE, "LMPOP 1 str LEFT");
    EXPECT_ERR(c, WRONGTYPE, "LMPOP 2 missing str LEFT");
    EXPECT_ERR(c, WRONGTYPE, "LMPOP 2 str l LEFT");
    EXPECT_LIST(c, 2, L("p", "q"), "LRANGE l 0 -1");
    /* Redis 7.0 stops at the first non-empty list and does not look at the keys after it */
    EXPECT_LMPOP(c, "l", 1, L("p"), "LMPOP 2 l str LEFT");
    EXPECT_LIST(c, 1, L("q"), "LRANGE l 0 -1");
}

/* ---- binary-safe, empty and large elements -------------------------------------------------------------------------- */

static void test_binary_elements(void **state) {
    redisContext *c = *state;
    static const char *const e[] = {"a\0b", "\r\n", "", "x\r\ny\0", "\0", "\xff\xfe", "plain"};
    static const size_t el[] = {3, 2, 0, 5, 1, 2, 5};
    enum { NE = sizeof el / sizeof *el };
    for (size_t i = 0; i < NE; i++) EXPECT_INT(c, (long long)i + 1, "RPUSH l %b", e[i], el[i]);
    EXPECT_LISTB(c, NE, e, el, "LRANGE l 0 -1");
    for (size_t i = 0; i < NE; i++) EXPECT_BULKB(c, e[i], el[i], "LINDEX l %d", (int)i);
    EXPECT_INT(c, 0, "LPOS l %b", "a\0b", (size_t)3);
    EXPECT_NIL(c, "LPOS l %b", "a", (size_t)1);
    EXPECT_NIL(c, "LPOS l %b", "a\0", (size_t)2);
    EXPECT_INT(c, 2, "LPOS l %s", "");
    EXPECT_INT(c, 4, "LPOS l %b", "\0", (size_t)1);
    EXPECT_INT(c, 3, "LPOS l %b", "x\r\ny\0", (size_t)5);
    /* LINSERT, LREM and LSET with binary pivots and values */
    EXPECT_INT(c, NE + 1, "LINSERT l AFTER %b %b", "\r\n", (size_t)2, "n\0w", (size_t)3);
    EXPECT_BULKB(c, "n\0w", 3, "LINDEX l 2");
    EXPECT_INT(c, -1, "LINSERT l BEFORE %b x", "\r", (size_t)1);
    EXPECT_INT(c, 1, "LREM l 0 %b", "a\0b", (size_t)3);
    EXPECT_INT(c, 0, "LREM l 0 %b", "a\0b", (size_t)3);
    EXPECT_OK(c, "LSET l 0 %b", "\0\0", (size_t)2);
    EXPECT_LISTB(c, NE, L("\0\0", "n\0w", "", "x\r\ny\0", "\0", "\xff\xfe", "plain"),
                 ((const size_t[]){2, 3, 0, 5, 1, 2, 5}), "LRANGE l 0 -1");
    EXPECT_INT(c, 1, "LREM l 1 %s", "");
    EXPECT_INT(c, NE - 1, "LLEN l");
    /* pops and moves return the bytes intact */
    EXPECT_BULKB(c, "\0\0", 2, "LPOP l");
    EXPECT_BULKB(c, "plain", 5, "RPOP l");
    EXPECT_BULKB(c, "\xff\xfe", 2, "LMOVE l %b RIGHT LEFT", "d\0st", (size_t)5);
    EXPECT_LISTB(c, 1, L("\xff\xfe"), ((const size_t[]){2}), "LRANGE %b 0 -1", "d\0st", (size_t)5);
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_LISTB(c, 3, L("n\0w", "x\r\ny\0", "\0"), ((const size_t[]){3, 5, 1}), "LPOP l 3");
    EXPECT_INT(c, 0, "EXISTS l");
    /* a list of empty elements */
    EXPECT_INT(c, 3, "RPUSH empties %s %s %s", "", "", "");
    EXPECT_LIST(c, 3, L("", "", ""), "LRANGE empties 0 -1");
    EXPECT_INT(c, 3, "LLEN empties");
    EXPECT_INT(c, 2, "LREM empties 2 %s", "");
    EXPECT_BULK(c, "", "LPOP empties");
    EXPECT_INT(c, 0, "EXISTS empties");
    /* a 100 KB element among small ones */
    size_t bn = 100 * 1024;
    char *big = malloc(bn);
    for (size_t i = 0; i < bn; i++) big[i] = (char)(i % 251); /* NULs and CRLFs included */
    EXPECT_INT(c, 3, "RPUSH big s1 %b s2", big, bn);
    EXPECT_BULKB(c, big, bn, "LINDEX big 1");
    EXPECT_LISTB(c, 3, L("s1", big, "s2"), ((const size_t[]){2, bn, 2}), "LRANGE big 0 -1");
    EXPECT_INT(c, 1, "LPOS big %b", big, bn);
    EXPECT_NIL(c, "LPOS big %b", big, bn - 1);
    EXPECT_INT(c, 4, "LINSERT big AFTER %b s3", big, bn);
    EXPECT_LIST(c, 2, L("s3", "s2"), "LRANGE big 2 3");
    EXPECT_BULK(c, "s1", "LMOVE big big2 LEFT LEFT");
    EXPECT_BULKB(c, big, bn, "LMOVE big big2 LEFT RIGHT");
    EXPECT_BULKB(c, big, bn, "LINDEX big2 -1");
    EXPECT_INT(c, 1, "LREM big2 0 %b", big, bn);
    EXPECT_BULK(c, "s1", "RPOPLPUSH big2 big");
    EXPECT_INT(c, 0, "EXISTS big2");
    EXPECT_LIST(c, 3, L("s1", "s3", "s2"), "LRANGE big 0 -1");
    free(big);
}

/* ---- a long list -------------------------------------------------------------------------------------------------------- */

static const char *long_elem(int i, char *b, size_t n) {
    if (i % 10 == 0) return "ten";
    snprintf(b, n, "e%d", i);
    return b;
}

static void test_long_list(void **state) {
    redisContext *c = *state;
    enum { N = 20000, PER_CMD = 10, BATCH = 200 }; /* 2000 RPUSHes, 200 per pipeline batch */
    int64_t t0 = st_now_ms();
    for (int cmd0 = 0; cmd0 < N / PER_CMD; cmd0 += BATCH) {
        for (int k = cmd0; k < cmd0 + BATCH; k++) {
            const char *argv[2 + PER_CMD];
            size_t argl[2 + PER_CMD];
            char bufs[PER_CMD][32];
            argv[0] = "RPUSH";
            argv[1] = "big";
            for (int j = 0; j < PER_CMD; j++) argv[2 + j] = long_elem(k * PER_CMD + j, bufs[j], sizeof bufs[j]);
            for (int j = 0; j < 2 + PER_CMD; j++) argl[j] = strlen(argv[j]);
            if (redisAppendCommandArgv(c, 2 + PER_CMD, argv, argl) != REDIS_OK)
                ST_FAIL("redisAppendCommandArgv: %s", c->errstr);
        }
        for (int k = cmd0; k < cmd0 + BATCH; k++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            char what[64];
            snprintf(what, sizeof what, "RPUSH big (pipelined, command %d)", k);
            st_check_reply_int(r, __FILE__, __LINE__, (long long)(k + 1) * PER_CMD, what);
            freeReplyObject(r);
        }
    }
    EXPECT_INT(c, N, "LLEN big");
    EXPECT_BULK(c, "ten", "LINDEX big 0");
    EXPECT_BULK(c, "e1", "LINDEX big 1");
    EXPECT_BULK(c, "e9999", "LINDEX big 9999");
    EXPECT_BULK(c, "ten", "LINDEX big 10000");
    EXPECT_BULK(c, "e12345", "LINDEX big 12345");
    EXPECT_BULK(c, "e19999", "LINDEX big 19999");
    EXPECT_BULK(c, "e19999", "LINDEX big -1");
    EXPECT_BULK(c, "e10001", "LINDEX big -9999");
    EXPECT_BULK(c, "ten", "LINDEX big -20000");
    EXPECT_NIL(c, "LINDEX big 20000");
    EXPECT_NIL(c, "LINDEX big -20001");
    EXPECT_LIST(c, 4, L("e4999", "ten", "e5001", "e5002"), "LRANGE big 4999 5002");
    EXPECT_LIST(c, 3, L("e19997", "e19998", "e19999"), "LRANGE big -3 -1");
    EXPECT_LIST(c, 2, L("e19998", "e19999"), "LRANGE big 19998 30000");
    EXPECT_INT(c, 12345, "LPOS big e12345");
    EXPECT_INT(c, 19990, "LPOS big ten RANK -1");
    EXPECT_INT(c, 50, "LPOS big ten RANK 6");
    EXPECT_NIL(c, "LPOS big e12345 MAXLEN 12345");
    {   /* the whole list in one reply */
        char **model = calloc(N, sizeof *model);
        for (int i = 0; i < N; i++) {
            char b[32];
            model[i] = strdup(long_elem(i, b, sizeof b));
        }
        check_whole_list(c, __FILE__, __LINE__, "big", N, model);
        /* LTRIM to the middle */
        EXPECT_OK(c, "LTRIM big 5000 14999");
        EXPECT_INT(c, 10000, "LLEN big");
        check_whole_list(c, __FILE__, __LINE__, "big", 10000, model + 5000);
        /* LREM the value present at every 10th place */
        EXPECT_INT(c, 1000, "LREM big 0 ten");
        EXPECT_INT(c, 0, "LREM big 0 ten");
        EXPECT_INT(c, 9000, "LLEN big");
        for (int i = 0; i < 5000; i++) free(model[i]);
        for (int i = 15000; i < N; i++) free(model[i]);
        size_t kept = 0; /* compact model[5000..15000) minus "ten" into model[0..kept) */
        for (int i = 5000; i < 15000; i++)
            if (i % 10) model[kept++] = model[i];
            else free(model[i]);
        check_whole_list(c, __FILE__, __LINE__, "big", kept, model);
        EXPECT_NIL(c, "LPOS big ten");
        EXPECT_BULK(c, "e5001", "LINDEX big 0");
        EXPECT_BULK(c, "e14999", "LINDEX big -1");
        EXPECT_INT(c, 6300, "LPOS big e12001"); /* 7001 places past e5001, 700 of them "ten" */
        for (size_t i = 0; i < kept; i++) free(model[i]);
        free(model);
    }
    /* pop from both ends in bulk */
    redisReply *r = CMD(c, "LPOP big 4000");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4000 || !st_reply_is_bulk(r->element[0], "e5001") ||
        !st_reply_is_bulk(r->element[3999], "e9444"))
        ST_FAIL("LPOP big 4000: got %zu elements, want 4000 from e5001 to e9444", r->elements);
    freeReplyObject(r);
    EXPECT_INT(c, 5000, "LLEN big");
    EXPECT_BULK(c, "e9445", "LINDEX big 0");
    r = CMD(c, "RPOP big 6000");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5000 || !st_reply_is_bulk(r->element[0], "e14999") ||
        !st_reply_is_bulk(r->element[4999], "e9445"))
        ST_FAIL("RPOP big 6000: got %zu elements, want 5000 from e14999 down to e9445", r->elements);
    freeReplyObject(r);
    EXPECT_INT(c, 0, "EXISTS big");
    if (st_now_ms() - t0 > 15000) ST_FAIL("the long-list operations took %lld ms", (long long)(st_now_ms() - t0));
}

/* ---- WRONGTYPE / arity ------------------------------------------------------------------------------------------------- */

static void test_wrongtype(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 2, "RPUSH l a b");
    static const char *const cmds[] = {
        "LPUSH str a",           "RPUSH str a",           "LPUSHX str a",          "RPUSHX str a",
        "LPOP str",              "RPOP str",              "LPOP str 2",            "RPOP str 0",
        "LLEN str",              "LINDEX str 0",          "LRANGE str 0 -1",       "LSET str 0 x",
        "LINSERT str BEFORE a x", "LINSERT str AFTER a x", "LREM str 0 a",          "LTRIM str 0 1",
        "LPOS str a",            "LPOS str a COUNT 0",    "LMOVE str l LEFT LEFT", "LMOVE l str LEFT LEFT",
        "RPOPLPUSH str l",       "RPOPLPUSH l str",       "LMPOP 1 str LEFT",      "LMPOP 1 str RIGHT COUNT 2",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) EXPECT_ERR(c, WRONGTYPE, cmds[i]);
    /* nothing changed */
    EXPECT_BULK(c, "v", "GET str");
    EXPECT_STATUS(c, "string", "TYPE str");
    EXPECT_LIST(c, 2, L("a", "b"), "LRANGE l 0 -1");
    EXPECT_INT(c, 2, "DBSIZE");
    /* other types too */
    EXPECT_INT(c, 1, "SADD s m");
    EXPECT_INT(c, 1, "HSET h f v");
    EXPECT_ERR(c, WRONGTYPE, "LPUSH s a");
    EXPECT_ERR(c, WRONGTYPE, "LRANGE h 0 -1");
    EXPECT_ERR(c, WRONGTYPE, "LLEN h");
    /* and the other way round: other commands on a list */
    EXPECT_ERR(c, WRONGTYPE, "GET l");
    EXPECT_ERR(c, WRONGTYPE, "APPEND l x");
    EXPECT_ERR(c, WRONGTYPE, "INCR l");
    EXPECT_ERR(c, WRONGTYPE, "SADD l x");
    EXPECT_ERR(c, WRONGTYPE, "HGET l f");
    EXPECT_INT(c, 2, "LLEN l");
    /* SET replaces a list */
    EXPECT_OK(c, "SET l now-a-string");
    EXPECT_STATUS(c, "string", "TYPE l");
    EXPECT_ERR(c, WRONGTYPE, "LLEN l");
    EXPECT_INT(c, 1, "DEL l");
    EXPECT_INT(c, 1, "RPUSH l fresh");
    EXPECT_LIST(c, 1, L("fresh"), "LRANGE l 0 -1");
}

static void test_arity_errors(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "RPUSH l a b");
    static const struct {
        const char *name, *cmd;
    } cases[] = {
        {"lpush", "LPUSH"},           {"lpush", "LPUSH l"},         {"rpush", "RPUSH l"},
        {"lpushx", "LPUSHX l"},       {"rpushx", "RPUSHX l"},       {"lpop", "LPOP"},
        {"lpop", "LPOP l 1 2"},       {"rpop", "RPOP"},             {"rpop", "RPOP l 1 2"},
        {"llen", "LLEN"},             {"llen", "LLEN l x"},         {"lindex", "LINDEX l"},
        {"lindex", "LINDEX l 0 1"},   {"lrange", "LRANGE l 0"},     {"lrange", "LRANGE l 0 1 2"},
        {"lset", "LSET l 0"},         {"lset", "LSET l 0 a b"},     {"linsert", "LINSERT l BEFORE a"},
        {"linsert", "LINSERT l BEFORE a b c"}, {"lrem", "LREM l 0"}, {"lrem", "LREM l 0 a b"},
        {"ltrim", "LTRIM l 0"},       {"ltrim", "LTRIM l 0 1 2"},   {"lpos", "LPOS l"},
        {"lmove", "LMOVE l m LEFT"},  {"lmove", "LMOVE l m LEFT LEFT x"}, {"rpoplpush", "RPOPLPUSH l"},
        {"rpoplpush", "RPOPLPUSH l m n"}, {"lmpop", "LMPOP 1 l"},   {"lmpop", "LMPOP"},
        {"lpush", "lpush l"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", cases[i].name);
        EXPECT_ERR(c, want, cases[i].cmd);
    }
    EXPECT_LIST(c, 2, L("a", "b"), "LRANGE l 0 -1"); /* nothing changed */
    EXPECT_INT(c, 1, "DBSIZE");
}

/* ---- reply shapes on raw sockets ------------------------------------------------------------------------------------------ */

/* RESP2: hiredis shows both $-1 and *-1 as nil; the bytes tell them apart. */
static void test_resp2_null_shapes(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "RPUSH", "l", "a", "b", "c", NULL);
    RAW_EXPECT(&r, ":3\r\n");
    st_raw_cmd(&r, "LPOP", "missing", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "LPOP", "missing", "2", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_cmd(&r, "RPOP", "missing", "2", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_cmd(&r, "LPOP", "missing", "0", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_cmd(&r, "LPOP", "l", "0", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "LPOP", "l", "1", NULL);
    RAW_EXPECT(&r, "*1\r\n$1\r\na\r\n");
    st_raw_cmd(&r, "LINDEX", "l", "99", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "LPOS", "l", "zz", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "LPOS", "l", "zz", "COUNT", "0", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "LMPOP", "1", "missing", "LEFT", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_cmd(&r, "LMOVE", "missing", "d", "LEFT", "LEFT", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "RPOPLPUSH", "missing", "d", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "LRANGE", "missing", "0", "-1", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "LTRIM", "l", "0", "-1", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "LSET", "missing", "0", "x", NULL);
    RAW_EXPECT(&r, "-ERR no such key\r\n");
    st_raw_close(&r);
}

static void test_resp3_shapes(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "HELLO", "3", NULL);
    const char *why = NULL;
    char *hello = st_raw_reply(&r, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!hello || hello[0] != '%') ST_FAIL("HELLO 3: no map reply (%s)", hello ? hello : why);
    free(hello);
    st_raw_cmd(&r, "RPUSH", "l", "a", "b", "c", NULL);
    RAW_EXPECT(&r, ":3\r\n");
    st_raw_cmd(&r, "LRANGE", "l", "0", "-1", NULL);
    RAW_EXPECT(&r, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    st_raw_cmd(&r, "LRANGE", "missing", "0", "-1", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "LPOP", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LPOP", "missing", "2", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "RPOP", "missing", "0", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LPOP", "l", "0", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "RPOP", "l", "1", NULL);
    RAW_EXPECT(&r, "*1\r\n$1\r\nc\r\n");
    st_raw_cmd(&r, "LINDEX", "l", "0", NULL);
    RAW_EXPECT(&r, "$1\r\na\r\n");
    st_raw_cmd(&r, "LINDEX", "l", "99", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LPOS", "missing", "a", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LPOS", "l", "zz", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LPOS", "l", "b", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "LPOS", "l", "b", "COUNT", "0", NULL);
    RAW_EXPECT(&r, "*1\r\n:1\r\n");
    st_raw_cmd(&r, "LPOS", "missing", "b", "COUNT", "0", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "LMOVE", "missing", "d", "LEFT", "LEFT", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "RPOPLPUSH", "missing", "d", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LMPOP", "1", "missing", "LEFT", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "LMPOP", "2", "missing", "l", "LEFT", "COUNT", "5", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\nl\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n"); /* an array, not a map */
    st_raw_cmd(&r, "LLEN", "l", NULL);
    RAW_EXPECT(&r, ":0\r\n");
    st_raw_cmd(&r, "LINSERT", "l", "BEFORE", "a", "b", NULL);
    RAW_EXPECT(&r, ":0\r\n");
    st_raw_cmd(&r, "SET", "str", "v", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "LRANGE", "str", "0", "-1", NULL);
    RAW_EXPECT(&r, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    st_raw_cmd(&r, "DBSIZE", NULL);
    RAW_EXPECT(&r, ":1\r\n"); /* the emptied list is gone */
    st_raw_close(&r);
}

/* ---- TTL, DEL, lists emptied and pushed again ------------------------------------------------------------------------------- */

static void test_ttl_and_resurrection(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_INT(c, -1, "TTL l");
    /* pushes, pops, LSET, LREM keep the TTL */
    EXPECT_INT(c, 1, "EXPIRE l 100");
    EXPECT_INT(c, 4, "RPUSH l d");
    EXPECT_BULK(c, "d", "RPOP l");
    EXPECT_INT(c, 4, "LPUSH l z");
    EXPECT_INT(c, 1, "LREM l 0 z");
    EXPECT_INT_RANGE(c, 98, 100, "TTL l");
    /* an expiring list disappears with all its elements */
    EXPECT_INT(c, 1, "PEXPIRE l 100");
    EXPECT_INT_RANGE(c, 1, 100, "PTTL l");
    wait_gone(c, __FILE__, __LINE__, "l", 3000);
    EXPECT_STATUS(c, "none", "TYPE l");
    EXPECT_INT(c, 0, "LLEN l");
    EXPECT_NIL(c, "LINDEX l 0");
    EXPECT_NIL(c, "LPOP l");
    EXPECT_LIST(c, 0, NULL, "LRANGE l 0 -1");
    EXPECT_INT(c, 0, "LPUSHX l x");
    EXPECT_INT(c, -2, "TTL l");
    /* a new RPUSH starts an empty list without a TTL */
    EXPECT_INT(c, 1, "RPUSH l new");
    EXPECT_LIST(c, 1, L("new"), "LRANGE l 0 -1");
    EXPECT_INT(c, -1, "TTL l");
    /* the same when nobody looked at the key after it expired */
    EXPECT_INT(c, 3, "RPUSH t a b c");
    EXPECT_INT(c, 1, "PEXPIRE t 50");
    sleep_past(150);
    EXPECT_INT(c, 1, "LPUSH t z");
    EXPECT_LIST(c, 1, L("z"), "LRANGE t 0 -1");
    EXPECT_INT(c, -1, "TTL t");
    /* an expired source of LMOVE is missing; an expired destination starts empty */
    EXPECT_INT(c, 2, "RPUSH src 1 2");
    EXPECT_INT(c, 2, "RPUSH dst old1 old2");
    EXPECT_INT(c, 1, "PEXPIRE dst 50");
    sleep_past(150);
    EXPECT_BULK(c, "1", "LMOVE src dst LEFT RIGHT");
    EXPECT_LIST(c, 1, L("1"), "LRANGE dst 0 -1");
    EXPECT_INT(c, -1, "TTL dst");
    EXPECT_INT(c, 1, "PEXPIRE src 50");
    sleep_past(150);
    EXPECT_NIL(c, "LMOVE src dst LEFT RIGHT");
    EXPECT_LIST(c, 1, L("1"), "LRANGE dst 0 -1");
    /* DEL, then RPUSH: the old elements do not come back */
    EXPECT_INT(c, 4, "RPUSH d a b c d");
    EXPECT_INT(c, 1, "DEL d");
    EXPECT_INT(c, 0, "LLEN d");
    EXPECT_INT(c, 1, "RPUSH d e");
    EXPECT_LIST(c, 1, L("e"), "LRANGE d 0 -1");
    EXPECT_NIL(c, "LINDEX d 1");
    EXPECT_INT(c, 1, "UNLINK d");
    EXPECT_INT(c, 1, "LPUSH d f");
    EXPECT_LIST(c, 1, L("f"), "LRANGE d 0 -1");
    /* emptied by pops (with a TTL set), then pushed again: empty, no TTL */
    EXPECT_INT(c, 3, "RPUSH e a b c");
    EXPECT_INT(c, 1, "EXPIRE e 100");
    EXPECT_LIST(c, 2, L("a", "b"), "LPOP e 2");
    EXPECT_BULK(c, "c", "RPOP e");
    EXPECT_INT(c, 0, "EXISTS e");
    EXPECT_INT(c, 1, "RPUSH e x");
    EXPECT_LIST(c, 1, L("x"), "LRANGE e 0 -1");
    EXPECT_INT(c, -1, "TTL e");
    /* emptied by LMPOP and LMOVE, then pushed again */
    EXPECT_INT(c, 2, "RPUSH m a b");
    EXPECT_LMPOP(c, "m", 2, L("a", "b"), "LMPOP 1 m LEFT COUNT 2");
    EXPECT_INT(c, 1, "RPUSH m c");
    EXPECT_LIST(c, 1, L("c"), "LRANGE m 0 -1");
    EXPECT_BULK(c, "c", "LMOVE m other LEFT LEFT");
    EXPECT_INT(c, 0, "EXISTS m");
    EXPECT_INT(c, 1, "LPUSH m d");
    EXPECT_LIST(c, 1, L("d"), "LRANGE m 0 -1");
    /* RENAME moves the elements and the TTL */
    EXPECT_INT(c, 1, "EXPIRE m 100");
    EXPECT_OK(c, "RENAME m n");
    EXPECT_INT(c, 0, "EXISTS m");
    EXPECT_LIST(c, 1, L("d"), "LRANGE n 0 -1");
    EXPECT_INT_RANGE(c, 98, 100, "TTL n");
    EXPECT_STATUS(c, "list", "TYPE n");
}

/* ---- a pipelined mix checked against a model ------------------------------------------------------------------------------- */

static void test_pipelined_mix(void **state) {
    redisContext *c = *state;
    enum { ITER = 200, OPS = 4 * ITER, CAP = 2 * OPS + 8 };
    /* model deque: model[head..tail) */
    char (*model)[16] = calloc(CAP, sizeof *model);
    int head = CAP / 2, tail = CAP / 2;
    typedef struct {
        int op;         /* 0 LPUSH, 1 RPUSH, 2 LPOP, 3 RPOP */
        long long len;  /* expected length (pushes) */
        char want[16];  /* expected element (pops); "" = nil */
    } mix_expect;
    mix_expect *ex = calloc(OPS, sizeof *ex);
    unsigned seed = 12345;
    int n = 0;
    for (int i = 0; i < ITER; i++) {
        /* the fixed order LPUSH, RPOP, RPUSH, LPOP, with every 5th iteration pushing instead of
         * popping (so the list grows) and the first pops hitting an empty list */
        static const int order[4] = {0, 3, 1, 2};
        for (int k = 0; k < 4; k++) {
            int op = order[k];
            seed = seed * 1103515245u + 12345u;
            if (op >= 2 && i % 5 == 4) op = (int)((seed >> 16) & 1); /* a push instead */
            if (i == 0 && k == 0) op = 3;                               /* RPOP on an empty list */
            mix_expect *e = &ex[n++];
            e->op = op;
            char val[16];
            snprintf(val, sizeof val, "%c%d.%d", op == 0 ? 'L' : 'R', i, k);
            switch (op) {
            case 0:
                memcpy(model[--head], val, sizeof val);
                e->len = tail - head;
                if (redisAppendCommand(c, "LPUSH q %s", val) != REDIS_OK) ST_FAIL("append: %s", c->errstr);
                break;
            case 1:
                memcpy(model[tail++], val, sizeof val);
                e->len = tail - head;
                if (redisAppendCommand(c, "RPUSH q %s", val) != REDIS_OK) ST_FAIL("append: %s", c->errstr);
                break;
            case 2:
                if (head < tail) memcpy(e->want, model[head++], sizeof e->want);
                if (redisAppendCommand(c, "LPOP q") != REDIS_OK) ST_FAIL("append: %s", c->errstr);
                break;
            default:
                if (head < tail) memcpy(e->want, model[--tail], sizeof e->want);
                if (redisAppendCommand(c, "RPOP q") != REDIS_OK) ST_FAIL("append: %s", c->errstr);
                break;
            }
        }
    }
    /* one pipeline of 800 commands */
    st_flush(c, __FILE__, __LINE__);
    int checked_nil = 0, checked_pop = 0;
    for (int i = 0; i < n; i++) {
        redisReply *r = st_get_reply(c, __FILE__, __LINE__);
        char what[64];
        static const char *const names[] = {"LPUSH", "RPUSH", "LPOP", "RPOP"};
        snprintf(what, sizeof what, "%s q (pipelined command %d)", names[ex[i].op], i);
        if (ex[i].op < 2) {
            st_check_reply_int(r, __FILE__, __LINE__, ex[i].len, what);
        } else if (!ex[i].want[0]) {
            if (r->type != REDIS_REPLY_NIL) {
                char *g = st_reply_repr(r);
                ST_FAIL("`%s`\n    got:  %s\n    want: (nil)", what, g);
            }
            checked_nil++;
        } else {
            st_check_reply_bulk(r, __FILE__, __LINE__, ex[i].want, strlen(ex[i].want), what);
            checked_pop++;
        }
        freeReplyObject(r);
    }
    if (checked_nil < 1 || checked_pop < 100)
        ST_FAIL("the mix checked %d nil pops and %d element pops; want >= 1 and >= 100", checked_nil, checked_pop);
    /* the final contents match the model */
    size_t len = (size_t)(tail - head);
    if (len < 20) ST_FAIL("model list too short (%zu): the mix does not grow the list", len);
    char **want = calloc(len + 1, sizeof *want);
    for (size_t i = 0; i < len; i++) want[i] = model[head + (int)i];
    EXPECT_INT(c, (long long)len, "LLEN q");
    check_whole_list(c, __FILE__, __LINE__, "q", len, want);
    free(want);
    free(ex);
    free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_push_and_llen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lpop_rpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lindex_lrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lrem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ltrim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lpos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lmove_rpoplpush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lmpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp2_null_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_and_resurrection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined_mix, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
