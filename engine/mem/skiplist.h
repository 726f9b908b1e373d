/* skiplist.h -- LevelDB-style skiplist of opaque entries, nodes allocated in an st_arena or placed
 * in memory the caller reserved.
 *
 * A node is an entry pointer plus its next links; the entry bytes either live elsewhere
 * (st_skiplist_insert) or right behind the node in the same allocation (st_skiplist_reserve, and
 * st_skiplist_node_place, the memtable's path). The list orders entries by `cmp`. Max height
 * ST_SKIPLIST_MAX_HEIGHT, each level promoted with probability 1/4, drawn from a per-list PRNG
 * (fixed seed) or from a random value the caller gives (st_skiplist_height_from): list shapes
 * are reproducible either way. Links point forward only: an iterator steps back by searching
 * from the head for the last node before its entry, O(log n) like a seek (LevelDB's choice),
 * rather than paying a back link per node and keeping it right under concurrent inserts.
 *
 * Thread-safety: st_skiplist_insert and reserve/insert_reserved need one writer at a time (the
 * caller's lock: they share the list's PRNG and arena). st_skiplist_link_placed may run in any
 * number of threads at once, with each other and with the single-writer calls: links are
 * compare-and-swapped in (RocksDB's InlineSkipList does the same). Any number of lock-free
 * readers run concurrently with all of them. A node is filled completely (entry pointer and its
 * own next links) before a release-CAS links it in; readers follow links with acquire-loads, so a
 * reader that reaches a node also sees the entry bytes written before the insert call.
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

/* Concurrent insert into memory the caller allocated (e.g. reserved under its own lock, so the
 * arena needs no lock): size it with st_skiplist_node_bytes (a multiple of 8), lay the node out
 * with st_skiplist_node_place, write the entry bytes at the pointer it returns, then link. The
 * memory must be 8-byte aligned and live as long as the list's arena.
 * st_skiplist_height_from maps a random 64-bit value (high bits used) to a height. */
int st_skiplist_height_from(uint64_t random);
size_t st_skiplist_node_bytes(int height, size_t entry_bytes);
uint8_t *st_skiplist_node_place(void *mem, int height); /* returns the entry room */
/* Links the entry placed with height `height`. Any number of threads at once.
 * REQUIRES: no entry comparing equal is present or being linked (checked in debug builds). */
void st_skiplist_link_placed(st_skiplist *sl, uint8_t *entry, int height);

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
/* The last entry; invalid when the list is empty. */
void st_skiplist_iter_seek_last(st_skiplist_iter *it);
/* Last entry <= key (compared as in st_skiplist_iter_seek); invalid when there is none. */
void st_skiplist_iter_seek_for_prev(st_skiplist_iter *it, const void *key);
/* REQUIRES: valid. The last entry before the current one (a search from the head, O(log n));
 * invalid when the current entry is the first. */
void st_skiplist_iter_prev(st_skiplist_iter *it);
static inline bool st_skiplist_iter_valid(const st_skiplist_iter *it) { return it->node != NULL; }
/* REQUIRES: valid. Acquire: pairs with the release-store that linked the successor. */
static inline void st_skiplist_iter_next(st_skiplist_iter *it) {
    it->node = atomic_load_explicit(&it->node->next[0], memory_order_acquire);
}
/* REQUIRES: valid. */
static inline const uint8_t *st_skiplist_iter_entry(const st_skiplist_iter *it) { return it->node->entry; }

#endif
