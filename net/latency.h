/* latency.h -- the latency monitor (Redis's latency.c): per event name, a history of latency
 * spikes at least latency_monitor_threshold ms long, for LATENCY LATEST / HISTORY / RESET /
 * DOCTOR / GRAPH.
 *
 * Events the server records (net/conn.c, net/server.c; docs/COMPATIBILITY notes in
 * COMPAT-NOTES.md): "command" and "fast-command" (a command's execution, CMD_FAST ones under the
 * second name, as Redis), "fsync" (a worker's or the syncer's group commit: the WAL write, and
 * the fdatasync under appendfsync always), "compaction-stall" (time writers were delayed or
 * stopped by compaction during one cron interval).
 *
 * Per event: a ring of LATENCY_TS_LEN samples (time in s, latency in ms), oldest overwritten
 * first, plus the all-time maximum. At most one sample per second: a second one in the same
 * second keeps the larger latency (L1). Events are created on first use, at most
 * LATENCY_MAX_EVENTS of them (later names are dropped); names are at most LATENCY_NAME_MAX - 1
 * bytes. RESET deletes events.
 *
 * Thread-safety: every function may be called from any thread; one mutex guards the whole
 * monitor (samples are rare: only spikes past the threshold are added). */
#ifndef STRATA_NET_LATENCY_H
#define STRATA_NET_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LATENCY_TS_LEN 160     /* samples kept per event, as Redis */
#define LATENCY_MAX_EVENTS 16
#define LATENCY_NAME_MAX 32

typedef struct latency_mon latency_mon;

typedef struct latency_sample {
    int64_t time_s;  /* unix time of the second it happened in */
    int64_t ms;      /* the largest latency seen in that second */
} latency_sample;

typedef struct latency_latest {
    char name[LATENCY_NAME_MAX];
    int64_t time_s, ms; /* the newest sample */
    int64_t max_ms;     /* all-time maximum (since the event was created or reset) */
} latency_latest;

/* What LATENCY DOCTOR's advice depends on besides the samples. */
typedef struct latency_doctor_ctx {
    int64_t threshold_ms;     /* latency_monitor_threshold */
    int64_t slowlog_us;       /* slowlog_log_slower_than (negative: off) */
    bool fsync_always;        /* appendfsync always */
} latency_doctor_ctx;

/* 0, or -1 on out of memory (*out NULL). Release with latency_free (NULL-safe). */
int latency_new(latency_mon **out);
void latency_free(latency_mon *l);

/* Adds a sample of ms milliseconds for event at unix second now_s (L1). Out of room for a new
 * event: dropped. */
void latency_add_at(latency_mon *l, const char *event, int64_t ms, int64_t now_s);
/* latency_add_at with the current time. */
void latency_add(latency_mon *l, const char *event, int64_t ms);

/* Deletes event (name of len bytes, case-insensitive as Redis), or every event when name is NULL.
 * Returns how many were deleted. */
size_t latency_reset(latency_mon *l, const char *name, size_t len);

/* Fills out[0..cap) with every event's newest sample, in creation order; returns the count. */
size_t latency_latest_all(latency_mon *l, latency_latest *out, size_t cap);

/* The samples of event (exact name), oldest first, into out (room for LATENCY_TS_LEN). Returns
 * the count, or -1 when no such event exists. */
int latency_history(latency_mon *l, const char *name, size_t len, latency_sample *out);

/* LATENCY DOCTOR's report (malloc'ed, NUL-terminated; NULL on out of memory), as of now_s. */
char *latency_doctor(latency_mon *l, const latency_doctor_ctx *ctx, int64_t now_s);

/* LATENCY GRAPH's ASCII graph of event (malloc'ed; NULL when no such event or out of memory:
 * *missing says which), as of now_s: a header with the high, low and all-time high, then one
 * column per sample, oldest left, 4 rows high, each labelled below with how long ago it was. */
char *latency_graph(latency_mon *l, const char *name, size_t len, int64_t now_s, bool *missing);

#endif
