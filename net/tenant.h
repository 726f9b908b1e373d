/* tenant.h -- the tenant registry: who may AUTH as which tenant, their quotas and usage.
 *
 * A tenant is a name, a password and a numeric id; every key of a tenant lives under its id
 * (keyspace.h: tenant u32 BE | db | ...), so tenants never see each other's data. Id 0 is the
 * default tenant, the administrator's (AUTH <requirepass>); tenant ids start at 1, are never
 * reused (a deleted tenant keeps a tombstone record holding its id), and stop at KS_MAX_TENANT.
 *
 * Persistence: one record per name in the keyspace's system space (ks_sys_*, docs/FORMAT.md
 * "Tenant records"): TENANT ADD / DEL / PASSWD / QUOTA write it before they answer. Passwords are
 * kept as SHA-256(salt || password) with a 16-byte random salt, never in clear.
 * The config file's [[tenant]] tables meet the stored records at start (tenant_reg_open):
 *   - a name the database has never seen is created from the file;
 *   - a record last written from the file takes the file's password and quotas (edit the file,
 *     restart: the change applies);
 *   - a record changed or deleted at runtime (TENANT PASSWD / QUOTA / DEL / ADD) keeps the runtime
 *     state: runtime changes persist across restarts, and a notice says the file was overridden.
 *
 * Usage and quotas: keys and bytes of a tenant come from an exact scan of its key range
 * (ks_tenant_usage), plus, between scans, an upper-bound estimate of what its writes added
 * (every record write may create a key; every written byte may stay). A tenant whose estimate
 * reaches a quota gets a fresh scan before it is refused, so overwrites do not lock it out. Scans
 * of one tenant are spaced by ten times the last one's duration (at most TENANT_RESCAN_MS): a
 * small tenant rescans at once, a big one spends at most a tenth of the time scanning, and may be
 * refused for up to TENANT_RESCAN_MS after its estimate (not its data) reached the quota.
 * Deletes are never refused.
 *
 * Threads: every function may be called from any worker thread. Entries are never freed before
 * tenant_reg_free, so a connection may keep a pointer to its tenant (tenant_ent). */
#ifndef STRATA_NET_TENANT_H
#define STRATA_NET_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keyspace.h"

/* A registry record's value (docs/FORMAT.md "Tenant records"), decoded; for the registry itself
 * and for offline tools (strata-sst). */
typedef struct tenant_record {
    uint32_t id;
    bool deleted, from_config;
    uint64_t max_bytes, max_keys;
} tenant_record;
/* 0, or KS_ECORRUPT for a value of the wrong size or format, or an id outside 1..KS_MAX_TENANT. */
int tenant_record_decode(const uint8_t *v, size_t vlen, tenant_record *out);

typedef struct tenant_reg tenant_reg;
typedef struct tenant_ent tenant_ent;

#define TENANT_RESCAN_MS 1000

/* Status codes beyond the keyspace's (KS_ENOTFOUND: no such tenant; KS_ENOMEM, KS_EIO, ...). */
enum {
    TENANT_EEXIST = -100,  /* TENANT ADD of a live name */
    TENANT_EFULL = -101,   /* ids exhausted, or CONFIG_MAX_TENANTS live tenants */
    TENANT_EINVAL = -102,  /* bad name or empty password */
    TENANT_EWRONGPASS = -103,
};

typedef struct tenant_stat {
    char name[CONFIG_TENANT_NAME_MAX + 1];
    uint32_t id;
    uint64_t max_bytes, max_keys; /* 0: no quota */
    uint64_t keys, bytes;         /* after tenant_stat_get: exact as of the call */
    uint64_t ops;                 /* commands run since the server started */
    uint64_t refused;             /* writes refused for the quota since the server started */
    bool from_config;             /* last written from the config file */
} tenant_stat;

/* log(arg, msg): notices about the file meeting the stored records. */
typedef void (*tenant_log_fn)(void *arg, const char *msg);

/* Loads the stored records and applies cfg's [[tenant]] tables as described at the top.
 * *out is the caller's (tenant_reg_free). Errors: a keyspace status, with err saying why. */
int tenant_reg_open(ks *k, const config *cfg, tenant_log_fn log, void *log_arg, tenant_reg **out, char *err,
                    size_t errlen);
void tenant_reg_free(tenant_reg *r); /* NULL-safe */

/* Live tenants. */
size_t tenant_count(tenant_reg *r);

/* Checks name/password in time independent of where they differ (and of whether the name
 * exists). 0 and *out (the live entry) on success; TENANT_EWRONGPASS otherwise. */
int tenant_auth(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen, tenant_ent **out);

/* Administration; each persists before returning. */
int tenant_add(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen, uint64_t max_bytes,
               uint64_t max_keys, uint32_t *id);
/* Marks the tenant deleted (its connections stop working: tenant_ent_alive turns false) and
 * returns its id for the caller to drop its data (ks_flush of every database). */
int tenant_del(tenant_reg *r, const uint8_t *name, size_t nlen, uint32_t *id);
int tenant_passwd(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen);
int tenant_set_quota(tenant_reg *r, const uint8_t *name, size_t nlen, const uint64_t *max_bytes,
                     const uint64_t *max_keys); /* NULL: unchanged */

/* Live tenants' names in name order; fn's name is valid during the call. */
typedef void (*tenant_name_fn)(void *arg, const char *name);
void tenant_list(tenant_reg *r, tenant_name_fn fn, void *arg);
/* Ids of every live tenant into *ids (malloc'ed, caller frees). */
int tenant_ids(tenant_reg *r, uint32_t **ids, size_t *n);

/* Fills *out with the live tenant `name`, scanning its key range for exact usage.
 * KS_ENOTFOUND if there is none. */
int tenant_stat_get(tenant_reg *r, const uint8_t *name, size_t nlen, tenant_stat *out);

/* ---- per command (on the hot path: atomics only, unless a rescan is due) ---------------------- */

uint32_t tenant_ent_id(const tenant_ent *e);
const char *tenant_ent_name(const tenant_ent *e);
bool tenant_ent_alive(const tenant_ent *e);
void tenant_note_op(tenant_ent *e);
/* After a write of `bytes` that put or deleted `records` records. */
void tenant_note_write(tenant_ent *e, size_t records, size_t bytes);
/* Whether a command that may grow e must be refused: NULL if not, else which quota ("bytes",
 * "keys"). May rescan e (see the top) first. */
const char *tenant_over_quota(tenant_reg *r, tenant_ent *e);

#endif
