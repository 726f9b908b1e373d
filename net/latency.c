/* latency.c -- the latency monitor (latency.h): a small array of events, each a ring of samples.
 *
 * The ring of an event is samples[LATENCY_TS_LEN] with `idx` the slot the next new second goes
 * to; a slot with time_s == 0 is empty. L1 (one sample per second, keeping the larger) is checked
 * against the newest slot only: samples arrive in time order under the mutex, up to a clock step
 * backwards, which then simply starts a new slot. Reports (DOCTOR, GRAPH) are built under the
 * mutex from the samples and returned as malloc'ed text, so the reply is written without it. */
#include "latency.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct event {
    char name[LATENCY_NAME_MAX];
    int idx;
    int64_t max_ms;
    latency_sample samples[LATENCY_TS_LEN];
} event;

struct latency_mon {
    pthread_mutex_t mu;
    size_t n;                       /* events[0, n) are in use, in creation order */
    event *events[LATENCY_MAX_EVENTS];
};

int latency_new(latency_mon **out) {
    latency_mon *l = calloc(1, sizeof *l);
    *out = l;
    if (!l) return -1;
    pthread_mutex_init(&l->mu, NULL);
    return 0;
}

void latency_free(latency_mon *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->events[i]);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* REQUIRES: l->mu held. */
static event *find(latency_mon *l, const char *name, size_t len) {
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->events[i]->name) == len && memcmp(l->events[i]->name, name, len) == 0) return l->events[i];
    return NULL;
}

void latency_add_at(latency_mon *l, const char *name, int64_t ms, int64_t now_s) {
    size_t len = strlen(name);
    if (len >= LATENCY_NAME_MAX || ms < 0) return;
    pthread_mutex_lock(&l->mu);
    event *e = find(l, name, len);
    if (!e && l->n < LATENCY_MAX_EVENTS && (e = calloc(1, sizeof *e))) {
        memcpy(e->name, name, len + 1);
        l->events[l->n++] = e;
    }
    if (e) {
        if (ms > e->max_ms) e->max_ms = ms;
        latency_sample *prev = &e->samples[(e->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        if (prev->time_s == now_s) { /* L1 */
            if (ms > prev->ms) prev->ms = ms;
        } else {
            e->samples[e->idx] = (latency_sample){now_s, ms};
            e->idx = (e->idx + 1) % LATENCY_TS_LEN;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

void latency_add(latency_mon *l, const char *name, int64_t ms) { latency_add_at(l, name, ms, (int64_t)time(NULL)); }

size_t latency_reset(latency_mon *l, const char *name, size_t len) {
    size_t resets = 0;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n;) {
        event *e = l->events[i];
        if (name && !(strlen(e->name) == len && strncasecmp(e->name, name, len) == 0)) {
            i++;
            continue;
        }
        free(e);
        memmove(&l->events[i], &l->events[i + 1], (l->n - i - 1) * sizeof *l->events);
        l->n--;
        resets++;
    }
    pthread_mutex_unlock(&l->mu);
    return resets;
}

size_t latency_latest_all(latency_mon *l, latency_latest *out, size_t cap) {
    pthread_mutex_lock(&l->mu);
    size_t n = l->n < cap ? l->n : cap;
    for (size_t i = 0; i < n; i++) {
        const event *e = l->events[i];
        const latency_sample *last = &e->samples[(e->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        memcpy(out[i].name, e->name, sizeof out[i].name);
        out[i].time_s = last->time_s;
        out[i].ms = last->ms;
        out[i].max_ms = e->max_ms;
    }
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* The samples of e, oldest first. REQUIRES: l->mu held. */
static int samples_of(const event *e, latency_sample *out) {
    int n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample *s = &e->samples[(e->idx + j) % LATENCY_TS_LEN];
        if (s->time_s) out[n++] = *s;
    }
    return n;
}

int latency_history(latency_mon *l, const char *name, size_t len, latency_sample *out) {
    pthread_mutex_lock(&l->mu);
    event *e = find(l, name, len);
    int n = e ? samples_of(e, out) : -1;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* ---- reports -------------------------------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...) {
    for (int attempt = 0; attempt < 2 && !t->failed; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if (t->p && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = true;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
}

static char *text_done(text *t) {
    if (t->failed || !t->p) {
        free(t->p);
        return t->failed ? NULL : strdup("");
    }
    return t->p;
}

typedef struct stats {
    int samples;
    int64_t avg, mad, min, max, period_s;
} stats;

/* Redis's analyzeLatencyForEvent: average, mean absolute deviation, and the span from the
 * oldest sample to now. REQUIRES: l->mu held. */
static stats analyze(const event *e, int64_t now_s) {
    stats s = {0};
    int64_t sum = 0, oldest = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample *x = &e->samples[j];
        if (!x->time_s) continue;
        if (s.samples++ == 0 || x->ms < s.min) s.min = x->ms;
        if (x->ms > s.max) s.max = x->ms;
        sum += x->ms;
        if (!oldest || x->time_s < oldest) oldest = x->time_s;
    }
    if (!s.samples) return s;
    s.avg = sum / s.samples;
    s.period_s = now_s - oldest > 0 ? now_s - oldest : 1;
    int64_t dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const latency_sample *x = &e->samples[j];
        if (x->time_s) dev += x->ms > s.avg ? x->ms - s.avg : s.avg - x->ms;
    }
    s.mad = dev / s.samples;
    return s;
}

char *latency_doctor(latency_mon *l, const latency_doctor_ctx *ctx, int64_t now_s) {
    text t = {0};
    pthread_mutex_lock(&l->mu);
    if (l->n == 0) {
        pthread_mutex_unlock(&l->mu);
        if (ctx->threshold_ms <= 0)
            put(&t, "Latency monitoring is disabled. Use \"CONFIG SET latency-monitor-threshold <milliseconds>\" to "
                    "record every event at least that long (events: command, fast-command, fsync, "
                    "compaction-stall).\n");
        else
            put(&t, "No latency spike of %lld ms or more was observed since the monitor was enabled or last reset.\n",
                (long long)ctx->threshold_ms);
        return text_done(&t);
    }
    bool adv_command = false, adv_fast = false, adv_fsync = false, adv_stall = false;
    put(&t, "Latency spikes were observed (threshold %lld ms):\n\n", (long long)ctx->threshold_ms);
    for (size_t i = 0; i < l->n; i++) {
        const event *e = l->events[i];
        stats s = analyze(e, now_s);
        put(&t,
            "%zu. %s: %d latency spikes (average %lldms, mean deviation %lldms, period %.2f sec). Worst all time "
            "event %lldms.\n",
            i + 1, e->name, s.samples, (long long)s.avg, (long long)s.mad,
            s.samples ? (double)s.period_s / s.samples : 0.0, (long long)e->max_ms);
        if (!strcmp(e->name, "command")) adv_command = true;
        else if (!strcmp(e->name, "fast-command")) adv_fast = true;
        else if (!strcmp(e->name, "fsync")) adv_fsync = true;
        else if (!strcmp(e->name, "compaction-stall")) adv_stall = true;
    }
    pthread_mutex_unlock(&l->mu);
    put(&t, "\nAdvice:\n\n");
    if (adv_command) {
        if (ctx->slowlog_us < 0)
            put(&t, "- The slow log is off: enable it with 'CONFIG SET slowlog-log-slower-than %lld' to see which "
                    "commands are slow.\n", (long long)ctx->threshold_ms * 1000);
        else if (ctx->slowlog_us / 1000 > ctx->threshold_ms)
            put(&t, "- The slow log only logs commands slower than the latency threshold's events: use 'CONFIG SET "
                    "slowlog-log-slower-than %lld'.\n", (long long)ctx->threshold_ms * 1000);
        put(&t, "- Check SLOWLOG GET for the slow commands. KEYS, SCAN with a large COUNT, commands over whole large "
                "collections (HGETALL, SMEMBERS, LRANGE 0 -1, ZRANGE, set operations), DEL of a large collection, "
                "COMPACT and DEBUG SLEEP hold their worker and every client on it.\n");
    }
    if (adv_fast)
        put(&t, "- Constant-time commands took long: the worker did not get the CPU (host load, other processes, "
                "flushes and compactions competing for the cores, a virtual machine's steal time).\n");
    if (adv_fsync) {
        put(&t, "- Group commits were slow (the WAL write, and its fdatasync under appendfsync always): check the "
                "disk's latency and what else uses it, and keep the data directory (dir, which holds the WAL) on a "
                "local SSD.\n");
        if (ctx->fsync_always)
            put(&t, "- appendfsync is always: every write waits for an fdatasync. appendfsync everysec trades up to "
                    "a second of writes on a crash for lower latency.\n");
    }
    if (adv_stall)
        put(&t, "- Writes were delayed or stopped because compaction fell behind (INFO storage: "
                "engine_write_stall_micros, level0_files, compaction_pending_bytes). A faster disk for the upper "
                "levels' tier, a larger write_buffer, or higher level0_slowdown_writes_trigger and "
                "level0_stop_writes_trigger help; a write rate above what compaction sustains is paced on "
                "purpose.\n");
    if (!adv_command && !adv_fast && !adv_fsync && !adv_stall)
        put(&t, "- No advice for these events.\n");
    return text_done(&t);
}

#define GRAPH_COLS 80
#define GRAPH_ROWS 4
#define GRAPH_LABEL_MAX 24

/* How long ago, as Redis labels it: "12s", "5m", "3h", "2d". */
static void age_label(int64_t age_s, char *out, size_t n) {
    if (age_s < 0) age_s = 0;
    if (age_s < 60) snprintf(out, n, "%llds", (long long)age_s);
    else if (age_s < 3600) snprintf(out, n, "%lldm", (long long)(age_s / 60));
    else if (age_s < 86400) snprintf(out, n, "%lldh", (long long)(age_s / 3600));
    else snprintf(out, n, "%lldd", (long long)(age_s / 86400));
}

char *latency_graph(latency_mon *l, const char *name, size_t len, int64_t now_s, bool *missing) {
    latency_sample s[LATENCY_TS_LEN];
    char ename[LATENCY_NAME_MAX];
    pthread_mutex_lock(&l->mu);
    event *e = find(l, name, len);
    int n = e ? samples_of(e, s) : 0;
    int64_t all_time = e ? e->max_ms : 0;
    if (e) memcpy(ename, e->name, sizeof ename);
    pthread_mutex_unlock(&l->mu);
    *missing = e == NULL;
    if (!e) return NULL;
    int64_t lo = n ? s[0].ms : 0, hi = lo;
    for (int i = 1; i < n; i++) {
        if (s[i].ms < lo) lo = s[i].ms;
        if (s[i].ms > hi) hi = s[i].ms;
    }
    text t = {0};
    put(&t, "%s - high %lld ms, low %lld ms (all time high %lld ms)\n", ename, (long long)hi, (long long)lo,
        (long long)all_time);
    for (int i = 0; i < GRAPH_COLS; i++) put(&t, "-");
    put(&t, "\n");
    /* Each column's height is a level 0..3*ROWS-1 between low and high: the row it reaches
     * (level / 3) shows '_', '-' or '`' (level % 3), the rows below it are filled with '|'. */
    static const char marks[] = "_-`";
    const int levels = 3 * GRAPH_ROWS;
    for (int from = 0; from < n; from += GRAPH_COLS) {
        int cols = n - from < GRAPH_COLS ? n - from : GRAPH_COLS;
        char line[GRAPH_COLS + 1], labels[GRAPH_COLS][GRAPH_LABEL_MAX];
        int label_rows = 0;
        for (int c = 0; c < cols; c++) {
            age_label(now_s - s[from + c].time_s, labels[c], sizeof labels[c]);
            int w = (int)strlen(labels[c]);
            if (w > label_rows) label_rows = w;
        }
        for (int row = GRAPH_ROWS - 1; row >= 0; row--) {
            for (int c = 0; c < cols; c++) {
                int64_t v = s[from + c].ms;
                int level = hi > lo ? (int)((v - lo) * (levels - 1) / (hi - lo)) : 0;
                int top = level / 3;
                line[c] = row == top ? marks[level % 3] : row < top ? '|' : ' ';
            }
            line[cols] = 0;
            put(&t, "%s\n", line);
        }
        for (int r = 0; r < label_rows; r++) {
            for (int c = 0; c < cols; c++) line[c] = r < (int)strlen(labels[c]) ? labels[c][r] : ' ';
            line[cols] = 0;
            put(&t, "%s\n", line);
        }
        if (from + GRAPH_COLS < n) put(&t, "\n");
    }
    return text_done(&t);
}
