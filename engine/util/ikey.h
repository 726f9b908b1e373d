/* ikey.h -- internal keys: user key + 8-byte tag, the unit every memtable and table stores.
 *
 * Layout: user_key bytes, then fixed64 LE tag = (seq << 8) | kind. Order: user key ascending
 * (bytewise), then tag descending, so the newest version of a key comes first and a lookup key
 * (ukey, snapshot_seq, ST_KIND_SEEK) lands on the newest version visible to the snapshot.
 * Sequence numbers are 56 bits. Kinds are on disk: never renumber. */
#ifndef STRATA_UTIL_IKEY_H
#define STRATA_UTIL_IKEY_H

#include <stdbool.h>

#include "coding.h"

enum st_kind {
    ST_KIND_DEL = 1,
    ST_KIND_PUT = 2,
    ST_KIND_SEEK = 0xff, /* never stored: the highest kind, used to build lookup keys */
};

#define ST_SEQ_MAX ((UINT64_C(1) << 56) - 1)
#define ST_IKEY_TAG_BYTES 8

static inline uint64_t st_ikey_tag(uint64_t seq, int kind) { return (seq << 8) | (uint64_t)(kind & 0xff); }

typedef struct st_ikey_parts {
    st_slice ukey;
    uint64_t seq;
    int kind;
} st_ikey_parts;

/* False when the key is too short or its kind unknown: callers report ST_ECORRUPT. */
static inline bool st_ikey_parse(st_slice ikey, st_ikey_parts *out) {
    if (ikey.len < ST_IKEY_TAG_BYTES) return false;
    uint64_t tag = st_get_fixed64(ikey.data + ikey.len - ST_IKEY_TAG_BYTES);
    out->ukey = st_slice_make(ikey.data, ikey.len - ST_IKEY_TAG_BYTES);
    out->seq = tag >> 8;
    out->kind = (int)(tag & 0xff);
    return out->kind == ST_KIND_DEL || out->kind == ST_KIND_PUT;
}

/* REQUIRES: ikey.len >= 8. */
static inline st_slice st_ikey_user(st_slice ikey) { return st_slice_make(ikey.data, ikey.len - ST_IKEY_TAG_BYTES); }
static inline uint64_t st_ikey_seq(st_slice ikey) { return st_get_fixed64(ikey.data + ikey.len - 8) >> 8; }

/* Internal-key order. REQUIRES: both keys at least 8 bytes. */
static inline int st_ikey_cmp(st_slice a, st_slice b) {
    int c = st_slice_cmp(st_ikey_user(a), st_ikey_user(b));
    if (c) return c;
    uint64_t ta = st_get_fixed64(a.data + a.len - 8), tb = st_get_fixed64(b.data + b.len - 8);
    return ta > tb ? -1 : (ta < tb ? 1 : 0);
}

static inline int st_ikey_append(st_buf *b, st_slice ukey, uint64_t seq, int kind) {
    int rc = st_buf_append(b, ukey.data, ukey.len);
    return rc ? rc : st_buf_append_fixed64(b, st_ikey_tag(seq, kind));
}

#endif
