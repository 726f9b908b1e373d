/* st.h -- the public API of the Strata LSM engine.
 *
 * The engine stores ordered byte-string keys with byte-string values in a directory: a write-ahead
 * log, a skiplist memtable, and sorted string tables (SSTables) described by a MANIFEST.
 * It knows nothing of Redis, tenants or types.
 *
 * Conventions: every function returns 0 or a negative ST_E* code (st_status.h) and fills
 * out-parameters; on failure out-pointers are left NULL and st_errmsg() says what failed.
 * Thread-safety: an st_db may be used from any number of threads at once; an st_batch and an
 * st_iter belong to one thread at a time. */
#ifndef STRATA_ST_H
#define STRATA_ST_H

#include "st_iter.h"
#include "st_options.h"
#include "st_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct st_db st_db;
typedef struct st_batch st_batch;
typedef struct st_snapshot st_snapshot;

/* ---- open / close ------------------------------------------------------------------------ */

/* Opens (and with create_if_missing creates) the database in directory `dir`, recovering from
 * the MANIFEST and the WALs. On success *out is the caller's, released with st_db_close.
 * Errors: ST_EINVAL (bad options, not a database), ST_EEXIST, ST_EBUSY (another process has it
 * open: LOCK is held), ST_ECORRUPT (a damaged WAL record followed by valid ones, or a damaged WAL
 * followed by a newer one holding writes, unless opts->wal_recovery is
 * ST_WAL_RECOVERY_POINT_IN_TIME; a bad MANIFEST; a missing or damaged table: footer, index,
 * filter and properties are read and verified here; tables without a CURRENT), ST_EIO, ST_ENOSPC,
 * ST_ENOMEM. st_errmsg() names the file and the byte offset of the damage, and for a damaged WAL
 * the option that would open the database anyway. */
int st_db_open(const char *dir, const st_options *opts, st_db **out);

/* Makes every committed write durable, stops background work and frees the handle. NULL-safe.
 * A background job retrying after a soft error is abandoned (its work is redone after reopen).
 * REQUIRES: no iterator or snapshot of db is still open. Returns the first error met while
 * syncing, or ST_EFATAL if the db was poisoned (recent writes may be lost); the handle is freed
 * regardless. */
int st_db_close(st_db *db);

/* ---- writes -------------------------------------------------------------------------------- */

/* Write flags. */
#define ST_WRITE_DEFER_COMMIT 0x1u /* do not commit: the caller calls st_db_commit(lsn) later */
#define ST_WRITE_NO_DELAY 0x2u     /* the caller paced this write itself (st_db_write_delay) */

/* Single-key writes, committed per the db's sync mode before returning. */
int st_db_put(st_db *db, st_slice key, st_slice value);
int st_db_delete(st_db *db, st_slice key);

/* Applies `b` atomically: after a crash either all of it or none of it is visible.
 * Every operation in it gets its own sequence number; *lsn_out (may be NULL) receives the last
 * one, the batch's log sequence number. Without ST_WRITE_DEFER_COMMIT the batch is committed
 * (st_db_commit) before return. The batch is not consumed: clear or free it afterwards.
 * While compaction lags (L0 tables or compaction debt at the slowdown / stop thresholds of
 * st_options) a write is first delayed, outside any lock, by its share of delayed_write_rate
 * (unless ST_WRITE_NO_DELAY), or waits until compaction catches up (counted in st_stats).
 * Errors: ST_EINVAL (batch larger than max_batch_bytes); once writes are stopped
 * (st_db_write_status), its code and message: ST_EFATAL after a failed WAL write or sync, the
 * error of a background flush, compaction or migration that failed hard (ST_EIO, ST_ECORRUPT,
 * ...); ST_ENOSPC when the write would wait for a background job that cannot get disk space
 * (returned at once, never a wait without end); ST_EIO or ST_ENOSPC for the write whose own WAL
 * write failed (and ST_EFATAL for every write after it); ST_EBUSY (the db closed while the write
 * waited). */
int st_db_write(st_db *db, st_batch *b, unsigned flags, uint64_t *lsn_out);

/* Pacing for callers that must not sleep (an event loop): reserves `bytes` of the slowdown rate
 * and returns 0 with *micros = how long to wait before writing them (0: no slowdown now), then
 * the caller writes with ST_WRITE_NO_DELAY. ST_EBUSY: writes are stopped until compaction catches
 * up; ask again later (a write made anyway would wait in st_db_write). Any other error is what a
 * write would return now without waiting (st_db_write_status's code): refuse the write. */
int st_db_write_delay(st_db *db, size_t bytes, uint64_t *micros);

/* Whether writes are accepted now, and if not why, for a server to check before each write
 * command (RocksDB's background error, Redis's MISCONF). Cheap: one atomic load while all is well.
 * Returns:
 *   0           writes are accepted. msg is "" when all is well; non-empty ("writes accepted, but
 *               short of disk space: ...") while a background job retries after running out of
 *               space (a soft error: writes continue until they would wait for that job).
 *   ST_ENOSPC   writes are refused for now: they would wait for a flush (every memtable slot is
 *               taken) or a compaction (L0 at its stop trigger) that cannot get disk space. Soft:
 *               the job retries with a backoff (st_options.retry_min_ms .. retry_max_ms) and this
 *               clears by itself once space is freed.
 *   ST_EFATAL   writes are stopped until reopen: a WAL write or fdatasync failed (the kernel may
 *               have dropped the data; it is never retried).
 *   other       writes are stopped until reopen: a background flush, compaction or migration
 *               failed hard (ST_EIO, ST_ECORRUPT: a damaged table, ...).
 * Reads (gets, iterators, snapshots) keep working in every case. msg (cap bytes, may be NULL with
 * cap 0) receives a human message naming the failed operation, the file and the errno text, and
 * the remedy, e.g. "writes stopped: fdatasync of WAL /data/000012.log failed (covering lsn 981):
 * Input/output error. Reads still work. ..."; it is what a refused write puts in st_errmsg(). */
int st_db_write_status(st_db *db, char *msg, size_t cap);

/* Group commit: makes every write with sequence number <= lsn durable according to the sync mode
 * (ALWAYS: fdatasync'ed; EVERYSEC/NO: handed to the OS). Calls from many threads share one write
 * and one fdatasync; a call whose lsn is already covered returns at once.
 * Errors: ST_EFATAL (a previous sync failed: the db is poisoned), ST_EIO, ST_ENOSPC. */
int st_db_commit(st_db *db, uint64_t lsn);

/* ---- write batches ------------------------------------------------------------------------- */

/* Caller frees with st_batch_free. */
int st_batch_new(st_batch **out);
void st_batch_free(st_batch *b); /* NULL-safe */
void st_batch_clear(st_batch *b);
int st_batch_put(st_batch *b, st_slice key, st_slice value);
int st_batch_delete(st_batch *b, st_slice key);
uint32_t st_batch_count(const st_batch *b);
size_t st_batch_bytes(const st_batch *b);
/* Calls fn for every operation of b in order (value is empty for a delete), stopping at the first
 * non-zero return, which it returns; 0 otherwise. The views are valid during the call. */
typedef int (*st_batch_op_fn)(void *arg, bool is_delete, st_slice key, st_slice value);
int st_batch_foreach(const st_batch *b, st_batch_op_fn fn, void *arg);

/* ---- reads --------------------------------------------------------------------------------- */

typedef struct st_read_options {
    const st_snapshot *snapshot; /* NULL: the latest committed state */
    st_slice lower;              /* iterators: first key >= lower (len 0: unbounded) */
    st_slice upper;              /* iterators: keys < upper (len 0: unbounded) */
} st_read_options;

/* Looks up `key`. On success *value_out is a malloc'ed copy of *value_len bytes (plus a NUL byte
 * not counted in the length) that the caller frees with free(). Errors: ST_ENOTFOUND,
 * ST_ECORRUPT, ST_EIO, ST_ENOMEM. `ro` may be NULL. */
int st_db_get(st_db *db, const st_read_options *ro, st_slice key, uint8_t **value_out,
              size_t *value_len);

/* A hint before gets of n keys, e.g. the GETs of one pipelined read: starts loading into the CPU
 * cache, for all keys at once, what each get would otherwise wait for in turn (memtable hash
 * buckets and chain heads, table filter lines), so the memory latency of the batch overlaps.
 * Changes nothing and never blocks on I/O; looks at most ST_DB_PREFETCH_MAX keys. Returns 0. */
#define ST_DB_PREFETCH_MAX 32
int st_db_prefetch(st_db *db, size_t n, const st_slice *keys);

/* Looks up n keys against one consistent view (the same sequence number for all). For each i,
 * statuses[i] is 0 (values[i] is a malloc'ed copy of lens[i] bytes plus a NUL, freed by the caller
 * with free()), ST_ENOTFOUND (values[i] NULL), or a read error for that key alone. Returns 0, or
 * ST_ENOMEM / ST_EINVAL when nothing could be looked up (then every values[i] is NULL). */
int st_db_multiget(st_db *db, const st_read_options *ro, size_t n, const st_slice *keys, uint8_t **values,
                   size_t *lens, int *statuses);

/* An iterator over user keys at a consistent point in time (ro->snapshot, or now), ascending
 * (seek_first, seek, next) or descending (seek_last, seek_for_prev, prev; st_iter.h), mixed
 * freely. Bounds in ro are copied and hold both ways: seek_last starts at the last key < upper,
 * seek_for_prev(t) at the last key <= t below upper, and prev stops (invalid) below lower.
 * A seek searches every memtable and table once; a step costs O(log of their number) plus the
 * entries it passes over (deletions, older versions), in either direction (a backward step in a
 * memtable is a skiplist search); a change of direction costs about one seek.
 * Caller frees with st_iter_free(), before st_db_close(). */
int st_db_iter_new(st_db *db, const st_read_options *ro, st_iter **out);

/* Snapshots pin a sequence number: reads through it see exactly the writes committed before it.
 * Caller releases with st_db_snapshot_release, before st_db_close. */
int st_db_snapshot(st_db *db, st_snapshot **out);
void st_db_snapshot_release(st_db *db, st_snapshot *s); /* NULL-safe */
uint64_t st_snapshot_seq(const st_snapshot *s);

/* The sequence number of the newest write visible to reads now (what a snapshot taken now would
 * pin), without taking a snapshot. It only grows, also across a close and reopen of a database
 * whose writes survived: a caller can use it as a version stamp that a later write of its own
 * (made after this call) will exceed. */
uint64_t st_db_visible_seq(st_db *db);

/* ---- maintenance ------------------------------------------------------------------------------ */

/* Writes the current memtable to an L0 table and waits until it is recorded in the MANIFEST.
 * Errors: a stop (st_db_write_status); ST_ENOSPC if the flush failed for lack of space (it is
 * retried in the background; the data stays in the memtable and its WAL). */
int st_db_flush(st_db *db);

/* Compacts the user-key range [*begin, *end] (either NULL: unbounded on that side), RocksDB's
 * CompactRange: flushes the memtable, waits for running background compactions and holds new
 * ones back, then compacts every level holding keys of the range into the next one, down to the
 * last non-empty level, and rewrites the last level's tables of the range if they hold tombstones
 * or a compaction filter is set. Afterwards every key of the range lives in one level (the last
 * non-empty one), with every version no snapshot needs and every droppable tombstone gone.
 * Runs on the calling thread; flushes go on meanwhile. Errors: ST_EFATAL, ST_EIO, ST_ENOSPC,
 * ST_ECORRUPT (a damaged input table: nothing is installed or deleted, st_errmsg() names the
 * table and the block's offset), ST_ENOMEM, ST_EBUSY (the db is closing). A failure other than
 * ST_ENOSPC or ST_EBUSY also stops writes, as a background compaction's does
 * (st_db_write_status). */
int st_db_compact_range(st_db *db, const st_slice *begin, const st_slice *end);

/* Waits until the background work due now is done: no memtable waiting for flush, no compaction
 * running and none to pick (every level score < 1), as RocksDB's WaitForCompact. Writes may go on
 * meanwhile (and may make more work due). For benchmarks and tests that measure a settled tree.
 * Errors: the background error that stopped the work (ST_EIO, ST_ECORRUPT, ...); ST_ENOSPC at once
 * while a flush or compaction is failing for lack of space (it retries; call again later);
 * ST_EBUSY (the db is closing). */
int st_db_wait_for_compactions(st_db *db);

typedef struct st_stats {
    uint64_t last_seq;           /* newest sequence number handed out */
    uint64_t synced_seq;         /* every write <= this is durable per the sync mode */
    uint64_t puts, deletes, batches, gets, get_hits;
    uint64_t wal_bytes;          /* bytes appended to WALs since open */
    uint64_t wal_syncs;          /* fdatasync calls on WALs since open */
    uint64_t commits_grouped;    /* st_db_commit calls that needed no write or sync of their own */
    uint64_t memtable_bytes;     /* arena bytes of the active memtable */
    uint64_t immutable_count;    /* memtables waiting to be flushed */
    uint64_t flushes;            /* memtables written to L0 since open */
    uint64_t flush_bytes;        /* bytes of tables written by flushes */
    uint64_t write_stalls;       /* writes delayed or stopped, for any reason (the sum below) */
    uint64_t write_stops_memtable; /* writes that waited for a flush (max_immutable reached) */
    uint64_t write_slowdowns;    /* writes paced at delayed_write_rate: L0 files >= slowdown trigger or pending
                                  * compaction bytes >= the soft limit */
    uint64_t write_stops;        /* writes that waited for compaction: L0 files >= stop trigger or
                                  * pending compaction bytes >= the hard limit */
    uint64_t write_stall_micros; /* time writers spent delayed or waiting, all causes */
    uint64_t compactions;        /* compactions installed since open (trivial moves included) */
    uint64_t trivial_moves;      /* ... of which moved a table down without rewriting it */
    uint64_t compactions_running;
    uint64_t compaction_bytes_read;    /* table bytes read by compactions */
    uint64_t compaction_bytes_written; /* table bytes written by compactions */
    uint64_t compaction_entries_in, compaction_entries_dropped; /* entries read; not written */
    uint64_t pending_compaction_bytes; /* estimated bytes compactions must rewrite to bring every
                                        * level under its target (RocksDB's estimate) */
    int base_level;              /* the level L0 compacts into */
    double level_score[ST_MAX_LEVELS];         /* >= 1: due for compaction */
    uint64_t level_target_bytes[ST_MAX_LEVELS]; /* 0: not in use (above the base level; L0) */
    uint64_t level_files[ST_MAX_LEVELS];
    uint64_t level_bytes[ST_MAX_LEVELS];
    uint64_t bloom_useful;       /* table lookups a bloom filter saved */
    uint64_t block_reads;        /* data blocks read from files */
    uint64_t cache_hits, cache_misses; /* block cache lookups that found / missed their block */
    uint64_t cache_usage_bytes, cache_capacity_bytes, cache_pinned_bytes;
    /* memory, by part (memory_limit_bytes bounds their sum) */
    uint64_t immutable_bytes;    /* arena bytes of the memtables waiting to be flushed */
    uint64_t table_reader_bytes; /* indexes, filters and properties of open tables (reserved in
                                  * the block cache, not part of cache_usage_bytes) */
    uint64_t open_tables;        /* tables in the current version */
    uint64_t open_table_files;   /* of their descriptors, those open now (<= max_open_files) */
    uint64_t memory_bytes;       /* memtables + immutables + cache usage + table readers */
    uint64_t memory_limit_bytes; /* 0: none */
    uint64_t write_buffer_bytes; /* in effect (memory_limit_bytes may have lowered it) */
    /* tiers, by tier id: 0 is the database directory (tables written before tiers were
     * configured, or every table without tiers), id i >= 1 is st_options.tiers[i - 1] */
    int tier_ids;                /* 1 + n_tiers */
    const char *tier_name[ST_MAX_TIERS + 1]; /* "db" for id 0; valid while the db is open */
    uint64_t tier_files[ST_MAX_TIERS + 1];   /* tables of the current version in it */
    uint64_t tier_bytes[ST_MAX_TIERS + 1];
    uint64_t tier_direct_files[ST_MAX_TIERS + 1]; /* of them, opened with O_DIRECT now (a
                                                   * filesystem may refuse it: then buffered) */
    uint64_t tier_block_reads[ST_MAX_TIERS + 1];  /* data blocks read from its current tables */
    uint64_t tier_migrations_in[ST_MAX_TIERS + 1]; /* tables migrated into it since open */
    uint64_t tier_bytes_written[ST_MAX_TIERS + 1]; /* table bytes written into it since open
                                                    * (flushes, compactions, migrations) */
    uint64_t migrations;         /* tables moved between tiers since open */
    uint64_t migration_failures; /* moves that failed (the table stayed; retried later) */
    uint64_t migration_bytes;    /* bytes of the tables moved */
    uint64_t recovery_wal_bytes_dropped; /* WAL bytes the open skipped: torn tails, and under
                                          * ST_WAL_RECOVERY_POINT_IN_TIME everything after the
                                          * first damaged record */
    const char *io_backend;      /* "io_uring" or "posix" */
} st_stats;

int st_db_stats(st_db *db, st_stats *out);

#ifdef __cplusplus
}
#endif
#endif
