/* memtable.h -- the in-memory write buffer: internal keys in a skiplist, everything in one arena.
 *
 * Entry layout (LevelDB db/memtable.cc plus a hash-chain link), one arena allocation per add
 * shared with its skiplist node (st_skiplist_reserve):
 *   hnext (pointer) | varint32 ikey_len | ikey (user key + fixed64 tag, util/ikey.h) |
 *   varint32 val_len | value
 * Entries are ordered by internal key (user key ascending, tag descending).
 *
 * Thread-safety: reservations (st_memtable_reserve, st_memtable_add) one at a time, under the
 * caller's lock; st_memtable_add_in into reserved space from any number of threads at once, with
 * each other and with a reservation (the skiplist and the hash chains take entries by
 * compare-and-swap). Any number of readers (get, iterators) run concurrently with all of them,
 * lock-free. ref/unref and the counters are safe from any thread.
 * M1 an entry, once added, is never changed or freed before the last reference goes (views
 *    returned by get and iterators rely on it).
 * M2 no two entries share an internal key: the db hands out each sequence number once.
 * M4 in the hash index, the versions of a user key are chained newest first, whatever order they
 *    were added in. */
#ifndef STRATA_MEM_MEMTABLE_H
#define STRATA_MEM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "strata/st_iter.h"

typedef struct st_memtable st_memtable;

#define ST_MEMTABLE_DEFAULT_BLOCK 4096 /* arena block when 0 is passed (LevelDB's size) */

/* A memtable allocating arena blocks of arena_block_bytes (0: ST_MEMTABLE_DEFAULT_BLOCK). Its
 * bytes start at one block: the skiplist head lives in the arena. On success *out has refcount
 * 1 and the caller releases it with st_memtable_unref; on failure *out is NULL.
 * Errors: ST_EINVAL (arena_block_bytes nonzero but < ST_ARENA_MIN_BLOCK), ST_ENOMEM. */
int st_memtable_new(size_t arena_block_bytes, st_memtable **out);
void st_memtable_ref(st_memtable *m);
void st_memtable_unref(st_memtable *m); /* NULL-safe; frees at 0 */

/* Adds (ukey, seq, kind) -> value, copying both into the arena: st_memtable_reserve plus
 * st_memtable_add_in. REQUIRES: serialised with other reservations; kind is ST_KIND_PUT or
 * ST_KIND_DEL; seq <= ST_SEQ_MAX; (ukey, seq) not added before (M2).
 * Errors: ST_ENOMEM, ST_EINVAL (ukey or value over 4 GiB). */
int st_memtable_add(st_memtable *m, uint64_t seq, int kind, st_slice ukey, st_slice value);

/* Adds in two phases, so that many writers can add at once (the db's write path): under the
 * caller's write lock, sum st_memtable_add_bytes over the adds and reserve that much; then, without
 * the lock, st_memtable_add_in each of them into the reservation, in any thread. The size of an add
 * depends only on (seq, key and value lengths), so both phases agree. Unused reserved bytes are
 * simply counted in the memtable's size. A reservation belongs to one thread at a time; nothing
 * to free. */
typedef struct st_memtable_space {
    uint8_t *p;
    size_t left;
} st_memtable_space;

/* Errors: ST_EINVAL (ukey or value over 4 GiB). */
int st_memtable_add_bytes(uint64_t seq, size_t ukey_len, size_t value_len, size_t *out);
/* REQUIRES: serialised with other reservations and st_memtable_add. Errors: ST_ENOMEM. */
int st_memtable_reserve(st_memtable *m, size_t bytes, st_memtable_space *out);
/* Same contract as st_memtable_add, into `sp`; any number of threads at once.
 * Errors: ST_EINVAL (sizes, or sp too small: a caller bug; nothing is added). */
int st_memtable_add_in(st_memtable *m, st_memtable_space *sp, uint64_t seq, int kind, st_slice ukey,
                       st_slice value);

#define ST_MEMTABLE_STACK_KEY 240 /* longer user keys make st_memtable_get malloc */

/* Finds the newest entry for ukey with seq <= snap_seq (values above ST_SEQ_MAX act as
 * ST_SEQ_MAX). 0: *kind is ST_KIND_PUT or ST_KIND_DEL and *value a view (empty for DEL) valid
 * while the caller holds a reference on m. ST_ENOTFOUND: no such entry. ST_ENOMEM: only for
 * user keys over ST_MEMTABLE_STACK_KEY bytes, whose lookup key is malloc'ed. Any thread. */
int st_memtable_get(st_memtable *m, st_slice ukey, uint64_t snap_seq, int *kind, st_slice *value);

/* Cache hints for a batch of gets (st_db_prefetch), in two passes over the batch so that the
 * misses of all its keys overlap: _bucket starts loading the hash bucket of the user key whose
 * st_hash64 is `hash`, _chain (once the bucket has arrived) the first entry of its chain. Neither
 * changes anything or waits; any thread. */
void st_memtable_prefetch_bucket(st_memtable *m, uint64_t hash);
void st_memtable_prefetch_chain(st_memtable *m, uint64_t hash);

size_t st_memtable_bytes(const st_memtable *m);     /* arena bytes; any thread */
uint64_t st_memtable_entries(const st_memtable *m); /* entries added; any thread */

/* An st_iter over (internal key, value) in internal-key order, both ways; seek and seek_for_prev
 * take an internal key (a target shorter than the 8-byte tag makes the iterator invalid with
 * status ST_EINVAL). prev is a skiplist search, O(log n), where next is one step.
 * Holds a reference on m until st_iter_free. Readers may iterate while the writer adds; an
 * entry added behind the iterator's position is not seen. Views are valid while the iterator
 * lives (M1), longer than st_iter.h promises. Errors: ST_ENOMEM (*out NULL). */
int st_memtable_iter_new(st_memtable *m, st_iter **out);

#endif
