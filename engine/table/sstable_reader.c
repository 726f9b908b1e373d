/* sstable_reader.c -- SSTable reader; see sstable_reader.h, bytes in docs/FORMAT.md#sstable.
 *
 * Open: footer (magic, checksum, version) -> metaindex -> properties, filter -> index. Every block
 * read checks that its handle lies inside the region it belongs to (data blocks end where the
 * first meta block starts; meta blocks end at the footer), reads stored bytes + trailer in one
 * pread, verifies the offset-mixed checksum, then decompresses. Index and filter stay in memory,
 * charged to the block cache as a reservation (R3).
 * Lookups: bloom -> index seek -> one data block seek. An index entry's key is >= every key of its
 * block and < every key of the next, so the first key >= (ukey, snap_seq, SEEK) is in the block
 * the index names or in none (LevelDB's argument: a shortened separator's user key is strictly
 * between the two blocks' user keys). The same argument places the last key <= a target in that
 * block or at the end of the one before it (the iterator's seek_for_prev).
 * Block cache: a data block is looked up under (cache_id, offset) before any read; on a miss the
 * buffer read_block filled (verified, decompressed, restart array checked) is handed to a
 * cached_block and inserted, and the caller uses it through its pinned handle.
 * Batched gets (st_sst_reader_multiget) split each lookup where it would block: filter, index and
 * cache for all, then one st_io_read_batch for the missing blocks, deduplicated, then the same
 * verify/decode/insert/search steps the single get uses (block_prepare/block_finish, block_get). */
#include "sstable_reader.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "block_cache.h"
#include "bloom.h"
#include "compress.h"
#include "index_fence.h"
#include "sstable_format.h"
#include "table_cache.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/ikey.h"

struct st_sst_reader {
    st_table_file *tf;           /* owned; its descriptor may come and go (table_cache.h) */
    uint64_t number;
    uint64_t file_size;
    uint64_t data_end;           /* data blocks lie in [0, data_end) */
    uint64_t footer_off;         /* meta blocks end here */
    uint32_t base;               /* per-file checksum base from the footer */
    st_block_handle meta_h, index_h, props_h, filter_h;
    bool has_filter;
    st_sst_props props;
    st_buf index_buf;            /* index block contents */
    st_block index;
    st_index_fence fence;        /* point lookups' search over the index (index_fence.h) */
    st_buf filter_buf;           /* filter block contents (empty: no filter) */
    st_block_cache *cache;       /* borrowed, may be NULL (R2) */
    uint64_t cache_id;           /* this reader's key prefix in cache */
    size_t reserved;             /* bytes reserved in cache for what the reader keeps in memory */
    atomic_int refs;
    atomic_uint_fast64_t block_reads, bloom_checks, bloom_useful, cache_hits, cache_misses;
};

/* Records "sst N (path): <message>" and returns code. */
static int rerr_at(const char *file, int line, const st_sst_reader *r, int code, const char *fmt, ...)
    ST_PRINTF(5, 6);
static int rerr_at(const char *file, int line, const st_sst_reader *r, int code, const char *fmt, ...) {
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_err_at(file, line, code, "sst %llu (%s): %s", (unsigned long long)r->number, st_table_file_path(r->tf), msg);
}
#define RERR(r, code, ...) rerr_at(__FILE__, __LINE__, (r), (code), __VA_ARGS__)

/* Re-records the last error (from block.c or compress.c) with this file and offset. */
static int rewrap(const st_sst_reader *r, int code, const char *what, uint64_t off) {
    char prev[256];
    snprintf(prev, sizeof prev, "%s", st_errmsg());
    const char *m = strstr(prev, ": ");
    return RERR(r, code, "%s block at offset %llu: %s", what, (unsigned long long)off, m ? m + 2 : prev);
}

/* Like st_buf_reserve but without rounding up: block buffers are sized once per read, and
 * doubling a 64 KiB block to 128 KiB would waste half of every large-block read. */
static int reserve_exact(st_buf *b, size_t n) {
    if (b->cap >= n) return 0;
    uint8_t *p = realloc(b->data, n);
    if (!p) return ST_ENOMEM;
    b->data = p;
    b->cap = n;
    return 0;
}

/* The status of a failed read. A table file that vanished (ENOENT on reopening an evicted
 * descriptor, table_cache.h) is an I/O error, never ST_ENOTFOUND: that would read as "no such
 * key" and serve a wrong answer. */
static int read_status(int neg_errno) {
    int c = st_err_from_errno(neg_errno);
    return c == ST_ENOTFOUND ? ST_EIO : c;
}

/* ---- block reads ----------------------------------------------------------------------------- */

/* A block read is three steps, so that a single read (read_block) and a batch of them
 * (st_sst_reader_multiget) make the same checks: block_prepare checks the handle and sizes the
 * buffer, the caller reads block_read_bytes(h) bytes at h.off into raw->data, and block_finish
 * judges the read (error, length), verifies the trailer and decompresses. */

static size_t block_read_bytes(st_block_handle h) { return (size_t)h.size + ST_SST_TRAILER_BYTES; }

/* Checks that block h, with its trailer, lies inside [0, limit) and sizes raw for it. */
static int block_prepare(const st_sst_reader *r, st_block_handle h, uint64_t limit, const char *what, st_buf *raw) {
    if (h.off > limit || h.size > limit - h.off || limit - h.off - h.size < ST_SST_TRAILER_BYTES)
        return RERR(r, ST_ECORRUPT, "%s block handle (offset %llu, size %llu) is outside [0, %llu)", what,
                    (unsigned long long)h.off, (unsigned long long)h.size, (unsigned long long)limit);
    size_t n = block_read_bytes(h);
    st_buf_clear(raw);
    if (reserve_exact(raw, n))
        return RERR(r, ST_ENOMEM, "no memory for the %zu-byte %s block at offset %llu", n, what,
                    (unsigned long long)h.off);
    return 0;
}

/* Judges the read of block h into raw (read_rc: its 0 or -errno; got: bytes read), verifies the
 * trailer and decompresses: *contents views raw or dec, valid while they are. */
static int block_finish(const st_sst_reader *r, st_block_handle h, const char *what, int read_rc, size_t got,
                        st_buf *raw, st_buf *dec, st_slice *contents) {
    size_t n = block_read_bytes(h);
    /* sizes in messages are the handle's (stored bytes, trailer excluded), as sstdump shows them */
    if (read_rc < 0)
        return RERR(r, read_status(read_rc), "reading the %s block at offset %llu (%llu bytes) failed: %s", what,
                    (unsigned long long)h.off, (unsigned long long)h.size, strerror(-read_rc));
    if (got < n)
        return RERR(r, ST_ECORRUPT, "%s block at offset %llu (%llu bytes) is truncated: %zu of %zu bytes read", what,
                    (unsigned long long)h.off, (unsigned long long)h.size, got, n);
    raw->len = n;
    uint32_t want = st_get_fixed32(raw->data + h.size + 1);
    uint32_t have = st_sst_block_checksum(raw->data, (size_t)h.size + 1, r->base, h.off);
    if (want != have)
        return RERR(r, ST_ECORRUPT, "%s block at offset %llu (%llu bytes): checksum mismatch (stored %08x, computed %08x)",
                    what, (unsigned long long)h.off, (unsigned long long)h.size, want, have);
    st_codec codec = (st_codec)raw->data[h.size];
    if (codec == ST_CODEC_NONE) {
        *contents = st_slice_make(raw->data, (size_t)h.size);
        return 0;
    }
    st_buf_clear(dec);
    /* Size dec from the payload's raw length (st_decompress re-checks it) to avoid doubling. */
    uint32_t raw_len;
    if (st_get_varint32(raw->data, raw->data + h.size, &raw_len) && raw_len <= ST_COMPRESS_MAX_RAW &&
        reserve_exact(dec, raw_len))
        return RERR(r, ST_ENOMEM, "no memory for the %u-byte %s block at offset %llu", raw_len, what,
                    (unsigned long long)h.off);
    int rc = st_decompress(codec, st_slice_make(raw->data, (size_t)h.size), dec);
    if (rc) return rewrap(r, rc, what, h.off);
    *contents = st_buf_slice(dec);
    return 0;
}

/* Reads the block h, which must lie inside [.., limit), with one pread: block_finish's result. */
static int read_block(const st_sst_reader *r, st_block_handle h, uint64_t limit, const char *what, st_buf *raw,
                      st_buf *dec, st_slice *contents) {
    ST_TRY(block_prepare(r, h, limit, what, raw));
    size_t got = 0;
    int rc = st_table_file_pread(r->tf, raw->data, block_read_bytes(h), h.off, &got);
    return block_finish(r, h, what, rc, got, raw, dec, contents);
}

/* read_block into `keep`, which then holds exactly the block's contents. */
static int read_block_owned(const st_sst_reader *r, st_block_handle h, const char *what, st_buf *keep) {
    st_buf raw, dec;
    st_buf_init(&raw);
    st_buf_init(&dec);
    st_slice c = {NULL, 0};
    int rc = read_block(r, h, r->footer_off, what, &raw, &dec, &c);
    if (!rc) {
        st_buf *src = c.data == raw.data ? &raw : &dec;
        src->len = c.len;
        st_buf_destroy(keep);
        *keep = *src;
        st_buf_init(src);
    }
    st_buf_destroy(&raw);
    st_buf_destroy(&dec);
    return rc;
}

/* Decodes an index (or metaindex) entry's value; it must be exactly one handle. `in`/`in_off`
 * name the block holding it, for the message. */
static int decode_handle(const st_sst_reader *r, st_slice v, st_block_handle *h, const char *in, uint64_t in_off) {
    const uint8_t *end = v.data + v.len;
    const uint8_t *p = st_block_handle_get(v.data, end, h);
    if (!p || p != end)
        return RERR(r, ST_ECORRUPT, "%s block at offset %llu: an entry holds a malformed block handle (%zu bytes)", in,
                    (unsigned long long)in_off, v.len);
    return 0;
}

/* ---- open ------------------------------------------------------------------------------------ */

typedef struct footer {
    st_block_handle meta_h, index_h;
    uint32_t base, version;
    uint64_t off;
} footer;

/* Reads and checks the footer (r->file_size must be set). */
static int read_footer(const st_sst_reader *r, footer *out) {
    if (r->file_size < ST_SST_FOOTER_BYTES)
        return RERR(r, ST_ECORRUPT, "%llu bytes is too short to be an sstable (the footer alone is %d)",
                    (unsigned long long)r->file_size, ST_SST_FOOTER_BYTES);
    uint8_t ft[ST_SST_FOOTER_BYTES];
    uint64_t off = r->file_size - ST_SST_FOOTER_BYTES;
    size_t got = 0;
    int rc = st_table_file_pread(r->tf, ft, sizeof ft, off, &got);
    if (rc < 0)
        return RERR(r, read_status(rc), "reading the footer at offset %llu failed: %s", (unsigned long long)off,
                    strerror(-rc));
    if (got < sizeof ft) return RERR(r, ST_ECORRUPT, "footer at offset %llu is truncated", (unsigned long long)off);
    uint64_t magic = st_get_fixed64(ft + ST_SST_FOOTER_MAGIC_OFF);
    if (magic != ST_SST_MAGIC)
        return RERR(r, ST_ECORRUPT,
                    "not an sstable: bad magic %016llx at offset %llu (file truncated or of another kind)",
                    (unsigned long long)magic, (unsigned long long)(off + ST_SST_FOOTER_MAGIC_OFF));
    uint32_t want = st_get_fixed32(ft + ST_SST_FOOTER_CRC_OFF), have = st_checksum32(ft, ST_SST_FOOTER_CRC_OFF);
    if (want != have)
        return RERR(r, ST_ECORRUPT, "footer at offset %llu: checksum mismatch (stored %08x, computed %08x)",
                    (unsigned long long)off, want, have);
    if (ft[ST_SST_FOOTER_CHECKSUM_TYPE_OFF] != ST_SST_CHECKSUM_XXH3_LOW32)
        return RERR(r, ST_ECORRUPT, "footer at offset %llu: unknown checksum type %u", (unsigned long long)off,
                    ft[ST_SST_FOOTER_CHECKSUM_TYPE_OFF]);
    out->version = st_get_fixed32(ft + ST_SST_FOOTER_VERSION_OFF);
    if (out->version != ST_SST_FORMAT_VERSION)
        return RERR(r, ST_ECORRUPT, "footer at offset %llu: unsupported format_version %u", (unsigned long long)off,
                    out->version);
    const uint8_t *hs[2] = {ft + ST_SST_FOOTER_METAINDEX_OFF, ft + ST_SST_FOOTER_INDEX_OFF};
    st_block_handle *hv[2] = {&out->meta_h, &out->index_h};
    for (int i = 0; i < 2; i++) {
        const uint8_t *end = hs[i] + ST_SST_HANDLE_MAX_BYTES;
        const uint8_t *p = st_block_handle_get(hs[i], end, hv[i]);
        while (p && p < end && *p == 0) p++; /* zero padding */
        if (p != end)
            return RERR(r, ST_ECORRUPT, "footer at offset %llu: malformed %s handle", (unsigned long long)off,
                        i ? "index" : "metaindex");
    }
    out->base = st_get_fixed32(ft + ST_SST_FOOTER_BASE_OFF);
    out->off = off;
    return 0;
}

enum {
    P_BLOCK_BYTES, P_BLOOM_BITS, P_CODEC, P_CREATION_TIME, P_DATA_BLOCKS, P_DELETIONS, P_ENTRIES, P_LARGEST,
    P_MAX_SEQ, P_MIN_SEQ, P_RAW_KEY_BYTES, P_RAW_VALUE_BYTES, P_SMALLEST, P_COUNT
};
static const char *const prop_names[P_COUNT] = {
    ST_SST_PROP_BLOCK_BYTES, ST_SST_PROP_BLOOM_BITS,     ST_SST_PROP_CODEC,   ST_SST_PROP_CREATION_TIME,
    ST_SST_PROP_DATA_BLOCKS, ST_SST_PROP_DELETIONS,      ST_SST_PROP_ENTRIES, ST_SST_PROP_LARGEST,
    ST_SST_PROP_MAX_SEQ,     ST_SST_PROP_MIN_SEQ,        ST_SST_PROP_RAW_KEY_BYTES,
    ST_SST_PROP_RAW_VALUE_BYTES, ST_SST_PROP_SMALLEST,
};

/* Every property of format_version 1 is required; unknown names are skipped (newer writers). */
static int parse_props(st_sst_reader *r, st_slice contents) {
    st_block blk;
    if (st_block_init(&blk, contents)) return rewrap(r, ST_ECORRUPT, "properties", r->props_h.off);
    st_block_iter it;
    st_block_iter_init(&it, ST_BLOCK_BYTES);
    st_block_iter_set(&it, &blk);
    uint64_t num[P_COUNT] = {0};
    unsigned seen = 0;
    int rc = 0;
    st_sst_props *p = &r->props;
    for (st_iter_seek_first(&it.base); st_iter_valid(&it.base); st_iter_next(&it.base)) {
        st_slice name = st_iter_key(&it.base), v = st_iter_value(&it.base);
        int i = 0;
        while (i < P_COUNT && st_slice_cmp(name, st_slice_str(prop_names[i])) != 0) i++;
        if (i == P_COUNT) continue;
        seen |= 1u << i;
        if (i == P_SMALLEST || i == P_LARGEST) {
            st_buf *dst = i == P_SMALLEST ? &p->smallest : &p->largest;
            st_buf_clear(dst);
            if (st_buf_append(dst, v.data, v.len)) {
                rc = RERR(r, ST_ENOMEM, "no memory for properties");
                goto out;
            }
            continue;
        }
        const uint8_t *e = st_get_varint64(v.data, v.data + v.len, &num[i]);
        if (e != v.data + v.len) {
            rc = RERR(r, ST_ECORRUPT, "properties block at offset %llu: malformed value of \"%s\"",
                      (unsigned long long)r->props_h.off, prop_names[i]);
            goto out;
        }
    }
    if (it.status) {
        rc = rewrap(r, it.status, "properties", r->props_h.off);
        goto out;
    }
    for (int i = 0; i < P_COUNT; i++) {
        if (!(seen & (1u << i))) {
            rc = RERR(r, ST_ECORRUPT, "properties block at offset %llu: \"%s\" is missing",
                      (unsigned long long)r->props_h.off, prop_names[i]);
            goto out;
        }
    }
    uint64_t codec = num[P_CODEC];
    if ((codec != ST_CODEC_NONE && codec != ST_CODEC_LZ4 && codec != ST_CODEC_ZSTD) ||
        num[P_BLOCK_BYTES] > UINT32_MAX || num[P_BLOOM_BITS] > UINT32_MAX || num[P_DELETIONS] > num[P_ENTRIES] ||
        num[P_MIN_SEQ] > num[P_MAX_SEQ] ||
        (num[P_ENTRIES] && (p->smallest.len < ST_IKEY_TAG_BYTES || p->largest.len < ST_IKEY_TAG_BYTES))) {
        rc = RERR(r, ST_ECORRUPT, "properties block at offset %llu: impossible values",
                  (unsigned long long)r->props_h.off);
        goto out;
    }
    p->entries = num[P_ENTRIES];
    p->deletions = num[P_DELETIONS];
    p->data_blocks = num[P_DATA_BLOCKS];
    p->raw_key_bytes = num[P_RAW_KEY_BYTES];
    p->raw_value_bytes = num[P_RAW_VALUE_BYTES];
    p->min_seq = num[P_MIN_SEQ];
    p->max_seq = num[P_MAX_SEQ];
    p->creation_time = num[P_CREATION_TIME];
    p->codec = (st_codec)codec;
    p->block_bytes = (uint32_t)num[P_BLOCK_BYTES];
    p->bloom_bits_per_key = (uint32_t)num[P_BLOOM_BITS];
out:
    st_block_iter_destroy(&it);
    return rc;
}

/* Reads the metaindex and the blocks it names. */
static int read_meta(st_sst_reader *r) {
    st_buf mb;
    st_buf_init(&mb);
    int rc = read_block_owned(r, r->meta_h, "metaindex", &mb);
    st_block blk;
    st_slice v;
    if (!rc && st_block_init(&blk, st_buf_slice(&mb))) rc = rewrap(r, ST_ECORRUPT, "metaindex", r->meta_h.off);
    if (!rc) {
        rc = st_block_find(&blk, st_slice_str(ST_SST_META_PROPERTIES), &v);
        if (rc == ST_ENOTFOUND)
            rc = RERR(r, ST_ECORRUPT, "metaindex block at offset %llu has no \"properties\"",
                      (unsigned long long)r->meta_h.off);
        else if (rc) rc = rewrap(r, rc, "metaindex", r->meta_h.off);
        else if (decode_handle(r, v, &r->props_h, "metaindex", r->meta_h.off)) rc = ST_ECORRUPT;
    }
    if (!rc) {
        rc = st_block_find(&blk, st_slice_str(ST_SST_META_FILTER), &v);
        if (rc == ST_ENOTFOUND) rc = 0;
        else if (rc) rc = rewrap(r, rc, "metaindex", r->meta_h.off);
        else if (decode_handle(r, v, &r->filter_h, "metaindex", r->meta_h.off)) rc = ST_ECORRUPT;
        else r->has_filter = true;
    }
    st_buf_destroy(&mb);
    if (rc) return rc;

    st_buf pb;
    st_buf_init(&pb);
    rc = read_block_owned(r, r->props_h, "properties", &pb);
    if (!rc) rc = parse_props(r, st_buf_slice(&pb));
    st_buf_destroy(&pb);
    if (rc) return rc;
    if (r->has_filter) ST_TRY(read_block_owned(r, r->filter_h, "filter", &r->filter_buf));
    ST_TRY(read_block_owned(r, r->index_h, "index", &r->index_buf));
    if (st_block_init(&r->index, st_buf_slice(&r->index_buf))) return rewrap(r, ST_ECORRUPT, "index", r->index_h.off);
    int frc = st_index_fence_build(&r->fence, &r->index);
    if (frc) return frc == ST_ECORRUPT ? rewrap(r, frc, "index", r->index_h.off) : frc;

    /* Data blocks end where the first meta block starts. */
    r->data_end = r->meta_h.off;
    if (r->props_h.off < r->data_end) r->data_end = r->props_h.off;
    if (r->index_h.off < r->data_end) r->data_end = r->index_h.off;
    if (r->has_filter && r->filter_h.off < r->data_end) r->data_end = r->filter_h.off;
    return 0;
}

/* The reader's cache entries are left to age out: no later reader can look them up (ids are never
 * reused), and erasing them would cost a lookup per block the file ever had. */
static void reader_free(st_sst_reader *r) {
    if (r->reserved) st_block_cache_unreserve(r->cache, r->reserved);
    st_table_file_close(r->tf);
    st_buf_destroy(&r->props.smallest);
    st_buf_destroy(&r->props.largest);
    st_buf_destroy(&r->index_buf);
    st_index_fence_destroy(&r->fence);
    st_buf_destroy(&r->filter_buf);
    free(r);
}

int st_sst_reader_open(st_file *f, uint64_t file_number, st_block_cache *cache, st_sst_reader **out) {
    return st_sst_reader_open_in(f, file_number, cache, NULL, out);
}

int st_sst_reader_open_in(st_file *f, uint64_t file_number, st_block_cache *cache, st_table_cache *files,
                          st_sst_reader **out) {
    *out = NULL;
    uint64_t size = 0;
    int rc = st_file_size(f, &size);
    if (rc < 0) {
        rc = st_err(st_err_from_errno(rc), "sst %llu (%s): reading the file size failed: %s",
                    (unsigned long long)file_number, st_file_path(f), strerror(-rc));
        st_file_close(f);
        return rc;
    }
    st_sst_reader *r = calloc(1, sizeof *r);
    if (!r) {
        rc = st_err(ST_ENOMEM, "sst %llu (%s): no memory for a reader", (unsigned long long)file_number,
                    st_file_path(f));
        st_file_close(f);
        return rc;
    }
    if ((rc = st_table_file_new(files, f, &r->tf))) { /* owns f from here, even on failure */
        free(r);
        return rc;
    }
    r->file_size = size;
    r->number = file_number;
    r->cache = cache;
    r->cache_id = cache ? st_block_cache_new_id(cache) : 0;
    st_buf_init(&r->props.smallest);
    st_buf_init(&r->props.largest);
    st_buf_init(&r->index_buf);
    st_buf_init(&r->filter_buf);
    atomic_init(&r->refs, 1);
    atomic_init(&r->block_reads, 0);
    atomic_init(&r->bloom_checks, 0);
    atomic_init(&r->bloom_useful, 0);
    atomic_init(&r->cache_hits, 0);
    atomic_init(&r->cache_misses, 0);

    footer ft;
    if (!(rc = read_footer(r, &ft))) {
        r->meta_h = ft.meta_h;
        r->index_h = ft.index_h;
        r->base = ft.base;
        r->footer_off = ft.off;
        r->props.format_version = ft.version;
        rc = read_meta(r);
    }
    if (rc) {
        reader_free(r);
        return rc;
    }
    if (cache) { /* index and filter share the cache's budget (R3) */
        r->reserved = st_sst_reader_memory(r);
        st_block_cache_reserve(cache, r->reserved);
    }
    *out = r;
    return 0;
}

size_t st_sst_reader_memory(const st_sst_reader *r) {
    return sizeof *r + r->index_buf.cap + st_index_fence_memory(&r->fence) + r->filter_buf.cap + r->props.smallest.cap +
           r->props.largest.cap;
}

void st_sst_reader_ref(st_sst_reader *r) { atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed); }

void st_sst_reader_unref(st_sst_reader *r) {
    if (!r) return;
    int prev = atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel);
    ST_ASSERT(prev >= 1);
    if (prev == 1) reader_free(r);
}

const st_sst_props *st_sst_reader_props(const st_sst_reader *r) { return &r->props; }
uint64_t st_sst_reader_number(const st_sst_reader *r) { return r->number; }

void st_sst_reader_layout(const st_sst_reader *r, st_sst_layout *out) {
    uint64_t t = ST_SST_TRAILER_BYTES;
    out->file_size = r->file_size;
    out->data_bytes = r->data_end;
    out->filter_bytes = r->has_filter ? r->filter_h.size + t : 0;
    out->properties_bytes = r->props_h.size + t;
    out->index_bytes = r->index_h.size + t;
    out->metaindex_bytes = r->meta_h.size + t;
    out->footer_bytes = r->file_size - r->footer_off;
}

void st_sst_reader_counters(const st_sst_reader *r, st_sst_counters *out) {
    out->block_reads = atomic_load_explicit(&r->block_reads, memory_order_relaxed);
    out->bloom_checks = atomic_load_explicit(&r->bloom_checks, memory_order_relaxed);
    out->bloom_useful = atomic_load_explicit(&r->bloom_useful, memory_order_relaxed);
    out->cache_hits = atomic_load_explicit(&r->cache_hits, memory_order_relaxed);
    out->cache_misses = atomic_load_explicit(&r->cache_misses, memory_order_relaxed);
}

static void count(atomic_uint_fast64_t *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }

/* Points blk at the contents of a verified data block (h names it in messages). */
static int data_block_view(const st_sst_reader *r, st_block_handle h, st_slice contents, st_block *blk) {
    if (st_block_init(blk, contents)) return rewrap(r, ST_ECORRUPT, "data", h.off);
    return 0;
}

/* Reads data block h into raw/dec and points blk at it. */
static int load_data_block(st_sst_reader *r, st_block_handle h, st_buf *raw, st_buf *dec, st_block *blk) {
    st_slice c = {NULL, 0};
    count(&r->block_reads);
    ST_TRY(read_block(r, h, r->data_end, "data", raw, dec, &c));
    return data_block_view(r, h, c, blk);
}

/* A cache entry's value: a verified data block and the buffer holding its bytes. */
typedef struct cached_block {
    st_block blk;  /* views data */
    uint8_t *data; /* malloc'ed, owned */
} cached_block;

static void cached_block_free(uint64_t id, uint64_t off, void *value) {
    cached_block *cb = value;
    free(cb->data);
    free(cb);
}

/* Inserts the block just read into raw or dec (whichever blk views) and, on success, moves that
 * buffer into the entry and returns the pinned handle. If the cache cannot take it (no memory)
 * the block stays in the buffer and *ch is NULL: the read still succeeds, uncached. */
static void cache_insert(st_sst_reader *r, uint64_t off, st_buf *raw, st_buf *dec, const st_block *blk,
                         st_block_cache_handle **ch) {
    *ch = NULL;
    st_buf *src = blk->data == raw->data ? raw : dec;
    cached_block *cb = malloc(sizeof *cb);
    if (!cb) return;
    cb->blk = *blk;
    cb->data = src->data;
    size_t charge = sizeof *cb + src->cap + ST_BLOCK_CACHE_ENTRY_OVERHEAD;
    if (st_block_cache_insert(r->cache, r->cache_id, off, cb, charge, cached_block_free, ST_CACHE_PRI_LOW, ch)) {
        free(cb);
        return;
    }
    st_buf_init(src); /* the entry owns the bytes now */
}

/* Data block h from r's cache, if it has one and holds it: true with blk viewing the entry that
 * *ch pins (release it when done). Counts the hit or miss. */
static bool cache_probe(st_sst_reader *r, st_block_handle h, st_block *blk, st_block_cache_handle **ch) {
    *ch = NULL;
    if (!r->cache) return false;
    if (st_block_cache_lookup(r->cache, r->cache_id, h.off, ch) != 0) {
        count(&r->cache_misses);
        return false;
    }
    count(&r->cache_hits);
    *blk = ((const cached_block *)st_block_cache_value(*ch))->blk;
    return true;
}

/* Data block h, through the cache when r has one: 0 with blk viewing either a cache entry pinned
 * by *ch (release it when done) or, with *ch NULL, the caller's raw/dec. On a miss the block is
 * read and, if fill_cache, inserted. Errors are load_data_block's; nothing is cached then. */
static int acquire_data_block(st_sst_reader *r, st_block_handle h, bool fill_cache, st_buf *raw, st_buf *dec,
                              st_block *blk, st_block_cache_handle **ch) {
    if (cache_probe(r, h, blk, ch)) return 0;
    ST_TRY(load_data_block(r, h, raw, dec, blk));
    if (r->cache && fill_cache) cache_insert(r, h.off, raw, dec, blk, ch);
    return 0;
}

/* ---- get ------------------------------------------------------------------------------------- */

/* A get is filter -> index -> data block -> search. The single get fetches the block at once; a
 * batch (st_sst_reader_multiget) runs the first two for every lookup, then reads the missing
 * blocks together. Both use the pieces below, so the answers cannot drift apart. */

/* False if the filter says ukey is absent (counted). */
static bool filter_passes(st_sst_reader *r, st_slice ukey) {
    if (!r->has_filter) return true;
    count(&r->bloom_checks);
    if (st_bloom_may_contain(st_buf_slice(&r->filter_buf), st_hash64(ukey.data, ukey.len))) return true;
    count(&r->bloom_useful);
    return false;
}

void st_sst_reader_prefetch(st_sst_reader *r, uint64_t hash) {
    if (r->has_filter) st_bloom_prefetch(st_buf_slice(&r->filter_buf), hash);
}

/* Writes (ukey, snap_seq, SEEK) to lk (ukey.len + 8 bytes): the first internal key >= it is the
 * newest version of ukey visible at snap_seq, if any. */
static st_slice put_lookup_key(uint8_t *lk, st_slice ukey, uint64_t snap_seq) {
    if (ukey.len) memcpy(lk, ukey.data, ukey.len);
    st_put_fixed64(lk + ukey.len, st_ikey_tag(snap_seq > ST_SEQ_MAX ? ST_SEQ_MAX : snap_seq, ST_KIND_SEEK));
    return st_slice_make(lk, ukey.len + ST_IKEY_TAG_BYTES);
}

/* The handle of the one data block that may hold target (see the file comment), or ST_ENOTFOUND.
 * ii is the caller's scratch iterator. */
static int index_find(const st_sst_reader *r, st_block_iter *ii, st_slice target, st_block_handle *h) {
    st_block_iter_set(ii, &r->index);
    st_index_fence_seek(&r->fence, ii, target);
    if (!ii->valid) return ii->status ? rewrap(r, ii->status, "index", r->index_h.off) : ST_ENOTFOUND;
    return decode_handle(r, ii->value, h, "index", r->index_h.off);
}

/* The end of a get in data block blk (at h): 0 with *kind and a PUT's value appended, or
 * ST_ENOTFOUND. di is the caller's scratch iterator; its views into blk die with blk. */
static int block_get(const st_sst_reader *r, st_block_iter *di, const st_block *blk, st_block_handle h,
                     st_slice target, st_slice ukey, int *kind, st_buf *value) {
    st_block_iter_set(di, blk);
    st_iter_seek(&di->base, target);
    if (!di->valid) return di->status ? rewrap(r, di->status, "data", h.off) : ST_ENOTFOUND;
    st_ikey_parts pk;
    if (!st_ikey_parse(di->key, &pk))
        return RERR(r, ST_ECORRUPT, "data block at offset %llu: entry with unknown kind", (unsigned long long)h.off);
    if (st_slice_cmp(pk.ukey, ukey) != 0) return ST_ENOTFOUND;
    *kind = pk.kind;
    if (pk.kind == ST_KIND_PUT && st_buf_append(value, di->value.data, di->value.len))
        return RERR(r, ST_ENOMEM, "no memory for a %zu-byte value", di->value.len);
    return 0;
}

int st_sst_reader_get(st_sst_reader *r, st_slice ukey, uint64_t snap_seq, int *kind, st_buf *value) {
    st_buf_clear(value);
    if (!filter_passes(r, ukey)) return ST_ENOTFOUND;
    uint8_t small[256];
    st_buf big;
    st_buf_init(&big);
    uint8_t *lk = small;
    size_t lk_len = ukey.len + ST_IKEY_TAG_BYTES;
    if (lk_len > sizeof small) {
        if (st_buf_reserve(&big, lk_len)) return RERR(r, ST_ENOMEM, "no memory for a %zu-byte lookup key", lk_len);
        lk = big.data;
    }
    st_slice target = put_lookup_key(lk, ukey, snap_seq);

    st_block_iter ii, di;
    st_block_iter_init(&ii, ST_BLOCK_IKEY);
    st_block_iter_init(&di, ST_BLOCK_IKEY);
    st_buf raw, dec;
    st_buf_init(&raw);
    st_buf_init(&dec);
    st_block_handle h = {0, 0};
    st_block blk;
    st_block_cache_handle *ch = NULL;
    int rc = index_find(r, &ii, target, &h);
    if (!rc) rc = acquire_data_block(r, h, true, &raw, &dec, &blk, &ch);
    if (!rc) rc = block_get(r, &di, &blk, h, target, ukey, kind, value);
    st_block_iter_destroy(&ii);
    st_block_iter_destroy(&di);
    if (ch) st_block_cache_release(r->cache, ch); /* after the last use of di's views */
    st_buf_destroy(&raw);
    st_buf_destroy(&dec);
    st_buf_destroy(&big);
    return rc;
}

/* ---- batched gets ---------------------------------------------------------------------------- */

/* Bytes of blocks one st_io_read_batch may read: bounds a batch's buffers (blocks are read whole
 * and held until verified) while still putting hundreds of 64 KiB reads in flight at once. */
#define MG_MAX_BATCH_BYTES (32u << 20)

/* A lookup whose data block the cache did not hold. */
typedef struct mg_miss {
    st_sst_reader *r;
    st_block_handle h;
    size_t get; /* its index in the caller's array */
} mg_miss;

/* One block read, serving the misses [first, first + n) (same table and block). */
typedef struct mg_read {
    size_t first, n;
    st_buf raw, dec;
    int rc;      /* of block_prepare: the read was not issued */
    int read_rc; /* of the read (or of opening the file for it) */
    size_t got;
} mg_read;

/* A table's descriptor, held open while a submission's reads are in flight. */
typedef struct mg_pin {
    st_table_file *tf;
    st_table_pin p;
} mg_pin;

static int miss_cmp(const void *a, const void *b) {
    const mg_miss *x = a, *y = b;
    if (x->r != y->r) return (uintptr_t)x->r < (uintptr_t)y->r ? -1 : 1;
    if (x->h.off != y->h.off) return x->h.off < y->h.off ? -1 : 1;
    if (x->h.size != y->h.size) return x->h.size < y->h.size ? -1 : 1;
    return (x->get > y->get) - (x->get < y->get);
}

static bool same_block(const mg_miss *x, const mg_miss *y) {
    return x->r == y->r && x->h.off == y->h.off && x->h.size == y->h.size;
}

/* Scratch shared by the steps of one st_sst_reader_multiget. */
typedef struct mg_state {
    st_sst_lookup *gets;
    st_slice *targets; /* per lookup: its lookup key */
    mg_miss *misses;
    mg_read *reads;
    st_io_req *reqs;
    size_t *req_of;    /* per read of a submission: its request, or SIZE_MAX if none was issued */
    mg_pin *pins;
    st_block_iter di;
} mg_state;

/* Reads reads[0, nrd) with one st_io_read_batch, then finishes each like acquire_data_block
 * (verify, decompress, cache) and answers the lookups waiting on it. */
static void mg_submit(mg_state *m, mg_read *rd, size_t nrd) {
    size_t nreq = 0, npins = 0;
    st_sst_reader *pinned = NULL; /* reads come sorted by table: one pin per table */
    int pin_rc = 0;
    for (size_t j = 0; j < nrd; j++) {
        const mg_miss *mi = &m->misses[rd[j].first];
        st_sst_reader *r = mi->r;
        m->req_of[j] = SIZE_MAX;
        count(&r->block_reads);
        if ((rd[j].rc = block_prepare(r, mi->h, r->data_end, "data", &rd[j].raw))) continue;
        if (r != pinned) {
            pinned = r;
            m->pins[npins].tf = r->tf;
            pin_rc = st_table_file_pin(r->tf, &m->pins[npins].p);
            if (!pin_rc) npins++;
        }
        if (pin_rc) {
            rd[j].read_rc = pin_rc; /* reported as this block's read error */
            continue;
        }
        m->req_of[j] = nreq;
        m->reqs[nreq++] = (st_io_req){.file = m->pins[npins - 1].p.f, .off = mi->h.off,
                                      .len = block_read_bytes(mi->h), .buf = rd[j].raw.data};
    }
    if (nreq) st_io_read_batch(m->reqs, nreq); /* each request's own rc is judged below */
    for (size_t k = 0; k < npins; k++) st_table_file_unpin(m->pins[k].tf, &m->pins[k].p);

    for (size_t j = 0; j < nrd; j++) {
        mg_read *d = &rd[j];
        st_sst_reader *r = m->misses[d->first].r;
        st_block_handle h = m->misses[d->first].h;
        if (m->req_of[j] != SIZE_MAX) {
            d->read_rc = m->reqs[m->req_of[j]].rc;
            d->got = m->reqs[m->req_of[j]].nread;
        }
        st_block blk;
        st_slice c = {NULL, 0};
        st_block_cache_handle *ch = NULL;
        int rc = d->rc;
        if (!rc) rc = block_finish(r, h, "data", d->read_rc, d->got, &d->raw, &d->dec, &c);
        if (!rc) rc = data_block_view(r, h, c, &blk);
        if (!rc && r->cache) cache_insert(r, h.off, &d->raw, &d->dec, &blk, &ch);
        for (size_t k = d->first; k < d->first + d->n; k++) {
            size_t i = m->misses[k].get;
            st_sst_lookup *g = &m->gets[i];
            g->rc = rc ? rc : block_get(r, &m->di, &blk, h, m->targets[i], g->ukey, &g->kind, g->value);
        }
        if (ch) st_block_cache_release(r->cache, ch);
        st_buf_destroy(&d->raw);
        st_buf_destroy(&d->dec);
    }
}

void st_sst_reader_multiget(st_sst_lookup *gets, size_t n) {
    if (n == 0) return;
    size_t key_bytes = 0;
    for (size_t i = 0; i < n; i++) key_bytes += gets[i].ukey.len + ST_IKEY_TAG_BYTES;
    mg_state m = {.gets = gets};
    uint8_t *keys = malloc(key_bytes);
    m.targets = malloc(n * sizeof *m.targets);
    m.misses = malloc(n * sizeof *m.misses);
    m.reads = calloc(n, sizeof *m.reads);
    m.reqs = malloc(n * sizeof *m.reqs);
    m.req_of = malloc(n * sizeof *m.req_of);
    m.pins = malloc(n * sizeof *m.pins);
    if (!keys || !m.targets || !m.misses || !m.reads || !m.reqs || !m.req_of || !m.pins) {
        /* No memory to batch: the same lookups, one at a time. */
        for (size_t i = 0; i < n; i++)
            gets[i].rc = st_sst_reader_get(gets[i].r, gets[i].ukey, gets[i].snap_seq, &gets[i].kind, gets[i].value);
        goto out;
    }

    /* In memory first: filter, index, cache. What the cache lacks becomes a miss. */
    st_block_iter ii;
    st_block_iter_init(&ii, ST_BLOCK_IKEY);
    st_block_iter_init(&m.di, ST_BLOCK_IKEY);
    size_t nmiss = 0;
    uint8_t *kp = keys;
    for (size_t i = 0; i < n; i++) {
        st_sst_lookup *g = &gets[i];
        st_buf_clear(g->value);
        g->rc = ST_ENOTFOUND;
        if (!filter_passes(g->r, g->ukey)) continue;
        m.targets[i] = put_lookup_key(kp, g->ukey, g->snap_seq);
        kp += m.targets[i].len;
        st_block_handle h;
        if ((g->rc = index_find(g->r, &ii, m.targets[i], &h))) continue;
        st_block blk;
        st_block_cache_handle *ch;
        if (cache_probe(g->r, h, &blk, &ch)) {
            g->rc = block_get(g->r, &m.di, &blk, h, m.targets[i], g->ukey, &g->kind, g->value);
            st_block_cache_release(g->r->cache, ch);
            continue;
        }
        m.misses[nmiss++] = (mg_miss){g->r, h, i};
    }
    st_block_iter_destroy(&ii);

    /* Sorted by (table, block): lookups of one block share its read, and each file is read in
     * offset order. */
    qsort(m.misses, nmiss, sizeof *m.misses, miss_cmp);
    size_t nreads = 0;
    for (size_t k = 0; k < nmiss; k++) {
        if (k == 0 || !same_block(&m.misses[k], &m.misses[k - 1])) {
            st_buf_init(&m.reads[nreads].raw);
            st_buf_init(&m.reads[nreads].dec);
            m.reads[nreads++].first = k;
        }
        m.reads[nreads - 1].n++;
    }
    for (size_t a = 0; a < nreads;) {
        size_t b = a, bytes = 0;
        /* sizes come from the index, unchecked yet: compare without overflowing */
        while (b < nreads) {
            uint64_t sz = m.misses[m.reads[b].first].h.size;
            if (b > a && (sz > MG_MAX_BATCH_BYTES || bytes + sz > MG_MAX_BATCH_BYTES)) break;
            bytes += sz > MG_MAX_BATCH_BYTES ? MG_MAX_BATCH_BYTES : (size_t)sz;
            b++;
        }
        mg_submit(&m, m.reads + a, b - a);
        a = b;
    }
    st_block_iter_destroy(&m.di);
out:
    free(keys);
    free(m.targets);
    free(m.misses);
    free(m.reads);
    free(m.reqs);
    free(m.req_of);
    free(m.pins);
}

/* ---- two-level iterator ---------------------------------------------------------------------- */

typedef struct sst_iter {
    st_iter base;
    st_sst_reader *r;       /* referenced */
    st_block_iter index_it;
    st_block_iter data_it;  /* over blk while has_block */
    st_buf raw, dec;        /* the current data block's bytes, unless ch pins them in the cache */
    st_block_cache_handle *ch;
    st_block blk;
    uint64_t blk_off;
    bool has_block;
    bool fill_cache;
    size_t readahead;       /* st_sst_iter_opts.readahead_bytes */
    st_buf ra;              /* the readahead window: file bytes [ra_off, ra_off + ra.len) */
    uint64_t ra_off;
    int status;
} sst_iter;

/* Drops the current block (its pin, if cached). */
static void drop_block(sst_iter *it) {
    it->has_block = false;
    if (it->ch) {
        st_block_cache_release(it->r->cache, it->ch);
        it->ch = NULL;
    }
}

/* load_data_block through the readahead window: block h is copied out of the window, which is
 * refilled when h is not wholly inside it: readahead bytes from h.off on (at most up to the end of
 * the data area), or, moving backward, the readahead bytes that end where h does. The copy then
 * goes through the same checks as any read (block_finish). */
static int load_data_block_ra(sst_iter *it, st_block_handle h, bool backward) {
    st_sst_reader *r = it->r;
    ST_TRY(block_prepare(r, h, r->data_end, "data", &it->raw));
    size_t n = block_read_bytes(h);
    int rc = 0;
    if (h.off < it->ra_off || h.off + n > it->ra_off + it->ra.len) {
        uint64_t want = it->readahead > n ? it->readahead : n;
        uint64_t start = h.off;
        if (backward) start = h.off + n > want ? h.off + n - want : 0;
        if (want > r->data_end - start) want = r->data_end - start;
        st_buf_clear(&it->ra);
        it->ra_off = start;
        if (reserve_exact(&it->ra, (size_t)want))
            return RERR(r, ST_ENOMEM, "no memory for a %llu-byte readahead", (unsigned long long)want);
        size_t got = 0;
        rc = st_table_file_pread(r->tf, it->ra.data, (size_t)want, start, &got);
        it->ra.len = rc ? 0 : got;
    }
    size_t have = 0;
    if (!rc && h.off + n <= it->ra_off + it->ra.len) have = n;
    else if (!rc && it->ra_off + it->ra.len > h.off) have = (size_t)(it->ra_off + it->ra.len - h.off);
    if (have) memcpy(it->raw.data, it->ra.data + (h.off - it->ra_off), have);
    count(&r->block_reads);
    st_slice c = {NULL, 0};
    ST_TRY(block_finish(r, h, "data", rc, have, &it->raw, &it->dec, &c));
    return data_block_view(r, h, c, &it->blk);
}

/* Points data_it at the block the index iterator names (unpositioned), or at none. backward:
 * the iterator is moving toward the start of the file (readahead reads behind the block). */
static void init_data_block(sst_iter *it, bool backward) {
    if (!it->index_it.valid) {
        drop_block(it);
        if (it->index_it.status) it->status = rewrap(it->r, it->index_it.status, "index", it->r->index_h.off);
        return;
    }
    st_block_handle h;
    int rc = decode_handle(it->r, it->index_it.value, &h, "index", it->r->index_h.off);
    if (!rc && !(it->has_block && it->blk_off == h.off)) {
        drop_block(it);
        if (!it->readahead) {
            rc = acquire_data_block(it->r, h, it->fill_cache, &it->raw, &it->dec, &it->blk, &it->ch);
        } else if (!cache_probe(it->r, h, &it->blk, &it->ch) && !(rc = load_data_block_ra(it, h, backward)) &&
                   it->r->cache && it->fill_cache) {
            cache_insert(it->r, h.off, &it->raw, &it->dec, &it->blk, &it->ch);
        }
    }
    if (rc) {
        drop_block(it);
        it->status = rc;
        return;
    }
    it->has_block = true;
    it->blk_off = h.off;
    st_block_iter_set(&it->data_it, &it->blk);
}

/* Moves past exhausted (or empty) data blocks. */
static void skip_empty_blocks(sst_iter *it) {
    while (!it->status && it->has_block && !it->data_it.valid) {
        if (it->data_it.status) {
            it->status = rewrap(it->r, it->data_it.status, "data", it->blk_off);
            return;
        }
        st_iter_next(&it->index_it.base);
        init_data_block(it, false);
        if (it->has_block) st_iter_seek_first(&it->data_it.base);
    }
}

/* skip_empty_blocks toward the start of the file: into the previous block's last entry. */
static void skip_empty_blocks_backward(sst_iter *it) {
    while (!it->status && it->has_block && !it->data_it.valid) {
        if (it->data_it.status) {
            it->status = rewrap(it->r, it->data_it.status, "data", it->blk_off);
            return;
        }
        st_iter_prev(&it->index_it.base);
        init_data_block(it, true);
        if (it->has_block) st_iter_seek_last(&it->data_it.base);
    }
}

static void si_seek_first(st_iter *base) {
    sst_iter *it = (sst_iter *)base;
    it->status = 0;
    st_iter_seek_first(&it->index_it.base);
    init_data_block(it, false);
    if (it->has_block) st_iter_seek_first(&it->data_it.base);
    skip_empty_blocks(it);
}

static void si_seek(st_iter *base, st_slice target) {
    sst_iter *it = (sst_iter *)base;
    it->status = 0;
    st_iter_seek(&it->index_it.base, target);
    init_data_block(it, false);
    if (it->has_block) st_iter_seek(&it->data_it.base, target);
    skip_empty_blocks(it);
}

static void si_seek_last(st_iter *base) {
    sst_iter *it = (sst_iter *)base;
    it->status = 0;
    st_iter_seek_last(&it->index_it.base);
    init_data_block(it, true);
    if (it->has_block) st_iter_seek_last(&it->data_it.base);
    skip_empty_blocks_backward(it);
}

/* The block the index names for target holds the first key >= target, and every key of the
 * blocks before it is < target: the last key <= target is in that block or is the previous
 * block's last. With no such block every key is < target. */
static void si_seek_for_prev(st_iter *base, st_slice target) {
    sst_iter *it = (sst_iter *)base;
    it->status = 0;
    st_iter_seek(&it->index_it.base, target);
    if (!it->index_it.valid && !it->index_it.status) {
        si_seek_last(base);
        return;
    }
    init_data_block(it, true);
    if (it->has_block) st_iter_seek_for_prev(&it->data_it.base, target);
    skip_empty_blocks_backward(it);
}

static bool si_valid(const st_iter *base) {
    const sst_iter *it = (const sst_iter *)base;
    return !it->status && it->has_block && it->data_it.valid;
}

static void si_next(st_iter *base) {
    sst_iter *it = (sst_iter *)base;
    ST_ASSERT(si_valid(base));
    st_iter_next(&it->data_it.base);
    skip_empty_blocks(it);
}

static void si_prev(st_iter *base) {
    sst_iter *it = (sst_iter *)base;
    ST_ASSERT(si_valid(base));
    st_iter_prev(&it->data_it.base);
    skip_empty_blocks_backward(it);
}

static st_slice si_key(const st_iter *base) { return ((const sst_iter *)base)->data_it.key; }
static st_slice si_value(const st_iter *base) { return ((const sst_iter *)base)->data_it.value; }
static int si_status(const st_iter *base) { return ((const sst_iter *)base)->status; }

static void si_destroy(st_iter *base) {
    sst_iter *it = (sst_iter *)base;
    drop_block(it);
    st_block_iter_destroy(&it->index_it);
    st_block_iter_destroy(&it->data_it);
    st_buf_destroy(&it->raw);
    st_buf_destroy(&it->dec);
    st_buf_destroy(&it->ra);
    st_sst_reader_unref(it->r);
    free(it);
}

static const struct st_iter_ops sst_iter_ops = {
    .seek_first = si_seek_first,
    .seek = si_seek,
    .next = si_next,
    .seek_last = si_seek_last,
    .seek_for_prev = si_seek_for_prev,
    .prev = si_prev,
    .valid = si_valid,
    .key = si_key,
    .value = si_value,
    .status = si_status,
    .destroy = si_destroy,
};

int st_sst_reader_iter_new_opts(st_sst_reader *r, const st_sst_iter_opts *o, st_iter **out) {
    *out = NULL;
    sst_iter *it = calloc(1, sizeof *it);
    if (!it) return RERR(r, ST_ENOMEM, "no memory for an iterator");
    it->base.ops = &sst_iter_ops;
    st_sst_reader_ref(r);
    it->r = r;
    it->fill_cache = o ? o->fill_cache : st_sst_iter_opts_default().fill_cache;
    it->readahead = o ? o->readahead_bytes : 0;
    st_buf_init(&it->ra);
    st_block_iter_init(&it->index_it, ST_BLOCK_IKEY);
    st_block_iter_set(&it->index_it, &r->index);
    st_block_iter_init(&it->data_it, ST_BLOCK_IKEY);
    st_buf_init(&it->raw);
    st_buf_init(&it->dec);
    *out = &it->base;
    return 0;
}

int st_sst_reader_iter_new(st_sst_reader *r, st_iter **out) { return st_sst_reader_iter_new_opts(r, NULL, out); }

/* ---- verify ---------------------------------------------------------------------------------- */

/* Every restart point of blk is the start of an entry with a whole key (shared == 0). A forward
 * walk never reads the restart array, but seeks and backward steps start at restart points, so a
 * restart array that disagrees with the entries breaks them while every forward read succeeds. */
static int verify_restarts(const st_sst_reader *r, const st_block *blk, const char *what, uint64_t off) {
    const uint8_t *limit = blk->data + blk->restarts_off;
    uint32_t ri = 0;
    size_t at = 0;
    while (at < blk->restarts_off) {
        const uint8_t *p = blk->data + at;
        uint32_t shared, non_shared, vlen;
        if (!(p = st_get_varint32(p, limit, &shared)) || !(p = st_get_varint32(p, limit, &non_shared)) ||
            !(p = st_get_varint32(p, limit, &vlen)) || (uint64_t)(limit - p) < (uint64_t)non_shared + vlen)
            return 0; /* a malformed entry: the walk over the entries reports it */
        if (ri < blk->nrestarts && st_block_restart_offset(blk, ri) < at) break;
        if (ri < blk->nrestarts && st_block_restart_offset(blk, ri) == at) {
            if (shared)
                return RERR(r, ST_ECORRUPT, "%s block at offset %llu: restart point %u at block offset %zu shares a key prefix",
                            what, (unsigned long long)off, ri, at);
            ri++;
        }
        at = (size_t)(p - blk->data) + non_shared + vlen;
    }
    if (ri < blk->nrestarts && blk->restarts_off > 0)
        return RERR(r, ST_ECORRUPT, "%s block at offset %llu: restart point %u at block offset %u is not an entry",
                    what, (unsigned long long)off, ri, st_block_restart_offset(blk, ri));
    return 0;
}

/* Walks one data block: restart points are entries, entries parse, keys increase across the file,
 * stay <= the block's index key and above the previous block's (`lower`, empty for the first), and
 * the filter holds every user key. */
static int verify_block(st_sst_reader *r, const st_block *blk, st_block_handle h, st_slice lower, st_slice index_key,
                        st_buf *prev, uint64_t *entries) {
    ST_TRY(verify_restarts(r, blk, "data", h.off));
    st_block_iter di;
    st_block_iter_init(&di, ST_BLOCK_IKEY);
    st_block_iter_set(&di, blk);
    int rc = 0;
    for (st_iter_seek_first(&di.base); st_iter_valid(&di.base); st_iter_next(&di.base)) {
        st_ikey_parts pk;
        const char *bad = NULL;
        if (!st_ikey_parse(di.key, &pk)) bad = "entry with unknown kind";
        else if (prev->len && st_ikey_cmp(di.key, st_buf_slice(prev)) <= 0) bad = "keys out of order";
        else if (st_ikey_cmp(di.key, index_key) > 0) bad = "key beyond its index entry";
        else if (lower.len && st_ikey_cmp(di.key, lower) <= 0) bad = "key not above the previous index entry";
        else if (r->has_filter &&
                 !st_bloom_may_contain(st_buf_slice(&r->filter_buf), st_hash64(pk.ukey.data, pk.ukey.len)))
            bad = "filter does not hold a key";
        if (bad) {
            rc = RERR(r, ST_ECORRUPT, "data block at offset %llu, entry at block offset %zu: %s",
                      (unsigned long long)h.off, di.cur, bad);
            break;
        }
        st_buf_clear(prev);
        if (st_buf_append(prev, di.key.data, di.key.len)) {
            rc = RERR(r, ST_ENOMEM, "no memory to verify");
            break;
        }
        (*entries)++;
    }
    if (!rc && di.status) rc = rewrap(r, di.status, "data", h.off);
    st_block_iter_destroy(&di);
    return rc;
}

int st_sst_reader_verify(st_sst_reader *r) {
    footer ft;
    ST_TRY(read_footer(r, &ft));
    if (ft.base != r->base || ft.meta_h.off != r->meta_h.off || ft.index_h.off != r->index_h.off)
        return RERR(r, ST_ECORRUPT, "footer at offset %llu changed since open", (unsigned long long)ft.off);
    st_buf raw, dec, prev;
    st_buf_init(&raw);
    st_buf_init(&dec);
    st_buf_init(&prev);
    st_slice c = {NULL, 0};
    int rc = 0;
    /* The in-memory metadata was verified at open; check the bytes on disk still match. */
    const st_block_handle mh[4] = {r->meta_h, r->props_h, r->index_h, r->filter_h};
    const char *names[4] = {"metaindex", "properties", "index", "filter"};
    for (int i = 0; i < 4 && !rc; i++) {
        if (i == 3 && !r->has_filter) break;
        rc = read_block(r, mh[i], r->footer_off, names[i], &raw, &dec, &c);
    }

    if (!rc) rc = verify_restarts(r, &r->index, "index", r->index_h.off);

    st_block_iter ii;
    st_block_iter_init(&ii, ST_BLOCK_IKEY);
    st_block_iter_set(&ii, &r->index);
    uint64_t expect_off = 0, entries = 0, blocks = 0;
    st_buf lower; /* the previous index key, copied: ii's key may live in its own buffer */
    st_buf_init(&lower);
    for (st_iter_seek_first(&ii.base); !rc && st_iter_valid(&ii.base); st_iter_next(&ii.base)) {
        st_block_handle h;
        st_block blk;
        if ((rc = decode_handle(r, ii.value, &h, "index", r->index_h.off))) break;
        if (h.off != expect_off) {
            rc = RERR(r, ST_ECORRUPT, "index entry %llu names offset %llu, expected %llu", (unsigned long long)blocks,
                      (unsigned long long)h.off, (unsigned long long)expect_off);
            break;
        }
        if ((rc = load_data_block(r, h, &raw, &dec, &blk))) break;
        if ((rc = verify_block(r, &blk, h, st_buf_slice(&lower), ii.key, &prev, &entries))) break;
        st_buf_clear(&lower);
        if (st_buf_append(&lower, ii.key.data, ii.key.len)) {
            rc = RERR(r, ST_ENOMEM, "no memory to verify");
            break;
        }
        expect_off = h.off + h.size + ST_SST_TRAILER_BYTES;
        blocks++;
    }
    if (!rc && ii.status) rc = rewrap(r, ii.status, "index", r->index_h.off);
    if (!rc && expect_off != r->data_end)
        rc = RERR(r, ST_ECORRUPT, "data blocks end at %llu, meta blocks start at %llu", (unsigned long long)expect_off,
                  (unsigned long long)r->data_end);
    if (!rc && (entries != r->props.entries || blocks != r->props.data_blocks))
        rc = RERR(r, ST_ECORRUPT, "found %llu entries in %llu blocks, properties say %llu in %llu",
                  (unsigned long long)entries, (unsigned long long)blocks, (unsigned long long)r->props.entries,
                  (unsigned long long)r->props.data_blocks);
    st_block_iter_destroy(&ii);
    st_buf_destroy(&lower);
    st_buf_destroy(&raw);
    st_buf_destroy(&dec);
    st_buf_destroy(&prev);
    return rc;
}

bool st_sst_reader_is_direct(const st_sst_reader *r) { return st_table_file_is_direct(r->tf); }
