/* test_faults.c -- crash and fault tolerance of the engine, through the public API and the io
 * layer's fault hooks (io.h):
 *   - a failed WAL write or fdatasync stops writes (ST_EFATAL, st_db_write_status naming the
 *     operation, the file and the errno text) while gets, iterators and snapshots go on, and a
 *     reopen recovers every acknowledged write;
 *   - a failed rename, directory fsync or MANIFEST write or sync during a flush stops writes the
 *     same way (the flush's error) and loses nothing;
 *   - short transfers (and fake -EAGAINs) on every read and write still make a correct database;
 *   - running out of space (ENOSPC, EDQUOT) in a flush, a compaction, a migration or a MANIFEST
 *     append is a soft error: writes go on until they would wait for the job, then get ST_ENOSPC
 *     at once; the job retries with a backoff and, once space is back, succeeds, the error clears
 *     by itself, nothing is lost and no file is left behind; an I/O error in a compaction stops
 *     writes for good;
 *   - a power loss (io.h's record of what is durable; a forked writer SIGKILLed, then the loss
 *     applied) keeps every acknowledged write under ST_SYNC_ALWAYS and a prefix under EVERYSEC;
 *   - a damaged table block (data, index, filter, footer) is ST_ECORRUPT naming the file and the
 *     block's offset, from a get, an iterator, a compaction (which then deletes nothing) or the
 *     open, and never a wrong value;
 *   - a damaged WAL record followed by valid ones fails the open naming the WAL, the offset and
 *     the repair option; ST_WAL_RECOVERY_POINT_IN_TIME then opens with the writes before it.
 * Every test has its own temporary directory and every loop is bounded. Waits for background
 * retries poll with short sleeps under a generous iteration bound; nothing asserts on time. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sst_layout.h"
#include "testutil.h"

#include "io/io.h"
#include "strata/st.h"
#include "table/block.h"
#include "table/compress.h"
#include "table/sstable_format.h"

#define KiB (1u << 10)
#define VLEN 100
#define VCAP (VLEN + 1)
#define MSG_CAP 1024
#define POLL_ROUNDS 20000 /* x 1 ms: far beyond any retry_max_ms used here */

typedef struct fx {
    char *dir;
    char *hot, *cold; /* tier directories, when a test uses tiers */
    st_db *db;
    st_options opts;
    st_iter *it;
    st_snapshot *snap;
} fx;

static void disarm_all(void) {
    for (int op = 0; op < ST_FAULT_OPS; op++) st_io_fault_arm((enum st_io_fault_op)op, 0, 0);
    st_io_test_set_short(0, 0);
}

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x || !(x->dir = st_test_tmpdir("faults"))) {
        free(x);
        return -1;
    }
    st_options_default(&x->opts);
    x->opts.sync_mode = ST_SYNC_NO;
    x->opts.retry_min_ms = 1; /* retries come fast, so the waits below stay short */
    x->opts.retry_max_ms = 20;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    disarm_all();
    st_iter_free(x->it);
    if (x->snap) st_db_snapshot_release(x->db, x->snap);
    st_db_close(x->db);
    st_io_test_power_track(false);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x->hot);
    free(x->cold);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void assert_has(const char *msg, const char *needle) {
    if (!strstr(msg, needle)) fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void db_open(fx *x) {
    assert_null(x->db);
    int rc = st_db_open(x->dir, &x->opts, &x->db);
    if (rc) fail_msg("st_db_open: %s (%s)", st_strerror(rc), st_errmsg());
}

static int db_close(fx *x) {
    st_iter_free(x->it);
    x->it = NULL;
    if (x->snap) st_db_snapshot_release(x->db, x->snap);
    x->snap = NULL;
    int rc = st_db_close(x->db);
    x->db = NULL;
    return rc;
}

static void db_reopen(fx *x) {
    int rc = db_close(x);
    if (rc) fail_msg("st_db_close: %s (%s)", st_strerror(rc), st_errmsg());
    db_open(x);
}

/* Key i, and its value in generation gen: VLEN bytes that differ per key and generation. */
static void kv(char *k, size_t kcap, char *v, int i, int gen) {
    snprintf(k, kcap, "key%06d", i);
    int n = snprintf(v, VCAP, "val-%06d-g%d-", i, gen);
    for (; n < VLEN; n++) v[n] = (char)('a' + (i * 7 + n * 3 + gen) % 26);
    v[n] = 0;
}

static int try_put(fx *x, int i, int gen) {
    char k[16], v[VCAP];
    kv(k, sizeof k, v, i, gen);
    return st_db_put(x->db, st_slice_str(k), st_slice_str(v));
}

static void put_kv(fx *x, int i, int gen) {
    int rc = try_put(x, i, gen);
    if (rc) fail_msg("put %d: %s (%s)", i, st_strerror(rc), st_errmsg());
}

/* Key i read through snapshot s (NULL: now): 0 with the value of generation gen, ST_ENOTFOUND or
 * ST_ECORRUPT. Any other value, or another error, fails the test: nothing wrong is ever served. */
static int get_kv_at(fx *x, const st_snapshot *s, int i, int gen) {
    char k[16], v[VCAP];
    kv(k, sizeof k, v, i, gen);
    st_read_options ro = {.snapshot = s};
    uint8_t *got = NULL;
    size_t n = 0;
    int rc = st_db_get(x->db, s ? &ro : NULL, st_slice_str(k), &got, &n);
    if (rc == ST_ENOTFOUND || rc == ST_ECORRUPT) {
        assert_null(got);
        return rc;
    }
    if (rc) fail_msg("get %s: %s (%s)", k, st_strerror(rc), st_errmsg());
    if (n != VLEN || memcmp(got, v, n) != 0) fail_msg("get %s: a wrong value \"%.*s\"", k, (int)n, (const char *)got);
    free(got);
    return 0;
}

static void expect_kv(fx *x, int i, int gen) {
    int rc = get_kv_at(x, NULL, i, gen);
    if (rc) fail_msg("get key%06d: %s (%s), expected its value", i, st_strerror(rc), st_errmsg());
}

static void expect_absent(fx *x, int i) {
    char k[16], v[VCAP];
    kv(k, sizeof k, v, i, 0);
    uint8_t *got = NULL;
    size_t n = 0;
    int rc = st_db_get(x->db, NULL, st_slice_str(k), &got, &n);
    if (rc != ST_ENOTFOUND) fail_msg("get %s: %s, expected not found", k, st_strerror(rc));
}

/* Key i is absent, or present with the value of generation gen (a write whose outcome is open). */
static void expect_absent_or(fx *x, int i, int gen) {
    int rc = get_kv_at(x, NULL, i, gen);
    if (rc != 0 && rc != ST_ENOTFOUND) fail_msg("get key%06d: %s (%s)", i, st_strerror(rc), st_errmsg());
}

/* Scans everything: keys come in order, each with the generation gen_of(i) says; returns the
 * number of keys. */
static int scan_count(fx *x, int (*gen_of)(int i)) {
    st_iter *it;
    assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
    int n = 0;
    char prev[16] = "";
    for (st_iter_seek_first(it); st_iter_valid(it) && n < 1000000; st_iter_next(it)) {
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        char key[16] = {0}, want_k[16], want_v[VCAP];
        assert_true(k.len < sizeof key);
        memcpy(key, k.data, k.len);
        assert_true(strcmp(key, prev) > 0);
        memcpy(prev, key, sizeof prev);
        int i = atoi(key + 3);
        kv(want_k, sizeof want_k, want_v, i, gen_of ? gen_of(i) : 0);
        assert_string_equal(key, want_k);
        if (v.len != VLEN || memcmp(v.data, want_v, VLEN) != 0) fail_msg("scan: %s has a wrong value", key);
        n++;
    }
    int rc = st_iter_status(it);
    if (rc) fail_msg("scan: %s (%s)", st_strerror(rc), st_errmsg());
    st_iter_free(it);
    return n;
}

/* Scans everything and counts the keys (a clean end required). */
static int scan_count_any(fx *x) {
    st_iter *it;
    assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
    int n = 0;
    for (st_iter_seek_first(it); st_iter_valid(it) && n < 1000000; st_iter_next(it)) n++;
    int rc = st_iter_status(it);
    if (rc) fail_msg("scan: %s (%s)", st_strerror(rc), st_errmsg());
    st_iter_free(it);
    return n;
}

static int gen_zero(int i) {
    (void)i;
    return 0;
}

static int status(fx *x, char *msg) { return st_db_write_status(x->db, msg, MSG_CAP); }

/* Polls until writes are accepted and nothing is failing any more (a soft error cleared). */
static void wait_recovered(fx *x) {
    char msg[MSG_CAP];
    int rc = 0;
    for (int i = 0; i < POLL_ROUNDS; i++) {
        rc = status(x, msg);
        if (rc == 0 && !msg[0]) return;
        if (rc && rc != ST_ENOSPC) fail_msg("write status %s: %s", st_strerror(rc), msg);
        usleep(1000);
    }
    fail_msg("the soft error never cleared: %s (%s)", st_strerror(rc), msg);
}

/* Polls st_db_wait_for_compactions until it reports a settled tree (ST_ENOSPC: still retrying). */
static void wait_settled(fx *x) {
    int rc = 0;
    for (int i = 0; i < POLL_ROUNDS; i++) {
        if ((rc = st_db_wait_for_compactions(x->db)) != ST_ENOSPC) break;
        usleep(1000);
    }
    if (rc) fail_msg("wait_for_compactions: %s (%s)", st_strerror(rc), st_errmsg());
}

typedef struct listing {
    int tables, tmps, logs, manifests;
} listing;

static void list_into(const char *dir, listing *l) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".tmp")) {
            print_message("temp file %s/%s\n", dir, e->d_name); /* says which, if it is a failure */
            l->tmps++;
        } else if (n > 4 && !strcmp(e->d_name + n - 4, ".sst")) l->tables++;
        else if (n > 4 && !strcmp(e->d_name + n - 4, ".log")) l->logs++;
        else if (!strncmp(e->d_name, "MANIFEST-", 9)) l->manifests++;
    }
    closedir(d);
}

static listing list_all(fx *x) {
    listing l = {0};
    list_into(x->dir, &l);
    if (x->hot) list_into(x->hot, &l);
    if (x->cold) list_into(x->cold, &l);
    return l;
}

static uint64_t version_tables(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    uint64_t n = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++) n += s.level_files[l];
    return n;
}

/* Once the tree settled (an open may start a compaction at once; after a hard error nothing new
 * starts): no temp file, and no table the current version does not name. */
static void expect_no_orphans(fx *x) {
    for (int i = 0; i < POLL_ROUNDS && st_db_wait_for_compactions(x->db) == ST_ENOSPC; i++) usleep(1000);
    listing l = list_all(x);
    assert_int_equal(l.tmps, 0);
    assert_int_equal((uint64_t)l.tables, version_tables(x));
}

/* The single file in dir whose name ends with suffix. */
static void only_file(const char *dir, const char *suffix, char *out, size_t cap) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name), s = strlen(suffix);
        if (n > s && !strcmp(e->d_name + n - s, suffix)) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found++;
        }
    }
    closedir(d);
    assert_int_equal(found, 1);
}

static uint64_t find_in_file(const char *path, const char *needle) {
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(path, &data, &len), 0);
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= len; i++)
        if (!memcmp(data + i, needle, nl)) {
            free(data);
            return i;
        }
    free(data);
    fail_msg("\"%s\" not in %s", needle, path);
    return 0;
}

/* ---- WAL failures: writes stop, reads go on ------------------------------------------------- */

static int gen_first50(int i) { return i < 50 ? 1 : 0; }

static void run_wal_failure(fx *x, enum st_io_fault_op op, const char *what) {
    x->opts.sync_mode = ST_SYNC_ALWAYS;
    db_open(x);
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), 0);
    assert_string_equal(msg, "");
    for (int i = 0; i < 100; i++) put_kv(x, i, 0);
    assert_int_equal(st_db_flush(x->db), 0); /* keys 0..99 in an L0 table */
    for (int i = 100; i < 200; i++) put_kv(x, i, 0);
    assert_int_equal(st_db_snapshot(x->db, &x->snap), 0);
    for (int i = 0; i < 50; i++) put_kv(x, i, 1); /* newer versions, in the memtable */

    st_io_fault_arm_ex(op, 1, EIO, 0, ".log");
    assert_int_equal(try_put(x, 500, 0), ST_EIO); /* the write whose own WAL I/O failed */
    assert_has(st_errmsg(), what);
    disarm_all();

    assert_int_equal(status(x, msg), ST_EFATAL);
    assert_has(msg, "writes stopped");
    assert_has(msg, what);
    assert_has(msg, ".log");
    assert_has(msg, strerror(EIO));
    /* every write path is refused, with the same message */
    assert_int_equal(try_put(x, 501, 0), ST_EFATAL);
    assert_has(st_errmsg(), msg); /* after st_err's "file.c:N: " */
    assert_int_equal(st_db_delete(x->db, st_slice_str("key000001")), ST_EFATAL);
    st_batch *b;
    assert_int_equal(st_batch_new(&b), 0);
    assert_int_equal(st_batch_put(b, st_slice_str("a"), st_slice_str("b")), 0);
    assert_int_equal(st_db_write(x->db, b, ST_WRITE_DEFER_COMMIT, NULL), ST_EFATAL);
    st_batch_free(b);
    uint64_t us;
    assert_int_equal(st_db_write_delay(x->db, 100, &us), ST_EFATAL);
    assert_int_equal(st_db_commit(x->db, 1), ST_EFATAL);
    assert_int_equal(st_db_flush(x->db), ST_EFATAL);

    /* reads: memtable, L0, a snapshot, an iterator */
    for (int i = 0; i < 200; i++) expect_kv(x, i, gen_first50(i));
    for (int i = 0; i < 50; i++) assert_int_equal(get_kv_at(x, x->snap, i, 0), 0);
    expect_absent_or(x, 500, 0); /* inserted before its commit failed: maybe visible, never wrong */
    expect_absent(x, 501);
    int n = scan_count(x, gen_first50);
    assert_true(n == 200 || n == 201);

    assert_int_equal(db_close(x), ST_EFATAL);
    db_open(x);
    assert_int_equal(status(x, msg), 0);
    for (int i = 0; i < 200; i++) expect_kv(x, i, gen_first50(i));
    expect_absent_or(x, 500, 0);
    expect_absent(x, 501);
    put_kv(x, 502, 0);
}

static void test_faults_failed_wal_write_stops_writes_keeps_reads(void **state) {
    run_wal_failure(*state, ST_FAULT_WRITE, "write of WAL");
}

static void test_faults_failed_wal_fsync_stops_writes_keeps_reads(void **state) {
    run_wal_failure(*state, ST_FAULT_SYNC, "fdatasync of WAL");
}

/* EVERYSEC: the fdatasync that fails is the one of a memtable switch (or of the everysec thread,
 * whichever comes first): the same stop. */
static void test_faults_failed_wal_fsync_in_everysec_stops_writes(void **state) {
    fx *x = *state;
    x->opts.sync_mode = ST_SYNC_EVERYSEC;
    x->opts.write_buffer_bytes = 16 * KiB;
    db_open(x);
    st_io_fault_arm_ex(ST_FAULT_SYNC, 1, EIO, 0, ".log");
    int rc = 0, acked = 0;
    for (int i = 0; i < 5000 && !rc; i++)
        if (!(rc = try_put(x, i, 0))) acked = i + 1;
    disarm_all();
    assert_true(rc == ST_EIO || rc == ST_EFATAL);
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_EFATAL);
    assert_has(msg, "fdatasync of WAL");
    assert_has(msg, strerror(EIO));
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
    assert_int_equal(db_close(x), ST_EFATAL);
    db_open(x); /* a SIGKILL-free process: everything written to the OS is still there */
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
}

/* ---- failures during a flush: hard, nothing lost ---------------------------------------------- */

static void run_flush_failure(fx *x, enum st_io_fault_op op, int nth, const char *filter, const char *needle) {
    db_open(x);
    for (int i = 0; i < 200; i++) put_kv(x, i, 0);
    st_io_fault_arm_ex(op, nth, EIO, 0, filter);
    assert_int_equal(st_db_flush(x->db), ST_EIO);
    disarm_all();
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_EIO);
    assert_has(msg, "writes stopped: flush of the memtable of WAL");
    assert_has(msg, needle);
    assert_has(msg, strerror(EIO));
    assert_int_equal(try_put(x, 300, 0), ST_EIO);
    assert_has(st_errmsg(), msg); /* after st_err's "file.c:N: " */
    for (int i = 0; i < 200; i++) expect_kv(x, i, 0);
    assert_int_equal(scan_count(x, gen_zero), 200);
    assert_int_equal(list_all(x).tmps, 0);
    assert_int_equal(db_close(x), 0); /* the WAL is fine: a clean close */
    db_open(x);
    assert_int_equal(status(x, msg), 0);
    for (int i = 0; i < 200; i++) expect_kv(x, i, 0);
    expect_absent(x, 300);
    expect_no_orphans(x);
}

static void test_faults_failed_table_rename_in_flush_stops_writes(void **state) {
    run_flush_failure(*state, ST_FAULT_RENAME, 1, ".sst", "rename of ");
}

/* The directory's own fsyncs: the new WAL's and the switch's (1, 2), then the flushed table's. */
static void test_faults_failed_dir_sync_in_flush_stops_writes(void **state) {
    fx *x = *state;
    char filter[512];
    snprintf(filter, sizeof filter, "%s$", x->dir);
    run_flush_failure(x, ST_FAULT_SYNC, 3, filter, "fsync of its directory");
}

static void test_faults_failed_manifest_write_in_flush_stops_writes(void **state) {
    run_flush_failure(*state, ST_FAULT_WRITE, 1, "MANIFEST", "MANIFEST");
}

static void test_faults_failed_manifest_sync_in_flush_stops_writes(void **state) {
    run_flush_failure(*state, ST_FAULT_SYNC, 1, "MANIFEST", "MANIFEST");
}

/* ---- short transfers ------------------------------------------------------------------------ */

static int gen_short(int i) { return i < 300 ? 1 : 0; }

static void test_faults_short_transfers_everywhere_make_a_correct_db(void **state) {
    fx *x = *state;
    x->opts.sync_mode = ST_SYNC_ALWAYS; /* zero-ahead WAL writes and fdatasyncs too */
    x->opts.write_buffer_bytes = 16 * KiB;
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.target_file_size_base = 16 * KiB;
    x->opts.max_bytes_for_level_base = 64 * KiB;
    st_io_test_set_short(509, 3); /* every transfer cut at 509 bytes; every 3rd uring completion EAGAIN */
    db_open(x);
    for (int i = 0; i < 1500; i++) put_kv(x, i, 0);
    for (int i = 0; i < 300; i++) put_kv(x, i, 1);
    for (int i = 1400; i < 1500; i++) {
        char k[16], v[VCAP];
        kv(k, sizeof k, v, i, 0);
        assert_int_equal(st_db_delete(x->db, st_slice_str(k)), 0);
    }
    assert_int_equal(st_db_compact_range(x->db, NULL, NULL), 0);
    assert_int_equal(scan_count(x, gen_short), 1400);
    db_reopen(x);
    assert_int_equal(scan_count(x, gen_short), 1400);
    st_io_test_set_short(0, 0);
    db_reopen(x);
    for (int i = 0; i < 1400; i++) expect_kv(x, i, gen_short(i));
    for (int i = 1400; i < 1500; i++) expect_absent(x, i);
    expect_no_orphans(x);
}

/* ---- running out of space: soft, retried, clears by itself ---------------------------------- */

/* err: ENOSPC, or EDQUOT (a quota is lack of space too). */
/* Every acknowledged key 0..acked-1 reads back, no file is left over, and the same holds after a
 * reopen: what a retried job must leave behind. */
static void expect_intact_across_reopen(fx *x, int acked) {
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
    expect_no_orphans(x);
    db_reopen(x);
    assert_int_equal(scan_count(x, gen_zero), acked);
    wait_settled(x);
    expect_no_orphans(x);
}

static void run_no_space_in_flush(fx *x, int err) {
    x->opts.write_buffer_bytes = 16 * KiB;
    x->opts.max_immutable = 2;
    db_open(x);
    for (int i = 0; i < 10; i++) put_kv(x, i, 0);
    st_io_fault_arm_ex(ST_FAULT_WRITE, 1, err, ST_FAULT_PERSISTENT, ".sst");
    /* the flush fails and says so, but the data stays (memtable, WAL) and writes go on */
    assert_int_equal(st_db_flush(x->db), ST_ENOSPC);
    assert_has(st_errmsg(), strerror(err));
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), 0);
    assert_has(msg, "writes accepted, but short of disk space");
    assert_has(msg, "flush of the memtable of WAL");
    assert_has(msg, strerror(err));
    int rc = 0, acked = 10;
    for (int i = 10; i < 20000 && !rc; i++)
        if (!(rc = try_put(x, i, 0))) acked = i + 1;
    /* once every memtable slot waits for the flush: refused at once, not a wait without end */
    assert_int_equal(rc, ST_ENOSPC);
    assert_has(st_errmsg(), "writes refused");
    assert_has(st_errmsg(), strerror(err));
    assert_int_equal(status(x, msg), ST_ENOSPC);
    assert_has(msg, "writes refused: every memtable waits for a flush");
    assert_has(msg, "Free disk space");
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
    assert_int_equal(scan_count(x, gen_zero), acked);

    disarm_all(); /* space is back: the next retry works and writes resume by themselves */
    wait_recovered(x);
    for (int i = acked; i < acked + 200; i++) put_kv(x, i, 0);
    acked += 200;
    assert_int_equal(st_db_flush(x->db), 0);
    wait_settled(x);
    expect_intact_across_reopen(x, acked);
}

static void test_faults_enospc_in_flush_is_soft_and_clears_by_itself(void **state) {
    run_no_space_in_flush(*state, ENOSPC);
}

static void test_faults_edquot_in_flush_is_soft_and_clears_by_itself(void **state) {
    run_no_space_in_flush(*state, EDQUOT);
}

/* L0 in hot/, everything below in cold/: a full cold tier fails compactions, not flushes. */
static void tiered(fx *x) {
    x->hot = st_test_path(x->dir, "hot");
    x->cold = st_test_path(x->dir, "cold");
    x->opts.n_tiers = 2;
    x->opts.tiers[0].name = "hot";
    x->opts.tiers[0].dir = x->hot;
    x->opts.tiers[0].first_level = 0;
    x->opts.tiers[0].last_level = 0;
    x->opts.tiers[1].name = "cold";
    x->opts.tiers[1].dir = x->cold;
    x->opts.tiers[1].first_level = 1;
    x->opts.tiers[1].last_level = ST_MAX_LEVELS - 1;
    x->opts.write_buffer_bytes = 16 * KiB;
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.level0_slowdown_writes_trigger = 3;
    x->opts.level0_stop_writes_trigger = 4;
    x->opts.delayed_write_rate = 1ull << 30;
    x->opts.target_file_size_base = 64 * KiB;
    x->opts.max_bytes_for_level_base = 256 * KiB;
}

static void test_faults_enospc_in_compaction_is_soft_and_clears_by_itself(void **state) {
    fx *x = *state;
    tiered(x);
    db_open(x);
    st_io_fault_arm_ex(ST_FAULT_WRITE, 1, ENOSPC, ST_FAULT_PERSISTENT, "/cold/");
    int rc = 0, acked = 0;
    for (int i = 0; i < 20000 && !rc; i++)
        if (!(rc = try_put(x, i, 0))) acked = i + 1;
    /* flushes go on until L0 reaches its stop trigger; then writes are refused at once */
    assert_int_equal(rc, ST_ENOSPC);
    assert_has(st_errmsg(), "compaction");
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_ENOSPC);
    assert_has(msg, "writes refused: L0 is full and waits for a compaction");
    assert_has(msg, strerror(ENOSPC));
    assert_int_equal(st_db_wait_for_compactions(x->db), ST_ENOSPC);
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
    assert_int_equal(scan_count(x, gen_zero), acked);

    disarm_all();
    wait_recovered(x);
    for (int i = acked; i < acked + 300; i++) put_kv(x, i, 0);
    acked += 300;
    wait_settled(x);
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    assert_true(s.compactions > 0);
    expect_intact_across_reopen(x, acked);
}

/* Tables written before tiers were configured are misplaced once cold/ holds their level: the
 * migration that copies them there runs out of space, which only the status mentions (writes are
 * not waiting for it), and is retried until it works. */
static void test_faults_enospc_in_migration_is_soft_and_clears_by_itself(void **state) {
    fx *x = *state;
    db_open(x);
    for (int i = 0; i < 500; i++) put_kv(x, i, 0);
    assert_int_equal(st_db_compact_range(x->db, NULL, NULL), 0); /* deeper than L0 */
    assert_int_equal(db_close(x), 0);
    tiered(x);
    st_io_fault_arm_ex(ST_FAULT_WRITE, 1, ENOSPC, ST_FAULT_PERSISTENT, "/cold/");
    db_open(x);
    char msg[MSG_CAP];
    int rc = 0;
    for (int i = 0; i < POLL_ROUNDS; i++) { /* until the first move failed */
        if ((rc = status(x, msg)) != 0 || msg[0]) break;
        usleep(1000);
    }
    assert_int_equal(rc, 0);
    assert_has(msg, "writes accepted, but short of disk space: migration of table");
    assert_has(msg, strerror(ENOSPC));
    put_kv(x, 1000, 0);
    for (int i = 0; i < 500; i++) expect_kv(x, i, 0);
    disarm_all();
    wait_recovered(x);
    wait_settled(x);
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    assert_true(s.migrations > 0);
    assert_int_equal(s.tier_files[0], 0); /* nothing left in the database directory */
    for (int i = 0; i < 500; i++) expect_kv(x, i, 0);
    expect_no_orphans(x);
}

/* An append to the MANIFEST that runs out of space: the table it would have named is kept until a
 * new MANIFEST (written by the retry) supersedes that one, then removed; nothing else changes. */
static void test_faults_enospc_in_manifest_switches_to_a_new_one(void **state) {
    fx *x = *state;
    db_open(x);
    for (int i = 0; i < 100; i++) put_kv(x, i, 0);
    listing before = list_all(x);
    assert_int_equal(before.manifests, 1);
    /* the first append fails; the retry's new MANIFEST fails too; the next one works */
    st_io_fault_arm_ex(ST_FAULT_WRITE, 1, ENOSPC, ST_FAULT_PERSISTENT, "MANIFEST");
    assert_int_equal(st_db_flush(x->db), ST_ENOSPC);
    assert_int_equal(st_db_flush(x->db), ST_ENOSPC); /* the next attempt, a new MANIFEST: no space */
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), 0);
    assert_has(msg, "MANIFEST");
    disarm_all();
    assert_int_equal(st_db_flush(x->db), 0);
    wait_recovered(x);
    listing after = list_all(x);
    assert_int_equal(after.manifests, 1); /* the old one went once the new one was CURRENT */
    expect_no_orphans(x);                 /* the table the failed record named went too */
    for (int i = 0; i < 100; i++) expect_kv(x, i, 0);
    db_reopen(x);
    assert_int_equal(scan_count(x, gen_zero), 100);
    expect_no_orphans(x);
}

static void test_faults_eio_in_compaction_stops_writes_keeps_inputs(void **state) {
    fx *x = *state;
    tiered(x);
    db_open(x);
    st_io_fault_arm_ex(ST_FAULT_WRITE, 1, EIO, 0, "/cold/");
    int rc = 0, acked = 0;
    for (int i = 0; i < 20000 && !rc; i++)
        if (!(rc = try_put(x, i, 0))) acked = i + 1;
    disarm_all();
    assert_int_equal(rc, ST_EIO); /* writes stop at once after the hard error */
    assert_int_equal(st_db_wait_for_compactions(x->db), ST_EIO);
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_EIO);
    assert_has(msg, "writes stopped: compaction L0->L");
    assert_has(msg, "/cold/");
    assert_has(msg, strerror(EIO));
    assert_has(msg, "reopen");
    assert_int_equal(try_put(x, acked, 0), ST_EIO);
    for (int i = 0; i < acked; i++) expect_kv(x, i, 0);
    assert_int_equal(db_close(x), 0);
    assert_int_equal(list_all(x).tmps, 0); /* (a flush already running when writes stopped ends first) */
    db_open(x); /* the inputs are all there: the compaction works now */
    assert_int_equal(status(x, msg), 0);
    wait_settled(x);
    assert_int_equal(scan_count(x, gen_zero), acked);
    expect_no_orphans(x);
}

/* ---- power loss ----------------------------------------------------------------------------- */

#define PL_MAX_ROUNDS 6

typedef struct pl_shared {
    atomic_int acked;
} pl_shared;

static void pl_key(char *k, size_t kcap, char *v, int round, int i) {
    kv(k, kcap, v, i, round);
    snprintf(k, kcap, "r%02d-%06d", round, i);
}

/* The child: writes keys round-000000, -000001, ... and is killed (by itself) after kill_at
 * acknowledgements, whatever its background threads are doing. Never returns. */
static void pl_child(fx *x, pl_shared *sh, int round, int kill_at) {
    st_db *db;
    if (st_db_open(x->dir, &x->opts, &db)) _exit(10);
    for (int i = 0; i < kill_at; i++) {
        char k[16], v[VCAP];
        pl_key(k, sizeof k, v, round, i);
        if (st_db_put(db, st_slice_str(k), st_slice_str(v))) _exit(40);
        atomic_store(&sh->acked, i + 1);
    }
    kill(getpid(), SIGKILL);
    _exit(70);
}

/* How many of round's keys survive, checking that they form a prefix with the right values. */
static int pl_survivors(fx *x, int round, int written) {
    int n = 0;
    bool gap = false;
    for (int i = 0; i < written; i++) {
        char k[16], v[VCAP];
        pl_key(k, sizeof k, v, round, i);
        uint8_t *got = NULL;
        size_t len = 0;
        int rc = st_db_get(x->db, NULL, st_slice_str(k), &got, &len);
        if (rc == ST_ENOTFOUND) {
            gap = true;
            continue;
        }
        if (rc) fail_msg("get %s: %s (%s)", k, st_strerror(rc), st_errmsg());
        if (gap) fail_msg("%s survived the power loss but a key before it did not", k);
        if (len != VLEN || memcmp(got, v, VLEN) != 0) fail_msg("get %s: a wrong value", k);
        free(got);
        n++;
    }
    return n;
}

static void run_power_loss(fx *x, st_sync_mode mode, int rounds, int min_ops, int span, const char *name) {
    st_rng rng;
    st_rng_seed(&rng, st_test_seed(name, 42));
    x->opts.sync_mode = mode;
    x->opts.write_buffer_bytes = 32 * KiB; /* switches, flushes and compactions during the run */
    x->opts.level0_file_num_compaction_trigger = 2;
    x->opts.target_file_size_base = 32 * KiB;
    x->opts.max_bytes_for_level_base = 128 * KiB;
    pl_shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    assert_int_equal(st_io_test_power_track(true), 0);
    int acked[PL_MAX_ROUNDS], kept[PL_MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        int kill_at = min_ops + (int)st_rng_below(&rng, (uint64_t)span);
        atomic_store(&sh->acked, 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) pl_child(x, sh, r, kill_at);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        if (!WIFSIGNALED(ws) || WTERMSIG(ws) != SIGKILL)
            fail_msg("the writer of round %d ended with status %d, not SIGKILL", r, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
        acked[r] = atomic_load(&sh->acked);
        assert_int_equal(acked[r], kill_at);
        int rc = st_io_test_power_loss(x->dir);
        if (rc) fail_msg("st_io_test_power_loss: %s", strerror(-rc));

        db_open(x);
        for (int q = 0; q <= r; q++) {
            int n = pl_survivors(x, q, acked[q]);
            if (q < r) assert_int_equal(n, kept[q]); /* earlier rounds ended with a clean close */
            else kept[q] = n;
            if (mode == ST_SYNC_ALWAYS) assert_int_equal(n, acked[q]); /* every acknowledged write */
        }
        int total = 0;
        for (int q = 0; q <= r; q++) total += kept[q];
        assert_int_equal(scan_count_any(x), total); /* and nothing else */
        print_message("round %d: %d of %d writes survived\n", r, kept[r], acked[r]);
        assert_int_equal(db_close(x), 0);
    }
    munmap(sh, sizeof *sh);
}

static void test_faults_power_loss_always_keeps_every_acknowledged_write(void **state) {
    run_power_loss(*state, ST_SYNC_ALWAYS, 3, 100, 500, "power_loss_always");
}

static void test_faults_power_loss_everysec_keeps_a_prefix(void **state) {
    run_power_loss(*state, ST_SYNC_EVERYSEC, 4, 300, 2700, "power_loss_everysec");
}

/* The io layer's record alone: unsynced data goes, an unsynced name goes, a rename whose directory
 * was not synced is undone and what it replaced comes back. */
static void test_faults_power_loss_record_drops_what_was_not_durable(void **state) {
    fx *x = *state;
    assert_int_equal(st_io_test_power_track(true), 0);
    char *a = st_test_path(x->dir, "a"), *b = st_test_path(x->dir, "b"), *c = st_test_path(x->dir, "c"),
         *c2 = st_test_path(x->dir, "c2");
    st_file *f;
    /* a: durable name, 5 synced bytes, then 5 more unsynced */
    assert_int_equal(st_file_open(a, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    assert_int_equal(st_file_append(f, "hello", 5), 0);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_io_sync_dir(x->dir), 0);
    assert_int_equal(st_file_append(f, "world", 5), 0);
    st_file_close(f);
    /* c: durable "old"; then c2 ("new", synced) renamed over it without a directory sync */
    assert_int_equal(st_file_open(c, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    assert_int_equal(st_file_append(f, "old", 3), 0);
    assert_int_equal(st_file_sync(f), 0);
    st_file_close(f);
    assert_int_equal(st_io_sync_dir(x->dir), 0);
    assert_int_equal(st_file_open(c2, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    assert_int_equal(st_file_append(f, "new", 3), 0);
    assert_int_equal(st_file_sync(f), 0);
    st_file_close(f);
    assert_int_equal(st_io_rename(c2, c), 0);
    /* b: synced data, but its name never made durable */
    assert_int_equal(st_file_open(b, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    assert_int_equal(st_file_append(f, "data", 4), 0);
    assert_int_equal(st_file_sync(f), 0);
    st_file_close(f);

    assert_int_equal(st_io_test_power_loss(x->dir), 0);
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(a, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    assert_false(st_io_exists(b));
    assert_int_equal(st_io_read_all(c, &data, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "old", 3);
    free(data);
    assert_false(st_io_exists(c2)); /* its own name was never durable either */
    free(a);
    free(b);
    free(c);
    free(c2);
}

/* ---- damaged tables ------------------------------------------------------------------------- */


#define TABLE_KEYS 300

/* TABLE_KEYS keys and a tombstone (so that a compaction into the last level rewrites the table
 * instead of moving it) in one L0 table stored raw, the db closed. */
static void one_table(fx *x, char *sst, size_t cap, sst_layout *l) {
    x->opts.codec = ST_CODEC_NONE;
    for (int i = 0; i < ST_MAX_LEVELS; i++) x->opts.levels[i].codec = ST_CODEC_NONE;
    db_open(x);
    for (int i = 0; i < TABLE_KEYS; i++) put_kv(x, i, 0);
    assert_int_equal(st_db_delete(x->db, st_slice_str("key999999")), 0);
    assert_int_equal(st_db_flush(x->db), 0);
    assert_int_equal(db_close(x), 0);
    only_file(x->dir, ".sst", sst, cap);
    sst_get_layout(sst, l);
    assert_true(l->ndata >= 3);
}

/* Every key reads back right or fails with ST_ECORRUPT naming the table and the block; returns how
 * many failed. gen_of: each key's expected generation. */
static int read_all_checked(fx *x, int n, int (*gen_of)(int), const char *name, const char *want) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        int rc = get_kv_at(x, NULL, i, gen_of(i));
        if (rc == ST_ECORRUPT) {
            assert_has(st_errmsg(), name);
            assert_has(st_errmsg(), want);
            bad++;
        } else if (rc) {
            fail_msg("get key%06d: %s", i, st_strerror(rc));
        }
    }
    return bad;
}

static void test_faults_damaged_data_block_is_corrupt_never_served(void **state) {
    fx *x = *state;
    char sst[4096], want[96];
    sst_layout l;
    one_table(x, sst, sizeof sst, &l);
    st_block_handle h = l.data[1];
    assert_int_equal(st_test_flip_byte(sst, h.off + h.size / 2, 0), 0);
    snprintf(want, sizeof want, "data block at offset %llu (%llu bytes): checksum mismatch", (unsigned long long)h.off,
             (unsigned long long)h.size);
    const char *name = strrchr(sst, '/') + 1;
    db_open(x); /* the open reads no data block */

    int bad = read_all_checked(x, TABLE_KEYS, gen_zero, name, want);
    assert_true(bad > 0 && bad < TABLE_KEYS);
    /* a batched read: the damaged block's keys fail alone */
    st_slice keys[TABLE_KEYS];
    char kbuf[TABLE_KEYS][16], v[VCAP];
    uint8_t *vals[TABLE_KEYS];
    size_t lens[TABLE_KEYS];
    int sts[TABLE_KEYS];
    for (int i = 0; i < TABLE_KEYS; i++) {
        kv(kbuf[i], sizeof kbuf[i], v, i, 0);
        keys[i] = st_slice_str(kbuf[i]);
    }
    assert_int_equal(st_db_multiget(x->db, NULL, TABLE_KEYS, keys, vals, lens, sts), 0);
    int mbad = 0;
    for (int i = 0; i < TABLE_KEYS; i++) {
        if (sts[i] == ST_ECORRUPT) {
            assert_null(vals[i]);
            mbad++;
            continue;
        }
        assert_int_equal(sts[i], 0);
        kv(kbuf[i], sizeof kbuf[i], v, i, 0);
        assert_int_equal(lens[i], VLEN);
        assert_memory_equal(vals[i], v, VLEN);
        free(vals[i]);
    }
    assert_int_equal(mbad, bad);
    /* an iterator: the keys before the block, then ST_ECORRUPT */
    assert_int_equal(st_db_iter_new(x->db, NULL, &x->it), 0);
    int n = 0;
    for (st_iter_seek_first(x->it); st_iter_valid(x->it) && n <= TABLE_KEYS; st_iter_next(x->it)) n++;
    assert_true(n < TABLE_KEYS);
    assert_int_equal(st_iter_status(x->it), ST_ECORRUPT);
    assert_has(st_errmsg(), name);
    assert_has(st_errmsg(), want);
    st_iter_free(x->it);
    x->it = NULL;
    /* a compaction: fails, installs nothing, deletes nothing, leaves no output behind */
    assert_int_equal(st_db_compact_range(x->db, NULL, NULL), ST_ECORRUPT);
    assert_has(st_errmsg(), name);
    assert_has(st_errmsg(), want);
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_ECORRUPT);
    assert_has(msg, "writes stopped: manual compaction");
    assert_has(msg, want);
    assert_has(msg, "restore the table");
    assert_true(st_io_exists(sst));
    assert_int_equal(version_tables(x), 1);
    expect_no_orphans(x);
    assert_int_equal(db_close(x), 0);
    db_open(x); /* still readable, still never wrong */
    assert_int_equal(read_all_checked(x, TABLE_KEYS, gen_zero, name, want), bad);
    free(l.data);
}

static int gen_overlap(int i) { return i >= 150 ? 1 : 0; }

static void test_faults_damaged_input_stops_a_background_compaction(void **state) {
    fx *x = *state;
    char sst[4096], want[96];
    sst_layout l;
    one_table(x, sst, sizeof sst, &l);
    st_block_handle h = l.data[0];
    assert_int_equal(st_test_flip_byte(sst, h.off + h.size / 3, 0), 0);
    snprintf(want, sizeof want, "data block at offset %llu", (unsigned long long)h.off);
    const char *name = strrchr(sst, '/') + 1;
    x->opts.level0_file_num_compaction_trigger = 2;
    db_open(x);
    /* a second, overlapping L0 table makes a real merge due (not a move) */
    for (int i = 150; i < 450; i++) put_kv(x, i, 1);
    int rc = st_db_flush(x->db); /* the compaction may fail before the flush call returns */
    assert_true(rc == 0 || rc == ST_ECORRUPT);
    assert_int_equal(st_db_wait_for_compactions(x->db), ST_ECORRUPT);
    char msg[MSG_CAP];
    assert_int_equal(status(x, msg), ST_ECORRUPT);
    assert_has(msg, "writes stopped: compaction L0->L");
    assert_has(msg, name);
    assert_has(msg, want);
    assert_int_equal(try_put(x, 1000, 0), ST_ECORRUPT);
    assert_true(st_io_exists(sst));
    assert_int_equal(version_tables(x), 2);
    expect_no_orphans(x);
    int bad = read_all_checked(x, 450, gen_overlap, name, want);
    assert_true(bad > 0 && bad < 150);
    free(l.data);
}

/* Index, filter and footer are read (and verified) when the table is opened: the open fails. */
static void run_damaged_meta(fx *x, const char *what) {
    char sst[4096], want[96];
    sst_layout l;
    one_table(x, sst, sizeof sst, &l);
    uint64_t off;
    if (!strcmp(what, "footer")) {
        off = l.footer_off + 10; /* inside the metaindex handle: a checksum mismatch */
        snprintf(want, sizeof want, "footer at offset %llu", (unsigned long long)l.footer_off);
    } else {
        st_block_handle h = !strcmp(what, "index") ? l.index : l.filter;
        off = h.off + h.size / 2;
        snprintf(want, sizeof want, "%s block at offset %llu (%llu bytes): checksum mismatch", what,
                 (unsigned long long)h.off, (unsigned long long)h.size);
    }
    assert_int_equal(st_test_flip_byte(sst, off, 0), 0);
    st_db *db = (st_db *)&db;
    assert_int_equal(st_db_open(x->dir, &x->opts, &db), ST_ECORRUPT);
    assert_null(db);
    assert_has(st_errmsg(), strrchr(sst, '/') + 1);
    assert_has(st_errmsg(), want);
    /* the failed open changed nothing: undo the flip and everything is there */
    assert_int_equal(st_test_flip_byte(sst, off, 0), 0);
    db_open(x);
    assert_int_equal(read_all_checked(x, TABLE_KEYS, gen_zero, "-", "-"), 0);
    free(l.data);
}

static void test_faults_damaged_index_block_fails_the_open(void **state) { run_damaged_meta(*state, "index"); }
static void test_faults_damaged_filter_block_fails_the_open(void **state) { run_damaged_meta(*state, "filter"); }
static void test_faults_damaged_footer_fails_the_open(void **state) { run_damaged_meta(*state, "footer"); }

/* ---- damaged WAL ---------------------------------------------------------------------------- */

static void test_faults_damaged_wal_record_fails_open_and_point_in_time_keeps_the_prefix(void **state) {
    fx *x = *state;
    db_open(x);
    for (int i = 0; i < 200; i++) put_kv(x, i, 0);
    assert_int_equal(db_close(x), 0); /* the writes stay in the WAL (no flush at close) */
    char wal[4096], k[16], v[VCAP];
    only_file(x->dir, ".log", wal, sizeof wal);
    kv(k, sizeof k, v, 100, 0);
    uint64_t off = find_in_file(wal, v);
    assert_int_equal(st_test_flip_byte(wal, off + 10, 0), 0);

    st_db *db = (st_db *)&db;
    assert_int_equal(st_db_open(x->dir, &x->opts, &db), ST_ECORRUPT);
    assert_null(db);
    assert_has(st_errmsg(), strrchr(wal, '/') + 1);
    assert_has(st_errmsg(), "damaged record at offset");
    assert_has(st_errmsg(), "ST_WAL_RECOVERY_POINT_IN_TIME");

    x->opts.wal_recovery = ST_WAL_RECOVERY_POINT_IN_TIME;
    db_open(x);
    for (int i = 0; i < 100; i++) expect_kv(x, i, 0);
    for (int i = 100; i < 200; i++) expect_absent(x, i);
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    assert_true(s.recovery_wal_bytes_dropped > 0);
    put_kv(x, 300, 0);
    assert_int_equal(db_close(x), 0);
    /* repaired for good: a strict open works, the damaged WAL is gone */
    x->opts.wal_recovery = ST_WAL_RECOVERY_STRICT;
    db_open(x);
    assert_false(st_io_exists(wal));
    for (int i = 0; i < 100; i++) expect_kv(x, i, 0);
    for (int i = 100; i < 200; i++) expect_absent(x, i);
    expect_kv(x, 300, 0);
}

static void test_faults_options_check_the_error_settings(void **state) {
    fx *x = *state;
    st_options o = x->opts;
    st_db *db = NULL;
    o.wal_recovery = (st_wal_recovery)7;
    assert_int_equal(st_db_open(x->dir, &o, &db), ST_EINVAL);
    assert_has(st_errmsg(), "wal_recovery");
    o = x->opts;
    o.retry_min_ms = 50;
    o.retry_max_ms = 10;
    assert_int_equal(st_db_open(x->dir, &o, &db), ST_EINVAL);
    assert_has(st_errmsg(), "retry_min_ms");
    o.retry_min_ms = 0;
    assert_int_equal(st_db_open(x->dir, &o, &db), ST_EINVAL);
    assert_null(db);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_faults_failed_wal_write_stops_writes_keeps_reads),
        T(test_faults_failed_wal_fsync_stops_writes_keeps_reads),
        T(test_faults_failed_wal_fsync_in_everysec_stops_writes),
        T(test_faults_failed_table_rename_in_flush_stops_writes),
        T(test_faults_failed_dir_sync_in_flush_stops_writes),
        T(test_faults_failed_manifest_write_in_flush_stops_writes),
        T(test_faults_failed_manifest_sync_in_flush_stops_writes),
        T(test_faults_short_transfers_everywhere_make_a_correct_db),
        T(test_faults_enospc_in_flush_is_soft_and_clears_by_itself),
        T(test_faults_edquot_in_flush_is_soft_and_clears_by_itself),
        T(test_faults_enospc_in_compaction_is_soft_and_clears_by_itself),
        T(test_faults_enospc_in_migration_is_soft_and_clears_by_itself),
        T(test_faults_enospc_in_manifest_switches_to_a_new_one),
        T(test_faults_eio_in_compaction_stops_writes_keeps_inputs),
        T(test_faults_power_loss_record_drops_what_was_not_durable),
        T(test_faults_power_loss_always_keeps_every_acknowledged_write),
        T(test_faults_power_loss_everysec_keeps_a_prefix),
        T(test_faults_damaged_data_block_is_corrupt_never_served),
        T(test_faults_damaged_input_stops_a_background_compaction),
        T(test_faults_damaged_index_block_fails_the_open),
        T(test_faults_damaged_filter_block_fails_the_open),
        T(test_faults_damaged_footer_fails_the_open),
        T(test_faults_damaged_wal_record_fails_open_and_point_in_time_keeps_the_prefix),
        T(test_faults_options_check_the_error_settings),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
