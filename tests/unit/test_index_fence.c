/* test_index_fence.c -- the index fence must position exactly where a plain block seek does.
 *
 * Each case builds a restart-interval-1 block (as index blocks are written) from a sorted set of
 * internal keys, builds its fence, and checks st_index_fence_seek against st_iter_seek for every
 * stored key, its neighbours, other snapshots, and keys the fence cannot answer for (outside the
 * common prefix, shorter than it). Key sets cover the shapes that stress F1: long runs of keys
 * with equal fences, keys that differ only by length or trailing zero bytes, binary keys, and
 * several versions of one user key. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/st_status.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "table/index_fence.h"
#include "util/ikey.h"

#define MAXK 64

typedef struct ukey {
    uint8_t b[MAXK];
    size_t len;
    uint64_t seq;
} ukey;

/* Internal-key order: user key ascending, then seq descending. */
static int ukey_cmp(const void *pa, const void *pb) {
    const ukey *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->b, b->b, n);
    if (c) return c;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    return a->seq > b->seq ? -1 : (a->seq < b->seq ? 1 : 0);
}

static st_slice ikey_of(st_buf *buf, const uint8_t *k, size_t len, uint64_t seq, int kind) {
    st_buf_clear(buf);
    assert_int_equal(st_ikey_append(buf, st_slice_make(k, len), seq, kind), 0);
    return st_buf_slice(buf);
}

/* Sorts and dedups keys, builds the interval-1 block into bb, returns the block. */
static st_block build(st_block_builder *bb, ukey *keys, size_t *n, int interval) {
    qsort(keys, *n, sizeof *keys, ukey_cmp);
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        if (m == 0 || ukey_cmp(&keys[m - 1], &keys[i]) != 0) keys[m++] = keys[i];
    *n = m;
    st_block_builder_init(bb, interval);
    st_buf k;
    st_buf_init(&k);
    for (size_t i = 0; i < m; i++) {
        uint8_t v[8];
        st_put_fixed64(v, i);
        assert_int_equal(st_block_builder_add(bb, ikey_of(&k, keys[i].b, keys[i].len, keys[i].seq, ST_KIND_PUT),
                                              st_slice_make(v, 8)),
                         0);
    }
    st_buf_destroy(&k);
    st_slice contents;
    assert_int_equal(st_block_builder_finish(bb, &contents), 0);
    st_block blk;
    assert_int_equal(st_block_init(&blk, contents), 0);
    return blk;
}

/* The fence seek and the plain seek agree on target. Returns whether the fence answered. */
static bool check_target(const st_block *blk, const st_index_fence *f, st_slice target) {
    st_block_iter a, b;
    st_block_iter_init(&a, ST_BLOCK_IKEY);
    st_block_iter_init(&b, ST_BLOCK_IKEY);
    st_block_iter_set(&a, blk);
    st_block_iter_set(&b, blk);
    st_iter_seek(&a.base, target);
    st_index_fence_seek(f, &b, target);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_int_equal(a.valid, b.valid);
    if (a.valid) {
        assert_int_equal(a.cur, b.cur);
        assert_int_equal(a.key.len, b.key.len);
        assert_memory_equal(a.key.data, b.key.data, a.key.len);
        assert_int_equal(a.value.len, b.value.len);
    }
    uint32_t lo, hi;
    bool answered = target.len >= 8 && st_index_fence_range(f, target.data, target.len - 8, &lo, &hi);
    if (answered) {
        assert_true(lo <= hi);
        assert_true(hi <= f->n);
    }
    st_block_iter_destroy(&a);
    st_block_iter_destroy(&b);
    return answered;
}

/* Every stored key at three snapshots, each key's length +-1 byte variants, byte +-1 in the last
 * position, and `extra` random targets. Returns how many targets the fence answered. */
static size_t check_all(const st_block *blk, const st_index_fence *f, const ukey *keys, size_t n, unsigned seed,
                        size_t extra) {
    st_buf t;
    st_buf_init(&t);
    size_t answered = 0;
    uint64_t snaps[3] = {ST_SEQ_MAX, 50, 0};
    for (size_t i = 0; i < n; i++) {
        const ukey *k = &keys[i];
        for (int s = 0; s < 3; s++) answered += check_target(blk, f, ikey_of(&t, k->b, k->len, snaps[s], ST_KIND_SEEK));
        uint8_t v[MAXK + 1];
        memcpy(v, k->b, k->len);
        if (k->len) answered += check_target(blk, f, ikey_of(&t, v, k->len - 1, ST_SEQ_MAX, ST_KIND_SEEK));
        v[k->len] = 0;
        answered += check_target(blk, f, ikey_of(&t, v, k->len + 1, ST_SEQ_MAX, ST_KIND_SEEK));
        if (k->len) {
            v[k->len - 1] = (uint8_t)(k->b[k->len - 1] + 1);
            answered += check_target(blk, f, ikey_of(&t, v, k->len, ST_SEQ_MAX, ST_KIND_SEEK));
            v[k->len - 1] = (uint8_t)(k->b[k->len - 1] - 1);
            answered += check_target(blk, f, ikey_of(&t, v, k->len, ST_SEQ_MAX, ST_KIND_SEEK));
        }
    }
    srand(seed);
    for (size_t i = 0; i < extra; i++) {
        uint8_t v[MAXK];
        size_t len = (size_t)rand() % MAXK;
        size_t from = n ? (size_t)rand() % n : 0;
        size_t keep = n ? (size_t)rand() % (keys[from].len + 1) : 0; /* often a stored key's prefix */
        if (keep > len) len = keep;
        if (keep) memcpy(v, keys[from].b, keep);
        for (size_t j = keep; j < len; j++) v[j] = (uint8_t)(rand() % 4 == 0 ? 0 : rand());
        answered += check_target(blk, f, ikey_of(&t, v, len, (uint64_t)rand() % 100, ST_KIND_SEEK));
    }
    st_buf_destroy(&t);
    return answered;
}

/* n keys printf(fmt, i) (fmt takes one size_t), all at seq 9. The caller frees. */
static ukey *fmt_keys(size_t n, const char *fmt) {
    ukey *keys = calloc(n, sizeof *keys);
    assert_non_null(keys);
    for (size_t i = 0; i < n; i++) {
        keys[i].len = (size_t)snprintf((char *)keys[i].b, MAXK, fmt, i);
        keys[i].seq = 9;
    }
    return keys;
}

static void run_case(ukey *keys, size_t n, unsigned seed, size_t min_answered) {
    st_block_builder bb;
    st_block blk = build(&bb, keys, &n, 1);
    st_index_fence f;
    assert_int_equal(st_index_fence_build(&f, &blk), 0);
    assert_non_null(f.fence);
    assert_int_equal(f.n, n);
    assert_true(st_index_fence_memory(&f) >= n * sizeof(uint64_t));
    size_t answered = check_all(&blk, &f, keys, n, seed, 20000);
    assert_true(answered >= min_answered); /* the fence is really used, not always bypassed */
    st_index_fence_destroy(&f);
    st_block_builder_destroy(&bb);
}

static void test_numbered_keys(void **state) {
    (void)state;
    size_t n = 3000;
    ukey *keys = calloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[i].len = (size_t)snprintf((char *)keys[i].b, MAXK, "key:%012zu", i * 7);
        keys[i].seq = 100;
    }
    run_case(keys, n, 1, n * 3);
    free(keys);
}

/* After the common prefix, 20 bytes shared by runs of 50 keys: runs of equal fences. */
static void test_equal_fence_runs(void **state) {
    (void)state;
    size_t n = 2000;
    ukey *keys = calloc(n, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        keys[i].len = (size_t)snprintf((char *)keys[i].b, MAXK, "t/%c/aaaaaaaaaaaaaaaaaaaa/%05zu", 'a' + (int)(i / 50 % 26), i);
        keys[i].seq = 100 + i % 3;
    }
    run_case(keys, n, 2, n * 3);
    free(keys);
}

/* Keys that differ only in length and trailing zero bytes, several versions each. */
static void test_lengths_zero_bytes_and_versions(void **state) {
    (void)state;
    size_t n = 0;
    ukey *keys = calloc(4096, sizeof *keys);
    const char *stems[] = {"p", "pa", "pab", "pb", "pabcdefghij", "pabcdefgh", "pz"};
    for (size_t s = 0; s < sizeof stems / sizeof *stems; s++) {
        for (size_t zeros = 0; zeros < 10; zeros++) {
            for (uint64_t seq = 1; seq <= 3; seq++) {
                ukey *k = &keys[n++];
                k->len = strlen(stems[s]);
                memcpy(k->b, stems[s], k->len);
                memset(k->b + k->len, 0, zeros);
                k->len += zeros;
                k->seq = seq * 40;
            }
        }
    }
    run_case(keys, n, 3, n);
    free(keys);
}

static void test_random_binary_keys(void **state) {
    (void)state;
    size_t n = 4000;
    ukey *keys = calloc(n, sizeof *keys);
    srand(4);
    for (size_t i = 0; i < n; i++) {
        keys[i].len = 1 + (size_t)rand() % 20;
        for (size_t j = 0; j < keys[i].len; j++) keys[i].b[j] = (uint8_t)(rand() % 3 == 0 ? 0 : rand());
        keys[i].seq = (uint64_t)rand() % 100;
    }
    run_case(keys, n, 5, n);
    free(keys);
}

/* Blocks the fence cannot serve leave it disabled; seeks still answer as the block does: restart
 * interval 16, a single entry (nothing to narrow), no entry. */
static void test_disabled_for_other_blocks(void **state) {
    (void)state;
    static const struct { int interval; size_t n; } cases[] = {{16, 300}, {1, 1}, {1, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t n = cases[c].n;
        ukey *keys = fmt_keys(n ? n : 1, "k%05zu");
        st_block_builder bb;
        st_block blk = build(&bb, keys, &n, cases[c].interval);
        st_index_fence f;
        assert_int_equal(st_index_fence_build(&f, &blk), 0);
        assert_null(f.fence);
        assert_int_equal(st_index_fence_memory(&f), 0);
        assert_int_equal(check_all(&blk, &f, keys, n, 6 + (unsigned)c, 500), 0);
        st_index_fence_destroy(&f);
        st_block_builder_destroy(&bb);
        free(keys);
    }
}

/* A malformed entry fails the build with ST_ECORRUPT and leaves nothing allocated. */
static void test_malformed_block_is_ecorrupt(void **state) {
    (void)state;
    size_t n = 10;
    ukey *keys = fmt_keys(n, "m%03zu");
    st_block_builder bb;
    st_block blk = build(&bb, keys, &n, 1);
    uint8_t *copy = malloc(blk.restarts_off + 4 * (size_t)blk.nrestarts + 4);
    size_t len = blk.restarts_off + 4 * (size_t)blk.nrestarts + 4;
    memcpy(copy, blk.data, len);
    copy[st_block_restart_offset(&blk, 5)] = 3; /* "shares 3 bytes" at a restart point */
    st_block bad;
    assert_int_equal(st_block_init(&bad, st_slice_make(copy, len)), 0);
    st_index_fence f;
    assert_int_equal(st_index_fence_build(&f, &bad), ST_ECORRUPT);
    assert_null(f.fence);
    assert_null(f.prefix);
    free(copy);
    st_block_builder_destroy(&bb);
    free(keys);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbered_keys),
        cmocka_unit_test(test_equal_fence_runs),
        cmocka_unit_test(test_lengths_zero_bytes_and_versions),
        cmocka_unit_test(test_random_binary_keys),
        cmocka_unit_test(test_disabled_for_other_blocks),
        cmocka_unit_test(test_malformed_block_is_ecorrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
