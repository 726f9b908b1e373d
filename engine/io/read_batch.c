/* read_batch.c -- st_io_read_batch: many positioned reads, on io_uring submitted together (up to
 * the ring depth in flight) and reaped as they complete; on POSIX one after another.
 * Direct files: a request that is not aligned reads its covering aligned range into a slice of
 * one bounce arena shared by the batch, then the wanted bytes are copied out. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "io_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 4096u

static size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static bool needs_bounce(const st_io_req *r) { return !st_io_direct_ok(r->file, r->buf, r->len, r->off); }

/* Without memory for the batch: the requests one at a time. */
static int one_by_one(st_io_req *reqs, size_t n) {
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        reqs[i].rc = st_file_pread(reqs[i].file, reqs[i].buf, reqs[i].len, reqs[i].off, &reqs[i].nread);
        if (!first) first = reqs[i].rc;
    }
    return first;
}

int st_io_read_batch(st_io_req *reqs, size_t n) {
    size_t arena_bytes = 0, nops = 0;
    for (size_t i = 0; i < n; i++) {
        reqs[i].nread = 0;
        reqs[i].rc = 0;
        if (reqs[i].len == 0) continue;
        nops++;
        if (needs_bounce(&reqs[i])) {
            uint64_t start;
            size_t len;
            st_io_cover(reqs[i].off, reqs[i].len, reqs[i].file->align, &start, &len);
            arena_bytes += round_up(len, ARENA_ALIGN);
        }
    }
    if (nops == 0) return 0;
    st_io_op *ops = calloc(nops, sizeof *ops);
    size_t *which = malloc(nops * sizeof *which); /* ops[k] serves reqs[which[k]] */
    char *arena = arena_bytes ? st_io_aligned_alloc(arena_bytes, ARENA_ALIGN) : NULL;
    if (!ops || !which || (arena_bytes && !arena)) {
        free(ops);
        free(which);
        free(arena);
        return one_by_one(reqs, n);
    }
    size_t k = 0, arena_off = 0;
    for (size_t i = 0; i < n; i++) {
        st_io_req *r = &reqs[i];
        if (r->len == 0) continue;
        st_io_op *op = &ops[k];
        which[k++] = i;
        op->fd = r->file->fd;
        op->kind = ST_IO_READ;
        op->align = r->file->align;
        if (needs_bounce(r)) {
            st_io_cover(r->off, r->len, r->file->align, &op->off, &op->len);
            op->buf = arena + arena_off;
            arena_off += round_up(op->len, ARENA_ALIGN);
        } else {
            op->off = r->off;
            op->len = r->len;
            op->buf = r->buf;
        }
    }
    st_io_run(ops, nops);
    int first = 0;
    for (k = 0; k < nops; k++) {
        st_io_req *r = &reqs[which[k]];
        st_io_op *op = &ops[k];
        r->rc = op->rc;
        int frc = st_io_fault_check(ST_FAULT_READ, r->file->path, NULL);
        if (frc) { /* the read ran; its result is replaced, as if the device had failed it */
            r->rc = frc;
            continue;
        }
        if (op->rc == 0 && op->buf != r->buf) {
            size_t skip = (size_t)(r->off - op->off);
            size_t got = op->done > skip ? op->done - skip : 0;
            if (got > r->len) got = r->len;
            memcpy(r->buf, op->buf + skip, got);
            r->nread = got;
        } else if (op->rc == 0) {
            r->nread = op->done;
        }
    }
    for (size_t i = 0; i < n && !first; i++) first = reqs[i].rc;
    free(ops);
    free(which);
    free(arena);
    return first;
}
