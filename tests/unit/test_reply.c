/* test_reply.c -- net/reply and net/strutil: the exact bytes of every reply type in RESP2 and
 * RESP3, doubles, deferred lengths, error sanitising and Redis's error texts, the output buffer's
 * send/advance cycle, and Redis's number parsing and formatting rules. */
#include "testutil.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"
#include "strutil.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* Asserts the buffer holds exactly `want` (wantlen bytes), then drains it as a connection would. */
static void expect_bytes(reply_buf *rb, const char *want, size_t wantlen) {
    assert_false(rb->failed);
    if (rb->len != wantlen || memcmp(rb->data, want, wantlen) != 0)
        print_error("got \"%.*s\" want \"%s\"\n", (int)rb->len, rb->data ? (const char *)rb->data : "", want);
    assert_int_equal(rb->len, wantlen);
    if (wantlen) assert_memory_equal(rb->data, want, wantlen);
    size_t n;
    reply_buf_unsent(rb, &n);
    assert_int_equal(n, wantlen);
    reply_buf_advance(rb, n);
    assert_int_equal(rb->len, 0);
}
#define EXPECT(rb, lit) expect_bytes(rb, lit, sizeof(lit) - 1)

/* Runs `body` (which appends to rb) in RESP2 and then RESP3 and checks each output. */
#define BOTH(body, want2, want3)                                                                   \
    do {                                                                                           \
        reply_buf rb_;                                                                             \
        reply_buf *rb = &rb_;                                                                      \
        reply_buf_init(rb, 2);                                                                     \
        body;                                                                                      \
        EXPECT(rb, want2);                                                                         \
        rb->proto = 3;                                                                             \
        body;                                                                                      \
        EXPECT(rb, want3);                                                                         \
        reply_buf_destroy(rb);                                                                     \
    } while (0)

/* ---- reply types ----------------------------------------------------------------------------- */

static void test_simple_types_encode_the_same_in_both_protocols(void **state) {
    (void)state;
    BOTH(reply_simple(rb, "OK"), "+OK\r\n", "+OK\r\n");
    BOTH(reply_simple_len(rb, "a\r\nb", 4), "+a  b\r\n", "+a  b\r\n");
    BOTH(reply_int(rb, 0), ":0\r\n", ":0\r\n");
    BOTH(reply_int(rb, -42), ":-42\r\n", ":-42\r\n");
    BOTH(reply_int(rb, LLONG_MAX), ":9223372036854775807\r\n", ":9223372036854775807\r\n");
    BOTH(reply_int(rb, LLONG_MIN), ":-9223372036854775808\r\n", ":-9223372036854775808\r\n");
    BOTH(reply_bulk(rb, "hello", 5), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
    BOTH(reply_bulk(rb, "", 0), "$0\r\n\r\n", "$0\r\n\r\n");
    BOTH(reply_bulk(rb, "a\0\r\n", 4), "$4\r\na\0\r\n\r\n", "$4\r\na\0\r\n\r\n");
    BOTH(reply_bulk_str(rb, "xyz"), "$3\r\nxyz\r\n", "$3\r\nxyz\r\n");
    BOTH(reply_bulk_ll(rb, -1234567), "$8\r\n-1234567\r\n", "$8\r\n-1234567\r\n");
    BOTH(reply_array_header(rb, 3), "*3\r\n", "*3\r\n");
    BOTH(reply_array_header(rb, 0), "*0\r\n", "*0\r\n");
    BOTH(reply_raw(rb, "+X\r\n", 4), "+X\r\n", "+X\r\n");
}

static void test_resp3_types_fall_back_in_resp2(void **state) {
    (void)state;
    BOTH(reply_null(rb), "$-1\r\n", "_\r\n");
    BOTH(reply_bulk_str(rb, NULL), "$-1\r\n", "_\r\n");
    BOTH(reply_null_array(rb), "*-1\r\n", "_\r\n");
    BOTH(reply_map_header(rb, 2), "*4\r\n", "%2\r\n");
    BOTH(reply_map_header(rb, 0), "*0\r\n", "%0\r\n");
    BOTH(reply_set_header(rb, 5), "*5\r\n", "~5\r\n");
    BOTH(reply_push_header(rb, 3), "*3\r\n", ">3\r\n");
    BOTH(reply_bool(rb, true), ":1\r\n", "#t\r\n");
    BOTH(reply_bool(rb, false), ":0\r\n", "#f\r\n");
    BOTH(reply_verbatim(rb, "hello", 5, "txt"), "$5\r\nhello\r\n", "=9\r\ntxt:hello\r\n");
    BOTH(reply_verbatim(rb, "", 0, "mkd"), "$0\r\n\r\n", "=4\r\nmkd:\r\n");
    BOTH(reply_bignum(rb, "3492890328409238509324850943850943825024385", 43),
         "$43\r\n3492890328409238509324850943850943825024385\r\n",
         "(3492890328409238509324850943850943825024385\r\n");
    /* a map of one pair, fully encoded */
    BOTH((reply_map_header(rb, 1), reply_bulk_str(rb, "k"), reply_int(rb, 1)),
         "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n");
}

static void test_doubles_are_formatted_like_redis(void **state) {
    (void)state;
    BOTH(reply_double(rb, 1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
    BOTH(reply_double(rb, 3.0), "$1\r\n3\r\n", ",3\r\n");
    BOTH(reply_double(rb, -0.0), "$2\r\n-0\r\n", ",-0\r\n");
    BOTH(reply_double(rb, 0.1), "$19\r\n0.10000000000000001\r\n", ",0.10000000000000001\r\n");
    BOTH(reply_double(rb, 1e300), "$23\r\n1.0000000000000001e+300\r\n", ",1.0000000000000001e+300\r\n");
    BOTH(reply_double(rb, -0.375), "$6\r\n-0.375\r\n", ",-0.375\r\n");
    BOTH(reply_double(rb, 1e21), "$5\r\n1e+21\r\n", ",1e+21\r\n");
    BOTH(reply_double(rb, INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
    BOTH(reply_double(rb, -INFINITY), "$4\r\n-inf\r\n", ",-inf\r\n");
    BOTH(reply_double(rb, NAN), "$3\r\nnan\r\n", ",nan\r\n");
    BOTH(reply_double(rb, -NAN), "$3\r\nnan\r\n", ",nan\r\n");
    BOTH(reply_double(rb, DBL_MAX), "$23\r\n1.7976931348623157e+308\r\n", ",1.7976931348623157e+308\r\n");
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_errors_get_a_dash_and_lose_line_breaks(void **state) {
    (void)state;
    BOTH(reply_error(rb, "ERR syntax error"), "-ERR syntax error\r\n", "-ERR syntax error\r\n");
    BOTH(reply_error(rb, "-WRONGTYPE x"), "-WRONGTYPE x\r\n", "-WRONGTYPE x\r\n");
    BOTH(reply_error(rb, "ERR bad\r\nthing\n"), "-ERR bad  thing \r\n", "-ERR bad  thing \r\n");
    BOTH(reply_error(rb, ""), "-ERR\r\n", "-ERR\r\n");
    BOTH(reply_error(rb, "-"), "-ERR\r\n", "-ERR\r\n");
    BOTH(reply_error_len(rb, "ERR abc", 5), "-ERR a\r\n", "-ERR a\r\n");
    BOTH(reply_errorf(rb, "ERR %s is %d", "x\ny", 5), "-ERR x y is 5\r\n", "-ERR x y is 5\r\n");
}

static void test_errorf_handles_long_messages(void **state) {
    (void)state;
    char arg[2000];
    memset(arg, 'z', sizeof arg - 1);
    arg[sizeof arg - 1] = '\0';
    reply_buf rb;
    reply_buf_init(&rb, 2);
    reply_errorf(&rb, "ERR %s!", arg);
    assert_int_equal(rb.len, 1 + 4 + 1999 + 1 + 2);
    assert_memory_equal(rb.data, "-ERR zzz", 8);
    assert_memory_equal(rb.data + rb.len - 4, "z!\r\n", 4);
    reply_buf_destroy(&rb);
}

static void test_protocol_and_arity_errors_use_redis_wording(void **state) {
    (void)state;
    BOTH(reply_err_protocol(rb, "invalid bulk length"), "-ERR Protocol error: invalid bulk length\r\n",
         "-ERR Protocol error: invalid bulk length\r\n");
    BOTH(reply_err_arity(rb, "get"), "-ERR wrong number of arguments for 'get' command\r\n",
         "-ERR wrong number of arguments for 'get' command\r\n");
    BOTH(reply_err_invalid_expire(rb, "set"), "-ERR invalid expire time in 'set' command\r\n",
         "-ERR invalid expire time in 'set' command\r\n");
    static const uint8_t sub[] = "FOO";
    BOTH(reply_err_unknown_subcommand(rb, "config", sub, 3),
         "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
         "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
}

static void unknown(reply_buf *rb, size_t argc, const char *const *args) {
    const uint8_t *argv[16];
    size_t lens[16];
    for (size_t i = 0; i < argc; i++) {
        argv[i] = (const uint8_t *)args[i];
        lens[i] = strlen(args[i]);
    }
    reply_err_unknown_command(rb, argc, argv, lens);
}

static void test_unknown_command_error_matches_redis(void **state) {
    (void)state;
    reply_buf rb;
    reply_buf_init(&rb, 2);
    unknown(&rb, 1, (const char *[]){ "foo" });
    EXPECT(&rb, "-ERR unknown command 'foo', with args beginning with: \r\n");
    unknown(&rb, 3, (const char *[]){ "foo", "a", "bc" });
    EXPECT(&rb, "-ERR unknown command 'foo', with args beginning with: 'a' 'bc' \r\n");
    unknown(&rb, 2, (const char *[]){ "fo\r\no", "x\ny" });
    EXPECT(&rb, "-ERR unknown command 'fo  o', with args beginning with: 'x y' \r\n");

    /* argv[0] is cut to 128 bytes; arguments stop once 128 bytes of argument text are shown,
     * the last one cut to what is left of the 128 (quotes and spaces count). */
    char a0[201], a1[101], a2[101], a3[11];
    memset(a0, 'C', 200); a0[200] = '\0';
    memset(a1, '1', 100); a1[100] = '\0';
    memset(a2, '2', 100); a2[100] = '\0';
    memset(a3, '3', 10); a3[10] = '\0';
    unknown(&rb, 4, (const char *[]){ a0, a1, a2, a3 });
    char want[512];
    int n = snprintf(want, sizeof want, "-ERR unknown command '%.128s', with args beginning with: '%s' '%.25s' \r\n",
                     a0, a1, a2); /* 100 + 3 = 103 shown; the next gets 128 - 103 = 25 */
    expect_bytes(&rb, want, (size_t)n);

    /* an argument stops at a NUL, as "%.*s" does */
    const uint8_t *argv[2] = { (const uint8_t *)"cmd", (const uint8_t *)"ab\0cd" };
    size_t lens[2] = { 3, 5 };
    reply_err_unknown_command(&rb, 2, argv, lens);
    EXPECT(&rb, "-ERR unknown command 'cmd', with args beginning with: 'ab' \r\n");
    reply_buf_destroy(&rb);
}

static void test_shared_replies_are_exact_and_well_formed(void **state) {
    (void)state;
    for (int id = 0; id < REPLY_SH_COUNT; id++) {
        size_t n;
        const char *s = reply_shared_bytes((enum reply_shared_id)id, &n);
        assert_non_null(s);
        assert_true(n >= 4);
        assert_int_equal(strlen(s), n);
        assert_true(strchr("+-:$*", s[0]) != NULL);
        assert_memory_equal(s + n - 2, "\r\n", 2);
        if (s[0] != '$') assert_null(memchr(s, '\r', n - 2)); /* one line */
    }
    reply_buf rb;
    reply_buf_init(&rb, 3);
    reply_shared(&rb, REPLY_SH_OK);
    EXPECT(&rb, "+OK\r\n");
    reply_shared(&rb, REPLY_SH_PONG);
    EXPECT(&rb, "+PONG\r\n");
    reply_shared(&rb, REPLY_SH_WRONGTYPE);
    EXPECT(&rb, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    reply_shared(&rb, REPLY_SH_SYNTAX);
    EXPECT(&rb, "-ERR syntax error\r\n");
    reply_shared(&rb, REPLY_SH_NOT_INTEGER);
    EXPECT(&rb, "-ERR value is not an integer or out of range\r\n");
    reply_shared(&rb, REPLY_SH_NOT_FLOAT);
    EXPECT(&rb, "-ERR value is not a valid float\r\n");
    reply_shared(&rb, REPLY_SH_OVERFLOW);
    EXPECT(&rb, "-ERR increment or decrement would overflow\r\n");
    reply_shared(&rb, REPLY_SH_NO_SUCH_KEY);
    EXPECT(&rb, "-ERR no such key\r\n");
    reply_shared(&rb, REPLY_SH_NOAUTH);
    EXPECT(&rb, "-NOAUTH Authentication required.\r\n");
    reply_shared(&rb, REPLY_SH_EMPTY_BULK);
    EXPECT(&rb, "$0\r\n\r\n");
    reply_buf_destroy(&rb);
}

/* ---- deferred lengths ------------------------------------------------------------------------ */

static void test_deferred_length_is_inserted_before_its_elements(void **state) {
    (void)state;
    BOTH({
              reply_int(rb, 7);
              size_t h = reply_defer_len(rb);
              reply_bulk_str(rb, "a");
              reply_bulk_str(rb, "b");
              reply_set_deferred_len(rb, h, 2, REPLY_AGG_ARRAY);
          },
         ":7\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", ":7\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    BOTH({
             size_t h = reply_defer_len(rb);
             reply_bulk_str(rb, "k");
             reply_int(rb, 1);
             reply_set_deferred_len(rb, h, 1, REPLY_AGG_MAP);
         },
         "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n");
    BOTH({
             size_t h = reply_defer_len(rb);
             reply_set_deferred_len(rb, h, 0, REPLY_AGG_SET);
         },
         "*0\r\n", "~0\r\n");
    BOTH({
             size_t h = reply_defer_len(rb);
             for (int i = 0; i < 12; i++) reply_int(rb, i % 10);
             reply_set_deferred_len(rb, h, 12, REPLY_AGG_PUSH);
         },
         "*12\r\n:0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:0\r\n:1\r\n",
         ">12\r\n:0\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:0\r\n:1\r\n");
}

/* Nested deferrals come out right whichever is set first, also when both sit at one offset. */
static void test_nested_deferred_lengths_in_any_order(void **state) {
    (void)state;
    static const char want[] = "*2\r\n*1\r\n:1\r\n*3\r\n:2\r\n:3\r\n:4\r\n";
    for (int order = 0; order < 2; order++) {
        reply_buf rb;
        reply_buf_init(&rb, 2);
        size_t outer = reply_defer_len(&rb);
        size_t in1 = reply_defer_len(&rb); /* same offset as outer */
        reply_int(&rb, 1);
        size_t in2 = reply_defer_len(&rb);
        reply_int(&rb, 2);
        reply_int(&rb, 3);
        reply_int(&rb, 4);
        if (order == 0) { /* innermost first, as a recursive encoder would */
            reply_set_deferred_len(&rb, in2, 3, REPLY_AGG_ARRAY);
            reply_set_deferred_len(&rb, in1, 1, REPLY_AGG_ARRAY);
            reply_set_deferred_len(&rb, outer, 2, REPLY_AGG_ARRAY);
        } else { /* outermost first */
            reply_set_deferred_len(&rb, outer, 2, REPLY_AGG_ARRAY);
            reply_set_deferred_len(&rb, in1, 1, REPLY_AGG_ARRAY);
            reply_set_deferred_len(&rb, in2, 3, REPLY_AGG_ARRAY);
        }
        EXPECT(&rb, want);
        reply_buf_destroy(&rb);
    }
}

static void test_unsent_stops_at_a_pending_deferred_length(void **state) {
    (void)state;
    reply_buf rb;
    reply_buf_init(&rb, 2);
    reply_shared(&rb, REPLY_SH_OK);
    size_t h = reply_defer_len(&rb);
    reply_int(&rb, 1);
    size_t n;
    const uint8_t *p = reply_buf_unsent(&rb, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(p, "+OK\r\n", 5);
    reply_buf_advance(&rb, 5);
    reply_buf_unsent(&rb, &n);
    assert_int_equal(n, 0); /* nothing more until the header is known */
    reply_set_deferred_len(&rb, h, 1, REPLY_AGG_ARRAY);
    p = reply_buf_unsent(&rb, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(p, "*1\r\n:1\r\n", 8);
    reply_buf_advance(&rb, 8);
    assert_int_equal(rb.len, 0);
    reply_buf_destroy(&rb);
}

/* ---- the buffer ------------------------------------------------------------------------------ */

static void test_buffer_grows_for_big_replies_and_drains(void **state) {
    (void)state;
    const size_t big = (size_t)3 << 20;
    uint8_t *v = malloc(big);
    assert_non_null(v);
    for (size_t i = 0; i < big; i++) v[i] = (uint8_t)(i * 13);
    reply_buf rb;
    reply_buf_init(&rb, 2);
    assert_null(rb.data); /* nothing allocated before the first append */
    reply_shared(&rb, REPLY_SH_OK);
    assert_int_equal(rb.cap, REPLY_BUF_INITIAL);
    reply_bulk(&rb, v, big);
    assert_false(rb.failed);
    assert_int_equal(rb.len, 5 + 1 + 7 + 2 + big + 2);
    assert_memory_equal(rb.data + 5, "$3145728\r\n", 10);
    assert_memory_equal(rb.data + 15, v, big);
    /* partial writes */
    size_t total = rb.len, sent = 0;
    while (sent < total) {
        size_t n;
        const uint8_t *p = reply_buf_unsent(&rb, &n);
        assert_int_equal(n, total - sent);
        assert_ptr_equal(p, rb.data + sent);
        size_t w = n < 100000 ? n : 100000;
        reply_buf_advance(&rb, w);
        sent += w;
    }
    /* drained above REPLY_BUF_KEEP: memory released, reusable */
    assert_int_equal(rb.len, 0);
    assert_int_equal(rb.cap, 0);
    assert_null(rb.data);
    reply_int(&rb, 5);
    EXPECT(&rb, ":5\r\n");
    assert_int_equal(rb.cap, REPLY_BUF_INITIAL); /* a small buffer is kept */
    reply_buf_destroy(&rb);
    reply_buf_destroy(NULL);
    free(v);
}

static void test_written_prefix_is_reused_before_growing(void **state) {
    (void)state;
    reply_buf rb;
    reply_buf_init(&rb, 2);
    char chunk[1000];
    memset(chunk, 'q', sizeof chunk);
    while (rb.len + sizeof chunk + 16 <= REPLY_BUF_INITIAL) reply_bulk(&rb, chunk, sizeof chunk);
    size_t len = rb.len;
    reply_buf_advance(&rb, len - 10); /* 10 bytes remain unsent */
    reply_bulk(&rb, chunk, sizeof chunk);
    assert_int_equal(rb.cap, REPLY_BUF_INITIAL); /* compacted, not grown */
    assert_int_equal(rb.sent, 0);
    assert_int_equal(rb.len, 10 + 7 + sizeof chunk + 2);
    assert_memory_equal(rb.data + 10, "$1000\r\n", 7);
    reply_buf_reserve(&rb, REPLY_BUF_INITIAL);
    assert_true(rb.cap >= rb.len + REPLY_BUF_INITIAL);
    reply_buf_destroy(&rb);
}

/* ---- strutil --------------------------------------------------------------------------------- */

static bool ll_ok(const char *s, long long *v) { return resp_str_to_ll((const uint8_t *)s, strlen(s), v); }

static void test_string_to_ll_follows_string2ll(void **state) {
    (void)state;
    long long v = 99;
    assert_true(ll_ok("0", &v));
    assert_int_equal(v, 0);
    assert_true(ll_ok("-1", &v));
    assert_int_equal(v, -1);
    assert_true(ll_ok("123456789", &v));
    assert_int_equal(v, 123456789);
    assert_true(ll_ok("9223372036854775807", &v));
    assert_true(v == LLONG_MAX);
    assert_true(ll_ok("-9223372036854775808", &v));
    assert_true(v == LLONG_MIN);
    v = 77;
    static const char *bad[] = {
        "", "-", "+1", " 1", "1 ", "01", "00", "-0", "-01", "1a", "a", "0x10", "1.0", "1e3",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "99999999999999999999", "123456789012345678901", "--1", "\t1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ll_ok(bad[i], &v)) print_error("accepted \"%s\"\n", bad[i]);
        assert_false(ll_ok(bad[i], &v));
    }
    assert_int_equal(v, 77); /* untouched on failure */
    assert_false(resp_str_to_ll((const uint8_t *)"1\0", 2, &v));
    assert_true(resp_str_to_ll((const uint8_t *)"12", 1, &v)); /* length-bounded */
    assert_int_equal(v, 1);
    assert_true(resp_str_to_ll((const uint8_t *)"5", 1, NULL));
}

static void test_ll_to_str_matches_printf(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("ll_to_str", 0x11));
    static const long long fixed[] = { 0, 1, -1, 9, 10, 99, 100, -100, 12345, LLONG_MAX, LLONG_MIN,
                                       LLONG_MIN + 1, 1000000000000000000LL, 999999999999999999LL };
    for (int i = 0; i < 20000; i++) {
        long long v = i < (int)(sizeof fixed / sizeof fixed[0]) ? fixed[i]
                      : (long long)(st_rng_next(&r) >> st_rng_below(&r, 64));
        if (i % 3 == 0) v = -v;
        char got[RESP_LL_STR_MAX + 1], want[32];
        size_t n = resp_ll_to_str(got, v);
        got[n] = '\0';
        snprintf(want, sizeof want, "%lld", v);
        assert_string_equal(got, want);
        long long back;
        assert_true(resp_str_to_ll((const uint8_t *)got, n, &back));
        assert_true(back == v);
    }
    char u[21];
    size_t n = resp_ull_to_str(u, ULLONG_MAX);
    assert_int_equal(n, 20);
    assert_memory_equal(u, "18446744073709551615", 20);
}

static bool d_ok(const char *s, double *v) { return resp_str_to_double((const uint8_t *)s, strlen(s), v); }

static void test_string_to_double_follows_redis(void **state) {
    (void)state;
    double v;
    assert_true(d_ok("1.5", &v));
    assert_true(v == 1.5);
    assert_true(d_ok("-3", &v));
    assert_true(v == -3);
    assert_true(d_ok("+2", &v));
    assert_true(v == 2);
    assert_true(d_ok("1e10", &v));
    assert_true(v == 1e10);
    assert_true(d_ok(".5", &v));
    assert_true(v == 0.5);
    assert_true(d_ok("inf", &v));
    assert_true(isinf(v) && v > 0);
    assert_true(d_ok("-Infinity", &v));
    assert_true(isinf(v) && v < 0);
    assert_true(d_ok("0", &v));
    assert_true(v == 0);
    static const char *bad[] = { "", " 1", "1 ", "\t1", "abc", "1.5x", "nan", "NaN", "-nan",
                                 "1e400", "-1e400", "1e-400", "--1", "." };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (d_ok(bad[i], &v)) print_error("accepted \"%s\"\n", bad[i]);
        assert_false(d_ok(bad[i], &v));
    }
    assert_false(resp_str_to_double((const uint8_t *)"1\0", 2, &v));
    /* a long but valid number (longer than the stack buffer) */
    size_t n = RESP_NUMSTR_MAX + 100;
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, '0', n);
    s[n - 1] = '7';
    s[n] = '\0';
    assert_true(d_ok(s, &v));
    assert_true(v == 7);
    free(s);
}

static bool ld_ok(const char *s, long double *v) { return resp_str_to_ld((const uint8_t *)s, strlen(s), v); }

static void test_string_to_long_double_follows_string2ld(void **state) {
    (void)state;
    long double v;
    assert_true(ld_ok("10.5", &v));
    assert_true(v == 10.5L);
    assert_true(ld_ok("-inf", &v));
    assert_true(isinf(v));
    assert_true(ld_ok("5.0e3", &v));
    assert_true(v == 5000.0L);
    static const char *bad[] = { "", " 1", "1 ", "x", "nan", "1e99999", "1e-99999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(ld_ok(bad[i], &v));
    char *s = malloc(RESP_NUMSTR_MAX + 1);
    assert_non_null(s);
    memset(s, '1', RESP_NUMSTR_MAX);
    s[RESP_NUMSTR_MAX] = '\0';
    assert_false(ld_ok(s, &v)); /* too long for string2ld */
    free(s);
}

static void test_number_formatting_matches_redis(void **state) {
    (void)state;
    char buf[RESP_LD_STR_MAX];
    struct { long double v; const char *human; } cases[] = {
        { 10.5L, "10.5" }, { 3.0L, "3" }, { -0.0L, "0" }, { 0.1L, "0.1" }, { -2.25L, "-2.25" },
        { 5000.0L, "5000" }, { 1e20L, "100000000000000000000" }, { 1.0e-20L, "0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = resp_ld_to_str(buf, sizeof buf, cases[i].v, true);
        assert_int_equal(n, strlen(cases[i].human));
        assert_string_equal(buf, cases[i].human);
    }
    assert_int_equal(resp_ld_to_str(buf, sizeof buf, INFINITY, true), 3);
    assert_string_equal(buf, "inf");
    assert_int_equal(resp_ld_to_str(buf, sizeof buf, -INFINITY, false), 4);
    assert_string_equal(buf, "-inf");
    resp_ld_to_str(buf, sizeof buf, 1.5L, false);
    assert_string_equal(buf, "1.5");
    assert_int_equal(resp_ld_to_str(buf, 3, 12345.0L, true), 0); /* no room */
    /* %.17Lf of a huge value fits RESP_LD_STR_MAX */
    assert_int_equal(resp_ld_to_str(buf, sizeof buf, 1e4000L, true), 4000);

    assert_int_equal(resp_double_to_str(buf, 32, 3.0), 1);
    assert_string_equal(buf, "3");
    resp_double_to_str(buf, 32, -1.7976931348623157e308);
    assert_string_equal(buf, "-1.7976931348623157e+308");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_types_encode_the_same_in_both_protocols),
        cmocka_unit_test(test_resp3_types_fall_back_in_resp2),
        cmocka_unit_test(test_doubles_are_formatted_like_redis),
        cmocka_unit_test(test_errors_get_a_dash_and_lose_line_breaks),
        cmocka_unit_test(test_errorf_handles_long_messages),
        cmocka_unit_test(test_protocol_and_arity_errors_use_redis_wording),
        cmocka_unit_test(test_unknown_command_error_matches_redis),
        cmocka_unit_test(test_shared_replies_are_exact_and_well_formed),
        cmocka_unit_test(test_deferred_length_is_inserted_before_its_elements),
        cmocka_unit_test(test_nested_deferred_lengths_in_any_order),
        cmocka_unit_test(test_unsent_stops_at_a_pending_deferred_length),
        cmocka_unit_test(test_buffer_grows_for_big_replies_and_drains),
        cmocka_unit_test(test_written_prefix_is_reused_before_growing),
        cmocka_unit_test(test_string_to_ll_follows_string2ll),
        cmocka_unit_test(test_ll_to_str_matches_printf),
        cmocka_unit_test(test_string_to_double_follows_redis),
        cmocka_unit_test(test_string_to_long_double_follows_string2ld),
        cmocka_unit_test(test_number_formatting_matches_redis),
    };
    return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
