/* test_memtable.c -- memtable gets at snapshots, tombstones, iteration order of internal keys
 * (forward, backward, and mixed), refcounting, odd keys, a random model comparison and a reader
 * racing the writer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem/memtable.h"
#include "strata/st_status.h"
#include "testutil.h"
#include "util/ikey.h"

static st_memtable *new_mem(void) {
    st_memtable *m;
    assert_int_equal(st_memtable_new(4096, &m), 0);
    return m;
}

static void put(st_memtable *m, uint64_t seq, const char *k, const char *v) {
    assert_int_equal(st_memtable_add(m, seq, ST_KIND_PUT, st_slice_str(k), st_slice_str(v)), 0);
}

static void del(st_memtable *m, uint64_t seq, const char *k) {
    assert_int_equal(st_memtable_add(m, seq, ST_KIND_DEL, st_slice_str(k), st_slice_make(NULL, 0)), 0);
}

/* Expects a PUT of v visible for k at snap (v NULL: a tombstone). */
static void expect_get(st_memtable *m, const char *k, uint64_t snap, const char *v) {
    int kind = 0;
    st_slice val;
    assert_int_equal(st_memtable_get(m, st_slice_str(k), snap, &kind, &val), 0);
    if (!v) {
        assert_int_equal(kind, ST_KIND_DEL);
        assert_int_equal(val.len, 0);
        return;
    }
    assert_int_equal(kind, ST_KIND_PUT);
    assert_int_equal(st_slice_cmp(val, st_slice_str(v)), 0);
}

static void expect_missing(st_memtable *m, st_slice k, uint64_t snap) {
    int kind;
    st_slice val;
    assert_int_equal(st_memtable_get(m, k, snap, &kind, &val), ST_ENOTFOUND);
}

/* An internal key in buf (room for len + 8). */
static st_slice ikey(uint8_t *buf, st_slice ukey, uint64_t seq, int kind) {
    if (ukey.len) memcpy(buf, ukey.data, ukey.len);
    st_put_fixed64(buf + ukey.len, st_ikey_tag(seq, kind));
    return st_slice_make(buf, ukey.len + 8);
}

static void expect_at(st_iter *it, const char *k, uint64_t seq, int kind, const char *v) {
    assert_true(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_ikey_parts p = {.seq = 0};
    assert_true(st_ikey_parse(st_iter_key(it), &p));
    assert_int_equal(st_slice_cmp(p.ukey, st_slice_str(k)), 0);
    assert_int_equal(p.seq, seq);
    assert_int_equal(p.kind, kind);
    assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(v)), 0);
}

static void test_memtable_new_rejects_tiny_arena_block(void **state) {
    (void)state;
    st_memtable *m = (st_memtable *)1;
    assert_int_equal(st_memtable_new(16, &m), ST_EINVAL);
    assert_null(m);
    st_memtable_unref(NULL);
}

static void test_memtable_new_with_zero_block_uses_default(void **state) {
    (void)state;
    st_memtable *m;
    assert_int_equal(st_memtable_new(0, &m), 0);
    size_t bytes = st_memtable_bytes(m);
    /* one arena block plus the hash index (a bucket per 4 block bytes, 8 bytes each) */
    assert_true(bytes >= 3 * ST_MEMTABLE_DEFAULT_BLOCK && bytes < 4 * ST_MEMTABLE_DEFAULT_BLOCK);
    put(m, 1, "k", "v");
    expect_get(m, "k", 1, "v");
    st_memtable_unref(m);
}

static void test_memtable_get_returns_put_value(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "apple", "red");
    put(m, 2, "banana", "yellow");
    put(m, 3, "cherry", "dark red");
    expect_get(m, "apple", 10, "red");
    expect_get(m, "banana", 10, "yellow");
    expect_get(m, "cherry", ST_SEQ_MAX, "dark red");
    expect_get(m, "cherry", UINT64_MAX, "dark red"); /* clamps instead of overflowing the tag */
    st_memtable_unref(m);
}

static void test_memtable_get_missing_key_is_notfound(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    expect_missing(m, st_slice_str("x"), 5);
    put(m, 1, "bb", "1");
    put(m, 2, "bbb", "2");
    expect_missing(m, st_slice_str("a"), 5);   /* before everything */
    expect_missing(m, st_slice_str("b"), 5);   /* a prefix of a present key */
    expect_missing(m, st_slice_str("bba"), 5); /* between two keys */
    expect_missing(m, st_slice_str("c"), 5);   /* after everything */
    expect_missing(m, st_slice_str(""), 5);
    st_memtable_unref(m);
}

static void test_memtable_delete_hides_older_put(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "k", "v1");
    del(m, 2, "k");
    expect_get(m, "k", 2, NULL);
    expect_get(m, "k", 100, NULL);
    expect_get(m, "k", 1, "v1"); /* the put is still there below the tombstone */
    put(m, 3, "k", "v3");
    expect_get(m, "k", 3, "v3");
    st_memtable_unref(m);
}

static void test_memtable_get_at_older_snapshot_sees_older_value(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 10, "k", "v10");
    put(m, 20, "k", "v20");
    put(m, 30, "k", "v30");
    put(m, 25, "other", "o");
    expect_missing(m, st_slice_str("k"), 9);
    expect_missing(m, st_slice_str("k"), 0);
    expect_get(m, "k", 10, "v10");
    expect_get(m, "k", 19, "v10");
    expect_get(m, "k", 20, "v20");
    expect_get(m, "k", 29, "v20");
    expect_get(m, "k", 30, "v30");
    expect_get(m, "k", ST_SEQ_MAX, "v30");
    expect_missing(m, st_slice_str("other"), 24);
    expect_get(m, "other", 25, "o");
    st_memtable_unref(m);
}

static void test_memtable_iterates_versions_newest_first(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "a", "a1");
    put(m, 4, "b", "b4");
    put(m, 2, "a", "a2");
    del(m, 5, "a");
    put(m, 3, "c", "c3");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    assert_false(st_iter_valid(it));
    st_iter_seek_first(it);
    expect_at(it, "a", 5, ST_KIND_DEL, "");
    st_iter_next(it);
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_next(it);
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_next(it);
    expect_at(it, "b", 4, ST_KIND_PUT, "b4");
    st_iter_next(it);
    expect_at(it, "c", 3, ST_KIND_PUT, "c3");
    st_iter_next(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);

    /* Backward: the same entries in reverse, so a key's versions come oldest first. */
    st_iter_seek_last(it);
    expect_at(it, "c", 3, ST_KIND_PUT, "c3");
    st_iter_prev(it);
    expect_at(it, "b", 4, ST_KIND_PUT, "b4");
    st_iter_prev(it);
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_prev(it);
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_prev(it);
    expect_at(it, "a", 5, ST_KIND_DEL, "");
    st_iter_prev(it);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);

    /* Turning around anywhere. */
    st_iter_seek_first(it);
    st_iter_next(it);
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_prev(it);
    expect_at(it, "a", 5, ST_KIND_DEL, "");
    st_iter_next(it);
    st_iter_next(it);
    st_iter_next(it);
    expect_at(it, "b", 4, ST_KIND_PUT, "b4");
    st_iter_prev(it);
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_next(it);
    expect_at(it, "b", 4, ST_KIND_PUT, "b4");
    st_iter_free(it);
    st_memtable_unref(m);
}

static void test_memtable_iter_seek_by_internal_key(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "a", "a1");
    put(m, 2, "a", "a2");
    put(m, 3, "a", "a3");
    put(m, 4, "c", "c4");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    uint8_t buf[64];
    st_slice a = st_slice_str("a");

    st_iter_seek(it, ikey(buf, a, 2, ST_KIND_SEEK)); /* newest version <= 2 */
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_seek(it, ikey(buf, a, 2, ST_KIND_PUT)); /* an exact internal key */
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_seek(it, ikey(buf, a, 2, ST_KIND_DEL)); /* just below a@2 in tag order */
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_seek(it, ikey(buf, a, ST_SEQ_MAX, ST_KIND_SEEK));
    expect_at(it, "a", 3, ST_KIND_PUT, "a3");
    st_iter_seek(it, ikey(buf, a, 0, ST_KIND_SEEK)); /* below every version of a */
    expect_at(it, "c", 4, ST_KIND_PUT, "c4");
    st_iter_seek(it, ikey(buf, st_slice_str("b"), ST_SEQ_MAX, ST_KIND_SEEK));
    expect_at(it, "c", 4, ST_KIND_PUT, "c4");
    st_iter_seek(it, ikey(buf, st_slice_str(""), ST_SEQ_MAX, ST_KIND_SEEK));
    expect_at(it, "a", 3, ST_KIND_PUT, "a3");
    st_iter_seek(it, ikey(buf, st_slice_str("c"), 3, ST_KIND_SEEK)); /* c@4 is too new */
    assert_false(st_iter_valid(it));
    st_iter_seek(it, ikey(buf, st_slice_str("d"), ST_SEQ_MAX, ST_KIND_SEEK));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_memtable_unref(m);
}

static void test_memtable_iter_seek_for_prev_by_internal_key(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "a", "a1");
    put(m, 2, "a", "a2");
    put(m, 3, "a", "a3");
    put(m, 4, "c", "c4");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    uint8_t buf[64];
    st_slice a = st_slice_str("a"), c = st_slice_str("c");

    st_iter_seek_for_prev(it, ikey(buf, a, 2, ST_KIND_PUT)); /* an exact internal key */
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_seek_for_prev(it, ikey(buf, a, 2, ST_KIND_SEEK)); /* just above a@2 in tag order */
    expect_at(it, "a", 3, ST_KIND_PUT, "a3");
    st_iter_seek_for_prev(it, ikey(buf, a, 2, ST_KIND_DEL)); /* just below a@2 */
    expect_at(it, "a", 2, ST_KIND_PUT, "a2");
    st_iter_seek_for_prev(it, ikey(buf, a, 0, 0)); /* after every version of a */
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_seek_for_prev(it, ikey(buf, st_slice_str("b"), ST_SEQ_MAX, ST_KIND_SEEK)); /* absent */
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_seek_for_prev(it, ikey(buf, c, 5, ST_KIND_SEEK)); /* before c@4 */
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_seek_for_prev(it, ikey(buf, st_slice_str("zz"), 0, 0)); /* after the last */
    expect_at(it, "c", 4, ST_KIND_PUT, "c4");
    st_iter_prev(it);
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_seek_for_prev(it, ikey(buf, a, ST_SEQ_MAX, ST_KIND_SEEK)); /* before the first */
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_seek_for_prev(it, ikey(buf, st_slice_str(""), 0, 0));
    assert_false(st_iter_valid(it));
    /* A target without a tag is ST_EINVAL, as for seek; seek_last clears it. */
    st_iter_seek_for_prev(it, st_slice_str("a"));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_EINVAL);
    st_iter_seek_last(it);
    assert_int_equal(st_iter_status(it), 0);
    expect_at(it, "c", 4, ST_KIND_PUT, "c4");
    st_iter_free(it);

    /* The empty memtable. */
    st_memtable *e = new_mem();
    assert_int_equal(st_memtable_iter_new(e, &it), 0);
    st_iter_seek_last(it);
    assert_false(st_iter_valid(it));
    st_iter_seek_for_prev(it, ikey(buf, c, 0, 0));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_memtable_unref(e);
    st_memtable_unref(m);
}

static void test_memtable_iter_seek_without_tag_is_einval_until_next_seek(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "a", "a1");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    st_iter_seek_first(it);
    assert_true(st_iter_valid(it));
    st_iter_seek(it, st_slice_str("a"));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), ST_EINVAL);
    st_iter_seek_first(it);
    expect_at(it, "a", 1, ST_KIND_PUT, "a1");
    st_iter_free(it);
    st_memtable_unref(m);
}

static void test_memtable_counts_entries_and_bytes(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    assert_int_equal(st_memtable_entries(m), 0);
    size_t start = st_memtable_bytes(m); /* the skiplist head lives in the arena too */
    assert_true(start > 0);
    char key[32], val[100];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = 0;
    size_t payload = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "key%06d", i);
        put(m, (uint64_t)i + 1, key, val);
        payload += strlen(key) + 8 + strlen(val);
        assert_int_equal(st_memtable_entries(m), (uint64_t)i + 1);
    }
    size_t bytes = st_memtable_bytes(m);
    assert_true(bytes > start);
    assert_true(bytes >= payload);
    assert_true(bytes < 2 * payload + 8192); /* headers and nodes, not a blow-up */
    st_memtable_unref(m);
}

static void test_memtable_iterator_keeps_memtable_alive_after_creator_unrefs(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "k1", "v1");
    put(m, 2, "k2", "v2");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    st_memtable_ref(m);
    st_memtable_unref(m);
    st_memtable_unref(m); /* the creator's reference: only the iterator's remains */
    /* ASan turns any use after free here into a failure; the free at st_iter_free into no leak. */
    st_iter_seek_first(it);
    expect_at(it, "k1", 1, ST_KIND_PUT, "v1");
    st_iter_next(it);
    expect_at(it, "k2", 2, ST_KIND_PUT, "v2");
    st_iter_free(it);
}

static void test_memtable_binary_keys_with_nul_bytes_are_distinct(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    const uint8_t k1[] = {'a'}, k2[] = {'a', 0}, k3[] = {'a', 0, 'b'}, k4[] = {0}, k5[] = {0, 0};
    const st_slice keys[] = {st_slice_make(k3, 3), st_slice_make(k1, 1), st_slice_make(k5, 2),
                             st_slice_make(k2, 2), st_slice_make(k4, 1)};
    const uint8_t v[] = {0, 1, 0, 2};
    for (int i = 0; i < 5; i++)
        assert_int_equal(st_memtable_add(m, (uint64_t)i + 1, ST_KIND_PUT, keys[i], st_slice_make(v, (size_t)i)), 0);
    for (int i = 0; i < 5; i++) {
        int kind;
        st_slice val;
        assert_int_equal(st_memtable_get(m, keys[i], 10, &kind, &val), 0);
        assert_int_equal(kind, ST_KIND_PUT);
        assert_int_equal(st_slice_cmp(val, st_slice_make(v, (size_t)i)), 0);
    }
    const uint8_t absent[] = {'a', 0, 0};
    expect_missing(m, st_slice_make(absent, 3), 10);
    /* Bytewise order: {0} < {0,0} < "a" < "a\0" < "a\0b". */
    const int order[] = {4, 2, 1, 3, 0};
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    st_iter_seek_first(it);
    for (int i = 0; i < 5; i++, st_iter_next(it)) {
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_ikey_user(st_iter_key(it)), keys[order[i]]), 0);
    }
    assert_false(st_iter_valid(it));
    st_iter_free(it);
    st_memtable_unref(m);
}

static void test_memtable_empty_key_and_empty_value(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    put(m, 1, "b", "");
    put(m, 2, "", "for the empty key");
    put(m, 3, "", "");
    expect_get(m, "b", 5, "");
    expect_get(m, "", 2, "for the empty key");
    expect_get(m, "", 3, "");
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    st_iter_seek_first(it); /* the empty key sorts first */
    expect_at(it, "", 3, ST_KIND_PUT, "");
    st_iter_next(it);
    expect_at(it, "", 2, ST_KIND_PUT, "for the empty key");
    st_iter_next(it);
    expect_at(it, "b", 1, ST_KIND_PUT, "");
    st_iter_free(it);
    st_memtable_unref(m);
}

/* Keys longer than the stack buffer take the malloc path; long values need multi-byte varints. */
static void test_memtable_long_keys_and_values(void **state) {
    (void)state;
    st_memtable *m = new_mem();
    enum { KLEN = ST_MEMTABLE_STACK_KEY * 4, VLEN = 20000 };
    uint8_t *k = malloc(KLEN), *v = malloc(VLEN);
    assert_non_null(k);
    assert_non_null(v);
    for (int i = 0; i < KLEN; i++) k[i] = (uint8_t)(i * 31);
    for (int i = 0; i < VLEN; i++) v[i] = (uint8_t)(i * 7);
    for (size_t len = ST_MEMTABLE_STACK_KEY - 1; len <= ST_MEMTABLE_STACK_KEY + 1; len++)
        assert_int_equal(st_memtable_add(m, len, ST_KIND_PUT, st_slice_make(k, len), st_slice_make(v, len)), 0);
    assert_int_equal(st_memtable_add(m, 1000, ST_KIND_PUT, st_slice_make(k, KLEN), st_slice_make(v, VLEN)), 0);
    for (size_t len = ST_MEMTABLE_STACK_KEY - 1; len <= ST_MEMTABLE_STACK_KEY + 1; len++) {
        int kind;
        st_slice val;
        assert_int_equal(st_memtable_get(m, st_slice_make(k, len), 2000, &kind, &val), 0);
        assert_int_equal(st_slice_cmp(val, st_slice_make(v, len)), 0);
    }
    int kind;
    st_slice val;
    assert_int_equal(st_memtable_get(m, st_slice_make(k, KLEN), 2000, &kind, &val), 0);
    assert_int_equal(st_slice_cmp(val, st_slice_make(v, VLEN)), 0);
    expect_missing(m, st_slice_make(k, KLEN), 999);
    expect_missing(m, st_slice_make(k, KLEN - 1), 2000);
    free(k);
    free(v);
    st_memtable_unref(m);
}

/* ---- random operations against a brute-force model ------------------------------------------ */

struct op {
    int key;
    uint64_t seq;
    int kind;
    uint32_t val;
};

static int op_order(const void *a, const void *b) { /* model of internal-key order */
    const struct op *x = a, *y = b;
    char kx[16], ky[16];
    snprintf(kx, sizeof kx, "k%03d", x->key);
    snprintf(ky, sizeof ky, "k%03d", y->key);
    int c = strcmp(kx, ky);
    if (c) return c;
    return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static void test_memtable_matches_model_under_random_ops(void **state) {
    (void)state;
    enum { OPS = 3000, KEYS = 40, QUERIES = 4000 };
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("memtable_model", 7));
    st_memtable *m = new_mem();
    struct op *ops = malloc(OPS * sizeof *ops);
    assert_non_null(ops);
    char k[16], v[16];
    for (int i = 0; i < OPS; i++) {
        /* Sequence numbers with gaps so snapshots land between versions. */
        ops[i] = (struct op){(int)st_rng_below(&rng, KEYS), 3 * (uint64_t)i + 1,
                             st_rng_below(&rng, 4) ? ST_KIND_PUT : ST_KIND_DEL, (uint32_t)st_rng_next(&rng)};
        snprintf(k, sizeof k, "k%03d", ops[i].key);
        snprintf(v, sizeof v, "%u", ops[i].val);
        assert_int_equal(st_memtable_add(m, ops[i].seq, ops[i].kind, st_slice_str(k),
                                         ops[i].kind == ST_KIND_PUT ? st_slice_str(v) : st_slice_str("")), 0);
    }
    for (int q = 0; q < QUERIES; q++) {
        int key = (int)st_rng_below(&rng, KEYS + 2); /* a few never-written keys */
        uint64_t snap = st_rng_below(&rng, 3 * OPS + 3);
        const struct op *want = NULL;
        for (int i = 0; i < OPS; i++)
            if (ops[i].key == key && ops[i].seq <= snap && (!want || ops[i].seq > want->seq)) want = &ops[i];
        snprintf(k, sizeof k, "k%03d", key);
        int kind;
        st_slice val;
        int rc = st_memtable_get(m, st_slice_str(k), snap, &kind, &val);
        if (!want) {
            assert_int_equal(rc, ST_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(kind, want->kind);
        if (kind == ST_KIND_PUT) {
            snprintf(v, sizeof v, "%u", want->val);
            assert_int_equal(st_slice_cmp(val, st_slice_str(v)), 0);
        }
    }
    qsort(ops, OPS, sizeof *ops, op_order);
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    st_iter_seek_first(it);
    for (int i = 0; i < OPS; i++, st_iter_next(it)) {
        assert_true(st_iter_valid(it));
        st_ikey_parts p = {.seq = 0};
        assert_true(st_ikey_parse(st_iter_key(it), &p));
        snprintf(k, sizeof k, "k%03d", ops[i].key);
        assert_int_equal(st_slice_cmp(p.ukey, st_slice_str(k)), 0);
        assert_int_equal(p.seq, ops[i].seq);
        assert_int_equal(p.kind, ops[i].kind);
    }
    assert_false(st_iter_valid(it));
    /* Backward over the same order, then seek_for_prev on random lookup keys: the last entry
     * <= (key, snap, SEEK) is the oldest version newer than snap, or the previous key's last. */
    st_iter_seek_last(it);
    for (int i = OPS - 1; i >= 0; i--, st_iter_prev(it)) {
        assert_true(st_iter_valid(it));
        st_ikey_parts p = {.seq = 0};
        assert_true(st_ikey_parse(st_iter_key(it), &p));
        assert_int_equal(p.seq, ops[i].seq);
    }
    assert_false(st_iter_valid(it));
    uint8_t buf[64];
    for (int q = 0; q < QUERIES; q++) {
        int key = (int)st_rng_below(&rng, KEYS + 2);
        uint64_t snap = st_rng_below(&rng, 3 * OPS + 3);
        snprintf(k, sizeof k, "k%03d", key);
        st_slice target = ikey(buf, st_slice_str(k), snap, ST_KIND_SEEK);
        int lo = 0, hi = OPS; /* binary search: ops is in internal-key order */
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            char ki[16];
            uint8_t ib[64];
            snprintf(ki, sizeof ki, "k%03d", ops[mid].key);
            if (st_ikey_cmp(ikey(ib, st_slice_str(ki), ops[mid].seq, ops[mid].kind), target) <= 0) lo = mid + 1;
            else hi = mid;
        }
        int want = lo - 1; /* the last entry <= target, -1 for none */
        st_iter_seek_for_prev(it, target);
        if (want < 0) {
            assert_false(st_iter_valid(it));
            continue;
        }
        assert_true(st_iter_valid(it));
        assert_int_equal(st_ikey_seq(st_iter_key(it)), ops[want].seq);
        /* and one step each way from there */
        if (q % 2) {
            st_iter_prev(it);
            if (want == 0) assert_false(st_iter_valid(it));
            else assert_int_equal(st_ikey_seq(st_iter_key(it)), ops[want - 1].seq);
        } else {
            st_iter_next(it);
            if (want == OPS - 1) assert_false(st_iter_valid(it));
            else assert_int_equal(st_ikey_seq(st_iter_key(it)), ops[want + 1].seq);
        }
    }
    st_iter_free(it);
    free(ops);
    st_memtable_unref(m);
}

/* ---- a reader racing the writer ----------------------------------------------------------- */

enum { RACE_KEYS = 20000, RACE_DEADLINE_S = 30 };

struct race {
    st_memtable *m;
    _Atomic uint64_t added; /* keys 0..added-1 are in the memtable (release by the writer) */
    uint64_t seed;
    const char *failure;
    unsigned long gets, scans;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void race_key(char *buf, size_t n, uint64_t i) {
    /* A scrambled order, so inserts land all over the list. */
    snprintf(buf, n, "key%010llu", (unsigned long long)((i * 2654435761u) % 4294967291u));
}

static void *race_reader(void *arg) {
    struct race *r = arg;
    st_rng rng;
    st_rng_seed(&rng, r->seed);
    double deadline = now_s() + RACE_DEADLINE_S;
    bool last = false;
    while (!last && now_s() < deadline) {
        uint64_t n = atomic_load_explicit(&r->added, memory_order_acquire);
        last = n == RACE_KEYS;
        for (int i = 0; i < 64 && n > 0; i++) {
            uint64_t j = st_rng_below(&rng, n);
            char k[32], v[32];
            race_key(k, sizeof k, j);
            snprintf(v, sizeof v, "v%llu", (unsigned long long)j);
            int kind;
            st_slice val;
            if (st_memtable_get(r->m, st_slice_str(k), ST_SEQ_MAX, &kind, &val) != 0 ||
                kind != ST_KIND_PUT || st_slice_cmp(val, st_slice_str(v)) != 0) {
                r->failure = "an added key was not found with its value";
                return NULL;
            }
            r->gets++;
        }
        st_iter *it;
        if (st_memtable_iter_new(r->m, &it) != 0) {
            r->failure = "iter_new failed";
            return NULL;
        }
        uint64_t seen = 0;
        uint8_t prev[64];
        size_t prev_len = 0;
        for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), seen++) {
            st_slice key = st_iter_key(it);
            if (seen > 0 && (key.len > sizeof prev || st_ikey_cmp(st_slice_make(prev, prev_len), key) >= 0)) {
                r->failure = "iteration not strictly ascending";
                break;
            }
            prev_len = key.len < sizeof prev ? key.len : sizeof prev;
            memcpy(prev, key.data, prev_len);
        }
        st_iter_free(it);
        if (r->failure) return NULL;
        if (seen < n) {
            r->failure = "a scan missed keys added before it started";
            return NULL;
        }
        /* Every fourth round, a backward scan: strictly descending, nothing added before it
         * missing. */
        if (r->scans % 4 == 0) {
            if (st_memtable_iter_new(r->m, &it) != 0) {
                r->failure = "iter_new failed";
                return NULL;
            }
            uint64_t before = atomic_load_explicit(&r->added, memory_order_acquire);
            seen = 0;
            for (st_iter_seek_last(it); st_iter_valid(it) && seen <= RACE_KEYS; st_iter_prev(it), seen++) {
                st_slice key = st_iter_key(it);
                if (seen > 0 && (key.len > sizeof prev || st_ikey_cmp(st_slice_make(prev, prev_len), key) <= 0)) {
                    r->failure = "backward iteration not strictly descending";
                    break;
                }
                prev_len = key.len < sizeof prev ? key.len : sizeof prev;
                memcpy(prev, key.data, prev_len);
            }
            st_iter_free(it);
            if (r->failure) return NULL;
            if (seen < before || seen > RACE_KEYS) {
                r->failure = "a backward scan missed keys added before it started";
                return NULL;
            }
        }
        r->scans++;
    }
    if (!last) r->failure = "deadline hit before the writer finished";
    return NULL;
}

static void test_memtable_reader_gets_and_scans_while_writer_adds(void **state) {
    (void)state;
    struct race r = {.m = new_mem(), .seed = st_test_seed("memtable_race", 5)};
    atomic_init(&r.added, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race_reader, &r), 0);
    /* No cmocka assert while the reader runs. */
    int rc = 0;
    for (uint64_t i = 0; i < RACE_KEYS && rc == 0; i++) {
        char k[32], v[32];
        race_key(k, sizeof k, i);
        snprintf(v, sizeof v, "v%llu", (unsigned long long)i);
        rc = st_memtable_add(r.m, i + 1, ST_KIND_PUT, st_slice_str(k), st_slice_str(v));
        if (rc == 0) atomic_store_explicit(&r.added, i + 1, memory_order_release);
    }
    if (rc != 0) atomic_store_explicit(&r.added, RACE_KEYS, memory_order_release); /* let it stop */
    pthread_join(t, NULL);
    assert_int_equal(rc, 0);
    if (r.failure) fail_msg("reader: %s", r.failure);
    print_message("reader: %lu gets, %lu scans\n", r.gets, r.scans);
    assert_int_equal(st_memtable_entries(r.m), RACE_KEYS);
    st_memtable_unref(r.m);
}

/* ---- concurrent adders (the db's write path) -------------------------------------------------- */

enum { CA_THREADS = 4, CA_ADDS = 6000, CA_KEYS = 500 };

typedef struct ca_shared {
    st_memtable *m;
    pthread_mutex_t reserve_mu; /* the db's write_mu: sequence numbers and reservations */
    uint64_t next_seq;
    uint32_t key_of[CA_THREADS * CA_ADDS + 1]; /* seq -> key index */
} ca_shared;

typedef struct ca_arg {
    ca_shared *sh;
    uint64_t seed;
    const char *failure;
} ca_arg;

static void *ca_adder(void *p) {
    ca_arg *a = p;
    ca_shared *sh = a->sh;
    st_rng r;
    st_rng_seed(&r, a->seed);
    for (int i = 0; i < CA_ADDS; i++) {
        uint32_t key = (uint32_t)st_rng_below(&r, CA_KEYS);
        char k[32], v[32];
        snprintf(k, sizeof k, "key%04u", key);
        /* two adds per reservation half the time, like a two-op batch */
        int n = (i + 1 < CA_ADDS && st_rng_below(&r, 2)) ? 2 : 1;
        pthread_mutex_lock(&sh->reserve_mu);
        uint64_t seq = sh->next_seq;
        sh->next_seq += (uint64_t)n;
        size_t need = 0, one;
        for (int j = 0; j < n; j++) {
            uint64_t sq = seq + (uint64_t)j;
            snprintf(v, sizeof v, "v%llu", (unsigned long long)sq);
            if (st_memtable_add_bytes(sq, strlen(k), sq % 5 == 0 ? 0 : strlen(v), &one)) a->failure = "add_bytes failed";
            need += one;
        }
        st_memtable_space sp;
        if (st_memtable_reserve(sh->m, need, &sp)) a->failure = "reserve failed";
        pthread_mutex_unlock(&sh->reserve_mu);
        if (a->failure) return NULL;
        for (int j = 0; j < n; j++) {
            uint64_t sq = seq + (uint64_t)j;
            snprintf(v, sizeof v, "v%llu", (unsigned long long)sq);
            sh->key_of[sq] = key;
            if (st_memtable_add_in(sh->m, &sp, sq, sq % 5 == 0 ? ST_KIND_DEL : ST_KIND_PUT, st_slice_str(k),
                                   sq % 5 == 0 ? st_slice_str("") : st_slice_str(v))) {
                a->failure = "add_in failed";
                return NULL;
            }
        }
        if (sp.left != 0) {
            a->failure = "reservation not used up exactly";
            return NULL;
        }
        i += n - 1;
    }
    return NULL;
}

/* Many threads add into reserved space at once (skiplist and hash chains by compare-and-swap) on
 * a small key space, so versions of one key race into the same chain out of sequence order. After
 * they finish: every entry is there once, iteration is strictly ascending, and for every key and
 * every one of its versions' sequence numbers the hash index returns exactly that version (M4). */
static void test_memtable_concurrent_adders_keep_order_and_versions(void **state) {
    (void)state;
    ca_shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->m = new_mem();
    sh->next_seq = 1;
    pthread_mutex_init(&sh->reserve_mu, NULL);
    uint64_t seed = st_test_seed("test_memtable_concurrent_adders", 77);
    pthread_t t[CA_THREADS];
    ca_arg a[CA_THREADS];
    for (int i = 0; i < CA_THREADS; i++) {
        a[i] = (ca_arg){sh, seed + (uint64_t)i, NULL};
        assert_int_equal(pthread_create(&t[i], NULL, ca_adder, &a[i]), 0);
    }
    for (int i = 0; i < CA_THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < CA_THREADS; i++)
        if (a[i].failure) fail_msg("adder %d: %s", i, a[i].failure);
    uint64_t total = sh->next_seq - 1;
    assert_int_equal(total, CA_THREADS * CA_ADDS);
    assert_int_equal(st_memtable_entries(sh->m), total);

    st_iter *it;
    assert_int_equal(st_memtable_iter_new(sh->m, &it), 0);
    uint64_t seen = 0;
    uint8_t prev[64];
    size_t prev_len = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), seen++) {
        st_slice key = st_iter_key(it);
        assert_true(key.len <= sizeof prev);
        if (seen > 0 && st_ikey_cmp(st_slice_make(prev, prev_len), key) >= 0) fail_msg("iteration out of order at %llu", (unsigned long long)seen);
        memcpy(prev, key.data, key.len);
        prev_len = key.len;
    }
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    assert_int_equal(seen, total);

    /* every version, through the hash index: at snapshot = its seq it is the one returned */
    for (uint64_t sq = 1; sq <= total; sq++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "key%04u", sh->key_of[sq]);
        int kind = -1;
        st_slice val;
        assert_int_equal(st_memtable_get(sh->m, st_slice_str(k), sq, &kind, &val), 0);
        if (sq % 5 == 0) {
            assert_int_equal(kind, ST_KIND_DEL);
        } else {
            snprintf(v, sizeof v, "v%llu", (unsigned long long)sq);
            assert_int_equal(kind, ST_KIND_PUT);
            if (st_slice_cmp(val, st_slice_str(v))) fail_msg("%s at seq %llu: got another version", k, (unsigned long long)sq);
        }
    }
    pthread_mutex_destroy(&sh->reserve_mu);
    st_memtable_unref(sh->m);
    free(sh);
}

/* The hash index must agree with the skiplist for every key and snapshot, even when versions of a
 * key arrive out of sequence order and thousands of keys share each of the 1024 buckets' chains
 * (default block). The reference answer comes from a seek through the iterator (skiplist). */
static void test_memtable_hash_index_agrees_with_skiplist_out_of_order(void **state) {
    (void)state;
    uint64_t seed = st_test_seed("test_memtable_hash_index_agrees_with_skiplist_out_of_order", 4242);
    st_rng r;
    st_rng_seed(&r, seed);
    enum { KEYS = 3000, VERSIONS = 4 };
    uint64_t *seqs = malloc(KEYS * VERSIONS * sizeof *seqs);
    assert_non_null(seqs);
    for (uint64_t i = 0; i < KEYS * VERSIONS; i++) seqs[i] = i + 1;
    for (uint64_t i = KEYS * VERSIONS - 1; i > 0; i--) { /* shuffle: adds in random seq order */
        uint64_t j = st_rng_below(&r, i + 1), t = seqs[i];
        seqs[i] = seqs[j];
        seqs[j] = t;
    }
    st_memtable *m = new_mem();
    char k[32], v[32];
    for (uint64_t i = 0; i < KEYS * VERSIONS; i++) {
        uint64_t seq = seqs[i];
        snprintf(k, sizeof k, "key%05llu", (unsigned long long)(seq % KEYS));
        snprintf(v, sizeof v, "v%llu", (unsigned long long)seq);
        if (seq % 7 == 0) del(m, seq, k);
        else put(m, seq, k, v);
    }
    st_iter *it;
    assert_int_equal(st_memtable_iter_new(m, &it), 0);
    uint8_t buf[64];
    for (int q = 0; q < 20000; q++) {
        uint64_t key = st_rng_below(&r, KEYS + 10), snap = st_rng_below(&r, KEYS * VERSIONS + 2);
        snprintf(k, sizeof k, "key%05llu", (unsigned long long)key);
        st_slice uk = st_slice_str(k);
        int kind = 0;
        st_slice val;
        int rc = st_memtable_get(m, uk, snap, &kind, &val);
        st_iter_seek(it, ikey(buf, uk, snap, ST_KIND_SEEK));
        bool ref_found = st_iter_valid(it) && st_slice_cmp(st_ikey_user(st_iter_key(it)), uk) == 0;
        if (!ref_found) {
            assert_int_equal(rc, ST_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        st_ikey_parts p;
        assert_true(st_ikey_parse(st_iter_key(it), &p));
        assert_int_equal(kind, p.kind);
        if (kind == ST_KIND_PUT) assert_int_equal(st_slice_cmp(val, st_iter_value(it)), 0);
    }
    st_iter_free(it);
    st_memtable_unref(m);
    free(seqs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memtable_new_rejects_tiny_arena_block),
        cmocka_unit_test(test_memtable_new_with_zero_block_uses_default),
        cmocka_unit_test(test_memtable_get_returns_put_value),
        cmocka_unit_test(test_memtable_get_missing_key_is_notfound),
        cmocka_unit_test(test_memtable_delete_hides_older_put),
        cmocka_unit_test(test_memtable_get_at_older_snapshot_sees_older_value),
        cmocka_unit_test(test_memtable_iterates_versions_newest_first),
        cmocka_unit_test(test_memtable_iter_seek_by_internal_key),
        cmocka_unit_test(test_memtable_iter_seek_for_prev_by_internal_key),
        cmocka_unit_test(test_memtable_iter_seek_without_tag_is_einval_until_next_seek),
        cmocka_unit_test(test_memtable_counts_entries_and_bytes),
        cmocka_unit_test(test_memtable_iterator_keeps_memtable_alive_after_creator_unrefs),
        cmocka_unit_test(test_memtable_binary_keys_with_nul_bytes_are_distinct),
        cmocka_unit_test(test_memtable_empty_key_and_empty_value),
        cmocka_unit_test(test_memtable_long_keys_and_values),
        cmocka_unit_test(test_memtable_matches_model_under_random_ops),
        cmocka_unit_test(test_memtable_reader_gets_and_scans_while_writer_adds),
        cmocka_unit_test(test_memtable_hash_index_agrees_with_skiplist_out_of_order),
        cmocka_unit_test(test_memtable_concurrent_adders_keep_order_and_versions),
    };
    return cmocka_run_group_tests_name("memtable", tests, NULL, NULL);
}
