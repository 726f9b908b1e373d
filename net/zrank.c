/* zrank.c -- the counted rank index of a sorted set (format and invariants: zrank.h,
 * docs/FORMAT.md#keyspace).
 *
 * An update (zrank_apply) runs in memory over an overlay of the index entries it touches, read
 * through the engine as the command found them: first every level's counts take the log's changes
 * (one seek per level for a single change; a merge walk for a sorted run), then levels are added or
 * dropped as the size says, then each level from the bottom splits ranges that grew past twice
 * their size and merges ranges that fell below a quarter into the next one (dropping the separator
 * from that level and every level above it, which keeps the levels nested). Splitting a level-0
 * range walks the score index merged with the log's changes (the batch is not readable yet);
 * splitting a higher range walks the level below it. The overlay then goes into the batch.
 *
 * Separators are live keys: a range that is not the last holds its separator's own entry, or did
 * until it was removed; a range that empties is merged at once. So every separator of a non-empty
 * range is >= the set's lowest live entry (ks_coll.lo), and lookups from the low end seek there,
 * past the tombstones that trims leave below it. */
#include "zrank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t range_size(unsigned h) {
    uint64_t t = ZRANK_LEAF;
    while (h--) t *= ZRANK_FANOUT;
    return t;
}

static int kcmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

static void put_le(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- the log ------------------------------------------------------------------------------------ */

void zrank_log_init(zrank_log *l) { memset(l, 0, sizeof *l); }

void zrank_log_free(zrank_log *l) {
    free(l->bytes);
    free(l->v);
    zrank_log_init(l);
}

int zrank_log_add(zrank_log *l, const uint8_t *key, size_t len, int delta) {
    if (l->blen + len > l->bcap) {
        size_t cap = l->bcap ? l->bcap : 256;
        while (cap < l->blen + len) cap *= 2;
        uint8_t *p = realloc(l->bytes, cap);
        if (!p) return KS_ENOMEM;
        l->bytes = p;
        l->bcap = cap;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct zrank_change *v = realloc(l->v, cap * sizeof *v);
        if (!v) return KS_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (len) memcpy(l->bytes + l->blen, key, len);
    l->v[l->n++] = (struct zrank_change){l->blen, len, delta};
    l->blen += len;
    return 0;
}

/* ---- one index entry, and the overlay of those an update touches ------------------------------------ */

typedef struct rview { /* an entry as read: views valid until the next move */
    const uint8_t *sep;
    size_t len;
    bool top; /* the sentinel */
    uint64_t count;
} rview;

typedef struct rent { /* an overlay entry: owns sep */
    uint8_t *sep;
    size_t len;
    bool top;
    uint64_t count;
    bool gone, dirty, in_engine;
} rent;

typedef struct rlevel {
    rent *v; /* sorted */
    size_t n, cap;
} rlevel;

/* A net change to the score index: +1 inserted, -1 removed (sorted, one per key). */
typedef struct change {
    const uint8_t *p;
    size_t len;
    int d;
} change;

typedef struct ctx {
    ks *k;
    const ks_ckey *ck;
    const ks_coll *c;      /* the set as the command leaves it */
    const uint8_t *lo0;    /* its low bound before the command, if known */
    size_t lo0_len;
    ks_elems *it;  /* KS_RANKS */
    ks_elems *eit; /* KS_SCORES, opened when needed */
    rlevel lv[ZRANK_MAX_LEVELS + 1];
    const change *ch;
    size_t nch;
    uint8_t *kb; /* scratch for entry keys */
    size_t kcap;
    int rc;
} ctx;

static int ecmp(bool at, const uint8_t *a, size_t an, bool bt, const uint8_t *b, size_t bn) {
    if (at || bt) return (int)at - (int)bt;
    return kcmp(a, an, b, bn);
}

/* The position of (top, sep) in level h's overlay: true if there, *at where it is or would go. */
static bool ov_find(const rlevel *l, bool top, const uint8_t *sep, size_t len, size_t *at) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ecmp(l->v[mid].top, l->v[mid].sep, l->v[mid].len, top, sep, len);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *at = lo;
    return lo < l->n && ecmp(l->v[lo].top, l->v[lo].sep, l->v[lo].len, top, sep, len) == 0;
}

/* Sets level h's entry (top, sep) to count (gone: removes it), adding it to the overlay first. */
static int ov_set(ctx *x, unsigned h, bool top, const uint8_t *sep, size_t len, uint64_t count, bool gone,
                  bool in_engine) {
    rlevel *l = &x->lv[h];
    size_t at;
    if (!ov_find(l, top, sep, len, &at)) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 8;
            rent *v = realloc(l->v, cap * sizeof *v);
            if (!v) return KS_ENOMEM;
            l->v = v;
            l->cap = cap;
        }
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) return KS_ENOMEM;
        if (len) memcpy(copy, sep, len);
        memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof *l->v);
        l->v[at] = (rent){copy, len, top, 0, false, false, in_engine};
        l->n++;
    }
    rent *e = &l->v[at];
    e->count = count;
    e->gone = gone;
    e->dirty = true;
    return 0;
}

/* The engine key of level h's entry (top, sep), in the scratch buffer. */
static const uint8_t *rkey(ctx *x, unsigned h, bool top, const uint8_t *sep, size_t len, size_t *klen) {
    size_t need = 2 + (top ? 0 : len);
    if (need > x->kcap) {
        uint8_t *p = realloc(x->kb, need);
        if (!p) {
            x->rc = KS_ENOMEM;
            return NULL;
        }
        x->kb = p;
        x->kcap = need;
    }
    x->kb[0] = (uint8_t)h;
    x->kb[1] = top ? 1 : 0;
    if (!top && len) memcpy(x->kb + 2, sep, len);
    *klen = need;
    return x->kb;
}

/* The engine iterator's entry, if it is one of level h: 1, 0 (past the level), or KS_ECORRUPT. */
static int eng_entry(ks_elems *it, unsigned h, rview *out) {
    if (!ks_elems_valid(it)) return ks_elems_status(it);
    size_t el, vl;
    const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
    if (el < 2 || e[0] != h) return 0;
    if (e[1] > 1 || (e[1] == 1 && el != 2) || vl != 8) return KS_ECORRUPT;
    *out = (rview){e + 2, el - 2, e[1] == 1, get_le(v)};
    return 1;
}

/* ---- a forward cursor over one level: the engine's entries under the overlay's --------------------- */

typedef struct rcur {
    ctx *x;
    unsigned h;
    size_t oi;     /* next overlay candidate */
    bool valid;
    bool from_ov;  /* cur is the overlay's v[oi] */
    rview cur;
} rcur;

static void cur_settle(rcur *r) {
    ctx *x = r->x;
    rlevel *l = &x->lv[r->h];
    r->valid = false;
    rview ev = {0};
    int has;
    for (;;) {
        has = eng_entry(x->it, r->h, &ev);
        if (has < 0) {
            x->rc = has;
            return;
        }
        size_t at;
        if (has && ov_find(l, ev.top, ev.sep, ev.len, &at)) { /* the overlay's copy decides */
            ks_elems_next(x->it);
            continue;
        }
        break;
    }
    while (r->oi < l->n && l->v[r->oi].gone) r->oi++;
    bool has_ov = r->oi < l->n;
    if (!has && !has_ov) return;
    const rent *o = has_ov ? &l->v[r->oi] : NULL;
    if (has && (!o || ecmp(ev.top, ev.sep, ev.len, o->top, o->sep, o->len) < 0)) {
        r->cur = ev;
        r->from_ov = false;
    } else {
        r->cur = (rview){o->sep, o->len, o->top, o->count};
        r->from_ov = true;
    }
    r->valid = true;
}

/* To level h's first entry >= (top, sep); (no sep, !top) is the level's start. */
static void cur_seek(rcur *r, ctx *x, unsigned h, bool top, const uint8_t *sep, size_t len) {
    r->x = x;
    r->h = h;
    size_t kl;
    const uint8_t *k = rkey(x, h, top, sep, len, &kl);
    r->valid = false;
    if (!k) return;
    ks_elems_seek(x->it, k, kl);
    ov_find(&x->lv[h], top, sep, len, &r->oi);
    cur_settle(r);
}

static void cur_next(rcur *r) {
    if (!r->valid) return;
    if (r->from_ov) r->oi++;
    else ks_elems_next(r->x->it);
    cur_settle(r);
}

/* To the first entry of level h after sep (has_sep false: the level's first live range, which is
 * at or above the set's low bound). */
static void cur_after(rcur *r, ctx *x, unsigned h, bool has_sep, const uint8_t *sep, size_t len) {
    if (!has_sep) {
        const ks_coll *c = x->c;
        cur_seek(r, x, h, false, c->has_lo ? c->lo : NULL, c->has_lo ? c->lo_len : 0);
        return;
    }
    cur_seek(r, x, h, false, sep, len);
    if (r->valid && !r->cur.top && kcmp(r->cur.sep, r->cur.len, sep, len) == 0) cur_next(r);
}

/* Level h's entry just before (top, sep), merged like the cursor: 1 found (copied into *out, sep
 * malloc'ed), 0 none, or an error. */
static int pred(ctx *x, unsigned h, bool top, const uint8_t *sep, size_t len, rent *out) {
    rlevel *l = &x->lv[h];
    size_t kl;
    const uint8_t *k = rkey(x, h, top, sep, len, &kl);
    if (!k) return x->rc;
    ks_elems_seek_for_prev(x->it, k, kl);
    rview ev = {0};
    int has;
    for (;;) {
        has = eng_entry(x->it, h, &ev);
        if (has < 0) return has;
        size_t at;
        if (has && (ecmp(ev.top, ev.sep, ev.len, top, sep, len) >= 0 || ov_find(l, ev.top, ev.sep, ev.len, &at))) {
            ks_elems_prev(x->it);
            continue;
        }
        break;
    }
    size_t at;
    ov_find(l, top, sep, len, &at);
    const rent *o = NULL;
    while (at > 0 && !o) {
        if (!l->v[at - 1].gone) o = &l->v[at - 1];
        at--;
    }
    rview pick;
    if (has && (!o || ecmp(ev.top, ev.sep, ev.len, o->top, o->sep, o->len) > 0)) pick = ev;
    else if (o) pick = (rview){o->sep, o->len, o->top, o->count};
    else return 0;
    out->sep = malloc(pick.len ? pick.len : 1);
    if (!out->sep) return KS_ENOMEM;
    if (pick.len) memcpy(out->sep, pick.sep, pick.len);
    out->len = pick.len;
    out->top = pick.top;
    out->count = pick.count;
    return 1;
}

/* ---- a forward cursor over the score index after the log's changes ------------------------------- */

typedef struct ecur {
    ctx *x;
    size_t ci; /* next change */
    bool valid, eng, chg; /* cur comes from the engine, the changes, or both */
    const uint8_t *key;
    size_t len;
} ecur;

static void ecur_settle(ecur *e) {
    ctx *x = e->x;
    e->valid = false;
    for (;;) {
        bool he = ks_elems_valid(x->eit);
        if (!he && ks_elems_status(x->eit)) {
            x->rc = ks_elems_status(x->eit);
            return;
        }
        size_t el = 0;
        const uint8_t *ek = he ? ks_elems_el(x->eit, &el) : NULL;
        const change *c = e->ci < x->nch ? &x->ch[e->ci] : NULL;
        if (!he && !c) return;
        int cmp = !c ? -1 : !he ? 1 : kcmp(ek, el, c->p, c->len);
        if (cmp < 0) {
            *e = (ecur){x, e->ci, true, true, false, ek, el};
            return;
        }
        if (cmp > 0) {
            if (c->d < 0) { /* removing what is not there: the log and the index disagree */
                x->rc = KS_ECORRUPT;
                return;
            }
            *e = (ecur){x, e->ci, true, false, true, c->p, c->len};
            return;
        }
        if (c->d > 0) {
            *e = (ecur){x, e->ci, true, true, true, ek, el};
            return;
        }
        ks_elems_next(x->eit); /* removed by this command */
        e->ci++;
    }
}

static int ecur_open(ctx *x) {
    if (!x->eit && (x->rc = ks_elems_open(x->k, x->ck, KS_SCORES, &x->eit))) return x->rc;
    return 0;
}

/* To the first entry after sep (has_sep false: the first). */
static void ecur_after(ecur *e, ctx *x, bool has_sep, const uint8_t *sep, size_t len) {
    e->x = x;
    e->valid = false;
    if (ecur_open(x)) return;
    const ks_coll *c = x->c;
    /* from the set's low bound when there is no sep: what this command removed below it is not
     * read, so the changes start there too (nothing live is below it) */
    bool from_lo = !has_sep && c->has_lo;
    if (from_lo) {
        sep = c->lo;
        len = c->lo_len;
    }
    ks_elems_seek(x->eit, has_sep || from_lo ? sep : NULL, has_sep || from_lo ? len : 0);
    size_t lo = 0, hi = x->nch;
    while ((has_sep || from_lo) && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = kcmp(x->ch[mid].p, x->ch[mid].len, sep, len);
        if (has_sep ? cmp <= 0 : cmp < 0) lo = mid + 1;
        else hi = mid;
    }
    e->ci = lo;
    ecur_settle(e);
    if (has_sep && e->valid && kcmp(e->key, e->len, sep, len) == 0) {
        if (e->eng) ks_elems_next(x->eit);
        if (e->chg) e->ci++;
        ecur_settle(e);
    }
}

static void ecur_next(ecur *e) {
    if (!e->valid) return;
    if (e->eng) ks_elems_next(e->x->eit);
    if (e->chg) e->ci++;
    ecur_settle(e);
}

/* ---- zrank_apply ------------------------------------------------------------------------------------ */

static void ctx_free(ctx *x) {
    for (unsigned h = 0; h <= ZRANK_MAX_LEVELS; h++) {
        for (size_t i = 0; i < x->lv[h].n; i++) free(x->lv[h].v[i].sep);
        free(x->lv[h].v);
    }
    ks_elems_close(x->it);
    ks_elems_close(x->eit);
    free(x->kb);
}

static int ctx_open(ctx *x, ks *k, const ks_ckey *ck, const ks_coll *c) {
    memset(x, 0, sizeof *x);
    x->k = k;
    x->ck = ck;
    x->c = c;
    return ks_elems_open(k, ck, KS_RANKS, &x->it);
}

typedef struct kref {
    const zrank_log *l;
    size_t i;
} kref;

static int change_cmp(const void *a, const void *b) {
    const kref *x = a, *y = b;
    const struct zrank_change *p = &x->l->v[x->i], *q = &y->l->v[y->i];
    int c = kcmp(x->l->bytes + p->off, p->len, y->l->bytes + q->off, q->len);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The log's net changes, sorted: each key once, +1 or -1. */
static int net_changes(const zrank_log *l, change **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!l->n) return 0;
    kref *r = malloc(l->n * sizeof *r);
    change *ch = malloc(l->n * sizeof *ch);
    if (!r || !ch) {
        free(r);
        free(ch);
        return KS_ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) r[i] = (kref){l, i};
    qsort(r, l->n, sizeof *r, change_cmp);
    size_t m = 0;
    int rc = 0;
    for (size_t i = 0; i < l->n;) {
        const struct zrank_change *c = &l->v[r[i].i];
        const uint8_t *p = l->bytes + c->off;
        int d = 0;
        size_t j = i;
        for (; j < l->n; j++) {
            const struct zrank_change *o = &l->v[r[j].i];
            if (kcmp(l->bytes + o->off, o->len, p, c->len)) break;
            d += o->delta;
        }
        if (d < -1 || d > 1) rc = KS_EINVAL;
        if (d) ch[m++] = (change){p, c->len, d};
        i = j;
    }
    free(r);
    if (rc) {
        free(ch);
        return rc;
    }
    *out = ch;
    *n = m;
    return 0;
}

/* Each level's counts take the changes: one seek per run of changes inside one range. A change
 * below the set's low bound before the command belongs to its first range, whose separator is at
 * or above that bound: the seek starts there, not among the separators that trims left deleted
 * below it (a leaderboard's new lowest entry would otherwise cross them all). */
static int apply_counts(ctx *x, unsigned h) {
    size_t i = 0;
    while (i < x->nch && !x->rc) {
        rcur r;
        const change *c = &x->ch[i];
        if (x->lo0 && kcmp(c->p, c->len, x->lo0, x->lo0_len) < 0) cur_seek(&r, x, h, false, x->lo0, x->lo0_len);
        else cur_seek(&r, x, h, false, c->p, c->len);
        if (x->rc) break;
        if (!r.valid) return KS_ECORRUPT; /* no sentinel */
        int64_t sum = 0;
        while (i < x->nch && (r.cur.top || kcmp(x->ch[i].p, x->ch[i].len, r.cur.sep, r.cur.len) <= 0)) sum += x->ch[i++].d;
        if (sum < 0 && (uint64_t)-sum > r.cur.count) return KS_ECORRUPT;
        int rc = ov_set(x, h, r.cur.top, r.cur.sep, r.cur.len, r.cur.count + (uint64_t)sum, false, !r.from_ov);
        if (rc) return rc;
    }
    return x->rc;
}

/* Every entry of level h goes: listed in one pass, then removed. */
static int drop_level(ctx *x, unsigned h) {
    rent *all = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    rcur r;
    for (cur_seek(&r, x, h, false, NULL, 0); r.valid && !rc; cur_next(&r)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            rent *v = realloc(all, cap * sizeof *v);
            if (!v) {
                rc = KS_ENOMEM;
                break;
            }
            all = v;
        }
        rent *e = &all[n];
        *e = (rent){malloc(r.cur.len ? r.cur.len : 1), r.cur.len, r.cur.top, 0, true, true, !r.from_ov};
        if (!e->sep) rc = KS_ENOMEM;
        else if (r.cur.len) memcpy(e->sep, r.cur.sep, r.cur.len);
        n++;
    }
    if (!rc) rc = x->rc;
    for (size_t i = 0; i < n && !rc; i++) rc = ov_set(x, h, all[i].top, all[i].sep, all[i].len, 0, true, all[i].in_engine);
    for (size_t i = 0; i < n; i++) free(all[i].sep);
    free(all);
    return rc;
}

/* A cut of a range being split: the new separator and the count below it. */
typedef struct cut {
    uint8_t *sep;
    size_t len;
    uint64_t count;
} cut;

/* Splits level h's range (top, sep) of count entries into count / size pieces of equal size. */
static int split(ctx *x, unsigned h, bool top, const uint8_t *sep, size_t len, uint64_t count) {
    uint64_t pieces = count / range_size(h);
    if (pieces < 2) return 0;
    rent p = {0};
    /* the first live range (at or above the set's low bound) has nothing before it; asking pred
     * would walk back over every separator that trims deleted below it */
    rcur f;
    cur_after(&f, x, h, false, NULL, 0);
    if (x->rc) return x->rc;
    bool first = f.valid && ecmp(f.cur.top, f.cur.sep, f.cur.len, top, sep, len) == 0;
    int has_p = first ? 0 : pred(x, h, top, sep, len, &p);
    if (has_p < 0) return has_p;
    cut *cuts = calloc(pieces - 1, sizeof *cuts);
    if (!cuts) {
        free(p.sep);
        return KS_ENOMEM;
    }
    /* a cut where the running count first reaches each target count * i / pieces (a higher
     * level cuts at child boundaries: a big child may pass several targets at once) */
    size_t ncut = 0, ti = 1;
    uint64_t done = 0, pos = 0;
    int rc = 0;
    const uint8_t *ck = NULL;
    size_t cl = 0;
    ecur e;
    rcur r;
    if (h == 0) ecur_after(&e, x, has_p, p.sep, p.len);
    else cur_after(&r, x, h - 1, has_p, p.sep, p.len);
    while (ti < pieces && !x->rc) {
        if (h == 0) {
            if (!e.valid || (!top && kcmp(e.key, e.len, sep, len) >= 0)) break;
            pos++;
            ck = e.key;
            cl = e.len;
        } else {
            if (!r.valid || ecmp(r.cur.top, r.cur.sep, r.cur.len, top, sep, len) >= 0) break; /* the last child */
            pos += r.cur.count;
            ck = r.cur.sep;
            cl = r.cur.len;
        }
        if (pos >= count * ti / pieces) {
            cut *c = &cuts[ncut++];
            if (!(c->sep = malloc(cl ? cl : 1))) {
                rc = KS_ENOMEM;
                break;
            }
            if (cl) memcpy(c->sep, ck, cl);
            c->len = cl;
            c->count = pos - done;
            done = pos;
            while (ti < pieces && pos >= count * ti / pieces) ti++;
        }
        if (h == 0) ecur_next(&e);
        else cur_next(&r);
    }
    if (!rc) rc = x->rc;
    if (!rc && h == 0 && ncut < pieces - 1) rc = KS_ECORRUPT; /* fewer entries than the count */
    if (!rc && (done > count || (done == count && !top))) rc = KS_ECORRUPT;
    for (size_t i = 0; !rc && i < ncut; i++) rc = ov_set(x, h, false, cuts[i].sep, cuts[i].len, cuts[i].count, false, false);
    if (!rc && ncut) rc = ov_set(x, h, top, sep, len, count - done, false, true);
    for (size_t i = 0; i < pieces - 1; i++) free(cuts[i].sep);
    free(cuts);
    free(p.sep);
    return rc;
}

/* Merges level h's range sep into the next one, at this level and every level above that has it.
 * Fills *next with the range (at level h) that took it. */
static int merge(ctx *x, unsigned h, unsigned levels, const uint8_t *sep0, size_t len, rent *next) {
    uint8_t *sep = malloc(len ? len : 1); /* sep0 may live in the overlay, which moves */
    if (!sep) return KS_ENOMEM;
    if (len) memcpy(sep, sep0, len);
    int rc = 0;
    for (unsigned g = h; g < levels && !rc; g++) {
        rcur r;
        cur_seek(&r, x, g, false, sep, len);
        if ((rc = x->rc)) break;
        if (!r.valid || r.cur.top || kcmp(r.cur.sep, r.cur.len, sep, len)) break; /* not at this level */
        uint64_t moved = r.cur.count;
        bool was_ov = r.from_ov;
        cur_next(&r);
        if ((rc = x->rc)) break;
        if (!r.valid) {
            rc = KS_ECORRUPT;
            break;
        }
        uint64_t total = r.cur.count + moved;
        bool ntop = r.cur.top;
        if (g == h) {
            next->len = r.cur.len;
            next->top = ntop;
            next->count = total;
            if (!(next->sep = malloc(r.cur.len ? r.cur.len : 1))) {
                rc = KS_ENOMEM;
                break;
            }
            if (r.cur.len) memcpy(next->sep, r.cur.sep, r.cur.len);
        }
        rc = ov_set(x, g, ntop, r.cur.sep, r.cur.len, total, false, !r.from_ov);
        if (!rc) rc = ov_set(x, g, false, sep, len, 0, true, !was_ov);
    }
    free(sep);
    return rc;
}

static int fix_level(ctx *x, unsigned h, unsigned levels) {
    rlevel *l = &x->lv[h];
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) n += l->v[i].dirty && !l->v[i].gone;
    if (!n) return 0;
    rent *todo = calloc(n, sizeof *todo);
    if (!todo) return KS_ENOMEM;
    int rc = 0;
    size_t m = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        if (!l->v[i].dirty || l->v[i].gone) continue;
        todo[m] = l->v[i];
        if (!(todo[m].sep = malloc(l->v[i].len ? l->v[i].len : 1))) rc = KS_ENOMEM;
        else if (l->v[i].len) memcpy(todo[m].sep, l->v[i].sep, l->v[i].len);
        m++;
    }
    uint64_t size = range_size(h);
    for (size_t i = 0; i < m && !rc; i++) {
        size_t at;
        if (!ov_find(l, todo[i].top, todo[i].sep, todo[i].len, &at) || l->v[at].gone) continue;
        uint64_t count = l->v[at].count;
        if (count > 2 * size) {
            rc = split(x, h, todo[i].top, todo[i].sep, todo[i].len, count);
        } else if (!todo[i].top && count < size / 4) {
            rent next = {0};
            rc = merge(x, h, levels, todo[i].sep, todo[i].len, &next);
            if (!rc && next.count > 2 * size) rc = split(x, h, next.top, next.sep, next.len, next.count);
            free(next.sep);
        }
    }
    for (size_t i = 0; i < m; i++) free(todo[i].sep);
    free(todo);
    return rc;
}

static int flush_overlay(ctx *x, ks_batch *b) {
    for (unsigned h = 0; h <= ZRANK_MAX_LEVELS; h++) {
        for (size_t i = 0; i < x->lv[h].n; i++) {
            const rent *e = &x->lv[h].v[i];
            if (!e->dirty || (e->gone && !e->in_engine)) continue;
            size_t kl;
            const uint8_t *k = rkey(x, h, e->top, e->sep, e->len, &kl);
            if (!k) return x->rc;
            int rc;
            if (e->gone) {
                rc = ks_batch_del_elem(b, x->ck, KS_RANKS, k, kl);
            } else {
                uint8_t v[8];
                put_le(v, e->count);
                rc = ks_batch_put_elem(b, x->ck, KS_RANKS, k, kl, v, 8);
            }
            if (rc) return rc;
        }
    }
    return 0;
}

int zrank_apply(ks *k, ks_batch *b, const ks_ckey *ck, const ks_coll *before, ks_coll *c, zrank_log *l) {
    int H = (int)c->rank_levels - 1;
    uint64_t n = c->size;
    if (n == 0 || H >= (int)ZRANK_MAX_LEVELS) {
        c->rank_levels = 0; /* the record goes, and its entries with it (K4) */
        return n == 0 ? 0 : KS_ECORRUPT;
    }
    if (H < 0 && n <= 2 * ZRANK_LEAF) return 0; /* small: no index */
    ctx x;
    int rc = ctx_open(&x, k, ck, c);
    if (before && before->has_lo && before->size) {
        x.lo0 = before->lo;
        x.lo0_len = before->lo_len;
    }
    change *ch = NULL;
    if (!rc) rc = net_changes(l, &ch, &x.nch);
    x.ch = ch;
    if (!rc && H >= 0 && n < ZRANK_LEAF / 2) { /* small again: the index goes */
        for (int h = 0; h <= H && !rc; h++) rc = drop_level(&x, (unsigned)h);
        H = -1;
    } else if (!rc) {
        if (H < 0) { /* built: one range of everything, split below */
            rc = ov_set(&x, 0, true, NULL, 0, n, false, false);
            H = 0;
        } else {
            for (int h = 0; h <= H && !rc; h++) rc = apply_counts(&x, (unsigned)h);
        }
        while (!rc && H + 1 < (int)ZRANK_MAX_LEVELS && n > 2 * range_size((unsigned)H + 1))
            rc = ov_set(&x, (unsigned)++H, true, NULL, 0, n, false, false);
        while (!rc && H > 0 && n < range_size((unsigned)H) / 2) rc = drop_level(&x, (unsigned)H--);
        for (int h = 0; h <= H && !rc; h++) rc = fix_level(&x, (unsigned)h, (unsigned)H + 1);
    }
    if (!rc) rc = x.rc;
    if (!rc) rc = flush_overlay(&x, b);
    if (!rc) c->rank_levels = (uint8_t)(H + 1);
    free(ch);
    ctx_free(&x);
    return rc;
}

/* ---- lookups ----------------------------------------------------------------------------------------- */

/* From the top: the level-0 range holding what `pick` wants, with the number of entries before it
 * (*base) and its lower bound (*lo, malloc'ed; has_lo false: none). pick(arg, view, base) says
 * whether the range is it. */
typedef bool (*pick_fn)(const void *arg, const rview *e, uint64_t base);

static int descend(ctx *x, pick_fn pick, const void *arg, uint64_t *base, rent *lo, bool *has_lo, rent *at) {
    *base = 0;
    *has_lo = false;
    memset(lo, 0, sizeof *lo);
    memset(at, 0, sizeof *at);
    for (int h = (int)x->c->rank_levels - 1; h >= 0; h--) {
        rcur r;
        bool found = false;
        for (cur_after(&r, x, (unsigned)h, *has_lo, lo->sep, lo->len); r.valid; cur_next(&r)) {
            if (pick(arg, &r.cur, *base)) {
                found = true;
                break;
            }
            if (r.cur.top) break;
            *base += r.cur.count;
            uint8_t *p = realloc(lo->sep, r.cur.len ? r.cur.len : 1);
            if (!p) return KS_ENOMEM;
            lo->sep = p;
            if (r.cur.len) memcpy(p, r.cur.sep, r.cur.len);
            lo->len = r.cur.len;
            *has_lo = true;
        }
        if (x->rc) return x->rc;
        if (!found) return KS_ECORRUPT;
        if (h == 0) {
            at->top = r.cur.top;
            at->count = r.cur.count;
            at->len = r.cur.len;
            if (!(at->sep = malloc(r.cur.len ? r.cur.len : 1))) return KS_ENOMEM;
            if (r.cur.len) memcpy(at->sep, r.cur.sep, r.cur.len);
        }
    }
    return 0;
}

static bool pick_rank(const void *arg, const rview *e, uint64_t base) { return base + e->count > *(const uint64_t *)arg; }

typedef struct keyarg {
    const uint8_t *p;
    size_t len;
} keyarg;

static bool pick_key(const void *arg, const rview *e, uint64_t base) {
    (void)base;
    const keyarg *a = arg;
    return e->top || kcmp(e->sep, e->len, a->p, a->len) >= 0;
}

int zrank_key_at(ks *k, const ks_ckey *ck, const ks_coll *c, uint64_t r, uint8_t **key, size_t *len) {
    *key = NULL;
    *len = 0;
    if (!c->rank_levels) return KS_ENOTFOUND;
    if (r >= c->size) return KS_EINVAL;
    ctx x;
    rent lo, at;
    bool has_lo = false;
    uint64_t base = 0;
    int rc = ctx_open(&x, k, ck, c);
    memset(&lo, 0, sizeof lo);
    memset(&at, 0, sizeof at);
    if (!rc) rc = descend(&x, pick_rank, &r, &base, &lo, &has_lo, &at);
    if (!rc) rc = ecur_open(&x);
    if (!rc) {
        uint64_t off = r - base;
        ks_elems *it = x.eit;
        bool back = !at.top && off >= at.count / 2;
        uint64_t steps = back ? at.count - 1 - off : off;
        if (back) ks_elems_seek_for_prev(it, at.sep, at.len);
        else if (has_lo) {
            ks_elems_seek(it, lo.sep, lo.len);
            if (ks_elems_valid(it)) {
                size_t el;
                const uint8_t *e = ks_elems_el(it, &el);
                if (!kcmp(e, el, lo.sep, lo.len)) ks_elems_next(it);
            }
        } else if (c->has_lo) ks_elems_seek(it, c->lo, c->lo_len);
        else ks_elems_seek(it, NULL, 0);
        for (; steps && ks_elems_valid(it); steps--) {
            if (back) ks_elems_prev(it);
            else ks_elems_next(it);
        }
        rc = ks_elems_status(it);
        if (!rc && !ks_elems_valid(it)) rc = KS_ECORRUPT;
        if (!rc) {
            size_t el;
            const uint8_t *e = ks_elems_el(it, &el);
            if ((has_lo && kcmp(e, el, lo.sep, lo.len) <= 0) || (!at.top && kcmp(e, el, at.sep, at.len) > 0)) {
                rc = KS_ECORRUPT; /* outside the range: the counts are wrong */
            } else if (!(*key = malloc(el ? el : 1))) {
                rc = KS_ENOMEM;
            } else {
                if (el) memcpy(*key, e, el);
                *len = el;
            }
        }
    }
    free(lo.sep);
    free(at.sep);
    ctx_free(&x);
    return rc;
}

int zrank_count_below(ks *k, const ks_ckey *ck, const ks_coll *c, const uint8_t *key, size_t len, uint64_t *out) {
    *out = 0;
    if (!c->rank_levels) return KS_ENOTFOUND;
    /* outside the live bounds: nothing or everything is below, without crossing what trims left */
    if (c->has_lo && kcmp(key, len, c->lo, c->lo_len) <= 0) return 0;
    if (c->has_hi && kcmp(key, len, c->hi, c->hi_len) > 0) {
        *out = c->size;
        return 0;
    }
    ctx x;
    rent lo, at;
    bool has_lo = false;
    uint64_t base = 0;
    keyarg a = {key, len};
    int rc = ctx_open(&x, k, ck, c);
    memset(&lo, 0, sizeof lo);
    memset(&at, 0, sizeof at);
    if (!rc) rc = descend(&x, pick_key, &a, &base, &lo, &has_lo, &at);
    ks_elems *back = NULL;
    if (!rc) rc = ecur_open(&x);
    if (!rc && (!at.top || c->has_hi)) rc = ks_elems_open(k, ck, KS_SCORES, &back);
    if (!rc) {
        /* inside the range (lo, at]: count up from lo the entries below key, and down from at those
         * at or above it, one step each in turn, until either way ends (a range's entries are few,
         * but which end the key is nearer is not known) */
        ks_elems *fw = x.eit;
        if (has_lo) {
            ks_elems_seek(fw, lo.sep, lo.len);
            if (ks_elems_valid(fw)) {
                size_t el;
                const uint8_t *e = ks_elems_el(fw, &el);
                if (!kcmp(e, el, lo.sep, lo.len)) ks_elems_next(fw);
            }
        } else if (c->has_lo) ks_elems_seek(fw, c->lo, c->lo_len);
        else ks_elems_seek(fw, NULL, 0);
        if (back && at.top) ks_elems_seek_for_prev(back, c->hi, c->hi_len);
        else if (back) ks_elems_seek_for_prev(back, at.sep, at.len);
        uint64_t below = 0, above = 0;
        for (;;) {
            size_t el;
            const uint8_t *e;
            if (below == at.count) {
                *out = base + below;
                goto found;
            }
            if (!ks_elems_valid(fw)) break;
            e = ks_elems_el(fw, &el);
            if (kcmp(e, el, key, len) >= 0) {
                *out = base + below;
                goto found;
            }
            below++;
            ks_elems_next(fw);
            if (!back) continue;
            if (above == at.count) {
                *out = base;
                goto found;
            }
            if (!ks_elems_valid(back)) break;
            e = ks_elems_el(back, &el);
            if (kcmp(e, el, key, len) < 0) {
                *out = base + at.count - above;
                goto found;
            }
            above++;
            ks_elems_prev(back);
        }
        rc = ks_elems_status(fw);
        if (!rc && back) rc = ks_elems_status(back);
        if (!rc) rc = KS_ECORRUPT; /* the range ran out before its count */
    found:;
    }
    ks_elems_close(back);
    free(lo.sep);
    free(at.sep);
    ctx_free(&x);
    return rc;
}

/* ---- zrank_check ---------------------------------------------------------------------------------------- */

int zrank_check(ks *k, const ks_ckey *ck, const ks_coll *c, char *msg, size_t msglen) {
    if (msglen) msg[0] = 0;
    ctx x;
    int rc = ctx_open(&x, k, ck, c);
    if (rc) return rc;
    unsigned levels = c->rank_levels;
    uint64_t n = c->size;
    ks_elems *s = NULL;
    ks_elems *up = NULL;
    rc = ks_elems_open(k, ck, KS_SCORES, &s);
    if (!rc) rc = ks_elems_open(k, ck, KS_RANKS, &up);
    for (unsigned h = 0; !rc && h <= ZRANK_MAX_LEVELS; h++) {
        rcur r;
        cur_seek(&r, &x, h, false, NULL, 0);
        if (h >= levels) {
            if (r.valid) {
                snprintf(msg, msglen, "level %u has entries but the record says %u levels", h, levels);
                rc = KS_ECORRUPT;
            }
            continue;
        }
        /* level 0 against the score index; a higher level against the level below */
        uint64_t total = 0, ranges = 0;
        bool saw_top = false;
        if (h == 0) ks_elems_seek(s, NULL, 0);
        else {
            uint8_t k0[1] = {(uint8_t)(h - 1)};
            ks_elems_seek(up, k0, 1);
        }
        for (; r.valid && !rc; cur_next(&r)) {
            ranges++;
            uint64_t have = 0;
            bool matched = r.cur.top;
            if (h == 0) {
                for (; ks_elems_valid(s); ks_elems_next(s)) {
                    size_t el;
                    const uint8_t *e = ks_elems_el(s, &el);
                    int cmp = r.cur.top ? -1 : kcmp(e, el, r.cur.sep, r.cur.len);
                    if (cmp > 0) break;
                    have++;
                    if (cmp == 0) matched = true;
                }
            } else {
                rview ev = {0};
                int got;
                while ((got = eng_entry(up, h - 1, &ev)) > 0) {
                    int cmp = ecmp(ev.top, ev.sep, ev.len, r.cur.top, r.cur.sep, r.cur.len);
                    if (cmp > 0) break;
                    have += ev.count;
                    if (cmp == 0) matched = true;
                    ks_elems_next(up);
                }
                if (got < 0) rc = got;
                if (!matched && !rc) {
                    snprintf(msg, msglen, "level %u separator %llu is not a separator of level %u", h,
                             (unsigned long long)ranges, h - 1);
                    rc = KS_ECORRUPT;
                }
            }
            if (!rc && have != r.cur.count) {
                snprintf(msg, msglen, "level %u range %llu counts %llu but holds %llu", h, (unsigned long long)ranges,
                         (unsigned long long)r.cur.count, (unsigned long long)have);
                rc = KS_ECORRUPT;
            }
            if (!rc && !r.cur.top && have == 0) {
                snprintf(msg, msglen, "level %u range %llu is empty", h, (unsigned long long)ranges);
                rc = KS_ECORRUPT;
            }
            total += have;
            if (r.cur.top) {
                saw_top = true;
                cur_next(&r);
                if (r.valid) {
                    snprintf(msg, msglen, "level %u has entries after its sentinel", h);
                    rc = KS_ECORRUPT;
                }
                break;
            }
        }
        if (!rc) rc = x.rc;
        if (!rc) rc = ks_elems_status(s);
        if (!rc && !saw_top) {
            snprintf(msg, msglen, "level %u has no sentinel", h);
            rc = KS_ECORRUPT;
        }
        if (!rc && (!ranges || total != n)) {
            snprintf(msg, msglen, "level %u: %llu ranges counting %llu entries; the set has %llu", h,
                     (unsigned long long)ranges, (unsigned long long)total, (unsigned long long)n);
            rc = KS_ECORRUPT;
        }
        if (!rc && h == 0 && ks_elems_valid(s)) {
            snprintf(msg, msglen, "score-index entries above the last range");
            rc = KS_ECORRUPT;
        }
    }
    ks_elems_close(s);
    ks_elems_close(up);
    ctx_free(&x);
    return rc;
}
