/* config.c -- the parameter table and everything driven by it: defaults, the TOML file, flags,
 * CONFIG GET/SET, --help (config.h).
 *
 * Each parameter is one row: its Redis name (flags, CONFIG GET/SET), its file table and key, a
 * type (integer, size, enum, string, address list), where it lives in `config`, its range and
 * whether CONFIG SET may change it. All three sources funnel into the same typed setters
 * (set_num, set_text, set_list), so a value is validated the same way wherever it comes from;
 * only the error prefix differs ("file:line: server.port: ", "--port: ", none).
 * [[tier]] tables have their own small table for the generic keys plus code for levels,
 * watermarks and direct_io, then a pass that checks the tiers against each other. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toml.h"

typedef enum ptype { P_INT, P_SIZE, P_ENUM, P_STRING, P_LIST } ptype;
typedef enum pstore { S_INT, S_I64, S_U64, S_SIZE } pstore; /* C type of a numeric/enum field */

enum {
    P_RUNTIME = 1u << 0,  /* CONFIG SET may change it */
    P_NULLABLE = 1u << 1, /* "" stores NULL */
    P_NONEMPTY = 1u << 2, /* "" is refused */
    P_OBL = 1u << 3,      /* client-output-buffer-limit: parsed into config.obl */
};

typedef struct enum_name {
    const char *name;
    int value;
} enum_name;

typedef struct param {
    const char *name;    /* Redis name: --flag, CONFIG GET/SET */
    const char *section; /* file table */
    const char *key;     /* file key */
    ptype type;
    pstore store;
    unsigned flags;
    size_t off;          /* field offset in config (or config_tier) */
    size_t off_n;        /* P_LIST: offset of the size_t count */
    int64_t min, max;    /* P_INT, P_SIZE; P_LIST: item count */
    const enum_name *enums;
    const char *def;     /* default as text, for --help */
    const char *doc;
} param;

static const enum_name fsync_names[] = {
    {"always", ST_SYNC_ALWAYS}, {"everysec", ST_SYNC_EVERYSEC}, {"no", ST_SYNC_NO}, {NULL, 0}};
static const enum_name yesno_names[] = {{"yes", 1}, {"no", 0}, {NULL, 0}};
static const enum_name debug_names[] = {
    {"no", CONFIG_DEBUG_NO}, {"yes", CONFIG_DEBUG_YES}, {"local", CONFIG_DEBUG_LOCAL}, {NULL, 0}};
static const enum_name wal_recovery_names[] = {
    {"strict", ST_WAL_RECOVERY_STRICT}, {"point-in-time", ST_WAL_RECOVERY_POINT_IN_TIME}, {NULL, 0}};
static const enum_name codec_names[] = {
    {"none", ST_CODEC_NONE}, {"lz4", ST_CODEC_LZ4}, {"zstd", ST_CODEC_ZSTD}, {NULL, 0}};
static const enum_name loglevel_names[] = {
    {"debug", CONFIG_LOG_DEBUG},     {"verbose", CONFIG_LOG_VERBOSE}, {"notice", CONFIG_LOG_NOTICE},
    {"warning", CONFIG_LOG_WARNING}, {"nothing", CONFIG_LOG_NOTHING}, {NULL, 0}};

/* Enum fields are written through an int. */
_Static_assert(sizeof(st_sync_mode) == sizeof(int), "st_sync_mode is int-sized");
_Static_assert(sizeof(st_codec) == sizeof(int), "st_codec is int-sized");
_Static_assert(sizeof(config_loglevel) == sizeof(int), "config_loglevel is int-sized");
_Static_assert(sizeof(st_wal_recovery) == sizeof(int), "st_wal_recovery is int-sized");

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)
#define C(field) offsetof(config, field)

/* Keep in step with docs/CONFIG.md and tiering.toml. */
static const param params[] = {
    /* name, section, key, type, store, flags, off, off_n, min, max, enums, default, doc */
    {"bind", "server", "bind", P_LIST, S_INT, 0, C(bind), C(n_bind), 1, CONFIG_MAX_BIND, NULL,
     "127.0.0.1 ::1", "addresses to listen on (IPv4/IPv6 literals)"},
    {"port", "server", "port", P_INT, S_INT, 0, C(port), 0, 1, 65535, NULL, "6380", "TCP port"},
    {"dir", "server", "dir", P_STRING, S_INT, P_NONEMPTY, C(dir), 0, 0, 0, NULL, "./data",
     "data directory (relative to the working directory)"},
    {"appendfsync", "server", "appendfsync", P_ENUM, S_INT, 0, C(appendfsync), 0, 0, 0, fsync_names,
     "everysec", "when writes are durable"},
    {"workers", "server", "workers", P_INT, S_INT, 0, C(workers), 0, 0, 1024, NULL, "0",
     "worker threads; 0 = one per online CPU"},
    {"memory-limit", "server", "memory_limit", P_SIZE, S_U64, 0, C(memory_limit_bytes), 0, 0,
     INT64_MAX, NULL, "1GiB", "memory budget; 0 = none"},
    {"requirepass", "server", "requirepass", P_STRING, S_INT, P_RUNTIME | P_NULLABLE, C(requirepass),
     0, 0, 0, NULL, "\"\"", "AUTH password; empty = none"},
    {"maxclients", "server", "maxclients", P_INT, S_INT, P_RUNTIME, C(maxclients), 0, 1, 1000000,
     NULL, "10000", "most simultaneous clients"},
    {"enable-debug-command", "server", "enable_debug_command", P_ENUM, S_INT, 0, C(enable_debug_command), 0, 0, 0,
     debug_names, "no", "allow DEBUG: no, yes, or local (from 127.0.0.1/::1 only)"},
    {"protected-mode", "server", "protected_mode", P_ENUM, S_INT, P_RUNTIME, C(protected_mode), 0, 0, 0, yesno_names,
     "yes", "without requirepass, accept clients from 127.0.0.1 and ::1 only"},
    {"client-output-buffer-limit", "server", "client_output_buffer_limit", P_STRING, S_INT, P_RUNTIME | P_OBL,
     C(client_output_buffer_limit), 0, 0, 0, NULL, "\"normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60\"",
     "disconnect clients whose pending replies pass these limits (Redis's format)"},
    {"timeout", "server", "timeout", P_INT, S_INT, P_RUNTIME, C(timeout_s), 0, 0, INT_MAX, NULL, "0",
     "close clients idle this many seconds; 0 = never"},
    {"proto-max-bulk-len", "server", "proto_max_bulk_len", P_SIZE, S_U64, P_RUNTIME,
     C(proto_max_bulk_len), 0, MiB, INT64_MAX, NULL, "512MiB", "largest bulk string a client may send"},
    {"client-query-buffer-limit", "server", "client_query_buffer_limit", P_SIZE, S_U64, P_RUNTIME,
     C(client_query_buffer_limit), 0, MiB, INT64_MAX, NULL, "1GiB", "per-client query buffer cap"},
    {"databases", "server", "databases", P_INT, S_INT, 0, C(databases), 0, 1, 65536, NULL, "16",
     "number of databases (SELECT)"},
    {"hz", "server", "hz", P_INT, S_INT, P_RUNTIME, C(hz), 0, 1, 500, NULL, "10",
     "background task runs per second"},
    {"loglevel", "server", "loglevel", P_ENUM, S_INT, P_RUNTIME, C(loglevel), 0, 0, 0, loglevel_names,
     "notice", "log verbosity"},
    {"logfile", "server", "logfile", P_STRING, S_INT, 0, C(logfile), 0, 0, 0, NULL, "\"\"",
     "log file; empty = stderr"},
    {"slowlog-log-slower-than", "server", "slowlog_log_slower_than", P_INT, S_I64, P_RUNTIME,
     C(slowlog_log_slower_than_us), 0, -1, INT64_MAX, NULL, "10000",
     "log commands slower than this many microseconds; -1 = off, 0 = all"},
    {"slowlog-max-len", "server", "slowlog_max_len", P_INT, S_INT, P_RUNTIME, C(slowlog_max_len), 0, 0,
     INT_MAX, NULL, "128", "slow log entries kept"},
    {"latency-monitor-threshold", "server", "latency_monitor_threshold", P_INT, S_I64, P_RUNTIME,
     C(latency_monitor_threshold_ms), 0, 0, INT64_MAX, NULL, "0",
     "record latency events (LATENCY) of at least this many milliseconds; 0 = off"},

    {"write-buffer", "engine", "write_buffer", P_SIZE, S_SIZE, 0, C(write_buffer_bytes), 0, 16 * KiB,
     64 * GiB, NULL, "64MiB", "memtable size that triggers a flush"},
    {"block-size", "engine", "block_size", P_SIZE, S_SIZE, 0, C(block_bytes), 0, 256, 16 * MiB, NULL,
     "4KiB", "uncompressed data block target"},
    {"bloom-bits-per-key", "engine", "bloom_bits_per_key", P_INT, S_INT, 0, C(bloom_bits_per_key), 0, 0,
     64, NULL, "10", "bloom filter bits per key; 0 = no filter"},
    {"codec", "engine", "codec", P_ENUM, S_INT, 0, C(codec), 0, 0, 0, codec_names, "lz4",
     "block compression"},
    {"zstd-level", "engine", "zstd_level", P_INT, S_INT, 0, C(zstd_level), 0, -7, 22, NULL, "3",
     "zstd compression level"},
    {"max-immutable", "engine", "max_immutable", P_INT, S_INT, 0, C(max_immutable), 0, 1, 64, NULL, "2",
     "memtables waiting for flush before writers wait"},
    {"level0-file-num-compaction-trigger", "engine", "level0_file_num_compaction_trigger", P_INT, S_INT, 0,
     C(l0_compaction_trigger), 0, 1, 10000, NULL, "4", "level-0 tables that make level 0 due for compaction"},
    {"level0-slowdown-writes-trigger", "engine", "level0_slowdown_writes_trigger", P_INT, S_INT, 0,
     C(l0_slowdown_trigger), 0, 1, 10000, NULL, "20",
     "level-0 tables at which writes are paced at delayed_write_rate"},
    {"level0-stop-writes-trigger", "engine", "level0_stop_writes_trigger", P_INT, S_INT, 0, C(l0_stop_trigger),
     0, 1, 10000, NULL, "36", "level-0 tables at which writes wait for compaction"},
    {"delayed-write-rate", "engine", "delayed_write_rate", P_SIZE, S_U64, 0, C(delayed_write_rate), 0, 16 * KiB,
     (uint64_t)1 << 40, NULL, "16MiB", "bytes per second all writers get while writes are slowed down"},
    {"wal-recovery", "engine", "wal_recovery", P_ENUM, S_INT, 0, C(wal_recovery), 0, 0, 0, wal_recovery_names,
     "strict", "a damaged WAL record followed by good ones: refuse to start (strict) or keep what precedes it"},
    {"max-open-files", "engine", "max_open_files", P_INT, S_INT, 0, C(max_open_files), 0, 1, 1 << 24, NULL,
     "1000", "table files kept open at once"},
};
#define N_PARAMS (sizeof params / sizeof params[0])

/* [[tier]] keys handled generically (levels, watermarks and direct_io are special). */
#define T(field) offsetof(config_tier, field)
static const param tier_params[] = {
    {"name", "tier", "name", P_STRING, S_INT, P_NONEMPTY, T(name), 0, 0, 0, NULL, NULL, NULL},
    {"dir", "tier", "dir", P_STRING, S_INT, P_NONEMPTY, T(dir), 0, 0, 0, NULL, NULL, NULL},
    {"first_level", "tier", "first_level", P_INT, S_INT, 0, T(first_level), 0, 0, CONFIG_MAX_LEVEL, NULL,
     NULL, NULL},
    {"codec", "tier", "codec", P_ENUM, S_INT, 0, T(codec), 0, 0, 0, codec_names, NULL, NULL},
    {"zstd_level", "tier", "zstd_level", P_INT, S_INT, 0, T(zstd_level), 0, -7, 22, NULL, NULL, NULL},
    {"block_size", "tier", "block_size", P_SIZE, S_SIZE, 0, T(block_bytes), 0, 256, 16 * MiB, NULL, NULL,
     NULL},
    {"capacity", "tier", "capacity", P_SIZE, S_U64, 0, T(capacity_bytes), 0, 0, INT64_MAX, NULL, NULL,
     NULL},
    {"migrate_rate", "tier", "migrate_rate", P_SIZE, S_U64, 0, T(migrate_rate), 0, 0, INT64_MAX, NULL, NULL,
     NULL},
};
#define N_TIER_PARAMS (sizeof tier_params / sizeof tier_params[0])

/* [[tenant]] keys. */
#define TN(field) offsetof(config_tenant, field)
static const param tenant_params[] = {
    {"name", "tenant", "name", P_STRING, S_INT, P_NONEMPTY, TN(name), 0, 0, 0, NULL, NULL, NULL},
    {"password", "tenant", "password", P_STRING, S_INT, P_NONEMPTY, TN(password), 0, 0, 0, NULL, NULL, NULL},
    {"max_bytes", "tenant", "max_bytes", P_SIZE, S_U64, 0, TN(max_bytes), 0, 0, INT64_MAX, NULL, NULL, NULL},
    {"max_keys", "tenant", "max_keys", P_INT, S_U64, 0, TN(max_keys), 0, 0, INT64_MAX, NULL, NULL, NULL},
};
#define N_TENANT_PARAMS (sizeof tenant_params / sizeof tenant_params[0])

/* config_tier.from_engine bits. */
enum { INHERIT_CODEC = 1u << 0, INHERIT_ZSTD = 1u << 1, INHERIT_BLOCK = 1u << 2 };

/* ---- errors ----------------------------------------------------------------------------------- */

/* Where a value came from: "file:line: key: ", "key: " (a flag) or nothing (CONFIG SET). */
typedef struct origin {
    const char *file;
    int line;
    const char *key;
} origin;

static int errf(char *err, size_t errlen, const origin *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errlen, const origin *o, const char *fmt, ...) {
    if (!errlen) return CONFIG_EINVAL;
    int n = 0;
    if (o && o->file) n = snprintf(err, errlen, "%s:%d: %s: ", o->file, o->line, o->key ? o->key : "");
    else if (o && o->key) n = snprintf(err, errlen, "%s: ", o->key);
    if (n < 0 || (size_t)n >= errlen) return CONFIG_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return CONFIG_EINVAL;
}

static int nomem(char *err, size_t errlen) {
    if (errlen) snprintf(err, errlen, "out of memory");
    return CONFIG_ENOMEM;
}

/* ---- names and parsing -------------------------------------------------------------------------- */

/* Equal ignoring case, with '-' and '_' the same. */
static bool name_eq(const char *a, const char *b) {
    for (;; a++, b++) {
        char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
        char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);
        if (x != y) return false;
        if (!x) return true;
    }
}

static const param *find_param(const char *name) {
    for (size_t i = 0; i < N_PARAMS; i++)
        if (name_eq(params[i].name, name)) return &params[i];
    return NULL;
}

bool config_is_param(const char *name) { return find_param(name) != NULL; }

bool config_is_runtime(const char *name) {
    const param *p = find_param(name);
    return p && (p->flags & P_RUNTIME);
}

/* A whole-string decimal integer: optional sign, digits, nothing else. */
static bool parse_i64(const char *s, int64_t *out) {
    if (!*s || !(isdigit((unsigned char)*s) || ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1]))))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool config_parse_size(const char *s, uint64_t *out) {
    static const struct { const char *unit; uint64_t mul; } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1000},
        {"kb", 1u << 10},
        {"kib", 1u << 10},
        {"m", 1000000},
        {"mb", 1u << 20},
        {"mib", 1u << 20},
        {"g", 1000000000},
        {"gb", 1u << 30},
        {"gib", 1u << 30},
        {"t", UINT64_C(1000000000000)},
        {"tb", UINT64_C(1) << 40},
        {"tib", UINT64_C(1) << 40},
    };
    if (!isdigit((unsigned char)*s)) return false;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (*s == ' ') {
        while (*s == ' ') s++;
        if (!*s) return false; /* spaces only between the number and a unit */
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(s, units[i].unit) != 0) continue;
        if (v && units[i].mul > UINT64_MAX / v) return false;
        *out = v * units[i].mul;
        return true;
    }
    return false;
}

/* "16KiB" for exact binary multiples, else the number of bytes. */
static void fmt_size(char *buf, size_t size, int64_t v) {
    static const char *const u[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        int shift = 40 - 10 * i;
        if (v > 0 && v % (INT64_C(1) << shift) == 0) {
            snprintf(buf, size, "%lld%s", (long long)(v >> shift), u[i]);
            return;
        }
    }
    snprintf(buf, size, "%lld", (long long)v);
}

static void fmt_num(const param *p, char *buf, size_t size, int64_t v) {
    if (p->type == P_SIZE) fmt_size(buf, size, v);
    else snprintf(buf, size, "%lld", (long long)v);
}

static void enum_list(const enum_name *e, const char *sep, char *buf, size_t size) {
    size_t off = 0;
    buf[0] = '\0';
    for (; e->name && off < size; e++) {
        int n = snprintf(buf + off, size - off, "%s%s", off ? sep : "", e->name);
        if (n < 0) break;
        off += (size_t)n;
    }
}

static const char *enum_name_of(const enum_name *e, int v) {
    for (; e->name; e++)
        if (e->value == v) return e->name;
    return "?";
}

static bool is_addr(const char *s) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* ---- typed setters over a base struct (config or config_tier) --------------------------------- */

static int64_t get_num(const void *base, const param *p) {
    const char *f = (const char *)base + p->off;
    switch (p->store) {
    case S_INT: return *(const int *)f;
    case S_I64: return *(const int64_t *)f;
    case S_U64: return (int64_t)*(const uint64_t *)f;
    case S_SIZE: return (int64_t)*(const size_t *)f;
    }
    return 0;
}

static void put_num(void *base, const param *p, int64_t v) {
    char *f = (char *)base + p->off;
    switch (p->store) {
    case S_INT: *(int *)f = (int)v; break;
    case S_I64: *(int64_t *)f = v; break;
    case S_U64: *(uint64_t *)f = (uint64_t)v; break;
    case S_SIZE: *(size_t *)f = (size_t)v; break;
    }
}

static char **str_field(void *base, const param *p) { return (char **)((char *)base + p->off); }
static const char *str_value(const void *base, const param *p) {
    return *(char *const *)((const char *)base + p->off);
}

static int set_num(void *base, const param *p, int64_t v, const origin *o, char *err, size_t errlen) {
    if (v < p->min || v > p->max) {
        char lo[32], hi[32], got[32];
        fmt_num(p, lo, sizeof lo, p->min);
        fmt_num(p, hi, sizeof hi, p->max);
        fmt_num(p, got, sizeof got, v);
        if (p->max == INT64_MAX) return errf(err, errlen, o, "must be at least %s (got %s)", lo, got);
        return errf(err, errlen, o, "must be between %s and %s (got %s)", lo, hi, got);
    }
    put_num(base, p, v);
    return 0;
}

/* "class hard soft seconds" groups (Redis's syntax: classes normal, replica/slave, pubsub; sizes
 * with units) merged into a copy of c->obl; the canonical text of all three classes in *text. */
static int parse_obl(const config *c, const char *s, config_obl out[3], char **text, const origin *o, char *err,
                     size_t errlen) {
    static const char *const names[3] = {"normal", "replica", "pubsub"};
    memcpy(out, c->obl, sizeof c->obl);
    char *copy = strdup(s), *save = NULL;
    if (!copy) return nomem(err, errlen);
    const char *tok[64];
    size_t n = 0;
    for (char *t = strtok_r(copy, " \t", &save); t && n < 64; t = strtok_r(NULL, " \t", &save)) tok[n++] = t;
    int rc = 0;
    if (n == 0 || n % 4) rc = errf(err, errlen, o, "expected groups of 'class hard soft seconds' (got %zu words)", n);
    for (size_t i = 0; i + 3 < n && !rc; i += 4) {
        int cl = !strcasecmp(tok[i], "normal") ? 0
                 : (!strcasecmp(tok[i], "replica") || !strcasecmp(tok[i], "slave")) ? 1
                 : !strcasecmp(tok[i], "pubsub") ? 2 : -1;
        uint64_t hard, soft;
        int64_t secs;
        if (cl < 0) rc = errf(err, errlen, o, "unknown client class '%s' (normal, replica, pubsub)", tok[i]);
        else if (!config_parse_size(tok[i + 1], &hard) || !config_parse_size(tok[i + 2], &soft))
            rc = errf(err, errlen, o, "'%s %s' are not sizes", tok[i + 1], tok[i + 2]);
        else if (!parse_i64(tok[i + 3], &secs) || secs < 0)
            rc = errf(err, errlen, o, "'%s' is not a number of seconds", tok[i + 3]);
        else
            out[cl] = (config_obl){hard, soft, secs};
    }
    free(copy);
    if (rc) return rc;
    char buf[256];
    size_t len = 0;
    for (int cl = 0; cl < 3; cl++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s %llu %llu %lld", cl ? " " : "", names[cl],
                                (unsigned long long)out[cl].hard, (unsigned long long)out[cl].soft,
                                (long long)out[cl].soft_seconds);
    if (!(*text = strdup(buf))) return nomem(err, errlen);
    return 0;
}

static int set_str(void *base, const param *p, const char *s, const origin *o, char *err, size_t errlen) {
    if (p->flags & P_OBL) {
        config *c = base;
        config_obl obl[3];
        char *text;
        int rc = parse_obl(c, s, obl, &text, o, err, errlen);
        if (rc) return rc;
        memcpy(c->obl, obl, sizeof obl);
        free(c->client_output_buffer_limit);
        c->client_output_buffer_limit = text;
        return 0;
    }
    if ((p->flags & P_NONEMPTY) && !*s) return errf(err, errlen, o, "must not be empty");
    char *v = NULL;
    if ((*s || !(p->flags & P_NULLABLE)) && !(v = strdup(s))) return nomem(err, errlen);
    char **f = str_field(base, p);
    free(*f);
    *f = v;
    return 0;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int set_list(void *base, const param *p, const char *const *items, size_t n, const origin *o,
                    char *err, size_t errlen) {
    if ((int64_t)n < p->min || (int64_t)n > p->max)
        return errf(err, errlen, o, "needs %lld to %lld addresses (got %zu)", (long long)p->min,
                    (long long)p->max, n);
    for (size_t i = 0; i < n; i++)
        if (!is_addr(items[i])) return errf(err, errlen, o, "'%s' is not an IPv4 or IPv6 address", items[i]);
    char **v = calloc(n, sizeof *v);
    if (!v) return nomem(err, errlen);
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] = strdup(items[i]))) {
            free_list(v, n);
            return nomem(err, errlen);
        }
    }
    char ***f = (char ***)((char *)base + p->off);
    size_t *fn = (size_t *)((char *)base + p->off_n);
    free_list(*f, *fn);
    *f = v;
    *fn = n;
    return 0;
}

/* A value in its text form: flags, CONFIG SET. */
static int set_text(void *base, const param *p, const char *s, const origin *o, char *err, size_t errlen) {
    switch (p->type) {
    case P_INT: {
        int64_t v;
        if (!parse_i64(s, &v)) return errf(err, errlen, o, "'%s' is not an integer", s);
        return set_num(base, p, v, o, err, errlen);
    }
    case P_SIZE: {
        uint64_t v;
        if (!config_parse_size(s, &v))
            return errf(err, errlen, o, "'%s' is not a size (bytes, or e.g. 4KiB, 64MiB, 512mb, 1gb)", s);
        if (v > (uint64_t)INT64_MAX) return errf(err, errlen, o, "'%s' is too large", s);
        return set_num(base, p, (int64_t)v, o, err, errlen);
    }
    case P_ENUM:
        for (const enum_name *e = p->enums; e->name; e++) {
            if (strcasecmp(e->name, s) == 0) {
                put_num(base, p, e->value);
                return 0;
            }
        }
        char list[128];
        enum_list(p->enums, ", ", list, sizeof list);
        return errf(err, errlen, o, "must be one of %s (got '%s')", list, s);
    case P_STRING:
        return set_str(base, p, s, o, err, errlen);
    case P_LIST: {
        /* Space-separated, as CONFIG GET prints it. */
        char *copy = strdup(s);
        const char *items[CONFIG_MAX_BIND + 1];
        size_t n = 0;
        if (!copy) return nomem(err, errlen);
        char *save = NULL;
        for (char *t = strtok_r(copy, " \t", &save); t && n <= CONFIG_MAX_BIND; t = strtok_r(NULL, " \t", &save))
            items[n++] = t;
        int rc = set_list(base, p, items, n, o, err, errlen);
        free(copy);
        return rc;
    }
    }
    return CONFIG_EINVAL;
}

static const char *node_type(const toml_node *n) {
    if (toml_is_table_array(n)) return "an array of tables";
    switch (toml_node_type(n)) {
    case TOML_TABLE: return "a table";
    case TOML_ARRAY: return "an array";
    case TOML_STRING: return "a string";
    case TOML_INT: return "an integer";
    case TOML_FLOAT: return "a float";
    case TOML_BOOL: return "a boolean";
    }
    return "a value";
}

/* The string of n, refusing embedded NULs; NULL (with err set) if n is not a usable string. */
static const char *node_str(const toml_node *n, const char *want, const origin *o, char *err, size_t errlen) {
    size_t len;
    const char *s = toml_string(n, &len);
    if (!s) {
        errf(err, errlen, o, "expected %s, got %s", want, node_type(n));
        return NULL;
    }
    if (strlen(s) != len) {
        errf(err, errlen, o, "must not contain a NUL character");
        return NULL;
    }
    return s;
}

/* A value from the file. */
static int set_node(void *base, const param *p, const toml_node *n, const origin *o, char *err,
                    size_t errlen) {
    toml_type t = toml_node_type(n);
    const char *s;
    switch (p->type) {
    case P_INT:
        if (t != TOML_INT) return errf(err, errlen, o, "expected an integer, got %s", node_type(n));
        return set_num(base, p, toml_int(n), o, err, errlen);
    case P_SIZE:
        if (t == TOML_INT) {
            if (toml_int(n) < 0) return errf(err, errlen, o, "must not be negative");
            return set_num(base, p, toml_int(n), o, err, errlen);
        }
        if (!(s = node_str(n, "a size (an integer or a string like \"64MiB\")", o, err, errlen)))
            return CONFIG_EINVAL;
        return set_text(base, p, s, o, err, errlen);
    case P_ENUM:
    case P_STRING:
        if (!(s = node_str(n, "a string", o, err, errlen))) return CONFIG_EINVAL;
        return set_text(base, p, s, o, err, errlen);
    case P_LIST: {
        if (t == TOML_STRING) {
            if (!(s = node_str(n, "a string", o, err, errlen))) return CONFIG_EINVAL;
            return set_list(base, p, &s, 1, o, err, errlen);
        }
        if (t != TOML_ARRAY) return errf(err, errlen, o, "expected a string or an array of strings, got %s", node_type(n));
        size_t cnt = toml_array_len(n);
        if (cnt > CONFIG_MAX_BIND) return set_list(base, p, NULL, cnt, o, err, errlen); /* the count error */
        const char *items[CONFIG_MAX_BIND];
        for (size_t i = 0; i < cnt; i++)
            if (!(items[i] = node_str(toml_array_at(n, i), "an array of strings", o, err, errlen)))
                return CONFIG_EINVAL;
        return set_list(base, p, items, cnt, o, err, errlen);
    }
    }
    return CONFIG_EINVAL;
}

/* ---- defaults, free, engine options -------------------------------------------------------------- */

int config_init(config *c) {
    memset(c, 0, sizeof *c);
    c->port = 6380;
    c->appendfsync = ST_SYNC_EVERYSEC;
    c->workers = 0;
    c->memory_limit_bytes = (uint64_t)GiB;
    c->maxclients = 10000;
    c->protected_mode = 1;
    c->enable_debug_command = CONFIG_DEBUG_NO;
    c->wal_recovery = ST_WAL_RECOVERY_STRICT;
    c->obl[CONFIG_CLIENT_NORMAL] = (config_obl){0, 0, 0};
    c->obl[CONFIG_CLIENT_REPLICA] = (config_obl){256 * (uint64_t)MiB, 64 * (uint64_t)MiB, 60};
    c->obl[CONFIG_CLIENT_PUBSUB] = (config_obl){32 * (uint64_t)MiB, 8 * (uint64_t)MiB, 60};
    if (!(c->client_output_buffer_limit = strdup("normal 0 0 0 replica 268435456 67108864 60 pubsub 33554432 8388608 60")))
        return CONFIG_ENOMEM;
    c->timeout_s = 0;
    c->proto_max_bulk_len = 512 * (uint64_t)MiB;
    c->client_query_buffer_limit = (uint64_t)GiB;
    c->databases = 16;
    c->hz = 10;
    c->loglevel = CONFIG_LOG_NOTICE;
    c->slowlog_log_slower_than_us = 10000;
    c->slowlog_max_len = 128;
    c->latency_monitor_threshold_ms = 0;
    c->write_buffer_bytes = 64 * (size_t)MiB;
    c->block_bytes = 4096;
    c->bloom_bits_per_key = 10;
    c->codec = ST_CODEC_LZ4;
    c->zstd_level = 3;
    c->max_immutable = 2;
    c->l0_compaction_trigger = 4;
    c->l0_slowdown_trigger = 20;
    c->l0_stop_trigger = 36;
    c->delayed_write_rate = 16 * (uint64_t)MiB;
    c->max_open_files = 1000;
    c->dir = strdup("./data");
    c->logfile = strdup("");
    c->bind = calloc(2, sizeof *c->bind);
    if (c->bind) {
        c->n_bind = 2;
        c->bind[0] = strdup("127.0.0.1");
        c->bind[1] = strdup("::1");
    }
    if (!c->dir || !c->logfile || !c->bind || !c->bind[0] || !c->bind[1]) return CONFIG_ENOMEM;
    return CONFIG_OK;
}

static void tenants_free(config_tenant *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].password);
    }
    free(t);
}

static void tiers_free(config_tier *t, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].dir);
        free(t[i].path);
    }
    free(t);
}

void config_free(config *c) {
    if (!c) return;
    free_list(c->bind, c->n_bind);
    free(c->dir);
    free(c->requirepass);
    free(c->client_output_buffer_limit);
    free(c->logfile);
    tiers_free(c->tiers, c->n_tiers);
    tenants_free(c->tenants, c->n_tenants);
    free(c->config_file);
    toml_free(c->doc);
    compat_free(&c->compat);
    memset(c, 0, sizeof *c);
}

void config_to_engine_options(const config *c, st_options *o) {
    st_options_default(o);
    o->sync_mode = c->appendfsync;
    o->write_buffer_bytes = c->write_buffer_bytes;
    o->block_bytes = c->block_bytes;
    o->bloom_bits_per_key = c->bloom_bits_per_key;
    o->codec = c->codec;
    o->zstd_level = c->zstd_level;
    o->max_immutable = c->max_immutable;
    o->level0_file_num_compaction_trigger = c->l0_compaction_trigger;
    o->level0_slowdown_writes_trigger = c->l0_slowdown_trigger;
    o->level0_stop_writes_trigger = c->l0_stop_trigger;
    o->delayed_write_rate = c->delayed_write_rate;
    o->max_open_files = c->max_open_files;
    o->wal_recovery = c->wal_recovery;
    o->block_cache_bytes = config_block_cache_bytes(c);
    o->memory_limit_bytes = c->memory_limit_bytes;
    /* Each tier's codec and block size become those of its levels: tables are built for the
     * level they are written to, and the level's tier is where they go. */
    o->n_tiers = (int)c->n_tiers;
    for (size_t i = 0; i < c->n_tiers && i < ST_MAX_TIERS; i++) {
        const config_tier *t = &c->tiers[i];
        o->tiers[i] = (st_tier_options){.name = t->name, .dir = t->path, .first_level = t->first_level,
                                        .last_level = t->last_level, .direct_io = t->direct_io,
                                        .capacity_bytes = t->capacity_bytes, .high_watermark = t->high_watermark,
                                        .low_watermark = t->low_watermark,
                                        .migrate_bytes_per_sec = t->migrate_rate};
        for (int l = t->first_level; l <= t->last_level && l < ST_MAX_LEVELS; l++)
            o->levels[l] = (st_level_options){.codec = (int)t->codec, .zstd_level = t->zstd_level,
                                              .block_bytes = t->block_bytes};
    }
}

size_t config_block_cache_bytes(const config *c) { return c->memory_limit_bytes ? 0 : 256 * (size_t)MiB; }

/* ---- the file ------------------------------------------------------------------------------------ */

static int apply_section(config *c, const char *section, const toml_node *tab, const char *file, char *err,
                         size_t errlen) {
    for (size_t i = 0; i < toml_table_len(tab); i++) {
        const toml_node *v;
        const char *key = toml_table_key(tab, i, &v);
        char where[160];
        snprintf(where, sizeof where, "%s.%s", section, key);
        origin o = {file, toml_node_line(v), where};
        const param *p = NULL;
        for (size_t j = 0; j < N_PARAMS && !p; j++)
            if (strcmp(params[j].section, section) == 0 && strcmp(params[j].key, key) == 0) p = &params[j];
        if (!p) {
            const param *q = find_param(key);
            if (q && strcmp(q->section, section) != 0)
                return errf(err, errlen, &o, "unknown key (%s belongs in [%s])", q->key, q->section);
            if (q) return errf(err, errlen, &o, "unknown key (did you mean %s?)", q->key);
            return errf(err, errlen, &o, "unknown key");
        }
        int rc = set_node(c, p, v, &o, err, errlen);
        if (rc) return rc;
        if (p->off == C(dir)) c->dir_line = o.line;
    }
    return 0;
}

static bool tier_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 32) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

/* A watermark: a float (or an integer) in [lo, hi], lo excluded when lo_open. */
static int set_watermark(double *out, const toml_node *n, double lo, bool lo_open, const origin *o, char *err,
                         size_t errlen) {
    double v;
    if (toml_node_type(n) == TOML_FLOAT) v = toml_float(n);
    else if (toml_node_type(n) == TOML_INT) v = (double)toml_int(n);
    else return errf(err, errlen, o, "expected a number between 0 and 1, got %s", node_type(n));
    if (!(v <= 1.0 && (lo_open ? v > lo : v >= lo)))
        return errf(err, errlen, o, "must be in %s%g, 1%s (got %g)", lo_open ? "(" : "[", lo, "]", v);
    *out = v;
    return 0;
}

/* Per-tier facts the cross-tier checks need. */
typedef struct tier_src {
    int levels_line, first_line, low_line; /* 0 = key absent */
    int lo, hi;                           /* levels = [lo, hi] when levels_line */
} tier_src;

static int parse_tier(config_tier *t, tier_src *src, const toml_node *tab, const char *file, char *err,
                      size_t errlen) {
    origin o = {file, toml_node_line(tab), "tier"};
    if (toml_node_type(tab) != TOML_TABLE) return errf(err, errlen, &o, "expected a table, got %s", node_type(tab));
    t->line = toml_node_line(tab);
    t->high_watermark = 0.85;
    t->low_watermark = 0.70;
    t->migrate_rate = 64 * MiB;
    t->from_engine = INHERIT_CODEC | INHERIT_ZSTD | INHERIT_BLOCK;
    for (size_t i = 0; i < toml_table_len(tab); i++) {
        const toml_node *v;
        const char *key = toml_table_key(tab, i, &v);
        char where[160];
        snprintf(where, sizeof where, "tier.%s", key);
        origin ko = {file, toml_node_line(v), where};
        int rc = 0;
        const param *p = NULL;
        for (size_t j = 0; j < N_TIER_PARAMS && !p; j++)
            if (strcmp(tier_params[j].key, key) == 0) p = &tier_params[j];
        if (p) {
            if ((rc = set_node(t, p, v, &ko, err, errlen))) return rc;
            if (p->off == T(name) && !tier_name_ok(t->name))
                return errf(err, errlen, &ko, "'%s' is not a tier name (1 to 32 of A-Z a-z 0-9 _ -)", t->name);
            if (p->off == T(dir)) t->dir_line = ko.line;
            if (p->off == T(first_level)) src->first_line = ko.line;
            if (p->off == T(codec)) t->from_engine &= ~(unsigned)INHERIT_CODEC;
            if (p->off == T(zstd_level)) t->from_engine &= ~(unsigned)INHERIT_ZSTD;
            if (p->off == T(block_bytes)) t->from_engine &= ~(unsigned)INHERIT_BLOCK;
        } else if (strcmp(key, "levels") == 0) {
            const toml_node *a = toml_array_at(v, 0), *b = toml_array_at(v, 1);
            if (toml_node_type(v) != TOML_ARRAY || toml_array_len(v) != 2 || toml_node_type(a) != TOML_INT ||
                toml_node_type(b) != TOML_INT || toml_int(a) < 0 || toml_int(a) > toml_int(b) ||
                toml_int(b) > CONFIG_MAX_LEVEL)
                return errf(err, errlen, &ko, "must be [first, last] with 0 <= first <= last <= %d",
                            CONFIG_MAX_LEVEL);
            src->levels_line = ko.line;
            src->lo = (int)toml_int(a);
            src->hi = (int)toml_int(b);
        } else if (strcmp(key, "high_watermark") == 0) {
            rc = set_watermark(&t->high_watermark, v, 0.0, true, &ko, err, errlen);
        } else if (strcmp(key, "low_watermark") == 0) {
            rc = set_watermark(&t->low_watermark, v, 0.0, false, &ko, err, errlen);
            src->low_line = ko.line;
        } else if (strcmp(key, "direct_io") == 0) {
            if (toml_node_type(v) != TOML_BOOL) return errf(err, errlen, &ko, "expected a boolean, got %s", node_type(v));
            t->direct_io = toml_bool(v);
        } else {
            return errf(err, errlen, &ko, "unknown key");
        }
        if (rc) return rc;
    }
    if (!t->name) return errf(err, errlen, &o, "missing required key 'name'");
    if (!t->dir) return errf(err, errlen, &o, "tier '%s': missing required key 'dir'", t->name);
    if (src->levels_line && src->first_line) {
        origin fo = {file, src->first_line, "tier.first_level"};
        return errf(err, errlen, &fo, "tier '%s': give levels or first_level, not both", t->name);
    }
    if (t->low_watermark >= t->high_watermark) {
        origin lo = {file, src->low_line ? src->low_line : t->line, "tier.low_watermark"};
        return errf(err, errlen, &lo, "tier '%s': %g must be below high_watermark %g", t->name, t->low_watermark,
                    t->high_watermark);
    }
    return 0;
}

/* Levels: each tier starts at levels[0], first_level, or (the first tier) 0, and ends at levels[1]
 * or just before the next tier. Together they must cover 0..CONFIG_MAX_LEVEL once, in order. */
static int check_tiers(config_tier *ts, const tier_src *src, size_t n, const char *file, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        origin o = {file, ts[i].line, "tier.name"};
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ts[i].name, ts[j].name) == 0)
                return errf(err, errlen, &o, "tier name '%s' is also used on line %d", ts[i].name, ts[j].line);
            if (strcmp(ts[i].dir, ts[j].dir) == 0) {
                origin d = {file, ts[i].dir_line, "tier.dir"};
                return errf(err, errlen, &d, "tier '%s': dir '%s' is also tier '%s''s", ts[i].name, ts[i].dir,
                            ts[j].name);
            }
        }
        if (src[i].levels_line) ts[i].first_level = src[i].lo;
        else if (!src[i].first_line && i > 0)
            return errf(err, errlen, &o, "tier '%s': needs levels = [first, last] or first_level", ts[i].name);
    }
    for (size_t i = 0; i < n; i++) {
        int line = src[i].levels_line ? src[i].levels_line : src[i].first_line ? src[i].first_line : ts[i].line;
        origin o = {file, line, src[i].levels_line ? "tier.levels" : "tier.first_level"};
        if (i == 0 && ts[0].first_level != 0)
            return errf(err, errlen, &o, "tier '%s': the first (hottest) tier must start at level 0", ts[0].name);
        if (i > 0 && ts[i].first_level <= ts[i - 1].first_level)
            return errf(err, errlen, &o, "tier '%s': level %d overlaps tier '%s' (line %d); list tiers hottest first",
                        ts[i].name, ts[i].first_level, ts[i - 1].name, ts[i - 1].line);
        int next = i + 1 < n ? ts[i + 1].first_level : CONFIG_MAX_LEVEL + 1;
        ts[i].last_level = src[i].levels_line ? src[i].hi : next - 1;
        if (src[i].levels_line && i + 1 < n && ts[i].last_level >= next)
            return errf(err, errlen, &o, "tier '%s': levels %d..%d overlap tier '%s' (from level %d)", ts[i].name,
                        ts[i].first_level, ts[i].last_level, ts[i + 1].name, next);
        if (ts[i].last_level < next - 1)
            return errf(err, errlen, &o, "tier '%s': levels %d..%d belong to no tier", ts[i].name,
                        ts[i].last_level + 1, next - 1);
    }
    return 0;
}

static int apply_tiers(config *c, const toml_node *arr, const char *file, char *err, size_t errlen) {
    origin o = {file, toml_node_line(arr), "tier"};
    size_t n = toml_array_len(arr);
    if (toml_node_type(arr) != TOML_ARRAY)
        return errf(err, errlen, &o, "expected [[tier]] tables, got %s", node_type(arr));
    if (n > CONFIG_MAX_TIERS) return errf(err, errlen, &o, "at most %d tiers (got %zu)", CONFIG_MAX_TIERS, n);
    if (n == 0) return 0;
    config_tier *ts = calloc(n, sizeof *ts);
    tier_src *src = calloc(n, sizeof *src);
    int rc = CONFIG_OK;
    if (!ts || !src) rc = nomem(err, errlen);
    for (size_t i = 0; i < n && !rc; i++) rc = parse_tier(&ts[i], &src[i], toml_array_at(arr, i), file, err, errlen);
    if (!rc) rc = check_tiers(ts, src, n, file, err, errlen);
    free(src);
    if (rc) {
        tiers_free(ts, ts ? n : 0);
        return rc;
    }
    tiers_free(c->tiers, c->n_tiers);
    c->tiers = ts;
    c->n_tiers = n;
    return 0;
}

bool config_tenant_name_ok(const char *s, size_t len) {
    if (len < 1 || len > CONFIG_TENANT_NAME_MAX) return false;
    if (len == 7 && strncasecmp(s, "default", 7) == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return false;
    return true;
}

static int parse_tenant(config_tenant *t, const toml_node *tab, const char *file, char *err, size_t errlen) {
    origin o = {file, toml_node_line(tab), "tenant"};
    if (toml_node_type(tab) != TOML_TABLE) return errf(err, errlen, &o, "expected a table, got %s", node_type(tab));
    t->line = toml_node_line(tab);
    for (size_t i = 0; i < toml_table_len(tab); i++) {
        const toml_node *v;
        const char *key = toml_table_key(tab, i, &v);
        char where[160];
        snprintf(where, sizeof where, "tenant.%s", key);
        origin ko = {file, toml_node_line(v), where};
        const param *p = NULL;
        for (size_t j = 0; j < N_TENANT_PARAMS && !p; j++)
            if (strcmp(tenant_params[j].key, key) == 0) p = &tenant_params[j];
        if (!p) return errf(err, errlen, &ko, "unknown key (expected name, password, max_bytes, max_keys)");
        int rc = set_node(t, p, v, &ko, err, errlen);
        if (rc) return rc;
        if (p->off == TN(name) && !config_tenant_name_ok(t->name, strlen(t->name)))
            return errf(err, errlen, &ko, "'%s' is not a tenant name (1 to %d of A-Z a-z 0-9 _ . -, not \"default\")",
                        t->name, CONFIG_TENANT_NAME_MAX);
    }
    if (!t->name) return errf(err, errlen, &o, "missing required key 'name'");
    if (!t->password) return errf(err, errlen, &o, "tenant '%s': missing required key 'password'", t->name);
    return 0;
}

static int apply_tenants(config *c, const toml_node *arr, const char *file, char *err, size_t errlen) {
    origin o = {file, toml_node_line(arr), "tenant"};
    if (toml_node_type(arr) != TOML_ARRAY)
        return errf(err, errlen, &o, "expected [[tenant]] tables, got %s", node_type(arr));
    size_t n = toml_array_len(arr);
    if (n > CONFIG_MAX_TENANTS) return errf(err, errlen, &o, "at most %d tenants (got %zu)", CONFIG_MAX_TENANTS, n);
    if (n == 0) return 0;
    config_tenant *ts = calloc(n, sizeof *ts);
    int rc = ts ? CONFIG_OK : nomem(err, errlen);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = parse_tenant(&ts[i], toml_array_at(arr, i), file, err, errlen);
        for (size_t j = 0; j < i && !rc; j++) {
            if (strcmp(ts[j].name, ts[i].name) == 0) {
                origin d = {file, ts[i].line, "tenant.name"};
                rc = errf(err, errlen, &d, "tenant '%s' is declared twice (first at line %d)", ts[i].name, ts[j].line);
            }
        }
    }
    if (rc) {
        tenants_free(ts, ts ? n : 0);
        return rc;
    }
    tenants_free(c->tenants, c->n_tenants);
    c->tenants = ts;
    c->n_tenants = n;
    return 0;
}

/* [redis]: Redis parameters Strata accepts and ignores (config_compat.h), as CONFIG REWRITE writes
 * them: strings, integers or booleans (true = "yes"). */
static int apply_redis(config *c, const toml_node *tab, const char *file, char *err, size_t errlen) {
    for (size_t i = 0; i < toml_table_len(tab); i++) {
        const toml_node *v;
        const char *key = toml_table_key(tab, i, &v);
        char where[160], text[64];
        snprintf(where, sizeof where, "redis.%s", key);
        origin o = {file, toml_node_line(v), where};
        int idx = compat_find(key);
        if (idx < 0) {
            if (find_param(key)) return errf(err, errlen, &o, "unknown key (%s is a Strata setting: see docs/CONFIG.md)", key);
            return errf(err, errlen, &o, "unknown key (not one of the Redis parameters Strata accepts: docs/COMPATIBILITY.md)");
        }
        const char *val;
        switch (toml_node_type(v)) {
        case TOML_STRING: val = toml_string(v, NULL); break;
        case TOML_INT:
            snprintf(text, sizeof text, "%lld", (long long)toml_int(v));
            val = text;
            break;
        case TOML_BOOL: val = toml_bool(v) ? "yes" : "no"; break;
        default: return errf(err, errlen, &o, "expected a string, an integer or a boolean, got %s", node_type(v));
        }
        char why[160];
        int rc = compat_set(&c->compat, idx, val, why, sizeof why);
        if (rc == -2) return nomem(err, errlen);
        if (rc) return errf(err, errlen, &o, "%s", why);
    }
    return 0;
}

static int apply_doc(config *c, const toml_doc *doc, const char *file, char *err, size_t errlen) {
    const toml_node *root = toml_root(doc);
    for (size_t i = 0; i < toml_table_len(root); i++) {
        const toml_node *v;
        const char *key = toml_table_key(root, i, &v);
        origin o = {file, toml_node_line(v), key};
        int rc = 0;
        if (strcmp(key, "server") == 0 || strcmp(key, "engine") == 0) {
            if (toml_node_type(v) != TOML_TABLE)
                return errf(err, errlen, &o, "expected a table [%s], got %s", key, node_type(v));
            rc = apply_section(c, key, v, file, err, errlen);
        } else if (strcmp(key, "tier") == 0) {
            rc = apply_tiers(c, v, file, err, errlen);
        } else if (strcmp(key, "tenant") == 0) {
            rc = apply_tenants(c, v, file, err, errlen);
        } else if (strcmp(key, "redis") == 0) {
            if (toml_node_type(v) != TOML_TABLE)
                return errf(err, errlen, &o, "expected a table [redis], got %s", node_type(v));
            rc = apply_redis(c, v, file, err, errlen);
        } else if (toml_node_type(v) == TOML_TABLE || toml_node_type(v) == TOML_ARRAY) {
            return errf(err, errlen, &o, "unknown table (expected [server], [engine], [redis], [[tier]] or [[tenant]])");
        } else {
            const param *p = NULL;
            for (size_t j = 0; j < N_PARAMS && !p; j++)
                if (strcmp(params[j].key, key) == 0) p = &params[j];
            if (p) return errf(err, errlen, &o, "unknown key at the top level (%s belongs in [%s])", key, p->section);
            return errf(err, errlen, &o, "unknown key at the top level");
        }
        if (rc) return rc;
    }
    return 0;
}

static int load_file(config *c, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return errf(err, errlen, NULL, "cannot read config file '%s': %s", path, strerror(errno));
    char *buf = malloc(CONFIG_FILE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return nomem(err, errlen);
    }
    size_t n = fread(buf, 1, CONFIG_FILE_MAX_BYTES + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    int rc;
    if (rd_err) rc = errf(err, errlen, NULL, "cannot read config file '%s': read error", path);
    else if (n > CONFIG_FILE_MAX_BYTES)
        rc = errf(err, errlen, NULL, "config file '%s' is larger than %u bytes", path, CONFIG_FILE_MAX_BYTES);
    else if (!(c->config_file = strdup(path))) rc = nomem(err, errlen);
    else {
        rc = toml_parse(buf, n, path, &c->doc, err, errlen);
        rc = rc == 0 ? apply_doc(c, c->doc, path, err, errlen) : rc == -2 ? CONFIG_ENOMEM : CONFIG_EINVAL;
    }
    free(buf);
    return rc;
}

/* ---- flags and loading ---------------------------------------------------------------------------- */

static bool is_flag(const char *a) { return a[0] == '-' && a[1] == '-'; }
/* redis-server style: `strata-server tiering.toml` */
static bool is_positional_config(int i, const char *a) { return i == 1 && a[0] != '-'; }

/* Finds the config file: --config FILE, --config=FILE, or a first argument that is not a flag. */
/* One CPU is left to the rest: flush, compaction and WAL-sync threads, and clients on the same
 * host (Redis's io-threads advice, "leave one spare core"). Measured on 2 cores with
 * redis-benchmark beside the server: 1 worker beat 2 at every cell of bench/redis_compare.sh,
 * e.g. always -P 1 SET 44k vs 26k ops/s, -P 16 GET 711k vs 538k. */
int config_default_workers(long ncpu) {
    if (ncpu > 1025) ncpu = 1025;
    return ncpu <= 2 ? 1 : (int)(ncpu - 1);
}

static int find_config_arg(int argc, char **argv, const char **path, char *err, size_t errlen) {
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (is_positional_config(i, a)) v = a;
        else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) return errf(err, errlen, NULL, "--config: missing file name");
            v = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) v = a + 9;
        else continue;
        if (*path) return errf(err, errlen, NULL, "--config: more than one config file given");
        if (!*v) return errf(err, errlen, NULL, "--config: empty file name");
        *path = v;
    }
    return 0;
}

static int apply_flags(config *c, int argc, char **argv, char *err, size_t errlen) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_positional_config(i, a)) continue; /* the config file */
        if (!is_flag(a) || !a[2])
            return errf(err, errlen, NULL, "unexpected argument '%s' (options are --name value)", a);
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) return errf(err, errlen, NULL, "unknown option '%.40s...'", a);
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (strcmp(name, "config") == 0) {
            if (!eq) i++;
            continue;
        }
        const param *p = find_param(name);
        char flag[72];
        snprintf(flag, sizeof flag, "--%s", name);
        origin o = {NULL, 0, flag};
        int ci = p ? -1 : compat_find(name);
        if (ci >= 0) { /* a Redis knob (config_compat.h), as redis-server takes them as flags */
            if (!eq && i + 1 >= argc) return errf(err, errlen, &o, "missing value");
            char why[160];
            int rc = compat_set(&c->compat, ci, eq ? eq + 1 : argv[++i], why, sizeof why);
            if (rc == -2) return nomem(err, errlen);
            if (rc) return errf(err, errlen, &o, "%s", why);
            continue;
        }
        if (!p) return errf(err, errlen, NULL, "unknown option '--%s'", name);
        int rc;
        if (p->type == P_LIST) {
            const char *items[CONFIG_MAX_BIND + 1];
            size_t n = 0;
            if (eq) items[n++] = eq + 1;
            while (i + 1 < argc && !is_flag(argv[i + 1])) {
                if (n == CONFIG_MAX_BIND + 1) return set_list(c, p, NULL, n + 1, &o, err, errlen);
                items[n++] = argv[++i];
            }
            rc = set_list(c, p, items, n, &o, err, errlen);
        } else {
            if (!eq && i + 1 >= argc) return errf(err, errlen, &o, "missing value");
            rc = set_text(c, p, eq ? eq + 1 : argv[++i], &o, err, errlen);
        }
        if (rc) return rc;
        if (p->off == C(dir)) c->dir_line = 0;
    }
    return 0;
}

int config_load(config *c, int argc, char **argv, char *err, size_t errlen) {
    if (errlen) err[0] = '\0';
    if (config_init(c)) return nomem(err, errlen);
    const char *path;
    int rc = find_config_arg(argc, argv, &path, err, errlen);
    if (!rc && path) rc = load_file(c, path, err, errlen);
    if (!rc) rc = apply_flags(c, argc, argv, err, errlen);
    if (rc) return rc;
    if (c->workers == 0) c->workers = config_default_workers(sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t i = 0; i < c->n_tiers; i++) {
        config_tier *t = &c->tiers[i];
        if (t->from_engine & INHERIT_CODEC) t->codec = c->codec;
        if (t->from_engine & INHERIT_ZSTD) t->zstd_level = c->zstd_level;
        if (t->from_engine & INHERIT_BLOCK) t->block_bytes = c->block_bytes;
        t->from_engine = 0;
        if (!(t->path = config_tier_path(c, t))) return nomem(err, errlen);
    }
    return CONFIG_OK;
}

/* ---- directories ---------------------------------------------------------------------------------- */

char *config_tier_path(const config *c, const config_tier *t) {
    if (t->dir[0] == '/') return strdup(t->dir);
    size_t a = strlen(c->dir), b = strlen(t->dir);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, c->dir, a);
    size_t off = a;
    if (a && p[a - 1] != '/') p[off++] = '/';
    memcpy(p + off, t->dir, b + 1);
    return p;
}

/* mkdir -p, then checks it is a writable directory. */
static int make_dir(const char *path, const origin *o, char *err, size_t errlen) {
    if (!*path) return errf(err, errlen, o, "empty path");
    char *buf = strdup(path);
    if (!buf) return nomem(err, errlen);
    int rc = 0;
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s) continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            rc = errf(err, errlen, o, "'%s': cannot create '%s': %s", path, buf, strerror(errno));
            break;
        }
        *s = saved;
        if (!saved) break;
    }
    free(buf);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) < 0) return errf(err, errlen, o, "'%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return errf(err, errlen, o, "'%s' is not a directory", path);
    if (access(path, W_OK | X_OK) < 0) return errf(err, errlen, o, "'%s' is not writable: %s", path, strerror(errno));
    return 0;
}

int config_make_dirs(const config *c, char *err, size_t errlen) {
    origin o = {c->dir_line ? c->config_file : NULL, c->dir_line, c->dir_line ? "server.dir" : "dir"};
    int rc = make_dir(c->dir, &o, err, errlen);
    for (size_t i = 0; i < c->n_tiers && !rc; i++) {
        char *p = config_tier_path(c, &c->tiers[i]);
        if (!p) return nomem(err, errlen);
        origin to = {c->config_file, c->tiers[i].dir_line, "tier.dir"};
        rc = make_dir(p, &to, err, errlen);
        free(p);
    }
    return rc;
}

/* ---- CONFIG GET / SET --------------------------------------------------------------------------- */

/* Glob characters compare case-insensitively, with '_' and '-' equal (as parameter names do). */
static int fold(char c) { return c == '_' ? '-' : tolower((unsigned char)c); }

/* [abc] [^a] [a-z] \x at *pp (just past '['), matching c; leaves *pp past the ']'. */
static bool class_match(const char **pp, char c) {
    const char *p = *pp;
    bool neg = *p == '^', hit = false;
    if (neg) p++;
    for (; *p && *p != ']'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            hit |= fold(*p) == fold(c);
        } else if (p[1] == '-' && p[2] && p[2] != ']') {
            int lo = fold(p[0]), hi = fold(p[2]), x = fold(c);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            hit |= x >= lo && x <= hi;
            p += 2;
        } else {
            hit |= fold(*p) == fold(c);
        }
    }
    *pp = *p ? p + 1 : p; /* an unclosed class ends with the pattern, as in Redis */
    return hit != neg;
}

/* Redis glob (see fold). Each non-'*' token matches one character, so backtracking to the
 * last '*' is enough: linear-ish, never exponential. */
static bool glob_match(const char *p, const char *s) {
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (*p == '*') {
            while (*p == '*') p++;
            if (!*p) return true;
            star_p = p;
            star_s = s;
            continue;
        }
        const char *np = p + 1;
        bool ok;
        if (*p == '?') ok = true;
        else if (*p == '[') ok = class_match(&np, *s);
        else if (*p == '\\' && p[1]) {
            ok = fold(p[1]) == fold(*s);
            np = p + 2;
        } else ok = *p && fold(*p) == fold(*s);
        if (ok) {
            p = np;
            s++;
        } else if (star_p) {
            p = star_p;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return !*p;
}

/* The CONFIG GET text of p; malloc'ed. */
static char *format_value(const config *c, const param *p) {
    char num[32];
    switch (p->type) {
    case P_INT:
    case P_SIZE:
        snprintf(num, sizeof num, "%lld", (long long)get_num(c, p));
        return strdup(num);
    case P_ENUM:
        return strdup(enum_name_of(p->enums, (int)get_num(c, p)));
    case P_STRING: {
        const char *s = str_value(c, p);
        return strdup(s ? s : "");
    }
    case P_LIST: {
        char *const *v = *(char **const *)((const char *)c + p->off);
        size_t n = *(const size_t *)((const char *)c + p->off_n), len = 1;
        for (size_t i = 0; i < n; i++) len += strlen(v[i]) + 1;
        char *out = malloc(len), *w = out;
        if (!out) return NULL;
        *w = '\0';
        for (size_t i = 0; i < n; i++) w += sprintf(w, "%s%s", i ? " " : "", v[i]);
        return out;
    }
    }
    return NULL;
}

int config_get(const config *c, const char *pattern, config_get_fn fn, void *ud) {
    int n = 0;
    for (size_t i = 0; i < N_PARAMS; i++) {
        if (!glob_match(pattern, params[i].name)) continue;
        char *v = format_value(c, &params[i]);
        if (!v) return CONFIG_ENOMEM;
        fn(params[i].name, v, ud);
        free(v);
        n++;
    }
    for (size_t i = 0; i < compat_count(); i++) {
        if (!glob_match(pattern, compat_name((int)i))) continue;
        fn(compat_name((int)i), compat_get(&c->compat, (int)i), ud);
        n++;
    }
    return n;
}

int config_set(config *c, const char *name, const char *value, char *err, size_t errlen) {
    if (errlen) err[0] = '\0';
    const param *p = find_param(name);
    int ci = p ? -1 : compat_find(name);
    if (ci >= 0) {
        int rc = compat_set(&c->compat, ci, value, err, errlen);
        return rc == -2 ? CONFIG_ENOMEM : rc ? CONFIG_EINVAL : CONFIG_OK;
    }
    if (!p) {
        if (errlen) snprintf(err, errlen, "Unknown option or number of args for CONFIG SET - '%s'", name);
        return CONFIG_EUNKNOWN;
    }
    if (!(p->flags & P_RUNTIME)) {
        if (errlen) snprintf(err, errlen, "can't set immutable config");
        return CONFIG_EIMMUTABLE;
    }
    /* Setters validate before they store, so a failure leaves c unchanged. */
    return set_text(c, p, value, NULL, err, errlen);
}

/* ---- for CONFIG REWRITE (config_rewrite.c) ------------------------------------------------------ */

size_t config_param_count(void) { return N_PARAMS; }

void config_param_describe(size_t i, config_param_desc *out) {
    const param *p = &params[i];
    *out = (config_param_desc){p->name, p->section, p->key, (p->flags & P_RUNTIME) != 0};
}

/* A TOML basic string of s. */
static void toml_quote(char *out, size_t cap, const char *s) {
    size_t w = 0;
    if (cap < 3) return;
    out[w++] = '"';
    for (; *s && w + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[w++] = '\\';
            out[w++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            w += (size_t)snprintf(out + w, cap - w, "\\u%04x", ch);
        } else {
            out[w++] = (char)ch;
        }
    }
    out[w++] = '"';
    out[w] = 0;
}

char *config_param_toml(const config *c, size_t i) {
    const param *p = &params[i];
    char *v = format_value(c, p);
    if (!v || p->type == P_INT || p->type == P_SIZE) return v;
    size_t cap = strlen(v) * 6 + 16;
    char *out = malloc(cap);
    if (!out) {
        free(v);
        return NULL;
    }
    if (p->type == P_LIST) {
        size_t w = 0;
        out[w++] = '[';
        char *save = NULL;
        for (char *t = strtok_r(v, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            if (w > 1) w += (size_t)snprintf(out + w, cap - w, ", ");
            toml_quote(out + w, cap - w, t);
            w += strlen(out + w);
        }
        snprintf(out + w, cap - w, "]");
    } else {
        toml_quote(out, cap, v);
    }
    free(v);
    return out;
}

char *config_param_text(const config *c, size_t i) { return format_value(c, &params[i]); }

int config_load_file_only(config *c, const char *path, char *err, size_t errlen) {
    if (errlen) err[0] = '\0';
    if (config_init(c)) return nomem(err, errlen);
    return load_file(c, path, err, errlen);
}

/* ---- help ------------------------------------------------------------------------------------------ */

void config_print_help(FILE *out) {
    fprintf(out, "  %-34s %s\n", "--config FILE", "TOML configuration file (docs/CONFIG.md)");
    for (size_t i = 0; i < N_PARAMS; i++) {
        const param *p = &params[i];
        char arg[96];
        const char *kind = p->type == P_INT ? "N" : p->type == P_SIZE ? "SIZE" : p->type == P_LIST ? "ADDR..." : "VALUE";
        if (p->type == P_ENUM) {
            char list[64];
            enum_list(p->enums, "|", list, sizeof list);
            snprintf(arg, sizeof arg, "--%s %s", p->name, list);
        } else {
            snprintf(arg, sizeof arg, "--%s %s", p->name, kind);
        }
        fprintf(out, "  %-34s %s (default %s%s)\n", arg, p->doc, p->def, (p->flags & P_RUNTIME) ? "; CONFIG SET" : "");
    }
}
