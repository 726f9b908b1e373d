/* flush.c -- memtable switches, write stalls, the background flush and everysec sync threads.
 *
 * A switch (under write_mu) opens the next WAL, syncs the old one in full, and queues the old
 * memtable as immutable. The flush thread writes the oldest immutable memtable to an L0 table
 * (fsync file, fsync dir), logs {add L0 file, log_number = next WAL} in the MANIFEST, then drops
 * the memtable and deletes its WAL (D3). Here writers wait only when max_immutable memtables are
 * already queued (compaction stalls are in compaction.c). After each flush the compaction state
 * is recomputed, which may wake a compaction thread.
 * A flush that fails for lack of space (db_status.h) removes its table (or, when the MANIFEST
 * record may be on disk, keeps it in limbo), keeps the memtable and its WAL, and is retried after
 * a backoff; writers that would wait for it get ST_ENOSPC instead. Any other failure stops writes
 * (D8). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compaction.h"
#include "db_impl.h"
#include "db_status.h"
#include "table_out.h"
#include "util/err.h"
#include "version/filename.h"

static int io_err(int neg, const char *what, const char *path) {
    return st_err(st_err_from_errno(neg), "%s %s: %s", what, path, strerror(-neg));
}

int st_db_write_l0(st_db *db, st_memtable *mem, st_file_meta **out) {
    *out = NULL;
    if (st_memtable_entries(mem) == 0) return 0;
    st_table_out t;
    st_iter *it = NULL;
    int rc = st_db_table_open(db, 0, &t);
    if (rc) return rc;
    if ((rc = st_memtable_iter_new(mem, &it))) goto fail;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it))
        if ((rc = st_db_table_add(&t, st_iter_key(it), st_iter_value(it)))) goto fail;
    if ((rc = st_iter_status(it))) goto fail;
    st_iter_free(it);
    if ((rc = st_db_table_finish(db, &t, out))) return rc;
    atomic_fetch_add(&db->stat.flush_bytes, (*out)->size);
    return 0;
fail:
    st_iter_free(it);
    st_db_table_abandon(&t);
    return rc;
}

int st_db_switch_memtable(st_db *db) {
    char path[ST_PATH_MAX];
    uint64_t number = st_vset_new_file_number(db->vs);
    st_wal *nw = NULL;
    st_memtable *nm = NULL;
    st_walref *ref = NULL;
    int rc = st_wal_open(st_fn_log(path, db->dir, number), number, &nw);
    if (rc) return rc;
    st_db_wal_configure(db, nw);
    if ((rc = st_memtable_new(st_db_arena_block(db), &nm))) goto fail;
    if (!(ref = calloc(1, sizeof *ref))) {
        rc = ST_ENOMEM;
        goto fail;
    }
    atomic_init(&ref->refs, 1);
    ref->wal = nw;
    /* D2: the old WAL is durable in full before anything lands in the new one. */
    if ((rc = st_wal_commit(db->wal->wal, UINT64_MAX, true))) {
        st_db_poison(db, st_errmsg());
        goto fail;
    }
    if ((rc = st_io_sync_dir(db->dir))) {
        rc = io_err(rc, "fsync of the database directory", db->dir);
        st_db_poison(db, st_errmsg());
        goto fail;
    }
    pthread_mutex_lock(&db->mu);
    st_walref *old = db->wal;
    if (st_memtable_entries(db->mem) > 0) {
        db->imm[db->n_imm].mem = db->mem;
        db->imm[db->n_imm].wal_number = db->mem_wal;
        db->imm[db->n_imm].next_wal = number;
        db->n_imm++;
    } else {
        st_memtable_unref(db->mem);
    }
    db->mem = nm;
    db->mem_wal = number;
    db->wal = ref;
    atomic_store(&db->synced_floor, db->last_seq);
    rc = st_db_sv_install(db);
    pthread_cond_signal(&db->bg_cv);
    pthread_mutex_unlock(&db->mu);
    st_db_walref_put(db, old);
    return rc;
fail:
    if (ref) free(ref);
    st_memtable_unref(nm);
    st_wal_close(nw, false);
    st_io_unlink(path);
    return rc;
}

int st_db_make_room(st_db *db) {
    if (st_memtable_bytes(db->mem) < db->opts.write_buffer_bytes) return 0;
    pthread_mutex_lock(&db->mu);
    bool stalled = false;
    int rc = 0;
    while ((size_t)db->n_imm >= (size_t)db->opts.max_immutable && !db->bg_error && !db->shutting_down) {
        if (db->soft[ST_JOB_FLUSH].rc) { /* waiting would last until someone frees disk space */
            rc = st_db_soft_refusal(db, ST_JOB_FLUSH);
            break;
        }
        if (!stalled) atomic_fetch_add(&db->stat.write_stalls, 1);
        stalled = true;
        pthread_cond_wait(&db->done_cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    if (stalled) atomic_fetch_add(&db->stat.stops_memtable, 1);
    if (!rc) rc = st_db_check_stopped(db);
    return rc ? rc : st_db_switch_memtable(db);
}

static int flush_one(st_db *db, st_imm item) {
    st_file_meta *fm = NULL;
    int rc = st_db_write_l0(db, item.mem, &fm);
    if (rc) return rc;
    st_version_edit e;
    st_edit_init(&e);
    e.has_log_number = true;
    e.log_number = item.next_wal;
    e.last_seq = fm ? fm->max_seq : 0;
    bool maybe_logged = false;
    if (fm) rc = st_edit_add_file(&e, fm);
    if (!rc) rc = st_vset_log_and_apply_ex(db->vs, &e, &maybe_logged);
    st_edit_destroy(&e);
    if (rc && fm) {
        /* The table is ours alone unless the failed record may name it (then a crash could
         * recover it: it stays until a later MANIFEST supersedes that one). */
        char path[ST_PATH_MAX];
        st_tiers_table_path(&db->tiers, fm->tier, fm->number, path);
        if (maybe_logged) st_db_limbo_add(db, path);
        else st_file_meta_mark_obsolete(fm, path); /* unlinked by the unref below */
    }
    st_file_meta_unref(fm);
    if (!rc) st_db_limbo_sweep(db);
    return rc;
}

void *st_db_flush_main(void *arg) {
    st_db *db = arg;
    pthread_mutex_lock(&db->mu);
    for (;;) {
        while (!db->shutting_down && (db->n_imm == 0 || db->bg_error)) pthread_cond_wait(&db->bg_cv, &db->mu);
        if (db->shutting_down) break;
        uint64_t retry_at;
        if (st_db_job_backoff(db, ST_JOB_FLUSH, &retry_at)) {
            st_db_cond_wait_until(&db->bg_cv, &db->mu, retry_at);
            continue;
        }
        st_imm item = db->imm[0];
        st_memtable_ref(item.mem);
        pthread_mutex_unlock(&db->mu);
        int rc = flush_one(db, item);
        st_memtable_unref(item.mem);
        pthread_mutex_lock(&db->mu);
        bool drop_wal = false;
        if (rc) {
            char what[64];
            snprintf(what, sizeof what, "flush of the memtable of WAL %06llu.log", (unsigned long long)item.wal_number);
            db->flush_failures++;
            st_db_job_failed(db, ST_JOB_FLUSH, rc, what);
        } else {
            st_db_job_done(db, ST_JOB_FLUSH);
            st_memtable_unref(db->imm[0].mem);
            memmove(db->imm, db->imm + 1, (db->n_imm - 1) * sizeof *db->imm);
            db->n_imm--;
            db->flushes_done++;
            drop_wal = st_db_sv_install(db) == 0;
            st_db_compaction_state_update(db); /* maybe L0 is due, maybe writers must slow */
        }
        pthread_cond_broadcast(&db->done_cv);
        if (drop_wal) {
            /* D3: the MANIFEST's log number is past it; no lock needed for the unlink */
            pthread_mutex_unlock(&db->mu);
            char path[ST_PATH_MAX];
            st_io_unlink(st_fn_log(path, db->dir, item.wal_number));
            pthread_mutex_lock(&db->mu);
        }
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

void *st_db_sync_main(void *arg) {
    st_db *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->shutting_down) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&db->sync_cv, &db->mu, &ts);
        if (db->shutting_down) break;
        st_walref *w = db->wal;
        atomic_fetch_add(&w->refs, 1);
        pthread_mutex_unlock(&db->mu);
        if (st_wal_commit(w->wal, UINT64_MAX, true) < 0) st_db_poison(db, st_errmsg());
        st_db_walref_put(db, w);
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}
