/* log_reader.h -- reads logical records back from a log written by log_writer.h or wal.h
 * (format: wal_format.h, docs/FORMAT.md#wal). Used by recovery for WALs and the MANIFEST.
 *
 * Torn tail versus corruption: a crash in the middle of an append leaves a record cut off at EOF
 * or zeros; such a tail was never acknowledged and is a clean end of log. A damaged record with
 * a valid record anywhere after it cannot be explained by a crash of the last write, so
 * acknowledged data may be gone: that is ST_ECORRUPT, and recovery must not silently go on.
 * Only records whose every fragment has a good checksum are returned; after ST_ENOTFOUND or
 * ST_ECORRUPT the reader stays ended and returns the same code again.
 * Thread-safety: one thread at a time. */
#ifndef STRATA_WAL_LOG_READER_H
#define STRATA_WAL_LOG_READER_H

#include <stdint.h>

#include "io/io.h"
#include "util/coding.h"

typedef struct st_log_reader st_log_reader;

/* Reads f from offset 0 up to its size at this call. Takes ownership of f (closed by
 * st_log_reader_free), even on failure. On success *out is the caller's; on failure NULL.
 * Errors: ST_ENOMEM, ST_EIO. */
int st_log_reader_new(st_file *f, st_log_reader **out);

/* Returns the next logical record in rec (cleared first; rec is the caller's buffer).
 *   0            : a record.
 *   ST_ENOTFOUND : clean end of log, including a torn tail: a header or payload cut off at EOF,
 *                  zero-filled space, or a damaged record after which no valid record follows
 *                  anywhere in the file. Not an error: st_errmsg() is not set.
 *   ST_ECORRUPT  : a damaged record (bad checksum, bad type, length past the block end, fragment
 *                  out of order) followed later in the file by at least one valid record;
 *                  st_errmsg() names the file, the damaged record's byte offset and why.
 *   ST_EIO, ST_ENOMEM. */
int st_log_reader_next(st_log_reader *r, st_buf *rec);

/* Offset just past the last record returned (0 before the first). A writer reopening the log
 * would continue from here. */
uint64_t st_log_reader_end_off(const st_log_reader *r);
/* Strict tail (the MANIFEST's): a damaged last record is ST_ECORRUPT unless the damage looks like a
 * write that never finished (cut off by EOF, or zeros). A MANIFEST record is acted on (WALs
 * deleted) once synced, so a complete last record with a bad checksum is lost data, not a torn
 * write. The WAL keeps the default: any damaged tail with nothing valid after it ends the log. */
void st_log_reader_set_strict(st_log_reader *r, bool on);

/* Once the reader has ended: bytes after end_off that were not returned (the torn tail, or the
 * damaged region and everything after it). 0 before that and for a log that ends cleanly. */
uint64_t st_log_reader_dropped(const st_log_reader *r);

void st_log_reader_free(st_log_reader *r); /* NULL-safe; closes the file */

#endif
