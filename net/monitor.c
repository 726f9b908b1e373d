/* monitor.c -- MONITOR's registry, line format and cross-worker feed (monitor.h).
 *
 * The registry is a list of monitor records under one mutex, which also guards every record's
 * queue, overflow flag, posted flag and refcount. A record has one reference from its connection
 * (dropped by monitor_stop) and one per drain task in flight (dropped when the task has run, or
 * been cancelled by ev_loop_free), so a task never finds a freed record; it finds `c == NULL` if
 * the connection closed meanwhile (M2). s->n_monitors counts the records in the list: dispatch
 * reads it without the lock, so a command may miss a monitor registered at that very moment. */
#include "monitor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "conn.h"
#include "server.h"

typedef struct monitor {
    struct monitor *next, *prev; /* the registry's list (under mu) */
    monitor_reg *reg;
    conn *c;            /* NULL once the connection stopped monitoring; only c's worker reads it */
    worker *w;          /* c's worker: where drain tasks run */
    bool all;           /* the administrator's: sees every command */
    uint32_t tenant;    /* otherwise: sees only the commands of this tenant's connections */
    /* under reg->mu */
    uint8_t *q;         /* lines not yet moved to c's reply buffer */
    size_t qlen, qcap;
    bool overflow;      /* a line did not fit: the worker closes the connection */
    bool posted;        /* a drain task is on its way */
    int refs;
} monitor;

struct monitor_reg {
    pthread_mutex_t mu;
    monitor *head;
};

int monitor_reg_new(monitor_reg **out) {
    monitor_reg *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return -1;
    pthread_mutex_init(&r->mu, NULL);
    return 0;
}

void monitor_reg_free(monitor_reg *r) {
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void record_free(monitor *m) {
    free(m->q);
    free(m);
}

/* The limit on a monitor's pending bytes (monitor.h, "Bounds"). */
static uint64_t limit_of(const server *s) {
    uint64_t hard = s->cfg->obl[CONFIG_CLIENT_NORMAL].hard;
    return hard ? hard : MONITOR_DEFAULT_LIMIT;
}

int monitor_start(server *s, conn *c) {
    monitor *m = calloc(1, sizeof *m);
    if (!m) return -1;
    m->reg = s->monitors;
    m->c = c;
    m->w = c->w;
    m->all = c->admin;
    m->tenant = c->tenant;
    m->refs = 1;
    pthread_mutex_lock(&m->reg->mu);
    m->next = m->reg->head;
    if (m->reg->head) m->reg->head->prev = m;
    m->reg->head = m;
    atomic_fetch_add_explicit(&s->n_monitors, 1, memory_order_relaxed);
    pthread_mutex_unlock(&m->reg->mu);
    c->mon = m;
    atomic_store_explicit(&c->monitoring, true, memory_order_relaxed);
    return 0;
}

void monitor_stop(server *s, conn *c) {
    monitor *m = c->mon;
    if (!m) return;
    monitor_reg *r = m->reg;
    pthread_mutex_lock(&r->mu);
    if (m->prev) m->prev->next = m->next;
    else r->head = m->next;
    if (m->next) m->next->prev = m->prev;
    atomic_fetch_sub_explicit(&s->n_monitors, 1, memory_order_relaxed);
    m->c = NULL;
    bool last = --m->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) record_free(m);
    c->mon = NULL;
    atomic_store_explicit(&c->monitoring, false, memory_order_relaxed);
}

/* ---- which commands, and their line ---------------------------------------------------------- */

static bool arg_is(const uint8_t *p, size_t n, const char *lit) {
    size_t k = strlen(lit);
    if (n != k) return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i] >= 'A' && p[i] <= 'Z' ? (uint8_t)(p[i] + 32) : p[i];
        if (ch != (uint8_t)lit[i]) return false;
    }
    return true;
}

bool monitor_shows(const cmd_spec *spec, size_t argc, const uint8_t *const *argv, const size_t *argvlen) {
    if (spec->proc == cmd_monitor) return false;
    /* Redis hides its admin commands; FLUSHALL is administrative here only because it empties
     * every tenant, and Redis shows it */
    if ((spec->flags & CMD_ADMIN) && spec->proc != cmd_flushall) return false;
    if (spec->proc == cmd_client && argc >= 2) {
        static const char *const admin_subs[] = {"list", "kill", "pause", "unpause", "no-evict"};
        for (size_t i = 0; i < sizeof admin_subs / sizeof *admin_subs; i++)
            if (arg_is(argv[1], argvlen[1], admin_subs[i])) return false;
    }
    return true;
}

static const char REDACTED[] = "(redacted)";

/* Which arguments are passwords: AUTH's, and the two after each HELLO AUTH. Redis 7 redacts them
 * only once the command parsed them; here they are hidden whatever the command then answered
 * (HELLO 4 AUTH u p, AUTH a b c), so a password never reaches a monitor. */
static bool redact(size_t argc, const uint8_t *const *argv, const size_t *argvlen, size_t i) {
    if (i == 0) return false;
    if (arg_is(argv[0], argvlen[0], "auth")) return true;
    if (!arg_is(argv[0], argvlen[0], "hello")) return false;
    /* HELLO [protover [AUTH user pass] [SETNAME name]]: walk the options as HELLO does */
    size_t j = argc >= 2 && argvlen[1] && argv[1][0] >= '0' && argv[1][0] <= '9' ? 2 : 1;
    while (j < argc && j < i) {
        if (arg_is(argv[j], argvlen[j], "auth")) {
            if (i <= j + 2) return true;
            j += 3;
        } else if (arg_is(argv[j], argvlen[j], "setname")) {
            j += 2;
        } else {
            j++;
        }
    }
    return false;
}

/* Bytes of one argument in sdscatrepr form, quotes included. */
static size_t repr_len(const uint8_t *p, size_t n) {
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\\' || ch == '"' || ch == '\n' || ch == '\r' || ch == '\t' || ch == '\a' || ch == '\b') len += 2;
        else if (ch >= 0x20 && ch <= 0x7e) len += 1;
        else len += 4;
    }
    return len;
}

static char *repr(char *w, const uint8_t *p, size_t n) {
    static const char hex[] = "0123456789abcdef";
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        switch (ch) {
        case '\\': case '"': *w++ = '\\'; *w++ = (char)ch; break;
        case '\n': *w++ = '\\'; *w++ = 'n'; break;
        case '\r': *w++ = '\\'; *w++ = 'r'; break;
        case '\t': *w++ = '\\'; *w++ = 't'; break;
        case '\a': *w++ = '\\'; *w++ = 'a'; break;
        case '\b': *w++ = '\\'; *w++ = 'b'; break;
        default:
            if (ch >= 0x20 && ch <= 0x7e) {
                *w++ = (char)ch;
            } else {
                *w++ = '\\';
                *w++ = 'x';
                *w++ = hex[ch >> 4];
                *w++ = hex[ch & 15];
            }
        }
    }
    *w++ = '"';
    return w;
}

/* The line's length, or 0 when it is over max (then it is not worth formatting). */
static size_t line_len(const char *head, size_t argc, const uint8_t *const *argv, const size_t *argvlen, size_t max) {
    size_t n = strlen(head) + 2;
    for (size_t i = 0; i < argc && n <= max; i++)
        n += (i ? 1 : 0) + (redact(argc, argv, argvlen, i) ? sizeof REDACTED + 1 : repr_len(argv[i], argvlen[i]));
    return n <= max ? n : 0;
}

static char *format_line(const char *head, size_t n, size_t argc, const uint8_t *const *argv, const size_t *argvlen) {
    char *line = malloc(n), *w = line;
    if (!line) return NULL;
    size_t hl = strlen(head);
    memcpy(w, head, hl);
    w += hl;
    for (size_t i = 0; i < argc; i++) {
        if (i) *w++ = ' ';
        if (redact(argc, argv, argvlen, i)) w = repr(w, (const uint8_t *)REDACTED, sizeof REDACTED - 1);
        else w = repr(w, argv[i], argvlen[i]);
    }
    *w++ = '\r';
    *w++ = '\n';
    return line;
}

static void line_head(char *head, size_t cap, int64_t now_us, int db, const char *addr) {
    snprintf(head, cap, "+%lld.%06lld [%d %s] ", (long long)(now_us / 1000000), (long long)(now_us % 1000000), db,
             addr);
}

char *monitor_format(int64_t now_us, int db, const char *addr, size_t argc, const uint8_t *const *argv,
                     const size_t *argvlen, size_t *n) {
    char head[128];
    line_head(head, sizeof head, now_us, db, addr);
    *n = line_len(head, argc, argv, argvlen, SIZE_MAX / 2);
    return format_line(head, *n, argc, argv, argvlen);
}

/* ---- the feed --------------------------------------------------------------------------------- */

static void close_overrun(server *s, conn *c, size_t pending) {
    server_log(s, CONFIG_LOG_WARNING,
               "Client id=%llu addr=%s closed for overcoming of output buffer limits (monitor: %zu bytes pending)",
               (unsigned long long)c->id, c->addr, pending);
    atomic_fetch_add_explicit(&s->stat.obuf_disconnects, 1, memory_order_relaxed);
    conn_close(c);
}

/* On the monitor's worker: moves the queue into the reply buffer (sent by before_sleep), or
 * closes the connection after an overflow. */
static void drain(monitor *m) {
    conn *c = m->c;
    server *s = c->w->srv;
    pthread_mutex_lock(&m->reg->mu);
    uint8_t *q = m->q;
    size_t n = m->qlen;
    bool overflow = m->overflow;
    m->q = NULL;
    m->qlen = m->qcap = 0;
    m->posted = false;
    pthread_mutex_unlock(&m->reg->mu);
    size_t pending = c->out.len - c->out.sent + n;
    if (!overflow && n) {
        reply_raw(&c->out, q, n);
        overflow = pending >= limit_of(s);
    }
    free(q);
    if (overflow) {
        close_overrun(s, c, pending);
        return;
    }
    if (n) server_mark_pending(c->w, c);
}

static void drain_task(ev_loop *loop, void *arg) {
    monitor *m = arg;
    if (loop && m->c) drain(m);
    pthread_mutex_lock(&m->reg->mu);
    bool last = --m->refs == 0;
    pthread_mutex_unlock(&m->reg->mu);
    if (last) record_free(m);
}

/* REQUIRES: reg->mu held. */
static void post_drain(monitor *m) {
    if (m->posted) return;
    m->posted = true;
    m->refs++;
    if (ev_post(m->w->loop, drain_task, m) == 0) return;
    /* no memory for the task: the next line posts again */
    m->posted = false;
    m->refs--;
}

/* REQUIRES: reg->mu held. false when out of memory. */
static bool queue_append(monitor *m, const char *line, size_t n) {
    if (m->qcap - m->qlen < n) {
        size_t cap = m->qcap ? m->qcap : 4096;
        while (cap - m->qlen < n) cap *= 2;
        uint8_t *p = realloc(m->q, cap);
        if (!p) return false;
        m->q = p;
        m->qcap = cap;
    }
    memcpy(m->q + m->qlen, line, n);
    m->qlen += n;
    return true;
}

void monitor_feed(server *s, const conn *c, int db, size_t argc, const uint8_t *const *argv, const size_t *argvlen) {
    uint64_t limit = limit_of(s);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char head[128];
    line_head(head, sizeof head, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, db, c->addr);
    /* a line at the limit fits no monitor: not formatted, every monitor that would see it overflows */
    size_t n = line_len(head, argc, argv, argvlen, limit - 1);
    char *line = n ? format_line(head, n, argc, argv, argvlen) : NULL;
    monitor_reg *r = s->monitors;
    pthread_mutex_lock(&r->mu);
    for (monitor *m = r->head; m; m = m->next) {
        if (!m->all && !(c->tent && c->tenant == m->tenant)) continue; /* another tenant's */
        if (m->overflow) continue;
        if (!line || m->qlen + n >= limit || !queue_append(m, line, n)) m->overflow = true;
        post_drain(m);
    }
    pthread_mutex_unlock(&r->mu);
    free(line);
}
