/* hash.h -- the checksum and hash functions of every on-disk structure (XXH3 from libxxhash).
 *
 * st_checksum32 is the low 32 bits of XXH3-64: used by WAL/MANIFEST record headers and block
 * trailers. st_hash64 is XXH3-64: bloom filters and whole-file checksums. Changing either changes
 * the on-disk format (docs/FORMAT.md). */
#ifndef STRATA_UTIL_HASH_H
#define STRATA_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t st_hash64(const void *p, size_t n) { return XXH3_64bits(p, n); }
static inline uint32_t st_checksum32(const void *p, size_t n) { return (uint32_t)XXH3_64bits(p, n); }

/* Streaming XXH3-64 for whole files, fed as they are written. */
typedef XXH3_state_t st_hash_state;
static inline void st_hash_begin(st_hash_state *s) { XXH3_64bits_reset(s); }
static inline void st_hash_feed(st_hash_state *s, const void *p, size_t n) { XXH3_64bits_update(s, p, n); }
static inline uint64_t st_hash_end(const st_hash_state *s) { return XXH3_64bits_digest(s); }

#endif
