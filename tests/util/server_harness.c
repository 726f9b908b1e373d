/* server_harness.c -- see server_harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "server_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef STRATA_SERVER_BIN
#define STRATA_SERVER_BIN "strata-server"
#endif

#define LOG_TAIL_KEEP (48u << 10)
#define START_ATTEMPTS 5
#define PORT_PICKS 64

/* ---- time ---------------------------------------------------------------------------------------- */

int64_t st_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t st_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* ---- kept logs -------------------------------------------------------------------------------------- */

typedef struct kept_log {
    char *header;
    char *text;
    struct kept_log *next;
} kept_log;

static kept_log *kept_head, **kept_tail = &kept_head;

/* The last `keep` bytes of a file, malloc'ed and NUL-terminated ("" if unreadable). */
static char *read_tail(const char *path, size_t keep) {
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)keep ? size - (long)keep : 0;
    fseek(f, from, SEEK_SET);
    char *buf = malloc((size_t)(size - from) + 1);
    size_t n = buf ? fread(buf, 1, (size_t)(size - from), f) : 0;
    fclose(f);
    if (!buf) return strdup("");
    buf[n] = '\0';
    return buf;
}

static void keep_log(const st_server *s) {
    if (!s->log_path) return;
    kept_log *k = calloc(1, sizeof *k);
    if (!k) return;
    if (asprintf(&k->header, "server '%s' port %d (%s)", s->tag ? s->tag : "?", s->port, s->log_path) < 0)
        k->header = NULL;
    k->text = read_tail(s->log_path, LOG_TAIL_KEEP);
    *kept_tail = k;
    kept_tail = &k->next;
}

void st_server_print_log(const st_server *s) {
    char *t = read_tail(s->log_path, LOG_TAIL_KEEP);
    fprintf(stderr, "---- log of server '%s' (port %d, %s) ----\n%s---- end of log ----\n", s->tag ? s->tag : "?",
            s->port, s->log_path ? s->log_path : "?", t);
    fflush(stderr);
    free(t);
}

int st_it_finish(int failures) {
    if (failures) {
        for (kept_log *k = kept_head; k; k = k->next)
            fprintf(stderr, "---- log of %s ----\n%s---- end of log ----\n", k->header ? k->header : "server",
                    k->text ? k->text : "");
    }
    while (kept_head) {
        kept_log *k = kept_head;
        kept_head = k->next;
        free(k->header);
        free(k->text);
        free(k);
    }
    kept_tail = &kept_head;
    return failures;
}

/* ---- ports -------------------------------------------------------------------------------------------- */

/* A port the kernel just called free, locked for this process (OFD lock on byte `port` of a
 * shared file). Returns the port and *lock_fd, or -1. */
static int pick_port(int *lock_fd) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/strata-it-ports.lock", base);
    for (int attempt = 0; attempt < PORT_PICKS; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof a;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
            close(fd);
            return -1;
        }
        close(fd);
        int port = ntohs(a.sin_port);
        int lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (lfd < 0) { /* no lock possible: the EADDRINUSE retry still protects most cases */
            *lock_fd = -1;
            return port;
        }
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = port, .l_len = 1};
        if (fcntl(lfd, F_OFD_SETLK, &fl) == 0) {
            *lock_fd = lfd;
            return port;
        }
        close(lfd); /* another test process owns this port: pick again */
    }
    return -1;
}

static void release_port(st_server *s) {
    if (s->lock_fd >= 0) close(s->lock_fd);
    s->lock_fd = -1;
}

/* ---- the child -------------------------------------------------------------------------------------- */

static const char *server_bin(void) {
    const char *e = getenv("STRATA_IT_SERVER");
    return e && *e ? e : STRATA_SERVER_BIN;
}

bool st_server_is_redis(void) { return strstr(server_bin(), "redis-server") != NULL; }

/* Builds the argv of the child into av (at most cap entries, NULL-terminated). Strings are either
 * literals, s's own strings, or portbuf. */
static int build_argv(const st_server *s, const char **av, int cap, char *portbuf, size_t portlen) {
    int n = 0;
    bool redis = st_server_is_redis();
    snprintf(portbuf, portlen, "%d", s->port);
#define ADD(x) do { if (n < cap - 1) av[n++] = (x); } while (0)
    ADD(server_bin());
    ADD("--port"); ADD(portbuf);
    ADD("--bind"); ADD("127.0.0.1");
    ADD("--dir"); ADD(s->data_dir);
    if (redis) {
        ADD("--save"); ADD("");
        ADD("--daemonize"); ADD("no");
        bool aof = false;
        for (int i = 0; i + 1 < s->n_extra; i++)
            if (!strcmp(s->extra[i], "--appendfsync")) aof = true;
        ADD("--appendonly"); ADD(aof ? "yes" : "no");
        static const char *const strata_only[] = {"--workers", "--write-buffer", "--memory-limit",
                                                  "--block-size", "--codec", "--max-immutable", NULL};
        for (int i = 0; i < s->n_extra; i++) {
            bool skip = false;
            for (int j = 0; strata_only[j]; j++)
                if (!strcmp(s->extra[i], strata_only[j])) skip = true;
            if (skip) {
                i++; /* and its value */
                continue;
            }
            ADD(s->extra[i]);
        }
    } else {
        ADD("--workers"); ADD("2");
        ADD("--appendfsync"); ADD("everysec");
        for (int i = 0; i < s->n_extra; i++) ADD(s->extra[i]); /* later flags win */
    }
    av[n] = NULL;
#undef ADD
    return n;
}

static pid_t spawn(st_server *s) {
    const char *av[ST_SERVER_MAX_ARGS + 24];
    char portbuf[16];
    build_argv(s, av, (int)(sizeof av / sizeof *av), portbuf, sizeof portbuf);
    int logfd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) {
        fprintf(stderr, "harness: cannot open %s: %s\n", s->log_path, strerror(errno));
        return -1;
    }
    dprintf(logfd, "---- harness: start #%d:", s->starts + 1);
    for (int i = 0; av[i]; i++) dprintf(logfd, " %s", *av[i] ? av[i] : "''");
    dprintf(logfd, "\n");
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* Test clients' sockets must not live on in the server: a close by the test has to reach it. */
        if (close_range(3, ~0U, 0) < 0)
            for (int fd = 3; fd < 4096; fd++) close(fd);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(av[0], (char *const *)av);
        dprintf(2, "harness: exec %s: %s\n", av[0], strerror(errno));
        _exit(127);
    }
    close(logfd);
    s->starts++;
    return pid;
}

static void describe_status(int status, char *out, size_t n) {
    if (WIFEXITED(status)) snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else snprintf(out, n, "status 0x%x", status);
}

/* Polls waitpid until the child exits or deadline_ms passes. true with *status if it exited. */
static bool reap(st_server *s, int deadline_ms, int *status) {
    int64_t end = st_now_ms() + deadline_ms;
    for (;;) {
        pid_t r = waitpid(s->pid, status, WNOHANG);
        if (r == s->pid) {
            s->pid = 0;
            s->last_status = *status;
            return true;
        }
        if (r < 0 && errno != EINTR) { /* not our child any more: treat as gone */
            s->pid = 0;
            *status = 0x7f00;
            s->last_status = *status;
            return true;
        }
        if (st_now_ms() >= end) return false;
        st_sleep_ms(5);
    }
}

static bool log_contains(const st_server *s, const char *needle) {
    char *t = read_tail(s->log_path, LOG_TAIL_KEEP);
    bool found = strstr(t, needle) != NULL;
    free(t);
    return found;
}

/* 1: answered PING (+PONG or -NOAUTH); 0: not yet. */
static int probe(const st_server *s) {
    st_raw r;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return 0;
    }
    r = (st_raw){.fd = fd};
    int ok = 0;
    if (st_raw_sends(&r, "*1\r\n$4\r\nPING\r\n") == 0) {
        char *rep = st_raw_reply(&r, 2000, NULL, NULL);
        if (rep && (!strcmp(rep, "+PONG\r\n") || !strncmp(rep, "-NOAUTH", 7))) ok = 1;
        free(rep);
    }
    st_raw_close(&r);
    return ok;
}

/* 0 ready; -1 failed (printed); -2 lost the port (EADDRINUSE), may retry on another. */
static int launch_and_wait(st_server *s, bool quiet_on_addrinuse) {
    s->pid = spawn(s);
    if (s->pid < 0) {
        s->pid = 0;
        return -1;
    }
    int64_t end = st_now_ms() + ST_SERVER_START_DEADLINE_MS;
    for (;;) {
        int status;
        if (reap(s, 0, &status)) {
            if (quiet_on_addrinuse && log_contains(s, "in use")) return -2;
            char how[128];
            describe_status(status, how, sizeof how);
            fprintf(stderr, "harness: server '%s' %s before it was ready\n", s->tag, how);
            st_server_print_log(s);
            return -1;
        }
        if (probe(s)) return 0;
        if (st_now_ms() >= end) break;
        st_sleep_ms(20);
    }
    fprintf(stderr, "harness: server '%s' not ready within %d ms; killing it\n", s->tag, ST_SERVER_START_DEADLINE_MS);
    kill(s->pid, SIGKILL);
    int status;
    reap(s, 5000, &status);
    st_server_print_log(s);
    return -1;
}

int st_server_start(st_server *s, const char *tag, const char *const *extra) {
    static bool sigpipe_ignored;
    if (!sigpipe_ignored) {
        signal(SIGPIPE, SIG_IGN); /* hiredis write()s to sockets the server may have closed */
        sigpipe_ignored = true;
    }
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    s->tag = strdup(tag ? tag : "it");
    for (int i = 0; extra && extra[i]; i++) {
        if (s->n_extra == ST_SERVER_MAX_ARGS) {
            fprintf(stderr, "harness: too many extra arguments\n");
            return -1;
        }
        s->extra[s->n_extra++] = strdup(extra[i]);
    }
    if (access(server_bin(), X_OK) != 0) {
        fprintf(stderr, "harness: server binary %s: %s\n", server_bin(), strerror(errno));
        return -1;
    }
    s->root = st_test_tmpdir(s->tag);
    if (!s->root) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    s->data_dir = st_test_path(s->root, "data");
    s->log_path = st_test_path(s->root, "server.log");
    if (mkdir(s->data_dir, 0755) < 0) { /* strata-server would create it; redis-server wants it */
        fprintf(stderr, "harness: mkdir %s: %s\n", s->data_dir, strerror(errno));
        return -1;
    }
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        s->port = pick_port(&s->lock_fd);
        if (s->port < 0) {
            fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
            return -1;
        }
        int rc = launch_and_wait(s, attempt < START_ATTEMPTS);
        if (rc == 0) return 0;
        release_port(s);
        if (rc == -1) return -1;
        fprintf(stderr, "harness: port %d was taken before the server bound it; retrying\n", s->port);
    }
    return -1;
}

int st_server_restart(st_server *s) {
    if (s->pid > 0) {
        fprintf(stderr, "harness: restart of a running server\n");
        return -1;
    }
    return launch_and_wait(s, false) == 0 ? 0 : -1;
}

int st_server_wait_exit(st_server *s, int deadline_ms) {
    if (s->pid <= 0) return WIFEXITED(s->last_status) ? WEXITSTATUS(s->last_status) : -1;
    int status;
    if (!reap(s, deadline_ms, &status)) {
        fprintf(stderr, "harness: server '%s' did not exit within %d ms; SIGKILL\n", s->tag, deadline_ms);
        kill(s->pid, SIGKILL);
        reap(s, 5000, &status);
        st_server_print_log(s);
        return -1;
    }
    if (!WIFEXITED(status)) {
        char how[128];
        describe_status(status, how, sizeof how);
        fprintf(stderr, "harness: server '%s' %s\n", s->tag, how);
        st_server_print_log(s);
        return -1;
    }
    return WEXITSTATUS(status);
}

int st_server_stop(st_server *s) {
    if (s->pid <= 0) return 0;
    kill(s->pid, SIGTERM);
    int rc = st_server_wait_exit(s, ST_SERVER_STOP_DEADLINE_MS);
    if (rc != 0) {
        if (rc > 0) {
            fprintf(stderr, "harness: server '%s' exited with status %d after SIGTERM (want 0)\n", s->tag, rc);
            st_server_print_log(s);
        }
        return -1;
    }
    return 0;
}

int st_server_kill9(st_server *s) {
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGKILL);
    int status;
    if (!reap(s, 10000, &status)) return -1;
    return 0;
}

bool st_server_alive(st_server *s) {
    if (s->pid <= 0) return false;
    int status;
    if (reap(s, 0, &status)) {
        char how[128];
        describe_status(status, how, sizeof how);
        fprintf(stderr, "harness: server '%s' is gone: %s\n", s->tag, how);
        st_server_print_log(s);
        return false;
    }
    return true;
}

int st_server_free(st_server *s) {
    int rc = st_server_stop(s);
    keep_log(s);
    if (s->root && !getenv("STRATA_IT_KEEP")) st_test_rmrf(s->root);
    else if (s->root) fprintf(stderr, "harness: kept %s\n", s->root);
    release_port(s);
    free(s->tag);
    free(s->root);
    free(s->data_dir);
    free(s->log_path);
    for (int i = 0; i < s->n_extra; i++) free(s->extra[i]);
    memset(s, 0, sizeof *s);
    s->lock_fd = -1;
    return rc;
}

/* ---- cmocka fixtures --------------------------------------------------------------------------------- */

int st_it_group_setup(st_server *srv, const char *tag, const char *const *args) {
    if (st_server_start(srv, tag, args) == 0) return 0;
    st_server_free(srv);
    return -1;
}

int st_it_group_teardown(st_server *srv) { return st_server_free(srv); }

int st_it_fresh_client(st_server *srv, void **state) {
    *state = NULL;
    redisContext *c = st_connect(srv);
    if (!c) return -1;
    redisReply *r = redisCommand(c, "FLUSHALL");
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok) {
        char *g = r ? st_reply_repr(r) : NULL;
        fprintf(stderr, "harness: FLUSHALL on server '%s': %s\n", srv->tag, g ? g : c->errstr);
        free(g);
    }
    if (r) freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return -1;
    }
    *state = c;
    return 0;
}

int st_it_teardown_client(st_server *srv, void **state) {
    if (*state) redisFree(*state);
    *state = NULL;
    return st_server_alive(srv) ? 0 : -1;
}

/* ---- failure messages ------------------------------------------------------------------------------ */

void st_fail_at(const char *file, int line, const char *fmt, ...) {
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s\n", file, line, msg);
    _fail(file, line);
}

char *st_escape(const void *p, size_t n) {
    const uint8_t *b = p;
    size_t cap = n > 4096 ? 4096 : n;
    char *out = malloc(cap * 4 + 64);
    if (!out) return strdup("?");
    size_t o = 0;
    for (size_t i = 0; i < cap; i++) {
        uint8_t c = b[i];
        if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c == '\\') { out[o++] = '\\'; out[o++] = '\\'; }
        else if (c == '"') { out[o++] = '\\'; out[o++] = '"'; }
        else if (c >= 0x20 && c < 0x7f) out[o++] = (char)c;
        else o += (size_t)sprintf(out + o, "\\x%02x", c);
    }
    if (cap < n) o += (size_t)sprintf(out + o, "...(%zu bytes)", n);
    out[o] = '\0';
    return out;
}

static void repr_into(FILE *f, const redisReply *r, int depth) {
    if (!r) {
        fputs("(no reply)", f);
        return;
    }
    char *e;
    switch (r->type) {
    case REDIS_REPLY_STRING:
        e = st_escape(r->str, r->len);
        fprintf(f, "\"%s\"", e);
        free(e);
        break;
    case REDIS_REPLY_STATUS:
        e = st_escape(r->str, r->len);
        fprintf(f, "(status) %s", e);
        free(e);
        break;
    case REDIS_REPLY_ERROR:
        e = st_escape(r->str, r->len);
        fprintf(f, "(error) %s", e);
        free(e);
        break;
    case REDIS_REPLY_INTEGER: fprintf(f, "(integer) %lld", r->integer); break;
    case REDIS_REPLY_NIL: fputs("(nil)", f); break;
    case REDIS_REPLY_ARRAY:
        fputc('[', f);
        for (size_t i = 0; i < r->elements; i++) {
            if (i) fputs(", ", f);
            if (i == 64 || depth > 8) {
                fprintf(f, "...(%zu elements)", r->elements);
                break;
            }
            repr_into(f, r->element[i], depth + 1);
        }
        fputc(']', f);
        break;
    default: fprintf(f, "(type %d)", r->type); break;
    }
}

char *st_reply_repr(const redisReply *r) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return strdup("?");
    repr_into(f, r, 0);
    fclose(f);
    return buf;
}

/* ---- hiredis ------------------------------------------------------------------------------------------- */

redisContext *st_connect(const st_server *s) {
    struct timeval tv = {ST_IT_IO_TIMEOUT_MS / 1000, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!c || c->err) {
        fprintf(stderr, "harness: connect to port %d: %s\n", s->port, c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

redisContext *st_connect_or_fail(const st_server *s, const char *file, int line) {
    redisContext *c = st_connect(s);
    if (!c) st_fail_at(file, line, "connect to port %d failed", s->port);
    return c;
}

static redisReply *vcmd(redisContext *c, const char *file, int line, const char *fmt, va_list ap) {
    if (!c) st_fail_at(file, line, "`%s`: no connection", fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    if (!r) st_fail_at(file, line, "`%s`: connection error: %s", fmt, c->errstr);
    return r;
}

redisReply *st_cmd(redisContext *c, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    return r;
}

redisReply *st_cmd_argv(redisContext *c, const char *file, int line, int argc, const char **argv,
                        const size_t *argvlen) {
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    if (!r) st_fail_at(file, line, "`%s ...`: connection error: %s", argv[0], c->errstr);
    return r;
}

redisReply *st_get_reply(redisContext *c, const char *file, int line) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r)
        st_fail_at(file, line, "pipeline: connection error: %s", c->errstr);
    return r;
}

void st_flush(redisContext *c, const char *file, int line) {
    int done = 0;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK) st_fail_at(file, line, "pipeline write: %s", c->errstr);
}

bool st_reply_is_bulk(const redisReply *r, const char *want) {
    if (!want) return r->type == REDIS_REPLY_NIL;
    return r->type == REDIS_REPLY_STRING && r->len == strlen(want) && !memcmp(r->str, want, r->len);
}

int st_cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

long long st_info_field(redisContext *c, const char *section, const char *field) {
    redisReply *r = st_cmd(c, __FILE__, __LINE__, "INFO %s", section);
    long long v = -1;
    if (r->type == REDIS_REPLY_STRING) {
        char pat[128];
        snprintf(pat, sizeof pat, "\n%s:", field);
        const char *p = strstr(r->str, pat);
        if (!p && !strncmp(r->str, pat + 1, strlen(pat + 1))) p = r->str - 1; /* the first line */
        if (p) v = atoll(p + strlen(pat));
    }
    freeReplyObject(r);
    return v;
}

static void mismatch(const char *file, int line, const char *what, const redisReply *got, const char *want) {
    char *g = st_reply_repr(got);
    char msg[8192];
    snprintf(msg, sizeof msg, "`%s`\n    got:  %s\n    want: %s", what, g, want);
    free(g);
    st_fail_at(file, line, "%s", msg);
}

void st_check_reply_status(const redisReply *r, const char *file, int line, const char *want, const char *what) {
    if (r->type == REDIS_REPLY_STATUS && r->len == strlen(want) && !memcmp(r->str, want, r->len)) return;
    char w[512];
    snprintf(w, sizeof w, "(status) %s", want);
    mismatch(file, line, what, r, w);
}

void st_check_reply_int(const redisReply *r, const char *file, int line, long long want, const char *what) {
    if (r->type == REDIS_REPLY_INTEGER && r->integer == want) return;
    char w[64];
    snprintf(w, sizeof w, "(integer) %lld", want);
    mismatch(file, line, what, r, w);
}

void st_check_reply_bulk(const redisReply *r, const char *file, int line, const void *want, size_t wantlen,
                         const char *what) {
    if (r->type == REDIS_REPLY_STRING && r->len == wantlen && !memcmp(r->str, want, wantlen)) return;
    char *e = st_escape(want, wantlen);
    char *w = NULL;
    if (asprintf(&w, "\"%s\"", e) < 0) w = NULL;
    free(e);
    mismatch(file, line, what, r, w ? w : "?");
    free(w);
}

void st_expect_status(redisContext *c, const char *file, int line, const char *want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    st_check_reply_status(r, file, line, want, fmt);
    freeReplyObject(r);
}

void st_expect_error(redisContext *c, const char *file, int line, const char *want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (!(r->type == REDIS_REPLY_ERROR && r->len == strlen(want) && !memcmp(r->str, want, r->len))) {
        char w[1024];
        snprintf(w, sizeof w, "(error) %s", want);
        mismatch(file, line, fmt, r, w);
    }
    freeReplyObject(r);
}

void st_expect_error_prefix(redisContext *c, const char *file, int line, const char *want, const char *fmt,
                            ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (!(r->type == REDIS_REPLY_ERROR && r->len >= strlen(want) && !memcmp(r->str, want, strlen(want)))) {
        char w[1024];
        snprintf(w, sizeof w, "(error) %s...", want);
        mismatch(file, line, fmt, r, w);
    }
    freeReplyObject(r);
}

void st_expect_int(redisContext *c, const char *file, int line, long long want, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    st_check_reply_int(r, file, line, want, fmt);
    freeReplyObject(r);
}

void st_expect_int_range(redisContext *c, const char *file, int line, long long lo, long long hi,
                         const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (!(r->type == REDIS_REPLY_INTEGER && r->integer >= lo && r->integer <= hi)) {
        char w[128];
        snprintf(w, sizeof w, "(integer) in [%lld, %lld]", lo, hi);
        mismatch(file, line, fmt, r, w);
    }
    freeReplyObject(r);
}

void st_expect_nil(redisContext *c, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    if (r->type != REDIS_REPLY_NIL) mismatch(file, line, fmt, r, "(nil)");
    freeReplyObject(r);
}

void st_expect_bulk(redisContext *c, const char *file, int line, const void *want, size_t wantlen,
                    const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    st_check_reply_bulk(r, file, line, want, wantlen, fmt);
    freeReplyObject(r);
}

void st_expect_strs(redisContext *c, const char *file, int line, size_t n, const char *const *want,
                    const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(c, file, line, fmt, ap);
    va_end(ap);
    bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; ok && i < n; i++) ok = st_reply_is_bulk(r->element[i], want[i]);
    if (!ok) {
        char *w = NULL;
        size_t wn = 0;
        FILE *f = open_memstream(&w, &wn);
        if (f) {
            fputc('[', f);
            for (size_t i = 0; i < n; i++) {
                if (i) fputs(", ", f);
                if (want[i]) fprintf(f, "\"%s\"", want[i]);
                else fputs("(nil)", f);
            }
            fputc(']', f);
            fclose(f);
        }
        mismatch(file, line, fmt, r, w ? w : "?");
        free(w);
    }
    freeReplyObject(r);
}

/* ---- raw sockets ------------------------------------------------------------------------------------ */

int st_raw_connect(const st_server *s, st_raw *r) {
    *r = (st_raw){.fd = -1};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        fprintf(stderr, "harness: raw connect to port %d: %s\n", s->port, strerror(errno));
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    r->fd = fd;
    return 0;
}

void st_raw_open(const st_server *s, st_raw *r, const char *file, int line) {
    if (st_raw_connect(s, r) != 0) st_fail_at(file, line, "cannot connect to port %d", s->port);
}

void st_raw_close(st_raw *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
}

int st_raw_send(st_raw *r, const void *p, size_t n) {
    const uint8_t *b = p;
    int64_t end = st_now_ms() + ST_IT_IO_TIMEOUT_MS;
    while (n > 0) {
        ssize_t w = send(r->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int64_t left = end - st_now_ms();
            if (left <= 0) return -1;
            struct pollfd pf = {.fd = r->fd, .events = POLLOUT};
            poll(&pf, 1, (int)left);
            continue;
        }
        return -1;
    }
    return 0;
}

int st_raw_sends(st_raw *r, const char *s) { return st_raw_send(r, s, strlen(s)); }

int st_raw_cmd(st_raw *r, const char *arg0, ...) {
    va_list ap;
    int argc = 0;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) argc++;
    va_end(ap);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return -1;
    fprintf(f, "*%d\r\n", argc);
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) fprintf(f, "$%zu\r\n%s\r\n", strlen(a), a);
    va_end(ap);
    fclose(f);
    int rc = st_raw_send(r, buf, n);
    free(buf);
    return rc;
}

/* Reads what is available within timeout_ms into r->buf. 1 read, 0 timeout, -1 EOF/error. */
static int fill(st_raw *r, int timeout_ms) {
    if (r->eof || r->fd < 0) return -1;
    struct pollfd pf = {.fd = r->fd, .events = POLLIN};
    int pr = poll(&pf, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (pr < 0 && errno == EINTR) return 0;
    if (pr <= 0) return 0;
    if (r->cap - r->len < 65536) {
        size_t cap = r->cap ? r->cap * 2 : 131072;
        while (cap - r->len < 65536) cap *= 2;
        uint8_t *nb = realloc(r->buf, cap + 1);
        if (!nb) return -1;
        r->buf = nb;
        r->cap = cap;
    }
    ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len, MSG_DONTWAIT);
    if (n > 0) {
        r->len += (size_t)n;
        return 1;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    r->eof = true; /* 0: orderly close; < 0: reset */
    return -1;
}

static size_t frame_len(const uint8_t *p, size_t n, int depth) {
    if (n == 0) return 0;
    if (depth > 32) return SIZE_MAX;
    const uint8_t *cr = NULL;
    for (size_t i = 1; i + 1 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n') {
            cr = p + i;
            break;
        }
    if (!cr) return 0;
    size_t hl = (size_t)(cr - p) + 2;
    /* the length or count of '$', '*' and friends: digits with an optional leading '-' */
    long long v = 0;
    bool num = cr > p + 1;
    for (const uint8_t *q = p + 1; num && q < cr; q++) {
        if (q == p + 1 && *q == '-' && cr > p + 2) continue;
        if (*q < '0' || *q > '9' || v > (1LL << 40)) num = false;
        else v = v * 10 + (*q - '0');
    }
    if (num && p[1] == '-') v = -v;
    switch (p[0]) {
    case '+': case '-': case ':': case ',': case '#': case '(': return hl;
    case '_': return hl == 3 ? hl : SIZE_MAX;
    case '$': case '=': case '!': {
        if (!num) return SIZE_MAX;
        if (v == -1 && p[0] == '$') return hl;
        if (v < 0) return SIZE_MAX;
        size_t need = hl + (size_t)v + 2;
        if (n < need) return 0;
        return p[need - 2] == '\r' && p[need - 1] == '\n' ? need : SIZE_MAX;
    }
    case '*': case '~': case '>': case '%': case '|': {
        if (!num) return SIZE_MAX;
        if (v == -1 && p[0] == '*') return hl;
        if (v < 0) return SIZE_MAX;
        long long elems = (p[0] == '%' || p[0] == '|') ? 2 * v : v;
        size_t off = hl;
        for (long long i = 0; i < elems; i++) {
            size_t l = frame_len(p + off, n - off, depth + 1);
            if (l == 0 || l == SIZE_MAX) return l;
            off += l;
        }
        if (p[0] == '|') { /* an attribute precedes the reply it describes */
            size_t l = frame_len(p + off, n - off, depth + 1);
            if (l == 0 || l == SIZE_MAX) return l;
            off += l;
        }
        return off;
    }
    default: return SIZE_MAX;
    }
}

size_t st_resp_frame_len(const uint8_t *p, size_t n) { return frame_len(p, n, 0); }

char *st_raw_reply(st_raw *r, int timeout_ms, size_t *n, const char **why) {
    int64_t end = st_now_ms() + timeout_ms;
    const char *dummy;
    if (!why) why = &dummy;
    for (;;) {
        size_t l = st_resp_frame_len(r->buf, r->len);
        if (l == SIZE_MAX) {
            *why = "malformed";
            return NULL;
        }
        if (l > 0) {
            char *out = malloc(l + 1);
            if (!out) return NULL;
            memcpy(out, r->buf, l);
            out[l] = '\0';
            memmove(r->buf, r->buf + l, r->len - l);
            r->len -= l;
            if (n) *n = l;
            *why = NULL;
            return out;
        }
        int64_t left = end - st_now_ms();
        if (left <= 0) {
            *why = "timeout";
            return NULL;
        }
        if (fill(r, (int)left) < 0) {
            *why = "eof";
            return NULL;
        }
    }
}

bool st_raw_wait_eof(st_raw *r, int timeout_ms, char **out, size_t *n) {
    int64_t end = st_now_ms() + timeout_ms;
    while (!r->eof) { /* at least one look, even with timeout_ms == 0 */
        int64_t left = end - st_now_ms();
        if (fill(r, left > 0 ? (int)left : 0) < 0 || st_now_ms() >= end) break;
    }
    if (out) {
        *out = malloc(r->len + 1);
        if (*out) {
            if (r->len) memcpy(*out, r->buf, r->len);
            (*out)[r->len] = '\0';
        }
        if (n) *n = r->len;
    }
    r->len = 0;
    return r->eof;
}

bool st_raw_pending(st_raw *r, int timeout_ms) {
    if (r->len > 0) return true;
    fill(r, timeout_ms);
    return r->len > 0;
}

void st_raw_expect(st_raw *r, const char *file, int line, const char *want, size_t wantlen) {
    size_t n = 0;
    const char *why = NULL;
    char *got = st_raw_reply(r, ST_IT_IO_TIMEOUT_MS, &n, &why);
    if (got && n == wantlen && !memcmp(got, want, n)) {
        free(got);
        return;
    }
    char *w = st_escape(want, wantlen);
    char *g = got ? st_escape(got, n) : NULL;
    char *rest = st_escape(r->buf, r->len);
    char msg[8192];
    snprintf(msg, sizeof msg, "raw reply\n    got:  %s%s%s\n    want: \"%s\"\n    unparsed bytes: \"%s\"",
             g ? "\"" : "(", g ? g : why, g ? "\"" : ")", w, rest);
    free(w);
    free(g);
    free(rest);
    free(got);
    st_fail_at(file, line, "%s", msg);
}

int st_scan_all(redisContext *c, const char *file, int line, const char *cmd, const void *key, size_t keylen,
                const char *opts, size_t per_item, int max_calls, int deadline_ms, st_scan_fn fn, void *arg) {
    char optbuf[256];
    snprintf(optbuf, sizeof optbuf, "%s", opts ? opts : "");
    const char *argv[16];
    size_t argl[16];
    int argc = 3;
    argv[0] = cmd;
    argl[0] = strlen(cmd);
    argv[1] = key;
    argl[1] = keylen;
    char *save = NULL;
    for (char *t = strtok_r(optbuf, " ", &save); t && argc < 16; t = strtok_r(NULL, " ", &save)) {
        argv[argc] = t;
        argl[argc++] = strlen(t);
    }
    char cursor[128] = "0";
    int calls = 0;
    int64_t deadline = st_now_ms() + deadline_ms;
    do {
        argv[2] = cursor;
        argl[2] = strlen(cursor);
        redisReply *r = st_cmd_argv(c, file, line, argc, argv, argl);
        bool ok = r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
                  r->element[0]->len < sizeof cursor && r->element[1]->type == REDIS_REPLY_ARRAY &&
                  r->element[1]->elements % per_item == 0;
        for (size_t i = 0; ok && i < r->element[1]->elements; i++) ok = r->element[1]->element[i]->type == REDIS_REPLY_STRING;
        if (!ok) {
            char *s = st_reply_repr(r);
            st_fail_at(file, line, "%s %s %s: not [cursor, [%zu bulk string(s) per item, ...]]: %s", cmd, cursor,
                       opts ? opts : "", per_item, s);
            free(s);
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        for (size_t i = 0; i < r->element[1]->elements; i += per_item)
            fn(arg, (const redisReply *const *)&r->element[1]->element[i]);
        freeReplyObject(r);
        if (++calls >= max_calls || st_now_ms() > deadline)
            st_fail_at(file, line, "%s %s: no cursor 0 after %d calls", cmd, opts ? opts : "", calls);
    } while (strcmp(cursor, "0"));
    return calls;
}

char *st_it_write_fast_slow_tiers(const char *dir) {
    char *path = st_test_path(dir, "tiers.toml");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (!f) {
        free(path);
        return NULL;
    }
    fprintf(f, "[[tier]]\nname = \"fast\"\ndir = \"fast\"\nlevels = [0, 0]\n\n"
               "[[tier]]\nname = \"slow\"\ndir = \"slow\"\nfirst_level = 1\n");
    if (fclose(f) != 0) {
        free(path);
        return NULL;
    }
    return path;
}
