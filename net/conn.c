/* conn.c -- reading, parsing, dispatching and replying for one client connection.
 *
 * Read path: conn_on_readable reads into `in` (16 KiB at a time, or all of a big bulk at once as
 * resp_bytes_wanted says), then runs every complete request in the buffer (pipelining) through
 * dispatch(), which checks the command, its arity and authentication and calls the proc. Replies
 * accumulate in `out`; the connection joins the worker's pending list and its replies are written
 * in the worker's before_sleep, after the group commit, or once the syncer made them durable
 * (S1 in server.h). */
#include "conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "cmd.h"
#include "cmdstats.h"
#include "monitor.h"
#include "tenant.h"

#define READ_CHUNK (16u << 10)

static void on_readable(ev_loop *loop, int fd, void *arg, int mask);
static void on_writable(ev_loop *loop, int fd, void *arg, int mask);

conn *conn_new(worker *w, int fd) {
    server *s = w->srv;
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    pthread_rwlock_rdlock(&s->cfg_lock);
    resp_limits lim = resp_limits_default();
    lim.max_bulk_len = s->cfg->proto_max_bulk_len;
    bool need_auth = s->cfg->requirepass != NULL;
    pthread_rwlock_unlock(&s->cfg_lock);
    c->parser = resp_parser_new(&lim);
    if (!c->parser) {
        free(c);
        close(fd);
        return NULL;
    }
    resp_parser_set_unauth(c->parser, need_auth);
    c->w = w;
    c->fd = fd;
    c->id = atomic_fetch_add(&s->next_client_id, 1) + 1;
    c->authed = !need_auth;
    c->admin = !need_auth;
    reply_buf_init(&c->out, 2);
    atomic_store(&c->proto, 2);
    c->ctime_ms = server_now_ms();
    atomic_store(&c->last_ms, c->ctime_ms);
    atomic_store(&c->last_cmd, "NULL");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        server_format_addr((struct sockaddr *)&ss, c->addr, sizeof c->addr);
        c->local = server_is_local_peer(&ss);
    }
    sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) server_format_addr((struct sockaddr *)&ss, c->laddr, sizeof c->laddr);
    if (ev_add(w->loop, fd, EV_READABLE, on_readable, c) < 0) {
        resp_parser_free(c->parser);
        reply_buf_destroy(&c->out);
        free(c);
        close(fd);
        return NULL;
    }
    c->next = w->conns;
    if (w->conns) w->conns->prev = c;
    w->conns = c;
    pthread_mutex_lock(&s->clients_mu);
    c->reg_next = s->clients;
    if (s->clients) s->clients->reg_prev = c;
    s->clients = c;
    pthread_mutex_unlock(&s->clients_mu);
    return c;
}

void conn_close(conn *c) {
    worker *w = c->w;
    server *s = w->srv;
    monitor_stop(s, c);
    multi_reset(c);
    if (c->blocked) {
        block_remove(s->blocks, c);
        atomic_fetch_sub(&s->n_blocked, 1);
    }
    if (c->block_timer > 0) ev_timer_del(w->loop, c->block_timer);
    if (c->paused && c->pause_timer > 0) ev_timer_del(w->loop, c->pause_timer);
    ev_del(w->loop, c->fd, EV_READABLE | EV_WRITABLE);
    close(c->fd);
    if (c->in_pending) {
        /* unlink from the pending or held list */
        conn **pp = c->held ? &w->held : &w->pending;
        while (*pp && *pp != c) pp = &(*pp)->pending_next;
        if (*pp) *pp = c->pending_next;
    }
    if (c->prev) c->prev->next = c->next;
    else w->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_lock(&s->clients_mu);
    if (c->reg_prev) c->reg_prev->reg_next = c->reg_next;
    else s->clients = c->reg_next;
    if (c->reg_next) c->reg_next->reg_prev = c->reg_prev;
    free(c->name);
    pthread_mutex_unlock(&s->clients_mu);
    atomic_fetch_sub(&s->n_clients, 1);
    resp_parser_free(c->parser);
    reply_buf_destroy(&c->out);
    free(c->in);
    free(c);
}

/* client-output-buffer-limit (normal class): pending replies at the hard limit, or at the soft
 * one for soft_seconds, end the connection, as in Redis: a client that does not read its replies
 * must not make the server hold them without bound. */
static bool over_output_limit(conn *c) {
    server *s = c->w->srv;
    config_obl l = s->cfg->obl[CONFIG_CLIENT_NORMAL];
    size_t pending = c->out.len - c->out.sent;
    if (l.hard && pending >= l.hard) return true;
    if (!l.soft || pending < l.soft) {
        c->obl_soft_since = 0;
        return false;
    }
    int64_t now = server_now_ms();
    if (!c->obl_soft_since) c->obl_soft_since = now;
    return now - c->obl_soft_since >= l.soft_seconds * 1000;
}

bool conn_check_output_limit(conn *c) {
    if (!over_output_limit(c)) return true;
    server *s = c->w->srv;
    server_log(s, CONFIG_LOG_WARNING,
               "Client id=%llu addr=%s closed for overcoming of output buffer limits (%zu bytes pending)",
               (unsigned long long)c->id, c->addr, c->out.len - c->out.sent);
    atomic_fetch_add_explicit(&s->stat.obuf_disconnects, 1, memory_order_relaxed);
    conn_close(c);
    return false;
}

bool conn_flush(conn *c) {
    if (c->out.failed) { /* a reply was dropped for lack of memory: the stream is broken */
        conn_close(c);
        return false;
    }
    if (!conn_check_output_limit(c)) return false;
    for (;;) {
        size_t n;
        const uint8_t *p = reply_buf_unsent(&c->out, &n);
        if (n == 0) break;
        ssize_t r = send(c->fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->writable_armed && ev_add(c->w->loop, c->fd, EV_WRITABLE, on_writable, c) == 0)
                    c->writable_armed = true;
                return true;
            }
            conn_close(c);
            return false;
        }
        atomic_fetch_add_explicit(&c->w->srv->stat.net_out, (uint64_t)r, memory_order_relaxed);
        reply_buf_advance(&c->out, (size_t)r);
    }
    c->lsn = 0;
    if (c->writable_armed) {
        ev_del(c->w->loop, c->fd, EV_WRITABLE);
        c->writable_armed = false;
    }
    if (c->close_after_reply) {
        conn_close(c);
        return false;
    }
    return true;
}

static void on_writable(ev_loop *loop, int fd, void *arg, int mask) {
    (void)loop;
    (void)fd;
    (void)mask;
    conn *c = arg;
    /* S1: replies waiting for this turn's commit go out from before_sleep, not from here */
    if (c->in_pending) return;
    conn_flush(c);
}

/* ---- dispatch --------------------------------------------------------------------------------- */

/* Redis's execCommandAbort: an EXEC rejected before it runs ends the transaction too. */
static void exec_abort(conn *c, const char *why) {
    reply_errorf(&c->out, "EXECABORT Transaction discarded because of: %s", why);
    multi_reset(c);
}

static void dispatch_cmd(conn *c, resp_argv *a, const cmd_spec *spec) {
    worker *w = c->w;
    server *s = w->srv;
    atomic_fetch_add_explicit(&s->stat.commands, 1, memory_order_relaxed);
    if (!spec) {
        reply_err_unknown_command(&c->out, a->argc, a->argv, a->argvlen);
        if (c->in_multi) c->multi_error = true;
        return;
    }
    atomic_store_explicit(&c->last_cmd, spec->name, memory_order_relaxed);
    size_t idx = cmd_index(spec);
    if (!c->authed && !(spec->flags & CMD_NOAUTH)) {
        cmdstats_reject(w->cstats, idx);
        if (spec->proc == cmd_exec) exec_abort(c, "NOAUTH Authentication required.");
        else reply_shared(&c->out, REPLY_SH_NOAUTH);
        if (c->in_multi) c->multi_error = true;
        return;
    }
    if (c->tent && !tenant_ent_alive(c->tent)) {
        /* TENANT DEL: its connections end, as Redis's ACL DELUSER kills the user's clients */
        reply_error(&c->out, "ERR this connection's tenant was deleted");
        c->close_after_reply = true;
        return;
    }
    if ((spec->arity > 0 && (size_t)spec->arity != a->argc) || (spec->arity < 0 && a->argc < (size_t)-spec->arity)) {
        cmdstats_reject(w->cstats, idx);
        if (spec->proc == cmd_exec) {
            char msg[96];
            snprintf(msg, sizeof msg, "wrong number of arguments for '%s' command", spec->name);
            exec_abort(c, msg);
        } else {
            reply_err_arity(&c->out, spec->name);
        }
        if (c->in_multi) c->multi_error = true;
        return;
    }
    if ((spec->flags & CMD_ADMIN) && !c->admin) {
        cmdstats_reject(w->cstats, idx);
        /* Redis 7 names a container command's subcommand: 'config|get' */
        char msg[192], sub[40] = "";
        static const char *const containers[] = {"config", "slowlog", "tenant", "debug", "client", "memory",
                                                 "object", "latency", "function", "script", "command"};
        for (size_t i = 0; a->argc >= 2 && i < sizeof containers / sizeof *containers; i++) {
            if (strcmp(spec->name, containers[i]) != 0) continue;
            size_t n = a->argvlen[1] < sizeof sub - 2 ? a->argvlen[1] : sizeof sub - 2;
            sub[0] = '|';
            for (size_t j = 0; j < n; j++) sub[1 + j] = (char)tolower((unsigned char)a->argv[1][j]);
            sub[1 + n] = 0;
        }
        snprintf(msg, sizeof msg, "User %s has no permissions to run the '%s%s' command",
                 c->tent ? tenant_ent_name(c->tent) : "default", spec->name, sub);
        if (spec->proc == cmd_exec) exec_abort(c, msg);
        else reply_errorf(&c->out, "NOPERM %s", msg);
        if (c->in_multi) c->multi_error = true;
        return;
    }
    if (c->mon && (spec->flags & (CMD_WRITE | CMD_READONLY))) {
        /* Redis 7 makes a monitor a replica of sorts, which may not touch the keyspace; other
         * commands (PING, INFO, CLIENT, SELECT, RESET, QUIT, ...) run */
        reply_error(&c->out, "ERR Replica can't interact with the keyspace");
        if (c->in_multi) c->multi_error = true;
        return;
    }
    if (spec->flags & CMD_WRITE) {
        /* Redis's MISCONF: once the engine stops taking writes (a failed WAL write or fsync, a disk
         * that filled up under a flush) every write command is refused up front, with the cause,
         * and reads go on */
        char why[384];
        if (ks_write_status(s->k, why, sizeof why)) {
            cmdstats_reject(w->cstats, idx);
            reply_errorf(&c->out, "MISCONF %s", why);
            if (spec->proc == cmd_exec) multi_reset(c);
            if (c->in_multi) c->multi_error = true;
            return;
        }
    }
    if (c->tent) {
        tenant_note_op(c->tent);
        const char *full = (spec->flags & CMD_DENYOOM) ? tenant_over_quota(s->tenants, c->tent) : NULL;
        if (full) {
            cmdstats_reject(w->cstats, idx);
            reply_errorf(&c->out, "ERR tenant quota exceeded (max_%s): delete data or ask the administrator to "
                         "raise it", full);
            if (c->in_multi) c->multi_error = true;
            return;
        }
    }
    cmd_ctx x = {
        .srv = s,
        .c = c,
        .rb = &c->out,
        .k = s->k,
        .ns = {c->tenant, (uint8_t)c->db},
        .argc = a->argc,
        .argv = a->argv,
        .argvlen = a->argvlen,
        .now_ms = server_now_ms(),
        .spec = spec,
    };
    if (c->in_multi && multi_queues(c, spec)) {
        multi_queue(&x);
        return;
    }
    size_t before = c->out.len;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool rerun = c->block_started; /* a blocked command run again: monitors saw it already */
    spec->proc(&x);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
    int64_t dt = ns / 1000;
    /* EXEC counts its commands itself (cmd_multi.c), as Redis's commandstats do; a blocked command
     * is counted when it answers */
    if (!c->block_request)
        cmdstats_record(w->cstats, idx, (uint64_t)ns, c->out.len > before && c->out.data[before] == '-');
    atomic_fetch_add_explicit(&c->cmds, 1, memory_order_relaxed);
    if (x.lsn) {
        if (x.lsn > c->lsn) c->lsn = x.lsn;
        if (x.lsn > w->pending_lsn) w->pending_lsn = x.lsn;
    }
    int64_t slower = s->cfg->slowlog_log_slower_than_us;
    if (slower >= 0 && dt >= slower) server_slowlog_push(s, a->argc, a->argv, a->argvlen, dt, c);
    server_latency_sample(s, (spec->flags & CMD_FAST) ? "fast-command" : "command", dt);
    /* after the command, as Redis 7 (M1 in monitor.h): SELECT shows the new database */
    if (atomic_load_explicit(&s->n_monitors, memory_order_relaxed) > 0 && !rerun &&
        monitor_shows(spec, a->argc, a->argv, a->argvlen))
        monitor_feed(s, c, atomic_load(&c->db), a->argc, a->argv, a->argvlen);
}

/* Every error reply the command produced, its rejections included, counts in INFO's
 * total_error_replies and errorstats (by the code of the last one). */
static void dispatch(conn *c, resp_argv *a, const cmd_spec *spec) {
    uint64_t e0 = c->out.errors;
    dispatch_cmd(c, a, spec);
    if (c->out.errors != e0) server_note_errors(c->w->srv, c->out.last_error, c->out.errors - e0);
}

/* Longest a write waits before its pacing is asked again while writes are stopped. */
#define STOPPED_RETRY_MS 10

static void process_input(conn *c);

/* "*2\r\n$3\r\nGET\r\n$0\r\n\r\n": the shortest multibulk GET. */
#define MIN_GET_REQUEST 22

static long long resume_paused(ev_loop *loop, long long id, void *arg) {
    (void)id;
    conn *c = arg;
    c->paused = false;
    if (ev_add(loop, c->fd, EV_READABLE, on_readable, c) < 0) {
        conn_close(c);
        return EV_NOMORE;
    }
    process_input(c);
    return EV_NOMORE;
}

/* While compaction lags, a write command waits for its slot in the engine's slowdown schedule
 * with its connection parked (a timer, reading off), never with the worker asleep: the worker's
 * other clients, readers above all, go on. Returns true if c was parked on a. */
static bool pace_write(conn *c, const resp_argv *a, size_t used, const cmd_spec *spec) {
    if (!spec || !(spec->flags & CMD_WRITE) || !c->authed) return false;
    size_t bytes = 0;
    for (size_t i = 0; i < a->argc; i++) bytes += a->argvlen[i];
    uint64_t us = 0;
    long long ms;
    int rc = ks_write_delay(c->w->srv->k, bytes, &us);
    if (rc == KS_EBUSY) ms = STOPPED_RETRY_MS;
    else if (rc || us < 1000) return false; /* under a millisecond: the schedule absorbs it */
    else ms = (long long)((us + 999) / 1000);
    long long id = ev_timer_add(c->w->loop, ms, resume_paused, c);
    if (id < 0) return false; /* no memory for a timer: run it now, unpaced */
    ev_del(c->w->loop, c->fd, EV_READABLE);
    c->paused = true;
    c->pause_timer = id;
    c->parked = *a;
    c->parked_used = used;
    c->parked_paid = rc == 0;
    return true;
}

/* Before a pipelined read's GETs run one by one, the engine is told all their keys at once
 * (ks_prefetch): the memory each would wait for in turn is then fetched together. A hint only;
 * a lone GET gains nothing from it. */
static void prefetch_gets(conn *c) {
    if (c->paused || !c->authed || c->in_w - c->in_r < 2 * MIN_GET_REQUEST) return;
    const uint8_t *keys[KS_PREFETCH_MAX];
    size_t klens[KS_PREFETCH_MAX];
    size_t n = resp_scan_gets(c->in + c->in_r, c->in_w - c->in_r, 2 * KS_PREFETCH_MAX, KS_PREFETCH_MAX, keys, klens);
    if (n >= 2) ks_prefetch(c->w->srv->k, (ks_ns){c->tenant, (uint8_t)c->db}, n, keys, klens);
}

/* ---- blocking commands (block.h) ----------------------------------------------------------------- */

static long long block_timeout(ev_loop *loop, long long id, void *arg) {
    (void)loop;
    (void)id;
    conn *c = arg;
    c->block_timer = 0;
    conn_unblock(c, true);
    return EV_NOMORE;
}

/* Whether the peer of a parked connection has gone (EOF or an error), looking without reading:
 * the parked command's argv points into `in`, which must not move. */
static bool peer_gone(conn *c) {
    char b;
    ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* While blocked, the socket is only watched for the client going away (Redis frees a blocked
 * client that disconnects): on EOF the connection closes and takes its registration with it.
 * Bytes the client sends meanwhile stay in the socket (reading off) until it is served. */
static void on_readable_blocked(ev_loop *loop, int fd, void *arg, int mask) {
    (void)fd;
    (void)mask;
    conn *c = arg;
    if (peer_gone(c)) conn_close(c);
    else ev_del(loop, c->fd, EV_READABLE); /* pipelined input: looked at again when it runs */
}

/* The proc registered c (block_add) and asked to wait: the command stays parked, as a paced
 * write does, until a wake task or its deadline runs it again. */
static void park_blocked(conn *c, const resp_argv *a, size_t used) {
    c->block_request = false;
    c->blocked = true;
    atomic_fetch_add(&c->w->srv->n_blocked, 1);
    c->paused = true;
    c->pause_timer = 0;
    c->parked = *a;
    c->parked_used = used;
    c->parked_paid = true;
    /* (without memory for the watch, a disconnect is found when the command runs again) */
    (void)ev_add(c->w->loop, c->fd, EV_READABLE, on_readable_blocked, c);
    if (c->block_deadline && !c->block_timer) {
        long long id = ev_timer_add_at(c->w->loop, c->block_deadline, block_timeout, c);
        c->block_timer = id > 0 ? id : 0; /* no memory for a timer: it waits for a key only */
    }
}

/* The blocking command answered: its deadline is over. */
static void block_finish(conn *c) {
    if (c->block_timer > 0) ev_timer_del(c->w->loop, c->block_timer);
    c->block_timer = 0;
    c->block_started = c->block_timed_out = false;
    c->block_deadline = 0;
}

void conn_unblock(conn *c, bool timed_out) {
    atomic_store(&c->wake_posted, false);
    if (!c->blocked) return;
    if (peer_gone(c)) { /* gone while it waited: it must not take what it waited for */
        conn_close(c);
        return;
    }
    block_remove(c->w->srv->blocks, c);
    atomic_fetch_sub(&c->w->srv->n_blocked, 1);
    c->blocked = false;
    c->paused = false;
    if (timed_out) c->block_timed_out = true;
    ev_del(c->w->loop, c->fd, EV_READABLE);
    if (ev_add(c->w->loop, c->fd, EV_READABLE, on_readable, c) < 0) {
        conn_close(c);
        return;
    }
    process_input(c);
}

/* Runs every complete request in the input buffer; procs never close the connection, they set
 * close_after_reply (QUIT), which stops the pipeline here. A paused connection runs nothing until
 * its timer resumes it with the parked request first. */
static void process_input(conn *c) {
    bool parked = !c->paused && c->parked.argv;
    prefetch_gets(c);
    while (!c->paused && c->in_r < c->in_w && !c->close_after_reply) {
        resp_argv a;
        size_t used = 0;
        const char *err = NULL;
        int rc;
        bool paid = false;
        if (parked) {
            a = c->parked;
            used = c->parked_used;
            paid = c->parked_paid;
            c->parked.argv = NULL;
            parked = false;
            rc = RESP_OK;
        } else {
            rc = resp_parse(c->parser, c->in + c->in_r, c->in_w - c->in_r, &a, &used, &err);
        }
        if (rc == RESP_OK) {
            const cmd_spec *spec = cmd_lookup(a.argv[0], a.argvlen[0]);
            if (!paid && pace_write(c, &a, used, spec)) break;
            dispatch(c, &a, spec);
            if (c->block_request) {
                park_blocked(c, &a, used);
                break;
            }
            if (c->block_started) block_finish(c);
            c->in_r += used;
            uint64_t hard = c->w->srv->cfg->obl[CONFIG_CLIENT_NORMAL].hard;
            if (hard && c->out.len - c->out.sent >= hard) break; /* conn_flush closes it: no more */
            continue;
        }
        c->in_r += used;
        if (rc == RESP_NEED_MORE) break;
        reply_err_protocol(&c->out, err ? err : "out of memory");
        server_log(c->w->srv, CONFIG_LOG_VERBOSE, "protocol error from client %s: %s", c->addr, err ? err : "oom");
        c->close_after_reply = true;
        c->in_r = c->in_w;
        break;
    }
    if (c->in_r == c->in_w) c->in_r = c->in_w = 0;
    if (c->out.len > c->out.sent || c->close_after_reply) server_mark_pending(c->w, c);
}

static bool grow_input(conn *c, size_t want) {
    if (c->in_r > 0 && (c->in_cap - c->in_w < want)) {
        memmove(c->in, c->in + c->in_r, c->in_w - c->in_r);
        c->in_w -= c->in_r;
        c->in_r = 0;
    }
    if (c->in_cap - c->in_w >= want) return true;
    size_t cap = c->in_cap ? c->in_cap : READ_CHUNK;
    while (cap - c->in_w < want) cap *= 2;
    uint8_t *p = realloc(c->in, cap);
    if (!p) return false;
    c->in = p;
    c->in_cap = cap;
    return true;
}

static void on_readable(ev_loop *loop, int fd, void *arg, int mask) {
    (void)loop;
    (void)mask;
    conn *c = arg;
    server *s = c->w->srv;
    size_t want = READ_CHUNK;
    size_t big = resp_bytes_wanted(c->parser);
    if (big >= RESP_BIG_BULK && big > want) want = big;
    if (!grow_input(c, want)) {
        server_log(s, CONFIG_LOG_WARNING, "out of memory reading from client %s", c->addr);
        conn_close(c);
        return;
    }
    ssize_t r = read(fd, c->in + c->in_w, c->in_cap - c->in_w);
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        conn_close(c);
        return;
    }
    if (r == 0) {
        conn_close(c);
        return;
    }
    c->in_w += (size_t)r;
    atomic_fetch_add_explicit(&s->stat.net_in, (uint64_t)r, memory_order_relaxed);
    atomic_store_explicit(&c->last_ms, server_now_ms(), memory_order_relaxed);
    if (c->in_w - c->in_r > s->cfg->client_query_buffer_limit) {
        server_log(s, CONFIG_LOG_WARNING, "closing client %s: query buffer over client-query-buffer-limit",
                   c->addr);
        atomic_fetch_add_explicit(&s->stat.qbuf_disconnects, 1, memory_order_relaxed);
        conn_close(c);
        return;
    }
    process_input(c);
}
