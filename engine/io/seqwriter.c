/* seqwriter.c -- st_seqwriter: writes a new table file front to back in large aligned chunks.
 * Appends fill one of max_in_flight + 1 aligned staging buffers; a full buffer becomes one write
 * at the next chunk offset, submitted on the writer's own small ring (its writes outlive a call,
 * so they can't use the thread ring, which is empty between calls) while appends fill the next
 * buffer. Finish writes the tail zero-padded to the alignment, waits for every write, then
 * ftruncates to the exact size (which also drops the unused preallocation) and fdatasyncs.
 * Preallocation uses fallocate mode 0: writes then land inside i_size, which lets ext4 run
 * aligned direct writes in parallel instead of serialising them as appends.
 * Buffered writers (and the POSIX backend, or no ring) write each chunk synchronously.
 * W1: buffer i is busy exactly while ops[i] is in flight; at most max_in_flight are busy.
 * W2: chunks go to consecutive offsets; every chunk but the last is chunk bytes long. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_IN_FLIGHT 4u
#define MAX_IN_FLIGHT 64u
#define BUF_ALIGN 4096u
#define MAX_WAIT_ERRORS 1000

struct st_seqwriter {
    st_file *f;
    uint32_t align;     /* tail padding; 1 when buffered */
    size_t chunk;       /* a multiple of BUF_ALIGN and of align */
    unsigned nbuf;      /* max_in_flight + 1 */
    char *mem;          /* nbuf * chunk bytes, BUF_ALIGN-aligned */
    st_io_op *ops;      /* ops[i] writes buffer i */
    bool *busy;
    unsigned cur;       /* buffer being filled */
    size_t fill;        /* bytes in it */
    uint64_t size;      /* bytes appended */
    uint64_t next_off;  /* file offset of the buffer being filled */
    struct io_uring ring;
    bool has_ring;
    unsigned inflight;
    int err;            /* sticky (S1) */
    bool finished;      /* finish succeeded */
    bool committed;     /* renamed to its final path */
};

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static int poison(st_seqwriter *w, int rc) {
    if (!w->err) w->err = rc;
    return w->err;
}

/* op (in flight) is complete: free its buffer. */
static void settle(st_seqwriter *w, st_io_op *op) {
    w->busy[op - w->ops] = false;
    w->inflight--;
    if (op->rc) poison(w, op->rc);
}

/* Queues op on the writer's ring and submits it; submission errors are retried by reap(). */
static void push(st_seqwriter *w, st_io_op *op) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe) { /* cannot happen while inflight <= ring entries; submit pending and retry once */
        io_uring_submit(&w->ring);
        sqe = io_uring_get_sqe(&w->ring);
    }
    if (!sqe) { /* do this one synchronously: no completion will come for it */
        st_io_posix_run(op);
        settle(w, op);
        return;
    }
    st_io_op_prep(sqe, op);
    io_uring_submit(&w->ring);
}

/* Waits for at least one completion (all of them when all is true) and settles them. */
static void reap(st_seqwriter *w, bool all) {
    int errors = 0;
    while (w->inflight > 0) {
        int rc = io_uring_submit_and_wait(&w->ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY && ++errors > MAX_WAIT_ERRORS) {
            /* In-flight writes still use our buffers: freeing them would corrupt memory. */
            fprintf(stderr, "strata io: seqwriter ring keeps failing (%s)\n", strerror(-rc));
            abort();
        }
        unsigned head, seen = 0, done = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&w->ring, head, cqe) {
            st_io_op *op = io_uring_cqe_get_data(cqe);
            seen++;
            if (st_io_op_reap(op, cqe->res)) {
                settle(w, op);
                done++;
            } else {
                push(w, op);
            }
        }
        io_uring_cq_advance(&w->ring, seen);
        if (done && !all) return;
    }
}

/* Writes buffer cur (len bytes, already padded) at next_off and moves to a free buffer. */
static int submit_cur(st_seqwriter *w, size_t len) {
    int rc = st_io_fault_check(ST_FAULT_WRITE, w->f->path, NULL);
    if (rc) return poison(w, rc);
    st_io_op *op = &w->ops[w->cur];
    *op = (st_io_op){.fd = w->f->fd, .kind = ST_IO_WRITE, .align = w->align,
                     .buf = w->mem + (size_t)w->cur * w->chunk, .len = len, .off = w->next_off};
    st_io_pl_write(w->f, w->next_off, len);
    w->next_off += len;
    w->fill = 0;
    if (w->has_ring) {
        while (w->inflight >= w->nbuf - 1) reap(w, false); /* W1: reap returns after >= 1 */
        w->busy[w->cur] = true;
        w->inflight++;
        push(w, op);
    } else {
        if ((rc = st_io_run(op, 1)) != 0) return poison(w, rc);
    }
    /* Next buffer: by W1 at least one of the nbuf is free. */
    for (unsigned i = 0; i < w->nbuf; i++) {
        if (!w->busy[i]) {
            w->cur = i;
            return w->err;
        }
    }
    return poison(w, -EIO); /* unreachable by W1 */
}

int st_seqwriter_open(const char *tmp_path, const st_seqwriter_options *opts, st_seqwriter **out) {
    *out = NULL;
    st_seqwriter_options o = opts ? *opts : (st_seqwriter_options){0};
    unsigned inflight = o.max_in_flight ? o.max_in_flight : DEFAULT_IN_FLIGHT;
    if (inflight > MAX_IN_FLIGHT) inflight = MAX_IN_FLIGHT;
    st_seqwriter *w = calloc(1, sizeof *w);
    if (!w) return -ENOMEM;
    int flags = ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC | (o.direct ? ST_OPEN_DIRECT : 0);
    int rc = st_file_open(tmp_path, flags, &w->f);
    if (rc) {
        free(w);
        return rc;
    }
    w->align = w->f->align;
    size_t unit = w->align > BUF_ALIGN ? w->align : BUF_ALIGN;
    w->chunk = round_up(o.chunk_bytes ? o.chunk_bytes : DEFAULT_CHUNK, unit);
    w->nbuf = inflight + 1;
    w->mem = st_io_aligned_alloc((size_t)w->nbuf * w->chunk, unit);
    w->ops = calloc(w->nbuf, sizeof *w->ops);
    w->busy = calloc(w->nbuf, sizeof *w->busy);
    if (!w->mem || !w->ops || !w->busy) {
        rc = -ENOMEM;
        goto fail;
    }
    if (o.prealloc_bytes) {
        st_io_pl_resized(w->f, o.prealloc_bytes, true);
        if (fallocate(w->f->fd, 0, 0, (off_t)o.prealloc_bytes) < 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
            rc = -errno; /* ENOSPC now rather than halfway through the file */
            goto fail;
        }
    }
    /* Only direct writes gain from being in flight together: buffered ones are memcpys into the
     * page cache, which io_uring would just punt to kernel workers that contend for the inode
     * lock. No SINGLE_ISSUER: a writer may move between threads. */
    if (st_io_backend_get() == ST_IO_URING && st_io_ring_for(w->f) &&
        st_io_ring_setup(&w->ring, inflight, false) == 0)
        w->has_ring = true;
    *out = w;
    return 0;
fail:
    st_seqwriter_abort(w);
    return rc;
}

int st_seqwriter_append(st_seqwriter *w, const void *data, size_t n) {
    if (w->err) return w->err;
    if (w->finished) return -EINVAL;
    const char *p = data;
    while (n > 0) {
        size_t take = w->chunk - w->fill;
        if (take > n) take = n;
        memcpy(w->mem + (size_t)w->cur * w->chunk + w->fill, p, take);
        w->fill += take;
        w->size += take;
        p += take;
        n -= take;
        if (w->fill == w->chunk) {
            int rc = submit_cur(w, w->chunk);
            if (rc) return rc;
        }
    }
    return 0;
}

uint64_t st_seqwriter_size(const st_seqwriter *w) { return w->size; }

bool st_seqwriter_is_direct(const st_seqwriter *w) { return w->f->direct; }

int st_seqwriter_finish(st_seqwriter *w) {
    if (w->err) return w->err;
    if (w->finished) return 0;
    if (w->fill > 0) {
        size_t len = round_up(w->fill, w->align);
        memset(w->mem + (size_t)w->cur * w->chunk + w->fill, 0, len - w->fill);
        int rc = submit_cur(w, len);
        if (rc) return rc;
    }
    if (w->has_ring) reap(w, true);
    if (w->err) return w->err;
    int rc = st_file_truncate(w->f, w->size);
    if (rc == 0) rc = st_file_sync(w->f);
    if (rc) return poison(w, rc);
    w->finished = true;
    return 0;
}

int st_seqwriter_commit(st_seqwriter *w, const char *final_path) {
    int rc = st_seqwriter_finish(w);
    if (rc) return rc;
    if (w->committed) return -EINVAL;
    if ((rc = st_io_rename(w->f->path, final_path)) != 0) return poison(w, rc);
    w->committed = true;
    char dir[PATH_MAX];
    st_io_dirname(final_path, dir, sizeof dir);
    if ((rc = st_io_sync_dir(dir)) != 0) return poison(w, rc);
    return 0;
}

/* Frees w; unlinks the temp file when `unlink_tmp` and it was not renamed away. */
static int release(st_seqwriter *w, bool unlink_tmp) {
    if (w->has_ring) {
        reap(w, true); /* no write may still target our buffers */
        io_uring_queue_exit(&w->ring);
    }
    int rc = 0;
    if (w->f) {
        if (unlink_tmp && !w->committed) st_io_unlink(w->f->path);
        rc = st_file_close(w->f);
    }
    free(w->mem);
    free(w->ops);
    free(w->busy);
    free(w);
    return rc;
}

void st_seqwriter_abort(st_seqwriter *w) {
    if (w) release(w, true);
}

int st_seqwriter_close(st_seqwriter *w) {
    if (!w) return 0;
    return release(w, !w->finished || w->err);
}
