/* filename.h -- names of the files in a database directory.
 *
 *   NNNNNN.log        write-ahead log (one per memtable)
 *   NNNNNN.sst        table
 *   MANIFEST-NNNNNN   version edit log; CURRENT names the live one
 *   CURRENT           "MANIFEST-NNNNNN\n", replaced atomically (temp + fsync + rename + dir fsync)
 *   LOCK              flock'ed by the process that has the database open
 *   *.tmp             half-written files: deleted at open
 * All numbers come from one counter (next_file in the MANIFEST), so no two files share one. */
#ifndef STRATA_VERSION_FILENAME_H
#define STRATA_VERSION_FILENAME_H

#include <stddef.h>
#include <stdint.h>

enum st_file_type { ST_FT_UNKNOWN = 0, ST_FT_LOG, ST_FT_TABLE, ST_FT_MANIFEST, ST_FT_CURRENT, ST_FT_LOCK, ST_FT_TEMP };

#define ST_PATH_MAX 4096

/* Each writes "dir/name" into buf (ST_PATH_MAX bytes) and returns buf. */
char *st_fn_log(char *buf, const char *dir, uint64_t number);
char *st_fn_table(char *buf, const char *dir, uint64_t number);
char *st_fn_manifest(char *buf, const char *dir, uint64_t number);
char *st_fn_current(char *buf, const char *dir);
char *st_fn_lock(char *buf, const char *dir);
char *st_fn_join(char *buf, const char *dir, const char *name);

/* Classifies a directory entry name; *number is set for LOG, TABLE, MANIFEST. */
enum st_file_type st_fn_parse(const char *name, uint64_t *number);

#endif
