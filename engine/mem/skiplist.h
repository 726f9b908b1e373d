/* skiplist.h -- LevelDB-style skiplist of opaque entries, nodes allocated in an st_arena.
 *
 * A node is an entry pointer plus its next links, allocated in the arena; the entry bytes either
 * live elsewhere (st_skiplist_insert) or right behind the node in the same allocation
 * (st_skiplist_reserve, the memtable's path). The list orders entries by `cmp`. Max height
 * ST_SKIPLIST_MAX_HEIGHT, each level promoted with probability 1/4 from a per-list PRNG (fixed
 * seed: list shapes are reproducible).
 *
 * Thread-safety: one writer at a time (the caller's lock), any number of lock-free readers
 * concurrently with it. A node is filled completely (entry pointer and its own next links) before
 * release-stores link it in; readers follow links with acquire-loads, so a reader that reaches a
 * node also sees the entry bytes written before the insert call.
 *
 * Invariants:
 *   S1 nodes are never deleted: a node reached by a reader stays valid as long as the arena does.
 *   S2 a node's entry (pointer and bytes) never changes once linked.
 *   S3 the level-0 list is sorted strictly ascending by cmp; every level-i list (i > 0) is a
 *      subsequence of level i-1's, so it is sorted too. */
#ifndef STRATA_MEM_SKIPLIST_H
#define STRATA_MEM_SKIPLIST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arena.h"

#define ST_SKIPLIST_MAX_HEIGHT 12

/* Orders two entries: <0, 0, >0. */
typedef int (*st_skiplist_cmp)(const uint8_t *a, const uint8_t *b);
/* Orders an entry against a lookup key of the caller's own type (e.g. an st_slice internal key),
 * so seeks need no fake entry built: <0 when entry sorts before key, 0, >0. */
typedef int (*st_skiplist_key_cmp)(const uint8_t *entry, const void *key);

/* Private; in the header only so iteration inlines. `height` links inline, then (reserved
 * nodes) the entry bytes. */
typedef struct st_skiplist_node st_skiplist_node;
struct st_skiplist_node {
    const uint8_t *entry;
    _Atomic(st_skiplist_node *) next[]; /* next[i]: successor at level i */
};

/* Caller-allocated (embed it); fields are private. */
typedef struct st_skiplist {
    st_skiplist_cmp cmp;
    st_skiplist_key_cmp key_cmp;
    st_arena *arena;
    st_skiplist_node *head;    /* entry NULL, ST_SKIPLIST_MAX_HEIGHT links */
    _Atomic int max_height;    /* read relaxed: a stale value only costs a few comparisons */
    uint64_t rng;              /* writer only */
    st_skiplist_node *reserved; /* writer only: between reserve and insert_reserved */
    int reserved_height;
} st_skiplist;

/* Allocates the head node from `arena`, which must outlive the list. There is no destroy: the
 * list dies with its arena. key_cmp may be NULL, then seeks take an entry and use cmp.
 * Errors: ST_ENOMEM. */
int st_skiplist_init(st_skiplist *sl, st_arena *arena, st_skiplist_cmp cmp,
                     st_skiplist_key_cmp key_cmp);

/* Links `entry`, which must stay unchanged and alive as long as the arena (S2).
 * REQUIRES: external writer lock; no entry comparing equal is present (checked in debug builds).
 * Errors: ST_ENOMEM (the list is unchanged). */
int st_skiplist_insert(st_skiplist *sl, const uint8_t *entry);

/* Two-phase insert for entries the list's arena should hold: reserve returns room for
 * entry_bytes placed right behind a fresh node (one allocation, so a search reads node and entry
 * from adjacent memory instead of two random places); write the entry there, then
 * st_skiplist_insert_reserved links it. Same contract as st_skiplist_insert.
 * REQUIRES: writer lock held across both calls; one reservation at a time.
 * Returns NULL on ENOMEM (recorded with st_err; nothing is reserved). */
uint8_t *st_skiplist_reserve(st_skiplist *sl, size_t entry_bytes);
void st_skiplist_insert_reserved(st_skiplist *sl);

/* True when an entry comparing equal to `entry` is linked. Any thread. */
bool st_skiplist_contains(const st_skiplist *sl, const uint8_t *entry);

/* Walks every level (S3) and aborts on disorder. Debug builds only; REQUIRES: no concurrent
 * writer (hold the writer lock). */
#ifdef ST_DEBUG_INVARIANTS
void st_skiplist_check_invariants(const st_skiplist *sl);
#endif

/* A position in the list; caller-allocated, nothing to free. Any thread; sees entries inserted
 * after it was positioned when it moves past their place. */
typedef struct st_skiplist_iter {
    const st_skiplist *list;
    const st_skiplist_node *node; /* NULL: not valid */
} st_skiplist_iter;

void st_skiplist_iter_init(st_skiplist_iter *it, const st_skiplist *sl); /* not valid yet */
void st_skiplist_iter_seek_first(st_skiplist_iter *it);
/* First entry >= key (by key_cmp, or cmp with key an entry when key_cmp is NULL). */
void st_skiplist_iter_seek(st_skiplist_iter *it, const void *key);
static inline bool st_skiplist_iter_valid(const st_skiplist_iter *it) { return it->node != NULL; }
/* REQUIRES: valid. Acquire: pairs with the release-store that linked the successor. */
static inline void st_skiplist_iter_next(st_skiplist_iter *it) {
    it->node = atomic_load_explicit(&it->node->next[0], memory_order_acquire);
}
/* REQUIRES: valid. */
static inline const uint8_t *st_skiplist_iter_entry(const st_skiplist_iter *it) { return it->node->entry; }

#endif
