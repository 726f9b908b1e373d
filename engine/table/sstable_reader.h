/* sstable_reader.h -- reading an SSTable: point lookups, iteration and verification.
 * Format: docs/FORMAT.md#sstable; constants in sstable_format.h.
 *
 * Open reads the footer, metaindex, properties, index and filter and keeps the last three in
 * memory, verifying every checksum. Data blocks are read with pread on demand, or for a batch of
 * lookups together with one st_io_read_batch (st_sst_reader_multiget), and verified on every read
 * from the file. A reader opened with an st_block_cache looks data blocks up there
 * first, under (its own cache id, block offset), and on a miss inserts the block it read, checked
 * and decompressed, at ST_CACHE_PRI_LOW; a get or an iterator pins the block it is using until it
 * is done with it. Only verified blocks are inserted, so a cache hit needs no new check.
 * Bytes from the file are never trusted: any mismatch is ST_ECORRUPT naming the file and offset,
 * and a corrupt block is never served (nor cached).
 * Thread-safety: a reader is immutable after open; get, iter_new, verify, props and counters may
 * run from any number of threads at once. Each iterator belongs to one thread.
 * R1: a reader lives while any reference (st_sst_reader_ref, or an open iterator) remains.
 * R2: the block cache, if any, outlives the reader and its iterators.
 * R3: what a reader with a cache keeps in memory (index, filter, properties: st_sst_reader_memory)
 *     is reserved in that cache from open to close (st_block_cache_reserve), so one budget bounds
 *     cached blocks and open tables together. Index and filter stay whole in the reader rather
 *     than in the cache: one lookup less per probe, and a large index never churns a small shard;
 *     the price is that they are not evictable (about 1.5% of the data with 100-byte values).
 * R4: st_sst_reader_multiget answers each lookup exactly as st_sst_reader_get would (same checks,
 *     same cache use); only the moment its block read is issued differs, and lookups of one block
 *     share its read (one block_reads, a cache miss each). */
#ifndef STRATA_TABLE_SSTABLE_READER_H
#define STRATA_TABLE_SSTABLE_READER_H

#include <stdint.h>

#include "io/io.h"
#include "strata/st_iter.h"
#include "strata/st_options.h"
#include "table/block_cache.h"
#include "table/table_cache.h"
#include "util/coding.h"

typedef struct st_sst_reader st_sst_reader;

typedef struct st_sst_props {
    uint64_t entries, deletions, data_blocks, raw_key_bytes, raw_value_bytes, min_seq, max_seq;
    uint64_t creation_time; /* unix seconds */
    st_codec codec;
    uint32_t block_bytes, bloom_bits_per_key, format_version;
    st_buf smallest, largest; /* internal keys (empty for an empty table), owned by the reader */
} st_sst_props;

/* Takes ownership of f, even on failure. Reads footer, metaindex, properties, index and filter,
 * verifying every checksum. `cache` (NULL: none) caches data blocks; the reader takes a fresh id
 * from it, so its entries never alias another reader's (R2: the cache must outlive the reader).
 * On success *out has one reference (release with st_sst_reader_unref); on failure *out is NULL.
 * `file_number` names the file in messages.
 * Errors: ST_ECORRUPT (not an sstable, truncated, any checksum or format mismatch), ST_EIO,
 * ST_ENOMEM. */
int st_sst_reader_open(st_file *f, uint64_t file_number, st_block_cache *cache, st_sst_reader **out);
/* st_sst_reader_open whose file descriptor lives in `files` (table_cache.h; NULL: the reader keeps
 * f open until its last reference goes): evicted when other tables need the room, opened again
 * by path for the next block read. `files` must outlive the reader. */
int st_sst_reader_open_in(st_file *f, uint64_t file_number, st_block_cache *cache, st_table_cache *files,
                          st_sst_reader **out);
void st_sst_reader_ref(st_sst_reader *r);
void st_sst_reader_unref(st_sst_reader *r); /* NULL-safe; closes the file at 0 */

/* A hint for a batch of gets (st_db_prefetch): starts loading the filter line a get of the user
 * key whose st_hash64 is `hash` tests first. Changes nothing, never waits. */
void st_sst_reader_prefetch(st_sst_reader *r, uint64_t hash);

/* Newest entry for ukey with seq <= snap_seq: 0 with *kind (ST_KIND_PUT or ST_KIND_DEL) and, for
 * a PUT, the value appended to `value` (cleared first). Consults the bloom filter first.
 * Errors: ST_ENOTFOUND, ST_ECORRUPT, ST_EIO, ST_ENOMEM. */
int st_sst_reader_get(st_sst_reader *r, st_slice ukey, uint64_t snap_seq, int *kind, st_buf *value);

/* One lookup of st_sst_reader_multiget: st_sst_reader_get's arguments and results. */
typedef struct st_sst_lookup {
    st_sst_reader *r;  /* in: referenced by the caller for the whole call */
    st_slice ukey;     /* in */
    uint64_t snap_seq; /* in */
    st_buf *value;     /* in: a PUT's value is appended here (cleared first) */
    int rc;            /* out: what st_sst_reader_get would return */
    int kind;          /* out, when rc is 0: ST_KIND_PUT or ST_KIND_DEL */
} st_sst_lookup;

/* Runs n lookups, which may name different readers, each as st_sst_reader_get would (R4), but
 * reads the data blocks they need together: first every lookup does its in-memory part (filter,
 * index, block cache; a cache hit is answered at once), then the missing blocks are read with one
 * st_io_read_batch (on io_uring all in flight at once; a batch over 32 MiB of blocks is split),
 * each verified, decompressed and cached as a single get would, and the lookups waiting on it
 * are answered. Lookups of the same block share one read. Each table's descriptor is pinned while
 * its reads are in flight (table_cache.h). Errors belong to the lookup whose block failed
 * (gets[i].rc); the call itself cannot fail: without memory for the batch it runs the lookups one
 * by one. */
void st_sst_reader_multiget(st_sst_lookup *gets, size_t n);

/* An st_iter over (internal key, value), two-level (index -> data blocks), both ways; seek and
 * seek_for_prev take an internal key. A backward step inside a block decodes from the restart
 * point before the entry (block.h); crossing into the previous block is one index step and one
 * block fetch, as forward. Holds a reference on r until freed, and a pin on the cached data block
 * it is positioned in, if any. Errors make it invalid with status() set, in either direction.
 * On failure *out is NULL. Errors: ST_ENOMEM. */
int st_sst_reader_iter_new(st_sst_reader *r, st_iter **out);

typedef struct st_sst_iter_opts {
    /* true (default): a block the cache misses is inserted. false: it is read into the iterator's
     * own buffers and not inserted, so a long scan does not push hot blocks out; hits still use
     * the cache. No effect without a cache. */
    bool fill_cache;
    /* 0 (default): each data block the cache misses is one read of that block. Else a miss reads
     * this many bytes from the block on (within the data area) into the iterator's window, and
     * the blocks after it come from there: one large sequential read instead of many small ones,
     * for scans of tables on a slow or O_DIRECT tier (compactions use it on direct tables).
     * Moving backward, the window read is the one ending where the missed block ends. */
    size_t readahead_bytes;
} st_sst_iter_opts;

/* Defaults of st_sst_iter_opts (what st_sst_reader_iter_new uses). */
static inline st_sst_iter_opts st_sst_iter_opts_default(void) {
    return (st_sst_iter_opts){.fill_cache = true, .readahead_bytes = 0};
}

/* st_sst_reader_iter_new with options; o NULL means the defaults. */
int st_sst_reader_iter_new_opts(st_sst_reader *r, const st_sst_iter_opts *o, st_iter **out);

const st_sst_props *st_sst_reader_props(const st_sst_reader *r);
/* Bytes the reader keeps in memory while open (R3). */
size_t st_sst_reader_memory(const st_sst_reader *r);
uint64_t st_sst_reader_number(const st_sst_reader *r);

/* Where a table's bytes are (stored sizes, block trailers included): the regions tile the file
 * [data][filter][properties][index][metaindex][footer]. For tools (st_inspect.h). */
typedef struct st_sst_layout {
    uint64_t file_size, data_bytes, filter_bytes, properties_bytes, index_bytes, metaindex_bytes, footer_bytes;
} st_sst_layout;
void st_sst_reader_layout(const st_sst_reader *r, st_sst_layout *out);

/* Re-reads and checks every block from the file, never through the cache: checksums, block
 * structure, key order across the file, index separators, that data blocks tile the data region,
 * entry count, and that the filter holds every user key. The first problem is ST_ECORRUPT naming
 * its offset (or ST_EIO/ST_ENOMEM). */
int st_sst_reader_verify(st_sst_reader *r);

typedef struct st_sst_counters {
    uint64_t block_reads;  /* data blocks read from the file (cache misses, uncached reads, verify,
                            * each read of a batch) */
    uint64_t bloom_checks; /* get() calls that consulted the filter */
    uint64_t bloom_useful; /* ... and were answered "absent" by it */
    uint64_t cache_hits;   /* data blocks found in the block cache (0 without a cache) */
    uint64_t cache_misses; /* data block lookups the cache missed (0 without a cache) */
} st_sst_counters;

void st_sst_reader_counters(const st_sst_reader *r, st_sst_counters *out); /* atomics, any thread */
bool st_sst_reader_is_direct(const st_sst_reader *r); /* its file reads bypass the page cache */

#endif
