/* db_iter.c -- the user-key iterator; see db_iter.h.
 *
 * Forward (seek_first, seek, next): when valid, the internal iterator sits on the newest visible
 * PUT of the current user key, whose bytes are also copied to `cur` (the internal iterator moves
 * on in next(), so the key we skip past must outlive it); the value is the internal iterator's.
 * Backward (seek_last, seek_for_prev, prev): descending internal keys bring a user key's versions
 * oldest first, so its newest visible version is only known once the walk has left the key.
 * When valid, the internal iterator therefore sits on the last entry before every version of the
 * current key (or is exhausted), and key and value are copies in `cur` and `val` (find_prev).
 * Turning around: prev after next steps the internal iterator back over the current key's newer,
 * invisible versions and continues as prev; next after prev steps it onto the current key's
 * versions, which find_next then skips as it skips older versions.
 * Many versions of one key (a counter rewritten thousands of times while it sits in a memtable):
 * stepping over them one by one would make every move past that key O(versions). After
 * ST_ITER_MAX_SKIP steps inside one key's versions, both directions seek instead (as RocksDB's
 * max_sequential_skip_in_iterations): forward to after the key's versions, or to its newest
 * visible one; backward to its newest visible version, read directly, then to before them all. */
#include "db_iter.h"

#include <stdlib.h>

#include "util/coding.h"
#include "util/err.h"
#include "util/ikey.h"

#define ST_ITER_MAX_SKIP 8

typedef struct db_iter {
    st_iter base;
    st_iter *in;
    uint64_t snap;
    st_buf lower, upper, cur, val, seek_key; /* val: the current value, moving backward only */
    st_buf skip_key;                          /* the key whose versions find_prev steps over */
    bool has_lower, has_upper, valid;
    bool backward; /* positioned by seek_last/seek_for_prev or moved by prev (see the top) */
    int status;
    st_release_fn release;
    void *release_arg;
} db_iter;

static int set_buf(st_buf *b, st_slice s) {
    st_buf_clear(b);
    return st_buf_append(b, s.data, s.len);
}

/* Advances `in` to the next visible PUT, skipping versions of `skip` (if given) and of deleted
 * keys. */
/* Repositions `in` on the first internal key >= (ukey, seq, kind). */
static bool reseek(db_iter *d, st_slice ukey, uint64_t seq, int kind, bool backward) {
    st_buf_clear(&d->seek_key);
    if (st_ikey_append(&d->seek_key, ukey, seq, kind)) {
        d->status = ST_ENOMEM;
        return false;
    }
    if (backward) st_iter_seek_for_prev(d->in, st_buf_slice(&d->seek_key));
    else st_iter_seek(d->in, st_buf_slice(&d->seek_key));
    return true;
}

/* Forward past the current entry to (ukey, seq, kind), which sorts after it. */
static bool skip_to(db_iter *d, st_slice ukey, uint64_t seq, int kind) {
    st_buf_clear(&d->seek_key);
    if (st_ikey_append(&d->seek_key, ukey, seq, kind)) {
        d->status = ST_ENOMEM;
        return false;
    }
    st_iter_seek_forward(d->in, st_buf_slice(&d->seek_key));
    return true;
}

static void find_next(db_iter *d, bool skipping) {
    d->valid = false;
    unsigned run = 0; /* versions of one key stepped over in a row (of cur, or of skip_key) */
    while (st_iter_valid(d->in)) {
        st_ikey_parts p;
        if (!st_ikey_parse(st_iter_key(d->in), &p)) {
            d->status = st_err(ST_ECORRUPT, "iterator met a malformed internal key");
            return;
        }
        bool older = skipping && st_slice_cmp(p.ukey, st_buf_slice(&d->cur)) == 0;
        if (!older && p.seq > d->snap) {
            /* versions newer than the snapshot: counted per key, so that a run of keys with one
             * such version each never seeks */
            if (run && st_slice_cmp(p.ukey, st_buf_slice(&d->skip_key)) == 0) {
                run++;
            } else {
                if (set_buf(&d->skip_key, p.ukey)) {
                    d->status = ST_ENOMEM;
                    return;
                }
                run = 1;
            }
        } else if (older) {
            run++;
        }
        if (p.seq > d->snap || older) {
            if (run > ST_ITER_MAX_SKIP) {
                /* older: past every version of cur (tag 0 sorts after them all); newer than the
                 * snapshot: to this key's newest visible version */
                run = 0;
                if (!(older ? skip_to(d, st_buf_slice(&d->cur), 0, 0) : skip_to(d, p.ukey, d->snap, ST_KIND_SEEK)))
                    return;
                continue;
            }
        } else {
            if (d->has_upper && st_slice_cmp(p.ukey, st_buf_slice(&d->upper)) >= 0) return;
            if (p.kind == ST_KIND_DEL) {
                /* hide every older version of this key */
                st_buf_clear(&d->cur);
                if (st_buf_append(&d->cur, p.ukey.data, p.ukey.len)) {
                    d->status = ST_ENOMEM;
                    return;
                }
                skipping = true;
                run = 0; /* counting this key's older versions from here */
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

/* Walks `in` backward to the greatest user key below its position (and not below `lower`) whose
 * newest visible version is a PUT: copies that key and value to cur and val and leaves `in` on
 * the entry before the key's versions. Each visible version met replaces the one before it (a
 * DEL leaves no candidate), so when the user key changes the candidate is the newest. */
static void find_prev(db_iter *d) {
    bool have = false; /* cur and val hold a visible PUT of the user key being read */
    unsigned run = 0;  /* entries of skip_key read in a row */
    d->valid = false;
    st_buf_clear(&d->skip_key);
    while (st_iter_valid(d->in)) {
        st_ikey_parts p;
        if (!st_ikey_parse(st_iter_key(d->in), &p)) {
            d->status = st_err(ST_ECORRUPT, "iterator met a malformed internal key");
            return;
        }
        if (have && st_slice_cmp(p.ukey, st_buf_slice(&d->cur)) < 0) break;
        if (d->has_lower && st_slice_cmp(p.ukey, st_buf_slice(&d->lower)) < 0) break;
        if (run && st_slice_cmp(p.ukey, st_buf_slice(&d->skip_key)) == 0) {
            if (++run > ST_ITER_MAX_SKIP) {
                /* many versions: read the newest visible one with a forward seek, then go to
                 * before them all ((key, max, SEEK) sorts before every version) */
                if (!reseek(d, p.ukey, d->snap, ST_KIND_SEEK, false)) return;
                st_ikey_parts q;
                have = false;
                if (st_iter_valid(d->in) && st_ikey_parse(st_iter_key(d->in), &q) &&
                    st_slice_cmp(q.ukey, st_buf_slice(&d->skip_key)) == 0 && q.kind == ST_KIND_PUT) {
                    if (set_buf(&d->cur, q.ukey) || set_buf(&d->val, st_iter_value(d->in))) {
                        d->status = ST_ENOMEM;
                        return;
                    }
                    have = true;
                }
                if (!st_iter_valid(d->in) && st_iter_status(d->in)) {
                    d->status = st_iter_status(d->in);
                    return;
                }
                if (!reseek(d, st_buf_slice(&d->skip_key), ST_SEQ_MAX, ST_KIND_SEEK, true)) return;
                run = 0;
                continue;
            }
        } else {
            if (set_buf(&d->skip_key, p.ukey)) {
                d->status = ST_ENOMEM;
                return;
            }
            run = 1;
        }
        if (p.seq <= d->snap) {
            if (p.kind == ST_KIND_DEL) {
                have = false;
            } else {
                if (set_buf(&d->cur, p.ukey) || set_buf(&d->val, st_iter_value(d->in))) {
                    d->status = ST_ENOMEM;
                    return;
                }
                have = true;
            }
        }
        st_iter_prev(d->in);
    }
    if (!st_iter_valid(d->in) && !d->status) d->status = st_iter_status(d->in);
    d->valid = have;
}

/* Positions `in` with seek (forward) or seek_for_prev (backward) on (ukey, seq, kind). */
static bool seek_internal(db_iter *d, st_slice ukey, uint64_t seq, int kind, bool backward) {
    d->status = 0;
    d->backward = backward;
    st_buf_clear(&d->seek_key);
    if (st_ikey_append(&d->seek_key, ukey, seq, kind)) {
        d->status = ST_ENOMEM;
        d->valid = false;
        return false;
    }
    if (backward) st_iter_seek_for_prev(d->in, st_buf_slice(&d->seek_key));
    else st_iter_seek(d->in, st_buf_slice(&d->seek_key));
    return true;
}

static void seek_user(db_iter *d, st_slice ukey) {
    if (seek_internal(d, ukey, d->snap, ST_KIND_SEEK, false)) find_next(d, false);
}

static void d_seek_first(st_iter *it) {
    db_iter *d = (db_iter *)it;
    if (d->has_lower) {
        seek_user(d, st_buf_slice(&d->lower));
    } else {
        d->status = 0;
        d->backward = false;
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
    if (d->backward) {
        /* `in` is before every version of cur, or exhausted when nothing precedes them */
        d->backward = false;
        if (st_iter_valid(d->in)) st_iter_next(d->in);
        else st_iter_seek_first(d->in);
    } else {
        st_iter_next(d->in);
    }
    find_next(d, true);
}

/* (upper, ST_SEQ_MAX, SEEK) sorts before every version of upper: the last internal key <= it is
 * the last entry below the range. */
static void d_seek_last(st_iter *it) {
    db_iter *d = (db_iter *)it;
    if (d->has_upper) {
        if (seek_internal(d, st_buf_slice(&d->upper), ST_SEQ_MAX, ST_KIND_SEEK, true)) find_prev(d);
    } else {
        d->status = 0;
        d->backward = true;
        st_iter_seek_last(d->in);
        find_prev(d);
    }
}

/* (target, 0, 0): tag 0 sorts after every stored version of target, so the last internal key
 * <= it is target's oldest version, or the last entry of a smaller key. */
static void d_seek_for_prev(st_iter *it, st_slice target) {
    db_iter *d = (db_iter *)it;
    if (d->has_upper && st_slice_cmp(target, st_buf_slice(&d->upper)) >= 0) {
        d_seek_last(it);
        return;
    }
    if (seek_internal(d, target, 0, 0, true)) find_prev(d);
}

/* True when `in` is on a version of the user key in cur. */
static bool on_cur(const db_iter *d) {
    st_slice k = st_iter_key(d->in);
    return k.len >= ST_IKEY_TAG_BYTES && st_slice_cmp(st_ikey_user(k), st_buf_slice(&d->cur)) == 0;
}

static void d_prev(st_iter *it) {
    db_iter *d = (db_iter *)it;
    if (!d->backward) {
        /* `in` is on cur's newest visible version: the entries before it that are still cur's
         * are newer, invisible versions. Step back past them. */
        d->backward = true;
        do st_iter_prev(d->in);
        while (st_iter_valid(d->in) && on_cur(d));
    }
    find_prev(d);
}

static bool d_valid(const st_iter *it) {
    const db_iter *d = (const db_iter *)it;
    return d->valid && !d->status;
}
static st_slice d_key(const st_iter *it) { return st_buf_slice(&((const db_iter *)it)->cur); }
static st_slice d_value(const st_iter *it) {
    const db_iter *d = (const db_iter *)it;
    return d->backward ? st_buf_slice(&d->val) : st_iter_value(d->in);
}
static int d_status(const st_iter *it) { return ((const db_iter *)it)->status; }

static void d_destroy(st_iter *it) {
    db_iter *d = (db_iter *)it;
    st_iter_free(d->in);
    if (d->release) d->release(d->release_arg);
    st_buf_destroy(&d->lower);
    st_buf_destroy(&d->upper);
    st_buf_destroy(&d->cur);
    st_buf_destroy(&d->val);
    st_buf_destroy(&d->seek_key);
    st_buf_destroy(&d->skip_key);
    free(d);
}

static const struct st_iter_ops db_iter_ops = {
    .seek_first = d_seek_first,
    .seek = d_seek,
    .next = d_next,
    .seek_last = d_seek_last,
    .seek_for_prev = d_seek_for_prev,
    .prev = d_prev,
    .valid = d_valid,
    .key = d_key,
    .value = d_value,
    .status = d_status,
    .destroy = d_destroy,
};

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
