/* block.h -- clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP): who waits for
 * which key, and waking them when the key is written.
 *
 * A blocking command that finds nothing registers its connection here while it still holds its
 * keys' stripe locks, and the connection is parked (conn.c: reading off, the command kept). Every
 * write signals the keys it wrote (cmd_write, while the writer holds their locks), so a write
 * either came before the registration (the command saw it) or finds the registration. A signal
 * posts a task to the blocked connection's worker, which runs the command again: it pops, or
 * finds the key empty again (another client was first) and blocks again, with its original
 * deadline. The task finds the connection by id, so a connection closed meanwhile is skipped.
 * Thread-safety: registrations and signals come from any worker; the table is a keyreg
 * (keyreg.h: one mutex, skipped by writes while nobody is blocked). */
#ifndef STRATA_NET_BLOCK_H
#define STRATA_NET_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

typedef struct block_reg block_reg;
typedef struct conn conn;

int block_reg_new(block_reg **out);
void block_reg_free(block_reg *r); /* NULL-safe; nobody may be blocked */

/* c waits for any of the n keys in ns. Call holding the keys' stripe locks. 0 or KS_ENOMEM. */
int block_add(block_reg *r, conn *c, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens);
/* Drops c's registrations (on c's worker). */
void block_remove(block_reg *r, conn *c);
/* key was written: wakes whoever waits for it. */
void block_signal(block_reg *r, ks_ns ns, const uint8_t *key, size_t klen);

#endif
