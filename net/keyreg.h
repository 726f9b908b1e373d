/* keyreg.h -- a registry of (namespace, key) -> connection entries, shared by WATCH (watch.c) and
 * blocked clients (block.c): who waits on, or watches, which key.
 *
 * A hash table of entries under one mutex, each entry also on its connection's own list (which
 * only that connection's worker touches), plus a count so that the writers' lookups skip the
 * mutex while the registry is empty. Entries are chained both ways in their bucket, so removing
 * a connection's entries is O(its entries).
 * Thread-safety: add, remove and the visits may run on any worker; visitors run under the mutex
 * and must not call back into the registry. */
#ifndef STRATA_NET_KEYREG_H
#define STRATA_NET_KEYREG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

typedef struct conn conn;

typedef struct keyreg_ent {
    ks_ns ns;
    uint8_t *key;
    size_t klen;
    int64_t data; /* the owner's (WATCH: the key's expiry when watched) */
    conn *c;
    uint32_t bucket;
    struct keyreg_ent *bnext, *bprev; /* bucket chain, under the mutex */
    struct keyreg_ent *cnext;         /* the connection's list */
} keyreg_ent;

typedef struct keyreg keyreg;

int keyreg_new(keyreg **out);
void keyreg_free(keyreg *r); /* NULL-safe; every list must have been removed */

/* Adds an entry for c to the registry and to the list *list. 0 or KS_ENOMEM. */
int keyreg_add(keyreg *r, keyreg_ent **list, conn *c, ks_ns ns, const uint8_t *key, size_t klen, int64_t data);
/* Removes and frees every entry of *list (empties it). */
void keyreg_remove_all(keyreg *r, keyreg_ent **list);
/* Calls fn for every entry of key in ns, under the mutex. No-op while the registry is empty. */
typedef void (*keyreg_fn)(void *arg, keyreg_ent *e);
void keyreg_visit_key(keyreg *r, ks_ns ns, const uint8_t *key, size_t klen, keyreg_fn fn, void *arg);
/* Calls fn for every entry of the tenant ns.tenant (all_dbs) or of ns, under the mutex. */
void keyreg_visit_ns(keyreg *r, ks_ns ns, bool all_dbs, keyreg_fn fn, void *arg);
/* Whether e is for key in ns. */
bool keyreg_same(const keyreg_ent *e, ks_ns ns, const uint8_t *key, size_t klen);

#endif
