/* test_arena.c -- the memtable's bump allocator: alignment, large requests, byte accounting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/arena.h"
#include "strata/st_status.h"
#include "testutil.h"

static void test_arena_new_rejects_tiny_blocks(void **state) {
    (void)state;
    st_arena *a = (st_arena *)1;
    assert_int_equal(st_arena_new(ST_ARENA_MIN_BLOCK - 1, &a), ST_EINVAL);
    assert_null(a);
    st_arena_free(NULL);
}

static void test_arena_allocations_are_8_byte_aligned(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(4096, &a), 0);
    for (size_t n = 0; n < 3000; n++) {
        uint8_t *p = st_arena_alloc(a, n % 97);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, 0xab, n % 97);
    }
    st_arena_free(a);
}

static void test_arena_zero_byte_allocations_are_distinct(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(256, &a), 0);
    void *p = st_arena_alloc(a, 0), *q = st_arena_alloc(a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    st_arena_free(a);
}

static void test_arena_large_allocation_that_does_not_fit_gets_own_block(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(4096, &a), 0);
    assert_int_equal(st_arena_bytes(a), 0); /* blocks are allocated lazily */
    uint8_t *first = st_arena_alloc(a, 16);
    size_t after_first = st_arena_bytes(a);
    assert_true(after_first >= 4096);
    /* Large but fits the current block: served from it, no malloc. */
    assert_ptr_equal(st_arena_alloc(a, 2984), first + 16);
    assert_int_equal(st_arena_bytes(a), after_first);

    /* > block/4 and more than the ~1 KiB left: a dedicated block, not a fresh normal one. */
    uint8_t *big = st_arena_alloc(a, 1500);
    assert_non_null(big);
    memset(big, 1, 1500);
    size_t after_big = st_arena_bytes(a);
    assert_true(after_big >= after_first + 1500);
    assert_true(after_big < after_first + 4096);

    /* The current block's tail still serves small requests: no malloc, contiguous. */
    uint8_t *next = st_arena_alloc(a, 16);
    assert_ptr_equal(next, first + 3000);
    assert_int_equal(st_arena_bytes(a), after_big);

    uint8_t *huge = st_arena_alloc(a, 1 << 20);
    assert_non_null(huge);
    memset(huge, 2, 1 << 20);
    assert_true(st_arena_bytes(a) >= after_big + (1 << 20));
    assert_ptr_equal(st_arena_alloc(a, 8), next + 16);
    st_arena_free(a);
}

/* A small request that does not fit starts a new normal block (abandoning the tail). */
static void test_arena_small_allocation_that_does_not_fit_starts_new_block(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(1024, &a), 0);
    assert_non_null(st_arena_alloc(a, 1000));
    size_t one = st_arena_bytes(a);
    assert_non_null(st_arena_alloc(a, 200));
    assert_true(st_arena_bytes(a) >= one + 1024);
    st_arena_free(a);
}

static void test_arena_absurd_size_returns_null_and_arena_stays_usable(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(4096, &a), 0);
    assert_null(st_arena_alloc(a, SIZE_MAX));
    assert_null(st_arena_alloc(a, SIZE_MAX - 3));
    assert_non_null(st_arena_alloc(a, 8));
    st_arena_free(a);
}

static void test_arena_bytes_grow_with_use(void **state) {
    (void)state;
    st_arena *a;
    assert_int_equal(st_arena_new(1024, &a), 0);
    size_t last = st_arena_bytes(a), total = 0;
    for (int i = 0; i < 10000; i++) {
        size_t n = (size_t)(i % 200) + 1;
        assert_non_null(st_arena_alloc(a, n));
        total += n;
        size_t now = st_arena_bytes(a);
        assert_true(now >= last);
        last = now;
    }
    assert_true(last >= total);
    /* Small requests waste at most block/4 per block plus rounding: well under 2x. */
    assert_true(last < 2 * total);
    st_arena_free(a);
}

/* Many small allocations with distinct fill patterns: none overlaps another. */
static void test_arena_many_small_allocations_do_not_overlap(void **state) {
    (void)state;
    enum { N = 100000 };
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("arena_many_small", 42));
    st_arena *a;
    assert_int_equal(st_arena_new(4096, &a), 0);
    uint8_t **ptrs = malloc(N * sizeof *ptrs);
    uint8_t *lens = malloc(N);
    assert_non_null(ptrs);
    assert_non_null(lens);
    for (int i = 0; i < N; i++) {
        lens[i] = (uint8_t)(1 + st_rng_below(&rng, 64));
        ptrs[i] = st_arena_alloc(a, lens[i]);
        assert_non_null(ptrs[i]);
        memset(ptrs[i], (uint8_t)i, lens[i]);
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < lens[i]; j++) assert_int_equal(ptrs[i][j], (uint8_t)i);
    free(ptrs);
    free(lens);
    st_arena_free(a);
}

/* Blocks of 1 MiB or more are whole 2 MiB huge pages, header included: the accounting grows by
 * exactly 2 MiB per block and all of it is usable, so huge-page backing costs no hidden memory. */
static void test_arena_big_blocks_fill_whole_huge_pages(void **state) {
    (void)state;
    st_arena *a = NULL;
    assert_int_equal(st_arena_new((size_t)1 << 20, &a), 0);
    uint8_t *first = st_arena_alloc(a, 8);
    assert_non_null(first);
    assert_int_equal(st_arena_bytes(a), (size_t)2 << 20);
    /* ~2 MiB of 64-byte allocations fit in that one block */
    size_t n = 0;
    while (st_arena_bytes(a) == ((size_t)2 << 20) && n < 40000) {
        uint8_t *p = st_arena_alloc(a, 64);
        assert_non_null(p);
        memset(p, 0xab, 64);
        n++;
    }
    assert_true(n * 64 > ((size_t)2 << 20) - 4096);
    assert_int_equal(st_arena_bytes(a), (size_t)4 << 20);
    st_arena_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_new_rejects_tiny_blocks),
        cmocka_unit_test(test_arena_allocations_are_8_byte_aligned),
        cmocka_unit_test(test_arena_zero_byte_allocations_are_distinct),
        cmocka_unit_test(test_arena_large_allocation_that_does_not_fit_gets_own_block),
        cmocka_unit_test(test_arena_small_allocation_that_does_not_fit_starts_new_block),
        cmocka_unit_test(test_arena_absurd_size_returns_null_and_arena_stays_usable),
        cmocka_unit_test(test_arena_bytes_grow_with_use),
        cmocka_unit_test(test_arena_many_small_allocations_do_not_overlap),
        cmocka_unit_test(test_arena_big_blocks_fill_whole_huge_pages),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
