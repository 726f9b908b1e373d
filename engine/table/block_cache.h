/* block_cache.h -- a sharded LRU cache of decoded blocks, charged in bytes (RocksDB's LRUCache).
 *
 * Keys are (cache id, block offset). Every reader takes a fresh id from st_block_cache_new_id, so
 * a reused file number or a reopened table never sees another table's blocks. Values are opaque
 * pointers owned by the cache once inserted, freed through the deleter given at insert.
 * A lookup or insert returns a handle that pins the entry: a pinned entry is never evicted and
 * never freed, even if erased or replaced meanwhile, until its last handle is released.
 *
 * Sharding: the key hash picks one of 2^shard_bits shards; each has its own mutex, LRU list,
 * hash table and ceil(capacity / shards) bytes. Capacity is not strict: an insert that finds no
 * unpinned entry to evict still succeeds, so usage may exceed capacity while handles are held, and
 * comes back under it as they are released (C4).
 *
 * Priorities (midpoint insertion): each shard's LRU list is split into a high-priority pool, at
 * most high_pri_ratio of its capacity, on the recent end, and a low-priority pool below it.
 * ST_CACHE_PRI_HIGH entries, and hit entries given their second chance (see Recency), enter at
 * the head of the high pool; ST_CACHE_PRI_LOW entries enter at the head of the low pool. Overflow of the high
 * pool slides its oldest entries into the low pool, and eviction takes the oldest low entry
 * first, so a flood of new low-priority blocks (a scan) cannot push out the high pool. With
 * high_pri_ratio 0 the list is a plain LRU (up to the second chance).
 *
 * Recency (second chance, as CLOCK): a hit sets the entry's hit bit instead of moving it, which
 * would write both list neighbours (two cache misses per hit). When eviction reaches an entry
 * whose bit is set, it clears the bit and reinserts the entry at the head of the high pool (the
 * head of the list with high_pri_ratio 0) instead of evicting it; an entry hit at least once thus
 * outlives every entry not hit since it was inserted, as under LRU.
 *
 * Thread-safety: every function may run from any thread; a handle may be released from a thread
 * other than the one that got it. Deleters run without any cache lock held.
 * Invariants, per shard (checked under ST_DEBUG_INVARIANTS):
 * C1: an entry is in the hash table iff it is "in cache"; usage is the charge of the entries in
 *     cache plus that of entries erased or replaced but still pinned.
 * C2: every entry on the LRU list is in cache, and every unpinned entry in cache is on it. A
 *     lookup leaves its entry where it is (recency is a hit bit, see "Recency"); eviction takes
 *     pinned entries it meets off the list and their last release puts them back.
 * C3: the deleter runs exactly once per inserted value, when its entry is neither in the cache
 *     nor pinned.
 * C4: when no call is in progress, usage > capacity (the shard's, net of reservations) only if the
 *     LRU list is empty (everything
 *     left is pinned). */
#ifndef STRATA_TABLE_BLOCK_CACHE_H
#define STRATA_TABLE_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_block_cache st_block_cache;
typedef struct st_block_cache_handle st_block_cache_handle;

typedef enum st_cache_priority {
    ST_CACHE_PRI_LOW = 1,  /* data blocks */
    ST_CACHE_PRI_HIGH = 2, /* index and filter blocks */
} st_cache_priority;

/* Frees a value once its entry is neither in the cache nor pinned (C3). Runs with no lock held,
 * on whichever thread dropped the last reference; it must not call back into the same cache. */
typedef void (*st_block_cache_deleter)(uint64_t id, uint64_t off, void *value);

/* Bytes of cache bookkeeping per entry: callers add it to the bytes they charge for a value. */
#define ST_BLOCK_CACHE_ENTRY_OVERHEAD 96

/* Caches with shard_bits -1 get one shard per 512 KiB of capacity, rounded down to a power of
 * two and capped at 2^6: 16 shards from 8 MiB, 64 from 32 MiB; fewer below 8 MiB. */
#define ST_BLOCK_CACHE_MIN_SHARD_BYTES (512u << 10)
#define ST_BLOCK_CACHE_MAX_AUTO_SHARD_BITS 6
#define ST_BLOCK_CACHE_MAX_SHARD_BITS 16

/* A cache of capacity_bytes (0 is allowed: nothing stays unpinned) in 2^shard_bits shards
 * (-1: automatic, see above) with high_pri_ratio (0..1) of each shard reserved for the high pool.
 * On success *out is the caller's (st_block_cache_free); on failure *out is NULL.
 * Errors: ST_EINVAL (shard_bits outside -1..ST_BLOCK_CACHE_MAX_SHARD_BITS, ratio outside [0, 1]),
 * ST_ENOMEM. */
int st_block_cache_new(size_t capacity_bytes, int shard_bits, double high_pri_ratio, st_block_cache **out);

/* Frees every entry (calling its deleter) and the cache. NULL-safe. REQUIRES: no handle is
 * outstanding (asserted) and no reader opened with this cache is still alive: the cache must
 * outlive every user. */
void st_block_cache_free(st_block_cache *c);

/* A new id for a cache user (one per sstable reader): unique for the cache's lifetime, never 0. */
uint64_t st_block_cache_new_id(st_block_cache *c);

/* Looks up (id, off): 0 with *h pinning the entry (release it with st_block_cache_release), or
 * ST_ENOTFOUND with *h NULL. Counts a hit or a miss. */
int st_block_cache_lookup(st_block_cache *c, uint64_t id, uint64_t off, st_block_cache_handle **h);

/* Inserts value under (id, off), charged `charge` bytes, replacing any entry already there (the
 * old value is freed when its last pin goes). Unpinned entries are evicted, oldest first, to make
 * room. With h non-NULL the new entry is returned pinned in *h, even if that takes usage over
 * capacity. With h NULL and no room left the value is dropped at once, as if inserted and evicted
 * (the deleter has run when this returns; a value larger than a whole shard evicts nothing);
 * either way the caller must not touch value after a successful insert without a handle.
 * On success the cache owns value. On error the deleter is never called, value stays the
 * caller's and *h is NULL. Errors: ST_EINVAL (NULL deleter, unknown priority), ST_ENOMEM. */
int st_block_cache_insert(st_block_cache *c, uint64_t id, uint64_t off, void *value, size_t charge,
                          st_block_cache_deleter deleter, st_cache_priority pri, st_block_cache_handle **h);

/* The value a handle pins; valid until the handle is released. Lock-free. */
void *st_block_cache_value(const st_block_cache_handle *h);

/* Unpins h (NULL-safe). If the entry was erased or replaced meanwhile and this was its last pin,
 * or the cache is over capacity, the entry is freed here. */
void st_block_cache_release(st_block_cache *c, st_block_cache_handle *h);

/* Removes (id, off) from the cache if present; a pinned entry is freed at its last release. */
void st_block_cache_erase(st_block_cache *c, uint64_t id, uint64_t off);

/* Sets the total capacity (split as at creation) and evicts unpinned entries down to it. */
void st_block_cache_set_capacity(st_block_cache *c, size_t capacity_bytes);

/* Reservations: memory that lives outside the cache but shares its budget (each sstable
 * reader's index and filter). The shards' capacities become (capacity - reserved) split as
 * above, 0 if reservations exceed it, and unpinned entries are evicted down to that at once, so
 * cache + reservations stay within capacity while reservations fit in it. Each unreserve must
 * match an earlier reserve; every reservation must be gone when the cache is freed (asserted).
 * Costs a pass over the shards: for table opens and closes, not per lookup. */
void st_block_cache_reserve(st_block_cache *c, size_t bytes);
void st_block_cache_unreserve(st_block_cache *c, size_t bytes);

typedef struct st_cache_stats {
    uint64_t hits, misses;  /* lookups that found / did not find their key */
    uint64_t inserts;       /* successful st_block_cache_insert calls */
    uint64_t evictions;     /* entries removed to respect capacity (not erase or replace) */
    uint64_t usage_bytes;   /* C1: charge of entries in cache + erased-but-pinned ones */
    uint64_t pinned_bytes;  /* C2: the part of usage_bytes held by handles */
    uint64_t capacity_bytes;
    uint64_t reserved_bytes; /* st_block_cache_reserve: counted against capacity, not in usage */
    uint64_t entries;       /* entries in the cache (pinned or not) */
} st_cache_stats;

/* A snapshot summed over shards (each shard read under its lock; the sum is not atomic). */
void st_block_cache_stats(st_block_cache *c, st_cache_stats *out);

#ifdef ST_DEBUG_INVARIANTS
/* Walks every shard and asserts C1, C2, C4 and the pool accounting. Debug builds only. */
void st_block_cache_check_invariants(st_block_cache *c);
#endif

#endif
