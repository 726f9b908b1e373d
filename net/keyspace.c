/* keyspace.c -- see keyspace.h for the encoding and invariants K1-K3.
 *
 * The expiry index lives in one global space after every tenant (tenant id 0xffffffff is
 * reserved): FF FF FF FF | 'X' | expire_ms u64 BE | tenant u32 BE | db u8 | user key, so one range
 * scan from the start of the space to `now` finds every due key of every tenant and database. */
#include "keyspace.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata/st.h"
#include "strata/st_debug.h"

#define KS_STRIPES 1024
#define KS_NS_BYTES 5            /* tenant u32 BE | db u8 */
#define KS_META_PREFIX 6         /* ns | 'M' */
#define KS_FLAG_EXPIRE 0x10
#define KS_TYPE_MASK 0x0f
#define KS_XP_PREFIX 5           /* FF FF FF FF 'X' */
#define KS_SPACE_META 'M'
#define KS_SPACE_EXPIRY 'X'

typedef struct ks_txn ks_txn;

/* A database handle, or a transaction's handle (txn != NULL) that reads through to the same db. */
/* Retired tenant ids, sorted: an immutable array replaced whole on each retirement, so the
 * compaction filter reads it without a lock; replaced arrays are freed at ks_close. */
typedef struct ks_retired {
    struct ks_retired *older;
    size_t n;
    uint32_t ids[];
} ks_retired;

struct ks {
    st_db *db;
    _Atomic(st_db *) filter_db; /* what the compaction filter reads: NULL until open returned */
    _Atomic(ks_retired *) retired; /* NULL: none; only the database's ks (not a transaction's) */
    pthread_mutex_t retire_mu;  /* serialises ks_tenant_retire */
    pthread_mutex_t *stripes;   /* KS_STRIPES; a transaction shares its database's */
    ks_txn *txn;
};

struct ks_batch {
    st_batch *b;
    size_t n;
};

/* ---- small byte builder ------------------------------------------------------------------------ */

typedef struct kbuf {
    uint8_t *p;
    size_t len, cap;
    uint8_t stack[256];
} kbuf;

static void kb_init(kbuf *b) {
    b->p = b->stack;
    b->len = 0;
    b->cap = sizeof b->stack;
}
static void kb_free(kbuf *b) {
    if (b->p != b->stack) free(b->p);
    kb_init(b);
}
static int kb_put(kbuf *b, const void *d, size_t n) {
    if (b->cap - b->len < n) {
        size_t cap = b->cap * 2;
        while (cap - b->len < n) cap *= 2;
        uint8_t *p = b->p == b->stack ? malloc(cap) : realloc(b->p, cap);
        if (!p) return KS_ENOMEM;
        if (b->p == b->stack) memcpy(p, b->stack, b->len);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}
static int kb_u8(kbuf *b, uint8_t v) { return kb_put(b, &v, 1); }
static int kb_be32(kbuf *b, uint32_t v) {
    uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return kb_put(b, t, 4);
}
static int kb_be64(kbuf *b, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (56 - 8 * i));
    return kb_put(b, t, 8);
}
static int kb_le64(kbuf *b, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    return kb_put(b, t, 8);
}
static uint64_t get_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}
static uint32_t get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static st_slice kb_slice(const kbuf *b) { return st_slice_make(b->p, b->len); }

#define META_PREFIX_BYTES 6

/* What every meta key of ns starts with: tenant (BE32), db, KS_SPACE_META. */
static void meta_prefix(uint8_t *p, ks_ns ns) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(ns.tenant >> (24 - 8 * i));
    p[4] = ns.db;
    p[5] = KS_SPACE_META;
}

static int meta_key(kbuf *b, ks_ns ns, const uint8_t *key, size_t klen) {
    uint8_t p[META_PREFIX_BYTES];
    meta_prefix(p, ns);
    int rc = kb_put(b, p, sizeof p);
    if (!rc) rc = kb_put(b, key, klen);
    return rc;
}

static int expiry_key(kbuf *b, ks_ns ns, const uint8_t *key, size_t klen, int64_t expire_ms) {
    int rc = kb_be32(b, UINT32_MAX);
    if (!rc) rc = kb_u8(b, KS_SPACE_EXPIRY);
    if (!rc) rc = kb_be64(b, (uint64_t)expire_ms);
    if (!rc) rc = kb_be32(b, ns.tenant);
    if (!rc) rc = kb_u8(b, ns.db);
    if (!rc) rc = kb_put(b, key, klen);
    return rc;
}

/* Record value: flags | [expire LE] | payload. */
static int record_value(kbuf *b, int type, int64_t expire_ms, const uint8_t *payload, size_t plen) {
    int rc = kb_u8(b, (uint8_t)(type | (expire_ms ? KS_FLAG_EXPIRE : 0)));
    if (!rc && expire_ms) rc = kb_le64(b, (uint64_t)expire_ms);
    if (!rc) rc = kb_put(b, payload, plen);
    return rc;
}

/* Takes ownership of raw. KS_ECORRUPT on a malformed record. */
static int decode_record(uint8_t *raw, size_t len, ks_rec *out) {
    memset(out, 0, sizeof *out);
    if (len < 1) goto bad;
    int type = raw[0] & KS_TYPE_MASK;
    if (type < KS_STRING || type > KS_ZSET) goto bad;
    size_t off = 1;
    if (raw[0] & KS_FLAG_EXPIRE) {
        if (len < 9) goto bad;
        out->expire_ms = (int64_t)get_le64(raw + 1);
        off = 9;
    }
    out->type = type;
    out->raw = raw;
    out->raw_len = len;
    out->payload = raw + off;
    out->payload_len = len - off;
    return 0;
bad:
    free(raw);
    return KS_ECORRUPT;
}

static bool expired(const ks_rec *r, int64_t now_ms) { return r->expire_ms && r->expire_ms <= now_ms; }

void ks_rec_free(ks_rec *r) {
    if (!r) return;
    free(r->raw);
    memset(r, 0, sizeof *r);
}

const char *ks_errmsg(void) { return st_errmsg(); }
const char *ks_strerror(int rc) { return st_strerror(rc); }

static size_t prefix_successor(uint8_t *p, size_t n);
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* ---- transactions: the write overlay ------------------------------------------------------------ */

/* One engine key's newest state in a transaction. */
typedef struct ovl_ent {
    uint8_t *key, *val;
    size_t klen, vlen;
    uint64_t hash;
    bool del;
} ovl_ent;

/* Invariants: `ents` holds each key once (in first-write order), `slots` indexes them by hash
 * (open addressing, index + 1, load <= 1/2), `order` lists them sorted by key once ovl_sort ran
 * after the last new key (nsorted == n); `batch` holds every write of the transaction in order
 * (what commit applies), `ents` their net effect (what reads see). Point reads and writes are
 * O(1); an iterator sorts what changed since the last one (O(n log n)). */
struct ks_txn {
    ovl_ent *ents;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
    uint32_t *order;
    size_t nsorted;
    st_batch *batch;
    uint64_t next_version; /* 0 until a collection is created in the transaction */
    uint32_t *held;        /* stripes locked, sorted */
    size_t nheld;
    bool all;              /* every stripe is locked */
};

static bool realloc_ents(ks_txn *t) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    ovl_ent *e = realloc(t->ents, cap * sizeof *e);
    if (!e) return false;
    t->ents = e;
    t->cap = cap;
    return true;
}

static uint64_t ovl_hash(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static ovl_ent *ovl_find_mut(const ks_txn *t, st_slice key) {
    if (!t->nslots) return NULL;
    uint64_t h = ovl_hash(key.data, key.len);
    for (size_t i = h & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
        uint32_t s = t->slots[i];
        if (!s) return NULL;
        ovl_ent *e = &t->ents[s - 1];
        if (e->hash == h && e->klen == key.len && !bytes_cmp(e->key, e->klen, key.data, key.len)) return e;
    }
}

static const ovl_ent *ovl_find(const ks_txn *t, st_slice key) { return ovl_find_mut(t, key); }

static int ovl_rehash(ks_txn *t, size_t nslots) {
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return KS_ENOMEM;
    for (size_t j = 0; j < t->n; j++) {
        size_t i = t->ents[j].hash & (nslots - 1);
        while (slots[i]) i = (i + 1) & (nslots - 1);
        slots[i] = (uint32_t)(j + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static int ovl_set(ks_txn *t, st_slice key, st_slice val, bool del) {
    uint8_t *v = malloc(val.len ? val.len : 1);
    if (!v) return KS_ENOMEM;
    if (val.len) memcpy(v, val.data, val.len);
    ovl_ent *e = ovl_find_mut(t, key);
    if (!e) {
        if (t->n >= UINT32_MAX - 1) {
            free(v);
            return KS_ENOMEM; /* a transaction of four billion keys */
        }
        if (2 * (t->n + 1) > t->nslots && ovl_rehash(t, t->nslots ? 2 * t->nslots : 64)) {
            free(v);
            return KS_ENOMEM;
        }
        uint8_t *k = malloc(key.len ? key.len : 1);
        if (!k || (t->n == t->cap && !realloc_ents(t))) {
            free(k);
            free(v);
            return KS_ENOMEM;
        }
        if (key.len) memcpy(k, key.data, key.len);
        e = &t->ents[t->n];
        *e = (ovl_ent){.key = k, .klen = key.len, .hash = ovl_hash(key.data, key.len)};
        size_t i = e->hash & (t->nslots - 1);
        while (t->slots[i]) i = (i + 1) & (t->nslots - 1);
        t->slots[i] = (uint32_t)(t->n + 1);
        t->n++;
    } else {
        free(e->val);
    }
    e->val = v;
    e->vlen = val.len;
    e->del = del;
    return 0;
}

/* Sorting `order` by key: qsort's comparator gets no context, so the entries are passed through
 * this thread's pointer for the duration of the sort. */
static _Thread_local const ovl_ent *sort_ents;

static int order_cmp(const void *a, const void *b) {
    const ovl_ent *x = &sort_ents[*(const uint32_t *)a], *y = &sort_ents[*(const uint32_t *)b];
    return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

static int ovl_sort(ks_txn *t) {
    if (t->nsorted == t->n) return 0;
    uint32_t *o = realloc(t->order, (t->n ? t->n : 1) * sizeof *o);
    if (!o) return KS_ENOMEM;
    t->order = o;
    for (size_t i = 0; i < t->n; i++) o[i] = (uint32_t)i;
    sort_ents = t->ents;
    qsort(o, t->n, sizeof *o, order_cmp);
    sort_ents = NULL;
    t->nsorted = t->n;
    return 0;
}

static const ovl_ent *ovl_at(const ks_txn *t, size_t i) { return &t->ents[t->order[i]]; }

/* First position in `order` (sorted: ovl_sort ran) with key >= (p, n). */
static size_t ovl_lower(const ks_txn *t, const uint8_t *p, size_t n) {
    size_t lo = 0, hi = t->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const ovl_ent *e = ovl_at(t, mid);
        if (bytes_cmp(e->key, e->klen, p, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int txn_apply_op(void *arg, bool is_delete, st_slice key, st_slice value) {
    ks_txn *t = arg;
    int rc = is_delete ? st_batch_delete(t->batch, key) : st_batch_put(t->batch, key, value);
    return rc ? rc : ovl_set(t, key, value, is_delete);
}

/* ---- merged cursor: an engine iterator with a transaction's overlay on top ------------------------- */

/* Over [lower, upper) (upper empty: unbounded), either way. Overlay entries shadow engine keys; an
 * overlay delete hides its key. Views stay valid until the next move or a write to the overlay.
 * A run of moves goes one way: next after a forward positioning (mc_seek), prev after a backward
 * one (mc_seek_last, mc_seek_for_prev). */
typedef struct mcur {
    st_iter *it;
    const ks_txn *t;      /* NULL: the engine alone */
    size_t oi, olo, ohi;  /* overlay position; the range's entries are [olo, ohi) */
    int src;              /* 0 engine, 1 overlay, -1 exhausted */
} mcur;

static int mc_open(ks *k, mcur *m, st_slice lower, st_slice upper) {
    memset(m, 0, sizeof *m);
    st_read_options ro = {.lower = lower, .upper = upper};
    int rc = st_db_iter_new(k->db, &ro, &m->it);
    if (rc) return rc;
    m->t = k->txn;
    if (m->t) {
        if ((rc = ovl_sort(k->txn))) {
            st_iter_free(m->it);
            m->it = NULL;
            return rc;
        }
        m->olo = ovl_lower(m->t, lower.data, lower.len);
        m->ohi = upper.len ? ovl_lower(m->t, upper.data, upper.len) : m->t->nsorted;
    }
    m->src = -1;
    return 0;
}

/* Backward: the larger of the engine's key and the overlay's wins; oi == olo - 1 wraps to SIZE_MAX
 * when olo is 0, which the bound check treats as exhausted. */
static void mc_settle_rev(mcur *m) {
    for (;;) {
        bool ev = st_iter_valid(m->it), ov = m->t && m->oi >= m->olo && m->oi < m->ohi;
        if (!ov) {
            m->src = ev ? 0 : -1;
            return;
        }
        const ovl_ent *o = ovl_at(m->t, m->oi);
        int c = ev ? bytes_cmp(o->key, o->klen, st_iter_key(m->it).data, st_iter_key(m->it).len) : 1;
        if (c < 0) {
            m->src = 0;
            return;
        }
        if (c == 0) st_iter_prev(m->it); /* shadowed */
        if (!o->del) {
            m->src = 1;
            return;
        }
        m->oi--;
    }
}

static void mc_seek_last(mcur *m) {
    st_iter_seek_last(m->it);
    if (m->t) m->oi = m->ohi - 1;
    mc_settle_rev(m);
}

/* To the last key <= target. */
static void mc_seek_for_prev(mcur *m, st_slice target) {
    st_iter_seek_for_prev(m->it, target);
    if (m->t) {
        size_t i = ovl_lower(m->t, target.data, target.len); /* first >= target */
        if (i < m->t->nsorted && bytes_cmp(ovl_at(m->t, i)->key, ovl_at(m->t, i)->klen, target.data, target.len) == 0) i++;
        if (i > m->ohi) i = m->ohi;
        m->oi = i - 1;
    }
    mc_settle_rev(m);
}

static void mc_prev(mcur *m) {
    if (m->src == 0) st_iter_prev(m->it);
    else m->oi--;
    mc_settle_rev(m);
}

static void mc_settle(mcur *m) {
    for (;;) {
        bool ev = st_iter_valid(m->it), ov = m->t && m->oi < m->ohi;
        if (!ov) {
            m->src = ev ? 0 : -1;
            return;
        }
        const ovl_ent *o = ovl_at(m->t, m->oi);
        int c = ev ? bytes_cmp(o->key, o->klen, st_iter_key(m->it).data, st_iter_key(m->it).len) : -1;
        if (c > 0) {
            m->src = 0;
            return;
        }
        if (c == 0) st_iter_next(m->it); /* shadowed */
        if (!o->del) {
            m->src = 1;
            return;
        }
        m->oi++;
    }
}

/* To the first key >= target (len 0: the first key of the range). */
static void mc_seek(mcur *m, st_slice lower, st_slice target) {
    if (target.len) st_iter_seek(m->it, target);
    else st_iter_seek_first(m->it);
    if (m->t) {
        st_slice from = target.len ? target : lower;
        m->oi = ovl_lower(m->t, from.data, from.len);
    }
    mc_settle(m);
}

static bool mc_valid(const mcur *m) { return m->src >= 0; }

static void mc_next(mcur *m) {
    if (m->src == 0) st_iter_next(m->it);
    else m->oi++;
    mc_settle(m);
}

static st_slice mc_key(const mcur *m) {
    if (m->src == 0) return st_iter_key(m->it);
    const ovl_ent *o = ovl_at(m->t, m->oi);
    return st_slice_make(o->key, o->klen);
}

static st_slice mc_value(const mcur *m) {
    if (m->src == 0) return st_iter_value(m->it);
    const ovl_ent *o = ovl_at(m->t, m->oi);
    return st_slice_make(o->val, o->vlen);
}

static int mc_status(const mcur *m) { return st_iter_status(m->it); }
static void mc_close(mcur *m) { st_iter_free(m->it); }


/* ---- collections: encoding ------------------------------------------------------------------------ */

#define KS_COLL_PAYLOAD 16      /* version | size */
#define KS_LIST_PAYLOAD 32      /* version | size | head | tail */
#define KS_ELEM_FIXED (KS_NS_BYTES + 1 + 4) /* ns | space | klen, before the key */

static bool is_coll_type(int t) { return t == KS_HASH || t == KS_LIST || t == KS_SET || t == KS_ZSET; }

/* Element key: ns | space | klen u32 BE | key | version u64 BE | el. */
static int elem_key(kbuf *b, const ks_ckey *ck, int space, const uint8_t *el, size_t elen) {
    if (ck->klen > UINT32_MAX) return KS_EINVAL;
    int rc = kb_be32(b, ck->ns.tenant);
    if (!rc) rc = kb_u8(b, ck->ns.db);
    if (!rc) rc = kb_u8(b, (uint8_t)space);
    if (!rc) rc = kb_be32(b, (uint32_t)ck->klen);
    if (!rc) rc = kb_put(b, ck->key, ck->klen);
    if (!rc) rc = kb_be64(b, ck->version);
    if (!rc) rc = kb_put(b, el, elen);
    return rc;
}

/* Length of the element-key prefix of ck (everything before the element). */
static size_t elem_prefix_len(const ks_ckey *ck) { return KS_ELEM_FIXED + ck->klen + 8; }

int ks_rec_coll(const ks_rec *r, ks_coll *out) {
    memset(out, 0, sizeof *out);
    if (!is_coll_type(r->type)) return KS_ECORRUPT;
    size_t need = r->type == KS_LIST ? KS_LIST_PAYLOAD : KS_COLL_PAYLOAD;
    if (r->payload_len < need) return KS_ECORRUPT;
    out->type = r->type;
    out->expire_ms = r->expire_ms;
    out->version = get_le64(r->payload);
    out->size = get_le64(r->payload + 8);
    if (r->type == KS_LIST) {
        out->head = get_le64(r->payload + 16);
        out->tail = get_le64(r->payload + 24);
    }
    if (r->type == KS_ZSET && r->payload_len > KS_COLL_PAYLOAD) {
        /* flags u8 (bit 0: lo, 1: hi, 2: base, 3: rank index, 4: low keys) | [len u8 | lo] |
         * [len u8 | hi] | [len u8 | base | below u64] | [rank levels u8] | [n u8 | n x (len u8 | key)] */
        const uint8_t *p = r->payload + KS_COLL_PAYLOAD, *end = r->payload + r->payload_len;
        uint8_t flags = *p++;
        uint8_t *dst[3] = {out->lo, out->hi, out->base}, *lens[3] = {&out->lo_len, &out->hi_len, &out->base_len};
        bool *has[3] = {&out->has_lo, &out->has_hi, &out->has_base};
        for (int i = 0; i < 3; i++) {
            if (!(flags & (1 << i))) continue;
            if (p >= end || *p > KS_HINT_MAX || (size_t)(end - p - 1) < *p) return KS_ECORRUPT;
            uint8_t n = *p++;
            memcpy(dst[i], p, n);
            *lens[i] = n;
            *has[i] = true;
            p += n;
        }
        if (out->has_base) {
            if (end - p < 8) return KS_ECORRUPT;
            out->below = get_le64(p);
            p += 8;
        }
        if (flags & 8) {
            if (p >= end || *p == 0) return KS_ECORRUPT;
            out->rank_levels = *p++;
        }
        if (flags & 16) {
            if (p >= end || *p == 0 || *p > KS_LOW_MAX) return KS_ECORRUPT;
            uint8_t n = *p++;
            for (uint8_t i = 0; i < n; i++) {
                if (p >= end || *p > KS_HINT_MAX || (size_t)(end - p - 1) < *p) return KS_ECORRUPT;
                out->low_len[i] = *p++;
                memcpy(out->low[i], p, out->low_len[i]);
                p += out->low_len[i];
            }
            out->n_low = n;
        }
    }
    return 0;
}

void ks_coll_new(ks *k, int type, ks_coll *out) {
    memset(out, 0, sizeof *out);
    out->type = type;
    out->version = st_db_visible_seq(k->db);
    if (k->txn) {
        /* nothing reaches the engine before commit, so the visible sequence number stands still:
         * versions count up from it. K4 still holds: each collection made here writes at least one
         * operation to the transaction's batch, so the batch's sequence numbers pass them all. */
        if (out->version < k->txn->next_version) out->version = k->txn->next_version;
        k->txn->next_version = out->version + 1;
    }
    out->head = out->tail = UINT64_MAX / 2;
}

/* ---- the compaction filter -------------------------------------------------------------------- */

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last collection the filter looked up on this thread: elements of one collection come in a
 * run, so one record read serves the run. Keeping an element is always safe, so a verdict may be
 * reused for a while (KS_FILTER_MEMO_MS) even if the collection dies meanwhile: a later compaction
 * drops the element. "Dead" never turns back into "live" (K4: versions are not reused). */
#define KS_FILTER_MEMO_MS 1000
static _Thread_local struct {
    uint8_t meta[512];  /* the record's engine key (longer ones are not memoised) */
    size_t len;         /* 0: empty */
    uint64_t version;
    bool dead;
    int64_t at_ms;
} memo;

static bool memo_hit(const uint8_t *meta, size_t len, uint64_t version, int64_t now, bool *dead) {
    if (!memo.len || memo.len != len || memo.version != version || now - memo.at_ms > KS_FILTER_MEMO_MS ||
        memcmp(memo.meta, meta, len) != 0)
        return false;
    *dead = memo.dead;
    return true;
}

static void memo_keep(const uint8_t *meta, size_t len, uint64_t version, int64_t now, bool dead) {
    if (len > sizeof memo.meta) return;
    memcpy(memo.meta, meta, len);
    memo.len = len;
    memo.version = version;
    memo.dead = dead;
    memo.at_ms = now;
}

/* Whether the element with this record key and version is garbage: no record, a record of
 * another type or version, or one expired KS_EXPIRE_GRACE_MS ago. Errors keep the element. */
static bool elem_dead(st_db *db, const uint8_t *meta, size_t len, uint64_t version, int64_t now) {
    bool dead;
    if (memo_hit(meta, len, version, now, &dead)) return dead;
    uint8_t *raw = NULL;
    size_t rlen = 0;
    int rc = st_db_get(db, NULL, st_slice_make(meta, len), &raw, &rlen);
    if (rc == ST_ENOTFOUND) {
        dead = true;
    } else if (rc) {
        return false;
    } else {
        ks_rec r;
        ks_coll c;
        if (decode_record(raw, rlen, &r)) return false; /* a corrupt record: keep, let reads report it */
        if (ks_rec_coll(&r, &c)) dead = true;           /* a string now */
        else dead = c.version != version || (c.expire_ms && c.expire_ms + KS_EXPIRE_GRACE_MS <= now);
        ks_rec_free(&r);
    }
    memo_keep(meta, len, version, now, dead);
    return dead;
}

static bool tenant_retired(ks *k, uint32_t tenant) {
    const ks_retired *r = atomic_load_explicit(&k->retired, memory_order_acquire);
    if (!r || tenant == 0) return false;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ids[mid] < tenant) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n && r->ids[lo] == tenant;
}

int ks_tenant_retire(ks *k, uint32_t tenant) {
    if (tenant == 0 || tenant > KS_MAX_TENANT) return KS_EINVAL;
    pthread_mutex_lock(&k->retire_mu);
    ks_retired *old = atomic_load(&k->retired);
    size_t n = old ? old->n : 0, at = 0;
    while (at < n && old->ids[at] < tenant) at++;
    int rc = 0;
    if (!(at < n && old->ids[at] == tenant)) {
        ks_retired *r = malloc(sizeof *r + (n + 1) * sizeof r->ids[0]);
        if (!r) {
            rc = KS_ENOMEM;
        } else {
            r->older = old;
            r->n = n + 1;
            if (at) memcpy(r->ids, old->ids, at * sizeof r->ids[0]);
            r->ids[at] = tenant;
            if (n > at) memcpy(r->ids + at + 1, old->ids + at, (n - at) * sizeof r->ids[0]);
            atomic_store_explicit(&k->retired, r, memory_order_release);
        }
    }
    pthread_mutex_unlock(&k->retire_mu);
    return rc;
}

static st_filter_decision ks_compaction_filter(void *arg, int level, st_slice key, st_slice value, st_slice *nv) {
    (void)level;
    (void)nv;
    ks *k = arg;
    st_db *db = atomic_load(&k->filter_db);
    if (!db || key.len < KS_NS_BYTES + 1 || get_be32(key.data) > KS_MAX_TENANT) return ST_FILTER_KEEP;
    if (tenant_retired(k, get_be32(key.data))) return ST_FILTER_REMOVE; /* TENANT DEL: every key goes */
    int space = key.data[KS_NS_BYTES];
    int64_t now = wall_ms();
    if (space == KS_SPACE_META) {
        /* an expired record goes: a string at once (K1 hides it already), a collection after the
         * grace its elements get */
        if (value.len < 9 || !(value.data[0] & KS_FLAG_EXPIRE)) return ST_FILTER_KEEP;
        int64_t when = (int64_t)get_le64(value.data + 1);
        int64_t grace = (value.data[0] & KS_TYPE_MASK) == KS_STRING ? 0 : KS_EXPIRE_GRACE_MS;
        return when && when + grace <= now ? ST_FILTER_REMOVE : ST_FILTER_KEEP;
    }
    if (space != KS_ELEMS && space != KS_SCORES && space != KS_RANKS) return ST_FILTER_KEEP;
    if (key.len < KS_ELEM_FIXED) return ST_FILTER_KEEP;
    size_t klen = get_be32(key.data + KS_NS_BYTES + 1);
    if (key.len - KS_ELEM_FIXED < klen || key.len - KS_ELEM_FIXED - klen < 8) return ST_FILTER_KEEP;
    uint64_t version = get_be64(key.data + KS_ELEM_FIXED + klen);
    /* the record's key: ns | 'M' | user key, built in place of the element key's head */
    uint8_t small[256];
    size_t mlen = KS_META_PREFIX + klen;
    uint8_t *meta = mlen <= sizeof small ? small : malloc(mlen);
    if (!meta) return ST_FILTER_KEEP;
    memcpy(meta, key.data, KS_NS_BYTES);
    meta[KS_NS_BYTES] = KS_SPACE_META;
    memcpy(meta + KS_META_PREFIX, key.data + KS_ELEM_FIXED, klen);
    bool dead = elem_dead(db, meta, mlen, version, now);
    if (meta != small) free(meta);
    return dead ? ST_FILTER_REMOVE : ST_FILTER_KEEP;
}

/* ---- open / close ------------------------------------------------------------------------------- */

int ks_open(const ks_options *o, ks **out, char *err, size_t errlen) {
    *out = NULL;
    st_options so;
    if (o->engine) so = *o->engine;
    else st_options_default(&so);
    so.sync_mode = (st_sync_mode)o->sync_mode;
    if (o->write_buffer_bytes) so.write_buffer_bytes = o->write_buffer_bytes;
    if (o->block_bytes) so.block_bytes = o->block_bytes;
    if (o->bloom_bits_per_key >= 0) so.bloom_bits_per_key = o->bloom_bits_per_key;
    if (o->codec >= 0) so.codec = (st_codec)o->codec;
    if (o->zstd_level) so.zstd_level = o->zstd_level;
    if (o->max_immutable) so.max_immutable = o->max_immutable;
    if (o->max_batch_bytes) so.max_batch_bytes = o->max_batch_bytes > (1u << 30) ? (1u << 30) : o->max_batch_bytes;
    if (o->block_cache_bytes) so.block_cache_bytes = o->block_cache_bytes;
    so.memory_limit_bytes = o->memory_limit_bytes;
    ks *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return KS_ENOMEM;
    }
    if (!(k->stripes = malloc(KS_STRIPES * sizeof *k->stripes))) {
        free(k);
        snprintf(err, errlen, "out of memory");
        return KS_ENOMEM;
    }
    for (int i = 0; i < KS_STRIPES; i++) pthread_mutex_init(&k->stripes[i], NULL);
    pthread_mutex_init(&k->retire_mu, NULL);
    so.compaction_filter = ks_compaction_filter;
    so.compaction_filter_arg = k;
    int rc = st_db_open(o->dir, &so, &k->db);
    if (rc) {
        snprintf(err, errlen, "cannot open the database in %s: %s (%s)", o->dir, st_strerror(rc), st_errtext());
        ks_close(k);
        return rc;
    }
    atomic_store(&k->filter_db, k->db);
    *out = k;
    return 0;
}

int ks_close(ks *k) {
    if (!k) return 0;
    /* the filter stops reading before close waits for the compactions that call it */
    atomic_store(&k->filter_db, NULL);
    int rc = st_db_close(k->db);
    for (ks_retired *r = atomic_load(&k->retired), *older; r; r = older) {
        older = r->older;
        free(r);
    }
    pthread_mutex_destroy(&k->retire_mu);
    for (int i = 0; i < KS_STRIPES; i++) pthread_mutex_destroy(&k->stripes[i]);
    free(k->stripes);
    free(k);
    return rc;
}

/* ---- reads -------------------------------------------------------------------------------------- */

/* A point read through k: a transaction's overlay first, then the engine. *val as st_db_get's. */
static int get_through(ks *k, st_slice key, uint8_t **val, size_t *len) {
    const ovl_ent *o = k->txn ? ovl_find(k->txn, key) : NULL;
    if (!o) return st_db_get(k->db, NULL, key, val, len);
    *val = NULL;
    *len = 0;
    if (o->del) return KS_ENOTFOUND;
    if (!(*val = malloc(o->vlen + 1))) return KS_ENOMEM;
    if (o->vlen) memcpy(*val, o->val, o->vlen);
    (*val)[o->vlen] = 0;
    *len = o->vlen;
    return 0;
}

static int lookup_raw(ks *k, ks_ns ns, const uint8_t *key, size_t klen, ks_rec *out) {
    kbuf kb;
    kb_init(&kb);
    int rc = meta_key(&kb, ns, key, klen);
    uint8_t *raw = NULL;
    size_t len = 0;
    if (!rc) rc = get_through(k, kb_slice(&kb), &raw, &len);
    kb_free(&kb);
    if (rc) return rc;
    return decode_record(raw, len, out);
}

int ks_lookup(ks *k, ks_ns ns, const uint8_t *key, size_t klen, int64_t now_ms, ks_rec *out) {
    memset(out, 0, sizeof *out);
    int rc = lookup_raw(k, ns, key, klen, out);
    if (rc == 0 && expired(out, now_ms)) {
        ks_rec_free(out);
        rc = KS_ENOTFOUND;
    }
    return rc;
}

_Static_assert(KS_PREFETCH_MAX <= ST_DB_PREFETCH_MAX, "ks_prefetch passes its keys in one call");

void ks_prefetch(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens) {
    uint8_t buf[KS_PREFETCH_BYTES];
    st_slice sl[KS_PREFETCH_MAX];
    size_t used = 0, m = 0;
    for (size_t i = 0; i < n && m < KS_PREFETCH_MAX; i++) {
        if (klens[i] > sizeof buf - used - META_PREFIX_BYTES) continue; /* a hint: skipping is fine */
        meta_prefix(buf + used, ns);
        if (klens[i]) memcpy(buf + used + META_PREFIX_BYTES, keys[i], klens[i]);
        sl[m++] = st_slice_make(buf + used, META_PREFIX_BYTES + klens[i]);
        used += META_PREFIX_BYTES + klens[i];
    }
    st_db_prefetch(k->db, m, sl);
}

int ks_mlookup(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens, int64_t now_ms,
               ks_rec *outs, int *statuses) {
    if (k->txn) { /* one view already: the transaction holds its keys' locks */
        for (size_t i = 0; i < n; i++) statuses[i] = ks_lookup(k, ns, keys[i], klens[i], now_ms, &outs[i]);
        return 0;
    }
    st_slice *sl = calloc(n ? n : 1, sizeof *sl);
    kbuf *kbs = calloc(n ? n : 1, sizeof *kbs);
    uint8_t **vals = calloc(n ? n : 1, sizeof *vals);
    size_t *lens = calloc(n ? n : 1, sizeof *lens);
    int rc = sl && kbs && vals && lens ? 0 : KS_ENOMEM;
    for (size_t i = 0; i < n; i++) memset(&outs[i], 0, sizeof outs[i]);
    for (size_t i = 0; !rc && i < n; i++) {
        kb_init(&kbs[i]);
        rc = meta_key(&kbs[i], ns, keys[i], klens[i]);
        sl[i] = kb_slice(&kbs[i]);
    }
    if (!rc) rc = st_db_multiget(k->db, NULL, n, sl, vals, lens, statuses);
    for (size_t i = 0; !rc && i < n; i++) {
        if (statuses[i] == 0) {
            statuses[i] = decode_record(vals[i], lens[i], &outs[i]);
            vals[i] = NULL;
            if (statuses[i] == 0 && expired(&outs[i], now_ms)) {
                ks_rec_free(&outs[i]);
                statuses[i] = KS_ENOTFOUND;
            }
        }
    }
    for (size_t i = 0; kbs && i < n; i++) {
        if (kbs[i].p) kb_free(&kbs[i]);
        if (vals) free(vals[i]);
    }
    free(sl);
    free(kbs);
    free(vals);
    free(lens);
    return rc;
}

/* ---- writes ------------------------------------------------------------------------------------- */

int ks_batch_new(ks_batch **out) {
    ks_batch *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b) return KS_ENOMEM;
    int rc = st_batch_new(&b->b);
    if (rc) {
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void ks_batch_free(ks_batch *b) {
    if (!b) return;
    st_batch_free(b->b);
    free(b);
}

void ks_batch_clear(ks_batch *b) {
    st_batch_clear(b->b);
    b->n = 0;
}

size_t ks_batch_count(const ks_batch *b) { return b->n; }

static int put_record(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, int type, int64_t expire_ms,
                      const uint8_t *payload, size_t plen) {
    kbuf kk, kv, kx;
    kb_init(&kk);
    kb_init(&kv);
    kb_init(&kx);
    int rc = meta_key(&kk, ns, key, klen);
    if (!rc) rc = record_value(&kv, type, expire_ms, payload, plen);
    if (!rc) rc = st_batch_put(b->b, kb_slice(&kk), kb_slice(&kv));
    if (!rc && expire_ms) { /* K2 */
        rc = expiry_key(&kx, ns, key, klen, expire_ms);
        if (!rc) rc = st_batch_put(b->b, kb_slice(&kx), st_slice_make("", 0));
    }
    if (!rc) b->n++;
    kb_free(&kk);
    kb_free(&kv);
    kb_free(&kx);
    return rc;
}

int ks_batch_put_string(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                        int64_t expire_ms) {
    return put_record(b, ns, key, klen, KS_STRING, expire_ms, val, vlen);
}

int ks_batch_put_record(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const ks_rec *r, int64_t expire_ms) {
    return put_record(b, ns, key, klen, r->type, expire_ms, r->payload, r->payload_len);
}

int ks_batch_delete(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen) {
    kbuf kk;
    kb_init(&kk);
    int rc = meta_key(&kk, ns, key, klen);
    if (!rc) rc = st_batch_delete(b->b, kb_slice(&kk));
    if (!rc) b->n++;
    kb_free(&kk);
    return rc;
}

int ks_write(ks *k, ks_batch *b, uint64_t *lsn) {
    if (lsn) *lsn = 0;
    if (b->n == 0) return 0;
    if (k->txn) return st_batch_foreach(b->b, txn_apply_op, k->txn); /* applied at ks_txn_commit */
    return st_db_write(k->db, b->b, ST_WRITE_DEFER_COMMIT | ST_WRITE_NO_DELAY, lsn);
}

int ks_commit(ks *k, uint64_t lsn) { return lsn ? st_db_commit(k->db, lsn) : 0; }

/* ---- collections: writes and reads ------------------------------------------------------------------ */

int ks_batch_put_coll(ks_batch *b, ks_ns ns, const uint8_t *key, size_t klen, const ks_coll *c) {
    if (!is_coll_type(c->type)) return KS_EINVAL;
    kbuf p;
    kb_init(&p);
    int rc = kb_le64(&p, c->version);
    if (!rc) rc = kb_le64(&p, c->size);
    if (!rc && c->type == KS_LIST) rc = kb_le64(&p, c->head);
    if (!rc && c->type == KS_LIST) rc = kb_le64(&p, c->tail);
    if (!rc && c->type == KS_ZSET && (c->has_lo || c->has_hi || c->has_base || c->rank_levels || c->n_low)) {
        rc = kb_u8(&p, (uint8_t)((c->has_lo ? 1 : 0) | (c->has_hi ? 2 : 0) | (c->has_base ? 4 : 0) |
                                 (c->rank_levels ? 8 : 0) | (c->n_low ? 16 : 0)));
        if (!rc && c->has_lo && !(rc = kb_u8(&p, c->lo_len))) rc = kb_put(&p, c->lo, c->lo_len);
        if (!rc && c->has_hi && !(rc = kb_u8(&p, c->hi_len))) rc = kb_put(&p, c->hi, c->hi_len);
        if (!rc && c->has_base && !(rc = kb_u8(&p, c->base_len))) rc = kb_put(&p, c->base, c->base_len);
        if (!rc && c->has_base) rc = kb_le64(&p, c->below);
        if (!rc && c->rank_levels) rc = kb_u8(&p, c->rank_levels);
        if (!rc && c->n_low) rc = kb_u8(&p, c->n_low);
        for (uint8_t i = 0; !rc && i < c->n_low && i < KS_LOW_MAX; i++)
            if (!(rc = kb_u8(&p, c->low_len[i]))) rc = kb_put(&p, c->low[i], c->low_len[i]);
    }
    if (!rc) rc = put_record(b, ns, key, klen, c->type, c->expire_ms, p.p, p.len);
    kb_free(&p);
    return rc;
}

int ks_batch_put_elem(ks_batch *b, const ks_ckey *ck, int space, const uint8_t *el, size_t elen, const uint8_t *val,
                      size_t vlen) {
    kbuf kk;
    kb_init(&kk);
    int rc = elem_key(&kk, ck, space, el, elen);
    if (!rc) rc = st_batch_put(b->b, kb_slice(&kk), st_slice_make(val, vlen));
    if (!rc) b->n++;
    kb_free(&kk);
    return rc;
}

int ks_batch_del_elem(ks_batch *b, const ks_ckey *ck, int space, const uint8_t *el, size_t elen) {
    kbuf kk;
    kb_init(&kk);
    int rc = elem_key(&kk, ck, space, el, elen);
    if (!rc) rc = st_batch_delete(b->b, kb_slice(&kk));
    if (!rc) b->n++;
    kb_free(&kk);
    return rc;
}

int ks_elem_get(ks *k, const ks_ckey *ck, int space, const uint8_t *el, size_t elen, uint8_t **val, size_t *vlen) {
    *val = NULL;
    *vlen = 0;
    kbuf kk;
    kb_init(&kk);
    int rc = elem_key(&kk, ck, space, el, elen);
    if (!rc) rc = get_through(k, kb_slice(&kk), val, vlen);
    kb_free(&kk);
    return rc;
}

int ks_elem_mget(ks *k, const ks_ckey *ck, int space, size_t n, const uint8_t *const *els, const size_t *elens,
                 uint8_t **vals, size_t *vlens, int *statuses) {
    for (size_t i = 0; i < n; i++) {
        vals[i] = NULL;
        vlens[i] = 0;
    }
    if (n == 0) return 0;
    if (k->txn) {
        for (size_t i = 0; i < n; i++) statuses[i] = ks_elem_get(k, ck, space, els[i], elens[i], &vals[i], &vlens[i]);
        return 0;
    }
    /* every key shares the element prefix: one buffer holds them all */
    size_t plen = elem_prefix_len(ck), total = 0;
    for (size_t i = 0; i < n; i++) total += plen + elens[i];
    uint8_t *buf = malloc(total);
    st_slice *sl = malloc(n * sizeof *sl);
    int rc = buf && sl ? 0 : KS_ENOMEM;
    kbuf pre;
    kb_init(&pre);
    if (!rc) rc = elem_key(&pre, ck, space, NULL, 0);
    size_t off = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        memcpy(buf + off, pre.p, plen);
        if (elens[i]) memcpy(buf + off + plen, els[i], elens[i]);
        sl[i] = st_slice_make(buf + off, plen + elens[i]);
        off += plen + elens[i];
    }
    if (!rc) rc = st_db_multiget(k->db, NULL, n, sl, vals, vlens, statuses);
    kb_free(&pre);
    free(buf);
    free(sl);
    return rc;
}

struct ks_elems {
    mcur m;
    bool positioned; /* a first seek has been made (open does not: its caller may seek elsewhere,
                      * and the collection's first keys may be a long run of tombstones) */
    kbuf prefix; /* the element-key prefix of the collection: the lower bound */
    kbuf upper;
    kbuf seek;
};

int ks_elems_open(ks *k, const ks_ckey *ck, int space, ks_elems **out) {
    *out = NULL;
    ks_elems *e = calloc(1, sizeof *e);
    if (!e) return KS_ENOMEM;
    kb_init(&e->prefix);
    kb_init(&e->upper);
    kb_init(&e->seek);
    int rc = elem_key(&e->prefix, ck, space, NULL, 0);
    if (!rc) rc = kb_put(&e->upper, e->prefix.p, e->prefix.len);
    if (!rc) {
        e->upper.len = prefix_successor(e->upper.p, e->upper.len);
        rc = mc_open(k, &e->m, kb_slice(&e->prefix), kb_slice(&e->upper));
    }
    if (rc) {
        kb_free(&e->prefix);
        kb_free(&e->upper);
        free(e);
        return rc;
    }
    *out = e;
    return 0;
}

/* The first use of an iterator nobody positioned starts at the first element. */
static void elems_settle(const ks_elems *ce) {
    ks_elems *e = (ks_elems *)ce;
    if (e->positioned) return;
    e->positioned = true;
    mc_seek(&e->m, kb_slice(&e->prefix), st_slice_make(NULL, 0));
}

void ks_elems_seek(ks_elems *e, const uint8_t *el, size_t elen) {
    e->positioned = true;
    e->seek.len = 0;
    if (!elen || kb_put(&e->seek, e->prefix.p, e->prefix.len) || kb_put(&e->seek, el, elen)) e->seek.len = 0;
    /* (no memory for the target: from the start, which still reaches it) */
    mc_seek(&e->m, kb_slice(&e->prefix), kb_slice(&e->seek));
    if (elen && !e->seek.len)
        while (mc_valid(&e->m) && bytes_cmp(mc_key(&e->m).data + e->prefix.len, mc_key(&e->m).len - e->prefix.len, el, elen) < 0)
            mc_next(&e->m);
}

bool ks_elems_valid(const ks_elems *e) {
    elems_settle(e);
    return mc_valid(&e->m);
}

void ks_elems_next(ks_elems *e) {
    elems_settle(e);
    mc_next(&e->m);
}

void ks_elems_seek_last(ks_elems *e) {
    e->positioned = true;
    mc_seek_last(&e->m);
}

void ks_elems_seek_for_prev(ks_elems *e, const uint8_t *el, size_t elen) {
    e->positioned = true;
    e->seek.len = 0;
    if (kb_put(&e->seek, e->prefix.p, e->prefix.len) || kb_put(&e->seek, el, elen)) {
        /* no memory for the target: from the end, stepping back to it */
        mc_seek_last(&e->m);
        while (mc_valid(&e->m) && bytes_cmp(mc_key(&e->m).data + e->prefix.len, mc_key(&e->m).len - e->prefix.len, el, elen) > 0)
            mc_prev(&e->m);
        return;
    }
    mc_seek_for_prev(&e->m, kb_slice(&e->seek));
}

void ks_elems_prev(ks_elems *e) { mc_prev(&e->m); }

const uint8_t *ks_elems_el(const ks_elems *e, size_t *len) {
    st_slice key = mc_key(&e->m);
    *len = key.len - e->prefix.len;
    return key.data + e->prefix.len;
}

const uint8_t *ks_elems_val(const ks_elems *e, size_t *len) {
    st_slice v = mc_value(&e->m);
    *len = v.len;
    return v.data;
}

int ks_elems_status(const ks_elems *e) {
    elems_settle(e);
    return mc_status(&e->m);
}

void ks_elems_close(ks_elems *e) {
    if (!e) return;
    mc_close(&e->m);
    kb_free(&e->prefix);
    kb_free(&e->upper);
    kb_free(&e->seek);
    free(e);
}

/* ---- locks -------------------------------------------------------------------------------------- */

static uint32_t stripe_of(ks_ns ns, const uint8_t *key, size_t klen) {
    uint64_t h = 1469598103934665603ull;
    h = (h ^ ns.tenant) * 1099511628211ull;
    h = (h ^ ns.db) * 1099511628211ull;
    for (size_t i = 0; i < klen; i++) h = (h ^ key[i]) * 1099511628211ull;
    return (uint32_t)(h % KS_STRIPES);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorted, deduplicated stripe numbers of the keys; returns how many (stack array when small). */
static size_t stripes_of(ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens, uint32_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = stripe_of(ns, keys[i], klens[i]);
    qsort(out, n, sizeof *out, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || out[m - 1] != out[i]) out[m++] = out[i];
    return m;
}

static int cmp_u32(const void *a, const void *b);

/* Removes from the sorted stripes s[0..m) those t holds; returns how many are left. */
static size_t drop_held(const ks_txn *t, uint32_t *s, size_t m) {
    if (t->all) return 0;
    size_t out = 0;
    for (size_t i = 0; i < m; i++)
        if (!bsearch(&s[i], t->held, t->nheld, sizeof *t->held, cmp_u32)) s[out++] = s[i];
    return out;
}

static void lock_many(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens, bool lock) {
    if (n == 0 || (k->txn && k->txn->all)) return;
    uint32_t small[16];
    uint32_t *s = n <= 16 ? small : malloc(n * sizeof *s);
    if (!s && k->txn) return; /* can't tell which are held; the transaction's keys are (and others
                               * are not its business): running without them is what it can do */
    if (!s) {
        /* Without memory for the sort, fall back to every stripe in order: slow but correct. */
        for (int i = 0; i < KS_STRIPES; i++) {
            if (lock) pthread_mutex_lock(&k->stripes[i]);
            else pthread_mutex_unlock(&k->stripes[KS_STRIPES - 1 - i]);
        }
        return;
    }
    size_t m = stripes_of(ns, n, keys, klens, s);
    if (k->txn) m = drop_held(k->txn, s, m); /* the transaction holds them already */
    for (size_t i = 0; i < m; i++) {
        if (lock) pthread_mutex_lock(&k->stripes[s[i]]);
        else pthread_mutex_unlock(&k->stripes[s[m - 1 - i]]);
    }
    if (s != small) free(s);
}

uint32_t ks_stripe(ks_ns ns, const uint8_t *key, size_t klen) { return stripe_of(ns, key, klen); }

void ks_lock_all(ks *k) {
    if (k->txn) return;
    for (int i = 0; i < KS_STRIPES; i++) pthread_mutex_lock(&k->stripes[i]);
}

void ks_unlock_all(ks *k) {
    if (k->txn) return;
    for (int i = KS_STRIPES - 1; i >= 0; i--) pthread_mutex_unlock(&k->stripes[i]);
}

/* ---- transactions ------------------------------------------------------------------------------- */

int ks_txn_begin(ks *k, const uint32_t *stripes, size_t n, bool all, ks **out) {
    *out = NULL;
    ks *t = calloc(1, sizeof *t);
    ks_txn *x = calloc(1, sizeof *x);
    uint32_t *held = all ? NULL : malloc((n ? n : 1) * sizeof *held);
    int rc = t && x && (all || held) ? st_batch_new(&x->batch) : KS_ENOMEM;
    if (rc) {
        free(t);
        free(x);
        free(held);
        return rc;
    }
    if (!all) {
        if (n) memcpy(held, stripes, n * sizeof *held);
        qsort(held, n, sizeof *held, cmp_u32);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (m == 0 || held[m - 1] != held[i]) held[m++] = held[i];
        n = m;
    }
    x->held = held;
    x->nheld = all ? 0 : n;
    x->all = all;
    t->db = k->db;
    t->stripes = k->stripes;
    t->txn = x;
    if (all) for (int i = 0; i < KS_STRIPES; i++) pthread_mutex_lock(&k->stripes[i]);
    else for (size_t i = 0; i < x->nheld; i++) pthread_mutex_lock(&k->stripes[held[i]]);
    *out = t;
    return 0;
}

int ks_txn_commit(ks *t, uint64_t *lsn) {
    *lsn = 0;
    if (!st_batch_count(t->txn->batch)) return 0;
    return st_db_write(t->db, t->txn->batch, ST_WRITE_DEFER_COMMIT | ST_WRITE_NO_DELAY, lsn);
}

void ks_txn_end(ks *t) {
    if (!t) return;
    ks_txn *x = t->txn;
    if (x->all) for (int i = KS_STRIPES - 1; i >= 0; i--) pthread_mutex_unlock(&t->stripes[i]);
    else for (size_t i = x->nheld; i-- > 0;) pthread_mutex_unlock(&t->stripes[x->held[i]]);
    for (size_t i = 0; i < x->n; i++) {
        free(x->ents[i].key);
        free(x->ents[i].val);
    }
    free(x->ents);
    free(x->slots);
    free(x->order);
    free(x->held);
    st_batch_free(x->batch);
    free(x);
    free(t);
}

void ks_lock_keys(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens) {
    lock_many(k, ns, n, keys, klens, true);
}
void ks_unlock_keys(ks *k, ks_ns ns, size_t n, const uint8_t *const *keys, const size_t *klens) {
    lock_many(k, ns, n, keys, klens, false);
}

/* ---- scans -------------------------------------------------------------------------------------- */

/* The first key after every key that starts with p[0..n): p with its last non-0xff byte
 * incremented, trailing 0xff dropped; returns the new length (0: no such key, unbounded). */
static size_t prefix_successor(uint8_t *p, size_t n) {
    while (n > 0 && p[n - 1] == 0xff) n--;
    if (n > 0) p[n - 1]++;
    return n;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (an > bn) - (an < bn);
}

int ks_scan(ks *k, ks_ns ns, const uint8_t *start, size_t slen, const uint8_t *prefix, size_t plen, size_t limit,
            int64_t now_ms, ks_scan_fn fn, void *arg, uint8_t **next, size_t *next_len) {
    *next = NULL;
    *next_len = 0;
    kbuf lo, hi;
    kb_init(&lo);
    kb_init(&hi);
    int rc = meta_key(&lo, ns, prefix, plen);
    if (!rc) rc = kb_put(&hi, lo.p, lo.len);
    if (rc) goto out;
    hi.len = prefix_successor(hi.p, hi.len);
    if (slen && bytes_cmp(start, slen, prefix, plen) > 0) {
        lo.len = KS_META_PREFIX;
        if ((rc = kb_put(&lo, start, slen))) goto out;
    }
    mcur m;
    if ((rc = mc_open(k, &m, kb_slice(&lo), kb_slice(&hi)))) goto out;
    size_t visited = 0;
    for (mc_seek(&m, kb_slice(&lo), st_slice_make(NULL, 0)); mc_valid(&m); mc_next(&m)) {
        st_slice ek = mc_key(&m), ev = mc_value(&m);
        if (ek.len < KS_META_PREFIX) continue;
        const uint8_t *ukey = ek.data + KS_META_PREFIX;
        size_t ulen = ek.len - KS_META_PREFIX;
        if (limit && visited == limit) {
            *next = malloc(ulen ? ulen : 1);
            if (!*next) rc = KS_ENOMEM;
            else {
                if (ulen) memcpy(*next, ukey, ulen);
                *next_len = ulen;
            }
            break;
        }
        visited++;
        uint8_t *raw = malloc(ev.len ? ev.len : 1);
        if (!raw) {
            rc = KS_ENOMEM;
            break;
        }
        if (ev.len) memcpy(raw, ev.data, ev.len);
        ks_rec rec;
        if ((rc = decode_record(raw, ev.len, &rec))) break;
        int stop = 0;
        if (!expired(&rec, now_ms)) stop = fn(arg, ukey, ulen, &rec);
        ks_rec_free(&rec);
        if (stop) break;
    }
    if (!rc) rc = mc_status(&m);
    mc_close(&m);
out:
    kb_free(&lo);
    kb_free(&hi);
    if (rc) {
        free(*next);
        *next = NULL;
        *next_len = 0;
    }
    return rc;
}

static int count_one(void *arg, const uint8_t *key, size_t klen, const ks_rec *rec) {
    (void)key;
    (void)klen;
    (void)rec;
    (*(uint64_t *)arg)++;
    return 0;
}

int ks_count(ks *k, ks_ns ns, int64_t now_ms, uint64_t *count) {
    *count = 0;
    uint8_t *next;
    size_t nlen;
    int rc = ks_scan(k, ns, NULL, 0, NULL, 0, 0, now_ms, count_one, count, &next, &nlen);
    free(next);
    return rc;
}

int ks_flush(ks *k, ks_ns ns, bool all_dbs, uint64_t *lsn) {
    *lsn = 0;
    kbuf lo, hi;
    kb_init(&lo);
    kb_init(&hi);
    int rc = kb_be32(&lo, ns.tenant);
    if (!rc && !all_dbs) rc = kb_u8(&lo, ns.db);
    if (!rc) rc = kb_put(&hi, lo.p, lo.len);
    if (rc) goto out;
    hi.len = prefix_successor(hi.p, hi.len);
    mcur m;
    st_batch *b = NULL;
    if ((rc = mc_open(k, &m, kb_slice(&lo), kb_slice(&hi)))) goto out;
    if ((rc = st_batch_new(&b))) goto done;
    /* in a transaction the deletes join it (after the scan: writes move the overlay under m) */
    for (mc_seek(&m, kb_slice(&lo), st_slice_make(NULL, 0)); mc_valid(&m) && !rc; mc_next(&m)) {
        rc = st_batch_delete(b, mc_key(&m));
        if (!rc && !k->txn && st_batch_count(b) >= 1024) {
            rc = st_db_write(k->db, b, ST_WRITE_DEFER_COMMIT | ST_WRITE_NO_DELAY, lsn);
            st_batch_clear(b);
        }
    }
    if (!rc) rc = mc_status(&m);
    if (!rc && k->txn) rc = st_batch_foreach(b, txn_apply_op, k->txn);
    else if (!rc && st_batch_count(b)) rc = st_db_write(k->db, b, ST_WRITE_DEFER_COMMIT | ST_WRITE_NO_DELAY, lsn);
done:
    mc_close(&m);
    st_batch_free(b);
out:
    kb_free(&lo);
    kb_free(&hi);
    return rc;
}

/* ---- decoding (offline tools) --------------------------------------------------------------- */

int ks_key_decode(const uint8_t *p, size_t len, ks_key_info *out) {
    memset(out, 0, sizeof *out);
    if (len >= KS_XP_PREFIX && get_be32(p) == UINT32_MAX) {
        /* FF FF FF FF | 'X' | expire_ms u64 BE | tenant u32 BE | db u8 | key */
        if (p[4] != KS_SPACE_EXPIRY || len < KS_XP_PREFIX + 8 + KS_NS_BYTES) return KS_EINVAL;
        out->expire_ms = (int64_t)get_be64(p + KS_XP_PREFIX);
        out->tenant = get_be32(p + KS_XP_PREFIX + 8);
        out->db = p[KS_XP_PREFIX + 12];
        out->key = p + KS_XP_PREFIX + 8 + KS_NS_BYTES;
        out->klen = len - (KS_XP_PREFIX + 8 + KS_NS_BYTES);
        out->space = KS_SPACE_EXPIRY;
        return 0;
    }
    if (len < KS_META_PREFIX) return KS_EINVAL;
    uint32_t tenant = get_be32(p);
    int space = p[KS_NS_BYTES];
    if (tenant == KS_SYS_TENANT) {
        if (space != KS_SYS_TENANTS && space != KS_SYS_RETIRED) return KS_EINVAL;
    } else if (space == KS_ELEMS || space == KS_SCORES || space == KS_RANKS) {
        if (len < KS_ELEM_FIXED) return KS_EINVAL;
        size_t klen = get_be32(p + KS_NS_BYTES + 1);
        if (len - KS_ELEM_FIXED < klen || len - KS_ELEM_FIXED - klen < 8) return KS_EINVAL;
        out->key = p + KS_ELEM_FIXED;
        out->klen = klen;
        out->version = get_be64(p + KS_ELEM_FIXED + klen);
        out->el = p + KS_ELEM_FIXED + klen + 8;
        out->elen = len - KS_ELEM_FIXED - klen - 8;
        if (space == KS_SCORES) {
            if (out->elen < 8) return KS_EINVAL;
            out->order = get_be64(out->el);
            out->el += 8;
            out->elen -= 8;
        }
    } else if (space != KS_SPACE_META) {
        return KS_EINVAL;
    }
    if (space == KS_SPACE_META || tenant == KS_SYS_TENANT) {
        out->key = p + KS_META_PREFIX;
        out->klen = len - KS_META_PREFIX;
    }
    out->tenant = tenant;
    out->db = p[4];
    out->space = space;
    return 0;
}

int ks_rec_parse(const uint8_t *val, size_t len, ks_rec *out) {
    uint8_t *raw = malloc(len + 1);
    if (!raw) return KS_ENOMEM;
    if (len) memcpy(raw, val, len);
    return decode_record(raw, len, out);
}

const char *ks_type_name(int type) {
    switch (type) {
    case KS_STRING: return "string";
    case KS_HASH: return "hash";
    case KS_LIST: return "list";
    case KS_SET: return "set";
    case KS_ZSET: return "zset";
    default: return "none";
    }
}

/* ---- system records and tenant usage ------------------------------------------------------------ */

static int sys_key(kbuf *b, int space, const uint8_t *name, size_t nlen) {
    int rc = kb_be32(b, KS_SYS_TENANT);
    if (!rc) rc = kb_u8(b, 0);
    if (!rc) rc = kb_u8(b, (uint8_t)space);
    if (!rc && nlen) rc = kb_put(b, name, nlen);
    return rc;
}

int ks_sys_get(ks *k, int space, const uint8_t *name, size_t nlen, uint8_t **val, size_t *vlen) {
    kbuf kk;
    kb_init(&kk);
    *val = NULL;
    *vlen = 0;
    int rc = sys_key(&kk, space, name, nlen);
    if (!rc) rc = st_db_get(k->db, NULL, kb_slice(&kk), val, vlen);
    kb_free(&kk);
    return rc;
}

int ks_sys_put_many(ks *k, size_t n, const ks_sys_rec *recs) {
    st_batch *b = NULL;
    uint64_t lsn = 0;
    int rc = st_batch_new(&b);
    for (size_t i = 0; i < n && !rc; i++) {
        kbuf kk;
        kb_init(&kk);
        rc = sys_key(&kk, recs[i].space, recs[i].name, recs[i].nlen);
        if (!rc)
            rc = recs[i].val ? st_batch_put(b, kb_slice(&kk), st_slice_make(recs[i].val, recs[i].vlen))
                             : st_batch_delete(b, kb_slice(&kk));
        kb_free(&kk);
    }
    if (!rc) rc = st_db_write(k->db, b, ST_WRITE_NO_DELAY, &lsn);
    st_batch_free(b);
    return rc;
}

int ks_sys_put(ks *k, int space, const uint8_t *name, size_t nlen, const uint8_t *val, size_t vlen) {
    ks_sys_rec r = {space, name, nlen, val, vlen};
    return ks_sys_put_many(k, 1, &r);
}

int ks_sys_scan(ks *k, int space, ks_sys_fn fn, void *arg) {
    kbuf lo, hi;
    kb_init(&lo);
    kb_init(&hi);
    int rc = sys_key(&lo, space, NULL, 0);
    if (!rc) rc = kb_put(&hi, lo.p, lo.len);
    if (rc) goto out;
    hi.len = prefix_successor(hi.p, hi.len);
    mcur m;
    if ((rc = mc_open(k, &m, kb_slice(&lo), kb_slice(&hi)))) goto out;
    for (mc_seek(&m, kb_slice(&lo), st_slice_make(NULL, 0)); mc_valid(&m); mc_next(&m)) {
        st_slice ek = mc_key(&m), ev = mc_value(&m);
        if (ek.len < lo.len) continue;
        if (fn(arg, ek.data + lo.len, ek.len - lo.len, ev.data, ev.len)) break;
    }
    rc = mc_status(&m);
    mc_close(&m);
out:
    kb_free(&lo);
    kb_free(&hi);
    return rc;
}

int ks_tenant_usage(ks *k, uint32_t tenant, uint64_t *keys, uint64_t *bytes) {
    *keys = *bytes = 0;
    kbuf lo, hi;
    kb_init(&lo);
    kb_init(&hi);
    int rc = kb_be32(&lo, tenant);
    if (!rc) rc = kb_put(&hi, lo.p, lo.len);
    if (rc) goto out;
    hi.len = prefix_successor(hi.p, hi.len);
    st_iter *it = NULL;
    st_read_options ro = {.lower = kb_slice(&lo), .upper = kb_slice(&hi)};
    if ((rc = st_db_iter_new(k->db, &ro, &it))) goto out;
    for (st_iter_seek(it, kb_slice(&lo)); st_iter_valid(it); st_iter_next(it)) {
        st_slice ek = st_iter_key(it);
        if (ek.len > KS_NS_BYTES && ek.data[KS_NS_BYTES] == KS_SPACE_META) (*keys)++;
        *bytes += ek.len + st_iter_value(it).len;
    }
    rc = st_iter_status(it);
    st_iter_free(it);
out:
    kb_free(&lo);
    kb_free(&hi);
    return rc;
}

size_t ks_batch_bytes(const ks_batch *b) { return st_batch_bytes(b->b); }

/* ---- expiry ------------------------------------------------------------------------------------- */

int ks_expire_cycle(ks *k, int64_t now_ms, size_t max_entries, uint64_t *expired_out, bool *more) {
    *expired_out = 0;
    *more = false;
    kbuf lo, hi;
    kb_init(&lo);
    kb_init(&hi);
    int rc = kb_be32(&lo, UINT32_MAX);
    if (!rc) rc = kb_u8(&lo, KS_SPACE_EXPIRY);
    if (!rc) rc = kb_put(&hi, lo.p, lo.len);
    if (!rc) rc = kb_be64(&hi, (uint64_t)now_ms + 1); /* entries due at or before now */
    if (rc) goto out;
    st_read_options ro = {.lower = kb_slice(&lo), .upper = kb_slice(&hi)};
    st_iter *it = NULL;
    ks_batch *b = NULL;
    if ((rc = st_db_iter_new(k->db, &ro, &it)) || (rc = ks_batch_new(&b))) goto done;
    size_t seen = 0;
    for (st_iter_seek_first(it); st_iter_valid(it) && !rc; st_iter_next(it)) {
        if (seen == max_entries) {
            *more = true;
            break;
        }
        seen++;
        st_slice ek = st_iter_key(it);
        if (ek.len < KS_XP_PREFIX + 8 + KS_NS_BYTES) continue;
        int64_t when = (int64_t)get_be64(ek.data + KS_XP_PREFIX);
        ks_ns ns = {get_be32(ek.data + KS_XP_PREFIX + 8), ek.data[KS_XP_PREFIX + 12]};
        const uint8_t *key = ek.data + KS_XP_PREFIX + 8 + KS_NS_BYTES;
        size_t klen = ek.len - (KS_XP_PREFIX + 8 + KS_NS_BYTES);
        ks_lock(k, ns, key, klen);
        ks_rec rec;
        int lrc = lookup_raw(k, ns, key, klen, &rec);
        ks_batch_clear(b);
        if (lrc == 0 && rec.expire_ms == when) {
            rc = ks_batch_delete(b, ns, key, klen);
            (*expired_out)++;
        }
        if (lrc == 0) ks_rec_free(&rec);
        else if (lrc != KS_ENOTFOUND) rc = lrc;
        if (!rc) rc = st_batch_delete(b->b, ek); /* the index entry itself: done or stale */
        uint64_t lsn = 0;
        if (!rc) rc = st_db_write(k->db, b->b, ST_WRITE_DEFER_COMMIT | ST_WRITE_NO_DELAY, &lsn);
        ks_unlock(k, ns, key, klen);
    }
    if (!rc) rc = st_iter_status(it);
done:
    st_iter_free(it);
    ks_batch_free(b);
out:
    kb_free(&lo);
    kb_free(&hi);
    return rc;
}

/* ---- maintenance -------------------------------------------------------------------------------- */

int ks_flush_memtables(ks *k) { return st_db_flush(k->db); }

int ks_compact(ks *k) { return st_db_compact_range(k->db, NULL, NULL); }

int ks_write_status(ks *k, char *msg, size_t cap) { return st_db_write_status(k->db, msg, cap); }

int ks_debug_fault_arm(const char *op, int nth, int err, bool persistent, const char *path_contains) {
    return st_debug_fault_arm(op, nth, err, persistent, path_contains);
}

void ks_debug_fault_clear(void) { st_debug_fault_clear(); }

int ks_write_delay(ks *k, size_t bytes, uint64_t *micros) { return st_db_write_delay(k->db, bytes, micros); }

int ks_write_stall_micros(ks *k, uint64_t *micros) {
    st_stats s;
    int rc = st_db_stats(k->db, &s);
    *micros = rc ? 0 : s.write_stall_micros;
    return rc;
}


int ks_memory_stats(ks *k, ks_memory *out) {
    memset(out, 0, sizeof *out);
    st_stats s;
    int rc = st_db_stats(k->db, &s);
    if (rc) return rc;
    out->memtable_bytes = s.memtable_bytes;
    out->immutable_bytes = s.immutable_bytes;
    out->immutable_count = s.immutable_count;
    out->write_buffer_bytes = s.write_buffer_bytes;
    out->cache_usage_bytes = s.cache_usage_bytes;
    out->cache_capacity_bytes = s.cache_capacity_bytes;
    out->cache_pinned_bytes = s.cache_pinned_bytes;
    out->cache_hits = s.cache_hits;
    out->cache_misses = s.cache_misses;
    out->table_reader_bytes = s.table_reader_bytes;
    out->open_tables = s.open_tables;
    out->memory_bytes = s.memory_bytes;
    out->memory_limit_bytes = s.memory_limit_bytes;
    return 0;
}

uint64_t ks_record_bytes(size_t klen, const ks_rec *r) {
    uint64_t n = META_PREFIX_BYTES + (uint64_t)klen + r->raw_len;
    if (r->expire_ms) n += KS_XP_PREFIX + 8 + KS_NS_BYTES + (uint64_t)klen; /* its index entry (K2) */
    return n;
}

uint64_t ks_elem_bytes(size_t klen, size_t elen, size_t vlen) {
    return KS_ELEM_FIXED + (uint64_t)klen + 8 + elen + vlen; /* elem_key's shape, then the value */
}

void ks_info_storage(ks *k, ks_info_fn fn, void *arg) {
    st_stats s;
    if (st_db_stats(k->db, &s)) return;
    char v[192], name[64];
#define EMIT(n, x)                                                    \
    do {                                                              \
        snprintf(v, sizeof v, "%" PRIu64, (uint64_t)(x));             \
        fn(arg, n, v);                                                \
    } while (0)
    EMIT("engine_last_seq", s.last_seq);
    EMIT("engine_synced_seq", s.synced_seq);
    EMIT("engine_wal_bytes", s.wal_bytes);
    EMIT("engine_wal_syncs", s.wal_syncs);
    EMIT("engine_commits_grouped", s.commits_grouped);
    EMIT("engine_memtable_bytes", s.memtable_bytes);
    EMIT("engine_immutable_memtables", s.immutable_count);
    EMIT("engine_immutable_bytes", s.immutable_bytes);
    EMIT("engine_write_buffer", s.write_buffer_bytes);
    EMIT("engine_flushes", s.flushes);
    EMIT("engine_flush_bytes", s.flush_bytes);
    EMIT("engine_write_stalls", s.write_stalls);
    EMIT("engine_write_stops_memtable", s.write_stops_memtable);
    EMIT("engine_write_slowdowns", s.write_slowdowns);
    EMIT("engine_write_stops", s.write_stops);
    EMIT("engine_write_stall_micros", s.write_stall_micros);
    EMIT("compactions", s.compactions);
    EMIT("compaction_trivial_moves", s.trivial_moves);
    EMIT("compactions_running", s.compactions_running);
    EMIT("compaction_bytes_read", s.compaction_bytes_read);
    EMIT("compaction_bytes_written", s.compaction_bytes_written);
    EMIT("compaction_entries_dropped", s.compaction_entries_dropped);
    EMIT("compaction_pending_bytes", s.pending_compaction_bytes);
    EMIT("compaction_base_level", (uint64_t)s.base_level);
    EMIT("engine_block_reads", s.block_reads);
    EMIT("engine_bloom_useful", s.bloom_useful);
    EMIT("block_cache_capacity", s.cache_capacity_bytes);
    EMIT("block_cache_usage", s.cache_usage_bytes);
    EMIT("block_cache_pinned", s.cache_pinned_bytes);
    EMIT("block_cache_hits", s.cache_hits);
    EMIT("block_cache_misses", s.cache_misses);
    uint64_t lookups = s.cache_hits + s.cache_misses;
    snprintf(v, sizeof v, "%.4f", lookups ? (double)s.cache_hits / (double)lookups : 0.0);
    fn(arg, "block_cache_hit_ratio", v);
    EMIT("engine_open_tables", s.open_tables);
    EMIT("engine_open_table_files", s.open_table_files);
    EMIT("engine_table_readers_bytes", s.table_reader_bytes);
    EMIT("engine_memory_bytes", s.memory_bytes);
    EMIT("engine_memory_limit", s.memory_limit_bytes);
    fn(arg, "io_backend", s.io_backend);
    EMIT("tier_migrations", s.migrations);
    EMIT("tier_migration_failures", s.migration_failures);
    EMIT("tier_migration_bytes", s.migration_bytes);
    for (int i = 0; i < s.tier_ids; i++) {
        /* id 0 (the data directory) only while it still holds tables from before tiering */
        if (i == 0 && s.tier_ids > 1 && s.tier_files[0] == 0) continue;
        snprintf(name, sizeof name, "tier_%s", s.tier_name[i]);
        snprintf(v, sizeof v,
                 "files=%" PRIu64 ",bytes=%" PRIu64 ",direct_files=%" PRIu64 ",block_reads=%" PRIu64
                 ",bytes_written=%" PRIu64 ",migrated_in=%" PRIu64,
                 s.tier_files[i], s.tier_bytes[i], s.tier_direct_files[i], s.tier_block_reads[i],
                 s.tier_bytes_written[i], s.tier_migrations_in[i]);
        fn(arg, name, v);
    }
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        snprintf(name, sizeof name, "level%d_files", l);
        EMIT(name, s.level_files[l]);
        snprintf(name, sizeof name, "level%d_bytes", l);
        EMIT(name, s.level_bytes[l]);
        snprintf(name, sizeof name, "level%d_target_bytes", l);
        EMIT(name, s.level_target_bytes[l]);
        snprintf(name, sizeof name, "level%d_score", l);
        snprintf(v, sizeof v, "%.3f", s.level_score[l]);
        fn(arg, name, v);
    }
#undef EMIT
}
