/* test_server_multi.c -- transactions of strata-server (MULTI, EXEC, DISCARD, WATCH, UNWATCH) against
 * Redis 7.0's replies:
 *  - MULTI/EXEC: QUEUED, EXEC's replies in order with run-time errors as elements (the rest runs),
 *    reads inside the transaction seeing its earlier writes (strings, counters, hashes, a DEL then
 *    HSET, sets, lists), empty transactions, queued commands invisible to others until EXEC;
 *  - errors: EXEC/DISCARD without MULTI, nested MULTI and WATCH inside MULTI (the transaction goes
 *    on), unknown commands and wrong arity while queueing (EXECABORT, nothing applied), EXEC with
 *    arguments (discards the transaction at once), DISCARD, a connection closed inside MULTI;
 *  - WATCH: aborts (RESP2 *-1 and RESP3 _ on raw sockets) on changes by another client or by the same
 *    one, creation of a missing key, one of several keys, FLUSHALL/FLUSHDB of an existing key, a TTL
 *    passing; no abort for untouched keys, other keys, other databases, a flush of a key that did not
 *    exist, a key already expired when watched, and writes that change nothing; UNWATCH, and EXEC /
 *    DISCARD / aborted EXEC clearing the watches;
 *  - SELECT and FLUSHDB inside MULTI;
 *  - concurrency: WATCH-based increments from three threads with retries (no lost update), and a
 *    reader pipelining GET/MGET while transactions of 50 INCRs commit (all or nothing);
 *  - a pipelined 2000-command transaction; a committed EXEC surviving kill -9 (--appendfsync always).
 * One server for the group (plus one for the persistence test); each test starts from FLUSHALL.
 * Strata returns hash fields and set members in byte order, Redis in hash order: those are compared
 * unordered. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;  /* the group's server */
static st_server psrv; /* the persistence test's own server */

static int group_setup(void **state) { (void)state; return st_it_group_setup(&srv, "it-multi", NULL); }
static int group_teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static int setup(void **state) { return st_it_fresh_client(&srv, state); }
static int teardown(void **state) { return st_it_teardown_client(&srv, state); }

static const char NOT_INT[] = "ERR value is not an integer or out of range";
static const char WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char EXECABORT[] = "EXECABORT Transaction discarded because of previous errors.";

/* ---- helpers ---------------------------------------------------------------------------------------- */

#define MULTI(c) EXPECT_OK((c), "MULTI")
#define QUEUE(c, ...) EXPECT_STATUS((c), "QUEUED", __VA_ARGS__)
#define L(...) ((const char *const[]){__VA_ARGS__})

/* Runs EXEC, which must answer an array of exactly n replies; returns it (caller frees). */
static redisReply *exec_n(redisContext *c, const char *file, int line, size_t n) {
    redisReply *r = st_cmd(c, file, line, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        char *g = st_reply_repr(r);
        st_fail_at(file, line, "EXEC\n    got:  %s\n    want: an array of %zu replies", g, n);
    }
    return r;
}
#define EXEC_N(c, n) exec_n((c), __FILE__, __LINE__, (n))
#define EXPECT_EXEC_EMPTY(c) freeReplyObject(EXEC_N((c), 0))

/* EXEC of a transaction whose WATCH failed: the null array. */
static void expect_exec_null(redisContext *c, const char *file, int line) {
    redisReply *r = st_cmd(c, file, line, "EXEC");
    if (r->type != REDIS_REPLY_NIL) {
        char *g = st_reply_repr(r);
        st_fail_at(file, line, "EXEC after a watched key changed\n    got:  %s\n    want: (nil) (null array)", g);
    }
    freeReplyObject(r);
}
#define EXPECT_EXEC_NULL(c) expect_exec_null((c), __FILE__, __LINE__)

static void check_nil(const redisReply *r, const char *file, int line, const char *what) {
    if (r->type == REDIS_REPLY_NIL) return;
    char *g = st_reply_repr(r);
    st_fail_at(file, line, "%s\n    got:  %s\n    want: (nil)", what, g);
}

static void check_err(const redisReply *r, const char *file, int line, const char *want, const char *what) {
    if (r->type == REDIS_REPLY_ERROR && strcmp(r->str, want) == 0) return;
    char *g = st_reply_repr(r);
    st_fail_at(file, line, "%s\n    got:  %s\n    want: (error) %s", what, g, want);
}

/* r must be an array of exactly the n bulk strings want, in this order. */
static void check_list(const redisReply *r, const char *file, int line, size_t n, const char *const *want,
                       const char *what) {
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; ok && i < n; i++) ok = st_reply_is_bulk(r->element[i], want[i]);
    if (ok) return;
    char *g = st_reply_repr(r);
    char ws[1024];
    int o = snprintf(ws, sizeof ws, "[");
    for (size_t i = 0; i < n && o < (int)sizeof ws - 80; i++)
        o += snprintf(ws + o, sizeof ws - (size_t)o, "%s\"%s\"", i ? ", " : "", want[i] ? want[i] : "(nil)");
    snprintf(ws + o, sizeof ws - (size_t)o, "]");
    st_fail_at(file, line, "%s\n    got:  %s\n    want: %s", what, g, ws);
}

/* r must be an array of n groups of `stride` bulk strings (field, value or member) equal to want's
 * groups in any order (text without NULs). */
static void check_unordered(const redisReply *r, const char *file, int line, int stride, size_t n,
                            const char *const *want, const char *what) {
    size_t sn = (size_t)stride;
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n * sn;
    for (size_t i = 0; ok && i < r->elements; i++) ok = r->element[i]->type == REDIS_REPLY_STRING;
    char **got = calloc(n + 1, sizeof *got), **w = calloc(n + 1, sizeof *w);
    for (size_t i = 0; ok && i < n; i++) {
        const redisReply *k = r->element[i * sn], *v = stride == 2 ? r->element[i * sn + 1] : NULL;
        if (asprintf(&got[i], "%.*s%s%.*s", (int)k->len, k->str, v ? " => " : "", v ? (int)v->len : 0,
                     v ? v->str : "") < 0)
            got[i] = NULL;
        if (asprintf(&w[i], "%s%s%s", want[i * sn], stride == 2 ? " => " : "", stride == 2 ? want[i * sn + 1] : "") <
            0)
            w[i] = NULL;
        ok = got[i] && w[i];
    }
    if (ok) {
        qsort(got, n, sizeof *got, st_cmp_str);
        qsort(w, n, sizeof *w, st_cmp_str);
        for (size_t i = 0; ok && i < n; i++) ok = strcmp(got[i], w[i]) == 0;
    }
    char *g = ok ? NULL : st_reply_repr(r);
    char ws[1024];
    int o = snprintf(ws, sizeof ws, "{");
    for (size_t i = 0; !ok && i < n && o < (int)sizeof ws - 80; i++)
        o += snprintf(ws + o, sizeof ws - (size_t)o, "%s%s%s%s", i ? ", " : "", want[i * sn],
                      stride == 2 ? " => " : "", stride == 2 ? want[i * sn + 1] : "");
    for (size_t i = 0; i < n; i++) {
        free(got[i]);
        free(w[i]);
    }
    free(got);
    free(w);
    if (!ok) st_fail_at(file, line, "%s\n    got:  %s\n    want (any order): %s}", what, g, ws);
}

static void expect_unordered(redisContext *c, const char *file, int line, int stride, size_t n,
                             const char *const *want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    check_unordered(r, file, line, stride, n, want, fmt);
    freeReplyObject(r);
}
#define EXPECT_UNORDERED(c, stride, n, want, ...) \
    expect_unordered((c), __FILE__, __LINE__, (stride), (n), (want), __VA_ARGS__)

/* Checks of EXEC's element i. */
#define E_OK(r, i) st_check_reply_status((r)->element[i], __FILE__, __LINE__, "OK", "EXEC element " #i)
#define E_INT(r, i, v) st_check_reply_int((r)->element[i], __FILE__, __LINE__, (v), "EXEC element " #i)
#define E_BULK(r, i, s) st_check_reply_bulk((r)->element[i], __FILE__, __LINE__, (s), strlen(s), "EXEC element " #i)
#define E_NIL(r, i) check_nil((r)->element[i], __FILE__, __LINE__, "EXEC element " #i)
#define E_ERR(r, i, want) check_err((r)->element[i], __FILE__, __LINE__, (want), "EXEC element " #i)
#define E_LIST(r, i, n, want) check_list((r)->element[i], __FILE__, __LINE__, (n), (want), "EXEC element " #i)
#define E_UNORDERED(r, i, stride, n, want) \
    check_unordered((r)->element[i], __FILE__, __LINE__, (stride), (n), (want), "EXEC element " #i)

/* A raw RESP connection switched to RESP3 (HELLO 3). */
static void raw_open_resp3(st_raw *r, const char *file, int line) {
    st_raw_open(&srv, r, file, line);
    st_raw_cmd(r, "HELLO", "3", NULL);
    const char *why = NULL;
    char *hello = st_raw_reply(r, ST_IT_IO_TIMEOUT_MS, NULL, &why);
    if (!hello || hello[0] != '%') st_fail_at(file, line, "HELLO 3: no map reply (%s)", hello ? hello : why);
    free(hello);
}

/* ---- 1. MULTI / EXEC ---------------------------------------------------------------------------------- */

static void test_exec_basics(void **state) {
    redisContext *c = *state;
    MULTI(c);
    QUEUE(c, "SET a 1");
    QUEUE(c, "GET a");
    QUEUE(c, "INCR n");
    QUEUE(c, "GET missing");
    QUEUE(c, "EXISTS a missing");
    redisReply *e = EXEC_N(c, 5);
    E_OK(e, 0);
    E_BULK(e, 1, "1");
    E_INT(e, 2, 1);
    E_NIL(e, 3);
    E_INT(e, 4, 1);
    freeReplyObject(e);
    /* out of MULTI again: commands run at once */
    EXPECT_OK(c, "SET b 2");
    EXPECT_BULK(c, "2", "GET b");
    EXPECT_BULK(c, "1", "GET n");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    /* an empty transaction */
    MULTI(c);
    EXPECT_EXEC_EMPTY(c);
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");

    /* the exact bytes, RESP2 and RESP3 */
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SET", "k", "v", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "GET", "k", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "GET", "nothing", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "*3\r\n+OK\r\n$1\r\nv\r\n$-1\r\n");
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_close(&r);
    raw_open_resp3(&r, __FILE__, __LINE__);
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "GET", "nothing", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "HSET", "h3", "f", "1", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "HGETALL", "h3", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "*3\r\n_\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\n1\r\n");
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "*0\r\n");
    st_raw_close(&r);
}

/* Errors of single commands at run time are EXEC's elements; every other command runs. */
static void test_exec_runtime_errors(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET s abc");
    EXPECT_INT(c, 1, "HSET h f v");
    MULTI(c);
    QUEUE(c, "SET a 1");
    QUEUE(c, "INCR s");
    QUEUE(c, "SET x 1 NX XX");
    QUEUE(c, "HSET s f v");
    QUEUE(c, "GET h");
    QUEUE(c, "INCR n");
    QUEUE(c, "LPUSH h x");
    QUEUE(c, "SADD set m");
    QUEUE(c, "INCRBY n notanumber");
    QUEUE(c, "INCR n");
    redisReply *e = EXEC_N(c, 10);
    E_OK(e, 0);
    E_ERR(e, 1, NOT_INT);
    E_ERR(e, 2, "ERR syntax error");
    E_ERR(e, 3, WRONGTYPE);
    E_ERR(e, 4, WRONGTYPE);
    E_INT(e, 5, 1);
    E_ERR(e, 6, WRONGTYPE);
    E_INT(e, 7, 1);
    E_ERR(e, 8, NOT_INT);
    E_INT(e, 9, 2);
    freeReplyObject(e);
    EXPECT_BULK(c, "1", "GET a");
    EXPECT_BULK(c, "abc", "GET s");
    EXPECT_BULK(c, "2", "GET n");
    EXPECT_INT(c, 0, "EXISTS x");
    EXPECT_STATUS(c, "hash", "TYPE h");
    EXPECT_INT(c, 1, "HLEN h");
    EXPECT_INT(c, 1, "SISMEMBER set m");
    EXPECT_INT(c, 5, "DBSIZE");
}

/* Commands inside the transaction see what the commands before them wrote. */
static void test_reads_see_own_writes(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 2, "HSET h a 1 b 2");
    EXPECT_INT(c, 1, "SADD s x");
    EXPECT_INT(c, 1, "RPUSH l z");
    EXPECT_OK(c, "SET k v0");
    MULTI(c);
    QUEUE(c, "SET k v1");           /* 0 */
    QUEUE(c, "GET k");              /* 1 */
    QUEUE(c, "APPEND k +");         /* 2 */
    QUEUE(c, "GET k");              /* 3 */
    QUEUE(c, "INCR n");             /* 4 */
    QUEUE(c, "INCR n");             /* 5 */
    QUEUE(c, "GET n");              /* 6 */
    QUEUE(c, "HSET h2 f1 v1 f2 v2"); /* 7 */
    QUEUE(c, "HGETALL h2");         /* 8 */
    QUEUE(c, "DEL h");              /* 9 */
    QUEUE(c, "HSET h c 3");         /* 10 */
    QUEUE(c, "HGETALL h");          /* 11 */
    QUEUE(c, "HLEN h");             /* 12 */
    QUEUE(c, "SADD s y w");         /* 13 */
    QUEUE(c, "SMEMBERS s");         /* 14 */
    QUEUE(c, "RPUSH l a b");        /* 15 */
    QUEUE(c, "LRANGE l 0 -1");      /* 16 */
    QUEUE(c, "LPOP l");             /* 17 */
    QUEUE(c, "LRANGE l 0 -1");      /* 18 */
    QUEUE(c, "DEL k");              /* 19 */
    QUEUE(c, "GET k");              /* 20 */
    QUEUE(c, "SET k v2");           /* 21 */
    QUEUE(c, "DBSIZE");             /* 22 */
    redisReply *e = EXEC_N(c, 23);
    E_OK(e, 0);
    E_BULK(e, 1, "v1");
    E_INT(e, 2, 3);
    E_BULK(e, 3, "v1+");
    E_INT(e, 4, 1);
    E_INT(e, 5, 2);
    E_BULK(e, 6, "2");
    E_INT(e, 7, 2);
    E_UNORDERED(e, 8, 2, 2, L("f1", "v1", "f2", "v2"));
    E_INT(e, 9, 1);
    E_INT(e, 10, 1);
    E_UNORDERED(e, 11, 2, 1, L("c", "3"));
    E_INT(e, 12, 1);
    E_INT(e, 13, 2);
    E_UNORDERED(e, 14, 1, 3, L("x", "y", "w"));
    E_INT(e, 15, 3);
    E_LIST(e, 16, 3, L("z", "a", "b"));
    E_BULK(e, 17, "z");
    E_LIST(e, 18, 2, L("a", "b"));
    E_INT(e, 19, 1);
    E_NIL(e, 20);
    E_OK(e, 21);
    E_INT(e, 22, 6);
    freeReplyObject(e);
    /* and another client sees the result */
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_BULK(b, "v2", "GET k");
    EXPECT_BULK(b, "2", "GET n");
    EXPECT_UNORDERED(b, 2, 1, L("c", "3"), "HGETALL h");
    EXPECT_UNORDERED(b, 2, 2, L("f1", "v1", "f2", "v2"), "HGETALL h2");
    EXPECT_UNORDERED(b, 1, 3, L("x", "y", "w"), "SMEMBERS s");
    EXPECT_STRS(b, 2, L("a", "b"), "LRANGE l 0 -1");
    EXPECT_INT(b, 6, "DBSIZE");
    redisFree(b);
}

/* Queued commands do nothing until EXEC: another client does not see them, DISCARD drops them, and
 * so does closing the connection. */
static void test_queued_invisible_and_discard(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET k old");
    MULTI(c);
    QUEUE(c, "SET k new");
    QUEUE(c, "HSET h f v");
    QUEUE(c, "INCR n");
    EXPECT_BULK(b, "old", "GET k");
    EXPECT_INT(b, 0, "EXISTS h n");
    EXPECT_OK(b, "SET other 1"); /* b is not in MULTI */
    redisReply *e = EXEC_N(c, 3);
    E_OK(e, 0);
    E_INT(e, 1, 1);
    E_INT(e, 2, 1);
    freeReplyObject(e);
    EXPECT_BULK(b, "new", "GET k");
    EXPECT_INT(b, 2, "EXISTS h n");

    /* DISCARD */
    MULTI(c);
    QUEUE(c, "SET k discarded");
    QUEUE(c, "DEL h");
    QUEUE(c, "INCR n");
    EXPECT_OK(c, "DISCARD");
    EXPECT_BULK(c, "new", "GET k");
    EXPECT_INT(c, 1, "HLEN h");
    EXPECT_BULK(c, "1", "GET n");
    EXPECT_OK(c, "SET after 1"); /* out of MULTI */
    EXPECT_BULK(c, "1", "GET after");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_ERR(c, "ERR DISCARD without MULTI", "DISCARD");

    /* a connection closed inside MULTI applies nothing */
    redisContext *d = ST_CONNECT(&srv);
    MULTI(d);
    QUEUE(d, "SET gone 1");
    QUEUE(d, "DEL k");
    redisFree(d);
    st_sleep_ms(50);
    EXPECT_NIL(b, "GET gone");
    EXPECT_BULK(b, "new", "GET k");
    redisFree(b);
}

/* ---- 2. errors ----------------------------------------------------------------------------------------- */

static void test_errors_outside_multi(void **state) {
    redisContext *c = *state;
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_ERR(c, "ERR DISCARD without MULTI", "DISCARD");
    EXPECT_OK(c, "WATCH k");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_ERR(c, "ERR DISCARD without MULTI", "DISCARD");
    EXPECT_OK(c, "UNWATCH");
    EXPECT_OK(c, "UNWATCH");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'watch' command", "WATCH");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'multi' command", "MULTI x");
    /* the connection is not in MULTI after those */
    EXPECT_OK(c, "SET k 1");
    EXPECT_BULK(c, "1", "GET k");
}

/* EXEC with arguments: Redis 7.0 rejects it with execCommandAbort, "EXECABORT Transaction discarded
 * because of: <error>", outside MULTI too; inside MULTI that discards the transaction at once (the
 * connection leaves MULTI: the next command runs). */
static void test_exec_wrong_arity_discards_transaction(void **state) {
    redisContext *c = *state;
    static const char want[] =
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command";
    EXPECT_ERR(c, want, "EXEC x");
    MULTI(c);
    QUEUE(c, "SET a 1");
    EXPECT_ERR(c, want, "EXEC x");
    EXPECT_OK(c, "SET b 1"); /* out of MULTI: runs now */
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_STRS(c, 2, L(NULL, "1"), "MGET a b");
}

/* A nested MULTI and a WATCH inside MULTI are refused, but the transaction goes on. */
static void test_nested_multi_and_watch_inside_multi(void **state) {
    redisContext *c = *state;
    MULTI(c);
    QUEUE(c, "SET a 1");
    EXPECT_ERR(c, "ERR MULTI calls can not be nested", "MULTI");
    EXPECT_ERR(c, "ERR WATCH inside MULTI is not allowed", "WATCH a");
    QUEUE(c, "SET b 2");
    QUEUE(c, "MGET a b");
    redisReply *e = EXEC_N(c, 3);
    E_OK(e, 0);
    E_OK(e, 1);
    E_LIST(e, 2, 2, L("1", "2"));
    freeReplyObject(e);
    EXPECT_STRS(c, 2, L("1", "2"), "MGET a b");
    /* the refused WATCH watched nothing: another client's write does not abort the next one */
    redisContext *b = ST_CONNECT(&srv);
    MULTI(c);
    EXPECT_ERR(c, "ERR WATCH inside MULTI is not allowed", "WATCH a");
    EXPECT_OK(b, "SET a changed");
    QUEUE(c, "GET a");
    e = EXEC_N(c, 1);
    E_BULK(e, 0, "changed");
    freeReplyObject(e);
    redisFree(b);
}

/* An unknown command while queueing: EXECABORT, nothing of the transaction applied. */
static void test_execabort_unknown_command(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET keep old");
    MULTI(c);
    QUEUE(c, "SET keep new");
    QUEUE(c, "SET a 1");
    EXPECT_ERR(c, "ERR unknown command 'FOOBAR', with args beginning with: 'x' ", "FOOBAR x");
    QUEUE(c, "HSET h f v"); /* still queued after the error */
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_BULK(c, "old", "GET keep");
    EXPECT_INT(c, 0, "EXISTS a h");
    EXPECT_INT(c, 1, "DBSIZE");
    /* out of MULTI */
    EXPECT_OK(c, "SET c 1");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");

    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SET", "keep", "raw", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "NOSUCHCMD", NULL);
    RAW_EXPECT(&r, "-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "-EXECABORT Transaction discarded because of previous errors.\r\n");
    st_raw_cmd(&r, "GET", "keep", NULL);
    RAW_EXPECT(&r, "$3\r\nold\r\n");
    st_raw_close(&r);
}

/* A wrong arity while queueing: EXECABORT as well. */
static void test_execabort_wrong_arity(void **state) {
    redisContext *c = *state;
    EXPECT_INT(c, 1, "RPUSH l a");
    MULTI(c);
    QUEUE(c, "RPUSH l b");
    QUEUE(c, "SET x 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    QUEUE(c, "SET y 1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'hset' command", "HSET h f");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_STRS(c, 1, L("a"), "LRANGE l 0 -1");
    EXPECT_INT(c, 0, "EXISTS x y h");
    /* the next transaction is a fresh one */
    MULTI(c);
    QUEUE(c, "RPUSH l c");
    redisReply *e = EXEC_N(c, 1);
    E_INT(e, 0, 2);
    freeReplyObject(e);
    /* wrong arity of MULTI, DISCARD, WATCH inside MULTI: flagged like any other command */
    static const char *const bad[] = {"MULTI x", "DISCARD x", "WATCH"};
    static const char *const names[] = {"multi", "discard", "watch"};
    for (int i = 0; i < 3; i++) {
        MULTI(c);
        QUEUE(c, "RPUSH l bad");
        char err[96];
        snprintf(err, sizeof err, "ERR wrong number of arguments for '%s' command", names[i]);
        EXPECT_ERR(c, err, bad[i]);
        QUEUE(c, "SET z 1"); /* still in MULTI */
        EXPECT_ERR(c, EXECABORT, "EXEC");
        EXPECT_INT(c, 0, "EXISTS z");
        EXPECT_INT(c, 2, "LLEN l");
    }
    /* a DISCARD after a queueing error leaves no error behind either */
    MULTI(c);
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_OK(c, "DISCARD");
    MULTI(c);
    QUEUE(c, "LLEN l");
    e = EXEC_N(c, 1);
    E_INT(e, 0, 2);
    freeReplyObject(e);
}

/* ---- 3. WATCH ------------------------------------------------------------------------------------------ */

/* Another client changes the watched key: EXEC answers the null array and applies nothing. */
static void test_watch_change_by_other_client_aborts(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET k 1");
    EXPECT_OK(c, "WATCH k");
    EXPECT_BULK(c, "1", "GET k");
    EXPECT_OK(b, "SET k 2");
    MULTI(c);
    QUEUE(c, "SET k mine");
    QUEUE(c, "SET side 1");
    EXPECT_EXEC_NULL(c);
    EXPECT_BULK(c, "2", "GET k");
    EXPECT_INT(c, 0, "EXISTS side");
    /* out of MULTI, and the next transaction runs */
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    MULTI(c);
    QUEUE(c, "SET k mine");
    redisReply *e = EXEC_N(c, 1);
    E_OK(e, 0);
    freeReplyObject(e);
    EXPECT_BULK(b, "mine", "GET k");

    /* the null array's bytes: RESP2 *-1, RESP3 _ */
    st_raw r;
    RAW_OPEN(&srv, &r);
    st_raw_cmd(&r, "WATCH", "k", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    EXPECT_OK(b, "SET k 3");
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SET", "k", "raw", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "*-1\r\n");
    st_raw_close(&r);
    raw_open_resp3(&r, __FILE__, __LINE__);
    st_raw_cmd(&r, "WATCH", "k", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    EXPECT_OK(b, "SET k 4");
    st_raw_cmd(&r, "MULTI", NULL);
    RAW_EXPECT(&r, "+OK\r\n");
    st_raw_cmd(&r, "SET", "k", "raw3", NULL);
    RAW_EXPECT(&r, "+QUEUED\r\n");
    st_raw_cmd(&r, "EXEC", NULL);
    RAW_EXPECT(&r, "_\r\n");
    st_raw_close(&r);
    EXPECT_BULK(c, "4", "GET k");
    redisFree(b);
}

/* Nothing touched the watched keys: EXEC runs; writes to other keys do not matter. */
static void test_watch_unchanged_runs(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET k 1");
    EXPECT_INT(c, 1, "SADD s m");
    EXPECT_OK(c, "WATCH k s missing");
    EXPECT_BULK(b, "1", "GET k");        /* reads by others */
    EXPECT_INT(b, 1, "SCARD s");
    EXPECT_OK(b, "SET k2 x");            /* writes to other keys */
    EXPECT_INT(b, 1, "SADD s2 m");
    EXPECT_INT(b, 1, "HSET missing2 f v");
    EXPECT_INT(b, 0, "DEL missingtoo");
    EXPECT_BULK(c, "1", "GET k");        /* reads by the watcher */
    MULTI(c);
    QUEUE(c, "INCR k");
    QUEUE(c, "SADD s n");
    QUEUE(c, "SET missing now");
    redisReply *e = EXEC_N(c, 3);
    E_INT(e, 0, 2);
    E_INT(e, 1, 1);
    E_OK(e, 2);
    freeReplyObject(e);
    EXPECT_BULK(b, "2", "GET k");
    EXPECT_BULK(b, "now", "GET missing");
    redisFree(b);
}

static void test_unwatch(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET k 1");
    EXPECT_OK(c, "WATCH k");
    EXPECT_OK(c, "UNWATCH");
    EXPECT_OK(b, "SET k 2");
    MULTI(c);
    QUEUE(c, "GET k");
    redisReply *e = EXEC_N(c, 1);
    E_BULK(e, 0, "2");
    freeReplyObject(e);
    /* two WATCH calls add up; one UNWATCH forgets both */
    EXPECT_OK(c, "WATCH k");
    EXPECT_OK(c, "WATCH j");
    EXPECT_OK(c, "UNWATCH");
    EXPECT_OK(b, "SET k 3");
    EXPECT_OK(b, "SET j 3");
    MULTI(c);
    EXPECT_EXEC_EMPTY(c);
    redisFree(b);
}

/* EXEC (committed or aborted, EXECABORT too) and DISCARD forget the watches: the next transaction is
 * not affected. EXEC without MULTI keeps them (an error, not an EXEC). */
static void test_exec_and_discard_clear_watches(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET k 0");
    /* after a committed EXEC */
    EXPECT_OK(c, "WATCH k");
    MULTI(c);
    QUEUE(c, "SET x 1");
    freeReplyObject(EXEC_N(c, 1));
    EXPECT_OK(b, "SET k 1");
    MULTI(c);
    QUEUE(c, "SET x 2");
    redisReply *e = EXEC_N(c, 1);
    E_OK(e, 0);
    freeReplyObject(e);
    /* after DISCARD */
    EXPECT_OK(c, "WATCH k");
    MULTI(c);
    EXPECT_OK(c, "DISCARD");
    EXPECT_OK(b, "SET k 2");
    MULTI(c);
    QUEUE(c, "SET x 3");
    e = EXEC_N(c, 1);
    E_OK(e, 0);
    freeReplyObject(e);
    /* after an aborted EXEC */
    EXPECT_OK(c, "WATCH k");
    EXPECT_OK(b, "SET k 3");
    MULTI(c);
    QUEUE(c, "SET x never");
    EXPECT_EXEC_NULL(c);
    EXPECT_OK(b, "SET k 4");
    MULTI(c);
    QUEUE(c, "SET x 4");
    e = EXEC_N(c, 1);
    E_OK(e, 0);
    freeReplyObject(e);
    /* after EXECABORT */
    EXPECT_OK(c, "WATCH k");
    MULTI(c);
    EXPECT_ERR(c, "ERR unknown command 'FOOBAR', with args beginning with: ", "FOOBAR");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_OK(b, "SET k 5");
    MULTI(c);
    QUEUE(c, "SET x 5");
    e = EXEC_N(c, 1);
    E_OK(e, 0);
    freeReplyObject(e);
    EXPECT_BULK(b, "5", "GET x");
    /* EXEC without MULTI is only an error: the watch stays */
    EXPECT_OK(c, "WATCH k");
    EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    EXPECT_OK(b, "SET k 6");
    MULTI(c);
    QUEUE(c, "SET x never");
    EXPECT_EXEC_NULL(c);
    EXPECT_BULK(b, "5", "GET x");
    redisFree(b);
}

/* Watching a missing key that another client then creates (any type) aborts. */
static void test_watch_missing_key_created(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    static const char *const creators[] = {"SET nokey v", "HSET nokey f v", "SADD nokey m", "RPUSH nokey x",
                                           "INCR nokey"};
    for (size_t i = 0; i < sizeof creators / sizeof *creators; i++) {
        EXPECT_INT(c, (long long)(i > 0), "DEL nokey");
        EXPECT_OK(c, "WATCH nokey");
        redisReply *r = CMD(b, creators[i]);
        if (r->type == REDIS_REPLY_ERROR) ST_FAIL("`%s`: %s", creators[i], r->str);
        freeReplyObject(r);
        MULTI(c);
        QUEUE(c, "SET nokey mine");
        redisReply *e = CMD(c, "EXEC");
        if (e->type != REDIS_REPLY_NIL) {
            char *g = st_reply_repr(e);
            ST_FAIL("WATCH nokey, other client `%s`, EXEC: got %s, want (nil)", creators[i], g);
        }
        freeReplyObject(e);
        EXPECT_INT(c, 1, "EXISTS nokey");
        EXPECT_ERR(c, "ERR EXEC without MULTI", "EXEC");
    }
    redisFree(b);
}

/* The watching client's own write before MULTI aborts its transaction too (as in Redis). */
static void test_watch_own_change_aborts(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k 1");
    EXPECT_OK(c, "WATCH k");
    EXPECT_INT(c, 2, "INCR k");
    MULTI(c);
    QUEUE(c, "SET k mine");
    EXPECT_EXEC_NULL(c);
    EXPECT_BULK(c, "2", "GET k");
    /* a missing key created by the watcher itself */
    EXPECT_OK(c, "WATCH fresh");
    EXPECT_INT(c, 1, "HSET fresh f v");
    MULTI(c);
    QUEUE(c, "DEL fresh");
    EXPECT_EXEC_NULL(c);
    EXPECT_INT(c, 1, "HLEN fresh");
}

/* Several keys watched, only one changes: abort. Keys of every type. */
static void test_watch_several_keys_one_changes(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET a 1");
    EXPECT_INT(c, 1, "HSET h f 1");
    EXPECT_INT(c, 1, "SADD s m");
    EXPECT_INT(c, 1, "RPUSH l x");
    static const char *const changes[] = {"SET a 2", "HSET h f 2", "SREM s m", "RPUSH l y", "SET missing 1"};
    for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
        EXPECT_OK(c, "WATCH a h");
        EXPECT_OK(c, "WATCH s l missing"); /* a second WATCH adds to the first */
        redisReply *r = CMD(b, changes[i]);
        if (r->type == REDIS_REPLY_ERROR) ST_FAIL("`%s`: %s", changes[i], r->str);
        freeReplyObject(r);
        MULTI(c);
        QUEUE(c, "SET marker %d", (int)i);
        redisReply *e = CMD(c, "EXEC");
        if (e->type != REDIS_REPLY_NIL) {
            char *g = st_reply_repr(e);
            ST_FAIL("WATCH a h s l missing, other client `%s`, EXEC: got %s, want (nil)", changes[i], g);
        }
        freeReplyObject(e);
        EXPECT_NIL(c, "GET marker");
    }
    redisFree(b);
}

/* FLUSHALL and FLUSHDB by another client abort a WATCH of an existing key; a FLUSHDB of another
 * database does not. */
static void test_watch_flush_aborts(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    static const char *const flushes[] = {"FLUSHALL", "FLUSHDB", "FLUSHALL SYNC", "FLUSHDB ASYNC"};
    for (size_t i = 0; i < sizeof flushes / sizeof *flushes; i++) {
        EXPECT_OK(c, "SET k 1");
        EXPECT_INT(c, 1, "HSET h f v");
        EXPECT_OK(c, "WATCH k");
        EXPECT_OK(b, flushes[i]);
        MULTI(c);
        QUEUE(c, "SET after 1");
        redisReply *e = CMD(c, "EXEC");
        if (e->type != REDIS_REPLY_NIL) {
            char *g = st_reply_repr(e);
            ST_FAIL("WATCH k (existing), other client `%s`, EXEC: got %s, want (nil)", flushes[i], g);
        }
        freeReplyObject(e);
        EXPECT_INT(c, 0, "DBSIZE");
    }
    /* FLUSHDB of database 1 does not touch database 0's keys */
    EXPECT_OK(c, "SET k 1");
    EXPECT_OK(c, "WATCH k");
    EXPECT_OK(b, "SELECT 1");
    EXPECT_OK(b, "SET k one");
    EXPECT_OK(b, "FLUSHDB");
    EXPECT_OK(b, "SELECT 0");
    MULTI(c);
    QUEUE(c, "INCR k");
    redisReply *e = EXEC_N(c, 1);
    E_INT(e, 0, 2);
    freeReplyObject(e);
    redisFree(b);
}

/* Redis 7.0 (touchAllWatchedKeysInDb) only flags watched keys that exist in the flushed database: a
 * watched key that was missing and stays missing is not changed by FLUSHALL / FLUSHDB. */
static void test_watch_flush_of_missing_key_does_not_abort(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    static const char *const flushes[] = {"FLUSHALL", "FLUSHDB"};
    for (size_t i = 0; i < sizeof flushes / sizeof *flushes; i++) {
        EXPECT_OK(c, "FLUSHALL");
        EXPECT_OK(c, "SET other 1");
        EXPECT_OK(c, "WATCH nokey");
        EXPECT_OK(b, flushes[i]);
        MULTI(c);
        QUEUE(c, "SET nokey mine");
        redisReply *e = CMD(c, "EXEC");
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 1) {
            char *g = st_reply_repr(e);
            ST_FAIL("SET other 1; WATCH nokey (missing); other client `%s`; MULTI; SET nokey mine; EXEC:\n"
                    "    got:  %s\n    want: [\"OK\"] (Redis 7.0 does not abort: the key did not exist)",
                    flushes[i], g);
        }
        E_OK(e, 0);
        freeReplyObject(e);
        EXPECT_BULK(c, "mine", "GET nokey");
        EXPECT_INT(c, 0, "EXISTS other");
    }
    redisFree(b);
}

/* A watched key whose TTL passes before EXEC counts as changed (Redis 7.0's isWatchedKeyExpired),
 * even if nothing deleted it yet; a TTL that has not passed does not abort, and neither does a key
 * that had already expired when it was watched. */
static void test_watch_expiry(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k v PX 200");
    EXPECT_OK(c, "SET long v PX 60000");
    EXPECT_OK(c, "WATCH k long");
    EXPECT_INT_RANGE(c, 1, 200, "PTTL k"); /* so k was alive when watched */
    st_sleep_ms(350);
    MULTI(c);
    QUEUE(c, "GET k");
    QUEUE(c, "SET done 1");
    EXPECT_EXEC_NULL(c);
    EXPECT_NIL(c, "GET k");
    EXPECT_NIL(c, "GET done");
    /* a TTL still in the future */
    EXPECT_OK(c, "WATCH long");
    MULTI(c);
    QUEUE(c, "GET long");
    redisReply *e = EXEC_N(c, 1);
    E_BULK(e, 0, "v");
    freeReplyObject(e);
    /* expired before WATCH: watching a missing key; EXEC runs, also after it is reclaimed */
    EXPECT_OK(c, "SET gone v PX 30");
    st_sleep_ms(100);
    EXPECT_OK(c, "WATCH gone");
    st_sleep_ms(300);
    MULTI(c);
    QUEUE(c, "GET gone");
    e = EXEC_N(c, 1);
    E_NIL(e, 0);
    freeReplyObject(e);
    /* a TTL set by another client after WATCH is a change */
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "WATCH long");
    EXPECT_INT(b, 1, "PEXPIRE long 50000");
    MULTI(c);
    QUEUE(c, "GET long");
    EXPECT_EXEC_NULL(c);
    redisFree(b);
}

/* Which writes by another client abort a WATCH: the ones that change the key (even to the same value);
 * not the ones that change nothing (Redis signals no modification for them). */
typedef struct watch_case {
    const char *setup[2]; /* run by the watcher before WATCH w */
    const char *other[3]; /* run by the other client */
    bool aborts;
} watch_case;

static void test_watch_which_writes_abort(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    static const watch_case cases[] = {
        {{"SET w 1"}, {"SET w 1"}, true},
        {{NULL}, {"INCR w"}, true},
        {{"HSET w f 1"}, {"HSET w f 1"}, true},
        {{"SET w 1"}, {"EXPIRE w 100"}, true},
        {{"SET w 1", "SET o 2"}, {"RENAME o w"}, true},
        {{"SET w 1"}, {"RENAME w o"}, true},
        {{"SET w 1"}, {"DEL w"}, true},
        {{"SET w 1"}, {"MULTI", "SET w 2", "EXEC"}, true},
        {{NULL}, {"DEL w"}, false},
        {{"SADD w m"}, {"SADD w m"}, false},
        {{"SADD w m"}, {"SREM w zz"}, false},
        {{"HSET w f 1"}, {"HDEL w zz"}, false},
        {{"SET w 1"}, {"PERSIST w"}, false},
        {{"SET w 1"}, {"SET w 2 NX"}, false},
        {{NULL}, {"LPOP w"}, false},
        {{"SET w 1"}, {"SELECT 1", "SET w 2", "SELECT 0"}, false},
        {{"SET w 1"}, {"GET w"}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const watch_case *k = &cases[i];
        EXPECT_OK(c, "FLUSHALL");
        char desc[256];
        int o = snprintf(desc, sizeof desc, "case %zu:", i);
        for (int j = 0; j < 2 && k->setup[j]; j++) {
            o += snprintf(desc + o, sizeof desc - (size_t)o, " %s;", k->setup[j]);
            redisReply *r = CMD(c, k->setup[j]);
            if (r->type == REDIS_REPLY_ERROR) ST_FAIL("%s `%s`: %s", desc, k->setup[j], r->str);
            freeReplyObject(r);
        }
        EXPECT_OK(c, "WATCH w");
        o += snprintf(desc + o, sizeof desc - (size_t)o, " WATCH w; other client:");
        for (int j = 0; j < 3 && k->other[j]; j++) {
            o += snprintf(desc + o, sizeof desc - (size_t)o, " %s;", k->other[j]);
            redisReply *r = CMD(b, k->other[j]);
            if (r->type == REDIS_REPLY_ERROR) ST_FAIL("%s `%s`: %s", desc, k->other[j], r->str);
            freeReplyObject(r);
        }
        MULTI(c);
        QUEUE(c, "SET done 1");
        redisReply *e = CMD(c, "EXEC");
        bool ok = k->aborts ? e->type == REDIS_REPLY_NIL
                            : e->type == REDIS_REPLY_ARRAY && e->elements == 1 &&
                                  e->element[0]->type == REDIS_REPLY_STATUS && !strcmp(e->element[0]->str, "OK");
        if (!ok) {
            char *g = st_reply_repr(e);
            ST_FAIL("%s MULTI; SET done 1; EXEC\n    got:  %s\n    want: %s", desc, g,
                    k->aborts ? "(nil) (aborted)" : "[\"OK\"] (not aborted)");
        }
        freeReplyObject(e);
        if (k->aborts) EXPECT_NIL(c, "GET done");
        else EXPECT_BULK(c, "1", "GET done");
    }
    redisFree(b);
}

/* ---- 4. SELECT and FLUSHDB inside MULTI ---------------------------------------------------------------- */

static void test_select_inside_multi(void **state) {
    redisContext *c = *state;
    redisContext *b = ST_CONNECT(&srv);
    EXPECT_OK(c, "SET q db0-old");
    MULTI(c);
    QUEUE(c, "SET q 0");
    QUEUE(c, "SELECT 1");
    QUEUE(c, "SET q 1");
    QUEUE(c, "GET q");
    QUEUE(c, "HSET h f 1");
    QUEUE(c, "DBSIZE");
    redisReply *e = EXEC_N(c, 6);
    E_OK(e, 0);
    E_OK(e, 1);
    E_OK(e, 2);
    E_BULK(e, 3, "1");
    E_INT(e, 4, 1);
    E_INT(e, 5, 2);
    freeReplyObject(e);
    /* the connection stays in database 1 */
    EXPECT_BULK(c, "1", "GET q");
    EXPECT_INT(c, 1, "EXISTS h");
    EXPECT_BULK(b, "0", "GET q");
    EXPECT_INT(b, 0, "EXISTS h");
    EXPECT_OK(b, "SELECT 1");
    EXPECT_BULK(b, "1", "GET q");
    EXPECT_OK(b, "SELECT 0");
    /* SELECT out of range inside MULTI is an element error; the database does not change */
    MULTI(c);
    QUEUE(c, "SELECT 99");
    QUEUE(c, "GET q");
    e = EXEC_N(c, 2);
    E_ERR(e, 0, "ERR DB index is out of range");
    E_BULK(e, 1, "1");
    freeReplyObject(e);
    /* back to 0 inside a transaction, then FLUSHDB and writes after it in the same transaction */
    MULTI(c);
    QUEUE(c, "SELECT 0");
    QUEUE(c, "SET a 1");
    QUEUE(c, "FLUSHDB");
    QUEUE(c, "GET q");
    QUEUE(c, "SET b 2");
    QUEUE(c, "DBSIZE");
    e = EXEC_N(c, 6);
    E_OK(e, 0);
    E_OK(e, 1);
    E_OK(e, 2);
    E_NIL(e, 3);
    E_OK(e, 4);
    E_INT(e, 5, 1);
    freeReplyObject(e);
    EXPECT_NIL(b, "GET q");
    EXPECT_NIL(b, "GET a");
    EXPECT_BULK(b, "2", "GET b");
    EXPECT_OK(b, "SELECT 1"); /* database 1 untouched by database 0's FLUSHDB */
    EXPECT_BULK(b, "1", "GET q");
    EXPECT_INT(b, 1, "HLEN h");
    redisFree(b);
}

/* ---- 5. concurrency ------------------------------------------------------------------------------------- */

/* Threads below never call the harness's failing checks (cmocka is single-threaded): they record the
 * first problem in err, and the main thread fails the test with it after joining. */
#define CW_THREADS 3
#define CW_ITERATIONS 300
#define CW_MAX_RETRIES 500
#define CW_DEADLINE_MS 20000

typedef struct counter_worker {
    redisContext *c;
    int id;
    int64_t deadline;
    int successes, aborts;
    long long stale; /* > 0: the value GET returned before a committed EXEC found the log longer */
    char err[512];
} counter_worker;

static void worker_err(char *err, size_t n, const char *what, const redisReply *r, const redisContext *c) {
    if (err[0]) return;
    char *g = r ? st_reply_repr(r) : NULL;
    snprintf(err, n, "%s: %s", what, g ? g : c->errstr);
    free(g);
}

static bool is_status(const redisReply *r, const char *s) {
    return r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, s);
}

/* One WATCH/GET/MULTI/SET/RPUSH/EXEC attempt. 1 committed, 0 aborted, -1 error (in w->err). RPUSH log
 * answers the log's new length, which must be the counter's new value: every committed increment
 * saw the latest one. */
static int counter_attempt(counter_worker *w) {
    redisReply *r = redisCommand(w->c, "WATCH counter");
    if (!is_status(r, "OK")) return worker_err(w->err, sizeof w->err, "WATCH counter", r, w->c), -1;
    freeReplyObject(r);
    r = redisCommand(w->c, "GET counter");
    if (!r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING))
        return worker_err(w->err, sizeof w->err, "GET counter", r, w->c), -1;
    long long v = r->type == REDIS_REPLY_NIL ? 0 : strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    redisAppendCommand(w->c, "MULTI");
    redisAppendCommand(w->c, "SET counter %lld", v + 1);
    redisAppendCommand(w->c, "RPUSH log %d:%lld", w->id, v + 1);
    redisAppendCommand(w->c, "EXEC");
    static const char *const want[] = {"OK", "QUEUED", "QUEUED"};
    for (int i = 0; i < 3; i++) {
        void *p = NULL;
        if (redisGetReply(w->c, &p) != REDIS_OK || !is_status(p, want[i])) {
            worker_err(w->err, sizeof w->err, i == 0 ? "MULTI" : "queueing", p, w->c);
            if (p) freeReplyObject(p);
            return -1;
        }
        freeReplyObject(p);
    }
    void *p = NULL;
    if (redisGetReply(w->c, &p) != REDIS_OK || !p) return worker_err(w->err, sizeof w->err, "EXEC", NULL, w->c), -1;
    r = p;
    int rc;
    if (r->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && is_status(r->element[0], "OK") &&
               r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == v + 1) {
        rc = 1;
    } else {
        char what[96];
        snprintf(what, sizeof what, "WATCH counter; GET counter -> %lld; MULTI; SET counter %lld; RPUSH log ...; EXEC",
                 v, v + 1);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) w->stale = v + 1;
        worker_err(w->err, sizeof w->err, what, r, w->c);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

static void *counter_run(void *arg) {
    counter_worker *w = arg;
    for (int it = 0; it < CW_ITERATIONS && !w->err[0]; it++) {
        int tries = 0, rc = 0;
        while (rc == 0 && tries++ < CW_MAX_RETRIES) {
            if (st_now_ms() > w->deadline) {
                snprintf(w->err, sizeof w->err, "deadline: %d of %d increments after %d ms", w->successes,
                         CW_ITERATIONS, CW_DEADLINE_MS);
                return NULL;
            }
            rc = counter_attempt(w);
            if (rc == 0) w->aborts++;
        }
        if (rc < 0) return NULL;
        if (rc == 0) {
            snprintf(w->err, sizeof w->err, "iteration %d: %d attempts all aborted", it, CW_MAX_RETRIES);
            return NULL;
        }
        w->successes++;
    }
    return NULL;
}

/* Three clients each increment a counter 300 times with WATCH / GET / MULTI / SET / EXEC, retrying
 * aborted transactions: the counter ends at the number of committed EXECs, and the log every EXEC
 * appended to holds each value once, in order. */
static void test_concurrent_watch_increments(void **state) {
    redisContext *c = *state;
    counter_worker w[CW_THREADS];
    pthread_t th[CW_THREADS];
    memset(w, 0, sizeof w);
    int64_t deadline = st_now_ms() + CW_DEADLINE_MS;
    for (int i = 0; i < CW_THREADS; i++) {
        w[i].c = ST_CONNECT(&srv);
        w[i].id = i;
        w[i].deadline = deadline;
    }
    for (int i = 0; i < CW_THREADS; i++)
        if (pthread_create(&th[i], NULL, counter_run, &w[i])) ST_FAIL("pthread_create failed");
    for (int i = 0; i < CW_THREADS; i++) pthread_join(th[i], NULL);
    int total = 0, aborts = 0;
    for (int i = 0; i < CW_THREADS; i++) {
        if (w[i].err[0] && w[i].stale) { /* show who committed that value */
            redisReply *l = CMD(c, "LRANGE log %lld %lld", w[i].stale - 2, w[i].stale + 1);
            char *ls = st_reply_repr(l);
            redisReply *g = CMD(c, "GET counter");
            char *gs = st_reply_repr(g);
            ST_FAIL("client %d: %s\n    got:  a committed EXEC whose RPUSH found %lld items in the log: another "
                    "transaction committed between this client's WATCH and EXEC without aborting it\n"
                    "    log[%lld..%lld] (\"<client>:<value>\"): %s; counter now %s",
                    i, w[i].err, w[i].stale, w[i].stale - 2, w[i].stale + 1, ls, gs);
        }
        if (w[i].err[0]) ST_FAIL("client %d: %s", i, w[i].err);
        total += w[i].successes;
        aborts += w[i].aborts;
        redisFree(w[i].c);
    }
    assert_int_equal(total, CW_THREADS * CW_ITERATIONS);
    char want[32];
    snprintf(want, sizeof want, "%d", total);
    EXPECT_BULK(c, want, "GET counter");
    EXPECT_INT(c, total, "LLEN log");
    redisReply *r = CMD(c, "LRANGE log 0 -1");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)total) ST_FAIL("LRANGE log: not %d items", total);
    int per[CW_THREADS] = {0};
    for (size_t i = 0; i < r->elements; i++) {
        int id = -1;
        long long v = -1;
        if (sscanf(r->element[i]->str, "%d:%lld", &id, &v) != 2 || id < 0 || id >= CW_THREADS ||
            v != (long long)i + 1)
            ST_FAIL("log[%zu] = \"%s\", want \"<client>:%zu\"", i, r->element[i]->str, i + 1);
        per[id]++;
    }
    freeReplyObject(r);
    for (int i = 0; i < CW_THREADS; i++)
        if (per[i] != w[i].successes)
            ST_FAIL("client %d committed %d increments, the log holds %d of them", i, w[i].successes, per[i]);
    print_message("    %d increments committed, %d transactions aborted and retried\n", total, aborts);
}

/* Client A commits transactions of 50 INCRs of k (and an INCRBY 50 of k2) while client B pipelines
 * GET k and MGET k k2: B sees every transaction whole or not at all. */
#define AON_MAX_TX 150
#define AON_MS 3000

typedef struct aon_writer {
    redisContext *c;
    int64_t deadline;
    int committed;
    atomic_bool done;
    char err[512];
} aon_writer;

static void *aon_run(void *arg) {
    aon_writer *w = arg;
    for (int t = 0; t < AON_MAX_TX && st_now_ms() < w->deadline; t++) {
        redisAppendCommand(w->c, "MULTI");
        for (int i = 0; i < 50; i++) redisAppendCommand(w->c, "INCR k");
        redisAppendCommand(w->c, "INCRBY k2 50");
        redisAppendCommand(w->c, "EXEC");
        for (int i = 0; i < 52; i++) {
            void *p = NULL;
            if (redisGetReply(w->c, &p) != REDIS_OK || !is_status(p, i ? "QUEUED" : "OK")) {
                worker_err(w->err, sizeof w->err, "queueing", p, w->c);
                if (p) freeReplyObject(p);
                goto out;
            }
            freeReplyObject(p);
        }
        void *p = NULL;
        if (redisGetReply(w->c, &p) != REDIS_OK || !p) {
            worker_err(w->err, sizeof w->err, "EXEC", NULL, w->c);
            goto out;
        }
        redisReply *r = p;
        long long base = 50LL * t;
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 51;
        for (size_t i = 0; ok && i < 51; i++)
            ok = r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == base + (i < 50 ? (long long)i + 1 : 50);
        if (!ok) {
            char what[64];
            snprintf(what, sizeof what, "EXEC of transaction %d (want %lld..%lld, %lld)", t, base + 1, base + 50,
                     base + 50);
            worker_err(w->err, sizeof w->err, what, r, w->c);
            freeReplyObject(r);
            goto out;
        }
        freeReplyObject(r);
        w->committed++;
    }
out:
    atomic_store(&w->done, true);
    return NULL;
}

static long long reply_count(const redisReply *r, bool *ok) {
    if (r->type == REDIS_REPLY_NIL) return 0;
    if (r->type != REDIS_REPLY_STRING) {
        *ok = false;
        return -1;
    }
    char *end = NULL;
    long long v = strtoll(r->str, &end, 10);
    if (end == r->str || *end) *ok = false;
    return v;
}

static void test_exec_all_or_nothing_for_readers(void **state) {
    redisContext *c = *state;
    aon_writer w;
    memset(&w, 0, sizeof w);
    atomic_init(&w.done, false);
    w.c = ST_CONNECT(&srv);
    int64_t start = st_now_ms();
    w.deadline = start + AON_MS;
    pthread_t th;
    if (pthread_create(&th, NULL, aon_run, &w)) ST_FAIL("pthread_create failed");
    long long last = 0, reads = 0, distinct = 0;
    char bad[256] = "";
    for (int batch = 0; batch < 2000 && !bad[0]; batch++) {
        bool writer_done = atomic_load(&w.done);
        for (int i = 0; i < 100; i++) redisAppendCommand(c, i % 4 == 3 ? "MGET k k2" : "GET k");
        st_flush(c, __FILE__, __LINE__);
        for (int i = 0; i < 100; i++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            bool ok = true;
            long long v, v2;
            if (i % 4 == 3) {
                ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2;
                v = ok ? reply_count(r->element[0], &ok) : -1;
                v2 = ok ? reply_count(r->element[1], &ok) : -1;
            } else {
                v = v2 = reply_count(r, &ok);
            }
            if (!bad[0] && (!ok || v % 50 || v != v2 || v < last)) {
                char *g = st_reply_repr(r);
                snprintf(bad, sizeof bad, "read %lld (%s): got %s (previous value %lld)", reads,
                         i % 4 == 3 ? "MGET k k2" : "GET k", g, last);
                free(g);
            }
            if (v > last) distinct++;
            if (v > last) last = v;
            reads++;
            freeReplyObject(r);
        }
        if (writer_done || st_now_ms() > start + AON_MS + 5000) break;
    }
    pthread_join(th, NULL);
    redisFree(w.c);
    if (w.err[0]) ST_FAIL("writer: %s", w.err);
    if (bad[0]) ST_FAIL("reader saw part of a transaction: %s", bad);
    if (w.committed < 1) ST_FAIL("the writer committed no transaction");
    char want[32];
    snprintf(want, sizeof want, "%lld", 50LL * w.committed);
    EXPECT_BULK(c, want, "GET k");
    EXPECT_BULK(c, want, "GET k2");
    print_message("    %d transactions of 50 INCRs, %lld reads, %lld distinct values seen\n", w.committed, reads,
                  distinct);
}

/* ---- 6. a big transaction ------------------------------------------------------------------------------ */

#define BIG_N 2000

static void test_big_pipelined_transaction(void **state) {
    redisContext *c = *state;
    redisAppendCommand(c, "MULTI");
    for (int i = 0; i < BIG_N; i++) {
        char a[32], b[32];
        int an = snprintf(a, sizeof a, "f%d", i), bn = snprintf(b, sizeof b, "v%d", i);
        a[0] = '\0'; /* binary: starts with a NUL */
        b[bn++] = (char)0xff; /* binary: ends with 0xff */
        switch (i % 3) {
        case 0: redisAppendCommand(c, "HSET big:h %b %b", a, (size_t)an, b, (size_t)bn); break;
        case 1: redisAppendCommand(c, "SADD big:s %b", b, (size_t)bn); break;
        default: redisAppendCommand(c, "RPUSH big:l %d", i); break;
        }
    }
    redisAppendCommand(c, "EXEC");
    st_flush(c, __FILE__, __LINE__);
    redisReply *r = st_get_reply(c, __FILE__, __LINE__);
    st_check_reply_status(r, __FILE__, __LINE__, "OK", "MULTI");
    freeReplyObject(r);
    for (int i = 0; i < BIG_N; i++) {
        r = st_get_reply(c, __FILE__, __LINE__);
        if (!is_status(r, "QUEUED")) {
            char *g = st_reply_repr(r);
            ST_FAIL("queued command %d: got %s, want QUEUED", i, g);
        }
        freeReplyObject(r);
    }
    r = st_get_reply(c, __FILE__, __LINE__);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != BIG_N) {
        char *g = st_reply_repr(r);
        ST_FAIL("EXEC of %d commands: got %.300s", BIG_N, g);
    }
    long long llen = 0;
    for (int i = 0; i < BIG_N; i++) {
        long long want = i % 3 == 2 ? ++llen : 1;
        char what[48];
        snprintf(what, sizeof what, "EXEC element %d", i);
        st_check_reply_int(r->element[i], __FILE__, __LINE__, want, what);
    }
    freeReplyObject(r);
    int nh = (BIG_N + 2) / 3, ns = (BIG_N + 1) / 3, nl = BIG_N / 3;
    EXPECT_INT(c, nh, "HLEN big:h");
    EXPECT_INT(c, ns, "SCARD big:s");
    EXPECT_INT(c, nl, "LLEN big:l");
    EXPECT_INT(c, 3, "DBSIZE");
    /* every element, pipelined: HGET of each field, SISMEMBER of each member, the list in order */
    for (int i = 0; i < BIG_N; i++) {
        char a[32], b[32];
        int an = snprintf(a, sizeof a, "f%d", i), bn = snprintf(b, sizeof b, "v%d", i);
        a[0] = '\0';
        b[bn++] = (char)0xff; /* binary: ends with 0xff */
        if (i % 3 == 0) redisAppendCommand(c, "HGET big:h %b", a, (size_t)an);
        else if (i % 3 == 1) redisAppendCommand(c, "SISMEMBER big:s %b", b, (size_t)bn);
    }
    for (int i = 0; i < BIG_N; i++) {
        if (i % 3 == 2) continue;
        char b[32];
        int bn = snprintf(b, sizeof b, "v%d", i);
        b[bn++] = (char)0xff; /* binary: ends with 0xff */
        r = st_get_reply(c, __FILE__, __LINE__);
        char what[48];
        snprintf(what, sizeof what, "%s of element %d", i % 3 ? "SISMEMBER" : "HGET", i);
        if (i % 3 == 0) st_check_reply_bulk(r, __FILE__, __LINE__, b, (size_t)bn, what);
        else st_check_reply_int(r, __FILE__, __LINE__, 1, what);
        freeReplyObject(r);
    }
    r = CMD(c, "LRANGE big:l 0 -1");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)nl) ST_FAIL("LRANGE big:l: not %d items", nl);
    for (int j = 0; j < nl; j++) {
        char want[16];
        snprintf(want, sizeof want, "%d", 3 * j + 2);
        st_check_reply_bulk(r->element[j], __FILE__, __LINE__, want, strlen(want), "LRANGE big:l item");
    }
    freeReplyObject(r);
}

/* ---- 7. persistence ------------------------------------------------------------------------------------ */

static int setup_persist(void **state) {
    (void)state;
    return st_it_group_setup(&psrv, "it-multi-aof", ST_IT_ARGS("--appendfsync", "always"));
}
static int teardown_persist(void **state) {
    (void)state;
    return st_it_group_teardown(&psrv);
}

/* Committed transactions under --appendfsync always survive kill -9 whole (every key, both databases
 * a transaction wrote, a 500-field one too); discarded, EXECABORTed and WATCH-aborted ones leave
 * nothing. */
static void test_committed_exec_survives_kill9(void **state) {
    (void)state;
    redisContext *c = ST_CONNECT(&psrv);
    redisContext *b = ST_CONNECT(&psrv);
    static const char bin[] = "b\0i\r\nn\xff";
    EXPECT_OK(c, "SET old x");
    EXPECT_INT(c, 2, "HSET oh a 1 b 2");
    EXPECT_INT(c, 2, "RPUSH ol p q");
    MULTI(c);
    QUEUE(c, "SET s1 v1");
    QUEUE(c, "HSET h f1 v1 f2 v2");
    QUEUE(c, "SADD set a b c");
    QUEUE(c, "RPUSH l x y z");
    QUEUE(c, "INCR n");
    QUEUE(c, "INCR n");
    QUEUE(c, "DEL old");
    QUEUE(c, "DEL oh");
    QUEUE(c, "HSET oh c 3");
    QUEUE(c, "LPUSH ol o");
    QUEUE(c, "SET %b %b", bin, sizeof bin - 1, bin, sizeof bin - 1);
    QUEUE(c, "SET ttl v PX 600000");
    QUEUE(c, "SELECT 2");
    QUEUE(c, "SET indb2 two");
    QUEUE(c, "SELECT 0");
    redisReply *e = EXEC_N(c, 15);
    for (size_t i = 0; i < e->elements; i++)
        if (e->element[i]->type == REDIS_REPLY_ERROR) ST_FAIL("EXEC element %zu: %s", i, e->element[i]->str);
    freeReplyObject(e);
    /* a big one */
    redisAppendCommand(c, "MULTI");
    for (int i = 0; i < 500; i++) redisAppendCommand(c, "HSET bigh f%d v%d", i, i);
    redisAppendCommand(c, "EXEC");
    st_flush(c, __FILE__, __LINE__);
    for (int i = 0; i < 501; i++) freeReplyObject(st_get_reply(c, __FILE__, __LINE__));
    redisReply *r = st_get_reply(c, __FILE__, __LINE__);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 500) ST_FAIL("EXEC of 500 HSETs: not 500 replies");
    freeReplyObject(r);
    /* transactions that must leave nothing */
    MULTI(c);
    QUEUE(c, "SET discarded 1");
    QUEUE(c, "DEL s1");
    EXPECT_OK(c, "DISCARD");
    MULTI(c);
    QUEUE(c, "SET execabort 1");
    QUEUE(c, "DEL s1");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_ERR(c, EXECABORT, "EXEC");
    EXPECT_OK(c, "WATCH n");
    EXPECT_INT(b, 3, "INCR n");
    MULTI(c);
    QUEUE(c, "SET watchaborted 1");
    QUEUE(c, "DEL s1");
    EXPECT_EXEC_NULL(c);
    redisFree(b);
    redisFree(c);

    if (st_server_kill9(&psrv) != 0) ST_FAIL("kill -9: the server was not running");
    if (st_server_restart(&psrv) != 0) ST_FAIL("restart after kill -9 failed");
    c = ST_CONNECT(&psrv);
    EXPECT_BULK(c, "v1", "GET s1");
    EXPECT_UNORDERED(c, 2, 2, L("f1", "v1", "f2", "v2"), "HGETALL h");
    EXPECT_UNORDERED(c, 1, 3, L("a", "b", "c"), "SMEMBERS set");
    EXPECT_STRS(c, 3, L("x", "y", "z"), "LRANGE l 0 -1");
    EXPECT_BULK(c, "3", "GET n");
    EXPECT_INT(c, 0, "EXISTS old");
    EXPECT_UNORDERED(c, 2, 1, L("c", "3"), "HGETALL oh");
    EXPECT_STRS(c, 3, L("o", "p", "q"), "LRANGE ol 0 -1");
    EXPECT_BULKB(c, bin, sizeof bin - 1, "GET %b", bin, sizeof bin - 1);
    EXPECT_BULK(c, "v", "GET ttl");
    EXPECT_INT_RANGE(c, 1, 600000, "PTTL ttl");
    EXPECT_INT(c, 500, "HLEN bigh");
    EXPECT_BULK(c, "v0", "HGET bigh f0");
    EXPECT_BULK(c, "v499", "HGET bigh f499");
    EXPECT_INT(c, 0, "EXISTS discarded execabort watchaborted");
    EXPECT_INT(c, 10, "DBSIZE");
    EXPECT_OK(c, "SELECT 2");
    EXPECT_BULK(c, "two", "GET indb2");
    EXPECT_INT(c, 1, "DBSIZE");
    redisFree(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exec_basics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_runtime_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_see_own_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queued_invisible_and_discard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_outside_multi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_wrong_arity_discards_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_multi_and_watch_inside_multi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execabort_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execabort_wrong_arity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_change_by_other_client_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_unchanged_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_and_discard_clear_watches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_missing_key_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_own_change_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_several_keys_one_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_flush_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_flush_of_missing_key_does_not_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_which_writes_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_inside_multi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_watch_increments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_all_or_nothing_for_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_pipelined_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_committed_exec_survives_kill9, setup_persist, teardown_persist),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
