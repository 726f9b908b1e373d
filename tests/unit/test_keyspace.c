/* test_keyspace.c -- the keyspace layer on a real engine in a temporary directory: string records,
 * lazy expiry (K1), the expiry index and active-expiry cycle (K2), namespaces (tenant, db), scans
 * with prefixes and resume keys, and flush; collections: records, elements, versions (K4), and the
 * compaction filter dropping the elements of deleted, overwritten and long-expired collections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyspace.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    ks *k;
    ks_batch *b;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    x->dir = st_test_tmpdir("ks");
    ks_options o = {.dir = x->dir, .sync_mode = 3, .bloom_bits_per_key = -1, .codec = -1};
    char err[256];
    if (ks_open(&o, &x->k, err, sizeof err)) {
        fprintf(stderr, "ks_open: %s\n", err);
        return -1;
    }
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

static void put(fx *x, ks_ns ns, const char *k, const char *v, int64_t expire_ms) {
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_put_string(x->b, ns, (const uint8_t *)k, strlen(k), (const uint8_t *)v, strlen(v), expire_ms), 0);
    uint64_t lsn = 0;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    assert_true(lsn > 0);
    assert_int_equal(ks_commit(x->k, lsn), 0);
}

static void expect(fx *x, ks_ns ns, const char *k, const char *v, int64_t now) {
    ks_rec r;
    int rc = ks_lookup(x->k, ns, (const uint8_t *)k, strlen(k), now, &r);
    if (!v) {
        assert_int_equal(rc, KS_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(r.type, KS_STRING);
    assert_int_equal(r.payload_len, strlen(v));
    assert_memory_equal(r.payload, v, r.payload_len);
    ks_rec_free(&r);
}

static void test_keyspace_string_round_trip_and_overwrite(void **state) {
    fx *x = *state;
    put(x, NS0, "a", "1", 0);
    expect(x, NS0, "a", "1", 1000);
    put(x, NS0, "a", "", 0);
    expect(x, NS0, "a", "", 1000);
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_delete(x->b, NS0, (const uint8_t *)"a", 1), 0);
    uint64_t lsn;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    expect(x, NS0, "a", NULL, 1000);
}

static void test_keyspace_namespaces_are_isolated(void **state) {
    fx *x = *state;
    ks_ns db1 = {0, 1}, t7 = {7, 0};
    put(x, NS0, "k", "db0", 0);
    put(x, db1, "k", "db1", 0);
    put(x, t7, "k", "t7", 0);
    expect(x, NS0, "k", "db0", 1);
    expect(x, db1, "k", "db1", 1);
    expect(x, t7, "k", "t7", 1);
    uint64_t n = 0;
    assert_int_equal(ks_count(x->k, db1, 1, &n), 0);
    assert_int_equal(n, 1);
    uint64_t lsn;
    assert_int_equal(ks_flush(x->k, NS0, false, &lsn), 0);
    expect(x, NS0, "k", NULL, 1);
    expect(x, db1, "k", "db1", 1);
    expect(x, t7, "k", "t7", 1);
    assert_int_equal(ks_flush(x->k, NS0, true, &lsn), 0); /* every db of tenant 0, not tenant 7 */
    expect(x, db1, "k", NULL, 1);
    expect(x, t7, "k", "t7", 1);
}

static void test_keyspace_expired_records_are_invisible(void **state) {
    fx *x = *state;
    put(x, NS0, "e", "v", 5000);
    expect(x, NS0, "e", "v", 4999);
    expect(x, NS0, "e", NULL, 5000);
    ks_rec r;
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"e", 1, 1000, &r), 0);
    assert_int_equal(r.expire_ms, 5000);
    ks_rec_free(&r);
    uint64_t n = 9;
    assert_int_equal(ks_count(x->k, NS0, 6000, &n), 0);
    assert_int_equal(n, 0);
}

static void test_keyspace_expire_cycle_deletes_due_keys_and_stale_entries(void **state) {
    fx *x = *state;
    put(x, NS0, "due", "v", 100);
    put(x, NS0, "later", "v", 10000);
    put(x, NS0, "moved", "v", 200);
    put(x, NS0, "moved", "v2", 0);        /* SET without TTL: the 200 index entry is now stale */
    put(x, (ks_ns){3, 2}, "other", "v", 150);
    uint64_t expired = 0;
    bool more = true;
    assert_int_equal(ks_expire_cycle(x->k, 1000, 100, &expired, &more), 0);
    assert_false(more);
    assert_int_equal(expired, 2); /* "due" and tenant 3's "other"; "moved" only lost its stale entry */
    ks_rec r;
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"due", 3, 0, &r), KS_ENOTFOUND); /* really gone */
    expect(x, NS0, "moved", "v2", 1000);
    expect(x, NS0, "later", "v", 1000);
    assert_int_equal(ks_expire_cycle(x->k, 1000, 100, &expired, &more), 0);
    assert_int_equal(expired, 0); /* the index entries went with their keys */
    assert_int_equal(ks_expire_cycle(x->k, 20000, 100, &expired, &more), 0);
    assert_int_equal(expired, 1);
}

static void test_keyspace_expire_cycle_respects_its_budget(void **state) {
    fx *x = *state;
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "k%02d", i);
        put(x, NS0, k, "v", 10 + i);
    }
    uint64_t total = 0, n = 0;
    bool more = true;
    int rounds = 0;
    while (more && rounds < 100) {
        assert_int_equal(ks_expire_cycle(x->k, 1000, 7, &n, &more), 0);
        assert_true(n <= 7);
        total += n;
        rounds++;
    }
    assert_int_equal(total, 50);
    assert_true(rounds >= 8);
}

typedef struct seen {
    int n;
    char keys[64][16];
} seen;

static int collect(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    seen *s = arg;
    assert_int_equal(rec->type, KS_STRING);
    assert_true(klen < 16 && s->n < 64);
    memcpy(s->keys[s->n], key, klen);
    s->keys[s->n][klen] = 0;
    s->n++;
    return 0;
}

static void test_keyspace_scan_prefix_limit_and_resume(void **state) {
    fx *x = *state;
    put(x, NS0, "a1", "v", 0);
    put(x, NS0, "user:1", "v", 0);
    put(x, NS0, "user:2", "v", 0);
    put(x, NS0, "user:3", "v", 500); /* expired at now = 1000: skipped */
    put(x, NS0, "user:4", "v", 0);
    put(x, NS0, "v", "v", 0);
    put(x, (ks_ns){0, 1}, "user:9", "v", 0);
    seen s = {0};
    uint8_t *next = NULL;
    size_t nlen = 0;
    assert_int_equal(ks_scan(x->k, NS0, NULL, 0, (const uint8_t *)"user:", 5, 2, 1000, collect, &s, &next, &nlen), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "user:1");
    assert_string_equal(s.keys[1], "user:2");
    assert_non_null(next);
    assert_int_equal(nlen, 6);
    assert_memory_equal(next, "user:3", 6);
    seen s2 = {0};
    uint8_t *next2 = NULL;
    assert_int_equal(ks_scan(x->k, NS0, next, nlen, (const uint8_t *)"user:", 5, 10, 1000, collect, &s2, &next2, &nlen), 0);
    assert_int_equal(s2.n, 1);
    assert_string_equal(s2.keys[0], "user:4");
    assert_null(next2);
    free(next);
}

static void test_keyspace_mlookup_matches_single_lookups(void **state) {
    fx *x = *state;
    put(x, NS0, "m1", "one", 0);
    put(x, NS0, "m3", "three", 50);
    const uint8_t *keys[3] = {(const uint8_t *)"m1", (const uint8_t *)"m2", (const uint8_t *)"m3"};
    size_t lens[3] = {2, 2, 2};
    ks_rec recs[3];
    int st[3];
    assert_int_equal(ks_mlookup(x->k, NS0, 3, keys, lens, 100, recs, st), 0);
    assert_int_equal(st[0], 0);
    assert_memory_equal(recs[0].payload, "one", 3);
    assert_int_equal(st[1], KS_ENOTFOUND);
    assert_int_equal(st[2], KS_ENOTFOUND); /* expired at 100 */
    for (int i = 0; i < 3; i++) ks_rec_free(&recs[i]);
}

/* ---- collections ------------------------------------------------------------------------------ */

static int64_t wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_batch(fx *x) {
    uint64_t lsn = 0;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    assert_int_equal(ks_commit(x->k, lsn), 0);
    ks_batch_clear(x->b);
}

/* A collection of n elements "e00000".. with values "v<i>" under key, written in one batch. */
static ks_coll make_coll(fx *x, const char *key, int type, int n, int64_t expire_ms) {
    ks_coll c;
    ks_coll_new(x->k, type, &c);
    c.expire_ms = expire_ms;
    ks_ckey ck = {NS0, (const uint8_t *)key, strlen(key), c.version};
    ks_batch_clear(x->b);
    for (int i = 0; i < n; i++) {
        char e[16], v[16];
        snprintf(e, sizeof e, "e%05d", i);
        snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(ks_batch_put_elem(x->b, &ck, KS_ELEMS, (const uint8_t *)e, strlen(e), (const uint8_t *)v,
                                           strlen(v)), 0);
    }
    c.size = (uint64_t)n;
    assert_int_equal(ks_batch_put_coll(x->b, NS0, (const uint8_t *)key, strlen(key), &c), 0);
    write_batch(x);
    return c;
}

/* Elements stored under (key, version), live or not: what a reader of that version would see. */
static int count_elems(fx *x, const char *key, uint64_t version) {
    ks_ckey ck = {NS0, (const uint8_t *)key, strlen(key), version};
    ks_elems *it;
    assert_int_equal(ks_elems_open(x->k, &ck, KS_ELEMS, &it), 0);
    int n = 0;
    for (; ks_elems_valid(it); ks_elems_next(it)) n++;
    assert_int_equal(ks_elems_status(it), 0);
    ks_elems_close(it);
    return n;
}

static void test_keyspace_collection_record_and_elements(void **state) {
    fx *x = *state;
    ks_coll c = make_coll(x, "h", KS_HASH, 50, 0);
    ks_rec r;
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"h", 1, 1000, &r), 0);
    assert_int_equal(r.type, KS_HASH);
    ks_coll got;
    assert_int_equal(ks_rec_coll(&r, &got), 0);
    ks_rec_free(&r);
    assert_int_equal(got.version, c.version);
    assert_int_equal(got.size, 50);
    ks_ckey ck = {NS0, (const uint8_t *)"h", 1, c.version};
    uint8_t *v;
    size_t vl;
    assert_int_equal(ks_elem_get(x->k, &ck, KS_ELEMS, (const uint8_t *)"e00007", 6, &v, &vl), 0);
    assert_int_equal(vl, 2);
    assert_memory_equal(v, "v7", 2);
    free(v);
    assert_int_equal(ks_elem_get(x->k, &ck, KS_ELEMS, (const uint8_t *)"e0000", 5, &v, &vl), KS_ENOTFOUND);
    /* multi-get, the iterator's order and seek; a key that is a prefix of another sees nothing of it */
    const uint8_t *els[3] = {(const uint8_t *)"e00049", (const uint8_t *)"nope", (const uint8_t *)"e00000"};
    size_t elens[3] = {6, 4, 6}, vls[3];
    uint8_t *vals[3];
    int st[3];
    assert_int_equal(ks_elem_mget(x->k, &ck, KS_ELEMS, 3, els, elens, vals, vls, st), 0);
    assert_int_equal(st[0], 0);
    assert_int_equal(st[1], KS_ENOTFOUND);
    assert_int_equal(st[2], 0);
    assert_memory_equal(vals[0], "v49", 3);
    for (int i = 0; i < 3; i++) free(vals[i]);
    ks_elems *it;
    assert_int_equal(ks_elems_open(x->k, &ck, KS_ELEMS, &it), 0);
    ks_elems_seek(it, (const uint8_t *)"e00010x", 7);
    assert_true(ks_elems_valid(it));
    size_t el;
    const uint8_t *e = ks_elems_el(it, &el);
    assert_int_equal(el, 6);
    assert_memory_equal(e, "e00011", 6);
    ks_elems_close(it);
    make_coll(x, "h\x01", KS_SET, 3, 0);
    assert_int_equal(count_elems(x, "h", c.version), 50);
    /* a record that is not a collection */
    put(x, NS0, "s", "str", 0);
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"s", 1, 1000, &r), 0);
    assert_int_equal(ks_rec_coll(&r, &got), KS_ECORRUPT);
    ks_rec_free(&r);
}

/* A sorted set's record carries its hints (bounds, base, rank levels, low keys) through a write and
 * a read; a low-keys count the payload cannot hold is corruption. */
static void test_keyspace_zset_record_hints_round_trip(void **state) {
    fx *x = *state;
    ks_coll c;
    ks_coll_new(x->k, KS_ZSET, &c);
    c.size = 9;
    c.has_lo = c.has_hi = c.has_base = true;
    memcpy(c.lo, "a", 1), c.lo_len = 1;
    memcpy(c.hi, "zz", 2), c.hi_len = 2;
    memcpy(c.base, "b", 1), c.base_len = 1, c.below = 1;
    c.rank_levels = 2;
    c.n_low = 3;
    const char *lows[3] = {"a", "b", "bcd"};
    for (int i = 0; i < 3; i++) {
        c.low_len[i] = (uint8_t)strlen(lows[i]);
        memcpy(c.low[i], lows[i], c.low_len[i]);
    }
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_put_coll(x->b, NS0, (const uint8_t *)"z", 1, &c), 0);
    uint64_t lsn;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    ks_rec r;
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"z", 1, 1000, &r), 0);
    ks_coll got;
    assert_int_equal(ks_rec_coll(&r, &got), 0);
    assert_int_equal(got.size, 9);
    assert_true(got.has_lo && got.has_hi && got.has_base);
    assert_int_equal(got.below, 1);
    assert_int_equal(got.rank_levels, 2);
    assert_int_equal(got.n_low, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(got.low_len[i], strlen(lows[i]));
        assert_memory_equal(got.low[i], lows[i], got.low_len[i]);
    }
    /* the same payload with its low-keys count raised past what follows: refused */
    uint8_t bad[512];
    assert_true(r.payload_len <= sizeof bad);
    memcpy(bad, r.payload, r.payload_len);
    assert_int_equal(bad[r.payload_len - 9], 3); /* n_low, before 1|a 1|b 3|bcd */
    bad[r.payload_len - 9] = 4;
    ks_rec forged = r;
    forged.payload = bad;
    assert_int_equal(ks_rec_coll(&forged, &got), KS_ECORRUPT);
    ks_rec_free(&r);
}

static void test_keyspace_versions_grow_across_reopen(void **state) {
    fx *x = *state;
    ks_coll a = make_coll(x, "k", KS_SET, 3, 0);
    ks_coll b;
    ks_coll_new(x->k, KS_SET, &b);
    assert_true(b.version > a.version); /* a's write came after a's version was taken */
    assert_int_equal(ks_close(x->k), 0);
    ks_options o = {.dir = x->dir, .sync_mode = 3, .bloom_bits_per_key = -1, .codec = -1};
    char err[256];
    assert_int_equal(ks_open(&o, &x->k, err, sizeof err), 0);
    ks_coll c;
    ks_coll_new(x->k, KS_SET, &c);
    assert_true(c.version > a.version);
    assert_int_equal(count_elems(x, "k", a.version), 3);
}

/* Deleted, overwritten by another type, re-created, expired past the grace, expired within it, and
 * live collections: after a full compaction only the dead ones' elements are gone. */
static void test_keyspace_compaction_drops_dead_collections_elements(void **state) {
    fx *x = *state;
    int64_t now = wall_now();
    ks_coll del = make_coll(x, "del", KS_HASH, 300, 0);
    ks_coll over = make_coll(x, "over", KS_SET, 200, 0);
    ks_coll old = make_coll(x, "again", KS_HASH, 100, 0);
    ks_coll live = make_coll(x, "live", KS_HASH, 400, 0);
    ks_coll gone = make_coll(x, "expired", KS_SET, 150, now - KS_EXPIRE_GRACE_MS - 60000);
    ks_coll grace = make_coll(x, "grace", KS_SET, 120, now - 1000);
    ks_coll later = make_coll(x, "later", KS_HASH, 80, now + 3600 * 1000);
    assert_int_equal(ks_flush_memtables(x->k), 0); /* the elements reach a table before they die */
    assert_int_equal(ks_batch_delete(x->b, NS0, (const uint8_t *)"del", 3), 0);
    assert_int_equal(ks_batch_put_string(x->b, NS0, (const uint8_t *)"over", 4, (const uint8_t *)"s", 1, 0), 0);
    assert_int_equal(ks_batch_delete(x->b, NS0, (const uint8_t *)"again", 5), 0);
    write_batch(x);
    ks_coll fresh = make_coll(x, "again", KS_HASH, 10, 0);
    assert_true(fresh.version > old.version);
    /* before compaction the dead elements are still stored (unreachable: nothing reads that version) */
    assert_int_equal(count_elems(x, "del", del.version), 300);
    assert_int_equal(count_elems(x, "over", over.version), 200);
    assert_int_equal(ks_compact(x->k), 0);
    assert_int_equal(count_elems(x, "del", del.version), 0);
    assert_int_equal(count_elems(x, "over", over.version), 0);
    assert_int_equal(count_elems(x, "again", old.version), 0);
    assert_int_equal(count_elems(x, "again", fresh.version), 10);
    assert_int_equal(count_elems(x, "live", live.version), 400);
    assert_int_equal(count_elems(x, "expired", gone.version), 0);
    assert_int_equal(count_elems(x, "grace", grace.version), 120); /* a reader may still be on it */
    assert_int_equal(count_elems(x, "later", later.version), 80);
    /* the long-expired record went too; the one within the grace stays (and reads as absent, K1) */
    ks_rec r;
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"grace", 5, 0, &r), 0);
    ks_rec_free(&r);
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"grace", 5, now, &r), KS_ENOTFOUND);
    assert_int_equal(ks_lookup(x->k, NS0, (const uint8_t *)"expired", 7, 0, &r), KS_ENOTFOUND);
    expect(x, NS0, "over", "s", now);
}

/* ---- transactions --------------------------------------------------------------------------- */

/* Elements of (key, version) as "e=v,..." forward, or backward with rev. */
static void elems_str(ks *k, const char *key, uint64_t version, bool rev, char *out, size_t cap) {
    ks_ckey ck = {NS0, (const uint8_t *)key, strlen(key), version};
    ks_elems *it;
    assert_int_equal(ks_elems_open(k, &ck, KS_ELEMS, &it), 0);
    size_t n = 0;
    out[0] = 0;
    if (rev) ks_elems_seek_last(it);
    while (ks_elems_valid(it)) {
        size_t el, vl;
        const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
        n += (size_t)snprintf(out + n, cap - n, "%.*s=%.*s,", (int)el, (const char *)e, (int)vl, (const char *)v);
        assert_true(n < cap);
        if (rev) ks_elems_prev(it);
        else ks_elems_next(it);
    }
    assert_int_equal(ks_elems_status(it), 0);
    ks_elems_close(it);
}

static void put_elem(ks *k, ks_batch *b, const ks_ckey *ck, const char *e, const char *v) {
    ks_batch_clear(b);
    if (v) assert_int_equal(ks_batch_put_elem(b, ck, KS_ELEMS, (const uint8_t *)e, strlen(e), (const uint8_t *)v, strlen(v)), 0);
    else assert_int_equal(ks_batch_del_elem(b, ck, KS_ELEMS, (const uint8_t *)e, strlen(e)), 0);
    uint64_t lsn;
    assert_int_equal(ks_write(k, b, &lsn), 0);
}

/* A transaction's reads see its writes merged over the engine (point reads, iterators both ways,
 * key scans), nobody else sees them before commit, commit applies all of them, and a transaction
 * ended without commit leaves nothing. */
static void test_keyspace_transaction_overlay(void **state) {
    fx *x = *state;
    ks_coll c = make_coll(x, "h", KS_HASH, 4, 0); /* e00000..e00003 = v0..v3 */
    ks_ckey ck = {NS0, (const uint8_t *)"h", 1, c.version};
    uint32_t stripe = ks_stripe(NS0, (const uint8_t *)"h", 1);
    ks *t;
    assert_int_equal(ks_txn_begin(x->k, &stripe, 1, false, &t), 0);
    ks_lock(t, NS0, (const uint8_t *)"h", 1); /* held by the transaction: no deadlock */
    ks_unlock(t, NS0, (const uint8_t *)"h", 1);
    put_elem(t, x->b, &ck, "e00001", "NEW");  /* shadows */
    put_elem(t, x->b, &ck, "e00002", NULL);   /* hides */
    put_elem(t, x->b, &ck, "e00009", "last"); /* after every engine key */
    put_elem(t, x->b, &ck, "a", "first");     /* before every engine key */
    char got[512];
    elems_str(t, "h", c.version, false, got, sizeof got);
    assert_string_equal(got, "a=first,e00000=v0,e00001=NEW,e00003=v3,e00009=last,");
    elems_str(t, "h", c.version, true, got, sizeof got);
    assert_string_equal(got, "e00009=last,e00003=v3,e00001=NEW,e00000=v0,a=first,");
    uint8_t *v;
    size_t vl;
    assert_int_equal(ks_elem_get(t, &ck, KS_ELEMS, (const uint8_t *)"e00002", 6, &v, &vl), KS_ENOTFOUND);
    assert_int_equal(ks_elem_get(t, &ck, KS_ELEMS, (const uint8_t *)"e00001", 6, &v, &vl), 0);
    assert_memory_equal(v, "NEW", 3);
    free(v);
    /* seek_for_prev lands on the overlay's or the engine's key, whichever is the last <= target */
    ks_elems *it;
    assert_int_equal(ks_elems_open(t, &ck, KS_ELEMS, &it), 0);
    ks_elems_seek_for_prev(it, (const uint8_t *)"e00002", 6);
    size_t el;
    const uint8_t *e = ks_elems_el(it, &el);
    assert_memory_equal(e, "e00001", 6);
    ks_elems_close(it);
    /* a record written in the transaction, and a key scan that sees it */
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_put_string(x->b, NS0, (const uint8_t *)"s", 1, (const uint8_t *)"tx", 2, 0), 0);
    uint64_t lsn;
    assert_int_equal(ks_write(t, x->b, &lsn), 0);
    assert_int_equal(lsn, 0);
    uint64_t n;
    assert_int_equal(ks_count(t, NS0, 1000, &n), 0);
    assert_int_equal(n, 2);
    /* nobody else sees any of it yet */
    elems_str(x->k, "h", c.version, false, got, sizeof got);
    assert_string_equal(got, "e00000=v0,e00001=v1,e00002=v2,e00003=v3,");
    expect(x, NS0, "s", NULL, 1000);
    assert_int_equal(ks_txn_commit(t, &lsn), 0);
    assert_true(lsn > 0);
    ks_txn_end(t);
    elems_str(x->k, "h", c.version, false, got, sizeof got);
    assert_string_equal(got, "a=first,e00000=v0,e00001=NEW,e00003=v3,e00009=last,");
    expect(x, NS0, "s", "tx", 1000);
    /* ended without a commit: nothing */
    assert_int_equal(ks_txn_begin(x->k, NULL, 0, true, &t), 0);
    put_elem(t, x->b, &ck, "zz", "gone");
    ks_txn_end(t);
    elems_str(x->k, "h", c.version, true, got, sizeof got);
    assert_string_equal(got, "e00009=last,e00003=v3,e00001=NEW,e00000=v0,a=first,");
}

/* Two collections created in one transaction under one key get different versions (K4). */
static void test_keyspace_transaction_versions(void **state) {
    fx *x = *state;
    ks *t;
    assert_int_equal(ks_txn_begin(x->k, NULL, 0, true, &t), 0);
    ks_coll a, b;
    ks_coll_new(t, KS_SET, &a);
    ks_coll_new(t, KS_SET, &b);
    assert_true(b.version > a.version);
    ks_txn_end(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keyspace_string_round_trip_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_namespaces_are_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_expired_records_are_invisible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_expire_cycle_deletes_due_keys_and_stale_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_expire_cycle_respects_its_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_scan_prefix_limit_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_mlookup_matches_single_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_collection_record_and_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_zset_record_hints_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_versions_grow_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_compaction_drops_dead_collections_elements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_transaction_overlay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_transaction_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
