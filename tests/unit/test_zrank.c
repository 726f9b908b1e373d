/* test_zrank.c -- the rank index of sorted sets (net/zrank.h) on a real engine in a temporary
 * directory, against a reference model.
 *
 * zrank keeps a counted multi-level index of a set's score-index keys (space KS_RANKS) so that
 * ZRANK / ZRANGE by rank / ZCOUNT are O(log n). Its counts are only useful if they are exactly the
 * score index's after every command, whatever the command did, so every test here drives "commands"
 * the way the server does (score-index puts and deletes in a batch, each one logged with
 * zrank_log_add, zrank_apply, the record, one ks_write) and after them compares the index with a
 * model: a sorted array of the live keys (memcmp-then-length order, as the engine sorts them).
 *
 * Three independent checks after a command:
 *   - zrank_check (the module's own O(n) verification) must find nothing wrong;
 *   - ranks_walk reads the index entries directly, in the format zrank.h documents
 *     (level u8 | 0x00 | sep -> count u64 LE, level u8 | 0x01 -> sentinel count), and compares
 *     every range's count with the model, the nesting of the levels, and the range sizes the header
 *     promises (none above twice its nominal size, not many more ranges than the sizes imply, no
 *     entries at all while the set has no index);
 *   - probes: zrank_key_at at a sample of ranks (ends, middle, random) against the model's key at
 *     that rank, zrank_count_below at a sample of keys (existing ones, keys just above / below /
 *     between them, the empty key, a key above everything) against the model's lower bound.
 * and after every command the thresholds: no index while a set is small (<= 2 * ZRANK_LEAF, unless
 * it had one and is still >= ZRANK_LEAF / 2), always one above that, none below ZRANK_LEAF / 2.
 *
 * Scenarios: random growth to 20,000 keys and back to 0; one bulk command of 50,000 keys and bulk
 * rank-range deletions (ZUNIONSTORE, ZREMRANGEBYRANK); a leaderboard (add one, drop the lowest);
 * keys removed and re-added or moved within one command; changes exactly at the separators;
 * monotonic (append / prepend) keys; a set oscillating across the build / drop thresholds; the
 * set's live bounds (ks_coll lo / hi, which zrank reads) kept as cmd_zset keeps them; persistence
 * across close / reopen and a full compaction; commands inside a transaction (reads through its
 * overlay); isolation between sets, databases and versions; and that zrank_check reports an index
 * that disagrees with its entries.
 *
 * Keys are random byte strings: mostly 12-24 bytes, some sharing an 8-byte prefix (same score),
 * some 1-3 bytes, some 200+ bytes (half of them with a common 190-byte prefix), some derived from
 * existing keys (extended, truncated, last byte +-1), with 0x00 and 0xff bytes over-represented.
 * Each test prints its seed; STRATA_SEED=N replays it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "testutil.h"
#include "zrank.h"

/* ---- fixture ------------------------------------------------------------------------------- */

typedef struct fx {
    char *dir;
    ks *k;
    ks_batch *b;
} fx;

/* 4 MiB memtables (less than the default): the bulk scenario fills and flushes some, so its reads
 * merge tables and a memtable; others flush and compact explicitly. */
static int open_ks(fx *x) {
    ks_options o = {.dir = x->dir, .sync_mode = 3, .bloom_bits_per_key = -1, .codec = -1, .write_buffer_bytes = 4u << 20};
    char err[256];
    if (ks_open(&o, &x->k, err, sizeof err)) {
        fprintf(stderr, "ks_open: %s\n", err);
        return -1;
    }
    return 0;
}

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("zrank");
    if (!x->dir || open_ks(x)) return -1;
    if (ks_batch_new(&x->b)) return -1;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    ks_batch_free(x->b);
    assert_int_equal(ks_close(x->k), 0);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static const ks_ns NS0 = {0, 0};

#define LEAF ((uint64_t)ZRANK_LEAF)
#define KMAX 300 /* longest key generated or probed */

/* ---- the model: the live keys, sorted ------------------------------------------------------ */

typedef struct bkey {
    uint8_t *p;
    size_t len;
} bkey;

typedef struct model {
    bkey *v;
    size_t n, cap;
} model;

static int kcmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int bkey_qcmp(const void *a, const void *b) {
    const bkey *x = a, *y = b;
    return kcmp(x->p, x->len, y->p, y->len);
}

/* First index whose key is >= k: how many keys sort before k. */
static size_t model_lb(const model *m, const uint8_t *k, size_t len) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kcmp(m->v[mid].p, m->v[mid].len, k, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* First index whose key is > k: how many keys are <= k. */
static size_t model_ub(const model *m, const uint8_t *k, size_t len) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kcmp(m->v[mid].p, m->v[mid].len, k, len) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool model_has(const model *m, const uint8_t *k, size_t len) {
    size_t i = model_lb(m, k, len);
    return i < m->n && kcmp(m->v[i].p, m->v[i].len, k, len) == 0;
}

static void model_reserve(model *m, size_t n) {
    if (n <= m->cap) return;
    size_t cap = m->cap ? m->cap : 64;
    while (cap < n) cap *= 2;
    m->v = realloc(m->v, cap * sizeof *m->v);
    assert_non_null(m->v);
    m->cap = cap;
}

static bkey bkey_dup(const uint8_t *k, size_t len) {
    bkey b = {malloc(len ? len : 1), len};
    assert_non_null(b.p);
    if (len) memcpy(b.p, k, len);
    return b;
}

static void model_insert(model *m, const uint8_t *k, size_t len) {
    size_t i = model_lb(m, k, len);
    assert_false(i < m->n && kcmp(m->v[i].p, m->v[i].len, k, len) == 0);
    model_reserve(m, m->n + 1);
    memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof *m->v);
    m->v[i] = bkey_dup(k, len);
    m->n++;
}

static void model_remove_range(model *m, size_t i, size_t cnt) {
    assert_true(i + cnt <= m->n);
    for (size_t j = i; j < i + cnt; j++) free(m->v[j].p);
    memmove(m->v + i, m->v + i + cnt, (m->n - i - cnt) * sizeof *m->v);
    m->n -= cnt;
}

static void model_clear(model *m) { model_remove_range(m, 0, m->n); }

static void model_free(model *m) {
    model_clear(m);
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- key generation -------------------------------------------------------------------------- */

static const uint8_t PFX[4][8] = {
    {0, 0, 0, 0, 0, 0, 0, 0},
    {0x80, 0, 0, 0, 0, 0, 0, 0},
    {0xbf, 0xf0, 0, 0, 0, 0, 0, 0},
    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
};

static uint8_t rand_byte(st_rng *r) {
    uint64_t v = st_rng_next(r);
    switch (v & 7) {
    case 0: return 0x00;
    case 1: return 0xff;
    default: return (uint8_t)(v >> 40);
    }
}

static void rand_bytes(st_rng *r, uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = rand_byte(r);
}

/* A key of one of the shapes above; src (may be empty) are keys to derive from. */
static void gen_key(st_rng *r, const bkey *src, size_t nsrc, uint8_t *buf, size_t *len) {
    unsigned u = (unsigned)st_rng_below(r, 100);
    const bkey *s = nsrc ? &src[st_rng_below(r, nsrc)] : NULL;
    if (u >= 78 && (!s || s->len + 2 > KMAX - 40)) u = 0;
    if (u < 50) { /* plain */
        *len = 12 + st_rng_below(r, 13);
        rand_bytes(r, buf, *len);
    } else if (u < 65) { /* same "score", different members */
        memcpy(buf, PFX[st_rng_below(r, 4)], 8);
        size_t m = 1 + st_rng_below(r, 12);
        rand_bytes(r, buf + 8, m);
        *len = 8 + m;
    } else if (u < 73) { /* very short */
        *len = 1 + st_rng_below(r, 3);
        rand_bytes(r, buf, *len);
    } else if (u < 78) { /* long, often with a long common prefix */
        *len = 200 + st_rng_below(r, 61);
        size_t from = 0;
        if (st_rng_below(r, 2)) {
            for (from = 0; from < 190; from++) buf[from] = (uint8_t)('L' + from % 7);
        }
        rand_bytes(r, buf + from, *len - from);
    } else if (u < 88) { /* an existing key extended: sorts right after it */
        memcpy(buf, s->p, s->len);
        size_t m = 1 + st_rng_below(r, 2);
        for (size_t i = 0; i < m; i++) buf[s->len + i] = st_rng_below(r, 2) ? 0 : rand_byte(r);
        *len = s->len + m;
    } else if (u < 94 && s->len > 1) { /* an existing key's prefix: sorts before it */
        *len = 1 + st_rng_below(r, s->len - 1);
        memcpy(buf, s->p, *len);
    } else { /* an existing key with its last byte changed by one */
        memcpy(buf, s->p, s->len);
        *len = s->len;
        buf[s->len - 1] = (uint8_t)(buf[s->len - 1] + (st_rng_below(r, 2) ? 1 : 0xff));
    }
}

/* A key that is not in m. */
static void gen_new_key(st_rng *r, const model *m, uint8_t *buf, size_t *len) {
    for (int tries = 0; tries < 1000; tries++) {
        gen_key(r, m->v, m->n, buf, len);
        if (!model_has(m, buf, *len)) return;
    }
    fail_msg("no new key in 1000 tries");
}

static void hexs(const uint8_t *p, size_t n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
    if (n * 2 + 1 > cap && cap > 4) memcpy(out + cap - 4, "..", 3);
}

/* ---- a sorted set under test ------------------------------------------------------------------- */

static const uint8_t VAL8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

typedef struct zs {
    fx *x;
    ks *h; /* the handle commands go through: x->k, or a transaction */
    const char *tag;
    ks_ns ns;
    uint8_t name[16];
    size_t nlen;
    ks_coll c;
    bool live; /* its record exists */
    model m;
    zrank_log log;
    bool in_cmd;
    bool verify_pre;    /* check that zrank_apply left the engine alone (O(n): small sets) */
    bool hints;         /* keep c.lo / c.hi as cmd_zset does (live bounds that lookups seek to) */
    unsigned hinted_lo, hinted_hi; /* commands that went to zrank_apply with has_lo / has_hi */
    ks_coll before;     /* the record as the command found it (was_live) */
    bool was_live;
    uint8_t prev_levels; /* c.rank_levels before the command */
    unsigned builds, drops; /* commands that built an index / dropped it */
    uint64_t cmds;
} zs;

static void zs_init(zs *s, fx *x, const char *tag, ks_ns ns, const char *name, size_t nlen) {
    memset(s, 0, sizeof *s);
    s->x = x;
    s->h = x->k;
    s->tag = tag;
    s->ns = ns;
    assert_true(nlen <= sizeof s->name);
    memcpy(s->name, name, nlen);
    s->nlen = nlen;
    zrank_log_init(&s->log);
}

static void zs_free(zs *s) {
    model_free(&s->m);
    zrank_log_free(&s->log);
}

static ks_ckey zs_ck(const zs *s) {
    ks_ckey ck = {s->ns, s->name, s->nlen, s->c.version};
    return ck;
}

static void zs_where(const zs *s, const char *what) {
    fprintf(stderr, "%s: %s -- after command %llu: size %llu (model %zu), rank_levels %u (before the command %u)\n",
            s->tag, what, (unsigned long long)s->cmds, (unsigned long long)s->c.size, s->m.n, s->c.rank_levels,
            s->prev_levels);
}

/* assert cond, saying where the set was when it failed */
#define ZASSERT(s, cond)                                                                                           \
    do {                                                                                                           \
        if (!(cond)) zs_where((s), #cond);                                                                         \
        assert_true(cond);                                                                                         \
    } while (0)

static void cmd_begin(zs *s) {
    assert_false(s->in_cmd);
    ks_batch_clear(s->x->b);
    s->was_live = s->live;
    if (!s->live) ks_coll_new(s->h, KS_ZSET, &s->c);
    s->before = s->c;
    s->prev_levels = s->c.rank_levels;
    s->in_cmd = true;
}

/* The live bounds, as cmd_zset keeps them: a bound is a key (<= KS_HINT_MAX bytes; a longer one
 * leaves the bound unknown) such that every live entry is >= lo and <= hi. */
static void hint_set(ks_coll *c, bool hi, const uint8_t *k, size_t kl) {
    bool *has = hi ? &c->has_hi : &c->has_lo;
    *has = kl <= KS_HINT_MAX;
    if (!*has) return;
    memcpy(hi ? c->hi : c->lo, k, kl);
    if (hi) c->hi_len = (uint8_t)kl;
    else c->lo_len = (uint8_t)kl;
}

static void hint_insert(ks_coll *c, const uint8_t *k, size_t kl) {
    if (c->size == 0) {
        hint_set(c, false, k, kl);
        hint_set(c, true, k, kl);
        return;
    }
    if (c->has_lo && kcmp(k, kl, c->lo, c->lo_len) < 0) hint_set(c, false, k, kl);
    if (c->has_hi && kcmp(k, kl, c->hi, c->hi_len) > 0) hint_set(c, true, k, kl);
}

/* A score-index put / delete of one key, logged, without the model. */
static void cmd_put_raw(zs *s, const uint8_t *k, size_t len) {
    ks_ckey ck = zs_ck(s);
    if (s->hints) hint_insert(&s->c, k, len);
    assert_int_equal(ks_batch_put_elem(s->x->b, &ck, KS_SCORES, k, len, VAL8, 8), 0);
    assert_int_equal(zrank_log_add(&s->log, k, len, +1), 0);
    s->c.size++;
}

static void cmd_del_raw(zs *s, const uint8_t *k, size_t len) {
    ks_ckey ck = zs_ck(s);
    assert_int_equal(ks_batch_del_elem(s->x->b, &ck, KS_SCORES, k, len), 0);
    assert_int_equal(zrank_log_add(&s->log, k, len, -1), 0);
    assert_true(s->c.size > 0);
    s->c.size--;
}

static void cmd_add(zs *s, const uint8_t *k, size_t len) {
    assert_true(s->in_cmd);
    model_insert(&s->m, k, len);
    cmd_put_raw(s, k, len);
}

static void cmd_del_at(zs *s, size_t i) {
    assert_true(s->in_cmd && i < s->m.n);
    cmd_del_raw(s, s->m.v[i].p, s->m.v[i].len);
    model_remove_range(&s->m, i, 1);
}

static void cmd_del_key(zs *s, const uint8_t *k, size_t len) {
    size_t i = model_lb(&s->m, k, len);
    assert_true(i < s->m.n && kcmp(s->m.v[i].p, s->m.v[i].len, k, len) == 0);
    cmd_del_at(s, i);
}

/* ZPOPMIN / ZREMRANGEBYRANK 0 k-1 (or, high, ZPOPMAX): the k lowest (highest) go, and the last
 * one removed bounds what is left, as cmd_zset records it so the next walk skips the tombstones. */
static void cmd_pop(zs *s, size_t k, bool high) {
    assert_true(k > 0 && k <= s->m.n);
    bkey last = {NULL, 0};
    for (size_t i = 0; i < k; i++) {
        size_t at = high ? s->m.n - 1 : 0;
        if (i == k - 1) last = bkey_dup(s->m.v[at].p, s->m.v[at].len);
        cmd_del_at(s, at);
    }
    if (s->hints) hint_set(&s->c, high, last.p, last.len);
    free(last.p);
}

static void levels_check(zs *s) {
    uint64_t n = s->c.size;
    unsigned L = s->c.rank_levels, p = s->prev_levels;
    ZASSERT(s, L <= ZRANK_MAX_LEVELS);
    ZASSERT(s, n <= 2 * LEAF || L >= 1);     /* built once the set grows past 2 * LEAF */
    ZASSERT(s, n >= LEAF / 2 || L == 0);     /* dropped below LEAF / 2 */
    ZASSERT(s, p > 0 || n > 2 * LEAF || L == 0); /* not built before that */
    ZASSERT(s, p == 0 || n < LEAF / 2 || L >= 1); /* not dropped before that */
    if (p == 0 && L > 0) s->builds++;
    if (p > 0 && L == 0) s->drops++;
}

static void cmd_end(zs *s) {
    assert_true(s->in_cmd);
    ZASSERT(s, s->c.size == s->m.n);
    ks_ckey ck = zs_ck(s);
    if (s->c.size > 0) {
        if (s->hints) { /* the test keeps its side of the contract */
            const bkey *lo = &s->m.v[0], *hi = &s->m.v[s->m.n - 1];
            ZASSERT(s, !s->c.has_lo || kcmp(lo->p, lo->len, s->c.lo, s->c.lo_len) >= 0);
            ZASSERT(s, !s->c.has_hi || kcmp(hi->p, hi->len, s->c.hi, s->c.hi_len) <= 0);
            s->hinted_lo += s->c.has_lo;
            s->hinted_hi += s->c.has_hi;
        }
        int rc = zrank_apply(s->h, s->x->b, &ck, s->was_live ? &s->before : NULL, &s->c, &s->log);
        if (rc) fprintf(stderr, "zrank_apply: %d (%s)\n", rc, ks_strerror(rc));
        ZASSERT(s, rc == 0);
        if (s->verify_pre && s->was_live) {
            /* the index as the engine holds it is still that of the record before the command */
            char msg[256] = "";
            ks_ckey ck0 = {s->ns, s->name, s->nlen, s->before.version};
            rc = zrank_check(s->h, &ck0, &s->before, msg, sizeof msg);
            if (rc) fprintf(stderr, "before ks_write: zrank_check: %d: %s\n", rc, msg);
            ZASSERT(s, rc == 0);
        }
        assert_int_equal(ks_batch_put_coll(s->x->b, s->ns, s->name, s->nlen, &s->c), 0);
        s->live = true;
    } else {
        assert_int_equal(ks_batch_delete(s->x->b, s->ns, s->name, s->nlen), 0);
        s->live = false;
    }
    uint64_t lsn = 0;
    assert_int_equal(ks_write(s->h, s->x->b, &lsn), 0);
    assert_int_equal(ks_commit(s->x->k, lsn), 0);
    zrank_log_free(&s->log);
    s->in_cmd = false;
    s->cmds++;
    if (s->live) levels_check(s);
}

/* `commands` commands of `per` new keys each. */
static void fill_new(zs *s, st_rng *r, int commands, int per) {
    uint8_t buf[KMAX];
    size_t len;
    for (int c = 0; c < commands; c++) {
        cmd_begin(s);
        for (int i = 0; i < per; i++) {
            gen_new_key(r, &s->m, buf, &len);
            cmd_add(s, buf, len);
        }
        cmd_end(s);
    }
}

/* DEL: the record alone goes (the elements and the index become unreachable with its version). */
static void zs_del_record(zs *s) {
    ks_batch_clear(s->x->b);
    assert_int_equal(ks_batch_delete(s->x->b, s->ns, s->name, s->nlen), 0);
    uint64_t lsn = 0;
    assert_int_equal(ks_write(s->h, s->x->b, &lsn), 0);
    assert_int_equal(ks_commit(s->x->k, lsn), 0);
    model_clear(&s->m);
    s->live = false;
}

/* The record as stored, into c. */
static void zs_reload(zs *s, ks_coll *c) {
    ks_rec r;
    assert_int_equal(ks_lookup(s->h, s->ns, s->name, s->nlen, 1000, &r), 0);
    assert_int_equal(ks_rec_coll(&r, c), 0);
    ks_rec_free(&r);
    assert_int_equal(c->type, KS_ZSET);
}

/* ---- checks ------------------------------------------------------------------------------------ */

static void probe_rank(zs *s, uint64_t r) {
    ks_ckey ck = zs_ck(s);
    uint8_t *key = NULL;
    size_t len = 0;
    int rc = zrank_key_at(s->h, &ck, &s->c, r, &key, &len);
    const bkey *w = &s->m.v[r];
    if (rc || len != w->len || (len && memcmp(key, w->p, len))) {
        char got[80] = "", want[80];
        if (!rc) hexs(key, len, got, sizeof got);
        hexs(w->p, w->len, want, sizeof want);
        fprintf(stderr, "zrank_key_at(%llu): rc %d, key %s (len %zu), want %s (len %zu)\n", (unsigned long long)r,
                rc, got, len, want, w->len);
        zs_where(s, "zrank_key_at");
    }
    assert_int_equal(rc, 0);
    assert_int_equal(len, w->len);
    assert_memory_equal(key, w->p, len);
    free(key);
}

static void probe_below(zs *s, const uint8_t *k, size_t len) {
    ks_ckey ck = zs_ck(s);
    uint64_t got = UINT64_MAX;
    int rc = zrank_count_below(s->h, &ck, &s->c, k, len, &got);
    uint64_t want = model_lb(&s->m, k, len);
    if (rc || got != want) {
        char hk[80];
        hexs(k, len, hk, sizeof hk);
        fprintf(stderr, "zrank_count_below(%s, len %zu): rc %d, %llu, want %llu\n", hk, len, rc,
                (unsigned long long)got, (unsigned long long)want);
        zs_where(s, "zrank_count_below");
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got, want);
}

/* A probe key: an existing key, or one just above / below / beside one, or anything. */
static void probe_key(st_rng *r, const model *m, uint8_t *buf, size_t *len) {
    if (m->n && st_rng_below(r, 3) == 0) {
        const bkey *e = &m->v[st_rng_below(r, m->n)];
        memcpy(buf, e->p, e->len);
        *len = e->len;
        return;
    }
    gen_key(r, m->v, m->n, buf, len);
}

static void check_probes(zs *s, st_rng *r, unsigned nranks, unsigned nkeys) {
    if (!s->live) return;
    ks_ckey ck = zs_ck(s);
    uint64_t n = s->m.n;
    if (s->c.rank_levels == 0) { /* no index: the callers walk */
        uint8_t *key = NULL;
        size_t len = 0;
        uint64_t cnt;
        ZASSERT(s, n <= 2 * LEAF);
        int rc0 = zrank_key_at(s->h, &ck, &s->c, 0, &key, &len);
        int rc1 = zrank_key_at(s->h, &ck, &s->c, n / 2, &key, &len);
        int rc2 = zrank_count_below(s->h, &ck, &s->c, (const uint8_t *)"k", 1, &cnt);
        ZASSERT(s, rc0 == KS_ENOTFOUND && rc1 == KS_ENOTFOUND && rc2 == KS_ENOTFOUND);
        return;
    }
    probe_rank(s, 0);
    if (n > 1) probe_rank(s, 1);
    probe_rank(s, n - 1);
    probe_rank(s, n / 2);
    for (unsigned i = 0; i < nranks; i++) probe_rank(s, st_rng_below(r, n));
    static const uint8_t empty[1] = {0};
    uint8_t top[KMAX];
    memset(top, 0xff, sizeof top);
    probe_below(s, empty, 0);
    probe_below(s, top, sizeof top);
    uint8_t buf[KMAX];
    size_t len;
    for (unsigned i = 0; i < nkeys; i++) {
        probe_key(r, &s->m, buf, &len);
        probe_below(s, buf, len);
    }
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

typedef struct lvl {
    bkey *seps;
    uint64_t *counts;
    size_t n, cap;
    bool has_sent;
    uint64_t sent;
} lvl;

/* Every index entry of the set, read directly (format of zrank.h), into lv[level]: how many. */
static size_t ranks_read(zs *s, lvl *lv) {
    ks_ckey ck = zs_ck(s);
    unsigned L = s->c.rank_levels;
    ZASSERT(s, L <= ZRANK_MAX_LEVELS);
    memset(lv, 0, ZRANK_MAX_LEVELS * sizeof *lv);
    ks_elems *it;
    assert_int_equal(ks_elems_open(s->h, &ck, KS_RANKS, &it), 0);
    ks_elems_seek(it, (const uint8_t *)"", 0);
    size_t total = 0;
    char hk[80];
    for (; ks_elems_valid(it); ks_elems_next(it)) {
        size_t el, vl;
        const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
        bool ok = el >= 2 && e[0] < L && (e[1] == 0 || (e[1] == 1 && el == 2)) && vl == 8;
        if (!ok) {
            hexs(e, el, hk, sizeof hk);
            fprintf(stderr, "rank index entry %s (value %zu bytes) does not belong to a %u-level index\n", hk, vl, L);
        }
        ZASSERT(s, ok);
        lvl *l = &lv[e[0]];
        if (e[1] == 1) {
            l->has_sent = true;
            l->sent = get_le64(v);
        } else {
            ZASSERT(s, !l->has_sent);
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 64;
                l->seps = realloc(l->seps, l->cap * sizeof *l->seps);
                l->counts = realloc(l->counts, l->cap * sizeof *l->counts);
                assert_true(l->seps && l->counts);
            }
            l->seps[l->n] = bkey_dup(e + 2, el - 2);
            l->counts[l->n++] = get_le64(v);
        }
        total++;
    }
    assert_int_equal(ks_elems_status(it), 0);
    ks_elems_close(it);
    return total;
}

static void lv_free(lvl *lv) {
    for (unsigned h = 0; h < ZRANK_MAX_LEVELS; h++) {
        for (size_t i = 0; i < lv[h].n; i++) free(lv[h].seps[i].p);
        free(lv[h].seps);
        free(lv[h].counts);
    }
}

/* The index entries compared with the model. */
static void ranks_walk(zs *s) {
    if (!s->live) return;
    unsigned L = s->c.rank_levels;
    lvl lv[ZRANK_MAX_LEVELS];
    size_t total = ranks_read(s, lv);
    char hk[80];
    if (L == 0) ZASSERT(s, total == 0); /* a dropped index leaves no entries behind */
    uint64_t n = s->m.n, nominal = LEAF;
    for (unsigned h = 0; h < L; h++, nominal *= ZRANK_FANOUT) {
        lvl *l = &lv[h];
        ZASSERT(s, l->has_sent);
        uint64_t prev = 0;
        for (size_t i = 0; i < l->n; i++) {
            uint64_t ub = model_ub(&s->m, l->seps[i].p, l->seps[i].len), want = ub - prev;
            if (l->counts[i] != want || want == 0 || want > 2 * nominal) {
                hexs(l->seps[i].p, l->seps[i].len, hk, sizeof hk);
                fprintf(stderr, "level %u range %zu (up to %s): count %llu, the score index has %llu (at most %llu)\n",
                        h, i, hk, (unsigned long long)l->counts[i], (unsigned long long)want,
                        (unsigned long long)(2 * nominal));
            }
            ZASSERT(s, l->counts[i] == want);
            ZASSERT(s, want > 0);
            ZASSERT(s, want <= 2 * nominal);
            prev = ub;
        }
        if (l->sent != n - prev || l->sent > 2 * nominal)
            fprintf(stderr, "level %u sentinel: count %llu, the score index has %llu (at most %llu)\n", h,
                    (unsigned long long)l->sent, (unsigned long long)(n - prev), (unsigned long long)(2 * nominal));
        ZASSERT(s, l->sent == n - prev);
        ZASSERT(s, l->sent <= 2 * nominal);
        if (h > 0) { /* the separators of level h are separators of level h - 1 */
            const lvl *d = &lv[h - 1];
            size_t j = 0;
            for (size_t i = 0; i < l->n; i++) {
                while (j < d->n && kcmp(d->seps[j].p, d->seps[j].len, l->seps[i].p, l->seps[i].len) < 0) j++;
                bool found = j < d->n && kcmp(d->seps[j].p, d->seps[j].len, l->seps[i].p, l->seps[i].len) == 0;
                if (!found) fprintf(stderr, "level %u separator %zu is not one of level %u\n", h, i, h - 1);
                ZASSERT(s, found);
            }
        }
        /* ranges are merged below a quarter of their nominal size: not many more of them than that
         * implies (2x slack, plus one short range per range of the level above) */
        size_t above = h + 1 < L ? lv[h + 1].n + 1 : 1;
        ZASSERT(s, l->n + 1 <= 8 * n / nominal + 2 * above + 2);
    }
    lv_free(lv);
}

static void zcheck(zs *s) {
    if (!s->live) return;
    ks_ckey ck = zs_ck(s);
    char msg[512] = "";
    int rc = zrank_check(s->h, &ck, &s->c, msg, sizeof msg);
    if (rc) fprintf(stderr, "zrank_check: %d: %s\n", rc, msg);
    ZASSERT(s, rc == 0);
}

static void full_check(zs *s, st_rng *r, unsigned nranks, unsigned nkeys) {
    zcheck(s);
    ranks_walk(s);
    check_probes(s, r, nranks, nkeys);
}

/* After a command of a long run: one rank and one key probed; every 10th command a few more;
 * every full_every-th, and whenever the index was built, dropped or changed levels, or the set is
 * near the thresholds, everything. */
static void step_check(zs *s, st_rng *r, unsigned full_every) {
    if (!s->live) return;
    bool milestone = s->c.rank_levels != s->prev_levels || s->m.n <= 2 * LEAF + 100;
    if (milestone || s->cmds % full_every == 0) {
        full_check(s, r, 30, 30);
    } else if (s->cmds % 10 == 0 || s->c.rank_levels == 0) {
        check_probes(s, r, 4, 4);
    } else {
        uint8_t buf[KMAX];
        size_t len;
        probe_rank(s, st_rng_below(r, s->m.n));
        probe_key(r, &s->m, buf, &len);
        probe_below(s, buf, len);
    }
}

static void seed_rng(st_rng *r, const char *test, uint64_t def) { st_rng_seed(r, st_test_seed(test, def)); }

/* ---- scenarios --------------------------------------------------------------------------------- */

/* Random inserts in commands of 1..50 up to 20,000 keys, then random deletes back to nothing: the
 * index is built past 2 * LEAF (once), gains a level, and is dropped below LEAF / 2 (once). */
static void test_zrank_grow_then_shrink(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_grow_then_shrink", 0x5eed0001);
    zs s;
    zs_init(&s, x, "grow_then_shrink", NS0, "grow", 4);
    uint8_t buf[KMAX];
    size_t len;
    while (s.m.n < 20000) {
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 50); i < k; i++) {
            gen_new_key(&r, &s.m, buf, &len);
            cmd_add(&s, buf, len);
        }
        cmd_end(&s);
        ZASSERT(&s, s.c.rank_levels >= s.prev_levels); /* growing: levels only come */
        step_check(&s, &r, 40);
    }
    full_check(&s, &r, 150, 150);
    ZASSERT(&s, s.c.rank_levels >= 2 && s.c.rank_levels <= 3);
    assert_int_equal(s.builds, 1);
    /* random deletes leave tombstones in every range that each lookup steps over until compaction
     * drops them: compact twice on the way down (also: the index survives compaction) */
    uint64_t compact_at[2] = {10000, 2000};
    int compactions = 0;
    while (s.m.n > 0) {
        if (compactions < 2 && s.m.n <= compact_at[compactions]) {
            assert_int_equal(ks_compact(x->k), 0);
            compactions++;
            full_check(&s, &r, 30, 30);
        }
        cmd_begin(&s);
        uint64_t k = 1 + st_rng_below(&r, 50);
        if (k > s.m.n) k = s.m.n;
        for (uint64_t i = 0; i < k; i++) cmd_del_at(&s, st_rng_below(&r, s.m.n));
        cmd_end(&s);
        if (!s.live) break;
        ZASSERT(&s, s.c.rank_levels <= s.prev_levels); /* shrinking: levels only go */
        step_check(&s, &r, 40);
    }
    assert_false(s.live);
    assert_int_equal(compactions, 2);
    assert_int_equal(s.builds, 1);
    assert_int_equal(s.drops, 1);
    zs_free(&s);
}

/* Shuffles a[0..n) in place. */
static void shuffle(st_rng *r, bkey *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = st_rng_below(r, i);
        bkey t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* One command adding n new keys to an empty set, in random order (ZUNIONSTORE, ZADD of many):
 * distinct keys made by generating more, sorting, deduplicating, shuffling. */
static void cmd_bulk_add(zs *s, st_rng *r, size_t n) {
    assert_int_equal(s->m.n, 0);
    size_t ncand = n + n / 8;
    bkey *cand = calloc(ncand, sizeof *cand);
    assert_non_null(cand);
    uint8_t buf[KMAX];
    size_t len;
    for (size_t i = 0; i < ncand; i++) {
        gen_key(r, cand, i, buf, &len);
        cand[i] = bkey_dup(buf, len);
    }
    qsort(cand, ncand, sizeof *cand, bkey_qcmp);
    size_t u = 0;
    for (size_t i = 0; i < ncand; i++) {
        if (u && kcmp(cand[u - 1].p, cand[u - 1].len, cand[i].p, cand[i].len) == 0) free(cand[i].p);
        else cand[u++] = cand[i];
    }
    assert_true(u >= n);
    shuffle(r, cand, u);
    for (size_t i = n; i < u; i++) free(cand[i].p);
    cmd_begin(s);
    for (size_t i = 0; i < n; i++) cmd_put_raw(s, cand[i].p, cand[i].len);
    model_reserve(&s->m, n);
    memcpy(s->m.v, cand, n * sizeof *cand);
    s->m.n = n;
    free(cand);
    qsort(s->m.v, s->m.n, sizeof *s->m.v, bkey_qcmp);
    cmd_end(s);
}

/* One command inserting 50,000 keys into a new set (ZUNIONSTORE), then rank ranges deleted in one
 * command each: 20,000 from the middle, the lowest 10,000, the highest 10,000 (ZREMRANGEBYRANK);
 * then one command adding 10,000 and deleting 5,000 at once. */
static void test_zrank_bulk_commands(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_bulk_commands", 0x5eed0002);
    zs s;
    zs_init(&s, x, "bulk_commands", NS0, "bulk", 4);
    cmd_bulk_add(&s, &r, 50000);
    uint8_t buf[KMAX];
    size_t len;
    full_check(&s, &r, 150, 150);
    ZASSERT(&s, s.c.rank_levels >= 2 && s.c.rank_levels <= 3);

    /* ranks [15000, 35000), highest first */
    cmd_begin(&s);
    for (size_t i = 35000; i-- > 15000;) cmd_del_raw(&s, s.m.v[i].p, s.m.v[i].len);
    model_remove_range(&s.m, 15000, 20000);
    cmd_end(&s);
    full_check(&s, &r, 150, 150);
    probe_rank(&s, 14999);
    probe_rank(&s, 15000);

    /* ranks [0, 10000), lowest first */
    cmd_begin(&s);
    for (size_t i = 0; i < 10000; i++) cmd_del_raw(&s, s.m.v[i].p, s.m.v[i].len);
    model_remove_range(&s.m, 0, 10000);
    cmd_end(&s);
    full_check(&s, &r, 150, 150);
    assert_int_equal(s.c.size, 20000);

    /* ranks [10000, 20000): the top, where the sentinels are */
    cmd_begin(&s);
    for (size_t i = 10000; i < 20000; i++) cmd_del_raw(&s, s.m.v[i].p, s.m.v[i].len);
    model_remove_range(&s.m, 10000, 10000);
    cmd_end(&s);
    full_check(&s, &r, 150, 150);
    ZASSERT(&s, s.c.rank_levels >= 1);

    /* 10,000 in and 5,000 out in one command, interleaved */
    cmd_begin(&s);
    for (int i = 0; i < 15000; i++) {
        if (i % 3 == 2) {
            cmd_del_at(&s, st_rng_below(&r, s.m.n));
        } else {
            gen_new_key(&r, &s.m, buf, &len);
            cmd_add(&s, buf, len);
        }
    }
    cmd_end(&s);
    assert_int_equal(s.c.size, 15000);
    full_check(&s, &r, 150, 150);
    zs_free(&s);
}

/* ~2,000 keys; 3,000 commands each adding one key and removing the lowest (a leaderboard that
 * keeps its top N, ZADD + ZPOPMIN): all the deletions at the low edge, with the live bounds. */
static void test_zrank_leaderboard(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_leaderboard", 0x5eed0003);
    zs s;
    zs_init(&s, x, "leaderboard", NS0, "lb", 2);
    s.hints = true; /* as the server keeps them: the lookups from the low end skip the tombstones */
    uint8_t buf[KMAX];
    size_t len;
    fill_new(&s, &r, 20, 100);
    full_check(&s, &r, 50, 50);
    for (int c = 1; c <= 3000; c++) {
        cmd_begin(&s);
        gen_new_key(&r, &s.m, buf, &len);
        cmd_add(&s, buf, len);
        cmd_pop(&s, 1, false); /* may be the key just added */
        cmd_end(&s);
        assert_int_equal(s.c.size, 2000);
        probe_rank(&s, 0); /* the next one out */
        if (c % 50 == 0) full_check(&s, &r, 20, 20);
    }
    full_check(&s, &r, 200, 200);
    assert_true(s.hinted_lo > 2000); /* the low bound was known (popped keys longer than
                                       * KS_HINT_MAX leave it unknown until the next pop) */
    zs_free(&s);
}

/* Keys removed and re-added, added and removed, and moved (a score change: removed at one key,
 * inserted at another) within one command; then random commands of such changes. */
static void test_zrank_moves_within_a_command(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_moves_within_a_command", 0x5eed0004);
    zs s;
    zs_init(&s, x, "moves", NS0, "mv", 2);
    uint8_t buf[KMAX], b2[KMAX], b3[KMAX];
    size_t len, l2, l3;
    fill_new(&s, &r, 15, 100);
    full_check(&s, &r, 50, 50);
    ZASSERT(&s, s.c.rank_levels >= 1);
    s.verify_pre = true;

    /* the same key out and back in (-1, +1) */
    cmd_begin(&s);
    len = s.m.v[700].len;
    memcpy(buf, s.m.v[700].p, len);
    cmd_del_key(&s, buf, len);
    cmd_add(&s, buf, len);
    cmd_end(&s);
    assert_int_equal(s.c.size, 1500);
    full_check(&s, &r, 50, 50);
    probe_below(&s, buf, len);

    /* a new key in and out again (+1, -1): leaves nothing */
    cmd_begin(&s);
    gen_new_key(&r, &s.m, buf, &len);
    cmd_add(&s, buf, len);
    cmd_del_key(&s, buf, len);
    cmd_end(&s);
    assert_int_equal(s.c.size, 1500);
    full_check(&s, &r, 50, 50);
    probe_below(&s, buf, len);
    ks_ckey ck = zs_ck(&s);
    uint8_t *val;
    size_t vlen;
    assert_int_equal(ks_elem_get(s.h, &ck, KS_SCORES, buf, len, &val, &vlen), KS_ENOTFOUND);

    /* out, in, out, in (-1, +1, -1, +1) of one key; an existing key out, a new key in and out, the
     * first back in */
    cmd_begin(&s);
    len = s.m.v[3].len;
    memcpy(buf, s.m.v[3].p, len);
    for (int i = 0; i < 2; i++) {
        cmd_del_key(&s, buf, len);
        cmd_add(&s, buf, len);
    }
    l2 = s.m.v[1200].len;
    memcpy(b2, s.m.v[1200].p, l2);
    cmd_del_key(&s, b2, l2);
    gen_new_key(&r, &s.m, b3, &l3);
    cmd_add(&s, b3, l3);
    cmd_del_key(&s, b3, l3);
    cmd_add(&s, b2, l2);
    cmd_end(&s);
    assert_int_equal(s.c.size, 1500);
    full_check(&s, &r, 50, 50);

    /* a move to the very next key (key | 0x00: a tiny score change), and one far away */
    cmd_begin(&s);
    size_t i = 400;
    for (;; i++) { /* the first key from rank 400 whose successor key | 0x00 is free */
        len = s.m.v[i].len;
        memcpy(buf, s.m.v[i].p, len);
        buf[len++] = 0;
        if (!model_has(&s.m, buf, len)) break;
    }
    cmd_del_at(&s, i);
    cmd_add(&s, buf, len);
    cmd_del_at(&s, 10);
    memset(b2, 0xfe, 40);
    assert_false(model_has(&s.m, b2, 40));
    cmd_add(&s, b2, 40);
    cmd_end(&s);
    full_check(&s, &r, 50, 50);
    probe_below(&s, buf, len);

    /* a chain A -> B -> C in one command */
    cmd_begin(&s);
    cmd_del_at(&s, 900);
    gen_new_key(&r, &s.m, b2, &l2);
    cmd_add(&s, b2, l2);
    cmd_del_key(&s, b2, l2);
    gen_new_key(&r, &s.m, b3, &l3);
    cmd_add(&s, b3, l3);
    cmd_end(&s);
    assert_int_equal(s.c.size, 1500);
    full_check(&s, &r, 50, 50);

    /* 100 keys moved to the key after them (or anywhere, if that is taken), all out first */
    cmd_begin(&s);
    bkey moved[100];
    for (int j = 0; j < 100; j++) {
        size_t at = st_rng_below(&r, s.m.n);
        moved[j] = bkey_dup(s.m.v[at].p, s.m.v[at].len);
        cmd_del_at(&s, at);
    }
    for (int j = 0; j < 100; j++) {
        memcpy(buf, moved[j].p, moved[j].len);
        len = moved[j].len;
        buf[len - 1]++;
        if (model_has(&s.m, buf, len)) gen_new_key(&r, &s.m, buf, &len);
        cmd_add(&s, buf, len);
        free(moved[j].p);
    }
    cmd_end(&s);
    assert_int_equal(s.c.size, 1500);
    full_check(&s, &r, 50, 50);
    s.verify_pre = false;

    /* random commands of 1..20 changes: moves near and far, out-and-back, in-and-out, plain
     * inserts and deletes, keeping 1,000..2,000 keys */
    for (int c = 1; c <= 400; c++) {
        cmd_begin(&s);
        for (uint64_t j = 0, k = 1 + st_rng_below(&r, 20); j < k; j++) {
            unsigned op = (unsigned)st_rng_below(&r, 6);
            if (op == 4 && s.m.n > 2000) op = 5;
            if (op == 5 && s.m.n < 1000) op = 4;
            size_t at = st_rng_below(&r, s.m.n);
            switch (op) {
            case 0: /* move far */
                cmd_del_at(&s, at);
                gen_new_key(&r, &s.m, buf, &len);
                cmd_add(&s, buf, len);
                break;
            case 1: /* move near */
                len = s.m.v[at].len;
                memcpy(buf, s.m.v[at].p, len);
                cmd_del_at(&s, at);
                buf[len - 1] = (uint8_t)(buf[len - 1] + (st_rng_below(&r, 2) ? 1 : 0xff));
                if (model_has(&s.m, buf, len)) gen_new_key(&r, &s.m, buf, &len);
                cmd_add(&s, buf, len);
                break;
            case 2: /* out and back */
                len = s.m.v[at].len;
                memcpy(buf, s.m.v[at].p, len);
                cmd_del_at(&s, at);
                cmd_add(&s, buf, len);
                break;
            case 3: /* in and out */
                gen_new_key(&r, &s.m, buf, &len);
                cmd_add(&s, buf, len);
                cmd_del_key(&s, buf, len);
                break;
            case 4:
                gen_new_key(&r, &s.m, buf, &len);
                cmd_add(&s, buf, len);
                break;
            default:
                cmd_del_at(&s, at);
                break;
            }
        }
        cmd_end(&s);
        step_check(&s, &r, 20);
    }
    full_check(&s, &r, 200, 200);
    zs_free(&s);
}

/* Changes right at the separators (read from the index): a separator's own key removed (the
 * boundary stays, its key gone) and put back, keys just above it (sep | 0x00: the next range) and
 * just below it (a prefix of it) added and removed, at level 0 and at level 1. */
static void probe_around(zs *s, const uint8_t *k, size_t len) {
    probe_below(s, k, len);
    if (!s->c.rank_levels) return;
    uint64_t at = model_lb(&s->m, k, len);
    for (uint64_t rk = at ? at - 1 : 0; rk <= at + 1 && rk < s->m.n; rk++) probe_rank(s, rk);
}

static void test_zrank_separator_boundaries(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_separator_boundaries", 0x5eed000c);
    zs s;
    zs_init(&s, x, "separators", NS0, "seps", 4);
    cmd_bulk_add(&s, &r, 10000);
    full_check(&s, &r, 50, 50);
    ZASSERT(&s, s.c.rank_levels >= 2);
    unsigned removed = 0;
    for (int iter = 0; iter < 40; iter++) {
        lvl lv[ZRANK_MAX_LEVELS];
        ranks_read(&s, lv);
        unsigned h = iter % 4 == 3 && s.c.rank_levels >= 2 && lv[1].n ? 1 : 0;
        assert_true(lv[h].n > 0);
        size_t i = iter == 0 ? 0 : iter == 1 ? lv[h].n - 1 : st_rng_below(&r, lv[h].n);
        uint8_t sep[KMAX + 1], above[KMAX + 2], below[KMAX];
        size_t sl = lv[h].seps[i].len;
        assert_true(sl <= KMAX);
        memcpy(sep, lv[h].seps[i].p, sl);
        lv_free(lv);
        memcpy(above, sep, sl);
        above[sl] = 0;
        memcpy(below, sep, sl - 1);
        bool was = model_has(&s.m, sep, sl), add_above = false, add_below = false;
        cmd_begin(&s);
        if (was) cmd_del_key(&s, sep, sl);
        if (!model_has(&s.m, above, sl + 1)) {
            cmd_add(&s, above, sl + 1);
            add_above = true;
        }
        if (sl > 1 && !model_has(&s.m, below, sl - 1)) {
            cmd_add(&s, below, sl - 1);
            add_below = true;
        }
        cmd_end(&s);
        removed += was;
        zcheck(&s);
        ranks_walk(&s);
        probe_around(&s, sep, sl);
        probe_around(&s, above, sl + 1);
        probe_around(&s, below, sl - 1);
        cmd_begin(&s);
        if (was) cmd_add(&s, sep, sl);
        if (add_above) cmd_del_key(&s, above, sl + 1);
        if (add_below && iter % 2) cmd_del_key(&s, below, sl - 1);
        cmd_end(&s);
        zcheck(&s);
        ranks_walk(&s);
        probe_around(&s, sep, sl);
        probe_around(&s, above, sl + 1);
    }
    assert_true(removed > 0); /* separators are (at first) keys of the set */
    full_check(&s, &r, 100, 100);
    zs_free(&s);
}

/* Keys that only ever grow (timestamps) then pops from the top (ZPOPMAX), then keys that only ever
 * shrink: every insert lands in the last range (the sentinels) or the first one. */
static void test_zrank_monotonic_keys(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_monotonic_keys", 0x5eed0005);
    zs s;
    zs_init(&s, x, "monotonic", NS0, "mono", 4);
    uint8_t buf[KMAX];
    size_t len;
    uint64_t t = 1000000;
    while (s.m.n < 10000) {
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 50); i < k; i++) {
            for (int b = 0; b < 8; b++) buf[b] = (uint8_t)(t >> (56 - 8 * b));
            t += 1 + st_rng_below(&r, 3);
            len = 8 + st_rng_below(&r, 6);
            rand_bytes(&r, buf + 8, len - 8);
            cmd_add(&s, buf, len);
        }
        cmd_end(&s);
        step_check(&s, &r, 20);
    }
    full_check(&s, &r, 100, 100);
    ZASSERT(&s, s.c.rank_levels >= 2);
    while (s.m.n > 5000) { /* ZPOPMAX */
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 50); i < k; i++) cmd_del_at(&s, s.m.n - 1);
        cmd_end(&s);
        step_check(&s, &r, 20);
    }
    full_check(&s, &r, 100, 100);
    uint64_t d = 999999;
    for (int c = 0; c < 100; c++) { /* below everything, each below the last */
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 50); i < k; i++) {
            for (int b = 0; b < 8; b++) buf[b] = (uint8_t)(d >> (56 - 8 * b));
            d -= 1 + st_rng_below(&r, 3);
            cmd_add(&s, buf, 8);
        }
        cmd_end(&s);
        step_check(&s, &r, 20);
    }
    full_check(&s, &r, 100, 100);
    zs_free(&s);
}

/* A set going back and forth across the thresholds five times (up past 600, down below 30), with
 * keys random, appended or prepended: the index is built and dropped each time, on the same
 * version; and zrank_apply changes nothing in the engine itself (only the batch). */
static void test_zrank_threshold_churn(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_threshold_churn", 0x5eed0006);
    zs s;
    zs_init(&s, x, "threshold_churn", NS0, "churn", 5);
    s.verify_pre = true;
    uint8_t buf[KMAX];
    size_t len;
    uint64_t up = 1, down = UINT64_MAX / 2;
    for (int cycle = 0; cycle < 5; cycle++) {
        unsigned kind = (unsigned)cycle % 3; /* random, ascending, descending */
        while (s.m.n <= 600) {
            cmd_begin(&s);
            for (uint64_t i = 0, k = 1 + st_rng_below(&r, 80); i < k; i++) {
                if (kind == 0) {
                    gen_new_key(&r, &s.m, buf, &len);
                } else {
                    uint64_t v = kind == 1 ? up++ : down--;
                    buf[0] = kind == 1 ? 0xff : 0x00;
                    for (int b = 0; b < 8; b++) buf[1 + b] = (uint8_t)(v >> (56 - 8 * b));
                    len = 9;
                    if (model_has(&s.m, buf, len)) continue;
                }
                cmd_add(&s, buf, len);
            }
            cmd_end(&s);
            full_check(&s, &r, 10, 10);
        }
        while (s.m.n >= 30) {
            cmd_begin(&s);
            uint64_t k = 1 + st_rng_below(&r, 80);
            if (k >= s.m.n) k = s.m.n - 1; /* the set stays: same version throughout */
            for (uint64_t i = 0; i < k; i++) cmd_del_at(&s, st_rng_below(&r, s.m.n));
            cmd_end(&s);
            full_check(&s, &r, 10, 10);
        }
    }
    assert_true(s.live);
    assert_int_equal(s.builds, 5);
    assert_int_equal(s.drops, 5);
    zs_free(&s);
}

/* The set's live bounds (c.lo / c.hi, which zrank_apply and the lookups seek to instead of the
 * edges) kept as cmd_zset keeps them: widened by inserts, moved in by pops from either end to the
 * last key popped (a tombstone), unknown after a key longer than KS_HINT_MAX. Random inserts,
 * deletes and pops of 1..10 from either end, and a bulk trim. */
static void test_zrank_with_live_bounds(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_with_live_bounds", 0x5eed000b);
    zs s;
    zs_init(&s, x, "live_bounds", NS0, "bounds", 6);
    s.hints = true;
    uint8_t buf[KMAX];
    size_t len;
    fill_new(&s, &r, 30, 100);
    full_check(&s, &r, 50, 50);
    for (int c = 1; c <= 600; c++) {
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 10); i < k; i++) {
            gen_new_key(&r, &s.m, buf, &len);
            cmd_add(&s, buf, len);
        }
        bool pops = s.m.n > 2000; /* about as many out as in, never below 2,000 */
        if (pops && st_rng_below(&r, 2)) cmd_pop(&s, 1 + st_rng_below(&r, 10), false);
        if (pops && st_rng_below(&r, 4) == 0) cmd_pop(&s, 1 + st_rng_below(&r, 10), true);
        for (uint64_t i = 0, k = st_rng_below(&r, 4); i < k; i++) cmd_del_at(&s, st_rng_below(&r, s.m.n));
        if (st_rng_below(&r, 8) == 0) { /* and sometimes a key below or above everything after that */
            gen_new_key(&r, &s.m, buf, &len);
            buf[0] = st_rng_below(&r, 2) ? 0x00 : 0xff;
            if (!model_has(&s.m, buf, len)) cmd_add(&s, buf, len);
        }
        cmd_end(&s);
        step_check(&s, &r, 20);
    }
    full_check(&s, &r, 100, 100);
    cmd_begin(&s); /* ZREMRANGEBYRANK 0 999 */
    cmd_pop(&s, 1000, false);
    cmd_end(&s);
    full_check(&s, &r, 100, 100);
    cmd_begin(&s); /* ZREMRANGEBYRANK -500 -1 */
    cmd_pop(&s, 500, true);
    cmd_end(&s);
    full_check(&s, &r, 100, 100);
    ZASSERT(&s, s.c.rank_levels >= 1);
    assert_true(s.hinted_lo > 100 && s.hinted_hi > 100); /* the bounds were known most of the time */
    zs_free(&s);
}

/* A 5,000-key set (part of it flushed to a table) survives close and reopen with its rank_levels,
 * then a full compaction (which must keep the index entries of a live set), more commands, and
 * another reopen. */
static void test_zrank_persistence(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_persistence", 0x5eed0007);
    zs s;
    zs_init(&s, x, "persistence", NS0, "persist", 7);
    uint8_t buf[KMAX];
    size_t len;
    bool flushed = false;
    while (s.m.n < 5000) {
        cmd_begin(&s);
        for (uint64_t i = 0, k = 1 + st_rng_below(&r, 200); i < k; i++) {
            gen_new_key(&r, &s.m, buf, &len);
            cmd_add(&s, buf, len);
        }
        cmd_end(&s);
        if (!flushed && s.m.n >= 2500) {
            assert_int_equal(ks_flush_memtables(x->k), 0);
            flushed = true;
        }
    }
    full_check(&s, &r, 50, 50);
    ks_coll saved = s.c;
    ZASSERT(&s, saved.rank_levels >= 1);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(ks_close(x->k), 0);
        x->k = NULL;
        assert_int_equal(open_ks(x), 0);
        s.h = x->k;
        ks_coll c;
        zs_reload(&s, &c);
        assert_int_equal(c.version, saved.version);
        assert_int_equal(c.size, saved.size);
        assert_int_equal(c.rank_levels, saved.rank_levels);
        s.c = c;
        full_check(&s, &r, 200, 200);
        if (round == 0) {
            assert_int_equal(ks_compact(x->k), 0);
            full_check(&s, &r, 200, 200);
            for (int cmd = 0; cmd < 50; cmd++) {
                cmd_begin(&s);
                for (uint64_t i = 0, k = 1 + st_rng_below(&r, 100); i < k; i++) {
                    if (st_rng_below(&r, 2)) {
                        cmd_del_at(&s, st_rng_below(&r, s.m.n));
                    } else {
                        gen_new_key(&r, &s.m, buf, &len);
                        cmd_add(&s, buf, len);
                    }
                }
                cmd_end(&s);
                check_probes(&s, &r, 4, 4);
            }
            full_check(&s, &r, 100, 100);
            saved = s.c;
        }
    }
    zs_free(&s);
}

/* Commands inside a transaction: zrank_apply reads through its overlay (the index is built by the
 * second command, on entries the first one wrote there); nobody else sees any of it before the
 * commit, and everybody sees all of it after. */
static void test_zrank_in_a_transaction(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_in_a_transaction", 0x5eed0008);
    zs s;
    zs_init(&s, x, "transaction", NS0, "tx", 2);
    uint8_t buf[KMAX];
    size_t len;
    fill_new(&s, &r, 2, 100);
    full_check(&s, &r, 20, 20);
    assert_int_equal(s.c.rank_levels, 0);
    ks_coll outside = s.c;
    uint32_t stripe = ks_stripe(s.ns, s.name, s.nlen);
    ks *t;
    assert_int_equal(ks_txn_begin(x->k, &stripe, 1, false, &t), 0);
    s.h = t;
    for (int c = 0; c < 3; c++) {
        cmd_begin(&s);
        for (int i = 0; i < 50; i++) {
            gen_new_key(&r, &s.m, buf, &len);
            cmd_add(&s, buf, len);
        }
        cmd_end(&s);
        full_check(&s, &r, 30, 30);
    }
    cmd_begin(&s);
    for (int i = 0; i < 20; i++) cmd_del_at(&s, st_rng_below(&r, s.m.n));
    cmd_end(&s);
    full_check(&s, &r, 30, 30);
    assert_int_equal(s.c.size, 330);
    ZASSERT(&s, s.c.rank_levels >= 1);
    assert_int_equal(s.builds, 1);

    /* outside: the record and the index as before */
    ks_coll c;
    s.h = x->k;
    zs_reload(&s, &c);
    assert_int_equal(c.size, outside.size);
    assert_int_equal(c.rank_levels, 0);
    ks_ckey ck = zs_ck(&s);
    char msg[256] = "";
    assert_int_equal(zrank_check(x->k, &ck, &c, msg, sizeof msg), 0);
    uint8_t *key;
    assert_int_equal(zrank_key_at(x->k, &ck, &c, 0, &key, &len), KS_ENOTFOUND);
    ks_elems *it;
    assert_int_equal(ks_elems_open(x->k, &ck, KS_RANKS, &it), 0);
    ks_elems_seek(it, (const uint8_t *)"", 0);
    assert_false(ks_elems_valid(it));
    assert_int_equal(ks_elems_status(it), 0);
    ks_elems_close(it);

    uint64_t lsn = 0;
    assert_int_equal(ks_txn_commit(t, &lsn), 0);
    assert_true(lsn > 0);
    assert_int_equal(ks_commit(x->k, lsn), 0);
    ks_txn_end(t);
    zs_reload(&s, &c);
    assert_int_equal(c.size, 330);
    assert_int_equal(c.rank_levels, s.c.rank_levels);
    s.c = c;
    full_check(&s, &r, 100, 100);
    zs_free(&s);
}

/* Sets under one name in two databases and under a neighbouring name, changed in turns, keep their
 * own indexes; a set deleted and made again under the same name (a new version) starts afresh,
 * with the old one's index unreachable. */
static void test_zrank_sets_and_versions_are_isolated(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_sets_and_versions_are_isolated", 0x5eed0009);
    zs a, b, c;
    zs_init(&a, x, "isolated/a", NS0, "z", 1);
    zs_init(&b, x, "isolated/b", (ks_ns){0, 1}, "z", 1);
    zs_init(&c, x, "isolated/c", NS0, "z\0", 2);
    zs *all[3] = {&a, &b, &c};
    uint8_t buf[KMAX];
    size_t len;
    for (int round = 0; round < 20; round++) {
        for (int j = 0; j < 3; j++) {
            zs *s = all[j];
            cmd_begin(s);
            for (int i = 0; i < 30 + 10 * j; i++) {
                if (round % 4 == 3 && s->m.n > 100) {
                    cmd_del_at(s, st_rng_below(&r, s->m.n));
                } else {
                    gen_new_key(&r, &s->m, buf, &len);
                    cmd_add(s, buf, len);
                }
            }
            cmd_end(s);
        }
        for (int j = 0; j < 3; j++) full_check(all[j], &r, 20, 20);
    }
    for (int j = 0; j < 3; j++) ZASSERT(all[j], all[j]->c.rank_levels >= 1);
    uint64_t old = a.c.version;
    zs_del_record(&a);
    cmd_begin(&a);
    for (int i = 0; i < 300; i++) {
        gen_new_key(&r, &a.m, buf, &len);
        cmd_add(&a, buf, len);
    }
    cmd_end(&a);
    assert_true(a.c.version > old);
    ZASSERT(&a, a.c.rank_levels >= 1);
    for (int j = 0; j < 3; j++) full_check(all[j], &r, 50, 50);
    /* the old version's index is still stored (DEL is O(1)), just not this one's */
    ks_ckey ck = {NS0, a.name, a.nlen, old};
    ks_elems *it;
    assert_int_equal(ks_elems_open(x->k, &ck, KS_RANKS, &it), 0);
    ks_elems_seek(it, (const uint8_t *)"", 0);
    assert_true(ks_elems_valid(it));
    ks_elems_close(it);
    for (int j = 0; j < 3; j++) zs_free(all[j]);
}

/* zrank_check finds an index that disagrees with its entries: a score-index entry deleted or
 * added behind its back, a range's count off by one, a separator gone; and passes again once
 * each is undone. Lookups on a corrupt index fail cleanly or answer. */
static void raw_write(zs *s, int space, const uint8_t *k, size_t len, const uint8_t *v, size_t vlen) {
    ks_ckey ck = zs_ck(s);
    ks_batch_clear(s->x->b);
    if (v) assert_int_equal(ks_batch_put_elem(s->x->b, &ck, space, k, len, v, vlen), 0);
    else assert_int_equal(ks_batch_del_elem(s->x->b, &ck, space, k, len), 0);
    uint64_t lsn = 0;
    assert_int_equal(ks_write(s->h, s->x->b, &lsn), 0);
    assert_int_equal(ks_commit(s->x->k, lsn), 0);
}

static void expect_corrupt(zs *s, const char *what) {
    ks_ckey ck = zs_ck(s);
    char msg[512] = "";
    int rc = zrank_check(s->h, &ck, &s->c, msg, sizeof msg);
    if (rc != KS_ECORRUPT) fprintf(stderr, "%s: zrank_check returned %d, not KS_ECORRUPT\n", what, rc);
    assert_int_equal(rc, KS_ECORRUPT);
    assert_true(msg[0] != 0); /* says what is wrong */
    for (uint64_t rank = 0; rank < s->c.size; rank += 97) {
        uint8_t *key = NULL;
        size_t len;
        rc = zrank_key_at(s->h, &ck, &s->c, rank, &key, &len);
        assert_true(rc == 0 || rc == KS_ECORRUPT);
        if (!rc) free(key);
    }
}

static void test_zrank_check_reports_corruption(void **state) {
    fx *x = *state;
    st_rng r;
    seed_rng(&r, "test_zrank_check_reports_corruption", 0x5eed000a);
    zs s;
    zs_init(&s, x, "corruption", NS0, "bad", 3);
    uint8_t buf[KMAX];
    size_t len;
    fill_new(&s, &r, 10, 100);
    full_check(&s, &r, 30, 30);
    ZASSERT(&s, s.c.rank_levels >= 1);

    /* a score-index entry deleted without the index knowing (c.size unchanged) */
    len = s.m.v[500].len;
    memcpy(buf, s.m.v[500].p, len);
    raw_write(&s, KS_SCORES, buf, len, NULL, 0);
    expect_corrupt(&s, "unlogged delete");
    raw_write(&s, KS_SCORES, buf, len, VAL8, 8);
    zcheck(&s);
    /* one added */
    gen_new_key(&r, &s.m, buf, &len);
    raw_write(&s, KS_SCORES, buf, len, VAL8, 8);
    expect_corrupt(&s, "unlogged insert");
    raw_write(&s, KS_SCORES, buf, len, NULL, 0);
    full_check(&s, &r, 30, 30);

    /* the level-0 sentinel's count off by one */
    ks_ckey ck = zs_ck(&s);
    static const uint8_t sent0[2] = {0, 1};
    uint8_t *val;
    size_t vlen;
    assert_int_equal(ks_elem_get(s.h, &ck, KS_RANKS, sent0, 2, &val, &vlen), 0);
    assert_int_equal(vlen, 8);
    uint8_t orig[8], bad[8];
    memcpy(orig, val, 8);
    free(val);
    memcpy(bad, orig, 8);
    bad[0]++;
    raw_write(&s, KS_RANKS, sent0, 2, bad, 8);
    expect_corrupt(&s, "sentinel count + 1");
    raw_write(&s, KS_RANKS, sent0, 2, orig, 8);
    zcheck(&s);

    /* the first level-0 separator gone (its range's entries then count for nobody) */
    ks_elems *it;
    assert_int_equal(ks_elems_open(s.h, &ck, KS_RANKS, &it), 0);
    static const uint8_t lvl0[2] = {0, 0};
    ks_elems_seek(it, lvl0, 2);
    assert_true(ks_elems_valid(it));
    size_t el, vl;
    const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
    assert_true(el > 2 && e[0] == 0 && e[1] == 0 && vl == 8);
    bkey sep = bkey_dup(e, el);
    memcpy(orig, v, 8);
    ks_elems_close(it);
    raw_write(&s, KS_RANKS, sep.p, sep.len, NULL, 0);
    expect_corrupt(&s, "separator deleted");
    raw_write(&s, KS_RANKS, sep.p, sep.len, orig, 8);
    free(sep.p);
    full_check(&s, &r, 30, 30);
    zs_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zrank_grow_then_shrink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_bulk_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_leaderboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_moves_within_a_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_separator_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_monotonic_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_threshold_churn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_with_live_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_in_a_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_sets_and_versions_are_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zrank_check_reports_corruption, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
