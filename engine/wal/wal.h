/* wal.h -- the write-ahead log: one file per memtable, framed as in wal_format.h
 * (docs/FORMAT.md#wal), one logical record per write batch, with group commit.
 *
 * Appends only frame into memory; st_wal_commit makes them reach the OS and the disk. Commits from
 * many threads share the I/O: one thread at a time writes everything appended so far (one write),
 * one thread at a time fdatasyncs everything written so far (one fdatasync), and every caller whose
 * lsn a finished write or sync covers returns without a syscall of its own. A write may overlap a
 * sync in progress, so a commit that does not need the disk never waits for one.
 *
 * Thread-safety: st_wal_append calls must be serialized by the caller (the db's write mutex) and
 * may run concurrently with st_wal_commit and the getters from any thread; st_wal_close must not
 * race anything.
 * W1: every record with lsn <= st_wal_synced_lsn() is durable (data fdatasync'ed; the directory
 *     entry was fsync'ed by st_wal_open). Likewise written_lsn for "handed to the OS".
 * W2: after any failed write or fdatasync the wal is poisoned: every later append and commit
 *     returns ST_EFATAL. A failed fsync is never retried (the kernel may have dropped the pages).
 * W3: records reach the file in append order; a write never interleaves with another. */
#ifndef STRATA_WAL_WAL_H
#define STRATA_WAL_WAL_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/st_iter.h"

typedef struct st_wal st_wal;

/* Creates the WAL file `path` (it must not exist) and fsyncs its directory, so that records later
 * synced survive a crash with the file. number is the file number, reported by st_wal_number.
 * On success *out is the caller's (release with st_wal_close); on failure *out is NULL.
 * Errors: ST_EIO (including "file exists"), ST_ENOTFOUND (no such directory), ST_ENOSPC,
 * ST_ENOMEM. */
int st_wal_open(const char *path, uint64_t number, st_wal **out);

/* Zero-ahead (0, the default: off): each write of records first makes sure the file holds
 * written zeros at least `bytes`/4 past them, writing `bytes` more when it does not. A record then
 * lands inside the file's size on blocks already allocated, so the fdatasync after it has no
 * inode (size, extents) to write: one device write instead of two, which is most of a commit's
 * cost under appendfsync always. Costs one extra write of the WAL's bytes (the zeros). Readers
 * take an all-zero tail as the clean end of the log (log_reader.c). Call before the first commit. */
void st_wal_set_zero_ahead(st_wal *w, size_t bytes);

/* Frames payload (a write batch) as one logical record into an in-memory buffer; no syscall, and
 * no allocation once the buffers have grown to the working size. lsn is the batch's last sequence
 * number. REQUIRES: lsn greater than every lsn appended before (so the first is >= 1), otherwise
 * ST_EINVAL. Errors: ST_EINVAL, ST_ENOMEM (nothing appended), ST_EFATAL (W2). */
int st_wal_append(st_wal *w, st_slice payload, uint64_t lsn);

/* Group commit: returns once every record appended so far with lsn' <= lsn is written to the OS
 * and, if sync, fdatasync'ed. An lsn beyond the last appended one covers everything appended so
 * far. A caller whose lsn is already covered returns at once without a syscall.
 * Errors: ST_EIO or ST_ENOSPC for the caller whose write or fdatasync failed (the wal is then
 * poisoned), ST_EFATAL for every other caller afterwards and for those waiting on the failed I/O. */
int st_wal_commit(st_wal *w, uint64_t lsn, bool sync);

uint64_t st_wal_synced_lsn(st_wal *w);  /* every record <= this is fdatasync'ed (0: none yet) */
uint64_t st_wal_written_lsn(st_wal *w); /* every record <= this is written to the OS */
uint64_t st_wal_number(const st_wal *w);
uint64_t st_wal_size(st_wal *w); /* bytes framed so far, including those only buffered */

typedef struct st_wal_stats {
    uint64_t bytes;           /* framed bytes written to the file */
    uint64_t writes;          /* write calls (one per group) */
    uint64_t syncs;           /* fdatasync calls */
    uint64_t commits;         /* successful st_wal_commit calls */
    uint64_t commits_grouped; /* of those, the ones that made no write or sync themselves */
} st_wal_stats;
void st_wal_get_stats(st_wal *w, st_wal_stats *out);

/* Writes what is pending (and fdatasyncs it if sync), closes the file and frees w, even on error.
 * NULL-safe. Returns the first error: ST_EFATAL if the wal was poisoned, else as st_wal_commit,
 * or ST_EIO from close. REQUIRES: no other call on w in progress or after. */
int st_wal_close(st_wal *w, bool sync);

#endif
