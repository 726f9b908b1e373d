/* block.h -- reading one uncompressed block: data, index, properties or metaindex.
 * Format: docs/FORMAT.md#sstable ("Blocks"); written by block_builder.h.
 *
 * st_block_init validates the restart array once (count, bounds, order); entries are validated
 * as the iterator decodes them. Block bytes come from disk and are never trusted: a malformed
 * entry makes the iterator invalid with status ST_ECORRUPT, never an out-of-bounds read.
 * Keys are compared as internal keys (data and index blocks: st_ikey_cmp, keys shorter than 8
 * bytes are corruption) or bytewise (properties, metaindex).
 * Thread-safety: an st_block is immutable and shareable; an iterator belongs to one thread. */
#ifndef STRATA_TABLE_BLOCK_H
#define STRATA_TABLE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strata/st_iter.h"
#include "util/coding.h"

typedef enum st_block_order {
    ST_BLOCK_IKEY = 1,  /* internal keys, st_ikey_cmp */
    ST_BLOCK_BYTES = 2, /* bytewise, st_slice_cmp */
} st_block_order;

/* A view of a validated block; the bytes are borrowed and must outlive every use. */
typedef struct st_block {
    const uint8_t *data;
    size_t restarts_off; /* entries are data[0, restarts_off); the restart array follows */
    uint32_t nrestarts;  /* >= 1 */
} st_block;

/* Checks the restart array of `contents`: ST_ECORRUPT if the count or an offset is impossible. */
int st_block_init(st_block *b, st_slice contents);

/* One entry decoded by a backward step (block.c). */
typedef struct st_block_back_ent {
    size_t off, next_off; /* the entry's offset and the next entry's */
    size_t key_off;       /* its key: back_keys[key_off, key_off + key_len) */
    size_t key_len;
    st_slice value;       /* views the block */
} st_block_back_ent;

/* Block iterator, both ways. Embeddable (st_block_iter_init/_set/_destroy: no allocation per
 * block) or heap-allocated (st_block_iter_new). Keys and values are views valid until the next
 * move, the next st_block_iter_set, or destroy. Every seek resets a sticky status. A backward
 * step that leaves its restart interval decodes that interval from the restart point before the
 * current entry and keeps the decoded entries (back, back_keys), so the steps back through it
 * cost O(1) each: about what next costs, after one forward pass over the interval (block.c). */
typedef struct st_block_iter {
    st_iter base;         /* first member: usable through st_iter_* */
    st_block blk;
    st_block_order order;
    size_t cur;           /* offset of the current entry */
    size_t next_off;      /* offset of the entry after it */
    st_slice key, value;  /* key views the block (restart points), kbuf or back_keys */
    st_buf kbuf;          /* assembled prefix-compressed keys */
    int status;
    bool valid;
    bool heap;            /* destroy frees the struct */
    void *owned;          /* freed by destroy (may be NULL) */
    st_block_back_ent *back; /* entries of the interval the last backward decode read, in order */
    uint32_t back_n, back_cap;
    st_buf back_keys;     /* their keys, whole */
} st_block_iter;

/* Initialises an embedded iterator over an empty block (invalid until st_block_iter_set). */
void st_block_iter_init(st_block_iter *it, st_block_order order);
/* Points the iterator at b (unpositioned: invalid, status 0); keeps its key buffer. */
void st_block_iter_set(st_block_iter *it, const st_block *b);
/* Releases an embedded iterator's memory (same as st_iter_free on a heap one). */
void st_block_iter_destroy(st_block_iter *it);

/* Positions the iterator at restart point i (its entry has a whole key); i == nrestarts leaves it
 * invalid with status 0 (past the end), as does the empty block; a malformed entry, ST_ECORRUPT. In a block
 * written with restart interval 1 (index blocks) restart i is entry i. */
void st_block_iter_seek_restart(st_block_iter *it, uint32_t i);
/* Offset of restart point i < b->nrestarts. */
uint32_t st_block_restart_offset(const st_block *b, uint32_t i);

/* A heap iterator over b. If `owned` is not NULL it is free()d with the iterator (pass the buffer
 * holding b's bytes to hand it over). On failure *out is NULL and `owned` is still the caller's.
 * Errors: ST_ENOMEM. */
int st_block_iter_new(const st_block *b, st_block_order order, void *owned, st_iter **out);

/* Looks up `key` exactly in a bytewise-ordered block (metaindex, properties): 0 and *value, or
 * ST_ENOTFOUND, or ST_ECORRUPT. */
int st_block_find(const st_block *b, st_slice key, st_slice *value);

#endif
