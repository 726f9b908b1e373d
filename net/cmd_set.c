/* cmd_set.c -- the set commands, with Redis 7.0's t_set.c replies and error texts.
 *
 * A set is a collection record (type KS_SET: version, size) and one element per member with an
 * empty value (keyspace.h). Every command holds the stripe locks of all its keys from the first
 * lookup to the write or the last element read (K3). Members come back in byte order, not
 * Redis's hash order (docs/COMPATIBILITY.md).
 *
 * SINTER / SUNION / SDIFF (and their STORE and CARD forms) work on the members' order: every set
 * is an ascending iterator, so the intersection walks the smallest set and seeks the others to
 * each of its members, the union merges all of them, and the difference walks the first and
 * seeks the others: no set is loaded into memory, and the result is produced in order. The STORE
 * forms write the result under a new version of the destination in the same batch as its record,
 * so the destination changes atomically even when it is one of the sources. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "strutil.h"

static void lock1(cmd_ctx *x) { ks_lock(x->k, x->ns, x->argv[1], x->argvlen[1]); }
static void unlock1(cmd_ctx *x) { ks_unlock(x->k, x->ns, x->argv[1], x->argvlen[1]); }

static ks_ckey ckey_of(cmd_ctx *x, const uint8_t *key, size_t klen, const ks_coll *c) {
    return (ks_ckey){x->ns, key, klen, c->version};
}

/* ---- SADD / SREM ---------------------------------------------------------------------------------- */

/* Looks up members argv[2..] of set c: st[i] 0 (member) or KS_ENOTFOUND; dup[i] marks repeats.
 * 0, or the first error (not replied). */
static int probe_members(cmd_ctx *x, const ks_coll *c, bool found, bool *dup, int *st) {
    size_t n = x->argc - 2;
    if (!found) {
        for (size_t i = 0; i < n; i++) st[i] = KS_ENOTFOUND;
        return 0;
    }
    uint8_t **vals = calloc(n, sizeof *vals);
    size_t *vl = malloc(n * sizeof *vl);
    ks_ckey ck = ckey_of(x, x->argv[1], x->argvlen[1], c);
    int rc = vals && vl ? ks_elem_mget(x->k, &ck, KS_ELEMS, n, x->argv + 2, x->argvlen + 2, vals, vl, st) : KS_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++)
        if (!dup[i] && st[i] && st[i] != KS_ENOTFOUND) rc = st[i];
    for (size_t i = 0; vals && i < n; i++) free(vals[i]);
    free(vals);
    free(vl);
    return rc;
}

static void add_or_remove(cmd_ctx *x, bool add) {
    size_t n = x->argc - 2;
    bool *dup = malloc(n * sizeof *dup);
    int *st = malloc(n * sizeof *st);
    lock1(x);
    ks_coll c;
    int found = cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_SET, false, &c);
    if (found < 0) goto out;
    if (!found && !add) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    if (!dup || !st) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    if (!cmd_mark_dups(x, n, x->argv + 2, x->argvlen + 2, dup)) goto out;
    if (!found) ks_coll_new(x->k, KS_SET, &c);
    int rc = probe_members(x, &c, found, dup, st);
    ks_ckey ck = ckey_of(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    long long changed = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (dup[i] || (add ? st[i] == 0 : st[i] != 0)) continue;
        rc = add ? ks_batch_put_elem(b, &ck, KS_ELEMS, x->argv[2 + i], x->argvlen[2 + i], NULL, 0)
                 : ks_batch_del_elem(b, &ck, KS_ELEMS, x->argv[2 + i], x->argvlen[2 + i]);
        changed++;
    }
    if (!rc && changed) {
        c.size = add ? c.size + (uint64_t)changed : c.size > (uint64_t)changed ? c.size - (uint64_t)changed : 0;
        rc = cmd_batch_coll(x, b, x->argv[1], x->argvlen[1], &c);
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, changed);
out:
    free(dup);
    free(st);
    unlock1(x);
}

void cmd_sadd(cmd_ctx *x) { add_or_remove(x, true); }
void cmd_srem(cmd_ctx *x) { add_or_remove(x, false); }

/* ---- SCARD / SISMEMBER / SMISMEMBER / SMEMBERS ------------------------------------------------------ */

static int read_set(cmd_ctx *x, ks_coll *c) { return cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_SET, true, c); }

void cmd_scard(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    int found = read_set(x, &c);
    if (found >= 0) reply_int(x->rb, found ? (long long)c.size : 0);
    unlock1(x);
}

static void ismember(cmd_ctx *x, bool multi) {
    size_t n = x->argc - 2;
    int *st = malloc(n * sizeof *st);
    bool *dup = calloc(n, sizeof *dup); /* repeats are looked up again: no dedup needed */
    lock1(x);
    ks_coll c;
    int found = read_set(x, &c);
    if (found < 0) goto out;
    if (!st || !dup) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    int rc = probe_members(x, &c, found, dup, st);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (multi) reply_array_header(x->rb, n);
    for (size_t i = 0; i < n; i++) reply_int(x->rb, st[i] == 0);
out:
    free(st);
    free(dup);
    unlock1(x);
}

void cmd_sismember(cmd_ctx *x) { ismember(x, false); }
void cmd_smismember(cmd_ctx *x) { ismember(x, true); }

void cmd_smembers(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    ks_elems *it = NULL;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = read_set(x, &c);
    if (found == 0) reply_set_header(x->rb, 0);
    if (found <= 0) goto out;
    ks_ckey ck = ckey_of(x, x->argv[1], x->argvlen[1], &c);
    int rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it);
    size_t n = 0;
    for (; !rc && ks_elems_valid(it); ks_elems_next(it), n++) {
        size_t ml;
        const uint8_t *m = ks_elems_el(it, &ml);
        reply_bulk(&items, m, ml);
    }
    if (!rc) rc = ks_elems_status(it);
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    reply_set_header(x->rb, n);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    reply_buf_destroy(&items);
    unlock1(x);
}

/* ---- SRANDMEMBER / SPOP ------------------------------------------------------------------------------- */

typedef struct picked {
    reply_buf *out;
    ks_batch *b;      /* SPOP: the deletes of the picked members */
    const ks_ckey *ck;
    int rc;
} picked;

static void pick_member(void *arg, const uint8_t *m, size_t ml, const uint8_t *v, size_t vl) {
    (void)v;
    (void)vl;
    picked *p = arg;
    reply_bulk(p->out, m, ml);
    if (p->b && !p->rc) p->rc = ks_batch_del_elem(p->b, p->ck, KS_ELEMS, m, ml);
}

/* SRANDMEMBER key [count] and SPOP key [count]. */
static void random_members(cmd_ctx *x, bool pop) {
    long long l = 1;
    bool with_count = x->argc == 3;
    if (x->argc > 3) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    if (with_count) {
        if (pop) { /* getPositiveLongFromObjectOrReply: one text for both failures */
            if (!resp_str_to_ll(x->argv[2], x->argvlen[2], &l) || l < 0) {
                reply_error(x->rb, "ERR value is out of range, must be positive");
                return;
            }
        } else if (!cmd_arg_ll(x, 2, &l)) {
            return;
        }
        if (l < -LLONG_MAX) {
            reply_errorf(x->rb, "ERR value is out of range, must be between %lld and %lld", -LLONG_MAX, LLONG_MAX);
            return;
        }
    }
    lock1(x);
    ks_coll c;
    ks_elems *it = NULL;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_SET, !pop, &c);
    uint64_t count = l >= 0 ? (uint64_t)l : (uint64_t)(-l);
    if (found == 0 || (found > 0 && with_count && count == 0)) {
        if (!with_count) reply_null(x->rb);
        else if (pop) reply_set_header(x->rb, 0);
        else reply_array_header(x->rb, 0);
    }
    if (found <= 0 || (with_count && count == 0)) goto out;
    if (l < 0 && !cmd_random_count_ok(x, count)) goto out;
    ks_ckey ck = ckey_of(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = pop ? cmd_batch(x) : NULL;
    bool all = pop && count >= c.size; /* the whole set goes: one delete of the record */
    picked p = {&items, all ? NULL : b, &ck, 0};
    uint64_t emitted = 0;
    int rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it);
    if (!rc) rc = cmd_coll_random(it, c.size, count, l >= 0, pick_member, &p, &emitted);
    if (!rc) rc = p.rc;
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (!rc && pop) {
        c.size = all || emitted >= c.size ? 0 : c.size - emitted;
        rc = cmd_batch_coll(x, b, x->argv[1], x->argvlen[1], &c);
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (pop && !cmd_write(x, b)) goto out;
    if (with_count && pop) reply_set_header(x->rb, emitted);
    else if (with_count) reply_array_header(x->rb, emitted);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    reply_buf_destroy(&items);
    unlock1(x);
}

void cmd_srandmember(cmd_ctx *x) { random_members(x, false); }
void cmd_spop(cmd_ctx *x) { random_members(x, true); }

/* ---- SMOVE ------------------------------------------------------------------------------------------ */

/* Redis 7.0's order: a missing source is 0 before any type check; then both types; src == dst is
 * a membership test. */
void cmd_smove(cmd_ctx *x) {
    const uint8_t *keys[2] = {x->argv[1], x->argv[2]};
    size_t lens[2] = {x->argvlen[1], x->argvlen[2]};
    const uint8_t *m = x->argv[3];
    size_t ml = x->argvlen[3];
    ks_lock_keys(x->k, x->ns, 2, keys, lens);
    ks_rec src_rec, dst_rec;
    ks_coll src, dst;
    uint8_t *v = NULL;
    size_t vl;
    int rs = ks_lookup(x->k, x->ns, keys[0], lens[0], x->now_ms, &src_rec);
    int rd = ks_lookup(x->k, x->ns, keys[1], lens[1], x->now_ms, &dst_rec);
    if ((rs && rs != KS_ENOTFOUND) || (rd && rd != KS_ENOTFOUND)) {
        cmd_reply_ks_error(x, rs && rs != KS_ENOTFOUND ? rs : rd);
        goto out;
    }
    if (rs == KS_ENOTFOUND) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    if (src_rec.type != KS_SET || (rd == 0 && dst_rec.type != KS_SET)) {
        reply_shared(x->rb, REPLY_SH_WRONGTYPE);
        goto out;
    }
    if (ks_rec_coll(&src_rec, &src) || (rd == 0 && ks_rec_coll(&dst_rec, &dst))) {
        cmd_reply_ks_error(x, KS_ECORRUPT);
        goto out;
    }
    ks_ckey sck = ckey_of(x, keys[0], lens[0], &src);
    int rc = ks_elem_get(x->k, &sck, KS_ELEMS, m, ml, &v, &vl);
    bool same = lens[0] == lens[1] && (lens[0] == 0 || memcmp(keys[0], keys[1], lens[0]) == 0);
    if (rc == KS_ENOTFOUND || (same && rc == 0)) {
        reply_shared(x->rb, rc == 0 ? REPLY_SH_ONE : REPLY_SH_ZERO);
        goto out;
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (rd == KS_ENOTFOUND) ks_coll_new(x->k, KS_SET, &dst);
    ks_ckey dck = ckey_of(x, keys[1], lens[1], &dst);
    bool dst_has = false;
    if (rd == 0) {
        free(v);
        v = NULL;
        rc = ks_elem_get(x->k, &dck, KS_ELEMS, m, ml, &v, &vl);
        dst_has = rc == 0;
        if (rc == KS_ENOTFOUND) rc = 0;
    }
    ks_batch *b = cmd_batch(x);
    src.size--;
    if (!rc) rc = ks_batch_del_elem(b, &sck, KS_ELEMS, m, ml);
    if (!rc) rc = cmd_batch_coll(x, b, keys[0], lens[0], &src);
    if (!rc && !dst_has) {
        dst.size++;
        rc = ks_batch_put_elem(b, &dck, KS_ELEMS, m, ml, NULL, 0);
        if (!rc) rc = ks_batch_put_coll(b, x->ns, keys[1], lens[1], &dst);
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_shared(x->rb, REPLY_SH_ONE);
out:
    free(v);
    if (rs == 0) ks_rec_free(&src_rec);
    if (rd == 0) ks_rec_free(&dst_rec);
    ks_unlock_keys(x->k, x->ns, 2, keys, lens);
}

/* ---- SINTER / SUNION / SDIFF and their STORE / CARD forms -------------------------------------------- */

enum set_op { OP_INTER, OP_UNION, OP_DIFF };

/* Where a result member goes: the reply items, the destination's batch, or just a count. */
typedef struct sink {
    reply_buf *items;
    ks_batch *b;
    const ks_ckey *dst;
    uint64_t n;
    uint64_t limit; /* SINTERCARD: stop at this many (0: no limit) */
    int rc;
} sink;

static bool sink_put(sink *s, const uint8_t *m, size_t ml) {
    if (s->items) reply_bulk(s->items, m, ml);
    if (s->b && !s->rc) s->rc = ks_batch_put_elem(s->b, s->dst, KS_ELEMS, m, ml, NULL, 0);
    s->n++;
    return !s->rc && !(s->limit && s->n >= s->limit);
}

static int el_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

/* Whether iterator it holds member m after seeking to it (it only moves forward). */
static bool seek_has(ks_elems *it, const uint8_t *m, size_t ml) {
    ks_elems_seek(it, m, ml);
    if (!ks_elems_valid(it)) return false;
    size_t el;
    const uint8_t *e = ks_elems_el(it, &el);
    return el == ml && (ml == 0 || memcmp(e, m, ml) == 0);
}

typedef struct src_set {
    ks_coll c;
    bool found;
    ks_elems *it;
} src_set;

static int by_size(const void *a, const void *b) {
    const src_set *x = a, *y = b;
    return (x->c.size > y->c.size) - (x->c.size < y->c.size);
}

/* Runs op over sets[0..n) (already looked up; iterators open for the found ones) into s. */
static int run_op(enum set_op op, src_set *sets, size_t n, sink *s) {
    if (op == OP_INTER) {
        for (size_t i = 0; i < n; i++)
            if (!sets[i].found) return 0; /* a missing key is an empty set */
        qsort(sets, n, sizeof *sets, by_size);
        ks_elems *drive = sets[0].it;
        for (ks_elems_seek(drive, NULL, 0); ks_elems_valid(drive); ks_elems_next(drive)) {
            size_t ml;
            const uint8_t *m = ks_elems_el(drive, &ml);
            bool all = true;
            for (size_t j = 1; j < n && all; j++) all = seek_has(sets[j].it, m, ml);
            if (all && !sink_put(s, m, ml)) break;
        }
        return ks_elems_status(drive);
    }
    if (op == OP_DIFF) {
        if (!sets[0].found) return 0;
        ks_elems *drive = sets[0].it;
        for (ks_elems_seek(drive, NULL, 0); ks_elems_valid(drive); ks_elems_next(drive)) {
            size_t ml;
            const uint8_t *m = ks_elems_el(drive, &ml);
            bool other = false;
            for (size_t j = 1; j < n && !other; j++) other = sets[j].found && seek_has(sets[j].it, m, ml);
            if (!other && !sink_put(s, m, ml)) break;
        }
        return ks_elems_status(drive);
    }
    /* union: a k-way merge, each member once */
    for (size_t i = 0; i < n; i++)
        if (sets[i].found) ks_elems_seek(sets[i].it, NULL, 0);
    for (;;) {
        const uint8_t *min = NULL;
        size_t minl = 0;
        for (size_t i = 0; i < n; i++) {
            if (!sets[i].found || !ks_elems_valid(sets[i].it)) continue;
            size_t el;
            const uint8_t *e = ks_elems_el(sets[i].it, &el);
            if (!min || el_cmp(e, el, min, minl) < 0) {
                min = e;
                minl = el;
            }
        }
        if (!min) break;
        /* copy: advancing the iterator that holds min invalidates its view */
        uint8_t small[256];
        uint8_t *m = minl <= sizeof small ? small : malloc(minl);
        if (!m) return KS_ENOMEM;
        memcpy(m, min, minl);
        bool go = sink_put(s, m, minl);
        for (size_t i = 0; i < n; i++) {
            if (!sets[i].found || !ks_elems_valid(sets[i].it)) continue;
            size_t el;
            const uint8_t *e = ks_elems_el(sets[i].it, &el);
            if (el_cmp(e, el, m, minl) == 0) ks_elems_next(sets[i].it);
        }
        if (m != small) free(m);
        if (!go) break;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = sets[i].found ? ks_elems_status(sets[i].it) : 0;
        if (rc) return rc;
    }
    return 0;
}

/* SINTER/SUNION/SDIFF keys (dst NULL, card false), the STORE forms (dst), SINTERCARD (card). */
static void set_op(cmd_ctx *x, enum set_op op, const uint8_t *const *keys, const size_t *lens, size_t n,
                   const uint8_t *dst, size_t dstlen, bool card, uint64_t limit) {
    size_t nl = n + (dst ? 1 : 0);
    const uint8_t **lk = malloc(nl * sizeof *lk);
    size_t *ll = malloc(nl * sizeof *ll);
    src_set *sets = calloc(n, sizeof *sets);
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    if (!lk || !ll || !sets) {
        free(lk);
        free(ll);
        free(sets);
        cmd_reply_ks_error(x, KS_ENOMEM);
        return;
    }
    memcpy(lk, keys, n * sizeof *lk);
    memcpy(ll, lens, n * sizeof *ll);
    if (dst) {
        lk[n] = dst;
        ll[n] = dstlen;
    }
    ks_lock_keys(x->k, x->ns, nl, lk, ll);
    int rc = 0;
    for (size_t i = 0; i < n; i++) { /* every type is checked before anything else (Redis) */
        int f = cmd_coll_lookup(x, keys[i], lens[i], KS_SET, !dst, &sets[i].c);
        if (f < 0) goto out;
        sets[i].found = f;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        if (!sets[i].found) continue;
        ks_ckey ck = ckey_of(x, keys[i], lens[i], &sets[i].c);
        rc = ks_elems_open(x->k, &ck, KS_ELEMS, &sets[i].it);
    }
    ks_coll dc = {0};
    ks_ckey dck = {0};
    ks_batch *b = NULL;
    if (dst) {
        ks_coll_new(x->k, KS_SET, &dc);
        dck = (ks_ckey){x->ns, dst, dstlen, dc.version};
        b = cmd_batch(x);
    }
    sink s = {.items = dst || card ? NULL : &items, .b = b, .dst = &dck, .limit = limit};
    if (!rc) rc = run_op(op, sets, n, &s);
    if (!rc) rc = s.rc;
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (!rc && dst) {
        dc.size = s.n;
        if (s.n) {
            rc = ks_batch_put_coll(b, x->ns, dst, dstlen, &dc);
        } else {
            ks_rec old;
            int found = ks_lookup(x->k, x->ns, dst, dstlen, x->now_ms, &old);
            if (found == 0) ks_rec_free(&old);
            if (found == 0) rc = ks_batch_delete(b, x->ns, dst, dstlen);
            else if (found != KS_ENOTFOUND) rc = found;
        }
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (dst) {
        if (cmd_write(x, b)) reply_int(x->rb, (long long)s.n);
    } else if (card) {
        reply_int(x->rb, (long long)s.n);
    } else {
        reply_set_header(x->rb, s.n);
        reply_raw(x->rb, items.data, items.len);
    }
out:
    for (size_t i = 0; i < n; i++) ks_elems_close(sets[i].it);
    ks_unlock_keys(x->k, x->ns, nl, lk, ll);
    reply_buf_destroy(&items);
    free(lk);
    free(ll);
    free(sets);
}

void cmd_sinter(cmd_ctx *x) { set_op(x, OP_INTER, x->argv + 1, x->argvlen + 1, x->argc - 1, NULL, 0, false, 0); }
void cmd_sunion(cmd_ctx *x) { set_op(x, OP_UNION, x->argv + 1, x->argvlen + 1, x->argc - 1, NULL, 0, false, 0); }
void cmd_sdiff(cmd_ctx *x) { set_op(x, OP_DIFF, x->argv + 1, x->argvlen + 1, x->argc - 1, NULL, 0, false, 0); }

static void store(cmd_ctx *x, enum set_op op) {
    set_op(x, op, x->argv + 2, x->argvlen + 2, x->argc - 2, x->argv[1], x->argvlen[1], false, 0);
}

void cmd_sinterstore(cmd_ctx *x) { store(x, OP_INTER); }
void cmd_sunionstore(cmd_ctx *x) { store(x, OP_UNION); }
void cmd_sdiffstore(cmd_ctx *x) { store(x, OP_DIFF); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
void cmd_sintercard(cmd_ctx *x) {
    long long numkeys, limit = 0;
    if (!resp_str_to_ll(x->argv[1], x->argvlen[1], &numkeys) || numkeys < 1) {
        reply_error(x->rb, "ERR numkeys should be greater than 0");
        return;
    }
    if ((unsigned long long)numkeys > x->argc - 2) {
        reply_error(x->rb, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (size_t j = 2 + (size_t)numkeys; j < x->argc; j++) {
        if (cmd_arg_is(x, j, "limit") && j + 1 < x->argc) {
            j++;
            if (!resp_str_to_ll(x->argv[j], x->argvlen[j], &limit) || limit < 0) {
                reply_error(x->rb, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    set_op(x, OP_INTER, x->argv + 2, x->argvlen + 2, (size_t)numkeys, NULL, 0, true, (uint64_t)limit);
}

/* ---- SSCAN -------------------------------------------------------------------------------------------- */

static size_t emit_member(reply_buf *rb, const uint8_t *el, size_t elen, const uint8_t *val, size_t vlen) {
    (void)val;
    (void)vlen;
    reply_bulk(rb, el, elen);
    return 1;
}

void cmd_sscan(cmd_ctx *x) { cmd_coll_scan(x, KS_SET, emit_member); }
