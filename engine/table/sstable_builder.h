/* sstable_builder.h -- writes one SSTable from keys added in order.
 * Format: docs/FORMAT.md#sstable; constants in sstable_format.h.
 *
 * The builder buffers about 256 KiB of finished blocks before each st_file_append, so flushes and
 * compactions write in large sequential chunks, and hashes every byte written (XXH3-64) for the
 * MANIFEST's whole-file checksum.
 * SB1: keys are internal keys (util/ikey.h) in strictly increasing st_ikey_cmp order.
 * SB2: after any write error the builder is stuck: every later call returns that error.
 * SB3: the footer is written last, so a torn file never has a valid footer.
 * Thread-safety: one thread at a time. */
#ifndef STRATA_TABLE_SSTABLE_BUILDER_H
#define STRATA_TABLE_SSTABLE_BUILDER_H

#include <stdint.h>

#include "io/io.h"
#include "strata/st_options.h"
#include "util/coding.h"

typedef struct st_sst_opts {
    size_t block_bytes;     /* uncompressed data block target (e.g. 4096) */
    int restart_interval;   /* data blocks, >= 1 (e.g. 16) */
    int bloom_bits_per_key; /* 0: no filter block */
    st_codec codec;         /* data and index blocks */
    int zstd_level;
} st_sst_opts;

/* What the MANIFEST records about a finished table. */
typedef struct st_sst_meta {
    uint64_t file_size, entries, deletions, min_seq, max_seq;
    uint64_t file_checksum; /* XXH3-64 of all file bytes */
    st_buf smallest, largest; /* internal keys, owned (empty for an empty table) */
} st_sst_meta;

void st_sst_meta_init(st_sst_meta *m);
void st_sst_meta_destroy(st_sst_meta *m);

typedef struct st_sst_builder st_sst_builder;

/* Starts a table in `f`, which must be empty (borrowed: the caller syncs and closes it).
 * On failure *out is NULL. Errors: ST_EINVAL (bad options, non-empty file), ST_ENOMEM. */
int st_sst_builder_new(st_file *f, const st_sst_opts *o, st_sst_builder **out);
/* The same, writing through a sequential writer that has had nothing appended (borrowed: the
 * caller finishes, commits and closes it; `path`, for messages, must outlive the builder). */
int st_sst_builder_new_seq(st_seqwriter *w, const char *path, const st_sst_opts *o, st_sst_builder **out);

/* Adds an entry. REQUIRES: ikey greater than every key added before (SB1), a PUT or DEL kind.
 * Errors: ST_EINVAL (order, malformed key, finished builder; the builder is unchanged),
 * ST_EIO, ST_ENOSPC, ST_ENOMEM (sticky, SB2). */
int st_sst_builder_add(st_sst_builder *b, st_slice ikey, st_slice value);

/* Bytes written so far plus the estimated size of the pending data block. */
uint64_t st_sst_builder_file_size(const st_sst_builder *b);

/* Writes the remaining data, filter, properties, index, metaindex and footer, and fills meta
 * (may be NULL; if not, initialised by the caller with st_sst_meta_init). Does NOT fsync.
 * Whatever the result, the builder accepts no more adds. Errors: as add. */
int st_sst_builder_finish(st_sst_builder *b, st_sst_meta *meta);

void st_sst_builder_free(st_sst_builder *b); /* NULL-safe; an unfinished table is abandoned */

#endif
