/* io.h -- the file layer: every syscall the engine makes goes through here.
 *
 * Convention (liburing's): functions return 0 or -errno; callers convert with
 * st_err_from_errno() at their boundary. Reads and writes are "full": a short transfer is retried
 * until done, EOF on read is reported through *nread. This backend is plain POSIX
 * (pread/pwrite/fdatasync); io_uring and O_DIRECT backends arrive with tiering (issue 5) behind
 * the same calls.
 * Durability rule: a new file is durable only after st_file_sync() on it AND st_io_sync_dir() on
 * its directory; a rename is durable only after st_io_sync_dir(). */
#ifndef STRATA_IO_IO_H
#define STRATA_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_file st_file;

enum st_open_flags {
    ST_OPEN_READ = 0x1,   /* read-only */
    ST_OPEN_WRITE = 0x2,  /* read-write */
    ST_OPEN_CREATE = 0x4, /* create if absent */
    ST_OPEN_EXCL = 0x8,   /* with CREATE: fail if present */
    ST_OPEN_TRUNC = 0x10, /* truncate to 0 */
};

/* On success *out is the caller's, released with st_file_close. */
int st_file_open(const char *path, int flags, st_file **out);
int st_file_close(st_file *f); /* NULL-safe; returns -errno of close() */

/* Reads up to n bytes at off; *nread < n only at EOF. */
int st_file_pread(st_file *f, void *buf, size_t n, uint64_t off, size_t *nread);
/* Writes all n bytes at off. */
int st_file_pwrite(st_file *f, const void *buf, size_t n, uint64_t off);
/* Writes all n bytes at the file's append offset (its size at open, advanced by appends). */
int st_file_append(st_file *f, const void *buf, size_t n);
uint64_t st_file_append_off(const st_file *f);
int st_file_sync(st_file *f); /* fdatasync */
int st_file_size(st_file *f, uint64_t *size);
int st_file_truncate(st_file *f, uint64_t size);
const char *st_file_path(const st_file *f);

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

/* Fault injection for tests (compiled in always, costs one branch): the nth upcoming call of
 * `op` (1 = next) fails with -err; 0 disarms. Process-wide, test use only. */
enum st_io_fault_op { ST_FAULT_WRITE = 0, ST_FAULT_SYNC = 1, ST_FAULT_RENAME = 2, ST_FAULT_OPS = 3 };
void st_io_fault_arm(enum st_io_fault_op op, int nth, int err);

#endif
