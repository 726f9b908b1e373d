/* keyreg.c -- see keyreg.h. */
#include "keyreg.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define KEYREG_BUCKETS 4096

struct keyreg {
    pthread_mutex_t mu;
    _Atomic size_t n; /* entries: 0 lets the visits skip the mutex */
    keyreg_ent *buckets[KEYREG_BUCKETS];
};

int keyreg_new(keyreg **out) {
    keyreg *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return KS_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    return 0;
}

void keyreg_free(keyreg *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint32_t bucket_of(ks_ns ns, const uint8_t *key, size_t klen) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ ns.tenant) * 1099511628211ull;
    h = (h ^ ns.db) * 1099511628211ull;
    for (size_t i = 0; i < klen; i++) h = (h ^ key[i]) * 1099511628211ull;
    return (uint32_t)(h % KEYREG_BUCKETS);
}

bool keyreg_same(const keyreg_ent *e, ks_ns ns, const uint8_t *key, size_t klen) {
    return e->ns.tenant == ns.tenant && e->ns.db == ns.db && e->klen == klen && (klen == 0 || !memcmp(e->key, key, klen));
}

int keyreg_add(keyreg *r, keyreg_ent **list, conn *c, ks_ns ns, const uint8_t *key, size_t klen, int64_t data) {
    keyreg_ent *e = calloc(1, sizeof *e);
    uint8_t *k = malloc(klen ? klen : 1);
    if (!e || !k) {
        free(e);
        free(k);
        return KS_ENOMEM;
    }
    if (klen) memcpy(k, key, klen);
    *e = (keyreg_ent){.ns = ns, .key = k, .klen = klen, .data = data, .c = c, .bucket = bucket_of(ns, key, klen)};
    pthread_mutex_lock(&r->mu);
    e->bnext = r->buckets[e->bucket];
    if (e->bnext) e->bnext->bprev = e;
    r->buckets[e->bucket] = e;
    atomic_fetch_add(&r->n, 1);
    pthread_mutex_unlock(&r->mu);
    e->cnext = *list;
    *list = e;
    return 0;
}

void keyreg_remove_all(keyreg *r, keyreg_ent **list) {
    keyreg_ent *l = *list;
    *list = NULL;
    if (!l) return;
    pthread_mutex_lock(&r->mu);
    for (keyreg_ent *e = l; e; e = e->cnext) {
        if (e->bprev) e->bprev->bnext = e->bnext;
        else r->buckets[e->bucket] = e->bnext;
        if (e->bnext) e->bnext->bprev = e->bprev;
        atomic_fetch_sub(&r->n, 1);
    }
    pthread_mutex_unlock(&r->mu);
    while (l) {
        keyreg_ent *next = l->cnext;
        free(l->key);
        free(l);
        l = next;
    }
}

void keyreg_visit_key(keyreg *r, ks_ns ns, const uint8_t *key, size_t klen, keyreg_fn fn, void *arg) {
    if (!r || atomic_load_explicit(&r->n, memory_order_acquire) == 0) return;
    uint32_t b = bucket_of(ns, key, klen);
    pthread_mutex_lock(&r->mu);
    for (keyreg_ent *e = r->buckets[b]; e; e = e->bnext)
        if (keyreg_same(e, ns, key, klen)) fn(arg, e);
    pthread_mutex_unlock(&r->mu);
}

void keyreg_visit_ns(keyreg *r, ks_ns ns, bool all_dbs, keyreg_fn fn, void *arg) {
    if (!r || atomic_load_explicit(&r->n, memory_order_acquire) == 0) return;
    pthread_mutex_lock(&r->mu);
    for (size_t b = 0; b < KEYREG_BUCKETS; b++)
        for (keyreg_ent *e = r->buckets[b]; e; e = e->bnext)
            if (e->ns.tenant == ns.tenant && (all_dbs || e->ns.db == ns.db)) fn(arg, e);
    pthread_mutex_unlock(&r->mu);
}
