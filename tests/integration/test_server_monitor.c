/* test_server_monitor.c -- MONITOR (net/monitor.h) through real clients, on servers with two workers
 * (the harness's default):
 *  - several clients pipeline their commands at once (so that, on two workers, they run in
 *    parallel while the monitor lives on one of them): every command reaches the monitor once, in
 *    each client's order, in Redis's format `+<s>.<µs 6 digits> [<db> <ip:port>] "arg" ...`;
 *  - binary arguments are escaped as Redis's sdscatrepr; the passwords of AUTH and HELLO ... AUTH
 *    show as "(redacted)";
 *  - what is shown: commands that failed when they ran, SELECT with its new database, MULTI, the
 *    queued commands as EXEC runs them, then EXEC, a blocking command once (not again when it is
 *    served); what is not: unknown commands, wrong arity, administrative commands (CONFIG, CLIENT
 *    LIST);
 *  - the monitoring connection: keyspace commands are refused with Redis's replica error, others
 *    run (and show on its own monitor), MONITOR again answers nothing, CLIENT LIST says flags=O,
 *    RESET ends monitoring, QUIT closes;
 *  - tenants (Strata only): the administrator's monitor sees everyone, a tenant's monitor only its
 *    tenant's commands; TENANT commands (passwords) are never shown; TENANT DEL closes it; RESET
 *    under requirepass leaves the connection unauthenticated;
 *  - a monitor that never reads is disconnected at client-output-buffer-limit's hard limit (also
 *    against Redis), and with no limit configured at MONITOR_DEFAULT_LIMIT (Strata only: Redis has
 *    no bound there); the server keeps serving.
 * Every check but the Strata-only ones runs the same against STRATA_IT_SERVER=redis-server. No
 * assertion is on a duration: every wait polls with a deadline. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_harness.h"

#define LINE_WAIT_MS 10000   /* the longest a monitor line may take to arrive */
#define CLOSE_WAIT_MS 30000  /* a slow monitor's disconnection */
#define NCLI 4               /* clients feeding the monitor at once */
#define NCMD 60              /* commands each */
#define MAX_LINES 512

static st_server srv;   /* the group's server */
static st_server own;   /* a test's own server (tenants, output limits), freed by the teardown */
/* Connections a test opens, owned by the fixture so that a failing test leaks nothing. */
static st_raw mon, mon2;
static redisContext *cli[NCLI];

#define SKIP_ON_REDIS() \
    do { if (st_server_is_redis()) { print_message("Strata-only: skipped\n"); skip(); } } while (0)

/* ---- fixtures ---------------------------------------------------------------------------------- */

static int group_setup(void **state) {
    (void)state;
    return st_it_group_setup(&srv, "it-monitor", NULL);
}
static int group_teardown(void **state) {
    (void)state;
    return st_it_group_teardown(&srv);
}

static int setup(void **state) {
    mon = mon2 = (st_raw){.fd = -1};
    memset(cli, 0, sizeof cli);
    return st_it_fresh_client(&srv, state);
}

static int teardown(void **state) {
    st_raw_close(&mon);
    st_raw_close(&mon2);
    for (int i = 0; i < NCLI; i++) {
        if (cli[i]) redisFree(cli[i]);
        cli[i] = NULL;
    }
    int rc = st_it_teardown_client(&srv, state);
    if (own.root && st_server_free(&own)) rc = -1;
    memset(&own, 0, sizeof own);
    return rc;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

/* "ip:port" of the client side of fd, as the server prints the peer. */
static void local_addr(int fd, char *out, size_t n) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    char ip[INET_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&a, &al) == 0) inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    snprintf(out, n, "%s:%d", ip, ntohs(a.sin_port));
}

/* The next reply on a raw connection; fails the test if none comes within LINE_WAIT_MS. */
static char *next_reply(st_raw *r, const char *file, int line) {
    const char *why = NULL;
    char *rep = st_raw_reply(r, LINE_WAIT_MS, NULL, &why);
    if (!rep) st_fail_at(file, line, "no reply from the server within %d ms (%s)", LINE_WAIT_MS, why ? why : "?");
    return rep;
}
#define NEXT(r) next_reply((r), __FILE__, __LINE__)

/* Opens r on server s and makes it a monitor (+OK). */
static void monitor_open(const st_server *s, st_raw *r, const char *file, int line) {
    st_raw_open(s, r, file, line);
    if (st_raw_cmd(r, "MONITOR", NULL)) st_fail_at(file, line, "MONITOR: send failed");
    char *rep = next_reply(r, file, line);
    if (strcmp(rep, "+OK\r\n")) {
        char *e = st_escape(rep, strlen(rep));
        st_fail_at(file, line, "MONITOR answered %s (want +OK)", e);
    }
    free(rep);
}
#define MONITOR_OPEN(s, r) monitor_open((s), (r), __FILE__, __LINE__)

typedef struct mline {
    long long sec;
    int db;
    char addr[64];
    char *args;   /* the quoted arguments, without the final \r\n (malloc'ed) */
} mline;

/* Parses `+<sec>.<6 digits> [<db> <addr>] <args>\r\n`. false if the line is not of that shape. */
static bool parse_line(const char *s, mline *o) {
    memset(o, 0, sizeof *o);
    if (s[0] != '+') return false;
    char *end;
    o->sec = strtoll(s + 1, &end, 10);
    if (end == s + 1 || *end != '.') return false;
    const char *p = end + 1;
    for (int i = 0; i < 6; i++)
        if (p[i] < '0' || p[i] > '9') return false;
    p += 6;
    if (p[0] != ' ' || p[1] != '[') return false;
    p += 2;
    o->db = (int)strtol(p, &end, 10);
    if (end == p || *end != ' ') return false;
    p = end + 1;
    const char *rb = strchr(p, ']');
    if (!rb || (size_t)(rb - p) >= sizeof o->addr || rb[1] != ' ') return false;
    memcpy(o->addr, p, (size_t)(rb - p));
    o->addr[rb - p] = '\0';
    p = rb + 2;
    size_t n = strlen(p);
    if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n') return false;
    o->args = strndup(p, n - 2);
    return o->args != NULL;
}

/* The next monitor line on r, parsed; fails the test on anything else. */
static void next_line(st_raw *r, mline *o, const char *file, int line) {
    char *rep = next_reply(r, file, line);
    if (!parse_line(rep, o)) {
        char *e = st_escape(rep, strlen(rep));
        st_fail_at(file, line, "not a monitor line: %s", e);
    }
    free(rep);
}
#define NEXT_LINE(r, o) next_line((r), (o), __FILE__, __LINE__)

typedef struct lines {
    mline l[MAX_LINES];
    int n;
} lines;

static void lines_free(lines *ls) {
    for (int i = 0; i < ls->n; i++) free(ls->l[i].args);
    ls->n = 0;
}

/* Reads monitor lines into ls until one from `addr` has args `marker` (kept as the last). */
static void read_until(st_raw *r, lines *ls, const char *addr, const char *marker, const char *file, int line) {
    for (;;) {
        if (ls->n == MAX_LINES) st_fail_at(file, line, "more than %d lines before %s", MAX_LINES, marker);
        mline *m = &ls->l[ls->n];
        next_line(r, m, file, line);
        ls->n++;
        if (!strcmp(m->addr, addr) && !strcmp(m->args, marker)) return;
    }
}
#define READ_UNTIL(r, ls, addr, marker) read_until((r), (ls), (addr), (marker), __FILE__, __LINE__)

/* Fails unless the lines of `addr` in ls are exactly want[0..n) (args) in order, in database db
 * (-1: any). Lines whose args start with skip_prefix (NULL: none) are ignored. */
static void expect_lines_of(const lines *ls, const char *addr, const char *skip_prefix, size_t n,
                            const char *const *want, const int *dbs, const char *file, int line) {
    size_t k = 0;
    for (int i = 0; i < ls->n; i++) {
        const mline *m = &ls->l[i];
        if (strcmp(m->addr, addr)) continue;
        if (skip_prefix && !strncmp(m->args, skip_prefix, strlen(skip_prefix))) continue;
        if (k >= n) st_fail_at(file, line, "line %zu of %s: unexpected %s", k, addr, m->args);
        if (strcmp(m->args, want[k]) || (dbs && dbs[k] != m->db))
            st_fail_at(file, line, "line %zu of %s: [%d] %s (want [%d] %s)", k, addr, m->db, m->args, dbs ? dbs[k] : -1,
                       want[k]);
        k++;
    }
    if (k != n) st_fail_at(file, line, "%zu lines of %s (want %zu; the next is %s)", k, addr, n, want[k]);
}

static void expect_no_line_has(const lines *ls, const char *needle, const char *file, int line) {
    for (int i = 0; i < ls->n; i++)
        if (strstr(ls->l[i].args, needle)) st_fail_at(file, line, "a monitor line shows %s: %s", needle, ls->l[i].args);
}

/* ---- every client, in order ------------------------------------------------------------------------ */

static void test_monitor_shows_every_command_once_in_each_clients_order(void **state) {
    redisContext *c = *state;
    MONITOR_OPEN(&srv, &mon);
    char addr[NCLI][64];
    char *want[NCLI][NCMD];
    long long t0 = st_wall_ms() / 1000;
    for (int i = 0; i < NCLI; i++) {
        cli[i] = ST_CONNECT(&srv);
        local_addr(cli[i]->fd, addr[i], sizeof addr[i]);
    }
    for (int i = 0; i < NCLI; i++)
        for (int j = 0; j < NCMD; j++) {
            char key[32], val[32];
            snprintf(key, sizeof key, "k%d", i);
            snprintf(val, sizeof val, "v%d-%d", i, j);
            int rc;
            if (j % 3 == 0) {
                redisAppendCommand(cli[i], "SET %s %s", key, val);
                rc = asprintf(&want[i][j], "\"SET\" \"%s\" \"%s\"", key, val);
            } else if (j % 3 == 1) {
                redisAppendCommand(cli[i], "INCR n%d", i);
                rc = asprintf(&want[i][j], "\"INCR\" \"n%d\"", i);
            } else {
                redisAppendCommand(cli[i], "GET %s", key);
                rc = asprintf(&want[i][j], "\"GET\" \"%s\"", key);
            }
            assert_true(rc > 0);
        }
    for (int i = 0; i < NCLI; i++) st_flush(cli[i], __FILE__, __LINE__); /* all pipelines in the server at once */
    for (int i = 0; i < NCLI; i++)
        for (int j = 0; j < NCMD; j++) {
            redisReply *r = st_get_reply(cli[i], __FILE__, __LINE__);
            if (r->type == REDIS_REPLY_ERROR) ST_FAIL("client %d command %d: %s", i, j, r->str);
            freeReplyObject(r);
        }
    long long t1 = st_wall_ms() / 1000;
    int got[NCLI] = {0};
    for (int n = 0; n < NCLI * NCMD; n++) {
        mline m;
        NEXT_LINE(&mon, &m);
        int i = 0;
        while (i < NCLI && strcmp(m.addr, addr[i])) i++;
        if (i == NCLI) ST_FAIL("line from an unknown client %s: %s", m.addr, m.args);
        if (got[i] == NCMD) ST_FAIL("client %d: more than %d lines: %s", i, NCMD, m.args);
        if (strcmp(m.args, want[i][got[i]]))
            ST_FAIL("client %d line %d: %s (want %s): out of order or wrong", i, got[i], m.args, want[i][got[i]]);
        if (m.db != 0) ST_FAIL("client %d: db %d (want 0)", i, m.db);
        if (m.sec < t0 - 1 || m.sec > t1 + 1) ST_FAIL("timestamp %lld outside [%lld, %lld]", m.sec, t0, t1);
        free(m.args);
        got[i]++;
    }
    /* and nothing twice: the next line is a marker sent afterwards */
    EXPECT_BULK(c, "end", "ECHO end");
    char caddr[64];
    local_addr(c->fd, caddr, sizeof caddr);
    mline m;
    NEXT_LINE(&mon, &m);
    if (strcmp(m.addr, caddr) || strcmp(m.args, "\"ECHO\" \"end\""))
        ST_FAIL("after every client's lines: %s %s (want the marker)", m.addr, m.args);
    free(m.args);
    for (int i = 0; i < NCLI; i++)
        for (int j = 0; j < NCMD; j++) free(want[i][j]);
}

/* ---- format: escaping, redaction ---------------------------------------------------------------- */

static void test_monitor_escapes_binary_arguments_and_redacts_passwords(void **state) {
    redisContext *c = *state;
    MONITOR_OPEN(&srv, &mon);
    char addr[64];
    local_addr(c->fd, addr, sizeof addr);
    static const char bin[] = "a\0b\r\n\t\"\\\a\b\xff\x7f \x01\xc3\xa9";
    const char *argv[] = {"SET", "bin", bin};
    const size_t argvlen[] = {3, 3, sizeof bin - 1};
    redisReply *r = st_cmd_argv(c, __FILE__, __LINE__, 3, argv, argvlen);
    st_check_reply_status(r, __FILE__, __LINE__, "OK", "SET bin");
    freeReplyObject(r);
    /* no requirepass: AUTH <pw> fails, AUTH <user> <pw> fails, HELLO AUTH default <pw> succeeds
     * (the default user has no password); each shows with its passwords hidden */
    EXPECT_ERR_PREFIX(c, "ERR AUTH <password> called without any password configured", "AUTH onlypw-secret");
    EXPECT_ERR_PREFIX(c, "WRONGPASS", "AUTH someone user-secret");
    r = CMD(c, "HELLO 2 AUTH default hello-secret");
    if (r->type != REDIS_REPLY_ARRAY) ST_FAIL("HELLO 2 AUTH default <pw>: not a map");
    freeReplyObject(r);
    EXPECT_BULK(c, "done", "ECHO done");
    lines ls = {0};
    READ_UNTIL(&mon, &ls, addr, "\"ECHO\" \"done\"");
    static const char *const want[] = {
        "\"SET\" \"bin\" \"a\\x00b\\r\\n\\t\\\"\\\\\\a\\b\\xff\\x7f \\x01\\xc3\\xa9\"",
        "\"AUTH\" \"(redacted)\"",
        "\"AUTH\" \"(redacted)\" \"(redacted)\"",
        "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\"",
        "\"ECHO\" \"done\"",
    };
    expect_lines_of(&ls, addr, NULL, 5, want, NULL, __FILE__, __LINE__);
    expect_no_line_has(&ls, "secret", __FILE__, __LINE__);
    expect_no_line_has(&ls, "someone", __FILE__, __LINE__);
    lines_free(&ls);
}

/* ---- which commands --------------------------------------------------------------------------------- */

static void test_monitor_shows_what_ran_and_hides_rejected_and_admin_commands(void **state) {
    redisContext *c = *state;
    MONITOR_OPEN(&srv, &mon);
    char addr[64], addr2[64];
    local_addr(c->fd, addr, sizeof addr);
    cli[0] = ST_CONNECT(&srv);
    local_addr(cli[0]->fd, addr2, sizeof addr2);

    EXPECT_ERR_PREFIX(c, "ERR unknown command", "NOSUCHCMD x");
    EXPECT_ERR(c, "ERR wrong number of arguments for 'get' command", "GET");
    redisReply *r = CMD(c, "CONFIG GET maxclients");
    freeReplyObject(r);
    r = CMD(c, "CLIENT LIST");
    freeReplyObject(r);
    EXPECT_OK(c, "SET s abc");
    EXPECT_ERR(c, "ERR value is not an integer or out of range", "INCR s");
    EXPECT_OK(c, "SELECT 2");
    EXPECT_BULK(c, "in2", "ECHO in2");
    EXPECT_OK(c, "SELECT 0");
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "SET m 1");
    EXPECT_STATUS(c, "QUEUED", "GET m");
    r = CMD(c, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) ST_FAIL("EXEC: not a 2-element array");
    freeReplyObject(r);
    EXPECT_NIL(c, "BLPOP nolist 0.01"); /* times out: shown once, when it ran */
    /* a blocked client served by another: its BLPOP shows once, not again when it is served */
    redisAppendCommand(cli[0], "BLPOP q 30");
    st_flush(cli[0], __FILE__, __LINE__);
    int64_t end = st_now_ms() + LINE_WAIT_MS;
    while (st_info_field(c, "clients", "blocked_clients") != 1 && st_now_ms() < end) st_sleep_ms(5);
    if (st_info_field(c, "clients", "blocked_clients") != 1) ST_FAIL("BLPOP q did not block");
    EXPECT_INT(c, 1, "RPUSH q x");
    r = st_get_reply(cli[0], __FILE__, __LINE__);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) ST_FAIL("BLPOP q: not served");
    freeReplyObject(r);
    EXPECT_BULK(cli[0], "end2", "ECHO end2");
    EXPECT_BULK(c, "end", "ECHO end");
    lines ls = {0};
    READ_UNTIL(&mon, &ls, addr, "\"ECHO\" \"end\"");
    static const char *const want[] = {
        "\"SET\" \"s\" \"abc\"", "\"INCR\" \"s\"", "\"SELECT\" \"2\"", "\"ECHO\" \"in2\"", "\"SELECT\" \"0\"",
        "\"MULTI\"", "\"SET\" \"m\" \"1\"", "\"GET\" \"m\"", "\"EXEC\"", "\"BLPOP\" \"nolist\" \"0.01\"",
        "\"RPUSH\" \"q\" \"x\"", "\"ECHO\" \"end\"",
    };
    static const int dbs[] = {0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_lines_of(&ls, addr, "\"INFO\"", sizeof want / sizeof *want, want, dbs, __FILE__, __LINE__);
    static const char *const want2[] = {"\"BLPOP\" \"q\" \"30\"", "\"ECHO\" \"end2\""};
    expect_lines_of(&ls, addr2, NULL, 2, want2, NULL, __FILE__, __LINE__);
    lines_free(&ls);
}

/* ---- the monitoring connection ------------------------------------------------------------------------ */

/* Reads replies on r until `want` (exact bytes), skipping monitor lines; fails on anything else. */
static void expect_reply_skipping_lines(st_raw *r, const char *want, const char *file, int line) {
    for (int i = 0; i < MAX_LINES; i++) {
        char *rep = next_reply(r, file, line);
        mline m;
        if (!strcmp(rep, want)) {
            free(rep);
            return;
        }
        if (!parse_line(rep, &m)) {
            char *e = st_escape(rep, strlen(rep)), *w = st_escape(want, strlen(want));
            st_fail_at(file, line, "got %s (want %s)", e, w);
        }
        free(m.args);
        free(rep);
    }
    st_fail_at(file, line, "%d monitor lines and no %s", MAX_LINES, want);
}
#define EXPECT_REPLY(r, want) expect_reply_skipping_lines((r), (want), __FILE__, __LINE__)

static void test_monitoring_connection_refuses_keyspace_commands_and_resets(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "SET k v");
    MONITOR_OPEN(&srv, &mon);
    char maddr[64];
    local_addr(mon.fd, maddr, sizeof maddr);

    assert_int_equal(st_raw_cmd(&mon, "GET", "k", NULL), 0);
    EXPECT_REPLY(&mon, "-ERR Replica can't interact with the keyspace\r\n");
    assert_int_equal(st_raw_cmd(&mon, "PING", NULL), 0);
    EXPECT_REPLY(&mon, "+PONG\r\n");
    mline m;
    NEXT_LINE(&mon, &m); /* its own PING: it ran */
    if (strcmp(m.addr, maddr) || strcmp(m.args, "\"PING\"")) ST_FAIL("after PONG: %s %s", m.addr, m.args);
    free(m.args);
    /* MONITOR again answers nothing at all: the next reply is ECHO's */
    assert_int_equal(st_raw_cmd(&mon, "MONITOR", NULL), 0);
    assert_int_equal(st_raw_cmd(&mon, "ECHO", "x", NULL), 0);
    EXPECT_REPLY(&mon, "$1\r\nx\r\n");

    /* CLIENT LIST: the monitor has flags=O, everyone else N */
    redisReply *r = CMD(c, "CLIENT LIST");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    char needle[96];
    snprintf(needle, sizeof needle, "addr=%s ", maddr);
    const char *me = strstr(r->str, needle);
    if (!me) ST_FAIL("CLIENT LIST lacks the monitor %s:\n%s", maddr, r->str);
    const char *eol = strchr(me, '\n');
    const char *fl = strstr(me, " flags=O ");
    if (!fl || (eol && fl > eol)) ST_FAIL("the monitor's CLIENT LIST line has no flags=O:\n%s", r->str);
    int n_o = 0;
    for (const char *p = r->str; (p = strstr(p, " flags=O ")); p++) n_o++;
    if (n_o != 1) ST_FAIL("%d clients with flags=O (want 1):\n%s", n_o, r->str);
    freeReplyObject(r);

    /* RESET: a normal connection again */
    assert_int_equal(st_raw_cmd(&mon, "RESET", NULL), 0);
    EXPECT_REPLY(&mon, "+RESET\r\n");
    assert_int_equal(st_raw_cmd(&mon, "GET", "k", NULL), 0);
    EXPECT_REPLY(&mon, "$1\r\nv\r\n");
    EXPECT_OK(c, "SET k2 v2");
    /* still monitoring, its PING's line would come right after PONG, before ECHO's reply */
    assert_int_equal(st_raw_cmd(&mon, "PING", NULL), 0);
    assert_int_equal(st_raw_cmd(&mon, "ECHO", "y", NULL), 0);
    RAW_EXPECT(&mon, "+PONG\r\n");
    RAW_EXPECT(&mon, "$1\r\ny\r\n");
    r = CMD(c, "CLIENT LIST");
    if (strstr(r->str, " flags=O ")) ST_FAIL("flags=O after RESET:\n%s", r->str);
    freeReplyObject(r);

    /* QUIT from a monitor: +OK and the connection closes */
    MONITOR_OPEN(&srv, &mon2);
    assert_int_equal(st_raw_cmd(&mon2, "QUIT", NULL), 0);
    char *rest = NULL;
    if (!st_raw_wait_eof(&mon2, LINE_WAIT_MS, &rest, NULL)) ST_FAIL("QUIT did not close the monitor");
    if (strncmp(rest, "+OK\r\n", 5)) ST_FAIL("QUIT from a monitor answered %s", rest);
    free(rest);

    /* MONITOR inside MULTI: Redis 7's error as EXEC's element */
    EXPECT_OK(c, "MULTI");
    EXPECT_STATUS(c, "QUEUED", "MONITOR");
    r = CMD(c, "EXEC");
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || r->element[0]->type != REDIS_REPLY_ERROR ||
        strcmp(r->element[0]->str, "ERR MONITOR isn't allowed for DENY BLOCKING client"))
        ST_FAIL("MULTI MONITOR EXEC: %s", st_reply_repr(r));
    freeReplyObject(r);
    EXPECT_OK(c, "SET still normal");
}

/* ---- tenants (Strata) ------------------------------------------------------------------------------------ */

static void raw_auth(st_raw *r, const char *user, const char *pw, const char *file, int line) {
    if ((user ? st_raw_cmd(r, "AUTH", user, pw, NULL) : st_raw_cmd(r, "AUTH", pw, NULL)) != 0)
        st_fail_at(file, line, "AUTH: send failed");
    char *rep = next_reply(r, file, line);
    if (strcmp(rep, "+OK\r\n")) st_fail_at(file, line, "AUTH %s: %s", user ? user : "", rep);
    free(rep);
}

static void test_monitor_of_a_tenant_sees_only_its_tenant(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    if (st_server_start(&own, "it-monitor-tenants", ST_IT_ARGS("--requirepass", "adminpw")))
        ST_FAIL("server did not start");
    redisContext *adm = cli[0] = ST_CONNECT(&own);
    EXPECT_OK(adm, "AUTH adminpw");
    EXPECT_OK(adm, "TENANT ADD alpha pwa-secret");
    EXPECT_OK(adm, "TENANT ADD beta pwb-secret");
    /* the administrator's monitor and alpha's */
    st_raw_open(&own, &mon, __FILE__, __LINE__);
    raw_auth(&mon, NULL, "adminpw", __FILE__, __LINE__);
    assert_int_equal(st_raw_cmd(&mon, "MONITOR", NULL), 0);
    RAW_EXPECT(&mon, "+OK\r\n");
    st_raw_open(&own, &mon2, __FILE__, __LINE__);
    raw_auth(&mon2, "alpha", "pwa-secret", __FILE__, __LINE__);
    assert_int_equal(st_raw_cmd(&mon2, "MONITOR", NULL), 0);
    RAW_EXPECT(&mon2, "+OK\r\n");

    redisContext *a = cli[1] = ST_CONNECT(&own), *b = cli[2] = ST_CONNECT(&own);
    EXPECT_OK(a, "AUTH alpha pwa-secret");
    EXPECT_OK(b, "AUTH beta pwb-secret");
    char aaddr[64], baddr[64], admaddr[64];
    local_addr(a->fd, aaddr, sizeof aaddr);
    local_addr(b->fd, baddr, sizeof baddr);
    local_addr(adm->fd, admaddr, sizeof admaddr);
    EXPECT_OK(b, "SET y beta-value");
    EXPECT_OK(adm, "SET z admin-value");
    EXPECT_OK(adm, "TENANT ADD gamma pwg-secret");
    EXPECT_OK(a, "SET x alpha-value");
    EXPECT_BULK(b, "b-end", "ECHO b-end");
    EXPECT_BULK(adm, "adm-end", "ECHO adm-end");
    EXPECT_BULK(a, "a-end", "ECHO a-end"); /* last: every other line was fed before it */

    lines ls = {0};
    READ_UNTIL(&mon2, &ls, aaddr, "\"ECHO\" \"a-end\"");
    static const char *const wa[] = {"\"AUTH\" \"(redacted)\" \"(redacted)\"", "\"SET\" \"x\" \"alpha-value\"",
                                     "\"ECHO\" \"a-end\""};
    expect_lines_of(&ls, aaddr, NULL, 3, wa, NULL, __FILE__, __LINE__);
    for (int i = 0; i < ls.n; i++)
        if (strcmp(ls.l[i].addr, aaddr)) ST_FAIL("alpha's monitor shows %s's %s", ls.l[i].addr, ls.l[i].args);
    lines_free(&ls);

    READ_UNTIL(&mon, &ls, aaddr, "\"ECHO\" \"a-end\"");
    static const char *const wb[] = {"\"AUTH\" \"(redacted)\" \"(redacted)\"", "\"SET\" \"y\" \"beta-value\"",
                                     "\"ECHO\" \"b-end\""};
    expect_lines_of(&ls, baddr, NULL, 3, wb, NULL, __FILE__, __LINE__);
    static const char *const wadm[] = {"\"SET\" \"z\" \"admin-value\"", "\"ECHO\" \"adm-end\""};
    expect_lines_of(&ls, admaddr, NULL, 2, wadm, NULL, __FILE__, __LINE__);
    expect_lines_of(&ls, aaddr, NULL, 3, wa, NULL, __FILE__, __LINE__);
    expect_no_line_has(&ls, "TENANT", __FILE__, __LINE__);
    expect_no_line_has(&ls, "secret", __FILE__, __LINE__);
    lines_free(&ls);

    /* alpha's CLIENT LIST shows its monitor as one; TENANT DEL alpha closes it */
    redisReply *r = CMD(a, "CLIENT LIST");
    if (!strstr(r->str, " flags=O ")) ST_FAIL("alpha's CLIENT LIST shows no monitor:\n%s", r->str);
    freeReplyObject(r);
    EXPECT_OK(adm, "TENANT DEL alpha");
    if (!st_raw_wait_eof(&mon2, CLOSE_WAIT_MS, NULL, NULL)) ST_FAIL("TENANT DEL left alpha's monitor open");
    EXPECT_STATUS(adm, "PONG", "PING");
    /* RESET ends monitoring and, with requirepass, the authentication too */
    assert_int_equal(st_raw_cmd(&mon, "RESET", NULL), 0);
    EXPECT_REPLY(&mon, "+RESET\r\n");
    assert_int_equal(st_raw_cmd(&mon, "GET", "z", NULL), 0);
    RAW_EXPECT(&mon, "-NOAUTH Authentication required.\r\n");
}

/* ---- a monitor that does not read ------------------------------------------------------------------------ */

/* The whole server log (malloc'ed, NUL-terminated; "" if unreadable). */
static char *read_log(const st_server *s) {
    char *log = NULL;
    size_t n = 0;
    FILE *f = fopen(s->log_path, "r");
    if (!f || getdelim(&log, &n, '\0', f) < 0) {
        free(log);
        log = strdup("");
    }
    if (f) fclose(f);
    return log;
}

/* A raw connection with a small receive buffer (set before connect), so the server's side backs up. */
static void raw_open_small(const st_server *s, st_raw *r) {
    *r = (st_raw){.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    assert_true(r->fd >= 0);
    int rcvbuf = 4096;
    setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(r->fd, (struct sockaddr *)&a, sizeof a), 0);
}

/* Opens a monitor that reads its +OK and then nothing, has `c` ECHO `count` arguments of `size`
 * bytes (reading every reply), and waits until the monitor is gone from CLIENT LIST. Returns the
 * monitor's address. */
static void flood_a_silent_monitor(const st_server *s, redisContext *c, size_t size, int count, char *maddr,
                                   size_t maddr_len) {
    raw_open_small(s, &mon);
    local_addr(mon.fd, maddr, maddr_len);
    assert_int_equal(st_raw_cmd(&mon, "MONITOR", NULL), 0);
    RAW_EXPECT(&mon, "+OK\r\n");
    char *big = malloc(size);
    assert_non_null(big);
    memset(big, 'm', size);
    char needle[96];
    snprintf(needle, sizeof needle, "addr=%s ", maddr);
    int sent = 0;
    bool gone = false;
    int64_t end = st_now_ms() + CLOSE_WAIT_MS;
    while (!gone && st_now_ms() < end) {
        /* batches of 8 pipelined ECHOs (every reply read) until the monitor is gone or count were sent */
        int k = count - sent < 8 ? count - sent : 8;
        for (int i = 0; i < k; i++) redisAppendCommand(c, "ECHO %b", big, size);
        for (int i = 0; i < k; i++) {
            redisReply *r = st_get_reply(c, __FILE__, __LINE__);
            if (r->type != REDIS_REPLY_STRING || r->len != size) ST_FAIL("ECHO of %zu bytes: wrong reply", size);
            freeReplyObject(r);
        }
        sent += k;
        redisReply *r = CMD(c, "CLIENT LIST");
        gone = !strstr(r->str, needle);
        freeReplyObject(r);
        if (!gone && sent == count) st_sleep_ms(20);
    }
    free(big);
    if (!gone) ST_FAIL("a monitor that never reads is still connected after %d lines of %zu bytes", sent, size);
    print_message("silent monitor closed after %d lines of %zu bytes\n", sent, size);
}

static void test_silent_monitor_is_closed_at_the_hard_limit(void **state) {
    (void)state;
    if (st_server_start(&own, "it-monitor-obl", ST_IT_ARGS("--client-output-buffer-limit", "normal 1mb 0 0")))
        ST_FAIL("server did not start");
    redisContext *c = cli[0] = ST_CONNECT(&own);
    char maddr[64];
    flood_a_silent_monitor(&own, c, 64 << 10, 512, maddr, sizeof maddr);
    EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_OK(c, "SET after flood");
    if (!st_server_is_redis() && st_info_field(c, "stats", "client_output_buffer_limit_disconnections") != 1)
        ST_FAIL("client_output_buffer_limit_disconnections did not count the monitor");
}

static void test_silent_monitor_is_closed_at_the_default_limit(void **state) {
    (void)state;
    SKIP_ON_REDIS(); /* Redis's normal class has no default limit: its monitor would grow without bound */
    if (st_server_start(&own, "it-monitor-cap", NULL)) ST_FAIL("server did not start");
    redisContext *c = cli[0] = ST_CONNECT(&own);
    long long before = st_info_field(c, "stats", "client_output_buffer_limit_disconnections");
    char maddr[64];
    /* 32 MiB of lines plus what the sockets hold: at most 96 lines of 1 MiB */
    flood_a_silent_monitor(&own, c, 1 << 20, 96, maddr, sizeof maddr);
    EXPECT_STATUS(c, "PONG", "PING");
    if (st_info_field(c, "stats", "client_output_buffer_limit_disconnections") != before + 1)
        ST_FAIL("client_output_buffer_limit_disconnections did not count the monitor");
    char *log = read_log(&own);
    char want[128];
    snprintf(want, sizeof want, "addr=%s closed for overcoming of output buffer limits (monitor:", maddr);
    if (!strstr(log, want)) ST_FAIL("the log does not say why the monitor was closed (%s)", want);
    free(log);
}

int main(void) {
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_monitor_shows_every_command_once_in_each_clients_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_escapes_binary_arguments_and_redacts_passwords, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_shows_what_ran_and_hides_rejected_and_admin_commands, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_monitoring_connection_refuses_keyspace_commands_and_resets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_monitor_of_a_tenant_sees_only_its_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_monitor_is_closed_at_the_hard_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_monitor_is_closed_at_the_default_limit, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(t, group_setup, group_teardown));
}
