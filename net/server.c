/* server.c -- workers, listeners, the group commit in before_sleep, background cron, shutdown.
 * Contract and invariant S1 in server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "cmd.h"
#include "cmdstats.h"
#include "conn.h"
#include "latency.h"
#include "monitor.h"
#include "tenant.h"
#include "watch.h"

#define EXPIRE_BUDGET_MS 25  /* active expiry may use at most this much of each cron tick */
#define EXPIRE_BATCH 200

static FILE *log_fp;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t server_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void server_note_errors(server *s, const char *code, uint64_t n) {
    atomic_fetch_add_explicit(&s->stat.errors, n, memory_order_relaxed);
    pthread_mutex_lock(&s->errstat_mu);
    size_t i = 0;
    while (i < s->n_errstats && strcmp(s->errstats[i].code, code) != 0) i++;
    if (i == s->n_errstats && i < SERVER_ERRSTATS_MAX) {
        snprintf(s->errstats[i].code, sizeof s->errstats[i].code, "%s", code);
        s->errstats[i].count = 0;
        s->n_errstats++;
    }
    if (i < s->n_errstats) s->errstats[i].count += n;
    pthread_mutex_unlock(&s->errstat_mu);
}

uint64_t server_used_memory(void) {
    struct mallinfo2 mi = mallinfo2();
    uint64_t used = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    /* an allocator that replaced glibc's (AddressSanitizer's) reports nothing: the resident size
     * is then the best figure there is */
    return used ? used : server_rss_bytes();
}

uint64_t server_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

int64_t server_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void server_latency_sample(server *s, const char *event, int64_t us) {
    int64_t threshold = s->cfg->latency_monitor_threshold_ms; /* unlocked, as dispatch reads the slowlog's */
    if (threshold > 0 && us / 1000 >= threshold) latency_add(s->latency, event, us / 1000);
}

void server_format_addr(const struct sockaddr *sa, char *out, size_t n) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    }
    /* Redis's anetFormatAddr: an IPv6 address in brackets, so the port stays apart */
    if (strchr(ip, ':')) snprintf(out, n, "[%s]:%d", ip, port);
    else snprintf(out, n, "%s:%d", ip, port);
}

void server_log(server *s, int level, const char *fmt, ...) {
    if (s && level < (int)s->cfg->loglevel) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof when, "%d %b %Y %H:%M:%S", &tm);
    static const char marks[] = ".-*#";
    pthread_mutex_lock(&log_mu);
    FILE *fp = log_fp ? log_fp : stderr;
    fprintf(fp, "%d:M %s.%03d %c %s\n", (int)getpid(), when, (int)(ts.tv_nsec / 1000000),
            marks[level < 0 ? 0 : (level > 3 ? 3 : level)], msg);
    fflush(fp);
    pthread_mutex_unlock(&log_mu);
}

/* ---- listeners and accept ---------------------------------------------------------------------- */

/* Returns the listening fd, -1 with err filled, or -2 when the address family or the address is
 * not available on this host (IPv6 in some containers): the caller may skip it, as Redis does
 * for its default "-::1". */
static int listen_on(const char *addr, int port, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    int family;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        family = AF_INET;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        snprintf(err, errlen, "bind %s: not an IPv4 or IPv6 address", addr);
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", addr, strerror(errno));
        return errno == EAFNOSUPPORT ? -2 : -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 511) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(e));
        close(fd);
        return e == EADDRNOTAVAIL || e == EAFNOSUPPORT ? -2 : -1;
    }
    return fd;
}

/* Redis's protected mode: only 127.0.0.1 and ::1 (also as a v4-mapped address) count as local,
 * exactly the addresses Redis accepts, so a client on another loopback address (127.0.0.2) or
 * interface is a stranger. */
bool server_is_local_peer(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return true;
        static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
        return memcmp(a->s6_addr, mapped, 16) == 0;
    }
    return ss->ss_family == AF_UNIX;
}

static bool protected_refuses(server *s, const struct sockaddr_storage *ss) {
    if (server_is_local_peer(ss)) return false;
    pthread_rwlock_rdlock(&s->cfg_lock);
    bool refuse = s->cfg->protected_mode && !s->cfg->requirepass;
    pthread_rwlock_unlock(&s->cfg_lock);
    return refuse;
}

static const char protected_msg[] =
    "-DENIED Strata is running in protected mode: protected mode is on and no password is set "
    "(requirepass), so only clients on the loopback interface (127.0.0.1, ::1) are accepted. To accept "
    "this client, do one of: 1) set a password: CONFIG SET requirepass <password> from the loopback "
    "interface, or requirepass in the config file; 2) turn protected mode off: CONFIG SET protected-mode "
    "no from the loopback interface, protected_mode = \"no\" in the config file, or --protected-mode no. "
    "Do either only if the server is not reachable from the internet, or with a strong password.\r\n";

static void on_accept(ev_loop *loop, int lfd, void *arg, int mask) {
    (void)loop;
    (void)mask;
    worker *w = arg;
    server *s = w->srv;
    for (int i = 0; i < 64; i++) { /* bounded: other events of this loop get their turn */
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                server_log(s, CONFIG_LOG_WARNING, "accept: %s", strerror(errno));
            return;
        }
        atomic_fetch_add_explicit(&s->stat.connections, 1, memory_order_relaxed);
        if (protected_refuses(s, &peer)) {
            ssize_t ignored = write(fd, protected_msg, sizeof protected_msg - 1);
            (void)ignored;
            close(fd);
            atomic_fetch_add_explicit(&s->stat.protected_refused, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->stat.rejected, 1, memory_order_relaxed); /* as Redis counts it */
            continue;
        }
        if (atomic_fetch_add(&s->n_clients, 1) >= s->cfg->maxclients) {
            static const char msg[] = "-ERR max number of clients reached\r\n";
            ssize_t ignored = write(fd, msg, sizeof msg - 1);
            (void)ignored;
            close(fd);
            atomic_fetch_sub(&s->n_clients, 1);
            atomic_fetch_add_explicit(&s->stat.rejected, 1, memory_order_relaxed);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!conn_new(w, fd)) atomic_fetch_sub(&s->n_clients, 1);
    }
}

/* ---- the loop turn: group commit, then replies ----------------------------------------------- */

void server_mark_pending(worker *w, conn *c) {
    if (c->in_pending) return;
    c->in_pending = true;
    c->pending_next = w->pending;
    w->pending = c;
}

/* Sends (or, after a failed commit, drops: S1) every held connection whose writes are now
 * durable; the rest stay held. */
static void release_held(worker *w) {
    server *s = w->srv;
    uint64_t synced = atomic_load_explicit(&s->synced_lsn, memory_order_acquire);
    bool failed = atomic_load_explicit(&s->sync_error, memory_order_acquire) != 0;
    conn **pp = &w->held;
    while (*pp) {
        conn *c = *pp;
        if (c->lsn <= synced || failed) {
            *pp = c->pending_next;
            c->in_pending = false;
            c->held = false;
            if (c->lsn > synced) conn_close(c); /* S1: the client sees the connection drop */
            else conn_flush(c);
        } else {
            pp = &c->pending_next;
        }
    }
}

static void synced_task(ev_loop *loop, void *arg) {
    if (loop) release_held(arg);
}

/* One group commit of everything asked for up to `want`, by whoever holds the sync (sync_busy):
 * the syncer thread, or a worker leading it inline. Publishes the result, hands the sync back (and
 * to the syncer if more was asked for meanwhile), and wakes the workers waiting on it (`self`, the
 * worker that led, sends its own replies). */
static void run_sync(server *s, uint64_t want, worker *self) {
    uint64_t prev = atomic_load_explicit(&s->synced_lsn, memory_order_acquire);
    int64_t t0 = server_now_us();
    int rc = ks_commit(s->k, want);
    server_latency_sample(s, "fsync", server_now_us() - t0); /* the WAL write and its fdatasync */
    if (rc) {
        if (!atomic_exchange(&s->sync_error, rc))
            server_log(s, CONFIG_LOG_WARNING, "WAL commit failed: %s (%s); unacknowledged writes are not confirmed",
                       ks_strerror(rc), ks_errmsg());
    } else if (want > prev) {
        atomic_store_explicit(&s->synced_lsn, want, memory_order_release);
    }
    pthread_mutex_lock(&s->sync_mu);
    s->sync_busy = false;
    if (s->sync_want > want || s->sync_stop) pthread_cond_signal(&s->sync_cv);
    pthread_mutex_unlock(&s->sync_mu);
    for (int i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        if (w != self && atomic_load_explicit(&w->sync_asked, memory_order_acquire) > prev) ev_post(w->loop, synced_task, w);
    }
}

/* The syncer thread (always): runs the group commit whenever one was asked for and no worker is
 * leading one itself. Requests arriving during a commit are all served by the next one. After a
 * failed commit the engine is poisoned: later commits fail at once and workers drop what they
 * hold. */
static void *syncer_main(void *arg) {
    server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->sync_mu);
        /* after a failed commit there is nothing to do: every later one fails at once, and
         * retrying them would spin (and keep a stopping server from ever finishing) */
        while (!s->sync_stop && (s->sync_busy || atomic_load(&s->sync_error) ||
                                 s->sync_want <= atomic_load(&s->synced_lsn)))
            pthread_cond_wait(&s->sync_cv, &s->sync_mu);
        uint64_t want = s->sync_want;
        bool idle = s->sync_busy || atomic_load(&s->sync_error) || want <= atomic_load(&s->synced_lsn);
        if (!idle) s->sync_busy = true;
        pthread_mutex_unlock(&s->sync_mu);
        if (idle) break; /* stopping (workers are gone), nothing left to sync */
        run_sync(s, want, NULL);
    }
    return NULL;
}

/* Always: makes this turn's writes (up to lsn) durable. When no commit is running, the worker
 * runs it inline, as Redis does in beforeSleep: one fdatasync, no thread handoff. When one is
 * running (the other worker's or the syncer's), it asks the syncer for the next one and parks its
 * connections instead of blocking its loop. */
static void ask_sync(worker *w, uint64_t lsn) {
    server *s = w->srv;
    atomic_store_explicit(&w->sync_asked, lsn, memory_order_release);
    pthread_mutex_lock(&s->sync_mu);
    if (lsn > s->sync_want) s->sync_want = lsn;
    bool lead = !s->sync_busy && !atomic_load(&s->sync_error);
    uint64_t want = s->sync_want;
    if (lead) s->sync_busy = true;
    else pthread_cond_signal(&s->sync_cv);
    pthread_mutex_unlock(&s->sync_mu);
    if (lead) run_sync(s, want, w);
}

static void before_sleep(ev_loop *loop, void *arg) {
    (void)loop;
    worker *w = arg;
    server *s = w->srv;
    bool always = s->cfg->appendfsync == ST_SYNC_ALWAYS;
    int rc = 0;
    if (w->pending_lsn) {
        if (always) {
            if (w->pending_lsn > atomic_load_explicit(&s->synced_lsn, memory_order_acquire)) ask_sync(w, w->pending_lsn);
        } else {
            int64_t t0 = server_now_us();
            rc = ks_commit(s->k, w->pending_lsn);
            server_latency_sample(s, "fsync", server_now_us() - t0); /* the WAL write */
            if (rc)
                server_log(s, CONFIG_LOG_WARNING, "WAL commit failed: %s (%s); unacknowledged writes are not confirmed",
                           ks_strerror(rc), ks_errmsg());
        }
        w->pending_lsn = 0;
    }
    uint64_t synced = always ? atomic_load_explicit(&s->synced_lsn, memory_order_acquire) : UINT64_MAX;
    while (w->pending) {
        conn *c = w->pending;
        w->pending = c->pending_next;
        if (rc && c->lsn) {
            c->in_pending = false;
            /* S1: never acknowledge a write whose commit failed; the client sees the connection drop */
            conn_close(c);
            continue;
        }
        if (c->lsn > synced) { /* always: its replies wait for the syncer */
            c->held = true;
            c->pending_next = w->held;
            w->held = c;
            continue;
        }
        c->in_pending = false;
        conn_flush(c);
    }
    if (w->held) release_held(w); /* a sync may have finished since its post was queued */
}

/* ---- cron: idle timeouts and active expiry ----------------------------------------------------- */

/* Per-second rates of commands and network bytes since the last sample, one sample per 100 ms at
 * most, and the memory peak: INFO's instantaneous_* and used_memory_peak. Worker 0 only. */
static void sample_rates(server *s) {
    int64_t now = server_now_us();
    int64_t dt = now - s->rate.last_us;
    if (s->rate.last_us && dt < 100000) return;
    uint64_t ops = atomic_load_explicit(&s->stat.commands, memory_order_relaxed),
             in = atomic_load_explicit(&s->stat.net_in, memory_order_relaxed),
             out = atomic_load_explicit(&s->stat.net_out, memory_order_relaxed);
    if (s->rate.last_us && dt > 0) {
        unsigned i = s->rate.idx++ % SERVER_RATE_SAMPLES;
        /* a counter reset (CONFIG RESETSTAT) makes a delta negative: count it as 0 */
        uint64_t d_ops = ops >= s->rate.last_ops ? ops - s->rate.last_ops : 0,
                 d_in = in >= s->rate.last_in ? in - s->rate.last_in : 0,
                 d_out = out >= s->rate.last_out ? out - s->rate.last_out : 0;
        atomic_store(&s->rate.ops[i], d_ops * 1000000 / (uint64_t)dt);
        atomic_store(&s->rate.in[i], d_in * 1000000 / (uint64_t)dt);
        atomic_store(&s->rate.out[i], d_out * 1000000 / (uint64_t)dt);
    }
    s->rate.last_us = now;
    s->rate.last_ops = ops;
    s->rate.last_in = in;
    s->rate.last_out = out;
    uint64_t used = server_used_memory();
    if (used > atomic_load(&s->peak_memory)) atomic_store(&s->peak_memory, used);
}

/* Latency monitor, worker 0's cron: the time writers spent delayed or stopped by compaction
 * (the engine's write-stall counter) since the last tick, as one "compaction-stall" sample. The
 * counter is read only while the monitor is on, and a tick after it was off starts afresh. */
static void sample_write_stalls(server *s) {
    uint64_t stall_us = 0;
    if (s->cfg->latency_monitor_threshold_ms <= 0 || ks_write_stall_micros(s->k, &stall_us) != 0) {
        s->stall_seen = false;
        return;
    }
    if (s->stall_seen && stall_us > s->stall_prev_us)
        server_latency_sample(s, "compaction-stall", (int64_t)(stall_us - s->stall_prev_us));
    s->stall_prev_us = stall_us;
    s->stall_seen = true;
}

static long long cron(ev_loop *loop, long long id, void *arg) {
    (void)loop;
    (void)id;
    worker *w = arg;
    server *s = w->srv;
    int64_t now = server_now_ms();
    int timeout = s->cfg->timeout_s;
    bool soft = s->cfg->obl[CONFIG_CLIENT_NORMAL].soft != 0;
    if (timeout > 0 || soft) {
        for (conn *c = w->conns, *next; c; c = next) {
            next = c->next;
            if (c->in_pending) continue;
            if (timeout > 0 && now - atomic_load(&c->last_ms) > (int64_t)timeout * 1000) conn_close(c);
            else if (soft && c->out.len > c->out.sent) conn_check_output_limit(c);
        }
    }
    if (w->id == 0) {
        /* the engine's write status, logged when it changes: an operator reads why writes stop
         * (a failed background fsync, a full disk) in the log, not only from clients' MISCONF */
        char msg[384];
        int rc = ks_write_status(s->k, msg, sizeof msg);
        int state = rc == 0 ? (msg[0] ? 1 : 0) : rc == KS_ENOSPC ? 2 : 3;
        if (state != s->write_state) {
            static const char *const what[] = {"Writes are accepted again", "Writes accepted, retrying",
                                               "Writes refused for now", "Writes stopped"};
            server_log(s, state ? CONFIG_LOG_WARNING : CONFIG_LOG_NOTICE, "%s%s%s", what[state], msg[0] ? ": " : "",
                       msg);
            s->write_state = state;
        }
        sample_write_stalls(s);
    }
    if (w->id == 0) sample_rates(s);
    if (w->id == 0 && !atomic_load(&s->shutting_down)) {
        int64_t t0 = server_now_us();
        bool more = true;
        while (more && server_now_us() - t0 < EXPIRE_BUDGET_MS * 1000) {
            uint64_t n = 0;
            if (ks_expire_cycle(s->k, server_now_ms(), EXPIRE_BATCH, &n, &more)) break;
            atomic_fetch_add_explicit(&s->stat.expired_keys, n, memory_order_relaxed);
        }
    }
    return 1000 / (s->cfg->hz > 0 ? s->cfg->hz : 10);
}

/* ---- workers ------------------------------------------------------------------------------------ */

static void *worker_main(void *arg) {
    worker *w = arg;
    ev_run(w->loop);
    /* Stopping: no new connections; commit and send what this worker owes, then close. */
    for (int i = 0; i < w->n_listen; i++) {
        ev_del(w->loop, w->listen_fds[i], EV_READABLE);
        close(w->listen_fds[i]);
    }
    w->n_listen = 0;
    before_sleep(w->loop, w);
    if (w->held) { /* always: make what they wait for durable here rather than drop the replies */
        uint64_t max = 0;
        for (conn *c = w->held; c; c = c->pending_next)
            if (c->lsn > max) max = c->lsn;
        ask_sync(w, max);
        for (int i = 0; i < 6000 && w->held; i++) { /* bounded: at most a minute */
            release_held(w);
            if (w->held) usleep(10000);
        }
    }
    while (w->conns) conn_close(w->conns);
    return NULL;
}

static void stop_task(ev_loop *loop, void *arg) {
    (void)arg;
    if (loop) ev_stop(loop);
}

static void tenant_log(void *arg, const char *msg) { server_log(arg, CONFIG_LOG_NOTICE, "%s", msg); }

int server_start(server *s, config *cfg, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    pthread_rwlock_init(&s->cfg_lock, NULL);
    pthread_mutex_init(&s->clients_mu, NULL);
    pthread_mutex_init(&s->slowlog_mu, NULL);
    pthread_mutex_init(&s->errstat_mu, NULL);
    if (watch_reg_new(&s->watches) || block_reg_new(&s->blocks) || latency_new(&s->latency) ||
        monitor_reg_new(&s->monitors)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->start_ms = server_now_ms();
    atomic_store(&s->lastsave_s, s->start_ms / 1000);
    s->main_thread = pthread_self();
    if (cfg->logfile && *cfg->logfile) {
        log_fp = fopen(cfg->logfile, "a");
        if (!log_fp) {
            snprintf(err, errlen, "cannot open logfile %s: %s", cfg->logfile, strerror(errno));
            return -1;
        }
    }
    /* Signals go to the main thread's sigwait only: block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    st_options eo;
    config_to_engine_options(cfg, &eo);
    ks_options ko = {
        .engine = &eo,
        .dir = cfg->dir,
        .sync_mode = (int)cfg->appendfsync,
        .write_buffer_bytes = cfg->write_buffer_bytes,
        .block_bytes = cfg->block_bytes,
        .bloom_bits_per_key = cfg->bloom_bits_per_key,
        .codec = (int)cfg->codec,
        .zstd_level = cfg->zstd_level,
        .max_immutable = cfg->max_immutable,
        .max_batch_bytes = cfg->proto_max_bulk_len + (1u << 20),
        .block_cache_bytes = config_block_cache_bytes(cfg),
        .memory_limit_bytes = cfg->memory_limit_bytes,
    };
    if (ks_open(&ko, &s->k, err, errlen)) {
        /* the engine names its repair option; say it in the server's words */
        static const char engine_opt[] = "st_options.wal_recovery = ST_WAL_RECOVERY_POINT_IN_TIME";
        char *at = strstr(err, engine_opt);
        if (at) {
            char tail[512];
            snprintf(tail, sizeof tail, "%s", at + sizeof engine_opt - 1);
            snprintf(at, errlen - (size_t)(at - err),
                     "wal_recovery = \"point-in-time\" in [engine] (or start with --wal-recovery point-in-time)%s",
                     tail);
        }
        return -1;
    }
    char terr[384];
    if (tenant_reg_open(s->k, cfg, tenant_log, s, &s->tenants, terr, sizeof terr)) {
        snprintf(err, errlen, "%s", terr);
        return -1;
    }
    if (tenant_count(s->tenants) && !cfg->requirepass)
        server_log(s, CONFIG_LOG_WARNING,
                   "WARNING: %zu tenants are defined but requirepass is not set: every client that does not AUTH "
                   "as a tenant is the administrator. Set requirepass.",
                   tenant_count(s->tenants));
    pthread_mutex_init(&s->sync_mu, NULL);
    pthread_cond_init(&s->sync_cv, NULL);

    s->n_workers = cfg->workers > 0 ? cfg->workers : 1;
    s->workers = calloc((size_t)s->n_workers, sizeof *s->workers);
    if (!s->workers) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        w->srv = s;
        w->id = i;
        w->loop = ev_loop_new(1024);
        if (!w->loop || ks_batch_new(&w->batch) || !(w->cstats = cmdstats_new(cmd_count()))) {
            snprintf(err, errlen, "cannot create worker %d: out of memory", i);
            return -1;
        }
        for (size_t b = 0; b < cfg->n_bind; b++) {
            int fd = listen_on(cfg->bind[b], cfg->port, err, errlen);
            if (fd == -2 && cfg->n_bind > 1) {
                if (i == 0) server_log(s, CONFIG_LOG_WARNING, "%s: skipped", err);
                continue;
            }
            if (fd < 0) return -1;
            w->listen_fds[w->n_listen++] = fd;
            if (ev_add(w->loop, fd, EV_READABLE, on_accept, w) < 0) {
                snprintf(err, errlen, "cannot watch the listening socket");
                return -1;
            }
        }
        if (w->n_listen == 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "no address to listen on: %s", why);
            return -1;
        }
        ev_set_before_sleep(w->loop, before_sleep, w);
        w->cron_timer = ev_timer_add(w->loop, 1000 / (cfg->hz > 0 ? cfg->hz : 10), cron, w);
    }
    if (cfg->appendfsync == ST_SYNC_ALWAYS) {
        if (pthread_create(&s->syncer, NULL, syncer_main, s)) {
            snprintf(err, errlen, "cannot start the WAL syncer thread");
            return -1;
        }
        s->syncer_started = true;
    }
    for (int i = 0; i < s->n_workers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i])) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            s->n_workers = i;
            return -1;
        }
    }
    server_log(s, CONFIG_LOG_NOTICE, "Strata ready: %d workers, port %d, dir %s, appendfsync %s", s->n_workers,
               cfg->port, cfg->dir,
               cfg->appendfsync == ST_SYNC_ALWAYS ? "always" : cfg->appendfsync == ST_SYNC_NO ? "no" : "everysec");
    return 0;
}

void server_request_shutdown(server *s, int mode) {
    s->shutdown_mode = mode;
    kill(getpid(), SIGTERM);
}

int server_wait_and_stop(server *s) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
    server_log(s, CONFIG_LOG_WARNING, "Received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&s->shutting_down, true);
    for (int i = 0; i < s->n_workers; i++) ev_post(s->workers[i].loop, stop_task, NULL);
    for (int i = 0; i < s->n_workers; i++) pthread_join(s->workers[i].thread, NULL);
    if (s->syncer_started) { /* after the workers: they may wait on it while they finish */
        pthread_mutex_lock(&s->sync_mu);
        s->sync_stop = true;
        pthread_cond_signal(&s->sync_cv);
        pthread_mutex_unlock(&s->sync_mu);
        pthread_join(s->syncer, NULL);
    }
    int code = 0;
    if (s->shutdown_mode == 1 && ks_flush_memtables(s->k)) code = 1;
    if (ks_close(s->k)) {
        server_log(s, CONFIG_LOG_WARNING, "closing the engine failed: %s", ks_errmsg());
        code = 1;
    }
    s->k = NULL;
    tenant_reg_free(s->tenants);
    s->tenants = NULL;
    watch_reg_free(s->watches); /* every connection is closed: nobody watches or waits */
    s->watches = NULL;
    block_reg_free(s->blocks);
    s->blocks = NULL;
    for (int i = 0; i < s->n_workers; i++) {
        ev_loop_free(s->workers[i].loop); /* runs (cancels) monitors' drain tasks still queued */
        ks_batch_free(s->workers[i].batch);
        cmdstats_free(s->workers[i].cstats);
    }
    free(s->workers);
    monitor_reg_free(s->monitors); /* every connection is closed, every task has run */
    s->monitors = NULL;
    latency_free(s->latency);
    s->latency = NULL;
    pthread_mutex_lock(&s->slowlog_mu);
    for (size_t i = 0; i < s->slowlog_len; i++) {
        for (int j = 0; j < s->slowlog[i].argc; j++) free(s->slowlog[i].argv[j]);
        free(s->slowlog[i].argv);
        free(s->slowlog[i].argvlen);
    }
    free(s->slowlog);
    pthread_mutex_unlock(&s->slowlog_mu);
    server_log(s, CONFIG_LOG_WARNING, "Strata is now ready to exit, bye bye...");
    if (log_fp) fclose(log_fp);
    log_fp = NULL;
    return code;
}

/* ---- slow log -------------------------------------------------------------------------------------- */

void server_slowlog_push(server *s, size_t argc, const uint8_t *const *argv, const size_t *argvlen,
                         int64_t duration_us, const conn *c) {
    int max = s->cfg->slowlog_max_len;
    if (max <= 0) return;
    slowlog_entry e = {0};
    e.duration_us = duration_us;
    e.time_s = server_now_ms() / 1000;
    int keep = argc > 32 ? 32 : (int)argc;
    e.argv = calloc((size_t)keep, sizeof *e.argv);
    e.argvlen = calloc((size_t)keep, sizeof *e.argvlen);
    if (!e.argv || !e.argvlen) {
        free(e.argv);
        free(e.argvlen);
        return;
    }
    for (int i = 0; i < keep; i++) {
        if (i == 31 && argc > 32) {
            char tmp[64];
            int n = snprintf(tmp, sizeof tmp, "... (%zu more arguments)", argc - 31);
            e.argv[i] = strdup(tmp);
            e.argvlen[i] = (size_t)n;
        } else {
            size_t n = argvlen[i] > 128 ? 128 : argvlen[i];
            char more[48] = "";
            if (argvlen[i] > 128) snprintf(more, sizeof more, "... (%zu more bytes)", argvlen[i] - 128);
            size_t m = strlen(more);
            e.argv[i] = malloc(n + m + 1);
            if (e.argv[i]) {
                memcpy(e.argv[i], argv[i], n);
                memcpy(e.argv[i] + n, more, m + 1);
                e.argvlen[i] = n + m;
            }
        }
        e.argc = i + 1;
        if (!e.argv[i]) break;
    }
    snprintf(e.addr, sizeof e.addr, "%s", c->addr);
    pthread_mutex_lock(&s->clients_mu);
    snprintf(e.name, sizeof e.name, "%s", c->name ? c->name : "");
    pthread_mutex_unlock(&s->clients_mu);
    pthread_mutex_lock(&s->slowlog_mu);
    if (s->slowlog_cap < (size_t)max) {
        slowlog_entry *p = realloc(s->slowlog, (size_t)max * sizeof *p);
        if (p) {
            s->slowlog = p;
            s->slowlog_cap = (size_t)max;
        }
    }
    while (s->slowlog_len >= (size_t)max || (s->slowlog_len && s->slowlog_len >= s->slowlog_cap)) {
        slowlog_entry *old = &s->slowlog[--s->slowlog_len];
        for (int j = 0; j < old->argc; j++) free(old->argv[j]);
        free(old->argv);
        free(old->argvlen);
    }
    if (s->slowlog_len < s->slowlog_cap) {
        e.id = s->slowlog_next_id++;
        memmove(s->slowlog + 1, s->slowlog, s->slowlog_len * sizeof *s->slowlog);
        s->slowlog[0] = e;
        s->slowlog_len++;
        e.argv = NULL;
    }
    pthread_mutex_unlock(&s->slowlog_mu);
    if (e.argv) {
        for (int j = 0; j < e.argc; j++) free(e.argv[j]);
        free(e.argv);
        free(e.argvlen);
    }
}
