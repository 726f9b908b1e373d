/* cmdstats.c -- see cmdstats.h. Bucket b of a histogram covers:
 *   b < 64:                the value b ns exactly;
 *   b = 64 + 32 (e - 6) + s (e >= 6, 0 <= s < 32): [(32 + s) << (e - 5), (33 + s) << (e - 5)) ns,
 * e being the index of the value's top bit; e stops at MAX_EXP (values above go in the last
 * bucket: 2^46 ns is 19 hours). */
#include "cmdstats.h"

#include <stdatomic.h>
#include <stdlib.h>

#define MAX_EXP 45
#define N_BUCKETS (64 + 32 * (MAX_EXP - 6 + 1))

typedef struct cmdstat {
    _Atomic uint64_t calls, ns, rejected, failed;
    _Atomic(_Atomic uint32_t *) hist; /* N_BUCKETS counters, or NULL */
} cmdstat;

struct cmdstats {
    size_t n;
    cmdstat s[];
};

cmdstats *cmdstats_new(size_t n) {
    cmdstats *cs = calloc(1, sizeof *cs + n * sizeof cs->s[0]);
    if (cs) cs->n = n;
    return cs;
}

void cmdstats_free(cmdstats *cs) {
    if (!cs) return;
    for (size_t i = 0; i < cs->n; i++) free((void *)atomic_load(&cs->s[i].hist));
    free(cs);
}

/* One writer: load + store, no locked instruction. */
static void bump(_Atomic uint64_t *c, uint64_t by) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by, memory_order_relaxed);
}

static size_t bucket_of(uint64_t v) {
    if (v < 64) return (size_t)v;
    int e = 63 - __builtin_clzll(v);
    if (e > MAX_EXP) return N_BUCKETS - 1;
    return 64 + 32 * (size_t)(e - 6) + (size_t)((v >> (e - 5)) & 31);
}

/* The middle of bucket b, in ns. */
static double bucket_mid(size_t b) {
    if (b < 64) return (double)b;
    size_t e = (b - 64) / 32 + 6, s = (b - 64) % 32;
    double lo = (double)((32 + s) << (e - 5)), width = (double)(1ull << (e - 5));
    return lo + width / 2;
}

void cmdstats_record(cmdstats *cs, size_t idx, uint64_t ns, bool failed) {
    if (!cs || idx >= cs->n) return;
    cmdstat *s = &cs->s[idx];
    bump(&s->calls, 1);
    bump(&s->ns, ns);
    if (failed) bump(&s->failed, 1);
    _Atomic uint32_t *h = atomic_load_explicit(&s->hist, memory_order_acquire);
    if (!h) {
        h = calloc(N_BUCKETS, sizeof *h);
        if (!h) return;
        atomic_store_explicit(&s->hist, h, memory_order_release); /* readers see zeroed counters */
    }
    _Atomic uint32_t *c = &h[bucket_of(ns)];
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

void cmdstats_reject(cmdstats *cs, size_t idx) {
    if (cs && idx < cs->n) bump(&cs->s[idx].rejected, 1);
}

void cmdstats_reset(cmdstats *cs) {
    if (!cs) return;
    for (size_t i = 0; i < cs->n; i++) {
        cmdstat *s = &cs->s[i];
        atomic_store_explicit(&s->calls, 0, memory_order_relaxed);
        atomic_store_explicit(&s->ns, 0, memory_order_relaxed);
        atomic_store_explicit(&s->rejected, 0, memory_order_relaxed);
        atomic_store_explicit(&s->failed, 0, memory_order_relaxed);
        _Atomic uint32_t *h = atomic_load_explicit(&s->hist, memory_order_acquire);
        for (size_t b = 0; h && b < N_BUCKETS; b++) atomic_store_explicit(&h[b], 0, memory_order_relaxed);
    }
}

void cmdstats_sum(cmdstats *const *all, size_t n, size_t idx, cmdstat_sum *out) {
    *out = (cmdstat_sum){0};
    for (size_t w = 0; w < n; w++) {
        if (!all[w] || idx >= all[w]->n) continue;
        const cmdstat *s = &all[w]->s[idx];
        out->calls += atomic_load_explicit(&s->calls, memory_order_relaxed);
        out->ns += atomic_load_explicit(&s->ns, memory_order_relaxed);
        out->rejected += atomic_load_explicit(&s->rejected, memory_order_relaxed);
        out->failed += atomic_load_explicit(&s->failed, memory_order_relaxed);
    }
}

uint64_t cmdstats_pow2_us(cmdstats *const *all, size_t n, size_t idx, uint64_t counts[64]) {
    for (int b = 0; b < 64; b++) counts[b] = 0;
    uint64_t total = 0;
    for (size_t w = 0; w < n; w++) {
        if (!all[w] || idx >= all[w]->n) continue;
        _Atomic uint32_t *h = atomic_load_explicit(&all[w]->s[idx].hist, memory_order_acquire);
        for (size_t b = 0; h && b < N_BUCKETS; b++) {
            uint32_t c = atomic_load_explicit(&h[b], memory_order_relaxed);
            if (!c) continue;
            double us = bucket_mid(b) / 1000.0;
            int p = 0;
            while (p < 63 && (double)(1ull << p) < us) p++;
            counts[p] += c;
            total += c;
        }
    }
    return total;
}

bool cmdstats_percentiles(cmdstats *const *all, size_t n, size_t idx, const double *p, size_t np, double *us) {
    uint32_t *merged = calloc(N_BUCKETS, sizeof *merged);
    if (!merged) return false;
    uint64_t total = 0;
    for (size_t w = 0; w < n; w++) {
        if (!all[w] || idx >= all[w]->n) continue;
        _Atomic uint32_t *h = atomic_load_explicit(&all[w]->s[idx].hist, memory_order_acquire);
        for (size_t b = 0; h && b < N_BUCKETS; b++) {
            uint32_t c = atomic_load_explicit(&h[b], memory_order_relaxed);
            merged[b] += c;
            total += c;
        }
    }
    if (total == 0) {
        free(merged);
        return false;
    }
    for (size_t i = 0; i < np; i++) {
        /* the smallest value with at least p% of the calls at or below it (HdrHistogram's rule) */
        double want = p[i] / 100.0 * (double)total;
        uint64_t need = want < 1 ? 1 : (uint64_t)(want + 0.999999);
        if (need > total) need = total;
        uint64_t seen = 0;
        size_t b = 0;
        for (; b < N_BUCKETS; b++) {
            seen += merged[b];
            if (seen >= need) break;
        }
        us[i] = bucket_mid(b < N_BUCKETS ? b : N_BUCKETS - 1) / 1000.0;
    }
    free(merged);
    return true;
}
