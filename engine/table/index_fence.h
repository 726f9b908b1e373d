/* index_fence.h -- a compact search array over an SSTable's index block, for point lookups.
 *
 * Why: the index block holds one entry per data block (16 Ki entries for a 64 MiB table of 4 KiB
 * blocks). Binary-searching it in place decodes an entry per step, and each step touches a cold
 * line of the restart array and another of the entry: ~28 cache misses per lookup, the largest
 * single cost of a GET served from a table. The fence keeps, per index entry, the 8 bytes of its
 * user key that follow the prefix every index key shares, as a big-endian u64 in one contiguous
 * array (8 bytes per data block, 0.2% of 4 KiB blocks): its binary search touches a few lines, the
 * upper levels of which stay cached across lookups, and compares integers.
 *
 * F1 (order): index keys are sorted by user key, and the fence is a monotone (non-decreasing)
 * function of the user key among keys with the common prefix: zero-padding a short key keeps
 * shorter-is-smaller. So every entry whose fence is below fence(ukey) has a user key below ukey,
 * and every entry whose fence is above it has one above. Only entries with an equal fence need a
 * real key comparison.
 * F2: the fence answers only for restart-interval-1 blocks (index blocks are written that way),
 * whose restart i is entry i, and only for user keys with the common prefix; otherwise the caller
 * seeks the block as usual. It never reads the block after it is built.
 * Immutable after st_index_fence_build; shareable between threads. */
#ifndef STRATA_TABLE_INDEX_FENCE_H
#define STRATA_TABLE_INDEX_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"

typedef struct st_index_fence {
    uint64_t *fence; /* one per index entry; NULL: the fence cannot answer (F2) */
    uint32_t n;      /* entries */
    uint8_t *prefix; /* the user-key prefix every entry shares */
    size_t plen;
} st_index_fence;

/* Builds the fence of an internal-key index block. A block the fence cannot serve (not
 * restart-interval 1, fewer than 2 entries) gives a disabled fence and 0. Errors: ST_ECORRUPT for a
 * malformed entry, ST_ENOMEM. The fence owns its memory: st_index_fence_destroy frees it. */
int st_index_fence_build(st_index_fence *f, const st_block *index);
void st_index_fence_destroy(st_index_fence *f);
size_t st_index_fence_memory(const st_index_fence *f);

/* For user key ukey: false if the fence cannot answer (F2). Else true with [*lo, *hi): every entry
 * before lo has a user key < ukey, every entry from hi on one > ukey (F1), so the first entry
 * >= any internal key of ukey is in [lo, hi], and is entry lo when lo == hi. */
bool st_index_fence_range(const st_index_fence *f, const uint8_t *ukey, size_t ukey_len, uint32_t *lo, uint32_t *hi);

/* Positions ii, set on the block f was built from, at its first entry >= the internal key target,
 * as st_iter_seek would: through the fence when it can answer (only entries in [lo, hi) are
 * compared), else by st_iter_seek itself. */
void st_index_fence_seek(const st_index_fence *f, st_block_iter *ii, st_slice target);

#endif
