/* db.c -- the st_db_* facade: open/close, the write path with group commit, reads, snapshots.
 *
 * Life of a write (docs/ARCHITECTURE.md): st_db_write takes write_mu, makes room (maybe switching
 * memtables), stamps the batch with the next sequence numbers, appends it to the WAL buffer,
 * reserves its bytes in the memtable, queues itself as in flight, and drops write_mu. Then, with
 * other writers at once, it inserts into the memtable (the skiplist search, the costly part of a
 * write, no longer runs one writer at a time), marks itself done and advances visible_seq over the
 * finished prefix of the queue; it returns only once its own writes are visible, so a client reads
 * what it wrote. Last (unless deferred) it commits: st_wal_commit turns "up to lsn" into one shared
 * write + fdatasync (ALWAYS) or one shared write (EVERYSEC/NO). Reads pin a superversion (memtable,
 * immutables, version) and a sequence number, and look newest to oldest. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "compaction.h"
#include "db_impl.h"
#include "db_status.h"
#include "db_iter.h"
#include "merge_iter.h"
#include "migration.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/ikey.h"
#include "version/filename.h"
#include "write_batch.h"

void st_options_default(st_options *o) {
    memset(o, 0, sizeof *o);
    o->magic = ST_OPTIONS_MAGIC;
    o->create_if_missing = true;
    o->error_if_exists = false;
    o->read_only = false;
    o->sync_mode = ST_SYNC_EVERYSEC;
    o->write_buffer_bytes = 64u << 20;
    o->max_immutable = 2;
    o->block_bytes = 4096;
    o->restart_interval = 16;
    o->bloom_bits_per_key = 10;
    o->codec = ST_CODEC_LZ4;
    o->zstd_level = 3;
    o->max_batch_bytes = 64u << 20;
    o->block_cache_bytes = 64u << 20;
    o->max_open_files = 1000;
    o->max_background_compactions = 1;
    o->level0_file_num_compaction_trigger = 4;
    o->level0_slowdown_writes_trigger = 20;
    o->level0_stop_writes_trigger = 36;
    o->max_bytes_for_level_base = 256ull << 20;
    o->max_bytes_for_level_multiplier = 10;
    o->level_compaction_dynamic_level_bytes = true;
    o->target_file_size_base = 64ull << 20;
    o->max_compaction_bytes = 0;
    o->soft_pending_compaction_bytes_limit = 64ull << 30;
    o->hard_pending_compaction_bytes_limit = 256ull << 30;
    o->delayed_write_rate = 16u << 20;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        /* RocksDB's usual advice: a fast codec where data is rewritten soon, a strong one at the
         * bottom where ~90% of it rests */
        o->levels[l].codec = l < ST_MAX_LEVELS - 2 ? ST_CODEC_INHERIT : ST_CODEC_ZSTD;
        o->levels[l].zstd_level = 3;
        o->levels[l].block_bytes = 0;
    }
    o->n_tiers = 0;
    for (int i = 0; i < ST_MAX_TIERS; i++)
        o->tiers[i] = (st_tier_options){.high_watermark = 0.85, .low_watermark = 0.70,
                                        .migrate_bytes_per_sec = 64u << 20};
    o->compaction_filter = NULL;
    o->compaction_filter_arg = NULL;
    o->wal_recovery = ST_WAL_RECOVERY_STRICT;
    o->retry_min_ms = 100;
    o->retry_max_ms = 5000;
}

static bool codec_ok(int c) { return c == ST_CODEC_NONE || c == ST_CODEC_LZ4 || c == ST_CODEC_ZSTD; }

static int check_options(const st_options *o) {
    if (!o || o->magic != ST_OPTIONS_MAGIC) return st_err(ST_EINVAL, "options not initialised with st_options_default()");
    if (o->sync_mode != ST_SYNC_ALWAYS && o->sync_mode != ST_SYNC_EVERYSEC && o->sync_mode != ST_SYNC_NO)
        return st_err(ST_EINVAL, "sync_mode %d is not ALWAYS, EVERYSEC or NO", (int)o->sync_mode);
    if (o->write_buffer_bytes < (16u << 10)) return st_err(ST_EINVAL, "write_buffer_bytes %zu < 16 KiB", o->write_buffer_bytes);
    if (o->max_immutable < 1 || o->max_immutable > 64)
        return st_err(ST_EINVAL, "max_immutable %d not in 1..64", o->max_immutable);
    if (o->block_bytes < 256 || o->block_bytes > (16u << 20))
        return st_err(ST_EINVAL, "block_bytes %zu not in 256..16MiB", o->block_bytes);
    if (o->restart_interval < 1 || o->restart_interval > 1024)
        return st_err(ST_EINVAL, "restart_interval %d not in 1..1024", o->restart_interval);
    if (o->bloom_bits_per_key < 0 || o->bloom_bits_per_key > 64)
        return st_err(ST_EINVAL, "bloom_bits_per_key %d not in 0..64", o->bloom_bits_per_key);
    if (!codec_ok(o->codec)) return st_err(ST_EINVAL, "codec %d unknown", (int)o->codec);
    if (o->zstd_level < -7 || o->zstd_level > 22) return st_err(ST_EINVAL, "zstd_level %d not in -7..22", o->zstd_level);
    if (o->max_open_files < 1 || o->max_open_files > (1 << 24))
        return st_err(ST_EINVAL, "max_open_files %d not in 1..16777216", o->max_open_files);
    if (o->delayed_write_rate < (16u << 10))
        return st_err(ST_EINVAL, "delayed_write_rate %llu < 16 KiB/s", (unsigned long long)o->delayed_write_rate);
    if (o->memory_limit_bytes && o->memory_limit_bytes < (4u << 20))
        return st_err(ST_EINVAL, "memory_limit_bytes %llu < 4 MiB", (unsigned long long)o->memory_limit_bytes);
    /* tables refuse entries of 2 GiB or more: a batch that could hold one would fail its flush */
    if (o->max_batch_bytes < 1024 || o->max_batch_bytes > (1u << 30))
        return st_err(ST_EINVAL, "max_batch_bytes %zu not in 1KiB..1GiB", o->max_batch_bytes);
    if (o->max_background_compactions < 1 || o->max_background_compactions > ST_MAX_BG_COMPACTIONS)
        return st_err(ST_EINVAL, "max_background_compactions %d not in 1..%d", o->max_background_compactions,
                      ST_MAX_BG_COMPACTIONS);
    /* trigger <= slowdown <= stop, or writers would wait for a compaction that is never due */
    if (o->level0_file_num_compaction_trigger < 1 || o->level0_slowdown_writes_trigger < o->level0_file_num_compaction_trigger ||
        o->level0_stop_writes_trigger < o->level0_slowdown_writes_trigger || o->level0_stop_writes_trigger > 10000)
        return st_err(ST_EINVAL, "L0 triggers must satisfy 1 <= compaction (%d) <= slowdown (%d) <= stop (%d) <= 10000",
                      o->level0_file_num_compaction_trigger, o->level0_slowdown_writes_trigger,
                      o->level0_stop_writes_trigger);
    if (o->max_bytes_for_level_base < 1024) return st_err(ST_EINVAL, "max_bytes_for_level_base under 1 KiB");
    if (!(o->max_bytes_for_level_multiplier > 1 && o->max_bytes_for_level_multiplier <= 1000))
        return st_err(ST_EINVAL, "max_bytes_for_level_multiplier must be in (1, 1000]");
    if (o->target_file_size_base < 1024) return st_err(ST_EINVAL, "target_file_size_base under 1 KiB");
    if (o->soft_pending_compaction_bytes_limit && o->hard_pending_compaction_bytes_limit &&
        o->soft_pending_compaction_bytes_limit > o->hard_pending_compaction_bytes_limit)
        return st_err(ST_EINVAL, "soft_pending_compaction_bytes_limit above the hard limit");
    if (o->wal_recovery != ST_WAL_RECOVERY_STRICT && o->wal_recovery != ST_WAL_RECOVERY_POINT_IN_TIME)
        return st_err(ST_EINVAL, "wal_recovery %d is not STRICT or POINT_IN_TIME", (int)o->wal_recovery);
    if (o->retry_min_ms < 1 || o->retry_min_ms > o->retry_max_ms || o->retry_max_ms > 3600000)
        return st_err(ST_EINVAL, "retry_min_ms %u and retry_max_ms %u must satisfy 1 <= min <= max <= 3600000",
                      o->retry_min_ms, o->retry_max_ms);
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        const st_level_options *lo = &o->levels[l];
        if (lo->codec != ST_CODEC_INHERIT && !codec_ok(lo->codec))
            return st_err(ST_EINVAL, "levels[%d].codec %d unknown", l, lo->codec);
        if (lo->zstd_level < -7 || lo->zstd_level > 22)
            return st_err(ST_EINVAL, "levels[%d].zstd_level %d not in -7..22", l, lo->zstd_level);
        if (lo->block_bytes && (lo->block_bytes < 256 || lo->block_bytes > (16u << 20)))
            return st_err(ST_EINVAL, "levels[%d].block_bytes %zu not 0 or in 256..16MiB", l, lo->block_bytes);
    }
    return 0;
}

/* ---- superversions and WAL references -------------------------------------------------------- */

void st_db_sv_release(st_superversion *sv) {
    if (!sv || atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) != 1) return;
    st_memtable_unref(sv->mem);
    for (size_t i = 0; i < sv->n_imm; i++) st_memtable_unref(sv->imm[i]);
    free(sv->imm);
    st_version_unref(sv->version);
    free(sv);
}

int st_db_sv_install(st_db *db) {
    st_superversion *sv = calloc(1, sizeof *sv);
    st_memtable **imm = db->n_imm ? malloc(db->n_imm * sizeof *imm) : NULL;
    if (!sv || (db->n_imm && !imm)) {
        free(sv);
        free(imm);
        return ST_ENOMEM;
    }
    atomic_init(&sv->refs, 1);
    sv->mem = db->mem;
    st_memtable_ref(sv->mem);
    for (size_t i = 0; i < db->n_imm; i++) {
        imm[i] = db->imm[db->n_imm - 1 - i].mem;
        st_memtable_ref(imm[i]);
    }
    sv->imm = imm;
    sv->n_imm = db->n_imm;
    sv->version = st_vset_current(db->vs);
    st_superversion *old = db->sv;
    db->sv = sv;
    st_db_sv_release(old);
    return 0;
}

st_superversion *st_db_sv_acquire(st_db *db, uint64_t *visible) {
    pthread_mutex_lock(&db->mu);
    /* visible first, then the sv: every write <= visible is in this sv (D1) */
    *visible = atomic_load_explicit(&db->visible_seq, memory_order_acquire);
    st_superversion *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&db->mu);
    return sv;
}

st_walref *st_db_walref_get(st_db *db) {
    pthread_mutex_lock(&db->mu);
    st_walref *w = db->wal;
    atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&db->mu);
    return w;
}

void st_db_walref_put(st_db *db, st_walref *w) {
    if (!w || atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1) return;
    st_wal_stats ws;
    st_wal_get_stats(w->wal, &ws);
    atomic_fetch_add(&db->stat.wal_bytes_closed, ws.bytes);
    atomic_fetch_add(&db->stat.wal_syncs_closed, ws.syncs);
    st_wal_close(w->wal, false); /* every byte was synced before the switch (D2) */
    free(w);
}

/* ---- open / close ---------------------------------------------------------------------------- */

static void db_free(st_db *db) {
    st_db_sv_release(db->sv);
    st_memtable_unref(db->mem);
    for (size_t i = 0; i < db->n_imm; i++) st_memtable_unref(db->imm[i].mem);
    free(db->imm);
    if (db->wal) {
        st_wal_close(db->wal->wal, false);
        free(db->wal);
    }
    st_vset_close(db->vs);
    st_tiers_destroy(&db->tiers); /* after the vset, which borrows it */
    st_block_cache_free(db->cache); /* after every reader (R2 in sstable_reader.h) */
    st_table_cache_free(db->files); /* likewise (T1 in table_cache.h) */
    st_io_unlock(db->lock);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->write_mu);
    pthread_mutex_destroy(&db->delay_mu);
    pthread_mutex_destroy(&db->pub_mu);
    pthread_cond_destroy(&db->pub_cv);
    pthread_cond_destroy(&db->bg_cv);
    pthread_cond_destroy(&db->done_cv);
    pthread_cond_destroy(&db->sync_cv);
    pthread_cond_destroy(&db->compact_cv);
    pthread_cond_destroy(&db->migrate_cv);
    pthread_mutex_destroy(&db->manual_mu);
    pthread_mutex_destroy(&db->stop_mu);
    st_db_limbo_free(db);
    free(db->dir);
    free(db);
}

void st_db_wal_configure(st_db *db, st_wal *w) {
    if (db->opts.sync_mode == ST_SYNC_ALWAYS) st_wal_set_zero_ahead(w, ST_WAL_ZERO_AHEAD);
}

/* memory_limit_bytes (st_options.h): memtables get at most half, the block cache the rest. */
static void apply_memory_limit(st_options *o) {
    if (!o->memory_limit_bytes) return;
    uint64_t n = 1 + (uint64_t)o->max_immutable;
    uint64_t wb = o->memory_limit_bytes / 2 / n;
    if (wb < (64u << 10)) wb = 64u << 10;
    if (o->write_buffer_bytes > wb) {
        o->write_buffer_bytes = (size_t)wb;
        /* Smaller memtables make smaller L0 tables; keep the tree's shape (RocksDB's tuning
         * advice: the base level about as big as L0 at its compaction trigger). With random keys
         * every L0 table overlaps the whole base level, so a 256 MiB base under 10 MiB memtables
         * would rewrite it all for each few tables flushed. */
        uint64_t base = wb * (uint64_t)o->level0_file_num_compaction_trigger;
        if (o->max_bytes_for_level_base > base) o->max_bytes_for_level_base = base;
        if (o->target_file_size_base > wb) o->target_file_size_base = wb;
    }
    uint64_t mem = n * o->write_buffer_bytes;
    uint64_t cache = o->memory_limit_bytes > mem ? o->memory_limit_bytes - mem : 0;
    o->block_cache_bytes = cache > SIZE_MAX ? SIZE_MAX : (size_t)cache;
}

int st_db_open(const char *dir, const st_options *opts, st_db **out) {
    *out = NULL;
    ST_TRY(check_options(opts));
    if (!dir || !*dir || strlen(dir) > ST_PATH_MAX - 64) return st_err(ST_EINVAL, "bad database directory name");
    st_db *db = calloc(1, sizeof *db);
    if (!db) return ST_ENOMEM;
    db->opts = *opts;
    apply_memory_limit(&db->opts);
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_mutex_init(&db->delay_mu, NULL);
    pthread_mutex_init(&db->pub_mu, NULL);
    pthread_cond_init(&db->pub_cv, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    pthread_cond_init(&db->done_cv, NULL);
    pthread_cond_init(&db->sync_cv, NULL);
    pthread_cond_init(&db->compact_cv, NULL);
    pthread_cond_init(&db->migrate_cv, NULL);
    pthread_mutex_init(&db->manual_mu, NULL);
    pthread_mutex_init(&db->stop_mu, NULL);
    db->snapshots.next = db->snapshots.prev = &db->snapshots;
    int rc;
    char path[ST_PATH_MAX];
    if (!(db->dir = strdup(dir)) || !(db->imm = calloc((size_t)opts->max_immutable, sizeof *db->imm))) {
        rc = ST_ENOMEM;
        goto fail;
    }
    bool ro = opts->read_only;
    if ((ro || !opts->create_if_missing) && !st_io_exists(dir)) {
        rc = st_err(ST_EINVAL, "%s does not exist%s", dir, ro ? "" : " and create_if_missing is off");
        goto fail;
    }
    if (!ro && opts->create_if_missing && (rc = st_io_mkdir(dir))) {
        rc = st_err(st_err_from_errno(rc), "mkdir %s: %s", dir, strerror(-rc));
        goto fail;
    }
    /* Read-only: the LOCK is taken when it exists and can be, so a running server is refused (its
     * compactions delete files under a reader); a copy without one, or on read-only media, is
     * read without it. */
    st_fn_lock(path, dir);
    if (!ro || st_io_exists(path)) {
        rc = st_io_lock(path, &db->lock);
        if (rc == -EWOULDBLOCK) {
            rc = st_err(ST_EBUSY, "%s is open in another process (LOCK held)%s", dir,
                        ro ? ": stop the server, or inspect a copy of the directories" : "");
            goto fail;
        }
        if (rc && !(ro && (rc == -EACCES || rc == -EROFS || rc == -EPERM))) {
            rc = st_err(st_err_from_errno(rc), "lock %s: %s", path, strerror(-rc));
            goto fail;
        }
        rc = 0;
    }
    if ((rc = st_tiers_init(&db->tiers, dir, &db->opts))) goto fail;
    if (db->opts.block_cache_bytes && (rc = st_block_cache_new(db->opts.block_cache_bytes, -1, 0.5, &db->cache))) goto fail;
    if ((rc = st_table_cache_new((size_t)db->opts.max_open_files, &db->files))) goto fail;
    if ((rc = st_db_recover(db))) goto fail;
    pthread_mutex_lock(&db->mu);
    rc = st_db_sv_install(db);
    st_db_compaction_state_update(db);
    pthread_mutex_unlock(&db->mu);
    if (rc) goto fail;
    if (ro) {
        /* every write path checks the stop code first (D4): a read-only handle is a stopped one
         * whose message says why, and which has no background work to wait for */
        snprintf(db->bg_msg, sizeof db->bg_msg, "the database %s is open read-only", dir);
        atomic_store(&db->bg_stopped, true);
        atomic_store_explicit(&db->stop_code, ST_EINVAL, memory_order_release);
        *out = db;
        return 0;
    }
    st_db_delete_obsolete(db);
    if (pthread_create(&db->flush_thread, NULL, st_db_flush_main, db)) {
        rc = st_err(ST_ENOMEM, "cannot start the flush thread");
        goto fail;
    }
    db->flush_started = true;
    if (opts->sync_mode == ST_SYNC_EVERYSEC) {
        if (pthread_create(&db->sync_thread, NULL, st_db_sync_main, db)) {
            rc = st_err(ST_ENOMEM, "cannot start the everysec sync thread");
            goto fail;
        }
        db->sync_started = true;
    }
    if (db->tiers.n > 1) {
        if (pthread_create(&db->migrate_thread, NULL, st_db_migrate_main, db)) {
            rc = st_err(ST_ENOMEM, "cannot start the migration thread");
            goto fail;
        }
        db->migrate_started = true;
    }
    for (int i = 0; i < opts->max_background_compactions; i++) {
        if (pthread_create(&db->compact_threads[i], NULL, st_db_compact_main, db)) {
            rc = st_err(ST_ENOMEM, "cannot start compaction thread %d", i);
            goto fail;
        }
        db->n_compact_threads++;
    }
    *out = db;
    return 0;
fail:
    st_db_close(db);
    return rc;
}

int st_db_close(st_db *db) {
    if (!db) return 0;
    atomic_store(&db->closing, true);
    pthread_mutex_lock(&db->mu);
    db->shutting_down = true;
    pthread_cond_broadcast(&db->compact_cv);
    pthread_cond_broadcast(&db->bg_cv);
    pthread_cond_broadcast(&db->done_cv);
    pthread_cond_broadcast(&db->sync_cv);
    pthread_cond_broadcast(&db->migrate_cv);
    pthread_mutex_unlock(&db->mu);
    if (db->migrate_started) pthread_join(db->migrate_thread, NULL);
    if (db->flush_started) pthread_join(db->flush_thread, NULL);
    if (db->sync_started) pthread_join(db->sync_thread, NULL);
    for (int i = 0; i < db->n_compact_threads; i++) pthread_join(db->compact_threads[i], NULL);
    int rc = 0;
    if (atomic_load(&db->fatal)) {
        rc = st_err(ST_EFATAL, "%s", db->wal_msg);
    } else if (db->wal) {
        /* whatever the mode, a clean close leaves every committed write on disk */
        rc = st_wal_commit(db->wal->wal, UINT64_MAX, true);
    }
    db_free(db);
    return rc;
}

/* ---- writes ---------------------------------------------------------------------------------- */

/* ---- the in-flight queue (D1, D5) ---------------------------------------------------------------- */

void st_db_drain_inserts(st_db *db) {
    pthread_mutex_lock(&db->pub_mu);
    while (db->pub_head) {
        db->pub_waiters++;
        pthread_cond_wait(&db->pub_cv, &db->pub_mu);
        db->pub_waiters--;
    }
    pthread_mutex_unlock(&db->pub_mu);
}

/* REQUIRES write_mu (the queue stays in sequence order). */
static void enqueue(st_db *db, st_pending_write *w) {
    pthread_mutex_lock(&db->pub_mu);
    if (db->pub_tail)
        db->pub_tail->next = w;
    else
        db->pub_head = w;
    db->pub_tail = w;
    pthread_mutex_unlock(&db->pub_mu);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Marks w's inserts done, advances visible_seq over the done prefix of the queue, and returns once
 * w's own writes are visible (an earlier writer may still be inserting: wait for it briefly
 * spinning, since its insert takes microseconds, then on the condition variable). */
static void publish(st_db *db, st_pending_write *w) {
    pthread_mutex_lock(&db->pub_mu);
    w->done = true;
    if (db->pub_head == w) {
        uint64_t vis = 0;
        st_pending_write *x = w;
        for (; x && x->done; x = x->next) vis = x->lsn;
        db->pub_head = x;
        if (!x) db->pub_tail = NULL;
        /* after the last read of a popped record: its owner may return as soon as it sees this */
        atomic_store_explicit(&db->visible_seq, vis, memory_order_release);
        if (db->pub_waiters) pthread_cond_broadcast(&db->pub_cv);
    }
    pthread_mutex_unlock(&db->pub_mu);
    uint64_t lsn = w->lsn; /* w may be popped (and is never touched by others) once visible */
    for (int i = 0; i < 512; i++) {
        if (atomic_load_explicit(&db->visible_seq, memory_order_acquire) >= lsn) return;
        cpu_relax();
    }
    pthread_mutex_lock(&db->pub_mu);
    while (atomic_load_explicit(&db->visible_seq, memory_order_acquire) < lsn) {
        db->pub_waiters++;
        pthread_cond_wait(&db->pub_cv, &db->pub_mu);
        db->pub_waiters--;
    }
    pthread_mutex_unlock(&db->pub_mu);
}

/* ---- writes ---------------------------------------------------------------------------------- */

static int size_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    (void)kind;
    size_t n;
    ST_TRY(st_memtable_add_bytes(seq, key.len, value.len, &n));
    *(size_t *)arg += n;
    return 0;
}

typedef struct insert_ctx {
    st_memtable *mem;
    st_memtable_space space;
} insert_ctx;

static int insert_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    insert_ctx *c = arg;
    return st_memtable_add_in(c->mem, &c->space, seq, kind, key, value);
}

int st_db_write(st_db *db, st_batch *b, unsigned flags, uint64_t *lsn_out) {
    uint32_t count = st_batch_count(b);
    if (count == 0) {
        if (lsn_out) *lsn_out = atomic_load(&db->visible_seq);
        return 0;
    }
    if (st_batch_bytes(b) > db->opts.max_batch_bytes)
        return st_err(ST_EINVAL, "write batch of %zu bytes exceeds max_batch_bytes %zu", st_batch_bytes(b),
                      db->opts.max_batch_bytes);
    ST_TRY(st_db_check_stopped(db)); /* D4, D8 */
    if (!(flags & ST_WRITE_NO_DELAY)) {
        uint64_t us = 0;
        if (st_db_write_delay(db, st_batch_bytes(b), &us) == 0 && us) { /* ST_EBUSY: waits below */
            struct timespec d = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
            nanosleep(&d, NULL); /* holding no lock: other writers take their own turns */
        }
    }
    pthread_mutex_lock(&db->write_mu);
    int rc = st_db_check_stopped(db); /* again: a stop may have come while this write slept */
    if (rc) {
        pthread_mutex_unlock(&db->write_mu);
        return rc;
    }
    if (st_memtable_bytes(db->mem) >= db->opts.write_buffer_bytes) st_db_drain_inserts(db); /* D5 */
    if ((rc = st_db_write_stall(db)) || (rc = st_db_make_room(db))) {
        pthread_mutex_unlock(&db->write_mu);
        return rc;
    }
    uint64_t seq = db->last_seq + 1, lsn = db->last_seq + count;
    if (lsn > ST_SEQ_MAX) {
        pthread_mutex_unlock(&db->write_mu);
        return st_err(ST_EINVAL, "sequence numbers exhausted");
    }
    st_batch_set_seq(b, seq);
    size_t need = 0;
    insert_ctx ic = {db->mem, {NULL, 0}};
    if ((rc = st_batch_iterate(st_buf_slice(&b->rep), size_op, &need)) ||
        (rc = st_memtable_reserve(ic.mem, need, &ic.space))) {
        /* nothing written anywhere yet: the batch is refused, the db stays usable */
        pthread_mutex_unlock(&db->write_mu);
        return rc;
    }
    if ((rc = st_wal_append(db->wal->wal, st_buf_slice(&b->rep), lsn))) {
        st_db_poison(db, st_errmsg());
        pthread_mutex_unlock(&db->write_mu);
        return rc;
    }
    st_pending_write w = {lsn, false, NULL};
    enqueue(db, &w);
    db->last_seq = lsn;
    pthread_mutex_unlock(&db->write_mu);

    if ((rc = st_batch_iterate(st_buf_slice(&b->rep), insert_op, &ic))) {
        /* in the WAL but half in the memtable: only a reopen restores a consistent view. It is
         * still published, or the writers queued behind it would wait for ever. */
        char cause[384];
        snprintf(cause, sizeof cause, "a write batch is in the WAL but only partly in the memtable (%s)", st_errmsg());
        st_db_poison(db, cause);
    }
    publish(db, &w);
    if (rc) return rc;
    atomic_fetch_add_explicit(&db->stat.batches, 1, memory_order_relaxed);
    if (lsn_out) *lsn_out = lsn;
    return (flags & ST_WRITE_DEFER_COMMIT) ? 0 : st_db_commit(db, lsn);
}

int st_db_commit(st_db *db, uint64_t lsn) {
    if (atomic_load(&db->fatal)) return st_err(ST_EFATAL, "%s", db->wal_msg);
    if (db->opts.read_only) return lsn <= atomic_load(&db->synced_floor) ? 0 : st_db_check_stopped(db);
    atomic_fetch_add_explicit(&db->stat.commits, 1, memory_order_relaxed);
    if (lsn <= atomic_load(&db->synced_floor)) {
        atomic_fetch_add_explicit(&db->stat.commits_fast, 1, memory_order_relaxed);
        return 0;
    }
    st_walref *w = st_db_walref_get(db);
    int rc = st_wal_commit(w->wal, lsn, db->opts.sync_mode == ST_SYNC_ALWAYS);
    st_db_walref_put(db, w);
    if (rc) st_db_poison(db, st_errmsg()); /* the caller keeps the failure's own code and message */
    return rc;
}

static int write_one(st_db *db, int kind, st_slice key, st_slice value) {
    /* a stack batch: no allocation for small writes */
    uint8_t stack[512];
    st_batch b = {{stack, ST_BATCH_HEADER, sizeof stack}};
    memset(stack, 0, ST_BATCH_HEADER);
    bool small = key.len + value.len + 2 * ST_VARINT32_MAX + 1 <= sizeof stack - ST_BATCH_HEADER;
    int rc;
    if (small) {
        rc = kind == ST_KIND_PUT ? st_batch_put(&b, key, value) : st_batch_delete(&b, key);
        if (!rc) rc = st_db_write(db, &b, 0, NULL);
    } else {
        st_batch *hb;
        ST_TRY(st_batch_new(&hb));
        rc = kind == ST_KIND_PUT ? st_batch_put(hb, key, value) : st_batch_delete(hb, key);
        if (!rc) rc = st_db_write(db, hb, 0, NULL);
        st_batch_free(hb);
    }
    return rc;
}

int st_db_put(st_db *db, st_slice key, st_slice value) {
    atomic_fetch_add_explicit(&db->stat.puts, 1, memory_order_relaxed);
    return write_one(db, ST_KIND_PUT, key, value);
}

int st_db_delete(st_db *db, st_slice key) {
    atomic_fetch_add_explicit(&db->stat.deletes, 1, memory_order_relaxed);
    return write_one(db, ST_KIND_DEL, key, (st_slice){0});
}

/* ---- reads ----------------------------------------------------------------------------------- */

static uint64_t read_seq(const st_read_options *ro, uint64_t visible) {
    return ro && ro->snapshot ? ro->snapshot->seq : visible;
}

/* The memtables' answer for key: 0 with *kind and *v (a view into the
 * memtable, valid while sv is held), or ST_ENOTFOUND when the tables must answer. */
static int mem_get(st_superversion *sv, uint64_t snap, st_slice key, int *kind, st_slice *v) {
    int rc = st_memtable_get(sv->mem, key, snap, kind, v);
    for (size_t i = 0; rc == ST_ENOTFOUND && i < sv->n_imm; i++) rc = st_memtable_get(sv->imm[i], key, snap, kind, v);
    return rc;
}

/* A key's final status from a lookup's (rc, kind, v), with a found PUT's value copied out as
 * st_db_get returns it (malloc'ed, NUL after the last byte). */
static int answer_copy(int rc, int kind, st_slice v, uint8_t **out, size_t *len) {
    if (rc == 0 && kind == ST_KIND_DEL) rc = ST_ENOTFOUND;
    if (rc) return rc;
    uint8_t *p = malloc(v.len + 1);
    if (!p) return ST_ENOMEM;
    if (v.len) memcpy(p, v.data, v.len);
    p[v.len] = 0;
    *out = p;
    *len = v.len;
    return 0;
}

/* The newest visible version of key in sv: 0 with *out (malloc'ed copy), ST_ENOTFOUND, or an error.
 * `scratch` is reused across calls to keep table lookups allocation-free. */
static int sv_get(st_superversion *sv, uint64_t snap, st_slice key, st_buf *scratch, uint8_t **out, size_t *len) {
    int kind = 0;
    st_slice v = {0};
    int rc = mem_get(sv, snap, key, &kind, &v);
    if (rc == ST_ENOTFOUND) {
        rc = st_version_get(sv->version, key, snap, &kind, scratch);
        v = st_buf_slice(scratch);
    }
    return answer_copy(rc, kind, v, out, len);
}

int st_db_get(st_db *db, const st_read_options *ro, st_slice key, uint8_t **value_out, size_t *value_len) {
    *value_out = NULL;
    *value_len = 0;
    atomic_fetch_add_explicit(&db->stat.gets, 1, memory_order_relaxed);
    uint64_t visible;
    st_superversion *sv = st_db_sv_acquire(db, &visible);
    st_buf scratch;
    st_buf_init(&scratch);
    int rc = sv_get(sv, read_seq(ro, visible), key, &scratch, value_out, value_len);
    if (rc == 0) atomic_fetch_add_explicit(&db->stat.get_hits, 1, memory_order_relaxed);
    st_buf_destroy(&scratch);
    st_db_sv_release(sv);
    return rc;
}

uint64_t st_db_visible_seq(st_db *db) { return atomic_load_explicit(&db->visible_seq, memory_order_acquire); }

int st_db_prefetch(st_db *db, size_t n, const st_slice *keys) {
    if (n > ST_DB_PREFETCH_MAX) n = ST_DB_PREFETCH_MAX;
    if (n == 0) return 0;
    uint64_t h[ST_DB_PREFETCH_MAX];
    uint64_t visible;
    st_superversion *sv = st_db_sv_acquire(db, &visible);
    for (size_t i = 0; i < n; i++) { /* pass 1: every address that needs only the hash */
        h[i] = st_hash64(keys[i].data, keys[i].len);
        st_memtable_prefetch_bucket(sv->mem, h[i]);
        for (size_t j = 0; j < sv->n_imm; j++) st_memtable_prefetch_bucket(sv->imm[j], h[i]);
        st_version_prefetch(sv->version, keys[i], h[i]);
    }
    for (size_t i = 0; i < n; i++) { /* pass 2: the chain heads those buckets point at */
        st_memtable_prefetch_chain(sv->mem, h[i]);
        for (size_t j = 0; j < sv->n_imm; j++) st_memtable_prefetch_chain(sv->imm[j], h[i]);
    }
    st_db_sv_release(sv);
    return 0;
}

/* Memtables answer what they can key by key; the keys left go to the version together, which
 * issues each round's table block reads at once (st_version_multiget). */
int st_db_multiget(st_db *db, const st_read_options *ro, size_t n, const st_slice *keys, uint8_t **values,
                   size_t *lens, int *statuses) {
    for (size_t i = 0; i < n; i++) {
        values[i] = NULL;
        lens[i] = 0;
        statuses[i] = ST_ENOTFOUND;
    }
    if (n == 0) return 0;
    st_version_lookup *vl = calloc(n, sizeof *vl);
    size_t *which = calloc(n, sizeof *which); /* vl[k] is keys[which[k]] */
    if (!vl || !which) {
        free(vl);
        free(which);
        return st_err(ST_ENOMEM, "multiget: no memory for %zu keys", n);
    }
    atomic_fetch_add_explicit(&db->stat.gets, n, memory_order_relaxed);
    uint64_t visible;
    st_superversion *sv = st_db_sv_acquire(db, &visible);
    uint64_t snap = read_seq(ro, visible);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int kind = 0;
        st_slice v = {0};
        int rc = mem_get(sv, snap, keys[i], &kind, &v);
        if (rc == ST_ENOTFOUND) {
            vl[m].ukey = keys[i];
            st_buf_init(&vl[m].value);
            which[m++] = i;
            continue;
        }
        statuses[i] = answer_copy(rc, kind, v, &values[i], &lens[i]);
    }
    if (m) st_version_multiget(sv->version, snap, vl, m);
    uint64_t hits = 0;
    for (size_t k = 0; k < m; k++) {
        size_t i = which[k];
        statuses[i] = answer_copy(vl[k].rc, vl[k].kind, st_buf_slice(&vl[k].value), &values[i], &lens[i]);
        st_buf_destroy(&vl[k].value);
    }
    for (size_t i = 0; i < n; i++) hits += statuses[i] == 0;
    atomic_fetch_add_explicit(&db->stat.get_hits, hits, memory_order_relaxed);
    st_db_sv_release(sv);
    free(vl);
    free(which);
    return 0;
}

static void release_sv(void *arg) { st_db_sv_release(arg); }

int st_db_iter_new(st_db *db, const st_read_options *ro, st_iter **out) {
    *out = NULL;
    uint64_t visible;
    st_superversion *sv = st_db_sv_acquire(db, &visible);
    uint64_t snap = read_seq(ro, visible);
    st_version *v = sv->version;
    size_t n = 1 + sv->n_imm;
    for (int l = 0; l < ST_MAX_LEVELS; l++) n += v->n_files[l];
    st_iter **children = calloc(n, sizeof *children);
    if (!children) {
        st_db_sv_release(sv);
        return ST_ENOMEM;
    }
    size_t k = 0;
    int rc = st_memtable_iter_new(sv->mem, &children[k++]);
    for (size_t i = 0; !rc && i < sv->n_imm; i++) rc = st_memtable_iter_new(sv->imm[i], &children[k++]);
    for (int l = 0; !rc && l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; !rc && j < v->n_files[l]; j++) rc = st_sst_reader_iter_new(v->files[l][j]->reader, &children[k++]);
    if (rc) {
        for (size_t i = 0; i < k; i++) st_iter_free(children[i]);
        free(children);
        st_db_sv_release(sv);
        return rc;
    }
    st_iter *merged;
    if ((rc = st_merge_iter_new(children, k, &merged))) {
        st_db_sv_release(sv);
        return rc;
    }
    st_slice lower = ro ? ro->lower : (st_slice){0}, upper = ro ? ro->upper : (st_slice){0};
    return st_db_iter_wrap(merged, snap, lower, upper, release_sv, sv, out);
}

/* ---- snapshots ------------------------------------------------------------------------------- */

int st_db_snapshot(st_db *db, st_snapshot **out) {
    st_snapshot *s = calloc(1, sizeof *s);
    *out = s;
    if (!s) return ST_ENOMEM;
    pthread_mutex_lock(&db->mu);
    s->seq = atomic_load(&db->visible_seq);
    s->next = &db->snapshots;
    s->prev = db->snapshots.prev;
    s->prev->next = s;
    db->snapshots.prev = s;
    pthread_mutex_unlock(&db->mu);
    return 0;
}

void st_db_snapshot_release(st_db *db, st_snapshot *s) {
    if (!s) return;
    pthread_mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&db->mu);
    free(s);
}

uint64_t st_snapshot_seq(const st_snapshot *s) { return s->seq; }

/* ---- maintenance ----------------------------------------------------------------------------- */

/* REQUIRES mu. Waits for the flush thread until `done` holds, it fails hard, or (soft) a flush
 * attempt fails after `failures0` failures were counted: then the caller gets the refusal rather
 * than a wait until disk space is freed. */
static int wait_flushes(st_db *db, bool room_only, uint64_t failures0) {
    for (;;) {
        if (db->bg_error) return st_db_check_stopped(db);
        if (db->shutting_down) return st_err(ST_EBUSY, "the database is closing");
        bool done = room_only ? (size_t)db->n_imm < (size_t)db->opts.max_immutable : db->n_imm == 0;
        if (done) return 0;
        if (db->soft[ST_JOB_FLUSH].rc && db->flush_failures != failures0)
            /* the flush asked for failed; writes may still be accepted (st_db_write_status) */
            return st_err(ST_ENOSPC, "flush failed for lack of disk space (%s); it is retried in the background "
                          "every %" PRIu64 " ms at most, and the data stays in the memtable and its WAL",
                          db->soft[ST_JOB_FLUSH].msg, (uint64_t)db->opts.retry_max_ms);
        pthread_cond_wait(&db->done_cv, &db->mu);
    }
}

int st_db_flush(st_db *db) {
    ST_TRY(st_db_check_stopped(db));
    pthread_mutex_lock(&db->write_mu);
    st_db_drain_inserts(db); /* D5, and so that the entry count is final */
    pthread_mutex_lock(&db->mu);
    uint64_t failures0 = db->flush_failures; /* a failing flush: wait for its next attempt */
    int rc = 0;
    bool switch_mem = st_memtable_entries(db->mem) > 0;
    if (switch_mem) rc = wait_flushes(db, true, failures0);
    pthread_mutex_unlock(&db->mu);
    if (!rc && switch_mem) rc = st_db_switch_memtable(db);
    pthread_mutex_unlock(&db->write_mu);
    if (rc) return rc;
    pthread_mutex_lock(&db->mu);
    rc = wait_flushes(db, false, failures0);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int st_db_stats(st_db *db, st_stats *out) {
    memset(out, 0, sizeof *out);
    uint64_t visible;
    st_superversion *sv = st_db_sv_acquire(db, &visible);
    out->last_seq = visible;
    out->puts = db->stat.puts;
    out->deletes = db->stat.deletes;
    out->batches = db->stat.batches;
    out->gets = db->stat.gets;
    out->get_hits = db->stat.get_hits;
    out->commits_grouped = db->stat.commits_fast;
    out->write_stalls = db->stat.write_stalls;
    out->write_stops_memtable = db->stat.stops_memtable;
    out->write_slowdowns = db->stat.slowdowns;
    out->write_stops = db->stat.stops;
    out->write_stall_micros = db->stat.stall_micros;
    out->compactions = db->stat.compactions;
    out->trivial_moves = db->stat.trivial_moves;
    out->compaction_bytes_read = db->stat.compact_read;
    out->compaction_bytes_written = db->stat.compact_written;
    out->compaction_entries_in = db->stat.compact_in;
    out->compaction_entries_dropped = db->stat.compact_dropped;
    out->flush_bytes = db->stat.flush_bytes;
    out->tier_ids = db->tiers.n;
    for (int i = 0; i < db->tiers.n; i++) {
        out->tier_name[i] = db->tiers.name[i];
        out->tier_migrations_in[i] = db->stat.tier_migrations_in[i];
        out->tier_bytes_written[i] = db->stat.tier_written[i];
    }
    out->migrations = db->stat.migrations;
    out->migration_failures = db->stat.migration_failures;
    out->migration_bytes = db->stat.migration_bytes;
    out->recovery_wal_bytes_dropped = db->recovery_dropped;
    out->io_backend = st_io_backend_name();
    out->memtable_bytes = st_memtable_bytes(sv->mem);
    out->immutable_count = sv->n_imm;
    for (size_t i = 0; i < sv->n_imm; i++) out->immutable_bytes += st_memtable_bytes(sv->imm[i]);
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        out->level_files[l] = sv->version->n_files[l];
        out->open_tables += sv->version->n_files[l];
        for (size_t j = 0; j < sv->version->n_files[l]; j++) {
            st_file_meta *f = sv->version->files[l][j];
            out->level_bytes[l] += f->size;
            st_sst_counters c;
            st_sst_reader_counters(f->reader, &c);
            if (f->tier >= 0 && f->tier < db->tiers.n) {
                out->tier_files[f->tier]++;
                out->tier_bytes[f->tier] += f->size;
                out->tier_direct_files[f->tier] += st_sst_reader_is_direct(f->reader);
                out->tier_block_reads[f->tier] += c.block_reads;
            }
            out->bloom_useful += c.bloom_useful;
            out->block_reads += c.block_reads;
        }
    }
    st_db_sv_release(sv);
    if (db->cache) {
        st_cache_stats cs;
        st_block_cache_stats(db->cache, &cs);
        out->cache_hits = cs.hits;
        out->cache_misses = cs.misses;
        out->cache_usage_bytes = cs.usage_bytes;
        out->cache_capacity_bytes = cs.capacity_bytes;
        out->cache_pinned_bytes = cs.pinned_bytes;
        out->table_reader_bytes = cs.reserved_bytes;
    }
    out->open_table_files = st_table_cache_open_files(db->files);
    out->memory_bytes = out->memtable_bytes + out->immutable_bytes + out->cache_usage_bytes + out->table_reader_bytes;
    out->memory_limit_bytes = db->opts.memory_limit_bytes;
    out->write_buffer_bytes = db->opts.write_buffer_bytes;
    st_walref *w = db->opts.read_only ? NULL : st_db_walref_get(db);
    st_wal_stats ws = {0};
    if (w) st_wal_get_stats(w->wal, &ws);
    out->synced_seq = w ? st_wal_synced_lsn(w->wal) : 0;
    if (out->synced_seq < db->synced_floor) out->synced_seq = db->synced_floor;
    out->wal_bytes = db->stat.wal_bytes_closed + ws.bytes;
    out->wal_syncs = db->stat.wal_syncs_closed + ws.syncs;
    out->commits_grouped += ws.commits_grouped;
    if (w) st_db_walref_put(db, w);
    pthread_mutex_lock(&db->mu);
    out->flushes = db->flushes_done;
    out->compactions_running = (uint64_t)db->compactions_running;
    out->pending_compaction_bytes = db->lstate.pending_bytes;
    out->base_level = db->lstate.base_level;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        out->level_score[l] = db->lstate.score[l];
        out->level_target_bytes[l] = db->lstate.target[l];
    }
    pthread_mutex_unlock(&db->mu);
    return 0;
}
