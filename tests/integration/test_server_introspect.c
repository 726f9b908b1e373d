/* test_server_introspect.c -- the introspection commands of strata-server (net/cmd_introspect.c,
 * COMMAND GETKEYS in net/cmd_server.c) against Redis 7.0's replies:
 *  - MEMORY USAGE: nil for a missing or expired key, the logical bytes of strings and of every
 *    collection type (Strata: exactly the engine's key and value bytes; sampling shows in the
 *    estimate; sorted sets count their score and rank index), SAMPLES parsing and its errors;
 *    MEMORY STATS / DOCTOR / MALLOC-STATS / PURGE / HELP, subcommand errors; the doctor and the
 *    stats of a server with a 4 MiB memory_limit whose reads all miss the block cache;
 *  - OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP: nil for a missing key first, "lsm" and 1
 *    for every type, the refusals of what Strata does not track;
 *  - FUNCTION and SCRIPT as a server with no library and no cached script; EVAL, EVALSHA, FCALL
 *    and the loads refused (EVAL's numkeys checked first, as Redis does), EVALSHA's NOSCRIPT;
 *  - COMMAND GETKEYS / GETKEYSANDFLAGS for fixed key positions, numkeys forms (EVAL, FCALL,
 *    ZUNION..., LMPOP, BLMPOP, SINTERCARD), keyed subcommands (MEMORY USAGE, OBJECT), SET's GET,
 *    with Redis's error texts; COMMAND INFO / DOCS / COUNT / LIST of the new commands;
 *  - tenants: MEMORY USAGE and OBJECT see only the connection's own keys.
 * Everything both servers define is checked on both (STRATA_IT_SERVER=/usr/bin/redis-server);
 * Strata's own answers (exact byte counts, "lsm", its refusals, tenants) only on Strata. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-introspect", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

#define STRATA (!st_server_is_redis())
#define NO_SCRIPTING "ERR scripting is not supported by Strata ("

/* Engine bytes as keyspace.h lays them out (the figures MEMORY USAGE adds up on Strata): a
 * record is ns (5) | 'M' | key -> flags | [expiry u64] | payload; an element is ns | space |
 * klen u32 | key | version u64 | element -> value; an expiry index entry FF FF FF FF 'X' |
 * expire u64 | ns | key -> "". Collections' payloads: version and size (u64 each), lists also
 * head and tail. */
#define REC_BYTES(klen, payload) (6 + (klen) + 1 + (payload))
#define EXPIRY_BYTES(klen) (18 + (klen))
#define ELEM_BYTES(klen, elen, vlen) (18 + (klen) + (elen) + (vlen))

static long long usage(redisContext *c, const char *file, int line, const char *fmt, const char *key) {
    redisReply *r = st_cmd(c, file, line, fmt, key);
    if (r->type != REDIS_REPLY_INTEGER) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "MEMORY USAGE %s: %s, want an integer", key, s);
    }
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}
#define USAGE(c, key) usage((c), __FILE__, __LINE__, "MEMORY USAGE %s", (key))
#define USAGE_ALL(c, key) usage((c), __FILE__, __LINE__, "MEMORY USAGE %s SAMPLES 0", (key))

/* The value of name in a map reply (RESP2: a flat array of pairs), NULL when absent. */
static const redisReply *map_get(const redisReply *r, const char *name) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) return NULL;
    for (size_t i = 0; i < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name)) return r->element[i + 1];
    return NULL;
}

/* A reply that must be an error (both servers refuse, each in its words). */
static void expect_any_error(redisContext *c, const char *file, int line, const char *what, const char *cmd) {
    redisReply *r = st_cmd(c, file, line, cmd);
    if (r->type != REDIS_REPLY_ERROR) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "%s: %s, want an error (%s)", cmd, s, what);
    }
    freeReplyObject(r);
}
#define EXPECT_ANY_ERROR(c, what, cmd) expect_any_error((c), __FILE__, __LINE__, (what), (cmd))

/* <CMD> HELP answers lines, the first one Redis's. */
static void expect_help(redisContext *c, const char *file, int line, const char *cmd) {
    redisReply *r = st_cmd(c, file, line, "%s HELP", cmd);
    char first[128];
    snprintf(first, sizeof first, "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STATUS ||
        strcmp(r->element[0]->str, first)) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "%s HELP: %s (want lines starting with \"%s\")", cmd, s, first);
    }
    freeReplyObject(r);
}
#define EXPECT_HELP(c, cmd) expect_help((c), __FILE__, __LINE__, (cmd))

/* ---- MEMORY USAGE ------------------------------------------------------------------------------------------ */

static void test_memory_usage_strings(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "MEMORY USAGE missing");
    EXPECT_NIL(c, "MEMORY USAGE missing SAMPLES 0");
    char v100[101], v1000[1001];
    memset(v100, 'x', 100);
    v100[100] = 0;
    memset(v1000, 'y', 1000);
    v1000[1000] = 0;
    EXPECT_OK(c, "SET k %s", v100);
    EXPECT_OK(c, "SET big %s", v1000);
    long long small = USAGE(c, "k"), big = USAGE(c, "big");
    assert_true(small >= 100);
    assert_true(big >= 1000 && big > small);
    assert_int_equal(USAGE_ALL(c, "k"), small); /* nothing to sample in a string */
    if (STRATA) {
        assert_int_equal(small, REC_BYTES(1, 100));
        assert_int_equal(big, REC_BYTES(3, 1000));
        /* an expiry: 8 bytes in the record and its index entry */
        EXPECT_OK(c, "SET e v EX 1000");
        assert_int_equal(USAGE(c, "e"), REC_BYTES(1, 1 + 8) + EXPIRY_BYTES(1));
        EXPECT_OK(c, "SET %b %s", "bin\0key", (size_t)7, v100);
        redisReply *r = CMD(c, "MEMORY USAGE %b", "bin\0key", (size_t)7);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, REC_BYTES(7, 100));
        freeReplyObject(r);
    }
    /* an expired key is gone (Redis 7.0 still measures it until it is reclaimed) */
    EXPECT_OK(c, "SET gone v PXAT 1");
    if (STRATA) EXPECT_NIL(c, "MEMORY USAGE gone");
    /* SAMPLES is parsed before the key is looked at, as Redis does */
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "MEMORY USAGE missing SAMPLES x");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "MEMORY USAGE k SAMPLES 1.5");
    EXPECT_ERR(c, "ERR syntax error", "MEMORY USAGE k SAMPLES -1");
    EXPECT_ERR(c, "ERR syntax error", "MEMORY USAGE missing SAMPLES");
    EXPECT_ERR(c, "ERR syntax error", "MEMORY USAGE k foo");
    EXPECT_ERR(c, "ERR syntax error", "MEMORY USAGE k a b");
    EXPECT_INT(c, small, "MEMORY USAGE k samples 3 SAMPLES 7"); /* repeatable, case-insensitive */
    EXPECT_ERR(c, "ERR wrong number of arguments for 'memory|usage' command", "MEMORY USAGE");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'memory' command", "MEMORY");
}

static void test_memory_usage_collections(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "HSET h f1 v1 f2 v2 f3 v3");
    EXPECT_INT(c, 3, "RPUSH l a b c");
    EXPECT_INT(c, 2, "SADD s m1 m2");
    EXPECT_INT(c, 2, "ZADD z 1 m1 2 m2");
    static const char *const keys[] = {"h", "l", "s", "z"};
    for (size_t i = 0; i < 4; i++) {
        long long u = USAGE(c, keys[i]);
        if (u <= 0) ST_FAIL("MEMORY USAGE %s: %lld", keys[i], u);
        assert_int_equal(USAGE_ALL(c, keys[i]), u); /* all of them are sampled either way */
    }
    /* more elements, more bytes */
    char cmd[64];
    for (int i = 0; i < 50; i++) {
        snprintf(cmd, sizeof cmd, "RPUSH biglist element-%04d", i);
        redisReply *r = CMD(c, cmd);
        freeReplyObject(r);
    }
    assert_true(USAGE_ALL(c, "biglist") > USAGE_ALL(c, "l"));
    if (!STRATA) return;
    /* exactly the engine's bytes: the record, then one entry per field */
    assert_int_equal(USAGE(c, "h"), REC_BYTES(1, 16) + 3 * ELEM_BYTES(1, 2, 2));
    assert_int_equal(USAGE(c, "s"), REC_BYTES(1, 16) + 2 * ELEM_BYTES(1, 2, 0));
    /* a list's items are keyed by an 8-byte index; its record also holds head and tail */
    assert_int_equal(USAGE(c, "l"), REC_BYTES(1, 32) + 3 * ELEM_BYTES(1, 8, 1));
    /* a sorted set's member is an element (-> its score) and a score-index entry (order(score) |
     * member -> the score): more than the set of the same members; its record may carry hints */
    long long z = USAGE(c, "z"), members = 2 * (ELEM_BYTES(1, 2, 8) + ELEM_BYTES(1, 8 + 2, 8));
    if (z < REC_BYTES(1, 16) + members || z > REC_BYTES(1, 16) + members + 600)
        ST_FAIL("MEMORY USAGE z: %lld, want the record and %lld bytes of entries", z, members);
    /* sampling: 5 small fields first in key order, 95 big ones after; SAMPLES 5 (the default)
     * sees the small ones only and extrapolates them, SAMPLES 0 counts everything */
    char big[101];
    memset(big, 'v', 100);
    big[100] = 0;
    for (int i = 0; i < 5; i++) EXPECT_INT(c, 1, "HSET sampled a%d x", i);
    for (int i = 0; i < 95; i++) EXPECT_INT(c, 1, "HSET sampled b%02d %s", i, big);
    long long est = USAGE(c, "sampled"), all = USAGE_ALL(c, "sampled");
    assert_int_equal(est, REC_BYTES(7, 16) + 100 * ELEM_BYTES(7, 2, 1));
    assert_int_equal(all, REC_BYTES(7, 16) + 5 * ELEM_BYTES(7, 2, 1) + 95 * ELEM_BYTES(7, 3, 100));
    EXPECT_INT(c, est, "MEMORY USAGE sampled SAMPLES 5");
    EXPECT_INT(c, all, "MEMORY USAGE sampled SAMPLES 100");
    EXPECT_INT(c, all, "MEMORY USAGE sampled SAMPLES 1000000");
    /* a sorted set past 256 members has a rank index: counted too */
    for (int i = 0; i < 300; i++) EXPECT_INT(c, 1, "ZADD ranked %d m%03d", i, i);
    long long ranked = USAGE_ALL(c, "ranked"), entries = 300 * (ELEM_BYTES(6, 4, 8) + ELEM_BYTES(6, 12, 8));
    if (ranked <= REC_BYTES(6, 16) + entries || ranked > REC_BYTES(6, 16) + entries + 2000)
        ST_FAIL("MEMORY USAGE ranked: %lld, want more than %lld (record and entries) for the rank index", ranked,
                REC_BYTES(6, 16) + entries);
}

/* ---- MEMORY STATS / DOCTOR / MALLOC-STATS / PURGE / HELP ------------------------------------------------ */

static void test_memory_server_wide(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET secret-key-name v");
    redisReply *r = CMD(c, "MEMORY STATS");
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 || r->elements < 4) {
        char *s = st_reply_repr(r);
        ST_FAIL("MEMORY STATS: %s, want a map", s);
    }
    static const char *const positive[] = {"peak.allocated", "total.allocated"};
    for (size_t i = 0; i < 2; i++) {
        const redisReply *v = map_get(r, positive[i]);
        if (!v || v->type != REDIS_REPLY_INTEGER || v->integer <= 0) ST_FAIL("MEMORY STATS lacks a positive %s", positive[i]);
    }
    for (size_t i = 0; i < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strstr(r->element[i]->str, "secret"))
            ST_FAIL("MEMORY STATS names a key: %s", r->element[i]->str);
    if (STRATA) {
        static const char *const engine[] = {"engine.memory.bytes", "engine.memory.limit", "engine.memtable.bytes",
                                             "engine.block-cache.capacity", "engine.table-readers.bytes"};
        for (size_t i = 0; i < sizeof engine / sizeof *engine; i++) {
            const redisReply *v = map_get(r, engine[i]);
            if (!v || v->type != REDIS_REPLY_INTEGER || v->integer < 0) ST_FAIL("MEMORY STATS lacks %s", engine[i]);
        }
        /* the server runs with the default memory_limit (1 GiB), which bounds the engine's parts */
        assert_int_equal(map_get(r, "engine.memory.limit")->integer, 1LL << 30);
        assert_true(map_get(r, "engine.memory.bytes")->integer <= 1LL << 30);
        assert_null(map_get(r, "keys.count")); /* not known cheaply: left out, not guessed */
    }
    freeReplyObject(r);
    r = CMD(c, "MEMORY DOCTOR");
    if (r->type != REDIS_REPLY_STRING || r->len < 10) ST_FAIL("MEMORY DOCTOR: not a report");
    if (STRATA && !strstr(r->str, "Sam")) ST_FAIL("MEMORY DOCTOR: %s", r->str);
    freeReplyObject(r);
    r = CMD(c, "MEMORY MALLOC-STATS");
    if (r->type != REDIS_REPLY_STRING || r->len == 0) ST_FAIL("MEMORY MALLOC-STATS: not a text");
    freeReplyObject(r);
    EXPECT_OK(c, "MEMORY PURGE");
    EXPECT_OK(c, "memory purge");
    EXPECT_HELP(c, "MEMORY");
    static const struct {
        const char *cmd, *sub;
    } arity[] = {{"MEMORY STATS x", "memory|stats"},   {"MEMORY DOCTOR x", "memory|doctor"},
                 {"MEMORY PURGE x", "memory|purge"},   {"MEMORY MALLOC-STATS x", "memory|malloc-stats"},
                 {"MEMORY HELP x", "memory|help"},     {"MEMORY Stats x", "memory|stats"}};
    for (size_t i = 0; i < sizeof arity / sizeof *arity; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", arity[i].sub);
        EXPECT_ERR(c, want, arity[i].cmd);
    }
    EXPECT_ERR(c, "ERR unknown subcommand 'nosuch'. Try MEMORY HELP.", "MEMORY nosuch");
    EXPECT_ERR(c, "ERR unknown subcommand 'NoSuch'. Try MEMORY HELP.", "memory NoSuch x y");
}

/* A server whose engine gets 4 MiB in all (a 2 MiB block cache): values of 16 KiB, each in
 * blocks of its own, read once each after SAVE wrote them to tables, all miss the cache. */
static st_server small;

static int setup_small(void **state) {
    if (st_server_is_redis()) return 0; /* memory_limit is Strata's: the test skips */
    if (st_it_group_setup(&small, "it-introspect-4mb", ST_IT_ARGS("--memory-limit", "4mb"))) return -1;
    return st_it_fresh_client(&small, state);
}

static int teardown_small(void **state) {
    if (st_server_is_redis()) return 0;
    st_it_teardown_client(&small, state);
    return st_it_group_teardown(&small);
}

#define MISS_KEYS 1100 /* > the doctor's 1000 lookups */
#define MISS_VALUE 16384

static void test_memory_doctor_reports_cache_misses(void **state) {
    if (st_server_is_redis()) skip();
    redisContext *c = *state;
    EXPECT_BULK(c, "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs "
                   "on this base.\n", "MEMORY DOCTOR");
    char *v = malloc(MISS_VALUE);
    assert_non_null(v);
    memset(v, 'v', MISS_VALUE);
    for (int i = 0; i < MISS_KEYS; i++) redisAppendCommand(c, "SET k%05d %b", i, v, (size_t)MISS_VALUE);
    for (int i = 0; i < MISS_KEYS; i++) {
        redisReply *r = st_get_reply(c, __FILE__, __LINE__);
        st_check_reply_status(r, __FILE__, __LINE__, "OK", "SET");
        freeReplyObject(r);
    }
    free(v);
    EXPECT_OK(c, "SAVE"); /* the memtable to tables: every GET below reads blocks */
    for (int i = 0; i < MISS_KEYS; i++) redisAppendCommand(c, "GET k%05d", i);
    for (int i = 0; i < MISS_KEYS; i++) freeReplyObject(st_get_reply(c, __FILE__, __LINE__));
    redisReply *r = CMD(c, "MEMORY DOCTOR");
    if (r->type != REDIS_REPLY_STRING || !strstr(r->str, "The block cache answered") || !strstr(r->str, "most reads go to disk"))
        ST_FAIL("MEMORY DOCTOR after %d reads that all missed the cache: %s", MISS_KEYS, r->str ? r->str : "?");
    freeReplyObject(r);
    r = CMD(c, "MEMORY STATS");
    const redisReply *ratio = map_get(r, "engine.block-cache.hit-ratio");
    if (!ratio || ratio->type != REDIS_REPLY_STRING || atof(ratio->str) >= 0.5) ST_FAIL("MEMORY STATS: no low hit ratio");
    assert_int_equal(map_get(r, "engine.memory.limit")->integer, 4 << 20);
    assert_true(map_get(r, "engine.memory.bytes")->integer <= 4 << 20);
    assert_true(map_get(r, "engine.block-cache.bytes")->integer <= map_get(r, "engine.block-cache.capacity")->integer);
    assert_true(map_get(r, "engine.open-tables")->integer > 0);
    freeReplyObject(r);
}

/* ---- OBJECT ---------------------------------------------------------------------------------------------- */

static void test_object(void **state) {
    redisContext *c = *state;
    static const char *const subs[] = {"ENCODING", "REFCOUNT", "IDLETIME", "FREQ"};
    for (size_t i = 0; i < 4; i++) EXPECT_NIL(c, "OBJECT %s missing", subs[i]); /* nil before any refusal */
    EXPECT_OK(c, "SET str hello-world");
    EXPECT_INT(c, 1, "HSET h f v");
    EXPECT_INT(c, 1, "RPUSH l a");
    EXPECT_INT(c, 1, "SADD s m");
    EXPECT_INT(c, 1, "ZADD z 1 m");
    static const char *const keys[] = {"str", "h", "l", "s", "z"};
    for (size_t i = 0; i < 5; i++) {
        redisReply *r = CMD(c, "OBJECT ENCODING %s", keys[i]);
        if (r->type != REDIS_REPLY_STRING || (STRATA && strcmp(r->str, "lsm"))) {
            char *s = st_reply_repr(r);
            ST_FAIL("OBJECT ENCODING %s: %s", keys[i], s);
        }
        freeReplyObject(r);
        EXPECT_INT(c, 1, "OBJECT REFCOUNT %s", keys[i]);
        EXPECT_INT(c, 1, "object refcount %s", keys[i]);
        /* no maxmemory-policy tracks frequency on either server */
        if (STRATA)
            EXPECT_ERR(c, "ERR access frequency not tracked: Strata keeps no per-key access counter (keys live in "
                          "an LSM tree on disk, with no LFU eviction)", "OBJECT FREQ %s", keys[i]);
        else
            EXPECT_ERR_PREFIX(c, "ERR An LFU maxmemory policy is not selected", "OBJECT FREQ %s", keys[i]);
        if (STRATA)
            EXPECT_ERR(c, "ERR access time not tracked: Strata keeps no per-key access time (keys live in an LSM "
                          "tree on disk, with no LRU eviction)", "OBJECT IDLETIME %s", keys[i]);
    }
    EXPECT_OK(c, "SET gone v PXAT 1");
    EXPECT_NIL(c, "OBJECT ENCODING gone");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|encoding' command", "OBJECT ENCODING");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|encoding' command", "OBJECT ENCODING a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|refcount' command", "OBJECT refcount");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|freq' command", "OBJECT FREQ a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|idletime' command", "OBJECT IDLETIME");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object|help' command", "OBJECT HELP x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'object' command", "OBJECT");
    EXPECT_ERR(c, "ERR unknown subcommand 'nosuch'. Try OBJECT HELP.", "OBJECT nosuch str");
    EXPECT_HELP(c, "OBJECT");
}

/* MEMORY USAGE and OBJECT queued in a transaction answer in EXEC's reply. */
static void test_introspection_in_multi(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k value");
    long long u = USAGE(c, "k");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "MEMORY USAGE k");
    EXPECT_STATUS(c, "QUEUED", "OBJECT REFCOUNT k");
    EXPECT_STATUS(c, "QUEUED", "MEMORY USAGE missing");
    redisReply *r = CMD(c, "EXEC");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    st_check_reply_int(r->element[0], __FILE__, __LINE__, u, "MEMORY USAGE k in EXEC");
    st_check_reply_int(r->element[1], __FILE__, __LINE__, 1, "OBJECT REFCOUNT k in EXEC");
    assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
}

/* ---- FUNCTION -------------------------------------------------------------------------------------------- */

static void test_function(void **state) {
    redisContext *c = *state;
    EXPECT_STRS(c, 0, NULL, "FUNCTION LIST");
    EXPECT_STRS(c, 0, NULL, "FUNCTION LIST WITHCODE");
    EXPECT_STRS(c, 0, NULL, "FUNCTION LIST LIBRARYNAME lib*");
    EXPECT_STRS(c, 0, NULL, "FUNCTION LIST libraryname x withcode");
    EXPECT_ERR(c, "ERR library name argument was not given", "FUNCTION LIST LIBRARYNAME");
    EXPECT_ERR(c, "ERR Unknown argument foo", "FUNCTION LIST foo");
    EXPECT_ERR(c, "ERR Unknown argument withcode", "FUNCTION LIST WITHCODE withcode");
    EXPECT_ERR(c, "ERR Unknown argument LIBRARYNAME", "FUNCTION LIST LIBRARYNAME a LIBRARYNAME b");
    EXPECT_OK(c, "FUNCTION FLUSH");
    EXPECT_OK(c, "FUNCTION FLUSH ASYNC");
    EXPECT_OK(c, "function flush sync");
    EXPECT_ERR(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option", "FUNCTION FLUSH foo");
    EXPECT_ERR(c, "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.",
               "FUNCTION FLUSH SYNC ASYNC");
    /* STATS: no running script; an engines map (Redis: LUA with no libraries; Strata: none) */
    redisReply *r = CMD(c, "FUNCTION STATS");
    const redisReply *running = map_get(r, "running_script"), *engines = map_get(r, "engines");
    if (!running || running->type != REDIS_REPLY_NIL || !engines || engines->type != REDIS_REPLY_ARRAY ||
        engines->elements % 2 || (STRATA && engines->elements)) {
        char *s = st_reply_repr(r);
        ST_FAIL("FUNCTION STATS: %s", s);
    }
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR Library not found", "FUNCTION DELETE mylib");
    EXPECT_ERR(c, "NOTBUSY No scripts in execution right now.", "FUNCTION KILL");
    if (STRATA) {
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FUNCTION LOAD)", "FUNCTION LOAD %s",
                          "#!lua name=mylib\nredis.register_function('f', function() return 1 end)");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FUNCTION LOAD)", "FUNCTION LOAD REPLACE code");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FUNCTION DUMP)", "FUNCTION DUMP");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FUNCTION RESTORE)", "FUNCTION RESTORE payload");
    }
    EXPECT_STRS(c, 0, NULL, "FUNCTION LIST"); /* still nothing */
    static const struct {
        const char *cmd, *sub;
    } arity[] = {{"FUNCTION STATS x", "function|stats"}, {"FUNCTION DELETE", "function|delete"},
                 {"FUNCTION DELETE a b", "function|delete"}, {"FUNCTION KILL x", "function|kill"},
                 {"FUNCTION DUMP x", "function|dump"}, {"FUNCTION RESTORE", "function|restore"},
                 {"FUNCTION LOAD", "function|load"}, {"FUNCTION HELP x", "function|help"}};
    for (size_t i = 0; i < sizeof arity / sizeof *arity; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", arity[i].sub);
        EXPECT_ERR(c, want, arity[i].cmd);
    }
    EXPECT_ERR(c, "ERR wrong number of arguments for 'function' command", "FUNCTION");
    EXPECT_ERR(c, "ERR unknown subcommand 'nosuch'. Try FUNCTION HELP.", "FUNCTION nosuch");
    EXPECT_HELP(c, "FUNCTION");
}

/* ---- SCRIPT, EVAL, EVALSHA, FCALL -------------------------------------------------------------------------- */

static void test_script_and_eval(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SCRIPT FLUSH");
    EXPECT_OK(c, "SCRIPT FLUSH ASYNC");
    EXPECT_OK(c, "script flush sync");
    EXPECT_ERR(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option", "SCRIPT FLUSH foo");
    EXPECT_ERR(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option", "SCRIPT FLUSH SYNC ASYNC");
    redisReply *r = CMD(c, "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db abc");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    st_check_reply_int(r->element[0], __FILE__, __LINE__, 0, "SCRIPT EXISTS [0]");
    st_check_reply_int(r->element[1], __FILE__, __LINE__, 0, "SCRIPT EXISTS [1]");
    freeReplyObject(r);
    EXPECT_ERR(c, "NOTBUSY No scripts in execution right now.", "SCRIPT KILL");
    EXPECT_OK(c, "SCRIPT DEBUG NO");
    EXPECT_ERR(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO", "SCRIPT DEBUG foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script|exists' command", "SCRIPT EXISTS");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script|kill' command", "SCRIPT KILL x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script|load' command", "SCRIPT LOAD");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script|load' command", "SCRIPT LOAD a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script|debug' command", "SCRIPT DEBUG");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'script' command", "SCRIPT");
    EXPECT_ERR(c, "ERR unknown subcommand 'nosuch'. Try SCRIPT HELP.", "SCRIPT nosuch");
    EXPECT_HELP(c, "SCRIPT");
    /* EVAL checks numkeys first, with Redis's errors */
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "EVAL %s x", "return 1");
    EXPECT_ERR(c, "ERR Number of keys can't be negative", "EVAL %s -1", "return 1");
    EXPECT_ERR(c, "ERR Number of keys can't be greater than number of args", "EVAL %s 2 a", "return 1");
    EXPECT_ERR(c, "ERR Number of keys can't be greater than number of args", "EVAL_RO %s 1", "return 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'eval' command", "EVAL %s", "return 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'fcall' command", "FCALL f");
    /* no script is ever cached: every digest is unknown */
    EXPECT_ERR(c, "NOSCRIPT No matching script. Please use EVAL.", "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0");
    EXPECT_ERR(c, "NOSCRIPT No matching script. Please use EVAL.", "EVALSHA_RO abc 1 k");
    if (STRATA) {
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "EVAL)", "EVAL %s 0", "return 1");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "EVAL)", "EVAL %s 2 k1 k2 arg", "return redis.call('get', KEYS[1])");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "EVAL_RO)", "EVAL_RO %s 0", "return 1");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FCALL)", "FCALL f 0");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "FCALL_RO)", "FCALL_RO f 1 k");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "SCRIPT LOAD)", "SCRIPT LOAD %s", "return 1");
        EXPECT_ERR_PREFIX(c, NO_SCRIPTING "SCRIPT DEBUG)", "SCRIPT DEBUG YES");
    } else {
        EXPECT_ANY_ERROR(c, "no such function", "FCALL f 0"); /* Redis: ERR Function not found */
    }
}

/* ---- COMMAND GETKEYS / GETKEYSANDFLAGS --------------------------------------------------------------------- */

/* Runs COMMAND GETKEYS <args>; want: the keys separated by spaces ("" for none), or an error
 * text starting with "ERR ". */
static void expect_getkeys(redisContext *c, const char *file, int line, const char *args, const char *want) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "COMMAND GETKEYS %s", args);
    redisReply *r = st_cmd(c, file, line, cmd);
    char got[256] = "";
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(got, sizeof got, "%s", r->str);
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            size_t n = strlen(got);
            snprintf(got + n, sizeof got - n, "%s%s", i ? " " : "", r->element[i]->str);
        }
    } else {
        snprintf(got, sizeof got, "<reply type %d>", r->type);
    }
    if (strcmp(got, want)) st_fail_at(file, line, "%s: got \"%s\", want \"%s\"", cmd, got, want);
    freeReplyObject(r);
}
#define EXPECT_GETKEYS(c, args, want) expect_getkeys((c), __FILE__, __LINE__, (args), (want))

#define INVALID_CMD "ERR Invalid command specified"
#define INVALID_NARGS "ERR Invalid number of arguments specified for command"
#define INVALID_ARGS "ERR Invalid arguments specified for command"
#define NO_KEYS "ERR The command has no key arguments"

static void test_command_getkeys(void **state) {
    redisContext *c = *state;
    static const struct {
        const char *args, *want;
    } cases[] = {
        /* the table's first, last, step */
        {"GET a", "a"},
        {"get a", "a"},
        {"SET a b EX 10", "a"},
        {"MSET a 1 b 2 c 3", "a b c"},
        {"MSET a 1 b", "a b"},
        {"DEL a b c", "a b c"},
        {"RENAME a b", "a b"},
        {"BLPOP a b c 0", "a b c"},
        {"LMOVE src dst LEFT RIGHT", "src dst"},
        {"ZRANGESTORE dst src 0 -1", "dst src"},
        {"SINTERSTORE d a b", "d a b"},
        {"WATCH a b", "a b"},
        /* numkeys */
        {"ZUNION 2 a b WEIGHTS 1 2", "a b"},
        {"ZUNIONSTORE d 2 a b", "d a b"},
        {"ZINTERSTORE d 1 a WEIGHTS 1", "d a"},
        {"ZDIFFSTORE d 2 a b", "d a b"},
        {"ZINTER 1 a", "a"},
        {"ZDIFF 2 a b", "a b"},
        {"ZINTERCARD 2 a b LIMIT 1", "a b"},
        {"SINTERCARD 1 a LIMIT 3", "a"},
        {"LMPOP 2 a b LEFT", "a b"},
        {"BLMPOP 0 2 a b LEFT COUNT 2", "a b"},
        {"ZMPOP 1 a MIN", "a"},
        {"BZMPOP 1 2 a b MAX", "a b"},
        {"EVAL s 2 k1 k2 arg", "k1 k2"},
        {"EVAL s 1 k1", "k1"},
        {"EVAL s 0", ""},
        {"EVAL s 0 arg", ""},
        {"EVAL s 3 a b", ""},  /* a bad numkeys: EVAL may have no keys, so none */
        {"EVAL s x a b", ""},
        {"EVAL s -1 a b", ""},
        {"EVALSHA abc 1 k", "k"},
        {"EVAL_RO s 2 a b", "a b"},
        {"EVALSHA_RO abc 1 k", "k"},
        {"FCALL f 2 a b c", "a b"},
        {"FCALL_RO f 1 a", "a"},
        {"ZUNION 0 a", INVALID_ARGS},
        {"ZUNION 3 a b", INVALID_ARGS},
        {"ZUNION x a b", INVALID_ARGS},
        {"ZUNIONSTORE d 0 a", INVALID_ARGS},
        {"LMPOP 4 a b LEFT", INVALID_ARGS},
        {"LMPOP 3 a b LEFT", "a b LEFT"}, /* numkeys counts what follows, as Redis does */
        /* keyed subcommands */
        {"MEMORY USAGE k", "k"},
        {"MEMORY USAGE k SAMPLES 0", "k"},
        {"memory usage k", "k"},
        {"OBJECT ENCODING k", "k"},
        {"OBJECT FREQ k", "k"},
        {"OBJECT IDLETIME k", "k"},
        {"OBJECT REFCOUNT k", "k"},
        {"MEMORY USAGE", INVALID_NARGS},
        {"OBJECT ENCODING a b", INVALID_NARGS},
        {"MEMORY STATS", NO_KEYS},
        {"OBJECT HELP", NO_KEYS},
        {"MEMORY nosuch k", INVALID_CMD},
        {"FUNCTION LIST", NO_KEYS},
        {"SCRIPT EXISTS abc", NO_KEYS},
        /* errors, in Redis's order */
        {"nosuch a", INVALID_CMD},
        {"GET a b", INVALID_NARGS},
        {"EVAL s", INVALID_NARGS},
        {"LMPOP 0 a", INVALID_NARGS},
        {"PING x", NO_KEYS},
        {"TIME x", NO_KEYS},
        {"KEYS *", NO_KEYS},
        {"SCAN 0", NO_KEYS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) EXPECT_GETKEYS(c, cases[i].args, cases[i].want);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'command|getkeys' command", "COMMAND GETKEYS");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'command|getkeys' command", "COMMAND GETKEYS get");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'command|getkeysandflags' command", "COMMAND GETKEYSANDFLAGS get");
    /* binary keys come back as they are */
    redisReply *r = CMD(c, "COMMAND GETKEYS GET %b", "a\0\r\nb", (size_t)5);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    st_check_reply_bulk(r->element[0], __FILE__, __LINE__, "a\0\r\nb", 5, "COMMAND GETKEYS GET <binary>");
    freeReplyObject(r);
}

/* GETKEYSANDFLAGS <args>; want: "key:FLAG,flag key:FLAG" */
static void expect_keyflags(redisContext *c, const char *file, int line, const char *args, const char *want) {
    char cmd[256], got[512] = "";
    snprintf(cmd, sizeof cmd, "COMMAND GETKEYSANDFLAGS %s", args);
    redisReply *r = st_cmd(c, file, line, cmd);
    bool ok = r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; ok && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        ok = e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[1]->type == REDIS_REPLY_ARRAY;
        if (!ok) break;
        size_t n = strlen(got);
        snprintf(got + n, sizeof got - n, "%s%s:", i ? " " : "", e->element[0]->str);
        for (size_t j = 0; j < e->element[1]->elements; j++) {
            n = strlen(got);
            snprintf(got + n, sizeof got - n, "%s%s", j ? "," : "", e->element[1]->element[j]->str);
        }
    }
    if (!ok || strcmp(got, want)) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "%s: got %s, want \"%s\"", cmd, s, want);
    }
    freeReplyObject(r);
}
#define EXPECT_KEYFLAGS(c, args, want) expect_keyflags((c), __FILE__, __LINE__, (args), (want))

static void test_command_getkeysandflags(void **state) {
    redisContext *c = *state;
    EXPECT_KEYFLAGS(c, "GET a", "a:RO,access");
    EXPECT_KEYFLAGS(c, "SET a b", "a:OW,update");
    EXPECT_KEYFLAGS(c, "SET a b EX 10 GET", "a:RW,access,update");
    EXPECT_KEYFLAGS(c, "SET a b get", "a:RW,access,update");
    EXPECT_KEYFLAGS(c, "MSET a 1 b 2", "a:OW,update b:OW,update");
    EXPECT_KEYFLAGS(c, "DEL a b", "a:RM,delete b:RM,delete");
    EXPECT_KEYFLAGS(c, "RENAME a b", "a:RW,access,delete b:OW,update");
    EXPECT_KEYFLAGS(c, "LMOVE a b LEFT RIGHT", "a:RW,access,delete b:RW,insert");
    EXPECT_KEYFLAGS(c, "ZUNIONSTORE d 2 a b", "d:OW,update a:RO,access b:RO,access");
    EXPECT_KEYFLAGS(c, "SUNIONSTORE d a b", "d:OW,update a:RO,access b:RO,access");
    EXPECT_KEYFLAGS(c, "BLPOP a b 0", "a:RW,access,delete b:RW,access,delete");
    EXPECT_KEYFLAGS(c, "LMPOP 2 a b LEFT", "a:RW,access,delete b:RW,access,delete");
    EXPECT_KEYFLAGS(c, "EVAL s 1 a", "a:RW,access,update");
    EXPECT_KEYFLAGS(c, "EVAL_RO s 1 a", "a:RO,access");
    EXPECT_KEYFLAGS(c, "FCALL_RO f 1 a", "a:RO,access");
    EXPECT_KEYFLAGS(c, "EVAL s 0", "");
    EXPECT_KEYFLAGS(c, "MEMORY USAGE k", "k:RO");
    EXPECT_KEYFLAGS(c, "OBJECT FREQ k", "k:RO");
    EXPECT_KEYFLAGS(c, "WATCH a", "a:RO");
    EXPECT_KEYFLAGS(c, "EXISTS a b", "a:RO b:RO");
    EXPECT_ERR(c, INVALID_CMD, "COMMAND GETKEYSANDFLAGS nosuch a");
    EXPECT_ERR(c, NO_KEYS, "COMMAND GETKEYSANDFLAGS PING x");
    EXPECT_ERR(c, INVALID_ARGS, "COMMAND GETKEYSANDFLAGS ZUNION 0 a");
}

/* ---- COMMAND INFO / DOCS / COUNT / LIST ----------------------------------------------------------------------- */

static const redisReply *info_flag(const redisReply *entry, const char *flag) {
    const redisReply *f = entry->element[2];
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i < f->elements; i++)
        if (!strcmp(f->element[i]->str, flag)) return f->element[i];
    return NULL;
}

static void test_command_info_and_docs(void **state) {
    redisContext *c = *state;
    static const struct {
        const char *name;
        long long arity;
        const char *flags; /* that must be among its flags, space-separated */
        const char *since, *group;
    } cmds[] = {
        {"memory", -2, "", "4.0.0", "server"},
        {"object", -2, "", "2.2.3", "generic"},
        {"function", -2, "", "7.0.0", "scripting"},
        {"script", -2, "", "2.6.0", "scripting"},
        {"eval", -3, "noscript stale no_mandatory_keys movablekeys", "2.6.0", "scripting"},
        {"evalsha", -3, "noscript stale no_mandatory_keys movablekeys", "2.6.0", "scripting"},
        {"eval_ro", -3, "readonly noscript no_mandatory_keys movablekeys", "7.0.0", "scripting"},
        {"evalsha_ro", -3, "readonly noscript no_mandatory_keys movablekeys", "7.0.0", "scripting"},
        {"fcall", -3, "noscript no_mandatory_keys movablekeys", "7.0.0", "scripting"},
        {"fcall_ro", -3, "readonly noscript no_mandatory_keys movablekeys", "7.0.0", "scripting"},
        {"zunion", -3, "readonly movablekeys", "6.2.0", "sorted-set"},
        {"lmpop", -4, "write movablekeys", "7.0.0", "list"},
    };
    redisReply *list = CMD(c, "COMMAND LIST");
    assert_int_equal(list->type, REDIS_REPLY_ARRAY);
    if (STRATA) EXPECT_INT(c, (long long)list->elements, "COMMAND COUNT"); /* Redis also lists subcommands */
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        bool listed = false;
        for (size_t j = 0; j < list->elements && !listed; j++) listed = !strcmp(list->element[j]->str, cmds[i].name);
        if (!listed) ST_FAIL("COMMAND LIST lacks %s", cmds[i].name);
        redisReply *r = CMD(c, "COMMAND INFO %s", cmds[i].name);
        const redisReply *e = r->type == REDIS_REPLY_ARRAY && r->elements == 1 ? r->element[0] : NULL;
        if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 10 || e->element[1]->integer != cmds[i].arity ||
            e->element[3]->integer != 0 || e->element[4]->integer != 0 || e->element[5]->integer != 0) {
            char *s = st_reply_repr(r);
            ST_FAIL("COMMAND INFO %s: %s (want arity %lld, keys 0 0 0)", cmds[i].name, s, cmds[i].arity);
        }
        char flags[128];
        snprintf(flags, sizeof flags, "%s", cmds[i].flags);
        for (char *f = strtok(flags, " "); f; f = strtok(NULL, " "))
            if (!info_flag(e, f)) ST_FAIL("COMMAND INFO %s: no flag %s", cmds[i].name, f);
        freeReplyObject(r);
        /* DOCS: [name, {summary, since, group, complexity, ...}] */
        r = CMD(c, "COMMAND DOCS %s", cmds[i].name);
        const redisReply *d = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1] : NULL;
        const redisReply *since = d ? map_get(d, "since") : NULL, *group = d ? map_get(d, "group") : NULL;
        const redisReply *summary = d ? map_get(d, "summary") : NULL, *cx = d ? map_get(d, "complexity") : NULL;
        if (!summary || !since || !group || !cx || strcmp(since->str, cmds[i].since) || strcmp(group->str, cmds[i].group)) {
            char *s = st_reply_repr(r);
            ST_FAIL("COMMAND DOCS %s: %s (want since %s, group %s)", cmds[i].name, s, cmds[i].since, cmds[i].group);
        }
        freeReplyObject(r);
    }
    /* the keyed subcommands, in the container's entry */
    redisReply *r = CMD(c, "COMMAND INFO memory");
    const redisReply *subs = r->element[0]->element[9], *usage_entry = NULL;
    for (size_t i = 0; i < subs->elements; i++)
        if (!strcmp(subs->element[i]->element[0]->str, "memory|usage")) usage_entry = subs->element[i];
    if (!usage_entry || usage_entry->element[1]->integer != -3 || usage_entry->element[3]->integer != 2 ||
        usage_entry->element[4]->integer != 2 || usage_entry->element[5]->integer != 1 ||
        !info_flag(usage_entry, "readonly")) {
        char *s = st_reply_repr(r);
        ST_FAIL("COMMAND INFO memory: %s (want memory|usage -3 readonly 2 2 1)", s);
    }
    freeReplyObject(r);
    /* a deprecated command says so */
    r = CMD(c, "COMMAND DOCS getset");
    const redisReply *d = r->element[1];
    if (!map_get(d, "deprecated_since") || strcmp(map_get(d, "deprecated_since")->str, "6.2.0") ||
        !map_get(d, "replaced_by")) {
        char *s = st_reply_repr(r);
        ST_FAIL("COMMAND DOCS getset: %s", s);
    }
    freeReplyObject(r);
    if (STRATA) { /* every command has its documentation (Redis's nest deeper than hiredis 0.14 parses) */
        for (size_t j = 0; j < list->elements; j++) {
            r = CMD(c, "COMMAND DOCS %s", list->element[j]->str);
            d = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1] : NULL;
            bool no_complexity = !strcmp(list->element[j]->str, "monitor"); /* none in Redis's docs either */
            if (!d || !map_get(d, "summary") || !map_get(d, "since") || !map_get(d, "group") ||
                (!no_complexity && !map_get(d, "complexity"))) {
                char *s = st_reply_repr(r);
                ST_FAIL("COMMAND DOCS %s: %s (want summary, since, group, complexity)", list->element[j]->str, s);
            }
            freeReplyObject(r);
        }
    }
    freeReplyObject(list);
}

/* ---- tenants ---------------------------------------------------------------------------------------------- */

static void test_tenants_see_their_own_keys(void **state) {
    redisContext *adm = *state;
    if (!STRATA) skip(); /* TENANT is Strata's */
    EXPECT_OK(adm, "TENANT ADD introspect-t pw");
    redisContext *t = ST_CONNECT(&srv);
    EXPECT_OK(t, "AUTH introspect-t pw");
    EXPECT_OK(adm, "SET adminkey adminvalue");
    EXPECT_INT(adm, 2, "HSET adminhash f1 v1 f2 v2");
    /* another tenant's keys do not exist here */
    EXPECT_NIL(t, "MEMORY USAGE adminkey");
    EXPECT_NIL(t, "MEMORY USAGE adminhash SAMPLES 0");
    EXPECT_NIL(t, "OBJECT ENCODING adminkey");
    EXPECT_NIL(t, "OBJECT REFCOUNT adminhash");
    EXPECT_NIL(t, "OBJECT FREQ adminkey");
    /* its own do, with the same bytes as the administrator's copy (the tenant id is as long) */
    EXPECT_OK(t, "SET adminkey tenantval");
    assert_int_equal(USAGE(t, "adminkey"), USAGE(adm, "adminkey") - 1);
    EXPECT_BULK(t, "lsm", "OBJECT ENCODING adminkey");
    EXPECT_OK(t, "SET tenantonly v");
    EXPECT_NIL(adm, "MEMORY USAGE tenantonly");
    /* the server-wide reports answer tenants too, naming no key */
    redisReply *r = CMD(t, "MEMORY STATS");
    if (!map_get(r, "engine.memory.bytes")) ST_FAIL("MEMORY STATS for a tenant lacks engine.memory.bytes");
    freeReplyObject(r);
    r = CMD(t, "MEMORY DOCTOR");
    if (r->type != REDIS_REPLY_STRING || strstr(r->str, "adminkey")) ST_FAIL("MEMORY DOCTOR for a tenant");
    freeReplyObject(r);
    EXPECT_OK(t, "MEMORY PURGE");
    EXPECT_STRS(t, 0, NULL, "FUNCTION LIST");
    EXPECT_OK(t, "SCRIPT FLUSH");
    EXPECT_STRS(t, 1, ((const char *[]){"k"}), "COMMAND GETKEYS MEMORY USAGE k");
    redisFree(t);
    EXPECT_OK(adm, "TENANT DEL introspect-t");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_usage_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_usage_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_server_wide, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_doctor_reports_cache_misses, setup_small, teardown_small),
        cmocka_unit_test_setup_teardown(test_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introspection_in_multi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_script_and_eval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_getkeys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_getkeysandflags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_info_and_docs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_see_their_own_keys, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
