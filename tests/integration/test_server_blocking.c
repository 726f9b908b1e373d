/* test_server_blocking.c -- the blocking commands of strata-server (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP) against Redis 7.0's replies:
 *  - immediate pops when there is data, with their reply shapes (RESP2 bytes; RESP3 scores as doubles);
 *  - timeouts: null arrays (*-1, RESP3 _) for all eight commands after about the timeout, fractional
 *    forms, sub-millisecond timeouts rounded up (not "forever"), the original deadline kept while
 *    writes of another type wake the client; "timeout is not a float" / "timeout is negative" and
 *    the other argument errors;
 *  - wake-ups: a push (or ZADD, or a transaction) to one of several keys, BLMOVE / BRPOPLPUSH into
 *    the destination (and on to a client blocked there), BLMPOP / BZMPOP with COUNT, other databases
 *    not waking, a key turned into another type keeping the client blocked, WRONGTYPE from BLMOVE's
 *    destination on wake-up;
 *  - several waiters on one key: each pushed element goes to exactly one of them (which one is not
 *    asserted: Redis serves them in blocking order, Strata wakes all and the first to run wins);
 *  - workers keep serving other clients while some are blocked; a pipeline after a blocking command
 *    waits for it; blocking commands inside MULTI answer at once (*-1 / $-1 / _);
 *  - a client that disconnects while blocked takes nothing of a later push.
 * Blocked clients are raw sockets (st_raw): a command is sent without waiting, "still blocked" is "no
 * byte within 150 ms", and every answer is awaited at most WAKE_MS. One server for the group; each
 * test starts from FLUSHALL and uses its own key names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-blocking", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

/* ---- raw connections: every one a test opens is closed by the teardown, even after a failure -------- */

#define POOL_MAX 24
static st_raw pool[POOL_MAX];
static int pool_n;

static int setup(void **state) {
    pool_n = 0;
    return st_it_fresh_client(&srv, state);
}

static int teardown(void **state) {
    for (int i = 0; i < pool_n; i++) st_raw_close(&pool[i]);
    pool_n = 0;
    return st_it_teardown_client(&srv, state);
}

#define WAKE_MS 5000   /* the longest any expected answer may take */
#define BLOCKED_MS 150 /* "still blocked": no byte for this long */

static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char NOT_FLOAT[] = "ERR timeout is not a float or out of range";
static const char NEGATIVE[] = "ERR timeout is negative";

#define L(...) ((const char *const[]){__VA_ARGS__})

/* Reads one reply within timeout_ms and fails unless its bytes are exactly want. */
static void raw_expect_in(st_raw *r, const char *file, int line, const char *want, size_t wantlen, int timeout_ms) {
    size_t n = 0;
    const char *why = NULL;
    char *got = st_raw_reply(r, timeout_ms, &n, &why);
    if (got && n == wantlen && !memcmp(got, want, n)) {
        free(got);
        return;
    }
    char *w = st_escape(want, wantlen);
    char *g = got ? st_escape(got, n) : NULL;
    char *rest = st_escape(r->buf, r->len);
    char msg[4096];
    snprintf(msg, sizeof msg, "raw reply (waited at most %d ms)\n    got:  %s%s%s\n    want: \"%s\"\n    unparsed: \"%s\"",
             timeout_ms, g ? "\"" : "(", g ? g : why, g ? "\"" : ")", w, rest);
    free(w);
    free(g);
    free(rest);
    free(got);
    st_fail_at(file, line, "%s", msg);
}
#define EXPECT_REPLY(r, want) raw_expect_in((r), __FILE__, __LINE__, (want), sizeof(want) - 1, WAKE_MS)

/* One reply within WAKE_MS (malloc'ed), or the test fails. */
static char *raw_read(st_raw *r, const char *file, int line) {
    const char *why = NULL;
    char *got = st_raw_reply(r, WAKE_MS, NULL, &why);
    if (!got) st_fail_at(file, line, "no reply within %d ms (%s)", WAKE_MS, why);
    return got;
}

/* No byte comes within ms: the client is still blocked (and the connection open). */
static void expect_blocked(st_raw *r, const char *file, int line, int ms, const char *what) {
    if (st_raw_pending(r, ms)) {
        char *g = st_escape(r->buf, r->len);
        st_fail_at(file, line, "%s\n    got:  \"%s\"\n    want: still blocked (nothing within %d ms)", what, g, ms);
    }
    if (r->eof) st_fail_at(file, line, "%s: the server closed the connection; want it still blocked", what);
}
#define EXPECT_BLOCKED(r) expect_blocked((r), __FILE__, __LINE__, BLOCKED_MS, "client " #r)
#define EXPECT_NOTHING_YET(r) expect_blocked((r), __FILE__, __LINE__, 0, "client " #r)

/* A new raw connection (RESP2, or RESP3 after HELLO 3) in the pool. */
static st_raw *raw_new(int proto, const char *file, int line) {
    if (pool_n >= POOL_MAX) st_fail_at(file, line, "more than %d raw connections", POOL_MAX);
    st_raw *r = &pool[pool_n++];
    st_raw_open(&srv, r, file, line);
    if (proto == 3) {
        if (st_raw_cmd(r, "HELLO", "3", NULL)) st_fail_at(file, line, "HELLO 3: send failed");
        char *hello = raw_read(r, file, line);
        if (hello[0] != '%') st_fail_at(file, line, "HELLO 3: no map reply: %s", hello);
        free(hello);
    }
    return r;
}
#define RAW2() raw_new(2, __FILE__, __LINE__)
#define RAW3() raw_new(3, __FILE__, __LINE__)

#define SEND(r, ...)                                                                      \
    do {                                                                                  \
        if (st_raw_cmd((r), __VA_ARGS__, (const char *)NULL)) ST_FAIL("send to " #r " failed"); \
    } while (0)

/* The RESP2 bytes of BLPOP's answer [key, value]. Malloc'ed. */
static char *pop_reply(const char *key, const char *val) {
    char *s = NULL;
    if (asprintf(&s, "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(key), key, strlen(val), val) < 0) return NULL;
    return s;
}

/* Waits (at most WAKE_MS in all) until `want` of the n waiters have answered; got[i] is waiter i's
 * reply or NULL. Returns how many answered. */
static int collect(st_raw *const *w, int n, char **got, int want) {
    int have = 0;
    for (int i = 0; i < n; i++) have += got[i] != NULL;
    int64_t end = st_now_ms() + WAKE_MS;
    while (have < want && st_now_ms() < end) {
        for (int i = 0; i < n && have < want; i++) {
            if (got[i] || !st_raw_pending(w[i], 10)) continue;
            got[i] = st_raw_reply(w[i], WAKE_MS, NULL, NULL);
            if (got[i]) have++;
        }
    }
    return have;
}

/* The answered replies among got[0..n) must be exactly the nw byte strings of want, in any order. */
static void check_distinct(const char *file, int line, char **got, int n, char **want, int nw) {
    bool used[16] = {false};
    int answered = 0;
    bool ok = n <= 16;
    for (int i = 0; ok && i < n; i++) {
        if (!got[i]) continue;
        answered++;
        bool found = false;
        for (int j = 0; j < nw && !found; j++)
            if (!used[j] && want[j] && !strcmp(got[i], want[j])) used[j] = found = true;
        ok = found;
    }
    ok = ok && answered == nw;
    if (ok) return;
    char msg[4096];
    int o = snprintf(msg, sizeof msg, "waiters' replies\n    got:");
    for (int i = 0; i < n && o < (int)sizeof msg - 200; i++) {
        char *e = got[i] ? st_escape(got[i], strlen(got[i])) : NULL;
        o += snprintf(msg + o, sizeof msg - (size_t)o, " [%d] %s%s%s", i, e ? "\"" : "", e ? e : "(none)", e ? "\"" : "");
        free(e);
    }
    o += snprintf(msg + o, sizeof msg - (size_t)o, "\n    want, one each to distinct waiters:");
    for (int j = 0; j < nw && o < (int)sizeof msg - 200; j++) {
        char *e = want[j] ? st_escape(want[j], strlen(want[j])) : NULL;
        o += snprintf(msg + o, sizeof msg - (size_t)o, " \"%s\"", e ? e : "?");
        free(e);
    }
    st_fail_at(file, line, "%s", msg);
}

static void free_all(char **p, int n) {
    for (int i = 0; i < n; i++) {
        free(p[i]);
        p[i] = NULL;
    }
}

/* ---- 1. immediate answers --------------------------------------------------------------------------- */

/* Data is there: every list form pops at once (timeout 0 would otherwise wait forever). */
static void test_immediate_list_pops(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "RPUSH l a b c d e");
    st_raw *r = RAW2();
    SEND(r, "BLPOP", "l", "0");
    EXPECT_REPLY(r, "*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    SEND(r, "BRPOP", "l", "0");
    EXPECT_REPLY(r, "*2\r\n$1\r\nl\r\n$1\r\ne\r\n");
    SEND(r, "BLPOP", "missing", "l", "0"); /* the first non-empty key */
    EXPECT_REPLY(r, "*2\r\n$1\r\nl\r\n$1\r\nb\r\n");
    SEND(r, "BLMOVE", "l", "dst", "LEFT", "RIGHT", "0");
    EXPECT_REPLY(r, "$1\r\nc\r\n");
    SEND(r, "BRPOPLPUSH", "l", "dst", "0");
    EXPECT_REPLY(r, "$1\r\nd\r\n");
    EXPECT_STRS(c, 2, L("d", "c"), "LRANGE dst 0 -1"); /* c appended, d pushed at the head */
    EXPECT_INT(c, 0, "EXISTS l");

    EXPECT_INT(c, 5, "RPUSH m 1 2 3 4 5");
    SEND(r, "BLMPOP", "0", "2", "missing", "m", "LEFT", "COUNT", "2");
    EXPECT_REPLY(r, "*2\r\n$1\r\nm\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    SEND(r, "BLMPOP", "0", "1", "m", "RIGHT"); /* COUNT defaults to 1 */
    EXPECT_REPLY(r, "*2\r\n$1\r\nm\r\n*1\r\n$1\r\n5\r\n");
    SEND(r, "BLMPOP", "0", "1", "m", "RIGHT", "COUNT", "10"); /* what is there */
    EXPECT_REPLY(r, "*2\r\n$1\r\nm\r\n*2\r\n$1\r\n4\r\n$1\r\n3\r\n");
    EXPECT_INT(c, 0, "EXISTS m");

    /* the same shapes in RESP3, and through hiredis */
    EXPECT_INT(c, 3, "RPUSH l x y z");
    st_raw *r3 = RAW3();
    SEND(r3, "BLPOP", "l", "0");
    EXPECT_REPLY(r3, "*2\r\n$1\r\nl\r\n$1\r\nx\r\n");
    SEND(r3, "BLMPOP", "0", "1", "l", "RIGHT");
    EXPECT_REPLY(r3, "*2\r\n$1\r\nl\r\n*1\r\n$1\r\nz\r\n");
    EXPECT_BULK(c, "y", "BLMOVE l l RIGHT LEFT 0");
    EXPECT_STRS(c, 2, L("l", "y"), "BRPOP l 0");
    EXPECT_INT(c, 0, "EXISTS l");
    EXPECT_STRS(c, 2, L("d", "c"), "LRANGE dst 0 -1");
}

/* BZPOPMIN/BZPOPMAX answer [key, member, score] (RESP2 score a bulk string, RESP3 a double), BZMPOP
 * [key, [[member, score], ...]]. */
static void test_immediate_zset_pops(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "ZADD z 1.5 a 2 b 3 c 4 d -1.5 neg");
    st_raw *r = RAW2();
    SEND(r, "BZPOPMIN", "z", "0");
    EXPECT_REPLY(r, "*3\r\n$1\r\nz\r\n$3\r\nneg\r\n$4\r\n-1.5\r\n");
    SEND(r, "BZPOPMIN", "missing", "z", "0");
    EXPECT_REPLY(r, "*3\r\n$1\r\nz\r\n$1\r\na\r\n$3\r\n1.5\r\n");
    SEND(r, "BZPOPMAX", "z", "0");
    EXPECT_REPLY(r, "*3\r\n$1\r\nz\r\n$1\r\nd\r\n$1\r\n4\r\n");
    SEND(r, "BZMPOP", "0", "2", "missing", "z", "MIN", "COUNT", "5");
    EXPECT_REPLY(r, "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    EXPECT_INT(c, 0, "EXISTS z");
    EXPECT_INT(c, 2, "ZADD z 1e3 big 7 seven");
    EXPECT_STRS(c, 3, L("z", "big", "1000"), "BZPOPMAX z 0");
    SEND(r, "BZMPOP", "0", "1", "z", "MAX"); /* COUNT defaults to 1 */
    EXPECT_REPLY(r, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$5\r\nseven\r\n$1\r\n7\r\n");

    /* RESP3: the score is a double */
    EXPECT_INT(c, 3, "ZADD z 1.5 a 2 b 3 c");
    st_raw *r3 = RAW3();
    SEND(r3, "BZPOPMIN", "z", "0");
    EXPECT_REPLY(r3, "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1.5\r\n");
    SEND(r3, "BZPOPMAX", "z", "0");
    EXPECT_REPLY(r3, "*3\r\n$1\r\nz\r\n$1\r\nc\r\n,3\r\n");
    SEND(r3, "BZMPOP", "0", "1", "z", "MIN", "COUNT", "2");
    EXPECT_REPLY(r3, "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    EXPECT_INT(c, 0, "EXISTS z");
}

/* ---- 2. timeouts -------------------------------------------------------------------------------------- */

/* All eight commands time out with a null array after their (fractional) timeout, in RESP2 and RESP3,
 * at once on 16 connections; afterwards they are no longer registered and the connections work. */
static void test_timeouts_null_array(void **state) {
    redisContext *c = *state;
    static const char *const cmds[8][8] = {
        {"BLPOP", "tl", "0.2"},
        {"BRPOP", "other", "tl", ".2"},
        {"BLMOVE", "tl", "td", "LEFT", "RIGHT", "2e-1"},
        {"BRPOPLPUSH", "tl", "td", "0.20"},
        {"BLMPOP", "0.25", "1", "tl", "LEFT", "COUNT", "3"},
        {"BZPOPMIN", "tz", "0.2"},
        {"BZPOPMAX", "tz", "other", "0.2"},
        {"BZMPOP", ".2", "1", "tz", "MAX"},
    };
    st_raw *w[16];
    int64_t sent[16];
    for (int i = 0; i < 16; i++) w[i] = i < 8 ? RAW2() : RAW3();
    for (int i = 0; i < 16; i++) {
        const char *const *a = cmds[i % 8];
        sent[i] = st_now_ms();
        if (st_raw_cmd(w[i], a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (const char *)NULL))
            ST_FAIL("send %s failed", a[0]);
    }
    for (int i = 0; i < 16; i++) {
        if (i < 8) raw_expect_in(w[i], __FILE__, __LINE__, "*-1\r\n", 5, WAKE_MS);
        else raw_expect_in(w[i], __FILE__, __LINE__, "_\r\n", 3, WAKE_MS);
        int64_t took = st_now_ms() - sent[i];
        if (took < 150)
            ST_FAIL("%s (RESP%d) with a 0.2 s timeout answered after %lld ms; want >= 150 ms", cmds[i % 8][0],
                    i < 8 ? 2 : 3, (long long)took);
    }
    for (int i = 0; i < 16; i++) {
        SEND(w[i], "PING");
        EXPECT_REPLY(w[i], "+PONG\r\n");
    }
    /* nobody is still waiting for those keys, and BLMOVE created nothing */
    EXPECT_INT(c, 1, "RPUSH tl x");
    EXPECT_INT(c, 1, "ZADD tz 1 m");
    st_sleep_ms(100);
    EXPECT_INT(c, 1, "LLEN tl");
    EXPECT_INT(c, 1, "ZCARD tz");
    EXPECT_INT(c, 0, "EXISTS td");
    /* and through hiredis: the null array is a nil */
    EXPECT_NIL(c, "BLPOP nothing 0.1");
    EXPECT_NIL(c, "BLMOVE nothing td LEFT LEFT 0.1");
}

/* A timeout under a millisecond is rounded up (Redis 7.0: ceil of the milliseconds), not "0 = block
 * forever". */
static void test_submillisecond_timeout_times_out(void **state) {
    (void)state;
    st_raw *r = RAW2();
    SEND(r, "BLPOP", "sub", "0.0001");
    EXPECT_REPLY(r, "*-1\r\n");
    SEND(r, "BZPOPMIN", "subz", "0.0009");
    EXPECT_REPLY(r, "*-1\r\n");
    SEND(r, "BLMOVE", "sub", "subd", "LEFT", "LEFT", "0.0005");
    EXPECT_REPLY(r, "*-1\r\n");
}

/* A negative timeout that rounds up to 0 ms (-0.0001, -0) is "block forever" in Redis 7.0, not an
 * error. */
static void test_negative_zero_timeout_blocks(void **state) {
    redisContext *c = *state;
    st_raw *r = RAW2();
    SEND(r, "BLPOP", "nz", "-0.0001");
    EXPECT_BLOCKED(r);
    EXPECT_INT(c, 1, "RPUSH nz x");
    EXPECT_REPLY(r, "*2\r\n$2\r\nnz\r\n$1\r\nx\r\n");
    SEND(r, "BLPOP", "nz", "-0");
    EXPECT_BLOCKED(r);
    EXPECT_INT(c, 1, "RPUSH nz y");
    EXPECT_REPLY(r, "*2\r\n$2\r\nnz\r\n$1\r\ny\r\n");
}

/* Bad timeouts and other argument errors answer at once. */
static void test_argument_errors(void **state) {
    redisContext *c = *state;
    static const char *const bad[] = {"abc", "", " 1", "1x", "nan", "0x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_ERR(c, NOT_FLOAT, "BLPOP k %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BRPOP k1 k2 %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BLMOVE k d LEFT RIGHT %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BRPOPLPUSH k d %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BLMPOP %s 1 k LEFT", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BZPOPMIN k %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BZPOPMAX k %s", bad[i]);
        EXPECT_ERR(c, NOT_FLOAT, "BZMPOP %s 1 k MIN", bad[i]);
    }
    static const char *const neg[] = {"-1", "-0.5", "-0.002", "-100"};
    for (size_t i = 0; i < sizeof neg / sizeof *neg; i++) {
        EXPECT_ERR(c, NEGATIVE, "BLPOP k %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BRPOP k %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BLMOVE k d LEFT RIGHT %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BRPOPLPUSH k d %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BLMPOP %s 1 k LEFT", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BZPOPMIN k %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BZPOPMAX k %s", neg[i]);
        EXPECT_ERR(c, NEGATIVE, "BZMPOP %s 1 k MIN", neg[i]);
    }
    /* the timeout is checked before anything is popped */
    EXPECT_INT(c, 1, "RPUSH k v");
    EXPECT_ERR(c, NEGATIVE, "BLPOP k -1");
    EXPECT_ERR(c, NOT_FLOAT, "BLMOVE k d LEFT RIGHT x");
    EXPECT_INT(c, 1, "LLEN k");
    EXPECT_INT(c, 0, "EXISTS d");

    EXPECT_ERR(c, "ERR wrong number of arguments for 'blpop' command", "BLPOP k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'brpop' command", "BRPOP k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'bzpopmin' command", "BZPOPMIN k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'blmove' command", "BLMOVE k d LEFT RIGHT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'brpoplpush' command", "BRPOPLPUSH k d");
    EXPECT_ERR(c, "ERR syntax error", "BLMOVE k d UP LEFT 0");
    EXPECT_ERR(c, "ERR syntax error", "BLMOVE k d LEFT DOWN 0");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "BLMPOP 0 0 k LEFT");
    EXPECT_ERR(c, "ERR count should be greater than 0", "BLMPOP 0 1 k LEFT COUNT 0");
    EXPECT_ERR(c, "ERR count should be greater than 0", "BZMPOP 0 1 k MIN COUNT -1");
    EXPECT_ERR(c, "ERR syntax error", "BLMPOP 0 1 k UP");
    EXPECT_ERR(c, "ERR syntax error", "BZMPOP 0 1 k LEFT");
    EXPECT_ERR(c, "ERR syntax error", "BLMPOP 0 2 k LEFT");
    EXPECT_INT(c, 1, "LLEN k");
}

/* The deadline is the one set when the command first blocked: writes of another type to the key wake
 * the client (Strata) or not (Redis), either way it times out about when it should, not later. */
static void test_deadline_kept_across_wakeups(void **state) {
    redisContext *c = *state;
    st_raw *r = RAW2();
    int64_t t0 = st_now_ms();
    SEND(r, "BLPOP", "dl", "0.5");
    EXPECT_BLOCKED(r); /* registered before the first write */
    int64_t answered = -1;
    for (int round = 0; round < 12 && answered < 0; round++) {
        EXPECT_OK(c, "SET dl s");
        EXPECT_INT(c, 1, "DEL dl");
        if (st_raw_pending(r, 250)) answered = st_now_ms() - t0;
    }
    if (answered < 0) ST_FAIL("BLPOP dl 0.5: no answer within 3 s of writes to dl; want *-1 after about 0.5 s");
    EXPECT_REPLY(r, "*-1\r\n");
    if (answered < 400 || answered > 2500)
        ST_FAIL("BLPOP dl 0.5 answered after %lld ms; want 400..2500 ms", (long long)answered);
    EXPECT_INT(c, 1, "RPUSH dl x");
    st_sleep_ms(50);
    EXPECT_INT(c, 1, "LLEN dl");
}

/* ---- 3. wake-ups --------------------------------------------------------------------------------------- */

static void test_wakeup_blpop_brpop(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    /* several keys: a push to the second */
    SEND(a, "BLPOP", "k1", "k2", "k3", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH k2 v");
    EXPECT_REPLY(a, "*2\r\n$2\r\nk2\r\n$1\r\nv\r\n");
    EXPECT_INT(c, 0, "EXISTS k1 k2 k3");
    /* BRPOP takes the tail of what one push brought */
    SEND(a, "BRPOP", "k", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 3, "RPUSH k x y z");
    EXPECT_REPLY(a, "*2\r\n$1\r\nk\r\n$1\r\nz\r\n");
    EXPECT_STRS(c, 2, L("x", "y"), "LRANGE k 0 -1");
    /* a finite timeout: served at the push, long before it */
    EXPECT_INT(c, 1, "DEL k");
    int64_t t0 = st_now_ms();
    SEND(a, "BLPOP", "k", "30");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "LPUSH k w");
    EXPECT_REPLY(a, "*2\r\n$1\r\nk\r\n$1\r\nw\r\n");
    if (st_now_ms() - t0 > 10000) ST_FAIL("BLPOP k 30 served only after %lld ms", (long long)(st_now_ms() - t0));
    /* RESP3 */
    st_raw *a3 = RAW3();
    SEND(a3, "BRPOP", "r3", "0");
    EXPECT_BLOCKED(a3);
    EXPECT_INT(c, 2, "LPUSH r3 first second");
    EXPECT_REPLY(a3, "*2\r\n$2\r\nr3\r\n$5\r\nfirst\r\n");
    EXPECT_STRS(c, 1, L("second"), "LRANGE r3 0 -1");
    /* the connection is back to normal and can block again */
    SEND(a, "PING");
    EXPECT_REPLY(a, "+PONG\r\n");
    SEND(a, "BLPOP", "again", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH again 1");
    EXPECT_REPLY(a, "*2\r\n$5\r\nagain\r\n$1\r\n1\r\n");
}

static void test_wakeup_blmove_brpoplpush(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    SEND(a, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 2, "RPUSH src a b");
    EXPECT_REPLY(a, "$1\r\nb\r\n");
    EXPECT_STRS(c, 1, L("b"), "LRANGE dst 0 -1");
    EXPECT_STRS(c, 1, L("a"), "LRANGE src 0 -1");

    SEND(a, "BRPOPLPUSH", "src2", "dst", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "LPUSH src2 x");
    EXPECT_REPLY(a, "$1\r\nx\r\n");
    EXPECT_STRS(c, 2, L("x", "b"), "LRANGE dst 0 -1");
    EXPECT_INT(c, 0, "EXISTS src2");

    /* source = destination: a rotation of the one element */
    SEND(a, "BLMOVE", "rot", "rot", "LEFT", "RIGHT", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH rot q");
    EXPECT_REPLY(a, "$1\r\nq\r\n");
    EXPECT_STRS(c, 1, L("q"), "LRANGE rot 0 -1");

    /* RESP3: the bulk string */
    st_raw *a3 = RAW3();
    SEND(a3, "BLMOVE", "s3", "d3", "LEFT", "RIGHT", "0");
    EXPECT_BLOCKED(a3);
    EXPECT_INT(c, 1, "RPUSH s3 v3");
    EXPECT_REPLY(a3, "$2\r\nv3\r\n");
    EXPECT_STRS(c, 1, L("v3"), "LRANGE d3 0 -1");
}

/* BLMOVE's move into a list another client waits on serves that client too. */
static void test_wakeup_chain_through_blmove(void **state) {
    redisContext *c = *state;
    st_raw *mover = RAW2(), *waiter = RAW2();
    SEND(mover, "BLMOVE", "c1", "c2", "LEFT", "RIGHT", "0");
    SEND(waiter, "BLPOP", "c2", "0");
    EXPECT_BLOCKED(waiter);
    EXPECT_NOTHING_YET(mover);
    EXPECT_INT(c, 1, "RPUSH c1 x");
    EXPECT_REPLY(mover, "$1\r\nx\r\n");
    EXPECT_REPLY(waiter, "*2\r\n$2\r\nc2\r\n$1\r\nx\r\n");
    EXPECT_INT(c, 0, "EXISTS c1 c2");
}

static void test_wakeup_blmpop_count(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    SEND(a, "BLMPOP", "0", "2", "l1", "l2", "RIGHT", "COUNT", "2");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 3, "RPUSH l2 a b c");
    EXPECT_REPLY(a, "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    EXPECT_STRS(c, 1, L("a"), "LRANGE l2 0 -1");
    SEND(a, "BLMPOP", "0", "1", "l3", "LEFT", "COUNT", "5");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 2, "LPUSH l3 p q");
    EXPECT_REPLY(a, "*2\r\n$2\r\nl3\r\n*2\r\n$1\r\nq\r\n$1\r\np\r\n");
    EXPECT_INT(c, 0, "EXISTS l3");
}

static void test_wakeup_zset(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    SEND(a, "BZPOPMIN", "z1", "z2", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 2, "ZADD z2 7 n 5 m");
    EXPECT_REPLY(a, "*3\r\n$2\r\nz2\r\n$1\r\nm\r\n$1\r\n5\r\n");
    EXPECT_STRS(c, 1, L("n"), "ZRANGE z2 0 -1");

    SEND(a, "BZPOPMAX", "z3", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 2, "ZADD z3 1 a 2.5 b");
    EXPECT_REPLY(a, "*3\r\n$2\r\nz3\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
    EXPECT_STRS(c, 1, L("a"), "ZRANGE z3 0 -1");

    SEND(a, "BZMPOP", "0", "1", "z4", "MAX", "COUNT", "5");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 2, "ZADD z4 1 a 2 b");
    EXPECT_REPLY(a, "*2\r\n$2\r\nz4\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT_INT(c, 0, "EXISTS z4");

    st_raw *a3 = RAW3();
    SEND(a3, "BZPOPMIN", "z5", "0");
    EXPECT_BLOCKED(a3);
    EXPECT_INT(c, 1, "ZADD z5 2.5 x");
    EXPECT_REPLY(a3, "*3\r\n$2\r\nz5\r\n$1\r\nx\r\n,2.5\r\n");
    SEND(a3, "BZMPOP", "0", "1", "z6", "MIN");
    EXPECT_BLOCKED(a3);
    EXPECT_INT(c, 1, "ZADD z6 -3 y");
    EXPECT_REPLY(a3, "*2\r\n$2\r\nz6\r\n*1\r\n*2\r\n$1\r\ny\r\n,-3\r\n");
}

/* A transaction's writes wake the client as one: what is there after EXEC is what it sees. */
static void test_wakeup_by_transaction(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    SEND(a, "BLPOP", "tk", "0");
    EXPECT_BLOCKED(a);
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "RPUSH tk x");
    EXPECT_STATUS(c, "QUEUED", "LPOP tk");
    redisReply *e = CMD(c, "EXEC");
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) ST_FAIL("EXEC: want 2 replies");
    freeReplyObject(e);
    EXPECT_BLOCKED(a); /* the list is empty again: still waiting */
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "RPUSH tk a b");
    EXPECT_STATUS(c, "QUEUED", "RPUSH other 1");
    e = CMD(c, "EXEC");
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) ST_FAIL("EXEC: want 2 replies");
    freeReplyObject(e);
    EXPECT_REPLY(a, "*2\r\n$2\r\ntk\r\n$1\r\na\r\n");
    EXPECT_STRS(c, 1, L("b"), "LRANGE tk 0 -1");
}

/* A push in another database does not wake a client blocked in database 1. */
static void test_wakeup_other_database(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    SEND(a, "SELECT", "1");
    EXPECT_REPLY(a, "+OK\r\n");
    SEND(a, "BLPOP", "dbk", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH dbk in0");
    EXPECT_BLOCKED(a);
    EXPECT_OK(c, "SELECT 1");
    EXPECT_INT(c, 1, "RPUSH dbk in1");
    EXPECT_REPLY(a, "*2\r\n$3\r\ndbk\r\n$3\r\nin1\r\n");
    EXPECT_INT(c, 0, "EXISTS dbk");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_STRS(c, 1, L("in0"), "LRANGE dbk 0 -1");
}

/* ---- 4. types ---------------------------------------------------------------------------------------- */

/* The key becomes another type while a client waits: it keeps waiting, and is served when the key is
 * a list (zset) again. */
static void test_type_change_keeps_client_blocked(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2(), *z = RAW2();
    SEND(a, "BLPOP", "tk", "0");
    SEND(z, "BZPOPMIN", "zk", "0");
    EXPECT_BLOCKED(a);
    EXPECT_NOTHING_YET(z);
    EXPECT_OK(c, "SET tk str");
    EXPECT_INT(c, 1, "RPUSH zk notazset");
    EXPECT_BLOCKED(a);
    EXPECT_NOTHING_YET(z);
    EXPECT_BULK(c, "str", "GET tk");
    EXPECT_INT(c, 1, "LLEN zk");
    EXPECT_INT(c, 2, "DEL tk zk");
    EXPECT_INT(c, 1, "RPUSH tk x");
    EXPECT_INT(c, 1, "ZADD zk 1 q");
    EXPECT_REPLY(a, "*2\r\n$2\r\ntk\r\n$1\r\nx\r\n");
    EXPECT_REPLY(z, "*3\r\n$2\r\nzk\r\n$1\r\nq\r\n$1\r\n1\r\n");
    EXPECT_INT(c, 0, "EXISTS tk zk");
}

/* A key of another type at call time is WRONGTYPE at once (the first non-empty key decides). */
static void test_wrongtype_at_call(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET s v");
    EXPECT_INT(c, 1, "ZADD z 1 m");
    EXPECT_ERR(c, WRONGTYPE, "BLPOP s 0");
    EXPECT_ERR(c, WRONGTYPE, "BRPOP missing s 0");
    EXPECT_ERR(c, WRONGTYPE, "BLPOP z 0");
    EXPECT_ERR(c, WRONGTYPE, "BLMOVE s d LEFT LEFT 0");
    EXPECT_ERR(c, WRONGTYPE, "BRPOPLPUSH z d 0");
    EXPECT_ERR(c, WRONGTYPE, "BLMPOP 0 2 missing s LEFT");
    EXPECT_ERR(c, WRONGTYPE, "BZPOPMIN s 0");
    EXPECT_ERR(c, WRONGTYPE, "BZPOPMAX missing s 0");
    EXPECT_ERR(c, WRONGTYPE, "BZMPOP 0 1 s MIN");
    EXPECT_INT(c, 1, "RPUSH l 1");
    EXPECT_ERR(c, WRONGTYPE, "BZPOPMIN l 0");
    EXPECT_ERR(c, WRONGTYPE, "BLPOP s l 0");
    EXPECT_STRS(c, 2, L("l", "1"), "BLPOP l s 0"); /* l comes first and has an element */
    EXPECT_INT(c, 1, "RPUSH l 2");
    EXPECT_ERR(c, WRONGTYPE, "BLMOVE l s LEFT LEFT 0"); /* the destination's type */
    EXPECT_ERR(c, WRONGTYPE, "BRPOPLPUSH l z 0");
    EXPECT_STRS(c, 1, L("2"), "LRANGE l 0 -1");
    EXPECT_STRS(c, 3, L("z", "m", "1"), "BZPOPMIN s2 z 0");
    EXPECT_BULK(c, "v", "GET s");
    EXPECT_INT(c, 0, "EXISTS d");
}

/* BLMOVE waiting on a missing source whose destination is a string: the push wakes it, the move fails
 * with WRONGTYPE and the element stays in the source. */
static void test_blmove_wrongtype_destination_on_wakeup(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET dst str");
    st_raw *a = RAW2();
    SEND(a, "BLMOVE", "src", "dst", "LEFT", "LEFT", "0");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH src x");
    char want[128];
    int n = snprintf(want, sizeof want, "-%s\r\n", WRONGTYPE);
    raw_expect_in(a, __FILE__, __LINE__, want, (size_t)n, WAKE_MS);
    EXPECT_STRS(c, 1, L("x"), "LRANGE src 0 -1");
    EXPECT_BULK(c, "str", "GET dst");
}

/* ---- 5. several waiters ----------------------------------------------------------------------------------- */

/* Three clients wait on one list; each pushed element goes to exactly one of them. */
static void test_several_waiters_one_list(void **state) {
    redisContext *c = *state;
    st_raw *w[3];
    char *got[3] = {NULL, NULL, NULL};
    char *want[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) w[i] = RAW2();

    /* one push of three elements */
    for (int i = 0; i < 3; i++) SEND(w[i], "BLPOP", "w", "0");
    EXPECT_BLOCKED(w[2]);
    EXPECT_NOTHING_YET(w[0]);
    EXPECT_NOTHING_YET(w[1]);
    EXPECT_INT(c, 3, "RPUSH w a b c");
    int have = collect(w, 3, got, 3);
    want[0] = pop_reply("w", "a");
    want[1] = pop_reply("w", "b");
    want[2] = pop_reply("w", "c");
    if (have != 3) ST_FAIL("RPUSH w a b c with 3 waiters: %d answered within %d ms", have, WAKE_MS);
    check_distinct(__FILE__, __LINE__, got, 3, want, 3);
    EXPECT_INT(c, 0, "EXISTS w");
    free_all(got, 3);
    free_all(want, 3);

    /* three pushes, mixed commands */
    SEND(w[0], "BLPOP", "w2", "0");
    SEND(w[1], "BRPOP", "w2", "0");
    SEND(w[2], "BLPOP", "elsewhere", "w2", "0");
    EXPECT_BLOCKED(w[2]);
    EXPECT_INT(c, 1, "RPUSH w2 x");
    /* Redis serves the waiter before RPUSH answers (1 each time); Strata's waiters run on their own
     * workers, maybe after the next push */
    EXPECT_INT_RANGE(c, 1, 2, "RPUSH w2 y");
    EXPECT_INT_RANGE(c, 1, 3, "RPUSH w2 z");
    have = collect(w, 3, got, 3);
    want[0] = pop_reply("w2", "x");
    want[1] = pop_reply("w2", "y");
    want[2] = pop_reply("w2", "z");
    if (have != 3) ST_FAIL("three pushes to w2 with 3 waiters: %d answered within %d ms", have, WAKE_MS);
    check_distinct(__FILE__, __LINE__, got, 3, want, 3);
    EXPECT_INT(c, 0, "EXISTS w2");
    free_all(got, 3);
    free_all(want, 3);

    /* fewer elements than waiters: one keeps waiting, and gets the next push */
    for (int i = 0; i < 3; i++) SEND(w[i], "BLPOP", "w3", "0");
    EXPECT_BLOCKED(w[2]);
    EXPECT_INT(c, 2, "RPUSH w3 p q");
    have = collect(w, 3, got, 2);
    if (have != 2) ST_FAIL("RPUSH w3 p q with 3 waiters: %d answered within %d ms; want 2", have, WAKE_MS);
    int left = -1;
    for (int i = 0; i < 3; i++)
        if (!got[i]) left = i;
    expect_blocked(w[left], __FILE__, __LINE__, BLOCKED_MS, "the waiter that got nothing");
    EXPECT_INT(c, 0, "EXISTS w3");
    want[0] = pop_reply("w3", "p");
    want[1] = pop_reply("w3", "q");
    check_distinct(__FILE__, __LINE__, got, 3, want, 2);
    EXPECT_INT(c, 1, "RPUSH w3 r");
    EXPECT_REPLY(w[left], "*2\r\n$2\r\nw3\r\n$1\r\nr\r\n");
    for (int i = 0; i < 3; i++)
        if (i != left) EXPECT_NOTHING_YET(w[i]);
    EXPECT_INT(c, 0, "EXISTS w3");
    free_all(got, 3);
    free_all(want, 3);
}

/* The same with three BZPOPMIN clients and one ZADD of three members. */
static void test_several_waiters_one_zset(void **state) {
    redisContext *c = *state;
    st_raw *w[3];
    char *got[3] = {NULL, NULL, NULL};
    char *want[3] = {"*3\r\n$2\r\nzw\r\n$1\r\na\r\n$1\r\n1\r\n", "*3\r\n$2\r\nzw\r\n$1\r\nb\r\n$1\r\n2\r\n",
                     "*3\r\n$2\r\nzw\r\n$1\r\nc\r\n$1\r\n3\r\n"};
    for (int i = 0; i < 3; i++) {
        w[i] = RAW2();
        SEND(w[i], "BZPOPMIN", "zw", "0");
    }
    EXPECT_BLOCKED(w[2]);
    EXPECT_INT(c, 3, "ZADD zw 1 a 2 b 3 c");
    int have = collect(w, 3, got, 3);
    if (have != 3) ST_FAIL("ZADD zw of 3 members with 3 waiters: %d answered within %d ms", have, WAKE_MS);
    check_distinct(__FILE__, __LINE__, got, 3, want, 3);
    free_all(got, 3);
    EXPECT_INT(c, 0, "EXISTS zw");
}

/* ---- 6. the server goes on ----------------------------------------------------------------------------- */

/* Eight clients blocked (on both workers, most likely) do not keep eight others from being served. */
static void test_workers_serve_others_while_blocked(void **state) {
    redisContext *c = *state;
    enum { NB = 8, NO = 8 };
    st_raw *b[NB], *o[NO];
    char key[32], val[32], want[64];
    for (int i = 0; i < NB; i++) {
        b[i] = RAW2();
        snprintf(key, sizeof key, "idle:%d", i);
        SEND(b[i], "BLPOP", key, "0");
    }
    EXPECT_BLOCKED(b[NB - 1]);
    for (int i = 0; i < NO; i++) o[i] = RAW2();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NO; i++) {
            snprintf(key, sizeof key, "busy:%d", i);
            snprintf(val, sizeof val, "v%d.%d", i, round);
            int64_t t0 = st_now_ms();
            SEND(o[i], "PING");
            EXPECT_REPLY(o[i], "+PONG\r\n");
            SEND(o[i], "SET", key, val);
            EXPECT_REPLY(o[i], "+OK\r\n");
            SEND(o[i], "GET", key);
            int n = snprintf(want, sizeof want, "$%zu\r\n%s\r\n", strlen(val), val);
            raw_expect_in(o[i], __FILE__, __LINE__, want, (size_t)n, WAKE_MS);
            if (st_now_ms() - t0 > WAKE_MS) ST_FAIL("client %d: PING/SET/GET took %lld ms", i, (long long)(st_now_ms() - t0));
        }
    }
    for (int i = 0; i < NB; i++) EXPECT_NOTHING_YET(b[i]);
    for (int i = 0; i < NB; i++) {
        snprintf(key, sizeof key, "idle:%d", i);
        EXPECT_INT(c, 1, "RPUSH %s %d", key, i);
    }
    for (int i = 0; i < NB; i++) {
        snprintf(key, sizeof key, "idle:%d", i);
        snprintf(val, sizeof val, "%d", i);
        char *w = pop_reply(key, val);
        raw_expect_in(b[i], __FILE__, __LINE__, w, strlen(w), WAKE_MS);
        free(w);
    }
    EXPECT_INT(c, NO, "DBSIZE");
}

/* Commands pipelined after a blocking one run after it is served, in order. */
static void test_pipeline_waits_for_blocking_command(void **state) {
    redisContext *c = *state;
    st_raw *a = RAW2();
    if (st_raw_sends(a, "*3\r\n$5\r\nBLPOP\r\n$2\r\npk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")) ST_FAIL("send failed");
    EXPECT_BLOCKED(a); /* not even the PING */
    EXPECT_INT(c, 1, "RPUSH pk v");
    EXPECT_REPLY(a, "*2\r\n$2\r\npk\r\n$1\r\nv\r\n");
    EXPECT_REPLY(a, "+PONG\r\n");
    /* two blocking commands and a SET in one write */
    if (st_raw_sends(a, "*3\r\n$5\r\nBLPOP\r\n$2\r\npk\r\n$1\r\n0\r\n"
                        "*3\r\n$5\r\nBRPOP\r\n$2\r\npk\r\n$1\r\n0\r\n"
                        "*3\r\n$3\r\nSET\r\n$4\r\ndone\r\n$1\r\n1\r\n"))
        ST_FAIL("send failed");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 1, "RPUSH pk first");
    EXPECT_REPLY(a, "*2\r\n$2\r\npk\r\n$5\r\nfirst\r\n");
    EXPECT_BLOCKED(a);
    EXPECT_INT(c, 0, "EXISTS done");
    EXPECT_INT(c, 1, "RPUSH pk second");
    EXPECT_REPLY(a, "*2\r\n$2\r\npk\r\n$6\r\nsecond\r\n");
    EXPECT_REPLY(a, "+OK\r\n");
    EXPECT_BULK(c, "1", "GET done");
    EXPECT_INT(c, 0, "EXISTS pk");
}

/* Inside MULTI nothing blocks: an empty key is a null answer at once (BLMOVE/BRPOPLPUSH a null bulk). */
static void test_blocking_commands_inside_multi(void **state) {
    redisContext *c = *state;
    for (int proto = 2; proto <= 3; proto++) {
        st_raw *a = proto == 2 ? RAW2() : RAW3();
        SEND(a, "MULTI");
        EXPECT_REPLY(a, "+OK\r\n");
        SEND(a, "BLPOP", "e", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BLMOVE", "e", "d", "LEFT", "LEFT", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BRPOPLPUSH", "e", "d", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BZPOPMIN", "ez", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BLMPOP", "0", "1", "e", "LEFT");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BZMPOP", "0", "1", "ez", "MIN");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BRPOP", "e", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "BZPOPMAX", "ez", "0");
        EXPECT_REPLY(a, "+QUEUED\r\n");
        SEND(a, "EXEC");
        if (proto == 2) EXPECT_REPLY(a, "*8\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n*-1\r\n*-1\r\n");
        else EXPECT_REPLY(a, "*8\r\n_\r\n_\r\n_\r\n_\r\n_\r\n_\r\n_\r\n_\r\n");
    }
    /* with data, inside MULTI they pop as usual, seeing the transaction's own pushes */
    st_raw *a = RAW2();
    SEND(a, "MULTI");
    EXPECT_REPLY(a, "+OK\r\n");
    SEND(a, "RPUSH", "e", "x", "y");
    EXPECT_REPLY(a, "+QUEUED\r\n");
    SEND(a, "BLPOP", "e", "0");
    EXPECT_REPLY(a, "+QUEUED\r\n");
    SEND(a, "BLMOVE", "e", "d", "LEFT", "LEFT", "0");
    EXPECT_REPLY(a, "+QUEUED\r\n");
    SEND(a, "BLMOVE", "e", "d", "LEFT", "LEFT", "0");
    EXPECT_REPLY(a, "+QUEUED\r\n");
    SEND(a, "EXEC");
    EXPECT_REPLY(a, "*4\r\n:2\r\n*2\r\n$1\r\ne\r\n$1\r\nx\r\n$1\r\ny\r\n$-1\r\n");
    EXPECT_STRS(c, 1, L("y"), "LRANGE d 0 -1");
    EXPECT_INT(c, 0, "EXISTS e ez");
}

/* A client that disconnects while blocked is forgotten: a later push stays in the list, or goes to
 * another waiter. */
static void test_disconnect_while_blocked(void **state) {
    redisContext *c = *state;
    st_raw *gone = RAW2();
    SEND(gone, "BLPOP", "dk", "0");
    EXPECT_BLOCKED(gone);
    st_raw_close(gone);
    st_sleep_ms(100);
    EXPECT_INT(c, 1, "RPUSH dk v");
    st_sleep_ms(100);
    EXPECT_INT(c, 1, "LLEN dk");
    EXPECT_STRS(c, 2, L("dk", "v"), "BLPOP dk 1");

    /* BLMOVE: the element stays in the source */
    st_raw *gone2 = RAW2();
    SEND(gone2, "BLMOVE", "ds", "dd", "LEFT", "LEFT", "0");
    EXPECT_BLOCKED(gone2);
    st_raw_close(gone2);
    st_sleep_ms(100);
    EXPECT_INT(c, 1, "RPUSH ds v");
    st_sleep_ms(100);
    EXPECT_STRS(c, 1, L("v"), "LRANGE ds 0 -1");
    EXPECT_INT(c, 0, "EXISTS dd");

    /* one waiter gone, one still there: the push goes to the live one */
    st_raw *gone3 = RAW2(), *live = RAW2();
    SEND(gone3, "BLPOP", "dk2", "0");
    SEND(live, "BLPOP", "dk2", "0");
    EXPECT_BLOCKED(live);
    EXPECT_NOTHING_YET(gone3);
    st_raw_close(gone3);
    st_sleep_ms(100);
    EXPECT_INT(c, 1, "RPUSH dk2 w");
    EXPECT_REPLY(live, "*2\r\n$3\r\ndk2\r\n$1\r\nw\r\n");
    EXPECT_INT(c, 0, "EXISTS dk2");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_immediate_list_pops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_immediate_zset_pops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_null_array, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submillisecond_timeout_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_zero_timeout_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_kept_across_wakeups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_blpop_brpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_blmove_brpoplpush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_chain_through_blmove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_blmpop_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_zset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_by_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_other_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_type_change_keeps_client_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype_at_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blmove_wrongtype_destination_on_wakeup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_waiters_one_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_waiters_one_zset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workers_serve_others_while_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_waits_for_blocking_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_commands_inside_multi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_while_blocked, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
