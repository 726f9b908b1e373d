/* test_server_keys.c -- the generic key commands of strata-server against Redis 7's replies:
 * DEL/UNLINK/EXISTS/TYPE, RENAME/RENAMENX (TTL carried), the EXPIRE family with NX/XX/GT/LT and
 * past times, TTL/PTTL/EXPIRETIME/PEXPIRETIME/PERSIST, expiry hiding keys (lazily) and removing them
 * (the active-expiry cycle, seen through DBSIZE without touching the keys), KEYS patterns, SCAN
 * full iterations (every key exactly once; MATCH, COUNT, TYPE; keys that live through a changing
 * iteration are all returned), RANDOMKEY, SELECT isolation, FLUSHDB/FLUSHALL and DBSIZE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-keys", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

/* KEYS pattern, sorted, compared with want (sorted by the caller). */
static void expect_keys(redisContext *c, const char *file, int line, const char *pattern, size_t n,
                        const char *const *want) {
    redisReply *r = st_cmd(c, file, line, "KEYS %s", pattern);
    if (r->type != REDIS_REPLY_ARRAY) st_fail_at(file, line, "KEYS %s: not an array", pattern);
    const char **got = calloc(r->elements + 1, sizeof *got);
    for (size_t i = 0; i < r->elements; i++) got[i] = r->element[i]->str;
    qsort(got, r->elements, sizeof *got, st_cmp_str);
    bool ok = r->elements == n;
    for (size_t i = 0; ok && i < n; i++) ok = !strcmp(got[i], want[i]);
    if (!ok) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "KEYS %s: got %s, want %zu keys starting with %s", pattern, s, n, n ? want[0] : "-");
        free(s);
    }
    free(got);
    freeReplyObject(r);
}
#define EXPECT_KEYS(c, pattern, n, ...) expect_keys((c), __FILE__, __LINE__, (pattern), (n), (const char *const[]){__VA_ARGS__})

/* ---- DEL / UNLINK / EXISTS / TYPE ---------------------------------------------------------------- */

static void test_del_unlink_exists_type(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "MSET a 1 b 2 c 3 d 4");
    EXPECT_INT(c, 4, "EXISTS a b c d");
    EXPECT_INT(c, 3, "EXISTS a a a");
    EXPECT_INT(c, 2, "EXISTS a missing b missing");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_STATUS(c, "string", "TYPE a");
    EXPECT_STATUS(c, "none", "TYPE missing");
    EXPECT_INT(c, 2, "DEL a b missing");
    EXPECT_INT(c, 0, "EXISTS a b");
    EXPECT_INT(c, 1, "DEL c c"); /* a repeated key counts once */
    EXPECT_INT(c, 0, "DEL c");
    EXPECT_INT(c, 1, "UNLINK d d missing");
    EXPECT_INT(c, 0, "UNLINK d");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "SET %b v", "k\0k", (size_t)3);
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_INT(c, 1, "EXISTS %b", "k\0k", (size_t)3);
    EXPECT_INT(c, 1, "DEL %b", "k\0k", (size_t)3);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'del' command", "DEL");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'unlink' command", "UNLINK");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'exists' command", "EXISTS");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'type' command", "TYPE a b");
}

/* ---- RENAME / RENAMENX ---------------------------------------------------------------------------- */

static void test_rename(void **state) {
    redisContext *c = *state;
    EXPECT_ERR(c, "ERR no such key", "RENAME missing x");
    EXPECT_ERR(c, "ERR no such key", "RENAMENX missing x");
    EXPECT_INT(c, 0, "EXISTS x");
    EXPECT_OK(c, "SET a va EX 100");
    EXPECT_OK(c, "RENAME a b");
    EXPECT_INT(c, 0, "EXISTS a");
    EXPECT_BULK(c, "va", "GET b");
    EXPECT_INT_RANGE(c, 98, 100, "TTL b"); /* the TTL moves with the value */
    /* the destination is replaced, TTL included */
    EXPECT_OK(c, "SET d vd EX 500");
    EXPECT_OK(c, "SET s vs");
    EXPECT_OK(c, "RENAME s d");
    EXPECT_BULK(c, "vs", "GET d");
    EXPECT_INT(c, -1, "TTL d");
    /* onto itself */
    EXPECT_OK(c, "RENAME d d");
    EXPECT_BULK(c, "vs", "GET d");
    EXPECT_INT(c, 0, "RENAMENX d d");
    /* RENAMENX */
    EXPECT_OK(c, "SET e ve PX 200000");
    EXPECT_INT(c, 0, "RENAMENX e d");
    EXPECT_BULK(c, "ve", "GET e");
    EXPECT_BULK(c, "vs", "GET d");
    EXPECT_INT(c, 1, "RENAMENX e f");
    EXPECT_INT(c, 0, "EXISTS e");
    EXPECT_BULK(c, "ve", "GET f");
    EXPECT_INT_RANGE(c, 198000, 200000, "PTTL f");
    /* binary names */
    EXPECT_OK(c, "RENAME f %b", "n\0\r\n", (size_t)4);
    EXPECT_BULK(c, "ve", "GET %b", "n\0\r\n", (size_t)4);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'rename' command", "RENAME a");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'renamenx' command", "RENAMENX a b c");
}

/* ---- EXPIRE family ------------------------------------------------------------------------------------ */

static void test_expire_basic(void **state) {
    redisContext *c = *state;
    char t[32];
    EXPECT_INT(c, 0, "EXPIRE missing 10");
    EXPECT_INT(c, 0, "PEXPIRE missing 10000");
    EXPECT_INT(c, 0, "EXPIREAT missing 4000000000");
    EXPECT_INT(c, 0, "PEXPIREAT missing 4000000000000");
    EXPECT_INT(c, -2, "TTL missing");
    EXPECT_INT(c, -2, "PTTL missing");
    EXPECT_INT(c, -2, "EXPIRETIME missing");
    EXPECT_INT(c, -2, "PEXPIRETIME missing");
    EXPECT_OK(c, "SET k v");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_INT(c, -1, "PTTL k");
    EXPECT_INT(c, -1, "EXPIRETIME k");
    EXPECT_INT(c, -1, "PEXPIRETIME k");
    EXPECT_INT(c, 1, "EXPIRE k 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_INT_RANGE(c, 98000, 100000, "PTTL k");
    EXPECT_INT(c, 1, "PEXPIRE k 200000");
    EXPECT_INT_RANGE(c, 198000, 200000, "PTTL k");
    EXPECT_INT(c, 1, "PEXPIRE k 1900");
    EXPECT_INT(c, 2, "TTL k"); /* TTL rounds to the nearest second, as Redis: 1.9 s -> 2, not 1 */
    snprintf(t, sizeof t, "%lld", (long long)(st_wall_ms() / 1000) + 300);
    EXPECT_INT(c, 1, "EXPIREAT k %s", t);
    EXPECT_INT(c, atoll(t), "EXPIRETIME k");
    EXPECT_INT(c, atoll(t) * 1000, "PEXPIRETIME k");
    EXPECT_INT_RANGE(c, 298, 300, "TTL k");
    snprintf(t, sizeof t, "%lld", (long long)st_wall_ms() + 400000);
    EXPECT_INT(c, 1, "PEXPIREAT k %s", t);
    EXPECT_INT(c, atoll(t), "PEXPIRETIME k");
    EXPECT_INT(c, (atoll(t) + 500) / 1000, "EXPIRETIME k"); /* rounded, as TTL */
    EXPECT_INT(c, 1, "PERSIST k");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_INT(c, -1, "PEXPIRETIME k");
    EXPECT_INT(c, 0, "PERSIST k");
    EXPECT_INT(c, 0, "PERSIST missing");
    EXPECT_BULK(c, "v", "GET k");
    /* SET without options removes a TTL; an overwrite by other commands too (GETSET) */
    EXPECT_INT(c, 1, "EXPIRE k 100");
    EXPECT_OK(c, "SET k v2");
    EXPECT_INT(c, -1, "TTL k");
}

static void test_expire_options(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k v");
    /* no TTL: XX and GT fail (no TTL counts as infinite), NX and LT succeed */
    EXPECT_INT(c, 0, "EXPIRE k 100 XX");
    EXPECT_INT(c, 0, "EXPIRE k 100 GT");
    EXPECT_INT(c, -1, "TTL k");
    EXPECT_INT(c, 1, "EXPIRE k 100 NX");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_INT(c, 0, "EXPIRE k 200 NX");
    EXPECT_INT(c, 1, "EXPIRE k 200 XX");
    EXPECT_INT_RANGE(c, 198, 200, "TTL k");
    EXPECT_INT(c, 0, "EXPIRE k 100 GT");
    EXPECT_INT(c, 1, "EXPIRE k 300 GT");
    EXPECT_INT_RANGE(c, 298, 300, "TTL k");
    EXPECT_INT(c, 0, "EXPIRE k 400 LT");
    EXPECT_INT(c, 1, "EXPIRE k 50 LT");
    EXPECT_INT_RANGE(c, 48, 50, "TTL k");
    EXPECT_INT(c, 1, "EXPIRE k 60 xx gt"); /* combinable, case-insensitive */
    EXPECT_INT(c, 0, "PEXPIRE k 10000 GT");
    EXPECT_INT(c, 1, "PEXPIRE k 10000 LT");
    EXPECT_INT_RANGE(c, 9000, 10000, "PTTL k");
    EXPECT_INT(c, 0, "EXPIREAT k 4000000000 NX");
    EXPECT_INT(c, 1, "EXPIREAT k 4000000000 GT");
    EXPECT_INT(c, 4000000000LL, "EXPIRETIME k");
    EXPECT_INT(c, 0, "PEXPIREAT k 4000000001000 LT");
    EXPECT_INT(c, 1, "PEXPIREAT k 3999999999000 LT");
    EXPECT_INT(c, 3999999999LL, "EXPIRETIME k");
    EXPECT_INT(c, 0, "EXPIRE missing 10 NX");
    EXPECT_INT(c, 0, "EXPIRE missing 10 LT");
    EXPECT_ERR(c, "ERR NX and XX, GT or LT options at the same time are not compatible", "EXPIRE k 10 NX XX");
    EXPECT_ERR(c, "ERR NX and XX, GT or LT options at the same time are not compatible", "EXPIRE k 10 NX GT");
    EXPECT_ERR(c, "ERR NX and XX, GT or LT options at the same time are not compatible", "PEXPIRE k 10 LT NX");
    EXPECT_ERR(c, "ERR GT and LT options at the same time are not compatible", "EXPIRE k 10 GT LT");
    EXPECT_ERR(c, "ERR Unsupported option foo", "EXPIRE k 10 foo");
    EXPECT_ERR(c, "ERR Unsupported option FOO", "PEXPIREAT k 10 NX FOO");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "EXPIRE k abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "PEXPIRE k 1.5");
    EXPECT_ERR(c, "ERR invalid expire time in 'expire' command", "EXPIRE k 9223372036854775807");
    EXPECT_ERR(c, "ERR invalid expire time in 'pexpire' command", "PEXPIRE k 9223372036854775807");
    EXPECT_ERR(c, "ERR invalid expire time in 'expireat' command", "EXPIREAT k 9223372036854775807");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'expire' command", "EXPIRE k");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'ttl' command", "TTL");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'persist' command", "PERSIST a b");
    EXPECT_INT(c, 3999999999LL, "EXPIRETIME k"); /* no failure above changed it */
}

static void test_expire_in_the_past_deletes(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "MSET a 1 b 2 c 3 d 4 e 5 f 6");
    EXPECT_INT(c, 1, "EXPIRE a -1");
    EXPECT_INT(c, 1, "EXPIRE b 0");
    EXPECT_INT(c, 1, "PEXPIRE c -1000");
    EXPECT_INT(c, 1, "EXPIREAT d 1");
    EXPECT_INT(c, 1, "PEXPIREAT e 1");
    EXPECT_INT(c, 0, "EXISTS a b c d e");
    EXPECT_INT(c, -2, "TTL a");
    EXPECT_NIL(c, "GET d");
    /* GT against "no TTL" refuses even a past time; LT accepts and deletes */
    EXPECT_INT(c, 0, "EXPIRE f -1 GT");
    EXPECT_INT(c, 1, "EXISTS f");
    EXPECT_INT(c, 1, "EXPIRE f -1 LT");
    EXPECT_INT(c, 0, "EXISTS f");
    EXPECT_INT(c, 0, "DBSIZE");
}

/* A key whose TTL has passed is never returned, whether or not anything removed it yet. */
static void test_expired_keys_are_hidden(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k v");
    EXPECT_OK(c, "SET live v");
    EXPECT_INT(c, 1, "PEXPIRE k 50");
    int64_t end = st_now_ms() + 3000;
    for (;;) {
        redisReply *r = CMD(c, "GET k");
        bool gone = r->type == REDIS_REPLY_NIL;
        freeReplyObject(r);
        if (gone) break;
        if (st_now_ms() > end) ST_FAIL("GET k still returns the key 3 s after PEXPIRE k 50");
        st_sleep_ms(10);
    }
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_INT(c, -2, "TTL k");
    EXPECT_INT(c, -2, "PTTL k");
    EXPECT_STATUS(c, "none", "TYPE k");
    EXPECT_INT(c, 1, "DBSIZE");
    /* Several keys, none of them read before KEYS / SCAN / RANDOMKEY / MGET look */
    for (int i = 0; i < 10; i++) EXPECT_OK(c, "SET h%d v PX 30", i);
    int64_t until = st_now_ms() + 100; /* waiting for time to pass: the TTLs are 30 ms */
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_KEYS(c, "*", 1, "live");
    EXPECT_KEYS(c, "h*", 0, NULL);
    redisReply *r = CMD(c, "SCAN 0 COUNT 1000");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->element[1]->elements; i++)
        if (strcmp(r->element[1]->element[i]->str, "live")) ST_FAIL("SCAN returned expired key %s", r->element[1]->element[i]->str);
    freeReplyObject(r);
    EXPECT_BULK(c, "live", "RANDOMKEY");
    EXPECT_STRS(c, 3, ((const char *[]){NULL, NULL, "v"}), "MGET h0 h1 live");
    EXPECT_INT(c, 0, "EXISTS h2 h3 h4");
    EXPECT_ERR(c, "ERR no such key", "RENAME h5 x");
    EXPECT_INT(c, 0, "EXPIRE h6 100");
    EXPECT_INT(c, 0, "PERSIST h7");
    EXPECT_INT(c, 0, "DEL h8");
}

/* The active-expiry cycle removes keys nobody reads: INFO stats expired_keys grows by their number
 * (only removals count, and nothing reads these keys) and DBSIZE falls to the live count. */
static void test_active_expiry(void **state) {
    redisContext *c = *state;
    long long before = st_info_field(c, "stats", "expired_keys");
    if (before < 0) ST_FAIL("INFO stats has no expired_keys field");
    for (int i = 0; i < 50; i++) EXPECT_OK(c, "SET ax%d v PX 100", i);
    EXPECT_OK(c, "SET persistent v");
    EXPECT_INT(c, 51, "DBSIZE");
    int64_t end = st_now_ms() + 5000;
    long long n, expired;
    for (;;) {
        redisReply *r = CMD(c, "DBSIZE");
        n = r->integer;
        freeReplyObject(r);
        expired = st_info_field(c, "stats", "expired_keys") - before;
        if (n == 1 && expired >= 50) break;
        if (st_now_ms() > end)
            ST_FAIL("5 s after 50 keys expired: DBSIZE %lld (want 1), INFO expired_keys +%lld (want +50)", n, expired);
        st_sleep_ms(20);
    }
    EXPECT_BULK(c, "v", "GET persistent");
}

/* Keys whose TTL was removed or replaced before it passed, or that were rewritten without one, are
 * not removed by the active-expiry cycle when their old deadline comes. Markers that really expire,
 * a little later than the stale deadlines, tell when the cycle has gone past them. */
static void test_active_expiry_spares_rewritten_keys(void **state) {
    redisContext *c = *state;
    long long before = st_info_field(c, "stats", "expired_keys");
    /* 1.5 s: long enough for the 100 rewrites below even under ASan on a loaded machine (50 ms
     * was not), short enough that the markers come due soon after */
    for (int i = 0; i < 100; i++) EXPECT_OK(c, "SET r%d old PX 1500", i);
    for (int i = 0; i < 100; i++) {
        switch (i % 4) {
        case 0: EXPECT_OK(c, "SET r%d new", i); break;
        case 1: EXPECT_INT(c, 1, "PERSIST r%d", i); break;
        case 2: EXPECT_INT(c, 1, "PEXPIRE r%d 1000000", i); break;
        case 3: EXPECT_OK(c, "SET r%d new KEEPTTL", i); EXPECT_INT(c, 1, "PEXPIRE r%d 1000000", i); break;
        }
    }
    for (int i = 0; i < 10; i++) EXPECT_OK(c, "SET marker%d v PX 1600", i);
    int64_t end = st_now_ms() + 8000;
    long long n;
    while ((n = st_info_field(c, "stats", "expired_keys") - before) < 10) {
        if (st_now_ms() > end) ST_FAIL("the 10 markers were not expired within 8 s (expired_keys +%lld)", n);
        st_sleep_ms(20);
    }
    if (n != 10) ST_FAIL("expired_keys grew by %lld, want 10 (only the markers)", n);
    for (int i = 0; i < 100; i++) {
        EXPECT_BULK(c, i % 4 == 1 || i % 4 == 2 ? "old" : "new", "GET r%d", i);
        if (i % 4 >= 2) EXPECT_INT_RANGE(c, 990, 1000, "TTL r%d", i);
        else EXPECT_INT(c, -1, "TTL r%d", i);
    }
    EXPECT_INT(c, 100, "DBSIZE");
}

/* ---- KEYS ----------------------------------------------------------------------------------------- */

static void test_keys_patterns(void **state) {
    redisContext *c = *state;
    EXPECT_KEYS(c, "*", 0, NULL);
    EXPECT_OK(c, "MSET foo 1 foobar 2 fab 3 bar 4 hello 5 hallo 6 hxllo 7 hllo 8 heeello 9");
    EXPECT_OK(c, "MSET a*b 1 axb 2 a?b 3 %s 4", "h\\llo");
    EXPECT_INT(c, 13, "DBSIZE");
    EXPECT_KEYS(c, "*", 13, "a*b", "a?b", "axb", "bar", "fab", "foo", "foobar", "h\\llo", "hallo", "heeello",
                "hello", "hllo", "hxllo");
    EXPECT_KEYS(c, "f*", 3, "fab", "foo", "foobar");
    EXPECT_KEYS(c, "foo", 1, "foo");
    EXPECT_KEYS(c, "*bar", 2, "bar", "foobar");
    EXPECT_KEYS(c, "f?o", 1, "foo");
    EXPECT_KEYS(c, "h?llo", 4, "h\\llo", "hallo", "hello", "hxllo");
    EXPECT_KEYS(c, "h*llo", 6, "h\\llo", "hallo", "heeello", "hello", "hllo", "hxllo");
    EXPECT_KEYS(c, "h[ae]llo", 2, "hallo", "hello");
    EXPECT_KEYS(c, "h[^e]llo", 3, "h\\llo", "hallo", "hxllo");
    EXPECT_KEYS(c, "h[a-e]llo", 2, "hallo", "hello");
    EXPECT_KEYS(c, "a\\*b", 1, "a*b");
    EXPECT_KEYS(c, "a\\?b", 1, "a?b");
    EXPECT_KEYS(c, "a?b", 3, "a*b", "a?b", "axb");
    EXPECT_KEYS(c, "h\\\\llo", 1, "h\\llo");
    EXPECT_KEYS(c, "nomatch*", 0, NULL);
    EXPECT_KEYS(c, "", 0, NULL);
    /* another database's keys never show */
    EXPECT_OK(c, "SELECT 3");
    EXPECT_OK(c, "SET foo3 x");
    EXPECT_KEYS(c, "f*", 1, "foo3");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_KEYS(c, "f*", 3, "fab", "foo", "foobar");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'keys' command", "KEYS");
}

/* ---- SCAN ------------------------------------------------------------------------------------------- */

enum { NSCAN = 1000 };

static void insert_keys(redisContext *c, const char *prefix, int n) {
    for (int base = 0; base < n; base += 100) {
        char cmd[100 * 40 + 16];
        int o = snprintf(cmd, sizeof cmd, "MSET");
        for (int i = base; i < base + 100 && i < n; i++)
            o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s%d v%d", prefix, i, i);
        EXPECT_OK(c, cmd);
    }
}

/* One full SCAN iteration with the given extra arguments; counts[i] += times "<prefix><i>" was
 * returned; returns the number of other keys seen (their names must match `other_ok` if given). */
static int full_scan(redisContext *c, const char *args, const char *prefix, int n, int *counts,
                     void (*between)(redisContext *, int), int *calls_out) {
    char cursor[32] = "0";
    int calls = 0, others = 0;
    size_t plen = strlen(prefix);
    do {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "SCAN %s %s", cursor, args);
        redisReply *r = CMD(c, cmd);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            char *s = st_reply_repr(r);
            ST_FAIL("%s: bad reply %s", cmd, s);
            free(s);
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            char *end = NULL;
            long idx = !strncmp(k, prefix, plen) ? strtol(k + plen, &end, 10) : -1;
            if (idx >= 0 && idx < n && end && *end == '\0') counts[idx]++;
            else others++;
        }
        freeReplyObject(r);
        if (between) between(c, calls);
        if (++calls > 20 * NSCAN) ST_FAIL("SCAN %s: no end after %d calls", args, calls);
    } while (strcmp(cursor, "0"));
    if (calls_out) *calls_out = calls;
    return others;
}

static void expect_each_once(const int *counts, int n, const char *what) {
    for (int i = 0; i < n; i++)
        if (counts[i] != 1) ST_FAIL("%s: key %d returned %d times (want exactly once)", what, i, counts[i]);
}

static void test_scan_full_iteration(void **state) {
    redisContext *c = *state;
    insert_keys(c, "key:", NSCAN);
    insert_keys(c, "other:", 50);
    EXPECT_INT(c, NSCAN + 50, "DBSIZE");
    static const char *const variants[] = {"", "COUNT 1", "COUNT 7", "COUNT 100", "COUNT 5000", "TYPE string",
                                           "COUNT 10 TYPE string", "MATCH key:*", "MATCH key:* COUNT 3"};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        int counts[NSCAN] = {0};
        int calls = 0;
        int others = full_scan(c, variants[v], "key:", NSCAN, counts, NULL, &calls);
        char what[64];
        snprintf(what, sizeof what, "SCAN %s", variants[v]);
        expect_each_once(counts, NSCAN, what);
        int want_others = strstr(variants[v], "MATCH") ? 0 : 50;
        if (others != want_others) ST_FAIL("%s: %d other keys (want %d)", what, others, want_others);
        if (!strcmp(variants[v], "COUNT 1") && calls < 100) ST_FAIL("SCAN COUNT 1 finished in %d calls", calls);
    }
    /* MATCH other:* returns exactly the 50 others */
    int counts[50] = {0};
    int others = full_scan(c, "MATCH other:* COUNT 20", "other:", 50, counts, NULL, NULL);
    expect_each_once(counts, 50, "SCAN MATCH other:*");
    assert_int_equal(others, 0);
    /* TYPE of a type no key has: nothing, but the iteration ends */
    int none[1] = {0};
    others = full_scan(c, "TYPE hash COUNT 100", "zz", 1, none, NULL, NULL);
    assert_int_equal(others, 0);
}

static void scan_mutator(redisContext *c, int call) {
    /* between SCAN calls: add new keys and delete keys of the "gone:" set */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "SET new:%d v", call);
    freeReplyObject(CMD(c, cmd));
    snprintf(cmd, sizeof cmd, "DEL gone:%d gone:%d", 2 * call, 2 * call + 1);
    freeReplyObject(CMD(c, cmd));
}

static void test_scan_with_concurrent_changes(void **state) {
    redisContext *c = *state;
    insert_keys(c, "key:", NSCAN);
    insert_keys(c, "gone:", 200);
    int counts[NSCAN] = {0};
    full_scan(c, "COUNT 25", "key:", NSCAN, counts, scan_mutator, NULL);
    /* every key present for the whole iteration is returned */
    for (int i = 0; i < NSCAN; i++)
        if (counts[i] < 1) ST_FAIL("SCAN with concurrent changes missed key:%d", i);
}

static void test_scan_errors_and_empty(void **state) {
    redisContext *c = *state;
    redisReply *r = CMD(c, "SCAN 0");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    assert_string_equal(r->element[0]->str, "0");
    assert_int_equal(r->element[1]->elements, 0);
    freeReplyObject(r);
    EXPECT_OK(c, "SET a 1");
    EXPECT_ERR(c, "ERR invalid cursor", "SCAN abc");
    EXPECT_ERR(c, "ERR invalid cursor", "SCAN 18446744073709551616");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 COUNT 0");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SCAN 0 COUNT abc");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 FOO");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 MATCH");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 TYPE");
    EXPECT_ERR(c, "ERR syntax error", "SCAN 0 COUNT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'scan' command", "SCAN");
}

/* ---- RANDOMKEY ---------------------------------------------------------------------------------------- */

static void test_randomkey(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "RANDOMKEY");
    EXPECT_OK(c, "SET only v");
    EXPECT_BULK(c, "only", "RANDOMKEY");
    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    bool seen[4] = {false};
    for (int i = 0; i < 200; i++) {
        redisReply *r = CMD(c, "RANDOMKEY");
        if (r->type != REDIS_REPLY_STRING) ST_FAIL("RANDOMKEY: not a bulk");
        if (!strcmp(r->str, "only")) seen[0] = true;
        else if (!strcmp(r->str, "a")) seen[1] = true;
        else if (!strcmp(r->str, "b")) seen[2] = true;
        else if (!strcmp(r->str, "c")) seen[3] = true;
        else ST_FAIL("RANDOMKEY returned %s, not a key of the database", r->str);
        freeReplyObject(r);
    }
    int distinct = seen[0] + seen[1] + seen[2] + seen[3];
    if (distinct < 2) ST_FAIL("RANDOMKEY returned one key in 200 calls over 4 keys");
    EXPECT_OK(c, "SELECT 5");
    EXPECT_NIL(c, "RANDOMKEY");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'randomkey' command", "RANDOMKEY x");
}

/* KEYS/SCAN with binary keys around the edges of a literal-prefix scan (0xff and 0x00 bytes, an
 * escaped wildcard in the prefix), a 100 KB key, and databases holding keys that sort right after
 * the scanned range: nothing leaks in from the next database. */
static void test_keys_binary_prefixes(void **state) {
    redisContext *c = *state;
    static const struct {
        const char *k;
        size_t n;
    } keys[] = {{"\xff\xff", 2}, {"\xff\xffz", 3}, {"\xff\xfe", 2}, {"\xff", 1}, {"a*b", 3},
                {"a*bc", 4},       {"axbc", 4},        {"\0", 1},         {"\0\0", 2}};
    size_t nk = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < nk; i++) EXPECT_OK(c, "SET %b 1", keys[i].k, keys[i].n);
    EXPECT_OK(c, "SELECT 1");
    EXPECT_OK(c, "SET %b db1", "\xff\xff\xff", (size_t)3);
    EXPECT_OK(c, "SET %b db1", "\0", (size_t)1);
    EXPECT_OK(c, "SELECT 0");
    static const struct {
        const char *pat;
        size_t plen;
        size_t want;
    } pats[] = {{"\xff\xff*", 3, 2}, {"\xff*", 2, 4}, {"a\\*b*", 5, 2}, {"\0*", 2, 2}, {"*", 1, 9}, {"\xff?", 2, 2}};
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
        redisReply *r = CMD(c, "KEYS %b", pats[i].pat, pats[i].plen);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != pats[i].want) {
            char *s = st_reply_repr(r), *p = st_escape(pats[i].pat, pats[i].plen);
            ST_FAIL("KEYS \"%s\": %s (want %zu keys)", p, s, pats[i].want);
        }
        freeReplyObject(r);
        /* SCAN MATCH with a small COUNT finds the same keys */
        size_t found = 0;
        char cursor[32] = "0";
        int calls = 0;
        do {
            r = CMD(c, "SCAN %s MATCH %b COUNT 2", cursor, pats[i].pat, pats[i].plen);
            assert_int_equal(r->type, REDIS_REPLY_ARRAY);
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            found += r->element[1]->elements;
            freeReplyObject(r);
            if (++calls > 1000) ST_FAIL("SCAN MATCH does not end");
        } while (strcmp(cursor, "0"));
        if (found != pats[i].want) {
            char *p = st_escape(pats[i].pat, pats[i].plen);
            ST_FAIL("SCAN MATCH \"%s\": %zu keys (want %zu)", p, found, pats[i].want);
        }
    }
    EXPECT_INT(c, (long long)nk, "DBSIZE");
    /* a 100 KB key */
    size_t bn = 100000;
    char *big = malloc(bn);
    memset(big, 'k', bn);
    EXPECT_OK(c, "SET %b v", big, bn);
    EXPECT_BULK(c, "v", "GET %b", big, bn);
    EXPECT_OK(c, "RENAME %b small", big, bn);
    EXPECT_INT(c, 0, "EXISTS %b", big, bn);
    EXPECT_BULK(c, "v", "GET small");
    free(big);
}

/* RANDOMKEY never returns a key whose TTL has passed. */
static void test_randomkey_skips_expired(void **state) {
    redisContext *c = *state;
    for (int i = 0; i < 5; i++) EXPECT_OK(c, "SET e%d v PX 30", i);
    int64_t until = st_now_ms() + 100; /* time passing: the TTLs are 30 ms */
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_NIL(c, "RANDOMKEY");
    EXPECT_OK(c, "SET live v");
    for (int i = 0; i < 5; i++) EXPECT_OK(c, "SET f%d v PX 30", i);
    until = st_now_ms() + 100;
    while (st_now_ms() < until) st_sleep_ms(10);
    for (int i = 0; i < 20; i++) EXPECT_BULK(c, "live", "RANDOMKEY");
}

/* ---- databases -------------------------------------------------------------------------------------------- */

static void test_select_isolation(void **state) {
    redisContext *c = *state;
    redisContext *other = st_connect(&srv);
    assert_non_null(other);
    EXPECT_OK(c, "SET k db0");
    EXPECT_OK(c, "SELECT 1");
    EXPECT_NIL(c, "GET k");
    EXPECT_OK(c, "SET k db1 EX 100");
    EXPECT_BULK(c, "db1", "GET k");
    EXPECT_OK(c, "SET only1 x");
    EXPECT_INT(c, 2, "DBSIZE");
    EXPECT_INT(c, 1, "DEL k");
    EXPECT_OK(c, "SET k db1 EX 100");
    /* the other connection stays in db 0 */
    EXPECT_BULK(other, "db0", "GET k");
    EXPECT_INT(other, -1, "TTL k");
    EXPECT_INT(other, 1, "DBSIZE");
    EXPECT_INT(other, 0, "EXISTS only1");
    EXPECT_ERR(other, "ERR no such key", "RENAME only1 x");
    EXPECT_OK(c, "SELECT 15");
    EXPECT_OK(c, "SET k db15");
    EXPECT_OK(c, "RENAME k k2");
    EXPECT_OK(c, "SELECT 1");
    EXPECT_BULK(c, "db1", "GET k");
    EXPECT_INT_RANGE(c, 98, 100, "TTL k");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_BULK(c, "db0", "GET k");
    EXPECT_INT(c, 0, "EXISTS k2");
    EXPECT_ERR(c, "ERR DB index is out of range", "SELECT 16");
    EXPECT_ERR(c, "ERR DB index is out of range", "SELECT -1");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SELECT abc");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'select' command", "SELECT");
    EXPECT_BULK(c, "db0", "GET k"); /* a failed SELECT keeps the database */
    redisFree(other);
}

static void test_flushdb_flushall_dbsize(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "MSET a 1 b 2 c 3");
    EXPECT_INT(c, 3, "DBSIZE");
    EXPECT_OK(c, "SELECT 2");
    EXPECT_OK(c, "MSET a 1 b 2");
    EXPECT_INT(c, 2, "DBSIZE");
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_INT(c, 3, "DBSIZE");
    EXPECT_BULK(c, "1", "GET a");
    EXPECT_OK(c, "SELECT 2");
    EXPECT_OK(c, "SET x 1");
    EXPECT_OK(c, "FLUSHDB ASYNC");
    EXPECT_OK(c, "SET y 1");
    EXPECT_OK(c, "FLUSHDB SYNC");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_ERR(c, "ERR syntax error", "FLUSHDB FOO");
    EXPECT_ERR(c, "ERR syntax error", "FLUSHALL FOO");
    EXPECT_OK(c, "SET z 1");
    EXPECT_OK(c, "FLUSHALL");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_NIL(c, "GET a");
    /* the databases work normally afterwards, TTLs included */
    EXPECT_OK(c, "SET a new EX 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL a");
    EXPECT_OK(c, "FLUSHALL ASYNC");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'dbsize' command", "DBSIZE x");
    /* DBSIZE follows many writes */
    insert_keys(c, "d:", 500);
    EXPECT_INT(c, 500, "DBSIZE");
    EXPECT_INT(c, 3, "DEL d:1 d:2 d:3");
    EXPECT_INT(c, 497, "DBSIZE");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_del_unlink_exists_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_in_the_past_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_keys_are_hidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_active_expiry_spares_rewritten_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_full_iteration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_with_concurrent_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_errors_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_randomkey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_randomkey_skips_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_binary_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flushdb_flushall_dbsize, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
