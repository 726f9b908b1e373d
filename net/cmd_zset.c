/* cmd_zset.c -- the sorted set commands, with Redis 7.0's t_zset.c replies and error texts.
 *
 * A sorted set is a collection record (type KS_ZSET: version, size) and two entries per member
 * (keyspace.h, docs/FORMAT.md#keyspace):
 *   element  (space KS_ELEMS):  member -> score (the double's bits, u64 LE)
 *   score index (KS_SCORES):    order(score) u64 BE | member -> score (the same 8 bytes)
 * order() maps doubles to unsigned integers in the same order (negative: all bits flipped; else the
 * sign bit set; -0 counts as +0), so the score index is sorted by (score, member bytes): Redis's
 * order. Point lookups (ZSCORE, ZADD's read of the old score) use the elements; every range by
 * score or rank walks the score index, forward or backward, from a seek. A set of more than
 * 2 * ZRANK_LEAF members also has a rank index (zrank.h) that every write here keeps exact
 * (put_member / del_member log their index changes, zset_save applies them in the same batch), so
 * ZRANK, a rank far from the end a walk starts at, a long LIMIT offset and ZCOUNT cost O(log n)
 * and a range O(log n + k). Ranges by lex walk the elements (member order; Redis defines them only
 * when all scores are equal, and then the two orders agree); when the live bounds show one score,
 * ZLEXCOUNT and a long lex offset go through the ranks as well (lex_rank), else O(offset).
 * Every command holds its keys' stripe locks throughout (K3). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "strutil.h"
#include "zrank.h"

/* ---- scores --------------------------------------------------------------------------------------- */

static uint64_t dbits(double d) {
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

static double bits_d(uint64_t b) {
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static uint64_t order_of(double d) {
    if (d == 0) d = 0.0; /* -0 and +0 are one score */
    uint64_t b = dbits(d);
    return b >> 63 ? ~b : b | (1ull << 63);
}

static void be64(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void le64(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* A stored score: 8 bytes LE; anything else is corrupt (NaN, which no write stores). */
static bool score_of(const uint8_t *v, size_t vl, double *out) {
    if (vl != 8) return false;
    *out = bits_d(get_le(v));
    return !isnan(*out);
}

/* ---- the set and its writes --------------------------------------------------------------------- */

typedef struct zset {
    ks_coll c;
    ks_ckey ck;
    zrank_log log; /* the command's changes to the score index, for the rank index */
    ks_coll c0;    /* the record as the command found it */
} zset;

static zset zset_at(cmd_ctx *x, const uint8_t *key, size_t klen, const ks_coll *c) {
    zset z = {*c, {x->ns, key, klen, c->version}, {0}, *c};
    zrank_log_init(&z.log);
    return z;
}

/* Ends a write to z: the rank index takes the command's changes and the record goes into b (or is
 * deleted, when the set is empty). With rc already an error it only releases z's log; every writer
 * calls it once. */
static int zset_save(cmd_ctx *x, ks_batch *b, zset *z, int rc) {
    if (!rc && z->c.size) rc = zrank_apply(x->k, b, &z->ck, &z->c0, &z->c, &z->log);
    if (!rc) rc = cmd_batch_coll(x, b, z->ck.key, z->ck.klen, &z->c);
    zrank_log_free(&z->log);
    return rc;
}

/* The index key of (score, member): order BE | member, in buf (9+ bytes) or malloc'ed. */
typedef struct ikey {
    uint8_t small[128];
    uint8_t *p;
    size_t len;
} ikey;

static bool ikey_make(ikey *k, double score, const uint8_t *m, size_t ml) {
    k->len = 8 + ml;
    k->p = k->len <= sizeof k->small ? k->small : malloc(k->len);
    if (!k->p) return false;
    be64(k->p, order_of(score));
    if (ml) memcpy(k->p + 8, m, ml);
    return true;
}

static void ikey_free(ikey *k) {
    if (k->p != k->small) free(k->p);
}

/* ---- the score index's live bounds (ks_coll.lo / hi) ---------------------------------------------- */

static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

static void set_bound(ks_coll *c, bool hi, const uint8_t *k, size_t kl) {
    bool *has = hi ? &c->has_hi : &c->has_lo;
    *has = kl <= KS_HINT_MAX; /* a longer key: unknown (the edge of the range) */
    if (!*has) return;
    memcpy(hi ? c->hi : c->lo, k, kl);
    if (hi) c->hi_len = (uint8_t)kl;
    else c->lo_len = (uint8_t)kl;
}

static void set_base(ks_coll *c, const uint8_t *k, size_t kl) {
    c->has_base = kl <= KS_HINT_MAX;
    if (c->has_base) {
        memcpy(c->base, k, kl);
        c->base_len = (uint8_t)kl;
    }
    c->below = 0;
}

/* The low keys (ks_coll.low: the n_low smallest live entries, exactly): k goes in at its place when
 * it sorts below the last one (the last drops out when they are full); a k that does not fit keeps
 * the ones below it, still the smallest. A k above them all says nothing of what lies between. */
static void low_insert(ks_coll *c, const uint8_t *k, size_t kl) {
    uint8_t at = 0;
    while (at < c->n_low && key_cmp(c->low[at], c->low_len[at], k, kl) < 0) at++;
    if (at == c->n_low && (c->size != 0 || at)) return; /* above them all (an empty set: the first) */
    if (kl > KS_HINT_MAX) {
        c->n_low = at;
        return;
    }
    uint8_t n = c->n_low < KS_LOW_MAX ? c->n_low + 1 : KS_LOW_MAX;
    for (uint8_t i = n - 1; i > at; i--) {
        memcpy(c->low[i], c->low[i - 1], c->low_len[i - 1]);
        c->low_len[i] = c->low_len[i - 1];
    }
    memcpy(c->low[at], k, kl);
    c->low_len[at] = (uint8_t)kl;
    c->n_low = n;
}

/* k removed: out of the low keys if it is one (the rest are still the smallest); one that should be
 * there and is not means the hint is wrong, and it is dropped. */
static void low_remove(ks_coll *c, const uint8_t *k, size_t kl) {
    uint8_t at = 0;
    while (at < c->n_low && key_cmp(c->low[at], c->low_len[at], k, kl) < 0) at++;
    if (at == c->n_low) return;
    if (key_cmp(c->low[at], c->low_len[at], k, kl) != 0) {
        c->n_low = 0;
        return;
    }
    for (uint8_t i = at; i + 1 < c->n_low; i++) {
        memcpy(c->low[i], c->low[i + 1], c->low_len[i + 1]);
        c->low_len[i] = c->low_len[i + 1];
    }
    c->n_low--;
}

/* A new index entry: the bounds widen to it (a set that was empty starts with it, as its base);
 * one more live entry below the base when it is. */
static void bounds_insert(ks_coll *c, const uint8_t *k, size_t kl) {
    low_insert(c, k, kl);
    if (c->size == 0) {
        set_bound(c, false, k, kl);
        set_bound(c, true, k, kl);
        set_base(c, k, kl);
        return;
    }
    if (c->has_lo && key_cmp(k, kl, c->lo, c->lo_len) < 0) set_bound(c, false, k, kl);
    if (c->has_hi && key_cmp(k, kl, c->hi, c->hi_len) > 0) set_bound(c, true, k, kl);
    if (c->has_base && key_cmp(k, kl, c->base, c->base_len) < 0) c->below++;
}

/* An index entry removed: one less below the base when it was (a count that would go negative
 * means the record is not what it should be: the base is dropped, not trusted). */
static void bounds_remove(ks_coll *c, const uint8_t *k, size_t kl) {
    low_remove(c, k, kl);
    if (!c->has_base || key_cmp(k, kl, c->base, c->base_len) >= 0) return;
    if (c->below) c->below--;
    else c->has_base = false;
}

/* Adds or moves member to score in z (old: its current score when present). */
static int put_member(ks_batch *b, zset *z, const uint8_t *m, size_t ml, double score, const double *old) {
    /* -0 is stored as 0: Redis prints a small set's -0 as "0" (listpack), a big one's as "-0" */
    if (score == 0) score = 0.0;
    uint8_t v[8];
    le64(v, dbits(score));
    ikey k;
    int rc = 0;
    if (old) {
        if (!ikey_make(&k, *old, m, ml)) return KS_ENOMEM;
        rc = ks_batch_del_elem(b, &z->ck, KS_SCORES, k.p, k.len);
        if (!rc) rc = zrank_log_add(&z->log, k.p, k.len, -1);
        bounds_remove(&z->c, k.p, k.len);
        ikey_free(&k);
    }
    if (!rc && !ikey_make(&k, score, m, ml)) rc = KS_ENOMEM;
    if (rc) return rc;
    bounds_insert(&z->c, k.p, k.len);
    if (!old) z->c.size++;
    rc = ks_batch_put_elem(b, &z->ck, KS_SCORES, k.p, k.len, v, 8);
    if (!rc) rc = zrank_log_add(&z->log, k.p, k.len, +1);
    ikey_free(&k);
    if (!rc) rc = ks_batch_put_elem(b, &z->ck, KS_ELEMS, m, ml, v, 8);
    return rc;
}

static int del_member(ks_batch *b, zset *z, const uint8_t *m, size_t ml, double score) {
    ikey k;
    if (!ikey_make(&k, score, m, ml)) return KS_ENOMEM;
    int rc = ks_batch_del_elem(b, &z->ck, KS_SCORES, k.p, k.len);
    if (!rc) rc = zrank_log_add(&z->log, k.p, k.len, -1);
    bounds_remove(&z->c, k.p, k.len);
    ikey_free(&k);
    if (!rc) rc = ks_batch_del_elem(b, &z->ck, KS_ELEMS, m, ml);
    if (!rc) z->c.size--;
    return rc;
}

/* The score of member: 1 found, 0 not, or a negative status. */
static int get_score(cmd_ctx *x, const zset *z, const uint8_t *m, size_t ml, double *score) {
    uint8_t *v;
    size_t vl;
    int rc = ks_elem_get(x->k, &z->ck, KS_ELEMS, m, ml, &v, &vl);
    if (rc == KS_ENOTFOUND) return 0;
    if (rc) return rc;
    bool ok = score_of(v, vl, score);
    free(v);
    return ok ? 1 : KS_ECORRUPT;
}

static int lookup_zset(cmd_ctx *x, const uint8_t *key, size_t klen, bool read, ks_coll *c) {
    return cmd_coll_lookup(x, key, klen, KS_ZSET, read, c);
}

static void lock1(cmd_ctx *x, size_t i) { ks_lock(x->k, x->ns, x->argv[i], x->argvlen[i]); }
static void unlock1(cmd_ctx *x, size_t i) { ks_unlock(x->k, x->ns, x->argv[i], x->argvlen[i]); }

/* ---- ZADD / ZINCRBY ------------------------------------------------------------------------------- */

enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_INCR = 16, Z_CH = 32 };

static void zadd_generic(cmd_ctx *x, int flags, size_t scoreidx) {
    while (scoreidx < x->argc) {
        if (cmd_arg_is(x, scoreidx, "nx")) flags |= Z_NX;
        else if (cmd_arg_is(x, scoreidx, "xx")) flags |= Z_XX;
        else if (cmd_arg_is(x, scoreidx, "ch")) flags |= Z_CH;
        else if (cmd_arg_is(x, scoreidx, "incr")) flags |= Z_INCR;
        else if (cmd_arg_is(x, scoreidx, "gt")) flags |= Z_GT;
        else if (cmd_arg_is(x, scoreidx, "lt")) flags |= Z_LT;
        else break;
        scoreidx++;
    }
    size_t elements = x->argc - scoreidx;
    if (elements % 2 || !elements) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    elements /= 2;
    bool nx = flags & Z_NX, xx = flags & Z_XX, gt = flags & Z_GT, lt = flags & Z_LT, incr = flags & Z_INCR;
    if (nx && xx) {
        reply_error(x->rb, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(x->rb, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(x->rb, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = malloc(elements * sizeof *scores);
    bool *dup = malloc(elements * sizeof *dup), *present = malloc(elements * sizeof *present);
    const uint8_t **ms = malloc(elements * sizeof *ms);
    size_t *mls = malloc(elements * sizeof *mls);
    if (!scores || !dup || !present || !ms || !mls) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto done;
    }
    for (size_t j = 0; j < elements; j++) {
        if (!cmd_arg_double(x, scoreidx + 2 * j, &scores[j])) goto done;
        ms[j] = x->argv[scoreidx + 2 * j + 1];
        mls[j] = x->argvlen[scoreidx + 2 * j + 1];
    }
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], false, &c);
    if (found < 0) goto out;
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    if (!found && xx) goto reply;
    if (!found) ks_coll_new(x->k, KS_ZSET, &c);
    if (!cmd_mark_dups(x, elements, ms, mls, dup)) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    int rc = 0;
    /* a member named twice: its later pair sees the earlier one's effect, as in Redis; the batch
     * applies in order, and present[]/scores[] track each pair's outcome for the repeats */
    for (size_t j = 0; !rc && j < elements; j++) {
        double cur = 0;
        int has = 0;
        bool seen = false;
        for (size_t i = j; dup[j] && i-- > 0 && !seen;)
            if (mls[i] == mls[j] && (mls[j] == 0 || !memcmp(ms[i], ms[j], mls[j]))) {
                seen = true; /* the latest earlier pair of this member decides */
                has = present[i];
                cur = scores[i];
            }
        if (!seen && found) {
            has = get_score(x, &z, ms[j], mls[j], &cur);
            if (has < 0) {
                rc = has;
                break;
            }
        }
        score = scores[j];
        present[j] = has;
        if (has) {
            if (nx) {
                scores[j] = cur; /* unchanged, for later repeats */
                continue;
            }
            if (incr) {
                score += cur;
                if (isnan(score)) {
                    reply_error(x->rb, "ERR resulting score is not a number (NaN)");
                    zrank_log_free(&z.log);
                    goto out;
                }
            }
            if ((lt && score >= cur) || (gt && score <= cur)) {
                scores[j] = cur;
                continue;
            }
            processed++;
            if (score != cur || dbits(score) != dbits(cur)) {
                rc = put_member(b, &z, ms[j], mls[j], score, &cur);
                if (score != cur) updated++;
            }
        } else {
            if (xx) continue; /* still absent (present[j] false) */
            processed++;
            added++;
            present[j] = true;
            rc = put_member(b, &z, ms[j], mls[j], score, NULL);
        }
        scores[j] = score == 0 ? 0.0 : score; /* as stored */
    }
    if (rc || ks_batch_count(b)) rc = zset_save(x, b, &z, rc);
    zrank_log_free(&z.log); /* the NaN exit above leaves it here */
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (!cmd_write(x, b)) goto out;
reply:
    if (incr) {
        if (processed) reply_double(x->rb, score);
        else reply_null(x->rb);
    } else {
        reply_int(x->rb, flags & Z_CH ? added + updated : added);
    }
out:
    unlock1(x, 1);
done:
    free(scores);
    free(dup);
    free(present);
    free(ms);
    free(mls);
}

void cmd_zadd(cmd_ctx *x) { zadd_generic(x, 0, 2); }

void cmd_zincrby(cmd_ctx *x) {
    /* ZINCRBY key increment member is ZADD key INCR increment member */
    zadd_generic(x, Z_INCR, 2);
}

/* ---- ZREM / ZCARD / ZSCORE / ZMSCORE ---------------------------------------------------------------- */

void cmd_zrem(cmd_ctx *x) {
    size_t n = x->argc - 2;
    bool *dup = malloc(n * sizeof *dup);
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found <= 0) goto out;
    if (!dup) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    if (!cmd_mark_dups(x, n, x->argv + 2, x->argvlen + 2, dup)) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    long long removed = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (dup[i]) continue;
        double s = 0;
        int has = get_score(x, &z, x->argv[2 + i], x->argvlen[2 + i], &s);
        if (has < 0) rc = has;
        else if (has && !(rc = del_member(b, &z, x->argv[2 + i], x->argvlen[2 + i], s))) removed++;
    }
    if (rc || removed) rc = zset_save(x, b, &z, rc);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, removed);
out:
    free(dup);
    unlock1(x, 1);
}

void cmd_zcard(cmd_ctx *x) {
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], true, &c);
    if (found >= 0) reply_int(x->rb, found ? (long long)c.size : 0);
    unlock1(x, 1);
}

static void score_reads(cmd_ctx *x, bool multi) {
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], true, &c);
    if (found < 0) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    size_t n = x->argc - 2;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        double s = 0;
        int has = found ? get_score(x, &z, x->argv[2 + i], x->argvlen[2 + i], &s) : 0;
        if (has < 0) rc = has;
        else if (has) reply_double(&items, s);
        else reply_null(&items);
    }
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
    } else {
        if (multi) reply_array_header(x->rb, n);
        reply_raw(x->rb, items.data, items.len);
    }
    reply_buf_destroy(&items);
out:
    unlock1(x, 1);
}

void cmd_zscore(cmd_ctx *x) { score_reads(x, false); }
void cmd_zmscore(cmd_ctx *x) { score_reads(x, true); }

/* ---- ranges: parsing ---------------------------------------------------------------------------- */

typedef struct score_range {
    double min, max;
    bool minex, maxex;
} score_range;

/* zslParseRange: "(" for exclusive; what strtod takes, not NaN. */
/* zslParseRange: "(" for exclusive, then strtod over the argument as a C string (so "" and "("
 * are 0, leading spaces pass, and an embedded NUL ends it), not NaN. */
static bool parse_score_bound(const uint8_t *p, size_t n, double *v, bool *ex) {
    *ex = n && p[0] == '(';
    if (*ex) {
        p++;
        n--;
    }
    const uint8_t *nul = n ? memchr(p, 0, n) : NULL;
    if (nul) n = (size_t)(nul - p);
    char small[128];
    char *buf = n < sizeof small ? small : malloc(n + 1);
    if (!buf) return false;
    if (n) memcpy(buf, p, n);
    buf[n] = 0;
    char *end;
    *v = strtod(buf, &end);
    bool ok = *end == 0 && !isnan(*v);
    if (buf != small) free(buf);
    return ok;
}

static bool parse_score_range(const cmd_ctx *x, size_t imin, size_t imax, score_range *r) {
    return parse_score_bound(x->argv[imin], x->argvlen[imin], &r->min, &r->minex) &&
           parse_score_bound(x->argv[imax], x->argvlen[imax], &r->max, &r->maxex);
}

static bool score_gte_min(const score_range *r, double s) { return r->minex ? s > r->min : s >= r->min; }
static bool score_lte_max(const score_range *r, double s) { return r->maxex ? s < r->max : s <= r->max; }

typedef struct lex_bound {
    const uint8_t *p;
    size_t n;
    int inf; /* -1: "-" (below everything), +1: "+" (above everything), 0: a string */
    bool ex;
} lex_bound;

typedef struct lex_range {
    lex_bound min, max;
} lex_range;

static bool parse_lex_bound(const uint8_t *p, size_t n, lex_bound *b) {
    memset(b, 0, sizeof *b);
    if (n == 1 && p[0] == '-') b->inf = -1;
    else if (n == 1 && p[0] == '+') b->inf = 1;
    else if (n >= 1 && (p[0] == '(' || p[0] == '[')) {
        b->ex = p[0] == '(';
        b->p = p + 1;
        b->n = n - 1;
    } else return false;
    return true;
}

static int lex_cmp(const uint8_t *a, size_t an, const lex_bound *b) {
    if (b->inf) return -b->inf;
    size_t n = an < b->n ? an : b->n;
    int c = n ? memcmp(a, b->p, n) : 0;
    return c ? c : (an > b->n) - (an < b->n);
}

static bool lex_gte_min(const lex_range *r, const uint8_t *m, size_t ml) {
    int c = lex_cmp(m, ml, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

static bool lex_lte_max(const lex_range *r, const uint8_t *m, size_t ml) {
    int c = lex_cmp(m, ml, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

/* ---- ranges: walking ----------------------------------------------------------------------------- */

/* Where a range's members go. */
typedef struct zsink {
    reply_buf *items;    /* the reply's items, or NULL */
    bool withscores;
    bool resp3_pairs;    /* [member, score] pairs (RESP3 WITHSCORES) */
    /* ZRANGESTORE / ZREMRANGEBY*: the members to write or delete */
    ks_batch *b;
    zset *dst;           /* store into: put_member */
    zset *del_from;      /* remove from: del_member */
    uint64_t n;
    int rc;
    uint8_t last_del[KS_HINT_MAX]; /* the last removed index key, when it fits (last_del_len) */
    size_t last_del_len;
    bool last_del_fits;
} zsink;

static void sink_member(zsink *s, const uint8_t *m, size_t ml, double score) {
    if (s->items) {
        if (s->resp3_pairs && s->withscores) reply_array_header(s->items, 2);
        reply_bulk(s->items, m, ml);
        if (s->withscores) reply_double(s->items, score);
    }
    if (s->b && s->dst && !s->rc) s->rc = put_member(s->b, s->dst, m, ml, score, NULL);
    if (s->b && s->del_from && !s->rc) {
        s->rc = del_member(s->b, s->del_from, m, ml, score);
        ikey k;
        s->last_del_fits = 8 + ml <= KS_HINT_MAX && ikey_make(&k, score, m, ml);
        if (s->last_del_fits) {
            memcpy(s->last_del, k.p, k.len);
            s->last_del_len = k.len;
            ikey_free(&k);
        }
    }
    s->n++;
}

/* After removing a run of entries that began at the low end (or, rev, the high end): the last one
 * removed bounds what is left, and the next walk from that end seeks past the tombstones. */
static void bounds_after_trim(const zsink *s, bool rev) {
    if (!s->del_from || !s->n) return;
    ks_coll *c = &s->del_from->c;
    if (!s->last_del_fits) {
        if (rev) c->has_hi = false;
        else c->has_lo = false;
        return;
    }
    set_bound(c, rev, s->last_del, s->last_del_len);
}

/* The member and score at the index iterator's position. */
static bool index_entry(ks_elems *it, const uint8_t **m, size_t *ml, double *score) {
    size_t kl, vl;
    const uint8_t *k = ks_elems_el(it, &kl), *v = ks_elems_val(it, &vl);
    if (kl < 8 || !score_of(v, vl, score)) return false;
    *m = k + 8;
    *ml = kl - 8;
    return true;
}

/* Ranks [start, end] (sanitized, start <= end < size), forward or from the end. It never steps
 * past `end`: beyond the range may lie a run of tombstones (a trimmed leaderboard's), which only
 * a trim that needs to know where the rest starts crosses (below). */
static int walk_rank(cmd_ctx *x, const zset *z, uint64_t start, uint64_t end, bool rev, zsink *s) {
    ks_elems *it;
    int rc = ks_elems_open(x->k, &z->ck, KS_SCORES, &it);
    if (rc) return rc;
    uint64_t pos = 0, size0 = z->c.size;
    uint8_t *first = NULL; /* a trim of the high end: the first entry it removes */
    size_t first_len = 0;
    bool top_trim = s->del_from && !rev && start > 0 && end == size0 - 1;
    if (start > 2 * ZRANK_LEAF && z->c.rank_levels) {
        /* far from the end it starts at: the rank index finds the first entry, O(log n) */
        uint8_t *k;
        size_t kl;
        rc = zrank_key_at(x->k, &z->ck, &z->c, rev ? z->c.size - 1 - start : start, &k, &kl);
        if (rc) {
            ks_elems_close(it);
            return rc;
        }
        if (rev) ks_elems_seek_for_prev(it, k, kl);
        else ks_elems_seek(it, k, kl);
        free(k);
        pos = start;
    } else if (rev && z->c.has_hi) ks_elems_seek_for_prev(it, z->c.hi, z->c.hi_len);
    else if (rev) ks_elems_seek_last(it);
    else if (z->c.has_lo) ks_elems_seek(it, z->c.lo, z->c.lo_len);
    bool reached = false;
    while (ks_elems_valid(it) && !s->rc) {
        if (pos >= start) {
            const uint8_t *m;
            size_t ml;
            double sc = 0;
            if (!index_entry(it, &m, &ml, &sc)) {
                rc = KS_ECORRUPT;
                break;
            }
            if (top_trim && pos == start) {
                size_t kl;
                const uint8_t *k = ks_elems_el(it, &kl);
                if ((first = malloc(kl ? kl : 1))) memcpy(first, k, kl);
                first_len = kl;
            }
            sink_member(s, m, ml, sc);
        }
        if (pos == end) {
            reached = true;
            break;
        }
        pos++;
        if (rev) ks_elems_prev(it);
        else ks_elems_next(it);
    }
    if (!rc) rc = ks_elems_status(it);
    if (!rc && !reached && !s->rc) rc = KS_ECORRUPT; /* fewer entries than the record's size */
    if (!rc && !s->rc && top_trim && s->n) {
        /* the rest ends just below the first entry removed: the next walk from the high end
         * seeks there instead of crossing the tombstones */
        ks_coll *c = &s->del_from->c;
        c->has_hi = false;
        if (first) {
            ks_elems_seek_for_prev(it, first, first_len);
            if (ks_elems_valid(it)) ks_elems_prev(it);
            rc = ks_elems_status(it);
            if (!rc && ks_elems_valid(it)) {
                size_t kl;
                const uint8_t *k = ks_elems_el(it, &kl);
                set_bound(c, true, k, kl);
            }
        }
    }
    free(first);
    if (!rc && !s->rc && start == 0 && s->del_from && s->n) {
        ks_coll *c = &s->del_from->c;
        if (rev) {
            bounds_after_trim(s, true);
        } else if (c->n_low) {
            /* the smallest entries left are known: the rest starts at the first of them */
            set_bound(c, false, c->low[0], c->low_len[0]);
            set_base(c, c->low[0], c->low_len[0]);
        } else if (c->has_base && c->below == 0 && s->last_del_fits &&
                   key_cmp(s->last_del, s->last_del_len, c->base, c->base_len) < 0) {
            /* it removed exactly the entries below the base: the rest starts there */
            set_bound(c, false, c->base, c->base_len);
        } else {
            /* it went past the base (or there was none): find where the rest starts, once */
            ks_elems_next(it);
            rc = ks_elems_status(it);
            if (!rc && ks_elems_valid(it)) {
                size_t kl;
                const uint8_t *k = ks_elems_el(it, &kl);
                set_bound(c, false, k, kl);
                set_base(c, k, kl);
                /* and the next few, as the low keys (live entries are close together here) */
                c->n_low = 0;
                for (int i = 0; i < KS_LOW_MAX && !rc && ks_elems_valid(it); i++) {
                    k = ks_elems_el(it, &kl);
                    if (kl > KS_HINT_MAX) break;
                    memcpy(c->low[i], k, kl);
                    c->low_len[i] = (uint8_t)kl;
                    c->n_low = (uint8_t)(i + 1);
                    if (i + 1 < KS_LOW_MAX) ks_elems_next(it);
                    rc = ks_elems_status(it);
                }
            } else if (!rc) {
                c->has_lo = c->has_base = false; /* nothing left: the record goes */
            }
        }
    }
    ks_elems_close(it);
    return rc ? rc : s->rc;
}

/* What a range walk compares: scores (over the score index) or members (over the elements). */
typedef struct range_test {
    const score_range *sr; /* by score, or */
    const lex_range *lr;   /* by member */
} range_test;

/* From the iterator's position, one way: entries inside the range, skipping offset (< 0: none at
 * all), at most limit (< 0: all), stopping at the first past the far end. An entry before the
 * near end (an exclusive bound's equal scores) is passed over. */
static int walk_range(ks_elems *it, const range_test *t, bool rev, long long offset, long long limit, zsink *s) {
    if (offset < 0) return 0;
    int rc = 0;
    while (ks_elems_valid(it) && limit != 0 && !s->rc) {
        const uint8_t *m;
        size_t ml;
        double sc = 0;
        bool ok;
        if (t->sr) {
            ok = index_entry(it, &m, &ml, &sc);
        } else {
            size_t vl;
            m = ks_elems_el(it, &ml);
            const uint8_t *v = ks_elems_val(it, &vl);
            ok = score_of(v, vl, &sc);
        }
        if (!ok) {
            rc = KS_ECORRUPT;
            break;
        }
        bool in_lo = t->sr ? score_gte_min(t->sr, sc) : lex_gte_min(t->lr, m, ml);
        bool in_hi = t->sr ? score_lte_max(t->sr, sc) : lex_lte_max(t->lr, m, ml);
        if (rev ? !in_lo : !in_hi) break;
        if (in_lo && in_hi) {
            if (offset > 0) offset--;
            else {
                sink_member(s, m, ml, sc);
                if (limit > 0) limit--;
            }
        }
        if (rev) ks_elems_prev(it);
        else ks_elems_next(it);
    }
    if (!rc) rc = ks_elems_status(it);
    return rc ? rc : s->rc;
}

/* The score-index key below which the range r starts (rev: ends): every member of a score s
 * sorts at or above the 8-byte prefix order(s), and below order(s) + 1. */
static void score_edge(const score_range *r, bool hi, uint8_t out[8]) {
    double s = hi ? r->max : r->min;
    bool ex = hi ? r->maxex : r->minex;
    uint64_t o = order_of(s);
    /* no stored score has order UINT64_MAX (that would be a NaN), so o + 1 never wraps */
    be64(out, (hi ? !ex : ex) ? o + 1 : o);
}

/* With a rank index: how many entries sort before the range r (rev: how many are at or below its
 * high end), O(log n). */
static int score_rank(cmd_ctx *x, const zset *z, const score_range *r, bool hi, uint64_t *out) {
    uint8_t t[8];
    score_edge(r, hi, t);
    return zrank_count_below(x->k, &z->ck, &z->c, t, 8, out);
}

/* Scores in r, over the score index. */
static int walk_score(cmd_ctx *x, const zset *z, const score_range *r, bool rev, long long offset, long long limit,
                      zsink *s) {
    ks_elems *it;
    int rc = ks_elems_open(x->k, &z->ck, KS_SCORES, &it);
    if (rc) return rc;
    uint8_t t[8];
    if (offset > (long long)(2 * ZRANK_LEAF) && z->c.rank_levels) {
        /* a long offset: the rank index finds where it ends, O(log n) instead of O(offset) */
        uint64_t before, first;
        rc = score_rank(x, z, r, rev, &before);
        if (!rc) {
            if (rev ? before <= (uint64_t)offset : before + (uint64_t)offset >= z->c.size) {
                ks_elems_close(it);
                return 0; /* the offset passes the end */
            }
            first = rev ? before - 1 - (uint64_t)offset : before + (uint64_t)offset;
            uint8_t *k;
            size_t kl;
            rc = zrank_key_at(x->k, &z->ck, &z->c, first, &k, &kl);
            if (!rc) {
                if (rev) ks_elems_seek_for_prev(it, k, kl);
                else ks_elems_seek(it, k, kl);
                free(k);
                offset = 0;
            }
        }
        if (rc) {
            ks_elems_close(it);
            return rc;
        }
    } else if (rev) {
        /* the last entry with score <= max: every member of max sorts below order(max)+1; no
         * further than the live high bound */
        uint64_t o = order_of(r->max);
        be64(t, o == UINT64_MAX ? o : o + 1);
        bool past = z->c.has_hi && key_cmp(t, 8, z->c.hi, z->c.hi_len) > 0;
        if (past) ks_elems_seek_for_prev(it, z->c.hi, z->c.hi_len);
        else if (o == UINT64_MAX) ks_elems_seek_last(it);
        else ks_elems_seek_for_prev(it, t, 8);
    } else {
        be64(t, order_of(r->min));
        bool before = z->c.has_lo && key_cmp(t, 8, z->c.lo, z->c.lo_len) < 0;
        if (before) ks_elems_seek(it, z->c.lo, z->c.lo_len);
        else ks_elems_seek(it, t, 8);
    }
    range_test test = {r, NULL};
    rc = walk_range(it, &test, rev, offset, limit, s);
    ks_elems_close(it);
    return rc;
}

/* With a rank index, when every member has one score (the live bounds share their order(score)
 * prefix: the only case where Redis defines lex ranges, and where member order is the score
 * index's order): how many entries sort before the lex range r starts (hi: at or below where it
 * ends), O(log n). 1 answered, 0 not this case, or an error. */
static int lex_rank(cmd_ctx *x, const zset *z, const lex_range *r, bool hi, uint64_t *out) {
    const ks_coll *c = &z->c;
    if (!c->rank_levels || !c->has_lo || !c->has_hi || c->lo_len < 8 || c->hi_len < 8 || memcmp(c->lo, c->hi, 8))
        return 0;
    const lex_bound *b = hi ? &r->max : &r->min;
    if (b->inf) {
        *out = (b->inf < 0) ? 0 : c->size;
        return 1;
    }
    /* the score-index key of the bound: order | member, and for an inclusive max or an exclusive
     * min the member's immediate successor (member | 0x00) */
    bool succ = hi ? !b->ex : b->ex;
    size_t kl = 8 + b->n + (succ ? 1 : 0);
    uint8_t small[128], *k = kl <= sizeof small ? small : malloc(kl);
    if (!k) return KS_ENOMEM;
    memcpy(k, c->lo, 8);
    if (b->n) memcpy(k + 8, b->p, b->n);
    if (succ) k[kl - 1] = 0;
    int rc = zrank_count_below(x->k, &z->ck, c, k, kl, out);
    if (k != small) free(k);
    return rc ? rc : 1;
}

/* Members in lex range r, over the elements (member order). */
static int walk_lex(cmd_ctx *x, const zset *z, const lex_range *r, bool rev, long long offset, long long limit,
                    zsink *s) {
    if (r->min.inf > 0 || r->max.inf < 0) return 0; /* "+" as min or "-" as max: empty */
    ks_elems *it;
    int rc = ks_elems_open(x->k, &z->ck, KS_ELEMS, &it);
    if (rc) return rc;
    uint64_t before = 0;
    int ranked = offset > (long long)(2 * ZRANK_LEAF) ? lex_rank(x, z, r, rev, &before) : 0;
    if (ranked > 0) {
        /* a long offset over one score: the rank index finds the member it lands on */
        if (rev ? before <= (uint64_t)offset : before + (uint64_t)offset >= z->c.size) {
            ks_elems_close(it);
            return 0;
        }
        uint8_t *k;
        size_t kl;
        rc = zrank_key_at(x->k, &z->ck, &z->c, rev ? before - 1 - (uint64_t)offset : before + (uint64_t)offset, &k, &kl);
        if (!rc) {
            if (kl < 8) rc = KS_ECORRUPT;
            else if (rev) ks_elems_seek_for_prev(it, k + 8, kl - 8);
            else ks_elems_seek(it, k + 8, kl - 8);
            free(k);
        }
        offset = 0;
    }
    if (ranked < 0 || rc) {
        ks_elems_close(it);
        return ranked < 0 ? ranked : rc;
    }
    if (ranked) {
        /* positioned */
    } else if (rev) {
        if (r->max.inf) ks_elems_seek_last(it);
        else ks_elems_seek_for_prev(it, r->max.p, r->max.n);
    } else {
        if (r->min.inf) ks_elems_seek(it, NULL, 0);
        else ks_elems_seek(it, r->min.p, r->min.n);
    }
    range_test test = {NULL, r};
    rc = walk_range(it, &test, rev, offset, limit, s);
    ks_elems_close(it);
    return rc;
}

/* ---- ZRANGE and friends ---------------------------------------------------------------------------- */

enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

/* Redis 7.0's zrangeGenericCommand: src at argv[src], min/max after it; store: ZRANGESTORE into
 * argv[1]. */
static void zrange_generic(cmd_ctx *x, size_t src, bool store, int by, int dir) {
    size_t minidx = src + 1, maxidx = src + 2;
    bool withscores = false;
    long long offset = 0, limit = -1, start = 0, end = 0;
    for (size_t j = src + 3; j < x->argc; j++) {
        size_t left = x->argc - j - 1;
        if (!store && cmd_arg_is(x, j, "withscores")) withscores = true;
        else if (cmd_arg_is(x, j, "limit") && left >= 2) {
            if (!cmd_arg_ll(x, j + 1, &offset) || !cmd_arg_ll(x, j + 2, &limit)) return;
            j += 2;
        } else if (dir == DIR_AUTO && cmd_arg_is(x, j, "rev")) dir = DIR_REV;
        else if (by == BY_AUTO && cmd_arg_is(x, j, "bylex")) by = BY_LEX;
        else if (by == BY_AUTO && cmd_arg_is(x, j, "byscore")) by = BY_SCORE;
        else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    if (dir == DIR_AUTO) dir = DIR_FWD;
    if (by == BY_AUTO) by = BY_RANK;
    if (limit != -1 && by == BY_RANK) {
        reply_error(x->rb, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && by == BY_LEX) {
        reply_error(x->rb, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    bool rev = dir == DIR_REV;
    if (rev && by != BY_RANK) { /* the range is given as max, min */
        size_t t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    score_range sr;
    lex_range lr;
    if (by == BY_RANK) {
        if (!cmd_arg_ll(x, minidx, &start) || !cmd_arg_ll(x, maxidx, &end)) return;
    } else if (by == BY_SCORE) {
        if (!parse_score_range(x, minidx, maxidx, &sr)) {
            reply_shared(x->rb, REPLY_SH_MINMAX_FLOAT);
            return;
        }
    } else if (!parse_lex_bound(x->argv[minidx], x->argvlen[minidx], &lr.min) ||
               !parse_lex_bound(x->argv[maxidx], x->argvlen[maxidx], &lr.max)) {
        reply_shared(x->rb, REPLY_SH_MINMAX_LEX);
        return;
    }
    const uint8_t *keys[2] = {x->argv[src], store ? x->argv[1] : NULL};
    size_t lens[2] = {x->argvlen[src], store ? x->argvlen[1] : 0};
    ks_lock_keys(x->k, x->ns, store ? 2 : 1, keys, lens);
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    ks_coll c, dc;
    int found = lookup_zset(x, keys[0], lens[0], !store, &c);
    if (found < 0) goto out;
    zset z = zset_at(x, keys[0], lens[0], &c), d;
    ks_batch *b = NULL;
    zsink s = {.items = store ? NULL : &items, .withscores = withscores, .resp3_pairs = x->rb->proto == 3};
    if (store) {
        ks_coll_new(x->k, KS_ZSET, &dc);
        d = zset_at(x, keys[1], lens[1], &dc);
        b = cmd_batch(x);
        s.b = b;
        s.dst = &d;
    }
    int rc = 0;
    uint64_t from, to;
    if (found) {
        if (by == BY_RANK) {
            if (cmd_index_range(start, end, c.size, &from, &to)) rc = walk_rank(x, &z, from, to, rev, &s);
        } else if (by == BY_SCORE) {
            rc = walk_score(x, &z, &sr, rev, offset, limit, &s);
        } else {
            rc = walk_lex(x, &z, &lr, rev, offset, limit, &s);
        }
    }
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (store && (rc || s.n)) {
        rc = zset_save(x, b, &d, rc);
    } else if (!rc && store) {
        ks_rec old;
        int had = ks_lookup(x->k, x->ns, keys[1], lens[1], x->now_ms, &old);
        if (had == 0) ks_rec_free(&old);
        if (had == 0) rc = ks_batch_delete(b, x->ns, keys[1], lens[1]);
        else if (had != KS_ENOTFOUND) rc = had;
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (store) {
        if (cmd_write(x, b)) reply_int(x->rb, (long long)s.n);
    } else {
        reply_array_header(x->rb, withscores && x->rb->proto == 2 ? s.n * 2 : s.n);
        reply_raw(x->rb, items.data, items.len);
    }
out:
    reply_buf_destroy(&items);
    ks_unlock_keys(x->k, x->ns, store ? 2 : 1, keys, lens);
}

void cmd_zrange(cmd_ctx *x) { zrange_generic(x, 1, false, BY_AUTO, DIR_AUTO); }
void cmd_zrangestore(cmd_ctx *x) { zrange_generic(x, 2, true, BY_AUTO, DIR_AUTO); }
void cmd_zrevrange(cmd_ctx *x) { zrange_generic(x, 1, false, BY_RANK, DIR_REV); }
void cmd_zrangebyscore(cmd_ctx *x) { zrange_generic(x, 1, false, BY_SCORE, DIR_FWD); }
void cmd_zrevrangebyscore(cmd_ctx *x) { zrange_generic(x, 1, false, BY_SCORE, DIR_REV); }
void cmd_zrangebylex(cmd_ctx *x) { zrange_generic(x, 1, false, BY_LEX, DIR_FWD); }
void cmd_zrevrangebylex(cmd_ctx *x) { zrange_generic(x, 1, false, BY_LEX, DIR_REV); }

/* ---- ZCOUNT / ZLEXCOUNT / ZRANK / ZREVRANK ---------------------------------------------------------------- */

static void count_generic(cmd_ctx *x, bool lex) {
    score_range sr;
    lex_range lr;
    if (!lex && !parse_score_range(x, 2, 3, &sr)) {
        reply_shared(x->rb, REPLY_SH_MINMAX_FLOAT);
        return;
    }
    if (lex && (!parse_lex_bound(x->argv[2], x->argvlen[2], &lr.min) || !parse_lex_bound(x->argv[3], x->argvlen[3], &lr.max))) {
        reply_shared(x->rb, REPLY_SH_MINMAX_LEX);
        return;
    }
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], true, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found > 0) {
        zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
        zsink s = {0};
        int rc;
        uint64_t lo = 0, hi = 0;
        int lexed = lex && !(lr.min.inf > 0 || lr.max.inf < 0) ? lex_rank(x, &z, &lr, false, &lo) : 0;
        if (lexed > 0) lexed = lex_rank(x, &z, &lr, true, &hi);
        if (lexed) { /* one score, with a rank index: O(log n) */
            rc = lexed < 0 ? lexed : 0;
            s.n = hi > lo ? hi - lo : 0;
        } else if (!lex && c.rank_levels) { /* O(log n): the ranks of both ends */
            rc = score_rank(x, &z, &sr, false, &lo);
            if (!rc) rc = score_rank(x, &z, &sr, true, &hi);
            s.n = hi > lo ? hi - lo : 0;
        } else {
            rc = lex ? walk_lex(x, &z, &lr, false, 0, -1, &s) : walk_score(x, &z, &sr, false, 0, -1, &s);
        }
        if (rc) cmd_reply_ks_error(x, rc);
        else reply_int(x->rb, (long long)s.n);
    }
    unlock1(x, 1);
}

void cmd_zcount(cmd_ctx *x) { count_generic(x, false); }
void cmd_zlexcount(cmd_ctx *x) { count_generic(x, true); }

static void rank_generic(cmd_ctx *x, bool rev) {
    lock1(x, 1);
    ks_coll c;
    ks_elems *it = NULL;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], true, &c);
    if (found == 0) reply_null(x->rb);
    if (found <= 0) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    double sc = 0;
    int has = get_score(x, &z, x->argv[2], x->argvlen[2], &sc);
    if (has <= 0) {
        if (has == 0) reply_null(x->rb);
        else cmd_reply_ks_error(x, has);
        goto out;
    }
    /* entries before (score, member) in the index: counted from the nearer end */
    ikey k;
    if (!ikey_make(&k, sc, x->argv[2], x->argvlen[2])) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto out;
    }
    uint64_t before = 0;
    int rc = c.rank_levels ? zrank_count_below(x->k, &z.ck, &z.c, k.p, k.len, &before)
                           : ks_elems_open(x->k, &z.ck, KS_SCORES, &it);
    if (!rc && !c.rank_levels && z.c.has_lo) ks_elems_seek(it, z.c.lo, z.c.lo_len);
    for (; !rc && it && ks_elems_valid(it); ks_elems_next(it)) {
        size_t el;
        const uint8_t *e = ks_elems_el(it, &el);
        if (el == k.len && !memcmp(e, k.p, el)) break;
        before++;
    }
    if (!rc && it) rc = ks_elems_status(it);
    ikey_free(&k);
    if (rc) cmd_reply_ks_error(x, rc);
    else reply_int(x->rb, (long long)(rev ? c.size - 1 - before : before));
out:
    ks_elems_close(it);
    unlock1(x, 1);
}

void cmd_zrank(cmd_ctx *x) { rank_generic(x, false); }
void cmd_zrevrank(cmd_ctx *x) { rank_generic(x, true); }

/* ---- ZREMRANGEBY* ----------------------------------------------------------------------------------------- */

static void remrange_generic(cmd_ctx *x, int by) {
    long long start = 0, end = 0;
    score_range sr;
    lex_range lr;
    if (by == BY_RANK && (!cmd_arg_ll(x, 2, &start) || !cmd_arg_ll(x, 3, &end))) return;
    if (by == BY_SCORE && !parse_score_range(x, 2, 3, &sr)) {
        reply_shared(x->rb, REPLY_SH_MINMAX_FLOAT);
        return;
    }
    if (by == BY_LEX && (!parse_lex_bound(x->argv[2], x->argvlen[2], &lr.min) || !parse_lex_bound(x->argv[3], x->argvlen[3], &lr.max))) {
        reply_shared(x->rb, REPLY_SH_MINMAX_LEX);
        return;
    }
    lock1(x, 1);
    ks_coll c;
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found <= 0) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    zsink s = {.b = b, .del_from = &z};
    int rc = 0;
    uint64_t from, to;
    if (by == BY_RANK) {
        if (cmd_index_range(start, end, c.size, &from, &to)) rc = walk_rank(x, &z, from, to, false, &s);
    } else if (by == BY_SCORE) {
        rc = walk_score(x, &z, &sr, false, 0, -1, &s);
    } else {
        rc = walk_lex(x, &z, &lr, false, 0, -1, &s);
    }
    if (rc || s.n) rc = zset_save(x, b, &z, rc);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, (long long)s.n);
out:
    unlock1(x, 1);
}

void cmd_zremrangebyrank(cmd_ctx *x) { remrange_generic(x, BY_RANK); }
void cmd_zremrangebyscore(cmd_ctx *x) { remrange_generic(x, BY_SCORE); }
void cmd_zremrangebylex(cmd_ctx *x) { remrange_generic(x, BY_LEX); }

/* ---- ZPOPMIN / ZPOPMAX / ZMPOP and the blocking forms ---------------------------------------------------- */

/* Pops up to count members from the first non-empty zset of keys (max: the highest scores).
 * shape: 0 ZPOPMIN/ZPOPMAX (a flat list; RESP3 with a count: pairs), 1 BZPOPMIN/BZPOPMAX
 * ([key, member, score]), 2 [B]ZMPOP ([key, [[member, score], ...]]). */
enum { SHAPE_POP, SHAPE_BPOP, SHAPE_MPOP };

static void pop_generic(cmd_ctx *x, const uint8_t *const *keys, const size_t *lens, size_t n, bool max, uint64_t count,
                        int shape, bool with_count, bool blocking, long long timeout_ms) {
    if (blocking && cmd_block_rerun(x) && x->c->block_timed_out) {
        reply_null_array(x->rb);
        return;
    }
    ks_lock_keys(x->k, x->ns, n, keys, lens);
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    bool done = false;
    for (size_t i = 0; i < n && !done; i++) {
        ks_coll c;
        int found = blocking ? cmd_coll_lookup_ready(x, keys[i], lens[i], KS_ZSET, &c)
                             : lookup_zset(x, keys[i], lens[i], false, &c);
        if (found < 0) {
            done = true;
            break;
        }
        if (!found) continue;
        done = true;
        if (count == 0) { /* ZPOPMIN key 0: after the type check */
            reply_array_header(x->rb, 0);
            break;
        }
        zset z = zset_at(x, keys[i], lens[i], &c);
        ks_batch *b = cmd_batch(x);
        bool pairs = shape == SHAPE_MPOP || (shape == SHAPE_POP && with_count && x->rb->proto == 3);
        zsink s = {.items = &items, .withscores = true, .resp3_pairs = pairs, .b = b, .del_from = &z};
        uint64_t take = count < c.size ? count : c.size;
        int rc = take ? walk_rank(x, &z, 0, take - 1, max, &s) : 0;
        rc = zset_save(x, b, &z, rc);
        if (!rc && items.failed) rc = KS_ENOMEM;
        if (rc) {
            cmd_reply_ks_error(x, rc);
        } else if (cmd_write(x, b)) {
            if (shape == SHAPE_MPOP) {
                reply_array_header(x->rb, 2);
                reply_bulk(x->rb, keys[i], lens[i]);
                reply_array_header(x->rb, s.n);
            } else if (shape == SHAPE_BPOP) {
                reply_array_header(x->rb, 3);
                reply_bulk(x->rb, keys[i], lens[i]);
            } else {
                reply_array_header(x->rb, pairs ? s.n : s.n * 2);
            }
            reply_raw(x->rb, items.data, items.len);
        }
    }
    if (!done && !(blocking && cmd_block(x, timeout_ms, n, keys, lens))) {
        if (shape == SHAPE_POP) reply_array_header(x->rb, 0);
        else reply_null_array(x->rb);
    }
    reply_buf_destroy(&items);
    ks_unlock_keys(x->k, x->ns, n, keys, lens);
}

/* ZPOPMIN / ZPOPMAX key [count] */
static void zpop(cmd_ctx *x, bool max) {
    long long count = 1;
    if (x->argc > 3) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    if (x->argc == 3) {
        if (!resp_str_to_ll(x->argv[2], x->argvlen[2], &count) || count < 0) {
            reply_error(x->rb, "ERR value is out of range, must be positive");
            return;
        }
    }
    pop_generic(x, x->argv + 1, x->argvlen + 1, 1, max, (uint64_t)count, SHAPE_POP, x->argc == 3, false, 0);
}

void cmd_zpopmin(cmd_ctx *x) { zpop(x, false); }
void cmd_zpopmax(cmd_ctx *x) { zpop(x, true); }

/* BZPOPMIN / BZPOPMAX key [key ...] timeout */
static void bzpop(cmd_ctx *x, bool max) {
    long long ms;
    if (cmd_arg_timeout(x, x->argc - 1, &ms))
        pop_generic(x, x->argv + 1, x->argvlen + 1, x->argc - 2, max, 1, SHAPE_BPOP, false, true, ms);
}

void cmd_bzpopmin(cmd_ctx *x) { bzpop(x, false); }
void cmd_bzpopmax(cmd_ctx *x) { bzpop(x, true); }

/* [B]ZMPOP [timeout] numkeys key [key ...] MIN|MAX [COUNT count]: numkeys at argv[nk]. */
static void zmpop_generic(cmd_ctx *x, size_t nk, bool blocking) {
    size_t numkeys;
    int max; /* MIN 0, MAX 1 */
    long long count, ms = 0;
    if (!cmd_parse_mpop(x, nk, "min", "max", &numkeys, &max, &count)) return;
    if (blocking && !cmd_arg_timeout(x, 1, &ms)) return;
    pop_generic(x, x->argv + nk + 1, x->argvlen + nk + 1, numkeys, max, (uint64_t)count, SHAPE_MPOP, true, blocking, ms);
}

void cmd_zmpop(cmd_ctx *x) { zmpop_generic(x, 1, false); }
void cmd_bzmpop(cmd_ctx *x) { zmpop_generic(x, 2, true); }

/* ---- ZRANDMEMBER / ZSCAN ------------------------------------------------------------------------------------ */

typedef struct pick_out {
    reply_buf *out;
    bool withscores, pairs;
    int rc;
} pick_out;

static void pick_member(void *arg, const uint8_t *m, size_t ml, const uint8_t *v, size_t vl) {
    pick_out *p = arg;
    double sc = 0;
    if (p->withscores && !score_of(v, vl, &sc)) {
        p->rc = KS_ECORRUPT;
        return;
    }
    if (p->withscores && p->pairs) reply_array_header(p->out, 2);
    reply_bulk(p->out, m, ml);
    if (p->withscores) reply_double(p->out, sc);
}

/* The score whose order() is o (scores are never NaN, and -0 is stored as 0). */
static double score_of_order(uint64_t o) { return bits_d(o >> 63 ? o & ~(1ull << 63) : ~o); }

/* Uniform picks through the rank index: a random rank each, distinct ranks when uniq, O(log n) a
 * pick (cmd_coll_random's seeks to random keys favour members after wide gaps in key order). */
static int rank_picks(cmd_ctx *x, const zset *z, uint64_t count, bool uniq, pick_out *po, uint64_t *emitted) {
    uint64_t *seen = NULL; /* rank + 1, open addressing */
    size_t cap = 16;
    if (uniq) {
        while (cap < 2 * count) cap *= 2;
        if (!(seen = calloc(cap, sizeof *seen))) return KS_ENOMEM;
    }
    int rc = 0;
    while (!rc && !po->rc && *emitted < count) {
        uint64_t r = cmd_random() % z->c.size;
        if (uniq) {
            size_t i = (size_t)((r * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
            while (seen[i] && seen[i] != r + 1) i = (i + 1) & (cap - 1);
            if (seen[i]) continue; /* taken: another rank (count <= size / 4: few retries) */
            seen[i] = r + 1;
        }
        uint8_t *k;
        size_t kl;
        if ((rc = zrank_key_at(x->k, &z->ck, &z->c, r, &k, &kl))) break;
        if (kl < 8) rc = KS_ECORRUPT;
        if (!rc) {
            uint64_t o = 0;
            for (int i = 0; i < 8; i++) o = (o << 8) | k[i];
            uint8_t v[8];
            le64(v, dbits(score_of_order(o)));
            pick_member(po, k + 8, kl - 8, v, 8);
            (*emitted)++;
        }
        free(k);
    }
    free(seen);
    return rc;
}

/* Picks through the rank index when the sampling path would seek: a big set with an index, a
 * count it serves quickly, few enough distinct picks that random ranks rarely repeat. */
#define ZRAND_RANK_PICKS_MAX 65536u

void cmd_zrandmember(cmd_ctx *x) {
    long long l = 1;
    bool with_count = x->argc >= 3, withscores = false;
    if (with_count) {
        if (!cmd_arg_ll(x, 2, &l)) return;
        if (l < -LLONG_MAX) {
            /* (sic: Redis 7.0's zrandmember text) */
            reply_errorf(x->rb, "ERR value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
            return;
        }
        if (x->argc > 4 || (x->argc == 4 && !cmd_arg_is(x, 3, "withscores"))) {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
        if (x->argc == 4) {
            withscores = true;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
                reply_error(x->rb, "ERR value is out of range");
                return;
            }
        }
    }
    lock1(x, 1);
    ks_coll c;
    ks_elems *it = NULL;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = lookup_zset(x, x->argv[1], x->argvlen[1], true, &c);
    uint64_t count = l >= 0 ? (uint64_t)l : (uint64_t)(-l);
    if (found == 0 || (found > 0 && with_count && count == 0)) {
        if (with_count) reply_array_header(x->rb, 0);
        else reply_null(x->rb);
    }
    if (found <= 0 || (with_count && count == 0)) goto out;
    if (l < 0 && !cmd_random_count_ok(x, count)) goto out;
    zset z = zset_at(x, x->argv[1], x->argvlen[1], &c);
    pick_out po = {&items, withscores, x->rb->proto == 3, 0};
    uint64_t emitted = 0;
    int rc = 0;
    if (c.rank_levels && c.size > CMD_RANDOM_PASS_MAX && count <= ZRAND_RANK_PICKS_MAX && (l < 0 || count <= c.size / 4))
        rc = rank_picks(x, &z, count, l >= 0, &po, &emitted);
    else if (!(rc = ks_elems_open(x->k, &z.ck, KS_ELEMS, &it)))
        rc = cmd_coll_random(it, c.size, count, l >= 0, pick_member, &po, &emitted);
    if (!rc) rc = po.rc;
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (with_count) reply_array_header(x->rb, withscores && x->rb->proto == 2 ? emitted * 2 : emitted);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    reply_buf_destroy(&items);
    unlock1(x, 1);
}

static size_t emit_member_score(reply_buf *rb, const uint8_t *el, size_t elen, const uint8_t *val, size_t vlen) {
    double sc = 0;
    score_of(val, vlen, &sc);
    char buf[64];
    reply_bulk(rb, el, elen);
    reply_bulk(rb, buf, resp_double_to_str(buf, sizeof buf, sc));
    return 2;
}

void cmd_zscan(cmd_ctx *x) { cmd_coll_scan(x, KS_ZSET, emit_member_score); }

/* ---- ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD ---------------------------------------------- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    ks_coll c;
    bool found;
    bool is_set;     /* a plain set: every member scores 1 */
    double weight;
    ks_elems *it;
} zsrc;

typedef struct zres {
    uint8_t *m;
    size_t ml;
    double score;
} zres;

/* Redis's zunionInterAggregate: target is never NaN; a NaN val is 0 for SUM (after adding) and
 * loses every MIN/MAX comparison. */
static double agg(int how, double target, double val) {
    if (how == AGG_SUM) {
        double r = target + val;
        return isnan(r) ? 0 : r; /* inf + -inf */
    }
    if (how == AGG_MIN) return val < target ? val : target;
    return val > target ? val : target;
}

/* The weighted score (NaN when 0 * inf: the callers decide, as Redis does). */
static double src_score(const zsrc *s, const uint8_t *v, size_t vl, bool *ok) {
    double sc = 1;
    *ok = s->is_set || score_of(v, vl, &sc);
    return sc * s->weight;
}

static int zres_cmp(const void *a, const void *b) {
    const zres *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    size_t n = x->ml < y->ml ? x->ml : y->ml;
    int c = n ? memcmp(x->m, y->m, n) : 0;
    return c ? c : (x->ml > y->ml) - (x->ml < y->ml);
}

static int el_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

typedef struct zres_list {
    zres *r;
    size_t n, cap;
    uint64_t limit; /* ZINTERCARD */
} zres_list;

static int zres_add(zres_list *l, const uint8_t *m, size_t ml, double score, bool keep) {
    if (!keep) { /* counting only */
        l->n++;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        zres *p = realloc(l->r, cap * sizeof *p);
        if (!p) return KS_ENOMEM;
        l->r = p;
        l->cap = cap;
    }
    uint8_t *copy = malloc(ml ? ml : 1);
    if (!copy) return KS_ENOMEM;
    if (ml) memcpy(copy, m, ml);
    l->r[l->n++] = (zres){copy, ml, score};
    return 0;
}

/* Merges the sources in member order into out (keep: collect members; else only count). */
/* Scores as Redis computes them: a union starts from each holder's weighted score with NaN as 0
 * and aggregates the others the same way; an intersection starts from the smallest set's
 * (NaN as 0) and aggregates the others' raw products; a difference keeps the first set's. */
static int run_zop_ordered(int op, int how, zsrc *src, size_t n, const size_t *ord, size_t first, zres_list *out,
                           bool keep);

static uint64_t card_of(const zsrc *s) { return s->found ? s->c.size : 0; }

static int run_zop(int op, int how, zsrc *src, size_t n, zres_list *out, bool keep) {
    /* Redis aggregates in the order of its sources sorted by size (a stable sort), which decides
     * where a NaN turns into 0 and how floating-point sums round: the same order here */
    size_t small_ord[16];
    size_t *ord = n <= 16 ? small_ord : malloc(n * sizeof *ord);
    if (!ord) return KS_ENOMEM;
    for (size_t i = 0; i < n; i++) { /* a stable insertion sort: numkeys is small */
        size_t j = i;
        for (; j > 0 && card_of(&src[ord[j - 1]]) > card_of(&src[i]); j--) ord[j] = ord[j - 1];
        ord[j] = i;
    }
    size_t first = ord[0]; /* the intersection starts from the smallest set */
    int rc = run_zop_ordered(op, how, src, n, ord, first, out, keep);
    if (ord != small_ord) free(ord);
    return rc;
}

static int run_zop_ordered(int op, int how, zsrc *src, size_t n, const size_t *ord, size_t first, zres_list *out,
                           bool keep) {
    for (size_t i = 0; i < n; i++)
        if (src[i].found) ks_elems_seek(src[i].it, NULL, 0);
    if (op == OP_INTER)
        for (size_t i = 0; i < n; i++)
            if (!src[i].found) return 0;
    if (op == OP_DIFF && !src[0].found) return 0;
    int rc = 0;
    while (!rc && !(out->limit && out->n >= out->limit)) {
        /* the smallest current member */
        const uint8_t *min = NULL;
        size_t minl = 0;
        for (size_t i = 0; i < n; i++) {
            if (!src[i].found || !ks_elems_valid(src[i].it)) continue;
            size_t el;
            const uint8_t *e = ks_elems_el(src[i].it, &el);
            if (!min || el_cmp(e, el, min, minl) < 0) {
                min = e;
                minl = el;
            }
        }
        if (!min) break;
        if (op != OP_UNION && (!src[0].found || !ks_elems_valid(src[0].it))) break; /* the first drives */
        uint8_t small[256];
        uint8_t *m = minl <= sizeof small ? small : malloc(minl);
        if (!m) return KS_ENOMEM;
        memcpy(m, min, minl);
        size_t holders = 0;
        bool first_has = false, ok = true;
        double score = 0;
        /* the weighted scores of the holders, in source order; then aggregated in Redis's order */
        double small_sc[16];
        double *sc = n <= 16 ? small_sc : malloc(n * sizeof *sc);
        bool small_has[16];
        bool *has = n <= 16 ? small_has : malloc(n * sizeof *has);
        if (!sc || !has) {
            if (sc != small_sc) free(sc);
            if (has != small_has) free(has);
            if (m != small) free(m);
            return KS_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            has[i] = false;
            if (!src[i].found || !ks_elems_valid(src[i].it)) continue;
            size_t el, vl;
            const uint8_t *e = ks_elems_el(src[i].it, &el), *v = ks_elems_val(src[i].it, &vl);
            if (el_cmp(e, el, m, minl) != 0) continue;
            bool sok;
            sc[i] = src_score(&src[i], v, vl, &sok);
            ok = ok && sok;
            has[i] = true;
            if (i == 0) first_has = true;
            holders++;
            ks_elems_next(src[i].it);
        }
        if (op == OP_INTER && holders == n) {
            score = isnan(sc[first]) ? 0 : sc[first];
            for (size_t k = 1; k < n; k++) score = agg(how, score, sc[ord[k]]);
        } else if (op == OP_UNION) {
            bool any = false;
            for (size_t k = 0; k < n; k++) {
                size_t i = ord[k];
                if (!has[i]) continue;
                double s = isnan(sc[i]) ? 0 : sc[i];
                score = any ? agg(how, score, s) : s;
                any = true;
            }
        } else if (op == OP_DIFF && first_has) {
            score = isnan(sc[0]) ? 0 : sc[0];
        }
        if (sc != small_sc) free(sc);
        if (has != small_has) free(has);
        if (!ok) rc = KS_ECORRUPT;
        bool take = op == OP_UNION ? true : op == OP_INTER ? holders == n : first_has && holders == 1;
        if (!rc && take) rc = zres_add(out, m, minl, score, keep);
        if (m != small) free(m);
    }
    for (size_t i = 0; !rc && i < n; i++) rc = src[i].found ? ks_elems_status(src[i].it) : 0;
    return rc;
}

static void zres_free(zres_list *l) {
    for (size_t i = 0; i < l->n && l->r; i++) free(l->r[i].m);
    free(l->r);
}

/* ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE dst numkeys ... (dst != NULL), ZUNION/ZINTER/ZDIFF numkeys ...,
 * ZINTERCARD numkeys ... [LIMIT n] (card). numkeys at argv[nk]. Redis 7.0's
 * zunionInterDiffGenericCommand: numkeys, then the options, then the keys' types. */
static void zop_generic(cmd_ctx *x, int op, size_t nk, bool store, bool card) {
    long long numkeys;
    if (!cmd_arg_ll(x, nk, &numkeys)) return;
    if (numkeys < 1) {
        reply_errorf(x->rb, "ERR at least 1 input key is needed for '%s' command", x->spec ? x->spec->name : "zunion");
        return;
    }
    if ((unsigned long long)numkeys > x->argc - nk - 1) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    size_t n = (size_t)numkeys;
    const uint8_t *const *keys = x->argv + nk + 1;
    const size_t *lens = x->argvlen + nk + 1;
    zsrc *src = calloc(n, sizeof *src);
    if (!src) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        return;
    }
    for (size_t i = 0; i < n; i++) src[i].weight = 1;
    int how = AGG_SUM;
    bool withscores = false;
    long long limit = 0;
    size_t nl = n + (store ? 1 : 0);
    const uint8_t **lk = malloc(nl * sizeof *lk);
    size_t *ll = malloc(nl * sizeof *ll);
    if (!lk || !ll) {
        free(lk);
        free(ll);
        cmd_reply_ks_error(x, KS_ENOMEM);
        goto done;
    }
    memcpy(lk, keys, n * sizeof *lk);
    memcpy(ll, lens, n * sizeof *ll);
    if (store) {
        lk[n] = x->argv[1];
        ll[n] = x->argvlen[1];
    }
    ks_lock_keys(x->k, x->ns, nl, lk, ll);
    zres_list res = {.limit = card ? (uint64_t)limit : 0};
    int rc = 0;
    bool replied = false;
    for (size_t i = 0; i < n && !rc; i++) {
        ks_rec r;
        int f = ks_lookup(x->k, x->ns, keys[i], lens[i], x->now_ms, &r);
        if (f == KS_ENOTFOUND) continue;
        if (f) {
            rc = f;
            break;
        }
        if (r.type != KS_ZSET && r.type != KS_SET) {
            ks_rec_free(&r);
            reply_shared(x->rb, REPLY_SH_WRONGTYPE);
            replied = true;
            break;
        }
        src[i].is_set = r.type == KS_SET;
        rc = ks_rec_coll(&r, &src[i].c);
        ks_rec_free(&r);
        src[i].found = !rc;
        ks_ckey ck = {x->ns, keys[i], lens[i], src[i].c.version};
        if (!rc) rc = ks_elems_open(x->k, &ck, KS_ELEMS, &src[i].it);
    }
    /* the options after the keys' types, as Redis */
    if (!replied && !rc) {
        for (size_t j = nk + 1 + n; j < x->argc; j++) {
            size_t left = x->argc - j - 1;
            if (card && cmd_arg_is(x, j, "limit") && left >= 1) {
                j++;
                if (!resp_str_to_ll(x->argv[j], x->argvlen[j], &limit) || limit < 0) {
                    reply_error(x->rb, "ERR LIMIT can't be negative");
                    goto unlock;
                }
            } else if (!card && op != OP_DIFF && cmd_arg_is(x, j, "weights") && left >= n) {
                for (size_t i = 0; i < n; i++) {
                    j++;
                    if (!resp_str_to_double(x->argv[j], x->argvlen[j], &src[i].weight)) {
                        reply_error(x->rb, "ERR weight value is not a float");
                        goto unlock;
                    }
                }
            } else if (!card && op != OP_DIFF && cmd_arg_is(x, j, "aggregate") && left >= 1) {
                j++;
                if (cmd_arg_is(x, j, "sum")) how = AGG_SUM;
                else if (cmd_arg_is(x, j, "min")) how = AGG_MIN;
                else if (cmd_arg_is(x, j, "max")) how = AGG_MAX;
                else {
                    reply_shared(x->rb, REPLY_SH_SYNTAX);
                    goto unlock;
                }
            } else if (!card && !store && cmd_arg_is(x, j, "withscores")) {
                withscores = true;
            } else {
                reply_shared(x->rb, REPLY_SH_SYNTAX);
                goto unlock;
            }
        }
    }
    res.limit = card ? (uint64_t)limit : 0;
    if (!replied && !rc) rc = run_zop(op, how, src, n, &res, !card);
    if (!replied && rc) cmd_reply_ks_error(x, rc);
    if (replied || rc) goto unlock;
    if (card) {
        reply_int(x->rb, (long long)res.n);
    } else if (store) {
        ks_batch *b = cmd_batch(x);
        ks_coll dc;
        ks_coll_new(x->k, KS_ZSET, &dc);
        zset d = zset_at(x, x->argv[1], x->argvlen[1], &dc);
        for (size_t i = 0; !rc && i < res.n; i++) rc = put_member(b, &d, res.r[i].m, res.r[i].ml, res.r[i].score, NULL);
        if (rc || res.n) {
            rc = zset_save(x, b, &d, rc);
        } else {
            ks_rec old;
            int had = ks_lookup(x->k, x->ns, x->argv[1], x->argvlen[1], x->now_ms, &old);
            if (had == 0) ks_rec_free(&old);
            if (had == 0) rc = ks_batch_delete(b, x->ns, x->argv[1], x->argvlen[1]);
            else if (had != KS_ENOTFOUND) rc = had;
        }
        if (rc) cmd_reply_ks_error(x, rc);
        else if (cmd_write(x, b)) reply_int(x->rb, (long long)res.n);
    } else {
        if (res.n) qsort(res.r, res.n, sizeof *res.r, zres_cmp);
        reply_array_header(x->rb, withscores && x->rb->proto == 2 ? res.n * 2 : res.n);
        for (size_t i = 0; i < res.n; i++) {
            if (withscores && x->rb->proto == 3) reply_array_header(x->rb, 2);
            reply_bulk(x->rb, res.r[i].m, res.r[i].ml);
            if (withscores) reply_double(x->rb, res.r[i].score);
        }
    }
unlock:
    for (size_t i = 0; i < n; i++) ks_elems_close(src[i].it);
    ks_unlock_keys(x->k, x->ns, nl, lk, ll);
    zres_free(&res);
    free(lk);
    free(ll);
done:
    free(src);
}

void cmd_zunionstore(cmd_ctx *x) { zop_generic(x, OP_UNION, 2, true, false); }
void cmd_zinterstore(cmd_ctx *x) { zop_generic(x, OP_INTER, 2, true, false); }
void cmd_zdiffstore(cmd_ctx *x) { zop_generic(x, OP_DIFF, 2, true, false); }
void cmd_zunion(cmd_ctx *x) { zop_generic(x, OP_UNION, 1, false, false); }
void cmd_zinter(cmd_ctx *x) { zop_generic(x, OP_INTER, 1, false, false); }
void cmd_zdiff(cmd_ctx *x) { zop_generic(x, OP_DIFF, 1, false, false); }
void cmd_zintercard(cmd_ctx *x) { zop_generic(x, OP_INTER, 1, false, true); }
