/* test_server_latency.c -- the latency monitor (net/latency.h, LATENCY) through a real client:
 *  - latency-monitor-threshold is 0 by default and then nothing is recorded (DOCTOR says it is
 *    off); a threshold above a slow command's time records nothing either;
 *  - with threshold 1 ms, DEBUG SLEEP 0.01 is a "command" event: LATEST ([event, time, latest,
 *    max]), HISTORY ([time, ms] pairs, oldest first), a slower one raises the maximum; DOCTOR
 *    reports it, GRAPH draws it; RESET deletes events and counts them;
 *  - Redis 7.0's errors: unknown subcommand, wrong arity of a subcommand, unknown event for GRAPH;
 *    HELP; HISTOGRAM of an unknown command is an empty map, of SET after SETs its calls and
 *    cumulative counts at power-of-two bounds;
 *  - Strata only: LATENCY is the administrator's (NOPERM for a tenant); a write slowed down by compaction (every compaction fails on
 *    purpose: DEBUG FAULT on the tier of levels 1+) is a "compaction-stall" event.
 * Every check but the Strata-only ones runs the same against STRATA_IT_SERVER=redis-server. Sleep
 * lengths are lower bounds (DEBUG SLEEP never sleeps less), so ">= 10 ms" holds however slow the
 * host; no assertion is an upper bound on a duration, and every wait polls with a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

#define WAIT_MS 15000

static st_server srv;
static st_server own;       /* the compaction-stall test's server */
static char *cfg_dir;       /* its tier configuration */
static redisContext *tenant_conn;

#define SKIP_ON_REDIS() \
    do { if (st_server_is_redis()) { print_message("Strata-only: skipped\n"); skip(); } } while (0)

static int group_setup(void **state) {
    (void)state;
    return st_it_group_setup(&srv, "it-latency", ST_IT_ARGS("--enable-debug-command", "yes"));
}
static int group_teardown(void **state) {
    (void)state;
    return st_it_group_teardown(&srv);
}

/* Every test starts with the monitor off and empty. */
static int setup(void **state) {
    if (st_it_fresh_client(&srv, state)) return -1;
    redisContext *c = *state;
    redisReply *a = redisCommand(c, "CONFIG SET latency-monitor-threshold 0");
    redisReply *b = a ? redisCommand(c, "LATENCY RESET") : NULL;
    bool ok = a && b && a->type == REDIS_REPLY_STATUS && b->type == REDIS_REPLY_INTEGER;
    if (a) freeReplyObject(a);
    if (b) freeReplyObject(b);
    if (!ok) fprintf(stderr, "setup: CONFIG SET latency-monitor-threshold 0 / LATENCY RESET failed\n");
    return ok ? 0 : -1;
}

static int teardown(void **state) {
    if (tenant_conn) redisFree(tenant_conn);
    tenant_conn = NULL;
    int rc = st_it_teardown_client(&srv, state);
    if (own.root && st_server_free(&own)) rc = -1;
    memset(&own, 0, sizeof own);
    if (cfg_dir) {
        st_test_rmrf(cfg_dir);
        free(cfg_dir);
        cfg_dir = NULL;
    }
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

typedef struct latest {
    bool found;
    long long time_s, latest_ms, max_ms;
} latest;

/* The LATENCY LATEST entry of event, checking the shape of the whole reply. */
static latest latest_of(redisContext *c, const char *event, const char *file, int line) {
    latest out = {0};
    redisReply *r = st_cmd(c, file, line, "LATENCY LATEST");
    if (r->type != REDIS_REPLY_ARRAY) st_fail_at(file, line, "LATENCY LATEST: %s", st_reply_repr(r));
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 || e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_INTEGER ||
            e->element[3]->type != REDIS_REPLY_INTEGER)
            st_fail_at(file, line, "LATENCY LATEST entry %zu: %s (want [event, time, latest, max])", i, st_reply_repr(e));
        if (e->element[2]->integer > e->element[3]->integer)
            st_fail_at(file, line, "LATENCY LATEST %s: latest %lld above the maximum %lld", e->element[0]->str,
                       e->element[2]->integer, e->element[3]->integer);
        if (!strcmp(e->element[0]->str, event))
            out = (latest){true, e->element[1]->integer, e->element[2]->integer, e->element[3]->integer};
    }
    freeReplyObject(r);
    return out;
}
#define LATEST_OF(c, ev) latest_of((c), (ev), __FILE__, __LINE__)

/* LATENCY HISTORY event, checked ([time, ms] pairs, times not going back, every ms at least
 * min_ms); returns the number of samples, the largest ms and the time of the sample holding it. */
static size_t history_of(redisContext *c, const char *event, long long min_ms, long long *max_ms, long long *max_at,
                         const char *file, int line) {
    redisReply *r = st_cmd(c, file, line, "LATENCY HISTORY %s", event);
    if (r->type != REDIS_REPLY_ARRAY) st_fail_at(file, line, "LATENCY HISTORY %s: %s", event, st_reply_repr(r));
    long long prev = 0, best = -1, best_at = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER)
            st_fail_at(file, line, "LATENCY HISTORY %s entry %zu: %s (want [time, ms])", event, i, st_reply_repr(e));
        long long t = e->element[0]->integer, ms = e->element[1]->integer;
        if (t < prev) st_fail_at(file, line, "LATENCY HISTORY %s: time %lld after %lld", event, t, prev);
        if (ms < min_ms) st_fail_at(file, line, "LATENCY HISTORY %s: a %lld ms sample under the threshold", event, ms);
        prev = t;
        if (ms > best) {
            best = ms;
            best_at = t;
        }
    }
    size_t n = r->elements;
    freeReplyObject(r);
    if (max_ms) *max_ms = best;
    if (max_at) *max_at = best_at;
    return n;
}

static void expect_contains(redisContext *c, const char *needle, const char *file, int line, const char *cmd) {
    redisReply *r = st_cmd(c, file, line, cmd);
    if (r->type != REDIS_REPLY_STRING || !strstr(r->str, needle))
        st_fail_at(file, line, "%s: %s (want a text holding \"%s\")", cmd, st_reply_repr(r), needle);
    freeReplyObject(r);
}
#define EXPECT_CONTAINS(c, needle, cmd) expect_contains((c), (needle), __FILE__, __LINE__, (cmd))

/* ---- off ---------------------------------------------------------------------------------------- */

static void test_latency_monitor_off_or_above_records_nothing(void **state) {
    redisContext *c = *state;
    EXPECT_STRS(c, 2, ((const char *[]){"latency-monitor-threshold", "0"}), "CONFIG GET latency-monitor-threshold");
    EXPECT_OK(c, "DEBUG SLEEP 0.01");
    EXPECT_STRS(c, 0, NULL, "LATENCY LATEST");
    EXPECT_STRS(c, 0, NULL, "LATENCY HISTORY command");
    EXPECT_ERR(c, "ERR No samples available for event 'command'", "LATENCY GRAPH command");
    EXPECT_CONTAINS(c, "Latency monitoring is disabled", "LATENCY DOCTOR");
    /* on, but above what the command took */
    EXPECT_OK(c, "CONFIG SET latency-monitor-threshold 100000");
    EXPECT_STRS(c, 2, ((const char *[]){"latency-monitor-threshold", "100000"}), "CONFIG GET latency-monitor-threshold");
    EXPECT_OK(c, "DEBUG SLEEP 0.01");
    if (LATEST_OF(c, "command").found) ST_FAIL("a 10 ms command recorded with a 100 s threshold");
    EXPECT_ERR_PREFIX(c, "ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold')",
                      "CONFIG SET latency-monitor-threshold -1");
}

/* ---- a slow command ------------------------------------------------------------------------------ */

static void test_latency_records_a_slow_command(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "CONFIG SET latency-monitor-threshold 1");
    long long t0 = st_wall_ms() / 1000;
    EXPECT_OK(c, "DEBUG SLEEP 0.01");
    latest l = LATEST_OF(c, "command");
    long long t1 = st_wall_ms() / 1000;
    if (!l.found) ST_FAIL("DEBUG SLEEP 0.01 with a 1 ms threshold: no \"command\" event in LATENCY LATEST");
    if (l.max_ms < 10) ST_FAIL("\"command\" maximum %lld ms after a 10 ms sleep", l.max_ms);
    if (l.latest_ms < 1) ST_FAIL("\"command\" latest %lld ms under the threshold", l.latest_ms);
    if (l.time_s < t0 - 1 || l.time_s > t1 + 1) ST_FAIL("\"command\" at %lld, outside [%lld, %lld]", l.time_s, t0, t1);
    long long best, best_at;
    size_t n = history_of(c, "command", 1, &best, &best_at, __FILE__, __LINE__);
    if (n < 1 || best < 10) ST_FAIL("LATENCY HISTORY command: %zu samples, largest %lld ms (want one >= 10)", n, best);
    if (best_at < t0 - 1 || best_at > t1 + 1) ST_FAIL("the 10 ms sample at %lld, outside [%lld, %lld]", best_at, t0, t1);

    /* a slower one: its second's sample (a new one, or the same second's kept at the larger) */
    EXPECT_OK(c, "DEBUG SLEEP 0.03");
    l = LATEST_OF(c, "command");
    if (l.max_ms < 30) ST_FAIL("\"command\" maximum %lld ms after a 30 ms sleep", l.max_ms);
    size_t n2 = history_of(c, "command", 1, &best, NULL, __FILE__, __LINE__);
    if (best < 30 || n2 < n) ST_FAIL("LATENCY HISTORY command: %zu samples (before %zu), largest %lld ms", n2, n, best);
    if (n2 > 160) ST_FAIL("LATENCY HISTORY holds %zu samples (at most 160)", n2);
    /* another event's history is empty, not an error */
    EXPECT_STRS(c, 0, NULL, "LATENCY HISTORY no-such-event");
}

static void test_latency_reset_doctor_graph_help_and_errors(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "CONFIG SET latency-monitor-threshold 1");
    EXPECT_OK(c, "DEBUG SLEEP 0.01");
    EXPECT_CONTAINS(c, "command", "LATENCY DOCTOR");
    EXPECT_CONTAINS(c, "latency spikes", "LATENCY DOCTOR");
    EXPECT_CONTAINS(c, "command - high ", "LATENCY GRAPH command");
    EXPECT_CONTAINS(c, "(all time high ", "LATENCY GRAPH command");
    EXPECT_ERR(c, "ERR No samples available for event 'nosuch'", "LATENCY GRAPH nosuch");
    /* stop recording, then RESET: named events (case-insensitive), then all */
    EXPECT_OK(c, "CONFIG SET latency-monitor-threshold 0");
    EXPECT_INT(c, 0, "LATENCY RESET nosuch");
    EXPECT_INT(c, 1, "LATENCY RESET COMMAND nosuch");
    if (LATEST_OF(c, "command").found) ST_FAIL("\"command\" still in LATEST after its RESET");
    EXPECT_INT_RANGE(c, 0, 16, "LATENCY RESET");
    EXPECT_STRS(c, 0, NULL, "LATENCY LATEST");
    EXPECT_STRS(c, 0, NULL, "LATENCY HISTORY command");
    EXPECT_INT(c, 0, "LATENCY RESET");
    /* errors and help, as Redis 7.0 */
    EXPECT_ERR(c, "ERR unknown subcommand 'foo'. Try LATENCY HELP.", "LATENCY foo");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'latency' command", "LATENCY");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'latency|latest' command", "LATENCY LATEST x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'latency|history' command", "LATENCY HISTORY");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'latency|history' command", "LATENCY HISTORY a b");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'latency|doctor' command", "LATENCY DOCTOR x");
    redisReply *r = CMD(c, "LATENCY HELP");
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 10 || r->element[0]->type != REDIS_REPLY_STATUS ||
        strcmp(r->element[0]->str, "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
        ST_FAIL("LATENCY HELP: %s", st_reply_repr(r));
    freeReplyObject(r);
    EXPECT_STRS(c, 0, NULL, "LATENCY HISTOGRAM no-such-command");
    /* a command that ran: {name: {calls: n, histogram_usec: {bound: cumulative count, ...}}},
     * power-of-two bounds, counts growing to n */
    for (int i = 0; i < 7; i++) EXPECT_OK(c, "SET hist:%d v", i);
    r = CMD(c, "LATENCY HISTOGRAM set no-such-command");
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
              !strcmp(r->element[0]->str, "set") && r->element[1]->type == REDIS_REPLY_ARRAY &&
              r->element[1]->elements == 4 && !strcmp(r->element[1]->element[0]->str, "calls") &&
              r->element[1]->element[1]->integer >= 7 && !strcmp(r->element[1]->element[2]->str, "histogram_usec");
    if (ok) {
        const redisReply *hist = r->element[1]->element[3];
        long long calls = r->element[1]->element[1]->integer, prev_bound = 0, prev = 0;
        ok = hist->type == REDIS_REPLY_ARRAY && hist->elements >= 2 && hist->elements % 2 == 0;
        for (size_t i = 0; ok && i < hist->elements; i += 2) {
            long long bound = hist->element[i]->integer, cum = hist->element[i + 1]->integer;
            ok = bound > prev_bound && cum > prev; /* Redis's bounds are HdrHistogram's, Strata's powers of two */
            prev_bound = bound;
            prev = cum;
        }
        ok = ok && prev == calls;
    }
    if (!ok) ST_FAIL("LATENCY HISTOGRAM set: %s", st_reply_repr(r));
    freeReplyObject(r);
}

/* ---- Strata only ------------------------------------------------------------------------------------ */

static void test_latency_is_the_administrators(void **state) {
    SKIP_ON_REDIS();
    redisContext *c = *state;
    EXPECT_OK(c, "TENANT ADD lat-tenant lat-pw");
    tenant_conn = ST_CONNECT(&srv);
    EXPECT_OK(tenant_conn, "AUTH lat-tenant lat-pw");
    static const char *const subs[][2] = {{"LATENCY LATEST", "latency|latest"}, {"LATENCY DOCTOR", "latency|doctor"},
                                          {"LATENCY RESET", "latency|reset"}, {"LATENCY HISTORY command", "latency|history"}};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char want[160];
        snprintf(want, sizeof want, "NOPERM User lat-tenant has no permissions to run the '%s' command", subs[i][1]);
        EXPECT_ERR(tenant_conn, want, subs[i][0]);
    }
    EXPECT_ERR(tenant_conn, "NOPERM User lat-tenant has no permissions to run the 'config|set' command",
               "CONFIG SET latency-monitor-threshold 1");
    EXPECT_OK(c, "TENANT DEL lat-tenant");
}

/* A tier configuration with L0 alone in "fast" and every other level in "slow", so a fault on
 * paths holding "/slow/" fails every compaction's output and leaves flushes alone. */
static char *write_tier_config(void) {
    cfg_dir = st_test_tmpdir("it-latency-cfg");
    assert_non_null(cfg_dir);
    char *path = st_it_write_fast_slow_tiers(cfg_dir);
    assert_non_null(path);
    return path;
}

enum { STALL_VALUE = 8 << 10, STALL_WRITES = 3 };

static void test_latency_records_compaction_stalls(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    char *toml = write_tier_config();
    /* two level-0 tables make writes slow down to 16 KiB/s until a compaction merges them, and
     * every compaction fails (the fault below): 8 KiB writes then wait 0.5 s each */
    int rc = st_server_start(&own, "it-latency-stall",
                             ST_IT_ARGS("--config", toml, "--write-buffer", "64kb", "--level0-file-num-compaction-trigger",
                                        "2", "--level0-slowdown-writes-trigger", "2", "--level0-stop-writes-trigger",
                                        "1000", "--delayed-write-rate", "16KiB", "--latency-monitor-threshold", "1",
                                        "--enable-debug-command", "yes"));
    free(toml);
    if (rc) ST_FAIL("server did not start");
    redisContext *c = ST_CONNECT(&own);
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PERSISTENT PATH /slow/");
    EXPECT_OK(c, "SET a 1");
    EXPECT_OK(c, "SAVE");
    EXPECT_OK(c, "SET a 2"); /* the two tables overlap: their compaction must write */
    EXPECT_OK(c, "SAVE");
    if (st_info_field(c, "storage", "level0_files") != 2) ST_FAIL("want two level-0 tables");
    char *v = malloc(STALL_VALUE);
    assert_non_null(v);
    memset(v, 'v', STALL_VALUE);
    for (int i = 0; i < STALL_WRITES; i++) redisAppendCommand(c, "SET w%d %b", i, v, (size_t)STALL_VALUE);
    free(v);
    st_flush(c, __FILE__, __LINE__);
    /* the paced writes' waits count as stall time as soon as they are scheduled */
    redisContext *d = ST_CONNECT(&own);
    int64_t end = st_now_ms() + WAIT_MS;
    latest l = {0};
    while (!(l = LATEST_OF(d, "compaction-stall")).found && st_now_ms() < end) st_sleep_ms(20);
    if (!l.found) ST_FAIL("paced writes behind a failing compaction: no \"compaction-stall\" event");
    if (l.max_ms < 1) ST_FAIL("compaction-stall of %lld ms under the threshold", l.max_ms);
    long long best;
    if (history_of(d, "compaction-stall", 1, &best, NULL, __FILE__, __LINE__) < 1) ST_FAIL("no compaction-stall history");
    EXPECT_CONTAINS(d, "compaction-stall", "LATENCY DOCTOR");
    EXPECT_CONTAINS(d, "compaction-stall - high ", "LATENCY GRAPH compaction-stall");
    for (int i = 0; i < STALL_WRITES; i++) {
        redisReply *r = st_get_reply(c, __FILE__, __LINE__);
        st_check_reply_status(r, __FILE__, __LINE__, "OK", "paced SET");
        freeReplyObject(r);
    }
    EXPECT_OK(d, "DEBUG FAULT OFF");
    if (st_info_field(d, "storage", "engine_write_stall_micros") <= 0) ST_FAIL("INFO counts no write stall");
    redisFree(d);
    redisFree(c);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_latency_monitor_off_or_above_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_records_a_slow_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_reset_doctor_graph_help_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_is_the_administrators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_records_compaction_stalls, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(t, group_setup, group_teardown));
}
