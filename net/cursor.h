/* cursor.h -- the numbers SCAN, HSCAN, SSCAN and ZSCAN hand out as cursors. Strata's keyspace and
 * collections are ordered, so "where to resume" is a byte string (a key, or a collection's key and
 * element), but clients need a number. A process-wide ring of the most recent CURSOR_SLOTS resume
 * tokens maps a cursor id (base + seq, base random per process so a stale id from an earlier run
 * is rejected, not misread) to its token and namespace. Tokens past CURSOR_BYTES in all are
 * evicted oldest first; an evicted, foreign or unknown id is the caller's "ERR invalid cursor".
 * Thread-safety: every function may be called from any thread (one mutex guards the ring). */
#ifndef STRATA_NET_CURSOR_H
#define STRATA_NET_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

/* Remembers token as the resume point of a new cursor in ns; returns its id (never 0, below
 * 2^62), or 0 on ENOMEM. */
uint64_t cursor_put(ks_ns ns, const uint8_t *token, size_t len);
/* The token of cursor id in ns: 0 with *token malloc'ed (caller frees), -1 if the id is unknown,
 * evicted or another namespace's, KS_ENOMEM. */
int cursor_get(uint64_t id, ks_ns ns, uint8_t **token, size_t *len);
/* What Redis's strtoul-based parseScanCursorOrReply accepts: "" (0), an optional sign, decimal
 * digits (leading zeros too) in range; a negative value wraps modulo 2^64 as strtoul's does. */
bool cursor_parse(const uint8_t *p, size_t n, uint64_t *out);

/* Random numbers for cursors and random picks (RANDOMKEY, HRANDFIELD, SPOP, ...): a seed that
 * differs between threads, calls and processes, and the splitmix64 step. Not cryptographic. */
uint64_t cursor_seed(void);
uint64_t cursor_splitmix64(uint64_t *state);

#endif
