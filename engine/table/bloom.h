/* bloom.h -- the full-file, cache-local bloom filter of an SSTable.
 * Format: docs/FORMAT.md#sstable ("Filter block"); constants in sstable_format.h.
 *
 * Keys are added as 64-bit hashes (st_hash64 of the user key). A key's probes all fall in one
 * 64-byte line, chosen from the hash's upper 32 bits, so a lookup costs one cache miss.
 * B1: no false negatives: every hash added answers "maybe" from the finished filter.
 * B2: a malformed filter answers "maybe" for everything (never hides a key). */
#ifndef STRATA_TABLE_BLOOM_H
#define STRATA_TABLE_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/coding.h"

typedef struct st_bloom_builder {
    int bits_per_key;
    uint64_t *hashes; /* added so far, consecutive duplicates dropped */
    size_t n, cap;
} st_bloom_builder;

/* Probes per key for bits_per_key: round(bits_per_key * 0.69), clamped to [1, 30]. */
int st_bloom_probes(int bits_per_key);

/* REQUIRES: bits_per_key >= 1. */
void st_bloom_builder_init(st_bloom_builder *b, int bits_per_key);
void st_bloom_builder_destroy(st_bloom_builder *b);
/* Adds a key's hash; a hash equal to the previous one is dropped (consecutive versions of one user
 * key). Errors: ST_ENOMEM. */
int st_bloom_builder_add(st_bloom_builder *b, uint64_t hash);
size_t st_bloom_builder_count(const st_bloom_builder *b);
/* Appends the filter for every hash added to `out` and empties the builder.
 * Errors: ST_ENOMEM. */
int st_bloom_builder_finish(st_bloom_builder *b, st_buf *out);

/* False only if `hash` was certainly never added to the filter. */
bool st_bloom_may_contain(st_slice filter, uint64_t hash);
/* Starts loading the one cache line st_bloom_may_contain(filter, hash) will read; a hint only. */
void st_bloom_prefetch(st_slice filter, uint64_t hash);

#endif
