/* db_impl.h -- the st_db handle, shared by db.c (API), flush.c (memtable switch and background
 * flush) and recovery.c (open-time WAL replay and file clean-up). Not included outside engine/db.
 *
 * Locking: manual_mu serialises st_db_compact_range calls. write_mu serialises the ordered part of a write (sequence numbers, WAL append, memtable
 * reservation, memtable switch); the memtable inserts themselves run after it is dropped, many at
 * once. pub_mu guards the queue of writes in flight (oldest first), through which visible_seq
 * advances. mu guards mem/imm/wal/sv/snapshots, background state and every table's
 * being_compacted flag. Order: manual_mu, then write_mu, then pub_mu or mu (never both); the
 * version set's own mutexes come last; stop_mu (db_status.c) is a leaf; never hold mu across I/O.
 * Invariants:
 *   D1 visible_seq only grows; every write <= visible_seq is in a memtable or a table of sv: it is
 *      advanced only over a prefix of the in-flight queue whose inserts are all done;
 *   D5 a memtable leaves db->mem only when no insert into it is in flight (the switch drains the
 *      queue first, holding write_mu so that no new write joins it);
 *   D2 every imm's WAL is durable in full (synced at the switch), so synced_floor covers it;
 *   D3 a WAL file is deleted only after the MANIFEST's log_number moved past it;
 *   D4 after a failed WAL write/sync (fatal) every write returns ST_EFATAL;
 *   D8 after a hard background error (bg_error: a flush, compaction or migration failed other than
 *      for lack of space) every write returns that error, with the same message, as after D4;
 *      reads go on. A soft one (ST_ENOSPC) stops nothing: the job is retried after a backoff and
 *      only a writer that would wait for that job gets ST_ENOSPC, at once (db_status.h);
 *   D6 a table is an input of at most one running compaction (being_compacted, set and cleared
 *      under mu together with reading the current version), and while a manual compaction runs
 *      no background compaction does;
 *   D7 a writer waits for compaction only while the stall state says STOP and some compaction
 *      can still make progress; shutdown and a background error end every wait, and so does a
 *      soft error of the job waited for (ST_ENOSPC at once, D8). */
#ifndef STRATA_DB_DB_IMPL_H
#define STRATA_DB_DB_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "compaction_picker.h"
#include "io/io.h"
#include "mem/memtable.h"
#include "table/block_cache.h"
#include "version/tiers.h"
#include "strata/st.h"
#include "version/manifest.h"
#include "wal/wal.h"

/* What a reader pins: memtables and a version, all referenced. */
typedef struct st_superversion {
    atomic_int refs;
    st_memtable *mem;
    st_memtable **imm; /* newest first */
    size_t n_imm;
    st_version *version;
} st_superversion;

/* A WAL shared by writers and committers; closed when the last user lets go. */
typedef struct st_walref {
    atomic_int refs;
    st_wal *wal;
} st_walref;

typedef struct st_imm {
    st_memtable *mem;
    uint64_t wal_number;  /* the WAL holding its writes */
    uint64_t next_wal;    /* the WAL opened when it was switched out: the log number after its flush */
} st_imm;

/* A write between its reservation (under write_mu) and its publication; lives on the writer's
 * stack, queued in sequence order under pub_mu. */
typedef struct st_pending_write {
    uint64_t lsn; /* last sequence number of its batch */
    bool done;    /* its memtable inserts finished */
    struct st_pending_write *next;
} st_pending_write;

struct st_snapshot {
    uint64_t seq;
    struct st_snapshot *prev, *next;
};

/* Background jobs, for their soft errors (db_status.h). */
enum st_bg_job { ST_JOB_FLUSH = 0, ST_JOB_COMPACTION = 1, ST_JOB_MIGRATION = 2, ST_JOB_KINDS = 3 };

/* A job that failed for lack of space and is retried (under mu). */
typedef struct st_soft_error {
    int rc;               /* 0: not failing */
    uint32_t failures;    /* attempts failed in a row */
    uint64_t backoff_ms;  /* wait after the last failure */
    uint64_t retry_at_us; /* st_db_now_micros() from which the job may run again */
    char msg[400];        /* "<job> failed: <cause>" */
} st_soft_error;

/* What writers must do now (recomputed after every flush and compaction install). */
enum st_stall { ST_STALL_NONE = 0, ST_STALL_SLOWDOWN = 1, ST_STALL_STOP = 2 };

#define ST_MAX_BG_COMPACTIONS 16

struct st_db {
    char *dir;
    st_tiers tiers;        /* where table files live (version/tiers.h); immutable after open */
    st_options opts;
    st_lock *lock;
    st_vset *vs;
    st_block_cache *cache; /* data blocks of every table; NULL when opts.block_cache_bytes is 0.
                            * Freed after vs: every reader must be gone first. */
    st_table_cache *files; /* open table descriptors, at most opts.max_open_files (T1: outlives readers) */

    pthread_mutex_t write_mu;
    uint64_t last_seq; /* under write_mu: the newest sequence number in the WAL */

    pthread_mutex_t pub_mu;
    pthread_cond_t pub_cv; /* visible_seq advanced, or the queue drained */
    st_pending_write *pub_head, *pub_tail;
    int pub_waiters;

    pthread_mutex_t mu;
    pthread_cond_t bg_cv;   /* wakes the flush thread */
    pthread_cond_t done_cv; /* a flush or compaction finished or failed; the stall state changed */
    pthread_cond_t compact_cv; /* wakes compaction threads */
    pthread_cond_t sync_cv; /* wakes the everysec thread */
    st_memtable *mem;
    uint64_t mem_wal;
    st_imm *imm; /* oldest first, capacity max_immutable */
    size_t n_imm;
    st_walref *wal;
    st_superversion *sv;
    struct st_snapshot snapshots; /* circular list head */
    int bg_error;
    bool shutting_down;
    uint64_t flushes_done;
    int compactions_running;  /* background and manual */
    int manual_active;        /* a st_db_compact_range holds background picks back */
    bool picker_idle;         /* the last background pick found nothing to do in the current state */
    st_level_state lstate;    /* of the current version, recomputed with it */
    pthread_mutex_t manual_mu;
    atomic_bool closing;      /* set at close: running compactions give up between entries */
    atomic_int stall;         /* enum st_stall, read by writers without mu */
    pthread_mutex_t delay_mu; /* guards delay_next_us */
    uint64_t delay_next_us;   /* slowdown pacing: when the next delayed write may go (st_db_now_micros) */

    _Atomic uint64_t visible_seq;
    _Atomic uint64_t synced_floor;
    atomic_int fatal;

    /* errors (db_status.c) */
    pthread_mutex_t stop_mu;  /* serialises setting the stop */
    atomic_int stop_code;     /* 0, or what every write gets until reopen (D4, D8) */
    atomic_bool wal_stopped, bg_stopped; /* which message below is set (each written once, before
                                          * stop_code is published) */
    char wal_msg[640], bg_msg[640];
    atomic_int soft_jobs;     /* jobs with soft[j].rc set: st_db_write_status's lock-free test */
    st_soft_error soft[ST_JOB_KINDS]; /* under mu */
    uint64_t flush_failures;  /* under mu: failed flush attempts since open */
    char **limbo;             /* under mu: files a failed MANIFEST record may name */
    size_t n_limbo;
    uint64_t limbo_manifest;  /* ... the MANIFEST that was CURRENT then */
    uint64_t recovery_dropped; /* WAL bytes recovery skipped (torn tails, point-in-time) */

    pthread_t flush_thread, sync_thread;
    bool flush_started, sync_started;
    pthread_t compact_threads[ST_MAX_BG_COMPACTIONS];
    int n_compact_threads;
    pthread_t migrate_thread;        /* migration.c; only with tiers */
    bool migrate_started;
    pthread_cond_t migrate_cv;       /* wakes it (with mu) */
    bool migrate_idle;               /* under mu: its last pick found nothing due */
    bool tier_draining[ST_TIER_IDS]; /* under mu: above high watermark, not yet under low */

    struct {
        _Atomic uint64_t puts, deletes, batches, gets, get_hits, commits, commits_fast, write_stalls,
            flush_bytes;
        _Atomic uint64_t stops_memtable, slowdowns, stops, stall_micros;
        _Atomic uint64_t compactions, trivial_moves, compact_read, compact_written, compact_in, compact_dropped;
        _Atomic uint64_t wal_bytes_closed, wal_syncs_closed; /* from WALs already closed */
        _Atomic uint64_t migrations, migration_failures, migration_bytes;
        _Atomic uint64_t tier_migrations_in[ST_TIER_IDS];
        _Atomic uint64_t tier_written[ST_TIER_IDS]; /* table bytes written into each tier */
    } stat;
};

/* Arena block for memtables: write_buffer/8 within [1 KiB, 1 MiB] (RocksDB's rule), so a small
 * write buffer is not filled by the first block alone. The arena rounds blocks of 1 MiB and more to
 * whole 2 MiB huge pages (arena.c). */
static inline size_t st_db_arena_block(const st_db *db) {
    size_t b = db->opts.write_buffer_bytes / 8;
    return b < 1024 ? 1024 : (b > (1u << 20) ? (1u << 20) : b);
}

/* superversion */
st_superversion *st_db_sv_acquire(st_db *db, uint64_t *visible); /* takes mu */
void st_db_sv_release(st_superversion *sv);                       /* NULL-safe */
int st_db_sv_install(st_db *db);                                  /* REQUIRES mu */
/* Settings of a new WAL that follow from the options: under ST_SYNC_ALWAYS zeros are written
 * ahead of the records (st_wal_set_zero_ahead, ST_WAL_ZERO_AHEAD bytes), so that each commit's
 * fdatasync has no inode to update; everysec and no sync too rarely to pay for the extra write. */
void st_db_wal_configure(st_db *db, st_wal *w);
#define ST_WAL_ZERO_AHEAD (1u << 20)

/* WAL references */
st_walref *st_db_walref_get(st_db *db); /* takes mu */
void st_db_walref_put(st_db *db, st_walref *w);

/* flush.c */
int st_db_write_l0(st_db *db, st_memtable *mem, st_file_meta **out); /* *out NULL if mem is empty */
int st_db_switch_memtable(st_db *db);                                 /* REQUIRES write_mu */
int st_db_make_room(st_db *db);                                       /* REQUIRES write_mu */
void st_db_drain_inserts(st_db *db); /* REQUIRES write_mu; returns once no insert is in flight (D5) */
void *st_db_flush_main(void *arg);
void *st_db_sync_main(void *arg);

/* recovery.c */
int st_db_recover(st_db *db);
void st_db_delete_obsolete(st_db *db);

#endif
