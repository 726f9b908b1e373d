/* test_tiers.c -- storage tiers through a real db: table files of levels 0..1 land in the "hot"
 * tier directory and those of levels 2..6 (ZSTD, 16 KiB blocks) in the "cold" one, while the WAL,
 * MANIFEST and CURRENT stay in the database directory; cold tables are read through O_DIRECT
 * descriptors (checked in /proc/self/fdinfo) and hot ones are not; reopening deletes a stray copy
 * of a live table and table temp files in tier directories but leaves other files alone; a table
 * moved by hand to another tier directory is found there (moved to a colder tier it stays and is
 * counted under that tier; moved to a hotter one it may be migrated back, and is then counted
 * wherever it is once the db is settled); reopening without the tiers fails with ST_ECORRUPT and
 * deletes nothing; and bad tier options (gaps, overlaps, order, duplicate names or directories,
 * empty directory) are rejected with ST_EINVAL naming the problem.
 * Every test runs in its own temporary directory; every loop is bounded; no sleeps. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "db/db_impl.h"
#include "db/migration.h"
#include "strata/st.h"
#include "version/manifest.h"
#include "version/version.h"

#define KiB (1u << 10)
#define MiB (1ull << 20)

#define N_KEYS 20000  /* keys written by load() */
#define N_OVER 1500   /* of them, overwritten after the first settle (a fresh L0 table) */
#define VAL_LEN 100

typedef struct fx {
    char *dir;  /* D: the database directory */
    char *hot;  /* D/hot: levels 0..1 */
    char *cold; /* D/cold: levels 2..6, O_DIRECT */
    st_db *db;
    st_options opts;
    uint32_t *order; /* a random permutation of 0..N_KEYS-1: the write order */
    uint8_t *ver;    /* per key: the version of its current value */
    st_rng rng;
} fx;

/* The options of the brief: small sizes so that data reaches level 2 quickly; static level
 * targets so that L0 compacts into L1 and L1 (512 KiB) spills into L2. */
static void tier_options(fx *x, st_options *o) {
    st_options_default(o);
    o->sync_mode = ST_SYNC_NO;
    o->write_buffer_bytes = 256 * KiB;
    o->max_bytes_for_level_base = 512 * KiB;
    o->target_file_size_base = 256 * KiB;
    o->level0_file_num_compaction_trigger = 2;
    o->level_compaction_dynamic_level_bytes = false;
    for (int l = 2; l < ST_MAX_LEVELS; l++) {
        o->levels[l].codec = ST_CODEC_ZSTD;
        o->levels[l].block_bytes = 16384;
    }
    /* field by field: st_options_default gave every tier its other defaults */
    o->n_tiers = 2;
    st_tier_options *hot = &o->tiers[0], *cold = &o->tiers[1];
    hot->name = "hot";
    hot->dir = x->hot;
    hot->first_level = 0;
    hot->last_level = 1;
    hot->direct_io = false;
    cold->name = "cold";
    cold->dir = x->cold;
    cold->first_level = 2;
    cold->last_level = ST_MAX_LEVELS - 1;
    cold->direct_io = true;
}

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    if (!(x->dir = st_test_tmpdir("tiers")) || !(x->hot = st_test_path(x->dir, "hot")) ||
        !(x->cold = st_test_path(x->dir, "cold")) || !(x->order = calloc(N_KEYS, sizeof *x->order)) ||
        !(x->ver = calloc(N_KEYS, sizeof *x->ver))) {
        if (x->dir) st_test_rmrf(x->dir);
        free(x->dir);
        free(x->hot);
        free(x->cold);
        free(x->order);
        free(x->ver);
        free(x);
        return -1;
    }
    tier_options(x, &x->opts);
    st_rng_seed(&x->rng, st_test_seed("tiers", 20240605));
    for (uint32_t i = 0; i < N_KEYS; i++) x->order[i] = i;
    for (uint32_t i = N_KEYS - 1; i > 0; i--) {
        uint32_t j = (uint32_t)st_rng_below(&x->rng, i + 1);
        uint32_t t = x->order[i];
        x->order[i] = x->order[j];
        x->order[j] = t;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_db_close(x->db);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x->hot);
    free(x->cold);
    free(x->order);
    free(x->ver);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void db_open_with(fx *x, const st_options *o) {
    assert_null(x->db);
    int rc = st_db_open(x->dir, o, &x->db);
    if (rc) fail_msg("st_db_open: %s (%s)", st_strerror(rc), st_errmsg());
    assert_non_null(x->db);
}

static void db_open(fx *x) { db_open_with(x, &x->opts); }

static void db_close(fx *x) {
    int rc = st_db_close(x->db);
    x->db = NULL;
    if (rc) fail_msg("st_db_close: %s (%s)", st_strerror(rc), st_errmsg());
}

static st_stats stats(fx *x) {
    st_stats s;
    assert_int_equal(st_db_stats(x->db, &s), 0);
    return s;
}

static void key_of(uint32_t i, char *buf, size_t n) { snprintf(buf, n, "key%08u", (unsigned)i); }

/* 100 bytes that depend on (key, version) and hardly compress. */
static void value_of(uint32_t i, uint8_t ver, uint8_t *v) {
    st_rng r;
    st_rng_seed(&r, ((uint64_t)i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)ver << 56));
    for (size_t k = 0; k < VAL_LEN; k += 8) {
        uint64_t w = st_rng_next(&r);
        size_t m = VAL_LEN - k < 8 ? VAL_LEN - k : 8;
        memcpy(v + k, &w, m);
    }
}

static void put_key(fx *x, uint32_t i, uint8_t ver) {
    char k[32];
    uint8_t v[VAL_LEN];
    key_of(i, k, sizeof k);
    value_of(i, ver, v);
    int rc = st_db_put(x->db, st_slice_str(k), st_slice_make(v, sizeof v));
    if (rc) fail_msg("put %s: %s (%s)", k, st_strerror(rc), st_errmsg());
    x->ver[i] = ver;
}

static void settle(fx *x) {
    int rc = st_db_flush(x->db);
    if (rc) fail_msg("flush: %s (%s)", st_strerror(rc), st_errmsg());
    rc = st_db_wait_for_compactions(x->db);
    if (rc) fail_msg("wait_for_compactions: %s (%s)", st_strerror(rc), st_errmsg());
}

/* Opens the db with the tiers, writes every key in random order, settles (flush, background
 * compactions into L1 and L2), then overwrites N_OVER keys and settles again, which leaves a
 * fresh table in the hot tier. */
static void load(fx *x) {
    db_open(x);
    for (uint32_t k = 0; k < N_KEYS; k++) put_key(x, x->order[k], 0);
    settle(x);
    for (uint32_t k = 0; k < N_OVER; k++) put_key(x, x->order[k], 1);
    settle(x);
}

/* Every key reads back with its current value, by point lookups and by a full scan. */
static void check_all(fx *x) {
    char k[32];
    uint8_t want[VAL_LEN];
    for (uint32_t i = 0; i < N_KEYS; i++) {
        key_of(i, k, sizeof k);
        value_of(i, x->ver[i], want);
        uint8_t *v = NULL;
        size_t n = 0;
        int rc = st_db_get(x->db, NULL, st_slice_str(k), &v, &n);
        if (rc) fail_msg("get %s: %s (%s)", k, st_strerror(rc), st_errmsg());
        if (n != VAL_LEN || memcmp(v, want, VAL_LEN) != 0) {
            free(v);
            fail_msg("get %s: wrong value (%zu bytes, version %u expected)", k, n, (unsigned)x->ver[i]);
        }
        free(v);
    }
    st_iter *it = NULL;
    assert_int_equal(st_db_iter_new(x->db, NULL, &it), 0);
    uint32_t i = 0;
    for (st_iter_seek_first(it); st_iter_valid(it) && i <= N_KEYS; st_iter_next(it), i++) {
        if (i == N_KEYS) break;
        key_of(i, k, sizeof k);
        value_of(i, x->ver[i], want);
        st_slice key = st_iter_key(it), val = st_iter_value(it);
        if (st_slice_cmp(key, st_slice_str(k)) != 0) {
            st_iter_free(it);
            fail_msg("scan: key %u is not %s", (unsigned)i, k);
        }
        if (val.len != VAL_LEN || memcmp(val.data, want, VAL_LEN) != 0) {
            st_iter_free(it);
            fail_msg("scan: wrong value for %s", k);
        }
    }
    bool extra = st_iter_valid(it);
    int status = st_iter_status(it);
    st_iter_free(it);
    assert_int_equal(status, 0);
    assert_false(extra);
    assert_int_equal(i, N_KEYS);
}

static bool all_digits(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* NNNNNN.sst */
static bool is_table_name(const char *name) {
    size_t n = strlen(name);
    return n > 4 && ends_with(name, ".sst") && all_digits(name, n - 4);
}

typedef struct listing {
    int sst, tmp, log, manifest, current, lock, other;
    char first_sst[256]; /* the table with the smallest number, "" if none */
    uint64_t first_number;
} listing;

static listing list_dir(const char *dir) {
    listing l;
    memset(&l, 0, sizeof l);
    DIR *d = opendir(dir);
    if (!d) fail_msg("opendir %s failed", dir);
    struct dirent *e;
    for (int guard = 0; (e = readdir(d)) != NULL && guard < 100000; guard++) {
        const char *name = e->d_name;
        size_t n = strlen(name);
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        if (is_table_name(name)) {
            l.sst++;
            uint64_t num = strtoull(name, NULL, 10);
            if (!l.first_sst[0] || num < l.first_number) {
                l.first_number = num;
                snprintf(l.first_sst, sizeof l.first_sst, "%s", name);
            }
        } else if (ends_with(name, ".tmp")) {
            l.tmp++;
        } else if (n > 4 && ends_with(name, ".log") && all_digits(name, n - 4)) {
            l.log++;
        } else if (!strncmp(name, "MANIFEST-", 9)) {
            l.manifest++;
        } else if (!strcmp(name, "CURRENT")) {
            l.current++;
        } else if (!strcmp(name, "LOCK")) {
            l.lock++;
        } else {
            l.other++;
        }
    }
    closedir(d);
    return l;
}

static bool exists(const char *dir, const char *name) {
    char *p = st_test_path(dir, name);
    assert_non_null(p);
    struct stat st;
    bool r = stat(p, &st) == 0;
    free(p);
    return r;
}

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char *p = st_test_path(dir, name);
    assert_non_null(p);
    FILE *f = fopen(p, "wb");
    if (!f) fail_msg("cannot create %s", p);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(p);
}

/* Copies src/name to dst/name byte for byte. */
static void copy_file(const char *src, const char *dst, const char *name) {
    char *ps = st_test_path(src, name), *pd = st_test_path(dst, name);
    assert_non_null(ps);
    assert_non_null(pd);
    FILE *in = fopen(ps, "rb"), *out = fopen(pd, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    long long total = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
        total += (long long)n;
    }
    assert_int_equal(ferror(in), 0);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_true(total > 0);
    assert_int_equal(st_test_file_size(pd), st_test_file_size(ps));
    free(ps);
    free(pd);
}

static uint64_t sum_levels(const st_stats *s, int lo, int hi) {
    uint64_t n = 0;
    for (int l = lo; l <= hi; l++) n += s->level_files[l];
    return n;
}

/* Where the files are, as the brief says: tables of L0..L1 in D/hot, of L2..L6 in D/cold, none
 * in D; the WAL, MANIFEST and CURRENT in D only; stats per tier agree. REQUIRES a settled db
 * (nothing running, obsolete tables deleted). */
static void check_placement(fx *x) {
    st_stats s = stats(x);
    listing d = list_dir(x->dir), hot = list_dir(x->hot), cold = list_dir(x->cold);
    uint64_t upper = sum_levels(&s, 0, 1), lower = sum_levels(&s, 2, ST_MAX_LEVELS - 1);

    assert_int_equal(s.tier_ids, 3);
    assert_string_equal(s.tier_name[0], "db");
    assert_string_equal(s.tier_name[1], "hot");
    assert_string_equal(s.tier_name[2], "cold");
    assert_int_equal(s.tier_files[0], 0);
    assert_int_equal(s.tier_bytes[0], 0);
    assert_int_equal(s.tier_files[1], upper);
    assert_int_equal(s.tier_files[2], lower);
    uint64_t upper_bytes = s.level_bytes[0] + s.level_bytes[1], lower_bytes = 0;
    for (int l = 2; l < ST_MAX_LEVELS; l++) lower_bytes += s.level_bytes[l];
    assert_int_equal(s.tier_bytes[1], upper_bytes);
    assert_int_equal(s.tier_bytes[2], lower_bytes);
    assert_int_equal(s.tier_direct_files[1], 0); /* hot is buffered */

    if ((uint64_t)hot.sst != upper || (uint64_t)cold.sst != lower || d.sst != 0)
        fail_msg("tables: %d in hot (L0..L1 hold %llu), %d in cold (L2..L6 hold %llu), %d in the db dir", hot.sst,
                 (unsigned long long)upper, cold.sst, (unsigned long long)lower, d.sst);
    assert_int_equal(hot.tmp + cold.tmp, 0);
    /* WAL, MANIFEST, CURRENT, LOCK: the database directory only */
    assert_true(d.log >= 1);
    assert_true(d.manifest >= 1);
    assert_int_equal(d.current, 1);
    assert_int_equal(d.lock, 1);
    assert_int_equal(hot.log + hot.manifest + hot.current + hot.lock, 0);
    assert_int_equal(cold.log + cold.manifest + cold.current + cold.lock, 0);

    /* table by table: each is in its level's tier directory, with the size the MANIFEST says,
     * and was built with its level's codec */
    st_version *v = st_vset_current(x->db->vs);
    char path[PATH_MAX];
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            const st_file_meta *f = v->files[l][j];
            int want_tier = l <= 1 ? 1 : 2;
            const char *tdir = l <= 1 ? x->hot : x->cold;
            snprintf(path, sizeof path, "%s/%06llu.sst", tdir, (unsigned long long)f->number);
            long long size = st_test_file_size(path);
            if (f->tier != want_tier || size < 0 || (uint64_t)size != f->size ||
                f->codec != (l <= 1 ? ST_CODEC_LZ4 : ST_CODEC_ZSTD)) {
                int tier = f->tier, codec = f->codec;
                uint64_t fsize = f->size;
                st_version_unref(v);
                fail_msg("L%d table %s: tier %d (want %d), %lld bytes on disk (MANIFEST %llu), codec %d", l, path,
                         tier, want_tier, size, (unsigned long long)fsize, codec);
            }
        }
    st_version_unref(v);
}

/* Reads one key of every 97: opens (or keeps open) the table descriptors. */
static void touch_reads(fx *x) {
    char k[32];
    for (uint32_t i = 0; i < N_KEYS; i += 97) {
        key_of(i, k, sizeof k);
        uint8_t *v = NULL;
        size_t n = 0;
        int rc = st_db_get(x->db, NULL, st_slice_str(k), &v, &n);
        if (rc) fail_msg("get %s: %s (%s)", k, st_strerror(rc), st_errmsg());
        free(v);
    }
}

/* The "flags:" line of /proc/self/fdinfo/<fd> (octal), or -1 if the descriptor is gone. */
static long fd_flags(int fd) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    long flags = -1;
    for (int guard = 0; guard < 64 && fgets(line, sizeof line, f); guard++)
        if (!strncmp(line, "flags:", 6)) {
            flags = strtol(line + 6, NULL, 8);
            break;
        }
    fclose(f);
    return flags;
}

/* target is dir/<name> with name a table file name */
static bool table_in(const char *target, const char *dir) {
    size_t n = strlen(dir);
    return !strncmp(target, dir, n) && target[n] == '/' && is_table_name(target + n + 1);
}

typedef struct fd_scan {
    int cold, cold_direct; /* descriptors of D/cold/NNNNNN.sst; of them with O_DIRECT */
    int hot, hot_direct;
} fd_scan;

/* Every open descriptor of this process naming a table in D/cold or D/hot. */
static fd_scan scan_fds(fx *x) {
    fd_scan s;
    memset(&s, 0, sizeof s);
    char hot_real[PATH_MAX], cold_real[PATH_MAX];
    assert_non_null(realpath(x->hot, hot_real));
    assert_non_null(realpath(x->cold, cold_real));
    DIR *d = opendir("/proc/self/fd");
    if (!d) skip(); /* no /proc */
    int self = dirfd(d);
    struct dirent *e;
    for (int guard = 0; (e = readdir(d)) != NULL && guard < 100000; guard++) {
        if (!all_digits(e->d_name, strlen(e->d_name))) continue;
        int fd = atoi(e->d_name);
        if (fd == self) continue;
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = 0;
        bool cold = table_in(target, cold_real), hot = table_in(target, hot_real);
        if (!cold && !hot) continue;
        long flags = fd_flags(fd);
        if (flags < 0) continue;
        bool direct = (flags & O_DIRECT) != 0;
        if (cold) {
            s.cold++;
            s.cold_direct += direct;
        } else {
            s.hot++;
            s.hot_direct += direct;
        }
    }
    closedir(d);
    return s;
}

/* Hot tables never O_DIRECT; cold ones always (at least one seen), unless the filesystem refused
 * O_DIRECT, in which case the test is skipped. */
static void check_direct_fds(fx *x) {
    touch_reads(x);
    st_stats s = stats(x);
    assert_true(s.tier_files[2] > 0);
    fd_scan f = scan_fds(x);
    print_message("tiers: fds: cold %d (O_DIRECT %d), hot %d (O_DIRECT %d); stats: cold %llu direct of %llu\n", f.cold,
                  f.cold_direct, f.hot, f.hot_direct, (unsigned long long)s.tier_direct_files[2],
                  (unsigned long long)s.tier_files[2]);
    assert_int_equal(f.hot_direct, 0);
    assert_int_equal(s.tier_direct_files[1], 0);
    if (s.tier_direct_files[2] == 0) {
        print_message("tiers: the filesystem of %s refuses O_DIRECT: skipping the O_DIRECT checks\n", x->cold);
        skip();
    }
    assert_int_equal(s.tier_direct_files[2], s.tier_files[2]);
    assert_true(f.cold >= 1);
    assert_int_equal(f.cold_direct, f.cold);
}

static bool errmsg_has(const char *a, const char *b) {
    const char *m = st_errmsg();
    return m && strstr(m, a) && (!b || strstr(m, b));
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_tiers_files_land_in_their_levels_directories(void **state) {
    fx *x = *state;
    load(x);
    st_stats s = stats(x);
    print_message("tiers: levels %llu %llu %llu %llu %llu %llu %llu; tier files %llu/%llu/%llu\n",
                  (unsigned long long)s.level_files[0], (unsigned long long)s.level_files[1],
                  (unsigned long long)s.level_files[2], (unsigned long long)s.level_files[3],
                  (unsigned long long)s.level_files[4], (unsigned long long)s.level_files[5],
                  (unsigned long long)s.level_files[6], (unsigned long long)s.tier_files[0],
                  (unsigned long long)s.tier_files[1], (unsigned long long)s.tier_files[2]);
    assert_true(sum_levels(&s, 2, ST_MAX_LEVELS - 1) > 0); /* data reached level 2 */
    assert_true(s.tier_files[2] > 0);
    assert_true(s.tier_files[1] > 0); /* and the last flush is still upstairs */
    assert_true(s.compactions > 0);
    /* everything a tier holds was written into it since open (and more: tables compacted away) */
    assert_true(s.tier_bytes_written[1] >= s.tier_bytes[1]);
    assert_true(s.tier_bytes_written[2] >= s.tier_bytes[2]);
    assert_int_equal(s.tier_bytes_written[0], 0);
    check_placement(x);
    check_all(x);

    /* compact everything down: still in the cold tier, and every key there */
    int rc = st_db_compact_range(x->db, NULL, NULL);
    if (rc) fail_msg("compact_range: %s (%s)", st_strerror(rc), st_errmsg());
    s = stats(x);
    assert_int_equal(sum_levels(&s, 0, 1), 0);
    assert_int_equal(s.tier_files[1], 0);
    assert_true(s.tier_files[2] > 0);
    check_placement(x);
    check_all(x);
}

static void test_tiers_cold_tables_are_open_with_o_direct(void **state) {
    fx *x = *state;
    load(x);
    check_direct_fds(x); /* descriptors opened after writing each table */
    db_close(x);
    db_open(x);
    check_direct_fds(x); /* ... and opened by recovery */
    check_all(x);
}

static void test_tiers_reopen_removes_strays_and_temp_files_but_not_user_files(void **state) {
    fx *x = *state;
    load(x);
    st_stats before = stats(x);
    db_close(x);

    listing cold = list_dir(x->cold);
    assert_true(cold.sst > 0);
    char victim[256];
    snprintf(victim, sizeof victim, "%s", cold.first_sst);
    char *victim_path = st_test_path(x->cold, victim);
    assert_non_null(victim_path);
    long long victim_size = st_test_file_size(victim_path);
    assert_true(victim_size > 0);
    assert_false(exists(x->hot, victim));
    copy_file(x->cold, x->hot, victim);                         /* (a) a stray copy of a live table */
    write_file(x->cold, "999999.sst.tmp", "junk junk junk", 14); /* (b) table temp files */
    write_file(x->hot, "999998.sst.tmp", "more junk", 9);
    const char notes[] = "these are my notes, not the engine's\n";
    write_file(x->cold, "notes.txt", notes, sizeof notes - 1); /* (c) somebody else's file */

    db_open(x);
    assert_false(exists(x->hot, victim));
    assert_false(exists(x->cold, "999999.sst.tmp"));
    assert_false(exists(x->hot, "999998.sst.tmp"));
    assert_true(exists(x->cold, "notes.txt"));
    char *notes_path = st_test_path(x->cold, "notes.txt");
    assert_int_equal(st_test_file_size(notes_path), (long long)(sizeof notes - 1));
    free(notes_path);
    assert_int_equal(st_test_file_size(victim_path), victim_size); /* the live table stayed */
    free(victim_path);

    st_stats s = stats(x);
    assert_int_equal(s.tier_files[1], before.tier_files[1]);
    assert_int_equal(s.tier_files[2], before.tier_files[2]);
    check_placement(x);
    check_all(x);

    /* once more: nothing else goes, the user file stays */
    db_close(x);
    db_open(x);
    assert_true(exists(x->cold, "notes.txt"));
    assert_true(exists(x->cold, victim));
    check_all(x);
}

/* The tiers of the fixture with nothing due in the background (no compaction picks a table). */
static st_options quiet_options(fx *x) {
    st_options q = x->opts;
    q.level0_file_num_compaction_trigger = 1000;
    q.level0_slowdown_writes_trigger = 1000;
    q.level0_stop_writes_trigger = 1000;
    q.max_bytes_for_level_base = 1024 * MiB;
    return q;
}

/* The tables in each directory are the ones stats count in its tier. REQUIRES a settled db. */
static void check_dirs_match_stats(fx *x) {
    st_stats s = stats(x);
    listing d = list_dir(x->dir), hot = list_dir(x->hot), cold = list_dir(x->cold);
    if ((uint64_t)d.sst != s.tier_files[0] || (uint64_t)hot.sst != s.tier_files[1] ||
        (uint64_t)cold.sst != s.tier_files[2])
        fail_msg("tables on disk db/hot/cold %d/%d/%d, stats %llu/%llu/%llu", d.sst, hot.sst, cold.sst,
                 (unsigned long long)s.tier_files[0], (unsigned long long)s.tier_files[1],
                 (unsigned long long)s.tier_files[2]);
    assert_int_equal(s.tier_files[0] + s.tier_files[1] + s.tier_files[2], sum_levels(&s, 0, ST_MAX_LEVELS - 1));
}

/* Renames the table with the smallest number in `from` into `to`; its name into name. */
static void move_a_table(const char *from, const char *to, char *name, size_t n) {
    listing l = list_dir(from);
    assert_true(l.sst > 0);
    snprintf(name, n, "%s", l.first_sst);
    char *a = st_test_path(from, name), *b = st_test_path(to, name);
    assert_non_null(a);
    assert_non_null(b);
    assert_false(exists(to, name));
    assert_int_equal(rename(a, b), 0);
    free(a);
    free(b);
}

/* Hot to cold: a table colder than its level's tier stays where it is (nothing moves it back up
 * and, with nothing due, no compaction rewrites it), so where it is counted is deterministic. */
static void test_tiers_table_moved_by_hand_to_another_tier_is_found_and_counted_there(void **state) {
    fx *x = *state;
    load(x);
    st_stats before = stats(x);
    if (before.tier_files[1] == 0) { /* make sure the hot tier holds a table */
        for (uint32_t k = 0; k < N_OVER; k++) put_key(x, x->order[k], 2);
        settle(x);
        before = stats(x);
    }
    assert_true(before.tier_files[1] > 0);
    db_close(x);

    char victim[256];
    move_a_table(x->hot, x->cold, victim, sizeof victim);
    st_options quiet = quiet_options(x);
    db_open_with(x, &quiet);
    check_all(x);
    st_stats s = stats(x);
    assert_int_equal(s.tier_files[0], 0);
    assert_int_equal(s.tier_files[1], before.tier_files[1] - 1);
    assert_int_equal(s.tier_files[2], before.tier_files[2] + 1);
    assert_int_equal(sum_levels(&s, 0, ST_MAX_LEVELS - 1), sum_levels(&before, 0, ST_MAX_LEVELS - 1));
    assert_true(exists(x->cold, victim)); /* the live copy now: not deleted as a stray */
    assert_false(exists(x->hot, victim));
    check_dirs_match_stats(x);

    /* the new MANIFEST records where it is: a second reopen finds it there at once */
    db_close(x);
    db_open_with(x, &quiet);
    s = stats(x);
    assert_int_equal(s.tier_files[1], before.tier_files[1] - 1);
    assert_int_equal(s.tier_files[2], before.tier_files[2] + 1);
    assert_true(exists(x->cold, victim));
    check_dirs_match_stats(x);
    check_all(x);
    /* opened with the flags of the tier it is in now: O_DIRECT, like every cold table (last: this
     * skips the rest of the test where the filesystem refuses O_DIRECT) */
    check_direct_fds(x);
}

/* Cold to hot: found there and read without error; then, being in a tier hotter than its level's,
 * migrated back to cold once, and counted there. */
static void test_tiers_table_moved_by_hand_to_a_hotter_tier_is_found_and_migrated_back(void **state) {
    fx *x = *state;
    load(x);
    st_stats before = stats(x);
    db_close(x);

    char victim[256];
    move_a_table(x->cold, x->hot, victim, sizeof victim);
    st_options quiet = quiet_options(x);
    db_open_with(x, &quiet);
    check_all(x);
    int rc = st_db_wait_for_compactions(x->db);
    if (rc) fail_msg("wait_for_compactions: %s (%s)", st_strerror(rc), st_errmsg());
    /* A level 2+ table in the hot tier is misplaced: the migration job copies it back to cold
     * (nothing else is due, so no compaction rewrites it first). */
    st_stats s = stats(x);
    assert_false(exists(x->hot, victim));
    assert_true(exists(x->cold, victim));
    assert_int_equal(s.migrations, 1);
    assert_int_equal(s.tier_migrations_in[2], 1);
    assert_int_equal(s.migration_failures, 0);
    assert_int_equal(s.tier_files[0], 0);
    assert_int_equal(s.tier_files[1], before.tier_files[1]);
    assert_int_equal(s.tier_files[2], before.tier_files[2]);
    assert_int_equal(sum_levels(&s, 0, ST_MAX_LEVELS - 1), sum_levels(&before, 0, ST_MAX_LEVELS - 1));
    check_dirs_match_stats(x);
    check_all(x);

    db_close(x);
    db_open_with(x, &quiet);
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    check_dirs_match_stats(x);
    check_all(x);
}

static void test_tiers_reopen_without_tiers_fails_cleanly_and_deletes_nothing(void **state) {
    fx *x = *state;
    load(x);
    st_stats before = stats(x);
    db_close(x);
    listing hot0 = list_dir(x->hot), cold0 = list_dir(x->cold), d0 = list_dir(x->dir);
    assert_true(cold0.sst > 0);

    st_options plain;
    st_options_default(&plain);
    plain.sync_mode = ST_SYNC_NO;
    st_db *db = NULL;
    int rc = st_db_open(x->dir, &plain, &db);
    assert_int_equal(rc, ST_ECORRUPT);
    assert_null(db);
    if (!errmsg_has("missing", NULL)) fail_msg("unexpected message: %s", st_errmsg());
    print_message("tiers: without tiers: %s\n", st_errmsg());

    /* nothing was deleted or added */
    listing hot1 = list_dir(x->hot), cold1 = list_dir(x->cold), d1 = list_dir(x->dir);
    assert_int_equal(hot1.sst, hot0.sst);
    assert_int_equal(cold1.sst, cold0.sst);
    assert_int_equal(d1.sst, 0);
    assert_int_equal(d1.manifest, d0.manifest);
    assert_int_equal(d1.log, d0.log);
    assert_int_equal(d1.current, 1);

    /* with the tiers again: all there */
    db_open(x);
    st_stats s = stats(x);
    assert_int_equal(s.tier_files[1], before.tier_files[1]);
    assert_int_equal(s.tier_files[2], before.tier_files[2]);
    check_placement(x);
    check_all(x);
}

/* st_db_open with o must fail with ST_EINVAL and a message holding a and b (b may be NULL). */
static void expect_rejected(fx *x, const st_options *o, const char *a, const char *b) {
    st_db *db = NULL;
    int rc = st_db_open(x->dir, o, &db);
    if (rc != ST_EINVAL) {
        st_db_close(db);
        fail_msg("open: %s (%s), expected ST_EINVAL naming \"%s\"", st_strerror(rc), st_errmsg(), a);
    }
    assert_null(db);
    if (!errmsg_has(a, b)) fail_msg("message \"%s\" does not name \"%s\"%s%s", st_errmsg(), a, b ? " / " : "", b ? b : "");
    /* no database came of it */
    assert_false(exists(x->dir, "CURRENT"));
    assert_int_equal(list_dir(x->dir).manifest, 0);
}

static void test_tiers_bad_tier_options_are_einval(void **state) {
    fx *x = *state;
    char *x_dir = st_test_path(x->dir, "x"), *x_dot = st_test_path(x->dir, "./x");
    assert_non_null(x_dir);
    assert_non_null(x_dot);
    st_options o;

    /* a gap: level 2 in no tier */
    tier_options(x, &o);
    o.tiers[1].first_level = 3;
    expect_rejected(x, &o, "cold", "3..6");
    /* the last levels in no tier */
    tier_options(x, &o);
    o.tiers[1].last_level = 5;
    expect_rejected(x, &o, "6..6", "no tier");
    /* overlapping ranges */
    tier_options(x, &o);
    o.tiers[0].last_level = 2;
    expect_rejected(x, &o, "cold", "2..6");
    /* out of order: cold listed first */
    tier_options(x, &o);
    st_tier_options t = o.tiers[0];
    o.tiers[0] = o.tiers[1];
    o.tiers[1] = t;
    expect_rejected(x, &o, "cold", "2..6");
    /* an empty range */
    tier_options(x, &o);
    o.tiers[0].first_level = 0;
    o.tiers[0].last_level = -1;
    expect_rejected(x, &o, "hot", NULL);
    /* beyond the last level */
    tier_options(x, &o);
    o.tiers[1].last_level = ST_MAX_LEVELS;
    expect_rejected(x, &o, "cold", NULL);
    /* two tiers of the same name */
    tier_options(x, &o);
    o.tiers[1].name = "hot";
    expect_rejected(x, &o, "two tiers named", "hot");
    /* no name */
    tier_options(x, &o);
    o.tiers[1].name = "";
    expect_rejected(x, &o, "no name", NULL);
    /* an empty or absent directory */
    tier_options(x, &o);
    o.tiers[1].dir = "";
    expect_rejected(x, &o, "cold", "no directory");
    tier_options(x, &o);
    o.tiers[0].dir = NULL;
    expect_rejected(x, &o, "hot", "no directory");
    /* too many tiers, or a negative count */
    tier_options(x, &o);
    o.n_tiers = ST_MAX_TIERS + 1;
    expect_rejected(x, &o, "tiers", NULL);
    tier_options(x, &o);
    o.n_tiers = -1;
    expect_rejected(x, &o, "tiers", NULL);
    /* one directory for two tiers, spelt the same... */
    tier_options(x, &o);
    o.tiers[0].dir = x_dir;
    o.tiers[1].dir = x_dir;
    expect_rejected(x, &o, "share the directory", "cold");
    /* ... or not */
    tier_options(x, &o);
    o.tiers[0].dir = x_dir;
    o.tiers[1].dir = x_dot;
    expect_rejected(x, &o, "share the directory", "hot");

    /* the same place, good options: it opens and works */
    db_open(x);
    put_key(x, 7, 3);
    settle(x);
    char k[32];
    uint8_t want[VAL_LEN];
    key_of(7, k, sizeof k);
    value_of(7, 3, want);
    uint8_t *v = NULL;
    size_t n = 0;
    assert_int_equal(st_db_get(x->db, NULL, st_slice_str(k), &v, &n), 0);
    assert_int_equal(n, VAL_LEN);
    assert_memory_equal(v, want, VAL_LEN);
    free(v);
    assert_int_equal(list_dir(x->hot).sst, 1);
    free(x_dir);
    free(x_dot);
}

/* ---- migration ------------------------------------------------------------------------------ */

/* The table numbers of the current version, each counted in the directories it is in. Fails unless
 * every live table is in exactly one directory (M1) and no temp file is left. */
static void check_one_copy_each(fx *x) {
    const char *dirs[3] = {x->dir, x->hot, x->cold};
    st_version *v = st_vset_current(x->db->vs);
    char name[64];
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            snprintf(name, sizeof name, "%06llu.sst", (unsigned long long)v->files[l][j]->number);
            int copies = 0;
            for (int d = 0; d < 3; d++) copies += exists(dirs[d], name);
            if (copies != 1) {
                st_version_unref(v);
                fail_msg("live table %s is in %d directories", name, copies);
            }
        }
    st_version_unref(v);
    assert_int_equal(list_dir(x->hot).tmp + list_dir(x->cold).tmp + list_dir(x->dir).tmp, 0);
    check_dirs_match_stats(x);
}

/* One hot-tier table above L0 and the sum of their bytes (a settled, open db). */
static uint64_t hot_upper_bytes(fx *x, int *n_tables) {
    st_version *v = st_vset_current(x->db->vs);
    uint64_t b = 0;
    *n_tables = 0;
    for (int l = 1; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++)
            if (v->files[l][j]->tier == 1) {
                b += v->files[l][j]->size;
                (*n_tables)++;
            }
    st_version_unref(v);
    return b;
}

typedef struct traffic {
    fx *x;
    atomic_bool stop;
    uint32_t written;      /* new keys N_KEYS.. written by the writer */
    uint64_t reads, wrong; /* reads done by the reader; of them, wrong values */
    char err[256];
} traffic;

#define N_NEW 4000

static void *writer_main(void *arg) {
    traffic *t = arg;
    uint8_t v[VAL_LEN];
    char k[32];
    for (uint32_t i = N_KEYS; i < N_KEYS + N_NEW && !atomic_load(&t->stop); i++) {
        key_of(i, k, sizeof k);
        value_of(i, 7, v);
        int rc = st_db_put(t->x->db, st_slice_str(k), st_slice_make(v, sizeof v));
        if (rc) {
            snprintf(t->err, sizeof t->err, "put %s: %s (%s)", k, st_strerror(rc), st_errmsg());
            break;
        }
        t->written = i - N_KEYS + 1;
    }
    return NULL;
}

static void *reader_main(void *arg) {
    traffic *t = arg;
    st_rng r;
    st_rng_seed(&r, 99);
    uint8_t want[VAL_LEN];
    char k[32];
    for (int n = 0; n < 200000 && !atomic_load(&t->stop); n++) {
        uint32_t i = (uint32_t)st_rng_below(&r, N_KEYS);
        key_of(i, k, sizeof k);
        value_of(i, t->x->ver[i], want); /* the old keys do not change during the test */
        uint8_t *v = NULL;
        size_t len = 0;
        int rc = st_db_get(t->x->db, NULL, st_slice_str(k), &v, &len);
        t->reads++;
        if (rc || len != VAL_LEN || memcmp(v, want, VAL_LEN) != 0) {
            t->wrong++;
            if (!t->err[0]) snprintf(t->err, sizeof t->err, "get %s: rc %d, %zu bytes", k, rc, len);
        }
        free(v);
    }
    return NULL;
}

/* A hot tier above its high watermark drains its coldest tables above L0 into the cold tier until
 * it is under its low watermark, while a writer adds keys and a reader checks values. */
static void test_tiers_full_tier_drains_into_the_next_under_reads_and_writes(void **state) {
    fx *x = *state;
    /* L0 compacts into L1 only: L1 (hot) grows, nothing spills into L2 while we look */
    x->opts.max_bytes_for_level_base = 64 * MiB;
    load(x);
    int n_upper = 0;
    uint64_t upper = hot_upper_bytes(x, &n_upper);
    print_message("tiers: hot tier holds %d tables above L0, %llu bytes\n", n_upper, (unsigned long long)upper);
    assert_true(n_upper >= 2);
    db_close(x);

    st_options o = x->opts;
    o.tiers[0].capacity_bytes = upper; /* 100% full: over 0.85 */
    o.tiers[0].high_watermark = 0.85;
    o.tiers[0].low_watermark = 0.40;
    o.tiers[1].migrate_bytes_per_sec = 4 * MiB; /* paced: the traffic runs during the moves */
    db_open_with(x, &o);
    traffic t = {.x = x};
    atomic_init(&t.stop, false);
    pthread_t w, r;
    assert_int_equal(pthread_create(&w, NULL, writer_main, &t), 0);
    assert_int_equal(pthread_create(&r, NULL, reader_main, &t), 0);
    pthread_join(w, NULL);
    int rc = st_db_wait_for_compactions(x->db);
    atomic_store(&t.stop, true);
    pthread_join(r, NULL);
    if (rc) fail_msg("wait_for_compactions: %s (%s)", st_strerror(rc), st_errmsg());
    if (t.err[0]) fail_msg("%s", t.err);
    assert_int_equal(t.wrong, 0);
    assert_true(t.reads > 0);
    assert_int_equal(t.written, N_NEW);

    st_stats s = stats(x);
    int n_after = 0;
    uint64_t after = hot_upper_bytes(x, &n_after);
    print_message("tiers: %llu migrations (%llu bytes), hot above L0 now %d tables, %llu bytes; %llu reads\n",
                  (unsigned long long)s.migrations, (unsigned long long)s.migration_bytes, n_after,
                  (unsigned long long)after, (unsigned long long)t.reads);
    assert_true(s.migrations >= 1);
    assert_int_equal(s.migration_failures, 0);
    assert_int_equal(s.tier_migrations_in[2], s.migrations);
    /* drained below the low watermark, or nothing movable is left (L0 never moves) */
    assert_true((double)(after + s.level_bytes[0]) < 0.40 * (double)upper || n_after == 0);
    check_one_copy_each(x);
    for (uint32_t i = N_KEYS; i < N_KEYS + N_NEW; i++) {
        char k[32];
        uint8_t want[VAL_LEN];
        key_of(i, k, sizeof k);
        value_of(i, 7, want);
        uint8_t *v = NULL;
        size_t len = 0;
        assert_int_equal(st_db_get(x->db, NULL, st_slice_str(k), &v, &len), 0);
        assert_int_equal(len, VAL_LEN);
        assert_memory_equal(v, want, VAL_LEN);
        free(v);
    }
    db_close(x);
    db_open_with(x, &o);
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    check_one_copy_each(x);
}

static void kill_at(int step, void *arg) {
    if (step == *(int *)arg) raise(SIGKILL);
}

/* A crash (SIGKILL) right after each step of a move leaves every live table in exactly one
 * directory, no temp file, and every value readable; the move then completes. */
static void test_tiers_crash_at_each_migration_step_leaves_one_copy(void **state) {
    fx *x = *state;
    load(x);
    db_close(x);
    st_options quiet = quiet_options(x);
    for (int step = ST_MIGRATE_COPYING; step <= ST_MIGRATE_LOGGED; step++) {
        char victim[256];
        move_a_table(x->cold, x->hot, victim, sizeof victim); /* misplaced: it will migrate */
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int at = step;
            st_db_test_set_migrate_hook(kill_at, &at);
            st_db *db = NULL;
            if (st_db_open(x->dir, &quiet, &db)) _exit(2);
            st_db_wait_for_compactions(db); /* the move runs, and the hook kills us */
            _exit(3);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("step %d: the child was not killed by the hook (status %d)", step, status);
        /* Reopened first with the hot tier holding L0..L5, so nothing is misplaced and no move
         * starts (it would make a new .tmp): what is on disk is what recovery left. */
        st_options still = quiet;
        still.tiers[0].last_level = ST_MAX_LEVELS - 2;
        still.tiers[1].first_level = ST_MAX_LEVELS - 1;
        db_open_with(x, &still);
        check_one_copy_each(x);
        bool moved = exists(x->cold, victim);
        print_message("tiers: killed after step %d: %s is in %s\n", step, victim, moved ? "cold" : "hot");
        /* the MANIFEST names the destination only once the edit is durable (step 4) */
        assert_int_equal(moved, step == ST_MIGRATE_LOGGED);
        check_all(x);
        db_close(x);
        db_open_with(x, &quiet);
        assert_int_equal(st_db_wait_for_compactions(x->db), 0); /* finishes the move */
        assert_true(exists(x->cold, victim));
        assert_false(exists(x->hot, victim));
        check_one_copy_each(x);
        db_close(x);
    }
}

/* A damaged table is not migrated: the copy fails its checksum, the failure is counted, the table
 * stays where it was and no copy or temp file is left behind. */
static void test_tiers_damaged_table_is_not_migrated(void **state) {
    fx *x = *state;
    load(x);
    db_close(x);
    char victim[256];
    move_a_table(x->cold, x->hot, victim, sizeof victim);
    char *p = st_test_path(x->hot, victim);
    assert_non_null(p);
    long long size = st_test_file_size(p);
    assert_true(size > 4096);
    assert_int_equal(st_test_flip_byte(p, (uint64_t)size / 3, 0x40), 0); /* in a data block */
    free(p);
    st_options quiet = quiet_options(x);
    db_open_with(x, &quiet);
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    st_stats s = stats(x);
    assert_int_equal(s.migrations, 0);
    assert_int_equal(s.migration_failures, 1);
    assert_true(exists(x->hot, victim));
    assert_false(exists(x->cold, victim));
    assert_int_equal(list_dir(x->cold).tmp, 0);
    check_dirs_match_stats(x);
}

/* A database made without tiers (lz4 everywhere): once tiers are configured its tables above L0
 * leave the database directory for their levels' tiers -- those bound for the zstd tier rewritten
 * in zstd rather than copied -- and every value stays readable. */
static void test_tiers_tables_of_a_database_without_tiers_migrate_to_their_tiers(void **state) {
    fx *x = *state;
    st_options plain = x->opts;
    plain.n_tiers = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++) plain.levels[l].codec = ST_CODEC_LZ4; /* cold wants zstd */
    st_options tiered = x->opts;
    x->opts = plain;
    load(x); /* every table in the database directory */
    st_stats s0 = stats(x);
    assert_int_equal(s0.tier_ids, 1);
    assert_true(s0.tier_files[0] > 0);
    assert_true(sum_levels(&s0, 1, ST_MAX_LEVELS - 1) > 0);
    db_close(x);
    x->opts = tiered;
    db_open_with(x, &tiered);
    assert_int_equal(st_db_wait_for_compactions(x->db), 0);
    st_stats s = stats(x);
    print_message("tiers: %llu tables migrated out of the database directory\n", (unsigned long long)s.migrations);
    assert_true(s.migrations >= 1);
    assert_int_equal(s.migration_failures, 0);
    assert_int_equal(s.tier_files[0], s.level_files[0] ? s.tier_files[0] : 0);
    st_version *v = st_vset_current(x->db->vs);
    for (int l = 1; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            int tier = v->files[l][j]->tier, codec = v->files[l][j]->codec;
            int want_codec = l <= 1 ? ST_CODEC_LZ4 : ST_CODEC_ZSTD; /* rewritten, not copied */
            if (tier != (l <= 1 ? 1 : 2) || codec != want_codec) {
                st_version_unref(v);
                fail_msg("an L%d table is in tier %d with codec %d", l, tier, codec);
            }
        }
    st_version_unref(v);
    check_one_copy_each(x);
    check_all(x);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_tiers_files_land_in_their_levels_directories),
        T(test_tiers_cold_tables_are_open_with_o_direct),
        T(test_tiers_reopen_removes_strays_and_temp_files_but_not_user_files),
        T(test_tiers_table_moved_by_hand_to_another_tier_is_found_and_counted_there),
        T(test_tiers_table_moved_by_hand_to_a_hotter_tier_is_found_and_migrated_back),
        T(test_tiers_reopen_without_tiers_fails_cleanly_and_deletes_nothing),
        T(test_tiers_bad_tier_options_are_einval),
        T(test_tiers_full_tier_drains_into_the_next_under_reads_and_writes),
        T(test_tiers_crash_at_each_migration_step_leaves_one_copy),
        T(test_tiers_damaged_table_is_not_migrated),
        T(test_tiers_tables_of_a_database_without_tiers_migrate_to_their_tiers),
    };
    return cmocka_run_group_tests_name("tiers", tests, NULL, NULL);
}
