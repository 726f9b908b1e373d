/* cmd_hash.c -- the hash commands, with Redis 7.0's t_hash.c replies and error texts.
 *
 * A hash is a collection record (type KS_HASH: version, size) and one element per field, whose
 * value is the field's value (keyspace.h). Every command holds the key's stripe lock from the
 * record's lookup to its write or its last element read (K3), so the size in the record always
 * matches the fields and a reader never sees a half-applied write. Writes that add fields read
 * them first (one multi-get) to count the new ones. Fields come back in byte order, not Redis's
 * hash order (docs/COMPATIBILITY.md).
 * HRANDFIELD picks as cmd_coll_random does. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "strutil.h"

static void lock1(cmd_ctx *x) { ks_lock(x->k, x->ns, x->argv[1], x->argvlen[1]); }
static void unlock1(cmd_ctx *x) { ks_unlock(x->k, x->ns, x->argv[1], x->argvlen[1]); }

static ks_ckey ckey(cmd_ctx *x, const ks_coll *c) {
    return (ks_ckey){x->ns, x->argv[1], x->argvlen[1], c->version};
}

/* ---- HSET / HMSET / HSETNX -------------------------------------------------------------------- */

/* Sets the fields of pairs argv[first..] (field value ...); returns how many were new, or -1 after
 * replying. A field named twice counts once and takes its last value (the batch applies in order). */
static long long set_fields(cmd_ctx *x, size_t first) {
    size_t n = (x->argc - first) / 2;
    const uint8_t **f = calloc(n, sizeof *f);
    size_t *fl = calloc(n, sizeof *fl), *vlens = malloc(n * sizeof *vlens);
    bool *dup = malloc(n * sizeof *dup);
    int *st = malloc(n * sizeof *st);
    uint8_t **vals = calloc(n, sizeof *vals);
    long long added = -1;
    if (!f || !fl || !vlens || !dup || !st || !vals) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        f[i] = x->argv[first + 2 * i];
        fl[i] = x->argvlen[first + 2 * i];
    }
    if (!cmd_mark_dups(x, n, f, fl, dup)) goto out;
    ks_coll c;
    int found = cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_HASH, false, &c);
    if (found < 0) goto out;
    if (!found) ks_coll_new(x->k, KS_HASH, &c);
    ks_ckey ck = ckey(x, &c);
    int rc = 0;
    if (found) rc = ks_elem_mget(x->k, &ck, KS_ELEMS, n, f, fl, vals, vlens, st);
    long long fresh = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (dup[i]) continue;
        if (!found || st[i] == KS_ENOTFOUND) fresh++;
        else if (st[i]) rc = st[i];
    }
    ks_batch *b = cmd_batch(x);
    for (size_t i = 0; !rc && i < n; i++)
        rc = ks_batch_put_elem(b, &ck, KS_ELEMS, f[i], fl[i], x->argv[first + 2 * i + 1], x->argvlen[first + 2 * i + 1]);
    c.size += (uint64_t)fresh;
    if (!rc) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], &c);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) added = fresh;
out:
    for (size_t i = 0; vals && i < n; i++) free(vals[i]);
    free(f);
    free(fl);
    free(vlens);
    free(dup);
    free(st);
    free(vals);
    return added;
}

void cmd_hset(cmd_ctx *x) {
    if (x->argc % 2) {
        reply_err_arity(x->rb, "hset");
        return;
    }
    lock1(x);
    long long added = set_fields(x, 2);
    if (added >= 0) reply_int(x->rb, added);
    unlock1(x);
}

void cmd_hmset(cmd_ctx *x) {
    if (x->argc % 2) {
        reply_err_arity(x->rb, "hmset");
        return;
    }
    lock1(x);
    if (set_fields(x, 2) >= 0) reply_shared(x->rb, REPLY_SH_OK);
    unlock1(x);
}

/* Reads one field of a hash found under the lock: 1 with *v (caller frees), 0 missing, -1 replied. */
static int get_field(cmd_ctx *x, const ks_coll *c, const uint8_t *f, size_t fl, uint8_t **v, size_t *vl) {
    ks_ckey ck = ckey(x, c);
    int rc = ks_elem_get(x->k, &ck, KS_ELEMS, f, fl, v, vl);
    if (rc == KS_ENOTFOUND) return 0;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return -1;
    }
    return 1;
}

/* The hash at argv[1] (created empty when missing) and the current value of field argv[2], for a
 * command that updates it: 1 with *v (caller frees), 0 no such field, -1 replied. */
static int field_for_update(cmd_ctx *x, ks_coll *c, uint8_t **v, size_t *vl) {
    *v = NULL;
    *vl = 0;
    int found = cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_HASH, false, c);
    if (found < 0) return -1;
    if (!found) {
        ks_coll_new(x->k, KS_HASH, c);
        return 0;
    }
    return get_field(x, c, x->argv[2], x->argvlen[2], v, vl);
}

/* Writes field = value into hash c (found: whether the hash exists; exists: whether the field
 * does) and the record; false after replying with the error. */
static bool put_field(cmd_ctx *x, ks_coll *c, bool exists, const uint8_t *f, size_t fl, const uint8_t *v, size_t vl) {
    ks_ckey ck = ckey(x, c);
    ks_batch *b = cmd_batch(x);
    if (!exists) c->size++;
    int rc = ks_batch_put_elem(b, &ck, KS_ELEMS, f, fl, v, vl);
    if (!rc) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], c);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return false;
    }
    return cmd_write(x, b);
}

void cmd_hsetnx(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    uint8_t *v;
    size_t vl;
    int has = field_for_update(x, &c, &v, &vl);
    if (has > 0) reply_shared(x->rb, REPLY_SH_ZERO);
    else if (has == 0 && put_field(x, &c, false, x->argv[2], x->argvlen[2], x->argv[3], x->argvlen[3]))
        reply_shared(x->rb, REPLY_SH_ONE);
    free(v);
    unlock1(x);
}

/* ---- HGET / HMGET / HSTRLEN / HEXISTS / HLEN ----------------------------------------------------- */

/* The hash at argv[1] for a read: 1 found, 0 missing (after replying `missing` when non-negative),
 * -1 replied. */
static int read_hash(cmd_ctx *x, ks_coll *c) { return cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_HASH, true, c); }

void cmd_hget(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    uint8_t *v = NULL;
    size_t vl;
    int found = read_hash(x, &c);
    if (found == 0) reply_null(x->rb);
    if (found > 0) {
        int has = get_field(x, &c, x->argv[2], x->argvlen[2], &v, &vl);
        if (has > 0) reply_bulk(x->rb, v, vl);
        else if (has == 0) reply_null(x->rb);
    }
    free(v);
    unlock1(x);
}

void cmd_hmget(cmd_ctx *x) {
    size_t n = x->argc - 2;
    uint8_t **vals = calloc(n, sizeof *vals);
    size_t *vl = malloc(n * sizeof *vl);
    int *st = malloc(n * sizeof *st);
    lock1(x);
    ks_coll c;
    int found = read_hash(x, &c);
    if (found < 0) goto out;
    if (!vals || !vl || !st) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    if (found) {
        ks_ckey ck = ckey(x, &c);
        int rc = ks_elem_mget(x->k, &ck, KS_ELEMS, n, x->argv + 2, x->argvlen + 2, vals, vl, st);
        for (size_t i = 0; !rc && i < n; i++)
            if (st[i] && st[i] != KS_ENOTFOUND) rc = st[i];
        if (rc) {
            cmd_reply_ks_error(x, rc);
            goto out;
        }
    }
    reply_array_header(x->rb, n);
    for (size_t i = 0; i < n; i++) {
        if (found && st[i] == 0) reply_bulk(x->rb, vals[i], vl[i]);
        else reply_null(x->rb);
    }
out:
    for (size_t i = 0; vals && i < n; i++) free(vals[i]);
    free(vals);
    free(vl);
    free(st);
    unlock1(x);
}

/* HSTRLEN (strlen) and HEXISTS (!strlen): 0 for a missing key or field. */
static void field_probe(cmd_ctx *x, bool strlen_of) {
    lock1(x);
    ks_coll c;
    uint8_t *v = NULL;
    size_t vl = 0;
    int found = read_hash(x, &c);
    int has = found > 0 ? get_field(x, &c, x->argv[2], x->argvlen[2], &v, &vl) : found;
    if (has >= 0) reply_int(x->rb, strlen_of ? (long long)(has ? vl : 0) : has);
    free(v);
    unlock1(x);
}

void cmd_hstrlen(cmd_ctx *x) { field_probe(x, true); }
void cmd_hexists(cmd_ctx *x) { field_probe(x, false); }

void cmd_hlen(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    int found = read_hash(x, &c);
    if (found >= 0) reply_int(x->rb, found ? (long long)c.size : 0);
    unlock1(x);
}

/* ---- HDEL ---------------------------------------------------------------------------------------- */

void cmd_hdel(cmd_ctx *x) {
    size_t n = x->argc - 2;
    bool *dup = malloc(n * sizeof *dup);
    int *st = malloc(n * sizeof *st);
    uint8_t **vals = calloc(n, sizeof *vals);
    size_t *vl = malloc(n * sizeof *vl);
    lock1(x);
    ks_coll c;
    int found = cmd_coll_lookup(x, x->argv[1], x->argvlen[1], KS_HASH, false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found <= 0) goto out;
    if (!dup || !st || !vals || !vl) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    if (!cmd_mark_dups(x, n, x->argv + 2, x->argvlen + 2, dup)) goto out;
    ks_ckey ck = ckey(x, &c);
    int rc = ks_elem_mget(x->k, &ck, KS_ELEMS, n, x->argv + 2, x->argvlen + 2, vals, vl, st);
    ks_batch *b = cmd_batch(x);
    long long removed = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (dup[i] || st[i] == KS_ENOTFOUND) continue;
        if (st[i]) rc = st[i];
        else if (!(rc = ks_batch_del_elem(b, &ck, KS_ELEMS, x->argv[2 + i], x->argvlen[2 + i]))) removed++;
    }
    if (!rc && removed) {
        c.size = c.size > (uint64_t)removed ? c.size - (uint64_t)removed : 0;
        rc = cmd_batch_coll(x, b, x->argv[1], x->argvlen[1], &c);
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, removed);
out:
    for (size_t i = 0; vals && i < n; i++) free(vals[i]);
    free(dup);
    free(st);
    free(vals);
    free(vl);
    unlock1(x);
}

/* ---- HGETALL / HKEYS / HVALS ------------------------------------------------------------------------ */

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

static void get_all(cmd_ctx *x, int want) {
    lock1(x);
    ks_coll c;
    ks_elems *it = NULL;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = read_hash(x, &c);
    if (found == 0) {
        if (want == (WANT_FIELDS | WANT_VALUES)) reply_map_header(x->rb, 0);
        else reply_array_header(x->rb, 0);
    }
    if (found <= 0) goto out;
    ks_ckey ck = ckey(x, &c);
    int rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it);
    size_t n = 0;
    for (; !rc && ks_elems_valid(it); ks_elems_next(it), n++) {
        size_t fl, vl;
        const uint8_t *f = ks_elems_el(it, &fl), *v = ks_elems_val(it, &vl);
        if (want & WANT_FIELDS) reply_bulk(&items, f, fl);
        if (want & WANT_VALUES) reply_bulk(&items, v, vl);
    }
    if (!rc) rc = ks_elems_status(it);
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (want == (WANT_FIELDS | WANT_VALUES)) reply_map_header(x->rb, n);
    else reply_array_header(x->rb, n);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    reply_buf_destroy(&items);
    unlock1(x);
}

void cmd_hgetall(cmd_ctx *x) { get_all(x, WANT_FIELDS | WANT_VALUES); }
void cmd_hkeys(cmd_ctx *x) { get_all(x, WANT_FIELDS); }
void cmd_hvals(cmd_ctx *x) { get_all(x, WANT_VALUES); }

/* ---- HINCRBY / HINCRBYFLOAT ----------------------------------------------------------------------- */

void cmd_hincrby(cmd_ctx *x) {
    long long by, v = 0;
    if (!cmd_arg_ll(x, 3, &by)) return;
    lock1(x);
    ks_coll c;
    uint8_t *old;
    size_t ol;
    int has = field_for_update(x, &c, &old, &ol);
    if (has < 0) goto out;
    if (has && !resp_str_to_ll(old, ol, &v)) {
        reply_shared(x->rb, REPLY_SH_HASH_NOT_INTEGER);
        goto out;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_shared(x->rb, REPLY_SH_OVERFLOW);
        goto out;
    }
    v += by;
    char buf[RESP_LL_STR_MAX];
    size_t n = resp_ll_to_str(buf, v);
    if (put_field(x, &c, has, x->argv[2], x->argvlen[2], (const uint8_t *)buf, n)) reply_int(x->rb, v);
out:
    free(old);
    unlock1(x);
}

void cmd_hincrbyfloat(cmd_ctx *x) {
    long double by, v = 0;
    if (!resp_str_to_ld(x->argv[3], x->argvlen[3], &by)) {
        reply_shared(x->rb, REPLY_SH_NOT_FLOAT);
        return;
    }
    if (isnan(by) || isinf(by)) {
        reply_error(x->rb, "ERR value is NaN or Infinity");
        return;
    }
    lock1(x);
    ks_coll c;
    uint8_t *old;
    size_t ol;
    int has = field_for_update(x, &c, &old, &ol);
    if (has < 0) goto out;
    if (has && !resp_str_to_ld(old, ol, &v)) {
        reply_shared(x->rb, REPLY_SH_HASH_NOT_FLOAT);
        goto out;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        reply_shared(x->rb, REPLY_SH_NAN_OR_INF);
        goto out;
    }
    char buf[RESP_LD_STR_MAX];
    size_t n = resp_ld_to_str(buf, sizeof buf, v, true);
    if (put_field(x, &c, has, x->argv[2], x->argvlen[2], (const uint8_t *)buf, n)) reply_bulk(x->rb, buf, n);
out:
    free(old);
    unlock1(x);
}

/* ---- HRANDFIELD ------------------------------------------------------------------------------------- */


typedef struct pick_out {
    cmd_ctx *x;
    reply_buf *out;
    bool withvalues;
} pick_out;

static void emit_pair(void *arg, const uint8_t *f, size_t fl, const uint8_t *v, size_t vl) {
    pick_out *p = arg;
    if (p->withvalues && p->x->rb->proto == 3) reply_array_header(p->out, 2);
    reply_bulk(p->out, f, fl);
    if (p->withvalues) reply_bulk(p->out, v, vl);
}

void cmd_hrandfield(cmd_ctx *x) {
    long long l = 1;
    bool with_count = x->argc >= 3, withvalues = false;
    if (with_count) {
        if (!cmd_arg_ll(x, 2, &l)) return;
        if (l < -LLONG_MAX) {
            reply_errorf(x->rb, "ERR value is out of range, must be between %lld and %lld", -LLONG_MAX, LLONG_MAX);
            return;
        }
        if (x->argc > 4 || (x->argc == 4 && !cmd_arg_is(x, 3, "withvalues"))) {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
        if (x->argc == 4) {
            withvalues = true;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                reply_error(x->rb, "ERR value is out of range");
                return;
            }
        }
    }
    lock1(x);
    ks_coll c;
    ks_elems *it = NULL;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = read_hash(x, &c);
    if (found == 0) {
        if (with_count) reply_array_header(x->rb, 0);
        else reply_null(x->rb);
    }
    if (found <= 0) goto out;
    uint64_t count = l >= 0 ? (uint64_t)l : (uint64_t)(-l);
    bool uniq = l >= 0;
    if (with_count && count == 0) {
        reply_array_header(x->rb, 0);
        goto out;
    }
    if (!uniq && !cmd_random_count_ok(x, count)) goto out;
    ks_ckey ck = ckey(x, &c);
    uint64_t emitted = 0;
    int rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it);
    pick_out po = {x, &items, withvalues};
    if (!rc) rc = cmd_coll_random(it, c.size, count, uniq, emit_pair, &po, &emitted);
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (with_count) reply_array_header(x->rb, withvalues && x->rb->proto == 2 ? emitted * 2 : emitted);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    reply_buf_destroy(&items);
    unlock1(x);
}

/* ---- HSCAN ------------------------------------------------------------------------------------------ */

static size_t emit_field_value(reply_buf *rb, const uint8_t *el, size_t elen, const uint8_t *val, size_t vlen) {
    reply_bulk(rb, el, elen);
    reply_bulk(rb, val, vlen);
    return 2;
}

void cmd_hscan(cmd_ctx *x) { cmd_coll_scan(x, KS_HASH, emit_field_value); }
