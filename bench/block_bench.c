/* block_bench.c -- micro-benchmarks of block seeks and SSTable point lookups.
 *
 * 1. One 4 KiB data block of 16-byte user keys (internal keys: + 8-byte tag) and 100-byte values:
 *    1M random seeks through an embedded block iterator.
 * 2. A 64 MiB table of the same entries: build throughput, then 1M random get() of present keys,
 *    1M of absent keys (answered by the bloom filter) and a full scan, all without a block cache:
 *    every present-key get is a pread (from the page cache here) + checksum + decompress.
 * 3. The same present-key gets through a block cache holding the whole decoded table (warmed by
 *    a scan) and through one holding an eighth of it, starting cold (hit ratios printed).
 * Usage: strata-block-bench [codec: none|lz4|zstd] [dir]   (default lz4, $TMPDIR or /tmp) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/io.h"
#include "strata/st_status.h"
#include "table/block.h"
#include "table/block_builder.h"
#include "table/block_cache.h"
#include "table/sstable_builder.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/ikey.h"

#define OPS 1000000
#define TABLE_BYTES (64ull << 20)
#define VALUE_BYTES 100

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* User key i: "k" and 15 decimal digits (cheap: the block seek figure should not be snprintf's). */
static void user_key(uint8_t out[16], uint64_t i) {
    out[0] = 'k';
    for (int d = 15; d >= 1; d--, i /= 10) out[d] = (uint8_t)('0' + i % 10);
}

static void ikey(uint8_t out[24], uint64_t i) {
    user_key(out, i);
    st_put_fixed64(out + 16, st_ikey_tag(i + 1, ST_KIND_PUT));
}

static void value(uint8_t out[VALUE_BYTES], uint64_t i) {
    for (int j = 0; j < VALUE_BYTES; j++) /* half text, half noise */
        out[j] = j < VALUE_BYTES / 2 ? (uint8_t)('a' + j % 7) : (uint8_t)(i * 31 + (uint64_t)j * 7);
}

static int die(const char *what, int rc) {
    fprintf(stderr, "block_bench: %s: %s (%s)\n", what, st_strerror(rc), st_errmsg());
    return 1;
}

static int bench_block(void) {
    st_block_builder bb;
    st_block_builder_init(&bb, 16);
    uint8_t k[24], v[VALUE_BYTES];
    uint64_t n = 0;
    while (st_block_builder_size_estimate(&bb) < 4096) {
        ikey(k, n);
        value(v, n);
        if (st_block_builder_add(&bb, st_slice_make(k, 24), st_slice_make(v, VALUE_BYTES)))
            return die("block add", ST_ENOMEM);
        n++;
    }
    st_slice c;
    st_block blk;
    int rc;
    if ((rc = st_block_builder_finish(&bb, &c)) || (rc = st_block_init(&blk, c))) return die("block finish", rc);
    st_block_iter it;
    st_block_iter_init(&it, ST_BLOCK_IKEY);
    st_block_iter_set(&it, &blk);
    uint64_t s = 42, found = 0;
    double t0 = now_s();
    for (int op = 0; op < OPS; op++) {
        ikey(k, rng_next(&s) % n);
        st_iter_seek(&it.base, st_slice_make(k, 24));
        found += it.valid && memcmp(it.key.data, k, 24) == 0;
    }
    double dt = now_s() - t0;
    printf("block seek: %zu-byte block, %" PRIu64 " entries: %.1f ns/op (%" PRIu64 " of %d found)\n", c.len, n,
           dt * 1e9 / OPS, found, OPS);
    st_block_iter_destroy(&it);
    st_block_builder_destroy(&bb);
    return found == OPS ? 0 : 1;
}

/* OPS random present-key gets through a cache of capacity_bytes, after a filling scan if warm. */
static int bench_cached_gets(const char *path, uint64_t n, size_t capacity_bytes, bool warm, const char *label) {
    st_block_cache *cache;
    st_sst_reader *r;
    st_file *f;
    int rc;
    if ((rc = st_block_cache_new(capacity_bytes, -1, 0.5, &cache))) return die("cache", rc);
    if ((rc = st_file_open(path, ST_OPEN_READ, &f))) return die(path, st_err_from_errno(rc));
    if ((rc = st_sst_reader_open(f, 2, cache, &r))) return die("open", rc);
    if (warm) {
        st_iter *it;
        if ((rc = st_sst_reader_iter_new(r, &it))) return die("iter", rc);
        for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it)) {}
        rc = st_iter_status(it);
        st_iter_free(it);
        if (rc) return die("scan", rc);
    }
    st_sst_counters c0, c1;
    st_sst_reader_counters(r, &c0);
    st_buf val;
    st_buf_init(&val);
    uint8_t k[16];
    uint64_t s = 11, found = 0;
    int kind;
    double t0 = now_s();
    for (int op = 0; op < OPS; op++) {
        user_key(k, rng_next(&s) % n);
        rc = st_sst_reader_get(r, st_slice_make(k, 16), ST_SEQ_MAX, &kind, &val);
        if (rc && rc != ST_ENOTFOUND) return die("get", rc);
        found += rc == 0;
    }
    double dt = now_s() - t0;
    st_sst_reader_counters(r, &c1);
    st_cache_stats cs;
    st_block_cache_stats(cache, &cs);
    uint64_t hits = c1.cache_hits - c0.cache_hits, misses = c1.cache_misses - c0.cache_misses;
    printf("sst get (present, %s, %.0f MiB cache): %.0f ns/op (hit ratio %.1f%%, %.1f MiB cached)\n", label,
           (double)capacity_bytes / (1 << 20), dt * 1e9 / OPS, 100.0 * (double)hits / (double)(hits + misses),
           (double)cs.usage_bytes / (1 << 20));
    st_buf_destroy(&val);
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    return found == OPS ? 0 : 1;
}

static int bench_table(const char *dir, st_codec codec) {
    char path[4096];
    snprintf(path, sizeof path, "%s/block_bench.sst", dir);
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f);
    if (rc) return die(path, st_err_from_errno(rc));
    st_sst_opts o = {.block_bytes = 4096, .restart_interval = 16, .bloom_bits_per_key = 10, .codec = codec,
                     .zstd_level = 3};
    st_sst_builder *b;
    if ((rc = st_sst_builder_new(f, &o, &b))) return die("builder", rc);
    uint8_t k[24], v[VALUE_BYTES];
    uint64_t n = 0;
    double t0 = now_s();
    while (st_sst_builder_file_size(b) < TABLE_BYTES) {
        ikey(k, n);
        value(v, n);
        if ((rc = st_sst_builder_add(b, st_slice_make(k, 24), st_slice_make(v, VALUE_BYTES)))) return die("add", rc);
        n++;
    }
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    if ((rc = st_sst_builder_finish(b, &meta))) return die("finish", rc);
    double dt = now_s() - t0;
    st_sst_builder_free(b);
    st_file_close(f);
    printf("sst build: %" PRIu64 " entries, %.1f MiB file, %.0f ns/entry, %.0f MiB/s of raw input\n", n,
           (double)meta.file_size / (1 << 20), dt * 1e9 / (double)n, (double)n * (24 + VALUE_BYTES) / dt / (1 << 20));
    st_sst_meta_destroy(&meta);

    st_sst_reader *r;
    if ((rc = st_file_open(path, ST_OPEN_READ, &f))) return die(path, st_err_from_errno(rc));
    if ((rc = st_sst_reader_open(f, 1, NULL, &r))) return die("open", rc);
    st_buf val;
    st_buf_init(&val);
    uint64_t s = 7, found = 0;
    int kind;
    t0 = now_s();
    for (int op = 0; op < OPS; op++) {
        user_key(k, rng_next(&s) % n);
        rc = st_sst_reader_get(r, st_slice_make(k, 16), ST_SEQ_MAX, &kind, &val);
        if (rc && rc != ST_ENOTFOUND) return die("get", rc);
        found += rc == 0;
    }
    dt = now_s() - t0;
    printf("sst get (present): %.0f ns/op (%" PRIu64 " of %d found)\n", dt * 1e9 / OPS, found, OPS);
    uint64_t present = found;
    found = 0;
    t0 = now_s();
    for (int op = 0; op < OPS; op++) {
        user_key(k, n + rng_next(&s) % n);
        rc = st_sst_reader_get(r, st_slice_make(k, 16), ST_SEQ_MAX, &kind, &val);
        if (rc && rc != ST_ENOTFOUND) return die("get", rc);
        found += rc == 0;
    }
    dt = now_s() - t0;
    st_sst_counters c;
    st_sst_reader_counters(r, &c);
    printf("sst get (absent): %.0f ns/op (bloom said absent %" PRIu64 " of %" PRIu64 " checks)\n", dt * 1e9 / OPS,
           c.bloom_useful, c.bloom_checks);
    st_iter *it;
    if ((rc = st_sst_reader_iter_new(r, &it))) return die("iter", rc);
    uint64_t scanned = 0;
    t0 = now_s();
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it)) scanned++;
    dt = now_s() - t0;
    rc = st_iter_status(it);
    st_iter_free(it);
    if (rc) return die("scan", rc);
    printf("sst scan: %.1f ns/entry (%" PRIu64 " entries)\n", dt * 1e9 / (double)scanned, scanned);
    st_buf_destroy(&val);
    st_sst_reader_unref(r);
    /* Sized from the decoded bytes (a compressed file is far smaller): 1.5x holds every block with
     * its overhead, 1/8 holds an eighth of them. */
    size_t decoded = (size_t)n * (24 + VALUE_BYTES);
    rc = bench_cached_gets(path, n, decoded / 2 * 3, true, "warm") ||
         bench_cached_gets(path, n, decoded / 8, false, "cold");
    st_io_unlink(path);
    return present == OPS && scanned == n && found == 0 && !rc ? 0 : 1;
}

int main(int argc, char **argv) {
    st_codec codec = ST_CODEC_LZ4;
    if (argc > 1) {
        if (!strcmp(argv[1], "none")) codec = ST_CODEC_NONE;
        else if (!strcmp(argv[1], "lz4")) codec = ST_CODEC_LZ4;
        else if (!strcmp(argv[1], "zstd")) codec = ST_CODEC_ZSTD;
        else {
            fprintf(stderr, "usage: %s [none|lz4|zstd] [dir]\n", argv[0]);
            return 2;
        }
    }
    const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    int rc = bench_block();
    return bench_table(dir, codec) || rc;
}
