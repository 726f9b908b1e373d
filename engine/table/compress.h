/* compress.h -- per-block compression (lz4, zstd) with the 12.5% rule.
 * Format: docs/FORMAT.md#sstable ("Compressed payload"); constants in sstable_format.h.
 *
 * A block stored with codec LZ4 or ZSTD is `varint32 raw_len` followed by the codec's bytes; a
 * block stored with codec NONE is the raw bytes. The compressed form is kept only when it saves at
 * least 12.5% (stored < raw - raw/8), so a reader never pays decompression for a poor ratio.
 * Thread-safety: st_compress/st_decompress are reentrant; an st_compressor belongs to one thread. */
#ifndef STRATA_TABLE_COMPRESS_H
#define STRATA_TABLE_COMPRESS_H

#include "strata/st_options.h"
#include "util/coding.h"

/* Appends the stored form of `raw` to `out` and sets *used to the codec actually applied
 * (ST_CODEC_NONE when codec is NONE, the saving is under 12.5%, or raw exceeds
 * ST_COMPRESS_MAX_RAW). `level` is used by zstd only. Errors: ST_EINVAL (unknown codec),
 * ST_ENOMEM, ST_EIO (the codec library failed). On error out's length is unchanged. */
int st_compress(st_codec codec, int level, st_slice raw, st_buf *out, st_codec *used);

/* Appends the raw bytes of `stored` (written by st_compress with codec `codec`) to `out`.
 * Errors: ST_ECORRUPT (unknown codec, bad raw length, codec error, length mismatch), ST_ENOMEM.
 * On error out's length is unchanged. */
int st_decompress(st_codec codec, st_slice stored, st_buf *out);

/* A reusable compression context: same contract as st_compress, but keeps the zstd context
 * between calls (the table builder compresses thousands of blocks). */
typedef struct st_compressor {
    void *zctx; /* ZSTD_CCtx, created on first zstd use */
} st_compressor;

void st_compressor_init(st_compressor *c);
void st_compressor_destroy(st_compressor *c);
int st_compressor_run(st_compressor *c, st_codec codec, int level, st_slice raw, st_buf *out,
                      st_codec *used);

#endif
