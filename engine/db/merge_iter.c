/* merge_iter.c -- a binary min-heap of valid children keyed by their current internal key.
 *
 * Invariant: heap[0..n_heap) holds exactly the valid children, heap-ordered; the merged position
 * is heap[0]. next() advances heap[0] and sifts it down: O(log n) per step. */
#include "merge_iter.h"

#include <stdlib.h>

#include "util/err.h"
#include "util/ikey.h"

typedef struct merge_iter {
    st_iter base;
    st_iter **child;
    size_t n;
    st_iter **heap;
    size_t n_heap;
    int status;
} merge_iter;

static bool less(st_iter *a, st_iter *b) { return st_ikey_cmp(st_iter_key(a), st_iter_key(b)) < 0; }

static void sift_down(merge_iter *m, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->n_heap && less(m->heap[l], m->heap[s])) s = l;
        if (r < m->n_heap && less(m->heap[r], m->heap[s])) s = r;
        if (s == i) return;
        st_iter *t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

/* Rebuilds the heap from the children's positions; records the first child error. */
static void rebuild(merge_iter *m) {
    m->n_heap = 0;
    for (size_t i = 0; i < m->n; i++) {
        st_iter *c = m->child[i];
        if (st_iter_valid(c)) m->heap[m->n_heap++] = c;
        else if (!m->status) m->status = st_iter_status(c);
    }
    for (size_t i = m->n_heap / 2; i-- > 0;) sift_down(m, i);
}

static void m_seek_first(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    for (size_t i = 0; i < m->n; i++) st_iter_seek_first(m->child[i]);
    rebuild(m);
}

static void m_seek(st_iter *it, st_slice target) {
    merge_iter *m = (merge_iter *)it;
    m->status = 0;
    for (size_t i = 0; i < m->n; i++) st_iter_seek(m->child[i], target);
    rebuild(m);
}

static void m_next(st_iter *it) {
    merge_iter *m = (merge_iter *)it;
    st_iter *top = m->heap[0];
    st_iter_next(top);
    if (!st_iter_valid(top)) {
        int rc = st_iter_status(top);
        if (rc) {
            m->status = rc;
            m->n_heap = 0;
            return;
        }
        m->heap[0] = m->heap[--m->n_heap];
    }
    if (m->n_heap) sift_down(m, 0);
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

static const struct st_iter_ops merge_ops = {m_seek_first, m_seek, m_next, m_valid,
                                             m_key, m_value, m_status, m_destroy};

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
