/* table_cache.h -- a bound on the number of table files open at once (LevelDB's max_open_files).
 *
 * An st_table_file stands for one open-able table file: its path and open mode are kept, and its
 * descriptor lives in the cache, an LRU of at most max_open_files descriptors (an st_block_cache
 * charged one unit per file). A read looks the descriptor up and pins it for the pread; if it was
 * evicted, the file is opened again by path. An evicted descriptor is closed only when no read is
 * using it (the cache's pins), so a descriptor is never closed under a running read or reused by
 * another file while one still reads it.
 * Batched reads pin the descriptor instead (st_table_file_pin), for as long as their requests
 * are in flight, with the same guarantee.
 * Without a cache (NULL) the st_table_file simply owns its st_file, open for its whole life.
 * Thread-safety: every function may run from any thread at once, except st_table_file_close,
 * which needs that no read on that file is running or will start (its reader's last reference).
 * T1: the cache outlives every st_table_file made with it. */
#ifndef STRATA_TABLE_TABLE_CACHE_H
#define STRATA_TABLE_TABLE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/io.h"

typedef struct st_table_cache st_table_cache;
typedef struct st_table_file st_table_file;

/* A cache keeping at most max_open_files (>= 1) descriptors open. On success *out is the caller's
 * (st_table_cache_free). Errors: ST_EINVAL (0 files), ST_ENOMEM. */
int st_table_cache_new(size_t max_open_files, st_table_cache **out);
/* Closes every cached descriptor. NULL-safe. REQUIRES: T1 (no st_table_file of it remains). */
void st_table_cache_free(st_table_cache *tc);

/* Descriptors open now (a snapshot). */
size_t st_table_cache_open_files(st_table_cache *tc);

/* Wraps f (opened read-only, maybe ST_OPEN_DIRECT), taking ownership of it even on failure.
 * tc NULL: f stays open until st_table_file_close. Errors: ST_ENOMEM. */
int st_table_file_new(st_table_cache *tc, st_file *f, st_table_file **out);
/* Closes the file (if open) and frees tf. NULL-safe. */
void st_table_file_close(st_table_file *tf);

/* st_file_pread on the file, reopening it first if its descriptor was evicted. Errors: those of
 * st_file_open (negative errno) and st_file_pread; ST_ENOMEM (as -ENOMEM). */
int st_table_file_pread(st_table_file *tf, void *buf, size_t n, uint64_t off, size_t *nread);
/* A descriptor held open for reads made outside st_table_file_pread (st_io_read_batch). */
typedef struct st_table_pin {
    st_file *f;                        /* open until st_table_file_unpin */
    struct st_block_cache_handle *h;   /* the cache's pin, or NULL */
    bool owned;                        /* opened for this pin alone (the cache had no room) */
} st_table_pin;

/* Pins tf's descriptor, opening it again by path if it was evicted: p->f is never closed before
 * st_table_file_unpin(tf, p), even if the cache evicts it meanwhile, so reads of p->f may be in
 * flight until then. Errors: those of st_file_open (negative errno); p->f is NULL then. */
int st_table_file_pin(st_table_file *tf, st_table_pin *p);
/* Ends a successful pin (closing the descriptor if it was evicted or opened for it alone). */
void st_table_file_unpin(st_table_file *tf, st_table_pin *p);

const char *st_table_file_path(const st_table_file *tf);
/* True if the file was open with O_DIRECT (asked for and granted) when wrapped. */
bool st_table_file_is_direct(const st_table_file *tf);

#endif
