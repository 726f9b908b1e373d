/* direct.c -- O_DIRECT support: the alignment a direct file needs, aligned buffers, and reads of
 * arbitrary ranges through a bounce buffer.
 * Alignment: statx(STATX_DIOALIGN) on the open file (Linux 6.1+; offset 0 there means "no direct
 * IO for this file"), taking max(offset, memory) alignment. Older kernels and filesystems that
 * don't report it (tmpfs) get a probe, once per directory and cached: write a small temp file,
 * then try an O_DIRECT read of 512 bytes at 512, then 4096 at 4096. A directory we cannot probe
 * (read-only) gets 4096, which every device accepts.
 * D1: an aligned value is a power of two; 0 means direct IO is not possible. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAFE_ALIGN 4096u
#define DIR_CACHE 32

typedef struct dir_entry {
    char dir[PATH_MAX];
    int64_t align;       /* probed alignment, -1 = not probed yet */
    bool refusal_logged; /* the "O_DIRECT refused" line was logged */
} dir_entry;

static pthread_mutex_t dir_mu = PTHREAD_MUTEX_INITIALIZER;
static dir_entry dirs[DIR_CACHE];
static size_t ndirs;
static atomic_uint probe_seq;

void *st_io_aligned_alloc(size_t size, size_t align) {
    if (align == 0) align = SAFE_ALIGN;
    if (align & (align - 1)) return NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    void *p = NULL;
    return posix_memalign(&p, align, size ? size : align) == 0 ? p : NULL;
}

void st_io_dirname(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* The cache entry for dir, added if absent; NULL when the cache is full. Caller holds dir_mu. */
static dir_entry *dir_lookup(const char *dir) {
    for (size_t i = 0; i < ndirs; i++)
        if (!strcmp(dirs[i].dir, dir)) return &dirs[i];
    if (ndirs == DIR_CACHE) return NULL;
    dir_entry *e = &dirs[ndirs++];
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    e->align = -1;
    e->refusal_logged = false;
    return e;
}

void st_io_direct_refused(const char *path, int err) {
    char dir[PATH_MAX];
    st_io_dirname(path, dir, sizeof dir);
    pthread_mutex_lock(&dir_mu);
    dir_entry *e = dir_lookup(dir);
    bool log = !e || !e->refusal_logged;
    if (e) e->refusal_logged = true;
    pthread_mutex_unlock(&dir_mu);
    if (log) st_io_log("O_DIRECT refused in %s (%s); its files use buffered IO", dir, strerror(err));
}

/* O_DIRECT reads of a fresh temp file in dir: 512, then 4096; 0 if neither works. */
static uint32_t probe_dir(const char *dir) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/.st_dio_probe.%d.%u", dir, (int)getpid(),
             atomic_fetch_add(&probe_seq, 1));
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return SAFE_ALIGN;
    char *mem = st_io_aligned_alloc(2 * SAFE_ALIGN, SAFE_ALIGN);
    uint32_t align = SAFE_ALIGN;
    if (!mem) goto out;
    memset(mem, 0, 2 * SAFE_ALIGN);
    if (pwrite(fd, mem, 2 * SAFE_ALIGN, 0) != 2 * SAFE_ALIGN) goto out;
    int dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == EINVAL) align = 0;
        goto out;
    }
    /* mem + 512 is 512- but not 4096-aligned: this tests memory alignment too. */
    ssize_t r = pread(dfd, mem + 512, 512, 512);
    if (r == 512) align = 512;
    else if (r < 0 && errno == EINVAL) {
        r = pread(dfd, mem, SAFE_ALIGN, SAFE_ALIGN);
        align = r < 0 && errno == EINVAL ? 0 : SAFE_ALIGN;
    }
    close(dfd);
out:
    free(mem);
    close(fd);
    unlink(path);
    return align;
}

static uint32_t dir_align(const char *path) {
    char dir[PATH_MAX];
    st_io_dirname(path, dir, sizeof dir);
    pthread_mutex_lock(&dir_mu);
    dir_entry *e = dir_lookup(dir);
    int64_t cached = e ? e->align : -1;
    pthread_mutex_unlock(&dir_mu);
    if (cached >= 0) return (uint32_t)cached;
    /* Probe unlocked: two threads may both probe a new directory, and get the same answer. */
    uint32_t align = probe_dir(dir);
    pthread_mutex_lock(&dir_mu);
    if ((e = dir_lookup(dir)) != NULL) e->align = align;
    pthread_mutex_unlock(&dir_mu);
    return align;
}

void st_io_direct_align(const char *path, int fd, uint32_t *align) {
#ifdef STATX_DIOALIGN
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
        uint32_t a = sx.stx_dio_offset_align;
        if (a && sx.stx_dio_mem_align > a) a = sx.stx_dio_mem_align;
        *align = a && !(a & (a - 1)) ? a : (a ? SAFE_ALIGN : 0);
        return;
    }
#endif
    *align = dir_align(path);
}

int st_io_direct_pread(st_file *f, void *buf, size_t n, uint64_t off, size_t *nread) {
    uint64_t start;
    size_t len;
    st_io_cover(off, n, f->align, &start, &len);
    char *bounce = st_io_aligned_alloc(len, f->align > SAFE_ALIGN ? f->align : SAFE_ALIGN);
    if (!bounce) return -ENOMEM;
    st_io_op op = {.fd = f->fd, .kind = ST_IO_READ, .align = f->align, .buf = bounce, .len = len,
                   .off = start};
    int rc = st_io_run(&op, 1);
    if (rc == 0) {
        size_t skip = (size_t)(off - start);
        size_t got = op.done > skip ? op.done - skip : 0;
        if (got > n) got = n;
        memcpy(buf, bounce + skip, got);
        *nread = got;
    }
    free(bounce);
    return rc;
}
