/* test_server_tiers.c -- strata-server with storage tiers, configured by the repository's
 * tiering.toml (ssd: levels 0-4, buffered; hdd: levels 5-6, zstd, direct_io):
 *  - tables land in their level's tier directory (L0 in ssd, the L6 that compaction makes in hdd),
 *    never in the data directory, which keeps the WAL, MANIFEST and CURRENT; the directories hold
 *    exactly the tables INFO's tier_<name> lines count; the server's descriptors on hdd tables are
 *    O_DIRECT (seen in /proc/<pid>/fdinfo), those on ssd tables are not; every value reads back
 *    through GET and through MGET batches (missing keys nil, order kept);
 *  - a restart serves every value and keeps each tier's file count;
 *  - a data directory written without tiers and reopened with tiering.toml: the migration job moves
 *    every table out of the data directory into its level's tier, values intact, no temp file left;
 *  - a tier configuration whose levels overlap stops the server at once with file:line: tier.key.
 * tiering.toml is found as tests/unit/test_config.c finds it: $STRATA_SOURCE_DIR (CTest sets it),
 * else the source tree this file was compiled from. Waits poll INFO every 50 ms, for at most 20 s. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_DIRECT */
#endif
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_harness.h"

enum {
    NKEYS = 20000,    /* about 4 MiB of values: 16 write buffers of 256 KiB */
    VALUE_LEN = 200,
    SAVES = 4,        /* SAVE after every NKEYS / SAVES keys */
    PIPE_BATCH = 1000,
    MGET_KEYS = 100,
    MGET_PIPE = 10,   /* MGETs in flight at once */
    L0_TRIGGER = 4,   /* tiering.toml's level0_file_num_compaction_trigger */
    POLL_MS = 50,
    WAIT_MS = 20000,
};

static st_server srv;

/* ---- the repository's tiering.toml ------------------------------------------------------------ */

static char *repo_tiering_toml(void) { return st_test_repo_file("tiering.toml"); }

/* Appends args (NULL-terminated) to the arguments srv is restarted with. The harness keeps them in
 * srv.extra and frees them in st_server_free; later flags win. */
static int add_server_args(st_server *s, const char *const *args) {
    for (int i = 0; args[i]; i++) {
        if (s->n_extra == ST_SERVER_MAX_ARGS) return -1;
        s->extra[s->n_extra++] = strdup(args[i]);
    }
    return 0;
}

/* ---- fixtures ----------------------------------------------------------------------------------- */

static int setup_tiered(void **state) {
    (void)state;
    if (st_server_is_redis()) return 0; /* the tests skip */
    char *toml = repo_tiering_toml();
    if (!toml) {
        fprintf(stderr, "tiering.toml not found: set STRATA_SOURCE_DIR to the source tree\n");
        return -1;
    }
    int rc = st_it_group_setup(&srv, "it-tiers", ST_IT_ARGS("--config", toml, "--write-buffer", "256kb"));
    free(toml);
    return rc;
}

/* No tiers; level 0 is compacted at every flush, so once idle every table sits above L0, where
 * the migration job moves tables from (an L0 table stays where it is until compacted). */
static int setup_untiered(void **state) {
    (void)state;
    if (st_server_is_redis()) return 0;
    return st_it_group_setup(&srv, "it-untiered",
                             ST_IT_ARGS("--write-buffer", "256kb", "--level0-file-num-compaction-trigger", "1"));
}

static int teardown(void **state) {
    (void)state;
    return st_it_group_teardown(&srv);
}

#define SKIP_ON_REDIS() \
    do { if (st_server_is_redis()) { print_message("tiers are Strata's: skipped\n"); skip(); } } while (0)
#define STOP() \
    do { if (st_server_stop(&srv) != 0) ST_FAIL("SIGTERM did not stop the server cleanly (exit 0)"); } while (0)
#define RESTART() do { if (st_server_restart(&srv) != 0) ST_FAIL("restart failed"); } while (0)

/* ---- the data: NKEYS keys, each with its own value -------------------------------------------- */

static void key_of(int i, char *buf, size_t n) { snprintf(buf, n, "tk:%05d", i); }

/* VALUE_LEN bytes (plus a NUL): "v<i>/" and letters from a PRNG seeded by i. */
static void value_of(int i, char *out) {
    st_rng r;
    st_rng_seed(&r, 0x7e5700000000ull ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull));
    int h = snprintf(out, VALUE_LEN + 1, "v%05d/", i);
    for (int j = h; j < VALUE_LEN; j++) out[j] = (char)('a' + st_rng_below(&r, 26));
    out[VALUE_LEN] = '\0';
}

/* Pipelined SETs of keys [0, NKEYS), PIPE_BATCH at a time, with a SAVE (memtable -> L0 table)
 * after every NKEYS / SAVES keys. */
static void write_keys(redisContext *c) {
    char key[32], val[VALUE_LEN + 1];
    for (int from = 0; from < NKEYS; from += PIPE_BATCH) {
        int to = from + PIPE_BATCH < NKEYS ? from + PIPE_BATCH : NKEYS;
        for (int i = from; i < to; i++) {
            key_of(i, key, sizeof key);
            value_of(i, val);
            redisAppendCommand(c, "SET %s %b", key, val, (size_t)VALUE_LEN);
        }
        for (int i = from; i < to; i++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_status(r, __FILE__, __LINE__, "OK", "SET tk:<i>");
            freeReplyObject(r);
        }
        if (to % (NKEYS / SAVES) == 0 || to == NKEYS) EXPECT_OK(c, "SAVE");
    }
}

/* Rewrites keys [0, n) with the values they already have, then SAVEs: one more L0 table. */
static void rewrite_keys(redisContext *c, int n) {
    char key[32], val[VALUE_LEN + 1];
    for (int i = 0; i < n; i++) {
        key_of(i, key, sizeof key);
        value_of(i, val);
        EXPECT_OK(c, "SET %s %b", key, val, (size_t)VALUE_LEN);
    }
    EXPECT_OK(c, "SAVE");
}

/* Pipelined GET of every key. */
static void verify_gets(redisContext *c, const char *file, int line) {
    char key[32], val[VALUE_LEN + 1], what[64];
    for (int from = 0; from < NKEYS; from += PIPE_BATCH) {
        int to = from + PIPE_BATCH < NKEYS ? from + PIPE_BATCH : NKEYS;
        for (int i = from; i < to; i++) {
            key_of(i, key, sizeof key);
            redisAppendCommand(c, "GET %s", key);
        }
        for (int i = from; i < to; i++) {
            redisReply *r = st_get_reply(c, file, line);
            value_of(i, val);
            snprintf(what, sizeof what, "GET tk:%05d", i);
            st_check_reply_bulk(r, file, line, val, VALUE_LEN, what);
            freeReplyObject(r);
        }
    }
}

/* MGET of MGET_KEYS keys at a time, in key order, every tenth slot a key that was never written:
 * the reply must hold each value in its slot and nil in the missing ones. */
static void verify_mgets(redisContext *c, const char *file, int line) {
    enum { BATCHES = (NKEYS + MGET_KEYS - 1) / MGET_KEYS };
    static char keys[MGET_KEYS][32];
    const char *argv[MGET_KEYS + 1];
    size_t lens[MGET_KEYS + 1];
    char val[VALUE_LEN + 1];
    argv[0] = "MGET";
    lens[0] = 4;
    for (int from = 0; from < BATCHES; from += MGET_PIPE) {
        int to = from + MGET_PIPE < BATCHES ? from + MGET_PIPE : BATCHES;
        for (int b = from; b < to; b++) {
            int n = 0;
            for (int j = 0; j < MGET_KEYS && b * MGET_KEYS + j < NKEYS; j++, n++) {
                int i = b * MGET_KEYS + j;
                if (j % 10 == 7) snprintf(keys[j], sizeof keys[j], "tk:missing:%05d", i);
                else key_of(i, keys[j], sizeof keys[j]);
                argv[j + 1] = keys[j];
                lens[j + 1] = strlen(keys[j]);
            }
            redisAppendCommandArgv(c, n + 1, argv, lens);
        }
        for (int b = from; b < to; b++) {
            redisReply *r = st_get_reply(c, file, line);
            int n = NKEYS - b * MGET_KEYS < MGET_KEYS ? NKEYS - b * MGET_KEYS : MGET_KEYS;
            if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
                char *s = st_reply_repr(r);
                st_fail_at(file, line, "MGET of keys %d..%d: got %.300s, want an array of %d", b * MGET_KEYS,
                           b * MGET_KEYS + n - 1, s, n);
            }
            for (int j = 0; j < n; j++) {
                int i = b * MGET_KEYS + j;
                redisReply *e = r->element[j];
                if (j % 10 == 7) {
                    if (e->type != REDIS_REPLY_NIL) {
                        char *s = st_reply_repr(e);
                        st_fail_at(file, line, "MGET slot %d (tk:missing:%05d, never written): got %.300s, want nil", j,
                                   i, s);
                    }
                    continue;
                }
                value_of(i, val);
                char what[80];
                snprintf(what, sizeof what, "MGET slot %d (tk:%05d)", j, i);
                st_check_reply_bulk(e, file, line, val, VALUE_LEN, what);
            }
            freeReplyObject(r);
        }
    }
}

/* ---- INFO storage -------------------------------------------------------------------------------- */

typedef struct tier_line {
    bool present;
    unsigned long long files, bytes, direct_files, block_reads, bytes_written, migrated_in;
} tier_line;

typedef struct storage_info {
    char text[16384];       /* the reply, for failure messages */
    char io_backend[32];
    long long level_files[7];
    long long compactions, compactions_running;
    long long migrations, migration_failures, migration_bytes;
    tier_line db, ssd, hdd; /* tier_db, tier_ssd, tier_hdd */
} storage_info;

/* The text after "\n<name>:" up to the end of its line, copied into out; false if absent. */
static bool info_value(const char *text, const char *name, char *out, size_t n) {
    char pat[64];
    snprintf(pat, sizeof pat, "\n%s:", name);
    const char *p = strstr(text, pat);
    if (!p) return false;
    p += strlen(pat);
    size_t len = strcspn(p, "\r\n");
    snprintf(out, n, "%.*s", (int)len, p);
    return true;
}

static long long info_num(const char *text, const char *name) {
    char v[64];
    return info_value(text, name, v, sizeof v) ? atoll(v) : -1;
}

static tier_line info_tier(const char *text, const char *name) {
    tier_line t = {0};
    char v[256];
    if (!info_value(text, name, v, sizeof v)) return t;
    if (sscanf(v, "files=%llu,bytes=%llu,direct_files=%llu,block_reads=%llu,bytes_written=%llu,migrated_in=%llu",
               &t.files, &t.bytes, &t.direct_files, &t.block_reads, &t.bytes_written, &t.migrated_in) != 6)
        fail_msg("unexpected %s line: %s", name, v);
    t.present = true;
    return t;
}

static void info_read(redisContext *c, storage_info *si) {
    redisReply *r = CMD(c, "INFO storage tiers"); /* tier_* lines are the Tiers section */
    if (r->type != REDIS_REPLY_STRING) fail_msg("INFO storage tiers: not a bulk string");
    snprintf(si->text, sizeof si->text, "%s", r->str);
    freeReplyObject(r);
    if (!info_value(si->text, "io_backend", si->io_backend, sizeof si->io_backend)) si->io_backend[0] = '\0';
    for (int l = 0; l < 7; l++) {
        char name[32];
        snprintf(name, sizeof name, "level%d_files", l);
        si->level_files[l] = info_num(si->text, name);
    }
    si->compactions = info_num(si->text, "compactions");
    si->compactions_running = info_num(si->text, "compactions_running");
    si->migrations = info_num(si->text, "tier_migrations");
    si->migration_failures = info_num(si->text, "tier_migration_failures");
    si->migration_bytes = info_num(si->text, "tier_migration_bytes");
    si->db = info_tier(si->text, "tier_db");
    si->ssd = info_tier(si->text, "tier_ssd");
    si->hdd = info_tier(si->text, "tier_hdd");
}

/* Polls INFO storage every POLL_MS until done(si) holds; fails at file:line after WAIT_MS, with
 * the last INFO. Leaves the INFO that satisfied it in *si. */
static void wait_info(redisContext *c, storage_info *si, bool (*done)(const storage_info *), const char *what,
                      const char *file, int line) {
    int64_t end = st_now_ms() + WAIT_MS;
    for (;;) {
        info_read(c, si);
        if (done(si)) return;
        if (st_now_ms() >= end)
            st_fail_at(file, line, "not within %d ms: %s\nlast INFO storage:\n%s", WAIT_MS, what, si->text);
        st_sleep_ms(POLL_MS);
    }
}

/* A compaction made hdd tables and level 0 is under its trigger, nothing running. */
static bool tiers_settled(const storage_info *si) {
    return si->compactions >= 1 && si->hdd.files >= 1 && si->level_files[0] >= 0 &&
           si->level_files[0] < L0_TRIGGER && si->compactions_running == 0;
}

/* ... and level 0 (in ssd) holds a table. */
static bool tiers_settled_l0(const storage_info *si) { return tiers_settled(si) && si->level_files[0] >= 1; }

/* Untiered: every table compacted out of level 0, nothing running. */
static bool untiered_settled(const storage_info *si) {
    return si->compactions >= 1 && si->db.files >= 1 && si->level_files[0] == 0 && si->compactions_running == 0;
}

/* Tiered again: tables migrated, none left in the data directory, nothing running. */
static bool migrated(const storage_info *si) {
    return si->migrations >= 1 && (!si->db.present || si->db.files == 0) && si->ssd.present && si->hdd.present &&
           si->compactions_running == 0;
}

/* ---- directories ----------------------------------------------------------------------------------- */

typedef struct dir_files {
    int sst, tmp, log, manifest, current;
} dir_files;

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* What dir holds (all zero when it does not exist). */
static dir_files list_dir(const char *dir) {
    dir_files f = {0};
    DIR *d = opendir(dir);
    if (!d) return f;
    for (struct dirent *e; (e = readdir(d));) {
        if (ends_with(e->d_name, ".sst")) f.sst++;
        else if (ends_with(e->d_name, ".sst.tmp")) f.tmp++;
        else if (ends_with(e->d_name, ".log")) f.log++;
        else if (!strncmp(e->d_name, "MANIFEST-", 9)) f.manifest++;
        else if (!strcmp(e->d_name, "CURRENT")) f.current++;
    }
    closedir(d);
    return f;
}

/* Polls until the data directory holds no table and no temp file, and ssd/ and hdd/ hold exactly
 * the tables INFO counts in those tiers, also without temp files (a replaced table is unlinked when
 * its last reader lets go, so the directories may trail INFO for a moment). Also checks that the
 * data directory keeps CURRENT, a MANIFEST and a WAL. Leaves the matching INFO in *si. */
static void expect_dirs_match_info(redisContext *c, storage_info *si, const char *file, int line) {
    char *ssd = st_test_path(srv.data_dir, "ssd"), *hdd = st_test_path(srv.data_dir, "hdd");
    int64_t end = st_now_ms() + WAIT_MS;
    dir_files in_data, in_ssd, in_hdd;
    for (;;) {
        info_read(c, si);
        in_data = list_dir(srv.data_dir);
        in_ssd = list_dir(ssd);
        in_hdd = list_dir(hdd);
        if (in_data.sst == 0 && in_data.tmp == 0 && in_ssd.tmp == 0 && in_hdd.tmp == 0 &&
            si->compactions_running == 0 && (unsigned long long)in_ssd.sst == si->ssd.files &&
            (unsigned long long)in_hdd.sst == si->hdd.files)
            break;
        if (st_now_ms() >= end)
            st_fail_at(file, line,
                       "directories vs INFO after %d ms: data/ %d .sst %d .sst.tmp, ssd/ %d .sst %d .sst.tmp "
                       "(INFO %llu), hdd/ %d .sst %d .sst.tmp (INFO %llu)\nlast INFO storage:\n%s",
                       WAIT_MS, in_data.sst, in_data.tmp, in_ssd.sst, in_ssd.tmp, si->ssd.files, in_hdd.sst,
                       in_hdd.tmp, si->hdd.files, si->text);
        st_sleep_ms(POLL_MS);
    }
    if (in_data.current != 1 || in_data.manifest < 1 || in_data.log < 1)
        st_fail_at(file, line, "data/ should keep CURRENT, MANIFEST-* and the WAL: CURRENT %d, MANIFEST %d, .log %d",
                   in_data.current, in_data.manifest, in_data.log);
    free(ssd);
    free(hdd);
}

/* ---- the server's descriptors ---------------------------------------------------------------------- */

typedef struct sst_fds {
    int n, direct;      /* descriptors on *.sst files in the directory, and how many are O_DIRECT */
} sst_fds;

/* The server's open descriptors on dir/<*.sst>, read from /proc/<pid>/fd and fdinfo. false when
 * /proc cannot tell (then *out is zero). */
static bool scan_sst_fds(pid_t pid, const char *dir, sst_fds *out) {
    *out = (sst_fds){0};
    char real[PATH_MAX], path[PATH_MAX], target[PATH_MAX];
    if (!realpath(dir, real)) return false;
    size_t rl = strlen(real);
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return false;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0) continue; /* closed meanwhile */
        target[n] = '\0';
        bool in_dir = !strncmp(target, real, rl) && target[rl] == '/' && !strchr(target + rl + 1, '/');
        if (!in_dir || !ends_with(target, ".sst")) continue;
        snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char buf[256];
        unsigned long flags = 0;
        bool have = false;
        while (!have && fgets(buf, sizeof buf, f)) have = sscanf(buf, "flags: %lo", &flags) == 1;
        fclose(f);
        if (!have) continue;
        out->n++;
        if (flags & O_DIRECT) out->direct++;
    }
    closedir(d);
    return true;
}

/* INFO's direct_files for hdd, and the descriptors themselves: every hdd table open with O_DIRECT,
 * no ssd table. Skipped (with a message) when the filesystem refused O_DIRECT. */
static void expect_hdd_direct(const storage_info *si, const char *file, int line) {
    if (si->ssd.direct_files != 0)
        st_fail_at(file, line, "tier ssd has direct_io = false, yet INFO says direct_files=%llu", si->ssd.direct_files);
    if (si->hdd.files > 0 && si->hdd.direct_files == 0) {
        print_message("O_DIRECT check skipped: the filesystem under %s refused O_DIRECT (direct_files=0)\n",
                      srv.data_dir);
        return;
    }
    if (si->hdd.direct_files != si->hdd.files)
        st_fail_at(file, line, "tier hdd: %llu of %llu tables open with O_DIRECT (direct_io = true)",
                   si->hdd.direct_files, si->hdd.files);
    char *ssd = st_test_path(srv.data_dir, "ssd"), *hdd = st_test_path(srv.data_dir, "hdd");
    sst_fds fh, fs;
    if (!scan_sst_fds(srv.pid, hdd, &fh) || !scan_sst_fds(srv.pid, ssd, &fs)) {
        print_message("O_DIRECT descriptor check skipped: /proc/%d/fd is not readable\n", (int)srv.pid);
    } else {
        if (fh.n < 1) st_fail_at(file, line, "the server holds no descriptor on an hdd table after reads");
        if (fh.direct != fh.n)
            st_fail_at(file, line, "%d of the server's %d descriptors on hdd tables lack O_DIRECT (fdinfo flags)",
                       fh.n - fh.direct, fh.n);
        if (si->ssd.files >= 1 && fs.n < 1)
            st_fail_at(file, line, "the server holds no descriptor on an ssd table after reads");
        if (fs.direct != 0)
            st_fail_at(file, line, "%d of the server's %d descriptors on ssd tables have O_DIRECT", fs.direct, fs.n);
    }
    free(ssd);
    free(hdd);
}

/* Writes every key, waits for compaction to have filled hdd, and makes sure level 0 keeps a table
 * in ssd: how many are left after the flushes depends on timing, so when none is, a SAVE of a few
 * rewritten keys adds one (below the compaction trigger). Leaves the settled INFO in *si. */
static void fill_both_tiers(redisContext *c, storage_info *si, const char *file, int line) {
    write_keys(c);
    wait_info(c, si, tiers_settled, "an L0 compaction into hdd, level 0 under its trigger", file, line);
    if (si->level_files[0] == 0) rewrite_keys(c, 100);
    wait_info(c, si, tiers_settled_l0, "one more L0 table in ssd", file, line);
}

static void expect_io_backend(const storage_info *si, const char *file, int line) {
    const char *forced = getenv("STRATA_IO_BACKEND");
    bool ok = !strcmp(si->io_backend, "io_uring") || !strcmp(si->io_backend, "posix");
    if (ok && forced && !strcmp(forced, "posix")) ok = !strcmp(si->io_backend, "posix");
    if (!ok)
        st_fail_at(file, line, "io_backend is '%s' (STRATA_IO_BACKEND=%s)", si->io_backend, forced ? forced : "unset");
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static void test_tables_land_in_their_levels_tier(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    redisContext *c = ST_CONNECT(&srv);
    storage_info *si = calloc(1, sizeof *si);
    fill_both_tiers(c, si, __FILE__, __LINE__);
    expect_io_backend(si, __FILE__, __LINE__);
    expect_dirs_match_info(c, si, __FILE__, __LINE__);
    /* levels 0-4 are ssd's, 5-6 hdd's; the dynamic base level of a tree this small is L6 */
    if (si->level_files[6] < 1 || si->hdd.files != (unsigned long long)(si->level_files[5] + si->level_files[6]) ||
        si->ssd.files != (unsigned long long)(si->level_files[0] + si->level_files[1] + si->level_files[2] +
                                              si->level_files[3] + si->level_files[4]) ||
        si->db.present)
        ST_FAIL("want L0 tables in ssd, L6 tables in hdd, no tier_db line:\n%s", si->text);
    /* reads open every table's descriptor and go to hdd for the keys only L6 holds */
    verify_gets(c, __FILE__, __LINE__);
    verify_mgets(c, __FILE__, __LINE__);
    info_read(c, si);
    if (si->hdd.block_reads == 0) ST_FAIL("every key was read, yet tier hdd counts no block read:\n%s", si->text);
    if (si->hdd.bytes_written < si->hdd.bytes)
        ST_FAIL("tier hdd holds more bytes than were written into it since start:\n%s", si->text);
    expect_hdd_direct(si, __FILE__, __LINE__);
    free(si);
    redisFree(c);
}

static void test_restart_keeps_values_and_tier_counts(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    redisContext *c = ST_CONNECT(&srv);
    storage_info *before = calloc(1, sizeof *before), *after = calloc(1, sizeof *after);
    fill_both_tiers(c, before, __FILE__, __LINE__);
    expect_dirs_match_info(c, before, __FILE__, __LINE__);
    redisFree(c);
    STOP();
    RESTART();
    c = ST_CONNECT(&srv);
    info_read(c, after);
    if (after->ssd.files != before->ssd.files || after->hdd.files != before->hdd.files)
        ST_FAIL("tier file counts before the restart ssd=%llu hdd=%llu, after ssd=%llu hdd=%llu\nafter:\n%s",
                before->ssd.files, before->hdd.files, after->ssd.files, after->hdd.files, after->text);
    verify_gets(c, __FILE__, __LINE__);
    verify_mgets(c, __FILE__, __LINE__);
    expect_dirs_match_info(c, after, __FILE__, __LINE__);
    if (after->ssd.files != before->ssd.files || after->hdd.files != before->hdd.files)
        ST_FAIL("after reads: tier file counts ssd=%llu hdd=%llu, before the restart ssd=%llu hdd=%llu",
                after->ssd.files, after->hdd.files, before->ssd.files, before->hdd.files);
    expect_hdd_direct(after, __FILE__, __LINE__);
    free(before);
    free(after);
    redisFree(c);
}

static void test_untiered_data_dir_migrates_into_tiers(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    redisContext *c = ST_CONNECT(&srv);
    write_keys(c);
    storage_info *si = calloc(1, sizeof *si);
    wait_info(c, si, untiered_settled, "level 0 compacted away (no tiers)", __FILE__, __LINE__);
    long long tables = (long long)si->db.files;
    dir_files in_data = list_dir(srv.data_dir);
    if (in_data.sst != tables || si->ssd.present || si->hdd.present)
        ST_FAIL("without tiers: data/ holds %d tables, INFO says tier_db files=%lld\n%s", in_data.sst, tables,
                si->text);
    redisFree(c);
    STOP();
    char *toml = repo_tiering_toml();
    assert_non_null(toml);
    assert_int_equal(add_server_args(&srv, ST_IT_ARGS("--config", toml)), 0);
    free(toml);
    RESTART();
    c = ST_CONNECT(&srv);
    wait_info(c, si, migrated, "every table migrated out of the data directory", __FILE__, __LINE__);
    if (si->migration_failures != 0 || si->migration_bytes <= 0 || si->migrations != tables ||
        (long long)(si->ssd.migrated_in + si->hdd.migrated_in) != si->migrations || si->hdd.migrated_in < 1)
        ST_FAIL("%lld tables were in the data directory; want as many migrations, none failed, bytes > 0, "
                "migrated_in adding up:\n%s", tables, si->text);
    expect_dirs_match_info(c, si, __FILE__, __LINE__);
    verify_gets(c, __FILE__, __LINE__);
    verify_mgets(c, __FILE__, __LINE__);
    info_read(c, si);
    expect_hdd_direct(si, __FILE__, __LINE__);
    free(si);
    redisFree(c);
}

/* Two tier layouts whose levels overlap, and what the server must say about them: the file, the
 * line of the offending key, the key, the reason. */
static void test_overlapping_tier_levels_stop_the_server(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    static const struct {
        const char *first, *second; /* line 8 (in tier fast) and line 13 (in tier slow) */
        int line;
        const char *key, *says;
    } cases[] = {
        /* fast claims 0..4, slow starts at 3 */
        {"levels = [0, 4]", "first_level = 3", 8, "tier.levels",
         "tier 'fast': levels 0..4 overlap tier 'slow' (from level 3)"},
        /* fast starts at 0 (the default), so does slow */
        {"codec = \"none\"", "first_level = 0", 13, "tier.first_level",
         "tier 'slow': level 0 overlaps tier 'fast' (line 5); list tiers hottest first"},
    };
    char *dir = st_test_tmpdir("it-badtier");
    assert_non_null(dir);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.toml", k);
        char *toml = st_test_path(dir, name);
        FILE *f = fopen(toml, "w");
        assert_non_null(f);
        fprintf(f,
                "# two tiers that both claim some levels\n" /* 1 */
                "[engine]\n"                                  /* 2 */
                "codec = \"lz4\"\n"                           /* 3 */
                "\n"                                          /* 4 */
                "[[tier]]\n"                                  /* 5 */
                "name = \"fast\"\n"                           /* 6 */
                "dir = \"fast\"\n"                            /* 7 */
                "%s\n"                                        /* 8 */
                "\n"                                          /* 9 */
                "[[tier]]\n"                                  /* 10 */
                "name = \"slow\"\n"                           /* 11 */
                "dir = \"slow\"\n"                            /* 12 */
                "%s\n",                                       /* 13 */
                cases[k].first, cases[k].second);
        assert_int_equal(fclose(f), 0);
        print_message("expected: the harness reports that the next server exits before it is ready\n");
        st_server bad;
        int64_t t0 = st_now_ms();
        int rc = st_server_start(&bad, "it-badtier", ST_IT_ARGS("--config", toml));
        int64_t took = st_now_ms() - t0;
        int status = bad.last_status;
        char *log = NULL;
        FILE *lf = bad.log_path ? fopen(bad.log_path, "r") : NULL;
        if (lf) {
            size_t cap = 65536, n = 0;
            log = calloc(1, cap);
            n = fread(log, 1, cap - 1, lf);
            log[n] = '\0';
            fclose(lf);
        }
        char *tier_dir = bad.data_dir ? st_test_path(bad.data_dir, "fast") : NULL;
        bool made_dir = tier_dir && access(tier_dir, F_OK) == 0;
        free(tier_dir);
        st_server_free(&bad);
        char want[PATH_MAX + 256], why[8192] = "";
        snprintf(want, sizeof want, "%s:%d: %s: %s", toml, cases[k].line, cases[k].key, cases[k].says);
        if (rc == 0) snprintf(why, sizeof why, "the server started");
        else if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
            snprintf(why, sizeof why, "the server should exit non-zero; waitpid status 0x%x", status);
        else if (took > 5000) snprintf(why, sizeof why, "the server took %lld ms to give up", (long long)took);
        else if (!log || !strstr(log, want))
            snprintf(why, sizeof why, "the log lacks\n  %s\nlog:\n%.3000s", want, log ? log : "(none)");
        else if (made_dir) snprintf(why, sizeof why, "a refused configuration still created the tier directory");
        free(log);
        free(toml);
        if (*why) {
            st_test_rmrf(dir);
            free(dir);
            ST_FAIL("%s: %s", name, why);
        }
    }
    st_test_rmrf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tables_land_in_their_levels_tier, setup_tiered, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_values_and_tier_counts, setup_tiered, teardown),
        cmocka_unit_test_setup_teardown(test_untiered_data_dir_migrates_into_tiers, setup_untiered, teardown),
        cmocka_unit_test(test_overlapping_tier_levels_stop_the_server),
    };
    return st_it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
