/* db_status.h -- the db's error state: writes stopped for good (hard errors), background jobs
 * retried after running out of space (soft errors), and what st_db_write_status reports.
 * docs/ARCHITECTURE.md, "Errors and the write status", has the policy; in short:
 *   hard: a failed WAL write or sync (D4, also `fatal`), or a background flush, compaction or
 *         migration that failed for any reason but lack of space (EIO, a damaged table, a
 *         poisoned MANIFEST): every later write is refused with the same code and message until
 *         the database is reopened; reads go on.
 *   soft: a background job that failed with ST_ENOSPC (ENOSPC, EDQUOT) left nothing behind (its
 *         outputs removed, nothing installed) and is retried after a backoff (retry_min_ms,
 *         doubling to retry_max_ms); writes go on until they would have to wait for that job
 *         (every immutable memtable slot taken, or L0 at the stop trigger), then get ST_ENOSPC at
 *         once instead of waiting. The job's next success clears it.
 * Thread-safety: stop_* may be called from any thread holding no db lock; the job_* calls
 * REQUIRE mu. */
#ifndef STRATA_DB_DB_STATUS_H
#define STRATA_DB_DB_STATUS_H

#include "db_impl.h"

/* Whether a background job failing with rc is retried (soft) rather than stopping writes. */
static inline bool st_db_is_soft(int rc) { return rc == ST_ENOSPC; }

/* D4: the WAL (or a memtable insert of a logged batch) failed; cause says what (st_errmsg() of
 * the failure). Sets fatal; every later write gets ST_EFATAL. */
void st_db_poison(st_db *db, const char *cause);

/* 0 if writes are accepted, else st_err(the stop code, the stop message): the refusal a write
 * returns. One acquire load when writes are accepted. */
int st_db_check_stopped(st_db *db);

/* REQUIRES mu. A background job failed with rc (st_errmsg() on this thread tells what). `what`
 * names the job for messages ("flush of the memtable of WAL 000012.log"). Soft: recorded, backoff
 * started, done_cv broadcast (writers waiting for the job re-check). Hard: bg_error and the stop
 * (first cause wins). ST_EBUSY (closing) is neither. */
void st_db_job_failed(st_db *db, enum st_bg_job job, int rc, const char *what);

/* REQUIRES mu. The job succeeded, or found nothing to do: its soft error, if any, clears. */
void st_db_job_done(st_db *db, enum st_bg_job job);

/* REQUIRES mu. True while the job waits out its backoff; *retry_at_us gets when it may run. */
bool st_db_job_backoff(st_db *db, enum st_bg_job job, uint64_t *retry_at_us);

/* REQUIRES mu. The refusal of a write that would wait for `job`, which is failing softly:
 * st_err(ST_ENOSPC, ...) naming why writes cannot go on, the job's failure and the remedy. */
int st_db_soft_refusal(st_db *db, enum st_bg_job job);

/* Waits on cv (with mu held) until signalled or st_db_now_micros() reaches until_us. */
void st_db_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t until_us);

/* Files added by a MANIFEST edit that failed but may be on disk (st_vset_log_and_apply_ex's
 * maybe_logged): they must stay while that MANIFEST is CURRENT, and may go once a later edit
 * switched to a new one. Both take mu; sweep unlinks outside it. */
void st_db_limbo_add(st_db *db, const char *path);
void st_db_limbo_sweep(st_db *db);
void st_db_limbo_free(st_db *db); /* at close: forgets them (the next open deletes them) */

#endif
