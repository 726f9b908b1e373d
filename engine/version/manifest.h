/* manifest.h -- the version set: the current version plus the counters the MANIFEST persists.
 *
 * The MANIFEST is a log (engine/wal log framing) of version edits; CURRENT names the live one.
 * Every open writes a fresh MANIFEST that starts with a snapshot of the recovered state, so a
 * MANIFEST never has to be appended to after a crash. Invariants:
 *   M1 an edit is installed as current only after it is durable in the MANIFEST;
 *   M2 after a failed MANIFEST write or sync the set is poisoned: later edits return ST_EFATAL;
 *      except when it failed for lack of space (ST_ENOSPC: ENOSPC, EDQUOT): nothing is appended
 *      after the record that may be half on disk; the next edit writes a new MANIFEST (a snapshot
 *      with the edit applied) and switches CURRENT to it, and until that succeeds the old one stays
 *      CURRENT and readable;
 *   M3 file numbers handed out are always > every number the MANIFEST records.
 * Thread-safety: st_vset_log_and_apply calls are serialised internally; st_vset_current and the
 * counters may be read from any thread. */
#ifndef STRATA_VERSION_MANIFEST_H
#define STRATA_VERSION_MANIFEST_H

#include <stdbool.h>

#include "table/block_cache.h"
#include "table/table_cache.h"
#include "tiers.h"
#include "version.h"

typedef struct st_vset st_vset;

/* Reads CURRENT and replays its MANIFEST when the directory has one (*existed = true), else starts
 * empty (*existed = false). Opens a reader for every table of the recovered version (a missing or
 * damaged table is ST_ECORRUPT), reading its data blocks through `cache` (NULL: no cache; else it
 * must outlive every reader, i.e. the vset and every version taken from it), with their
 * descriptors in `files` (NULL: each reader keeps its file open; else the same lifetime rule).
 * Tables are looked up in `tiers` (tiers.h, T1; borrowed, same lifetime rule; NULL: all in dir); a table found
 * outside the tier its record names gets that tier in the recovered version.
 * Writes nothing. Caller frees with st_vset_close. */
int st_vset_recover(const char *dir, const st_tiers *tiers, st_block_cache *cache, st_table_cache *files,
                    st_vset **out, bool *existed);

/* Starts a new MANIFEST holding the current state with `e` applied, then points CURRENT at it.
 * Used once per open, after WAL recovery. */
int st_vset_write_new_manifest(st_vset *vs, st_version_edit *e);

/* Applies e to the current version, appends it to the MANIFEST, syncs, installs the result.
 * Sets next_file and last_seq in the edit itself. On failure nothing is installed, and
 * *maybe_logged says whether the record may be on disk anyway (the append or its sync failed, or
 * CURRENT was switched before a failure): the caller must then keep every file the edit adds,
 * since recovery may find them named; otherwise it may delete them. Errors: ST_ENOSPC (M2: the
 * next edit may succeed once there is space), ST_EFATAL (poisoned), ST_EIO, ST_ENOMEM,
 * ST_ECORRUPT (the edit contradicts the version). */
int st_vset_log_and_apply_ex(st_vset *vs, st_version_edit *e, bool *maybe_logged);
int st_vset_log_and_apply(st_vset *vs, st_version_edit *e); /* without maybe_logged */

/* Current version with a new reference: release with st_version_unref. */
st_version *st_vset_current(st_vset *vs);

uint64_t st_vset_new_file_number(st_vset *vs);
/* Makes sure no later number handed out is <= n (M3): numbers an interrupted run used may exceed
 * what its MANIFEST recorded. */
void st_vset_mark_file_number_used(st_vset *vs, uint64_t n);
uint64_t st_vset_log_number(st_vset *vs);
uint64_t st_vset_last_seq(st_vset *vs);
uint64_t st_vset_manifest_number(st_vset *vs);
/* Raises the persisted last_seq floor (it is written with the next edit). */
void st_vset_set_last_seq(st_vset *vs, uint64_t seq);

void st_vset_close(st_vset *vs); /* NULL-safe */

#endif
