/* cmd_string.c -- the string commands, with Redis 7.0's t_string.c semantics and error texts.
 *
 * A string is one keyspace record (type KS_STRING, payload = its bytes, expire_ms). Reads go
 * through lookup()/lookup_string(), which fold the keyspace status into found / missing / "already
 * replied". Plain SET, SETEX, PSETEX and MSET are blind writes: one batch, no read; they still take
 * the key's stripe lock (uncontended: one mutex), or an INCR between its read and its write could
 * overwrite an acknowledged SET. Everything that reads before it writes holds the lock (K3) from the lookup through
 * cmd_write, and replies only after the write succeeded, so a failed write sends exactly one
 * reply (the error). Commands that modify a value (APPEND, SETRANGE, INCR*, DECR*) keep
 * the key's expiry as Redis's in-place updates do; SET (without KEEPTTL), GETSET and MSET drop it. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "server.h"
#include "strutil.h"

/* ---- lookups ------------------------------------------------------------------------------------- */

/* Redis's lookupKeyRead counts keyspace hits and misses for INFO; its lookupKeyWrite does not. */
static void count_reads(cmd_ctx *x, uint64_t hits, uint64_t misses) {
    if (hits) atomic_fetch_add_explicit(&x->srv->stat.keyspace_hits, hits, memory_order_relaxed);
    if (misses) atomic_fetch_add_explicit(&x->srv->stat.keyspace_misses, misses, memory_order_relaxed);
}

/* The live record of key, any type: 1 found (*rec is the caller's, free it with ks_rec_free),
 * 0 missing, -1 after replying with the storage error. *rec is always safe to free. */
static int lookup(cmd_ctx *x, const uint8_t *key, size_t klen, bool read, ks_rec *rec) {
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, rec);
    if (rc && rc != KS_ENOTFOUND) {
        cmd_reply_ks_error(x, rc);
        return -1;
    }
    if (read) count_reads(x, rc == 0, rc != 0);
    return rc == 0;
}

/* lookup() of argv[1] that must hold a string: -1 also after replying WRONGTYPE. */
static int lookup_string(cmd_ctx *x, bool read, ks_rec *rec) {
    int found = lookup(x, x->argv[1], x->argvlen[1], read, rec);
    if (found > 0 && rec->type != KS_STRING) {
        ks_rec_free(rec);
        reply_shared(x->rb, REPLY_SH_WRONGTYPE);
        return -1;
    }
    return found;
}

/* The value of a string lookup: its bytes, or nil when missing. */
static void reply_value(cmd_ctx *x, int found, const ks_rec *rec) {
    if (found) reply_bulk(x->rb, rec->payload, rec->payload_len);
    else reply_null(x->rb);
}

static void lock_key(cmd_ctx *x) { ks_lock(x->k, x->ns, x->argv[1], x->argvlen[1]); }
static void unlock_key(cmd_ctx *x) { ks_unlock(x->k, x->ns, x->argv[1], x->argvlen[1]); }

/* ---- writes -------------------------------------------------------------------------------------- */

/* argv[1] := the string val with expiry expire_ms (0: none), or deleted when gone. False after
 * replying with the error. */
static bool write_key(cmd_ctx *x, bool gone, const uint8_t *val, size_t vlen, int64_t expire_ms) {
    ks_batch *b = cmd_batch(x);
    int rc = gone ? ks_batch_delete(b, x->ns, x->argv[1], x->argvlen[1])
                  : ks_batch_put_string(b, x->ns, x->argv[1], x->argvlen[1], val, vlen, expire_ms);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return false;
    }
    return cmd_write(x, b);
}

/* Redis's checkStringLength: false after replying when a string of size + append bytes would
 * exceed proto-max-bulk-len (a runtime setting, read under cfg_lock). */
static bool length_ok(cmd_ctx *x, uint64_t size, uint64_t append) {
    pthread_rwlock_rdlock(&x->srv->cfg_lock);
    uint64_t max = x->srv->cfg->proto_max_bulk_len;
    pthread_rwlock_unlock(&x->srv->cfg_lock);
    if (size + append >= size && size + append <= max) return true;
    reply_shared(x->rb, REPLY_SH_STRING_TOO_LONG);
    return false;
}

/* ---- SET / GETEX options --------------------------------------------------------------------------- */

enum {
    OPT_NX = 1u << 0,
    OPT_XX = 1u << 1,
    OPT_GET = 1u << 2,
    OPT_KEEPTTL = 1u << 3,
    OPT_PERSIST = 1u << 4,
    OPT_EX = 1u << 5,
    OPT_PX = 1u << 6,
    OPT_EXAT = 1u << 7,
    OPT_PXAT = 1u << 8,
};
#define OPT_EXPIRE (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

typedef struct str_opts {
    unsigned flags;
    size_t expire_arg; /* argv index of the EX/PX/EXAT/PXAT value; 0: none */
} str_opts;

static unsigned expire_opt(const cmd_ctx *x, size_t i) {
    if (cmd_arg_is(x, i, "ex")) return OPT_EX;
    if (cmd_arg_is(x, i, "px")) return OPT_PX;
    if (cmd_arg_is(x, i, "exat")) return OPT_EXAT;
    if (cmd_arg_is(x, i, "pxat")) return OPT_PXAT;
    return 0;
}

/* Redis's parseExtendedStringArgumentsOrReply: the options from argv[first] on, SET's (NX XX GET
 * KEEPTTL and the expiries) or GETEX's (PERSIST and the expiries). Repeating an option is allowed
 * (the last expiry wins); conflicting ones or a missing value are "ERR syntax error". The expiry
 * value itself is checked later, as Redis does (opt_expire_ms). */
static bool parse_opts(cmd_ctx *x, size_t first, bool for_set, str_opts *o) {
    for (size_t j = first; j < x->argc; j++) {
        unsigned f = o->flags, add;
        if (for_set && cmd_arg_is(x, j, "nx") && !(f & OPT_XX)) {
            add = OPT_NX;
        } else if (for_set && cmd_arg_is(x, j, "xx") && !(f & OPT_NX)) {
            add = OPT_XX;
        } else if (for_set && cmd_arg_is(x, j, "get")) {
            add = OPT_GET;
        } else if (for_set && cmd_arg_is(x, j, "keepttl") && !(f & OPT_EXPIRE)) {
            add = OPT_KEEPTTL;
        } else if (!for_set && cmd_arg_is(x, j, "persist") && !(f & OPT_EXPIRE)) {
            add = OPT_PERSIST;
        } else if ((add = expire_opt(x, j)) != 0 && j + 1 < x->argc &&
                   !(f & (OPT_KEEPTTL | OPT_PERSIST | (OPT_EXPIRE & ~add)))) {
            o->expire_arg = ++j;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return false;
        }
        o->flags |= add;
    }
    return true;
}

/* Redis's getExpireMillisecondsOrReply: the absolute unix ms the expiry option names. A value
 * <= 0, or one that overflows once made absolute, is "invalid expire time in '<cmd>' command". */
static bool opt_expire_ms(cmd_ctx *x, const str_opts *o, const char *cmd, int64_t *out) {
    long long v;
    if (!cmd_arg_ll(x, o->expire_arg, &v)) return false;
    bool secs = o->flags & (OPT_EX | OPT_EXAT);
    if (v <= 0 || (secs && v > LLONG_MAX / 1000)) goto bad;
    if (secs) v *= 1000;
    if (o->flags & (OPT_EX | OPT_PX)) {
        if (v > LLONG_MAX - x->now_ms) goto bad;
        v += x->now_ms;
    }
    *out = v;
    return true;
bad:
    reply_err_invalid_expire(x->rb, cmd);
    return false;
}

/* ---- SET family ------------------------------------------------------------------------------------ */

/* Redis's setGenericCommand: argv[1] := argv[vi] under o. int_reply gives SETNX's :1 / :0 in place
 * of OK / nil. An EXAT/PXAT already past deletes the key (and still replies OK). */
static void set_generic(cmd_ctx *x, const str_opts *o, size_t vi, const char *cmd, bool int_reply) {
    int64_t expire_ms = 0;
    if (o->expire_arg && !opt_expire_ms(x, o, cmd, &expire_ms)) return;
    bool gone = (o->flags & (OPT_EXAT | OPT_PXAT)) && expire_ms <= x->now_ms;
    const uint8_t *val = x->argv[vi];
    size_t vlen = x->argvlen[vi];

    if (!(o->flags & (OPT_NX | OPT_XX | OPT_GET | OPT_KEEPTTL))) { /* the hot path: a blind write */
        lock_key(x);
        bool ok = write_key(x, gone, val, vlen, expire_ms);
        unlock_key(x);
        if (ok) reply_shared(x->rb, REPLY_SH_OK);
        return;
    }
    ks_rec old;
    lock_key(x);
    int found = lookup(x, x->argv[1], x->argvlen[1], o->flags & OPT_GET, &old);
    if (found < 0) goto out;
    if ((o->flags & OPT_GET) && found && old.type != KS_STRING) {
        reply_shared(x->rb, REPLY_SH_WRONGTYPE); /* before any write */
        goto out;
    }
    bool skip = ((o->flags & OPT_NX) && found) || ((o->flags & OPT_XX) && !found);
    if ((o->flags & OPT_KEEPTTL) && found) expire_ms = old.expire_ms;
    if (!skip && !write_key(x, gone, val, vlen, expire_ms)) goto out;
    if (o->flags & OPT_GET) reply_value(x, found, &old);
    else if (int_reply) reply_shared(x->rb, skip ? REPLY_SH_ZERO : REPLY_SH_ONE);
    else if (skip) reply_null(x->rb);
    else reply_shared(x->rb, REPLY_SH_OK);
out:
    unlock_key(x);
    ks_rec_free(&old);
}

void cmd_set(cmd_ctx *x) {
    str_opts o = {0};
    if (parse_opts(x, 3, true, &o)) set_generic(x, &o, 2, "set", false);
}

void cmd_setnx(cmd_ctx *x) {
    str_opts o = {OPT_NX, 0};
    set_generic(x, &o, 2, "setnx", true);
}

void cmd_setex(cmd_ctx *x) {
    str_opts o = {OPT_EX, 2};
    set_generic(x, &o, 3, "setex", false);
}

void cmd_psetex(cmd_ctx *x) {
    str_opts o = {OPT_PX, 2};
    set_generic(x, &o, 3, "psetex", false);
}

/* ---- GET family ------------------------------------------------------------------------------------ */

void cmd_get(cmd_ctx *x) {
    ks_rec r;
    int found = lookup_string(x, true, &r);
    if (found >= 0) reply_value(x, found, &r);
    ks_rec_free(&r);
}

void cmd_getset(cmd_ctx *x) {
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, true, &r);
    if (found >= 0 && write_key(x, false, x->argv[2], x->argvlen[2], 0)) reply_value(x, found, &r);
    unlock_key(x);
    ks_rec_free(&r);
}

void cmd_getdel(cmd_ctx *x) {
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, true, &r);
    if (found == 0 || (found > 0 && write_key(x, true, NULL, 0, 0))) reply_value(x, found, &r);
    unlock_key(x);
    ks_rec_free(&r);
}

/* Redis's getexCommand: syntax, then the key (nil if missing, WRONGTYPE), then the expiry value. */
void cmd_getex(cmd_ctx *x) {
    str_opts o = {0};
    if (!parse_opts(x, 2, false, &o)) return;
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, true, &r);
    if (found <= 0) {
        if (found == 0) reply_null(x->rb);
        goto out;
    }
    int64_t expire_ms = 0;
    if (o.expire_arg && !opt_expire_ms(x, &o, "getex", &expire_ms)) goto out;
    bool ok = true;
    if (o.expire_arg) {
        bool gone = (o.flags & (OPT_EXAT | OPT_PXAT)) && expire_ms <= x->now_ms;
        ok = write_key(x, gone, r.payload, r.payload_len, expire_ms);
    } else if ((o.flags & OPT_PERSIST) && r.expire_ms) {
        ok = write_key(x, false, r.payload, r.payload_len, 0);
    }
    if (ok) reply_value(x, 1, &r);
out:
    unlock_key(x);
    ks_rec_free(&r);
}

void cmd_strlen(cmd_ctx *x) {
    ks_rec r;
    int found = lookup_string(x, true, &r);
    if (found >= 0) reply_int(x->rb, found ? (long long)r.payload_len : 0);
    ks_rec_free(&r);
}

void cmd_getrange(cmd_ctx *x) {
    long long start, end;
    if (!cmd_arg_ll(x, 2, &start) || !cmd_arg_ll(x, 3, &end)) return;
    ks_rec r;
    int found = lookup_string(x, true, &r);
    if (found < 0) return;
    long long len = found ? (long long)r.payload_len : 0;
    /* Redis 7.0's arithmetic, quirks included ("hello" 0 -100 is "h") */
    if (start < 0 && end < 0 && start > end) len = 0; /* empty, whatever the string */
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (start > end || len == 0) reply_shared(x->rb, REPLY_SH_EMPTY_BULK);
    else reply_bulk(x->rb, r.payload + start, (size_t)(end - start + 1));
    ks_rec_free(&r);
}

/* ---- several keys ------------------------------------------------------------------------------------ */

/* Arrays for a batched lookup of n keys (one allocation). */
typedef struct lookups {
    size_t n;
    ks_rec *recs;
    const uint8_t **keys;
    size_t *klens;
    int *st;
} lookups;

/* False after replying OOM. */
static bool lookups_new(cmd_ctx *x, lookups *l, size_t n) {
    /* one block, most aligned first: recs | keys | klens | st */
    l->n = n;
    l->recs = calloc(n, sizeof *l->recs + sizeof *l->keys + sizeof *l->klens + sizeof *l->st);
    if (!l->recs) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        return false;
    }
    l->keys = (const uint8_t **)(l->recs + n);
    l->klens = (size_t *)(l->keys + n);
    l->st = (int *)(l->klens + n);
    return true;
}

static void lookups_free(lookups *l) {
    for (size_t i = 0; l->recs && i < l->n; i++) ks_rec_free(&l->recs[i]);
    free(l->recs);
    l->recs = NULL;
}

/* One ks_mlookup of l's keys: every st[i] is then 0 (found) or KS_ENOTFOUND. False after
 * replying with the storage error of the whole call or of any key. */
static bool lookups_run(cmd_ctx *x, lookups *l) {
    int rc = ks_mlookup(x->k, x->ns, l->n, l->keys, l->klens, x->now_ms, l->recs, l->st);
    for (size_t i = 0; !rc && i < l->n; i++)
        if (l->st[i] && l->st[i] != KS_ENOTFOUND) rc = l->st[i];
    if (rc) cmd_reply_ks_error(x, rc);
    return rc == 0;
}

void cmd_mget(cmd_ctx *x) {
    lookups l;
    if (!lookups_new(x, &l, x->argc - 1)) return;
    memcpy(l.keys, x->argv + 1, l.n * sizeof *l.keys);
    memcpy(l.klens, x->argvlen + 1, l.n * sizeof *l.klens);
    if (lookups_run(x, &l)) {
        uint64_t hits = 0;
        reply_array_header(x->rb, l.n);
        for (size_t i = 0; i < l.n; i++) {
            hits += l.st[i] == 0;
            reply_value(x, l.st[i] == 0 && l.recs[i].type == KS_STRING, &l.recs[i]); /* other types: nil */
        }
        count_reads(x, hits, l.n - hits);
    }
    lookups_free(&l);
}

/* MSET's writes: every pair of argv[1..] in one batch (atomic; a repeated key: the last wins). */
static bool write_pairs(cmd_ctx *x) {
    ks_batch *b = cmd_batch(x);
    for (size_t i = 1; i + 1 < x->argc; i += 2) {
        int rc = ks_batch_put_string(b, x->ns, x->argv[i], x->argvlen[i], x->argv[i + 1], x->argvlen[i + 1], 0);
        if (rc) {
            cmd_reply_ks_error(x, rc);
            return false;
        }
    }
    return cmd_write(x, b);
}

void cmd_mset(cmd_ctx *x) {
    if (x->argc % 2 == 0) {
        reply_err_arity(x->rb, "mset");
        return;
    }
    lookups l;
    if (!lookups_new(x, &l, (x->argc - 1) / 2)) return;
    for (size_t i = 0; i < l.n; i++) {
        l.keys[i] = x->argv[1 + 2 * i];
        l.klens[i] = x->argvlen[1 + 2 * i];
    }
    ks_lock_keys(x->k, x->ns, l.n, l.keys, l.klens);
    if (write_pairs(x)) reply_shared(x->rb, REPLY_SH_OK);
    ks_unlock_keys(x->k, x->ns, l.n, l.keys, l.klens);
    lookups_free(&l);
}

/* All or nothing: under every key's lock, one batched lookup, then one batch. A key of any type
 * counts as existing. */
void cmd_msetnx(cmd_ctx *x) {
    if (x->argc % 2 == 0) {
        reply_err_arity(x->rb, "msetnx");
        return;
    }
    lookups l;
    if (!lookups_new(x, &l, (x->argc - 1) / 2)) return;
    for (size_t i = 0; i < l.n; i++) {
        l.keys[i] = x->argv[1 + 2 * i];
        l.klens[i] = x->argvlen[1 + 2 * i];
    }
    ks_lock_keys(x->k, x->ns, l.n, l.keys, l.klens);
    if (lookups_run(x, &l)) {
        bool any = false;
        for (size_t i = 0; i < l.n; i++) any |= l.st[i] == 0;
        if (any) reply_shared(x->rb, REPLY_SH_ZERO);
        else if (write_pairs(x)) reply_shared(x->rb, REPLY_SH_ONE);
    }
    ks_unlock_keys(x->k, x->ns, l.n, l.keys, l.klens);
    lookups_free(&l);
}

/* ---- modifying in place (the expiry stays) --------------------------------------------------------- */

void cmd_append(cmd_ctx *x) {
    const uint8_t *add = x->argv[2];
    size_t addlen = x->argvlen[2];
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, false, &r);
    if (found == 0) {
        if (write_key(x, false, add, addlen, 0)) reply_int(x->rb, (long long)addlen);
    } else if (found > 0 && length_ok(x, r.payload_len, addlen)) {
        size_t n = r.payload_len + addlen;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) {
            cmd_reply_ks_error(x, KS_ENOMEM);
        } else {
            memcpy(buf, r.payload, r.payload_len);
            memcpy(buf + r.payload_len, add, addlen);
            if (write_key(x, false, buf, n, r.expire_ms)) reply_int(x->rb, (long long)n);
            free(buf);
        }
    }
    unlock_key(x);
    ks_rec_free(&r);
}

/* Redis 7.0's setrangeCommand, including its order of checks: a negative offset, the type, an
 * empty value (no write: the current length, 0 for a missing key), then the resulting size. */
void cmd_setrange(cmd_ctx *x) {
    long long off;
    if (!cmd_arg_ll(x, 2, &off)) return;
    if (off < 0) {
        reply_error(x->rb, "ERR offset is out of range");
        return;
    }
    const uint8_t *val = x->argv[3];
    size_t vlen = x->argvlen[3];
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, false, &r);
    size_t olen = found > 0 ? r.payload_len : 0;
    if (found < 0) goto out;
    if (vlen == 0) {
        reply_int(x->rb, (long long)olen);
        goto out;
    }
    if (!length_ok(x, (uint64_t)off, vlen)) goto out;
    size_t end = (size_t)off + vlen, n = end > olen ? end : olen;
    uint8_t *buf = malloc(n);
    if (!buf) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    if (olen) memcpy(buf, r.payload, olen);
    if (n > olen) memset(buf + olen, 0, n - olen);
    memcpy(buf + off, val, vlen);
    if (write_key(x, false, buf, n, found ? r.expire_ms : 0)) reply_int(x->rb, (long long)n);
    free(buf);
out:
    unlock_key(x);
    ks_rec_free(&r);
}

/* Redis's incrDecrCommand: a missing key counts as 0; the value must be a strict integer. */
static void incr_by(cmd_ctx *x, long long by) {
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, false, &r);
    long long v = 0;
    if (found < 0) goto out;
    if (found && !resp_str_to_ll(r.payload, r.payload_len, &v)) {
        reply_shared(x->rb, REPLY_SH_NOT_INTEGER);
        goto out;
    }
    if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
        reply_shared(x->rb, REPLY_SH_OVERFLOW);
        goto out;
    }
    v += by;
    char buf[RESP_LL_STR_MAX];
    size_t n = resp_ll_to_str(buf, v);
    if (write_key(x, false, (const uint8_t *)buf, n, found ? r.expire_ms : 0)) reply_int(x->rb, v);
out:
    unlock_key(x);
    ks_rec_free(&r);
}

void cmd_incr(cmd_ctx *x) { incr_by(x, 1); }
void cmd_decr(cmd_ctx *x) { incr_by(x, -1); }

void cmd_incrby(cmd_ctx *x) {
    long long by;
    if (cmd_arg_ll(x, 2, &by)) incr_by(x, by);
}

void cmd_decrby(cmd_ctx *x) {
    long long by;
    if (!cmd_arg_ll(x, 2, &by)) return;
    if (by == LLONG_MIN) reply_error(x->rb, "ERR decrement would overflow"); /* -by overflows */
    else incr_by(x, -by);
}

/* Redis's incrbyfloatCommand: long double arithmetic, the result stored and sent as
 * resp_ld_to_str's human text ("3.5", "5000", never an exponent). */
void cmd_incrbyfloat(cmd_ctx *x) {
    ks_rec r;
    lock_key(x);
    int found = lookup_string(x, false, &r);
    long double v = 0, by;
    if (found < 0) goto out;
    if ((found && !resp_str_to_ld(r.payload, r.payload_len, &v)) || !resp_str_to_ld(x->argv[2], x->argvlen[2], &by)) {
        reply_shared(x->rb, REPLY_SH_NOT_FLOAT);
        goto out;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        reply_shared(x->rb, REPLY_SH_NAN_OR_INF);
        goto out;
    }
    char buf[RESP_LD_STR_MAX];
    size_t n = resp_ld_to_str(buf, sizeof buf, v, true);
    if (write_key(x, false, (const uint8_t *)buf, n, found ? r.expire_ms : 0)) reply_bulk(x->rb, buf, n);
out:
    unlock_key(x);
    ks_rec_free(&r);
}
