/* test_block.c -- block builder and reader: round trips both ways, seeks and seek_for_prev,
 * next/prev alternation, restart intervals, corruption met moving either way. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strata/st_status.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "util/ikey.h"

#define NKEYS 500

/* Internal key i (user keys "user%06u" with every even i a second, older version of i-1's key). */
static void make_ikey(st_buf *b, unsigned i) {
    char u[32];
    int n = snprintf(u, sizeof u, "user%06u", i / 2);
    st_buf_clear(b);
    /* same user key: the higher seq (odd i - 1 ... ) sorts first */
    assert_int_equal(st_ikey_append(b, st_slice_make(u, (size_t)n), 1000000 - i, ST_KIND_PUT), 0);
}

static void make_value(st_buf *b, unsigned i) {
    st_buf_clear(b);
    for (unsigned j = 0; j < i % 37; j++) assert_int_equal(st_buf_append(b, &(uint8_t){(uint8_t)(i + j)}, 1), 0);
}

typedef struct built {
    st_block_builder bb;
    st_slice contents;
    st_block blk;
} built;

static void build_block(built *bt, int restart_interval, unsigned n) {
    st_block_builder_init(&bt->bb, restart_interval);
    assert_true(st_block_builder_empty(&bt->bb));
    st_buf k, v;
    st_buf_init(&k);
    st_buf_init(&v);
    for (unsigned i = 0; i < n; i++) {
        make_ikey(&k, i);
        make_value(&v, i);
        size_t before = st_block_builder_size_estimate(&bt->bb);
        assert_int_equal(st_block_builder_add(&bt->bb, st_buf_slice(&k), st_buf_slice(&v)), 0);
        assert_true(st_block_builder_size_estimate(&bt->bb) > before);
    }
    size_t est = st_block_builder_size_estimate(&bt->bb);
    assert_int_equal(st_block_builder_finish(&bt->bb, &bt->contents), 0);
    assert_int_equal(bt->contents.len, est);
    assert_int_equal(st_block_init(&bt->blk, bt->contents), 0);
    assert_int_equal(bt->blk.nrestarts, n ? (n + (unsigned)restart_interval - 1) / (unsigned)restart_interval : 1);
    st_buf_destroy(&k);
    st_buf_destroy(&v);
}

static void check_entry(st_iter *it, unsigned i, st_buf *k, st_buf *v) {
    assert_true(st_iter_valid(it));
    make_ikey(k, i);
    make_value(v, i);
    st_slice key = st_iter_key(it), val = st_iter_value(it);
    assert_int_equal(key.len, k->len);
    assert_memory_equal(key.data, k->data, k->len);
    assert_int_equal(val.len, v->len);
    if (v->len) assert_memory_equal(val.data, v->data, v->len);
}

/* The reverse half of round_trip, over the same NKEYS entries. */
static void backward(st_iter *it, int restart_interval) {
    st_buf k, v;
    st_buf_init(&k);
    st_buf_init(&v);
    unsigned i = NKEYS;
    for (st_iter_seek_last(it); st_iter_valid(it); st_iter_prev(it)) check_entry(it, --i, &k, &v);
    assert_int_equal(i, 0);
    assert_int_equal(st_iter_status(it), 0);

    /* seek_for_prev to every key lands on it */
    for (i = 0; i < NKEYS; i++) {
        make_ikey(&k, i);
        st_iter_seek_for_prev(it, st_buf_slice(&k));
        check_entry(it, i, &k, &v);
    }
    /* between keys: above every version of user key i/2 is the previous user key's last version;
     * below every version (tag 0) is the user key's last version */
    for (i = 0; i < NKEYS; i += 2) {
        char u[32];
        int n = snprintf(u, sizeof u, "user%06u", i / 2);
        st_buf_clear(&k);
        assert_int_equal(st_ikey_append(&k, st_slice_make(u, (size_t)n), ST_SEQ_MAX, ST_KIND_SEEK), 0);
        st_iter_seek_for_prev(it, st_buf_slice(&k));
        if (i > 0) check_entry(it, i - 1, &k, &v);
        else assert_false(st_iter_valid(it));
        st_buf_clear(&k);
        assert_int_equal(st_ikey_append(&k, st_slice_make(u, (size_t)n), 0, 0), 0);
        st_iter_seek_for_prev(it, st_buf_slice(&k));
        check_entry(it, i + 1, &k, &v);
    }
    /* before the first and past the end */
    st_buf_clear(&k);
    assert_int_equal(st_ikey_append(&k, st_slice_str("a"), 1, ST_KIND_PUT), 0);
    st_iter_seek_for_prev(it, st_buf_slice(&k));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_buf_clear(&k);
    assert_int_equal(st_ikey_append(&k, st_slice_str("zzz"), 1, ST_KIND_PUT), 0);
    st_iter_seek_for_prev(it, st_buf_slice(&k));
    check_entry(it, NKEYS - 1, &k, &v);

    /* A random walk of next and prev from a random start, across restart points. */
    st_rng r;
    st_rng_seed(&r, st_test_seed("block_backward", 600 + (uint64_t)restart_interval));
    long pos = (long)st_rng_below(&r, NKEYS);
    make_ikey(&k, (unsigned)pos);
    st_iter_seek(it, st_buf_slice(&k));
    for (int step = 0; step < 3000; step++) {
        if (pos < 0 || pos >= NKEYS) {
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), 0);
            pos = (long)st_rng_below(&r, NKEYS);
            make_ikey(&k, (unsigned)pos);
            st_iter_seek_for_prev(it, st_buf_slice(&k));
        }
        check_entry(it, (unsigned)pos, &k, &v);
        if (st_rng_below(&r, 2)) {
            st_iter_prev(it);
            pos--;
        } else {
            st_iter_next(it);
            pos++;
        }
    }
    st_buf_destroy(&k);
    st_buf_destroy(&v);
}

static void round_trip(int restart_interval) {
    built bt;
    build_block(&bt, restart_interval, NKEYS);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&bt.blk, ST_BLOCK_IKEY, NULL, &it), 0);
    st_buf k, v;
    st_buf_init(&k);
    st_buf_init(&v);

    unsigned i = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), i++) check_entry(it, i, &k, &v);
    assert_int_equal(i, NKEYS);
    assert_int_equal(st_iter_status(it), 0);

    /* seek to every key lands on it */
    for (i = 0; i < NKEYS; i++) {
        make_ikey(&k, i);
        st_iter_seek(it, st_buf_slice(&k));
        check_entry(it, i, &k, &v);
    }
    /* between keys: a newer version of key i's user key (seq above all) lands on the first
     * version of that user key; an older one than the last version lands on the next user key */
    for (i = 0; i < NKEYS; i += 2) {
        char u[32];
        int n = snprintf(u, sizeof u, "user%06u", i / 2);
        st_buf_clear(&k);
        assert_int_equal(st_ikey_append(&k, st_slice_make(u, (size_t)n), ST_SEQ_MAX, ST_KIND_SEEK), 0);
        st_iter_seek(it, st_buf_slice(&k));
        check_entry(it, i, &k, &v);
        st_buf_clear(&k);
        assert_int_equal(st_ikey_append(&k, st_slice_make(u, (size_t)n), 0, ST_KIND_DEL), 0);
        st_iter_seek(it, st_buf_slice(&k));
        if (i + 2 < NKEYS) check_entry(it, i + 2, &k, &v);
        else assert_false(st_iter_valid(it));
    }
    /* before the first and past the end */
    st_buf_clear(&k);
    assert_int_equal(st_ikey_append(&k, st_slice_str("a"), 1, ST_KIND_PUT), 0);
    st_iter_seek(it, st_buf_slice(&k));
    check_entry(it, 0, &k, &v);
    st_buf_clear(&k);
    assert_int_equal(st_ikey_append(&k, st_slice_str("zzz"), 1, ST_KIND_PUT), 0);
    st_iter_seek(it, st_buf_slice(&k));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);

    backward(it, restart_interval);
    st_iter_free(it);
    st_buf_destroy(&k);
    st_buf_destroy(&v);
    st_block_builder_destroy(&bt.bb);
}

static void test_round_trip_and_seeks_with_restart_interval_16(void **state) {
    (void)state;
    round_trip(16);
}

static void test_round_trip_and_seeks_with_restart_interval_1(void **state) {
    (void)state;
    round_trip(1);
}

static void test_round_trip_and_seeks_with_restart_interval_7(void **state) {
    (void)state;
    round_trip(7);
}

static void test_empty_block_has_no_entries(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 16, 0);
    assert_int_equal(bt.contents.len, 8);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&bt.blk, ST_BLOCK_IKEY, NULL, &it), 0);
    st_iter_seek_first(it);
    assert_false(st_iter_valid(it));
    st_buf k;
    st_buf_init(&k);
    assert_int_equal(st_ikey_append(&k, st_slice_str("a"), 1, ST_KIND_PUT), 0);
    st_iter_seek(it, st_buf_slice(&k));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_seek_last(it);
    assert_false(st_iter_valid(it));
    st_iter_seek_for_prev(it, st_buf_slice(&k));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_buf_destroy(&k);
    st_block_builder_destroy(&bt.bb);
}

static void test_reset_builds_an_independent_block(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 4, 50);
    st_block_builder_reset(&bt.bb);
    assert_true(st_block_builder_empty(&bt.bb));
    assert_int_equal(st_block_builder_add(&bt.bb, st_slice_str("k1"), st_slice_str("v1")), 0);
    assert_int_equal(st_block_builder_add(&bt.bb, st_slice_str("k2"), st_slice_str("v2")), 0);
    st_slice c;
    assert_int_equal(st_block_builder_finish(&bt.bb, &c), 0);
    st_block blk;
    assert_int_equal(st_block_init(&blk, c), 0);
    st_slice v;
    assert_int_equal(st_block_find(&blk, st_slice_str("k2"), &v), 0);
    assert_int_equal(v.len, 2);
    assert_memory_equal(v.data, "v2", 2);
    assert_int_equal(st_block_find(&blk, st_slice_str("k3"), &v), ST_ENOTFOUND);
    assert_int_equal(st_block_find(&blk, st_slice_str("k"), &v), ST_ENOTFOUND);
    st_block_builder_destroy(&bt.bb);
}

static void test_bytewise_order_serves_names(void **state) {
    (void)state;
    st_block_builder bb;
    st_block_builder_init(&bb, 1);
    static const char *names[] = {"filter", "properties", "zeta"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(st_block_builder_add(&bb, st_slice_str(names[i]), st_slice_str(names[i])), 0);
    st_slice c;
    assert_int_equal(st_block_builder_finish(&bb, &c), 0);
    st_block blk;
    assert_int_equal(st_block_init(&blk, c), 0);
    for (int i = 0; i < 3; i++) {
        st_slice v;
        assert_int_equal(st_block_find(&blk, st_slice_str(names[i]), &v), 0);
        assert_int_equal(v.len, strlen(names[i]));
    }
    st_block_builder_destroy(&bb);
}

/* Copies the block so a test can damage it. */
static uint8_t *copy_of(st_slice c) {
    uint8_t *p = malloc(c.len);
    assert_non_null(p);
    memcpy(p, c.data, c.len);
    return p;
}

static void test_corrupt_restart_array_is_ecorrupt(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 16, 100);
    size_t n = bt.contents.len;
    uint32_t nr = bt.blk.nrestarts;
    st_block blk;
    uint8_t *p = copy_of(bt.contents);

    static const uint32_t bad_counts[] = {0, 1u << 20, 0xffffffffu};
    for (size_t i = 0; i < 3; i++) {
        st_put_fixed32(p + n - 4, bad_counts[i]);
        assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), ST_ECORRUPT);
    }
    /* a count one too large turns an entry byte into a restart offset: out of order/bounds */
    st_put_fixed32(p + n - 4, nr + 1);
    assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), ST_ECORRUPT);
    memcpy(p, bt.contents.data, n);
    /* first restart not 0; a restart past the entries; restarts out of order */
    size_t roff = n - 4 - 4 * (size_t)nr;
    st_put_fixed32(p + roff, 3);
    assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), ST_ECORRUPT);
    memcpy(p, bt.contents.data, n);
    st_put_fixed32(p + roff + 4, (uint32_t)roff);
    assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), ST_ECORRUPT);
    memcpy(p, bt.contents.data, n);
    st_put_fixed32(p + roff + 8, st_get_fixed32(p + roff + 4));
    assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), ST_ECORRUPT);
    /* too short to hold a count and a restart */
    for (size_t len = 0; len < 8; len++) assert_int_equal(st_block_init(&blk, st_slice_make(p, len)), ST_ECORRUPT);
    free(p);
    st_block_builder_destroy(&bt.bb);
}

/* Damaging entry bytes (the restart array intact) must never read out of bounds: each walk either
 * stays well-formed or ends with ST_ECORRUPT. A restart pointing mid-entry or a varint that runs
 * into the restart array are the interesting cases; ASan checks the bounds. */
static void test_malformed_entries_make_the_iterator_invalid_with_ecorrupt(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 16, 200);
    size_t n = bt.contents.len, roff = bt.blk.restarts_off;
    st_rng r;
    st_rng_seed(&r, st_test_seed(__func__, 21));
    st_buf k;
    st_buf_init(&k);
    size_t corrupt = 0, corrupt_back = 0;
    for (int round = 0; round < 2000; round++) {
        uint8_t *p = copy_of(bt.contents);
        size_t off = st_rng_below(&r, roff);
        p[off] = (uint8_t)st_rng_next(&r);
        if (round % 3 == 0) p[st_rng_below(&r, roff)] = 0xff; /* long varints */
        st_block blk;
        assert_int_equal(st_block_init(&blk, st_slice_make(p, n)), 0); /* restart array untouched */
        st_iter *it;
        assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, p, &it), 0); /* takes p */
        size_t steps = 0;
        for (st_iter_seek_first(it); st_iter_valid(it) && steps < 1000; st_iter_next(it)) steps++;
        assert_true(steps < 1000);
        int st = st_iter_status(it);
        assert_true(st == 0 || st == ST_ECORRUPT);
        corrupt += st != 0;
        make_ikey(&k, (unsigned)st_rng_below(&r, 200));
        st_iter_seek(it, st_buf_slice(&k));
        st = st_iter_status(it);
        assert_true(st == 0 || st == ST_ECORRUPT);
        if (st) assert_false(st_iter_valid(it));
        /* Backward: each prev lands strictly before the entry it left, so the walk ends. */
        steps = 0;
        for (st_iter_seek_last(it); st_iter_valid(it) && steps < 1000; st_iter_prev(it)) steps++;
        assert_true(steps < 1000);
        st = st_iter_status(it);
        assert_true(st == 0 || st == ST_ECORRUPT);
        corrupt_back += st != 0;
        st_iter_seek_for_prev(it, st_buf_slice(&k));
        st = st_iter_status(it);
        assert_true(st == 0 || st == ST_ECORRUPT);
        if (st) assert_false(st_iter_valid(it));
        st_iter_free(it);
    }
    printf("%zu of 2000 damaged blocks detected by structure alone (checksums catch the rest), %zu backward\n",
           corrupt, corrupt_back);
    assert_true(corrupt > 0);
    assert_true(corrupt_back > 0);
    st_buf_destroy(&k);
    st_block_builder_destroy(&bt.bb);
}

static void test_restart_entry_that_shares_a_prefix_is_ecorrupt(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 16, 100);
    uint8_t *p = copy_of(bt.contents);
    /* The second restart's first varint is its shared length: make it non-zero. */
    size_t r1 = st_get_fixed32(p + bt.blk.restarts_off + 4);
    p[r1] = 1;
    st_block blk;
    assert_int_equal(st_block_init(&blk, bt.contents), 0);
    blk.data = p;
    st_iter *it;
    assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, p, &it), 0);
    st_buf k;
    st_buf_init(&k);
    make_ikey(&k, 20); /* the binary search visits restart 1 */
    st_iter_seek(it, st_buf_slice(&k));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_ECORRUPT);
    /* a seek resets the status: seeking to the first key works again */
    st_iter_seek_first(it);
    assert_true(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_buf_destroy(&k);
    st_block_builder_destroy(&bt.bb);
}

/* A restart offset that points inside an entry (the restart array still in order) is met only by
 * a backward step, which must report it rather than decode from there. */
static void test_prev_from_a_restart_inside_an_entry_is_ecorrupt(void **state) {
    (void)state;
    built bt;
    build_block(&bt, 16, 100);
    uint8_t *p = copy_of(bt.contents);
    size_t slot = bt.blk.restarts_off + 4; /* restart 1: entry 16 */
    st_put_fixed32(p + slot, st_get_fixed32(p + slot) + 1);
    st_block blk;
    assert_int_equal(st_block_init(&blk, st_slice_make(p, bt.contents.len)), 0);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, p, &it), 0); /* takes p */
    st_buf k, v;
    st_buf_init(&k);
    st_buf_init(&v);
    /* Forward never reads restarts once positioned: walk to entry 20, then step back. */
    st_iter_seek_first(it);
    for (unsigned i = 0; i < 20; i++) st_iter_next(it);
    check_entry(it, 20, &k, &v);
    st_iter_prev(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_ECORRUPT);
    /* Entry 16 itself lies after restart 0 only: its predecessor decodes from there. */
    st_iter_seek_first(it);
    for (unsigned i = 0; i < 16; i++) st_iter_next(it);
    st_iter_prev(it);
    check_entry(it, 15, &k, &v);
    assert_int_equal(st_iter_status(it), 0);
    /* seek_last (restart 6 is intact) works, and a seek clears the sticky status. */
    st_iter_seek_last(it);
    check_entry(it, 99, &k, &v);
    st_iter_free(it);
    st_buf_destroy(&k);
    st_buf_destroy(&v);
    st_block_builder_destroy(&bt.bb);
}

static void test_short_internal_keys_are_ecorrupt_and_short_targets_einval(void **state) {
    (void)state;
    st_block_builder bb;
    st_block_builder_init(&bb, 16);
    assert_int_equal(st_block_builder_add(&bb, st_slice_str("abc"), st_slice_str("v")), 0);
    st_slice c;
    assert_int_equal(st_block_builder_finish(&bb, &c), 0);
    st_block blk;
    assert_int_equal(st_block_init(&blk, c), 0);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, NULL, &it), 0);
    st_iter_seek_first(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_ECORRUPT);
    st_iter_seek(it, st_slice_str("ab"));
    assert_int_equal(st_iter_status(it), ST_EINVAL);
    st_iter_seek_last(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_ECORRUPT);
    st_iter_seek_for_prev(it, st_slice_str("ab"));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_EINVAL);
    st_iter_free(it);
    st_block_builder_destroy(&bb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_seeks_with_restart_interval_16),
        cmocka_unit_test(test_round_trip_and_seeks_with_restart_interval_1),
        cmocka_unit_test(test_round_trip_and_seeks_with_restart_interval_7),
        cmocka_unit_test(test_empty_block_has_no_entries),
        cmocka_unit_test(test_reset_builds_an_independent_block),
        cmocka_unit_test(test_bytewise_order_serves_names),
        cmocka_unit_test(test_corrupt_restart_array_is_ecorrupt),
        cmocka_unit_test(test_malformed_entries_make_the_iterator_invalid_with_ecorrupt),
        cmocka_unit_test(test_restart_entry_that_shares_a_prefix_is_ecorrupt),
        cmocka_unit_test(test_prev_from_a_restart_inside_an_entry_is_ecorrupt),
        cmocka_unit_test(test_short_internal_keys_are_ecorrupt_and_short_targets_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
