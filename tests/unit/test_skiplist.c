/* test_skiplist.c -- skiplist order against a sorted reference in both directions, seek and
 * seek_for_prev semantics, prev/next alternation, one writer racing lock-free readers (scanning
 * forward and backward), and several linkers at once. Entries are 8-byte big-endian integers so
 * memcmp is numeric order. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem/skiplist.h"
#include "strata/st_status.h"
#include "testutil.h"

static int u64_cmp(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 8); }

/* Lookup key: a host uint64_t, so seeks need no entry built. */
static int u64_key_cmp(const uint8_t *entry, const void *key) {
    uint8_t k[8];
    uint64_t v = *(const uint64_t *)key;
    for (int i = 0; i < 8; i++) k[i] = (uint8_t)(v >> (56 - 8 * i));
    return memcmp(entry, k, 8);
}

static uint64_t entry_u64(const uint8_t *e) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | e[i];
    return v;
}

static const uint8_t *make_entry(st_arena *a, uint64_t v) {
    uint8_t *e = st_arena_alloc(a, 8);
    assert_non_null(e);
    for (int i = 0; i < 8; i++) e[i] = (uint8_t)(v >> (56 - 8 * i));
    return e;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void new_list(st_skiplist *sl, st_arena **a) {
    assert_int_equal(st_arena_new(4096, a), 0);
    assert_int_equal(st_skiplist_init(sl, *a, u64_cmp, u64_key_cmp), 0);
}

static void check_invariants(const st_skiplist *sl) {
#ifdef ST_DEBUG_INVARIANTS
    st_skiplist_check_invariants(sl);
#else
    (void)sl;
#endif
}

static void test_skiplist_empty_list_has_nothing(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_first(&it);
    assert_false(st_skiplist_iter_valid(&it));
    uint64_t k = 7;
    st_skiplist_iter_seek(&it, &k);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_last(&it);
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_for_prev(&it, &k);
    assert_false(st_skiplist_iter_valid(&it));
    uint8_t probe[8] = {0};
    assert_false(st_skiplist_contains(&sl, probe));
    check_invariants(&sl);
    st_arena_free(a);
}

static void test_skiplist_random_inserts_match_sorted_reference(void **state) {
    (void)state;
    enum { N = 5000 };
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("skiplist_random_inserts", 1234));
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    uint64_t *ref = malloc(N * sizeof *ref);
    assert_non_null(ref);
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        uint64_t v = st_rng_below(&rng, 20000); /* small domain: duplicates get exercised */
        const uint8_t *e = make_entry(a, v);
        if (st_skiplist_contains(&sl, e)) continue;
        assert_int_equal(st_skiplist_insert(&sl, e), 0);
        assert_true(st_skiplist_contains(&sl, e));
        ref[n++] = v;
    }
    qsort(ref, n, sizeof *ref, cmp_u64);
    check_invariants(&sl);

    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    size_t i = 0;
    for (st_skiplist_iter_seek_first(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_next(&it)) {
        assert_true(i < n);
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[i]);
        i++;
    }
    assert_int_equal(i, n);
    /* Backward from the last entry: the reference reversed, then off the front. */
    i = n;
    for (st_skiplist_iter_seek_last(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_prev(&it)) {
        assert_true(i > 0);
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), ref[--i]);
    }
    assert_int_equal(i, 0);

    /* Every value in the domain: contained exactly when in the reference. */
    size_t j = 0;
    for (uint64_t v = 0; v < 20000; v++) {
        bool in_ref = j < n && ref[j] == v;
        if (in_ref) j++;
        uint8_t probe[8];
        for (int b = 0; b < 8; b++) probe[b] = (uint8_t)(v >> (56 - 8 * b));
        assert_int_equal(st_skiplist_contains(&sl, probe), in_ref);
    }
    free(ref);
    st_arena_free(a);
}

static void test_skiplist_seek_finds_first_entry_at_or_after_target(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    /* Even numbers 10..2008, inserted in a scrambled order. */
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t v = 10 + 2 * ((i * 7919) % 1000);
        assert_int_equal(st_skiplist_insert(&sl, make_entry(a, v)), 0);
    }
    check_invariants(&sl);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    for (uint64_t t = 0; t <= 2008; t++) {
        st_skiplist_iter_seek(&it, &t);
        assert_true(st_skiplist_iter_valid(&it));
        uint64_t want = t < 10 ? 10 : (t % 2 ? t + 1 : t);
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), want);
    }
    uint64_t past = 2009;
    st_skiplist_iter_seek(&it, &past);
    assert_false(st_skiplist_iter_valid(&it));
    past = UINT64_MAX;
    st_skiplist_iter_seek(&it, &past);
    assert_false(st_skiplist_iter_valid(&it));

    /* next walks on from a seek position, off the end after the last entry. */
    uint64_t t = 2005;
    st_skiplist_iter_seek(&it, &t);
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 2006);
    st_skiplist_iter_next(&it);
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 2008);
    st_skiplist_iter_next(&it);
    assert_false(st_skiplist_iter_valid(&it));
    st_arena_free(a);
}

static void test_skiplist_seek_for_prev_finds_last_entry_at_or_before_target(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    /* Even numbers 10..2008, inserted in a scrambled order. */
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t v = 10 + 2 * ((i * 7919) % 1000);
        assert_int_equal(st_skiplist_insert(&sl, make_entry(a, v)), 0);
    }
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    /* Exact, absent (odd), before the first and after the last targets. */
    for (uint64_t t = 0; t <= 2012; t++) {
        st_skiplist_iter_seek_for_prev(&it, &t);
        if (t < 10) {
            assert_false(st_skiplist_iter_valid(&it));
            continue;
        }
        assert_true(st_skiplist_iter_valid(&it));
        uint64_t want = t > 2008 ? 2008 : (t % 2 ? t - 1 : t);
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), want);
    }
    uint64_t top = UINT64_MAX;
    st_skiplist_iter_seek_for_prev(&it, &top);
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 2008);

    /* seek_last, then prev down to the first entry and off the front. */
    st_skiplist_iter_seek_last(&it);
    uint64_t want = 2008;
    for (int steps = 0; steps < 1000; steps++, want -= 2) {
        assert_true(st_skiplist_iter_valid(&it));
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), want);
        st_skiplist_iter_prev(&it);
    }
    assert_false(st_skiplist_iter_valid(&it));

    /* next and prev alternate freely (two forward, one back) from 10 to the end. */
    uint64_t t = 10;
    st_skiplist_iter_seek(&it, &t);
    uint64_t at = 10;
    for (int steps = 0; steps < 4000 && st_skiplist_iter_valid(&it); steps++) {
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), at);
        if (steps % 3 == 2) {
            st_skiplist_iter_prev(&it);
            at -= 2;
        } else {
            st_skiplist_iter_next(&it);
            at += 2;
        }
    }
    assert_false(st_skiplist_iter_valid(&it));
    assert_int_equal(at, 2010);
    st_arena_free(a);
}

/* Without a key comparator, seek takes an entry. */
static void test_skiplist_seek_by_entry_without_key_cmp(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    assert_int_equal(st_arena_new(4096, &a), 0);
    assert_int_equal(st_skiplist_init(&sl, a, u64_cmp, NULL), 0);
    for (uint64_t v = 100; v > 0; v -= 10) assert_int_equal(st_skiplist_insert(&sl, make_entry(a, v)), 0);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    st_skiplist_iter_seek(&it, make_entry(a, 45));
    assert_true(st_skiplist_iter_valid(&it));
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 50);
    st_skiplist_iter_seek(&it, make_entry(a, 101));
    assert_false(st_skiplist_iter_valid(&it));
    st_skiplist_iter_seek_for_prev(&it, make_entry(a, 45));
    assert_true(st_skiplist_iter_valid(&it));
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 40);
    st_skiplist_iter_seek_for_prev(&it, make_entry(a, 50));
    assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), 50);
    st_skiplist_iter_seek_for_prev(&it, make_entry(a, 9));
    assert_false(st_skiplist_iter_valid(&it));
    st_arena_free(a);
}

/* Entries reserved behind their node and external ones share one order. */
static void test_skiplist_reserved_and_external_entries_interleave(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    for (uint64_t v = 0; v < 200; v++) {
        uint64_t key = (v * 37) % 200;
        if (v % 2) {
            assert_int_equal(st_skiplist_insert(&sl, make_entry(a, key)), 0);
            continue;
        }
        uint8_t *e = st_skiplist_reserve(&sl, 8);
        assert_non_null(e);
        for (int i = 0; i < 8; i++) e[i] = (uint8_t)(key >> (56 - 8 * i));
        st_skiplist_insert_reserved(&sl);
        assert_true(st_skiplist_contains(&sl, e));
    }
    check_invariants(&sl);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    uint64_t want = 0;
    for (st_skiplist_iter_seek_first(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_next(&it))
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), want++);
    assert_int_equal(want, 200);
    st_arena_free(a);
}

/* ---- one writer, concurrent readers --------------------------------------------------------- */

enum { CONC_KEYS = 20000, CONC_READERS = 2, CONC_MAX_SCANS = 1000000, CONC_DEADLINE_S = 30 };

struct conc {
    st_skiplist sl;
    st_arena *arena;
    atomic_bool writer_done;
    double deadline;
};

struct reader {
    struct conc *c;
    pthread_t thread;
    /* Results: cmocka asserts only on the main thread. */
    const char *failure;
    unsigned long scans;
    size_t last_count;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *reader_main(void *arg) {
    struct reader *r = arg;
    struct conc *c = r->c;
    uint64_t *prev = malloc(CONC_KEYS * sizeof *prev), *cur = malloc(CONC_KEYS * sizeof *cur);
    if (!prev || !cur) {
        r->failure = "out of memory";
        goto out;
    }
    size_t nprev = 0;
    bool last_pass = false;
    while (!last_pass && r->scans < CONC_MAX_SCANS && now_s() < c->deadline) {
        /* One more full scan after the writer finishes sees everything. */
        last_pass = atomic_load(&c->writer_done);
        size_t n = 0;
        st_skiplist_iter it;
        st_skiplist_iter_init(&it, &c->sl);
        for (st_skiplist_iter_seek_first(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_next(&it)) {
            uint64_t v = entry_u64(st_skiplist_iter_entry(&it));
            if (n == CONC_KEYS) {
                r->failure = "more entries than were inserted";
                goto out;
            }
            if (n > 0 && v <= cur[n - 1]) {
                r->failure = "scan not strictly ascending";
                goto out;
            }
            cur[n++] = v;
        }
        /* Nodes are never removed (S1): the previous scan is a subsequence of this one. */
        size_t j = 0;
        for (size_t i = 0; i < nprev; i++) {
            while (j < n && cur[j] < prev[i]) j++;
            if (j == n || cur[j] != prev[i]) {
                r->failure = "a key seen earlier vanished from a scan";
                goto out;
            }
        }
        /* Every few scans, one backward: strictly descending, and a superset of the forward
         * scan just made (nodes never go away). */
        if (r->scans % 8 == 0) {
            size_t back = 0, unmatched = n;
            uint64_t last = UINT64_MAX;
            for (st_skiplist_iter_seek_last(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_prev(&it)) {
                uint64_t v = entry_u64(st_skiplist_iter_entry(&it));
                if (back++ == CONC_KEYS) {
                    r->failure = "more entries than were inserted, backward";
                    goto out;
                }
                if (back > 1 && v >= last) {
                    r->failure = "backward scan not strictly descending";
                    goto out;
                }
                last = v;
                if (unmatched > 0 && cur[unmatched - 1] == v) unmatched--;
            }
            if (unmatched != 0) {
                r->failure = "a key of the forward scan is missing from the backward one";
                goto out;
            }
        }
        /* And point lookups still find a sample of them. */
        for (size_t i = 0; i < nprev; i += 97) {
            st_skiplist_iter_seek(&it, &prev[i]);
            if (!st_skiplist_iter_valid(&it) || entry_u64(st_skiplist_iter_entry(&it)) != prev[i]) {
                r->failure = "a key seen earlier is not found by seek";
                goto out;
            }
        }
        uint64_t *t = prev;
        prev = cur;
        cur = t;
        nprev = n;
        r->scans++;
    }
    r->last_count = nprev;
    if (!last_pass) r->failure = "deadline or scan limit hit before the writer finished";
out:
    free(prev);
    free(cur);
    return NULL;
}

static void test_skiplist_readers_see_sorted_growing_list_during_inserts(void **state) {
    (void)state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("skiplist_concurrent", 99));
    struct conc c;
    new_list(&c.sl, &c.arena);
    atomic_init(&c.writer_done, false);
    c.deadline = now_s() + CONC_DEADLINE_S;

    /* Distinct keys in random order: a random permutation of multiples of 3 (gaps for seeks). */
    uint64_t *keys = malloc(CONC_KEYS * sizeof *keys);
    assert_non_null(keys);
    for (uint64_t i = 0; i < CONC_KEYS; i++) keys[i] = 3 * i;
    for (size_t i = CONC_KEYS - 1; i > 0; i--) {
        size_t j = (size_t)st_rng_below(&rng, i + 1);
        uint64_t t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }
    /* Entries are made before the readers start: the arena has one allocating thread, and the
     * writer's node allocations are it. */
    const uint8_t **entries = malloc(CONC_KEYS * sizeof *entries);
    assert_non_null(entries);
    for (size_t i = 0; i < CONC_KEYS; i++) entries[i] = make_entry(c.arena, keys[i]);

    struct reader readers[CONC_READERS];
    for (int i = 0; i < CONC_READERS; i++) {
        readers[i] = (struct reader){.c = &c};
        assert_int_equal(pthread_create(&readers[i].thread, NULL, reader_main, &readers[i]), 0);
    }
    /* No cmocka assert while the readers run: a failure must not leave them behind. */
    int rc = 0;
    for (size_t i = 0; i < CONC_KEYS && rc == 0; i++) rc = st_skiplist_insert(&c.sl, entries[i]);
    atomic_store(&c.writer_done, true);
    for (int i = 0; i < CONC_READERS; i++) pthread_join(readers[i].thread, NULL);
    for (int i = 0; i < CONC_READERS; i++) {
        if (readers[i].failure) fail_msg("reader %d: %s", i, readers[i].failure);
        assert_int_equal(readers[i].last_count, CONC_KEYS);
        print_message("reader %d: %lu scans\n", i, readers[i].scans);
    }
    assert_int_equal(rc, 0);
    check_invariants(&c.sl);
    free(entries);
    free(keys);
    st_arena_free(c.arena);
}

/* ---- concurrent linkers ------------------------------------------------------------------------ */

enum { CL_THREADS = 4, CL_PER_THREAD = 20000 };

typedef struct cl_arg {
    st_skiplist *sl;
    uint8_t *mem; /* this thread's node memory (the caller-reserved space) */
    size_t mem_bytes;
    uint64_t seed;
    int id;
    const char *failure;
} cl_arg;

/* Thread id's keys are id, id + CL_THREADS, ...: disjoint across threads, inserted in a random
 * order, so neighbours in the list come from different threads and links race. */
static void *cl_linker(void *p) {
    cl_arg *a = p;
    st_rng r;
    st_rng_seed(&r, a->seed);
    uint64_t *order = malloc(CL_PER_THREAD * sizeof *order);
    if (!order) {
        a->failure = "no memory";
        return NULL;
    }
    for (uint64_t i = 0; i < CL_PER_THREAD; i++) order[i] = i;
    for (uint64_t i = CL_PER_THREAD - 1; i > 0; i--) {
        uint64_t j = st_rng_below(&r, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    size_t off = 0;
    for (uint64_t i = 0; i < CL_PER_THREAD; i++) {
        uint64_t v = order[i] * CL_THREADS + (uint64_t)a->id;
        int h = st_skiplist_height_from(st_rng_next(&r));
        size_t need = st_skiplist_node_bytes(h, 8);
        if (off + need > a->mem_bytes) {
            a->failure = "node memory exhausted";
            break;
        }
        uint8_t *e = st_skiplist_node_place(a->mem + off, h);
        off += need;
        for (int b = 0; b < 8; b++) e[b] = (uint8_t)(v >> (56 - 8 * b));
        st_skiplist_link_placed(a->sl, e, h);
    }
    free(order);
    return NULL;
}

/* Several threads link placed nodes at once. Afterwards every level is sorted and nested (the
 * debug build's invariant walk), and the level-0 list holds each key exactly once, in order. */
static void test_skiplist_concurrent_linkers_lose_nothing(void **state) {
    (void)state;
    st_arena *a;
    st_skiplist sl;
    new_list(&sl, &a);
    cl_arg args[CL_THREADS];
    pthread_t t[CL_THREADS];
    uint64_t seed = st_test_seed("skiplist_concurrent_linkers", 1234);
    for (int i = 0; i < CL_THREADS; i++) {
        size_t bytes = (size_t)CL_PER_THREAD * st_skiplist_node_bytes(ST_SKIPLIST_MAX_HEIGHT, 8);
        args[i] = (cl_arg){&sl, aligned_alloc(8, bytes), bytes, seed + (uint64_t)i, i, NULL};
        assert_non_null(args[i].mem);
        assert_int_equal(pthread_create(&t[i], NULL, cl_linker, &args[i]), 0);
    }
    for (int i = 0; i < CL_THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < CL_THREADS; i++)
        if (args[i].failure) fail_msg("linker %d: %s", i, args[i].failure);
    check_invariants(&sl);
    st_skiplist_iter it;
    st_skiplist_iter_init(&it, &sl);
    uint64_t want = 0;
    for (st_skiplist_iter_seek_first(&it); st_skiplist_iter_valid(&it); st_skiplist_iter_next(&it), want++)
        if (entry_u64(st_skiplist_iter_entry(&it)) != want)
            fail_msg("position %llu holds %llu", (unsigned long long)want,
                     (unsigned long long)entry_u64(st_skiplist_iter_entry(&it)));
    assert_int_equal(want, (uint64_t)CL_THREADS * CL_PER_THREAD);
    for (uint64_t k = 0; k < want; k += 997) { /* and seeks find them through the upper levels */
        st_skiplist_iter_seek(&it, &k);
        assert_true(st_skiplist_iter_valid(&it));
        assert_int_equal(entry_u64(st_skiplist_iter_entry(&it)), k);
    }
    for (int i = 0; i < CL_THREADS; i++) free(args[i].mem);
    st_arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skiplist_empty_list_has_nothing),
        cmocka_unit_test(test_skiplist_random_inserts_match_sorted_reference),
        cmocka_unit_test(test_skiplist_seek_finds_first_entry_at_or_after_target),
        cmocka_unit_test(test_skiplist_seek_for_prev_finds_last_entry_at_or_before_target),
        cmocka_unit_test(test_skiplist_seek_by_entry_without_key_cmp),
        cmocka_unit_test(test_skiplist_reserved_and_external_entries_interleave),
        cmocka_unit_test(test_skiplist_readers_see_sorted_growing_list_during_inserts),
        cmocka_unit_test(test_skiplist_concurrent_linkers_lose_nothing),
    };
    return cmocka_run_group_tests_name("skiplist", tests, NULL, NULL);
}
