/* block.c -- see block.h. The table is a keyreg (keyreg.h). */
#include "block.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "conn.h"
#include "keyreg.h"

struct block_reg {
    keyreg *r;
};

int block_reg_new(block_reg **out) {
    block_reg *b = calloc(1, sizeof *b);
    *out = b;
    if (!b) return KS_ENOMEM;
    if (keyreg_new(&b->r)) {
        free(b);
        *out = NULL;
        return KS_ENOMEM;
    }
    return 0;
}

void block_reg_free(block_reg *b) {
    if (!b) return;
    keyreg_free(b->r);
    free(b);
}

int block_add(block_reg *b, conn *c, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens) {
    for (size_t i = 0; i < n; i++) {
        if (keyreg_add(b->r, &c->blocking, c, ns, keys[i], klens[i], 0)) {
            block_remove(b, c);
            return KS_ENOMEM;
        }
    }
    return 0;
}

void block_remove(block_reg *b, conn *c) { keyreg_remove_all(b->r, &c->blocking); }

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

static void post_wake(void *arg, keyreg_ent *e) {
    (void)arg;
    if (atomic_exchange(&e->c->wake_posted, true)) return; /* one task is enough */
    wake *k = malloc(sizeof *k);
    if (!k) return; /* it wakes at its timeout instead */
    *k = (wake){e->c->w, e->c->id};
    if (ev_post(e->c->w->loop, wake_task, k)) free(k);
}

void block_signal(block_reg *b, ks_ns ns, const uint8_t *key, size_t klen) {
    if (b) keyreg_visit_key(b->r, ns, key, klen, post_wake, NULL);
}
