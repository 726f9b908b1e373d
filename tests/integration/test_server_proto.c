/* test_server_proto.c -- the protocol and the connection/server commands of strata-server, checked
 * byte for byte where Redis 7 fixes the bytes: pipelining (1000 commands in one write, replies in
 * order), frames split at every byte, inline commands, RESP3 after HELLO 3 (map, null, verbatim,
 * and back to RESP2 with HELLO 2), AUTH with --requirepass, CLIENT ID/SETNAME/GETNAME/LIST/INFO/
 * KILL, CONFIG GET/SET, COMMAND COUNT/INFO/DOCS, INFO sections, TIME, SAVE/BGSAVE/LASTSAVE,
 * SLOWLOG with --slowlog-log-slower-than 0, PING/ECHO and QUIT.
 * Note on RESP3 doubles: no command Strata has (nor its Redis 7 counterpart) replies with a RESP3
 * double (INCRBYFLOAT replies with a bulk string in RESP3 too); the test checks that. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "server_harness.h"

static st_server srv;   /* the group's server: default options */
static st_server extra; /* a test's own server (auth, slowlog), started and freed by its fixture */

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-proto", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

static int setup_auth(void **state) {
    (void)state;
    return st_it_group_setup(&extra, "it-auth", ST_IT_ARGS("--requirepass", "sekret"));
}

static int setup_slowlog(void **state) {
    (void)state;
    return st_it_group_setup(&extra, "it-slowlog", ST_IT_ARGS("--slowlog-log-slower-than", "0"));
}

static int teardown_extra(void **state) {
    (void)state;
    return st_it_group_teardown(&extra);
}

/* Reads one reply and fails unless it contains every NULL-terminated needle; returns it (free). */
static char *raw_reply_containing(st_raw *r, const char *file, int line, const char *what, ...) {
    size_t n = 0;
    const char *why = NULL;
    char *got = st_raw_reply(r, ST_IT_IO_TIMEOUT_MS, &n, &why);
    if (!got) st_fail_at(file, line, "%s: no reply (%s)", what, why);
    va_list ap;
    va_start(ap, what);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *)) {
        if (!memmem(got, n, needle, strlen(needle))) {
            char *g = st_escape(got, n), *w = st_escape(needle, strlen(needle));
            st_fail_at(file, line, "%s: reply \"%s\" lacks \"%s\"", what, g, w);
        }
    }
    va_end(ap);
    return got;
}
#define RAW_CONTAINS(r, what, ...) raw_reply_containing((r), __FILE__, __LINE__, (what), __VA_ARGS__, NULL)

/* ---- pipelining and partial frames ----------------------------------------------------------------- */

static void test_pipeline_1000_in_one_write(void **state) {
    (void)state;
    enum { N = 1000 };
    st_raw r;
    RAW_OPEN(&srv, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int i = 0; i < N; i++) {
        char k[16], v[16];
        int kl = snprintf(k, sizeof k, "pk%d", i), vl = snprintf(v, sizeof v, "val%d", i);
        switch (i % 4) {
        case 0: fprintf(f, "*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n"); break;
        case 1: fprintf(f, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, k, vl, v); break;
        case 2: fprintf(f, "*2\r\n$3\r\nGET\r\n$%d\r\npk%d\r\n", snprintf(NULL, 0, "pk%d", i - 1), i - 1); break;
        case 3: fprintf(f, "PING\r\n"); break; /* inline commands mixed into the pipeline */
        }
    }
    fclose(f);
    assert_int_equal(st_raw_send(&r, buf, len), 0);
    free(buf);
    long long ctr = 0;
    for (int i = 0; i < N; i++) {
        char want[64];
        switch (i % 4) {
        case 0: snprintf(want, sizeof want, ":%lld\r\n", ++ctr); break;
        case 1: snprintf(want, sizeof want, "+OK\r\n"); break;
        case 2: snprintf(want, sizeof want, "$%d\r\nval%d\r\n", snprintf(NULL, 0, "val%d", i - 1), i - 1); break;
        case 3: snprintf(want, sizeof want, "+PONG\r\n"); break;
        }
        st_raw_expect(&r, __FILE__, __LINE__, want, strlen(want));
    }
    assert_false(st_raw_pending(&r, 50)); /* exactly N replies */
    st_raw_close(&r);
}

/* Replies larger than the socket buffers: 20 GETs of a 1 MiB value in one write, read only after
 * all were sent; every reply arrives whole and in order (the server waits for the socket to drain). */
static void test_pipeline_big_replies(void **state) {
    redisContext *c = *state;
    size_t n = 1u << 20;
    char *v = malloc(n);
    for (size_t i = 0; i < n; i++) v[i] = (char)('A' + i % 23);
    EXPECT_OK(c, "SET big %b", v, n);
    st_raw r;
    RAW_OPEN(&srv, &r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int i = 0; i < 20; i++) fprintf(f, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n*2\r\n$4\r\nINCR\r\n$2\r\nbc\r\n");
    fclose(f);
    assert_int_equal(st_raw_send(&r, buf, len), 0);
    free(buf);
    char hdr[32];
    int hn = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
    for (int i = 0; i < 20; i++) {
        size_t got = 0;
        const char *why = NULL;
        char *rep = st_raw_reply(&r, ST_IT_IO_TIMEOUT_MS, &got, &why);
        if (!rep || got != (size_t)hn + n + 2 || memcmp(rep, hdr, (size_t)hn) || memcmp(rep + hn, v, n))
            ST_FAIL("big reply %d: %zu bytes (%s), want %zu", i, got, why ? why : "mismatch", (size_t)hn + n + 2);
        free(rep);
        char want[32];
        snprintf(want, sizeof want, ":%d\r\n", i + 1);
        st_raw_expect(&r, __FILE__, __LINE__, want, strlen(want));
    }
    free(v);
    st_raw_close(&r);
}

/* A request's bytes one at a time: no reply before the last byte, then exactly the reply. */
static void test_partial_frames_byte_by_byte(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    static const struct {
        const char *req, *reply;
    } steps[] = {
        {"*3\r\n$3\r\nSET\r\n$2\r\nbk\r\n$12\r\nhello\r\nworld\r\n", "+OK\r\n"},
        {"*2\r\n$3\r\nGET\r\n$2\r\nbk\r\n", "$12\r\nhello\r\nworld\r\n"},
        {"INCR bctr\r\n", ":1\r\n"},
        {"*1\r\n$4\r\nPING\r\n", "+PONG\r\n"},
        {"*0\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "$0\r\n\r\n"}, /* an empty multibulk is skipped */
    };
    for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
        size_t n = strlen(steps[s].req);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(st_raw_send(&r, steps[s].req + i, 1), 0);
            if (i + 1 < n) {
                st_sleep_ms(1); /* let the server read the byte alone; correctness doesn't depend on it */
                if (st_raw_pending(&r, 0)) {
                    char *e = st_escape(steps[s].req, i + 1);
                    ST_FAIL("a reply arrived after only \"%s\" of a request", e);
                }
            }
        }
        st_raw_expect(&r, __FILE__, __LINE__, steps[s].reply, strlen(steps[s].reply));
    }
    assert_false(st_raw_pending(&r, 50));
    st_raw_close(&r);
}

/* Two pipelined requests split in two writes at every possible byte. */
static void test_partial_frames_every_split(void **state) {
    redisContext *c = *state;
    static const char req[] = "*3\r\n$3\r\nSET\r\n$2\r\nsp\r\n$5\r\nhello\r\n*3\r\n$6\r\nAPPEND\r\n$2\r\nsp\r\n$2\r\nsp\r\n";
    size_t n = sizeof req - 1;
    st_raw r;
    RAW_OPEN(&srv, &r);
    for (size_t cut = 1; cut < n; cut++) {
        assert_int_equal(st_raw_send(&r, req, cut), 0);
        st_sleep_ms(1);
        assert_int_equal(st_raw_send(&r, req + cut, n - cut), 0);
        RAW_EXPECT(&r, "+OK\r\n");
        RAW_EXPECT(&r, ":7\r\n");
    }
    EXPECT_BULK(c, "hellosp", "GET sp");
    /* a 200 KB bulk arriving in 7 KB pieces, its header split too */
    size_t vn = 200000;
    char *v = malloc(vn);
    for (size_t i = 0; i < vn; i++) v[i] = (char)('a' + i % 26);
    char hdr[64];
    int hn = snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%zu\r\n", vn);
    assert_int_equal(st_raw_send(&r, hdr, (size_t)hn - 3), 0);
    st_sleep_ms(1);
    assert_int_equal(st_raw_send(&r, hdr + hn - 3, 3), 0);
    for (size_t off = 0; off < vn; off += 7000) {
        assert_int_equal(st_raw_send(&r, v + off, vn - off < 7000 ? vn - off : 7000), 0);
        st_sleep_ms(1);
    }
    assert_false(st_raw_pending(&r, 0)); /* the trailing CRLF is still missing */
    assert_int_equal(st_raw_send(&r, "\r\n", 2), 0);
    RAW_EXPECT(&r, "+OK\r\n");
    EXPECT_BULKB(c, v, vn, "GET big");
    free(v);
    st_raw_close(&r);
}

static void test_inline_commands(void **state) {
    redisContext *c = *state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_sends(&r, "PING\r\n");
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_sends(&r, "SET a b\r\n");
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_sends(&r, "GET a\r\n");
    RAW_EXPECT(&r, "$1\r\nb\r\n");
    st_raw_sends(&r, "ping\n"); /* a bare LF ends the line too */
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_sends(&r, "\r\n\n   \r\nPING\r\n"); /* empty and blank lines are skipped */
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_sends(&r, "  ECHO   spaced\t \r\n");
    RAW_EXPECT(&r, "$6\r\nspaced\r\n");
    st_raw_sends(&r, "SET \"a b\" \"c\\x41\\n\\\"q\\\"\"\r\n"); /* double quotes with escapes */
    RAW_EXPECT(&r, "+OK\r\n");
    EXPECT_BULK(c, "cA\n\"q\"", "GET %s", "a b");
    st_raw_sends(&r, "SET 'x y' 'it\\'s'\r\n"); /* single quotes */
    RAW_EXPECT(&r, "+OK\r\n");
    EXPECT_BULK(c, "it's", "GET %s", "x y");
    st_raw_sends(&r, "SET e \"\"\r\nSTRLEN e\r\nEXISTS a a\r\n"); /* pipelined inline, empty argument */
    RAW_EXPECT(&r, "+OK\r\n");
    RAW_EXPECT(&r, ":0\r\n");
    RAW_EXPECT(&r, ":2\r\n");
    st_raw_sends(&r, "GET\r\n");
    RAW_EXPECT(&r, "-ERR wrong number of arguments for 'get' command\r\n");
    st_raw_sends(&r, "NOSUCH x\r\n");
    RAW_EXPECT(&r, "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    st_raw_sends(&r, "$-5\r\n"); /* not '*': an inline command named "$-5", not a frame */
    RAW_EXPECT(&r, "-ERR unknown command '$-5', with args beginning with: \r\n");
    st_raw_sends(&r, "PING\r\n");
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_close(&r);
}

/* ---- RESP3 ---------------------------------------------------------------------------------------- */

static void test_resp3_hello_and_types(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET s v");
    EXPECT_OK(c, "SET f 1.5");
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "HELLO", "3", NULL);
    free(RAW_CONTAINS(&r, "HELLO 3", "%7\r\n", "$6\r\nserver\r\n", "$7\r\nversion\r\n", "$5\r\nproto\r\n:3\r\n",
                      "$2\r\nid\r\n:", "$4\r\nmode\r\n$10\r\nstandalone\r\n", "$4\r\nrole\r\n$6\r\nmaster\r\n",
                      "$7\r\nmodules\r\n*0\r\n"));
    st_raw_cmd(&r, "GET", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "GET", "s", NULL);
    RAW_EXPECT(&r, "$1\r\nv\r\n");
    st_raw_cmd(&r, "MGET", "s", "missing", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\nv\r\n_\r\n");
    st_raw_cmd(&r, "SET", "n", "1", "GET", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "GETDEL", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "RANDOMKEY", NULL);
    free(RAW_CONTAINS(&r, "RANDOMKEY", "$1\r\n"));
    st_raw_cmd(&r, "INCRBYFLOAT", "f", "1", NULL);
    RAW_EXPECT(&r, "$3\r\n2.5\r\n"); /* a bulk string in RESP3 too, as Redis 7 */
    st_raw_cmd(&r, "EXISTS", "s", "s", NULL);
    RAW_EXPECT(&r, ":2\r\n");
    st_raw_cmd(&r, "TTL", "missing", NULL);
    RAW_EXPECT(&r, ":-2\r\n");
    st_raw_cmd(&r, "CONFIG", "GET", "maxclients", NULL);
    RAW_EXPECT(&r, "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
    st_raw_cmd(&r, "CONFIG", "GET", "no-such-parameter", NULL);
    RAW_EXPECT(&r, "%0\r\n");
    st_raw_cmd(&r, "KEYS", "s", NULL);
    RAW_EXPECT(&r, "*1\r\n$1\r\ns\r\n");
    st_raw_cmd(&r, "SCAN", "0", "MATCH", "s", "COUNT", "1000", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
    st_raw_cmd(&r, "PING", NULL);
    RAW_EXPECT(&r, "+PONG\r\n");
    st_raw_cmd(&r, "SET", "a", "b", "XX", NULL);
    RAW_EXPECT(&r, "_\r\n");
    /* INFO and CLIENT INFO are verbatim strings: "=<len>\r\ntxt:..." */
    st_raw_cmd(&r, "INFO", "server", NULL);
    char *info = RAW_CONTAINS(&r, "INFO server", "\r\ntxt:# Server\r\n", "redis_version:");
    if (info[0] != '=') ST_FAIL("INFO in RESP3 is not a verbatim string: %.40s", info);
    free(info);
    st_raw_cmd(&r, "CLIENT", "INFO", NULL);
    char *ci = RAW_CONTAINS(&r, "CLIENT INFO", "\r\ntxt:id=", " resp=3");
    if (ci[0] != '=') ST_FAIL("CLIENT INFO in RESP3 is not a verbatim string: %.40s", ci);
    free(ci);
    st_raw_cmd(&r, "COMMAND", "DOCS", "get", NULL);
    free(RAW_CONTAINS(&r, "COMMAND DOCS get", "%1\r\n$3\r\nget\r\n%", "$7\r\nsummary\r\n", "$5\r\ngroup\r\n$6\r\nstring\r\n"));
    st_raw_cmd(&r, "HELLO", NULL); /* no argument: stays on RESP3, says so */
    free(RAW_CONTAINS(&r, "HELLO", "%7\r\n", "$5\r\nproto\r\n:3\r\n"));
    /* back to RESP2 */
    st_raw_cmd(&r, "HELLO", "2", NULL);
    free(RAW_CONTAINS(&r, "HELLO 2", "*14\r\n", "$5\r\nproto\r\n:2\r\n", "$6\r\nserver\r\n"));
    st_raw_cmd(&r, "GET", "missing", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_cmd(&r, "MGET", "s", "missing", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\nv\r\n$-1\r\n");
    st_raw_cmd(&r, "CONFIG", "GET", "maxclients", NULL);
    RAW_EXPECT(&r, "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
    st_raw_cmd(&r, "INFO", "server", NULL);
    free(RAW_CONTAINS(&r, "INFO server (RESP2)", "$", "\r\n# Server\r\n"));
    /* errors */
    st_raw_cmd(&r, "HELLO", "4", NULL);
    RAW_EXPECT(&r, "-NOPROTO unsupported protocol version\r\n");
    st_raw_cmd(&r, "HELLO", "1", NULL);
    RAW_EXPECT(&r, "-NOPROTO unsupported protocol version\r\n");
    st_raw_cmd(&r, "HELLO", "abc", NULL);
    RAW_EXPECT(&r, "-ERR Protocol version is not an integer or out of range\r\n");
    st_raw_cmd(&r, "GET", "missing", NULL);
    RAW_EXPECT(&r, "$-1\r\n"); /* failed HELLOs changed nothing */
    /* HELLO 3 SETNAME */
    st_raw_cmd(&r, "HELLO", "3", "SETNAME", "resp3client", NULL);
    free(RAW_CONTAINS(&r, "HELLO 3 SETNAME", "%7\r\n", ":3\r\n"));
    st_raw_cmd(&r, "CLIENT", "GETNAME", NULL);
    RAW_EXPECT(&r, "$11\r\nresp3client\r\n");
    st_raw_close(&r);
    /* a new connection starts in RESP2 again */
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "GET", "missing", NULL);
    RAW_EXPECT(&r, "$-1\r\n");
    st_raw_close(&r);
}

/* ---- AUTH ------------------------------------------------------------------------------------------- */

static void test_auth_requirepass(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&extra, &r);
    st_raw_cmd(&r, "PING", NULL);
    RAW_EXPECT(&r, "-NOAUTH Authentication required.\r\n");
    st_raw_cmd(&r, "SET", "k", "v", NULL);
    RAW_EXPECT(&r, "-NOAUTH Authentication required.\r\n");
    st_raw_cmd(&r, "HELLO", "3", NULL);
    /* Redis 7.0 says "the HELLO AUTH <user> <pass> option", 7.2 and later "the HELLO <proto> AUTH ...":
     * either text is Redis 7's */
    char *hello = RAW_CONTAINS(&r, "HELLO 3 before AUTH", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO ");
    if (strcmp(hello, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
                      "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
                      "version at the same time\r\n") &&
        strcmp(hello, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                      "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
                      "protocol version at the same time\r\n"))
        ST_FAIL("HELLO 3 before AUTH: %s", hello);
    free(hello);
    st_raw_cmd(&r, "AUTH", "wrong", NULL);
    RAW_EXPECT(&r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    st_raw_cmd(&r, "AUTH", "bob", "sekret", NULL);
    RAW_EXPECT(&r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    st_raw_cmd(&r, "HELLO", "3", "AUTH", "default", "wrong", NULL);
    RAW_EXPECT(&r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    st_raw_cmd(&r, "GET", "k", NULL);
    RAW_EXPECT(&r, "-NOAUTH Authentication required.\r\n");
    st_raw_cmd(&r, "AUTH", "sekret", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SET", "k", "v", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "AUTH", "wrong", NULL); /* a failed AUTH later does not log the client out */
    RAW_EXPECT(&r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    st_raw_cmd(&r, "GET", "k", NULL);
    RAW_EXPECT(&r, "$1\r\nv\r\n");
    st_raw_close(&r);
    /* AUTH default <pw>; HELLO 3 AUTH default <pw> */
    RAW_OPEN(&extra, &r);
    st_raw_cmd(&r, "AUTH", "default", "sekret", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "GET", "k", NULL);
    RAW_EXPECT(&r, "$1\r\nv\r\n");
    st_raw_close(&r);
    RAW_OPEN(&extra, &r);
    st_raw_cmd(&r, "HELLO", "3", "AUTH", "default", "sekret", "SETNAME", "authed", NULL);
    free(RAW_CONTAINS(&r, "HELLO 3 AUTH", "%7\r\n", "$5\r\nproto\r\n:3\r\n"));
    st_raw_cmd(&r, "GET", "nokey", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "CLIENT", "GETNAME", NULL);
    RAW_EXPECT(&r, "$6\r\nauthed\r\n");
    /* the password changes at runtime; this connection stays authenticated */
    st_raw_cmd(&r, "CONFIG", "SET", "requirepass", "newpw", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "GET", "k", NULL);
    RAW_EXPECT(&r, "$1\r\nv\r\n");
    st_raw r2;
    RAW_OPEN(&extra, &r2);
    st_raw_cmd(&r2, "AUTH", "sekret", NULL);
    RAW_EXPECT(&r2, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    st_raw_cmd(&r2, "AUTH", "newpw", NULL);
    RAW_EXPECT(&r2, "+OK\r\n");
    st_raw_close(&r2);
    st_raw_cmd(&r, "CONFIG", "SET", "requirepass", "sekret", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_close(&r);
    /* QUIT needs no authentication */
    RAW_OPEN(&extra, &r);
    st_raw_cmd(&r, "QUIT", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    assert_true(st_raw_wait_eof(&r, 5000, NULL, NULL));
    st_raw_close(&r);
    /* unauthenticated clients get Redis's tighter frame limits */
    RAW_OPEN(&extra, &r);
    st_raw_sends(&r, "*20\r\n");
    RAW_EXPECT(&r, "-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert_true(st_raw_wait_eof(&r, 5000, NULL, NULL));
    st_raw_close(&r);
    RAW_OPEN(&extra, &r);
    st_raw_sends(&r, "*2\r\n$4\r\nAUTH\r\n$20000\r\n");
    RAW_EXPECT(&r, "-ERR Protocol error: unauthenticated bulk length\r\n");
    assert_true(st_raw_wait_eof(&r, 5000, NULL, NULL));
    st_raw_close(&r);
    /* ...and the normal ones after AUTH */
    RAW_OPEN(&extra, &r);
    st_raw_cmd(&r, "AUTH", "sekret", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    char big[20001];
    memset(big, 'z', 20000);
    big[20000] = '\0';
    st_raw_cmd(&r, "SET", "big", big, NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_close(&r);
}

static void test_auth_without_password(void **state) {
    redisContext *c = *state;
    EXPECT_ERR(c, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
               "AUTH x");
    EXPECT_ERR(c, "WRONGPASS invalid username-password pair or user is disabled.", "AUTH bob x");
    EXPECT_OK(c, "AUTH default anything"); /* the default user has nopass: any password works */
    EXPECT_STATUS(c, "PONG", "PING");
    redisReply *r = CMD(c, "HELLO 2 AUTH default anything");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 14) {
        char *s = st_reply_repr(r);
        ST_FAIL("HELLO 2 AUTH default <any> without requirepass: %s (want the HELLO reply)", s);
    }
    freeReplyObject(r);
}

/* ---- CLIENT ------------------------------------------------------------------------------------------ */

static long long client_id(redisContext *c) {
    redisReply *r = CMD(c, "CLIENT ID");
    if (r->type != REDIS_REPLY_INTEGER) ST_FAIL("CLIENT ID: not an integer");
    long long id = r->integer;
    freeReplyObject(r);
    return id;
}

/* The "ip:port" the server sees for a socket. */
static void local_addr(int fd, char *out, size_t n) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%d", ip, ntohs(a.sin_port));
}

static void test_client_commands(void **state) {
    redisContext *c = *state;
    long long id1 = client_id(c);
    assert_true(id1 > 0);
    st_raw c2;
    RAW_OPEN(&srv, &c2);
    st_raw_cmd(&c2, "CLIENT", "ID", NULL);
    char *idrep = st_raw_reply(&c2, ST_IT_IO_TIMEOUT_MS, NULL, NULL);
    if (!idrep || idrep[0] != ':') ST_FAIL("CLIENT ID on a raw connection: %s", idrep ? idrep : "no reply");
    long long id2 = atoll(idrep + 1);
    free(idrep);
    assert_true(id2 != id1);
    EXPECT_NIL(c, "CLIENT GETNAME");
    EXPECT_OK(c, "CLIENT SETNAME first");
    EXPECT_BULK(c, "first", "CLIENT GETNAME");
    EXPECT_ERR(c, "ERR Client names cannot contain spaces, newlines or special characters.", "CLIENT SETNAME %s", "a b");
    EXPECT_ERR(c, "ERR Client names cannot contain spaces, newlines or special characters.", "CLIENT SETNAME %s", "a\nb");
    EXPECT_BULK(c, "first", "CLIENT GETNAME");
    EXPECT_OK(c, "CLIENT SETNAME %s", "");
    EXPECT_NIL(c, "CLIENT GETNAME"); /* an empty name clears it */
    EXPECT_OK(c, "CLIENT SETNAME me");
    st_raw_cmd(&c2, "CLIENT", "SETNAME", "other", NULL);
    RAW_EXPECT(&c2, "+OK\r\n");
    char addr1[64];
    local_addr(c->fd, addr1, sizeof addr1);
    /* CLIENT LIST: one line per client, "id=... addr=... name=..." */
    redisReply *r = CMD(c, "CLIENT LIST");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char want1[128], want2[128], wantaddr[128];
    snprintf(want1, sizeof want1, "id=%lld ", id1);
    snprintf(want2, sizeof want2, "id=%lld ", id2);
    snprintf(wantaddr, sizeof wantaddr, " addr=%s ", addr1);
    const char *l1 = strstr(r->str, want1), *l2 = strstr(r->str, want2);
    if (!l1 || !l2) ST_FAIL("CLIENT LIST lacks a client: %s", r->str);
    const char *e1 = strchr(l1, '\n');
    if (!e1) ST_FAIL("CLIENT LIST lines end with \\n: %s", r->str);
    char line1[1024];
    snprintf(line1, sizeof line1, "%.*s", (int)(e1 - l1), l1);
    if (!strstr(line1, wantaddr) || !strstr(line1, " name=me ") || !strstr(line1, " db=0 ") || !strstr(line1, " cmd=client"))
        ST_FAIL("CLIENT LIST line of this client: %s (want%sname=me db=0 cmd=client...)", line1, wantaddr);
    if (r->str[r->len - 1] != '\n') ST_FAIL("CLIENT LIST does not end with a newline");
    freeReplyObject(r);
    r = CMD(c, "CLIENT INFO");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    if (strncmp(r->str, want1, strlen(want1)) || !strstr(r->str, " name=me ") || !strstr(r->str, wantaddr))
        ST_FAIL("CLIENT INFO: %s", r->str);
    freeReplyObject(r);
    /* KILL ID */
    EXPECT_INT(c, 0, "CLIENT KILL ID 999999999");
    EXPECT_INT(c, 1, "CLIENT KILL ID %lld", id2);
    char *rest = NULL;
    size_t nrest = 0;
    if (!st_raw_wait_eof(&c2, 5000, &rest, &nrest)) ST_FAIL("CLIENT KILL ID: the client is still connected after 5 s");
    if (nrest) ST_FAIL("CLIENT KILL ID: the killed client got \"%s\"", st_escape(rest, nrest));
    free(rest);
    st_raw_close(&c2);
    /* KILL ADDR and the old form */
    st_raw r3, r4;
    RAW_OPEN(&srv, &r3);
    RAW_OPEN(&srv, &r4);
    char a3[64], a4[64];
    local_addr(r3.fd, a3, sizeof a3);
    local_addr(r4.fd, a4, sizeof a4);
    st_raw_cmd(&r3, "PING", NULL); /* both are registered before the kills */
    RAW_EXPECT(&r3, "+PONG\r\n");
    st_raw_cmd(&r4, "PING", NULL);
    RAW_EXPECT(&r4, "+PONG\r\n");
    EXPECT_INT(c, 1, "CLIENT KILL ADDR %s", a3);
    assert_true(st_raw_wait_eof(&r3, 5000, NULL, NULL));
    EXPECT_OK(c, "CLIENT KILL %s", a4);
    assert_true(st_raw_wait_eof(&r4, 5000, NULL, NULL));
    st_raw_close(&r3);
    st_raw_close(&r4);
    EXPECT_ERR(c, "ERR No such client", "CLIENT KILL 1.2.3.4:5");
    EXPECT_INT(c, 0, "CLIENT KILL ADDR 1.2.3.4:5");
    EXPECT_ERR(c, "ERR unknown subcommand 'FOO'. Try CLIENT HELP.", "CLIENT FOO");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'client' command", "CLIENT");
    EXPECT_BULK(c, "me", "CLIENT GETNAME");
    assert_int_equal(client_id(c), id1);
}

/* Container commands (CLIENT, CONFIG, COMMAND, SLOWLOG): a known subcommand with the wrong number
 * of arguments gets Redis 7's "wrong number of arguments for '<cmd>|<sub>' command", an unknown one
 * "unknown subcommand '<as given>'. Try <CMD> HELP.", and <CMD> HELP -- which that error points to --
 * answers with the help lines. */
static void test_subcommand_arity_and_help(void **state) {
    redisContext *c = *state;
    static const struct {
        const char *cmd, *err;
    } arity[] = {
        {"CLIENT ID x", "client|id"},          {"CLIENT GETNAME x", "client|getname"},
        {"CLIENT SETNAME", "client|setname"},   {"CLIENT SETNAME a b", "client|setname"},
        {"CLIENT INFO x", "client|info"},       {"CLIENT KILL", "client|kill"},
        {"CONFIG GET", "config|get"},           {"CONFIG SET timeout", "config|set"},
        {"CONFIG RESETSTAT x", "config|resetstat"}, {"COMMAND COUNT x", "command|count"},
        {"SLOWLOG LEN x", "slowlog|len"},       {"SLOWLOG RESET x", "slowlog|reset"},
    };
    for (size_t i = 0; i < sizeof arity / sizeof *arity; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", arity[i].err);
        EXPECT_ERR(c, want, arity[i].cmd);
    }
    EXPECT_ERR(c, "ERR unknown subcommand 'nope'. Try CLIENT HELP.", "CLIENT nope");
    EXPECT_ERR(c, "ERR unknown subcommand 'NoPe'. Try CONFIG HELP.", "CONFIG NoPe");
    EXPECT_ERR(c, "ERR unknown subcommand 'nope'. Try COMMAND HELP.", "command nope");
    EXPECT_ERR(c, "ERR unknown subcommand 'nope'. Try SLOWLOG HELP.", "SLOWLOG nope");
    static const char *const helps[] = {"CLIENT", "CONFIG", "COMMAND", "SLOWLOG"};
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        redisReply *r = CMD(c, "%s HELP", helps[i]);
        char first[128];
        snprintf(first, sizeof first, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", helps[i]);
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || strcmp(r->element[0]->str, first)) {
            char *s = st_reply_repr(r);
            ST_FAIL("%s HELP: %s (want an array starting with \"%s\")", helps[i], s, first);
        }
        freeReplyObject(r);
    }
    /* CONFIG SET of one parameter twice in a call is refused, changing nothing */
    EXPECT_ERR(c, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter",
               "CONFIG SET maxclients 10 maxclients 20");
    EXPECT_STRS(c, 2, ((const char *[]){"maxclients", "10000"}), "CONFIG GET maxclients");
    /* CLIENT LIST ID */
    long long id = client_id(c);
    redisReply *r = CMD(c, "CLIENT LIST ID %lld", id);
    char want[64];
    snprintf(want, sizeof want, "id=%lld ", id);
    if (r->type != REDIS_REPLY_STRING || strncmp(r->str, want, strlen(want)) || strchr(r->str, '\n') != r->str + r->len - 1) {
        char *s = st_reply_repr(r);
        ST_FAIL("CLIENT LIST ID %lld: %s", id, s);
    }
    freeReplyObject(r);
}

/* ---- CONFIG ------------------------------------------------------------------------------------------ */

static void test_config_get_set(void **state) {
    redisContext *c = *state;
    EXPECT_STRS(c, 2, ((const char *[]){"maxclients", "10000"}), "CONFIG GET maxclients");
    EXPECT_OK(c, "CONFIG SET maxclients 200");
    EXPECT_STRS(c, 2, ((const char *[]){"maxclients", "200"}), "CONFIG GET maxclients");
    redisReply *r = CMD(c, "CONFIG GET MAXCLIENTS"); /* names are case-insensitive */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || strcasecmp(r->element[0]->str, "maxclients") ||
        strcmp(r->element[1]->str, "200")) {
        char *s = st_reply_repr(r);
        ST_FAIL("CONFIG GET MAXCLIENTS: %s", s);
    }
    freeReplyObject(r);
    EXPECT_OK(c, "CONFIG SET slowlog-max-len 64 timeout 0");
    EXPECT_STRS(c, 2, ((const char *[]){"slowlog-max-len", "64"}), "CONFIG GET slowlog-max-len");
    EXPECT_STRS(c, 2, ((const char *[]){"timeout", "0"}), "CONFIG GET timeout");
    EXPECT_OK(c, "CONFIG SET proto-max-bulk-len 2mb");
    EXPECT_STRS(c, 2, ((const char *[]){"proto-max-bulk-len", "2097152"}), "CONFIG GET proto-max-bulk-len");
    /* a glob: both slowlog parameters, in any order */
    r = CMD(c, "CONFIG GET slowlog-*");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 4);
    bool seen_len = false, seen_slower = false;
    for (size_t i = 0; i < 4; i += 2) {
        if (!strcmp(r->element[i]->str, "slowlog-max-len")) seen_len = !strcmp(r->element[i + 1]->str, "64");
        if (!strcmp(r->element[i]->str, "slowlog-log-slower-than")) seen_slower = true;
    }
    if (!seen_len || !seen_slower) {
        char *s = st_reply_repr(r);
        ST_FAIL("CONFIG GET slowlog-*: %s", s);
    }
    freeReplyObject(r);
    EXPECT_STRS(c, 0, NULL, "CONFIG GET no-such-parameter");
    /* what redis-benchmark and other tools ask to learn how the server persists */
    EXPECT_STRS(c, 2, ((const char *[]){"save", ""}), "CONFIG GET save");
    EXPECT_STRS(c, 2, ((const char *[]){"appendonly", "yes"}), "CONFIG GET appendonly");
    /* stored and shown, never acted on: every write goes through the WAL (test_server_config) */
    EXPECT_OK(c, "CONFIG SET appendonly yes");
    EXPECT_ERR(c, "ERR Unknown option or number of arguments for CONFIG SET - 'foo'", "CONFIG SET foo bar");
    EXPECT_ERR_PREFIX(c, "ERR CONFIG SET failed (possibly related to argument 'maxclients') - ", "CONFIG SET maxclients abc");
    EXPECT_ERR(c, "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
               "CONFIG SET databases 3");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'config|set' command", "CONFIG SET maxclients");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'config|get' command", "CONFIG GET");
    EXPECT_ERR(c, "ERR unknown subcommand 'FOO'. Try CONFIG HELP.", "CONFIG FOO");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'config' command", "CONFIG");
    EXPECT_STRS(c, 2, ((const char *[]){"maxclients", "200"}), "CONFIG GET maxclients"); /* unchanged */
    EXPECT_OK(c, "CONFIG RESETSTAT");
    /* back to the defaults for the other tests */
    EXPECT_OK(c, "CONFIG SET maxclients 10000 slowlog-max-len 128 proto-max-bulk-len 512mb");
    EXPECT_STRS(c, 2, ((const char *[]){"maxclients", "10000"}), "CONFIG GET maxclients");
}

/* ---- COMMAND --------------------------------------------------------------------------------------------- */

static const redisReply *find_command(const redisReply *all, const char *name) {
    for (size_t i = 0; i < all->elements; i++) {
        const redisReply *e = all->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements >= 6 && e->element[0]->type == REDIS_REPLY_STRING &&
            !strcmp(e->element[0]->str, name))
            return e;
    }
    return NULL;
}

static bool has_flag(const redisReply *entry, const char *flag) {
    const redisReply *f = entry->element[2];
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i < f->elements; i++)
        if (!strcmp(f->element[i]->str, flag)) return true;
    return false;
}

static void check_entry(const redisReply *e, const char *name, long long arity, long long first, long long last,
                        long long step) {
    if (!e) ST_FAIL("COMMAND lacks %s", name);
    if (e->element[1]->integer != arity || e->element[3]->integer != first || e->element[4]->integer != last ||
        e->element[5]->integer != step) {
        char *s = st_reply_repr(e);
        ST_FAIL("COMMAND entry of %s: %s (want arity %lld keys %lld,%lld,%lld)", name, s, arity, first, last, step);
    }
}

static void test_command_introspection(void **state) {
    redisContext *c = *state;
    redisReply *count = CMD(c, "COMMAND COUNT");
    assert_int_equal(count->type, REDIS_REPLY_INTEGER);
    redisReply *all = CMD(c, "COMMAND");
    assert_int_equal(all->type, REDIS_REPLY_ARRAY);
    assert_int_equal((long long)all->elements, count->integer);
    static const char *const every[] = {
        "get", "set", "setnx", "setex", "psetex", "getset", "getdel", "getex", "mget", "mset", "msetnx",
        "append", "strlen", "incr", "decr", "incrby", "decrby", "incrbyfloat", "getrange", "setrange", "del",
        "unlink", "exists", "type", "rename", "renamenx", "expire", "pexpire", "expireat", "pexpireat", "ttl",
        "pttl", "expiretime", "pexpiretime", "persist", "keys", "scan", "randomkey", "ping", "echo", "quit",
        "hello", "auth", "select", "client", "dbsize", "flushdb", "flushall", "info", "config", "command",
        "time", "save", "bgsave", "lastsave", "shutdown", "slowlog"};
    for (size_t i = 0; i < sizeof every / sizeof *every; i++)
        if (!find_command(all, every[i])) ST_FAIL("COMMAND lacks %s", every[i]);
    check_entry(find_command(all, "get"), "get", 2, 1, 1, 1);
    check_entry(find_command(all, "set"), "set", -3, 1, 1, 1);
    check_entry(find_command(all, "mset"), "mset", -3, 1, -1, 2);
    check_entry(find_command(all, "ping"), "ping", -1, 0, 0, 0);
    if (!has_flag(find_command(all, "get"), "readonly") || !has_flag(find_command(all, "get"), "fast"))
        ST_FAIL("COMMAND: get is not flagged readonly and fast");
    if (!has_flag(find_command(all, "set"), "write")) ST_FAIL("COMMAND: set is not flagged write");
    freeReplyObject(all);
    freeReplyObject(count);
    redisReply *r = CMD(c, "COMMAND INFO get SET nosuch");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    check_entry(r->element[0], "get", 2, 1, 1, 1);
    check_entry(r->element[1], "set", -3, 1, 1, 1);
    assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    /* COMMAND DOCS get: RESP2 [name, [key, value, ...]] with summary and group */
    r = CMD(c, "COMMAND DOCS get");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, "get");
    const redisReply *doc = r->element[1];
    assert_int_equal(doc->type, REDIS_REPLY_ARRAY);
    bool summary = false, group = false;
    for (size_t i = 0; i + 1 < doc->elements; i += 2) {
        if (!strcmp(doc->element[i]->str, "summary")) summary = doc->element[i + 1]->type == REDIS_REPLY_STRING;
        if (!strcmp(doc->element[i]->str, "group")) group = !strcmp(doc->element[i + 1]->str, "string");
    }
    if (!summary || !group) {
        char *s = st_reply_repr(r);
        ST_FAIL("COMMAND DOCS get: %s", s);
    }
    freeReplyObject(r);
    /* all the docs (raw: Redis's are nested deeper than hiredis 0.14 parses) */
    st_raw raw;
    RAW_OPEN(&srv, &raw);
    st_raw_cmd(&raw, "COMMAND", "DOCS", NULL);
    const char *why = NULL;
    char *docs = st_raw_reply(&raw, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!docs || docs[0] != '*' || atoll(docs + 1) < (long long)(2 * (sizeof every / sizeof *every)))
        ST_FAIL("COMMAND DOCS: %.60s (%s)", docs ? docs : "no reply", why ? why : "");
    free(docs);
    st_raw_close(&raw);
    EXPECT_STRS(c, 0, NULL, "COMMAND DOCS nosuch");
    EXPECT_ERR(c, "ERR unknown subcommand 'FOO'. Try COMMAND HELP.", "COMMAND FOO");
}

/* ---- INFO, TIME, SAVE ------------------------------------------------------------------------------- */

static char *info(redisContext *c, const char *args) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "INFO %s", args ? args : ""); /* each word its own argument */
    redisReply *r = CMD(c, cmd);
    if (r->type != REDIS_REPLY_STRING) ST_FAIL("INFO %s: not a bulk string", args ? args : "");
    char *s = strdup(r->str);
    freeReplyObject(r);
    return s;
}

static void expect_in(const char *file, int line, const char *text, const char *what, const char *needle, bool want) {
    if ((strstr(text, needle) != NULL) != want)
        st_fail_at(file, line, "%s: \"%s\" %s expected:\n%s", what, needle, want ? "is missing, but" : "is present, not", text);
}
/* The number after "name:" in INFO section (fails when absent). */
static uint64_t info_u64(redisContext *c, const char *section, const char *name) {
    char *s = info(c, section), want[96];
    snprintf(want, sizeof want, "\r\n%s:", name);
    char *p = strstr(s, want);
    if (!p) ST_FAIL("INFO %s has no %s", section, name);
    uint64_t v = strtoull(p + strlen(want), NULL, 10);
    free(s);
    return v;
}

#define EXPECT_IN(text, what, needle) expect_in(__FILE__, __LINE__, (text), (what), (needle), true)
#define EXPECT_NOT_IN(text, what, needle) expect_in(__FILE__, __LINE__, (text), (what), (needle), false)

static void test_info_sections(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET a 1");
    EXPECT_OK(c, "SET b 2 EX 100");
    char *s = info(c, NULL);
    char port[32];
    snprintf(port, sizeof port, "\r\ntcp_port:%d\r\n", srv.port);
    static const char *const dflt[] = {"# Server\r\n", "redis_version:", "# Clients\r\n", "connected_clients:",
                                       "# Memory\r\n", "used_memory:", "# Persistence\r\n", "# Stats\r\n",
                                       "total_commands_processed:", "total_connections_received:",
                                       "# Keyspace\r\n", "db0:keys=2,expires=1"};
    for (size_t i = 0; i < sizeof dflt / sizeof *dflt; i++) EXPECT_IN(s, "INFO", dflt[i]);
    EXPECT_IN(s, "INFO", port);
    free(s);
    s = info(c, "server");
    EXPECT_IN(s, "INFO server", "# Server\r\n");
    EXPECT_NOT_IN(s, "INFO server", "# Clients");
    EXPECT_NOT_IN(s, "INFO server", "# Keyspace");
    free(s);
    s = info(c, "server clients");
    EXPECT_IN(s, "INFO server clients", "# Server\r\n");
    EXPECT_IN(s, "INFO server clients", "# Clients\r\n");
    EXPECT_NOT_IN(s, "INFO server clients", "# Stats");
    free(s);
    s = info(c, "KEYSPACE");
    EXPECT_IN(s, "INFO KEYSPACE", "# Keyspace\r\ndb0:keys=2,expires=1");
    EXPECT_NOT_IN(s, "INFO KEYSPACE", "# Server");
    free(s);
    s = info(c, "stats");
    EXPECT_IN(s, "INFO stats", "keyspace_hits:");
    EXPECT_IN(s, "INFO stats", "expired_keys:");
    free(s);
    s = info(c, "everything");
    EXPECT_IN(s, "INFO everything", "# Server\r\n");
    EXPECT_IN(s, "INFO everything", "# Keyspace\r\n");
    free(s);
    s = info(c, "all");
    EXPECT_IN(s, "INFO all", "# Stats\r\n");
    free(s);
    s = info(c, "nosuchsection");
    assert_string_equal(s, "");
    free(s);
    if (!st_server_is_redis()) { /* Strata's own section */
        s = info(c, "storage");
        EXPECT_IN(s, "INFO storage", "# Storage\r\n");
        static const char *const fields[] = {"level0_files:", "level6_bytes:", "level1_score:", "compactions:",
                                             "compaction_pending_bytes:", "engine_write_stalls:",
                                             "engine_write_slowdowns:", "block_cache_capacity:",
                                             "block_cache_hit_ratio:"};
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) EXPECT_IN(s, "INFO storage", fields[i]);
        free(s);
        /* a key read back from a table goes through the block cache: a miss, then a hit */
        EXPECT_OK(c, "SET cachedkey cachedvalue");
        EXPECT_OK(c, "SAVE"); /* flushes the memtable to a table */
        uint64_t hits0 = info_u64(c, "storage", "block_cache_hits"), miss0 = info_u64(c, "storage", "block_cache_misses");
        for (int i = 0; i < 2; i++) EXPECT_BULK(c, "cachedvalue", "GET cachedkey");
        assert_true(info_u64(c, "storage", "block_cache_misses") >= miss0 + 1);
        assert_true(info_u64(c, "storage", "block_cache_hits") >= hits0 + 1);
    }
}

static void test_time_and_save(void **state) {
    redisContext *c = *state;
    redisReply *r = CMD(c, "TIME");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
    assert_int_equal(r->element[1]->type, REDIS_REPLY_STRING);
    long long secs = atoll(r->element[0]->str), usecs = atoll(r->element[1]->str);
    long long now = st_wall_ms() / 1000;
    if (secs < now - 5 || secs > now + 5) ST_FAIL("TIME says %lld s, the clock %lld s", secs, now);
    if (usecs < 0 || usecs > 999999) ST_FAIL("TIME microseconds %lld", usecs);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'time' command", "TIME x");
    EXPECT_INT_RANGE(c, now - 3600, now + 5, "LASTSAVE");
    EXPECT_OK(c, "SET saved 1");
    EXPECT_OK(c, "SAVE");
    EXPECT_INT_RANGE(c, now - 5, now + 5, "LASTSAVE");
    EXPECT_STATUS(c, "Background saving started", "BGSAVE");
    EXPECT_BULK(c, "1", "GET saved");
}

static void test_ping_echo_quit(void **state) {
    redisContext *c = *state;
    EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_BULK(c, "hello", "PING hello");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'ping' command", "PING a b");
    EXPECT_BULKB(c, "a\0b", 3, "ECHO %b", "a\0b", (size_t)3);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'echo' command", "ECHO");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'echo' command", "ECHO a b");
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_sends(&r, "PING\r\nQUIT\r\nPING\r\nSET afterquit 1\r\n");
    RAW_EXPECT(&r, "+PONG\r\n");
    RAW_EXPECT(&r, "+OK\r\n");
    char *rest = NULL;
    size_t n = 0;
    if (!st_raw_wait_eof(&r, 5000, &rest, &n)) ST_FAIL("QUIT did not close the connection within 5 s");
    if (n) ST_FAIL("bytes after QUIT's +OK: %s", st_escape(rest, n));
    free(rest);
    st_raw_close(&r);
    EXPECT_INT(c, 0, "EXISTS afterquit"); /* nothing after QUIT ran */
}

/* ---- SLOWLOG ----------------------------------------------------------------------------------------------- */

/* The slowlog entry whose arguments are exactly args[0..n) (NULL if none). */
static const redisReply *find_entry(const redisReply *log, size_t n, const char *const *args) {
    for (size_t i = 0; i < log->elements; i++) {
        const redisReply *e = log->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 4) continue;
        const redisReply *a = e->element[3];
        if (a->type != REDIS_REPLY_ARRAY || a->elements != n) continue;
        bool same = true;
        for (size_t j = 0; j < n && same; j++) same = st_reply_is_bulk(a->element[j], args[j]);
        if (same) return e;
    }
    return NULL;
}

static void test_slowlog(void **state) {
    (void)state;
    redisContext *c = st_connect(&extra);
    assert_non_null(c);
    EXPECT_OK(c, "SLOWLOG RESET");
    EXPECT_INT_RANGE(c, 0, 1, "SLOWLOG LEN"); /* at most the RESET itself */
    EXPECT_OK(c, "CLIENT SETNAME me");
    EXPECT_OK(c, "SET a b");
    char big[201];
    memset(big, '0', 200);
    big[200] = '\0';
    EXPECT_OK(c, "SET long %s", big);
    char cmd[512];
    int o = snprintf(cmd, sizeof cmd, "MSET");
    for (int i = 1; i <= 20; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " k%d v%d", i, i);
    EXPECT_OK(c, cmd);
    long long now = st_wall_ms() / 1000;
    redisReply *log = CMD(c, "SLOWLOG GET -1");
    assert_int_equal(log->type, REDIS_REPLY_ARRAY);
    const redisReply *e = find_entry(log, 3, (const char *[]){"SET", "a", "b"});
    if (!e) {
        char *s = st_reply_repr(log);
        ST_FAIL("SLOWLOG GET has no entry for SET a b: %s", s);
    }
    /* [id, unix time, duration us, args, client addr, client name] */
    assert_int_equal(e->elements, 6);
    assert_int_equal(e->element[0]->type, REDIS_REPLY_INTEGER);
    if (e->element[1]->integer < now - 5 || e->element[1]->integer > now + 5) ST_FAIL("slowlog time %lld", e->element[1]->integer);
    assert_true(e->element[2]->integer >= 0);
    char addr[64];
    local_addr(c->fd, addr, sizeof addr);
    if (strcmp(e->element[4]->str, addr)) ST_FAIL("SLOWLOG entry of SET a b: client address \"%s\", want \"%s\"", e->element[4]->str, addr);
    if (strcmp(e->element[5]->str, "me"))
        ST_FAIL("SLOWLOG entry of SET a b: client name \"%s\", want \"me\" (set by CLIENT SETNAME)", e->element[5]->str);
    /* an argument over 128 bytes is cut, with a note */
    char cut[256];
    snprintf(cut, sizeof cut, "%.128s... (72 more bytes)", big);
    if (!find_entry(log, 3, (const char *[]){"SET", "long", cut})) ST_FAIL("SLOWLOG: no entry with the cut argument \"%s\"", cut);
    /* more than 32 arguments: 31 kept and a note */
    const char *margs[32];
    char mbuf[31][8];
    margs[0] = "MSET";
    for (int i = 1; i < 31; i++) {
        snprintf(mbuf[i], sizeof mbuf[i], "%c%d", i % 2 ? 'k' : 'v', (i + 1) / 2);
        margs[i] = mbuf[i];
    }
    margs[31] = "... (10 more arguments)";
    if (!find_entry(log, 32, margs)) {
        char *s = st_reply_repr(log);
        ST_FAIL("SLOWLOG: no MSET entry cut to 32 arguments: %s", s);
    }
    /* ids grow: the newest entry comes first */
    for (size_t i = 1; i < log->elements; i++)
        if (log->element[i]->element[0]->integer >= log->element[i - 1]->element[0]->integer) ST_FAIL("SLOWLOG GET is not newest first");
    freeReplyObject(log);
    log = CMD(c, "SLOWLOG GET 1");
    assert_int_equal(log->type, REDIS_REPLY_ARRAY);
    assert_int_equal(log->elements, 1);
    freeReplyObject(log);
    redisReply *len = CMD(c, "SLOWLOG LEN");
    assert_true(len->integer >= 4);
    freeReplyObject(len);
    /* slowlog-max-len bounds it */
    EXPECT_OK(c, "CONFIG SET slowlog-max-len 3");
    for (int i = 0; i < 10; i++) EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_INT_RANGE(c, 1, 3, "SLOWLOG LEN");
    EXPECT_OK(c, "SLOWLOG RESET");
    EXPECT_INT_RANGE(c, 0, 1, "SLOWLOG LEN");
    EXPECT_ERR(c, "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.", "SLOWLOG FOO");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'slowlog' command", "SLOWLOG");
    redisFree(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipeline_1000_in_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_big_replies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_frames_byte_by_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_frames_every_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inline_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_hello_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_requirepass, setup_auth, teardown_extra),
        cmocka_unit_test_setup_teardown(test_auth_without_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_get_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subcommand_arity_and_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_introspection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_sections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_and_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_echo_quit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowlog, setup_slowlog, teardown_extra),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
