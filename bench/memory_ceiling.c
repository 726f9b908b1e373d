/* memory_ceiling.c -- does strata-server stay within its memory_limit while it holds 20x that much?
 *
 * A hiredis client for a running server. The load phase writes keys "mc:<16 hex digits>", where
 * the digits are mix64(i) for i = 0, 1, 2, ... (a bijection, so the keys are distinct and their
 * order is random), until --bytes of key + value payload are written; pipelined SETs, every reply
 * must be +OK. A value is --value-size bytes of a splitmix64 stream seeded from the key's hash, so
 * any value can be checked without storing it. The sample phase GETs --sample random indices among
 * those loaded and compares each value byte for byte, then GETs --absent never-written keys and
 * expects nil. A thread reads the server's VmRSS from /proc/PID/status every 100 ms; at the end
 * the client reads VmHWM (the kernel's peak RSS of the process).
 *
 * Progress goes to stderr; the summary ("name: value" lines) to stdout, also after a failure. The
 * last summary lines are "peak_rss_ok: yes|no|n/a (...)" against bound = 1.5 x --limit + 32 MiB,
 * and "result: ok|FAILED (...)". Exit status: 0 when the run completed and every value was right
 * (whatever the RSS), 1 when it did not (a wrong, missing or phantom value, an error reply, a lost
 * connection, a vanished server, --timeout), 2 for bad options. Benchmarks print; they never judge
 * a figure by their exit status. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "bench_args.h"

#define MiB (UINT64_C(1) << 20)
#define KEY_PREFIX "mc:"
#define KEY_LEN (sizeof KEY_PREFIX - 1 + 16) /* "mc:" + 16 hex digits */
#define MAX_VALUE_BYTES (64u << 20)
#define MAX_PIPELINE 100000
#define MAX_REPORTED 10      /* wrong values and error replies printed one by one */
#define RSS_PERIOD_MS 100
#define CONNECT_TIMEOUT_S 10

typedef struct config {
    const char *host;
    int port;
    long pid;              /* the server's pid for /proc/PID/status; 0 = no RSS figures */
    uint64_t bytes;        /* key + value payload to load */
    size_t value_size;
    uint64_t pipeline;     /* commands in flight */
    uint64_t sample;       /* GETs of loaded keys */
    uint64_t absent;       /* GETs of never-written keys */
    uint64_t limit;        /* the server's memory_limit, for the bound only */
    uint64_t timeout_s;    /* for the whole run */
    uint64_t progress_s;   /* seconds between progress lines */
    uint64_t seed;         /* which indices the sample phase reads */
    const char *rss_csv;   /* every RSS sample, or NULL */
} config;

enum phase { PH_CONNECT = 0, PH_LOAD = 1, PH_SAMPLE = 2, PH_ABSENT = 3, PH_DONE = 4 };
static const char *const phase_names[] = {"connect", "load", "sample", "absent", "done"};

/* What the sampler thread shares with the main thread. */
static struct {
    long pid;
    FILE *csv;
    double t0;
    atomic_bool stop;
    atomic_bool gone;         /* /proc/PID/status could not be read: the server exited */
    atomic_int phase;
    atomic_uint_fast64_t keys_done;
    atomic_uint_fast64_t rss_now;
    atomic_uint_fast64_t rss_max;
    atomic_uint_fast64_t rss_max_phase[PH_DONE + 1];
    atomic_uint_fast64_t samples;
} mon;

/* The run's figures, printed by report(). */
static struct {
    uint64_t keys_target, keys_loaded, bytes_loaded;
    double load_s, sample_s, absent_s;
    uint64_t sampled, absent_done;
    uint64_t mismatches, missing, phantoms, errors;
    uint64_t hwm_after_load, hwm_end, rss_end;
    bool hwm_after_load_ok, hwm_end_ok;
    char fail[512];           /* why the run failed; empty when it did not */
} res;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(uint64_t b) { return (double)b / (double)MiB; }

static void usage(FILE *f) {
    fprintf(f,
            "usage: strata-memory-ceiling [options]\n"
            "Loads --bytes of random keys into a running server, reads a random sample back and checks\n"
            "every byte, and records the server's RSS (VmRSS every 100 ms, VmHWM at the end).\n"
            "  --host HOST          server address (default 127.0.0.1)\n"
            "  --port N             server port (default 6379)\n"
            "  --pid PID            the server's process id, for /proc/PID/status; without it the RSS\n"
            "                       figures are n/a (the server must be on this machine)\n"
            "  --bytes SIZE         key + value payload to load (default 1280MiB: 20 x 64 MiB)\n"
            "  --value-size SIZE    bytes per value (default 1000); keys are %zu bytes\n"
            "  --pipeline N         commands in flight (default 64)\n"
            "  --sample N           GETs of random loaded keys, each value checked (default 100000)\n"
            "  --absent N           GETs of never-written keys, each must be nil (default 5000)\n"
            "  --limit SIZE         the server's memory_limit, for the bound 1.5 x limit + 32 MiB\n"
            "                       (default 64MiB)\n"
            "  --timeout S          limit for the whole run, seconds (default 3600)\n"
            "  --progress S         seconds between progress lines on stderr (default 5)\n"
            "  --seed N             seed of the sample's random indices (default 1)\n"
            "  --rss-csv FILE       write every RSS sample (t_s,phase,keys_done,vmrss_bytes) to FILE\n"
            "  -h, --help           this text\n"
            "SIZE is bytes or a number with a unit: k, kb, kib, m, mb, mib, g, gb, gib (kb, mb, gb are\n"
            "binary and k, m, g decimal, as strata-server reads sizes).\n"
            "Exit status: 0 the run completed and every value was right, 1 it did not, 2 bad options.\n"
            "The RSS check (peak_rss_ok) is printed, never part of the exit status.\n",
            (size_t)KEY_LEN);
}

static void bad_option(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad_option(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "memory_ceiling: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see --help)\n");
    exit(2);
}

/* Records the first failure; later ones are consequences. Returns false so callers can
 * `return fail(...)`. */
static bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool fail(const char *fmt, ...) {
    if (res.fail[0]) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res.fail, sizeof res.fail, fmt, ap);
    va_end(ap);
    fprintf(stderr, "memory_ceiling: error: %s\n", res.fail);
    return false;
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        bad_option("%s: expected a number in [%" PRIu64 ", %" PRIu64 "], got '%s'", opt, min, max, s);
    return (uint64_t)v;
}

/* The same units as strata-server's config_parse_size (net/config.c), so one string means the
 * same size to both. */
static uint64_t parse_size(const char *opt, const char *s, uint64_t min, uint64_t max) {
    static const struct { const char *unit; uint64_t mul; } units[] = {
        {"", 1}, {"b", 1},
        {"k", 1000}, {"kb", UINT64_C(1) << 10}, {"kib", UINT64_C(1) << 10},
        {"m", 1000000}, {"mb", UINT64_C(1) << 20}, {"mib", UINT64_C(1) << 20},
        {"g", 1000000000}, {"gb", UINT64_C(1) << 30}, {"gib", UINT64_C(1) << 30},
    };
    const char *p = s;
    uint64_t v = 0;
    bool digits = false;
    for (; *p >= '0' && *p <= '9'; p++, digits = true) {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) bad_option("%s: '%s' is too large", opt, s);
        v = v * 10 + d;
    }
    if (!digits) bad_option("%s: '%s' is not a size (bytes, or e.g. 64MiB, 1GiB)", opt, s);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(p, units[i].unit) != 0) continue;
        if (v && units[i].mul > UINT64_MAX / v) bad_option("%s: '%s' is too large", opt, s);
        v *= units[i].mul;
        if (v < min || v > max)
            bad_option("%s: %s is outside [%" PRIu64 ", %" PRIu64 "] bytes", opt, s, min, max);
        return v;
    }
    bad_option("%s: '%s' is not a size (bytes, or e.g. 64MiB, 1GiB)", opt, s);
}

static void parse_args(int argc, char **argv, config *c) {
    *c = (config){.host = "127.0.0.1", .port = 6379, .bytes = 1280 * MiB, .value_size = 1000,
                  .pipeline = 64, .sample = 100000, .absent = 5000, .limit = 64 * MiB,
                  .timeout_s = 3600, .progress_s = 5, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char name[64];
        bench_split_option(a, name, sizeof name, &val);
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!val) {
            if (i + 1 >= argc) bad_option("%s needs a value", name);
            val = argv[++i];
        }
        if (!strcmp(name, "--host")) c->host = val;
        else if (!strcmp(name, "--port")) c->port = (int)parse_u64(name, val, 1, 65535);
        else if (!strcmp(name, "--pid")) c->pid = (long)parse_u64(name, val, 1, 1u << 30);
        else if (!strcmp(name, "--bytes")) c->bytes = parse_size(name, val, 1, UINT64_C(1) << 50);
        else if (!strcmp(name, "--value-size")) c->value_size = (size_t)parse_size(name, val, 1, MAX_VALUE_BYTES);
        else if (!strcmp(name, "--pipeline")) c->pipeline = parse_u64(name, val, 1, MAX_PIPELINE);
        else if (!strcmp(name, "--sample")) c->sample = parse_u64(name, val, 0, UINT64_C(1) << 40);
        else if (!strcmp(name, "--absent")) c->absent = parse_u64(name, val, 0, UINT64_C(1) << 40);
        else if (!strcmp(name, "--limit")) c->limit = parse_size(name, val, 1, UINT64_C(1) << 50);
        else if (!strcmp(name, "--timeout")) c->timeout_s = parse_u64(name, val, 1, 30 * 86400);
        else if (!strcmp(name, "--progress")) c->progress_s = parse_u64(name, val, 1, 86400);
        else if (!strcmp(name, "--seed")) c->seed = parse_u64(name, val, 0, UINT64_MAX);
        else if (!strcmp(name, "--rss-csv")) c->rss_csv = val;
        else bad_option("unknown option '%s'", a);
    }
}

/* ---- keys and values ------------------------------------------------------------------------- */

/* splitmix64's finaliser: a bijection on 64-bit words, so distinct indices give distinct keys. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t splitmix_next(uint64_t *s) { return mix64(*s += UINT64_C(0x9e3779b97f4a7c15)); }

/* Writes index i's key (KEY_LEN bytes plus a NUL) and returns its hash, the seed of its value. */
static uint64_t make_key(char *buf, uint64_t i) {
    uint64_t h = mix64(i);
    snprintf(buf, KEY_LEN + 1, KEY_PREFIX "%016" PRIx64, h);
    return h;
}

/* The value of the key with hash h: n bytes of a splitmix64 stream seeded from h. */
static void make_value(uint8_t *buf, size_t n, uint64_t h) {
    uint64_t s = h ^ UINT64_C(0x6d656d6365696c21);
    size_t off = 0;
    for (; off + 8 <= n; off += 8) {
        uint64_t w = splitmix_next(&s);
        memcpy(buf + off, &w, 8);
    }
    if (off < n) {
        uint64_t w = splitmix_next(&s);
        memcpy(buf + off, &w, n - off);
    }
}

/* ---- the server's RSS ------------------------------------------------------------------------ */

/* Reads VmRSS and VmHWM (bytes) of pid. False when the file cannot be read (the process exited)
 * or lacks the fields (a kernel thread, a zombie). */
static bool read_status(long pid, uint64_t *rss, uint64_t *hwm) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool got_rss = false, got_hwm = false;
    unsigned long long kb;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) {
            *rss = (uint64_t)kb * 1024;
            got_rss = true;
        } else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1) {
            *hwm = (uint64_t)kb * 1024;
            got_hwm = true;
        }
    }
    fclose(f);
    return got_rss && got_hwm;
}

static void atomic_max(atomic_uint_fast64_t *a, uint64_t v) {
    uint_fast64_t cur = atomic_load(a);
    while (cur < v && !atomic_compare_exchange_weak(a, &cur, v)) {
    }
}

static void *sampler(void *arg) {
    (void)arg;
    while (!atomic_load(&mon.stop)) {
        uint64_t rss = 0, hwm = 0;
        if (!read_status(mon.pid, &rss, &hwm)) {
            atomic_store(&mon.gone, true);
            break;
        }
        int ph = atomic_load(&mon.phase);
        atomic_store(&mon.rss_now, rss);
        atomic_max(&mon.rss_max, rss);
        atomic_max(&mon.rss_max_phase[ph], rss);
        atomic_fetch_add(&mon.samples, 1);
        if (mon.csv)
            fprintf(mon.csv, "%.3f,%s,%" PRIu64 ",%" PRIu64 "\n", now_s() - mon.t0, phase_names[ph],
                    (uint64_t)atomic_load(&mon.keys_done), rss);
        struct timespec ts = {0, RSS_PERIOD_MS * 1000000L};
        while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        }
    }
    return NULL;
}

/* ---- the connection -------------------------------------------------------------------------- */

typedef struct run {
    const config *cfg;
    redisContext *rc;
    double deadline;       /* now_s() after which the run fails */
    double next_progress;
    uint8_t *expect;       /* value_size bytes: the value a GET should return */
    uint64_t *batch_idx;   /* pipeline indices of the batch in flight */
} run;

static void set_phase(int ph) { atomic_store(&mon.phase, ph); }

/* Whether the run may go on: before the deadline, with the server still there. Records why not. */
static bool still_running(run *r) {
    if (now_s() > r->deadline)
        return fail("--timeout %" PRIu64 " s reached in the %s phase", r->cfg->timeout_s,
                    phase_names[atomic_load(&mon.phase)]);
    if (atomic_load(&mon.gone))
        return fail("server process %ld is gone (/proc/%ld/status unreadable)", mon.pid, mon.pid);
    return true;
}

/* Bounds the next socket wait by what is left of --timeout. */
static bool arm_timeout(run *r) {
    if (!still_running(r)) return false;
    double left = r->deadline - now_s();
    if (left < 0.001) left = 0.001;
    struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    if (redisSetTimeout(r->rc, tv) != REDIS_OK) return fail("setting the socket timeout: %s", r->rc->errstr);
    return true;
}

/* Reads one reply; on an I/O failure records why and returns NULL. */
static redisReply *get_reply(run *r, const char *what, const char *key) {
    void *reply = NULL;
    if (redisGetReply(r->rc, &reply) == REDIS_OK && reply) return reply;
    if (now_s() > r->deadline)
        fail("--timeout %" PRIu64 " s reached waiting for the reply to %s %s", r->cfg->timeout_s, what, key);
    else if (atomic_load(&mon.gone))
        fail("server process %ld exited (reply to %s %s: %s)", mon.pid, what, key, r->rc->errstr);
    else
        fail("connection to %s:%d failed on %s %s: %s", r->cfg->host, r->cfg->port, what, key,
             r->rc->err ? r->rc->errstr : "no reply");
    return NULL;
}

static void progress(run *r, const char *what, uint64_t done, uint64_t total, double t_start,
                     uint64_t *last_done, double *last_t) {
    double t = now_s();
    if (t < r->next_progress) return;
    r->next_progress = t + (double)r->cfg->progress_s;
    double dt = t - *last_t;
    double rate = dt > 0 ? (double)(done - *last_done) / dt : 0;
    char rss[96] = "VmRSS n/a";
    if (mon.pid)
        snprintf(rss, sizeof rss, "VmRSS %.1f MiB (max %.1f)", mib(atomic_load(&mon.rss_now)),
                 mib(atomic_load(&mon.rss_max)));
    if (!strcmp(what, "load"))
        fprintf(stderr, "memory_ceiling: load: %.1f/%.1f MiB (%.0f%%), %" PRIu64 " keys, %.0f ops/s, %.0f s, %s\n",
                mib(done * (KEY_LEN + r->cfg->value_size)), mib(total * (KEY_LEN + r->cfg->value_size)),
                100.0 * (double)done / (double)total, done, rate, t - t_start, rss);
    else
        fprintf(stderr, "memory_ceiling: %s: %" PRIu64 "/%" PRIu64 " GETs, %.0f ops/s, %.0f s, %s\n", what, done,
                total, rate, t - t_start, rss);
    *last_done = done;
    *last_t = t;
}

/* ---- the phases ------------------------------------------------------------------------------ */

static bool load(run *r) {
    const config *c = r->cfg;
    uint8_t *val = malloc(c->value_size);
    if (!val) return fail("out of memory for a %zu-byte value", c->value_size);
    char key[KEY_LEN + 1];
    double t0 = now_s(), last_t = t0;
    uint64_t last_done = 0;
    bool ok = true;
    set_phase(PH_LOAD);
    while (ok && res.keys_loaded < res.keys_target) {
        if (!(ok = arm_timeout(r))) break;
        uint64_t n = res.keys_target - res.keys_loaded;
        if (n > c->pipeline) n = c->pipeline;
        for (uint64_t j = 0; j < n; j++) {
            uint64_t h = make_key(key, res.keys_loaded + j);
            make_value(val, c->value_size, h);
            if (redisAppendCommand(r->rc, "SET %b %b", key, (size_t)KEY_LEN, val, c->value_size) != REDIS_OK) {
                ok = fail("formatting SET %s: %s", key, r->rc->errstr);
                break;
            }
        }
        uint64_t acked = 0; /* replies of this batch that were +OK */
        for (; ok && acked < n; acked++) {
            make_key(key, res.keys_loaded + acked);
            redisReply *rep = get_reply(r, "SET", key);
            if (!rep) {
                ok = false;
                break;
            }
            if (rep->type == REDIS_REPLY_ERROR) {
                res.errors++;
                ok = fail("SET %s: the server replied with an error: %.*s", key, (int)rep->len, rep->str);
            } else if (rep->type != REDIS_REPLY_STATUS || rep->len != 2 || memcmp(rep->str, "OK", 2) != 0) {
                ok = fail("SET %s: expected +OK, got a reply of type %d%s%.*s", key, rep->type,
                          rep->str ? ": " : "", rep->str ? (int)rep->len : 0, rep->str ? rep->str : "");
            }
            freeReplyObject(rep);
            if (!ok) break;
        }
        res.keys_loaded += acked;
        res.bytes_loaded = res.keys_loaded * (KEY_LEN + c->value_size);
        atomic_store(&mon.keys_done, res.keys_loaded);
        if (!ok) break;
        progress(r, "load", res.keys_loaded, res.keys_target, t0, &last_done, &last_t);
    }
    res.load_s = now_s() - t0;
    free(val);
    return ok;
}

/* GETs `count` keys chosen by pick() and checks each reply with check(); `sampled` counts them. */
typedef uint64_t (*pick_fn)(uint64_t *rng, uint64_t keys_loaded);
typedef void (*check_fn)(run *r, const char *key, uint64_t h, const redisReply *rep);

static uint64_t pick_loaded(uint64_t *rng, uint64_t keys_loaded) { return splitmix_next(rng) % keys_loaded; }

/* Indices at and above keys_loaded were never written (mix64 is a bijection). */
static uint64_t pick_absent(uint64_t *rng, uint64_t keys_loaded) {
    return keys_loaded + splitmix_next(rng) % (UINT64_C(1) << 62);
}

static void report_error_reply(const char *key, const redisReply *rep) {
    res.errors++;
    if (res.errors <= MAX_REPORTED)
        fprintf(stderr, "memory_ceiling: GET %s: the server replied with an error: %.*s\n", key, (int)rep->len,
                rep->str);
}

static void check_loaded(run *r, const char *key, uint64_t h, const redisReply *rep) {
    size_t vs = r->cfg->value_size;
    if (rep->type == REDIS_REPLY_ERROR) {
        report_error_reply(key, rep);
        return;
    }
    if (rep->type == REDIS_REPLY_NIL) {
        if (++res.missing <= MAX_REPORTED) fprintf(stderr, "memory_ceiling: GET %s: missing (nil)\n", key);
        return;
    }
    make_value(r->expect, vs, h);
    if (rep->type == REDIS_REPLY_STRING && rep->len == vs && memcmp(rep->str, r->expect, vs) == 0) return;
    if (++res.mismatches > MAX_REPORTED) return;
    if (rep->type != REDIS_REPLY_STRING) {
        fprintf(stderr, "memory_ceiling: GET %s: expected a %zu-byte string, got a reply of type %d\n", key, vs,
                rep->type);
        return;
    }
    size_t off = 0;
    while (off < vs && off < rep->len && (uint8_t)rep->str[off] == r->expect[off]) off++;
    fprintf(stderr, "memory_ceiling: GET %s: wrong value: %zu bytes (expected %zu), first difference at byte %zu\n",
            key, rep->len, vs, off);
}

static void check_absent(run *r, const char *key, uint64_t h, const redisReply *rep) {
    (void)r; (void)h;
    if (rep->type == REDIS_REPLY_NIL) return;
    if (rep->type == REDIS_REPLY_ERROR) {
        report_error_reply(key, rep);
        return;
    }
    if (++res.phantoms <= MAX_REPORTED)
        fprintf(stderr, "memory_ceiling: GET %s: never written, yet got a reply of type %d (%zu bytes)\n", key,
                rep->type, rep->len);
}

static bool read_back(run *r, int ph, uint64_t count, uint64_t seed, pick_fn pick, check_fn check,
                      uint64_t *done, double *secs) {
    const config *c = r->cfg;
    char key[KEY_LEN + 1];
    uint64_t rng = seed;
    double t0 = now_s(), last_t = t0;
    uint64_t last_done = 0;
    bool ok = true;
    set_phase(ph);
    r->next_progress = t0 + (double)c->progress_s;
    *done = 0;
    while (ok && *done < count) {
        if (!(ok = arm_timeout(r))) break;
        uint64_t n = count - *done;
        if (n > c->pipeline) n = c->pipeline;
        for (uint64_t j = 0; j < n; j++) {
            r->batch_idx[j] = pick(&rng, res.keys_loaded);
            make_key(key, r->batch_idx[j]);
            if (redisAppendCommand(r->rc, "GET %b", key, (size_t)KEY_LEN) != REDIS_OK) {
                ok = fail("formatting GET %s: %s", key, r->rc->errstr);
                break;
            }
        }
        for (uint64_t j = 0; ok && j < n; j++) {
            uint64_t h = make_key(key, r->batch_idx[j]);
            redisReply *rep = get_reply(r, "GET", key);
            if (!rep) {
                ok = false;
                break;
            }
            check(r, key, h, rep);
            freeReplyObject(rep);
        }
        if (!ok) break;
        *done += n;
        progress(r, phase_names[ph], *done, count, t0, &last_done, &last_t);
    }
    *secs = now_s() - t0;
    return ok;
}

/* ---- the summary ----------------------------------------------------------------------------- */

static void print_bytes(const char *name, uint64_t b) { printf("%s: %" PRIu64 " (%.1f MiB)\n", name, b, mib(b)); }

static double per_s(uint64_t n, double s) { return s > 0 ? (double)n / s : 0; }

static void report(const config *c) {
    uint64_t bound = c->limit + c->limit / 2 + 32 * MiB;
    printf("server: %s:%d pid %ld\n", c->host, c->port, c->pid);
    printf("key_bytes: %zu\nvalue_bytes: %zu\npipeline: %" PRIu64 "\n", (size_t)KEY_LEN, c->value_size, c->pipeline);
    printf("keys_target: %" PRIu64 "\nkeys_loaded: %" PRIu64 "\n", res.keys_target, res.keys_loaded);
    print_bytes("bytes_loaded", res.bytes_loaded);
    printf("load_seconds: %.1f\nload_ops_per_s: %.0f\nload_mib_per_s: %.1f\n", res.load_s,
           per_s(res.keys_loaded, res.load_s), per_s(res.bytes_loaded, res.load_s) / (double)MiB);
    printf("sample_gets: %" PRIu64 "\nsample_ops_per_s: %.0f\n", res.sampled, per_s(res.sampled, res.sample_s));
    printf("absent_gets: %" PRIu64 "\nabsent_ops_per_s: %.0f\n", res.absent_done, per_s(res.absent_done, res.absent_s));
    printf("mismatches: %" PRIu64 "\nmissing: %" PRIu64 "\nphantoms: %" PRIu64 "\nerror_replies: %" PRIu64 "\n",
           res.mismatches, res.missing, res.phantoms, res.errors);
    print_bytes("limit", c->limit);
    print_bytes("bound", bound);
    if (c->pid) {
        printf("rss_samples: %" PRIu64 "\n", (uint64_t)atomic_load(&mon.samples));
        print_bytes("max_vmrss_sampled", atomic_load(&mon.rss_max));
        uint64_t load_max = atomic_load(&mon.rss_max_phase[PH_LOAD]);
        uint64_t reads_max = atomic_load(&mon.rss_max_phase[PH_SAMPLE]);
        uint64_t absent_max = atomic_load(&mon.rss_max_phase[PH_ABSENT]);
        if (absent_max > reads_max) reads_max = absent_max;
        if (load_max) print_bytes("max_vmrss_load", load_max);
        else printf("max_vmrss_load: n/a\n");
        if (reads_max) print_bytes("max_vmrss_reads", reads_max);
        else printf("max_vmrss_reads: n/a\n");
        if (res.hwm_after_load_ok) print_bytes("vmhwm_after_load", res.hwm_after_load);
        else printf("vmhwm_after_load: n/a\n");
        if (res.hwm_end_ok) {
            print_bytes("vmrss_end", res.rss_end);
            print_bytes("peak_rss_vmhwm", res.hwm_end);
        } else {
            printf("vmrss_end: n/a\npeak_rss_vmhwm: n/a\n");
        }
    } else {
        printf("max_vmrss_sampled: n/a\npeak_rss_vmhwm: n/a\n");
    }
    /* The peak is VmHWM when the server is still there to ask, else the largest sample. */
    bool have_peak = c->pid && (res.hwm_end_ok || atomic_load(&mon.samples) > 0);
    uint64_t peak = res.hwm_end_ok ? res.hwm_end : atomic_load(&mon.rss_max);
    if (!have_peak)
        printf("peak_rss_ok: n/a (no --pid, or the server's RSS could not be read)\n");
    else
        printf("peak_rss_ok: %s (%.1f MiB %s %.1f MiB%s)\n", peak < bound ? "yes" : "NO", mib(peak),
               peak < bound ? "<" : ">=", mib(bound), res.hwm_end_ok ? "" : "; largest sample, VmHWM unavailable");
    if (res.fail[0]) printf("result: FAILED (%s)\n", res.fail);
    else printf("result: ok\n");
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    config c;
    parse_args(argc, argv, &c);
    uint64_t per_key = KEY_LEN + c.value_size;
    res.keys_target = (c.bytes + per_key - 1) / per_key;

    run r = {.cfg = &c, .deadline = now_s() + (double)c.timeout_s};
    r.expect = malloc(c.value_size);
    r.batch_idx = malloc(c.pipeline * sizeof *r.batch_idx);
    if (!r.expect || !r.batch_idx) {
        fprintf(stderr, "memory_ceiling: out of memory\n");
        return 1;
    }

    mon.pid = c.pid;
    mon.t0 = now_s();
    pthread_t tid;
    bool sampling = false;
    if (c.pid) {
        uint64_t rss, hwm;
        if (!read_status(c.pid, &rss, &hwm)) {
            fprintf(stderr,
                    "memory_ceiling: cannot read VmRSS and VmHWM from /proc/%ld/status: is %ld the server's pid?\n",
                    c.pid, c.pid);
            return 1;
        }
        if (c.rss_csv) {
            if (!(mon.csv = fopen(c.rss_csv, "w"))) {
                fprintf(stderr, "memory_ceiling: cannot create %s: %s\n", c.rss_csv, strerror(errno));
                return 1;
            }
            fprintf(mon.csv, "t_s,phase,keys_done,vmrss_bytes\n");
        }
        int e = pthread_create(&tid, NULL, sampler, NULL);
        if (e) {
            fprintf(stderr, "memory_ceiling: cannot start the RSS sampler: %s\n", strerror(e));
            return 1;
        }
        sampling = true;
    }

    fprintf(stderr,
            "memory_ceiling: %s:%d pid %ld: loading %.1f MiB (%" PRIu64 " keys of %zu + %zu bytes), pipeline %" PRIu64
            ", then %" PRIu64 " + %" PRIu64 " GETs; bound %.1f MiB\n",
            c.host, c.port, c.pid, mib(c.bytes), res.keys_target, (size_t)KEY_LEN, c.value_size, c.pipeline,
            c.sample, c.absent, mib(c.limit + c.limit / 2 + 32 * MiB));

    struct timeval ctv = {CONNECT_TIMEOUT_S, 0};
    r.rc = redisConnectWithTimeout(c.host, c.port, ctv);
    if (!r.rc || r.rc->err) {
        fail("cannot connect to %s:%d: %s", c.host, c.port, r.rc ? r.rc->errstr : "out of memory");
    } else if (arm_timeout(&r)) {
        redisReply *rep = redisCommand(r.rc, "PING");
        if (!rep) fail("PING %s:%d: %s", c.host, c.port, r.rc->errstr);
        else if (rep->type == REDIS_REPLY_ERROR)
            fail("PING: the server replied with an error: %.*s", (int)rep->len, rep->str);
        else if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "PONG"))
            fail("PING: expected +PONG, got a reply of type %d", rep->type);
        freeReplyObject(rep);
    }

    r.next_progress = now_s() + (double)c.progress_s;
    if (!res.fail[0] && load(&r)) {
        uint64_t rss;
        res.hwm_after_load_ok = c.pid && read_status(c.pid, &rss, &res.hwm_after_load);
        fprintf(stderr, "memory_ceiling: loaded %" PRIu64 " keys (%.1f MiB) in %.1f s, %.0f ops/s\n", res.keys_loaded,
                mib(res.bytes_loaded), res.load_s, per_s(res.keys_loaded, res.load_s));
        if (c.sample && res.keys_loaded)
            read_back(&r, PH_SAMPLE, c.sample, c.seed, pick_loaded, check_loaded, &res.sampled, &res.sample_s);
        if (!res.fail[0] && c.absent)
            read_back(&r, PH_ABSENT, c.absent, c.seed ^ UINT64_C(0xab5e47), pick_absent, check_absent,
                      &res.absent_done, &res.absent_s);
    }
    set_phase(PH_DONE);
    if (sampling) {
        atomic_store(&mon.stop, true);
        pthread_join(tid, NULL);
        res.hwm_end_ok = read_status(c.pid, &res.rss_end, &res.hwm_end);
        if (mon.csv && fclose(mon.csv) != 0) fprintf(stderr, "memory_ceiling: writing %s failed\n", c.rss_csv);
    }
    if (r.rc) redisFree(r.rc);
    free(r.expect);
    free(r.batch_idx);

    if (!res.fail[0] && (res.mismatches || res.missing || res.phantoms || res.errors))
        fail("%" PRIu64 " wrong values, %" PRIu64 " missing, %" PRIu64 " phantom (never written) values, %" PRIu64
             " error replies",
             res.mismatches, res.missing, res.phantoms, res.errors);
    if (!res.fail[0] && res.sampled < c.sample)
        fail("only %" PRIu64 " of %" PRIu64 " sample GETs ran", res.sampled, c.sample);
    report(&c);
    return res.fail[0] ? 1 : 0;
}
