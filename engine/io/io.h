/* io.h -- the file layer: every syscall the engine makes goes through here.
 *
 * Convention (liburing's): functions return 0 or -errno; callers convert with
 * st_err_from_errno() at their boundary. Reads and writes are "full": a short transfer is retried
 * until done, EOF on read is reported through *nread.
 * Backends: io_uring (liburing; one ring per thread) or plain POSIX pread/pwrite/fdatasync, chosen
 * once per process at first use or by st_io_init(); STRATA_IO_BACKEND=posix (or the option)
 * forces POSIX so tests can run both. Callers see the same behaviour on either.
 * O_DIRECT (ST_OPEN_DIRECT) is for cold-tier table files: reads accept any offset/length (a
 * bounce buffer covers the aligned range), writes must be aligned (use st_seqwriter). Where a
 * filesystem refuses O_DIRECT the file is opened buffered, one line is logged, and
 * st_file_is_direct() says so.
 * Durability rule: a new file is durable only after st_file_sync() on it AND st_io_sync_dir() on
 * its directory; a rename is durable only after st_io_sync_dir().
 * Thread-safety: reads and positioned writes on one st_file are safe from any number of threads;
 * an st_file's append offset and an st_seqwriter each belong to one thread at a time. */
#ifndef STRATA_IO_IO_H
#define STRATA_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- backend ---------------------------------------------------------------------------------- */

typedef enum st_io_backend { ST_IO_URING = 1, ST_IO_POSIX = 2 } st_io_backend;

typedef struct st_io_options {
    bool force_posix;    /* use pread/pwrite even where io_uring works */
    bool uring_all;      /* io_uring also for single ops on buffered files (tests; see below) */
    unsigned ring_depth; /* entries of each thread's ring; 0 = 128 */
} st_io_options;

/* Chooses the backend (opts NULL = defaults): io_uring if a probe ring can be set up and
 * STRATA_IO_BACKEND is not "posix", else POSIX with one log line saying why. Optional: the first
 * io call does it with defaults. Calling it again re-chooses (tests only: no IO may be in flight).
 * Always returns 0: failing to get io_uring is a fallback, not an error.
 * What the io_uring backend puts on the ring: everything on direct files, batched reads and
 * seqwriter chunks. A single read, write or fdatasync of a buffered (page cache) file uses the
 * syscall: io_uring gains nothing there and punts buffered writes and syncs to a kernel worker
 * thread (measured: 100-byte appends 5 us vs 2 us). uring_all, or STRATA_IO_BACKEND=io_uring_all,
 * puts those on the ring too so the whole test suite can drive the ring code.
 * STRATA_IO_BACKEND: posix | io_uring | io_uring_all | auto (= unset, = io_uring if it works). */
int st_io_init(const st_io_options *opts);
st_io_backend st_io_backend_active(void);
const char *st_io_backend_name(void); /* "io_uring" or "posix" */

/* Where the io layer's one-line notices go (backend fallback, O_DIRECT refused). fn NULL restores
 * the default: stderr. `line` has no trailing newline. Each distinct notice is logged once. */
typedef void (*st_io_log_fn)(const char *line, void *arg);
void st_io_set_log(st_io_log_fn fn, void *arg);

/* io_uring rings alive now (one per thread that did io, freed at thread exit); for tests/INFO. */
unsigned st_io_live_rings(void);

/* ---- files ------------------------------------------------------------------------------------ */

typedef struct st_file st_file;

enum st_open_flags {
    ST_OPEN_READ = 0x1,   /* read-only */
    ST_OPEN_WRITE = 0x2,  /* read-write */
    ST_OPEN_CREATE = 0x4, /* create if absent */
    ST_OPEN_EXCL = 0x8,   /* with CREATE: fail if present */
    ST_OPEN_TRUNC = 0x10, /* truncate to 0 */
    ST_OPEN_DIRECT = 0x20, /* O_DIRECT where the filesystem allows it, else buffered (logged) */
};

/* On success *out is the caller's, released with st_file_close. */
int st_file_open(const char *path, int flags, st_file **out);
int st_file_close(st_file *f); /* NULL-safe; returns -errno of close() */

/* Reads up to n bytes at off; *nread < n only at EOF. Any buf/off/n, direct files included. */
int st_file_pread(st_file *f, void *buf, size_t n, uint64_t off, size_t *nread);
/* Writes all n bytes at off. On a direct file off and n must be multiples of st_file_align()
 * (-EINVAL otherwise); buf may be anywhere. */
int st_file_pwrite(st_file *f, const void *buf, size_t n, uint64_t off);
/* Writes all n bytes at the file's append offset (its size at open, advanced by appends). */
int st_file_append(st_file *f, const void *buf, size_t n);
uint64_t st_file_append_off(const st_file *f);
int st_file_sync(st_file *f); /* fdatasync */
int st_file_size(st_file *f, uint64_t *size);
int st_file_truncate(st_file *f, uint64_t size);
const char *st_file_path(const st_file *f);
/* True if the file really is open with O_DIRECT (ST_OPEN_DIRECT may have fallen back). */
bool st_file_is_direct(const st_file *f);
/* Direct files: the offset, length and memory alignment their IO needs (512 or 4096, probed per
 * directory); buffered files: 1. */
uint32_t st_file_align(const st_file *f);
int st_file_fd(const st_file *f); /* for diagnostics and tests; do not close it */

/* Memory for O_DIRECT buffers: size bytes aligned to align (a power of two; 0 = 4096), or NULL.
 * Release with free(). */
void *st_io_aligned_alloc(size_t size, size_t align);

/* ---- batched reads ----------------------------------------------------------------------------- */

typedef struct st_io_req {
    st_file *file; /* in */
    uint64_t off;  /* in */
    size_t len;    /* in */
    void *buf;     /* in: len bytes; any alignment, also for direct files */
    size_t nread;  /* out: bytes read; < len only at EOF */
    int rc;        /* out: 0 or -errno */
} st_io_req;

/* Performs every read. io_uring: all are submitted at once (up to the ring depth in flight) and
 * reaped together; POSIX: one after another. Returns 0 if all succeeded, else the first failed
 * request's rc (every request is still attempted; check each rc). */
int st_io_read_batch(st_io_req *reqs, size_t n);

/* ---- sequential writer for table files ------------------------------------------------------- */

/* Writes a new file front to back in large aligned chunks with several in flight:
 *   open(tmp) -> append ... -> finish (tail padded, ftruncate to the exact size, fdatasync)
 *   -> commit(final) (rename + fsync of final's directory) -> close.
 * S1: any failed call poisons the writer; every later call returns the same error.
 * S2: st_seqwriter_abort() and st_seqwriter_close() of an unfinished writer unlink the temp file;
 *     after a successful finish, close leaves the file (at the temp path unless committed). */
typedef struct st_seqwriter st_seqwriter;

typedef struct st_seqwriter_options {
    bool direct;             /* open with ST_OPEN_DIRECT */
    uint64_t prealloc_bytes; /* fallocate this much first (an upper bound is fine); 0 = none */
    size_t chunk_bytes;      /* bytes per write; 0 = 1 MiB; rounded up to the alignment */
    unsigned max_in_flight;  /* writes in flight on io_uring; 0 = 4 */
} st_seqwriter_options;

/* Creates (truncating) tmp_path. opts NULL = buffered defaults. */
int st_seqwriter_open(const char *tmp_path, const st_seqwriter_options *opts, st_seqwriter **out);
int st_seqwriter_append(st_seqwriter *w, const void *data, size_t n);
uint64_t st_seqwriter_size(const st_seqwriter *w); /* bytes appended so far */
bool st_seqwriter_is_direct(const st_seqwriter *w);
int st_seqwriter_finish(st_seqwriter *w);
/* Finishes if needed, renames the temp file to final_path and fsyncs final_path's directory. */
int st_seqwriter_commit(st_seqwriter *w, const char *final_path);
void st_seqwriter_abort(st_seqwriter *w); /* NULL-safe: unlinks the temp file unless committed */
int st_seqwriter_close(st_seqwriter *w);  /* NULL-safe; see S2 */

/* ---- paths and directories ------------------------------------------------------------------- */

int st_io_rename(const char *from, const char *to);
int st_io_unlink(const char *path);
int st_io_sync_dir(const char *dir);
int st_io_mkdir(const char *dir); /* 0 if it exists already */
bool st_io_exists(const char *path);
/* Calls fn(name, arg) for each entry of dir except . and ..; stops at the first non-zero return and
 * returns it. */
int st_io_list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg);
/* Takes an exclusive advisory lock (flock) on path, creating it; fails with -EWOULDBLOCK if another
 * process holds it. Release with st_io_unlock (NULL-safe). */
typedef struct st_lock st_lock;
int st_io_lock(const char *path, st_lock **out);
void st_io_unlock(st_lock *l);

/* Whole small file into a malloc'ed buffer (caller frees); NUL-terminated, *len excludes it. */
int st_io_read_all(const char *path, char **data, size_t *len);

/* ---- fault injection and test hooks (fault.c) ------------------------------------------------ */

/* Fault injection for tests (compiled in always, costs one relaxed load per call): the nth
 * upcoming matching call of `op` (1 = next) fails with -err; nth 0 disarms. Process-wide, test use
 * only. Both backends; every op returns whatever errno it is armed with.
 * WRITE: st_file_pwrite/append and each seqwriter chunk. SYNC: st_file_sync, st_io_sync_dir,
 * seqwriter finish. RENAME: st_io_rename, seqwriter commit. DIRECT: an O_DIRECT open acts as if
 * the filesystem refused it with -err (EINVAL: falls back to buffered). URING: io_uring setup
 * fails with -err (probe at st_io_init, or a thread's ring). READ: st_file_pread and each request
 * of st_io_read_batch. */
enum st_io_fault_op {
    ST_FAULT_WRITE = 0,
    ST_FAULT_SYNC = 1,
    ST_FAULT_RENAME = 2,
    ST_FAULT_DIRECT = 3,
    ST_FAULT_URING = 4,
    ST_FAULT_READ = 5,
    ST_FAULT_OPS = 6
};
void st_io_fault_arm(enum st_io_fault_op op, int nth, int err);

/* st_io_fault_arm with two refinements (Pebble's errorfs: by op and by path):
 * ST_FAULT_PERSISTENT: the nth matching call and every one after it fail, until disarmed (a full
 *   disk stays full); without it only the nth fails and the fault disarms itself.
 * path_contains (NULL or "": every call): only calls on a path containing this substring match
 *   and count toward nth (a file's path; a directory's for st_io_sync_dir; either name for a
 *   rename; URING has no path, so it matches only without a filter). A filter ending in '$'
 *   matches only paths ending with what precedes it ("/db$": the directory /db itself, not its
 *   files). Copied (at most 255 bytes). */
#define ST_FAULT_PERSISTENT 0x1u
void st_io_fault_arm_ex(enum st_io_fault_op op, int nth, int err, unsigned flags, const char *path_contains);

/* Drives the retry paths: every read/write submission is capped at max_bytes (0 = off; direct
 * files round it up to their alignment), so transfers come back short; on io_uring every
 * eagain_every-th completion (0 = off) is replaced by -EAGAIN and must be resubmitted. */
void st_io_test_set_short(size_t max_bytes, int eagain_every);

/* ---- power-loss simulation (tests; LevelDB's FaultInjectionTestEnv) ---------------------------- */

/* While tracking is on, the io layer records for every file it creates or writes what a power
 * loss would leave of it, by the durability rule at the top of this file:
 *   - its data up to the size of its last successful st_file_sync (later writes, including
 *     overwrites of synced bytes, are lost: the size falls back and overwritten synced bytes read
 *     as zeros, which is exact for the only overwrites the engine makes, a WAL's zero-ahead);
 *   - its name only once st_io_sync_dir ran on its directory after it was created or renamed
 *     there: a file created since is deleted, a rename since is undone (a file the rename
 *     replaced comes back, if it is small: at most 512 bytes, like CURRENT).
 * Unlinks count as durable at once (files never come back); files opened before tracking began
 * are left alone, as are files no one opens for writing. The record lives in memory shared with
 * processes forked afterwards: fork a child that writes, SIGKILL it, then apply the loss in the
 * parent. Directory names are compared as strings: use the same spelling for a directory as in
 * the paths of its files (the engine does). Off forgets everything. REQUIRES: no IO in flight.
 * Returns 0, or -ENOMEM. */
int st_io_test_power_track(bool on);

/* Simulates the power loss for every tracked file under `dir` (NULL: all): deletes, renames back,
 * truncates and zero-fills as above, then forgets those files (tracking stays on). REQUIRES: no
 * process is writing them (the writer was killed and reaped, or closed them). Returns 0, -EINVAL
 * if tracking is off, -EOVERFLOW if the record could not keep up (more than 2048 tracked files,
 * or a replaced file over 512 bytes: the simulation would be wrong), or the first -errno of the
 * file operations (the rest are still done). */
int st_io_test_power_loss(const char *dir);

#endif
