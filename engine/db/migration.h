/* migration.h -- moving whole table files between tier directories (version/tiers.h) on a
 * background thread: what moves, when, and the crash-safe copy. The rules are in migration.c's
 * opening comment and docs/ARCHITECTURE.md, "Migration between tiers".
 * The thread runs only when tiers are configured. A migration counts as a running compaction
 * (compactions_running), so st_db_compact_range and st_db_wait_for_compactions wait for it; the
 * latter also waits until no migration is due. */
#ifndef STRATA_DB_MIGRATION_H
#define STRATA_DB_MIGRATION_H

#include "db_impl.h"

void *st_db_migrate_main(void *arg);

/* REQUIRES mu. The tree changed: the migration thread looks again (and
 * st_db_wait_for_compactions waits for it). */
void st_db_migration_kick(st_db *db);

/* Steps of one move, for crash tests: the hook runs right after each (on the migration thread). */
enum st_migrate_step {
    ST_MIGRATE_COPYING = 1, /* the first chunk of the copy is written to NNNNNN.sst.tmp */
    ST_MIGRATE_COPIED = 2,  /* the copy is complete, fdatasynced and verified, not yet renamed */
    ST_MIGRATE_RENAMED = 3, /* renamed to NNNNNN.sst and the directory fsynced; MANIFEST untouched */
    ST_MIGRATE_LOGGED = 4,  /* the MANIFEST edit is durable; the source copy still exists */
};
/* Process-wide, test use only (like st_io_fault_arm): fn NULL disarms. */
void st_db_test_set_migrate_hook(void (*fn)(int step, void *arg), void *arg);

#endif
