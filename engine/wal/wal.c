/* wal.c -- write-ahead log with group commit; contract and invariants W1-W3 in wal.h.
 *
 * State under one mutex: `pending` (framed by appends), and the lsn watermarks
 * appended >= written >= synced. Two I/O roles, each held by at most one thread at a time and
 * taken by whichever committer needs it next:
 *   writer: swaps `pending` with the empty `inflight` buffer (appends carry on into the other one),
 *           writes inflight with one append call outside the mutex, then publishes
 *           written = the appended lsn it took;
 *   syncer: notes s = written, fdatasyncs outside the mutex, then publishes synced = s.
 * A write may run while a sync is in flight: W3 holds because writes are exclusive and take the
 * buffer in append order, and the sync claims only what was written before it started. Each role
 * change broadcasts one condvar; waiters re-check their lsn against the watermarks. */
#include "wal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "log_frame.h"
#include "util/coding.h"
#include "util/err.h"

/* A buffer that grew past this for one burst is freed after its write rather than kept. */
#define WAL_BUF_KEEP_BYTES (4u << 20)

struct st_wal {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast whenever a write or a sync ends */
    st_file *f;
    uint64_t number;

    /* Guarded by mu. */
    st_buf pending;        /* framed records not yet taken by a writer */
    st_buf inflight;       /* owned by the writer while `writing`; empty otherwise */
    uint64_t block_off;    /* position in the block where pending's end will land */
    size_t zero_ahead;     /* st_wal_set_zero_ahead; 0: off */
    uint64_t zeroed_end;   /* writer role: the file holds written zeros or records up to here */
    uint64_t size;         /* bytes framed since creation */
    uint64_t appended_lsn; /* lsn of the last record framed */
    uint64_t written_lsn;  /* <= appended_lsn */
    uint64_t synced_lsn;   /* <= written_lsn */
    bool writing;
    bool syncing;
    bool poisoned;         /* W2 */
    char poison_msg[512];  /* why, for later callers (st_errmsg is per thread) */
    st_wal_stats stats;
};

static int sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return st_io_sync_dir(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) return -ENOMEM;
    memcpy(dir, path, n);
    dir[n] = 0;
    int rc = st_io_sync_dir(dir);
    free(dir);
    return rc;
}

int st_wal_open(const char *path, uint64_t number, st_wal **out) {
    *out = NULL;
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL, &f);
    if (rc < 0) return st_err(st_err_from_errno(rc), "wal %s: create: %s", path, strerror(-rc));
    /* Without the directory entry on disk, a synced record dies with the file in a crash (W1). */
    rc = sync_parent_dir(path);
    if (rc < 0) {
        st_file_close(f);
        return st_err(st_err_from_errno(rc), "wal %s: fsync of its directory: %s", path, strerror(-rc));
    }
    st_wal *w = calloc(1, sizeof *w);
    if (!w) {
        st_file_close(f);
        return st_err(ST_ENOMEM, "wal %s: out of memory", path);
    }
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        st_file_close(f);
        return st_err(ST_ENOMEM, "wal %s: mutex init", path);
    }
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        st_file_close(f);
        return st_err(ST_ENOMEM, "wal %s: condvar init", path);
    }
    w->f = f;
    w->number = number;
    st_buf_init(&w->pending);
    st_buf_init(&w->inflight);
    *out = w;
    return 0;
}

/* REQUIRES: mu held, poisoned. */
static int poisoned_err(const st_wal *w) {
    return st_err(ST_EFATAL, "WAL %s is poisoned by an earlier failure: %s", st_file_path(w->f), w->poison_msg);
}

/* REQUIRES: mu held. Records the failure that st_err just reported and wakes every waiter. */
static void poison(st_wal *w) {
    w->poisoned = true;
    snprintf(w->poison_msg, sizeof w->poison_msg, "%s", st_err_text(st_errmsg()));
    pthread_cond_broadcast(&w->cv);
}

int st_wal_append(st_wal *w, st_slice payload, uint64_t lsn) {
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->poisoned) {
        rc = poisoned_err(w);
        goto out;
    }
    if (lsn <= w->appended_lsn) {
        rc = st_err(ST_EINVAL, "wal %s: lsn %llu after %llu: lsns must increase", st_file_path(w->f),
                    (unsigned long long)lsn, (unsigned long long)w->appended_lsn);
        goto out;
    }
    size_t before = w->pending.len;
    rc = st_log_frame(&w->pending, &w->block_off, payload);
    if (rc < 0) {
        rc = st_err(rc, "wal %s: cannot frame a batch of %zu bytes", st_file_path(w->f), payload.len);
        goto out;
    }
    w->size += w->pending.len - before;
    w->appended_lsn = lsn;
out:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Writer role. REQUIRES: mu held, !writing, pending not empty. Returns with mu held. */
/* Writer role, mu not held: extends the written zeros to `from` + zero_ahead (from: the end of
 * the records about to be written), so those records and the next ones overwrite allocated
 * blocks inside the file's size. */
static int write_zeros(st_wal *w, uint64_t from) {
    static const uint8_t zeros[64 << 10];
    uint64_t start = w->zeroed_end > from ? w->zeroed_end : from, end = from + w->zero_ahead;
    for (uint64_t at = start; at < end;) {
        size_t k = end - at < sizeof zeros ? (size_t)(end - at) : sizeof zeros;
        int rc = st_file_pwrite(w->f, zeros, k, at);
        if (rc < 0)
            return st_err(st_err_from_errno(rc), "write of WAL %s failed (zeros ahead at offset %llu): %s",
                          st_file_path(w->f), (unsigned long long)at, strerror(-rc));
        at += k;
    }
    w->zeroed_end = end;
    return 0;
}

void st_wal_set_zero_ahead(st_wal *w, size_t bytes) { w->zero_ahead = bytes; }

static int write_pending(st_wal *w) {
    st_buf t = w->inflight;
    w->inflight = w->pending;
    w->pending = t;
    uint64_t lsn = w->appended_lsn;
    w->writing = true;
    pthread_mutex_unlock(&w->mu);

    uint64_t off = st_file_append_off(w->f);
    size_t n = w->inflight.len;
    int rc = 0;
    if (w->zero_ahead && off + n + w->zero_ahead / 4 > w->zeroed_end) rc = write_zeros(w, off + n);
    if (!rc && (rc = st_file_append(w->f, w->inflight.data, n)) < 0)
        rc = st_err(st_err_from_errno(rc), "write of WAL %s failed (%zu bytes at offset %llu): %s",
                    st_file_path(w->f), n, (unsigned long long)off, strerror(-rc));

    pthread_mutex_lock(&w->mu);
    w->writing = false;
    if (w->inflight.cap > WAL_BUF_KEEP_BYTES) st_buf_destroy(&w->inflight);
    else st_buf_clear(&w->inflight);
    if (rc < 0) {
        /* Part of the batch may be in the file; rewriting it could duplicate records. */
        poison(w);
        return rc;
    }
    w->written_lsn = lsn;
    w->stats.writes++;
    w->stats.bytes += n;
    pthread_cond_broadcast(&w->cv);
    return 0;
}

/* Syncer role. REQUIRES: mu held, !syncing. Returns with mu held. */
static int sync_written(st_wal *w) {
    uint64_t lsn = w->written_lsn;
    w->syncing = true;
    pthread_mutex_unlock(&w->mu);

    int rc = st_file_sync(w->f);
    if (rc < 0)
        rc = st_err(st_err_from_errno(rc), "fdatasync of WAL %s failed (covering lsn %llu): %s", st_file_path(w->f),
                    (unsigned long long)lsn, strerror(-rc));

    pthread_mutex_lock(&w->mu);
    w->syncing = false;
    if (rc < 0) {
        poison(w);
        return rc;
    }
    if (lsn > w->synced_lsn) w->synced_lsn = lsn;
    w->stats.syncs++;
    pthread_cond_broadcast(&w->cv);
    return 0;
}

int st_wal_commit(st_wal *w, uint64_t lsn, bool sync) {
    int rc = 0;
    bool did_io = false;
    pthread_mutex_lock(&w->mu);
    uint64_t target = lsn < w->appended_lsn ? lsn : w->appended_lsn;
    for (;;) {
        if (w->poisoned) {
            rc = poisoned_err(w);
            break;
        }
        if (w->synced_lsn >= target || (!sync && w->written_lsn >= target)) break;
        if (w->written_lsn < target) {
            if (w->writing) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            /* Not writing and not covered: the bytes of target are still in pending. */
            ST_ASSERT(w->pending.len > 0);
            did_io = true;
            if ((rc = write_pending(w)) < 0) break;
            continue; /* a sync committer goes straight on to the syncer role if free */
        }
        if (w->syncing) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        did_io = true;
        if ((rc = sync_written(w)) < 0) break;
    }
    if (rc == 0) {
        w->stats.commits++;
        if (!did_io) w->stats.commits_grouped++;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static uint64_t locked_u64(st_wal *w, const uint64_t *field) {
    pthread_mutex_lock(&w->mu);
    uint64_t v = *field;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t st_wal_synced_lsn(st_wal *w) { return locked_u64(w, &w->synced_lsn); }
uint64_t st_wal_written_lsn(st_wal *w) { return locked_u64(w, &w->written_lsn); }
uint64_t st_wal_size(st_wal *w) { return locked_u64(w, &w->size); }
uint64_t st_wal_number(const st_wal *w) { return w->number; }

void st_wal_get_stats(st_wal *w, st_wal_stats *out) {
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

int st_wal_close(st_wal *w, bool sync) {
    if (!w) return 0;
    int rc = st_wal_commit(w, UINT64_MAX, sync);
    char path[512];
    snprintf(path, sizeof path, "%s", st_file_path(w->f));
    int crc = st_file_close(w->f);
    if (crc < 0 && rc == 0) rc = st_err(st_err_from_errno(crc), "wal %s: close: %s", path, strerror(-crc));
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    st_buf_destroy(&w->pending);
    st_buf_destroy(&w->inflight);
    free(w);
    return rc;
}
