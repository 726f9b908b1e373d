/* db_status.c -- hard stops, soft background errors and st_db_write_status; policy in
 * db_status.h and docs/ARCHITECTURE.md ("Errors and the write status").
 * Messages are for people (the server sends them to clients): "what failed: cause. Remedy.",
 * with the cause taken from st_errmsg() minus its "file.c:N: " prefix. A stop message is written
 * once, before stop_code is published with release order, so writers read it without a lock;
 * soft state lives under mu, which st_db_write_status takes only while some job is failing. */
#include "db_status.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compaction.h"
#include "util/err.h"

static const char *const job_name[ST_JOB_KINDS] = {"flush", "compaction", "migration"};

/* ---- hard stops ------------------------------------------------------------------------------- */

void st_db_poison(st_db *db, const char *cause) {
    pthread_mutex_lock(&db->stop_mu);
    if (!atomic_load(&db->wal_stopped)) {
        snprintf(db->wal_msg, sizeof db->wal_msg,
                 "writes stopped: %s. Reads still work. Writes not yet durable may be lost; reopen the "
                 "database (restart the server) once the disk is healthy: recovery replays the WAL",
                 st_err_text(cause));
        atomic_store_explicit(&db->wal_stopped, true, memory_order_release);
        atomic_store(&db->fatal, ST_EFATAL);
        /* the WAL's failure outranks a background one: D4 says ST_EFATAL */
        atomic_store_explicit(&db->stop_code, ST_EFATAL, memory_order_release);
    }
    pthread_mutex_unlock(&db->stop_mu);
}

/* D8: the first hard background error stops writes. */
static void stop_bg(st_db *db, int code, const char *what, const char *cause) {
    pthread_mutex_lock(&db->stop_mu);
    if (!atomic_load(&db->bg_stopped)) {
        if (code == ST_ECORRUPT)
            snprintf(db->bg_msg, sizeof db->bg_msg,
                     "writes stopped: %s failed: %s. Reads still work, except of keys the damaged table holds "
                     "(ST_ECORRUPT); restore the table (e.g. from a backup) before reopening the database",
                     what, cause);
        else
            snprintf(db->bg_msg, sizeof db->bg_msg,
                     "writes stopped: %s failed: %s. Reads still work, and every acknowledged write is kept; "
                     "reopen the database (restart the server) once the disk is healthy",
                     what, cause);
        atomic_store_explicit(&db->bg_stopped, true, memory_order_release);
        if (!atomic_load(&db->stop_code)) atomic_store_explicit(&db->stop_code, code, memory_order_release);
    }
    pthread_mutex_unlock(&db->stop_mu);
}

static const char *stop_msg(st_db *db) {
    return atomic_load_explicit(&db->wal_stopped, memory_order_acquire) ? db->wal_msg : db->bg_msg;
}

int st_db_check_stopped(st_db *db) {
    int code = atomic_load_explicit(&db->stop_code, memory_order_acquire);
    return code ? st_err(code, "%s", stop_msg(db)) : 0;
}

/* ---- soft errors ---------------------------------------------------------------------------- */

/* Logs the first failure and then at 2, 4, 8... so a long outage does not flood the log. */
static bool worth_logging(uint32_t failures) { return (failures & (failures - 1)) == 0; }

void st_db_job_failed(st_db *db, enum st_bg_job job, int rc, const char *what) {
    if (!rc || rc == ST_EBUSY) return;
    const char *cause = st_err_text(st_errmsg());
    if (!st_db_is_soft(rc)) {
        if (!db->bg_error) {
            db->bg_error = rc;
            fprintf(stderr, "strata: %s failed: %s (%s); writes are stopped until reopen\n", what, st_strerror(rc), cause);
        }
        stop_bg(db, rc, what, cause);
        pthread_cond_broadcast(&db->done_cv);
        return;
    }
    st_soft_error *s = &db->soft[job];
    if (!s->rc) atomic_fetch_add(&db->soft_jobs, 1);
    s->rc = rc;
    s->failures++;
    uint64_t lo = db->opts.retry_min_ms, hi = db->opts.retry_max_ms;
    s->backoff_ms = s->failures == 1 ? lo : (s->backoff_ms * 2 > hi ? hi : s->backoff_ms * 2);
    s->retry_at_us = st_db_now_micros() + s->backoff_ms * 1000;
    snprintf(s->msg, sizeof s->msg, "%s failed: %s", what, cause);
    if (worth_logging(s->failures))
        fprintf(stderr, "strata: %s (attempt %" PRIu32 "); retrying in %" PRIu64 " ms\n", s->msg, s->failures,
                s->backoff_ms);
    pthread_cond_broadcast(&db->done_cv); /* writers waiting for this job re-check */
}

void st_db_job_done(st_db *db, enum st_bg_job job) {
    st_soft_error *s = &db->soft[job];
    if (!s->rc) return;
    fprintf(stderr, "strata: %s works again after %" PRIu32 " failed attempt%s; soft error cleared\n", job_name[job],
            s->failures, s->failures == 1 ? "" : "s");
    memset(s, 0, sizeof *s);
    atomic_fetch_sub(&db->soft_jobs, 1);
}

bool st_db_job_backoff(st_db *db, enum st_bg_job job, uint64_t *retry_at_us) {
    const st_soft_error *s = &db->soft[job];
    *retry_at_us = s->retry_at_us;
    return s->rc && s->retry_at_us > st_db_now_micros();
}

int st_db_soft_refusal(st_db *db, enum st_bg_job job) {
    const st_soft_error *s = &db->soft[job];
    const char *why = job == ST_JOB_FLUSH ? "every memtable waits for a flush that cannot get disk space"
                                          : "L0 is full and waits for a compaction that cannot get disk space";
    return st_err(ST_ENOSPC,
                  "writes refused: %s (%s). Free disk space: it is retried every %" PRIu64
                  " ms at most and writes resume by themselves",
                  why, s->msg, (uint64_t)db->opts.retry_max_ms);
}

void st_db_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_us) {
    uint64_t now = st_db_now_micros();
    if (until_us <= now) return;
    uint64_t d = until_us - now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(d / 1000000);
    ts.tv_nsec += (long)(d % 1000000) * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- st_db_write_status ---------------------------------------------------------------------------- */

/* REQUIRES mu. The job whose soft failure refuses writes now, or -1. */
static int refusing_job(st_db *db) {
    /* a write waits for the flush only once the active memtable is full too (st_db_make_room):
     * until then it has room, and refusing it would waste the last memtable */
    if (db->soft[ST_JOB_FLUSH].rc && db->n_imm >= (size_t)db->opts.max_immutable &&
        st_memtable_bytes(db->mem) >= db->opts.write_buffer_bytes)
        return ST_JOB_FLUSH;
    if (db->soft[ST_JOB_COMPACTION].rc && atomic_load(&db->stall) == ST_STALL_STOP) return ST_JOB_COMPACTION;
    return -1;
}

int st_db_write_status(st_db *db, char *msg, size_t cap) {
    int code = atomic_load_explicit(&db->stop_code, memory_order_acquire);
    if (code) {
        if (cap) snprintf(msg, cap, "%s", stop_msg(db));
        return code;
    }
    if (!atomic_load_explicit(&db->soft_jobs, memory_order_acquire)) {
        if (cap) msg[0] = 0;
        return 0;
    }
    pthread_mutex_lock(&db->mu);
    int job = refusing_job(db);
    if (job >= 0) {
        code = st_db_soft_refusal(db, (enum st_bg_job)job);
        if (cap) snprintf(msg, cap, "%s", st_err_text(st_errmsg()));
    } else if (cap) {
        /* accepted, but say what is failing: writes stop once they would wait for it */
        size_t n = (size_t)snprintf(msg, cap, "writes accepted, but short of disk space:");
        for (int j = 0; j < ST_JOB_KINDS && n < cap; j++)
            if (db->soft[j].rc)
                n += (size_t)snprintf(msg + n, cap - n, " %s (attempt %" PRIu32 ", retried in %" PRIu64 " ms);",
                                      db->soft[j].msg, db->soft[j].failures, db->soft[j].backoff_ms);
        if (n < cap) snprintf(msg + n, cap - n, " free disk space");
    }
    pthread_mutex_unlock(&db->mu);
    return code;
}

/* ---- files a failed MANIFEST record may name ---------------------------------------------------- */

void st_db_limbo_add(st_db *db, const char *path) {
    char *p = strdup(path);
    pthread_mutex_lock(&db->mu);
    char **a = p ? realloc(db->limbo, (db->n_limbo + 1) * sizeof *a) : NULL;
    if (a) { /* without memory the file just stays until the next open deletes it */
        db->limbo = a;
        db->limbo[db->n_limbo++] = p;
        p = NULL;
        db->limbo_manifest = st_vset_manifest_number(db->vs);
    }
    pthread_mutex_unlock(&db->mu);
    free(p);
}

void st_db_limbo_sweep(st_db *db) {
    pthread_mutex_lock(&db->mu);
    char **a = NULL;
    size_t n = 0;
    if (db->n_limbo && st_vset_manifest_number(db->vs) != db->limbo_manifest) {
        a = db->limbo;
        n = db->n_limbo;
        db->limbo = NULL;
        db->n_limbo = 0;
    }
    pthread_mutex_unlock(&db->mu);
    for (size_t i = 0; i < n; i++) {
        st_io_unlink(a[i]);
        free(a[i]);
    }
    free(a);
}

void st_db_limbo_free(st_db *db) {
    for (size_t i = 0; i < db->n_limbo; i++) free(db->limbo[i]);
    free(db->limbo);
    db->limbo = NULL;
    db->n_limbo = 0;
}
