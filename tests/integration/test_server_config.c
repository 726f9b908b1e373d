/* test_server_config.c -- CONFIG GET / SET / REWRITE against a real server.
 *   every parameter docs/CONFIG.md lists in [server] and [engine] answers CONFIG GET; each one the
 *     doc marks runtime round-trips through CONFIG SET (a table here names a new value for each: a
 *     runtime parameter added to the doc without one fails this test); the others are refused as
 *     immutable and keep their value;
 *   Redis's encoding, persistence and eviction knobs (config_compat.c) are accepted, normalised as
 *     Redis does, returned, and bad values get Redis's error texts; the first CONFIG SET of each is
 *     logged once as ignored;
 *   CONFIG REWRITE writes the changes into the TOML file in place, comments and layout kept, adds
 *     [redis] for the knobs, and a restart from the file has them; without a file it is refused.
 * Run against redis-server (STRATA_IT_SERVER) the knob table checks Redis's own texts; the parts
 * that are Strata's own (docs/CONFIG.md, the TOML file, the log) are skipped there. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

static st_server srv;

static int group_setup(void **st) {
    (void)st;
    return st_it_group_setup(&srv, "it-config", NULL);
}
static int group_teardown(void **st) {
    (void)st;
    return st_it_group_teardown(&srv);
}
static int setup(void **st) { return st_it_fresh_client(&srv, st); }
static int teardown(void **st) { return st_it_teardown_client(&srv, st); }

/* The value CONFIG GET gives for name (malloc'ed), or NULL when it names no parameter. */
static char *get1(redisContext *c, const char *name) {
    redisReply *r = CMD(c, "CONFIG GET %s", name);
    char *v = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) v = strdup(r->element[1]->str);
    else if (!(r->type == REDIS_REPLY_ARRAY && r->elements == 0)) {
        char *s = st_reply_repr(r);
        ST_FAIL("CONFIG GET %s: %s", name, s);
    }
    freeReplyObject(r);
    return v;
}

/* ---- docs/CONFIG.md --------------------------------------------------------------------------- */

typedef struct doc_param {
    char name[48];  /* the flag without "--": CONFIG's name */
    bool runtime;
} doc_param;

static char *next_bar(char *p) {
    for (; *p; p++) {
        if (*p == '\\' && p[1]) p++;
        else if (*p == '|') return p;
    }
    return NULL;
}

/* Rows "| `key` | `--flag` | type | default | yes/no | ..." of the [server] and [engine] tables.
 * [server] has a "CONFIG SET" column; [engine] has none (nothing there changes at runtime). */
static size_t doc_params(doc_param *out, size_t cap) {
    char *path = st_test_repo_file("docs/CONFIG.md");
    if (!path) ST_FAIL("docs/CONFIG.md not found");
    FILE *f = fopen(path, "r");
    free(path);
    assert_non_null(f);
    char line[4096], section[32] = "";
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        if (!strncmp(line, "## ", 3)) {
            snprintf(section, sizeof section, "%s", strncmp(line, "## [server]", 11) == 0   ? "server"
                                                    : strncmp(line, "## [engine]", 11) == 0 ? "engine"
                                                                                            : "");
            continue;
        }
        if (!section[0] || strncmp(line, "| `", 3)) continue;
        char *flag = strstr(line, "`--");
        if (!flag) continue;
        flag += 3;
        char *end = strchr(flag, '`');
        if (!end || end - flag >= 48) continue;
        doc_param *d = &out[n++];
        snprintf(d->name, sizeof d->name, "%.*s", (int)(end - flag), flag);
        /* the fifth cell of a [server] row says whether CONFIG SET may change it ("\\|" inside a
         * cell is a literal bar) */
        d->runtime = false;
        if (!strcmp(section, "server")) {
            char *cell = line;
            for (int i = 0; i < 4 && cell; i++) cell = next_bar(cell + 1);
            if (!cell) ST_FAIL("docs/CONFIG.md: the row of --%s has no CONFIG SET column", d->name);
            while (*++cell == ' ') {}
            if (strncmp(cell, "yes", 3) && strncmp(cell, "no", 2))
                ST_FAIL("docs/CONFIG.md: the CONFIG SET column of --%s says neither yes nor no", d->name);
            d->runtime = !strncmp(cell, "yes", 3);
        }
    }
    fclose(f);
    return n;
}

/* A new value for every runtime parameter, and what CONFIG GET then shows. */
static const struct {
    const char *name, *set, *get, *restore;
} runtime_values[] = {
    {"requirepass", "", "", ""},
    {"maxclients", "777", "777", "10000"},
    {"protected-mode", "no", "no", "yes"},
    {"client-output-buffer-limit", "normal 1mb 512kb 30", "normal 1048576 524288 30 replica 268435456 67108864 60 "
                                                          "pubsub 33554432 8388608 60",
     "normal 0 0 0"},
    {"timeout", "45", "45", "0"},
    {"proto-max-bulk-len", "4mb", "4194304", "512mb"},
    {"client-query-buffer-limit", "2gb", "2147483648", "1gb"},
    {"hz", "25", "25", "10"},
    {"loglevel", "verbose", "verbose", "notice"},
    {"slowlog-log-slower-than", "-1", "-1", "10000"},
    {"slowlog-max-len", "5", "5", "128"},
    {"latency-monitor-threshold", "100", "100", "0"},
};
#define N_RUNTIME (sizeof runtime_values / sizeof *runtime_values)

static void test_every_documented_parameter(void **state) {
    redisContext *c = *state;
    if (st_server_is_redis()) skip();
    doc_param docs[128];
    size_t n = doc_params(docs, 128);
    if (n < 25) ST_FAIL("found only %zu parameters in docs/CONFIG.md", n);
    size_t runtime = 0;
    for (size_t i = 0; i < n; i++) {
        char *was = get1(c, docs[i].name);
        if (!was) ST_FAIL("docs/CONFIG.md lists --%s, but CONFIG GET %s names nothing", docs[i].name, docs[i].name);
        if (!docs[i].runtime) {
            char want[256];
            snprintf(want, sizeof want, "ERR CONFIG SET failed (possibly related to argument '%.48s') - can't set immutable config",
                     docs[i].name);
            EXPECT_ERR(c, want, "CONFIG SET %s %s", docs[i].name, was);
            char *now = get1(c, docs[i].name);
            assert_string_equal(now, was);
            free(now);
            free(was);
            continue;
        }
        runtime++;
        size_t j = 0;
        while (j < N_RUNTIME && strcmp(runtime_values[j].name, docs[i].name)) j++;
        if (j == N_RUNTIME) ST_FAIL("runtime parameter %s has no round-trip value in this test", docs[i].name);
        EXPECT_OK(c, "CONFIG SET %s %s", docs[i].name, runtime_values[j].set);
        char *now = get1(c, docs[i].name);
        if (strcmp(now, runtime_values[j].get)) ST_FAIL("CONFIG GET %s: '%s', want '%s'", docs[i].name, now, runtime_values[j].get);
        free(now);
        EXPECT_OK(c, "CONFIG SET %s %s", docs[i].name, runtime_values[j].restore);
        free(was);
    }
    if (runtime != N_RUNTIME) ST_FAIL("docs/CONFIG.md marks %zu parameters runtime, this test knows %zu", runtime, N_RUNTIME);
}

/* ---- Redis's knobs ------------------------------------------------------------------------------ */

static const struct {
    const char *name, *set, *get, *bad, *err;
    bool strata_only; /* Redis acts on it (or refuses it at runtime) */
} knobs[] = {
    {"hash-max-listpack-entries", "256", "256", "x", "argument couldn't be parsed into an integer", false},
    {"hash-max-ziplist-value", "1kb", "1024", "1.5", "argument must be a memory value", false},
    {"zset-max-listpack-entries", "64", "64", "-", "argument couldn't be parsed into an integer", false},
    {"set-max-intset-entries", "1024", "1024", "lots", "argument couldn't be parsed into an integer", false},
    {"list-max-listpack-size", "-3", "-3", "big", "argument couldn't be parsed into an integer", false},
    {"list-compress-depth", "2", "2", "deep", "argument couldn't be parsed into an integer", false},
    {"activerehashing", "NO", "no", "maybe", "argument must be 'yes' or 'no'", false},
    {"lazyfree-lazy-user-del", "yes", "yes", "1", "argument must be 'yes' or 'no'", false},
    {"maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru", "lru",
     "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
     "allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
     false},
    {"auto-aof-rewrite-min-size", "1mb", "1048576", "1x", "argument must be a memory value", false},
    {"save", "900 1 300 10", "900 1 300 10", "1 2 3", "Invalid save parameters", true},
    {"appendonly", "no", "no", "sometimes", "argument must be 'yes' or 'no'", true},
    {"notify-keyspace-events", "", "", "Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.", false},
    {"maxmemory-eviction-tenacity", "50", "50", "101", "argument must be between 0 and 100 inclusive", false},
    {"oom-score-adj-values", "0 100 900", "0 100 900", "1 2", "wrong number of arguments", false},
    {"latency-tracking-info-percentiles", "50 99.9", "50 99.9", "101",
     "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]", false},
};
#define N_KNOBS (sizeof knobs / sizeof *knobs)

static void test_redis_knobs_round_trip(void **state) {
    redisContext *c = *state;
    bool redis = st_server_is_redis();
    for (size_t i = 0; i < N_KNOBS; i++) {
        if (redis && knobs[i].strata_only) continue;
        char *def = get1(c, knobs[i].name);
        if (!def) ST_FAIL("CONFIG GET %s names nothing", knobs[i].name);
        EXPECT_OK(c, "CONFIG SET %s %s", knobs[i].name, knobs[i].set);
        char *now = get1(c, knobs[i].name);
        if (strcmp(now, knobs[i].get)) ST_FAIL("CONFIG GET %s: '%s', want '%s'", knobs[i].name, now, knobs[i].get);
        free(now);
        if (knobs[i].bad) {
            char want[512];
            snprintf(want, sizeof want, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", knobs[i].name,
                     knobs[i].err);
            EXPECT_ERR(c, want, "CONFIG SET %s %s", knobs[i].name, knobs[i].bad);
            now = get1(c, knobs[i].name); /* a refused value changes nothing */
            assert_string_equal(now, knobs[i].get);
            free(now);
        }
        EXPECT_OK(c, "CONFIG SET %s %s", knobs[i].name, def);
        free(def);
    }
    /* several at once are all-or-nothing, as Redis 7 */
    EXPECT_ERR(c, "ERR CONFIG SET failed (possibly related to argument 'activerehashing') - argument must be 'yes' or 'no'",
               "CONFIG SET hash-max-listpack-entries 300 activerehashing perhaps");
    char *v = get1(c, "hash-max-listpack-entries");
    assert_string_not_equal(v, "300");
    free(v);
    /* a glob reaches the knobs too */
    redisReply *r = CMD(c, "CONFIG GET zset-max-*");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_true(r->elements >= 4);
    freeReplyObject(r);
    EXPECT_ERR(c, "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-knob'", "CONFIG SET no-such-knob 1");
    EXPECT_STRS(c, 0, NULL, "CONFIG GET no-such-knob");
}

static long count_in_file(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    long n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void test_ignored_knob_logged_once(void **state) {
    redisContext *c = *state;
    if (st_server_is_redis()) skip();
    EXPECT_OK(c, "CONFIG SET activedefrag yes");
    EXPECT_OK(c, "CONFIG SET activedefrag no");
    EXPECT_OK(c, "CONFIG SET activedefrag yes");
    EXPECT_OK(c, "CONFIG SET activedefrag no");
    long n = count_in_file(srv.log_path, "CONFIG SET activedefrag: accepted and stored, but Strata ignores it");
    if (n != 1) ST_FAIL("the ignored-knob notice for activedefrag appears %ld times in the log, want 1", n);
    /* latency-tracking is acted on: no such notice */
    EXPECT_OK(c, "CONFIG SET latency-tracking yes");
    assert_int_equal(count_in_file(srv.log_path, "CONFIG SET latency-tracking:"), 0);
}

/* ---- CONFIG REWRITE ------------------------------------------------------------------------------ */

static const char *const conf_text =
    "# a comment at the top, kept\n"
    "[server]\n"
    "maxclients = 10000   # clients at once, a comment that must survive\n"
    "timeout = 0\n"
    "\n"
    "# between the tables\n"
    "[engine]\n"
    "write_buffer = \"1MiB\" # a size as a string stays unless it changes\n";

static void test_rewrite(void **state) {
    redisContext *c = *state;
    /* the group's server has no config file */
    EXPECT_ERR(c, "ERR The server is running without a config file", "CONFIG REWRITE");
    if (st_server_is_redis()) skip();
    st_server s;
    char *dir = st_test_tmpdir("it-config-rw");
    char *conf = st_test_path(dir, "strata.toml");
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs(conf_text, f);
    fclose(f);
    if (st_server_start(&s, "it-config-rw", ST_IT_ARGS("--config", conf))) ST_FAIL("server did not start");
    redisContext *k = ST_CONNECT(&s);
    EXPECT_OK(k, "CONFIG SET maxclients 321 hz 20 hash-max-listpack-entries 99 save %s", "60 5");
    EXPECT_OK(k, "CONFIG REWRITE");
    /* in place, the comment kept; a new key in its table; the knobs under [redis]; the rest as was */
    assert_int_equal(count_in_file(conf, "# a comment at the top, kept"), 1);
    assert_int_equal(count_in_file(conf, "# between the tables"), 1);
    assert_int_equal(count_in_file(conf, "maxclients = 321     # clients at once, a comment that must survive"), 1);
    assert_int_equal(count_in_file(conf, "hz = 20"), 1);
    assert_int_equal(count_in_file(conf, "write_buffer = \"1MiB\" # a size as a string stays"), 1);
    assert_int_equal(count_in_file(conf, "[redis]"), 1);
    assert_int_equal(count_in_file(conf, "hash-max-listpack-entries = 99"), 1);
    assert_int_equal(count_in_file(conf, "save = \"60 5\""), 1);
    assert_int_equal(count_in_file(conf, "maxclients"), 1);
    /* a second rewrite with nothing new changes nothing; setting back rewrites the same line */
    EXPECT_OK(k, "CONFIG REWRITE");
    assert_int_equal(count_in_file(conf, "hz = 20"), 1);
    EXPECT_OK(k, "CONFIG SET hz 10");
    EXPECT_OK(k, "CONFIG REWRITE");
    assert_int_equal(count_in_file(conf, "hz = 10"), 1);
    assert_int_equal(count_in_file(conf, "hz ="), 1);
    redisFree(k);
    /* a restart reads it all back */
    if (st_server_stop(&s) || st_server_restart(&s)) ST_FAIL("restart failed");
    k = ST_CONNECT(&s);
    char *v = get1(k, "maxclients");
    assert_string_equal(v, "321");
    free(v);
    v = get1(k, "hash-max-listpack-entries");
    assert_string_equal(v, "99");
    free(v);
    v = get1(k, "save");
    assert_string_equal(v, "60 5");
    free(v);
    redisFree(k);
    st_server_free(&s);
    st_test_rmrf(dir);
    free(dir);
    free(conf);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_every_documented_parameter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redis_knobs_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_knob_logged_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(t, group_setup, group_teardown));
}
