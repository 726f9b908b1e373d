/* test_batch.c -- write batches: building (put/delete/count/bytes/clear), the serialized form as
 * st_batch_iterate reads it back from a WAL (order, seq + i, every malformation is ST_ECORRUPT),
 * and st_db_write: empty batches, the max_batch_bytes limit, and atomic visibility after reopen.
 * Every test runs in its own temporary directory; every loop is bounded. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "db/write_batch.h"
#include "strata/st.h"
#include "util/coding.h"
#include "util/ikey.h"

typedef struct fx {
    char *dir;
    st_db *db;
    st_batch *b;
    st_options opts;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    if (!(x->dir = st_test_tmpdir("batch")) || st_batch_new(&x->b)) {
        free(x->dir);
        free(x);
        return -1;
    }
    st_options_default(&x->opts);
    x->opts.sync_mode = ST_SYNC_NO;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_db_close(x->db);
    st_batch_free(x->b);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void db_open(fx *x) {
    assert_null(x->db);
    int rc = st_db_open(x->dir, &x->opts, &x->db);
    if (rc) fail_msg("st_db_open: %s (%s)", st_strerror(rc), st_errmsg());
}

static void db_reopen(fx *x) {
    assert_int_equal(st_db_close(x->db), 0);
    x->db = NULL;
    db_open(x);
}

static void expect_get(fx *x, const char *key, const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    int rc = st_db_get(x->db, NULL, st_slice_str(key), &v, &n);
    if (!want) {
        if (rc != ST_ENOTFOUND) fail_msg("get %s: %s, expected not found", key, st_strerror(rc));
        assert_null(v);
        return;
    }
    if (rc) fail_msg("get %s: %s (%s), expected \"%s\"", key, st_strerror(rc), st_errmsg(), want);
    if (n != strlen(want) || memcmp(v, want, n) != 0)
        fail_msg("get %s: \"%.*s\", expected \"%s\"", key, (int)n, (const char *)v, want);
    free(v);
}

static uint64_t last_seq(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    return s.last_seq;
}

typedef struct op {
    uint64_t seq;
    int kind;
    uint8_t key[64], value[64];
    size_t klen, vlen;
} op;

typedef struct collect {
    op ops[16];
    size_t n;
    size_t stop_at; /* return 42 from this call (1-based); 0 never */
} collect;

static int collect_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    collect *c = arg;
    if (c->n >= 16 || key.len > 64 || value.len > 64) return -100;
    op *o = &c->ops[c->n++];
    o->seq = seq;
    o->kind = kind;
    o->klen = key.len;
    o->vlen = value.len;
    if (key.len) memcpy(o->key, key.data, key.len);
    if (value.len) memcpy(o->value, value.data, value.len);
    return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static st_slice rep(const st_batch *b) { return st_slice_make(b->rep.data, b->rep.len); }

static const uint8_t bin_key[5] = {'b', 0x00, 0xff, 0x00, 'z'};

/* put "alpha"="one", delete "beta", put bin_key="" (empty value), put "gamma"="three". */
static void four_ops(st_batch *b) {
    assert_int_equal(st_batch_put(b, st_slice_str("alpha"), st_slice_str("one")), 0);
    assert_int_equal(st_batch_delete(b, st_slice_str("beta")), 0);
    assert_int_equal(st_batch_put(b, st_slice_make(bin_key, sizeof bin_key), st_slice_make("", 0)), 0);
    assert_int_equal(st_batch_put(b, st_slice_str("gamma"), st_slice_str("three")), 0);
}

/* Offsets of the kind bytes of four_ops' operations. */
static void four_ops_kind_offsets(size_t off[4]) {
    off[0] = ST_BATCH_HEADER;
    off[1] = off[0] + 1 + 1 + 5 + 1 + 3;
    off[2] = off[1] + 1 + 1 + 4;
    off[3] = off[2] + 1 + 1 + sizeof bin_key + 1 + 0;
}

/* ---- building ------------------------------------------------------------------------------- */

static void test_batch_count_bytes_and_clear(void **state) {
    fx *x = *state;
    st_batch *b = x->b;
    assert_int_equal(st_batch_count(b), 0);
    assert_int_equal(st_batch_bytes(b), ST_BATCH_HEADER);
    assert_int_equal(st_batch_put(b, st_slice_str("key"), st_slice_str("value")), 0);
    assert_int_equal(st_batch_count(b), 1);
    assert_int_equal(st_batch_bytes(b), ST_BATCH_HEADER + 1 + 1 + 3 + 1 + 5);
    assert_int_equal(st_batch_delete(b, st_slice_str("key")), 0);
    assert_int_equal(st_batch_count(b), 2);
    assert_int_equal(st_batch_bytes(b), ST_BATCH_HEADER + 11 + 1 + 1 + 3);
    /* a 200-byte value takes a 2-byte length */
    char big[200];
    memset(big, 'v', sizeof big);
    assert_int_equal(st_batch_put(b, st_slice_str("k"), st_slice_make(big, sizeof big)), 0);
    assert_int_equal(st_batch_count(b), 3);
    assert_int_equal(st_batch_bytes(b), ST_BATCH_HEADER + 11 + 5 + 1 + 1 + 1 + 2 + 200);
    assert_int_equal(st_batch_rep_count(rep(b)), 3);

    st_batch_clear(b);
    assert_int_equal(st_batch_count(b), 0);
    assert_int_equal(st_batch_bytes(b), ST_BATCH_HEADER);
    collect c = {0};
    assert_int_equal(st_batch_iterate(rep(b), collect_op, &c), 0);
    assert_int_equal(c.n, 0);
    /* reusable after clear: only the new operation is there */
    assert_int_equal(st_batch_delete(b, st_slice_str("x")), 0);
    assert_int_equal(st_batch_iterate(rep(b), collect_op, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ops[0].kind, ST_KIND_DEL);
    assert_int_equal(c.ops[0].klen, 1);
    assert_int_equal(c.ops[0].key[0], 'x');
}

static void test_batch_iterate_yields_ops_in_order_with_seq_plus_i(void **state) {
    fx *x = *state;
    four_ops(x->b);
    st_batch_set_seq(x->b, 1000);
    assert_int_equal(st_batch_seq(rep(x->b)), 1000);
    collect c = {0};
    assert_int_equal(st_batch_iterate(rep(x->b), collect_op, &c), 0);
    assert_int_equal(c.n, 4);
    const int kinds[4] = {ST_KIND_PUT, ST_KIND_DEL, ST_KIND_PUT, ST_KIND_PUT};
    const char *keys[4] = {"alpha", "beta", NULL, "gamma"};
    const char *values[4] = {"one", "", "", "three"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c.ops[i].seq, 1000 + i);
        assert_int_equal(c.ops[i].kind, kinds[i]);
        if (keys[i]) {
            assert_int_equal(c.ops[i].klen, strlen(keys[i]));
            assert_memory_equal(c.ops[i].key, keys[i], c.ops[i].klen);
        } else {
            assert_int_equal(c.ops[i].klen, sizeof bin_key);
            assert_memory_equal(c.ops[i].key, bin_key, sizeof bin_key);
        }
        assert_int_equal(c.ops[i].vlen, strlen(values[i]));
        if (c.ops[i].vlen) assert_memory_equal(c.ops[i].value, values[i], c.ops[i].vlen);
    }
}

static void test_batch_iterate_stops_at_first_callback_error(void **state) {
    fx *x = *state;
    four_ops(x->b);
    collect c = {.stop_at = 2};
    assert_int_equal(st_batch_iterate(rep(x->b), collect_op, &c), 42);
    assert_int_equal(c.n, 2);
}

/* ---- decoding untrusted bytes --------------------------------------------------------------- */

static void test_batch_every_truncation_is_corrupt(void **state) {
    fx *x = *state;
    four_ops(x->b);
    st_slice r = rep(x->b);
    for (size_t len = 0; len < r.len; len++) {
        collect c = {0};
        int rc = st_batch_iterate(st_slice_make(r.data, len), collect_op, &c);
        if (rc != ST_ECORRUPT) fail_msg("prefix of %zu of %zu bytes: %s", len, r.len, st_strerror(rc));
        assert_true(c.n < 4);
    }
    collect c = {0};
    assert_int_equal(st_batch_iterate(r, collect_op, &c), 0);
    assert_int_equal(c.n, 4);
}

static void test_batch_bad_kind_byte_is_corrupt(void **state) {
    fx *x = *state;
    four_ops(x->b);
    size_t off[4];
    four_ops_kind_offsets(off);
    const uint8_t bad[] = {0, 3, 0x7f, ST_KIND_SEEK};
    for (size_t i = 0; i < 4; i++) {
        uint8_t *p = x->b->rep.data + off[i];
        uint8_t keep = *p;
        assert_true(keep == ST_KIND_PUT || keep == ST_KIND_DEL); /* the offsets are right */
        for (size_t k = 0; k < sizeof bad; k++) {
            *p = bad[k];
            collect c = {0};
            int rc = st_batch_iterate(rep(x->b), collect_op, &c);
            if (rc != ST_ECORRUPT) fail_msg("kind 0x%02x at op %zu: %s", bad[k], i, st_strerror(rc));
            assert_int_equal(c.n, i); /* the operations before it, never the bad one */
        }
        *p = keep;
    }
    collect c = {0};
    assert_int_equal(st_batch_iterate(rep(x->b), collect_op, &c), 0);
}

static void test_batch_count_mismatch_is_corrupt(void **state) {
    fx *x = *state;
    four_ops(x->b);
    const uint32_t counts[] = {0, 1, 3, 5, 1000, UINT32_MAX};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        st_put_fixed32(x->b->rep.data + 8, counts[i]);
        collect c = {0};
        int rc = st_batch_iterate(rep(x->b), collect_op, &c);
        if (rc != ST_ECORRUPT) fail_msg("count %u for 4 operations: %s", counts[i], st_strerror(rc));
        assert_true(c.n <= counts[i]); /* never more callbacks than the count allows */
    }
    st_put_fixed32(x->b->rep.data + 8, 4);
    collect c = {0};
    assert_int_equal(st_batch_iterate(rep(x->b), collect_op, &c), 0);
    /* a header alone that claims operations */
    uint8_t hdr[ST_BATCH_HEADER] = {0};
    st_put_fixed32(hdr + 8, 1);
    assert_int_equal(st_batch_iterate(st_slice_make(hdr, sizeof hdr), collect_op, &c), ST_ECORRUPT);
}

/* ---- st_db_write ---------------------------------------------------------------------------- */

static void test_batch_empty_write_is_a_noop(void **state) {
    fx *x = *state;
    db_open(x);
    assert_int_equal(st_db_put(x->db, st_slice_str("k"), st_slice_str("v")), 0);
    st_stats s0, s1;
    assert_int_equal(st_db_stats(x->db, &s0), 0);
    uint64_t lsn = 0;
    assert_int_equal(st_db_write(x->db, x->b, 0, &lsn), 0);
    assert_int_equal(lsn, s0.last_seq);
    assert_int_equal(st_db_write(x->db, x->b, ST_WRITE_DEFER_COMMIT, NULL), 0);
    assert_int_equal(st_db_stats(x->db, &s1), 0);
    assert_int_equal(s1.last_seq, s0.last_seq);
    assert_int_equal(s1.batches, s0.batches);
    assert_int_equal(s1.wal_bytes, s0.wal_bytes);
    db_reopen(x);
    assert_int_equal(last_seq(x), s0.last_seq);
    expect_get(x, "k", "v");
}

static void test_batch_over_max_batch_bytes_is_einval(void **state) {
    fx *x = *state;
    x->opts.max_batch_bytes = 1024;
    db_open(x);
    uint64_t seq0 = last_seq(x);
    /* exactly the limit: 12 header + kind + klen + "k" + 2-byte vlen + 1007 */
    static char value[2048];
    memset(value, 'v', sizeof value);
    assert_int_equal(st_batch_put(x->b, st_slice_str("k"), st_slice_make(value, 1007)), 0);
    assert_int_equal(st_batch_bytes(x->b), 1024);
    uint64_t lsn = 0;
    assert_int_equal(st_db_write(x->db, x->b, 0, &lsn), 0);
    assert_int_equal(lsn, seq0 + 1);

    st_batch_clear(x->b);
    assert_int_equal(st_batch_put(x->b, st_slice_str("k"), st_slice_make(value, 1008)), 0);
    assert_int_equal(st_batch_bytes(x->b), 1025);
    lsn = 0;
    assert_int_equal(st_db_write(x->db, x->b, 0, &lsn), ST_EINVAL);
    assert_int_equal(lsn, 0);
    assert_non_null(strstr(st_errmsg(), "max_batch_bytes"));
    /* single-key writes go through the same check */
    assert_int_equal(st_db_put(x->db, st_slice_str("big"), st_slice_make(value, sizeof value)), ST_EINVAL);
    assert_int_equal(last_seq(x), seq0 + 1);
    expect_get(x, "big", NULL);
    uint8_t *v;
    size_t n;
    assert_int_equal(st_db_get(x->db, NULL, st_slice_str("k"), &v, &n), 0);
    assert_int_equal(n, 1007);
    free(v);
}

static void test_batch_is_applied_atomically_and_survives_reopen(void **state) {
    fx *x = *state;
    db_open(x);
    char k[16], v[32];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "old%d", i);
        assert_int_equal(st_db_put(x->db, st_slice_str(k), st_slice_str(v)), 0);
    }
    st_snapshot *before;
    assert_int_equal(st_db_snapshot(x->db, &before), 0);
    uint64_t seq0 = last_seq(x);

    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "new%d", i);
        assert_int_equal(st_batch_put(x->b, st_slice_str(k), st_slice_str(v)), 0);
    }
    for (int i = 5; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(st_batch_delete(x->b, st_slice_str(k)), 0);
    }
    /* within a batch, later operations win */
    assert_int_equal(st_batch_put(x->b, st_slice_str("twice"), st_slice_str("first")), 0);
    assert_int_equal(st_batch_put(x->b, st_slice_str("twice"), st_slice_str("second")), 0);
    assert_int_equal(st_batch_put(x->b, st_slice_str("gone"), st_slice_str("x")), 0);
    assert_int_equal(st_batch_delete(x->b, st_slice_str("gone")), 0);
    uint32_t count = st_batch_count(x->b);
    assert_int_equal(count, 14);
    uint64_t lsn = 0;
    assert_int_equal(st_db_write(x->db, x->b, 0, &lsn), 0);
    assert_int_equal(lsn, seq0 + count); /* one sequence number per operation */
    assert_int_equal(last_seq(x), lsn);

    /* the snapshot from before sees none of it */
    st_read_options ro = {.snapshot = before};
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "old%d", i);
        uint8_t *got;
        size_t n;
        assert_int_equal(st_db_get(x->db, &ro, st_slice_str(k), &got, &n), 0);
        assert_int_equal(n, strlen(v));
        assert_memory_equal(got, v, n);
        free(got);
    }
    st_db_snapshot_release(x->db, before);

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 10; i++) {
            snprintf(k, sizeof k, "k%d", i);
            snprintf(v, sizeof v, "new%d", i);
            expect_get(x, k, i < 5 ? v : NULL);
        }
        expect_get(x, "twice", "second");
        expect_get(x, "gone", NULL);
        db_reopen(x);
        assert_int_equal(last_seq(x), lsn);
    }
}

/* A batch bigger than a WAL block is fragmented in the log and comes back whole. */
static void test_batch_spanning_wal_blocks_survives_reopen(void **state) {
    fx *x = *state;
    db_open(x);
    static char value[3000];
    char k[16];
    for (int i = 0; i < 40; i++) {
        memset(value, 'a' + i % 26, sizeof value);
        snprintf(k, sizeof k, "big%02d", i);
        assert_int_equal(st_batch_put(x->b, st_slice_str(k), st_slice_make(value, sizeof value)), 0);
    }
    assert_true(st_batch_bytes(x->b) > 3 * 32768);
    assert_int_equal(st_db_write(x->db, x->b, 0, NULL), 0);
    db_reopen(x);
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "big%02d", i);
        uint8_t *v;
        size_t n;
        assert_int_equal(st_db_get(x->db, NULL, st_slice_str(k), &v, &n), 0);
        assert_int_equal(n, sizeof value);
        for (size_t j = 0; j < n; j++)
            if (v[j] != 'a' + i % 26) fail_msg("%s: byte %zu is 0x%02x", k, j, v[j]);
        free(v);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_batch_count_bytes_and_clear),
        T(test_batch_iterate_yields_ops_in_order_with_seq_plus_i),
        T(test_batch_iterate_stops_at_first_callback_error),
        T(test_batch_every_truncation_is_corrupt),
        T(test_batch_bad_kind_byte_is_corrupt),
        T(test_batch_count_mismatch_is_corrupt),
        T(test_batch_empty_write_is_a_noop),
        T(test_batch_over_max_batch_bytes_is_einval),
        T(test_batch_is_applied_atomically_and_survives_reopen),
        T(test_batch_spanning_wal_blocks_survives_reopen),
    };
    return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
