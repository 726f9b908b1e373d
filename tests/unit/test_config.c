/* test_config.c -- net/config: defaults, the TOML file, flags over the file, sizes with units,
 * [[tier]] parsing and checks, error messages that name file:line:key (or the flag), the repo's
 * own tiering.toml, CONFIG GET globs and CONFIG SET, engine options, and directory creation.
 * Config files are written into a fresh temporary directory per test. */
#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_rewrite.h"
#include "toml.h"

typedef struct fx {
    char *dir;
    char *path; /* dir/tiering.toml, written by write_conf */
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("config");
    x->path = x->dir ? st_test_path(x->dir, "tiering.toml") : NULL;
    if (!x->path) {
        free(x->dir);
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_test_rmrf(x->dir);
    free(x->path);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void write_conf(const fx *x, const char *text) {
    FILE *f = fopen(x->path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

#define MAX_ARGS 32

/* config_load over a NULL-terminated argument list (argv[0] added). */
static int load_args(config *c, char *err, size_t errlen, const char *const *args) {
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = (char *)"strata-server";
    for (; *args; args++) {
        assert_true(argc < MAX_ARGS);
        argv[argc++] = (char *)*args;
    }
    argv[argc] = NULL;
    return config_load(c, argc, argv, err, errlen);
}
#define LOAD(c, err, ...) load_args((c), (err), sizeof(err), (const char *const[]){__VA_ARGS__, NULL})

/* Loads x->path with `text` and expects success. */
static void load_file_ok(const fx *x, config *c, const char *text) {
    char err[512];
    write_conf(x, text);
    int rc = LOAD(c, err, "--config", x->path);
    if (rc) print_error("config_load: %s\n", err);
    assert_int_equal(rc, CONFIG_OK);
}

/* Loads `text` and expects err == "<path>:<line>: <want>". */
static void file_err(const fx *x, const char *text, int line, const char *want) {
    char err[512], expect[768];
    config c;
    write_conf(x, text);
    assert_int_equal(LOAD(&c, err, "--config", x->path), CONFIG_EINVAL);
    snprintf(expect, sizeof expect, "%s:%d: %s", x->path, line, want);
    assert_string_equal(err, expect);
    config_free(&c);
}

/* CONFIG GET of one exact name. */
typedef struct got {
    int n;
    char names[128][64];
    char value[256];
} got;

static void collect(const char *name, const char *value, void *ud) {
    got *g = ud;
    if (g->n < 128) snprintf(g->names[g->n], sizeof g->names[g->n], "%s", name);
    snprintf(g->value, sizeof g->value, "%s", value);
    g->n++;
}

static const char *get1(const config *c, const char *name, got *g) {
    memset(g, 0, sizeof *g);
    assert_int_equal(config_get(c, name, collect, g), 1);
    return g->value;
}

/* ---- defaults and sources ------------------------------------------------------------------ */

static void test_config_defaults_without_file_or_flags(void **state) {
    (void)state;
    config c;
    char err[256];
    char *argv[] = {(char *)"strata-server", NULL};
    assert_int_equal(config_load(&c, 1, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(c.n_bind, 2);
    assert_string_equal(c.bind[0], "127.0.0.1");
    assert_string_equal(c.bind[1], "::1");
    assert_int_equal(c.port, 6380);
    assert_string_equal(c.dir, "./data");
    assert_int_equal(c.appendfsync, ST_SYNC_EVERYSEC);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(c.workers, config_default_workers(ncpu));
    assert_int_equal(config_default_workers(-1), 1);
    assert_int_equal(config_default_workers(1), 1);
    assert_int_equal(config_default_workers(2), 1);
    assert_int_equal(config_default_workers(4), 3);
    assert_int_equal(config_default_workers(5000), 1024);
    assert_true(c.memory_limit_bytes == (1ull << 30));
    assert_null(c.requirepass);
    assert_int_equal(c.maxclients, 10000);
    assert_int_equal(c.timeout_s, 0);
    assert_true(c.proto_max_bulk_len == 512ull << 20);
    assert_true(c.client_query_buffer_limit == 1ull << 30);
    assert_int_equal(c.databases, 16);
    assert_int_equal(c.hz, 10);
    assert_int_equal(c.loglevel, CONFIG_LOG_NOTICE);
    assert_string_equal(c.logfile, "");
    assert_int_equal(c.slowlog_log_slower_than_us, 10000);
    assert_int_equal(c.slowlog_max_len, 128);
    assert_int_equal(c.write_buffer_bytes, 64u << 20);
    assert_int_equal(c.block_bytes, 4096);
    assert_int_equal(c.bloom_bits_per_key, 10);
    assert_int_equal(c.codec, ST_CODEC_LZ4);
    assert_int_equal(c.zstd_level, 3);
    assert_int_equal(c.max_immutable, 2);
    assert_int_equal(c.n_tiers, 0);
    assert_null(c.config_file);
    assert_null(c.doc);
    config_free(&c);
    config_free(&c); /* leaves it zeroed: a second free is harmless */
    config_free(NULL);
}

static void test_config_file_overrides_defaults(void **state) {
    fx *x = *state;
    config c;
    load_file_ok(x, &c,
                 "# a comment\n"
                 "[server]\n"
                 "bind = \"0.0.0.0\"\n"
                 "port = 7000\n"
                 "dir = \"/var/lib/strata\"\n"
                 "appendfsync = \"always\"\n"
                 "workers = 3\n"
                 "memory_limit = \"2GiB\"\n"
                 "requirepass = \"s3cret\"\n"
                 "maxclients = 50\n"
                 "timeout = 300\n"
                 "proto_max_bulk_len = \"1mb\"\n"
                 "client_query_buffer_limit = 2097152\n"
                 "databases = 4\n"
                 "hz = 100\n"
                 "loglevel = \"warning\"\n"
                 "logfile = \"strata.log\"\n"
                 "slowlog_log_slower_than = -1\n"
                 "slowlog_max_len = 0\n"
                 "[engine]\n"
                 "write_buffer = \"1MiB\"\n"
                 "block_size = 16384\n"
                 "bloom_bits_per_key = 0\n"
                 "codec = \"zstd\"\n"
                 "zstd_level = 19\n"
                 "max_immutable = 4\n");
    assert_int_equal(c.n_bind, 1);
    assert_string_equal(c.bind[0], "0.0.0.0");
    assert_int_equal(c.port, 7000);
    assert_string_equal(c.dir, "/var/lib/strata");
    assert_int_equal(c.dir_line, 5);
    assert_int_equal(c.appendfsync, ST_SYNC_ALWAYS);
    assert_int_equal(c.workers, 3);
    assert_true(c.memory_limit_bytes == 2ull << 30);
    assert_string_equal(c.requirepass, "s3cret");
    assert_int_equal(c.maxclients, 50);
    assert_int_equal(c.timeout_s, 300);
    assert_true(c.proto_max_bulk_len == 1ull << 20);
    assert_true(c.client_query_buffer_limit == 2ull << 20);
    assert_int_equal(c.databases, 4);
    assert_int_equal(c.hz, 100);
    assert_int_equal(c.loglevel, CONFIG_LOG_WARNING);
    assert_string_equal(c.logfile, "strata.log");
    assert_int_equal(c.slowlog_log_slower_than_us, -1);
    assert_int_equal(c.slowlog_max_len, 0);
    assert_int_equal(c.write_buffer_bytes, 1u << 20);
    assert_int_equal(c.block_bytes, 16384);
    assert_int_equal(c.bloom_bits_per_key, 0);
    assert_int_equal(c.codec, ST_CODEC_ZSTD);
    assert_int_equal(c.zstd_level, 19);
    assert_int_equal(c.max_immutable, 4);
    assert_string_equal(c.config_file, x->path);
    assert_non_null(c.doc);
    config_free(&c);
}

static void test_config_flags_override_the_file_wherever_config_appears(void **state) {
    fx *x = *state;
    char err[512];
    config c;
    write_conf(x, "[server]\nport = 7000\ndir = \"from-file\"\nmaxclients = 5\nrequirepass = \"file\"\n"
                  "[engine]\ncodec = \"none\"\n");
    int rc = LOAD(&c, err, "--port", "7001", "--bind", "10.0.0.1", "::", "--dir", "flagdir", "--appendfsync", "no",
                  "--workers", "2", "--memory-limit", "512mb", "--requirepass", "", "--maxclients=100",
                  "--proto-max-bulk-len", "2mb", "--client_query_buffer_limit", "4MiB", "--SLOWLOG-MAX-LEN", "7",
                  "--write-buffer=128KiB", "--codec", "ZSTD", "--config", x->path);
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(c.port, 7001);
    assert_int_equal(c.n_bind, 2);
    assert_string_equal(c.bind[0], "10.0.0.1");
    assert_string_equal(c.bind[1], "::");
    assert_string_equal(c.dir, "flagdir");
    assert_int_equal(c.dir_line, 0); /* the flag won: nothing in the file to point at */
    assert_int_equal(c.appendfsync, ST_SYNC_NO);
    assert_int_equal(c.workers, 2);
    assert_true(c.memory_limit_bytes == 512ull << 20);
    assert_null(c.requirepass); /* "" clears the file's password */
    assert_int_equal(c.maxclients, 100);
    assert_true(c.proto_max_bulk_len == 2ull << 20);
    assert_true(c.client_query_buffer_limit == 4ull << 20);
    assert_int_equal(c.slowlog_max_len, 7);
    assert_int_equal(c.write_buffer_bytes, 128u << 10);
    assert_int_equal(c.codec, ST_CODEC_ZSTD);
    config_free(&c);

    /* redis-server style: the file as the first argument. */
    assert_int_equal(LOAD(&c, err, x->path, "--maxclients", "9"), CONFIG_OK);
    assert_int_equal(c.port, 7000);
    assert_int_equal(c.maxclients, 9);
    assert_string_equal(c.requirepass, "file");
    config_free(&c);
}

static void test_config_sizes_accept_binary_and_redis_units(void **state) {
    (void)state;
    static const struct { const char *s; uint64_t v; } ok[] = {
        {"0", 0},
        {"4096", 4096},
        {"1b", 1},
        {"1k", 1000},
        {"1kb", 1024},
        {"1KiB", 1024},
        {"4KIB", 4096},
        {"64MiB", 64ull << 20},
        {"512mb", 512ull << 20},
        {"1m", 1000000},
        {"1GiB", 1ull << 30},
        {"1gb", 1ull << 30},
        {"1g", 1000000000},
        {"2 MiB", 2ull << 20},
        {"1tb", 1ull << 40},
        {"3t", 3000000000000ull},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1234;
        if (!config_parse_size(ok[i].s, &v)) print_error("refused '%s'\n", ok[i].s);
        assert_true(config_parse_size(ok[i].s, &v));
        assert_true(v == ok[i].v);
    }
    static const char *const bad[] = {
        "", "MiB", "1.5GiB", "-1", "+1", " 1", "1x", "1 ", "1kibs", "1e3", "18446744073709551616", "20000000tb", "0x10",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 1234;
        if (config_parse_size(bad[i], &v)) print_error("accepted '%s'\n", bad[i]);
        assert_false(config_parse_size(bad[i], &v));
        assert_true(v == 1234);
    }
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_config_file_errors_name_file_line_and_key(void **state) {
    fx *x = *state;
    file_err(x, "[server]\nport = 70000\n", 2, "server.port: must be between 1 and 65535 (got 70000)");
    file_err(x, "[server]\n\nport = \"6380\"\n", 3, "server.port: expected an integer, got a string");
    file_err(x, "[server]\nprot = 1\n", 2, "server.prot: unknown key");
    file_err(x, "[server]\ncodec = \"lz4\"\n", 2, "server.codec: unknown key (codec belongs in [engine])");
    file_err(x, "[engine]\nport = 1\n", 2, "engine.port: unknown key (port belongs in [server])");
    file_err(x, "[server]\nproto-max-bulk-len = 1\n", 2,
             "server.proto-max-bulk-len: unknown key (did you mean proto_max_bulk_len?)");
    file_err(x, "[server]\n[storage]\nx = 1\n", 2,
             "storage: unknown table (expected [server], [engine], [redis], [[tier]] or [[tenant]])");
    file_err(x, "port = 6380\n", 1, "port: unknown key at the top level (port belongs in [server])");
    file_err(x, "server = 1\n", 1, "server: expected a table [server], got an integer");
    file_err(x, "[[server]]\n", 1, "server: expected a table [server], got an array of tables");
    file_err(x, "[server]\nappendfsync = \"sometimes\"\n", 2,
             "server.appendfsync: must be one of always, everysec, no (got 'sometimes')");
    file_err(x, "[engine]\ncodec = 4\n", 2, "engine.codec: expected a string, got an integer");
    file_err(x, "[engine]\nwrite_buffer = \"64 megs\"\n", 2,
             "engine.write_buffer: '64 megs' is not a size (bytes, or e.g. 4KiB, 64MiB, 512mb, 1gb)");
    file_err(x, "[engine]\nwrite_buffer = \"1KiB\"\n", 2,
             "engine.write_buffer: must be between 16KiB and 64GiB (got 1KiB)");
    file_err(x, "[engine]\nblock_size = -1\n", 2, "engine.block_size: must not be negative");
    file_err(x, "[engine]\nblock_size = 1.5\n", 2,
             "engine.block_size: expected a size (an integer or a string like \"64MiB\"), got a float");
    file_err(x, "[server]\nproto_max_bulk_len = \"1000\"\n", 2,
             "server.proto_max_bulk_len: must be at least 1MiB (got 1000)");
    file_err(x, "[engine]\nzstd_level = 23\n", 2, "engine.zstd_level: must be between -7 and 22 (got 23)");
    file_err(x, "[server]\nbind = [\"127.0.0.1\", \"localhost\"]\n", 2,
             "server.bind: 'localhost' is not an IPv4 or IPv6 address");
    file_err(x, "[server]\nbind = [\"127.0.0.1\", 1]\n", 2,
             "server.bind: expected an array of strings, got an integer");
    file_err(x, "[server]\nbind = []\n", 2, "server.bind: needs 1 to 16 addresses (got 0)");
    file_err(x, "[server]\ndir = \"\"\n", 2, "server.dir: must not be empty");
    file_err(x, "[server]\nrequirepass = \"a\\u0000b\"\n", 2, "server.requirepass: must not contain a NUL character");
    file_err(x, "[server]\nworkers = 2000\n", 2, "server.workers: must be between 0 and 1024 (got 2000)");
    /* TOML errors come through unchanged. */
    file_err(x, "[server]\nport 6380\n", 2, "expected '=' after key 'port', found '6'");
    file_err(x, "[server]\nport = 1\nport = 2\n", 3, "duplicate key 'port' (first defined on line 2)");
}

static void test_config_flag_errors_name_the_flag(void **state) {
    fx *x = *state;
    char err[512], expect[600];
    config c;
    static const struct { const char *args[4]; const char *want; } cases[] = {
        {{"--port", "abc"}, "--port: 'abc' is not an integer"},
        {{"--port", "0"}, "--port: must be between 1 and 65535 (got 0)"},
        {{"--port"}, "--port: missing value"},
        {{"--nosuch", "1"}, "unknown option '--nosuch'"},
        {{"--max-clients", "1"}, "unknown option '--max-clients'"},
        {{"--port", "1", "stray"}, "unexpected argument 'stray' (options are --name value)"},
        {{"-p", "1"}, "unexpected argument '-p' (options are --name value)"},
        {{"--bind", "--port", "1"}, "--bind: needs 1 to 16 addresses (got 0)"},
        {{"--bind", "127.0.0.1", "nope"}, "--bind: 'nope' is not an IPv4 or IPv6 address"},
        {{"--memory-limit", "lots"}, "--memory-limit: 'lots' is not a size (bytes, or e.g. 4KiB, 64MiB, 512mb, 1gb)"},
        {{"--appendfsync", "maybe"}, "--appendfsync: must be one of always, everysec, no (got 'maybe')"},
        {{"--config"}, "--config: missing file name"},
        {{"--config", "a", "--config", "b"}, "--config: more than one config file given"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *a[5] = {0};
        for (int j = 0; j < 4 && cases[i].args[j]; j++) a[j] = cases[i].args[j];
        assert_int_equal(load_args(&c, err, sizeof err, a), CONFIG_EINVAL);
        assert_string_equal(err, cases[i].want);
        config_free(&c);
    }
    char *missing = st_test_path(x->dir, "missing.toml");
    assert_int_equal(LOAD(&c, err, "--config", missing), CONFIG_EINVAL);
    snprintf(expect, sizeof expect, "cannot read config file '%s': No such file or directory", missing);
    assert_string_equal(err, expect);
    config_free(&c);
    free(missing);
}

/* ---- tiers ------------------------------------------------------------------------------------ */

static void test_config_tiers_parse_validate_and_inherit_engine_settings(void **state) {
    fx *x = *state;
    char err[512];
    config c;
    write_conf(x, "[engine]\n"
                  "block_size = \"8KiB\"\n"
                  "[[tier]]\n"
                  "name = \"ssd\"\n"
                  "dir = \"ssd\"\n"
                  "levels = [0, 3]\n"
                  "capacity = \"100GiB\"\n"
                  "high_watermark = 0.9\n"
                  "low_watermark = 0.5\n"
                  "\n"
                  "[[tier]]\n"
                  "name = \"warm\"\n"
                  "dir = \"/mnt/warm\"\n"
                  "first_level = 4\n"
                  "codec = \"lz4\"\n"
                  "\n"
                  "[[tier]]\n"
                  "name = \"hdd\"\n"
                  "dir = \"hdd\"\n"
                  "levels = [6, 6]\n"
                  "codec = \"zstd\"\n"
                  "zstd_level = 9\n"
                  "block_size = \"64KiB\"\n"
                  "direct_io = true\n"
                  "high_watermark = 1\n"
                  "[[tenant]]\n"
                  "name = \"acme\"\n"
                  "password = \"s3cret\"\n"
                  "max_bytes = \"64MiB\"\n"
                  "max_keys = 1000\n"
                  "[[tenant]]\n"
                  "name = \"beta.team-2\"\n"
                  "password = \"pw\"\n");
    int rc = LOAD(&c, err, "--config", x->path, "--codec", "none", "--dir", "/data/");
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(c.n_tiers, 3);
    const config_tier *ssd = &c.tiers[0], *warm = &c.tiers[1], *hdd = &c.tiers[2];
    assert_string_equal(ssd->name, "ssd");
    assert_int_equal(ssd->line, 3);
    assert_int_equal(ssd->dir_line, 5);
    assert_int_equal(ssd->first_level, 0);
    assert_int_equal(ssd->last_level, 3);
    assert_int_equal(ssd->codec, ST_CODEC_NONE); /* inherited from [engine] after the flag */
    assert_int_equal(ssd->zstd_level, 3);
    assert_int_equal(ssd->block_bytes, 8192);
    assert_true(ssd->capacity_bytes == 100ull << 30);
    assert_true(ssd->high_watermark == 0.9);
    assert_true(ssd->low_watermark == 0.5);
    assert_false(ssd->direct_io);
    assert_int_equal(warm->first_level, 4);
    assert_int_equal(warm->last_level, 5);
    assert_int_equal(warm->codec, ST_CODEC_LZ4);
    assert_true(warm->capacity_bytes == 0);
    assert_true(warm->high_watermark == 0.85);
    assert_true(warm->low_watermark == 0.70);
    assert_int_equal(hdd->first_level, 6);
    assert_int_equal(hdd->last_level, 6);
    assert_int_equal(hdd->codec, ST_CODEC_ZSTD);
    assert_int_equal(hdd->zstd_level, 9);
    assert_int_equal(hdd->block_bytes, 65536);
    assert_true(hdd->direct_io);
    assert_true(hdd->high_watermark == 1.0);

    char *p = config_tier_path(&c, ssd);
    assert_string_equal(p, "/data/ssd");
    free(p);
    p = config_tier_path(&c, warm);
    assert_string_equal(p, "/mnt/warm");
    free(p);

    /* [[tenant]] tables, quotas optional (0 = none) */
    assert_int_equal(c.n_tenants, 2);
    assert_string_equal(c.tenants[0].name, "acme");
    assert_string_equal(c.tenants[0].password, "s3cret");
    assert_true(c.tenants[0].max_bytes == 64ull << 20);
    assert_true(c.tenants[0].max_keys == 1000);
    assert_int_equal(c.tenants[0].line, 26);
    assert_string_equal(c.tenants[1].name, "beta.team-2");
    assert_true(c.tenants[1].max_bytes == 0 && c.tenants[1].max_keys == 0);
    config_free(&c);

    /* One tier taking every level. */
    load_file_ok(x, &c, "[[tier]]\nname = \"only\"\ndir = \"all\"\n");
    assert_int_equal(c.n_tiers, 1);
    assert_int_equal(c.tiers[0].first_level, 0);
    assert_int_equal(c.tiers[0].last_level, CONFIG_MAX_LEVEL);
    config_free(&c);
}

static void test_config_tier_errors_name_line_and_key(void **state) {
    fx *x = *state;
#define TIER(name, dir, extra) "[[tier]]\nname = \"" name "\"\ndir = \"" dir "\"\n" extra
    /* Lines: [[tier]] is line 1 of each block, name 2, dir 3, extra 4... */
    file_err(x, TIER("ssd", "s", "levels = [0, 4]\n") TIER("hdd", "h", "levels = [4, 6]\n"), 4,
             "tier.levels: tier 'ssd': levels 0..4 overlap tier 'hdd' (from level 4)");
    file_err(x, TIER("ssd", "s", "levels = [0, 3]\n") TIER("hdd", "h", "first_level = 5\n"), 4,
             "tier.levels: tier 'ssd': levels 4..4 belong to no tier");
    file_err(x, TIER("ssd", "s", "levels = [0, 5]\n"), 4, "tier.levels: tier 'ssd': levels 6..6 belong to no tier");
    file_err(x, TIER("ssd", "s", "first_level = 1\n"), 4,
             "tier.first_level: tier 'ssd': the first (hottest) tier must start at level 0");
    file_err(x, TIER("hdd", "h", "") TIER("ssd", "s", "first_level = 0\n"), 7,
             "tier.first_level: tier 'ssd': level 0 overlaps tier 'hdd' (line 1); list tiers hottest first");
    file_err(x, TIER("a", "x", "") TIER("b", "y", ""), 4, "tier.name: tier 'b': needs levels = [first, last] or first_level");
    file_err(x, TIER("a", "x", "") TIER("a", "y", "first_level = 3\n"), 4, "tier.name: tier name 'a' is also used on line 1");
    file_err(x, TIER("a", "x", "") TIER("b", "x", "first_level = 3\n"), 6, "tier.dir: tier 'b': dir 'x' is also tier 'a''s");
    file_err(x, "[[tier]]\nname = \"a\"\n", 1, "tier: tier 'a': missing required key 'dir'");
    file_err(x, "[[tier]]\ndir = \"a\"\n", 1, "tier: missing required key 'name'");
    file_err(x, TIER("a b", "x", ""), 2, "tier.name: 'a b' is not a tier name (1 to 32 of A-Z a-z 0-9 _ -)");
    file_err(x, TIER("a", "x", "speed = 1\n"), 4, "tier.speed: unknown key");
    file_err(x, TIER("a", "x", "levels = [0]\n"), 4, "tier.levels: must be [first, last] with 0 <= first <= last <= 6");
    file_err(x, TIER("a", "x", "levels = [0, 7]\n"), 4, "tier.levels: must be [first, last] with 0 <= first <= last <= 6");
    file_err(x, TIER("a", "x", "levels = [0, 6]\nfirst_level = 0\n"), 5,
             "tier.first_level: tier 'a': give levels or first_level, not both");
    file_err(x, TIER("a", "x", "high_watermark = 1.5\n"), 4, "tier.high_watermark: must be in (0, 1] (got 1.5)");
    file_err(x, TIER("a", "x", "high_watermark = \"90%\"\n"), 4,
             "tier.high_watermark: expected a number between 0 and 1, got a string");
    file_err(x, TIER("a", "x", "high_watermark = 0.5\nlow_watermark = 0.6\n"), 5,
             "tier.low_watermark: tier 'a': 0.6 must be below high_watermark 0.5");
    file_err(x, TIER("a", "x", "codec = \"snappy\"\n"), 4, "tier.codec: must be one of none, lz4, zstd (got 'snappy')");
    file_err(x, TIER("a", "x", "direct_io = \"yes\"\n"), 4, "tier.direct_io: expected a boolean, got a string");
    file_err(x, TIER("a", "x", "block_size = \"1MB\"\nblock_size = 2\n"), 5,
             "duplicate key 'block_size' (first defined on line 4)");
    file_err(x, "[tier]\nname = \"a\"\n", 1, "tier: expected [[tier]] tables, got a table");
    file_err(x, "tier = [1]\n", 1, "tier: expected a table, got an integer");
    file_err(x, "[tenant]\n", 1, "tenant: expected [[tenant]] tables, got a table");
#undef TIER
}

/* ---- the repository's tiering.toml ------------------------------------------------------------- */

static char *repo_tiering_toml(void) { return st_test_repo_file("tiering.toml"); }

typedef struct snapshot {
    int n;
    char lines[128][300];
} snapshot;

static void snap(const char *name, const char *value, void *ud) {
    snapshot *s = ud;
    assert_true(s->n < 128);
    snprintf(s->lines[s->n++], sizeof s->lines[0], "%s=%s", name, value);
}

static void test_config_repo_tiering_toml_loads_and_matches_the_defaults(void **state) {
    (void)state;
    char *path = repo_tiering_toml();
    if (!path) print_error("tiering.toml not found: set STRATA_SOURCE_DIR to the source tree\n");
    assert_non_null(path);
    char err[512];
    config file, defaults;
    int rc = LOAD(&file, err, "--config", path);
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(LOAD(&defaults, err, "--port", "6380"), CONFIG_OK);
    /* The file documents the defaults: every [server]/[engine] value it sets is the built-in one.
     * If you change a default, change it in config.c, tiering.toml and docs/CONFIG.md together. */
    snapshot a = {0}, b = {0};
    assert_true(config_get(&file, "*", snap, &a) > 20);
    assert_int_equal(config_get(&defaults, "*", snap, &b), a.n);
    for (int i = 0; i < a.n; i++) assert_string_equal(a.lines[i], b.lines[i]);
    config_free(&file);
    config_free(&defaults);
    free(path);
}

/* tiering.toml declares two tiers under the data directory, and the engine options made from
 * them put levels 0-4 in ssd (lz4, 4 KiB blocks, buffered) and 5-6 in hdd (zstd, 64 KiB, direct). */
static void test_config_repo_tiering_toml_declares_ssd_and_hdd_tiers(void **state) {
    (void)state;
    char *path = repo_tiering_toml();
    assert_non_null(path);
    char err[512];
    config c;
    int rc = LOAD(&c, err, "--config", path, "--dir", "/srv/strata");
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, CONFIG_OK);
    assert_int_equal(c.n_tiers, 2);
    assert_string_equal(c.tiers[0].name, "ssd");
    assert_string_equal(c.tiers[1].name, "hdd");
    assert_string_equal(c.tiers[0].path, "/srv/strata/ssd");
    assert_string_equal(c.tiers[1].path, "/srv/strata/hdd");
    st_options o;
    config_to_engine_options(&c, &o);
    assert_int_equal(o.n_tiers, 2);
    assert_string_equal(o.tiers[0].dir, "/srv/strata/ssd");
    assert_int_equal(o.tiers[0].first_level, 0);
    assert_int_equal(o.tiers[0].last_level, 4);
    assert_false(o.tiers[0].direct_io);
    assert_int_equal(o.tiers[1].first_level, 5);
    assert_int_equal(o.tiers[1].last_level, ST_MAX_LEVELS - 1);
    assert_true(o.tiers[1].direct_io);
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        assert_int_equal(o.levels[l].codec, l < 5 ? ST_CODEC_LZ4 : ST_CODEC_ZSTD);
        assert_int_equal(o.levels[l].block_bytes, l < 5 ? 4096 : 65536);
    }
    assert_int_equal(o.levels[6].zstd_level, 3);
    config_free(&c);
    free(path);
}

/* ---- CONFIG GET / SET --------------------------------------------------------------------------- */

static void test_config_get_matches_glob_patterns(void **state) {
    (void)state;
    config c;
    char err[256];
    got g;
    assert_int_equal(LOAD(&c, err, "--workers", "4"), CONFIG_OK);
    memset(&g, 0, sizeof g);
    int all = config_get(&c, "*", collect, &g);
    /* 33 settings + Redis's knobs Strata stores and ignores (config_compat.c; "save" and
     * "appendonly" among them) */
    assert_int_equal(all, 33 + (int)compat_count());
    assert_string_equal(g.names[0], "bind");
    assert_string_equal(get1(&c, "save", &g), "");
    assert_string_equal(get1(&c, "appendonly", &g), "yes");

    assert_string_equal(get1(&c, "port", &g), "6380");
    assert_string_equal(get1(&c, "PORT", &g), "6380");
    assert_string_equal(g.names[0], "port");
    assert_string_equal(get1(&c, "bind", &g), "127.0.0.1 ::1");
    assert_string_equal(get1(&c, "requirepass", &g), "");
    assert_string_equal(get1(&c, "appendfsync", &g), "everysec");
    assert_string_equal(get1(&c, "codec", &g), "lz4");
    assert_string_equal(get1(&c, "proto-max-bulk-len", &g), "536870912");
    assert_string_equal(get1(&c, "memory-limit", &g), "1073741824");
    assert_string_equal(get1(&c, "workers", &g), "4");
    assert_string_equal(get1(&c, "slowlog-log-slower-than", &g), "10000");
    assert_string_equal(get1(&c, "latency-monitor-threshold", &g), "0");
    assert_string_equal(get1(&c, "loglevel", &g), "notice");
    assert_string_equal(get1(&c, "logfile", &g), "");
    assert_string_equal(get1(&c, "protected-mode", &g), "yes");
    assert_string_equal(get1(&c, "enable-debug-command", &g), "no");
    assert_string_equal(get1(&c, "wal-recovery", &g), "strict");
    assert_string_equal(get1(&c, "client-output-buffer-limit", &g),
                        "normal 0 0 0 replica 268435456 67108864 60 pubsub 33554432 8388608 60");

    memset(&g, 0, sizeof g);
    assert_int_equal(config_get(&c, "slowlog-*", collect, &g), 2);
    assert_string_equal(g.names[0], "slowlog-log-slower-than");
    assert_string_equal(g.names[1], "slowlog-max-len");
    memset(&g, 0, sizeof g);
    /* maxclients, proto-max-bulk-len, slowlog-max-len, max-immutable, max-open-files, and the
     * Redis knobs with "max" in their names */
    int knobs_max = 0, knobs_hp = 0, knobs_sz = 0;
    for (size_t i = 0; i < compat_count(); i++) {
        const char *n = compat_name((int)i);
        knobs_max += strstr(n, "max") != NULL;
        knobs_hp += n[0] == 'h' || n[0] == 'p';
        knobs_sz += n[0] >= 's' && n[0] <= 'z';
    }
    assert_true(knobs_max >= 10);
    assert_int_equal(config_get(&c, "*max*", collect, &g), 5 + knobs_max);
    memset(&g, 0, sizeof g);
    /* port, protected-mode, proto-max-bulk-len, hz, and the knobs hash-max-..., hll-... */
    assert_int_equal(config_get(&c, "[hp]?*", collect, &g), 4 + knobs_hp);
    memset(&g, 0, sizeof g);
    /* workers, timeout, slowlog-log-slower-than, slowlog-max-len, write-buffer, wal-recovery,
     * zstd-level, and the knobs from s to z (save among them) */
    assert_true(knobs_sz >= 1);
    assert_int_equal(config_get(&c, "[^a-r]*", collect, &g), 7 + knobs_sz);
    memset(&g, 0, sizeof g);
    assert_int_equal(config_get(&c, "d?r", collect, &g), 1);
    assert_string_equal(get1(&c, "max\\-immutable", &g), "2");
    memset(&g, 0, sizeof g);
    assert_int_equal(config_get(&c, "nosuch*", collect, &g), 0);
    assert_int_equal(config_get(&c, "", collect, &g), 0);
    /* Many stars cannot blow up. */
    assert_int_equal(config_get(&c, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", collect, &g), 0);
    config_free(&c);
}

static void test_config_set_round_trips_runtime_parameters(void **state) {
    (void)state;
    config c;
    char err[256];
    got g;
    assert_int_equal(config_init(&c), CONFIG_OK);
    static const struct { const char *name, *value, *shown; } cases[] = {
        {"maxclients", "100", "100"},
        {"timeout", "30", "30"},
        {"proto-max-bulk-len", "2mb", "2097152"},
        {"client_query_buffer_limit", "1GiB", "1073741824"},
        {"hz", "500", "500"},
        {"LogLevel", "WARNING", "warning"},
        {"slowlog-log-slower-than", "-1", "-1"},
        {"slowlog-max-len", "0", "0"},
        {"latency_monitor_threshold", "25", "25"},
        {"requirepass", "pw", "pw"},
        {"protected-mode", "no", "no"},
        /* Redis's syntax: only the classes named change; sizes in bytes when shown */
        {"client-output-buffer-limit", "normal 1mb 256kb 5",
         "normal 1048576 262144 5 replica 268435456 67108864 60 pubsub 33554432 8388608 60"},
        {"client-output-buffer-limit", "pubsub 0 0 0 slave 1gb 0 0",
         "normal 1048576 262144 5 replica 1073741824 0 0 pubsub 0 0 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_true(config_is_runtime(cases[i].name));
        int rc = config_set(&c, cases[i].name, cases[i].value, err, sizeof err);
        if (rc) print_error("CONFIG SET %s %s: %s\n", cases[i].name, cases[i].value, err);
        assert_int_equal(rc, CONFIG_OK);
        assert_string_equal(get1(&c, cases[i].name, &g), cases[i].shown);
    }
    assert_int_equal(c.maxclients, 100);
    assert_int_equal(c.latency_monitor_threshold_ms, 25);
    assert_int_equal(config_set(&c, "latency-monitor-threshold", "-1", err, sizeof err), CONFIG_EINVAL);
    assert_int_equal(c.latency_monitor_threshold_ms, 25);
    assert_int_equal(c.loglevel, CONFIG_LOG_WARNING);
    assert_string_equal(c.requirepass, "pw");
    assert_int_equal(c.protected_mode, 0);
    assert_true(c.obl[CONFIG_CLIENT_NORMAL].hard == 1048576 && c.obl[CONFIG_CLIENT_NORMAL].soft == 262144 &&
                c.obl[CONFIG_CLIENT_NORMAL].soft_seconds == 5);
    assert_true(c.obl[CONFIG_CLIENT_PUBSUB].hard == 0);
    /* bad limits leave the setting as it was */
    static const char *const bad[] = {"normal 1mb 1mb", "bogus 1 1 1", "normal x 1 1", "normal 1 1 -1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(config_set(&c, "client-output-buffer-limit", bad[i], err, sizeof err), CONFIG_EINVAL);
        assert_true(c.obl[CONFIG_CLIENT_NORMAL].hard == 1048576);
    }
    assert_int_equal(config_set(&c, "protected-mode", "maybe", err, sizeof err), CONFIG_EINVAL);
    assert_int_equal(config_set(&c, "requirepass", "", err, sizeof err), CONFIG_OK);
    assert_null(c.requirepass);
    assert_string_equal(get1(&c, "requirepass", &g), "");
    config_free(&c);
}

static void test_config_set_refuses_immutable_unknown_and_invalid_values(void **state) {
    (void)state;
    config c;
    char err[256];
    got g;
    assert_int_equal(config_init(&c), CONFIG_OK);
    static const char *const immutable[] = {"port", "bind", "dir", "appendfsync", "workers", "databases",
                                            "logfile", "memory-limit", "write-buffer", "codec", "max-immutable"};
    for (size_t i = 0; i < sizeof immutable / sizeof immutable[0]; i++) {
        assert_true(config_is_param(immutable[i]));
        assert_false(config_is_runtime(immutable[i]));
        assert_int_equal(config_set(&c, immutable[i], "1", err, sizeof err), CONFIG_EIMMUTABLE);
        assert_string_equal(err, "can't set immutable config");
    }
    assert_int_equal(c.port, 6380);

    assert_false(config_is_param("nosuch"));
    assert_int_equal(config_set(&c, "nosuch", "1", err, sizeof err), CONFIG_EUNKNOWN);
    assert_string_equal(err, "Unknown option or number of args for CONFIG SET - 'nosuch'");

    assert_int_equal(config_set(&c, "hz", "0", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "must be between 1 and 500 (got 0)");
    assert_int_equal(config_set(&c, "maxclients", "lots", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "'lots' is not an integer");
    assert_int_equal(config_set(&c, "maxclients", "", err, sizeof err), CONFIG_EINVAL);
    assert_int_equal(config_set(&c, "maxclients", "10 ", err, sizeof err), CONFIG_EINVAL);
    assert_int_equal(config_set(&c, "timeout", "99999999999", err, sizeof err), CONFIG_EINVAL);
    assert_int_equal(config_set(&c, "loglevel", "loud", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "must be one of debug, verbose, notice, warning, nothing (got 'loud')");
    assert_int_equal(config_set(&c, "proto-max-bulk-len", "1k", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "must be at least 1MiB (got 1000)");
    /* Failures change nothing. */
    assert_string_equal(get1(&c, "hz", &g), "10");
    assert_string_equal(get1(&c, "maxclients", &g), "10000");
    assert_string_equal(get1(&c, "timeout", &g), "0");
    assert_string_equal(get1(&c, "loglevel", &g), "notice");
    assert_string_equal(get1(&c, "proto-max-bulk-len", &g), "536870912");
    config_free(&c);
}

/* ---- engine options, directories, help ------------------------------------------------------------ */

static void test_config_fills_engine_options_over_engine_defaults(void **state) {
    (void)state;
    config c;
    char err[256];
    assert_int_equal(LOAD(&c, err, "--appendfsync", "always", "--write-buffer", "1mb", "--block-size", "16KiB",
                          "--bloom-bits-per-key", "12", "--codec", "zstd", "--zstd-level", "-3", "--max-immutable", "5",
                          "--level0-file-num-compaction-trigger", "3", "--level0-slowdown-writes-trigger", "7",
                          "--level0-stop-writes-trigger", "9", "--delayed-write-rate", "1MiB", "--max-open-files", "50"),
                     CONFIG_OK);
    st_options o, d;
    st_options_default(&d);
    memset(&o, 0xab, sizeof o);
    config_to_engine_options(&c, &o);
    assert_int_equal(o.magic, ST_OPTIONS_MAGIC);
    assert_int_equal(o.sync_mode, ST_SYNC_ALWAYS);
    assert_int_equal(o.write_buffer_bytes, 1u << 20);
    assert_int_equal(o.block_bytes, 16384);
    assert_int_equal(o.bloom_bits_per_key, 12);
    assert_int_equal(o.codec, ST_CODEC_ZSTD);
    assert_int_equal(o.zstd_level, -3);
    assert_int_equal(o.max_immutable, 5);
    assert_int_equal(o.level0_file_num_compaction_trigger, 3);
    assert_int_equal(o.level0_slowdown_writes_trigger, 7);
    assert_int_equal(o.level0_stop_writes_trigger, 9);
    assert_true(o.delayed_write_rate == (1u << 20));
    assert_int_equal(o.max_open_files, 50);
    assert_int_equal(o.create_if_missing, d.create_if_missing);
    assert_int_equal(o.restart_interval, d.restart_interval);
    assert_int_equal(o.max_batch_bytes, d.max_batch_bytes);
    /* with a memory_limit (1 GiB by default) the engine splits it: the limit is passed on and
     * the block cache size left to it */
    assert_true(o.memory_limit_bytes == (1ull << 30));
    assert_int_equal(o.block_cache_bytes, 0);
    config_free(&c);

    /* The defaults agree with the engine's own, except the memory limit (and so the cache). */
    assert_int_equal(config_init(&c), CONFIG_OK);
    config_to_engine_options(&c, &o);
    assert_true(o.memory_limit_bytes == (1ull << 30));
    d.block_cache_bytes = o.block_cache_bytes;
    d.memory_limit_bytes = o.memory_limit_bytes;
    assert_memory_equal(&o, &d, sizeof o);
    /* without a limit, a fixed 256 MiB cache */
    c.memory_limit_bytes = 0;
    config_to_engine_options(&c, &o);
    assert_true(o.memory_limit_bytes == 0);
    assert_int_equal(config_block_cache_bytes(&c), 256u << 20);
    config_free(&c);
}

static void test_config_make_dirs_creates_tiers_and_names_failures(void **state) {
    fx *x = *state;
    char err[1024], expect[1024];
    config c;
    char *data = st_test_path(x->dir, "a/b/data");
    char *cold = st_test_path(x->dir, "cold");
    char text[1024];
    snprintf(text, sizeof text,
             "[server]\ndir = \"%s\"\n"
             "[[tier]]\nname = \"ssd\"\ndir = \"ssd\"\nlevels = [0, 4]\n"
             "[[tier]]\nname = \"hdd\"\ndir = \"%s\"\nfirst_level = 5\n",
             data, cold);
    load_file_ok(x, &c, text);
    assert_int_equal(config_make_dirs(&c, err, sizeof err), CONFIG_OK);
    struct stat st;
    char *ssd = st_test_path(data, "ssd");
    assert_int_equal(stat(data, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(stat(ssd, &st), 0);
    assert_int_equal(stat(cold, &st), 0);
    assert_int_equal(config_make_dirs(&c, err, sizeof err), CONFIG_OK); /* idempotent */
    config_free(&c);

    /* A regular file where a directory must go. */
    char *blocker = st_test_path(x->dir, "blocker");
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(text, sizeof text, "[server]\n\ndir = \"%s/sub\"\n", blocker);
    load_file_ok(x, &c, text);
    assert_int_equal(config_make_dirs(&c, err, sizeof err), CONFIG_EINVAL);
    snprintf(expect, sizeof expect, "%s:3: server.dir: '%s/sub': cannot create '%s/sub': Not a directory", x->path,
             blocker, blocker);
    assert_string_equal(err, expect);
    config_free(&c);

    snprintf(text, sizeof text, "[server]\ndir = \"%s\"\n[[tier]]\nname = \"t\"\ndir = \"%s\"\n", data, blocker);
    load_file_ok(x, &c, text);
    assert_int_equal(config_make_dirs(&c, err, sizeof err), CONFIG_EINVAL);
    snprintf(expect, sizeof expect, "%s:5: tier.dir: '%s' is not a directory", x->path, blocker);
    assert_string_equal(err, expect);
    config_free(&c);

    /* From a flag: no file to point at. */
    snprintf(text, sizeof text, "%s/x", blocker);
    assert_int_equal(LOAD(&c, err, "--dir", text), CONFIG_OK);
    assert_int_equal(config_make_dirs(&c, err, sizeof err), CONFIG_EINVAL);
    snprintf(expect, sizeof expect, "dir: '%s/x': cannot create '%s/x': Not a directory", blocker, blocker);
    assert_string_equal(err, expect);
    config_free(&c);
    free(blocker);
    free(ssd);
    free(data);
    free(cold);
}

/* Bad [[tenant]] tables stop the load with the line and key. */
static void test_config_tenant_errors_name_line_and_key(void **state) {
    fx *x = *state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"[[tenant]]\npassword = \"p\"\n", ":1: tenant: missing required key 'name'"},
        {"[[tenant]]\nname = \"a\"\n", ":1: tenant: tenant 'a': missing required key 'password'"},
        {"[[tenant]]\nname = \"default\"\npassword = \"p\"\n", ":2: tenant.name: 'default' is not a tenant name"},
        {"[[tenant]]\nname = \"a b\"\npassword = \"p\"\n", ":2: tenant.name: 'a b' is not a tenant name"},
        {"[[tenant]]\nname = \"a\"\npassword = \"\"\n", ":3: tenant.password:"},
        {"[[tenant]]\nname = \"a\"\npassword = \"p\"\nmax_keys = -1\n", ":4: tenant.max_keys:"},
        {"[[tenant]]\nname = \"a\"\npassword = \"p\"\nmax_bytes = \"lots\"\n", ":4: tenant.max_bytes:"},
        {"[[tenant]]\nname = \"a\"\npassword = \"p\"\ncolor = 1\n", ":4: tenant.color: unknown key"},
        {"[[tenant]]\nname = \"a\"\npassword = \"p\"\n[[tenant]]\nname = \"a\"\npassword = \"q\"\n",
         ":4: tenant.name: tenant 'a' is declared twice (first at line 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config c;
        char err[512] = "";
        write_conf(x, cases[i].body);
        int rc = LOAD(&c, err, "--config", x->path);
        if (rc != CONFIG_EINVAL || !strstr(err, cases[i].want))
            print_error("case %zu: rc %d, err \"%s\", want \"%s\"\n", i, rc, err, cases[i].want);
        assert_int_equal(rc, CONFIG_EINVAL);
        assert_non_null(strstr(err, cases[i].want));
        config_free(&c);
    }
}

static void test_config_help_lists_every_flag(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    config_print_help(f);
    fclose(f);
    static const char *const want[] = {"--config FILE", "--bind ADDR...", "--port N", "--appendfsync always|everysec|no",
                                       "--memory-limit SIZE", "--requirepass VALUE", "--maxclients N",
                                       "--codec none|lz4|zstd", "--max-immutable N", "CONFIG SET"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(buf, want[i])) print_error("missing '%s' in:\n%s", want[i], buf);
        assert_non_null(strstr(buf, want[i]));
    }
    free(buf);
}


/* ---- [redis]: Redis's knobs, accepted and stored (config_compat.c) ---------------------------- */

static void test_config_redis_knobs_validate_normalise_and_load_from_the_file(void **state) {
    fx *x = *state;
    config c;
    char err[256];
    got g;
    load_file_ok(x, &c,
                 "[redis]\nhash-max-listpack-entries = 300\nactiverehashing = false\nmaxmemory_policy = \"ALLKEYS-LFU\"\n"
                 "save = \"900 1\"\n");
    assert_string_equal(get1(&c, "hash-max-listpack-entries", &g), "300");
    assert_string_equal(get1(&c, "activerehashing", &g), "no");
    assert_string_equal(get1(&c, "maxmemory-policy", &g), "allkeys-lfu");
    assert_string_equal(get1(&c, "save", &g), "900 1");
    assert_string_equal(get1(&c, "appendonly", &g), "yes"); /* untouched: the default */
    /* CONFIG SET: Redis's checks and texts; a refused value changes nothing */
    assert_int_equal(config_set(&c, "hash-max-listpack-entries", "12x", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "argument couldn't be parsed into an integer");
    assert_int_equal(config_set(&c, "maxmemory-samples", "0", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "argument must be between 1 and 2147483647 inclusive");
    assert_int_equal(config_set(&c, "activedefrag", "on", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "argument must be 'yes' or 'no'");
    assert_int_equal(config_set(&c, "save", "10", err, sizeof err), CONFIG_EINVAL);
    assert_string_equal(err, "Invalid save parameters");
    assert_int_equal(config_set(&c, "auto-aof-rewrite-min-size", "2gb", err, sizeof err), CONFIG_OK);
    assert_string_equal(get1(&c, "auto-aof-rewrite-min-size", &g), "2147483648");
    assert_int_equal(config_set(&c, "HASH_MAX_LISTPACK_ENTRIES", "7", err, sizeof err), CONFIG_OK);
    assert_string_equal(get1(&c, "hash-max-listpack-entries", &g), "7");
    assert_string_equal(get1(&c, "hash-max-listpack-entries", &g), compat_get(&c.compat, compat_find("hash-max-listpack-entries")));
    config_free(&c);
    /* as flags, as redis-server takes them */
    assert_int_equal(LOAD(&c, err, "--hash-max-listpack-entries", "300", "--save=60 1"), CONFIG_OK);
    assert_string_equal(get1(&c, "hash-max-listpack-entries", &g), "300");
    assert_string_equal(get1(&c, "save", &g), "60 1");
    config_free(&c);
    assert_int_equal(LOAD(&c, err, "--activerehashing", "sometimes"), CONFIG_EINVAL);
    assert_string_equal(err, "--activerehashing: argument must be 'yes' or 'no'");
    config_free(&c);
    /* a bad [redis] key or value names the file, line and key */
    file_err(x, "[redis]\nno-such-knob = 1\n", 2,
             "redis.no-such-knob: unknown key (not one of the Redis parameters Strata accepts: docs/COMPATIBILITY.md)");
    file_err(x, "[redis]\nmaxclients = 1\n", 2, "redis.maxclients: unknown key (maxclients is a Strata setting: see docs/CONFIG.md)");
    file_err(x, "[redis]\nactiverehashing = \"perhaps\"\n", 2, "redis.activerehashing: argument must be 'yes' or 'no'");
    file_err(x, "[redis]\nsave = [1, 2]\n", 2, "redis.save: expected a string, an integer or a boolean, got an array");
}

/* ---- CONFIG REWRITE (config_rewrite.c) ------------------------------------------------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void test_config_rewrite_edits_in_place_and_keeps_the_rest(void **state) {
    fx *x = *state;
    static const char *const before =
        "# top comment\n"
        "[server]\n"
        "timeout = 0          # idle seconds\n"
        "  maxclients=10000\n"
        "bind = [\"127.0.0.1\"] # only here\n"
        "\n"
        "[[tier]]\n"
        "name = \"ssd\"\n"
        "dir = \"ssd\"\n"
        "levels = [0, 6]\n"
        "[engine]\n"
        "codec = \"lz4\"\n";
    config c;
    char err[256];
    load_file_ok(x, &c, before);
    /* nothing changed: the file stays byte for byte */
    assert_int_equal(config_rewrite(&c, err, sizeof err), 0);
    char *same = slurp(x->path);
    assert_string_equal(same, before);
    free(same);
    assert_int_equal(config_set(&c, "timeout", "300", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(&c, "maxclients", "55", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(&c, "hz", "40", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(&c, "loglevel", "warning", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(&c, "list-compress-depth", "3", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_set(&c, "notify-keyspace-events", "KEA", err, sizeof err), CONFIG_OK);
    assert_int_equal(config_rewrite(&c, err, sizeof err), 0);
    char *after = slurp(x->path);
    static const char *const want =
        "# top comment\n"
        "[server]\n"
        "timeout = 300        # idle seconds\n"
        "  maxclients=55\n"
        "bind = [\"127.0.0.1\"] # only here\n"
        "hz = 40\n"
        "loglevel = \"warning\"\n"
        "\n"
        "[[tier]]\n"
        "name = \"ssd\"\n"
        "dir = \"ssd\"\n"
        "levels = [0, 6]\n"
        "[engine]\n"
        "codec = \"lz4\"\n"
        "\n"
        "[redis]\n"
        "list-compress-depth = 3\n"
        "notify-keyspace-events = \"KEA\"\n";
    assert_string_equal(after, want);
    free(after);
    config_free(&c);
    /* the rewritten file loads to the same values */
    char *argv[] = {"strata-server", "--config", x->path, NULL};
    assert_int_equal(config_load(&c, 3, argv, err, sizeof err), CONFIG_OK);
    got g;
    assert_string_equal(get1(&c, "timeout", &g), "300");
    assert_string_equal(get1(&c, "hz", &g), "40");
    assert_string_equal(get1(&c, "list-compress-depth", &g), "3");
    assert_string_equal(get1(&c, "notify-keyspace-events", &g), "KEA");
    config_free(&c);
    /* without a file */
    assert_int_equal(LOAD(&c, err, "--port", "7000"), CONFIG_OK);
    assert_int_equal(config_rewrite(&c, err, sizeof err), -1);
    assert_string_equal(err, "The server is running without a config file");
    config_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_without_file_or_flags),
        cmocka_unit_test_setup_teardown(test_config_file_overrides_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_flags_override_the_file_wherever_config_appears, setup, teardown),
        cmocka_unit_test(test_config_sizes_accept_binary_and_redis_units),
        cmocka_unit_test_setup_teardown(test_config_file_errors_name_file_line_and_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_flag_errors_name_the_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_tiers_parse_validate_and_inherit_engine_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_tier_errors_name_line_and_key, setup, teardown),
        cmocka_unit_test(test_config_repo_tiering_toml_loads_and_matches_the_defaults),
        cmocka_unit_test(test_config_repo_tiering_toml_declares_ssd_and_hdd_tiers),
        cmocka_unit_test(test_config_get_matches_glob_patterns),
        cmocka_unit_test(test_config_set_round_trips_runtime_parameters),
        cmocka_unit_test(test_config_set_refuses_immutable_unknown_and_invalid_values),
        cmocka_unit_test(test_config_fills_engine_options_over_engine_defaults),
        cmocka_unit_test_setup_teardown(test_config_make_dirs_creates_tiers_and_names_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_tenant_errors_name_line_and_key, setup, teardown),
        cmocka_unit_test(test_config_help_lists_every_flag),
        cmocka_unit_test_setup_teardown(test_config_redis_knobs_validate_normalise_and_load_from_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_rewrite_edits_in_place_and_keeps_the_rest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
