/* zrank.h -- order statistics for sorted sets: which score-index entry holds rank r, and how many
 * entries sort before a key, in O(log n) engine reads instead of a walk of O(rank) entries.
 *
 * The index is a counted tree kept as engine keys in the set's element space KS_RANKS, beside its
 * score index (KS_SCORES; keys order(score) BE | member, cmd_zset.c). Level h holds entries
 *   level u8 | 0x00 | sep  -> count u64 LE   (the entries in (previous sep, sep])
 *   level u8 | 0x01        -> count u64 LE   (the sentinel: everything above the last sep)
 * so every level partitions the score index into ranges with their sizes, and the separators of
 * level h+1 are a subset of those of level h (a level-h+1 range is a run of level-h ranges).
 * Level 0 ranges hold about ZRANK_LEAF entries, level h ones ZRANK_LEAF * ZRANK_FANOUT^h (split above
 * twice that, merged into the next range below a quarter); the set's record says how many levels
 * there are (ks_coll.rank_levels; 0: no index). A lookup reads a few dozen entries per level from
 * the top and at most 2 * ZRANK_LEAF live score-index entries at the bottom (and the tombstones of
 * removed entries among them, until compaction drops them).
 *
 * Sets of up to 2 * ZRANK_LEAF members have no index (a walk is as cheap); it is built when a set
 * grows past that and dropped when it shrinks below ZRANK_LEAF / 2. Every write to a score index
 * goes through a zrank_log and zrank_apply, in the same batch as the entries it counts, so the
 * counts are exactly the score index's (a crash keeps or loses both). The entries share the set's
 * version, so DEL and overwrite drop them with the rest (keyspace.h, K4). */
#ifndef STRATA_NET_ZRANK_H
#define STRATA_NET_ZRANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

#define ZRANK_LEAF 128u
#define ZRANK_FANOUT 32u
#define ZRANK_MAX_LEVELS 8u

/* The changes one command makes to one set's score index: keys inserted (+1) and removed (-1), in
 * any order; a key may come and go several times. Owns copies of the keys. */
typedef struct zrank_log {
    uint8_t *bytes;
    size_t blen, bcap;
    struct zrank_change {
        size_t off, len;
        int delta;
    } *v;
    size_t n, cap;
} zrank_log;

void zrank_log_init(zrank_log *l);
void zrank_log_free(zrank_log *l); /* leaves l empty and reusable */
/* 0 or KS_ENOMEM. */
int zrank_log_add(zrank_log *l, const uint8_t *key, size_t len, int delta);

/* Brings the index of the set (ck, c) up to date with l, whose changes are in b but not yet
 * written: reads the index and the score index as k sees them (before b), writes the changed
 * index entries into b and sets c->rank_levels. c is the record as the command leaves it (size
 * and bounds after the command); before, the record as the command found it (NULL for a new set):
 * its low bound lets seeks skip the separators deleted below it. Call under the key's lock, once
 * per command, before the record goes into b. l is left as it was. */
int zrank_apply(ks *k, ks_batch *b, const ks_ckey *ck, const ks_coll *before, ks_coll *c, zrank_log *l);

/* The score-index key at rank r (0 <= r < c->size, counted from the lowest): 0 with *key
 * malloc'ed (caller frees), KS_ENOTFOUND when c has no index (the caller walks), KS_ECORRUPT when
 * the index and the entries disagree, or an engine error. */
int zrank_key_at(ks *k, const ks_ckey *ck, const ks_coll *c, uint64_t r, uint8_t **key, size_t *len);

/* How many score-index entries sort before key (which need not be an entry): 0, KS_ENOTFOUND
 * when c has no index, or an error as above. */
int zrank_count_below(ks *k, const ks_ckey *ck, const ks_coll *c, const uint8_t *key, size_t len, uint64_t *out);

/* For tests and repair: checks every index entry of the set against its score index (counts,
 * nesting of the levels, that no range but a sentinel is empty). O(n). 0, or KS_ECORRUPT with
 * what is wrong in msg. */
int zrank_check(ks *k, const ks_ckey *ck, const ks_coll *c, char *msg, size_t msglen);

#endif
