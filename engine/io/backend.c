/* backend.c -- choosing the io backend once per process and the notice log (fault injection and
 * the other test hooks are in fault.c).
 * Choice: io_uring when a probe ring can be set up and supports READ/WRITE/FSYNC, unless the
 * option or STRATA_IO_BACKEND=posix forces POSIX. Refusals (ENOSYS: old kernel or seccomp; EPERM:
 * Docker's default profile, kernel.io_uring_disabled; ENOMEM: RLIMIT_MEMLOCK on old kernels) are
 * not errors: one line is logged and the POSIX backend is used.
 * B1: once chosen, `active` is nonzero; only st_io_init() changes it afterwards (tests). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RING_DEPTH 128u

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int active;                         /* st_io_backend, 0 = not chosen yet */
static atomic_uint ring_depth = DEFAULT_RING_DEPTH;
static atomic_bool ring_all;                      /* st_io_options.uring_all */
atomic_uint st_io_rings_live;

/* ---- notices ------------------------------------------------------------------------------------ */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static st_io_log_fn log_fn;
static void *log_arg;

void st_io_set_log(st_io_log_fn fn, void *arg) {
    pthread_mutex_lock(&log_mu);
    log_fn = fn;
    log_arg = arg;
    pthread_mutex_unlock(&log_mu);
}

void st_io_log(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_mu);
    if (log_fn) log_fn(line, log_arg);
    else fprintf(stderr, "strata io: %s\n", line);
    pthread_mutex_unlock(&log_mu);
}

/* ---- backend choice ----------------------------------------------------------------------------- */

/* 0 if a small ring can be set up and knows the opcodes we use, else -errno. */
static int probe_uring(void) {
    struct io_uring ring;
    int rc = st_io_ring_setup(&ring, 4, false);
    if (rc) return rc;
    struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
    if (!p) rc = -ENOSYS; /* kernels before 5.6 have no probe and no IORING_OP_READ either */
    else if (!io_uring_opcode_supported(p, IORING_OP_READ) ||
             !io_uring_opcode_supported(p, IORING_OP_WRITE) ||
             !io_uring_opcode_supported(p, IORING_OP_FSYNC))
        rc = -EOPNOTSUPP;
    if (p) io_uring_free_probe(p);
    io_uring_queue_exit(&ring);
    return rc;
}

static st_io_backend choose(const st_io_options *opts) {
    atomic_store(&ring_depth, opts && opts->ring_depth ? opts->ring_depth : DEFAULT_RING_DEPTH);
    const char *env = getenv("STRATA_IO_BACKEND");
    atomic_store(&ring_all, (opts && opts->uring_all) || (env && !strcmp(env, "io_uring_all")));
    if (opts && opts->force_posix) {
        st_io_log("io backend: posix (forced by option)");
        return ST_IO_POSIX;
    }
    if (env && !strcmp(env, "posix")) {
        st_io_log("io backend: posix (forced by STRATA_IO_BACKEND=posix)");
        return ST_IO_POSIX;
    }
    if (env && *env && strcmp(env, "io_uring") && strcmp(env, "io_uring_all") && strcmp(env, "auto"))
        st_io_log("STRATA_IO_BACKEND=%s not understood (posix, io_uring, io_uring_all, auto); probing",
                  env);
    int rc = probe_uring();
    if (rc) {
        st_io_log("io_uring unavailable (%s); using the pread/pwrite backend", strerror(-rc));
        return ST_IO_POSIX;
    }
    return ST_IO_URING;
}

int st_io_init(const st_io_options *opts) {
    pthread_mutex_lock(&init_mu);
    atomic_store(&active, (int)choose(opts));
    pthread_mutex_unlock(&init_mu);
    return 0;
}

st_io_backend st_io_backend_get(void) {
    int b = atomic_load_explicit(&active, memory_order_acquire);
    if (b) return (st_io_backend)b;
    pthread_mutex_lock(&init_mu);
    if (!atomic_load(&active)) atomic_store(&active, (int)choose(NULL));
    b = atomic_load(&active);
    pthread_mutex_unlock(&init_mu);
    return (st_io_backend)b;
}

st_io_backend st_io_backend_active(void) { return st_io_backend_get(); }

const char *st_io_backend_name(void) {
    return st_io_backend_get() == ST_IO_URING ? "io_uring" : "posix";
}

unsigned st_io_ring_depth(void) { return atomic_load(&ring_depth); }

bool st_io_ring_for(const st_file *f) {
    return f->direct || atomic_load_explicit(&ring_all, memory_order_relaxed);
}

unsigned st_io_live_rings(void) { return atomic_load(&st_io_rings_live); }
