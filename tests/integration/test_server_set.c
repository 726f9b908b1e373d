/* test_server_set.c -- the set commands of strata-server against Redis 7.0's replies and error
 * texts: SADD/SREM/SCARD (a set emptied by SREM, SPOP or SMOVE is deleted), SISMEMBER/SMISMEMBER,
 * SMEMBERS, SPOP and SRANDMEMBER with and without a count, SMOVE, SINTER/SUNION/SDIFF and their
 * *STORE forms (missing keys, overwritten and deleted destinations), SINTERCARD with LIMIT, SSCAN
 * full iterations with COUNT and MATCH, integer-looking, binary and empty members, 5000-member
 * sets, WRONGTYPE for every command, arity and option errors, RESP3 reply shapes (raw sockets),
 * TTLs on sets and DEL/expiry not resurrecting old members.
 * Member lists (SMEMBERS, SINTER, SUNION, SDIFF, SPOP/SRANDMEMBER with a count, SSCAN) are compared
 * as unordered on purpose: Strata returns members in byte order, Redis in its hash/intset order;
 * SSCAN is iterated until cursor "0" (Strata honours COUNT, Redis returns a small set at once). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-set", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";

/* ---- helpers ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *p;
    size_t n;
} mem;

static int cmp_mem(const void *a, const void *b) {
    const mem *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int d = m ? memcmp(x->p, y->p, m) : 0;
    if (d) return d;
    return x->n < y->n ? -1 : x->n > y->n;
}

static bool mem_eq(const mem *a, const mem *b) { return a->n == b->n && (!a->n || !memcmp(a->p, b->p, a->n)); }

/* The elements of an array reply of bulk strings, sorted bytewise (malloc'ed, points into r); NULL
 * when r is not such an array. */
static mem *sorted_elems(const redisReply *r) {
    if (r->type != REDIS_REPLY_ARRAY) return NULL;
    mem *m = calloc(r->elements + 1, sizeof *m);
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) {
            free(m);
            return NULL;
        }
        m[i].p = r->element[i]->str;
        m[i].n = r->element[i]->len;
    }
    qsort(m, r->elements, sizeof *m, cmp_mem);
    return m;
}

static redisReply *vcommand(redisContext *c, const char *file, int line, const char *fmt, va_list ap) {
    redisReply *r = redisvCommand(c, fmt, ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    return r;
}

static void fail_members(const redisReply *r, const char *file, int line, size_t n, const mem *w, const char *what) {
    char *gs = st_reply_repr(r);
    char *ws = NULL;
    size_t wn = 0;
    FILE *f = open_memstream(&ws, &wn);
    if (f) {
        fputs("(any order) [", f);
        for (size_t i = 0; i < n && i < 200; i++) {
            char *e = st_escape(w[i].p, w[i].n);
            fprintf(f, "%s\"%s\"", i ? ", " : "", e);
            free(e);
        }
        fputs(n > 200 ? ", ...]" : "]", f);
        fclose(f);
    }
    st_fail_at(file, line, "`%s`\n    got:  %s\n    want: %s", what, gs, ws ? ws : "?");
}

/* Fails unless r is an array holding exactly the n members w (sorted bytewise), in any order. */
static void check_mems(const redisReply *r, const char *file, int line, size_t n, const mem *w, const char *what) {
    mem *g = sorted_elems(r);
    bool ok = g && r->elements == n;
    for (size_t i = 0; ok && i < n; i++) ok = mem_eq(&g[i], &w[i]);
    free(g);
    if (!ok) fail_members(r, file, line, n, w, what);
}

/* Fails unless r is an array holding exactly the n members want[i] (lengths wantlen[i], or strlen
 * when wantlen is NULL), in any order. */
static void check_members(const redisReply *r, const char *file, int line, size_t n, const char *const *want,
                          const size_t *wantlen, const char *what) {
    mem *w = calloc(n + 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        w[i].p = want[i];
        w[i].n = wantlen ? wantlen[i] : strlen(want[i]);
    }
    qsort(w, n, sizeof *w, cmp_mem);
    check_mems(r, file, line, n, w, what);
    free(w);
}

static void expect_members(redisContext *c, const char *file, int line, size_t n, const char *const *want,
                           const size_t *wantlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    check_members(r, file, line, n, want, wantlen, fmt);
    freeReplyObject(r);
}
/* EXPECT_MEMBERS(c, 2, ((const char *[]){"a", "b"}), "SMEMBERS %s", key): an array of exactly these
 * members in any order; n 0 with want NULL for an empty array. */
#define EXPECT_MEMBERS(c, n, want, ...) expect_members((c), __FILE__, __LINE__, (n), (want), NULL, __VA_ARGS__)
#define EXPECT_MEMBERSB(c, n, want, lens, ...) expect_members((c), __FILE__, __LINE__, (n), (want), (lens), __VA_ARGS__)

/* An array of n integers. */
static void expect_ints(redisContext *c, const char *file, int line, size_t n, const long long *want,
                        const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, file, line, fmt, ap);
    va_end(ap);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == want[i];
    if (!ok) {
        char *gs = st_reply_repr(r);
        char ws[512];
        int o = snprintf(ws, sizeof ws, "[");
        for (size_t i = 0; i < n && o < (int)sizeof ws - 32; i++)
            o += snprintf(ws + o, sizeof ws - (size_t)o, "%s(integer) %lld", i ? ", " : "", want[i]);
        snprintf(ws + o, sizeof ws - (size_t)o, "]");
        freeReplyObject(r);
        st_fail_at(file, line, "`%s`\n    got:  %s\n    want: %s", fmt, gs, ws);
    }
    freeReplyObject(r);
}
#define EXPECT_INTS(c, n, want, ...) expect_ints((c), __FILE__, __LINE__, (n), (want), __VA_ARGS__)

/* A reply that must be an array of bulk strings; fails otherwise. Returns the sorted elements. */
static mem *elems_or_fail(const redisReply *r, const char *file, int line, const char *what) {
    mem *m = sorted_elems(r);
    if (!m) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "`%s`: not an array of bulk strings: %s", what, s);
    }
    return m;
}

/* Whether x is one of the n members of u (sorted). */
static bool mem_in(const mem *x, const mem *u, size_t n) { return bsearch(x, u, n, sizeof *u, cmp_mem) != NULL; }

static mem *text_mems(size_t n, const char *const *s) {
    mem *m = calloc(n + 1, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        m[i].p = s[i];
        m[i].n = strlen(s[i]);
    }
    qsort(m, n, sizeof *m, cmp_mem);
    return m;
}

/* ---- SSCAN iteration ------------------------------------------------------------------------------------ */

enum { SSCAN_MAX_CALLS = 10000, SSCAN_DEADLINE_MS = 10000 };

typedef struct {
    char **p;
    size_t *n;
    size_t len, cap;
    int calls;
} scan_out;

static void scan_out_free(scan_out *o) {
    for (size_t i = 0; i < o->len; i++) free(o->p[i]);
    free(o->p);
    free(o->n);
    memset(o, 0, sizeof *o);
}

/* SSCAN key from cursor "0" until the server answers cursor "0", with `opts` (space-separated
 * arguments after the cursor, e.g. "MATCH m1* COUNT 5"; "" for none); every member returned is
 * appended to out (copied). At most SSCAN_MAX_CALLS calls and SSCAN_DEADLINE_MS. */
static void sscan_take(void *arg, const redisReply *const *items) {
    scan_out *out = arg;
    const redisReply *e = items[0];
    if (out->len == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 64;
        out->p = realloc(out->p, out->cap * sizeof *out->p);
        out->n = realloc(out->n, out->cap * sizeof *out->n);
    }
    out->p[out->len] = malloc(e->len + 1);
    memcpy(out->p[out->len], e->str, e->len);
    out->p[out->len][e->len] = '\0';
    out->n[out->len++] = e->len;
}

static void sscan_all(redisContext *c, const char *file, int line, const char *key, size_t keylen, const char *opts,
                      scan_out *out) {
    memset(out, 0, sizeof *out);
    out->calls = st_scan_all(c, file, line, "SSCAN", key, keylen, opts, 1, SSCAN_MAX_CALLS, SSCAN_DEADLINE_MS, sscan_take, out);
}

/* Fails unless the members SSCAN returned are exactly the n members want (each at least once,
 * nothing else). */
static void check_scan_covers(const scan_out *o, const char *file, int line, size_t n, const char *const *want,
                              const size_t *wantlen, const char *what) {
    mem *w = calloc(n + 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        w[i].p = want[i];
        w[i].n = wantlen ? wantlen[i] : strlen(want[i]);
    }
    qsort(w, n, sizeof *w, cmp_mem);
    char *seen = calloc(n + 1, 1);
    char msg[512] = "";
    for (size_t i = 0; i < o->len && !msg[0]; i++) {
        mem x = {o->p[i], o->n[i]};
        const mem *hit = bsearch(&x, w, n, sizeof *w, cmp_mem);
        if (hit) {
            seen[hit - w] = 1;
        } else {
            char *e = st_escape(x.p, x.n);
            snprintf(msg, sizeof msg, "returned \"%.200s\", which is not a member", e);
            free(e);
        }
    }
    for (size_t i = 0; i < n && !msg[0]; i++)
        if (!seen[i]) {
            char *e = st_escape(w[i].p, w[i].n);
            snprintf(msg, sizeof msg, "member \"%.200s\" never returned (%zu returned in %d calls)", e, o->len,
                     o->calls);
            free(e);
        }
    free(seen);
    free(w);
    if (msg[0]) st_fail_at(file, line, "%s: %s", what, msg);
}

/* Member names "<prefix><i>" for i in [lo, hi); free with free_names. */
static char **make_names(const char *prefix, int lo, int hi) {
    char **v = calloc((size_t)(hi - lo) + 1, sizeof *v);
    for (int i = lo; i < hi; i++) {
        char b[64];
        snprintf(b, sizeof b, "%s%d", prefix, i);
        v[i - lo] = strdup(b);
    }
    return v;
}

static void free_names(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* SADD key m<lo>..m<hi-1>, one member per command, pipelined in batches of 500; each must be new. */
static void sadd_range_pipelined(redisContext *c, const char *key, int lo, int hi) {
    for (int base = lo; base < hi; base += 500) {
        int end = base + 500 < hi ? base + 500 : hi;
        for (int i = base; i < end; i++)
            if (redisAppendCommand(c, "SADD %s m%d", key, i) != REDIS_OK) ST_FAIL("redisAppendCommand: %s", c->errstr);
        for (int i = base; i < end; i++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            char what[64];
            snprintf(what, sizeof what, "SADD %s m%d (pipelined)", key, i);
            st_check_reply_int(r, __FILE__, __LINE__, 1, what);
            freeReplyObject(r);
        }
    }
}

/* ---- SADD / SREM / SCARD ------------------------------------------------------------------------------------ */

static void test_sadd_srem_scard(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "SCARD missing");
    EXPECT_MEMBERS(c, 0, NULL, "SMEMBERS missing");
    EXPECT_INT(c, 1, "SADD s a");
    EXPECT_INT(c, 0, "SADD s a");
    EXPECT_INT(c, 2, "SADD s b c b c b"); /* duplicates within one call count once */
    EXPECT_INT(c, 1, "SADD s a b d");
    EXPECT_INT(c, 0, "SADD s a b c d");
    EXPECT_INT(c, 4, "SCARD s");
    EXPECT_STATUS(c, "set", "TYPE s");
    EXPECT_INT(c, 1, "EXISTS s");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SMEMBERS s");
    EXPECT_INT(c, 1, "sadd s e"); /* case-insensitive command names */
    EXPECT_INT(c, 1, "sRem s e");
    /* SREM counts removed members, a member named twice once */
    EXPECT_INT(c, 1, "SREM s a zz a");
    EXPECT_INT(c, 0, "SREM s a");
    EXPECT_INT(c, 0, "SREM s zz yy");
    EXPECT_INT(c, 0, "SREM missing a");
    EXPECT_INT(c, 0, "EXISTS missing"); /* SREM on a missing key creates nothing */
    EXPECT_INT(c, 3, "SCARD s");
    EXPECT_MEMBERS(c, 3, ((const char *[]){"b", "c", "d"}), "SMEMBERS s");
    /* removing the last members deletes the key */
    EXPECT_INT(c, 2, "SREM s b c");
    EXPECT_INT(c, 1, "EXISTS s");
    EXPECT_INT(c, 1, "SREM s d zz");
    EXPECT_INT(c, 0, "EXISTS s");
    EXPECT_STATUS(c, "none", "TYPE s");
    EXPECT_INT(c, 0, "SCARD s");
    EXPECT_INT(c, 0, "DBSIZE");
    /* and the key is a fresh one afterwards */
    EXPECT_INT(c, 1, "SADD s x");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"x"}), "SMEMBERS s");
    /* several sets side by side */
    EXPECT_INT(c, 3, "SADD t 1 2 3");
    EXPECT_INT(c, 1, "SCARD s");
    EXPECT_INT(c, 3, "SCARD t");
    EXPECT_INT(c, 2, "DBSIZE");
}

/* ---- SISMEMBER / SMISMEMBER ------------------------------------------------------------------------------------ */

static void test_sismember_smismember(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "SISMEMBER missing a");
    EXPECT_INTS(c, 2, ((const long long[]){0, 0}), "SMISMEMBER missing a b");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 3, "SADD s a b c");
    EXPECT_INT(c, 1, "SISMEMBER s a");
    EXPECT_INT(c, 1, "SISMEMBER s c");
    EXPECT_INT(c, 0, "SISMEMBER s d");
    EXPECT_INT(c, 0, "SISMEMBER s A"); /* case-sensitive */
    EXPECT_INT(c, 0, "SISMEMBER s %s", "");
    EXPECT_INTS(c, 1, ((const long long[]){1}), "SMISMEMBER s b");
    EXPECT_INTS(c, 4, ((const long long[]){1, 0, 1, 1}), "SMISMEMBER s a zz c a");
    EXPECT_INTS(c, 3, ((const long long[]){0, 0, 0}), "SMISMEMBER s x y z");
    EXPECT_INT(c, 1, "SREM s a");
    EXPECT_INT(c, 0, "SISMEMBER s a");
    EXPECT_INTS(c, 2, ((const long long[]){0, 1}), "SMISMEMBER s a b");
}

/* ---- members that look like integers --------------------------------------------------------------------------- */

static void test_integer_like_members(void **state) {
    redisContext *c = *state;
    static const char *const nums[] = {"1",  "01",  "001",  "007",         "7",
                                       "-5", "-05", "+5",   "5",           " 5",
                                       "1.0", "0",  "-0",   "9223372036854775807",
                                       "-9223372036854775808", "9223372036854775808"};
    size_t nn = sizeof nums / sizeof *nums;
    for (size_t i = 0; i < nn; i++) EXPECT_INT(c, 1, "SADD n %s", nums[i]);
    EXPECT_INT(c, (long long)nn, "SCARD n");
    EXPECT_MEMBERS(c, nn, nums, "SMEMBERS n");
    EXPECT_INT(c, 1, "SISMEMBER n 5");
    EXPECT_INT(c, 0, "SISMEMBER n 05");
    EXPECT_INT(c, 1, "SISMEMBER n -0");
    EXPECT_INT(c, 0, "SISMEMBER n 0007");
    EXPECT_INT(c, 0, "SISMEMBER n 5.0");
    EXPECT_INT(c, 1, "SREM n 7");
    EXPECT_INT(c, 1, "SISMEMBER n 007");
    EXPECT_INT(c, 0, "SISMEMBER n 7");
    /* a set of canonical integers only (Redis keeps it as an intset), then other strings */
    EXPECT_INT(c, 3, "SADD i 3 1 2");
    EXPECT_INT(c, 0, "SISMEMBER i 01");
    EXPECT_INT(c, 0, "SADD i 2");
    EXPECT_INT(c, 1, "SADD i 01");
    EXPECT_INT(c, 1, "SADD i -1");
    EXPECT_INT(c, 5, "SCARD i");
    EXPECT_MEMBERS(c, 5, ((const char *[]){"-1", "01", "1", "2", "3"}), "SMEMBERS i");
    EXPECT_INT(c, 1, "SISMEMBER i 1");
    EXPECT_INT(c, 1, "SISMEMBER i 01");
    EXPECT_INT(c, 3, "SADD j 1 2 3");
    EXPECT_INT(c, 3, "SADD k 01 2 x");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"2"}), "SINTER j k");
    EXPECT_MEMBERS(c, 5, ((const char *[]){"1", "01", "2", "3", "x"}), "SUNION j k");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"1", "3"}), "SDIFF j k");
    EXPECT_INT(c, 1, "SMOVE k j 01");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"1", "01", "2", "3"}), "SMEMBERS j");
    /* 1000 integers, then a string member */
    for (int base = 0; base < 1000; base += 100) {
        char cmd[100 * 8 + 16];
        int o = snprintf(cmd, sizeof cmd, "SADD ints");
        for (int i = base; i < base + 100; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %d", i);
        EXPECT_INT(c, 100, cmd);
    }
    EXPECT_INT(c, 1000, "SCARD ints");
    EXPECT_INT(c, 1, "SISMEMBER ints 999");
    EXPECT_INT(c, 0, "SISMEMBER ints 1000");
    EXPECT_INT(c, 0, "SISMEMBER ints 0999");
    EXPECT_INT(c, 1, "SADD ints str");
    EXPECT_INT(c, 1001, "SCARD ints");
    EXPECT_INT(c, 1, "SISMEMBER ints 500");
    EXPECT_INT(c, 1, "SISMEMBER ints str");
}

/* ---- binary-safe and empty members ------------------------------------------------------------------------------- */

static void test_binary_and_empty_members(void **state) {
    redisContext *c = *state;
    static const char *const m[] = {"a\0b", "a\0c", "a", "\r\n", "x\r\ny", "", "\0", "\xff", "\xff\xfe", "a b"};
    static const size_t ml[] = {3, 3, 1, 2, 4, 0, 1, 1, 2, 3};
    size_t nm = sizeof m / sizeof *m;
    for (size_t i = 0; i < nm; i++) EXPECT_INT(c, 1, "SADD s %b", m[i], ml[i]);
    for (size_t i = 0; i < nm; i++) EXPECT_INT(c, 0, "SADD s %b", m[i], ml[i]);
    EXPECT_INT(c, (long long)nm, "SCARD s");
    for (size_t i = 0; i < nm; i++) EXPECT_INT(c, 1, "SISMEMBER s %b", m[i], ml[i]);
    EXPECT_INT(c, 0, "SISMEMBER s %b", "a\0", (size_t)2);
    EXPECT_INT(c, 0, "SISMEMBER s %b", "\0\0", (size_t)2);
    EXPECT_INT(c, 0, "SISMEMBER s %b", "\xfe", (size_t)1);
    EXPECT_MEMBERSB(c, nm, m, ml, "SMEMBERS s");
    EXPECT_INTS(c, 3, ((const long long[]){1, 0, 1}), "SMISMEMBER s %b %b %b", "a\0b", (size_t)3, "a\0d", (size_t)3,
                "", (size_t)0);
    /* SSCAN returns binary members intact */
    scan_out o;
    sscan_all(c, __FILE__, __LINE__, "s", 1, "COUNT 3", &o);
    check_scan_covers(&o, __FILE__, __LINE__, nm, m, ml, "SSCAN s COUNT 3 (binary)");
    scan_out_free(&o);
    /* binary members through SMOVE and the set operations */
    EXPECT_INT(c, 1, "SMOVE s t %b", "a\0b", (size_t)3);
    EXPECT_INT(c, 1, "SADD t %b", "x\r\ny", (size_t)4);
    EXPECT_MEMBERSB(c, 1, ((const char *[]){"x\r\ny"}), ((const size_t[]){4}), "SINTER s t");
    EXPECT_MEMBERSB(c, 2, ((const char *[]){"a\0b", "x\r\ny"}), ((const size_t[]){3, 4}), "SMEMBERS t");
    EXPECT_INT(c, 0, "SISMEMBER s %b", "a\0b", (size_t)3);
    EXPECT_INT(c, 1, "SISMEMBER s %b", "a\0c", (size_t)3);
    /* the empty member */
    EXPECT_INT(c, 1, "SREM s %s", "");
    EXPECT_INT(c, 0, "SISMEMBER s %s", "");
    EXPECT_INT(c, 1, "SADD e %s", "");
    EXPECT_INT(c, 0, "SADD e %s", "");
    EXPECT_INT(c, 1, "SCARD e");
    EXPECT_MEMBERS(c, 1, ((const char *[]){""}), "SMEMBERS e");
    EXPECT_BULK(c, "", "SRANDMEMBER e");
    EXPECT_BULK(c, "", "SPOP e");
    EXPECT_INT(c, 0, "EXISTS e");
    /* binary key names */
    EXPECT_INT(c, 2, "SADD %b p q", "k\0k", (size_t)3);
    EXPECT_INT(c, 0, "EXISTS k");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"p", "q"}), "SMEMBERS %b", "k\0k", (size_t)3);
    /* a 64 KB member */
    size_t bn = 65536;
    char *big = malloc(bn);
    for (size_t i = 0; i < bn; i++) big[i] = (char)('a' + i % 26);
    EXPECT_INT(c, 2, "SADD bigm %b small", big, bn);
    EXPECT_INT(c, 1, "SISMEMBER bigm %b", big, bn);
    EXPECT_INT(c, 0, "SISMEMBER bigm %b", big, bn - 1);
    EXPECT_MEMBERSB(c, 2, ((const char *[]){big, "small"}), ((const size_t[]){bn, 5}), "SMEMBERS bigm");
    EXPECT_INT(c, 1, "SREM bigm %b", big, bn);
    EXPECT_INT(c, 1, "SCARD bigm");
    free(big);
}

/* ---- SPOP ------------------------------------------------------------------------------------------------------ */

static void test_spop(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "SPOP missing");
    EXPECT_MEMBERS(c, 0, NULL, "SPOP missing 3");
    EXPECT_MEMBERS(c, 0, NULL, "SPOP missing 0");
    EXPECT_INT(c, 0, "EXISTS missing");
    /* without a count: one member at a time, each exactly once, then nil and the key is gone */
    static const char *const abc[] = {"a", "b", "c"};
    mem *u = text_mems(3, abc);
    EXPECT_INT(c, 3, "SADD s a b c");
    bool seen[3] = {false};
    for (int i = 0; i < 3; i++) {
        redisReply *r = CMD(c, "SPOP s");
        if (r->type != REDIS_REPLY_STRING) ST_FAIL("SPOP s (member %d of 3): not a bulk string", i + 1);
        mem x = {r->str, r->len};
        const mem *hit = bsearch(&x, u, 3, sizeof *u, cmp_mem);
        if (!hit) ST_FAIL("SPOP s returned %s, not a member", r->str);
        if (seen[hit - u]) ST_FAIL("SPOP s returned %s twice", r->str);
        seen[hit - u] = true;
        EXPECT_INT(c, 0, "SISMEMBER s %b", r->str, r->len);
        EXPECT_INT(c, 2 - i, "SCARD s");
        freeReplyObject(r);
    }
    free(u);
    EXPECT_INT(c, 0, "EXISTS s");
    EXPECT_STATUS(c, "none", "TYPE s");
    EXPECT_NIL(c, "SPOP s");
    /* with a count: distinct members, removed from the set */
    char **names = make_names("m", 0, 100);
    for (int i = 0; i < 100; i++) EXPECT_INT(c, 1, "SADD big %s", names[i]);
    mem *all = text_mems(100, (const char *const *)names);
    redisReply *r = CMD(c, "SPOP big 30");
    mem *got = elems_or_fail(r, __FILE__, __LINE__, "SPOP big 30");
    if (r->elements != 30) ST_FAIL("SPOP big 30: %zu members", r->elements);
    for (size_t i = 0; i < r->elements; i++) {
        if (!mem_in(&got[i], all, 100)) ST_FAIL("SPOP big 30 returned %s, not a member", got[i].p);
        if (i && mem_eq(&got[i], &got[i - 1])) ST_FAIL("SPOP big 30 returned %s twice", got[i].p);
        EXPECT_INT(c, 0, "SISMEMBER big %b", got[i].p, got[i].n);
    }
    free(got);
    freeReplyObject(r);
    EXPECT_INT(c, 70, "SCARD big");
    /* count 0: an empty array, nothing removed */
    EXPECT_MEMBERS(c, 0, NULL, "SPOP big 0");
    EXPECT_INT(c, 70, "SCARD big");
    /* count 1 is still an array */
    r = CMD(c, "SPOP big 1");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) ST_FAIL("SPOP big 1: not an array of one member");
    freeReplyObject(r);
    EXPECT_INT(c, 69, "SCARD big");
    /* a count larger than the set: everything that is left, and the key is gone */
    r = CMD(c, "SMEMBERS big");
    mem *left = elems_or_fail(r, __FILE__, __LINE__, "SMEMBERS big");
    if (r->elements != 69) ST_FAIL("SMEMBERS big: %zu members, want 69", r->elements);
    redisReply *rest = CMD(c, "SPOP big 1000");
    check_mems(rest, __FILE__, __LINE__, r->elements, left, "SPOP big 1000");
    free(left);
    freeReplyObject(r);
    freeReplyObject(rest);
    EXPECT_INT(c, 0, "EXISTS big");
    EXPECT_STATUS(c, "none", "TYPE big");
    /* a count equal to the size also deletes the key */
    EXPECT_INT(c, 2, "SADD two x y");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"x", "y"}), "SPOP two 2");
    EXPECT_INT(c, 0, "EXISTS two");
    /* popping from a set with a TTL keeps the TTL while members remain */
    EXPECT_INT(c, 3, "SADD t a b c");
    EXPECT_INT(c, 1, "EXPIRE t 100");
    r = CMD(c, "SPOP t");
    if (r->type != REDIS_REPLY_STRING) ST_FAIL("SPOP t: not a bulk string");
    freeReplyObject(r);
    EXPECT_INT_RANGE(c, 98, 100, "TTL t");
    free(all);
    free_names(names, 100);
    /* errors; nothing is removed */
    EXPECT_ERR(c, "ERR value is out of range, must be positive", "SPOP t -1");
    EXPECT_ERR(c, "ERR value is out of range, must be positive", "SPOP t abc");
    EXPECT_ERR(c, "ERR value is out of range, must be positive", "SPOP missing -5");
    EXPECT_ERR(c, "ERR syntax error", "SPOP t 1 2");
    EXPECT_INT(c, 2, "SCARD t");
}

/* ---- SRANDMEMBER -------------------------------------------------------------------------------------------------- */

/* SRANDMEMBER key <count>: checks the reply's size, that every element is one of the n members u
 * (sorted), and distinctness when count >= 0; returns the number of distinct members returned. */
static size_t check_srandmember(redisContext *c, const char *file, int line, const char *key, long long count,
                                size_t want_len, const mem *u, size_t n) {
    redisReply *r = st_cmd(c, file, line, "SRANDMEMBER %s %lld", key, count);
    char what[128];
    snprintf(what, sizeof what, "SRANDMEMBER %s %lld", key, count);
    mem *g = elems_or_fail(r, file, line, what);
    if (r->elements != want_len) st_fail_at(file, line, "%s: %zu members, want %zu", what, r->elements, want_len);
    size_t distinct = 0;
    for (size_t i = 0; i < r->elements; i++) {
        if (!mem_in(&g[i], u, n)) st_fail_at(file, line, "%s returned \"%s\", not a member", what, g[i].p);
        if (i && mem_eq(&g[i], &g[i - 1])) {
            if (count >= 0) st_fail_at(file, line, "%s returned \"%s\" twice", what, g[i].p);
        } else {
            distinct++;
        }
    }
    free(g);
    freeReplyObject(r);
    return distinct;
}

static void test_srandmember(void **state) {
    redisContext *c = *state;
    EXPECT_NIL(c, "SRANDMEMBER missing");
    EXPECT_MEMBERS(c, 0, NULL, "SRANDMEMBER missing 5");
    EXPECT_MEMBERS(c, 0, NULL, "SRANDMEMBER missing -5");
    EXPECT_MEMBERS(c, 0, NULL, "SRANDMEMBER missing 0");
    EXPECT_INT(c, 0, "EXISTS missing");
    static const char *const abc[] = {"a", "b", "c"};
    mem *u = text_mems(3, abc);
    EXPECT_INT(c, 3, "SADD s a b c");
    /* without a count: a member, the set unchanged; over many calls more than one member shows */
    bool seen[3] = {false};
    for (int i = 0; i < 200; i++) {
        redisReply *r = CMD(c, "SRANDMEMBER s");
        if (r->type != REDIS_REPLY_STRING) ST_FAIL("SRANDMEMBER s: not a bulk string");
        mem x = {r->str, r->len};
        const mem *hit = bsearch(&x, u, 3, sizeof *u, cmp_mem);
        if (!hit) ST_FAIL("SRANDMEMBER s returned %s, not a member", r->str);
        seen[hit - u] = true;
        freeReplyObject(r);
    }
    if (seen[0] + seen[1] + seen[2] < 2) ST_FAIL("SRANDMEMBER s returned one member in 200 calls over 3");
    EXPECT_INT(c, 3, "SCARD s");
    /* positive counts: distinct members, at most the whole set */
    EXPECT_MEMBERS(c, 0, NULL, "SRANDMEMBER s 0");
    check_srandmember(c, __FILE__, __LINE__, "s", 1, 1, u, 3);
    check_srandmember(c, __FILE__, __LINE__, "s", 2, 2, u, 3);
    EXPECT_MEMBERS(c, 3, abc, "SRANDMEMBER s 3");
    EXPECT_MEMBERS(c, 3, abc, "SRANDMEMBER s 100");
    /* negative counts: exactly |count| members, repetitions allowed */
    check_srandmember(c, __FILE__, __LINE__, "s", -1, 1, u, 3);
    check_srandmember(c, __FILE__, __LINE__, "s", -3, 3, u, 3);
    size_t d = check_srandmember(c, __FILE__, __LINE__, "s", -100, 100, u, 3);
    if (d < 2) ST_FAIL("SRANDMEMBER s -100 returned one distinct member of 3");
    EXPECT_INT(c, 1, "SADD one only");
    EXPECT_MEMBERS(c, 5, ((const char *[]){"only", "only", "only", "only", "only"}), "SRANDMEMBER one -5");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"only"}), "SRANDMEMBER one 5");
    EXPECT_BULK(c, "only", "SRANDMEMBER one");
    /* a larger set: the distinct-sample paths for a small and a large fraction of the set */
    char **names = make_names("r", 0, 300);
    for (int base = 0; base < 300; base += 100) {
        char cmd[100 * 8 + 16];
        int o = snprintf(cmd, sizeof cmd, "SADD big");
        for (int i = base; i < base + 100; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " %s", names[i]);
        EXPECT_INT(c, 100, cmd);
    }
    mem *all = text_mems(300, (const char *const *)names);
    check_srandmember(c, __FILE__, __LINE__, "big", 10, 10, all, 300);
    check_srandmember(c, __FILE__, __LINE__, "big", 250, 250, all, 300);
    check_srandmember(c, __FILE__, __LINE__, "big", 299, 299, all, 300);
    check_srandmember(c, __FILE__, __LINE__, "big", 300, 300, all, 300);
    check_srandmember(c, __FILE__, __LINE__, "big", -1000, 1000, all, 300);
    EXPECT_INT(c, 300, "SCARD big"); /* SRANDMEMBER never removes */
    free(all);
    free_names(names, 300);
    free(u);
    EXPECT_INT(c, 3, "SCARD s");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SRANDMEMBER s abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SRANDMEMBER s 1.5");
    EXPECT_ERR(c, "ERR syntax error", "SRANDMEMBER s 1 2");
}

/* ---- SMOVE ------------------------------------------------------------------------------------------------------ */

static void test_smove(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "SADD src a b c");
    EXPECT_INT(c, 1, "SADD dst x");
    EXPECT_INT(c, 1, "SMOVE src dst a");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"b", "c"}), "SMEMBERS src");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"a", "x"}), "SMEMBERS dst");
    EXPECT_INT(c, 0, "SMOVE src dst a"); /* not a member any more */
    EXPECT_INT(c, 0, "SMOVE src dst zz");
    EXPECT_INT(c, 0, "SMOVE missing dst a");
    EXPECT_INT(c, 0, "EXISTS missing");
    EXPECT_INT(c, 2, "SCARD dst");
    /* a missing destination is created */
    EXPECT_INT(c, 1, "SMOVE src newdst b");
    EXPECT_STATUS(c, "set", "TYPE newdst");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"b"}), "SMEMBERS newdst");
    /* moving the last member deletes the source */
    EXPECT_INT(c, 1, "SMOVE src dst c");
    EXPECT_INT(c, 0, "EXISTS src");
    EXPECT_STATUS(c, "none", "TYPE src");
    EXPECT_MEMBERS(c, 3, ((const char *[]){"a", "c", "x"}), "SMEMBERS dst");
    /* a member the destination already has: 1, removed from the source, destination unchanged */
    EXPECT_INT(c, 2, "SADD s2 x y");
    EXPECT_INT(c, 1, "SMOVE s2 dst x");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"y"}), "SMEMBERS s2");
    EXPECT_INT(c, 3, "SCARD dst");
    /* source == destination: whether the member is there, nothing changes */
    EXPECT_INT(c, 1, "SMOVE dst dst a");
    EXPECT_INT(c, 0, "SMOVE dst dst nope");
    EXPECT_MEMBERS(c, 3, ((const char *[]){"a", "c", "x"}), "SMEMBERS dst");
    EXPECT_INT(c, 1, "SMOVE s2 s2 y");
    EXPECT_INT(c, 1, "SCARD s2");
    /* WRONGTYPE: a string destination (source untouched), a string source */
    EXPECT_OK(c, "SET str v");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE dst str a");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE dst str nope");
    EXPECT_INT(c, 1, "SISMEMBER dst a");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE str dst a");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE str str a");
    EXPECT_BULK(c, "v", "GET str");
    /* Redis returns 0 for a missing source before it looks at the destination's type */
    EXPECT_INT(c, 0, "SMOVE missing str a");
    EXPECT_BULK(c, "v", "GET str");
    /* the moved member keeps its bytes; the destination keeps its TTL */
    EXPECT_INT(c, 1, "EXPIRE dst 100");
    EXPECT_INT(c, 1, "SADD s3 %b", "m\0\r\n", (size_t)4);
    EXPECT_INT(c, 1, "SMOVE s3 dst %b", "m\0\r\n", (size_t)4);
    EXPECT_INT(c, 1, "SISMEMBER dst %b", "m\0\r\n", (size_t)4);
    EXPECT_INT(c, 0, "EXISTS s3");
    EXPECT_INT_RANGE(c, 98, 100, "TTL dst");
    EXPECT_INT(c, 4, "SCARD dst");
}

/* ---- SINTER / SUNION / SDIFF ------------------------------------------------------------------------------------- */

static void test_sinter_sunion_sdiff(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 4, "SADD a a b c d");
    EXPECT_INT(c, 3, "SADD b c d e");
    EXPECT_INT(c, 3, "SADD c a c e");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"c", "d"}), "SINTER a b");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"c", "d"}), "SINTER b a");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"c"}), "SINTER a b c");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SINTER a");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SINTER a a");
    EXPECT_MEMBERS(c, 0, NULL, "SINTER a missing");
    EXPECT_MEMBERS(c, 0, NULL, "SINTER missing a");
    EXPECT_MEMBERS(c, 0, NULL, "SINTER missing");
    EXPECT_INT(c, 1, "SADD z zz");
    EXPECT_MEMBERS(c, 0, NULL, "SINTER a z"); /* disjoint */
    EXPECT_MEMBERS(c, 5, ((const char *[]){"a", "b", "c", "d", "e"}), "SUNION a b");
    EXPECT_MEMBERS(c, 5, ((const char *[]){"a", "b", "c", "d", "e"}), "SUNION a b c");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SUNION a");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SUNION a missing a");
    EXPECT_MEMBERS(c, 3, ((const char *[]){"c", "d", "e"}), "SUNION missing b");
    EXPECT_MEMBERS(c, 0, NULL, "SUNION missing other");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"a", "b"}), "SDIFF a b");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"b"}), "SDIFF a b c");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"e"}), "SDIFF b a");
    EXPECT_MEMBERS(c, 0, NULL, "SDIFF b a c");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SDIFF a");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SDIFF a missing");
    EXPECT_MEMBERS(c, 0, NULL, "SDIFF missing a");
    EXPECT_MEMBERS(c, 0, NULL, "SDIFF a a");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"b"}), "SDIFF a c b");
    EXPECT_MEMBERS(c, 0, NULL, "SDIFF c a b");
    /* the sources are untouched and no key was created */
    EXPECT_INT(c, 4, "SCARD a");
    EXPECT_INT(c, 3, "SCARD b");
    EXPECT_INT(c, 3, "SCARD c");
    EXPECT_INT(c, 0, "EXISTS missing other");
    EXPECT_INT(c, 4, "DBSIZE");
}

/* ---- SINTERSTORE / SUNIONSTORE / SDIFFSTORE ------------------------------------------------------------------------- */

static void test_store_variants(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 4, "SADD a a b c d");
    EXPECT_INT(c, 3, "SADD b c d e");
    EXPECT_INT(c, 2, "SINTERSTORE dst a b");
    EXPECT_STATUS(c, "set", "TYPE dst");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"c", "d"}), "SMEMBERS dst");
    EXPECT_INT(c, 5, "SUNIONSTORE dst a b"); /* overwrites, not merges */
    EXPECT_MEMBERS(c, 5, ((const char *[]){"a", "b", "c", "d", "e"}), "SMEMBERS dst");
    EXPECT_INT(c, 2, "SDIFFSTORE dst a b");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"a", "b"}), "SMEMBERS dst");
    EXPECT_INT(c, 1, "SDIFFSTORE dst b a");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"e"}), "SMEMBERS dst");
    /* a destination of another type is replaced, its TTL dropped */
    EXPECT_OK(c, "SET str v EX 100");
    EXPECT_INT(c, 2, "SINTERSTORE str a b");
    EXPECT_STATUS(c, "set", "TYPE str");
    EXPECT_INT(c, -1, "TTL str");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"c", "d"}), "SMEMBERS str");
    EXPECT_OK(c, "SET str2 v");
    EXPECT_INT(c, 5, "SUNIONSTORE str2 a b");
    EXPECT_STATUS(c, "set", "TYPE str2");
    EXPECT_OK(c, "SET str3 v");
    EXPECT_INT(c, 2, "SDIFFSTORE str3 a b");
    EXPECT_STATUS(c, "set", "TYPE str3");
    /* a set destination with a TTL: replaced, TTL dropped */
    EXPECT_INT(c, 1, "EXPIRE dst 100");
    EXPECT_INT(c, 4, "SUNIONSTORE dst a");
    EXPECT_INT(c, -1, "TTL dst");
    EXPECT_MEMBERS(c, 4, ((const char *[]){"a", "b", "c", "d"}), "SMEMBERS dst");
    /* an empty result deletes the destination (of any type) and returns 0 */
    EXPECT_INT(c, 0, "SINTERSTORE dst a missing");
    EXPECT_INT(c, 0, "EXISTS dst");
    EXPECT_OK(c, "SET s1 v");
    EXPECT_INT(c, 0, "SINTERSTORE s1 missing a");
    EXPECT_INT(c, 0, "EXISTS s1");
    EXPECT_OK(c, "SET s2 v");
    EXPECT_INT(c, 0, "SUNIONSTORE s2 missing other");
    EXPECT_INT(c, 0, "EXISTS s2");
    EXPECT_INT(c, 2, "SADD s3 p q");
    EXPECT_INT(c, 0, "SDIFFSTORE s3 a a");
    EXPECT_INT(c, 0, "EXISTS s3");
    EXPECT_INT(c, 0, "SDIFFSTORE s3 missing a");
    EXPECT_INT(c, 0, "EXISTS s3");
    EXPECT_INT(c, 0, "SINTERSTORE never a b missing"); /* nothing to delete: still 0, no key */
    EXPECT_INT(c, 0, "EXISTS never");
    /* the destination among the sources */
    EXPECT_INT(c, 2, "SADD x a z");
    EXPECT_INT(c, 5, "SUNIONSTORE x x a");
    EXPECT_MEMBERS(c, 5, ((const char *[]){"a", "b", "c", "d", "z"}), "SMEMBERS x");
    EXPECT_INT(c, 1, "SDIFFSTORE x x a");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"z"}), "SMEMBERS x");
    EXPECT_INT(c, 2, "SINTERSTORE a a b");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"c", "d"}), "SMEMBERS a");
    /* a single source copies it; the copy is independent */
    EXPECT_INT(c, 3, "SINTERSTORE copy b");
    EXPECT_INT(c, 1, "SADD copy new");
    EXPECT_INT(c, 3, "SCARD b");
    EXPECT_INT(c, 0, "SISMEMBER b new");
    EXPECT_INT(c, 3, "SDIFFSTORE copy2 b missing");
    EXPECT_MEMBERS(c, 3, ((const char *[]){"c", "d", "e"}), "SMEMBERS copy2");
    /* sources are untouched */
    EXPECT_MEMBERS(c, 3, ((const char *[]){"c", "d", "e"}), "SMEMBERS b");
}

/* ---- SINTERCARD -------------------------------------------------------------------------------------------------- */

static void test_sintercard(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 0, "SINTERCARD 1 missing");
    EXPECT_INT(c, 5, "SADD a a b c d e");
    EXPECT_INT(c, 4, "SADD b b c d e");
    EXPECT_INT(c, 3, "SADD c c d x");
    EXPECT_INT(c, 5, "SINTERCARD 1 a");
    EXPECT_INT(c, 4, "SINTERCARD 2 a b");
    EXPECT_INT(c, 2, "SINTERCARD 3 a b c");
    EXPECT_INT(c, 0, "SINTERCARD 2 a missing");
    EXPECT_INT(c, 0, "SINTERCARD 3 missing a b");
    EXPECT_INT(c, 5, "SINTERCARD 2 a a");
    /* LIMIT: stops counting there; 0 means no limit */
    EXPECT_INT(c, 1, "SINTERCARD 2 a b LIMIT 1");
    EXPECT_INT(c, 3, "SINTERCARD 2 a b LIMIT 3");
    EXPECT_INT(c, 4, "SINTERCARD 2 a b LIMIT 4");
    EXPECT_INT(c, 4, "SINTERCARD 2 a b LIMIT 100");
    EXPECT_INT(c, 4, "SINTERCARD 2 a b LIMIT 0");
    EXPECT_INT(c, 2, "SINTERCARD 3 a b c limit 10");
    EXPECT_INT(c, 3, "SINTERCARD 1 a LIMIT 3");
    EXPECT_INT(c, 0, "SINTERCARD 2 a missing LIMIT 1");
    /* a key named like the option is a key when numkeys says so */
    EXPECT_INT(c, 2, "SADD LIMIT b c");
    EXPECT_INT(c, 2, "SINTERCARD 2 a LIMIT");
    EXPECT_INT(c, 1, "SINTERCARD 2 a LIMIT LIMIT 1");
    /* errors */
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "SINTERCARD 0 a");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "SINTERCARD -1 a");
    EXPECT_ERR(c, "ERR numkeys should be greater than 0", "SINTERCARD abc a");
    EXPECT_ERR(c, "ERR Number of keys can't be greater than number of args", "SINTERCARD 2 a");
    EXPECT_ERR(c, "ERR Number of keys can't be greater than number of args", "SINTERCARD 5 a b c");
    EXPECT_ERR(c, "ERR LIMIT can't be negative", "SINTERCARD 1 a LIMIT -1");
    EXPECT_ERR(c, "ERR LIMIT can't be negative", "SINTERCARD 1 a LIMIT abc");
    EXPECT_ERR(c, "ERR syntax error", "SINTERCARD 1 a b");
    EXPECT_ERR(c, "ERR syntax error", "SINTERCARD 1 a LIMIT");
    EXPECT_ERR(c, "ERR syntax error", "SINTERCARD 1 a FOO 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'sintercard' command", "SINTERCARD 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'sintercard' command", "SINTERCARD");
    EXPECT_INT(c, 5, "SCARD a"); /* read-only */
}

/* ---- SSCAN ------------------------------------------------------------------------------------------------------ */

static void test_sscan(void **state) {
    redisContext *c = *state;
    scan_out o;
    sscan_all(c, __FILE__, __LINE__, "missing", 7, "", &o);
    if (o.len != 0 || o.calls != 1) ST_FAIL("SSCAN missing 0: %zu members in %d calls", o.len, o.calls);
    scan_out_free(&o);
    static const char *const m[] = {"apple", "apricot", "banana", "blueberry", "cherry", "1", "2", "10", "a*b", "a?b"};
    size_t nm = sizeof m / sizeof *m;
    for (size_t i = 0; i < nm; i++) EXPECT_INT(c, 1, "SADD s %s", m[i]);
    static const char *const opts[] = {"", "COUNT 1", "COUNT 2", "COUNT 3", "COUNT 100", "count 1"};
    for (size_t v = 0; v < sizeof opts / sizeof *opts; v++) {
        char what[64];
        snprintf(what, sizeof what, "SSCAN s %s", opts[v]);
        sscan_all(c, __FILE__, __LINE__, "s", 1, opts[v], &o);
        check_scan_covers(&o, __FILE__, __LINE__, nm, m, NULL, what);
        scan_out_free(&o);
    }
    static const struct {
        const char *opts;
        size_t n;
        const char *want[4];
    } pats[] = {
        {"MATCH a*", 4, {"apple", "apricot", "a*b", "a?b"}},
        {"MATCH ap* COUNT 1", 2, {"apple", "apricot"}},
        {"MATCH b* COUNT 2", 2, {"banana", "blueberry"}},
        {"MATCH *rr* COUNT 3", 2, {"blueberry", "cherry"}},
        {"MATCH ? COUNT 1", 2, {"1", "2"}},
        {"MATCH 1*", 2, {"1", "10"}},
        {"MATCH a\\*b", 1, {"a*b"}},
        {"MATCH a?b", 2, {"a*b", "a?b"}},
        {"MATCH [bc]* COUNT 2", 3, {"banana", "blueberry", "cherry"}},
        {"COUNT 2 MATCH cherry", 1, {"cherry"}},
        {"MATCH nothing*", 0, {NULL}},
    };
    for (size_t p = 0; p < sizeof pats / sizeof *pats; p++) {
        char what[64];
        snprintf(what, sizeof what, "SSCAN s %s", pats[p].opts);
        sscan_all(c, __FILE__, __LINE__, "s", 1, pats[p].opts, &o);
        check_scan_covers(&o, __FILE__, __LINE__, pats[p].n, pats[p].want, NULL, what);
        scan_out_free(&o);
    }
    /* errors */
    EXPECT_ERR(c, "ERR invalid cursor", "SSCAN s abc");
    EXPECT_ERR(c, "ERR syntax error", "SSCAN s 0 COUNT 0");
    EXPECT_ERR(c, "ERR syntax error", "SSCAN s 0 COUNT -1");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "SSCAN s 0 COUNT abc");
    EXPECT_ERR(c, "ERR syntax error", "SSCAN s 0 FOO");
    EXPECT_ERR(c, "ERR syntax error", "SSCAN s 0 MATCH");
    EXPECT_ERR(c, "ERR syntax error", "SSCAN s 0 COUNT");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'sscan' command", "SSCAN s");
    EXPECT_INT(c, (long long)nm, "SCARD s");
}

/* ---- many members ------------------------------------------------------------------------------------------------- */

enum { NBIG = 5000 };

static void test_many_members(void **state) {
    redisContext *c = *state;
    int64_t t0 = st_now_ms();
    sadd_range_pipelined(c, "big", 0, NBIG); /* m0..m4999 */
    EXPECT_INT(c, NBIG, "SCARD big");
    EXPECT_INT(c, 0, "SADD big m0 m1 m2 m4999");
    EXPECT_INT(c, NBIG, "SCARD big");
    /* the second set, m2500..m7499, with 100 members per SADD */
    for (int base = NBIG / 2; base < NBIG / 2 + NBIG; base += 100) {
        char cmd[100 * 8 + 16];
        int o = snprintf(cmd, sizeof cmd, "SADD big2");
        for (int i = base; i < base + 100; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " m%d", i);
        EXPECT_INT(c, 100, cmd);
    }
    EXPECT_INT(c, NBIG, "SCARD big2");
    EXPECT_INT(c, 1, "SISMEMBER big m4321");
    EXPECT_INT(c, 0, "SISMEMBER big m5000");
    EXPECT_INT(c, 1, "SISMEMBER big2 m7499");
    /* SMEMBERS: all of them */
    char **names = make_names("m", 0, NBIG);
    redisReply *r = CMD(c, "SMEMBERS big");
    check_members(r, __FILE__, __LINE__, NBIG, (const char *const *)names, NULL, "SMEMBERS big");
    freeReplyObject(r);
    /* full SSCANs */
    static const char *const opts[] = {"", "COUNT 100", "COUNT 1000"};
    for (size_t v = 0; v < sizeof opts / sizeof *opts; v++) {
        scan_out o;
        char what[64];
        snprintf(what, sizeof what, "SSCAN big %s", opts[v]);
        sscan_all(c, __FILE__, __LINE__, "big", 3, opts[v], &o);
        check_scan_covers(&o, __FILE__, __LINE__, NBIG, (const char *const *)names, NULL, what);
        scan_out_free(&o);
    }
    /* MATCH m1*: m1, m10..m19, m100..m199, m1000..m1999 */
    {
        const char *want[1111];
        size_t n = 0;
        for (int i = 0; i < NBIG; i++)
            if (names[i][1] == '1') want[n++] = names[i];
        assert_int_equal(n, 1111);
        scan_out o;
        sscan_all(c, __FILE__, __LINE__, "big", 3, "MATCH m1* COUNT 200", &o);
        check_scan_covers(&o, __FILE__, __LINE__, n, want, NULL, "SSCAN big MATCH m1* COUNT 200");
        scan_out_free(&o);
    }
    /* the set operations on two large overlapping sets */
    EXPECT_INT(c, NBIG / 2, "SINTERSTORE inter big big2");
    EXPECT_INT(c, NBIG / 2, "SCARD inter");
    EXPECT_INT(c, 1, "SISMEMBER inter m2500");
    EXPECT_INT(c, 1, "SISMEMBER inter m4999");
    EXPECT_INT(c, 0, "SISMEMBER inter m2499");
    EXPECT_INT(c, 0, "SISMEMBER inter m5000");
    r = CMD(c, "SMEMBERS inter");
    check_members(r, __FILE__, __LINE__, NBIG / 2, (const char *const *)names + NBIG / 2, NULL, "SMEMBERS inter");
    freeReplyObject(r);
    r = CMD(c, "SINTER big big2");
    check_members(r, __FILE__, __LINE__, NBIG / 2, (const char *const *)names + NBIG / 2, NULL, "SINTER big big2");
    freeReplyObject(r);
    EXPECT_INT(c, NBIG / 2 + NBIG, "SUNIONSTORE uni big big2");
    EXPECT_INT(c, NBIG / 2, "SDIFFSTORE diff big big2");
    r = CMD(c, "SDIFF big big2");
    check_members(r, __FILE__, __LINE__, NBIG / 2, (const char *const *)names, NULL, "SDIFF big big2");
    freeReplyObject(r);
    EXPECT_INT(c, 0, "SISMEMBER diff m2500");
    EXPECT_INT(c, NBIG / 2, "SINTERCARD 2 big big2");
    EXPECT_INT(c, 100, "SINTERCARD 2 big big2 LIMIT 100");
    EXPECT_INT(c, NBIG / 2, "SINTERCARD 3 big big2 uni");
    /* SPOP a large count: distinct, removed */
    r = CMD(c, "SPOP diff 1000");
    mem *g = elems_or_fail(r, __FILE__, __LINE__, "SPOP diff 1000");
    if (r->elements != 1000) ST_FAIL("SPOP diff 1000: %zu members", r->elements);
    for (size_t i = 1; i < r->elements; i++)
        if (mem_eq(&g[i], &g[i - 1])) ST_FAIL("SPOP diff 1000 returned %s twice", g[i].p);
    free(g);
    freeReplyObject(r);
    EXPECT_INT(c, NBIG / 2 - 1000, "SCARD diff");
    /* SREM a lot at once */
    {
        char cmd[1000 * 8 + 16];
        int o = snprintf(cmd, sizeof cmd, "SREM big");
        for (int i = 0; i < 1000; i++) o += snprintf(cmd + o, sizeof cmd - (size_t)o, " m%d", i * 5);
        EXPECT_INT(c, 1000, cmd);
        EXPECT_INT(c, 0, cmd);
    }
    EXPECT_INT(c, NBIG - 1000, "SCARD big");
    EXPECT_INT(c, 0, "SISMEMBER big m4995");
    EXPECT_INT(c, 1, "SISMEMBER big m4996");
    free_names(names, NBIG);
    if (st_now_ms() - t0 > 15000) ST_FAIL("5000-member operations took %lld ms", (long long)(st_now_ms() - t0));
}

/* ---- WRONGTYPE ----------------------------------------------------------------------------------------------------- */

static void test_wrongtype(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET str v");
    EXPECT_INT(c, 2, "SADD s a b");
    EXPECT_ERR(c, WRONGTYPE, "SADD str a");
    EXPECT_ERR(c, WRONGTYPE, "SREM str a");
    EXPECT_ERR(c, WRONGTYPE, "SCARD str");
    EXPECT_ERR(c, WRONGTYPE, "SISMEMBER str a");
    EXPECT_ERR(c, WRONGTYPE, "SMISMEMBER str a b");
    EXPECT_ERR(c, WRONGTYPE, "SMEMBERS str");
    EXPECT_ERR(c, WRONGTYPE, "SRANDMEMBER str");
    EXPECT_ERR(c, WRONGTYPE, "SRANDMEMBER str 2");
    EXPECT_ERR(c, WRONGTYPE, "SRANDMEMBER str -2");
    EXPECT_ERR(c, WRONGTYPE, "SPOP str");
    EXPECT_ERR(c, WRONGTYPE, "SPOP str 2");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE str s a");
    EXPECT_ERR(c, WRONGTYPE, "SMOVE s str a");
    EXPECT_ERR(c, WRONGTYPE, "SINTER str");
    EXPECT_ERR(c, WRONGTYPE, "SINTER s str");
    EXPECT_ERR(c, WRONGTYPE, "SINTER str s");
    EXPECT_ERR(c, WRONGTYPE, "SINTER missing str"); /* Redis 7.0 checks every key's type */
    EXPECT_ERR(c, WRONGTYPE, "SUNION str");
    EXPECT_ERR(c, WRONGTYPE, "SUNION s str");
    EXPECT_ERR(c, WRONGTYPE, "SUNION missing str");
    EXPECT_ERR(c, WRONGTYPE, "SDIFF str s");
    EXPECT_ERR(c, WRONGTYPE, "SDIFF s str");
    EXPECT_ERR(c, WRONGTYPE, "SDIFF missing str");
    EXPECT_ERR(c, WRONGTYPE, "SINTERSTORE d s str");
    EXPECT_ERR(c, WRONGTYPE, "SINTERSTORE d missing str");
    EXPECT_ERR(c, WRONGTYPE, "SUNIONSTORE d s str");
    EXPECT_ERR(c, WRONGTYPE, "SDIFFSTORE d str s");
    EXPECT_ERR(c, WRONGTYPE, "SDIFFSTORE d s str");
    EXPECT_ERR(c, WRONGTYPE, "SINTERCARD 1 str");
    EXPECT_ERR(c, WRONGTYPE, "SINTERCARD 2 s str");
    EXPECT_ERR(c, WRONGTYPE, "SINTERCARD 2 missing str");
    EXPECT_ERR(c, WRONGTYPE, "SSCAN str 0");
    /* a failed *STORE leaves an existing destination alone */
    EXPECT_INT(c, 1, "SADD d keep");
    EXPECT_ERR(c, WRONGTYPE, "SUNIONSTORE d s str");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"keep"}), "SMEMBERS d");
    /* nothing changed */
    EXPECT_BULK(c, "v", "GET str");
    EXPECT_STATUS(c, "string", "TYPE str");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"a", "b"}), "SMEMBERS s");
    EXPECT_INT(c, 3, "DBSIZE"); /* str, s, d */
    /* and the other way round: string commands on a set */
    EXPECT_ERR(c, WRONGTYPE, "GET s");
    EXPECT_ERR(c, WRONGTYPE, "APPEND s x");
    EXPECT_ERR(c, WRONGTYPE, "INCR s");
    EXPECT_ERR(c, WRONGTYPE, "STRLEN s");
    EXPECT_ERR(c, WRONGTYPE, "GETRANGE s 0 1");
    EXPECT_INT(c, 2, "SCARD s");
    /* SET replaces a set */
    EXPECT_OK(c, "SET s now-a-string");
    EXPECT_STATUS(c, "string", "TYPE s");
    EXPECT_ERR(c, WRONGTYPE, "SCARD s");
    EXPECT_BULK(c, "now-a-string", "GET s");
}

/* ---- arity errors --------------------------------------------------------------------------------------------------- */

static void test_arity_errors(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "SADD s a");
    static const struct {
        const char *name, *cmd;
    } cases[] = {
        {"sadd", "SADD"},           {"sadd", "SADD s"},           {"srem", "SREM"},
        {"srem", "SREM s"},         {"scard", "SCARD"},           {"scard", "SCARD s t"},
        {"sismember", "SISMEMBER s"}, {"sismember", "SISMEMBER s a b"}, {"smismember", "SMISMEMBER s"},
        {"smembers", "SMEMBERS"},   {"smembers", "SMEMBERS s t"}, {"srandmember", "SRANDMEMBER"},
        {"spop", "SPOP"},           {"smove", "SMOVE s t"},       {"smove", "SMOVE s t a b"},
        {"sinter", "SINTER"},       {"sunion", "SUNION"},         {"sdiff", "SDIFF"},
        {"sinterstore", "SINTERSTORE d"}, {"sunionstore", "SUNIONSTORE d"}, {"sdiffstore", "SDIFFSTORE d"},
        {"sintercard", "SINTERCARD 1"}, {"sscan", "SSCAN s"},   {"sscan", "SSCAN"},
        {"sadd", "sadd s"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char want[128];
        snprintf(want, sizeof want, "ERR wrong number of arguments for '%s' command", cases[i].name);
        EXPECT_ERR(c, want, cases[i].cmd);
    }
    EXPECT_MEMBERS(c, 1, ((const char *[]){"a"}), "SMEMBERS s"); /* nothing changed */
    EXPECT_INT(c, 1, "DBSIZE");
}

/* ---- RESP3 --------------------------------------------------------------------------------------------------------- */

static void test_resp3_shapes(void **state) {
    (void)state;
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "HELLO", "3", NULL);
    const char *why = NULL;
    char *hello = st_raw_reply(&r, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!hello || hello[0] != '%') ST_FAIL("HELLO 3: no map reply (%s)", hello ? hello : why);
    free(hello);
    st_raw_cmd(&r, "SADD", "one", "a", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "SMEMBERS", "one", NULL);
    RAW_EXPECT(&r, "~1\r\n$1\r\na\r\n");
    st_raw_cmd(&r, "SMEMBERS", "missing", NULL);
    RAW_EXPECT(&r, "~0\r\n");
    st_raw_cmd(&r, "SCARD", "one", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "SISMEMBER", "one", "a", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "SISMEMBER", "one", "b", NULL);
    RAW_EXPECT(&r, ":0\r\n");
    st_raw_cmd(&r, "SMISMEMBER", "one", "a", "b", NULL);
    RAW_EXPECT(&r, "*2\r\n:1\r\n:0\r\n");
    st_raw_cmd(&r, "SMISMEMBER", "missing", "a", NULL);
    RAW_EXPECT(&r, "*1\r\n:0\r\n");
    st_raw_cmd(&r, "SADD", "two", "a", "b", NULL);
    RAW_EXPECT(&r, ":2\r\n");
    st_raw_cmd(&r, "SINTER", "one", "two", NULL);
    RAW_EXPECT(&r, "~1\r\n$1\r\na\r\n");
    st_raw_cmd(&r, "SINTER", "one", "missing", NULL);
    RAW_EXPECT(&r, "~0\r\n");
    st_raw_cmd(&r, "SUNION", "one", "missing", NULL);
    RAW_EXPECT(&r, "~1\r\n$1\r\na\r\n");
    st_raw_cmd(&r, "SDIFF", "two", "one", NULL);
    RAW_EXPECT(&r, "~1\r\n$1\r\nb\r\n");
    st_raw_cmd(&r, "SDIFF", "missing", "one", NULL);
    RAW_EXPECT(&r, "~0\r\n");
    st_raw_cmd(&r, "SINTERCARD", "2", "one", "two", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "SRANDMEMBER", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "SRANDMEMBER", "one", NULL);
    RAW_EXPECT(&r, "$1\r\na\r\n");
    st_raw_cmd(&r, "SRANDMEMBER", "missing", "3", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_cmd(&r, "SRANDMEMBER", "one", "-2", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    st_raw_cmd(&r, "SSCAN", "missing", "0", NULL);
    RAW_EXPECT(&r, "*2\r\n$1\r\n0\r\n*0\r\n");
    st_raw_cmd(&r, "SPOP", "missing", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_cmd(&r, "SPOP", "missing", "2", NULL);
    RAW_EXPECT(&r, "~0\r\n");
    st_raw_cmd(&r, "SPOP", "two", "0", NULL);
    RAW_EXPECT(&r, "~0\r\n");
    st_raw_cmd(&r, "SMOVE", "two", "one", "b", NULL);
    RAW_EXPECT(&r, ":1\r\n");
    st_raw_cmd(&r, "SPOP", "two", NULL);
    RAW_EXPECT(&r, "$1\r\na\r\n");
    st_raw_cmd(&r, "SPOP", "one", "5", NULL); /* more than the set: all of it, a set */
    char *got = st_raw_reply(&r, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!got || (strcmp(got, "~2\r\n$1\r\na\r\n$1\r\nb\r\n") && strcmp(got, "~2\r\n$1\r\nb\r\n$1\r\na\r\n"))) {
        char *e = got ? st_escape(got, strlen(got)) : NULL;
        ST_FAIL("SPOP one 5 (RESP3): got %s, want ~2 with a and b", e ? e : why);
    }
    free(got);
    st_raw_cmd(&r, "SET", "str", "v", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SMEMBERS", "str", NULL);
    RAW_EXPECT(&r, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    st_raw_cmd(&r, "DBSIZE", NULL);
    RAW_EXPECT(&r, ":1\r\n"); /* the sets were emptied and deleted */
    st_raw_close(&r);
}

/* ---- TTL, DEL, RENAME ---------------------------------------------------------------------------------------------- */

static void test_ttl_on_set(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "SADD s a b c");
    EXPECT_INT(c, 1, "SADD other x");
    EXPECT_INT(c, -1, "TTL s");
    /* SADD and SREM keep a set's TTL */
    EXPECT_INT(c, 1, "EXPIRE s 100");
    EXPECT_INT(c, 1, "SADD s d");
    EXPECT_INT(c, 1, "SREM s d");
    EXPECT_INT_RANGE(c, 98, 100, "TTL s");
    EXPECT_INT(c, 1, "PERSIST s");
    EXPECT_INT(c, -1, "TTL s");
    /* an expiring set disappears with all its members */
    EXPECT_INT(c, 1, "PEXPIRE s 100");
    EXPECT_INT_RANGE(c, 1, 100, "PTTL s");
    int64_t end = st_now_ms() + 3000;
    for (;;) {
        redisReply *r = CMD(c, "EXISTS s");
        long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (n == 0) break;
        if (n != 1) ST_FAIL("EXISTS s: not 0 or 1");
        if (st_now_ms() > end) ST_FAIL("the set still exists 3 s after PEXPIRE s 100");
        st_sleep_ms(10);
    }
    EXPECT_STATUS(c, "none", "TYPE s");
    EXPECT_INT(c, 0, "SCARD s");
    EXPECT_INT(c, 0, "SISMEMBER s a");
    EXPECT_MEMBERS(c, 0, NULL, "SMEMBERS s");
    EXPECT_NIL(c, "SPOP s");
    EXPECT_NIL(c, "SRANDMEMBER s");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"x"}), "SUNION s other");
    EXPECT_MEMBERS(c, 0, NULL, "SINTER s other");
    EXPECT_INT(c, -2, "TTL s");
    /* a new SADD starts an empty set without a TTL */
    EXPECT_INT(c, 1, "SADD s c");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"c"}), "SMEMBERS s");
    EXPECT_INT(c, 1, "SCARD s");
    EXPECT_INT(c, -1, "TTL s");
    /* the same for a set whose expiry nobody watched: wait past it, then SADD at once */
    EXPECT_INT(c, 2, "SADD t a b");
    EXPECT_INT(c, 1, "PEXPIRE t 50");
    int64_t until = st_now_ms() + 150; /* time passing: the TTL is 50 ms */
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_INT(c, 1, "SADD t z");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"z"}), "SMEMBERS t");
    EXPECT_INT(c, -1, "TTL t");
    /* a set emptied while it has a TTL is deleted; SADD then makes one without the TTL */
    EXPECT_INT(c, 1, "EXPIRE t 100");
    EXPECT_INT(c, 1, "SREM t z");
    EXPECT_INT(c, 0, "EXISTS t");
    EXPECT_INT(c, 1, "SADD t y");
    EXPECT_INT(c, -1, "TTL t");
    /* an expired destination of SMOVE is a fresh set */
    EXPECT_INT(c, 2, "SADD d old1 old2");
    EXPECT_INT(c, 1, "PEXPIRE d 50");
    until = st_now_ms() + 150;
    while (st_now_ms() < until) st_sleep_ms(10);
    EXPECT_INT(c, 1, "SMOVE other d x");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"x"}), "SMEMBERS d");
    EXPECT_INT(c, -1, "TTL d");
}

static void test_del_rename_select(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 3, "SADD s a b c");
    EXPECT_INT(c, 1, "DEL s");
    EXPECT_INT(c, 0, "EXISTS s");
    EXPECT_INT(c, 0, "SCARD s");
    EXPECT_INT(c, 1, "SADD s d");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"d"}), "SMEMBERS s");
    EXPECT_INT(c, 0, "SISMEMBER s a");
    EXPECT_INT(c, 1, "UNLINK s");
    EXPECT_INT(c, 2, "SADD s b e");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"b", "e"}), "SMEMBERS s");
    /* a string replaced by a set, and back */
    EXPECT_INT(c, 1, "DEL s");
    EXPECT_OK(c, "SET s str");
    EXPECT_INT(c, 1, "DEL s");
    EXPECT_INT(c, 1, "SADD s f");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"f"}), "SMEMBERS s");
    /* RENAME moves the members and the TTL */
    EXPECT_INT(c, 1, "SADD s g");
    EXPECT_INT(c, 1, "EXPIRE s 100");
    EXPECT_OK(c, "RENAME s t");
    EXPECT_INT(c, 0, "EXISTS s");
    EXPECT_STATUS(c, "set", "TYPE t");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"f", "g"}), "SMEMBERS t");
    EXPECT_INT_RANGE(c, 98, 100, "TTL t");
    EXPECT_INT(c, 1, "SADD s h");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"h"}), "SMEMBERS s");
    /* databases are separate */
    EXPECT_OK(c, "SELECT 1");
    EXPECT_INT(c, 0, "EXISTS t");
    EXPECT_INT(c, 1, "SADD t db1");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"db1"}), "SMEMBERS t");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_MEMBERS(c, 2, ((const char *[]){"f", "g"}), "SMEMBERS t");
    /* FLUSHALL empties sets too */
    EXPECT_OK(c, "FLUSHALL");
    EXPECT_INT(c, 0, "SCARD t");
    EXPECT_INT(c, 1, "SADD t new");
    EXPECT_MEMBERS(c, 1, ((const char *[]){"new"}), "SMEMBERS t");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sadd_srem_scard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sismember_smismember, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integer_like_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_and_empty_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_srandmember, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sinter_sunion_sdiff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sintercard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sscan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrongtype, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resp3_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_on_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_del_rename_select, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
