/* keyspace.h -- Redis keys, types and expiry encoded as engine keys. The only layer of net/ that
 * talks to the engine (strata/st.h): command procs call ks_* and never build engine keys.
 *
 * Engine key of a key's metadata record (docs/FORMAT.md#keyspace):
 *   tenant u32 BE | db u8 | 'M' | user key
 * Metadata value:  flags u8 (low 4 bits: type; bit 4: has expiry) | [expire_ms u64 LE] | payload
 *   (a string's payload is its bytes; a collection's is version u64 LE | size u64 LE, and for a
 *   list also head u64 LE | tail u64 LE).
 * Element of a collection (hash field, set member, list item, zset member):
 *   tenant u32 BE | db u8 | 'S' | klen u32 BE | user key | version u64 BE | element -> its value
 *   (zsets add a score index in space 'Z' with the same shape).
 * A collection's elements are reachable only through its record's version: DEL, expiry, or an
 * overwrite with another record replaces or removes the record alone (O(1)), and a new collection
 * under the same key gets a new version, so the old elements are unreachable at once. The
 * compaction filter (ks_open installs it) drops them later: an element whose key has no record,
 * a record of another version or type, or one expired for KS_EXPIRE_GRACE_MS.
 * Expiry index:    tenant u32 BE | db u8 | 'E' | expire_ms u64 BE | user key  -> ""
 * An index entry is written whenever a key gets an expiry and is never updated in place: the
 * active-expiry cycle deletes the key only if its record still carries that same expiry, and drops
 * stale entries otherwise. So a plain SET costs one engine put and no read.
 * Invariants:
 *   K1 every record whose expire_ms <= now is treated as absent by every read (lazy expiry);
 *   K2 every record with an expiry has an index entry at that expiry (written in the same batch);
 *   K3 read-modify-write commands hold the key's stripe lock across read and write; commands that
 *      read a collection's elements hold it too, so the version they read stays live meanwhile;
 *   K4 versions: a collection created after another one under the same key has a larger version
 *      (it is the engine's visible sequence number at creation, which every write then passes);
 *      an element's version is that of the record that was current when it was written. */
#ifndef STRATA_NET_KEYSPACE_H
#define STRATA_NET_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ks ks;

/* Which key space a command works in: tenant (0 = the default) and database number. */
typedef struct ks_ns {
    uint32_t tenant;
    uint8_t db;
} ks_ns;

/* Types. On disk: never renumber. */
enum ks_type { KS_NONE = 0, KS_STRING = 1, KS_HASH = 2, KS_LIST = 3, KS_SET = 4, KS_ZSET = 5 };

/* Status codes: 0 or negative. KS_ENOTFOUND equals the engine's ST_ENOTFOUND. */
enum {
    KS_OK = 0,
    KS_ENOTFOUND = -1,
    KS_EINVAL = -2,
    KS_ENOMEM = -3,
    KS_EIO = -4,
    KS_ENOSPC = -5,
    KS_ECORRUPT = -6,
    KS_EBUSY = -7,
    KS_EFATAL = -8,
};

/* A decoded metadata record. Owns its bytes; release with ks_rec_free. */
typedef struct ks_rec {
    int type;
    int64_t expire_ms; /* 0: no expiry */
    uint8_t *raw;
    size_t raw_len;
    const uint8_t *payload; /* view into raw */
    size_t payload_len;
} ks_rec;

void ks_rec_free(ks_rec *r); /* NULL-safe; leaves r empty */

typedef struct ks_options {
    const char *dir;
    int sync_mode;             /* 1 always, 2 everysec, 3 no (st_sync_mode values) */
    size_t write_buffer_bytes; /* 0: engine default */
    size_t block_bytes;
    int bloom_bits_per_key;    /* -1: engine default */
    int codec;                 /* -1: engine default; else st_codec */
    int zstd_level;
    int max_immutable;         /* 0: engine default */
    size_t max_batch_bytes;    /* 0: engine default; must hold the largest value plus its key */
    size_t block_cache_bytes;  /* 0: engine default */
    uint64_t memory_limit_bytes; /* 0: none; else the engine's whole budget (st_options.h) */
    /* The remaining engine tunables (compaction triggers, delayed_write_rate, max_open_files),
     * taken from here when non-NULL (the server's config_to_engine_options); NULL: defaults. The
     * fields above override it. */
    const struct st_options *engine;
} ks_options;

/* Opens the engine in o->dir. On failure *out is NULL and err says why. */
int ks_open(const ks_options *o, ks **out, char *err, size_t errlen);
/* Makes every write durable and closes. NULL-safe. */
int ks_close(ks *k);

/* Text of the last failure on this thread (engine message), "" if none. */
const char *ks_errmsg(void);
const char *ks_strerror(int rc);

/* ---- reads ------------------------------------------------------------------------------------ */

/* The live record of key: 0 with *out filled, KS_ENOTFOUND (absent or expired at now_ms). */
int ks_lookup(ks *k, ks_ns ns, const uint8_t *key, size_t klen, int64_t now_ms, ks_rec *out);
/* A hint that lookups of these keys follow (the GETs of a pipelined read): see st_db_prefetch.
 * Keys that do not fit in KS_PREFETCH_BYTES together are left out. Changes nothing. */
#define KS_PREFETCH_BYTES 2048
#define KS_PREFETCH_MAX 32 /* keys looked at */
void ks_prefetch(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens);
/* n lookups against one consistent view; statuses[i] as ks_lookup. Returns 0 or KS_ENOMEM. */
int ks_mlookup(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens, int64_t now_ms,
               ks_rec *outs, int *statuses);

/* ---- writes ----------------------------------------------------------------------------------- */
/* Every write returns the lsn to commit (ks_commit) before the reply may say it happened. */

typedef struct ks_batch ks_batch;
int ks_batch_new(ks_batch **out);
void ks_batch_free(ks_batch *b); /* NULL-safe */
void ks_batch_clear(ks_batch *b);
/* A string record (replacing whatever the key held); expire_ms 0 = none. */
int ks_batch_put_string(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                        int64_t expire_ms);
/* Rewrites an existing record with a new expiry (EXPIRE/PERSIST): same type and payload. */
int ks_batch_put_record(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const ks_rec *r, int64_t expire_ms);
int ks_batch_delete(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen);
size_t ks_batch_count(const ks_batch *b);
/* Applies the batch atomically without waiting for durability; *lsn (may be NULL) is what to
 * commit. An empty batch is a no-op with *lsn 0. */
int ks_write(ks *k, ks_batch *b, uint64_t *lsn);
/* Group commit: durable per the sync mode up to lsn (0: nothing to do). */
int ks_commit(ks *k, uint64_t lsn);

/* ---- collections ------------------------------------------------------------------------------ */

/* How long past its expiry a collection's elements stay (the compaction filter keeps them): a
 * command that read the record just before it expired may still be reading its elements. */
#define KS_EXPIRE_GRACE_MS (5 * 60 * 1000)

/* A collection's record, decoded. */
#define KS_HINT_MAX 64
#define KS_LOW_MAX 4
typedef struct ks_coll {
    int type;            /* KS_HASH, KS_LIST, KS_SET, KS_ZSET */
    int64_t expire_ms;   /* 0: none */
    uint64_t version;    /* names its elements (K4) */
    uint64_t size;       /* number of elements */
    uint64_t head, tail; /* lists: index of the first element, one past the last */
    /* zsets: where the live entries of the score index start and end, when known: every live
     * entry is >= lo and <= hi. Walks from either end seek there instead of to the edge of the
     * key range, so the tombstones that pops and trims leave at the ends are never stepped over. */
    bool has_lo, has_hi;
    uint8_t lo_len, hi_len;
    uint8_t lo[KS_HINT_MAX], hi[KS_HINT_MAX];
    /* zsets: a base key and how many live entries are below it (exactly), so that a trim at the
     * low end that removes just those knows where the rest starts without stepping over the
     * tombstones in between (cmd_zset.c) */
    bool has_base;
    uint8_t base_len;
    uint8_t base[KS_HINT_MAX];
    uint64_t below;
    /* zsets: how many levels their rank index has (zrank.h); 0: none */
    uint8_t rank_levels;
    /* zsets: the n_low smallest live entries of the score index, exactly, in order (0: unknown),
     * so that a trim of the low end knows where the rest starts without walking over what earlier
     * trims left (cmd_zset.c) */
    uint8_t n_low;
    uint8_t low_len[KS_LOW_MAX];
    uint8_t low[KS_LOW_MAX][KS_HINT_MAX];
} ks_coll;

/* The collection in record r: 0, or KS_ECORRUPT (not a collection, or a short payload). */
int ks_rec_coll(const ks_rec *r, ks_coll *out);
/* A new, empty collection of type (no expiry) with a fresh version (K4). Lists start in the
 * middle of the index space so they can grow both ways. Call under the key's lock. */
void ks_coll_new(ks *k, int type, ks_coll *out);

/* Where a collection's elements live: the key and the version of its record. */
typedef struct ks_ckey {
    ks_ns ns;
    const uint8_t *key;
    size_t klen;
    uint64_t version;
} ks_ckey;

/* Element spaces: the elements themselves, a zset's score index and its rank index (zrank.h). */
enum { KS_ELEMS = 'S', KS_SCORES = 'Z', KS_RANKS = 'R' };

/* The record of c (replacing whatever the key held), with its expiry and index entry (K2). */
int ks_batch_put_coll(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const ks_coll *c);
int ks_batch_put_elem(ks_batch *b, const ks_ckey *ck, int space, const uint8_t *el, size_t elen, const uint8_t *val,
                      size_t vlen);
int ks_batch_del_elem(ks_batch *b, const ks_ckey *ck, int space, const uint8_t *el, size_t elen);

/* One element's value: 0 with *val malloc'ed (caller frees; NUL-terminated, not counted), or
 * KS_ENOTFOUND. */
int ks_elem_get(ks *k, const ks_ckey *ck, int space, const uint8_t *el, size_t elen, uint8_t **val, size_t *vlen);
/* n elements against one view; statuses[i] as ks_elem_get, vals[i] malloc'ed or NULL. Returns 0
 * or KS_ENOMEM. */
int ks_elem_mget(ks *k, const ks_ckey *ck, int space, size_t n, const uint8_t *const *els, const size_t *elens,
                 uint8_t **vals, size_t *vlens, int *statuses);

/* An iterator over one collection's elements (of one space), at a point in time. Until a seek
 * positions it, its first use starts at the first element (open itself does not move: the
 * first keys may be a long run of tombstones that a caller seeking elsewhere need not cross).
 * Caller closes it. */
typedef struct ks_elems ks_elems;
int ks_elems_open(ks *k, const ks_ckey *ck, int space, ks_elems **out);
/* To the first element >= el (elen 0: the first element). */
void ks_elems_seek(ks_elems *it, const uint8_t *el, size_t elen);
bool ks_elems_valid(const ks_elems *it);
void ks_elems_next(ks_elems *it);
/* Backward: to the last element, or the last one <= el; prev steps back. A run of moves goes one
 * way: next only after ks_elems_seek, prev only after these two. */
void ks_elems_seek_last(ks_elems *it);
void ks_elems_seek_for_prev(ks_elems *it, const uint8_t *el, size_t elen);
void ks_elems_prev(ks_elems *it);
/* Views valid until the next move. */
const uint8_t *ks_elems_el(const ks_elems *it, size_t *len);
const uint8_t *ks_elems_val(const ks_elems *it, size_t *len);
int ks_elems_status(const ks_elems *it); /* 0, or the engine error that ended the iteration */
void ks_elems_close(ks_elems *it);       /* NULL-safe */

/* ---- per-key locks (K3) ------------------------------------------------------------------------ */
/* Striped mutexes. Lock several keys with ks_lock_keys (sorted, deduplicated stripes: no deadlock);
 * unlock with the same arguments. */
void ks_lock_keys(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens);
void ks_unlock_keys(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens);
static inline void ks_lock(ks *k, ks_ns ns, const uint8_t *key, size_t klen) { ks_lock_keys(k, ns, 1, &key, &klen); }
static inline void ks_unlock(ks *k, ks_ns ns, const uint8_t *key, size_t klen) { ks_unlock_keys(k, ns, 1, &key, &klen); }

/* ---- transactions (MULTI/EXEC) ----------------------------------------------------------------- */
/* A transaction is a ks handle for the command procs: it reads through to the database, keeps its
 * writes in memory (its own reads see them: ks_lookup, ks_elem_*, ks_elems, ks_scan, ks_flush), and
 * ks_txn_commit applies them all as one engine batch, atomically. It holds the stripe locks it was
 * begun with for its whole life (all: every stripe), so no other command sees or changes its keys
 * meanwhile; ks_lock_keys through it skips those. Use it from one thread; end it with ks_txn_end
 * (commit or not), which unlocks and frees. ks_close must not run while one is open. */
uint32_t ks_stripe(ks_ns ns, const uint8_t *key, size_t klen);
/* Every stripe, in order (FLUSHDB, FLUSHALL): no keyed command runs meanwhile. Through a
 * transaction handle (which then holds them all already) both are no-ops. */
void ks_lock_all(ks *k);
void ks_unlock_all(ks *k);
int ks_txn_begin(ks *k, const uint32_t *stripes, size_t n, bool all, ks **txn);
/* Writes everything as one batch; *lsn to ks_commit (0: nothing written). */
int ks_txn_commit(ks *txn, uint64_t *lsn);
void ks_txn_end(ks *txn); /* NULL-safe */

/* ---- scans -------------------------------------------------------------------------------------- */

/* Calls fn for live keys of ns in key order, starting at the first key >= start (klen 0: from the
 * beginning) and only keys beginning with prefix (plen 0: all). Stops after `limit` visited keys
 * (live or not; 0 = no limit) or when fn returns non-zero. *next receives a malloc'ed copy of the
 * key to resume from (NULL when the scan reached the end); caller frees. */
typedef int (*ks_scan_fn)(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec);
int ks_scan(ks *k, ks_ns ns, const uint8_t *start, size_t slen, const uint8_t *prefix, size_t plen, size_t limit,
            int64_t now_ms, ks_scan_fn fn, void *arg, uint8_t **next, size_t *next_len);

/* Number of live keys of ns (a scan: O(keys)). */
int ks_count(ks *k, ks_ns ns, int64_t now_ms, uint64_t *count);

/* Deletes every key of ns (or, with all_dbs, of every database of the tenant); *lsn to commit. */
int ks_flush(ks *k, ks_ns ns, bool all_dbs, uint64_t *lsn);

/* ---- decoding engine keys (offline tools: tools/strata_sst.c) -------------------------------- */

/* What an engine key of the keyspace is (docs/FORMAT.md#keyspace). Views into the key. */
typedef struct ks_key_info {
    int space;            /* 'M' record, 'S' element, 'Z' score index, 'R' rank index, 'X' expiry
                           * index entry, 'T' / 'D' registry records (tenant KS_SYS_TENANT);
                           * 0: not a keyspace key (too short, unknown space) */
    uint32_t tenant;
    uint8_t db;
    const uint8_t *key;   /* the Redis key (registry records: the name) */
    size_t klen;
    uint64_t version;     /* 'S' 'Z' 'R': the collection's version */
    const uint8_t *el;    /* 'S': the element (a list's: its index u64 BE); 'Z': the member;
                           * 'R': level u8 | 00 | separator */
    size_t elen;
    uint64_t order;       /* 'Z': order(score), the score's sort key */
    int64_t expire_ms;    /* 'X' */
} ks_key_info;

/* 0 with *out filled, or KS_EINVAL (out->space 0) for bytes that are no keyspace key. */
int ks_key_decode(const uint8_t *ekey, size_t len, ks_key_info *out);

/* A record's value ('M' space), copied: 0 with *out filled (release with ks_rec_free), or
 * KS_ECORRUPT. */
int ks_rec_parse(const uint8_t *val, size_t len, ks_rec *out);

/* The name of a type ("string", "hash", ...; "none" for anything else). */
const char *ks_type_name(int type);

/* ---- system records and tenant usage ---------------------------------------------------------- */

/* Server-wide records that belong to no tenant (the tenant registry, net/tenant.c) live in the
 * reserved tenant KS_SYS_TENANT: FF FF FF FE | 00 | space | name -> value (docs/FORMAT.md). */
#define KS_SYS_TENANT 0xfffffffeu
#define KS_MAX_TENANT 0xfffffffdu /* the largest id a tenant may get */
enum { KS_SYS_TENANTS = 'T', KS_SYS_RETIRED = 'D' };

/* *val (malloc'ed, caller frees) of record `name` in space, or KS_ENOTFOUND. */
int ks_sys_get(ks *k, int space, const uint8_t *name, size_t nlen, uint8_t **val, size_t *vlen);
/* Puts (val non-NULL) or deletes (val NULL) record `name`, committed (per appendfsync, like
 * every write) before returning. */
int ks_sys_put(ks *k, int space, const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen);
/* Several records at once, all or none (one engine batch). */
typedef struct ks_sys_rec {
    int space;
    const uint8_t *name;
    size_t nlen;
    const uint8_t *val; /* NULL: delete */
    size_t vlen;
} ks_sys_rec;
int ks_sys_put_many(ks *k, size_t n, const ks_sys_rec *recs);
/* Calls fn for every record of space in name order; stops early when fn returns non-zero. */
typedef int (*ks_sys_fn)(void *arg, const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen);
int ks_sys_scan(ks *k, int space, ks_sys_fn fn, void *arg);

/* A tenant's footprint, from one pass over its key range (every database and space): keys = its
 * records (expired ones not yet reclaimed included, as Redis's DBSIZE counts them), bytes = the
 * length of every engine key and value it owns (elements included). O(its entries). */
int ks_tenant_usage(ks *k, uint32_t tenant, uint64_t *keys, uint64_t *bytes);

/* TENANT DEL: retires a tenant id (ids are never reused). The compaction filter then drops every
 * key under it as compactions pass over them, so deleting a tenant costs O(1) now, and its data
 * leaves the disk with the next compactions of its range (COMPACT: at once). Nothing can read
 * the keys meanwhile: no connection can address a retired id. Call it for every retired id at
 * start too (the registry keeps them). KS_EINVAL for 0 (the default tenant) or a reserved id. */
int ks_tenant_retire(ks *k, uint32_t tenant);

/* Bytes an engine write of b adds (keys, values and per-entry framing): the quota estimate. */
size_t ks_batch_bytes(const ks_batch *b);

/* ---- expiry --------------------------------------------------------------------------------------- */

/* One active-expiry pass over the index entries due at now_ms, at most max_entries of them:
 * deletes expired keys and stale index entries. *expired counts keys deleted; *more says whether
 * due entries remain. Runs under the keys' locks. */
int ks_expire_cycle(ks *k, int64_t now_ms, size_t max_entries, uint64_t *expired, bool *more);

/* ---- maintenance and introspection ------------------------------------------------------------- */

int ks_flush_memtables(ks *k); /* SAVE / BGSAVE */
/* Compacts the whole database into its last level (COMPACT): garbage (deleted collections'
 * elements, expired records, tombstones) is dropped now rather than when compaction gets there. */
int ks_compact(ks *k);

/* Engine figures for INFO; appends "name:value\r\n" lines to a caller buffer via fn. */
typedef void (*ks_info_fn)(void *arg, const char *name, const char *value);
void ks_info_storage(ks *k, ks_info_fn fn, void *arg);

/* The engine's memory, by part (MEMORY STATS, MEMORY DOCTOR): bytes unless named otherwise. */
typedef struct ks_memory {
    uint64_t memtable_bytes, immutable_bytes; /* the active memtable; those waiting for a flush */
    uint64_t immutable_count;
    uint64_t write_buffer_bytes;              /* a memtable's size in effect */
    uint64_t cache_usage_bytes, cache_capacity_bytes, cache_pinned_bytes;
    uint64_t cache_hits, cache_misses;
    uint64_t table_reader_bytes;              /* indexes and filters of open tables */
    uint64_t open_tables;
    uint64_t memory_bytes;                    /* the sum the limit bounds */
    uint64_t memory_limit_bytes;              /* 0: none */
} ks_memory;
int ks_memory_stats(ks *k, ks_memory *out); /* 0, or the engine's error */

/* Engine bytes (key plus value, as stored before compression and without the engine's per-entry
 * framing) of what a key owns, for MEMORY USAGE: its record r, with its expiry index entry when
 * it has an expiry; and one entry of a collection's element spaces for an element of elen bytes
 * with a value of vlen (KS_ELEMS, KS_SCORES and KS_RANKS entries share the shape). */
uint64_t ks_record_bytes(size_t klen, const ks_rec *r);
uint64_t ks_elem_bytes(size_t klen, size_t elen, size_t vlen);

/* Whether the engine accepts writes now (st_db_write_status): 0, or the code of the stop (KS_EFATAL
 * after a failed WAL write or sync, KS_ENOSPC while short of space, KS_EIO/KS_ECORRUPT after a
 * failed background job) with msg saying why. 0 with a non-empty msg: a warning (retrying). */
int ks_write_status(ks *k, char *msg, size_t cap);

/* DEBUG FAULT: the engine's fault injection (strata/st_debug.h), process-wide. */
int ks_debug_fault_arm(const char *op, int nth, int err, bool persistent, const char *path_contains);
void ks_debug_fault_clear(void);

/* Write pacing while compaction lags: 0 with *micros to wait before a write of `bytes` (its slot
 * is reserved: 0 means go now), or KS_EBUSY while writes are stopped (ask again later). The
 * keyspace's own writes never sleep for it (the caller paces: net/conn.c parks the connection). */
int ks_write_delay(ks *k, size_t bytes, uint64_t *micros);
/* The engine's total time writers spent delayed or stopped (st_stats.write_stall_micros): for the
 * latency monitor's compaction-stall event. 0 or a status. */
int ks_write_stall_micros(ks *k, uint64_t *micros);

#endif
