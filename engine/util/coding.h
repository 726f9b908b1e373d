/* coding.h -- little-endian fixed-width integers, LEB128 varints and a growable byte buffer.
 *
 * All on-disk integers in Strata are little-endian (docs/FORMAT.md, "Conventions"). Decoders take
 * a [p, limit) range and never read past limit: they return NULL on truncated input, so callers
 * turn that into ST_ECORRUPT instead of reading garbage. */
#ifndef STRATA_UTIL_CODING_H
#define STRATA_UTIL_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "strata/st_iter.h"

#define ST_VARINT32_MAX 5
#define ST_VARINT64_MAX 10

static inline void st_put_fixed32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void st_put_fixed64(uint8_t *p, uint64_t v) {
    st_put_fixed32(p, (uint32_t)v);
    st_put_fixed32(p + 4, (uint32_t)(v >> 32));
}
static inline void st_put_fixed16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}
static inline uint16_t st_get_fixed16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t st_get_fixed32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t st_get_fixed64(const uint8_t *p) {
    return (uint64_t)st_get_fixed32(p) | ((uint64_t)st_get_fixed32(p + 4) << 32);
}

/* Writes v at p (room for ST_VARINT64_MAX bytes); returns the byte after it. */
uint8_t *st_put_varint64(uint8_t *p, uint64_t v);
static inline uint8_t *st_put_varint32(uint8_t *p, uint32_t v) { return st_put_varint64(p, v); }
int st_varint_len(uint64_t v);

/* Decodes a varint from [p, limit); NULL when truncated or over-long. */
const uint8_t *st_get_varint64(const uint8_t *p, const uint8_t *limit, uint64_t *v);
const uint8_t *st_get_varint32_slow(const uint8_t *p, const uint8_t *limit, uint32_t *v);
/* Inline for the one-byte case: block entry lengths are nearly always < 128, and block search
 * decodes three per entry it looks at. */
static inline const uint8_t *st_get_varint32(const uint8_t *p, const uint8_t *limit, uint32_t *v) {
    if (p < limit && *p < 0x80) {
        *v = *p;
        return p + 1;
    }
    return st_get_varint32_slow(p, limit, v);
}
/* varint32 length followed by that many bytes; NULL when truncated. */
const uint8_t *st_get_lenprefixed(const uint8_t *p, const uint8_t *limit, st_slice *out);

/* Growable buffer. Owner: whoever calls st_buf_init; release with st_buf_destroy. */
typedef struct st_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} st_buf;

static inline void st_buf_init(st_buf *b) { b->data = NULL; b->len = b->cap = 0; }
void st_buf_destroy(st_buf *b);
static inline void st_buf_clear(st_buf *b) { b->len = 0; }
/* Ensures room for `extra` more bytes: 0 or ST_ENOMEM. */
int st_buf_reserve(st_buf *b, size_t extra);
int st_buf_append(st_buf *b, const void *p, size_t n);
int st_buf_append_varint64(st_buf *b, uint64_t v);
int st_buf_append_fixed32(st_buf *b, uint32_t v);
int st_buf_append_fixed64(st_buf *b, uint64_t v);
int st_buf_append_lenprefixed(st_buf *b, st_slice s); /* varint32 length + bytes */
static inline st_slice st_buf_slice(const st_buf *b) { return st_slice_make(b->data, b->len); }

#endif
