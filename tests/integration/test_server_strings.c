/* test_server_strings.c -- every string command of strata-server against Redis 7's documented
 * replies and error texts, through hiredis: SET with each option and the invalid combinations,
 * SETNX/SETEX/PSETEX/GETSET/GETDEL/GETEX, MGET/MSET/MSETNX (atomic under concurrent clients),
 * APPEND/STRLEN, the INCR family (overflow, non-integers), INCRBYFLOAT formatting, GETRANGE/
 * SETRANGE indexes and limits, binary values, a 1 MiB value, commands on expired keys, and the
 * arity and unknown-command errors. One server for the group; each test starts from FLUSHALL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-strings", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

/* Now plus secs, as a decimal string, for EXAT/PXAT. */
static void at_s(char *buf, size_t n, long long secs) { snprintf(buf, n, "%lld", (long long)(st_wall_ms() / 1000) + secs); }
static void at_ms(char *buf, size_t n, long long ms) { snprintf(buf, n, "%lld", (long long)st_wall_ms() + ms); }

/* ---- GET / SET ---------------------------------------------------------------------------------- */

static void test_set_get_basic(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "GET missing");
    EXPECT_OK(c, "SET k v");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_OK(c, "SET k other");
    EXPECT_BULK(c, "other", "GET k");
    EXPECT_OK(c, "SET empty %s", "");
    EXPECT_BULK(c, "", "GET empty");
    EXPECT_INT(c, 1, "EXISTS empty");
    EXPECT_OK(c, "set lower case");
    EXPECT_BULK(c, "case", "gEt lower");
    EXPECT_INT(c, -1, "TTL k");
}

static void test_set_expire_options(void **state) {
    redisContext *c = *state;
    char t[32];
    EXPECT_OK(c, "SET k v EX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_OK(c, "SET k v PX 100000");
    EXPECT_INT_RANGE(c, 98000, 100000, "PTTL k");
    at_s(t, sizeof t, 200);
    EXPECT_OK(c, "SET k v EXAT %s", t);
    EXPECT_INT_RANGE(c, 198, 200, "TTL k");
    EXPECT_INT(c, atoll(t), "EXPIRETIME k");
    at_ms(t, sizeof t, 300000);
    EXPECT_OK(c, "SET k v PXAT %s", t);
    EXPECT_INT_RANGE(c, 298000, 300000, "PTTL k");
    EXPECT_INT(c, atoll(t), "PEXPIRETIME k");
    /* a plain SET forgets the TTL */
    EXPECT_OK(c, "SET k v2");
    EXPECT_INT(c, -1, "TTL k");
    /* options are case-insensitive */
    EXPECT_OK(c, "SET k v ex 50");
    EXPECT_INT_RANGE(c, 48, 50, "TTL k");
    /* an absolute time in the past: OK, and the key is gone */
    EXPECT_OK(c, "SET past v PXAT 1");
    EXPECT_INT(c, 0, "EXISTS past");
    EXPECT_NIL(c, "GET past");
    EXPECT_OK(c, "SET past v EXAT 1");
    EXPECT_INT(c, 0, "EXISTS past");
}

static void test_set_invalid_expire(void **state) {
    redisContext *c = *state;
    const char *e = "ERR invalid expire time in 'set' command";
    EXPECT_ERR(c, e, "SET k v EX 0");
    EXPECT_ERR(c, e, "SET k v EX -1");
    EXPECT_ERR(c, e, "SET k v PX 0");
    EXPECT_ERR(c, e, "SET k v PX -100");
    EXPECT_ERR(c, e, "SET k v EXAT 0");
    EXPECT_ERR(c, e, "SET k v PXAT -5");
    EXPECT_ERR(c, e, "SET k v EX 9223372036854775807");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SET k v EX abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SET k v PX 1.5");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SET k v EX 99999999999999999999");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX 10 PX 10000");
    EXPECT_ERR(c, "ERR syntax error", "SET k v PX 10 PXAT 10");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EXAT 10 EX 10");
    EXPECT_ERR(c, "ERR syntax error", "SET k v KEEPTTL EX 5");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX 5 KEEPTTL");
    EXPECT_ERR(c, "ERR syntax error", "SET k v NX XX");
    EXPECT_ERR(c, "ERR syntax error", "SET k v FOO");
    EXPECT_ERR(c, "ERR syntax error", "SET k v EX 10 FOO");
    /* no failed SET created or changed anything */
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_OK(c, "SET k v EX 10 EX 20"); /* a repeated option: the last one wins, as in Redis */
    EXPECT_INT_RANGE(c, 18, 20, "TTL k");
}

static void test_set_nx_xx(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "SET k v XX");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_OK(c, "SET k v NX");
    EXPECT_NIL(c, "SET k v2 NX");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_OK(c, "SET k v3 XX");
    EXPECT_BULK(c, "v3", "GET k");
    EXPECT_OK(c, "SET k v4 XX EX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_NIL(c, "SET k v5 NX PX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k"); /* a refused SET NX leaves the TTL alone */
}

static void test_set_keepttl(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k v EX 100");
    EXPECT_OK(c, "SET k v2 KEEPTTL");
    EXPECT_BULK(c, "v2", "GET k");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_OK(c, "SET k v3 XX KEEPTTL");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_OK(c, "SET nottl v KEEPTTL");
    EXPECT_INT(c, -1, "TTL nottl");
}

static void test_set_get_option(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "SET k v GET");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_BULK(c, "v", "SET k v2 GET");
    EXPECT_BULK(c, "v2", "GET k");
    EXPECT_BULK(c, "v2", "SET k v3 GET EX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_BULK(c, "v3", "SET k v4 GET KEEPTTL");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    /* NX and XX with GET (Redis 7): the old value comes back whether or not the SET happened */
    EXPECT_BULK(c, "v4", "SET k v5 NX GET");
    EXPECT_BULK(c, "v4", "GET k");
    EXPECT_NIL(c, "SET n v NX GET");
    EXPECT_BULK(c, "v", "GET n");
    EXPECT_NIL(c, "SET x v XX GET");
    EXPECT_INT(c, 0, "EXISTS x");
    EXPECT_BULK(c, "v4", "SET k v6 XX GET");
    EXPECT_BULK(c, "v6", "GET k");
}

static void test_setnx_setex_psetex(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "SETNX k v");
    EXPECT_INT(c, 0, "SETNX k v2");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_OK(c, "SETEX k 100 v3");
    EXPECT_BULK(c, "v3", "GET k");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_OK(c, "PSETEX p 100000 pv");
    EXPECT_INT_RANGE(c, 98000, 100000, "PTTL p");
    EXPECT_BULK(c, "pv", "GET p");
    EXPECT_ERR(c, "ERR invalid expire time in 'setex' command", "SETEX k 0 v");
    EXPECT_ERR(c, "ERR invalid expire time in 'setex' command", "SETEX k -10 v");
    EXPECT_ERR(c, "ERR invalid expire time in 'psetex' command", "PSETEX k 0 v");
    EXPECT_ERR(c, "ERR invalid expire time in 'psetex' command", "PSETEX k -1 v");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SETEX k abc v");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "PSETEX k 1.5 v");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setex' command", "SETEX k 10");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setnx' command", "SETNX k");
    EXPECT_BULK(c, "v3", "GET k"); /* unchanged by the failures */
}

static void test_getset_getdel(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "GETSET k v");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_OK(c, "SET k v2 EX 100");
    EXPECT_BULK(c, "v2", "GETSET k v3");
    EXPECT_INT(c, -1, "TTL k"); /* GETSET drops the TTL */
    EXPECT_BULK(c, "v3", "GETDEL k");
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_NIL(c, "GETDEL k");
    EXPECT_NIL(c, "GETDEL missing");
}

static void test_getex(void **state) {
    redisContext *c = *state;
    char t[32];
    EXPECT_NIL(c, "GETEX missing");
    EXPECT_NIL(c, "GETEX missing EX 10");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_OK(c, "SET k v");
    EXPECT_BULK(c, "v", "GETEX k");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_BULK(c, "v", "GETEX k EX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_BULK(c, "v", "GETEX k");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k"); /* no option: TTL untouched */
    EXPECT_BULK(c, "v", "GETEX k PX 200000");
    EXPECT_INT_RANGE(c, 198000, 200000, "PTTL k");
    at_s(t, sizeof t, 300);
    EXPECT_BULK(c, "v", "GETEX k EXAT %s", t);
    EXPECT_INT(c, atoll(t), "EXPIRETIME k");
    at_ms(t, sizeof t, 400000);
    EXPECT_BULK(c, "v", "GETEX k PXAT %s", t);
    EXPECT_INT(c, atoll(t), "PEXPIRETIME k");
    EXPECT_BULK(c, "v", "GETEX k PERSIST");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command", "GETEX k EX 0");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command", "GETEX k PX -1");
    EXPECT_ERR(c, "ERR invalid expire time in 'getex' command", "GETEX k EX 9223372036854775807");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "GETEX k EX abc");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k EX 1 PX 1");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k PERSIST EX 1");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k FOO");
    EXPECT_ERR(c, "ERR syntax error", "GETEX k EX");
    EXPECT_INT(c, -1, "TTL k");
    /* an absolute time in the past deletes the key, after returning it */
    EXPECT_BULK(c, "v", "GETEX k EXAT 1");
    EXPECT_INT(c, 0, "EXISTS k");
}

/* ---- MGET / MSET / MSETNX ------------------------------------------------------------------------------- */

static void test_mget_mset(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    EXPECT_STRS(c, 5, ((const char *[]){"1", NULL, "2", "3", NULL}), "MGET a x b c y");
    EXPECT_STRS(c, 1, ((const char *[]){NULL}), "MGET nothing");
    EXPECT_STRS(c, 3, ((const char *[]){"1", "1", "1"}), "MGET a a a");
    EXPECT_OK(c, "MSET a 10 a 11"); /* the last of a repeated key wins */
    EXPECT_BULK(c, "11", "GET a");
    EXPECT_OK(c, "SET t v EX 100");
    EXPECT_OK(c, "MSET t w");
    EXPECT_INT(c, -1, "TTL t"); /* MSET replaces the whole key, TTL included */
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mset' command", "MSET a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'mget' command", "MGET");
    EXPECT_STRS(c, 2, ((const char *[]){"11", "2"}), "MGET a b"); /* failed MSETs changed nothing */
}

static void test_msetnx(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "MSETNX a 1 b 2");
    EXPECT_INT(c, 0, "MSETNX c 3 a 9");
    EXPECT_INT(c, 0, "EXISTS c"); /* all or nothing */
    EXPECT_BULK(c, "1", "GET a");
    EXPECT_INT(c, 1, "MSETNX c 3 d 4");
    EXPECT_STRS(c, 4, ((const char *[]){"1", "2", "3", "4"}), "MGET a b c d");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'msetnx' command", "MSETNX e 1 f");
    EXPECT_INT(c, 0, "EXISTS e");
}

/* Two clients (likely on different workers) race MSET against MGET and MSETNX against MSETNX;
 * neither ever sees half of a multi-key write. */
static void test_mset_msetnx_atomic(void **state) {
    redisContext *c = *state;
    redisContext *w = st_connect(&srv), *r = st_connect(&srv);
    assert_non_null(w);
    assert_non_null(r);
    enum { NKEYS = 50, ROUNDS = 40, DEPTH = 8 };
    char cmd_set[NKEYS * 24 + 16], cmd_get[NKEYS * 12 + 16];
    for (int round = 0; round < ROUNDS; round++) {
        /* round's value for every key, written by w, read by r, DEPTH times each, interleaved */
        for (int d = 0; d < DEPTH; d++) {
            int o = snprintf(cmd_set, sizeof cmd_set, "MSET");
            int g = snprintf(cmd_get, sizeof cmd_get, "MGET");
            for (int k = 0; k < NKEYS; k++) {
                o += snprintf(cmd_set + o, sizeof cmd_set - (size_t)o, " ak%d r%dd%d", k, round, d);
                g += snprintf(cmd_get + g, sizeof cmd_get - (size_t)g, " ak%d", k);
            }
            redisAppendCommand(w, cmd_set);
            redisAppendCommand(r, cmd_get);
        }
        st_flush(w, __FILE__, __LINE__); /* both pipelines are in the server before either is read */
        st_flush(r, __FILE__, __LINE__);
        for (int d = 0; d < DEPTH; d++) {
            redisReply *rep = st_get_reply(w, __FILE__, __LINE__);
            st_check_reply_status(rep, __FILE__, __LINE__, "OK", "MSET ak0..ak49");
            freeReplyObject(rep);
        }
        for (int d = 0; d < DEPTH; d++) {
            redisReply *rep = st_get_reply(r, __FILE__, __LINE__);
            assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
            assert_int_equal(rep->elements, NKEYS);
            for (int k = 1; k < NKEYS; k++) {
                const redisReply *a = rep->element[0], *b = rep->element[k];
                bool same = a->type == b->type &&
                            (a->type == REDIS_REPLY_NIL || (a->len == b->len && !memcmp(a->str, b->str, a->len)));
                if (!same) {
                    char *s = st_reply_repr(rep);
                    ST_FAIL("MGET saw a torn MSET (round %d): %s", round, s);
                    free(s);
                }
            }
            freeReplyObject(rep);
        }
    }
    /* MSETNX x_i y_i from both sides in opposite key order: exactly one wins each pair */
    for (int i = 0; i < 100; i++) {
        redisAppendCommand(w, "MSETNX nx%d:x w nx%d:y w", i, i);
        redisAppendCommand(r, "MSETNX nx%d:y r nx%d:x r", i, i);
    }
    st_flush(w, __FILE__, __LINE__);
    st_flush(r, __FILE__, __LINE__);
    for (int i = 0; i < 100; i++) {
        redisReply *a = st_get_reply(w, __FILE__, __LINE__);
        redisReply *b = st_get_reply(r, __FILE__, __LINE__);
        assert_int_equal(a->type, REDIS_REPLY_INTEGER);
        assert_int_equal(b->type, REDIS_REPLY_INTEGER);
        if (a->integer + b->integer != 1) ST_FAIL("MSETNX pair %d: both replied %lld and %lld", i, a->integer, b->integer);
        const char *winner = a->integer ? "w" : "r";
        freeReplyObject(a);
        freeReplyObject(b);
        char kx[32], ky[32];
        snprintf(kx, sizeof kx, "nx%d:x", i);
        snprintf(ky, sizeof ky, "nx%d:y", i);
        EXPECT_STRS(c, 2, ((const char *[]){winner, winner}), "MGET %s %s", kx, ky);
    }
    redisFree(w);
    redisFree(r);
}

/* Read-modify-write commands are atomic per key across clients (and workers): pipelined INCR, APPEND
 * and INCRBYFLOAT from four clients lose no update; SETNX and GETDEL races have exactly one winner. */
static void test_rmw_atomic_across_clients(void **state) {
    redisContext *c = *state;
    enum { CLIENTS = 4, OPS = 250, RACE = 100 };
    redisContext *cl[CLIENTS];
    for (int k = 0; k < CLIENTS; k++) {
        cl[k] = st_connect(&srv);
        assert_non_null(cl[k]);
    }
    for (int k = 0; k < CLIENTS; k++) {
        for (int i = 0; i < OPS; i++) {
            redisAppendCommand(cl[k], "INCR ctr");
            redisAppendCommand(cl[k], "APPEND app x");
            redisAppendCommand(cl[k], "INCRBYFLOAT fl 0.5");
            redisAppendCommand(cl[k], "DECRBY dctr 2");
        }
    }
    for (int k = 0; k < CLIENTS; k++) st_flush(cl[k], __FILE__, __LINE__);
    for (int k = 0; k < CLIENTS; k++)
        for (int i = 0; i < 4 * OPS; i++) {
            redisReply *r = st_get_reply(cl[k], __FILE__, __LINE__);
            if (r->type == REDIS_REPLY_ERROR) ST_FAIL("client %d: %s", k, r->str);
            freeReplyObject(r);
        }
    EXPECT_BULK(c, "1000", "GET ctr");
    EXPECT_INT(c, CLIENTS * OPS, "STRLEN app");
    EXPECT_BULK(c, "500", "GET fl");
    EXPECT_BULK(c, "-2000", "GET dctr");
    /* races with one winner per key */
    for (int i = 0; i < RACE; i++) EXPECT_OK(c, "SET gd:%d v%d", i, i);
    for (int k = 0; k < CLIENTS; k++)
        for (int i = 0; i < RACE; i++) {
            redisAppendCommand(cl[k], "SETNX nx:%d c%d", i, k);
            redisAppendCommand(cl[k], "GETDEL gd:%d", i);
        }
    for (int k = 0; k < CLIENTS; k++) st_flush(cl[k], __FILE__, __LINE__);
    int nx_wins[RACE] = {0}, nx_winner[RACE], gd_wins[RACE] = {0};
    for (int k = 0; k < CLIENTS; k++)
        for (int i = 0; i < RACE; i++) {
            redisReply *a = st_get_reply(cl[k], __FILE__, __LINE__), *b = st_get_reply(cl[k], __FILE__, __LINE__);
            if (a->type == REDIS_REPLY_INTEGER && a->integer == 1) {
                nx_wins[i]++;
                nx_winner[i] = k;
            }
            if (b->type == REDIS_REPLY_STRING) gd_wins[i]++;
            freeReplyObject(a);
            freeReplyObject(b);
        }
    for (int i = 0; i < RACE; i++) {
        if (nx_wins[i] != 1) ST_FAIL("SETNX nx:%d: %d clients won (want 1)", i, nx_wins[i]);
        if (gd_wins[i] != 1) ST_FAIL("GETDEL gd:%d: %d clients got the value (want 1)", i, gd_wins[i]);
        char want[8];
        snprintf(want, sizeof want, "c%d", nx_winner[i]);
        EXPECT_BULK(c, want, "GET nx:%d", i);
    }
    for (int k = 0; k < CLIENTS; k++) redisFree(cl[k]);
}

/* ---- APPEND / STRLEN ------------------------------------------------------------------------------------ */

static void test_append_strlen(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "STRLEN k");
    EXPECT_INT(c, 5, "APPEND k hello");
    EXPECT_INT(c, 11, "APPEND k %s", " world");
    EXPECT_BULK(c, "hello world", "GET k");
    EXPECT_INT(c, 11, "STRLEN k");
    EXPECT_INT(c, 11, "APPEND k %s", "");
    EXPECT_OK(c, "SET t v EX 100");
    EXPECT_INT(c, 2, "APPEND t w");
    EXPECT_INT_RANGE(c, 98, 100, "TTL t"); /* APPEND keeps the TTL */
    EXPECT_OK(c, "SET n 12");
    EXPECT_INT(c, 3, "APPEND n 3");
    EXPECT_INT(c, 124, "INCR n");
    EXPECT_INT(c, 3, "STRLEN n");
    EXPECT_INT(c, 1, "APPEND e %b", "\0", (size_t)1);
    EXPECT_INT(c, 1, "STRLEN e");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'append' command", "APPEND k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'strlen' command", "STRLEN a b");
}

/* ---- INCR family ------------------------------------------------------------------------------------------ */

static void test_incr_family(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "INCR n");
    EXPECT_INT(c, 11, "INCRBY n 10");
    EXPECT_INT(c, 10, "DECR n");
    EXPECT_INT(c, 7, "DECRBY n 3");
    EXPECT_INT(c, 2, "INCRBY n -5");
    EXPECT_INT(c, 7, "DECRBY n -5");
    EXPECT_BULK(c, "7", "GET n");
    EXPECT_INT(c, -1, "DECR m");
    EXPECT_INT(c, -5, "DECRBY d 5");
    EXPECT_INT(c, 0, "INCRBY z 0");
    EXPECT_BULK(c, "0", "GET z");
    EXPECT_OK(c, "SET big 17179869184");
    EXPECT_INT(c, 17179869185LL, "INCR big");
    EXPECT_OK(c, "SET neg -10");
    EXPECT_INT(c, -9, "INCR neg");
    EXPECT_OK(c, "SET t 10 EX 100");
    EXPECT_INT(c, 11, "INCR t");
    EXPECT_INT_RANGE(c, 98, 100, "TTL t"); /* INCR keeps the TTL */
}

static void test_incr_errors(void **state) {
    redisContext *c = *state;
    const char *nan = "ERR value is not an integer or out of range";
    const char *ovf = "ERR increment or decrement would overflow";
    static const char *const bad[] = {"abc", " 1", "1 ", "1.5", "", "007", "+1", "12345678901234567890", "1e3", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_OK(c, "SET s %s", bad[i]);
        EXPECT_ERR(c, nan, "INCR s");
        EXPECT_ERR(c, nan, "DECRBY s 1");
        EXPECT_BULK(c, bad[i], "GET s"); /* untouched */
    }
    EXPECT_ERR(c, nan, "INCRBY n abc");
    EXPECT_ERR(c, nan, "INCRBY n 1.0");
    EXPECT_ERR(c, nan, "DECRBY n 99999999999999999999");
    EXPECT_INT(c, 0, "EXISTS n");
    EXPECT_OK(c, "SET n 9223372036854775807");
    EXPECT_ERR(c, ovf, "INCR n");
    EXPECT_ERR(c, ovf, "INCRBY n 1");
    EXPECT_ERR(c, ovf, "DECRBY n -1");
    EXPECT_INT(c, 9223372036854775806LL, "DECR n");
    EXPECT_OK(c, "SET n -9223372036854775808");
    EXPECT_ERR(c, ovf, "DECR n");
    EXPECT_ERR(c, ovf, "INCRBY n -1");
    EXPECT_BULK(c, "-9223372036854775808", "GET n");
    EXPECT_OK(c, "SET n 5");
    EXPECT_ERR(c, "ERR decrement would overflow", "DECRBY n -9223372036854775808");
    EXPECT_ERR(c, ovf, "INCRBY n 9223372036854775807");
    EXPECT_INT(c, -9223372036854775803LL, "INCRBY n -9223372036854775808");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'incr' command", "INCR");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'incrby' command", "INCRBY n");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'decr' command", "DECR a b");
}

static void test_incrbyfloat(void **state) {
    redisContext *c = *state;
    EXPECT_BULK(c, "10.5", "INCRBYFLOAT f 10.5");
    EXPECT_BULK(c, "10.5", "GET f");
    EXPECT_BULK(c, "11", "INCRBYFLOAT f 0.5");
    EXPECT_OK(c, "SET f 10.50");
    EXPECT_BULK(c, "10.6", "INCRBYFLOAT f 0.1");
    EXPECT_OK(c, "SET f 3.0e3");
    EXPECT_BULK(c, "3000", "INCRBYFLOAT f 0");
    EXPECT_BULK(c, "3000", "GET f");
    EXPECT_OK(c, "SET f 5.0e3");
    EXPECT_BULK(c, "5200", "INCRBYFLOAT f 2.0e2");
    EXPECT_BULK(c, "1", "INCRBYFLOAT g 1");
    EXPECT_BULK(c, "1.25", "INCRBYFLOAT g 0.25");
    EXPECT_OK(c, "SET g 1.5");
    EXPECT_BULK(c, "3", "INCRBYFLOAT g 1.5");
    EXPECT_OK(c, "SET g 17179869184");
    EXPECT_BULK(c, "17179869185.5", "INCRBYFLOAT g 1.5");
    EXPECT_OK(c, "SET g 1");
    EXPECT_BULK(c, "-0.1", "INCRBYFLOAT g -1.1");
    EXPECT_OK(c, "SET g 0");
    EXPECT_BULK(c, "1.1", "INCRBYFLOAT g 1.1");
    EXPECT_BULK(c, "0", "INCRBYFLOAT g -1.1");
    EXPECT_BULK(c, "100000", "INCRBYFLOAT h 1e5");
    EXPECT_BULK(c, "100000.5", "INCRBYFLOAT h 5.0e-1");
    EXPECT_OK(c, "SET t 1 EX 100");
    EXPECT_BULK(c, "2.5", "INCRBYFLOAT t 1.5");
    EXPECT_INT_RANGE(c, 98, 100, "TTL t");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT f abc");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT f nan");
    EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT f %s", "");
    EXPECT_ERR(c, "ERR increment would produce NaN or Infinity", "INCRBYFLOAT f inf");
    EXPECT_ERR(c, "ERR increment would produce NaN or Infinity", "INCRBYFLOAT f -inf");
    EXPECT_BULK(c, "5200", "GET f");
    static const char *const bad[] = {"abc", " 1", "1 ", "1.5.5", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_OK(c, "SET s %s", bad[i]);
        EXPECT_ERR(c, "ERR value is not a valid float", "INCRBYFLOAT s 1");
        EXPECT_BULK(c, bad[i], "GET s");
    }
    EXPECT_ERR(c, "ERR wrong number of arguments for 'incrbyfloat' command", "INCRBYFLOAT f");
}

/* ---- GETRANGE / SETRANGE --------------------------------------------------------------------------- */

static void test_getrange(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET s %s", "Hello World");
    static const struct {
        const char *range, *want;
    } cases[] = {
        {"0 4", "Hello"},   {"-5 -1", "World"}, {"0 -1", "Hello World"}, {"5 3", ""},
        {"0 100", "Hello World"}, {"-100 -1", "Hello World"}, {"100 200", ""}, {"-1 -5", ""},
        {"-1 -1", "d"},     {"10 10", "d"},     {"11 11", ""},           {"3 -100", ""},
        {"6 -1", "World"},  {"0 0", "H"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "GETRANGE s %s", cases[i].range);
        EXPECT_BULK(c, cases[i].want, cmd);
    }
    EXPECT_BULK(c, "", "GETRANGE missing 0 -1");
    EXPECT_OK(c, "SET e %s", "");
    EXPECT_BULK(c, "", "GETRANGE e 0 -1");
    EXPECT_OK(c, "SET n 1234");
    EXPECT_BULK(c, "23", "GETRANGE n 1 2");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "GETRANGE s 0 abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "GETRANGE s x 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getrange' command", "GETRANGE s 0");
}

static void test_setrange(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET s %s", "Hello World");
    EXPECT_INT(c, 11, "SETRANGE s 6 Redis");
    EXPECT_BULK(c, "Hello Redis", "GET s");
    EXPECT_INT(c, 11, "SETRANGE s 0 J");
    EXPECT_BULK(c, "Jello Redis", "GET s");
    EXPECT_INT(c, 13, "SETRANGE s 11 !!");
    EXPECT_BULK(c, "Jello Redis!!", "GET s");
    EXPECT_INT(c, 16, "SETRANGE s 15 X"); /* zero-padded gap */
    EXPECT_BULKB(c, "Jello Redis!!\0\0X", 16, "GET s");
    EXPECT_INT(c, 6, "SETRANGE z 5 x");
    EXPECT_BULKB(c, "\0\0\0\0\0x", 6, "GET z");
    /* an empty value on a missing key creates nothing; on an existing one, returns its length */
    EXPECT_INT(c, 0, "SETRANGE none 0 %s", "");
    EXPECT_INT(c, 0, "SETRANGE none 10 %s", "");
    EXPECT_INT(c, 0, "EXISTS none");
    EXPECT_INT(c, 16, "SETRANGE s 100 %s", "");
    EXPECT_INT(c, 16, "STRLEN s");
    EXPECT_OK(c, "SET t abc EX 100");
    EXPECT_INT(c, 3, "SETRANGE t 1 X");
    EXPECT_BULK(c, "aXc", "GET t");
    EXPECT_INT_RANGE(c, 98, 100, "TTL t"); /* SETRANGE keeps the TTL */
    EXPECT_ERR(c, "ERR offset is out of range", "SETRANGE s -1 x");
    EXPECT_ERR(c, "ERR offset is out of range", "SETRANGE new -1 x");
    EXPECT_ERR(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)", "SETRANGE s 536870912 x");
    EXPECT_ERR(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)", "SETRANGE new 536870911 xy");
    EXPECT_INT(c, 0, "EXISTS new");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SETRANGE s abc x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'setrange' command", "SETRANGE s 1");
    EXPECT_INT(c, 16, "STRLEN s");
}

/* ---- binary and large values --------------------------------------------------------------------- */

static void test_binary_values(void **state) {
    redisContext *c = *state;
    const char v[] = "a\0b\r\nc\n\r\0\xff\x80$-1\r\n*3\r\n";
    size_t vn = sizeof v - 1;
    const char k[] = "key\0with\r\nnul";
    size_t kn = sizeof k - 1;
    EXPECT_OK(c, "SET %b %b", k, kn, v, vn);
    EXPECT_BULKB(c, v, vn, "GET %b", k, kn);
    EXPECT_INT(c, (long long)vn, "STRLEN %b", k, kn);
    EXPECT_NIL(c, "GET %b", "key", (size_t)3); /* the NUL is part of the key, not its end */
    EXPECT_INT(c, 1, "EXISTS %b", k, kn);
    EXPECT_BULKB(c, "\0b\r", 3, "GETRANGE %b 1 3", k, kn);
    EXPECT_INT(c, (long long)vn + 2, "APPEND %b %b", k, kn, "\0\0", (size_t)2);
    /* every byte value, in a value and in a key */
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    EXPECT_OK(c, "SET %b %b", all, sizeof all, all, sizeof all);
    EXPECT_BULKB(c, all, sizeof all, "GET %b", all, sizeof all);
    redisReply *r = CMD(c, "MGET %b %b nokey", all, sizeof all, k, kn);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    st_check_reply_bulk(r->element[0], __FILE__, __LINE__, all, sizeof all, "MGET all");
    assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    EXPECT_OK(c, "SET bin %b", "\r\n", (size_t)2);
    EXPECT_BULKB(c, "\r\n", 2, "GET bin");
    EXPECT_BULKB(c, "\r\n", 2, "GETDEL bin");
}

static void test_large_value(void **state) {
    redisContext *c = *state;
    size_t n = 1u << 20;
    char *v = malloc(n);
    assert_non_null(v);
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("test_large_value", 42));
    for (size_t i = 0; i < n; i++) v[i] = (char)st_rng_below(&rng, 256);
    EXPECT_OK(c, "SET big %b", v, n);
    EXPECT_BULKB(c, v, n, "GET big");
    EXPECT_INT(c, (long long)n, "STRLEN big");
    EXPECT_BULKB(c, v + 500000, 100, "GETRANGE big 500000 500099");
    EXPECT_BULKB(c, v + n - 10, 10, "GETRANGE big -10 -1");
    EXPECT_INT(c, (long long)n + 5, "APPEND big tail!");
    EXPECT_BULKB(c, "tail!", 5, "GETRANGE big -5 -1");
    EXPECT_INT(c, (long long)n + 5, "SETRANGE big 0 XYZ");
    EXPECT_BULKB(c, "XYZ", 3, "GETRANGE big 0 2");
    /* several big values in one MSET and one MGET */
    EXPECT_OK(c, "MSET b1 %b b2 %b", v, n, v, n / 2);
    redisReply *r = CMD(c, "MGET b1 b2");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    st_check_reply_bulk(r->element[0], __FILE__, __LINE__, v, n, "MGET b1");
    st_check_reply_bulk(r->element[1], __FILE__, __LINE__, v, n / 2, "MGET b2");
    freeReplyObject(r);
    free(v);
}

/* ---- expired keys: every command sees them as missing -------------------------------------------- */

static void test_commands_on_expired_keys(void **state) {
    redisContext *c = *state;
    static const char *const keys[] = {"e:get", "e:incr", "e:append", "e:setnx", "e:getset", "e:msetnx",
                                       "e:strlen", "e:getrange", "e:setrange", "e:getdel", "e:getex",
                                       "e:incrbyfloat", "e:setxx", "e:setget", "e:keepttl", "e:mget"};
    size_t nk = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < nk; i++) EXPECT_OK(c, "SET %s 100 PX 40", keys[i]);
    /* waiting for time to pass, not for the server: the TTLs are 40 ms */
    int64_t until = st_now_ms() + 120;
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_NIL(c, "GET e:get");
    EXPECT_INT(c, 1, "INCR e:incr");
    EXPECT_INT(c, -1, "TTL e:incr");
    EXPECT_INT(c, 1, "APPEND e:append x");
    EXPECT_BULK(c, "x", "GET e:append");
    EXPECT_INT(c, 1, "SETNX e:setnx new");
    EXPECT_NIL(c, "GETSET e:getset new");
    EXPECT_INT(c, 1, "MSETNX e:msetnx new");
    EXPECT_INT(c, 0, "STRLEN e:strlen");
    EXPECT_BULK(c, "", "GETRANGE e:getrange 0 -1");
    EXPECT_INT(c, 3, "SETRANGE e:setrange 2 x");
    EXPECT_BULKB(c, "\0\0x", 3, "GET e:setrange");
    EXPECT_NIL(c, "GETDEL e:getdel");
    EXPECT_NIL(c, "GETEX e:getex PERSIST");
    EXPECT_BULK(c, "1.5", "INCRBYFLOAT e:incrbyfloat 1.5");
    EXPECT_NIL(c, "SET e:setxx v XX");
    EXPECT_NIL(c, "SET e:setget v GET");
    EXPECT_OK(c, "SET e:keepttl v KEEPTTL");
    EXPECT_INT(c, -1, "TTL e:keepttl");
    EXPECT_STRS(c, 2, ((const char *[]){NULL, "x"}), "MGET e:mget e:append");
}

/* ---- errors common to all commands ------------------------------------------------------------------- */

static void test_arity_and_unknown(void **state) {
    redisContext *c = *state;
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "gEt a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'set' command", "SET k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getset' command", "GETSET k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getdel' command", "GETDEL");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'getex' command", "GETEX");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'psetex' command", "PSETEX k 10");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'decrby' command", "DECRBY k");
    EXPECT_ERR(c, "ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' ", "FOOBAR a b");
    EXPECT_ERR(c, "ERR unknown command 'foobar', with args beginning with: ", "foobar");
    EXPECT_ERR(c, "ERR unknown command 'GETT', with args beginning with: 'k' ", "GETT k");
    /* argument text stops at 128 bytes */
    char longarg[300];
    memset(longarg, 'x', sizeof longarg - 1);
    longarg[sizeof longarg - 1] = '\0';
    char want[512];
    snprintf(want, sizeof want, "ERR unknown command 'NOPE', with args beginning with: '%.128s' ", longarg);
    EXPECT_ERR(c, want, "NOPE %s more", longarg);
    EXPECT_OK(c, "SET still works");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_get_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_expire_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_invalid_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_nx_xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_keepttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_get_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setnx_setex_psetex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getset_getdel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mget_mset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_msetnx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mset_msetnx_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rmw_atomic_across_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_strlen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incrbyfloat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands_on_expired_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity_and_unknown, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
