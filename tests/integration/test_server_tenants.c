/* test_server_tenants.c -- tenants of strata-server (net/tenant.h, TENANT, AUTH <tenant> <password>)
 * through real clients:
 *  - isolation: the same key names in two tenants and the administrator's space hold different
 *    values for strings, hashes, lists, sets and zsets; KEYS, SCAN (and its cursors), DBSIZE,
 *    RANDOMKEY, EXISTS, RENAME, FLUSHDB and INFO keyspace see only the caller's data; SELECT'ed
 *    databases stay per tenant; MULTI/EXEC; a WATCH is not disturbed by another tenant's write to
 *    the same key name; a BLPOP is not served by another tenant's push;
 *  - the administrator's commands answer -NOPERM (Redis 7's text) to a tenant, in MULTI too;
 *  - quotas: max_keys and max_bytes refuse the writes that may grow the data, deletes still work,
 *    writes work again after deletes, QUOTA changes apply at runtime;
 *  - TENANT DEL drops the data and closes the tenant's connections; the name comes back empty;
 *  - persistence across restarts, config-file tenants ([[tenant]]) meeting runtime changes;
 *  - AUTH <user> <pass> (as redis-cli sends it), HELLO 3 AUTH, failed attempts in INFO stats.
 * One server (with requirepass) for the group; every test starts with no tenants but "alpha" and
 * "beta" and an empty store. Tests that restart a server get their own. Nothing waits on the clock
 * except bounded polls: "blocked", and the rescan that lets a tenant write after deletes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

#define ADMIN_PW "admin-pw"
#define WAIT_MS 5000 /* the longest any poll waits */
#define QUOTA_ERR "ERR tenant quota exceeded"
#define KEYS_ERR "ERR tenant quota exceeded (max_keys): delete data or ask the administrator to raise it"
#define BYTES_ERR "ERR tenant quota exceeded (max_bytes): delete data or ask the administrator to raise it"
#define WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."

static st_server srv;

static int group_setup(void **state) {
    (void)state;
    if (st_server_is_redis()) return 0; /* TENANT is Strata's: every test skips */
    return st_it_group_setup(&srv, "it-tenants", ST_IT_ARGS("--requirepass", ADMIN_PW));
}
static int group_teardown(void **state) {
    (void)state;
    return st_server_is_redis() ? 0 : st_it_group_teardown(&srv);
}

/* ---- fixture: an administrator and one connection per tenant; whatever a test opens on top is
 * registered here so the teardown closes it, even after a failure ------------------------------------- */

#define MAX_EXTRA 8
typedef struct tfx {
    redisContext *adm, *a, *b; /* administrator, "alpha", "beta" */
    redisContext *extra[MAX_EXTRA];
    int n_extra;
    st_raw raw[MAX_EXTRA];
    int n_raw;
} tfx;

/* Setup-time command: true if it answered anything but an error. */
static bool setup_cmd(redisContext *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok) fprintf(stderr, "setup: `%s`: %s\n", fmt, r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return ok;
}

static redisContext *setup_login(const char *user, const char *pw) {
    redisContext *c = st_connect(&srv);
    if (c && !(user ? setup_cmd(c, "AUTH %s %s", user, pw) : setup_cmd(c, "AUTH %s", pw))) {
        redisFree(c);
        c = NULL;
    }
    return c;
}

/* No tenants but alpha and beta, no data anywhere. */
static bool reset_server(redisContext *adm) {
    redisReply *r = redisCommand(adm, "TENANT LIST");
    bool ok = r && r->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; ok && i < r->elements; i++) ok = setup_cmd(adm, "TENANT DEL %s", r->element[i]->str);
    if (r) freeReplyObject(r);
    return ok && setup_cmd(adm, "FLUSHALL") && setup_cmd(adm, "TENANT ADD alpha pwa") &&
           setup_cmd(adm, "TENANT ADD beta pwb");
}

static int teardown(void **state);

static int setup(void **state) {
    *state = NULL;
    if (st_server_is_redis()) return 0;
    tfx *t = calloc(1, sizeof *t);
    if (!t) return -1;
    *state = t;
    t->adm = setup_login(NULL, ADMIN_PW);
    bool ok = t->adm && reset_server(t->adm);
    if (ok) ok = (t->a = setup_login("alpha", "pwa")) && (t->b = setup_login("beta", "pwb"));
    if (!ok) {
        teardown(state);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    tfx *t = *state;
    if (t) {
        for (int i = 0; i < t->n_raw; i++) st_raw_close(&t->raw[i]);
        for (int i = 0; i < t->n_extra; i++) redisFree(t->extra[i]);
        if (t->adm) redisFree(t->adm);
        if (t->a) redisFree(t->a);
        if (t->b) redisFree(t->b);
        free(t);
    }
    *state = NULL;
    return st_server_is_redis() || st_server_alive(&srv) ? 0 : -1;
}

#define SKIP_ON_REDIS()                     \
    do {                                    \
        if (st_server_is_redis()) skip();   \
    } while (0)

/* A new hiredis connection to s, AUTHed as user (NULL: the one-argument AUTH pw, or no AUTH when pw
 * is NULL too), owned by t. */
static redisContext *login(tfx *t, const st_server *s, const char *user, const char *pw, const char *file, int line) {
    if (t->n_extra == MAX_EXTRA) st_fail_at(file, line, "more than %d extra connections", MAX_EXTRA);
    redisContext *c = st_connect_or_fail(s, file, line);
    t->extra[t->n_extra++] = c;
    if (user) st_expect_status(c, file, line, "OK", "AUTH %s %s", user, pw);
    else if (pw) st_expect_status(c, file, line, "OK", "AUTH %s", pw);
    return c;
}
#define LOGIN(t, s, user, pw) login((t), (s), (user), (pw), __FILE__, __LINE__)

/* A raw connection owned by t, AUTHed as user unless user is NULL. */
static st_raw *raw_login(tfx *t, const st_server *s, const char *user, const char *pw, const char *file, int line) {
    if (t->n_raw == MAX_EXTRA) st_fail_at(file, line, "more than %d raw connections", MAX_EXTRA);
    st_raw *r = &t->raw[t->n_raw++];
    st_raw_open(s, r, file, line);
    if (user) {
        if (st_raw_cmd(r, "AUTH", user, pw, NULL)) st_fail_at(file, line, "AUTH: send failed");
        st_raw_expect(r, file, line, "+OK\r\n", 5);
    }
    return r;
}
#define RAW_LOGIN(t, s, user, pw) raw_login((t), (s), (user), (pw), __FILE__, __LINE__)

#define SEND(r, ...)                                                                            \
    do {                                                                                        \
        if (st_raw_cmd((r), __VA_ARGS__, (const char *)NULL)) ST_FAIL("send to " #r " failed"); \
    } while (0)

/* ---- helpers ---------------------------------------------------------------------------------------- */

/* The command's array reply, sorted, must be the n strings of want (sorted by the caller). */
static void expect_members(redisContext *c, const char *file, int line, size_t n, const char *const *want,
                           const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    const char **got = calloc(r->elements + 1, sizeof *got);
    for (size_t i = 0; ok && i < r->elements; i++) {
        ok = r->element[i]->type == REDIS_REPLY_STRING;
        got[i] = r->element[i]->str;
    }
    if (ok) qsort(got, n, sizeof *got, st_cmp_str);
    for (size_t i = 0; ok && i < n; i++) ok = !strcmp(got[i], want[i]);
    if (!ok) {
        char *g = st_reply_repr(r);
        st_fail_at(file, line, "`%s`\n    got:  %s\n    want: %zu members, sorted: %s%s", fmt, g, n, n ? want[0] : "",
                   n > 1 ? ", ..." : "");
        free(g);
    }
    free(got);
    freeReplyObject(r);
}
#define L(...) ((const char *const[]){__VA_ARGS__})
#define EXPECT_MEMBERS(c, n, want, ...) expect_members((c), __FILE__, __LINE__, (n), (want), __VA_ARGS__)

/* A full SCAN iteration (bounded): the keys must be want (sorted), each exactly once. */
static void expect_scan(redisContext *c, const char *file, int line, size_t n, const char *const *want) {
    char cursor[32] = "0";
    char **got = NULL;
    size_t ng = 0;
    int calls = 0;
    do {
        if (++calls > 1000) st_fail_at(file, line, "SCAN did not end within 1000 calls");
        redisReply *r = st_cmd(c, file, line, "SCAN %s COUNT 2", cursor);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            char *g = st_reply_repr(r);
            st_fail_at(file, line, "SCAN %s: malformed reply %s", cursor, g);
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            got = realloc(got, (ng + 1) * sizeof *got);
            got[ng++] = strdup(r->element[1]->element[i]->str);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    if (ng) qsort(got, ng, sizeof *got, st_cmp_str);
    bool ok = ng == n;
    for (size_t i = 0; ok && i < n; i++) ok = !strcmp(got[i], want[i]);
    if (!ok) st_fail_at(file, line, "SCAN returned %zu keys (first %s), want %zu (first %s)", ng, ng ? got[0] : "-", n,
                        n ? want[0] : "-");
    for (size_t i = 0; i < ng; i++) free(got[i]);
    free(got);
}
#define EXPECT_SCAN(c, n, want) expect_scan((c), __FILE__, __LINE__, (n), (want))

/* TENANT INFO name: an integer field, or the text of a string field. */
static redisReply *tenant_info(redisContext *adm, const char *file, int line, const char *name) {
    redisReply *r = st_cmd(adm, file, line, "TENANT INFO %s", name);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 18) {
        char *g = st_reply_repr(r);
        st_fail_at(file, line, "TENANT INFO %s: got %s, want a map of 9 fields", name, g);
    }
    return r;
}
static const redisReply *field(const redisReply *r, const char *name, const char *file, int line) {
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name)) return r->element[i + 1];
    st_fail_at(file, line, "TENANT INFO has no field '%s'", name);
    return NULL;
}
static long long info_int(redisContext *adm, const char *file, int line, const char *name, const char *fname) {
    redisReply *r = tenant_info(adm, file, line, name);
    const redisReply *v = field(r, fname, file, line);
    if (v->type != REDIS_REPLY_INTEGER) st_fail_at(file, line, "TENANT INFO %s: %s is not an integer", name, fname);
    long long n = v->integer;
    freeReplyObject(r);
    return n;
}
static void expect_info_str(redisContext *adm, const char *file, int line, const char *name, const char *fname,
                            const char *want) {
    redisReply *r = tenant_info(adm, file, line, name);
    const redisReply *v = field(r, fname, file, line);
    if (v->type != REDIS_REPLY_STRING || strcmp(v->str, want) != 0)
        st_fail_at(file, line, "TENANT INFO %s: %s is %s, want \"%s\"", name, fname,
                   v->type == REDIS_REPLY_STRING ? v->str : "(not a string)", want);
    freeReplyObject(r);
}
#define INFO_INT(adm, name, fname) info_int((adm), __FILE__, __LINE__, (name), (fname))
#define EXPECT_INFO_INT(adm, name, fname, want)                                                          \
    do {                                                                                                  \
        long long got_ = INFO_INT(adm, name, fname);                                                      \
        if (got_ != (long long)(want))                                                                    \
            ST_FAIL("TENANT INFO %s: %s is %lld, want %lld", (name), (fname), got_, (long long)(want));   \
    } while (0)
#define EXPECT_INFO_STR(adm, name, fname, want) expect_info_str((adm), __FILE__, __LINE__, (name), (fname), (want))

/* Polls INFO clients until at least n clients are blocked (WAIT_MS at most). */
static void wait_blocked(redisContext *adm, long long n, const char *file, int line) {
    int64_t end = st_now_ms() + WAIT_MS;
    for (;;) {
        long long got = st_info_field(adm, "clients", "blocked_clients");
        if (got >= n) return;
        if (st_now_ms() > end) st_fail_at(file, line, "blocked_clients is %lld after %d ms, want %lld", got, WAIT_MS, n);
        st_sleep_ms(5);
    }
}
#define WAIT_BLOCKED(adm, n) wait_blocked((adm), (n), __FILE__, __LINE__)

/* Retries a write the quota refuses until it is accepted (WAIT_MS at most): a tenant that deleted
 * data may write again once its usage is rescanned, at most TENANT_RESCAN_MS (1 s) later. */
static void expect_ok_after_rescan(redisContext *c, const char *file, int line, const char *cmd) {
    int64_t end = st_now_ms() + WAIT_MS;
    for (int tries = 1;; tries++) {
        redisReply *r = st_cmd(c, file, line, cmd);
        bool ok = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
        bool refused = r->type == REDIS_REPLY_ERROR && !strncmp(r->str, QUOTA_ERR, strlen(QUOTA_ERR));
        if (!ok && (!refused || st_now_ms() > end)) {
            char *g = st_reply_repr(r);
            st_fail_at(file, line, "`%s` after %d tries: %s, want OK", cmd, tries, g);
        }
        freeReplyObject(r);
        if (ok) return;
        st_sleep_ms(10);
    }
}
#define EXPECT_OK_AFTER_RESCAN(c, cmd) expect_ok_after_rescan((c), __FILE__, __LINE__, (cmd))

/* ---- isolation ------------------------------------------------------------------------------------- */

static void test_strings_are_isolated(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->adm, "SET k admin");
    EXPECT_OK(t->a, "SET k va");
    EXPECT_OK(t->b, "SET k vb");
    EXPECT_BULK(t->adm, "admin", "GET k");
    EXPECT_BULK(t->a, "va", "GET k");
    EXPECT_BULK(t->b, "vb", "GET k");

    EXPECT_INT(t->a, 1, "INCR n");
    EXPECT_INT(t->a, 2, "INCR n");
    EXPECT_INT(t->b, 1, "INCR n");
    EXPECT_NIL(t->adm, "GET n");
    EXPECT_INT(t->a, 3, "APPEND k x");
    EXPECT_BULK(t->b, "vb", "GET k");
    EXPECT_INT(t->b, 0, "SETNX k other"); /* b's own k exists */
    EXPECT_INT(t->b, 1, "SETNX only-b v");
    EXPECT_INT(t->a, 0, "EXISTS only-b");

    EXPECT_OK(t->a, "MSET m1 a1 m2 a2");
    EXPECT_STRS(t->b, 3, L(NULL, NULL, "vb"), "MGET m1 m2 k");
    EXPECT_STRS(t->a, 3, L("a1", "a2", "vax"), "MGET m1 m2 k");
    EXPECT_INT(t->a, 3, "EXISTS m1 m2 k only-b");
    EXPECT_INT(t->b, 2, "EXISTS m1 m2 k only-b");
    EXPECT_INT(t->adm, 1, "EXISTS m1 m2 k only-b");

    EXPECT_OK(t->a, "SET e v EX 100");
    EXPECT_INT(t->b, -2, "TTL e");
    EXPECT_INT_RANGE(t->a, 98, 100, "TTL e");
    EXPECT_INT(t->b, 0, "EXPIRE e 5"); /* b has no e to expire */
    EXPECT_INT_RANGE(t->a, 98, 100, "TTL e");

    /* RENAME moves within the caller's space only */
    EXPECT_OK(t->a, "RENAME m1 r1");
    EXPECT_ERR(t->b, "ERR no such key", "RENAME m1 r1");
    EXPECT_INT(t->b, 0, "EXISTS r1");
    EXPECT_INT(t->adm, 0, "EXISTS r1");
    EXPECT_OK(t->b, "SET r2 b");
    EXPECT_INT(t->a, 1, "RENAMENX m2 r2"); /* b's r2 is not a's */
    EXPECT_BULK(t->b, "b", "GET r2");
    EXPECT_BULK(t->a, "a2", "GET r2");

    /* one name, different types: no WRONGTYPE across tenants */
    EXPECT_OK(t->a, "SET typed s");
    EXPECT_INT(t->b, 1, "HSET typed f v");
    EXPECT_STATUS(t->a, "string", "TYPE typed");
    EXPECT_STATUS(t->b, "hash", "TYPE typed");
    EXPECT_STATUS(t->adm, "none", "TYPE typed");

    EXPECT_INT(t->a, 1, "DEL k");
    EXPECT_BULK(t->b, "vb", "GET k");
    EXPECT_BULK(t->adm, "admin", "GET k");
    EXPECT_BULK(t->b, "vb", "GETDEL k");
    EXPECT_BULK(t->adm, "admin", "GET k");
}

static void test_collections_are_isolated(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    redisContext *cs[3] = {t->adm, t->a, t->b};
    const char *tag[3] = {"adm", "a", "b"};
    for (int i = 0; i < 3; i++) {
        EXPECT_INT(cs[i], 2, "HSET h f %s-1 g %s-2", tag[i], tag[i]);
        EXPECT_INT(cs[i], 2, "RPUSH l %s-x %s-y", tag[i], tag[i]);
        EXPECT_INT(cs[i], 2, "SADD s %s-m common", tag[i]);
        EXPECT_INT(cs[i], 2, "ZADD z %d %s-z 10 common", i, tag[i]);
    }
    EXPECT_OK(t->b, "SET extra-b v");
    for (int i = 0; i < 3; i++) {
        char f[16], g[16], x[16], y[16], m[16], z[16], sc[8];
        snprintf(f, sizeof f, "%s-1", tag[i]);
        snprintf(g, sizeof g, "%s-2", tag[i]);
        snprintf(x, sizeof x, "%s-x", tag[i]);
        snprintf(y, sizeof y, "%s-y", tag[i]);
        snprintf(m, sizeof m, "%s-m", tag[i]);
        snprintf(z, sizeof z, "%s-z", tag[i]);
        snprintf(sc, sizeof sc, "%d", i);
        EXPECT_STRS(cs[i], 4, L("f", f, "g", g), "HGETALL h");
        EXPECT_INT(cs[i], 2, "HLEN h");
        EXPECT_STRS(cs[i], 2, L(x, y), "LRANGE l 0 -1");
        EXPECT_MEMBERS(cs[i], 2, L(m, "common"), "SMEMBERS s");
        EXPECT_STRS(cs[i], 4, L(z, sc, "common", "10"), "ZRANGE z 0 -1 WITHSCORES");
        EXPECT_INT(cs[i], 1, "SISMEMBER s %s", m);
        EXPECT_INT(cs[i], i == 2 ? 5 : 4, "DBSIZE");
    }
    /* writes and pops in one tenant leave the others' as they were */
    EXPECT_BULK(t->a, "a-x", "LPOP l");
    EXPECT_INT(t->a, 1, "HDEL h f");
    EXPECT_INT(t->a, 1, "SREM s common");
    EXPECT_INT(t->a, 1, "ZREM z common");
    EXPECT_INT(t->a, 1, "SUNIONSTORE u s"); /* from a's s only */
    EXPECT_MEMBERS(t->a, 1, L("a-m"), "SMEMBERS u");
    EXPECT_INT(t->a, 1, "ZUNIONSTORE zu 1 z");
    EXPECT_STRS(t->a, 2, L("a-z", "1"), "ZRANGE zu 0 -1 WITHSCORES");
    EXPECT_BULK(t->a, "a-y", "LMOVE l l2 LEFT RIGHT");
    EXPECT_INT(t->b, 0, "EXISTS u zu l2");
    EXPECT_INT(t->adm, 0, "EXISTS u zu l2");
    for (int i = 0; i < 3; i += 2) { /* adm and b untouched */
        EXPECT_INT(cs[i], 2, "HLEN h");
        EXPECT_INT(cs[i], 2, "LLEN l");
        EXPECT_INT(cs[i], 2, "SCARD s");
        EXPECT_INT(cs[i], 2, "ZCARD z");
        EXPECT_BULK(cs[i], "10", "ZSCORE z common");
    }
}

static void test_keyspace_commands_see_only_own_keys(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->a, "MSET a1 1 a2 2 a3 3 common x");
    EXPECT_OK(t->b, "MSET b1 1 common y");
    EXPECT_OK(t->adm, "SET adm1 1");
    redisContext *g = NULL;
    EXPECT_OK(t->adm, "TENANT ADD gamma pwg");
    g = LOGIN(t, &srv, "gamma", "pwg");

    EXPECT_MEMBERS(t->a, 4, L("a1", "a2", "a3", "common"), "KEYS *");
    EXPECT_MEMBERS(t->b, 2, L("b1", "common"), "KEYS *");
    EXPECT_MEMBERS(t->adm, 1, L("adm1"), "KEYS *");
    EXPECT_MEMBERS(g, 0, NULL, "KEYS *");
    EXPECT_MEMBERS(t->a, 3, L("a1", "a2", "a3"), "KEYS a*");
    EXPECT_SCAN(t->a, 4, L("a1", "a2", "a3", "common"));
    EXPECT_SCAN(t->b, 2, L("b1", "common"));
    EXPECT_SCAN(t->adm, 1, L("adm1"));
    EXPECT_SCAN(g, 0, NULL);
    EXPECT_INT(t->a, 4, "DBSIZE");
    EXPECT_INT(t->b, 2, "DBSIZE");
    EXPECT_INT(t->adm, 1, "DBSIZE");
    EXPECT_INT(g, 0, "DBSIZE");
    EXPECT_NIL(g, "RANDOMKEY");
    for (int i = 0; i < 20; i++) {
        redisReply *r = CMD(t->b, "RANDOMKEY");
        if (!st_reply_is_bulk(r, "b1") && !st_reply_is_bulk(r, "common")) {
            char *s = st_reply_repr(r);
            ST_FAIL("RANDOMKEY in beta gave %s, want b1 or common", s);
        }
        freeReplyObject(r);
    }
    redisReply *r = CMD(t->adm, "RANDOMKEY");
    st_check_reply_bulk(r, __FILE__, __LINE__, "adm1", 4, "RANDOMKEY (admin)");
    freeReplyObject(r);

    /* INFO keyspace counts the caller's keys */
    r = CMD(t->a, "INFO keyspace");
    if (r->type != REDIS_REPLY_STRING || !strstr(r->str, "db0:keys=4,")) ST_FAIL("alpha's INFO keyspace: %s", r->str);
    freeReplyObject(r);
    r = CMD(t->b, "INFO keyspace");
    if (r->type != REDIS_REPLY_STRING || !strstr(r->str, "db0:keys=2,")) ST_FAIL("beta's INFO keyspace: %s", r->str);
    freeReplyObject(r);
    r = CMD(g, "INFO keyspace");
    if (r->type != REDIS_REPLY_STRING || strstr(r->str, "db0:")) ST_FAIL("gamma's INFO keyspace: %s", r->str);
    freeReplyObject(r);

    /* a SCAN cursor is its tenant's: another one cannot resume it */
    r = CMD(t->a, "SCAN 0 COUNT 1");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !strcmp(r->element[0]->str, "0"))
        ST_FAIL("SCAN 0 COUNT 1 over 4 keys should leave a cursor");
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
    freeReplyObject(r);
    EXPECT_ERR(t->b, "ERR invalid cursor", "SCAN %s", cursor);
    EXPECT_ERR(t->adm, "ERR invalid cursor", "SCAN %s", cursor);
    r = CMD(t->a, "SCAN %s", cursor);
    if (r->type != REDIS_REPLY_ARRAY) ST_FAIL("alpha cannot resume its own cursor");
    freeReplyObject(r);

    /* FLUSHDB empties the caller's database only, for a tenant and for the administrator */
    EXPECT_OK(t->a, "FLUSHDB");
    EXPECT_INT(t->a, 0, "DBSIZE");
    EXPECT_INT(t->b, 2, "DBSIZE");
    EXPECT_INT(t->adm, 1, "DBSIZE");
    EXPECT_OK(t->adm, "FLUSHDB");
    EXPECT_INT(t->adm, 0, "DBSIZE");
    EXPECT_INT(t->b, 2, "DBSIZE");
    EXPECT_BULK(t->b, "y", "GET common");
}

static void test_select_keeps_databases_per_tenant(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->a, "SELECT 3");
    EXPECT_OK(t->a, "SET k a3");
    EXPECT_OK(t->b, "SELECT 3");
    EXPECT_NIL(t->b, "GET k");
    EXPECT_OK(t->b, "SET k b3");
    EXPECT_OK(t->adm, "SELECT 3");
    EXPECT_NIL(t->adm, "GET k");
    EXPECT_BULK(t->a, "a3", "GET k");
    EXPECT_INT(t->a, 1, "DBSIZE");
    EXPECT_MEMBERS(t->a, 1, L("k"), "KEYS *");
    redisReply *r = CMD(t->a, "INFO keyspace");
    if (r->type != REDIS_REPLY_STRING || !strstr(r->str, "db3:keys=1,") || strstr(r->str, "db0:"))
        ST_FAIL("alpha's INFO keyspace: %s", r->str);
    freeReplyObject(r);

    EXPECT_OK(t->a, "SELECT 0");
    EXPECT_NIL(t->a, "GET k");
    EXPECT_OK(t->a, "SET k a0");
    EXPECT_OK(t->a, "SELECT 3");
    EXPECT_OK(t->a, "FLUSHDB"); /* alpha's db 3 only */
    EXPECT_NIL(t->a, "GET k");
    EXPECT_BULK(t->b, "b3", "GET k");
    EXPECT_OK(t->a, "SELECT 0");
    EXPECT_BULK(t->a, "a0", "GET k");
    EXPECT_OK(t->adm, "SELECT 0");
    EXPECT_INT(t->adm, 0, "DBSIZE");
}

static void test_multi_exec_is_isolated(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->b, "SET k vb");
    EXPECT_OK(t->a, "MULTI");
    EXPECT_STATUS(t->a, "QUEUED", "SET k ma");
    EXPECT_STATUS(t->a, "QUEUED", "INCR c");
    EXPECT_STATUS(t->a, "QUEUED", "GET k");
    EXPECT_OK(t->b, "SET k vb2"); /* beta runs while alpha's transaction is open */
    redisReply *r = CMD(t->a, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !st_reply_is_bulk(r->element[2], "ma") ||
        r->element[1]->type != REDIS_REPLY_INTEGER || r->element[1]->integer != 1) {
        char *s = st_reply_repr(r);
        ST_FAIL("EXEC: %s, want [OK, 1, \"ma\"]", s);
    }
    freeReplyObject(r);
    EXPECT_BULK(t->b, "vb2", "GET k");
    EXPECT_NIL(t->b, "GET c");
    EXPECT_NIL(t->adm, "GET k");

    EXPECT_OK(t->b, "MULTI");
    EXPECT_STATUS(t->b, "QUEUED", "GET k");
    EXPECT_STATUS(t->b, "QUEUED", "DBSIZE");
    r = CMD(t->b, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !st_reply_is_bulk(r->element[0], "vb2") ||
        r->element[1]->integer != 1) {
        char *s = st_reply_repr(r);
        ST_FAIL("EXEC: %s, want [\"vb2\", 1]", s);
    }
    freeReplyObject(r);
}

/* WATCH k, then someone writes k; the transaction must run (want_ok) or be aborted (nil). */
static void expect_exec_after_watch(redisContext *c, const char *file, int line, bool want_ok) {
    st_expect_status(c, file, line, "OK", "MULTI");
    st_expect_status(c, file, line, "QUEUED", "SET k mine");
    redisReply *r = st_cmd(c, file, line, "EXEC");
    bool ok = want_ok ? r->type == REDIS_REPLY_ARRAY && r->elements == 1 : r->type == REDIS_REPLY_NIL;
    if (!ok) {
        char *s = st_reply_repr(r);
        st_fail_at(file, line, "EXEC: %s, want %s", s, want_ok ? "[OK]" : "(nil): the WATCH was touched");
    }
    freeReplyObject(r);
}

static void test_watch_is_not_touched_by_other_tenants(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    redisContext *a2 = LOGIN(t, &srv, "alpha", "pwa");
    EXPECT_OK(t->a, "SET k start");
    EXPECT_OK(t->a, "WATCH k");
    EXPECT_OK(t->b, "SET k beta");
    EXPECT_OK(t->adm, "SET k admin");
    EXPECT_INT(t->b, 1, "DEL k");
    EXPECT_OK(t->b, "FLUSHDB");
    expect_exec_after_watch(t->a, __FILE__, __LINE__, true);
    EXPECT_BULK(t->a, "mine", "GET k");

    /* the control: the same tenant's write does abort it */
    EXPECT_OK(t->a, "WATCH k");
    EXPECT_OK(a2, "SET k other");
    expect_exec_after_watch(t->a, __FILE__, __LINE__, false);
    EXPECT_BULK(t->a, "other", "GET k");

    /* and so does the administrator's FLUSHALL, which empties every tenant */
    EXPECT_OK(t->a, "WATCH k");
    EXPECT_OK(t->adm, "FLUSHALL");
    expect_exec_after_watch(t->a, __FILE__, __LINE__, false);
    EXPECT_NIL(t->a, "GET k");
}

static void test_blpop_is_served_by_its_own_tenant_only(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    long long blocked0 = st_info_field(t->adm, "clients", "blocked_clients");
    st_raw *r = RAW_LOGIN(t, &srv, "alpha", "pwa");
    SEND(r, "BLPOP", "q", "0");
    WAIT_BLOCKED(t->adm, blocked0 + 1);
    EXPECT_INT(t->b, 1, "RPUSH q vb");
    EXPECT_INT(t->adm, 1, "RPUSH q vadm");
    if (st_raw_pending(r, 0)) ST_FAIL("alpha's BLPOP answered after pushes by beta and the administrator");
    EXPECT_INT(t->a, 1, "RPUSH q va");
    RAW_EXPECT(r, "*2\r\n$1\r\nq\r\n$2\r\nva\r\n");
    EXPECT_STRS(t->b, 1, L("vb"), "LRANGE q 0 -1");
    EXPECT_STRS(t->adm, 1, L("vadm"), "LRANGE q 0 -1");
    EXPECT_INT(t->a, 0, "LLEN q");

    /* the other way round: beta blocked, alpha pushes then beta */
    st_raw *rb = RAW_LOGIN(t, &srv, "beta", "pwb");
    EXPECT_INT(t->b, 1, "DEL q");
    SEND(rb, "BLPOP", "q", "0");
    WAIT_BLOCKED(t->adm, blocked0 + 1);
    EXPECT_INT(t->a, 1, "RPUSH q a-again");
    if (st_raw_pending(rb, 0)) ST_FAIL("beta's BLPOP answered after a push by alpha");
    EXPECT_INT(t->b, 1, "RPUSH q b-again");
    RAW_EXPECT(rb, "*2\r\n$1\r\nq\r\n$7\r\nb-again\r\n");
    EXPECT_STRS(t->a, 1, L("a-again"), "LRANGE q 0 -1");
}

/* ---- the administrator's commands ---------------------------------------------------------------------- */

static void test_admin_commands_are_noperm_for_tenants(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->a, "SET k v");
    static const struct {
        const char *cmd, *name;
    } plain[] = {
        {"FLUSHALL", "flushall"},       {"FLUSHALL ASYNC", "flushall"}, {"SHUTDOWN", "shutdown"},
        {"SHUTDOWN NOSAVE", "shutdown"}, {"SAVE", "save"},              {"BGSAVE", "bgsave"},
        {"COMPACT", "compact"},          {"TENANT LIST", "tenant|list"}, {"TENANT DEL beta", "tenant|del"},
        {"TENANT ADD x y", "tenant|add"}, {"TENANT INFO alpha", "tenant|info"},
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        char want[160];
        snprintf(want, sizeof want, "NOPERM User alpha has no permissions to run the '%s' command", plain[i].name);
        EXPECT_ERR(t->a, want, plain[i].cmd);
    }
    /* container commands: Redis 7 names the subcommand ('config|get') */
    EXPECT_ERR_PREFIX(t->a, "NOPERM User alpha has no permissions to run the 'config|get' command", "CONFIG GET maxclients");
    EXPECT_ERR_PREFIX(t->a, "NOPERM User alpha has no permissions to run the 'config|set' command", "CONFIG SET maxclients 10");
    EXPECT_ERR_PREFIX(t->b, "NOPERM User beta has no permissions to run the 'slowlog|get' command", "SLOWLOG GET");
    EXPECT_ERR_PREFIX(t->b, "NOPERM User beta has no permissions to run the 'slowlog|reset' command", "SLOWLOG RESET");

    /* none of them did anything */
    if (!st_server_alive(&srv)) ST_FAIL("a tenant's SHUTDOWN stopped the server");
    EXPECT_BULK(t->a, "v", "GET k");
    EXPECT_MEMBERS(t->adm, 2, L("alpha", "beta"), "TENANT LIST");
    redisReply *r = CMD(t->adm, "CONFIG GET maxclients");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !strcmp(r->element[1]->str, "10"))
        ST_FAIL("CONFIG GET maxclients (admin): the tenant's CONFIG SET must not have applied");
    freeReplyObject(r);

    /* in a transaction: refused when queued, and EXEC discards the transaction, as in Redis 7 */
    EXPECT_OK(t->a, "MULTI");
    EXPECT_STATUS(t->a, "QUEUED", "SET k changed");
    EXPECT_ERR(t->a, "NOPERM User alpha has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT_ERR(t->a, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT_BULK(t->a, "v", "GET k");

    /* the rest of the server commands are a tenant's too */
    EXPECT_STATUS(t->a, "PONG", "PING");
    r = CMD(t->a, "INFO server");
    if (r->type != REDIS_REPLY_STRING) ST_FAIL("INFO as a tenant");
    freeReplyObject(r);
    r = CMD(t->a, "TIME");
    if (r->type != REDIS_REPLY_ARRAY) ST_FAIL("TIME as a tenant");
    freeReplyObject(r);
}

static void test_tenant_command_replies_and_errors(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_ERR(t->adm, "ERR tenant 'alpha' already exists", "TENANT ADD alpha other");
    EXPECT_ERR(t->adm, "ERR no such tenant 'nope'", "TENANT DEL nope");
    EXPECT_ERR(t->adm, "ERR no such tenant 'nope'", "TENANT PASSWD nope x");
    EXPECT_ERR(t->adm, "ERR no such tenant 'nope'", "TENANT QUOTA nope MAXKEYS 1");
    EXPECT_ERR(t->adm, "ERR no such tenant 'nope'", "TENANT INFO nope");
    EXPECT_ERR_PREFIX(t->adm, "ERR invalid tenant name or password", "TENANT ADD default pw");
    EXPECT_ERR_PREFIX(t->adm, "ERR invalid tenant name or password", "TENANT ADD %s pw", "a:b");
    EXPECT_ERR_PREFIX(t->adm, "ERR invalid tenant name or password", "TENANT ADD %s pw", "a b");
    EXPECT_ERR_PREFIX(t->adm, "ERR invalid tenant name or password", "TENANT ADD nopw %s", "");
    EXPECT_ERR_PREFIX(t->adm, "ERR invalid tenant name or password", "TENANT PASSWD alpha %s", "");
    EXPECT_ERR_PREFIX(t->adm, "ERR MAXBYTES must be a size", "TENANT ADD q pw MAXBYTES lots");
    EXPECT_ERR(t->adm, "ERR MAXKEYS must not be negative", "TENANT ADD q pw MAXKEYS -1");
    EXPECT_ERR(t->adm, "ERR value is not an integer or out of range", "TENANT ADD q pw MAXKEYS many");
    EXPECT_ERR(t->adm, "ERR syntax error", "TENANT ADD q pw MAXKEYS");
    EXPECT_ERR(t->adm, "ERR syntax error", "TENANT ADD q pw COLOR blue");
    EXPECT_ERR_PREFIX(t->adm, "ERR unknown subcommand or wrong number of arguments for 'FROB'", "TENANT FROB");
    EXPECT_ERR_PREFIX(t->adm, "ERR unknown subcommand or wrong number of arguments for 'DEL'", "TENANT DEL");
    EXPECT_ERR(t->adm, "ERR wrong number of arguments for 'tenant' command", "TENANT");
    EXPECT_MEMBERS(t->adm, 2, L("alpha", "beta"), "TENANT LIST"); /* none of those added one */

    redisReply *r = CMD(t->adm, "TENANT HELP");
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 6 || r->element[0]->type != REDIS_REPLY_STATUS)
        ST_FAIL("TENANT HELP: want an array of status lines");
    freeReplyObject(r);

    /* LIST is sorted; INFO has every field; sizes take units */
    EXPECT_OK(t->adm, "TENANT ADD aardvark pw MAXBYTES 1kb MAXKEYS 7");
    EXPECT_STRS(t->adm, 3, L("aardvark", "alpha", "beta"), "TENANT LIST");
    r = tenant_info(t->adm, __FILE__, __LINE__, "aardvark");
    static const char *const fields[] = {"name", "id", "keys", "bytes", "ops", "max_keys", "max_bytes",
                                         "quota_refusals", "source"};
    for (size_t i = 0; i < 9; i++) {
        if (!st_reply_is_bulk(r->element[2 * i], fields[i])) {
            char *s = st_reply_repr(r);
            ST_FAIL("TENANT INFO: field %zu is not '%s': %s", i, fields[i], s);
        }
    }
    freeReplyObject(r);
    EXPECT_INFO_STR(t->adm, "aardvark", "name", "aardvark");
    EXPECT_INFO_INT(t->adm, "aardvark", "max_bytes", 1024);
    EXPECT_INFO_INT(t->adm, "aardvark", "max_keys", 7);
    EXPECT_INFO_INT(t->adm, "aardvark", "keys", 0);
    EXPECT_INFO_INT(t->adm, "aardvark", "ops", 0);
    EXPECT_INFO_STR(t->adm, "aardvark", "source", "runtime");
    long long alpha_id = INFO_INT(t->adm, "alpha", "id"), beta_id = INFO_INT(t->adm, "beta", "id");
    if (!(alpha_id > 0 && beta_id > alpha_id && INFO_INT(t->adm, "aardvark", "id") > beta_id))
        ST_FAIL("ids must grow with every TENANT ADD");

    /* ops count the tenant's commands; keys and bytes its data */
    redisContext *aa = LOGIN(t, &srv, "aardvark", "pw");
    EXPECT_OK(aa, "SET key value");
    EXPECT_BULK(aa, "value", "GET key");
    EXPECT_INFO_INT(t->adm, "aardvark", "ops", 2);
    EXPECT_INFO_INT(t->adm, "aardvark", "keys", 1);
    long long bytes = INFO_INT(t->adm, "aardvark", "bytes");
    if (bytes < 8 || bytes > 64) ST_FAIL("aardvark uses %lld bytes for one 3-byte key and 5-byte value", bytes);

    /* PASSWD and QUOTA */
    EXPECT_OK(t->adm, "TENANT PASSWD aardvark pw2");
    EXPECT_ERR(t->adm, WRONGPASS, "AUTH aardvark pw");
    EXPECT_OK(t->adm, "TENANT QUOTA aardvark MAXKEYS 0");
    EXPECT_INFO_INT(t->adm, "aardvark", "max_keys", 0);
    EXPECT_INFO_INT(t->adm, "aardvark", "max_bytes", 1024);
    EXPECT_OK(t->adm, "TENANT QUOTA aardvark");
    EXPECT_INFO_INT(t->adm, "aardvark", "max_bytes", 1024);
    EXPECT_OK(t->adm, "TENANT QUOTA aardvark maxbytes 2mb maxkeys 5");
    EXPECT_INFO_INT(t->adm, "aardvark", "max_bytes", 2 << 20);
    EXPECT_INFO_INT(t->adm, "aardvark", "max_keys", 5);
    EXPECT_BULK(aa, "value", "GET key"); /* a password change does not end open connections */
}

/* ---- quotas ------------------------------------------------------------------------------------------ */

static void test_key_quota_refuses_growth_allows_deletes(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->adm, "TENANT ADD qk pw MAXKEYS 3");
    redisContext *q = LOGIN(t, &srv, "qk", "pw");
    EXPECT_OK(q, "SET a 1");
    EXPECT_OK(q, "SET b 2");
    EXPECT_OK(q, "SET c 3");
    EXPECT_ERR(q, KEYS_ERR, "SET d 4");
    /* at the quota every command that may grow the data is refused, overwrites included */
    static const char *const grow[] = {
        "SET a 9",      "SETNX n v",        "SETEX e 10 v",    "MSET x 1 y 2", "INCR a",
        "INCRBY a 2",   "APPEND a x",       "GETSET a 5",      "HSET h f v",   "HINCRBY h f 1",
        "LPUSH l v",    "RPUSH l v",        "SADD s m",        "ZADD z 1 m",   "ZINCRBY z 1 m",
        "SETRANGE a 0 x", "SUNIONSTORE d a", "INCRBYFLOAT a 1.5",
    };
    for (size_t i = 0; i < sizeof grow / sizeof *grow; i++) EXPECT_ERR(q, KEYS_ERR, grow[i]);
    EXPECT_INFO_INT(t->adm, "qk", "quota_refusals", 1 + sizeof grow / sizeof *grow);
    /* reads and expiry changes still work */
    EXPECT_BULK(q, "1", "GET a");
    EXPECT_INT(q, 3, "DBSIZE");
    EXPECT_INT(q, 1, "EXPIRE a 100");
    EXPECT_INT(q, 1, "PERSIST a");
    /* the quota is checked when a transaction queues: EXEC then discards it, as for any error */
    EXPECT_OK(q, "MULTI");
    EXPECT_STATUS(q, "QUEUED", "GET a");
    EXPECT_ERR(q, KEYS_ERR, "SET d 4");
    EXPECT_STATUS(q, "QUEUED", "DEL a");
    EXPECT_ERR(q, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT_INT(q, 3, "EXISTS a b c");

    /* deletes work; after them, writes work again: at once once the administrator looked (TENANT
     * INFO scans), and on their own after the next rescan */
    EXPECT_INT(q, 1, "DEL c");
    EXPECT_INT(q, 2, "EXISTS a b c");
    EXPECT_INFO_INT(t->adm, "qk", "keys", 2);
    EXPECT_OK(q, "SET c 3");
    EXPECT_ERR(q, KEYS_ERR, "SET d 4");
    EXPECT_INT(q, 2, "DEL b c");
    EXPECT_OK_AFTER_RESCAN(q, "SET b 2");
    EXPECT_OK_AFTER_RESCAN(q, "SET c 3");
    EXPECT_ERR(q, KEYS_ERR, "SET d 4");
    /* other tenants are not affected */
    EXPECT_OK(t->a, "MSET a 1 b 2 c 3 d 4 e 5");
}

static void test_key_quota_with_collections(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    /* the data first, then the quota (TENANT INFO gives the registry exact usage) */
    EXPECT_OK(t->adm, "TENANT ADD qc pw");
    redisContext *q = LOGIN(t, &srv, "qc", "pw");
    EXPECT_INT(q, 2, "HSET h f1 v f2 v");
    EXPECT_INT(q, 3, "RPUSH l x y z");
    EXPECT_INT(q, 3, "SADD s m1 m2 m3");
    EXPECT_INT(q, 3, "ZADD z 1 m1 2 m2 3 m3");
    EXPECT_OK(q, "SET str v");
    EXPECT_OK(t->adm, "TENANT QUOTA qc MAXKEYS 5");
    EXPECT_INFO_INT(t->adm, "qc", "keys", 5);
    EXPECT_ERR(q, KEYS_ERR, "HSET h f3 v");
    EXPECT_ERR(q, KEYS_ERR, "LPUSH l w");
    EXPECT_ERR(q, KEYS_ERR, "SADD s m4");
    EXPECT_ERR(q, KEYS_ERR, "ZADD z 4 m4");
    EXPECT_ERR(q, KEYS_ERR, "LMOVE l l2 LEFT RIGHT");
    /* every kind of delete is allowed */
    EXPECT_INT(q, 1, "HDEL h f1");
    EXPECT_BULK(q, "x", "LPOP l");
    EXPECT_BULK(q, "z", "RPOP l");
    EXPECT_OK(q, "LTRIM l 0 0");
    EXPECT_INT(q, 1, "LREM l 0 y"); /* the list is gone */
    EXPECT_INT(q, 1, "SREM s m1");
    EXPECT_INT(q, 1, "ZREM z m1");
    EXPECT_INT(q, 1, "ZREMRANGEBYSCORE z 2 2");
    redisReply *r = CMD(q, "ZPOPMIN z");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) ST_FAIL("ZPOPMIN at the quota");
    freeReplyObject(r);
    EXPECT_INT(q, 1, "EXPIRE str 100");
    EXPECT_INT(q, 1, "UNLINK str");
    EXPECT_INT(q, 2, "DBSIZE"); /* h and s */
    EXPECT_INFO_INT(t->adm, "qc", "keys", 2);
    EXPECT_INT(q, 1, "HSET h f3 v");
    EXPECT_INT(q, 1, "SADD s m4");
}

static void test_byte_quota(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->adm, "TENANT ADD qb pw MAXBYTES 1000");
    redisContext *q = LOGIN(t, &srv, "qb", "pw");
    char big[1501];
    memset(big, 'x', 1500);
    big[1500] = 0;
    EXPECT_OK(q, "SET big %s", big); /* below the quota when it starts: allowed */
    EXPECT_ERR(q, BYTES_ERR, "SET small v");
    EXPECT_ERR(q, BYTES_ERR, "APPEND big more");
    EXPECT_ERR(q, BYTES_ERR, "HSET h f v");
    EXPECT_INT(q, 1500, "STRLEN big");
    long long used = INFO_INT(t->adm, "qb", "bytes");
    if (used < 1500 || used > 1600) ST_FAIL("qb uses %lld bytes for a 1500-byte value", used);
    EXPECT_INT(q, 1, "DEL big");
    EXPECT_INFO_INT(t->adm, "qb", "bytes", 0);
    EXPECT_OK(q, "SET small v");
    /* raising the quota lets the tenant write again at once */
    EXPECT_OK(q, "SET big %s", big);
    EXPECT_ERR(q, BYTES_ERR, "SET small2 v");
    EXPECT_OK(t->adm, "TENANT QUOTA qb MAXBYTES 1mb");
    EXPECT_OK(q, "SET small2 v");
    EXPECT_INFO_INT(t->adm, "qb", "max_bytes", 1 << 20);
}

static void test_quota_changes_at_runtime(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->adm, "TENANT ADD qr pw MAXKEYS 2");
    redisContext *q = LOGIN(t, &srv, "qr", "pw");
    EXPECT_OK(q, "SET a 1");
    EXPECT_OK(q, "SET b 2");
    EXPECT_ERR(q, KEYS_ERR, "SET c 3");
    EXPECT_OK(t->adm, "TENANT QUOTA qr MAXKEYS 3"); /* raised: applies to the next command */
    EXPECT_OK(q, "SET c 3");
    EXPECT_ERR(q, KEYS_ERR, "SET d 4");
    EXPECT_OK(t->adm, "TENANT QUOTA qr MAXKEYS 0"); /* removed */
    EXPECT_INFO_INT(t->adm, "qr", "max_keys", 0);
    for (int i = 0; i < 10; i++) EXPECT_OK(q, "SET n%d v", i);
    EXPECT_INT(q, 13, "DBSIZE");

    /* a quota set below what the tenant already holds applies at once (no TENANT INFO between:
     * its scan would hide the bug below) */
    EXPECT_OK(t->adm, "TENANT QUOTA qr MAXKEYS 5");
    redisReply *r = CMD(q, "SET over v");
    if (r->type != REDIS_REPLY_ERROR || strcmp(r->str, KEYS_ERR) != 0) {
        char *s = st_reply_repr(r);
        ST_FAIL("SET over v: %s, want (error) %s", s, KEYS_ERR);
    }
    freeReplyObject(r);
}

/* ---- TENANT DEL ------------------------------------------------------------------------------------------ */

static void test_tenant_del_drops_data_and_closes_connections(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->a, "SET k va");
    EXPECT_INT(t->a, 1, "HSET h f v");
    EXPECT_OK(t->a, "SELECT 3");
    EXPECT_OK(t->a, "SET k3 v3");
    EXPECT_OK(t->b, "SET k vb");
    EXPECT_OK(t->adm, "SET k vadm");
    long long old_id = INFO_INT(t->adm, "alpha", "id");
    st_raw *r = RAW_LOGIN(t, &srv, "alpha", "pwa");
    st_raw *idle = RAW_LOGIN(t, &srv, "alpha", "pwa");

    long long blocked0 = st_info_field(t->adm, "clients", "blocked_clients");
    SEND(r, "BLPOP", "never", "0");
    WAIT_BLOCKED(t->adm, blocked0 + 1);
    EXPECT_OK(t->adm, "TENANT DEL alpha");
    /* its connections are closed at once, a blocked one and an idle one alike, as Redis's ACL
     * DELUSER does */
    if (!st_raw_wait_eof(r, WAIT_MS, NULL, NULL)) ST_FAIL("the deleted tenant's blocked connection stayed open");
    if (!st_raw_wait_eof(idle, WAIT_MS, NULL, NULL)) ST_FAIL("the deleted tenant's idle connection stayed open");
    if (st_info_field(t->adm, "clients", "blocked_clients") != blocked0)
        ST_FAIL("blocked_clients did not fall back after the blocked client of a deleted tenant was closed");
    /* ... AUTH fails, the registry has forgotten it */
    EXPECT_ERR(t->adm, WRONGPASS, "AUTH alpha pwa");
    EXPECT_OK(t->adm, "AUTH %s", ADMIN_PW);
    EXPECT_ERR(t->adm, "ERR no such tenant 'alpha'", "TENANT INFO alpha");
    EXPECT_ERR(t->adm, "ERR no such tenant 'alpha'", "TENANT DEL alpha");
    EXPECT_MEMBERS(t->adm, 1, L("beta"), "TENANT LIST");
    /* ... and the others' data is where it was */
    EXPECT_BULK(t->b, "vb", "GET k");
    EXPECT_BULK(t->adm, "vadm", "GET k");

    /* the name again: a new, empty tenant with a new id, in every database */
    EXPECT_OK(t->adm, "TENANT ADD alpha pwa2");
    if (INFO_INT(t->adm, "alpha", "id") <= old_id) ST_FAIL("the re-added tenant reused an id");
    EXPECT_INFO_INT(t->adm, "alpha", "keys", 0);
    redisContext *a = LOGIN(t, &srv, "alpha", "pwa2");
    EXPECT_INT(a, 0, "DBSIZE");
    EXPECT_NIL(a, "GET k");
    EXPECT_OK(a, "SELECT 3");
    EXPECT_INT(a, 0, "DBSIZE");
    EXPECT_NIL(a, "GET k3");
    /* the connection that was open before the delete does not become the new tenant */
    redisReply *rep = redisCommand(t->a, "GET k");
    bool closed = !rep || (rep->type == REDIS_REPLY_ERROR && strstr(rep->str, "tenant was deleted"));
    if (rep) freeReplyObject(rep);
    if (!closed) ST_FAIL("a connection of the deleted tenant reached the new tenant of the same name");
}

/* CLIENT LIST and CLIENT KILL reach only the caller's own tenant; the administrator sees all, with
 * user=<tenant>. */
static void test_client_list_and_kill_stay_within_the_tenant(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    long long aid = 0, bid = 0;
    redisReply *r = CMD(t->a, "CLIENT ID");
    aid = r->integer;
    freeReplyObject(r);
    r = CMD(t->b, "CLIENT ID");
    bid = r->integer;
    freeReplyObject(r);
    r = CMD(t->a, "CLIENT LIST");
    if (r->type != REDIS_REPLY_STRING) ST_FAIL("CLIENT LIST as a tenant: not a string");
    char want[64];
    snprintf(want, sizeof want, "id=%lld ", bid);
    if (strstr(r->str, want)) ST_FAIL("alpha's CLIENT LIST shows beta's connection");
    snprintf(want, sizeof want, "id=%lld ", aid);
    if (!strstr(r->str, want) || !strstr(r->str, "user=alpha")) ST_FAIL("alpha's CLIENT LIST lacks its own connection");
    if (strstr(r->str, "user=default") || strstr(r->str, "user=beta")) ST_FAIL("alpha's CLIENT LIST shows others");
    freeReplyObject(r);
    r = CMD(t->adm, "CLIENT LIST");
    if (!strstr(r->str, "user=alpha") || !strstr(r->str, "user=beta") || !strstr(r->str, "user=default"))
        ST_FAIL("the administrator's CLIENT LIST does not show every tenant");
    freeReplyObject(r);
    /* beta cannot kill alpha, nor the administrator */
    EXPECT_INT(t->b, 0, "CLIENT KILL ID %lld", aid);
    EXPECT_ERR(t->b, "ERR No such client", "CLIENT KILL %s", "127.0.0.1:1");
    EXPECT_STATUS(t->a, "PONG", "PING");
    /* USER names a tenant: beta may kill its own only; an unknown user is an error, as Redis's;
     * TYPE normal is every client, the other types none */
    EXPECT_ERR(t->b, "ERR No such user 'nobody'", "CLIENT KILL USER nobody");
    EXPECT_ERR(t->b, "ERR Unknown client type 'foo'", "CLIENT KILL TYPE foo");
    EXPECT_INT(t->b, 0, "CLIENT KILL USER alpha");
    EXPECT_INT(t->adm, 0, "CLIENT KILL TYPE pubsub");
    EXPECT_INT(t->adm, 0, "CLIENT KILL USER beta SKIPME no TYPE replica");
    EXPECT_STATUS(t->a, "PONG", "PING");
    /* the administrator can */
    EXPECT_INT(t->adm, 1, "CLIENT KILL USER alpha TYPE normal");
    EXPECT_INT(t->adm, 1, "CLIENT KILL ID %lld", bid);
}

/* A transaction queued under the quota is refused at EXEC once the tenant is full, as Redis
 * checks maxmemory again at EXEC. */
static void test_exec_checks_the_quota_again(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->adm, "TENANT QUOTA alpha MAXKEYS 3");
    redisContext *other = LOGIN(t, &srv, "alpha", "pwa");
    EXPECT_OK(t->a, "MULTI");
    EXPECT_STATUS(t->a, "QUEUED", "SET m1 v");
    EXPECT_STATUS(t->a, "QUEUED", "SET m2 v");
    EXPECT_OK(other, "SET o1 v");
    EXPECT_OK(other, "SET o2 v");
    EXPECT_OK(other, "SET o3 v");
    EXPECT_ERR(t->a, "EXECABORT Transaction discarded because of: ERR tenant quota exceeded (max_keys)", "EXEC");
    EXPECT_INT(t->a, 3, "DBSIZE");
    /* a transaction that only deletes runs */
    EXPECT_OK(t->a, "MULTI");
    EXPECT_STATUS(t->a, "QUEUED", "DEL o1");
    redisReply *r = CMD(t->a, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) ST_FAIL("EXEC of a DEL in a full tenant was refused");
    freeReplyObject(r);
    EXPECT_INT(t->a, 2, "DBSIZE");
}

/* ---- AUTH ----------------------------------------------------------------------------------------------- */

static void test_auth_forms_and_failures_counted(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    EXPECT_OK(t->a, "SET k va");
    EXPECT_OK(t->b, "SET k vb");
    EXPECT_OK(t->adm, "SET k vadm");
    long long denied0 = st_info_field(t->adm, "stats", "acl_access_denied_auth");
    if (denied0 < 0) ST_FAIL("INFO stats has no acl_access_denied_auth");

    redisContext *c = LOGIN(t, &srv, NULL, NULL);
    EXPECT_ERR(c, WRONGPASS, "AUTH alpha wrong");
    EXPECT_ERR(c, WRONGPASS, "AUTH nosuch pwa");
    EXPECT_ERR(c, WRONGPASS, "AUTH wrong-admin");
    EXPECT_ERR(c, WRONGPASS, "AUTH default wrong-admin");
    EXPECT_ERR(c, WRONGPASS, "AUTH alpha pwb"); /* beta's password */
    EXPECT_ERR(c, "NOAUTH Authentication required.", "GET k");
    /* AUTH <user> <pass> as redis-cli sends it: switches between tenants and the administrator */
    EXPECT_OK(c, "AUTH alpha pwa");
    EXPECT_BULK(c, "va", "GET k");
    EXPECT_ERR(c, WRONGPASS, "AUTH beta wrong"); /* a failed AUTH keeps the current identity */
    EXPECT_BULK(c, "va", "GET k");
    EXPECT_OK(c, "AUTH beta pwb");
    EXPECT_BULK(c, "vb", "GET k");
    EXPECT_OK(c, "AUTH default %s", ADMIN_PW);
    EXPECT_BULK(c, "vadm", "GET k");
    EXPECT_OK(c, "AUTH alpha pwa");
    EXPECT_OK(c, "AUTH %s", ADMIN_PW);
    EXPECT_BULK(c, "vadm", "GET k");
    EXPECT_MEMBERS(c, 2, L("alpha", "beta"), "TENANT LIST");

    /* HELLO 3 AUTH <user> <pass> (hiredis here speaks RESP2 only: a raw socket) */
    st_raw *r = RAW_LOGIN(t, &srv, NULL, NULL);
    SEND(r, "HELLO", "3", "AUTH", "alpha", "bad");
    RAW_EXPECT(r, "-" WRONGPASS "\r\n");
    SEND(r, "HELLO", "3", "AUTH", "alpha", "pwa");
    const char *why = NULL;
    char *hello = st_raw_reply(r, WAIT_MS, NULL, &why);
    if (!hello || hello[0] != '%') ST_FAIL("HELLO 3 AUTH alpha pwa: %s", hello ? hello : why);
    free(hello);
    SEND(r, "GET", "k");
    RAW_EXPECT(r, "$2\r\nva\r\n");
    SEND(r, "HELLO", "3", "AUTH", "beta", "bad");
    RAW_EXPECT(r, "-" WRONGPASS "\r\n");
    SEND(r, "GET", "k");
    RAW_EXPECT(r, "$2\r\nva\r\n");
    SEND(r, "HELLO", "2", "AUTH", "default", ADMIN_PW);
    hello = st_raw_reply(r, WAIT_MS, NULL, &why);
    if (!hello || hello[0] != '*') ST_FAIL("HELLO 2 AUTH default: %s", hello ? hello : why);
    free(hello);
    SEND(r, "GET", "k");
    RAW_EXPECT(r, "$4\r\nvadm\r\n");

    /* six AUTHs and two HELLOs failed */
    long long denied = st_info_field(t->adm, "stats", "acl_access_denied_auth");
    if (denied != denied0 + 8) ST_FAIL("acl_access_denied_auth went from %lld to %lld, want +8", denied0, denied);
}

/* ---- restarts: own servers --------------------------------------------------------------------------- */

static st_server own;
static char *own_dir; /* the test's files (a config file) */

static int setup_own(void **state) {
    if (setup(state)) return -1; /* the group server's fixture, for its connection slots */
    memset(&own, 0, sizeof own);
    own.lock_fd = -1;
    own_dir = st_server_is_redis() ? NULL : st_test_tmpdir("it-tenants-own");
    return 0;
}

static int teardown_own(void **state) {
    int rc = teardown(state);
    if (own.tag && st_server_free(&own)) rc = -1;
    if (own_dir) st_test_rmrf(own_dir);
    free(own_dir);
    own_dir = NULL;
    return rc;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) ST_FAIL("cannot write %s", path);
}

/* Whether the server's log has a line containing both needles. */
static bool log_has(const st_server *s, const char *needle, const char *needle2) {
    FILE *f = fopen(s->log_path, "r");
    if (!f) return false;
    char line[4096];
    bool found = false;
    for (int n = 0; !found && n < 100000 && fgets(line, sizeof line, f); n++)
        found = strstr(line, needle) && (!needle2 || strstr(line, needle2));
    fclose(f);
    return found;
}

static void test_runtime_changes_and_data_survive_restart(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    /* no requirepass: unauthenticated clients are the administrator */
    if (st_server_start(&own, "it-tenants-restart", NULL)) ST_FAIL("cannot start a server");
    redisContext *adm = LOGIN(t, &own, NULL, NULL);
    EXPECT_OK(adm, "TENANT ADD p1 pw1 MAXKEYS 10");
    EXPECT_OK(adm, "TENANT ADD p2 pw2");
    EXPECT_OK(adm, "TENANT ADD p3 pw3");
    EXPECT_OK(adm, "TENANT PASSWD p1 pw1b");
    EXPECT_OK(adm, "TENANT QUOTA p1 MAXBYTES 1mb");
    EXPECT_OK(adm, "TENANT DEL p2");
    long long p3_id = INFO_INT(adm, "p3", "id");
    redisContext *p1 = LOGIN(t, &own, "p1", "pw1b");
    EXPECT_OK(p1, "SET k v1");
    EXPECT_OK(p1, "SELECT 5");
    EXPECT_OK(p1, "SET k v5");
    redisContext *p3 = LOGIN(t, &own, "p3", "pw3");
    EXPECT_INT(p3, 1, "HSET h f v3");
    EXPECT_OK(adm, "SET k vadm");
    EXPECT_OK(adm, "AUTH default anything"); /* no requirepass: `default` takes any password */
    EXPECT_ERR(p1, "NOPERM User p1 has no permissions to run the 'tenant|list' command", "TENANT LIST");

    if (st_server_stop(&own)) ST_FAIL("the server did not stop cleanly");
    if (st_server_restart(&own)) ST_FAIL("the server did not restart");

    redisContext *c = LOGIN(t, &own, NULL, NULL);
    EXPECT_ERR(c, WRONGPASS, "AUTH p1 pw1");
    EXPECT_ERR(c, WRONGPASS, "AUTH p2 pw2");
    EXPECT_OK(c, "AUTH p1 pw1b");
    EXPECT_BULK(c, "v1", "GET k");
    EXPECT_OK(c, "SELECT 5");
    EXPECT_BULK(c, "v5", "GET k");
    redisContext *a2 = LOGIN(t, &own, NULL, NULL);
    EXPECT_BULK(a2, "vadm", "GET k");
    EXPECT_STRS(a2, 2, L("p1", "p3"), "TENANT LIST");
    EXPECT_INFO_INT(a2, "p1", "max_keys", 10);
    EXPECT_INFO_INT(a2, "p1", "max_bytes", 1 << 20);
    EXPECT_INFO_INT(a2, "p1", "keys", 2);
    EXPECT_INFO_STR(a2, "p1", "source", "runtime");
    EXPECT_INFO_INT(a2, "p3", "id", p3_id);
    redisContext *c3 = LOGIN(t, &own, "p3", "pw3");
    EXPECT_BULK(c3, "v3", "HGET h f");
    /* the deleted name comes back with a new id, above every one handed out before the restart */
    EXPECT_OK(a2, "TENANT ADD p2 pw2");
    if (INFO_INT(a2, "p2", "id") <= p3_id) ST_FAIL("an id was reused after the restart");
    EXPECT_INFO_INT(a2, "p2", "keys", 0);
    /* a quota kept across the restart is enforced (its first check scans) */
    EXPECT_OK(a2, "TENANT QUOTA p3 MAXKEYS 1");
    EXPECT_ERR(c3, KEYS_ERR, "SET more v");
}

static void test_config_file_tenants(void **state) {
    SKIP_ON_REDIS();
    tfx *t = *state;
    char *toml = st_test_path(own_dir, "tenants.toml");
    write_file(toml, "# tenants of test_config_file_tenants\n"
                     "[[tenant]]\n"
                     "name = \"cfg1\"\n"
                     "password = \"c1\"\n"
                     "max_keys = 2\n"
                     "\n"
                     "[[tenant]]\n"
                     "name = \"cfg2\"\n"
                     "password = \"c2\"\n"
                     "max_bytes = \"1mb\"\n"
                     "\n"
                     "[[tenant]]\n"
                     "name = \"cfg3\"\n"
                     "password = \"c3\"\n");
    int rc = st_server_start(&own, "it-tenants-config", ST_IT_ARGS("--requirepass", ADMIN_PW, "--config", toml));
    if (rc) {
        free(toml);
        ST_FAIL("cannot start a server with %s", "tenants.toml");
    }
    redisContext *adm = LOGIN(t, &own, NULL, ADMIN_PW);
    EXPECT_STRS(adm, 3, L("cfg1", "cfg2", "cfg3"), "TENANT LIST");
    EXPECT_INFO_STR(adm, "cfg1", "source", "config");
    EXPECT_INFO_INT(adm, "cfg1", "max_keys", 2);
    EXPECT_INFO_INT(adm, "cfg2", "max_bytes", 1 << 20);
    if (!log_has(&own, "tenant 'cfg1' created from", "tenants.toml")) ST_FAIL("no log line for cfg1's creation");
    redisContext *c1 = LOGIN(t, &own, "cfg1", "c1");
    EXPECT_OK(c1, "SET a 1");
    EXPECT_OK(c1, "SET b 2");
    EXPECT_ERR(c1, KEYS_ERR, "SET c 3");
    redisContext *c2 = LOGIN(t, &own, "cfg2", "c2");
    EXPECT_OK(c2, "SET a cfg2");
    /* runtime changes to two of them */
    EXPECT_OK(adm, "TENANT PASSWD cfg2 c2-runtime");
    EXPECT_INFO_STR(adm, "cfg2", "source", "runtime");
    EXPECT_OK(adm, "TENANT DEL cfg3");

    /* the file changes for all three, and declares a fourth */
    write_file(toml, "[[tenant]]\n"
                     "name = \"cfg1\"\n"
                     "password = \"c1-new\"\n"
                     "max_keys = 3\n"
                     "\n"
                     "[[tenant]]\n"
                     "name = \"cfg2\"\n"
                     "password = \"c2-file\"\n"
                     "\n"
                     "[[tenant]]\n"
                     "name = \"cfg3\"\n"
                     "password = \"c3-file\"\n"
                     "\n"
                     "[[tenant]]\n"
                     "name = \"cfg4\"\n"
                     "password = \"c4\"\n");
    free(toml);
    if (st_server_stop(&own)) ST_FAIL("the server did not stop cleanly");
    if (st_server_restart(&own)) ST_FAIL("the server did not restart");

    redisContext *c = LOGIN(t, &own, NULL, NULL);
    /* never changed at runtime: follows the file */
    EXPECT_ERR(c, WRONGPASS, "AUTH cfg1 c1");
    EXPECT_OK(c, "AUTH cfg1 c1-new");
    EXPECT_STRS(c, 2, L("1", "2"), "MGET a b");
    EXPECT_OK(c, "SET c 3"); /* max_keys 3 now */
    EXPECT_ERR(c, KEYS_ERR, "SET d 4");
    /* changed at runtime: the runtime password stays, with a notice */
    EXPECT_ERR(c, WRONGPASS, "AUTH cfg2 c2-file");
    EXPECT_OK(c, "AUTH cfg2 c2-runtime");
    EXPECT_BULK(c, "cfg2", "GET a");
    if (!log_has(&own, "tenant 'cfg2'", "ignored")) ST_FAIL("no notice that cfg2's file entry is ignored");
    /* deleted at runtime: stays deleted */
    EXPECT_ERR(c, WRONGPASS, "AUTH cfg3 c3-file");
    EXPECT_ERR(c, WRONGPASS, "AUTH cfg3 c3");
    if (!log_has(&own, "tenant 'cfg3'", "deleted")) ST_FAIL("no notice that cfg3 stays deleted");
    /* new in the file: created */
    EXPECT_OK(c, "AUTH cfg4 c4");
    EXPECT_INT(c, 0, "DBSIZE");
    EXPECT_OK(c, "AUTH %s", ADMIN_PW);
    EXPECT_STRS(c, 3, L("cfg1", "cfg2", "cfg4"), "TENANT LIST");
    EXPECT_INFO_STR(c, "cfg1", "source", "config");
    EXPECT_INFO_INT(c, "cfg1", "max_keys", 3);
    EXPECT_INFO_STR(c, "cfg2", "source", "runtime");
    EXPECT_INFO_INT(c, "cfg2", "max_bytes", 1 << 20); /* the file's later edit did not apply either */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_strings_are_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collections_are_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyspace_commands_see_only_own_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_keeps_databases_per_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_exec_is_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_is_not_touched_by_other_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blpop_is_served_by_its_own_tenant_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_commands_are_noperm_for_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_command_replies_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_quota_refuses_growth_allows_deletes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_quota_with_collections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_changes_at_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_del_drops_data_and_closes_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_list_and_kill_stay_within_the_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_checks_the_quota_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_forms_and_failures_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_changes_and_data_survive_restart, setup_own, teardown_own),
        cmocka_unit_test_setup_teardown(test_config_file_tenants, setup_own, teardown_own),
    };
    return st_it_finish(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
