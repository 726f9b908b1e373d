/* memtable.c -- see memtable.h for the entry layout and M1-M3.
 *
 * Two indexes over the same entries. The skiplist orders them for iterators (and flushes); its key
 * comparator orders an entry against an st_slice internal key, so seeks never build a fake entry.
 * Iterators go both ways; a backward step is a skiplist search (O(log n), skiplist.h).
 * Point lookups use a hash index instead: a skiplist search is ~30 dependent cache misses on a
 * big memtable, the hash chain one or two. Every entry starts with a `hnext` link; bucket
 * h(ukey) heads a chain of every entry whose user key hashes there, and a key's versions appear in
 * it newest first (M4, chain_insert). The first entry of the chain with the user key and
 * seq <= snap_seq is therefore the newest visible version. Chains are published like the
 * skiplist: fill the entry and its link, then release-store the link that points at it; readers
 * acquire-load. */
#include "memtable.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "skiplist.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/ikey.h"

struct st_memtable {
    _Atomic uint32_t refs;
    _Atomic uint64_t entries; /* entries linked so far */
    st_arena *arena;
    st_skiplist list;
    _Atomic(uint8_t *) *buckets; /* heads of the hash chains */
    size_t bucket_mask;
};

/* Bytes before an entry's encoding: its hash-chain link. */
#define HNEXT_BYTES sizeof(_Atomic(uint8_t *))

static inline _Atomic(uint8_t *) *entry_hnext(const uint8_t *e) { return (_Atomic(uint8_t *) *)(uintptr_t)e; }

/* Entries were written by us, so their varints are trusted: no limit checks, and the common
 * one-byte case inline. */
static inline const uint8_t *get_len(const uint8_t *p, uint32_t *n) {
    if (p[0] < 0x80) {
        *n = p[0];
        return p + 1;
    }
    return st_get_varint32(p, p + ST_VARINT32_MAX, n);
}

static inline st_slice entry_ikey(const uint8_t *e) {
    uint32_t n;
    e = get_len(e + HNEXT_BYTES, &n);
    return st_slice_make(e, n);
}

static inline st_slice entry_value(st_slice ikey) {
    uint32_t n;
    const uint8_t *p = get_len(ikey.data + ikey.len, &n);
    return st_slice_make(p, n);
}

static int entry_cmp(const uint8_t *a, const uint8_t *b) {
    return st_ikey_cmp(entry_ikey(a), entry_ikey(b));
}

static int entry_key_cmp(const uint8_t *entry, const void *ikey) {
    return st_ikey_cmp(entry_ikey(entry), *(const st_slice *)ikey);
}

int st_memtable_new(size_t arena_block_bytes, st_memtable **out) {
    *out = NULL;
    if (arena_block_bytes == 0) arena_block_bytes = ST_MEMTABLE_DEFAULT_BLOCK;
    st_memtable *m = malloc(sizeof *m);
    if (!m) return st_err(ST_ENOMEM, "memtable: out of memory");
    /* One bucket per 4 bytes of arena block: with the db's block of write_buffer/8 (at most 2 MiB),
     * a bucket per 32 bytes of a small memtable and 512 Ki buckets (4 MiB) for 64 MiB, about one
     * per entry of 128 bytes: chains of one or two. */
    size_t nb = 256;
    while (nb < arena_block_bytes / 4 && nb < ((size_t)1 << 24)) nb <<= 1;
    m->buckets = calloc(nb, sizeof *m->buckets);
    m->bucket_mask = nb - 1;
    int rc = m->buckets ? st_arena_new(arena_block_bytes, &m->arena) : st_err(ST_ENOMEM, "memtable: out of memory");
    if (rc == 0) rc = st_skiplist_init(&m->list, m->arena, entry_cmp, entry_key_cmp);
    if (rc < 0) {
        if (m->buckets) st_arena_free(m->arena);
        free(m->buckets);
        free(m);
        return rc;
    }
    atomic_init(&m->refs, 1);
    atomic_init(&m->entries, 0);
    *out = m;
    return 0;
}

void st_memtable_ref(st_memtable *m) { atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed); }

void st_memtable_unref(st_memtable *m) {
    if (!m) return;
    /* acq_rel: every holder's reads happen before the free. */
    uint32_t old = atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel);
    ST_ASSERT(old > 0);
    if (old > 1) return;
    st_arena_free(m->arena);
    free(m->buckets);
    free(m);
}

/* Links entry e (ukey, seq) into its hash chain so that the versions of ukey stay newest first
 * (M4): right after the last version newer than seq, or at the head when there is none. Entries
 * normally arrive in sequence order, so the walk stops at the first version of ukey it meets.
 * Concurrent adders: the link is compare-and-swapped from the value the walk saw in it; if another
 * adder changed that link meanwhile, the walk starts over (a version added elsewhere in the chain
 * cannot belong before e without going through the same link). */
static void chain_insert(st_memtable *m, uint8_t *e, st_slice ukey, uint64_t seq) {
    _Atomic(uint8_t *) *bucket = &m->buckets[st_hash64(ukey.data, ukey.len) & m->bucket_mask];
    for (;;) {
        _Atomic(uint8_t *) *at = bucket;
        uint8_t *at_next = atomic_load_explicit(at, memory_order_acquire);
        for (uint8_t *x = at_next; x; x = atomic_load_explicit(entry_hnext(x), memory_order_acquire)) {
            st_slice ik = entry_ikey(x);
            if (ik.len - ST_IKEY_TAG_BYTES != ukey.len || (ukey.len && memcmp(ik.data, ukey.data, ukey.len) != 0))
                continue;
            if ((st_get_fixed64(ik.data + ukey.len) >> 8) < seq) break;
            at = entry_hnext(x); /* a newer version of ukey: e goes after it */
            at_next = atomic_load_explicit(at, memory_order_acquire);
        }
        atomic_store_explicit(entry_hnext(e), at_next, memory_order_relaxed);
        /* release: publishes e's bytes to readers that reach it through this link */
        if (atomic_compare_exchange_strong_explicit(at, &at_next, e, memory_order_release, memory_order_relaxed))
            return;
    }
}

/* The skiplist height of the entry with sequence number seq: a hash of seq (splitmix64's
 * finaliser), so the reservation and the add agree without sharing any state. */
static int height_of(uint64_t seq) {
    uint64_t z = seq + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return st_skiplist_height_from(z ^ (z >> 31));
}

static inline size_t entry_bytes(size_t ukey_len, size_t value_len) {
    uint32_t ikey_len = (uint32_t)ukey_len + ST_IKEY_TAG_BYTES;
    return HNEXT_BYTES + (size_t)st_varint_len(ikey_len) + ikey_len + (size_t)st_varint_len(value_len) + value_len;
}

static int check_sizes(size_t ukey_len, size_t value_len) {
    if (ukey_len > UINT32_MAX - ST_IKEY_TAG_BYTES || value_len > UINT32_MAX)
        return st_err(ST_EINVAL, "memtable: key of %zu or value of %zu bytes is too large", ukey_len, value_len);
    return 0;
}

int st_memtable_add_bytes(uint64_t seq, size_t ukey_len, size_t value_len, size_t *out) {
    ST_TRY(check_sizes(ukey_len, value_len));
    *out = st_skiplist_node_bytes(height_of(seq), entry_bytes(ukey_len, value_len));
    return 0;
}

int st_memtable_reserve(st_memtable *m, size_t bytes, st_memtable_space *out) {
    out->p = NULL;
    out->left = 0;
    if (bytes == 0) return 0;
    uint8_t *p = st_arena_alloc(m->arena, bytes);
    if (!p) return st_err(ST_ENOMEM, "memtable: out of memory reserving %zu bytes", bytes);
    out->p = p;
    out->left = bytes;
    return 0;
}

int st_memtable_add_in(st_memtable *m, st_memtable_space *sp, uint64_t seq, int kind, st_slice ukey,
                       st_slice value) {
    ST_ASSERT(kind == ST_KIND_PUT || kind == ST_KIND_DEL);
    ST_ASSERT(seq <= ST_SEQ_MAX);
    ST_TRY(check_sizes(ukey.len, value.len));
    int height = height_of(seq);
    size_t need = st_skiplist_node_bytes(height, entry_bytes(ukey.len, value.len));
    if (need > sp->left)
        return st_err(ST_EINVAL, "memtable: add of %zu bytes overruns its reservation (%zu left)", need, sp->left);
    uint8_t *e = st_skiplist_node_place(sp->p, height);
    sp->p += need;
    sp->left -= need;

    uint32_t ikey_len = (uint32_t)ukey.len + ST_IKEY_TAG_BYTES;
    uint8_t *p = st_put_varint32(e + HNEXT_BYTES, ikey_len);
    if (ukey.len) memcpy(p, ukey.data, ukey.len);
    p += ukey.len;
    st_put_fixed64(p, st_ikey_tag(seq, kind));
    p = st_put_varint32(p + ST_IKEY_TAG_BYTES, (uint32_t)value.len);
    if (value.len) memcpy(p, value.data, value.len);

    /* The skiplist's release-CAS publishes the entry bytes written above; so does the chain's. */
    st_skiplist_link_placed(&m->list, e, height);
    chain_insert(m, e, ukey, seq);
    atomic_fetch_add_explicit(&m->entries, 1, memory_order_relaxed);
    return 0;
}

int st_memtable_add(st_memtable *m, uint64_t seq, int kind, st_slice ukey, st_slice value) {
    size_t need;
    st_memtable_space sp;
    ST_TRY(st_memtable_add_bytes(seq, ukey.len, value.len, &need));
    ST_TRY(st_memtable_reserve(m, need, &sp));
    return st_memtable_add_in(m, &sp, seq, kind, ukey, value);
}

int st_memtable_get(st_memtable *m, st_slice ukey, uint64_t snap_seq, int *kind, st_slice *value) {
    _Atomic(uint8_t *) *bucket = &m->buckets[st_hash64(ukey.data, ukey.len) & m->bucket_mask];
    for (const uint8_t *e = atomic_load_explicit(bucket, memory_order_acquire); e;
         e = atomic_load_explicit(entry_hnext(e), memory_order_acquire)) {
        st_slice ikey = entry_ikey(e);
        if (ikey.len - ST_IKEY_TAG_BYTES != ukey.len || (ukey.len && memcmp(ikey.data, ukey.data, ukey.len) != 0))
            continue;
        uint64_t tag = st_get_fixed64(ikey.data + ukey.len);
        if ((tag >> 8) > snap_seq) continue; /* newer than the snapshot: an older version follows */
        *kind = (int)(tag & 0xff);
        *value = entry_value(ikey);
        return 0;
    }
    return ST_ENOTFOUND;
}

void st_memtable_prefetch_bucket(st_memtable *m, uint64_t hash) {
    __builtin_prefetch(&m->buckets[hash & m->bucket_mask]);
}

void st_memtable_prefetch_chain(st_memtable *m, uint64_t hash) {
    const uint8_t *e = atomic_load_explicit(&m->buckets[hash & m->bucket_mask], memory_order_acquire);
    if (e) __builtin_prefetch(e);
}

size_t st_memtable_bytes(const st_memtable *m) {
    return st_arena_bytes(m->arena) + (m->bucket_mask + 1) * sizeof *m->buckets;
}

uint64_t st_memtable_entries(const st_memtable *m) {
    return atomic_load_explicit(&m->entries, memory_order_relaxed);
}

/* ---- iterator ------------------------------------------------------------------------------ */

typedef struct mem_iter {
    st_iter base;
    st_memtable *m;
    st_skiplist_iter it;
    int status;
} mem_iter;

static void mi_seek_first(st_iter *i) {
    mem_iter *mi = (mem_iter *)i;
    mi->status = 0;
    st_skiplist_iter_seek_first(&mi->it);
}

/* False (iterator invalid, status ST_EINVAL) when target cannot be an internal key. */
static bool check_target(mem_iter *mi, st_slice target) {
    if (target.len < ST_IKEY_TAG_BYTES) {
        st_skiplist_iter_init(&mi->it, &mi->m->list);
        mi->status = st_err(ST_EINVAL, "memtable iter: seek target of %zu bytes is no internal key",
                            target.len);
        return false;
    }
    mi->status = 0;
    return true;
}

static void mi_seek(st_iter *i, st_slice target) {
    mem_iter *mi = (mem_iter *)i;
    if (check_target(mi, target)) st_skiplist_iter_seek(&mi->it, &target);
}

static void mi_next(st_iter *i) { st_skiplist_iter_next(&((mem_iter *)i)->it); }

static void mi_seek_last(st_iter *i) {
    mem_iter *mi = (mem_iter *)i;
    mi->status = 0;
    st_skiplist_iter_seek_last(&mi->it);
}

static void mi_seek_for_prev(st_iter *i, st_slice target) {
    mem_iter *mi = (mem_iter *)i;
    if (check_target(mi, target)) st_skiplist_iter_seek_for_prev(&mi->it, &target);
}

/* A search from the skiplist's head (skiplist.h): O(log n), not next's one load. */
static void mi_prev(st_iter *i) { st_skiplist_iter_prev(&((mem_iter *)i)->it); }

static bool mi_valid(const st_iter *i) { return st_skiplist_iter_valid(&((const mem_iter *)i)->it); }

static st_slice mi_key(const st_iter *i) {
    return entry_ikey(st_skiplist_iter_entry(&((const mem_iter *)i)->it));
}

static st_slice mi_value(const st_iter *i) {
    return entry_value(entry_ikey(st_skiplist_iter_entry(&((const mem_iter *)i)->it)));
}

static int mi_status(const st_iter *i) { return ((const mem_iter *)i)->status; }

static void mi_destroy(st_iter *i) {
    mem_iter *mi = (mem_iter *)i;
    st_memtable_unref(mi->m);
    free(mi);
}

static const struct st_iter_ops mem_iter_ops = {
    .seek_first = mi_seek_first,
    .seek = mi_seek,
    .next = mi_next,
    .seek_last = mi_seek_last,
    .seek_for_prev = mi_seek_for_prev,
    .prev = mi_prev,
    .valid = mi_valid,
    .key = mi_key,
    .value = mi_value,
    .status = mi_status,
    .destroy = mi_destroy,
};

int st_memtable_iter_new(st_memtable *m, st_iter **out) {
    *out = NULL;
    mem_iter *mi = malloc(sizeof *mi);
    if (!mi) return st_err(ST_ENOMEM, "memtable: out of memory for an iterator");
    mi->base.ops = &mem_iter_ops;
    mi->m = m;
    mi->status = 0;
    st_skiplist_iter_init(&mi->it, &m->list);
    st_memtable_ref(m);
    *out = &mi->base;
    return 0;
}
