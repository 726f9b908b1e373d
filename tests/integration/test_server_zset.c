/* test_server_zset.c -- the sorted set commands of strata-server against Redis 7.0's replies and
 * error texts: ZADD (NX/XX/GT/LT/CH/INCR and their conflicts), ZINCRBY, ZREM, ZCARD, ZSCORE,
 * ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANK/ZREVRANK, ZRANGE (by index, BYSCORE, BYLEX, REV, LIMIT,
 * WITHSCORES and their errors), ZRANGEBYSCORE/ZREVRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGEBYLEX/
 * ZREVRANGE, ZRANGESTORE, ZPOPMIN/ZPOPMAX, ZMPOP, ZREMRANGEBY{SCORE,RANK,LEX}, ZUNIONSTORE/
 * ZINTERSTORE (WEIGHTS, AGGREGATE, plain sets as inputs), ZUNION/ZINTER/ZDIFF/ZDIFFSTORE/
 * ZINTERCARD, ZRANDMEMBER, ZSCAN; score parsing and formatting ("%.17g", inf, NaN errors),
 * exclusive and infinite bounds, ties ordered by member bytes, binary members, a 10,000-member
 * zset and a leaderboard loop checked against an in-test model, WRONGTYPE, arity errors, RESP2/
 * RESP3 reply bytes (raw sockets), TTLs and DEL not resurrecting members. The test_big_zset_*
 * tests take sets of up to 20,000 members across the sizes where Strata's rank index changes
 * shape (net/zrank.h) with every kind of write (MULTI, RENAME, *STORE and restarts included) and
 * compare ranks, ranges by index and by score with LIMIT, and counts with an in-test model.
 * Ordered replies are compared exactly (a zset's order is defined); ZRANDMEMBER, ZSCAN and pops of
 * tied scores are compared as sets. ZSCAN is iterated until cursor "0" (Redis answers a small zset
 * in one call whatever COUNT says; cursors are opaque). Passes against redis-server 7.0
 * (STRATA_IT_SERVER=/usr/bin/redis-server). One server for the group; each test starts from
 * FLUSHALL. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-zset", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define E_SYNTAX "ERR syntax error"
#define E_NOTINT "ERR value is not an integer or out of range"
#define E_FLOAT "ERR value is not a valid float"
#define E_MINMAX "ERR min or max is not a float"
#define E_LEX "ERR min or max not valid string range item"
#define E_NAN "ERR resulting score is not a number (NaN)"
#define E_LIMIT "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
#define E_WITHSCORES_LEX "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
#define E_XXNX "ERR XX and NX options at the same time are not compatible"
#define E_GTLTNX "ERR GT, LT, and/or NX options at the same time are not compatible"
#define E_INCR "ERR INCR option supports a single increment-element pair"
#define E_POSITIVE "ERR value is out of range, must be positive"

/* ---- helpers ----------------------------------------------------------------------------------- */

/* A(...) is an array of strings (NULL = nil); EXPECT_ARR checks an array reply holding exactly
 * these bulk strings in this order; EXPECT_EMPTY an empty array. */
#define A(...) ((const char *[]){__VA_ARGS__})
#define EXPECT_ARR(c, want, ...) \
    st_expect_strs((c), __FILE__, __LINE__, sizeof(want) / sizeof(const char *), (want), __VA_ARGS__)
#define EXPECT_EMPTY(c, ...) st_expect_strs((c), __FILE__, __LINE__, 0, NULL, __VA_ARGS__)

static redisReply *vcommand(redisContext *c, const char *file, int line, const char *fmt, va_list ap) {
    redisReply *r = redisvCommand(c, fmt, ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    return r;
}

static void fail_reply(const char *file, int line, const char *what, const redisReply *r, const char *why) {
    char *s = st_reply_repr(r);
    st_fail_at(file, line, "`%s`: %s\n    got: %.3000s", what, why, s);
}

static bool elem_is(const redisReply *e, const char *p, size_t n) {
    if (!p) return e->type == REDIS_REPLY_NIL;
    return e->type == REDIS_REPLY_STRING && e->len == n && (!n || !memcmp(e->str, p, n));
}

/* An array of exactly the n bulk strings want[i] of lengths lens[i] (binary-safe), in order. */
static void check_arr_b(const redisReply *r, const char *file, int line, size_t n, const char *const *want,
                        const size_t *lens, const char *what) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        char why[64];
        snprintf(why, sizeof why, "want an array of %zu", n);
        fail_reply(file, line, what, r, why);
    }
    for (size_t i = 0; i < n; i++)
        if (!elem_is(r->element[i], want[i], lens[i])) {
            char *e = st_escape(want[i], lens[i]);
            char why[512];
            snprintf(why, sizeof why, "element %zu is not \"%.300s\"", i, e);
            free(e);
            fail_reply(file, line, what, r, why);
        }
}

/* The score string of a double as Redis 7.0 prints it ("%.17g", inf, -inf). */
static void fmt_score(double d, char *buf, size_t n) {
    if (isinf(d)) snprintf(buf, n, "%s", d > 0 ? "inf" : "-inf");
    else snprintf(buf, n, "%.17g", d);
}

/* A (member, score) pair of text; the checks below take up to MAX_PAIRS of them. */
#define MAX_PAIRS 512
typedef struct {
    const char *m, *s;
} pair;

static long find_pair(const pair *p, size_t n, const char *m, size_t ml) {
    for (size_t i = 0; i < n; i++)
        if (strlen(p[i].m) == ml && !memcmp(p[i].m, m, ml)) return (long)i;
    return -1;
}

/* A flat array [m, s, m, s, ...] holding each of the n pairs exactly once, in any order. */
static void check_pairs_any_order(const redisReply *r, const char *file, int line, size_t n, const pair *want,
                                  const char *what) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * n) fail_reply(file, line, what, r, "wrong shape");
    char seen[MAX_PAIRS] = {0};
    if (n > MAX_PAIRS) st_fail_at(file, line, "test bug: %zu pairs", n);
    for (size_t i = 0; i < n; i++) {
        const redisReply *m = r->element[2 * i], *s = r->element[2 * i + 1];
        long k = m->type == REDIS_REPLY_STRING ? find_pair(want, n, m->str, m->len) : -1;
        if (k < 0 || seen[k] || !elem_is(s, want[k].s, strlen(want[k].s))) {
            fail_reply(file, line, what, r, "unexpected, repeated or mis-scored member");
            return;
        }
        seen[k] = 1;
    }
}

static void expect_pairs_any_order(redisContext *c, const char *file, int line, size_t n, const pair *want,
                                   const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    check_pairs_any_order(r, file, line, n, want, fmt);
    freeReplyObject(r);
}
#define P(...) ((const pair[]){__VA_ARGS__})
#define EXPECT_PAIRS_ANY(c, want, ...) \
    expect_pairs_any_order((c), __FILE__, __LINE__, sizeof(want) / sizeof(pair), (want), __VA_ARGS__)

/* ZMPOP's RESP2 reply: [key, [[m, s], ...]] with exactly these pairs in order. */
static void vexpect_zmpop(redisContext *c, const char *file, int line, const char *key, size_t n, const pair *want,
                          const char *fmt, va_list ap) {
    redisReply *r = vcommand(c, file, line, fmt, ap);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 && elem_is(r->element[0], key, strlen(key)) &&
              r->element[1]->type == REDIS_REPLY_ARRAY && r->element[1]->elements == n;
    for (size_t i = 0; ok && i < n; i++) {
        const redisReply *e = r->element[1]->element[i];
        ok = e->type == REDIS_REPLY_ARRAY && e->elements == 2 && elem_is(e->element[0], want[i].m, strlen(want[i].m)) &&
             elem_is(e->element[1], want[i].s, strlen(want[i].s));
    }
    if (!ok) fail_reply(file, line, fmt, r, "want [key, [[member, score], ...]] as listed in the test");
    freeReplyObject(r);
}

static void expect_zmpop(redisContext *c, const char *file, int line, const char *key, size_t n, const pair *want,
                         const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vexpect_zmpop(c, file, line, key, n, want, fmt, ap);
    va_end(ap);
}
#define EXPECT_ZMPOP(c, key, want, ...) \
    expect_zmpop((c), __FILE__, __LINE__, (key), sizeof(want) / sizeof(pair), (want), __VA_ARGS__)

/* Waits (bounded) until `EXISTS key` answers 0. */
static void wait_gone(redisContext *c, const char *file, int line, const char *key, int deadline_ms) {
    int64_t end = st_now_ms() + deadline_ms;
    for (int i = 0; i < 100000; i++) {
        redisReply *r = st_cmd(c, file, line, "EXISTS %s", key);
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n == 0) return;
        if (n != 1) st_fail_at(file, line, "EXISTS %s: not 0 or 1", key);
        if (st_now_ms() > end) break;
        st_sleep_ms(10);
    }
    st_fail_at(file, line, "%s still exists %d ms after its expiry", key, deadline_ms);
}

/* ---- an in-test model: (score, member) entries in zset order ------------------------------------- */

typedef struct {
    double score;
    char name[16];
} zent;

static int zent_cmp(const void *a, const void *b) {
    const zent *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    return strcmp(x->name, y->name);
}

/* r must be the n entries e[0..n) (reversed when rev), each followed by its score if withscores. */
static void check_zents(const redisReply *r, const char *file, int line, const char *what, const zent *e, size_t n,
                        bool rev, bool withscores) {
    size_t per = withscores ? 2 : 1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n * per) {
        char why[64];
        snprintf(why, sizeof why, "want an array of %zu", n * per);
        fail_reply(file, line, what, r, why);
    }
    for (size_t k = 0; k < n; k++) {
        const zent *z = &e[rev ? n - 1 - k : k];
        char sc[64];
        fmt_score(z->score, sc, sizeof sc);
        if (!elem_is(r->element[k * per], z->name, strlen(z->name)) ||
            (withscores && !elem_is(r->element[k * per + 1], sc, strlen(sc)))) {
            char why[160];
            snprintf(why, sizeof why, "entry %zu: want \"%s\" (score %s)", k, z->name, sc);
            fail_reply(file, line, what, r, why);
        }
    }
}

static void expect_zents(redisContext *c, const char *file, int line, const zent *e, size_t n, bool rev,
                         bool withscores, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    check_zents(r, file, line, fmt, e, n, rev, withscores);
    freeReplyObject(r);
}

/* ---- ZSCAN iteration --------------------------------------------------------------------------------- */

enum { ZSCAN_MAX_CALLS = 20000, ZSCAN_DEADLINE_MS = 15000 };

typedef struct {
    char **m, **s;
    size_t *ml;
    size_t len, cap;
    int calls;
} zscan_out;

static void zscan_free(zscan_out *o) {
    for (size_t i = 0; i < o->len; i++) {
        free(o->m[i]);
        free(o->s[i]);
    }
    free(o->m);
    free(o->s);
    free(o->ml);
    memset(o, 0, sizeof *o);
}

static char *dup_bytes(const char *p, size_t n) {
    char *d = malloc(n + 1);
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* ZSCAN key from cursor "0" until cursor "0" with `opts` (space-separated arguments after the
 * cursor, "" for none); collects every (member, score). Bounded in calls and time. */
static void zscan_take(void *arg, const redisReply *const *items) {
    zscan_out *out = arg;
    const redisReply *m = items[0], *sc = items[1];
    if (out->len == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 64;
        out->m = realloc(out->m, out->cap * sizeof *out->m);
        out->s = realloc(out->s, out->cap * sizeof *out->s);
        out->ml = realloc(out->ml, out->cap * sizeof *out->ml);
    }
    out->m[out->len] = dup_bytes(m->str, m->len);
    out->ml[out->len] = m->len;
    out->s[out->len++] = dup_bytes(sc->str, sc->len);
}

static void zscan_all(redisContext *c, const char *file, int line, const char *key, const char *opts,
                      zscan_out *out) {
    memset(out, 0, sizeof *out);
    out->calls = st_scan_all(c, file, line, "ZSCAN", key, strlen(key), opts, 2, ZSCAN_MAX_CALLS, ZSCAN_DEADLINE_MS,
                             zscan_take, out);
}

/* Every pair returned is one of want (with its score), and every pair of want was returned. */
static void check_zscan(zscan_out *o, const char *file, int line, size_t n, const pair *want, const char *what) {
    char seen[MAX_PAIRS] = {0};
    char msg[512] = "";
    if (n > MAX_PAIRS) snprintf(msg, sizeof msg, "test bug: %zu pairs", n);
    for (size_t i = 0; i < o->len && !msg[0]; i++) {
        long k = find_pair(want, n, o->m[i], o->ml[i]);
        if (k < 0 || strcmp(want[k].s, o->s[i])) {
            char *e = st_escape(o->m[i], o->ml[i]);
            snprintf(msg, sizeof msg, "returned \"%.200s\" with score %.40s, not a member with that score", e, o->s[i]);
            free(e);
        } else {
            seen[k] = 1;
        }
    }
    for (size_t k = 0; k < n && !msg[0]; k++)
        if (!seen[k])
            snprintf(msg, sizeof msg, "member \"%.200s\" never returned (%zu returned in %d calls)", want[k].m, o->len,
                     o->calls);
    if (msg[0]) {
        zscan_free(o);
        st_fail_at(file, line, "%s: %s", what, msg);
    }
}

/* ---- ZADD, ZCARD, ZSCORE, ZREM --------------------------------------------------------------------------- */

static void test_zadd_zcard_zscore_zrem(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "ZCARD z");
    EXPECT_NIL(c, "ZSCORE z a");
    EXPECT_EMPTY(c, "ZRANGE z 0 -1");
    EXPECT_INT(c, 3, "ZADD z 1 a 2 b 3 c");
    EXPECT_STATUS(c, "zset", "TYPE z");
    EXPECT_INT(c, 0, "ZADD z 1 a 5 b"); /* updates are not counted */
    EXPECT_BULK(c, "5", "ZSCORE z b");
    EXPECT_INT(c, 1, "ZADD z 1 x 2 x"); /* a member named twice: counted once, the last score wins */
    EXPECT_BULK(c, "2", "ZSCORE z x");
    EXPECT_INT(c, 4, "ZCARD z");
    EXPECT_ARR(c, A("a", "1", "x", "2", "c", "3", "b", "5"), "ZRANGE z 0 -1 WITHSCORES");
    EXPECT_INT(c, 1, "zadd z 4 lower"); /* case-insensitive */
    EXPECT_INT(c, 1, "ZREM z lower");
    /* ZREM counts removed members, a member named twice once */
    EXPECT_INT(c, 1, "ZREM z a nope a");
    EXPECT_INT(c, 0, "ZREM z a");
    EXPECT_INT(c, 0, "ZREM missing a");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_NIL(c, "ZSCORE z a");
    EXPECT_INT(c, 3, "ZCARD z");
    /* removing the last members deletes the key */
    EXPECT_INT(c, 3, "ZREM z x c b");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_STATUS(c, "none", "TYPE z");
    EXPECT_INT(c, 0, "ZCARD z");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 1, "ZADD z 7 only");
    EXPECT_ARR(c, A("only", "7"), "ZRANGE z 0 -1 WITHSCORES");
    /* a failed ZADD changes nothing: every score is checked first */
    EXPECT_ERR(c, E_FLOAT, "ZADD z 1 new abc b");
    EXPECT_NIL(c, "ZSCORE z new");
    EXPECT_ERR(c, E_SYNTAX, "ZADD z 1 a 2");
    EXPECT_ERR(c, E_SYNTAX, "ZADD z foo 1 a");
    EXPECT_INT(c, 1, "ZCARD z");
}

/* ---- ZADD options ----------------------------------------------------------------------------------------- */

static void test_zadd_options(void **state) {
    redisContext *c = *state;
    /* XX never adds, and does not create the key */
    EXPECT_INT(c, 0, "ZADD z XX 1 a");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_NIL(c, "ZADD z XX INCR 1 a");
    EXPECT_INT(c, 0, "EXISTS z");
    /* GT and LT add new members and only move existing ones up or down */
    EXPECT_INT(c, 1, "ZADD z GT 5 a");
    EXPECT_INT(c, 0, "ZADD z GT 3 a");
    EXPECT_BULK(c, "5", "ZSCORE z a");
    EXPECT_INT(c, 2, "ZADD z GT CH 7 a 1 b"); /* a updated, b added */
    EXPECT_INT(c, 0, "ZADD z LT 9 a");
    EXPECT_BULK(c, "7", "ZSCORE z a");
    EXPECT_INT(c, 1, "ZADD z LT CH 2 a");
    EXPECT_BULK(c, "2", "ZSCORE z a");
    EXPECT_INT(c, 1, "ZADD z LT 0 c");
    EXPECT_INT(c, 0, "ZADD z GT XX CH 1 a");
    EXPECT_INT(c, 1, "ZADD z GT XX CH 3 a");
    EXPECT_BULK(c, "3", "ZSCORE z a");
    /* INCR: the new score, or nil when a condition prevented the update */
    EXPECT_NIL(c, "ZADD z GT INCR -1 a");
    EXPECT_BULK(c, "2", "ZADD z LT INCR -1 a");
    EXPECT_NIL(c, "ZADD z LT INCR 0 a");
    EXPECT_NIL(c, "ZADD z GT INCR 0 a");
    EXPECT_BULK(c, "3", "ZADD z INCR CH 1 a");
    EXPECT_NIL(c, "ZADD z NX INCR 1 a");
    EXPECT_BULK(c, "3", "ZSCORE z a");
    EXPECT_BULK(c, "1.5", "ZADD z NX INCR 1.5 inc");
    EXPECT_BULK(c, "2.5", "ZADD z INCR 1 inc");
    EXPECT_BULK(c, "3.5", "ZADD z incr incr 1 inc"); /* a repeated flag is fine */
    /* CH counts added and changed members; the same score is no change */
    EXPECT_INT(c, 0, "ZADD z CH 3 a");
    EXPECT_INT(c, 3, "ZADD z CH 4 a 1 a 3 a"); /* pairs apply in turn: 3 -> 4 -> 1 -> 3, three changes */
    EXPECT_BULK(c, "3", "ZSCORE z a");
    EXPECT_INT(c, 2, "ZADD z CH 5 a 6 new");
    /* NX adds only new members */
    EXPECT_INT(c, 1, "ZADD z NX 100 a 100 nx");
    EXPECT_BULK(c, "5", "ZSCORE z a");
    EXPECT_BULK(c, "100", "ZSCORE z nx");
    EXPECT_INT(c, 1, "ZADD z XX CH 100 a 100 nothere");
    EXPECT_NIL(c, "ZSCORE z nothere");
    EXPECT_ARR(c, A("c", "0", "b", "1", "inc", "3.5", "new", "6", "a", "100", "nx", "100"), "ZRANGE z 0 -1 WITHSCORES");
    /* incompatible options */
    EXPECT_ERR(c, E_XXNX, "ZADD z XX NX 1 a");
    EXPECT_ERR(c, E_XXNX, "ZADD z nx xx 1 a");
    EXPECT_ERR(c, E_GTLTNX, "ZADD z GT LT 1 a");
    EXPECT_ERR(c, E_GTLTNX, "ZADD z Gt Lt 1 a");
    EXPECT_ERR(c, E_GTLTNX, "ZADD z GT NX 1 a");
    EXPECT_ERR(c, E_GTLTNX, "ZADD z NX LT 1 a");
    EXPECT_ERR(c, E_INCR, "ZADD z INCR 1 a 2 b");
    EXPECT_ERR(c, E_XXNX, "ZADD missing XX NX 1 a");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'zadd' command", "ZADD z CH");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'zadd' command", "ZADD z 1");
    EXPECT_ERR(c, E_SYNTAX, "ZADD z NX 1");
    EXPECT_ERR(c, E_SYNTAX, "ZADD z NX 1 a 2");
    EXPECT_INT(c, 6, "ZCARD z");
}

/* ---- scores: parsing, formatting, ZINCRBY ------------------------------------------------------------------- */

static void test_scores(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 13, "ZADD z inf a -inf b +inf c 1.5 d 0.1 g 1e-5 h 3.0 i 1e20 f 100 j -2.50 k "
                      "12345678901234567890 l 1e3 m 0.30000000000000004 n");
    EXPECT_ARR(c,
               A("b", "-inf", "k", "-2.5", "h", "1.0000000000000001e-05", "g", "0.10000000000000001", "n",
                 "0.30000000000000004", "d", "1.5", "i", "3", "j", "100", "m", "1000", "l",
                 "1.2345678901234567e+19", "f", "1e+20", "a", "inf", "c", "inf"),
               "ZRANGE z 0 -1 WITHSCORES");
    EXPECT_BULK(c, "inf", "ZSCORE z a");
    EXPECT_BULK(c, "-inf", "ZSCORE z b");
    EXPECT_BULK(c, "1e+20", "ZSCORE z f");
    EXPECT_BULK(c, "3", "ZSCORE z i");
    /* ZINCRBY: creates, adds, formats */
    EXPECT_BULK(c, "2.5", "ZINCRBY new 2.5 m");
    EXPECT_BULK(c, "0", "ZINCRBY new -2.5 m");
    EXPECT_BULK(c, "-1", "ZINCRBY new -1 m");
    EXPECT_BULK(c, "0.5", "ZINCRBY z 0.2 n");
    EXPECT_BULK(c, "0.30000000000000004", "ZINCRBY z 0.2 g");
    EXPECT_BULK(c, "-inf", "ZINCRBY z 1 b");
    EXPECT_BULK(c, "inf", "ZINCRBY z inf a");
    EXPECT_BULK(c, "1e+20", "ZINCRBY z 1 f"); /* below the precision */
    EXPECT_INT(c, 1, "ZADD big 1e308 x");
    EXPECT_BULK(c, "inf", "ZINCRBY big 1e308 x"); /* overflow to inf is allowed */
    /* NaN results are refused and change nothing */
    EXPECT_ERR(c, E_NAN, "ZINCRBY z -inf c");
    EXPECT_ERR(c, E_NAN, "ZADD z INCR -inf a");
    EXPECT_ERR(c, E_NAN, "ZINCRBY big -inf x");
    EXPECT_BULK(c, "inf", "ZSCORE z c");
    EXPECT_BULK(c, "inf", "ZSCORE big x");
    /* not floats */
    static const char *const bad[] = {"abc", "nan", "NaN", "-nan", "1x", "1e400", "--1", "1.5.5", "inf1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_ERR(c, E_FLOAT, "ZADD z %s x", bad[i]);
        EXPECT_ERR(c, E_FLOAT, "ZINCRBY z %s a", bad[i]);
        EXPECT_ERR(c, E_FLOAT, "ZADD z INCR %s a", bad[i]);
        EXPECT_ERR(c, E_FLOAT, "ZINCRBY fresh %s a", bad[i]);
    }
    EXPECT_ERR(c, E_FLOAT, "ZADD z %s x", " 1");
    EXPECT_ERR(c, E_FLOAT, "ZADD z %s x", "1 ");
    EXPECT_NIL(c, "ZSCORE z x");
    EXPECT_INT(c, 0, "EXISTS fresh");
    EXPECT_INT(c, 13, "ZCARD z");
    /* -0 equals 0: ties with 0 are ordered by member. Redis 7.0 prints -0 as "0" in a small
     * (listpack) zset and as "-0" in a large (skiplist) one, so either text is accepted. */
    EXPECT_INT(c, 3, "ZADD zero -0 n0 0 a0 0 z0");
    redisReply *r = CMD(c, "ZSCORE zero n0");
    if (!st_reply_is_bulk(r, "0") && !st_reply_is_bulk(r, "-0"))
        fail_reply(__FILE__, __LINE__, "ZSCORE zero n0", r, "want 0 or -0");
    freeReplyObject(r);
    EXPECT_ARR(c, A("a0", "n0", "z0"), "ZRANGEBYSCORE zero 0 0");
    EXPECT_ARR(c, A("a0", "n0", "z0"), "ZRANGEBYSCORE zero -0 -0");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE zero (0 +inf");
    EXPECT_INT(c, 3, "ZCOUNT zero -0 0");
    EXPECT_INT(c, 1, "ZRANK zero n0");
}

/* ---- ties and binary members ----------------------------------------------------------------------------- */

static void test_ties_and_binary_members(void **state) {
    redisContext *c = *state;
    /* equal scores: byte order of the members; then scores */
    EXPECT_INT(c, 6, "ZADD t 1 b 1 a 1 c 0 z 2 a 1 B 1 ab"); /* a twice: counted once, 2 wins */
    EXPECT_ARR(c, A("z", "B", "ab", "b", "c", "a"), "ZRANGE t 0 -1");
    EXPECT_ARR(c, A("a", "c", "b", "ab", "B", "z"), "ZREVRANGE t 0 -1");
    EXPECT_INT(c, 1, "ZRANK t B");
    EXPECT_INT(c, 1, "ZREVRANK t c");
    /* binary members (%b): NUL, CR LF, 0xff, the empty member, a space */
    static const char *const mb[] = {"", "\0", "\r\n", "a", "a\0b", "a b", "\xff", "\x80z"};
    static const size_t ml[] = {0, 1, 2, 1, 3, 3, 1, 2};
    enum { NB = 8 };
    for (size_t i = NB; i-- > 0;) EXPECT_INT(c, 1, "ZADD bin 0 %b", mb[i], ml[i]);
    EXPECT_INT(c, 0, "ZADD bin 0 %b", "a\0b", (size_t)3);
    EXPECT_INT(c, NB, "ZCARD bin");
    /* byte order: unsigned bytes, a prefix first */
    static const char *const order[] = {"", "\0", "\r\n", "a", "a\0b", "a b", "\x80z", "\xff"};
    static const size_t orderl[] = {0, 1, 2, 1, 3, 3, 2, 1};
    redisReply *r = CMD(c, "ZRANGE bin 0 -1");
    check_arr_b(r, __FILE__, __LINE__, NB, order, orderl, "ZRANGE bin 0 -1");
    freeReplyObject(r);
    r = CMD(c, "ZRANGEBYLEX bin - +");
    check_arr_b(r, __FILE__, __LINE__, NB, order, orderl, "ZRANGEBYLEX bin - +");
    freeReplyObject(r);
    r = CMD(c, "ZRANGEBYLEX bin [a (b");
    check_arr_b(r, __FILE__, __LINE__, 3, order + 3, orderl + 3, "ZRANGEBYLEX bin [a (b");
    freeReplyObject(r);
    r = CMD(c, "ZRANGEBYLEX bin (%b [%b", "a\0b", (size_t)3, "\x80z", (size_t)2);
    check_arr_b(r, __FILE__, __LINE__, 2, order + 5, orderl + 5, "ZRANGEBYLEX bin (a\\0b [\\x80z");
    freeReplyObject(r);
    EXPECT_INT(c, 3, "ZLEXCOUNT bin [ (a"); /* "[" alone: from the empty member, inclusive */
    EXPECT_INT(c, 1, "ZLEXCOUNT bin [%b [%b", "\0", (size_t)1, "\0", (size_t)1);
    EXPECT_INT(c, 1, "ZRANK bin %b", "\0", (size_t)1);
    EXPECT_INT(c, 0, "ZRANK bin %b", "", (size_t)0);
    EXPECT_INT(c, 0, "ZREVRANK bin %b", "\xff", (size_t)1);
    EXPECT_INT(c, 1, "ZADD bin CH 9 %b", "\r\n", (size_t)2);
    EXPECT_INT(c, 0, "ZADD bin CH 9 %b", "\r\n", (size_t)2);
    EXPECT_BULK(c, "9", "ZSCORE bin %b", "\r\n", (size_t)2);
    EXPECT_BULK(c, "10.5", "ZINCRBY bin 1.5 %b", "\r\n", (size_t)2);
    EXPECT_NIL(c, "ZSCORE bin %b", "a\0c", (size_t)3);
    r = CMD(c, "ZRANGE bin -1 -1 WITHSCORES");
    check_arr_b(r, __FILE__, __LINE__, 2, (const char *const[]){"\r\n", "10.5"}, (const size_t[]){2, 4},
                "ZRANGE bin -1 -1 WITHSCORES");
    freeReplyObject(r);
    EXPECT_INT(c, 2, "ZREM bin %b %b", "a\0b", (size_t)3, "", (size_t)0);
    EXPECT_NIL(c, "ZSCORE bin %b", "", (size_t)0);
    EXPECT_BULK(c, "0", "ZSCORE bin a");
    EXPECT_INT(c, NB - 2, "ZCARD bin");
    /* binary keys */
    EXPECT_INT(c, 1, "ZADD %b 1 m", "k\0ey", (size_t)4);
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_BULK(c, "1", "ZSCORE %b m", "k\0ey", (size_t)4);
}

/* ---- ZMSCORE, ZRANK, ZREVRANK ------------------------------------------------------------------------------ */

static void test_zmscore_zrank(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5.5 e");
    EXPECT_ARR(c, A("1", NULL, "5.5"), "ZMSCORE z a x e");
    EXPECT_ARR(c, A("2", "2"), "ZMSCORE z b b");
    EXPECT_ARR(c, A(NULL, NULL), "ZMSCORE missing a b");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 0, "ZRANK z a");
    EXPECT_INT(c, 4, "ZRANK z e");
    EXPECT_INT(c, 2, "ZRANK z c");
    EXPECT_NIL(c, "ZRANK z x");
    EXPECT_NIL(c, "ZRANK missing x");
    EXPECT_INT(c, 4, "ZREVRANK z a");
    EXPECT_INT(c, 0, "ZREVRANK z e");
    EXPECT_NIL(c, "ZREVRANK z x");
    EXPECT_NIL(c, "ZREVRANK missing a");
    /* ranks follow updates */
    EXPECT_INT(c, 0, "ZADD z 10 a");
    EXPECT_INT(c, 4, "ZRANK z a");
    EXPECT_INT(c, 0, "ZRANK z b");
    EXPECT_INT(c, 0, "ZREVRANK z a");
    /* Redis 7.0 has no WITHSCORE for ZRANK */
    EXPECT_ERR(c, "ERR wrong number of arguments for 'zrank' command", "ZRANK z a WITHSCORE");
}

/* ---- ZRANGE by index, ZREVRANGE --------------------------------------------------------------------------- */

static void test_zrange_by_index(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    EXPECT_ARR(c, A("a", "b", "c", "d", "e"), "ZRANGE z 0 -1");
    EXPECT_ARR(c, A("b", "c", "d"), "ZRANGE z 1 3");
    EXPECT_ARR(c, A("d", "e"), "ZRANGE z -2 -1");
    EXPECT_ARR(c, A("a", "b"), "ZRANGE z -100 1");
    EXPECT_ARR(c, A("e"), "ZRANGE z 4 100");
    EXPECT_ARR(c, A("e"), "ZRANGE z -1 -1");
    EXPECT_ARR(c, A("a", "b", "c", "d", "e"), "ZRANGE z -100 100");
    EXPECT_EMPTY(c, "ZRANGE z 3 1");
    EXPECT_EMPTY(c, "ZRANGE z 5 10");
    EXPECT_EMPTY(c, "ZRANGE z -1 -2");
    EXPECT_EMPTY(c, "ZRANGE z -100 -6");
    EXPECT_EMPTY(c, "ZRANGE missing 0 -1");
    EXPECT_EMPTY(c, "ZRANGE missing 0 -1 WITHSCORES");
    EXPECT_ARR(c, A("a", "1"), "ZRANGE z 0 0 WITHSCORES");
    EXPECT_ARR(c, A("c", "3", "d", "4"), "ZRANGE z 2 3 withscores");
    /* REV counts from the highest */
    EXPECT_ARR(c, A("e", "d"), "ZRANGE z 0 1 REV");
    EXPECT_ARR(c, A("b", "2", "a", "1"), "ZRANGE z -2 -1 REV WITHSCORES");
    EXPECT_ARR(c, A("e", "d", "c", "b", "a"), "ZREVRANGE z 0 -1");
    EXPECT_ARR(c, A("d", "4", "c", "3"), "ZREVRANGE z 1 2 WITHSCORES");
    EXPECT_ARR(c, A("a"), "ZREVRANGE z -1 100");
    EXPECT_EMPTY(c, "ZREVRANGE z 2 1");
    EXPECT_EMPTY(c, "ZREVRANGE missing 0 -1");
}

/* ---- BYSCORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZCOUNT --------------------------------------------------------- */

static void test_zrange_by_score(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 7, "ZADD z -inf ninf 1 a 2 b 2 c 3.5 d 5 e +inf pinf");
    EXPECT_ARR(c, A("ninf", "a", "b", "c", "d", "e", "pinf"), "ZRANGEBYSCORE z -inf +inf");
    EXPECT_ARR(c, A("ninf", "a", "b", "c", "d", "e", "pinf"), "ZRANGEBYSCORE z -inf inf");
    EXPECT_ARR(c, A("b", "2", "c", "2", "d", "3.5"), "ZRANGEBYSCORE z 2 3.5 WITHSCORES");
    EXPECT_ARR(c, A("d"), "ZRANGEBYSCORE z (2 3.5");
    EXPECT_ARR(c, A("b", "c"), "ZRANGEBYSCORE z (1.5 (3.5");
    EXPECT_ARR(c, A("a", "b", "c", "d", "e"), "ZRANGEBYSCORE z (-inf (+inf");
    EXPECT_ARR(c, A("ninf", "-inf"), "ZRANGEBYSCORE z -inf -inf WITHSCORES");
    EXPECT_ARR(c, A("pinf", "inf"), "ZRANGEBYSCORE z (5 +inf WITHSCORES");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z 2 (2");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z (2 (2");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z 5 2");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z 5.5 6");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE missing -inf +inf");
    /* LIMIT offset count: a negative count means all the rest, a negative offset nothing */
    EXPECT_ARR(c, A("b", "c", "d"), "ZRANGEBYSCORE z -inf +inf LIMIT 2 3");
    EXPECT_ARR(c, A("b", "2", "c", "2"), "ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 2 2");
    EXPECT_ARR(c, A("b", "c", "d", "e", "pinf"), "ZRANGEBYSCORE z -inf +inf LIMIT 2 -1");
    EXPECT_ARR(c, A("a", "b", "c", "d", "e", "pinf"), "ZRANGEBYSCORE z 1 inf LIMIT 0 -5");
    EXPECT_ARR(c, A("pinf"), "ZRANGEBYSCORE z -inf +inf LIMIT 6 10");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z -inf +inf LIMIT 0 0");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z -inf +inf LIMIT 7 1");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE z -inf +inf LIMIT -1 2");
    /* ZREVRANGEBYSCORE takes max then min */
    EXPECT_ARR(c, A("c", "b", "a"), "ZREVRANGEBYSCORE z 2 1");
    EXPECT_ARR(c, A("c", "b"), "ZREVRANGEBYSCORE z (3.5 (1");
    EXPECT_ARR(c, A("e", "5", "d", "3.5"), "ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2 WITHSCORES");
    EXPECT_ARR(c, A("e", "d", "c", "b", "a", "ninf"), "ZREVRANGEBYSCORE z (+inf -inf LIMIT 0 -1");
    EXPECT_EMPTY(c, "ZREVRANGEBYSCORE z 1 2");
    /* ZRANGE ... BYSCORE [REV] */
    EXPECT_ARR(c, A("b", "c", "d", "e"), "ZRANGE z (1 5 BYSCORE");
    EXPECT_ARR(c, A("d", "3.5", "c", "2"), "ZRANGE z 5 (1 BYSCORE REV LIMIT 1 2 WITHSCORES");
    EXPECT_ARR(c, A("pinf", "inf", "e", "5"), "ZRANGE z +inf -inf BYSCORE REV LIMIT 0 2 WITHSCORES");
    EXPECT_ARR(c, A("c", "d"), "ZRANGE z -inf +inf BYSCORE LIMIT 3 2");
    EXPECT_EMPTY(c, "ZRANGE z 1 5 BYSCORE REV");
    EXPECT_EMPTY(c, "ZRANGE z 5 1 BYSCORE");
    EXPECT_EMPTY(c, "ZRANGE z -inf +inf BYSCORE LIMIT 1 0");
    /* ZCOUNT */
    EXPECT_INT(c, 7, "ZCOUNT z -inf +inf");
    EXPECT_INT(c, 3, "ZCOUNT z (1 (5");
    EXPECT_INT(c, 2, "ZCOUNT z 2 2");
    EXPECT_INT(c, 0, "ZCOUNT z 5 1");
    EXPECT_INT(c, 5, "ZCOUNT z (1.5 +inf");
    EXPECT_INT(c, 4, "ZCOUNT z -inf (3.5");
    EXPECT_INT(c, 0, "ZCOUNT missing -inf +inf");
    /* bounds that are not floats */
    static const char *const bad[] = {"abc", "(abc", "nan", "(nan", "1x", "((1", "[1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_ERR(c, E_MINMAX, "ZRANGEBYSCORE z %s 1", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZRANGEBYSCORE z 1 %s", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZREVRANGEBYSCORE z %s 1", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZRANGE z %s 1 BYSCORE", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZCOUNT z 1 %s", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZREMRANGEBYSCORE z %s 1", bad[i]);
        EXPECT_ERR(c, E_MINMAX, "ZRANGEBYSCORE missing %s 1", bad[i]);
    }
    EXPECT_INT(c, 7, "ZCARD z");
}

/* ---- BYLEX, ZRANGEBYLEX, ZREVRANGEBYLEX, ZLEXCOUNT ------------------------------------------------------------ */

static void test_zrange_by_lex(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 6, "ZADD l 0 a 0 b 0 c 0 d 0 e 0 ab");
    EXPECT_ARR(c, A("a", "ab", "b", "c", "d", "e"), "ZRANGEBYLEX l - +");
    EXPECT_ARR(c, A("a", "ab", "b"), "ZRANGEBYLEX l [a (c");
    EXPECT_ARR(c, A("ab", "b", "c"), "ZRANGEBYLEX l (a [c");
    EXPECT_ARR(c, A("b"), "ZRANGEBYLEX l [b [b");
    EXPECT_ARR(c, A("a", "ab"), "ZRANGEBYLEX l - (b");
    EXPECT_ARR(c, A("d", "e"), "ZRANGEBYLEX l (c +");
    EXPECT_ARR(c, A("ab", "b", "c", "d", "e"), "ZRANGEBYLEX l [aa +");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l (b (b");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l + -");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l [e [a");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l (e +");
    EXPECT_EMPTY(c, "ZRANGEBYLEX missing - +");
    EXPECT_ARR(c, A("ab", "b"), "ZRANGEBYLEX l - + LIMIT 1 2");
    EXPECT_ARR(c, A("ab", "b", "c", "d", "e"), "ZRANGEBYLEX l - + LIMIT 1 -1");
    EXPECT_ARR(c, A("e"), "ZRANGEBYLEX l - + LIMIT 5 10");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l - + LIMIT 6 10");
    EXPECT_EMPTY(c, "ZRANGEBYLEX l - + LIMIT -1 10");
    EXPECT_ARR(c, A("e", "d", "c", "b", "ab", "a"), "ZREVRANGEBYLEX l + -");
    EXPECT_ARR(c, A("c", "b", "ab"), "ZREVRANGEBYLEX l [c (a");
    EXPECT_ARR(c, A("d", "c"), "ZREVRANGEBYLEX l + - LIMIT 1 2");
    EXPECT_EMPTY(c, "ZREVRANGEBYLEX l - +");
    EXPECT_ARR(c, A("a", "ab", "b"), "ZRANGE l [a (c BYLEX");
    EXPECT_ARR(c, A("c", "b"), "ZRANGE l [c - BYLEX REV LIMIT 0 2");
    EXPECT_ARR(c, A("d", "c"), "ZRANGE l [e [b BYLEX REV LIMIT 1 2");
    EXPECT_EMPTY(c, "ZRANGE l [a [c BYLEX REV");
    EXPECT_INT(c, 6, "ZLEXCOUNT l - +");
    EXPECT_INT(c, 2, "ZLEXCOUNT l [a (b");
    EXPECT_INT(c, 0, "ZLEXCOUNT l (e +");
    EXPECT_INT(c, 0, "ZLEXCOUNT l + -");
    EXPECT_INT(c, 0, "ZLEXCOUNT missing - +");
    /* bounds must start with ( or [, or be - or + */
    static const char *const bad[] = {"a", "", "-a", "+a", "{a", "b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_ERR(c, E_LEX, "ZRANGEBYLEX l %s +", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZRANGEBYLEX l - %s", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZREVRANGEBYLEX l %s -", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZRANGE l %s + BYLEX", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZLEXCOUNT l %s +", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZREMRANGEBYLEX l - %s", bad[i]);
        EXPECT_ERR(c, E_LEX, "ZRANGEBYLEX missing %s +", bad[i]);
    }
    EXPECT_INT(c, 6, "ZCARD l");
}

/* ---- ZRANGE option errors --------------------------------------------------------------------------------- */

static void test_zrange_errors(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "ZADD z 1 a 2 b 3 c");
    EXPECT_ERR(c, E_LIMIT, "ZRANGE z 0 -1 LIMIT 0 1");
    EXPECT_ERR(c, E_LIMIT, "ZRANGE missing 0 -1 LIMIT 0 1");
    EXPECT_ERR(c, E_LIMIT, "ZRANGE z 0 -1 REV LIMIT 0 1 WITHSCORES");
    EXPECT_ERR(c, E_WITHSCORES_LEX, "ZRANGE z [a [b BYLEX WITHSCORES");
    EXPECT_ERR(c, E_WITHSCORES_LEX, "ZRANGE z a b BYLEX WITHSCORES");
    EXPECT_ERR(c, E_WITHSCORES_LEX, "ZRANGEBYLEX z - + WITHSCORES");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGE z 0 1 BYSCORE BYLEX");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGE z 0 -1 foo");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGE z 0 -1 LIMIT 1");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGE z 0 -1 BYSCORE LIMIT 1");
    EXPECT_ERR(c, E_NOTINT, "ZRANGE z a b");
    EXPECT_ERR(c, E_NOTINT, "ZRANGE z 0 1.5");
    EXPECT_ERR(c, E_NOTINT, "ZRANGE z 0 -1 BYSCORE LIMIT a b");
    EXPECT_ERR(c, E_NOTINT, "ZREVRANGE z a b");
    EXPECT_ERR(c, E_SYNTAX, "ZREVRANGE z 0 1 withscore");
    EXPECT_ERR(c, E_SYNTAX, "ZREVRANGE z 0 1 WITHSCORES foo");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGEBYSCORE z -inf +inf LIMIT 1");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGEBYSCORE z -inf +inf foo");
    EXPECT_ERR(c, E_NOTINT, "ZRANGEBYSCORE z -inf +inf LIMIT 0 x");
    EXPECT_ERR(c, E_SYNTAX, "ZRANGEBYLEX z - + LIMIT 1");
    EXPECT_ERR(c, E_SYNTAX, "ZREVRANGEBYSCORE z +inf -inf BYSCORE");
    EXPECT_ARR(c, A("a", "b", "c"), "ZRANGE z 0 -1"); /* nothing changed */
}

/* ---- ZRANGESTORE ------------------------------------------------------------------------------------------ */

static void test_zrangestore(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    EXPECT_INT(c, 2, "ZRANGESTORE dst z 0 1");
    EXPECT_ARR(c, A("a", "1", "b", "2"), "ZRANGE dst 0 -1 WITHSCORES");
    /* overwrites: a zset and a key of another type */
    EXPECT_INT(c, 2, "ZRANGESTORE dst z (1 4 BYSCORE LIMIT 1 2");
    EXPECT_ARR(c, A("c", "3", "d", "4"), "ZRANGE dst 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZRANGESTORE dst z [e [a BYLEX REV LIMIT 0 2");
    EXPECT_ARR(c, A("d", "4", "e", "5"), "ZRANGE dst 0 -1 WITHSCORES");
    EXPECT_INT(c, 3, "ZRANGESTORE dst z 0 2 REV");
    EXPECT_ARR(c, A("c", "3", "d", "4", "e", "5"), "ZRANGE dst 0 -1 WITHSCORES");
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 1, "ZRANGESTORE str z -1 -1");
    EXPECT_STATUS(c, "zset", "TYPE str");
    EXPECT_ARR(c, A("e", "5"), "ZRANGE str 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "SADD set x y");
    EXPECT_INT(c, 5, "ZRANGESTORE set z 0 -1");
    EXPECT_STATUS(c, "zset", "TYPE set");
    /* an empty result deletes the destination */
    EXPECT_INT(c, 0, "ZRANGESTORE dst z 10 20");
    EXPECT_INT(c, 0, "EXISTS dst");
    EXPECT_INT(c, 1, "ZADD dst 1 x");
    EXPECT_INT(c, 0, "ZRANGESTORE dst missing 0 -1");
    EXPECT_INT(c, 0, "EXISTS dst");
    EXPECT_INT(c, 0, "ZRANGESTORE dst z (5 +inf BYSCORE");
    EXPECT_INT(c, 0, "EXISTS dst");
    /* the source may be the destination */
    EXPECT_INT(c, 2, "ZRANGESTORE z z 1 2");
    EXPECT_ARR(c, A("b", "2", "c", "3"), "ZRANGE z 0 -1 WITHSCORES");
    /* errors */
    EXPECT_ERR(c, E_SYNTAX, "ZRANGESTORE dst z 0 1 WITHSCORES");
    EXPECT_ERR(c, E_LIMIT, "ZRANGESTORE dst z 0 -1 LIMIT 0 1");
    EXPECT_OK(c, "SET str2 v");
    EXPECT_ERR(c, WRONGTYPE, "ZRANGESTORE dst str2 0 -1");
    EXPECT_INT(c, 0, "EXISTS dst");
}

/* ---- ZPOPMIN, ZPOPMAX ---------------------------------------------------------------------------------------- */

static void test_zpop(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    EXPECT_ARR(c, A("a", "1"), "ZPOPMIN z");
    EXPECT_ARR(c, A("b", "2", "c", "3"), "ZPOPMIN z 2");
    EXPECT_EMPTY(c, "ZPOPMAX z 0");
    EXPECT_INT(c, 2, "ZCARD z");
    EXPECT_ARR(c, A("e", "5"), "ZPOPMAX z");
    EXPECT_ARR(c, A("d", "4"), "ZPOPMAX z 10"); /* more than there is: all, and the key goes */
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_EMPTY(c, "ZPOPMIN missing");
    EXPECT_EMPTY(c, "ZPOPMIN missing 3");
    EXPECT_EMPTY(c, "ZPOPMAX missing");
    /* high to low for ZPOPMAX with a count */
    EXPECT_INT(c, 4, "ZADD z -inf lo 1.5 x 2.5 y inf hi");
    EXPECT_ARR(c, A("hi", "inf", "y", "2.5", "x", "1.5"), "ZPOPMAX z 3");
    EXPECT_ARR(c, A("lo", "-inf"), "ZPOPMIN z 1");
    EXPECT_INT(c, 0, "EXISTS z");
    /* ties: the lowest (highest) by member order go first; compared as sets */
    EXPECT_INT(c, 5, "ZADD w 1 c 1 a 1 d 1 b 2 e");
    EXPECT_PAIRS_ANY(c, P({"a", "1"}, {"b", "1"}), "ZPOPMIN w 2");
    EXPECT_PAIRS_ANY(c, P({"e", "2"}, {"d", "1"}), "ZPOPMAX w 2");
    EXPECT_ARR(c, A("c", "1"), "ZRANGE w 0 -1 WITHSCORES");
    /* errors */
    EXPECT_ERR(c, E_POSITIVE, "ZPOPMIN w -1");
    EXPECT_ERR(c, E_POSITIVE, "ZPOPMAX w a");
    EXPECT_ERR(c, E_SYNTAX, "ZPOPMIN w 1 2");
    EXPECT_INT(c, 1, "ZCARD w");
}

/* ---- ZMPOP ------------------------------------------------------------------------------------------------- */

static void test_zmpop(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    EXPECT_ZMPOP(c, "z", P({"a", "1"}), "ZMPOP 1 z MIN");
    EXPECT_ZMPOP(c, "z", P({"e", "5"}, {"d", "4"}), "ZMPOP 2 missing z MAX COUNT 2");
    EXPECT_NIL(c, "ZMPOP 1 missing MIN");
    EXPECT_NIL(c, "ZMPOP 2 missing other max count 3");
    EXPECT_INT(c, 2, "ZADD y 10 p 20 q");
    EXPECT_ZMPOP(c, "y", P({"p", "10"}), "ZMPOP 2 y z min"); /* the first non-empty key */
    EXPECT_ZMPOP(c, "z", P({"b", "2"}, {"c", "3"}), "ZMPOP 2 missing z MIN COUNT 10");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_ZMPOP(c, "y", P({"q", "20"}), "ZMPOP 2 z y MAX COUNT 1");
    EXPECT_INT(c, 0, "EXISTS y");
    EXPECT_INT(c, 1, "ZADD z 1 a");
    EXPECT_ERR(c, E_SYNTAX, "ZMPOP 1 z foo");
    EXPECT_ERR(c, E_SYNTAX, "ZMPOP 1 z MIN COUNT 1 COUNT 2");
    EXPECT_ERR(c, E_SYNTAX, "ZMPOP 3 z MIN");
    EXPECT_ERR(c, E_SYNTAX, "ZMPOP 1 z MIN extra");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "ZMPOP 0 z MIN");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "ZMPOP a z MIN");
    EXPECT_ERR(c, "ERR count should be greater than 0", "ZMPOP 1 z MIN COUNT 0");
    EXPECT_ERR(c, "ERR count should be greater than 0", "ZMPOP 1 z MIN COUNT -1");
    EXPECT_ERR(c, "ERR count should be greater than 0", "ZMPOP 1 z MIN COUNT a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'zmpop' command", "ZMPOP 1 z");
    EXPECT_INT(c, 1, "ZCARD z");
}

/* ---- ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZREMRANGEBYLEX ----------------------------------------------------------- */

static void test_zremrange(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1 a 2 b 3 c 4 d 5 e");
    EXPECT_INT(c, 3, "ZREMRANGEBYRANK z 1 -2");
    EXPECT_ARR(c, A("a", "e"), "ZRANGE z 0 -1");
    EXPECT_INT(c, 0, "ZREMRANGEBYRANK z 5 10");
    EXPECT_INT(c, 0, "ZREMRANGEBYRANK z 1 0");
    EXPECT_INT(c, 1, "ZREMRANGEBYRANK z -100 0");
    EXPECT_INT(c, 1, "ZREMRANGEBYRANK z -1 -1");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_INT(c, 7, "ZADD z -inf n 1 a 2 b 3 c 4 d 5 e inf p");
    EXPECT_INT(c, 1, "ZREMRANGEBYSCORE z (1 (3");
    EXPECT_INT(c, 0, "ZREMRANGEBYSCORE z 10 20");
    EXPECT_INT(c, 0, "ZREMRANGEBYSCORE z 3 1");
    EXPECT_INT(c, 2, "ZREMRANGEBYSCORE z -inf 1");
    EXPECT_INT(c, 2, "ZREMRANGEBYSCORE z (4 +inf");
    EXPECT_ARR(c, A("c", "3", "d", "4"), "ZRANGE z 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZREMRANGEBYSCORE z -inf +inf");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_INT(c, 6, "ZADD l 0 a 0 b 0 c 0 d 0 e 0 ab");
    EXPECT_INT(c, 2, "ZREMRANGEBYLEX l (a [b");
    EXPECT_ARR(c, A("a", "c", "d", "e"), "ZRANGE l 0 -1");
    EXPECT_INT(c, 0, "ZREMRANGEBYLEX l (e +");
    EXPECT_INT(c, 2, "ZREMRANGEBYLEX l [d +");
    EXPECT_INT(c, 2, "ZREMRANGEBYLEX l - +");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_INT(c, 0, "ZREMRANGEBYRANK missing 0 -1");
    EXPECT_INT(c, 0, "ZREMRANGEBYSCORE missing -inf +inf");
    EXPECT_INT(c, 0, "ZREMRANGEBYLEX missing - +");
    EXPECT_INT(c, 1, "ZADD z 1 a");
    EXPECT_ERR(c, E_NOTINT, "ZREMRANGEBYRANK z a b");
    EXPECT_ERR(c, E_MINMAX, "ZREMRANGEBYSCORE z a 1");
    EXPECT_ERR(c, E_LEX, "ZREMRANGEBYLEX z a b");
    EXPECT_INT(c, 1, "ZCARD z");
}

/* ---- ZUNIONSTORE, ZINTERSTORE ------------------------------------------------------------------------------- */

static void test_zunionstore_zinterstore(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "ZADD z1 1 a 2 b 3 c");
    EXPECT_INT(c, 3, "ZADD z2 10 b 20 c 30 d");
    EXPECT_INT(c, 3, "SADD s c d e"); /* a plain set: every member scores 1 */
    EXPECT_INT(c, 4, "ZUNIONSTORE out 2 z1 z2");
    EXPECT_ARR(c, A("a", "1", "b", "12", "c", "23", "d", "30"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 5, "ZUNIONSTORE out 3 z1 z2 s WEIGHTS 1 2 3");
    EXPECT_ARR(c, A("a", "1", "e", "3", "b", "22", "c", "46", "d", "63"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 4, "ZUNIONSTORE out 2 z1 z2 AGGREGATE MIN");
    EXPECT_ARR(c, A("a", "1", "b", "2", "c", "3", "d", "30"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 4, "ZUNIONSTORE out 2 z1 z2 aggregate max weights 1 0.5");
    EXPECT_ARR(c, A("a", "1", "b", "5", "c", "10", "d", "15"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 1, "ZINTERSTORE out 3 z1 z2 s");
    EXPECT_ARR(c, A("c", "24"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZINTERSTORE out 2 z1 z2 AGGREGATE MIN");
    EXPECT_ARR(c, A("b", "2", "c", "3"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZINTERSTORE out 2 z1 z2 AGGREGATE MAX WEIGHTS 2 -1");
    EXPECT_ARR(c, A("b", "4", "c", "6"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZINTERSTORE out 2 s z2 AGGREGATE SUM");
    EXPECT_ARR(c, A("c", "21", "d", "31"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 3, "ZUNIONSTORE out 1 s WEIGHTS 2.5");
    EXPECT_ARR(c, A("c", "2.5", "d", "2.5", "e", "2.5"), "ZRANGE out 0 -1 WITHSCORES");
    /* an integer set as input */
    EXPECT_INT(c, 3, "SADD is 1 2 3");
    EXPECT_INT(c, 4, "ZADD zi 5 1 6 2 7 4 8 x");
    EXPECT_INT(c, 2, "ZINTERSTORE out 2 is zi");
    EXPECT_ARR(c, A("1", "6", "2", "7"), "ZRANGE out 0 -1 WITHSCORES");
    /* inf * 0 and inf + -inf are NaN: Redis stores 0 */
    EXPECT_INT(c, 1, "ZADD i inf x");
    EXPECT_INT(c, 1, "ZUNIONSTORE out 1 i WEIGHTS 0");
    EXPECT_ARR(c, A("x", "0"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 3, "ZINTERSTORE out 2 z1 z1 WEIGHTS inf -inf");
    EXPECT_ARR(c, A("a", "0", "b", "0", "c", "0"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_INT(c, 1, "ZUNIONSTORE out 2 i i WEIGHTS 1 -1");
    EXPECT_ARR(c, A("x", "0"), "ZRANGE out 0 -1 WITHSCORES");
    /* destinations: overwritten whatever they hold, deleted when the result is empty */
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 3, "ZUNIONSTORE str 1 z1");
    EXPECT_STATUS(c, "zset", "TYPE str");
    EXPECT_ARR(c, A("a", "b", "c"), "ZRANGE str 0 -1");
    EXPECT_INT(c, 0, "ZINTERSTORE out 2 z1 missing");
    EXPECT_INT(c, 0, "EXISTS out");
    EXPECT_INT(c, 1, "ZADD out 1 keep");
    EXPECT_INT(c, 0, "ZUNIONSTORE out 2 missing missing2");
    EXPECT_INT(c, 0, "EXISTS out");
    EXPECT_INT(c, 4, "ZUNIONSTORE z1 2 z1 z2"); /* a source as the destination */
    EXPECT_ARR(c, A("a", "1", "b", "12", "c", "23", "d", "30"), "ZRANGE z1 0 -1 WITHSCORES");
    /* errors leave the destination alone */
    EXPECT_INT(c, 1, "ZADD dst 1 keep");
    EXPECT_OK(c, "SET str2 v");
    EXPECT_ERR(c, WRONGTYPE, "ZUNIONSTORE dst 2 z1 str2");
    EXPECT_ERR(c, WRONGTYPE, "ZINTERSTORE dst 2 missing str2");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zunionstore' command", "ZUNIONSTORE dst 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zinterstore' command", "ZINTERSTORE dst -1 z1");
    EXPECT_ERR(c, E_NOTINT, "ZUNIONSTORE dst a z1");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 2 z1");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 1 z1 WEIGHTS");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 1 z1 WEIGHTS 1 2");
    EXPECT_ERR(c, "ERR weight value is not a float", "ZUNIONSTORE dst 1 z1 WEIGHTS abc");
    EXPECT_ERR(c, "ERR weight value is not a float", "ZINTERSTORE dst 2 z1 z2 WEIGHTS 1 nan");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 1 z1 AGGREGATE avg");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 1 z1 AGGREGATE");
    EXPECT_ERR(c, E_SYNTAX, "ZUNIONSTORE dst 1 z1 WITHSCORES");
    EXPECT_ARR(c, A("keep", "1"), "ZRANGE dst 0 -1 WITHSCORES");
}

/* ---- ZUNION, ZINTER, ZDIFF, ZDIFFSTORE, ZINTERCARD ---------------------------------------------------------- */

static void test_zunion_zinter_zdiff(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "ZADD z1 1 a 2 b 3 c");
    EXPECT_INT(c, 3, "ZADD z2 10 b 20 c 30 d");
    EXPECT_INT(c, 3, "SADD s c d e");
    EXPECT_ARR(c, A("a", "1", "b", "12", "c", "23", "d", "30"), "ZUNION 2 z1 z2 WITHSCORES");
    EXPECT_ARR(c, A("a", "b", "c", "d"), "ZUNION 2 z1 z2 AGGREGATE MAX");
    EXPECT_ARR(c, A("a", "1", "c", "1", "d", "1", "e", "1", "b", "2"), "ZUNION 3 z1 z2 s AGGREGATE MIN WITHSCORES");
    EXPECT_ARR(c, A("a", "1", "b", "2", "c", "3"), "ZUNION 2 z1 missing WITHSCORES");
    EXPECT_EMPTY(c, "ZUNION 1 missing");
    EXPECT_ARR(c, A("b", "12", "c", "23"), "ZINTER 2 z1 z2 WITHSCORES");
    EXPECT_ARR(c, A("b", "14", "c", "26"), "ZINTER 2 z1 z2 WEIGHTS 2 1 WITHSCORES");
    EXPECT_ARR(c, A("c", "24"), "ZINTER 3 z1 z2 s WITHSCORES");
    EXPECT_ARR(c, A("c", "d"), "ZINTER 2 s z2");
    EXPECT_EMPTY(c, "ZINTER 2 z1 missing");
    EXPECT_ARR(c, A("a", "1"), "ZDIFF 2 z1 z2 WITHSCORES");
    EXPECT_ARR(c, A("a", "b"), "ZDIFF 2 z1 s");
    EXPECT_ARR(c, A("e", "1"), "ZDIFF 3 s z1 z2 WITHSCORES");
    EXPECT_ARR(c, A("a", "b", "c"), "ZDIFF 2 z1 missing");
    EXPECT_EMPTY(c, "ZDIFF 2 missing z1");
    EXPECT_EMPTY(c, "ZDIFF 1 missing");
    EXPECT_EMPTY(c, "ZDIFF 2 z1 z1");
    /* ZDIFFSTORE */
    EXPECT_INT(c, 1, "ZDIFFSTORE out 2 z1 z2");
    EXPECT_ARR(c, A("a", "1"), "ZRANGE out 0 -1 WITHSCORES");
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 1, "ZDIFFSTORE str 2 z2 s");
    EXPECT_ARR(c, A("b", "10"), "ZRANGE str 0 -1 WITHSCORES");
    EXPECT_INT(c, 0, "ZDIFFSTORE out 2 z1 z1");
    EXPECT_INT(c, 0, "EXISTS out");
    EXPECT_INT(c, 1, "ZDIFFSTORE z1 2 z1 z2"); /* a source as the destination */
    EXPECT_ARR(c, A("a", "1"), "ZRANGE z1 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "ZADD z1 2 b 3 c");
    /* ZINTERCARD */
    EXPECT_INT(c, 2, "ZINTERCARD 2 z1 z2");
    EXPECT_INT(c, 1, "ZINTERCARD 2 z1 z2 LIMIT 1");
    EXPECT_INT(c, 2, "ZINTERCARD 2 z1 z2 LIMIT 0");
    EXPECT_INT(c, 2, "ZINTERCARD 2 z1 z2 LIMIT 100");
    EXPECT_INT(c, 1, "ZINTERCARD 2 z1 s");
    EXPECT_INT(c, 3, "ZINTERCARD 1 z1");
    EXPECT_INT(c, 0, "ZINTERCARD 2 z1 missing");
    /* errors */
    EXPECT_OK(c, "SET str2 v");
    EXPECT_ERR(c, WRONGTYPE, "ZUNION 2 z1 str2");
    EXPECT_ERR(c, WRONGTYPE, "ZINTER 2 missing str2");
    EXPECT_ERR(c, WRONGTYPE, "ZDIFF 2 missing str2");
    EXPECT_ERR(c, WRONGTYPE, "ZDIFFSTORE out 2 z1 str2");
    EXPECT_ERR(c, WRONGTYPE, "ZINTERCARD 2 missing str2");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zunion' command", "ZUNION 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zinter' command", "ZINTER 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zdiff' command", "ZDIFF 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zdiffstore' command", "ZDIFFSTORE out 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zintercard' command", "ZINTERCARD 0 z1");
    EXPECT_ERR(c, "ERR at least 1 input key is needed for 'zintercard' command", "ZINTERCARD -1 z1");
    EXPECT_ERR(c, E_SYNTAX, "ZUNION 2 z1 z2 foo");
    EXPECT_ERR(c, E_SYNTAX, "ZUNION 3 z1 z2");
    EXPECT_ERR(c, E_SYNTAX, "ZDIFF 2 z1 z2 WEIGHTS 1 1");
    EXPECT_ERR(c, E_SYNTAX, "ZINTERCARD 2 z1");
    EXPECT_ERR(c, E_SYNTAX, "ZINTERCARD 1 z1 foo");
    EXPECT_ERR(c, "ERR LIMIT can't be negative", "ZINTERCARD 1 z1 LIMIT -1");
    EXPECT_ERR(c, "ERR LIMIT can't be negative", "ZINTERCARD 1 z1 LIMIT a");
    EXPECT_INT(c, 0, "EXISTS out");
}

/* ---- ZRANDMEMBER --------------------------------------------------------------------------------------------- */

/* A ZRANDMEMBER reply of n entries (each followed by its score when withscores), every one a
 * member of want (with its score), distinct when distinct. Returns how many distinct were seen. */
static size_t check_random(const redisReply *r, const char *file, int line, size_t n, bool withscores, bool distinct,
                           size_t nw, const pair *want, const char *what) {
    size_t per = withscores ? 2 : 1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n * per) fail_reply(file, line, what, r, "wrong length");
    char seen[MAX_PAIRS] = {0};
    if (nw > MAX_PAIRS) st_fail_at(file, line, "test bug: %zu pairs", nw);
    size_t uniq = 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *m = r->element[i * per];
        long k = m->type == REDIS_REPLY_STRING ? find_pair(want, nw, m->str, m->len) : -1;
        bool ok = k >= 0 && !(distinct && seen[k]);
        if (ok && withscores) ok = elem_is(r->element[i * per + 1], want[k].s, strlen(want[k].s));
        if (!ok) {
            fail_reply(file, line, what, r, "a non-member, a repeat or a wrong score");
            return uniq;
        }
        if (!seen[k]) uniq++;
        seen[k] = 1;
    }
    return uniq;
}

static void test_zrandmember(void **state) {
    redisContext *c = *state;
    static const pair zp[] = {{"a", "1"}, {"b", "2.5"}, {"c", "-3"}, {"d", "inf"}, {"e", "0"}};
    EXPECT_INT(c, 5, "ZADD z 1 a 2.5 b -3 c inf d 0 e");
    EXPECT_NIL(c, "ZRANDMEMBER missing");
    EXPECT_EMPTY(c, "ZRANDMEMBER missing 5");
    EXPECT_EMPTY(c, "ZRANDMEMBER missing -5 WITHSCORES");
    EXPECT_EMPTY(c, "ZRANDMEMBER z 0");
    EXPECT_EMPTY(c, "ZRANDMEMBER z 0 WITHSCORES");
    for (int i = 0; i < 20; i++) {
        redisReply *r = CMD(c, "ZRANDMEMBER z");
        if (r->type != REDIS_REPLY_STRING || find_pair(zp, 5, r->str, r->len) < 0)
            fail_reply(__FILE__, __LINE__, "ZRANDMEMBER z", r, "not a member");
        freeReplyObject(r);
    }
    redisReply *r = CMD(c, "ZRANDMEMBER z 3");
    check_random(r, __FILE__, __LINE__, 3, false, true, 5, zp, "ZRANDMEMBER z 3");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER z 3 WITHSCORES");
    check_random(r, __FILE__, __LINE__, 3, true, true, 5, zp, "ZRANDMEMBER z 3 WITHSCORES");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER z 10"); /* more than the zset: each member once */
    check_random(r, __FILE__, __LINE__, 5, false, true, 5, zp, "ZRANDMEMBER z 10");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER z 5 withscores");
    check_random(r, __FILE__, __LINE__, 5, true, true, 5, zp, "ZRANDMEMBER z 5 withscores");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER z -7 WITHSCORES"); /* negative: exactly 7, repeats allowed */
    check_random(r, __FILE__, __LINE__, 7, true, false, 5, zp, "ZRANDMEMBER z -7 WITHSCORES");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER z -1000");
    if (check_random(r, __FILE__, __LINE__, 1000, false, false, 5, zp, "ZRANDMEMBER z -1000") != 5)
        ST_FAIL("ZRANDMEMBER z -1000 did not return every one of 5 members");
    freeReplyObject(r);
    /* a larger zset: a count below its size gives distinct members */
    char cmd[400 * 12 + 16];
    int o = snprintf(cmd, sizeof cmd, "ZADD big");
    pair *bp = calloc(300, sizeof *bp);
    char (*names)[8] = calloc(300, 8);
    char (*scores)[8] = calloc(300, 8);
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], 8, "m%d", i);
        snprintf(scores[i], 8, "%d", i % 7);
        bp[i].m = names[i];
        bp[i].s = scores[i];
        o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s %s", scores[i], names[i]);
    }
    EXPECT_INT(c, 300, cmd);
    r = CMD(c, "ZRANDMEMBER big 100 WITHSCORES");
    check_random(r, __FILE__, __LINE__, 100, true, true, 300, bp, "ZRANDMEMBER big 100 WITHSCORES");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER big 290");
    check_random(r, __FILE__, __LINE__, 290, false, true, 300, bp, "ZRANDMEMBER big 290");
    freeReplyObject(r);
    r = CMD(c, "ZRANDMEMBER big -50 WITHSCORES");
    check_random(r, __FILE__, __LINE__, 50, true, false, 300, bp, "ZRANDMEMBER big -50 WITHSCORES");
    freeReplyObject(r);
    free(bp);
    free(names);
    free(scores);
    EXPECT_INT(c, 300, "ZCARD big"); /* nothing removed */
    EXPECT_INT(c, 5, "ZCARD z");
    /* errors */
    EXPECT_ERR(c, E_NOTINT, "ZRANDMEMBER z a");
    EXPECT_ERR(c, E_NOTINT, "ZRANDMEMBER z 1.5");
    EXPECT_ERR(c, E_SYNTAX, "ZRANDMEMBER z 1 foo");
    EXPECT_ERR(c, E_SYNTAX, "ZRANDMEMBER z 1 WITHSCORES foo");
    EXPECT_ERR(c, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
               "ZRANDMEMBER z -9223372036854775808");
    EXPECT_ERR(c, "ERR value is out of range", "ZRANDMEMBER z -9223372036854775807 WITHSCORES");
}

/* ---- ZSCAN ------------------------------------------------------------------------------------------------- */

static void test_zscan(void **state) {
    redisContext *c = *state;
    static const pair zp[] = {{"m1", "1"},  {"m2", "1.5"},  {"m10", "-inf"}, {"m11", "inf"},
                              {"x", "0.10000000000000001"}, {"y", "1e+20"}, {"z", "-2"}, {"m100", "3"}};
    EXPECT_INT(c, 8, "ZADD z 1 m1 1.5 m2 -inf m10 inf m11 0.1 x 1e20 y -2 z 3 m100");
    static const char *const opts[] = {"", "COUNT 1", "COUNT 2", "COUNT 100", "count 3"};
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
        zscan_out o;
        zscan_all(c, __FILE__, __LINE__, "z", opts[i], &o);
        check_zscan(&o, __FILE__, __LINE__, 8, zp, opts[i]);
        zscan_free(&o);
    }
    /* MATCH filters members (not scores) */
    zscan_out o;
    zscan_all(c, __FILE__, __LINE__, "z", "MATCH m1* COUNT 2", &o);
    check_zscan(&o, __FILE__, __LINE__, 4, (const pair[]){{"m1", "1"}, {"m10", "-inf"}, {"m11", "inf"}, {"m100", "3"}},
                "MATCH m1*");
    zscan_free(&o);
    zscan_all(c, __FILE__, __LINE__, "z", "MATCH [xy]", &o);
    check_zscan(&o, __FILE__, __LINE__, 2, (const pair[]){{"x", "0.10000000000000001"}, {"y", "1e+20"}}, "MATCH [xy]");
    zscan_free(&o);
    zscan_all(c, __FILE__, __LINE__, "z", "MATCH 1*", &o);
    check_zscan(&o, __FILE__, __LINE__, 0, zp, "MATCH 1*");
    zscan_free(&o);
    zscan_all(c, __FILE__, __LINE__, "missing", "", &o);
    check_zscan(&o, __FILE__, __LINE__, 0, zp, "ZSCAN missing");
    if (o.calls != 1) ST_FAIL("ZSCAN missing 0 took %d calls", o.calls);
    zscan_free(&o);
    /* 1000 members, small COUNT */
    char cmd[200 * 16 + 16];
    for (int b = 0; b < 1000; b += 200) {
        int n = snprintf(cmd, sizeof cmd, "ZADD k");
        for (int i = b; i < b + 200; i++) n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %d e%d", i % 10, i);
        EXPECT_INT(c, 200, cmd);
    }
    zscan_all(c, __FILE__, __LINE__, "k", "COUNT 10", &o);
    char seen[1000] = {0};
    for (size_t i = 0; i < o.len; i++) {
        int id = -1;
        char tail;
        if (sscanf(o.m[i], "e%d%c", &id, &tail) != 1 || id < 0 || id >= 1000) {
            ST_FAIL("ZSCAN k returned \"%s\"", o.m[i]);
            return;
        }
        char sc[8];
        snprintf(sc, sizeof sc, "%d", id % 10);
        if (strcmp(sc, o.s[i])) ST_FAIL("ZSCAN k: e%d came with score %s, want %s", id, o.s[i], sc);
        seen[id] = 1;
    }
    for (int i = 0; i < 1000; i++)
        if (!seen[i]) ST_FAIL("ZSCAN k COUNT 10: e%d never returned (%zu returned in %d calls)", i, o.len, o.calls);
    zscan_free(&o);
    /* errors */
    EXPECT_ERR(c, "ERR invalid cursor", "ZSCAN z abc");
    EXPECT_ERR(c, E_SYNTAX, "ZSCAN z 0 COUNT 0");
    EXPECT_ERR(c, E_SYNTAX, "ZSCAN z 0 COUNT -1");
    EXPECT_ERR(c, E_NOTINT, "ZSCAN z 0 COUNT a");
    EXPECT_ERR(c, E_SYNTAX, "ZSCAN z 0 foo");
    EXPECT_ERR(c, E_SYNTAX, "ZSCAN z 0 MATCH");
}

/* ---- a 10,000-member zset against a model ---------------------------------------------------------------------- */

enum { NBIG = 10000, BIG_PER_CMD = 10, BIG_BATCH = 100 /* commands in flight */ };

/* The first index of m[0, n) whose score is > x (exclusive) or >= x. */
static size_t lower_idx(const zent *m, size_t n, double x, bool exclusive) {
    size_t i = 0;
    while (i < n && (exclusive ? m[i].score <= x : m[i].score < x)) i++;
    return i;
}

static double big_score(int i) { return (double)((i * 7919) % 4000) / 2.0; }

static void test_large_zset(void **state) {
    redisContext *c = *state;
    zent *m = calloc(NBIG, sizeof *m);
    for (int i = 0; i < NBIG; i++) {
        m[i].score = big_score(i);
        snprintf(m[i].name, sizeof m[i].name, "m%05d", i);
    }
    /* ZADD big s m s m ... (10 pairs each), pipelined 100 commands at a time */
    for (int base = 0; base < NBIG; base += BIG_PER_CMD * BIG_BATCH) {
        int sent = 0;
        for (int i = base; i < base + BIG_PER_CMD * BIG_BATCH && i < NBIG; i += BIG_PER_CMD, sent++) {
            char cmd[BIG_PER_CMD * 40 + 16];
            int o = snprintf(cmd, sizeof cmd, "ZADD big");
            for (int j = i; j < i + BIG_PER_CMD; j++)
                o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %.17g %s", m[j].score, m[j].name);
            if (redisAppendCommand(c, cmd) != REDIS_OK) ST_FAIL("redisAppendCommand: %s", c->errstr);
        }
        for (int k = 0; k < sent; k++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_int(r, __FILE__, __LINE__, BIG_PER_CMD, "ZADD big (pipelined)");
            freeReplyObject(r);
        }
    }
    qsort(m, NBIG, sizeof *m, zent_cmp);
    size_t n = NBIG;
    EXPECT_INT(c, NBIG, "ZCARD big");
    expect_zents(c, __FILE__, __LINE__, m, 100, false, true, "ZRANGE big 0 99 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + 5000, 50, false, true, "ZRANGE big 5000 5049 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + n - 50, 50, false, false, "ZRANGE big -50 -1");
    expect_zents(c, __FILE__, __LINE__, m + n - 20, 20, true, true, "ZREVRANGE big 0 19 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + 7000, 30, true, false, "ZRANGE big -7030 -7001 REV");
    /* BYSCORE with LIMIT in the middle */
    size_t lo = lower_idx(m, n, 500, true);
    expect_zents(c, __FILE__, __LINE__, m + lo + 100, 50, false, true,
                 "ZRANGEBYSCORE big (500 +inf WITHSCORES LIMIT 100 50");
    size_t hi = lower_idx(m, n, 1500, true); /* entries with score <= 1500 end at hi */
    expect_zents(c, __FILE__, __LINE__, m + hi - 10 - 30, 30, true, true,
                 "ZRANGE big 1500 1000 BYSCORE REV LIMIT 10 30 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + lower_idx(m, n, 1234.5, false), 3, false, true,
                 "ZRANGEBYSCORE big 1234.5 +inf WITHSCORES LIMIT 0 3");
    long long cnt = (long long)(lower_idx(m, n, 750, false) - lower_idx(m, n, 250, true));
    EXPECT_INT(c, cnt, "ZCOUNT big (250 (750");
    EXPECT_INT(c, (long long)(lower_idx(m, n, 1999.5, true) - lower_idx(m, n, 0, false)), "ZCOUNT big 0 1999.5");
    /* ranks and scores */
    EXPECT_INT(c, NBIG - 1, "ZRANK big %s", m[n - 1].name);
    EXPECT_INT(c, 0, "ZREVRANK big %s", m[n - 1].name);
    EXPECT_INT(c, 0, "ZRANK big %s", m[0].name);
    EXPECT_INT(c, 4321, "ZRANK big %s", m[4321].name);
    EXPECT_INT(c, NBIG - 1 - 4321, "ZREVRANK big %s", m[4321].name);
    char sc[64];
    fmt_score(m[777].score, sc, sizeof sc);
    EXPECT_BULK(c, sc, "ZSCORE big %s", m[777].name);
    /* ZREMRANGEBYRANK of the middle */
    char gone[16], after[16];
    snprintf(gone, sizeof gone, "%s", m[4500].name);
    snprintf(after, sizeof after, "%s", m[6000].name);
    EXPECT_INT(c, 2000, "ZREMRANGEBYRANK big 4000 5999");
    memmove(m + 4000, m + 6000, (n - 6000) * sizeof *m);
    n -= 2000;
    EXPECT_INT(c, (long long)n, "ZCARD big");
    expect_zents(c, __FILE__, __LINE__, m + 3990, 20, false, true, "ZRANGE big 3990 4009 WITHSCORES");
    EXPECT_INT(c, 4000, "ZRANK big %s", after);
    EXPECT_NIL(c, "ZSCORE big %s", gone);
    EXPECT_NIL(c, "ZRANK big %s", gone);
    EXPECT_INT(c, (long long)n - 1, "ZRANK big %s", m[n - 1].name);
    /* ZREMRANGEBYSCORE at the low end */
    size_t cut = lower_idx(m, n, 10, false);
    EXPECT_INT(c, (long long)cut, "ZREMRANGEBYSCORE big -inf (10");
    memmove(m, m + cut, (n - cut) * sizeof *m);
    n -= cut;
    expect_zents(c, __FILE__, __LINE__, m, 10, false, true, "ZRANGE big 0 9 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + n - 10, 10, false, true, "ZRANGE big -10 -1 WITHSCORES");
    /* a full ZSCAN sees every remaining member with its score */
    zscan_out o;
    zscan_all(c, __FILE__, __LINE__, "big", "COUNT 500", &o);
    char *seen = calloc(NBIG, 1);
    size_t nseen = 0;
    for (size_t i = 0; i < o.len; i++) {
        int id = -1;
        char tail;
        if (sscanf(o.m[i], "m%d%c", &id, &tail) != 1 || id < 0 || id >= NBIG) ST_FAIL("ZSCAN big: \"%s\"", o.m[i]);
        char want[64];
        fmt_score(big_score(id), want, sizeof want);
        if (strcmp(want, o.s[i])) ST_FAIL("ZSCAN big: %s came with %s, want %s", o.m[i], o.s[i], want);
        if (!seen[id]) nseen++;
        seen[id] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        int id = atoi(m[i].name + 1);
        if (!seen[id]) ST_FAIL("ZSCAN big: %s never returned", m[i].name);
    }
    if (nseen != n) ST_FAIL("ZSCAN big returned %zu distinct members, the zset holds %zu", nseen, n);
    free(seen);
    zscan_free(&o);
    free(m);
}

/* ---- a leaderboard: ZADD random scores, keep the top 100 ------------------------------------------------------- */

enum { LB_PLAYERS = 300, LB_KEEP = 100, LB_ITERS = 2000, LB_BATCH = 100 };

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_leaderboard(void **state) {
    redisContext *c = *state;
    int64_t t0 = st_now_ms();
    double score[LB_PLAYERS];
    bool present[LB_PLAYERS];
    memset(present, 0, sizeof present);
    size_t count = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    long long want_zadd[LB_BATCH], want_rem[LB_BATCH];
    for (int base = 0; base < LB_ITERS; base += LB_BATCH) {
        for (int it = 0; it < LB_BATCH; it++) {
            int p = (int)(rng_next(&rng) % LB_PLAYERS);
            double s = (double)(rng_next(&rng) % 4000) / 4.0;
            want_zadd[it] = present[p] ? 0 : 1;
            if (!present[p]) count++;
            present[p] = true;
            score[p] = s;
            /* ZREMRANGEBYRANK lb 0 -(LB_KEEP+1) drops the lowest beyond the top LB_KEEP */
            want_rem[it] = 0;
            while (count > LB_KEEP) {
                int low = -1;
                char lname[16] = "", pname[16];
                for (int q = 0; q < LB_PLAYERS; q++) {
                    if (!present[q]) continue;
                    snprintf(pname, sizeof pname, "p%03d", q);
                    if (low < 0 || score[q] < score[low] || (score[q] == score[low] && strcmp(pname, lname) < 0)) {
                        low = q;
                        memcpy(lname, pname, sizeof lname);
                    }
                }
                present[low] = false;
                count--;
                want_rem[it]++;
            }
            if (redisAppendCommand(c, "ZADD lb %.17g p%03d", s, p) != REDIS_OK ||
                redisAppendCommand(c, "ZREMRANGEBYRANK lb 0 %d", -(LB_KEEP + 1)) != REDIS_OK)
                ST_FAIL("redisAppendCommand: %s", c->errstr);
        }
        for (int it = 0; it < LB_BATCH; it++) {
            char what[64];
            snprintf(what, sizeof what, "iteration %d: ZADD lb", base + it);
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_int(r, __FILE__, __LINE__, want_zadd[it], what);
            freeReplyObject(r);
            snprintf(what, sizeof what, "iteration %d: ZREMRANGEBYRANK lb", base + it);
            r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_int(r, __FILE__, __LINE__, want_rem[it], what);
            freeReplyObject(r);
        }
        if (st_now_ms() - t0 > 20000) ST_FAIL("the leaderboard loop is too slow (%d iterations)", base);
    }
    zent m[LB_PLAYERS];
    size_t n = 0;
    for (int q = 0; q < LB_PLAYERS; q++)
        if (present[q]) {
            m[n].score = score[q];
            snprintf(m[n].name, sizeof m[n].name, "p%03d", q);
            n++;
        }
    if (n != LB_KEEP) ST_FAIL("test bug: the model holds %zu players", n);
    qsort(m, n, sizeof *m, zent_cmp);
    EXPECT_INT(c, LB_KEEP, "ZCARD lb");
    expect_zents(c, __FILE__, __LINE__, m, n, false, true, "ZRANGE lb 0 -1 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, m + n - 10, 10, true, true, "ZREVRANGE lb 0 9 WITHSCORES");
    EXPECT_INT(c, 0, "ZREVRANK lb %s", m[n - 1].name);
    char sc[64];
    fmt_score(m[0].score, sc, sizeof sc);
    EXPECT_BULK(c, sc, "ZSCORE lb %s", m[0].name);
}

/* ---- big sorted sets and Strata's rank index --------------------------------------------------------------------
 * Strata gives a sorted set of more than 256 members a counted index (net/zrank.h) that ZRANK,
 * ZREVRANK, ZCOUNT, ZRANGE by rank from a far start and BYSCORE with a LIMIT offset over 256 read
 * instead of walking; it is built past 256 members, dropped below 64, and gains a level past 8192
 * (loses it below 2048). These tests take sets across those sizes both ways with every kind of
 * write and compare ranks, ranges and counts with an in-test model (entries sorted in zset order:
 * score, then member bytes). The checks are pipelined (a queue of commands with their expected
 * replies, ZB_BATCH in flight). */

enum { ZB_N = 20000, ZB_PAIRS = 50 /* pairs per loading ZADD */, ZB_BATCH = 500 /* commands in flight */ };

/* A growable model of one sorted set; after zm_sort, e[r] is the member of rank r. */
typedef struct {
    zent *e;
    size_t n, cap;
} zmodel;

static zent *zm_push(zmodel *z, double score, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static zent *zm_push(zmodel *z, double score, const char *fmt, ...) {
    if (z->n == z->cap) {
        z->cap = z->cap ? 2 * z->cap : 1024;
        z->e = realloc(z->e, z->cap * sizeof *z->e);
        if (!z->e) ST_FAIL("out of memory");
    }
    zent *e = &z->e[z->n++];
    e->score = score;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->name, sizeof e->name, fmt, ap);
    va_end(ap);
    return e;
}

static void zm_sort(zmodel *z) { qsort(z->e, z->n, sizeof *z->e, zent_cmp); }

/* Removes ranks [from, to). */
static void zm_cut(zmodel *z, size_t from, size_t to) {
    memmove(z->e + from, z->e + to, (z->n - to) * sizeof *z->e);
    z->n -= to - from;
}

/* Removes the entries whose name was cleared (name[0] == 0), keeping the order. */
static void zm_compact(zmodel *z) {
    size_t k = 0;
    for (size_t i = 0; i < z->n; i++)
        if (z->e[i].name[0]) z->e[k++] = z->e[i];
    z->n = k;
}

static void zm_copy(zmodel *dst, const zmodel *src) {
    dst->n = 0;
    for (size_t i = 0; i < src->n; i++) zm_push(dst, src->e[i].score, "%s", src->e[i].name);
}

static void zm_free(zmodel *z) {
    free(z->e);
    memset(z, 0, sizeof *z);
}

/* The rank of the first entry of m[0, n) whose score is > x (excl) or >= x. */
static size_t zb_lower(const zent *m, size_t n, double x, bool excl) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (excl ? m[mid].score <= x : m[mid].score < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- a queue of commands and the replies they must get -------------------------------------------------------- */

enum { ZQ_INT, ZQ_NIL, ZQ_BULK, ZQ_ENTS };

typedef struct {
    char *cmd; /* a hiredis format without '%': arguments split at spaces */
    int line, kind;
    long long want;  /* ZQ_INT */
    char s[64];      /* ZQ_BULK */
    const zent *e;   /* ZQ_ENTS: e[0, n), reversed when rev, with scores when ws */
    size_t n;
    bool rev, ws;
} zq_item;

typedef struct {
    redisContext *c;
    zq_item *v;
    size_t n, cap;
} zq;

static zq_item *zq_addv(zq *q, int line, int kind, const char *fmt, va_list ap) {
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 256;
        q->v = realloc(q->v, q->cap * sizeof *q->v);
        if (!q->v) ST_FAIL("out of memory");
    }
    zq_item *it = &q->v[q->n++];
    memset(it, 0, sizeof *it);
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    it->cmd = malloc((size_t)len + 1);
    if (!it->cmd) ST_FAIL("out of memory");
    vsnprintf(it->cmd, (size_t)len + 1, fmt, ap);
    it->line = line;
    it->kind = kind;
    return it;
}

static void zq_int(zq *q, int line, long long want, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void zq_int(zq *q, int line, long long want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    zq_addv(q, line, ZQ_INT, fmt, ap)->want = want;
    va_end(ap);
}

static void zq_nil(zq *q, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void zq_nil(zq *q, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    zq_addv(q, line, ZQ_NIL, fmt, ap);
    va_end(ap);
}

static void zq_bulk(zq *q, int line, const char *want, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void zq_bulk(zq *q, int line, const char *want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    zq_item *it = zq_addv(q, line, ZQ_BULK, fmt, ap);
    va_end(ap);
    snprintf(it->s, sizeof it->s, "%s", want);
}

static void zq_ents(zq *q, int line, const zent *e, size_t n, bool rev, bool ws, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void zq_ents(zq *q, int line, const zent *e, size_t n, bool rev, bool ws, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    zq_item *it = zq_addv(q, line, ZQ_ENTS, fmt, ap);
    va_end(ap);
    it->e = e;
    it->n = n;
    it->rev = rev;
    it->ws = ws;
}

/* Sends every queued command (ZB_BATCH at a time) and checks each reply; leaves q empty. The
 * entries ZQ_ENTS items point at must not change before this. */
static void zq_run(zq *q) {
    for (size_t base = 0; base < q->n; base += ZB_BATCH) {
        size_t end = base + ZB_BATCH < q->n ? base + ZB_BATCH : q->n;
        for (size_t i = base; i < end; i++)
            if (redisAppendCommand(q->c, q->v[i].cmd) != REDIS_OK) ST_FAIL("redisAppendCommand: %s", q->c->errstr);
        for (size_t i = base; i < end; i++) {
            const zq_item *it = &q->v[i];
            redisReply *r = st_get_reply(q->c, __FILE__, it->line);
            switch (it->kind) {
            case ZQ_INT: st_check_reply_int(r, __FILE__, it->line, it->want, it->cmd); break;
            case ZQ_NIL:
                if (r->type != REDIS_REPLY_NIL) fail_reply(__FILE__, it->line, it->cmd, r, "want (nil)");
                break;
            case ZQ_BULK: st_check_reply_bulk(r, __FILE__, it->line, it->s, strlen(it->s), it->cmd); break;
            default: check_zents(r, __FILE__, it->line, it->cmd, it->e, it->n, it->rev, it->ws); break;
            }
            freeReplyObject(r);
        }
    }
    for (size_t i = 0; i < q->n; i++) free(q->v[i].cmd);
    q->n = 0;
}

static void zq_free(zq *q) {
    for (size_t i = 0; i < q->n; i++) free(q->v[i].cmd);
    free(q->v);
    memset(q, 0, sizeof *q);
}

/* ZADD key s m s m ... for e[0, n), ZB_PAIRS pairs a command, pipelined; every member must be new. */
static void zb_load(redisContext *c, int line, const char *key, const zent *e, size_t n) {
    zq q = {.c = c};
    char *cmd = malloc(ZB_PAIRS * 48 + 64);
    if (!cmd) ST_FAIL("out of memory");
    for (size_t i = 0; i < n; i += ZB_PAIRS) {
        size_t k = n - i < ZB_PAIRS ? n - i : ZB_PAIRS;
        int o = snprintf(cmd, 64, "ZADD %s", key);
        for (size_t j = i; j < i + k; j++) {
            char sc[40];
            fmt_score(e[j].score, sc, sizeof sc);
            o += snprintf(cmd + o, 48, " %s %s", sc, e[j].name);
        }
        zq_int(&q, line, (long long)k, "%s", cmd);
    }
    free(cmd);
    zq_run(&q);
    zq_free(&q);
}

/* ---- what the model says a query returns ---------------------------------------------------------------------- */

/* ZRANGE start stop over n entries: the ranks [*off, *off + *cnt) (Redis's index rules). */
static void zb_by_index(long long n, long long start, long long stop, size_t *off, size_t *cnt) {
    if (start < 0) start += n;
    if (stop < 0) stop += n;
    if (start < 0) start = 0;
    *off = 0;
    *cnt = 0;
    if (start > stop || start >= n) return;
    if (stop >= n) stop = n - 1;
    *off = (size_t)start;
    *cnt = (size_t)(stop - start + 1);
}

typedef struct {
    double v;
    bool ex;
} zbound;

static void zb_bound_str(zbound b, char *buf, size_t len) {
    char sc[40];
    fmt_score(b.v, sc, sizeof sc);
    snprintf(buf, len, "%s%s", b.ex ? "(" : "", sc);
}

/* lo and hi in ascending order of their values. */
static void zb_order(zbound *lo, zbound *hi) {
    if (lo->v > hi->v) {
        zbound t = *lo;
        *lo = *hi;
        *hi = t;
    }
}

/* Both bounds as command arguments (48 bytes each). */
static void zb_strs(zbound lo, zbound hi, char *a, char *b) {
    zb_bound_str(lo, a, 48);
    zb_bound_str(hi, b, 48);
}

/* The entries of [lo, hi] as ranks [a, b). */
static void zb_score_span(const zent *m, size_t n, zbound lo, zbound hi, size_t *a, size_t *b) {
    *a = zb_lower(m, n, lo.v, lo.ex);
    *b = zb_lower(m, n, hi.v, !hi.ex);
    if (*b < *a) *b = *a;
}

/* BYSCORE [lo, hi] LIMIT off cnt (cnt < 0: all), forward or reversed: the ranks [*first, *first + *len). */
static void zb_by_score(const zent *m, size_t n, zbound lo, zbound hi, bool rev, long long off, long long cnt,
                        size_t *first, size_t *len) {
    size_t a, b;
    zb_score_span(m, n, lo, hi, &a, &b);
    *first = a;
    *len = 0;
    if (off < 0 || (unsigned long long)off >= b - a) return;
    size_t avail = b - a - (size_t)off;
    size_t k = cnt < 0 || (unsigned long long)cnt > avail ? avail : (size_t)cnt;
    *first = rev ? b - (size_t)off - k : a + (size_t)off;
    *len = k;
}

/* A bound for a score range: mostly the score of a random entry (so ties and exact hits), or
 * halfway off it, or ±inf, or a random value; exclusive a third of the time. */
static zbound zb_rand_bound(st_rng *r, const zent *m, size_t n) {
    zbound b = {0, st_rng_below(r, 3) == 0};
    uint64_t x = st_rng_below(r, 12);
    double s = n ? m[st_rng_below(r, n)].score : 0;
    if (isinf(s)) s = 0;
    if (x == 0) b.v = -INFINITY;
    else if (x == 1) b.v = INFINITY;
    else if (x < 8) b.v = s;
    else if (x < 10) b.v = s + (x == 8 ? 0.5 : -0.5);
    else b.v = (double)((int64_t)st_rng_below(r, 30000) - 5000);
    return b;
}

/* Ranks worth a look in a set of n: around every size where the index changes shape, its ends,
 * and their mirror images from the top. */
static const long long zb_edges[] = {0,    1,    2,    3,    63,   64,   65,   127,  128,  129,   255,   256,
                                     257,  258,  259,  383,  384,  511,  512,  513,  1023, 1024,  2047,  2048,
                                     2049, 4095, 4096, 4097, 8191, 8192, 8193, 8194, 12287, 16383, 16384, 16385};
#define ZB_NEDGES (sizeof zb_edges / sizeof *zb_edges)

/* Checks `key` against the model m[0, n): ZCARD; ZRANK and ZREVRANK of every member (all) or of
 * the edge ranks and 150 random ones; the whole set (all, n <= 3000); ZRANGE/ZREVRANGE/ZRANGE REV
 * by index from ~60 starts, as positive and negative indexes; ZCOUNT over 60 score ranges; BYSCORE
 * with LIMIT (ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGE BYSCORE [REV]) at offsets around the index's
 * sizes, the range's end and past it. */
static void zb_check(redisContext *c, int line, const char *key, const zent *m, size_t n, uint64_t seed, bool all) {
    zq q = {.c = c};
    st_rng rng;
    st_rng_seed(&rng, seed);
    long long N = (long long)n;
    zq_int(&q, line, N, "ZCARD %s", key);
    zq_nil(&q, line, "ZRANK %s nosuchmember", key);
    zq_nil(&q, line, "ZREVRANK %s nosuchmember", key);
    /* ranks */
    if (all) {
        for (size_t r = 0; r < n; r++) zq_int(&q, line, (long long)r, "ZRANK %s %s", key, m[r].name);
        for (size_t r = 0; r < n; r += (n > 3000 ? 7 : 1))
            zq_int(&q, line, N - 1 - (long long)r, "ZREVRANK %s %s", key, m[r].name);
        if (n <= 3000) {
            zq_ents(&q, line, m, n, false, true, "ZRANGE %s 0 -1 WITHSCORES", key);
            zq_ents(&q, line, m, n, true, true, "ZREVRANGE %s 0 -1 WITHSCORES", key);
        }
    } else if (n) {
        for (size_t i = 0; i < ZB_NEDGES; i++)
            for (int side = 0; side < 2; side++) {
                long long r = side ? N - 1 - zb_edges[i] : zb_edges[i];
                if (r < 0 || r >= N) continue;
                zq_int(&q, line, r, "ZRANK %s %s", key, m[r].name);
                zq_int(&q, line, N - 1 - r, "ZREVRANK %s %s", key, m[r].name);
            }
        for (int i = 0; i < 150; i++) {
            size_t r = st_rng_below(&rng, n);
            zq_int(&q, line, (long long)r, "ZRANK %s %s", key, m[r].name);
            zq_int(&q, line, N - 1 - (long long)r, "ZREVRANK %s %s", key, m[r].name);
        }
    }
    /* ranges by index */
    long long starts[ZB_NEDGES * 2 + 24];
    size_t ns = 0;
    for (size_t i = 0; i < ZB_NEDGES; i++)
        if (zb_edges[i] <= N + 2) {
            starts[ns++] = zb_edges[i];
            starts[ns++] = N - 1 - zb_edges[i];
        }
    for (int i = 0; i < 20; i++) starts[ns++] = (long long)st_rng_below(&rng, n + 1);
    starts[ns++] = N;
    starts[ns++] = N + 3;
    starts[ns++] = -N - 10;
    starts[ns++] = N - 5;
    for (size_t i = 0; i < ns; i++) {
        long long s = starts[i];
        size_t off, cnt;
        long long len = (long long)st_rng_below(&rng, 6) + (st_rng_below(&rng, 8) == 0 ? 300 : 0);
        zb_by_index(N, s, s + len, &off, &cnt);
        zq_ents(&q, line, m + off, cnt, false, true, "ZRANGE %s %lld %lld WITHSCORES", key, s, s + len);
        /* the same ranks counted from the end */
        long long ls = s - N, le = s + len - N;
        zb_by_index(N, ls, le, &off, &cnt);
        zq_ents(&q, line, m + off, cnt, false, false, "ZRANGE %s %lld %lld", key, ls, le);
        zb_by_index(N, s, s + len, &off, &cnt); /* reversed: ranks from the top */
        zq_ents(&q, line, m + (cnt ? n - off - cnt : 0), cnt, true, true, "ZREVRANGE %s %lld %lld WITHSCORES", key, s,
                s + len);
        zb_by_index(N, ls, le, &off, &cnt);
        zq_ents(&q, line, m + (cnt ? n - off - cnt : 0), cnt, true, false, "ZRANGE %s %lld %lld REV", key, ls, le);
        if (s >= 0 && s < N && N - s <= 400)
            zq_ents(&q, line, m + s, n - (size_t)s, false, false, "ZRANGE %s %lld -1", key, s);
    }
    /* counts */
    for (int i = 0; i < 60; i++) {
        zbound lo = zb_rand_bound(&rng, m, n), hi = zb_rand_bound(&rng, m, n);
        if (i % 6 == 0) hi = lo;        /* one score: [s, s] holds its ties, (s, s] nothing */
        else if (i % 4) zb_order(&lo, &hi); /* mostly non-empty */
        char a[48], b[48];
        zb_strs(lo, hi, a, b);
        size_t x, y;
        zb_score_span(m, n, lo, hi, &x, &y);
        zq_int(&q, line, (long long)(y - x), "ZCOUNT %s %s %s", key, a, b);
    }
    /* BYSCORE with LIMIT */
    for (int i = 0; i < 48; i++) {
        zbound lo = zb_rand_bound(&rng, m, n), hi = zb_rand_bound(&rng, m, n);
        if (i % 3 == 0) lo = (zbound){-INFINITY, false};
        if (i % 5 == 0) hi = (zbound){INFINITY, false};
        if (lo.v > hi.v) {
            zbound t = lo;
            lo = hi;
            hi = t;
        }
        size_t a, b;
        zb_score_span(m, n, lo, hi, &a, &b);
        long long k = (long long)(b - a);
        const long long offs[] = {0, 1, 255, 256, 257, 258, 300, 1000, 8191, 8192, 8193, k - 1, k, k + 1, k - 300,
                                  k / 2, (long long)st_rng_below(&rng, (uint64_t)k + 10)};
        long long off = offs[st_rng_below(&rng, sizeof offs / sizeof *offs)];
        if (off < 0) off = 0;
        long long cnt = (long long)st_rng_below(&rng, 6);
        if (k - off <= 300 && st_rng_below(&rng, 3) == 0) cnt = -1;
        bool ws = st_rng_below(&rng, 2);
        char l[48], h[48];
        zb_bound_str(lo, l, sizeof l);
        zb_bound_str(hi, h, sizeof h);
        const char *wss = ws ? " WITHSCORES" : "";
        size_t first, len;
        bool rev = i % 2;
        zb_by_score(m, n, lo, hi, rev, off, cnt, &first, &len);
        switch (i % 4) {
        case 0:
            zq_ents(&q, line, m + first, len, false, ws, "ZRANGEBYSCORE %s %s %s%s LIMIT %lld %lld", key, l, h, wss,
                    off, cnt);
            break;
        case 1:
            zq_ents(&q, line, m + first, len, true, ws, "ZREVRANGEBYSCORE %s %s %s LIMIT %lld %lld%s", key, h, l, off,
                    cnt, wss);
            break;
        case 2:
            zq_ents(&q, line, m + first, len, false, ws, "ZRANGE %s %s %s BYSCORE LIMIT %lld %lld%s", key, l, h, off,
                    cnt, wss);
            break;
        default:
            zq_ents(&q, line, m + first, len, true, ws, "ZRANGE %s %s %s BYSCORE REV LIMIT %lld %lld%s", key, h, l,
                    off, cnt, wss);
            break;
        }
    }
    zq_run(&q);
    zq_free(&q);
}
#define ZB_CHECK(c, key, z, seed, all) zb_check((c), __LINE__, (key), (z)->e, (z)->n, (seed), (all))

/* 20,000 members "m<i>" with the distinct scores (i * 7919) % 20000: rank == score. */
static void zb_fill_distinct(zmodel *z) {
    for (int i = 0; i < ZB_N; i++) zm_push(z, (double)((i * 7919) % ZB_N), "m%d", i);
}

static void test_big_zset_ranks(void **state) {
    redisContext *c = *state;
    zmodel z = {0};
    zb_fill_distinct(&z);
    zb_load(c, __LINE__, "big", z.e, z.n);
    zm_sort(&z);
    for (size_t r = 0; r < z.n; r++)
        if (z.e[r].score != (double)r) ST_FAIL("test bug: rank %zu has score %g", r, z.e[r].score);
    ZB_CHECK(c, "big", &z, 11, true); /* every member's rank */
    ZB_CHECK(c, "big", &z, 12, false);
    ZB_CHECK(c, "big", &z, 13, false);
    /* a few by hand, as Redis answers them */
    EXPECT_INT(c, 0, "ZRANK big m0");
    EXPECT_INT(c, 19999, "ZREVRANK big m0");
    EXPECT_ARR(c, A("m0", "0", "m17679", "1"), "ZRANGE big 0 1 WITHSCORES"); /* 17679 * 7919 % 20000 == 1 */
    EXPECT_INT(c, 257, "ZCOUNT big 8000 8256");
    EXPECT_INT(c, 255, "ZCOUNT big (8000 (8256");
    EXPECT_INT(c, 0, "ZCOUNT big (8000 8000");
    EXPECT_INT(c, 1, "ZCOUNT big 8000 8000");
    EXPECT_INT(c, 0, "ZCOUNT big 10 9");
    EXPECT_INT(c, 20000, "ZCOUNT big -inf +inf");
    EXPECT_INT(c, 19999, "ZCOUNT big (0 +inf");
    EXPECT_INT(c, 0, "ZCOUNT big (19999 +inf");
    EXPECT_INT(c, 0, "ZCOUNT big -inf (0");
    EXPECT_INT(c, 8193, "ZCOUNT big -inf 8192");
    EXPECT_INT(c, 1, "ZCOUNT big 8191.5 8192.5");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE big -inf +inf LIMIT 20000 1");
    EXPECT_EMPTY(c, "ZRANGEBYSCORE big 100 200 LIMIT 101 1");
    EXPECT_EMPTY(c, "ZREVRANGEBYSCORE big +inf -inf LIMIT 20000 5");
    expect_zents(c, __FILE__, __LINE__, z.e + 19999, 1, false, true,
                 "ZRANGEBYSCORE big -inf +inf WITHSCORES LIMIT 19999 5");
    expect_zents(c, __FILE__, __LINE__, z.e, 1, false, true, "ZREVRANGEBYSCORE big +inf -inf WITHSCORES LIMIT 19999 5");
    expect_zents(c, __FILE__, __LINE__, z.e + 200, 1, false, true, "ZRANGEBYSCORE big 100 200 WITHSCORES LIMIT 100 5");
    expect_zents(c, __FILE__, __LINE__, z.e + 9000, 3, false, false, "ZRANGEBYSCORE big (8000 +inf LIMIT 999 3");
    expect_zents(c, __FILE__, __LINE__, z.e + 6997, 3, true, false, "ZRANGE big (8000 -inf BYSCORE REV LIMIT 1000 3");
    expect_zents(c, __FILE__, __LINE__, z.e + 19995, 5, false, true, "ZRANGE big -5 -1 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, z.e, 5, false, true, "ZRANGE big -20000 -19996 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, z.e, 3, false, true, "ZRANGE big -25000 2 WITHSCORES");
    expect_zents(c, __FILE__, __LINE__, z.e + 8190, 5, true, true, "ZREVRANGE big 11805 11809 WITHSCORES");
    zm_free(&z);
}

/* Inserts (score, name) at its place in the sorted model; returns its rank. */
static size_t zm_insert(zmodel *z, double score, const char *name) {
    zent t = {.score = score};
    snprintf(t.name, sizeof t.name, "%s", name);
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (zent_cmp(&z->e[mid], &t) < 0) lo = mid + 1;
        else hi = mid;
    }
    zm_push(z, 0, "x"); /* room for one more */
    memmove(z->e + lo + 1, z->e + lo, (z->n - 1 - lo) * sizeof *z->e);
    z->e[lo] = t;
    return lo;
}

/* k distinct ranks of [0, n) in random order (k <= n). */
static void zb_pick(st_rng *r, size_t n, size_t k, size_t *out) {
    size_t *all = malloc(n * sizeof *all);
    if (!all) ST_FAIL("out of memory");
    for (size_t i = 0; i < n; i++) all[i] = i;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)st_rng_below(r, n - i), t = all[i];
        all[i] = all[j];
        all[j] = t;
        out[i] = all[i];
    }
    free(all);
}

/* ZMPOP's RESP2 reply: [key, [[m, s], ...]] with e[0, n) (reversed when rev). */
static void expect_zmpop_ents(redisContext *c, int line, const char *key, const zent *e, size_t n, bool rev,
                              const char *fmt, ...) {
    pair *want = calloc(n ? n : 1, sizeof *want);
    char (*sc)[40] = calloc(n ? n : 1, sizeof *sc);
    assert_non_null(want);
    assert_non_null(sc);
    for (size_t i = 0; i < n; i++) {
        const zent *z = &e[rev ? n - 1 - i : i];
        fmt_score(z->score, sc[i], sizeof sc[i]);
        want[i] = (pair){z->name, sc[i]};
    }
    va_list ap;
    va_start(ap, fmt);
    vexpect_zmpop(c, __FILE__, line, key, n, want, fmt, ap);
    va_end(ap);
    free(sc);
    free(want);
}

/* BZPOPMIN/BZPOPMAX's [key, member, score] for e. */
static void expect_bzpop(redisContext *c, int line, const char *key, const zent *e, const char *cmd) {
    char sc[40];
    fmt_score(e->score, sc, sizeof sc);
    st_expect_strs(c, __FILE__, line, 3, A(key, e->name, sc), cmd);
}

static void test_big_zset_mutations(void **state) {
    redisContext *c = *state;
    st_rng rng;
    st_rng_seed(&rng, 0x5eed0002);
    zmodel z = {0};
    zq q = {.c = c};
    zb_fill_distinct(&z);
    zb_load(c, __LINE__, "big", z.e, z.n);
    zm_sort(&z);
    /* ZREMRANGEBYRANK: 5,000 from the middle (across rank 8192), a block counted from the end */
    EXPECT_INT(c, 5000, "ZREMRANGEBYRANK big 7000 11999");
    zm_cut(&z, 7000, 12000);
    ZB_CHECK(c, "big", &z, 21, false);
    EXPECT_INT(c, 300, "ZREMRANGEBYRANK big -700 -401");
    zm_cut(&z, z.n - 700, z.n - 400);
    EXPECT_INT(c, 0, "ZREMRANGEBYRANK big 20000 30000");
    EXPECT_INT(c, 0, "ZREMRANGEBYRANK big 10 9");
    /* pops at both ends: ZPOPMIN/MAX, ZMPOP, BZMPOP, BZPOPMIN/MAX */
    expect_zents(c, __FILE__, __LINE__, z.e, 300, false, true, "ZPOPMIN big 300");
    zm_cut(&z, 0, 300);
    expect_zents(c, __FILE__, __LINE__, z.e + z.n - 300, 300, true, true, "ZPOPMAX big 300");
    zm_cut(&z, z.n - 300, z.n);
    expect_zmpop_ents(c, __LINE__, "big", z.e, 257, false, "ZMPOP 1 big MIN COUNT 257");
    zm_cut(&z, 0, 257);
    expect_zmpop_ents(c, __LINE__, "big", z.e + z.n - 258, 258, true, "ZMPOP 2 nosuchkey big MAX COUNT 258");
    zm_cut(&z, z.n - 258, z.n);
    expect_zmpop_ents(c, __LINE__, "big", z.e, 3, false, "BZMPOP 1 1 big MIN COUNT 3");
    zm_cut(&z, 0, 3);
    expect_bzpop(c, __LINE__, "big", &z.e[0], "BZPOPMIN big 1");
    zm_cut(&z, 0, 1);
    expect_bzpop(c, __LINE__, "big", &z.e[z.n - 1], "BZPOPMAX nosuchkey big 1");
    zm_cut(&z, z.n - 1, z.n);
    expect_zents(c, __FILE__, __LINE__, z.e, 1, false, true, "ZPOPMIN big");
    zm_cut(&z, 0, 1);
    ZB_CHECK(c, "big", &z, 22, false);

    /* ZREM of 1,000 scattered members, ten a command, each with one that is not there */
    size_t *pick = malloc(z.n * sizeof *pick);
    char cmd[2048], sc[40], gone[16];
    zb_pick(&rng, z.n, 1000, pick);
    for (int j = 0; j < 1000; j += 10) {
        int o = snprintf(cmd, sizeof cmd, "ZREM big nope%d", j);
        for (int k = j; k < j + 10; k++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s", z.e[pick[k]].name);
        zq_int(&q, __LINE__, 10, "%s", cmd);
    }
    zq_run(&q);
    snprintf(gone, sizeof gone, "%s", z.e[pick[0]].name);
    for (int k = 0; k < 1000; k++) z.e[pick[k]].name[0] = '\0';
    zm_compact(&z);
    EXPECT_NIL(c, "ZRANK big %s", gone);
    EXPECT_NIL(c, "ZREVRANK big %s", gone);
    ZB_CHECK(c, "big", &z, 23, false);

    /* ZADD XX CH: 1,000 members to new scores (some tie with another member, some keep theirs),
     * each command with a member that is not there (XX: not added) */
    zb_pick(&rng, z.n, 1000, pick);
    for (int j = 0; j < 1000; j += 10) {
        long long changed = 0;
        int o = snprintf(cmd, sizeof cmd, "ZADD big XX CH");
        for (int k = j; k < j + 10; k++) {
            zent *e = &z.e[pick[k]];
            uint64_t x = st_rng_below(&rng, 8);
            double s = x < 2   ? z.e[st_rng_below(&rng, z.n)].score
                       : x < 3 ? e->score
                               : (double)st_rng_below(&rng, 30000) - 5000 + (x < 5 ? 0.5 : 0);
            changed += s != e->score;
            e->score = s;
            fmt_score(s, sc, sizeof sc);
            o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s %s", sc, e->name);
        }
        snprintf(cmd + o, sizeof cmd - (size_t)o, " 1 ghost%d", j);
        zq_int(&q, __LINE__, changed, "%s", cmd);
    }
    zq_run(&q);
    zm_sort(&z);
    EXPECT_NIL(c, "ZSCORE big ghost0");
    ZB_CHECK(c, "big", &z, 24, false);

    /* ZINCRBY 200 members; ZADD GT/LT CH 200 more; ZADD NX on members that are there */
    zb_pick(&rng, z.n, 400, pick);
    for (int k = 0; k < 400; k++) {
        zent *e = &z.e[pick[k]];
        double d = (double)st_rng_below(&rng, 4001) - 2000 + 0.25 * (double)st_rng_below(&rng, 4);
        char ds[40];
        fmt_score(d, ds, sizeof ds);
        if (k < 200) {
            e->score += d;
            fmt_score(e->score, sc, sizeof sc);
            zq_bulk(&q, __LINE__, sc, "ZINCRBY big %s %s", ds, e->name);
        } else {
            bool gt = k % 2, upd = gt ? e->score + d > e->score : e->score + d < e->score;
            fmt_score(e->score + d, sc, sizeof sc);
            zq_int(&q, __LINE__, upd, "ZADD big %s CH %s %s", gt ? "GT" : "LT", sc, e->name);
            if (upd) e->score += d;
        }
        if (k % 20 == 0) zq_int(&q, __LINE__, 0, "ZADD big NX 12345 %s", e->name);
    }
    zq_run(&q);
    zm_sort(&z);
    ZB_CHECK(c, "big", &z, 25, false);

    /* 2,000 new members (a quarter tie with one there), three at -inf and +inf */
    size_t before = z.n;
    for (int i = 0; i < 2000; i++) {
        double s = st_rng_below(&rng, 4) == 0 ? z.e[st_rng_below(&rng, before)].score
                                              : (double)st_rng_below(&rng, 26000) - 3000;
        zm_push(&z, s, "n%d", i);
    }
    zm_push(&z, -INFINITY, "ninf");
    zm_push(&z, -INFINITY, "ainf");
    zm_push(&z, INFINITY, "pinf");
    zb_load(c, __LINE__, "big", z.e + before, z.n - before);
    zm_sort(&z);
    EXPECT_INT(c, 2, "ZCOUNT big -inf -inf");
    EXPECT_INT(c, 1, "ZCOUNT big +inf +inf");
    EXPECT_INT(c, (long long)z.n - 3, "ZCOUNT big (-inf (+inf");
    EXPECT_INT(c, 1, "ZRANK big ninf");
    EXPECT_INT(c, 0, "ZREVRANK big pinf");
    expect_zents(c, __FILE__, __LINE__, z.e + z.n - 1, 1, false, true, 
                 "ZRANGEBYSCORE big -inf +inf WITHSCORES LIMIT %lld 9", (long long)z.n - 1);
    expect_zents(c, __FILE__, __LINE__, z.e, 2, true, true, 
                 "ZREVRANGEBYSCORE big +inf -inf WITHSCORES LIMIT %lld 9", (long long)z.n - 2);
    ZB_CHECK(c, "big", &z, 26, false);

    /* ZREMRANGEBYSCORE: a band of about 700 (exclusive low end), then the -inf members */
    zbound lo = {z.e[z.n / 3].score, true}, hi = {z.e[z.n / 3 + 700].score, false};
    size_t a, b;
    zb_score_span(z.e, z.n, lo, hi, &a, &b);
    char ls[48], hs[48];
    zb_bound_str(lo, ls, sizeof ls);
    zb_bound_str(hi, hs, sizeof hs);
    EXPECT_INT(c, (long long)(b - a), "ZREMRANGEBYSCORE big %s %s", ls, hs);
    zm_cut(&z, a, b);
    EXPECT_INT(c, 2, "ZREMRANGEBYSCORE big -inf -inf");
    zm_cut(&z, 0, 2);
    ZB_CHECK(c, "big", &z, 27, false);

    /* 3,000 single writes (a new member, a removal, a move), each followed by a ZRANK and a ZCOUNT
     * answered from the model as it is then, all pipelined */
    for (int i = 0; i < 3000; i++) {
        uint64_t op = st_rng_below(&rng, 3);
        double s = (double)st_rng_below(&rng, 26000) - 3000;
        fmt_score(s, sc, sizeof sc);
        if (op == 0) {
            char name[16];
            snprintf(name, sizeof name, "w%d", i);
            zq_int(&q, __LINE__, 1, "ZADD big %s %s", sc, name);
            zm_insert(&z, s, name);
        } else {
            size_t r = st_rng_below(&rng, z.n);
            char name[16];
            snprintf(name, sizeof name, "%s", z.e[r].name);
            zm_cut(&z, r, r + 1);
            if (op == 1) {
                zq_int(&q, __LINE__, 1, "ZREM big %s", name);
            } else {
                zq_int(&q, __LINE__, 0, "ZADD big %s %s", sc, name);
                zm_insert(&z, s, name);
            }
        }
        size_t r = st_rng_below(&rng, z.n);
        zq_int(&q, __LINE__, (long long)r, "ZRANK big %s", z.e[r].name);
        zbound l = zb_rand_bound(&rng, z.e, z.n), h = zb_rand_bound(&rng, z.e, z.n);
        zb_bound_str(l, ls, sizeof ls);
        zb_bound_str(h, hs, sizeof hs);
        zb_score_span(z.e, z.n, l, h, &a, &b);
        zq_int(&q, __LINE__, (long long)(b - a), "ZCOUNT big %s %s", ls, hs);
    }
    zq_run(&q);
    ZB_CHECK(c, "big", &z, 28, true); /* every member's rank */
    free(pick);
    zq_free(&q);
    zm_free(&z);
}

/* Checks the set against the model: every rank and the whole set when that is cheap, a sample
 * otherwise. */
static void zb_check_size(redisContext *c, int line, const char *key, const zmodel *z, uint64_t seed) {
    zb_check(c, line, key, z->e, z->n, seed, z->n <= 3000);
}

/* A lighter check for the one-write-at-a-time steps: ZCARD, ZRANK and ZREVRANK of the members at the
 * edge ranks and of 20 more, the whole set both ways, and a few counts and LIMIT offsets. */
static void zb_check_light(redisContext *c, int line, const char *key, const zmodel *z, uint64_t seed) {
    zq q = {.c = c};
    st_rng rng;
    st_rng_seed(&rng, seed);
    const zent *m = z->e;
    size_t n = z->n;
    zq_int(&q, line, (long long)n, "ZCARD %s", key);
    for (size_t i = 0; i < ZB_NEDGES + 20; i++)
        for (int side = 0; side < 2; side++) {
            size_t r = i < ZB_NEDGES ? (size_t)zb_edges[i] : st_rng_below(&rng, n);
            if (r >= n) continue;
            if (side) r = n - 1 - r;
            zq_int(&q, line, (long long)r, "ZRANK %s %s", key, m[r].name);
            zq_int(&q, line, (long long)(n - 1 - r), "ZREVRANK %s %s", key, m[r].name);
        }
    zq_ents(&q, line, m, n, false, true, "ZRANGE %s 0 -1 WITHSCORES", key);
    zq_ents(&q, line, m, n, true, false, "ZREVRANGE %s 0 -1", key);
    for (int i = 0; i < 6; i++) {
        zbound lo = zb_rand_bound(&rng, m, n), hi = zb_rand_bound(&rng, m, n);
        zb_order(&lo, &hi);
        char a[48], b[48];
        zb_strs(lo, hi, a, b);
        size_t x, y, first, len;
        zb_score_span(m, n, lo, hi, &x, &y);
        zq_int(&q, line, (long long)(y - x), "ZCOUNT %s %s %s", key, a, b);
        long long off = (long long)st_rng_below(&rng, y - x + 2);
        zb_by_score(m, n, lo, hi, i % 2, off, 3, &first, &len);
        if (i % 2)
            zq_ents(&q, line, m + first, len, true, true, "ZREVRANGEBYSCORE %s %s %s WITHSCORES LIMIT %lld 3", key, b,
                    a, off);
        else
            zq_ents(&q, line, m + first, len, false, true, "ZRANGEBYSCORE %s %s %s WITHSCORES LIMIT %lld 3", key, a, b,
                    off);
    }
    zq_run(&q);
    zq_free(&q);
}

/* A score for the members the shrink/grow test adds back: mostly above the scores the set had
 * (0..2499), whose removed entries are tombstones until a compaction, now and then among them. */
static double zb_regrow_score(st_rng *rng) {
    return (double)st_rng_below(rng, 2500) + (st_rng_below(rng, 16) ? 10000 : 0.5);
}

/* One new member "g<id>", by itself. */
static void zb_add_one(redisContext *c, st_rng *rng, zmodel *z, int id) {
    double s = zb_regrow_score(rng);
    char name[16], sc[40];
    snprintf(name, sizeof name, "g%d", id);
    fmt_score(s, sc, sizeof sc);
    EXPECT_INT(c, 1, "ZADD big %s %s", sc, name);
    zm_insert(z, s, name);
}

/* Down through every size where the index changes shape (8192: a level; 2048: it goes again; 256:
 * the index is built above; 64: dropped below), with a different write each step, and back up.
 * The big removals trim the low end: removed ranges elsewhere leave the engine's tombstones
 * among the survivors until a compaction, and walks over them make reads of the small set slow
 * (the mutation test removes blocks in the middle of a big set). */
static void test_big_zset_shrink_grow(void **state) {
    redisContext *c = *state;
    st_rng rng;
    st_rng_seed(&rng, 0x5eed0003);
    zmodel z = {0};
    zq q = {.c = c};
    char cmd[4096], sc[40];
    /* 10,000 members (two levels), four to a score (ties ordered by member) */
    for (int i = 0; i < 10000; i++) zm_push(&z, (double)((i * 7919) % 2500), "m%d", i);
    zb_load(c, __LINE__, "big", z.e, z.n);
    zm_sort(&z);
    zb_check_size(c, __LINE__, "big", &z, 31);
    /* down to 8,300 (still above 8192), by rank */
    EXPECT_INT(c, 1700, "ZREMRANGEBYRANK big 0 1699");
    zm_cut(&z, 0, 1700);
    zb_check_size(c, __LINE__, "big", &z, 32);
    /* 8,100 (below 8192), popping */
    expect_zents(c, __FILE__, __LINE__, z.e, 200, false, true, "ZPOPMIN big 200");
    zm_cut(&z, 0, 200);
    zb_check_size(c, __LINE__, "big", &z, 33);
    /* about 6,000, by score: everything below the score of rank n - 6000 */
    size_t cut = zb_lower(z.e, z.n, z.e[z.n - 6000].score, false);
    fmt_score(z.e[z.n - 6000].score, sc, sizeof sc);
    EXPECT_INT(c, (long long)cut, "ZREMRANGEBYSCORE big -inf (%s", sc);
    zm_cut(&z, 0, cut);
    zb_check_size(c, __LINE__, "big", &z, 34);
    /* 2,000 (below 2048), by rank */
    EXPECT_INT(c, (long long)z.n - 2000, "ZREMRANGEBYRANK big 0 %lld", (long long)z.n - 2001);
    zm_cut(&z, 0, z.n - 2000);
    zb_check_size(c, __LINE__, "big", &z, 35);
    /* 300, by ZREM of random members */
    size_t *pick = malloc(z.n * sizeof *pick);
    size_t nrem = z.n - 300;
    zb_pick(&rng, z.n, nrem, pick);
    for (size_t j = 0; j < nrem; j += 20) {
        size_t k = nrem - j < 20 ? nrem - j : 20;
        int o = snprintf(cmd, sizeof cmd, "ZREM big");
        for (size_t i = j; i < j + k; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s", z.e[pick[i]].name);
        zq_int(&q, __LINE__, (long long)k, "%s", cmd);
    }
    zq_run(&q);
    for (size_t i = 0; i < nrem; i++) z.e[pick[i]].name[0] = '\0';
    zm_compact(&z);
    zb_check_size(c, __LINE__, "big", &z, 36);
    /* 257 (ZPOPMAX), 256 and 255 (ZPOPMIN one at a time) */
    expect_zents(c, __FILE__, __LINE__, z.e + z.n - 43, 43, true, true, "ZPOPMAX big 43");
    zm_cut(&z, z.n - 43, z.n);
    zb_check_light(c, __LINE__, "big", &z, 37);
    for (int i = 0; i < 2; i++) {
        expect_zents(c, __FILE__, __LINE__, z.e, 1, false, true, "ZPOPMIN big");
        zm_cut(&z, 0, 1);
        zb_check_light(c, __LINE__, "big", &z, 38 + (uint64_t)i);
    }
    /* 200 by ZMPOP; then by rank to 100, 65, 64, 63 (below 64), 50, 10: from the low end, the
     * middle and the top in turn */
    expect_zmpop_ents(c, __LINE__, "big", z.e + 200, z.n - 200, true, "ZMPOP 1 big MAX COUNT %lld",
                      (long long)z.n - 200);
    zm_cut(&z, 200, z.n);
    zb_check_size(c, __LINE__, "big", &z, 40);
    static const size_t sizes[] = {100, 65, 64, 63, 50, 10};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t drop = z.n - sizes[i], at = i % 3 == 0 ? 0 : i % 3 == 1 ? z.n / 2 - drop / 2 : z.n - drop;
        if (i % 3 == 2)
            EXPECT_INT(c, (long long)drop, "ZREMRANGEBYRANK big -%lld -1", (long long)drop);
        else
            EXPECT_INT(c, (long long)drop, "ZREMRANGEBYRANK big %lld %lld", (long long)at,
                       (long long)(at + drop - 1));
        zm_cut(&z, at, at + drop);
        zb_check_size(c, __LINE__, "big", &z, 41 + (uint64_t)i);
    }
    /* and back up: a block to 250, then one member a command past 256 (the index is built at
     * 257) to 262, then past 2048 and 8192 */
    int next = 0;
    size_t before = z.n;
    for (; z.n < 250; next++) zm_push(&z, zb_regrow_score(&rng), "g%d", next);
    zb_load(c, __LINE__, "big", z.e + before, z.n - before);
    zm_sort(&z);
    zb_check_size(c, __LINE__, "big", &z, 60);
    while (z.n < 262) {
        zb_add_one(c, &rng, &z, next++);
        zb_check_light(c, __LINE__, "big", &z, 60 + z.n);
    }
    zb_check_size(c, __LINE__, "big", &z, 69);
    static const size_t grow[] = {2100, 8193, 9000};
    for (size_t i = 0; i < sizeof grow / sizeof *grow; i++) {
        before = z.n;
        for (; z.n < grow[i]; next++) zm_push(&z, zb_regrow_score(&rng), "g%d", next);
        zb_load(c, __LINE__, "big", z.e + before, z.n - before);
        zm_sort(&z);
        zb_check_size(c, __LINE__, "big", &z, 70 + i);
    }
    ZB_CHECK(c, "big", &z, 80, true);
    /* one at a time down from 66 to 62, by ZREM (the index of a set that grew past 256 goes below 64) */
    EXPECT_INT(c, (long long)z.n - 66, "ZREMRANGEBYRANK big 33 %lld", (long long)z.n - 34);
    zm_cut(&z, 33, z.n - 33);
    zb_check_light(c, __LINE__, "big", &z, 81);
    while (z.n > 62) {
        size_t r = st_rng_below(&rng, z.n);
        EXPECT_INT(c, 1, "ZREM big %s", z.e[r].name);
        zm_cut(&z, r, r + 1);
        zb_check_light(c, __LINE__, "big", &z, 82 + z.n);
    }
    /* emptied: the key goes; made again, nothing of the old set shows */
    EXPECT_INT(c, (long long)z.n, "ZREMRANGEBYRANK big 0 -1");
    EXPECT_INT(c, 0, "EXISTS big");
    z.n = 0;
    zm_push(&z, 1, "only");
    EXPECT_INT(c, 1, "ZADD big 1 only");
    zb_check(c, __LINE__, "big", z.e, z.n, 90, true);
    free(pick);
    zq_free(&q);
    zm_free(&z);
}

/* The rank of the member named name in the model (it must be there). */
static size_t zm_find(const zmodel *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].name, name)) return i;
    ST_FAIL("test bug: %s is not in the model", name);
    return 0;
}

static void test_big_zset_multi_rename(void **state) {
    redisContext *c = *state;
    st_rng rng;
    st_rng_seed(&rng, 0x5eed0004);
    zmodel z = {0}, o = {0};
    char cmd[8192], sc[40];
    for (int i = 0; i < 3000; i++) zm_push(&z, (double)((i * 7919) % 3000), "m%d", i);
    zb_load(c, __LINE__, "big", z.e, z.n);
    zm_sort(&z);

    /* MULTI/EXEC: 50 new members, 500 removed by rank, 20 moved (XX), one ZINCRBY; then reads */
    EXPECT_OK(c, "MULTI");
    int len = snprintf(cmd, sizeof cmd, "ZADD big");
    for (int i = 0; i < 50; i++) {
        zm_push(&z, 1000.5 + 7 * i, "t%d", i);
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %.17g t%d", 1000.5 + 7 * i, i);
    }
    EXPECT_STATUS(c, "QUEUED", cmd);
    zm_sort(&z);
    EXPECT_STATUS(c, "QUEUED", "ZREMRANGEBYRANK big 1000 1499");
    zm_cut(&z, 1000, 1500);
    len = snprintf(cmd, sizeof cmd, "ZADD big XX");
    for (int i = 0; i < 20; i++) {
        zent *e = &z.e[200 + 120 * i]; /* distinct ranks */
        e->score = (double)st_rng_below(&rng, 3000) + (i % 2 ? 0.25 : 0);
        fmt_score(e->score, sc, sizeof sc);
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s %s", sc, e->name);
    }
    EXPECT_STATUS(c, "QUEUED", cmd);
    EXPECT_STATUS(c, "QUEUED", "ZINCRBY big 2500 m5");
    z.e[zm_find(&z, "m5")].score += 2500;
    fmt_score(z.e[zm_find(&z, "m5")].score, sc, sizeof sc);
    zm_sort(&z);
    char probe[16];
    snprintf(probe, sizeof probe, "%s", z.e[1700].name);
    EXPECT_STATUS(c, "QUEUED", "ZRANK big %s", probe);
    EXPECT_STATUS(c, "QUEUED", "ZCOUNT big (1000.5 2000");
    EXPECT_STATUS(c, "QUEUED", "ZRANGE big 2000 2004 WITHSCORES");
    EXPECT_STATUS(c, "QUEUED", "ZRANGEBYSCORE big -inf +inf LIMIT 2000 3");
    redisReply *r = CMD(c, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 8) fail_reply(__FILE__, __LINE__, "EXEC", r, "want 8 replies");
    st_check_reply_int(r->element[0], __FILE__, __LINE__, 50, "EXEC: ZADD");
    st_check_reply_int(r->element[1], __FILE__, __LINE__, 500, "EXEC: ZREMRANGEBYRANK");
    st_check_reply_int(r->element[2], __FILE__, __LINE__, 0, "EXEC: ZADD XX");
    st_check_reply_bulk(r->element[3], __FILE__, __LINE__, sc, strlen(sc), "EXEC: ZINCRBY");
    st_check_reply_int(r->element[4], __FILE__, __LINE__, 1700, "EXEC: ZRANK");
    size_t a, b;
    zb_score_span(z.e, z.n, (zbound){1000.5, true}, (zbound){2000, false}, &a, &b);
    st_check_reply_int(r->element[5], __FILE__, __LINE__, (long long)(b - a), "EXEC: ZCOUNT");
    check_zents(r->element[6], __FILE__, __LINE__, "EXEC: ZRANGE", z.e + 2000, 5, false, true);
    check_zents(r->element[7], __FILE__, __LINE__, "EXEC: ZRANGEBYSCORE LIMIT", z.e + 2000, 3, false, false);
    freeReplyObject(r);
    ZB_CHECK(c, "big", &z, 41, true);

    /* one transaction takes it below 64 (the index goes) and back past 256 (built again) */
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "ZREMRANGEBYRANK big 0 -41");
    size_t removed = z.n - 40;
    zm_cut(&z, 0, removed);
    size_t before = z.n;
    for (int i = 0; i < 300; i++) zm_push(&z, (double)st_rng_below(&rng, 3000), "u%d", i);
    len = snprintf(cmd, sizeof cmd, "ZADD big");
    for (size_t i = before; i < z.n; i++) {
        fmt_score(z.e[i].score, sc, sizeof sc);
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s %s", sc, z.e[i].name);
    }
    EXPECT_STATUS(c, "QUEUED", cmd);
    zm_sort(&z);
    EXPECT_STATUS(c, "QUEUED", "ZREMRANGEBYRANK big 5 9");
    zm_cut(&z, 5, 10);
    EXPECT_STATUS(c, "QUEUED", "ZREVRANK big %s", z.e[300].name);
    r = CMD(c, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) fail_reply(__FILE__, __LINE__, "EXEC", r, "want 4 replies");
    st_check_reply_int(r->element[0], __FILE__, __LINE__, (long long)removed, "EXEC: ZREMRANGEBYRANK big 0 -41");
    st_check_reply_int(r->element[1], __FILE__, __LINE__, 300, "EXEC: ZADD");
    st_check_reply_int(r->element[2], __FILE__, __LINE__, 5, "EXEC: ZREMRANGEBYRANK big 5 9");
    st_check_reply_int(r->element[3], __FILE__, __LINE__, (long long)z.n - 301, "EXEC: ZREVRANK");
    freeReplyObject(r);
    ZB_CHECK(c, "big", &z, 42, true);

    /* past 8192 (two levels), then RENAME: the new name answers, the old is gone */
    before = z.n;
    for (int i = 0; i < 9000; i++) zm_push(&z, (double)st_rng_below(&rng, 3000) + 0.5, "v%d", i);
    zb_load(c, __LINE__, "big", z.e + before, z.n - before);
    zm_sort(&z);
    EXPECT_OK(c, "RENAME big big2");
    EXPECT_INT(c, 0, "EXISTS big");
    EXPECT_NIL(c, "ZRANK big %s", z.e[0].name);
    ZB_CHECK(c, "big2", &z, 43, false);
    /* the renamed set takes writes; then RENAMENX, and RENAME over a big zset that has an index */
    EXPECT_INT(c, 1000, "ZREMRANGEBYRANK big2 100 1099");
    zm_cut(&z, 100, 1100);
    before = z.n;
    for (int i = 0; i < 500; i++) zm_push(&z, (double)st_rng_below(&rng, 3000), "x%d", i);
    zb_load(c, __LINE__, "big2", z.e + before, z.n - before);
    zm_sort(&z);
    ZB_CHECK(c, "big2", &z, 44, false);
    EXPECT_INT(c, 1, "RENAMENX big2 big3");
    ZB_CHECK(c, "big3", &z, 45, false);
    for (int i = 0; i < 500; i++) zm_push(&o, (double)i, "o%d", i);
    zb_load(c, __LINE__, "other", o.e, o.n);
    EXPECT_INT(c, 0, "RENAMENX big3 other");
    ZB_CHECK(c, "other", &o, 46, true);
    EXPECT_OK(c, "RENAME big3 other");
    EXPECT_INT(c, 0, "EXISTS big3");
    EXPECT_NIL(c, "ZRANK other o1");
    ZB_CHECK(c, "other", &z, 47, false);
    /* the name renamed away, made again: only its new members count */
    o.n = 0;
    for (int i = 0; i < 300; i++) zm_push(&o, (double)(i % 7), "y%d", i);
    zb_load(c, __LINE__, "big3", o.e, o.n);
    zm_sort(&o);
    ZB_CHECK(c, "big3", &o, 48, true);
    zm_free(&o);
    zm_free(&z);
}

static void test_big_zset_store(void **state) {
    redisContext *c = *state;
    enum { SA = 6000, SB0 = 3000, SB1 = 9000 }; /* a: m0..m5999 (score i), b: m3000..m8999 (score 2i) */
    zmodel a = {0}, b = {0}, u = {0}, w = {0};
    for (int i = 0; i < SA; i++) zm_push(&a, i, "m%d", i);
    for (int i = SB0; i < SB1; i++) zm_push(&b, 2.0 * i, "m%d", i);
    zb_load(c, __LINE__, "a", a.e, a.n);
    zb_load(c, __LINE__, "b", b.e, b.n);
    zm_sort(&a);
    zm_sort(&b);
    /* ZUNIONSTORE: sum (3i where both have it, ties between 3i and 2j ordered by member) */
    for (int i = 0; i < SB1; i++) zm_push(&u, (i < SA ? i : 0) + (i >= SB0 ? 2.0 * i : 0), "m%d", i);
    zm_sort(&u);
    EXPECT_INT(c, SB1, "ZUNIONSTORE u 2 a b");
    ZB_CHECK(c, "u", &u, 51, false);
    /* over a destination that has an index: WEIGHTS 1 -1 AGGREGATE MIN */
    u.n = 0;
    for (int i = 0; i < SB1; i++) zm_push(&u, i < SB0 ? i : -2.0 * i, "m%d", i);
    zm_sort(&u);
    EXPECT_INT(c, SB1, "ZUNIONSTORE u 2 a b WEIGHTS 1 -1 AGGREGATE MIN");
    ZB_CHECK(c, "u", &u, 52, false);
    /* ZINTERSTORE and ZDIFFSTORE: 3,000 each */
    for (int i = SB0; i < SA; i++) zm_push(&w, 3.0 * i, "m%d", i);
    zm_sort(&w);
    EXPECT_INT(c, SA - SB0, "ZINTERSTORE i 2 a b");
    ZB_CHECK(c, "i", &w, 53, true);
    w.n = 0;
    for (int i = 0; i < SB0; i++) zm_push(&w, i, "m%d", i);
    zm_sort(&w);
    EXPECT_INT(c, SB0, "ZDIFFSTORE d 2 a b");
    ZB_CHECK(c, "d", &w, 54, true);
    /* ZRANGESTORE by rank, by score with a far LIMIT offset, reversed */
    EXPECT_INT(c, 3000, "ZRANGESTORE r u 100 3099");
    zm_copy(&w, &u);
    zm_cut(&w, 3100, w.n);
    zm_cut(&w, 0, 100);
    ZB_CHECK(c, "r", &w, 55, true);
    size_t first, len;
    zb_by_score(u.e, u.n, (zbound){-12000, false}, (zbound){INFINITY, false}, false, 300, 2000, &first, &len);
    EXPECT_INT(c, (long long)len, "ZRANGESTORE r u -12000 +inf BYSCORE LIMIT 300 2000");
    zm_copy(&w, &u);
    zm_cut(&w, first + len, w.n);
    zm_cut(&w, 0, first);
    ZB_CHECK(c, "r", &w, 56, true);
    zb_by_score(u.e, u.n, (zbound){-INFINITY, false}, (zbound){1000, true}, true, 400, 1000, &first, &len);
    EXPECT_INT(c, (long long)len, "ZRANGESTORE r u (1000 -inf BYSCORE REV LIMIT 400 1000");
    zm_copy(&w, &u);
    zm_cut(&w, first + len, w.n);
    zm_cut(&w, 0, first);
    ZB_CHECK(c, "r", &w, 57, true);
    EXPECT_INT(c, SB1 - 10, "ZRANGESTORE r u 5 -6 REV");
    zm_copy(&w, &u);
    zm_cut(&w, SB1 - 5, w.n);
    zm_cut(&w, 0, 5);
    ZB_CHECK(c, "r", &w, 58, false);
    /* destination == source: a keeps ranks 100..399; b becomes b + a */
    EXPECT_INT(c, 300, "ZRANGESTORE a a 100 399");
    zm_copy(&w, &a);
    zm_cut(&w, 400, w.n);
    zm_cut(&w, 0, 100);
    ZB_CHECK(c, "a", &w, 59, true);
    for (size_t i = 0; i < w.n; i++) {
        int id = atoi(w.e[i].name + 1);
        if (id >= SB0 && id < SB1) ST_FAIL("test bug: %s is in both", w.e[i].name);
    }
    for (size_t i = 0; i < w.n; i++) zm_push(&b, w.e[i].score, "%s", w.e[i].name); /* m100..m399: not in b */
    zm_sort(&b);
    EXPECT_INT(c, (long long)b.n, "ZUNIONSTORE b 2 b a");
    ZB_CHECK(c, "b", &b, 60, false);
    /* an empty result deletes the big destination */
    EXPECT_INT(c, 0, "ZINTERSTORE u 2 a nosuchkey");
    EXPECT_INT(c, 0, "EXISTS u");
    EXPECT_NIL(c, "ZRANK u m1");
    EXPECT_INT(c, 0, "ZRANGESTORE r b 0 -1 BYSCORE LIMIT 0 1"); /* no score in [0, -1] */
    EXPECT_INT(c, 0, "EXISTS r");
    zm_free(&a);
    zm_free(&b);
    zm_free(&u);
    zm_free(&w);
}

/* Members that all have score 0: ranks, counts and LIMIT offsets among equal scores (the order is
 * the members' bytes), and ZREMRANGEBYLEX blocks. */
static void test_big_zset_equal_scores(void **state) {
    redisContext *c = *state;
    zmodel z = {0};
    for (int i = 0; i < 3000; i++) zm_push(&z, 0, "e%d", i);
    zb_load(c, __LINE__, "eq", z.e, z.n);
    zm_sort(&z);
    ZB_CHECK(c, "eq", &z, 61, true);
    EXPECT_INT(c, 3000, "ZCOUNT eq 0 0");
    EXPECT_INT(c, 0, "ZCOUNT eq (0 +inf");
    expect_zents(c, __FILE__, __LINE__, z.e + 2500, 3, false, true, "ZRANGEBYSCORE eq 0 0 WITHSCORES LIMIT 2500 3");
    expect_zents(c, __FILE__, __LINE__, z.e + 497, 3, true, false, "ZREVRANGEBYSCORE eq 0 0 LIMIT 2500 3");
    /* [e1 (e2: e1, e10..e19, e100..e199, e1000..e1999 */
    size_t from = zm_find(&z, "e1"), to = zm_find(&z, "e2");
    EXPECT_INT(c, (long long)(to - from), "ZLEXCOUNT eq [e1 (e2");
    /* one score and a rank index: lex counts and long lex offsets go through ranks */
    EXPECT_INT(c, (long long)(to - from - 1), "ZLEXCOUNT eq (e1 (e2");
    EXPECT_INT(c, (long long)(z.n - zm_find(&z, "e5")), "ZLEXCOUNT eq [e5 +");
    EXPECT_INT(c, (long long)zm_find(&z, "e5"), "ZLEXCOUNT eq - (e5");
    EXPECT_INT(c, 0, "ZLEXCOUNT eq (e5 [e5");
    expect_zents(c, __FILE__, __LINE__, z.e + 2500, 3, false, false, "ZRANGEBYLEX eq - + LIMIT 2500 3");
    expect_zents(c, __FILE__, __LINE__, z.e + 497, 3, true, false, "ZREVRANGEBYLEX eq + - LIMIT 2500 3");
    expect_zents(c, __FILE__, __LINE__, z.e + from + 401, 2, false, false, "ZRANGEBYLEX eq (e1 + LIMIT 400 2");
    size_t e4 = zm_find(&z, "e4");
    expect_zents(c, __FILE__, __LINE__, z.e + e4 - 301, 2, true, false, "ZRANGE eq [e4 [e2 BYLEX REV LIMIT 300 2");
    expect_zents(c, __FILE__, __LINE__, z.e, 0, false, false, "ZRANGEBYLEX eq [e1 (e2 LIMIT 1111 5");
    EXPECT_INT(c, 1111, "ZREMRANGEBYLEX eq [e1 (e2");
    zm_cut(&z, from, to);
    ZB_CHECK(c, "eq", &z, 62, true);
    /* down to 113 (the index stays), then to 14 (it goes), by lex; and back past 256 */
    from = zm_find(&z, "e21");
    EXPECT_INT(c, (long long)(z.n - from), "ZREMRANGEBYLEX eq [e21 +");
    zm_cut(&z, from, z.n);
    if (z.n != 113) ST_FAIL("test bug: %zu left", z.n);
    ZB_CHECK(c, "eq", &z, 63, true);
    from = zm_find(&z, "e2001");
    to = zm_find(&z, "e2099") + 1;
    EXPECT_INT(c, (long long)(to - from), "ZREMRANGEBYLEX eq [e2001 [e2099");
    zm_cut(&z, from, to);
    ZB_CHECK(c, "eq", &z, 64, true);
    for (int i = 0; i < 300; i++) zm_push(&z, 0, "f%d", i);
    zb_load(c, __LINE__, "eq", z.e + z.n - 300, 300);
    zm_sort(&z);
    ZB_CHECK(c, "eq", &z, 65, true);
    zm_free(&z);
}

/* ---- the rank index across restarts: its own server, with an AOF for Redis ------------------------------------- */

static st_server psrv;

static int setup_persist(void **state) {
    (void)state;
    return st_it_group_setup(&psrv, "it-zset-aof", ST_IT_ARGS("--appendfsync", "always", "--write-buffer", "64kb"));
}
static int teardown_persist(void **state) {
    (void)state;
    return st_it_group_teardown(&psrv);
}

static void test_big_zset_restart(void **state) {
    (void)state;
    st_rng rng;
    st_rng_seed(&rng, 0x5eed0005);
    redisContext *c = ST_CONNECT(&psrv);
    zmodel z = {0};
    for (int i = 0; i < 12000; i++) zm_push(&z, (double)((i * 7919) % 6000), "m%d", i);
    zb_load(c, __LINE__, "big", z.e, z.n);
    zm_sort(&z);
    EXPECT_INT(c, 2000, "ZREMRANGEBYRANK big 2000 3999");
    zm_cut(&z, 2000, 4000);
    expect_zents(c, __FILE__, __LINE__, z.e + z.n - 500, 500, true, true, "ZPOPMAX big 500");
    zm_cut(&z, z.n - 500, z.n);
    ZB_CHECK(c, "big", &z, 71, false);
    redisFree(c);
    if (st_server_stop(&psrv) != 0) ST_FAIL("SIGTERM did not stop the server cleanly");
    if (st_server_restart(&psrv) != 0) ST_FAIL("restart failed");
    c = ST_CONNECT(&psrv);
    ZB_CHECK(c, "big", &z, 72, true);
    /* more writes, every one acknowledged; then kill -9 */
    expect_zents(c, __FILE__, __LINE__, z.e, 500, false, true, "ZPOPMIN big 500");
    zm_cut(&z, 0, 500);
    size_t before = z.n;
    for (int i = 0; i < 700; i++) zm_push(&z, (double)st_rng_below(&rng, 6000) + 0.5, "r%d", i);
    zb_load(c, __LINE__, "big", z.e + before, z.n - before);
    zm_sort(&z);
    EXPECT_INT(c, 5000, "ZREMRANGEBYRANK big -6000 -1001");
    zm_cut(&z, z.n - 6000, z.n - 1000);
    redisFree(c);
    if (st_server_kill9(&psrv) != 0) ST_FAIL("kill -9: the server was not running");
    if (st_server_restart(&psrv) != 0) ST_FAIL("restart after kill -9 failed");
    c = ST_CONNECT(&psrv);
    ZB_CHECK(c, "big", &z, 73, true);
    /* and it takes writes across the sizes after recovery */
    EXPECT_INT(c, (long long)z.n - 60, "ZREMRANGEBYRANK big 30 %lld", (long long)z.n - 31);
    zm_cut(&z, 30, z.n - 30);
    ZB_CHECK(c, "big", &z, 74, true);
    redisFree(c);
    zm_free(&z);
}

/* ---- WRONGTYPE ---------------------------------------------------------------------------------------------- */

static void test_wrongtype(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 2, "ZADD z 1 a 2 b");
    static const char *const cmds[] = {
        "ZADD str 1 a", "ZADD str XX 1 a", "ZADD str INCR 1 a", "ZINCRBY str 1 a", "ZREM str a", "ZCARD str",
        "ZSCORE str a", "ZMSCORE str a b", "ZCOUNT str 0 1", "ZLEXCOUNT str - +", "ZRANK str a", "ZREVRANK str a",
        "ZRANGE str 0 -1", "ZRANGE str 0 1 BYSCORE", "ZRANGE str - + BYLEX", "ZRANGEBYSCORE str 0 1",
        "ZREVRANGEBYSCORE str 1 0", "ZRANGEBYLEX str - +", "ZREVRANGEBYLEX str + -", "ZREVRANGE str 0 -1",
        "ZRANGESTORE d str 0 -1", "ZPOPMIN str", "ZPOPMIN str 0", "ZPOPMAX str 2", "ZREMRANGEBYSCORE str 0 1",
        "ZREMRANGEBYRANK str 0 1", "ZREMRANGEBYLEX str - +", "ZUNIONSTORE d 1 str", "ZUNIONSTORE d 2 z str",
        "ZINTERSTORE d 1 str", "ZINTERSTORE d 2 missing str", "ZUNION 1 str", "ZUNION 2 z str", "ZINTER 1 str",
        "ZINTER 2 missing str", "ZDIFF 1 str", "ZDIFF 2 missing str", "ZDIFF 2 z str", "ZDIFFSTORE d 1 str",
        "ZDIFFSTORE d 2 missing str", "ZINTERCARD 1 str", "ZINTERCARD 2 missing str", "ZRANDMEMBER str",
        "ZRANDMEMBER str 2", "ZRANDMEMBER str -2 WITHSCORES", "ZSCAN str 0", "ZMPOP 1 str MIN",
        "ZMPOP 2 missing str MAX COUNT 2",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) EXPECT_ERR(c, WRONGTYPE, cmds[i]);
    /* nothing changed, no destination made */
    EXPECT_BULK(c, "v", "GET str");
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_ARR(c, A("a", "1", "b", "2"), "ZRANGE z 0 -1 WITHSCORES");
    EXPECT_INT(c, 2, "DBSIZE");
    /* and the other way round */
    EXPECT_ERR(c, WRONGTYPE, "GET z");
    EXPECT_ERR(c, WRONGTYPE, "SADD z a");
    EXPECT_ERR(c, WRONGTYPE, "HSET z f v");
    EXPECT_ERR(c, WRONGTYPE, "SMEMBERS z");
    EXPECT_ERR(c, WRONGTYPE, "SINTERCARD 1 z");
    EXPECT_OK(c, "SET z now-a-string");
    EXPECT_ERR(c, WRONGTYPE, "ZCARD z");
}

/* ---- arity ---------------------------------------------------------------------------------------------------- */

static void test_arity_errors(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "ZADD z 1 a");
    static const struct {
        const char *name, *cmd;
    } cases[] = {
        {"zadd", "ZADD"}, {"zadd", "ZADD z"}, {"zadd", "ZADD z 1"}, {"zincrby", "ZINCRBY z 1"},
        {"zincrby", "ZINCRBY z 1 a b"}, {"zrem", "ZREM z"}, {"zcard", "ZCARD"}, {"zcard", "ZCARD z y"},
        {"zscore", "ZSCORE z"}, {"zscore", "ZSCORE z a b"}, {"zmscore", "ZMSCORE z"}, {"zcount", "ZCOUNT z 0"},
        {"zcount", "ZCOUNT z 0 1 2"}, {"zlexcount", "ZLEXCOUNT z -"}, {"zrank", "ZRANK z"}, {"zrank", "ZRANK z a b"},
        {"zrevrank", "ZREVRANK z"}, {"zrange", "ZRANGE z 0"}, {"zrangebyscore", "ZRANGEBYSCORE z 0"},
        {"zrevrangebyscore", "ZREVRANGEBYSCORE z 0"}, {"zrangebylex", "ZRANGEBYLEX z -"},
        {"zrevrangebylex", "ZREVRANGEBYLEX z +"}, {"zrevrange", "ZREVRANGE z 0"}, {"zrangestore", "ZRANGESTORE d z 0"},
        {"zpopmin", "ZPOPMIN"}, {"zpopmax", "ZPOPMAX"}, {"zremrangebyscore", "ZREMRANGEBYSCORE z 0"},
        {"zremrangebyrank", "ZREMRANGEBYRANK z 0"}, {"zremrangebyrank", "ZREMRANGEBYRANK z 0 1 2"},
        {"zremrangebylex", "ZREMRANGEBYLEX z -"}, {"zunionstore", "ZUNIONSTORE d"}, {"zunionstore", "ZUNIONSTORE d 1"},
        {"zinterstore", "ZINTERSTORE d"}, {"zunion", "ZUNION"}, {"zunion", "ZUNION 1"}, {"zinter", "ZINTER 1"},
        {"zdiff", "ZDIFF"}, {"zdiff", "ZDIFF 1"}, {"zdiffstore", "ZDIFFSTORE d 1"}, {"zintercard", "ZINTERCARD"},
        {"zintercard", "ZINTERCARD 1"}, {"zrandmember", "ZRANDMEMBER"}, {"zscan", "ZSCAN"}, {"zscan", "ZSCAN z"},
        {"zmpop", "ZMPOP 1"}, {"zmpop", "ZMPOP 1 z"}, {"zadd", "zadd z"}, {"zrange", "zRange z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", cases[i].name);
        EXPECT_ERR(c, want, cases[i].cmd);
    }
    EXPECT_ERR(c, E_SYNTAX, "ZPOPMIN z 1 2");
    EXPECT_ARR(c, A("a", "1"), "ZRANGE z 0 -1 WITHSCORES"); /* nothing changed */
    EXPECT_INT(c, 1, "DBSIZE");
}

/* ---- RESP2 and RESP3 bytes --------------------------------------------------------------------------------------- */

static void test_resp_shapes(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    /* RESP2 first */
    st_raw_cmd(&r, "ZADD", "z", "1.5", "a", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "a", NULL);
    RAW_EXPECT(&r, "$3\r\n1.5\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "x", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "ZRANK", "z", "x", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "ZMSCORE", "z", "a", "x", NULL);
    RAW_EXPECT(&r, "*2\r\n$3\r\n1.5\r\n$-1\r\n");
    st_raw_cmd(&r, "ZRANGE", "z", "0", "-1", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
    st_raw_cmd(&r, "ZMPOP", "1", "missing", "MIN", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_cmd(&r, "ZPOPMIN", "missing", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "missing", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "ZADD", "z", "NX", "INCR", "1", "a", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "ZINCRBY", "z", "1", "a", NULL);
    RAW_EXPECT(&r, "$3\r\n2.5\r\n");
    st_raw_cmd(&r, "DEL", "z", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    /* RESP3 */
    st_raw_cmd(&r, "HELLO", "3", NULL);
    const char *why = NULL;
    char *hello = st_raw_reply(&r, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!hello || hello[0] != '%') ST_FAIL("HELLO 3: no map reply (%s)", hello ? hello : why);
    free(hello);
    st_raw_cmd(&r, "ZADD", "z", "1.5", "a", "2", "b", "inf", "c", NULL);
    RAW_EXPECT(&r, ":3\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "a", NULL);
    RAW_EXPECT(&r, ",1.5\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "c", NULL);
    RAW_EXPECT(&r, ",inf\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "x", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZSCORE", "missing", "x", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZADD", "z", "INCR", "1", "a", NULL);
    RAW_EXPECT(&r, ",2.5\r\n");
    st_raw_cmd(&r, "ZADD", "z", "NX", "INCR", "1", "a", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZINCRBY", "z", "1", "b", NULL);
    RAW_EXPECT(&r, ",3\r\n");
    st_raw_cmd(&r, "ZMSCORE", "z", "a", "x", "c", NULL);
    RAW_EXPECT(&r, "*3\r\n,2.5\r\n_\r\n,inf\r\n");
    st_raw_cmd(&r, "ZMSCORE", "missing", "a", NULL);
    RAW_EXPECT(&r, "*1\r\n_\r\n");
    st_raw_cmd(&r, "ZRANGE", "z", "0", "-1", NULL);
    RAW_EXPECT(&r, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    st_raw_cmd(&r, "ZRANGE", "z", "0", "-1", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*3\r\n*2\r\n$1\r\na\r\n,2.5\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,inf\r\n");
    st_raw_cmd(&r, "ZRANGE", "missing", "0", "-1", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "ZRANGEBYSCORE", "z", "(2.5", "+inf", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,inf\r\n");
    st_raw_cmd(&r, "ZREVRANGE", "z", "0", "0", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n");
    st_raw_cmd(&r, "ZRANK", "z", "c", NULL);
    RAW_EXPECT(&r, ":2\r\n");
    st_raw_cmd(&r, "ZRANK", "z", "x", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZREVRANK", "missing", "x", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZUNION", "1", "z", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*3\r\n*2\r\n$1\r\na\r\n,2.5\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nc\r\n,inf\r\n");
    st_raw_cmd(&r, "ZSCAN", "z", "0", "MATCH", "a", NULL); /* ZSCAN scores stay bulk strings */
    RAW_EXPECT(&r, "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\n2.5\r\n");
    /* pops: a single pair flat, with a count an array of pairs */
    st_raw_cmd(&r, "ZPOPMIN", "z", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\na\r\n,2.5\r\n");
    st_raw_cmd(&r, "ZPOPMAX", "z", "1", NULL);
    RAW_EXPECT(&r, "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n");
    st_raw_cmd(&r, "ZPOPMIN", "missing", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "ZPOPMIN", "missing", "2", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "z", NULL);
    RAW_EXPECT(&r, "$1\r\nb\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "z", "1", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*1\r\n*2\r\n$1\r\nb\r\n,3\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "z", "-2", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\nb\r\n,3\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "z", "-2", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\nb\r\n$1\r\nb\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZRANDMEMBER", "missing", "2", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "ZADD", "z", "1", "a", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "ZMPOP", "1", "z", "MAX", "COUNT", "5", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n,3\r\n*2\r\n$1\r\na\r\n,1\r\n");
    st_raw_cmd(&r, "ZMPOP", "1", "z", "MIN", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "ZADD", "z", "1e20", "big", "0.1", "p", "-2.5", "n", NULL);
    RAW_EXPECT(&r, ":3\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "big", NULL);
    RAW_EXPECT(&r, ",1e+20\r\n");
    st_raw_cmd(&r, "ZSCORE", "z", "p", NULL);
    RAW_EXPECT(&r, ",0.10000000000000001\r\n");
    st_raw_cmd(&r, "ZINCRBY", "z", "1", "p", NULL);
    RAW_EXPECT(&r, ",1.1000000000000001\r\n");
    st_raw_cmd(&r, "ZRANGE", "z", "0", "0", "WITHSCORES", NULL);
    RAW_EXPECT(&r, "*1\r\n*2\r\n$1\r\nn\r\n,-2.5\r\n");
    st_raw_cmd(&r, "ZCARD", "z", NULL);
    RAW_EXPECT(&r, ":3\r\n");
    st_raw_cmd(&r, "SET", "str", "v", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "ZSCORE", "str", "a", NULL);
    RAW_EXPECT(&r, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    st_raw_cmd(&r, "ZINCRBY", "z", "-inf", "big", NULL);
    RAW_EXPECT(&r, ",-inf\r\n");
    st_raw_cmd(&r, "ZINCRBY", "z", "inf", "big", NULL);
    RAW_EXPECT(&r, "-ERR resulting score is not a number (NaN)\r\n");
    st_raw_close(&r);
}

/* ---- TTL, DEL -------------------------------------------------------------------------------------------------- */

static void test_ttl_and_del(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "ZADD z 1 a 2 b 3 c");
    EXPECT_INT(c, -1, "TTL z");
    /* writes keep the TTL */
    EXPECT_INT(c, 1, "EXPIRE z 100");
    EXPECT_INT(c, 1, "ZADD z 4 d");
    EXPECT_BULK(c, "2", "ZINCRBY z 1 a");
    EXPECT_INT(c, 1, "ZREM z d");
    EXPECT_INT(c, 1, "ZREMRANGEBYRANK z 0 0");
    EXPECT_INT_RANGE(c, 98, 100, "TTL z");
    /* an expiring zset disappears with its members */
    EXPECT_INT(c, 1, "PEXPIRE z 100");
    EXPECT_INT_RANGE(c, 1, 100, "PTTL z");
    wait_gone(c, __FILE__, __LINE__, "z", 3000);
    EXPECT_STATUS(c, "none", "TYPE z");
    EXPECT_INT(c, 0, "ZCARD z");
    EXPECT_NIL(c, "ZSCORE z c");
    EXPECT_NIL(c, "ZRANK z c");
    EXPECT_EMPTY(c, "ZRANGE z 0 -1");
    EXPECT_EMPTY(c, "ZPOPMIN z");
    EXPECT_INT(c, -2, "TTL z");
    /* ZADD afterwards starts empty, without a TTL */
    EXPECT_INT(c, 1, "ZADD z 5 x");
    EXPECT_ARR(c, A("x", "5"), "ZRANGE z 0 -1 WITHSCORES");
    EXPECT_INT(c, -1, "TTL z");
    /* an expired zset nobody looked at: ZINCRBY starts from 0 */
    EXPECT_INT(c, 2, "ZADD t 7 a 8 b");
    EXPECT_INT(c, 1, "PEXPIRE t 50");
    int64_t until = st_now_ms() + 150;
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_BULK(c, "1", "ZINCRBY t 1 a");
    EXPECT_ARR(c, A("a", "1"), "ZRANGE t 0 -1 WITHSCORES");
    EXPECT_INT(c, -1, "TTL t");
    /* emptied with a TTL: deleted; ZADD then makes one without it */
    EXPECT_INT(c, 1, "EXPIRE t 100");
    EXPECT_ARR(c, A("a", "1"), "ZPOPMIN t");
    EXPECT_INT(c, 0, "EXISTS t");
    EXPECT_INT(c, 1, "ZADD t 1 y");
    EXPECT_INT(c, -1, "TTL t");
    /* *STORE destinations lose their TTL */
    EXPECT_INT(c, 1, "EXPIRE t 100");
    EXPECT_INT(c, 1, "ZUNIONSTORE t 1 z");
    EXPECT_INT(c, -1, "TTL t");
    EXPECT_INT(c, 1, "EXPIRE t 100");
    EXPECT_INT(c, 1, "ZRANGESTORE t z 0 -1");
    EXPECT_INT(c, -1, "TTL t");
    /* DEL then ZADD: old members do not come back */
    EXPECT_INT(c, 3, "ZADD d 1 a 2 b 3 c");
    EXPECT_INT(c, 1, "DEL d");
    EXPECT_INT(c, 0, "ZCARD d");
    EXPECT_INT(c, 1, "ZADD d 9 z");
    EXPECT_ARR(c, A("z", "9"), "ZRANGE d 0 -1 WITHSCORES");
    EXPECT_NIL(c, "ZSCORE d a");
    EXPECT_INT(c, 0, "ZCOUNT d -inf 8");
    EXPECT_INT(c, 1, "UNLINK d");
    EXPECT_BULK(c, "2", "ZINCRBY d 2 b");
    EXPECT_ARR(c, A("b", "2"), "ZRANGE d 0 -1 WITHSCORES");
    /* a string replaced by a zset and back */
    EXPECT_INT(c, 1, "DEL d");
    EXPECT_OK(c, "SET d str");
    EXPECT_INT(c, 1, "DEL d");
    EXPECT_INT(c, 1, "ZADD d 1 q");
    EXPECT_ARR(c, A("q", "1"), "ZRANGE d 0 -1 WITHSCORES");
    /* RENAME carries members and TTL */
    EXPECT_INT(c, 1, "EXPIRE d 100");
    EXPECT_OK(c, "RENAME d e");
    EXPECT_INT(c, 0, "EXISTS d");
    EXPECT_STATUS(c, "zset", "TYPE e");
    EXPECT_ARR(c, A("q", "1"), "ZRANGE e 0 -1 WITHSCORES");
    EXPECT_INT_RANGE(c, 98, 100, "TTL e");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zadd_zcard_zscore_zrem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zadd_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ties_and_binary_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zmscore_zrank, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrange_by_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrange_by_score, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrange_by_lex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrange_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrangestore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zmpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zremrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zunionstore_zinterstore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zunion_zinter_zdiff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrandmember, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zscan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_zset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaderboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_ranks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_shrink_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_multi_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_equal_scores, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_zset_restart, setup_persist, teardown_persist),
        cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_and_del, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
