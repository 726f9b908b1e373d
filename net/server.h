/* server.h -- the server: workers with one event loop each, listeners, group commit, shutdown.
 *
 * Threads: main (loads config, starts workers, waits for SIGTERM/SIGINT or SHUTDOWN, stops and
 * joins them, closes the engine); N workers, each owning an ev_loop, its listening sockets
 * (SO_REUSEPORT: the kernel spreads connections) and every connection it accepted. A connection
 * is touched only by its worker (E1 in ev.h); other threads reach it through ev_post.
 * Group commit: a worker runs every ready command of a loop turn, remembering the largest lsn.
 * Under `everysec` and `no` it calls ks_commit(lsn) in before_sleep (a write(), no fsync) and
 * sends the turn's replies. Under `always`, before_sleep runs the group commit (one fdatasync
 * covering every worker's writes since the last one) inline when none is running, as Redis does;
 * when one is running it does not wait for it: it asks the syncer thread for the next commit and
 * parks the connections whose replies wait for it on the worker's `held` list. Whoever runs a
 * commit posts to the workers waiting on it, which then send the replies it made durable. While a
 * sync runs elsewhere, workers keep serving reads and queueing writes for the next one.
 * Invariant S1: no reply to a write leaves the process before its lsn is committed per the sync
 * mode; a connection's replies leave in order (a held connection sends nothing until all of its
 * writes are durable). */
#ifndef STRATA_NET_SERVER_H
#define STRATA_NET_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ev.h"
#include "keyspace.h"

typedef struct conn conn;
typedef struct server server;

typedef struct worker {
    server *srv;
    int id;
    pthread_t thread;
    ev_loop *loop;
    int listen_fds[CONFIG_MAX_BIND];
    int n_listen;
    conn *conns;          /* every connection of this worker (doubly linked) */
    conn *pending;        /* connections with replies to send in before_sleep (singly linked) */
    uint64_t pending_lsn; /* largest lsn of this turn's writes */
    conn *held;           /* always: connections whose replies wait for the syncer (pending_next) */
    _Atomic uint64_t sync_asked; /* always: largest lsn this worker asked the syncer for */
    long long cron_timer;
    ks_batch *batch;      /* reused by command procs (cmd_batch) */
    struct cmdstats *cstats; /* per-command calls, time, latencies (cmdstats.h); this worker writes */
} worker;

typedef struct slowlog_entry {
    uint64_t id;
    int64_t time_s;
    int64_t duration_us;
    int argc;          /* args kept (at most 32, each cut at 128 bytes as Redis) */
    char **argv;
    size_t *argvlen;
    char addr[64];
    char name[64];
} slowlog_entry;

struct server {
    config *cfg;                /* the configuration; runtime fields under cfg_lock */
    pthread_rwlock_t cfg_lock;
    ks *k;
    struct tenant_reg *tenants; /* tenant.h */
    struct watch_reg *watches;  /* WATCH (watch.h) */
    struct block_reg *blocks;   /* clients blocked on keys (block.h) */
    int n_workers;
    worker *workers;
    pthread_t main_thread;
    atomic_bool shutting_down;
    int shutdown_mode;          /* 0 default, 1 SAVE, 2 NOSAVE */

    atomic_int n_clients;
    atomic_int n_blocked;       /* connections parked in a blocking command */
    atomic_uint_fast64_t next_client_id;
    pthread_mutex_t clients_mu; /* guards the registry below and conns' name/addr for CLIENT */
    conn *clients;

    int64_t start_ms;
    int write_state;            /* worker 0's cron: 0 ok, 1 retrying, 2 refused, 3 stopped (logged on change) */
    _Atomic int64_t lastsave_s;
    struct {
        _Atomic uint64_t connections, rejected, commands, keyspace_hits, keyspace_misses, expired_keys,
            net_in, net_out, errors, auth_failures, qbuf_disconnects, obuf_disconnects, protected_refused;
    } stat;

    /* the syncer (appendfsync always; S1) */
    pthread_t syncer;
    bool syncer_started;
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    uint64_t sync_want;         /* under sync_mu: largest lsn asked for */
    bool sync_busy;             /* under sync_mu: a commit is running (the syncer's or a worker's) */
    bool sync_stop;             /* under sync_mu */
    _Atomic uint64_t synced_lsn; /* every write <= this is durable */
    atomic_int sync_error;      /* a failed commit: no later write is ever acknowledged */

    _Atomic uint64_t compat_logged; /* config_compat.h parameters whose CONFIG SET was logged */

    /* INFO's instantaneous_* rates: worker 0's cron samples the counters every 100 ms or more into
     * rings of SERVER_RATE_SAMPLES per-second rates (Redis's trackInstantaneousMetric) */
#define SERVER_RATE_SAMPLES 16
    struct {
        _Atomic uint64_t ops[SERVER_RATE_SAMPLES], in[SERVER_RATE_SAMPLES], out[SERVER_RATE_SAMPLES];
        uint64_t last_ops, last_in, last_out; /* worker 0 only */
        int64_t last_us;
        unsigned idx;
    } rate;
    _Atomic uint64_t peak_memory; /* the largest used_memory the cron has seen */
    struct latency_mon *latency; /* LATENCY (latency.h) */
    uint64_t stall_prev_us;     /* worker 0's cron: engine write-stall time at its last look */
    bool stall_seen;            /* ... stall_prev_us is valid */
    struct monitor_reg *monitors; /* MONITOR (monitor.h) */
    atomic_int n_monitors;      /* monitors registered: dispatch's one relaxed load */

    /* INFO errorstats: error replies by code (the first word: ERR, WRONGTYPE ...); Redis keeps at
     * most 128 codes, and so do we (later codes count in total_error_replies only) */
#define SERVER_ERRSTATS_MAX 128
    pthread_mutex_t errstat_mu;
    struct server_errstat {
        char code[24];
        uint64_t count;
    } errstats[SERVER_ERRSTATS_MAX];
    size_t n_errstats;

    pthread_mutex_t slowlog_mu;
    slowlog_entry *slowlog;     /* ring of cfg->slowlog_max_len entries, newest first order kept */
    size_t slowlog_len, slowlog_cap;
    uint64_t slowlog_next_id;
};

/* Opens the keyspace, binds every address (errors name the address), starts the workers.
 * Returns 0, or non-zero with err filled. */
int server_start(server *s, config *cfg, char *err, size_t errlen);
/* Blocks until SIGTERM/SIGINT or SHUTDOWN, then stops accepting, lets workers finish their turn,
 * commits, closes every connection and the engine. Returns the process exit code. */
int server_wait_and_stop(server *s);
/* Asks the main thread to stop (SHUTDOWN). Thread-safe. */
void server_request_shutdown(server *s, int mode);

/* Adds a connection to this worker's pending list (replies to send in before_sleep). */
void server_mark_pending(worker *w, conn *c);

/* n error replies with code `code` were sent (INFO total_error_replies and errorstats). */
void server_note_errors(server *s, const char *code, uint64_t n);

/* Slow log. */
void server_slowlog_push(server *s, size_t argc, const uint8_t *const *argv, const size_t *argvlen,
                         int64_t duration_us, const conn *c);

/* Latency monitor: records event (latency.h) if it took us µs and that is at least
 * latency_monitor_threshold ms (0: off). Any thread. */
void server_latency_sample(server *s, const char *event, int64_t us);

int64_t server_now_ms(void); /* wall clock, ms since the epoch */
/* Bytes the process has allocated (glibc's mallinfo2: arenas in use + mmapped blocks): INFO's
 * used_memory, as Redis reports its allocator's count; the resident size under an allocator that
 * does not report to mallinfo2 (AddressSanitizer's). */
uint64_t server_used_memory(void);
/* The resident set size (/proc/self/statm): INFO's used_memory_rss. */
uint64_t server_rss_bytes(void);
int64_t server_now_us(void); /* monotonic, µs */
/* "ip:port", or "[v6]:port" for IPv6, as Redis prints addresses (CLIENT LIST, MONITOR, logs) */
struct sockaddr;
void server_format_addr(const struct sockaddr *sa, char *out, size_t n);
void server_log(server *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether a peer address is "local" as Redis counts it (protected mode, enable-debug-command
 * local): 127.0.0.1, ::1 (also v4-mapped), or a Unix socket. */
struct sockaddr_storage;
bool server_is_local_peer(const struct sockaddr_storage *ss);

#endif
