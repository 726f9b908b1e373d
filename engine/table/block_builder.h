/* block_builder.h -- builds one prefix-compressed block (data, index, properties or metaindex).
 * Format: docs/FORMAT.md#sstable ("Blocks"); constants in sstable_format.h.
 *
 * Each entry stores the length of the prefix it shares with the previous key; every
 * restart_interval-th entry is a restart point storing its whole key (shared = 0). finish()
 * appends u32 restart_offset[n] and u32 n; an empty block still has one restart (offset 0).
 * BB1: keys are added in strictly increasing order of the comparator the reader will use (the
 *      builder does not compare: the table builder checks order once, for all its blocks).
 * BB2: a block stays below 4 GiB (restart offsets are u32); add() refuses to grow past it. */
#ifndef STRATA_TABLE_BLOCK_BUILDER_H
#define STRATA_TABLE_BLOCK_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/coding.h"

typedef struct st_block_builder {
    st_buf buf;           /* entries so far; after finish() the whole block */
    st_buf restarts;      /* u32 LE restart offsets */
    st_buf last_key;      /* the previous key, for prefix sharing */
    int restart_interval; /* >= 1 */
    int counter;          /* entries since the last restart */
    size_t entries;
    bool finished;
} st_block_builder;

/* REQUIRES: restart_interval >= 1. */
void st_block_builder_init(st_block_builder *b, int restart_interval);
void st_block_builder_destroy(st_block_builder *b);
/* Empties the builder for the next block (keeps its memory). */
void st_block_builder_reset(st_block_builder *b);
/* REQUIRES: !finished, key greater than every key added since reset (BB1).
 * Errors: ST_EINVAL (block would exceed 4 GiB), ST_ENOMEM. */
int st_block_builder_add(st_block_builder *b, st_slice key, st_slice value);
/* Appends the restart array and returns the block; the view is valid until reset/destroy.
 * Errors: ST_ENOMEM. */
int st_block_builder_finish(st_block_builder *b, st_slice *out);
/* Size of the block if finished now. */
size_t st_block_builder_size_estimate(const st_block_builder *b);
static inline bool st_block_builder_empty(const st_block_builder *b) { return b->entries == 0; }

#endif
