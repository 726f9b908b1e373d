/* test_latency.c -- net/latency (the latency monitor's store) and net/monitor's line format, with
 * explicit times: one sample per second keeping the larger (L1), the ring of 160 samples, the
 * all-time maximum, RESET by name (any case) or all, the event limit, DOCTOR's and GRAPH's texts;
 * and monitor_format's Redis shape, sdscatrepr escaping and password redaction. */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"
#include "monitor.h"

static latency_mon *mon_new(void) {
    latency_mon *l = NULL;
    assert_int_equal(latency_new(&l), 0);
    assert_non_null(l);
    return l;
}

static int history(latency_mon *l, const char *name, latency_sample *out) {
    return latency_history(l, name, strlen(name), out);
}

static void test_latency_one_sample_per_second_keeps_the_larger(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    latency_sample s[LATENCY_TS_LEN];
    assert_int_equal(history(l, "command", s), -1);
    latency_add_at(l, "command", 5, 1000);
    latency_add_at(l, "command", 12, 1000);
    latency_add_at(l, "command", 7, 1000);
    latency_add_at(l, "command", 3, 1001);
    assert_int_equal(history(l, "command", s), 2);
    assert_int_equal(s[0].time_s, 1000);
    assert_int_equal(s[0].ms, 12);
    assert_int_equal(s[1].time_s, 1001);
    assert_int_equal(s[1].ms, 3);
    latency_latest ev[LATENCY_MAX_EVENTS];
    assert_int_equal(latency_latest_all(l, ev, LATENCY_MAX_EVENTS), 1);
    assert_string_equal(ev[0].name, "command");
    assert_int_equal(ev[0].time_s, 1001);
    assert_int_equal(ev[0].ms, 3);
    assert_int_equal(ev[0].max_ms, 12);
    assert_int_equal(history(l, "Command", s), -1); /* HISTORY names are exact, as Redis's */
    latency_free(l);
}

static void test_latency_ring_keeps_the_newest_160_and_the_all_time_max(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    latency_add_at(l, "fsync", 999, 10);
    for (int i = 1; i <= 400; i++) latency_add_at(l, "fsync", i, 10 + i);
    latency_sample s[LATENCY_TS_LEN];
    assert_int_equal(history(l, "fsync", s), LATENCY_TS_LEN);
    for (int i = 0; i < LATENCY_TS_LEN; i++) { /* oldest first: 241..400 */
        assert_int_equal(s[i].ms, 241 + i);
        assert_int_equal(s[i].time_s, 10 + 241 + i);
    }
    latency_latest ev[1];
    assert_int_equal(latency_latest_all(l, ev, 1), 1);
    assert_int_equal(ev[0].max_ms, 999); /* long gone from the ring, still the maximum */
    assert_int_equal(ev[0].ms, 400);
    latency_free(l);
}

static void test_latency_reset_by_name_any_case_or_all(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    latency_add_at(l, "command", 5, 100);
    latency_add_at(l, "fsync", 6, 100);
    latency_add_at(l, "compaction-stall", 7, 100);
    assert_int_equal(latency_reset(l, "nosuch", 6), 0);
    assert_int_equal(latency_reset(l, "FSYNC", 5), 1);
    latency_latest ev[LATENCY_MAX_EVENTS];
    assert_int_equal(latency_latest_all(l, ev, LATENCY_MAX_EVENTS), 2);
    assert_string_equal(ev[0].name, "command"); /* creation order kept */
    assert_string_equal(ev[1].name, "compaction-stall");
    assert_int_equal(latency_reset(l, "fsyn", 4), 0); /* whole names only */
    assert_int_equal(latency_reset(l, NULL, 0), 2);
    assert_int_equal(latency_latest_all(l, ev, LATENCY_MAX_EVENTS), 0);
    /* a reset event starts again from nothing */
    latency_add_at(l, "fsync", 2, 200);
    assert_int_equal(latency_latest_all(l, ev, LATENCY_MAX_EVENTS), 1);
    assert_int_equal(ev[0].max_ms, 2);
    latency_free(l);
}

static void test_latency_event_count_and_name_length_are_bounded(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    char name[LATENCY_NAME_MAX + 8];
    for (int i = 0; i < LATENCY_MAX_EVENTS + 5; i++) {
        snprintf(name, sizeof name, "event-%d", i);
        latency_add_at(l, name, i + 1, 50);
    }
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0;
    latency_add_at(l, name, 1, 50);
    latency_latest ev[LATENCY_MAX_EVENTS + 8];
    assert_int_equal(latency_latest_all(l, ev, LATENCY_MAX_EVENTS + 8), LATENCY_MAX_EVENTS);
    assert_string_equal(ev[LATENCY_MAX_EVENTS - 1].name, "event-15");
    latency_free(l);
}

static void test_latency_doctor_reports_off_quiet_and_spikes(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    latency_doctor_ctx off = {0, 10000, false}, on = {1, 10000, true};
    char *t = latency_doctor(l, &off, 100);
    assert_non_null(strstr(t, "Latency monitoring is disabled"));
    free(t);
    t = latency_doctor(l, &on, 100);
    assert_non_null(strstr(t, "No latency spike"));
    free(t);
    latency_add_at(l, "command", 10, 100);
    latency_add_at(l, "command", 30, 102);
    latency_add_at(l, "fsync", 4, 103);
    t = latency_doctor(l, &on, 104);
    /* Redis's line: average 20, mean deviation 10, 4 s since the oldest over 2 samples */
    assert_non_null(strstr(t, "1. command: 2 latency spikes (average 20ms, mean deviation 10ms, period 2.00 sec). "
                              "Worst all time event 30ms."));
    assert_non_null(strstr(t, "2. fsync: 1 latency spikes"));
    assert_non_null(strstr(t, "CONFIG SET slowlog-log-slower-than 1000")); /* 10 ms slow log > 1 ms threshold */
    assert_non_null(strstr(t, "appendfsync is always"));
    free(t);
    latency_free(l);
}

static void test_latency_graph_draws_each_sample(void **state) {
    (void)state;
    latency_mon *l = mon_new();
    bool missing = false;
    assert_null(latency_graph(l, "command", 7, 100, &missing));
    assert_true(missing);
    latency_add_at(l, "command", 10, 90);
    latency_add_at(l, "command", 40, 95);
    latency_add_at(l, "command", 25, 100);
    char *g = latency_graph(l, "command", 7, 100, &missing);
    assert_false(missing);
    assert_non_null(g);
    static const char want[] =
        "command - high 40 ms, low 10 ms (all time high 40 ms)\n"
        "--------------------------------------------------------------------------------\n"
        " ` \n" /* 40: level 11 of 0..11, the top mark of the top row */
        " | \n"
        " |`\n" /* 25: level 5, the top mark of the second row */
        "_||\n" /* 10: level 0 */
        "150\n" /* ages 10 s, 5 s, 0 s, written downwards */
        "0ss\n"
        "s  \n";
    assert_string_equal(g, want);
    free(g);
    latency_free(l);
}

static void test_monitor_line_is_redis_shaped_escaped_and_redacted(void **state) {
    (void)state;
    const uint8_t *argv[6];
    size_t argvlen[6];
    static const char bin[] = "a\0\"\\\r\n\t\a\b\x7f\xff z";
    argv[0] = (const uint8_t *)"set";
    argv[1] = (const uint8_t *)"k";
    argv[2] = (const uint8_t *)bin;
    argvlen[0] = 3;
    argvlen[1] = 1;
    argvlen[2] = sizeof bin - 1;
    size_t n;
    char *line = monitor_format(1339518083107412LL, 3, "127.0.0.1:60866", 3, argv, argvlen, &n);
    static const char want[] =
        "+1339518083.107412 [3 127.0.0.1:60866] \"set\" \"k\" \"a\\x00\\\"\\\\\\r\\n\\t\\a\\b\\x7f\\xff z\"\r\n";
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(line, want, n);
    free(line);

    /* AUTH's and HELLO AUTH's passwords, whatever the command then answered */
    const char *auth[] = {"AUTH", "user", "pw"};
    for (int i = 0; i < 3; i++) {
        argv[i] = (const uint8_t *)auth[i];
        argvlen[i] = strlen(auth[i]);
    }
    line = monitor_format(5000001, 0, "x:1", 3, argv, argvlen, &n);
    static const char want_auth[] = "+5.000001 [0 x:1] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n";
    assert_int_equal(n, sizeof want_auth - 1);
    assert_memory_equal(line, want_auth, n);
    free(line);
    const char *hello[] = {"hello", "3", "setname", "auth", "AUTH", "u"};
    for (int i = 0; i < 6; i++) {
        argv[i] = (const uint8_t *)hello[i];
        argvlen[i] = strlen(hello[i]);
    }
    line = monitor_format(0, 0, "x:1", 6, argv, argvlen, &n);
    /* SETNAME takes "auth" as the name; the AUTH after it hides what follows, even a lone user */
    static const char want_hello[] = "+0.000000 [0 x:1] \"hello\" \"3\" \"setname\" \"auth\" \"AUTH\" \"(redacted)\"\r\n";
    assert_int_equal(n, sizeof want_hello - 1);
    assert_memory_equal(line, want_hello, n);
    free(line);
    const char *hello2[] = {"HELLO", "AUTH", "u", "p"}; /* no protocol version */
    for (int i = 0; i < 4; i++) {
        argv[i] = (const uint8_t *)hello2[i];
        argvlen[i] = strlen(hello2[i]);
    }
    line = monitor_format(0, 0, "x:1", 4, argv, argvlen, &n);
    static const char want_hello2[] = "+0.000000 [0 x:1] \"HELLO\" \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n";
    assert_int_equal(n, sizeof want_hello2 - 1);
    assert_memory_equal(line, want_hello2, n);
    free(line);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_one_sample_per_second_keeps_the_larger),
        cmocka_unit_test(test_latency_ring_keeps_the_newest_160_and_the_all_time_max),
        cmocka_unit_test(test_latency_reset_by_name_any_case_or_all),
        cmocka_unit_test(test_latency_event_count_and_name_length_are_bounded),
        cmocka_unit_test(test_latency_doctor_reports_off_quiet_and_spikes),
        cmocka_unit_test(test_latency_graph_draws_each_sample),
        cmocka_unit_test(test_monitor_line_is_redis_shaped_escaped_and_redacted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
