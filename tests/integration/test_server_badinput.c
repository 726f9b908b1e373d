/* test_server_badinput.c -- issue 3, "Must show" 2: malformed and oversized frames, random bytes and
 * half-open connections. Each bad connection gets Redis's "-ERR Protocol error: ..." (where Redis
 * sends one) and is closed by the server; meanwhile a witness client on the same server keeps
 * working, and the data it wrote before is all still there (checked after every test). Also
 * --maxclients (the 6th of 5 is refused with Redis's error) and --timeout (an idle client is
 * closed, a busy one is not).
 * The group server runs with --proto-max-bulk-len 1mb (Redis's minimum) so the limit is cheap to hit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_harness.h"

#define WITNESS_KEYS 200
#define EOF_DEADLINE_MS 5000

static st_server srv;
static st_server extra; /* maxclients / timeout servers */

static int group_setup(void **state) {
    (void)state;
    return st_it_group_setup(&srv, "it-badinput", ST_IT_ARGS("--proto-max-bulk-len", "1mb"));
}
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

/* The witness: a client that writes WITNESS_KEYS keys before the test and checks them after. */
static int setup(void **state) {
    if (st_it_fresh_client(&srv, state) != 0) return -1;
    redisContext *c = *state;
    bool ok = true;
    for (int i = 0; ok && i < WITNESS_KEYS; i++) {
        redisReply *r = redisCommand(c, "SET w:%d value-%d", i, i);
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
    }
    if (!ok) {
        redisFree(c);
        *state = NULL;
        return -1;
    }
    return 0;
}

static void witness_check(redisContext *c, const char *file, int line) {
    redisReply *r = st_cmd(c, file, line, "PING");
    st_check_reply_status(r, file, line, "PONG", "witness PING");
    freeReplyObject(r);
    for (int i = 0; i < WITNESS_KEYS; i++) {
        char want[32];
        snprintf(want, sizeof want, "value-%d", i);
        r = st_cmd(c, file, line, "GET w:%d", i);
        st_check_reply_bulk(r, file, line, want, strlen(want), "witness GET w:<i>");
        freeReplyObject(r);
    }
}
#define WITNESS(c) witness_check((c), __FILE__, __LINE__)

static int teardown(void **state) {
    redisContext *c = *state;
    *state = NULL;
    if (!st_server_alive(&srv)) {
        if (c) redisFree(c);
        return -1;
    }
    /* the old witness and a brand-new client both see every key */
    int rc = 0;
    redisContext *fresh = st_connect(&srv);
    if (!c || !fresh) rc = -1;
    for (int i = 0; rc == 0 && i < WITNESS_KEYS; i++) {
        redisReply *a = redisCommand(c, "GET w:%d", i), *b = redisCommand(fresh, "GET w:%d", i);
        char want[32];
        snprintf(want, sizeof want, "value-%d", i);
        if (!a || !b || a->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING || strcmp(a->str, want) ||
            strcmp(b->str, want)) {
            fprintf(stderr, "teardown: witness key w:%d lost or changed\n", i);
            rc = -1;
        }
        if (a) freeReplyObject(a);
        if (b) freeReplyObject(b);
    }
    if (c) redisFree(c);
    if (fresh) redisFree(fresh);
    return rc;
}

/* Sends bytes on a new connection, then expects exactly `want` back (NULL: anything that is whole
 * RESP replies, the last of them a protocol error) and the server closing the connection. */
static void expect_closed_with(const char *file, int line, const void *bytes, size_t n, const char *want) {
    st_raw r;
    st_raw_open(&srv, &r, file, line);
    char *e = st_escape(bytes, n > 80 ? 80 : n);
    (void)st_raw_send(&r, bytes, n); /* may fail when the server closes while a long input goes out */
    char *out = NULL;
    size_t on = 0;
    bool eof = st_raw_wait_eof(&r, EOF_DEADLINE_MS, &out, &on);
    if (!eof) st_fail_at(file, line, "after \"%s\": the server did not close the connection within %d ms", e, EOF_DEADLINE_MS);
    if (want && (on != strlen(want) || memcmp(out, want, on))) {
        char *g = st_escape(out, on), *w = st_escape(want, strlen(want));
        st_fail_at(file, line, "after \"%s\":\n    got:  \"%s\"\n    want: \"%s\"", e, g, w);
    }
    free(out);
    free(e);
    st_raw_close(&r);
}
#define EXPECT_CLOSED_WITH(bytes, want) expect_closed_with(__FILE__, __LINE__, (bytes), sizeof(bytes) - 1, (want))

/* ---- malformed frames ----------------------------------------------------------------------------- */

static void test_malformed_frames(void **state) {
    redisContext *c = *state;
    EXPECT_CLOSED_WITH("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    WITNESS(c);
    EXPECT_CLOSED_WITH("*1x\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_CLOSED_WITH("*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_CLOSED_WITH("*2\r\n$3\r\nGET\r\n$1x\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_CLOSED_WITH("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    WITNESS(c);
    /* a bulk, then garbage where the next "$" header should be */
    EXPECT_CLOSED_WITH("*3\r\n$3\r\nSET\r\n$1\r\na\r\n%garbage\r\n", "-ERR Protocol error: expected '$', got '%'\r\n");
    EXPECT_CLOSED_WITH("*3\r\n$3\r\nSET\r\n$1\r\na\r\nxyz\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n");
    EXPECT_CLOSED_WITH("*2\r\n:3\r\nGET\r\n", "-ERR Protocol error: expected '$', got ':'\r\n");
    EXPECT_INT(c, 0, "EXISTS a"); /* none of those SETs ran */
    /* inline: unbalanced quotes */
    EXPECT_CLOSED_WITH("SET \"a b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    EXPECT_CLOSED_WITH("SET 'a b c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    EXPECT_CLOSED_WITH("SET \"a\"b c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    WITNESS(c);
    /* requests before the bad frame run; nothing after it does */
    EXPECT_CLOSED_WITH("SET pe1 v\r\n*2\r\n$3\r\nGET\r\n$3\r\npe1\r\n*abc\r\nSET pe2 v\r\n",
                       "+OK\r\n$1\r\nv\r\n-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_INT(c, 1, "EXISTS pe1");
    EXPECT_INT(c, 0, "EXISTS pe2");
    /* empty multibulks are not errors */
    st_raw r;
    assert_int_equal(st_raw_connect(&srv, &r), 0);
    st_raw_sends(&r, "*0\r\n*-1\r\n*-5\r\nPING\r\n");
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_close(&r);
    WITNESS(c);
}

static void test_oversized_frames(void **state) {
    redisContext *c = *state;
    /* proto-max-bulk-len is 1mb: one byte more is refused, exactly 1 MiB is served */
    EXPECT_CLOSED_WITH("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048577\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_CLOSED_WITH("*2\r\n$3\r\nGET\r\n$99999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    size_t n = 1u << 20;
    char *v = malloc(n);
    memset(v, 'v', n);
    EXPECT_OK(c, "SET big %b", v, n);
    EXPECT_INT(c, (long long)n, "STRLEN big");
    free(v);
    WITNESS(c);
    /* multibulk count over 1048576 */
    if (!st_server_is_redis()) /* issue 3's limit; Redis 7.0 allows up to INT_MAX */
        EXPECT_CLOSED_WITH("*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    EXPECT_CLOSED_WITH("*9223372036854775807\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    /* an inline line, a count line and a bulk length line over 64 KiB without their newline */
    size_t big = 70000;
    char *junk = malloc(big + 8);
    memset(junk, 'a', big);
    expect_closed_with(__FILE__, __LINE__, junk, big, "-ERR Protocol error: too big inline request\r\n");
    WITNESS(c);
    junk[0] = '*';
    memset(junk + 1, '1', big - 1);
    expect_closed_with(__FILE__, __LINE__, junk, big, "-ERR Protocol error: too big mbulk count string\r\n");
    memcpy(junk, "*1\r\n$", 5);
    expect_closed_with(__FILE__, __LINE__, junk, big, "-ERR Protocol error: too big bulk count string\r\n");
    free(junk);
    WITNESS(c);
}

/* ---- random bytes --------------------------------------------------------------------------------- */

/* Everything the server sent must be whole RESP replies; a protocol error may only be the last. */
static void check_replies(const char *out, size_t n, int conn, uint64_t seed) {
    size_t off = 0;
    while (off < n) {
        size_t l = st_resp_frame_len((const uint8_t *)out + off, n - off);
        if (l == 0 || l == SIZE_MAX) {
            char *e = st_escape(out + off, n - off);
            ST_FAIL("random connection %d (seed %llu): the server sent a %s reply: \"%s\"", conn,
                    (unsigned long long)seed, l ? "malformed" : "truncated", e);
        }
        if (!strncmp(out + off, "-ERR Protocol error: ", 21) && off + l != n) {
            char *e = st_escape(out + off + l, n - off - l);
            ST_FAIL("random connection %d (seed %llu): replies after a protocol error: \"%s\"", conn,
                    (unsigned long long)seed, e);
        }
        off += l;
    }
}

static void test_random_bytes(void **state) {
    redisContext *c = *state;
    uint64_t seed = st_test_seed("test_random_bytes", 20240601);
    st_rng rng;
    st_rng_seed(&rng, seed);
    enum { CONNS = 300, MAXLEN = 600 };
    static const char *const prefixes[] = {"", "*", "*3\r\n$3\r\nSET\r\n", "*2\r\n$", "\"", "GET '"};
    uint8_t buf[MAXLEN + 32];
    for (int i = 0; i < CONNS; i++) {
        const char *pre = prefixes[st_rng_below(&rng, sizeof prefixes / sizeof *prefixes)];
        size_t pl = strlen(pre);
        memcpy(buf, pre, pl);
        size_t n = pl + 1 + st_rng_below(&rng, MAXLEN);
        bool printable = st_rng_below(&rng, 2);
        for (size_t j = pl; j < n; j++) {
            if (printable) {
                uint64_t x = st_rng_below(&rng, 100);
                buf[j] = x < 5 ? '\r' : x < 10 ? '\n' : x < 15 ? ' ' : x < 18 ? '"' : (uint8_t)(33 + st_rng_below(&rng, 94));
            } else {
                buf[j] = (uint8_t)st_rng_next(&rng);
            }
        }
        st_raw r;
        if (st_raw_connect(&srv, &r) != 0) ST_FAIL("random connection %d: connect failed", i);
        st_raw_send(&r, buf, n); /* may fail once the server has closed: fine */
        if (st_rng_below(&rng, 4) == 0) { /* vanish without a word */
            st_raw_close(&r);
            continue;
        }
        shutdown(r.fd, SHUT_WR); /* the server sees EOF after our bytes */
        char *out = NULL;
        size_t on = 0;
        if (!st_raw_wait_eof(&r, EOF_DEADLINE_MS, &out, &on)) {
            char *e = st_escape(buf, n);
            ST_FAIL("random connection %d (seed %llu): not closed within %d ms after sending \"%s\"", i,
                    (unsigned long long)seed, EOF_DEADLINE_MS, e);
        }
        check_replies(out, on, i, seed);
        free(out);
        st_raw_close(&r);
        if (i % 25 == 0) {
            EXPECT_STATUS(c, "PONG", "PING");
            EXPECT_BULK(c, "value-7", "GET w:7");
        }
    }
    WITNESS(c);
}

/* ---- half-open connections ------------------------------------------------------------------------- */

static void wait_clients(redisContext *c, long long want, const char *file, int line) {
    int64_t end = st_now_ms() + EOF_DEADLINE_MS;
    long long n;
    while ((n = st_info_field(c, "clients", "connected_clients")) != want) {
        if (st_now_ms() > end) {
            redisReply *r = CMD(c, "CLIENT LIST");
            st_fail_at(file, line, "connected_clients is %lld after %d ms, want %lld; CLIENT LIST:\n%s", n,
                       EOF_DEADLINE_MS, want, r->type == REDIS_REPLY_STRING ? r->str : "?");
        }
        st_sleep_ms(20);
    }
}
#define WAIT_CLIENTS(c, n) wait_clients((c), (n), __FILE__, __LINE__)

static void test_half_open_connections(void **state) {
    redisContext *c = *state;
    WAIT_CLIENTS(c, 1);
    enum { HALF = 40, SILENT = 40 };
    st_raw half[HALF], silent[SILENT];
    for (int i = 0; i < HALF; i++) {
        assert_int_equal(st_raw_connect(&srv, &half[i]), 0);
        static const char *const parts[] = {"*3\r\n$3\r\nSET\r\n$1\r\n", "*2\r\n$3\r\nGET\r\n$1000000\r\nabc", "*", "SET k",
                                            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab"};
        st_raw_sends(&half[i], parts[i % 5]);
        if (i % 10 == 0) EXPECT_STATUS(c, "PONG", "PING");
    }
    for (int i = 0; i < SILENT; i++) assert_int_equal(st_raw_connect(&srv, &silent[i]), 0);
    /* the server keeps serving: the witness, and new clients */
    WITNESS(c);
    redisContext *fresh = st_connect(&srv);
    assert_non_null(fresh);
    EXPECT_OK(fresh, "SET during-half-open 1");
    EXPECT_BULK(c, "1", "GET during-half-open");
    WAIT_CLIENTS(c, 2 + HALF + SILENT);
    redisFree(fresh);
    /* none of the half frames ran */
    EXPECT_INT(c, 0, "EXISTS k");
    /* connect and close at once, 100 times */
    for (int i = 0; i < 100; i++) {
        st_raw r;
        assert_int_equal(st_raw_connect(&srv, &r), 0);
        st_raw_close(&r);
    }
    EXPECT_STATUS(c, "PONG", "PING");
    /* closing the half-open ones: the server lets go of every one of them */
    for (int i = 0; i < HALF; i++) st_raw_close(&half[i]);
    for (int i = 0; i < SILENT; i++) st_raw_close(&silent[i]);
    WAIT_CLIENTS(c, 1);
    WITNESS(c);
}

/* ---- maxclients ------------------------------------------------------------------------------------- */

static int setup_maxclients(void **state) {
    (void)state;
    return st_it_group_setup(&extra, "it-maxclients", ST_IT_ARGS("--maxclients", "5"));
}

static int setup_timeout(void **state) {
    (void)state;
    return st_it_group_setup(&extra, "it-timeout", ST_IT_ARGS("--timeout", "1"));
}

static int teardown_extra(void **state) {
    (void)state;
    return st_it_group_teardown(&extra);
}

static void test_maxclients(void **state) {
    (void)state;
    redisContext *cs[5] = {NULL};
    cs[0] = st_connect(&extra);
    assert_non_null(cs[0]);
    EXPECT_OK(cs[0], "SET before 1");
    WAIT_CLIENTS(cs[0], 1); /* the harness's readiness probe is gone */
    for (int i = 1; i < 5; i++) {
        cs[i] = st_connect(&extra);
        assert_non_null(cs[i]);
        EXPECT_STATUS(cs[i], "PONG", "PING");
    }
    for (int attempt = 0; attempt < 3; attempt++) { /* the 6th, 7th, 8th: refused every time */
        st_raw r;
        assert_int_equal(st_raw_connect(&extra, &r), 0);
        char *out = NULL;
        size_t n = 0;
        if (!st_raw_wait_eof(&r, EOF_DEADLINE_MS, &out, &n)) ST_FAIL("connection over maxclients not closed");
        static const char want[] = "-ERR max number of clients reached\r\n";
        if (n != sizeof want - 1 || memcmp(out, want, n)) ST_FAIL("connection over maxclients got \"%s\"", st_escape(out, n));
        free(out);
        st_raw_close(&r);
    }
    for (int i = 0; i < 5; i++) EXPECT_STATUS(cs[i], "PONG", "PING"); /* the five are unaffected */
    /* one leaves: a new client gets in (once the server has noticed) */
    redisFree(cs[4]);
    cs[4] = NULL;
    int64_t end = st_now_ms() + EOF_DEADLINE_MS;
    for (;;) {
        st_raw r;
        assert_int_equal(st_raw_connect(&extra, &r), 0);
        st_raw_cmd(&r, "PING", NULL);
        char *rep = st_raw_reply(&r, 2000, NULL, NULL);
        bool in = rep && !strcmp(rep, "+PONG\r\n");
        free(rep);
        st_raw_close(&r);
        if (in) break;
        if (st_now_ms() > end) ST_FAIL("no client admitted within %d ms after one of 5 left", EOF_DEADLINE_MS);
        st_sleep_ms(20);
    }
    EXPECT_BULK(cs[0], "1", "GET before");
    for (int i = 0; i < 4; i++) redisFree(cs[i]);
}

/* ---- timeout ---------------------------------------------------------------------------------------- */

static void test_idle_timeout(void **state) {
    (void)state;
    redisContext *busy = st_connect(&extra);
    assert_non_null(busy);
    st_raw idle, half;
    assert_int_equal(st_raw_connect(&extra, &idle), 0);
    assert_int_equal(st_raw_connect(&extra, &half), 0);
    st_raw_cmd(&idle, "PING", NULL);
    RAW_EXPECT(&idle, "+PONG\r\n");
    st_raw_sends(&half, "*2\r\n$3\r\nGET\r\n");
    int64_t t0 = st_now_ms();
    int64_t idle_closed = -1, half_closed = -1;
    /* the busy client talks every 200 ms for 3 s; the other two say nothing */
    while (st_now_ms() - t0 < 3000 || idle_closed < 0 || half_closed < 0) {
        if (st_now_ms() - t0 > 6000) break;
        EXPECT_STATUS(busy, "PONG", "PING");
        if (idle_closed < 0 && st_raw_wait_eof(&idle, 0, NULL, NULL)) idle_closed = st_now_ms() - t0;
        if (half_closed < 0 && st_raw_wait_eof(&half, 0, NULL, NULL)) half_closed = st_now_ms() - t0;
        st_sleep_ms(200);
    }
    if (idle_closed < 0) ST_FAIL("--timeout 1: an idle client is still open after 6 s");
    if (half_closed < 0) ST_FAIL("--timeout 1: a client idle inside a half frame is still open after 6 s");
    if (idle_closed < 900) ST_FAIL("--timeout 1: an idle client was closed after only %lld ms", (long long)idle_closed);
    EXPECT_STATUS(busy, "PONG", "PING"); /* the busy one survived 3 s */
    st_raw_close(&idle);
    st_raw_close(&half);
    redisFree(busy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_open_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maxclients, setup_maxclients, teardown_extra),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup_timeout, teardown_extra),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
