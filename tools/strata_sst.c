/* strata_sst.c -- strata-sst: offline inspection of a Strata database, like RocksDB's sst_dump
 * and ldb but aware of Strata's data model (tenants, databases, types, TTLs).
 *
 *   strata-sst dump FILE.sst [--from K] [--to K] [--limit N] [--json] [--raw]
 *   strata-sst stats FILE.sst|DBDIR [--json]
 *   strata-sst verify FILE.sst|DBDIR
 *   strata-sst scan DBDIR [--tenant T] [--db N] [--match PATTERN] [--type T] [--limit N] [--json]
 *   strata-sst wal dump|verify FILE.log [--limit N] [--json] [--raw]
 *   strata-sst manifest DBDIR [--json]
 *
 * The tool links the engine and reads every file through the engine's own readers
 * (strata/st_inspect.h; scan opens the database with st_options.read_only), so it never
 * re-implements a format and its verdict on a file is the engine's. It never writes to a
 * database: it reads a stopped one, or a copy. A database directory a running server holds (LOCK)
 * is refused; a table or WAL file alone may be read anytime (tables never change once written).
 * Tier directories: --config tiering.toml says where they are; without it, DBDIR and the
 * subdirectories of DBDIR that hold tables are searched (the default layout).
 * Output: data on stdout (text: name=value fields, one entry per line; --json: one object per
 * line; sst_print.h), summaries and progress on stderr (progress only when it is a terminal).
 * Exit status: 0 all well, 1 usage or I/O error (missing file, not a table, not a database),
 * 2 damage found (the message names the file and the byte offset). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "glob.h"
#include "keyspace.h"
#include "sst_print.h"
#include "strata/st.h"
#include "strata/st_inspect.h"
#include "tenant.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_CORRUPT = 2 };

typedef struct opts {
    bool json, raw, progress;
    const char *config;
    const char *from, *to;
    uint64_t limit;            /* 0: none */
    const char *tenant;
    int db;                    /* -1: all */
    const char *match;
    int type;                  /* KS_NONE: all */
    uint64_t max_elements;     /* 0: all */
    bool point_in_time;        /* scan: open a damaged WAL up to the damage */
} opts;

/* ---- messages ---------------------------------------------------------------------------------- */

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("strata-sst: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Reports an engine failure and returns the exit status it calls for. */
static int fail(int rc, const char *what) {
    const char *m = *st_errtext() ? st_errtext() : st_strerror(rc);
    bool named = strstr(m, what) != NULL; /* engine messages name their file already */
    say("%s%s%s%s", rc == ST_ECORRUPT ? "CORRUPT: " : "error: ", named ? "" : what, named ? "" : ": ", m);
    return rc == ST_ECORRUPT ? EXIT_CORRUPT : EXIT_ERR;
}

static const char *kind_name(int kind) {
    switch (kind) {
    case ST_FILE_WAL: return "a WAL (read it with: strata-sst wal dump FILE)";
    case ST_FILE_MANIFEST: return "a MANIFEST (read it with: strata-sst manifest DBDIR)";
    case ST_FILE_CURRENT: return "the CURRENT file";
    case ST_FILE_LOCK: return "the LOCK file";
    default: return NULL;
    }
}

/* Opens a table for dump, stats or verify. A file named like another of the engine's files is
 * the wrong kind (exit 1); so is one of any other name that is no table at all; damage in a file
 * named NNNNNN.sst is corruption (exit 2). */
static int open_table(const char *file, st_sstable **t) {
    uint64_t n;
    int kind = st_file_name_parse(file, &n);
    if (kind_name(kind) && access(file, F_OK) == 0) {
        say("error: %s is %s, not an SSTable", file, kind_name(kind));
        return EXIT_ERR;
    }
    int rc = st_sstable_open(file, t);
    if (rc == ST_ECORRUPT && kind != ST_FILE_TABLE &&
        (strstr(st_errtext(), "not an sstable") || strstr(st_errtext(), "too short to be an sstable"))) {
        say("error: %s is not an SSTable: %s", file, st_errtext());
        return EXIT_ERR;
    }
    return rc ? fail(rc, file) : 0;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- progress (stderr, only on a terminal) ----------------------------------------------------- */

typedef struct progress {
    bool on;
    uint64_t total, last_ms;
    char label[96];
} progress;

static void progress_start(progress *p, const opts *o, uint64_t total, const char *label) {
    p->on = o->progress && isatty(STDERR_FILENO) && total > 0;
    p->total = total;
    p->last_ms = 0;
    snprintf(p->label, sizeof p->label, "%s", label);
}

static void progress_show(progress *p, uint64_t done) {
    if (!p->on) return;
    uint64_t t = mono_ms();
    if (t - p->last_ms < 100 && done < p->total) return;
    p->last_ms = t;
    unsigned pct = (unsigned)(done >= p->total ? 100 : done * 100 / p->total);
    char bar[31];
    memset(bar, ' ', 30);
    memset(bar, '#', pct * 30 / 100);
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %3u%% %s", bar, pct, p->label);
    fflush(stderr);
}

static void progress_end(progress *p) {
    if (p->on) fprintf(stderr, "\r%*s\r", 40 + (int)strlen(p->label), "");
}

/* ---- paths and the database's directories ------------------------------------------------------ */

static bool is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_current(const char *dir) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/CURRENT", dir);
    return access(p, F_OK) == 0;
}

/* Where a database's tables may be: dirs[id] for tier id when `by_id` (from --config: 0 is the
 * database directory, i >= 1 the i-th [[tier]]), else the database directory and its
 * subdirectories that hold tables, searched in turn. */
typedef struct dbdirs {
    char *db;
    int n;
    char *dir[ST_MAX_TIERS + 1];
    char *name[ST_MAX_TIERS + 1];
    bool by_id;
    config cfg;
    bool have_cfg;
    st_options eng;            /* the engine options scan opens with */
    int lock_fd;               /* LOCK, held while the tool reads (-1: none) */
} dbdirs;

static void dbdirs_free(dbdirs *d) {
    for (int i = 0; i < d->n; i++) {
        free(d->dir[i]);
        free(d->name[i]);
    }
    free(d->db);
    if (d->have_cfg) config_free(&d->cfg);
    if (d->lock_fd >= 0) close(d->lock_fd); /* releases the flock */
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
}

/* A running server holds LOCK and deletes tables as it compacts: reading its directory would
 * report tables "missing" that were merely compacted away. Takes LOCK for as long as the tool
 * reads (a server started meanwhile waits for it), or refuses. A copy without LOCK, or a
 * directory the tool may not lock (read-only media), is read as it is. */
static int lock_db(dbdirs *d) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/LOCK", d->db);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            say("error: %s is open in a running server (it holds LOCK): stop the server, or inspect a copy of the "
                "database directory and its tier directories", d->db);
            return EXIT_ERR;
        }
        return 0;
    }
    d->lock_fd = fd;
    return 0;
}

static bool holds_tables(const char *dir) {
    DIR *dh = opendir(dir);
    if (!dh) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(dh)))
        found = st_file_name_parse(e->d_name, NULL) == ST_FILE_TABLE;
    closedir(dh);
    return found;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_dir(dbdirs *d, const char *dir, const char *name) {
    if (d->n > ST_MAX_TIERS) {
        say("error: more than %d table directories under %s: pass --config", ST_MAX_TIERS + 1, d->db);
        return EXIT_ERR;
    }
    d->dir[d->n] = strdup(dir);
    d->name[d->n] = strdup(name);
    d->n++;
    return 0;
}

/* Sets up d for database directory `db` (NULL: the --config file's dir). */
static int dbdirs_open(dbdirs *d, const char *db, const opts *o) {
    memset(d, 0, sizeof *d);
    d->lock_fd = -1;
    st_options_default(&d->eng);
    if (o->config) {
        char *argv[] = {"strata-sst", "--config", (char *)o->config, "--dir", (char *)db, NULL};
        char err[512];
        d->have_cfg = true;
        if (config_load(&d->cfg, db ? 5 : 3, argv, err, sizeof err)) {
            say("error: %s", err);
            return EXIT_ERR;
        }
        db = d->cfg.dir;
        config_to_engine_options(&d->cfg, &d->eng);
        d->by_id = true;
    }
    if (!db) {
        say("error: no database directory given");
        return EXIT_ERR;
    }
    if (!is_dir(db)) {
        say("error: %s is not a directory", db);
        return EXIT_ERR;
    }
    if (!has_current(db)) {
        say("error: %s is not a Strata database (it has no CURRENT file)", db);
        return EXIT_ERR;
    }
    d->db = strdup(db);
    int rc = lock_db(d);
    if (rc) return rc;
    rc = add_dir(d, db, "db");
    if (d->by_id) {
        for (size_t i = 0; !rc && i < d->cfg.n_tiers; i++) rc = add_dir(d, d->cfg.tiers[i].path, d->cfg.tiers[i].name);
        return rc;
    }
    /* the default layout: tier directories under the database directory */
    DIR *dh = opendir(db);
    if (!dh) {
        say("error: cannot list %s: %s", db, strerror(errno));
        return EXIT_ERR;
    }
    char *subs[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dh)) && n < 64) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", db, e->d_name);
        if (is_dir(p) && holds_tables(p)) subs[n++] = strdup(e->d_name);
    }
    closedir(dh);
    qsort(subs, (size_t)n, sizeof *subs, cmp_str);
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", db, subs[i]);
        if (!rc) rc = add_dir(d, p, subs[i]);
        free(subs[i]);
    }
    if (rc) return rc;
    /* scan's read-only open needs tiers that name these directories (which tier holds which level
     * does not matter to a reader: a table is looked for in every tier) */
    d->eng.n_tiers = d->n - 1;
    for (int i = 1; i < d->n; i++) {
        st_tier_options *t = &d->eng.tiers[i - 1];
        *t = (st_tier_options){.name = d->name[i], .dir = d->dir[i], .first_level = i - 1,
                               .last_level = i == d->n - 1 ? ST_MAX_LEVELS - 1 : i - 1, .high_watermark = 0.85,
                               .low_watermark = 0.70};
    }
    if (d->n - 1 > ST_MAX_LEVELS) {
        say("error: %d table directories under %s: pass --config", d->n, db);
        return EXIT_ERR;
    }
    return 0;
}

/* The path of table `number` (its MANIFEST tier first), or false when no directory holds it. */
static bool locate_table(const dbdirs *d, uint64_t number, int tier, char *path, size_t cap, int *found_in) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < d->n; i++) {
            if ((pass == 0) != (d->by_id && i == tier)) continue;
            snprintf(path, cap, "%s/%06" PRIu64 ".sst", d->dir[i], number);
            if (access(path, F_OK) == 0) {
                if (found_in) *found_in = i;
                return true;
            }
        }
    return false;
}

static const char *tier_label(const dbdirs *d, int tier, int found_in) {
    if (d->by_id) return tier < d->n ? d->name[tier] : "?";
    return found_in >= 0 && found_in < d->n ? d->name[found_in] : "?";
}

/* The database a table file belongs to, by where it lies: its directory or the one above (a tier
 * directory inside the database directory). */
static bool db_of_file(const char *file, char *db, size_t cap) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", file);
    char *slash = strrchr(buf, '/');
    if (!slash) snprintf(buf, sizeof buf, ".");
    else if (slash == buf) buf[1] = 0;
    else *slash = 0;
    if (has_current(buf)) {
        snprintf(db, cap, "%s", buf);
        return true;
    }
    size_t n = strlen(buf);
    if (n + 4 > sizeof buf) return false;
    memcpy(buf + n, "/..", 4);
    if (has_current(buf)) {
        snprintf(db, cap, "%s", buf);
        return true;
    }
    return false;
}

/* ---- dump -------------------------------------------------------------------------------------- */

typedef struct dump_ctx {
    const opts *o;
    sp_out out;
    uint64_t n;
    progress pr;
    int64_t now;
} dump_ctx;

static int dump_one(void *arg, const st_sstable_entry *e) {
    dump_ctx *c = arg;
    sp_begin(&c->out);
    sp_u64(&c->out, "seq", e->seq);
    sp_str(&c->out, "kind", e->kind == ST_ENTRY_DEL ? "del" : "put");
    sp_entry(&c->out, e->ukey, e->kind == ST_ENTRY_DEL, e->value, c->o->raw, c->now);
    sp_end(&c->out);
    c->n++;
    progress_show(&c->pr, c->n);
    return c->o->limit && c->n >= c->o->limit ? 1 : 0;
}

static int bound(const char *s, const char *flag, uint8_t **p, size_t *n) {
    *p = NULL;
    *n = 0;
    if (!s) return 0;
    if (sp_unescape(s, p, n)) {
        say("error: %s: bad escape in '%s' (use \\xHH, \\\\, \\\", \\n, \\r, \\t)", flag, s);
        return EXIT_ERR;
    }
    return 0;
}

static int cmd_dump(const char *file, const opts *o) {
    st_sstable *t;
    int rc = open_table(file, &t);
    if (rc) return rc;
    uint8_t *from = NULL, *to = NULL;
    size_t fl = 0, tl = 0;
    if (bound(o->from, "--from", &from, &fl) || bound(o->to, "--to", &to, &tl)) {
        free(from);
        st_sstable_close(t);
        return EXIT_ERR;
    }
    st_sstable_info ti;
    st_sstable_get_info(t, &ti);
    dump_ctx c = {.o = o, .out = {.f = stdout, .json = o->json}, .now = now_ms()};
    progress_start(&c.pr, o, ti.entries, file);
    rc = st_sstable_scan(t, st_slice_make(from, fl), st_slice_make(to, tl), dump_one, &c);
    progress_end(&c.pr);
    int status = EXIT_OK;
    if (rc < 0) status = fail(rc, file);
    else say("dump: %" PRIu64 " of %" PRIu64 " entries of %s", c.n, ti.entries, file);
    free(from);
    free(to);
    st_sstable_close(t);
    return status;
}

/* ---- stats ------------------------------------------------------------------------------------- */

static const char *codec_name(int c) {
    switch (c) {
    case ST_CODEC_NONE: return "none";
    case ST_CODEC_LZ4: return "lz4";
    case ST_CODEC_ZSTD: return "zstd";
    default: return "unknown";
    }
}

static void put_key(sp_out *o, const char *name, st_slice ikey) {
    st_slice uk;
    uint64_t seq;
    int kind;
    char n2[64];
    if (ikey.len == 0) return;
    if (st_internal_key_parse(ikey, &uk, &seq, &kind)) {
        sp_bytes(o, name, ikey.data, ikey.len);
        return;
    }
    sp_bytes(o, name, uk.data, uk.len);
    snprintf(n2, sizeof n2, "%s_seq", name);
    sp_u64(o, n2, seq);
}

static void table_fields(sp_out *o, const st_sstable_info *ti) {
    uint64_t raw = ti->raw_key_bytes + ti->raw_value_bytes;
    sp_u64(o, "file_size", ti->file_size);
    sp_u64(o, "entries", ti->entries);
    sp_u64(o, "deletions", ti->deletions);
    sp_u64(o, "data_blocks", ti->data_blocks);
    sp_u64(o, "raw_key_bytes", ti->raw_key_bytes);
    sp_u64(o, "raw_value_bytes", ti->raw_value_bytes);
    sp_u64(o, "data_bytes", ti->data_bytes);
    char r[32];
    snprintf(r, sizeof r, "%.2f", ti->data_bytes ? (double)raw / (double)ti->data_bytes : 0.0);
    sp_str(o, "compression_ratio", r);
    sp_u64(o, "filter_bytes", ti->filter_bytes);
    sp_u64(o, "index_bytes", ti->index_bytes);
    sp_u64(o, "properties_bytes", ti->properties_bytes + ti->metaindex_bytes + ti->footer_bytes);
    sp_str(o, "codec", codec_name(ti->codec));
    sp_u64(o, "block_size", ti->block_bytes);
    sp_u64(o, "bloom_bits_per_key", ti->bloom_bits_per_key);
    sp_u64(o, "min_seq", ti->min_seq);
    sp_u64(o, "max_seq", ti->max_seq);
    sp_u64(o, "creation_time", ti->creation_time);
    sp_u64(o, "format_version", ti->format_version);
    put_key(o, "smallest_key", ti->smallest);
    put_key(o, "largest_key", ti->largest);
}

/* The table's record in the MANIFEST of database `db`, if it has one. */
static bool manifest_entry(const char *db, uint64_t number, st_manifest_table *out, st_manifest_state *keep) {
    if (st_manifest_read(db, NULL, NULL, keep)) return false;
    for (size_t i = 0; i < keep->n_tables; i++)
        if (keep->tables[i].number == number) {
            *out = keep->tables[i];
            return true;
        }
    return false;
}

static int cmd_stats_file(const char *file, const opts *o) {
    st_sstable *t;
    int rc = open_table(file, &t);
    if (rc) return rc;
    st_sstable_info ti;
    st_sstable_get_info(t, &ti);
    sp_out out = {.f = stdout, .json = o->json, .lines = !o->json};
    sp_begin(&out);
    sp_str(&out, "file", file);
    table_fields(&out, &ti);
    char db[PATH_MAX];
    st_manifest_state ms = {0};
    st_manifest_table mt;
    if (ti.number && db_of_file(file, db, sizeof db)) {
        char real[PATH_MAX];
        if (realpath(db, real)) snprintf(db, sizeof db, "%s", real);
        if (manifest_entry(db, ti.number, &mt, &ms)) {
            sp_str(&out, "database", db);
            sp_u64(&out, "level", (uint64_t)mt.level);
            sp_u64(&out, "tier_id", (uint64_t)mt.tier);
            /* the tier, named by the directory the file lies in ("db": the database directory) */
            char fdir[PATH_MAX], freal[PATH_MAX];
            snprintf(fdir, sizeof fdir, "%s", file);
            char *slash = strrchr(fdir, '/');
            if (slash) *slash = 0;
            else snprintf(fdir, sizeof fdir, ".");
            if (realpath(fdir, freal)) {
                const char *base = strrchr(freal, '/');
                sp_str(&out, "tier", strcmp(freal, db) == 0 ? "db" : base ? base + 1 : freal);
            }
        } else {
            sp_str(&out, "database", db);
            sp_str(&out, "level", "none (not in the MANIFEST: a leftover the next open deletes)");
        }
    }
    sp_end(&out);
    st_manifest_state_free(&ms);
    st_sstable_close(t);
    return EXIT_OK;
}

/* dbdirs_open, then the MANIFEST's final state: 0, or the exit status (d freed). */
static int open_db(const char *dir, const opts *o, dbdirs *d, st_manifest_state *ms) {
    int status = dbdirs_open(d, dir, o);
    if (!status) {
        int rc = st_manifest_read(d->db, NULL, NULL, ms);
        if (rc) status = fail(rc, d->db);
    }
    if (status) dbdirs_free(d);
    return status;
}

typedef struct level_sum {
    uint64_t files, bytes, entries, deletions, raw, stored;
} level_sum;

static int cmd_stats_db(const char *dir, const opts *o) {
    dbdirs d;
    st_manifest_state ms;
    int status = open_db(dir, o, &d, &ms), rc;
    if (status) return status;
    sp_out out = {.f = stdout, .json = o->json};
    level_sum lv[ST_MAX_LEVELS] = {{0}}, tiers[ST_MAX_TIERS + 1] = {{0}};
    progress pr;
    progress_start(&pr, o, ms.n_tables, "stats");
    for (size_t i = 0; i < ms.n_tables; i++) {
        const st_manifest_table *mt = &ms.tables[i];
        char path[PATH_MAX];
        int in = -1;
        sp_begin(&out);
        sp_u64(&out, "level", (uint64_t)mt->level);
        char name[32];
        snprintf(name, sizeof name, "%06" PRIu64 ".sst", mt->number);
        sp_str(&out, "file", name);
        bool found = locate_table(&d, mt->number, mt->tier, path, sizeof path, &in);
        sp_str(&out, "tier", tier_label(&d, mt->tier, in));
        st_sstable *t = NULL;
        if (!found) {
            sp_str(&out, "status", "missing");
            sp_u64(&out, "file_size", mt->size);
            sp_u64(&out, "entries", mt->entries);
            status = EXIT_CORRUPT;
        } else if ((rc = st_sstable_open(path, &t))) {
            sp_str(&out, "status", rc == ST_ECORRUPT ? "damaged" : "unreadable");
            sp_u64(&out, "file_size", mt->size);
            if (status == EXIT_OK) status = rc == ST_ECORRUPT ? EXIT_CORRUPT : EXIT_ERR;
        } else {
            st_sstable_info ti;
            st_sstable_get_info(t, &ti);
            table_fields(&out, &ti);
            level_sum *s = &lv[mt->level], *ts = &tiers[in >= 0 && d.by_id ? mt->tier : (in >= 0 ? in : 0)];
            s->files++, ts->files++;
            s->bytes += ti.file_size, ts->bytes += ti.file_size;
            s->entries += ti.entries, ts->entries += ti.entries;
            s->deletions += ti.deletions, ts->deletions += ti.deletions;
            s->raw += ti.raw_key_bytes + ti.raw_value_bytes;
            s->stored += ti.data_bytes;
            st_sstable_close(t);
        }
        sp_end(&out);
        progress_show(&pr, i + 1);
    }
    progress_end(&pr);
    uint64_t tb = 0, te = 0, tf = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        if (!lv[l].files) continue;
        sp_begin(&out);
        sp_str(&out, "summary", "level");
        sp_u64(&out, "level", (uint64_t)l);
        sp_u64(&out, "tables", lv[l].files);
        sp_u64(&out, "bytes", lv[l].bytes);
        sp_u64(&out, "entries", lv[l].entries);
        sp_u64(&out, "deletions", lv[l].deletions);
        char r[32];
        snprintf(r, sizeof r, "%.2f", lv[l].stored ? (double)lv[l].raw / (double)lv[l].stored : 0.0);
        sp_str(&out, "compression_ratio", r);
        sp_end(&out);
        tb += lv[l].bytes, te += lv[l].entries, tf += lv[l].files;
    }
    for (int i = 0; i < d.n; i++) {
        if (!tiers[i].files) continue;
        sp_begin(&out);
        sp_str(&out, "summary", "tier");
        sp_str(&out, "tier", d.name[i]);
        sp_str(&out, "dir", d.dir[i]);
        sp_u64(&out, "tables", tiers[i].files);
        sp_u64(&out, "bytes", tiers[i].bytes);
        sp_end(&out);
    }
    sp_begin(&out);
    sp_str(&out, "summary", "database");
    sp_str(&out, "dir", d.db);
    sp_str(&out, "manifest", ms.manifest);
    sp_u64(&out, "edits", ms.edits);
    sp_u64(&out, "last_seq", ms.last_seq);
    sp_u64(&out, "log_number", ms.log_number);
    sp_u64(&out, "tables", tf);
    sp_u64(&out, "bytes", tb);
    sp_u64(&out, "entries", te);
    sp_end(&out);
    st_manifest_state_free(&ms);
    dbdirs_free(&d);
    return status;
}

static int cmd_stats(const char *path, const opts *o) {
    return (path && is_dir(path)) || (!path && o->config) ? cmd_stats_db(path, o) : cmd_stats_file(path, o);
}

/* ---- verify ------------------------------------------------------------------------------------ */

/* Opens, verifies and checksums one table; on success fills *ti. */
static int verify_table(const char *path, st_sstable_info *ti, uint64_t *checksum, uint64_t *size) {
    st_sstable *t;
    int rc = st_sstable_open(path, &t);
    if (rc) return rc;
    st_sstable_get_info(t, ti);
    rc = st_sstable_verify(t);
    st_sstable_close(t);
    if (!rc) rc = st_file_checksum(path, checksum, size);
    return rc;
}

static int cmd_verify_file(const char *file) {
    st_sstable_info ti;
    uint64_t sum = 0, size = 0;
    st_sstable *probe;
    int rc = open_table(file, &probe);
    if (rc) return rc;
    st_sstable_close(probe);
    if ((rc = verify_table(file, &ti, &sum, &size))) return fail(rc, file);
    char db[PATH_MAX];
    st_manifest_state ms = {0};
    st_manifest_table mt;
    const char *vs = "";
    if (ti.number && db_of_file(file, db, sizeof db) && manifest_entry(db, ti.number, &mt, &ms)) {
        if (mt.size != size || mt.checksum != sum) {
            say("CORRUPT: %s: %" PRIu64 " bytes with checksum %016" PRIx64 ", but the MANIFEST of %s records %" PRIu64
                " bytes with checksum %016" PRIx64,
                file, size, sum, db, mt.size, mt.checksum);
            st_manifest_state_free(&ms);
            return EXIT_CORRUPT;
        }
        vs = ", whole-file checksum matches the MANIFEST";
    }
    st_manifest_state_free(&ms);
    printf("OK %s: %" PRIu64 " entries in %" PRIu64 " data blocks, %" PRIu64 " bytes, xxh3 %016" PRIx64 "%s\n", file,
           ti.entries, ti.data_blocks, size, sum, vs);
    return EXIT_OK;
}

typedef struct wal_list {
    uint64_t *n;
    size_t len, cap;
} wal_list;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* WALs of dir numbered >= min, ascending. */
static int list_wals(const char *dir, uint64_t min, wal_list *w) {
    DIR *dh = opendir(dir);
    if (!dh) return -errno;
    struct dirent *e;
    while ((e = readdir(dh))) {
        uint64_t n;
        if (st_file_name_parse(e->d_name, &n) != ST_FILE_WAL || n < min) continue;
        if (w->len == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 8;
            uint64_t *p = realloc(w->n, nc * sizeof *p);
            if (!p) break;
            w->n = p;
            w->cap = nc;
        }
        w->n[w->len++] = n;
    }
    closedir(dh);
    if (w->len) qsort(w->n, w->len, sizeof *w->n, cmp_u64);
    return 0;
}

static int cmd_verify_db(const char *dir, const opts *o) {
    dbdirs d;
    st_manifest_state ms;
    int status = open_db(dir, o, &d, &ms), rc;
    if (status) return status;
    uint64_t total = 0, done = 0, entries = 0, blocks = 0;
    for (size_t i = 0; i < ms.n_tables; i++) total += ms.tables[i].size;
    progress pr;
    progress_start(&pr, o, total, "verify");
    for (size_t i = 0; i < ms.n_tables && status == EXIT_OK; i++) {
        const st_manifest_table *mt = &ms.tables[i];
        char path[PATH_MAX];
        if (!locate_table(&d, mt->number, mt->tier, path, sizeof path, NULL)) {
            progress_end(&pr);
            say("CORRUPT: table %06" PRIu64 ".sst (level %d) named by %s is missing from every table directory", mt->number,
                mt->level, ms.manifest);
            status = EXIT_CORRUPT;
            break;
        }
        st_sstable_info ti;
        uint64_t sum = 0, size = 0;
        if ((rc = verify_table(path, &ti, &sum, &size))) {
            progress_end(&pr);
            status = fail(rc, path);
            break;
        }
        if (size != mt->size || sum != mt->checksum) {
            progress_end(&pr);
            say("CORRUPT: %s: %" PRIu64 " bytes with checksum %016" PRIx64 ", but %s records %" PRIu64
                " bytes with checksum %016" PRIx64,
                path, size, sum, ms.manifest, mt->size, mt->checksum);
            status = EXIT_CORRUPT;
            break;
        }
        entries += ti.entries;
        blocks += ti.data_blocks;
        done += size;
        progress_show(&pr, done);
    }
    progress_end(&pr);
    wal_list w = {0};
    uint64_t records = 0, torn = 0;
    if (status == EXIT_OK) {
        if ((rc = list_wals(d.db, ms.log_number, &w))) {
            say("error: cannot list %s: %s", d.db, strerror(-rc));
            status = EXIT_ERR;
        }
        for (size_t i = 0; status == EXIT_OK && i < w.len; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%06" PRIu64 ".log", d.db, w.n[i]);
            st_wal_summary s;
            if ((rc = st_wal_file_read(path, NULL, NULL, NULL, &s))) {
                status = fail(rc, path);
                break;
            }
            records += s.records;
            if (s.torn_bytes) {
                torn += s.torn_bytes;
                say("note: %s ends in a torn write of %" PRIu64 " bytes at offset %" PRIu64
                    " (never acknowledged; recovery ignores it)",
                    path, s.torn_bytes, s.valid_bytes);
            }
        }
    }
    if (status == EXIT_OK)
        printf("OK %s: %s (%" PRIu64 " edits); %zu tables, %" PRIu64 " bytes, %" PRIu64 " entries in %" PRIu64
               " data blocks, every block and whole-file checksum verified; %zu WALs, %" PRIu64 " records%s\n",
               d.db, ms.manifest, ms.edits, ms.n_tables, done, entries, blocks, w.len, records,
               torn ? " (with a torn tail)" : "");
    free(w.n);
    st_manifest_state_free(&ms);
    dbdirs_free(&d);
    return status;
}

static int cmd_verify(const char *path, const opts *o) {
    return (path && is_dir(path)) || (!path && o->config) ? cmd_verify_db(path, o) : cmd_verify_file(path);
}

/* ---- scan -------------------------------------------------------------------------------------- */

typedef struct tenant_name {
    uint32_t id;
    char name[128];
} tenant_name;

typedef struct scan_ctx {
    const opts *o;
    ks *k;
    sp_out out;
    const char *tenant;
    uint32_t tenant_id;
    uint64_t keys;
    int64_t now;
    int rc;                    /* an element walk's error */
    tenant_name *tenants;
    size_t n_tenants, cap_tenants;
} scan_ctx;

static int list_tenant(void *arg, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen) {
    scan_ctx *c = arg;
    tenant_record tr;
    if (tenant_record_decode(v, vlen, &tr) || tr.deleted) return 0; /* a deleted tenant's keys are unreachable */
    if (c->n_tenants == c->cap_tenants) {
        size_t nc = c->cap_tenants ? c->cap_tenants * 2 : 8;
        tenant_name *p = realloc(c->tenants, nc * sizeof *p);
        if (!p) return 1;
        c->tenants = p;
        c->cap_tenants = nc;
    }
    tenant_name *t = &c->tenants[c->n_tenants++];
    t->id = tr.id;
    snprintf(t->name, sizeof t->name, "%.*s", (int)(nlen < 127 ? nlen : 127), (const char *)name);
    return 0;
}

static void put_elements(scan_ctx *c, uint8_t db, const uint8_t *key, size_t klen, const ks_rec *rec) {
    ks_coll coll;
    if (ks_rec_coll(rec, &coll)) {
        sp_str(&c->out, "value", "malformed");
        return;
    }
    sp_u64(&c->out, "size", coll.size);
    ks_ckey ck = {{c->tenant_id, db}, key, klen, coll.version};
    int space = coll.type == KS_ZSET ? KS_SCORES : KS_ELEMS;
    ks_elems *it;
    if (ks_elems_open(c->k, &ck, space, &it)) {
        c->rc = KS_ENOMEM;
        return;
    }
    bool obj = coll.type == KS_HASH;
    sp_open(&c->out, "value", obj ? '{' : '[');
    uint64_t n = 0;
    for (ks_elems_seek(it, NULL, 0); ks_elems_valid(it); ks_elems_next(it), n++) {
        if (c->o->max_elements && n >= c->o->max_elements) {
            sp_item_more(&c->out, coll.size > n ? coll.size - n : 0);
            break;
        }
        size_t el, vl;
        const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
        switch (coll.type) {
        case KS_HASH: sp_item_bytes(&c->out, e, el, v, vl); break;
        case KS_LIST: sp_item_elem(&c->out, v, vl); break;
        case KS_SET: sp_item_elem(&c->out, e, el); break;
        case KS_ZSET: {
            double s = 0;
            if (vl == 8) {
                uint64_t b = 0;
                for (int i = 7; i >= 0; i--) b = (b << 8) | v[i];
                memcpy(&s, &b, 8);
            }
            sp_item_pair(&c->out, el >= 8 ? e + 8 : e, el >= 8 ? el - 8 : el, s);
            break;
        }
        default: break;
        }
    }
    sp_close(&c->out, obj ? '}' : ']');
    if (ks_elems_status(it)) c->rc = ks_elems_status(it);
    ks_elems_close(it);
}

typedef struct scan_db {
    scan_ctx *c;
    uint8_t db;
} scan_db;

static int scan_key(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    scan_db *sd = arg;
    scan_ctx *c = sd->c;
    const opts *o = c->o;
    if (o->type != KS_NONE && rec->type != o->type) return 0;
    if (o->match && !glob_match((const uint8_t *)o->match, strlen(o->match), key, klen, false)) return 0;
    sp_out *out = &c->out;
    sp_begin(out);
    sp_str(out, "tenant", c->tenant);
    sp_u64(out, "db", sd->db);
    sp_bytes(out, "key", key, klen);
    sp_str(out, "type", ks_type_name(rec->type));
    if (rec->expire_ms) {
        sp_i64(out, "expire_ms", rec->expire_ms);
        sp_i64(out, "ttl_ms", rec->expire_ms - c->now);
    }
    if (rec->type == KS_STRING) sp_bytes(out, "value", rec->payload, rec->payload_len);
    else put_elements(c, sd->db, key, klen, rec);
    sp_end(out);
    c->keys++;
    if (c->rc) return 1;
    return o->limit && c->keys >= o->limit ? 1 : 0;
}

static int parse_type(const char *s) {
    static const char *names[] = {"none", "string", "hash", "list", "set", "zset"};
    for (int i = 1; i <= KS_ZSET; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

static int cmd_scan(const char *dir, const opts *o) {
    dbdirs d;
    int status = dbdirs_open(&d, dir, o);
    if (status) {
        dbdirs_free(&d);
        return status;
    }
    if (d.lock_fd >= 0) { /* the read-only open takes LOCK itself */
        close(d.lock_fd);
        d.lock_fd = -1;
    }
    d.eng.read_only = true;
    if (o->point_in_time) d.eng.wal_recovery = ST_WAL_RECOVERY_POINT_IN_TIME;
    ks_options ko = {.dir = d.db, .sync_mode = ST_SYNC_NO, .bloom_bits_per_key = -1, .codec = -1, .engine = &d.eng};
    ks *k;
    char err[1024];
    int rc = ks_open(&ko, &k, err, sizeof err);
    if (rc) {
        say("%s%s", rc == KS_ECORRUPT ? "CORRUPT: " : "error: ", err);
        dbdirs_free(&d);
        return rc == KS_ECORRUPT ? EXIT_CORRUPT : EXIT_ERR;
    }
    scan_ctx c = {.o = o, .k = k, .out = {.f = stdout, .json = o->json}, .now = now_ms()};
    tenant_name def = {0, "default"};
    if ((rc = ks_sys_scan(k, KS_SYS_TENANTS, list_tenant, &c))) {
        say("%s: the tenant registry: %s", rc == KS_ECORRUPT ? "CORRUPT" : "error", st_errtext());
        status = rc == KS_ECORRUPT ? EXIT_CORRUPT : EXIT_ERR;
    }
    /* the tenants to scan: default first, then the registry's in id order */
    size_t n = c.n_tenants + 1;
    tenant_name *all = calloc(n, sizeof *all);
    if (!all) {
        say("error: out of memory");
        status = EXIT_ERR;
        n = 0;
    } else {
        all[0] = def;
        if (c.n_tenants) memcpy(all + 1, c.tenants, c.n_tenants * sizeof *all);
    }
    bool matched = !o->tenant;
    for (size_t i = 0; status == EXIT_OK && i < n; i++) {
        if (o->tenant) {
            char idbuf[16];
            snprintf(idbuf, sizeof idbuf, "%" PRIu32, all[i].id);
            if (strcmp(o->tenant, all[i].name) && strcmp(o->tenant, idbuf)) continue;
            matched = true;
        }
        c.tenant = all[i].name;
        c.tenant_id = all[i].id;
        for (int db = o->db >= 0 ? o->db : 0; db <= (o->db >= 0 ? o->db : 255); db++) {
            scan_db sd = {&c, (uint8_t)db};
            uint8_t prefix[256];
            size_t plen = o->match ? glob_literal_prefix((const uint8_t *)o->match, strlen(o->match), prefix) : 0;
            uint8_t *next = NULL;
            size_t next_len = 0;
            ks_ns ns = {all[i].id, (uint8_t)db};
            rc = ks_scan(k, ns, NULL, 0, prefix, plen, 0, c.now, scan_key, &sd, &next, &next_len);
            free(next);
            if (rc < 0 || c.rc) {
                int e = rc < 0 ? rc : c.rc;
                say("%s: scan of tenant %s db %d: %s", e == KS_ECORRUPT ? "CORRUPT" : "error", all[i].name, db,
                    st_errtext());
                status = e == KS_ECORRUPT ? EXIT_CORRUPT : EXIT_ERR;
                break;
            }
            if (o->limit && c.keys >= o->limit) break;
        }
        if (o->limit && c.keys >= o->limit) break;
    }
    if (status == EXIT_OK && !matched) {
        char names[1024] = "default";
        for (size_t i = 0; i < c.n_tenants; i++) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof names - l, ", %s", c.tenants[i].name);
        }
        say("error: no tenant '%s' in %s (tenants: %s)", o->tenant, d.db, names);
        status = EXIT_ERR;
    }
    if (status == EXIT_OK) say("scan: %" PRIu64 " keys", c.keys);
    free(all);
    free(c.tenants);
    ks_close(k);
    dbdirs_free(&d);
    return status;
}

/* ---- wal --------------------------------------------------------------------------------------- */

typedef struct wal_ctx {
    const opts *o;
    sp_out out;
    uint64_t records;
    bool in_record;
    int64_t now;
    progress pr;
} wal_ctx;

static int wal_record(void *arg, const st_wal_record *r) {
    wal_ctx *c = arg;
    if (c->o->limit && c->records >= c->o->limit) return 1;
    c->records++;
    sp_begin(&c->out);
    sp_str(&c->out, "record", "batch");
    sp_u64(&c->out, "offset", r->offset);
    sp_u64(&c->out, "end", r->end);
    sp_u64(&c->out, "seq", r->first_seq);
    sp_u64(&c->out, "count", r->count);
    sp_u64(&c->out, "bytes", r->bytes);
    sp_end(&c->out);
    progress_show(&c->pr, r->end);
    return 0;
}

static int wal_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    wal_ctx *c = arg;
    if (!c->out.json) fputs("  ", c->out.f);
    sp_begin(&c->out);
    sp_u64(&c->out, "seq", seq);
    sp_str(&c->out, "kind", kind == ST_ENTRY_DEL ? "del" : "put");
    sp_entry(&c->out, key, kind == ST_ENTRY_DEL, value, c->o->raw, c->now);
    sp_end(&c->out);
    return 0;
}

static int cmd_wal(const char *sub, const char *file, const opts *o) {
    bool dump = !strcmp(sub, "dump");
    if (!dump && strcmp(sub, "verify")) {
        say("error: wal: unknown subcommand '%s' (dump or verify)", sub);
        return EXIT_ERR;
    }
    if (!file) {
        say("error: wal %s: no WAL file given", sub);
        return EXIT_ERR;
    }
    int kind = st_file_name_parse(file, NULL);
    if (kind != ST_FILE_WAL && kind != ST_FILE_OTHER) {
        say("error: %s is %s, not a WAL", file, kind == ST_FILE_TABLE ? "an SSTable (read it with: strata-sst dump FILE)" : kind_name(kind));
        return EXIT_ERR;
    }
    wal_ctx c = {.o = o, .out = {.f = stdout, .json = o->json}, .now = now_ms()};
    struct stat st;
    progress_start(&c.pr, o, stat(file, &st) == 0 ? (uint64_t)st.st_size : 0, file);
    st_wal_summary s;
    int rc = st_wal_file_read(file, dump ? wal_record : NULL, dump ? wal_op : NULL, &c, &s);
    progress_end(&c.pr);
    if (rc < 0) return fail(rc, file);
    if (kind != ST_FILE_WAL && s.records == 0 && s.file_bytes > 0) {
        say("error: %s is not a WAL: no valid record in its %" PRIu64 " bytes", file, s.file_bytes);
        return EXIT_ERR;
    }
    if (dump) {
        say("wal: %" PRIu64 " records, %" PRIu64 " operations, seq %" PRIu64 "..%" PRIu64 "; %" PRIu64 " of %" PRIu64
            " bytes valid%s",
            c.records, s.ops, s.first_seq, s.last_seq, s.valid_bytes, s.file_bytes, s.torn_bytes ? "; a torn tail follows" : "");
        return EXIT_OK;
    }
    printf("OK %s: %" PRIu64 " records, %" PRIu64 " operations, seq %" PRIu64 "..%" PRIu64 ", %" PRIu64 " bytes", file,
           s.records, s.ops, s.first_seq, s.last_seq, s.file_bytes);
    if (s.torn_bytes)
        printf("; a torn tail of %" PRIu64 " bytes at offset %" PRIu64
               " is ignored (a write cut off by a crash, never acknowledged)",
               s.torn_bytes, s.valid_bytes);
    putchar('\n');
    return EXIT_OK;
}

/* ---- manifest ---------------------------------------------------------------------------------- */

typedef struct man_ctx {
    sp_out out;
    const dbdirs *d;
} man_ctx;

static void table_line(sp_out *out, const char *what, const st_manifest_table *t) {
    if (!out->json) fputs("  ", out->f);
    sp_begin(out);
    sp_str(out, "change", what);
    sp_u64(out, "level", (uint64_t)t->level);
    char name[32];
    snprintf(name, sizeof name, "%06" PRIu64 ".sst", t->number);
    sp_str(out, "file", name);
    sp_u64(out, "tier", (uint64_t)t->tier);
    sp_u64(out, "size", t->size);
    sp_u64(out, "entries", t->entries);
    sp_u64(out, "min_seq", t->min_seq);
    sp_u64(out, "max_seq", t->max_seq);
    sp_str(out, "codec", codec_name(t->codec));
    char h[20];
    snprintf(h, sizeof h, "%016" PRIx64, t->checksum);
    sp_str(out, "checksum", h);
    put_key(out, "smallest_key", t->smallest);
    put_key(out, "largest_key", t->largest);
    sp_end(out);
}

static int man_edit(void *arg, const st_manifest_edit *e) {
    man_ctx *c = arg;
    sp_out *out = &c->out;
    sp_begin(out);
    sp_u64(out, "edit", e->index);
    sp_u64(out, "end", e->end);
    if (e->has_log_number) sp_u64(out, "log_number", e->log_number);
    if (e->has_next_file) sp_u64(out, "next_file", e->next_file);
    if (e->has_last_seq) sp_u64(out, "last_seq", e->last_seq);
    sp_u64(out, "added", e->n_added);
    sp_u64(out, "deleted", e->n_deleted);
    sp_end(out);
    for (size_t i = 0; i < e->n_deleted; i++) {
        if (!out->json) fputs("  ", out->f);
        sp_begin(out);
        sp_str(out, "change", "delete");
        sp_u64(out, "level", (uint64_t)e->deleted[i].level);
        char name[32];
        snprintf(name, sizeof name, "%06" PRIu64 ".sst", e->deleted[i].number);
        sp_str(out, "file", name);
        sp_end(out);
    }
    for (size_t i = 0; i < e->n_added; i++) table_line(out, "add", &e->added[i]);
    return 0;
}

static int cmd_manifest(const char *dir, const opts *o) {
    dbdirs d;
    int status = dbdirs_open(&d, dir, o);
    if (status) {
        dbdirs_free(&d);
        return status;
    }
    man_ctx c = {.out = {.f = stdout, .json = o->json}, .d = &d};
    st_manifest_state ms;
    int rc = st_manifest_read(d.db, man_edit, &c, &ms);
    if (rc) {
        status = fail(rc, d.db);
        dbdirs_free(&d);
        return status;
    }
    sp_out *out = &c.out;
    sp_begin(out);
    sp_str(out, "current", ms.manifest);
    sp_u64(out, "edits", ms.edits);
    sp_u64(out, "log_number", ms.log_number);
    sp_u64(out, "next_file", ms.next_file);
    sp_u64(out, "last_seq", ms.last_seq);
    sp_u64(out, "tables", ms.n_tables);
    sp_end(out);
    for (size_t i = 0; i < ms.n_tables; i++) table_line(out, "live", &ms.tables[i]);
    st_manifest_state_free(&ms);
    dbdirs_free(&d);
    return EXIT_OK;
}

/* ---- main -------------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fputs("usage: strata-sst COMMAND ...\n"
          "  dump FILE.sst [--from K] [--to K] [--limit N] [--json] [--raw]\n"
          "                  entries of a table, decoded (tenant, db, key, type, element, TTL, value);\n"
          "                  --raw: engine keys and values as stored; K in C escapes (\\xHH)\n"
          "  stats FILE.sst|DBDIR [--json]\n"
          "                  table properties; for a database every live table, level and tier\n"
          "  verify FILE.sst|DBDIR\n"
          "                  every checksum (blocks, footer, whole files against the MANIFEST, WALs)\n"
          "  scan DBDIR [--tenant T] [--db N] [--match PATTERN] [--type T] [--limit N]\n"
          "       [--max-elements N] [--point-in-time] [--json]\n"
          "                  the live keys of a stopped database, with their values; --point-in-time:\n"
          "                  past a damaged WAL record, show the writes before it (as the server's\n"
          "                  wal_recovery = \"point-in-time\" would keep)\n"
          "  wal dump|verify FILE.log [--limit N] [--json] [--raw]\n"
          "                  the records of a WAL\n"
          "  manifest DBDIR [--json]\n"
          "                  the MANIFEST's version history and the live tables\n"
          "Options for a database: --config FILE (tiering.toml: where the tier directories are;\n"
          "  without it DBDIR's subdirectories that hold tables are searched); DBDIR may then be omitted.\n"
          "--no-progress: no progress bar (shown on stderr when it is a terminal).\n"
          "Exit status: 0 all well, 1 usage or I/O error, 2 damage found.\n",
          f);
}

static bool num_arg(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    opts o = {.progress = true, .db = -1, .type = KS_NONE};
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--json")) {
            o.json = true, takes = false;
        } else if (!strcmp(a, "--raw")) {
            o.raw = true, takes = false;
        } else if (!strcmp(a, "--point-in-time")) {
            o.point_in_time = true, takes = false;
        } else if (!strcmp(a, "--no-progress")) {
            o.progress = false, takes = false;
        } else if (a[0] == '-' && a[1] == '-' && a[2]) {
            if (!v) {
                say("error: %s needs a value", a);
                return EXIT_ERR;
            }
            uint64_t n;
            if (!strcmp(a, "--config")) o.config = v;
            else if (!strcmp(a, "--from")) o.from = v;
            else if (!strcmp(a, "--to")) o.to = v;
            else if (!strcmp(a, "--tenant")) o.tenant = v;
            else if (!strcmp(a, "--match")) o.match = v;
            else if (!strcmp(a, "--limit") || !strcmp(a, "--max-elements") || !strcmp(a, "--db")) {
                if (!num_arg(v, &n) || (!strcmp(a, "--db") && n > 255)) {
                    say("error: %s: '%s' is not %s", a, v, !strcmp(a, "--db") ? "a database number 0..255" : "a count");
                    return EXIT_ERR;
                }
                if (!strcmp(a, "--limit")) o.limit = n;
                else if (!strcmp(a, "--db")) o.db = (int)n;
                else o.max_elements = n;
            } else if (!strcmp(a, "--type")) {
                if ((o.type = parse_type(v)) < 0) {
                    say("error: --type: '%s' is not string, hash, list, set or zset", v);
                    return EXIT_ERR;
                }
            } else {
                say("error: unknown option %s (see --help)", a);
                return EXIT_ERR;
            }
        } else {
            takes = false;
            if (npos == 3) {
                say("error: too many arguments (see --help)");
                return EXIT_ERR;
            }
            pos[npos++] = a;
        }
        if (takes) i++;
    }
    if (npos == 0) {
        usage(stderr);
        return EXIT_ERR;
    }
    const char *cmd = pos[0];
    int max_pos = !strcmp(cmd, "wal") ? 3 : 2;
    if (npos > max_pos) {
        say("error: %s: unexpected argument '%s'", cmd, pos[max_pos]);
        return EXIT_ERR;
    }
    bool db_cmd = !strcmp(cmd, "scan") || !strcmp(cmd, "manifest");
    if (!strcmp(cmd, "wal")) {
        if (!pos[1]) {
            say("error: wal: dump or verify?");
            return EXIT_ERR;
        }
        return cmd_wal(pos[1], pos[2], &o);
    }
    if (!pos[1] && !(o.config && (db_cmd || !strcmp(cmd, "stats") || !strcmp(cmd, "verify")))) {
        say("error: %s: which %s? (see --help)", cmd, db_cmd ? "database directory" : "file");
        return EXIT_ERR;
    }
    if (!strcmp(cmd, "dump")) return cmd_dump(pos[1], &o);
    if (!strcmp(cmd, "stats")) return cmd_stats(pos[1], &o);
    if (!strcmp(cmd, "verify")) return cmd_verify(pos[1], &o);
    if (!strcmp(cmd, "scan")) return cmd_scan(pos[1], &o);
    if (!strcmp(cmd, "manifest")) return cmd_manifest(pos[1], &o);
    say("error: unknown command '%s' (see --help)", cmd);
    return EXIT_ERR;
}
