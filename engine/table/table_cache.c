/* table_cache.c -- bounded open table files; contract and T1 in table_cache.h.
 *
 * The LRU is an st_block_cache keyed by (a fresh id per st_table_file, 0), each descriptor
 * charged 1 against a capacity of max_open_files; its pins are what keep a descriptor open
 * during a read, and its deleter closes it. Two reads that both miss open the file twice; the
 * second insert replaces the first, which closes once its read releases it. */
#include "table_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block_cache.h"
#include "util/err.h"

struct st_table_cache {
    st_block_cache *lru;
};

struct st_table_file {
    st_table_cache *tc; /* NULL: f is owned and always open */
    st_file *f;
    uint64_t id;
    int flags; /* to reopen it */
    char *path;
};

static void close_file(uint64_t id, uint64_t off, void *value) {
    (void)id;
    (void)off;
    st_file_close(value);
}

int st_table_cache_new(size_t max_open_files, st_table_cache **out) {
    *out = NULL;
    if (max_open_files == 0) return st_err(ST_EINVAL, "table cache: max_open_files must be at least 1");
    st_table_cache *tc = calloc(1, sizeof *tc);
    if (!tc) return st_err(ST_ENOMEM, "table cache: out of memory");
    /* a few shards for concurrency, each still holding a useful number of files */
    int bits = max_open_files >= 256 ? 3 : 0;
    int rc = st_block_cache_new(max_open_files, bits, 0.0, &tc->lru);
    if (rc) {
        free(tc);
        return rc;
    }
    *out = tc;
    return 0;
}

void st_table_cache_free(st_table_cache *tc) {
    if (!tc) return;
    st_block_cache_free(tc->lru);
    free(tc);
}

size_t st_table_cache_open_files(st_table_cache *tc) {
    st_cache_stats s;
    st_block_cache_stats(tc->lru, &s);
    return (size_t)s.usage_bytes; /* one unit per descriptor, pinned ones included */
}

int st_table_file_new(st_table_cache *tc, st_file *f, st_table_file **out) {
    *out = NULL;
    st_table_file *tf = calloc(1, sizeof *tf);
    char *path = tf ? strdup(st_file_path(f)) : NULL;
    if (!path) {
        int rc = st_err(ST_ENOMEM, "table %s: out of memory", st_file_path(f));
        free(tf);
        st_file_close(f);
        return rc;
    }
    tf->tc = tc;
    tf->path = path;
    tf->flags = ST_OPEN_READ | (st_file_is_direct(f) ? ST_OPEN_DIRECT : 0);
    if (!tc) {
        tf->f = f;
    } else {
        tf->id = st_block_cache_new_id(tc->lru);
        /* unpinned: it may be evicted at once if the cache is full of busier files */
        if (st_block_cache_insert(tc->lru, tf->id, 0, f, 1, close_file, ST_CACHE_PRI_LOW, NULL))
            st_file_close(f); /* no memory to cache it: the next read opens it again */
    }
    *out = tf;
    return 0;
}

void st_table_file_close(st_table_file *tf) {
    if (!tf) return;
    if (tf->tc) st_block_cache_erase(tf->tc->lru, tf->id, 0);
    else st_file_close(tf->f);
    free(tf->path);
    free(tf);
}

int st_table_file_pread(st_table_file *tf, void *buf, size_t n, uint64_t off, size_t *nread) {
    st_table_pin pin;
    int rc = st_table_file_pin(tf, &pin);
    if (rc < 0) return rc;
    rc = st_file_pread(pin.f, buf, n, off, nread);
    st_table_file_unpin(tf, &pin);
    return rc;
}

int st_table_file_pin(st_table_file *tf, st_table_pin *p) {
    *p = (st_table_pin){NULL, NULL, false};
    if (!tf->tc) {
        p->f = tf->f;
        return 0;
    }
    st_block_cache *lru = tf->tc->lru;
    if (st_block_cache_lookup(lru, tf->id, 0, &p->h) != 0) {
        st_file *f;
        int rc = st_file_open(tf->path, tf->flags, &f);
        if (rc < 0) return rc;
        if (st_block_cache_insert(lru, tf->id, 0, f, 1, close_file, ST_CACHE_PRI_LOW, &p->h)) {
            p->f = f; /* no memory to cache it: it serves this pin only */
            p->owned = true;
            return 0;
        }
    }
    p->f = st_block_cache_value(p->h);
    return 0;
}

void st_table_file_unpin(st_table_file *tf, st_table_pin *p) {
    if (p->owned) st_file_close(p->f);
    else if (p->h) st_block_cache_release(tf->tc->lru, p->h);
    *p = (st_table_pin){NULL, NULL, false};
}

const char *st_table_file_path(const st_table_file *tf) { return tf->path; }

bool st_table_file_is_direct(const st_table_file *tf) { return tf->flags & ST_OPEN_DIRECT; }
