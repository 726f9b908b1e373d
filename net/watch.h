/* watch.h -- WATCH: which connections watch which keys, and marking them dirty when a key changes.
 *
 * A registry per server (a keyreg, keyreg.h: a hash table of (namespace, key) -> watching
 * connections under one mutex, skipped entirely while nobody watches anything). A write marks
 * every watcher of its keys dirty (watch_touch) after the engine took it and before its stripe
 * locks are released (cmd_write does it); EXEC takes the stripe locks of its watched keys before it
 * looks at its dirty flag. So a write either happens-before EXEC's check, and is seen, or waits for
 * EXEC to finish: no acknowledged change of a watched key slips past an EXEC that then commits.
 * Thread-safety: every function may be called from any worker. */
#ifndef STRATA_NET_WATCH_H
#define STRATA_NET_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyspace.h"

typedef struct watch_reg watch_reg;
typedef struct conn conn;

int watch_reg_new(watch_reg **out);
void watch_reg_free(watch_reg *r); /* NULL-safe; every connection must have been unwatched */

/* c watches key in ns (again: no-op). expire_ms is the key's expiry at WATCH time (0: none or
 * missing), for EXEC's "expired since WATCH" check. 0 or KS_ENOMEM. */
int watch_add(watch_reg *r, conn *c, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms);
/* Forgets every key c watches and clears its dirty flag. */
void watch_unwatch_all(watch_reg *r, conn *c);
/* Marks the watchers of key dirty. */
void watch_touch(watch_reg *r, ks_ns ns, const uint8_t *key, size_t klen);
/* FLUSHDB, FLUSHALL: marks dirty every watcher of a key in ns (all_dbs: in any database of
 * ns.tenant) for which exists() says the key exists (exists NULL: every one), as Redis touches only
 * the keys a flush really removes. Call before the flush, holding every stripe lock. */
typedef bool (*watch_exists_fn)(void *arg, ks_ns ns, const uint8_t *key, size_t klen);
void watch_touch_ns(watch_reg *r, ks_ns ns, bool all_dbs, watch_exists_fn exists, void *arg);

/* What c watches, for EXEC: calls fn for each key (with its WATCH-time expiry); stops when fn
 * returns non-zero. Only c's own worker calls this (c's list changes only on that thread). */
typedef int (*watch_fn)(void *arg, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms);
int watch_each(watch_reg *r, conn *c, watch_fn fn, void *arg);
/* Whether a watched key of c was touched since it was watched. */
bool watch_dirty(const conn *c);

#endif
