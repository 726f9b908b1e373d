/* uring.c -- the io_uring backend: one ring per thread, created lazily on the thread's first IO
 * and freed by a pthread key destructor when the thread exits.
 * Why per thread and not a shared pool: engine threads (server workers reading, flush/compaction
 * writing, the WAL writer syncing) each block on their own IO anyway, so a private ring needs no
 * lock, no cross-thread completion routing, and can use SINGLE_ISSUER|DEFER_TASKRUN (6.1+, the
 * cheapest completion path). The cost is a few tens of KiB of ring memory per IO thread.
 * R1: a thread's ring is empty between calls: st_io_uring_run() returns only after reaping every
 *     completion it caused, so each CQE's user_data is an op of the running call.
 * R2: at most ring-depth ops are in flight, so the CQ (2x depth) never overflows.
 * Many threads may use one st_file at once: ops carry explicit offsets and the file's fd only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <liburing.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SUBMIT_ERRORS 1000 /* consecutive failed io_uring_enter calls before giving up */
#define MAX_OP_BYTES (1u << 30) /* an SQE's length is 32-bit; longer ops continue as short ones */

int st_io_ring_setup(struct io_uring *ring, unsigned depth, bool single_issuer) {
    int rc = st_io_fault_check(ST_FAULT_URING, NULL, NULL);
    if (rc) return rc;
#if defined(IORING_SETUP_SINGLE_ISSUER) && defined(IORING_SETUP_DEFER_TASKRUN)
    if (single_issuer) {
        rc = io_uring_queue_init(depth, ring,
                                 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
        if (rc != -EINVAL) return rc; /* -EINVAL: a kernel before 6.1 without these flags */
    }
#endif
    return io_uring_queue_init(depth, ring, 0);
}

/* ---- the thread's ring --------------------------------------------------------------------------- */

typedef struct thread_ring {
    struct io_uring ring;
    bool ok; /* false: setup failed, this thread uses the syscalls */
} thread_ring;

static __thread thread_ring *tls_ring;
static pthread_key_t ring_key;
static bool ring_key_ok;
static pthread_once_t ring_once = PTHREAD_ONCE_INIT;
static atomic_flag setup_fail_logged = ATOMIC_FLAG_INIT;

static void ring_free(void *p) {
    thread_ring *t = p;
    if (t->ok) {
        io_uring_queue_exit(&t->ring);
        atomic_fetch_sub(&st_io_rings_live, 1);
    }
    free(t);
}

/* A forked child shares its parent's rings (and is not their issuer): it makes its own. */
static void forget_ring_in_child(void) { tls_ring = NULL; }

static void make_key(void) {
    ring_key_ok = pthread_key_create(&ring_key, ring_free) == 0;
    pthread_atfork(NULL, NULL, forget_ring_in_child);
}

static struct io_uring *thread_ring_get(void) {
    if (tls_ring) return tls_ring->ok ? &tls_ring->ring : NULL;
    pthread_once(&ring_once, make_key);
    if (!ring_key_ok) return NULL; /* no destructor: do not create rings that would leak */
    thread_ring *t = calloc(1, sizeof *t);
    if (!t) return NULL; /* try again on the next call */
    int rc = st_io_ring_setup(&t->ring, st_io_ring_depth(), true);
    if (rc == 0) {
        t->ok = true;
        atomic_fetch_add(&st_io_rings_live, 1);
    } else if (!atomic_flag_test_and_set(&setup_fail_logged)) {
        st_io_log("io_uring ring setup failed on a thread (%s); it uses pread/pwrite", strerror(-rc));
    }
    if (pthread_setspecific(ring_key, t) != 0) {
        ring_free(t);
        return NULL;
    }
    tls_ring = t;
    return t->ok ? &t->ring : NULL;
}

/* ---- ops ------------------------------------------------------------------------------------------ */

void st_io_op_prep(struct io_uring_sqe *sqe, st_io_op *op) {
    if (op->kind == ST_IO_FSYNC) {
        io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
    } else {
        size_t want = st_io_test_cap(op, op->len - op->done);
        if (want > MAX_OP_BYTES) want = MAX_OP_BYTES;
        if (op->kind == ST_IO_READ)
            io_uring_prep_read(sqe, op->fd, op->buf + op->done, (unsigned)want, op->off + op->done);
        else
            io_uring_prep_write(sqe, op->fd, op->buf + op->done, (unsigned)want, op->off + op->done);
    }
    io_uring_sqe_set_data(sqe, op);
}

static bool finish(st_io_op *op, int rc) {
    op->rc = rc;
    op->complete = true;
    return true;
}

/* A completion without progress: resubmit, or after too many in a row finish on the syscalls. */
static bool no_progress(st_io_op *op) {
    if (++op->retries <= ST_IO_MAX_RETRIES) return false;
    st_io_posix_run(op);
    return true;
}

bool st_io_op_reap(st_io_op *op, int res) {
    if (st_io_test_eagain()) res = -EAGAIN; /* redoing a done transfer is harmless: same bytes */
    if (res == -EAGAIN || res == -EINTR) return no_progress(op);
    if (res < 0) return finish(op, res);
    if (op->kind == ST_IO_FSYNC) return finish(op, 0);
    if (res == 0) return op->kind == ST_IO_READ ? finish(op, 0) : no_progress(op); /* read: EOF */
    op->retries = 0;
    op->done += (size_t)res;
    if (op->done >= op->len) return finish(op, 0);
    if (op->align > 1 && op->done % op->align) /* a direct transfer can't go on off a boundary */
        return finish(op, op->kind == ST_IO_READ ? 0 : -EIO); /* read: that was EOF */
    return false;
}

bool st_io_uring_run(st_io_op *ops, size_t n, int *rc_out) {
    struct io_uring *ring = thread_ring_get();
    if (!ring) return false;
    *rc_out = 0;
    if (n == 0) return true;
    st_io_op *stackq[32];
    st_io_op **q = n <= 32 ? stackq : malloc(n * sizeof *q);
    if (!q) return false;
    /* q is a circular queue of ops waiting to be (re)submitted; each op is queued, in flight or
     * complete, so n slots suffice. */
    size_t qhead = 0, qlen = 0, left = n, inflight = 0;
    for (size_t i = 0; i < n; i++) {
        ops[i].rc = 0;
        ops[i].retries = 0;
        ops[i].complete = false;
        q[qlen++] = &ops[i];
    }
    unsigned depth = ring->sq.ring_entries;
    int errors = 0;
    while (left > 0) {
        while (qlen > 0 && inflight < depth) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
            if (!sqe) break;
            st_io_op_prep(sqe, q[qhead]);
            qhead = (qhead + 1) % n;
            qlen--;
            inflight++;
        }
        int rc = io_uring_submit_and_wait(ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            /* Submitted ops still point at the callers' buffers: returning would let the kernel
             * write into freed memory. Only a broken ring gets here, repeatedly. */
            if (++errors > MAX_SUBMIT_ERRORS) {
                fprintf(stderr, "strata io: io_uring_enter keeps failing (%s)\n", strerror(-rc));
                abort();
            }
        } else {
            errors = 0;
        }
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(ring, head, cqe) {
            st_io_op *op = io_uring_cqe_get_data(cqe);
            seen++;
            inflight--;
            if (st_io_op_reap(op, cqe->res)) {
                left--;
            } else {
                q[(qhead + qlen) % n] = op;
                qlen++;
            }
        }
        io_uring_cq_advance(ring, seen);
    }
    if (q != stackq) free(q);
    for (size_t i = 0; i < n && !*rc_out; i++) *rc_out = ops[i].rc;
    return true;
}
