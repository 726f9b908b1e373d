/* compress.c -- lz4/zstd block codecs behind one call each; see compress.h.
 *
 * Stored form for LZ4/ZSTD: varint32 raw_len, then the codec's bytes (one LZ4 block, or one zstd
 * frame). The raw length sizes the output buffer before decoding and is checked against what the
 * codec produced, so a payload that decodes to the wrong length is ST_ECORRUPT. Decoding never
 * trusts raw_len beyond ST_COMPRESS_MAX_RAW. Each thread keeps one zstd decompression context
 * (about 160 KiB, freed when the thread exits): creating one per block cost more than the read. */
#include "compress.h"

#include <limits.h>
#include <lz4.h>
#include <pthread.h>
#include <zstd.h>

#include "sstable_format.h"
#include "util/err.h"

static bool codec_known(st_codec c) { return c == ST_CODEC_NONE || c == ST_CODEC_LZ4 || c == ST_CODEC_ZSTD; }

void st_compressor_init(st_compressor *c) { c->zctx = NULL; }

void st_compressor_destroy(st_compressor *c) {
    ZSTD_freeCCtx(c->zctx);
    c->zctx = NULL;
}

int st_compressor_run(st_compressor *c, st_codec codec, int level, st_slice raw, st_buf *out,
                      st_codec *used) {
    if (!codec_known(codec)) return st_err(ST_EINVAL, "compress: unknown codec %d", (int)codec);
    size_t start = out->len;
    if (codec == ST_CODEC_NONE || raw.len == 0 || raw.len > ST_COMPRESS_MAX_RAW) goto store_raw;

    size_t bound = codec == ST_CODEC_LZ4 ? (size_t)LZ4_compressBound((int)raw.len) : ZSTD_compressBound(raw.len);
    int rc = st_buf_reserve(out, ST_VARINT32_MAX + bound);
    if (rc) return rc;
    uint8_t *hdr = out->data + start;
    uint8_t *p = st_put_varint32(hdr, (uint32_t)raw.len);
    size_t n;
    if (codec == ST_CODEC_LZ4) {
        int r = LZ4_compress_default((const char *)raw.data, (char *)p, (int)raw.len, (int)bound);
        if (r <= 0) return st_err(ST_EIO, "lz4: compressing %zu bytes failed", raw.len);
        n = (size_t)r;
    } else {
        if (!c->zctx && !(c->zctx = ZSTD_createCCtx())) return st_err(ST_ENOMEM, "zstd: no memory for a context");
        n = ZSTD_compressCCtx(c->zctx, p, bound, raw.data, raw.len, level);
        if (ZSTD_isError(n))
            return st_err(ST_EIO, "zstd: compressing %zu bytes failed: %s", raw.len, ZSTD_getErrorName(n));
    }
    size_t stored = (size_t)(p - hdr) + n;
    if (stored < raw.len - raw.len / 8) {
        out->len = start + stored;
        *used = codec;
        return 0;
    }
store_raw:
    out->len = start;
    *used = ST_CODEC_NONE;
    return st_buf_append(out, raw.data, raw.len);
}

int st_compress(st_codec codec, int level, st_slice raw, st_buf *out, st_codec *used) {
    st_compressor c;
    st_compressor_init(&c);
    int rc = st_compressor_run(&c, codec, level, raw, out, used);
    st_compressor_destroy(&c);
    return rc;
}

static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static bool dctx_key_ok;

static void dctx_free(void *p) { ZSTD_freeDCtx(p); }
static void dctx_key_init(void) { dctx_key_ok = pthread_key_create(&dctx_key, dctx_free) == 0; }

/* This thread's context, or NULL (then the caller uses a one-shot ZSTD_decompress). */
static ZSTD_DCtx *thread_dctx(void) {
    pthread_once(&dctx_once, dctx_key_init);
    if (!dctx_key_ok) return NULL;
    ZSTD_DCtx *d = pthread_getspecific(dctx_key);
    if (!d && (d = ZSTD_createDCtx()) && pthread_setspecific(dctx_key, d)) {
        ZSTD_freeDCtx(d);
        d = NULL;
    }
    return d;
}

int st_decompress(st_codec codec, st_slice stored, st_buf *out) {
    if (!codec_known(codec)) return st_err(ST_ECORRUPT, "decompress: unknown codec %d", (int)codec);
    if (codec == ST_CODEC_NONE) return st_buf_append(out, stored.data, stored.len);

    const uint8_t *end = stored.data + stored.len;
    uint32_t raw_len;
    const uint8_t *p = st_get_varint32(stored.data, end, &raw_len);
    if (!p) return st_err(ST_ECORRUPT, "decompress: truncated raw length");
    /* The writer never compresses an empty block, so raw_len 0 is as bad as an absurd one. */
    if (raw_len == 0 || raw_len > ST_COMPRESS_MAX_RAW)
        return st_err(ST_ECORRUPT, "decompress: bad raw length %u", raw_len);
    size_t clen = (size_t)(end - p);
    int rc = st_buf_reserve(out, raw_len);
    if (rc) return rc;
    uint8_t *dst = out->data + out->len;
    if (codec == ST_CODEC_LZ4) {
        if (clen > INT_MAX) return st_err(ST_ECORRUPT, "lz4: payload of %zu bytes is too large", clen);
        int r = LZ4_decompress_safe((const char *)p, (char *)dst, (int)clen, (int)raw_len);
        if (r < 0 || (uint32_t)r != raw_len)
            return st_err(ST_ECORRUPT, "lz4: corrupt payload (%d of %u bytes decoded)", r, raw_len);
    } else {
        ZSTD_DCtx *d = thread_dctx();
        size_t r = d ? ZSTD_decompressDCtx(d, dst, raw_len, p, clen) : ZSTD_decompress(dst, raw_len, p, clen);
        if (ZSTD_isError(r)) return st_err(ST_ECORRUPT, "zstd: corrupt payload: %s", ZSTD_getErrorName(r));
        if (r != raw_len) return st_err(ST_ECORRUPT, "zstd: decoded %zu bytes, expected %u", r, raw_len);
    }
    out->len += raw_len;
    return 0;
}
