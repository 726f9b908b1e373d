/* config.h -- strata-server's configuration: one struct, its defaults, and how it is loaded.
 *
 * Sources, later ones win: the built-in defaults below, then the TOML file given with
 * `--config FILE` (or as the first argument, as redis-server takes it), then command-line flags.
 * Every setting is a row of one parameter table (config.c) that drives the file keys, the
 * `--flag`s, CONFIG GET and CONFIG SET, and config_print_help; docs/CONFIG.md lists them all.
 *
 * Names. In the file a setting is `key` in its table, with underscores: [server] maxclients,
 * [engine] write_buffer. On the command line and in CONFIG GET/SET it has its Redis name, where
 * '-' and '_' are interchangeable and case does not matter: --maxclients 100,
 * --proto-max-bulk-len 1mb, --write-buffer 64MiB, `CONFIG SET slowlog-max-len 64`.
 *
 * Sizes are an integer (bytes) or a string: digits then an optional unit, case-insensitive, with
 * optional spaces between: b; k = 1000, kb = KiB = 1024; m = 10^6, mb = MiB = 2^20;
 * g = 10^9, gb = GiB = 2^30; t = 10^12, tb = TiB = 2^40. As in Redis, "1k" is 1000 bytes and
 * "1kb" is 1024. No fractions ("1.5GiB" is refused).
 *
 * Errors name where the bad value came from: "tiering.toml:12: server.port: must be between 1
 * and 65535 (got 70000)", "--port: must be ...". Unknown tables and keys, wrong types and
 * out-of-range values are errors; the server refuses to start. CONFIG SET gets the same reason
 * without the prefix.
 *
 * Lifetime and threads: the server fills one `config` at start and keeps it as its only global.
 * Everything but the CONFIG_RUNTIME parameters is read-only after config_load. config_set
 * writes a field in place and frees a replaced string at once, so the caller must serialise
 * config_set with every reader of the runtime-settable fields (e.g. run CONFIG SET under the lock
 * readers of requirepass take, or publish a copy). */
#ifndef STRATA_NET_CONFIG_H
#define STRATA_NET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config_compat.h"
#include "strata/st_options.h"

/* Return codes of config_load and config_set (0 is success). */
enum config_status {
    CONFIG_OK = 0,
    CONFIG_EINVAL = -1,     /* a bad file, flag or value; err says which and where */
    CONFIG_EUNKNOWN = -2,   /* config_set: no such parameter */
    CONFIG_EIMMUTABLE = -3, /* config_set: the parameter cannot change while running */
    CONFIG_ENOMEM = -4,
};

typedef enum config_loglevel {
    CONFIG_LOG_DEBUG = 0,
    CONFIG_LOG_VERBOSE = 1,
    CONFIG_LOG_NOTICE = 2,
    CONFIG_LOG_WARNING = 3,
    CONFIG_LOG_NOTHING = 4,
} config_loglevel;

#define CONFIG_MAX_BIND 16     /* addresses in `bind` */
#define CONFIG_MAX_TIERS 7     /* one level each at most: ST_MAX_LEVELS in strata/st.h */
#define CONFIG_MAX_LEVEL 6     /* levels are 0..ST_MAX_LEVELS-1 */
#define CONFIG_FILE_MAX_BYTES (1u << 20)

/* One [[tier]] table, hottest first: the engine writes the tables of its levels into its
 * directory (st_tier_options). Fields not given in the file inherit the [engine] value (codec, zstd_level,
 * block_bytes) or the default shown. */
/* enable_debug_command, as Redis 7's enable-debug-command. */
enum { CONFIG_DEBUG_NO = 0, CONFIG_DEBUG_YES = 1, CONFIG_DEBUG_LOCAL = 2 };

typedef struct config_tier {
    char *name;              /* required; [A-Za-z0-9_-], 1..32 chars, unique */
    char *dir;               /* required; relative paths resolve under config.dir */
    char *path;              /* dir resolved (config_tier_path) when loading ends */
    int first_level;         /* levels [first_level, last_level] live here; ranges of */
    int last_level;          /*   consecutive tiers are adjacent and cover 0..CONFIG_MAX_LEVEL */
    st_codec codec;          /* `codec`: "none", "lz4", "zstd"; default [engine].codec */
    int zstd_level;          /* -7..22; default [engine].zstd_level */
    size_t block_bytes;      /* `block_size`: 256 B..16 MiB; default [engine].block_size */
    uint64_t capacity_bytes; /* `capacity`: size; 0 = unlimited (default) */
    double high_watermark;   /* (0, 1]: migrate down when used/capacity passes it; default 0.85 */
    double low_watermark;    /* [0, high): ...until it falls below this; default 0.70 */
    bool direct_io;          /* O_DIRECT through io_uring; default false */
    uint64_t migrate_rate;   /* `migrate_rate`: bytes/s of migration copies into it; 0 = unpaced;
                              * default 64 MiB */
    int line;                /* line of the [[tier]] header */
    int dir_line;            /* line of its `dir` key */
    unsigned from_engine;    /* internal: fields still to copy from [engine] when loading ends */
} config_tier;

/* One [[tenant]] table (net/tenant.h): created at start if the database does not know the name
 * yet; see docs/CONFIG.md for how the file and runtime TENANT changes combine. */
#define CONFIG_TENANT_NAME_MAX 64
#define CONFIG_MAX_TENANTS 4096
typedef struct config_tenant {
    char *name;              /* required; [A-Za-z0-9_.-], 1..64 chars, unique, not "default" */
    char *password;          /* required, non-empty */
    uint64_t max_bytes;      /* `max_bytes`: size; 0 = no byte quota (default) */
    uint64_t max_keys;       /* `max_keys`: 0 = no key quota (default) */
    int line;                /* line of the [[tenant]] header */
} config_tenant;

/* client-output-buffer-limit, per client class as in Redis: a client whose pending replies reach
 * `hard` bytes, or stay at or above `soft` bytes for `soft_seconds`, is disconnected; 0 = none. */
typedef enum config_client_class { CONFIG_CLIENT_NORMAL = 0, CONFIG_CLIENT_REPLICA = 1, CONFIG_CLIENT_PUBSUB = 2 } config_client_class;
typedef struct config_obl {
    uint64_t hard, soft;
    int64_t soft_seconds;
} config_obl;

typedef struct config {
    /* ---- [server] ------------------------------------------------------------------------- */
    char **bind;             /* `bind`: addresses to listen on (IPv4 or IPv6 literals);
                              * default "127.0.0.1" and "::1" */
    size_t n_bind;           /* 1..CONFIG_MAX_BIND */
    int port;                /* `port`: TCP port, 1..65535; default 6380 */
    char *dir;               /* `dir`: data directory, kept as given; default "./data" */
    st_sync_mode appendfsync; /* `appendfsync`: always | everysec | no; default everysec */
    int workers;             /* `workers`: worker threads, 1..1024; 0 in a source means one per
                              * online CPU, resolved by config_load; default 0 */
    uint64_t memory_limit_bytes; /* `memory_limit` (--memory-limit): size; 0 = none; default 1 GiB */
    char *requirepass;       /* `requirepass`: AUTH password; NULL = none (also set by "");
                              * default NULL */
    int maxclients;          /* `maxclients`: 1..1000000; default 10000 */
    int enable_debug_command; /* `enable_debug_command`: no | yes | local (CONFIG_DEBUG_*): DEBUG,
                              * which can make the disk fail on purpose, is off unless asked for
                              * (from loopback clients only with local); default no */
    int protected_mode;      /* `protected_mode`: yes (1) | no; with no requirepass, clients from
                              * addresses other than 127.0.0.1 and ::1 are refused; default yes */
    char *client_output_buffer_limit; /* `client_output_buffer_limit`: Redis's "class hard soft
                              * seconds ..." text, canonical (all three classes); parsed into obl */
    config_obl obl[3];       /* by config_client_class; default normal 0 0 0, replica 256mb 64mb
                              * 60, pubsub 32mb 8mb 60 (Redis's) */
    int timeout_s;           /* `timeout`: idle seconds before a client is closed; 0 = never */
    uint64_t proto_max_bulk_len; /* `proto_max_bulk_len`: largest bulk string, 1 MiB..;
                              * default 512 MiB */
    uint64_t client_query_buffer_limit; /* `client_query_buffer_limit`: per-client query buffer
                              * cap, 1 MiB..; default 1 GiB */
    int databases;           /* `databases`: SELECT 0..databases-1, 1..65536; default 16 */
    int hz;                  /* `hz`: background task frequency, 1..500; default 10 */
    config_loglevel loglevel; /* `loglevel`: debug | verbose | notice | warning | nothing */
    char *logfile;           /* `logfile`: "" = stderr; kept as given; default "" */
    int64_t slowlog_log_slower_than_us; /* `slowlog_log_slower_than`: µs; negative disables,
                              * 0 logs every command; default 10000 */
    int slowlog_max_len;     /* `slowlog_max_len`: entries kept, 0..; default 128 */
    int64_t latency_monitor_threshold_ms; /* `latency_monitor_threshold`: ms; events at least this
                              * long go to the latency monitor (LATENCY); 0 = off; default 0 */

    /* ---- [engine] (config_to_engine_options) ------------------------------------------------ */
    size_t write_buffer_bytes; /* `write_buffer`: memtable size, 16 KiB..64 GiB; default 64 MiB */
    size_t block_bytes;      /* `block_size`: data block target, 256 B..16 MiB; default 4 KiB */
    int bloom_bits_per_key;  /* `bloom_bits_per_key`: 0..64, 0 disables; default 10 */
    st_codec codec;          /* `codec`: none | lz4 | zstd; default lz4 */
    int zstd_level;          /* `zstd_level`: -7..22; default 3 */
    int max_immutable;       /* `max_immutable`: memtables awaiting flush before writers wait,
                              * 1..64; default 2 */
    int l0_compaction_trigger; /* `level0_file_num_compaction_trigger`: 1..10000; default 4 */
    int l0_slowdown_trigger; /* `level0_slowdown_writes_trigger`: 1..10000; default 20 */
    int l0_stop_trigger;     /* `level0_stop_writes_trigger`: 1..10000; default 36 (the engine
                              * checks trigger <= slowdown <= stop at open) */
    uint64_t delayed_write_rate; /* `delayed_write_rate`: bytes/s, >= 16 KiB; default 16 MiB */
    int max_open_files;      /* `max_open_files`: 1..2^24; default 1000 */
    st_wal_recovery wal_recovery; /* `wal_recovery`: strict | point-in-time (st_options.h); default
                              * strict: a damaged WAL record with good ones after it stops the start */

    /* ---- [[tier]] -------------------------------------------------------------------------- */
    config_tier *tiers;      /* n_tiers == 0: every file lives under dir (no tiering) */
    size_t n_tiers;

    /* ---- [[tenant]] ------------------------------------------------------------------------ */
    config_tenant *tenants;
    size_t n_tenants;

    /* ---- [redis]: Redis parameters accepted and ignored (config_compat.h) ------------------- */
    config_compat compat;

    /* ---- where it came from ---------------------------------------------------------------- */
    char *config_file;       /* the file loaded, as given; NULL if none */
    int dir_line;            /* line of [server] dir in it; 0 if dir is the default or a flag */
    struct toml_doc *doc;    /* the parsed file (NULL if none) */
} config;

/* Fills c with the built-in defaults (workers stays 0 = auto). Release with config_free. */
int config_init(config *c);

/* Initialises c, then applies the config file and the flags in argv (argv[0], the program name,
 * is skipped; --help and --version are the caller's to handle first). Flags:
 *   --config FILE (or FILE as the first argument), --bind ADDR [ADDR...] (every following
 *   argument up to the next one starting with "--"), and --NAME VALUE or --NAME=VALUE for every
 *   parameter (--port N, --dir DIR, --appendfsync P, --workers N, --memory-limit SIZE,
 *   --requirepass PW, --maxclients N, ...). An empty --requirepass "" means none.
 * Afterwards resolves workers = 0 and the tiers' inherited fields.
 * Returns CONFIG_OK, CONFIG_EINVAL (err: "FILE:LINE: section.key: what" or "--flag: what"), or
 * CONFIG_ENOMEM. Whatever it returns, c is initialised and must be released with config_free. */
int config_load(config *c, int argc, char **argv, char *err, size_t errlen);

/* ---- for CONFIG REWRITE (config_rewrite.c) ---- */
typedef struct config_param_desc {
    const char *name;    /* Redis name */
    const char *section; /* file table */
    const char *key;     /* file key */
    bool runtime;        /* CONFIG SET may change it */
} config_param_desc;
size_t config_param_count(void);
void config_param_describe(size_t i, config_param_desc *out);
/* Parameter i's value in c, malloc'ed: as a TOML literal (42, "text", ["a", "b"]), or as the text
 * CONFIG GET shows. NULL: out of memory. */
char *config_param_toml(const config *c, size_t i);
char *config_param_text(const config *c, size_t i);
/* Initialises c from the built-in defaults and the file alone (no flags): what the file says.
 * Release c with config_free whatever it returns. */
int config_load_file_only(config *c, const char *path, char *err, size_t errlen);

/* Frees what c owns and leaves it zeroed. NULL-safe. */
void config_free(config *c);

/* st_options_default, then the [engine] settings, appendfsync and the tiers (with each tier's
 * codec and block size as its levels'). o points into c: c must outlive st_db_open. */
void config_to_engine_options(const config *c, st_options *o);

/* The block cache to ask for: 256 MiB when memory_limit is 0 (no limit); 0 (unused) otherwise,
 * since the engine then splits memory_limit itself (st_options.memory_limit_bytes). */
size_t config_block_cache_bytes(const config *c);

/* workers = 0 resolves to this for ncpu online CPUs: ncpu - 1, at least 1, at most 1024. */
int config_default_workers(long ncpu);

/* Creates (like mkdir -p) and checks writable: c->dir and every tier's directory. Errors name
 * the file, line and key they came from ("tiering.toml:31: tier.dir: '/mnt/hdd/strata': cannot
 * create: Permission denied"). Returns CONFIG_OK, CONFIG_EINVAL or CONFIG_ENOMEM. */
int config_make_dirs(const config *c, char *err, size_t errlen);

/* A tier's directory as the server uses it: t->dir if absolute, else c->dir/t->dir. Malloc'ed
 * (caller frees); NULL on out of memory. */
char *config_tier_path(const config *c, const config_tier *t);

/* ---- CONFIG GET / CONFIG SET ------------------------------------------------------------------ */

/* Called once per matching parameter, in table order; name and value are valid during the call. */
typedef void (*config_get_fn)(const char *name, const char *value, void *ud);

/* Calls fn for every parameter whose Redis name matches the glob `pattern` (* ? [abc] [^a]
 * [a-z] and \ escapes; case-insensitive, '_' matches '-'). Values print as CONFIG GET shows them: sizes in bytes,
 * enums by name, bind space-separated, requirepass "" when none. Returns the number of matches,
 * or CONFIG_ENOMEM. */
int config_get(const config *c, const char *pattern, config_get_fn fn, void *ud);

/* Sets parameter `name` (Redis name, '-' or '_', any case) from its text form, with the same
 * validation as the file and the flags. Only CONFIG_RUNTIME parameters (see docs/CONFIG.md):
 * maxclients, timeout, requirepass, proto-max-bulk-len, client-query-buffer-limit, hz, loglevel,
 * slowlog-log-slower-than, slowlog-max-len, latency-monitor-threshold, protected-mode,
 * client-output-buffer-limit. Returns CONFIG_OK; CONFIG_EUNKNOWN, CONFIG_EIMMUTABLE,
 * CONFIG_EINVAL with err holding the reason ("Unknown option or number of args for CONFIG SET -
 * 'foo'", "can't set immutable config", "must be between 1 and 500 (got 0)"); or CONFIG_ENOMEM.
 * On failure c is unchanged. */
int config_set(config *c, const char *name, const char *value, char *err, size_t errlen);

/* Whether `name` is a parameter, and whether CONFIG SET may change it. */
bool config_is_param(const char *name);
bool config_is_runtime(const char *name);

/* Whether s is a valid tenant name (1..CONFIG_TENANT_NAME_MAX of A-Z a-z 0-9 _ . -, not
 * "default", which names the administrator as in Redis's AUTH default <password>). */
bool config_tenant_name_ok(const char *s, size_t len);

/* Parses a size as described at the top. Returns true and *out on success. */
bool config_parse_size(const char *s, uint64_t *out);

/* Prints the flags, one per line with type and default, for --help. */
void config_print_help(FILE *out);

#endif
