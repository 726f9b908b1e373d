/* cmd_coll.c -- what the collection commands (cmd_hash.c, cmd_set.c, ...) share: the typed lookup
 * of a collection's record, writing it back (or deleting an emptied one), duplicate detection in
 * argument lists, random numbers, and HSCAN/SSCAN/ZSCAN.
 *
 * The scan cursor of a collection is a cursor.h token "klen u32 BE | key | element": the element
 * to resume at, bound to its key, so a cursor of another key (or another namespace) is "ERR invalid
 * cursor" rather than a silent jump. */
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "block.h"
#include "cmd.h"
#include "conn.h"
#include "cursor.h"
#include "glob.h"
#include "server.h"
#include "strutil.h"

void cmd_count_lookup(cmd_ctx *x, bool hit) {
    if (!x->srv) return;
    atomic_fetch_add_explicit(hit ? &x->srv->stat.keyspace_hits : &x->srv->stat.keyspace_misses, 1,
                              memory_order_relaxed);
}

int cmd_coll_lookup(cmd_ctx *x, const uint8_t *key, size_t klen, int type, bool read, ks_coll *c) {
    memset(c, 0, sizeof *c);
    ks_rec rec;
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, &rec);
    if (rc == KS_ENOTFOUND) {
        if (read) cmd_count_lookup(x, false);
        return 0;
    }
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return -1;
    }
    if (rec.type != type) {
        ks_rec_free(&rec);
        reply_shared(x->rb, REPLY_SH_WRONGTYPE);
        return -1;
    }
    rc = ks_rec_coll(&rec, c);
    ks_rec_free(&rec);
    if (rc) {
        reply_errorf(x->rb, "ERR data corruption detected: a malformed collection record");
        return -1;
    }
    if (read) cmd_count_lookup(x, true);
    return 1;
}

int cmd_batch_coll(cmd_ctx *x, ks_batch *b, const uint8_t *key, size_t klen, const ks_coll *c) {
    return c->size ? ks_batch_put_coll(b, x->ns, key, klen, c) : ks_batch_delete(b, x->ns, key, klen);
}

typedef struct dup_item {
    const uint8_t *p;
    size_t len, idx;
} dup_item;

static int dup_cmp(const void *a, const void *b) {
    const dup_item *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (!c) c = (x->len > y->len) - (x->len < y->len);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

bool cmd_mark_dups(cmd_ctx *x, size_t n, const uint8_t *const *p, const size_t *len, bool *dup) {
    for (size_t i = 0; i < n; i++) dup[i] = false;
    if (n <= 8) { /* the common case: a few items, no allocation */
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i && !dup[i]; j++)
                dup[i] = len[i] == len[j] && (len[i] == 0 || memcmp(p[i], p[j], len[i]) == 0);
        return true;
    }
    dup_item *it = malloc(n * sizeof *it);
    if (!it) {
        cmd_reply_ks_error(x, KS_ENOMEM);
        return false;
    }
    for (size_t i = 0; i < n; i++) it[i] = (dup_item){p[i], len[i], i};
    qsort(it, n, sizeof *it, dup_cmp);
    for (size_t i = 1; i < n; i++)
        if (it[i].len == it[i - 1].len && (it[i].len == 0 || memcmp(it[i].p, it[i - 1].p, it[i].len) == 0))
            dup[it[i].idx] = true;
    free(it);
    return true;
}

uint64_t cmd_random(void) {
    static _Thread_local uint64_t state;
    if (!state) state = cursor_seed() | 1;
    return cursor_splitmix64(&state);
}

/* ---- HSCAN / SSCAN / ZSCAN ---------------------------------------------------------------------- */

static int scan_token(const uint8_t *key, size_t klen, const uint8_t *el, size_t elen, uint8_t **out, size_t *len) {
    *out = malloc(4 + klen + elen);
    if (!*out) return KS_ENOMEM;
    uint8_t *p = *out;
    p[0] = (uint8_t)(klen >> 24);
    p[1] = (uint8_t)(klen >> 16);
    p[2] = (uint8_t)(klen >> 8);
    p[3] = (uint8_t)klen;
    if (klen) memcpy(p + 4, key, klen);
    if (elen) memcpy(p + 4 + klen, el, elen);
    *len = 4 + klen + elen;
    return 0;
}

/* Redis's scanGenericCommand order: the cursor, then the key (missing: an empty page, no option
 * checked; another type: WRONGTYPE), then the options. */
void cmd_coll_scan(cmd_ctx *x, int type, cmd_scan_emit *emit) {
    const uint8_t *key = x->argv[1];
    size_t klen = x->argvlen[1];
    uint64_t cursor;
    if (!cursor_parse(x->argv[2], x->argvlen[2], &cursor)) {
        reply_shared(x->rb, REPLY_SH_INVALID_CURSOR);
        return;
    }
    ks_lock(x->k, x->ns, key, klen);
    ks_coll c;
    ks_elems *it = NULL;
    uint8_t *tok = NULL;
    size_t toklen = 0;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = cmd_coll_lookup(x, key, klen, type, true, &c);
    if (found < 0) goto out;
    if (!found) {
        reply_array_header(x->rb, 2);
        reply_bulk(x->rb, "0", 1);
        reply_array_header(x->rb, 0);
        goto out;
    }
    long long count = 10;
    const uint8_t *pat = NULL;
    size_t patlen = 0;
    for (size_t i = 3; i < x->argc; i += 2) {
        bool has_value = x->argc - i >= 2;
        if (has_value && cmd_arg_is(x, i, "count")) {
            if (!cmd_arg_ll(x, i + 1, &count)) goto out;
            if (count < 1) {
                reply_shared(x->rb, REPLY_SH_SYNTAX);
                goto out;
            }
        } else if (has_value && cmd_arg_is(x, i, "match")) {
            pat = x->argv[i + 1];
            patlen = x->argvlen[i + 1];
            if (glob_matches_all(pat, patlen)) pat = NULL;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            goto out;
        }
    }
    const uint8_t *start = NULL;
    size_t slen = 0;
    if (cursor) {
        int rc = cursor_get(cursor, x->ns, &tok, &toklen);
        size_t tk = toklen >= 4 ? ((size_t)tok[0] << 24 | (size_t)tok[1] << 16 | (size_t)tok[2] << 8 | tok[3]) : 0;
        if (rc == KS_ENOMEM) {
            cmd_reply_ks_error(x, rc);
            goto out;
        }
        if (rc || toklen < 4 || toklen - 4 < tk || tk != klen || (klen && memcmp(tok + 4, key, klen))) {
            reply_shared(x->rb, REPLY_SH_INVALID_CURSOR);
            goto out;
        }
        start = tok + 4 + klen;
        slen = toklen - 4 - klen;
    }
    ks_ckey ck = {x->ns, key, klen, c.version};
    int rc = ks_elems_open(x->k, &ck, KS_ELEMS, &it);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (slen) ks_elems_seek(it, start, slen);
    size_t n = 0;
    uint64_t next = 0;
    for (long long visited = 0; ks_elems_valid(it); ks_elems_next(it), visited++) {
        size_t elen, vlen;
        const uint8_t *el = ks_elems_el(it, &elen), *val = ks_elems_val(it, &vlen);
        if (visited == count) {
            uint8_t *t;
            size_t tl;
            if ((rc = scan_token(key, klen, el, elen, &t, &tl))) break;
            next = cursor_put(x->ns, t, tl);
            free(t);
            if (!next) rc = KS_ENOMEM;
            break;
        }
        if (pat && !glob_match(pat, patlen, el, elen, false)) continue;
        n += emit(&items, el, elen, val, vlen);
    }
    if (!rc) rc = ks_elems_status(it);
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    reply_array_header(x->rb, 2);
    char digits[RESP_LL_STR_MAX];
    reply_bulk(x->rb, digits, resp_ull_to_str(digits, next));
    reply_array_header(x->rb, n);
    reply_raw(x->rb, items.data, items.len);
out:
    ks_elems_close(it);
    free(tok);
    reply_buf_destroy(&items);
    ks_unlock(x->k, x->ns, key, klen);
}

/* ---- random picks ---------------------------------------------------------------------------------- */

static void emit_one(ks_elems *it, cmd_pick_fn *emit, void *arg) {
    size_t el, vl;
    const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
    emit(arg, e, el, v, vl);
}

/* Where random probes go: the common prefix of the first and last elements, then a byte between
 * theirs at that position, then random bytes. Probes over the whole byte space would all land on
 * the first element of a collection whose elements share a prefix ("user:0" ... "user:9999"). */
typedef struct probe_space {
    uint8_t prefix[48];
    size_t plen;
    uint8_t lo, hi;
} probe_space;

static int probe_space_of(ks_elems *it, probe_space *ps) {
    uint8_t first[48];
    size_t fl = 0, el;
    ks_elems_seek(it, NULL, 0);
    if (!ks_elems_valid(it)) return ks_elems_status(it) ? ks_elems_status(it) : KS_ENOTFOUND;
    const uint8_t *e = ks_elems_el(it, &el);
    fl = el < sizeof first ? el : sizeof first;
    memcpy(first, e, fl);
    ks_elems_seek_last(it);
    if (!ks_elems_valid(it)) return ks_elems_status(it) ? ks_elems_status(it) : KS_ENOTFOUND;
    e = ks_elems_el(it, &el);
    size_t n = el < fl ? el : fl, p = 0;
    while (p < n && p + 1 < sizeof ps->prefix && e[p] == first[p]) p++;
    memcpy(ps->prefix, first, p);
    ps->plen = p;
    ps->lo = p < fl ? first[p] : 0;
    ps->hi = p < el ? e[p] : 0xff;
    if (ps->hi < ps->lo) ps->hi = ps->lo;
    return 0;
}

/* One field (and value) by seeking to a random probe in ps, wrapping to the first. */
static int random_seek(ks_elems *it, const probe_space *ps) {
    uint8_t probe[sizeof ps->prefix + 8];
    uint64_t r = cmd_random();
    memcpy(probe, ps->prefix, ps->plen);
    probe[ps->plen] = (uint8_t)(ps->lo + r % ((unsigned)ps->hi - ps->lo + 1));
    r = cmd_random();
    for (int i = 0; i < 7; i++) probe[ps->plen + 1 + (size_t)i] = (uint8_t)(r >> (8 * i));
    ks_elems_seek(it, probe, ps->plen + 8);
    if (!ks_elems_valid(it)) ks_elems_seek(it, NULL, 0);
    int rc = ks_elems_status(it);
    return rc ? rc : ks_elems_valid(it) ? 0 : KS_ENOTFOUND;
}

/* The elements a distinct sampling has taken: an open-addressing set of copies. */
typedef struct seen_set {
    struct seen {
        uint64_t h;
        uint8_t *p; /* NULL: free slot */
        size_t n;
    } *v;
    size_t cap;
} seen_set;

static int seen_init(seen_set *s, uint64_t count) {
    s->cap = 16;
    while (s->cap < 2 * count) s->cap *= 2;
    s->v = calloc(s->cap, sizeof *s->v);
    return s->v ? 0 : KS_ENOMEM;
}

static void seen_free(seen_set *s) {
    for (size_t i = 0; s->v && i < s->cap; i++) free(s->v[i].p);
    free(s->v);
}

/* 1 if e was there already, 0 if added now, or KS_ENOMEM. */
static int seen_add(seen_set *s, const uint8_t *e, size_t n) {
    uint64_t h = XXH3_64bits(e, n);
    size_t i = (size_t)h & (s->cap - 1);
    for (; s->v[i].p; i = (i + 1) & (s->cap - 1))
        if (s->v[i].h == h && s->v[i].n == n && (!n || !memcmp(s->v[i].p, e, n))) return 1;
    if (!(s->v[i].p = malloc(n ? n : 1))) return KS_ENOMEM;
    if (n) memcpy(s->v[i].p, e, n);
    s->v[i].h = h;
    s->v[i].n = n;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int random_picks(ks_elems *it, uint64_t size, uint64_t count, bool uniq, cmd_pick_fn *emit, void *arg,
                        uint64_t *emitted) {
    *emitted = 0;
    if (size > CMD_RANDOM_PASS_MAX && (!uniq || count <= size / 4)) {
        /* sampling by seeks; for distinct picks, each field is taken at most once: a probe that
         * lands on a taken one steps on to the next field not taken (wrapping), so count distinct
         * picks always come out (count <= size / 4 here) */
        probe_space ps;
        seen_set seen = {0};
        int rc = probe_space_of(it, &ps);
        if (!rc && uniq) rc = seen_init(&seen, count);
        while (!rc && *emitted < count) {
            if ((rc = random_seek(it, &ps))) break;
            for (uint64_t steps = 0; uniq && !rc; steps++) {
                size_t fl;
                const uint8_t *f = ks_elems_el(it, &fl);
                int had = seen_add(&seen, f, fl);
                if (had <= 0) {
                    rc = had;
                    break;
                }
                if (steps > *emitted) { /* more taken fields than exist: the record is wrong */
                    rc = KS_ECORRUPT;
                    break;
                }
                ks_elems_next(it);
                if (!ks_elems_valid(it)) ks_elems_seek(it, NULL, 0);
                if ((rc = ks_elems_status(it)) == 0 && !ks_elems_valid(it)) rc = KS_ECORRUPT;
            }
            if (rc) break;
            emit_one(it, emit, arg);
            (*emitted)++;
        }
        if (uniq) seen_free(&seen);
        return rc;
    }
    /* one pass over the fields, emitting those at the picked positions (sorted; a position picked
     * twice is emitted twice) */
    uint64_t *pos = malloc((count ? count : 1) * sizeof *pos);
    if (!pos) return KS_ENOMEM;
    if (uniq) { /* selection sampling (Knuth's algorithm S): count distinct positions, uniformly */
        uint64_t m = 0;
        for (uint64_t t = 0; t < size && m < count; t++)
            if ((cmd_random() % (size - t)) < count - m) pos[m++] = t;
    } else {
        for (uint64_t i = 0; i < count; i++) pos[i] = cmd_random() % size;
        qsort(pos, count, sizeof *pos, cmp_u64);
    }
    ks_elems_seek(it, NULL, 0);
    uint64_t at = 0, i = 0;
    for (; ks_elems_valid(it) && i < count; ks_elems_next(it), at++)
        while (i < count && pos[i] == at) {
            emit_one(it, emit, arg);
            i++;
        }
    free(pos);
    *emitted = i;
    int rc = ks_elems_status(it);
    /* fewer fields than the record says: the picks past the end are missing */
    return rc ? rc : i == count ? 0 : KS_ECORRUPT;
}

int cmd_coll_random(ks_elems *it, uint64_t size, uint64_t count, bool uniq, cmd_pick_fn *emit, void *arg,
                    uint64_t *emitted) {
    *emitted = 0;
    if (uniq && count >= size) { /* all of it */
        for (ks_elems_seek(it, NULL, 0); ks_elems_valid(it); ks_elems_next(it), (*emitted)++) emit_one(it, emit, arg);
        return ks_elems_status(it);
    }
    return random_picks(it, size, count, uniq, emit, arg, emitted);
}

/* ---- blocking commands -------------------------------------------------------------------------- */

bool cmd_block(cmd_ctx *x, long long timeout_ms, size_t n, const uint8_t *const *keys, const size_t *klens) {
    conn *c = x->c;
    if (!c || !x->srv || x->in_exec || c->block_timed_out) return false;
    if (!c->block_started) {
        c->block_started = true;
        c->block_deadline = timeout_ms ? ev_now_ms() + timeout_ms : 0;
    }
    if (block_add(x->srv->blocks, c, x->ns, n, keys, klens)) return false; /* no memory: as a timeout */
    c->block_request = true;
    return true;
}

/* Redis 7.0's getTimeoutFromObjectOrReply in seconds: a long double times 1000, rounded up (so
 * 0.0001 is 1 ms, and -0.0001 is 0: forever); what does not fit (inf, 1e20) came out negative on
 * Redis's x86 builds, and is "negative" here too. */
bool cmd_arg_timeout(cmd_ctx *x, size_t i, long long *ms) {
    long double t;
    if (!resp_str_to_ld(x->argv[i], x->argvlen[i], &t)) {
        reply_error(x->rb, "ERR timeout is not a float or out of range");
        return false;
    }
    long double v = ceill(t * 1000.0L);
    if (v < 0 || v >= (long double)LLONG_MAX || v != v) {
        reply_error(x->rb, "ERR timeout is negative");
        return false;
    }
    *ms = (long long)v;
    return true;
}

bool cmd_random_count_ok(cmd_ctx *x, uint64_t count) {
    if (count <= CMD_RANDOM_MAX) return true;
    reply_errorf(x->rb, "ERR count is too large: at most %llu random elements per call", (unsigned long long)CMD_RANDOM_MAX);
    return false;
}

bool cmd_parse_mpop(cmd_ctx *x, size_t nk, const char *w0, const char *w1, size_t *numkeys, int *which,
                    long long *count) {
    long long n;
    *count = -1;
    if (!resp_str_to_ll(x->argv[nk], x->argvlen[nk], &n) || n < 1) {
        reply_error(x->rb, "ERR numkeys should be greater than 0");
        return false;
    }
    if ((unsigned long long)n >= x->argc - nk - 1) {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return false;
    }
    size_t where_idx = nk + 1 + (size_t)n;
    if (cmd_arg_is(x, where_idx, w0)) *which = 0;
    else if (cmd_arg_is(x, where_idx, w1)) *which = 1;
    else {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return false;
    }
    for (size_t j = where_idx + 1; j < x->argc; j++) { /* options */
        if (*count == -1 && cmd_arg_is(x, j, "count") && j + 1 < x->argc) {
            j++;
            if (!resp_str_to_ll(x->argv[j], x->argvlen[j], count) || *count < 1) {
                reply_error(x->rb, "ERR count should be greater than 0");
                return false;
            }
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return false;
        }
    }
    if (*count == -1) *count = 1;
    *numkeys = (size_t)n;
    return true;
}

bool cmd_index_range(long long start, long long stop, uint64_t size, uint64_t *from, uint64_t *to) {
    long long llen = size > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)size;
    if (start < 0) start = llen + start;
    if (stop < 0) stop = llen + stop;
    if (start < 0) start = 0;
    if (start > stop || start >= llen) return false;
    if (stop >= llen) stop = llen - 1;
    *from = (uint64_t)start;
    *to = (uint64_t)stop;
    return true;
}

bool cmd_block_rerun(const cmd_ctx *x) { return x->c && x->c->block_started && !x->in_exec; }

int cmd_coll_lookup_ready(cmd_ctx *x, const uint8_t *key, size_t klen, int type, ks_coll *c) {
    if (!cmd_block_rerun(x)) return cmd_coll_lookup(x, key, klen, type, false, c);
    ks_rec r;
    int rc = ks_lookup(x->k, x->ns, key, klen, x->now_ms, &r);
    if (rc == KS_ENOTFOUND) return 0;
    if (rc) {
        cmd_reply_ks_error(x, rc);
        return -1;
    }
    rc = r.type == type ? ks_rec_coll(&r, c) : 1;
    ks_rec_free(&r);
    if (rc < 0) cmd_reply_ks_error(x, rc);
    return rc < 0 ? -1 : rc == 0;
}
