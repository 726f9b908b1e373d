/* block.c -- block reader and iterator; see block.h.
 *
 * Block: entries, then u32 restart_offset[n], u32 n. Valid blocks have n >= 1,
 * restart_offset[0] == 0, offsets strictly increasing and below the restart array (the empty
 * block is entries-free with the single offset 0). An entry at a restart point has shared == 0,
 * so seek binary-searches restart keys as plain views and then scans forward. The iterator keeps
 * a key as a view into the block while it is whole and assembles it in kbuf only when an entry
 * shares a prefix, so restart-interval-1 blocks (index, meta) never copy keys.
 * Entries link forward only, so prev binary-searches the restart array for the last restart
 * point before the current entry and decodes forward from there to the entry whose successor is
 * the current one (LevelDB's Block::Iter::Prev). It keeps every entry it decodes (offsets, whole
 * keys, value views: RocksDB's prev-entry cache), as seek_last does for the last interval, and
 * the following steps back through that interval are served from what was kept: a backward scan
 * decodes each entry once, as a forward one does, plus a copy of each key. */
#include "block.h"

#include <stdlib.h>

#include "util/err.h"
#include "util/ikey.h"

static uint32_t restart_at(const st_block *b, uint32_t i) {
    return st_get_fixed32(b->data + b->restarts_off + 4 * (size_t)i);
}

int st_block_init(st_block *b, st_slice contents) {
    b->data = contents.data;
    b->restarts_off = 0;
    b->nrestarts = 0;
    if (contents.len < 8) return st_err(ST_ECORRUPT, "block: %zu bytes is too short", contents.len);
    uint32_t n = st_get_fixed32(contents.data + contents.len - 4);
    if (n == 0 || n > (contents.len - 4) / 4)
        return st_err(ST_ECORRUPT, "block: bad restart count %u for %zu bytes", n, contents.len);
    b->restarts_off = contents.len - 4 - 4 * (size_t)n;
    b->nrestarts = n;
    if (restart_at(b, 0) != 0) return st_err(ST_ECORRUPT, "block: first restart is not 0");
    if (b->restarts_off == 0) {
        if (n != 1) return st_err(ST_ECORRUPT, "block: %u restarts without entries", n);
        return 0;
    }
    uint32_t prev = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t r = restart_at(b, i);
        if (r <= prev || r >= b->restarts_off)
            return st_err(ST_ECORRUPT, "block: restart %u at %u is out of order or bounds", i, r);
        prev = r;
    }
    return 0;
}

static int key_cmp(const st_block_iter *it, st_slice a, st_slice b) {
    return it->order == ST_BLOCK_IKEY ? st_ikey_cmp(a, b) : st_slice_cmp(a, b);
}

static void set_error(st_block_iter *it, int code, size_t off) {
    it->valid = false;
    it->status = code;
    if (code == ST_ECORRUPT) st_err(code, "block: malformed entry at block offset %zu", off);
}

/* Decodes the entry at off; the previous key (it->key) supplies the shared prefix. */
static void parse_at(st_block_iter *it, size_t off) {
    if (off >= it->blk.restarts_off) {
        it->valid = false;
        return;
    }
    const uint8_t *limit = it->blk.data + it->blk.restarts_off;
    const uint8_t *p = it->blk.data + off;
    uint32_t shared, non_shared, vlen;
    if (!(p = st_get_varint32(p, limit, &shared)) || !(p = st_get_varint32(p, limit, &non_shared)) ||
        !(p = st_get_varint32(p, limit, &vlen)) || (uint64_t)(limit - p) < (uint64_t)non_shared + vlen ||
        shared > it->key.len) {
        set_error(it, ST_ECORRUPT, off);
        return;
    }
    if (shared == 0) {
        it->key = st_slice_make(p, non_shared);
    } else {
        if (it->key.data != it->kbuf.data) {
            /* The previous key is a view into the block: copy the shared prefix out. */
            st_buf_clear(&it->kbuf);
            if (st_buf_append(&it->kbuf, it->key.data, shared)) {
                set_error(it, ST_ENOMEM, off);
                return;
            }
        } else {
            it->kbuf.len = shared;
        }
        if (st_buf_append(&it->kbuf, p, non_shared)) {
            set_error(it, ST_ENOMEM, off);
            return;
        }
        it->key = st_buf_slice(&it->kbuf);
    }
    if (it->order == ST_BLOCK_IKEY && it->key.len < 8) {
        set_error(it, ST_ECORRUPT, off);
        return;
    }
    it->value = st_slice_make(p + non_shared, vlen);
    it->cur = off;
    it->next_off = (size_t)(p + non_shared + vlen - it->blk.data);
    it->valid = true;
}

static void seek_restart(st_block_iter *it, uint32_t i) {
    it->key = st_slice_make(NULL, 0); /* a restart entry must not share a prefix */
    parse_at(it, restart_at(&it->blk, i));
}

static void bi_seek_first(st_iter *base) {
    st_block_iter *it = (st_block_iter *)base;
    it->status = 0;
    seek_restart(it, 0);
}

static void bi_seek(st_iter *base, st_slice target) {
    st_block_iter *it = (st_block_iter *)base;
    it->status = 0;
    if (it->order == ST_BLOCK_IKEY && target.len < 8) {
        it->valid = false;
        it->status = st_err(ST_EINVAL, "block: seek target of %zu bytes is not an internal key", target.len);
        return;
    }
    /* Last restart whose key is < target: the first key >= target is at or after it. */
    uint32_t lo = 0, hi = it->blk.nrestarts - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        seek_restart(it, mid);
        if (!it->valid) {
            if (!it->status) set_error(it, ST_ECORRUPT, restart_at(&it->blk, mid));
            return;
        }
        if (key_cmp(it, it->key, target) < 0) lo = mid;
        else hi = mid - 1;
    }
    seek_restart(it, lo);
    while (it->valid && key_cmp(it, it->key, target) < 0) parse_at(it, it->next_off);
}

void st_block_iter_seek_restart(st_block_iter *it, uint32_t i) {
    it->status = 0;
    if (i >= it->blk.nrestarts) {
        it->valid = false;
        return;
    }
    seek_restart(it, i); /* invalid with status 0 only in the empty block */
}

uint32_t st_block_restart_offset(const st_block *b, uint32_t i) {
    ST_ASSERT(i < b->nrestarts);
    return restart_at(b, i);
}

static void bi_next(st_iter *base) {
    st_block_iter *it = (st_block_iter *)base;
    ST_ASSERT(it->valid);
    parse_at(it, it->next_off);
}

/* Index of the last restart point at an offset below off (REQUIRES: off > 0; restart 0 is 0). */
static uint32_t restart_before(const st_block *b, size_t off) {
    uint32_t lo = 0, hi = b->nrestarts - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (restart_at(b, mid) < off) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Index i of the kept entry at offset off (i == back_n: the entry right after the last kept one),
 * or UINT32_MAX when off is not among them. */
static uint32_t back_find(const st_block_iter *it, size_t off) {
    uint32_t n = it->back_n;
    if (n == 0) return UINT32_MAX;
    if (off == it->back[n - 1].next_off) return n;
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (it->back[mid].off < off) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && it->back[lo].off == off ? lo : UINT32_MAX;
}

/* Keeps the current entry (just decoded) after the ones kept before it. False on ENOMEM. */
static bool back_push(st_block_iter *it) {
    if (it->back_n == it->back_cap) {
        uint32_t cap = it->back_cap ? 2 * it->back_cap : 16;
        st_block_back_ent *b = realloc(it->back, (size_t)cap * sizeof *b);
        if (!b) return false;
        it->back = b;
        it->back_cap = cap;
    }
    st_block_back_ent *e = &it->back[it->back_n];
    e->off = it->cur;
    e->next_off = it->next_off;
    e->key_off = it->back_keys.len;
    e->key_len = it->key.len;
    e->value = it->value;
    if (st_buf_append(&it->back_keys, it->key.data, it->key.len)) return false;
    it->back_n++;
    return true;
}

static void back_at(st_block_iter *it, uint32_t i) {
    const st_block_back_ent *e = &it->back[i];
    it->cur = e->off;
    it->next_off = e->next_off;
    /* back_keys.data is NULL while every kept key is empty (bytewise blocks allow ""); NULL + 0
     * is undefined behaviour. */
    it->key = st_slice_make(e->key_len ? it->back_keys.data + e->key_off : NULL, e->key_len);
    it->value = e->value;
    it->valid = true;
}

/* Decodes from restart point r up to the entry whose successor starts at or after `end`, keeping
 * every entry, and stays on that last one. With the status set (ENOMEM, ECORRUPT) nothing is
 * kept. */
static void decode_interval(st_block_iter *it, uint32_t r, size_t end) {
    it->back_n = 0;
    st_buf_clear(&it->back_keys);
    seek_restart(it, r);
    while (it->valid) {
        if (!back_push(it)) {
            it->back_n = 0;
            set_error(it, ST_ENOMEM, it->cur);
            return;
        }
        if (it->next_off >= end) return;
        parse_at(it, it->next_off);
    }
    it->back_n = 0;
}

static void bi_seek_last(st_iter *base) {
    st_block_iter *it = (st_block_iter *)base;
    it->status = 0;
    decode_interval(it, it->blk.nrestarts - 1, it->blk.restarts_off);
}

static void bi_prev(st_iter *base) {
    st_block_iter *it = (st_block_iter *)base;
    ST_ASSERT(it->valid);
    size_t target = it->cur;
    uint32_t i = back_find(it, target);
    if (i != UINT32_MAX && i > 0) {
        back_at(it, i - 1);
        return;
    }
    if (target == 0) { /* the first entry: nothing before it */
        it->valid = false;
        return;
    }
    decode_interval(it, restart_before(&it->blk, target), target);
    /* A restart offset that is no entry boundary can make the walk step over the entry we came
     * from: the block is damaged, and the key reached is not the predecessor. */
    if (it->valid && it->next_off != target) {
        it->back_n = 0;
        set_error(it, ST_ECORRUPT, it->cur);
    }
}

static void bi_seek_for_prev(st_iter *base, st_slice target) {
    st_block_iter *it = (st_block_iter *)base;
    bi_seek(base, target);
    if (it->status) return;
    if (!it->valid) bi_seek_last(base); /* every key is < target */
    else if (key_cmp(it, it->key, target) > 0) bi_prev(base);
}

static bool bi_valid(const st_iter *base) { return ((const st_block_iter *)base)->valid; }
static st_slice bi_key(const st_iter *base) { return ((const st_block_iter *)base)->key; }
static st_slice bi_value(const st_iter *base) { return ((const st_block_iter *)base)->value; }
static int bi_status(const st_iter *base) { return ((const st_block_iter *)base)->status; }

static void release(st_block_iter *it) {
    st_buf_destroy(&it->kbuf);
    st_buf_destroy(&it->back_keys);
    free(it->back);
    it->back = NULL;
    it->back_n = it->back_cap = 0;
    free(it->owned);
    it->owned = NULL;
}

static void bi_destroy(st_iter *base) {
    st_block_iter *it = (st_block_iter *)base;
    release(it);
    if (it->heap) free(it);
}

static const struct st_iter_ops block_iter_ops = {
    .seek_first = bi_seek_first,
    .seek = bi_seek,
    .next = bi_next,
    .seek_last = bi_seek_last,
    .seek_for_prev = bi_seek_for_prev,
    .prev = bi_prev,
    .valid = bi_valid,
    .key = bi_key,
    .value = bi_value,
    .status = bi_status,
    .destroy = bi_destroy,
};

/* The empty block: a lone restart offset 0 and the count 1. */
static const uint8_t empty_block[8] = {0, 0, 0, 0, 1, 0, 0, 0};

void st_block_iter_init(st_block_iter *it, st_block_order order) {
    memset(it, 0, sizeof *it);
    it->base.ops = &block_iter_ops;
    it->order = order;
    st_buf_init(&it->kbuf);
    st_buf_init(&it->back_keys);
    it->blk.data = empty_block;
    it->blk.restarts_off = 0;
    it->blk.nrestarts = 1;
}

void st_block_iter_set(st_block_iter *it, const st_block *b) {
    it->blk = *b;
    it->back_n = 0; /* kept entries belong to the previous block */
    it->valid = false;
    it->status = 0;
    it->key = it->value = st_slice_make(NULL, 0);
}

void st_block_iter_destroy(st_block_iter *it) {
    ST_ASSERT(!it->heap);
    release(it);
}

int st_block_iter_new(const st_block *b, st_block_order order, void *owned, st_iter **out) {
    *out = NULL;
    st_block_iter *it = malloc(sizeof *it);
    if (!it) return st_err(ST_ENOMEM, "block: no memory for an iterator");
    st_block_iter_init(it, order);
    st_block_iter_set(it, b);
    it->heap = true;
    it->owned = owned;
    *out = &it->base;
    return 0;
}

int st_block_find(const st_block *b, st_slice key, st_slice *value) {
    st_block_iter it;
    st_block_iter_init(&it, ST_BLOCK_BYTES);
    st_block_iter_set(&it, b);
    bi_seek(&it.base, key);
    int rc = it.status;
    if (!rc) {
        if (it.valid && st_slice_cmp(it.key, key) == 0) *value = it.value;
        else rc = ST_ENOTFOUND;
    }
    st_block_iter_destroy(&it);
    return rc;
}
