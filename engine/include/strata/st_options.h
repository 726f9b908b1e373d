/* st_options.h -- options for opening a database, writing and reading.
 *
 * Fill with st_options_default() and change what you need; zero is never a valid "default"
 * marker for a field, so a struct not passed through st_options_default() is rejected. */
#ifndef STRATA_ST_OPTIONS_H
#define STRATA_ST_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st_iter.h"

#ifdef __cplusplus
extern "C" {
#endif

/* When a write becomes durable (docs/ARCHITECTURE.md, "Durability"). */
typedef enum st_sync_mode {
    ST_SYNC_ALWAYS = 1,   /* a committed write is in an fdatasync'ed WAL before the call returns */
    ST_SYNC_EVERYSEC = 2, /* a background thread fdatasyncs the WAL once a second */
    ST_SYNC_NO = 3,       /* written to the OS at commit; the OS decides when it reaches the disk */
} st_sync_mode;

/* What recovery does with a damaged WAL (RocksDB's WALRecoveryMode). A torn tail (a write cut off
 * by a crash, or zeros) is always the clean end of its WAL: that write was never acknowledged. */
typedef enum st_wal_recovery {
    ST_WAL_RECOVERY_STRICT = 1,        /* damage followed by valid records (or a damaged WAL
                                        * followed by a newer one holding writes) means
                                        * acknowledged writes are gone: st_db_open fails with
                                        * ST_ECORRUPT naming the WAL and the offset */
    ST_WAL_RECOVERY_POINT_IN_TIME = 2, /* repair: replay up to the first damaged record and stop
                                        * there, keeping every write before it and dropping the
                                        * rest of that WAL and every later WAL (one line on
                                        * stderr says what, st_stats.recovery_wal_bytes_dropped
                                        * how much); the database then opens consistent as of
                                        * that point, and the dropped WALs are deleted */
} st_wal_recovery;

/* Block codecs. On disk: never renumber (docs/FORMAT.md, block trailer). */
typedef enum st_codec {
    ST_CODEC_NONE = 0,
    ST_CODEC_LZ4 = 4,
    ST_CODEC_ZSTD = 7,
} st_codec;

/* Levels of the LSM tree: L0 (flushed memtables, overlapping) and L1..L6 (sorted runs). */
#define ST_MAX_LEVELS 7

/* st_level_options.codec: use st_options.codec and st_options.zstd_level. Never on disk. */
#define ST_CODEC_INHERIT (-1)

/* How tables written to one level are built (docs/ARCHITECTURE.md, "Life of a compaction").
 * A table moved to another level without rewriting (a trivial move) keeps its codec, so a move is
 * refused when the codec of the two levels differs. */
typedef struct st_level_options {
    int codec;          /* st_codec, or ST_CODEC_INHERIT; default INHERIT on L0..L4, ZSTD on L5..L6 */
    int zstd_level;     /* when codec is ST_CODEC_ZSTD here; default 3 */
    size_t block_bytes; /* uncompressed data block target; 0: st_options.block_bytes; default 0 */
} st_level_options;

/* What a compaction filter decides for one entry (RocksDB's CompactionFilter::Decision). */
typedef enum st_filter_decision {
    ST_FILTER_KEEP = 0,         /* keep the entry as it is */
    ST_FILTER_REMOVE = 1,       /* delete the key: written as a tombstone (so no older version deeper
                                 * down resurfaces) and dropped at once when no deeper level holds
                                 * the key and no snapshot needs it */
    ST_FILTER_CHANGE_VALUE = 2, /* keep the key with *new_value */
} st_filter_decision;

/* Called by compactions for the newest version of each key that is a PUT, on a background thread
 * (several at once when max_background_compactions > 1: it must be thread-safe). `level` is the
 * level being written; `key`/`value` are views valid during the call. For CHANGE_VALUE the filter
 * points *new_value at bytes that stay valid until its next call on the same thread (e.g. a
 * thread-local buffer). A snapshot that could still see the entry loses it too (as in RocksDB):
 * filters are for data that is logically gone already (expired TTLs, sub-keys of deleted
 * collections). The filter may read the db it filters (st_db_get, st_db_multiget: compactions
 * call it holding no lock, so a read sees the latest state, e.g. whether a collection still
 * exists), but must not write to it, iterate it, flush or compact it, or close it: those may wait
 * for the very compaction that is calling. */
typedef st_filter_decision (*st_compaction_filter_fn)(void *arg, int level, st_slice key, st_slice value,
                                                      st_slice *new_value);

/* Storage tiers (docs/ARCHITECTURE.md, "Tiers"): table files of a range of levels live in one
 * directory, e.g. the upper levels on an SSD and the deep ones on an HDD. The WAL, MANIFEST and
 * LOCK stay in the database directory. */
#define ST_MAX_TIERS 8

typedef struct st_tier_options {
    const char *name;    /* for messages and stats; non-empty, unique */
    const char *dir;     /* where its table files go (created if missing); relative paths are
                          * relative to the working directory, not the database's. Two tiers may
                          * not share a directory */
    int first_level;     /* the levels it holds: first_level..last_level. Tiers are listed
                          * hottest first and together hold every level 0..ST_MAX_LEVELS-1 once,
                          * in order */
    int last_level;
    bool direct_io;      /* read and write its tables with O_DIRECT (where the filesystem allows
                          * it; else buffered, logged once) */
    /* Migration (docs/ARCHITECTURE.md, "Migration between tiers"): */
    uint64_t capacity_bytes;  /* 0: unlimited (no watermark migration out of it) */
    double high_watermark;    /* once its tables pass high_watermark x capacity, the coldest move */
    double low_watermark;     /* ... to the next tier until they are under low x capacity;
                               * 0 <= low < high <= 1; st_options_default: 0.85, 0.70 */
    uint64_t migrate_bytes_per_sec; /* pace of copies into this tier; 0: unpaced. Default
                                     * 64 MiB/s */
} st_tier_options;

#define ST_OPTIONS_MAGIC 0x53544f50u /* "STOP": marks a struct filled by st_options_default() */

typedef struct st_options {
    uint32_t magic;            /* set by st_options_default() */
    bool create_if_missing;    /* default true */
    bool error_if_exists;      /* default false */
    bool read_only;            /* default false. Opens an existing database for reading only, as
                                * RocksDB's OpenForReadOnly, for offline tools: nothing in the
                                * directories is created, written or deleted (no WAL, no flush, no
                                * new MANIFEST, no background work). The WALs are replayed into
                                * memory, so reads see every write that recovery would keep. A
                                * database another process holds (LOCK) is refused with ST_EBUSY.
                                * Writes, flushes and compactions fail with ST_EINVAL */
    st_sync_mode sync_mode;    /* default ST_SYNC_EVERYSEC */
    size_t write_buffer_bytes; /* memtable size that triggers a switch; default 64 MiB */
    int max_immutable;         /* memtables waiting for flush before writers wait; default 2 */
    size_t block_bytes;        /* uncompressed data block target; default 4096 */
    int restart_interval;      /* keys between restart points; default 16 */
    int bloom_bits_per_key;    /* 0 disables the filter; default 10 */
    st_codec codec;            /* default ST_CODEC_LZ4 */
    int zstd_level;            /* default 3 */
    size_t max_batch_bytes;    /* largest write batch accepted; default 64 MiB */
    size_t block_cache_bytes;  /* LRU cache of uncompressed data blocks shared by every table;
                                * 0 disables it; default 64 MiB. Open tables' indexes and
                                * filters are charged to it (see memory_limit_bytes) */
    int max_open_files;        /* table file descriptors kept open at once, least recently read
                                * closed first (second chance, block_cache.h) and reopened on
                                * demand; default 1000 */
    uint64_t memory_limit_bytes; /* 0 (default): no limit, the two sizes above apply as given.
                                  * Otherwise one budget for memtables, block cache and open
                                  * tables: write_buffer_bytes is lowered, if need be, so that all
                                  * memtables (1 + max_immutable) take at most half of it (and then
                                  * max_bytes_for_level_base to at most write_buffer x the L0
                                  * trigger, target_file_size_base to at most write_buffer, to keep
                                  * the tree's shape), and the block cache gets the rest
                                  * (block_cache_bytes is ignored).
                                  * Indexes and filters of open tables are reserved in the cache,
                                  * so cached blocks shrink as tables are added. At least 4 MiB */

    /* ---- compaction (docs/ARCHITECTURE.md, "Life of a compaction"; RocksDB names and defaults) */
    int max_background_compactions;         /* compaction threads, 1..16; default 1 */
    int level0_file_num_compaction_trigger; /* L0 files that make L0 due for compaction; default 4 */
    int level0_slowdown_writes_trigger;     /* L0 files at which each write is delayed 1 ms; default 20 */
    int level0_stop_writes_trigger;         /* L0 files at which writes wait for compaction; default 36 */
    uint64_t max_bytes_for_level_base;      /* target size of the base level (L1, or the first
                                             * level L0 compacts into); default 256 MiB */
    double max_bytes_for_level_multiplier;  /* each level's target is this times the previous one's;
                                             * > 1; default 10 */
    bool level_compaction_dynamic_level_bytes; /* derive targets backwards from the size of the last
                                                * level (RocksDB's dynamic level sizing); L0 then
                                                * compacts into the first level whose target fits;
                                                * default true */
    uint64_t target_file_size_base;         /* compaction output files are cut at this size; default
                                             * 64 MiB */
    uint64_t max_compaction_bytes;          /* input bytes of one compaction: L0 inputs are taken
                                             * oldest first up to it, and an upper-level input set
                                             * is widened only below it; 0: 25 x
                                             * target_file_size_base; default 0. (Outputs are also
                                             * cut when they overlap 10 x target_file_size_base of
                                             * the level below the output: LevelDB's grandparent
                                             * rule.) */
    uint64_t soft_pending_compaction_bytes_limit; /* estimated compaction debt at which each write
                                                   * is delayed; 0 disables; default 64 GiB */
    uint64_t hard_pending_compaction_bytes_limit; /* ... at which writes wait for compaction; 0
                                                   * disables; default 256 GiB */
    uint64_t delayed_write_rate;            /* while writes are slowed down (L0 files or debt at the
                                             * slowdown thresholds) they are admitted at this many
                                             * bytes per second, all writers together (RocksDB's
                                             * delayed_write_rate); default 16 MiB/s */
    st_level_options levels[ST_MAX_LEVELS]; /* per-level codec and block size (see above); `codec`
                                             * above is what INHERIT levels (by default L0..L4)
                                             * use, so setting it alone changes the upper levels */
    int n_tiers;                            /* 0 (default): every table in the database
                                             * directory; else tiers[0..n_tiers-1] */
    st_tier_options tiers[ST_MAX_TIERS];    /* codec and block size per tier are set through
                                             * `levels` (a table built for a level goes to that
                                             * level's tier) */
    st_compaction_filter_fn compaction_filter; /* NULL (default): none */
    void *compaction_filter_arg;

    /* ---- errors (docs/ARCHITECTURE.md, "Errors and the write status"; st_db_write_status) */
    st_wal_recovery wal_recovery; /* default ST_WAL_RECOVERY_STRICT */
    uint32_t retry_min_ms;        /* a flush, compaction or migration that failed for lack of
                                   * space (ENOSPC, EDQUOT: a soft error) is retried after this
                                   * long, doubling per failure up to retry_max_ms; default 100 */
    uint32_t retry_max_ms;        /* retry_min_ms..3600000; default 5000 */
} st_options;

void st_options_default(st_options *o);

#ifdef __cplusplus
}
#endif
#endif
