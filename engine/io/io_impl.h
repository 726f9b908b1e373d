/* io_impl.h -- what the io layer's files share; nothing outside engine/io includes it.
 *
 * Every read, write and fdatasync becomes an st_io_op, driven to completion by st_io_run() on the
 * active backend (uring.c: this thread's ring; file_posix.c: the syscalls) or, for single ops on
 * page-cache files (st_io_ring_for false), by the syscalls directly. One op lifecycle for all, so
 * short transfers, -EAGAIN/-EINTR and EOF mean the same thing everywhere:
 * O1: op->done only grows; an op is complete when done == len, at EOF (a read returning 0, or a
 *     direct read ending off an alignment boundary) or when rc < 0.
 * O2: a short transfer is resubmitted for the rest at off + done. */
#ifndef STRATA_IO_IMPL_H
#define STRATA_IO_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

struct st_file {
    int fd;
    bool direct;        /* really opened with O_DIRECT */
    uint32_t align;     /* direct: offset/length/memory alignment; buffered: 1 */
    uint64_t append_off; /* owned by the file's single appender */
    int pl_slot;         /* power-loss record (fault.c), -1: untracked */
    uint32_t pl_gen;     /* ... valid while the slot's generation is still this */
    char path[];
};

enum st_io_kind { ST_IO_READ = 0, ST_IO_WRITE = 1, ST_IO_FSYNC = 2 };

typedef struct st_io_op {
    int fd;
    uint8_t kind;      /* enum st_io_kind */
    uint32_t align;    /* direct files: continuation offsets must stay multiples of it; else 1 */
    char *buf;
    size_t len;
    uint64_t off;
    size_t done;       /* out: bytes transferred */
    int rc;            /* out: 0 or -errno */
    uint16_t retries;  /* -EAGAIN/-EINTR/zero-progress completions seen */
    bool complete;
} st_io_op;

#define ST_IO_MAX_RETRIES 64 /* then the op's rest runs on the syscall path */

/* backend.c */
st_io_backend st_io_backend_get(void); /* initialises with defaults on first use */
unsigned st_io_ring_depth(void);
/* Whether single ops on f go to the ring (io_uring backend): direct files, or uring_all. */
bool st_io_ring_for(const st_file *f);
void st_io_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern atomic_uint st_io_rings_live;

/* fault.c */
/* 0, or the -errno an armed fault gives this call of op on path (NULL: a call without one; path2:
 * a rename's second name, else NULL). */
int st_io_fault_check(enum st_io_fault_op op, const char *path, const char *path2);
size_t st_io_test_cap(const st_io_op *op, size_t want); /* applies st_io_test_set_short's cap */
bool st_io_test_eagain(void);                           /* true when this completion is faked */
/* Power-loss tracking hooks (io.h, st_io_test_power_track): each is one relaxed load while
 * tracking is off. f must come from st_file_open. */
bool st_io_pl_on(void);
/* f was just opened for writing; existed: the file was there before the open. */
void st_io_pl_opened(st_file *f, bool existed, bool truncated);
void st_io_pl_write(const st_file *f, uint64_t off, uint64_t n);  /* before the write is issued */
void st_io_pl_resized(const st_file *f, uint64_t size, bool grow_only); /* ftruncate, fallocate */
void st_io_pl_synced(const st_file *f);                           /* after a successful fdatasync */
void st_io_pl_dir_synced(const char *dir);                        /* after a successful dir fsync */
/* Rename and unlink with their record kept in step: the syscall runs under the record's lock.
 * Return 0 or -errno like st_io_rename / st_io_unlink. */
int st_io_pl_rename(const char *from, const char *to);
int st_io_pl_unlink(const char *path);

/* file_posix.c */
void st_io_posix_run(st_io_op *op); /* completes op with syscalls */
/* Runs ops on the active backend until all complete; returns the first failed op's rc or 0. */
int st_io_run(st_io_op *ops, size_t n);
/* One op on f: the ring when st_io_ring_for(f), else the syscalls. */
int st_io_run_file(const st_file *f, st_io_op *op);

/* uring.c */
struct io_uring;
struct io_uring_sqe;
/* Drives ops on this thread's ring and sets *rc like st_io_run; false (nothing done) if the
 * thread has no ring. */
bool st_io_uring_run(st_io_op *ops, size_t n, int *rc);
/* A ring with depth entries, SINGLE_ISSUER|DEFER_TASKRUN when single_issuer and the kernel has
 * them; honours ST_FAULT_URING. 0 or -errno. */
int st_io_ring_setup(struct io_uring *ring, unsigned depth, bool single_issuer);
void st_io_op_prep(struct io_uring_sqe *sqe, st_io_op *op);
/* Feeds a completion into op; returns true when op is complete, false to resubmit it. */
bool st_io_op_reap(st_io_op *op, int res);

/* direct.c */
/* Alignment for a file just opened with O_DIRECT: statx(STATX_DIOALIGN), else a per-directory
 * probe. *align = 0 means the file cannot do direct IO. */
void st_io_direct_align(const char *path, int fd, uint32_t *align);
/* Logs "O_DIRECT refused in <dir>" once per directory. */
void st_io_direct_refused(const char *path, int err);
/* st_file_pread for a direct file and a request that is not aligned: reads the covering aligned
 * range into a bounce buffer. */
int st_io_direct_pread(st_file *f, void *buf, size_t n, uint64_t off, size_t *nread);
/* Copies path's directory into dir ("." if none). */
void st_io_dirname(const char *path, char *dir, size_t cap);

static inline bool st_io_is_aligned(uint64_t v, uint32_t align) { return v % align == 0; }
/* The aligned range [*start, *start + *len) covering [off, off + n). */
static inline void st_io_cover(uint64_t off, size_t n, uint32_t align, uint64_t *start, size_t *len) {
    *start = off / align * align;
    uint64_t end = (off + n + align - 1) / align * align;
    *len = (size_t)(end - *start);
}
/* True if a read or write of (buf, n, off) on f needs no bounce buffer. */
static inline bool st_io_direct_ok(const st_file *f, const void *buf, size_t n, uint64_t off) {
    return !f->direct || (st_io_is_aligned((uintptr_t)buf, f->align) &&
                          st_io_is_aligned(n, f->align) && st_io_is_aligned(off, f->align));
}

#endif
