/* st_iter.h -- byte slices and the one iterator interface.
 *
 * Every iterator in Strata (memtable, block, sstable, merge, and the public db iterator) is a
 * struct whose first member is `st_iter`, dispatching through st_iter_ops. Keys and values
 * returned are views valid until the iterator next moves or is freed.
 * Iterators move both ways (RocksDB semantics): seek_first/seek/next walk keys ascending,
 * seek_last/seek_for_prev/prev descending, and next and prev may be mixed freely, in any order,
 * on any valid iterator. A backward step costs about what a forward one does, except in a
 * memtable (a skiplist search, O(log n)); a change of direction repositions every child of a
 * merging iterator (one seek each).
 * On an I/O or checksum error an iterator becomes invalid and reports through status(), in
 * either direction; it never yields a wrong key. Every positioning call (seek_first, seek,
 * seek_last, seek_for_prev) clears the status before it moves. */
#ifndef STRATA_ST_ITER_H
#define STRATA_ST_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A view of bytes owned by someone else. */
typedef struct st_slice {
    const uint8_t *data;
    size_t len;
} st_slice;

static inline st_slice st_slice_make(const void *p, size_t n) {
    st_slice s = {(const uint8_t *)p, n};
    return s;
}
static inline st_slice st_slice_str(const char *z) { return st_slice_make(z, z ? strlen(z) : 0); }

/* Bytewise comparison: <0, 0, >0. */
static inline int st_slice_cmp(st_slice a, st_slice b) {
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.data, b.data, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

typedef struct st_iter st_iter;

struct st_iter_ops {
    void (*seek_first)(st_iter *it);                     /* the first key */
    void (*seek)(st_iter *it, st_slice target);          /* first key >= target */
    void (*next)(st_iter *it);                           /* REQUIRES: valid */
    void (*seek_last)(st_iter *it);                      /* the last key */
    void (*seek_for_prev)(st_iter *it, st_slice target); /* last key <= target */
    void (*prev)(st_iter *it);                           /* REQUIRES: valid */
    bool (*valid)(const st_iter *it);
    st_slice (*key)(const st_iter *it);                  /* REQUIRES: valid; view until the next move */
    st_slice (*value)(const st_iter *it);                /* REQUIRES: valid; view until the next move */
    int (*status)(const st_iter *it);                    /* 0 or a sticky ST_E* code */
    void (*destroy)(st_iter *it);
    /* Optional (NULL: seek): as seek, for a target at or after the current key of an iterator
     * moving forward, so that an implementation may keep what is already past the target (a
     * merge repositions only the children behind it). */
    void (*seek_forward)(st_iter *it, st_slice target);
};

struct st_iter {
    const struct st_iter_ops *ops;
};

static inline void st_iter_seek_first(st_iter *it) { it->ops->seek_first(it); }
static inline void st_iter_seek(st_iter *it, st_slice t) { it->ops->seek(it, t); }
static inline void st_iter_next(st_iter *it) { it->ops->next(it); }
static inline void st_iter_seek_forward(st_iter *it, st_slice t) {
    if (it->ops->seek_forward) it->ops->seek_forward(it, t);
    else it->ops->seek(it, t);
}
static inline void st_iter_seek_last(st_iter *it) { it->ops->seek_last(it); }
static inline void st_iter_seek_for_prev(st_iter *it, st_slice t) { it->ops->seek_for_prev(it, t); }
static inline void st_iter_prev(st_iter *it) { it->ops->prev(it); }
static inline bool st_iter_valid(const st_iter *it) { return it->ops->valid(it); }
static inline st_slice st_iter_key(const st_iter *it) { return it->ops->key(it); }
static inline st_slice st_iter_value(const st_iter *it) { return it->ops->value(it); }
static inline int st_iter_status(const st_iter *it) { return it->ops->status(it); }
/* NULL-safe. */
static inline void st_iter_free(st_iter *it) {
    if (it) it->ops->destroy(it);
}

#ifdef __cplusplus
}
#endif
#endif
