/* recovery.c -- open-time recovery: MANIFEST, then WALs, then clean-up.
 *
 * WALs numbered >= the MANIFEST's log number are replayed in number order into memtables, which
 * are written to L0 as they fill and at the end; one new MANIFEST then records those tables, the
 * next WAL's number and the last sequence number, so recovery never appends to an old WAL
 * (LevelDB reuse_logs=false). Corruption rules (docs/FORMAT.md#recovery): a torn tail is the end
 * of its WAL; a damaged record followed by valid data in the same WAL, a record whose checksum
 * holds but whose batch does not parse, or a torn WAL followed by a newer WAL that holds records,
 * means acknowledged writes are lost, and the open fails with ST_ECORRUPT naming the WAL, the
 * offset and the repair option. Read-only (st_options.read_only) replays the same WALs into one
 * memtable that is never written anywhere, and writes no MANIFEST. With st_options.wal_recovery = POINT_IN_TIME (RocksDB's
 * kPointInTimeRecovery) replay stops there instead: every batch before the damage is kept, the
 * rest of that WAL and every later one dropped (a batch is applied whole or not at all), one line
 * on stderr says what; the new MANIFEST's log number then makes all of them obsolete. A directory
 * with tables but no CURRENT fails the open too. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db_impl.h"
#include "util/err.h"
#include "util/ikey.h"
#include "version/filename.h"
#include "wal/log_reader.h"
#include "write_batch.h"

typedef struct dir_scan {
    uint64_t *logs;
    size_t n_logs, cap_logs;
    uint64_t max_number;
    size_t n_tables;
} dir_scan;

static int scan_entry(const char *name, void *arg) {
    dir_scan *s = arg;
    uint64_t n = 0;
    enum st_file_type t = st_fn_parse(name, &n);
    if (t == ST_FT_LOG || t == ST_FT_TABLE || t == ST_FT_MANIFEST)
        if (n > s->max_number) s->max_number = n;
    if (t == ST_FT_TABLE) s->n_tables++;
    if (t != ST_FT_LOG) return 0;
    if (s->n_logs == s->cap_logs) {
        size_t cap = s->cap_logs ? s->cap_logs * 2 : 8;
        uint64_t *p = realloc(s->logs, cap * sizeof *p);
        if (!p) return -ENOMEM;
        s->logs = p;
        s->cap_logs = cap;
    }
    s->logs[s->n_logs++] = n;
    return 0;
}

/* A tier directory: only tables and table temp files (NNNNNN.sst.tmp) are ours. */
static int scan_tier_entry(const char *name, void *arg) {
    dir_scan *s = arg;
    uint64_t n = 0;
    enum st_file_type t = st_fn_parse(name, &n);
    if (t == ST_FT_TEMP) {
        char base[ST_PATH_MAX];
        size_t len = strlen(name);
        if (len - 4 >= sizeof base) return 0;
        memcpy(base, name, len - 4);
        base[len - 4] = 0;
        if (st_fn_parse(base, &n) != ST_FT_TABLE) return 0;
    } else if (t == ST_FT_TABLE) {
        s->n_tables++;
    } else {
        return 0;
    }
    if (n > s->max_number) s->max_number = n;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef struct replay_ctx {
    st_memtable *mem;
    uint64_t max_seq;
} replay_ctx;

static int replay_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    replay_ctx *c = arg;
    if (seq > c->max_seq) c->max_seq = seq;
    return st_memtable_add(c->mem, seq, kind, key, value);
}

/* Writes c->mem to L0 (recorded in e) and starts a fresh memtable. */
static int spill(st_db *db, replay_ctx *c, st_version_edit *e) {
    st_file_meta *fm = NULL;
    ST_TRY(st_db_write_l0(db, c->mem, &fm));
    int rc = 0;
    if (fm) {
        rc = st_edit_add_file(e, fm);
        st_file_meta_unref(fm);
    }
    st_memtable_unref(c->mem);
    c->mem = NULL;
    return rc ? rc : st_memtable_new(st_db_arena_block(db), &c->mem);
}

/* The state of replaying the WALs in order. */
typedef struct wal_replay {
    char torn[ST_PATH_MAX];   /* a WAL whose tail was damaged (nothing may follow it) */
    uint64_t torn_off, torn_bytes; /* ... where, and how much of it */
    bool stopped;             /* point-in-time: replay ended at damage; later WALs are dropped */
    char stop_why[512];       /* what stopped it */
    uint64_t kept;            /* records replayed in the WAL that stopped it */
    uint64_t dropped;         /* bytes skipped: torn tails, and after a point-in-time stop */
    unsigned dropped_wals;    /* whole WALs skipped after the stop */
} wal_replay;

static int count_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    (void)arg;
    (void)seq;
    (void)kind;
    (void)key;
    (void)value;
    return 0;
}

#define PIT_HINT "; to open anyway, keeping every write before the damage and dropping the rest, set " \
                 "st_options.wal_recovery = ST_WAL_RECOVERY_POINT_IN_TIME"

/* Point-in-time: ends the replay at the damage just reported (st_errmsg) in WAL `path`, whose
 * bytes from `from` on are dropped. */
static void stop_replay(wal_replay *wr, uint64_t from, uint64_t size, uint64_t records) {
    wr->stopped = true;
    wr->kept = records;
    wr->dropped += size > from ? size - from : 0;
    snprintf(wr->stop_why, sizeof wr->stop_why, "%s", st_err_text(st_errmsg()));
}

/* Replays one WAL. wr->torn is set (to this WAL) when its tail was damaged; if it was already set
 * by an older WAL and this one holds records, acknowledged writes are missing: ST_ECORRUPT (or,
 * point-in-time, the end of the replay). */
static int replay_wal(st_db *db, uint64_t number, wal_replay *wr, replay_ctx *c, st_version_edit *e) {
    char path[ST_PATH_MAX];
    st_fn_log(path, db->dir, number);
    bool pit = db->opts.wal_recovery == ST_WAL_RECOVERY_POINT_IN_TIME;
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc) return st_err(st_err_from_errno(rc), "open %s: %s", path, strerror(-rc));
    uint64_t size = 0;
    st_file_size(f, &size);
    st_log_reader *r;
    ST_TRY(st_log_reader_new(f, &r));
    st_buf rec;
    st_buf_init(&rec);
    uint64_t records = 0, rec_start = 0;
    bool from_reader = false; /* the loop ended on the reader's status */
    for (;;) {
        if ((rc = st_log_reader_next(r, &rec)) != 0) {
            from_reader = true;
            break;
        }
        if (wr->torn[0]) {
            rc = st_err(ST_ECORRUPT, "WAL %s is damaged from offset %" PRIu64 " (%" PRIu64 " bytes unreadable) but newer WAL %s holds writes%s",
                        wr->torn, wr->torn_off, wr->torn_bytes, path,
                        pit ? "" : ": acknowledged writes would be lost; refusing to open" PIT_HINT);
            if (pit) {
                stop_replay(wr, 0, size, 0);
                rc = 0;
            }
            break;
        }
        /* A batch goes into the memtable whole or not at all: point-in-time checks it first (strict
         * fails the open anyway). */
        rc = pit ? st_batch_iterate(st_buf_slice(&rec), count_op, NULL) : 0;
        if (!rc) rc = st_batch_iterate(st_buf_slice(&rec), replay_op, c);
        if (rc) {
            if (rc == ST_ECORRUPT) {
                rc = st_err(rc, "WAL %s: record %" PRIu64 " at offset %" PRIu64 " (ending at %" PRIu64
                                ") holds a malformed batch: %s%s",
                            path, records + 1, rec_start, st_log_reader_end_off(r), st_err_text(st_errmsg()),
                            pit ? "" : PIT_HINT);
                if (pit) {
                    stop_replay(wr, rec_start, size, records);
                    rc = 0;
                }
            }
            break;
        }
        records++;
        rec_start = st_log_reader_end_off(r);
        if (!db->opts.read_only && st_memtable_bytes(c->mem) >= db->opts.write_buffer_bytes &&
            (rc = spill(db, c, e)))
            break;
    }
    if (rc == ST_ECORRUPT && from_reader) {
        /* the reader's message names the WAL, the damaged record's offset and the valid one after */
        if (pit) {
            stop_replay(wr, st_log_reader_end_off(r), size, records);
            rc = 0;
        } else {
            rc = st_err(rc, "WAL recovery: %s" PIT_HINT, st_err_text(st_errmsg()));
        }
    } else if (rc == ST_ENOTFOUND) {
        rc = 0;
        uint64_t dropped = st_log_reader_dropped(r);
        if (dropped) {
            snprintf(wr->torn, sizeof wr->torn, "%s", path);
            wr->torn_off = st_log_reader_end_off(r);
            wr->torn_bytes = dropped;
            wr->dropped += dropped;
            fprintf(stderr, "strata: WAL %s: ignored a torn tail of %" PRIu64 " bytes at offset %" PRIu64 "\n",
                    path, dropped, st_log_reader_end_off(r));
        }
    }
    st_buf_destroy(&rec);
    st_log_reader_free(r);
    return rc;
}

int st_db_recover(st_db *db) {
    bool existed = false;
    ST_TRY(st_vset_recover(db->dir, &db->tiers, db->cache, db->files, &db->vs, &existed));
    if (existed && db->opts.error_if_exists)
        return st_err(ST_EEXIST, "database %s exists (error_if_exists)", db->dir);
    if (!existed && (db->opts.read_only || !db->opts.create_if_missing))
        return st_err(ST_EINVAL, "%s is not a database (no CURRENT)%s", db->dir,
                      db->opts.read_only ? "" : " and create_if_missing is off");

    dir_scan s = {0};
    int rc = st_io_list_dir(db->dir, scan_entry, &s);
    for (int id = 1; !rc && id < db->tiers.n; id++)
        if (!st_tiers_same_dir(&db->tiers, 0, id) && (rc = st_io_list_dir(db->tiers.dir[id], scan_tier_entry, &s))) {
            free(s.logs);
            return st_err(st_err_from_errno(rc), "list %s: %s", db->tiers.dir[id], strerror(-rc));
        }
    if (rc) {
        free(s.logs);
        return st_err(st_err_from_errno(rc), "list %s: %s", db->dir, strerror(-rc));
    }
    st_vset_mark_file_number_used(db->vs, s.max_number);
    if (!existed && s.n_tables) {
        /* Tables without a CURRENT: treating this as a new database would delete them. (A MANIFEST
         * alone is what a first open that died before installing CURRENT leaves: harmless.) */
        free(s.logs);
        return st_err(ST_ECORRUPT,
                      "%s (or a tier directory) holds tables but no CURRENT: refusing to open it as a new database",
                      db->dir);
    }
    if (s.n_logs) qsort(s.logs, s.n_logs, sizeof *s.logs, cmp_u64);

    st_version_edit e;
    st_edit_init(&e);
    replay_ctx c = {.max_seq = st_vset_last_seq(db->vs)};
    rc = st_memtable_new(st_db_arena_block(db), &c.mem);
    uint64_t min_log = st_vset_log_number(db->vs);
    wal_replay wr = {.torn = ""};
    for (size_t i = 0; !rc && i < s.n_logs; i++) {
        if (s.logs[i] < min_log) continue;
        if (!wr.stopped) {
            rc = replay_wal(db, s.logs[i], &wr, &c, &e);
            continue;
        }
        /* point-in-time: a later WAL is dropped whole (deleted with the old ones after the open) */
        char path[ST_PATH_MAX];
        uint64_t size = 0;
        st_file *f;
        if (st_file_open(st_fn_log(path, db->dir, s.logs[i]), ST_OPEN_READ, &f) == 0) {
            if (st_file_size(f, &size) < 0) size = 0;
            st_file_close(f);
        }
        wr.dropped += size;
        wr.dropped_wals++;
    }
    if (!rc && wr.stopped)
        fprintf(stderr,
                "strata: WAL recovery (point-in-time) stopped at: %s. Kept %" PRIu64 " records of that WAL; dropped %" PRIu64
                " bytes in all, including %u later WAL%s\n",
                wr.stop_why, wr.kept, wr.dropped, wr.dropped_wals, wr.dropped_wals == 1 ? "" : "s");
    db->recovery_dropped = wr.dropped;
    if (!rc && db->opts.read_only) {
        /* the replayed writes stay in memory: no table, no WAL, no MANIFEST is written */
        db->mem = c.mem;
        c.mem = NULL;
        db->last_seq = c.max_seq;
        atomic_store(&db->visible_seq, c.max_seq);
        atomic_store(&db->synced_floor, c.max_seq);
        st_edit_destroy(&e);
        free(s.logs);
        return 0;
    }
    if (!rc) rc = spill(db, &c, &e);
    if (!rc) {
        uint64_t number = st_vset_new_file_number(db->vs);
        char path[ST_PATH_MAX];
        st_walref *ref = calloc(1, sizeof *ref);
        rc = ref ? st_wal_open(st_fn_log(path, db->dir, number), number, &ref->wal) : ST_ENOMEM;
        if (rc) {
            free(ref);
        } else {
            st_db_wal_configure(db, ref->wal);
            atomic_init(&ref->refs, 1);
            db->wal = ref;
            db->mem = c.mem;
            c.mem = NULL;
            db->mem_wal = number;
            e.has_log_number = true;
            e.log_number = number;
            e.has_last_seq = true;
            e.last_seq = c.max_seq;
            rc = st_vset_write_new_manifest(db->vs, &e);
        }
    }
    if (!rc) {
        db->last_seq = c.max_seq;
        atomic_store(&db->visible_seq, c.max_seq);
        atomic_store(&db->synced_floor, c.max_seq);
    }
    st_memtable_unref(c.mem);
    st_edit_destroy(&e);
    free(s.logs);
    return rc;
}

typedef struct obsolete_ctx {
    st_db *db;
    st_version *v;
    uint64_t log_number, manifest;
    int id; /* the tier directory being listed (0: the database directory) */
} obsolete_ctx;

/* T1 (tiers.h): a table is live only in the directory of the tier its record names. */
static bool table_live_here(const obsolete_ctx *o, uint64_t n) {
    const st_file_meta *f = st_version_find_file(o->v, n);
    return f && f->tier < o->db->tiers.n && st_tiers_same_dir(&o->db->tiers, f->tier, o->id);
}

static int maybe_delete(const char *name, void *arg) {
    obsolete_ctx *o = arg;
    uint64_t n = 0;
    bool del = false;
    enum st_file_type type = st_fn_parse(name, &n);
    if (o->id > 0) {
        /* A tier directory may be shared with other software: only our own names go, i.e.
         * tables and the temp files tables are written to (NNNNNN.sst.tmp). */
        char base[ST_PATH_MAX];
        size_t len = strlen(name);
        if (type == ST_FT_TEMP && len - 4 < sizeof base) {
            memcpy(base, name, len - 4);
            base[len - 4] = 0;
            del = st_fn_parse(base, &n) == ST_FT_TABLE;
        } else if (type == ST_FT_TABLE) {
            del = !table_live_here(o, n);
        }
    } else {
        switch (type) {
        case ST_FT_LOG: del = n < o->log_number; break;
        case ST_FT_TABLE: del = !table_live_here(o, n); break;
        case ST_FT_MANIFEST: del = n != o->manifest; break;
        case ST_FT_TEMP: del = true; break;
        default: break;
        }
    }
    if (del) {
        char path[ST_PATH_MAX];
        st_io_unlink(st_fn_join(path, o->db->tiers.dir[o->id], name));
    }
    return 0;
}

void st_db_delete_obsolete(st_db *db) {
    obsolete_ctx o = {db, st_vset_current(db->vs), st_vset_log_number(db->vs), st_vset_manifest_number(db->vs), 0};
    for (o.id = 0; o.id < db->tiers.n; o.id++) {
        bool seen = false; /* list each directory once, as the lowest id naming it */
        for (int j = 0; j < o.id; j++) seen |= st_tiers_same_dir(&db->tiers, j, o.id);
        if (!seen) st_io_list_dir(db->tiers.dir[o.id], maybe_delete, &o);
    }
    st_version_unref(o.v);
}
