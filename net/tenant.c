/* tenant.c -- the tenant registry (tenant.h).
 *
 * Record (ks_sys space 'T', name = the tenant's name), little-endian, 70 bytes:
 *   format u8 = 1 | flags u8 (bit 0 deleted, bit 1 last written from the config file) |
 *   id u32 | max_bytes u64 | max_keys u64 | salt [16] | SHA-256(salt || password) [32]
 * Invariants: names are unique among entries (deleted ones included, until a TENANT ADD of the
 * name replaces the tombstone; the replaced entry moves to `dead` so pointers held by connections
 * stay valid); next_id is above every id ever stored, so ids are never reused. */
#include "tenant.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "sha256.h"

#define REC_FORMAT 1
#define REC_BYTES 70
#define SALT_BYTES 16
#define F_DELETED 0x1
#define F_FROM_CONFIG 0x2

struct tenant_ent {
    char name[CONFIG_TENANT_NAME_MAX + 1];
    size_t nlen;
    uint32_t id;
    _Atomic bool alive;
    bool from_config;           /* under reg->lock */
    uint8_t salt[SALT_BYTES];   /* under reg->lock */
    uint8_t digest[SHA256_BYTES];
    _Atomic uint64_t max_bytes, max_keys;
    _Atomic uint64_t base_keys, base_bytes;   /* the last scan */
    _Atomic uint64_t delta_keys, delta_bytes; /* upper bound of growth since it */
    _Atomic int64_t last_scan_ms;             /* 0: never scanned */
    _Atomic int64_t scan_cost_us;             /* how long the last scan took */
    _Atomic uint64_t ops, refused;
    pthread_mutex_t scan_mu;
    tenant_reg *reg;
};

struct tenant_reg {
    ks *k;
    pthread_rwlock_t lock;
    tenant_ent **ents; /* one per name */
    size_t n, cap;
    tenant_ent **dead; /* replaced tombstones, freed with the registry */
    size_t ndead, deadcap;
    uint32_t next_id;
};

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
static int64_t mono_ms(void) { return mono_us() / 1000; }

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t le32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Equal in time that depends only on n. */
static bool ct_equal(const uint8_t *a, const uint8_t *b, size_t n) {
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

static int new_salt(uint8_t salt[SALT_BYTES]) {
    size_t got = 0;
    while (got < SALT_BYTES) {
        ssize_t r = getrandom(salt + got, SALT_BYTES - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return KS_EIO;
        got += (size_t)r;
    }
    return 0;
}

static int set_password(tenant_ent *e, const uint8_t *pw, size_t plen) {
    int rc = new_salt(e->salt);
    if (!rc) sha256_2(e->salt, SALT_BYTES, pw, plen, e->digest);
    return rc;
}

static bool password_is(const tenant_ent *e, const uint8_t *pw, size_t plen) {
    uint8_t d[SHA256_BYTES];
    sha256_2(e->salt, SALT_BYTES, pw, plen, d);
    return ct_equal(d, e->digest, SHA256_BYTES);
}

static void encode(const tenant_ent *e, uint8_t v[REC_BYTES]) {
    v[0] = REC_FORMAT;
    v[1] = (uint8_t)((atomic_load(&e->alive) ? 0 : F_DELETED) | (e->from_config ? F_FROM_CONFIG : 0));
    put_le32(v + 2, e->id);
    put_le64(v + 6, atomic_load(&e->max_bytes));
    put_le64(v + 14, atomic_load(&e->max_keys));
    memcpy(v + 22, e->salt, SALT_BYTES);
    memcpy(v + 38, e->digest, SHA256_BYTES);
}

static int persist(tenant_reg *r, const tenant_ent *e) {
    uint8_t v[REC_BYTES];
    encode(e, v);
    return ks_sys_put(r->k, KS_SYS_TENANTS, (const uint8_t *)e->name, e->nlen, v, sizeof v);
}

static tenant_ent *ent_new(tenant_reg *r, const uint8_t *name, size_t nlen, uint32_t id) {
    tenant_ent *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    memcpy(e->name, name, nlen);
    e->nlen = nlen;
    e->id = id;
    e->reg = r;
    pthread_mutex_init(&e->scan_mu, NULL);
    return e;
}

static void ent_free(tenant_ent *e) {
    if (!e) return;
    pthread_mutex_destroy(&e->scan_mu);
    free(e);
}

static tenant_ent *find(const tenant_reg *r, const uint8_t *name, size_t nlen) {
    for (size_t i = 0; i < r->n; i++)
        if (r->ents[i]->nlen == nlen && memcmp(r->ents[i]->name, name, nlen) == 0) return r->ents[i];
    return NULL;
}

static int push(tenant_ent ***arr, size_t *n, size_t *cap, tenant_ent *e) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        tenant_ent **a = realloc(*arr, nc * sizeof *a);
        if (!a) return KS_ENOMEM;
        *arr = a;
        *cap = nc;
    }
    (*arr)[(*n)++] = e;
    return 0;
}

static size_t live_count(const tenant_reg *r) {
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) n += atomic_load(&r->ents[i]->alive);
    return n;
}

/* ---- open --------------------------------------------------------------------------------------- */

typedef struct load_ctx {
    tenant_reg *r;
    int rc;
    char *err;
    size_t errlen;
} load_ctx;

int tenant_record_decode(const uint8_t *v, size_t vlen, tenant_record *out) {
    memset(out, 0, sizeof *out);
    if (vlen != REC_BYTES || v[0] != REC_FORMAT) return KS_ECORRUPT;
    out->id = le32(v + 2);
    out->deleted = v[1] & F_DELETED;
    out->from_config = v[1] & F_FROM_CONFIG;
    out->max_bytes = le64(v + 6);
    out->max_keys = le64(v + 14);
    return out->id == 0 || out->id > KS_MAX_TENANT ? KS_ECORRUPT : 0;
}

static int load_one(void *arg, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen) {
    load_ctx *lc = arg;
    tenant_record tr;
    if (vlen != REC_BYTES || v[0] != REC_FORMAT || !config_tenant_name_ok((const char *)name, nlen)) {
        snprintf(lc->err, lc->errlen, "tenant record '%.*s' is damaged (%zu bytes, format %d)", (int)(nlen > 64 ? 64 : nlen),
                 (const char *)name, vlen, vlen ? v[0] : -1);
        lc->rc = KS_ECORRUPT;
        return 1;
    }
    if (tenant_record_decode(v, vlen, &tr)) {
        snprintf(lc->err, lc->errlen, "tenant record '%.*s' has id %u, outside 1..%u", (int)nlen, (const char *)name, tr.id,
                 KS_MAX_TENANT);
        lc->rc = KS_ECORRUPT;
        return 1;
    }
    uint32_t id = tr.id;
    tenant_ent *e = ent_new(lc->r, name, nlen, id);
    if (!e || push(&lc->r->ents, &lc->r->n, &lc->r->cap, e)) {
        ent_free(e);
        lc->rc = KS_ENOMEM;
        return 1;
    }
    atomic_store(&e->alive, !tr.deleted);
    e->from_config = tr.from_config;
    atomic_store(&e->max_bytes, tr.max_bytes);
    atomic_store(&e->max_keys, tr.max_keys);
    memcpy(e->salt, v + 22, SALT_BYTES);
    memcpy(e->digest, v + 38, SHA256_BYTES);
    if (id >= lc->r->next_id) lc->r->next_id = id + 1;
    return 0;
}

/* A retired id: 'D' record named by the id (u32 BE), empty value. */
static int load_retired(void *arg, const uint8_t *name, size_t nlen, const uint8_t *v, size_t vlen) {
    (void)v;
    if (nlen != 4 || vlen != 0) return 0; /* not ours to judge: ignore */
    uint32_t id = (uint32_t)name[0] << 24 | (uint32_t)name[1] << 16 | (uint32_t)name[2] << 8 | name[3];
    return ks_tenant_retire(arg, id) == KS_ENOMEM;
}

static void logf_(tenant_log_fn log, void *arg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(tenant_log_fn log, void *arg, const char *fmt, ...) {
    if (!log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log(arg, msg);
}

/* One [[tenant]] table meets the stored state (tenant.h). */
static int apply_config_tenant(tenant_reg *r, const config_tenant *ct, const char *file, tenant_log_fn log, void *arg) {
    size_t nlen = strlen(ct->name), plen = strlen(ct->password);
    const uint8_t *name = (const uint8_t *)ct->name, *pw = (const uint8_t *)ct->password;
    tenant_ent *e = find(r, name, nlen);
    if (!e) {
        if (r->next_id > KS_MAX_TENANT) return TENANT_EFULL;
        if (!(e = ent_new(r, name, nlen, r->next_id))) return KS_ENOMEM;
        int rc = push(&r->ents, &r->n, &r->cap, e);
        if (rc) {
            ent_free(e);
            return rc;
        }
        r->next_id++;
        atomic_store(&e->alive, true);
        e->from_config = true;
        atomic_store(&e->max_bytes, ct->max_bytes);
        atomic_store(&e->max_keys, ct->max_keys);
        if ((rc = set_password(e, pw, plen)) || (rc = persist(r, e))) return rc;
        logf_(log, arg, "tenant '%s' created from %s:%d (id %u)", ct->name, file, ct->line, e->id);
        return 0;
    }
    if (!e->from_config) {
        logf_(log, arg,
              "tenant '%s': %s:%d is ignored: the tenant was %s at runtime (TENANT), and runtime changes persist",
              ct->name, file, ct->line, atomic_load(&e->alive) ? "changed" : "deleted");
        return 0;
    }
    bool changed = !password_is(e, pw, plen) || atomic_load(&e->max_bytes) != ct->max_bytes ||
                   atomic_load(&e->max_keys) != ct->max_keys;
    if (!changed) return 0;
    int rc = password_is(e, pw, plen) ? 0 : set_password(e, pw, plen);
    atomic_store(&e->max_bytes, ct->max_bytes);
    atomic_store(&e->max_keys, ct->max_keys);
    if (!rc) rc = persist(r, e);
    if (!rc) logf_(log, arg, "tenant '%s' updated from %s:%d", ct->name, file, ct->line);
    return rc;
}

int tenant_reg_open(ks *k, const config *cfg, tenant_log_fn log, void *log_arg, tenant_reg **out, char *err,
                    size_t errlen) {
    *out = NULL;
    tenant_reg *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return KS_ENOMEM;
    }
    r->k = k;
    r->next_id = 1;
    pthread_rwlock_init(&r->lock, NULL);
    load_ctx lc = {r, 0, err, errlen};
    int rc = ks_sys_scan(k, KS_SYS_TENANTS, load_one, &lc);
    if (!rc) rc = lc.rc;
    else snprintf(err, errlen, "reading the tenant records: error %d", rc);
    if (!rc && (rc = ks_sys_scan(k, KS_SYS_RETIRED, load_retired, k)))
        snprintf(err, errlen, "reading the retired tenant ids: error %d", rc);
    for (size_t i = 0; i < r->n && !rc; i++)
        if (!atomic_load(&r->ents[i]->alive)) rc = ks_tenant_retire(k, r->ents[i]->id);
    const char *file = cfg->config_file ? cfg->config_file : "the configuration";
    for (size_t i = 0; i < cfg->n_tenants && !rc; i++) {
        if ((rc = apply_config_tenant(r, &cfg->tenants[i], file, log, log_arg)))
            snprintf(err, errlen, "tenant '%s' (%s:%d): cannot store it (error %d)", cfg->tenants[i].name, file,
                     cfg->tenants[i].line, rc);
    }
    if (rc) {
        tenant_reg_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void tenant_reg_free(tenant_reg *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) ent_free(r->ents[i]);
    for (size_t i = 0; i < r->ndead; i++) ent_free(r->dead[i]);
    free(r->ents);
    free(r->dead);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

size_t tenant_count(tenant_reg *r) {
    pthread_rwlock_rdlock(&r->lock);
    size_t n = live_count(r);
    pthread_rwlock_unlock(&r->lock);
    return n;
}

/* ---- authentication ----------------------------------------------------------------------------- */

int tenant_auth(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen, tenant_ent **out) {
    *out = NULL;
    /* an unknown name costs the same digest as a known one */
    static const uint8_t dummy_salt[SALT_BYTES];
    uint8_t d[SHA256_BYTES];
    pthread_rwlock_rdlock(&r->lock);
    tenant_ent *e = find(r, name, nlen);
    bool live = e && atomic_load(&e->alive);
    sha256_2(live ? e->salt : dummy_salt, SALT_BYTES, pw, plen, d);
    bool ok = live && ct_equal(d, e->digest, SHA256_BYTES);
    pthread_rwlock_unlock(&r->lock);
    if (!ok) return TENANT_EWRONGPASS;
    *out = e;
    return 0;
}

/* ---- administration ----------------------------------------------------------------------------- */

int tenant_add(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen, uint64_t max_bytes,
               uint64_t max_keys, uint32_t *id) {
    if (!config_tenant_name_ok((const char *)name, nlen) || plen == 0) return TENANT_EINVAL;
    pthread_rwlock_wrlock(&r->lock);
    int rc = 0;
    tenant_ent *old = find(r, name, nlen), *e = NULL;
    if (old && atomic_load(&old->alive)) rc = TENANT_EEXIST;
    else if (r->next_id > KS_MAX_TENANT || live_count(r) >= CONFIG_MAX_TENANTS) rc = TENANT_EFULL;
    else if (!(e = ent_new(r, name, nlen, r->next_id))) rc = KS_ENOMEM;
    if (!rc) {
        atomic_store(&e->alive, true);
        atomic_store(&e->max_bytes, max_bytes);
        atomic_store(&e->max_keys, max_keys);
        atomic_store(&e->last_scan_ms, mono_ms()); /* a new id owns no keys */
        rc = set_password(e, pw, plen);
    }
    if (!rc && old) rc = push(&r->dead, &r->ndead, &r->deadcap, old);
    if (!rc && !old) rc = push(&r->ents, &r->n, &r->cap, e);
    if (!rc) {
        if (old) {
            for (size_t i = 0; i < r->n; i++)
                if (r->ents[i] == old) r->ents[i] = e;
        }
        r->next_id++;
        *id = e->id;
        if ((rc = persist(r, e))) atomic_store(&e->alive, false); /* not answered: not there */
    } else {
        ent_free(e);
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int tenant_del(tenant_reg *r, const uint8_t *name, size_t nlen, uint32_t *id) {
    pthread_rwlock_wrlock(&r->lock);
    tenant_ent *e = find(r, name, nlen);
    int rc = e && atomic_load(&e->alive) ? 0 : KS_ENOTFOUND;
    if (!rc) {
        atomic_store(&e->alive, false);
        bool was = e->from_config;
        e->from_config = false;
        /* the tombstone and the retired id in one batch: a later TENANT ADD of the name replaces
         * the tombstone, and the compaction filter must still know this id after a restart */
        uint8_t v[REC_BYTES];
        encode(e, v);
        uint8_t idb[4] = {(uint8_t)(e->id >> 24), (uint8_t)(e->id >> 16), (uint8_t)(e->id >> 8), (uint8_t)e->id};
        ks_sys_rec recs[2] = {{KS_SYS_TENANTS, (const uint8_t *)e->name, e->nlen, v, sizeof v},
                              {KS_SYS_RETIRED, idb, 4, (const uint8_t *)"", 0}};
        if ((rc = ks_sys_put_many(r->k, 2, recs))) {
            atomic_store(&e->alive, true);
            e->from_config = was;
        } else {
            *id = e->id;
            rc = ks_tenant_retire(r->k, e->id); /* its data goes with the compactions */
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int tenant_passwd(tenant_reg *r, const uint8_t *name, size_t nlen, const uint8_t *pw, size_t plen) {
    if (plen == 0) return TENANT_EINVAL;
    pthread_rwlock_wrlock(&r->lock);
    tenant_ent *e = find(r, name, nlen);
    int rc = e && atomic_load(&e->alive) ? 0 : KS_ENOTFOUND;
    if (!rc) {
        tenant_ent saved = *e;
        if (!(rc = set_password(e, pw, plen))) {
            e->from_config = false;
            rc = persist(r, e);
        }
        if (rc) {
            memcpy(e->salt, saved.salt, SALT_BYTES);
            memcpy(e->digest, saved.digest, SHA256_BYTES);
            e->from_config = saved.from_config;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int tenant_set_quota(tenant_reg *r, const uint8_t *name, size_t nlen, const uint64_t *max_bytes,
                     const uint64_t *max_keys) {
    pthread_rwlock_wrlock(&r->lock);
    tenant_ent *e = find(r, name, nlen);
    int rc = e && atomic_load(&e->alive) ? 0 : KS_ENOTFOUND;
    if (!rc) {
        uint64_t ob = atomic_load(&e->max_bytes), ok = atomic_load(&e->max_keys);
        bool was = e->from_config;
        if (max_bytes) atomic_store(&e->max_bytes, *max_bytes);
        if (max_keys) atomic_store(&e->max_keys, *max_keys);
        e->from_config = false;
        if ((rc = persist(r, e))) {
            atomic_store(&e->max_bytes, ob);
            atomic_store(&e->max_keys, ok);
            e->from_config = was;
        } else {
            /* without a quota nothing tracked its writes: the next check scans first */
            atomic_store(&e->last_scan_ms, 0);
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

static int cmp_ent_name(const void *a, const void *b) {
    const tenant_ent *x = *(tenant_ent *const *)a, *y = *(tenant_ent *const *)b;
    return strcmp(x->name, y->name);
}

void tenant_list(tenant_reg *r, tenant_name_fn fn, void *arg) {
    pthread_rwlock_rdlock(&r->lock);
    tenant_ent **v = malloc((r->n ? r->n : 1) * sizeof *v);
    size_t m = 0;
    if (v) {
        for (size_t i = 0; i < r->n; i++)
            if (atomic_load(&r->ents[i]->alive)) v[m++] = r->ents[i];
        qsort(v, m, sizeof *v, cmp_ent_name);
        for (size_t i = 0; i < m; i++) fn(arg, v[i]->name);
    }
    pthread_rwlock_unlock(&r->lock);
    free(v);
}

int tenant_ids(tenant_reg *r, uint32_t **ids, size_t *n) {
    pthread_rwlock_rdlock(&r->lock);
    *n = 0;
    *ids = malloc((r->n ? r->n : 1) * sizeof **ids);
    int rc = *ids ? 0 : KS_ENOMEM;
    for (size_t i = 0; !rc && i < r->n; i++)
        if (atomic_load(&r->ents[i]->alive)) (*ids)[(*n)++] = r->ents[i]->id;
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

/* ---- usage ---------------------------------------------------------------------------------------- */

/* Exact usage now: the deltas restart before the scan, so a write racing it is counted twice at
 * worst (the estimate stays an upper bound). Caller holds e->scan_mu. */
static int rescan(tenant_ent *e) {
    atomic_store(&e->delta_keys, 0);
    atomic_store(&e->delta_bytes, 0);
    uint64_t keys, bytes;
    int64_t t0 = mono_us();
    int rc = ks_tenant_usage(e->reg->k, e->id, &keys, &bytes);
    if (rc) {
        /* keep the estimate an upper bound: what the scan should have replaced comes back */
        atomic_fetch_add(&e->delta_keys, atomic_load(&e->base_keys));
        atomic_fetch_add(&e->delta_bytes, atomic_load(&e->base_bytes));
        return rc;
    }
    atomic_store(&e->base_keys, keys);
    atomic_store(&e->base_bytes, bytes);
    int64_t t1 = mono_us();
    atomic_store(&e->scan_cost_us, t1 - t0);
    atomic_store(&e->last_scan_ms, t1 / 1000 > 0 ? t1 / 1000 : 1);
    return 0;
}

int tenant_stat_get(tenant_reg *r, const uint8_t *name, size_t nlen, tenant_stat *out) {
    memset(out, 0, sizeof *out);
    pthread_rwlock_rdlock(&r->lock);
    tenant_ent *e = find(r, name, nlen);
    if (!e || !atomic_load(&e->alive)) {
        pthread_rwlock_unlock(&r->lock);
        return KS_ENOTFOUND;
    }
    memcpy(out->name, e->name, e->nlen + 1);
    out->id = e->id;
    out->from_config = e->from_config;
    pthread_rwlock_unlock(&r->lock);
    pthread_mutex_lock(&e->scan_mu);
    int rc = rescan(e);
    pthread_mutex_unlock(&e->scan_mu);
    out->max_bytes = atomic_load(&e->max_bytes);
    out->max_keys = atomic_load(&e->max_keys);
    out->keys = atomic_load(&e->base_keys);
    out->bytes = atomic_load(&e->base_bytes);
    out->ops = atomic_load(&e->ops);
    out->refused = atomic_load(&e->refused);
    return rc;
}

uint32_t tenant_ent_id(const tenant_ent *e) { return e->id; }
const char *tenant_ent_name(const tenant_ent *e) { return e->name; }
bool tenant_ent_alive(const tenant_ent *e) { return atomic_load_explicit(&e->alive, memory_order_relaxed); }

void tenant_note_op(tenant_ent *e) { atomic_fetch_add_explicit(&e->ops, 1, memory_order_relaxed); }

void tenant_note_write(tenant_ent *e, size_t records, size_t bytes) {
    if (!atomic_load_explicit(&e->max_bytes, memory_order_relaxed) &&
        !atomic_load_explicit(&e->max_keys, memory_order_relaxed))
        return; /* nothing to enforce: usage comes from a scan when asked */
    atomic_fetch_add_explicit(&e->delta_keys, records, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->delta_bytes, bytes, memory_order_relaxed);
}

static const char *over(tenant_ent *e, uint64_t mb, uint64_t mk) {
    if (mk && atomic_load(&e->base_keys) + atomic_load(&e->delta_keys) >= mk) return "keys";
    if (mb && atomic_load(&e->base_bytes) + atomic_load(&e->delta_bytes) >= mb) return "bytes";
    return NULL;
}

const char *tenant_over_quota(tenant_reg *r, tenant_ent *e) {
    (void)r;
    uint64_t mb = atomic_load_explicit(&e->max_bytes, memory_order_relaxed);
    uint64_t mk = atomic_load_explicit(&e->max_keys, memory_order_relaxed);
    if (!mb && !mk) return NULL;
    int64_t last = atomic_load(&e->last_scan_ms);
    const char *which = last ? over(e, mb, mk) : "unknown";
    if (!which) return NULL;
    /* the estimate says full: it may count overwrites as growth; look again if allowed to */
    bool estimated = atomic_load(&e->delta_keys) || atomic_load(&e->delta_bytes) || !last;
    /* scans take at most a tenth of the time (a small tenant rescans at once, a big one waits) */
    int64_t gap_us = 10 * atomic_load(&e->scan_cost_us);
    if (gap_us > TENANT_RESCAN_MS * 1000) gap_us = TENANT_RESCAN_MS * 1000;
    if (estimated && (!last || mono_us() - last * 1000 >= gap_us) && pthread_mutex_trylock(&e->scan_mu) == 0) {
        if (atomic_load(&e->last_scan_ms) == last) rescan(e);
        pthread_mutex_unlock(&e->scan_mu);
        which = atomic_load(&e->last_scan_ms) ? over(e, mb, mk) : "unknown";
    }
    if (which && !strcmp(which, "unknown")) which = NULL; /* no scan yet (it failed): do not lock out */
    if (which) atomic_fetch_add_explicit(&e->refused, 1, memory_order_relaxed);
    return which;
}
