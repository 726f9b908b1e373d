/* test_recovery.c -- st_db_open after a clean close, after a crash (a forked child that _exits
 * without st_db_close), and over damaged files: what comes back, what is cleaned up, and what is
 * refused with ST_ECORRUPT (docs/FORMAT.md#recovery). One flipped byte per case:
 *   a middle WAL record with valid records after it  -> open fails, st_errmsg() names the WAL;
 *   the last WAL record                               -> a torn tail: the earlier records survive;
 *   a data block of an L0 table                       -> reads of that block fail, never lie;
 *   the table footer / the MANIFEST                   -> open fails;
 *   a torn older WAL followed by a newer one with records -> open fails.
 * Every test runs in its own temporary directory; every loop is bounded; children get an alarm. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "db/write_batch.h"
#include "io/io.h"
#include "strata/st.h"
#include "version/filename.h"
#include "wal/wal.h"

#define CHILD_ALARM_S 60 /* a child that hangs dies instead of hanging the test */
#define MAX_FILES 256

typedef struct fx {
    char *dir;
    st_db *db;
    st_options opts;
    st_iter *it;
    st_batch *b;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    if (!(x->dir = st_test_tmpdir("recovery")) || st_batch_new(&x->b)) {
        free(x->dir);
        free(x);
        return -1;
    }
    st_options_default(&x->opts);
    x->opts.sync_mode = ST_SYNC_NO;
    x->opts.codec = ST_CODEC_NONE; /* values are findable in table files */
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_iter_free(x->it);
    st_db_close(x->db);
    st_batch_free(x->b);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void assert_errmsg_has(const char *needle) {
    if (!strstr(st_errmsg(), needle)) fail_msg("st_errmsg() = \"%s\" lacks \"%s\"", st_errmsg(), needle);
}

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

static void db_reopen(fx *x) {
    db_close(x);
    db_open(x);
}

/* The open must fail with ST_ECORRUPT and leave no handle. */
static void expect_open_corrupt(fx *x) {
    st_db *db = (st_db *)&db;
    int rc = st_db_open(x->dir, &x->opts, &db);
    if (rc != ST_ECORRUPT) {
        if (rc == 0) st_db_close(db);
        fail_msg("st_db_open: %s, expected ST_ECORRUPT", st_strerror(rc));
    }
    assert_null(db);
}

static void put_str(fx *x, const char *k, const char *v) {
    int rc = st_db_put(x->db, st_slice_str(k), st_slice_str(v));
    if (rc) fail_msg("put %s: %s (%s)", k, st_strerror(rc), st_errmsg());
}

static void expect_get(fx *x, const char *k, const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    int rc = st_db_get(x->db, NULL, st_slice_str(k), &v, &n);
    if (!want) {
        if (rc != ST_ENOTFOUND) fail_msg("get %s: %s, expected not found", k, st_strerror(rc));
        return;
    }
    if (rc) fail_msg("get %s: %s (%s), expected \"%s\"", k, st_strerror(rc), st_errmsg(), want);
    if (n != strlen(want) || memcmp(v, want, n) != 0)
        fail_msg("get %s: \"%.*s\", expected \"%s\"", k, (int)n, (const char *)v, want);
    free(v);
}

static st_stats stats(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    return s;
}

/* key%05d -> a 100-byte value that names the key and its generation. */
static void kv(char *k, size_t kcap, char *v, size_t vcap, int i, int gen) {
    snprintf(k, kcap, "key%05d", i);
    int n = snprintf(v, vcap, "val-%05d-gen%d-", i, gen);
    for (size_t j = (size_t)n; j + 1 < vcap; j++) v[j] = (char)('a' + (size_t)(i * 7 + gen) % 26);
    v[vcap - 1] = 0;
}
#define VCAP 101

typedef struct listing {
    enum st_file_type type;
    uint64_t numbers[MAX_FILES];
    size_t n;
} listing;

static int list_one(const char *name, void *arg) {
    listing *l = arg;
    uint64_t n = 0;
    if (st_fn_parse(name, &n) == l->type && l->n < MAX_FILES) l->numbers[l->n++] = n;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t p = *(const uint64_t *)a, q = *(const uint64_t *)b;
    return (p > q) - (p < q);
}

/* The numbers of the dir's files of one type, ascending. */
static listing list_files(const char *dir, enum st_file_type type) {
    listing l;
    memset(&l, 0, sizeof l);
    l.type = type;
    assert_int_equal(st_io_list_dir(dir, list_one, &l), 0);
    assert_true(l.n < MAX_FILES);
    qsort(l.numbers, l.n, sizeof l.numbers[0], cmp_u64);
    return l;
}

/* Path of the only file of `type` (asserts there is exactly one). */
static void only_file(fx *x, enum st_file_type type, char *path) {
    listing l = list_files(x->dir, type);
    if (l.n != 1) fail_msg("%zu files of type %d, expected 1", l.n, (int)type);
    if (type == ST_FT_LOG) st_fn_log(path, x->dir, l.numbers[0]);
    else if (type == ST_FT_TABLE) st_fn_table(path, x->dir, l.numbers[0]);
    else st_fn_manifest(path, x->dir, l.numbers[0]);
}

static uint8_t *read_file(const char *path, size_t *len) {
    char *data = NULL;
    assert_int_equal(st_io_read_all(path, &data, len), 0);
    return (uint8_t *)data;
}

/* Offset of the first occurrence of needle in path; fails if absent. */
static uint64_t find_in_file(const char *path, const char *needle) {
    size_t len, n = strlen(needle);
    uint8_t *p = read_file(path, &len);
    uint64_t off = UINT64_MAX;
    for (size_t i = 0; i + n <= len && off == UINT64_MAX; i++)
        if (memcmp(p + i, needle, n) == 0) off = i;
    free(p);
    if (off == UINT64_MAX) fail_msg("\"%s\" not found in %s", needle, path);
    return off;
}

/* Runs body in a forked child that ends with _exit, as a crash would: no st_db_close, no atexit.
 * The child must exit 0. */
static void run_child(fx *x, int (*body)(fx *x)) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(CHILD_ALARM_S);
        _exit(body(x));
    }
    int status = 0;
    pid_t r;
    do r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    assert_int_equal(r, pid);
    if (!WIFEXITED(status)) fail_msg("child died by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    if (WEXITSTATUS(status) != 0) fail_msg("child exited with %d", WEXITSTATUS(status));
}

/* ---- clean reopen --------------------------------------------------------------------------- */

#define SPAN_KEYS 2000

/* gen[i]: -1 deleted, else the generation of key i's value. */
static void check_span(fx *x, const int *gen) {
    char k[16], v[VCAP];
    for (int i = 0; i < SPAN_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, gen[i] < 0 ? 0 : gen[i]);
        expect_get(x, k, gen[i] < 0 ? NULL : v);
    }
    assert_int_equal(st_db_iter_new(x->db, NULL, &x->it), 0);
    st_iter_seek_first(x->it);
    for (int i = 0; i < SPAN_KEYS; i++) {
        if (gen[i] < 0) continue;
        kv(k, sizeof k, v, sizeof v, i, gen[i]);
        if (!st_iter_valid(x->it)) fail_msg("scan ended before %s (%s)", k, st_strerror(st_iter_status(x->it)));
        assert_int_equal(st_slice_cmp(st_iter_key(x->it), st_slice_str(k)), 0);
        assert_int_equal(st_slice_cmp(st_iter_value(x->it), st_slice_str(v)), 0);
        st_iter_next(x->it);
    }
    assert_false(st_iter_valid(x->it));
    assert_int_equal(st_iter_status(x->it), 0);
    st_iter_free(x->it);
    x->it = NULL;
}

/* Writes through a 32 KiB buffer, so at close the data sits in L0 tables, maybe an immutable
 * memtable being flushed, and the active memtable's WAL; all of it must come back. Compaction is
 * kept off L0 (huge triggers) so the tables stay there. */
static void test_recovery_reopen_keeps_data_across_memtable_wal_and_l0(void **state) {
    fx *x = *state;
    x->opts.write_buffer_bytes = 32u << 10;
    x->opts.level0_file_num_compaction_trigger = 1000;
    x->opts.level0_slowdown_writes_trigger = 1000;
    x->opts.level0_stop_writes_trigger = 1000;
    db_open(x);
    int *gen = calloc(SPAN_KEYS, sizeof *gen);
    assert_non_null(gen);
    char k[16], v[VCAP];
    for (int i = 0; i < SPAN_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        put_str(x, k, v);
    }
    for (int i = 0; i < SPAN_KEYS; i += 5) {
        kv(k, sizeof k, v, sizeof v, i, 1);
        if (i % 3 == 0) {
            assert_int_equal(st_db_delete(x->db, st_slice_str(k)), 0);
            gen[i] = -1;
        } else {
            put_str(x, k, v);
            gen[i] = 1;
        }
    }
    st_stats s = stats(x);
    uint64_t last = s.last_seq;
    assert_true(s.flushes >= 3);
    assert_true(s.memtable_bytes > 0);
    check_span(x, gen);
    for (int round = 0; round < 2; round++) {
        db_reopen(x);
        s = stats(x);
        assert_int_equal(s.last_seq, last);
        assert_true(s.level_files[0] >= 4);
        check_span(x, gen);
    }
    free(gen);
}

/* ---- crash recovery ------------------------------------------------------------------------- */

#define CRASH_KEYS 3000

static int crash_writer(fx *x) {
    st_db *db;
    if (st_db_open(x->dir, &x->opts, &db)) return 10;
    char k[16], v[VCAP];
    for (int i = 0; i < CRASH_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        if (st_db_put(db, st_slice_str(k), st_slice_str(v))) return 11;
    }
    for (int i = 0; i < CRASH_KEYS; i += 10) {
        snprintf(k, sizeof k, "key%05d", i);
        if (st_db_delete(db, st_slice_str(k))) return 12;
    }
    st_stats s;
    if (st_db_stats(db, &s) || s.flushes != 0) return 13; /* everything must be in the WAL only */
    return 0; /* _exit: no close, no flush, no final sync */
}

static void check_crash_keys(fx *x) {
    char k[16], v[VCAP];
    for (int i = 0; i < CRASH_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        expect_get(x, k, i % 10 == 0 ? NULL : v);
    }
}

static void test_recovery_replays_wal_after_crash(void **state) {
    fx *x = *state;
    run_child(x, crash_writer);
    assert_int_equal(list_files(x->dir, ST_FT_TABLE).n, 0);
    assert_int_equal(list_files(x->dir, ST_FT_LOG).n, 1);
    db_open(x);
    st_stats s = stats(x);
    assert_int_equal(s.last_seq, CRASH_KEYS + CRASH_KEYS / 10);
    assert_int_equal(s.level_files[0], 1); /* recovery wrote the replayed WAL to L0 */
    check_crash_keys(x);
    db_reopen(x);
    check_crash_keys(x);
}

/* A WAL bigger than the write buffer is spilled to several L0 tables during replay. */
static void test_recovery_spills_large_wal_to_several_tables(void **state) {
    fx *x = *state;
    run_child(x, crash_writer); /* default 64 MiB buffer in the child */
    x->opts.write_buffer_bytes = 32u << 10;
    db_open(x);
    assert_true(stats(x).level_files[0] >= 3);
    check_crash_keys(x);
}

/* ---- orphans -------------------------------------------------------------------------------- */

static void touch(fx *x, const char *name, const char *content) {
    char *p = st_test_path(x->dir, name);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    size_t n = strlen(content);
    if (n) assert_int_equal(fwrite(content, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    free(p);
}

static bool exists(fx *x, const char *name) {
    char *p = st_test_path(x->dir, name);
    bool e = st_io_exists(p);
    free(p);
    return e;
}

static void test_recovery_deletes_orphans_and_keeps_live_files(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "a", "1");
    assert_int_equal(st_db_flush(x->db), 0);
    put_str(x, "b", "2");
    db_close(x);
    /* first raise the file numbers past 123, so that 000123.log is below the log number */
    touch(x, "000200.sst", "not a table");
    db_open(x);
    assert_false(exists(x, "000200.sst"));
    put_str(x, "c", "3");
    assert_int_equal(st_db_flush(x->db), 0);
    put_str(x, "d", "4");
    db_close(x);
    listing logs = list_files(x->dir, ST_FT_LOG), tables = list_files(x->dir, ST_FT_TABLE);
    assert_int_equal(logs.n, 1);
    assert_true(logs.numbers[0] > 123);
    assert_true(tables.n >= 2);

    touch(x, "999999.sst", "stray table");
    touch(x, "000123.log", "stray log: garbage that is no record");
    touch(x, "MANIFEST-000777", "stray manifest");
    touch(x, "x.tmp", "half-written");
    touch(x, "CURRENT.tmp", "MANIFEST-000777\n");
    touch(x, "notes.txt", "not ours");
    db_open(x);
    assert_false(exists(x, "999999.sst"));
    assert_false(exists(x, "000123.log"));
    assert_false(exists(x, "MANIFEST-000777"));
    assert_false(exists(x, "x.tmp"));
    assert_false(exists(x, "CURRENT.tmp"));
    assert_true(exists(x, "notes.txt")); /* files the engine does not name are left alone */
    /* every live table stays; the live MANIFEST is the one CURRENT names */
    char path[ST_PATH_MAX];
    for (size_t i = 0; i < tables.n; i++) assert_true(st_io_exists(st_fn_table(path, x->dir, tables.numbers[i])));
    assert_int_equal(list_files(x->dir, ST_FT_MANIFEST).n, 1);
    char *cur;
    size_t len;
    assert_int_equal(st_io_read_all(st_fn_current(path, x->dir), &cur, &len), 0);
    listing m = list_files(x->dir, ST_FT_MANIFEST);
    char want[64];
    snprintf(want, sizeof want, "MANIFEST-%06llu\n", (unsigned long long)m.numbers[0]);
    assert_string_equal(cur, want);
    free(cur);
    expect_get(x, "a", "1");
    expect_get(x, "b", "2");
    expect_get(x, "c", "3");
    expect_get(x, "d", "4");
    /* numbers handed out from now on are above every number seen, the stray 999999 included */
    put_str(x, "e", "5");
    assert_int_equal(st_db_flush(x->db), 0);
    listing t2 = list_files(x->dir, ST_FT_TABLE);
    assert_true(t2.numbers[t2.n - 1] > 999999);
    db_reopen(x);
    expect_get(x, "e", "5");
    expect_get(x, "a", "1");
}

/* ---- damaged WALs --------------------------------------------------------------------------- */

#define WAL_RECS 10

/* Ten equal-sized single-put records in the live WAL, nothing flushed. Returns the record size. */
static uint64_t ten_wal_records(fx *x, char *wal_path) {
    db_open(x);
    char k[16], v[VCAP];
    for (int i = 0; i < WAL_RECS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        put_str(x, k, v);
    }
    db_close(x);
    only_file(x, ST_FT_LOG, wal_path);
    long long size = st_test_file_size(wal_path);
    assert_true(size > 0 && size % WAL_RECS == 0);
    return (uint64_t)size / WAL_RECS;
}

static void test_recovery_damaged_middle_wal_record_is_corrupt(void **state) {
    fx *x = *state;
    char wal[ST_PATH_MAX];
    uint64_t rec = ten_wal_records(x, wal);
    long long size = st_test_file_size(wal);
    assert_int_equal(st_test_flip_byte(wal, 5 * rec + 7 + 20, 0), 0); /* in record 5's payload */
    expect_open_corrupt(x);
    assert_errmsg_has(strrchr(wal, '/') + 1);
    /* the failed open repaired nothing and deleted nothing: it fails again the same way */
    assert_int_equal(st_test_file_size(wal), size);
    expect_open_corrupt(x);
    assert_errmsg_has(strrchr(wal, '/') + 1);
}

static void test_recovery_damaged_last_wal_record_is_a_torn_tail(void **state) {
    fx *x = *state;
    char wal[ST_PATH_MAX];
    uint64_t rec = ten_wal_records(x, wal);
    assert_int_equal(st_test_flip_byte(wal, (WAL_RECS - 1) * rec + 7 + 20, 0), 0);
    db_open(x);
    char k[16], v[VCAP];
    for (int i = 0; i < WAL_RECS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        expect_get(x, k, i < WAL_RECS - 1 ? v : NULL);
    }
    assert_int_equal(stats(x).last_seq, WAL_RECS - 1);
    /* the torn record's sequence number is handed out again, to a new write that sticks */
    kv(k, sizeof k, v, sizeof v, WAL_RECS - 1, 5);
    put_str(x, k, v);
    db_reopen(x);
    expect_get(x, k, v);
    kv(k, sizeof k, v, sizeof v, 0, 0);
    expect_get(x, k, v);
}

typedef struct wal_rec {
    uint64_t seq;
    const char *key, *value;
} wal_rec;

/* Writes WAL `number` directly, one batch {put key -> value} per record, as the db would. */
static void write_wal(fx *x, uint64_t number, const wal_rec *recs, size_t n, char *path) {
    st_fn_log(path, x->dir, number);
    st_wal *w;
    assert_int_equal(st_wal_open(path, number, &w), 0);
    for (size_t i = 0; i < n; i++) {
        st_batch_clear(x->b);
        assert_int_equal(st_batch_put(x->b, st_slice_str(recs[i].key), st_slice_str(recs[i].value)), 0);
        st_batch_set_seq(x->b, recs[i].seq);
        assert_int_equal(st_wal_append(w, st_slice_make(x->b->rep.data, x->b->rep.len), recs[i].seq), 0);
    }
    assert_int_equal(st_wal_close(w, true), 0);
}

/* Creates an empty database (CURRENT, MANIFEST, an empty live WAL) and returns a file number
 * well above the MANIFEST's log number, for WALs written by hand. */
static uint64_t empty_db_wal_base(fx *x) {
    db_open(x);
    db_close(x);
    listing logs = list_files(x->dir, ST_FT_LOG);
    assert_int_equal(logs.n, 1);
    return logs.numbers[0] + 100;
}

static void test_recovery_torn_older_wal_before_newer_records_is_corrupt(void **state) {
    fx *x = *state;
    uint64_t base = empty_db_wal_base(x);
    char older[ST_PATH_MAX], newer[ST_PATH_MAX];
    const wal_rec r1[] = {{1, "k1", "v1"}, {2, "k2", "v2"}, {3, "k3", "v3"}};
    const wal_rec r2[] = {{4, "k4", "v4"}, {5, "k5", "v5"}};
    write_wal(x, base, r1, 3, older);
    write_wal(x, base + 1, r2, 2, newer);
    long long size = st_test_file_size(older);
    assert_true(size > 3);
    assert_int_equal(st_test_truncate(older, (uint64_t)size - 3), 0); /* k3's record is cut off */
    expect_open_corrupt(x);
    assert_errmsg_has(strrchr(older, '/') + 1);
    assert_errmsg_has(strrchr(newer, '/') + 1);
    /* without the newer WAL nothing acknowledged is missing: the torn tail is just the end */
    assert_int_equal(unlink(newer), 0);
    db_open(x);
    expect_get(x, "k1", "v1");
    expect_get(x, "k2", "v2");
    expect_get(x, "k3", NULL);
    assert_int_equal(stats(x).last_seq, 2);
}

/* Intact WALs are replayed in number order; later writes get later sequence numbers. */
static void test_recovery_replays_several_wals_in_order(void **state) {
    fx *x = *state;
    uint64_t base = empty_db_wal_base(x);
    char p1[ST_PATH_MAX], p2[ST_PATH_MAX], p3[ST_PATH_MAX];
    const wal_rec r1[] = {{1, "k1", "v1"}, {2, "k2", "old"}, {3, "k3", "v3"}};
    const wal_rec r2[] = {{4, "k2", "new"}};
    const wal_rec r3[] = {{5, "k3", "newest"}, {6, "k4", "v4"}};
    write_wal(x, base + 7, r3, 2, p3); /* created out of order: names decide, not creation */
    write_wal(x, base, r1, 3, p1);
    write_wal(x, base + 3, r2, 1, p2);
    db_open(x);
    expect_get(x, "k1", "v1");
    expect_get(x, "k2", "new");
    expect_get(x, "k3", "newest");
    expect_get(x, "k4", "v4");
    assert_int_equal(stats(x).last_seq, 6);
    /* replayed WALs are folded into L0 and deleted */
    assert_false(st_io_exists(p1));
    assert_false(st_io_exists(p2));
    assert_false(st_io_exists(p3));
    put_str(x, "k1", "after");
    db_reopen(x);
    expect_get(x, "k1", "after");
    expect_get(x, "k2", "new");
}

/* ---- damaged tables and MANIFEST ------------------------------------------------------------ */

#define TABLE_KEYS 300

/* TABLE_KEYS keys in one L0 table (uncompressed), the db closed. */
static void one_table(fx *x, char *sst) {
    db_open(x);
    char k[16], v[VCAP];
    for (int i = 0; i < TABLE_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        put_str(x, k, v);
    }
    assert_int_equal(st_db_flush(x->db), 0);
    db_close(x);
    only_file(x, ST_FT_TABLE, sst);
}

static void test_recovery_damaged_data_block_fails_reads_never_lies(void **state) {
    fx *x = *state;
    char sst[ST_PATH_MAX], k[16], v[VCAP];
    one_table(x, sst);
    kv(k, sizeof k, v, sizeof v, 150, 0);
    uint64_t off = find_in_file(sst, v);
    assert_int_equal(st_test_flip_byte(sst, off + 40, 0), 0);
    db_open(x); /* open reads no data block */

    int first_bad = -1, last_bad = -1, bad = 0;
    for (int i = 0; i < TABLE_KEYS; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        uint8_t *got = NULL;
        size_t n = 0;
        int rc = st_db_get(x->db, NULL, st_slice_str(k), &got, &n);
        if (rc == ST_ECORRUPT) {
            assert_null(got);
            if (first_bad < 0) assert_errmsg_has(strrchr(sst, '/') + 1);
            if (first_bad < 0) first_bad = i;
            last_bad = i;
            bad++;
            continue;
        }
        if (rc) fail_msg("get %s: %s, expected the value or ST_ECORRUPT", k, st_strerror(rc));
        if (n != strlen(v) || memcmp(got, v, n) != 0) fail_msg("get %s: a wrong value", k);
        free(got);
    }
    /* exactly one block's keys fail: a contiguous run around key 150, not the first or last key */
    assert_true(first_bad > 0 && first_bad <= 150 && last_bad >= 150 && last_bad < TABLE_KEYS - 1);
    assert_int_equal(bad, last_bad - first_bad + 1);

    /* a scan yields the keys before the bad block, correctly, then ends with ST_ECORRUPT */
    assert_int_equal(st_db_iter_new(x->db, NULL, &x->it), 0);
    int i = 0;
    for (st_iter_seek_first(x->it); st_iter_valid(x->it) && i < TABLE_KEYS; st_iter_next(x->it), i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        assert_int_equal(st_slice_cmp(st_iter_key(x->it), st_slice_str(k)), 0);
        assert_int_equal(st_slice_cmp(st_iter_value(x->it), st_slice_str(v)), 0);
    }
    assert_int_equal(i, first_bad);
    assert_false(st_iter_valid(x->it));
    assert_int_equal(st_iter_status(x->it), ST_ECORRUPT);
    /* a seek into the bad block fails too; one past it reads on */
    kv(k, sizeof k, v, sizeof v, 150, 0);
    st_iter_seek(x->it, st_slice_str(k));
    assert_false(st_iter_valid(x->it));
    assert_int_equal(st_iter_status(x->it), ST_ECORRUPT);
    kv(k, sizeof k, v, sizeof v, last_bad + 1, 0);
    st_iter_seek(x->it, st_slice_str(k));
    assert_true(st_iter_valid(x->it));
    assert_int_equal(st_slice_cmp(st_iter_value(x->it), st_slice_str(v)), 0);
}

static void test_recovery_damaged_table_footer_is_corrupt(void **state) {
    fx *x = *state;
    char sst[ST_PATH_MAX];
    one_table(x, sst);
    long long size = st_test_file_size(sst);
    const int footer = 61; /* ST_SST_FOOTER_BYTES */
    for (long long off = size - footer; off < size; off++) {
        assert_int_equal(st_test_flip_byte(sst, (uint64_t)off, 0), 0);
        expect_open_corrupt(x);
        assert_errmsg_has(strrchr(sst, '/') + 1);
        assert_int_equal(st_test_flip_byte(sst, (uint64_t)off, 0), 0);
    }
    /* every flip undone, and the failed opens deleted nothing */
    db_open(x);
    char k[16], v[VCAP];
    for (int i = 0; i < TABLE_KEYS; i += 37) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        expect_get(x, k, v);
    }
}

/* A MANIFEST as every open leaves it: one snapshot record. Any flipped byte fails the open. */
static void test_recovery_damaged_manifest_is_corrupt(void **state) {
    fx *x = *state;
    char sst[ST_PATH_MAX], mf[ST_PATH_MAX];
    one_table(x, sst);
    db_open(x);
    db_close(x);
    only_file(x, ST_FT_MANIFEST, mf);
    long long size = st_test_file_size(mf);
    assert_true(size > 7 && size < 4096);
    for (long long off = 0; off < size; off++) {
        assert_int_equal(st_test_flip_byte(mf, (uint64_t)off, 0), 0);
        expect_open_corrupt(x);
        assert_int_equal(st_test_flip_byte(mf, (uint64_t)off, 0), 0);
    }
    assert_true(st_io_exists(sst));
    db_open(x);
    char k[16], v[VCAP];
    kv(k, sizeof k, v, sizeof v, TABLE_KEYS - 1, 0);
    expect_get(x, k, v);
}

/* The MANIFEST's LAST record (a flush's edit) is acted on once synced: the flushed WAL is deleted.
 * A byte flipped in it must fail the open, not read as a torn tail that would orphan (and delete)
 * the table; a record cut off by EOF is a write that never finished and is ignored. */
static void test_recovery_damaged_last_manifest_record_is_corrupt_not_torn(void **state) {
    fx *x = *state;
    db_open(x);
    char k[16], v[VCAP];
    for (int i = 0; i < 100; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        put_str(x, k, v);
    }
    assert_int_equal(st_db_flush(x->db), 0);
    db_close(x);
    char mf[ST_PATH_MAX];
    only_file(x, ST_FT_MANIFEST, mf);
    long long size = st_test_file_size(mf);
    assert_true(size > 20);
    /* every byte of the last few: a changed complete record is corruption */
    for (long long off = size - 4; off < size; off++) {
        assert_int_equal(st_test_flip_byte(mf, (uint64_t)off, 0), 0);
        expect_open_corrupt(x);
        assert_int_equal(st_test_flip_byte(mf, (uint64_t)off, 0), 0);
    }
    listing tables = list_files(x->dir, ST_FT_TABLE);
    assert_true(tables.n >= 1); /* nothing was deleted by the refused opens */
    db_open(x);
    for (int i = 0; i < 100; i++) {
        kv(k, sizeof k, v, sizeof v, i, 0);
        expect_get(x, k, v);
    }
}

/* ---- sequence numbers ----------------------------------------------------------------------- */

/* A write after reopen must be newer than everything recovered, whether what was recovered came
 * from a table (last_seq from the MANIFEST) or from a WAL (last_seq from the records). */
static void test_recovery_sequence_numbers_continue_after_reopen(void **state) {
    fx *x = *state;
    db_open(x);
    put_str(x, "t", "v1");
    put_str(x, "w", "v1");
    assert_int_equal(st_db_flush(x->db), 0);
    uint64_t s1 = stats(x).last_seq;
    db_reopen(x);
    assert_int_equal(stats(x).last_seq, s1);
    /* "t" overwritten into a second table: L0 order is by sequence number */
    put_str(x, "t", "v2");
    assert_int_equal(st_db_flush(x->db), 0);
    /* "w" overwritten in the WAL only */
    put_str(x, "w", "v2");
    uint64_t s2 = stats(x).last_seq;
    assert_true(s2 > s1);
    db_reopen(x);
    assert_int_equal(stats(x).last_seq, s2);
    expect_get(x, "t", "v2");
    expect_get(x, "w", "v2");
    put_str(x, "w", "v3");
    put_str(x, "t", "v3");
    db_reopen(x);
    expect_get(x, "t", "v3");
    expect_get(x, "w", "v3");
    /* and a snapshot taken now orders after every recovered write */
    st_snapshot *snap;
    assert_int_equal(st_db_snapshot(x->db, &snap), 0);
    assert_true(st_snapshot_seq(snap) > s2);
    st_db_snapshot_release(x->db, snap);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_recovery_reopen_keeps_data_across_memtable_wal_and_l0),
        T(test_recovery_replays_wal_after_crash),
        T(test_recovery_spills_large_wal_to_several_tables),
        T(test_recovery_deletes_orphans_and_keeps_live_files),
        T(test_recovery_damaged_middle_wal_record_is_corrupt),
        T(test_recovery_damaged_last_wal_record_is_a_torn_tail),
        T(test_recovery_torn_older_wal_before_newer_records_is_corrupt),
        T(test_recovery_replays_several_wals_in_order),
        T(test_recovery_damaged_data_block_fails_reads_never_lies),
        T(test_recovery_damaged_table_footer_is_corrupt),
        T(test_recovery_damaged_last_manifest_record_is_corrupt_not_torn),
        T(test_recovery_damaged_manifest_is_corrupt),
        T(test_recovery_sequence_numbers_continue_after_reopen),
    };
    return cmocka_run_group_tests_name("recovery", tests, NULL, NULL);
}
