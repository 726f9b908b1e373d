/* test_multiget.c -- st_db_multiget, whose table block reads go out in batches: every answer must
 * equal st_db_get's and a model's, at the current point and at a snapshot, with data spread over
 * the memtable, L0 and deeper levels; with no or a tiny block cache and one open file (every
 * lookup reads blocks, descriptors are evicted between batches); with every table O_DIRECT in a
 * cold tier; with keys sharing a block (one read); and with a corrupt data block (ST_ECORRUPT for
 * exactly its keys, every time, while the other keys still answer). Each batch is preceded by the
 * st_db_prefetch hint, which must change nothing. Runs on both io backends
 * (tests/CMakeLists.txt).
 * Every test runs in its own temporary directory; every loop is bounded; no sleeps. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "strata/st.h"

#define NKEYS 20000
#define ABSENT 2000 /* keys NKEYS..NKEYS+ABSENT-1 are never written */
#define MAX_BATCH 1000

typedef struct fx {
    char *dir;
    st_db *db;
    st_options opts;
    st_snapshot *snap;
    char *cold;    /* a tier's directory, freed after close (the options point at it) */
    int *gen;      /* model: gen[i] of key i, -1 absent or deleted */
    int *snap_gen; /* the model when snap was taken */
    st_rng rng;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("multiget");
    x->gen = malloc((NKEYS + ABSENT) * sizeof *x->gen);
    x->snap_gen = malloc((NKEYS + ABSENT) * sizeof *x->snap_gen);
    if (!x->dir || !x->gen || !x->snap_gen) {
        free(x->dir);
        free(x->gen);
        free(x->snap_gen);
        free(x);
        return -1;
    }
    for (int i = 0; i < NKEYS + ABSENT; i++) x->gen[i] = x->snap_gen[i] = -1;
    st_options_default(&x->opts);
    x->opts.sync_mode = ST_SYNC_NO;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    if (x->snap) st_db_snapshot_release(x->db, x->snap);
    st_db_close(x->db);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x->cold);
    free(x->gen);
    free(x->snap_gen);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void db_open(fx *x) {
    assert_null(x->db);
    int rc = st_db_open(x->dir, &x->opts, &x->db);
    if (rc) fail_msg("st_db_open: %s (%s)", st_strerror(rc), st_errmsg());
}

static void db_close(fx *x) {
    int rc = st_db_close(x->db);
    x->db = NULL;
    if (rc) fail_msg("st_db_close: %s (%s)", st_strerror(rc), st_errmsg());
}

static size_t key_of(int i, char *buf) { return (size_t)snprintf(buf, 32, "key%08d", i); }

/* Value of key i at generation g: 20..179 bytes, so ~40 entries share a 4 KiB block. */
static size_t value_of(int i, int g, char *buf) {
    size_t n = 20 + (size_t)((i * 7 + g * 13) % 160);
    int h = snprintf(buf, n + 1, "v%d.%d:", i, g);
    for (size_t k = (size_t)h; k < n; k++) buf[k] = (char)('a' + (i + g + (int)k) % 26);
    return n;
}

static void put(fx *x, int i, int g) {
    char k[32], v[200];
    size_t kl = key_of(i, k), vl = value_of(i, g, v);
    int rc = st_db_put(x->db, st_slice_make(k, kl), st_slice_make(v, vl));
    if (rc) fail_msg("put %d: %s (%s)", i, st_strerror(rc), st_errmsg());
    x->gen[i] = g;
}

static void del(fx *x, int i) {
    char k[32];
    size_t kl = key_of(i, k);
    int rc = st_db_delete(x->db, st_slice_make(k, kl));
    if (rc) fail_msg("delete %d: %s (%s)", i, st_strerror(rc), st_errmsg());
    x->gen[i] = -1;
}

static void flush(fx *x) {
    int rc = st_db_flush(x->db);
    if (rc) fail_msg("flush: %s (%s)", st_strerror(rc), st_errmsg());
}

static void compact_all(fx *x) {
    int rc = st_db_compact_range(x->db, NULL, NULL);
    if (rc) fail_msg("compact_range: %s (%s)", st_strerror(rc), st_errmsg());
}

static st_stats stats(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    return s;
}

/* Checks one answer against the model generation g (-1: must be absent). */
static void check_answer(int i, int g, int rc, const uint8_t *v, size_t n, const char *what) {
    if (g < 0) {
        if (rc != ST_ENOTFOUND) fail_msg("%s key %d: %s, expected not found", what, i, st_strerror(rc));
        assert_null(v);
        assert_int_equal(n, 0);
        return;
    }
    if (rc) fail_msg("%s key %d: %s (%s), expected gen %d", what, i, st_strerror(rc), st_errmsg(), g);
    char want[200];
    size_t wl = value_of(i, g, want);
    assert_non_null(v);
    if (n != wl || memcmp(v, want, n) != 0) fail_msg("%s key %d: wrong value (%zu bytes, want gen %d)", what, i, n, g);
    assert_int_equal(v[n], 0); /* the promised NUL */
}

/* One multiget of ids[0, n) at snapshot s (NULL: now), checked against the model `gen` and against
 * st_db_get of each key at the same point. */
static void check_batch(fx *x, const int *ids, size_t n, const st_snapshot *s, const int *gen) {
    static char kbuf[MAX_BATCH][32];
    st_slice keys[MAX_BATCH];
    uint8_t *vals[MAX_BATCH];
    size_t lens[MAX_BATCH];
    int sts[MAX_BATCH];
    assert_true(n <= MAX_BATCH);
    for (size_t j = 0; j < n; j++) keys[j] = st_slice_make(kbuf[j], key_of(ids[j], kbuf[j]));
    st_read_options ro = {.snapshot = s};
    /* The cache hint GET pipelines use: it must change no answer (it reads memtable buckets and
     * filters of every layer, and looks at the first ST_DB_PREFETCH_MAX keys only). */
    assert_int_equal(st_db_prefetch(x->db, n, keys), 0);
    assert_int_equal(st_db_multiget(x->db, s ? &ro : NULL, n, keys, vals, lens, sts), 0);
    for (size_t j = 0; j < n; j++) {
        check_answer(ids[j], gen[ids[j]], sts[j], vals[j], lens[j], "multiget");
        uint8_t *gv = NULL;
        size_t gl = 0;
        int grc = st_db_get(x->db, s ? &ro : NULL, keys[j], &gv, &gl);
        assert_int_equal(grc, sts[j]);
        assert_int_equal(gl, lens[j]);
        if (gl) assert_memory_equal(gv, vals[j], gl);
        free(gv);
        free(vals[j]);
    }
}

/* A random batch of n ids: written, never written and deleted keys, about one in eight repeating
 * an earlier id of the batch. */
static void random_ids(fx *x, int *ids, size_t n) {
    for (size_t j = 0; j < n; j++) {
        if (j && st_rng_below(&x->rng, 8) == 0) ids[j] = ids[st_rng_below(&x->rng, j)];
        else ids[j] = (int)st_rng_below(&x->rng, NKEYS + ABSENT);
    }
}

/* ---- against the model ---------------------------------------------------------------------- */

/* Fills the db so that a key's newest version may be in the memtable, in one of three L0 tables
 * or in a deeper level, with overwrites and deletes at every layer. The snapshot is taken in the
 * middle of the second L0 table's writes, and many keys written just before it are overwritten or
 * deleted just after it, so that table holds versions on both sides of the snapshot. */
static void load_layers(fx *x, int nkeys) {
    static int recent[NKEYS];
    db_open(x);
    for (int i = 0; i < nkeys; i++) put(x, i, 0);
    compact_all(x); /* generation 0 lives below L0 */
    for (int k = 0; k < nkeys / 8; k++) put(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys), 1);
    for (int k = 0; k < nkeys / 40; k++) del(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys));
    flush(x);
    int nrecent = nkeys / 8;
    for (int k = 0; k < nrecent; k++) {
        recent[k] = (int)st_rng_below(&x->rng, (uint64_t)nkeys);
        put(x, recent[k], 2);
    }
    assert_int_equal(st_db_snapshot(x->db, &x->snap), 0);
    memcpy(x->snap_gen, x->gen, (NKEYS + ABSENT) * sizeof *x->gen);
    for (int k = 0; k < nrecent / 2; k++) put(x, recent[st_rng_below(&x->rng, (uint64_t)nrecent)], 3);
    for (int k = 0; k < nrecent / 8; k++) del(x, recent[st_rng_below(&x->rng, (uint64_t)nrecent)]);
    flush(x);
    for (int k = 0; k < nkeys / 8; k++) put(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys), 4);
    for (int k = 0; k < nkeys / 40; k++) del(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys));
    flush(x); /* a third L0 table, all of it newer than the snapshot */
    for (int k = 0; k < nkeys / 20; k++) put(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys), 5);
    for (int k = 0; k < nkeys / 100; k++) del(x, (int)st_rng_below(&x->rng, (uint64_t)nkeys));
    /* generation 5 and its deletes stay in the memtable */
}

static void check_random_batches(fx *x, int rounds) {
    static const size_t sizes[] = {1, 7, 100, 1000};
    static int ids[MAX_BATCH];
    for (int round = 0; round < rounds; round++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            random_ids(x, ids, sizes[s]);
            check_batch(x, ids, sizes[s], NULL, x->gen);
            check_batch(x, ids, sizes[s], x->snap, x->snap_gen);
        }
}

static void test_multiget_matches_get_and_model_across_layers(void **state) {
    fx *x = *state;
    st_rng_seed(&x->rng, st_test_seed("multiget_model", 7));
    x->opts.write_buffer_bytes = 1u << 20; /* each round's writes fit: one L0 table per flush */
    x->opts.level0_file_num_compaction_trigger = 8; /* the three L0 tables stay in L0 */
    load_layers(x, NKEYS);
    st_stats s = stats(x);
    uint64_t deeper = 0;
    for (int l = 1; l < ST_MAX_LEVELS; l++) deeper += s.level_files[l];
    assert_int_equal(s.level_files[0], 3);
    assert_true(deeper >= 1);
    assert_true(s.memtable_bytes > 0);
    check_random_batches(x, 3);

    /* every key once, in order, in full batches: each layer answers many keys of one batch */
    static int ids[MAX_BATCH];
    for (int base = 0; base < NKEYS + ABSENT; base += MAX_BATCH) {
        for (int j = 0; j < MAX_BATCH; j++) ids[j] = base + j;
        check_batch(x, ids, MAX_BATCH, NULL, x->gen);
        check_batch(x, ids, MAX_BATCH, x->snap, x->snap_gen);
    }
    uint64_t gets = stats(x).gets;
    assert_true(gets > s.gets);
}

/* Edge cases: no keys at all, keys longer than the reader's inline lookup buffer, empty values,
 * and only memtable data. */
static void test_multiget_edge_cases(void **state) {
    fx *x = *state;
    db_open(x);
    assert_int_equal(st_db_multiget(x->db, NULL, 0, NULL, NULL, NULL, NULL), 0);

    static uint8_t longk[3][3000];
    st_slice keys[4];
    for (int i = 0; i < 3; i++) {
        memset(longk[i], 'a' + i, sizeof longk[i]);
        keys[i] = st_slice_make(longk[i], sizeof longk[i]);
    }
    keys[3] = st_slice_str("short");
    assert_int_equal(st_db_put(x->db, keys[0], st_slice_make("", 0)), 0);
    assert_int_equal(st_db_put(x->db, keys[1], st_slice_str("one")), 0);
    assert_int_equal(st_db_put(x->db, keys[3], st_slice_str("s")), 0);
    for (int pass = 0; pass < 2; pass++) { /* memtable, then a table */
        uint8_t *vals[4];
        size_t lens[4];
        int sts[4];
        assert_int_equal(st_db_prefetch(x->db, 0, NULL), 0);
        assert_int_equal(st_db_prefetch(x->db, 4, keys), 0);
        assert_int_equal(st_db_multiget(x->db, NULL, 4, keys, vals, lens, sts), 0);
        assert_int_equal(sts[0], 0);
        assert_int_equal(lens[0], 0);
        assert_non_null(vals[0]);
        assert_int_equal(vals[0][0], 0);
        assert_int_equal(sts[1], 0);
        assert_int_equal(lens[1], 3);
        assert_memory_equal(vals[1], "one", 3);
        assert_int_equal(sts[2], ST_ENOTFOUND);
        assert_null(vals[2]);
        assert_int_equal(sts[3], 0);
        assert_memory_equal(vals[3], "s", 2);
        for (int i = 0; i < 4; i++) free(vals[i]);
        compact_all(x);
    }
}

/* ---- without a useful block cache ---------------------------------------------------------- */

/* Every lookup reads its blocks, and (max_open_files 1) table descriptors are evicted and
 * reopened between and within batches. */
static void check_uncached(fx *x) {
    st_rng_seed(&x->rng, st_test_seed("multiget_uncached", 11));
    x->opts.write_buffer_bytes = 256u << 10;
    x->opts.level0_file_num_compaction_trigger = 8;
    x->opts.max_open_files = 1;
    load_layers(x, NKEYS / 4);
    uint64_t reads0 = stats(x).block_reads;
    check_random_batches(x, 2);
    st_stats s = stats(x);
    assert_true(s.block_reads > reads0);
    assert_true(s.open_table_files <= 1);

    /* Keys sharing a block share its read: after a full compaction key 100 lives in exactly one
     * table, so twenty copies of it in one batch cost what one get costs. */
    compact_all(x);
    char k[32];
    st_slice keys[20];
    uint8_t *vals[20];
    size_t lens[20];
    int sts[20];
    for (int j = 0; j < 20; j++) keys[j] = st_slice_make(k, key_of(100, k));
    uint64_t before = stats(x).block_reads;
    uint8_t *gv = NULL;
    size_t gl = 0;
    int grc = st_db_get(x->db, NULL, keys[0], &gv, &gl);
    free(gv);
    uint64_t one_get = stats(x).block_reads - before;
    assert_true(one_get <= 1);
    before = stats(x).block_reads;
    assert_int_equal(st_db_multiget(x->db, NULL, 20, keys, vals, lens, sts), 0);
    for (int j = 0; j < 20; j++) {
        assert_int_equal(sts[j], grc);
        assert_int_equal(lens[j], gl);
        free(vals[j]);
    }
    if (x->opts.block_cache_bytes == 0) assert_int_equal(stats(x).block_reads - before, one_get);
    else assert_true(stats(x).block_reads - before <= one_get);
}

static void test_multiget_without_block_cache(void **state) {
    fx *x = *state;
    x->opts.block_cache_bytes = 0;
    check_uncached(x);
    assert_int_equal(stats(x).cache_hits, 0);
}

static void test_multiget_with_tiny_block_cache(void **state) {
    fx *x = *state;
    x->opts.block_cache_bytes = 16u << 10; /* a few blocks, smaller than the tables' indexes */
    check_uncached(x);
}

/* The cold-tier case batching is for: every table in a tier opened with O_DIRECT (where the
 * filesystem allows it), no block cache; reads of unaligned blocks go through the io layer's
 * bounce buffers. */
static void test_multiget_direct_io_tier(void **state) {
    fx *x = *state;
    x->cold = st_test_path(x->dir, "cold");
    x->opts.block_cache_bytes = 0;
    x->opts.n_tiers = 1;
    x->opts.tiers[0].name = "cold";
    x->opts.tiers[0].dir = x->cold;
    x->opts.tiers[0].first_level = 0;
    x->opts.tiers[0].last_level = ST_MAX_LEVELS - 1;
    x->opts.tiers[0].direct_io = true;
    st_rng_seed(&x->rng, st_test_seed("multiget_direct", 13));
    x->opts.write_buffer_bytes = 256u << 10;
    x->opts.level0_file_num_compaction_trigger = 8;
    load_layers(x, NKEYS / 4);
    st_stats s = stats(x);
    assert_true(s.tier_files[1] > 0);
    if (s.tier_direct_files[1] == 0) print_message("O_DIRECT refused here: tables are buffered\n");
    check_random_batches(x, 2);
    assert_true(stats(x).block_reads > s.block_reads);
}

/* ---- corruption ------------------------------------------------------------------------------ */

static void test_multiget_corrupt_block_fails_only_its_keys_and_is_never_cached(void **state) {
    fx *x = *state;
    enum { N = 5000 };
    db_open(x);
    for (int i = 0; i < N; i++) put(x, i, 0);
    compact_all(x);
    db_close(x);

    /* the one table; its data blocks fill all but the last few percent of the file */
    DIR *d = opendir(x->dir);
    assert_non_null(d);
    char *name = NULL;
    struct dirent *e;
    int tables = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0 && tables++ == 0) name = strdup(e->d_name);
    }
    closedir(d);
    assert_int_equal(tables, 1);
    char *path = st_test_path(x->dir, name);
    long long size = st_test_file_size(path);
    assert_true(size > 0);
    assert_int_equal(st_test_flip_byte(path, (uint64_t)size / 2, 0), 0);
    free(path);
    free(name);
    db_open(x);

    /* multiget first, so the batched path is the first to meet the block */
    static char kbuf[N][32];
    static st_slice keys[N];
    static uint8_t *vals[N];
    static size_t lens[N];
    static int sts[N];
    for (int i = 0; i < N; i++) keys[i] = st_slice_make(kbuf[i], key_of(i, kbuf[i]));
    int first_bad = -1, last_bad = -1;
    for (int pass = 0; pass < 2; pass++) {
        for (int base = 0; base < N; base += MAX_BATCH)
            assert_int_equal(st_db_multiget(x->db, NULL, MAX_BATCH, keys + base, vals + base, lens + base, sts + base),
                             0);
        int bad = 0, lo = -1, hi = -1;
        for (int i = 0; i < N; i++) {
            if (sts[i] == ST_ECORRUPT) {
                assert_null(vals[i]);
                bad++;
                if (lo < 0) lo = i;
                hi = i;
                continue;
            }
            check_answer(i, 0, sts[i], vals[i], lens[i], "multiget");
            free(vals[i]);
        }
        /* one block: a run of neighbouring keys, a small part of the table */
        assert_true(bad >= 1);
        assert_int_equal(hi - lo + 1, bad);
        assert_true(bad < 200);
        if (pass == 0) {
            first_bad = lo;
            last_bad = hi;
        } else { /* not cached by the first pass: the same keys fail again */
            assert_int_equal(lo, first_bad);
            assert_int_equal(hi, last_bad);
        }
    }
    /* and st_db_get agrees key by key */
    for (int i = first_bad - 1; i <= last_bad + 1; i++) {
        if (i < 0 || i >= N) continue;
        uint8_t *v = NULL;
        size_t n = 0;
        int rc = st_db_get(x->db, NULL, keys[i], &v, &n);
        assert_int_equal(rc, i >= first_bad && i <= last_bad ? ST_ECORRUPT : 0);
        free(v);
    }
    /* a batch mixing the bad block's keys with good ones from elsewhere */
    int mix[4] = {first_bad, 0, last_bad, N - 1};
    st_slice mk[4];
    uint8_t *mv[4];
    size_t ml[4];
    int ms[4];
    for (int j = 0; j < 4; j++) mk[j] = keys[mix[j]];
    assert_int_equal(st_db_multiget(x->db, NULL, 4, mk, mv, ml, ms), 0);
    for (int j = 0; j < 4; j++) {
        if (mix[j] >= first_bad && mix[j] <= last_bad) assert_int_equal(ms[j], ST_ECORRUPT);
        else check_answer(mix[j], 0, ms[j], mv[j], ml[j], "mixed multiget");
        free(mv[j]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multiget_matches_get_and_model_across_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_edge_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_without_block_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_with_tiny_block_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_direct_io_tier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_corrupt_block_fails_only_its_keys_and_is_never_cached, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
