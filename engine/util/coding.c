/* coding.c -- varints and st_buf; see coding.h. */
#include "coding.h"

#include <stdlib.h>

#include "strata/st_status.h"

uint8_t *st_put_varint64(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

int st_varint_len(uint64_t v) {
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

const uint8_t *st_get_varint64(const uint8_t *p, const uint8_t *limit, uint64_t *v) {
    uint64_t r = 0;
    for (unsigned shift = 0; shift <= 63 && p < limit; shift += 7) {
        uint64_t byte = *p++;
        r |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

const uint8_t *st_get_varint32_slow(const uint8_t *p, const uint8_t *limit, uint32_t *v) {
    uint64_t x;
    p = st_get_varint64(p, limit, &x);
    if (!p || x > UINT32_MAX) return NULL;
    *v = (uint32_t)x;
    return p;
}

const uint8_t *st_get_lenprefixed(const uint8_t *p, const uint8_t *limit, st_slice *out) {
    uint32_t n;
    p = st_get_varint32(p, limit, &n);
    if (!p || (size_t)(limit - p) < n) return NULL;
    *out = st_slice_make(p, n);
    return p + n;
}

void st_buf_destroy(st_buf *b) {
    free(b->data);
    st_buf_init(b);
}

int st_buf_reserve(st_buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return 0;
    size_t need = b->len + extra;
    if (need < b->len) return ST_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return ST_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int st_buf_append(st_buf *b, const void *p, size_t n) {
    int rc = st_buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int st_buf_append_varint64(st_buf *b, uint64_t v) {
    int rc = st_buf_reserve(b, ST_VARINT64_MAX);
    if (rc) return rc;
    b->len = (size_t)(st_put_varint64(b->data + b->len, v) - b->data);
    return 0;
}

int st_buf_append_fixed32(st_buf *b, uint32_t v) {
    uint8_t t[4];
    st_put_fixed32(t, v);
    return st_buf_append(b, t, 4);
}

int st_buf_append_fixed64(st_buf *b, uint64_t v) {
    uint8_t t[8];
    st_put_fixed64(t, v);
    return st_buf_append(b, t, 8);
}

int st_buf_append_lenprefixed(st_buf *b, st_slice s) {
    int rc = st_buf_append_varint64(b, s.len);
    return rc ? rc : st_buf_append(b, s.data, s.len);
}
