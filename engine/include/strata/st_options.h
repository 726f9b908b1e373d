/* st_options.h -- options for opening a database, writing and reading.
 *
 * Fill with st_options_default() and change what you need; zero is never a valid "default"
 * marker for a field, so a struct not passed through st_options_default() is rejected. */
#ifndef STRATA_ST_OPTIONS_H
#define STRATA_ST_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* When a write becomes durable (docs/ARCHITECTURE.md, "Durability"). */
typedef enum st_sync_mode {
    ST_SYNC_ALWAYS = 1,   /* a committed write is in an fdatasync'ed WAL before the call returns */
    ST_SYNC_EVERYSEC = 2, /* a background thread fdatasyncs the WAL once a second */
    ST_SYNC_NO = 3,       /* written to the OS at commit; the OS decides when it reaches the disk */
} st_sync_mode;

/* Block codecs. On disk: never renumber (docs/FORMAT.md, block trailer). */
typedef enum st_codec {
    ST_CODEC_NONE = 0,
    ST_CODEC_LZ4 = 4,
    ST_CODEC_ZSTD = 7,
} st_codec;

#define ST_OPTIONS_MAGIC 0x53544f50u /* "STOP": marks a struct filled by st_options_default() */

typedef struct st_options {
    uint32_t magic;            /* set by st_options_default() */
    bool create_if_missing;    /* default true */
    bool error_if_exists;      /* default false */
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
                                * 0 disables it; default 64 MiB */
} st_options;

void st_options_default(st_options *o);

#ifdef __cplusplus
}
#endif
#endif
