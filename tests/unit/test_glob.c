/* test_glob.c -- net/glob: Redis's stringmatchlen rules ('*', '?', classes with ranges and '^',
 * escapes, unclosed classes), binary safety, the nesting and backtracking guards, and the literal
 * prefix KEYS and SCAN scan by. Every pattern and string is copied into a heap buffer of its exact
 * length, so the sanitizer build catches any read past a view. */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"

static uint8_t *dup_exact(const void *p, size_t n) {
    uint8_t *d = malloc(n ? n : 1);
    assert_non_null(d);
    if (n) memcpy(d, p, n);
    return d;
}

static bool match_n(const void *pat, size_t pn, const void *str, size_t sn, bool nocase) {
    uint8_t *p = dup_exact(pat, pn), *s = dup_exact(str, sn);
    bool m = glob_match(p, pn, s, sn, nocase);
    free(p);
    free(s);
    return m;
}

static bool match(const char *pat, const char *str) { return match_n(pat, strlen(pat), str, strlen(str), false); }

static void prefix_is(const char *pat, const char *want) {
    size_t pn = strlen(pat);
    uint8_t *p = dup_exact(pat, pn), *out = malloc(pn ? pn : 1);
    assert_non_null(out);
    size_t n = glob_literal_prefix(p, pn, out);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    free(p);
    free(out);
}

static void test_glob_star_and_question_mark(void **state) {
    (void)state;
    assert_true(match("*", "anything"));
    assert_true(match("h?llo", "hello"));
    assert_true(match("h?llo", "hallo"));
    assert_false(match("h?llo", "hllo"));
    assert_true(match("h*llo", "hllo"));
    assert_true(match("h*llo", "heeeello"));
    assert_false(match("h*llo", "heeeellox"));
    assert_true(match("user:*", "user:"));
    assert_true(match("user:*", "user:42"));
    assert_false(match("user:*", "user"));
    assert_true(match("*:*:*", "a:b:c"));
    assert_true(match("a**b", "ab"));
    assert_true(match("a*b*", "axxbyy"));
    assert_false(match("a*b?", "axxb"));
    assert_true(match("abc", "abc"));
    assert_false(match("abc", "abcd"));
    assert_false(match("abcd", "abc"));
}

static void test_glob_empty_strings_follow_redis(void **state) {
    (void)state;
    /* stringmatchlen never enters its loop for an empty string: only "" matches it */
    assert_true(match("", ""));
    assert_false(match("*", ""));
    assert_false(match("**", ""));
    assert_false(match("", "a"));
    assert_true(glob_matches_all((const uint8_t *)"*", 1));
    assert_false(glob_matches_all((const uint8_t *)"**", 2));
    assert_false(glob_matches_all((const uint8_t *)"", 0));
    assert_false(glob_matches_all((const uint8_t *)"a*", 2));
}

static void test_glob_classes_ranges_and_negation(void **state) {
    (void)state;
    assert_true(match("h[ae]llo", "hello"));
    assert_true(match("h[ae]llo", "hallo"));
    assert_false(match("h[ae]llo", "hillo"));
    assert_true(match("h[^e]llo", "hallo"));
    assert_true(match("h[^e]llo", "hbllo"));
    assert_false(match("h[^e]llo", "hello"));
    assert_true(match("h[a-b]llo", "hallo"));
    assert_true(match("h[a-b]llo", "hbllo"));
    assert_false(match("h[a-b]llo", "hcllo"));
    assert_true(match("h[b-a]llo", "hallo")); /* reversed ends are swapped */
    assert_true(match("[0-9][0-9]", "42"));
    assert_false(match("[0-9][0-9]", "4x"));
    assert_true(match("[a-cx-z]", "y"));
    assert_false(match("[a-cx-z]", "m"));
    assert_true(match("[-a]", "-"));          /* '-' first is literal */
    assert_false(match("[a-]", "-"));         /* but "a-]" is the range a..] (swapped), unclosed */
    assert_true(match("[a-]", "_"));
    assert_false(match("[]", "]"));           /* "[]" is an empty class: it matches nothing */
    assert_true(match("[\\]]", "]"));         /* escaped ']' inside a class */
    assert_true(match("[\\-]", "-"));
    assert_false(match("[\\-]", "\\"));
    assert_true(match("[^a-z]x", "5x"));
    assert_false(match("[^a-z]x", "qx"));
}

static void test_glob_unclosed_class_takes_rest_of_pattern(void **state) {
    (void)state;
    assert_true(match("[abc", "a"));
    assert_true(match("[abc", "c"));
    assert_false(match("[abc", "d"));
    assert_false(match("[abc", "ab"));
    assert_false(match("x[", "x"));
    assert_true(match("[^", "a")); /* an empty negated class: any one byte */
    assert_false(match("[^", "ab"));
    assert_false(match("[a-", "b"));
    assert_true(match("[a-", "a"));
    assert_true(match("[\\", "\\"));
}

static void test_glob_escapes(void **state) {
    (void)state;
    assert_true(match("h\\*llo", "h*llo"));
    assert_false(match("h\\*llo", "hello"));
    assert_true(match("\\?", "?"));
    assert_false(match("\\?", "x"));
    assert_true(match("\\[a]", "[a]"));
    assert_true(match("a\\\\b", "a\\b"));
    assert_true(match("ab\\", "ab\\")); /* a trailing lone '\' is literal */
    assert_false(match("ab\\", "abc"));
}

static void test_glob_nocase(void **state) {
    (void)state;
    assert_true(match_n("HeLLo", 5, "hello", 5, true));
    assert_false(match_n("HeLLo", 5, "hello", 5, false));
    assert_true(match_n("[A-C]x", 6, "bX", 2, true));
    assert_false(match_n("[A-C]x", 6, "bX", 2, false));
    assert_true(match_n("[abc]", 5, "B", 1, true));
    assert_true(match_n("h*O", 3, "HELLO", 5, true));
}

static void test_glob_is_binary_safe(void **state) {
    (void)state;
    assert_true(match_n("a\0b", 3, "a\0b", 3, false));
    assert_false(match_n("a\0b", 3, "a\0c", 3, false));
    assert_true(match_n("a?b", 3, "a\0b", 3, false));
    assert_true(match_n("*\0", 2, "xyz\0", 4, false));
    assert_false(match_n("*\0", 2, "xyz", 3, false));
    /* range ends compare as signed chars, as redis-server on x86-64 */
    assert_true(match_n("[\x80-\xff]", 5, "\xc3", 1, false));
    assert_false(match_n("[\x80-\xff]", 5, "a", 1, false));
    assert_true(match_n("[a-\xff]", 5, "\0", 1, false)); /* the range \xff..a */
    assert_true(match_n("[a-\xff]", 5, "\xff", 1, false));
    assert_false(match_n("[a-\xff]", 5, "b", 1, false));
    assert_false(match_n("[a-\xff]", 5, "\xc3", 1, false));
    assert_true(match_n("\xff*", 2, "\xff\xfe", 2, false));
}

/* Redis's keyspace.tcl regression: a pattern of many "a*" against a long run of 'a' with no 'b'
 * must fail fast, not backtrack exponentially. */
static void test_glob_backtracking_is_bounded(void **state) {
    (void)state;
    char pat[256], str[128];
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    memset(str, 'a', 100);
    clock_t t0 = clock();
    assert_false(match_n(pat, n, str, 100, false));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
    str[100] = 'b';
    assert_true(match_n(pat, n, str, 101, false));
}

/* Deeper than 1000 nested '*' does not match (Redis 7's guard against stack exhaustion). */
static void test_glob_nesting_is_bounded(void **state) {
    (void)state;
    size_t stars = 1100;
    char *pat = malloc(2 * stars + 1), *str = malloc(stars + 1);
    assert_non_null(pat);
    assert_non_null(str);
    for (size_t i = 0; i < stars; i++) {
        pat[2 * i] = '*';
        pat[2 * i + 1] = 'a';
        str[i] = 'a';
    }
    assert_false(match_n(pat, 2 * stars, str, stars, false));
    /* 500 of them are within the bound */
    assert_true(match_n(pat, 2 * 500, str, 500, false));
    free(pat);
    free(str);
}

static void test_glob_literal_prefix_stops_at_first_special(void **state) {
    (void)state;
    prefix_is("user:*", "user:");
    prefix_is("user:?x", "user:");
    prefix_is("user:[ab]*", "user:");
    prefix_is("*", "");
    prefix_is("", "");
    prefix_is("abc", "abc");
    prefix_is("user\\*x*", "user*x");
    prefix_is("a\\[b?", "a[b");
    prefix_is("ab\\", "ab\\");
    prefix_is("a\\\\*", "a\\");
}

/* Random patterns over a small alphabet against random strings: no read outside a view (the
 * sanitizer build checks), and a string matches its own fully escaped form and the prefix of any
 * matching pattern is a prefix of the string. */
static void test_glob_random_patterns_are_safe_and_consistent(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("glob_random", 20240611));
    static const char alpha[] = "ab*?[]^-\\\0\xff";
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t pat[16], str[16], esc[32], pre[16];
        size_t pn = st_rng_below(&r, sizeof pat + 1), sn = st_rng_below(&r, sizeof str + 1), en = 0;
        for (size_t i = 0; i < pn; i++) pat[i] = (uint8_t)alpha[st_rng_below(&r, sizeof alpha - 1)];
        for (size_t i = 0; i < sn; i++) str[i] = (uint8_t)alpha[st_rng_below(&r, sizeof alpha - 1)];
        if (match_n(pat, pn, str, sn, false)) {
            size_t k = glob_literal_prefix(pat, pn, pre);
            assert_true(k <= sn);
            assert_memory_equal(pre, str, k);
        }
        (void)match_n(pat, pn, str, sn, true);
        for (size_t i = 0; i < sn; i++) {
            esc[en++] = '\\';
            esc[en++] = str[i];
        }
        assert_true(match_n(esc, en, str, sn, false));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_star_and_question_mark),
        cmocka_unit_test(test_glob_empty_strings_follow_redis),
        cmocka_unit_test(test_glob_classes_ranges_and_negation),
        cmocka_unit_test(test_glob_unclosed_class_takes_rest_of_pattern),
        cmocka_unit_test(test_glob_escapes),
        cmocka_unit_test(test_glob_nocase),
        cmocka_unit_test(test_glob_is_binary_safe),
        cmocka_unit_test(test_glob_backtracking_is_bounded),
        cmocka_unit_test(test_glob_nesting_is_bounded),
        cmocka_unit_test(test_glob_literal_prefix_stops_at_first_special),
        cmocka_unit_test(test_glob_random_patterns_are_safe_and_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
