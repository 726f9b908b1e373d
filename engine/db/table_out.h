/* table_out.h -- writing one new table file from a sorted stream: shared by flush, recovery and
 * compaction, so the create/build/sync/reopen sequence (FORMAT.md, "Durability order") exists
 * once.
 *
 * st_db_table_open starts NNNNNN.sst.tmp in the directory of the level's tier (tiers.h), written
 * through an st_seqwriter (O_DIRECT when the tier says so) with the options of the level
 * (codec, zstd level and block size from st_options.levels, INHERIT resolved).
 * st_db_table_finish writes the footer, fdatasyncs the file, renames it to NNNNNN.sst, fsyncs the
 * directory, reopens it through a reader that shares db->cache and returns its st_file_meta.
 * Until finish succeeds the file is the writer's: st_db_table_abandon unlinks it; a crash leaves
 * a .tmp or an unreferenced table, both deleted at the next open.
 * T1: a finished table is complete, fdatasync'ed and durably named, so a MANIFEST may name it. */
#ifndef STRATA_DB_TABLE_OUT_H
#define STRATA_DB_TABLE_OUT_H

#include "db_impl.h"
#include "version/filename.h"
#include "table/sstable_builder.h"

typedef struct st_table_out {
    uint64_t number;
    int level;
    st_codec codec;
    int tier;               /* tier id (tiers.h) of the level */
    st_seqwriter *w;
    st_sst_builder *b;
    uint64_t entries;
    char path[ST_PATH_MAX]; /* final name */
    char tmp[ST_PATH_MAX + 8];
} st_table_out;

/* The builder options for tables of `level`. */
void st_db_level_sst_opts(const st_options *o, int level, st_sst_opts *so);

/* Errors: ST_EIO, ST_ENOSPC, ST_ENOMEM; on failure nothing is left on disk. */
int st_db_table_open(st_db *db, int level, st_table_out *t);
/* REQUIRES: ikeys strictly increasing (SB1). Errors as st_sst_builder_add. */
int st_db_table_add(st_table_out *t, st_slice ikey, st_slice value);
/* Bytes the table will take if finished now (approximate). */
uint64_t st_db_table_size(const st_table_out *t);
/* Finishes, syncs, renames and reopens the table; *out (refcount 1) describes it at t->level. The
 * writer is released either way; on failure the file is unlinked. */
int st_db_table_finish(st_db *db, st_table_out *t, st_file_meta **out);
void st_db_table_abandon(st_table_out *t); /* closes and unlinks; no-op on a released writer */

#endif
