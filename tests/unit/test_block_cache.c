/* test_block_cache.c -- the sharded LRU block cache: eviction order by charge, pins, replacement,
 * the high-priority pool, capacity changes, statistics against a model, and a multi-threaded
 * hammer that checks every value is freed exactly once. Single-threaded tests use one shard so
 * eviction order is exact; values are slots of a static array whose deleter counts its calls. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strata/st_status.h"
#include "table/block_cache.h"

#ifdef ST_DEBUG_INVARIANTS
#define CHECK_INVARIANTS(c) st_block_cache_check_invariants(c)
#else
#define CHECK_INVARIANTS(c) ((void)(c))
#endif

/* ---- counted values -------------------------------------------------------------------------- */

#define NVALS 6000

typedef struct tval {
    uint64_t id, off; /* the key it was inserted under */
    int freed;        /* deleter calls */
} tval;

static tval vals[NVALS];

static void tval_deleter(uint64_t id, uint64_t off, void *value) {
    tval *v = value;
    if (v->id != id || v->off != off) fail_msg("deleter got (%llu, %llu) for a value of (%llu, %llu)",
                                               (unsigned long long)id, (unsigned long long)off,
                                               (unsigned long long)v->id, (unsigned long long)v->off);
    v->freed++;
}

static int reset_vals(void **state) {
    memset(vals, 0, sizeof vals);
    return 0;
}

/* Inserts vals[i] under (1, off) without a handle. */
static void put(st_block_cache *c, size_t i, uint64_t off, size_t charge, st_cache_priority pri) {
    vals[i].id = 1;
    vals[i].off = off;
    assert_int_equal(st_block_cache_insert(c, 1, off, &vals[i], charge, tval_deleter, pri, NULL), 0);
}

/* Inserts vals[i] under (1, off) and returns the pinning handle. */
static st_block_cache_handle *put_pinned(st_block_cache *c, size_t i, uint64_t off, size_t charge) {
    vals[i].id = 1;
    vals[i].off = off;
    st_block_cache_handle *h = NULL;
    assert_int_equal(st_block_cache_insert(c, 1, off, &vals[i], charge, tval_deleter, ST_CACHE_PRI_LOW, &h), 0);
    assert_non_null(h);
    assert_ptr_equal(st_block_cache_value(h), &vals[i]);
    return h;
}

/* Whether (1, off) is cached; a hit is released at once (and counts as a hit). */
static bool present(st_block_cache *c, uint64_t off) {
    st_block_cache_handle *h = (st_block_cache_handle *)1;
    int rc = st_block_cache_lookup(c, 1, off, &h);
    if (rc == ST_ENOTFOUND) {
        assert_null(h);
        return false;
    }
    assert_int_equal(rc, 0);
    st_block_cache_release(c, h);
    return true;
}

static st_cache_stats stats(st_block_cache *c) {
    st_cache_stats s;
    st_block_cache_stats(c, &s);
    return s;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_lru_evicts_oldest_unpinned_first_by_charge(void **state) {
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(100, 0, 0.0, &c), 0);
    for (size_t i = 0; i < 10; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    st_cache_stats s = stats(c);
    assert_int_equal(s.entries, 10);
    assert_int_equal(s.usage_bytes, 100);
    assert_int_equal(s.evictions, 0);
    assert_true(present(c, 0)); /* 0 becomes the most recent */

    put(c, 10, 10, 10, ST_CACHE_PRI_LOW); /* evicts 1, the oldest */
    assert_int_equal(vals[1].freed, 1);
    assert_int_equal(vals[0].freed, 0);
    assert_false(present(c, 1));

    put(c, 11, 11, 25, ST_CACHE_PRI_LOW); /* 25 bytes: evicts 2, 3 and 4 */
    for (size_t i = 2; i <= 4; i++) assert_int_equal(vals[i].freed, 1);
    assert_int_equal(vals[5].freed, 0);
    assert_int_equal(stats(c).usage_bytes, 95);

    /* order now 5 6 7 8 9 0 10 11: 60 bytes evict 5..9 and then 0, never 10 or 11 */
    put(c, 12, 12, 60, ST_CACHE_PRI_LOW);
    for (size_t i = 5; i <= 9; i++) assert_int_equal(vals[i].freed, 1);
    assert_int_equal(vals[0].freed, 1);
    assert_int_equal(vals[10].freed, 0);
    assert_int_equal(vals[11].freed, 0);
    s = stats(c);
    assert_int_equal(s.usage_bytes, 95);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.evictions, 10);

    /* bigger than the whole cache: without a handle it is dropped at once, everything else stays */
    put(c, 13, 13, 500, ST_CACHE_PRI_LOW);
    assert_int_equal(vals[13].freed, 1);
    assert_false(present(c, 13));
    /* with a handle it is kept, over capacity, until released */
    st_block_cache_handle *h = put_pinned(c, 14, 14, 500);
    s = stats(c);
    assert_int_equal(s.usage_bytes, 500);
    assert_int_equal(s.pinned_bytes, 500);
    assert_int_equal(vals[14].freed, 0);
    CHECK_INVARIANTS(c);
    st_block_cache_release(c, h);
    assert_int_equal(vals[14].freed, 1);
    assert_int_equal(stats(c).usage_bytes, 0);
    st_block_cache_free(c);
    for (size_t i = 0; i <= 14; i++) assert_int_equal(vals[i].freed, 1);
}

static void test_pinned_entries_are_freed_only_after_release(void **state) {
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(30, 0, 0.0, &c), 0);
    st_block_cache_handle *a = put_pinned(c, 0, 100, 10);
    for (size_t i = 1; i <= 8; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW); /* churn around the pin */
    assert_int_equal(vals[0].freed, 0);
    assert_true(present(c, 100));
    st_cache_stats s = stats(c);
    assert_int_equal(s.usage_bytes, 30);
    assert_int_equal(s.pinned_bytes, 10);

    st_block_cache_erase(c, 1, 100); /* erased while pinned: gone from the cache, not freed */
    assert_false(present(c, 100));
    assert_int_equal(vals[0].freed, 0);
    assert_ptr_equal(st_block_cache_value(a), &vals[0]);
    s = stats(c);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.usage_bytes, 30); /* C1: still charged */
    assert_int_equal(s.pinned_bytes, 10);
    CHECK_INVARIANTS(c);
    st_block_cache_release(c, a);
    assert_int_equal(vals[0].freed, 1);
    assert_int_equal(stats(c).usage_bytes, 20);

    /* Five pinned entries in a 30-byte cache: all inserted, usage over capacity while held. */
    st_block_cache_handle *hs[5];
    for (size_t i = 0; i < 5; i++) hs[i] = put_pinned(c, 20 + i, 200 + i, 10);
    s = stats(c);
    assert_int_equal(s.usage_bytes, 50);
    assert_int_equal(s.pinned_bytes, 50);
    assert_int_equal(s.entries, 5);
    for (size_t i = 1; i <= 8; i++) assert_int_equal(vals[i].freed, 1); /* unpinned ones went first */
    /* Releasing brings usage back under capacity: the first two released are freed at once. */
    for (size_t i = 0; i < 5; i++) st_block_cache_release(c, hs[i]);
    assert_int_equal(vals[20].freed, 1);
    assert_int_equal(vals[21].freed, 1);
    for (size_t i = 22; i < 25; i++) assert_int_equal(vals[i].freed, 0);
    s = stats(c);
    assert_int_equal(s.usage_bytes, 30);
    assert_int_equal(s.pinned_bytes, 0);
    assert_int_equal(s.entries, 3);

    /* Two handles on one entry: freed after the second release only. */
    st_block_cache_handle *h1, *h2;
    assert_int_equal(st_block_cache_lookup(c, 1, 202, &h1), 0);
    assert_int_equal(st_block_cache_lookup(c, 1, 202, &h2), 0);
    assert_ptr_equal(h1, h2);
    st_block_cache_erase(c, 1, 202);
    st_block_cache_release(c, h1);
    assert_int_equal(vals[22].freed, 0);
    st_block_cache_release(c, h2);
    assert_int_equal(vals[22].freed, 1);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
    for (size_t i = 0; i < 25; i++)
        if (i <= 8 || i >= 20) assert_int_equal(vals[i].freed, 1);
}

/* Second chance: a lookup does not move its entry. An entry hit since it was inserted survives
 * when eviction reaches it (re-queued as the newest), one not hit again goes; a pinned entry that
 * eviction reaches leaves the list, is never evicted while pinned, and rejoins at its release. */
static void test_second_chance_and_pinned_entries_met_by_eviction(void **state) {
    (void)state;
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(50, 0, 0.0, &c), 0);
    for (size_t i = 0; i < 5; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW); /* order 0 1 2 3 4, full */
    assert_true(present(c, 0));
    assert_true(present(c, 2));
    put(c, 5, 5, 10, ST_CACHE_PRI_LOW); /* 0 hit: requeued; 1 evicted. Order 2 3 4 0 5 */
    assert_int_equal(vals[1].freed, 1);
    assert_int_equal(vals[0].freed, 0);
    put(c, 6, 6, 10, ST_CACHE_PRI_LOW); /* 2 hit: requeued; 3 evicted. Order 4 0 5 2 6 */
    assert_int_equal(vals[3].freed, 1);
    assert_int_equal(vals[2].freed, 0);
    CHECK_INVARIANTS(c);

    st_block_cache_handle *h4 = NULL;
    assert_int_equal(st_block_cache_lookup(c, 1, 4, &h4), 0); /* 4, the oldest, pinned */
    assert_int_equal(stats(c).pinned_bytes, 10);
    put(c, 7, 7, 10, ST_CACHE_PRI_LOW); /* 4 pinned: off the list; 0 (bit cleared) goes: 5 2 6 7 */
    assert_int_equal(vals[4].freed, 0);
    assert_int_equal(vals[0].freed, 1);
    put(c, 8, 8, 10, ST_CACHE_PRI_LOW); /* 5 goes: 2 6 7 8, and 4 off the list */
    assert_int_equal(vals[5].freed, 1);
    assert_int_equal(vals[2].freed, 0);
    CHECK_INVARIANTS(c);
    st_cache_stats st = stats(c);
    assert_int_equal(st.usage_bytes, 50);
    assert_int_equal(st.pinned_bytes, 10);
    st_block_cache_release(c, h4); /* back on the list as the newest: 2 6 7 8 4 (4 was hit) */
    assert_int_equal(vals[4].freed, 0);
    assert_int_equal(stats(c).pinned_bytes, 0);
    CHECK_INVARIANTS(c);
    for (size_t i = 9; i < 13; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW); /* evict 2 6 7 8 */
    for (size_t i = 6; i <= 8; i++) assert_int_equal(vals[i].freed, 1);
    assert_int_equal(vals[2].freed, 1);
    assert_int_equal(vals[4].freed, 0);
    put(c, 13, 13, 10, ST_CACHE_PRI_LOW); /* 4: its hit bit buys one more round; 9 goes */
    assert_int_equal(vals[9].freed, 1);
    assert_int_equal(vals[4].freed, 0);
    for (size_t i = 14; i < 18; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW); /* 10 11 12, then 4 */
    assert_int_equal(vals[4].freed, 1);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
}

static void test_insert_replaces_an_existing_entry(void **state) {
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(1000, 0, 0.5, &c), 0);
    st_block_cache_handle *hx = put_pinned(c, 0, 7, 10); /* X */
    put(c, 1, 7, 20, ST_CACHE_PRI_LOW);                  /* Y replaces X while X is pinned */
    st_block_cache_handle *h;
    assert_int_equal(st_block_cache_lookup(c, 1, 7, &h), 0);
    assert_ptr_equal(st_block_cache_value(h), &vals[1]);
    st_block_cache_release(c, h);
    assert_int_equal(vals[0].freed, 0);
    assert_ptr_equal(st_block_cache_value(hx), &vals[0]); /* the old handle still sees X */
    st_cache_stats s = stats(c);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.usage_bytes, 30);
    assert_int_equal(s.pinned_bytes, 10);
    CHECK_INVARIANTS(c);
    st_block_cache_release(c, hx);
    assert_int_equal(vals[0].freed, 1);
    assert_int_equal(stats(c).usage_bytes, 20);

    put(c, 2, 7, 5, ST_CACHE_PRI_HIGH); /* Z replaces the unpinned Y: Y is freed at once */
    assert_int_equal(vals[1].freed, 1);
    assert_int_equal(st_block_cache_lookup(c, 1, 7, &h), 0);
    assert_ptr_equal(st_block_cache_value(h), &vals[2]);
    st_block_cache_release(c, h);
    s = stats(c);
    assert_int_equal(s.inserts, 3);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.usage_bytes, 5);
    assert_int_equal(s.evictions, 0);
    /* another id, same offset: a different key */
    assert_int_equal(st_block_cache_lookup(c, 2, 7, &h), ST_ENOTFOUND);
    st_block_cache_free(c);
    assert_int_equal(vals[2].freed, 1);
}

static void test_high_priority_pool_survives_a_low_priority_flood(void **state) {
    /* ratio 0.5 of 100 bytes: 4 high entries (40) and one low entry that was hit (promoted). */
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(100, 0, 0.5, &c), 0);
    for (size_t i = 0; i < 4; i++) put(c, i, 1000 + i, 10, ST_CACHE_PRI_HIGH);
    put(c, 4, 2000, 10, ST_CACHE_PRI_LOW);
    assert_true(present(c, 2000));
    for (size_t i = 0; i < 200; i++) put(c, 10 + i, i, 10, ST_CACHE_PRI_LOW);
    for (size_t i = 0; i < 4; i++) assert_true(present(c, 1000 + i));
    assert_true(present(c, 2000));
    assert_int_equal(vals[4].freed, 0);
    size_t flood_left = 0;
    for (size_t i = 0; i < 200; i++) flood_left += vals[10 + i].freed == 0;
    assert_int_equal(flood_left, 5);
    for (size_t i = 195; i < 200; i++) assert_int_equal(vals[10 + i].freed, 0); /* the newest five */
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);

    /* Without the pool, the same flood evicts the high-priority entries. */
    reset_vals(NULL);
    assert_int_equal(st_block_cache_new(100, 0, 0.0, &c), 0);
    for (size_t i = 0; i < 4; i++) put(c, i, 1000 + i, 10, ST_CACHE_PRI_HIGH);
    for (size_t i = 0; i < 200; i++) put(c, 10 + i, i, 10, ST_CACHE_PRI_LOW);
    for (size_t i = 0; i < 4; i++) assert_int_equal(vals[i].freed, 1);
    st_block_cache_free(c);

    /* The pool holds at most its share: 8 high entries in a 50-byte pool, the oldest 3 overflow
     * into the low pool and go with the flood. */
    reset_vals(NULL);
    assert_int_equal(st_block_cache_new(100, 0, 0.5, &c), 0);
    for (size_t i = 0; i < 8; i++) put(c, i, 1000 + i, 10, ST_CACHE_PRI_HIGH);
    for (size_t i = 0; i < 200; i++) put(c, 10 + i, i, 10, ST_CACHE_PRI_LOW);
    for (size_t i = 0; i < 3; i++) assert_int_equal(vals[i].freed, 1);
    for (size_t i = 3; i < 8; i++) assert_int_equal(vals[i].freed, 0);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
}

static void test_shrinking_capacity_evicts_down_to_it(void **state) {
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(100, 0, 0.0, &c), 0);
    for (size_t i = 0; i < 10; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    st_block_cache_set_capacity(c, 30);
    st_cache_stats s = stats(c);
    assert_int_equal(s.capacity_bytes, 30);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.usage_bytes, 30);
    assert_int_equal(s.evictions, 7);
    for (size_t i = 0; i < 7; i++) assert_int_equal(vals[i].freed, 1);
    for (size_t i = 7; i < 10; i++) assert_true(present(c, i));

    /* a pinned entry survives a shrink to 0 and goes at its release */
    st_block_cache_handle *h;
    assert_int_equal(st_block_cache_lookup(c, 1, 9, &h), 0);
    st_block_cache_set_capacity(c, 0);
    s = stats(c);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.usage_bytes, 10);
    assert_int_equal(vals[9].freed, 0);
    st_block_cache_release(c, h);
    assert_int_equal(vals[9].freed, 1);
    s = stats(c);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.usage_bytes, 0);

    /* growing again: entries stay */
    st_block_cache_set_capacity(c, 100);
    for (size_t i = 10; i < 20; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    assert_int_equal(stats(c).entries, 10);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
    for (size_t i = 0; i < 20; i++) assert_int_equal(vals[i].freed, 1);
}

/* Reservations (open tables' indexes and filters) take their bytes out of the capacity at once,
 * and give them back when released; more than the capacity leaves room for pinned entries only. */
static void test_reservations_share_the_capacity(void **state) {
    (void)state;
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(100, 0, 0.0, &c), 0);
    for (size_t i = 0; i < 10; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    st_block_cache_reserve(c, 45);
    st_cache_stats s = stats(c);
    assert_int_equal(s.capacity_bytes, 100);
    assert_int_equal(s.reserved_bytes, 45);
    assert_int_equal(s.usage_bytes, 50); /* 55 left: five entries of 10 fit */
    for (size_t i = 0; i < 5; i++) assert_int_equal(vals[i].freed, 1);
    for (size_t i = 5; i < 10; i++) assert_true(present(c, i));
    /* inserts now evict down to capacity - reserved */
    for (size_t i = 10; i < 13; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    assert_true(stats(c).usage_bytes <= 55);

    /* reserving past the capacity leaves nothing unpinned, but a pinned entry survives */
    st_block_cache_handle *h;
    assert_int_equal(st_block_cache_lookup(c, 1, 12, &h), 0);
    st_block_cache_reserve(c, 100);
    s = stats(c);
    assert_int_equal(s.reserved_bytes, 145);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.usage_bytes, 10);
    st_block_cache_release(c, h);
    assert_int_equal(stats(c).entries, 0);

    /* released reservations give the room back */
    st_block_cache_unreserve(c, 100);
    st_block_cache_unreserve(c, 45);
    assert_int_equal(stats(c).reserved_bytes, 0);
    for (size_t i = 13; i < 23; i++) put(c, i, i, 10, ST_CACHE_PRI_LOW);
    assert_int_equal(stats(c).entries, 10);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
    for (size_t i = 0; i < 23; i++) assert_int_equal(vals[i].freed, 1);
}

/* Random inserts, lookups and erases over 4 shards against a model of which values are alive.
 * Every value freed by an operation is accounted for: by an eviction, by the erase, or (insert)
 * by the replacement of the key's previous value, which an insert may also evict first. */
static void test_stats_add_up(void **state) {
    st_rng rng;
    st_rng_seed(&rng, st_test_seed(__func__, 41));
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(4096, 2, 0.3, &c), 0);
    enum { NKEYS = 300, NOPS = 5000 };
    size_t cur[NKEYS];            /* cur[k]: index of the value last inserted under k, or SIZE_MAX */
    size_t charge[NVALS];
    for (size_t k = 0; k < NKEYS; k++) cur[k] = SIZE_MAX;
    size_t nvals = 0;
    uint64_t lookups = 0, inserts = 0, freed_before = 0, evictions_before = 0;
    for (int op = 0; op < NOPS; op++) {
        uint64_t k = st_rng_below(&rng, NKEYS);
        uint64_t r = st_rng_below(&rng, 10);
        size_t old = cur[k];
        bool alive = old != SIZE_MAX && vals[old].freed == 0;
        uint64_t by_op = 0; /* values this operation itself frees, evictions aside */
        if (r < 5) {
            assert_true(nvals < NVALS);
            size_t i = nvals++;
            charge[i] = 1 + st_rng_below(&rng, 200);
            bool pin = st_rng_below(&rng, 2);
            if (pin) {
                st_block_cache_handle *h = put_pinned(c, i, k, charge[i]);
                assert_int_equal(stats(c).pinned_bytes, charge[i]);
                st_block_cache_release(c, h);
            } else {
                put(c, i, k, charge[i], st_rng_below(&rng, 4) ? ST_CACHE_PRI_LOW : ST_CACHE_PRI_HIGH);
            }
            cur[k] = i;
            inserts++;
            if (alive) assert_int_equal(vals[old].freed, 1); /* replaced (or evicted) */
        } else if (r < 9) {
            st_block_cache_handle *h;
            int rc = st_block_cache_lookup(c, 1, k, &h);
            lookups++;
            assert_int_equal(rc == 0, alive); /* a freed value is never found, a live one always */
            if (rc == 0) {
                assert_ptr_equal(st_block_cache_value(h), &vals[cur[k]]);
                st_block_cache_release(c, h);
            }
        } else {
            st_block_cache_erase(c, 1, k);
            by_op = alive;
            if (alive) assert_int_equal(vals[old].freed, 1);
        }
        st_cache_stats s = stats(c);
        uint64_t live = 0, live_bytes = 0, freed = 0;
        for (size_t i = 0; i < nvals; i++) {
            assert_true(vals[i].freed <= 1);
            if (vals[i].freed) {
                freed++;
            } else {
                live++;
                live_bytes += charge[i];
            }
        }
        assert_int_equal(s.hits + s.misses, lookups);
        assert_int_equal(s.inserts, inserts);
        assert_int_equal(s.entries, live);
        assert_int_equal(s.usage_bytes, live_bytes);
        assert_int_equal(s.pinned_bytes, 0);
        assert_true(s.usage_bytes <= s.capacity_bytes);
        assert_int_equal(s.capacity_bytes, 4096);
        uint64_t unexplained = (freed - freed_before) - (s.evictions - evictions_before);
        if (r < 5) assert_true(unexplained == 0 || (alive && unexplained == 1));
        else assert_int_equal(unexplained, by_op);
        freed_before = freed;
        evictions_before = s.evictions;
    }
    assert_true(stats(c).evictions > 0);
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
    for (size_t i = 0; i < nvals; i++) assert_int_equal(vals[i].freed, 1);
}

static void test_bad_arguments_are_einval_and_ids_are_unique(void **state) {
    st_block_cache *c = (st_block_cache *)1;
    assert_int_equal(st_block_cache_new(1 << 20, ST_BLOCK_CACHE_MAX_SHARD_BITS + 1, 0.5, &c), ST_EINVAL);
    assert_null(c);
    assert_int_equal(st_block_cache_new(1 << 20, -2, 0.5, &c), ST_EINVAL);
    assert_int_equal(st_block_cache_new(1 << 20, -1, 1.5, &c), ST_EINVAL);
    assert_int_equal(st_block_cache_new(1 << 20, -1, -0.1, &c), ST_EINVAL);
    assert_int_equal(st_block_cache_new(1 << 20, -1, NAN, &c), ST_EINVAL);
    assert_null(c);
    assert_int_equal(st_block_cache_new(64 << 20, -1, 0.5, &c), 0);
    st_block_cache_handle *h = (st_block_cache_handle *)1;
    assert_int_equal(st_block_cache_insert(c, 1, 1, &vals[0], 10, NULL, ST_CACHE_PRI_LOW, &h), ST_EINVAL);
    assert_null(h);
    assert_int_equal(st_block_cache_insert(c, 1, 1, &vals[0], 10, tval_deleter, (st_cache_priority)0, NULL),
                     ST_EINVAL);
    assert_int_equal(vals[0].freed, 0); /* an error never calls the deleter */
    assert_int_equal(stats(c).inserts, 0);
    uint64_t prev = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t id = st_block_cache_new_id(c);
        assert_true(id > prev);
        prev = id;
    }
    st_block_cache_erase(c, 5, 5); /* absent: a no-op */
    st_block_cache_release(c, NULL);
    st_block_cache_free(c);
    st_block_cache_free(NULL);
    assert_int_equal(vals[0].freed, 0);
}

/* ---- multi-threaded hammer ------------------------------------------------------------------- */

#define HAMMER_THREADS 4
#define HAMMER_OPS 100000
#define HAMMER_KEYS 256
#define HVAL_LIVE 0x11fe11fe11fe11feull
#define HVAL_DEAD 0xdeaddeaddeaddeadull

typedef struct hval {
    uint64_t magic, id, off, gen;
    uint64_t words[30]; /* words[i] = mix(id, off, gen, i) */
} hval;

static atomic_uint_fast64_t hv_created, hv_freed, hv_bad_deletes;

static uint64_t hmix(uint64_t id, uint64_t off, uint64_t gen, uint64_t i) {
    uint64_t x = id * 0x9e3779b97f4a7c15ull ^ off * 0xbf58476d1ce4e5b9ull ^ gen * 0x94d049bb133111ebull ^ i;
    x ^= x >> 31;
    return x * 0xff51afd7ed558ccdull;
}

static bool hval_ok(const hval *v, uint64_t id, uint64_t off) {
    if (v->magic != HVAL_LIVE || v->id != id || v->off != off) return false;
    for (size_t i = 0; i < 30; i++)
        if (v->words[i] != hmix(id, off, v->gen, i)) return false;
    return true;
}

static void hval_deleter(uint64_t id, uint64_t off, void *value) {
    hval *v = value;
    if (!hval_ok(v, id, off)) atomic_fetch_add(&hv_bad_deletes, 1);
    v->magic = HVAL_DEAD;
    atomic_fetch_add(&hv_freed, 1);
    free(v);
}

typedef struct hammer {
    st_block_cache *c;
    uint64_t seed;
    int thread;
    int failures;
    uint64_t inserts, lookups;
} hammer;

static void *hammer_main(void *arg) {
    hammer *hm = arg;
    st_rng rng;
    st_rng_seed(&rng, hm->seed);
    struct { st_block_cache_handle *h; uint64_t id, off; } held[4];
    int nheld = 0;
    for (int op = 0; op < HAMMER_OPS; op++) {
        uint64_t id = 1 + st_rng_below(&rng, 2), off = st_rng_below(&rng, HAMMER_KEYS) * 4096;
        uint64_t r = st_rng_below(&rng, 100);
        st_block_cache_handle *h = NULL;
        if (r < 50) {
            hm->lookups++;
            if (st_block_cache_lookup(hm->c, id, off, &h) == 0 && !hval_ok(st_block_cache_value(h), id, off))
                hm->failures++;
        } else if (r < 85) {
            hval *v = malloc(sizeof *v);
            if (!v) {
                hm->failures++;
                continue;
            }
            v->magic = HVAL_LIVE;
            v->id = id;
            v->off = off;
            v->gen = st_rng_next(&rng);
            for (size_t i = 0; i < 30; i++) v->words[i] = hmix(id, off, v->gen, i);
            bool pin = st_rng_below(&rng, 2);
            atomic_fetch_add(&hv_created, 1);
            if (st_block_cache_insert(hm->c, id, off, v, sizeof *v + ST_BLOCK_CACHE_ENTRY_OVERHEAD, hval_deleter,
                                      st_rng_below(&rng, 8) ? ST_CACHE_PRI_LOW : ST_CACHE_PRI_HIGH,
                                      pin ? &h : NULL)) {
                hm->failures++;
                atomic_fetch_sub(&hv_created, 1);
                free(v);
                continue;
            }
            hm->inserts++;
            if (h && st_block_cache_value(h) != v) hm->failures++;
        } else if (r < 95) {
            st_block_cache_erase(hm->c, id, off);
        } else if (hm->thread == 0 && r == 99) {
            st_block_cache_set_capacity(hm->c, st_rng_below(&rng, 2) ? 16 << 10 : 48 << 10);
        }
        if (h) { /* hold some handles across other threads' evictions, erases and replacements */
            if (nheld == 4 || st_rng_below(&rng, 2)) {
                int j = (int)st_rng_below(&rng, (uint64_t)nheld + 1);
                if (j < nheld) {
                    if (!hval_ok(st_block_cache_value(held[j].h), held[j].id, held[j].off)) hm->failures++;
                    st_block_cache_release(hm->c, held[j].h);
                    held[j].h = h;
                    held[j].id = id;
                    held[j].off = off;
                } else {
                    st_block_cache_release(hm->c, h);
                }
            } else {
                held[nheld].h = h;
                held[nheld].id = id;
                held[nheld].off = off;
                nheld++;
            }
        }
    }
    for (int j = 0; j < nheld; j++) {
        if (!hval_ok(st_block_cache_value(held[j].h), held[j].id, held[j].off)) hm->failures++;
        st_block_cache_release(hm->c, held[j].h);
    }
    return NULL;
}

static void test_threads_hammer_keeps_values_intact_and_frees_each_once(void **state) {
    atomic_store(&hv_created, 0);
    atomic_store(&hv_freed, 0);
    atomic_store(&hv_bad_deletes, 0);
    st_block_cache *c;
    /* 32 KiB over 4 shards: about 24 entries per shard, far fewer than the 512 keys */
    assert_int_equal(st_block_cache_new(32 << 10, 2, 0.25, &c), 0);
    uint64_t seed = st_test_seed(__func__, 43);
    hammer hm[HAMMER_THREADS];
    pthread_t th[HAMMER_THREADS];
    for (int i = 0; i < HAMMER_THREADS; i++) {
        hm[i] = (hammer){.c = c, .seed = seed + (uint64_t)i, .thread = i};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &hm[i]), 0);
    }
    uint64_t inserts = 0, lookups = 0;
    for (int i = 0; i < HAMMER_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(hm[i].failures, 0);
        inserts += hm[i].inserts;
        lookups += hm[i].lookups;
    }
    st_cache_stats s = stats(c);
    assert_int_equal(s.inserts, inserts);
    assert_int_equal(s.hits + s.misses, lookups);
    assert_true(s.hits > 0 && s.misses > 0 && s.evictions > 0);
    assert_int_equal(s.pinned_bytes, 0);
    assert_true(s.usage_bytes <= s.capacity_bytes + (4 - 1)); /* per-shard capacity rounds up */
    assert_int_equal(atomic_load(&hv_freed) + s.entries, atomic_load(&hv_created));
    CHECK_INVARIANTS(c);
    st_block_cache_free(c);
    assert_int_equal(atomic_load(&hv_created), inserts);
    assert_int_equal(atomic_load(&hv_freed), inserts); /* exactly once each: ASan catches a second free */
    assert_int_equal(atomic_load(&hv_bad_deletes), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_lru_evicts_oldest_unpinned_first_by_charge, reset_vals),
        cmocka_unit_test_setup(test_pinned_entries_are_freed_only_after_release, reset_vals),
        cmocka_unit_test_setup(test_second_chance_and_pinned_entries_met_by_eviction, reset_vals),
        cmocka_unit_test_setup(test_insert_replaces_an_existing_entry, reset_vals),
        cmocka_unit_test_setup(test_high_priority_pool_survives_a_low_priority_flood, reset_vals),
        cmocka_unit_test_setup(test_shrinking_capacity_evicts_down_to_it, reset_vals),
        cmocka_unit_test_setup(test_reservations_share_the_capacity, reset_vals),
        cmocka_unit_test_setup(test_stats_add_up, reset_vals),
        cmocka_unit_test_setup(test_bad_arguments_are_einval_and_ids_are_unique, reset_vals),
        cmocka_unit_test(test_threads_hammer_keeps_values_intact_and_frees_each_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
