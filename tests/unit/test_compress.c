/* test_compress.c -- lz4/zstd block compression: round trips, the 12.5% rule, corrupt payloads. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "strata/st_status.h"
#include "table/compress.h"
#include "util/coding.h"

static const st_codec codecs[] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};

/* Text-like bytes that compress well. */
static void fill_compressible(uint8_t *p, size_t n, st_rng *r) {
    static const char *words[] = {"alpha ", "beta ", "gamma ", "delta ", "user:", "1234 "};
    size_t i = 0;
    while (i < n) {
        const char *w = words[st_rng_below(r, 6)];
        for (size_t j = 0; w[j] && i < n; j++) p[i++] = (uint8_t)w[j];
    }
}

static void fill_random(uint8_t *p, size_t n, st_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)st_rng_next(r);
}

static void round_trip(st_codec codec, st_slice raw, st_codec *used, size_t *stored_len) {
    st_buf stored, back;
    st_buf_init(&stored);
    st_buf_init(&back);
    assert_int_equal(st_buf_append(&stored, "pre", 3), 0); /* st_compress appends */
    assert_int_equal(st_compress(codec, 3, raw, &stored, used), 0);
    st_slice s = st_slice_make(stored.data + 3, stored.len - 3);
    assert_int_equal(st_buf_append(&back, "x", 1), 0); /* st_decompress appends */
    assert_int_equal(st_decompress(*used, s, &back), 0);
    assert_int_equal(back.len, raw.len + 1);
    if (raw.len) assert_memory_equal(back.data + 1, raw.data, raw.len);
    *stored_len = s.len;
    st_buf_destroy(&stored);
    st_buf_destroy(&back);
}

static void test_compressible_data_round_trips_with_every_codec(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed(__func__, 11));
    static const size_t sizes[] = {1, 100, 4096, 65536, 1 << 20};
    for (size_t c = 0; c < 3; c++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint8_t *p = malloc(sizes[i]);
            assert_non_null(p);
            fill_compressible(p, sizes[i], &r);
            st_codec used;
            size_t stored;
            round_trip(codecs[c], st_slice_make(p, sizes[i]), &used, &stored);
            if (codecs[c] == ST_CODEC_NONE || sizes[i] < 100) {
                assert_int_equal(used, ST_CODEC_NONE);
            } else {
                assert_int_equal(used, codecs[c]);
                assert_true(stored < sizes[i] - sizes[i] / 8);
            }
            free(p);
        }
    }
}

static void test_empty_input_is_stored_raw(void **state) {
    (void)state;
    for (size_t c = 0; c < 3; c++) {
        st_codec used;
        size_t stored;
        round_trip(codecs[c], st_slice_make(NULL, 0), &used, &stored);
        assert_int_equal(used, ST_CODEC_NONE);
        assert_int_equal(stored, 0);
    }
}

static void test_incompressible_data_stays_codec_none(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed(__func__, 12));
    uint8_t p[16384];
    fill_random(p, sizeof p, &r);
    for (size_t c = 1; c < 3; c++) {
        st_codec used;
        size_t stored;
        round_trip(codecs[c], st_slice_make(p, sizeof p), &used, &stored);
        assert_int_equal(used, ST_CODEC_NONE);
        assert_int_equal(stored, sizeof p);
    }
}

/* Payload = a compressible prefix + a random tail; the compressed size rises as the prefix shrinks.
 * Wherever the codec ends up, it is kept exactly when stored < raw - raw/8. */
static void test_compressed_form_is_kept_only_when_it_saves_an_eighth(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed(__func__, 13));
    const size_t n = 8192;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t c = 1; c < 3; c++) {
        bool saw_kept = false, saw_dropped = false;
        for (size_t zeros = 0; zeros <= n; zeros += 64) {
            memset(p, 0, zeros);
            fill_random(p + zeros, n - zeros, &r);
            st_slice raw = st_slice_make(p, n);
            /* The compressed size, ignoring the rule: what the codec produces on its own. */
            st_buf out;
            st_buf_init(&out);
            st_codec used;
            assert_int_equal(st_compress(codecs[c], 3, raw, &out, &used), 0);
            if (used == codecs[c]) {
                assert_true(out.len < n - n / 8);
                saw_kept = true;
            } else {
                assert_int_equal(used, ST_CODEC_NONE);
                assert_int_equal(out.len, n);
                saw_dropped = true;
            }
            st_buf_destroy(&out);
        }
        assert_true(saw_kept && saw_dropped);
    }
    free(p);
}

/* What the codec produces on its own, plus the varint32 raw-length prefix. */
static size_t codec_stored_len(st_codec codec, const uint8_t *p, size_t n) {
    size_t cap = ZSTD_compressBound(n) + (size_t)LZ4_compressBound((int)n);
    uint8_t *dst = malloc(cap);
    assert_non_null(dst);
    size_t out;
    if (codec == ST_CODEC_LZ4) {
        int r = LZ4_compress_default((const char *)p, (char *)dst, (int)n, (int)cap);
        assert_true(r > 0);
        out = (size_t)r;
    } else {
        out = ZSTD_compress(dst, cap, p, n, 3);
        assert_false(ZSTD_isError(out));
    }
    free(dst);
    return (size_t)st_varint_len(n) + out;
}

/* The boundary itself: stored == raw - raw/8 is stored raw, one byte less is kept. Inputs are a
 * run of 'a' then random bytes; the tail length moves the codec's output a byte or so at a time,
 * so a search over tail lengths (and a few raw sizes) lands on both sides exactly. */
static void test_twelve_and_a_half_percent_boundary_is_exclusive(void **state) {
    (void)state;
    uint64_t seed = st_test_seed(__func__, 14);
    for (size_t c = 1; c < 3; c++) {
        bool hit_at = false, hit_below = false;
        for (size_t n = 4096; n < 4096 + 64 && !(hit_at && hit_below); n++) {
            uint8_t *p = malloc(n);
            assert_non_null(p);
            size_t limit = n - n / 8;
            for (size_t tail = n / 2; tail <= n; tail++) {
                st_rng r;
                st_rng_seed(&r, seed + tail);
                memset(p, 'a', n - tail);
                fill_random(p + (n - tail), tail, &r);
                size_t want = codec_stored_len(codecs[c], p, n);
                if (want != limit && want != limit - 1) continue;
                st_buf out;
                st_buf_init(&out);
                st_codec used;
                assert_int_equal(st_compress(codecs[c], 3, st_slice_make(p, n), &out, &used), 0);
                if (want == limit) {
                    assert_int_equal(used, ST_CODEC_NONE);
                    assert_int_equal(out.len, n);
                    hit_at = true;
                } else {
                    assert_int_equal(used, codecs[c]);
                    assert_int_equal(out.len, limit - 1);
                    hit_below = true;
                }
                st_buf_destroy(&out);
            }
            free(p);
        }
        assert_true(hit_at);
        assert_true(hit_below);
    }
}

static void corrupt_case(st_codec codec, const uint8_t *stored, size_t len) {
    st_buf out;
    st_buf_init(&out);
    assert_int_equal(st_buf_append(&out, "keep", 4), 0);
    assert_int_equal(st_decompress(codec, st_slice_make(stored, len), &out), ST_ECORRUPT);
    assert_int_equal(out.len, 4);
    assert_true(strlen(st_errmsg()) > 0);
    st_buf_destroy(&out);
}

static void test_corrupt_payload_is_ecorrupt(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed(__func__, 15));
    uint8_t raw[4096];
    fill_compressible(raw, sizeof raw, &r);
    for (size_t c = 1; c < 3; c++) {
        st_buf s;
        st_buf_init(&s);
        st_codec used;
        assert_int_equal(st_compress(codecs[c], 3, st_slice_make(raw, sizeof raw), &s, &used), 0);
        assert_int_equal(used, codecs[c]);
        /* truncated payload */
        corrupt_case(codecs[c], s.data, s.len - 5);
        corrupt_case(codecs[c], s.data, 1);
        corrupt_case(codecs[c], s.data, 0);
        /* raw length that disagrees with the payload, both ways */
        uint8_t *m = malloc(s.len + 8);
        assert_non_null(m);
        uint8_t *q = st_put_varint32(m, sizeof raw + 1);
        memcpy(q, s.data + 2, s.len - 2); /* 4096 takes 2 varint bytes */
        corrupt_case(codecs[c], m, (size_t)(q - m) + s.len - 2);
        q = st_put_varint32(m, sizeof raw - 1);
        memcpy(q, s.data + 2, s.len - 2);
        corrupt_case(codecs[c], m, (size_t)(q - m) + s.len - 2);
        /* absurd and zero raw lengths */
        q = st_put_varint32(m, 1u << 30);
        memcpy(q, s.data + 2, s.len - 2);
        corrupt_case(codecs[c], m, (size_t)(q - m) + s.len - 2);
        q = st_put_varint32(m, 0);
        corrupt_case(codecs[c], m, (size_t)(q - m));
        /* garbage after a valid header */
        memcpy(m, s.data, 2);
        fill_random(m + 2, s.len - 2, &r);
        corrupt_case(codecs[c], m, s.len);
        free(m);
        st_buf_destroy(&s);
    }
    uint8_t junk[4] = {1, 2, 3, 4};
    corrupt_case((st_codec)3, junk, sizeof junk); /* unknown codec */
}

static void test_unknown_codec_on_compress_is_einval(void **state) {
    (void)state;
    st_buf out;
    st_buf_init(&out);
    st_codec used;
    assert_int_equal(st_compress((st_codec)9, 0, st_slice_str("abc"), &out, &used), ST_EINVAL);
    assert_int_equal(out.len, 0);
    st_buf_destroy(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compressible_data_round_trips_with_every_codec),
        cmocka_unit_test(test_empty_input_is_stored_raw),
        cmocka_unit_test(test_incompressible_data_stays_codec_none),
        cmocka_unit_test(test_compressed_form_is_kept_only_when_it_saves_an_eighth),
        cmocka_unit_test(test_twelve_and_a_half_percent_boundary_is_exclusive),
        cmocka_unit_test(test_corrupt_payload_is_ecorrupt),
        cmocka_unit_test(test_unknown_codec_on_compress_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
