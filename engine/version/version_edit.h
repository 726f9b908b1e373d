/* version_edit.h -- a change to the set of live tables, as logged in the MANIFEST.
 *
 * An edit may set the log number (WALs below it are obsolete), the next file number and the last
 * sequence number, and lists tables deleted (level, number) and added (full metadata). Encoding:
 * docs/FORMAT.md#manifest; tags are on disk: never renumber. Decoding treats its input as
 * untrusted: anything malformed is ST_ECORRUPT. */
#ifndef STRATA_VERSION_EDIT_H
#define STRATA_VERSION_EDIT_H

#include <stdatomic.h>
#include <stdbool.h>

#include "util/coding.h"

struct st_sst_reader;

/* One live table. Shared by every version that contains it (refcounted); immutable once
 * published except `reader` (set once before publication), `being_compacted` (guarded by the
 * owning db's mu) and the obsolete mark (set once, by the compaction that removed the table).
 * A trivial move re-links a table one level down under a new st_file_meta (its level differs)
 * that holds a reference on the original (`moved_from`) and shares its reader, so the original
 * lives while any version names the file at either level.
 * F1: a file marked obsolete is unlinked when its last st_file_meta reference goes, i.e. when no
 *     version, iterator or compaction can read it any more (ARCHITECTURE.md invariant 6). */
typedef struct st_file_meta {
    atomic_int refs;
    int level;
    uint64_t number;
    uint64_t size;
    uint64_t entries;
    uint64_t min_seq, max_seq;
    uint64_t checksum;   /* XXH3-64 of the whole file */
    uint64_t ctime;      /* unix seconds */
    int codec;           /* st_codec the table was written with (a block may still be stored raw) */
    int tier;            /* placement; 0 = the database directory (tiers arrive with issue 5) */
    st_buf smallest;     /* internal keys */
    st_buf largest;
    struct st_sst_reader *reader; /* open reader, owned (one reference) */
    bool being_compacted;         /* an input of a running compaction or migration; guarded by the
                                   * db's mu */
    /* migration's view of the table (engine/db/migration.c), guarded by the db's mu: */
    double heat;                  /* block reads, decayed (halved every 10 minutes) */
    uint64_t reads_seen;          /* the reader's block_reads when heat was last updated */
    uint64_t migrate_retry_at;    /* unix seconds: a failed migration is not retried before */
    struct st_file_meta *moved_from; /* trivial move: the meta at the old level (one reference) */
    char *obsolete_path;          /* set by st_file_meta_mark_obsolete; unlinked at the last unref */
} st_file_meta;

/* refcount 1. Caller releases with st_file_meta_unref. */
int st_file_meta_new(st_file_meta **out);
void st_file_meta_ref(st_file_meta *f);
void st_file_meta_unref(st_file_meta *f); /* NULL-safe; unrefs the reader at 0 (and unlinks, F1) */

/* A new meta describing f's table (number, size, keys, checksum, codec...) at `level` in `tier`,
 * with no reader, no move link and no obsolete mark. refcount 1. */
int st_file_meta_copy(const st_file_meta *f, int level, int tier, st_file_meta **out);

/* A new meta for f's file at `level` (a trivial move): copies f's fields, references f and its
 * reader. refcount 1. */
int st_file_meta_moved(st_file_meta *f, int level, st_file_meta **out);

/* F1: the file (at `path`) is no longer in the current version; it is unlinked once the original
 * meta of the file (following moved_from) has no reference left. REQUIRES: the caller holds a
 * reference on f (so the mark is published by its own unref). Idempotent. */
int st_file_meta_mark_obsolete(st_file_meta *f, const char *path);

/* User-key bounds of the table (views into f). */
st_slice st_file_meta_ukey_smallest(const st_file_meta *f);
st_slice st_file_meta_ukey_largest(const st_file_meta *f);

typedef struct st_deleted_file {
    int level;
    uint64_t number;
} st_deleted_file;

typedef struct st_version_edit {
    bool has_log_number, has_next_file, has_last_seq;
    uint64_t log_number, next_file, last_seq;
    st_deleted_file *deleted;
    size_t n_deleted, cap_deleted;
    st_file_meta **added; /* each holds one reference, released by destroy */
    size_t n_added, cap_added;
} st_version_edit;

void st_edit_init(st_version_edit *e);
void st_edit_destroy(st_version_edit *e);
int st_edit_delete_file(st_version_edit *e, int level, uint64_t number);
/* Takes a new reference on f. */
int st_edit_add_file(st_version_edit *e, st_file_meta *f);

int st_edit_encode(const st_version_edit *e, st_buf *out);
/* Fills e (initialised by the caller) from rec; ST_ECORRUPT on malformed input. */
int st_edit_decode(st_slice rec, st_version_edit *e);

#endif
