/* tier_bench.c -- storage tiers through strata/st.h: point reads of a data set that lives in a cold,
 * O_DIRECT tier behind a small cache, and the speed of migrating tables between tier directories.
 *
 * One --db DIR holds everything: DIR/db (the database: WAL, MANIFEST), DIR/hot (levels 0..4,
 * buffered), DIR/cold (levels 5..6, O_DIRECT, zstd, --cold-block-size blocks), DIR/cold2 (made by
 * migrate) and DIR/tier_bench.meta (what load wrote; the other benchmarks read it). Benchmarks:
 *   load        --num keys in random order, then st_db_compact_range over everything, so nearly
 *               all bytes rest in the deepest level, in the cold tier
 *   readrandom  st_db_get of random loaded keys under --memory-limit (cache far smaller than data)
 *   multiget    the same through st_db_multiget, --batch keys per call
 *   migrate     reopen with the deepest level in a new, colder tier DIR/cold2: every table of it is
 *               misplaced and moves (unpaced); time from open until st_db_wait_for_compactions
 *               returns, then --verify random keys read back and checked
 * Keys are 16 lowercase hex digits of a bijective 64-bit mix of the key index (so index order is
 * random key order); a value is --value-size bytes of a splitmix64 stream seeded by the index
 * (incompressible), so every read is checked. Each benchmark ends with one summary line,
 * "name: key=value ...", that bench/tier_bench.sh parses. Latencies are exact percentiles of every
 * operation (a sorted array). The io backend is the process's: STRATA_IO_BACKEND=posix forces
 * pread. Any engine error ends the run: exit 1 with st_strerror() and st_errmsg(); so does a wrong
 * or missing value. Speed is printed, never judged. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_args.h"
#include "strata/st.h"

#define DEFAULT_BENCHMARKS "load,readrandom,multiget,migrate"
#define KEY_BYTES 16
#define MAX_VALUE_BYTES (1u << 20)
#define LOAD_BATCH 1000       /* puts per st_db_write while loading */
#define HOT_LAST_LEVEL 4      /* the load layout: hot = L0..L4, cold = L5..L6 */
#define META_NAME "tier_bench.meta"

typedef struct config {
    const char *dir;          /* --db: the run's directory */
    const char *benchmarks;
    uint64_t num;             /* keys loaded (load; the others take it from the meta file) */
    size_t value_size;        /* ditto */
    size_t cold_block_bytes;  /* block size of L5..L6 (load) */
    uint64_t target_file_bytes; /* target_file_size_base of load and migrate; 0: the default */
    double duration_s;        /* timed length of a read benchmark, unless reads is set */
    double warmup_s;          /* untimed reads before each read benchmark */
    uint64_t reads;           /* gets (readrandom) or keys (multiget) per read benchmark; 0: duration */
    uint64_t batch;           /* keys per st_db_multiget */
    uint64_t memory_limit;    /* memory_limit_bytes of the read benchmarks */
    uint64_t verify;          /* keys read back after migrate */
    uint64_t seed;
} config;

/* What load left behind (DIR/tier_bench.meta). */
typedef struct meta {
    uint64_t num;
    size_t value_size;
    size_t cold_block_bytes;
    int deepest;              /* the deepest non-empty level after load */
} meta;

enum layout {
    LAYOUT_LOAD,     /* hot L0..L4, cold L5..L6 */
    LAYOUT_MIGRATED, /* hot L0..D-2, cold D-1, cold2 D..L6 (D: meta.deepest) */
};

typedef struct rng {
    uint64_t s;
} rng;

typedef struct bench {
    const config *cfg;
    meta m;
    bool have_meta;
    st_db *db;
    rng rng;
    char db_dir[PATH_MAX], hot_dir[PATH_MAX], cold_dir[PATH_MAX], cold2_dir[PATH_MAX], meta_path[PATH_MAX];
    uint8_t *expect;          /* value_size bytes: the expected value of the key being checked */
} bench;

/* Latencies of one benchmark, in ns, every operation. */
typedef struct lat {
    uint64_t *ns;
    size_t n, cap;
} lat;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "tier_bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Ends the run on an engine error. Call right after the failing call: st_errmsg() is per thread
 * and valid only until the next engine call. */
static void check(int rc, const char *what) {
    if (rc == ST_OK) return;
    const char *msg = st_errmsg();
    die("%s: %s%s%s", what, st_strerror(rc), msg[0] ? ": " : "", msg);
}

static double now_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static double mib(uint64_t bytes) { return (double)bytes / 1048576.0; }

/* ---- options --------------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: strata-tier-bench --db DIR [options] [BENCHMARK...]\n"
            "  --db DIR             the run's directory (required): DIR/db, DIR/hot, DIR/cold,\n"
            "                       DIR/cold2 and DIR/" META_NAME " go in it; load needs it new or empty\n"
            "  --benchmarks LIST    comma-separated, run in order (default %s);\n"
            "                       names given as arguments are added to the list instead\n"
            "                         load        write --num keys in random order, compact everything\n"
            "                                     into the deepest level (cold tier, O_DIRECT)\n"
            "                         readrandom  st_db_get of random loaded keys\n"
            "                         multiget    st_db_multiget of --batch random loaded keys\n"
            "                         migrate     move the deepest level's tables to a new, colder\n"
            "                                     tier DIR/cold2 (unpaced), then check --verify keys\n"
            "  --num N              keys to load (default 2000000); later benchmarks use load's\n"
            "  --value-size N       bytes per value, incompressible (default 100)\n"
            "  --cold-block-size N  data block bytes of L5..L6, 4096..1048576 (default 16384; try 65536)\n"
            "  --target-file-size SIZE\n"
            "                       table size compactions cut at (target_file_size_base) in load and\n"
            "                       migrate (default st_options_default's, 64MiB)\n"
            "  --memory-limit SIZE  memory_limit_bytes of readrandom and multiget: memtables, block\n"
            "                       cache, indexes and filters (default 16MiB; min 4MiB)\n"
            "  --duration S         seconds per read benchmark (default 10)\n"
            "  --reads N            instead: gets (readrandom) or keys (multiget) per read benchmark\n"
            "  --warmup S           untimed reads before each read benchmark, seconds (default 1)\n"
            "  --batch K            keys per st_db_multiget (default 32)\n"
            "  --verify N           random keys read back and checked after migrate (default 10000)\n"
            "  --seed S             seed of the read order (default 301)\n"
            "SIZE is bytes or a number with KiB, MiB or GiB. The io backend is io_uring when the kernel\n"
            "allows it; STRATA_IO_BACKEND=posix forces pread/pwrite.\n",
            DEFAULT_BENCHMARKS);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        die("%s: expected a number in [%" PRIu64 ", %" PRIu64 "], got '%s'", opt, min, max, s);
    return (uint64_t)v;
}

static double parse_secs(const char *opt, const char *s, double min) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min) || v > 1e6) die("%s: expected seconds >= %g, got '%s'", opt, min, s);
    return v;
}

/* Bytes, or a number followed by a binary unit: k, m, g, optionally with "iB" or "B" (any case). */
static uint64_t parse_size(const char *opt, const char *s) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-') die("%s: expected a size, got '%s'", opt, s);
    unsigned shift = 0;
    if (*end) {
        char u = (char)(*end | 0x20), *rest = end + 1;
        shift = u == 'k' ? 10 : u == 'm' ? 20 : u == 'g' ? 30 : 0;
        bool suffix_ok = !*rest || !strcasecmp(rest, "ib") || !strcasecmp(rest, "b");
        if (!shift || !suffix_ok) die("%s: '%s': unknown unit (KiB, MiB, GiB)", opt, s);
    }
    if (v > (UINT64_MAX >> shift)) die("%s: '%s' is too large", opt, s);
    return (uint64_t)v << shift;
}

static void add_benchmark(char *list, size_t cap, const char *name) {
    size_t n = strlen(list);
    if (n + strlen(name) + 2 > cap) die("too many benchmarks");
    snprintf(list + n, cap - n, "%s%s", n ? "," : "", name);
}

static void parse_args(int argc, char **argv, config *c) {
    static char positional[256];
    *c = (config){.benchmarks = DEFAULT_BENCHMARKS, .num = 2000000, .value_size = 100,
                  .cold_block_bytes = 16u << 10, .duration_s = 10, .warmup_s = 1, .batch = 32,
                  .memory_limit = 16u << 20, .verify = 10000, .seed = 301};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        if (a[0] != '-') {
            add_benchmark(positional, sizeof positional, a);
            continue;
        }
        char name[64];
        bench_split_option(a, name, sizeof name, &val);
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!val) {
            if (i + 1 >= argc) {
                usage(stderr);
                die("%s needs a value", name);
            }
            val = argv[++i];
        }
        if (!strcmp(name, "--db")) c->dir = val;
        else if (!strcmp(name, "--benchmarks")) c->benchmarks = val;
        else if (!strcmp(name, "--num")) c->num = parse_u64(name, val, 1, UINT64_C(1) << 36);
        else if (!strcmp(name, "--value-size")) c->value_size = parse_u64(name, val, 1, MAX_VALUE_BYTES);
        else if (!strcmp(name, "--cold-block-size")) c->cold_block_bytes = parse_u64(name, val, 4096, 1u << 20);
        else if (!strcmp(name, "--memory-limit")) c->memory_limit = parse_size(name, val);
        else if (!strcmp(name, "--target-file-size")) {
            c->target_file_bytes = parse_size(name, val);
            if (c->target_file_bytes < (64u << 10)) die("--target-file-size: at least 64KiB");
        }
        else if (!strcmp(name, "--duration")) c->duration_s = parse_secs(name, val, 0.001);
        else if (!strcmp(name, "--warmup")) c->warmup_s = parse_secs(name, val, 0);
        else if (!strcmp(name, "--reads")) c->reads = parse_u64(name, val, 1, UINT64_C(1) << 40);
        else if (!strcmp(name, "--batch")) c->batch = parse_u64(name, val, 1, 100000);
        else if (!strcmp(name, "--verify")) c->verify = parse_u64(name, val, 0, UINT64_C(1) << 32);
        else if (!strcmp(name, "--seed")) c->seed = parse_u64(name, val, 0, UINT64_MAX);
        else {
            usage(stderr);
            die("unknown option '%s'", a);
        }
    }
    if (positional[0]) c->benchmarks = positional;
    if (!c->dir) {
        usage(stderr);
        die("--db DIR is required");
    }
    if (c->memory_limit < (4u << 20)) die("--memory-limit: at least 4MiB (the engine's minimum)");
}

/* ---- keys and values ------------------------------------------------------------------------- */

/* splitmix64: any seed (0 included) gives a good stream. */
static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

/* A bijection on 64-bit numbers (every step is invertible): distinct indexes, distinct keys, in
 * an order unrelated to the index. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* Key number i: 16 lowercase hex digits of mix64(i) (no NUL). */
static st_slice make_key(char *buf, uint64_t i) {
    static const char hex[] = "0123456789abcdef";
    uint64_t k = mix64(i);
    for (int j = KEY_BYTES - 1; j >= 0; j--) {
        buf[j] = hex[k & 15];
        k >>= 4;
    }
    return st_slice_make(buf, KEY_BYTES);
}

/* Key number i's value: len bytes of a splitmix64 stream seeded by i. */
static void make_value(uint8_t *buf, size_t len, uint64_t i) {
    rng r = {i ^ UINT64_C(0x7ab1e5eed)};
    for (size_t off = 0; off < len; off += 8) {
        uint64_t w = rng_next(&r);
        size_t n = len - off < 8 ? len - off : 8;
        memcpy(buf + off, &w, n);
    }
}

/* Checks that (rc, v, len) is key i's right answer; counts a miss in *missing, a wrong value in
 * *wrong (the first 10 of each on stderr). Any other error ends the run. */
static void check_value(bench *b, uint64_t i, int rc, const uint8_t *v, size_t len, uint64_t *missing, uint64_t *wrong) {
    if (rc == ST_ENOTFOUND) {
        if (++*missing <= 10) fprintf(stderr, "tier_bench: key #%" PRIu64 " not found\n", i);
        return;
    }
    check(rc, "read");
    make_value(b->expect, b->m.value_size, i);
    if (len != b->m.value_size || memcmp(v, b->expect, len) != 0) {
        if (++*wrong <= 10)
            fprintf(stderr, "tier_bench: key #%" PRIu64 ": wrong value (%zu bytes, %zu expected)\n", i, len,
                    b->m.value_size);
    }
}

/* ---- the directory, the meta file, the layouts ----------------------------------------------- */

static void path_join(char *out, const char *dir, const char *name) {
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) die("path too long: %s/%s", dir, name);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void meta_write(bench *b) {
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", b->meta_path);
    FILE *f = fopen(tmp, "w");
    if (!f) die("%s: %s", tmp, strerror(errno));
    fprintf(f, "num=%" PRIu64 "\nvalue_size=%zu\ncold_block_bytes=%zu\ndeepest_level=%d\n", b->m.num,
            b->m.value_size, b->m.cold_block_bytes, b->m.deepest);
    if (fclose(f) != 0 || rename(tmp, b->meta_path) != 0) die("writing %s: %s", b->meta_path, strerror(errno));
    b->have_meta = true;
}

static void meta_read(bench *b) {
    if (b->have_meta) return;
    FILE *f = fopen(b->meta_path, "r");
    if (!f) die("%s: %s (run the load benchmark on this --db first)", b->meta_path, strerror(errno));
    char line[128];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        static const char *const keys[] = {"num=%llu", "value_size=%llu", "cold_block_bytes=%llu",
                                           "deepest_level=%llu"};
        unsigned long long v;
        for (int k = 0; k < 4; k++) {
            if (sscanf(line, keys[k], &v) != 1) continue;
            seen |= 1 << k;
            if (k == 0) b->m.num = v;
            else if (k == 1) b->m.value_size = (size_t)v;
            else if (k == 2) b->m.cold_block_bytes = (size_t)v;
            else b->m.deepest = v < ST_MAX_LEVELS ? (int)v : -1;
            break;
        }
    }
    fclose(f);
    if (seen != 15 || !b->m.num || !b->m.value_size || b->m.value_size > MAX_VALUE_BYTES || b->m.deepest < 0 ||
        b->m.deepest >= ST_MAX_LEVELS)
        die("%s is incomplete or damaged; load again", b->meta_path);
    b->have_meta = true;
}

static st_tier_options tier(const char *name, const char *dir, int first, int last, bool direct) {
    st_options d;
    st_options_default(&d);
    st_tier_options t = d.tiers[0]; /* st_options_default's watermarks, no capacity */
    t.name = name;
    t.dir = dir;
    t.first_level = first;
    t.last_level = last;
    t.direct_io = direct;
    t.migrate_bytes_per_sec = 0; /* unpaced: migrate measures the copy, not a pacing rate */
    return t;
}

/* The options every open uses: st_options_default, no WAL sync, the cold levels' codec and block
 * size, and the tiers of `layout`. memory_limit 0: st_options_default's sizes. */
static void make_options(const bench *b, enum layout layout, uint64_t memory_limit, st_options *o) {
    st_options_default(o);
    o->sync_mode = ST_SYNC_NO;
    o->memory_limit_bytes = memory_limit;
    if (b->cfg->target_file_bytes) o->target_file_size_base = b->cfg->target_file_bytes;
    for (int l = HOT_LAST_LEVEL + 1; l < ST_MAX_LEVELS; l++) {
        o->levels[l].codec = ST_CODEC_ZSTD;
        o->levels[l].block_bytes = b->m.cold_block_bytes;
    }
    if (layout == LAYOUT_LOAD) {
        o->n_tiers = 2;
        o->tiers[0] = tier("hot", b->hot_dir, 0, HOT_LAST_LEVEL, false);
        o->tiers[1] = tier("cold", b->cold_dir, HOT_LAST_LEVEL + 1, ST_MAX_LEVELS - 1, true);
    } else {
        int d = b->m.deepest;
        o->n_tiers = 3;
        o->tiers[0] = tier("hot", b->hot_dir, 0, d - 2, false);
        o->tiers[1] = tier("cold", b->cold_dir, d - 1, d - 1, true);
        o->tiers[2] = tier("cold2", b->cold2_dir, d, ST_MAX_LEVELS - 1, true);
    }
}

/* The tiers of `layout` in words, into buf (LAYOUT_BUF bytes); returns buf. */
#define LAYOUT_BUF 128
static const char *layout_text(const bench *b, enum layout layout, char *buf) {
    if (layout == LAYOUT_LOAD)
        snprintf(buf, LAYOUT_BUF, "hot L0-L%d buffered, cold L%d-L%d O_DIRECT", HOT_LAST_LEVEL, HOT_LAST_LEVEL + 1,
                 ST_MAX_LEVELS - 1);
    else
        snprintf(buf, LAYOUT_BUF, "hot L0-L%d buffered, cold L%d O_DIRECT, cold2 L%d%s O_DIRECT", b->m.deepest - 2,
                 b->m.deepest - 1, b->m.deepest, b->m.deepest == ST_MAX_LEVELS - 1 ? "" : "-L6");
    return buf;
}

static void db_open(bench *b, enum layout layout, uint64_t memory_limit, bool create) {
    st_options o;
    make_options(b, layout, memory_limit, &o);
    o.create_if_missing = create;
    check(st_db_open(b->db_dir, &o, &b->db), "st_db_open");
}

static void db_close(bench *b) {
    if (!b->db) return;
    int rc = st_db_close(b->db);
    b->db = NULL;
    check(rc, "st_db_close");
}

/* Once migrate has made DIR/cold2, the deepest level's tables live there: every later open must
 * name that tier too (a table in a directory that is no tier is not found). */
static enum layout current_layout(const bench *b) { return exists(b->cold2_dir) ? LAYOUT_MIGRATED : LAYOUT_LOAD; }

/* ---- reporting ------------------------------------------------------------------------------- */

/* The tier holding most table bytes: where the data lives. */
static int data_tier(const st_stats *s) {
    int best = 0;
    for (int i = 1; i < s->tier_ids; i++)
        if (s->tier_bytes[i] > s->tier_bytes[best]) best = i;
    return best;
}

static void print_levels(const st_stats *s) {
    printf("  levels:");
    bool any = false;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        if (!s->level_files[l]) continue;
        printf("%s L%d %" PRIu64 " files %.1f MiB", any ? "," : "", l, s->level_files[l], mib(s->level_bytes[l]));
        any = true;
    }
    printf("%s\n", any ? "" : " no tables");
}

/* Where the bytes are; block reads are since open (s0 NULL) or since s0. */
static void print_tiers(const st_stats *s, const st_stats *s0) {
    for (int i = 0; i < s->tier_ids; i++) {
        uint64_t reads = s->tier_block_reads[i];
        if (s0 && i < s0->tier_ids) reads = reads >= s0->tier_block_reads[i] ? reads - s0->tier_block_reads[i] : 0;
        printf("  tier %-5s (id %d): %4" PRIu64 " tables %9.1f MiB, %4" PRIu64 " open with O_DIRECT, %" PRIu64
               " block reads, %" PRIu64 " migrated in\n",
               s->tier_name[i] ? s->tier_name[i] : "?", i, s->tier_files[i], mib(s->tier_bytes[i]),
               s->tier_direct_files[i], reads, s->tier_migrations_in[i]);
    }
}

/* "hot:123,cold:456,db:0": tier bytes for the summary line. */
static void tier_bytes_text(const st_stats *s, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 1; i <= s->tier_ids; i++) {
        int id = i % s->tier_ids; /* the db directory last */
        int w = snprintf(buf + n, cap - n, "%s%s:%" PRIu64, n ? "," : "", s->tier_name[id], s->tier_bytes[id]);
        if (w < 0 || (size_t)w >= cap - n) return;
        n += (size_t)w;
    }
}

/* Says so when the data's tier has tables but none of them open with O_DIRECT: then reads were
 * served by the page cache and the figures are page-cache figures. */
static bool warn_not_direct(const st_stats *s) {
    int t = data_tier(s);
    if (t == 0 || !s->tier_files[t] || s->tier_direct_files[t]) return false;
    printf("  NOTE: none of the %" PRIu64 " tables of tier %s is open with O_DIRECT (the filesystem refused "
           "it, or no table was opened yet): reads may come from the page cache\n",
           s->tier_files[t], s->tier_name[t]);
    return true;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void lat_add(lat *l, uint64_t ns) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 65536;
        uint64_t *p = realloc(l->ns, cap * sizeof *p);
        if (!p) die("out of memory for %zu latencies", cap);
        l->ns = p;
        l->cap = cap;
    }
    l->ns[l->n++] = ns;
}

/* Nearest rank: the smallest latency with at least p of all at or below it, in microseconds. */
static double lat_pct_us(const lat *l, double p) {
    if (!l->n) return 0;
    size_t rank = (size_t)((double)l->n * p + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > l->n) rank = l->n;
    return (double)l->ns[rank - 1] / 1000.0;
}

static double lat_mean_us(const lat *l) {
    if (!l->n) return 0;
    double sum = 0;
    for (size_t i = 0; i < l->n; i++) sum += (double)l->ns[i];
    return sum / (double)l->n / 1000.0;
}

/* ---- load ------------------------------------------------------------------------------------ */

/* True if path is absent or holds none of the names a run creates. */
static bool holds_no_run(const char *path) {
    if (!exists(path)) return true;
    char probe[PATH_MAX];
    const char *names[] = {"db", "hot", "cold", "cold2", META_NAME};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_join(probe, path, names[i]);
        if (exists(probe)) return false;
    }
    return true;
}

static void do_load(bench *b) {
    const config *c = b->cfg;
    if (!holds_no_run(c->dir))
        die("load: %s already holds a run (db, hot, cold, cold2 or " META_NAME "); give a new or empty --db", c->dir);
    if (mkdir(c->dir, 0755) != 0 && errno != EEXIST) die("mkdir %s: %s", c->dir, strerror(errno));
    if (mkdir(b->db_dir, 0755) != 0) die("mkdir %s: %s", b->db_dir, strerror(errno));
    b->m = (meta){.num = c->num, .value_size = c->value_size, .cold_block_bytes = c->cold_block_bytes, .deepest = -1};
    b->expect = realloc(b->expect, b->m.value_size);
    if (!b->expect) die("out of memory");

    db_open(b, LAYOUT_LOAD, 0, true);
    char lb[LAYOUT_BUF];
    printf("load: %" PRIu64 " keys of %d + %zu bytes (%.1f MiB raw) in random order; tiers %s; L%d-L%d zstd, "
           "%zu-byte blocks\n",
           b->m.num, KEY_BYTES, b->m.value_size, mib(b->m.num * (KEY_BYTES + b->m.value_size)),
           layout_text(b, LAYOUT_LOAD, lb), HOT_LAST_LEVEL + 1, ST_MAX_LEVELS - 1, b->m.cold_block_bytes);
    fflush(stdout);

    st_batch *batch;
    check(st_batch_new(&batch), "st_batch_new");
    uint8_t *value = malloc(b->m.value_size);
    if (!value) die("out of memory");
    char key[KEY_BYTES];
    double t0 = now_secs();
    uint64_t next_report = b->m.num / 10;
    for (uint64_t i = 0; i < b->m.num && !interrupted;) {
        st_batch_clear(batch);
        uint64_t end = b->m.num - i < LOAD_BATCH ? b->m.num : i + LOAD_BATCH;
        for (; i < end; i++) {
            make_value(value, b->m.value_size, i);
            check(st_batch_put(batch, make_key(key, i), st_slice_make(value, b->m.value_size)), "st_batch_put");
        }
        check(st_db_write(b->db, batch, 0, NULL), "st_db_write");
        if (i >= next_report && next_report) {
            fprintf(stderr, "tier_bench: loaded %" PRIu64 " of %" PRIu64 " keys (%.0f s)\n", i, b->m.num,
                    now_secs() - t0);
            next_report += b->m.num / 10;
        }
    }
    st_batch_free(batch);
    free(value);
    if (interrupted) die("interrupted during load");
    double t_write = now_secs();
    fprintf(stderr, "tier_bench: compacting everything into the deepest level\n");
    check(st_db_compact_range(b->db, NULL, NULL), "st_db_compact_range");
    check(st_db_wait_for_compactions(b->db), "st_db_wait_for_compactions");
    double t_done = now_secs();

    st_stats s;
    check(st_db_stats(b->db, &s), "st_db_stats");
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        if (s.level_files[l]) b->m.deepest = l;
    uint64_t total = 0;
    for (int i = 0; i < s.tier_ids; i++) total += s.tier_bytes[i];
    printf("  written in %.1f s (%.0f keys/s), compacted in %.1f s (%" PRIu64 " compactions, %" PRIu64
           " trivial moves); %" PRIu64 " migrations\n",
           t_write - t0, (double)b->m.num / (t_write - t0), t_done - t_write, s.compactions, s.trivial_moves,
           s.migrations);
    print_levels(&s);
    print_tiers(&s, NULL);
    int cold = 2; /* LAYOUT_LOAD: id 1 hot, id 2 cold */
    bool not_direct = s.tier_files[cold] && !s.tier_direct_files[cold];
    if (not_direct)
        printf("  NOTE: no table of tier cold is open with O_DIRECT (the filesystem refused it, or tables are "
               "opened lazily); see the read benchmarks\n");
    char tb[256];
    tier_bytes_text(&s, tb, sizeof tb);
    printf("load: keys=%" PRIu64 " value_size=%zu write_secs=%.2f keys_per_s=%.0f compact_secs=%.2f "
           "deepest_level=%d tier_bytes=%s cold_share=%.4f cold_files=%" PRIu64 " cold_direct_files=%" PRIu64
           " backend=%s\n",
           b->m.num, b->m.value_size, t_write - t0, (double)b->m.num / (t_write - t0), t_done - t_write,
           b->m.deepest, tb, total ? (double)s.tier_bytes[cold] / (double)total : 0.0, s.tier_files[cold],
           s.tier_direct_files[cold], s.io_backend);
    fflush(stdout);
    db_close(b);
    meta_write(b);
}

/* ---- readrandom and multiget ----------------------------------------------------------------- */

typedef struct read_result {
    uint64_t keys, calls;     /* keys looked up; engine calls (gets or multigets) */
    uint64_t missing, wrong;
    double secs;
    lat lat;                  /* per call */
} read_result;

/* One call: a get of one random key, or a multiget of `batch` random keys. Latency of the call
 * into r->lat when timed. */
typedef struct mg_bufs {
    uint64_t *idx;
    char *keybuf;
    st_slice *keys;
    uint8_t **values;
    size_t *lens;
    int *statuses;
} mg_bufs;

static void read_once(bench *b, bool multi, mg_bufs *m, read_result *r, bool timed) {
    if (!multi) {
        char key[KEY_BYTES];
        uint64_t i = rng_below(&b->rng, b->m.num);
        st_slice k = make_key(key, i);
        uint8_t *v = NULL;
        size_t len = 0;
        uint64_t t0 = now_ns();
        int rc = st_db_get(b->db, NULL, k, &v, &len);
        uint64_t t1 = now_ns();
        if (timed) lat_add(&r->lat, t1 - t0);
        check_value(b, i, rc, v, len, &r->missing, &r->wrong);
        free(v);
        r->keys++;
        r->calls++;
        return;
    }
    size_t n = (size_t)b->cfg->batch;
    for (size_t j = 0; j < n; j++) {
        m->idx[j] = rng_below(&b->rng, b->m.num);
        m->keys[j] = make_key(m->keybuf + j * KEY_BYTES, m->idx[j]);
    }
    uint64_t t0 = now_ns();
    int rc = st_db_multiget(b->db, NULL, n, m->keys, m->values, m->lens, m->statuses);
    uint64_t t1 = now_ns();
    check(rc, "st_db_multiget");
    if (timed) lat_add(&r->lat, t1 - t0);
    for (size_t j = 0; j < n; j++) {
        check_value(b, m->idx[j], m->statuses[j], m->values[j], m->lens[j], &r->missing, &r->wrong);
        free(m->values[j]);
    }
    r->keys += n;
    r->calls++;
}

static void do_read(bench *b, bool multi) {
    const config *c = b->cfg;
    const char *name = multi ? "multiget" : "readrandom";
    meta_read(b);
    b->expect = realloc(b->expect, b->m.value_size);
    if (!b->expect) die("out of memory");
    enum layout layout = current_layout(b);
    db_open(b, layout, c->memory_limit, false);
    /* Nothing should be due after load; make sure no background work runs during the timing. */
    check(st_db_wait_for_compactions(b->db), "st_db_wait_for_compactions");

    mg_bufs m = {0};
    if (multi) {
        size_t n = (size_t)c->batch;
        m.idx = calloc(n, sizeof *m.idx);
        m.keybuf = calloc(n, KEY_BYTES);
        m.keys = calloc(n, sizeof *m.keys);
        m.values = calloc(n, sizeof *m.values);
        m.lens = calloc(n, sizeof *m.lens);
        m.statuses = calloc(n, sizeof *m.statuses);
        if (!m.idx || !m.keybuf || !m.keys || !m.values || !m.lens || !m.statuses) die("out of memory");
    }

    read_result warm = {0}, r = {0};
    double tw = now_secs();
    while (!interrupted && now_secs() - tw < c->warmup_s) read_once(b, multi, &m, &warm, false);
    free(warm.lat.ns);

    st_stats s0, s1;
    char lb[LAYOUT_BUF];
    check(st_db_stats(b->db, &s0), "st_db_stats");
    uint64_t end_ns = now_ns() + (uint64_t)(c->duration_s * 1e9);
    double t0 = now_secs();
    while (!interrupted) {
        if (c->reads ? r.keys >= c->reads : now_ns() >= end_ns) break;
        read_once(b, multi, &m, &r, true);
    }
    r.secs = now_secs() - t0;
    check(st_db_stats(b->db, &s1), "st_db_stats");
    qsort(r.lat.ns, r.lat.n, sizeof *r.lat.ns, cmp_u64);

    double keys_s = r.secs > 0 ? (double)r.keys / r.secs : 0;
    double calls_s = r.secs > 0 ? (double)r.calls / r.secs : 0;
    uint64_t block_reads = s1.block_reads >= s0.block_reads ? s1.block_reads - s0.block_reads : 0;
    uint64_t hits = s1.cache_hits - s0.cache_hits, misses = s1.cache_misses - s0.cache_misses;
    int dt = data_tier(&s1);
    printf("%s: %" PRIu64 " keys in %" PRIu64 " calls (%s%" PRIu64 " key%s each), %.2f s after %.1f s warm-up; "
           "backend %s; tiers %s; memory limit %.1f MiB\n",
           name, r.keys, r.calls, multi ? "st_db_multiget, " : "st_db_get, ", multi ? c->batch : 1,
           multi && c->batch > 1 ? "s" : "", r.secs, c->warmup_s, s1.io_backend, layout_text(b, layout, lb),
           mib(s1.memory_limit_bytes));
    printf("  %.0f keys/s, %.0f calls/s; latency per call (us): mean %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f, max %.1f\n",
           keys_s, calls_s, lat_mean_us(&r.lat), lat_pct_us(&r.lat, 0.50), lat_pct_us(&r.lat, 0.99),
           lat_pct_us(&r.lat, 0.999), lat_pct_us(&r.lat, 1.0));
    printf("  block cache %.1f of %.1f MiB used (+ %.1f MiB indexes and filters), %" PRIu64 " hits, %" PRIu64
           " misses (%.1f%% hits); %.2f block reads per key\n",
           mib(s1.cache_usage_bytes), mib(s1.cache_capacity_bytes), mib(s1.table_reader_bytes), hits, misses,
           hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0,
           r.keys ? (double)block_reads / (double)r.keys : 0.0);
    print_levels(&s1);
    print_tiers(&s1, &s0);
    bool not_direct = warn_not_direct(&s1);
    if (s1.compactions != s0.compactions || s1.migrations != s0.migrations || s1.flushes != s0.flushes)
        printf("  NOTE: background work ran during the timing: %" PRIu64 " compactions, %" PRIu64 " migrations, %" PRIu64
               " flushes\n",
               s1.compactions - s0.compactions, s1.migrations - s0.migrations, s1.flushes - s0.flushes);
    if (interrupted) printf("  (interrupted)\n");
    /* The summary line: one per benchmark, parsed by bench/tier_bench.sh. */
    printf("%s: backend=%s batch=%" PRIu64 " keys=%" PRIu64 " calls=%" PRIu64 " secs=%.3f keys_per_s=%.0f "
           "ops_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f mean_us=%.1f missing=%" PRIu64
           " wrong=%" PRIu64 " block_reads_per_key=%.3f cache_hit_pct=%.1f data_tier=%s data_tier_direct_files=%" PRIu64
           "/%" PRIu64 " direct=%s\n",
           name, s1.io_backend, multi ? c->batch : 1, r.keys, r.calls, r.secs, keys_s, calls_s,
           lat_pct_us(&r.lat, 0.50), lat_pct_us(&r.lat, 0.99), lat_pct_us(&r.lat, 0.999), lat_pct_us(&r.lat, 1.0),
           lat_mean_us(&r.lat), r.missing, r.wrong, r.keys ? (double)block_reads / (double)r.keys : 0.0,
           hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0, s1.tier_name[dt],
           s1.tier_direct_files[dt], s1.tier_files[dt], not_direct ? "no" : "yes");
    fflush(stdout);
    free(r.lat.ns);
    free(m.idx);
    free(m.keybuf);
    free(m.keys);
    free(m.values);
    free(m.lens);
    free(m.statuses);
    db_close(b);
    if (r.missing || r.wrong)
        die("%s: %" PRIu64 " keys missing, %" PRIu64 " with a wrong value", name, r.missing, r.wrong);
}

/* ---- migrate --------------------------------------------------------------------------------- */

static void do_migrate(bench *b) {
    const config *c = b->cfg;
    meta_read(b);
    b->expect = realloc(b->expect, b->m.value_size);
    if (!b->expect) die("out of memory");
    if (exists(b->cold2_dir)) die("migrate: %s exists: this run has migrated already", b->cold2_dir);
    if (b->m.deepest != ST_MAX_LEVELS - 1 && b->m.deepest != ST_MAX_LEVELS - 2)
        die("migrate: load left the data in L%d, not in the cold tier's L%d-L%d (too few keys?)", b->m.deepest,
            HOT_LAST_LEVEL + 1, ST_MAX_LEVELS - 1);
    char lb[LAYOUT_BUF], lb2[LAYOUT_BUF];
    printf("migrate: tiers %s -> %s; copies unpaced\n", layout_text(b, LAYOUT_LOAD, lb),
           layout_text(b, LAYOUT_MIGRATED, lb2));
    fflush(stdout);

    double t0 = now_secs();
    db_open(b, LAYOUT_MIGRATED, 0, false);
    double t_open = now_secs();
    check(st_db_wait_for_compactions(b->db), "st_db_wait_for_compactions");
    double t_done = now_secs();
    st_stats s;
    check(st_db_stats(b->db, &s), "st_db_stats");

    double secs = t_done - t0;
    double mb_s = secs > 0 ? mib(s.migration_bytes) / secs : 0;
    /* LAYOUT_MIGRATED: id 2 is the source (cold), id 3 the destination (cold2). */
    int src = 2, dst = 3;
    printf("  %" PRIu64 " tables (%.1f MiB) moved in %.2f s (open %.2f s + until st_db_wait_for_compactions "
           "returned %.2f s): %.1f MiB/s; %" PRIu64 " failed moves; %" PRIu64 " compactions meanwhile\n",
           s.migrations, mib(s.migration_bytes), secs, t_open - t0, t_done - t_open, mb_s, s.migration_failures,
           s.compactions);
    print_levels(&s);
    print_tiers(&s, NULL);
    if (!s.migrations) printf("  NOTE: nothing migrated: the deepest level's tables stayed where they were\n");
    if (s.tier_files[src] && b->m.deepest == ST_MAX_LEVELS - 1 && !s.level_files[ST_MAX_LEVELS - 2])
        printf("  NOTE: %" PRIu64 " tables remain in tier cold although only L%d holds tables: not every "
               "misplaced table moved\n",
               s.tier_files[src], ST_MAX_LEVELS - 1);
    bool dst_direct = !s.tier_files[dst] || s.tier_direct_files[dst];

    /* Read back a sample through the new layout. */
    uint64_t missing = 0, wrong = 0;
    rng vr = {c->seed ^ UINT64_C(0xfeed)};
    char key[KEY_BYTES];
    double tv = now_secs();
    for (uint64_t n = 0; n < c->verify && !interrupted; n++) {
        uint64_t i = rng_below(&vr, b->m.num);
        uint8_t *v = NULL;
        size_t len = 0;
        int rc = st_db_get(b->db, NULL, make_key(key, i), &v, &len);
        check_value(b, i, rc, v, len, &missing, &wrong);
        free(v);
    }
    double verify_secs = now_secs() - tv;
    printf("  verify: %" PRIu64 " random keys read back in %.2f s: %" PRIu64 " missing, %" PRIu64 " wrong\n",
           c->verify, verify_secs, missing, wrong);
    printf("migrate: backend=%s tables=%" PRIu64 " bytes=%" PRIu64 " secs=%.3f open_secs=%.3f mb_per_s=%.1f "
           "failures=%" PRIu64 " compactions=%" PRIu64 " left_in_source=%" PRIu64 " dest_files=%" PRIu64
           " dest_direct_files=%" PRIu64 " verify_keys=%" PRIu64 " verify_missing=%" PRIu64 " verify_wrong=%" PRIu64
           " direct=%s\n",
           s.io_backend, s.migrations, s.migration_bytes, secs, t_open - t0, mb_s, s.migration_failures,
           s.compactions, s.tier_files[src], s.tier_files[dst], s.tier_direct_files[dst], c->verify, missing, wrong,
           dst_direct ? "yes" : "no");
    fflush(stdout);
    db_close(b);
    if (missing || wrong) die("migrate: %" PRIu64 " keys missing, %" PRIu64 " with a wrong value", missing, wrong);
}

/* ---- main ------------------------------------------------------------------------------------ */

enum bench_kind { B_LOAD, B_READRANDOM, B_MULTIGET, B_MIGRATE, B_COUNT };
static const char *const bench_names[B_COUNT] = {"load", "readrandom", "multiget", "migrate"};

/* Splits the list into kinds; dies on an unknown name before anything runs. */
static size_t parse_benchmarks(const char *list, int **out) {
    char *bad = NULL;
    long n = bench_parse_list(list, bench_names, B_COUNT, out, &bad);
    if (n < 0 && bad) die("unknown benchmark '%s' (known: %s)", bad, DEFAULT_BENCHMARKS);
    if (n < 0) die("out of memory");
    if (n == 0) die("no benchmark given");
    return (size_t)n;
}

int main(int argc, char **argv) {
    config cfg;
    parse_args(argc, argv, &cfg);
    int *kinds;
    size_t nkinds = parse_benchmarks(cfg.benchmarks, &kinds);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second ^C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    bench b = {.cfg = &cfg, .rng = {cfg.seed}};
    path_join(b.db_dir, cfg.dir, "db");
    path_join(b.hot_dir, cfg.dir, "hot");
    path_join(b.cold_dir, cfg.dir, "cold");
    path_join(b.cold2_dir, cfg.dir, "cold2");
    path_join(b.meta_path, cfg.dir, META_NAME);

    for (size_t i = 0; i < nkinds && !interrupted; i++) {
        switch (kinds[i]) {
        case B_LOAD: do_load(&b); break;
        case B_READRANDOM: do_read(&b, false); break;
        case B_MULTIGET: do_read(&b, true); break;
        case B_MIGRATE: do_migrate(&b); break;
        case B_COUNT: break;
        }
    }
    db_close(&b);
    free(b.expect);
    free(kinds);
    if (interrupted) {
        fprintf(stderr, "tier_bench: interrupted\n");
        return 130;
    }
    return 0;
}
