/* cmd_multi.c -- MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis 7.0's replies.
 *
 * MULTI queues copies of the commands that follow (dispatch checks each first: an unknown
 * command, a wrong arity or missing authentication is answered and flags the transaction, and
 * EXEC then answers EXECABORT). EXEC runs the queue as one transaction of the keyspace
 * (ks_txn_begin): it first takes the stripe locks of every key the queued commands name and of
 * every watched key (all stripes when a command's keys cannot be told from its arguments, or the
 * queue changes database), then checks WATCH (a watched key written since, or expired since), then
 * runs the commands against the transaction, whose reads see its own writes, and commits their
 * writes as one engine batch: other clients see all of it or none of it, and after a crash it is
 * all there or not at all. Errors of single commands inside EXEC are their replies, as in Redis;
 * a failed commit replaces the whole reply with one error (nothing was applied).
 *
 * Blocking commands run inside EXEC as their non-blocking forms (Redis does the same). Monitors
 * see MULTI, then each queued command as EXEC runs it, then EXEC (Redis 7's order). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmdstats.h"
#include "conn.h"
#include "monitor.h"
#include "server.h"
#include "tenant.h"
#include "watch.h"

/* One queued command: argv views into `bytes`, all in one allocation. */
typedef struct queued_cmd {
    const cmd_spec *spec;
    size_t argc;
    const uint8_t **argv;
    size_t *argvlen;
    uint8_t *bytes;
} queued_cmd;

static queued_cmd *queued_copy(const cmd_ctx *x) {
    size_t total = 0;
    for (size_t i = 0; i < x->argc; i++) total += x->argvlen[i];
    queued_cmd *q = malloc(sizeof *q + x->argc * (sizeof *q->argv + sizeof *q->argvlen) + total + 1);
    if (!q) return NULL;
    q->spec = x->spec;
    q->argc = x->argc;
    q->argv = (const uint8_t **)(q + 1);
    q->argvlen = (size_t *)(q->argv + x->argc);
    q->bytes = (uint8_t *)(q->argvlen + x->argc);
    size_t off = 0;
    for (size_t i = 0; i < x->argc; i++) {
        if (x->argvlen[i]) memcpy(q->bytes + off, x->argv[i], x->argvlen[i]);
        q->argv[i] = q->bytes + off;
        q->argvlen[i] = x->argvlen[i];
        off += x->argvlen[i];
    }
    return q;
}

static void drop_queue(conn *c) {
    for (size_t i = 0; i < c->nqueue; i++) free(c->queue[i]);
    free(c->queue);
    c->queue = NULL;
    c->nqueue = c->queue_cap = 0;
    c->in_multi = false;
    c->multi_error = false;
}

void multi_reset(conn *c) {
    drop_queue(c);
    watch_unwatch_all(c->w->srv->watches, c);
}

bool multi_queues(const conn *c, const cmd_spec *spec) {
    (void)c;
    return spec->proc != cmd_exec && spec->proc != cmd_discard && spec->proc != cmd_multi &&
           spec->proc != cmd_watch && spec->proc != cmd_quit && spec->proc != cmd_reset;
}

void multi_queue(cmd_ctx *x) {
    conn *c = x->c;
    queued_cmd *q = queued_copy(x);
    if (q && c->nqueue == c->queue_cap) {
        size_t cap = c->queue_cap ? c->queue_cap * 2 : 8;
        queued_cmd **p = realloc(c->queue, cap * sizeof *p);
        if (p) {
            c->queue = p;
            c->queue_cap = cap;
        }
    }
    if (!q || c->nqueue == c->queue_cap) {
        free(q);
        c->multi_error = true;
        cmd_reply_ks_error(x, KS_ENOMEM);
        return;
    }
    c->queue[c->nqueue++] = q;
    reply_shared(x->rb, REPLY_SH_QUEUED);
}

void cmd_multi(cmd_ctx *x) {
    if (x->c->in_multi) {
        reply_error(x->rb, "ERR MULTI calls can not be nested");
        return;
    }
    x->c->in_multi = true;
    reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_discard(cmd_ctx *x) {
    if (!x->c->in_multi) {
        reply_error(x->rb, "ERR DISCARD without MULTI");
        return;
    }
    multi_reset(x->c);
    reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_watch(cmd_ctx *x) {
    if (x->c->in_multi) {
        reply_error(x->rb, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (size_t i = 1; i < x->argc; i++) {
        ks_rec r;
        int rc = ks_lookup(x->k, x->ns, x->argv[i], x->argvlen[i], x->now_ms, &r);
        int64_t expire = rc == 0 ? r.expire_ms : 0;
        if (rc == 0) ks_rec_free(&r);
        else if (rc != KS_ENOTFOUND) {
            cmd_reply_ks_error(x, rc);
            return;
        }
        if ((rc = watch_add(x->srv->watches, x->c, x->ns, x->argv[i], x->argvlen[i], expire))) {
            cmd_reply_ks_error(x, rc);
            return;
        }
    }
    reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_unwatch(cmd_ctx *x) {
    watch_unwatch_all(x->srv->watches, x->c);
    reply_shared(x->rb, REPLY_SH_OK);
}

/* ---- EXEC --------------------------------------------------------------------------------------------- */

typedef struct stripe_set {
    uint32_t *s;
    size_t n, cap;
    bool all;
    bool nomem;
} stripe_set;

static void stripe_add(stripe_set *set, ks_ns ns, const uint8_t *key, size_t klen) {
    if (set->all || set->nomem) return;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 32;
        uint32_t *p = realloc(set->s, cap * sizeof *p);
        if (!p) {
            set->nomem = true;
            return;
        }
        set->s = p;
        set->cap = cap;
    }
    set->s[set->n++] = ks_stripe(ns, key, klen);
}

static int add_watched(void *arg, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms) {
    (void)expire_ms;
    stripe_add(arg, ns, key, klen);
    return 0;
}

/* The stripes EXEC locks: the queued commands' keys and the watched ones. */
static void exec_stripes(cmd_ctx *x, stripe_set *set) {
    conn *c = x->c;
    for (size_t i = 0; i < c->nqueue && !set->all; i++) {
        const queued_cmd *q = c->queue[i];
        if (q->spec->proc == cmd_select || q->spec->proc == cmd_flushdb || q->spec->proc == cmd_flushall) {
            set->all = true; /* another database, or every key of one */
            break;
        }
        size_t small[16];
        size_t n = cmd_key_positions(q->spec, q->argc, q->argv, q->argvlen, small, 16);
        if (n > 16) {
            size_t *pos = malloc(n * sizeof *pos);
            if (!pos) {
                set->all = true;
                break;
            }
            cmd_key_positions(q->spec, q->argc, q->argv, q->argvlen, pos, n);
            for (size_t j = 0; j < n; j++) stripe_add(set, x->ns, q->argv[pos[j]], q->argvlen[pos[j]]);
            free(pos);
        } else {
            for (size_t j = 0; j < n; j++) stripe_add(set, x->ns, q->argv[small[j]], q->argvlen[small[j]]);
        }
    }
    watch_each(x->srv->watches, c, add_watched, set);
    if (set->nomem) set->all = true;
}

typedef struct expiry_check {
    ks *t;
    int64_t now_ms;
    bool expired;
} expiry_check;

/* Redis 7.0's isWatchedKeyExpired: a watched key that had a TTL and is past it now counts as
 * changed, even though nothing wrote it. */
static int check_expired(void *arg, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms) {
    (void)ns;
    (void)key;
    (void)klen;
    expiry_check *e = arg;
    if (expire_ms && expire_ms <= e->now_ms) e->expired = true;
    return e->expired;
}

void cmd_exec(cmd_ctx *x) {
    conn *c = x->c;
    if (!c->in_multi) {
        reply_error(x->rb, "ERR EXEC without MULTI");
        return;
    }
    if (c->multi_error) {
        multi_reset(c);
        reply_shared(x->rb, REPLY_SH_EXECABORT);
        return;
    }
    /* a tenant's quota is checked again at EXEC, as Redis checks maxmemory for a transaction
     * holding denyoom commands: it may have filled up since they were queued */
    bool grows = false;
    for (size_t i = 0; c->tent && i < c->nqueue && !grows; i++) grows = c->queue[i]->spec->flags & CMD_DENYOOM;
    const char *full = grows ? tenant_over_quota(x->srv->tenants, c->tent) : NULL;
    if (full) {
        multi_reset(c);
        reply_errorf(x->rb, "EXECABORT Transaction discarded because of: ERR tenant quota exceeded (max_%s)", full);
        return;
    }
    stripe_set set = {0};
    exec_stripes(x, &set);
    ks *t = NULL;
    int rc = ks_txn_begin(x->k, set.s, set.n, set.all, &t);
    free(set.s);
    if (rc) {
        multi_reset(c);
        cmd_reply_ks_error(x, rc);
        return;
    }
    /* WATCH, now that no writer of a watched key can run (watch.h) */
    expiry_check ec = {t, x->now_ms, false};
    watch_each(x->srv->watches, c, check_expired, &ec);
    if (watch_dirty(c) || ec.expired) {
        ks_txn_end(t);
        multi_reset(c);
        reply_null_array(x->rb);
        return;
    }
    reply_buf out;
    reply_buf_init(&out, x->rb->proto);
    reply_array_header(&out, c->nqueue);
    bool *wrote = calloc(c->nqueue ? c->nqueue : 1, sizeof *wrote);
    int *dbs = calloc(c->nqueue ? c->nqueue : 1, sizeof *dbs);
    if (!wrote || !dbs) {
        free(wrote);
        free(dbs);
        reply_buf_destroy(&out);
        ks_txn_end(t);
        multi_reset(c);
        cmd_reply_ks_error(x, KS_ENOMEM);
        return;
    }
    for (size_t i = 0; i < c->nqueue; i++) {
        const queued_cmd *q = c->queue[i];
        cmd_ctx y = {
            .srv = x->srv,
            .c = c,
            .rb = &out,
            .k = t,
            .ns = {c->tenant, (uint8_t)atomic_load(&c->db)}, /* SELECT inside the queue moves it */
            .argc = q->argc,
            .argv = q->argv,
            .argvlen = q->argvlen,
            .now_ms = x->now_ms,
            .spec = q->spec,
            .in_exec = true,
        };
        size_t before = out.len;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        q->spec->proc(&y);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* commandstats count the commands EXEC ran, as Redis's do */
        cmdstats_record(c->w->cstats, cmd_index(q->spec),
                        (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec)),
                        out.len > before && out.data[before] == '-');
        if (atomic_load_explicit(&x->srv->n_monitors, memory_order_relaxed) > 0 &&
            monitor_shows(q->spec, q->argc, q->argv, q->argvlen))
            monitor_feed(x->srv, c, atomic_load(&c->db), q->argc, q->argv, q->argvlen);
        wrote[i] = y.wrote;
        dbs[i] = y.ns.db;
    }
    uint64_t lsn = 0;
    rc = out.failed ? KS_ENOMEM : ks_txn_commit(t, &lsn);
    /* now that the writes are visible, and still under the locks: WATCH and blocked clients */
    for (size_t i = 0; !rc && i < c->nqueue; i++) {
        const queued_cmd *q = c->queue[i];
        if (!wrote[i]) continue;
        ks_ns ns = {c->tenant, (uint8_t)dbs[i]};
        if (q->spec->proc == cmd_flushdb || q->spec->proc == cmd_flushall) {
            watch_touch_ns(x->srv->watches, ns, q->spec->proc == cmd_flushall, NULL, NULL);
            continue;
        }
        cmd_ctx y = {.srv = x->srv, .c = c, .k = x->k, .ns = ns, .argc = q->argc, .argv = q->argv,
                     .argvlen = q->argvlen, .spec = q->spec};
        cmd_touch_keys(&y);
    }
    free(wrote);
    free(dbs);
    ks_txn_end(t);
    multi_reset(c);
    if (rc) {
        cmd_reply_ks_error(x, rc);
    } else {
        if (lsn > x->lsn) x->lsn = lsn;
        reply_raw(x->rb, out.data, out.len);
        if (out.errors) { /* the errors of the commands EXEC ran count as replies of the connection */
            x->rb->errors += out.errors;
            memcpy(x->rb->last_error, out.last_error, sizeof out.last_error);
        }
    }
    reply_buf_destroy(&out);
}
