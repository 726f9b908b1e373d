/* tiers.h -- where table files live: the database directory and the storage tiers.
 *
 * A tier id is what the MANIFEST records per table (st_file_meta.tier, one byte on disk):
 *   0      the database directory: databases without tiers, and tables written before tiers
 *          were configured;
 *   1..n   st_options.tiers[id - 1].
 * Every level maps to one id (the tier whose level range holds it; 0 without tiers): flush and
 * compaction write a table for level L into the directory of level_tier[L].
 * T1: a table number is live in exactly one directory, the one of the id the MANIFEST names.
 *     Recovery deletes a copy found anywhere else (a migration interrupted before or after its
 *     MANIFEST edit leaves one). Ids are compared by directory identity (device + inode), so two
 *     names for one directory never make a live table look like a stray copy.
 * Immutable after st_tiers_init; safe to read from any thread. */
#ifndef STRATA_VERSION_TIERS_H
#define STRATA_VERSION_TIERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strata/st_options.h"

#define ST_TIER_IDS (ST_MAX_TIERS + 1)

typedef struct st_tiers {
    int n;                        /* ids 0..n-1 are valid: 1 + the number of tiers */
    char *dir[ST_TIER_IDS];       /* owned */
    char *name[ST_TIER_IDS];      /* owned; id 0 is "db" */
    bool direct[ST_TIER_IDS];     /* open its tables with ST_OPEN_DIRECT */
    dev_t dev[ST_TIER_IDS];       /* directory identity (T1) */
    ino_t ino[ST_TIER_IDS];
    int level_tier[ST_MAX_LEVELS];
} st_tiers;

/* Checks o's tiers (o NULL: no tiers, every table in db_dir) (names, level ranges, distinct
 * directories), creates missing tier directories (one level, like mkdir; not when o->read_only)
 * and fills t. db_dir must exist. On failure t holds
 * nothing to free. Errors: ST_EINVAL (bad tiers, naming the tier), ST_EIO (a directory that
 * cannot be created or examined). */
int st_tiers_init(st_tiers *t, const char *db_dir, const st_options *o);
void st_tiers_destroy(st_tiers *t); /* NULL-safe, idempotent */

/* The tier id of `level` under o's tiers (0 without tiers). */
int st_tiers_level_tier(const st_options *o, int level);

/* "dir-of-id/NNNNNN.sst" into buf (ST_PATH_MAX bytes); returns buf. REQUIRES 0 <= id < n. */
char *st_tiers_table_path(const st_tiers *t, int id, uint64_t number, char *buf);
/* st_file_open flags for reading a table of tier id. */
int st_tiers_read_flags(const st_tiers *t, int id);
/* True if ids a and b name the same directory. */
bool st_tiers_same_dir(const st_tiers *t, int a, int b);

/* Finds table `number`: first in the directory of `hint` (if a valid id), then in the others in
 * id order. 0 with *id set, or ST_ENOTFOUND. */
int st_tiers_locate(const st_tiers *t, uint64_t number, int hint, int *id);

#endif
