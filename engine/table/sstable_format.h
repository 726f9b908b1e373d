/* sstable_format.h -- every constant of the SSTable file format, shared by builder, reader and tools.
 * Bytes: docs/FORMAT.md#sstable. On disk: never renumber or resize anything here.
 *
 * File: [data blocks][filter][properties][index][metaindex][footer]. Every block is followed by a
 * 5-byte trailer {codec u8, checksum u32 LE}; a block handle {varint64 offset, varint64 size} names
 * the stored bytes without the trailer. All integers are little-endian. */
#ifndef STRATA_TABLE_SSTABLE_FORMAT_H
#define STRATA_TABLE_SSTABLE_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "util/coding.h"
#include "util/hash.h"

/* ---- footer (fixed size, the last ST_SST_FOOTER_BYTES of the file) --------------------------- */
#define ST_SST_MAGIC UINT64_C(0x314c415441525453) /* LE bytes spell "STRATAL1" */
#define ST_SST_FORMAT_VERSION 1u
#define ST_SST_CHECKSUM_XXH3_LOW32 1u             /* footer checksum_type: the only one defined */

#define ST_SST_HANDLE_MAX_BYTES 20                /* two varint64s; footer handles are zero-padded */
#define ST_SST_FOOTER_METAINDEX_OFF 0             /* handle, padded to 20 bytes */
#define ST_SST_FOOTER_INDEX_OFF 20                /* handle, padded to 20 bytes */
#define ST_SST_FOOTER_CHECKSUM_TYPE_OFF 40        /* u8 */
#define ST_SST_FOOTER_BASE_OFF 41                 /* u32: per-file random checksum base */
#define ST_SST_FOOTER_VERSION_OFF 45              /* u32: format_version */
#define ST_SST_FOOTER_CRC_OFF 49                  /* u32: st_checksum32(footer[0, 49)) */
#define ST_SST_FOOTER_MAGIC_OFF 53                /* u64 */
#define ST_SST_FOOTER_BYTES 61

/* ---- block trailer -------------------------------------------------------------------------- */
#define ST_SST_TRAILER_BYTES 5                    /* codec u8 (st_codec values), checksum u32 */
#define ST_SST_OFFSET_MIX UINT32_C(0x9E3779B1)

/* Checksum of a block whose stored bytes plus codec byte are p[0, n) and which starts at file
 * offset `off`: a block copied to another offset or another file fails. */
static inline uint32_t st_sst_block_checksum(const uint8_t *p, size_t n, uint32_t base, uint64_t off) {
    return st_checksum32(p, n) ^ base ^ ((uint32_t)off * ST_SST_OFFSET_MIX);
}

/* ---- blocks --------------------------------------------------------------------------------- */
/* Data/index/properties/metaindex blocks: entries {varint32 shared, varint32 non_shared,
 * varint32 value_len, key[non_shared], value}, then u32 restart_offset[n], u32 n (n >= 1). */
#define ST_BLOCK_MIN_BYTES 8                      /* one restart offset + the count */
#define ST_SST_INDEX_RESTART_INTERVAL 1
#define ST_SST_META_RESTART_INTERVAL 1            /* metaindex and properties blocks */

/* Metaindex entry names (bytewise sorted in the block). */
#define ST_SST_META_FILTER "filter"
#define ST_SST_META_PROPERTIES "properties"

/* Properties: name -> varint64, except the two key properties (raw internal-key bytes). */
#define ST_SST_PROP_BLOCK_BYTES "block_bytes"
#define ST_SST_PROP_BLOOM_BITS "bloom_bits_per_key"
#define ST_SST_PROP_CODEC "codec"
#define ST_SST_PROP_CREATION_TIME "creation_time"
#define ST_SST_PROP_DATA_BLOCKS "data_blocks"
#define ST_SST_PROP_DELETIONS "deletions"
#define ST_SST_PROP_ENTRIES "entries"
#define ST_SST_PROP_LARGEST "largest_key"
#define ST_SST_PROP_MAX_SEQ "max_seq"
#define ST_SST_PROP_MIN_SEQ "min_seq"
#define ST_SST_PROP_RAW_KEY_BYTES "raw_key_bytes"
#define ST_SST_PROP_RAW_VALUE_BYTES "raw_value_bytes"
#define ST_SST_PROP_SMALLEST "smallest_key"

/* ---- filter block --------------------------------------------------------------------------- */
/* [num_lines * 64 bytes of bits][u32 num_lines][u8 num_probes][u8 kind]. */
#define ST_BLOOM_LINE_BYTES 64
#define ST_BLOOM_LINE_BITS 512
#define ST_BLOOM_TRAILER_BYTES 6
#define ST_BLOOM_KIND_LOCAL512 1u                 /* cache-local bloom over XXH3-64 of user keys */
#define ST_BLOOM_MAX_PROBES 30
#define ST_BLOOM_PROBE_MUL UINT32_C(0x9E3779B9)

/* ---- compressed payload --------------------------------------------------------------------- */
/* codec != NONE: stored = varint32 raw_len, codec bytes. raw_len above this is corruption. */
#define ST_COMPRESS_MAX_RAW (UINT32_C(64) << 20)

/* ---- block handle --------------------------------------------------------------------------- */
typedef struct st_block_handle {
    uint64_t off;  /* file offset of the stored bytes */
    uint64_t size; /* stored bytes, trailer excluded */
} st_block_handle;

/* Writes h at p (room for ST_SST_HANDLE_MAX_BYTES); returns the byte after it. */
static inline uint8_t *st_block_handle_put(uint8_t *p, st_block_handle h) {
    return st_put_varint64(st_put_varint64(p, h.off), h.size);
}

static inline int st_block_handle_append(st_buf *b, st_block_handle h) {
    uint8_t t[ST_SST_HANDLE_MAX_BYTES];
    return st_buf_append(b, t, (size_t)(st_block_handle_put(t, h) - t));
}

/* Decodes a handle from [p, limit); NULL when truncated or over-long. */
static inline const uint8_t *st_block_handle_get(const uint8_t *p, const uint8_t *limit, st_block_handle *h) {
    p = st_get_varint64(p, limit, &h->off);
    return p ? st_get_varint64(p, limit, &h->size) : NULL;
}

#endif
