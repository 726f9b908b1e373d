/* bloom.c -- cache-local bloom filter (RocksDB FastLocalBloom's scheme); see bloom.h.
 *
 * Layout: [num_lines * 64 bytes][u32 num_lines][u8 num_probes][u8 kind = 1]. For hash h:
 * line = (upper32(h) * num_lines) >> 32; probe i tests bit (x_i >> 23) of that line, where
 * x_0 = lower32(h) and x_{i+1} = x_i * 0x9E3779B9 (mod 2^32); bit j is byte j/8, mask 1 << (j%8).
 * num_lines = max(1, ceil(n * bits_per_key / 512)). */
#include "bloom.h"

#include <stdlib.h>

#include "sstable_format.h"
#include "strata/st_status.h"

int st_bloom_probes(int bits_per_key) {
    int k = (int)(bits_per_key * 0.69 + 0.5);
    return k < 1 ? 1 : (k > ST_BLOOM_MAX_PROBES ? ST_BLOOM_MAX_PROBES : k);
}

void st_bloom_builder_init(st_bloom_builder *b, int bits_per_key) {
    b->bits_per_key = bits_per_key < 1 ? 1 : bits_per_key;
    b->hashes = NULL;
    b->n = b->cap = 0;
}

void st_bloom_builder_destroy(st_bloom_builder *b) {
    free(b->hashes);
    b->hashes = NULL;
    b->n = b->cap = 0;
}

int st_bloom_builder_add(st_bloom_builder *b, uint64_t hash) {
    if (b->n && b->hashes[b->n - 1] == hash) return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        uint64_t *p = realloc(b->hashes, cap * sizeof *p);
        if (!p) return ST_ENOMEM;
        b->hashes = p;
        b->cap = cap;
    }
    b->hashes[b->n++] = hash;
    return 0;
}

size_t st_bloom_builder_count(const st_bloom_builder *b) { return b->n; }

static inline uint32_t line_of(uint64_t hash, uint32_t num_lines) {
    return (uint32_t)(((hash >> 32) * (uint64_t)num_lines) >> 32);
}

int st_bloom_builder_finish(st_bloom_builder *b, st_buf *out) {
    uint64_t bits = (uint64_t)b->n * (uint64_t)b->bits_per_key;
    uint64_t lines64 = (bits + ST_BLOOM_LINE_BITS - 1) / ST_BLOOM_LINE_BITS;
    if (lines64 == 0) lines64 = 1;
    if (lines64 > UINT32_MAX) return ST_ENOMEM;
    uint32_t lines = (uint32_t)lines64;
    int k = st_bloom_probes(b->bits_per_key);
    size_t bytes = (size_t)lines * ST_BLOOM_LINE_BYTES;
    int rc = st_buf_reserve(out, bytes + ST_BLOOM_TRAILER_BYTES);
    if (rc) return rc;
    uint8_t *base = out->data + out->len;
    memset(base, 0, bytes);
    for (size_t i = 0; i < b->n; i++) {
        uint64_t h = b->hashes[i];
        uint8_t *line = base + (size_t)line_of(h, lines) * ST_BLOOM_LINE_BYTES;
        uint32_t x = (uint32_t)h;
        for (int j = 0; j < k; j++, x *= ST_BLOOM_PROBE_MUL) {
            uint32_t bit = x >> 23;
            line[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
    st_put_fixed32(base + bytes, lines);
    base[bytes + 4] = (uint8_t)k;
    base[bytes + 5] = (uint8_t)ST_BLOOM_KIND_LOCAL512;
    out->len += bytes + ST_BLOOM_TRAILER_BYTES;
    b->n = 0;
    return 0;
}

void st_bloom_prefetch(st_slice filter, uint64_t hash) {
    if (filter.len < ST_BLOOM_TRAILER_BYTES + ST_BLOOM_LINE_BYTES) return;
    uint32_t lines = (uint32_t)((filter.len - ST_BLOOM_TRAILER_BYTES) / ST_BLOOM_LINE_BYTES);
    __builtin_prefetch(filter.data + (size_t)line_of(hash, lines) * ST_BLOOM_LINE_BYTES);
}

bool st_bloom_may_contain(st_slice filter, uint64_t hash) {
    if (filter.len < ST_BLOOM_TRAILER_BYTES) return true;
    const uint8_t *t = filter.data + filter.len - ST_BLOOM_TRAILER_BYTES;
    uint32_t lines = st_get_fixed32(t);
    int k = t[4];
    if (t[5] != ST_BLOOM_KIND_LOCAL512 || lines == 0 || k < 1 || k > ST_BLOOM_MAX_PROBES) return true;
    if ((uint64_t)lines * ST_BLOOM_LINE_BYTES != filter.len - ST_BLOOM_TRAILER_BYTES) return true;
    const uint8_t *line = filter.data + (size_t)line_of(hash, lines) * ST_BLOOM_LINE_BYTES;
    uint32_t x = (uint32_t)hash;
    for (int j = 0; j < k; j++, x *= ST_BLOOM_PROBE_MUL) {
        uint32_t bit = x >> 23;
        if (!(line[bit >> 3] & (1u << (bit & 7)))) return false;
    }
    return true;
}
