/* test_server_torture.c -- crash torture of the whole server. NCLIENTS threads, each on its own
 * connection and its own keys ("c<id>:<kind><nn>"), write strings (SET, SET EX, APPEND, EXPIRE,
 * PERSIST), counters, hashes, lists, sets, sorted sets and MULTI/EXEC batches, checking every reply
 * against a model; at a seeded random moment the server gets SIGKILL, restarts on the same directory
 * and each client's keys are read back (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE WITHSCORES, TTL) and
 * must equal the model after exactly m of the client's operations, acked <= m <= issued, a MULTI/EXEC
 * counting as one (all or nothing). A full SCAN and DBSIZE must show exactly the live keys. The next
 * cycle continues from the verified state, so each recovery starts from a recovered database.
 *   always:   no pipelining, so m is acked or acked + 1 (docs/ARCHITECTURE.md invariant 2; S1 in
 *             net/server.h: no reply before its write is fdatasync'ed).
 *   everysec: pipelines of 1..32. A reply leaves only after its turn's commit handed the WAL to the
 *             OS ("Life of a SET", step 4) and SIGKILL loses nothing the OS holds, so the survivors
 *             must be a prefix (no holes) covering every acknowledged operation.
 * Operations write their number (values, list elements, hash values), so a lost one leaves a state
 * no prefix has. --write-buffer 64kb and an L0 trigger of 2 keep flushes and compactions running.
 * STRATA_TORTURE_SEED (else STRATA_SEED) seeds operations and kill times; STRATA_TORTURE_CYCLES=N
 * runs N cycles, 5/8 under always (default 40 + 24); bench/torture.sh runs long ones. Loops are
 * bounded, waits have deadlines, nothing asserts on a duration. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_harness.h"

/* ---- shape of the workload ----------------------------------------------------------------------- */

#define NCLIENTS 4
#define ALWAYS_CYCLES 40
#define EVERYSEC_CYCLES 24
#define DEFAULT_SEED 20240611u
#define TTL_EX 1000000           /* seconds: "SET ... EX" keys must never expire during a run */
#define KILL_MIN_MS 20
#define KILL_MAX_MS 700          /* kill this long (seeded) after the clients start ... */
#define KILL_EARLY_MS 20         /* ... or, one cycle in 8, within this: right after a recovery */
#define MAX_OPS_PER_CYCLE 2000000 /* a client stops issuing here (never reached before the kill) */
#define MAX_WINDOW 32            /* everysec pipeline depth: 1..MAX_WINDOW per client and cycle */
#define RING 64                  /* >= MAX_WINDOW: issued, unacknowledged operations */
#define MAX_SUB 5                /* commands in one MULTI/EXEC */
#define SCAN_MAX_CALLS 100000
#define SCAN_DEADLINE_MS 30000

/* Keys per client, by kind; a key's kind never changes. */
enum { N_STR = 48, N_CTR = 4, N_HASH = 8, N_LIST = 8, N_SET = 8, N_ZSET = 8 };
enum { K_STR, K_CTR, K_HASH, K_LIST, K_SET, K_ZSET, K_NKINDS };
static const int kind_count[K_NKINDS] = {N_STR, N_CTR, N_HASH, N_LIST, N_SET, N_ZSET};
static const char kind_letter[K_NKINDS] = {'s', 'n', 'h', 'l', 't', 'z'};
#define NKEYS (N_STR + N_CTR + N_HASH + N_LIST + N_SET + N_ZSET)

enum { STR_MAX = 600, STR_SET_MAX = 520, H_FIELDS = 16, LIST_MAX = 24, S_MEMBERS = 64, Z_MEMBERS = 16 };

/* ---- the model of one client's keys ------------------------------------------------------------- */

/* Canonical: a missing key has every field zero, so two models of the same state compare equal
 * field by field (model_eq never looks at bytes past len / outside the masks anyway). */
typedef struct str_v {
    bool on, ttl;
    uint16_t len;
    char v[STR_MAX];
} str_v;
typedef struct ctr_v {
    bool on;
    long long n;
} ctr_v;
typedef struct hash_v {
    uint32_t mask;             /* fields present; the key exists iff mask != 0 */
    long long v[H_FIELDS];
} hash_v;
typedef struct list_v {
    uint8_t n;                 /* the key exists iff n > 0 */
    uint64_t e[LIST_MAX];      /* element "e<e>" */
} list_v;
typedef struct set_v {
    uint64_t mask;             /* member "s<nn>" */
} set_v;
typedef struct zset_v {
    uint32_t mask;             /* member "m<nn>" */
    long long s[Z_MEMBERS];    /* integral scores: exact in a double */
} zset_v;

typedef struct model {
    str_v str[N_STR];
    ctr_v ctr[N_CTR];
    hash_v hash[N_HASH];
    list_v list[N_LIST];
    set_v set[N_SET];
    zset_v zset[N_ZSET];
} model;

/* Commands. */
enum {
    C_SET, C_SETEX, C_APPEND, C_EXPIRE, C_PERSIST, C_DEL,
    C_INCR, C_INCRBY, C_SETN,
    C_HSET, C_HDEL, C_HINCRBY,
    C_RPUSH, C_LPUSH, C_LPOP, C_RPOP,
    C_SADD, C_SREM,
    C_ZADD, C_ZREM, C_ZINCRBY,
};

typedef struct sub {
    uint8_t cmd;
    uint8_t key;     /* 0..NKEYS-1 */
    uint8_t n;       /* fields / members / elements used in idx[] and v[] */
    uint8_t idx[3];  /* distinct field or member numbers */
    uint16_t len;    /* C_SET/C_SETEX: value length */
    int64_t v[3];    /* values, scores, deltas */
} sub;

typedef struct op {
    uint64_t no;     /* the client's operation number: never reused, also across cycles */
    uint8_t nsub;
    bool multi;
    sub s[MAX_SUB];
} op;

/* The reply a command must get, computed by applying it to the model. */
enum { W_OK, W_INT, W_BULK, W_NIL, W_SCORE };
typedef struct want {
    int kind;
    long long i;
    char bulk[32];
} want;

static int key_kind(int k, int *local) {
    for (int kind = 0; kind < K_NKINDS; kind++) {
        if (k < kind_count[kind]) {
            *local = k;
            return kind;
        }
        k -= kind_count[kind];
    }
    *local = -1;
    return -1;
}

static int key_index(int kind, int local) {
    int k = 0;
    for (int i = 0; i < kind; i++) k += kind_count[i];
    return k + local;
}

static size_t key_name(int client, int k, char *out, size_t n) {
    int local;
    int kind = key_kind(k, &local);
    return (size_t)snprintf(out, n, "c%d:%c%02d", client, kind_letter[kind], local);
}

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A SET value: a head naming client, operation and command, then seeded filler; exactly len bytes. */
static void gen_str(int client, uint64_t opno, int si, size_t len, char *out) {
    char head[48];
    int h = snprintf(head, sizeof head, "c%d.%" PRIu64 ".%d:", client, opno, si);
    uint64_t x = mix64(((uint64_t)client << 56) ^ (opno << 3) ^ (uint64_t)si);
    for (size_t i = 0; i < len; i++) {
        if (i < (size_t)h) {
            out[i] = head[i];
            continue;
        }
        if (i % 8 == 0) x = mix64(x + i);
        out[i] = (char)('a' + ((x >> (8 * (i % 8))) & 15));
    }
}

static size_t append_suffix(uint64_t opno, int si, char *out) {
    return (size_t)snprintf(out, 32, "+%" PRIu64 ".%d", opno, si);
}

static bool key_exists(const model *m, int k) {
    int l;
    switch (key_kind(k, &l)) {
    case K_STR: return m->str[l].on;
    case K_CTR: return m->ctr[l].on;
    case K_HASH: return m->hash[l].mask != 0;
    case K_LIST: return m->list[l].n > 0;
    case K_SET: return m->set[l].mask != 0;
    case K_ZSET: return m->zset[l].mask != 0;
    }
    return false;
}

static void key_clear(model *m, int k) {
    int l;
    switch (key_kind(k, &l)) {
    case K_STR: memset(&m->str[l], 0, sizeof m->str[l]); break;
    case K_CTR: memset(&m->ctr[l], 0, sizeof m->ctr[l]); break;
    case K_HASH: memset(&m->hash[l], 0, sizeof m->hash[l]); break;
    case K_LIST: memset(&m->list[l], 0, sizeof m->list[l]); break;
    case K_SET: memset(&m->set[l], 0, sizeof m->set[l]); break;
    case K_ZSET: memset(&m->zset[l], 0, sizeof m->zset[l]); break;
    }
}

static void want_int(want *w, long long i) { *w = (want){.kind = W_INT, .i = i}; }

/* Applies one command of operation opno (its si-th) to m and says what the server must answer. */
static void apply_sub(model *m, const sub *s, int client, uint64_t opno, int si, want *w) {
    int l;
    int kind = key_kind(s->key, &l);
    if (s->cmd == C_DEL) {
        bool had = key_exists(m, s->key);
        key_clear(m, s->key);
        want_int(w, had);
        return;
    }
    switch (kind) {
    case K_STR: {
        str_v *x = &m->str[l];
        if (s->cmd == C_SET || s->cmd == C_SETEX) {
            memset(x, 0, sizeof *x);
            x->on = true;
            x->ttl = s->cmd == C_SETEX;
            x->len = s->len;
            gen_str(client, opno, si, s->len, x->v);
            *w = (want){.kind = W_OK};
        } else if (s->cmd == C_APPEND) {
            char suf[32];
            size_t n = append_suffix(opno, si, suf);
            if (!x->on) memset(x, 0, sizeof *x);
            x->on = true;
            memcpy(x->v + x->len, suf, n);
            x->len = (uint16_t)(x->len + n);
            want_int(w, x->len);
        } else if (s->cmd == C_EXPIRE) {
            want_int(w, x->on);
            if (x->on) x->ttl = true;
        } else { /* C_PERSIST */
            want_int(w, x->on && x->ttl);
            x->ttl = false;
        }
        break;
    }
    case K_CTR: {
        ctr_v *x = &m->ctr[l];
        if (s->cmd == C_SETN) {
            x->on = true;
            x->n = s->v[0];
            *w = (want){.kind = W_OK};
        } else { /* C_INCR, C_INCRBY */
            if (!x->on) *x = (ctr_v){.on = true};
            x->n += s->cmd == C_INCR ? 1 : s->v[0];
            want_int(w, x->n);
        }
        break;
    }
    case K_HASH: {
        hash_v *x = &m->hash[l];
        long long cnt = 0;
        for (int i = 0; i < s->n; i++) {
            uint32_t bit = 1u << s->idx[i];
            if (s->cmd == C_HSET) {
                cnt += !(x->mask & bit);
                x->mask |= bit;
                x->v[s->idx[i]] = s->v[i];
            } else if (s->cmd == C_HDEL) {
                cnt += !!(x->mask & bit);
                x->mask &= ~bit;
                x->v[s->idx[i]] = 0;
            } else { /* C_HINCRBY */
                if (!(x->mask & bit)) x->v[s->idx[i]] = 0;
                x->mask |= bit;
                cnt = x->v[s->idx[i]] += s->v[i];
            }
        }
        want_int(w, cnt);
        break;
    }
    case K_LIST: {
        list_v *x = &m->list[l];
        if (s->cmd == C_RPUSH) {
            for (int i = 0; i < s->n; i++) x->e[x->n++] = (uint64_t)s->v[i];
            want_int(w, x->n);
        } else if (s->cmd == C_LPUSH) {
            for (int i = 0; i < s->n; i++) { /* each goes to the head in turn */
                memmove(x->e + 1, x->e, x->n * sizeof x->e[0]);
                x->e[0] = (uint64_t)s->v[i];
                x->n++;
            }
            want_int(w, x->n);
        } else if (x->n == 0) { /* C_LPOP, C_RPOP of a missing list */
            *w = (want){.kind = W_NIL};
        } else {
            uint64_t e;
            if (s->cmd == C_LPOP) {
                e = x->e[0];
                memmove(x->e, x->e + 1, (size_t)(x->n - 1) * sizeof x->e[0]);
            } else {
                e = x->e[x->n - 1];
            }
            x->e[--x->n] = 0;
            *w = (want){.kind = W_BULK};
            snprintf(w->bulk, sizeof w->bulk, "e%" PRIu64, e);
        }
        break;
    }
    case K_SET: {
        set_v *x = &m->set[l];
        long long cnt = 0;
        for (int i = 0; i < s->n; i++) {
            uint64_t bit = 1ull << s->idx[i];
            cnt += s->cmd == C_SADD ? !(x->mask & bit) : !!(x->mask & bit);
            if (s->cmd == C_SADD) x->mask |= bit;
            else x->mask &= ~bit;
        }
        want_int(w, cnt);
        break;
    }
    case K_ZSET: {
        zset_v *x = &m->zset[l];
        long long cnt = 0;
        for (int i = 0; i < s->n; i++) {
            uint32_t bit = 1u << s->idx[i];
            if (s->cmd == C_ZADD) {
                cnt += !(x->mask & bit);
                x->mask |= bit;
                x->s[s->idx[i]] = s->v[i];
            } else if (s->cmd == C_ZREM) {
                cnt += !!(x->mask & bit);
                x->mask &= ~bit;
                x->s[s->idx[i]] = 0;
            } else { /* C_ZINCRBY */
                if (!(x->mask & bit)) x->s[s->idx[i]] = 0;
                x->mask |= bit;
                cnt = x->s[s->idx[i]] += s->v[i];
            }
        }
        if (s->cmd == C_ZINCRBY) *w = (want){.kind = W_SCORE, .i = cnt};
        else want_int(w, cnt);
        break;
    }
    }
}

static void apply_op(model *m, const op *o, int client, want *w /* MAX_SUB, may be NULL */) {
    want dummy;
    for (int i = 0; i < o->nsub; i++) apply_sub(m, &o->s[i], client, o->no, i, w ? &w[i] : &dummy);
}

/* n distinct numbers below `below` into idx. */
static void pick_distinct(st_rng *r, int n, int below, uint8_t *idx) {
    for (int i = 0; i < n; i++) {
        bool dup;
        do {
            idx[i] = (uint8_t)st_rng_below(r, (uint64_t)below);
            dup = false;
            for (int j = 0; j < i; j++) dup |= idx[j] == idx[i];
        } while (dup);
    }
}

static int64_t rand_between(st_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)st_rng_below(r, (uint64_t)(hi - lo + 1));
}

/* One random command on a random key, valid against m (the state it will be applied to). */
static void gen_sub(st_rng *r, const model *m, uint64_t opno, int si, sub *s) {
    memset(s, 0, sizeof *s);
    s->key = (uint8_t)st_rng_below(r, NKEYS);
    int l;
    int kind = key_kind(s->key, &l);
    unsigned p = (unsigned)st_rng_below(r, 100);
    switch (kind) {
    case K_STR:
        if (p < 35) s->cmd = C_SET;
        else if (p < 50) s->cmd = C_SETEX;
        else if (p < 72) s->cmd = C_APPEND;
        else if (p < 80) s->cmd = C_EXPIRE;
        else if (p < 86) s->cmd = C_PERSIST;
        else s->cmd = C_DEL;
        if (s->cmd == C_APPEND && m->str[l].len + 32 > STR_MAX) s->cmd = C_SET;
        if (s->cmd == C_SET || s->cmd == C_SETEX) {
            /* mostly short, some up to STR_SET_MAX; never shorter than the head */
            size_t len = st_rng_below(r, 4) ? 40 + st_rng_below(r, 120) : 40 + st_rng_below(r, STR_SET_MAX - 40);
            s->len = (uint16_t)len;
        }
        break;
    case K_CTR:
        s->cmd = p < 40 ? C_INCR : p < 75 ? C_INCRBY : p < 88 ? C_SETN : C_DEL;
        s->v[0] = s->cmd == C_SETN ? (int64_t)(opno % 100000) : rand_between(r, -100, 100);
        break;
    case K_HASH:
        s->cmd = p < 45 ? C_HSET : p < 65 ? C_HDEL : p < 92 ? C_HINCRBY : C_DEL;
        s->n = (uint8_t)(s->cmd == C_HINCRBY ? 1 : 1 + st_rng_below(r, 3));
        pick_distinct(r, s->n, H_FIELDS, s->idx);
        for (int i = 0; i < s->n; i++)
            s->v[i] = s->cmd == C_HSET ? (int64_t)(opno * 16 + (uint64_t)si * 3 + (uint64_t)i)
                                       : rand_between(r, -50, 50);
        break;
    case K_LIST:
        s->cmd = p < 35 ? C_RPUSH : p < 48 ? C_LPUSH : p < 75 ? C_LPOP : p < 91 ? C_RPOP : C_DEL;
        if ((s->cmd == C_RPUSH || s->cmd == C_LPUSH) && m->list[l].n + 3 > LIST_MAX) s->cmd = C_LPOP;
        if (s->cmd == C_RPUSH || s->cmd == C_LPUSH) {
            s->n = (uint8_t)(1 + st_rng_below(r, 3));
            for (int i = 0; i < s->n; i++) s->v[i] = (int64_t)(opno * 16 + (uint64_t)si * 3 + (uint64_t)i);
        }
        break;
    case K_SET:
        s->cmd = p < 50 ? C_SADD : p < 88 ? C_SREM : C_DEL;
        s->n = (uint8_t)(1 + st_rng_below(r, s->cmd == C_SADD ? 3 : 2));
        pick_distinct(r, s->n, S_MEMBERS, s->idx);
        break;
    case K_ZSET:
        s->cmd = p < 40 ? C_ZADD : p < 65 ? C_ZREM : p < 91 ? C_ZINCRBY : C_DEL;
        s->n = (uint8_t)(s->cmd == C_ZADD ? 1 + st_rng_below(r, 2) : 1);
        pick_distinct(r, s->n, Z_MEMBERS, s->idx);
        for (int i = 0; i < s->n; i++) s->v[i] = s->cmd == C_ZADD ? rand_between(r, -50, 50) : rand_between(r, -10, 10);
        break;
    }
}

/* ---- commands on the wire ------------------------------------------------------------------------ */

typedef struct cmdbuf {
    int argc;
    const char *argv[12];
    size_t len[12];
    char buf[2048];
    size_t used;
} cmdbuf;

static void arg_bytes(cmdbuf *b, const void *p, size_t n) {
    memcpy(b->buf + b->used, p, n);
    b->argv[b->argc] = b->buf + b->used;
    b->len[b->argc++] = n;
    b->used += n;
}

static void arg_fmt(cmdbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg_fmt(cmdbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->used, sizeof b->buf - b->used, fmt, ap);
    va_end(ap);
    b->argv[b->argc] = b->buf + b->used;
    b->len[b->argc++] = (size_t)n;
    b->used += (size_t)n;
}

static void build_cmd(cmdbuf *b, int client, uint64_t opno, int si, const sub *s) {
    static const char *const names[] = {
        [C_SET] = "SET", [C_SETEX] = "SET", [C_APPEND] = "APPEND", [C_EXPIRE] = "EXPIRE",
        [C_PERSIST] = "PERSIST", [C_DEL] = "DEL", [C_INCR] = "INCR", [C_INCRBY] = "INCRBY",
        [C_SETN] = "SET", [C_HSET] = "HSET", [C_HDEL] = "HDEL", [C_HINCRBY] = "HINCRBY",
        [C_RPUSH] = "RPUSH", [C_LPUSH] = "LPUSH", [C_LPOP] = "LPOP", [C_RPOP] = "RPOP",
        [C_SADD] = "SADD", [C_SREM] = "SREM", [C_ZADD] = "ZADD", [C_ZREM] = "ZREM", [C_ZINCRBY] = "ZINCRBY",
    };
    b->argc = 0;
    b->used = 0;
    char key[32];
    size_t kl = key_name(client, s->key, key, sizeof key);
    arg_fmt(b, "%s", names[s->cmd]);
    arg_bytes(b, key, kl);
    switch (s->cmd) {
    case C_SET:
    case C_SETEX: {
        char v[STR_MAX];
        gen_str(client, opno, si, s->len, v);
        arg_bytes(b, v, s->len);
        if (s->cmd == C_SETEX) {
            arg_fmt(b, "EX");
            arg_fmt(b, "%d", TTL_EX);
        }
        break;
    }
    case C_APPEND: {
        char suf[32];
        size_t n = append_suffix(opno, si, suf);
        arg_bytes(b, suf, n);
        break;
    }
    case C_EXPIRE: arg_fmt(b, "%d", TTL_EX); break;
    case C_INCRBY:
    case C_SETN: arg_fmt(b, "%" PRId64, s->v[0]); break;
    case C_HSET:
        for (int i = 0; i < s->n; i++) {
            arg_fmt(b, "f%02d", s->idx[i]);
            arg_fmt(b, "%" PRId64, s->v[i]);
        }
        break;
    case C_HDEL:
        for (int i = 0; i < s->n; i++) arg_fmt(b, "f%02d", s->idx[i]);
        break;
    case C_HINCRBY:
        arg_fmt(b, "f%02d", s->idx[0]);
        arg_fmt(b, "%" PRId64, s->v[0]);
        break;
    case C_RPUSH:
    case C_LPUSH:
        for (int i = 0; i < s->n; i++) arg_fmt(b, "e%" PRIu64, (uint64_t)s->v[i]);
        break;
    case C_SADD:
    case C_SREM:
        for (int i = 0; i < s->n; i++) arg_fmt(b, "s%02d", s->idx[i]);
        break;
    case C_ZADD:
        for (int i = 0; i < s->n; i++) {
            arg_fmt(b, "%" PRId64, s->v[i]);
            arg_fmt(b, "m%02d", s->idx[i]);
        }
        break;
    case C_ZREM: arg_fmt(b, "m%02d", s->idx[0]); break;
    case C_ZINCRBY:
        arg_fmt(b, "%" PRId64, s->v[0]);
        arg_fmt(b, "m%02d", s->idx[0]);
        break;
    default: break; /* C_PERSIST, C_DEL, C_INCR, C_LPOP, C_RPOP: the key only */
    }
}

/* The operation as text for failure messages ("MULTI; SET c1:s03 <57 bytes>; ...; EXEC"). */
static void describe_op(const op *o, int client, char *out, size_t n) {
    size_t off = 0;
#define PUT(...) do { if (off < n) off += (size_t)snprintf(out + off, n - off, __VA_ARGS__); } while (0)
    PUT("#%" PRIu64 " ", o->no);
    if (o->multi) PUT("MULTI; ");
    for (int i = 0; i < o->nsub; i++) {
        cmdbuf b;
        build_cmd(&b, client, o->no, i, &o->s[i]);
        for (int a = 0; a < b.argc; a++) {
            if (b.len[a] > 24) PUT("%s<%zu bytes>", a ? " " : "", b.len[a]);
            else PUT("%s%.*s", a ? " " : "", (int)b.len[a], b.argv[a]);
        }
        PUT("; ");
    }
    if (o->multi) PUT("EXEC");
#undef PUT
}

/* ---- one client thread ----------------------------------------------------------------------------- */

typedef struct client {
    int id;
    redisContext *c;
    st_rng rng;
    int window;              /* operations in flight at most (1 under always) */
    model acked;             /* after every acknowledged operation */
    model issued;            /* after every issued operation */
    op ring[RING];           /* issued operation i is ring[i % RING] while unacknowledged */
    uint64_t n_acked, n_issued; /* this cycle */
    uint64_t next_opno;
    uint64_t multi_acked;    /* this cycle */
    bool dropped;            /* the connection went away after the kill (expected) */
    bool failed;             /* err says why; read by the main thread only after the join */
    char err[2048];
    atomic_bool done;        /* the thread has stopped: the main thread may stop waiting */
    pthread_t th;
} client;

static client clients[NCLIENTS];
static atomic_bool g_killed; /* set just before the SIGKILL: a drop from then on is expected */

static void client_fail(client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void client_fail(client *cl, const char *fmt, ...) {
    if (cl->failed) return;
    cl->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cl->err, sizeof cl->err, fmt, ap);
    va_end(ap);
}

static bool reply_matches(const redisReply *r, const want *w) {
    switch (w->kind) {
    case W_OK: return r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
    case W_INT: return r->type == REDIS_REPLY_INTEGER && r->integer == w->i;
    case W_NIL: return r->type == REDIS_REPLY_NIL;
    case W_BULK: return r->type == REDIS_REPLY_STRING && r->len == strlen(w->bulk) && !memcmp(r->str, w->bulk, r->len);
    case W_SCORE: {
        if (r->type != REDIS_REPLY_STRING) return false;
        char *end;
        double d = strtod(r->str, &end);
        return end != r->str && *end == '\0' && d == (double)w->i;
    }
    }
    return false;
}

static void describe_want(const want *w, char *out, size_t n) {
    switch (w->kind) {
    case W_OK: snprintf(out, n, "OK"); break;
    case W_INT: snprintf(out, n, "(integer) %lld", w->i); break;
    case W_NIL: snprintf(out, n, "(nil)"); break;
    case W_BULK: snprintf(out, n, "\"%s\"", w->bulk); break;
    case W_SCORE: snprintf(out, n, "score %lld", w->i); break;
    }
}

static bool issue(client *cl) {
    op *o = &cl->ring[cl->n_issued % RING];
    memset(o, 0, sizeof *o);
    o->no = cl->next_opno++;
    o->multi = st_rng_below(&cl->rng, 100) < 15;
    o->nsub = (uint8_t)(o->multi ? 2 + st_rng_below(&cl->rng, MAX_SUB - 1) : 1);
    for (int i = 0; i < o->nsub; i++) {
        gen_sub(&cl->rng, &cl->issued, o->no, i, &o->s[i]);
        want w;
        apply_sub(&cl->issued, &o->s[i], cl->id, o->no, i, &w);
    }
    if (o->multi && redisAppendCommand(cl->c, "MULTI") != REDIS_OK) return false;
    for (int i = 0; i < o->nsub; i++) {
        cmdbuf b;
        build_cmd(&b, cl->id, o->no, i, &o->s[i]);
        if (redisAppendCommandArgv(cl->c, b.argc, b.argv, b.len) != REDIS_OK) return false;
    }
    if (o->multi && redisAppendCommand(cl->c, "EXEC") != REDIS_OK) return false;
    cl->n_issued++;
    return true;
}

/* Reads the replies of the oldest unacknowledged operation. 1: acknowledged (and checked, folded
 * into cl->acked); 0: the connection broke first (the operation stays in flight); -1: failure. */
static int take_ack(client *cl) {
    const op *o = &cl->ring[cl->n_acked % RING];
    redisReply *rs[MAX_SUB + 2] = {0};
    int need = o->multi ? o->nsub + 2 : 1, got = 0;
    for (; got < need; got++) {
        void *r = NULL;
        if (redisGetReply(cl->c, &r) != REDIS_OK || !r) break;
        rs[got] = r;
    }
    int rc = 1;
    if (got < need) {
        rc = 0;
        goto out;
    }
    want w[MAX_SUB];
    apply_op(&cl->acked, o, cl->id, w);
    const redisReply *const *res = (const redisReply *const *)rs;
    if (o->multi) {
        bool ok = rs[0]->type == REDIS_REPLY_STATUS && !strcmp(rs[0]->str, "OK");
        for (int i = 0; i < o->nsub; i++)
            ok &= rs[1 + i]->type == REDIS_REPLY_STATUS && !strcmp(rs[1 + i]->str, "QUEUED");
        const redisReply *ex = rs[o->nsub + 1];
        ok &= ex->type == REDIS_REPLY_ARRAY && ex->elements == (size_t)o->nsub;
        if (!ok) {
            char d[512], *g = st_reply_repr(ex);
            describe_op(o, cl->id, d, sizeof d);
            client_fail(cl, "client %d: %s: MULTI/QUEUED/EXEC replies wrong; EXEC gave %s", cl->id, d, g);
            free(g);
            rc = -1;
            goto out;
        }
        res = (const redisReply *const *)ex->element;
    }
    for (int i = 0; i < o->nsub; i++) {
        if (!reply_matches(res[i], &w[i])) {
            char d[512], wd[64], *g = st_reply_repr(res[i]);
            describe_op(o, cl->id, d, sizeof d);
            describe_want(&w[i], wd, sizeof wd);
            client_fail(cl, "client %d: %s: command %d answered %s, the model says %s", cl->id, d, i, g, wd);
            free(g);
            rc = -1;
            goto out;
        }
    }
    cl->n_acked++;
    cl->multi_acked += o->multi;
out:
    for (int i = 0; i < got; i++) freeReplyObject(rs[i]);
    return rc;
}

static void *client_main(void *arg) {
    client *cl = arg;
    for (;;) {
        bool queued = true;
        while (queued && cl->n_issued - cl->n_acked < (uint64_t)cl->window && cl->n_issued < MAX_OPS_PER_CYCLE)
            queued = issue(cl);
        if (!queued) { /* hiredis out of memory; cl->issued already holds the op, so stop here */
            client_fail(cl, "client %d: could not queue a command", cl->id);
            break;
        }
        if (cl->n_issued == cl->n_acked) break; /* MAX_OPS_PER_CYCLE reached and all acknowledged */
        int rc = take_ack(cl);
        if (rc < 0) break;
        if (rc == 0) {
            if (atomic_load(&g_killed)) cl->dropped = true;
            else client_fail(cl, "client %d: connection lost before the kill: %s", cl->id, cl->c->errstr);
            break;
        }
    }
    atomic_store(&cl->done, true);
    return NULL;
}

/* ---- reading a client's keys back --------------------------------------------------------------- */

/* Renders key k of m ("(absent)", "\"c1.5.0:ab...\" len 57 ttl", "{f01=3, f04=-2}", ...). */
static void key_repr(const model *m, int k, char *out, size_t n) {
    int l;
    int kind = key_kind(k, &l);
    size_t off = 0;
#define PUT(...) do { if (off < n) off += (size_t)snprintf(out + off, n - off, __VA_ARGS__); } while (0)
    if (!key_exists(m, k)) {
        PUT("(absent)");
        return;
    }
    switch (kind) {
    case K_STR: {
        const str_v *x = &m->str[l];
        PUT("\"%.*s%s\" (len %u%s)", x->len > 40 ? 40 : (int)x->len, x->v, x->len > 40 ? "..." : "", x->len,
            x->ttl ? ", ttl" : "");
        if (x->len > 40) PUT(" tail \"%.*s\"", 16, x->v + x->len - 16);
        break;
    }
    case K_CTR: PUT("%lld", m->ctr[l].n); break;
    case K_HASH:
        PUT("{");
        for (int i = 0; i < H_FIELDS; i++)
            if (m->hash[l].mask & (1u << i)) PUT("f%02d=%lld ", i, m->hash[l].v[i]);
        PUT("}");
        break;
    case K_LIST:
        PUT("[");
        for (int i = 0; i < m->list[l].n; i++) PUT("e%" PRIu64 " ", m->list[l].e[i]);
        PUT("]");
        break;
    case K_SET:
        PUT("{");
        for (int i = 0; i < S_MEMBERS; i++)
            if (m->set[l].mask & (1ull << i)) PUT("s%02d ", i);
        PUT("}");
        break;
    case K_ZSET:
        PUT("{");
        for (int i = 0; i < Z_MEMBERS; i++)
            if (m->zset[l].mask & (1u << i)) PUT("m%02d:%lld ", i, m->zset[l].s[i]);
        PUT("}");
        break;
    }
#undef PUT
}

static bool key_eq(const model *a, const model *b, int k) {
    int l;
    switch (key_kind(k, &l)) {
    case K_STR: {
        const str_v *x = &a->str[l], *y = &b->str[l];
        if (x->on != y->on) return false;
        return !x->on || (x->ttl == y->ttl && x->len == y->len && !memcmp(x->v, y->v, x->len));
    }
    case K_CTR: return a->ctr[l].on == b->ctr[l].on && (!a->ctr[l].on || a->ctr[l].n == b->ctr[l].n);
    case K_HASH: {
        const hash_v *x = &a->hash[l], *y = &b->hash[l];
        if (x->mask != y->mask) return false;
        for (int i = 0; i < H_FIELDS; i++)
            if ((x->mask & (1u << i)) && x->v[i] != y->v[i]) return false;
        return true;
    }
    case K_LIST: {
        const list_v *x = &a->list[l], *y = &b->list[l];
        return x->n == y->n && !memcmp(x->e, y->e, x->n * sizeof x->e[0]);
    }
    case K_SET: return a->set[l].mask == b->set[l].mask;
    case K_ZSET: {
        const zset_v *x = &a->zset[l], *y = &b->zset[l];
        if (x->mask != y->mask) return false;
        for (int i = 0; i < Z_MEMBERS; i++)
            if ((x->mask & (1u << i)) && x->s[i] != y->s[i]) return false;
        return true;
    }
    }
    return false;
}

static bool model_eq(const model *a, const model *b) {
    for (int k = 0; k < NKEYS; k++)
        if (!key_eq(a, b, k)) return false;
    return true;
}

static int model_live(const model *m) {
    int n = 0;
    for (int k = 0; k < NKEYS; k++) n += key_exists(m, k);
    return n;
}

static bool parse_ll(const char *s, size_t len, long long *out) {
    if (len == 0 || len > 20) return false;
    char tmp[24];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    *out = strtoll(tmp, &end, 10);
    return errno == 0 && *end == '\0';
}

/* "<letter><nn>" with nn < below: the field or member number, or -1. */
static int parse_member(const redisReply *r, char letter, int below) {
    if (r->type != REDIS_REPLY_STRING || r->len != 3 || r->str[0] != letter) return -1;
    if (r->str[1] < '0' || r->str[1] > '9' || r->str[2] < '0' || r->str[2] > '9') return -1;
    int v = (r->str[1] - '0') * 10 + (r->str[2] - '0');
    return v < below ? v : -1;
}

/* Fills key k of m from its read reply and its TTL reply. false (why in err) if the reply is no
 * state the model can describe at all: wrong type, unknown element, a duplicate, bad order, a TTL
 * that does not fit. */
static bool parse_key(model *m, int k, const redisReply *r, const redisReply *ttl, char *err, size_t n) {
    int l;
    int kind = key_kind(k, &l);
    key_clear(m, k);
    char *g = st_reply_repr(r);
    bool ok = false;
#define BAD(...) do { snprintf(err, n, __VA_ARGS__); goto out; } while (0)
    switch (kind) {
    case K_STR: {
        str_v *x = &m->str[l];
        if (r->type == REDIS_REPLY_NIL) break;
        if (r->type != REDIS_REPLY_STRING) BAD("GET answered %s", g);
        if (r->len > STR_MAX) BAD("GET answered %zu bytes, longer than any value written", r->len);
        x->on = true;
        x->len = (uint16_t)r->len;
        memcpy(x->v, r->str, r->len);
        break;
    }
    case K_CTR:
        if (r->type == REDIS_REPLY_NIL) break;
        if (r->type != REDIS_REPLY_STRING || !parse_ll(r->str, r->len, &m->ctr[l].n)) BAD("GET answered %s", g);
        m->ctr[l].on = true;
        break;
    case K_HASH:
        if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) BAD("HGETALL answered %s", g);
        for (size_t i = 0; i < r->elements; i += 2) {
            int f = parse_member(r->element[i], 'f', H_FIELDS);
            long long v;
            if (f < 0 || (m->hash[l].mask & (1u << f)) || r->element[i + 1]->type != REDIS_REPLY_STRING ||
                !parse_ll(r->element[i + 1]->str, r->element[i + 1]->len, &v))
                BAD("HGETALL answered %s", g);
            m->hash[l].mask |= 1u << f;
            m->hash[l].v[f] = v;
        }
        break;
    case K_LIST:
        if (r->type != REDIS_REPLY_ARRAY || r->elements > LIST_MAX) BAD("LRANGE answered %s", g);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            long long v;
            if (e->type != REDIS_REPLY_STRING || e->len < 2 || e->str[0] != 'e' ||
                !parse_ll(e->str + 1, e->len - 1, &v) || v < 0)
                BAD("LRANGE answered %s", g);
            m->list[l].e[m->list[l].n++] = (uint64_t)v;
        }
        break;
    case K_SET:
        if (r->type != REDIS_REPLY_ARRAY) BAD("SMEMBERS answered %s", g);
        for (size_t i = 0; i < r->elements; i++) {
            int s = parse_member(r->element[i], 's', S_MEMBERS);
            if (s < 0 || (m->set[l].mask & (1ull << s))) BAD("SMEMBERS answered %s", g);
            m->set[l].mask |= 1ull << s;
        }
        break;
    case K_ZSET: {
        if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) BAD("ZRANGE WITHSCORES answered %s", g);
        long long prev_s = 0;
        int prev_m = -1;
        for (size_t i = 0; i < r->elements; i += 2) {
            int z = parse_member(r->element[i], 'm', Z_MEMBERS);
            const redisReply *sr = r->element[i + 1];
            char *end = NULL;
            double d = sr->type == REDIS_REPLY_STRING ? strtod(sr->str, &end) : 0.5;
            if (z < 0 || (m->zset[l].mask & (1u << z)) || !end || end == sr->str || *end || d != (double)(long long)d)
                BAD("ZRANGE WITHSCORES answered %s", g);
            long long s = (long long)d;
            /* score order, then member order (members are fixed width, so byte order is numeric) */
            if (prev_m >= 0 && (s < prev_s || (s == prev_s && z < prev_m)))
                BAD("ZRANGE WITHSCORES out of order: %s", g);
            prev_s = s;
            prev_m = z;
            m->zset[l].mask |= 1u << z;
            m->zset[l].s[z] = s;
        }
        break;
    }
    }
    if (ttl->type != REDIS_REPLY_INTEGER) BAD("TTL answered a non-integer");
    if (!key_exists(m, k)) {
        if (ttl->integer != -2) BAD("key reads as missing but TTL is %lld", ttl->integer);
    } else if (kind == K_STR && ttl->integer > 0 && ttl->integer <= TTL_EX) {
        m->str[l].ttl = true;
    } else if (ttl->integer != -1) {
        BAD("TTL is %lld (value %s)", ttl->integer, g);
    }
    ok = true;
out:
    free(g);
    return ok;
#undef BAD
}

static const char *const read_fmt[K_NKINDS] = {"GET %b", "GET %b", "HGETALL %b", "LRANGE %b 0 -1", "SMEMBERS %b",
                                               "ZRANGE %b 0 -1 WITHSCORES"};

/* Reads every key of client cl into *got (pipelined). */
static void read_client(redisContext *c, int cl, model *got, const char *ctx) {
    memset(got, 0, sizeof *got);
    for (int k = 0; k < NKEYS; k++) {
        char key[32];
        size_t kl = key_name(cl, k, key, sizeof key);
        int l;
        redisAppendCommand(c, read_fmt[key_kind(k, &l)], key, kl);
        redisAppendCommand(c, "TTL %b", key, kl);
    }
    for (int k = 0; k < NKEYS; k++) {
        redisReply *r = st_get_reply(c, __FILE__, __LINE__), *t = st_get_reply(c, __FILE__, __LINE__);
        char err[600];
        if (!parse_key(got, k, r, t, err, sizeof err)) {
            char key[32];
            key_name(cl, k, key, sizeof key);
            ST_FAIL("%s: key %s after recovery: %s", ctx, key, err);
        }
        freeReplyObject(r);
        freeReplyObject(t);
    }
}

/* ---- one test: cycles of run, SIGKILL, restart, verify ----------------------------------------- */

typedef struct totals {
    long long acked, multi_acked, in_flight, applied, not_applied, either, beyond_ack;
    long long keys_checked;
    long long restart_ms_sum, restart_ms_max;
    int cycles;
} totals;

static uint64_t g_seed;
static st_server srv;

static uint64_t torture_seed(void) {
    const char *e = getenv("STRATA_TORTURE_SEED");
    uint64_t seed;
    if (e && *e) {
        seed = strtoull(e, NULL, 0);
        printf("test_server_torture: seed=%" PRIu64 " (from STRATA_TORTURE_SEED)\n", seed);
    } else {
        seed = st_test_seed("test_server_torture", DEFAULT_SEED);
    }
    printf("test_server_torture: replay with STRATA_TORTURE_SEED=%" PRIu64 "\n", seed);
    fflush(stdout);
    return seed;
}

static void cycle_counts(int *always, int *everysec) {
    const char *e = getenv("STRATA_TORTURE_CYCLES");
    long n = e && *e ? strtol(e, NULL, 10) : 0;
    if (n <= 0) {
        *always = ALWAYS_CYCLES;
        *everysec = EVERYSEC_CYCLES;
        return;
    }
    if (n > 1000000) n = 1000000;
    *always = (int)((n * 5 + 7) / 8);
    *everysec = (int)n - *always;
}

/* Checks every client against its models after a restart, folds the outcome in and returns the
 * keys checked. Per client: the keys must equal the model after m operations, acked <= m <= issued. */
static int verify(redisContext *c, bool always, int cycle, totals *t, char *outcome, size_t on) {
    static model got, cand;
    int checked = 0;
    size_t off = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        client *cl = &clients[i];
        char ctx[160];
        snprintf(ctx, sizeof ctx, "%s cycle %d (seed %" PRIu64 ") client %d", always ? "always" : "everysec", cycle,
                 g_seed, i);
        read_client(c, i, &got, ctx);
        checked += NKEYS;
        uint64_t inflight = cl->n_issued - cl->n_acked;
        cand = cl->acked;
        long first = -1, last = -1; /* matching prefix lengths beyond acked: 0..inflight */
        for (uint64_t j = 0;; j++) {
            if (model_eq(&got, &cand)) {
                if (first < 0) first = (long)j;
                last = (long)j;
            }
            if (j == inflight) break;
            apply_op(&cand, &cl->ring[(cl->n_acked + j) % RING], i, NULL);
        }
        if (first < 0) {
            /* No prefix matches: name the keys that differ from the acknowledged state and from
             * the state with everything in flight applied, and the operations in flight. */
            fprintf(stderr, "%s: recovered state is no prefix of the issued operations\n"
                            "  acked %" PRIu64 " operations this cycle, %" PRIu64 " in flight\n",
                    ctx, cl->n_acked, inflight);
            for (uint64_t j = 0; j < inflight; j++) {
                char d[1024];
                describe_op(&cl->ring[(cl->n_acked + j) % RING], i, d, sizeof d);
                fprintf(stderr, "  in flight: %s\n", d);
            }
            int shown = 0;
            for (int k = 0; k < NKEYS && shown < 12; k++) {
                if (key_eq(&got, &cl->acked, k) && key_eq(&got, &cand, k)) continue;
                char key[32], g[600], a[600], f[600];
                key_name(i, k, key, sizeof key);
                key_repr(&got, k, g, sizeof g);
                key_repr(&cl->acked, k, a, sizeof a);
                key_repr(&cand, k, f, sizeof f);
                fprintf(stderr, "  %s\n    recovered:   %s\n    acked state: %s\n    all applied: %s\n", key, g, a, f);
                shown++;
            }
            ST_FAIL("%s: %s (acked %" PRIu64 ", in flight %" PRIu64 "; details above)", ctx,
                    inflight ? "ACKNOWLEDGED WRITE LOST, HOLE, OR HALF-APPLIED BATCH"
                             : "ACKNOWLEDGED WRITE LOST OR STATE CHANGED",
                    cl->n_acked, inflight);
        }
        /* carry on from what the server holds: the prefix of `last` operations (equal states) */
        cl->acked = got;
        cl->issued = got;
        t->in_flight += (long long)inflight;
        if (always && inflight) {
            if (first == 0 && last == 0) t->not_applied++;
            else if (first > 0) t->applied++;
            else t->either++;
        }
        t->beyond_ack += last;
        if (always) {
            const char *o = !inflight ? "-" : (first == 0 && last == 0) ? "lost" : first > 0 ? "applied" : "either";
            off += (size_t)snprintf(outcome + off, off < on ? on - off : 0, "%s%s", i ? "," : "", o);
        } else {
            off += (size_t)snprintf(outcome + off, off < on ? on - off : 0, "%s%ld/%" PRIu64, i ? "," : "", last,
                                    inflight);
        }
    }
    return checked;
}

/* A full SCAN (and DBSIZE) must show exactly the live keys of the models. */
static int scan_check(redisContext *c, const char *ctx) {
    static bool seen[NCLIENTS][NKEYS];
    memset(seen, 0, sizeof seen);
    int live = 0, distinct = 0;
    for (int i = 0; i < NCLIENTS; i++) live += model_live(&clients[i].acked);
    char cursor[32] = "0";
    int64_t deadline = st_now_ms() + SCAN_DEADLINE_MS;
    for (int calls = 0;; calls++) {
        if (calls >= SCAN_MAX_CALLS || st_now_ms() > deadline) ST_FAIL("%s: SCAN did not finish", ctx);
        redisReply *r = CMD(c, "SCAN %s COUNT 37", cursor);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY || r->element[0]->len >= sizeof cursor) {
            char *g = st_reply_repr(r);
            ST_FAIL("%s: SCAN answered %s", ctx, g);
        }
        for (size_t j = 0; j < r->element[1]->elements; j++) {
            const redisReply *k = r->element[1]->element[j];
            int cl = -1, local = -1, used = 0;
            char letter = 0, name[32] = "";
            if (k->type == REDIS_REPLY_STRING && k->len < 16)
                sscanf(k->str, "c%d:%c%2d%n", &cl, &letter, &local, &used);
            int kind = -1;
            for (int kk = 0; kk < K_NKINDS; kk++)
                if (kind_letter[kk] == letter) kind = kk;
            int idx = -1;
            if (cl >= 0 && cl < NCLIENTS && kind >= 0 && local >= 0 && local < kind_count[kind]) {
                idx = key_index(kind, local);
                key_name(cl, idx, name, sizeof name);
            }
            if (idx < 0 || k->len != strlen(name) || memcmp(k->str, name, k->len) || used != (int)k->len) {
                char *g = st_reply_repr(k);
                ST_FAIL("%s: SCAN found key %s, which no client ever wrote", ctx, g);
            }
            if (!key_exists(&clients[cl].acked, idx))
                ST_FAIL("%s: SCAN found %s, which the checks found absent", ctx, name);
            if (!seen[cl][idx]) distinct++;
            seen[cl][idx] = true;
        }
        memcpy(cursor, r->element[0]->str, r->element[0]->len);
        cursor[r->element[0]->len] = '\0';
        freeReplyObject(r);
        if (!strcmp(cursor, "0")) break;
    }
    if (distinct != live) ST_FAIL("%s: SCAN found %d distinct keys, %d are live", ctx, distinct, live);
    EXPECT_INT(c, live, "DBSIZE");
    return live;
}

static void start_clients(bool always, st_rng *rng, int cycle) {
    atomic_store(&g_killed, false);
    for (int i = 0; i < NCLIENTS; i++) clients[i].c = ST_CONNECT(&srv); /* all before any thread runs */
    for (int i = 0; i < NCLIENTS; i++) {
        client *cl = &clients[i];
        cl->id = i;
        st_rng_seed(&cl->rng, mix64(g_seed ^ ((uint64_t)always << 62) ^ ((uint64_t)cycle << 8) ^ (uint64_t)i));
        cl->window = always ? 1 : 1 + (int)st_rng_below(rng, MAX_WINDOW);
        cl->n_acked = cl->n_issued = cl->multi_acked = 0;
        cl->dropped = cl->failed = false;
        cl->err[0] = '\0';
        atomic_store(&cl->done, false);
        if (pthread_create(&cl->th, NULL, client_main, cl) != 0) ST_FAIL("pthread_create failed");
    }
}

static bool any_client_running(void) {
    for (int i = 0; i < NCLIENTS; i++)
        if (!atomic_load(&clients[i].done)) return true;
    return false;
}

static void run_mode(bool always, int cycles) {
    const char *mode = always ? "always" : "everysec";
    st_rng rng;
    st_rng_seed(&rng, mix64(g_seed + (always ? 1 : 2)));
    totals t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < NCLIENTS; i++) {
        memset(&clients[i].acked, 0, sizeof clients[i].acked);
        memset(&clients[i].issued, 0, sizeof clients[i].issued);
        clients[i].next_opno = 1;
    }
    int64_t t0 = st_now_ms();
    for (int cycle = 0; cycle < cycles; cycle++) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "%s cycle %d (seed %" PRIu64 ")", mode, cycle, g_seed);
        bool early = st_rng_below(&rng, 8) == 0;
        int delay = early ? (int)st_rng_below(&rng, KILL_EARLY_MS + 1)
                          : KILL_MIN_MS + (int)st_rng_below(&rng, KILL_MAX_MS - KILL_MIN_MS + 1);
        redisContext *ctl = ST_CONNECT(&srv);
        start_clients(always, &rng, cycle);
        int64_t kill_at = st_now_ms() + delay;
        /* the clients write until the kill; bail out early if they all stopped (a failure) */
        while (st_now_ms() < kill_at && any_client_running()) st_sleep_ms(delay < 5 ? 1 : 5);
        long long flushes = -1, compactions = -1;
        if (!st_server_is_redis() && !early) { /* INFO first would delay an early kill */
            flushes = st_info_field(ctl, "storage", "engine_flushes");
            compactions = st_info_field(ctl, "storage", "compactions");
        }
        atomic_store(&g_killed, true);
        if (st_server_kill9(&srv) != 0) ST_FAIL("%s: the server was not running at the kill", ctx);
        redisFree(ctl);
        for (int i = 0; i < NCLIENTS; i++) pthread_join(clients[i].th, NULL);
        for (int i = 0; i < NCLIENTS; i++) {
            redisFree(clients[i].c);
            clients[i].c = NULL;
            if (clients[i].failed) ST_FAIL("%s: %s", ctx, clients[i].err);
        }
        int64_t r0 = st_now_ms();
        if (st_server_restart(&srv) != 0) ST_FAIL("%s: restart after SIGKILL failed (log above)", ctx);
        long long restart_ms = st_now_ms() - r0;
        redisContext *c = ST_CONNECT(&srv);
        long long acked = 0, multi = 0;
        for (int i = 0; i < NCLIENTS; i++) {
            acked += (long long)clients[i].n_acked;
            multi += (long long)clients[i].multi_acked;
        }
        char outcome[256];
        int checked = verify(c, always, cycle, &t, outcome, sizeof outcome);
        int live = scan_check(c, ctx);
        redisFree(c);
        t.acked += acked;
        t.multi_acked += multi;
        t.keys_checked += checked;
        t.restart_ms_sum += restart_ms;
        if (restart_ms > t.restart_ms_max) t.restart_ms_max = restart_ms;
        t.cycles++;
        printf("%s cycle %d: acked %lld ops (%lld MULTI), in flight per client %s %s, keys checked %d "
               "(%d live, SCAN ok), killed %d ms after start%s (flushes %lld, compactions %lld since restart), "
               "restart %lld ms\n",
               mode, cycle, acked, multi, always ? "[outcome]" : "[survived beyond ack/in flight]", outcome, checked,
               live, delay, early ? " (early)" : "", flushes, compactions, restart_ms);
        fflush(stdout);
    }
    printf("%s summary: %d cycles in %lld ms, %lld ops acked (%lld MULTI), %lld in flight at kills", mode, t.cycles,
           (long long)(st_now_ms() - t0), t.acked, t.multi_acked, t.in_flight);
    if (always) printf(" (applied %lld, lost %lld, either %lld)", t.applied, t.not_applied, t.either);
    else printf(" (%lld survived beyond their ack)", t.beyond_ack);
    printf(", %lld keys checked, restart mean %lld ms max %lld ms, 0 failures\n", t.keys_checked,
           t.cycles ? t.restart_ms_sum / t.cycles : 0, t.restart_ms_max);
    fflush(stdout);
}

static int start_server(const char *mode) {
    if (st_server_is_redis()) /* the harness drops the Strata-only flags it knows; not this one */
        return st_it_group_setup(&srv, "torture", ST_IT_ARGS("--appendfsync", mode));
    return st_it_group_setup(&srv, "torture",
                             ST_IT_ARGS("--appendfsync", mode, "--write-buffer", "64kb",
                                        "--level0-file-num-compaction-trigger", "2"));
}

static int setup_always(void **state) { (void)state; return start_server("always"); }
static int setup_everysec(void **state) { (void)state; return start_server("everysec"); }
static int teardown(void **state) { (void)state; return st_it_group_teardown(&srv); }

static void test_torture_always(void **state) {
    (void)state;
    int a, e;
    cycle_counts(&a, &e);
    run_mode(true, a);
}

static void test_torture_everysec(void **state) {
    (void)state;
    int a, e;
    cycle_counts(&a, &e);
    run_mode(false, e);
}

int main(void) {
    g_seed = torture_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_torture_always, setup_always, teardown),
        cmocka_unit_test_setup_teardown(test_torture_everysec, setup_everysec, teardown),
    };
    return st_it_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
