/* test_crash.c -- kill -9 a writer mid-run, reopen, and check what survived.
 *
 * The parent forks a child that opens the db and writes; the child reports over a pipe "about to
 * write" (PEND) before each engine call and "acknowledged" (ACK) after it returns 0, as RocksDB's
 * db_stress keeps its expected state. After a seeded delay the parent SIGKILLs the child, drains
 * the pipe, reopens the db itself and checks it against the expected state:
 *   always:   every acknowledged write is present with exactly its value (deletes: absent); the
 *             one write in flight (a single op or a whole batch) may be old or new, but a batch is
 *             all old or all new; a full scan is clean and shows no key that was never written.
 *   everysec: the child puts keys 0,1,2,... in order; the survivors of each cycle form a prefix
 *             (no holes), holding at least every acknowledged key (a SIGKILL loses nothing handed
 *             to the OS), and the prefixes of earlier cycles stay intact.
 * Many cycles run on the same directory, so each recovery starts from a db that was itself
 * recovered, and later cycles overwrite and delete earlier keys. Child and parent run with tiny
 * compaction sizes (8 KiB tables, 16 KiB base level, L0 trigger 2, two compaction threads), so
 * kills land in the middle of compactions and trivial moves (outputs half written, MANIFEST edits
 * not yet logged, inputs about to be unlinked); the per-cycle line shows tables per level. Every
 * wait has a deadline and a child never outlives its test. */
#include "strata/st.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALWAYS_CYCLES 40
#define EVERYSEC_CYCLES 30
#define WRITE_BUFFER_BYTES (32 * 1024)
#define READY_TIMEOUT_MS 30000 /* open + recovery under ASan */
#define DRAIN_TIMEOUT_MS 10000
#define REAP_TIMEOUT_MS 10000
#define CHILD_MAX_OPS 2000000  /* a child that is never killed stops writing here and waits */
#define MAX_PENDING 16

enum { MSG_READY = 1, MSG_PEND = 2, MSG_ACK = 3 };
enum { OP_PUT = 1, OP_DEL = 2 };

/* 16 bytes: below PIPE_BUF, so every write(2) of one message is atomic. */
typedef struct msg {
    uint8_t kind;
    uint8_t op;
    uint16_t pad;
    uint32_t key;
    uint64_t vseed; /* OP_PUT: value is gen_value(vseed) */
} msg;

/* Child exit statuses (anything else is a crash of the child). */
enum { CHILD_EXIT_OPEN = 10, CHILD_EXIT_WRITE = 40, CHILD_EXIT_PIPE = 70 };

typedef struct kstate {
    bool present;
    uint64_t vseed;
} kstate;

typedef struct pend {
    uint8_t op;
    uint32_t key;
    uint64_t vseed;
    kstate old;
} pend;

typedef struct ct {
    char *dir;
    const char *name;
    uint64_t seed;
    st_rng rng;
    pid_t child;
    int rfd;
    st_db *db;      /* the parent's verification handle */
    st_iter *it;
    uint8_t *vbuf;
    /* always: state per key index */
    kstate *exp;
    uint32_t nkeys; /* keys [0, nkeys) have ever been written or are pending */
    uint32_t cap;
    pend pending[MAX_PENDING];
    int npending;
    long acked_ops;  /* this cycle */
    bool ready;
    bool from_fork; /* this cycle's kill delay counted from the fork, not from READY */
    /* everysec: survivors per cycle */
    uint32_t survived[EVERYSEC_CYCLES];
    uint32_t cycle;
    uint8_t rbuf[4096 + sizeof(msg)];
    size_t rlen;
} ct;

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t vseed_of(uint32_t cycle, uint32_t i) { return ((uint64_t)(cycle + 1) << 32) | i; }

/* A readable head naming its origin, then seeded filler: 24..280 bytes. */
static size_t gen_value(uint64_t vseed, uint8_t *out) {
    uint64_t h = mix64(vseed);
    size_t len = 24 + (size_t)(h % 257);
    int n = snprintf((char *)out, len, "c%u-k%u-", (unsigned)(vseed >> 32) - 1, (unsigned)(vseed & 0xffffffffu));
    for (size_t i = (size_t)n; i < len; i++) {
        if (i % 8 == 0) h = mix64(h + i);
        out[i] = (uint8_t)('a' + ((h >> (8 * (i % 8))) & 15));
    }
    return len;
}

static size_t always_key(uint32_t i, char *out) { return (size_t)snprintf(out, 24, "key%08u", i); }
static size_t everysec_key(uint32_t cycle, uint32_t i, char *out) {
    return (size_t)snprintf(out, 24, "c%02u/%08u", cycle, i);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the child ----------------------------------------------------------------------------- */

static void child_send(int fd, uint8_t kind, uint8_t op, uint32_t key, uint64_t vseed) {
    msg m = {kind, op, 0, key, vseed};
    ssize_t n;
    do n = write(fd, &m, sizeof m);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof m) _exit(CHILD_EXIT_PIPE);
}

/* Small everything, so compactions run all the time. */
static void crash_options(st_options *o, st_sync_mode mode) {
    st_options_default(o);
    o->sync_mode = mode;
    o->write_buffer_bytes = WRITE_BUFFER_BYTES;
    o->target_file_size_base = 8 * 1024;
    o->max_bytes_for_level_base = 16 * 1024;
    o->max_bytes_for_level_multiplier = 4;
    o->level0_file_num_compaction_trigger = 2;
    o->level0_slowdown_writes_trigger = 8;
    o->level0_stop_writes_trigger = 16;
    o->max_background_compactions = 2;
}

static st_db *child_open(const char *dir, st_sync_mode mode) {
    st_options o;
    crash_options(&o, mode);
    o.create_if_missing = true;
    o.codec = ST_CODEC_LZ4;
    st_db *db = NULL;
    int rc = st_db_open(dir, &o, &db);
    if (rc != 0) _exit(CHILD_EXIT_OPEN - rc);
    return db;
}

static void child_idle(void) {
    for (;;) pause();
}

/* Puts key i (value from (cycle, i)) singly or in small batches with the odd delete of an older
 * key, reporting PEND before and ACK after each engine call. */
static void child_always(const char *dir, int wfd, uint32_t cycle, uint64_t seed, uint32_t old_nkeys) {
    st_db *db = child_open(dir, ST_SYNC_ALWAYS);
    child_send(wfd, MSG_READY, 0, 0, 0);
    st_rng r;
    st_rng_seed(&r, mix64(seed ^ cycle));
    st_batch *b = NULL;
    if (st_batch_new(&b) != 0) _exit(CHILD_EXIT_WRITE);
    uint8_t val[512];
    char key[24];
    uint32_t i = 0;
    while (i < CHILD_MAX_OPS) {
        uint64_t x = st_rng_below(&r, 10);
        uint32_t span = i > old_nkeys ? i : old_nkeys;
        int rc;
        if (x < 6 || span == 0) {
            uint64_t vs = vseed_of(cycle, i);
            size_t vl = gen_value(vs, val);
            size_t kl = always_key(i, key);
            child_send(wfd, MSG_PEND, OP_PUT, i, vs);
            rc = st_db_put(db, st_slice_make(key, kl), st_slice_make(val, vl));
            i++;
        } else if (x < 7) {
            uint32_t j = (uint32_t)st_rng_below(&r, span);
            size_t kl = always_key(j, key);
            child_send(wfd, MSG_PEND, OP_DEL, j, 0);
            rc = st_db_delete(db, st_slice_make(key, kl));
        } else {
            /* A batch: an optional delete of an older key, then 2..8 fresh puts (distinct keys). */
            st_batch_clear(b);
            if (st_rng_below(&r, 2) == 0) {
                uint32_t j = (uint32_t)st_rng_below(&r, span);
                size_t kl = always_key(j, key);
                child_send(wfd, MSG_PEND, OP_DEL, j, 0);
                if (st_batch_delete(b, st_slice_make(key, kl)) != 0) _exit(CHILD_EXIT_WRITE);
            }
            int n = 2 + (int)st_rng_below(&r, 7);
            for (int k = 0; k < n; k++, i++) {
                uint64_t vs = vseed_of(cycle, i);
                size_t vl = gen_value(vs, val);
                size_t kl = always_key(i, key);
                child_send(wfd, MSG_PEND, OP_PUT, i, vs);
                if (st_batch_put(b, st_slice_make(key, kl), st_slice_make(val, vl)) != 0) _exit(CHILD_EXIT_WRITE);
            }
            rc = st_db_write(db, b, 0, NULL);
        }
        if (rc != 0) _exit(CHILD_EXIT_WRITE - rc);
        child_send(wfd, MSG_ACK, 0, 0, 0);
    }
    child_idle();
}

static void child_everysec(const char *dir, int wfd, uint32_t cycle) {
    st_db *db = child_open(dir, ST_SYNC_EVERYSEC);
    child_send(wfd, MSG_READY, 0, 0, 0);
    uint8_t val[512];
    char key[24];
    for (uint32_t i = 0; i < CHILD_MAX_OPS; i++) {
        uint64_t vs = vseed_of(cycle, i);
        size_t vl = gen_value(vs, val);
        size_t kl = everysec_key(cycle, i, key);
        child_send(wfd, MSG_PEND, OP_PUT, i, vs);
        int rc = st_db_put(db, st_slice_make(key, kl), st_slice_make(val, vl));
        if (rc != 0) _exit(CHILD_EXIT_WRITE - rc);
        child_send(wfd, MSG_ACK, 0, 0, 0);
    }
    child_idle();
}

/* ---- the parent ---------------------------------------------------------------------------- */

static void describe_status(int status, char *out, size_t n) {
    if (WIFSIGNALED(status)) {
        snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status)) {
        int c = WEXITSTATUS(status);
        if (c > CHILD_EXIT_OPEN && c < CHILD_EXIT_WRITE)
            snprintf(out, n, "exit %d: st_db_open failed with %d (%s)", c, CHILD_EXIT_OPEN - c,
                     st_strerror(CHILD_EXIT_OPEN - c));
        else if (c > CHILD_EXIT_WRITE && c < CHILD_EXIT_PIPE)
            snprintf(out, n, "exit %d: a write failed with %d (%s)", c, CHILD_EXIT_WRITE - c,
                     st_strerror(CHILD_EXIT_WRITE - c));
        else
            snprintf(out, n, "exit %d", c);
    } else {
        snprintf(out, n, "status 0x%x", status);
    }
}

/* waitpid with a deadline; returns the status, fails the test on timeout. */
static int reap(ct *t) {
    int64_t deadline = now_ms() + REAP_TIMEOUT_MS;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(t->child, &status, WNOHANG);
        if (r == t->child) break;
        if (r < 0 && errno != EINTR) fail_msg("%s: waitpid: %s", t->name, strerror(errno));
        if (now_ms() > deadline) fail_msg("%s: child %d not reaped within %d ms", t->name, (int)t->child, REAP_TIMEOUT_MS);
        usleep(1000);
    }
    t->child = 0;
    return status;
}

static void grow(ct *t, uint32_t key) {
    if (key < t->cap) return;
    uint32_t cap = t->cap ? t->cap : 1024;
    while (cap <= key) cap *= 2;
    t->exp = realloc(t->exp, cap * sizeof *t->exp);
    assert_non_null(t->exp);
    memset(t->exp + t->cap, 0, (cap - t->cap) * sizeof *t->exp);
    t->cap = cap;
}

static void handle_msg(ct *t, const msg *m) {
    switch (m->kind) {
    case MSG_READY: t->ready = true; break;
    case MSG_PEND:
        if (t->npending >= MAX_PENDING) fail_msg("%s: more than %d pending ops", t->name, MAX_PENDING);
        grow(t, m->key);
        if (m->key >= t->nkeys) t->nkeys = m->key + 1;
        t->pending[t->npending] = (pend){m->op, m->key, m->vseed, t->exp[m->key]};
        t->npending++;
        break;
    case MSG_ACK:
        for (int i = 0; i < t->npending; i++) {
            pend *p = &t->pending[i];
            t->exp[p->key] = (kstate){p->op == OP_PUT, p->vseed};
        }
        t->acked_ops += t->npending;
        t->npending = 0;
        break;
    default: fail_msg("%s: bad message kind %d from the child", t->name, m->kind);
    }
}

/* Reads what is available (waiting up to timeout_ms); returns false on EOF. */
static bool read_msgs(ct *t, int timeout_ms) {
    struct pollfd pfd = {t->rfd, POLLIN, 0};
    int pr = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    if (pr < 0 && errno != EINTR) fail_msg("%s: poll: %s", t->name, strerror(errno));
    if (pr <= 0) return true;
    ssize_t n = read(t->rfd, t->rbuf + t->rlen, 4096);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) return true;
        fail_msg("%s: read from child: %s", t->name, strerror(errno));
    }
    if (n == 0) return false;
    t->rlen += (size_t)n;
    size_t off = 0;
    for (; off + sizeof(msg) <= t->rlen; off += sizeof(msg)) {
        msg m;
        memcpy(&m, t->rbuf + off, sizeof m);
        handle_msg(t, &m);
    }
    memmove(t->rbuf, t->rbuf + off, t->rlen - off);
    t->rlen -= off;
    return true;
}

/* Forks the child, lets it write for a seeded 5..150 ms counted from its READY (or, for one cycle in
 * five, 5..30 ms counted from the fork, so the kill may land inside open/recovery), SIGKILLs it and
 * drains the pipe.
 * Returns the delay used. */
static int run_child_and_kill(ct *t, bool always) {
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    int delay = 5 + (int)st_rng_below(&t->rng, 146);
    bool from_fork = t->from_fork = st_rng_below(&t->rng, 5) == 0;
    if (from_fork) delay = 5 + delay % 26; /* short enough to land inside open/recovery at times */
    uint32_t old_nkeys = t->nkeys;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches these to longjmp into its runner: a crashing child must die instead of
         * carrying on with the parent's remaining tests. */
        static const int sigs[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGSYS, SIGABRT, SIGPIPE};
        for (size_t s = 0; s < sizeof sigs / sizeof sigs[0]; s++) signal(sigs[s], SIG_DFL);
        close(fds[0]);
        if (always)
            child_always(t->dir, fds[1], t->cycle, t->seed, old_nkeys);
        else
            child_everysec(t->dir, fds[1], t->cycle);
        _exit(0);
    }
    t->child = pid;
    close(fds[1]);
    t->rfd = fds[0];
    t->ready = false;
    t->acked_ops = 0;
    t->npending = 0;
    t->rlen = 0;

    int64_t start = now_ms();
    int64_t kill_at = from_fork ? start + delay : -1;
    int64_t ready_deadline = start + READY_TIMEOUT_MS;
    for (;;) {
        int64_t now = now_ms();
        if (kill_at < 0 && t->ready) kill_at = now + delay;
        if (kill_at >= 0 && now >= kill_at) break;
        if (kill_at < 0 && now > ready_deadline)
            fail_msg("%s: cycle %u: child did not open the db within %d ms", t->name, t->cycle, READY_TIMEOUT_MS);
        int wait = (int)((kill_at >= 0 ? kill_at : ready_deadline) - now);
        if (!read_msgs(t, wait > 50 ? 50 : wait)) {
            char s[160];
            describe_status(reap(t), s, sizeof s);
            fail_msg("%s: seed=%llu cycle %u: child died before the kill: %s (acked %ld ops): %s", t->name,
                     (unsigned long long)t->seed, t->cycle, s, t->acked_ops,
                     "see its stderr above");
        }
    }
    kill(t->child, SIGKILL);
    int status = reap(t);
    int64_t drain_deadline = now_ms() + DRAIN_TIMEOUT_MS;
    while (read_msgs(t, 50))
        if (now_ms() > drain_deadline) fail_msg("%s: cycle %u: pipe not at EOF after the kill", t->name, t->cycle);
    close(t->rfd);
    t->rfd = -1;
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        char s[160];
        describe_status(status, s, sizeof s);
        fail_msg("%s: seed=%llu cycle %u: child ended by itself: %s", t->name, (unsigned long long)t->seed, t->cycle, s);
    }
    if (t->rlen) fail_msg("%s: cycle %u: %zu stray bytes in the pipe", t->name, t->cycle, t->rlen);
    return delay;
}

static const char *kill_anchor(const ct *t) {
    if (!t->from_fork) return "READY";
    return t->ready ? "fork (open had finished)" : "fork, during open";
}

static void parent_open(ct *t) {
    st_options o;
    crash_options(&o, ST_SYNC_ALWAYS);
    o.create_if_missing = false;
    int rc = st_db_open(t->dir, &o, &t->db);
    if (rc != 0)
        fail_msg("%s: seed=%llu cycle %u: reopen after SIGKILL failed: %d (%s): %s", t->name,
                 (unsigned long long)t->seed, t->cycle, rc, st_strerror(rc), st_errmsg());
}

static void parent_close(ct *t) {
    st_iter_free(t->it);
    t->it = NULL;
    int rc = st_db_close(t->db);
    t->db = NULL;
    if (rc != 0) fail_msg("%s: cycle %u: st_db_close: %d (%s): %s", t->name, t->cycle, rc, st_strerror(rc), st_errmsg());
}

static bool state_eq(kstate a, kstate b) { return a.present == b.present && (!a.present || a.vseed == b.vseed); }

static void describe_state(kstate s, char *out, size_t n) {
    if (!s.present)
        snprintf(out, n, "absent");
    else
        snprintf(out, n, "value of cycle %u key %u", (unsigned)(s.vseed >> 32) - 1, (unsigned)(s.vseed & 0xffffffffu));
}

/* What the db holds for key i: absent, or a value that must be exactly one we generated. */
static kstate read_key(ct *t, uint32_t i, const kstate *cand, int ncand) {
    char key[24];
    size_t kl = always_key(i, key);
    uint8_t *v = NULL;
    size_t vl = 0;
    int rc = st_db_get(t->db, NULL, st_slice_make(key, kl), &v, &vl);
    if (rc == ST_ENOTFOUND) return (kstate){false, 0};
    if (rc != 0)
        fail_msg("%s: seed=%llu cycle %u: get %s: %d (%s): %s", t->name, (unsigned long long)t->seed, t->cycle, key, rc,
                 st_strerror(rc), st_errmsg());
    for (int c = 0; c < ncand; c++) {
        if (!cand[c].present) continue;
        size_t el = gen_value(cand[c].vseed, t->vbuf);
        if (el == vl && memcmp(v, t->vbuf, vl) == 0) {
            free(v);
            return cand[c];
        }
    }
    char e1[80], e2[80];
    describe_state(cand[0], e1, sizeof e1);
    if (ncand > 1) describe_state(cand[1], e2, sizeof e2);
    fail_msg("%s: seed=%llu cycle %u: key %s holds a wrong value (len %zu, head '%.24s'); expected %s%s%s", t->name,
             (unsigned long long)t->seed, t->cycle, key, vl, (const char *)v, e1, ncand > 1 ? " or " : "",
             ncand > 1 ? e2 : "");
    return (kstate){false, 0};
}

/* Checks the reopened db against the expected state and folds the in-flight write's outcome into
 * it. Returns the number of keys verified. */
static long verify_always(ct *t, const char **pending_outcome) {
    /* 1. Point lookups; pending keys may be old or new, a batch all one or all the other. */
    int batch_new = -1; /* unknown */
    *pending_outcome = "none";
    long verified = 0;
    for (uint32_t i = 0; i < t->nkeys; i++) {
        int pi = -1;
        for (int p = 0; p < t->npending; p++)
            if (t->pending[p].key == i) pi = p;
        if (pi < 0) {
            kstate got = read_key(t, i, &t->exp[i], 1);
            if (!state_eq(got, t->exp[i])) {
                char e[80], g[80];
                describe_state(t->exp[i], e, sizeof e);
                describe_state(got, g, sizeof g);
                fail_msg("%s: seed=%llu cycle %u: ACKED WRITE LOST: key%08u expected %s, got %s", t->name,
                         (unsigned long long)t->seed, t->cycle, i, e, g);
            }
            verified++;
            continue;
        }
        pend *p = &t->pending[pi];
        kstate nw = {p->op == OP_PUT, p->vseed};
        kstate cand[2] = {nw, p->old};
        kstate got = read_key(t, i, cand, 2);
        bool is_new = state_eq(got, nw), is_old = state_eq(got, p->old);
        if (!is_new && !is_old) {
            char e1[80], e2[80], g[80];
            describe_state(p->old, e1, sizeof e1);
            describe_state(nw, e2, sizeof e2);
            describe_state(got, g, sizeof g);
            fail_msg("%s: seed=%llu cycle %u: in-flight key%08u: expected %s or %s, got %s", t->name,
                     (unsigned long long)t->seed, t->cycle, i, e1, e2, g);
        }
        if (is_new != is_old) {
            if (batch_new >= 0 && batch_new != (int)is_new)
                fail_msg("%s: seed=%llu cycle %u: in-flight batch of %d ops half applied (key%08u is %s, an "
                         "earlier op of the batch the opposite)",
                         t->name, (unsigned long long)t->seed, t->cycle, t->npending, i, is_new ? "new" : "old");
            batch_new = is_new;
        }
        t->exp[i] = got;
        verified++;
    }
    if (t->npending) *pending_outcome = batch_new < 0 ? "indistinguishable" : batch_new ? "new" : "old";
    t->npending = 0;

    /* 2. A full scan: ascending, clean, exactly the present keys, nothing never written. */
    long present = 0, seen = 0;
    for (uint32_t i = 0; i < t->nkeys; i++) present += t->exp[i].present;
    st_read_options ro = {0};
    int rc = st_db_iter_new(t->db, &ro, &t->it);
    if (rc != 0) fail_msg("%s: cycle %u: st_db_iter_new: %d (%s)", t->name, t->cycle, rc, st_strerror(rc));
    long prev = -1;
    for (st_iter_seek_first(t->it); st_iter_valid(t->it); st_iter_next(t->it)) {
        st_slice k = st_iter_key(t->it), v = st_iter_value(t->it);
        char ks[32];
        unsigned idx = 0;
        int used = 0;
        snprintf(ks, sizeof ks, "%.*s", (int)(k.len < 31 ? k.len : 31), (const char *)k.data);
        if (k.len != 11 || sscanf(ks, "key%8u%n", &idx, &used) != 1 || used != 11 || idx >= t->nkeys ||
            !t->exp[idx].present)
            fail_msg("%s: seed=%llu cycle %u: scan shows key '%s' (len %zu) that should not exist", t->name,
                     (unsigned long long)t->seed, t->cycle, ks, k.len);
        if ((long)idx <= prev)
            fail_msg("%s: cycle %u: scan out of order: key%08u after key%08ld", t->name, t->cycle, idx, prev);
        prev = idx;
        size_t el = gen_value(t->exp[idx].vseed, t->vbuf);
        if (el != v.len || memcmp(v.data, t->vbuf, el) != 0)
            fail_msg("%s: seed=%llu cycle %u: scan: key%08u value differs from its get (len %zu vs %zu)", t->name,
                     (unsigned long long)t->seed, t->cycle, idx, v.len, el);
        seen++;
    }
    rc = st_iter_status(t->it);
    if (rc != 0) fail_msg("%s: cycle %u: scan status %d (%s): %s", t->name, t->cycle, rc, st_strerror(rc), st_errmsg());
    if (seen != present)
        fail_msg("%s: seed=%llu cycle %u: scan saw %ld keys, %ld are present", t->name, (unsigned long long)t->seed,
                 t->cycle, seen, present);
    st_iter_free(t->it);
    t->it = NULL;
    return verified;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static int setup(void **state) {
    ct *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->dir = st_test_tmpdir("crash");
    t->vbuf = malloc(1024);
    t->rfd = -1;
    if (!t->dir || !t->vbuf) return -1;
    *state = t;
    return 0;
}

static int teardown(void **state) {
    ct *t = *state;
    if (!t) return 0;
    if (t->child > 0) {
        kill(t->child, SIGKILL);
        waitpid(t->child, NULL, 0);
    }
    if (t->rfd >= 0) close(t->rfd);
    st_iter_free(t->it);
    if (t->db) st_db_close(t->db);
    st_test_rmrf(t->dir);
    free(t->dir);
    free(t->vbuf);
    free(t->exp);
    free(t);
    return 0;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_crash_always_acked_writes_survive_kill(void **state) {
    ct *t = *state;
    t->name = "test_crash_always";
    t->seed = st_test_seed(t->name, 1234567);
    st_rng_seed(&t->rng, t->seed);
    int64_t t0 = now_ms();
    for (t->cycle = 0; t->cycle < ALWAYS_CYCLES; t->cycle++) {
        int delay = run_child_and_kill(t, true);
        int npend = t->npending;
        long acked = t->acked_ops;
        parent_open(t);
        const char *outcome;
        long verified = verify_always(t, &outcome);
        st_stats s;
        memset(&s, 0, sizeof s);
        assert_int_equal(st_db_stats(t->db, &s), 0);
        uint64_t files = 0;
        char per_level[64];
        int o = 0;
        for (int l = 0; l < ST_MAX_LEVELS; l++) {
            files += s.level_files[l];
            o += snprintf(per_level + o, sizeof per_level - (size_t)o, "%s%llu", l ? "/" : "",
                          (unsigned long long)s.level_files[l]);
        }
        parent_close(t);
        long live = 0;
        for (uint32_t i = 0; i < t->nkeys; i++) live += t->exp[i].present;
        printf("cycle %u: acked %ld ops, pending %d (%s), verified %ld keys ok (%ld live; killed %d ms after %s; "
               "%llu table files, per level %s)\n",
               t->cycle, acked, npend, outcome, verified, live, delay, kill_anchor(t),
               (unsigned long long)files, per_level);
        fflush(stdout);
    }
    printf("%s: %d cycles in %lld ms\n", t->name, ALWAYS_CYCLES, (long long)(now_ms() - t0));
}

static void test_crash_everysec_survivors_are_a_prefix(void **state) {
    ct *t = *state;
    t->name = "test_crash_everysec";
    t->seed = st_test_seed(t->name, 7654321);
    st_rng_seed(&t->rng, t->seed);
    int64_t t0 = now_ms();
    long total_acked = 0, total_survived = 0;
    for (t->cycle = 0; t->cycle < EVERYSEC_CYCLES; t->cycle++) {
        int delay = run_child_and_kill(t, false);
        long acked = t->acked_ops;
        int npend = t->npending;
        parent_open(t);
        /* Keys sort as cycle then index, so a full scan must read, in order, the surviving prefix
         * of every earlier cycle and then a prefix 0..m-1 of this one. */
        st_read_options ro = {0};
        int rc = st_db_iter_new(t->db, &ro, &t->it);
        if (rc != 0) fail_msg("%s: st_db_iter_new: %d (%s)", t->name, rc, st_strerror(rc));
        st_iter_seek_first(t->it);
        uint32_t m = 0;
        for (uint32_t c = 0; c <= t->cycle; c++) {
            uint32_t expect_n = c < t->cycle ? t->survived[c] : UINT32_MAX;
            uint32_t i = 0;
            for (; i < expect_n && st_iter_valid(t->it); i++, st_iter_next(t->it)) {
                char want[24];
                size_t wl = everysec_key(c, i, want);
                st_slice k = st_iter_key(t->it), v = st_iter_value(t->it);
                if (st_slice_cmp(k, st_slice_make(want, wl)) != 0) {
                    if (c == t->cycle && k.len == wl && memcmp(k.data, want, 4) == 0)
                        fail_msg("%s: seed=%llu cycle %u: HOLE: '%.*s' present but '%s' missing (acked %ld)", t->name,
                                 (unsigned long long)t->seed, t->cycle, (int)k.len, (const char *)k.data, want, acked);
                    if (c == t->cycle) break; /* this cycle's prefix ended (next key belongs to nobody) */
                    fail_msg("%s: seed=%llu cycle %u: earlier cycle %u lost or reordered: expected '%s', scan at "
                             "'%.*s'",
                             t->name, (unsigned long long)t->seed, t->cycle, c, want, (int)k.len, (const char *)k.data);
                }
                size_t el = gen_value(vseed_of(c, i), t->vbuf);
                if (el != v.len || memcmp(v.data, t->vbuf, el) != 0)
                    fail_msg("%s: seed=%llu cycle %u: key '%s' has a wrong value (len %zu, expected %zu)", t->name,
                             (unsigned long long)t->seed, t->cycle, want, v.len, el);
            }
            if (c < t->cycle && i != expect_n)
                fail_msg("%s: seed=%llu cycle %u: earlier cycle %u had %u keys, now %u", t->name,
                         (unsigned long long)t->seed, t->cycle, c, expect_n, i);
            if (c == t->cycle) m = i;
        }
        if (st_iter_valid(t->it)) {
            st_slice k = st_iter_key(t->it);
            fail_msg("%s: seed=%llu cycle %u: unexpected key '%.*s' after the prefix of %u", t->name,
                     (unsigned long long)t->seed, t->cycle, (int)k.len, (const char *)k.data, m);
        }
        rc = st_iter_status(t->it);
        if (rc != 0) fail_msg("%s: cycle %u: scan status %d (%s): %s", t->name, t->cycle, rc, st_strerror(rc), st_errmsg());
        st_iter_free(t->it);
        t->it = NULL;
        /* The first missing key really is missing (the scan did not merely stop early). */
        char key[24];
        size_t kl = everysec_key(t->cycle, m, key);
        uint8_t *v = NULL;
        size_t vl = 0;
        rc = st_db_get(t->db, NULL, st_slice_make(key, kl), &v, &vl);
        free(v);
        if (rc != ST_ENOTFOUND)
            fail_msg("%s: seed=%llu cycle %u: scan ended at %u keys but get('%s') returned %d", t->name,
                     (unsigned long long)t->seed, t->cycle, m, key, rc);
        parent_close(t);
        /* SIGKILL loses nothing the process handed to the OS, and an everysec commit hands the WAL
         * to the OS (st.h, st_db_commit), so every acked put survives; at most the pending one more. */
        if ((long)m < acked)
            fail_msg("%s: seed=%llu cycle %u: ACKED WRITES LOST: %ld acked, %u survived", t->name,
                     (unsigned long long)t->seed, t->cycle, acked, m);
        if ((long)m > acked + npend)
            fail_msg("%s: seed=%llu cycle %u: %u keys survived but only %ld acked + %d pending were written", t->name,
                     (unsigned long long)t->seed, t->cycle, m, acked, npend);
        t->survived[t->cycle] = m;
        total_acked += acked;
        total_survived += m;
        printf("cycle %u: acked %ld keys, pending %d, survived %u as a prefix, verified %u ok (killed %d ms after "
               "%s)\n",
               t->cycle, acked, npend, m, m, delay, kill_anchor(t));
        fflush(stdout);
    }
    printf("%s: %d cycles in %lld ms, %ld acked, %ld survived\n", t->name, EVERYSEC_CYCLES,
           (long long)(now_ms() - t0), total_acked, total_survived);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_always_acked_writes_survive_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_everysec_survivors_are_a_prefix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
