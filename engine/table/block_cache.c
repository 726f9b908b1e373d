/* block_cache.c -- sharded LRU block cache; contract and invariants C1-C4 in block_cache.h.
 *
 * The shape is RocksDB's LRUCache (itself LevelDB's): an entry is the handle. Each shard holds a
 * chained hash table of the entries in cache and a circular LRU list (dummy head `lru`: lru.next
 * is the oldest, lru.prev the newest) holding every unpinned entry and pinned ones not yet met by
 * eviction. `low_head` marks the newest entry of the low-priority pool; everything after it is the
 * high pool. A lookup only pins its entry and sets its hit bit (second chance, block_cache.h); an
 * entry off the list (inserted with a handle, or pinned when eviction met it) goes back on at its
 * last release (into the high pool once hit) or, if the shard is over capacity, is freed. Entries leaving the table while pinned stay charged until
 * their last release (C1), so usage never undercounts memory. Deleters run after the shard
 * mutex is dropped: entries to free are chained through next_hash (free once out of the table). */
#include "block_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

typedef struct entry {
    uint64_t id, off, hash;
    void *value;
    st_block_cache_deleter deleter;
    size_t charge;
    struct entry *next_hash;   /* bucket chain while in cache, then the to-free list */
    struct entry *prev, *next; /* LRU links while in cache and unpinned (C2), else NULL */
    uint32_t refs;             /* handles out */
    bool in_cache;             /* in the hash table (C1) */
    bool high_pri;             /* inserted with ST_CACHE_PRI_HIGH */
    bool in_high_pool;         /* on the list, above low_head */
    bool hit;                  /* looked up at least once: goes to the high pool on release */
} entry;

struct st_block_cache_handle {
    entry e; /* never instantiated: a handle pointer is an entry pointer */
};

/* The entry plus a malloc header and its share of the bucket array. */
_Static_assert(sizeof(entry) + 16 <= ST_BLOCK_CACHE_ENTRY_OVERHEAD, "raise ST_BLOCK_CACHE_ENTRY_OVERHEAD");

typedef struct shard {
    _Alignas(64) pthread_mutex_t mu; /* one cache line or more per shard: no false sharing */
    size_t capacity, high_capacity;
    size_t usage;                    /* C1 */
    size_t lru_usage;                /* charge of the entries on the list (C2) */
    size_t pinned_usage;             /* charge of the entries with handles out */
    size_t high_usage;               /* charge of the high pool, <= high_capacity after each call */
    entry lru;                       /* list head (dummy) */
    entry *low_head;                 /* newest low-pool entry, &lru if the low pool is empty */
    entry **buckets;
    size_t nbuckets, elems;          /* nbuckets: a power of two */
    uint64_t hits, misses, inserts, evictions;
} shard;

struct st_block_cache {
    shard *shards;
    int shard_bits;
    double high_ratio;
    pthread_mutex_t resize_mu;       /* orders apply_capacity calls: the last one sees both below */
    atomic_size_t capacity;          /* as set by the owner */
    atomic_size_t reserved;          /* st_block_cache_reserve: memory held outside the cache */
    atomic_uint_fast64_t next_id;
};

#define INITIAL_BUCKETS 16

static uint64_t key_hash(uint64_t id, uint64_t off) {
    uint64_t x = off ^ (id * 0x9e3779b97f4a7c15ull); /* then murmur3's fmix64 */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Top bits pick the shard, low bits the bucket, so the two stay independent. */
static shard *shard_of(const st_block_cache *c, uint64_t hash) {
    return c->shard_bits ? &c->shards[hash >> (64 - c->shard_bits)] : &c->shards[0];
}

static size_t per_shard(size_t capacity, int bits) {
    size_t n = (size_t)1 << bits;
    return capacity / n + (capacity % n != 0);
}

static void free_list(entry *e) {
    while (e) {
        entry *next = e->next_hash;
        e->deleter(e->id, e->off, e->value);
        free(e);
        e = next;
    }
}

/* ---- hash table ------------------------------------------------------------------------------ */

static entry **find_ptr(shard *s, uint64_t id, uint64_t off, uint64_t hash) {
    entry **p = &s->buckets[hash & (s->nbuckets - 1)];
    while (*p && ((*p)->hash != hash || (*p)->id != id || (*p)->off != off)) p = &(*p)->next_hash;
    return p;
}

/* Doubles the bucket array; on ENOMEM keeps the old one (longer chains, still correct). */
static void table_grow(shard *s) {
    size_t n = s->nbuckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry *e = s->buckets[i];
        while (e) {
            entry *next = e->next_hash;
            entry **slot = &b[e->hash & (n - 1)];
            e->next_hash = *slot;
            *slot = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

/* Puts e in the table; returns the entry it displaced (same key), if any. */
static entry *table_insert(shard *s, entry *e) {
    entry **p = find_ptr(s, e->id, e->off, e->hash);
    entry *old = *p;
    e->next_hash = old ? old->next_hash : NULL;
    *p = e;
    if (!old && ++s->elems > s->nbuckets) table_grow(s); /* keeps chains at about one entry */
    return old;
}

static entry *table_remove(shard *s, uint64_t id, uint64_t off, uint64_t hash) {
    entry **p = find_ptr(s, id, off, hash);
    entry *e = *p;
    if (e) {
        *p = e->next_hash;
        e->next_hash = NULL;
        s->elems--;
    }
    return e;
}

/* ---- LRU list and pools ---------------------------------------------------------------------- */

static void lru_remove(shard *s, entry *e) {
    if (s->low_head == e) s->low_head = e->prev;
    e->next->prev = e->prev;
    e->prev->next = e->next;
    e->prev = e->next = NULL;
    s->lru_usage -= e->charge;
    if (e->in_high_pool) s->high_usage -= e->charge;
    e->in_high_pool = false;
}

/* Slides the high pool's oldest entries into the low pool until it fits its share. */
static void maintain_pool(shard *s) {
    while (s->high_usage > s->high_capacity) {
        s->low_head = s->low_head->next;
        ST_ASSERT(s->low_head != &s->lru);
        s->low_head->in_high_pool = false;
        s->high_usage -= s->low_head->charge;
    }
}

static void lru_insert(shard *s, entry *e, double high_ratio) {
    if (high_ratio > 0 && (e->high_pri || e->hit)) {
        e->next = &s->lru; /* newest end of the list */
        e->prev = s->lru.prev;
        e->in_high_pool = true;
        s->high_usage += e->charge;
    } else {
        e->next = s->low_head->next; /* the midpoint */
        e->prev = s->low_head;
        e->in_high_pool = false;
        s->low_head = e;
    }
    e->prev->next = e;
    e->next->prev = e;
    s->lru_usage += e->charge;
    maintain_pool(s);
}

static bool over(const shard *s, size_t extra) {
    return s->usage > s->capacity || extra > s->capacity - s->usage;
}

/* Evicts unpinned entries, oldest first, until `extra` more bytes fit or none is left;
 * chains them onto *to_free. On the way, pinned entries leave the list (their last release puts
 * them back, C2) and entries hit since they were (re)inserted get a second chance: back in at the
 * head of the high pool, hit bit cleared. Every entry is passed over at most twice. */
static void evict_lru(shard *s, size_t extra, double high_ratio, entry **to_free) {
    while (over(s, extra) && s->lru.next != &s->lru) {
        entry *old = s->lru.next;
        ST_DASSERT(old->in_cache);
        lru_remove(s, old);
        if (old->refs) continue;
        if (old->hit) {
            lru_insert(s, old, high_ratio);
            old->hit = false;
            continue;
        }
        entry *t = table_remove(s, old->id, old->off, old->hash);
        ST_ASSERT(t == old);
        old->in_cache = false;
        s->usage -= old->charge;
        s->evictions++;
        old->next_hash = *to_free;
        *to_free = old;
    }
}

/* C4, cheap enough for every call under ST_DEBUG_INVARIANTS. */
#define CHECK_C4(s) ST_DASSERT((s)->usage <= (s)->capacity || (s)->lru.next == &(s)->lru)

/* ---- public ---------------------------------------------------------------------------------- */

static int auto_shard_bits(size_t capacity) {
    int bits = 0;
    size_t n = capacity / ST_BLOCK_CACHE_MIN_SHARD_BYTES;
    while ((n >>= 1) && bits < ST_BLOCK_CACHE_MAX_AUTO_SHARD_BITS) bits++;
    return bits;
}

int st_block_cache_new(size_t capacity_bytes, int shard_bits, double high_pri_ratio, st_block_cache **out) {
    *out = NULL;
    if (shard_bits < -1 || shard_bits > ST_BLOCK_CACHE_MAX_SHARD_BITS)
        return st_err(ST_EINVAL, "block cache: shard_bits %d is outside -1..%d", shard_bits,
                      ST_BLOCK_CACHE_MAX_SHARD_BITS);
    if (!(high_pri_ratio >= 0.0 && high_pri_ratio <= 1.0)) /* NaN fails too */
        return st_err(ST_EINVAL, "block cache: high_pri_ratio %g is outside [0, 1]", high_pri_ratio);
    int bits = shard_bits < 0 ? auto_shard_bits(capacity_bytes) : shard_bits;
    size_t n = (size_t)1 << bits;
    st_block_cache *c = calloc(1, sizeof *c);
    shard *sh = c ? aligned_alloc(_Alignof(shard), n * sizeof *sh) : NULL;
    if (!sh) {
        free(c);
        return st_err(ST_ENOMEM, "block cache: no memory for %zu shards", n);
    }
    memset(sh, 0, n * sizeof *sh);
    c->shards = sh;
    c->shard_bits = bits;
    c->high_ratio = high_pri_ratio;
    atomic_init(&c->capacity, capacity_bytes);
    atomic_init(&c->reserved, 0);
    atomic_init(&c->next_id, 1);
    pthread_mutex_init(&c->resize_mu, NULL);
    size_t per = per_shard(capacity_bytes, bits);
    for (size_t i = 0; i < n; i++) {
        shard *s = &sh[i];
        s->capacity = per;
        s->high_capacity = (size_t)((double)per * high_pri_ratio);
        s->lru.next = s->lru.prev = &s->lru;
        s->low_head = &s->lru;
        s->nbuckets = INITIAL_BUCKETS;
        s->buckets = calloc(INITIAL_BUCKETS, sizeof *s->buckets);
        if (!s->buckets) {
            for (size_t j = 0; j < i; j++) {
                pthread_mutex_destroy(&sh[j].mu);
                free(sh[j].buckets);
            }
            free(sh);
            free(c);
            return st_err(ST_ENOMEM, "block cache: no memory for hash tables");
        }
        pthread_mutex_init(&s->mu, NULL);
    }
    *out = c;
    return 0;
}

void st_block_cache_free(st_block_cache *c) {
    if (!c) return;
    size_t n = (size_t)1 << c->shard_bits;
    for (size_t i = 0; i < n; i++) {
        shard *s = &c->shards[i];
        entry *to_free = NULL;
        for (size_t b = 0; b < s->nbuckets; b++) {
            entry *e = s->buckets[b];
            while (e) {
                entry *next = e->next_hash;
                ST_ASSERT(e->refs == 0); /* a handle outlives the cache */
                s->usage -= e->charge;
                e->next_hash = to_free;
                to_free = e;
                e = next;
            }
        }
        ST_ASSERT(s->usage == 0); /* an erased or replaced entry is still pinned */
        free_list(to_free);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    ST_ASSERT(atomic_load(&c->reserved) == 0); /* a reader outlives the cache */
    pthread_mutex_destroy(&c->resize_mu);
    free(c->shards);
    free(c);
}

uint64_t st_block_cache_new_id(st_block_cache *c) {
    return atomic_fetch_add_explicit(&c->next_id, 1, memory_order_relaxed);
}

int st_block_cache_lookup(st_block_cache *c, uint64_t id, uint64_t off, st_block_cache_handle **h) {
    uint64_t hash = key_hash(id, off);
    shard *s = shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    entry *e = *find_ptr(s, id, off, hash);
    if (e) {
        /* The entry stays where it is on the list (C2): taking it off and putting it back at the
         * head, as a strict LRU does, writes both neighbours, two cache misses per hit on a
         * large cache. Its recency is the hit bit, honoured when eviction reaches it. */
        ST_DASSERT(e->in_cache);
        if (e->refs++ == 0) s->pinned_usage += e->charge;
        e->hit = true;
        s->hits++;
    } else {
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    *h = (st_block_cache_handle *)e;
    return e ? 0 : ST_ENOTFOUND;
}

int st_block_cache_insert(st_block_cache *c, uint64_t id, uint64_t off, void *value, size_t charge,
                          st_block_cache_deleter deleter, st_cache_priority pri, st_block_cache_handle **h) {
    if (h) *h = NULL;
    if (!deleter || (pri != ST_CACHE_PRI_LOW && pri != ST_CACHE_PRI_HIGH))
        return st_err(ST_EINVAL, "block cache: insert needs a deleter and a known priority (got %d)", (int)pri);
    entry *e = calloc(1, sizeof *e);
    if (!e) return st_err(ST_ENOMEM, "block cache: no memory for an entry");
    e->id = id;
    e->off = off;
    e->hash = key_hash(id, off);
    e->value = value;
    e->deleter = deleter;
    e->charge = charge;
    e->high_pri = pri == ST_CACHE_PRI_HIGH;
    shard *s = shard_of(c, e->hash);
    entry *to_free = NULL;
    pthread_mutex_lock(&s->mu);
    /* A value no eviction can make room for, with nobody to hold it, should not empty the shard
     * first (RocksDB's LRUCache does; nothing gains from it). */
    if (h || charge <= s->capacity) evict_lru(s, charge, c->high_ratio, &to_free);
    s->inserts++;
    if (!h && over(s, charge)) {
        /* Nothing left to evict and nobody to hold it: inserted and evicted at once. */
        s->evictions++;
        e->next_hash = to_free;
        to_free = e;
    } else {
        entry *old = table_insert(s, e);
        e->in_cache = true;
        s->usage += charge;
        if (old) {
            old->in_cache = false;
            old->next_hash = NULL;
            if (old->prev) lru_remove(s, old);
            if (old->refs == 0) { /* else its last release frees it (C3) */
                s->usage -= old->charge;
                old->next_hash = to_free;
                to_free = old;
            }
        }
        if (h) {
            e->refs = 1;
            s->pinned_usage += charge;
            *h = (st_block_cache_handle *)e;
        } else {
            lru_insert(s, e, c->high_ratio);
        }
    }
    CHECK_C4(s);
    pthread_mutex_unlock(&s->mu);
    free_list(to_free);
    return 0;
}

void *st_block_cache_value(const st_block_cache_handle *h) { return ((const entry *)h)->value; }

void st_block_cache_release(st_block_cache *c, st_block_cache_handle *h) {
    if (!h) return;
    entry *e = (entry *)h;
    shard *s = shard_of(c, e->hash);
    pthread_mutex_lock(&s->mu);
    ST_ASSERT(e->refs > 0);
    bool last = --e->refs == 0;
    if (last) s->pinned_usage -= e->charge;
    if (last && e->in_cache) {
        if (e->prev) {
            last = false; /* still on the list, where the lookup left it */
        } else if (over(s, 0)) {
            /* Over capacity means the list is empty (C4): this entry is the one to evict. */
            entry *t = table_remove(s, e->id, e->off, e->hash);
            ST_ASSERT(t == e);
            e->in_cache = false;
            s->evictions++;
        } else {
            lru_insert(s, e, c->high_ratio);
            last = false;
        }
    }
    if (last) s->usage -= e->charge;
    CHECK_C4(s);
    pthread_mutex_unlock(&s->mu);
    if (last) {
        e->next_hash = NULL;
        free_list(e);
    }
}

void st_block_cache_erase(st_block_cache *c, uint64_t id, uint64_t off) {
    uint64_t hash = key_hash(id, off);
    shard *s = shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    entry *e = table_remove(s, id, off, hash);
    bool last = false;
    if (e) {
        e->in_cache = false;
        if (e->prev) lru_remove(s, e);
        if (e->refs == 0) {
            s->usage -= e->charge;
            last = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (last) free_list(e);
}

/* Splits capacity minus reservations over the shards and evicts down to it. */
static void apply_capacity(st_block_cache *c) {
    pthread_mutex_lock(&c->resize_mu);
    size_t cap = atomic_load(&c->capacity), res = atomic_load(&c->reserved);
    size_t per = per_shard(cap > res ? cap - res : 0, c->shard_bits);
    size_t n = (size_t)1 << c->shard_bits;
    for (size_t i = 0; i < n; i++) {
        shard *s = &c->shards[i];
        entry *to_free = NULL;
        pthread_mutex_lock(&s->mu);
        s->capacity = per;
        s->high_capacity = (size_t)((double)per * c->high_ratio);
        maintain_pool(s);
        evict_lru(s, 0, c->high_ratio, &to_free);
        CHECK_C4(s);
        pthread_mutex_unlock(&s->mu);
        free_list(to_free);
    }
    pthread_mutex_unlock(&c->resize_mu);
}

void st_block_cache_set_capacity(st_block_cache *c, size_t capacity_bytes) {
    atomic_store(&c->capacity, capacity_bytes);
    apply_capacity(c);
}

void st_block_cache_reserve(st_block_cache *c, size_t bytes) {
    if (!bytes) return;
    atomic_fetch_add(&c->reserved, bytes);
    apply_capacity(c);
}

void st_block_cache_unreserve(st_block_cache *c, size_t bytes) {
    if (!bytes) return;
    size_t prev = atomic_fetch_sub(&c->reserved, bytes);
    ST_ASSERT(prev >= bytes);
    apply_capacity(c);
}

void st_block_cache_stats(st_block_cache *c, st_cache_stats *out) {
    memset(out, 0, sizeof *out);
    size_t n = (size_t)1 << c->shard_bits;
    for (size_t i = 0; i < n; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->inserts += s->inserts;
        out->evictions += s->evictions;
        out->usage_bytes += s->usage;
        out->pinned_bytes += s->pinned_usage;
        out->entries += s->elems;
        pthread_mutex_unlock(&s->mu);
    }
    out->capacity_bytes = atomic_load(&c->capacity);
    out->reserved_bytes = atomic_load(&c->reserved);
}

#ifdef ST_DEBUG_INVARIANTS
void st_block_cache_check_invariants(st_block_cache *c) {
    size_t n = (size_t)1 << c->shard_bits;
    for (size_t i = 0; i < n; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        size_t in_table = 0, table_charge = 0, pinned_in_table = 0, off_list = 0;
        for (size_t b = 0; b < s->nbuckets; b++)
            for (entry *e = s->buckets[b]; e; e = e->next_hash) {
                ST_ASSERT(e->in_cache);                                  /* C1 */
                ST_ASSERT(e->refs > 0 || e->prev != NULL);              /* C2 */
                ST_ASSERT((e->hash & (s->nbuckets - 1)) == b && shard_of(c, e->hash) == s);
                in_table++;
                table_charge += e->charge;
                if (e->refs) pinned_in_table += e->charge;
                if (!e->prev) off_list += e->charge;
            }
        ST_ASSERT(in_table == s->elems);
        size_t lru = 0, high = 0;
        bool in_high = s->low_head == &s->lru; /* entries after low_head are the high pool */
        for (entry *e = s->lru.next; e != &s->lru; e = e->next) {
            ST_ASSERT(e->in_cache && e->next->prev == e);
            ST_ASSERT(e->in_high_pool == in_high);
            lru += e->charge;
            if (e->in_high_pool) high += e->charge;
            if (e == s->low_head) in_high = true;
        }
        ST_ASSERT(lru == s->lru_usage && high == s->high_usage && high <= s->high_capacity);
        ST_ASSERT(table_charge == off_list + lru);          /* C1, C2 */
        ST_ASSERT(pinned_in_table <= s->pinned_usage && s->pinned_usage <= s->usage);
        ST_ASSERT(s->usage >= table_charge);                /* the rest: detached but pinned */
        ST_ASSERT(s->usage <= s->capacity || lru == 0);     /* C4 */
        pthread_mutex_unlock(&s->mu);
    }
}
#endif
