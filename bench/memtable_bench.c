/* memtable_bench.c -- memtable insert (and point get) throughput: 1M random 16-byte keys with
 * 100-byte values into one memtable, single writer. Keys are generated before timing so only
 * st_memtable_add is measured. Usage: strata-memtable-bench [n_keys] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem/memtable.h"
#include "strata/st_status.h"
#include "util/ikey.h"

enum { KEY_BYTES = 16, VALUE_BYTES = 100, ARENA_BLOCK = 1 << 20 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
    uint8_t *keys = malloc(n * KEY_BYTES);
    uint8_t value[VALUE_BYTES];
    if (!keys || n == 0) return 1;
    uint64_t s = 0x5eed;
    for (size_t i = 0; i < n * KEY_BYTES; i += 8) {
        uint64_t r = rng_next(&s);
        memcpy(keys + i, &r, 8);
    }
    for (int i = 0; i < VALUE_BYTES; i++) value[i] = (uint8_t)rng_next(&s);

    st_memtable *m;
    if (st_memtable_new(ARENA_BLOCK, &m) != 0) return 1;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        int rc = st_memtable_add(m, i + 1, ST_KIND_PUT, st_slice_make(keys + i * KEY_BYTES, KEY_BYTES),
                                 st_slice_make(value, VALUE_BYTES));
        if (rc != 0) {
            fprintf(stderr, "add: %s (%s)\n", st_strerror(rc), st_errmsg());
            return 1;
        }
    }
    double ins = now_s() - t0;

    t0 = now_s();
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(rng_next(&s) % n);
        int kind;
        st_slice v;
        found += st_memtable_get(m, st_slice_make(keys + j * KEY_BYTES, KEY_BYTES), ST_SEQ_MAX, &kind, &v) == 0;
    }
    double get = now_s() - t0;

    printf("memtable insert: %zu keys (%d B) + values (%d B): %.1f ns/insert, %.0f inserts/s\n", n,
           KEY_BYTES, VALUE_BYTES, ins * 1e9 / (double)n, (double)n / ins);
    printf("memtable get:    %zu random hits: %.1f ns/get, %.0f gets/s (%zu found)\n", n,
           get * 1e9 / (double)n, (double)n / get, found);
    printf("memtable bytes:  %zu (%.1f B/entry)\n", st_memtable_bytes(m),
           (double)st_memtable_bytes(m) / (double)n);
    st_memtable_unref(m);
    free(keys);
    return found == n ? 0 : 1;
}
