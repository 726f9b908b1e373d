/* migration.c -- moves whole tables between tier directories; see migration.h.
 *
 * Why a table moves (pick_locked, under mu, on the current version; one move at a time):
 *   1. Misplaced: it sits in a tier hotter than its level's (tier ids grow colder; a table of the
 *      database directory, id 0, written before tiers were configured, counts as misplaced unless
 *      that is the same directory). It goes to its level's tier, deepest level first. L0 tables
 *      never move: a compaction rewrites them into the right tier soon. A table whose codec is
 *      not its level's (an lz4 table of a database that had no tiers, bound for a zstd tier) is
 *      not copied but rewritten in place by a one-table compaction, which writes it into its
 *      level's tier in that tier's codec and block size.
 *   2. Pressure: its tier has a capacity and its tables pass high_watermark x capacity. The tier
 *      then drains into the next colder one, coldest table first, until its tables are under
 *      low_watermark x capacity (the hysteresis keeps it from moving one table per flush).
 *      Coldest = fewest block reads per byte, a count halved every 10 minutes, then the oldest.
 *   A table colder than its level's tier (drained, or tiers reconfigured) stays where it is until a
 *   compaction rewrites it into its level's tier: moving it back up would undo the draining.
 *
 * How (move_table, without mu; the table is marked being_compacted so no compaction takes it):
 *   read the source with O_DIRECT in 1 MiB chunks, several at once (st_io_read_batch), hashing them
 *   -> append to NNNNNN.sst.tmp in the destination through an st_seqwriter (O_DIRECT per tier)
 *   -> the source's hash must equal the MANIFEST's whole-file checksum (else ST_ECORRUPT: the table
 *      is damaged and is not copied anywhere)
 *   -> finish (exact size, fdatasync) -> read the copy back with O_DIRECT (the disk's bytes, not
 *      the page cache's) and hash it: it must match too
 *   -> rename to NNNNNN.sst, fsync the directory -> one MANIFEST edit {delete (L, n), add (L, n) in
 *      the new tier} -> new superversion; the source is marked obsolete and unlinked once no
 *      version, iterator or compaction reads it (F1 in version_edit.h).
 * M1 (with T1 in tiers.h): a crash at any step leaves the table live in exactly one directory.
 *   Until the edit is durable the MANIFEST names the source, and open deletes the destination's
 *   .tmp or copy; after it, it names the destination, and open deletes the source.
 * Copies into a tier are paced to its migrate_bytes_per_sec. A failed move (an IO error, a
 * checksum mismatch) is logged and counted, leaves the table where it was, and is not retried for
 * a minute; it never stops writes as a failed compaction does, since the source is still good. A
 * failed MANIFEST write stops writes as it does for a compaction (D8). Lack of space (ENOSPC,
 * EDQUOT, in the copy, a rewrite or the MANIFEST) is a soft error (db_status.h): nothing moves
 * until its backoff passed, and the next move that works, or a pick that finds nothing due,
 * clears it. */
#include "migration.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compaction.h"
#include "compaction_picker.h"
#include "db_status.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/hash.h"
#include "version/filename.h"

#define CHUNK_BYTES (1u << 20)
#define CHUNKS_IN_FLIGHT 4
#define RETRY_AFTER_S 60
#define HEAT_HALF_LIFE_S 600.0
#define TICK_MS 1000

static void (*test_hook)(int, void *);
static void *test_hook_arg;

void st_db_test_set_migrate_hook(void (*fn)(int step, void *arg), void *arg) {
    test_hook_arg = arg;
    test_hook = fn;
}

static void step_done(int step) {
    if (test_hook) test_hook(step, test_hook_arg);
}

void st_db_migration_kick(st_db *db) {
    if (db->tiers.n <= 1) return;
    db->migrate_idle = false;
    pthread_cond_broadcast(&db->migrate_cv);
}

/* ---- picking -------------------------------------------------------------------------------- */

typedef struct mig_pick {
    st_file_meta *f; /* in the current version, marked being_compacted; a reference */
    int dest;        /* tier id */
    bool pressure;   /* why: a full tier (else misplaced) */
    st_pick *rewrite; /* misplaced with another codec than its level's: this one-table compaction
                       * rewrites it in place (marked, counted in compactions_running) instead */
} mig_pick;

static uint64_t now_s(void) { return (uint64_t)time(NULL); }

/* REQUIRES mu. Folds the reads since the last tick into each table's decayed heat. */
static void update_heat_locked(st_db *db, double elapsed_s) {
    double decay = exp2(-elapsed_s / HEAT_HALF_LIFE_S);
    st_version *v = st_vset_current(db->vs);
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            st_file_meta *f = v->files[l][j];
            st_sst_counters c;
            st_sst_reader_counters(f->reader, &c);
            uint64_t delta = c.block_reads >= f->reads_seen ? c.block_reads - f->reads_seen : 0;
            f->reads_seen = c.block_reads;
            f->heat = f->heat * decay + (double)delta;
        }
    st_version_unref(v);
}

static bool movable(const st_file_meta *f, uint64_t now) { return !f->being_compacted && f->migrate_retry_at <= now; }

/* A is colder than b: fewer reads per byte, then older. */
static bool colder(const st_file_meta *a, const st_file_meta *b) {
    double ha = a->heat / (double)(a->size + 1), hb = b->heat / (double)(b->size + 1);
    if (ha != hb) return ha < hb;
    return a->ctime < b->ctime;
}

/* REQUIRES mu. false when nothing is due. */
static bool pick_locked(st_db *db, mig_pick *out) {
    if (db->bg_error || db->manual_active || db->shutting_down) return false;
    const st_tiers *t = &db->tiers;
    st_version *v = st_vset_current(db->vs);
    uint64_t now = now_s();
    uint64_t used[ST_TIER_IDS] = {0};
    st_file_meta *best = NULL;
    int dest = 0;
    bool pressure = false;
    for (int l = ST_MAX_LEVELS - 1; l >= 0; l--)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            st_file_meta *f = v->files[l][j];
            if (f->tier >= 0 && f->tier < t->n) used[f->tier] += f->size;
            int lt = t->level_tier[l];
            /* Not L0: a compaction rewrites it into the base level soon, and while one L0 table is
             * marked no L0 compaction may start. */
            bool misplaced = l > 0 && lt > 0 && f->tier < lt && !st_tiers_same_dir(t, f->tier, lt);
            if (!best && misplaced && movable(f, now)) {
                best = f;
                dest = lt;
            }
        }
    for (int i = 1; !best && i < t->n - 1; i++) { /* the coldest tier has nowhere to drain to */
        const st_tier_options *to = &db->opts.tiers[i - 1];
        if (!to->capacity_bytes) continue;
        if ((double)used[i] > to->high_watermark * (double)to->capacity_bytes) db->tier_draining[i] = true;
        else if ((double)used[i] < to->low_watermark * (double)to->capacity_bytes) db->tier_draining[i] = false;
        if (!db->tier_draining[i]) continue;
        for (int l = 1; l < ST_MAX_LEVELS; l++)
            for (size_t j = 0; j < v->n_files[l]; j++) {
                st_file_meta *f = v->files[l][j];
                if (f->tier == i && movable(f, now) && (!best || colder(f, best))) best = f;
            }
        dest = i + 1;
        pressure = true;
    }
    st_pick *rw = NULL;
    if (best && !pressure && best->codec != (int)st_picker_level_codec(&db->opts, best->level)) {
        /* A copy would bring the wrong codec (and block size) into the tier: rewrite the table
         * in its level instead; the compaction writes it into the level's tier. Its user keys are
         * its own in the level (V3), so the pick is this table alone. */
        st_slice lo = st_file_meta_ukey_smallest(best), hi = st_file_meta_ukey_largest(best);
        if (st_picker_pick_range(&db->opts, v, best->level, best->level, &lo, &hi, NULL, false, &rw) || !rw) {
            best->migrate_retry_at = now + RETRY_AFTER_S;
            best = NULL;
        }
    }
    if (best) {
        if (rw) st_pick_mark(rw, true);
        else best->being_compacted = true;
        st_file_meta_ref(best);
        *out = (mig_pick){best, dest, pressure, rw};
    }
    st_version_unref(v);
    return best != NULL;
}

/* ---- copying -------------------------------------------------------------------------------- */

typedef struct copy_state {
    st_db *db;
    void *buf[CHUNKS_IN_FLIGHT];
    uint64_t rate;     /* bytes/s, 0 = unpaced */
    uint64_t start_us;
    uint64_t paced;    /* bytes counted against the rate */
} copy_state;

/* Sleeps until `paced` bytes are due at the rate; false if the database is closing. */
static bool pace(copy_state *c, uint64_t bytes) {
    c->paced += bytes;
    while (!atomic_load_explicit(&c->db->closing, memory_order_relaxed)) {
        if (!c->rate) return true;
        uint64_t due_us = c->start_us + (uint64_t)((double)c->paced * 1e6 / (double)c->rate);
        uint64_t now = st_db_now_micros();
        if (now >= due_us) return true;
        uint64_t wait = due_us - now;
        usleep((useconds_t)(wait > 100000 ? 100000 : wait));
    }
    return false;
}

/* Reads `size` bytes of path (O_DIRECT where allowed) in batches of chunks, hashing them and
 * handing each chunk to w (NULL: only hash). *hash gets the XXH3-64 of the bytes. */
static int read_all(copy_state *c, const char *path, uint64_t size, st_seqwriter *w, uint64_t *hash) {
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ | ST_OPEN_DIRECT, &f);
    if (rc) return st_err(st_err_from_errno(rc), "migration: open %s: %s", path, strerror(-rc));
    st_hash_state *hs = XXH3_createState();
    if (!hs) {
        st_file_close(f);
        return st_err(ST_ENOMEM, "migration: out of memory");
    }
    st_hash_begin(hs);
    bool first = true;
    for (uint64_t off = 0; !rc && off < size;) {
        st_io_req reqs[CHUNKS_IN_FLIGHT];
        size_t n = 0;
        for (; n < CHUNKS_IN_FLIGHT && off < size; n++) {
            size_t len = size - off < CHUNK_BYTES ? (size_t)(size - off) : CHUNK_BYTES;
            reqs[n] = (st_io_req){.file = f, .off = off, .len = len, .buf = c->buf[n]};
            off += len;
        }
        if ((rc = st_io_read_batch(reqs, n))) {
            rc = st_err(st_err_from_errno(rc), "migration: read %s: %s", path, strerror(-rc));
            break;
        }
        for (size_t i = 0; !rc && i < n; i++) {
            if (reqs[i].nread != reqs[i].len) {
                rc = st_err(ST_ECORRUPT, "migration: %s is shorter than its %" PRIu64 " bytes", path, size);
                break;
            }
            st_hash_feed(hs, reqs[i].buf, reqs[i].len);
            if (!w) continue;
            if ((rc = st_seqwriter_append(w, reqs[i].buf, reqs[i].len))) {
                rc = st_err(st_err_from_errno(rc), "migration: write a copy of %s: %s", path, strerror(-rc));
                break;
            }
            if (first) step_done(ST_MIGRATE_COPYING);
            first = false;
            if (!pace(c, reqs[i].len)) rc = st_err(ST_EBUSY, "migration: the database is closing");
        }
    }
    *hash = st_hash_end(hs);
    XXH3_freeState(hs);
    st_file_close(f);
    return rc;
}

/* A new meta for f's table in tier `dest`, its reader open on the copy. */
static int moved_meta(st_db *db, const st_file_meta *f, int dest, const char *path, st_file_meta **out) {
    st_file_meta *m;
    ST_TRY(st_file_meta_copy(f, f->level, dest, &m));
    m->heat = f->heat; /* reads_seen stays 0: the new reader counts from 0 */
    st_file *rf = NULL;
    int rc = st_file_open(path, st_tiers_read_flags(&db->tiers, dest), &rf);
    if (rc) rc = st_err(st_err_from_errno(rc), "migration: open %s: %s", path, strerror(-rc));
    if (!rc) rc = st_sst_reader_open_in(rf, m->number, db->cache, db->files, &m->reader); /* owns rf */
    if (rc) {
        st_file_meta_unref(m);
        m = NULL;
    }
    *out = m;
    return rc;
}

/* The whole move of p->f (see the opening comment). *logged: the MANIFEST edit was attempted. */
static int move_table(st_db *db, const mig_pick *p, bool *logged) {
    const st_file_meta *f = p->f;
    char src[ST_PATH_MAX], dst[ST_PATH_MAX], tmp[ST_PATH_MAX + 8];
    st_tiers_table_path(&db->tiers, f->tier, f->number, src);
    st_tiers_table_path(&db->tiers, p->dest, f->number, dst);
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    copy_state c = {.db = db, .rate = db->opts.tiers[p->dest - 1].migrate_bytes_per_sec,
                    .start_us = st_db_now_micros()};
    st_seqwriter *w = NULL;
    st_file_meta *nm = NULL;
    int rc = 0;
    for (int i = 0; i < CHUNKS_IN_FLIGHT; i++)
        if (!(c.buf[i] = st_io_aligned_alloc(CHUNK_BYTES, 0))) rc = st_err(ST_ENOMEM, "migration: out of memory");
    st_seqwriter_options wo = {.direct = db->tiers.direct[p->dest], .prealloc_bytes = f->size,
                               .chunk_bytes = CHUNK_BYTES, .max_in_flight = CHUNKS_IN_FLIGHT};
    if (!rc && (rc = st_seqwriter_open(tmp, &wo, &w)))
        rc = st_err(st_err_from_errno(rc), "migration: create %s: %s", tmp, strerror(-rc));
    uint64_t h = 0;
    if (!rc) rc = read_all(&c, src, f->size, w, &h);
    if (!rc && h != f->checksum)
        rc = st_err(ST_ECORRUPT, "migration: %s fails its checksum (%016" PRIx64 ", the MANIFEST says %016" PRIx64
                                 "): damaged, not moved",
                    src, h, f->checksum);
    if (!rc && (rc = st_seqwriter_finish(w)))
        rc = st_err(st_err_from_errno(rc), "migration: writing out %s (its last bytes, then fdatasync): %s", tmp,
                    strerror(-rc));
    c.rate = 0; /* the read-back is not paced: it runs at the disk's speed, once */
    if (!rc) rc = read_all(&c, tmp, f->size, NULL, &h);
    if (!rc && h != f->checksum)
        rc = st_err(ST_ECORRUPT, "migration: the copy %s reads back with checksum %016" PRIx64 ", not %016" PRIx64, tmp,
                    h, f->checksum);
    if (!rc) step_done(ST_MIGRATE_COPIED);
    if (!rc && (rc = st_seqwriter_commit(w, dst)))
        rc = st_err(st_err_from_errno(rc), "migration: rename %s: %s", tmp, strerror(-rc));
    st_seqwriter_close(w); /* unlinks the .tmp unless committed */
    w = NULL;
    if (!rc) step_done(ST_MIGRATE_RENAMED);
    if (!rc) rc = moved_meta(db, f, p->dest, dst, &nm);
    if (!rc) {
        st_version_edit e;
        st_edit_init(&e);
        rc = st_edit_delete_file(&e, f->level, f->number);
        if (!rc) rc = st_edit_add_file(&e, nm);
        if (!rc) rc = st_vset_log_and_apply_ex(db->vs, &e, logged);
        st_edit_destroy(&e);
    }
    if (!rc) {
        step_done(ST_MIGRATE_LOGGED);
        st_db_limbo_sweep(db);
    }
    if (rc && !*logged) {
        if (nm) { /* the copy is ours alone: its reader goes first, then the file */
            st_file_meta_unref(nm);
            nm = NULL;
        }
        st_io_unlink(dst);
    } else if (rc) {
        st_db_limbo_add(db, dst); /* the failed record may name the copy */
    }
    st_file_meta_unref(nm);
    for (int i = 0; i < CHUNKS_IN_FLIGHT; i++) free(c.buf[i]);
    return rc;
}

/* ---- the thread ------------------------------------------------------------------------------ */

/* REQUIRES mu (dropped and retaken). One move of the pick and its bookkeeping. */
static void run_locked(st_db *db, mig_pick *p) {
    db->compactions_running++;
    pthread_mutex_unlock(&db->mu);
    bool logged = false;
    uint64_t size = p->f->size;
    int from = p->f->tier;
    int rc;
    bool poison; /* as a failed compaction does, or a failed MANIFEST write (M2) */
    if (p->rewrite) {
        rc = st_db_run_compaction(db, p->rewrite);
        poison = rc && rc != ST_EBUSY;
    } else {
        rc = move_table(db, p, &logged);
        poison = rc && logged;
    }
    bool soft = st_db_is_soft(rc); /* retried after the backoff, whatever step ran out of space */
    char src[ST_PATH_MAX];
    st_tiers_table_path(&db->tiers, from, p->f->number, src);
    if (!rc) {
        atomic_fetch_add(&db->stat.migrations, 1);
        atomic_fetch_add(&db->stat.migration_bytes, size);
        atomic_fetch_add(&db->stat.tier_migrations_in[p->dest], 1);
        if (!p->rewrite) atomic_fetch_add(&db->stat.tier_written[p->dest], size); /* a rewrite counts in table_out */
        if (!p->rewrite) st_file_meta_mark_obsolete(p->f, src); /* F1: unlinked when its last reader goes */
    } else if (rc != ST_EBUSY) {
        atomic_fetch_add(&db->stat.migration_failures, 1);
        if (!soft && !poison) /* those are logged with their bookkeeping below */
            fprintf(stderr, "strata: migrating table %" PRIu64 " (L%d) from tier %s to %s failed: %s (%s)\n",
                    p->f->number, p->f->level, db->tiers.name[from], db->tiers.name[p->dest], st_strerror(rc),
                    st_errmsg());
    }
    char what[96];
    snprintf(what, sizeof what, "migration of table %06" PRIu64 " (L%d) from tier %s to %s", p->f->number, p->f->level,
             db->tiers.name[from], db->tiers.name[p->dest]);
    pthread_mutex_lock(&db->mu);
    if (p->rewrite) st_pick_mark(p->rewrite, false);
    p->f->being_compacted = false;
    if (rc && !soft) p->f->migrate_retry_at = now_s() + RETRY_AFTER_S;
    db->compactions_running--;
    if (soft || poison) st_db_job_failed(db, ST_JOB_MIGRATION, rc, what);
    else if (!rc) st_db_job_done(db, ST_JOB_MIGRATION);
    if (!rc) st_db_sv_install(db);
    st_db_compaction_state_update(db); /* wakes waiters; kicks us again */
    pthread_mutex_unlock(&db->mu);
    st_pick_free(p->rewrite); /* these may unlink the source (F1): not under mu */
    st_file_meta_unref(p->f);
    pthread_mutex_lock(&db->mu);
}

void *st_db_migrate_main(void *arg) {
    st_db *db = arg;
    uint64_t last_tick = st_db_now_micros();
    pthread_mutex_lock(&db->mu);
    while (!db->shutting_down) {
        uint64_t now = st_db_now_micros();
        if (now - last_tick >= (uint64_t)TICK_MS * 1000) {
            update_heat_locked(db, (double)(now - last_tick) / 1e6);
            last_tick = now;
        }
        mig_pick p;
        uint64_t wake = st_db_now_micros() + (uint64_t)TICK_MS * 1000, retry_at;
        bool backoff = st_db_job_backoff(db, ST_JOB_MIGRATION, &retry_at);
        if (!backoff && pick_locked(db, &p)) {
            run_locked(db, &p);
            continue;
        }
        /* Idle also while a soft error's backoff runs: nothing can move until it passed. */
        if (backoff) {
            if (retry_at < wake) wake = retry_at;
        } else if (!db->bg_error && !db->manual_active) {
            st_db_job_done(db, ST_JOB_MIGRATION); /* nothing due any more: nothing failing */
        }
        db->migrate_idle = true;
        pthread_cond_broadcast(&db->done_cv);
        st_db_cond_wait_until(&db->migrate_cv, &db->mu, wake);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}
