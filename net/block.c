/* block.c -- see block.h. Entries are chained per bucket and per connection, as in watch.c. */
#include "block.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#define BLOCK_BUCKETS 1024

typedef struct block_ent {
    ks_ns ns;
    uint8_t *key;
    size_t klen;
    conn *c;
    uint32_t bucket;
    struct block_ent *bnext, *bprev;
    struct block_ent *cnext;
} block_ent;

struct block_reg {
    pthread_mutex_t mu;
    _Atomic size_t n;
    block_ent *buckets[BLOCK_BUCKETS];
};

int block_reg_new(block_reg **out) {
    block_reg *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return KS_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    return 0;
}

void block_reg_free(block_reg *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static uint32_t bucket_of(ks_ns ns, const uint8_t *key, size_t klen) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ ns.tenant) * 1099511628211ull;
    h = (h ^ ns.db) * 1099511628211ull;
    for (size_t i = 0; i < klen; i++) h = (h ^ key[i]) * 1099511628211ull;
    return (uint32_t)(h % BLOCK_BUCKETS);
}

int block_add(block_reg *r, conn *c, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens) {
    for (size_t i = 0; i < n; i++) {
        block_ent *e = calloc(1, sizeof *e);
        uint8_t *k = malloc(klens[i] ? klens[i] : 1);
        if (!e || !k) {
            free(e);
            free(k);
            block_remove(r, c);
            return KS_ENOMEM;
        }
        if (klens[i]) memcpy(k, keys[i], klens[i]);
        *e = (block_ent){.ns = ns, .key = k, .klen = klens[i], .c = c, .bucket = bucket_of(ns, keys[i], klens[i])};
        pthread_mutex_lock(&r->mu);
        e->bnext = r->buckets[e->bucket];
        if (e->bnext) e->bnext->bprev = e;
        r->buckets[e->bucket] = e;
        atomic_fetch_add(&r->n, 1);
        pthread_mutex_unlock(&r->mu);
        e->cnext = c->blocking;
        c->blocking = e;
    }
    return 0;
}

void block_remove(block_reg *r, conn *c) {
    block_ent *list = c->blocking;
    c->blocking = NULL;
    if (!list) return;
    pthread_mutex_lock(&r->mu);
    for (block_ent *e = list; e; e = e->cnext) {
        if (e->bprev) e->bprev->bnext = e->bnext;
        else r->buckets[e->bucket] = e->bnext;
        if (e->bnext) e->bnext->bprev = e->bprev;
        atomic_fetch_sub(&r->n, 1);
    }
    pthread_mutex_unlock(&r->mu);
    while (list) {
        block_ent *next = list->cnext;
        free(list->key);
        free(list);
        list = next;
    }
}

typedef struct wake {
    worker *w;
    uint64_t id;
} wake;

static void wake_task(ev_loop *loop, void *arg) {
    (void)loop;
    wake *k = arg;
    for (conn *c = k->w->conns; c; c = c->next)
        if (c->id == k->id) {
            conn_unblock(c, false);
            break;
        }
    free(k);
}

void block_signal(block_reg *r, ks_ns ns, const uint8_t *key, size_t klen) {
    if (!r || atomic_load_explicit(&r->n, memory_order_acquire) == 0) return;
    uint32_t b = bucket_of(ns, key, klen);
    pthread_mutex_lock(&r->mu);
    for (block_ent *e = r->buckets[b]; e; e = e->bnext) {
        if (e->ns.tenant != ns.tenant || e->ns.db != ns.db || e->klen != klen || (klen && memcmp(e->key, key, klen)))
            continue;
        if (atomic_exchange(&e->c->wake_posted, true)) continue; /* one task is enough */
        wake *k = malloc(sizeof *k);
        if (!k) continue; /* it wakes at its timeout instead */
        *k = (wake){e->c->w, e->c->id};
        if (ev_post(e->c->w->loop, wake_task, k)) free(k);
    }
    pthread_mutex_unlock(&r->mu);
}
