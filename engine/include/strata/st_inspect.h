/* st_inspect.h -- read-only access to the files of a database one at a time, for offline tools
 * (tools/strata_sst.c: dump, stats, verify; RocksDB's sst_dump and ldb).
 *
 * Everything here reads through the engine's own readers (the SSTable reader, the log reader, the
 * version-edit decoder), so a tool sees exactly what the engine would and never re-implements a
 * format (docs/FORMAT.md). Nothing here writes, creates or deletes a file. Bytes from files are
 * untrusted: damage is ST_ECORRUPT with st_errmsg() naming the file and the byte offset.
 * To read the live keys of a whole database, open it with st_options.read_only (st.h) instead.
 * Thread-safety: each handle belongs to one thread at a time. */
#ifndef STRATA_ST_INSPECT_H
#define STRATA_ST_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include "st_iter.h"
#include "st_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Entry kinds as tables and WALs store them (on disk: never renumbered). */
enum { ST_ENTRY_DEL = 1, ST_ENTRY_PUT = 2 };

/* ---- one table file -------------------------------------------------------------------------- */

typedef struct st_sstable st_sstable;

typedef struct st_sstable_info {
    uint64_t number;          /* from the file name NNNNNN.sst (0 for another name) */
    uint64_t file_size;
    /* where the bytes go: the regions tile the file (docs/FORMAT.md#sstable) */
    uint64_t data_bytes;      /* data blocks as stored (compressed), trailers included */
    uint64_t filter_bytes, properties_bytes, index_bytes, metaindex_bytes, footer_bytes;
    /* properties the builder recorded */
    uint64_t entries, deletions, data_blocks;
    uint64_t raw_key_bytes, raw_value_bytes; /* before compression; keys are internal keys */
    uint64_t min_seq, max_seq;
    uint64_t creation_time;   /* unix seconds */
    int codec;                /* st_codec of the table's blocks */
    uint32_t block_bytes, bloom_bits_per_key, format_version;
    st_slice smallest, largest; /* internal keys (user key | 8-byte tag); views valid until close */
} st_sstable_info;

/* Opens the table at `path` and checks what an open checks: footer, metaindex, properties, index
 * and filter with their checksums. Data blocks are read (and checked) as they are used.
 * On success *out is the caller's, released with st_sstable_close.
 * Errors: ST_ENOTFOUND (no such file), ST_EINVAL (not a regular file), ST_ECORRUPT (not an
 * SSTable, or damaged: st_errmsg() names the offset), ST_EIO, ST_ENOMEM. */
int st_sstable_open(const char *path, st_sstable **out);
void st_sstable_close(st_sstable *t); /* NULL-safe */

void st_sstable_get_info(const st_sstable *t, st_sstable_info *out);

/* One entry of a table, as stored: every version and every deletion, newest version first
 * within a user key. Views valid during the callback. */
typedef struct st_sstable_entry {
    st_slice ukey;
    uint64_t seq;
    int kind;                 /* ST_ENTRY_PUT or ST_ENTRY_DEL (value empty) */
    st_slice value;
} st_sstable_entry;

/* Calls fn for each entry whose user key is in [from, to) (a bound of length 0: unbounded), in
 * order, stopping at the first non-zero return, which it returns. Each data block is read once
 * and checked before its entries are passed on, bypassing any cache.
 * Errors: ST_ECORRUPT (a damaged data block: its offset in st_errmsg()), ST_EIO, ST_ENOMEM. */
typedef int (*st_sstable_entry_fn)(void *arg, const st_sstable_entry *e);
int st_sstable_scan(st_sstable *t, st_slice from, st_slice to, st_sstable_entry_fn fn, void *arg);

/* Re-reads every block from the file and checks it: block checksums and structure, key order
 * across the file, index separators, that the data blocks tile the data region, the entry count,
 * and that the filter holds every user key. Returns 0, or the first problem (ST_ECORRUPT naming
 * its offset, ST_EIO, ST_ENOMEM). */
int st_sstable_verify(st_sstable *t);

/* XXH3-64 of the whole file at `path` (what the MANIFEST records per table) and its size.
 * Errors: ST_ENOTFOUND, ST_EIO. */
int st_file_checksum(const char *path, uint64_t *checksum, uint64_t *size);

/* Splits an internal key (user key | fixed64 LE (seq << 8 | kind)). ST_ECORRUPT when it is too
 * short or its kind unknown. */
int st_internal_key_parse(st_slice ikey, st_slice *ukey, uint64_t *seq, int *kind);

/* ---- one WAL --------------------------------------------------------------------------------- */

/* A WAL record: one write batch. */
typedef struct st_wal_record {
    uint64_t offset, end;     /* the record's bytes in the file, framing included */
    uint64_t first_seq;       /* operation i has sequence number first_seq + i */
    uint32_t count;           /* operations */
    uint64_t bytes;           /* the batch's bytes */
} st_wal_record;

typedef struct st_wal_summary {
    uint64_t file_bytes;
    uint64_t records, ops;
    uint64_t first_seq, last_seq;  /* of the records read (0 when none) */
    uint64_t valid_bytes;          /* offset just past the last good record */
    uint64_t torn_bytes;           /* a torn tail after it (a write cut by a crash: never
                                    * acknowledged, and recovery ignores it); 0 if none */
} st_wal_summary;

typedef int (*st_wal_record_fn)(void *arg, const st_wal_record *rec);
typedef int (*st_wal_op_fn)(void *arg, uint64_t seq, int kind, st_slice key, st_slice value);

/* Reads the WAL at `path` as recovery would, calling on_record for each record and then on_op
 * (either may be NULL) for each of its operations; a non-zero return from either stops the read
 * and is returned. *out (may be NULL) is filled with what was read, also on failure.
 * A torn tail is not an error (out->torn_bytes). Errors: ST_ECORRUPT (a damaged record followed
 * by valid ones, or a record whose batch does not parse: recovery would refuse to open; the
 * message names the offset), ST_ENOTFOUND (no such file), ST_EIO, ST_ENOMEM. */
int st_wal_file_read(const char *path, st_wal_record_fn on_record, st_wal_op_fn on_op, void *arg,
                     st_wal_summary *out);

/* ---- the MANIFEST ---------------------------------------------------------------------------- */

typedef struct st_manifest_table {
    int level;
    int tier;                 /* 0: the database directory; i >= 1: the i-th configured tier */
    uint64_t number, size, entries, min_seq, max_seq;
    uint64_t checksum;        /* XXH3-64 of the whole file */
    uint64_t creation_time;   /* unix seconds */
    int codec;
    st_slice smallest, largest; /* internal keys */
} st_manifest_table;

typedef struct st_manifest_deleted {
    int level;
    uint64_t number;
} st_manifest_deleted;

/* One record of the MANIFEST: a version edit. Views valid during the callback. */
typedef struct st_manifest_edit {
    uint64_t index;           /* 0, 1, ... in the file */
    uint64_t end;             /* offset just past the record */
    bool has_log_number, has_next_file, has_last_seq;
    uint64_t log_number, next_file, last_seq;
    size_t n_deleted, n_added;
    const st_manifest_deleted *deleted;
    const st_manifest_table *added;
} st_manifest_edit;

/* What the MANIFEST describes after its last record. Filled by st_manifest_read; the caller
 * frees it with st_manifest_state_free. */
typedef struct st_manifest_state {
    char *manifest;           /* path of the MANIFEST CURRENT names */
    uint64_t edits;
    uint64_t log_number;      /* WALs numbered below are obsolete */
    uint64_t next_file, last_seq;
    size_t n_tables;          /* live tables, by level, then key order within a level */
    st_manifest_table *tables;
} st_manifest_state;

/* Reads the MANIFEST that `dir`/CURRENT names, as an open would (applying every edit, with the
 * same checks), calling fn (may be NULL) for each edit; a non-zero return stops the read and is
 * returned. On success *state (may be NULL) holds the final version; nothing else is opened (the
 * tables are not looked at). Errors: ST_EINVAL (no CURRENT: not a database), ST_ECORRUPT (a bad
 * CURRENT, a missing MANIFEST, a damaged or contradictory record: the message names it),
 * ST_EIO, ST_ENOMEM. */
typedef int (*st_manifest_edit_fn)(void *arg, const st_manifest_edit *e);
int st_manifest_read(const char *dir, st_manifest_edit_fn fn, void *arg, st_manifest_state *state);
void st_manifest_state_free(st_manifest_state *s); /* NULL-safe; leaves it empty */

/* The number and kind of a file name of the engine: "000012.log", "000034.sst",
 * "MANIFEST-000005", "CURRENT", "LOCK". */
enum { ST_FILE_OTHER = 0, ST_FILE_WAL, ST_FILE_TABLE, ST_FILE_MANIFEST, ST_FILE_CURRENT, ST_FILE_LOCK };
int st_file_name_parse(const char *name, uint64_t *number);

#ifdef __cplusplus
}
#endif
#endif
