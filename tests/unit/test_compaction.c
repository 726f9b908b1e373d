/* test_compaction.c -- leveled compaction: the picker on hand-built versions (static and dynamic
 * level targets, scores, the least-overlap file, busy inputs, trivial-move decisions), and real
 * compactions through the db: trivial moves (and their refusal on a codec change), versions
 * shadowed within a snapshot stripe dropped and snapshot-visible ones kept, tombstones dropped
 * only where no deeper level holds the key, the compaction filter (remove -> tombstone unless at
 * the bottom, change value), outputs cut at the grandparent-overlap limit, st_db_compact_range
 * leaving everything in one level, obsolete inputs deleted only once no iterator reads them,
 * background compactions with tiny sizes, stats that add up, and write stalls (slowdown and stop)
 * while a compaction is held back by a blocking filter.
 * Background compaction is kept idle (huge triggers) wherever a test needs a fixed shape. Every
 * loop is bounded in count and time. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>

#include "testutil.h"

#include "db/compaction.h"
#include "db/compaction_picker.h"
#include "db/db_impl.h"
#include "strata/st.h"
#include "table/sstable_reader.h"
#include "util/ikey.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

typedef struct fx {
    char *dir;
    st_db *db;
    st_options opts;
    st_iter *it;
    st_snapshot *snap;
    st_version *v;     /* hand-built */
    st_pick *pick;
    pthread_t writer;
    bool writer_started;
} fx;

/* ---- the test filter: controlled through globals, reset by setup ------------------------------ */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed, filter_on, filter_entered;
static int filter_calls;

static void gate_open(void) {
    pthread_mutex_lock(&gate_mu);
    gate_closed = false;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* Keys "x..." are removed, "c..." get the value "changed"; while the gate is closed the filter
 * waits (at most 20 s), which holds its compaction back. */
static st_filter_decision test_filter(void *arg, int level, st_slice key, st_slice value, st_slice *nv) {
    (void)arg;
    (void)level;
    (void)value;
    pthread_mutex_lock(&gate_mu);
    filter_calls++;
    filter_entered = true;
    pthread_cond_broadcast(&gate_cv);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    while (gate_closed)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &ts)) break;
    bool on = filter_on;
    pthread_mutex_unlock(&gate_mu);
    if (!on || !key.len) return ST_FILTER_KEEP;
    if (key.data[0] == 'x') return ST_FILTER_REMOVE;
    if (key.data[0] == 'c') {
        *nv = st_slice_str("changed");
        return ST_FILTER_CHANGE_VALUE;
    }
    return ST_FILTER_KEEP;
}

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x || !(x->dir = st_test_tmpdir("compaction"))) return -1;
    st_options_default(&x->opts);
    x->opts.sync_mode = ST_SYNC_NO;
    /* a fixed shape: nothing is ever due in the background */
    x->opts.level0_file_num_compaction_trigger = 1000;
    x->opts.level0_slowdown_writes_trigger = 1000;
    x->opts.level0_stop_writes_trigger = 1000;
    gate_closed = filter_on = filter_entered = false;
    filter_calls = 0;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    gate_open();
    if (x->writer_started) pthread_join(x->writer, NULL);
    st_iter_free(x->it);
    if (x->snap) st_db_snapshot_release(x->db, x->snap);
    st_db_close(x->db);
    st_pick_free(x->pick);
    st_version_unref(x->v);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- hand-built versions ---------------------------------------------------------------------- */

static st_file_meta *fake(int level, uint64_t number, const char *lo, const char *hi, uint64_t size, uint64_t seq) {
    st_file_meta *f;
    assert_int_equal(st_file_meta_new(&f), 0);
    f->level = level;
    f->number = number;
    f->size = size;
    f->entries = 10;
    f->min_seq = seq;
    f->max_seq = seq + 5;
    f->codec = ST_CODEC_LZ4;
    assert_int_equal(st_ikey_append(&f->smallest, st_slice_str(lo), seq + 5, ST_KIND_PUT), 0);
    assert_int_equal(st_ikey_append(&f->largest, st_slice_str(hi), seq, ST_KIND_PUT), 0);
    return f;
}

typedef struct spec {
    int level;
    const char *lo, *hi;
    uint64_t size;
} spec;

/* Builds x->v from specs; table numbers are 10 + index, L0 seqs rise with the index. */
static void build(fx *x, const spec *s, int n) {
    st_version *empty;
    assert_int_equal(st_version_new_empty(&empty), 0);
    st_version_edit e;
    st_edit_init(&e);
    for (int i = 0; i < n; i++) {
        st_file_meta *f = fake(s[i].level, 10 + (uint64_t)i, s[i].lo, s[i].hi, s[i].size, 100 + 10 * (uint64_t)i);
        assert_int_equal(st_edit_add_file(&e, f), 0);
        st_file_meta_unref(f);
    }
    st_version_unref(x->v);
    assert_int_equal(st_version_apply(empty, &e, &x->v), 0);
    assert_int_equal(st_version_check(x->v), 0);
    st_edit_destroy(&e);
    st_version_unref(empty);
}

static st_file_meta *file_no(fx *x, uint64_t number) {
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < x->v->n_files[l]; j++)
            if (x->v->files[l][j]->number == number) return x->v->files[l][j];
    fail_msg("no table %llu", (unsigned long long)number);
    return NULL;
}

/* Frees the previous pick, picks from x->v again and expects a pick (in x->pick). */
static void repick(fx *x, const st_options *o, const st_level_state *ls) {
    st_pick_free(x->pick);
    x->pick = NULL;
    assert_int_equal(st_picker_pick(o, x->v, ls, &x->pick), 0);
    assert_non_null(x->pick);
}

static void test_picker_static_targets_and_scores(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    o->level_compaction_dynamic_level_bytes = false;
    o->max_bytes_for_level_base = 10 * MiB;
    o->level0_file_num_compaction_trigger = 4;
    spec s[] = {{0, "a", "z", MiB}, {0, "a", "z", MiB}, {1, "a", "m", 15 * MiB}, {2, "a", "z", 50 * MiB}};
    build(x, s, 4);
    st_level_state ls;
    st_picker_level_state(o, x->v, &ls);
    assert_int_equal(ls.base_level, 1);
    assert_int_equal(ls.target[0], 0);
    assert_int_equal(ls.target[1], 10 * MiB);
    assert_int_equal(ls.target[2], 100 * MiB);
    assert_int_equal(ls.target[6], 10 * MiB * 100000ull);
    assert_true(ls.score[0] > 0.49 && ls.score[0] < 0.51); /* 2 of 4 files */
    assert_true(ls.score[1] > 1.49 && ls.score[1] < 1.51);
    assert_true(ls.score[2] > 0.49 && ls.score[2] < 0.51);
    assert_true(ls.score[6] == 0);
    assert_int_equal(ls.last_nonempty, 2);
    /* debt: L1's 5 MiB excess times (50/15 + 1) */
    uint64_t want = (uint64_t)(5.0 * MiB * (50.0 / 15.0 + 1));
    assert_true(ls.pending_bytes >= want - 2 && ls.pending_bytes <= want + 2);
    repick(x, o, &ls);
    assert_int_equal(x->pick->level, 1);
    assert_int_equal(x->pick->output_level, 2);
    assert_int_equal(x->pick->n_in[0], 1);
    assert_int_equal(x->pick->n_in[1], 1);
    assert_false(x->pick->trivial_move);
}

static void test_picker_dynamic_level_bytes_targets(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    st_level_state ls;
    /* empty below L0: L0 goes straight to the last level */
    spec s0[] = {{0, "a", "b", MiB}};
    build(x, s0, 1);
    st_picker_level_state(o, x->v, &ls);
    assert_int_equal(ls.base_level, 6);
    /* 30 GiB in L6, base 256 MiB: L5 3 GiB, L4 300 MiB, L3 30 MiB -> base L3 (targets never below
     * the base size) */
    spec s[] = {{5, "a", "c", 100 * MiB}, {6, "a", "z", 30 * GiB}};
    build(x, s, 2);
    st_picker_level_state(o, x->v, &ls);
    assert_int_equal(ls.base_level, 3);
    assert_int_equal(ls.target[1], 0);
    assert_int_equal(ls.target[2], 0);
    assert_int_equal(ls.target[3], 256 * MiB);
    uint64_t l3 = (uint64_t)(30.0 * GiB / 1000);
    assert_true(ls.target[4] >= 10 * l3 - 16 && ls.target[4] <= 10 * l3 + 16);
    assert_true(ls.target[5] >= 100 * l3 - 160 && ls.target[5] <= 100 * l3 + 160);
    assert_true(ls.target[6] >= 1000 * l3 - 1600 && ls.target[6] <= 1000 * l3 + 1600);
    assert_true(ls.score[5] < 1);
    /* a small last level: the base is the first non-empty level */
    spec s2[] = {{6, "a", "z", 5 * MiB}};
    build(x, s2, 1);
    st_picker_level_state(o, x->v, &ls);
    assert_int_equal(ls.base_level, 6);
    assert_int_equal(ls.target[6], 256 * MiB);
}

static void test_picker_l0_takes_oldest_files_into_base(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    o->level0_file_num_compaction_trigger = 2;
    o->level_compaction_dynamic_level_bytes = false;
    o->target_file_size_base = MiB;
    o->max_compaction_bytes = 5 * MiB;
    /* L0 files 10..13 (13 newest), 2 MiB each: the limit takes the oldest two, then stops */
    spec s[] = {{0, "a", "f", 2 * MiB}, {0, "c", "h", 2 * MiB}, {0, "b", "k", 2 * MiB}, {0, "a", "b", 2 * MiB},
                {1, "a", "d", MiB},     {1, "e", "g", MiB},     {1, "x", "z", MiB}};
    build(x, s, 7);
    st_level_state ls;
    st_picker_level_state(o, x->v, &ls);
    assert_true(ls.score[0] >= 2);
    repick(x, o, &ls);
    st_pick *p = x->pick;
    assert_int_equal(p->level, 0);
    assert_int_equal(p->output_level, 1);
    assert_int_equal(p->n_in[0], 2);
    assert_int_equal(p->in[0][0]->number, 11); /* newest first (P1) */
    assert_int_equal(p->in[0][1]->number, 10);
    /* the hull a..h takes L1 a-d and e-g, not x-z */
    assert_int_equal(p->n_in[1], 2);
    assert_int_equal(p->input_bytes, 6 * MiB);
    /* an L0 table being compacted blocks every other L0 pick */
    st_pick_free(x->pick);
    x->pick = NULL;
    file_no(x, 12)->being_compacted = true;
    st_picker_level_state(o, x->v, &ls);
    assert_int_equal(st_picker_pick(o, x->v, &ls, &x->pick), 0);
    assert_null(x->pick);
}

static void test_picker_least_overlapping_file_and_busy_inputs(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    o->level_compaction_dynamic_level_bytes = false;
    o->max_bytes_for_level_base = 2 * MiB;
    /* L1 a-c overlaps 9 MiB below, e-g 1 MiB, k-m 4 MiB */
    spec s[] = {{1, "a", "c", MiB}, {1, "e", "g", MiB},     {1, "k", "m", MiB},     {2, "a", "b", 9 * MiB},
                {2, "f", "f", MiB}, {2, "k", "l", 2 * MiB}, {2, "m", "n", 2 * MiB}, {3, "e", "z", 3 * MiB}};
    build(x, s, 8);
    st_level_state ls;
    st_picker_level_state(o, x->v, &ls);
    assert_true(ls.score[1] >= 1.49);
    repick(x, o, &ls);
    assert_int_equal(x->pick->in[0][0]->number, 11);
    assert_int_equal(x->pick->n_in[1], 1);
    assert_int_equal(x->pick->in[1][0]->number, 14);
    assert_int_equal(x->pick->n_gp, 1); /* L3 e-z */
    assert_false(x->pick->trivial_move);
    /* its output-level table busy: the next best (k-m, two tables) */
    file_no(x, 14)->being_compacted = true;
    repick(x, o, &ls);
    assert_int_equal(x->pick->in[0][0]->number, 12);
    assert_int_equal(x->pick->n_in[1], 2);
    file_no(x, 12)->being_compacted = true;
    repick(x, o, &ls);
    assert_int_equal(x->pick->in[0][0]->number, 10);
}

static void test_picker_widens_only_without_new_output_tables(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    o->level_compaction_dynamic_level_bytes = false;
    o->max_bytes_for_level_base = MiB;
    /* L1 b-c is picked (least overlap ratio: it overlaps L2 a-f, 1 MiB, the same as d-e, but is
     * the first); the hull a-f also covers L1 d-e, which adds no L2 table: widened */
    spec s[] = {{1, "b", "c", MiB}, {1, "d", "e", MiB}, {1, "p", "q", MiB}, {2, "a", "f", MiB}, {2, "p", "q", 8 * MiB}};
    build(x, s, 5);
    st_level_state ls;
    st_picker_level_state(o, x->v, &ls);
    repick(x, o, &ls);
    assert_int_equal(x->pick->n_in[0], 2);
    assert_int_equal(x->pick->n_in[1], 1);
    assert_int_equal(x->pick->input_bytes, 3 * MiB);
}

static void test_picker_trivial_move_needs_no_overlap_and_same_codec(void **state) {
    fx *x = *state;
    st_options *o = &x->opts;
    o->level_compaction_dynamic_level_bytes = false;
    o->max_bytes_for_level_base = MiB;
    o->target_file_size_base = MiB;
    spec s[] = {{1, "a", "c", 2 * MiB}, {2, "x", "z", MiB}, {3, "a", "b", 5 * MiB}};
    build(x, s, 3);
    st_level_state ls;
    st_picker_level_state(o, x->v, &ls);
    repick(x, o, &ls);
    assert_true(x->pick->trivial_move);
    /* L2 written with zstd: a move would keep lz4 there */
    o->levels[2].codec = ST_CODEC_ZSTD;
    repick(x, o, &ls);
    assert_false(x->pick->trivial_move);
    /* too much grandparent overlap (over 10 x target) for a move */
    o->levels[2].codec = ST_CODEC_INHERIT;
    spec s2[] = {{1, "a", "c", 2 * MiB}, {3, "a", "b", 11 * MiB}};
    build(x, s2, 2);
    st_picker_level_state(o, x->v, &ls);
    repick(x, o, &ls);
    assert_false(x->pick->trivial_move);

    /* several L0 tables (a sequential load) move together when they do not overlap one another
     * nor anything in the base level */
    o->level0_file_num_compaction_trigger = 3;
    spec s3[] = {{0, "g", "i", MiB}, {0, "a", "c", MiB}, {0, "d", "f", MiB}, {1, "x", "z", MiB}};
    build(x, s3, 4);
    st_picker_level_state(o, x->v, &ls);
    repick(x, o, &ls);
    assert_int_equal(x->pick->level, 0);
    assert_int_equal(x->pick->n_in[0], 3);
    assert_true(x->pick->trivial_move);
    /* ... but not when two of them share a key ("c") */
    spec s4[] = {{0, "g", "i", MiB}, {0, "a", "c", MiB}, {0, "c", "f", MiB}, {1, "x", "z", MiB}};
    build(x, s4, 4);
    st_picker_level_state(o, x->v, &ls);
    repick(x, o, &ls);
    assert_int_equal(x->pick->n_in[0], 3);
    assert_false(x->pick->trivial_move);
}

/* ---- through the db --------------------------------------------------------------------------- */

static void db_open(fx *x) {
    int rc = st_db_open(x->dir, &x->opts, &x->db);
    if (rc) fail_msg("st_db_open: %s (%s)", st_strerror(rc), st_errmsg());
}

static void db_reopen(fx *x) {
    assert_int_equal(st_db_close(x->db), 0);
    x->db = NULL;
    db_open(x);
}

static void put(fx *x, const char *k, const char *v) {
    int rc = st_db_put(x->db, st_slice_str(k), st_slice_str(v));
    if (rc) fail_msg("put %s: %s (%s)", k, st_strerror(rc), st_errmsg());
}

static void del(fx *x, const char *k) { assert_int_equal(st_db_delete(x->db, st_slice_str(k)), 0); }

/* Asserts key k reads as v (NULL: absent) through snapshot s (NULL: latest). */
static void expect(fx *x, const st_snapshot *s, const char *k, const char *v) {
    st_read_options ro = {.snapshot = s};
    uint8_t *got = NULL;
    size_t n = 0;
    int rc = st_db_get(x->db, &ro, st_slice_str(k), &got, &n);
    if (!v) {
        if (rc != ST_ENOTFOUND) fail_msg("%s: expected absent, got rc %d '%.*s'", k, rc, (int)n, got ? (char *)got : "");
    } else if (rc || n != strlen(v) || memcmp(got, v, n)) {
        fail_msg("%s: expected '%s', got rc %d '%.*s'", k, v, rc, (int)n, got ? (char *)got : "");
    }
    free(got);
}

static void stats(fx *x, st_stats *s) { assert_int_equal(st_db_stats(x->db, s), 0); }

static void compact_all(fx *x) {
    int rc = st_db_compact_range(x->db, NULL, NULL);
    if (rc) fail_msg("st_db_compact_range: %s (%s)", st_strerror(rc), st_errmsg());
}

static void compact_level(fx *x, int level, int out) {
    int rc = st_db_compact_level(x->db, level, out, NULL, NULL);
    if (rc) fail_msg("st_db_compact_level(%d, %d): %s (%s)", level, out, st_strerror(rc), st_errmsg());
}

/* Entries in the tables of the current version (all levels, or one). */
static uint64_t table_entries(fx *x, int level) {
    st_version *v = st_vset_current(x->db->vs);
    uint64_t n = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++)
            if (level < 0 || l == level) n += v->files[l][j]->entries;
    assert_int_equal(st_version_check(v), 0);
    st_version_unref(v);
    return n;
}

static int nonempty_levels(const st_stats *s, int *which) {
    int n = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        if (s->level_files[l]) {
            n++;
            *which = l;
        }
    return n;
}

static long count_sst(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strstr(e->d_name, ".sst") != NULL;
    closedir(d);
    return n;
}

static void test_trivial_move_relinks_and_codec_change_rewrites(void **state) {
    fx *x = *state;
    x->opts.level_compaction_dynamic_level_bytes = false;
    db_open(x);
    put(x, "a", "1");
    put(x, "b", "2");
    compact_all(x); /* L0 only: the last level is the base, L1; no overlap, same codec: a move */
    st_stats s;
    stats(x, &s);
    assert_int_equal(s.level_files[0], 0);
    assert_int_equal(s.level_files[1], 1);
    assert_int_equal(s.trivial_moves, 1);
    assert_int_equal(s.compactions, 1);
    assert_int_equal(s.compaction_bytes_written, 0);
    assert_int_equal(count_sst(x->dir), 1);
    expect(x, NULL, "a", "1");
    db_reopen(x); /* the move is in the MANIFEST */
    expect(x, NULL, "b", "2");
    stats(x, &s);
    assert_int_equal(s.level_files[1], 1);
    /* L2 wants zstd: moving L1 -> L2 must rewrite */
    assert_int_equal(st_db_close(x->db), 0);
    x->db = NULL;
    x->opts.levels[2].codec = ST_CODEC_ZSTD;
    db_open(x);
    compact_level(x, 1, 2);
    stats(x, &s);
    assert_int_equal(s.level_files[2], 1);
    assert_int_equal(s.trivial_moves, 0);
    assert_int_equal(s.compactions, 1);
    assert_true(s.compaction_bytes_written > 0);
    st_version *v = st_vset_current(x->db->vs);
    assert_int_equal(v->files[2][0]->codec, ST_CODEC_ZSTD);
    st_version_unref(v);
    expect(x, NULL, "a", "1");
    assert_int_equal(count_sst(x->dir), 1);
}

static void test_shadowed_versions_dropped_snapshot_visible_kept(void **state) {
    fx *x = *state;
    db_open(x);
    put(x, "k", "v1");
    assert_int_equal(st_db_snapshot(x->db, &x->snap), 0);
    put(x, "k", "v2");
    assert_int_equal(st_db_flush(x->db), 0);
    put(x, "k", "v3");
    put(x, "other", "o");
    compact_all(x);
    st_stats s;
    stats(x, &s);
    int lvl = -1;
    assert_int_equal(nonempty_levels(&s, &lvl), 1);
    assert_int_equal(lvl, 6); /* dynamic: an empty tree compacts L0 straight to the last level */
    /* v2 and v3 lie in the same stripe (after the snapshot): v2 goes; v1 is the snapshot's */
    assert_int_equal(s.compaction_entries_in, 4);
    assert_int_equal(s.compaction_entries_dropped, 1);
    assert_int_equal(table_entries(x, -1), 3);
    expect(x, NULL, "k", "v3");
    expect(x, x->snap, "k", "v1");
    /* without the snapshot the next compaction of the key leaves one version */
    st_db_snapshot_release(x->db, x->snap);
    x->snap = NULL;
    put(x, "k", "v4");
    compact_all(x);
    assert_int_equal(table_entries(x, -1), 2);
    expect(x, NULL, "k", "v4");
}

static void test_tombstone_dropped_only_at_base_level_for_key(void **state) {
    fx *x = *state;
    x->opts.level_compaction_dynamic_level_bytes = false;
    db_open(x);
    put(x, "k", "old");
    put(x, "m", "keep");
    assert_int_equal(st_db_flush(x->db), 0);
    compact_level(x, 0, 1);
    compact_level(x, 1, 2); /* k and m now in L2 */
    del(x, "k");
    put(x, "z", "new");
    assert_int_equal(st_db_flush(x->db), 0);
    /* L0 -> L1: L2 holds k, so its tombstone must stay or "old" would resurface */
    st_stats s0, s1;
    stats(x, &s0);
    compact_level(x, 0, 1);
    stats(x, &s1);
    assert_int_equal(s1.compaction_entries_dropped - s0.compaction_entries_dropped, 0);
    assert_int_equal(table_entries(x, 1), 2);
    expect(x, NULL, "k", NULL);
    db_reopen(x);
    expect(x, NULL, "k", NULL);
    /* into L2, the bottom for k: tombstone and shadowed put both go */
    stats(x, &s0);
    compact_all(x);
    stats(x, &s1);
    assert_int_equal(s1.compaction_entries_dropped - s0.compaction_entries_dropped, 2);
    assert_int_equal(table_entries(x, -1), 2);
    assert_int_equal(table_entries(x, 2), 2);
    expect(x, NULL, "k", NULL);
    expect(x, NULL, "m", "keep");
    expect(x, NULL, "z", "new");
    /* a tombstone a snapshot needs is kept even at the bottom */
    put(x, "s", "1");
    compact_all(x);
    assert_int_equal(st_db_snapshot(x->db, &x->snap), 0);
    del(x, "s");
    compact_all(x);
    expect(x, x->snap, "s", "1");
    expect(x, NULL, "s", NULL);
    assert_int_equal(table_entries(x, -1), 4); /* m, z, s's put and its tombstone */
    st_db_snapshot_release(x->db, x->snap);
    x->snap = NULL;
    compact_all(x); /* the last level holds a tombstone: rewritten */
    assert_int_equal(table_entries(x, -1), 2);
    expect(x, NULL, "s", NULL);
}

static void test_filter_remove_is_a_tombstone_unless_bottom(void **state) {
    fx *x = *state;
    x->opts.level_compaction_dynamic_level_bytes = false;
    x->opts.compaction_filter = test_filter;
    db_open(x);
    /* x1 alone: removed at the bottom (L1 is the last level), dropped outright */
    filter_on = true;
    put(x, "x1", "gone");
    put(x, "c1", "orig");
    put(x, "plain", "p");
    compact_all(x);
    expect(x, NULL, "x1", NULL);
    expect(x, NULL, "c1", "changed");
    expect(x, NULL, "plain", "p");
    assert_int_equal(table_entries(x, -1), 2);
    assert_true(filter_calls >= 3);
    /* x2's old version deep in L2 (filter off), a new one on top: the filter's REMOVE becomes a
     * tombstone in L1, so the old version does not resurface */
    filter_on = false;
    put(x, "x2", "old");
    assert_int_equal(st_db_flush(x->db), 0);
    compact_level(x, 0, 1);
    compact_level(x, 1, 2);
    put(x, "x2", "new");
    assert_int_equal(st_db_flush(x->db), 0);
    /* a second L0 table spanning the first (a0..y0 holds x2): a rewrite, not a move (a move never
     * calls the filter) */
    put(x, "a0", "a");
    put(x, "y0", "y");
    assert_int_equal(st_db_flush(x->db), 0);
    filter_on = true;
    compact_level(x, 0, 1);
    assert_int_equal(table_entries(x, 1), 3); /* a0, y0 and x2's tombstone */
    expect(x, NULL, "x2", NULL);
    db_reopen(x);
    expect(x, NULL, "x2", NULL);
    compact_all(x); /* at the bottom both go */
    expect(x, NULL, "x2", NULL);
    expect(x, NULL, "a0", "a");
    assert_int_equal(table_entries(x, -1), 4);
}

/* A filter that reads the db it filters, as the keyspace's does: "s:<n>:<j>" (an element) goes
 * when "m:<n>" (its collection's record) is gone. */
static _Atomic int reader_filter_gets;

static st_filter_decision reading_filter(void *arg, int level, st_slice key, st_slice value, st_slice *nv) {
    (void)level;
    (void)value;
    (void)nv;
    st_db *db = *(st_db *const *)arg;
    if (!db || key.len < 3 || key.data[0] != 's') return ST_FILTER_KEEP;
    const uint8_t *end = memchr(key.data + 2, ':', key.len - 2);
    if (!end) return ST_FILTER_KEEP;
    char meta[64];
    int n = snprintf(meta, sizeof meta, "m:%.*s", (int)(end - (key.data + 2)), (const char *)key.data + 2);
    uint8_t *v = NULL;
    size_t vlen;
    reader_filter_gets++;
    int rc = st_db_get(db, NULL, st_slice_make(meta, (size_t)n), &v, &vlen);
    free(v);
    return rc == ST_ENOTFOUND ? ST_FILTER_REMOVE : ST_FILTER_KEEP;
}

static void test_filter_may_read_the_db(void **state) {
    fx *x = *state;
    static st_db *volatile filter_db; /* the filter's view of the handle, set once open returned */
    filter_db = NULL;
    x->opts.compaction_filter = reading_filter;
    x->opts.compaction_filter_arg = (void *)&filter_db;
    /* background compactions on: the filter runs on their thread while this one writes */
    x->opts.write_buffer_bytes = 64 << 10;
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.level0_slowdown_writes_trigger = 20;
    x->opts.level0_stop_writes_trigger = 40;
    x->opts.max_bytes_for_level_base = 256 << 10;
    reader_filter_gets = 0;
    db_open(x);
    filter_db = x->db;
    char k[64], v[128];
    memset(v, 'v', sizeof v - 1);
    v[sizeof v - 1] = 0;
    for (int c = 0; c < 200; c++) {
        snprintf(k, sizeof k, "m:%d", c);
        put(x, k, "meta");
        for (int j = 0; j < 40; j++) {
            snprintf(k, sizeof k, "s:%d:%02d", c, j);
            put(x, k, v);
        }
        if (c % 2 == 1) { /* the previous collection dies: its elements are garbage now */
            snprintf(k, sizeof k, "m:%d", c - 1);
            del(x, k);
        }
    }
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    compact_all(x);
    assert_true(reader_filter_gets > 0);
    /* 100 live collections of 40 elements and their records; nothing of the dead ones */
    assert_int_equal(table_entries(x, -1), 100 * 41);
    for (int c = 0; c < 200; c += 37) {
        snprintf(k, sizeof k, "s:%d:07", c);
        expect(x, NULL, k, c % 2 ? v : NULL);
    }
    filter_db = NULL;
}

static void test_outputs_cut_at_target_size_and_grandparent_overlap(void **state) {
    fx *x = *state;
    x->opts.level_compaction_dynamic_level_bytes = false;
    x->opts.target_file_size_base = 1 << 30;
    x->opts.codec = ST_CODEC_NONE;
    db_open(x);
    char k[32], v[200];
    memset(v, 'v', sizeof v - 1);
    v[sizeof v - 1] = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "k%04d", i);
        put(x, k, v);
    }
    assert_int_equal(st_db_flush(x->db), 0);
    /* A hand-made pick L0 -> L1 whose grandparents are 8 fake tables, 1 MiB each, in
     * k0000-k0049, k0125-k0174, ...: an output is cut once it has passed 1.5 MiB of them */
    st_version *v0 = st_vset_current(x->db->vs);
    assert_int_equal(v0->n_files[0], 1);
    st_pick *p = calloc(1, sizeof *p);
    assert_non_null(p);
    x->pick = p;
    p->v = v0;
    p->level = 0;
    p->output_level = 1;
    p->in[0] = malloc(sizeof *p->in[0]);
    p->in[0][0] = v0->files[0][0];
    st_file_meta_ref(p->in[0][0]);
    p->n_in[0] = 1;
    p->gp = calloc(8, sizeof *p->gp);
    for (int g = 0; g < 8; g++) {
        char lo[16], hi[16];
        snprintf(lo, sizeof lo, "k%04d", g * 125);
        snprintf(hi, sizeof hi, "k%04d", g * 125 + 49);
        p->gp[p->n_gp++] = fake(2, 9000 + (uint64_t)g, lo, hi, MiB, 1);
    }
    p->target_file_bytes = 1 << 30;
    p->max_gp_overlap = 3 * MiB / 2;
    p->input_bytes = p->in[0][0]->size;
    pthread_mutex_lock(&x->db->mu);
    st_pick_mark(p, true);
    pthread_mutex_unlock(&x->db->mu);
    int rc = st_db_run_compaction(x->db, p);
    if (rc) fail_msg("run: %s (%s)", st_strerror(rc), st_errmsg());
    pthread_mutex_lock(&x->db->mu);
    st_pick_mark(p, false);
    pthread_mutex_unlock(&x->db->mu);
    st_version *v1 = st_vset_current(x->db->vs);
    size_t n = v1->n_files[1];
    /* an output is cut before the first key past its second whole grandparent (LevelDB's
     * ShouldStopBefore): [0, 174], [175, 424], [425, 674], [675, 924], [925, 999] */
    if (n != 5) fail_msg("%zu outputs", n);
    for (size_t j = 0; j < n; j++) {
        uint64_t gp = 0;
        for (size_t g = 0; g < p->n_gp; g++)
            if (st_slice_cmp(st_file_meta_ukey_largest(p->gp[g]), st_file_meta_ukey_smallest(v1->files[1][j])) >= 0 &&
                st_slice_cmp(st_file_meta_ukey_smallest(p->gp[g]), st_file_meta_ukey_largest(v1->files[1][j])) <= 0)
                gp += p->gp[g]->size;
        assert_true(gp <= 3 * MiB);
    }
    assert_int_equal(st_version_check(v1), 0);
    st_version_unref(v1);
    st_pick_free(x->pick);
    x->pick = NULL;
    /* target size: 1000 x ~210 bytes cut at 16 KiB -> about 13 tables, all in L1 */
    assert_int_equal(st_db_close(x->db), 0);
    x->db = NULL;
    x->opts.target_file_size_base = 16 << 10;
    db_open(x);
    /* a table in L2 inside L1's range, so that L1 -> L2 is a rewrite, not a move of the five */
    put(x, "k0500a", v);
    assert_int_equal(st_db_flush(x->db), 0);
    compact_level(x, 0, 2);
    compact_level(x, 1, 2);
    st_stats s;
    stats(x, &s);
    if (s.level_files[2] < 10 || s.level_files[2] > 16) fail_msg("%llu tables", (unsigned long long)s.level_files[2]);
    for (int i = 0; i < 1000; i += 97) {
        snprintf(k, sizeof k, "k%04d", i);
        expect(x, NULL, k, v);
    }
    table_entries(x, -1); /* V3 via st_version_check */
}

/* ~110 bytes that compress poorly, so a few KiB make several tables. */
static void range_value(char *v, size_t n, int round, int id) {
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull ^ (uint64_t)round * 0xbf58476d1ce4e5b9ull;
    int o = snprintf(v, n, "val-%d-%d-", round, id);
    for (int i = 0; i < 6 && o < (int)n; i++) {
        h = (h ^ (h >> 31)) * 0x94d049bb133111ebull + 1;
        o += snprintf(v + o, n - (size_t)o, "%016llx", (unsigned long long)h);
    }
}

static void test_compact_range_leaves_one_level_and_deletes_inputs_after_readers(void **state) {
    fx *x = *state;
    x->opts.target_file_size_base = 8 << 10;
    x->opts.write_buffer_bytes = 16 << 10;
    db_open(x);
    st_rng r;
    st_rng_seed(&r, st_test_seed("compact_range", 5));
    static char present[600];
    char k[32], v[160];
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 400; i++) {
            int id = (int)st_rng_below(&r, 600);
            snprintf(k, sizeof k, "key%05d", id);
            if (st_rng_below(&r, 4) == 0) {
                del(x, k);
                present[id] = 0;
            } else {
                range_value(v, sizeof v, round, id);
                put(x, k, v);
                present[id] = (char)(1 + round);
            }
        }
        assert_int_equal(st_db_flush(x->db), 0);
        if (round == 2) {
            compact_all(x);
            /* an iterator pins this version: its tables must outlive the next compaction */
            assert_int_equal(st_db_iter_new(x->db, NULL, &x->it), 0);
        }
    }
    long before = count_sst(x->dir);
    compact_all(x);
    st_stats s;
    stats(x, &s);
    int lvl = -1;
    assert_int_equal(nonempty_levels(&s, &lvl), 1);
    assert_true(s.level_files[lvl] >= 2);
    assert_int_equal(s.level_files[0], 0);
    long live = (long)s.level_files[lvl];
    assert_true(count_sst(x->dir) > live); /* the iterator still holds old tables */
    long seen = 0;
    for (st_iter_seek_first(x->it); st_iter_valid(x->it); st_iter_next(x->it)) seen++;
    assert_int_equal(st_iter_status(x->it), 0);
    assert_true(seen > 0);
    st_iter_free(x->it);
    x->it = NULL;
    assert_int_equal(count_sst(x->dir), live); /* F1: gone with the last reader */
    assert_true(before > live);
    for (int id = 0; id < 600; id++) {
        snprintf(k, sizeof k, "key%05d", id);
        if (present[id]) {
            int round = present[id] - 1;
            range_value(v, sizeof v, round, id);
            expect(x, NULL, k, v);
        } else {
            expect(x, NULL, k, NULL);
        }
    }
    /* no tombstone and one version per key is left */
    long n_present = 0;
    for (int id = 0; id < 600; id++) n_present += present[id] != 0;
    assert_int_equal(table_entries(x, -1), (uint64_t)n_present);
    /* a range: only its keys move (here: nothing left above them to move) */
    put(x, "key00100", "ranged");
    put(x, "zzz", "outside");
    st_slice b = st_slice_str("key00000"), e = st_slice_str("key00200");
    assert_int_equal(st_db_compact_range(x->db, &b, &e), 0);
    stats(x, &s);
    assert_int_equal(s.level_files[0], 0); /* L0 is compacted whole (its tables overlap) */
    expect(x, NULL, "key00100", "ranged");
    expect(x, NULL, "zzz", "outside");
    db_reopen(x);
    expect(x, NULL, "key00100", "ranged");
}

static void test_stats_add_up(void **state) {
    fx *x = *state;
    x->opts.level_compaction_dynamic_level_bytes = false;
    db_open(x);
    char k[32];
    uint64_t l0_bytes = 0, entries = 0;
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < 50; i++) {
            snprintf(k, sizeof k, "k%03d", i * 3 + f % 2);
            put(x, k, "value");
            entries++;
        }
        if (f == 2) del(x, "k000"), entries++;
        assert_int_equal(st_db_flush(x->db), 0);
    }
    st_stats s;
    stats(x, &s);
    l0_bytes = s.level_bytes[0];
    assert_int_equal(s.level_files[0], 3);
    compact_all(x);
    stats(x, &s);
    assert_int_equal(s.compactions, 1);
    assert_int_equal(s.trivial_moves, 0);
    assert_int_equal(s.compaction_bytes_read, l0_bytes);
    assert_int_equal(s.compaction_bytes_written, s.level_bytes[1]);
    assert_int_equal(s.compaction_entries_in, entries);
    assert_int_equal(s.compaction_entries_in - s.compaction_entries_dropped, table_entries(x, -1));
    assert_int_equal(s.compactions_running, 0);
    assert_int_equal(s.base_level, 1);
    assert_int_equal(s.level_target_bytes[1], 256 * MiB);
    assert_true(s.level_score[1] < 1);
}

static void test_background_compaction_keeps_levels_in_shape(void **state) {
    fx *x = *state;
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.level0_slowdown_writes_trigger = 8;
    x->opts.level0_stop_writes_trigger = 12;
    x->opts.write_buffer_bytes = 16 << 10;
    x->opts.target_file_size_base = 8 << 10;
    x->opts.max_bytes_for_level_base = 32 << 10;
    x->opts.max_bytes_for_level_multiplier = 4;
    x->opts.max_background_compactions = 2;
    db_open(x);
    char k[32], v[120];
    memset(v, 'q', sizeof v - 1);
    v[sizeof v - 1] = 0;
    st_rng r;
    st_rng_seed(&r, st_test_seed("background", 77));
    for (int i = 0; i < 6000; i++) {
        snprintf(k, sizeof k, "bg%06llu", (unsigned long long)st_rng_below(&r, 3000));
        put(x, k, v);
    }
    /* the tree settles: nothing waiting for flush, nothing running, nothing due */
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    st_stats s;
    stats(x, &s);
    assert_int_equal(s.immutable_count, 0);
    assert_int_equal(s.compactions_running, 0);
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        if (s.level_score[l] >= 1) fail_msg("L%d still due (score %.2f) after the wait", l, s.level_score[l]);
    assert_true(s.compactions > 0);
    assert_true(s.level_files[0] < 2 || s.level_score[0] < 1);
    int deeper = 0;
    for (int l = 1; l < ST_MAX_LEVELS; l++) deeper += s.level_files[l] > 0;
    assert_true(deeper >= 1);
    table_entries(x, -1);
    printf("background: compactions=%llu moves=%llu read=%llu written=%llu pending=%llu base=L%d files:",
           (unsigned long long)s.compactions, (unsigned long long)s.trivial_moves,
           (unsigned long long)s.compaction_bytes_read, (unsigned long long)s.compaction_bytes_written,
           (unsigned long long)s.pending_compaction_bytes, s.base_level);
    for (int l = 0; l < ST_MAX_LEVELS; l++) printf(" %llu", (unsigned long long)s.level_files[l]);
    printf("\n");
    db_reopen(x);
    st_rng_seed(&r, st_test_seed("background", 77));
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof k, "bg%06llu", (unsigned long long)st_rng_below(&r, 3000));
        expect(x, NULL, k, v);
    }
}

static volatile int writer_rc = 1;
static volatile bool writer_done;

static void *stalled_writer(void *arg) {
    fx *x = arg;
    writer_rc = st_db_put(x->db, st_slice_str("stalled"), st_slice_str("w"));
    __atomic_store_n(&writer_done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static void wait_for(bool (*cond)(fx *), fx *x, const char *what) {
    for (int i = 0; i < 1000; i++) {
        if (cond(x)) return;
        struct timespec d = {0, 10000000};
        nanosleep(&d, NULL);
    }
    fail_msg("timed out waiting for %s", what);
}

static bool filter_blocked(fx *x) {
    (void)x;
    pthread_mutex_lock(&gate_mu);
    bool b = filter_entered;
    pthread_mutex_unlock(&gate_mu);
    return b;
}

static bool writer_stopped(fx *x) {
    st_stats s;
    stats(x, &s);
    return s.write_stops >= 1;
}

static void test_write_stalls_slow_then_stop_until_compaction(void **state) {
    fx *x = *state;
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.level0_slowdown_writes_trigger = 3;
    x->opts.level0_stop_writes_trigger = 4;
    x->opts.compaction_filter = test_filter;
    gate_closed = true;
    writer_done = false;
    db_open(x);
    put(x, "a", "1");
    assert_int_equal(st_db_flush(x->db), 0);
    put(x, "b", "2");
    assert_int_equal(st_db_flush(x->db), 0);
    wait_for(filter_blocked, x, "the compaction to reach the filter"); /* held in the filter */
    put(x, "c", "3");
    assert_int_equal(st_db_flush(x->db), 0); /* L0: 3 -> slowdown */
    st_stats s;
    stats(x, &s);
    assert_int_equal(s.write_slowdowns, 0);
    put(x, "d", "4");
    stats(x, &s);
    assert_int_equal(s.write_slowdowns, 1);
    assert_int_equal(s.write_stops, 0);
    /* pacing: one schedule at delayed_write_rate for all writers; a caller that must not sleep
     * reserves its bytes and is told how long to wait */
    uint64_t us1 = 0, us2 = 0, us3 = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(st_db_write_delay(x->db, 1u << 20, &us1), 0); /* 1 MiB at 16 MiB/s: 62.5 ms */
    assert_int_equal(st_db_write_delay(x->db, 1u << 20, &us2), 0);
    assert_int_equal(st_db_write_delay(x->db, 100, &us3), 0);
    assert_true(us2 >= us1 + 40000 && us2 <= us1 + 62500); /* less the time between the calls */
    assert_true(us3 >= us2 + 40000 && us3 <= us2 + 62500);
    put(x, "e", "5"); /* waits for the schedule: after the two reserved MiB */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* a lower bound only (the schedule started no earlier than t0): slowness cannot fail it */
    double waited_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(waited_ms >= 124);
    stats(x, &s);
    assert_int_equal(s.write_slowdowns, 5);
    assert_int_equal(st_db_flush(x->db), 0); /* L0: 4 -> stop */
    uint64_t us = 7;
    assert_int_equal(st_db_write_delay(x->db, 100, &us), ST_EBUSY); /* stopped: ask again later */
    assert_int_equal(us, 0);
    assert_int_equal(pthread_create(&x->writer, NULL, stalled_writer, x), 0);
    x->writer_started = true;
    wait_for(writer_stopped, x, "the writer to stop");
    assert_false(__atomic_load_n(&writer_done, __ATOMIC_SEQ_CST));
    gate_open(); /* the compaction of the two oldest tables finishes: L0 2, no stall */
    pthread_join(x->writer, NULL);
    x->writer_started = false;
    assert_int_equal(writer_rc, 0);
    stats(x, &s);
    assert_int_equal(s.write_stops, 1);
    assert_true(s.write_stalls >= 2);
    assert_true(s.write_stall_micros > 0);
    expect(x, NULL, "stalled", "w");
    expect(x, NULL, "a", "1");
}

static void test_options_are_checked(void **state) {
    fx *x = *state;
    st_options o = x->opts;
    o.level0_slowdown_writes_trigger = 2;
    o.level0_file_num_compaction_trigger = 3;
    assert_int_equal(st_db_open(x->dir, &o, &x->db), ST_EINVAL);
    o = x->opts;
    o.max_background_compactions = 0;
    assert_int_equal(st_db_open(x->dir, &o, &x->db), ST_EINVAL);
    o = x->opts;
    o.levels[3].codec = 5;
    assert_int_equal(st_db_open(x->dir, &o, &x->db), ST_EINVAL);
    o = x->opts;
    o.max_bytes_for_level_multiplier = 1;
    assert_int_equal(st_db_open(x->dir, &o, &x->db), ST_EINVAL);
    o = x->opts;
    o.soft_pending_compaction_bytes_limit = 10;
    o.hard_pending_compaction_bytes_limit = 5;
    assert_int_equal(st_db_open(x->dir, &o, &x->db), ST_EINVAL);
    assert_null(x->db);
    /* defaults: lz4 (inherited) above, zstd at the bottom two levels */
    st_options d;
    st_options_default(&d);
    assert_int_equal(st_picker_level_codec(&d, 0), ST_CODEC_LZ4);
    assert_int_equal(st_picker_level_codec(&d, 4), ST_CODEC_LZ4);
    assert_int_equal(st_picker_level_codec(&d, 5), ST_CODEC_ZSTD);
    assert_int_equal(st_picker_level_codec(&d, 6), ST_CODEC_ZSTD);
    d.codec = ST_CODEC_NONE;
    assert_int_equal(st_picker_level_codec(&d, 2), ST_CODEC_NONE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_picker_static_targets_and_scores),
        T(test_picker_dynamic_level_bytes_targets),
        T(test_picker_l0_takes_oldest_files_into_base),
        T(test_picker_least_overlapping_file_and_busy_inputs),
        T(test_picker_widens_only_without_new_output_tables),
        T(test_picker_trivial_move_needs_no_overlap_and_same_codec),
        T(test_trivial_move_relinks_and_codec_change_rewrites),
        T(test_shadowed_versions_dropped_snapshot_visible_kept),
        T(test_tombstone_dropped_only_at_base_level_for_key),
        T(test_filter_remove_is_a_tombstone_unless_bottom),
        T(test_filter_may_read_the_db),
        T(test_outputs_cut_at_target_size_and_grandparent_overlap),
        T(test_compact_range_leaves_one_level_and_deletes_inputs_after_readers),
        T(test_stats_add_up),
        T(test_background_compaction_keeps_levels_in_shape),
        T(test_write_stalls_slow_then_stop_until_compaction),
        T(test_options_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
