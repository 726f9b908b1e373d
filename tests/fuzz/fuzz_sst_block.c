/* fuzz_sst_block.c -- libFuzzer target for the SSTable block reader (engine/table/block.h): the
 * restart-array check, forward and backward iteration, seeks, and st_block_find.
 *
 * Input: byte 0 picks the key order (bit 0: bytewise as in meta blocks, else internal keys as in
 * data and index blocks) and seeds the random walk; the rest is the block, copied into an
 * exact-size buffer so a read past it is a heap overflow.
 * Checked everywhere: statuses are 0, ST_ECORRUPT, or ST_EINVAL for a seek target too short to be
 * an internal key; keys of internal-key blocks are at least 8 bytes; every key and value lies in
 * the block or the iterator's own memory (ASan). When a block reads cleanly both ways (a full
 * forward and a full backward pass without error), the backward keys are the forward ones
 * reversed; when its keys are also strictly increasing, seek and seek_for_prev land exactly where
 * a binary search of the forward keys says, st_block_find finds each key, and a random walk of
 * next/prev steps follows the forward list. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "strata/st_status.h"
#include "table/block.h"
#include "util/hash.h"
#include "util/ikey.h"

#define MAX_BLOCK ((size_t)64 << 10)
#define MAX_KEYS 4096
#define WALK_STEPS 64

/* The forward pass: every entry's key and value, copied. */
typedef struct entries {
    st_slice *keys, *vals;
    size_t n;
    int status;
} entries;

static uint8_t *dup_bytes(st_slice s) {
    uint8_t *p = malloc(s.len ? s.len : 1);
    FZ_CHECK(p);
    if (s.len) memcpy(p, s.data, s.len);
    return p;
}

static void entries_free(entries *e) {
    for (size_t i = 0; i < e->n; i++) {
        free((void *)e->keys[i].data);
        free((void *)e->vals[i].data);
    }
    free(e->keys);
    free(e->vals);
}

static bool eq(st_slice a, st_slice b) { return st_slice_cmp(a, b) == 0; }

static int cmp(st_block_order order, st_slice a, st_slice b) {
    return order == ST_BLOCK_IKEY ? st_ikey_cmp(a, b) : st_slice_cmp(a, b);
}

static void check_status(int s) { FZ_CHECK(s == 0 || s == ST_ECORRUPT); }

static void check_entry(st_iter *it, st_block_order order) {
    st_slice k = st_iter_key(it), v = st_iter_value(it);
    if (order == ST_BLOCK_IKEY) FZ_CHECK(k.len >= ST_IKEY_TAG_BYTES);
    /* Reading the bytes is the check: ASan knows where they may lie. */
    volatile uint64_t h = st_hash64(k.data, k.len) ^ st_hash64(v.data, v.len);
    (void)h;
}

/* Index of the first key >= t (n if none), in a strictly increasing list. */
static size_t lower_bound(const entries *e, st_block_order order, st_slice t) {
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp(order, e->keys[mid], t) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Expects the iterator at entry i of e (i == n: invalid, status 0). */
static void expect_at(st_iter *it, const entries *e, size_t i) {
    FZ_CHECK(st_iter_status(it) == 0);
    if (i == e->n) {
        FZ_CHECK(!st_iter_valid(it));
        return;
    }
    FZ_CHECK(st_iter_valid(it));
    FZ_CHECK(eq(st_iter_key(it), e->keys[i]) && eq(st_iter_value(it), e->vals[i]));
}

/* Seek targets near key k: k itself, k with its last byte one lower and one higher, k cut short. */
static size_t targets(st_slice k, uint8_t bufs[3][256], st_slice out[4]) {
    size_t n = 0;
    out[n++] = k;
    if (k.len == 0 || k.len > 256) return n;
    for (int d = 0; d < 2; d++) {
        memcpy(bufs[d], k.data, k.len);
        bufs[d][k.len - 1] = (uint8_t)(bufs[d][k.len - 1] + (d ? 1 : -1));
        out[n++] = st_slice_make(bufs[d], k.len);
    }
    memcpy(bufs[2], k.data, k.len);
    out[n++] = st_slice_make(bufs[2], k.len - 1);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_BLOCK) return 0;
    st_block_order order = (data[0] & 1) ? ST_BLOCK_BYTES : ST_BLOCK_IKEY;
    size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1);
    FZ_CHECK(bytes);
    if (n) memcpy(bytes, data + 1, n);

    st_block blk;
    int rc = st_block_init(&blk, st_slice_make(bytes, n));
    if (rc) {
        FZ_CHECK(rc == ST_ECORRUPT);
        free(bytes);
        return 0;
    }
    FZ_CHECK(blk.nrestarts >= 1 && blk.restarts_off + 4 * (size_t)blk.nrestarts + 4 == n);
    for (uint32_t i = 0; i < blk.nrestarts; i++) FZ_CHECK(st_block_restart_offset(&blk, i) <= blk.restarts_off);

    st_iter *it;
    FZ_CHECK(st_block_iter_new(&blk, order, NULL, &it) == 0);

    /* Forward. */
    entries fwd = {0};
    fwd.keys = malloc(MAX_KEYS * sizeof *fwd.keys);
    fwd.vals = malloc(MAX_KEYS * sizeof *fwd.vals);
    FZ_CHECK(fwd.keys && fwd.vals);
    for (st_iter_seek_first(it); st_iter_valid(it) && fwd.n < MAX_KEYS; st_iter_next(it)) {
        check_entry(it, order);
        fwd.keys[fwd.n] = st_slice_make(dup_bytes(st_iter_key(it)), st_iter_key(it).len);
        fwd.vals[fwd.n] = st_slice_make(dup_bytes(st_iter_value(it)), st_iter_value(it).len);
        fwd.n++;
    }
    bool fwd_all = !st_iter_valid(it);
    fwd.status = st_iter_status(it);
    check_status(fwd.status);

    /* Backward, compared with the forward pass as it goes. */
    size_t back = 0;
    bool back_match = true;
    for (st_iter_seek_last(it); st_iter_valid(it) && back <= MAX_KEYS; st_iter_prev(it)) {
        check_entry(it, order);
        if (back < fwd.n) back_match &= eq(st_iter_key(it), fwd.keys[fwd.n - 1 - back]) &&
                                        eq(st_iter_value(it), fwd.vals[fwd.n - 1 - back]);
        back++;
    }
    int back_status = st_iter_status(it);
    check_status(back_status);
    bool clean = fwd_all && fwd.status == 0 && back_status == 0 && !st_iter_valid(it);
    if (clean) FZ_CHECK(back_match && back == fwd.n);

    bool sorted = clean;
    for (size_t i = 1; sorted && i < fwd.n; i++) sorted = cmp(order, fwd.keys[i - 1], fwd.keys[i]) < 0;

    /* Seeks, around every key (a sample of them in long blocks). */
    size_t stride = fwd.n > 64 ? fwd.n / 64 : 1;
    for (size_t i = 0; i < fwd.n; i += stride) {
        uint8_t bufs[3][256];
        st_slice t[4];
        size_t nt = targets(fwd.keys[i], bufs, t);
        for (size_t j = 0; j < nt; j++) {
            bool short_ikey = order == ST_BLOCK_IKEY && t[j].len < ST_IKEY_TAG_BYTES;
            st_iter_seek(it, t[j]);
            if (short_ikey) {
                FZ_CHECK(!st_iter_valid(it) && st_iter_status(it) == ST_EINVAL);
                continue;
            }
            check_status(st_iter_status(it));
            if (st_iter_valid(it)) check_entry(it, order);
            if (sorted) expect_at(it, &fwd, lower_bound(&fwd, order, t[j]));

            st_iter_seek_for_prev(it, t[j]);
            check_status(st_iter_status(it));
            if (st_iter_valid(it)) check_entry(it, order);
            if (sorted) {
                size_t lb = lower_bound(&fwd, order, t[j]);
                bool hit = lb < fwd.n && cmp(order, fwd.keys[lb], t[j]) == 0;
                size_t want = hit ? lb : lb == 0 ? fwd.n : lb - 1; /* n stands for "none" */
                expect_at(it, &fwd, want);
            }
            if (order == ST_BLOCK_BYTES) {
                st_slice v;
                int frc = st_block_find(&blk, t[j], &v);
                FZ_CHECK(frc == 0 || frc == ST_ENOTFOUND || frc == ST_ECORRUPT);
                if (sorted) {
                    size_t lb = lower_bound(&fwd, order, t[j]);
                    bool hit = lb < fwd.n && eq(fwd.keys[lb], t[j]);
                    FZ_CHECK(frc == (hit ? 0 : ST_ENOTFOUND));
                    if (hit) FZ_CHECK(eq(v, fwd.vals[lb]));
                }
            }
        }
    }

    /* A random walk mixing directions, from a random start. */
    fz_rng rng;
    fz_rng_seed(&rng, st_hash64(data, size));
    if (fwd.n) {
        size_t pos = fz_rng_below(&rng, fwd.n);
        st_iter_seek(it, fwd.keys[pos]);
        if (order == ST_BLOCK_IKEY && fwd.keys[pos].len < ST_IKEY_TAG_BYTES) pos = SIZE_MAX;
        for (int s = 0; s < WALK_STEPS && st_iter_valid(it); s++) {
            check_entry(it, order);
            if (sorted && pos != SIZE_MAX) expect_at(it, &fwd, pos);
            if (fz_rng_below(&rng, 2)) {
                st_iter_next(it);
                pos = pos == SIZE_MAX ? pos : pos + 1;
            } else {
                st_iter_prev(it);
                pos = pos == SIZE_MAX ? pos : pos == 0 ? fwd.n : pos - 1; /* before the first: invalid */
            }
            check_status(st_iter_status(it));
        }
        if (sorted && pos != SIZE_MAX && !st_iter_valid(it)) FZ_CHECK(pos == fwd.n && st_iter_status(it) == 0);
    }

    /* Restart points, one by one. */
    st_block_iter emb;
    st_block_iter_init(&emb, order);
    st_block_iter_set(&emb, &blk);
    for (uint32_t i = 0; i <= blk.nrestarts && i < 256; i++) {
        st_block_iter_seek_restart(&emb, i);
        check_status(st_iter_status(&emb.base));
        if (st_iter_valid(&emb.base)) check_entry(&emb.base, order);
        if (i == blk.nrestarts) FZ_CHECK(!st_iter_valid(&emb.base) && st_iter_status(&emb.base) == 0);
    }
    st_block_iter_destroy(&emb);

    st_iter_free(it);
    entries_free(&fwd);
    free(bytes);
    return 0;
}
