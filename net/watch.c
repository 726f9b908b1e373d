/* watch.c -- see watch.h. The table is a keyreg (keyreg.h); an entry's data is the key's expiry
 * when it was watched. */
#include "watch.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "conn.h"
#include "keyreg.h"

struct watch_reg {
    keyreg *r;
};

int watch_reg_new(watch_reg **out) {
    watch_reg *w = calloc(1, sizeof *w);
    *out = w;
    if (!w) return KS_ENOMEM;
    if (keyreg_new(&w->r)) {
        free(w);
        *out = NULL;
        return KS_ENOMEM;
    }
    return 0;
}

void watch_reg_free(watch_reg *w) {
    if (!w) return;
    keyreg_free(w->r);
    free(w);
}

int watch_add(watch_reg *w, conn *c, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms) {
    for (keyreg_ent *e = c->watching; e; e = e->cnext)
        if (keyreg_same(e, ns, key, klen)) return 0;
    return keyreg_add(w->r, &c->watching, c, ns, key, klen, expire_ms);
}

void watch_unwatch_all(watch_reg *w, conn *c) {
    keyreg_remove_all(w->r, &c->watching);
    atomic_store(&c->watch_dirty, false);
}

static void mark_dirty(void *arg, keyreg_ent *e) {
    (void)arg;
    atomic_store(&e->c->watch_dirty, true);
}

void watch_touch(watch_reg *w, ks_ns ns, const uint8_t *key, size_t klen) {
    if (w) keyreg_visit_key(w->r, ns, key, klen, mark_dirty, NULL);
}

typedef struct touch_ns {
    watch_exists_fn exists;
    void *arg;
} touch_ns;

static void mark_if_exists(void *arg, keyreg_ent *e) {
    touch_ns *t = arg;
    if (!t->exists || t->exists(t->arg, e->ns, e->key, e->klen)) atomic_store(&e->c->watch_dirty, true);
}

void watch_touch_ns(watch_reg *w, ks_ns ns, bool all_dbs, watch_exists_fn exists, void *arg) {
    touch_ns t = {exists, arg};
    if (w) keyreg_visit_ns(w->r, ns, all_dbs, mark_if_exists, &t);
}

int watch_each(watch_reg *w, conn *c, watch_fn fn, void *arg) {
    (void)w;
    for (keyreg_ent *e = c->watching; e; e = e->cnext) {
        int rc = fn(arg, e->ns, e->key, e->klen, e->data);
        if (rc) return rc;
    }
    return 0;
}

bool watch_dirty(const conn *c) { return atomic_load(&c->watch_dirty); }
