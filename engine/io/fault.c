/* fault.c -- the io layer's test hooks (io.h): fault injection by op and path, short transfers,
 * and the power-loss record.
 * Faults: one slot per op {nth, errno, flags, path filter} under one mutex; `armed` lets every
 * call of an unarmed op return after one relaxed load, so the hooks stay compiled in.
 * Power loss: a table of tracked files in a MAP_SHARED anonymous mapping made before the test
 * forks, so a child's writes land in the parent's view; a process-shared robust mutex guards it
 * (a child killed while holding it leaves EOWNERDEAD, which the next locker repairs). Entries are
 * found by path (open, rename, unlink, directory sync) or by the slot and generation an st_file
 * carries (writes, syncs: a slot freed and reused never matches an old file). The record is never
 * more durable than the disk: a write is recorded before it is issued, a sync only after it
 * succeeded, and a kill between the two leaves the more pessimistic state, which only concerns
 * writes nobody was told were durable yet. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- fault injection -------------------------------------------------------------------------- */

#define FILTER_MAX 256

typedef struct fault {
    int nth;   /* the matching call that fails (1 = next); 0: disarmed */
    int err;
    unsigned flags;
    char filter[FILTER_MAX];
} fault;

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static fault faults[ST_FAULT_OPS];
static atomic_bool armed[ST_FAULT_OPS];

void st_io_fault_arm_ex(enum st_io_fault_op op, int nth, int err, unsigned flags, const char *path_contains) {
    if ((unsigned)op >= ST_FAULT_OPS) return;
    pthread_mutex_lock(&fault_mu);
    fault *f = &faults[op];
    f->nth = nth > 0 ? nth : 0;
    f->err = err;
    f->flags = flags;
    snprintf(f->filter, sizeof f->filter, "%s", path_contains ? path_contains : "");
    atomic_store(&armed[op], f->nth > 0);
    pthread_mutex_unlock(&fault_mu);
}

void st_io_fault_arm(enum st_io_fault_op op, int nth, int err) { st_io_fault_arm_ex(op, nth, err, 0, NULL); }

/* path contains the filter, or with a filter "x$" ends with "x". */
static bool match_one(const char *filter, const char *path) {
    if (!path) return false;
    size_t n = strlen(filter);
    if (filter[n - 1] != '$') return strstr(path, filter) != NULL;
    size_t len = strlen(path);
    return len >= n - 1 && !memcmp(path + len - (n - 1), filter, n - 1);
}

static bool matches(const fault *f, const char *path, const char *path2) {
    if (!f->filter[0]) return true;
    return match_one(f->filter, path) || match_one(f->filter, path2);
}

int st_io_fault_check(enum st_io_fault_op op, const char *path, const char *path2) {
    if (!atomic_load_explicit(&armed[op], memory_order_relaxed)) return 0;
    int rc = 0;
    pthread_mutex_lock(&fault_mu);
    fault *f = &faults[op];
    if (f->nth > 0 && matches(f, path, path2)) {
        if (f->nth > 1) {
            f->nth--;
        } else {
            rc = -f->err;
            if (!(f->flags & ST_FAULT_PERSISTENT)) {
                f->nth = 0;
                atomic_store(&armed[op], false);
            }
        }
    }
    pthread_mutex_unlock(&fault_mu);
    return rc;
}

/* ---- short transfers ---------------------------------------------------------------------------- */

static atomic_size_t test_cap;
static atomic_int test_eagain_every;
static atomic_uint test_completions;

void st_io_test_set_short(size_t max_bytes, int eagain_every) {
    atomic_store(&test_cap, max_bytes);
    atomic_store(&test_eagain_every, eagain_every);
    atomic_store(&test_completions, 0);
}

size_t st_io_test_cap(const st_io_op *op, size_t want) {
    size_t cap = atomic_load_explicit(&test_cap, memory_order_relaxed);
    if (!cap) return want;
    if (op->align > 1) cap = (cap + op->align - 1) / op->align * op->align;
    return want < cap ? want : cap;
}

bool st_io_test_eagain(void) {
    int every = atomic_load_explicit(&test_eagain_every, memory_order_relaxed);
    if (every <= 0) return false;
    return (atomic_fetch_add(&test_completions, 1) + 1) % (unsigned)every == 0;
}

/* ---- power-loss record ------------------------------------------------------------------------- */

#define PL_FILES 2048
#define PL_PATH 512
#define PL_SAVE 512

typedef struct pl_file {
    uint32_t gen;          /* 0: a free slot */
    bool entry_durable;    /* its name at `path` survives a power loss */
    bool renamed;          /* renamed to `path` from old_path since that directory's last sync */
    bool old_durable;      /* ... and its name at old_path was durable */
    bool replaced;         /* the rename replaced a file, whose post-loss bytes are in saved */
    uint32_t saved_len;
    uint64_t size;         /* as written */
    uint64_t durable_size; /* size at the last successful fdatasync */
    uint64_t dirty_lo;     /* lowest offset written since; UINT64_MAX: none */
    char path[PL_PATH];
    char old_path[PL_PATH];
    uint8_t saved[PL_SAVE];
} pl_file;

typedef struct pl_region {
    pthread_mutex_t mu; /* process-shared, robust */
    uint32_t next_gen;
    bool overflow;      /* something could not be recorded: a simulation would be wrong */
    pl_file f[PL_FILES];
} pl_region;

static _Atomic(pl_region *) pl;
static uint32_t pl_epoch = 1; /* generations never repeat across track(on) calls */

bool st_io_pl_on(void) { return atomic_load_explicit(&pl, memory_order_relaxed) != NULL; }

static void pl_lock(pl_region *r) {
    if (pthread_mutex_lock(&r->mu) == EOWNERDEAD) pthread_mutex_consistent(&r->mu);
}

static pl_file *pl_find(pl_region *r, const char *path) {
    for (size_t i = 0; i < PL_FILES; i++)
        if (r->f[i].gen && !strcmp(r->f[i].path, path)) return &r->f[i];
    return NULL;
}

static pl_file *pl_alloc(pl_region *r, const char *path) {
    if (strlen(path) >= PL_PATH) {
        r->overflow = true;
        return NULL;
    }
    for (size_t i = 0; i < PL_FILES; i++) {
        pl_file *e = &r->f[i];
        if (e->gen) continue;
        memset(e, 0, sizeof *e);
        if (++r->next_gen == 0) r->next_gen = 1;
        e->gen = r->next_gen;
        e->dirty_lo = UINT64_MAX;
        snprintf(e->path, sizeof e->path, "%s", path);
        return e;
    }
    r->overflow = true;
    return NULL;
}

static pl_file *pl_of(pl_region *r, const st_file *f) {
    if (f->pl_slot < 0) return NULL;
    pl_file *e = &r->f[f->pl_slot];
    return e->gen == f->pl_gen ? e : NULL;
}

/* path's directory is dir (trailing slashes of dir ignored). */
static bool in_dir(const char *path, const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *slash = strrchr(path, '/');
    if (!slash) return n == 1 && dir[0] == '.';
    size_t pn = slash == path ? 1 : (size_t)(slash - path);
    return pn == n && !memcmp(path, dir, n);
}

/* path lies under dir (NULL: everything). */
static bool under(const char *path, const char *dir) {
    if (!dir) return true;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    return !strncmp(path, dir, n) && path[n] == '/';
}

void st_io_pl_opened(st_file *f, bool existed, bool truncated) {
    f->pl_slot = -1;
    pl_region *r = atomic_load(&pl);
    if (!r) return;
    pl_lock(r);
    pl_file *e = pl_find(r, f->path);
    if (!e && (e = pl_alloc(r, f->path))) {
        struct stat st;
        uint64_t size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        e->entry_durable = existed; /* a file we did not see being made is taken as durable */
        e->size = size;
        e->durable_size = existed ? size : 0;
    }
    if (e && truncated) {
        e->size = 0;
        e->durable_size = 0;
        e->dirty_lo = UINT64_MAX;
    }
    if (e) {
        f->pl_slot = (int)(e - r->f);
        f->pl_gen = e->gen;
    }
    pthread_mutex_unlock(&r->mu);
}

void st_io_pl_write(const st_file *f, uint64_t off, uint64_t n) {
    if (f->pl_slot < 0) return;
    pl_region *r = atomic_load(&pl);
    if (!r || n == 0) return;
    pl_lock(r);
    pl_file *e = pl_of(r, f);
    if (e) {
        if (off < e->dirty_lo) e->dirty_lo = off;
        if (off + n > e->size) e->size = off + n;
    }
    pthread_mutex_unlock(&r->mu);
}

void st_io_pl_resized(const st_file *f, uint64_t size, bool grow_only) {
    if (f->pl_slot < 0) return;
    pl_region *r = atomic_load(&pl);
    if (!r) return;
    pl_lock(r);
    pl_file *e = pl_of(r, f);
    if (e && (!grow_only || size > e->size)) {
        uint64_t lo = size < e->size ? size : e->size; /* bytes from here changed (zeros or gone) */
        if (lo < e->dirty_lo) e->dirty_lo = lo;
        e->size = size;
    }
    pthread_mutex_unlock(&r->mu);
}

void st_io_pl_synced(const st_file *f) {
    if (f->pl_slot < 0) return;
    pl_region *r = atomic_load(&pl);
    if (!r) return;
    pl_lock(r);
    pl_file *e = pl_of(r, f);
    if (e) {
        e->durable_size = e->size;
        e->dirty_lo = UINT64_MAX;
    }
    pthread_mutex_unlock(&r->mu);
}

void st_io_pl_dir_synced(const char *dir) {
    pl_region *r = atomic_load(&pl);
    if (!r) return;
    pl_lock(r);
    for (size_t i = 0; i < PL_FILES; i++) {
        pl_file *e = &r->f[i];
        if (!e->gen || !in_dir(e->path, dir)) continue;
        e->entry_durable = true;
        e->renamed = false;
        e->replaced = false;
    }
    pthread_mutex_unlock(&r->mu);
}

/* The first `len` bytes a power loss would leave of e's file (e NULL: the untracked file at path,
 * all of it). false: more than PL_SAVE bytes, or unreadable. */
static bool post_loss_bytes(const pl_file *e, const char *path, uint8_t *out, uint32_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0;
    uint64_t size = e ? e->durable_size : (uint64_t)st.st_size;
    if (!ok || size > PL_SAVE) {
        close(fd);
        return false;
    }
    ssize_t got = pread(fd, out, (size_t)size, 0);
    close(fd);
    if (got < 0) return false;
    if ((uint64_t)got < size) memset(out + got, 0, (size_t)(size - (uint64_t)got));
    if (e && e->dirty_lo < size) memset(out + e->dirty_lo, 0, (size_t)(size - e->dirty_lo));
    *len = (uint32_t)size;
    return true;
}

int st_io_pl_rename(const char *from, const char *to) {
    pl_region *r = atomic_load(&pl);
    if (!r) return rename(from, to) < 0 ? -errno : 0;
    pl_lock(r);
    pl_file *src = pl_find(r, from), *dst = pl_find(r, to);
    /* What stands at `to` after a power loss that undoes this rename. */
    uint8_t saved[PL_SAVE];
    uint32_t saved_len = 0;
    bool have = false;
    if (dst ? dst->entry_durable : access(to, F_OK) == 0) {
        have = post_loss_bytes(dst, to, saved, &saved_len);
        if (!have) r->overflow = true;
    }
    int rc = rename(from, to) < 0 ? -errno : 0;
    if (rc == 0) {
        if (dst && dst != src) dst->gen = 0;
        if (!src && (src = pl_alloc(r, to))) { /* untracked until now: durable where it was */
            struct stat st;
            src->size = src->durable_size = stat(to, &st) == 0 ? (uint64_t)st.st_size : 0;
            src->entry_durable = true;
        }
        if (src) {
            if (!src->renamed) {
                snprintf(src->old_path, sizeof src->old_path, "%s", from);
                src->old_durable = src->entry_durable;
                src->renamed = true;
            } else if (src->replaced) {
                r->overflow = true; /* two undone renames would each need their replaced file */
            }
            src->entry_durable = false;
            snprintf(src->path, sizeof src->path, "%s", to);
            src->replaced = have;
            src->saved_len = saved_len;
            if (have) memcpy(src->saved, saved, saved_len);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int st_io_pl_unlink(const char *path) {
    pl_region *r = atomic_load(&pl);
    if (!r) return unlink(path) < 0 ? -errno : 0;
    pl_lock(r);
    int rc = unlink(path) < 0 ? -errno : 0;
    pl_file *e = rc == 0 ? pl_find(r, path) : NULL;
    if (e) e->gen = 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int st_io_test_power_track(bool on) {
    pl_region *r = atomic_load(&pl);
    if (!on) {
        atomic_store(&pl, NULL);
        if (r) munmap(r, sizeof *r);
        return 0;
    }
    if (r) return 0;
    r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return -ENOMEM;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&r->mu, &a);
    pthread_mutexattr_destroy(&a);
    if (rc) {
        munmap(r, sizeof *r);
        return -rc;
    }
    r->next_gen = pl_epoch;
    pl_epoch += 1u << 24;
    atomic_store(&pl, r);
    return 0;
}

static int restore_file(const char *path, const uint8_t *data, uint32_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    int rc = len && pwrite(fd, data, len, 0) != (ssize_t)len ? -EIO : 0;
    close(fd);
    return rc;
}

/* Drops e's data written since its last sync: the size falls back, overwritten bytes read as zeros. */
static int drop_unsynced(const pl_file *e) {
    int fd = open(e->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -errno;
    int rc = 0;
    static const uint8_t zeros[4096];
    for (uint64_t at = e->dirty_lo; !rc && at < e->durable_size;) {
        size_t k = e->durable_size - at < sizeof zeros ? (size_t)(e->durable_size - at) : sizeof zeros;
        if (pwrite(fd, zeros, k, (off_t)at) != (ssize_t)k) rc = -EIO;
        at += k;
    }
    if (!rc && ftruncate(fd, (off_t)e->durable_size) < 0) rc = -errno;
    close(fd);
    return rc;
}

int st_io_test_power_loss(const char *dir) {
    pl_region *r = atomic_load(&pl);
    if (!r) return -EINVAL;
    pl_lock(r);
    int first = r->overflow ? -EOVERFLOW : 0;
#define NOTE(x)                          \
    do {                                 \
        int rc_ = (x);                   \
        if (rc_ && !first) first = rc_;  \
    } while (0)
    /* 1: names made since their directory's last sync go (what a rename replaced comes back) */
    for (size_t i = 0; i < PL_FILES; i++) {
        pl_file *e = &r->f[i];
        if (!e->gen || !under(e->path, dir) || e->entry_durable || (e->renamed && e->old_durable)) continue;
        if (unlink(e->path) < 0 && errno != ENOENT) NOTE(-errno);
        if (e->replaced) NOTE(restore_file(e->path, e->saved, e->saved_len));
        e->gen = 0;
    }
    /* 2: renames since go back */
    for (size_t i = 0; i < PL_FILES; i++) {
        pl_file *e = &r->f[i];
        if (!e->gen || !under(e->path, dir) || e->entry_durable) continue;
        if (rename(e->path, e->old_path) < 0) NOTE(-errno);
        if (e->replaced) NOTE(restore_file(e->path, e->saved, e->saved_len));
        memcpy(e->path, e->old_path, sizeof e->path);
        e->entry_durable = true;
    }
    /* 3: data since the last sync goes */
    for (size_t i = 0; i < PL_FILES; i++) {
        pl_file *e = &r->f[i];
        if (!e->gen || !under(e->path, dir)) continue;
        NOTE(drop_unsynced(e));
        e->gen = 0;
    }
#undef NOTE
    r->overflow = false;
    pthread_mutex_unlock(&r->mu);
    return first;
}
