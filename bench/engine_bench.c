/* engine_bench.c -- a db_bench-shaped micro-benchmark of the engine, through strata/st.h only.
 *
 * Runs the benchmarks named by --benchmarks in order on one database directory and prints one
 * line per benchmark in db_bench's shape ("name : X micros/op Y ops/sec Z seconds N operations;
 * M MB/s (F of R found)", so one parser reads both), then what the engine did meanwhile
 * (st_db_stats deltas: flushes, WAL bytes and syncs, compactions, write stalls, files per level).
 * The last line, "totals: key=value ...", sums the engine's write counters (WAL, flush and
 * compaction bytes) over every open of the run.
 * Keys are --key-size bytes: the key number in zero-padded decimal, so numeric order is byte
 * order and fillseq writes in key order. Values are --value-size bytes cut from a buffer of
 * pieces that are half random, half a repeat of that half (db_bench's compression ratio 0.5).
 * fillseq and fillrandom start from an empty database; the others use whatever is there.
 * The st_options fields that db_bench also has (cache, codec, write buffer, block size, bloom
 * bits, the compaction settings) are flags with db_bench's names, so bench/rocksdb_compare.sh can
 * give both programs the same settings. --compression sets one codec for every level, as
 * db_bench's --compression_type does, unless --bottommost-compression names another for the last
 * two levels; with neither, st_options_default()'s per-level codecs stand.
 * Any engine error ends the run: exit 1 with st_strerror() and st_errmsg(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_args.h"
#include "strata/st.h"

#define DEFAULT_BENCHMARKS "fillseq,fillrandom,overwrite,readrandom,seekrandom"
#define KNOWN_BENCHMARKS DEFAULT_BENCHMARKS ",seekrandomrev,flush,waitforcompaction"
#define DEFAULT_SEEK_NEXTS 100 /* keys read after each seek in seekrandom */
#define VALUE_POOL_BYTES (1u << 20)
#define MAX_KEY_BYTES 1024
#define MAX_VALUE_BYTES (64u << 20)

typedef struct config {
    uint64_t num;          /* keys in the key space and writes per fill */
    uint64_t reads;        /* gets / seeks per read benchmark */
    uint64_t seed;
    uint64_t batch;        /* writes per st_db_write; 1 uses st_db_put */
    size_t key_size;
    size_t value_size;
    uint64_t seek_nexts;   /* keys read after each seek in seekrandom */
    st_sync_mode sync;
    const char *sync_name;
    const char *benchmarks;
    const char *db_arg;    /* --db, or NULL for a temp dir */
    bool keep;
    bool use_existing;     /* --use-existing-db: open the db in --db as it is, never create */
    bool codec_set;        /* --compression given */
    bool bottom_codec_set; /* --bottommost-compression given */
    st_codec bottom_codec;
    st_options opts;       /* st_options_default() plus the option flags; sync_mode from --sync */
} config;

/* Run state shared with the error path, so a failure can still clean up. */
static struct {
    char *dir;             /* the database directory */
    bool dir_owned;        /* created by or empty for this run: ours to wipe and remove */
    bool keep;
} run;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static int rmrf(const char *path) { return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void cleanup_dir(void) {
    if (!run.dir) return;
    if (run.dir_owned && !run.keep) {
        if (rmrf(run.dir) != 0) fprintf(stderr, "engine_bench: could not remove %s\n", run.dir);
    } else {
        printf("database kept in %s\n", run.dir);
    }
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "engine_bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cleanup_dir();
    exit(1);
}

/* Ends the run on an engine error. Call right after the failing call: st_errmsg() is per thread
 * and valid only until the next engine call. */
static void check(int rc, const char *what) {
    if (rc == ST_OK) return;
    const char *msg = st_errmsg();
    die("%s: %s%s%s", what, st_strerror(rc), msg[0] ? ": " : "", msg);
}

static const char *codec_name(st_codec c) {
    switch (c) {
    case ST_CODEC_NONE: return "none";
    case ST_CODEC_LZ4: return "lz4";
    case ST_CODEC_ZSTD: return "zstd";
    }
    return "?";
}

/* Writes the codec of each level, runs of equal levels grouped: "L0-L4 lz4, L5-L6 zstd(3)". */
static void format_level_codecs(const st_options *o, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = 0;
    for (int l = 0; l < ST_MAX_LEVELS;) {
        int c = o->levels[l].codec == ST_CODEC_INHERIT ? (int)o->codec : o->levels[l].codec;
        int z = o->levels[l].codec == ST_CODEC_INHERIT ? o->zstd_level : o->levels[l].zstd_level;
        int e = l;
        while (e + 1 < ST_MAX_LEVELS) {
            int c2 = o->levels[e + 1].codec == ST_CODEC_INHERIT ? (int)o->codec : o->levels[e + 1].codec;
            int z2 = o->levels[e + 1].codec == ST_CODEC_INHERIT ? o->zstd_level : o->levels[e + 1].zstd_level;
            if (c2 != c || (c == ST_CODEC_ZSTD && z2 != z)) break;
            e++;
        }
        char zl[16] = "";
        if (c == ST_CODEC_ZSTD) snprintf(zl, sizeof zl, "(%d)", z);
        int w = e == l ? snprintf(buf + n, cap - n, "%sL%d %s%s", n ? ", " : "", l, codec_name((st_codec)c), zl)
                       : snprintf(buf + n, cap - n, "%sL%d-L%d %s%s", n ? ", " : "", l, e,
                                  codec_name((st_codec)c), zl);
        if (w < 0 || (size_t)w >= cap - n) return;
        n += (size_t)w;
        l = e + 1;
    }
}

static void usage(FILE *f) {
    st_options d;
    st_options_default(&d);
    char levels_buf[160];
    format_level_codecs(&d, levels_buf, sizeof levels_buf);
    fprintf(f,
            "usage: strata-engine-bench [options]\n"
            "  --num N            keys in the key space and writes per fill (default 1000000)\n"
            "  --reads N          gets/seeks in readrandom and seekrandom (default: --num)\n"
            "  --benchmarks LIST  comma-separated, run in order (default %s)\n"
            "                       fillseq     write --num keys in key order into an empty db\n"
            "                       fillrandom  write --num random keys into an empty db\n"
            "                       overwrite   write --num random keys into the current db\n"
            "                       readrandom  get --reads random keys, count the found ones\n"
            "                       seekrandom  seek to --reads random keys, read --seek-nexts\n"
            "                                   keys after each\n"
            "                       seekrandomrev  the same backward: seek_for_prev, then prev\n"
            "                       flush       write the memtable to L0 (st_db_flush), untimed\n"
            "                       waitforcompaction\n"
            "                                   wait until no flush or compaction is running or due\n"
            "                                   (st_db_wait_for_compactions), untimed\n"
            "  --db DIR           database directory (default: a fresh mkdtemp dir under /tmp);\n"
            "                     fill benchmarks wipe it, so it must be new or empty unless the\n"
            "                     list has no fill benchmark (then an existing db is used)\n"
            "  --use-existing-db  open the database already in --db as it is (never created or\n"
            "                     wiped); the list may then hold no fill benchmark (db_bench's\n"
            "                     --use_existing_db)\n"
            "  --keep             keep the database directory at exit\n"
            "  --sync MODE        always | everysec | no (default no)\n"
            "  --batch N          writes per st_db_write; 1 = st_db_put (default 1)\n"
            "  --key-size N       bytes per key (default 16)\n"
            "  --value-size N     bytes per value (default 100)\n"
            "  --seek-nexts N     keys read after each seek in seekrandom (default %d)\n"
            "  --seed S           random seed (default 301)\n"
            "engine options (st_options; defaults are st_options_default()'s):\n"
            "  --cache-size BYTES        block cache, 0 = none (block_cache_bytes, default %zu)\n"
            "  --compression CODEC       none | lz4 | zstd on every level (codec; levels[].codec =\n"
            "                            INHERIT); default %s\n"
            "  --bottommost-compression CODEC\n"
            "                            none | lz4 | zstd on the last two levels (L%d, L%d), the\n"
            "                            rest --compression (levels[].codec)\n"
            "  --zstd-level N            zstd level on every level (zstd_level, levels[].zstd_level;\n"
            "                            default %d)\n"
            "  --write-buffer-size BYTES memtable size (write_buffer_bytes, default %zu)\n"
            "  --max-immutable N         full memtables waiting for flush before writers wait\n"
            "                            (max_immutable, default %d)\n"
            "  --block-size BYTES        data block target (block_bytes, default %zu)\n"
            "  --bloom-bits N            bloom filter bits per key, 0 = none (bloom_bits_per_key,\n"
            "                            default %d)\n"
            "compaction options (st_options, db_bench's names with dashes):\n"
            "  --max-background-compactions N          compaction threads (default %d)\n"
            "  --level0-file-num-compaction-trigger N  L0 files that make L0 due (default %d)\n"
            "  --level0-slowdown-writes-trigger N      L0 files that delay writes (default %d)\n"
            "  --level0-stop-writes-trigger N          L0 files that stop writes (default %d)\n"
            "  --max-bytes-for-level-base BYTES        base level target (default %" PRIu64 ")\n"
            "  --max-bytes-for-level-multiplier X      level size ratio (default %g)\n"
            "  --level-compaction-dynamic-level-bytes 0|1\n"
            "                                          level targets from the last level's size\n"
            "                                          (default %d)\n"
            "  --target-file-size-base BYTES           compaction output file size (default %" PRIu64 ")\n"
            "  --max-compaction-bytes BYTES            input bytes of one compaction, 0 = 25 x\n"
            "                                          target file size (default %" PRIu64 ")\n"
            "  --soft-pending-compaction-bytes-limit BYTES\n"
            "                                          compaction debt that delays writes, 0 = off\n"
            "                                          (default %" PRIu64 ")\n"
            "  --hard-pending-compaction-bytes-limit BYTES\n"
            "                                          compaction debt that stops writes, 0 = off\n"
            "                                          (default %" PRIu64 ")\n",
            DEFAULT_BENCHMARKS, DEFAULT_SEEK_NEXTS, d.block_cache_bytes, levels_buf,
            ST_MAX_LEVELS - 2, ST_MAX_LEVELS - 1, d.zstd_level, d.write_buffer_bytes, d.max_immutable,
            d.block_bytes, d.bloom_bits_per_key, d.max_background_compactions,
            d.level0_file_num_compaction_trigger, d.level0_slowdown_writes_trigger, d.level0_stop_writes_trigger,
            d.max_bytes_for_level_base, d.max_bytes_for_level_multiplier,
            (int)d.level_compaction_dynamic_level_bytes, d.target_file_size_base, d.max_compaction_bytes,
            d.soft_pending_compaction_bytes_limit, d.hard_pending_compaction_bytes_limit);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        die("%s: expected a number in [%" PRIu64 ", %" PRIu64 "], got '%s'", opt, min, max, s);
    return (uint64_t)v;
}

static double parse_double(const char *opt, const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) die("%s: expected a number, got '%s'", opt, s);
    return v;
}

static st_codec parse_codec(const char *opt, const char *s) {
    if (!strcmp(s, "none")) return ST_CODEC_NONE;
    if (!strcmp(s, "lz4")) return ST_CODEC_LZ4;
    if (!strcmp(s, "zstd")) return ST_CODEC_ZSTD;
    die("%s: expected none, lz4 or zstd, got '%s'", opt, s);
}

static void parse_args(int argc, char **argv, config *c) {
    *c = (config){.num = 1000000, .reads = 0, .seed = 301, .batch = 1, .key_size = 16,
                  .value_size = 100, .seek_nexts = DEFAULT_SEEK_NEXTS, .sync = ST_SYNC_NO,
                  .sync_name = "no", .benchmarks = DEFAULT_BENCHMARKS};
    st_options_default(&c->opts);
    bool reads_set = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char name[64];
        bench_split_option(a, name, sizeof name, &val);
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(name, "--keep")) {
            c->keep = true;
            continue;
        }
        if (!strcmp(name, "--use-existing-db")) {
            c->use_existing = true;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                usage(stderr);
                die("%s needs a value", name);
            }
            val = argv[++i];
        }
        if (!strcmp(name, "--num")) c->num = parse_u64(name, val, 1, UINT64_C(1) << 40);
        else if (!strcmp(name, "--reads")) {
            c->reads = parse_u64(name, val, 0, UINT64_C(1) << 40);
            reads_set = true;
        } else if (!strcmp(name, "--seed")) c->seed = parse_u64(name, val, 0, UINT64_MAX);
        else if (!strcmp(name, "--batch")) c->batch = parse_u64(name, val, 1, 1000000);
        else if (!strcmp(name, "--key-size")) c->key_size = parse_u64(name, val, 1, MAX_KEY_BYTES);
        else if (!strcmp(name, "--value-size")) c->value_size = parse_u64(name, val, 0, MAX_VALUE_BYTES);
        else if (!strcmp(name, "--seek-nexts")) c->seek_nexts = parse_u64(name, val, 0, 1000000000);
        else if (!strcmp(name, "--cache-size"))
            c->opts.block_cache_bytes = (size_t)parse_u64(name, val, 0, SIZE_MAX);
        else if (!strcmp(name, "--write-buffer-size"))
            c->opts.write_buffer_bytes = (size_t)parse_u64(name, val, 1, SIZE_MAX);
        else if (!strcmp(name, "--max-immutable"))
            c->opts.max_immutable = (int)parse_u64(name, val, 1, 1000);
        else if (!strcmp(name, "--block-size")) c->opts.block_bytes = (size_t)parse_u64(name, val, 1, SIZE_MAX);
        else if (!strcmp(name, "--bloom-bits")) c->opts.bloom_bits_per_key = (int)parse_u64(name, val, 0, 1000);
        else if (!strcmp(name, "--zstd-level")) c->opts.zstd_level = (int)parse_u64(name, val, 1, 22);
        else if (!strcmp(name, "--compression")) {
            c->opts.codec = parse_codec(name, val);
            c->codec_set = true;
        } else if (!strcmp(name, "--bottommost-compression")) {
            c->bottom_codec = parse_codec(name, val);
            c->bottom_codec_set = true;
        } else if (!strcmp(name, "--max-background-compactions"))
            c->opts.max_background_compactions = (int)parse_u64(name, val, 1, 64);
        else if (!strcmp(name, "--level0-file-num-compaction-trigger"))
            c->opts.level0_file_num_compaction_trigger = (int)parse_u64(name, val, 1, 10000);
        else if (!strcmp(name, "--level0-slowdown-writes-trigger"))
            c->opts.level0_slowdown_writes_trigger = (int)parse_u64(name, val, 1, 10000);
        else if (!strcmp(name, "--level0-stop-writes-trigger"))
            c->opts.level0_stop_writes_trigger = (int)parse_u64(name, val, 1, 10000);
        else if (!strcmp(name, "--max-bytes-for-level-base"))
            c->opts.max_bytes_for_level_base = parse_u64(name, val, 1, UINT64_MAX);
        else if (!strcmp(name, "--max-bytes-for-level-multiplier"))
            c->opts.max_bytes_for_level_multiplier = parse_double(name, val);
        else if (!strcmp(name, "--level-compaction-dynamic-level-bytes"))
            c->opts.level_compaction_dynamic_level_bytes = parse_u64(name, val, 0, 1) == 1;
        else if (!strcmp(name, "--target-file-size-base"))
            c->opts.target_file_size_base = parse_u64(name, val, 1, UINT64_MAX);
        else if (!strcmp(name, "--max-compaction-bytes"))
            c->opts.max_compaction_bytes = parse_u64(name, val, 0, UINT64_MAX);
        else if (!strcmp(name, "--soft-pending-compaction-bytes-limit"))
            c->opts.soft_pending_compaction_bytes_limit = parse_u64(name, val, 0, UINT64_MAX);
        else if (!strcmp(name, "--hard-pending-compaction-bytes-limit"))
            c->opts.hard_pending_compaction_bytes_limit = parse_u64(name, val, 0, UINT64_MAX);
        else if (!strcmp(name, "--benchmarks")) c->benchmarks = val;
        else if (!strcmp(name, "--db")) c->db_arg = val;
        else if (!strcmp(name, "--sync")) {
            if (!strcmp(val, "always")) c->sync = ST_SYNC_ALWAYS;
            else if (!strcmp(val, "everysec")) c->sync = ST_SYNC_EVERYSEC;
            else if (!strcmp(val, "no")) c->sync = ST_SYNC_NO;
            else die("--sync: expected always, everysec or no, got '%s'", val);
            c->sync_name = val;
        } else {
            usage(stderr);
            die("unknown option '%s'", a);
        }
    }
    if (!reads_set) c->reads = c->num;
    /* db_bench's --compression_type is one codec for every level: INHERIT everywhere makes codec
     * and zstd_level the whole story. --bottommost-compression then overrides the last two levels,
     * where st_options_default() puts its strong codec. The engine checks the values at open. */
    if (c->codec_set || c->bottom_codec_set)
        for (int l = 0; l < ST_MAX_LEVELS; l++) c->opts.levels[l].codec = ST_CODEC_INHERIT;
    if (c->bottom_codec_set)
        for (int l = ST_MAX_LEVELS - 2; l < ST_MAX_LEVELS; l++) c->opts.levels[l].codec = (int)c->bottom_codec;
    for (int l = 0; l < ST_MAX_LEVELS; l++) c->opts.levels[l].zstd_level = c->opts.zstd_level;
    if (c->use_existing && !c->db_arg) die("--use-existing-db needs --db DIR");
    /* Every key number below num must fit in key_size decimal digits. */
    uint64_t digits = 1;
    for (uint64_t v = c->num - 1; v >= 10; v /= 10) digits++;
    if (digits > c->key_size)
        die("--key-size %zu is too small for --num %" PRIu64 " (needs %" PRIu64 " digits)", c->key_size,
            c->num, digits);
}

/* ---- keys, values, randomness ----------------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64: any seed (0 included) gives a good stream. */
static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

/* Writes key number k as key_size zero-padded decimal digits (no NUL). */
static void make_key(char *buf, size_t key_size, uint64_t k) {
    for (size_t i = key_size; i-- > 0;) {
        buf[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

/* A pool of value bytes: each 100-byte piece is 50 random printable bytes followed by a repeat
 * of them, so lz4/zstd halve it. Values are consecutive windows of the pool. */
typedef struct value_gen {
    char *pool;
    size_t len, pos;
} value_gen;

static void value_gen_init(value_gen *g, size_t value_size, uint64_t seed) {
    rng r = {seed ^ UINT64_C(0x5eed)};
    g->len = value_size > VALUE_POOL_BYTES ? value_size : VALUE_POOL_BYTES;
    g->pos = 0;
    g->pool = malloc(g->len);
    if (!g->pool) die("out of memory for a %zu-byte value pool", g->len);
    for (size_t off = 0; off < g->len; off += 100) {
        size_t piece = g->len - off < 100 ? g->len - off : 100;
        size_t raw = piece / 2 ? piece / 2 : 1;
        for (size_t i = 0; i < raw; i++) g->pool[off + i] = (char)(' ' + rng_below(&r, 95));
        for (size_t i = raw; i < piece; i++) g->pool[off + i] = g->pool[off + i - raw];
    }
}

static st_slice value_gen_next(value_gen *g, size_t n) {
    if (g->pos + n > g->len) g->pos = 0;
    st_slice v = st_slice_make(g->pool + g->pos, n);
    g->pos += n;
    return v;
}

/* ---- the database directory ------------------------------------------------------------------ */

static bool dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    if (!d) die("opendir %s: %s", path, strerror(errno));
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    closedir(d);
    return empty;
}

/* Picks the database directory: a fresh temp dir, or --db (created if absent). Only a directory
 * this run created or found empty is ever wiped or removed. */
static void dir_prepare(const config *c, bool has_fill) {
    run.keep = c->keep;
    if (c->use_existing) {
        if (has_fill) die("--use-existing-db: a fill benchmark would start a new database; drop it from --benchmarks");
        struct stat st;
        if (stat(c->db_arg, &st) != 0 || !S_ISDIR(st.st_mode) || dir_is_empty(c->db_arg))
            die("--use-existing-db: %s holds no database", c->db_arg);
        run.dir = strdup(c->db_arg);
        if (!run.dir) die("out of memory");
        run.keep = true; /* never ours to remove */
        return;
    }
    if (!c->db_arg) {
        const char *base = getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
        if (asprintf(&run.dir, "%s/strata-bench-XXXXXX", base) < 0) die("out of memory");
        if (!mkdtemp(run.dir)) die("mkdtemp %s: %s", run.dir, strerror(errno));
        run.dir_owned = true;
        return;
    }
    run.dir = strdup(c->db_arg);
    if (!run.dir) die("out of memory");
    if (mkdir(run.dir, 0755) == 0) {
        run.dir_owned = true;
        return;
    }
    if (errno != EEXIST) die("mkdir %s: %s", run.dir, strerror(errno));
    run.dir_owned = dir_is_empty(run.dir);
    if (!run.dir_owned) {
        if (has_fill)
            die("--db %s is not empty and a fill benchmark would wipe it; pass a new or empty "
                "directory, or only non-fill benchmarks to use the database in it", run.dir);
        run.keep = true; /* the user's existing database: never removed */
    }
}

/* ---- the benchmarks -------------------------------------------------------------------------- */

typedef struct bench {
    const config *cfg;
    st_db *db;
    rng rng;
    value_gen values;
    st_batch *batch; /* NULL when --batch 1 */
    char key[MAX_KEY_BYTES];
    struct {         /* st_stats counters summed over every open, taken just before each close */
        uint64_t opens, wal_bytes, flush_bytes, flushes, wal_syncs;
        uint64_t compactions, compaction_bytes_read, compaction_bytes_written;
        uint64_t write_stalls, write_stall_micros;
    } totals;
} bench;

typedef struct result {
    uint64_t ops;   /* writes, gets or seeks done */
    uint64_t bytes; /* key + value bytes written or read */
    uint64_t found; /* reads: gets that found their key, seeks that landed on it */
    bool reads;
} result;

static void db_open(bench *b) {
    st_options o = b->cfg->opts;
    o.create_if_missing = !b->cfg->use_existing;
    o.sync_mode = b->cfg->sync;
    check(st_db_open(run.dir, &o, &b->db), "st_db_open");
}

static void db_close(bench *b) {
    if (!b->db) return;
    st_stats s;
    if (st_db_stats(b->db, &s) == ST_OK) { /* a failure here shows again, better, in st_db_close */
        b->totals.opens++;
        b->totals.wal_bytes += s.wal_bytes;
        b->totals.flush_bytes += s.flush_bytes;
        b->totals.flushes += s.flushes;
        b->totals.wal_syncs += s.wal_syncs;
        b->totals.compactions += s.compactions;
        b->totals.compaction_bytes_read += s.compaction_bytes_read;
        b->totals.compaction_bytes_written += s.compaction_bytes_written;
        b->totals.write_stalls += s.write_stalls;
        b->totals.write_stall_micros += s.write_stall_micros;
    }
    int rc = st_db_close(b->db);
    b->db = NULL;
    check(rc, "st_db_close");
}

/* fillseq and fillrandom start from nothing: close, wipe the directory, reopen. */
static void db_fresh(bench *b) {
    db_close(b);
    if (!run.dir_owned) die("refusing to wipe %s", run.dir);
    if (rmrf(run.dir) != 0) die("wiping %s: %s", run.dir, strerror(errno));
    if (mkdir(run.dir, 0755) != 0) die("mkdir %s: %s", run.dir, strerror(errno));
    db_open(b);
}

static st_slice key_for(bench *b, uint64_t k) {
    make_key(b->key, b->cfg->key_size, k);
    return st_slice_make(b->key, b->cfg->key_size);
}

static void do_write(bench *b, bool seq, result *r) {
    const config *c = b->cfg;
    for (uint64_t i = 0; i < c->num && !interrupted;) {
        uint64_t n = c->num - i < c->batch ? c->num - i : c->batch;
        if (!b->batch) {
            st_slice key = key_for(b, seq ? i : rng_below(&b->rng, c->num));
            check(st_db_put(b->db, key, value_gen_next(&b->values, c->value_size)), "st_db_put");
        } else {
            st_batch_clear(b->batch);
            for (uint64_t j = 0; j < n; j++) {
                st_slice key = key_for(b, seq ? i + j : rng_below(&b->rng, c->num));
                check(st_batch_put(b->batch, key, value_gen_next(&b->values, c->value_size)),
                      "st_batch_put");
            }
            check(st_db_write(b->db, b->batch, 0, NULL), "st_db_write");
        }
        i += n;
        r->ops += n;
    }
    r->bytes = r->ops * (c->key_size + c->value_size);
}

static void do_readrandom(bench *b, result *r) {
    const config *c = b->cfg;
    r->reads = true;
    for (uint64_t i = 0; i < c->reads && !interrupted; i++) {
        uint8_t *value = NULL;
        size_t len = 0;
        int rc = st_db_get(b->db, NULL, key_for(b, rng_below(&b->rng, c->num)), &value, &len);
        if (rc == ST_OK) {
            r->found++;
            r->bytes += c->key_size + len;
            free(value);
        } else if (rc != ST_ENOTFOUND) {
            check(rc, "st_db_get");
        }
        r->ops++;
    }
}

/* A fresh iterator per seek, as a range query would make; reverse: seek_for_prev and prev. */
static void do_seekrandom(bench *b, bool reverse, result *r) {
    const config *c = b->cfg;
    r->reads = true;
    for (uint64_t i = 0; i < c->reads && !interrupted; i++) {
        st_slice target = key_for(b, rng_below(&b->rng, c->num));
        st_iter *it;
        check(st_db_iter_new(b->db, NULL, &it), "st_db_iter_new");
        if (reverse) st_iter_seek_for_prev(it, target);
        else st_iter_seek(it, target);
        if (st_iter_valid(it) && st_slice_cmp(st_iter_key(it), target) == 0) r->found++;
        for (uint64_t j = 0; j < c->seek_nexts && st_iter_valid(it); j++) {
            r->bytes += st_iter_key(it).len + st_iter_value(it).len;
            if (reverse) st_iter_prev(it);
            else st_iter_next(it);
        }
        int rc = st_iter_status(it);
        st_iter_free(it);
        check(rc, "db iterator");
        r->ops++;
    }
}

/* ---- reporting ------------------------------------------------------------------------------- */

static double now_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mb(uint64_t bytes) { return (double)bytes / 1048576.0; }

/* db_bench's line: "name : X micros/op Y ops/sec Z seconds N operations; M MB/s (F of R found)". */
static void print_result(const char *name, const result *r, double secs) {
    double micros = r->ops ? secs * 1e6 / (double)r->ops : 0.0;
    double ops_sec = secs > 0 ? (double)r->ops / secs : 0.0;
    printf("%-12s : %11.3f micros/op %.0f ops/sec %.3f seconds %" PRIu64 " operations;", name, micros,
           ops_sec, secs, r->ops);
    if (r->bytes) printf(" %6.1f MB/s", secs > 0 ? mb(r->bytes) / secs : 0.0);
    if (r->reads) printf(" (%" PRIu64 " of %" PRIu64 " found)", r->found, r->ops);
    if (interrupted) printf(" (interrupted)");
    printf("\n");
}

/* b - a, or 0 when b < a: block reads and bloom hits are summed over the tables live now, so a
 * compaction that replaced tables can make them shrink. */
static uint64_t live_delta(uint64_t a, uint64_t b) { return b >= a ? b - a : 0; }

/* What the engine did during one benchmark: counter deltas, current shape of the tree. */
static void print_stats(const st_stats *s0, const st_stats *s1) {
    printf("  engine: %" PRIu64 " puts in %" PRIu64 " batches; wal %.1f MB, %" PRIu64 " syncs, %" PRIu64
           " commits grouped; %" PRIu64 " flushes (%.1f MB)\n",
           s1->puts - s0->puts, s1->batches - s0->batches, mb(s1->wal_bytes - s0->wal_bytes),
           s1->wal_syncs - s0->wal_syncs, s1->commits_grouped - s0->commits_grouped,
           s1->flushes - s0->flushes, mb(s1->flush_bytes - s0->flush_bytes));
    printf("          %" PRIu64 " gets (%" PRIu64 " hits), %" PRIu64 " block reads, bloom saved %" PRIu64
           " (live tables); memtable %.1f MB + %" PRIu64 " immutable\n",
           s1->gets - s0->gets, s1->get_hits - s0->get_hits, live_delta(s0->block_reads, s1->block_reads),
           live_delta(s0->bloom_useful, s1->bloom_useful), mb(s1->memtable_bytes), s1->immutable_count);
    printf("          block cache %.1f of %.1f MB used, %" PRIu64 " hits, %" PRIu64
           " misses; table readers (index, filter) %.1f MB reserved in it\n",
           mb(s1->cache_usage_bytes), mb(s1->cache_capacity_bytes), s1->cache_hits - s0->cache_hits,
           s1->cache_misses - s0->cache_misses, mb(s1->table_reader_bytes));
    printf("  compaction: %" PRIu64 " (%" PRIu64 " trivial moves), read %.1f MB, written %.1f MB, %" PRIu64
           " of %" PRIu64 " entries dropped; %" PRIu64 " running, %.1f MB pending\n",
           s1->compactions - s0->compactions, s1->trivial_moves - s0->trivial_moves,
           mb(s1->compaction_bytes_read - s0->compaction_bytes_read),
           mb(s1->compaction_bytes_written - s0->compaction_bytes_written),
           s1->compaction_entries_dropped - s0->compaction_entries_dropped,
           s1->compaction_entries_in - s0->compaction_entries_in, s1->compactions_running,
           mb(s1->pending_compaction_bytes));
    printf("  stalls: %" PRIu64 " writes (%" PRIu64 " waited for a flush, %" PRIu64 " slowed down, %" PRIu64
           " waited for compaction), %.1f ms in all\n",
           s1->write_stalls - s0->write_stalls, s1->write_stops_memtable - s0->write_stops_memtable,
           s1->write_slowdowns - s0->write_slowdowns, s1->write_stops - s0->write_stops,
           (double)(s1->write_stall_micros - s0->write_stall_micros) / 1000.0);
    printf("  levels:");
    bool any = false;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        if (!s1->level_files[l]) continue;
        printf("%s L%d %" PRIu64 " files %.1f MB", any ? "," : "", l, s1->level_files[l], mb(s1->level_bytes[l]));
        any = true;
    }
    printf("%s; base level L%d\n", any ? "" : " no tables yet", s1->base_level);
}

static void print_header(const config *c) {
    printf("strata-engine-bench\n");
    printf("Keys:       %zu bytes each (zero-padded decimal)\n", c->key_size);
    printf("Values:     %zu bytes each (%zu bytes after compression)\n", c->value_size, c->value_size / 2);
    printf("Entries:    %" PRIu64 "\n", c->num);
    printf("Reads:      %" PRIu64 " (seekrandom: %" PRIu64 " nexts per seek)\n", c->reads, c->seek_nexts);
    printf("RawSize:    %.1f MB (estimated)\n", mb(c->num * (c->key_size + c->value_size)));
    char levels_buf[160];
    format_level_codecs(&c->opts, levels_buf, sizeof levels_buf);
    printf("Compression: %s\n", levels_buf);
    printf("WriteBuffer: %zu bytes, %d immutable\n", c->opts.write_buffer_bytes, c->opts.max_immutable);
    printf("BlockSize:  %zu bytes\n", c->opts.block_bytes);
    printf("BloomBits:  %d per key\n", c->opts.bloom_bits_per_key);
    printf("BlockCache: %zu bytes (open tables' index and filter reserved in it)\n", c->opts.block_cache_bytes);
    const st_options *o = &c->opts;
    printf("Compaction: %d threads; L0 trigger %d, slowdown %d, stop %d; level base %" PRIu64
           " bytes, multiplier %g, dynamic level bytes %d; target file %" PRIu64 " bytes; max compaction %" PRIu64
           " bytes (0: 25 x target); pending limits soft %" PRIu64 ", hard %" PRIu64 " bytes\n",
           o->max_background_compactions, o->level0_file_num_compaction_trigger, o->level0_slowdown_writes_trigger,
           o->level0_stop_writes_trigger, o->max_bytes_for_level_base, o->max_bytes_for_level_multiplier,
           (int)o->level_compaction_dynamic_level_bytes, o->target_file_size_base, o->max_compaction_bytes,
           o->soft_pending_compaction_bytes_limit, o->hard_pending_compaction_bytes_limit);
    printf("Sync:       %s\n", c->sync_name);
    printf("Batch:      %" PRIu64 "%s\n", c->batch, c->batch == 1 ? " (st_db_put)" : " per st_db_write");
    printf("Seed:       %" PRIu64 "\n", c->seed);
    printf("DB:         %s%s%s\n", run.dir, c->use_existing ? " (existing)" : "",
           run.keep ? "" : " (removed at exit)");
    printf("------------------------------------------------\n");
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------------ */

enum bench_kind {
    B_FILLSEQ, B_FILLRANDOM, B_OVERWRITE, B_READRANDOM, B_SEEKRANDOM, B_SEEKRANDOMREV, B_FLUSH, B_WAIT, B_COUNT
};
static const char *const bench_names[B_COUNT] = {"fillseq",    "fillrandom",    "overwrite", "readrandom",
                                                 "seekrandom", "seekrandomrev", "flush",     "waitforcompaction"};

/* Splits --benchmarks into kinds; dies on an unknown name before anything runs. */
static size_t parse_benchmarks(const char *list, int **out) {
    char *bad = NULL;
    long n = bench_parse_list(list, bench_names, B_COUNT, out, &bad);
    if (n < 0 && bad) die("unknown benchmark '%s' (known: %s)", bad, KNOWN_BENCHMARKS);
    if (n < 0) die("out of memory");
    if (n == 0) die("--benchmarks: empty list");
    return (size_t)n;
}

int main(int argc, char **argv) {
    config cfg;
    parse_args(argc, argv, &cfg);

    int *kinds;
    size_t nkinds = parse_benchmarks(cfg.benchmarks, &kinds);
    bool has_fill = false;
    for (size_t i = 0; i < nkinds; i++) has_fill |= kinds[i] == B_FILLSEQ || kinds[i] == B_FILLRANDOM;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second ^C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    dir_prepare(&cfg, has_fill);
    print_header(&cfg);

    bench b = {.cfg = &cfg, .rng = {cfg.seed}};
    value_gen_init(&b.values, cfg.value_size, cfg.seed);
    if (cfg.batch > 1) check(st_batch_new(&b.batch), "st_batch_new");

    for (size_t i = 0; i < nkinds && !interrupted; i++) {
        enum bench_kind k = kinds[i];
        if (k == B_FILLSEQ || k == B_FILLRANDOM) db_fresh(&b);
        else if (!b.db) db_open(&b);

        st_stats s0, s1;
        check(st_db_stats(b.db, &s0), "st_db_stats");
        result r = {0};
        double t0 = now_secs();
        if (k == B_FLUSH || k == B_WAIT) {
            /* Meta steps like db_bench's "flush" and "waitforcompaction": no ops/sec, so no result
             * line to parse; the time they took is printed for the reader. */
            if (k == B_FLUSH) check(st_db_flush(b.db), "st_db_flush");
            else check(st_db_wait_for_compactions(b.db), "st_db_wait_for_compactions");
            check(st_db_stats(b.db, &s1), "st_db_stats");
            printf("%-12s : %s in %.3f seconds\n", bench_names[k],
                   k == B_FLUSH ? "memtable written to L0" : "no flush or compaction running or due",
                   now_secs() - t0);
            print_stats(&s0, &s1);
            fflush(stdout);
            continue;
        }
        switch (k) {
        case B_FILLSEQ: do_write(&b, true, &r); break;
        case B_FILLRANDOM:
        case B_OVERWRITE: do_write(&b, false, &r); break;
        case B_READRANDOM: do_readrandom(&b, &r); break;
        case B_SEEKRANDOM:
        case B_SEEKRANDOMREV: do_seekrandom(&b, k == B_SEEKRANDOMREV, &r); break;
        case B_FLUSH:
        case B_WAIT:
        case B_COUNT: break;
        }
        double secs = now_secs() - t0;
        check(st_db_stats(b.db, &s1), "st_db_stats");
        print_result(bench_names[k], &r, secs);
        print_stats(&s0, &s1);
        fflush(stdout);
    }

    db_close(&b);
    /* One machine-readable line: the engine's own write counters (st_stats, since each open and
     * summed over opens; table bytes written at open by WAL recovery count as flush bytes).
     * write_bytes = wal_bytes + flush_bytes + compaction_bytes_written: everything the engine wrote
     * but its MANIFEST. */
    printf("totals: opens=%" PRIu64 " wal_bytes=%" PRIu64 " flush_bytes=%" PRIu64 " compaction_bytes_written=%" PRIu64
           " write_bytes=%" PRIu64 " compaction_bytes_read=%" PRIu64 " flushes=%" PRIu64 " compactions=%" PRIu64
           " wal_syncs=%" PRIu64 " write_stalls=%" PRIu64 " write_stall_micros=%" PRIu64 "\n",
           b.totals.opens, b.totals.wal_bytes, b.totals.flush_bytes, b.totals.compaction_bytes_written,
           b.totals.wal_bytes + b.totals.flush_bytes + b.totals.compaction_bytes_written,
           b.totals.compaction_bytes_read, b.totals.flushes, b.totals.compactions, b.totals.wal_syncs,
           b.totals.write_stalls, b.totals.write_stall_micros);
    st_batch_free(b.batch);
    free(b.values.pool);
    free(kinds);
    cleanup_dir();
    free(run.dir);
    if (interrupted) {
        fprintf(stderr, "engine_bench: interrupted\n");
        return 130;
    }
    return 0;
}
