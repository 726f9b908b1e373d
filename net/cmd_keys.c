/* cmd_keys.c -- the generic key commands: DEL, UNLINK, EXISTS, TYPE, RENAME(NX), the EXPIRE family,
 * TTL/PTTL/(P)EXPIRETIME, PERSIST, KEYS, SCAN, RANDOMKEY, with Redis 7's replies and error texts.
 *
 * Every command works on metadata records through keyspace.h; expired records are invisible (K1)
 * and read-modify-write commands hold the keys' stripe locks from lookup to write (K3).
 * SCAN cursors: the keyspace is ordered, so "where to resume" is a key, which cursor.h maps to the
 * number clients need; an evicted, foreign or unknown id is "ERR invalid cursor". A scan that
 * reached the end returns "0". KEYS and SCAN MATCH scan only the pattern's literal prefix.
 * RANDOMKEY walks down the key trie with range probes (the first key >= x within a prefix),
 * choosing a child uniformly at each level, within a fixed probe budget, then returns the first live
 * key at or after the prefix reached (wrapping to the start once). Uniform over children, not over
 * keys, so not Redis's fair pick, but spread over the whole keyspace at bounded cost. */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cursor.h"
#include "glob.h"
#include "server.h"
#include "strutil.h"

/* keyspace_hits/misses, counted by the read lookups as Redis's lookupKeyRead does. */
static void count_lookup(cmd_ctx *x, bool hit) {
    if (!x->srv) return;
    atomic_fetch_add_explicit(hit ? &x->srv->stat.keyspace_hits : &x->srv->stat.keyspace_misses, 1,
                              memory_order_relaxed);
}

static bool same_key(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

/* ---- DEL / UNLINK / EXISTS ------------------------------------------------------------------------ */

typedef struct keyref {
    const uint8_t *p;
    size_t n;
} keyref;

static int keyref_cmp(const void *a, const void *b) {
    const keyref *x = a, *y = b;
    return bytes_cmp(x->p, x->n, y->p, y->n);
}

#define SMALL_KEYS 8

/* Looks up argv[1..] in one consistent view: statuses[i] 0 (live) or KS_ENOTFOUND. Returns 0, or
 * the first other status (the caller replies with it). Records are not kept. */
static int lookup_args(cmd_ctx *x, int *statuses) {
    size_t n = x->argc - 1;
    ks_rec small[SMALL_KEYS];
    ks_rec *recs = n <= SMALL_KEYS ? small : malloc(n * sizeof *recs);
    if (!recs) return KS_ENOMEM;
    int rc = ks_mlookup(x->k, x->ns, n, x->argv + 1, x->argvlen + 1, x->now_ms, recs, statuses);
    for (size_t i = 0; !rc && i < n; i++)
        if (statuses[i] != 0 && statuses[i] != KS_ENOTFOUND) rc = statuses[i];
    for (size_t i = 0; i < n; i++) ks_rec_free(&recs[i]);
    if (recs != small) free(recs);
    return rc;
}

/* DEL and UNLINK: both write one tombstone per key, so there is nothing to defer to a background
 * thread. A key named twice is deleted and counted once, as in Redis. */
static void del_generic(cmd_ctx *x) {
    size_t n = x->argc - 1;
    const uint8_t *const *keys = x->argv + 1;
    const size_t *lens = x->argvlen + 1;
    int small_st[SMALL_KEYS];
    keyref small_found[SMALL_KEYS];
    int *st = n <= SMALL_KEYS ? small_st : malloc(n * sizeof *st);
    keyref *found = n <= SMALL_KEYS ? small_found : malloc(n * sizeof *found);
    if (!st || !found) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    ks_lock_keys(x->k, x->ns, n, keys, lens);
    int rc = lookup_args(x, st);
    size_t nfound = 0, deleted = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (st[i] == 0) found[nfound++] = (keyref){keys[i], lens[i]};
    if (nfound > 1) qsort(found, nfound, sizeof *found, keyref_cmp);
    ks_batch *b = cmd_batch(x);
    for (size_t i = 0; !rc && i < nfound; i++) {
        if (i > 0 && same_key(found[i].p, found[i].n, found[i - 1].p, found[i - 1].n)) continue;
        rc = ks_batch_delete(b, x->ns, found[i].p, found[i].n);
        deleted++;
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, (long long)deleted);
    ks_unlock_keys(x->k, x->ns, n, keys, lens);
out:
    if (st != small_st) free(st);
    if (found != small_found) free(found);
}

void cmd_del(cmd_ctx *x) { del_generic(x); }
void cmd_unlink(cmd_ctx *x) { del_generic(x); }

/* A key named several times counts each time, as in Redis. */
void cmd_exists(cmd_ctx *x) {
    size_t n = x->argc - 1;
    int small_st[SMALL_KEYS];
    int *st = n <= SMALL_KEYS ? small_st : malloc(n * sizeof *st);
    if (!st) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        return;
    }
    int rc = lookup_args(x, st);
    if (rc) {
        cmd_reply_ks_error(x, rc);
    } else {
        long long count = 0;
        for (size_t i = 0; i < n; i++) {
            count += st[i] == 0;
            count_lookup(x, st[i] == 0);
        }
        reply_int(x->rb, count);
    }
    if (st != small_st) free(st);
}

void cmd_type(cmd_ctx *x) {
    ks_rec rec;
    int rc = ks_lookup(x->k, x->ns, x->argv[1], x->argvlen[1], x->now_ms, &rec);
    if (rc && rc != KS_ENOTFOUND) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    count_lookup(x, rc == 0);
    reply_simple(x->rb, rc == 0 ? ks_type_name(rec.type) : "none");
    ks_rec_free(&rec);
}

/* ---- RENAME / RENAMENX ------------------------------------------------------------------------------ */

/* A collection's elements live under its key: the destination gets a new version (whatever it held
 * before is unreachable at once, K4) and a copy of every element, in the rename's batch. O(n), where
 * Redis's RENAME is O(1); the batch must fit in max_batch_bytes. */
static int copy_collection(cmd_ctx *x, ks_batch *b, const ks_rec *src, const uint8_t *const *keys, const size_t *lens) {
    ks_coll from, to;
    int rc = ks_rec_coll(src, &from);
    if (rc) return rc;
    ks_coll_new(x->k, from.type, &to);
    to.size = from.size;
    to.expire_ms = from.expire_ms;
    to.head = from.head;
    to.tail = from.tail;
    ks_ckey sck = {x->ns, keys[0], lens[0], from.version}, dck = {x->ns, keys[1], lens[1], to.version};
    to.rank_levels = from.rank_levels; /* the rank index is copied with the rest */
    static const int spaces[] = {KS_ELEMS, KS_SCORES, KS_RANKS};
    for (size_t s = 0; !rc && s < (from.type == KS_ZSET ? 3u : 1u); s++) {
        ks_elems *it;
        if ((rc = ks_elems_open(x->k, &sck, spaces[s], &it))) break;
        for (; !rc && ks_elems_valid(it); ks_elems_next(it)) {
            size_t el, vl;
            const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
            rc = ks_batch_put_elem(b, &dck, spaces[s], e, el, v, vl);
        }
        if (!rc) rc = ks_elems_status(it);
        ks_elems_close(it);
    }
    if (!rc) rc = ks_batch_put_coll(b, x->ns, keys[1], lens[1], &to);
    return rc;
}

/* The destination takes the source's record (type, payload, expiry) and the source is deleted, in
 * one batch under both keys' locks. A missing source is an error even when both names are equal;
 * an existing one renamed to itself is a no-op (OK, or 0 for RENAMENX), as in Redis 7. */
static void rename_generic(cmd_ctx *x, bool nx) {
    const uint8_t *keys[2] = {x->argv[1], x->argv[2]};
    size_t lens[2] = {x->argvlen[1], x->argvlen[2]};
    bool same = same_key(keys[0], lens[0], keys[1], lens[1]);
    ks_lock_keys(x->k, x->ns, 2, keys, lens);
    ks_rec src, dst;
    int rc = ks_lookup(x->k, x->ns, keys[0], lens[0], x->now_ms, &src);
    if (rc == KS_ENOTFOUND) {
        reply_shared(x->rb, REPLY_SH_NO_SUCH_KEY);
        goto out;
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (same) {
        reply_shared(x->rb, nx ? REPLY_SH_ZERO : REPLY_SH_OK);
        goto out;
    }
    if (nx) {
        rc = ks_lookup(x->k, x->ns, keys[1], lens[1], x->now_ms, &dst);
        if (rc == 0) {
            ks_rec_free(&dst);
            reply_shared(x->rb, REPLY_SH_ZERO);
            goto out;
        }
        if (rc != KS_ENOTFOUND) {
            cmd_reply_ks_error(x, rc);
            goto out;
        }
    }
    ks_batch *b = cmd_batch(x);
    rc = src.type == KS_STRING ? ks_batch_put_record(b, x->ns, keys[1], lens[1], &src, src.expire_ms)
                               : copy_collection(x, b, &src, keys, lens);
    if (!rc) rc = ks_batch_delete(b, x->ns, keys[0], lens[0]);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_shared(x->rb, nx ? REPLY_SH_ONE : REPLY_SH_OK);
out:
    ks_rec_free(&src);
    ks_unlock_keys(x->k, x->ns, 2, keys, lens);
}

void cmd_rename(cmd_ctx *x) { rename_generic(x, false); }
void cmd_renamenx(cmd_ctx *x) { rename_generic(x, true); }

/* ---- EXPIRE family ------------------------------------------------------------------------------- */

enum { XP_NX = 1, XP_XX = 2, XP_GT = 4, XP_LT = 8 };

/* Redis 7's expireGenericCommand: options first, then the time (overflow of the unit conversion
 * or of base + time is an error), then the key. basetime is now for EXPIRE/PEXPIRE, 0 for the
 * absolute forms. GT and LT treat a key without expiry as having an infinite TTL. A time not in
 * the future deletes the key (and still replies 1). */
static void expire_generic(cmd_ctx *x, long long basetime, bool seconds, const char *name) {
    int flags = 0;
    for (size_t i = 3; i < x->argc; i++) {
        if (cmd_arg_is(x, i, "nx")) flags |= XP_NX;
        else if (cmd_arg_is(x, i, "xx")) flags |= XP_XX;
        else if (cmd_arg_is(x, i, "gt")) flags |= XP_GT;
        else if (cmd_arg_is(x, i, "lt")) flags |= XP_LT;
        else {
            /* "%.*s" stops at a NUL as Redis's "%s" does; the cap only keeps the int in range */
            int len = x->argvlen[i] < ((size_t)1 << 20) ? (int)x->argvlen[i] : 1 << 20;
            reply_errorf(x->rb, "ERR Unsupported option %.*s", len, (const char *)x->argv[i]);
            return;
        }
    }
    if ((flags & XP_NX) && (flags & (XP_XX | XP_GT | XP_LT))) {
        reply_error(x->rb, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & XP_GT) && (flags & XP_LT)) {
        reply_error(x->rb, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    long long when;
    if (!cmd_arg_ll(x, 2, &when)) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_err_invalid_expire(x->rb, name);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_err_invalid_expire(x->rb, name);
        return;
    }
    when += basetime;

    const uint8_t *key = x->argv[1];
    size_t klen = x->argvlen[1];
    ks_lock(x->k, x->ns, key, klen);
    ks_rec rec;
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, &rec);
    if (rc == KS_ENOTFOUND) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    bool volatile_key = rec.expire_ms != 0;
    bool refuse = ((flags & XP_NX) && volatile_key) || ((flags & XP_XX) && !volatile_key) ||
                  ((flags & XP_GT) && (!volatile_key || when <= rec.expire_ms)) ||
                  ((flags & XP_LT) && volatile_key && when >= rec.expire_ms);
    if (refuse) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    ks_batch *b = cmd_batch(x);
    /* a stored expiry is > now > 0, so it never collides with 0, "no expiry" */
    rc = when <= x->now_ms ? ks_batch_delete(b, x->ns, key, klen) : ks_batch_put_record(b, x->ns, key, klen, &rec, when);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_shared(x->rb, REPLY_SH_ONE);
out:
    ks_rec_free(&rec);
    ks_unlock(x->k, x->ns, key, klen);
}

void cmd_expire(cmd_ctx *x) { expire_generic(x, x->now_ms, true, "expire"); }
void cmd_pexpire(cmd_ctx *x) { expire_generic(x, x->now_ms, false, "pexpire"); }
void cmd_expireat(cmd_ctx *x) { expire_generic(x, 0, true, "expireat"); }
void cmd_pexpireat(cmd_ctx *x) { expire_generic(x, 0, false, "pexpireat"); }

/* Redis's ttlGenericCommand: -2 missing, -1 no expiry; seconds round to nearest ((ms + 500) / 1000). */
static void ttl_generic(cmd_ctx *x, bool ms, bool absolute) {
    ks_rec rec;
    int rc = ks_lookup(x->k, x->ns, x->argv[1], x->argvlen[1], x->now_ms, &rec);
    if (rc && rc != KS_ENOTFOUND) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    count_lookup(x, rc == 0);
    if (rc == KS_ENOTFOUND) {
        reply_int(x->rb, -2);
        return;
    }
    long long v = -1;
    if (rec.expire_ms) {
        v = absolute ? rec.expire_ms : rec.expire_ms - x->now_ms;
        if (v < 0) v = 0;
        if (!ms) v = (v + 500) / 1000;
    }
    ks_rec_free(&rec);
    reply_int(x->rb, v);
}

void cmd_ttl(cmd_ctx *x) { ttl_generic(x, false, false); }
void cmd_pttl(cmd_ctx *x) { ttl_generic(x, true, false); }
void cmd_expiretime(cmd_ctx *x) { ttl_generic(x, false, true); }
void cmd_pexpiretime(cmd_ctx *x) { ttl_generic(x, true, true); }

void cmd_persist(cmd_ctx *x) {
    const uint8_t *key = x->argv[1];
    size_t klen = x->argvlen[1];
    ks_lock(x->k, x->ns, key, klen);
    ks_rec rec;
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, &rec);
    if (rc == KS_ENOTFOUND || (rc == 0 && rec.expire_ms == 0)) {
        reply_shared(x->rb, REPLY_SH_ZERO);
    } else if (rc) {
        cmd_reply_ks_error(x, rc);
    } else {
        ks_batch *b = cmd_batch(x);
        rc = ks_batch_put_record(b, x->ns, key, klen, &rec, 0);
        if (rc) cmd_reply_ks_error(x, rc);
        else if (cmd_write(x, b)) reply_shared(x->rb, REPLY_SH_ONE);
    }
    ks_rec_free(&rec);
    ks_unlock(x->k, x->ns, key, klen);
}

/* ---- KEYS ----------------------------------------------------------------------------------------- */

/* Matching keys are encoded into a private buffer and copied into the reply once the scan has
 * succeeded: an engine error halfway must become one error reply, not half an array. */
typedef struct key_sink {
    reply_buf out;
    size_t n;
    const uint8_t *pat; /* NULL: every key */
    size_t patlen;
    int type;           /* SCAN TYPE: KS_NONE = any, -1 = an unknown name (matches nothing) */
} key_sink;

static int sink_key(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    key_sink *s = arg;
    if (s->type && rec->type != s->type) return 0;
    if (s->pat && !glob_match(s->pat, s->patlen, key, klen, false)) return 0;
    reply_bulk(&s->out, key, klen);
    s->n++;
    return 0;
}

/* Sets up s for pattern pat (NULL: none) and writes its literal prefix to *prefix (malloc'ed,
 * caller frees; NULL when empty). False on ENOMEM. */
static bool sink_init(key_sink *s, const uint8_t *pat, size_t patlen, uint8_t **prefix, size_t *plen) {
    reply_buf_init(&s->out, 2);
    s->n = 0;
    s->type = KS_NONE;
    s->pat = pat && !glob_matches_all(pat, patlen) ? pat : NULL;
    s->patlen = s->pat ? patlen : 0;
    *prefix = NULL;
    *plen = 0;
    if (!s->pat || s->patlen == 0) return true;
    if (!(*prefix = malloc(s->patlen))) return false;
    *plen = glob_literal_prefix(s->pat, s->patlen, *prefix);
    return true;
}

void cmd_keys(cmd_ctx *x) {
    key_sink s;
    uint8_t *prefix, *next = NULL;
    size_t plen, nlen;
    int rc = sink_init(&s, x->argv[1], x->argvlen[1], &prefix, &plen) ? 0 : KS_ENOMEM;
    if (!rc) rc = ks_scan(x->k, x->ns, NULL, 0, prefix, plen, 0, x->now_ms, sink_key, &s, &next, &nlen);
    if (!rc && s.out.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
    } else {
        reply_array_header(x->rb, s.n);
        reply_raw(x->rb, s.out.data, s.out.len);
    }
    free(next);
    free(prefix);
    reply_buf_destroy(&s.out);
}

static int type_by_name(const uint8_t *p, size_t n) {
    static const int types[] = {KS_STRING, KS_HASH, KS_LIST, KS_SET, KS_ZSET};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        const char *name = ks_type_name(types[i]);
        size_t j = 0;
        while (j < n && name[j] && tolower(p[j]) == name[j]) j++;
        if (j == n && !name[j]) return types[i];
    }
    return -1;
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: visits at most COUNT keys from the cursor's
 * resume key, then filters them (MATCH and TYPE, after visiting, as Redis), so a page may be empty
 * while the cursor is not 0. An unknown TYPE name matches nothing (Redis 7 does not reject it). */
void cmd_scan(cmd_ctx *x) {
    uint64_t cursor;
    if (!cursor_parse(x->argv[1], x->argvlen[1], &cursor)) {
        reply_shared(x->rb, REPLY_SH_INVALID_CURSOR);
        return;
    }
    long long count = 10;
    const uint8_t *pat = NULL, *tname = NULL;
    size_t patlen = 0, tlen = 0;
    for (size_t i = 2; i < x->argc; i += 2) {
        bool has_value = x->argc - i >= 2;
        if (has_value && cmd_arg_is(x, i, "count")) {
            if (!cmd_arg_ll(x, i + 1, &count)) return;
            if (count < 1) {
                reply_shared(x->rb, REPLY_SH_SYNTAX);
                return;
            }
        } else if (has_value && cmd_arg_is(x, i, "match")) {
            pat = x->argv[i + 1];
            patlen = x->argvlen[i + 1];
        } else if (has_value && cmd_arg_is(x, i, "type")) {
            tname = x->argv[i + 1];
            tlen = x->argvlen[i + 1];
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    uint8_t *start = NULL, *prefix = NULL, *next = NULL;
    size_t slen = 0, plen = 0, nlen = 0;
    key_sink s;
    int rc = sink_init(&s, pat, patlen, &prefix, &plen) ? 0 : KS_ENOMEM;
    if (tname) s.type = type_by_name(tname, tlen);
    if (!rc && cursor) {
        rc = cursor_get(cursor, x->ns, &start, &slen);
        if (rc == -1) {
            reply_shared(x->rb, REPLY_SH_INVALID_CURSOR);
            goto out;
        }
    }
    if (!rc)
        rc = ks_scan(x->k, x->ns, start, slen, prefix, plen, (size_t)count, x->now_ms, sink_key, &s, &next, &nlen);
    if (!rc && s.out.failed) rc = KS_ENOMEM;
    uint64_t id = 0;
    if (!rc && next && !(id = cursor_put(x->ns, next, nlen))) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    reply_array_header(x->rb, 2);
    char digits[RESP_LL_STR_MAX];
    reply_bulk(x->rb, digits, resp_ull_to_str(digits, id));
    reply_array_header(x->rb, s.n);
    reply_raw(x->rb, s.out.data, s.out.len);
out:
    free(start);
    free(prefix);
    free(next);
    reply_buf_destroy(&s.out);
}

/* ---- RANDOMKEY ------------------------------------------------------------------------------------ */

#define RK_MAX_DEPTH 64       /* bytes of prefix the descent may fix */
#define RK_BUDGET 96          /* range probes per call */
#define RK_PROBE_VISITS 8     /* records a probe visits looking for a live one */
#define RK_FANOUT 16          /* children listed per level before sampling by byte range */

static uint64_t rk_random(void) {
    static _Thread_local uint64_t state;
    if (!state) state = cursor_seed() | 1;
    return cursor_splitmix64(&state);
}

/* Enough of a key to steer the descent: its length and first RK_MAX_DEPTH + 1 bytes. */
typedef struct rk_hit {
    bool found;
    size_t klen;
    uint8_t head[RK_MAX_DEPTH + 1];
} rk_hit;

static void rk_keep(rk_hit *h, const uint8_t *key, size_t klen) {
    h->found = true;
    h->klen = klen;
    memcpy(h->head, key, klen < sizeof h->head ? klen : sizeof h->head);
}

static int rk_first(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    (void)rec;
    rk_keep(arg, key, klen);
    return 1;
}

/* The first key >= start within prefix: a live one among the next RK_PROBE_VISITS records, else
 * the record after them (maybe expired, but it shows which bytes keys have there). */
static int rk_probe(cmd_ctx *x, const uint8_t *prefix, size_t plen, const uint8_t *start, size_t slen, rk_hit *h,
                    int *budget) {
    uint8_t *next;
    size_t nlen;
    (*budget)--;
    h->found = false;
    int rc = ks_scan(x->k, x->ns, start, slen, prefix, plen, RK_PROBE_VISITS, x->now_ms, rk_first, h, &next, &nlen);
    if (!rc && !h->found && next) rk_keep(h, next, nlen);
    free(next);
    return rc;
}

/* The largest next byte after p[0, n) that some key has, knowing one >= lo: a binary search. */
static int rk_last_byte(cmd_ctx *x, const uint8_t *p, size_t n, uint8_t *s, int lo, int *budget, int *rc) {
    int hi = 255;
    rk_hit h;
    while (lo < hi && *budget > 0) {
        int mid = lo + (hi - lo + 1) / 2;
        s[n] = (uint8_t)mid;
        if ((*rc = rk_probe(x, p, n, s, n + 1, &h, budget))) break;
        if (h.found) lo = h.head[n];
        else hi = mid - 1;
    }
    return lo;
}

/* Picks the prefix p (*plen bytes) to start the final search from. At each level the children
 * (next bytes) are listed in order, one probe each, up to RK_FANOUT, and one is picked uniformly
 * (p itself counting as one more when it is a key); past RK_FANOUT children a byte is picked
 * uniformly between the first and the last child (found by binary search) and the first child
 * at or after it is taken. */
static int rk_descend(cmd_ctx *x, uint8_t *p, size_t *plen) {
    int budget = RK_BUDGET;
    uint8_t s[RK_MAX_DEPTH + 1];
    size_t n = 0;
    rk_hit kids[RK_FANOUT]; /* kids[i]: the first key below child i */
    int rc = rk_probe(x, p, 0, NULL, 0, &kids[0], &budget);
    while (!rc && kids[0].found && budget > 0 && n < RK_MAX_DEPTH) {
        memcpy(s, p, n);
        bool self = kids[0].klen == n; /* p itself is a key */
        if (self) {
            s[n] = 0;
            if ((rc = rk_probe(x, p, n, s, n + 1, &kids[0], &budget)) || !kids[0].found) break; /* a leaf */
        }
        int nk = 1, last = -1;
        rk_hit h;
        while (budget > 0 && kids[nk - 1].head[n] < 255) {
            s[n] = (uint8_t)(kids[nk - 1].head[n] + 1);
            if ((rc = rk_probe(x, p, n, s, n + 1, &h, &budget)) || !h.found) break;
            if (nk == RK_FANOUT) {
                last = rk_last_byte(x, p, n, s, h.head[n], &budget, &rc);
                break;
            }
            kids[nk++] = h;
        }
        if (rc) break;
        int pick;
        if (last < 0) {
            pick = (int)(rk_random() % (uint64_t)(nk + self)) - self;
        } else {
            int b = kids[0].head[n] + (int)(rk_random() % (uint64_t)(last - kids[0].head[n] + 1));
            for (pick = 0; pick < nk && kids[pick].head[n] < b; pick++) {}
            if (pick == nk) { /* beyond the listed children: the first one at or after b */
                s[n] = (uint8_t)b;
                if ((rc = rk_probe(x, p, n, s, n + 1, &kids[0], &budget)) || !kids[0].found) break;
                pick = 0;
            }
        }
        if (pick < 0) break; /* stop at p */
        if (pick > 0) kids[0] = kids[pick];
        p[n] = kids[0].head[n];
        n++;
    }
    *plen = n;
    return rc;
}

typedef struct rk_key {
    uint8_t *p;
    size_t n;
    bool found, nomem;
} rk_key;

static int rk_take(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    (void)rec;
    rk_key *k = arg;
    k->found = true;
    if (!(k->p = malloc(klen ? klen : 1))) k->nomem = true;
    else if (klen) memcpy(k->p, key, klen);
    k->n = klen;
    return 1;
}

void cmd_randomkey(cmd_ctx *x) {
    uint8_t p[RK_MAX_DEPTH] = {0};
    size_t plen = 0;
    rk_key k = {0};
    uint8_t *next = NULL;
    size_t nlen;
    int rc = rk_descend(x, p, &plen);
    /* the first live key at or after p, else (wrapping) the first live key at all */
    if (!rc) rc = ks_scan(x->k, x->ns, p, plen, NULL, 0, 0, x->now_ms, rk_take, &k, &next, &nlen);
    if (!rc && !k.found && plen) rc = ks_scan(x->k, x->ns, NULL, 0, NULL, 0, 0, x->now_ms, rk_take, &k, &next, &nlen);
    if (!rc && k.nomem) rc = KS_ENOMEM;
    if (rc) cmd_reply_ks_error(x, rc);
    else if (k.found) reply_bulk(x->rb, k.p, k.n);
    else reply_null(x->rb);
    free(k.p);
    free(next);
}
