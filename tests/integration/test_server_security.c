/* test_server_security.c -- strata-server's defences, each on a server of its own: the default bind
 * (127.0.0.1 and ::1 only), protected mode (a client from 127.0.0.2 gets -DENIED and the connection
 * closes until a password is set or protected-mode is off), maxclients, client-query-buffer-limit,
 * client-output-buffer-limit (hard limit, and the soft limit over time for a client that keeps
 * sending and for one that only reads slowly), timeout, and AUTH's errors.
 * Everything Redis 7 also does is checked the same way against STRATA_IT_SERVER=redis-server; INFO
 * fields Redis 7.0 lacks (the *_disconnections counters, protected_mode_refused_connections,
 * acl_access_denied_auth) and the default bind (Redis's is "* -::*") are checked on Strata only.
 * No assertion is on a duration: every wait polls until its condition holds or a deadline passes.
 * Without a usable 127.0.0.2 (all of 127/8 is local on Linux) the protected-mode test is skipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_harness.h"

#define ALT_LOOPBACK "127.0.0.2" /* local, but not an address protected mode trusts */
#define BIG_LEN 300000           /* a value whose GET reply alone passes the 256kb soft limit */
#define BIG_REPLY_LEN (BIG_LEN + sizeof "$300000\r\n" - 1 + 2)
#define SLOW_RCVBUF 4096         /* the non-reading clients' receive buffer: replies back up fast */
#define CLOSE_DEADLINE_MS 10000  /* a limit's disconnection, or a cron's, must come within this */

static st_server srv;       /* each test's own server (setup/teardown), so CONFIG SETs never leak */
static bool have_alt;       /* 127.0.0.2 can be bound (probed once in main) */
static pid_t own_pid;       /* the default-bind test's own strata-server; 0 when none runs */
static bool srv_stopped;    /* the test stopped srv on purpose (its port serves own_pid) */
/* Connections a test opens besides its client, owned by the fixture so that a failing test (cmocka
 * longjmps out of it) leaks nothing: teardown closes whatever is still open. */
static st_raw raw1, raw2;
static redisContext *ctx1, *ctx2;

/* ---- fixtures ---------------------------------------------------------------------------------- */

static int start(void **state, const char *const *args) {
    *state = NULL;
    own_pid = 0;
    srv_stopped = false;
    raw1 = raw2 = (st_raw){.fd = -1};
    ctx1 = ctx2 = NULL;
    if (st_it_group_setup(&srv, "it-security", args)) return -1;
    if (st_it_fresh_client(&srv, state)) {
        st_server_free(&srv);
        return -1;
    }
    return 0;
}

static int setup(void **state) { return start(state, NULL); }

/* Listening on 127.0.0.2 too makes the refused client the "interface other than loopback" of
 * Redis's protected mode; without it the test skips, so the server only needs 127.0.0.1. */
static int setup_protected(void **state) {
    return start(state, have_alt ? ST_IT_ARGS("--bind", "127.0.0.1", ALT_LOOPBACK) : NULL);
}

/* Frees a fixture-owned hiredis connection (NULL-safe) and forgets it. */
static void ctx_free(redisContext **c) {
    if (*c) redisFree(*c);
    *c = NULL;
}

static int teardown(void **state) {
    int rc = 0;
    st_raw_close(&raw1);
    st_raw_close(&raw2);
    ctx_free(&ctx1);
    ctx_free(&ctx2);
    if (srv_stopped) {
        if (*state) redisFree(*state);
        *state = NULL;
    } else {
        rc = st_it_teardown_client(&srv, state);
    }
    if (own_pid > 0) { /* the test failed before stopping it */
        kill(own_pid, SIGKILL);
        waitpid(own_pid, NULL, 0);
        own_pid = 0;
    }
    if (st_it_group_teardown(&srv)) rc = -1;
    return rc;
}

/* ---- helpers ----------------------------------------------------------------------------------- */

/* A raw connection to the server's port at dst (NULL: 127.0.0.1) from src (NULL: any), with
 * SO_RCVBUF set to rcvbuf before connect (0: the default) so the advertised window is small from
 * the first segment. 0; -2 if src cannot be bound; -1 on another error (printed). */
static int raw_connect_ex(const st_server *s, const char *src, const char *dst, int rcvbuf, st_raw *r) {
    *r = (st_raw){.fd = -1};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (src) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        if (inet_pton(AF_INET, src, &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            close(fd);
            return -2;
        }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    inet_pton(AF_INET, dst ? dst : "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "raw connect %s -> %s:%d: %s\n", src ? src : "*", dst ? dst : "127.0.0.1", s->port,
                strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->fd = fd;
    return 0;
}

static void raw_open_ex(const st_server *s, const char *src, const char *dst, int rcvbuf, st_raw *r,
                        const char *file, int line) {
    if (raw_connect_ex(s, src, dst, rcvbuf, r))
        st_fail_at(file, line, "connect from %s to %s:%d failed", src ? src : "*", dst ? dst : "127.0.0.1", s->port);
}
#define RAW_OPEN_EX(s, src, dst, rcvbuf, r) raw_open_ex((s), (src), (dst), (rcvbuf), (r), __FILE__, __LINE__)

/* Waits for the server to close r and returns what it sent before (malloc'ed, NUL-terminated, *n
 * its length); fails the test if the connection is still open after deadline_ms. */
static char *expect_closed(st_raw *r, int deadline_ms, size_t *n, const char *file, int line, const char *what) {
    char *out = NULL;
    size_t len = 0;
    if (!st_raw_wait_eof(r, deadline_ms, &out, &len)) {
        free(out);
        st_fail_at(file, line, "%s: the server did not close the connection within %d ms", what, deadline_ms);
    }
    if (n) *n = len;
    return out;
}
#define EXPECT_CLOSED(r, n, what) expect_closed((r), CLOSE_DEADLINE_MS, (n), __FILE__, __LINE__, (what))

/* Fails unless the bytes got[0, n) begin with prefix (and, if whole_line, are one "\r\n" line). */
static void check_prefix(const char *got, size_t n, const char *prefix, bool whole_line, const char *file,
                         int line, const char *what) {
    size_t pl = strlen(prefix);
    bool ok = n >= pl && !memcmp(got, prefix, pl);
    if (ok && whole_line) ok = n >= 2 && !memcmp(got + n - 2, "\r\n", 2) && memmem(got, n, "\r\n", 2) == got + n - 2;
    if (!ok) {
        char *g = st_escape(got, n), *w = st_escape(prefix, pl);
        st_fail_at(file, line, "%s: got \"%s\", want a %s starting \"%s\"", what, g, whole_line ? "line" : "reply", w);
    }
}
#define CHECK_PREFIX(got, n, prefix, what) check_prefix((got), (n), (prefix), true, __FILE__, __LINE__, (what))

/* Polls INFO <section> until `field` equals want (counters are bumped after the close the client
 * sees, and connections end asynchronously), at most deadline_ms; fails the test otherwise. */
static void expect_info_soon(redisContext *c, const char *section, const char *field, long long want,
                             int deadline_ms, const char *file, int line) {
    int64_t end = st_now_ms() + deadline_ms;
    long long v;
    while ((v = st_info_field(c, section, field)) != want && st_now_ms() < end) st_sleep_ms(20);
    if (v != want) st_fail_at(file, line, "INFO %s %s: %lld, want %lld (waited %d ms)", section, field, v, want, deadline_ms);
}
#define EXPECT_INFO_SOON(c, section, field, want) \
    expect_info_soon((c), (section), (field), (want), CLOSE_DEADLINE_MS, __FILE__, __LINE__)

/* An INFO stats counter strata-server has and Redis 7.0 lacks (-1 on Redis, where nobody asks). */
static long long strata_stat(redisContext *c, const char *field) {
    return st_server_is_redis() ? -1 : st_info_field(c, "stats", field);
}

static void set_big(redisContext *c) {
    char *v = malloc(BIG_LEN);
    assert_non_null(v);
    memset(v, 'v', BIG_LEN);
    redisReply *r = CMD(c, "SET big %b", v, (size_t)BIG_LEN);
    st_check_reply_status(r, __FILE__, __LINE__, "OK", "SET big <300000 bytes>");
    freeReplyObject(r);
    free(v);
}

/* Sends n pipelined GET big in one write, reading nothing. A PING answered first makes sure the
 * server has accepted r, so connected_clients counts it from here on. */
static void send_gets(st_raw *r, int n) {
    st_raw_cmd(r, "PING", NULL);
    RAW_EXPECT(r, "+PONG\r\n");
    static const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    size_t len = (size_t)n * (sizeof get - 1);
    char *buf = malloc(len);
    assert_non_null(buf);
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * (sizeof get - 1), get, sizeof get - 1);
    if (st_raw_send(r, buf, len)) ST_FAIL("sending %d pipelined GETs failed", n);
    free(buf);
}

/* Whether a PING on addr (family AF_INET or AF_INET6) at port gets +PONG within 2 s; quiet. */
static bool answers_ping(int family, const char *addr, int port) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    }
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        close(fd);
        return false;
    }
    st_raw r = {.fd = fd};
    bool ok = false;
    if (st_raw_sends(&r, "*1\r\n$4\r\nPING\r\n") == 0) {
        char *rep = st_raw_reply(&r, 2000, NULL, NULL);
        ok = rep && !strcmp(rep, "+PONG\r\n");
        free(rep);
    }
    st_raw_close(&r);
    return ok;
}

/* Whether this host can bind addr (an IPv4 or IPv6 literal): 127.0.0.2 and ::1 may be missing in
 * a container. */
static bool can_bind(int family, const char *addr) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int ok;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        ok = inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        ok = inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    }
    bool bound = ok == 1 && bind(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return bound;
}

/* ---- bind and protected mode ------------------------------------------------------------------- */

/* The harness always passes --bind, so this test stops its server and starts the same binary on
 * the same port and directory without one: the built-in default must be loopback only. */
static void test_default_bind_is_loopback_only(void **state) {
    (void)state;
    if (st_server_is_redis()) skip(); /* Redis 7's default bind is "* -::*" */
    char link[64], bin[PATH_MAX];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)srv.pid);
    ssize_t bl = readlink(link, bin, sizeof bin - 1);
    if (bl <= 0) ST_FAIL("readlink %s: %s", link, strerror(errno));
    bin[bl] = '\0';
    srv_stopped = true;
    if (st_server_stop(&srv)) ST_FAIL("stopping the harness's server failed");

    char port[16];
    snprintf(port, sizeof port, "%d", srv.port);
    int logfd = open(srv.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) ST_FAIL("open %s: %s", srv.log_path, strerror(errno));
    dprintf(logfd, "---- test: %s --port %s --dir %s (no --bind)\n", bin, port, srv.data_dir);
    pid_t parent = getpid();
    own_pid = fork();
    if (own_pid < 0) {
        close(logfd);
        ST_FAIL("fork: %s", strerror(errno));
    }
    if (own_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test killed by CTest takes the server with it */
        if (getppid() != parent) _exit(127);
        dup2(logfd, 1);
        dup2(logfd, 2);
        for (int fd = 3; fd < 1024; fd++) close(fd); /* no test socket may live on in the server */
        execl(bin, bin, "--port", port, "--dir", srv.data_dir, "--workers", "1", (char *)NULL);
        _exit(127);
    }
    close(logfd);
    int64_t end = st_now_ms() + ST_SERVER_START_DEADLINE_MS;
    while (!answers_ping(AF_INET, "127.0.0.1", srv.port) && st_now_ms() < end) {
        if (waitpid(own_pid, NULL, WNOHANG) == own_pid) {
            own_pid = 0;
            ST_FAIL("strata-server without --bind exited before it answered (log: %s)", srv.log_path);
        }
        st_sleep_ms(20);
    }

    redisContext *c = ctx1 = ST_CONNECT(&srv);
    EXPECT_STRS(c, 2, ((const char *[]){"bind", "127.0.0.1 ::1"}), "CONFIG GET bind");
    EXPECT_STRS(c, 2, ((const char *[]){"protected-mode", "yes"}), "CONFIG GET protected-mode");
    ctx_free(&ctx1);
    if (can_bind(AF_INET6, "::1") && !answers_ping(AF_INET6, "::1", srv.port))
        ST_FAIL("no PONG on [::1]:%d", srv.port);
    if (have_alt && answers_ping(AF_INET, ALT_LOOPBACK, srv.port))
        ST_FAIL("the default bind also listens on %s:%d (a wildcard?)", ALT_LOOPBACK, srv.port);

    kill(own_pid, SIGTERM);
    int status = 0;
    end = st_now_ms() + ST_SERVER_STOP_DEADLINE_MS;
    pid_t got;
    while ((got = waitpid(own_pid, &status, WNOHANG)) == 0 && st_now_ms() < end) st_sleep_ms(10);
    if (got != own_pid) ST_FAIL("strata-server did not exit on SIGTERM"); /* teardown kills it */
    own_pid = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ST_FAIL("strata-server ended with status 0x%x", status);
}

static void test_protected_mode_refuses_non_loopback_peer(void **state) {
    redisContext *c = *state;
    if (!have_alt) {
        fprintf(stderr, "skipped: %s cannot be bound here\n", ALT_LOOPBACK);
        skip();
    }
    const bool redis = st_server_is_redis();
    EXPECT_STRS(c, 2, ((const char *[]){"protected-mode", "yes"}), "CONFIG GET protected-mode");
    /* Redis 7.0 counts these refusals in rejected_connections; Strata has its own counter */
    const char *counter = redis ? "rejected_connections" : "protected_mode_refused_connections";
    long long refused0 = st_info_field(c, "stats", counter);

    st_raw *r = &raw1;
    RAW_OPEN_EX(&srv, ALT_LOOPBACK, ALT_LOOPBACK, 0, r);
    size_t n;
    char *got = EXPECT_CLOSED(r, &n, "a client from 127.0.0.2 without requirepass");
    CHECK_PREFIX(got, n, "-DENIED ", "the protected-mode refusal"); /* the text after it is each server's */
    free(got);
    st_raw_close(r);
    EXPECT_INFO_SOON(c, "stats", counter, refused0 + 1);
    EXPECT_STATUS(c, "PONG", "PING"); /* 127.0.0.1 is served all along */

    RAW_OPEN_EX(&srv, "127.0.0.1", ALT_LOOPBACK, 0, r); /* the peer address counts, not the listener */
    st_raw_cmd(r, "PING", NULL);
    RAW_EXPECT(r, "+PONG\r\n");
    st_raw_close(r);

    /* a password makes strangers welcome, as unauthenticated clients */
    EXPECT_OK(c, "CONFIG SET requirepass pw");
    EXPECT_STATUS(c, "PONG", "PING"); /* the connection that set it stays authenticated */
    RAW_OPEN_EX(&srv, ALT_LOOPBACK, ALT_LOOPBACK, 0, r);
    st_raw_cmd(r, "PING", NULL);
    RAW_EXPECT(r, "-NOAUTH Authentication required.\r\n");
    st_raw_cmd(r, "AUTH", "pw", NULL);
    RAW_EXPECT(r, "+OK\r\n");
    st_raw_cmd(r, "PING", NULL);
    RAW_EXPECT(r, "+PONG\r\n");
    st_raw_close(r);

    /* so does protected-mode no, with the password gone again */
    EXPECT_OK(c, "CONFIG SET protected-mode no");
    EXPECT_OK(c, "CONFIG SET requirepass %s", "");
    st_raw *kept = &raw2;
    RAW_OPEN_EX(&srv, ALT_LOOPBACK, ALT_LOOPBACK, 0, kept);
    st_raw_cmd(kept, "PING", NULL);
    RAW_EXPECT(kept, "+PONG\r\n");

    /* back on: new strangers are refused again; an accepted connection is not dropped */
    EXPECT_OK(c, "CONFIG SET protected-mode yes");
    RAW_OPEN_EX(&srv, ALT_LOOPBACK, ALT_LOOPBACK, 0, r);
    got = EXPECT_CLOSED(r, &n, "a client from 127.0.0.2 after protected-mode yes");
    CHECK_PREFIX(got, n, "-DENIED ", "the protected-mode refusal");
    free(got);
    st_raw_close(r);
    st_raw_cmd(kept, "PING", NULL);
    RAW_EXPECT(kept, "+PONG\r\n");
    st_raw_close(kept);
    EXPECT_INFO_SOON(c, "stats", counter, refused0 + 2);
}

/* ---- maxclients ------------------------------------------------------------------------------------ */

static void test_maxclients_refuses_one_more(void **state) {
    redisContext *c = *state;
    EXPECT_INFO_SOON(c, "clients", "connected_clients", 1); /* the harness's start probe is gone */
    EXPECT_OK(c, "CONFIG SET maxclients 3");
    long long rejected0 = st_info_field(c, "stats", "rejected_connections");
    redisContext *a = ctx1 = ST_CONNECT(&srv), *b = ctx2 = ST_CONNECT(&srv);
    EXPECT_STATUS(a, "PONG", "PING");
    EXPECT_STATUS(b, "PONG", "PING");

    st_raw *r = &raw1;
    RAW_OPEN_EX(&srv, NULL, NULL, 0, r);
    size_t n;
    char *got = EXPECT_CLOSED(r, &n, "the 4th client with maxclients 3");
    if (strcmp(got, "-ERR max number of clients reached\r\n")) {
        char *g = st_escape(got, n);
        ST_FAIL("the 4th client got \"%s\", want \"-ERR max number of clients reached\\r\\n\"", g);
    }
    free(got);
    st_raw_close(r);
    EXPECT_INFO_SOON(c, "stats", "rejected_connections", rejected0 + 1);
    EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_STATUS(a, "PONG", "PING");

    ctx_free(&ctx2); /* a place frees up */
    EXPECT_INFO_SOON(c, "clients", "connected_clients", 2);
    RAW_OPEN_EX(&srv, NULL, NULL, 0, r);
    st_raw_cmd(r, "PING", NULL);
    RAW_EXPECT(r, "+PONG\r\n");
    st_raw_close(r);
    ctx_free(&ctx1);
    EXPECT_INFO_SOON(c, "stats", "rejected_connections", rejected0 + 1);
}

/* ---- client-query-buffer-limit ------------------------------------------------------------------- */

/* An argument promised as 2 MiB (well under proto-max-bulk-len) whose first 1.25 MiB arrive: the
 * unparsed input passes the 1 MiB limit, and the client goes before the command exists. */
static void test_query_buffer_limit_closes_client(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "CONFIG SET client-query-buffer-limit 1mb");
    long long q0 = strata_stat(c, "client_query_buffer_limit_disconnections");

    char *v = malloc(900000); /* a whole command under the limit is served */
    assert_non_null(v);
    memset(v, 'q', 900000);
    redisReply *rep = CMD(c, "SET fits %b", v, (size_t)900000);
    st_check_reply_status(rep, __FILE__, __LINE__, "OK", "SET fits <900000 bytes>");
    freeReplyObject(rep);
    free(v);

    st_raw *r = &raw1;
    RAW_OPEN_EX(&srv, NULL, NULL, 0, r);
    if (st_raw_sends(r, "*3\r\n$3\r\nSET\r\n$3\r\nqbk\r\n$2097152\r\n")) ST_FAIL("sending the header failed");
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 20; i++) /* 1.25 MiB; a send may fail once the server has hung up */
        if (st_raw_send(r, chunk, sizeof chunk)) break;
    free(EXPECT_CLOSED(r, NULL, "a client whose unparsed input passed client-query-buffer-limit"));
    st_raw_close(r);

    if (q0 >= 0) EXPECT_INFO_SOON(c, "stats", "client_query_buffer_limit_disconnections", q0 + 1);
    EXPECT_INT(c, 0, "EXISTS qbk");
    EXPECT_INT(c, 900000, "STRLEN fits");
    EXPECT_STATUS(c, "PONG", "PING");
}

/* ---- client-output-buffer-limit -------------------------------------------------------------------- */

/* Sequential GETs of a 300 KB value: each reply passes the soft limit for a moment and stays under
 * the hard one, and a client that reads them keeps its connection. */
static void test_obuf_reader_within_limits_stays(void **state) {
    redisContext *c = *state;
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s", "normal 1mb 256kb 2");
    set_big(c);
    long long o0 = strata_stat(c, "client_output_buffer_limit_disconnections");
    redisContext *d = ctx1 = ST_CONNECT(&srv);
    for (int i = 0; i < 20; i++) {
        redisReply *r = CMD(d, "GET big");
        if (r->type != REDIS_REPLY_STRING || r->len != BIG_LEN) ST_FAIL("GET big #%d: not the 300000-byte value", i);
        freeReplyObject(r);
    }
    EXPECT_STATUS(d, "PONG", "PING");
    ctx_free(&ctx1);
    if (o0 >= 0 && st_info_field(c, "stats", "client_output_buffer_limit_disconnections") != o0)
        ST_FAIL("a client reading its replies was counted as an output-buffer disconnection");
}

/* A client that pipelines 64 GETs of 300 KB (19 MB of replies) and reads nothing, with a 4 KB
 * receive buffer: the replies pass the 1 MB hard limit and the server closes it before they are
 * all sent. */
static void test_obuf_hard_limit_closes_non_reader(void **state) {
    redisContext *c = *state;
    enum { N = 64 };
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s", "normal 1mb 256kb 2");
    set_big(c);
    long long o0 = strata_stat(c, "client_output_buffer_limit_disconnections");
    st_raw *r = &raw1;
    RAW_OPEN_EX(&srv, NULL, NULL, SLOW_RCVBUF, r);
    send_gets(r, N);
    EXPECT_INFO_SOON(c, "clients", "connected_clients", 1);
    size_t n;
    free(EXPECT_CLOSED(r, &n, "a client over the hard output limit"));
    st_raw_close(r);
    if (n >= (size_t)N * BIG_REPLY_LEN) ST_FAIL("all %d replies (%zu bytes) arrived: no limit applied", N, n);
    if (o0 >= 0) EXPECT_INFO_SOON(c, "stats", "client_output_buffer_limit_disconnections", o0 + 1);
    EXPECT_STATUS(c, "PONG", "PING");
}

enum slow_mode { SLOW_KEEPS_SENDING, SLOW_READS };

/* The soft limit alone ("normal 0 256kb 1"): a client pipelines 40 GETs of 300 KB (12 MB, far
 * more than the kernel's socket buffers take, so over 256 KB stays pending in the server), then
 * either keeps sending PINGs without reading, or reads 4 KB every 50 ms. Pending replies stay over
 * the soft limit for more than a second: the server must close it. */
static void soft_limit_case(redisContext *c, enum slow_mode mode) {
    enum { N = 40 };
    EXPECT_OK(c, "CONFIG SET client-output-buffer-limit %s", "normal 0 256kb 1");
    set_big(c);
    EXPECT_INFO_SOON(c, "clients", "connected_clients", 1);
    long long o0 = strata_stat(c, "client_output_buffer_limit_disconnections");
    st_raw *r = &raw1;
    RAW_OPEN_EX(&srv, NULL, NULL, SLOW_RCVBUF, r);
    send_gets(r, N);
    size_t read_bytes = 0;
    bool sending = mode == SLOW_KEEPS_SENDING, gone = false;
    int64_t end = st_now_ms() + CLOSE_DEADLINE_MS;
    while (!gone && st_now_ms() < end) {
        if (sending && st_raw_sends(r, "PING\r\n")) sending = false; /* hung up */
        if (mode == SLOW_READS) {
            char buf[4096];
            ssize_t got = recv(r->fd, buf, sizeof buf, MSG_DONTWAIT);
            if (got > 0) read_bytes += (size_t)got;
        }
        gone = st_info_field(c, "clients", "connected_clients") == 1;
        st_sleep_ms(50);
    }
    if (!gone)
        ST_FAIL("a client %s, over the soft output limit, was still connected after %d ms (read %zu bytes)",
                mode == SLOW_READS ? "reading 4 KB every 50 ms" : "sending PINGs without reading", CLOSE_DEADLINE_MS,
                read_bytes);
    size_t n;
    free(EXPECT_CLOSED(r, &n, "a client over the soft output limit"));
    st_raw_close(r);
    if (read_bytes + n >= (size_t)N * BIG_REPLY_LEN) ST_FAIL("all %d replies arrived: no limit applied", N);
    if (o0 >= 0) EXPECT_INFO_SOON(c, "stats", "client_output_buffer_limit_disconnections", o0 + 1);
    EXPECT_STATUS(c, "PONG", "PING");
}

static void test_obuf_soft_limit_closes_client_that_keeps_sending(void **state) {
    soft_limit_case(*state, SLOW_KEEPS_SENDING);
}

static void test_obuf_soft_limit_closes_slow_reader(void **state) { soft_limit_case(*state, SLOW_READS); }

/* ---- timeout --------------------------------------------------------------------------------------- */

static void test_timeout_closes_idle_client_only(void **state) {
    redisContext *c = *state;
    st_raw *idle = &raw1;
    RAW_OPEN_EX(&srv, NULL, NULL, 0, idle);
    st_raw_cmd(idle, "PING", NULL);
    RAW_EXPECT(idle, "+PONG\r\n");
    EXPECT_OK(c, "CONFIG SET timeout 1");
    bool closed = false;
    int64_t end = st_now_ms() + CLOSE_DEADLINE_MS;
    while (!closed && st_now_ms() < end) {
        EXPECT_STATUS(c, "PONG", "PING"); /* c is never idle for 1 s */
        closed = st_raw_wait_eof(idle, 100, NULL, NULL);
    }
    st_raw_close(idle);
    if (!closed) ST_FAIL("an idle client outlived timeout 1 by %d ms", CLOSE_DEADLINE_MS);
    EXPECT_STATUS(c, "PONG", "PING");
    EXPECT_STRS(c, 2, ((const char *[]){"timeout", "1"}), "CONFIG GET timeout");
}

/* ---- AUTH -------------------------------------------------------------------------------------------- */

static void test_auth_without_password_configured(void **state) {
    redisContext *c = *state;
    long long denied0 = strata_stat(c, "acl_access_denied_auth");
    EXPECT_ERR(c,
               "ERR AUTH <password> called without any password configured for the default user. Are you sure "
               "your configuration is correct?",
               "AUTH whatever");
    EXPECT_OK(c, "AUTH default whatever"); /* the default user is nopass: any password will do */
    EXPECT_ERR(c, "ERR syntax error", "AUTH a b c");
    EXPECT_STATUS(c, "PONG", "PING");
    if (denied0 >= 0 && st_info_field(c, "stats", "acl_access_denied_auth") != denied0)
        ST_FAIL("AUTH without a configured password counted as a denied AUTH");
}

static void test_auth_wrong_password(void **state) {
    redisContext *c = *state;
    static const char wrongpass[] = "WRONGPASS invalid username-password pair or user is disabled.";
    EXPECT_OK(c, "CONFIG SET requirepass pw");
    long long denied0 = strata_stat(c, "acl_access_denied_auth");
    redisContext *d = ctx1 = ST_CONNECT(&srv);
    EXPECT_ERR(d, "NOAUTH Authentication required.", "PING");
    EXPECT_ERR(d, wrongpass, "AUTH nope");
    EXPECT_ERR(d, wrongpass, "AUTH default nope");
    EXPECT_ERR(d, wrongpass, "HELLO 2 AUTH default nope");
    EXPECT_ERR(d, "NOAUTH Authentication required.", "GET k");
    if (denied0 >= 0) EXPECT_INFO_SOON(c, "stats", "acl_access_denied_auth", denied0 + 3);
    EXPECT_OK(d, "AUTH pw");
    EXPECT_OK(d, "AUTH default pw");
    EXPECT_STATUS(d, "PONG", "PING");
    ctx_free(&ctx1);
    if (denied0 >= 0 && st_info_field(c, "stats", "acl_access_denied_auth") != denied0 + 3)
        ST_FAIL("a successful AUTH counted as a denied one");
}

/* ---- main -------------------------------------------------------------------------------------------- */

int main(void) {
    have_alt = can_bind(AF_INET, ALT_LOOPBACK);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_bind_is_loopback_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protected_mode_refuses_non_loopback_peer, setup_protected, teardown),
        cmocka_unit_test_setup_teardown(test_maxclients_refuses_one_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_buffer_limit_closes_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obuf_reader_within_limits_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obuf_hard_limit_closes_non_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obuf_soft_limit_closes_client_that_keeps_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_obuf_soft_limit_closes_slow_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_closes_idle_client_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_without_password_configured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_wrong_password, setup, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
