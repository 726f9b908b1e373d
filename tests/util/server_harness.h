/* server_harness.h -- integration tests' strata-server: start one on a free loopback port with a
 * fresh temporary directory, wait until it answers, stop it, crash it, restart it; plus hiredis
 * and raw-socket helpers whose failures print the command, what came back and what was wanted.
 *
 * The server binary is STRATA_SERVER_BIN (a compile definition, the strata-server target), or
 * $STRATA_IT_SERVER when set. Pointing STRATA_IT_SERVER at a real redis-server runs the same
 * tests against Redis (to check the tests themselves): the harness then adds `--save ""
 * --appendonly no`, maps --appendfsync to `--appendonly yes --appendfsync`, and drops the
 * Strata-only flags (--workers, --write-buffer, ...). st_server_is_redis() says which one runs.
 *
 * Every server binds 127.0.0.1 only. Ports: bind(127.0.0.1:0) names a free port; a byte-range
 * lock on ${TMPDIR:-/tmp}/strata-it-ports.lock (byte = port) keeps two test processes from
 * choosing the same one while both live (strata-server uses SO_REUSEPORT, so two servers on one
 * port would both bind and split the connections); a start that still loses the port to someone
 * else ("Address already in use") is retried on another port, a bounded number of times.
 * Every wait has a deadline. The server's stdout and stderr go to <root>/server.log (appended to
 * across restarts); the harness keeps the tail of every log it has seen and st_it_finish prints
 * them all when a test failed. The child gets PR_SET_PDEATHSIG(SIGKILL): a test process killed by
 * a CTest timeout takes its servers with it. STRATA_IT_KEEP=1 keeps the temporary directories.
 *
 * Usage in a cmocka file (one server for the group, a fresh FLUSHALLed client per test):
 *     static st_server srv;
 *     static int group_setup(void **st) { (void)st; return st_it_group_setup(&srv, "it-strings", NULL); }
 *     static int group_teardown(void **st) { (void)st; return st_it_group_teardown(&srv); }
 *     static int setup(void **st) { return st_it_fresh_client(&srv, st); }
 *     static int teardown(void **st) { return st_it_teardown_client(&srv, st); }
 *     int main(void) { ...; return st_it_finish(cmocka_run_group_tests(t, group_setup, group_teardown)); }
 * Thread-safety: none; one test thread. */
#ifndef STRATA_SERVER_HARNESS_H
#define STRATA_SERVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "testutil.h"

#define ST_SERVER_MAX_ARGS 64
#define ST_SERVER_START_DEADLINE_MS 20000 /* ASan makes the first start slow */
#define ST_SERVER_STOP_DEADLINE_MS 20000
#define ST_IT_IO_TIMEOUT_MS 10000         /* any single read or write of a test client */

typedef struct st_server {
    pid_t pid;          /* > 0 while the child runs */
    int port;           /* 0 until the first start */
    int lock_fd;        /* holds the port's lock byte; -1 when none */
    char *tag;
    char *root;         /* mkdtemp: data/ and server.log */
    char *data_dir;     /* root/data, the server's --dir */
    char *log_path;     /* root/server.log */
    char *extra[ST_SERVER_MAX_ARGS]; /* the caller's extra arguments, kept for restarts */
    int n_extra;
    int last_status;    /* waitpid status of the last exit (valid after a stop or kill) */
    int starts;
} st_server;

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* Starts a server (s is overwritten) with tag naming its temporary dir and `extra` (NULL, or a
 * NULL-terminated list of extra arguments such as "--requirepass", "pw"), and waits until it
 * accepts a connection and answers PING (+PONG or -NOAUTH) within ST_SERVER_START_DEADLINE_MS.
 * Returns 0, or -1 after printing why and the server's log. On -1, st_server_free still cleans up. */
int st_server_start(st_server *s, const char *tag, const char *const *extra);
/* Starts the server again on the same port and directory with the same arguments (after a stop or
 * a kill). 0 or -1 as st_server_start. */
int st_server_restart(st_server *s);
/* SIGTERM, then waits for the exit (ST_SERVER_STOP_DEADLINE_MS; past it SIGKILL). Returns 0 when it
 * exited with status 0; otherwise prints how it ended and its log and returns -1. */
int st_server_stop(st_server *s);
/* Waits (deadline_ms) for a server that was asked to stop another way (SHUTDOWN) to exit. Returns
 * its exit status (0..255), or -1 if it died from a signal or did not exit in time (then killed). */
int st_server_wait_exit(st_server *s, int deadline_ms);
/* SIGKILL and reap: the crash of crash tests. Returns 0, -1 if it was not running. */
int st_server_kill9(st_server *s);
/* Whether the child still runs (reaps it, and prints its log, if it died). */
bool st_server_alive(st_server *s);
/* Stops the server if it runs (as st_server_stop), keeps its log's tail, removes the temporary
 * dir, releases the port. Returns st_server_stop's result (0 if it was not running). */
int st_server_free(st_server *s);
/* Whether the binary under test is a real redis-server (STRATA_IT_SERVER). */
bool st_server_is_redis(void);
/* Prints the server's log to stderr now (a header names the server). */
void st_server_print_log(const st_server *s);

/* Call at the end of main with cmocka's failure count: prints every server log seen when it is
 * non-zero. Returns failures (so `return st_it_finish(...)`). */
int st_it_finish(int failures);

/* ---- cmocka fixtures -------------------------------------------------------------------------- */

/* Starts srv (st_server_start) for a group, or for a test that needs its own server. cmocka runs
 * no teardown after a failed setup, so on failure this frees srv itself (the temporary directory
 * goes, the log is kept for st_it_finish). 0 or -1. */
int st_it_group_setup(st_server *srv, const char *tag, const char *const *args);
/* The matching teardown: st_server_free (0 only if the server stopped cleanly). */
int st_it_group_teardown(st_server *srv);
/* Per-test setup: connects to srv, runs FLUSHALL and leaves the client in *state. 0, or -1 (after
 * printing why) with nothing left open. */
int st_it_fresh_client(st_server *srv, void **state);
/* Per-test teardown: frees the client in *state (if any); -1 if srv is no longer running. */
int st_it_teardown_client(st_server *srv, void **state);

/* The NULL-terminated extra-argument list st_server_start and st_it_group_setup take. */
#define ST_IT_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* A tiers file for --config: L0 alone in tier "fast" (dir fast/), every other level in "slow"
 * (slow/), so a DEBUG FAULT on paths holding "/slow/" fails compactions' output and leaves
 * flushes alone. Written as tiers.toml in dir (which must exist); the path is malloc'ed. */
char *st_it_write_fast_slow_tiers(const char *dir);

/* ---- time -------------------------------------------------------------------------------------- */

int64_t st_now_ms(void);      /* monotonic */
int64_t st_wall_ms(void);     /* CLOCK_REALTIME, ms since the epoch */
void st_sleep_ms(int ms);

/* ---- hiredis clients ------------------------------------------------------------------------------ */

/* A connection with ST_IT_IO_TIMEOUT_MS read/write timeouts; NULL (after printing why) on failure. */
redisContext *st_connect(const st_server *s);
/* Runs a command; fails the test (file:line) if the connection broke. Caller frees the reply. */
redisReply *st_cmd(redisContext *c, const char *file, int line, const char *fmt, ...);
redisReply *st_cmd_argv(redisContext *c, const char *file, int line, int argc, const char **argv,
                        const size_t *argvlen);
/* A full HSCAN / SSCAN / ZSCAN iteration: `cmd key <cursor> opts...` (opts space-separated, may be
 * "" or NULL) from cursor "0" until the server answers "0", at most max_calls calls and deadline_ms.
 * Each reply must be [cursor, [items]] with items a multiple of per_item bulk strings; fn is called
 * with each group of per_item items (views valid during the call). Fails the test at file:line on
 * a malformed reply or no end in time. Returns the number of calls. */
typedef void (*st_scan_fn)(void *arg, const redisReply *const *items);
int st_scan_all(redisContext *c, const char *file, int line, const char *cmd, const void *key, size_t keylen,
                const char *opts, size_t per_item, int max_calls, int deadline_ms, st_scan_fn fn, void *arg);
/* Reads the next reply of a pipeline (after redisAppendCommand); fails the test on a broken link. */
redisReply *st_get_reply(redisContext *c, const char *file, int line);
/* Writes every command appended with redisAppendCommand now (so several clients' pipelines can
 * be in the server at once); fails the test on a broken link. */
void st_flush(redisContext *c, const char *file, int line);
/* A printable rendering of a reply ("OK", (error) ..., (integer) 3, "bulk\x00", (nil), [a, b]).
 * Malloc'ed. */
char *st_reply_repr(const redisReply *r);

/* Expectations: run the command, compare, fail the test at file:line with both sides printed. */
void st_expect_status(redisContext *c, const char *file, int line, const char *want, const char *fmt, ...);
void st_expect_error(redisContext *c, const char *file, int line, const char *want, const char *fmt, ...);
void st_expect_error_prefix(redisContext *c, const char *file, int line, const char *want, const char *fmt,
                            ...);
void st_expect_int(redisContext *c, const char *file, int line, long long want, const char *fmt, ...);
void st_expect_int_range(redisContext *c, const char *file, int line, long long lo, long long hi,
                         const char *fmt, ...);
void st_expect_nil(redisContext *c, const char *file, int line, const char *fmt, ...);
void st_expect_bulk(redisContext *c, const char *file, int line, const void *want, size_t wantlen,
                    const char *fmt, ...);
/* An array of n bulk strings; want[i] == NULL means a nil element. */
void st_expect_strs(redisContext *c, const char *file, int line, size_t n, const char *const *want,
                    const char *fmt, ...);
/* Checks an already-read reply (pipelines): bulk, integer, status, error. */
void st_check_reply_bulk(const redisReply *r, const char *file, int line, const void *want, size_t wantlen,
                         const char *what);
void st_check_reply_int(const redisReply *r, const char *file, int line, long long want, const char *what);
void st_check_reply_status(const redisReply *r, const char *file, int line, const char *want,
                           const char *what);
/* Whether r is the bulk string want (text without NULs), or nil when want is NULL. */
bool st_reply_is_bulk(const redisReply *r, const char *want);
/* qsort comparator for an array of `const char *` (strcmp order). */
int st_cmp_str(const void *a, const void *b);
/* The value of `field` in INFO <section> as a number; -1 if the reply has no such field. */
long long st_info_field(redisContext *c, const char *section, const char *field);
/* st_connect, failing the test at file:line if it cannot connect. */
redisContext *st_connect_or_fail(const st_server *s, const char *file, int line);
/* Fails the test at file:line after printing the formatted message. */
void st_fail_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define CMD(c, ...) st_cmd((c), __FILE__, __LINE__, __VA_ARGS__)
#define EXPECT_OK(c, ...) st_expect_status((c), __FILE__, __LINE__, "OK", __VA_ARGS__)
#define EXPECT_STATUS(c, want, ...) st_expect_status((c), __FILE__, __LINE__, (want), __VA_ARGS__)
#define EXPECT_ERR(c, want, ...) st_expect_error((c), __FILE__, __LINE__, (want), __VA_ARGS__)
#define EXPECT_ERR_PREFIX(c, want, ...) st_expect_error_prefix((c), __FILE__, __LINE__, (want), __VA_ARGS__)
#define EXPECT_INT(c, want, ...) st_expect_int((c), __FILE__, __LINE__, (want), __VA_ARGS__)
#define EXPECT_INT_RANGE(c, lo, hi, ...) st_expect_int_range((c), __FILE__, __LINE__, (lo), (hi), __VA_ARGS__)
#define EXPECT_NIL(c, ...) st_expect_nil((c), __FILE__, __LINE__, __VA_ARGS__)
#define EXPECT_BULK(c, want, ...) st_expect_bulk((c), __FILE__, __LINE__, (want), strlen(want), __VA_ARGS__)
#define EXPECT_BULKB(c, want, wantlen, ...) st_expect_bulk((c), __FILE__, __LINE__, (want), (wantlen), __VA_ARGS__)
#define EXPECT_STRS(c, n, want, ...) st_expect_strs((c), __FILE__, __LINE__, (n), (want), __VA_ARGS__)
#define ST_FAIL(...) st_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define ST_CONNECT(s) st_connect_or_fail((s), __FILE__, __LINE__)

/* ---- raw sockets (RESP3, malformed input, byte-by-byte frames) ------------------------------------ */

typedef struct st_raw {
    int fd;             /* -1 when closed */
    uint8_t *buf;       /* bytes read and not consumed yet */
    size_t len, cap;
    bool eof;           /* the server closed its side */
} st_raw;

/* Connects (TCP_NODELAY). 0, or -1 after printing why. */
int st_raw_connect(const st_server *s, st_raw *r);
/* st_raw_connect, failing the test at file:line if it cannot connect. */
void st_raw_open(const st_server *s, st_raw *r, const char *file, int line);
#define RAW_OPEN(s, r) st_raw_open((s), (r), __FILE__, __LINE__)
void st_raw_close(st_raw *r); /* idempotent */
/* Sends all n bytes (deadline ST_IT_IO_TIMEOUT_MS; MSG_NOSIGNAL). 0, or -1 if the peer is gone. */
int st_raw_send(st_raw *r, const void *p, size_t n);
int st_raw_sends(st_raw *r, const char *s);
/* Sends one multibulk command made of the NUL-terminated arguments up to a NULL. 0 or -1. */
int st_raw_cmd(st_raw *r, const char *arg0, ...) __attribute__((sentinel));
/* Reads one complete RESP2/RESP3 reply within timeout_ms and returns a malloc'ed, NUL-terminated
 * copy of its exact bytes (*n its length, may be NULL). NULL on timeout, EOF before a whole reply,
 * or bytes that are not RESP (why says which: "timeout", "eof", "malformed"). */
char *st_raw_reply(st_raw *r, int timeout_ms, size_t *n, const char **why);
/* Reads until the server closes the connection, within timeout_ms. Returns true on EOF (or a
 * reset); everything read (the unconsumed buffer included) is returned in *out and *n if out != NULL
 * (malloc'ed, NUL-terminated). */
bool st_raw_wait_eof(st_raw *r, int timeout_ms, char **out, size_t *n);
/* Whether bytes are already waiting or arrive within timeout_ms (does not consume them). */
bool st_raw_pending(st_raw *r, int timeout_ms);
/* Length of the first complete RESP reply in p[0, n): 0 if incomplete, SIZE_MAX if malformed. */
size_t st_resp_frame_len(const uint8_t *p, size_t n);
/* Escapes bytes for messages ("\r\n" -> "\\r\\n", others as \xHH); malloc'ed. */
char *st_escape(const void *p, size_t n);

/* Reads one reply and fails the test unless its bytes are exactly want. */
void st_raw_expect(st_raw *r, const char *file, int line, const char *want, size_t wantlen);
#define RAW_EXPECT(r, want) st_raw_expect((r), __FILE__, __LINE__, (want), sizeof(want) - 1)

#endif
