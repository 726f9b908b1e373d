/* test_server_collections.c -- hashes and sets as KEYS of strata-server, against Redis 7.0's replies:
 *  - WRONGTYPE between strings, hashes and sets (every hash and set command on a string, the string
 *    commands on a hash and a set, set commands on a hash and hash commands on a set); MGET's nils;
 *    SET/MSET/SET KEEPTTL and SUNIONSTORE/SDIFFSTORE overwriting a key of another type;
 *  - TYPE, EXISTS, DBSIZE (a collection is one key), KEYS, SCAN ... TYPE, RANDOMKEY, FLUSHDB/FLUSHALL
 *    and SELECT isolation;
 *  - a collection made empty (HDEL, SREM, SPOP, SMOVE) disappears; DEL/UNLINK counts;
 *  - the EXPIRE family on collections, expiry hiding them, TTL kept by HSET/SADD and cleared by SET;
 *  - RENAME/RENAMENX of hashes and sets onto every type (a 3000-field hash too);
 *  - a 100,000-field hash and a 50,000-member set deleted promptly;
 *  - persistence: clean restart and kill -9 under --appendfsync always.
 * Wherever a key is re-created after a delete, overwrite, expiry, rename or flush, the test checks it
 * starts empty: old fields and members never come back. Strata returns fields and members in byte
 * order and Redis in hash order, so every multi-element reply is compared unordered. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;  /* the group's server */
static st_server psrv; /* the persistence tests' own server */

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-coll", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"

/* ---- unordered comparison of multi-element replies -------------------------------------------------- */

typedef struct bstr {
    const char *p;
    size_t n;
} bstr;

/* A field and its value (stride 2) or a member / key (stride 1, v unused). */
typedef struct kvp {
    bstr k, v;
} kvp;

static int bstr_cmp(bstr a, bstr b) {
    size_t n = a.n < b.n ? a.n : b.n;
    int d = n ? memcmp(a.p, b.p, n) : 0;
    return d ? d : (a.n > b.n) - (a.n < b.n);
}
static bool bstr_eq(bstr a, bstr b) { return a.n == b.n && (!a.n || !memcmp(a.p, b.p, a.n)); }
static int kvp_cmp(const void *a, const void *b) { return bstr_cmp(((const kvp *)a)->k, ((const kvp *)b)->k); }

/* got (sorted here) must be exactly want (any order): same count, same elements (and values). */
static void compare_unordered(const char *file, int line, const char *what, int stride, kvp *got, size_t ngot,
                              const kvp *want, size_t n) {
    kvp *w = malloc((n + 1) * sizeof *w);
    memcpy(w, want, n * sizeof *w);
    qsort(got, ngot, sizeof *got, kvp_cmp);
    qsort(w, n, sizeof *w, kvp_cmp);
    if (ngot != n) {
        char list[2048] = "";
        size_t o = 0;
        for (size_t i = 0; i < ngot && i < 20 && o < sizeof list - 200; i++) {
            char *e = st_escape(got[i].k.p, got[i].k.n < 100 ? got[i].k.n : 100);
            o += (size_t)snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", e);
            free(e);
        }
        st_fail_at(file, line, "`%s`: %zu elements (groups of %d strings), want %zu; got (sorted) [%s%s]", what,
                   ngot, stride, n, list, ngot > 20 ? ", ..." : "");
    }
    for (size_t i = 0; i < n; i++) {
        if (bstr_eq(got[i].k, w[i].k) && (stride == 1 || bstr_eq(got[i].v, w[i].v))) continue;
        char *gk = st_escape(got[i].k.p, got[i].k.n), *wk = st_escape(w[i].k.p, w[i].k.n);
        char *gv = stride == 2 ? st_escape(got[i].v.p, got[i].v.n) : strdup("");
        char *wv = stride == 2 ? st_escape(w[i].v.p, w[i].v.n) : strdup("");
        st_fail_at(file, line, "`%s` (sorted) element %zu: got \"%s\"%s%s%s, want \"%s\"%s%s%s", what, i, gk,
                   stride == 2 ? " => \"" : "", gv, stride == 2 ? "\"" : "", wk, stride == 2 ? " => \"" : "", wv,
                   stride == 2 ? "\"" : "");
    }
    free(w);
}

static void check_reply_unordered(const redisReply *r, const char *file, int line, const char *what, int stride,
                                  const kvp *want, size_t n) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements % (size_t)stride) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "`%s`: got %s, want an array of %zu strings", what, s, n * (size_t)stride);
    }
    size_t ng = r->elements / (size_t)stride;
    kvp *got = calloc(ng + 1, sizeof *got);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING) {
            char *s = st_reply_repr(e);
            st_fail_at(file, line, "`%s`: element %zu is %s, not a bulk string", what, i, s);
        }
        bstr b = {e->str, e->len};
        if (i % (size_t)stride == 0) got[i / (size_t)stride].k = b;
        else got[i / (size_t)stride].v = b;
    }
    compare_unordered(file, line, what, stride, got, ng, want, n);
    free(got);
}

static redisReply *vrun(redisContext *c, const char *file, int line, const char *fmt, va_list ap) {
    redisReply *r = redisvCommand(c, fmt, ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    return r;
}

/* Runs the command; its reply must hold, in any order, the n groups of want: n * stride
 * NUL-terminated strings (field, value, field, value... or members). */
static void expect_unordered(redisContext *c, const char *file, int line, int stride, size_t n,
                             const char *const *want, const char *fmt, ...) {
    kvp *w = calloc(n + 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        const char *k = want[i * (size_t)stride];
        w[i].k = (bstr){k, strlen(k)};
        if (stride == 2) w[i].v = (bstr){want[i * 2 + 1], strlen(want[i * 2 + 1])};
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vrun(c, file, line, fmt, ap);
    va_end(ap);
    check_reply_unordered(r, file, line, fmt, stride, w, n);
    freeReplyObject(r);
    free(w);
}

/* "VERB key" in buf, used as the command's format so a failure names the key (text keys only:
 * no spaces, no '%'). */
static const char *kcmd(char *buf, size_t size, const char *verb, const char *key) {
    snprintf(buf, size, "%s %s", verb, key);
    return buf;
}

/* A hash holds exactly the n field/value pairs (HGETALL, HLEN, TYPE; n == 0: the key is absent). */
static void expect_hash(redisContext *c, const char *file, int line, const char *key, size_t n,
                        const char *const *fv) {
    char cmd[128];
    expect_unordered(c, file, line, 2, n, fv, kcmd(cmd, sizeof cmd, "HGETALL", key));
    st_expect_int(c, file, line, (long long)n, kcmd(cmd, sizeof cmd, "HLEN", key));
    st_expect_status(c, file, line, n ? "hash" : "none", kcmd(cmd, sizeof cmd, "TYPE", key));
}

/* A set holds exactly the n members (SMEMBERS, SCARD, TYPE; n == 0: the key is absent). */
static void expect_set(redisContext *c, const char *file, int line, const char *key, size_t n,
                       const char *const *members) {
    char cmd[128];
    expect_unordered(c, file, line, 1, n, members, kcmd(cmd, sizeof cmd, "SMEMBERS", key));
    st_expect_int(c, file, line, (long long)n, kcmd(cmd, sizeof cmd, "SCARD", key));
    st_expect_status(c, file, line, n ? "set" : "none", kcmd(cmd, sizeof cmd, "TYPE", key));
}

/* KEYS pattern returns exactly the n keys (pattern: text without spaces). */
static void expect_keys(redisContext *c, const char *file, int line, const char *pattern, size_t n,
                        const char *const *want) {
    char cmd[128];
    expect_unordered(c, file, line, 1, n, want, kcmd(cmd, sizeof cmd, "KEYS", pattern));
}

#define STRS(...) ((const char *const[]){__VA_ARGS__})
#define EXPECT_HASH(c, key, n, ...) expect_hash((c), __FILE__, __LINE__, (key), (n), STRS(__VA_ARGS__))
#define EXPECT_SET(c, key, n, ...) expect_set((c), __FILE__, __LINE__, (key), (n), STRS(__VA_ARGS__))
#define EXPECT_NO_HASH(c, key) expect_hash((c), __FILE__, __LINE__, (key), 0, STRS(NULL))
#define EXPECT_NO_SET(c, key) expect_set((c), __FILE__, __LINE__, (key), 0, STRS(NULL))
#define EXPECT_UNORDERED(c, n, want, ...) expect_unordered((c), __FILE__, __LINE__, 1, (n), (want), __VA_ARGS__)
#define EXPECT_KEYS(c, pattern, n, ...) expect_keys((c), __FILE__, __LINE__, (pattern), (n), STRS(__VA_ARGS__))

/* One full SCAN iteration (cursor back to "0", bounded in calls and time) with the given extra
 * arguments; every key in want must come back exactly once and nothing else. */
static void expect_scan(redisContext *c, const char *file, int line, const char *args, size_t n,
                        const char *const *want) {
    char cursor[32] = "0";
    size_t ngot = 0, cap = 64;
    kvp *got = malloc(cap * sizeof *got);
    int calls = 0;
    int64_t deadline = st_now_ms() + 10000;
    do {
        char cmd[256]; /* the arguments split on spaces, as hiredis does with a format */
        snprintf(cmd, sizeof cmd, "SCAN %s %s", cursor, args);
        redisReply *r = st_cmd(c, file, line, cmd);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            char *s = st_reply_repr(r);
            st_fail_at(file, line, "SCAN %s %s: bad reply %s", cursor, args, s);
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const redisReply *e = r->element[1]->element[i];
            if (ngot == cap) got = realloc(got, (cap *= 2) * sizeof *got);
            char *k = malloc(e->len + 1);
            memcpy(k, e->str, e->len + 1);
            got[ngot++] = (kvp){{k, e->len}, {NULL, 0}};
        }
        freeReplyObject(r);
        if (++calls > 10000 || st_now_ms() > deadline)
            st_fail_at(file, line, "SCAN ... %s: cursor not back to 0 after %d calls", args, calls);
    } while (strcmp(cursor, "0"));
    kvp *w = calloc(n + 1, sizeof *w);
    for (size_t i = 0; i < n; i++) w[i].k = (bstr){want[i], strlen(want[i])};
    char what[160];
    snprintf(what, sizeof what, "full SCAN %s", args);
    compare_unordered(file, line, what, 1, got, ngot, w, n);
    for (size_t i = 0; i < ngot; i++) free((void *)got[i].k.p);
    free(got);
    free(w);
}
#define EXPECT_SCAN(c, args, n, ...) expect_scan((c), __FILE__, __LINE__, (args), (n), STRS(__VA_ARGS__))

/* ---- pipelined writes, each reply checked --------------------------------------------------------------- */

enum { PIPE_MAX = 1000 };

typedef struct pipe_t {
    redisContext *c;
    int n;
    long long want[PIPE_MAX];
} pipe_t;

static void pipe_drain(pipe_t *p, const char *file, int line) {
    for (int i = 0; i < p->n; i++) {
        redisReply *r = st_get_reply(p->c, file, line);
        st_check_reply_int(r, file, line, p->want[i], "pipelined write");
        freeReplyObject(r);
    }
    p->n = 0;
}

/* After a redisAppendCommand: its reply must be the integer want. At most PIPE_MAX in flight. */
static void pipe_push(pipe_t *p, long long want, const char *file, int line) {
    p->want[p->n++] = want;
    if (p->n == PIPE_MAX) pipe_drain(p, file, line);
}

/* HSET key f<i> v<i> for i in [0, n), batch fields per command, PIPE_MAX commands in flight. */
static void fill_hash(redisContext *c, const char *key, int n, int batch, const char *file, int line) {
    pipe_t *p = calloc(1, sizeof *p);
    p->c = c;
    char *cmd = malloc((size_t)batch * 48 + 64);
    for (int base = 0; base < n; base += batch) {
        int o = sprintf(cmd, "HSET %s", key), k = 0;
        for (int i = base; i < base + batch && i < n; i++, k++) o += sprintf(cmd + o, " f%d v%d", i, i);
        redisAppendCommand(c, cmd);
        pipe_push(p, k, file, line);
    }
    pipe_drain(p, file, line);
    free(cmd);
    free(p);
}

/* SADD key m<i> for i in [0, n), as fill_hash. */
static void fill_set(redisContext *c, const char *key, int n, int batch, const char *file, int line) {
    pipe_t *p = calloc(1, sizeof *p);
    p->c = c;
    char *cmd = malloc((size_t)batch * 24 + 64);
    for (int base = 0; base < n; base += batch) {
        int o = sprintf(cmd, "SADD %s", key), k = 0;
        for (int i = base; i < base + batch && i < n; i++, k++) o += sprintf(cmd + o, " m%d", i);
        redisAppendCommand(c, cmd);
        pipe_push(p, k, file, line);
    }
    pipe_drain(p, file, line);
    free(cmd);
    free(p);
}

/* Sleeps until `ms` milliseconds have passed since `since` (st_now_ms), bounded by ms itself. */
static void wait_until(int64_t since, int ms) {
    while (st_now_ms() - since < ms) st_sleep_ms(10);
}

/* ---- 1. WRONGTYPE ---------------------------------------------------------------------------------------- */

/* Every hash command, and some of them in several forms; %s is the key under test. */
static const char *const hash_cmds[] = {
    "HSET %s f v",        "HSET %s f v g w",     "HSETNX %s f v",         "HMSET %s f v g w", "HGET %s f",
    "HMGET %s f g",       "HDEL %s f",           "HDEL %s f g",           "HLEN %s",          "HSTRLEN %s f",
    "HEXISTS %s f",       "HKEYS %s",            "HVALS %s",              "HGETALL %s",       "HINCRBY %s f 1",
    "HINCRBYFLOAT %s f 1.5", "HRANDFIELD %s",    "HRANDFIELD %s 2",       "HRANDFIELD %s -2 WITHVALUES",
    "HSCAN %s 0",         "HSCAN %s 0 MATCH * COUNT 10",
};

/* Every set command; other:set is a set holding m and x, store:dst must never be created. */
static const char *const set_cmds[] = {
    "SADD %s m",          "SADD %s m n",         "SREM %s m",             "SMEMBERS %s",
    "SISMEMBER %s m",     "SMISMEMBER %s m n",   "SCARD %s",              "SPOP %s",
    "SPOP %s 2",          "SRANDMEMBER %s",      "SRANDMEMBER %s -3",     "SMOVE %s other:set m",
    "SMOVE other:set %s m", "SINTER %s",         "SINTER other:set %s",   "SINTERCARD 1 %s",
    "SINTERCARD 2 other:set %s LIMIT 1",         "SINTERSTORE store:dst %s", "SINTERSTORE store:dst other:set %s",
    "SUNION %s",          "SUNION other:set %s", "SUNIONSTORE store:dst %s other:set",
    "SDIFF %s other:set", "SDIFF other:set %s",  "SDIFFSTORE store:dst %s", "SDIFFSTORE store:dst other:set %s",
    "SSCAN %s 0",         "SSCAN %s 0 MATCH * COUNT 10",
};

/* The string commands that read or modify a string value. */
static const char *const string_cmds[] = {
    "GET %s",          "GETSET %s v",     "GETDEL %s",          "GETEX %s",         "GETEX %s EX 100",
    "GETEX %s PERSIST", "APPEND %s x",    "STRLEN %s",          "INCR %s",          "INCRBY %s 5",
    "DECR %s",         "DECRBY %s 5",     "INCRBYFLOAT %s 1.5", "GETRANGE %s 0 -1",
    "SETRANGE %s 0 x", "SETRANGE %s 5 x", "SET %s v GET",       "SET %s v GET EX 100", "SET %s v XX GET",
    "SET %s v NX GET",
};

static void expect_wrongtype_all(redisContext *c, const char *file, int line, const char *const *cmds, size_t n,
                                 const char *key) {
    for (size_t i = 0; i < n; i++) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, cmds[i], key);
        st_expect_error(c, file, line, WRONGTYPE, cmd);
    }
}
#define EXPECT_WRONGTYPE_ALL(c, cmds, key) \
    expect_wrongtype_all((c), __FILE__, __LINE__, (cmds), sizeof(cmds) / sizeof *(cmds), (key))

static void test_wrongtype_on_string_key(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET str hello");
    EXPECT_INT(c, 2, "SADD other:set m x");
    EXPECT_WRONGTYPE_ALL(c, hash_cmds, "str");
    EXPECT_WRONGTYPE_ALL(c, set_cmds, "str");
    /* nothing changed: the string, the other set, no store destination */
    EXPECT_BULK(c, "hello", "GET str");
    EXPECT_STATUS(c, "string", "TYPE str");
    EXPECT_INT(c, -1, "TTL str");
    EXPECT_SET(c, "other:set", 2, "m", "x");
    EXPECT_INT(c, 0, "EXISTS store:dst");
    EXPECT_INT(c, 2, "DBSIZE");
    /* a binary string key */
    EXPECT_OK(c, "SET %b v", "s\0\xff", (size_t)3);
    EXPECT_ERR(c, WRONGTYPE, "HSET %b f v", "s\0\xff", (size_t)3);
    EXPECT_ERR(c, WRONGTYPE, "SADD %b m", "s\0\xff", (size_t)3);
    EXPECT_BULK(c, "v", "GET %b", "s\0\xff", (size_t)3);
}

static void test_wrongtype_on_collection_keys(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "HSET h a 1 b 2");
    EXPECT_INT(c, 2, "SADD s x y");
    EXPECT_INT(c, 2, "SADD other:set m x");
    EXPECT_OK(c, "SET str v");
    EXPECT_WRONGTYPE_ALL(c, string_cmds, "h");
    EXPECT_WRONGTYPE_ALL(c, string_cmds, "s");
    EXPECT_WRONGTYPE_ALL(c, set_cmds, "h");
    EXPECT_WRONGTYPE_ALL(c, hash_cmds, "s");
    /* the conditional writes see the key as existing and leave it alone */
    EXPECT_INT(c, 0, "SETNX h v");
    EXPECT_INT(c, 0, "SETNX s v");
    EXPECT_NIL(c, "SET h v NX");
    EXPECT_NIL(c, "SET s v NX PX 1000");
    EXPECT_INT(c, 0, "MSETNX fresh v s v");
    EXPECT_INT(c, 0, "MSETNX h v fresh v");
    EXPECT_INT(c, 0, "EXISTS fresh");
    /* MGET answers nil for a key that holds no string */
    EXPECT_STRS(c, 5, STRS("v", NULL, NULL, NULL, "v"), "MGET str h s missing str");
    /* nothing above changed either collection or gave it a TTL, or created a destination */
    EXPECT_HASH(c, "h", 2, "a", "1", "b", "2");
    EXPECT_SET(c, "s", 2, "x", "y");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_INT(c, -1, "TTL s");
    EXPECT_SET(c, "other:set", 2, "m", "x");
    EXPECT_INT(c, 0, "EXISTS store:dst");
    EXPECT_INT(c, 4, "DBSIZE");
}

/* SET (plain, XX, EX, KEEPTTL), MSET and the *STORE commands replace a key of any type; a key
 * re-created afterwards starts empty. */
static void test_overwrite_by_other_types(void **state) {
    redisContext *c = *state;
    /* SET over a hash with a TTL: a string without TTL; the old fields never come back */
    EXPECT_INT(c, 3, "HSET h a 1 b 2 c 3");
    EXPECT_INT(c, 1, "EXPIRE h 100");
    EXPECT_OK(c, "SET h str");
    EXPECT_STATUS(c, "string", "TYPE h");
    EXPECT_BULK(c, "str", "GET h");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_ERR(c, WRONGTYPE, "HGET h a");
    EXPECT_ERR(c, WRONGTYPE, "HLEN h");
    EXPECT_INT(c, 1, "DEL h");
    EXPECT_INT(c, 1, "HSET h a new");  /* a is a new field */
    EXPECT_HASH(c, "h", 1, "a", "new");
    EXPECT_NIL(c, "HGET h b");
    EXPECT_INT(c, 0, "HEXISTS h c");
    /* SET XX over a set; the string removed by GETDEL; SADD starts from empty */
    EXPECT_INT(c, 3, "SADD s x y z");
    EXPECT_OK(c, "SET s v XX");
    EXPECT_STATUS(c, "string", "TYPE s");
    EXPECT_BULK(c, "v", "GETDEL s");
    EXPECT_INT(c, 1, "SADD s x");
    EXPECT_SET(c, "s", 1, "x");
    EXPECT_INT(c, 0, "SISMEMBER s y");
    /* SET ... KEEPTTL over a hash keeps the TTL; SET ... EX sets its own */
    EXPECT_INT(c, 2, "HSET hk a 1 b 2");
    EXPECT_INT(c, 1, "EXPIRE hk 300");
    EXPECT_OK(c, "SET hk v KEEPTTL");
    EXPECT_STATUS(c, "string", "TYPE hk");
    EXPECT_INT_RANGE(c, 298, 300, "TTL hk");
    EXPECT_INT(c, 2, "SADD se p q");
    EXPECT_OK(c, "SET se v EX 500");
    EXPECT_INT_RANGE(c, 498, 500, "TTL se");
    EXPECT_BULK(c, "v", "GET se");
    /* expire the strings at once, re-create as collections: empty */
    EXPECT_INT(c, 1, "PEXPIRE hk -1");
    EXPECT_INT(c, 1, "EXPIREAT se 1");
    EXPECT_INT(c, 1, "HSET hk b again");
    EXPECT_HASH(c, "hk", 1, "b", "again");
    EXPECT_INT(c, -1, "TTL hk");
    EXPECT_INT(c, 1, "SADD se q");
    EXPECT_SET(c, "se", 1, "q");
    EXPECT_INT(c, -1, "TTL se");
    /* MSET over a hash and a set at once */
    EXPECT_INT(c, 2, "HSET mh a 1 b 2");
    EXPECT_INT(c, 2, "SADD ms a b");
    EXPECT_OK(c, "MSET mh 1 ms 2");
    EXPECT_STRS(c, 2, STRS("1", "2"), "MGET mh ms");
    EXPECT_INT(c, 2, "DEL mh ms");
    EXPECT_INT(c, 1, "HSET mh c 3");
    EXPECT_HASH(c, "mh", 1, "c", "3");
    EXPECT_INT(c, 1, "SADD ms c");
    EXPECT_SET(c, "ms", 1, "c");
    /* a *STORE destination of another type is replaced (its type not checked) */
    EXPECT_INT(c, 2, "SADD src1 a b");
    EXPECT_INT(c, 2, "HSET hx a 1 zz 2");
    EXPECT_INT(c, 2, "SUNIONSTORE hx src1");
    EXPECT_SET(c, "hx", 2, "a", "b");
    EXPECT_INT(c, 1, "DEL hx");
    EXPECT_INT(c, 1, "HSET hx a 2");
    EXPECT_HASH(c, "hx", 1, "a", "2");
    EXPECT_OK(c, "SET sx v");
    EXPECT_INT(c, 2, "SDIFFSTORE sx src1");
    EXPECT_SET(c, "sx", 2, "a", "b");
    /* an empty result deletes the destination, whatever it was */
    EXPECT_INT(c, 0, "SINTERSTORE hx src1 missing");
    EXPECT_INT(c, 0, "EXISTS hx");
    EXPECT_INT(c, 1, "HSET hx b 1");
    EXPECT_HASH(c, "hx", 1, "b", "1");
}

/* ---- 2. TYPE, EXISTS, DBSIZE, KEYS, SCAN, FLUSHDB, SELECT ---------------------------------------------- */

static void test_type_exists_dbsize_keys(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "HSET h f v g w");
    EXPECT_INT(c, 1, "SADD s m");
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 1, "HSET %b f v", "hb\xff", (size_t)3);
    EXPECT_INT(c, 1, "SADD %b m", "n\0ul", (size_t)4);
    EXPECT_STATUS(c, "hash", "TYPE h");
    EXPECT_STATUS(c, "set", "TYPE s");
    EXPECT_STATUS(c, "string", "TYPE str");
    EXPECT_STATUS(c, "none", "TYPE missing");
    EXPECT_STATUS(c, "hash", "TYPE %b", "hb\xff", (size_t)3);
    EXPECT_STATUS(c, "set", "TYPE %b", "n\0ul", (size_t)4);
    EXPECT_STATUS(c, "none", "TYPE %b", "n\0u", (size_t)3);
    EXPECT_INT(c, 1, "EXISTS %b", "n\0ul", (size_t)4);
    EXPECT_INT(c, 0, "EXISTS n");
    EXPECT_INT(c, 3, "EXISTS h s str missing");
    EXPECT_INT(c, 4, "EXISTS h h s s");
    EXPECT_INT(c, 5, "DBSIZE");
    /* a collection is one key, however many fields or members */
    fill_hash(c, "h", 200, 20, __FILE__, __LINE__);
    fill_set(c, "s", 200, 20, __FILE__, __LINE__);
    EXPECT_INT(c, 202, "HLEN h");
    EXPECT_INT(c, 201, "SCARD s");
    EXPECT_INT(c, 5, "DBSIZE");
    EXPECT_INT(c, 1, "DEL %b", "n\0ul", (size_t)4);
    EXPECT_INT(c, 4, "DBSIZE");
    EXPECT_KEYS(c, "*", 4, "h", "s", "str", "hb\xff");
    EXPECT_KEYS(c, "h*", 2, "h", "hb\xff");
    EXPECT_KEYS(c, "?", 2, "h", "s");
    EXPECT_KEYS(c, "s*", 2, "s", "str");
    EXPECT_KEYS(c, "f*", 0, NULL); /* no field or member name leaks out as a key */
    EXPECT_KEYS(c, "m*", 0, NULL);
    EXPECT_SCAN(c, "COUNT 1000", 4, "h", "s", "str", "hb\xff");
    /* RANDOMKEY names keys only: with one hash of 202 fields it is always that hash */
    EXPECT_INT(c, 3, "DEL s str %b", "hb\xff", (size_t)3);
    for (int i = 0; i < 30; i++) EXPECT_BULK(c, "h", "RANDOMKEY");
    EXPECT_INT(c, 1, "DEL h");
    EXPECT_INT(c, 1, "SADD s2 only");
    for (int i = 0; i < 30; i++) EXPECT_BULK(c, "s2", "RANDOMKEY");
}

static void test_scan_type(void **state) {
    redisContext *c = *state;
    enum { NH = 40, NS = 30, NSTR = 25 };
    static char names[NH + NS + NSTR][16];
    const char *hashes[NH], *sets[NS], *strings[NSTR], *all[NH + NS + NSTR], *h1[NH];
    size_t nh1 = 0;
    for (int i = 0; i < NH; i++) {
        snprintf(names[i], sizeof names[i], "h:%d", i);
        all[i] = hashes[i] = names[i];
        if (!strncmp(names[i], "h:1", 3)) h1[nh1++] = names[i];
        EXPECT_INT(c, 3, "HSET h:%d a 1 b 2 c 3", i);
    }
    for (int i = 0; i < NS; i++) {
        snprintf(names[NH + i], sizeof names[0], "s:%d", i);
        all[NH + i] = sets[i] = names[NH + i];
        EXPECT_INT(c, 2, "SADD s:%d x y", i);
    }
    for (int i = 0; i < NSTR; i++) {
        snprintf(names[NH + NS + i], sizeof names[0], "k:%d", i);
        all[NH + NS + i] = strings[i] = names[NH + NS + i];
        EXPECT_OK(c, "SET k:%d v", i);
    }
    EXPECT_INT(c, NH + NS + NSTR, "DBSIZE");
    expect_scan(c, __FILE__, __LINE__, "TYPE hash", NH, hashes);
    expect_scan(c, __FILE__, __LINE__, "TYPE set", NS, sets);
    expect_scan(c, __FILE__, __LINE__, "TYPE string", NSTR, strings);
    expect_scan(c, __FILE__, __LINE__, "COUNT 3 TYPE hash", NH, hashes);
    expect_scan(c, __FILE__, __LINE__, "TYPE set COUNT 7", NS, sets);
    expect_scan(c, __FILE__, __LINE__, "COUNT 5 TYPE string", NSTR, strings);
    expect_scan(c, __FILE__, __LINE__, "COUNT 4", NH + NS + NSTR, all);
    expect_scan(c, __FILE__, __LINE__, "MATCH h:1* TYPE hash COUNT 6", nh1, h1);
    EXPECT_SCAN(c, "MATCH h:* TYPE set", 0, NULL);
    EXPECT_SCAN(c, "MATCH s:* TYPE hash", 0, NULL);
    EXPECT_SCAN(c, "TYPE list", 0, NULL);
    EXPECT_UNORDERED(c, NS, sets, "KEYS s:*");
    /* deleting some changes what each type finds */
    for (int i = 0; i < NH; i += 2) EXPECT_INT(c, 1, "DEL h:%d", i);
    for (int i = 0; i < NS; i += 3) EXPECT_INT(c, 1, "UNLINK s:%d", i);
    const char *hl[NH], *sl[NS];
    size_t nhl = 0, nsl = 0;
    for (int i = 1; i < NH; i += 2) hl[nhl++] = hashes[i];
    for (int i = 0; i < NS; i++)
        if (i % 3) sl[nsl++] = sets[i];
    expect_scan(c, __FILE__, __LINE__, "COUNT 3 TYPE hash", nhl, hl);
    expect_scan(c, __FILE__, __LINE__, "COUNT 3 TYPE set", nsl, sl);
    expect_scan(c, __FILE__, __LINE__, "TYPE string", NSTR, strings);
}

static void test_flush_and_select(void **state) {
    redisContext *c = *state;
    redisContext *other = ST_CONNECT(&srv); /* stays in db 0 */
    EXPECT_OK(c, "SELECT 1");
    EXPECT_INT(c, 2, "HSET h a 1 b 2");
    EXPECT_INT(c, 2, "SADD s x y");
    EXPECT_INT(c, 2, "EXISTS h s");
    /* db 0 sees none of it */
    EXPECT_INT(other, 0, "EXISTS h s");
    EXPECT_STATUS(other, "none", "TYPE h");
    EXPECT_NO_HASH(other, "h");
    EXPECT_NO_SET(other, "s");
    EXPECT_NIL(other, "HGET h a");
    EXPECT_INT(other, 0, "SISMEMBER s x");
    EXPECT_KEYS(other, "*", 0, NULL);
    EXPECT_INT(other, 0, "DBSIZE");
    EXPECT_ERR(other, "ERR no such key", "RENAME h h2");
    /* the same names in db 0, with the other types: no WRONGTYPE across databases */
    EXPECT_INT(other, 1, "SADD h q");
    EXPECT_INT(other, 1, "HSET s f v");
    EXPECT_SET(other, "h", 1, "q");
    EXPECT_HASH(other, "s", 1, "f", "v");
    EXPECT_HASH(c, "h", 2, "a", "1", "b", "2");
    EXPECT_SET(c, "s", 2, "x", "y");
    EXPECT_SCAN(c, "TYPE hash", 1, "h");
    EXPECT_SCAN(other, "TYPE hash", 1, "s");
    /* FLUSHDB empties db 1 only; re-created keys start empty */
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 0, "EXISTS h s");
    EXPECT_NO_HASH(c, "h");
    EXPECT_NO_SET(c, "s");
    EXPECT_KEYS(c, "*", 0, NULL);
    EXPECT_INT(c, 1, "HSET h a new");
    EXPECT_HASH(c, "h", 1, "a", "new");
    EXPECT_INT(c, 1, "SADD s y");
    EXPECT_SET(c, "s", 1, "y");
    EXPECT_SET(other, "h", 1, "q");
    EXPECT_HASH(other, "s", 1, "f", "v");
    /* FLUSHALL empties both */
    EXPECT_OK(other, "FLUSHALL");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(other, 0, "DBSIZE");
    EXPECT_NO_HASH(c, "h");
    EXPECT_NO_SET(other, "h");
    EXPECT_INT(other, 1, "SADD h z");
    EXPECT_SET(other, "h", 1, "z");
    EXPECT_INT(c, 1, "HSET h b 3");
    EXPECT_HASH(c, "h", 1, "b", "3");
    redisFree(other);
}

/* ---- 3. empty collections disappear ---------------------------------------------------------------------- */

static void expect_gone(redisContext *c, const char *file, int line, const char *key) {
    char cmd[128];
    st_expect_int(c, file, line, 0, kcmd(cmd, sizeof cmd, "EXISTS", key));
    st_expect_status(c, file, line, "none", kcmd(cmd, sizeof cmd, "TYPE", key));
    st_expect_int(c, file, line, -2, kcmd(cmd, sizeof cmd, "TTL", key));
}
#define EXPECT_GONE(c, key) expect_gone((c), __FILE__, __LINE__, (key))

static void test_empty_collections_disappear(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "HSET live f v");
    /* HDEL of the last field, one at a time and several at once */
    EXPECT_INT(c, 2, "HSET h1 a 1 b 2");
    EXPECT_INT(c, 1, "HDEL h1 a");
    EXPECT_INT(c, 1, "EXISTS h1");
    EXPECT_INT(c, 1, "HDEL h1 b");
    EXPECT_GONE(c, "h1");
    EXPECT_NO_HASH(c, "h1");
    EXPECT_INT(c, 0, "HDEL h1 b");
    EXPECT_INT(c, 3, "HSET h2 a 1 b 2 c 3");
    EXPECT_INT(c, 1, "EXPIRE h2 100");
    EXPECT_INT(c, 3, "HDEL h2 a b c missing");
    EXPECT_GONE(c, "h2");
    /* SREM of the last member */
    EXPECT_INT(c, 2, "SADD s1 x y");
    EXPECT_INT(c, 2, "SREM s1 x y missing");
    EXPECT_GONE(c, "s1");
    EXPECT_NO_SET(c, "s1");
    /* SPOP of the last member, singly and with a count larger than the set */
    EXPECT_INT(c, 1, "SADD s2 only");
    EXPECT_BULK(c, "only", "SPOP s2");
    EXPECT_GONE(c, "s2");
    EXPECT_NIL(c, "SPOP s2");
    EXPECT_INT(c, 3, "SADD s3 a b c");
    EXPECT_UNORDERED(c, 3, STRS("a", "b", "c"), "SPOP s3 5");
    EXPECT_GONE(c, "s3");
    EXPECT_INT(c, 2, "SADD s3b a b");
    EXPECT_UNORDERED(c, 2, STRS("a", "b"), "SPOP s3b 2");
    EXPECT_GONE(c, "s3b");
    /* SMOVE of the last member, to a new set and to a set already holding it */
    EXPECT_INT(c, 1, "SADD s4 m");
    EXPECT_INT(c, 1, "SMOVE s4 dst m");
    EXPECT_GONE(c, "s4");
    EXPECT_INT(c, 1, "SADD s5 m");
    EXPECT_INT(c, 1, "SMOVE s5 dst m");
    EXPECT_GONE(c, "s5");
    EXPECT_SET(c, "dst", 1, "m");
    EXPECT_INT(c, 0, "SMOVE s5 dst m");
    /* none of them is seen by DBSIZE, KEYS or SCAN */
    EXPECT_INT(c, 2, "DBSIZE");
    EXPECT_KEYS(c, "*", 2, "live", "dst");
    EXPECT_SCAN(c, "COUNT 2", 2, "live", "dst");
    EXPECT_SCAN(c, "TYPE hash", 1, "live");
    EXPECT_SCAN(c, "TYPE set", 1, "dst");
    /* the names are free for any type, and a collection re-created starts empty without a TTL */
    EXPECT_INT(c, 1, "SADD h1 a");
    EXPECT_SET(c, "h1", 1, "a");
    EXPECT_INT(c, 1, "HSET s1 x 1");
    EXPECT_HASH(c, "s1", 1, "x", "1");
    EXPECT_OK(c, "SET s2 v");
    EXPECT_BULK(c, "v", "GET s2");
    EXPECT_INT(c, 1, "HSET h2 c 9");
    EXPECT_HASH(c, "h2", 1, "c", "9");
    EXPECT_INT(c, -1, "TTL h2");
    EXPECT_INT(c, 1, "SADD s3 b");
    EXPECT_SET(c, "s3", 1, "b");
}

/* ---- 4. DEL / UNLINK ------------------------------------------------------------------------------------- */

static void test_del_unlink(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "HSET h1 a 1 b 2");
    EXPECT_INT(c, 1, "HSET h2 a 1");
    EXPECT_INT(c, 2, "SADD s1 x y");
    EXPECT_INT(c, 1, "SADD s2 x");
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 3, "DEL h1 s1 str missing");
    EXPECT_INT(c, 0, "EXISTS h1 s1 str");
    EXPECT_INT(c, 2, "EXISTS h2 s2");
    EXPECT_NO_HASH(c, "h1");
    EXPECT_NO_SET(c, "s1");
    EXPECT_NIL(c, "HGET h1 a");
    EXPECT_INT(c, 0, "SISMEMBER s1 x");
    EXPECT_INT(c, 2, "UNLINK h2 s2 missing h2");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 0, "DEL h1 h2");
    EXPECT_INT(c, 0, "UNLINK s1 s2");
    EXPECT_KEYS(c, "*", 0, NULL);
    /* re-created after the delete: empty, the old fields/members are new again */
    EXPECT_INT(c, 1, "HSET h1 b new");
    EXPECT_HASH(c, "h1", 1, "b", "new");
    EXPECT_NIL(c, "HGET h1 a");
    EXPECT_INT(c, 1, "HSETNX h1 a fresh");
    EXPECT_HASH(c, "h1", 2, "a", "fresh", "b", "new");
    EXPECT_INT(c, 1, "SADD s1 y");
    EXPECT_SET(c, "s1", 1, "y");
    EXPECT_INT(c, 0, "SISMEMBER s1 x");
    EXPECT_INT(c, 5, "HINCRBY h2 a 5"); /* a counter starts from 0 again */
    EXPECT_HASH(c, "h2", 1, "a", "5");
    /* delete, re-create, delete again, in a loop */
    for (int i = 0; i < 20; i++) {
        char f[16], v[16];
        snprintf(f, sizeof f, "f%d", i);
        snprintf(v, sizeof v, "%d", i);
        EXPECT_INT(c, 2, "HSET cyc %s %s g %s", f, v, v);
        EXPECT_INT(c, 2, "SADD cys %s n", f);
        EXPECT_HASH(c, "cyc", 2, f, v, "g", v);
        EXPECT_SET(c, "cys", 2, f, "n");
        EXPECT_INT(c, 2, i % 2 ? "DEL cyc cys" : "UNLINK cys cyc");
    }
    EXPECT_INT(c, 3, "DBSIZE"); /* h1 s1 h2 */
}

/* ---- 5. expiry ----------------------------------------------------------------------------------------- */

static void test_expire_commands_on_collections(void **state) {
    redisContext *c = *state;
    char t[32];
    EXPECT_INT(c, 2, "HSET h a 1 b 2");
    EXPECT_INT(c, 2, "SADD s x y");
    static const char *const keys[] = {"h", "s"};
    for (int k = 0; k < 2; k++) {
        const char *key = keys[k];
        EXPECT_INT(c, -1, "TTL %s", key);
        EXPECT_INT(c, -1, "PTTL %s", key);
        EXPECT_INT(c, -1, "EXPIRETIME %s", key);
        EXPECT_INT(c, -1, "PEXPIRETIME %s", key);
        EXPECT_INT(c, 0, "PERSIST %s", key);
        EXPECT_INT(c, 0, "EXPIRE %s 100 XX", key);
        EXPECT_INT(c, 1, "EXPIRE %s 100", key);
        EXPECT_INT_RANGE(c, 98, 100, "TTL %s", key);
        EXPECT_INT_RANGE(c, 98000, 100000, "PTTL %s", key);
        EXPECT_INT(c, 1, "PEXPIRE %s 200000", key);
        EXPECT_INT_RANGE(c, 198000, 200000, "PTTL %s", key);
        EXPECT_INT(c, 0, "EXPIRE %s 100 GT", key);
        EXPECT_INT(c, 1, "EXPIRE %s 150 LT", key);
        EXPECT_INT_RANGE(c, 148, 150, "TTL %s", key);
        snprintf(t, sizeof t, "%lld", (long long)(st_wall_ms() / 1000) + 300);
        EXPECT_INT(c, 1, "EXPIREAT %s %s", key, t);
        EXPECT_INT(c, atoll(t), "EXPIRETIME %s", key);
        EXPECT_INT(c, atoll(t) * 1000, "PEXPIRETIME %s", key);
        EXPECT_INT_RANGE(c, 298, 300, "TTL %s", key);
        snprintf(t, sizeof t, "%lld", (long long)st_wall_ms() + 400000);
        EXPECT_INT(c, 1, "PEXPIREAT %s %s", key, t);
        EXPECT_INT(c, atoll(t), "PEXPIRETIME %s", key);
        EXPECT_INT_RANGE(c, 398, 400, "TTL %s", key);
    }
    /* writes to the contents keep the TTL (even removing some, not all, fields or members) */
    EXPECT_INT(c, 1, "HSET h c 3");
    EXPECT_INT(c, 0, "HSET h a 10");
    EXPECT_INT(c, 1, "HSETNX h d 4");
    EXPECT_OK(c, "HMSET h e 5");
    EXPECT_INT(c, 7, "HINCRBY h n 7");
    EXPECT_INT(c, 2, "HDEL h b e");
    EXPECT_INT_RANGE(c, 398, 400, "TTL h");
    EXPECT_HASH(c, "h", 4, "a", "10", "c", "3", "d", "4", "n", "7");
    EXPECT_INT(c, 1, "SADD s z");
    EXPECT_INT(c, 1, "SREM s x");
    EXPECT_INT(c, 1, "SMOVE s other y");
    EXPECT_INT(c, 1, "SADD s w");
    EXPECT_INT_RANGE(c, 398, 400, "TTL s");
    EXPECT_SET(c, "s", 2, "w", "z");
    EXPECT_INT(c, -1, "TTL other"); /* a set created by SMOVE has no TTL */
    /* PERSIST keeps the contents */
    EXPECT_INT(c, 1, "PERSIST h");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_INT(c, -1, "EXPIRETIME h");
    EXPECT_INT(c, 0, "PERSIST h");
    EXPECT_HASH(c, "h", 4, "a", "10", "c", "3", "d", "4", "n", "7");
    EXPECT_INT(c, 1, "PERSIST s");
    EXPECT_INT(c, -1, "PTTL s");
    EXPECT_SET(c, "s", 2, "w", "z");
    /* SET over a collection with a TTL: a string without one */
    EXPECT_INT(c, 1, "EXPIRE h 100");
    EXPECT_OK(c, "SET h v");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_INT(c, 1, "PEXPIRE s 100000");
    EXPECT_OK(c, "SET s v");
    EXPECT_INT(c, -1, "PTTL s");
    EXPECT_INT(c, 2, "DEL h s");
    /* a collection emptied while it had a TTL and re-created has none */
    EXPECT_INT(c, 1, "HSET h a 1");
    EXPECT_INT(c, 1, "EXPIRE h 100");
    EXPECT_INT(c, 1, "HDEL h a");
    EXPECT_INT(c, 1, "HSET h b 2");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_HASH(c, "h", 1, "b", "2");
    EXPECT_INT(c, 1, "SADD s a");
    EXPECT_INT(c, 1, "EXPIRE s 100");
    EXPECT_BULK(c, "a", "SPOP s");
    EXPECT_INT(c, 1, "SADD s b");
    EXPECT_INT(c, -1, "TTL s");
    EXPECT_SET(c, "s", 1, "b");
}

static void test_expire_in_the_past_deletes_collections(void **state) {
    redisContext *c = *state;
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)st_wall_ms() - 10000);
    EXPECT_INT(c, 2, "HSET h1 a 1 b 2");
    EXPECT_INT(c, 2, "HSET h2 a 1 b 2");
    EXPECT_INT(c, 2, "HSET h3 a 1 b 2");
    EXPECT_INT(c, 2, "SADD s1 x y");
    EXPECT_INT(c, 2, "SADD s2 x y");
    EXPECT_INT(c, 2, "SADD s3 x y");
    EXPECT_INT(c, 1, "EXPIRE h1 -1");
    EXPECT_INT(c, 1, "PEXPIRE h2 0");
    EXPECT_INT(c, 1, "PEXPIREAT h3 %s", t);
    EXPECT_INT(c, 1, "EXPIREAT s1 1");
    EXPECT_INT(c, 1, "PEXPIRE s2 -1000");
    EXPECT_INT(c, 1, "EXPIRE s3 0");
    EXPECT_INT(c, 0, "EXISTS h1 h2 h3 s1 s2 s3");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_KEYS(c, "*", 0, NULL);
    EXPECT_NO_HASH(c, "h1");
    EXPECT_NO_HASH(c, "h3");
    EXPECT_NO_SET(c, "s1");
    EXPECT_NO_SET(c, "s3");
    EXPECT_NIL(c, "HGET h2 a");
    EXPECT_INT(c, 0, "SISMEMBER s2 x");
    /* re-created: empty, no TTL */
    EXPECT_INT(c, 1, "HSET h1 b 3");
    EXPECT_HASH(c, "h1", 1, "b", "3");
    EXPECT_INT(c, -1, "TTL h1");
    EXPECT_INT(c, 1, "SADD s1 y");
    EXPECT_SET(c, "s1", 1, "y");
    EXPECT_INT(c, -1, "TTL s1");
    /* GT against "no TTL" refuses a past time, LT takes it */
    EXPECT_INT(c, 0, "EXPIRE h1 -1 GT");
    EXPECT_INT(c, 1, "EXISTS h1");
    EXPECT_INT(c, 1, "EXPIRE h1 -1 LT");
    EXPECT_GONE(c, "h1");
}

/* A collection with a ~100 ms TTL disappears when the time passes, from every command's view; a
 * write afterwards creates a fresh one without TTL. */
static void test_collections_expire(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET live v");
    static const char *const hashes[] = {"eh", "eh2", "eh3"}, *const sets[] = {"es", "es2", "es3"};
    for (int k = 0; k < 3; k++) {
        fill_hash(c, hashes[k], 10, 5, __FILE__, __LINE__);
        fill_set(c, sets[k], 10, 5, __FILE__, __LINE__);
        EXPECT_INT(c, 1, "EXPIRE %s 1000", hashes[k]);
        EXPECT_INT(c, 1, "EXPIRE %s 1000", sets[k]);
        EXPECT_INT_RANGE(c, 998, 1000, "TTL %s", hashes[k]);
    }
    EXPECT_INT(c, 7, "DBSIZE");
    int64_t t0 = st_now_ms();
    for (int k = 0; k < 3; k++) {
        EXPECT_INT(c, 1, "PEXPIRE %s 100", hashes[k]);
        EXPECT_INT(c, 1, "PEXPIRE %s 100", sets[k]);
    }
    /* eh: polled until it is gone; not before its 100 ms, not later than 3 s */
    int polls = 0;
    for (;;) {
        redisReply *r = CMD(c, "HLEN eh");
        if (r->type != REDIS_REPLY_INTEGER) ST_FAIL("HLEN eh: not an integer");
        long long n = r->integer;
        freeReplyObject(r);
        int64_t el = st_now_ms() - t0;
        if (n == 0) {
            if (el < 90) ST_FAIL("eh was gone %lld ms after PEXPIRE eh 100", (long long)el);
            break;
        }
        if (n != 10) ST_FAIL("HLEN eh is %lld before its expiry (want 10)", n);
        if (el > 3000 || ++polls > 1000) ST_FAIL("eh still there %lld ms after PEXPIRE eh 100", (long long)el);
        st_sleep_ms(5);
    }
    wait_until(t0, 200); /* every other TTL has passed: none of those keys was read since */
    EXPECT_KEYS(c, "*", 1, "live");
    EXPECT_SCAN(c, "COUNT 100", 1, "live");
    EXPECT_SCAN(c, "TYPE hash", 0, NULL);
    EXPECT_SCAN(c, "TYPE set", 0, NULL);
    EXPECT_UNORDERED(c, 0, STRS(NULL), "HGETALL eh2");
    EXPECT_UNORDERED(c, 0, STRS(NULL), "SMEMBERS es2");
    EXPECT_UNORDERED(c, 0, STRS(NULL), "HKEYS eh3");
    EXPECT_UNORDERED(c, 0, STRS(NULL), "HVALS eh3");
    EXPECT_INT(c, 0, "HLEN eh3");
    EXPECT_INT(c, 0, "SCARD es3");
    EXPECT_NIL(c, "HGET eh2 f1");
    EXPECT_INT(c, 0, "HEXISTS eh2 f1");
    EXPECT_INT(c, 0, "SISMEMBER es2 m1");
    EXPECT_NIL(c, "SRANDMEMBER es3");
    EXPECT_INT(c, 0, "EXISTS eh eh2 eh3 es es2 es3");
    for (int k = 0; k < 3; k++) {
        EXPECT_GONE(c, hashes[k]);
        EXPECT_GONE(c, sets[k]);
    }
    EXPECT_ERR(c, "ERR no such key", "RENAME eh2 x");
    EXPECT_INT(c, 0, "EXPIRE es2 100");
    EXPECT_INT(c, 0, "PERSIST es3");
    /* every expired key is gone for good: writes start fresh collections without TTL */
    EXPECT_INT(c, 1, "HSET eh f0 new");
    EXPECT_HASH(c, "eh", 1, "f0", "new");
    EXPECT_INT(c, -1, "TTL eh");
    EXPECT_INT(c, 1, "SADD es m0");
    EXPECT_SET(c, "es", 1, "m0");
    EXPECT_INT(c, -1, "TTL es");
    EXPECT_INT(c, 1, "HINCRBY eh2 f1 1");
    EXPECT_HASH(c, "eh2", 1, "f1", "1");
    EXPECT_INT(c, 0, "SMOVE es3 es m1");
    EXPECT_INT(c, 1, "SADD es3 m1");
    EXPECT_SET(c, "es3", 1, "m1");
    EXPECT_INT(c, 5, "DBSIZE"); /* live eh es eh2 es3 */
}

/* ---- 6. RENAME / RENAMENX ------------------------------------------------------------------------------- */

static void test_rename_collections(void **state) {
    redisContext *c = *state;
    /* a hash to a new name: contents and TTL move, the source is gone and re-created empty */
    EXPECT_INT(c, 3, "HSET h a 1 b 2 c 3");
    EXPECT_INT(c, 1, "EXPIRE h 100");
    EXPECT_OK(c, "RENAME h h2");
    EXPECT_GONE(c, "h");
    EXPECT_NO_HASH(c, "h");
    EXPECT_HASH(c, "h2", 3, "a", "1", "b", "2", "c", "3");
    EXPECT_INT_RANGE(c, 98, 100, "TTL h2");
    EXPECT_INT(c, 1, "HSET h a 9");
    EXPECT_HASH(c, "h", 1, "a", "9");
    EXPECT_INT(c, -1, "TTL h");
    /* a set likewise */
    EXPECT_INT(c, 2, "SADD s x y");
    EXPECT_INT(c, 1, "PEXPIRE s 200000");
    EXPECT_OK(c, "RENAME s s2");
    EXPECT_GONE(c, "s");
    EXPECT_SET(c, "s2", 2, "x", "y");
    EXPECT_INT_RANGE(c, 198000, 200000, "PTTL s2");
    EXPECT_INT(c, 1, "SADD s x");
    EXPECT_SET(c, "s", 1, "x");
    EXPECT_INT(c, -1, "TTL s");
    /* onto itself: nothing changes */
    EXPECT_OK(c, "RENAME h2 h2");
    EXPECT_HASH(c, "h2", 3, "a", "1", "b", "2", "c", "3");
    EXPECT_INT_RANGE(c, 98, 100, "TTL h2");
    EXPECT_OK(c, "RENAME s2 s2");
    EXPECT_SET(c, "s2", 2, "x", "y");
    EXPECT_INT(c, 0, "RENAMENX s2 s2");
    /* a hash without TTL onto a string with one: the destination is the hash, without TTL */
    EXPECT_OK(c, "SET str v EX 500");
    EXPECT_INT(c, 1, "HSET hs f 1");
    EXPECT_OK(c, "RENAME hs str");
    EXPECT_GONE(c, "hs");
    EXPECT_HASH(c, "str", 1, "f", "1");
    EXPECT_INT(c, -1, "TTL str");
    EXPECT_ERR(c, WRONGTYPE, "GET str");
    EXPECT_INT(c, 1, "DEL str");
    EXPECT_NIL(c, "GET str");
    /* a hash onto a set: the old members never come back */
    EXPECT_INT(c, 2, "SADD sd x y");
    EXPECT_INT(c, 1, "HSET hs2 f 1");
    EXPECT_OK(c, "RENAME hs2 sd");
    EXPECT_HASH(c, "sd", 1, "f", "1");
    EXPECT_ERR(c, WRONGTYPE, "SISMEMBER sd x");
    EXPECT_INT(c, 1, "DEL sd");
    EXPECT_INT(c, 1, "SADD sd x");
    EXPECT_SET(c, "sd", 1, "x");
    /* a hash onto a hash with a TTL: only the source's fields, the source's (absent) TTL */
    EXPECT_INT(c, 2, "HSET hd old1 o old2 o");
    EXPECT_INT(c, 1, "EXPIRE hd 500");
    EXPECT_INT(c, 2, "HSET hsrc new 1 old1 n");
    EXPECT_OK(c, "RENAME hsrc hd");
    EXPECT_HASH(c, "hd", 2, "new", "1", "old1", "n");
    EXPECT_NIL(c, "HGET hd old2");
    EXPECT_INT(c, 0, "HEXISTS hd old2");
    EXPECT_INT(c, -1, "TTL hd");
    EXPECT_INT(c, 1, "DEL hd");
    EXPECT_INT(c, 1, "HSET hd old2 again");
    EXPECT_HASH(c, "hd", 1, "old2", "again");
    /* a set with a TTL onto a hash */
    EXPECT_INT(c, 2, "HSET dh a 1 b 1");
    EXPECT_INT(c, 2, "SADD ss m1 m2");
    EXPECT_INT(c, 1, "PEXPIRE ss 300000");
    EXPECT_OK(c, "RENAME ss dh");
    EXPECT_GONE(c, "ss");
    EXPECT_SET(c, "dh", 2, "m1", "m2");
    EXPECT_INT_RANGE(c, 298000, 300000, "PTTL dh");
    EXPECT_ERR(c, WRONGTYPE, "HGET dh a");
    EXPECT_INT(c, 1, "DEL dh");
    EXPECT_INT(c, 1, "HSET dh b 2");
    EXPECT_HASH(c, "dh", 1, "b", "2");
    EXPECT_INT(c, -1, "TTL dh");
    /* a set onto a set */
    EXPECT_INT(c, 2, "SADD sdst p q");
    EXPECT_INT(c, 2, "SADD ssrc r q");
    EXPECT_OK(c, "RENAME ssrc sdst");
    EXPECT_SET(c, "sdst", 2, "q", "r");
    EXPECT_INT(c, 0, "SISMEMBER sdst p");
    EXPECT_INT(c, 1, "DEL sdst");
    EXPECT_INT(c, 1, "SADD sdst p");
    EXPECT_SET(c, "sdst", 1, "p");
    /* a set onto a string; a string onto that set; a string onto a hash */
    EXPECT_OK(c, "SET str2 v");
    EXPECT_INT(c, 1, "SADD ss2 a");
    EXPECT_OK(c, "RENAME ss2 str2");
    EXPECT_SET(c, "str2", 1, "a");
    EXPECT_OK(c, "SET str3 hello");
    EXPECT_OK(c, "RENAME str3 str2");
    EXPECT_BULK(c, "hello", "GET str2");
    EXPECT_INT(c, 1, "DEL str2");
    EXPECT_INT(c, 1, "SADD str2 b");
    EXPECT_SET(c, "str2", 1, "b");
    EXPECT_INT(c, 2, "HSET hv f 1 g 2");
    EXPECT_OK(c, "SET str4 world");
    EXPECT_OK(c, "RENAME str4 hv");
    EXPECT_BULK(c, "world", "GET hv");
    EXPECT_BULK(c, "world", "GETDEL hv");
    EXPECT_INT(c, 1, "HSET hv g new");
    EXPECT_HASH(c, "hv", 1, "g", "new");
    /* RENAMENX onto an existing key of any type: 0, nothing changes */
    EXPECT_INT(c, 1, "HSET na a 1");
    EXPECT_INT(c, 1, "SADD nb b");
    EXPECT_INT(c, 1, "EXPIRE nb 100");
    EXPECT_OK(c, "SET nstr v");
    EXPECT_INT(c, 0, "RENAMENX na nb");
    EXPECT_INT(c, 0, "RENAMENX nb na");
    EXPECT_INT(c, 0, "RENAMENX na nstr");
    EXPECT_INT(c, 0, "RENAMENX nstr nb");
    EXPECT_INT(c, 0, "RENAMENX na na");
    EXPECT_HASH(c, "na", 1, "a", "1");
    EXPECT_INT(c, -1, "TTL na");
    EXPECT_SET(c, "nb", 1, "b");
    EXPECT_INT_RANGE(c, 98, 100, "TTL nb");
    EXPECT_BULK(c, "v", "GET nstr");
    /* RENAMENX to a free name moves, TTL included */
    EXPECT_INT(c, 1, "RENAMENX na nc");
    EXPECT_GONE(c, "na");
    EXPECT_HASH(c, "nc", 1, "a", "1");
    EXPECT_INT(c, 1, "RENAMENX nb nd");
    EXPECT_GONE(c, "nb");
    EXPECT_SET(c, "nd", 1, "b");
    EXPECT_INT_RANGE(c, 98, 100, "TTL nd");
    /* binary names; missing sources */
    EXPECT_OK(c, "RENAME nc %b", "h\0\r\n", (size_t)4);
    EXPECT_GONE(c, "nc");
    EXPECT_STATUS(c, "hash", "TYPE %b", "h\0\r\n", (size_t)4);
    EXPECT_BULK(c, "1", "HGET %b a", "h\0\r\n", (size_t)4);
    EXPECT_INT(c, 1, "RENAMENX %b %b", "h\0\r\n", (size_t)4, "h\0", (size_t)2);
    EXPECT_INT(c, 1, "HLEN %b", "h\0", (size_t)2);
    EXPECT_INT(c, 0, "HLEN %b", "h\0\r\n", (size_t)4);
    EXPECT_ERR(c, "ERR no such key", "RENAME missing x");
    EXPECT_ERR(c, "ERR no such key", "RENAMENX missing nd");
    EXPECT_SET(c, "nd", 1, "b");
}

/* A 3000-field hash renamed onto a small hash and back; then a 3000-member set renamed onto it. */
static void test_rename_big_hash(void **state) {
    redisContext *c = *state;
    enum { NF = 3000 };
    fill_hash(c, "big", NF, 1, __FILE__, __LINE__); /* one field per HSET, pipelined */
    EXPECT_INT(c, NF, "HLEN big");
    EXPECT_INT(c, 1, "EXPIRE big 1000");
    EXPECT_INT(c, 3, "HSET dst f0 old f1 old x old");
    EXPECT_OK(c, "RENAME big dst");
    EXPECT_GONE(c, "big");
    EXPECT_INT(c, 0, "HLEN big");
    EXPECT_INT(c, NF, "HLEN dst");
    EXPECT_BULK(c, "v0", "HGET dst f0");
    EXPECT_BULK(c, "v1", "HGET dst f1");
    EXPECT_BULK(c, "v1499", "HGET dst f1499");
    EXPECT_BULK(c, "v2999", "HGET dst f2999");
    EXPECT_NIL(c, "HGET dst x");
    EXPECT_NIL(c, "HGET dst f3000");
    EXPECT_INT_RANGE(c, 998, 1000, "TTL dst");
    static char names[NF][16];
    const char *fields[NF];
    for (int i = 0; i < NF; i++) {
        snprintf(names[i], sizeof names[i], "f%d", i);
        fields[i] = names[i];
    }
    EXPECT_UNORDERED(c, NF, fields, "HKEYS dst");
    /* the source name re-created: empty; then the big hash renamed back over it */
    EXPECT_INT(c, 1, "HSET big f5 x");
    EXPECT_HASH(c, "big", 1, "f5", "x");
    EXPECT_INT(c, -1, "TTL big");
    EXPECT_OK(c, "RENAME dst big");
    EXPECT_GONE(c, "dst");
    EXPECT_INT(c, NF, "HLEN big");
    EXPECT_BULK(c, "v5", "HGET big f5");
    EXPECT_INT_RANGE(c, 998, 1000, "TTL big");
    /* a 3000-member set onto it: the 3000 fields never come back */
    fill_set(c, "bigset", NF, 1, __FILE__, __LINE__);
    EXPECT_OK(c, "RENAME bigset big");
    EXPECT_GONE(c, "bigset");
    EXPECT_STATUS(c, "set", "TYPE big");
    EXPECT_INT(c, NF, "SCARD big");
    EXPECT_INT(c, 1, "SISMEMBER big m2999");
    EXPECT_INT(c, -1, "TTL big");
    EXPECT_ERR(c, WRONGTYPE, "HGET big f5");
    EXPECT_INT(c, 1, "DEL big");
    EXPECT_INT(c, 1, "HSET big f0 n");
    EXPECT_HASH(c, "big", 1, "f0", "n");
    EXPECT_INT(c, 1, "DBSIZE");
}

/* ---- 7. big collections ------------------------------------------------------------------------------- */

enum { DEL_PROMPT_MS = 5000 }; /* "promptly": generous for sanitizer builds on a loaded machine */

static void test_big_hash_delete(void **state) {
    redisContext *c = *state;
    enum { NF = 100000 };
    fill_hash(c, "big", NF, 10, __FILE__, __LINE__); /* 10 fields per HSET, 1000 HSETs in flight */
    EXPECT_INT(c, NF, "HLEN big");
    EXPECT_BULK(c, "v0", "HGET big f0");
    EXPECT_BULK(c, "v54321", "HGET big f54321");
    EXPECT_BULK(c, "v99999", "HGET big f99999");
    EXPECT_INT(c, 6, "HSTRLEN big f99999");
    EXPECT_INT(c, 1, "DBSIZE");
    int64_t t = st_now_ms();
    EXPECT_INT(c, 1, "DEL big");
    int64_t took = st_now_ms() - t;
    if (took > DEL_PROMPT_MS) ST_FAIL("DEL of a 100,000-field hash took %lld ms", (long long)took);
    EXPECT_GONE(c, "big");
    EXPECT_INT(c, 0, "HLEN big");
    EXPECT_NIL(c, "HGET big f54321");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 1, "HSET big f54321 only");
    EXPECT_HASH(c, "big", 1, "f54321", "only");
    EXPECT_UNORDERED(c, 1, STRS("f54321"), "HKEYS big");
    EXPECT_NIL(c, "HGET big f0");
    EXPECT_KEYS(c, "*", 1, "big");
    EXPECT_INT(c, 1, "DBSIZE");
}

static void test_big_set_delete(void **state) {
    redisContext *c = *state;
    enum { NM = 50000 };
    fill_set(c, "bigset", NM, 10, __FILE__, __LINE__);
    EXPECT_INT(c, NM, "SCARD bigset");
    EXPECT_INT(c, 1, "SISMEMBER bigset m0");
    EXPECT_INT(c, 1, "SISMEMBER bigset m49999");
    EXPECT_INT(c, 0, "SISMEMBER bigset m50000");
    EXPECT_INT(c, 1, "DBSIZE");
    int64_t t = st_now_ms();
    EXPECT_INT(c, 1, "DEL bigset");
    int64_t took = st_now_ms() - t;
    if (took > DEL_PROMPT_MS) ST_FAIL("DEL of a 50,000-member set took %lld ms", (long long)took);
    EXPECT_GONE(c, "bigset");
    EXPECT_INT(c, 0, "SCARD bigset");
    EXPECT_INT(c, 0, "SISMEMBER bigset m777");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_INT(c, 1, "SADD bigset m777");
    EXPECT_SET(c, "bigset", 1, "m777");
    EXPECT_BULK(c, "m777", "SRANDMEMBER bigset");
    EXPECT_INT(c, 0, "SISMEMBER bigset m0");
    EXPECT_KEYS(c, "*", 1, "bigset");
}

/* Random picks from collections above the 4,096 elements that one pass serves: every element name
 * shares a prefix ("m<i>", "f<i>"), which once sent every probe to the first element, so distinct
 * picks came out short. count distinct elements of the collection, each time. */
static void expect_distinct_picks(redisContext *c, const char *key, const char *ismember, size_t want,
                                  const char *cmd) {
    redisReply *r = redisCommand(c, cmd);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != want)
        ST_FAIL("%s: %zu elements, want %zu distinct", cmd, r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0, want);
    for (size_t i = 0; i < r->elements; i++) {
        for (size_t j = 0; j < i; j++)
            if (!strcmp(r->element[i]->str, r->element[j]->str)) ST_FAIL("%s: %s picked twice", cmd, r->element[i]->str);
        if (ismember) {
            redisReply *m = redisCommand(c, ismember, key, r->element[i]->str);
            if (!m || m->type != REDIS_REPLY_INTEGER || m->integer != 1) ST_FAIL("%s: %s is not in %s", cmd, r->element[i]->str, key);
            freeReplyObject(m);
        }
    }
    freeReplyObject(r);
}

static void test_big_random_picks(void **state) {
    redisContext *c = *state;
    enum { N = 6000 };
    fill_set(c, "bigset", N, 10, __FILE__, __LINE__);
    fill_hash(c, "bighash", N, 10, __FILE__, __LINE__);
    expect_distinct_picks(c, "bigset", "SISMEMBER %s %s", 10, "SRANDMEMBER bigset 10");
    expect_distinct_picks(c, "bigset", "SISMEMBER %s %s", 1200, "SRANDMEMBER bigset 1200");
    expect_distinct_picks(c, "bighash", "HEXISTS %s %s", 10, "HRANDFIELD bighash 10");
    redisReply *r = redisCommand(c, "SRANDMEMBER bigset -25");
    assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 25);
    freeReplyObject(r);
    expect_distinct_picks(c, "bigset", NULL, 7, "SPOP bigset 7");
    EXPECT_INT(c, N - 7, "SCARD bigset");
    r = redisCommand(c, "ZADD bigz 0 user:0");
    freeReplyObject(r);
    for (int i = 1; i < 4200; i += 600) { /* user:1 .. user:4199, 600 per ZADD */
        char cmd[600 * 24 + 32];
        size_t n = (size_t)snprintf(cmd, sizeof cmd, "ZADD bigz");
        for (int j = i; j < i + 600 && j < 4200; j++) n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %d user:%d", j, j);
        r = redisCommand(c, cmd);
        assert_true(r && r->type == REDIS_REPLY_INTEGER);
        freeReplyObject(r);
    }
    EXPECT_INT(c, 4200, "ZCARD bigz");
    r = redisCommand(c, "ZRANDMEMBER bigz 10 WITHSCORES");
    assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 20);
    freeReplyObject(r);
    expect_distinct_picks(c, "bigz", NULL, 1000, "ZRANDMEMBER bigz 1000");
    /* a big sorted set picks through its rank index: uniform. 20,000 picks with repeats over 4,200
     * members reach about 4,140 of them; the old seek sampling (favouring members after wide gaps
     * in key order) reached about 200 */
    r = redisCommand(c, "ZRANDMEMBER bigz -20000");
    assert_true(r && r->type == REDIS_REPLY_ARRAY && r->elements == 20000);
    static bool hit[4200];
    memset(hit, 0, sizeof hit);
    size_t distinct = 0;
    for (size_t i = 0; i < r->elements; i++) {
        int id = atoi(r->element[i]->str + 5); /* "user:<id>" */
        assert_true(id >= 0 && id < 4200);
        if (!hit[id]) distinct++;
        hit[id] = true;
    }
    freeReplyObject(r);
    if (distinct < 3000) ST_FAIL("ZRANDMEMBER bigz -20000 reached %zu of 4200 members, not uniform", distinct);
}

/* ---- 8. persistence ----------------------------------------------------------------------------------- */

static int setup_persist(void **state) {
    (void)state;
    return st_it_group_setup(&psrv, "it-coll-aof", ST_IT_ARGS("--appendfsync", "always"));
}
/* The same with a small memtable, so Strata flushes collections (and their deletions) to SSTables
 * and recovery reads both; Redis drops the flag and runs the same test. */
static int setup_persist_small(void **state) {
    (void)state;
    return st_it_group_setup(&psrv, "it-coll-aof64k", ST_IT_ARGS("--appendfsync", "always", "--write-buffer", "64kb"));
}
static int teardown_persist(void **state) {
    (void)state;
    return st_it_group_teardown(&psrv);
}

/* A model of one collection key: its fields and values (or members), and whether it has a TTL. */
typedef struct pcoll {
    char key[16];
    bool is_set, exists, ttl;
    kvp *it; /* owned copies */
    size_t n, cap;
} pcoll;

static char *memdup0(const void *p, size_t n) {
    char *d = malloc(n + 1);
    if (n) memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static long pc_find(const pcoll *m, bstr k) {
    for (size_t i = 0; i < m->n; i++)
        if (bstr_eq(m->it[i].k, k)) return (long)i;
    return -1;
}

/* Adds or updates; 1 if the field/member is new (HSET/SADD's count). */
static int pc_put(pcoll *m, bstr k, bstr v) {
    long i = pc_find(m, k);
    if (i >= 0) {
        if (!m->is_set) {
            free((void *)m->it[i].v.p);
            m->it[i].v = (bstr){memdup0(v.p, v.n), v.n};
        }
        return 0;
    }
    if (m->n == m->cap) m->it = realloc(m->it, (m->cap = m->cap ? m->cap * 2 : 64) * sizeof *m->it);
    m->it[m->n++] = (kvp){{memdup0(k.p, k.n), k.n}, {m->is_set ? NULL : memdup0(v.p, v.n), m->is_set ? 0 : v.n}};
    m->exists = true;
    return 1;
}

/* Removes; 1 if it was there. The last one removed takes the key (and its TTL) with it. */
static int pc_del(pcoll *m, bstr k) {
    long i = pc_find(m, k);
    if (i < 0) return 0;
    free((void *)m->it[i].k.p);
    free((void *)m->it[i].v.p);
    m->it[i] = m->it[--m->n];
    if (!m->n) m->exists = m->ttl = false;
    return 1;
}

static void pc_clear(pcoll *m) {
    for (size_t i = 0; i < m->n; i++) {
        free((void *)m->it[i].k.p);
        free((void *)m->it[i].v.p);
    }
    m->n = 0;
    m->exists = m->ttl = false;
}

/* Field or member i: binary (NUL, CR LF, 0xff) for every 5th. buf: 32 bytes. */
static bstr gen_name(char *buf, char prefix, int i) {
    int n = snprintf(buf, 24, "%c%d", prefix, i);
    if (i % 5 == 0) {
        memcpy(buf + n, "\0\r\n\xff", 4);
        n += 4;
    }
    return (bstr){buf, (size_t)n};
}

/* Value of field i in generation gen: 8..~230 bytes, some with NUL and LF. buf: 256 bytes. */
static bstr gen_value(char *buf, int i, int gen) {
    int n = snprintf(buf, 32, "v%d-%d:", i, gen);
    int extra = (i * 37 + gen * 11) % 200;
    for (int j = 0; j < extra; j++) buf[n++] = (char)('a' + (i + j) % 26);
    if (i % 7 == 0) {
        buf[n++] = '\0';
        buf[n++] = '\n';
    }
    return (bstr){buf, (size_t)n};
}

static void pc_hset(pipe_t *p, pcoll *m, int i, int gen) {
    char fb[32], vb[256];
    bstr f = gen_name(fb, 'f', i), v = gen_value(vb, i, gen);
    redisAppendCommand(p->c, "HSET %s %b %b", m->key, f.p, f.n, v.p, v.n);
    pipe_push(p, pc_put(m, f, v), __FILE__, __LINE__);
}
static void pc_hdel(pipe_t *p, pcoll *m, int i) {
    char fb[32];
    bstr f = gen_name(fb, 'f', i);
    redisAppendCommand(p->c, "HDEL %s %b", m->key, f.p, f.n);
    pipe_push(p, pc_del(m, f), __FILE__, __LINE__);
}
static void pc_sadd(pipe_t *p, pcoll *m, int i) {
    char mb[32];
    bstr k = gen_name(mb, 'm', i);
    redisAppendCommand(p->c, "SADD %s %b", m->key, k.p, k.n);
    pipe_push(p, pc_put(m, k, (bstr){NULL, 0}), __FILE__, __LINE__);
}
static void pc_srem(pipe_t *p, pcoll *m, int i) {
    char mb[32];
    bstr k = gen_name(mb, 'm', i);
    redisAppendCommand(p->c, "SREM %s %b", m->key, k.p, k.n);
    pipe_push(p, pc_del(m, k), __FILE__, __LINE__);
}

/* The server holds exactly what the model says (absent: EXISTS 0, TYPE none). */
static void pc_verify(redisContext *c, const pcoll *m, const char *file, int line) {
    if (!m->exists) {
        expect_gone(c, file, line, m->key);
        return;
    }
    char cmd[128];
    st_expect_status(c, file, line, m->is_set ? "set" : "hash", kcmd(cmd, sizeof cmd, "TYPE", m->key));
    st_expect_int(c, file, line, (long long)m->n, kcmd(cmd, sizeof cmd, m->is_set ? "SCARD" : "HLEN", m->key));
    char what[64];
    snprintf(what, sizeof what, "%s %s", m->is_set ? "SMEMBERS" : "HGETALL", m->key);
    redisReply *r = st_cmd(c, file, line, m->is_set ? "SMEMBERS %s" : "HGETALL %s", m->key);
    check_reply_unordered(r, file, line, what, m->is_set ? 1 : 2, m->it, m->n);
    freeReplyObject(r);
    for (size_t i = 0; i < m->n && i < 5; i++) { /* point reads with binary names */
        const kvp *e = &m->it[i];
        snprintf(cmd, sizeof cmd, "%s %s %%b", m->is_set ? "SISMEMBER" : "HGET", m->key);
        if (m->is_set) st_expect_int(c, file, line, 1, cmd, e->k.p, e->k.n);
        else st_expect_bulk(c, file, line, e->v.p, e->v.n, cmd, e->k.p, e->k.n);
    }
    if (m->ttl) st_expect_int_range(c, file, line, 1, 1000, kcmd(cmd, sizeof cmd, "TTL", m->key));
    else st_expect_int(c, file, line, -1, kcmd(cmd, sizeof cmd, "TTL", m->key));
}

enum { HK, HG, SK, ST, SG, HE, HX, HEXP, SKNEW, NPC };

/* Every model verified, then the key space: DBSIZE, KEYS, SCAN TYPE hash / set (plus `str`, a
 * string key, when not NULL). Gone keys are checked first: a key that expired while the server was
 * down may be counted by DBSIZE until something looks at it (as in Redis). */
static void pc_verify_all(redisContext *c, pcoll *m, const char *str, const char *file, int line) {
    const char *all[NPC + 1], *hashes[NPC], *sets[NPC];
    size_t na = 0, nh = 0, ns = 0;
    for (int i = 0; i < NPC; i++) {
        bool reused = str && !strcmp(str, m[i].key); /* a name another model (or str) holds now */
        for (int j = 0; j < NPC; j++) reused |= j != i && m[j].exists && !strcmp(m[j].key, m[i].key);
        if (!m[i].exists && !reused) pc_verify(c, &m[i], file, line);
    }
    for (int i = 0; i < NPC; i++) {
        if (!m[i].exists) continue;
        pc_verify(c, &m[i], file, line);
        all[na++] = m[i].key;
        if (m[i].is_set) sets[ns++] = m[i].key;
        else hashes[nh++] = m[i].key;
    }
    if (str) all[na++] = str;
    st_expect_int(c, file, line, (long long)na, "DBSIZE");
    expect_unordered(c, file, line, 1, na, all, "KEYS *");
    expect_scan(c, file, line, "TYPE hash", nh, hashes);
    expect_scan(c, file, line, "TYPE set COUNT 2", ns, sets);
}

/* Two hashes and two sets kept (a set with a TTL), plus keys removed by DEL, UNLINK, HDEL of every
 * field, SET over a hash, and a TTL passing while the server is down; a clean restart keeps exactly
 * that. Then more writes (new and overwritten fields, removals, deleted keys re-created, a name
 * taking another type, a TTL on a hash, a RENAME and its old name re-created), every one acknowledged
 * under --appendfsync always, then kill -9: after the restart the server holds exactly the model. */
static void persistence_body(void) {
    static pcoll m[NPC];
    static const char *const names[NPC] = {"hk", "hg", "sk", "st", "sg", "he", "hx", "hexp", "sk"};
    memset(m, 0, sizeof m);
    for (int i = 0; i < NPC; i++) {
        snprintf(m[i].key, sizeof m[i].key, "%s", names[i]);
        m[i].is_set = names[i][0] == 's';
    }
    redisContext *c = ST_CONNECT(&psrv);
    pipe_t *p = calloc(1, sizeof *p);
    p->c = c;
    /* fill: two hashes and two sets to keep (one with a TTL) and more to delete in several ways */
    for (int i = 0; i < 2000; i++) pc_hset(p, &m[HK], i, 0);
    for (int i = 0; i < 300; i++) pc_hset(p, &m[HG], i, 0);
    for (int i = 0; i < 1500; i++) pc_sadd(p, &m[SK], i);
    for (int i = 0; i < 800; i++) pc_sadd(p, &m[ST], i);
    for (int i = 0; i < 400; i++) pc_sadd(p, &m[SG], i);
    for (int i = 0; i < 50; i++) pc_hset(p, &m[HE], i, 0);
    for (int i = 0; i < 30; i++) pc_hset(p, &m[HX], i, 0);
    for (int i = 0; i < 20; i++) pc_hset(p, &m[HEXP], i, 0);
    /* updates: overwrites, removals, removals of what is not there */
    for (int i = 0; i < 2000; i += 5) pc_hset(p, &m[HK], i, 1);
    for (int i = 3; i < 2000; i += 7) pc_hdel(p, &m[HK], i);
    pc_hdel(p, &m[HK], 5000);
    for (int i = 0; i < 1500; i += 9) pc_srem(p, &m[SK], i);
    pc_srem(p, &m[SK], 9999);
    for (int i = 0; i < 50; i++) pc_hdel(p, &m[HE], i); /* emptied: gone */
    pipe_drain(p, __FILE__, __LINE__);
    EXPECT_INT(c, 1, "EXPIRE st 1000");
    m[ST].ttl = true;
    EXPECT_INT(c, 1, "DEL hg");
    pc_clear(&m[HG]);
    EXPECT_INT(c, 1, "UNLINK sg");
    pc_clear(&m[SG]);
    EXPECT_OK(c, "SET hx str");
    pc_clear(&m[HX]);
    pc_verify_all(c, m, "hx", __FILE__, __LINE__);
    /* hexp expires while the server is down */
    EXPECT_INT(c, 1, "PEXPIRE hexp 300");
    int64_t texp = st_now_ms();
    EXPECT_INT_RANGE(c, 1, 300, "PTTL hexp");
    EXPECT_INT(c, 20, "HLEN hexp");
    pc_clear(&m[HEXP]);
    redisFree(c);

    /* clean restart (after hexp's TTL passed while the server was down) */
    if (st_server_stop(&psrv) != 0) ST_FAIL("SIGTERM did not stop the server cleanly");
    wait_until(texp, 400);
    if (st_server_restart(&psrv) != 0) ST_FAIL("restart failed");
    c = ST_CONNECT(&psrv);
    p->c = c;
    pc_verify_all(c, m, "hx", __FILE__, __LINE__);
    EXPECT_STATUS(c, "string", "TYPE hx");
    EXPECT_BULK(c, "str", "GET hx");

    /* more writes, every one acknowledged; then kill -9 */
    for (int i = 2000; i < 2500; i++) pc_hset(p, &m[HK], i, 2);
    for (int i = 0; i < 2500; i += 3) pc_hset(p, &m[HK], i, 3);
    for (int i = 5; i < 2500; i += 11) pc_hdel(p, &m[HK], i);
    for (int i = 1500; i < 1800; i++) pc_sadd(p, &m[SK], i);
    for (int i = 1; i < 1800; i += 4) pc_srem(p, &m[SK], i);
    for (int i = 0; i < 5; i++) pc_hset(p, &m[HG], i, 4); /* re-created: every field is new */
    for (int i = 0; i < 3; i++) pc_sadd(p, &m[SG], i);
    for (int i = 0; i < 20; i++) pc_hset(p, &m[HEXP], i, 5);
    pipe_drain(p, __FILE__, __LINE__);
    EXPECT_INT(c, 1, "EXPIRE hk 1000");
    m[HK].ttl = true;
    EXPECT_INT(c, 1, "DEL st"); /* a set with a TTL */
    pc_clear(&m[ST]);
    m[HE].is_set = true; /* the emptied hash's name now holds a set */
    pc_sadd(p, &m[HE], 0);
    EXPECT_INT(c, 1, "DEL hx"); /* the string that overwrote a hash; a hash again, fresh */
    pc_hset(p, &m[HX], 0, 6);
    pipe_drain(p, __FILE__, __LINE__);
    /* the kept set renamed away; its old name re-created */
    EXPECT_OK(c, "RENAME sk skr");
    snprintf(m[SK].key, sizeof m[SK].key, "skr");
    for (int i = 0; i < 4; i++) pc_sadd(p, &m[SKNEW], i * 100);
    pipe_drain(p, __FILE__, __LINE__);
    pc_verify_all(c, m, NULL, __FILE__, __LINE__);
    redisFree(c);
    if (st_server_kill9(&psrv) != 0) ST_FAIL("kill -9: the server was not running");
    if (st_server_restart(&psrv) != 0) ST_FAIL("restart after kill -9 failed");
    c = ST_CONNECT(&psrv);
    pc_verify_all(c, m, NULL, __FILE__, __LINE__);
    redisFree(c);
    for (int i = 0; i < NPC; i++) {
        pc_clear(&m[i]);
        free(m[i].it);
    }
    free(p);
}

static void test_persistence(void **state) {
    (void)state;
    persistence_body();
}

static void test_persistence_small_memtables(void **state) {
    (void)state;
    persistence_body();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wrongtype_on_string_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype_on_collection_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overwrite_by_other_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_exists_dbsize_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_and_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_collections_disappear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_unlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_commands_on_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_in_the_past_deletes_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_big_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_random_picks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_hash_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_set_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup_persist, teardown_persist),
        cmocka_unit_test_setup_teardown(test_persistence_small_memtables, setup_persist_small, teardown_persist),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
