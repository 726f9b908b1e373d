/* test_resp.c -- net/resp: the incremental request parser. Multibulk and inline requests,
 * pipelines, every split of a stream across reads, Redis's error texts and limits, big bulks,
 * and seeded fuzzing of garbage and of valid pipelines. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A request rendered canonically: "<len>:<bytes>," per argument, "|" after each request. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const void *p, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_add_str(text *t, const char *s) { text_add(t, s, strlen(s)); }

static void text_add_argv(text *t, const resp_argv *a) {
    for (size_t i = 0; i < a->argc; i++) {
        char num[32];
        snprintf(num, sizeof num, "%zu:", a->argvlen[i]);
        text_add_str(t, num);
        text_add(t, a->argv[i], a->argvlen[i]);
        text_add_str(t, ",");
    }
    text_add_str(t, "|");
}

static void text_free(text *t) {
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* A connection's input side: bytes arrive in chunks; after each chunk every complete request is
 * parsed. The unconsumed bytes are then moved into a fresh allocation, so a parser that kept a
 * pointer across calls would read freed memory (ASan). */
typedef struct conn {
    resp_parser *p;
    uint8_t *buf;
    size_t rpos, wpos;
    text out;
    int rc;             /* last non-OK code */
    const char *err;    /* errmsg on PROTO_ERR */
    size_t requests;
} conn;

static void conn_init(conn *c, const resp_limits *lim) {
    memset(c, 0, sizeof *c);
    c->p = resp_parser_new(lim);
    assert_non_null(c->p);
    c->rc = RESP_NEED_MORE;
}

static void conn_destroy(conn *c) {
    resp_parser_free(c->p);
    free(c->buf);
    text_free(&c->out);
}

static void conn_feed(conn *c, const void *p, size_t n) {
    if (c->rc < 0) return;
    size_t keep = c->wpos - c->rpos;
    uint8_t *nb = malloc(keep + n + 1);
    assert_non_null(nb);
    if (keep) memcpy(nb, c->buf + c->rpos, keep);
    if (n) memcpy(nb + keep, p, n);
    free(c->buf);
    c->buf = nb;
    c->rpos = 0;
    c->wpos = keep + n;
    for (;;) {
        resp_argv a;
        size_t used = 12345;
        const char *err = (const char *)1;
        size_t avail = c->wpos - c->rpos;
        int rc = resp_parse(c->p, c->buf + c->rpos, avail, &a, &used, &err);
        assert_true(used <= avail);
        if (rc == RESP_OK) {
            assert_null(err);
            assert_true(a.argc >= 1);
            text_add_argv(&c->out, &a);
            c->requests++;
            c->rpos += used;
            continue;
        }
        assert_int_equal(a.argc, 0);
        c->rpos += used;
        c->rc = rc;
        if (rc == RESP_NEED_MORE) {
            assert_null(err);
        } else {
            assert_int_equal(rc, RESP_PROTO_ERR);
            assert_non_null(err);
            c->err = err;
        }
        return;
    }
}

/* Parses `in` fed in one piece; returns the canonical text (caller frees; *outlen bytes plus a
 * NUL), rc and err. */
static char *parse_whole(const char *in, size_t n, const resp_limits *lim, int *rc, char *err,
                         size_t errcap, size_t *outlen) {
    conn c;
    conn_init(&c, lim);
    conn_feed(&c, in, n);
    *rc = c.rc;
    if (err) snprintf(err, errcap, "%s", c.err ? c.err : "");
    char *s = calloc(1, c.out.len + 1);
    assert_non_null(s);
    if (c.out.len) memcpy(s, c.out.s, c.out.len);
    if (outlen) *outlen = c.out.len;
    conn_destroy(&c);
    return s;
}

static void expect_parse(const char *in, size_t n, const char *want, size_t wantlen) {
    int rc;
    size_t len;
    char *got = parse_whole(in, n, NULL, &rc, NULL, 0, &len);
    assert_int_equal(rc, RESP_NEED_MORE);
    if (len != wantlen || memcmp(got, want, len) != 0) print_error("got \"%s\" want \"%s\"\n", got, want);
    assert_int_equal(len, wantlen);
    assert_memory_equal(got, want, len);
    free(got);
}
#define EXPECT_PARSE(lit, want) expect_parse(lit, sizeof(lit) - 1, want, sizeof(want) - 1)

static void expect_error_lim(const char *in, size_t n, const resp_limits *lim, const char *want_err) {
    int rc;
    char err[128];
    char *got = parse_whole(in, n, lim, &rc, err, sizeof err, NULL);
    assert_int_equal(rc, RESP_PROTO_ERR);
    assert_string_equal(err, want_err);
    free(got);
}
#define EXPECT_ERROR(lit, err) expect_error_lim(lit, sizeof(lit) - 1, NULL, err)

/* ---- multibulk ------------------------------------------------------------------------------- */

static void test_multibulk_command_yields_its_arguments(void **state) {
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    assert_non_null(p);
    static const uint8_t in[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    resp_argv a;
    size_t used;
    const char *err;
    assert_int_equal(resp_parse(p, in, sizeof in - 1, &a, &used, &err), RESP_OK);
    assert_int_equal(used, sizeof in - 1);
    assert_null(err);
    assert_int_equal(a.argc, 3);
    assert_int_equal(a.argvlen[0], 3);
    assert_memory_equal(a.argv[0], "SET", 3);
    assert_int_equal(a.argvlen[2], 5);
    assert_memory_equal(a.argv[2], "value", 5);
    /* zero-copy: the views point into the caller's buffer */
    assert_ptr_equal(a.argv[0], in + 8);
    assert_ptr_equal(a.argv[1], in + 17);
    assert_ptr_equal(a.argv[2], in + 26);
    resp_parser_free(p);
}

static void test_pipelined_commands_parse_one_at_a_time(void **state) {
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    static const uint8_t in[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nECHO hi\r\n*1\r\n$4\r\nPI";
    size_t off = 0, used;
    resp_argv a;
    const char *err;
    assert_int_equal(resp_parse(p, in + off, sizeof in - 1 - off, &a, &used, &err), RESP_OK);
    assert_int_equal(a.argc, 1);
    assert_int_equal(used, 14);
    off += used;
    assert_int_equal(resp_parse(p, in + off, sizeof in - 1 - off, &a, &used, &err), RESP_OK);
    assert_int_equal(a.argc, 2);
    assert_memory_equal(a.argv[1], "a", 1);
    assert_ptr_equal(a.argv[1], in + off + 17);
    assert_int_equal(used, 20);
    off += used;
    assert_int_equal(resp_parse(p, in + off, sizeof in - 1 - off, &a, &used, &err), RESP_OK);
    assert_int_equal(a.argc, 2);
    assert_memory_equal(a.argv[0], "ECHO", 4);
    assert_memory_equal(a.argv[1], "hi", 2);
    assert_int_equal(used, 9);
    off += used;
    assert_int_equal(resp_parse(p, in + off, sizeof in - 1 - off, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(a.argc, 0);
    resp_parser_free(p);
}

static void test_empty_multibulk_requests_are_skipped(void **state) {
    (void)state;
    EXPECT_PARSE("*0\r\n*-1\r\n*-7\r\n*1\r\n$4\r\nPING\r\n*0\r\n", "4:PING,|");
    /* Skipped requests before a partial one are reported as consumed. */
    resp_parser *p = resp_parser_new(NULL);
    static const uint8_t in[] = "*0\r\n*-1\r\n*1\r\n$4\r\nPI";
    resp_argv a;
    size_t used;
    const char *err;
    assert_int_equal(resp_parse(p, in, sizeof in - 1, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(used, 9);
    resp_parser_free(p);
}

static void test_binary_arguments_keep_nul_and_crlf(void **state) {
    (void)state;
    EXPECT_PARSE("*2\r\n$3\r\na\0b\r\n$6\r\n\r\n$1\r\n\r\n", "3:a\0b,6:\r\n$1\r\n,|");
    EXPECT_PARSE("*1\r\n$0\r\n\r\n", "0:,|");
}

static void test_header_split_between_cr_and_lf_resumes(void **state) {
    (void)state;
    conn c;
    conn_init(&c, NULL);
    conn_feed(&c, "*2\r", 3);
    assert_int_equal(c.rc, RESP_NEED_MORE);
    conn_feed(&c, "\n$3\r", 4);
    conn_feed(&c, "\nabc\r", 5);
    conn_feed(&c, "\n$2\r\nxy\r", 8);
    assert_int_equal(c.requests, 0);
    conn_feed(&c, "\n", 1);
    assert_int_equal(c.requests, 1);
    assert_string_equal(c.out.s, "3:abc,2:xy,|");
    conn_destroy(&c);
}

/* A stream mixing every request form; the split tests feed it in every possible way. */
static const char split_stream[] =
    "*3\r\n$3\r\nSET\r\n$2\r\nk\0\r\n$4\r\nv\r\nv\r\n"
    "*0\r\n"
    "\r\n"
    "  get  \"a\\x41\\n\" 'b\\'c'\r\n"
    "*1\r\n$4\r\nPING\r\n"
    "QUIT\n";
static const char split_want[] = "3:SET,2:k\0,4:v\r\nv,|3:get,3:aA\n,3:b'c,|4:PING,|4:QUIT,|";

static void test_frame_split_at_every_byte_across_two_feeds(void **state) {
    (void)state;
    const size_t n = sizeof split_stream - 1;
    for (size_t i = 0; i <= n; i++) {
        conn c;
        conn_init(&c, NULL);
        conn_feed(&c, split_stream, i);
        conn_feed(&c, split_stream + i, n - i);
        assert_int_equal(c.rc, RESP_NEED_MORE);
        assert_int_equal(c.out.len, sizeof split_want - 1);
        assert_memory_equal(c.out.s, split_want, sizeof split_want - 1);
        assert_int_equal(c.rpos, c.wpos);
        conn_destroy(&c);
    }
}

static void test_frame_split_at_every_byte_pair_across_three_feeds(void **state) {
    (void)state;
    const size_t n = sizeof split_stream - 1;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            conn c;
            conn_init(&c, NULL);
            conn_feed(&c, split_stream, i);
            conn_feed(&c, split_stream + i, j - i);
            conn_feed(&c, split_stream + j, n - j);
            assert_int_equal(c.rc, RESP_NEED_MORE);
            assert_int_equal(c.out.len, sizeof split_want - 1);
            assert_memory_equal(c.out.s, split_want, sizeof split_want - 1);
            conn_destroy(&c);
        }
    }
}

static void test_byte_at_a_time_feed_matches_whole_feed(void **state) {
    (void)state;
    const size_t n = sizeof split_stream - 1;
    conn c;
    conn_init(&c, NULL);
    for (size_t i = 0; i < n; i++) conn_feed(&c, split_stream + i, 1);
    assert_int_equal(c.out.len, sizeof split_want - 1);
    assert_memory_equal(c.out.s, split_want, sizeof split_want - 1);
    conn_destroy(&c);
}

/* ---- inline ---------------------------------------------------------------------------------- */

static void test_inline_command_splits_on_blanks(void **state) {
    (void)state;
    EXPECT_PARSE("SET key value\r\n", "3:SET,3:key,5:value,|");
    EXPECT_PARSE("PING\n", "4:PING,|");
    EXPECT_PARSE("  a \t b\x0b" "c   \r\n", "1:a,3:b\x0b" "c,|"); /* \v is not a separator */
    EXPECT_PARSE("a\rb\r\n", "1:a,1:b,|");
    /* a bare LF line ending leaves a CR before it in the words' separators */
    EXPECT_PARSE("x\r\r\n", "1:x,|");
}

static void test_inline_quotes_and_escapes_follow_sdssplitargs(void **state) {
    (void)state;
    EXPECT_PARSE("set \"a b\" 'c d'\r\n", "3:set,3:a b,3:c d,|");
    EXPECT_PARSE("\"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n", "8:\n\r\t\b\a\\\"q,|");
    EXPECT_PARSE("\"\\x41\\x7a\\xfF\"\r\n", "3:Az\xff,|");
    EXPECT_PARSE("\"\\x4\" \"\\xZZ\"\r\n", "2:x4,3:xZZ,|"); /* not two hex digits: plain escape */
    EXPECT_PARSE("'it\\'s' 'a\\nb'\r\n", "4:it's,4:a\\nb,|");
    EXPECT_PARSE("\"\" ''\r\n", "0:,0:,|");
    EXPECT_PARSE("ab\"c d\"\r\n", "5:abc d,|"); /* a quote inside a word opens a quoted part */
    EXPECT_PARSE("\"a\"\t'b'\r\n", "1:a,1:b,|");
}

static void test_inline_unbalanced_quotes_are_protocol_errors(void **state) {
    (void)state;
    EXPECT_ERROR("set \"abc\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("set 'abc\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("set \"abc\"def\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("set 'abc'd\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("set \"abc\\\"\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("set \"a\0b\"\r\n", "unbalanced quotes in request"); /* NUL ends the line */
}

static void test_inline_nul_ends_the_line_words(void **state) {
    (void)state;
    EXPECT_PARSE("GET a\0b c\r\nPING\r\n", "3:GET,1:a,|4:PING,|");
}

static void test_empty_inline_lines_are_skipped(void **state) {
    (void)state;
    EXPECT_PARSE("\r\n\n   \r\n\t\nPING\r\n\r\n", "4:PING,|");
}

/* ---- limits and error texts ------------------------------------------------------------------ */

static void test_invalid_multibulk_lengths_are_rejected(void **state) {
    (void)state;
    EXPECT_ERROR("*abc\r\n", "invalid multibulk length");
    EXPECT_ERROR("*\r\n", "invalid multibulk length");
    EXPECT_ERROR("*+1\r\n", "invalid multibulk length");
    EXPECT_ERROR("* 1\r\n", "invalid multibulk length");
    EXPECT_ERROR("*01\r\n", "invalid multibulk length");
    EXPECT_ERROR("*1048577\r\n", "invalid multibulk length");
    EXPECT_ERROR("*99999999999999999999\r\n", "invalid multibulk length");
    EXPECT_ERROR("*9223372036854775807\r\n", "invalid multibulk length");
    /* exactly the limit is allowed */
    int rc;
    char *got = parse_whole("*1048576\r\n", 10, NULL, &rc, NULL, 0, NULL);
    assert_int_equal(rc, RESP_NEED_MORE);
    free(got);
}

static void test_invalid_bulk_lengths_are_rejected(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\n$-1\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$abc\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$03\r\nabc\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$99999999999999999999\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$-9223372036854775808\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$536870913\r\n", "invalid bulk length"); /* 512 MiB + 1 */
    resp_limits lim = resp_limits_default();
    lim.max_bulk_len = 10;
    static const char over[] = "*1\r\n$11\r\n";
    expect_error_lim(over, sizeof over - 1, &lim, "invalid bulk length");
    static const char at[] = "*1\r\n$10\r\n0123456789\r\n";
    int rc;
    char *got = parse_whole(at, sizeof at - 1, &lim, &rc, NULL, 0, NULL);
    assert_int_equal(rc, RESP_NEED_MORE);
    assert_string_equal(got, "10:0123456789,|");
    free(got);
}

static void test_missing_dollar_names_the_byte(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\nfoo\r\n", "expected '$', got 'f'");
    EXPECT_ERROR("*2\r\n$1\r\na\r\n:1\r\n", "expected '$', got ':'");
    EXPECT_ERROR("*1\r\n\r\n", "expected '$', got ' '"); /* CR shown as a space, as Redis */
}

static char *repeat(char c, size_t n, const char *suffix) {
    size_t sl = strlen(suffix);
    char *s = malloc(n + sl + 1);
    assert_non_null(s);
    memset(s, c, n);
    memcpy(s + n, suffix, sl + 1);
    return s;
}

static void test_overlong_lines_are_rejected(void **state) {
    (void)state;
    const size_t max = RESP_DEFAULT_MAX_INLINE;
    /* inline: no newline within 64 KiB, and a newline beyond it */
    char *s = repeat('A', max + 1, "");
    expect_error_lim(s, max + 1, NULL, "too big inline request");
    free(s);
    s = repeat('A', max + 1, "\r\n");
    expect_error_lim(s, max + 3, NULL, "too big inline request");
    free(s);
    /* exactly 64 KiB of line is accepted */
    s = repeat('A', max, "\n");
    int rc;
    char *got = parse_whole(s, max + 1, NULL, &rc, NULL, 0, NULL);
    assert_int_equal(rc, RESP_NEED_MORE);
    assert_int_equal(strlen(got), 6 + max + 2);
    free(got);
    free(s);
    /* header lines */
    s = repeat('1', max + 1, "");
    s[0] = '*';
    expect_error_lim(s, max + 1, NULL, "too big mbulk count string");
    free(s);
    s = repeat('9', max + 5, "");
    memcpy(s, "*1\r\n$", 5);
    expect_error_lim(s, max + 5, NULL, "too big bulk count string");
    free(s);
    /* fed in small pieces: the same errors */
    conn c;
    conn_init(&c, NULL);
    char chunk[1000];
    memset(chunk, 'B', sizeof chunk);
    for (int i = 0; i < 100 && c.rc == RESP_NEED_MORE; i++) conn_feed(&c, chunk, sizeof chunk);
    assert_int_equal(c.rc, RESP_PROTO_ERR);
    assert_string_equal(c.err, "too big inline request");
    conn_destroy(&c);
}

static void test_unauthenticated_limits_apply_until_lifted(void **state) {
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    resp_argv a;
    size_t used;
    const char *err;
    resp_parser_set_unauth(p, true);
    static const char ok10[] = "*10\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)ok10, 5, &a, &used, &err), RESP_NEED_MORE);
    resp_parser_reset(p);
    static const char big[] = "*11\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)big, 5, &a, &used, &err), RESP_PROTO_ERR);
    assert_string_equal(err, "unauthenticated multibulk length");
    /* sticky until reset */
    assert_int_equal(resp_parse(p, (const uint8_t *)big, 5, &a, &used, &err), RESP_PROTO_ERR);
    assert_string_equal(err, "unauthenticated multibulk length");
    resp_parser_reset(p);
    static const char bulk[] = "*1\r\n$16385\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)bulk, sizeof bulk - 1, &a, &used, &err),
                     RESP_PROTO_ERR);
    assert_string_equal(err, "unauthenticated bulk length");
    resp_parser_reset(p);
    static const char bulk_ok[] = "*1\r\n$16384\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)bulk_ok, sizeof bulk_ok - 1, &a, &used, &err),
                     RESP_NEED_MORE);
    /* generic checks come first, as in Redis */
    resp_parser_reset(p);
    static const char huge[] = "*2000000\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)huge, sizeof huge - 1, &a, &used, &err),
                     RESP_PROTO_ERR);
    assert_string_equal(err, "invalid multibulk length");
    resp_parser_reset(p);
    resp_parser_set_unauth(p, false);
    assert_int_equal(resp_parse(p, (const uint8_t *)big, 5, &a, &used, &err), RESP_NEED_MORE);
    resp_parser_free(p);
}

static void test_limits_change_at_runtime(void **state) {
    (void)state;
    resp_parser *p = resp_parser_new(NULL);
    resp_limits lim = resp_limits_default();
    lim.max_multibulk = 2;
    resp_parser_set_limits(p, &lim);
    resp_argv a;
    size_t used;
    const char *err;
    static const char in[] = "*3\r\n";
    assert_int_equal(resp_parse(p, (const uint8_t *)in, 4, &a, &used, &err), RESP_PROTO_ERR);
    assert_string_equal(err, "invalid multibulk length");
    resp_parser_free(p);
}

/* ---- big bulks ------------------------------------------------------------------------------- */

static void test_big_bulk_reports_bytes_wanted(void **state) {
    (void)state;
    const size_t big = (size_t)1 << 20;
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "*2\r\n$3\r\nSET\r\n$%zu\r\n", big);
    size_t total = (size_t)hl + big + 2;
    uint8_t *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, hdr, (size_t)hl);
    for (size_t i = 0; i < big; i++) buf[hl + i] = (uint8_t)(i * 7);
    buf[hl + big] = '\r';
    buf[hl + big + 1] = '\n';

    resp_parser *p = resp_parser_new(NULL);
    resp_argv a;
    size_t used;
    const char *err;
    assert_int_equal(resp_bytes_wanted(p), 0);
    /* header of the big bulk incomplete: nothing known yet */
    assert_int_equal(resp_parse(p, buf, (size_t)hl - 2, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(resp_bytes_wanted(p), 0);
    /* header complete: the whole bulk and its CRLF are wanted */
    assert_int_equal(resp_parse(p, buf, (size_t)hl, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(resp_bytes_wanted(p), big + 2);
    assert_true(resp_bytes_wanted(p) >= RESP_BIG_BULK);
    assert_int_equal(resp_parse(p, buf, (size_t)hl + 1000, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(resp_bytes_wanted(p), big + 2 - 1000);
    assert_int_equal(resp_parse(p, buf, total - 1, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(resp_bytes_wanted(p), 1);
    assert_int_equal(resp_parse(p, buf, total, &a, &used, &err), RESP_OK);
    assert_int_equal(used, total);
    assert_int_equal(a.argc, 2);
    assert_int_equal(a.argvlen[1], big);
    assert_ptr_equal(a.argv[1], buf + hl);
    assert_int_equal(resp_bytes_wanted(p), 0);
    resp_parser_free(p);
    free(buf);
}

static void test_huge_claimed_lengths_do_not_overflow_or_allocate(void **state) {
    (void)state;
    resp_limits lim = resp_limits_default();
    lim.max_bulk_len = SIZE_MAX;
    lim.max_multibulk = (long long)(~0ull >> 1);
    resp_parser *p = resp_parser_new(&lim);
    resp_argv a;
    size_t used;
    const char *err;
    static const char in[] = "*9223372036854775807\r\n$9223372036854775807\r\nabc";
    assert_int_equal(resp_parse(p, (const uint8_t *)in, sizeof in - 1, &a, &used, &err), RESP_NEED_MORE);
    assert_int_equal(resp_bytes_wanted(p), 9223372036854775807ull + 2 - 3);
    resp_parser_free(p);
}

/* ---- fuzzing --------------------------------------------------------------------------------- */

static void test_random_garbage_never_breaks_the_parser(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("resp_garbage", 0x5eed0001));
    static const char alphabet[] = "*$\r\n\r\n0123456789-+ \"'\\xaA\t\0";
    resp_limits lim = { .max_bulk_len = 40, .max_multibulk = 6, .max_inline = 48 };
    uint8_t buf[96];
    int counts[3] = { 0 };
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)st_rng_below(&r, sizeof buf + 1);
        bool raw = st_rng_below(&r, 4) == 0;
        for (size_t i = 0; i < n; i++)
            buf[i] = raw ? (uint8_t)st_rng_next(&r)
                         : (uint8_t)alphabet[st_rng_below(&r, sizeof alphabet - 1)];
        if (n && st_rng_below(&r, 2)) buf[0] = '*';
        /* an exactly sized heap copy: ASan flags any read past len */
        uint8_t *h = malloc(n ? n : 1);
        assert_non_null(h);
        memcpy(h, buf, n);
        const resp_limits *l = iter & 1 ? &lim : NULL;
        resp_parser *p = resp_parser_new(l);
        resp_parser_set_unauth(p, iter % 5 == 0);
        text whole = { 0 };
        int final_rc = RESP_NEED_MORE;
        size_t off = 0;
        for (int steps = 0; steps <= 100; steps++) {
            assert_true(steps < 100); /* every OK consumes at least one byte */
            resp_argv a;
            size_t used;
            const char *err;
            int rc = resp_parse(p, h + off, n - off, &a, &used, &err);
            assert_true(used <= n - off);
            if (rc == RESP_OK) {
                assert_true(used > 0);
                /* each view lies inside this call's consumed bytes (multibulk) or outside the
                 * buffer altogether (inline words live in the parser) */
                uintptr_t lo = (uintptr_t)(h + off), hi = (uintptr_t)(h + off + used);
                for (size_t i = 0; i < a.argc; i++) {
                    uintptr_t b = (uintptr_t)a.argv[i], e = b + a.argvlen[i];
                    assert_true((b >= lo && e <= hi) || e <= (uintptr_t)h || b >= (uintptr_t)(h + n));
                }
                counts[0]++;
                text_add_argv(&whole, &a);
                off += used;
                continue;
            }
            assert_true(rc == RESP_NEED_MORE || rc == RESP_PROTO_ERR);
            counts[rc == RESP_NEED_MORE ? 1 : 2]++;
            if (rc == RESP_PROTO_ERR) assert_non_null(err);
            final_rc = rc;
            break;
        }
        resp_parser_free(p);
        /* The same bytes in random reads give the same requests and the same outcome (an error's
         * text may differ: like Redis, a header line that is too long with its '\r' still
         * missing is "too big ...", and "invalid ... length" once the '\r' is there). */
        conn c;
        conn_init(&c, l);
        resp_parser_set_unauth(c.p, iter % 5 == 0);
        for (size_t o = 0; o < n;) {
            size_t k = 1 + st_rng_below(&r, 16);
            if (k > n - o) k = n - o;
            conn_feed(&c, h + o, k);
            o += k;
        }
        assert_int_equal(c.rc, final_rc);
        assert_int_equal(c.out.len, whole.len);
        if (whole.len) assert_memory_equal(c.out.s, whole.s, whole.len);
        conn_destroy(&c);
        text_free(&whole);
        free(h);
    }
    printf("resp_garbage: ok=%d need_more=%d proto_err=%d\n", counts[0], counts[1], counts[2]);
    assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
}

/* Random valid pipelines (multibulk with binary arguments, inline with quoting), fed in random
 * chunks, must parse to exactly the arguments that were encoded. */
static void test_random_valid_pipelines_round_trip(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("resp_roundtrip", 0x5eed0002));
    for (int iter = 0; iter < 300; iter++) {
        text enc = { 0 }, want = { 0 };
        int ncmd = 1 + (int)st_rng_below(&r, 20);
        for (int c = 0; c < ncmd; c++) {
            size_t argc = 1 + st_rng_below(&r, 6);
            bool inl = st_rng_below(&r, 3) == 0;
            char tmp[64];
            if (!inl) {
                snprintf(tmp, sizeof tmp, "*%zu\r\n", argc);
                text_add_str(&enc, tmp);
            }
            for (size_t i = 0; i < argc; i++) {
                uint8_t arg[300];
                size_t len = st_rng_below(&r, 4) == 0 ? st_rng_below(&r, sizeof arg) : st_rng_below(&r, 12);
                if (inl && len == 0) len = 1;
                for (size_t k = 0; k < len; k++)
                    arg[k] = inl ? (uint8_t)('a' + st_rng_below(&r, 26)) : (uint8_t)st_rng_next(&r);
                if (inl) {
                    /* quote some words, with escapes that decode to the same bytes */
                    if (st_rng_below(&r, 2)) {
                        text_add_str(&enc, "\"");
                        for (size_t k = 0; k < len; k++) {
                            snprintf(tmp, sizeof tmp, "\\x%02x", arg[k]);
                            if (k % 2) text_add_str(&enc, tmp);
                            else text_add(&enc, &arg[k], 1);
                        }
                        text_add_str(&enc, "\"");
                    } else {
                        text_add(&enc, arg, len);
                    }
                    text_add_str(&enc, i + 1 < argc ? " " : "\r\n");
                } else {
                    snprintf(tmp, sizeof tmp, "$%zu\r\n", len);
                    text_add_str(&enc, tmp);
                    text_add(&enc, arg, len);
                    text_add_str(&enc, "\r\n");
                }
                snprintf(tmp, sizeof tmp, "%zu:", len);
                text_add_str(&want, tmp);
                text_add(&want, arg, len);
                text_add_str(&want, ",");
            }
            text_add_str(&want, "|");
            if (st_rng_below(&r, 8) == 0) text_add_str(&enc, st_rng_below(&r, 2) ? "*0\r\n" : "\r\n");
        }
        conn c;
        conn_init(&c, NULL);
        size_t off = 0;
        while (off < enc.len) {
            size_t chunk = 1 + st_rng_below(&r, st_rng_below(&r, 2) ? 8 : 600);
            if (chunk > enc.len - off) chunk = enc.len - off;
            conn_feed(&c, enc.s + off, chunk);
            off += chunk;
        }
        assert_int_equal(c.rc, RESP_NEED_MORE);
        assert_int_equal(c.requests, (size_t)ncmd);
        assert_int_equal(c.out.len, want.len);
        assert_memory_equal(c.out.s, want.s, want.len);
        assert_int_equal(c.rpos, c.wpos);
        conn_destroy(&c);
        text_free(&enc);
        text_free(&want);
    }
}

/* ---- resp_scan_gets: the look-ahead that feeds the engine's prefetch hint ------------------- */

/* Scans a heap copy of exactly len bytes, so that any read past the end trips ASan. */
static size_t scan(const char *req, size_t len, size_t max_req, size_t max_keys, const uint8_t **keys, size_t *klens,
                   uint8_t **copy) {
    *copy = malloc(len ? len : 1);
    assert_non_null(*copy);
    if (len) memcpy(*copy, req, len);
    return resp_scan_gets(*copy, len, max_req, max_keys, keys, klens);
}

static void test_scan_gets_collects_pipelined_get_keys(void **state) {
    (void)state;
    static const char pipe[] = "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n"
                               "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n" /* skipped */
                               "*2\r\n$3\r\nget\r\n$0\r\n\r\n"                     /* empty key */
                               "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n"      /* skipped */
                               "*3\r\n$3\r\nGET\r\n$1\r\na\r\n$1\r\nb\r\n"       /* GET with 2 args: skipped */
                               "*2\r\n$3\r\ngEt\r\n$5\r\nk\r\n\0\x01\r\n"           /* binary key */
                               "*2\r\n$3\r\nGET\r\n$2\r\nk3";                       /* incomplete */
    const uint8_t *keys[8];
    size_t klens[8];
    uint8_t *copy;
    size_t n = scan(pipe, sizeof pipe - 1, 100, 8, keys, klens, &copy);
    assert_int_equal(n, 3);
    assert_int_equal(klens[0], 2);
    assert_memory_equal(keys[0], "k1", 2);
    assert_int_equal(klens[1], 0);
    assert_int_equal(klens[2], 5);
    assert_memory_equal(keys[2], "k\r\n\0\x01", 5);
    assert_true(keys[2] > copy && keys[2] + 5 <= copy + sizeof pipe - 1); /* views into the buffer */
    free(copy);
    n = scan(pipe, sizeof pipe - 1, 100, 2, keys, klens, &copy); /* max_keys */
    assert_int_equal(n, 2);
    free(copy);
    n = scan(pipe, sizeof pipe - 1, 2, 8, keys, klens, &copy); /* max_requests: GET, SET */
    assert_int_equal(n, 1);
    free(copy);

    /* an inline request, a malformed header or a bulk without its "$" stops the scan */
    static const char *stops[] = {
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\nGET b\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2x\r\n$3\r\nGET\r\n$1\r\nc\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n:3\r\nGET\r\n$1\r\nc\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$99999999999999999999\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1\r\nc\r\n",
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1025\r\n",
    };
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        n = scan(stops[i], strlen(stops[i]), 100, 8, keys, klens, &copy);
        assert_int_equal(n, 1);
        assert_memory_equal(keys[0], "a", 1);
        free(copy);
    }
    n = scan("", 0, 100, 8, keys, klens, &copy);
    assert_int_equal(n, 0);
    free(copy);
}

/* On random valid pipelines the scan finds exactly the keys of the two-argument GETs the parser
 * returns before the first inline request; on random bytes it stays inside the buffer. */
static void test_scan_gets_agrees_with_the_parser_and_survives_garbage(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("resp_scan_gets", 0x5eed0003));
    for (int iter = 0; iter < 500; iter++) {
        text enc = {0};
        int ncmd = 1 + (int)st_rng_below(&r, 30);
        for (int c = 0; c < ncmd; c++) {
            bool inl = st_rng_below(&r, 12) == 0, get = st_rng_below(&r, 3) != 0;
            size_t argc = get ? 2 : 1 + st_rng_below(&r, 4);
            char tmp[64];
            if (inl) {
                text_add_str(&enc, get ? "GET k\r\n" : "PING\r\n");
                continue;
            }
            snprintf(tmp, sizeof tmp, "*%zu\r\n", argc);
            text_add_str(&enc, tmp);
            for (size_t i = 0; i < argc; i++) {
                uint8_t arg[40];
                size_t len = st_rng_below(&r, sizeof arg);
                for (size_t k = 0; k < len; k++) arg[k] = (uint8_t)st_rng_next(&r);
                if (i == 0) {
                    len = get ? 3 : 4;
                    memcpy(arg, get ? (st_rng_below(&r, 2) ? "GET" : "get") : "ECHO", len);
                }
                snprintf(tmp, sizeof tmp, "$%zu\r\n", len);
                text_add_str(&enc, tmp);
                text_add(&enc, arg, len);
                text_add_str(&enc, "\r\n");
            }
        }
        size_t cut = enc.len - st_rng_below(&r, enc.len < 20 ? enc.len : 20); /* maybe a partial last */
        const uint8_t *keys[64], *want[64];
        size_t klens[64], wlens[64], nw = 0;
        resp_parser *p = resp_parser_new(NULL);
        assert_non_null(p);
        for (size_t at = 0; at < cut && nw < 64;) {
            resp_argv a;
            size_t used = 0;
            const char *err = NULL;
            if (enc.s[at] != '*') break; /* the scan stops at an inline request */
            if (resp_parse(p, (const uint8_t *)enc.s + at, cut - at, &a, &used, &err) != RESP_OK) break;
            if (a.argc == 2 && a.argvlen[0] == 3 && strncasecmp((const char *)a.argv[0], "get", 3) == 0) {
                want[nw] = a.argv[1];
                wlens[nw++] = a.argvlen[1];
            }
            at += used;
        }
        resp_parser_free(p);
        size_t n = resp_scan_gets((const uint8_t *)enc.s, cut, 1000, 64, keys, klens);
        assert_int_equal(n, nw);
        for (size_t i = 0; i < n; i++) {
            assert_ptr_equal(keys[i], want[i]);
            assert_int_equal(klens[i], wlens[i]);
        }
        text_free(&enc);
    }
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = st_rng_below(&r, 200);
        uint8_t *g = malloc(len ? len : 1);
        assert_non_null(g);
        static const char alphabet[] = "*$\r\n0123GETget";
        for (size_t k = 0; k < len; k++)
            g[k] = st_rng_below(&r, 2) ? (uint8_t)alphabet[st_rng_below(&r, sizeof alphabet - 1)] : (uint8_t)st_rng_next(&r);
        const uint8_t *keys[8];
        size_t klens[8];
        size_t n = resp_scan_gets(g, len, 100, 8, keys, klens);
        assert_true(n <= 8);
        for (size_t i = 0; i < n; i++) assert_true(keys[i] >= g && keys[i] + klens[i] <= g + len);
        free(g);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk_command_yields_its_arguments),
        cmocka_unit_test(test_pipelined_commands_parse_one_at_a_time),
        cmocka_unit_test(test_empty_multibulk_requests_are_skipped),
        cmocka_unit_test(test_binary_arguments_keep_nul_and_crlf),
        cmocka_unit_test(test_header_split_between_cr_and_lf_resumes),
        cmocka_unit_test(test_frame_split_at_every_byte_across_two_feeds),
        cmocka_unit_test(test_frame_split_at_every_byte_pair_across_three_feeds),
        cmocka_unit_test(test_byte_at_a_time_feed_matches_whole_feed),
        cmocka_unit_test(test_inline_command_splits_on_blanks),
        cmocka_unit_test(test_inline_quotes_and_escapes_follow_sdssplitargs),
        cmocka_unit_test(test_inline_unbalanced_quotes_are_protocol_errors),
        cmocka_unit_test(test_inline_nul_ends_the_line_words),
        cmocka_unit_test(test_empty_inline_lines_are_skipped),
        cmocka_unit_test(test_invalid_multibulk_lengths_are_rejected),
        cmocka_unit_test(test_invalid_bulk_lengths_are_rejected),
        cmocka_unit_test(test_missing_dollar_names_the_byte),
        cmocka_unit_test(test_overlong_lines_are_rejected),
        cmocka_unit_test(test_unauthenticated_limits_apply_until_lifted),
        cmocka_unit_test(test_limits_change_at_runtime),
        cmocka_unit_test(test_big_bulk_reports_bytes_wanted),
        cmocka_unit_test(test_huge_claimed_lengths_do_not_overflow_or_allocate),
        cmocka_unit_test(test_random_garbage_never_breaks_the_parser),
        cmocka_unit_test(test_random_valid_pipelines_round_trip),
        cmocka_unit_test(test_scan_gets_collects_pipelined_get_keys),
        cmocka_unit_test(test_scan_gets_agrees_with_the_parser_and_survives_garbage),
    };
    return cmocka_run_group_tests_name("resp", tests, NULL, NULL);
}
