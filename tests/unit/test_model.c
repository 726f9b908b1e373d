/* test_model.c -- the engine against an in-memory model, through the public API only.
 *
 * The model is a fixed key space (binary keys, NUL bytes, lengths 1..40, many keys that are
 * prefixes of others) sorted once, plus one slot per key: present?, value length and the seed
 * its bytes are generated from. A scan walks the sorted key order skipping absent slots, so the
 * model needs no tree, and a snapshot of the model is a copy of the slot array.
 *
 * test_model_random_* run a seeded random sequence of put / delete / get / scan (random bounds,
 * random seek, N steps, then a walk: seek_first / seek / seek_last / seek_for_prev and runs of
 * next and prev that turn around, each position checked) / batch / snapshot take-verify-release
 * (with scans and walks through the snapshot) / flush / st_db_compact_range
 * (random bounds) / reopen (rotating the block codec and static or dynamic level sizing) against
 * the model with a 64 KiB write buffer and tiny compaction sizes (8 KiB tables, 32 KiB base
 * level, L0 trigger 2, two compaction threads), so memtables switch, tables are flushed, and
 * background and manual compactions run (and drop versions and tombstones) along the way: a
 * deleted key that resurfaced, or a version a snapshot lost, shows up as a mismatch. Any difference fails with the seed, the op
 * index, the key in hex, and what was expected and what the engine returned.
 * Every full check also walks the whole db backward. The other tests pin down iterator bounds
 * as prefix scans (both ways), iterator point-in-time consistency across later writes and
 * flushes, snapshots released in any order, and backward walks over versions spread across the
 * memtable, immutable memtables, L0 and deeper levels at several snapshots. */
#include "strata/st.h"
#include "testutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_BYTES 40
#define RANDOM_KEYS 2000
#define MAX_VALUE_BYTES (5 * 1024 + 128)
#define MAX_SNAPS 4
#define WRITE_BUFFER_BYTES (64 * 1024)

/* ---- the model ---------------------------------------------------------------------------- */

typedef struct mkey {
    uint8_t b[MAX_KEY_BYTES + 8];
    uint8_t len;
} mkey;

typedef struct mval {
    bool present;
    uint32_t len;
    uint64_t vseed; /* value bytes are gen_value(vseed, len) */
} mval;

typedef struct model {
    int n;
    mkey *keys;  /* by id */
    int *order;  /* ids in ascending key order */
    mval *cur;   /* by id: the state every read without a snapshot must see */
} model;

typedef struct msnap {
    st_snapshot *s;
    mval *state; /* copy of model.cur when s was taken */
    long taken_at;
} msnap;

static const char *codec_name(st_codec c) {
    switch (c) {
    case ST_CODEC_NONE: return "NONE";
    case ST_CODEC_LZ4: return "LZ4";
    case ST_CODEC_ZSTD: return "ZSTD";
    }
    return "?";
}

static const st_codec codecs[3] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};

/* Everything a test owns lives here, so teardown can free it after a failed assertion. */
typedef struct mt {
    char *dir;
    const char *name;
    uint64_t seed;
    st_rng rng;
    st_db *db;
    st_options opts;
    model m;
    msnap snaps[MAX_SNAPS];
    int nsnaps;
    st_iter *iters[4]; /* long-lived iterators of the consistency test */
    st_batch *batch;
    long op;              /* index of the op being run, for mismatch reports */
    uint64_t vcounter;    /* makes every written value distinct */
    uint64_t last_lsn;
    int codec_idx;
    uint64_t flushes_closed; /* st_stats.flushes summed over closed sessions */
    int reopens;
    uint8_t *vbuf;           /* scratch: expected value bytes */
    uint8_t lower_buf[MAX_KEY_BYTES + 8], upper_buf[MAX_KEY_BYTES + 8], target_buf[MAX_KEY_BYTES + 8];
    long n_put, n_del, n_get, n_scan, n_scan_steps, n_batch, n_snap, n_snap_reads, n_flush, n_compact;
    long n_walk, n_walk_steps, n_turns; /* bidirectional walks, their moves, and direction changes */
    uint64_t compactions_closed; /* st_stats.compactions summed over closed sessions */
} mt;

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Value bytes: a third random, a third a repeated pattern, a third from a small alphabet, so the
 * codecs see both compressible and incompressible blocks. */
static void gen_value(uint64_t vseed, uint32_t len, uint8_t *out) {
    uint64_t s = mix64(vseed);
    static const char alpha[] = "abcdefgh";
    switch (vseed % 3) {
    case 0:
        for (uint32_t i = 0; i < len; i++) {
            if (i % 8 == 0) s = mix64(s + i);
            out[i] = (uint8_t)(s >> (8 * (i % 8)));
        }
        break;
    case 1: {
        char pat[32];
        int n = snprintf(pat, sizeof pat, "v%llx-", (unsigned long long)(vseed & 0xffffff));
        for (uint32_t i = 0; i < len; i++) out[i] = (uint8_t)pat[i % (uint32_t)n];
        break;
    }
    default:
        for (uint32_t i = 0; i < len; i++) {
            if (i % 16 == 0) s = mix64(s + i);
            out[i] = (uint8_t)alpha[(s >> (4 * (i % 16))) & 7];
        }
        break;
    }
}

static int key_cmp(const mkey *a, const mkey *b) {
    return st_slice_cmp(st_slice_make(a->b, a->len), st_slice_make(b->b, b->len));
}

static const mkey *sort_keys_base;
static int order_cmp(const void *a, const void *b) {
    return key_cmp(&sort_keys_base[*(const int *)a], &sort_keys_base[*(const int *)b]);
}

/* Takes ownership of keys (n distinct keys). */
static void model_init(model *m, mkey *keys, int n) {
    m->n = n;
    m->keys = keys;
    m->order = calloc((size_t)n, sizeof *m->order);
    m->cur = calloc((size_t)n, sizeof *m->cur);
    assert_non_null(m->order);
    assert_non_null(m->cur);
    for (int i = 0; i < n; i++) m->order[i] = i;
    sort_keys_base = keys;
    qsort(m->order, (size_t)n, sizeof *m->order, order_cmp);
    for (int i = 1; i < n; i++) assert_true(key_cmp(&keys[m->order[i - 1]], &keys[m->order[i]]) < 0);
}

static void model_free(model *m) {
    free(m->keys);
    free(m->order);
    free(m->cur);
    memset(m, 0, sizeof *m);
}

static st_slice key_slice(const model *m, int id) { return st_slice_make(m->keys[id].b, m->keys[id].len); }

/* First position in m->order whose key is >= t. */
static int model_lower_bound(const model *m, st_slice t) {
    int lo = 0, hi = m->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (st_slice_cmp(key_slice(m, m->order[mid]), t) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The random key space: a third short keys over {a, b, /, NUL} (lots of keys that are prefixes of
 * others, and NULs), half printable keys with shared prefixes and lengths up to 40, the rest raw
 * bytes (0x00 and 0xff included). */
static mkey *gen_keys(st_rng *r, int n) {
    mkey *keys = calloc((size_t)n, sizeof *keys);
    assert_non_null(keys);
    static const uint8_t tiny[4] = {'a', 'b', '/', 0};
    static const char *prefixes[4] = {"user:", "user:1", "idx/", "k"};
    for (int id = 0; id < n; id++) {
        mkey *k = &keys[id];
        bool dup;
        do {
            uint64_t kind = st_rng_below(r, 10);
            if (kind < 3) {
                k->len = (uint8_t)(1 + st_rng_below(r, 7));
                for (int i = 0; i < k->len; i++) k->b[i] = tiny[st_rng_below(r, 4)];
            } else if (kind < 8) {
                const char *p = prefixes[st_rng_below(r, 4)];
                size_t pl = strlen(p);
                k->len = (uint8_t)(pl + st_rng_below(r, MAX_KEY_BYTES - pl + 1));
                memcpy(k->b, p, pl);
                for (int i = (int)pl; i < k->len; i++) k->b[i] = (uint8_t)("0123456789abcdef:"[st_rng_below(r, 17)]);
            } else {
                k->len = (uint8_t)(1 + st_rng_below(r, MAX_KEY_BYTES));
                for (int i = 0; i < k->len; i++) {
                    uint64_t x = st_rng_below(r, 8);
                    k->b[i] = x == 0 ? 0 : x == 1 ? 0xff : (uint8_t)st_rng_next(r);
                }
            }
            dup = false;
            for (int j = 0; j < id && !dup; j++) dup = key_cmp(&keys[j], k) == 0;
        } while (dup);
    }
    return keys;
}

/* ---- reporting ----------------------------------------------------------------------------- */

static void hex(const uint8_t *p, size_t n, size_t max, char *out, size_t outsz) {
    size_t o = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && i < max && o + 3 < outsz; i++) o += (size_t)snprintf(out + o, outsz - o, "%02x", p[i]);
    if (n > max && o + 4 < outsz) snprintf(out + o, outsz - o, "...");
}

static void describe_expected(mt *t, const mval *v, char *out, size_t outsz) {
    if (!v->present) {
        snprintf(out, outsz, "absent");
        return;
    }
    gen_value(v->vseed, v->len, t->vbuf);
    char h[80];
    hex(t->vbuf, v->len, 24, h, sizeof h);
    snprintf(out, outsz, "len=%u vseed=%llu bytes=%s", v->len, (unsigned long long)v->vseed, h);
}

static void describe_got(int rc, const uint8_t *p, size_t n, char *out, size_t outsz) {
    if (rc != 0) {
        snprintf(out, outsz, "rc=%d (%s) errmsg='%s'", rc, st_strerror(rc), rc == ST_ENOTFOUND ? "" : st_errmsg());
        return;
    }
    char h[80];
    hex(p, n, 24, h, sizeof h);
    snprintf(out, outsz, "len=%zu bytes=%s", n, h);
}

/* Prints everything needed to replay and understand the mismatch, then fails the test. */
static void mismatch(mt *t, const char *what, st_slice key, const char *expected, const char *got) {
    char kh[128];
    hex(key.data, key.len, 60, kh, sizeof kh);
    print_error("MISMATCH in %s: seed=%llu (STRATA_SEED=%llu) op=%ld what=%s key(len %zu)=%s\n"
                "  expected: %s\n  got:      %s\n",
                t->name, (unsigned long long)t->seed, (unsigned long long)t->seed, t->op, what, key.len, kh,
                expected, got);
    fail_msg("%s: model mismatch at op %ld (seed %llu)", t->name, t->op, (unsigned long long)t->seed);
}

static void check_rc(mt *t, const char *what, int rc) {
    if (rc != 0)
        fail_msg("%s: seed=%llu op=%ld %s returned %d (%s): %s", t->name, (unsigned long long)t->seed, t->op,
                 what, rc, st_strerror(rc), st_errmsg());
}

static bool value_equals(mt *t, const mval *v, const uint8_t *p, size_t n) {
    if (!v->present || v->len != n) return false;
    gen_value(v->vseed, v->len, t->vbuf);
    return n == 0 || memcmp(t->vbuf, p, n) == 0;
}

/* ---- engine ops mirrored into the model ---------------------------------------------------- */

static void mt_open(mt *t) {
    t->opts.codec = codecs[t->codec_idx % 3];
    t->opts.level_compaction_dynamic_level_bytes = (t->codec_idx / 3) % 2 == 0;
    int rc = st_db_open(t->dir, &t->opts, &t->db);
    check_rc(t, "st_db_open", rc);
    assert_non_null(t->db);
    printf("%s: op=%ld open #%d codec=%s sync_mode=%d dynamic_levels=%d\n", t->name, t->op, t->reopens + 1,
           codec_name(t->opts.codec), (int)t->opts.sync_mode, (int)t->opts.level_compaction_dynamic_level_bytes);
}

static uint32_t rand_vlen(mt *t) {
    uint64_t x = st_rng_below(&t->rng, 100);
    if (x == 0) return (uint32_t)(5 * 1024 + st_rng_below(&t->rng, 128));
    if (x < 3) return 0;
    return (uint32_t)st_rng_below(&t->rng, 301);
}

static mval new_value(mt *t, uint32_t len) {
    mval v = {true, len, mix64(t->seed ^ (++t->vcounter * 0x100000001b3ull))};
    return v;
}

static void mt_put(mt *t, int id, uint32_t vlen) {
    mval v = new_value(t, vlen);
    gen_value(v.vseed, v.len, t->vbuf);
    check_rc(t, "st_db_put", st_db_put(t->db, key_slice(&t->m, id), st_slice_make(t->vbuf, v.len)));
    t->m.cur[id] = v;
    t->n_put++;
}

static void mt_del(mt *t, int id) {
    check_rc(t, "st_db_delete", st_db_delete(t->db, key_slice(&t->m, id)));
    t->m.cur[id].present = false;
    t->n_del++;
}

/* Point lookup of key id through snapshot s (NULL: latest), compared with state[id]. */
static void mt_check_get(mt *t, const st_snapshot *s, const mval *state, int id, const char *what) {
    st_read_options ro = {.snapshot = s};
    uint8_t *v = NULL;
    size_t vlen = 0;
    int rc = st_db_get(t->db, s ? &ro : NULL, key_slice(&t->m, id), &v, &vlen);
    bool ok = state[id].present ? (rc == 0 && v && value_equals(t, &state[id], v, vlen))
                                : (rc == ST_ENOTFOUND && v == NULL);
    if (!ok) {
        char e[200], g[200];
        describe_expected(t, &state[id], e, sizeof e);
        describe_got(rc, v, vlen, g, sizeof g);
        free(v);
        mismatch(t, what, key_slice(&t->m, id), e, g);
    }
    if (rc == 0 && v[vlen] != 0) {
        free(v);
        mismatch(t, what, key_slice(&t->m, id), "value followed by a NUL byte", "no NUL after the value");
    }
    free(v);
    t->n_get++;
}

/* Compares a positioned iterator with the model: from model position p (keys of `state` within
 * [lower, upper)), up to max_steps keys (-1: to the end). When the model runs out within
 * max_steps the iterator must be invalid. Returns the number of keys compared. */
static long check_iter_from(mt *t, st_iter *it, const mval *state, int p, st_slice upper, long max_steps,
                            const char *what) {
    const model *m = &t->m;
    long steps = 0;
    char e[200], g[200];
    for (;;) {
        while (p < m->n && !state[m->order[p]].present) p++;
        bool model_end = p >= m->n || (upper.len && st_slice_cmp(key_slice(m, m->order[p]), upper) >= 0);
        if (max_steps >= 0 && steps >= max_steps && !model_end) break;
        if (model_end) {
            if (st_iter_valid(it)) {
                st_slice k = st_iter_key(it), v = st_iter_value(it);
                describe_got(0, v.data, v.len, g, sizeof g);
                char kh[128], ge[400];
                hex(k.data, k.len, 60, kh, sizeof kh);
                snprintf(ge, sizeof ge, "valid, key=%s %s", kh, g);
                mismatch(t, what, upper, "iterator exhausted (key shown: upper bound)", ge);
            }
            break;
        }
        int id = m->order[p];
        if (!st_iter_valid(it)) {
            describe_expected(t, &state[id], e, sizeof e);
            snprintf(g, sizeof g, "iterator invalid, status=%d (%s) %s", st_iter_status(it),
                     st_strerror(st_iter_status(it)), st_iter_status(it) ? st_errmsg() : "");
            mismatch(t, what, key_slice(m, id), e, g);
        }
        st_slice k = st_iter_key(it);
        if (st_slice_cmp(k, key_slice(m, id)) != 0) {
            char kh[128], ge[200];
            hex(k.data, k.len, 60, kh, sizeof kh);
            snprintf(ge, sizeof ge, "iterator at a different key (len %zu) %s", k.len, kh);
            describe_expected(t, &state[id], e, sizeof e);
            mismatch(t, what, key_slice(m, id), e, ge);
        }
        st_slice v = st_iter_value(it);
        if (!value_equals(t, &state[id], v.data, v.len)) {
            describe_expected(t, &state[id], e, sizeof e);
            describe_got(0, v.data, v.len, g, sizeof g);
            mismatch(t, what, key_slice(m, id), e, g);
        }
        steps++;
        p++;
        st_iter_next(it);
    }
    int rc = st_iter_status(it);
    if (rc != 0) {
        snprintf(g, sizeof g, "iterator status %d (%s): %s", rc, st_strerror(rc), st_errmsg());
        mismatch(t, what, st_slice_make("", 0), "iterator status 0", g);
    }
    t->n_scan_steps += steps;
    return steps;
}

/* Model position where an iterator bounded by [lower, upper) lands after seek(target)
 * (target NULL: seek_first): the first key >= max(lower, target). */
static int model_seek_pos(const model *m, st_slice lower, const st_slice *target) {
    st_slice start = lower;
    if (target && st_slice_cmp(*target, start) > 0) start = *target;
    return start.len ? model_lower_bound(m, start) : 0;
}

/* Opens an iterator (snapshot s, bounds), positions it, compares max_steps keys, frees it. */
static void mt_check_scan(mt *t, const st_snapshot *s, const mval *state, st_slice lower, st_slice upper,
                          const st_slice *target, long max_steps, const char *what) {
    st_read_options ro = {.snapshot = s, .lower = lower, .upper = upper};
    st_iter *it = NULL;
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &ro, &it));
    assert_non_null(it);
    t->iters[3] = it;
    if (target)
        st_iter_seek(it, *target);
    else
        st_iter_seek_first(it);
    check_iter_from(t, it, state, model_seek_pos(&t->m, lower, target), upper, max_steps, what);
    /* Re-positioning the same iterator must work as well as a fresh one. */
    if (st_rng_below(&t->rng, 2) == 0) {
        int id = (int)st_rng_below(&t->rng, (uint64_t)t->m.n);
        st_slice t2 = key_slice(&t->m, id);
        st_iter_seek(it, t2);
        check_iter_from(t, it, state, model_seek_pos(&t->m, lower, &t2), upper, 8, what);
    }
    st_iter_free(it);
    t->iters[3] = NULL;
    t->n_scan++;
}

/* ---- walks in both directions -------------------------------------------------------------- */

/* A bounded iterator in the model: positions index m->order, -1 is "not valid". */
typedef struct mwalk {
    const model *m;
    const mval *state;
    st_slice lower, upper;
} mwalk;

static bool mw_below_upper(const mwalk *w, int p) {
    return !w->upper.len || st_slice_cmp(key_slice(w->m, w->m->order[p]), w->upper) < 0;
}
static bool mw_not_below_lower(const mwalk *w, int p) {
    return !w->lower.len || st_slice_cmp(key_slice(w->m, w->m->order[p]), w->lower) >= 0;
}

/* The first live key at or after position p within the bounds, or -1. */
static int mw_fwd(const mwalk *w, int p) {
    for (p = p < 0 ? 0 : p; p < w->m->n; p++) {
        if (!mw_below_upper(w, p)) return -1;
        if (w->state[w->m->order[p]].present && mw_not_below_lower(w, p)) return p;
    }
    return -1;
}

/* The last live key at or before position p within the bounds, or -1. */
static int mw_back(const mwalk *w, int p) {
    for (p = p >= w->m->n ? w->m->n - 1 : p; p >= 0; p--) {
        if (!mw_not_below_lower(w, p)) return -1;
        if (w->state[w->m->order[p]].present && mw_below_upper(w, p)) return p;
    }
    return -1;
}

/* Position of the last key of the space <= t, -1 if none. */
static int model_last_at_or_before(const model *m, st_slice t) {
    int p = model_lower_bound(m, t);
    if (p < m->n && st_slice_cmp(key_slice(m, m->order[p]), t) == 0) return p;
    return p - 1;
}

/* The iterator must be where the model is: on key order[p] with its value, or (p == -1) not valid
 * with status 0. `move` names the call that got it there, for the report. */
static void mt_check_pos(mt *t, st_iter *it, const mval *state, int p, const char *what, const char *move) {
    const model *m = &t->m;
    char e[200], g[400], w[160];
    snprintf(w, sizeof w, "%s (after %s)", what, move);
    int rc = st_iter_status(it);
    if (rc != 0) {
        snprintf(g, sizeof g, "iterator status %d (%s): %s", rc, st_strerror(rc), st_errmsg());
        mismatch(t, w, st_slice_make("", 0), "iterator status 0", g);
    }
    if (p < 0) {
        if (st_iter_valid(it)) {
            st_slice k = st_iter_key(it);
            char kh[128];
            hex(k.data, k.len, 60, kh, sizeof kh);
            snprintf(g, sizeof g, "valid, key=%s", kh);
            mismatch(t, w, st_slice_make("", 0), "iterator not valid", g);
        }
        return;
    }
    int id = m->order[p];
    if (!st_iter_valid(it)) {
        describe_expected(t, &state[id], e, sizeof e);
        mismatch(t, w, key_slice(m, id), e, "iterator not valid");
    }
    st_slice k = st_iter_key(it);
    if (st_slice_cmp(k, key_slice(m, id)) != 0) {
        char kh[128];
        hex(k.data, k.len, 60, kh, sizeof kh);
        snprintf(g, sizeof g, "iterator at a different key (len %zu) %s", k.len, kh);
        describe_expected(t, &state[id], e, sizeof e);
        mismatch(t, w, key_slice(m, id), e, g);
    }
    st_slice v = st_iter_value(it);
    if (!value_equals(t, &state[id], v.data, v.len)) {
        describe_expected(t, &state[id], e, sizeof e);
        describe_got(0, v.data, v.len, g, sizeof g);
        mismatch(t, w, key_slice(m, id), e, g);
    }
}

/* The whole view from seek_last down to the first key, key by key. */
static void mt_check_backward(mt *t, const st_snapshot *s, const mval *state, const char *what) {
    mwalk w = {&t->m, state, st_slice_make(NULL, 0), st_slice_make(NULL, 0)};
    st_read_options ro = {.snapshot = s};
    st_iter *it = NULL;
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &ro, &it));
    t->iters[3] = it;
    st_iter_seek_last(it);
    int p = mw_back(&w, t->m.n - 1);
    mt_check_pos(t, it, state, p, what, "seek_last");
    for (int steps = 0; p >= 0 && steps < t->m.n; steps++) {
        st_iter_prev(it);
        p = mw_back(&w, p - 1);
        mt_check_pos(t, it, state, p, what, "prev");
    }
    assert_false(st_iter_valid(it));
    st_iter_free(it);
    t->iters[3] = NULL;
}

static void mt_check_all(mt *t, const st_snapshot *s, const mval *state, const char *what) {
    st_slice none = st_slice_make(NULL, 0);
    mt_check_scan(t, s, state, none, none, NULL, -1, what);
    mt_check_backward(t, s, state, what);
    for (int id = 0; id < t->m.n; id++) mt_check_get(t, s, state, id, what);
}

/* A random bound: a third of the time unbounded, else a key of the space, a prefix of one, or a
 * few random bytes. */
static st_slice rand_bound(mt *t, uint8_t *buf) {
    uint64_t x = st_rng_below(&t->rng, 6);
    if (x < 2) return st_slice_make(NULL, 0);
    const mkey *k = &t->m.keys[st_rng_below(&t->rng, (uint64_t)t->m.n)];
    if (x < 4) {
        memcpy(buf, k->b, k->len);
        return st_slice_make(buf, k->len);
    }
    if (x < 5) {
        size_t n = 1 + st_rng_below(&t->rng, k->len);
        memcpy(buf, k->b, n);
        return st_slice_make(buf, n);
    }
    size_t n = 1 + st_rng_below(&t->rng, 4);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)st_rng_next(&t->rng);
    return st_slice_make(buf, n);
}

static void mt_random_scan(mt *t, const st_snapshot *s, const mval *state, const char *what) {
    st_slice lower = rand_bound(t, t->lower_buf), upper = rand_bound(t, t->upper_buf);
    st_slice target = st_slice_make(NULL, 0);
    bool seek = st_rng_below(&t->rng, 3) != 0;
    if (seek) {
        target = rand_bound(t, t->target_buf);
        if (!target.len) {
            t->target_buf[0] = 0;
            target = st_slice_make(t->target_buf, 1);
        }
    }
    long steps = st_rng_below(&t->rng, 10) == 0 ? -1 : (long)(1 + st_rng_below(&t->rng, 64));
    mt_check_scan(t, s, state, lower, upper, seek ? &target : NULL, steps, what);
}

/* Makes `moves` random moves with iterator it (bounds and view as in w), checking each position
 * against the model: a repositioning (seek_first, seek, seek_last, seek_for_prev) when the
 * iterator is not valid and now and then anyway, else next or prev in runs that turn around
 * about every fourth move. */
static void mt_walk(mt *t, st_iter *it, const mwalk *w, int moves, const char *what) {
    int p = -1;
    bool back = st_rng_below(&t->rng, 2) == 0, moved = false;
    for (int i = 0; i < moves; i++) {
        const char *move;
        if (p < 0 || st_rng_below(&t->rng, 16) == 0) {
            st_slice target = rand_bound(t, t->target_buf);
            switch (st_rng_below(&t->rng, 4)) {
            case 0:
                move = "seek_first";
                st_iter_seek_first(it);
                p = mw_fwd(w, w->lower.len ? model_lower_bound(&t->m, w->lower) : 0);
                break;
            case 1: {
                move = "seek";
                st_iter_seek(it, target);
                st_slice start = w->lower.len && st_slice_cmp(w->lower, target) > 0 ? w->lower : target;
                p = mw_fwd(w, model_lower_bound(&t->m, start));
                break;
            }
            case 2:
                move = "seek_last";
                st_iter_seek_last(it);
                p = mw_back(w, (w->upper.len ? model_lower_bound(&t->m, w->upper) : t->m.n) - 1);
                break;
            default:
                move = "seek_for_prev";
                st_iter_seek_for_prev(it, target);
                p = mw_back(w, model_last_at_or_before(&t->m, target));
            }
            moved = false;
        } else {
            if (st_rng_below(&t->rng, 4) == 0) {
                back = !back;
                t->n_turns += moved;
            }
            moved = true;
            if (back) {
                move = "prev";
                st_iter_prev(it);
                p = mw_back(w, p - 1);
            } else {
                move = "next";
                st_iter_next(it);
                p = mw_fwd(w, p + 1);
            }
        }
        mt_check_pos(t, it, w->state, p, what, move);
    }
    t->n_walk++;
    t->n_walk_steps += moves;
}

/* A fresh iterator (snapshot s, random bounds) walked for up to 64 moves. */
static void mt_random_walk(mt *t, const st_snapshot *s, const mval *state, const char *what) {
    mwalk w = {&t->m, state, rand_bound(t, t->lower_buf), rand_bound(t, t->upper_buf)};
    st_read_options ro = {.snapshot = s, .lower = w.lower, .upper = w.upper};
    st_iter *it = NULL;
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &ro, &it));
    assert_non_null(it);
    t->iters[3] = it;
    mt_walk(t, it, &w, 1 + (int)st_rng_below(&t->rng, 64), what);
    st_iter_free(it);
    t->iters[3] = NULL;
}

static void mt_batch(mt *t) {
    if (!t->batch) check_rc(t, "st_batch_new", st_batch_new(&t->batch));
    st_batch_clear(t->batch);
    assert_int_equal(st_batch_count(t->batch), 0);
    int n = 1 + (int)st_rng_below(&t->rng, 20);
    /* Applied to a copy first: the model changes only once the engine says the batch is in. */
    struct { int id; mval v; } ops[20];
    for (int i = 0; i < n; i++) {
        /* Hot keys make the same key appear twice in one batch: the later op must win. */
        int id = st_rng_below(&t->rng, 4) == 0 ? (int)st_rng_below(&t->rng, 16)
                                                : (int)st_rng_below(&t->rng, (uint64_t)t->m.n);
        ops[i].id = id;
        if (st_rng_below(&t->rng, 10) < 7) {
            ops[i].v = new_value(t, rand_vlen(t));
            gen_value(ops[i].v.vseed, ops[i].v.len, t->vbuf);
            check_rc(t, "st_batch_put",
                     st_batch_put(t->batch, key_slice(&t->m, id), st_slice_make(t->vbuf, ops[i].v.len)));
        } else {
            ops[i].v = (mval){0};
            check_rc(t, "st_batch_delete", st_batch_delete(t->batch, key_slice(&t->m, id)));
        }
    }
    assert_int_equal(st_batch_count(t->batch), (uint32_t)n);
    assert_true(st_batch_bytes(t->batch) > 0);
    uint64_t lsn = 0;
    if (st_rng_below(&t->rng, 4) == 0) {
        check_rc(t, "st_db_write(DEFER_COMMIT)", st_db_write(t->db, t->batch, ST_WRITE_DEFER_COMMIT, &lsn));
        check_rc(t, "st_db_commit", st_db_commit(t->db, lsn));
    } else {
        check_rc(t, "st_db_write", st_db_write(t->db, t->batch, 0, &lsn));
    }
    if (lsn <= t->last_lsn)
        fail_msg("%s: seed=%llu op=%ld batch lsn %llu not above the previous batch's %llu", t->name,
                 (unsigned long long)t->seed, t->op, (unsigned long long)lsn, (unsigned long long)t->last_lsn);
    t->last_lsn = lsn;
    for (int i = 0; i < n; i++) t->m.cur[ops[i].id] = ops[i].v;
    t->n_batch++;
}

static void snap_take(mt *t) {
    msnap *sn = &t->snaps[t->nsnaps];
    check_rc(t, "st_db_snapshot", st_db_snapshot(t->db, &sn->s));
    assert_non_null(sn->s);
    sn->state = malloc((size_t)t->m.n * sizeof *sn->state);
    assert_non_null(sn->state);
    memcpy(sn->state, t->m.cur, (size_t)t->m.n * sizeof *sn->state);
    sn->taken_at = t->op;
    t->nsnaps++;
    t->n_snap++;
}

static void snap_verify(mt *t, int i, bool full) {
    msnap *sn = &t->snaps[i];
    if (full) {
        mt_check_all(t, sn->s, sn->state, "snapshot full check");
        return;
    }
    for (int k = 0; k < 16; k++) {
        mt_check_get(t, sn->s, sn->state, (int)st_rng_below(&t->rng, (uint64_t)t->m.n), "get via snapshot");
        t->n_snap_reads++;
    }
    mt_random_scan(t, sn->s, sn->state, "scan via snapshot");
    mt_random_walk(t, sn->s, sn->state, "walk via snapshot");
}

static void snap_release(mt *t, int i) {
    st_db_snapshot_release(t->db, t->snaps[i].s);
    free(t->snaps[i].state);
    t->snaps[i] = t->snaps[t->nsnaps - 1];
    memset(&t->snaps[t->nsnaps - 1], 0, sizeof t->snaps[0]);
    t->nsnaps--;
}

static uint64_t session_flushes(mt *t) {
    st_stats s;
    memset(&s, 0, sizeof s);
    check_rc(t, "st_db_stats", st_db_stats(t->db, &s));
    return s.flushes;
}

static uint64_t session_compactions(mt *t) {
    st_stats s;
    memset(&s, 0, sizeof s);
    check_rc(t, "st_db_stats", st_db_stats(t->db, &s));
    return s.compactions;
}

/* st_db_compact_range over random bounds (a third of the time the whole key space). */
static void mt_compact(mt *t) {
    st_slice lo = rand_bound(t, t->lower_buf), hi = rand_bound(t, t->upper_buf);
    if (lo.len && hi.len && st_slice_cmp(lo, hi) > 0) {
        st_slice x = lo;
        lo = hi;
        hi = x;
    }
    check_rc(t, "st_db_compact_range", st_db_compact_range(t->db, lo.len ? &lo : NULL, hi.len ? &hi : NULL));
    t->n_compact++;
}

/* Close + open with the next codec; tables written with the previous codecs must stay readable. */
static void mt_reopen(mt *t) {
    while (t->nsnaps) {
        snap_verify(t, t->nsnaps - 1, false);
        snap_release(t, t->nsnaps - 1);
    }
    t->flushes_closed += session_flushes(t);
    t->compactions_closed += session_compactions(t);
    int rc = st_db_close(t->db);
    t->db = NULL;
    check_rc(t, "st_db_close", rc);
    t->codec_idx++;
    mt_open(t);
    t->reopens++;
    mt_check_all(t, NULL, t->m.cur, "full check after reopen");
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int setup(void **state) {
    mt *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->dir = st_test_tmpdir("model");
    t->vbuf = malloc(MAX_VALUE_BYTES);
    if (!t->dir || !t->vbuf) return -1;
    st_options_default(&t->opts);
    t->opts.create_if_missing = true;
    t->opts.write_buffer_bytes = WRITE_BUFFER_BYTES;
    t->opts.target_file_size_base = 8 * 1024;
    t->opts.max_bytes_for_level_base = 32 * 1024;
    t->opts.max_bytes_for_level_multiplier = 4;
    t->opts.level0_file_num_compaction_trigger = 2;
    t->opts.level0_slowdown_writes_trigger = 6;
    t->opts.level0_stop_writes_trigger = 10;
    t->opts.max_background_compactions = 2;
    *state = t;
    return 0;
}

static int teardown(void **state) {
    mt *t = *state;
    if (!t) return 0;
    for (int i = 0; i < 4; i++) st_iter_free(t->iters[i]);
    while (t->nsnaps) snap_release(t, t->nsnaps - 1);
    st_batch_free(t->batch);
    if (t->db) st_db_close(t->db);
    st_test_rmrf(t->dir);
    free(t->dir);
    free(t->vbuf);
    model_free(&t->m);
    free(t);
    return 0;
}

/* ---- the random model test ----------------------------------------------------------------- */

static int rand_id(mt *t) {
    /* A quarter of the ops hit 64 hot keys so overwrites and deletes of live keys are common. */
    if (st_rng_below(&t->rng, 4) == 0) return (int)st_rng_below(&t->rng, 64);
    return (int)st_rng_below(&t->rng, (uint64_t)t->m.n);
}

/* STRATA_MODEL_OPS=N overrides the op count, for soaks outside CI. */
static void run_random(mt *t, const char *name, st_sync_mode mode, uint64_t def_seed, long nops) {
    const char *e = getenv("STRATA_MODEL_OPS");
    if (e && *e) nops = strtol(e, NULL, 0);
    t->name = name;
    t->seed = st_test_seed(name, def_seed);
    st_rng_seed(&t->rng, t->seed);
    model_init(&t->m, gen_keys(&t->rng, RANDOM_KEYS), RANDOM_KEYS);
    t->opts.sync_mode = mode;
    t->codec_idx = (int)(t->seed % 3);
    mt_open(t);
    for (t->op = 0; t->op < nops; t->op++) {
        uint64_t x = st_rng_below(&t->rng, 1000);
        if (x < 330) {
            mt_put(t, rand_id(t), rand_vlen(t));
        } else if (x < 450) {
            mt_del(t, rand_id(t));
        } else if (x < 700) {
            mt_check_get(t, NULL, t->m.cur, rand_id(t), "get");
        } else if (x < 780) {
            mt_random_scan(t, NULL, t->m.cur, "scan");
            mt_random_walk(t, NULL, t->m.cur, "walk");
        } else if (x < 880) {
            mt_batch(t);
        } else if (x < 900) {
            if (t->nsnaps < MAX_SNAPS) snap_take(t);
        } else if (x < 960) {
            if (t->nsnaps) snap_verify(t, (int)st_rng_below(&t->rng, (uint64_t)t->nsnaps), st_rng_below(&t->rng, 20) == 0);
        } else if (x < 990) {
            if (t->nsnaps) {
                int i = (int)st_rng_below(&t->rng, (uint64_t)t->nsnaps);
                snap_verify(t, i, false);
                snap_release(t, i);
            }
        } else if (x < 994) {
            check_rc(t, "st_db_flush", st_db_flush(t->db));
            t->n_flush++;
        } else if (x < 998) {
            mt_compact(t);
        } else {
            mt_reopen(t);
        }
    }
    /* Snapshots still held see their own past; then the whole db must equal the model. */
    while (t->nsnaps) {
        snap_verify(t, t->nsnaps - 1, true);
        snap_release(t, t->nsnaps - 1);
    }
    mt_check_all(t, NULL, t->m.cur, "final full check");
    if (t->reopens == 0) mt_reopen(t); /* a short STRATA_SEED run still crosses a restart */
    st_stats s;
    memset(&s, 0, sizeof s);
    check_rc(t, "st_db_stats", st_db_stats(t->db, &s));
    uint64_t flushes = t->flushes_closed + s.flushes;
    uint64_t compactions = t->compactions_closed + s.compactions;
    int live = 0;
    for (int i = 0; i < t->m.n; i++) live += t->m.cur[i].present;
    uint64_t files = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++) files += s.level_files[l];
    printf("%s: seed=%llu ops=%ld puts=%ld dels=%ld gets=%ld scans=%ld (steps %ld) walks=%ld (moves %ld, "
           "turns %ld) batches=%ld snaps=%ld "
           "explicit_flushes=%ld compact_ranges=%ld | engine flushes=%llu compactions=%llu reopens=%d live_keys=%d "
           "table_files=%llu write_stalls=%llu last_seq=%llu\n",
           name, (unsigned long long)t->seed, t->op, t->n_put, t->n_del, t->n_get, t->n_scan, t->n_scan_steps,
           t->n_walk, t->n_walk_steps, t->n_turns, t->n_batch, t->n_snap, t->n_flush, t->n_compact, (unsigned long long)flushes,
           (unsigned long long)compactions, t->reopens, live, (unsigned long long)files,
           (unsigned long long)s.write_stalls, (unsigned long long)s.last_seq);
    assert_true(flushes > 0);
    assert_true(compactions > 0);
    assert_true(t->reopens > 0);
    assert_true(files > 0);
    check_rc(t, "st_db_close", st_db_close(t->db));
    t->db = NULL;
}

static void test_model_random_sync_no(void **state) {
    run_random(*state, "test_model_random_sync_no", ST_SYNC_NO, 20240611, 20000);
}

/* fdatasync per write: fewer ops keep the file within its time budget. */
static void test_model_random_sync_always(void **state) {
    run_random(*state, "test_model_random_sync_always", ST_SYNC_ALWAYS, 7771, 10000);
}

/* ---- iterator bounds as prefix scans ------------------------------------------------------ */

static mkey mk(const void *p, size_t n) {
    mkey k;
    memset(&k, 0, sizeof k);
    memcpy(k.b, p, n);
    k.len = (uint8_t)n;
    return k;
}

/* The smallest key greater than every key with prefix p (strip trailing 0xff, add 1 to the last
 * byte). Returns its length, 0 if there is none. */
static size_t prefix_successor(const uint8_t *p, size_t n, uint8_t *out) {
    memcpy(out, p, n);
    while (n && out[n - 1] == 0xff) n--;
    if (n) out[n - 1]++;
    return n;
}

static void test_model_iter_bounds_prefix(void **state) {
    mt *t = *state;
    t->name = "test_model_iter_bounds_prefix";
    t->seed = st_test_seed(t->name, 99);
    st_rng_seed(&t->rng, t->seed);
    /* Neighbours of the prefixes "user/" and "x\xff" on both sides, exact-prefix keys, NUL and
     * 0xff bytes right after the prefix. */
    static const struct { const char *s; size_t n; } fixed[] = {
        {"use", 3}, {"user", 4}, {"user.", 5}, {"user/", 5}, {"user/\0", 6}, {"user/\0\0", 7},
        {"user/\xff", 6}, {"user/\xff\xff", 7}, {"user0", 5}, {"user0\0", 6}, {"users", 5},
        {"x", 1}, {"x\xfe\xff", 3}, {"x\xff", 2}, {"x\xff\0", 3}, {"x\xff\xff", 3}, {"y", 1}, {"y\0", 2},
        {"\0", 1}, {"\xff", 1},
    };
    int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
    int n = nfixed + 3 * 300;
    mkey *keys = calloc((size_t)n, sizeof *keys);
    assert_non_null(keys);
    for (int i = 0; i < nfixed; i++) keys[i] = mk(fixed[i].s, fixed[i].n);
    for (int i = 0; i < 300; i++) {
        char b[32];
        int l = snprintf(b, sizeof b, "user/%05d", i * 7);
        keys[nfixed + i] = mk(b, (size_t)l);
        l = snprintf(b, sizeof b, "user0%04d", i);
        keys[nfixed + 300 + i] = mk(b, (size_t)l);
        l = snprintf(b, sizeof b, "x\xff%04d", i);
        keys[nfixed + 600 + i] = mk(b, (size_t)l);
    }
    model_init(&t->m, keys, n);
    t->opts.sync_mode = ST_SYNC_NO;
    t->codec_idx = 1;
    mt_open(t);

    /* Half the keys go to a table, then the rest plus overwrites and deletes stay in the memtable
     * (some tombstones shadow table entries); then a second flush and more memtable changes, so a
     * bounded scan merges memtable and two tables. */
    for (int i = 0; i < n; i += 2) mt_put(t, i, (uint32_t)st_rng_below(&t->rng, 200));
    check_rc(t, "st_db_flush", st_db_flush(t->db));
    for (int i = 1; i < n; i += 2) mt_put(t, i, (uint32_t)st_rng_below(&t->rng, 200));
    for (int i = 0; i < n; i += 5) mt_del(t, i);
    check_rc(t, "st_db_flush", st_db_flush(t->db));
    for (int i = 0; i < n; i += 7) mt_put(t, i, (uint32_t)st_rng_below(&t->rng, 200));
    for (int i = 3; i < n; i += 11) mt_del(t, i);

    uint8_t up[16];
    struct { const char *p; size_t n; } prefixes[] = {{"user/", 5}, {"x\xff", 2}, {"user", 4}, {"\0", 1}, {"y", 1}};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
            st_slice lower = st_slice_make(prefixes[i].p, prefixes[i].n);
            size_t un = prefix_successor(lower.data, lower.len, up);
            st_slice upper = st_slice_make(up, un);
            /* Whole prefix, then seeks: before lower, at lower, in the middle, at/after upper. */
            mt_check_scan(t, NULL, t->m.cur, lower, upper, NULL, -1, "prefix scan");
            st_slice before = st_slice_make("\0", 1);
            mt_check_scan(t, NULL, t->m.cur, lower, upper, &before, -1, "prefix scan, seek before lower");
            mt_check_scan(t, NULL, t->m.cur, lower, upper, &lower, -1, "prefix scan, seek lower");
            st_slice mid = st_slice_make("user/00150", 10);
            mt_check_scan(t, NULL, t->m.cur, lower, upper, &mid, -1, "prefix scan, seek middle");
            if (un) mt_check_scan(t, NULL, t->m.cur, lower, upper, &upper, -1, "prefix scan, seek upper");
            st_slice high = st_slice_make("\xff\xff\xff", 3);
            mt_check_scan(t, NULL, t->m.cur, lower, upper, &high, -1, "prefix scan, seek past all");
            /* One-sided bounds. */
            mt_check_scan(t, NULL, t->m.cur, lower, st_slice_make(NULL, 0), NULL, -1, "lower bound only");
            mt_check_scan(t, NULL, t->m.cur, st_slice_make(NULL, 0), upper, NULL, -1, "upper bound only");
            /* Empty ranges: upper == lower and upper < lower. */
            mt_check_scan(t, NULL, t->m.cur, lower, lower, NULL, -1, "upper == lower");
            if (un) mt_check_scan(t, NULL, t->m.cur, upper, lower, NULL, -1, "upper < lower");
        }
        /* The model's own check that "user/" really selects exactly the prefix. */
        int in = 0;
        for (int id = 0; id < n; id++)
            in += t->m.cur[id].present && t->m.keys[id].len >= 5 && memcmp(t->m.keys[id].b, "user/", 5) == 0;
        assert_true(in > 200);
        /* Second round: everything in tables, after a reopen. */
        if (round == 0) {
            check_rc(t, "st_db_flush", st_db_flush(t->db));
            mt_reopen(t);
        }
    }
}

/* ---- iterator point-in-time consistency ---------------------------------------------------- */

static void test_model_iter_point_in_time(void **state) {
    mt *t = *state;
    t->name = "test_model_iter_point_in_time";
    t->seed = st_test_seed(t->name, 4242);
    st_rng_seed(&t->rng, t->seed);
    model_init(&t->m, gen_keys(&t->rng, RANDOM_KEYS), RANDOM_KEYS);
    t->opts.sync_mode = ST_SYNC_NO;
    t->codec_idx = 2;
    mt_open(t);
    for (int id = 0; id < t->m.n; id++) mt_put(t, id, rand_vlen(t));
    check_rc(t, "st_db_flush", st_db_flush(t->db));
    for (int id = 0; id < t->m.n; id += 3) mt_put(t, id, rand_vlen(t));
    for (int id = 1; id < t->m.n; id += 10) mt_del(t, id);

    mval *then = malloc((size_t)t->m.n * sizeof *then);
    assert_non_null(then);
    memcpy(then, t->m.cur, (size_t)t->m.n * sizeof *then);
    /* it0: unbounded, partly consumed before the writes; it1: bounded, untouched until after;
     * it2: positioned by seek, then consumed after. */
    st_read_options ro = {0};
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &ro, &t->iters[0]));
    int mid = t->m.order[t->m.n / 2];
    st_read_options rob = {.lower = key_slice(&t->m, t->m.order[t->m.n / 4]), .upper = key_slice(&t->m, mid)};
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &rob, &t->iters[1]));
    check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, &ro, &t->iters[2]));
    st_iter_seek_first(t->iters[0]);
    long done = check_iter_from(t, t->iters[0], then, 0, st_slice_make(NULL, 0), 500, "iterator before writes");
    assert_int_equal(done, 500);
    st_slice midk = key_slice(&t->m, mid);
    st_iter_seek(t->iters[2], midk);

    /* Rewrite everything several times, delete a third, add back, flush repeatedly: with a 64 KiB
     * write buffer this switches and flushes many memtables (and compacts L0) under the open
     * iterators. */
    uint64_t f0 = session_flushes(t);
    for (int pass = 0; pass < 3; pass++) {
        for (int id = 0; id < t->m.n; id++) {
            if (st_rng_below(&t->rng, 3) == 0)
                mt_del(t, id);
            else
                mt_put(t, id, rand_vlen(t));
        }
        check_rc(t, "st_db_flush", st_db_flush(t->db));
        t->op++;
    }
    assert_true(session_flushes(t) >= f0 + 3);

    /* it0 continues where it stopped: position 500 among the keys present then. */
    int p = 0, seen = 0;
    while (seen < 500 || !then[t->m.order[p]].present) seen += then[t->m.order[p++]].present;
    check_iter_from(t, t->iters[0], then, p, st_slice_make(NULL, 0), -1, "iterator continued after writes");
    st_iter_seek_first(t->iters[1]);
    check_iter_from(t, t->iters[1], then, model_seek_pos(&t->m, rob.lower, NULL), rob.upper, -1,
                    "bounded iterator after writes");
    check_iter_from(t, t->iters[2], then, model_lower_bound(&t->m, midk), st_slice_make(NULL, 0), -1,
                    "seeked iterator after writes");
    /* Re-seeking an old iterator still reads its own point in time, not the present. */
    st_iter_seek_first(t->iters[0]);
    check_iter_from(t, t->iters[0], then, 0, st_slice_make(NULL, 0), -1, "old iterator re-seeked");
    free(then);
    for (int i = 0; i < 3; i++) {
        st_iter_free(t->iters[i]);
        t->iters[i] = NULL;
    }
    /* A new iterator sees the present; and after a reopen too. */
    mt_check_all(t, NULL, t->m.cur, "present after old iterators freed");
    mt_reopen(t);
}

/* ---- snapshots ----------------------------------------------------------------------------- */

static void test_model_snapshot_release(void **state) {
    mt *t = *state;
    t->name = "test_model_snapshot_release";
    t->seed = st_test_seed(t->name, 31337);
    st_rng_seed(&t->rng, t->seed);
    model_init(&t->m, gen_keys(&t->rng, 1000), 1000);
    t->opts.sync_mode = ST_SYNC_NO;
    t->codec_idx = 1;
    mt_open(t);

    /* s0: empty db. s1: all keys. s2: all overwritten (half flushed). s3: a third deleted. */
    snap_take(t);
    for (int id = 0; id < t->m.n; id++) mt_put(t, id, rand_vlen(t));
    snap_take(t);
    for (int id = 0; id < t->m.n; id++) {
        mt_put(t, id, rand_vlen(t));
        if (id == t->m.n / 2) check_rc(t, "st_db_flush", st_db_flush(t->db));
    }
    snap_take(t);
    for (int id = 0; id < t->m.n; id += 3) mt_del(t, id);
    snap_take(t);
    for (int i = 1; i < t->nsnaps; i++)
        assert_true(st_snapshot_seq(t->snaps[i].s) > st_snapshot_seq(t->snaps[i - 1].s));
    /* Writes after the last snapshot are invisible to it. */
    for (int id = 0; id < t->m.n; id += 2) mt_put(t, id, rand_vlen(t));
    check_rc(t, "st_db_flush", st_db_flush(t->db));
    for (int i = 0; i < t->nsnaps; i++) mt_check_all(t, t->snaps[i].s, t->snaps[i].state, "snapshot");

    /* Release out of order: the middle ones first. Each survivor still reads its own past after
     * more writes and flushes (which may now drop versions only released snapshots needed). */
    int release_order[4] = {2, 1, 0, 0};
    for (int r = 0; r < 4; r++) {
        snap_release(t, release_order[r] < t->nsnaps ? release_order[r] : 0);
        for (int id = 0; id < t->m.n; id++) {
            if (st_rng_below(&t->rng, 4) == 0)
                mt_del(t, id);
            else if (st_rng_below(&t->rng, 2) == 0)
                mt_put(t, id, rand_vlen(t));
        }
        check_rc(t, "st_db_flush", st_db_flush(t->db));
        t->op++;
        for (int i = 0; i < t->nsnaps; i++) mt_check_all(t, t->snaps[i].s, t->snaps[i].state, "surviving snapshot");
        mt_check_all(t, NULL, t->m.cur, "present after a release");
    }
    assert_int_equal(t->nsnaps, 0);
    st_db_snapshot_release(t->db, NULL); /* NULL-safe */
    /* Snapshots taken and released around a reopen; close must succeed with none held. */
    snap_take(t);
    snap_release(t, 0);
    mt_reopen(t);
    check_rc(t, "st_db_close", st_db_close(t->db));
    t->db = NULL;
}

/* ---- walks over versions in every layer ---------------------------------------------------- */

static void test_model_walks_over_versions_in_every_layer(void **state) {
    mt *t = *state;
    t->name = "test_model_walks_over_versions_in_every_layer";
    t->seed = st_test_seed(t->name, 515);
    st_rng_seed(&t->rng, t->seed);
    model_init(&t->m, gen_keys(&t->rng, 1000), 1000);
    t->opts.sync_mode = ST_SYNC_NO;
    t->codec_idx = 1;
    mt_open(t);

    /* Oldest versions of every key at the bottom level. */
    for (int id = 0; id < t->m.n; id++) mt_put(t, id, rand_vlen(t));
    check_rc(t, "st_db_compact_range", st_db_compact_range(t->db, NULL, NULL));
    snap_take(t);
    /* A third overwritten and a sixth deleted, flushed to L0 (compactions may push some down). */
    for (int id = 0; id < t->m.n; id++) {
        uint64_t r = st_rng_below(&t->rng, 6);
        if (r < 2) mt_put(t, id, rand_vlen(t));
        else if (r == 2) mt_del(t, id);
    }
    check_rc(t, "st_db_flush", st_db_flush(t->db));
    snap_take(t);
    /* Two more passes through 64 KiB memtables: several switches. Right after a switch the old
     * memtable waits for the flush thread, and an iterator opened then merges it too; such
     * iterators are kept with a copy of the model's state and walked at the end. */
    mval *held_state[3] = {NULL, NULL, NULL};
    int nheld = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int id = 0; id < t->m.n; id++) {
            uint64_t r = st_rng_below(&t->rng, 5);
            if (r < 3) mt_put(t, id, rand_vlen(t));
            else if (r == 3) mt_del(t, id);
            st_stats st;
            if (nheld < 3 && st_db_stats(t->db, &st) == 0 && st.immutable_count > 0) {
                check_rc(t, "st_db_iter_new", st_db_iter_new(t->db, NULL, &t->iters[nheld]));
                held_state[nheld] = malloc((size_t)t->m.n * sizeof *held_state[nheld]);
                assert_non_null(held_state[nheld]);
                memcpy(held_state[nheld], t->m.cur, (size_t)t->m.n * sizeof *held_state[nheld]);
                nheld++;
            }
        }
        if (pass == 0) snap_take(t);
    }
    /* And the newest versions in the active memtable. */
    for (int i = 0; i < 50; i++) {
        if (i % 3) mt_put(t, rand_id(t), rand_vlen(t));
        else mt_del(t, rand_id(t));
    }
    st_stats st;
    check_rc(t, "st_db_stats", st_db_stats(t->db, &st));
    printf("%s: %d iterators opened with immutable memtables; L0 %llu, deeper %llu tables\n", t->name, nheld,
           (unsigned long long)st.level_files[0],
           (unsigned long long)(st.level_files[1] + st.level_files[2] + st.level_files[3] + st.level_files[4] +
                                st.level_files[5] + st.level_files[6]));
    assert_true(nheld > 0);

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < t->nsnaps; i++) {
            mt_check_backward(t, t->snaps[i].s, t->snaps[i].state, "backward via snapshot");
            for (int k = 0; k < 60; k++) mt_random_walk(t, t->snaps[i].s, t->snaps[i].state, "walk via snapshot");
        }
        mt_check_backward(t, NULL, t->m.cur, "backward");
        for (int k = 0; k < 60; k++) mt_random_walk(t, NULL, t->m.cur, "walk");
        for (int h = 0; h < nheld; h++) {
            mwalk w = {&t->m, held_state[h], st_slice_make(NULL, 0), st_slice_make(NULL, 0)};
            for (int k = 0; k < 20; k++) mt_walk(t, t->iters[h], &w, 64, "walk of an iterator opened with immutables");
        }
        /* Second round: the same views after everything was flushed and compacted (the held
         * iterators keep their memtables and tables alive). */
        if (round == 0) check_rc(t, "st_db_compact_range", st_db_compact_range(t->db, NULL, NULL));
    }
    for (int h = 0; h < nheld; h++) {
        st_iter_free(t->iters[h]);
        t->iters[h] = NULL;
        free(held_state[h]);
    }
    printf("%s: walks=%ld moves=%ld turns=%ld\n", t->name, t->n_walk, t->n_walk_steps, t->n_turns);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_model_iter_bounds_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_iter_point_in_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_snapshot_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_walks_over_versions_in_every_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_random_sync_no, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_random_sync_always, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
