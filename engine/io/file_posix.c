/* file_posix.c -- the POSIX backend of io.h: pread/pwrite/fdatasync with EINTR and short
 * transfers retried. Holds no locks: an st_file's append offset is owned by its single appender;
 * pread/pwrite at explicit offsets are safe from any thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct st_file {
    int fd;
    uint64_t append_off;
    char path[];
};

static atomic_int fault_nth[ST_FAULT_OPS];
static atomic_int fault_err[ST_FAULT_OPS];

void st_io_fault_arm(enum st_io_fault_op op, int nth, int err) {
    atomic_store(&fault_err[op], err);
    atomic_store(&fault_nth[op], nth);
}

/* Returns -err when the armed fault for op fires now. */
static int fault_check(enum st_io_fault_op op) {
    int n = atomic_load_explicit(&fault_nth[op], memory_order_relaxed);
    if (n <= 0) return 0;
    if (atomic_fetch_sub(&fault_nth[op], 1) == 1) return -atomic_load(&fault_err[op]);
    return 0;
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
    int fd;
    do fd = open(path, of, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        free(f);
        return -e;
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
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(f->fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (r == 0) break;
        done += (size_t)r;
    }
    *nread = done;
    return 0;
}

int st_file_pwrite(st_file *f, const void *buf, size_t n, uint64_t off) {
    int rc = fault_check(ST_FAULT_WRITE);
    if (rc) return rc;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(f->fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        done += (size_t)r;
    }
    return 0;
}

int st_file_append(st_file *f, const void *buf, size_t n) {
    int rc = st_file_pwrite(f, buf, n, f->append_off);
    if (rc == 0) f->append_off += n;
    return rc;
}

uint64_t st_file_append_off(const st_file *f) { return f->append_off; }

int st_file_sync(st_file *f) {
    int rc = fault_check(ST_FAULT_SYNC);
    if (rc) return rc;
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

int st_file_size(st_file *f, uint64_t *size) {
    struct stat st;
    if (fstat(f->fd, &st) < 0) return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

int st_file_truncate(st_file *f, uint64_t size) {
    if (ftruncate(f->fd, (off_t)size) < 0) return -errno;
    if (f->append_off > size) f->append_off = size;
    return 0;
}

const char *st_file_path(const st_file *f) { return f->path; }

int st_io_rename(const char *from, const char *to) {
    int rc = fault_check(ST_FAULT_RENAME);
    if (rc) return rc;
    return rename(from, to) < 0 ? -errno : 0;
}

int st_io_unlink(const char *path) { return unlink(path) < 0 ? -errno : 0; }

int st_io_sync_dir(const char *dir) {
    int rc = fault_check(ST_FAULT_SYNC);
    if (rc) return rc;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
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
