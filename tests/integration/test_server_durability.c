/* test_server_durability.c -- what a restart of strata-server keeps:
 *  - SIGTERM then restart: every write (sets, overwrites, deletes, TTLs, counters, several databases,
 *    a FLUSHDB) is served again, and a key that expired while the server was down stays gone;
 *  - kill -9 under --appendfsync always, several cycles: every acknowledged write is present after the
 *    restart; writes in flight at the kill are either fully there or not at all;
 *  - SHUTDOWN (plain, SAVE, NOSAVE) exits 0 and the data survives; SHUTDOWN FOO is refused.
 * Each test runs its own server with a small write buffer (--write-buffer 64kb) so memtables are
 * flushed to SSTables and recovery reads both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int setup_everysec(void **state) {
    (void)state;
    return st_it_group_setup(&srv, "it-durable", ST_IT_ARGS("--appendfsync", "everysec", "--write-buffer", "64kb"));
}

static int setup_always(void **state) {
    (void)state;
    return st_it_group_setup(&srv, "it-crash", ST_IT_ARGS("--appendfsync", "always", "--write-buffer", "64kb"));
}

static int teardown(void **state) {
    (void)state;
    return st_it_group_teardown(&srv);
}

static void restart_or_fail(const char *file, int line) {
    if (st_server_restart(&srv) != 0) st_fail_at(file, line, "restart failed");
}
#define RESTART() restart_or_fail(__FILE__, __LINE__)
#define STOP() do { if (st_server_stop(&srv) != 0) ST_FAIL("SIGTERM did not stop the server cleanly (exit 0)"); } while (0)
#define CONNECT() ST_CONNECT(&srv)

/* ---- a model of what the server must hold ------------------------------------------------------------ */

enum { NK = 2000 };

typedef struct model {
    char *val[NK];   /* NULL: absent */
    bool ttl[NK];    /* has a (far) TTL */
} model;

static void model_set(model *m, int i, const char *v, size_t n) {
    free(m->val[i]);
    m->val[i] = strndup(v, n);
}

static char *make_value(st_rng *r, int i, int gen, size_t *n) {
    *n = 16 + (size_t)st_rng_below(r, 3000); /* room for the "i/gen/" header */
    char *v = malloc(*n + 1);
    int h = snprintf(v, *n + 1, "%d/%d/", i, gen);
    for (size_t j = (size_t)h; j < *n; j++) v[j] = (char)('a' + st_rng_below(r, 26));
    v[*n] = '\0';
    return v;
}

/* Pipelined GET of every model key in db; compares values and TTL presence. */
static void verify_model(redisContext *c, const model *m, const char *prefix, const char *file, int line) {
    for (int i = 0; i < NK; i++) {
        redisAppendCommand(c, "GET %s%d", prefix, i);
        redisAppendCommand(c, "TTL %s%d", prefix, i);
    }
    for (int i = 0; i < NK; i++) {
        redisReply *g = st_get_reply(c, file, line), *t = st_get_reply(c, file, line);
        if (!m->val[i]) {
            if (g->type != REDIS_REPLY_NIL) {
                char *s = st_reply_repr(g);
                st_fail_at(file, line, "%s%d: deleted before the restart, now %s", prefix, i, s);
            }
        } else {
            char what[64];
            snprintf(what, sizeof what, "GET %s%d after restart", prefix, i);
            st_check_reply_bulk(g, file, line, m->val[i], strlen(m->val[i]), what);
            bool ok = m->ttl[i] ? (t->integer > 0 && t->integer <= 1000) : t->integer == -1;
            if (!ok) st_fail_at(file, line, "TTL %s%d after restart: %lld (want %s)", prefix, i, t->integer, m->ttl[i] ? "1..1000" : "-1");
        }
        freeReplyObject(g);
        freeReplyObject(t);
    }
}

static long long model_count(const model *m) {
    long long n = 0;
    for (int i = 0; i < NK; i++) n += m->val[i] != NULL;
    return n;
}

static void model_free(model *m) {
    for (int i = 0; i < NK; i++) free(m->val[i]);
}

/* ---- SIGTERM --------------------------------------------------------------------------------------------- */

static void test_sigterm_restart_keeps_every_write(void **state) {
    (void)state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("test_sigterm_restart_keeps_every_write", 7));
    static model m0, m3;
    memset(&m0, 0, sizeof m0);
    memset(&m3, 0, sizeof m3);
    redisContext *c = CONNECT();
    /* db 0: NK keys, then overwrites, deletes, TTLs, appends, counters */
    for (int gen = 0; gen < 2; gen++) {
        for (int i = 0; i < NK; i++) {
            if (gen == 1 && i % 5) continue; /* every 5th key is overwritten */
            size_t n;
            char *v = make_value(&rng, i, gen, &n);
            redisAppendCommand(c, "SET k:%d %b", i, v, n);
            model_set(&m0, i, v, n);
            free(v);
        }
        for (int i = 0; i < NK; i++) {
            if (gen == 1 && i % 5) continue;
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            st_check_reply_status(r, __FILE__, __LINE__, "OK", "SET k:<i>");
            freeReplyObject(r);
        }
    }
    for (int i = 3; i < NK; i += 20) {
        EXPECT_INT(c, 1, "DEL k:%d", i);
        free(m0.val[i]);
        m0.val[i] = NULL;
    }
    for (int i = 7; i < NK; i += 40) {
        EXPECT_INT(c, 1, "EXPIRE k:%d 1000", i);
        m0.ttl[i] = true;
    }
    for (int i = 11; i < NK; i += 100) {
        size_t len = strlen(m0.val[i]);
        EXPECT_INT(c, (long long)len + 4, "APPEND k:%d +app", i);
        char *nv = malloc(len + 5);
        memcpy(nv, m0.val[i], len);
        memcpy(nv + len, "+app", 5);
        free(m0.val[i]);
        m0.val[i] = nv;
    }
    for (int i = 0; i < 20; i++)
        for (int j = 0; j <= i; j++) EXPECT_INT(c, j + 1, "INCR ctr:%d", i);
    EXPECT_OK(c, "SET gone-while-down v PX 300");
    int64_t set_at = st_now_ms();
    /* db 3: its own keys; db 5: written then flushed */
    EXPECT_OK(c, "SELECT 3");
    for (int i = 0; i < NK; i += 10) {
        char v[32];
        snprintf(v, sizeof v, "db3-%d", i);
        EXPECT_OK(c, "SET k:%d %s", i, v);
        model_set(&m3, i, v, strlen(v));
    }
    EXPECT_OK(c, "SELECT 5");
    for (int i = 0; i < 100; i++) EXPECT_OK(c, "SET f:%d x", i);
    EXPECT_OK(c, "FLUSHDB");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_OK(c, "SET flushed-all v");
    EXPECT_OK(c, "SELECT 6");
    EXPECT_OK(c, "SET flushed-all v");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_INT(c, 1, "DEL flushed-all");
    redisFree(c);

    for (int cycle = 0; cycle < 2; cycle++) {
        STOP();
        while (st_now_ms() - set_at < 400) st_sleep_ms(20); /* gone-while-down's TTL passes while down */
        RESTART();
        c = CONNECT();
        verify_model(c, &m0, "k:", __FILE__, __LINE__);
        for (int i = 0; i < 20; i++) {
            char want[16];
            snprintf(want, sizeof want, "%d", i + 1);
            EXPECT_BULK(c, want, "GET ctr:%d", i);
        }
        EXPECT_NIL(c, "GET gone-while-down");
        EXPECT_INT(c, model_count(&m0) + 20, "DBSIZE");
        EXPECT_OK(c, "SELECT 3");
        verify_model(c, &m3, "k:", __FILE__, __LINE__);
        EXPECT_INT(c, model_count(&m3), "DBSIZE");
        EXPECT_OK(c, "SELECT 5");
        EXPECT_INT(c, 0, "DBSIZE");
        EXPECT_OK(c, "SELECT 6");
        EXPECT_BULK(c, "v", "GET flushed-all");
        redisFree(c);
    }
    /* FLUSHALL survives a restart too */
    c = CONNECT();
    EXPECT_OK(c, "FLUSHALL");
    EXPECT_OK(c, "SET after-flushall 1");
    redisFree(c);
    STOP();
    RESTART();
    c = CONNECT();
    EXPECT_INT(c, 1, "DBSIZE");
    EXPECT_OK(c, "SELECT 3");
    EXPECT_INT(c, 0, "DBSIZE");
    redisFree(c);
    model_free(&m0);
    model_free(&m3);
}

/* ---- kill -9 under appendfsync always --------------------------------------------------------------- */

/* What a key must be after a restart: exactly `val` (NULL: absent), or, when the write was in flight
 * at the kill, either `val` or `alt`. */
typedef struct expect {
    char *val, *alt;
    bool maybe;
} expect;

enum { CRASH_KEYS = 4000, CYCLES = 4, CLIENTS = 2, WINDOW = 32 };

static void expect_set(expect *e, const char *v, bool maybe) {
    if (maybe) {
        free(e->alt);
        e->alt = e->val;              /* the old value, if the write did not make it */
        e->val = v ? strdup(v) : NULL;
        e->maybe = true;
    } else {
        free(e->val);
        free(e->alt);
        e->val = v ? strdup(v) : NULL;
        e->alt = NULL;
        e->maybe = false;
    }
}

static int last_victim;
static int victim_of(st_rng *r, int n) { return last_victim = (int)st_rng_below(r, (uint64_t)n); }

static void test_kill9_always_keeps_acked_writes(void **state) {
    (void)state;
    uint64_t seed = st_test_seed("test_kill9_always_keeps_acked_writes", 99);
    st_rng rng;
    st_rng_seed(&rng, seed);
    static expect ex[CRASH_KEYS];
    memset(ex, 0, sizeof ex);
    long long ctr_acked = 0, ctr_sent = 0;
    int next_key = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        if (cycle > 0) {
            RESTART();
            redisContext *c = CONNECT();
            /* every acknowledged write is there; in-flight ones are all-or-nothing */
            for (int i = 0; i < next_key; i++) redisAppendCommand(c, "GET ck:%d", i);
            for (int i = 0; i < next_key; i++) {
                redisReply *r = st_get_reply(c, __FILE__, __LINE__);
                expect *e = &ex[i];
                bool ok = st_reply_is_bulk(r, e->val) || (e->maybe && st_reply_is_bulk(r, e->alt));
                if (!ok) {
                    char *s = st_reply_repr(r);
                    ST_FAIL("cycle %d (seed %llu): ck:%d is %s, want \"%s\"%s%s%s", cycle, (unsigned long long)seed, i,
                            s, e->val ? e->val : "(nil)", e->maybe ? " or \"" : "",
                            e->maybe ? (e->alt ? e->alt : "(nil)") : "", e->maybe ? "\" (in flight at the kill)" : "");
                }
                /* from now on the key is what the server says */
                expect_set(e, r->type == REDIS_REPLY_STRING ? r->str : NULL, false);
                freeReplyObject(r);
            }
            redisReply *r = CMD(c, "GET ctr");
            long long ctr = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
            freeReplyObject(r);
            if (ctr < ctr_acked || ctr > ctr_sent)
                ST_FAIL("cycle %d (seed %llu): ctr is %lld, acknowledged %lld, sent %lld", cycle,
                        (unsigned long long)seed, ctr, ctr_acked, ctr_sent);
            ctr_acked = ctr_sent = ctr;
            redisFree(c);
        }
        /* CLIENTS pipelined writers; kill -9 after `stop_after` acknowledgements in total */
        redisContext *w[CLIENTS];
        for (int k = 0; k < CLIENTS; k++) w[k] = CONNECT();
        int stop_after = 100 + (int)st_rng_below(&rng, 500);
        int acked = 0;
        /* per client: the commands sent and not yet acknowledged, oldest first */
        struct inflight {
            int key;      /* -1: INCR ctr */
            char *val;    /* NULL: DEL */
        } q[CLIENTS][WINDOW * 2];
        int qh[CLIENTS] = {0}, qn[CLIENTS] = {0};
        bool killed = false;
        while (!killed) {
            for (int k = 0; k < CLIENTS && !killed; k++) {
                /* top the window up */
                while (qn[k] < WINDOW && next_key < CRASH_KEYS) {
                    struct inflight *f = &q[k][(qh[k] + qn[k]) % (WINDOW * 2)];
                    uint64_t op = st_rng_below(&rng, 10);
                    if (op == 0) {
                        f->key = -1;
                        f->val = NULL;
                        redisAppendCommand(w[k], "INCR ctr");
                        ctr_sent++;
                    } else if (op == 1 && next_key > 10 && !ex[victim_of(&rng, next_key)].maybe) {
                        /* only a settled key: one write in flight per key keeps the order known */
                        int victim = last_victim;
                        f->key = victim;
                        f->val = NULL;
                        redisAppendCommand(w[k], "DEL ck:%d", victim);
                        expect_set(&ex[victim], NULL, true);
                    } else {
                        int key = next_key++;
                        char v[64];
                        snprintf(v, sizeof v, "c%d-k%d-%llu", cycle, key, (unsigned long long)st_rng_below(&rng, 1000000));
                        f->key = key;
                        f->val = strdup(v);
                        if (op == 2) redisAppendCommand(w[k], "SET ck:%d %s EX 1000", key, v);
                        else redisAppendCommand(w[k], "SET ck:%d %s", key, v);
                        expect_set(&ex[key], v, true);
                    }
                    qn[k]++;
                }
                st_flush(w[k], __FILE__, __LINE__);
                /* take one acknowledgement */
                redisReply *r = st_get_reply(w[k], __FILE__, __LINE__);
                struct inflight *f = &q[k][qh[k]];
                if (r->type == REDIS_REPLY_ERROR) ST_FAIL("write failed: %s", r->str);
                if (f->key < 0) ctr_acked++;
                else if (ex[f->key].maybe) {
                    /* acknowledged: now certain, unless a later in-flight write touches the same key */
                    bool later = false;
                    for (int kk = 0; kk < CLIENTS; kk++)
                        for (int j = (kk == k ? 1 : 0); j < qn[kk]; j++)
                            if (q[kk][(qh[kk] + j) % (WINDOW * 2)].key == f->key) later = true;
                    if (!later) {
                        char *keep = ex[f->key].val ? strdup(ex[f->key].val) : NULL;
                        expect_set(&ex[f->key], keep, false);
                        free(keep);
                    }
                }
                free(f->val);
                f->val = NULL;
                freeReplyObject(r);
                qh[k] = (qh[k] + 1) % (WINDOW * 2);
                qn[k]--;
                if (++acked >= stop_after || (next_key >= CRASH_KEYS && qn[k] == 0)) {
                    assert_int_equal(st_server_kill9(&srv), 0); /* with writes still in flight */
                    killed = true;
                }
            }
        }
        for (int k = 0; k < CLIENTS; k++) {
            while (qn[k] > 0) {
                free(q[k][qh[k]].val);
                qh[k] = (qh[k] + 1) % (WINDOW * 2);
                qn[k]--;
            }
            redisFree(w[k]);
        }
    }
    /* the final restart: check, then a clean stop */
    RESTART();
    redisContext *c = CONNECT();
    for (int i = 0; i < next_key; i++) {
        redisReply *r = CMD(c, "GET ck:%d", i);
        if (!(st_reply_is_bulk(r, ex[i].val) || (ex[i].maybe && st_reply_is_bulk(r, ex[i].alt)))) {
            char *s = st_reply_repr(r);
            ST_FAIL("final (seed %llu): ck:%d is %s, want \"%s\"", (unsigned long long)seed, i, s, ex[i].val ? ex[i].val : "(nil)");
        }
        freeReplyObject(r);
    }
    redisFree(c);
    for (int i = 0; i < CRASH_KEYS; i++) {
        free(ex[i].val);
        free(ex[i].alt);
    }
}

/* ---- SHUTDOWN ------------------------------------------------------------------------------------------ */

static void test_shutdown_command(void **state) {
    (void)state;
    static const char *const variants[] = {"SHUTDOWN", "SHUTDOWN SAVE", "SHUTDOWN NOSAVE"};
    for (int v = 0; v < 3; v++) {
        redisContext *c = CONNECT();
        if (v == 0) {
            EXPECT_ERR(c, "ERR syntax error", "SHUTDOWN FOO");
            EXPECT_STATUS(c, "PONG", "PING"); /* still running */
        }
        for (int i = 0; i < 300; i++) EXPECT_OK(c, "SET s%d:%d value-%d", v, i, i);
        EXPECT_OK(c, "SET ttl%d v EX 1000", v);
        redisContext *bystander = CONNECT();
        EXPECT_STATUS(bystander, "PONG", "PING");
        /* SHUTDOWN replies nothing on success: the connection just closes */
        redisReply *r = redisCommand(c, variants[v]);
        if (r) {
            char *s = st_reply_repr(r);
            ST_FAIL("%s replied %s", variants[v], s);
        }
        int code = st_server_wait_exit(&srv, ST_SERVER_STOP_DEADLINE_MS);
        if (code != 0) ST_FAIL("%s: the server exited with %d (want 0)", variants[v], code);
        redisReply *after = redisCommand(bystander, "PING");
        if (after) ST_FAIL("%s: another client still got a reply after the exit", variants[v]);
        redisFree(bystander);
        redisFree(c);
        RESTART();
        c = CONNECT();
        for (int w = 0; w <= v; w++) {
            for (int i = 0; i < 300; i++) {
                char want[32];
                snprintf(want, sizeof want, "value-%d", i);
                EXPECT_BULK(c, want, "GET s%d:%d", w, i);
            }
            EXPECT_INT_RANGE(c, 1, 1000, "TTL ttl%d", w);
        }
        redisFree(c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigterm_restart_keeps_every_write, setup_everysec, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_always_keeps_acked_writes, setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_command, setup_everysec, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
