/* merge_iter.c -- a binary heap of valid children keyed by their current internal key.
 *
 * Invariant: heap[0..n_heap) holds exactly the valid children, heap-ordered for the direction the
 * iterator moves in (a min-heap forward, a max-heap backward); the merged position is heap[0].
 * next()/prev() step heap[0] and sift it down: O(log n) per step.
 * Turning around (LevelDB's MergingIterator): moving forward, every child other than heap[0] sits
 * on its first key after the current one, and prev needs them on their last key before it (and
 * the reverse for next after prev). So a change of direction repositions each of those children
 * with one seek_for_prev (or seek) to the current key, steps heap[0], and rebuilds the heap the
 * other way: O(n) seeks once per turn, then O(log n) per step again. */
#include "merge_iter.h"

#include <stdlib.h>

#include "util/err.h"
#include "util/ikey.h"

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

typedef struct merge_iter {
    st_iter base;
    st_iter **child;
    size_t n;
    st_iter **heap;
    size_t n_heap;
    bool backward; /* heap is a max-heap: positioned by seek_last/seek_for_prev or moved by prev */
    int status;
} merge_iter;

/* a comes out of the merge before b in this direction */
static ALWAYS_INLINE bool before(st_iter *a, st_iter *b, bool backward) {
    int c = st_ikey_cmp(st_iter_key(a), st_iter_key(b));
    return backward ? c > 0 : c < 0;
}

static ALWAYS_INLINE void sift_down_dir(merge_iter *m, size_t i, bool backward) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->n_heap && before(m->heap[l], m->heap[s], backward)) s = l;
        if (r < m->n_heap && before(m->heap[r], m->heap[s], backward)) s = r;
        if (s == i) return;
        st_iter *t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

/* Rebuilds the heap from the children's positions for m->backward; records the first child
 * error. */
static void rebuild(merge_iter *m) {
    m->n_heap = 0;
    for (size_t i = 0; i < m->n; i++) {
        st_iter *c = m->child[i];
        if (st_iter_valid(c)) m->heap[m->n_heap++] = c;
        else if (!m->status) m->status = st_iter_status(c);
    }
    for (size_t i = m->n_heap / 2; i-- > 0;) {
        if (m->backward) sift_down_dir(m, i, true);
        else sift_down_dir(m, i, false);
    }
}

static void m_seek_first(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    m->backward = false;
    for (size_t i = 0; i < m->n; i++) st_iter_seek_first(m->child[i]);
    rebuild(m);
}

static void m_seek(st_iter *it, st_slice target) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    m->backward = false;
    for (size_t i = 0; i < m->n; i++) st_iter_seek(m->child[i], target);
    rebuild(m);
}

/* Moving forward, every child is on its first key after the merged position (the top on it), so
 * one whose key is already >= a target at or after that position is where a seek would put it:
 * only the children behind the target seek. (A key-versions skip in db_iter.c reseeks the one
 * child that holds the versions, not every table.) */
static void m_seek_forward(st_iter *it, st_slice target) {
    merge_iter *m = (merge_iter *)it;
    if (m->backward || m->status) {
        m_seek(it, target);
        return;
    }
    for (size_t i = 0; i < m->n; i++) {
        st_iter *c = m->child[i];
        if (st_iter_valid(c) && st_ikey_cmp(st_iter_key(c), target) < 0) st_iter_seek(c, target);
    }
    rebuild(m);
}

static void m_seek_last(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    m->backward = true;
    for (size_t i = 0; i < m->n; i++) st_iter_seek_last(m->child[i]);
    rebuild(m);
}

static void m_seek_for_prev(st_iter *it, st_slice target) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    m->backward = true;
    for (size_t i = 0; i < m->n; i++) st_iter_seek_for_prev(m->child[i], target);
    rebuild(m);
}

/* Steps heap[0] one entry in the heap's direction and restores the heap; a child error ends the
 * merge with its status. */
static ALWAYS_INLINE void step(merge_iter *m, bool backward) {
    st_iter *top = m->heap[0];
    if (backward) st_iter_prev(top);
    else st_iter_next(top);
    if (!st_iter_valid(top)) {
        int rc = st_iter_status(top);
        if (rc) {
            m->status = rc;
            m->n_heap = 0;
            return;
        }
        m->heap[0] = m->heap[--m->n_heap];
    }
    if (m->n_heap) sift_down_dir(m, 0, backward);
}

/* Changes direction (see the top of the file). The current key is a view into heap[0], which
 * therefore moves last. Keys are unique across children; a child that held the current key as
 * well would still be stepped past it, so a turn never lands on the key it started from. */
static void turn(merge_iter *m, bool backward) {
    st_iter *cur = m->heap[0];
    st_slice k = st_iter_key(cur);
    for (size_t i = 0; i < m->n; i++) {
        st_iter *c = m->child[i];
        if (c == cur) continue;
        if (backward) {
            st_iter_seek_for_prev(c, k);
            if (st_iter_valid(c) && st_ikey_cmp(st_iter_key(c), k) == 0) st_iter_prev(c);
        } else {
            st_iter_seek(c, k);
            if (st_iter_valid(c) && st_ikey_cmp(st_iter_key(c), k) == 0) st_iter_next(c);
        }
    }
    if (backward) st_iter_prev(cur);
    else st_iter_next(cur);
    m->backward = backward;
    rebuild(m);
}

static void m_next(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    if (m->backward) turn(m, false);
    else step(m, false);
}

static void m_prev(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    if (!m->backward) turn(m, true);
    else step(m, true);
}

static bool m_valid(const st_iter *it) {
    const merge_iter *m = (const merge_iter *)it;
    return m->status == 0 && m->n_heap > 0;
}
static st_slice m_key(const st_iter *it) { return st_iter_key(((const merge_iter *)it)->heap[0]); }
static st_slice m_value(const st_iter *it) { return st_iter_value(((const merge_iter *)it)->heap[0]); }
static int m_status(const st_iter *it) { return ((const merge_iter *)it)->status; }

static void m_destroy(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    for (size_t i = 0; i < m->n; i++) st_iter_free(m->child[i]);
    free(m->child);
    free(m->heap);
    free(m);
}

static const struct st_iter_ops merge_ops = {
    .seek_first = m_seek_first,
    .seek = m_seek,
    .next = m_next,
    .seek_last = m_seek_last,
    .seek_for_prev = m_seek_for_prev,
    .prev = m_prev,
    .valid = m_valid,
    .key = m_key,
    .value = m_value,
    .status = m_status,
    .destroy = m_destroy,
    .seek_forward = m_seek_forward,
};

int st_merge_iter_new(st_iter **children, size_t n, st_iter **out) {
    *out = NULL;
    merge_iter *m = calloc(1, sizeof *m);
    st_iter **heap = malloc((n ? n : 1) * sizeof *heap);
    if (!m || !heap) {
        for (size_t i = 0; i < n; i++) st_iter_free(children[i]);
        free(children);
        free(m);
        free(heap);
        return ST_ENOMEM;
    }
    m->base.ops = &merge_ops;
    m->child = children;
    m->n = n;
    m->heap = heap;
    *out = &m->base;
    return 0;
}
