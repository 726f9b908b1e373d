/* version.h -- an immutable snapshot of the live tables, per level.
 *
 * Readers and (later) compactions pin a version with st_version_ref; a table file is deleted only
 * when no live version refers to it. Invariants:
 *   V1 a version never changes after st_version_apply returns it;
 *   V2 L0 is ordered newest first (max_seq descending): a lookup stops at the first hit;
 *   V3 levels >= 1 are ordered by smallest key and do not overlap (checked under
 *      ST_DEBUG_INVARIANTS by st_version_check). */
#ifndef STRATA_VERSION_VERSION_H
#define STRATA_VERSION_VERSION_H

#include "strata/st.h"
#include "version_edit.h"

typedef struct st_version {
    atomic_int refs;
    st_file_meta **files[ST_MAX_LEVELS];
    size_t n_files[ST_MAX_LEVELS];
} st_version;

/* An empty version, refcount 1. */
int st_version_new_empty(st_version **out);
/* base + edit -> a new version (refcount 1). Deleting a file that is not in base, or adding a
 * number twice, is ST_ECORRUPT (a MANIFEST that contradicts itself). */
int st_version_apply(const st_version *base, const st_version_edit *e, st_version **out);
void st_version_ref(st_version *v);
void st_version_unref(st_version *v); /* NULL-safe */

/* Newest entry for ukey with seq <= snap_seq among the version's tables. 0 with *kind and the
 * value in `value`; ST_ENOTFOUND; or a read error. REQUIRES every file has its reader open. */
int st_version_get(st_version *v, st_slice ukey, uint64_t snap_seq, int *kind, st_buf *value);

/* A hint for a batch of gets (st_db_prefetch): starts loading the filter line of every table on
 * ukey's path (hash: st_hash64 of ukey). Changes nothing, never waits. */
void st_version_prefetch(st_version *v, st_slice ukey, uint64_t hash);

/* One key of st_version_multiget. */
typedef struct st_version_lookup {
    st_slice ukey; /* in */
    st_buf value;  /* out: a PUT's value (the caller inits and destroys it) */
    int rc;        /* out: what st_version_get would return */
    int kind;      /* out, when rc is 0: ST_KIND_PUT or ST_KIND_DEL (a tombstone: stop looking) */
} st_version_lookup;

/* st_version_get for n keys at one snap_seq, each answered as st_version_get would, with the
 * tables' block reads batched: round by round, every key still unresolved is looked up in the
 * next table on its path (the tables st_version_get would try, in the same order), and the round's
 * block reads go out together (st_sst_reader_multiget). At most (L0 tables + ST_MAX_LEVELS)
 * rounds. Errors are per key; duplicate keys are fine. REQUIRES as st_version_get. */
void st_version_multiget(st_version *v, uint64_t snap_seq, st_version_lookup *keys, size_t n);

/* Appends an edit that recreates v from nothing (a MANIFEST snapshot). */
int st_version_snapshot_edit(const st_version *v, st_version_edit *e);

/* True if any version file has this number. */
bool st_version_has_file(const st_version *v, uint64_t number);
/* The version's table with this number (no reference taken: valid while v is), or NULL. */
st_file_meta *st_version_find_file(const st_version *v, uint64_t number);

/* V2/V3 checks; returns ST_ECORRUPT naming the offending files. */
int st_version_check(const st_version *v);

#endif
