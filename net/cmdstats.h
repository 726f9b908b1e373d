/* cmdstats.h -- per-command statistics: INFO commandstats (calls, time, rejected and failed calls)
 * and INFO latencystats (latency percentiles), as Redis 7 reports them.
 *
 * Each worker owns one table and is its only writer (its commands run on its thread), so a
 * record is a few relaxed loads and stores, no atomic read-modify-write and no lock. INFO sums the
 * workers' tables from any thread with relaxed loads: a sum may miss the commands of the last
 * instant, never shows a torn counter. Latencies go into a log-linear histogram per command (32
 * buckets per power of two from 64 ns: within 3% of the true value, as HdrHistogram with two
 * significant digits, which Redis uses), allocated at the command's first call so unused commands
 * cost a pointer. A reset (CONFIG RESETSTAT) from another thread races with the owner's records
 * of that instant: those may survive the reset. */
#ifndef STRATA_NET_CMDSTATS_H
#define STRATA_NET_CMDSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cmdstats cmdstats;

/* A table for n commands (cmd_count()), or NULL without memory. Freed with cmdstats_free. */
cmdstats *cmdstats_new(size_t n);
void cmdstats_free(cmdstats *cs); /* NULL-safe */

/* Command idx ran and took ns nanoseconds; failed: it replied with an error. Owner thread only.
 * Without memory for the histogram, the calls are counted and the latency is not. */
void cmdstats_record(cmdstats *cs, size_t idx, uint64_t ns, bool failed);
/* Command idx was refused before it ran (arity, NOPERM, NOAUTH, MISCONF, quota). Owner only. */
void cmdstats_reject(cmdstats *cs, size_t idx);
void cmdstats_reset(cmdstats *cs);

typedef struct cmdstat_sum {
    uint64_t calls, ns, rejected, failed;
} cmdstat_sum;

/* Sums command idx over n tables (NULL entries are skipped). */
void cmdstats_sum(cmdstats *const *all, size_t n, size_t idx, cmdstat_sum *out);
/* The latency below which p percent of command idx's calls fell, for each of np percentiles (0..100),
 * in microseconds, over n tables. False when it has no recorded latency. */
bool cmdstats_percentiles(cmdstats *const *all, size_t n, size_t idx, const double *p, size_t np, double *us);

/* Command idx's latencies over n tables in power-of-two microsecond buckets, as Redis's LATENCY
 * HISTOGRAM reports them: counts[b] calls took at most 2^b us (and more than 2^(b-1)), b < 64.
 * Returns the number of calls counted (0: none recorded). */
uint64_t cmdstats_pow2_us(cmdstats *const *all, size_t n, size_t idx, uint64_t counts[64]);

#endif
