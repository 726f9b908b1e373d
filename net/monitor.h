/* monitor.h -- MONITOR: connections that receive a line for every command any client runs, in
 * Redis's format: +<unix s>.<µs> [<db> <ip:port>] "arg" "arg"...\r\n, arguments quoted and
 * escaped as Redis's sdscatrepr, the passwords of AUTH and HELLO ... AUTH shown as "(redacted)".
 *
 * A command runs on its connection's worker; a monitor may belong to another worker, and only
 * its own worker may touch it (E1 in ev.h). So the worker that ran a command formats the line
 * once and, under the registry's mutex, appends it to the queue of every monitor allowed to see
 * it (the administrator's monitors see every command; a tenant's, only its own tenant's), then
 * posts a drain task to each monitor's worker (at most one task in flight per monitor). The task,
 * on the monitor's worker, moves the queue into the connection's reply buffer, which
 * before_sleep sends like any reply.
 *
 * Bounds. A monitor's pending bytes (its queue plus its unsent replies) may not reach its limit:
 * the hard limit of client_output_buffer_limit's normal class, or MONITOR_DEFAULT_LIMIT when that
 * is 0 (Redis has no bound there; a monitor that does not read would take all memory). A line
 * that would pass it is not queued: the monitor is marked and its worker closes it with a log
 * line, as an output buffer overrun (INFO client_output_buffer_limit_disconnections). The soft
 * limit applies to the reply buffer as for any client (conn.c). So a monitor holds at most about
 * twice its limit at any time, whatever the command rate.
 *
 * Cost. With no monitor, dispatch pays one relaxed atomic load (monitor_active). With monitors,
 * every command is formatted once and every worker takes the one mutex: monitoring serialises
 * command feeds across workers, as it does in Redis, and is meant for debugging.
 *
 * Invariants:
 * M1  A command's line reaches a monitor at most once, after the command ran (Redis 7 feeds after
 *     call()), and the lines of one client reach a monitor in the order its commands ran.
 * M2  A monitor's connection is only touched on its worker; other threads touch only its queue,
 *     under the registry mutex. The monitor record outlives its connection while a drain task
 *     refers to it (refcount under the mutex). */
#ifndef STRATA_NET_MONITOR_H
#define STRATA_NET_MONITOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct server server;
typedef struct conn conn;
typedef struct monitor_reg monitor_reg;

#define MONITOR_DEFAULT_LIMIT ((uint64_t)32 << 20) /* with no normal hard limit: Redis's pubsub hard limit */

int monitor_reg_new(monitor_reg **out);
/* NULL-safe. REQUIRES: no monitor left (every connection closed) and no drain task pending (the
 * workers' loops were freed). */
void monitor_reg_free(monitor_reg *r);

/* Whether any monitor exists: one relaxed load, for dispatch's fast path. */
bool monitor_active(const monitor_reg *r);

/* Makes c a monitor (MONITOR), on c's worker. 0, or -1 on out of memory. */
int monitor_start(server *s, conn *c);
/* Ends c's monitoring (RESET, connection close), on c's worker; no-op if c is not a monitor. */
void monitor_stop(server *s, conn *c);

/* Whether a command is shown to monitors at all: not administrative ones (as Redis: CONFIG,
 * DEBUG, SLOWLOG, LATENCY, SAVE, SHUTDOWN, CLIENT LIST/KILL, ...; here also TENANT and COMPACT),
 * not MONITOR. */
struct cmd_spec;
bool monitor_shows(const struct cmd_spec *spec, size_t argc, const uint8_t *const *argv, const size_t *argvlen);

/* Feeds one command that c ran in database db to every monitor allowed to see it (M1). On c's
 * worker, after the command ran. */
void monitor_feed(server *s, const conn *c, int db, size_t argc, const uint8_t *const *argv, const size_t *argvlen);

/* Formats a monitor line (without a limit; tests and monitor_feed). Returns the malloc'ed line
 * and *n its length, or NULL on out of memory. now_us is the wall clock in µs. */
char *monitor_format(int64_t now_us, int db, const char *addr, size_t argc, const uint8_t *const *argv,
                     const size_t *argvlen, size_t *n);

#endif
