/* test_server_faults.c -- strata-server when its disk fails (DEBUG FAULT, --enable-debug-command)
 * or its files are damaged while it is down. What must hold throughout: nothing is acknowledged
 * that was not made durable as appendfsync promises, a refused write has no effect, reads go on,
 * a damaged block is reported and never served, and a restart loses nothing acknowledged.
 *  - DEBUG: refused unless enable-debug-command allows it (Redis's error); argument checks.
 *  - WAL: a failed fdatasync (always) or write (everysec) under concurrent pipelines: no write is
 *    answered +OK, later writes (MULTI included) get -MISCONF naming the operation, the WAL and
 *    the errno text, INFO says write_status:stopped; a failed everysec background sync stops
 *    writes too. SIGTERM then exits (1 only with "closing the engine failed").
 *  - ENOSPC (soft): under a flush, SAVE fails, write_status goes retrying, then refused (-MISCONF:
 *    no disk space) once every memtable slot waits for the flush; after DEBUG FAULT OFF the flush
 *    succeeds by itself and writes resume. A SIGTERM meanwhile loses nothing. A manual COMPACT
 *    short of space fails alone; background compactions (a tier configuration puts L1+ on a
 *    "slow" tier, so only they fail) retry, refuse writes at the L0 stop trigger, and recover.
 *    A MANIFEST append short of space moves to a new MANIFEST.
 *  - Hard flush failures (EIO on the MANIFEST append, on the table's rename) stop writes.
 *  - A failed table read is an error, never a miss, and is not cached.
 *  - A flipped byte in a data block: GET, EXISTS, MGET, KEYS and SCAN over it answer "data
 *    corruption detected" naming the table and the offset; other blocks and tables read fine; a
 *    compaction that meets it stops writes and installs nothing. In a table's footer or index, in
 *    the middle of a WAL, or in the MANIFEST: the server refuses to start and names the file (for
 *    the WAL also the offset and --wal-recovery point-in-time, which then keeps the writes before
 *    the damage and nothing after).
 * Each test runs its own server. The engine's retry timing (100 ms doubling to 5 s) has no server
 * option, so recoveries are polled every POLL_MS for at most WAIT_MS. Strata-only but for the
 * first check (skipped on Redis). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server_harness.h"

enum {
    POLL_MS = 50,
    WAIT_MS = 30000,    /* the longest backoff is 5 s: a recovery takes far less than this */
    BIG_VALUE = 1000,   /* ENOSPC tests: a 64 KiB write buffer fills in about 60 writes */
    SMALL_VALUE = 200,  /* corruption tests: about 18 keys per 4 KiB data block */
    MAX_KEYS = 4000,
};

/* What the server must hold for a key: nothing was sent, +OK came back (it must be there), or the
 * write was refused (it must not be). */
enum key_state { K_NONE, K_ACKED, K_REFUSED };

static st_server srv;
static char *cfg_dir; /* a tier configuration written by the compaction test */

static int teardown(void **state) {
    (void)state;
    int rc = srv.root ? st_server_free(&srv) : 0;
    if (cfg_dir) {
        st_test_rmrf(cfg_dir);
        free(cfg_dir);
        cfg_dir = NULL;
    }
    return rc;
}

#define SKIP_ON_REDIS() \
    do { if (st_server_is_redis()) { print_message("Strata-only: skipped\n"); skip(); } } while (0)

static void start_or_fail(const char *tag, const char *const *args, const char *file, int line) {
    if (st_server_start(&srv, tag, args) != 0) st_fail_at(file, line, "server '%s' did not start", tag);
}
#define START(tag, args) start_or_fail((tag), (args), __FILE__, __LINE__)
#define RESTART() do { if (st_server_restart(&srv) != 0) ST_FAIL("restart failed"); } while (0)
#define STOP() do { if (st_server_stop(&srv) != 0) ST_FAIL("SIGTERM did not stop the server cleanly (exit 0)"); } while (0)

static char *log_since(long long from);

/* SIGTERM after the engine stopped taking writes: the server must exit, not hang or crash; it may
 * exit 1 when it says that closing the engine failed (and only then: a sanitizer's report exits 1
 * too). */
static void stop_after_failure(const char *file, int line) {
    long long from = st_test_file_size(srv.log_path);
    kill(srv.pid, SIGTERM);
    int rc = st_server_wait_exit(&srv, ST_SERVER_STOP_DEADLINE_MS);
    char *log = log_since(from < 0 ? 0 : from);
    bool said = strstr(log, "closing the engine failed") && !strstr(log, "Sanitizer") && !strstr(log, "runtime error");
    if (rc != 0 && !(rc == 1 && said)) {
        char msg[8192];
        snprintf(msg, sizeof msg, "SIGTERM after a disk failure: exit %d (want 0, or 1 with \"closing the engine "
                 "failed\"); its last words:\n%.4000s", rc, log);
        free(log);
        st_fail_at(file, line, "%s", msg);
    }
    free(log);
}
#define STOP_AFTER_FAILURE() stop_after_failure(__FILE__, __LINE__)

/* Appends one extra argument pair for later restarts; drop_args removes the last n. */
static void add_args(const char *a, const char *b) {
    assert_true(srv.n_extra + 2 <= ST_SERVER_MAX_ARGS);
    srv.extra[srv.n_extra++] = strdup(a);
    srv.extra[srv.n_extra++] = strdup(b);
}

static void drop_args(int n) {
    for (; n > 0 && srv.n_extra > 0; n--) free(srv.extra[--srv.n_extra]);
}

/* ---- keys and values ----------------------------------------------------------------------------- */

static void key_of(const char *prefix, int i, char *buf, size_t n) { snprintf(buf, n, "%s:%05d", prefix, i); }

/* len bytes (and a NUL): "<prefix><i>/" then letters from a PRNG seeded by both. */
static void value_of(const char *prefix, int i, size_t len, char *out) {
    st_rng r;
    st_rng_seed(&r, ((uint64_t)(unsigned char)prefix[0] << 40) ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull));
    int h = snprintf(out, len + 1, "%s%d/", prefix, i);
    for (size_t j = (size_t)h; j < len; j++) out[j] = (char)('a' + st_rng_below(&r, 26));
    out[len] = '\0';
}

static bool starts_with(const char *s, size_t n, const char *p) {
    return n >= strlen(p) && !memcmp(s, p, strlen(p));
}

/* A refusal of a write: -MISCONF, or the engine's own "no space" when a write got past the status
 * check just before the refusal began. */
static bool is_refusal(const redisReply *r) {
    return r->type == REDIS_REPLY_ERROR &&
           (starts_with(r->str, r->len, "MISCONF ") || starts_with(r->str, r->len, "ERR no space left on device"));
}

/* Pipelined SETs of prefix:i, i in [from, to) (step `step`), each with value_of(prefix, i, vlen);
 * st[i] records the outcome. Every reply must be +OK or a refusal; the first refusal's text goes
 * to refusal (cap bytes) if it is still empty. Returns the number acknowledged. */
static int set_keys(redisContext *c, const char *prefix, int from, int to, int step, size_t vlen, enum key_state *st,
                    char *refusal, size_t cap, const char *file, int line) {
    char key[64], *val = malloc(vlen + 1);
    assert_non_null(val);
    for (int i = from; i < to; i += step) {
        key_of(prefix, i, key, sizeof key);
        value_of(prefix, i, vlen, val);
        redisAppendCommand(c, "SET %s %b", key, val, vlen);
    }
    free(val);
    int acked = 0;
    for (int i = from; i < to; i += step) {
        redisReply *r = st_get_reply(c, file, line);
        if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
            st[i] = K_ACKED;
            acked++;
        } else if (is_refusal(r)) {
            if (st[i] != K_ACKED) st[i] = K_REFUSED; /* an older acknowledged value stays */
            if (refusal && !refusal[0]) snprintf(refusal, cap, "%s", r->str);
        } else {
            char *g = st_reply_repr(r);
            freeReplyObject(r);
            st_fail_at(file, line, "SET %s:%05d: %s (want OK or a refusal)", prefix, i, g);
        }
        freeReplyObject(r);
    }
    return acked;
}

/* Pipelined GETs of every key of st[0, n) that has a state: acknowledged keys must hold their
 * value, refused ones must be absent. */
static void verify_keys(redisContext *c, const char *prefix, int n, size_t vlen, const enum key_state *st,
                        const char *file, int line) {
    char key[64], *val = malloc(vlen + 1);
    assert_non_null(val);
    for (int i = 0; i < n; i++) {
        if (st[i] == K_NONE) continue;
        key_of(prefix, i, key, sizeof key);
        redisAppendCommand(c, "GET %s", key);
    }
    for (int i = 0; i < n; i++) {
        if (st[i] == K_NONE) continue;
        redisReply *r = st_get_reply(c, file, line);
        value_of(prefix, i, vlen, val);
        bool ok = st[i] == K_ACKED ? st_reply_is_bulk(r, val) : r->type == REDIS_REPLY_NIL;
        if (!ok) {
            char *g = st_reply_repr(r);
            freeReplyObject(r);
            free(val);
            st_fail_at(file, line, "GET %s:%05d (%s): %.200s", prefix, i,
                       st[i] == K_ACKED ? "acknowledged" : "refused: must be absent", g);
        }
        freeReplyObject(r);
    }
    free(val);
}

static int count_state(const enum key_state *st, int n, enum key_state want) {
    int k = 0;
    for (int i = 0; i < n; i++) k += st[i] == want;
    return k;
}

/* ---- replies and INFO ------------------------------------------------------------------------------ */

/* Fails unless r is an error starting with prefix and holding every one of the NULL-terminated
 * needles. */
static void check_error_has(const redisReply *r, const char *what, const char *prefix, const char *const *needles,
                            const char *file, int line) {
    bool ok = r->type == REDIS_REPLY_ERROR && starts_with(r->str, r->len, prefix);
    for (int i = 0; ok && needles && needles[i]; i++) ok = strstr(r->str, needles[i]) != NULL;
    if (ok) return;
    char *g = st_reply_repr(r);
    char want[512] = "";
    size_t n = (size_t)snprintf(want, sizeof want, "(error) %s...", prefix);
    for (int i = 0; needles && needles[i] && n < sizeof want; i++)
        n += (size_t)snprintf(want + n, sizeof want - n, " holding \"%s\"", needles[i]);
    char msg[4096];
    snprintf(msg, sizeof msg, "`%s`\n    got:  %s\n    want: %s", what, g, want);
    free(g);
    st_fail_at(file, line, "%s", msg);
}

/* Runs a command (its words split at spaces, no '%') and checks its error as above. */
static void expect_error_has(redisContext *c, const char *prefix, const char *const *needles, const char *file,
                             int line, const char *cmd) {
    redisReply *r = st_cmd(c, file, line, cmd);
    check_error_has(r, cmd, prefix, needles, file, line);
    freeReplyObject(r);
}
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_ERR_HAS(c, prefix, needles, cmd) expect_error_has((c), (prefix), (needles), __FILE__, __LINE__, (cmd))

/* The text of `field` in INFO persistence (to the end of its line), or "" if absent. */
static void info_str(redisContext *c, const char *field, char *out, size_t cap) {
    redisReply *r = CMD(c, "INFO persistence");
    out[0] = '\0';
    if (r->type == REDIS_REPLY_STRING) {
        char pat[128];
        snprintf(pat, sizeof pat, "\n%s:", field);
        const char *p = strstr(r->str, pat);
        if (p) {
            p += strlen(pat);
            size_t n = strcspn(p, "\r\n");
            snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
        }
    }
    freeReplyObject(r);
}

static void expect_write_status(redisContext *c, const char *want, const char *msg_needle, const char *file,
                                int line) {
    char st[64], msg[1024];
    info_str(c, "write_status", st, sizeof st);
    info_str(c, "write_status_message", msg, sizeof msg);
    if (strcmp(st, want) != 0 || (msg_needle && !strstr(msg, msg_needle)))
        st_fail_at(file, line, "INFO write_status:%s write_status_message:%s\n    want write_status:%s%s%s", st, msg,
                   want, msg_needle ? " and a message holding " : "", msg_needle ? msg_needle : "");
}
#define EXPECT_WRITE_STATUS(c, want, needle) expect_write_status((c), (want), (needle), __FILE__, __LINE__)

/* Polls INFO until write_status is `want` (WAIT_MS at most); returns false on a timeout. */
static bool wait_write_status(redisContext *c, const char *want) {
    int64_t end = st_now_ms() + WAIT_MS;
    for (;;) {
        char st[64];
        info_str(c, "write_status", st, sizeof st);
        if (!strcmp(st, want)) return true;
        if (st_now_ms() >= end) return false;
        st_sleep_ms(POLL_MS);
    }
}

static long long level0_files(redisContext *c) { return st_info_field(c, "storage", "level0_files"); }

/* ---- files --------------------------------------------------------------------------------------- */

/* The file of dir whose name ends in suffix with the smallest file number (largest: the largest;
 * by_size: size rather than number). Malloc'ed path, NULL if none; *count: how many there are. */
static char *find_file(const char *dir, const char *suffix, bool largest, bool by_size, int *count) {
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char *best = NULL;
    long long best_key = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0) continue;
        n++;
        char *p = st_test_path(dir, e->d_name);
        long long key = by_size ? st_test_file_size(p) : atoll(e->d_name);
        if (!best || (largest ? key > best_key : key < best_key)) {
            free(best);
            best = p;
            best_key = key;
        } else {
            free(p);
        }
    }
    closedir(d);
    if (count) *count = n;
    return best;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The server log from byte `from` on (what the starts after that offset printed). Malloc'ed. */
static char *log_since(long long from) {
    FILE *f = fopen(srv.log_path, "rb");
    if (!f) return strdup("");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (from > size) from = size;
    fseek(f, (long)from, SEEK_SET);
    char *buf = malloc((size_t)(size - from) + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (size_t)(size - from), f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A restart that must fail: the server exits non-zero before it is ready, and the lines it printed
 * hold every needle. */
static void expect_refused_start(const char *const *needles, const char *file, int line) {
    long long from = st_test_file_size(srv.log_path);
    print_message("expected: the harness reports that the next server exits before it is ready\n");
    if (st_server_restart(&srv) == 0) st_fail_at(file, line, "the server started on a damaged database");
    int status = srv.last_status;
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
        st_fail_at(file, line, "the server should exit non-zero; waitpid status 0x%x", status);
    char *log = log_since(from < 0 ? 0 : from);
    for (int i = 0; needles[i]; i++) {
        if (!strstr(log, needles[i])) {
            char msg[8192];
            snprintf(msg, sizeof msg, "the refused start's output lacks \"%s\":\n%.4000s", needles[i], log);
            free(log);
            st_fail_at(file, line, "%s", msg);
        }
    }
    free(log);
}
#define EXPECT_REFUSED_START(...) expect_refused_start(NEEDLES(__VA_ARGS__), __FILE__, __LINE__)

static void flip_or_fail(const char *path, long long off, const char *file, int line) {
    if (off < 0 || st_test_flip_byte(path, (uint64_t)off, 0) != 0)
        st_fail_at(file, line, "cannot flip byte %lld of %s", off, path);
}
#define FLIP(path, off) flip_or_fail((path), (off), __FILE__, __LINE__)

/* Writes n keys prefix:0..n-1 (vlen-byte values), all of which must be acknowledged. */
static void fill(redisContext *c, const char *prefix, int n, size_t vlen, enum key_state *st) {
    for (int from = 0; from < n; from += 500) {
        int to = from + 500 < n ? from + 500 : n;
        if (set_keys(c, prefix, from, to, 1, vlen, st, NULL, 0, __FILE__, __LINE__) != to - from)
            ST_FAIL("a write of %s:%05d..%05d was refused on a healthy disk", prefix, from, to - 1);
    }
}

/* ---- DEBUG ----------------------------------------------------------------------------------------- */

static void test_debug_needs_enable_debug_command(void **state) {
    (void)state;
    START("it-faults-nodebug", NULL);
    redisContext *c = ST_CONNECT(&srv);
    EXPECT_ERR_PREFIX(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set to",
                      "DEBUG FAULT OFF");
    redisFree(c);
    assert_int_equal(st_server_free(&srv), 0);
    SKIP_ON_REDIS();

    /* "local": allowed from the loopback, which is where every test client is */
    START("it-faults-debuglocal", ST_IT_ARGS("--enable-debug-command", "local"));
    c = ST_CONNECT(&srv);
    EXPECT_OK(c, "DEBUG FAULT OFF");
    redisFree(c);
    assert_int_equal(st_server_free(&srv), 0);

    START("it-faults-debug", ST_IT_ARGS("--enable-debug-command", "yes"));
    c = ST_CONNECT(&srv);
    static const char usage[] = "ERR DEBUG FAULT <write|sync|rename|read>";
    EXPECT_ERR_PREFIX(c, "ERR syntax error", "DEBUG FAULT write 1");
    EXPECT_ERR_PREFIX(c, usage, "DEBUG FAULT write 0 EIO");
    EXPECT_ERR_PREFIX(c, usage, "DEBUG FAULT write 1 ENOTANERRNO");
    EXPECT_ERR_PREFIX(c, usage, "DEBUG FAULT unlink 1 EIO");
    EXPECT_ERR_PREFIX(c, "ERR syntax error", "DEBUG FAULT write 1 EIO PATH");
    EXPECT_ERR_PREFIX(c, "ERR syntax error", "DEBUG FAULT write 1 EIO SOMETIMES");
    EXPECT_ERR_PREFIX(c, "ERR unknown subcommand", "DEBUG NOSUCH");
    redisReply *r = CMD(c, "DEBUG HELP");
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) ST_FAIL("DEBUG HELP: not a list of lines");
    freeReplyObject(r);
    /* a fault on files that do not exist hits nothing */
    EXPECT_OK(c, "DEBUG FAULT write 1 EIO PERSISTENT PATH no-such-file");
    EXPECT_OK(c, "DEBUG FAULT sync 1 28 PATH no-such-file");
    EXPECT_OK(c, "SET k v");
    EXPECT_OK(c, "SAVE");
    EXPECT_BULK(c, "v", "GET k");
    EXPECT_OK(c, "DEBUG FAULT OFF");
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    redisFree(c);
    STOP();
}

/* ---- WAL failures ---------------------------------------------------------------------------------- */

enum { WAL_KEYS = 100, CR_KEYS = 400 };

enum { DOOMED_CONNS = 4, DOOMED_PER_CONN = 10 };

typedef struct doomed {
    int dropped;        /* connections closed by the server */
    int errors;         /* writes answered with an error */
    char first_err[512];
} doomed;

/* Sends DOOMED_PER_CONN pipelined SETs doomed:<conn>:<j> on each of DOOMED_CONNS connections at
 * once, with the WAL failing under them: no write may be answered +OK (no commit succeeds after
 * the fault). Each connection either answers errors or is dropped. */
static doomed send_doomed_writes(void) {
    st_raw raw[DOOMED_CONNS];
    doomed d = {0};
    for (int i = 0; i < DOOMED_CONNS; i++) RAW_OPEN(&srv, &raw[i]);
    for (int i = 0; i < DOOMED_CONNS; i++) {
        char buf[DOOMED_PER_CONN * 64];
        size_t n = 0;
        for (int j = 0; j < DOOMED_PER_CONN; j++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "doomed:%d:%d", i, j);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$6\r\ndoomed\r\n", kl, key);
        }
        if (st_raw_send(&raw[i], buf, n) != 0) d.dropped++; /* closed already: counted, no replies */
    }
    for (int i = 0; i < DOOMED_CONNS; i++) {
        for (int j = 0; j < DOOMED_PER_CONN && raw[i].fd >= 0; j++) {
            const char *why = NULL;
            size_t n = 0;
            char *rep = st_raw_reply(&raw[i], ST_IT_IO_TIMEOUT_MS, &n, &why);
            if (!rep) {
                if (!why || strcmp(why, "eof") != 0)
                    ST_FAIL("write %d of connection %d: no reply and no drop (%s)", j, i, why ? why : "?");
                d.dropped++;
                break;
            }
            if (rep[0] != '-') {
                char *e = st_escape(rep, n);
                ST_FAIL("write %d of connection %d, sent with the WAL failing, was answered %s", j, i, e);
            }
            if (!d.errors++) snprintf(d.first_err, sizeof d.first_err, "%.*s", (int)strcspn(rep, "\r"), rep);
            free(rep);
        }
        st_raw_close(&raw[i]);
    }
    return d;
}

/* After a WAL failure: every write kind is refused with the cause, reads go on, INFO says so. */
static void expect_stopped(redisContext *c, const char *const *cause, enum key_state *st) {
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "SET after v");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "INCR counter");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "DEL wal:00000");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "HSET h f v");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "RPUSH l x");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "MSET m1 a m2 b");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "FLUSHALL");
    /* queued in a transaction: refused at once, and EXEC discards it (as Redis does) */
    EXPECT_OK(c, "MULTI");
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "SET after v");
    EXPECT_ERR_PREFIX(c, "EXECABORT", "EXEC");
    verify_keys(c, "wal", WAL_KEYS, BIG_VALUE, st, __FILE__, __LINE__);
    EXPECT_NIL(c, "GET after");
    EXPECT_WRITE_STATUS(c, "stopped", cause[0]);
    char aof[32];
    info_str(c, "aof_last_write_status", aof, sizeof aof);
    if (strcmp(aof, "err") != 0) ST_FAIL("INFO aof_last_write_status:%s after a WAL failure (want err)", aof);
    EXPECT_OK(c, "DEBUG FAULT OFF");
    /* the WAL's failure is final until a restart, disk healthy or not */
    EXPECT_ERR_HAS(c, "MISCONF ", cause, "SET after v");
}

/* After the restart: every acknowledged write, each write in flight all or nothing, writes work. */
static void expect_recovered(enum key_state *st) {
    redisContext *c = ST_CONNECT(&srv);
    verify_keys(c, "wal", WAL_KEYS, BIG_VALUE, st, __FILE__, __LINE__);
    for (int i = 0; i < DOOMED_CONNS; i++) {
        for (int j = 0; j < DOOMED_PER_CONN; j++) {
            redisReply *r = CMD(c, "GET doomed:%d:%d", i, j);
            if (r->type != REDIS_REPLY_NIL && !st_reply_is_bulk(r, "doomed")) {
                char *g = st_reply_repr(r);
                ST_FAIL("GET doomed:%d:%d after the restart: %s (want nil or \"doomed\")", i, j, g);
            }
            freeReplyObject(r);
        }
    }
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    EXPECT_OK(c, "SET after v");
    EXPECT_BULK(c, "v", "GET after");
    redisFree(c);
}

static void test_always_failed_wal_sync_is_never_acknowledged(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-sync", ST_IT_ARGS("--appendfsync", "always", "--enable-debug-command", "yes"));
    enum key_state st[WAL_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "wal", WAL_KEYS, BIG_VALUE, st);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    EXPECT_OK(c, "DEBUG FAULT sync 1 EIO PATH .log");
    doomed d = send_doomed_writes();
    print_message("writes sent as the fdatasync failed: %d connections dropped, %d errors%s%s\n", d.dropped, d.errors,
                  d.errors ? ", e.g. " : "", d.first_err);
    if (!d.dropped) ST_FAIL("no connection was dropped: the write whose fdatasync failed was answered (%s)", d.first_err);
    expect_stopped(c, NEEDLES("fdatasync", ".log", "Input/output error"), st);
    redisFree(c);
    STOP_AFTER_FAILURE();
    RESTART();
    expect_recovered(st);
    STOP();
}

static void test_everysec_failed_wal_write_is_never_acknowledged(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-walwrite", ST_IT_ARGS("--appendfsync", "everysec", "--enable-debug-command", "yes"));
    enum key_state st[WAL_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "wal", WAL_KEYS, BIG_VALUE, st);
    EXPECT_OK(c, "DEBUG FAULT write 1 EIO PATH .log");
    doomed d = send_doomed_writes();
    print_message("writes sent as the WAL write failed: %d connections dropped, %d errors%s%s\n", d.dropped, d.errors,
                  d.errors ? ", e.g. " : "", d.first_err);
    expect_stopped(c, NEEDLES("write of WAL", ".log", "Input/output error"), st);
    redisFree(c);
    STOP_AFTER_FAILURE();
    RESTART();
    expect_recovered(st);
    STOP();
}

/* everysec: the background fdatasync fails after the writes were acknowledged (everysec's
 * contract allows losing them in a power loss, not in a process restart): writes stop, and a
 * restart, with the data still in the page cache, serves every acknowledged one. */
static void test_everysec_failed_background_sync_stops_writes(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-bgsync", ST_IT_ARGS("--appendfsync", "everysec", "--enable-debug-command", "yes"));
    enum key_state st[WAL_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    EXPECT_OK(c, "DEBUG FAULT sync 1 EIO PATH .log");
    /* acknowledged before the once-a-second sync, unless it fails meanwhile: then refused */
    set_keys(c, "wal", 0, WAL_KEYS, 1, BIG_VALUE, st, NULL, 0, __FILE__, __LINE__);
    if (!wait_write_status(c, "stopped")) ST_FAIL("the failed background fdatasync did not stop writes");
    EXPECT_WRITE_STATUS(c, "stopped", "fdatasync");
    EXPECT_ERR_HAS(c, "MISCONF ", NEEDLES("fdatasync", ".log", "Input/output error"), "SET after v");
    verify_keys(c, "wal", WAL_KEYS, BIG_VALUE, st, __FILE__, __LINE__);
    redisFree(c);
    STOP_AFTER_FAILURE();
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "wal", WAL_KEYS, BIG_VALUE, st, __FILE__, __LINE__);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    redisFree(c);
    STOP();
}

/* ---- ENOSPC: soft errors ----------------------------------------------------------------------------- */

static void test_enospc_under_flush_is_retried_and_recovers(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    /* two memtable slots: after the failed SAVE one is taken (writes still accepted: retrying),
     * and writes are refused once the second fills too */
    START("it-faults-flush", ST_IT_ARGS("--write-buffer", "64kb", "--max-immutable", "2", "--enable-debug-command", "yes"));
    enum key_state *st = calloc(MAX_KEYS, sizeof *st);
    assert_non_null(st);
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "fl", 20, BIG_VALUE, st);
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PERSISTENT PATH .sst");
    EXPECT_ERR_HAS(c, "ERR no space left on device", NEEDLES("No space left on device"), "SAVE");
    EXPECT_WRITE_STATUS(c, "retrying", "flush of");
    EXPECT_WRITE_STATUS(c, "retrying", "No space left on device");
    char aof[32];
    info_str(c, "aof_last_write_status", aof, sizeof aof);
    if (strcmp(aof, "ok") != 0) ST_FAIL("INFO aof_last_write_status:%s while a flush retries (want ok)", aof);

    /* writes go on until every memtable slot waits for the flush */
    char refusal[1024] = "";
    int64_t end = st_now_ms() + WAIT_MS;
    int next = 20;
    while (!refusal[0] && next + 8 <= MAX_KEYS && st_now_ms() < end) {
        set_keys(c, "fl", next, next + 8, 1, BIG_VALUE, st, refusal, sizeof refusal, __FILE__, __LINE__);
        next += 8;
    }
    if (!refusal[0]) ST_FAIL("%d writes of %d bytes with every flush failing were all accepted", next - 20, BIG_VALUE);
    print_message("accepted %d writes after the failed SAVE; then: %s\n", count_state(st, MAX_KEYS, K_ACKED) - 20,
                  refusal);
    if (!strstr(refusal, "disk space") || !strstr(refusal, "No space left on device"))
        ST_FAIL("the refusal does not say the disk is full: %s", refusal);
    EXPECT_WRITE_STATUS(c, "refused", "disk space");
    EXPECT_ERR_HAS(c, "MISCONF ", NEEDLES("disk space"), "SET fl:99999 x");
    EXPECT_ERR_HAS(c, "ERR no space left on device", NEEDLES("No space left on device"), "SAVE");
    verify_keys(c, "fl", next, BIG_VALUE, st, __FILE__, __LINE__);

    /* space is back: the flush retries by itself and writes resume */
    EXPECT_OK(c, "DEBUG FAULT OFF");
    if (!wait_write_status(c, "ok")) {
        char msg[1024];
        info_str(c, "write_status_message", msg, sizeof msg);
        ST_FAIL("writes not accepted %d ms after the disk had space again: %s", WAIT_MS, msg);
    }
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    char msg[1024];
    info_str(c, "write_status_message", msg, sizeof msg);
    if (msg[0]) ST_FAIL("write_status:ok with a message left over: %s", msg);
    int from = next;
    if (set_keys(c, "fl", from, from + 40, 1, BIG_VALUE, st, NULL, 0, __FILE__, __LINE__) != 40)
        ST_FAIL("writes refused after the flush recovered");
    next = from + 40;
    EXPECT_OK(c, "SAVE");
    verify_keys(c, "fl", next, BIG_VALUE, st, __FILE__, __LINE__);
    redisFree(c);
    STOP();
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "fl", next, BIG_VALUE, st, __FILE__, __LINE__);
    redisFree(c);
    free(st);
    STOP();
}

/* SIGTERM while a flush keeps failing: the server exits (the unflushed memtable is in its WAL),
 * and the restart, on a disk with space, serves every acknowledged write. */
static void test_shutdown_while_flush_retries_keeps_every_write(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-flushstop", ST_IT_ARGS("--write-buffer", "64kb", "--enable-debug-command", "yes"));
    enum key_state st[100] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "fs", 40, BIG_VALUE, st);
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PERSISTENT PATH .sst");
    redisReply *r = CMD(c, "SAVE");
    if (r->type != REDIS_REPLY_ERROR) ST_FAIL("SAVE with every table write failing did not fail");
    freeReplyObject(r);
    set_keys(c, "fs", 40, 100, 1, BIG_VALUE, st, NULL, 0, __FILE__, __LINE__);
    redisFree(c);
    STOP_AFTER_FAILURE();
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "fs", 100, BIG_VALUE, st, __FILE__, __LINE__);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    redisFree(c);
    STOP();
}

/* The MANIFEST CURRENT names (its file name, "MANIFEST-000002"), in out. */
static void current_manifest(char *out, size_t cap) {
    char *current = st_test_path(srv.data_dir, "CURRENT");
    FILE *f = fopen(current, "r");
    free(current);
    assert_non_null(f);
    out[0] = '\0';
    assert_non_null(fgets(out, (int)cap, f));
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
    assert_true(!strncmp(out, "MANIFEST-", 9));
}

/* A MANIFEST append short of space is soft: the record may be half on disk, so the retry writes a
 * new MANIFEST rather than append after it; a restart reads that one. */
static void test_manifest_short_of_space_moves_to_a_new_manifest(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-manifest-nospc", ST_IT_ARGS("--enable-debug-command", "yes"));
    enum key_state st[CR_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "ms", CR_KEYS / 2, SMALL_VALUE, st);
    char before[64], after[64];
    current_manifest(before, sizeof before);
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PATH MANIFEST");
    /* the first attempt fails; the retry (100 ms later) may win the race with SAVE's answer */
    redisReply *r = CMD(c, "SAVE");
    if (r->type == REDIS_REPLY_ERROR) check_error_has(r, "SAVE", "ERR no space left on device", NEEDLES("MANIFEST"),
                                                      __FILE__, __LINE__);
    else st_check_reply_status(r, __FILE__, __LINE__, "OK", "SAVE");
    freeReplyObject(r);
    if (!wait_write_status(c, "ok")) ST_FAIL("the flush did not recover from a MANIFEST short of space");
    int64_t end = st_now_ms() + WAIT_MS;
    while (level0_files(c) < 1 && st_now_ms() < end) st_sleep_ms(POLL_MS);
    assert_int_equal(level0_files(c), 1);
    current_manifest(after, sizeof after);
    if (!strcmp(before, after)) ST_FAIL("CURRENT still names %s after its append failed", before);
    fill(c, "ms", CR_KEYS, SMALL_VALUE, st);
    EXPECT_OK(c, "SAVE");
    redisFree(c);
    STOP();
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "ms", CR_KEYS, SMALL_VALUE, st, __FILE__, __LINE__);
    EXPECT_INT(c, CR_KEYS, "DBSIZE");
    redisFree(c);
    STOP();
}

/* Hard failures of a flush (an I/O error on the MANIFEST append or on the rename of the new
 * table): writes stop with the cause, reads go on, and a restart serves every acknowledged write
 * from the WAL. */
static void test_hard_flush_failure_stops_writes_and_loses_nothing(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-hardflush", ST_IT_ARGS("--enable-debug-command", "yes"));
    static const struct {
        const char *fault, *names;
    } cases[] = {
        {"DEBUG FAULT write 1 EIO PATH MANIFEST", "MANIFEST"},
        {"DEBUG FAULT rename 1 EIO PATH .sst", "rename"},
    };
    enum key_state st[CR_KEYS] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int from = (int)k * (CR_KEYS / 2);
        redisContext *c = ST_CONNECT(&srv);
        for (int i = from; i < from + CR_KEYS / 2; i += 100)
            if (set_keys(c, "hf", i, i + 100, 1, SMALL_VALUE, st, NULL, 0, __FILE__, __LINE__) != 100)
                ST_FAIL("writes refused on a healthy disk");
        EXPECT_OK(c, cases[k].fault);
        redisReply *r = CMD(c, "SAVE");
        check_error_has(r, "SAVE", "ERR", NEEDLES(cases[k].names, "Input/output error"), __FILE__, __LINE__);
        freeReplyObject(r);
        EXPECT_WRITE_STATUS(c, "stopped", cases[k].names);
        EXPECT_ERR_HAS(c, "MISCONF ", NEEDLES(cases[k].names, "Input/output error"), "SET after v");
        verify_keys(c, "hf", CR_KEYS, SMALL_VALUE, st, __FILE__, __LINE__);
        redisFree(c);
        STOP_AFTER_FAILURE();
        RESTART();
        c = ST_CONNECT(&srv);
        verify_keys(c, "hf", CR_KEYS, SMALL_VALUE, st, __FILE__, __LINE__);
        EXPECT_WRITE_STATUS(c, "ok", NULL);
        redisFree(c);
    }
    STOP();
}

/* A tier configuration with L0 alone in "fast" and every other level in "slow", so a fault on
 * paths holding "/slow/" fails compactions' output and leaves flushes alone. */
static char *write_tier_config(void) {
    cfg_dir = st_test_tmpdir("it-faults-cfg");
    assert_non_null(cfg_dir);
    char *path = st_it_write_fast_slow_tiers(cfg_dir);
    assert_non_null(path);
    return path;
}

enum { CK_ROUNDS = 12, CK_PER_ROUND = 16, CK_STOP = 4 };

static void test_enospc_under_compaction_is_retried_and_recovers(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    char *toml = write_tier_config();
    START("it-faults-compact",
          ST_IT_ARGS("--config", toml, "--write-buffer", "64kb", "--level0-file-num-compaction-trigger", "2",
                     "--level0-slowdown-writes-trigger", "3", "--level0-stop-writes-trigger", "4",
                     "--enable-debug-command", "yes"));
    free(toml);
    enum key_state sa[64] = {0}, *sb = calloc(CK_ROUNDS * CK_PER_ROUND, sizeof *sb);
    assert_non_null(sb);
    redisContext *c = ST_CONNECT(&srv);

    /* a manual compaction short of space fails to its caller and stops nothing */
    fill(c, "ca", 20, BIG_VALUE, sa); /* a third of a write buffer: SAVE makes the only table */
    EXPECT_OK(c, "SAVE");
    assert_int_equal(level0_files(c), 1);
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PERSISTENT PATH .sst");
    EXPECT_ERR_HAS(c, "ERR no space left on device", NEEDLES("No space left on device"), "COMPACT");
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    verify_keys(c, "ca", 64, BIG_VALUE, sa, __FILE__, __LINE__);
    EXPECT_OK(c, "DEBUG FAULT OFF");
    EXPECT_OK(c, "COMPACT");
    assert_int_equal(level0_files(c), 0);
    fill(c, "ca", 64, BIG_VALUE, sa);
    EXPECT_OK(c, "SAVE");
    /* these may have made L0 due: let that compaction finish before the fault, so that every
     * compaction below starts with the fault armed */
    int64_t end = st_now_ms() + WAIT_MS;
    while ((level0_files(c) >= 2 || st_info_field(c, "storage", "compactions_running") != 0) && st_now_ms() < end)
        st_sleep_ms(POLL_MS);
    if (level0_files(c) >= 2) ST_FAIL("L0 not compacted within %d ms on a healthy disk", WAIT_MS);

    /* background compactions short of space: retried, then writes wait at the L0 stop trigger.
     * Round r writes keys r, r + CK_ROUNDS, ... so that every L0 table overlaps the others. */
    EXPECT_OK(c, "DEBUG FAULT write 1 ENOSPC PERSISTENT PATH /slow/");
    char refusal[1024] = "";
    bool saw_retrying = false;
    int round;
    for (round = 0; round < CK_ROUNDS && !refusal[0]; round++) {
        set_keys(c, "cb", round, CK_ROUNDS * CK_PER_ROUND, CK_ROUNDS, BIG_VALUE, sb, refusal, sizeof refusal,
                 __FILE__, __LINE__);
        EXPECT_OK(c, "SAVE"); /* the flush writes to "fast": never short of space */
        long long l0 = level0_files(c);
        if (l0 >= 2 && l0 < CK_STOP && !refusal[0]) {
            /* L0 is due: its compaction fails soon, and writes are still accepted meanwhile (unless
             * it was a trivial move, which writes nothing: then L0 shrinks) */
            int64_t until = st_now_ms() + WAIT_MS;
            char st[64];
            for (;;) {
                info_str(c, "write_status", st, sizeof st);
                if (!strcmp(st, "retrying") || level0_files(c) < 2) break;
                if (st_now_ms() >= until)
                    ST_FAIL("L0 holds %lld tables, every compaction fails, and write_status is %s (want retrying)",
                            l0, st);
                st_sleep_ms(POLL_MS);
            }
            if (!strcmp(st, "retrying")) {
                EXPECT_WRITE_STATUS(c, "retrying", "compaction");
                EXPECT_WRITE_STATUS(c, "retrying", "No space left on device");
                saw_retrying = true;
            }
        }
    }
    if (!saw_retrying) ST_FAIL("write_status never went retrying");
    if (!refusal[0]) ST_FAIL("%d rounds of writes and SAVEs with every compaction failing were all accepted", round);
    print_message("writes refused after %d rounds, L0 at %lld tables: %s\n", round, level0_files(c), refusal);
    if (!strstr(refusal, "compaction") || !strstr(refusal, "disk space"))
        ST_FAIL("the refusal does not name the compaction short of space: %s", refusal);
    if (level0_files(c) < CK_STOP) ST_FAIL("writes refused with L0 below its stop trigger (%lld)", level0_files(c));
    EXPECT_WRITE_STATUS(c, "refused", "compaction");
    EXPECT_ERR_HAS(c, "MISCONF ", NEEDLES("disk space"), "SET cb:99999 x");
    verify_keys(c, "ca", 64, BIG_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "cb", CK_ROUNDS * CK_PER_ROUND, BIG_VALUE, sb, __FILE__, __LINE__);

    EXPECT_OK(c, "DEBUG FAULT OFF");
    if (!wait_write_status(c, "ok")) {
        char msg[1024];
        info_str(c, "write_status_message", msg, sizeof msg);
        ST_FAIL("writes not accepted %d ms after the disk had space again: %s", WAIT_MS, msg);
    }
    end = st_now_ms() + WAIT_MS;
    while (level0_files(c) >= 2 && st_now_ms() < end) st_sleep_ms(POLL_MS);
    if (level0_files(c) >= 2) ST_FAIL("L0 still holds %lld tables %d ms after the fault ended", level0_files(c), WAIT_MS);
    for (int i = 0; i < CK_ROUNDS * CK_PER_ROUND; i++)
        if (sb[i] == K_REFUSED) sb[i] = K_NONE; /* written below */
    fill(c, "cb", CK_ROUNDS * CK_PER_ROUND, BIG_VALUE, sb);
    EXPECT_OK(c, "SAVE");
    verify_keys(c, "cb", CK_ROUNDS * CK_PER_ROUND, BIG_VALUE, sb, __FILE__, __LINE__);
    redisFree(c);
    STOP();
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "ca", 64, BIG_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "cb", CK_ROUNDS * CK_PER_ROUND, BIG_VALUE, sb, __FILE__, __LINE__);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    redisFree(c);
    free(sb);
    STOP();
}

/* ---- read errors --------------------------------------------------------------------------------- */

enum { RD_KEYS = 500 };

static void test_failed_table_read_is_an_error_not_a_miss(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-read", ST_IT_ARGS("--enable-debug-command", "yes"));
    enum key_state st[RD_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "rd", RD_KEYS, SMALL_VALUE, st);
    EXPECT_OK(c, "SAVE");
    redisFree(c);
    STOP();
    RESTART(); /* a cold block cache: every GET below reads its block from the table */
    c = ST_CONNECT(&srv);
    char val[SMALL_VALUE + 1];

    EXPECT_OK(c, "DEBUG FAULT read 1 EIO PATH .sst");
    EXPECT_ERR_HAS(c, "ERR", NEEDLES("Input/output error"), "GET rd:00250");
    value_of("rd", 250, SMALL_VALUE, val);
    EXPECT_BULK(c, val, "GET rd:00250"); /* the failure was not cached */

    EXPECT_OK(c, "DEBUG FAULT read 1 EIO PERSISTENT PATH .sst");
    EXPECT_ERR_HAS(c, "ERR", NEEDLES("Input/output error"), "GET rd:00010");
    EXPECT_ERR_HAS(c, "ERR", NEEDLES("Input/output error"), "EXISTS rd:00010");
    EXPECT_ERR_HAS(c, "ERR", NEEDLES("Input/output error"), "MGET rd:00010 rd:00011");
    EXPECT_ERR_HAS(c, "ERR", NEEDLES("Input/output error"), "KEYS *");
    /* reads failing is no reason to refuse writes */
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    EXPECT_OK(c, "SET fresh v");
    EXPECT_BULK(c, "v", "GET fresh");
    EXPECT_OK(c, "DEBUG FAULT OFF");
    verify_keys(c, "rd", RD_KEYS, SMALL_VALUE, st, __FILE__, __LINE__);
    EXPECT_INT(c, RD_KEYS + 1, "DBSIZE");
    redisFree(c);
    STOP();
}

/* ---- damaged files -------------------------------------------------------------------------------- */

/* Two tables: "ta" keys in the older one, "tb" keys in the newer. Returns the older's path. */
static char *two_tables(redisContext *c, enum key_state *sa, enum key_state *sb) {
    fill(c, "ta", CR_KEYS, SMALL_VALUE, sa);
    EXPECT_OK(c, "SAVE");
    fill(c, "tb", CR_KEYS, SMALL_VALUE, sb);
    EXPECT_OK(c, "SAVE");
    assert_int_equal(level0_files(c), 2); /* below the compaction trigger: they stay apart */
    int n = 0;
    char *path = find_file(srv.data_dir, ".sst", false, false, &n);
    if (n != 2) ST_FAIL("%d tables in %s (want 2)", n, srv.data_dir);
    return path;
}

/* Every reply must be an error naming the corruption and the table, never data with a hole. */
static void expect_corrupt(redisContext *c, const char *sst, const char *cmd) {
    EXPECT_ERR_HAS(c, "ERR data corruption detected", NEEDLES(sst, "offset 0"), cmd);
}

static void test_corrupt_data_block_is_reported_never_served(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-block", NULL);
    enum key_state sa[CR_KEYS] = {0}, sb[CR_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    char *older = two_tables(c, sa, sb);
    redisFree(c);
    STOP();
    /* a byte of the first data block (offset 0): the table's smallest keys */
    FLIP(older, 8);
    RESTART(); /* footer and index are intact: the server starts */
    const char *sst = base_name(older);
    c = ST_CONNECT(&srv);
    for (int i = 0; i < 5; i++) {
        char cmd[32];
        snprintf(cmd, sizeof cmd, "GET ta:%05d", i);
        expect_corrupt(c, sst, cmd);
    }
    expect_corrupt(c, sst, "EXISTS ta:00000");
    expect_corrupt(c, sst, "MGET tb:00000 ta:00000");
    expect_corrupt(c, sst, "KEYS *");
    expect_corrupt(c, sst, "KEYS ta:*");
    /* SCAN: an error somewhere before the end, never a complete walk that skipped the block */
    char cursor[32] = "0";
    bool failed = false;
    for (int calls = 0; calls < 1000 && !failed; calls++) {
        redisReply *r = CMD(c, "SCAN %s COUNT 50", cursor);
        if (r->type == REDIS_REPLY_ERROR) {
            check_error_has(r, "SCAN", "ERR data corruption detected", NEEDLES(sst), __FILE__, __LINE__);
            failed = true;
        } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING) {
            ST_FAIL("SCAN %s: malformed reply", cursor);
        } else {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            if (!strcmp(cursor, "0")) {
                freeReplyObject(r);
                ST_FAIL("SCAN walked the whole keyspace without reporting the damaged block");
            }
        }
        freeReplyObject(r);
    }
    if (!failed) ST_FAIL("SCAN did not end within 1000 calls");
    /* the other blocks of the damaged table, and the other table, read fine */
    for (int i = 0; i < 100; i++) sa[i] = K_NONE;
    verify_keys(c, "ta", CR_KEYS, SMALL_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "tb", CR_KEYS, SMALL_VALUE, sb, __FILE__, __LINE__);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    EXPECT_OK(c, "SET fresh v");

    /* two more tables make L0 due (its trigger is 4): the compaction reads the damaged block,
     * installs nothing and stops writes; reads go on */
    enum key_state sc[CR_KEYS] = {0};
    fill(c, "tc", CR_KEYS / 2, SMALL_VALUE, sc);
    EXPECT_OK(c, "SAVE");
    set_keys(c, "tc", CR_KEYS / 2, CR_KEYS, 1, SMALL_VALUE, sc, NULL, 0, __FILE__, __LINE__);
    redisReply *r = CMD(c, "SAVE"); /* may already meet the stop */
    if (r->type == REDIS_REPLY_ERROR) check_error_has(r, "SAVE", "ERR", NEEDLES(sst), __FILE__, __LINE__);
    freeReplyObject(r);
    if (!wait_write_status(c, "stopped")) ST_FAIL("a compaction over the damaged table did not stop writes");
    EXPECT_WRITE_STATUS(c, "stopped", sst);
    EXPECT_WRITE_STATUS(c, "stopped", "compaction");
    EXPECT_ERR_HAS(c, "MISCONF ", NEEDLES(sst, "checksum mismatch"), "SET fresh2 v");
    verify_keys(c, "ta", CR_KEYS, SMALL_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "tb", CR_KEYS, SMALL_VALUE, sb, __FILE__, __LINE__);
    verify_keys(c, "tc", CR_KEYS, SMALL_VALUE, sc, __FILE__, __LINE__);
    expect_corrupt(c, sst, "GET ta:00000");
    redisFree(c);
    STOP_AFTER_FAILURE();

    FLIP(older, 8); /* the same XOR undoes it: everything reads again, and L0 compacts */
    RESTART();
    c = ST_CONNECT(&srv);
    int64_t end = st_now_ms() + WAIT_MS;
    while (level0_files(c) >= 4 && st_now_ms() < end) st_sleep_ms(POLL_MS);
    if (level0_files(c) >= 4) ST_FAIL("L0 still at its trigger %d ms after the table was repaired", WAIT_MS);
    for (int i = 0; i < 100; i++) sa[i] = K_ACKED;
    verify_keys(c, "ta", CR_KEYS, SMALL_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "tb", CR_KEYS, SMALL_VALUE, sb, __FILE__, __LINE__);
    verify_keys(c, "tc", CR_KEYS, SMALL_VALUE, sc, __FILE__, __LINE__);
    EXPECT_BULK(c, "v", "GET fresh");
    EXPECT_NIL(c, "GET fresh2");
    EXPECT_INT(c, 2 * CR_KEYS + 1 + count_state(sc, CR_KEYS, K_ACKED), "DBSIZE");
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    redisFree(c);
    free(older);
    STOP();
}

/* Decodes a varint64 at p[0, n); returns bytes used, 0 if malformed. */
static size_t get_varint(const unsigned char *p, size_t n, unsigned long long *v) {
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (unsigned long long)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) return i + 1;
    }
    return 0;
}

enum { FOOTER_BYTES = 61, FOOTER_INDEX_HANDLE = 20 }; /* docs/FORMAT.md, "Footer" */

static void test_corrupt_table_footer_or_index_refuses_to_start(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-footer", NULL);
    enum key_state sa[CR_KEYS] = {0}, sb[CR_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    char *older = two_tables(c, sa, sb);
    redisFree(c);
    STOP();
    const char *sst = base_name(older);
    long long size = st_test_file_size(older);
    assert_true(size > FOOTER_BYTES);

    /* the footer: its index handle, covered by the footer checksum */
    long long foot = size - FOOTER_BYTES;
    FLIP(older, foot + FOOTER_INDEX_HANDLE);
    EXPECT_REFUSED_START(sst, "footer");
    FLIP(older, foot + FOOTER_INDEX_HANDLE);

    /* the index block, found through the footer's handle */
    unsigned char ft[FOOTER_BYTES];
    FILE *f = fopen(older, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)foot, SEEK_SET), 0);
    assert_int_equal(fread(ft, 1, sizeof ft, f), sizeof ft);
    fclose(f);
    unsigned long long ioff = 0, isize = 0;
    size_t k = get_varint(ft + FOOTER_INDEX_HANDLE, 20, &ioff);
    assert_true(k > 0 && get_varint(ft + FOOTER_INDEX_HANDLE + k, 20 - k, &isize) > 0);
    assert_true(isize > 2 && ioff + isize <= (unsigned long long)foot);
    FLIP(older, (long long)(ioff + isize / 2));
    EXPECT_REFUSED_START(sst, "index");
    FLIP(older, (long long)(ioff + isize / 2));

    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "ta", CR_KEYS, SMALL_VALUE, sa, __FILE__, __LINE__);
    verify_keys(c, "tb", CR_KEYS, SMALL_VALUE, sb, __FILE__, __LINE__);
    redisFree(c);
    free(older);
    STOP();
}

enum { WR_KEYS = 3000, LOG_BLOCK = 32768 };

static void test_damaged_wal_refuses_to_start_until_point_in_time(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-wal", NULL); /* everysec: replies follow the WAL write, and no zeros ahead */
    enum key_state *st = calloc(WR_KEYS, sizeof *st);
    assert_non_null(st);
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "wr", WR_KEYS, 100, st);
    redisFree(c);
    assert_int_equal(st_server_kill9(&srv), 0);

    char *wal = find_file(srv.data_dir, ".log", true, true, NULL);
    assert_non_null(wal);
    long long size = st_test_file_size(wal);
    assert_true(size > 4 * LOG_BLOCK);
    long long off = size / 2;
    if (off % LOG_BLOCK > LOG_BLOCK - 64) off -= 64; /* not in a block's unchecked trailer */
    FLIP(wal, off);
    EXPECT_REFUSED_START(base_name(wal), "offset", "--wal-recovery point-in-time");

    add_args("--wal-recovery", "point-in-time");
    RESTART();
    c = ST_CONNECT(&srv);
    /* every write before the damaged record, none after it */
    int kept = 0;
    for (int i = 0; i < WR_KEYS; i++) {
        char key[32];
        key_of("wr", i, key, sizeof key);
        redisReply *r = CMD(c, "EXISTS %s", key);
        if (r->type != REDIS_REPLY_INTEGER) ST_FAIL("EXISTS %s: not an integer", key);
        if (r->integer == 0) {
            freeReplyObject(r);
            break;
        }
        freeReplyObject(r);
        kept++;
    }
    print_message("point-in-time recovery kept %d of %d writes (damage at offset %lld of %lld)\n", kept, WR_KEYS, off,
                  size);
    if (kept == 0 || kept >= WR_KEYS) ST_FAIL("kept %d of %d writes: the damage is in the middle", kept, WR_KEYS);
    for (int i = 0; i < WR_KEYS; i++) st[i] = i < kept ? K_ACKED : K_REFUSED;
    verify_keys(c, "wr", WR_KEYS, 100, st, __FILE__, __LINE__);
    EXPECT_WRITE_STATUS(c, "ok", NULL);
    EXPECT_OK(c, "SET after v");
    redisFree(c);
    STOP();

    /* the damaged WAL is gone: a strict start works and keeps the same */
    drop_args(2);
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "wr", WR_KEYS, 100, st, __FILE__, __LINE__);
    EXPECT_BULK(c, "v", "GET after");
    redisFree(c);
    free(wal);
    free(st);
    STOP();
}

static void test_damaged_manifest_refuses_to_start(void **state) {
    (void)state;
    SKIP_ON_REDIS();
    START("it-faults-manifest", NULL);
    enum key_state st[CR_KEYS] = {0};
    redisContext *c = ST_CONNECT(&srv);
    fill(c, "mf", CR_KEYS, SMALL_VALUE, st);
    EXPECT_OK(c, "SAVE");
    redisFree(c);
    STOP();

    char name[64];
    current_manifest(name, sizeof name);
    char *manifest = st_test_path(srv.data_dir, name);
    assert_true(st_test_file_size(manifest) > 16);
    FLIP(manifest, 10); /* inside the first record's payload (after its 7-byte header) */
    EXPECT_REFUSED_START(name);
    FLIP(manifest, 10);
    RESTART();
    c = ST_CONNECT(&srv);
    verify_keys(c, "mf", CR_KEYS, SMALL_VALUE, st, __FILE__, __LINE__);
    redisFree(c);
    free(manifest);
    STOP();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_debug_needs_enable_debug_command, teardown),
        cmocka_unit_test_teardown(test_always_failed_wal_sync_is_never_acknowledged, teardown),
        cmocka_unit_test_teardown(test_everysec_failed_wal_write_is_never_acknowledged, teardown),
        cmocka_unit_test_teardown(test_everysec_failed_background_sync_stops_writes, teardown),
        cmocka_unit_test_teardown(test_enospc_under_flush_is_retried_and_recovers, teardown),
        cmocka_unit_test_teardown(test_shutdown_while_flush_retries_keeps_every_write, teardown),
        cmocka_unit_test_teardown(test_enospc_under_compaction_is_retried_and_recovers, teardown),
        cmocka_unit_test_teardown(test_manifest_short_of_space_moves_to_a_new_manifest, teardown),
        cmocka_unit_test_teardown(test_hard_flush_failure_stops_writes_and_loses_nothing, teardown),
        cmocka_unit_test_teardown(test_failed_table_read_is_an_error_not_a_miss, teardown),
        cmocka_unit_test_teardown(test_corrupt_data_block_is_reported_never_served, teardown),
        cmocka_unit_test_teardown(test_corrupt_table_footer_or_index_refuses_to_start, teardown),
        cmocka_unit_test_teardown(test_damaged_wal_refuses_to_start_until_point_in_time, teardown),
        cmocka_unit_test_teardown(test_damaged_manifest_refuses_to_start, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
