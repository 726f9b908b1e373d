/* config_compat.c -- see config_compat.h. Defaults and error texts are Redis 7.0's, except save
 * ("": Strata takes no snapshots) and appendonly ("yes": every write goes through the WAL). */
#include "config_compat.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum kind { K_INT, K_BOOL, K_ENUM, K_MEM, K_STR, K_SAVE, K_PERCENTILES, K_OOM_VALUES, K_EVENTS } kind;

typedef struct compat_param {
    const char *name;
    kind kind;
    const char *def;
    long long min, max;    /* K_INT */
    const char *const *enums; /* K_ENUM, NULL-terminated */
    bool used;             /* acted on (INFO latencystats) */
} compat_param;

static const char *const policies[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
                                       "allkeys-lfu",  "allkeys-random", "noeviction", NULL};
static const char *const oom_adj[] = {"no", "yes", "relative", "absolute", NULL};

#define I(n, d, lo, hi) {n, K_INT, d, lo, hi, NULL, false}
#define B(n, d) {n, K_BOOL, d, 0, 0, NULL, false}
#define M(n, d) {n, K_MEM, d, 0, 0, NULL, false}
#define S(n, d) {n, K_STR, d, 0, 0, NULL, false}

static const compat_param params[] = {
    /* encodings: Strata keeps every collection as one engine key per element */
    I("hash-max-listpack-entries", "512", 0, LLONG_MAX),
    M("hash-max-listpack-value", "64"),
    I("hash-max-ziplist-entries", "512", 0, LLONG_MAX),
    M("hash-max-ziplist-value", "64"),
    I("set-max-intset-entries", "512", 0, LLONG_MAX),
    I("zset-max-listpack-entries", "128", 0, LLONG_MAX),
    M("zset-max-listpack-value", "64"),
    I("zset-max-ziplist-entries", "128", 0, LLONG_MAX),
    M("zset-max-ziplist-value", "64"),
    I("list-max-listpack-size", "-2", INT32_MIN, INT32_MAX),
    I("list-max-ziplist-size", "-2", INT32_MIN, INT32_MAX),
    I("list-compress-depth", "0", 0, INT32_MAX),
    M("stream-node-max-bytes", "4096"),
    I("stream-node-max-entries", "100", 0, LLONG_MAX),
    M("hll-sparse-max-bytes", "3000"),
    /* memory management of an in-memory store */
    B("activerehashing", "yes"),
    B("activedefrag", "no"),
    B("jemalloc-bg-thread", "yes"),
    B("dynamic-hz", "yes"),
    B("lazyfree-lazy-eviction", "no"),
    B("lazyfree-lazy-expire", "no"),
    B("lazyfree-lazy-server-del", "no"),
    B("lazyfree-lazy-user-del", "no"),
    B("lazyfree-lazy-user-flush", "no"),
    B("replica-lazy-flush", "no"),
    {"maxmemory-policy", K_ENUM, "noeviction", 0, 0, policies, false},
    I("maxmemory-samples", "5", 1, INT32_MAX),
    I("maxmemory-eviction-tenacity", "10", 0, 100),
    I("lfu-log-factor", "10", 0, INT32_MAX),
    I("lfu-decay-time", "1", 0, INT32_MAX),
    I("active-expire-effort", "1", 1, 10),
    {"oom-score-adj", K_ENUM, "no", 0, 0, oom_adj, false},
    {"oom-score-adj-values", K_OOM_VALUES, "0 200 800", 0, 0, NULL, false},
    /* persistence: the WAL and the SSTables are the only files */
    {"save", K_SAVE, "", 0, 0, NULL, false},
    B("appendonly", "yes"),
    S("appendfilename", "appendonly.aof"),
    S("dbfilename", "dump.rdb"),
    B("rdbcompression", "yes"),
    B("rdbchecksum", "yes"),
    B("stop-writes-on-bgsave-error", "yes"),
    B("aof-use-rdb-preamble", "yes"),
    I("auto-aof-rewrite-percentage", "100", 0, INT32_MAX),
    M("auto-aof-rewrite-min-size", "67108864"),
    B("no-appendfsync-on-rewrite", "no"),
    B("aof-rewrite-incremental-fsync", "yes"),
    B("rdb-save-incremental-fsync", "yes"),
    /* features Strata does not have (yet) */
    {"notify-keyspace-events", K_EVENTS, "", 0, 0, NULL, false},
    I("lua-time-limit", "5000", 0, LLONG_MAX),
    I("busy-reply-threshold", "5000", 0, LLONG_MAX),
    I("tracking-table-max-keys", "1000000", 0, LLONG_MAX),
    I("tcp-keepalive", "300", 0, INT32_MAX),
    /* used: INFO latencystats */
    {"latency-tracking", K_BOOL, "yes", 0, 0, NULL, true},
    {"latency-tracking-info-percentiles", K_PERCENTILES, "50 99 99.9", 0, 0, NULL, true},
};
#define N_PARAMS (sizeof params / sizeof params[0])
_Static_assert(N_PARAMS <= CONFIG_COMPAT_MAX, "raise CONFIG_COMPAT_MAX");

size_t compat_count(void) { return N_PARAMS; }

static bool name_eq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        int x = *a == '_' ? '-' : tolower((unsigned char)*a), y = *b == '_' ? '-' : tolower((unsigned char)*b);
        if (x != y) return false;
    }
    return *a == *b;
}

int compat_find(const char *name) {
    for (size_t i = 0; i < N_PARAMS; i++)
        if (name_eq(name, params[i].name)) return (int)i;
    return -1;
}

const char *compat_name(int i) { return params[i].name; }
const char *compat_default(int i) { return params[i].def; }
bool compat_ignored(int i) { return !params[i].used; }

const char *compat_get(const config_compat *cc, int i) { return cc->value[i] ? cc->value[i] : params[i].def; }

bool compat_changed(const config_compat *cc, int i) { return strcmp(compat_get(cc, i), params[i].def) != 0; }

static int fail(char *err, size_t errlen, const char *msg) {
    if (errlen) snprintf(err, errlen, "%s", msg);
    return -1;
}

static bool parse_ll(const char *s, long long *out) {
    if (!*s || isspace((unsigned char)*s)) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* Redis's memtoull: a number with an optional b, k, kb, m, mb, g, gb unit (k = 1000, kb = 1024). */
static bool parse_mem(const char *s, long long *out) {
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s)) return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return false;
    static const struct {
        const char *u;
        unsigned long long mul;
    } units[] = {{"", 1},         {"b", 1},           {"k", 1000},    {"kb", 1024},    {"m", 1000000},
                 {"mb", 1 << 20}, {"g", 1000000000}, {"gb", 1 << 30}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strcasecmp(end, units[i].u) == 0) {
            if (v > (unsigned long long)LLONG_MAX / units[i].mul) return false;
            *out = (long long)(v * units[i].mul);
            return true;
        }
    return false;
}

/* "" or pairs of non-negative integers (seconds changes). */
static bool valid_save(const char *s) {
    long long n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p)) p++;
        if (*p && *p != ' ') return false;
        n++;
    }
    return n % 2 == 0;
}

/* Space-separated doubles in [0, 100] ("" allowed). */
static bool valid_percentiles(const char *s) {
    const char *p = s;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        double d = strtod(p, &end);
        if (errno || end == p || (*end && *end != ' ') || !(d >= 0 && d <= 100)) return false;
        p = end;
    }
    return true;
}

static bool valid_oom_values(const char *s) {
    long long v;
    int n = 0;
    char buf[96];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save), n++)
        if (!parse_ll(t, &v) || v < -2000 || v > 2000) return false;
    return n == 3;
}

int compat_set(config_compat *cc, int i, const char *value, char *err, size_t errlen) {
    const compat_param *p = &params[i];
    char buf[64];
    const char *store = value;
    long long v;
    switch (p->kind) {
    case K_INT:
        if (!parse_ll(value, &v)) return fail(err, errlen, "argument couldn't be parsed into an integer");
        if (v < p->min || v > p->max) {
            if (errlen) snprintf(err, errlen, "argument must be between %lld and %lld inclusive", p->min, p->max);
            return -1;
        }
        snprintf(buf, sizeof buf, "%lld", v);
        store = buf;
        break;
    case K_BOOL:
        if (strcasecmp(value, "yes") && strcasecmp(value, "no")) return fail(err, errlen, "argument must be 'yes' or 'no'");
        store = strcasecmp(value, "yes") == 0 ? "yes" : "no";
        break;
    case K_ENUM: {
        const char *hit = NULL;
        for (size_t j = 0; p->enums[j] && !hit; j++)
            if (strcasecmp(value, p->enums[j]) == 0) hit = p->enums[j];
        if (!hit) {
            char list[256] = "";
            for (size_t j = 0; p->enums[j]; j++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", j ? ", " : "", p->enums[j]);
            }
            if (errlen) snprintf(err, errlen, "argument(s) must be one of the following: %s", list);
            return -1;
        }
        store = hit;
        break;
    }
    case K_MEM:
        if (!parse_mem(value, &v)) return fail(err, errlen, "argument must be a memory value");
        snprintf(buf, sizeof buf, "%lld", v);
        store = buf;
        break;
    case K_SAVE:
        if (!valid_save(value)) return fail(err, errlen, "Invalid save parameters");
        break;
    case K_PERCENTILES:
        if (!valid_percentiles(value))
            return fail(err, errlen, "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
        break;
    case K_OOM_VALUES:
        if (!valid_oom_values(value)) return fail(err, errlen, "wrong number of arguments");
        break;
    case K_EVENTS:
        if (value[strspn(value, "Ag$lshzxeKEtmdn")])
            return fail(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        break;
    case K_STR:
        break;
    }
    char *copy = strdup(store);
    if (!copy) return -2;
    free(cc->value[i]);
    cc->value[i] = copy;
    return 0;
}

void compat_free(config_compat *cc) {
    for (size_t i = 0; i < CONFIG_COMPAT_MAX; i++) {
        free(cc->value[i]);
        cc->value[i] = NULL;
    }
}
