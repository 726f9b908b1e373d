/* conn.h -- one client connection: input buffer -> RESP parser -> dispatch -> reply buffer.
 * Owned by one worker (server.h); nothing else touches it. */
#ifndef STRATA_NET_CONN_H
#define STRATA_NET_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "reply.h"
#include "resp.h"
#include "server.h"

struct conn {
    worker *w;
    int fd;
    uint64_t id;
    resp_parser *parser;
    uint8_t *in;              /* unconsumed input is in[in_r, in_w) */
    size_t in_r, in_w, in_cap;
    reply_buf out;
    _Atomic int db;           /* read by CLIENT LIST on other threads */
    _Atomic int proto;        /* 2 or 3: mirrors out.proto for CLIENT LIST */
    uint32_t tenant;          /* tenant_ent_id(tent), or 0: the default tenant */
    struct tenant_ent *tent;  /* AUTH <tenant> <password>; NULL: the default tenant */
    bool authed;
    bool admin;               /* AUTH <requirepass> (or no requirepass): CMD_ADMIN commands */
    bool local;               /* the peer is 127.0.0.1 or ::1 (server_is_local_peer) */
    bool close_after_reply;   /* QUIT, protocol error */
    bool in_pending;          /* on w->pending, or on w->held when `held` */
    bool held;                /* on w->held: replies wait for the syncer (always) */
    bool writable_armed;      /* EV_WRITABLE installed: the socket was full */
    int64_t obl_soft_since;   /* ms when pending replies reached the soft output limit; 0: below */
    uint64_t lsn;             /* largest lsn among replies not yet sent */
    /* write pacing while compaction lags (st_db_write_delay): the parsed write waits, with
     * reading off, until its slot; its argv views `in`, which stays put while nothing is read */
    bool paused;              /* `parked` waits for pause_timer; EV_READABLE is off */
    bool parked_paid;         /* its delay is reserved: run it without asking again */
    long long pause_timer;
    resp_argv parked;
    size_t parked_used;
    int64_t ctime_ms;
    _Atomic int64_t last_ms;  /* last interaction, for timeout and CLIENT LIST */
    _Atomic uint64_t cmds;    /* commands run */
    const char *_Atomic last_cmd;
    char *name;               /* CLIENT SETNAME; under srv->clients_mu */
    char addr[64], laddr[64];
    conn *next, *prev;        /* w->conns */
    conn *pending_next;       /* w->pending */
    conn *reg_next, *reg_prev; /* srv->clients, under clients_mu */
    /* transactions (cmd_multi.c): MULTI's queue, and WATCH (watch.h) */
    bool in_multi;
    bool multi_error;         /* a command was rejected while queueing: EXEC aborts */
    struct queued_cmd **queue;
    size_t nqueue, queue_cap;
    struct keyreg_ent *watching;
    _Atomic bool watch_dirty;
    /* blocking commands (block.h): the command is `parked`, with `paused` and reading off */
    bool blocked;             /* parked, waiting for a key or the deadline */
    bool block_request;       /* set by a proc: park this command once it returns */
    bool block_started;       /* the command's deadline is set (kept while it runs again) */
    bool block_timed_out;     /* it runs again after the deadline: answer nil, do not block */
    long long block_deadline; /* ev_now_ms() when it times out; 0: never */
    long long block_timer;    /* 0: none */
    struct keyreg_ent *blocking;
    _Atomic bool wake_posted; /* a wake task is on its way */
    /* MONITOR (monitor.h) */
    struct monitor *mon;      /* non-NULL while monitoring */
    _Atomic bool monitoring;  /* mon != NULL, for CLIENT LIST on other threads (flags=O) */
};

/* Runs a blocked connection's command again (a key it waits for was written, or timed_out: its
 * deadline passed), then the rest of its input. No-op if c is not blocked. On c's worker. */
void conn_unblock(conn *c, bool timed_out);

/* Takes ownership of fd (non-blocking already). NULL on ENOMEM (fd closed). */
conn *conn_new(worker *w, int fd);
/* Closes now: unregisters, closes the socket, frees. */
void conn_close(conn *c);
/* client-output-buffer-limit: closes c (and returns false) if its pending replies are past the
 * hard limit, or past the soft one for its seconds. conn_flush checks it; so does the cron, for a
 * client that stopped reading and sends nothing (Redis's clientsCron). */
bool conn_check_output_limit(conn *c);
/* Sends what it can of c->out; arms EV_WRITABLE when the socket is full. Returns false if the
 * connection was closed (error or close_after_reply done). */
bool conn_flush(conn *c);

#endif
