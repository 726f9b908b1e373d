/* test_db.c -- the st_db_* facade through the public API: open/close and its option checks, the
 * LOCK, point reads and writes (empty and 1 MiB values, binary keys), snapshots, bounded and
 * point-in-time iterators in both directions (newest visible version per key over memtable, L0
 * and L1, bounds, turning around), flushes to L0, stats, group commit under ST_SYNC_ALWAYS, deferred
 * commit, write stalls with a tiny write buffer, and poisoning after a failed WAL write or sync.
 * Every test runs in its own temporary directory; every loop is bounded; no sleeps. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "io/io.h"
#include "strata/st.h"

#define MAX_ITERS 6
#define MAX_SNAPS 6

typedef struct fx {
    char *dir;
    st_db *db;
    st_options opts;
    st_iter *it[MAX_ITERS];
    st_snapshot *snap[MAX_SNAPS];
    st_batch *b;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    if (!(x->dir = st_test_tmpdir("db")) || st_batch_new(&x->b)) {
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
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    st_io_fault_arm(ST_FAULT_SYNC, 0, 0);
    for (int i = 0; i < MAX_ITERS; i++) st_iter_free(x->it[i]);
    for (int i = 0; i < MAX_SNAPS; i++)
        if (x->snap[i]) st_db_snapshot_release(x->db, x->snap[i]);
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
    assert_non_null(x->db);
}

static void db_close(fx *x) {
    int rc = st_db_close(x->db);
    x->db = NULL;
    if (rc) fail_msg("st_db_close: %s (%s)", st_strerror(rc), st_errmsg());
}

static void db_reopen(fx *x) {
    db_close(x);
    db_open(x);
}

static void put(fx *x, st_slice k, st_slice v) {
    int rc = st_db_put(x->db, k, v);
    if (rc) fail_msg("put: %s (%s)", st_strerror(rc), st_errmsg());
}

static void put_str(fx *x, const char *k, const char *v) { put(x, st_slice_str(k), st_slice_str(v)); }

static void del_str(fx *x, const char *k) {
    int rc = st_db_delete(x->db, st_slice_str(k));
    if (rc) fail_msg("delete %s: %s (%s)", k, st_strerror(rc), st_errmsg());
}

/* want NULL: the key must be absent. */
static void expect_get_at(fx *x, const st_snapshot *s, st_slice k, const void *want, size_t want_len) {
    st_read_options ro = {.snapshot = s};
    uint8_t *v = (uint8_t *)&v;
    size_t n = 12345;
    int rc = st_db_get(x->db, s ? &ro : NULL, k, &v, &n);
    if (!want) {
        if (rc != ST_ENOTFOUND)
            fail_msg("get %.*s: %s, expected not found", (int)k.len, (const char *)k.data, st_strerror(rc));
        assert_null(v);
        assert_int_equal(n, 0);
        return;
    }
    if (rc) fail_msg("get %.*s: %s (%s)", (int)k.len, (const char *)k.data, st_strerror(rc), st_errmsg());
    assert_non_null(v);
    if (n != want_len || (n && memcmp(v, want, n) != 0))
        fail_msg("get %.*s: %zu bytes, expected %zu", (int)k.len, (const char *)k.data, n, want_len);
    assert_int_equal(v[n], 0); /* the promised NUL after the value */
    free(v);
}

static void expect_get(fx *x, const char *k, const char *want) {
    expect_get_at(x, NULL, st_slice_str(k), want, want ? strlen(want) : 0);
}

static st_stats stats(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    return s;
}

/* Scans it from seek_first; the keys must be exactly want[0, n) (NUL-terminated strings) and, if
 * vals is given, the values vals[0, n). */
static void expect_scan(st_iter *it, const char *const *want, const char *const *vals, size_t n) {
    size_t i = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), i++) {
        st_slice k = st_iter_key(it);
        if (i >= n) fail_msg("scan: extra key %.*s after %zu", (int)k.len, (const char *)k.data, n);
        if (st_slice_cmp(k, st_slice_str(want[i])) != 0)
            fail_msg("scan: key %zu is %.*s, expected %s", i, (int)k.len, (const char *)k.data, want[i]);
        if (vals) assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(vals[i])), 0);
    }
    assert_int_equal(st_iter_status(it), 0);
    if (i != n) fail_msg("scan: %zu keys, expected %zu", i, n);
}

/* expect_scan backward: from seek_last the keys must be want[n - 1] down to want[0]. */
static void expect_scan_back(st_iter *it, const char *const *want, const char *const *vals, size_t n) {
    size_t i = 0;
    for (st_iter_seek_last(it); st_iter_valid(it); st_iter_prev(it), i++) {
        st_slice k = st_iter_key(it);
        if (i >= n) fail_msg("backward scan: extra key %.*s after %zu", (int)k.len, (const char *)k.data, n);
        if (st_slice_cmp(k, st_slice_str(want[n - 1 - i])) != 0)
            fail_msg("backward scan: key %zu is %.*s, expected %s", i, (int)k.len, (const char *)k.data,
                     want[n - 1 - i]);
        if (vals) assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(vals[n - 1 - i])), 0);
    }
    assert_int_equal(st_iter_status(it), 0);
    if (i != n) fail_msg("backward scan: %zu keys, expected %zu", i, n);
}

/* The iterator is on key k with value v (v NULL: any), or invalid with status 0 when k is NULL. */
static void expect_at(st_iter *it, const char *k, const char *v) {
    if (!k) {
        if (st_iter_valid(it))
            fail_msg("expected the end, at %.*s", (int)st_iter_key(it).len, (const char *)st_iter_key(it).data);
        assert_int_equal(st_iter_status(it), 0);
        return;
    }
    if (!st_iter_valid(it)) fail_msg("expected %s, iterator invalid (%s)", k, st_strerror(st_iter_status(it)));
    st_slice key = st_iter_key(it);
    if (st_slice_cmp(key, st_slice_str(k)) != 0)
        fail_msg("expected %s, at %.*s", k, (int)key.len, (const char *)key.data);
    if (v && st_slice_cmp(st_iter_value(it), st_slice_str(v)) != 0)
        fail_msg("%s: value %.*s, expected %s", k, (int)st_iter_value(it).len, (const char *)st_iter_value(it).data, v);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        p[i] = (uint8_t)(s >> 16);
    }
}

/* ---- open and close ------------------------------------------------------------------------- */

static void test_db_put_get_delete_survive_reopen(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "a", "1");
    put_str(x, "b", "2");
    expect_get(x, "a", "1");
    expect_get(x, "b", "2");
    expect_get(x, "c", NULL);
    put_str(x, "a", "3");
    del_str(x, "b");
    del_str(x, "never-written");
    expect_get(x, "a", "3");
    expect_get(x, "b", NULL);
    db_reopen(x);
    expect_get(x, "a", "3");
    expect_get(x, "b", NULL);
    expect_get(x, "never-written", NULL);
    put_str(x, "b", "4");
    expect_get(x, "b", "4");
    db_reopen(x);
    expect_get(x, "b", "4");
}

static void expect_open_einval(const char *dir, const st_options *o, const char *needle) {
    st_db *db = (st_db *)&db;
    int rc = st_db_open(dir, o, &db);
    if (rc != ST_EINVAL) {
        if (rc == 0) st_db_close(db);
        fail_msg("open: %s, expected ST_EINVAL", st_strerror(rc));
    }
    assert_null(db);
    if (needle && !strstr(st_errmsg(), needle)) fail_msg("st_errmsg() = \"%s\" lacks \"%s\"", st_errmsg(), needle);
}

static void test_db_open_validates_options(void **state) {
    fx *x = *state;
    char *sub = st_test_path(x->dir, "db");
    assert_non_null(sub);
    st_options o;

    memset(&o, 0, sizeof o);
    expect_open_einval(sub, &o, "st_options_default");
    memset(&o, 0xa5, sizeof o);
    expect_open_einval(sub, &o, "st_options_default");
    expect_open_einval(sub, NULL, "st_options_default");

    const int bad_modes[] = {0, 4, -1};
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        st_options_default(&o);
        o.sync_mode = (st_sync_mode)bad_modes[i];
        expect_open_einval(sub, &o, "sync_mode");
    }
    st_options_default(&o);
    o.write_buffer_bytes = 1024;
    expect_open_einval(sub, &o, "write_buffer_bytes");
    st_options_default(&o);
    o.max_immutable = 0;
    expect_open_einval(sub, &o, "max_immutable");
    st_options_default(&o);
    o.codec = (st_codec)3;
    expect_open_einval(sub, &o, "codec");
    st_options_default(&o);
    o.max_batch_bytes = 10;
    expect_open_einval(sub, &o, "max_batch_bytes");
    st_options_default(&o);
    o.memory_limit_bytes = 1u << 20;
    expect_open_einval(sub, &o, "memory_limit_bytes");
    st_options_default(&o);
    expect_open_einval("", &o, NULL);

    /* rejected options touch nothing on disk */
    assert_false(st_io_exists(sub));
    st_options_default(&o);
    st_db *db;
    assert_int_equal(st_db_open(sub, &o, &db), 0);
    assert_int_equal(st_db_close(db), 0);
    assert_true(st_io_exists(sub));
    free(sub);
}

static void test_db_open_without_create_if_missing_on_empty_dir_is_einval(void **state) {
    fx *x = *state;
    x->opts.create_if_missing = false;
    expect_open_einval(x->dir, &x->opts, "create_if_missing");
    char *cur = st_test_path(x->dir, "CURRENT");
    assert_false(st_io_exists(cur));
    /* once a database exists, the flag does not matter */
    x->opts.create_if_missing = true;
    db_open(x);
    put_str(x, "k", "v");
    db_close(x);
    assert_true(st_io_exists(cur));
    x->opts.create_if_missing = false;
    db_open(x);
    expect_get(x, "k", "v");
    free(cur);
}

static void test_db_error_if_exists_is_eexist(void **state) {
    fx *x = *state;
    x->opts.error_if_exists = true;
    db_open(x); /* a new database is fine */
    put_str(x, "k", "v");
    db_close(x);
    st_db *db = (st_db *)&db;
    assert_int_equal(st_db_open(x->dir, &x->opts, &db), ST_EEXIST);
    assert_null(db);
    x->opts.error_if_exists = false;
    db_open(x);
    expect_get(x, "k", "v");
}

static void test_db_second_open_while_open_is_ebusy(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "k", "v");
    st_db *db2 = (st_db *)&db2;
    assert_int_equal(st_db_open(x->dir, &x->opts, &db2), ST_EBUSY);
    assert_null(db2);
    assert_non_null(strstr(st_errmsg(), "LOCK"));
    /* the failed open disturbed nothing */
    put_str(x, "k2", "v2");
    expect_get(x, "k", "v");
    db_close(x);
    db_open(x);
    expect_get(x, "k2", "v2");
}

/* ---- values and keys ------------------------------------------------------------------------ */

static void test_db_empty_and_1mib_values(void **state) {
    fx *x = *state;
    db_open(x);
    const size_t big_len = 1u << 20;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    fill_pattern(big, big_len, 7);
    put(x, st_slice_str("empty"), st_slice_make("", 0));
    put(x, st_slice_str("big"), st_slice_make(big, big_len));
    for (int round = 0; round < 3; round++) {
        /* memtable, then L0 table, then after reopen */
        expect_get_at(x, NULL, st_slice_str("empty"), "", 0);
        expect_get_at(x, NULL, st_slice_str("big"), big, big_len);
        st_iter *it;
        assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
        x->it[0] = it;
        st_iter_seek_first(it);
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str("big")), 0);
        assert_int_equal(st_iter_value(it).len, big_len);
        assert_memory_equal(st_iter_value(it).data, big, big_len);
        st_iter_next(it);
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str("empty")), 0);
        assert_int_equal(st_iter_value(it).len, 0);
        st_iter_next(it);
        assert_false(st_iter_valid(it));
        assert_int_equal(st_iter_status(it), 0);
        st_iter_free(it);
        x->it[0] = NULL;
        if (round == 0) assert_int_equal(st_db_flush(x->db), 0);
        if (round == 1) db_reopen(x);
    }
    free(big);
}

static void test_db_binary_keys(void **state) {
    fx *x = *state;
    db_open(x);
    /* bytewise order, with NULs, 0xff and prefixes of each other */
    static const struct {
        uint8_t b[4];
        size_t n;
    } keys[] = {
        {{0}, 0},
        {{0x00}, 1},
        {{0x00, 0x00}, 2},
        {{0x00, 0xff}, 2},
        {{'a'}, 1},
        {{'a', 0x00}, 2},
        {{'a', 0x00, 0x00}, 3},
        {{'a', 0x01}, 2},
        {{'a', 0xff}, 2},
        {{0xff}, 1},
        {{0xff, 0xff, 0xff, 0xff}, 4},
    };
    const size_t nk = sizeof keys / sizeof keys[0];
    char v[24]; /* "v" + any size_t */
    /* insert in reverse so order is the engine's doing */
    for (size_t i = nk; i-- > 0;) {
        snprintf(v, sizeof v, "v%zu", i);
        put(x, st_slice_make(keys[i].b, keys[i].n), st_slice_str(v));
    }
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < nk; i++) {
            snprintf(v, sizeof v, "v%zu", i);
            expect_get_at(x, NULL, st_slice_make(keys[i].b, keys[i].n), v, strlen(v));
        }
        uint8_t absent[2] = {'a', 0x02};
        expect_get_at(x, NULL, st_slice_make(absent, 2), NULL, 0);
        st_iter *it;
        assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
        x->it[0] = it;
        size_t i = 0;
        for (st_iter_seek_first(it); st_iter_valid(it) && i < nk; st_iter_next(it), i++) {
            assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_make(keys[i].b, keys[i].n)), 0);
            snprintf(v, sizeof v, "v%zu", i);
            assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(v)), 0);
        }
        assert_int_equal(i, nk);
        assert_false(st_iter_valid(it));
        assert_int_equal(st_iter_status(it), 0);
        st_iter_free(it);
        x->it[0] = NULL;
        if (round == 0) assert_int_equal(st_db_flush(x->db), 0);
        if (round == 1) db_reopen(x);
    }
}

/* ---- snapshots and iterators ---------------------------------------------------------------- */

static void test_db_snapshot_reads_see_their_point_in_time(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "k", "v1");
    put_str(x, "j", "j1");
    assert_int_equal(st_db_snapshot(x->db, &x->snap[0]), 0);
    put_str(x, "k", "v2");
    del_str(x, "j");
    put_str(x, "new", "n");
    assert_int_equal(st_db_snapshot(x->db, &x->snap[1]), 0);
    put_str(x, "k", "v3");
    assert_true(st_snapshot_seq(x->snap[0]) < st_snapshot_seq(x->snap[1]));
    assert_int_equal(st_snapshot_seq(x->snap[1]), stats(x).last_seq - 1);

    for (int round = 0; round < 2; round++) {
        expect_get_at(x, x->snap[0], st_slice_str("k"), "v1", 2);
        expect_get_at(x, x->snap[0], st_slice_str("j"), "j1", 2);
        expect_get_at(x, x->snap[0], st_slice_str("new"), NULL, 0);
        expect_get_at(x, x->snap[1], st_slice_str("k"), "v2", 2);
        expect_get_at(x, x->snap[1], st_slice_str("j"), NULL, 0);
        expect_get_at(x, x->snap[1], st_slice_str("new"), "n", 1);
        expect_get(x, "k", "v3");
        st_read_options ro = {.snapshot = x->snap[0]};
        assert_int_equal(st_db_iter_new(x->db, &ro, &x->it[0]), 0);
        const char *k0[] = {"j", "k"}, *v0[] = {"j1", "v1"};
        expect_scan(x->it[0], k0, v0, 2);
        expect_scan_back(x->it[0], k0, v0, 2);
        ro.snapshot = x->snap[1];
        assert_int_equal(st_db_iter_new(x->db, &ro, &x->it[1]), 0);
        const char *k1[] = {"k", "new"}, *v1[] = {"v2", "n"};
        expect_scan(x->it[1], k1, v1, 2);
        expect_scan_back(x->it[1], k1, v1, 2);
        for (int i = 0; i < 2; i++) {
            st_iter_free(x->it[i]);
            x->it[i] = NULL;
        }
        /* the same answers once everything is in an L0 table */
        if (round == 0) assert_int_equal(st_db_flush(x->db), 0);
    }
    assert_int_equal(stats(x).level_files[0], 1);
    /* released out of order */
    st_db_snapshot_release(x->db, x->snap[0]);
    x->snap[0] = NULL;
    expect_get_at(x, x->snap[1], st_slice_str("k"), "v2", 2);
    st_db_snapshot_release(x->db, x->snap[1]);
    x->snap[1] = NULL;
    st_db_snapshot_release(x->db, NULL);
}

static void key_of(char *out, size_t cap, int i) { snprintf(out, cap, "k%02d", i); }

static void test_db_iterator_bounds(void **state) {
    fx *x = *state;
    db_open(x);
    char k[16], v[16];
    /* even keys into an L0 table, odd ones in the memtable, a few deleted */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = pass; i < 100; i += 2) {
            key_of(k, sizeof k, i);
            snprintf(v, sizeof v, "v%d", i);
            put_str(x, k, v);
        }
        if (pass == 0) assert_int_equal(st_db_flush(x->db), 0);
    }
    del_str(x, "k14");
    del_str(x, "k15");

    uint8_t lower[8], upper[8];
    memcpy(lower, "k10", 3);
    memcpy(upper, "k20", 3);
    st_read_options ro = {.lower = st_slice_make(lower, 3), .upper = st_slice_make(upper, 3)};
    assert_int_equal(st_db_iter_new(x->db, &ro, &x->it[0]), 0);
    /* the bounds were copied */
    memcpy(lower, "k00", 3);
    memcpy(upper, "k99", 3);
    const char *want[] = {"k10", "k11", "k12", "k13", "k16", "k17", "k18", "k19"};
    expect_scan(x->it[0], want, NULL, 8);
    st_iter *it = x->it[0];
    /* seeks are clamped to the range */
    st_iter_seek(it, st_slice_str("k05"));
    assert_true(st_iter_valid(it));
    assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str("k10")), 0);
    st_iter_seek(it, st_slice_str("k14"));
    assert_true(st_iter_valid(it));
    assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str("k16")), 0);
    assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str("v16")), 0);
    st_iter_seek(it, st_slice_str("k20"));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_seek(it, st_slice_str("k195"));
    assert_false(st_iter_valid(it));

    /* Backward: seek_last starts below upper, seek_for_prev is clamped to it, prev stops at
     * lower, and deleted keys are skipped. */
    expect_scan_back(it, want, NULL, 8);
    st_iter_seek_for_prev(it, st_slice_str("k25"));
    expect_at(it, "k19", "v19");
    st_iter_seek_for_prev(it, st_slice_str("k20"));
    expect_at(it, "k19", "v19");
    st_iter_seek_for_prev(it, st_slice_str("k16"));
    expect_at(it, "k16", "v16");
    st_iter_seek_for_prev(it, st_slice_str("k15"));
    expect_at(it, "k13", "v13");
    st_iter_seek_for_prev(it, st_slice_str("k10"));
    expect_at(it, "k10", "v10");
    st_iter_prev(it);
    expect_at(it, NULL, NULL);
    st_iter_seek_for_prev(it, st_slice_str("k095"));
    expect_at(it, NULL, NULL);
    st_iter_seek_for_prev(it, st_slice_str("k"));
    expect_at(it, NULL, NULL);
    /* turning around at both bounds and across the deleted keys */
    st_iter_seek_for_prev(it, st_slice_str("k10"));
    st_iter_next(it);
    expect_at(it, "k11", "v11");
    st_iter_prev(it);
    expect_at(it, "k10", "v10");
    st_iter_seek(it, st_slice_str("k16"));
    st_iter_prev(it);
    expect_at(it, "k13", "v13");
    st_iter_next(it);
    expect_at(it, "k16", "v16");
    st_iter_seek_last(it);
    st_iter_next(it);
    expect_at(it, NULL, NULL);

    /* lower only, upper only */
    st_read_options lo = {.lower = st_slice_str("k97")};
    assert_int_equal(st_db_iter_new(x->db, &lo, &x->it[1]), 0);
    const char *tail[] = {"k97", "k98", "k99"};
    expect_scan(x->it[1], tail, NULL, 3);
    expect_scan_back(x->it[1], tail, NULL, 3);
    st_read_options up = {.upper = st_slice_str("k03")};
    assert_int_equal(st_db_iter_new(x->db, &up, &x->it[2]), 0);
    const char *head[] = {"k00", "k01", "k02"};
    expect_scan(x->it[2], head, NULL, 3);
    expect_scan_back(x->it[2], head, NULL, 3);
    st_iter_seek_for_prev(x->it[2], st_slice_str("k99"));
    expect_at(x->it[2], "k02", "v2");
    /* an empty range */
    st_read_options none = {.lower = st_slice_str("k50"), .upper = st_slice_str("k50")};
    assert_int_equal(st_db_iter_new(x->db, &none, &x->it[3]), 0);
    expect_scan(x->it[3], NULL, NULL, 0);
    expect_scan_back(x->it[3], NULL, NULL, 0);
    st_iter_seek_for_prev(x->it[3], st_slice_str("k50"));
    expect_at(x->it[3], NULL, NULL);
    st_iter_free(x->it[3]);
    st_read_options inverted = {.lower = st_slice_str("k60"), .upper = st_slice_str("k40")};
    assert_int_equal(st_db_iter_new(x->db, &inverted, &x->it[3]), 0);
    expect_scan(x->it[3], NULL, NULL, 0);
    expect_scan_back(x->it[3], NULL, NULL, 0);
    st_iter_seek_for_prev(x->it[3], st_slice_str("k50"));
    expect_at(x->it[3], NULL, NULL);
}

/* Versions of the same keys in L1, L0 and the memtable, with tombstones at each level and
 * snapshots between them: backward iteration returns, per user key, the newest version visible
 * at the iterator's sequence number, exactly as forward does, and turning around anywhere keeps
 * to it. */
static void test_db_iterator_backward_sees_newest_visible_version_across_levels(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "a", "a1");
    put_str(x, "b", "b1");
    put_str(x, "c", "c1");
    put_str(x, "d", "d1");
    put_str(x, "f", "f1");
    assert_int_equal(st_db_compact_range(x->db, NULL, NULL), 0); /* into L1 */
    assert_int_equal(st_db_snapshot(x->db, &x->snap[0]), 0);
    put_str(x, "b", "b2");
    del_str(x, "c");
    put_str(x, "e", "e2");
    del_str(x, "f");
    assert_int_equal(st_db_flush(x->db), 0); /* into L0 */
    assert_int_equal(st_db_snapshot(x->db, &x->snap[1]), 0);
    put_str(x, "a", "a3");
    del_str(x, "b");
    put_str(x, "c", "c3");
    put_str(x, "e", "e3");
    put_str(x, "e", "e4"); /* two versions in the memtable */
    del_str(x, "d");
    put_str(x, "d", "d3"); /* deleted and put again in the memtable */
    st_stats s = stats(x);
    assert_int_equal(s.level_files[0], 1);
    assert_true(s.level_files[1] >= 1 || s.level_files[2] >= 1 || s.level_files[6] >= 1);

    const char *k0[] = {"a", "b", "c", "d", "f"}, *v0[] = {"a1", "b1", "c1", "d1", "f1"};
    const char *k1[] = {"a", "b", "d", "e"}, *v1[] = {"a1", "b2", "d1", "e2"};
    const char *k2[] = {"a", "c", "d", "e"}, *v2[] = {"a3", "c3", "d3", "e4"};
    const st_snapshot *views[3] = {x->snap[0], x->snap[1], NULL};
    const char *const *keys[3] = {k0, k1, k2}, *const *vals[3] = {v0, v1, v2};
    const size_t n[3] = {5, 4, 4};
    for (int round = 0; round < 2; round++) {
        for (int w = 0; w < 3; w++) {
            st_read_options ro = {.snapshot = views[w]};
            assert_int_equal(st_db_iter_new(x->db, &ro, &x->it[w]), 0);
            expect_scan_back(x->it[w], keys[w], vals[w], n[w]);
            expect_scan(x->it[w], keys[w], vals[w], n[w]);
        }
        st_iter *it = x->it[2]; /* the present: a3 c3 d3 e4 */
        st_iter_seek_for_prev(it, st_slice_str("b"));
        expect_at(it, "a", "a3");
        st_iter_next(it);
        expect_at(it, "c", "c3");
        st_iter_next(it);
        expect_at(it, "d", "d3");
        st_iter_prev(it);
        expect_at(it, "c", "c3");
        st_iter_prev(it);
        expect_at(it, "a", "a3");
        st_iter_prev(it);
        expect_at(it, NULL, NULL);
        st_iter_seek(it, st_slice_str("e"));
        st_iter_prev(it);
        expect_at(it, "d", "d3");
        st_iter_next(it);
        expect_at(it, "e", "e4");
        st_iter_next(it);
        expect_at(it, NULL, NULL);
        it = x->it[1]; /* snapshot 1: a1 b2 d1 e2; c and f deleted in L0 */
        st_iter_seek_for_prev(it, st_slice_str("c"));
        expect_at(it, "b", "b2");
        st_iter_next(it);
        expect_at(it, "d", "d1");
        st_iter_seek_for_prev(it, st_slice_str("z"));
        expect_at(it, "e", "e2");
        st_iter_seek_for_prev(it, st_slice_str("f"));
        expect_at(it, "e", "e2");
        it = x->it[0]; /* snapshot 0: everything from L1 */
        st_iter_seek_for_prev(it, st_slice_str("e"));
        expect_at(it, "d", "d1");
        st_iter_next(it);
        expect_at(it, "f", "f1");
        st_iter_prev(it);
        expect_at(it, "d", "d1");
        for (int w = 0; w < 3; w++) {
            st_iter_free(x->it[w]);
            x->it[w] = NULL;
        }
        /* the same views once the memtable is a second L0 table */
        if (round == 0) assert_int_equal(st_db_flush(x->db), 0);
    }
}

/* A key rewritten many times keeps its versions in the memtable: iterators seek past them after a
 * few steps (db_iter.c) instead of stepping over each. Versions older than a snapshot's, newer than
 * it, a deleted run and a re-put key, in both directions and at turnarounds, before and after a
 * flush. */
static void put_versions(fx *x, const char *k, const char *prefix, int from, int to) {
    char v[32];
    for (int i = from; i < to; i++) {
        snprintf(v, sizeof v, "%s%d", prefix, i);
        put_str(x, k, v);
    }
}

static void test_db_iterator_steps_over_many_versions(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "a", "a0");
    put_str(x, "z", "z0");
    put_str(x, "n", "n0");
    assert_int_equal(st_db_snapshot(x->db, &x->snap[0]), 0); /* a n z */
    put_versions(x, "k", "k", 0, 10);
    assert_int_equal(st_db_snapshot(x->db, &x->snap[1]), 0); /* k9 */
    put_versions(x, "k", "k", 10, 30);
    assert_int_equal(st_db_snapshot(x->db, &x->snap[2]), 0); /* k29 */
    put_versions(x, "k", "k", 30, 40);
    put_versions(x, "n", "n", 1, 31); /* newer than every snapshot so far */
    put_versions(x, "d", "d", 0, 30);
    del_str(x, "d");
    assert_int_equal(st_db_snapshot(x->db, &x->snap[3]), 0); /* d deleted */
    put_versions(x, "d", "d", 30, 50);

    const char *k0[] = {"a", "n", "z"}, *v0[] = {"a0", "n0", "z0"};
    const char *k1[] = {"a", "k", "n", "z"}, *v1[] = {"a0", "k9", "n0", "z0"};
    const char *k2[] = {"a", "k", "n", "z"}, *v2[] = {"a0", "k29", "n0", "z0"};
    const char *k3[] = {"a", "k", "n", "z"}, *v3[] = {"a0", "k39", "n30", "z0"};
    const char *k4[] = {"a", "d", "k", "n", "z"}, *v4[] = {"a0", "d49", "k39", "n30", "z0"};
    const st_snapshot *views[5] = {x->snap[0], x->snap[1], x->snap[2], x->snap[3], NULL};
    const char *const *keys[5] = {k0, k1, k2, k3, k4}, *const *vals[5] = {v0, v1, v2, v3, v4};
    const size_t n[5] = {3, 4, 4, 4, 5};
    for (int round = 0; round < 2; round++) {
        for (int w = 0; w < 5; w++) {
            st_read_options ro = {.snapshot = views[w]};
            assert_int_equal(st_db_iter_new(x->db, &ro, &x->it[w]), 0);
            expect_scan(x->it[w], keys[w], vals[w], n[w]);
            expect_scan_back(x->it[w], keys[w], vals[w], n[w]);
        }
        st_iter *it = x->it[4]; /* the present */
        st_iter_seek_for_prev(it, st_slice_str("k"));
        expect_at(it, "k", "k39");
        st_iter_prev(it);
        expect_at(it, "d", "d49");
        st_iter_next(it);
        expect_at(it, "k", "k39");
        st_iter_next(it);
        expect_at(it, "n", "n30");
        st_iter_prev(it);
        expect_at(it, "k", "k39");
        st_iter_seek(it, st_slice_str("b"));
        expect_at(it, "d", "d49");
        it = x->it[1]; /* k9, and n0 under 30 newer versions */
        st_iter_seek(it, st_slice_str("k"));
        expect_at(it, "k", "k9");
        st_iter_next(it);
        expect_at(it, "n", "n0");
        st_iter_prev(it);
        expect_at(it, "k", "k9");
        st_iter_seek_for_prev(it, st_slice_str("p"));
        expect_at(it, "n", "n0");
        it = x->it[3]; /* d deleted under 20 newer puts */
        st_iter_seek_for_prev(it, st_slice_str("j"));
        expect_at(it, "a", "a0");
        st_iter_next(it);
        expect_at(it, "k", "k39");
        for (int w = 0; w < 5; w++) {
            st_iter_free(x->it[w]);
            x->it[w] = NULL;
        }
        if (round == 0) assert_int_equal(st_db_flush(x->db), 0); /* the same, from an L0 table */
    }
}

static void test_db_iterator_is_point_in_time_across_flush(void **state) {
    fx *x = *state;
    db_open(x);
    char k[16], v[16];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "old%d", i);
        put_str(x, k, v);
    }
    assert_int_equal(st_db_iter_new(x->db, NULL, &x->it[0]), 0);
    /* change everything, then flush: the iterator's memtable becomes a table under it */
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "new%d", i);
        if (i % 5 == 0) del_str(x, k);
        else put_str(x, k, v);
    }
    put_str(x, "key0005", "inserted");
    assert_int_equal(st_db_flush(x->db), 0);
    assert_int_equal(stats(x).level_files[0], 1);
    assert_int_equal(stats(x).immutable_count, 0);

    int i = 0;
    st_iter *it = x->it[0];
    for (st_iter_seek_first(it); st_iter_valid(it) && i < 1000; st_iter_next(it), i++) {
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "old%d", i);
        assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str(k)), 0);
        assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(v)), 0);
    }
    assert_int_equal(i, 200);
    assert_int_equal(st_iter_status(it), 0);
    /* and backward, from a table that replaced its memtable */
    for (st_iter_seek_last(it); st_iter_valid(it) && i > 0; st_iter_prev(it)) {
        i--;
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "old%d", i);
        assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str(k)), 0);
        assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(v)), 0);
    }
    assert_int_equal(i, 0);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);

    /* a new iterator sees the new state */
    assert_int_equal(st_db_iter_new(x->db, NULL, &x->it[1]), 0);
    it = x->it[1];
    int n = 0, inserted = 0;
    for (st_iter_seek_first(it); st_iter_valid(it) && n < 1000; st_iter_next(it), n++) {
        st_slice key = st_iter_key(it);
        if (st_slice_cmp(key, st_slice_str("key0005")) == 0) inserted++;
        else assert_int_equal(st_iter_value(it).data[0], 'n');
    }
    assert_int_equal(n, 200 - 40 + 1);
    assert_int_equal(inserted, 1);
    assert_int_equal(st_iter_status(it), 0);
}

/* ---- flush and stats ------------------------------------------------------------------------ */

static void test_db_flush_writes_l0_tables(void **state) {
    fx *x = *state;
    db_open(x);
    st_stats s = stats(x);
    assert_int_equal(s.level_files[0], 0);
    assert_int_equal(st_db_flush(x->db), 0); /* nothing to flush: no empty table */
    assert_int_equal(stats(x).level_files[0], 0);
    char k[16];
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 100; i++) {
            snprintf(k, sizeof k, "t%d-%03d", t, i);
            put_str(x, k, k);
        }
        assert_int_equal(st_db_flush(x->db), 0);
        s = stats(x);
        assert_int_equal(s.level_files[0], (uint64_t)t + 1);
        assert_int_equal(s.flushes, (uint64_t)t + 1);
        assert_int_equal(s.immutable_count, 0);
    }
    assert_int_equal(st_db_flush(x->db), 0);
    s = stats(x);
    assert_int_equal(s.level_files[0], 2);
    assert_true(s.flush_bytes > 0);
    assert_true(s.level_bytes[0] > 0);
    for (int l = 1; l < ST_MAX_LEVELS; l++) assert_int_equal(s.level_files[l], 0);
    db_reopen(x);
    s = stats(x);
    assert_int_equal(s.level_files[0], 2); /* the WAL was empty: recovery adds no table */
    assert_int_equal(s.flushes, 0);        /* counters are per open */
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 100; i += 9) {
            snprintf(k, sizeof k, "t%d-%03d", t, i);
            expect_get(x, k, k);
        }
    assert_true(stats(x).block_reads > 0);
}

static void test_db_stats_counters_move(void **state) {
    fx *x = *state;
    x->opts.sync_mode = ST_SYNC_ALWAYS;
    db_open(x);
    st_stats s0 = stats(x);
    assert_int_equal(s0.last_seq, 0);
    assert_int_equal(s0.wal_syncs, 0);
    put_str(x, "a", "1");
    put_str(x, "b", "2");
    put_str(x, "c", "3");
    del_str(x, "b");
    assert_int_equal(st_batch_put(x->b, st_slice_str("d"), st_slice_str("4")), 0);
    assert_int_equal(st_batch_delete(x->b, st_slice_str("a")), 0);
    assert_int_equal(st_db_write(x->db, x->b, 0, NULL), 0);
    expect_get(x, "c", "3");
    expect_get(x, "b", NULL);
    st_stats s = stats(x);
    assert_int_equal(s.puts, 3);
    assert_int_equal(s.deletes, 1);
    assert_int_equal(s.batches, 5);
    assert_int_equal(s.gets, 2);
    assert_int_equal(s.get_hits, 1);
    assert_int_equal(s.last_seq, 6);
    assert_int_equal(s.synced_seq, 6);
    /* one thread: every commit needs its own fdatasync */
    assert_int_equal(s.wal_syncs, 5);
    assert_true(s.wal_bytes > 5 * 7);
    assert_true(s.memtable_bytes > 0);
    assert_int_equal(s.immutable_count, 0);
    db_reopen(x);
    s = stats(x);
    assert_int_equal(s.last_seq, 6);
    assert_int_equal(s.synced_seq, 6);
    assert_int_equal(s.puts, 0);
}

/* ---- group commit --------------------------------------------------------------------------- */

#define GC_THREADS 4
#define GC_PUTS 500

typedef struct gc_arg {
    st_db *db;
    int id;
    int failures;
    int first_rc;
} gc_arg;

static void *gc_worker(void *p) {
    gc_arg *a = p;
    char k[32], v[32];
    for (int i = 0; i < GC_PUTS; i++) {
        snprintf(k, sizeof k, "t%d-%04d", a->id, i);
        snprintf(v, sizeof v, "value-%d-%d", a->id, i);
        int rc = st_db_put(a->db, st_slice_str(k), st_slice_str(v));
        if (rc && !a->failures++) a->first_rc = rc;
    }
    return NULL;
}

static void test_db_group_commit_shares_fdatasyncs(void **state) {
    fx *x = *state;
    x->opts.sync_mode = ST_SYNC_ALWAYS;
    db_open(x);
    pthread_t t[GC_THREADS];
    gc_arg a[GC_THREADS];
    for (int i = 0; i < GC_THREADS; i++) {
        a[i] = (gc_arg){x->db, i, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, gc_worker, &a[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < GC_THREADS; i++)
        if (a[i].failures)
            fail_msg("thread %d: %d puts failed, first %s", i, a[i].failures, st_strerror(a[i].first_rc));
    st_stats s = stats(x);
    const uint64_t total = GC_THREADS * GC_PUTS;
    assert_int_equal(s.puts, total);
    assert_int_equal(s.last_seq, total);
    assert_int_equal(s.synced_seq, total); /* ALWAYS: every acknowledged put is synced */
    printf("group commit: %llu puts, %llu fdatasyncs, %llu commits served by another's sync\n",
           (unsigned long long)total, (unsigned long long)s.wal_syncs, (unsigned long long)s.commits_grouped);
    assert_true(s.wal_syncs > 0);
    assert_true(s.wal_syncs < total);
    for (int round = 0; round < 2; round++) {
        char k[32], v[32];
        for (int id = 0; id < GC_THREADS; id++)
            for (int i = 0; i < GC_PUTS; i++) {
                snprintf(k, sizeof k, "t%d-%04d", id, i);
                snprintf(v, sizeof v, "value-%d-%d", id, i);
                expect_get(x, k, v);
            }
        if (round == 0) db_reopen(x);
    }
}

static void test_db_deferred_commit(void **state) {
    fx *x = *state;
    x->opts.sync_mode = ST_SYNC_ALWAYS;
    db_open(x);
    uint64_t lsn[3] = {0};
    for (int i = 0; i < 3; i++) {
        char k[16];
        snprintf(k, sizeof k, "d%d", i);
        st_batch_clear(x->b);
        assert_int_equal(st_batch_put(x->b, st_slice_str(k), st_slice_str("v")), 0);
        assert_int_equal(st_batch_put(x->b, st_slice_str("last"), st_slice_str(k)), 0);
        assert_int_equal(st_db_write(x->db, x->b, ST_WRITE_DEFER_COMMIT, &lsn[i]), 0);
        if (i) assert_int_equal(lsn[i], lsn[i - 1] + 2);
    }
    assert_int_equal(lsn[0], 2);
    st_stats s = stats(x);
    assert_int_equal(s.last_seq, lsn[2]);
    assert_true(s.synced_seq < lsn[0]); /* nothing committed yet */
    assert_int_equal(s.wal_syncs, 0);

    assert_int_equal(st_db_commit(x->db, lsn[1]), 0);
    s = stats(x);
    assert_true(s.synced_seq >= lsn[1]);
    uint64_t syncs = s.wal_syncs;
    assert_true(syncs >= 1);
    /* a covered lsn returns without another fdatasync */
    assert_int_equal(st_db_commit(x->db, lsn[0]), 0);
    assert_int_equal(st_db_commit(x->db, lsn[1]), 0);
    assert_int_equal(stats(x).wal_syncs, syncs);
    assert_int_equal(st_db_commit(x->db, lsn[2]), 0);
    assert_true(stats(x).synced_seq >= lsn[2]);

    /* a deferred write never committed is still made durable by a clean close */
    st_batch_clear(x->b);
    assert_int_equal(st_batch_put(x->b, st_slice_str("uncommitted"), st_slice_str("u")), 0);
    uint64_t l4;
    assert_int_equal(st_db_write(x->db, x->b, ST_WRITE_DEFER_COMMIT, &l4), 0);
    assert_true(l4 > lsn[2]);
    db_reopen(x);
    expect_get(x, "d0", "v");
    expect_get(x, "d2", "v");
    expect_get(x, "last", "d2");
    expect_get(x, "uncommitted", "u");
    assert_int_equal(stats(x).last_seq, l4);
}

/* ---- write stalls --------------------------------------------------------------------------- */

#define STALL_KEYS 1500

static void stall_value(char *out, size_t cap, int i, int gen) {
    int n = snprintf(out, cap, "%d-%d-", i, gen);
    for (size_t j = (size_t)n; j + 1 < cap; j++) out[j] = (char)('a' + (i + gen + (int)j) % 26);
    out[cap - 1] = 0;
}

static void check_stall_state(fx *x, const int *gen) {
    char k[16], v[200];
    for (int i = 0; i < STALL_KEYS; i++) {
        snprintf(k, sizeof k, "key%06d", i);
        if (gen[i] < 0) {
            expect_get(x, k, NULL);
        } else {
            stall_value(v, sizeof v, i, gen[i]);
            expect_get(x, k, v);
        }
    }
    st_iter *it;
    assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
    x->it[0] = it;
    int i = 0;
    st_iter_seek_first(it);
    for (; i < STALL_KEYS; i++) {
        if (gen[i] < 0) continue;
        snprintf(k, sizeof k, "key%06d", i);
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_iter_key(it), st_slice_str(k)), 0);
        stall_value(v, sizeof v, i, gen[i]);
        assert_int_equal(st_slice_cmp(st_iter_value(it), st_slice_str(v)), 0);
        st_iter_next(it);
    }
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    x->it[0] = NULL;
}

static void test_db_tiny_write_buffer_stalls_but_keeps_all_data(void **state) {
    fx *x = *state;
    x->opts.write_buffer_bytes = 16u << 10;
    x->opts.max_immutable = 1;
    db_open(x);
    int *gen = calloc(STALL_KEYS, sizeof *gen);
    assert_non_null(gen);
    char k[16], v[200];
    for (int i = 0; i < STALL_KEYS; i++) {
        snprintf(k, sizeof k, "key%06d", i);
        stall_value(v, sizeof v, i, 0);
        put_str(x, k, v);
    }
    /* a second generation: overwrites and deletes land in later memtables than the originals */
    for (int i = 0; i < STALL_KEYS; i += 3) {
        snprintf(k, sizeof k, "key%06d", i);
        if (i % 7 == 0) {
            del_str(x, k);
            gen[i] = -1;
        } else {
            gen[i] = 1;
            stall_value(v, sizeof v, i, 1);
            put_str(x, k, v);
        }
    }
    st_stats s = stats(x);
    printf("tiny buffer: %llu flushes, %llu write stalls, %llu L0 tables\n", (unsigned long long)s.flushes,
           (unsigned long long)s.write_stalls, (unsigned long long)s.level_files[0]);
    assert_true(s.flushes >= 10); /* ~400 KB through a 16 KiB buffer */
    assert_true(s.immutable_count <= 1);
    check_stall_state(x, gen);
    assert_int_equal(st_db_flush(x->db), 0);
    check_stall_state(x, gen);
    db_reopen(x);
    check_stall_state(x, gen);
    free(gen);
}

/* ---- concurrent writers ---------------------------------------------------------------------- */

enum { CW_THREADS = 4, CW_WRITES = 3000 };

typedef struct cw_arg {
    st_db *db;
    int id;
    char failure[160];
} cw_arg;

static void cw_fail(cw_arg *a, const char *what, const char *key, int rc) {
    if (!a->failure[0]) snprintf(a->failure, sizeof a->failure, "%s %s: %s", what, key, st_strerror(rc));
}

/* Each write is read back at once by the writer (read your own writes, whatever other writers
 * are still inserting); every fourth is a three-op batch that must show up whole. */
static void *cw_worker(void *p) {
    cw_arg *a = p;
    char k[3][32], v[3][48];
    for (int i = 0; i < CW_WRITES && !a->failure[0]; i++) {
        int n = i % 4 == 0 ? 3 : 1;
        st_batch *b = NULL;
        int rc = st_batch_new(&b);
        for (int j = 0; j < n && !rc; j++) {
            snprintf(k[j], sizeof k[j], "w%d-%05d-%d", a->id, i, j);
            snprintf(v[j], sizeof v[j], "value-%d-%d-%d-padding-padding", a->id, i, j);
            rc = st_batch_put(b, st_slice_str(k[j]), st_slice_str(v[j]));
        }
        if (!rc) rc = st_db_write(a->db, b, 0, NULL);
        st_batch_free(b);
        if (rc) {
            cw_fail(a, "write", k[0], rc);
            break;
        }
        for (int j = 0; j < n; j++) {
            uint8_t *got = NULL;
            size_t len = 0;
            rc = st_db_get(a->db, NULL, st_slice_str(k[j]), &got, &len);
            if (rc) cw_fail(a, "get right after write", k[j], rc);
            else if (len != strlen(v[j]) || memcmp(got, v[j], len))
                cw_fail(a, "wrong value right after write", k[j], 0);
            free(got);
        }
    }
    return NULL;
}

/* Writers insert into the memtable at once (only sequence numbers, the WAL append and the
 * memtable reservation are serialised); a small write buffer makes memtable switches happen in
 * the middle of it, which must wait for inserts in flight. Everything written is there, read by
 * its writer right away, after a flush and after a reopen. */
static void test_db_concurrent_writers_read_their_writes_across_switches(void **state) {
    fx *x = *state;
    x->opts.write_buffer_bytes = 64u << 10;
    x->opts.max_immutable = 2;
    db_open(x);
    pthread_t t[CW_THREADS];
    cw_arg a[CW_THREADS];
    for (int i = 0; i < CW_THREADS; i++) {
        a[i] = (cw_arg){.db = x->db, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, cw_worker, &a[i]), 0);
    }
    for (int i = 0; i < CW_THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < CW_THREADS; i++)
        if (a[i].failure[0]) fail_msg("writer %d: %s", i, a[i].failure);
    st_stats s = stats(x);
    const uint64_t per = (uint64_t)CW_WRITES + 2 * ((CW_WRITES + 3) / 4), total = CW_THREADS * per;
    assert_int_equal(s.last_seq, total);
    assert_true(s.flushes >= 5);
    printf("concurrent writers: %llu puts, %llu flushes\n", (unsigned long long)total, (unsigned long long)s.flushes);
    for (int round = 0; round < 3; round++) {
        if (round == 1) assert_int_equal(st_db_flush(x->db), 0);
        if (round == 2) db_reopen(x);
        char k[32], v[48];
        for (int id = 0; id < CW_THREADS; id++)
            for (int i = 0; i < CW_WRITES; i++)
                for (int j = 0; j < (i % 4 == 0 ? 3 : 1); j++) {
                    snprintf(k, sizeof k, "w%d-%05d-%d", id, i, j);
                    snprintf(v, sizeof v, "value-%d-%d-%d-padding-padding", id, i, j);
                    expect_get(x, k, v);
                }
    }
}

/* ---- poisoning ------------------------------------------------------------------------------ */

static void run_wal_failure(fx *x, enum st_io_fault_op op) {
    x->opts.sync_mode = ST_SYNC_ALWAYS;
    db_open(x);
    char k[16];
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "before%02d", i);
        put_str(x, k, k);
    }
    st_io_fault_arm(op, 1, EIO);
    assert_int_equal(st_db_put(x->db, st_slice_str("failing"), st_slice_str("x")), ST_EIO);
    st_io_fault_arm(op, 0, 0);
    /* D4: every later write is refused, whatever its path */
    assert_int_equal(st_db_put(x->db, st_slice_str("after"), st_slice_str("x")), ST_EFATAL);
    assert_int_equal(st_db_delete(x->db, st_slice_str("before00")), ST_EFATAL);
    assert_int_equal(st_batch_put(x->b, st_slice_str("after2"), st_slice_str("y")), 0);
    assert_int_equal(st_db_write(x->db, x->b, ST_WRITE_DEFER_COMMIT, NULL), ST_EFATAL);
    assert_int_equal(st_db_commit(x->db, 1), ST_EFATAL);
    assert_int_equal(st_db_flush(x->db), ST_EFATAL);
    /* reads still work */
    expect_get(x, "before00", "before00");
    expect_get(x, "after", NULL);
    st_db_close(x->db); /* its result is not the point: the wal is poisoned */
    x->db = NULL;

    db_open(x);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof k, "before%02d", i);
        expect_get(x, k, k);
    }
    expect_get(x, "after", NULL);
    expect_get(x, "after2", NULL);
    /* "failing" is in an unknown state: present or absent, but never a wrong value */
    uint8_t *v;
    size_t n;
    int rc = st_db_get(x->db, NULL, st_slice_str("failing"), &v, &n);
    if (rc == 0) {
        assert_int_equal(n, 1);
        assert_int_equal(v[0], 'x');
        free(v);
    } else {
        assert_int_equal(rc, ST_ENOTFOUND);
    }
    put_str(x, "new", "works");
    db_reopen(x);
    expect_get(x, "new", "works");
    expect_get(x, "before19", "before19");
}

static void test_db_wal_sync_failure_poisons_then_reopen_recovers(void **state) {
    run_wal_failure(*state, ST_FAULT_SYNC);
}

static void test_db_wal_write_failure_poisons_then_reopen_recovers(void **state) {
    run_wal_failure(*state, ST_FAULT_WRITE);
}

/* memory_limit_bytes: memtables take at most half, the cache the rest, and open tables' indexes
 * and filters come out of the cache's share: once the reads are done (nothing pinned), cached
 * blocks plus table readers fit in it, and the whole stays within the limit. */
static void test_db_memory_limit_bounds_memtables_cache_and_tables(void **state) {
    fx *x = *state;
    const uint64_t limit = 8u << 20;
    x->opts.memory_limit_bytes = limit;
    x->opts.level0_file_num_compaction_trigger = 64; /* keep many tables open */
    x->opts.level0_slowdown_writes_trigger = 200;
    x->opts.level0_stop_writes_trigger = 300;
    db_open(x);
    st_stats s = stats(x);
    size_t wb = (size_t)(limit / 2 / 3); /* default max_immutable 2: three memtables */
    assert_int_equal(s.memory_limit_bytes, limit);
    assert_int_equal(s.write_buffer_bytes, wb);
    assert_int_equal(s.cache_capacity_bytes, limit - 3 * wb);

    /* about 12 MiB of random keys: several flushes, tables whose filters and indexes count */
    enum { N = 100000 };
    char k[32];
    uint8_t v[100];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "%08x", (unsigned)(i * 2654435761u));
        fill_pattern(v, sizeof v, (uint32_t)i);
        put(x, st_slice_str(k), st_slice_make(v, sizeof v));
    }
    assert_int_equal(st_db_flush(x->db), 0);
    for (int i = 0; i < N; i += 7) {
        snprintf(k, sizeof k, "%08x", (unsigned)(i * 2654435761u));
        fill_pattern(v, sizeof v, (uint32_t)i);
        expect_get_at(x, NULL, st_slice_str(k), v, sizeof v);
    }
    s = stats(x);
    assert_true(s.open_tables >= 4);
    assert_true(s.table_reader_bytes > 0);
    assert_int_equal(s.cache_pinned_bytes, 0);
    assert_true(s.cache_usage_bytes + s.table_reader_bytes <= s.cache_capacity_bytes);
    assert_true(s.cache_usage_bytes > 0); /* the reads did fill it */
    assert_true(s.memory_bytes <= limit);
    assert_int_equal(s.memory_bytes,
                     s.memtable_bytes + s.immutable_bytes + s.cache_usage_bytes + s.table_reader_bytes);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_db_put_get_delete_survive_reopen),
        T(test_db_open_validates_options),
        T(test_db_open_without_create_if_missing_on_empty_dir_is_einval),
        T(test_db_error_if_exists_is_eexist),
        T(test_db_second_open_while_open_is_ebusy),
        T(test_db_empty_and_1mib_values),
        T(test_db_binary_keys),
        T(test_db_snapshot_reads_see_their_point_in_time),
        T(test_db_iterator_bounds),
        T(test_db_iterator_backward_sees_newest_visible_version_across_levels),
        T(test_db_iterator_steps_over_many_versions),
        T(test_db_iterator_is_point_in_time_across_flush),
        T(test_db_flush_writes_l0_tables),
        T(test_db_stats_counters_move),
        T(test_db_group_commit_shares_fdatasyncs),
        T(test_db_concurrent_writers_read_their_writes_across_switches),
        T(test_db_deferred_commit),
        T(test_db_tiny_write_buffer_stalls_but_keeps_all_data),
        T(test_db_wal_sync_failure_poisons_then_reopen_recovers),
        T(test_db_wal_write_failure_poisons_then_reopen_recovers),
        T(test_db_memory_limit_bounds_memtables_cache_and_tables),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
