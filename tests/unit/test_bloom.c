/* test_bloom.c -- the cache-local bloom filter: no false negatives, FP rate, malformed filters. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "table/bloom.h"
#include "table/sstable_format.h"
#include "util/hash.h"

static uint64_t key_hash(const char *prefix, uint64_t i) {
    char k[64];
    int n = snprintf(k, sizeof k, "%s%llu", prefix, (unsigned long long)i);
    assert_true(n > 0 && n < 32);
    return st_hash64(k, (size_t)n & 31); /* the mask tells the compiler n is small */
}

static void build(st_buf *out, int bits_per_key, const char *prefix, size_t n) {
    st_bloom_builder b;
    st_bloom_builder_init(&b, bits_per_key);
    for (size_t i = 0; i < n; i++) assert_int_equal(st_bloom_builder_add(&b, key_hash(prefix, i)), 0);
    assert_int_equal(st_bloom_builder_count(&b), n);
    assert_int_equal(st_bloom_builder_finish(&b, out), 0);
    st_bloom_builder_destroy(&b);
}

static void test_probe_count_is_rounded_and_clamped(void **state) {
    (void)state;
    assert_int_equal(st_bloom_probes(0), 1);
    assert_int_equal(st_bloom_probes(1), 1);
    assert_int_equal(st_bloom_probes(10), 7);
    assert_int_equal(st_bloom_probes(16), 11);
    assert_int_equal(st_bloom_probes(100), 30);
}

static void test_no_false_negatives_for_10k_keys(void **state) {
    (void)state;
    static const int bits[] = {1, 4, 10, 20};
    for (size_t b = 0; b < 4; b++) {
        st_buf f;
        st_buf_init(&f);
        build(&f, bits[b], "key", 10000);
        size_t lines = (10000u * (size_t)bits[b] + 511) / 512;
        assert_int_equal(f.len, lines * ST_BLOOM_LINE_BYTES + ST_BLOOM_TRAILER_BYTES);
        for (uint64_t i = 0; i < 10000; i++) assert_true(st_bloom_may_contain(st_buf_slice(&f), key_hash("key", i)));
        st_buf_destroy(&f);
    }
}

static void test_false_positive_rate_at_10_bits_is_near_one_percent(void **state) {
    (void)state;
    st_buf f;
    st_buf_init(&f);
    build(&f, 10, "present-", 100000);
    size_t fp = 0;
    for (uint64_t i = 0; i < 100000; i++) fp += st_bloom_may_contain(st_buf_slice(&f), key_hash("absent-", i));
    double rate = (double)fp / 100000.0;
    printf("bloom 10 bits/key: %zu false positives in 100000 (%.3f%%)\n", fp, rate * 100);
    assert_true(rate >= 0.003 && rate <= 0.02);
    st_buf_destroy(&f);
}

static void test_consecutive_duplicate_hashes_are_added_once(void **state) {
    (void)state;
    st_bloom_builder b;
    st_bloom_builder_init(&b, 10);
    for (int i = 0; i < 5; i++) assert_int_equal(st_bloom_builder_add(&b, 42), 0);
    assert_int_equal(st_bloom_builder_add(&b, 43), 0);
    assert_int_equal(st_bloom_builder_add(&b, 42), 0);
    assert_int_equal(st_bloom_builder_count(&b), 3);
    st_bloom_builder_destroy(&b);
}

static void test_empty_filter_answers_absent(void **state) {
    (void)state;
    st_buf f;
    st_buf_init(&f);
    build(&f, 10, "none", 0);
    assert_int_equal(f.len, ST_BLOOM_LINE_BYTES + ST_BLOOM_TRAILER_BYTES);
    assert_false(st_bloom_may_contain(st_buf_slice(&f), key_hash("x", 1)));
    st_buf_destroy(&f);
}

static void test_malformed_filter_answers_maybe(void **state) {
    (void)state;
    st_buf f;
    st_buf_init(&f);
    build(&f, 10, "key", 1000);
    /* Find an absent key the good filter rejects, then damage the trailer in each field. */
    uint64_t absent = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        if (!st_bloom_may_contain(st_buf_slice(&f), key_hash("absent", i))) {
            absent = key_hash("absent", i);
            break;
        }
    }
    assert_false(st_bloom_may_contain(st_buf_slice(&f), absent));
    size_t t = f.len - ST_BLOOM_TRAILER_BYTES;
    struct { size_t off; uint8_t v; } cases[] = {
        {t + 0, 0xff},  /* line count disagrees with the length */
        {t + 4, 0},     /* zero probes */
        {t + 4, 31},    /* too many probes */
        {t + 5, 2},     /* unknown kind */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t saved = f.data[cases[i].off];
        f.data[cases[i].off] = cases[i].v;
        assert_true(st_bloom_may_contain(st_buf_slice(&f), absent));
        f.data[cases[i].off] = saved;
    }
    for (size_t len = 0; len < ST_BLOOM_TRAILER_BYTES + 2; len++)
        assert_true(st_bloom_may_contain(st_slice_make(f.data, len), absent));
    assert_true(st_bloom_may_contain(st_slice_make(f.data, f.len - 1), absent));
    /* zero lines */
    uint8_t zero_lines[ST_BLOOM_TRAILER_BYTES] = {0, 0, 0, 0, 7, ST_BLOOM_KIND_LOCAL512};
    assert_true(st_bloom_may_contain(st_slice_make(zero_lines, sizeof zero_lines), absent));
    st_buf_destroy(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_count_is_rounded_and_clamped),
        cmocka_unit_test(test_no_false_negatives_for_10k_keys),
        cmocka_unit_test(test_false_positive_rate_at_10_bits_is_near_one_percent),
        cmocka_unit_test(test_consecutive_duplicate_hashes_are_added_once),
        cmocka_unit_test(test_empty_filter_answers_absent),
        cmocka_unit_test(test_malformed_filter_answers_maybe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
