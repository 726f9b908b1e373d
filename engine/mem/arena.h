/* arena.h -- bump allocator for the memtable: many small allocations, freed all at once.
 *
 * Thread-safety: one allocating thread; st_arena_bytes() may be read from any thread.
 * A1: every pointer returned is 8-byte aligned and stays valid until st_arena_free.
 * A2: st_arena_bytes() never decreases and counts every byte obtained from malloc for blocks
 *     (block headers included): it is what "memtable full" is decided on. */
#ifndef STRATA_MEM_ARENA_H
#define STRATA_MEM_ARENA_H

#include <stddef.h>

#define ST_ARENA_MIN_BLOCK 256 /* smaller blocks would make most requests "large" */

typedef struct st_arena st_arena;

/* Creates an arena carving allocations out of block_bytes blocks (rounded up to a multiple of 8).
 * On success *out is the caller's, released with st_arena_free; on failure *out is NULL.
 * Errors: ST_EINVAL (block_bytes < ST_ARENA_MIN_BLOCK), ST_ENOMEM. */
int st_arena_new(size_t block_bytes, st_arena **out);

/* Frees every allocation at once. NULL-safe. */
void st_arena_free(st_arena *a);

/* n bytes, 8-byte aligned (n == 0 still returns a distinct pointer). A request that does not fit
 * the current block's tail starts a new block, except that one over a quarter of the block size
 * gets a block of its own, so at most a quarter block is ever abandoned.
 * Returns NULL when malloc fails or n is absurdly large; the arena stays usable. */
void *st_arena_alloc(st_arena *a, size_t n);

/* Total bytes obtained from malloc so far (A2). Any thread; relaxed, so possibly a little stale. */
size_t st_arena_bytes(const st_arena *a);

#endif
