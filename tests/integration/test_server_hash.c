/* test_server_hash.c -- every hash command of strata-server against Redis 7.0's replies and error
 * texts: HSET/HSETNX/HMSET (count of new fields, repeated fields), HGET/HMGET, HDEL (the last field
 * deletes the key), HLEN/HSTRLEN/HEXISTS, HGETALL/HKEYS/HVALS, HINCRBY (overflow, non-integers),
 * HINCRBYFLOAT (formatting, NaN/Infinity, non-floats), HRANDFIELD (no count, positive, negative,
 * WITHVALUES, 0, missing key, on a small and a large hash), HSCAN full iterations (COUNT, MATCH,
 * errors); binary-safe fields and values (NUL, CRLF, empty field and value, a 100 KB value), 5000
 * fields set through pipelines, hashes that must not see each other's fields (keys that prefix one
 * another, databases), WRONGTYPE in both directions, arity errors, RESP2/RESP3 reply shapes on a
 * raw socket, TTLs (a hash that expires or is deleted and is written again starts empty) and
 * atomic HINCRBY/HSETNX under concurrent clients.
 *
 * Field order: Strata keeps a hash's fields in byte order, Redis in hash-table order, and Strata's
 * HSCAN honours COUNT where Redis returns a small hash in one call. So HGETALL/HKEYS/HVALS/
 * HRANDFIELD results are compared as sets (HVALS as a multiset) and HSCAN is always iterated until
 * its cursor is "0" (cursors are opaque strings) -- deliberately order-insensitive, so the same
 * file passes against both (STRATA_IT_SERVER=/usr/bin/redis-server checks the test itself).
 * One server for the group; each test starts from FLUSHALL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-hash", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

#define WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define HSCAN_MAX_CALLS 10000
#define HSCAN_DEADLINE_MS 15000

/* ---- helpers: a hash's expected content, compared order-insensitively ----------------------------- */

typedef struct kv {
    const char *f;
    size_t fl;
    const char *v;
    size_t vl;
} kv;

/* A pair of string literals (embedded NULs kept). */
#define KV(f, v) {(f), sizeof(f) - 1, (v), sizeof(v) - 1}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl) {
    size_t m = al < bl ? al : bl;
    int r = m ? memcmp(a, b, m) : 0;
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

static int kv_cmp_field(const void *a, const void *b) {
    const kv *x = a, *y = b;
    return bytes_cmp(x->f, x->fl, y->f, y->fl);
}

static int kv_cmp_value(const void *a, const void *b) {
    const kv *x = a, *y = b;
    return bytes_cmp(x->v, x->vl, y->v, y->vl);
}

/* A copy of want sorted by field (fails on a duplicate field: a bug of the test). */
static kv *sorted_copy(const char *file, int line, const kv *want, size_t n) {
    kv *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) st_fail_at(file, line, "out of memory");
    if (n) memcpy(s, want, n * sizeof *s);
    qsort(s, n, sizeof *s, kv_cmp_field);
    for (size_t i = 1; i < n; i++)
        if (!kv_cmp_field(&s[i - 1], &s[i])) st_fail_at(file, line, "test bug: a field is expected twice");
    return s;
}

/* Index of field (f, fl) in sorted, or -1. */
static long find_field(const kv *sorted, size_t n, const char *f, size_t fl) {
    kv key = {f, fl, NULL, 0};
    const kv *p = n ? bsearch(&key, sorted, n, sizeof *sorted, kv_cmp_field) : NULL;
    return p ? (long)(p - sorted) : -1;
}

static void fail_reply(const char *file, int line, const char *what, const redisReply *r, const char *why) {
    char *s = st_reply_repr(r);
    st_fail_at(file, line, "%s: %s (reply %.2000s)", what, why, s);
    free(s);
}

/* Fails unless r is an array of n elements. */
static void check_array(const char *file, int line, const char *what, const redisReply *r, size_t n) {
    if (r->type != REDIS_REPLY_ARRAY) fail_reply(file, line, what, r, "not an array");
    if (r->elements != n) {
        char why[96];
        snprintf(why, sizeof why, "%zu elements, want %zu", r->elements, n);
        fail_reply(file, line, what, r, why);
    }
}

/* Fails unless element e is a bulk string holding a field of sorted; returns its index. */
static long check_field_elem(const char *file, int line, const char *what, const redisReply *e, const kv *sorted,
                             size_t n) {
    if (e->type != REDIS_REPLY_STRING) fail_reply(file, line, what, e, "element is not a bulk string");
    long i = find_field(sorted, n, e->str, e->len);
    if (i < 0) {
        char *f = st_escape(e->str, e->len);
        st_fail_at(file, line, "%s: returned field \"%.200s\" that the hash does not hold", what, f);
        free(f);
    }
    return i;
}

/* Fails unless element e is the bulk string value of sorted[i]. */
static void check_value_elem(const char *file, int line, const char *what, const redisReply *e, const kv *sorted,
                             long i) {
    if (e->type != REDIS_REPLY_STRING || e->len != sorted[i].vl || (e->len && memcmp(e->str, sorted[i].v, e->len))) {
        char *f = st_escape(sorted[i].f, sorted[i].fl), *v = st_escape(sorted[i].v, sorted[i].vl);
        char *s = st_reply_repr(e);
        st_fail_at(file, line, "%s: field \"%.200s\" came with %.200s, want \"%.200s\"", what, f, s, v);
        free(f);
        free(v);
        free(s);
    }
}

/* One full HSCAN iteration of key with the extra arguments opts ("COUNT 7", "MATCH f:1*", space
 * separated, may be ""), bounded in calls and time. Every field returned must be one of sorted (n)
 * and come with its value; counts[i] += the times sorted[i] was returned. Returns the calls made. */
typedef struct hscan_check {
    const char *file;
    int line;
    const char *what;
    const kv *sorted;
    size_t n;
    int *counts;
} hscan_check;

static void hscan_take(void *arg, const redisReply *const *items) {
    hscan_check *h = arg;
    long i = check_field_elem(h->file, h->line, h->what, items[0], h->sorted, h->n);
    check_value_elem(h->file, h->line, h->what, items[1], h->sorted, i);
    if (h->counts) h->counts[i]++;
}

static int hscan_all(redisContext *c, const char *file, int line, const char *key, size_t keylen, const char *opts,
                     const kv *sorted, size_t n, int *counts) {
    char what[300];
    snprintf(what, sizeof what, "HSCAN <cursor> %s", opts ? opts : "");
    hscan_check h = {file, line, what, sorted, n, counts};
    return st_scan_all(c, file, line, "HSCAN", key, keylen, opts, 2, HSCAN_MAX_CALLS, HSCAN_DEADLINE_MS, hscan_take, &h);
}

/* The hash at key holds exactly want (n pairs, any order): HLEN, HGETALL, HKEYS, HVALS (multiset),
 * HMGET of every field (in request order), HEXISTS/HSTRLEN of the first field and a full HSCAN. */
static void expect_hash(redisContext *c, const char *file, int line, const char *key, size_t keylen, const kv *want,
                        size_t n) {
    kv *s = sorted_copy(file, line, want, n);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    redisReply *r = st_cmd(c, file, line, "HLEN %b", key, keylen);
    st_check_reply_int(r, file, line, (long long)n, "HLEN");
    freeReplyObject(r);
    /* HGETALL: field, value pairs, each field once */
    r = st_cmd(c, file, line, "HGETALL %b", key, keylen);
    check_array(file, line, "HGETALL", r, 2 * n);
    for (size_t j = 0; j < r->elements; j += 2) {
        long i = check_field_elem(file, line, "HGETALL", r->element[j], s, n);
        if (seen[i]) fail_reply(file, line, "HGETALL", r->element[j], "field returned twice");
        seen[i] = true;
        check_value_elem(file, line, "HGETALL", r->element[j + 1], s, i);
    }
    freeReplyObject(r);
    /* HKEYS: the fields, each once */
    memset(seen, 0, (n ? n : 1) * sizeof *seen);
    r = st_cmd(c, file, line, "HKEYS %b", key, keylen);
    check_array(file, line, "HKEYS", r, n);
    for (size_t j = 0; j < r->elements; j++) {
        long i = check_field_elem(file, line, "HKEYS", r->element[j], s, n);
        if (seen[i]) fail_reply(file, line, "HKEYS", r->element[j], "field returned twice");
        seen[i] = true;
    }
    freeReplyObject(r);
    /* HVALS: the values as a multiset */
    r = st_cmd(c, file, line, "HVALS %b", key, keylen);
    check_array(file, line, "HVALS", r, n);
    kv *got = malloc((n ? n : 1) * sizeof *got), *exp = malloc((n ? n : 1) * sizeof *exp);
    for (size_t j = 0; j < n; j++) {
        if (r->element[j]->type != REDIS_REPLY_STRING) fail_reply(file, line, "HVALS", r->element[j], "not a bulk string");
        got[j] = (kv){NULL, 0, r->element[j]->str, r->element[j]->len};
        exp[j] = s[j];
    }
    qsort(got, n, sizeof *got, kv_cmp_value);
    qsort(exp, n, sizeof *exp, kv_cmp_value);
    for (size_t j = 0; j < n; j++)
        if (kv_cmp_value(&got[j], &exp[j])) {
            char *a = st_escape(got[j].v, got[j].vl), *b = st_escape(exp[j].v, exp[j].vl);
            st_fail_at(file, line, "HVALS: the values differ from the hash's (sorted #%zu: \"%.200s\" vs \"%.200s\")", j,
                       a, b);
            free(a);
            free(b);
        }
    free(got);
    free(exp);
    freeReplyObject(r);
    /* HMGET of every field, in the order asked */
    if (n) {
        const char **argv = malloc((n + 2) * sizeof *argv);
        size_t *argl = malloc((n + 2) * sizeof *argl);
        argv[0] = "HMGET", argl[0] = 5;
        argv[1] = key, argl[1] = keylen;
        for (size_t j = 0; j < n; j++) argv[j + 2] = want[j].f, argl[j + 2] = want[j].fl;
        r = st_cmd_argv(c, file, line, (int)(n + 2), argv, argl);
        check_array(file, line, "HMGET", r, n);
        for (size_t j = 0; j < n; j++) {
            long i = find_field(s, n, want[j].f, want[j].fl);
            check_value_elem(file, line, "HMGET", r->element[j], s, i);
        }
        freeReplyObject(r);
        free(argv);
        free(argl);
        r = st_cmd(c, file, line, "HEXISTS %b %b", key, keylen, want[0].f, want[0].fl);
        st_check_reply_int(r, file, line, 1, "HEXISTS of the first field");
        freeReplyObject(r);
        r = st_cmd(c, file, line, "HSTRLEN %b %b", key, keylen, want[0].f, want[0].fl);
        st_check_reply_int(r, file, line, (long long)want[0].vl, "HSTRLEN of the first field");
        freeReplyObject(r);
    }
    /* HSCAN: every field at least once, with its value */
    int *counts = calloc(n ? n : 1, sizeof *counts);
    hscan_all(c, file, line, key, keylen, "", s, n, counts);
    for (size_t i = 0; i < n; i++)
        if (counts[i] < 1) {
            char *f = st_escape(s[i].f, s[i].fl);
            st_fail_at(file, line, "HSCAN never returned field \"%.200s\"", f);
            free(f);
        }
    free(counts);
    free(seen);
    free(s);
}
/* EXPECT_HASH(c, key, n, KV(f, v), ...): n must be the number of pairs listed (checked). */
static void expect_hash_listed(redisContext *c, const char *file, int line, const char *key, const kv *want, size_t n,
                               size_t listed) {
    if (n != listed) st_fail_at(file, line, "test bug: EXPECT_HASH says %zu pairs and lists %zu", n, listed);
    expect_hash(c, file, line, key, strlen(key), want, n);
}
#define EXPECT_HASH(c, key, n, ...)                                                               \
    expect_hash_listed((c), __FILE__, __LINE__, (key), (const kv[]){__VA_ARGS__}, (n),            \
                       sizeof((const kv[]){__VA_ARGS__}) / sizeof(kv))
#define EXPECT_HASHB(c, key, keylen, want, n) expect_hash((c), __FILE__, __LINE__, (key), (keylen), (want), (n))

/* The key does not exist and every read of it answers as for a missing hash. */
static void expect_no_hash(redisContext *c, const char *file, int line, const char *key) {
    st_expect_int(c, file, line, 0, "EXISTS %s", key);
    st_expect_status(c, file, line, "none", "TYPE %s", key);
    st_expect_int(c, file, line, 0, "HLEN %s", key);
    st_expect_strs(c, file, line, 0, NULL, "HGETALL %s", key);
    st_expect_strs(c, file, line, 0, NULL, "HKEYS %s", key);
    st_expect_strs(c, file, line, 0, NULL, "HVALS %s", key);
    st_expect_nil(c, file, line, "HRANDFIELD %s", key);
    int calls = hscan_all(c, file, line, key, strlen(key), "", NULL, 0, NULL);
    if (calls != 1) st_fail_at(file, line, "HSCAN of missing key %s took %d calls", key, calls);
}
#define EXPECT_NO_HASH(c, key) expect_no_hash((c), __FILE__, __LINE__, (key))

/* Waits (bounded) until key no longer exists, polling EXISTS. */
static void wait_gone(redisContext *c, const char *file, int line, const char *key, int deadline_ms) {
    int64_t end = st_now_ms() + deadline_ms;
    for (;;) {
        redisReply *r = st_cmd(c, file, line, "EXISTS %s", key);
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n == 0) return;
        if (n != 1) st_fail_at(file, line, "EXISTS %s: not 0 or 1", key);
        if (st_now_ms() > end) st_fail_at(file, line, "%s still exists %d ms after it should have expired", key, deadline_ms);
        st_sleep_ms(10);
    }
}

/* Lets time pass without touching any key. */
static void pass_ms(int ms) {
    int64_t until = st_now_ms() + ms;
    while (st_now_ms() < until) st_sleep_ms(5);
}

/* Builds n pairs "<fprefix><i>" -> "<vprefix><i>" (malloc'ed strings; free with free_pairs). */
static kv *make_pairs(const char *fprefix, const char *vprefix, size_t n) {
    kv *p = calloc(n ? n : 1, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        char b[64];
        int l = snprintf(b, sizeof b, "%s%zu", fprefix, i);
        p[i].f = strdup(b), p[i].fl = (size_t)l;
        l = snprintf(b, sizeof b, "%s%zu", vprefix, i);
        p[i].v = strdup(b), p[i].vl = (size_t)l;
    }
    return p;
}

static void free_pairs(kv *p, size_t n) {
    for (size_t i = 0; i < n; i++) free((char *)p[i].f), free((char *)p[i].v);
    free(p);
}

/* HSETs the pairs into key: pipelined HSETs of `per` pairs, at most 50 commands in flight; every
 * reply must be the number of pairs of its command (all fields new). */
static void hset_pipelined(redisContext *c, const char *file, int line, const char *key, const kv *p, size_t n,
                           size_t per) {
    const char *argv[2 + 2 * 64];
    size_t argl[2 + 2 * 64];
    if (per > 64) per = 64;
    argv[0] = "HSET", argl[0] = 4;
    argv[1] = key, argl[1] = strlen(key);
    size_t i = 0;
    while (i < n) {
        size_t want[50];
        int cmds = 0;
        for (; cmds < 50 && i < n; cmds++) {
            size_t k = 0;
            for (; k < per && i < n; k++, i++) {
                argv[2 + 2 * k] = p[i].f, argl[2 + 2 * k] = p[i].fl;
                argv[3 + 2 * k] = p[i].v, argl[3 + 2 * k] = p[i].vl;
            }
            want[cmds] = k;
            if (redisAppendCommandArgv(c, (int)(2 + 2 * k), argv, argl) != REDIS_OK)
                st_fail_at(file, line, "redisAppendCommandArgv failed");
        }
        for (int j = 0; j < cmds; j++) {
            redisReply *r = st_get_reply(c, file, line);
            st_check_reply_int(r, file, line, (long long)want[j], "pipelined HSET");
            freeReplyObject(r);
        }
    }
}

/* Counts of a full HSCAN: fails unless every field for which must(i) holds was returned at least
 * once and no other field was returned. */
static void expect_scan_counts(const char *file, int line, const char *what, const kv *sorted, size_t n,
                               const int *counts, bool (*must)(const kv *)) {
    for (size_t i = 0; i < n; i++) {
        bool m = must(&sorted[i]);
        if ((m && counts[i] < 1) || (!m && counts[i] != 0)) {
            char *f = st_escape(sorted[i].f, sorted[i].fl);
            st_fail_at(file, line, "%s: field \"%.200s\" returned %d times (want %s)", what, f, counts[i],
                       m ? "at least once" : "never");
            free(f);
        }
    }
}

static bool always(const kv *p) { (void)p; return true; }

/* ---- HSET / HSETNX / HMSET / HGET / HMGET ------------------------------------------------------------- */

static void test_hset_hget_hmset_hsetnx(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "HSET h a 1 b 2 c 3");
    EXPECT_STATUS(c, "hash", "TYPE h");
    EXPECT_INT(c, 1, "EXISTS h");
    EXPECT_INT(c, 1, "HSET h a 10 d 4"); /* only d is new; a is updated */
    EXPECT_INT(c, 0, "HSET h a 11 b 22");
    EXPECT_BULK(c, "11", "HGET h a");
    EXPECT_BULK(c, "22", "HGET h b");
    EXPECT_BULK(c, "3", "HGET h c");
    EXPECT_BULK(c, "4", "HGET h d");
    /* a field repeated in one command counts once, and the last value wins */
    EXPECT_INT(c, 1, "HSET h e 1 e 2 e 3");
    EXPECT_BULK(c, "3", "HGET h e");
    EXPECT_INT(c, 0, "HSET h e x e y");
    EXPECT_BULK(c, "y", "HGET h e");
    EXPECT_INT(c, 1, "HSET fresh x 1 x 2");
    EXPECT_BULK(c, "2", "HGET fresh x");
    EXPECT_INT(c, 1, "HLEN fresh");
    /* HMSET: OK, same semantics, creates the key */
    EXPECT_OK(c, "HMSET h a 100 f 6");
    EXPECT_OK(c, "HMSET m x 1 y 2 x 3");
    EXPECT_STATUS(c, "hash", "TYPE m");
    EXPECT_HASH(c, "m", 2, KV("x", "3"), KV("y", "2"));
    /* HSETNX */
    EXPECT_INT(c, 0, "HSETNX h a 999");
    EXPECT_BULK(c, "100", "HGET h a");
    EXPECT_INT(c, 1, "HSETNX h g 7");
    EXPECT_INT(c, 0, "HSETNX h g 8");
    EXPECT_BULK(c, "7", "HGET h g");
    EXPECT_INT(c, 1, "HSETNX nx f v");
    EXPECT_STATUS(c, "hash", "TYPE nx");
    EXPECT_HASH(c, "nx", 1, KV("f", "v"));
    EXPECT_HASH(c, "h", 7, KV("a", "100"), KV("b", "22"), KV("c", "3"), KV("d", "4"), KV("e", "y"), KV("f", "6"),
                KV("g", "7"));
    /* HMGET: values in the order asked, nil for missing fields, a field asked twice twice */
    EXPECT_STRS(c, 5, ((const char *[]){"100", NULL, "3", "100", NULL}), "HMGET h a zz c a %s", "");
    EXPECT_STRS(c, 1, ((const char *[]){"22"}), "HMGET h b");
    /* case-insensitive command names; field names are case-sensitive */
    EXPECT_INT(c, 1, "hset h A upper");
    EXPECT_BULK(c, "upper", "hget h A");
    EXPECT_BULK(c, "100", "HgEt h a");
    EXPECT_INT(c, 8, "HLEN h");
}

static void test_missing_key_and_field(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "HGET missing f");
    EXPECT_STRS(c, 3, ((const char *[]){NULL, NULL, NULL}), "HMGET missing a b c");
    EXPECT_INT(c, 0, "HLEN missing");
    EXPECT_INT(c, 0, "HEXISTS missing f");
    EXPECT_INT(c, 0, "HSTRLEN missing f");
    EXPECT_INT(c, 0, "HDEL missing f g");
    EXPECT_STRS(c, 0, NULL, "HGETALL missing");
    EXPECT_STRS(c, 0, NULL, "HKEYS missing");
    EXPECT_STRS(c, 0, NULL, "HVALS missing");
    EXPECT_NIL(c, "HRANDFIELD missing");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing 3");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing -3");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing 3 WITHVALUES");
    EXPECT_NO_HASH(c, "missing");
    EXPECT_INT(c, 0, "DBSIZE"); /* no read created anything */
    EXPECT_INT(c, 1, "HSET h a 1");
    EXPECT_NIL(c, "HGET h b");
    EXPECT_NIL(c, "HGET h A");
    EXPECT_NIL(c, "HGET h %s", "");
    EXPECT_NIL(c, "HGET h aa");
    EXPECT_STRS(c, 2, ((const char *[]){NULL, "1"}), "HMGET h b a");
    EXPECT_INT(c, 0, "HEXISTS h b");
    EXPECT_INT(c, 0, "HSTRLEN h b");
}

/* ---- HDEL / HLEN / HSTRLEN / HEXISTS -------------------------------------------------------------------- */

static void test_hdel_hlen(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "HSET h a 1 b 2 c 3 d 4 e 5");
    EXPECT_INT(c, 5, "HLEN h");
    EXPECT_INT(c, 1, "HDEL h a");
    EXPECT_INT(c, 0, "HDEL h a");
    EXPECT_INT(c, 4, "HLEN h");
    EXPECT_INT(c, 2, "HDEL h b c zz b"); /* missing fields and repeats are not counted */
    EXPECT_INT(c, 2, "HLEN h");
    EXPECT_NIL(c, "HGET h b");
    EXPECT_HASH(c, "h", 2, KV("d", "4"), KV("e", "5"));
    /* re-adding a deleted field is a new field */
    EXPECT_INT(c, 1, "HSET h a again");
    EXPECT_BULK(c, "again", "HGET h a");
    EXPECT_INT(c, 3, "HLEN h");
    /* deleting the last fields deletes the key */
    EXPECT_INT(c, 3, "HDEL h a d e");
    EXPECT_NO_HASH(c, "h");
    EXPECT_INT(c, -2, "TTL h");
    EXPECT_INT(c, 0, "HDEL h a");
    /* one by one down to empty */
    EXPECT_INT(c, 2, "HSET k x 1 y 2");
    EXPECT_INT(c, 1, "HDEL k x");
    EXPECT_INT(c, 1, "EXISTS k");
    EXPECT_INT(c, 1, "HDEL k y");
    EXPECT_NO_HASH(c, "k");
    EXPECT_INT(c, 0, "DBSIZE");
    /* the key is new afterwards: HSETNX succeeds, HSET counts the field as new */
    EXPECT_INT(c, 1, "HSETNX k x 3");
    EXPECT_HASH(c, "k", 1, KV("x", "3"));
}

static void test_hstrlen_hexists(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 4, "HSET h short abc long %s empty %s num 12345", "0123456789012345678901234567890123456789", "");
    EXPECT_INT(c, 3, "HSTRLEN h short");
    EXPECT_INT(c, 40, "HSTRLEN h long");
    EXPECT_INT(c, 0, "HSTRLEN h empty");
    EXPECT_INT(c, 5, "HSTRLEN h num");
    EXPECT_INT(c, 0, "HSTRLEN h nope");
    EXPECT_INT(c, 1, "HEXISTS h short");
    EXPECT_INT(c, 1, "HEXISTS h empty"); /* an empty value exists */
    EXPECT_INT(c, 0, "HEXISTS h nope");
    EXPECT_INT(c, 0, "HEXISTS h SHORT");
    EXPECT_INT(c, 12445, "HINCRBY h num 100");
    EXPECT_INT(c, 5, "HSTRLEN h num"); /* 12445 */
    EXPECT_INT(c, 0, "HSET h short abcdefgh");
    EXPECT_INT(c, 8, "HSTRLEN h short");
    EXPECT_INT(c, 1, "HDEL h short");
    EXPECT_INT(c, 0, "HEXISTS h short");
    EXPECT_INT(c, 0, "HSTRLEN h short");
}

/* ---- HGETALL / HKEYS / HVALS ------------------------------------------------------------------------------- */

static void test_hgetall_hkeys_hvals(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 6, "HSET h zeta 1 alpha 2 mid 3 Beta 4 a 5 z 1");
    /* HVALS has a repeated value: compared as a multiset */
    EXPECT_HASH(c, "h", 6, KV("zeta", "1"), KV("alpha", "2"), KV("mid", "3"), KV("Beta", "4"), KV("a", "5"),
                KV("z", "1"));
    EXPECT_INT(c, 1, "HSET one f v");
    EXPECT_STRS(c, 2, ((const char *[]){"f", "v"}), "HGETALL one");
    EXPECT_STRS(c, 1, ((const char *[]){"f"}), "HKEYS one");
    EXPECT_STRS(c, 1, ((const char *[]){"v"}), "HVALS one");
    /* updates show up, deleted fields do not */
    EXPECT_INT(c, 0, "HSET h mid 33");
    EXPECT_INT(c, 2, "HDEL h zeta a");
    EXPECT_HASH(c, "h", 4, KV("alpha", "2"), KV("mid", "33"), KV("Beta", "4"), KV("z", "1"));
    /* past the small-hash encoding of Redis (512 fields / 64-byte values) */
    kv *p = make_pairs("field:", "value:", 600);
    hset_pipelined(c, __FILE__, __LINE__, "big", p, 600, 20);
    EXPECT_HASHB(c, "big", 3, p, 600);
    char longv[100];
    memset(longv, 'L', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    EXPECT_INT(c, 0, "HSET big field:7 %s", longv);
    free((char *)p[7].v);
    p[7].v = strdup(longv), p[7].vl = strlen(longv);
    EXPECT_HASHB(c, "big", 3, p, 600);
    free_pairs(p, 600);
    EXPECT_STRS(c, 0, NULL, "HGETALL missing");
    EXPECT_STRS(c, 0, NULL, "HKEYS missing");
    EXPECT_STRS(c, 0, NULL, "HVALS missing");
}

/* ---- HINCRBY / HINCRBYFLOAT ------------------------------------------------------------------------------------ */

static void test_hincrby(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 5, "HINCRBY h n 5"); /* creates key and field */
    EXPECT_STATUS(c, "hash", "TYPE h");
    EXPECT_INT(c, 15, "HINCRBY h n 10");
    EXPECT_INT(c, -5, "HINCRBY h n -20");
    EXPECT_INT(c, -5, "HINCRBY h n 0");
    EXPECT_BULK(c, "-5", "HGET h n");
    EXPECT_INT(c, 7, "HINCRBY h other 7"); /* a new field in an existing hash */
    EXPECT_INT(c, 0, "HINCRBY h zero 0");
    EXPECT_BULK(c, "0", "HGET h zero");
    EXPECT_INT(c, 3, "HLEN h");
    EXPECT_INT(c, 1, "HSET h s 41");
    EXPECT_INT(c, 42, "HINCRBY h s 1");
    EXPECT_BULK(c, "42", "HGET h s");
    EXPECT_INT(c, 1, "HSET h z 0");
    EXPECT_INT(c, -1, "HINCRBY h z -1");
    /* the limits of a signed 64-bit integer */
    EXPECT_INT(c, 2, "HSET h max 9223372036854775800 min -9223372036854775800");
    EXPECT_INT(c, 9223372036854775807LL, "HINCRBY h max 7");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "HINCRBY h max 1");
    EXPECT_BULK(c, "9223372036854775807", "HGET h max");
    EXPECT_INT(c, (-9223372036854775807LL - 1), "HINCRBY h min -8");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "HINCRBY h min -1");
    EXPECT_BULK(c, "-9223372036854775808", "HGET h min");
    EXPECT_INT(c, -1, "HINCRBY h min 9223372036854775807");
    EXPECT_INT(c, 9223372036854775807LL, "HINCRBY h big 9223372036854775807");
    EXPECT_ERR(c, "ERR increment or decrement would overflow", "HINCRBY h big 9223372036854775807");
    /* values that are not 64-bit integers */
    static const char *const bad[] = {"abc", " 1", "1 ", "1.5", "", "007", "+1", "9223372036854775808", "1e3", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_INT(c, 0, "HSET h n %s", bad[i]);
        EXPECT_ERR(c, "ERR hash value is not an integer", "HINCRBY h n 1");
        EXPECT_BULK(c, bad[i], "HGET h n"); /* unchanged */
    }
    /* increments that are not 64-bit integers; nothing is created */
    static const char *const badinc[] = {"x", "1.5", "", "99999999999999999999", "1e3", " 1"};
    for (size_t i = 0; i < sizeof badinc / sizeof *badinc; i++) {
        EXPECT_ERR(c, "ERR value is not an integer or out of range", "HINCRBY h s %s", badinc[i]);
        EXPECT_ERR(c, "ERR value is not an integer or out of range", "HINCRBY newkey f %s", badinc[i]);
    }
    EXPECT_BULK(c, "42", "HGET h s");
    EXPECT_INT(c, 0, "EXISTS newkey");
    EXPECT_INT(c, 0, "HEXISTS h f");
}

static void test_hincrbyfloat(void **state) {
    redisContext *c = *state;
    EXPECT_BULK(c, "10.5", "HINCRBYFLOAT h f 10.5"); /* creates key and field */
    EXPECT_STATUS(c, "hash", "TYPE h");
    EXPECT_BULK(c, "10.5", "HGET h f");
    EXPECT_BULK(c, "10.6", "HINCRBYFLOAT h f 0.1");
    EXPECT_BULK(c, "11", "HINCRBYFLOAT h f 0.4"); /* no trailing ".0" */
    EXPECT_BULK(c, "5011", "HINCRBYFLOAT h f 5.0e3");
    EXPECT_BULK(c, "5000", "HINCRBYFLOAT h e 5.0e3");
    EXPECT_BULK(c, "5000", "HGET h e");
    EXPECT_INT(c, 5001, "HINCRBY h e 1"); /* the stored text is an integer again */
    EXPECT_BULK(c, "0.0012", "HINCRBYFLOAT h small 1.2e-3");
    EXPECT_BULK(c, "0.0012", "HGET h small");
    EXPECT_BULK(c, "0.3", "HINCRBYFLOAT h small 0.2988");
    EXPECT_BULK(c, "3", "HINCRBYFLOAT h three 3.0");
    EXPECT_BULK(c, "-0.1", "HINCRBYFLOAT h neg -0.1");
    EXPECT_BULK(c, "0", "HINCRBYFLOAT h neg 0.1");
    EXPECT_BULK(c, "1.5", "HINCRBYFLOAT h p 1.5");
    EXPECT_BULK(c, "0", "HINCRBYFLOAT h p -1.5");
    EXPECT_BULK(c, "100000000000000000", "HINCRBYFLOAT h e17 1e17");
    EXPECT_BULK(c, "110000000000000000000", "HINCRBYFLOAT h e20 1.1e20");
    /* an integer field takes a float increment; the result is no longer an integer */
    EXPECT_INT(c, 1, "HSET h i 5");
    EXPECT_BULK(c, "5.5", "HINCRBYFLOAT h i 0.5");
    EXPECT_ERR(c, "ERR hash value is not an integer", "HINCRBY h i 1");
    EXPECT_BULK(c, "17179869185.5", "HINCRBYFLOAT h i 17179869180");
    /* NaN / Infinity */
    EXPECT_ERR(c, "ERR value is NaN or Infinity", "HINCRBYFLOAT h f inf");
    EXPECT_ERR(c, "ERR value is NaN or Infinity", "HINCRBYFLOAT h f -inf");
    EXPECT_ERR(c, "ERR value is not a valid float", "HINCRBYFLOAT h f nan");
    EXPECT_INT(c, 1, "HSET h infv inf");
    EXPECT_ERR(c, "ERR increment would produce NaN or Infinity", "HINCRBYFLOAT h infv 1");
    EXPECT_BULK(c, "inf", "HGET h infv");
    /* increments that are not floats */
    static const char *const badinc[] = {"x", "", "1.5x", "1..5"};
    for (size_t i = 0; i < sizeof badinc / sizeof *badinc; i++) {
        EXPECT_ERR(c, "ERR value is not a valid float", "HINCRBYFLOAT h f %s", badinc[i]);
        EXPECT_ERR(c, "ERR value is not a valid float", "HINCRBYFLOAT newkey f %s", badinc[i]);
    }
    EXPECT_INT(c, 0, "EXISTS newkey");
    EXPECT_BULK(c, "5011", "HGET h f");
    /* field values that are not floats */
    static const char *const bad[] = {"abc", "", " 1.5", "1.5 ", "1.5x", "nan"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_INT(c, i == 0 ? 1 : 0, "HSET h s %s", bad[i]);
        EXPECT_ERR(c, "ERR hash value is not a float", "HINCRBYFLOAT h s 1");
        EXPECT_BULK(c, bad[i], "HGET h s");
    }
}

/* ---- HRANDFIELD ---------------------------------------------------------------------------------------------- */

/* HRANDFIELD key <count> [WITHVALUES] (RESP2): want_len fields (pairs with values), each a field of
 * sorted with its value; distinct when count > 0. Returns the number of distinct fields seen. */
static size_t check_randfield(redisContext *c, const char *file, int line, const char *key, long count, bool withvalues,
                              const kv *sorted, size_t n, size_t want_len) {
    char what[128];
    snprintf(what, sizeof what, "HRANDFIELD %s %ld%s", key, count, withvalues ? " WITHVALUES" : "");
    redisReply *r = withvalues ? st_cmd(c, file, line, "HRANDFIELD %s %ld WITHVALUES", key, count)
                               : st_cmd(c, file, line, "HRANDFIELD %s %ld", key, count);
    size_t step = withvalues ? 2 : 1;
    check_array(file, line, what, r, want_len * step);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    size_t distinct = 0;
    for (size_t j = 0; j < r->elements; j += step) {
        long i = check_field_elem(file, line, what, r->element[j], sorted, n);
        if (withvalues) check_value_elem(file, line, what, r->element[j + 1], sorted, i);
        if (seen[i] && count > 0) fail_reply(file, line, what, r->element[j], "field returned twice for a positive count");
        if (!seen[i]) distinct++;
        seen[i] = true;
    }
    free(seen);
    freeReplyObject(r);
    return distinct;
}

static void test_hrandfield_small(void **state) {
    redisContext *c = *state;
    static const kv pairs[] = {KV("a", "1"), KV("b", "2"), KV("c", "3")};
    EXPECT_INT(c, 3, "HSET h a 1 b 2 c 3");
    /* no count: one field, as a bulk string; not always the same one */
    bool seen[3] = {false, false, false};
    for (int i = 0; i < 200; i++) {
        redisReply *r = CMD(c, "HRANDFIELD h");
        if (r->type != REDIS_REPLY_STRING || r->len != 1 || r->str[0] < 'a' || r->str[0] > 'c')
            fail_reply(__FILE__, __LINE__, "HRANDFIELD h", r, "not one of a, b, c");
        seen[r->str[0] - 'a'] = true;
        freeReplyObject(r);
    }
    if (seen[0] + seen[1] + seen[2] < 2) ST_FAIL("HRANDFIELD h returned one field in 200 calls over 3");
    /* positive counts: distinct fields, at most the hash's size */
    for (long k = 1; k <= 3; k++) {
        size_t d = check_randfield(c, __FILE__, __LINE__, "h", k, false, pairs, 3, (size_t)k);
        if (d != (size_t)k) ST_FAIL("HRANDFIELD h %ld: %zu distinct fields", k, d);
    }
    for (long k = 3; k <= 10; k += 7) {
        size_t d = check_randfield(c, __FILE__, __LINE__, "h", k, false, pairs, 3, 3);
        if (d != 3) ST_FAIL("HRANDFIELD h %ld: %zu distinct fields, want the whole hash", k, d);
        d = check_randfield(c, __FILE__, __LINE__, "h", k, true, pairs, 3, 3);
        if (d != 3) ST_FAIL("HRANDFIELD h %ld WITHVALUES: %zu distinct fields, want the whole hash", k, d);
    }
    check_randfield(c, __FILE__, __LINE__, "h", 2, true, pairs, 3, 2);
    /* negative counts: exactly |count| fields, repeats allowed */
    size_t d = 0;
    for (int i = 0; i < 10; i++) d += check_randfield(c, __FILE__, __LINE__, "h", -5, false, pairs, 3, 5);
    if (d == 10) ST_FAIL("HRANDFIELD h -5 never returned more than one distinct field in 10 calls");
    check_randfield(c, __FILE__, __LINE__, "h", -1, false, pairs, 3, 1);
    check_randfield(c, __FILE__, __LINE__, "h", -100, true, pairs, 3, 100);
    /* count 0 */
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD h 0");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD h 0 WITHVALUES");
    /* one field: every negative count repeats it */
    EXPECT_INT(c, 1, "HSET one only v");
    EXPECT_BULK(c, "only", "HRANDFIELD one");
    EXPECT_STRS(c, 6, ((const char *[]){"only", "v", "only", "v", "only", "v"}), "HRANDFIELD one -3 withvalues");
    EXPECT_STRS(c, 2, ((const char *[]){"only", "v"}), "HRANDFIELD one 5 WITHVALUES");
    /* missing key */
    EXPECT_NIL(c, "HRANDFIELD missing");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing 5");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing -5 WITHVALUES");
    EXPECT_STRS(c, 0, NULL, "HRANDFIELD missing 0");
    /* errors */
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "HRANDFIELD h WITHVALUES");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "HRANDFIELD h x");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "HRANDFIELD h 1.5");
    EXPECT_ERR(c, "ERR syntax error", "HRANDFIELD h 1 WITHVALUE");
    EXPECT_ERR(c, "ERR syntax error", "HRANDFIELD h 1 WITHVALUES x");
    EXPECT_INT(c, 3, "HLEN h"); /* reads change nothing */
}

static void test_hrandfield_large(void **state) {
    redisContext *c = *state;
    enum { N = 700 }; /* past Redis's small-hash encoding (512 fields) */
    kv *p = make_pairs("rf:", "val:", N);
    hset_pipelined(c, __FILE__, __LINE__, "h", p, N, 25);
    kv *s = sorted_copy(__FILE__, __LINE__, p, N);
    static const long counts[] = {1, 10, 100, 230, 400, 699, 700, 701, 1500};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        size_t want = counts[i] < N ? (size_t)counts[i] : N;
        size_t d = check_randfield(c, __FILE__, __LINE__, "h", counts[i], i % 2 == 1, s, N, want);
        if (d != want) ST_FAIL("HRANDFIELD h %ld: %zu distinct fields, want %zu", counts[i], d, want);
    }
    size_t d = check_randfield(c, __FILE__, __LINE__, "h", -2000, true, s, N, 2000);
    if (d < 100) ST_FAIL("HRANDFIELD h -2000 over %d fields: only %zu distinct", N, d);
    check_randfield(c, __FILE__, __LINE__, "h", -3, false, s, N, 3);
    /* no count: a field of the hash, and many different ones */
    bool seen[N] = {false};
    size_t distinct = 0;
    for (int i = 0; i < 100; i++) {
        redisReply *r = CMD(c, "HRANDFIELD h");
        long j = check_field_elem(__FILE__, __LINE__, "HRANDFIELD h", r, s, N);
        if (!seen[j]) distinct++;
        seen[j] = true;
        freeReplyObject(r);
    }
    if (distinct < 20) ST_FAIL("HRANDFIELD h: only %zu distinct fields in 100 calls over %d", distinct, N);
    free(s);
    free_pairs(p, N);
}

/* ---- HSCAN ---------------------------------------------------------------------------------------------------- */

static bool has_prefix_f1(const kv *p) { return p->fl >= 3 && !memcmp(p->f, "f:1", 3); }
static bool has_prefix_f12(const kv *p) { return p->fl >= 4 && !memcmp(p->f, "f:12", 4); }
static bool ends_with_7(const kv *p) { return p->f[p->fl - 1] == '7'; }

static void test_hscan(void **state) {
    redisContext *c = *state;
    /* small hash: any COUNT returns everything, in however many calls */
    static const kv small[] = {KV("a", "1"), KV("b", "2"), KV("c", "3"), KV("ab", "4"), KV("ba", "5")};
    EXPECT_INT(c, 5, "HSET s a 1 b 2 c 3 ab 4 ba 5");
    kv *ss = sorted_copy(__FILE__, __LINE__, small, 5);
    static const char *const sv[] = {"", "COUNT 1", "COUNT 2", "COUNT 1000", "count 3"};
    for (size_t v = 0; v < sizeof sv / sizeof *sv; v++) {
        int counts[5] = {0};
        hscan_all(c, __FILE__, __LINE__, "s", 1, sv[v], ss, 5, counts);
        expect_scan_counts(__FILE__, __LINE__, sv[v], ss, 5, counts, always);
    }
    int counts5[5] = {0};
    hscan_all(c, __FILE__, __LINE__, "s", 1, "MATCH a*", ss, 5, counts5);
    for (size_t i = 0; i < 5; i++) {
        bool m = ss[i].f[0] == 'a';
        if ((m && counts5[i] < 1) || (!m && counts5[i])) ST_FAIL("HSCAN s MATCH a*: field %s returned %d times", ss[i].f, counts5[i]);
    }
    memset(counts5, 0, sizeof counts5);
    hscan_all(c, __FILE__, __LINE__, "s", 1, "MATCH ?a COUNT 1", ss, 5, counts5);
    for (size_t i = 0; i < 5; i++) {
        bool m = !strcmp(ss[i].f, "ba");
        if ((m && counts5[i] < 1) || (!m && counts5[i])) ST_FAIL("HSCAN s MATCH ?a: field %s returned %d times", ss[i].f, counts5[i]);
    }
    memset(counts5, 0, sizeof counts5);
    hscan_all(c, __FILE__, __LINE__, "s", 1, "MATCH nomatch*", ss, 5, counts5);
    for (size_t i = 0; i < 5; i++)
        if (counts5[i]) ST_FAIL("HSCAN s MATCH nomatch*: returned %s", ss[i].f);
    free(ss);
    /* a hash past Redis's small encoding (512 fields): COUNT matters there too */
    enum { N = 600 };
    kv *p = make_pairs("f:", "v:", N);
    hset_pipelined(c, __FILE__, __LINE__, "big", p, N, 60);
    kv *s = sorted_copy(__FILE__, __LINE__, p, N);
    static const struct {
        const char *opts;
        bool (*must)(const kv *);
    } variants[] = {{"", always},
                    {"COUNT 1", always},
                    {"COUNT 7", always},
                    {"COUNT 100", always},
                    {"COUNT 5000", always},
                    {"MATCH f:1*", has_prefix_f1},
                    {"MATCH f:1* COUNT 3", has_prefix_f1},
                    {"COUNT 50 MATCH f:12*", has_prefix_f12},
                    {"MATCH *7", ends_with_7}};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        int counts[N] = {0};
        int calls = hscan_all(c, __FILE__, __LINE__, "big", 3, variants[v].opts, s, N, counts);
        char what[80];
        snprintf(what, sizeof what, "HSCAN big %s", variants[v].opts);
        expect_scan_counts(__FILE__, __LINE__, what, s, N, counts, variants[v].must);
        if (!strcmp(variants[v].opts, "COUNT 1") && calls < 10)
            ST_FAIL("HSCAN big COUNT 1 over %d fields ended after %d calls", N, calls);
    }
    /* fields deleted before the iteration are never returned, the rest are */
    for (int i = 0; i < N; i += 3) EXPECT_INT(c, 1, "HDEL big f:%d", i);
    kv *rest = calloc(N, sizeof *rest);
    size_t nr = 0;
    for (int i = 0; i < N; i++)
        if (i % 3) rest[nr++] = p[i];
    kv *rs = sorted_copy(__FILE__, __LINE__, rest, nr);
    int counts[N] = {0};
    hscan_all(c, __FILE__, __LINE__, "big", 3, "COUNT 20", rs, nr, counts);
    expect_scan_counts(__FILE__, __LINE__, "HSCAN big after HDEL", rs, nr, counts, always);
    free(rs);
    free(rest);
    free(s);
    free_pairs(p, N);
    /* a missing key: an empty page and cursor 0 */
    redisReply *r = CMD(c, "HSCAN missing 0");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !st_reply_is_bulk(r->element[0], "0") ||
        r->element[1]->type != REDIS_REPLY_ARRAY || r->element[1]->elements != 0)
        fail_reply(__FILE__, __LINE__, "HSCAN missing 0", r, "want [\"0\", []]");
    freeReplyObject(r);
    /* errors */
    EXPECT_ERR(c, "ERR invalid cursor", "HSCAN s abc");
    EXPECT_ERR(c, "ERR syntax error", "HSCAN s 0 COUNT 0");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "HSCAN s 0 COUNT abc");
    EXPECT_ERR(c, "ERR syntax error", "HSCAN s 0 FOO");
    EXPECT_ERR(c, "ERR syntax error", "HSCAN s 0 MATCH");
    EXPECT_ERR(c, "ERR syntax error", "HSCAN s 0 COUNT");
}

/* ---- binary safety, sizes, many fields --------------------------------------------------------------------- */

static void test_binary_fields_and_values(void **state) {
    redisContext *c = *state;
    static const kv pairs[] = {
        KV("a\0b", "x\r\ny\0z"),  KV("a", "plain"), KV("a\0", "nul-suffix"), KV("", "empty-field"),
        KV("empty-value", ""),    KV("\r\n", "\r\n"), KV("\xff\x00\xfe", "\x00\x01\x02"), KV("sp ace", "v a l"),
        KV("$3\r\nfoo", "*1\r\n"),
    };
    size_t n = sizeof pairs / sizeof *pairs;
    for (size_t i = 0; i < n; i++)
        EXPECT_INT(c, 1, "HSET %b %b %b", "bin\0key", (size_t)7, pairs[i].f, pairs[i].fl, pairs[i].v, pairs[i].vl);
    EXPECT_HASHB(c, "bin\0key", 7, pairs, n);
    EXPECT_INT(c, 0, "EXISTS bin");
    for (size_t i = 0; i < n; i++) {
        EXPECT_BULKB(c, pairs[i].v, pairs[i].vl, "HGET %b %b", "bin\0key", (size_t)7, pairs[i].f, pairs[i].fl);
        EXPECT_INT(c, (long long)pairs[i].vl, "HSTRLEN %b %b", "bin\0key", (size_t)7, pairs[i].f, pairs[i].fl);
        EXPECT_INT(c, 1, "HEXISTS %b %b", "bin\0key", (size_t)7, pairs[i].f, pairs[i].fl);
    }
    EXPECT_NIL(c, "HGET %b %b", "bin\0key", (size_t)7, "a\0b\0", (size_t)4);
    EXPECT_NIL(c, "HGET %b %b", "bin\0key", (size_t)7, "\xff", (size_t)1);
    EXPECT_INT(c, 1, "HDEL %b %b", "bin\0key", (size_t)7, "a\0", (size_t)2);
    EXPECT_BULK(c, "plain", "HGET %b a", "bin\0key", (size_t)7); /* its neighbours are untouched */
    EXPECT_BULKB(c, "x\r\ny\0z", 6, "HGET %b %b", "bin\0key", (size_t)7, "a\0b", (size_t)3);
    EXPECT_INT(c, (long long)n - 1, "HLEN %b", "bin\0key", (size_t)7);
    /* the empty field and the empty value behave as any other */
    EXPECT_INT(c, 1, "HSET e %b %b", "", (size_t)0, "", (size_t)0);
    EXPECT_INT(c, 1, "HEXISTS e %b", "", (size_t)0);
    EXPECT_BULKB(c, "", 0, "HGET e %b", "", (size_t)0);
    EXPECT_INT(c, 0, "HSETNX e %b x", "", (size_t)0);
    EXPECT_ERR(c, "ERR hash value is not an integer", "HINCRBY e %b 3", "", (size_t)0); /* "" is no number */
    EXPECT_INT(c, 0, "HSET e %b 7", "", (size_t)0);
    EXPECT_INT(c, 10, "HINCRBY e %b 3", "", (size_t)0);
    EXPECT_HASH(c, "e", 1, KV("", "10"));
    EXPECT_INT(c, 1, "HDEL e %b", "", (size_t)0);
    EXPECT_INT(c, 0, "EXISTS e");
}

static void test_long_values(void **state) {
    redisContext *c = *state;
    size_t vn = 100 * 1024, fn = 10 * 1024;
    char *v = malloc(vn), *f = malloc(fn);
    for (size_t i = 0; i < vn; i++) v[i] = (char)('a' + (i * 7 + i / 251) % 26);
    v[vn / 2] = '\0';
    for (size_t i = 0; i < fn; i++) f[i] = (char)('A' + i % 26);
    EXPECT_INT(c, 2, "HSET big v %b %b small", v, vn, f, fn);
    EXPECT_BULKB(c, v, vn, "HGET big v");
    EXPECT_INT(c, (long long)vn, "HSTRLEN big v");
    EXPECT_BULK(c, "small", "HGET big %b", f, fn);
    EXPECT_INT(c, 1, "HEXISTS big %b", f, fn);
    EXPECT_NIL(c, "HGET big %b", f, fn - 1);
    kv want[] = {{"v", 1, v, vn}, {f, fn, "small", 5}};
    EXPECT_HASHB(c, "big", 3, want, 2);
    EXPECT_ERR(c, "ERR hash value is not an integer", "HINCRBY big v 1");
    EXPECT_ERR(c, "ERR hash value is not a float", "HINCRBYFLOAT big v 1");
    /* overwrite with a short value and back */
    EXPECT_INT(c, 0, "HSET big v short");
    EXPECT_INT(c, 5, "HSTRLEN big v");
    EXPECT_INT(c, 0, "HSET big v %b", v, vn);
    EXPECT_BULKB(c, v, vn, "HGET big v");
    /* HRANDFIELD WITHVALUES returns the big value whole */
    redisReply *r = CMD(c, "HRANDFIELD big -4 WITHVALUES");
    check_array(__FILE__, __LINE__, "HRANDFIELD big -4 WITHVALUES", r, 8);
    for (size_t j = 0; j < 8; j += 2) {
        const redisReply *k = r->element[j], *val = r->element[j + 1];
        bool ok = (st_reply_is_bulk(k, "v") && val->len == vn && !memcmp(val->str, v, vn)) ||
                  (k->len == fn && !memcmp(k->str, f, fn) && st_reply_is_bulk(val, "small"));
        if (!ok) ST_FAIL("HRANDFIELD big -4 WITHVALUES: pair %zu is not one of the hash's", j / 2);
    }
    freeReplyObject(r);
    EXPECT_INT(c, 2, "HDEL big v %b", f, fn);
    EXPECT_INT(c, 0, "EXISTS big");
    free(v);
    free(f);
}

static void test_many_fields(void **state) {
    redisContext *c = *state;
    enum { N = 5000 };
    kv *p = make_pairs("f:", "value-of-field-", N);
    hset_pipelined(c, __FILE__, __LINE__, "many", p, N, 10);
    EXPECT_INT(c, N, "HLEN many");
    EXPECT_HASHB(c, "many", 4, p, N);
    /* HSCAN with several COUNTs and a MATCH */
    kv *s = sorted_copy(__FILE__, __LINE__, p, N);
    int *counts = calloc(N, sizeof *counts);
    static const char *const variants[] = {"COUNT 7", "COUNT 1000"};
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        memset(counts, 0, N * sizeof *counts);
        hscan_all(c, __FILE__, __LINE__, "many", 4, variants[v], s, N, counts);
        expect_scan_counts(__FILE__, __LINE__, variants[v], s, N, counts, always);
    }
    memset(counts, 0, N * sizeof *counts);
    hscan_all(c, __FILE__, __LINE__, "many", 4, "MATCH f:12* COUNT 200", s, N, counts);
    expect_scan_counts(__FILE__, __LINE__, "MATCH f:12*", s, N, counts, has_prefix_f12);
    /* spot checks */
    EXPECT_BULK(c, "value-of-field-0", "HGET many f:0");
    EXPECT_BULK(c, "value-of-field-4999", "HGET many f:4999");
    EXPECT_NIL(c, "HGET many f:5000");
    /* setting them all again adds nothing */
    EXPECT_INT(c, 0, "HSET many f:0 x f:4999 y");
    EXPECT_INT(c, N, "HLEN many");
    EXPECT_INT(c, 0, "HSET many f:0 value-of-field-0 f:4999 value-of-field-4999");
    /* delete the even fields through a pipeline of HDELs, 10 fields each */
    for (int base = 0; base < N; base += 500) {
        for (int i = base; i < base + 500; i += 20) {
            char cmd[512];
            int o = snprintf(cmd, sizeof cmd, "HDEL many");
            for (int k = i; k < i + 20; k += 2) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " f:%d", k);
            redisAppendCommand(c, cmd);
        }
        for (int i = base; i < base + 500; i += 20) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_int(r, __FILE__, __LINE__, 10, "pipelined HDEL");
            freeReplyObject(r);
        }
    }
    EXPECT_INT(c, N / 2, "HLEN many");
    kv *odd = calloc(N / 2, sizeof *odd);
    for (int i = 1, j = 0; i < N; i += 2) odd[j++] = p[i];
    EXPECT_HASHB(c, "many", 4, odd, N / 2);
    free(odd);
    /* one HSET with 1000 pairs */
    kv *q = make_pairs("q", "w", 1000);
    const char **argv = malloc(2002 * sizeof *argv);
    size_t *argl = malloc(2002 * sizeof *argl);
    argv[0] = "HSET", argl[0] = 4, argv[1] = "one", argl[1] = 3;
    for (int i = 0; i < 1000; i++) {
        argv[2 + 2 * i] = q[i].f, argl[2 + 2 * i] = q[i].fl;
        argv[3 + 2 * i] = q[i].v, argl[3 + 2 * i] = q[i].vl;
    }
    redisReply *r = st_cmd_argv(c, __FILE__, __LINE__, 2002, argv, argl);
    st_check_reply_int(r, __FILE__, __LINE__, 1000, "HSET one <1000 pairs>");
    freeReplyObject(r);
    r = st_cmd_argv(c, __FILE__, __LINE__, 2002, argv, argl);
    st_check_reply_int(r, __FILE__, __LINE__, 0, "HSET one <the same 1000 pairs>");
    freeReplyObject(r);
    argv[0] = "HMSET", argl[0] = 5;
    r = st_cmd_argv(c, __FILE__, __LINE__, 2002, argv, argl);
    st_check_reply_status(r, __FILE__, __LINE__, "OK", "HMSET one <1000 pairs>");
    freeReplyObject(r);
    EXPECT_HASHB(c, "one", 3, q, 1000);
    free(argv);
    free(argl);
    free_pairs(q, 1000);
    EXPECT_INT(c, 2, "DEL many one");
    EXPECT_NO_HASH(c, "many");
    free(counts);
    free(s);
    free_pairs(p, N);
}

/* ---- hashes do not see each other -------------------------------------------------------------------------- */

static void test_key_isolation(void **state) {
    redisContext *c = *state;
    /* keys that are prefixes of one another, and fields that look like the rest of another key */
    static const struct {
        const char *k;
        size_t kl;
    } keys[] = {{"h", 1}, {"h:", 2}, {"hh", 2}, {"h\0", 2}, {"h\0f", 3}, {"", 0}, {"h\xff", 2}};
    size_t nk = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < nk; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%zu", i);
        EXPECT_INT(c, 3, "HSET %b f %s %b %s h %s", keys[i].k, keys[i].kl, v, "f\0", (size_t)2, v, v);
    }
    for (size_t i = 0; i < nk; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%zu", i);
        size_t vl = strlen(v);
        kv want[] = {{"f", 1, v, vl}, {"f\0", 2, v, vl}, {"h", 1, v, vl}};
        EXPECT_HASHB(c, keys[i].k, keys[i].kl, want, 3);
    }
    EXPECT_INT(c, (long long)nk, "DBSIZE");
    /* deleting one leaves the others whole */
    EXPECT_INT(c, 1, "DEL h");
    EXPECT_INT(c, 0, "HLEN h");
    EXPECT_INT(c, 3, "HLEN h:");
    EXPECT_INT(c, 3, "HLEN %b", "h\0", (size_t)2);
    EXPECT_INT(c, 3, "HLEN %b", "", (size_t)0);
    EXPECT_INT(c, 2, "HDEL %b f h", "h\0", (size_t)2);
    EXPECT_BULK(c, "v4", "HGET %b f", "h\0f", (size_t)3);
    EXPECT_INT(c, 3, "HLEN %b", "h\0f", (size_t)3);
    EXPECT_INT(c, 1, "HLEN %b", "h\0", (size_t)2);
    /* databases */
    EXPECT_INT(c, 1, "HSET db f zero");
    EXPECT_OK(c, "SELECT 1");
    EXPECT_INT(c, 0, "HLEN db");
    EXPECT_NIL(c, "HGET db f");
    EXPECT_INT(c, 1, "HSET db g one");
    EXPECT_HASH(c, "db", 1, KV("g", "one"));
    EXPECT_OK(c, "SELECT 0");
    EXPECT_HASH(c, "db", 1, KV("f", "zero"));
    EXPECT_OK(c, "SELECT 1");
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_BULK(c, "zero", "HGET db f");
}

/* ---- WRONGTYPE and arity ----------------------------------------------------------------------------------- */

static void test_wrongtype(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET str v");
    static const char *const cmds[] = {
        "HSET str f v",         "HSETNX str f v",       "HGET str f",        "HMGET str f g",      "HMSET str f v",
        "HDEL str f",           "HLEN str",             "HSTRLEN str f",     "HEXISTS str f",      "HGETALL str",
        "HKEYS str",            "HVALS str",            "HINCRBY str f 1",   "HINCRBYFLOAT str f 1", "HRANDFIELD str",
        "HRANDFIELD str 2",     "HRANDFIELD str -2 WITHVALUES", "HSCAN str 0", "HSCAN str 0 COUNT 10 MATCH *",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) EXPECT_ERR(c, WRONGTYPE, cmds[i]);
    EXPECT_BULK(c, "v", "GET str"); /* untouched */
    EXPECT_STATUS(c, "string", "TYPE str");
    /* and the other way: string commands on a hash */
    EXPECT_INT(c, 1, "HSET h f 1");
    static const char *const scmds[] = {"GET h", "APPEND h x", "INCR h", "INCRBYFLOAT h 1", "STRLEN h", "GETRANGE h 0 1",
                                        "SETRANGE h 0 x", "GETDEL h", "GETSET h x", "MGET h"};
    for (size_t i = 0; i < sizeof scmds / sizeof *scmds; i++) {
        if (!strcmp(scmds[i], "MGET h")) {
            EXPECT_STRS(c, 1, ((const char *[]){NULL}), "MGET h"); /* MGET answers nil for other types */
            continue;
        }
        EXPECT_ERR(c, WRONGTYPE, scmds[i]);
    }
    EXPECT_HASH(c, "h", 1, KV("f", "1"));
    /* SET replaces a hash; the fields are gone */
    EXPECT_OK(c, "SET h plain");
    EXPECT_STATUS(c, "string", "TYPE h");
    EXPECT_BULK(c, "plain", "GET h");
    EXPECT_ERR(c, WRONGTYPE, "HGET h f");
    EXPECT_OK(c, "SET h2 x");
    EXPECT_INT(c, 1, "DEL h2");
    EXPECT_INT(c, 1, "HSET h2 f new");
    EXPECT_HASH(c, "h2", 1, KV("f", "new"));
}

static void test_arity_errors(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "HSET h f v");
    static const struct {
        const char *cmd, *name;
    } bad[] = {
        {"HSET", "hset"},           {"HSET h", "hset"},           {"HSET h f", "hset"},
        {"HSET h f v g", "hset"},   {"HSETNX h f", "hsetnx"},     {"HSETNX h f v x", "hsetnx"},
        {"HGET h", "hget"},         {"HGET h f g", "hget"},       {"HMGET h", "hmget"},
        {"HMSET h", "hmset"},       {"HMSET h f", "hmset"},       {"HMSET h f v g", "hmset"},
        {"HDEL h", "hdel"},         {"HLEN", "hlen"},             {"HLEN h x", "hlen"},
        {"HSTRLEN h", "hstrlen"},   {"HSTRLEN h f g", "hstrlen"}, {"HEXISTS h", "hexists"},
        {"HEXISTS h f g", "hexists"}, {"HGETALL", "hgetall"},     {"HGETALL h x", "hgetall"},
        {"HKEYS", "hkeys"},         {"HKEYS h x", "hkeys"},       {"HVALS", "hvals"},
        {"HVALS h x", "hvals"},     {"HINCRBY h f", "hincrby"},   {"HINCRBY h f 1 2", "hincrby"},
        {"HINCRBYFLOAT h f", "hincrbyfloat"}, {"HINCRBYFLOAT h f 1 2", "hincrbyfloat"},
        {"HRANDFIELD", "hrandfield"}, {"HSCAN h", "hscan"},       {"HSCAN", "hscan"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", bad[i].name);
        EXPECT_ERR(c, want, bad[i].cmd);
    }
    /* arity errors create nothing and change nothing, also on a key of another type */
    EXPECT_ERR(c, "ERR wrong number of arguments for 'hset' command", "HSET newkey f");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'hmset' command", "HMSET newkey f v g");
    EXPECT_INT(c, 0, "EXISTS newkey");
    EXPECT_OK(c, "SET str v");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'hset' command", "HSET str f");
    EXPECT_HASH(c, "h", 1, KV("f", "v"));
}

/* ---- RESP2 / RESP3 reply shapes on a raw socket ------------------------------------------------------------ */

static void skip_reply(st_raw *r, const char *what, char first) {
    size_t n = 0;
    const char *why = NULL;
    char *rep = st_raw_reply(r, ST_IT_IO_TIMEOUT_MS, &n, &why);
    if (!rep) ST_FAIL("%s: no reply (%s)", what, why ? why : "?");
    if (rep[0] != first) {
        char *e = st_escape(rep, n);
        ST_FAIL("%s: reply %.300s does not start with '%c'", what, e, first);
        free(e);
    }
    free(rep);
}

static void test_resp3_shapes(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    /* RESP2 first */
    assert_int_equal(st_raw_cmd(&r, "HSET", "one", "f", "v", NULL), 0);
    RAW_EXPECT(&r, ":1\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "one", NULL), 0);
    RAW_EXPECT(&r, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "missing", NULL), 0);
    RAW_EXPECT(&r, "*0\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGET", "one", "nope", NULL), 0);
    RAW_EXPECT(&r, "$-1\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "missing", NULL), 0);
    RAW_EXPECT(&r, "$-1\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", "1", "WITHVALUES", NULL), 0);
    RAW_EXPECT(&r, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HINCRBYFLOAT", "num", "x", "1.5", NULL), 0);
    RAW_EXPECT(&r, "$3\r\n1.5\r\n");
    assert_int_equal(st_raw_cmd(&r, "HMSET", "one", "f", "v", NULL), 0);
    RAW_EXPECT(&r, "+OK\r\n");
    /* RESP3 */
    assert_int_equal(st_raw_cmd(&r, "HELLO", "3", NULL), 0);
    skip_reply(&r, "HELLO 3", '%');
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "one", NULL), 0);
    RAW_EXPECT(&r, "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "missing", NULL), 0);
    RAW_EXPECT(&r, "%0\r\n");
    assert_int_equal(st_raw_cmd(&r, "HKEYS", "one", NULL), 0);
    RAW_EXPECT(&r, "*1\r\n$1\r\nf\r\n");
    assert_int_equal(st_raw_cmd(&r, "HVALS", "one", NULL), 0);
    RAW_EXPECT(&r, "*1\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", "1", "WITHVALUES", NULL), 0);
    RAW_EXPECT(&r, "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", "-2", "WITHVALUES", NULL), 0);
    RAW_EXPECT(&r, "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", "0", "WITHVALUES", NULL), 0);
    RAW_EXPECT(&r, "*0\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", "3", NULL), 0);
    RAW_EXPECT(&r, "*1\r\n$1\r\nf\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "one", NULL), 0);
    RAW_EXPECT(&r, "$1\r\nf\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "missing", NULL), 0);
    RAW_EXPECT(&r, "_\r\n");
    assert_int_equal(st_raw_cmd(&r, "HRANDFIELD", "missing", "2", "WITHVALUES", NULL), 0);
    RAW_EXPECT(&r, "*0\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGET", "one", "nope", NULL), 0);
    RAW_EXPECT(&r, "_\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGET", "one", "f", NULL), 0);
    RAW_EXPECT(&r, "$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HMGET", "one", "f", "nope", NULL), 0);
    RAW_EXPECT(&r, "*2\r\n$1\r\nv\r\n_\r\n");
    assert_int_equal(st_raw_cmd(&r, "HINCRBYFLOAT", "num", "x", "1.5", NULL), 0);
    RAW_EXPECT(&r, "$1\r\n3\r\n"); /* a bulk string, not a RESP3 double */
    assert_int_equal(st_raw_cmd(&r, "HINCRBY", "num", "i", "2", NULL), 0);
    RAW_EXPECT(&r, ":2\r\n");
    assert_int_equal(st_raw_cmd(&r, "HEXISTS", "one", "f", NULL), 0);
    RAW_EXPECT(&r, ":1\r\n");
    assert_int_equal(st_raw_cmd(&r, "HSTRLEN", "one", "f", NULL), 0);
    RAW_EXPECT(&r, ":1\r\n");
    assert_int_equal(st_raw_cmd(&r, "HLEN", "num", NULL), 0);
    RAW_EXPECT(&r, ":2\r\n");
    assert_int_equal(st_raw_cmd(&r, "HSETNX", "one", "f", "w", NULL), 0);
    RAW_EXPECT(&r, ":0\r\n");
    assert_int_equal(st_raw_cmd(&r, "HMSET", "one", "f", "v", NULL), 0);
    RAW_EXPECT(&r, "+OK\r\n");
    assert_int_equal(st_raw_cmd(&r, "SET", "str", "v", NULL), 0);
    RAW_EXPECT(&r, "+OK\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "str", NULL), 0);
    RAW_EXPECT(&r, "-" WRONGTYPE "\r\n");
    /* back to RESP2 */
    assert_int_equal(st_raw_cmd(&r, "HELLO", "2", NULL), 0);
    skip_reply(&r, "HELLO 2", '*');
    assert_int_equal(st_raw_cmd(&r, "HGETALL", "one", NULL), 0);
    RAW_EXPECT(&r, "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_int_equal(st_raw_cmd(&r, "HGET", "one", "nope", NULL), 0);
    RAW_EXPECT(&r, "$-1\r\n");
    assert_false(st_raw_pending(&r, 50)); /* nothing more than one reply per command */
    st_raw_close(&r);
}

/* ---- TTL, expiry, DEL: a hash written again starts empty ---------------------------------------------------- */

static void test_ttl_and_expiry(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "HSET h a 1 b 2");
    EXPECT_INT(c, -1, "TTL h");
    EXPECT_INT(c, 1, "EXPIRE h 100");
    EXPECT_INT_RANGE(c, 98, 100, "TTL h");
    /* changing fields keeps the key's TTL */
    EXPECT_INT(c, 1, "HSET h c 3");
    EXPECT_INT(c, 1, "HDEL h c");
    EXPECT_INT(c, 5, "HINCRBY h n 5");
    EXPECT_BULK(c, "1.5", "HINCRBYFLOAT h x 1.5");
    EXPECT_INT(c, 1, "HSETNX h y 1");
    EXPECT_OK(c, "HMSET h a 10");
    EXPECT_INT_RANGE(c, 98, 100, "TTL h");
    EXPECT_INT(c, 1, "PERSIST h");
    EXPECT_INT(c, -1, "TTL h");
    /* expiry: the hash disappears, fields and all */
    EXPECT_INT(c, 1, "PEXPIRE h 100");
    EXPECT_INT_RANGE(c, 1, 100, "PTTL h");
    EXPECT_BULK(c, "10", "HGET h a"); /* still there */
    wait_gone(c, __FILE__, __LINE__, "h", 3000);
    EXPECT_NO_HASH(c, "h");
    EXPECT_NIL(c, "HGET h a");
    EXPECT_STRS(c, 2, ((const char *[]){NULL, NULL}), "HMGET h a b");
    EXPECT_INT(c, 0, "HEXISTS h b");
    EXPECT_INT(c, -2, "TTL h");
    /* HSET after expiry starts a new, empty hash without a TTL */
    EXPECT_INT(c, 1, "HSET h z 26");
    EXPECT_HASH(c, "h", 1, KV("z", "26"));
    EXPECT_INT(c, -1, "TTL h");
    /* a hash nobody reads while it expires: every write starts from empty */
    kv *p = make_pairs("e:", "v", 600);
    static const char *const keys[] = {"w1", "w2", "w3", "w4", "w5"};
    for (size_t i = 0; i < 5; i++) {
        hset_pipelined(c, __FILE__, __LINE__, keys[i], p, i == 0 ? 600 : 3, 60);
        EXPECT_INT(c, 1, "PEXPIRE %s 50", keys[i]);
    }
    pass_ms(200);
    EXPECT_INT(c, 1, "HSET w1 e:0 new");        /* the old e:0 is not counted as existing */
    EXPECT_HASH(c, "w1", 1, KV("e:0", "new"));
    EXPECT_INT(c, 1, "HSETNX w2 e:1 new");      /* the old e:1 does not block HSETNX */
    EXPECT_HASH(c, "w2", 1, KV("e:1", "new"));
    EXPECT_INT(c, 1, "HINCRBY w3 e:2 1");       /* counts from 0, not from the old value */
    EXPECT_HASH(c, "w3", 1, KV("e:2", "1"));
    EXPECT_BULK(c, "0.5", "HINCRBYFLOAT w4 e:0 0.5");
    EXPECT_HASH(c, "w4", 1, KV("e:0", "0.5"));
    EXPECT_OK(c, "HMSET w5 other x");
    EXPECT_HASH(c, "w5", 1, KV("other", "x"));
    EXPECT_INT(c, 0, "HDEL w5 e:0 e:1 e:2");
    free_pairs(p, 600);
    /* EXPIRE in the past deletes at once */
    EXPECT_INT(c, 1, "HSET gone f v");
    EXPECT_INT(c, 1, "EXPIRE gone -1");
    EXPECT_NO_HASH(c, "gone");
    EXPECT_INT(c, 1, "HSET gone g w");
    EXPECT_HASH(c, "gone", 1, KV("g", "w"));
}

static void test_del_then_hset(void **state) {
    redisContext *c = *state;
    kv *p = make_pairs("old:", "v", 600);
    hset_pipelined(c, __FILE__, __LINE__, "h", p, 600, 60);
    EXPECT_INT(c, 600, "HLEN h");
    EXPECT_INT(c, 1, "DEL h");
    EXPECT_NO_HASH(c, "h");
    EXPECT_INT(c, 1, "HSET h x 1");
    EXPECT_HASH(c, "h", 1, KV("x", "1"));
    EXPECT_NIL(c, "HGET h old:0");
    EXPECT_INT(c, 0, "HEXISTS h old:599");
    EXPECT_INT(c, 0, "HSTRLEN h old:5");
    EXPECT_INT(c, 0, "HDEL h old:1 old:2");
    EXPECT_STRS(c, 4, ((const char *[]){"x", "x", "x", "x"}), "HRANDFIELD h -4");
    /* UNLINK, then a field that existed before */
    EXPECT_INT(c, 1, "UNLINK h");
    EXPECT_INT(c, 1, "HSET h old:7 fresh");
    EXPECT_HASH(c, "h", 1, KV("old:7", "fresh"));
    /* a small hash deleted by removing its fields one by one, then rebuilt */
    EXPECT_INT(c, 1, "HDEL h old:7 nothing");
    EXPECT_NO_HASH(c, "h");
    EXPECT_INT(c, 1, "HSETNX h old:7 third");
    EXPECT_HASH(c, "h", 1, KV("old:7", "third"));
    /* FLUSHALL, then the same key */
    EXPECT_INT(c, 1, "DEL h");
    hset_pipelined(c, __FILE__, __LINE__, "h", p, 600, 60);
    EXPECT_OK(c, "FLUSHALL");
    EXPECT_INT(c, 1, "HSET h y 2");
    EXPECT_HASH(c, "h", 1, KV("y", "2"));
    /* overwritten by SET, deleted, written again */
    hset_pipelined(c, __FILE__, __LINE__, "g", p, 600, 60);
    EXPECT_OK(c, "SET g str");
    EXPECT_INT(c, 1, "DEL g");
    EXPECT_INT(c, 1, "HSET g old:3 again");
    EXPECT_HASH(c, "g", 1, KV("old:3", "again"));
    /* RENAME moves the fields; the old name is free for a new hash */
    EXPECT_INT(c, 2, "HSET r a 1 b 2");
    EXPECT_OK(c, "RENAME r r2");
    EXPECT_HASH(c, "r2", 2, KV("a", "1"), KV("b", "2"));
    EXPECT_NO_HASH(c, "r");
    EXPECT_INT(c, 1, "HSET r c 3");
    EXPECT_HASH(c, "r", 1, KV("c", "3"));
    /* RENAME over an existing hash replaces it entirely */
    EXPECT_OK(c, "RENAME r r2");
    EXPECT_HASH(c, "r2", 1, KV("c", "3"));
    free_pairs(p, 600);
}

/* ---- concurrent clients ------------------------------------------------------------------------------------- */

/* Pipelined HINCRBY/HINCRBYFLOAT from four clients lose no update; HSETNX races have one winner. */
static void test_concurrent_clients(void **state) {
    redisContext *c = *state;
    enum { K = 4, M = 250 };
    redisContext *cl[K];
    for (int k = 0; k < K; k++) cl[k] = ST_CONNECT(&srv);
    for (int round = 0; round < 5; round++) {
        for (int k = 0; k < K; k++)
            for (int i = 0; i < M / 5; i++) {
                redisAppendCommand(cl[k], "HINCRBY h ctr 1");
                redisAppendCommand(cl[k], "HINCRBYFLOAT h fl 0.5");
                redisAppendCommand(cl[k], "HSETNX h nx:%d c%d", round * (M / 5) + i, k);
            }
        for (int k = 0; k < K; k++) st_flush(cl[k], __FILE__, __LINE__);
        for (int k = 0; k < K; k++)
            for (int i = 0; i < M / 5 * 3; i++) {
                redisReply *r = st_get_reply(cl[k], __FILE__, __LINE__);
                if (r->type == REDIS_REPLY_ERROR) ST_FAIL("concurrent hash command: %s", r->str);
                freeReplyObject(r);
            }
    }
    EXPECT_BULK(c, "1000", "HGET h ctr");
    EXPECT_BULK(c, "500", "HGET h fl");
    EXPECT_INT(c, 2 + M, "HLEN h");
    for (int i = 0; i < M; i++) {
        redisReply *r = CMD(c, "HGET h nx:%d", i);
        if (r->type != REDIS_REPLY_STRING || r->len != 2 || r->str[0] != 'c' || r->str[1] < '0' || r->str[1] >= '0' + K)
            fail_reply(__FILE__, __LINE__, "HGET h nx:<i>", r, "not one client's value");
        freeReplyObject(r);
    }
    for (int k = 0; k < K; k++) redisFree(cl[k]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hset_hget_hmset_hsetnx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_key_and_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hdel_hlen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hstrlen_hexists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hgetall_hkeys_hvals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hincrby, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hincrbyfloat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hrandfield_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hrandfield_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hscan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_fields_and_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_then_hset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_clients, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
