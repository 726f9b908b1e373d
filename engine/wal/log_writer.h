/* log_writer.h -- appends framed records (wal_format.h) to a log file; used by the MANIFEST.
 *
 * Thread-safety: none; one owner at a time (the MANIFEST writes under the db mutex). The WAL,
 * which needs group commit across threads, is wal.h and shares the framing code.
 * L1: add() only buffers; the file sees bytes in add() order at flush(), never a partial record
 *     except when the write itself fails.
 * L2: after a failed write or sync the writer is poisoned: every later add/flush/sync returns
 *     ST_EFATAL, because the file now ends in an unknown state and a failed fsync must not be
 *     retried. */
#ifndef STRATA_WAL_LOG_WRITER_H
#define STRATA_WAL_LOG_WRITER_H

#include <stdint.h>

#include "io/io.h"
#include "util/coding.h"

typedef struct st_log_writer st_log_writer;

/* Takes ownership of f (closed by st_log_writer_free), even on failure. Appends at
 * st_file_append_off(f), continuing the block structure of what is already there, so a log may be
 * reopened and extended. On success *out is the caller's; on failure NULL. Errors: ST_ENOMEM. */
int st_log_writer_new(st_file *f, st_log_writer **out);

/* Frames rec (any length, including 0) into an in-memory buffer; no I/O.
 * Errors: ST_ENOMEM, ST_EINVAL (absurd size), ST_EFATAL (L2). */
int st_log_writer_add(st_log_writer *w, st_slice rec);

/* Writes the buffered bytes to the file (not synced). Errors: ST_EIO, ST_ENOSPC, ST_EFATAL. */
int st_log_writer_flush(st_log_writer *w);

/* flush + fdatasync. Errors: as flush. */
int st_log_writer_sync(st_log_writer *w);

/* Logical size of the log: bytes in the file plus bytes buffered. */
uint64_t st_log_writer_size(const st_log_writer *w);

/* Frees the writer and closes the file without flushing or syncing. NULL-safe. */
void st_log_writer_free(st_log_writer *w);

#endif
