/* compaction.h -- running compactions: the background threads, one compaction from a pick to its
 * installed version edit, st_db_compact_range, and the write stalls that pace writers to them.
 *
 * A compaction merges its inputs (merge_iter over table iterators that do not fill the block
 * cache), passes the stream through the compaction iterator, writes outputs through table_out
 * (cut at target_file_size_base and at the grandparent-overlap limit, only between user keys),
 * fdatasyncs them and the directory, and logs ONE edit {delete inputs, add outputs}
 * (st_vset_log_and_apply). Inputs are then marked obsolete and unlinked when the last version,
 * iterator or compaction holding them lets go (F1 in version_edit.h). A trivial move logs
 * {delete at L, add the same file at L+1} and copies nothing.
 * The compaction iterator, for each user key (newest version first):
 *   CI1 a version is dropped when a newer version of the key lies in the same snapshot stripe
 *       (no live snapshot sits between them), so every snapshot still reads what it read;
 *   CI2 a tombstone is dropped when its seq <= the oldest live snapshot (or there is none) and no
 *       level below the output holds the key (IsBaseLevelForKey);
 *   CI3 the compaction filter sees the newest version when it is a PUT; REMOVE turns it into a
 *       tombstone with the same seq, which CI2 then drops or keeps: a deleted key never resurfaces.
 * Invariants: outputs of a compaction never split one user key (V3); inputs are never deleted
 * before the edit naming the outputs is durable (M1); the flush thread never waits for a
 * compaction (separate thread; they share only the MANIFEST append). */
#ifndef STRATA_DB_COMPACTION_H
#define STRATA_DB_COMPACTION_H

#include "compaction_picker.h"
#include "db_impl.h"

/* REQUIRES mu. Recomputes db->lstate and the stall state from the current version, wakes the
 * compaction threads and every writer waiting on a stall. */
void st_db_compaction_state_update(st_db *db);

/* REQUIRES write_mu (not mu). While the stall state is STOP, waits until compaction brings it
 * down (D7); SLOWDOWN is paced before write_mu (st_db_write_delay). Returns 0, or the background error, or
 * ST_EBUSY when the db is closing, or ST_ENOSPC at once while compactions fail for lack of space
 * (db_status.h: that wait could last until someone frees disk space). */
int st_db_write_stall(st_db *db);

/* A compaction thread (max_background_compactions of them). */
void *st_db_compact_main(void *arg);

/* Runs one pick to its installed edit. REQUIRES: its inputs are marked being_compacted, or the
 * caller is the manual compaction (D6). ST_EBUSY when the db started closing meanwhile (nothing
 * installed, outputs removed). */
int st_db_run_compaction(st_db *db, st_pick *p);

/* One manual step of st_db_compact_range: compacts `level`'s tables overlapping [begin, end] into
 * output_level (> level; or == level >= 1: a rewrite in place), with the same exclusion of
 * background compactions. Tables may be moved when nothing below overlaps. For tests and tools
 * that need data at a chosen level. Errors: ST_EINVAL (levels), as st_db_compact_range. */
int st_db_compact_level(st_db *db, int level, int output_level, const st_slice *begin, const st_slice *end);

uint64_t st_db_now_micros(void);

#endif
