/* log_frame.h -- internal to engine/wal: turns one logical record into framed bytes
 * (wal_format.h). Shared by log_writer.c (MANIFEST) and wal.c (WAL) so the framing exists once. */
#ifndef STRATA_WAL_LOG_FRAME_H
#define STRATA_WAL_LOG_FRAME_H

#include <stdint.h>

#include "util/coding.h"

/* Appends rec, framed, to out. *block_off is the position within the current block at which the
 * bytes will land in the file (file offset % ST_LOG_BLOCK_SIZE) and is advanced past them.
 * Emits trailer zeros when fewer than ST_LOG_HEADER_SIZE bytes remain in the block. rec may be
 * empty (one FULL record of length 0). On failure (ST_ENOMEM, or ST_EINVAL for a record too
 * large to bound) out and *block_off are unchanged. */
int st_log_frame(st_buf *out, uint64_t *block_off, st_slice rec);

#endif
