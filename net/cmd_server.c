/* cmd_server.c -- connection and server commands: PING ECHO QUIT HELLO AUTH SELECT RESET DBSIZE
 * FLUSHDB FLUSHALL INFO CONFIG COMMAND CLIENT TIME SAVE BGSAVE LASTSAVE SHUTDOWN SLOWLOG LATENCY
 * MONITOR (the feed itself is monitor.c, the latency samples latency.c).
 * Replies and error texts follow Redis 7. Commands that look at other connections (CLIENT LIST,
 * CLIENT KILL) go through the server's registry under clients_mu; a kill of a connection owned by
 * another worker is posted to that worker (E1: only the owner touches a connection). */
#include <ctype.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd.h"
#include "cmdstats.h"
#include "config_rewrite.h"
#include "watch.h"
#include "conn.h"
#include "latency.h"
#include "monitor.h"
#include "strutil.h"
#include "tenant.h"

#define STRATA_VERSION "0.1.0"
#define REDIS_COMPAT_VERSION "7.0.0"

/* ---- small helpers ---------------------------------------------------------------------------- */

/* A NUL-terminated copy of argv[i] in buf (cut to n-1 bytes). */
static const char *arg_str(const cmd_ctx *x, size_t i, char *buf, size_t n) {
    size_t len = x->argvlen[i] < n - 1 ? x->argvlen[i] : n - 1;
    memcpy(buf, x->argv[i], len);
    buf[len] = 0;
    return buf;
}

/* Compares secrets in time independent of where they differ. */
static bool secret_eq(const uint8_t *a, size_t an, const char *b) {
    size_t bn = strlen(b);
    unsigned diff = (unsigned)(an ^ bn);
    for (size_t i = 0; i < an; i++) diff |= (unsigned)(a[i] ^ (uint8_t)b[i % (bn ? bn : 1)]);
    return diff == 0;
}

static void set_proto(cmd_ctx *x, int proto) {
    x->rb->proto = proto;
    atomic_store(&x->c->proto, proto);
}

/* ---- connection ---------------------------------------------------------------------------------- */

void cmd_ping(cmd_ctx *x) {
    if (x->argc > 2) {
        reply_err_arity(x->rb, "ping");
        return;
    }
    if (x->argc == 2) reply_bulk(x->rb, x->argv[1], x->argvlen[1]);
    else reply_shared(x->rb, REPLY_SH_PONG);
}

void cmd_echo(cmd_ctx *x) { reply_bulk(x->rb, x->argv[1], x->argvlen[1]); }

void cmd_quit(cmd_ctx *x) {
    reply_shared(x->rb, REPLY_SH_OK);
    x->c->close_after_reply = true;
}

/* AUTH and HELLO AUTH: `default` (or no user) is the administrator, checked against
 * requirepass (Redis's default user: with no requirepass it is "nopass", so AUTH default <any>
 * succeeds and only the one-argument form gets the "no password configured" error); any other
 * user is a tenant (tenant.h). Replies with the error on failure. */
static bool check_password(cmd_ctx *x, const uint8_t *user, size_t ulen, const uint8_t *pw, size_t plen) {
    server *s = x->srv;
    bool is_default = !user || (ulen == 7 && memcmp(user, "default", 7) == 0);
    tenant_ent *te = NULL;
    bool ok;
    if (is_default) {
        pthread_rwlock_rdlock(&s->cfg_lock);
        const char *want = s->cfg->requirepass;
        ok = want ? secret_eq(pw, plen, want) : user != NULL;
        bool none = want == NULL;
        pthread_rwlock_unlock(&s->cfg_lock);
        if (none && !user) {
            reply_shared(x->rb, REPLY_SH_NOPASS);
            return false;
        }
    } else {
        ok = s->tenants && tenant_auth(s->tenants, user, ulen, pw, plen, &te) == 0;
    }
    if (!ok) {
        atomic_fetch_add_explicit(&s->stat.auth_failures, 1, memory_order_relaxed);
        reply_shared(x->rb, REPLY_SH_WRONGPASS);
        return false;
    }
    conn *c = x->c;
    c->authed = true;
    c->admin = te == NULL;
    c->tent = te;
    c->tenant = te ? tenant_ent_id(te) : 0;
    resp_parser_set_unauth(c->parser, false);
    return true;
}

void cmd_auth(cmd_ctx *x) {
    if (x->argc > 3) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    bool two = x->argc == 3;
    if (check_password(x, two ? x->argv[1] : NULL, two ? x->argvlen[1] : 0, x->argv[x->argc - 1],
                       x->argvlen[x->argc - 1]))
        reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_hello(cmd_ctx *x) {
    long long ver = 0;
    size_t i = 1;
    if (x->argc >= 2) {
        if (!resp_str_to_ll(x->argv[1], x->argvlen[1], &ver)) {
            reply_error(x->rb, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_shared(x->rb, REPLY_SH_NOPROTO);
            return;
        }
        i = 2;
    }
    const uint8_t *setname = NULL;
    size_t setname_len = 0;
    for (; i < x->argc; i++) {
        if (cmd_arg_is(x, i, "auth") && i + 2 < x->argc) {
            if (!check_password(x, x->argv[i + 1], x->argvlen[i + 1], x->argv[i + 2], x->argvlen[i + 2])) return;
            i += 2;
        } else if (cmd_arg_is(x, i, "setname") && i + 1 < x->argc) {
            setname = x->argv[i + 1];
            setname_len = x->argvlen[i + 1];
            i++;
        } else {
            reply_errorf(x->rb, "ERR Syntax error in HELLO option '%.*s'", (int)(x->argvlen[i] > 64 ? 64 : x->argvlen[i]),
                         (const char *)x->argv[i]);
            return;
        }
    }
    if (!x->c->authed) {
        reply_error(x->rb, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                           "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
                           "select the RESP protocol version at the same time");
        return;
    }
    if (setname) {
        for (size_t k = 0; k < setname_len; k++)
            if (setname[k] < '!' || setname[k] > '~') {
                reply_error(x->rb, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        char *n = strndup((const char *)setname, setname_len);
        pthread_mutex_lock(&x->srv->clients_mu);
        free(x->c->name);
        x->c->name = n;
        pthread_mutex_unlock(&x->srv->clients_mu);
    }
    if (ver) set_proto(x, (int)ver);
    reply_map_header(x->rb, 7);
    reply_bulk_str(x->rb, "server");
    reply_bulk_str(x->rb, "redis");
    reply_bulk_str(x->rb, "version");
    reply_bulk_str(x->rb, REDIS_COMPAT_VERSION);
    reply_bulk_str(x->rb, "proto");
    reply_int(x->rb, x->rb->proto);
    reply_bulk_str(x->rb, "id");
    reply_int(x->rb, (long long)x->c->id);
    reply_bulk_str(x->rb, "mode");
    reply_bulk_str(x->rb, "standalone");
    reply_bulk_str(x->rb, "role");
    reply_bulk_str(x->rb, "master");
    reply_bulk_str(x->rb, "modules");
    reply_array_header(x->rb, 0);
}

void cmd_select(cmd_ctx *x) {
    long long db;
    if (!resp_str_to_ll(x->argv[1], x->argvlen[1], &db)) {
        reply_shared(x->rb, REPLY_SH_NOT_INTEGER);
        return;
    }
    if (db < 0 || db >= x->srv->cfg->databases || db > 255) {
        reply_shared(x->rb, REPLY_SH_DB_RANGE);
        return;
    }
    atomic_store(&x->c->db, (int)db);
    reply_shared(x->rb, REPLY_SH_OK);
}

/* RESET (Redis 7): the connection as if new. Leaves MULTI, WATCH and MONITOR, goes back to
 * database 0, RESP2, no name, and the default user: authenticated only if there is no
 * requirepass (a tenant's connection is no longer the tenant's). */
void cmd_reset(cmd_ctx *x) {
    conn *c = x->c;
    server *s = x->srv;
    monitor_stop(s, c);
    multi_reset(c);
    atomic_store(&c->db, 0);
    set_proto(x, 2);
    pthread_mutex_lock(&s->clients_mu);
    free(c->name);
    c->name = NULL;
    pthread_mutex_unlock(&s->clients_mu);
    pthread_rwlock_rdlock(&s->cfg_lock);
    bool need_auth = s->cfg->requirepass != NULL;
    pthread_rwlock_unlock(&s->cfg_lock);
    c->authed = c->admin = !need_auth;
    c->tent = NULL;
    c->tenant = 0;
    resp_parser_set_unauth(c->parser, need_auth);
    reply_simple(x->rb, "RESET");
}

/* MONITOR: from now on c receives every command (monitor.h); a tenant's connection, only its own
 * tenant's. Redis 7's replies: an error inside EXEC, none at all when c already monitors. */
void cmd_monitor(cmd_ctx *x) {
    if (x->in_exec) {
        reply_error(x->rb, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (x->c->mon) return;
    if (monitor_start(x->srv, x->c)) {
        reply_shared(x->rb, REPLY_SH_OOM);
        return;
    }
    reply_shared(x->rb, REPLY_SH_OK);
}

/* ---- keyspace-wide --------------------------------------------------------------------------------- */

void cmd_dbsize(cmd_ctx *x) {
    uint64_t n = 0;
    int rc = ks_count(x->k, x->ns, x->now_ms, &n);
    if (rc) cmd_reply_ks_error(x, rc);
    else reply_int(x->rb, (long long)n);
}

static bool key_exists(void *arg, ks_ns ns, const uint8_t *key, size_t klen) {
    cmd_ctx *x = arg;
    ks_rec r;
    int rc = ks_lookup(x->k, ns, key, klen, x->now_ms, &r);
    if (rc == 0) ks_rec_free(&r);
    return rc != KS_ENOTFOUND; /* an error counts as "maybe": touched */
}

static void flush(cmd_ctx *x, bool all) {
    if (x->argc > 2 || (x->argc == 2 && !cmd_arg_is(x, 1, "async") && !cmd_arg_is(x, 1, "sync"))) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    uint64_t lsn = 0;
    /* every stripe: no EXEC checks its WATCH between the touch and the deletes (watch.h) */
    ks_lock_all(x->k);
    if (x->srv && !x->in_exec) watch_touch_ns(x->srv->watches, x->ns, all, key_exists, x);
    x->wrote = true; /* (inside EXEC: EXEC tells the watchers after its commit) */
    int rc = ks_flush(x->k, x->ns, all, &lsn);
    /* the administrator's FLUSHALL empties the whole store: every tenant's data too (the
     * tenants themselves stay) */
    uint32_t *ids = NULL;
    size_t nids = 0;
    if (!rc && all && x->c && x->c->admin && x->srv && x->srv->tenants)
        rc = tenant_ids(x->srv->tenants, &ids, &nids);
    for (size_t i = 0; i < nids && !rc; i++) {
        ks_ns tn = {ids[i], 0};
        uint64_t l = 0;
        if (!x->in_exec) watch_touch_ns(x->srv->watches, tn, true, key_exists, x);
        rc = ks_flush(x->k, tn, true, &l);
        if (l > lsn) lsn = l;
    }
    free(ids);
    ks_unlock_all(x->k);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    if (lsn > x->lsn) x->lsn = lsn;
    reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_flushdb(cmd_ctx *x) { flush(x, false); }
void cmd_flushall(cmd_ctx *x) { flush(x, true); }

void cmd_time(cmd_ctx *x) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    reply_array_header(x->rb, 2);
    reply_bulk_ll(x->rb, (long long)ts.tv_sec);
    reply_bulk_ll(x->rb, (long long)(ts.tv_nsec / 1000));
}

void cmd_save(cmd_ctx *x) {
    int rc = ks_flush_memtables(x->k);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    atomic_store(&x->srv->lastsave_s, x->now_ms / 1000);
    reply_shared(x->rb, REPLY_SH_OK);
}

/* COMPACT (Strata's, as Kvrocks's): compacts the whole database now, so that garbage (the elements
 * of deleted collections, expired records, tombstones) leaves the disk without waiting for
 * compaction to get there. It blocks this worker's connections until done: an operator's tool. */
void cmd_compact(cmd_ctx *x) {
    int rc = ks_compact(x->k);
    if (rc) cmd_reply_ks_error(x, rc);
    else reply_shared(x->rb, REPLY_SH_OK);
}

/* Strata's data is always on disk (WAL + tables); BGSAVE writes the memtables to tables, which is
 * what SAVE does, and answers as Redis does. It runs in the worker: a memtable flush is short. */
void cmd_bgsave(cmd_ctx *x) {
    if (x->argc > 2 || (x->argc == 2 && !cmd_arg_is(x, 1, "schedule"))) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    int rc = ks_flush_memtables(x->k);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return;
    }
    atomic_store(&x->srv->lastsave_s, x->now_ms / 1000);
    reply_simple(x->rb, "Background saving started");
}

void cmd_lastsave(cmd_ctx *x) { reply_int(x->rb, (long long)atomic_load(&x->srv->lastsave_s)); }

void cmd_shutdown(cmd_ctx *x) {
    int mode = 0;
    for (size_t i = 1; i < x->argc; i++) {
        if (cmd_arg_is(x, i, "nosave")) mode = 2;
        else if (cmd_arg_is(x, i, "save")) mode = 1;
        else if (cmd_arg_is(x, i, "now") || cmd_arg_is(x, i, "force")) continue;
        else if (cmd_arg_is(x, i, "abort")) {
            reply_error(x->rb, "ERR No shutdown in progress.");
            return;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    server_log(x->srv, CONFIG_LOG_WARNING, "User requested shutdown...");
    server_request_shutdown(x->srv, mode);
    /* as Redis: no reply, the connection closes */
    x->c->close_after_reply = true;
}

/* ---- INFO ----------------------------------------------------------------------------------------- */

typedef struct info_out {
    char *p;
    size_t len, cap;
} info_out;

static void out_add(info_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_add(info_out *o, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (o->p && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 4096;
        while (cap < o->len + (size_t)n + 1) cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) return;
        o->p = p;
        o->cap = cap;
    }
}

typedef struct info_split {
    info_out storage, tiers;
} info_split;

static void info_storage_split(void *arg, const char *name, const char *value) {
    info_split *sp = arg;
    out_add(strncmp(name, "tier_", 5) == 0 ? &sp->tiers : &sp->storage, "%s:%s\r\n", name, value);
}

/* Every worker's table (NULL-padded to n_workers). */
static size_t all_cstats(server *s, cmdstats **out, size_t cap) {
    size_t n = 0;
    for (int i = 0; i < s->n_workers && n < cap; i++) out[n++] = s->workers[i].cstats;
    return n;
}

#define MAX_WORKERS_SUMMED 1024

/* cmdstat_<name>:calls=..,usec=..,usec_per_call=..,rejected_calls=..,failed_calls=.. for every
 * command used since the start or CONFIG RESETSTAT. Strata counts a container command (CONFIG,
 * CLIENT ...) as one, where Redis 7 counts config|get and config|set apart. */
static void info_commandstats(server *s, info_out *o) {
    cmdstats **cs = calloc(MAX_WORKERS_SUMMED, sizeof *cs);
    if (!cs) return;
    size_t nw = all_cstats(s, cs, MAX_WORKERS_SUMMED), n;
    const cmd_spec *specs = cmd_all(&n);
    out_add(o, "# Commandstats\r\n");
    for (size_t i = 0; i < n; i++) {
        cmdstat_sum sum;
        cmdstats_sum(cs, nw, cmd_index(&specs[i]), &sum);
        if (!sum.calls && !sum.rejected && !sum.failed) continue;
        uint64_t usec = sum.ns / 1000;
        out_add(o, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
                specs[i].name, (unsigned long long)sum.calls, (unsigned long long)usec,
                sum.calls ? (double)sum.ns / 1000.0 / (double)sum.calls : 0.0, (unsigned long long)sum.rejected,
                (unsigned long long)sum.failed);
    }
    out_add(o, "\r\n");
    free(cs);
}

/* latency_percentiles_usec_<name>:p50=..,p99=..,p99.9=.. at latency-tracking-info-percentiles,
 * while latency-tracking is yes (both as Redis 7). */
static void info_latencystats(server *s, info_out *o) {
    out_add(o, "# Latencystats\r\n");
    double ps[16];
    size_t np = 0;
    char pct[256];
    pthread_rwlock_rdlock(&s->cfg_lock);
    bool on = strcmp(compat_get(&s->cfg->compat, compat_find("latency-tracking")), "yes") == 0;
    snprintf(pct, sizeof pct, "%s", compat_get(&s->cfg->compat, compat_find("latency-tracking-info-percentiles")));
    pthread_rwlock_unlock(&s->cfg_lock);
    for (char *save = NULL, *t = strtok_r(pct, " ", &save); t && np < 16; t = strtok_r(NULL, " ", &save))
        ps[np++] = strtod(t, NULL);
    cmdstats **cs = on && np ? calloc(MAX_WORKERS_SUMMED, sizeof *cs) : NULL;
    if (cs) {
        size_t nw = all_cstats(s, cs, MAX_WORKERS_SUMMED), n;
        const cmd_spec *specs = cmd_all(&n);
        for (size_t i = 0; i < n; i++) {
            double us[16];
            if (!cmdstats_percentiles(cs, nw, cmd_index(&specs[i]), ps, np, us)) continue;
            out_add(o, "latency_percentiles_usec_%s:", specs[i].name);
            for (size_t j = 0; j < np; j++) out_add(o, "%sp%g=%.3f", j ? "," : "", ps[j], us[j]);
            out_add(o, "\r\n");
        }
        free(cs);
    }
    out_add(o, "\r\n");
}

typedef struct ks_tally {
    int64_t now_ms;
    uint64_t keys, expires, ttl_sum_ms;
} ks_tally;

static int tally_one(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    (void)key;
    (void)klen;
    ks_tally *t = arg;
    t->keys++;
    if (rec->expire_ms) {
        t->expires++;
        t->ttl_sum_ms += (uint64_t)(rec->expire_ms - t->now_ms);
    }
    return 0;
}

static bool want(const cmd_ctx *x, const char *section, bool in_default) {
    if (x->argc == 1) return in_default;
    for (size_t i = 1; i < x->argc; i++)
        if (cmd_arg_is(x, i, section) || cmd_arg_is(x, i, "all") || cmd_arg_is(x, i, "everything") ||
            (in_default && cmd_arg_is(x, i, "default")))
            return true;
    return false;
}

/* Redis's bytesToHuman: "1.05M". */
static const char *human_bytes(char buf[32], uint64_t n) {
    static const char units[] = "BKMGTP";
    double d = (double)n;
    int u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, 32, "%lluB", (unsigned long long)n);
    else snprintf(buf, 32, "%.2f%c", d, units[u]);
    return buf;
}

/* The mean of a rate ring (server.h). */
static uint64_t rate_mean(_Atomic uint64_t *ring) {
    uint64_t sum = 0;
    for (int i = 0; i < SERVER_RATE_SAMPLES; i++) sum += atomic_load_explicit(&ring[i], memory_order_relaxed);
    return sum / SERVER_RATE_SAMPLES;
}

void cmd_info(cmd_ctx *x) {
    server *s = x->srv;
    config *cfg = s->cfg;
    info_out o = {0};
    int64_t up_s = (x->now_ms - s->start_ms) / 1000;
    if (want(x, "server", true)) {
        struct utsname u;
        uname(&u);
        out_add(&o,
                "# Server\r\nredis_version:%s\r\nstrata_version:%s\r\nredis_mode:standalone\r\nos:%s %s %s\r\n"
                "arch_bits:%d\r\nmultiplexing_api:epoll\r\nprocess_id:%d\r\ntcp_port:%d\r\nuptime_in_seconds:%lld\r\n"
                "uptime_in_days:%lld\r\nhz:%d\r\nio_threads_active:0\r\nworkers:%d\r\nconfig_file:%s\r\n\r\n",
                REDIS_COMPAT_VERSION, STRATA_VERSION, u.sysname, u.release, u.machine, (int)(sizeof(void *) * 8),
                (int)getpid(), cfg->port, (long long)up_s, (long long)(up_s / 86400), cfg->hz, s->n_workers,
                cfg->config_file ? cfg->config_file : "");
    }
    if (want(x, "clients", true))
        out_add(&o, "# Clients\r\nconnected_clients:%d\r\nmaxclients:%d\r\nblocked_clients:%d\r\n\r\n",
                atomic_load(&s->n_clients), cfg->maxclients, atomic_load(&s->n_blocked));
    if (want(x, "memory", true)) {
        /* used_memory: what the allocator has handed out (Redis's zmalloc count); maxmemory: the
         * engine's budget, memory_limit (Strata never evicts: data lives on disk) */
        uint64_t rss = server_rss_bytes(), used = server_used_memory(), peak = atomic_load(&s->peak_memory);
        if (used > peak) peak = used;
        char h_used[32], h_rss[32], h_peak[32], h_max[32];
        out_add(&o,
                "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
                "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
                "maxmemory:%llu\r\nmaxmemory_human:%s\r\nmaxmemory_policy:noeviction\r\nmem_allocator:libc\r\n\r\n",
                (unsigned long long)used, human_bytes(h_used, used), (unsigned long long)rss, human_bytes(h_rss, rss),
                (unsigned long long)peak, human_bytes(h_peak, peak), (unsigned long long)cfg->memory_limit_bytes,
                human_bytes(h_max, cfg->memory_limit_bytes));
    }
    char wmsg[384] = "";
    int wst = ks_write_status(s->k, wmsg, sizeof wmsg);
    for (char *q = wmsg; *q; q++) /* one INFO line */
        if (*q == '\r' || *q == '\n') *q = ' ';
    if (want(x, "persistence", true))
        out_add(&o,
                "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
                "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\n"
                "aof_last_write_status:%s\r\nappendfsync:%s\r\nwrite_status:%s\r\nwrite_status_message:%s\r\n\r\n",
                (long long)atomic_load(&s->lastsave_s), wst ? "err" : "ok",
                cfg->appendfsync == ST_SYNC_ALWAYS ? "always" : cfg->appendfsync == ST_SYNC_NO ? "no" : "everysec",
                wst == 0 ? (wmsg[0] ? "retrying" : "ok") : wst == KS_ENOSPC ? "refused" : "stopped", wmsg);
    if (want(x, "stats", true))
        out_add(&o,
                "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
                "expired_keys:%llu\r\nkeyspace_hits:%llu\r\nkeyspace_misses:%llu\r\ntotal_error_replies:%llu\r\n"
                "acl_access_denied_auth:%llu\r\nclient_query_buffer_limit_disconnections:%llu\r\n"
                "client_output_buffer_limit_disconnections:%llu\r\nprotected_mode_refused_connections:%llu\r\n"
                "instantaneous_ops_per_sec:%llu\r\ninstantaneous_input_kbps:%.2f\r\ninstantaneous_output_kbps:%.2f\r\n"
                "evicted_keys:0\r\n\r\n",
                (unsigned long long)s->stat.connections, (unsigned long long)s->stat.commands,
                (unsigned long long)s->stat.net_in, (unsigned long long)s->stat.net_out,
                (unsigned long long)s->stat.rejected, (unsigned long long)s->stat.expired_keys,
                (unsigned long long)s->stat.keyspace_hits, (unsigned long long)s->stat.keyspace_misses,
                (unsigned long long)s->stat.errors, (unsigned long long)s->stat.auth_failures,
                (unsigned long long)s->stat.qbuf_disconnects, (unsigned long long)s->stat.obuf_disconnects,
                (unsigned long long)s->stat.protected_refused, (unsigned long long)rate_mean(s->rate.ops),
                (double)rate_mean(s->rate.in) / 1024.0, (double)rate_mean(s->rate.out) / 1024.0);
    if (want(x, "replication", true)) out_add(&o, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    if (want(x, "cpu", true)) {
        struct rusage self, kids;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
        out_add(&o,
                "# CPU\r\nused_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
                "used_cpu_user_children:%.6f\r\n\r\n",
                TV(self.ru_stime), TV(self.ru_utime), TV(kids.ru_stime), TV(kids.ru_utime));
#undef TV
    }
    if (want(x, "storage", true) || want(x, "tiers", true)) {
        /* one pass over the engine's stats; its tier_* lines are the Tiers section */
        info_split sp = {{0}, {0}};
        ks_info_storage(x->k, info_storage_split, &sp);
        if (want(x, "storage", true)) out_add(&o, "# Storage\r\n%.*s\r\n", (int)sp.storage.len, sp.storage.p ? sp.storage.p : "");
        if (want(x, "tiers", true)) out_add(&o, "# Tiers\r\n%.*s\r\n", (int)sp.tiers.len, sp.tiers.p ? sp.tiers.p : "");
        free(sp.storage.p);
        free(sp.tiers.p);
    }
    if (want(x, "errorstats", true)) {
        out_add(&o, "# Errorstats\r\n");
        pthread_mutex_lock(&s->errstat_mu);
        for (size_t i = 0; i < s->n_errstats; i++)
            if (s->errstats[i].count)
                out_add(&o, "errorstat_%s:count=%llu\r\n", s->errstats[i].code, (unsigned long long)s->errstats[i].count);
        pthread_mutex_unlock(&s->errstat_mu);
        out_add(&o, "\r\n");
    }
    if (want(x, "commandstats", false)) info_commandstats(s, &o);
    if (want(x, "latencystats", false)) info_latencystats(s, &o);
    if (want(x, "keyspace", true)) {
        /* exact counts: a scan per database (see docs/ARCHITECTURE.md, "Known limits") */
        out_add(&o, "# Keyspace\r\n");
        for (int db = 0; db < cfg->databases && db < 256; db++) {
            ks_tally t = {x->now_ms, 0, 0, 0};
            ks_ns ns = {x->ns.tenant, (uint8_t)db};
            uint8_t *next = NULL;
            size_t nlen = 0;
            int rc = ks_scan(x->k, ns, NULL, 0, NULL, 0, 0, x->now_ms, tally_one, &t, &next, &nlen);
            if (rc) /* never a silent "empty": say the count is unknown, and why */
                out_add(&o, "db%d:error=%s\r\n", db, ks_strerror(rc));
            else if (t.keys)
                out_add(&o, "db%d:keys=%llu,expires=%llu,avg_ttl=%llu\r\n", db, (unsigned long long)t.keys,
                        (unsigned long long)t.expires,
                        (unsigned long long)(t.expires ? t.ttl_sum_ms / t.expires : 0));
            free(next);
        }
    }
    if (o.len >= 2 && o.p[o.len - 1] == '\n' && o.p[o.len - 2] == '\r' && o.len >= 4 &&
        o.p[o.len - 3] == '\n')
        o.len -= 2; /* no blank line after the last section */
    if (x->rb->proto == 3) reply_verbatim(x->rb, o.p ? o.p : "", o.len, "txt");
    else reply_bulk(x->rb, o.p ? o.p : "", o.len);
    free(o.p);
}

/* ---- CONFIG ----------------------------------------------------------------------------------------- */

typedef struct cfg_pairs {
    reply_buf *rb;
    size_t n;
} cfg_pairs;

static void cfg_emit(const char *name, const char *value, void *ud) {
    cfg_pairs *p = ud;
    reply_bulk_str(p->rb, name);
    reply_bulk_str(p->rb, value);
    p->n++;
}

/* Remembers a parameter's value before CONFIG SET changes it (config_get calls back once). */
static void cfg_save(const char *name, const char *value, void *ud) {
    (void)name;
    char **old = ud;
    if (!*old) *old = strdup(value);
}

static bool names_equal(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++) {
        int ca = tolower(a[i]) == '_' ? '-' : tolower(a[i]), cb = tolower(b[i]) == '_' ? '-' : tolower(b[i]);
        if (ca != cb) return false;
    }
    return true;
}

/* CONFIG SET name value [name value ...]: all or nothing, as Redis 7. */
static void config_set_all(cmd_ctx *x) {
    server *s = x->srv;
    char name[128], value[1024], err[512];
    size_t n = (x->argc - 2) / 2;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (names_equal(x->argv[2 + 2 * i], x->argvlen[2 + 2 * i], x->argv[2 + 2 * j], x->argvlen[2 + 2 * j])) {
                reply_errorf(x->rb, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter",
                             arg_str(x, 2 + 2 * j, name, sizeof name));
                return;
            }
    char **old = calloc(n, sizeof *old);
    if (!old) {
        reply_shared(x->rb, REPLY_SH_OOM);
        return;
    }
    pthread_rwlock_wrlock(&s->cfg_lock);
    int rc = 0;
    size_t done = 0;
    for (; done < n && !rc; done++) {
        arg_str(x, 2 + 2 * done, name, sizeof name);
        config_get(s->cfg, name, cfg_save, &old[done]);
        rc = config_set(s->cfg, name, arg_str(x, 3 + 2 * done, value, sizeof value), err, sizeof err);
    }
    if (rc) /* undo the ones already applied, newest first */
        for (size_t i = done - 1; i-- > 0;) {
            char ignored[64];
            if (old[i]) config_set(s->cfg, arg_str(x, 2 + 2 * i, value, sizeof value), old[i], ignored, sizeof ignored);
        }
    pthread_rwlock_unlock(&s->cfg_lock);
    for (size_t i = 0; i < n; i++) free(old[i]);
    free(old);
    for (size_t i = 0; !rc && i < n; i++) {
        /* Redis knobs Strata stores but does not act on: say so once per parameter */
        int ci = compat_find(arg_str(x, 2 + 2 * i, name, sizeof name));
        if (ci < 0 || !compat_ignored(ci) || (atomic_fetch_or(&s->compat_logged, UINT64_C(1) << ci) >> ci & 1)) continue;
        server_log(s, CONFIG_LOG_NOTICE,
                   "CONFIG SET %s: accepted and stored, but Strata ignores it (no such knob in an LSM store; "
                   "docs/COMPATIBILITY.md)",
                   compat_name(ci));
    }
    if (rc == CONFIG_EUNKNOWN)
        reply_errorf(x->rb, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
    else if (rc)
        reply_errorf(x->rb, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, err);
    else
        reply_shared(x->rb, REPLY_SH_OK);
}

void cmd_config(cmd_ctx *x) {
    server *s = x->srv;
    char name[128];
    if (cmd_arg_is(x, 1, "get") && x->argc >= 3) {
        cfg_pairs p = {x->rb, 0};
        size_t h = reply_defer_len(x->rb);
        pthread_rwlock_rdlock(&s->cfg_lock);
        for (size_t i = 2; i < x->argc; i++) config_get(s->cfg, arg_str(x, i, name, sizeof name), cfg_emit, &p);
        pthread_rwlock_unlock(&s->cfg_lock);
        reply_set_deferred_len(x->rb, h, p.n, REPLY_AGG_MAP);
    } else if (cmd_arg_is(x, 1, "set") && x->argc >= 4 && x->argc % 2 == 0) {
        config_set_all(x);
    } else if (cmd_arg_is(x, 1, "resetstat") && x->argc == 2) {
        atomic_store(&s->stat.commands, 0);
        atomic_store(&s->stat.connections, 0);
        atomic_store(&s->stat.rejected, 0);
        atomic_store(&s->stat.expired_keys, 0);
        atomic_store(&s->stat.keyspace_hits, 0);
        atomic_store(&s->stat.keyspace_misses, 0);
        atomic_store(&s->stat.net_in, 0);
        atomic_store(&s->stat.net_out, 0);
        atomic_store(&s->stat.errors, 0);
        atomic_store(&s->stat.auth_failures, 0);
        for (int i = 0; i < s->n_workers; i++) cmdstats_reset(s->workers[i].cstats);
        pthread_mutex_lock(&s->errstat_mu);
        s->n_errstats = 0;
        pthread_mutex_unlock(&s->errstat_mu);
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "rewrite") && x->argc == 2) {
        char err[512];
        pthread_rwlock_rdlock(&s->cfg_lock);
        int rc = config_rewrite(s->cfg, err, sizeof err);
        pthread_rwlock_unlock(&s->cfg_lock);
        if (rc) {
            server_log(s, CONFIG_LOG_WARNING, "CONFIG REWRITE failed: %s", err);
            reply_errorf(x->rb, "ERR %s", err);
        } else {
            server_log(s, CONFIG_LOG_NOTICE, "CONFIG REWRITE executed with success.");
            reply_shared(x->rb, REPLY_SH_OK);
        }
    } else if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *lines[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
            "RESETSTAT", "    Reset statistics reported by the INFO command.",
            "REWRITE", "    Rewrite the configuration file.",
            "HELP", "    Print this help."};
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else if (cmd_arg_is(x, 1, "get") || cmd_arg_is(x, 1, "set") || cmd_arg_is(x, 1, "resetstat") ||
               cmd_arg_is(x, 1, "rewrite") || cmd_arg_is(x, 1, "help")) {
        cmd_reply_sub_arity(x, "config");
    } else {
        reply_err_unknown_subcommand(x->rb, "config", x->argv[1], x->argvlen[1]);
    }
}

/* ---- COMMAND ---------------------------------------------------------------------------------------- */

/* Flags as Redis 7 names them, in its order. Derived ones: movablekeys (keys after a numkeys
 * argument) and no_mandatory_keys (EVAL, FCALL: numkeys may be 0). */
static void command_flags(reply_buf *rb, unsigned f, const cmd_spec *keys_of) {
    const char *flags[16];
    size_t nf = 0;
    if (f & CMD_WRITE) flags[nf++] = "write";
    if (f & CMD_READONLY) flags[nf++] = "readonly";
    if (f & CMD_DENYOOM) flags[nf++] = "denyoom";
    if (f & CMD_ADMIN) flags[nf++] = "admin";
    if (f & CMD_PUBSUB) flags[nf++] = "pubsub";
    if (f & CMD_NOSCRIPT) flags[nf++] = "noscript";
    if (f & CMD_LOADING) flags[nf++] = "loading";
    if (f & CMD_STALE) flags[nf++] = "stale";
    if (f & CMD_FAST) flags[nf++] = "fast";
    if (f & CMD_NOAUTH) flags[nf++] = "no_auth";
    if (keys_of && cmd_keys_optional(keys_of)) flags[nf++] = "no_mandatory_keys";
    if (keys_of && cmd_keys_movable(keys_of)) flags[nf++] = "movablekeys";
    reply_set_header(rb, nf);
    for (size_t i = 0; i < nf; i++) reply_simple(rb, flags[i]);
}

/* COMMAND INFO's 10 fields: name, arity, flags, first key, last key, step, ACL categories, tips,
 * key specs, subcommands (Strata lists no categories, tips or key specs). */
static void command_info_one(reply_buf *rb, const cmd_spec *c) {
    reply_array_header(rb, 10);
    reply_bulk_str(rb, c->name);
    reply_int(rb, c->arity);
    command_flags(rb, c->flags, c);
    reply_int(rb, c->first_key);
    reply_int(rb, c->last_key);
    reply_int(rb, c->step);
    reply_set_header(rb, 0);   /* ACL categories */
    reply_set_header(rb, 0);   /* tips */
    reply_array_header(rb, 0); /* key specs */
    const cmd_sub *subs = cmd_subs(c);
    size_t nsub = 0;
    for (const cmd_sub *sub = subs; sub && sub->name; sub++) nsub++;
    reply_array_header(rb, nsub);
    for (const cmd_sub *sub = subs; sub && sub->name; sub++) {
        char full[64];
        snprintf(full, sizeof full, "%s|%s", c->name, sub->name);
        reply_array_header(rb, 10);
        reply_bulk_str(rb, full);
        reply_int(rb, sub->arity);
        command_flags(rb, sub->flags, NULL);
        reply_int(rb, sub->key);
        reply_int(rb, sub->key);
        reply_int(rb, sub->key ? 1 : 0);
        reply_set_header(rb, 0);
        reply_set_header(rb, 0);
        reply_array_header(rb, 0);
        reply_array_header(rb, 0);
    }
}

/* COMMAND DOCS: summary, since, group, complexity, and for a deprecated command doc_flags,
 * deprecated_since and replaced_by, in Redis 7's order (cmd_docs.c). */
static void command_docs_one(reply_buf *rb, const cmd_spec *c) {
    const cmd_doc *d = cmd_doc_lookup(c->name);
    const cmd_deprecation *dep = cmd_doc_deprecation(c->name);
    bool cx = d && d->complexity;
    reply_bulk_str(rb, c->name);
    reply_map_header(rb, 3 + cx + (dep ? 3 : 0));
    reply_bulk_str(rb, "summary");
    reply_bulk_str(rb, c->summary ? c->summary : "");
    reply_bulk_str(rb, "since");
    reply_bulk_str(rb, d && d->since ? d->since : "1.0.0");
    reply_bulk_str(rb, "group");
    /* the table's group names are identifiers; Redis's docs spell this one with a dash */
    reply_bulk_str(rb, strcmp(c->group, "sorted_set") ? c->group : "sorted-set");
    if (cx) {
        reply_bulk_str(rb, "complexity");
        reply_bulk_str(rb, d->complexity);
    }
    if (dep) {
        reply_bulk_str(rb, "doc_flags");
        reply_set_header(rb, 1);
        reply_simple(rb, "deprecated");
        reply_bulk_str(rb, "deprecated_since");
        reply_bulk_str(rb, dep->since);
        reply_bulk_str(rb, "replaced_by");
        reply_bulk_str(rb, dep->replaced_by);
    }
}

/* Appends the space-separated words of flags as simple strings, in an array. */
static void key_flags_reply(reply_buf *rb, const char *flags) {
    size_t n = 0;
    for (const char *p = flags; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        n++;
        while (*p && *p != ' ') p++;
    }
    reply_array_header(rb, n);
    for (const char *p = flags; *p;) {
        while (*p == ' ') p++;
        const char *w = p;
        while (*p && *p != ' ') p++;
        if (p > w) reply_simple_len(rb, w, (size_t)(p - w));
    }
}

/* The key-spec flags of key number i (0-based, in cmd_key_positions's order) of a command: the
 * first key has the first spec's, the others the second's (every command with two specs names
 * its odd key first: RENAME's source, ZUNIONSTORE's destination). SET's depend on GET, as in
 * Redis's setGetKeys. A command without an entry gets flags from its own: RO or RW. */
static const char *key_flags_of(const cmd_spec *s, const cmd_sub *sub, size_t i, size_t argc,
                                const uint8_t *const *argv, const size_t *argvlen) {
    if (!strcmp(s->name, "set")) {
        for (size_t j = 3; j < argc; j++)
            if (argvlen[j] == 3 && (argv[j][0] | 0x20) == 'g' && (argv[j][1] | 0x20) == 'e' && (argv[j][2] | 0x20) == 't')
                return "RW access update";
        return "OW update";
    }
    char full[64];
    snprintf(full, sizeof full, "%s%s%s", s->name, sub ? "|" : "", sub ? sub->name : "");
    const cmd_doc *d = cmd_doc_lookup(full);
    if (d && d->key_flags[0]) return i > 0 && d->key_flags[1] ? d->key_flags[1] : d->key_flags[0];
    unsigned f = sub ? sub->flags : s->flags;
    return (f & CMD_WRITE) ? "RW access update" : "RO access";
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS <command> [<arg> ...]: the keys the command would touch, as
 * cmd_key_positions finds them, with Redis 7.0's checks in its order. A container's
 * subcommand counts as a command of its own ('memory|usage'); an unknown one of a container whose
 * subcommands the table lists is no command. */
static void command_getkeys(cmd_ctx *x, bool with_flags) {
    size_t argc = x->argc - 2;
    const uint8_t *const *argv = x->argv + 2;
    const size_t *argvlen = x->argvlen + 2;
    const cmd_spec *s = cmd_lookup(argv[0], argvlen[0]);
    const cmd_sub *sub = NULL;
    if (s && cmd_subs(s) && argc >= 2 && !(sub = cmd_sub_lookup(s, argv[1], argvlen[1]))) s = NULL;
    if (!s) {
        reply_error(x->rb, "ERR Invalid command specified");
        return;
    }
    if (sub ? sub->key <= 0 : s->first_key <= 0 && !cmd_keys_movable(s)) {
        reply_error(x->rb, "ERR The command has no key arguments");
        return;
    }
    int arity = sub ? sub->arity : s->arity;
    if ((arity > 0 && (size_t)arity != argc) || (arity < 0 && argc < (size_t)-arity)) {
        reply_error(x->rb, "ERR Invalid number of arguments specified for command");
        return;
    }
    size_t small[16], *pos = small;
    size_t n = cmd_key_positions(s, argc, argv, argvlen, small, 16);
    if (n > 16) {
        if (!(pos = malloc(n * sizeof *pos))) {
            reply_shared(x->rb, REPLY_SH_OOM);
            return;
        }
        cmd_key_positions(s, argc, argv, argvlen, pos, n);
    }
    if (n == 0 && !cmd_keys_optional(s)) {
        reply_error(x->rb, "ERR Invalid arguments specified for command");
        return;
    }
    reply_array_header(x->rb, n);
    for (size_t i = 0; i < n; i++) {
        if (with_flags) reply_array_header(x->rb, 2);
        reply_bulk(x->rb, argv[pos[i]], argvlen[pos[i]]);
        if (with_flags) key_flags_reply(x->rb, key_flags_of(s, sub, i, argc, argv, argvlen));
    }
    if (pos != small) free(pos);
}

void cmd_command(cmd_ctx *x) {
    size_t n;
    const cmd_spec *all = cmd_all(&n);
    if (x->argc == 1) {
        reply_array_header(x->rb, n);
        for (size_t i = 0; i < n; i++) command_info_one(x->rb, &all[i]);
    } else if (cmd_arg_is(x, 1, "count") && x->argc == 2) {
        reply_int(x->rb, (long long)n);
    } else if (cmd_arg_is(x, 1, "list") && x->argc == 2) {
        reply_array_header(x->rb, n);
        for (size_t i = 0; i < n; i++) reply_bulk_str(x->rb, all[i].name);
    } else if (cmd_arg_is(x, 1, "info")) {
        if (x->argc == 2) {
            reply_array_header(x->rb, n);
            for (size_t i = 0; i < n; i++) command_info_one(x->rb, &all[i]);
            return;
        }
        reply_array_header(x->rb, x->argc - 2);
        for (size_t i = 2; i < x->argc; i++) {
            const cmd_spec *c = cmd_lookup(x->argv[i], x->argvlen[i]);
            if (c) command_info_one(x->rb, c);
            else reply_null_array(x->rb);
        }
    } else if ((cmd_arg_is(x, 1, "getkeys") || cmd_arg_is(x, 1, "getkeysandflags")) && x->argc >= 4) {
        command_getkeys(x, cmd_arg_is(x, 1, "getkeysandflags"));
    } else if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *lines[] = {
            "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "(no subcommand)", "    Return details about all commands.",
            "COUNT", "    Return the total number of commands in this server.",
            "LIST", "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]", "    Return details about multiple commands.",
            "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
            "GETKEYS <full-command>", "    Return the keys from a full command.",
            "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full command.",
            "HELP", "    Print this help."};
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else if (cmd_arg_is(x, 1, "count") || cmd_arg_is(x, 1, "list") || cmd_arg_is(x, 1, "help") ||
               cmd_arg_is(x, 1, "getkeys") || cmd_arg_is(x, 1, "getkeysandflags")) {
        cmd_reply_sub_arity(x, "command");
    } else if (cmd_arg_is(x, 1, "docs")) {
        if (x->argc == 2) {
            reply_map_header(x->rb, n);
            for (size_t i = 0; i < n; i++) command_docs_one(x->rb, &all[i]);
            return;
        }
        size_t h = reply_defer_len(x->rb), found = 0;
        for (size_t i = 2; i < x->argc; i++) {
            const cmd_spec *c = cmd_lookup(x->argv[i], x->argvlen[i]);
            if (c) {
                command_docs_one(x->rb, c);
                found++;
            }
        }
        reply_set_deferred_len(x->rb, h, found, REPLY_AGG_MAP);
    } else {
        reply_err_unknown_subcommand(x->rb, "command", x->argv[1], x->argvlen[1]);
    }
}

/* ---- CLIENT ----------------------------------------------------------------------------------------- */

static void client_line(info_out *o, const conn *c, int64_t now_ms) {
    int64_t last = atomic_load(&c->last_ms);
    const char *cmd = atomic_load(&c->last_cmd);
    out_add(o,
            "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 ssub=0 "
            "multi=-1 watch=0 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
            "tot-mem=0 events=r cmd=%s user=%s redir=-1 resp=%d lib-name= lib-ver=\n",
            (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
            (long long)((now_ms - c->ctime_ms) / 1000), (long long)((now_ms - last) / 1000),
            atomic_load_explicit(&c->monitoring, memory_order_relaxed) ? "O" : "N", atomic_load(&c->db),
            cmd ? cmd : "NULL", c->tent ? tenant_ent_name(c->tent) : "default", atomic_load(&c->proto));
}

typedef struct user_seen {
    const char *name;
    bool found;
} user_seen;

static void user_match(void *arg, const char *name) {
    user_seen *u = arg;
    if (strcmp(u->name, name) == 0) u->found = true;
}

/* A tenant's connection sees (CLIENT LIST) and may kill (CLIENT KILL) only its tenant's
 * connections; the administrator, all of them. */
static bool client_visible(const conn *self, const conn *c) { return self->admin || (self->tent && c->tent == self->tent); }

typedef struct kill_req {
    worker *w;
    uint64_t id;
} kill_req;

/* Runs on the owning worker (E1); a connection already gone is simply not found. */
static void kill_task(ev_loop *loop, void *arg) {
    kill_req *k = arg;
    if (loop) {
        for (conn *c = k->w->conns; c; c = c->next)
            if (c->id == k->id) {
                conn_close(c);
                break;
            }
    }
    free(k);
}

void cmd_kill_tenant_clients(server *s, uint32_t tenant) {
    pthread_mutex_lock(&s->clients_mu);
    for (conn *c = s->clients; c; c = c->reg_next) {
        if (!c->tent || c->tenant != tenant) continue;
        kill_req *k = malloc(sizeof *k);
        if (!k) continue; /* it is closed at its next command (conn.c) */
        k->w = c->w;
        k->id = c->id;
        ev_post(c->w->loop, kill_task, k);
    }
    pthread_mutex_unlock(&s->clients_mu);
}

void cmd_client(cmd_ctx *x) {
    server *s = x->srv;
    conn *self = x->c;
    if (cmd_arg_is(x, 1, "id") && x->argc == 2) {
        reply_int(x->rb, (long long)self->id);
    } else if (cmd_arg_is(x, 1, "getname") && x->argc == 2) {
        pthread_mutex_lock(&s->clients_mu);
        if (self->name && *self->name) reply_bulk_str(x->rb, self->name);
        else reply_null(x->rb);
        pthread_mutex_unlock(&s->clients_mu);
    } else if (cmd_arg_is(x, 1, "setname") && x->argc == 3) {
        for (size_t k = 0; k < x->argvlen[2]; k++)
            if (x->argv[2][k] < '!' || x->argv[2][k] > '~') {
                reply_error(x->rb, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        char *n = x->argvlen[2] ? strndup((const char *)x->argv[2], x->argvlen[2]) : NULL;
        pthread_mutex_lock(&s->clients_mu);
        free(self->name);
        self->name = n;
        pthread_mutex_unlock(&s->clients_mu);
        reply_shared(x->rb, REPLY_SH_OK);
    } else if ((cmd_arg_is(x, 1, "list") && (x->argc == 2 || (x->argc == 4 && cmd_arg_is(x, 2, "type")) ||
                                               (x->argc >= 4 && cmd_arg_is(x, 2, "id")))) ||
               (cmd_arg_is(x, 1, "info") && x->argc == 2)) {
        info_out o = {0};
        uint64_t *ids = NULL;
        size_t n_ids = 0;
        if (x->argc >= 4 && cmd_arg_is(x, 2, "id")) {
            ids = calloc(x->argc - 3, sizeof *ids);
            for (size_t i = 3; ids && i < x->argc; i++) {
                long long v;
                if (!resp_str_to_ll(x->argv[i], x->argvlen[i], &v) || v <= 0) {
                    reply_error(x->rb, "ERR Invalid client ID");
                    free(ids);
                    return;
                }
                ids[n_ids++] = (uint64_t)v;
            }
        }
        pthread_mutex_lock(&s->clients_mu);
        if (cmd_arg_is(x, 1, "info")) {
            client_line(&o, self, x->now_ms);
        } else if (ids) {
            for (size_t i = 0; i < n_ids; i++)
                for (conn *c = s->clients; c; c = c->reg_next)
                    if (c->id == ids[i] && client_visible(self, c)) client_line(&o, c, x->now_ms);
        } else if (x->argc == 2 || cmd_arg_is(x, 3, "normal")) {
            for (conn *c = s->clients; c; c = c->reg_next)
                if (client_visible(self, c)) client_line(&o, c, x->now_ms);
        }
        pthread_mutex_unlock(&s->clients_mu);
        free(ids);
        if (x->rb->proto == 3) reply_verbatim(x->rb, o.p ? o.p : "", o.len, "txt");
        else reply_bulk(x->rb, o.p ? o.p : "", o.len);
        free(o.p);
    } else if (cmd_arg_is(x, 1, "kill") && x->argc >= 3) {
        /* CLIENT KILL addr | CLIENT KILL ID id | ADDR addr | LADDR addr | SKIPME yes/no */
        uint64_t want_id = 0;
        char addr[80] = "", laddr[80] = "", user[80] = "";
        bool old_form = x->argc == 3, skipme = true, no_type = false;
        if (old_form) {
            arg_str(x, 2, addr, sizeof addr);
            skipme = false;
        } else {
            if (x->argc % 2 != 0) {
                reply_shared(x->rb, REPLY_SH_SYNTAX);
                return;
            }
            for (size_t i = 2; i + 1 < x->argc; i += 2) {
                long long v;
                if (cmd_arg_is(x, i, "id")) {
                    if (!resp_str_to_ll(x->argv[i + 1], x->argvlen[i + 1], &v) || v <= 0) {
                        reply_error(x->rb, "ERR client-id should be greater than 0");
                        return;
                    }
                    want_id = (uint64_t)v;
                } else if (cmd_arg_is(x, i, "addr")) {
                    arg_str(x, i + 1, addr, sizeof addr);
                } else if (cmd_arg_is(x, i, "laddr")) {
                    arg_str(x, i + 1, laddr, sizeof laddr);
                } else if (cmd_arg_is(x, i, "skipme")) {
                    skipme = !cmd_arg_is(x, i + 1, "no");
                } else if (cmd_arg_is(x, i, "type")) {
                    /* every Strata client is a normal one (no replicas, masters or pub/sub) */
                    if (cmd_arg_is(x, i + 1, "normal")) continue;
                    if (cmd_arg_is(x, i + 1, "master") || cmd_arg_is(x, i + 1, "replica") ||
                        cmd_arg_is(x, i + 1, "slave") || cmd_arg_is(x, i + 1, "pubsub")) {
                        no_type = true;
                        continue;
                    }
                    char t[64];
                    reply_errorf(x->rb, "ERR Unknown client type '%s'", arg_str(x, i + 1, t, sizeof t));
                    return;
                } else if (cmd_arg_is(x, i, "user")) {
                    /* a user is a tenant ("default": the administrator's connections) */
                    arg_str(x, i + 1, user, sizeof user);
                    user_seen us = {user, strcmp(user, "default") == 0};
                    if (!us.found) tenant_list(s->tenants, user_match, &us);
                    if (!us.found) {
                        reply_errorf(x->rb, "ERR No such user '%s'", user);
                        return;
                    }
                } else {
                    reply_shared(x->rb, REPLY_SH_SYNTAX);
                    return;
                }
            }
        }
        size_t killed = 0;
        pthread_mutex_lock(&s->clients_mu);
        for (conn *c = s->clients; c && !no_type; c = c->reg_next) {
            if (want_id && c->id != want_id) continue;
            if (*user && strcmp(user, c->tent ? tenant_ent_name(c->tent) : "default") != 0) continue;
            if (*addr && strcmp(addr, c->addr) != 0) continue;
            if (*laddr && strcmp(laddr, c->laddr) != 0) continue;
            if (c == self && skipme) continue;
            if (!client_visible(self, c)) continue;
            killed++;
            if (c == self) {
                self->close_after_reply = true;
            } else {
                kill_req *k = malloc(sizeof *k);
                if (k) {
                    k->w = c->w;
                    k->id = c->id;
                    ev_post(c->w->loop, kill_task, k);
                }
            }
        }
        pthread_mutex_unlock(&s->clients_mu);
        if (old_form) {
            if (killed) reply_shared(x->rb, REPLY_SH_OK);
            else reply_error(x->rb, "ERR No such client");
        } else {
            reply_int(x->rb, (long long)killed);
        }
    } else if (cmd_arg_is(x, 1, "setinfo") && x->argc == 4) {
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "no-evict") || cmd_arg_is(x, 1, "no-touch")) {
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "help")) {
        static const char *lines[] = {"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                      "ID", "GETNAME", "SETNAME <name>", "LIST [TYPE normal]", "INFO",
                                      "KILL <ip:port> | KILL ID <id> | KILL ADDR <ip:port> [SKIPME yes|no]", "HELP"};
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else if (cmd_arg_is(x, 1, "id") || cmd_arg_is(x, 1, "getname") || cmd_arg_is(x, 1, "setname") ||
               cmd_arg_is(x, 1, "info") || cmd_arg_is(x, 1, "kill") || cmd_arg_is(x, 1, "list") ||
               cmd_arg_is(x, 1, "setinfo")) {
        cmd_reply_sub_arity(x, "client");
    } else {
        reply_err_unknown_subcommand(x->rb, "client", x->argv[1], x->argvlen[1]);
    }
}

/* ---- SLOWLOG ---------------------------------------------------------------------------------------- */

void cmd_slowlog(cmd_ctx *x) {
    server *s = x->srv;
    if (cmd_arg_is(x, 1, "len") && x->argc == 2) {
        pthread_mutex_lock(&s->slowlog_mu);
        size_t n = s->slowlog_len;
        pthread_mutex_unlock(&s->slowlog_mu);
        reply_int(x->rb, (long long)n);
    } else if (cmd_arg_is(x, 1, "reset") && x->argc == 2) {
        pthread_mutex_lock(&s->slowlog_mu);
        for (size_t i = 0; i < s->slowlog_len; i++) {
            for (int j = 0; j < s->slowlog[i].argc; j++) free(s->slowlog[i].argv[j]);
            free(s->slowlog[i].argv);
            free(s->slowlog[i].argvlen);
        }
        s->slowlog_len = 0;
        pthread_mutex_unlock(&s->slowlog_mu);
        reply_shared(x->rb, REPLY_SH_OK);
    } else if (cmd_arg_is(x, 1, "get") && x->argc <= 3) {
        long long count = 10;
        if (x->argc == 3 && (!resp_str_to_ll(x->argv[2], x->argvlen[2], &count) || count < -1)) {
            reply_error(x->rb, "ERR count should be greater than or equal to -1");
            return;
        }
        pthread_mutex_lock(&s->slowlog_mu);
        size_t n = count < 0 || (size_t)count > s->slowlog_len ? s->slowlog_len : (size_t)count;
        reply_array_header(x->rb, n);
        for (size_t i = 0; i < n; i++) {
            const slowlog_entry *e = &s->slowlog[i];
            reply_array_header(x->rb, 6);
            reply_int(x->rb, (long long)e->id);
            reply_int(x->rb, (long long)e->time_s);
            reply_int(x->rb, (long long)e->duration_us);
            reply_array_header(x->rb, (size_t)e->argc);
            for (int j = 0; j < e->argc; j++) reply_bulk(x->rb, e->argv[j], e->argvlen[j]);
            reply_bulk_str(x->rb, e->addr);
            reply_bulk_str(x->rb, e->name);
        }
        pthread_mutex_unlock(&s->slowlog_mu);
    } else if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *lines[] = {"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                                      "GET [<count>]", "LEN", "RESET", "HELP"};
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else if (cmd_arg_is(x, 1, "len") || cmd_arg_is(x, 1, "reset") || cmd_arg_is(x, 1, "get") ||
               cmd_arg_is(x, 1, "help")) {
        cmd_reply_sub_arity(x, "slowlog");
    } else {
        reply_err_unknown_subcommand(x->rb, "slowlog", x->argv[1], x->argvlen[1]);
    }
}

/* ---- LATENCY ---------------------------------------------------------------------------------------- */

static void latency_unknown_event(cmd_ctx *x) {
    reply_errorf(x->rb, "ERR No samples available for event '%.*s'", (int)(x->argvlen[2] > 128 ? 128 : x->argvlen[2]),
                 (const char *)x->argv[2]);
}

/* LATENCY HISTOGRAM [command ...]: per command that ran, its calls and the cumulative count of
 * calls at or under each power-of-two bound in microseconds, listing the bounds where the count
 * grows (Redis 7.0's shape), from the commandstats histograms (cmdstats.h). Unknown names and
 * commands that never ran are left out, as Redis does. */
static void latency_histogram(cmd_ctx *x) {
    server *s = x->srv;
    cmdstats **cs = calloc(MAX_WORKERS_SUMMED, sizeof *cs);
    if (!cs) {
        reply_shared(x->rb, REPLY_SH_OOM);
        return;
    }
    size_t nw = all_cstats(s, cs, MAX_WORKERS_SUMMED), n;
    const cmd_spec *specs = cmd_all(&n);
    size_t h = reply_defer_len(x->rb), emitted = 0;
    for (size_t i = 0; i < n; i++) {
        bool wanted = x->argc == 2;
        for (size_t j = 2; j < x->argc && !wanted; j++) wanted = cmd_arg_is(x, j, specs[i].name);
        if (!wanted) continue;
        uint64_t counts[64];
        uint64_t calls = cmdstats_pow2_us(cs, nw, cmd_index(&specs[i]), counts);
        if (!calls) continue;
        size_t buckets = 0;
        for (int b = 0; b < 64; b++) buckets += counts[b] != 0;
        reply_bulk_str(x->rb, specs[i].name);
        reply_map_header(x->rb, 2);
        reply_bulk_str(x->rb, "calls");
        reply_int(x->rb, (long long)calls);
        reply_bulk_str(x->rb, "histogram_usec");
        reply_map_header(x->rb, buckets);
        uint64_t cum = 0;
        for (int b = 0; b < 64; b++) {
            if (!counts[b]) continue;
            cum += counts[b];
            reply_int(x->rb, (long long)(1ull << b));
            reply_int(x->rb, (long long)cum);
        }
        emitted++;
    }
    reply_set_deferred_len(x->rb, h, emitted, REPLY_AGG_MAP);
    free(cs);
}

/* LATENCY LATEST | HISTORY event | RESET [event ...] | DOCTOR | GRAPH event | HISTOGRAM [command ...] |
 * HELP, with Redis 7.0's replies (latency.h). */
void cmd_latency(cmd_ctx *x) {
    server *s = x->srv;
    if (cmd_arg_is(x, 1, "latest") && x->argc == 2) {
        latency_latest ev[LATENCY_MAX_EVENTS];
        size_t n = latency_latest_all(s->latency, ev, LATENCY_MAX_EVENTS);
        reply_array_header(x->rb, n);
        for (size_t i = 0; i < n; i++) {
            reply_array_header(x->rb, 4);
            reply_bulk_str(x->rb, ev[i].name);
            reply_int(x->rb, (long long)ev[i].time_s);
            reply_int(x->rb, (long long)ev[i].ms);
            reply_int(x->rb, (long long)ev[i].max_ms);
        }
    } else if (cmd_arg_is(x, 1, "history") && x->argc == 3) {
        latency_sample smp[LATENCY_TS_LEN];
        int n = latency_history(s->latency, (const char *)x->argv[2], x->argvlen[2], smp);
        reply_array_header(x->rb, n > 0 ? (size_t)n : 0);
        for (int i = 0; i < n; i++) {
            reply_array_header(x->rb, 2);
            reply_int(x->rb, (long long)smp[i].time_s);
            reply_int(x->rb, (long long)smp[i].ms);
        }
    } else if (cmd_arg_is(x, 1, "graph") && x->argc == 3) {
        bool missing = false;
        char *g = latency_graph(s->latency, (const char *)x->argv[2], x->argvlen[2], x->now_ms / 1000, &missing);
        if (missing) latency_unknown_event(x);
        else if (!g) reply_shared(x->rb, REPLY_SH_OOM);
        else reply_verbatim(x->rb, g, strlen(g), "txt");
        free(g);
    } else if (cmd_arg_is(x, 1, "doctor") && x->argc == 2) {
        latency_doctor_ctx ctx;
        pthread_rwlock_rdlock(&s->cfg_lock);
        ctx.threshold_ms = s->cfg->latency_monitor_threshold_ms;
        ctx.slowlog_us = s->cfg->slowlog_log_slower_than_us;
        ctx.fsync_always = s->cfg->appendfsync == ST_SYNC_ALWAYS;
        pthread_rwlock_unlock(&s->cfg_lock);
        char *report = latency_doctor(s->latency, &ctx, x->now_ms / 1000);
        if (report) reply_verbatim(x->rb, report, strlen(report), "txt");
        else reply_shared(x->rb, REPLY_SH_OOM);
        free(report);
    } else if (cmd_arg_is(x, 1, "reset")) {
        size_t n = 0;
        if (x->argc == 2) n = latency_reset(s->latency, NULL, 0);
        for (size_t i = 2; i < x->argc; i++) n += latency_reset(s->latency, (const char *)x->argv[i], x->argvlen[i]);
        reply_int(x->rb, (long long)n);
    } else if (cmd_arg_is(x, 1, "histogram")) {
        latency_histogram(x);
    } else if (cmd_arg_is(x, 1, "help") && x->argc == 2) {
        static const char *lines[] = {
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR", "    Return a human readable latency analysis report.",
            "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>", "    Return time-latency samples for the <event> class.",
            "LATEST", "    Return the latest latency samples for all events.",
            "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP", "    Prints this help."};
        reply_array_header(x->rb, sizeof lines / sizeof *lines);
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) reply_simple(x->rb, lines[i]);
    } else if (cmd_arg_is(x, 1, "latest") || cmd_arg_is(x, 1, "history") || cmd_arg_is(x, 1, "graph") ||
               cmd_arg_is(x, 1, "doctor") || cmd_arg_is(x, 1, "help")) {
        cmd_reply_sub_arity(x, "latency");
    } else {
        reply_err_unknown_subcommand(x->rb, "latency", x->argv[1], x->argvlen[1]);
    }
}
