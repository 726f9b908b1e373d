/* file_posix.c -- the st_file API and the POSIX backend of io.h: pread/pwrite/fdatasync with
 * EINTR and short transfers retried. Every read, write and sync becomes an st_io_op; those that
 * belong on the ring (st_io_ring_for: direct files, or uring_all) go through st_io_run() to the
 * active backend, the rest run on the syscalls here, so callers see one behaviour. Holds no
 * locks: an st_file's append offset is owned by its single appender; pread/pwrite at explicit
 * offsets are safe from any thread. Direct files keep their probed alignment; unaligned reads
 * go through direct.c's bounce buffer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ZERO_WRITES 64 /* pwrite returning 0 for n > 0 this often in a row is an error */

void st_io_posix_run(st_io_op *op) {
    op->rc = 0;
    if (op->kind == ST_IO_FSYNC) {
        int r;
        do r = fdatasync(op->fd);
        while (r < 0 && errno == EINTR);
        op->rc = r < 0 ? -errno : 0;
        op->complete = true;
        return;
    }
    unsigned zero = 0;
    while (op->done < op->len) {
        size_t want = st_io_test_cap(op, op->len - op->done);
        ssize_t r = op->kind == ST_IO_READ
                        ? pread(op->fd, op->buf + op->done, want, (off_t)(op->off + op->done))
                        : pwrite(op->fd, op->buf + op->done, want, (off_t)(op->off + op->done));
        if (r < 0) {
            if (errno == EINTR) continue;
            op->rc = -errno;
            break;
        }
        if (r == 0) {
            if (op->kind == ST_IO_READ) break; /* EOF */
            if (++zero > MAX_ZERO_WRITES) {
                op->rc = -EIO;
                break;
            }
            continue;
        }
        zero = 0;
        op->done += (size_t)r;
        if (op->done < op->len && op->align > 1 && op->done % op->align) {
            /* A direct transfer cannot continue off an alignment boundary: for a read that
             * short count was EOF; a direct write that stops there failed. */
            if (op->kind == ST_IO_WRITE) op->rc = -EIO;
            break;
        }
    }
    op->complete = true;
}

int st_io_run(st_io_op *ops, size_t n) {
    int rc = 0;
    if (st_io_backend_get() == ST_IO_URING && st_io_uring_run(ops, n, &rc)) return rc;
    for (size_t i = 0; i < n; i++) {
        ops[i].retries = 0;
        st_io_posix_run(&ops[i]);
        if (!rc) rc = ops[i].rc;
    }
    return rc;
}

int st_io_run_file(const st_file *f, st_io_op *op) {
    if (st_io_ring_for(f)) return st_io_run(op, 1);
    op->retries = 0;
    st_io_posix_run(op);
    return op->rc;
}

static int open_retry(const char *path, int of) {
    int fd;
    do fd = open(path, of, 0644);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

/* Opens with O_DIRECT; EINVAL (the filesystem refuses it) reopens buffered. Returns the fd or
 * -errno; *direct says what we got. */
static int open_direct(const char *path, int of, bool *direct) {
    *direct = false;
    int fd = st_io_fault_check(ST_FAULT_DIRECT, path, NULL);
    if (fd == 0) fd = open_retry(path, of | O_DIRECT);
    if (fd >= 0) {
        *direct = true;
        return fd;
    }
    if (fd != -EINVAL) return fd;
    st_io_direct_refused(path, EINVAL);
    /* O_CREAT|O_EXCL got past the existence check before O_DIRECT was refused, so the file may
     * exist now, created by us: the buffered retry must not fail on it. */
    return open_retry(path, of & ~O_EXCL);
}

int st_file_open(const char *path, int flags, st_file **out) {
    *out = NULL;
    int of = O_CLOEXEC;
    of |= (flags & ST_OPEN_WRITE) ? O_RDWR : O_RDONLY;
    if (flags & ST_OPEN_CREATE) of |= O_CREAT;
    if (flags & ST_OPEN_EXCL) of |= O_EXCL;
    if (flags & ST_OPEN_TRUNC) of |= O_TRUNC;
    size_t plen = strlen(path);
    st_file *f = malloc(sizeof *f + plen + 1);
    if (!f) return -ENOMEM;
    memcpy(f->path, path, plen + 1);
    f->direct = false;
    f->align = 1;
    f->pl_slot = -1;
    /* the power-loss record needs to know whether this open makes the file */
    bool existed = !(flags & ST_OPEN_CREATE) || !st_io_pl_on() || access(path, F_OK) == 0;
    int fd = (flags & ST_OPEN_DIRECT) ? open_direct(path, of, &f->direct) : open_retry(path, of);
    if (fd < 0) {
        free(f);
        return fd;
    }
    if (f->direct) {
        uint32_t align = 0;
        st_io_direct_align(path, fd, &align);
        if (align == 0) {
            /* Opened, but this file cannot do direct IO (ext4 data journalling, verity...):
             * the kernel would go buffered silently; say so instead. */
            int fl = fcntl(fd, F_GETFL);
            if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_DIRECT);
            st_io_direct_refused(path, EOPNOTSUPP);
            f->direct = false;
            align = 1;
        }
        f->align = align;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        free(f);
        return -e;
    }
    f->fd = fd;
    f->append_off = (uint64_t)st.st_size;
    if ((flags & ST_OPEN_WRITE) && st_io_pl_on()) st_io_pl_opened(f, existed, flags & ST_OPEN_TRUNC);
    *out = f;
    return 0;
}

int st_file_close(st_file *f) {
    if (!f) return 0;
    int rc = close(f->fd) < 0 ? -errno : 0;
    free(f);
    return rc == -EINTR ? 0 : rc;
}

int st_file_pread(st_file *f, void *buf, size_t n, uint64_t off, size_t *nread) {
    *nread = 0;
    int rc = st_io_fault_check(ST_FAULT_READ, f->path, NULL);
    if (rc) return rc;
    if (n == 0) return 0;
    if (!st_io_direct_ok(f, buf, n, off)) return st_io_direct_pread(f, buf, n, off, nread);
    st_io_op op = {.fd = f->fd, .kind = ST_IO_READ, .align = f->align, .buf = buf, .len = n, .off = off};
    rc = st_io_run_file(f, &op);
    *nread = op.done;
    return rc;
}

int st_file_pwrite(st_file *f, const void *buf, size_t n, uint64_t off) {
    int rc = st_io_fault_check(ST_FAULT_WRITE, f->path, NULL);
    if (rc) return rc;
    if (n == 0) return 0;
    char *bounce = NULL;
    if (!st_io_direct_ok(f, buf, n, off)) {
        if (!st_io_is_aligned(off, f->align) || !st_io_is_aligned(n, f->align)) return -EINVAL;
        if (!(bounce = st_io_aligned_alloc(n, f->align))) return -ENOMEM; /* only buf was off */
        memcpy(bounce, buf, n);
    }
    st_io_op op = {.fd = f->fd, .kind = ST_IO_WRITE, .align = f->align,
                   .buf = bounce ? bounce : (char *)buf, .len = n, .off = off};
    st_io_pl_write(f, off, n);
    rc = st_io_run_file(f, &op);
    free(bounce);
    return rc;
}

int st_file_append(st_file *f, const void *buf, size_t n) {
    int rc = st_file_pwrite(f, buf, n, f->append_off);
    if (rc == 0) f->append_off += n;
    return rc;
}

uint64_t st_file_append_off(const st_file *f) { return f->append_off; }

int st_file_sync(st_file *f) {
    int rc = st_io_fault_check(ST_FAULT_SYNC, f->path, NULL);
    if (rc) return rc;
    st_io_op op = {.fd = f->fd, .kind = ST_IO_FSYNC, .align = 1};
    rc = st_io_run_file(f, &op);
    if (rc == 0) st_io_pl_synced(f);
    return rc;
}

bool st_file_is_direct(const st_file *f) { return f->direct; }
uint32_t st_file_align(const st_file *f) { return f->align; }
int st_file_fd(const st_file *f) { return f->fd; }

int st_file_size(st_file *f, uint64_t *size) {
    struct stat st;
    if (fstat(f->fd, &st) < 0) return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int st_file_truncate(st_file *f, uint64_t size) {
    st_io_pl_resized(f, size, false);
    if (ftruncate(f->fd, (off_t)size) < 0) return -errno;
    if (f->append_off > size) f->append_off = size;
    return 0;
}

const char *st_file_path(const st_file *f) { return f->path; }

int st_io_rename(const char *from, const char *to) {
    int rc = st_io_fault_check(ST_FAULT_RENAME, from, to);
    if (rc) return rc;
    if (st_io_pl_on()) return st_io_pl_rename(from, to);
    return rename(from, to) < 0 ? -errno : 0;
}

int st_io_unlink(const char *path) {
    if (st_io_pl_on()) return st_io_pl_unlink(path);
    return unlink(path) < 0 ? -errno : 0;
}

int st_io_sync_dir(const char *dir) {
    int rc = st_io_fault_check(ST_FAULT_SYNC, dir, NULL);
    if (rc) return rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    if (rc == 0) st_io_pl_dir_synced(dir);
    return rc;
}

int st_io_mkdir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) return 0;
    return -errno;
}

bool st_io_exists(const char *path) { return access(path, F_OK) == 0; }

int st_io_list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg) {
    DIR *d = opendir(dir);
    if (!d) return -errno;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        rc = fn(e->d_name, arg);
    }
    closedir(d);
    return rc;
}

int st_io_read_all(const char *path, char **data, size_t *len) {
    *data = NULL;
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc) return rc;
    uint64_t size;
    if ((rc = st_file_size(f, &size)) == 0) {
        char *p = malloc(size + 1);
        size_t n = 0;
        if (!p) rc = -ENOMEM;
        else if ((rc = st_file_pread(f, p, size, 0, &n)) == 0) {
            p[n] = 0;
            *data = p;
            *len = n;
        } else free(p);
    }
    st_file_close(f);
    return rc;
}

struct st_lock {
    int fd;
};

int st_io_lock(const char *path, st_lock **out) {
    *out = NULL;
    st_lock *l = malloc(sizeof *l);
    if (!l) return -ENOMEM;
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        int e = errno;
        free(l);
        return -e;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(l->fd);
        free(l);
        return -e;
    }
    *out = l;
    return 0;
}

void st_io_unlock(st_lock *l) {
    if (!l) return;
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}
