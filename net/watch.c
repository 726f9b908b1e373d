/* watch.c -- see watch.h. Entries are chained per bucket (hash of namespace and key) and per
 * connection (conn->watching), both doubly linked, so unwatching is O(keys watched). */
#include "watch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define WATCH_BUCKETS 4096

typedef struct watch_ent {
    ks_ns ns;
    uint8_t *key;
    size_t klen;
    int64_t expire_ms;
    conn *c;
    uint32_t bucket;
    struct watch_ent *bnext, *bprev; /* bucket chain */
    struct watch_ent *cnext;         /* c's list (singly linked: removed all at once) */
} watch_ent;

struct watch_reg {
    pthread_mutex_t mu;
    _Atomic size_t n; /* entries: 0 lets writes skip the mutex */
    watch_ent *buckets[WATCH_BUCKETS];
};

int watch_reg_new(watch_reg **out) {
    watch_reg *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return KS_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    return 0;
}

void watch_reg_free(watch_reg *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint32_t bucket_of(ks_ns ns, const uint8_t *key, size_t klen) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ ns.tenant) * 1099511628211ull;
    h = (h ^ ns.db) * 1099511628211ull;
    for (size_t i = 0; i < klen; i++) h = (h ^ key[i]) * 1099511628211ull;
    return (uint32_t)(h % WATCH_BUCKETS);
}

static bool same(const watch_ent *e, ks_ns ns, const uint8_t *key, size_t klen) {
    return e->ns.tenant == ns.tenant && e->ns.db == ns.db && e->klen == klen && (klen == 0 || !memcmp(e->key, key, klen));
}

int watch_add(watch_reg *r, conn *c, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms) {
    for (watch_ent *e = c->watching; e; e = e->cnext)
        if (same(e, ns, key, klen)) return 0;
    watch_ent *e = calloc(1, sizeof *e);
    uint8_t *k = malloc(klen ? klen : 1);
    if (!e || !k) {
        free(e);
        free(k);
        return KS_ENOMEM;
    }
    if (klen) memcpy(k, key, klen);
    *e = (watch_ent){.ns = ns, .key = k, .klen = klen, .expire_ms = expire_ms, .c = c, .bucket = bucket_of(ns, key, klen)};
    pthread_mutex_lock(&r->mu);
    e->bnext = r->buckets[e->bucket];
    if (e->bnext) e->bnext->bprev = e;
    r->buckets[e->bucket] = e;
    atomic_fetch_add(&r->n, 1);
    pthread_mutex_unlock(&r->mu);
    e->cnext = c->watching;
    c->watching = e;
    return 0;
}

void watch_unwatch_all(watch_reg *r, conn *c) {
    watch_ent *list = c->watching;
    c->watching = NULL;
    if (list) {
        pthread_mutex_lock(&r->mu);
        for (watch_ent *e = list; e; e = e->cnext) {
            if (e->bprev) e->bprev->bnext = e->bnext;
            else r->buckets[e->bucket] = e->bnext;
            if (e->bnext) e->bnext->bprev = e->bprev;
            atomic_fetch_sub(&r->n, 1);
        }
        pthread_mutex_unlock(&r->mu);
    }
    while (list) {
        watch_ent *next = list->cnext;
        free(list->key);
        free(list);
        list = next;
    }
    atomic_store(&c->watch_dirty, false);
}

void watch_touch(watch_reg *r, ks_ns ns, const uint8_t *key, size_t klen) {
    if (!r || atomic_load_explicit(&r->n, memory_order_acquire) == 0) return;
    uint32_t b = bucket_of(ns, key, klen);
    pthread_mutex_lock(&r->mu);
    for (watch_ent *e = r->buckets[b]; e; e = e->bnext)
        if (same(e, ns, key, klen)) atomic_store(&e->c->watch_dirty, true);
    pthread_mutex_unlock(&r->mu);
}

void watch_touch_ns(watch_reg *r, ks_ns ns, bool all_dbs, watch_exists_fn exists, void *arg) {
    if (!r || atomic_load_explicit(&r->n, memory_order_acquire) == 0) return;
    pthread_mutex_lock(&r->mu);
    for (size_t b = 0; b < WATCH_BUCKETS; b++)
        for (watch_ent *e = r->buckets[b]; e; e = e->bnext)
            if (e->ns.tenant == ns.tenant && (all_dbs || e->ns.db == ns.db) &&
                (!exists || exists(arg, e->ns, e->key, e->klen)))
                atomic_store(&e->c->watch_dirty, true);
    pthread_mutex_unlock(&r->mu);
}

int watch_each(watch_reg *r, conn *c, watch_fn fn, void *arg) {
    (void)r;
    for (watch_ent *e = c->watching; e; e = e->cnext) {
        int rc = fn(arg, e->ns, e->key, e->klen, e->expire_ms);
        if (rc) return rc;
    }
    return 0;
}

bool watch_dirty(const conn *c) { return atomic_load(&c->watch_dirty); }
