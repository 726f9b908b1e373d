/* fuzz_sstable.c -- libFuzzer target for opening and reading a whole SSTable
 * (engine/table/sstable_reader.h, format in sstable_format.h): footer, metaindex, properties,
 * filter, index, data blocks and their compression, through every read path.
 *
 * Input: byte 0 holds flags, the rest is the table file.
 *   bit 0  fix checksums first (fix_checksums below), so the decoders behind them get fuzzed
 *   bit 1  open with a block cache (data blocks cached, index and filter reserved in it)
 *   bit 2  open through a table cache of one descriptor (reads reopen the file by path)
 * The file is opened, iterated forward and backward, with a readahead iterator too, verified
 * (st_sst_reader_verify), point-looked-up with get and multiget, and sought.
 * Checked: open fails only with ST_ECORRUPT; iterators end with status 0 or ST_ECORRUPT; every key
 * is an internal key; the readahead iterator agrees with the plain one; multiget answers each
 * lookup exactly as get does (R4); get finds only entries the table holds. And when verify
 * accepts the table (it re-reads everything and checks order, index, filter and counts), the
 * table must read exactly: both directions agree, gets return the newest entry at or below the
 * snapshot, and seeks land where a binary search of the forward scan says. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "strata/st_status.h"
#include "io/io.h"
#include "table/block.h"
#include "table/block_cache.h"
#include "table/compress.h"
#include "table/sstable_format.h"
#include "table/sstable_reader.h"
#include "table/table_cache.h"
#include "util/hash.h"
#include "util/ikey.h"

#define MAX_FILE ((size_t)256 << 10)
#define MAX_ENTRIES 20000
#define MAX_LOOKUPS 48

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_io_posix();
    return 0;
}

/* ---- checksum fixing ------------------------------------------------------------------------- */

static bool handle_fits(st_block_handle h, uint64_t limit) {
    return h.off <= limit && h.size <= limit - h.off && limit - h.off - h.size >= ST_SST_TRAILER_BYTES;
}

static void fix_block(uint8_t *d, st_block_handle h, uint32_t base) {
    uint32_t sum = st_sst_block_checksum(d + h.off, (size_t)h.size + 1, base, h.off);
    st_put_fixed32(d + h.off + h.size + 1, sum);
}

/* The contents of block h (decompressed into dec if need be), or false. */
static bool block_contents(const uint8_t *d, st_block_handle h, uint64_t limit, st_buf *dec, st_slice *out) {
    if (!handle_fits(h, limit)) return false;
    st_codec codec = (st_codec)d[h.off + h.size];
    st_slice stored = st_slice_make(d + h.off, (size_t)h.size);
    if (codec == ST_CODEC_NONE) {
        *out = stored;
        return true;
    }
    st_buf_clear(dec);
    if (st_decompress(codec, stored, dec)) return false;
    *out = st_buf_slice(dec);
    return true;
}

static bool meta_handle(const st_block *meta, const char *name, st_block_handle *h) {
    st_slice v;
    if (st_block_find(meta, st_slice_str(name), &v)) return false;
    return st_block_handle_get(v.data, v.data + v.len, h) == v.data + v.len;
}

/* Rewrites every checksum the reader will check, walking footer -> metaindex -> index the way it
 * does; anything that does not decode is left as it is. */
static void fix_checksums(uint8_t *d, size_t n) {
    if (n < ST_SST_FOOTER_BYTES) return;
    uint64_t footer_off = n - ST_SST_FOOTER_BYTES;
    uint8_t *ft = d + footer_off;
    uint32_t base = st_get_fixed32(ft + ST_SST_FOOTER_BASE_OFF);
    st_block_handle meta_h = {0, 0}, index_h = {0, 0}, props_h = {0, 0}, filter_h = {0, 0};
    bool meta_ok = st_block_handle_get(ft + ST_SST_FOOTER_METAINDEX_OFF,
                                       ft + ST_SST_FOOTER_METAINDEX_OFF + ST_SST_HANDLE_MAX_BYTES, &meta_h) &&
                   handle_fits(meta_h, footer_off);
    bool index_ok = st_block_handle_get(ft + ST_SST_FOOTER_INDEX_OFF,
                                        ft + ST_SST_FOOTER_INDEX_OFF + ST_SST_HANDLE_MAX_BYTES, &index_h) &&
                    handle_fits(index_h, footer_off);
    bool props_ok = false, filter_ok = false;
    st_buf dec;
    st_buf_init(&dec);
    st_slice c;
    st_block blk;
    if (meta_ok && block_contents(d, meta_h, footer_off, &dec, &c) && st_block_init(&blk, c) == 0) {
        props_ok = meta_handle(&blk, ST_SST_META_PROPERTIES, &props_h) && handle_fits(props_h, footer_off);
        filter_ok = meta_handle(&blk, ST_SST_META_FILTER, &filter_h) && handle_fits(filter_h, footer_off);
    }
    /* Data blocks end where the first meta block starts (sstable_reader.c). */
    uint64_t data_end = footer_off;
    if (meta_ok && meta_h.off < data_end) data_end = meta_h.off;
    if (index_ok && index_h.off < data_end) data_end = index_h.off;
    if (props_ok && props_h.off < data_end) data_end = props_h.off;
    if (filter_ok && filter_h.off < data_end) data_end = filter_h.off;
    if (index_ok && block_contents(d, index_h, footer_off, &dec, &c) && st_block_init(&blk, c) == 0) {
        st_block_iter it;
        st_block_iter_init(&it, ST_BLOCK_IKEY);
        st_block_iter_set(&it, &blk);
        st_block_handle hs[512];
        size_t nh = 0;
        for (st_iter_seek_first(&it.base); st_iter_valid(&it.base) && nh < 512; st_iter_next(&it.base)) {
            st_slice v = st_iter_value(&it.base);
            st_block_handle h;
            if (st_block_handle_get(v.data, v.data + v.len, &h) == v.data + v.len && handle_fits(h, data_end))
                hs[nh++] = h;
        }
        st_block_iter_destroy(&it);
        for (size_t i = 0; i < nh; i++) fix_block(d, hs[i], base);
    }
    st_buf_destroy(&dec);
    if (filter_ok) fix_block(d, filter_h, base);
    if (props_ok) fix_block(d, props_h, base);
    if (index_ok) fix_block(d, index_h, base);
    if (meta_ok) fix_block(d, meta_h, base);
    st_put_fixed32(ft + ST_SST_FOOTER_CRC_OFF, st_checksum32(ft, ST_SST_FOOTER_CRC_OFF));
}

/* ---- reading --------------------------------------------------------------------------------- */

/* A scan's entries, copied. */
typedef struct scan {
    st_buf keys, vals;             /* concatenated */
    size_t *koff, *voff;           /* n + 1 offsets each */
    size_t n;
    int status;
    bool complete;                 /* ran off the end rather than stopping at MAX_ENTRIES */
} scan;

static st_slice scan_key(const scan *s, size_t i) {
    return st_slice_make(s->keys.data + s->koff[i], s->koff[i + 1] - s->koff[i]);
}
static st_slice scan_val(const scan *s, size_t i) {
    return st_slice_make(s->vals.data + s->voff[i], s->voff[i + 1] - s->voff[i]);
}

static void check_status(int s) { FZ_CHECK(s == 0 || s == ST_ECORRUPT); }

static void scan_run(st_iter *it, bool backward, scan *s) {
    memset(s, 0, sizeof *s);
    s->koff = malloc((MAX_ENTRIES + 1) * sizeof *s->koff);
    s->voff = malloc((MAX_ENTRIES + 1) * sizeof *s->voff);
    FZ_CHECK(s->koff && s->voff);
    s->koff[0] = s->voff[0] = 0;
    if (backward) st_iter_seek_last(it);
    else st_iter_seek_first(it);
    while (st_iter_valid(it) && s->n < MAX_ENTRIES) {
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        FZ_CHECK(k.len >= ST_IKEY_TAG_BYTES);
        FZ_CHECK(st_buf_append(&s->keys, k.data, k.len) == 0 && st_buf_append(&s->vals, v.data, v.len) == 0);
        s->n++;
        s->koff[s->n] = s->keys.len;
        s->voff[s->n] = s->vals.len;
        if (backward) st_iter_prev(it);
        else st_iter_next(it);
    }
    s->complete = !st_iter_valid(it);
    s->status = st_iter_status(it);
    check_status(s->status);
}

static void scan_free(scan *s) {
    st_buf_destroy(&s->keys);
    st_buf_destroy(&s->vals);
    free(s->koff);
    free(s->voff);
}

static bool slice_eq(st_slice a, st_slice b) { return st_slice_cmp(a, b) == 0; }

static bool scan_same(const scan *a, const scan *b) {
    return a->n == b->n && a->status == b->status && a->keys.len == b->keys.len && a->vals.len == b->vals.len &&
           (a->keys.len == 0 || memcmp(a->keys.data, b->keys.data, a->keys.len) == 0) &&
           (a->vals.len == 0 || memcmp(a->vals.data, b->vals.data, a->vals.len) == 0) &&
           memcmp(a->koff, b->koff, (a->n + 1) * sizeof *a->koff) == 0;
}

/* Index of the first key >= t in a sorted scan (n if none). */
static size_t lower_bound(const scan *s, st_slice t) {
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(scan_key(s, mid), t) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* What get(ukey, snap) must answer for a sorted, verified table: the first entry (newest) of ukey
 * with seq <= snap. Returns its index or SIZE_MAX. */
static size_t expected_get(const scan *s, st_slice ukey, uint64_t snap) {
    for (size_t i = 0; i < s->n; i++) {
        st_slice k = scan_key(s, i);
        if (slice_eq(st_ikey_user(k), ukey) && st_ikey_seq(k) <= snap) return i;
    }
    return SIZE_MAX;
}

static void expect_at(st_iter *it, const scan *s, size_t i) {
    FZ_CHECK(st_iter_status(it) == 0);
    if (i >= s->n) {
        FZ_CHECK(!st_iter_valid(it));
        return;
    }
    FZ_CHECK(st_iter_valid(it) && slice_eq(st_iter_key(it), scan_key(s, i)) && slice_eq(st_iter_value(it), scan_val(s, i)));
}

typedef struct lookup {
    uint8_t ukey[64];
    size_t len;
    uint64_t snap;
} lookup;

/* Lookups from the table's own keys (newest and older snapshots) and near misses. */
static size_t make_lookups(const scan *s, fz_rng *rng, lookup *out) {
    size_t n = 0;
    for (size_t j = 0; j < s->n && n + 3 <= MAX_LOOKUPS; j += 1 + fz_rng_below(rng, 1 + s->n / 12)) {
        st_slice u = st_ikey_user(scan_key(s, j));
        if (u.len > sizeof out->ukey) continue;
        uint64_t seq = st_ikey_seq(scan_key(s, j));
        for (int v = 0; v < 3; v++) {
            lookup *l = &out[n++];
            memcpy(l->ukey, u.data, u.len);
            l->len = u.len;
            l->snap = v == 0 ? ST_SEQ_MAX : v == 1 ? seq : seq ? seq - 1 : 0;
            if (v == 2 && l->len) l->ukey[l->len - 1] ^= 1; /* a near miss */
        }
    }
    static const char *const fixed[] = {"", "a", "\xff\xff"};
    for (size_t i = 0; i < 3 && n < MAX_LOOKUPS; i++) {
        lookup *l = &out[n++];
        l->len = strlen(fixed[i]);
        memcpy(l->ukey, fixed[i], l->len);
        l->snap = ST_SEQ_MAX;
    }
    return n;
}

static void read_table(st_sst_reader *r, const uint8_t *data, size_t size) {
    const st_sst_props *props = st_sst_reader_props(r);
    FZ_CHECK(props->deletions <= props->entries && props->min_seq <= props->max_seq);
    FZ_CHECK(st_sst_reader_number(r) == 7);

    st_iter *it, *ra;
    FZ_CHECK(st_sst_reader_iter_new(r, &it) == 0);
    st_sst_iter_opts o = st_sst_iter_opts_default();
    o.fill_cache = false;
    o.readahead_bytes = 4096;
    FZ_CHECK(st_sst_reader_iter_new_opts(r, &o, &ra) == 0);

    scan fwd, bwd, rafwd;
    scan_run(it, false, &fwd);
    scan_run(it, true, &bwd);
    scan_run(ra, false, &rafwd);
    FZ_CHECK(scan_same(&fwd, &rafwd)); /* readahead changes how blocks are read, not what */

    int vrc = st_sst_reader_verify(r);
    FZ_CHECK(vrc == 0 || vrc == ST_ECORRUPT);
    bool clean = fwd.complete && fwd.status == 0 && bwd.complete && bwd.status == 0;
    if (clean) {
        FZ_CHECK(fwd.n == bwd.n);
        for (size_t i = 0; i < fwd.n; i++)
            FZ_CHECK(slice_eq(scan_key(&fwd, i), scan_key(&bwd, fwd.n - 1 - i)) &&
                     slice_eq(scan_val(&fwd, i), scan_val(&bwd, fwd.n - 1 - i)));
    }
    if (fz_verbose())
        fprintf(stderr, "%zu entries forward (status %d), %zu backward (status %d), verify: %s\n", fwd.n, fwd.status,
                bwd.n, bwd.status, vrc ? st_errmsg() : "ok");
    bool exact = vrc == 0; /* verify vouches for order, index, filter and counts */
    if (exact) {
        FZ_CHECK(clean && fwd.n == props->entries);
        for (size_t i = 1; i < fwd.n; i++) FZ_CHECK(st_ikey_cmp(scan_key(&fwd, i - 1), scan_key(&fwd, i)) < 0);
    }

    /* Point lookups: get one by one, then the same as one multiget. */
    fz_rng rng;
    fz_rng_seed(&rng, st_hash64(data, size));
    lookup ls[MAX_LOOKUPS];
    size_t nl = make_lookups(&fwd, &rng, ls);
    st_sst_lookup mg[MAX_LOOKUPS];
    st_buf gvals[MAX_LOOKUPS], mvals[MAX_LOOKUPS];
    int grc[MAX_LOOKUPS], gkind[MAX_LOOKUPS];
    for (size_t i = 0; i < nl; i++) {
        st_slice u = st_slice_make(ls[i].ukey, ls[i].len);
        st_buf_init(&gvals[i]);
        st_buf_init(&mvals[i]);
        gkind[i] = 0;
        st_sst_reader_prefetch(r, st_hash64(u.data, u.len)); /* a hint: changes nothing */
        grc[i] = st_sst_reader_get(r, u, ls[i].snap, &gkind[i], &gvals[i]);
        FZ_CHECK(grc[i] == 0 || grc[i] == ST_ENOTFOUND || grc[i] == ST_ECORRUPT);
        if (grc[i] == 0) {
            FZ_CHECK(gkind[i] == ST_KIND_PUT || gkind[i] == ST_KIND_DEL);
            /* Some entry of the table must say so. Only a table that reads cleanly both ways
             * has every restart point on an entry boundary (block.h), so that a seek inside a
             * block sees no entry the scans missed. */
            bool seen = !clean;
            for (size_t j = 0; j < fwd.n && !seen; j++) {
                st_slice k = scan_key(&fwd, j);
                st_ikey_parts pk;
                seen = st_ikey_parse(k, &pk) && slice_eq(pk.ukey, u) && pk.kind == gkind[i] &&
                       pk.seq <= ls[i].snap && (pk.kind == ST_KIND_DEL || slice_eq(scan_val(&fwd, j), st_buf_slice(&gvals[i])));
            }
            FZ_CHECK(seen);
        }
        if (exact) {
            size_t want = expected_get(&fwd, u, ls[i].snap);
            if (want == SIZE_MAX) {
                FZ_CHECK(grc[i] == ST_ENOTFOUND);
            } else {
                st_ikey_parts pk;
                st_slice k = scan_key(&fwd, want);
                FZ_CHECK(st_ikey_parse(k, &pk) && grc[i] == 0 && gkind[i] == pk.kind);
                if (pk.kind == ST_KIND_PUT) FZ_CHECK(slice_eq(st_buf_slice(&gvals[i]), scan_val(&fwd, want)));
            }
        }
        mg[i] = (st_sst_lookup){.r = r, .ukey = u, .snap_seq = ls[i].snap, .value = &mvals[i], .rc = 1, .kind = 0};
    }
    st_sst_reader_multiget(mg, nl);
    for (size_t i = 0; i < nl; i++) {
        FZ_CHECK(mg[i].rc == grc[i]);
        if (grc[i] == 0) FZ_CHECK(mg[i].kind == gkind[i] && slice_eq(st_buf_slice(&mvals[i]), st_buf_slice(&gvals[i])));
        st_buf_destroy(&gvals[i]);
        st_buf_destroy(&mvals[i]);
    }

    /* Seeks: to the lookup keys at their snapshots, both directions. */
    for (size_t i = 0; i < nl; i++) {
        uint8_t t[64 + ST_IKEY_TAG_BYTES];
        memcpy(t, ls[i].ukey, ls[i].len);
        st_put_fixed64(t + ls[i].len, st_ikey_tag(ls[i].snap, ST_KIND_SEEK));
        st_slice target = st_slice_make(t, ls[i].len + ST_IKEY_TAG_BYTES);
        st_iter_seek(it, target);
        check_status(st_iter_status(it));
        if (exact) expect_at(it, &fwd, lower_bound(&fwd, target));
        st_iter_seek_for_prev(it, target);
        check_status(st_iter_status(it));
        if (exact) {
            size_t lb = lower_bound(&fwd, target);
            bool hit = lb < fwd.n && st_ikey_cmp(scan_key(&fwd, lb), target) == 0;
            expect_at(it, &fwd, hit ? lb : lb == 0 ? SIZE_MAX : lb - 1);
        }
        if (st_iter_valid(it) && fz_rng_below(&rng, 2)) { /* and a step either way from there */
            if (fz_rng_below(&rng, 2)) st_iter_next(it);
            else st_iter_prev(it);
            check_status(st_iter_status(it));
        }
    }

    st_sst_counters cnt;
    st_sst_reader_counters(r, &cnt);
    FZ_CHECK(cnt.bloom_useful <= cnt.bloom_checks);
    (void)st_sst_reader_memory(r);
    st_iter_free(it);
    st_iter_free(ra);
    scan_free(&fwd);
    scan_free(&bwd);
    scan_free(&rafwd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_FILE) return 0;
    unsigned flags = data[0];
    size_t n = size - 1;
    uint8_t *file = malloc(n ? n : 1);
    FZ_CHECK(file);
    if (n) memcpy(file, data + 1, n);
    if (flags & 1) fix_checksums(file, n);
    char path[FZ_PATH_MAX];
    fz_write_file("000007.sst", file, n, path);
    free(file);

    st_block_cache *cache = NULL;
    st_table_cache *files = NULL;
    if (flags & 2) FZ_CHECK(st_block_cache_new(64 << 10, 0, 0.5, &cache) == 0);
    if (flags & 4) FZ_CHECK(st_table_cache_new(1, &files) == 0);
    st_file *f;
    FZ_CHECK(st_file_open(path, ST_OPEN_READ, &f) == 0);
    st_sst_reader *r = (st_sst_reader *)1;
    int rc = st_sst_reader_open_in(f, 7, cache, files, &r);
    if (fz_verbose()) fprintf(stderr, "open: %s\n", rc ? st_errmsg() : "ok");
    if (rc) {
        FZ_CHECK(rc == ST_ECORRUPT && r == NULL);
    } else {
        read_table(r, data, size);
        st_sst_reader_unref(r);
    }
    st_table_cache_free(files);
    st_block_cache_free(cache);
    return 0;
}
