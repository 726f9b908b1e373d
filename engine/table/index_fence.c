/* index_fence.c -- see index_fence.h for F1-F2. */
#include "index_fence.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/ikey.h"

/* The 8 bytes of k at [plen, plen + 8), zero-padded, big-endian: integer order is byte order. */
static uint64_t fence_of(const uint8_t *k, size_t len, size_t plen) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v = (v << 8) | (plen + i < len ? k[plen + i] : 0);
    return v;
}

void st_index_fence_destroy(st_index_fence *f) {
    free(f->fence);
    free(f->prefix);
    memset(f, 0, sizeof *f);
}

size_t st_index_fence_memory(const st_index_fence *f) {
    return f->fence ? (size_t)f->n * sizeof *f->fence + f->plen : 0;
}

/* Entry i of a restart-interval-1 block, or a status: ST_ECORRUPT, or 1 if the entry does not end
 * where restart i + 1 starts (the block is not interval 1). */
static int entry_at(st_block_iter *it, const st_block *b, uint32_t i, st_slice *ukey) {
    st_block_iter_seek_restart(it, i);
    if (!it->valid) return it->status ? it->status : st_err(ST_ECORRUPT, "index fence: no entry at restart %u", i);
    size_t end = i + 1 < b->nrestarts ? st_block_restart_offset(b, i + 1) : b->restarts_off;
    if (it->next_off != end) return 1;
    *ukey = st_ikey_user(it->key);
    return 0;
}

int st_index_fence_build(st_index_fence *f, const st_block *index) {
    memset(f, 0, sizeof *f);
    uint32_t n = index->nrestarts;
    if (index->restarts_off == 0 || n < 2) return 0;
    st_block_iter it;
    st_block_iter_init(&it, ST_BLOCK_IKEY);
    st_block_iter_set(&it, index);
    st_slice first = {0}, last = {0};
    int rc = entry_at(&it, index, 0, &first);
    if (rc == 0) {
        const uint8_t *first_data = first.data; /* a restart key is a view into the block */
        rc = entry_at(&it, index, n - 1, &last);
        if (rc == 0) {
            size_t plen = 0;
            while (plen < first.len && plen < last.len && first_data[plen] == last.data[plen]) plen++;
            f->plen = plen;
            f->prefix = malloc(plen ? plen : 1);
            f->fence = malloc((size_t)n * sizeof *f->fence);
            if (!f->prefix || !f->fence) rc = st_err(ST_ENOMEM, "index fence: no memory for %u entries", n);
            else memcpy(f->prefix, first_data, plen);
        }
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        st_slice uk = {0};
        if ((rc = entry_at(&it, index, i, &uk))) break;
        f->fence[i] = fence_of(uk.data, uk.len, f->plen);
    }
    st_block_iter_destroy(&it);
    if (rc) {
        st_index_fence_destroy(f);
        return rc > 0 ? 0 : rc; /* not interval 1: disabled, the block is searched as usual */
    }
    f->n = n;
    return 0;
}

void st_index_fence_seek(const st_index_fence *f, st_block_iter *ii, st_slice target) {
    uint32_t lo, hi;
    if (target.len < ST_IKEY_TAG_BYTES ||
        !st_index_fence_range(f, target.data, target.len - ST_IKEY_TAG_BYTES, &lo, &hi)) {
        st_iter_seek(&ii->base, target);
        return;
    }
    while (lo < hi) { /* the first of [lo, hi) >= target, else hi */
        uint32_t mid = lo + (hi - lo) / 2;
        st_block_iter_seek_restart(ii, mid);
        if (!ii->valid) return; /* a malformed entry: the status says so */
        if (st_ikey_cmp(ii->key, target) < 0) lo = mid + 1;
        else hi = mid;
    }
    st_block_iter_seek_restart(ii, lo);
}

bool st_index_fence_range(const st_index_fence *f, const uint8_t *ukey, size_t ukey_len, uint32_t *lo, uint32_t *hi) {
    if (!f->fence || ukey_len < f->plen || (f->plen && memcmp(ukey, f->prefix, f->plen) != 0)) return false;
    uint64_t t = fence_of(ukey, ukey_len, f->plen);
    uint32_t a = 0, b = f->n; /* first fence >= t */
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (f->fence[m] < t) a = m + 1;
        else b = m;
    }
    *lo = a;
    b = f->n; /* first fence > t, at or after a */
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (f->fence[m] <= t) a = m + 1;
        else b = m;
    }
    *hi = a;
    return true;
}
