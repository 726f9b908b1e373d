/* db_iter.c -- the user-key iterator; see db_iter.h.
 *
 * Position invariant: when valid, the internal iterator sits on the newest visible PUT of the
 * current user key, whose bytes are also copied to `cur` (the internal iterator moves on in
 * next(), so the key we skip past must outlive it). */
#include "db_iter.h"

#include <stdlib.h>

#include "util/coding.h"
#include "util/err.h"
#include "util/ikey.h"

typedef struct db_iter {
    st_iter base;
    st_iter *in;
    uint64_t snap;
    st_buf lower, upper, cur, seek_key;
    bool has_lower, has_upper, valid;
    int status;
    st_release_fn release;
    void *release_arg;
} db_iter;

/* Advances `in` to the next visible PUT, skipping versions of `skip` (if given) and of deleted
 * keys. */
static void find_next(db_iter *d, bool skipping) {
    d->valid = false;
    while (st_iter_valid(d->in)) {
        st_ikey_parts p;
        if (!st_ikey_parse(st_iter_key(d->in), &p)) {
            d->status = st_err(ST_ECORRUPT, "iterator met a malformed internal key");
            return;
        }
        if (p.seq <= d->snap && !(skipping && st_slice_cmp(p.ukey, st_buf_slice(&d->cur)) == 0)) {
            if (d->has_upper && st_slice_cmp(p.ukey, st_buf_slice(&d->upper)) >= 0) return;
            if (p.kind == ST_KIND_DEL) {
                /* hide every older version of this key */
                st_buf_clear(&d->cur);
                if (st_buf_append(&d->cur, p.ukey.data, p.ukey.len)) {
                    d->status = ST_ENOMEM;
                    return;
                }
                skipping = true;
            } else {
                st_buf_clear(&d->cur);
                if (st_buf_append(&d->cur, p.ukey.data, p.ukey.len)) {
                    d->status = ST_ENOMEM;
                    return;
                }
                d->valid = true;
                return;
            }
        }
        st_iter_next(d->in);
    }
    if (!d->status) d->status = st_iter_status(d->in);
}

static void seek_user(db_iter *d, st_slice ukey) {
    d->status = 0;
    st_buf_clear(&d->seek_key);
    if (st_ikey_append(&d->seek_key, ukey, d->snap, ST_KIND_SEEK)) {
        d->status = ST_ENOMEM;
        d->valid = false;
        return;
    }
    st_iter_seek(d->in, st_buf_slice(&d->seek_key));
    find_next(d, false);
}

static void d_seek_first(st_iter *it) {
    db_iter *d = (db_iter *)it;
    if (d->has_lower) {
        seek_user(d, st_buf_slice(&d->lower));
    } else {
        d->status = 0;
        st_iter_seek_first(d->in);
        find_next(d, false);
    }
}

static void d_seek(st_iter *it, st_slice target) {
    db_iter *d = (db_iter *)it;
    if (d->has_lower && st_slice_cmp(target, st_buf_slice(&d->lower)) < 0) target = st_buf_slice(&d->lower);
    seek_user(d, target);
}

static void d_next(st_iter *it) {
    db_iter *d = (db_iter *)it;
    st_iter_next(d->in);
    find_next(d, true);
}

static bool d_valid(const st_iter *it) {
    const db_iter *d = (const db_iter *)it;
    return d->valid && !d->status;
}
static st_slice d_key(const st_iter *it) { return st_buf_slice(&((const db_iter *)it)->cur); }
static st_slice d_value(const st_iter *it) { return st_iter_value(((const db_iter *)it)->in); }
static int d_status(const st_iter *it) { return ((const db_iter *)it)->status; }

static void d_destroy(st_iter *it) {
    db_iter *d = (db_iter *)it;
    st_iter_free(d->in);
    if (d->release) d->release(d->release_arg);
    st_buf_destroy(&d->lower);
    st_buf_destroy(&d->upper);
    st_buf_destroy(&d->cur);
    st_buf_destroy(&d->seek_key);
    free(d);
}

static const struct st_iter_ops db_iter_ops = {d_seek_first, d_seek, d_next, d_valid,
                                               d_key, d_value, d_status, d_destroy};

int st_db_iter_wrap(st_iter *internal, uint64_t snap_seq, st_slice lower, st_slice upper,
                    st_release_fn release, void *arg, st_iter **out) {
    *out = NULL;
    db_iter *d = calloc(1, sizeof *d);
    int rc = d ? 0 : ST_ENOMEM;
    if (d) {
        d->has_lower = lower.len > 0;
        d->has_upper = upper.len > 0;
        if (st_buf_append(&d->lower, lower.data, lower.len) || st_buf_append(&d->upper, upper.data, upper.len))
            rc = ST_ENOMEM;
    }
    if (rc) {
        if (d) {
            st_buf_destroy(&d->lower);
            st_buf_destroy(&d->upper);
            free(d);
        }
        st_iter_free(internal);
        if (release) release(arg);
        return rc;
    }
    d->base.ops = &db_iter_ops;
    d->in = internal;
    d->snap = snap_seq;
    d->release = release;
    d->release_arg = arg;
    *out = &d->base;
    return 0;
}
