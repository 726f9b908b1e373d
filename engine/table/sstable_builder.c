/* sstable_builder.c -- writes [data blocks][filter][properties][index][metaindex][footer].
 *
 * Data blocks close once they reach block_bytes. A block's index entry is written when the next
 * block's first key is known, so its key can be a short separator (>= the block's last key, < the
 * next block's first); the last block gets a short successor. Shortened separators are built on
 * the user key and carry the tag (ST_SEQ_MAX, ST_KIND_SEEK), the smallest internal key for that
 * user key, so they stay valid internal keys. Every block goes through write_block: compress (12.5%
 * rule), append the trailer {codec, checksum mixed with the file's random base and the block's
 * offset}, and flush to the file in ~256 KiB appends. */
#include "sstable_builder.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block_builder.h"
#include "bloom.h"
#include "compress.h"
#include "sstable_format.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/ikey.h"

#define WRITE_CHUNK_BYTES (256u << 10)
/* Largest key + value accepted: with block_bytes <= 64 MiB a block stays well under 4 GiB. */
#define MAX_ENTRY_BYTES (UINT64_C(1) << 31)

struct st_sst_builder {
    st_file *f;                     /* borrowed; NULL when writing to w */
    st_seqwriter *w;                /* borrowed; NULL when writing to f */
    const char *path;               /* f's or w's, for messages */
    st_sst_opts o;
    st_block_builder data, index;
    st_bloom_builder bloom;
    st_compressor comp;
    st_buf out;                     /* finished blocks not yet appended to f */
    uint64_t off;                   /* file offset of the next block = appended + out.len */
    st_hash_state *hash;            /* XXH3-64 of the bytes appended */
    uint32_t base;                  /* per-file checksum base */
    st_buf last_key;
    st_buf sep;                     /* scratch: index separator */
    bool pending_index;             /* the last data block's index entry is not written yet */
    st_block_handle pending;
    uint64_t entries, deletions, data_blocks, raw_key_bytes, raw_value_bytes, min_seq, max_seq;
    st_buf smallest;
    int status;                     /* sticky write/memory error (SB2) */
    bool finished;
};

void st_sst_meta_init(st_sst_meta *m) {
    memset(m, 0, sizeof *m);
    st_buf_init(&m->smallest);
    st_buf_init(&m->largest);
}

void st_sst_meta_destroy(st_sst_meta *m) {
    if (!m) return;
    st_buf_destroy(&m->smallest);
    st_buf_destroy(&m->largest);
}

static const char *path_of(const st_sst_builder *b) { return b->path; }

/* Not a secret, just different for every file: a block copied from another table fails. */
static uint32_t random_base(const st_sst_builder *b) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed[4] = {(uint64_t)ts.tv_sec, (uint64_t)ts.tv_nsec, (uint64_t)(uintptr_t)b,
                        st_hash64(path_of(b), strlen(path_of(b)))};
    return (uint32_t)st_hash64(seed, sizeof seed);
}

static int builder_new(st_file *f, st_seqwriter *w, const char *path, const st_sst_opts *o, st_sst_builder **out) {
    *out = NULL;
    if (o->block_bytes < 1 || o->block_bytes > ST_COMPRESS_MAX_RAW || o->restart_interval < 1 ||
        o->bloom_bits_per_key < 0 || o->bloom_bits_per_key > 1000 ||
        (o->codec != ST_CODEC_NONE && o->codec != ST_CODEC_LZ4 && o->codec != ST_CODEC_ZSTD))
        return st_err(ST_EINVAL, "sst %s: bad options (block_bytes %zu, restart_interval %d, bloom %d, codec %d)",
                      path, o->block_bytes, o->restart_interval, o->bloom_bits_per_key, (int)o->codec);
    uint64_t written = f ? st_file_append_off(f) : st_seqwriter_size(w);
    if (written != 0)
        return st_err(ST_EINVAL, "sst %s: file is not empty (%llu bytes)", path, (unsigned long long)written);
    st_sst_builder *b = calloc(1, sizeof *b);
    if (!b) return st_err(ST_ENOMEM, "sst %s: no memory for a builder", path);
    b->hash = XXH3_createState();
    if (!b->hash) {
        free(b);
        return st_err(ST_ENOMEM, "sst %s: no memory for a builder", path);
    }
    st_hash_begin(b->hash);
    b->f = f;
    b->w = w;
    b->path = path;
    b->o = *o;
    st_block_builder_init(&b->data, o->restart_interval);
    st_block_builder_init(&b->index, ST_SST_INDEX_RESTART_INTERVAL);
    st_bloom_builder_init(&b->bloom, o->bloom_bits_per_key ? o->bloom_bits_per_key : 1);
    st_compressor_init(&b->comp);
    st_buf_init(&b->out);
    st_buf_init(&b->last_key);
    st_buf_init(&b->sep);
    st_buf_init(&b->smallest);
    b->base = random_base(b);
    *out = b;
    return 0;
}

int st_sst_builder_new(st_file *f, const st_sst_opts *o, st_sst_builder **out) {
    return builder_new(f, NULL, st_file_path(f), o, out);
}

int st_sst_builder_new_seq(st_seqwriter *w, const char *path, const st_sst_opts *o, st_sst_builder **out) {
    return builder_new(NULL, w, path, o, out);
}

void st_sst_builder_free(st_sst_builder *b) {
    if (!b) return;
    st_block_builder_destroy(&b->data);
    st_block_builder_destroy(&b->index);
    st_bloom_builder_destroy(&b->bloom);
    st_compressor_destroy(&b->comp);
    st_buf_destroy(&b->out);
    st_buf_destroy(&b->last_key);
    st_buf_destroy(&b->sep);
    st_buf_destroy(&b->smallest);
    XXH3_freeState(b->hash);
    free(b);
}

static int fail(st_sst_builder *b, int rc) {
    if (!b->status) b->status = rc;
    return rc;
}

static int nomem(st_sst_builder *b) {
    return fail(b, st_err(ST_ENOMEM, "sst %s: out of memory at offset %llu", path_of(b), (unsigned long long)b->off));
}

static int flush_out(st_sst_builder *b) {
    if (!b->out.len) return 0;
    uint64_t at = b->off - b->out.len;
    int rc = b->f ? st_file_append(b->f, b->out.data, b->out.len) : st_seqwriter_append(b->w, b->out.data, b->out.len);
    if (rc < 0)
        return fail(b, st_err(st_err_from_errno(rc), "sst %s: writing %zu bytes at offset %llu failed: %s",
                              path_of(b), b->out.len, (unsigned long long)at, strerror(-rc)));
    st_hash_feed(b->hash, b->out.data, b->out.len);
    st_buf_clear(&b->out);
    return 0;
}

/* Appends raw (compressed with `codec` if worth it) and its trailer; *h names the stored bytes. */
static int write_block(st_sst_builder *b, st_slice raw, st_codec codec, st_block_handle *h) {
    size_t start = b->out.len;
    st_codec used;
    int rc = st_compressor_run(&b->comp, codec, b->o.zstd_level, raw, &b->out, &used);
    if (rc) return fail(b, rc);
    if (st_buf_reserve(&b->out, ST_SST_TRAILER_BYTES)) return nomem(b);
    size_t stored = b->out.len - start;
    b->out.data[b->out.len++] = (uint8_t)used;
    uint32_t crc = st_sst_block_checksum(b->out.data + start, stored + 1, b->base, b->off);
    st_buf_append_fixed32(&b->out, crc);
    h->off = b->off;
    h->size = stored;
    b->off += stored + ST_SST_TRAILER_BYTES;
    return b->out.len >= WRITE_CHUNK_BYTES ? flush_out(b) : 0;
}

static int flush_data_block(st_sst_builder *b) {
    if (st_block_builder_empty(&b->data)) return 0;
    st_slice raw;
    if (st_block_builder_finish(&b->data, &raw)) return nomem(b);
    ST_TRY(write_block(b, raw, b->o.codec, &b->pending));
    st_block_builder_reset(&b->data);
    b->pending_index = true;
    b->data_blocks++;
    return 0;
}

/* sep = a short internal key with last <= sep < next (LevelDB's FindShortestSeparator). */
static int make_separator(st_buf *sep, st_slice last, st_slice next) {
    st_slice ul = st_ikey_user(last), un = st_ikey_user(next);
    size_t n = ul.len < un.len ? ul.len : un.len, i = 0;
    while (i < n && ul.data[i] == un.data[i]) i++;
    st_buf_clear(sep);
    if (i < n && i + 1 < ul.len && ul.data[i] < 0xff && ul.data[i] + 1 < un.data[i]) {
        uint8_t c = (uint8_t)(ul.data[i] + 1);
        int rc = st_buf_append(sep, ul.data, i);
        if (!rc) rc = st_buf_append(sep, &c, 1);
        return rc ? rc : st_buf_append_fixed64(sep, st_ikey_tag(ST_SEQ_MAX, ST_KIND_SEEK));
    }
    return st_buf_append(sep, last.data, last.len);
}

/* sep = a short internal key >= last (LevelDB's FindShortSuccessor). */
static int make_successor(st_buf *sep, st_slice last) {
    st_slice ul = st_ikey_user(last);
    st_buf_clear(sep);
    for (size_t i = 0; i + 1 < ul.len; i++) {
        if (ul.data[i] == 0xff) continue;
        uint8_t c = (uint8_t)(ul.data[i] + 1);
        int rc = st_buf_append(sep, ul.data, i);
        if (!rc) rc = st_buf_append(sep, &c, 1);
        return rc ? rc : st_buf_append_fixed64(sep, st_ikey_tag(ST_SEQ_MAX, ST_KIND_SEEK));
    }
    return st_buf_append(sep, last.data, last.len);
}

static int add_index_entry(st_sst_builder *b) {
    uint8_t hv[ST_SST_HANDLE_MAX_BYTES];
    size_t hn = (size_t)(st_block_handle_put(hv, b->pending) - hv);
    if (st_block_builder_add(&b->index, st_buf_slice(&b->sep), st_slice_make(hv, hn))) return nomem(b);
    b->pending_index = false;
    return 0;
}

int st_sst_builder_add(st_sst_builder *b, st_slice ikey, st_slice value) {
    if (b->status) return b->status;
    if (b->finished) return st_err(ST_EINVAL, "sst %s: add after finish", path_of(b));
    st_ikey_parts pk;
    if (!st_ikey_parse(ikey, &pk))
        return st_err(ST_EINVAL, "sst %s: malformed internal key (%zu bytes)", path_of(b), ikey.len);
    if ((uint64_t)ikey.len + value.len > MAX_ENTRY_BYTES)
        return st_err(ST_EINVAL, "sst %s: entry of %zu + %zu bytes is too large", path_of(b), ikey.len, value.len);
    if (b->entries && st_ikey_cmp(ikey, st_buf_slice(&b->last_key)) <= 0)
        return st_err(ST_EINVAL, "sst %s: key %llu is not after the previous key (seq %llu)", path_of(b),
                      (unsigned long long)b->entries, (unsigned long long)pk.seq);

    if (b->pending_index) {
        if (make_separator(&b->sep, st_buf_slice(&b->last_key), ikey)) return nomem(b);
        ST_TRY(add_index_entry(b));
    }
    if (b->o.bloom_bits_per_key && st_bloom_builder_add(&b->bloom, st_hash64(pk.ukey.data, pk.ukey.len)))
        return nomem(b);
    if (st_block_builder_add(&b->data, ikey, value)) return nomem(b);

    if (!b->entries) {
        if (st_buf_append(&b->smallest, ikey.data, ikey.len)) return nomem(b);
        b->min_seq = b->max_seq = pk.seq;
    }
    if (pk.seq < b->min_seq) b->min_seq = pk.seq;
    if (pk.seq > b->max_seq) b->max_seq = pk.seq;
    b->entries++;
    b->deletions += pk.kind == ST_KIND_DEL;
    b->raw_key_bytes += ikey.len;
    b->raw_value_bytes += value.len;
    st_buf_clear(&b->last_key);
    if (st_buf_append(&b->last_key, ikey.data, ikey.len)) return nomem(b);

    if (st_block_builder_size_estimate(&b->data) >= b->o.block_bytes) return flush_data_block(b);
    return 0;
}

uint64_t st_sst_builder_file_size(const st_sst_builder *b) {
    return b->off + (st_block_builder_empty(&b->data) ? 0 : st_block_builder_size_estimate(&b->data));
}

static int prop_u64(st_block_builder *pb, const char *name, uint64_t v) {
    uint8_t t[ST_VARINT64_MAX];
    return st_block_builder_add(pb, st_slice_str(name), st_slice_make(t, (size_t)(st_put_varint64(t, v) - t)));
}

/* Properties block: bytewise-sorted names (sstable_format.h), numbers as varint64. */
static int write_properties(st_sst_builder *b, st_block_handle *h) {
    st_block_builder pb;
    st_block_builder_init(&pb, ST_SST_META_RESTART_INTERVAL);
    int rc = 0;
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_BLOCK_BYTES, b->o.block_bytes);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_BLOOM_BITS, (uint64_t)b->o.bloom_bits_per_key);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_CODEC, (uint64_t)b->o.codec);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_CREATION_TIME, (uint64_t)time(NULL));
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_DATA_BLOCKS, b->data_blocks);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_DELETIONS, b->deletions);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_ENTRIES, b->entries);
    rc = rc ? rc : st_block_builder_add(&pb, st_slice_str(ST_SST_PROP_LARGEST), st_buf_slice(&b->last_key));
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_MAX_SEQ, b->max_seq);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_MIN_SEQ, b->min_seq);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_RAW_KEY_BYTES, b->raw_key_bytes);
    rc = rc ? rc : prop_u64(&pb, ST_SST_PROP_RAW_VALUE_BYTES, b->raw_value_bytes);
    rc = rc ? rc : st_block_builder_add(&pb, st_slice_str(ST_SST_PROP_SMALLEST), st_buf_slice(&b->smallest));
    st_slice raw;
    rc = rc ? rc : st_block_builder_finish(&pb, &raw);
    if (rc) rc = nomem(b);
    else rc = write_block(b, raw, ST_CODEC_NONE, h);
    st_block_builder_destroy(&pb);
    return rc;
}

static int write_filter(st_sst_builder *b, st_block_handle *h) {
    st_buf fb;
    st_buf_init(&fb);
    int rc = st_bloom_builder_finish(&b->bloom, &fb) ? nomem(b) : write_block(b, st_buf_slice(&fb), ST_CODEC_NONE, h);
    st_buf_destroy(&fb);
    return rc;
}

static int write_metaindex(st_sst_builder *b, bool has_filter, st_block_handle fh, st_block_handle ph,
                           st_block_handle *h) {
    st_block_builder mb;
    st_block_builder_init(&mb, ST_SST_META_RESTART_INTERVAL);
    uint8_t t[ST_SST_HANDLE_MAX_BYTES];
    int rc = 0;
    if (has_filter) {
        size_t n = (size_t)(st_block_handle_put(t, fh) - t);
        rc = st_block_builder_add(&mb, st_slice_str(ST_SST_META_FILTER), st_slice_make(t, n));
    }
    if (!rc) {
        size_t n = (size_t)(st_block_handle_put(t, ph) - t);
        rc = st_block_builder_add(&mb, st_slice_str(ST_SST_META_PROPERTIES), st_slice_make(t, n));
    }
    st_slice raw;
    rc = rc ? rc : st_block_builder_finish(&mb, &raw);
    if (rc) rc = nomem(b);
    else rc = write_block(b, raw, ST_CODEC_NONE, h);
    st_block_builder_destroy(&mb);
    return rc;
}

static int write_footer(st_sst_builder *b, st_block_handle meta_h, st_block_handle index_h) {
    uint8_t ft[ST_SST_FOOTER_BYTES] = {0};
    st_block_handle_put(ft + ST_SST_FOOTER_METAINDEX_OFF, meta_h);
    st_block_handle_put(ft + ST_SST_FOOTER_INDEX_OFF, index_h);
    ft[ST_SST_FOOTER_CHECKSUM_TYPE_OFF] = ST_SST_CHECKSUM_XXH3_LOW32;
    st_put_fixed32(ft + ST_SST_FOOTER_BASE_OFF, b->base);
    st_put_fixed32(ft + ST_SST_FOOTER_VERSION_OFF, ST_SST_FORMAT_VERSION);
    st_put_fixed32(ft + ST_SST_FOOTER_CRC_OFF, st_checksum32(ft, ST_SST_FOOTER_CRC_OFF));
    st_put_fixed64(ft + ST_SST_FOOTER_MAGIC_OFF, ST_SST_MAGIC);
    if (st_buf_append(&b->out, ft, sizeof ft)) return nomem(b);
    b->off += sizeof ft;
    return 0;
}

int st_sst_builder_finish(st_sst_builder *b, st_sst_meta *meta) {
    if (b->finished) return b->status ? b->status : st_err(ST_EINVAL, "sst %s: finished twice", path_of(b));
    b->finished = true; /* add() REQUIRES !finished, even after a failure */
    if (b->status) return b->status;
    st_block_handle fh = {0, 0}, ph, ih, mh;
    bool has_filter = b->o.bloom_bits_per_key > 0;
    ST_TRY(flush_data_block(b));
    if (b->pending_index) {
        if (make_successor(&b->sep, st_buf_slice(&b->last_key))) return nomem(b);
        ST_TRY(add_index_entry(b));
    }
    if (has_filter) ST_TRY(write_filter(b, &fh));
    ST_TRY(write_properties(b, &ph));
    st_slice raw;
    if (st_block_builder_finish(&b->index, &raw)) return nomem(b);
    ST_TRY(write_block(b, raw, b->o.codec, &ih));
    ST_TRY(write_metaindex(b, has_filter, fh, ph, &mh));
    ST_TRY(write_footer(b, mh, ih)); /* SB3: last */
    ST_TRY(flush_out(b));
    if (meta) {
        meta->file_size = b->off;
        meta->entries = b->entries;
        meta->deletions = b->deletions;
        meta->min_seq = b->min_seq;
        meta->max_seq = b->max_seq;
        meta->file_checksum = st_hash_end(b->hash);
        st_buf_clear(&meta->smallest);
        st_buf_clear(&meta->largest);
        if (st_buf_append(&meta->smallest, b->smallest.data, b->smallest.len) ||
            st_buf_append(&meta->largest, b->last_key.data, b->last_key.len))
            return nomem(b);
    }
    return 0;
}
