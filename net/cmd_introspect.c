/* cmd_introspect.c -- MEMORY, OBJECT, FUNCTION, SCRIPT and the scripting commands (EVAL, EVALSHA,
 * EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO), with Redis 7.0's arities, replies and error texts
 * wherever Strata can answer truly. Each container dispatches its subcommands from a table
 * (cmd_run_sub), which COMMAND INFO and COMMAND GETKEYS read too.
 *
 * MEMORY USAGE counts logical bytes: the engine keys and values a key owns as keyspace.h lays
 * them out (its record, its expiry index entry, its elements, and for a sorted set its
 * score-index entries and an estimate of its rank index), before compression and without the
 * engine's per-entry framing (sequence numbers, block trailers, memtable nodes). Redis counts the
 * allocator bytes of an in-memory object: the two are of the same scale, never equal. A
 * collection is sampled as Redis samples one: its first SAMPLES elements (default 5, 0: all) in
 * key order, averaged, times its size. Keys are the connection's (its tenant and database).
 * MEMORY STATS and DOCTOR report process and engine figures only, never a key or a count of
 * anyone's keys, so a tenant may run them. OBJECT ENCODING is "lsm" for every type: a value is
 * records in the LSM tree, with no in-memory encoding to name. Strata tracks no access time or
 * frequency, so OBJECT IDLETIME and FREQ refuse an existing key (nil for a missing one).
 * Strata runs no scripts: FUNCTION and SCRIPT answer as a server with no library and no cached
 * script, and what would load or run one is refused (no_scripting), except EVALSHA, which
 * answers Redis's NOSCRIPT (true here for every digest) so that a client falls back to EVAL. */
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "zrank.h"

static void reply_lines(cmd_ctx *x, const char *const *lines, size_t n) {
    reply_array_header(x->rb, n);
    for (size_t i = 0; i < n; i++) reply_simple(x->rb, lines[i]);
}
#define REPLY_LINES(x, lines) reply_lines((x), (lines), sizeof(lines) / sizeof *(lines))

/* The one error of everything that would load or run a script; `what` names the command. */
static void no_scripting(cmd_ctx *x, const char *what) {
    reply_errorf(x->rb, "ERR scripting is not supported by Strata (%s): send the script's commands from the "
                        "client, in MULTI/EXEC to run them atomically", what);
}

/* ---- MEMORY USAGE ----------------------------------------------------------------------------------- */

/* Rank-index entries of a sorted set of `size` members with `levels` levels (zrank.h): about one
 * per ZRANK_LEAF members at level 0, ZRANK_FANOUT times fewer at each level above, and a sentinel
 * per level. An estimate: ranges hold between a quarter and twice ZRANK_LEAF entries. */
static uint64_t rank_entries(uint64_t size, unsigned levels) {
    uint64_t n = 0, per = ZRANK_LEAF;
    for (unsigned h = 0; h < levels && h < ZRANK_MAX_LEVELS; h++, per *= ZRANK_FANOUT) n += size / per + 1;
    return n;
}

/* The bytes key owns (see the top of the file), its collection sampled up to `samples`
 * elements. 0, KS_ENOTFOUND, or a keyspace error. Call holding the key's lock (K3: the version
 * read stays live while its elements are read). */
static int key_usage(cmd_ctx *x, const uint8_t *key, size_t klen, uint64_t samples, uint64_t *out) {
    ks_rec r;
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, &r);
    if (rc) return rc;
    uint64_t total = ks_record_bytes(klen, &r);
    ks_coll c;
    rc = r.type == KS_STRING ? KS_ENOTFOUND : ks_rec_coll(&r, &c);
    ks_rec_free(&r);
    if (rc == KS_ENOTFOUND) { /* a string: its record is all of it */
        *out = total;
        return 0;
    }
    if (rc) return rc;
    ks_ckey ck = {x->ns, key, klen, c.version};
    ks_elems *it;
    if ((rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it))) return rc;
    uint64_t seen = 0, bytes = 0, el_bytes = 0;
    for (ks_elems_seek(it, NULL, 0); ks_elems_valid(it) && seen < samples; ks_elems_next(it), seen++) {
        size_t elen, vlen;
        ks_elems_el(it, &elen);
        ks_elems_val(it, &vlen);
        bytes += ks_elem_bytes(klen, elen, vlen);
        /* a member's score-index entry: order(score) u64 | member -> the same 8 bytes (cmd_zset.c) */
        if (c.type == KS_ZSET) bytes += ks_elem_bytes(klen, 8 + elen, vlen);
        el_bytes += elen;
    }
    rc = ks_elems_status(it);
    ks_elems_close(it);
    if (rc) return rc;
    if (seen) {
        total += seen >= c.size ? bytes : (uint64_t)((double)bytes / (double)seen * (double)c.size + 0.5);
        /* rank entries: level u8 | 00 | a score-index key -> count u64 */
        if (c.type == KS_ZSET && c.rank_levels)
            total += rank_entries(c.size, c.rank_levels) * ks_elem_bytes(klen, 2 + 8 + el_bytes / seen, 8);
    }
    *out = total;
    return 0;
}

/* MEMORY USAGE key [SAMPLES count] */
static void memory_usage(cmd_ctx *x) {
    long long samples = 5;
    for (size_t j = 3; j < x->argc; j++) {
        if (cmd_arg_is(x, j, "samples") && j + 1 < x->argc) {
            if (!cmd_arg_ll(x, j + 1, &samples)) return;
            if (samples < 0) {
                reply_shared(x->rb, REPLY_SH_SYNTAX);
                return;
            }
            if (samples == 0) samples = LLONG_MAX;
            j++;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    const uint8_t *key = x->argv[2];
    size_t klen = x->argvlen[2];
    uint64_t bytes = 0;
    ks_lock(x->k, x->ns, key, klen);
    int rc = key_usage(x, key, klen, (uint64_t)samples, &bytes);
    ks_unlock(x->k, x->ns, key, klen);
    if (rc == KS_ENOTFOUND) reply_null(x->rb);
    else if (rc) cmd_reply_ks_error(x, rc);
    else reply_int(x->rb, bytes > LLONG_MAX ? LLONG_MAX : (long long)bytes);
}

/* ---- MEMORY STATS / DOCTOR / MALLOC-STATS / PURGE / HELP ---------------------------------------------- */

/* A "Name:   <n> kB" field of /proc/self/status in bytes; 0 when it cannot be read. */
static uint64_t proc_status_bytes(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    size_t n = strlen(field);
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            if (sscanf(line + n + 1, "%llu", &kb) != 1) kb = 0;
            break;
        }
    fclose(f);
    return (uint64_t)kb * 1024;
}

typedef struct stat_item {
    const char *name;
    bool is_double;
    uint64_t u;
    double d;
} stat_item;

/* MEMORY STATS: Redis's map, with the figures Strata has under Redis's names (process memory:
 * its resident set, as INFO's used_memory; the parts Strata does not have, replication backlog,
 * replicas, Lua and functions, are 0) and the engine's parts under engine.*. Redis's figures that
 * Strata does not know cheaply (startup memory, clients' buffers, key counts, allocator
 * internals) are left out rather than guessed. */
static void memory_stats(cmd_ctx *x) {
    ks_memory m;
    int rc = ks_memory_stats(x->k, &m);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    uint64_t rss = proc_status_bytes("VmRSS"), peak = proc_status_bytes("VmHWM");
    stat_item it[24];
    size_t n = 0;
#define U(nm, v) it[n++] = (stat_item){(nm), false, (uint64_t)(v), 0}
#define D(nm, v) it[n++] = (stat_item){(nm), true, 0, (v)}
    if (peak) U("peak.allocated", peak);
    if (rss) U("total.allocated", rss);
    U("replication.backlog", 0);
    U("clients.slaves", 0);
    U("lua.caches", 0);
    U("functions.caches", 0);
    if (peak && rss) D("peak.percentage", (double)rss * 100.0 / (double)peak);
    U("engine.memory.bytes", m.memory_bytes);
    U("engine.memory.limit", m.memory_limit_bytes);
    U("engine.memtable.bytes", m.memtable_bytes);
    U("engine.immutable-memtables.bytes", m.immutable_bytes);
    U("engine.immutable-memtables.count", m.immutable_count);
    U("engine.write-buffer.bytes", m.write_buffer_bytes);
    U("engine.block-cache.bytes", m.cache_usage_bytes);
    U("engine.block-cache.capacity", m.cache_capacity_bytes);
    U("engine.block-cache.pinned", m.cache_pinned_bytes);
    if (m.cache_hits + m.cache_misses)
        D("engine.block-cache.hit-ratio", (double)m.cache_hits / (double)(m.cache_hits + m.cache_misses));
    U("engine.table-readers.bytes", m.table_reader_bytes);
    U("engine.open-tables", m.open_tables);
#undef U
#undef D
    reply_map_header(x->rb, n);
    for (size_t i = 0; i < n; i++) {
        reply_bulk_str(x->rb, it[i].name);
        if (it[i].is_double) reply_double(x->rb, it[i].d);
        else reply_int(x->rb, it[i].u > LLONG_MAX ? LLONG_MAX : (long long)it[i].u);
    }
}

/* "12.34M" */
static const char *human(uint64_t b, char *buf, size_t cap) {
    static const char units[] = "BKMGTP";
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units - 1) {
        v /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, cap, "%lluB", (unsigned long long)b);
    else snprintf(buf, cap, "%.2f%c", v, units[u]);
    return buf;
}

/* The doctor's report: a fixed buffer its few paragraphs fit in (a longer one is cut). */
typedef struct doc_text {
    char p[2048];
    size_t len;
    int issues;
} doc_text;

static void doc_add(doc_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_add(doc_text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->p + t->len, sizeof t->p - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) t->len = t->len + (size_t)n < sizeof t->p ? t->len + (size_t)n : sizeof t->p - 1;
}

/* Below these, a figure says nothing: a cache hit ratio over fewer lookups, an RSS excess. */
#define DOCTOR_MIN_LOOKUPS 1000
#define DOCTOR_RSS_SLACK ((uint64_t)64 << 20)

/* MEMORY DOCTOR: Redis's report, about what bounds Strata's memory: memory_limit against the
 * engine's parts and the process, the block cache's hit ratio, memtables waiting for a flush. */
static void memory_doctor(cmd_ctx *x) {
    ks_memory m;
    int rc = ks_memory_stats(x->k, &m);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    uint64_t rss = proc_status_bytes("VmRSS"), lookups = m.cache_hits + m.cache_misses;
    char a[32], b[32], c[32], d[32];
    doc_text t = {.len = 0};
    doc_add(&t, "Sam, I looked at this Strata instance's memory:\n\n");
    if (m.memory_limit_bytes && m.memory_bytes * 10 > m.memory_limit_bytes * 9) {
        t.issues++;
        doc_add(&t,
                " * The storage engine uses %s of its memory_limit of %s (memtables %s, block cache %s). It "
                "stays within the limit by evicting cached blocks: if reads slow down, raise memory_limit.\n\n",
                human(m.memory_bytes, a, sizeof a), human(m.memory_limit_bytes, b, sizeof b),
                human(m.memtable_bytes + m.immutable_bytes, c, sizeof c), human(m.cache_usage_bytes, d, sizeof d));
    }
    if (m.memory_limit_bytes && rss > m.memory_limit_bytes + m.memory_limit_bytes / 2 + DOCTOR_RSS_SLACK) {
        t.issues++;
        doc_add(&t,
                " * The process's resident memory (%s) is well above memory_limit (%s): the limit bounds the "
                "engine's memtables, block cache and table readers, not connections' buffers or the "
                "allocator's free memory. MEMORY PURGE returns free heap pages to the system.\n\n",
                human(rss, a, sizeof a), human(m.memory_limit_bytes, b, sizeof b));
    }
    if (lookups >= DOCTOR_MIN_LOOKUPS && m.cache_hits * 2 < lookups) {
        t.issues++;
        doc_add(&t,
                " * The block cache answered %.1f%% of %llu lookups: most reads go to disk. The cache holds "
                "%s of %s; a larger memory_limit gives it more room.\n\n",
                100.0 * (double)m.cache_hits / (double)lookups, (unsigned long long)lookups,
                human(m.cache_usage_bytes, a, sizeof a), human(m.cache_capacity_bytes, b, sizeof b));
    }
    if (m.immutable_count >= 2) {
        t.issues++;
        doc_add(&t,
                " * %llu memtables (%s) wait to be flushed: flushes lag behind writes, and writes stall when "
                "too many wait. Check the disk's write throughput (INFO storage).\n\n",
                (unsigned long long)m.immutable_count, human(m.immutable_bytes, a, sizeof a));
    }
    if (!t.issues) {
        t.len = 0;
        doc_add(&t, "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs "
                    "on this base.\n");
    } else {
        doc_add(&t, "I'm here to keep you safe, Sam. I want to help you.\n");
    }
    reply_verbatim(x->rb, t.p, t.len, "txt");
}

static void memory_malloc_stats(cmd_ctx *x) {
    reply_bulk_str(x->rb, "Stats not supported for the current allocator (see MEMORY STATS for the engine's memory)");
}

/* The allocator (glibc's) gives free heap pages back to the system, as Redis's purge of
 * jemalloc's dirty pages. */
static void memory_purge(cmd_ctx *x) {
    malloc_trim(0);
    reply_shared(x->rb, REPLY_SH_OK);
}

static void memory_help(cmd_ctx *x) {
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return the bytes <key> takes in the storage engine (keys and values, before",
        "    compression). Nested values are sampled up to <count> times (default: 5,",
        "    0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    REPLY_LINES(x, lines);
}

const cmd_sub cmd_memory_subs[] = {
    {"doctor", memory_doctor, 2, 0, 0},
    {"help", memory_help, 2, CMD_LOADING | CMD_STALE, 0},
    {"malloc-stats", memory_malloc_stats, 2, 0, 0},
    {"purge", memory_purge, 2, 0, 0},
    {"stats", memory_stats, 2, 0, 0},
    {"usage", memory_usage, -3, CMD_READONLY, 2},
    {NULL, NULL, 0, 0, 0},
};

void cmd_memory(cmd_ctx *x) { cmd_run_sub(x, "memory", cmd_memory_subs); }

/* ---- OBJECT ------------------------------------------------------------------------------------------- */

/* Whether argv[2] names a live key; false after replying nil (missing) or an error. */
static bool object_key(cmd_ctx *x) {
    ks_rec r;
    int rc = ks_lookup(x->k, x->ns, x->argv[2], x->argvlen[2], x->now_ms, &r);
    if (rc == 0) {
        ks_rec_free(&r);
        return true;
    }
    if (rc == KS_ENOTFOUND) reply_null(x->rb);
    else cmd_reply_ks_error(x, rc);
    return false;
}

static void object_encoding(cmd_ctx *x) {
    if (object_key(x)) reply_bulk_str(x->rb, "lsm");
}

static void object_refcount(cmd_ctx *x) {
    if (object_key(x)) reply_int(x->rb, 1);
}

static void object_idletime(cmd_ctx *x) {
    if (object_key(x))
        reply_error(x->rb, "ERR access time not tracked: Strata keeps no per-key access time (keys live in an "
                           "LSM tree on disk, with no LRU eviction)");
}

static void object_freq(cmd_ctx *x) {
    if (object_key(x))
        reply_error(x->rb, "ERR access frequency not tracked: Strata keeps no per-key access counter (keys live "
                           "in an LSM tree on disk, with no LFU eviction)");
}

static void object_help(cmd_ctx *x) {
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>: \"lsm\" (records in the storage engine) for every type.",
        "FREQ <key>",
        "    Not tracked by Strata: an error for an existing <key>.",
        "IDLETIME <key>",
        "    Not tracked by Strata: an error for an existing <key>.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>: always 1.",
        "HELP",
        "    Prints this help.",
    };
    REPLY_LINES(x, lines);
}

const cmd_sub cmd_object_subs[] = {
    {"encoding", object_encoding, 3, CMD_READONLY, 2},
    {"freq", object_freq, 3, CMD_READONLY, 2},
    {"help", object_help, 2, CMD_LOADING | CMD_STALE, 0},
    {"idletime", object_idletime, 3, CMD_READONLY, 2},
    {"refcount", object_refcount, 3, CMD_READONLY, 2},
    {NULL, NULL, 0, 0, 0},
};

void cmd_object(cmd_ctx *x) { cmd_run_sub(x, "object", cmd_object_subs); }

/* ---- FUNCTION ------------------------------------------------------------------------------------------ */

/* FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]: checked as Redis does, then no library. */
static void function_list(cmd_ctx *x) {
    bool with_code = false, name = false;
    for (size_t i = 2; i < x->argc; i++) {
        if (!with_code && cmd_arg_is(x, i, "withcode")) {
            with_code = true;
        } else if (!name && cmd_arg_is(x, i, "libraryname")) {
            if (i + 1 >= x->argc) {
                reply_error(x->rb, "ERR library name argument was not given");
                return;
            }
            name = true;
            i++;
        } else {
            reply_errorf(x->rb, "ERR Unknown argument %.*s", (int)(x->argvlen[i] > 128 ? 128 : x->argvlen[i]),
                         (const char *)x->argv[i]);
            return;
        }
    }
    reply_shared(x->rb, REPLY_SH_EMPTY_ARRAY);
}

static void function_flush(cmd_ctx *x) {
    if (x->argc > 3) {
        reply_errorf(x->rb, "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try FUNCTION HELP.",
                     (int)x->argvlen[1], (const char *)x->argv[1]);
        return;
    }
    if (x->argc == 3 && !cmd_arg_is(x, 2, "sync") && !cmd_arg_is(x, 2, "async")) {
        reply_error(x->rb, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    reply_shared(x->rb, REPLY_SH_OK);
}

/* No function runs, and no engine exists to run one: Redis's shape with an empty engines map. */
static void function_stats(cmd_ctx *x) {
    reply_map_header(x->rb, 2);
    reply_bulk_str(x->rb, "running_script");
    reply_null(x->rb);
    reply_bulk_str(x->rb, "engines");
    reply_map_header(x->rb, 0);
}

static void function_delete(cmd_ctx *x) { reply_error(x->rb, "ERR Library not found"); }
static void function_kill(cmd_ctx *x) { reply_error(x->rb, "NOTBUSY No scripts in execution right now."); }
static void function_load(cmd_ctx *x) { no_scripting(x, "FUNCTION LOAD"); }
static void function_dump(cmd_ctx *x) { no_scripting(x, "FUNCTION DUMP"); }
static void function_restore(cmd_ctx *x) { no_scripting(x, "FUNCTION RESTORE"); }

static void function_help(cmd_ctx *x) {
    static const char *const lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries: none in Strata.",
        "STATS",
        "    Return information about the current function running (none) and the engines (none).",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries (there are none).",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library (there are none).",
        "KILL",
        "    Kill the current running function (none runs).",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "DUMP",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Not supported: Strata runs no scripts.",
        "HELP",
        "    Prints this help.",
    };
    REPLY_LINES(x, lines);
}

const cmd_sub cmd_function_subs[] = {
    {"delete", function_delete, 3, CMD_NOSCRIPT, 0},
    {"dump", function_dump, 2, CMD_NOSCRIPT, 0},
    {"flush", function_flush, -2, CMD_NOSCRIPT, 0},
    {"help", function_help, 2, CMD_LOADING | CMD_STALE, 0},
    {"kill", function_kill, 2, CMD_NOSCRIPT, 0},
    {"list", function_list, -2, CMD_NOSCRIPT, 0},
    {"load", function_load, -3, CMD_NOSCRIPT, 0},
    {"restore", function_restore, -3, CMD_NOSCRIPT, 0},
    {"stats", function_stats, 2, CMD_NOSCRIPT, 0},
    {NULL, NULL, 0, 0, 0},
};

void cmd_function(cmd_ctx *x) { cmd_run_sub(x, "function", cmd_function_subs); }

/* ---- SCRIPT ------------------------------------------------------------------------------------------- */

static void script_exists(cmd_ctx *x) {
    reply_array_header(x->rb, x->argc - 2);
    for (size_t i = 2; i < x->argc; i++) reply_shared(x->rb, REPLY_SH_ZERO);
}

static void script_flush(cmd_ctx *x) {
    if (x->argc == 2 || (x->argc == 3 && (cmd_arg_is(x, 2, "sync") || cmd_arg_is(x, 2, "async"))))
        reply_shared(x->rb, REPLY_SH_OK);
    else
        reply_error(x->rb, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
}

static void script_kill(cmd_ctx *x) { reply_error(x->rb, "NOTBUSY No scripts in execution right now."); }
static void script_load(cmd_ctx *x) { no_scripting(x, "SCRIPT LOAD"); }

/* SCRIPT DEBUG NO is what runs anyway; YES and SYNC would debug scripts. */
static void script_debug(cmd_ctx *x) {
    if (cmd_arg_is(x, 2, "no")) reply_shared(x->rb, REPLY_SH_OK);
    else if (cmd_arg_is(x, 2, "yes") || cmd_arg_is(x, 2, "sync")) no_scripting(x, "SCRIPT DEBUG");
    else reply_error(x->rb, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
}

static void script_help(cmd_ctx *x) {
    static const char *const lines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache (none in Strata).",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache (it is always empty).",
        "KILL",
        "    Kill the currently executing Lua script (none runs).",
        "LOAD <script>",
        "DEBUG (YES|SYNC|NO)",
        "    Not supported (DEBUG NO is accepted): Strata runs no scripts.",
        "HELP",
        "    Prints this help.",
    };
    REPLY_LINES(x, lines);
}

const cmd_sub cmd_script_subs[] = {
    {"debug", script_debug, 3, CMD_NOSCRIPT, 0},
    {"exists", script_exists, -3, CMD_NOSCRIPT, 0},
    {"flush", script_flush, -2, CMD_NOSCRIPT, 0},
    {"help", script_help, 2, CMD_LOADING | CMD_STALE, 0},
    {"kill", script_kill, 2, CMD_NOSCRIPT, 0},
    {"load", script_load, 3, CMD_NOSCRIPT | CMD_STALE, 0},
    {NULL, NULL, 0, 0, 0},
};

void cmd_script(cmd_ctx *x) { cmd_run_sub(x, "script", cmd_script_subs); }

/* ---- EVAL, EVALSHA, FCALL ------------------------------------------------------------------------------- */

/* EVAL and EVAL_RO check numkeys as Redis does before refusing, so a malformed call gets the
 * same error from both servers. */
static void eval_generic(cmd_ctx *x, const char *what) {
    long long nk;
    if (!cmd_arg_ll(x, 2, &nk)) return;
    if (nk > (long long)(x->argc - 3)) reply_error(x->rb, "ERR Number of keys can't be greater than number of args");
    else if (nk < 0) reply_error(x->rb, "ERR Number of keys can't be negative");
    else no_scripting(x, what);
}

void cmd_eval(cmd_ctx *x) { eval_generic(x, "EVAL"); }
void cmd_eval_ro(cmd_ctx *x) { eval_generic(x, "EVAL_RO"); }

/* No script is ever cached, so every digest is unknown: Redis's reply, which clients answer by
 * sending EVAL (and then hear why). */
void cmd_evalsha(cmd_ctx *x) { reply_error(x->rb, "NOSCRIPT No matching script. Please use EVAL."); }
void cmd_evalsha_ro(cmd_ctx *x) { cmd_evalsha(x); }

void cmd_fcall(cmd_ctx *x) { no_scripting(x, "FCALL"); }
void cmd_fcall_ro(cmd_ctx *x) { no_scripting(x, "FCALL_RO"); }
