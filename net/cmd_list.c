/* cmd_list.c -- the list commands (non-blocking), with Redis 7.0's t_list.c replies and error texts.
 *
 * A list is a collection record (type KS_LIST: version, size, head, tail) and one element per
 * item, keyed by its absolute index (u64 big-endian, so the engine's order is the list's order).
 * Invariant L1: the items are exactly the indexes head..tail-1, no gaps, and size = tail - head.
 * Pushes and pops move head or tail by one per item (O(1) each, plus the engine's log n); LINDEX,
 * LSET and LRANGE seek straight to an index. LINSERT and LREM keep L1 by shifting the items on the
 * shorter side of the change, LTRIM deletes the items it cuts: those are O(n) in what they move,
 * as Redis's are. Every command holds its keys' stripe locks throughout (K3).
 * Blocking forms (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) pop at once when they can; otherwise they
 * register for their keys under those locks and the connection waits (block.h), never the worker. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conn.h"
#include "strutil.h"

enum { LEFT = 0, RIGHT = 1 };

static void lock1(cmd_ctx *x) { ks_lock(x->k, x->ns, x->argv[1], x->argvlen[1]); }
static void unlock1(cmd_ctx *x) { ks_unlock(x->k, x->ns, x->argv[1], x->argvlen[1]); }

static void index_bytes(uint8_t out[8], uint64_t i) {
    for (int b = 0; b < 8; b++) out[b] = (uint8_t)(i >> (56 - 8 * b));
}

typedef struct list_ref {
    ks_ckey ck;
    ks_coll c;
} list_ref;

static list_ref list_at(cmd_ctx *x, const uint8_t *key, size_t klen, const ks_coll *c) {
    return (list_ref){{x->ns, key, klen, c->version}, *c};
}

static int put_item(ks_batch *b, const list_ref *l, uint64_t abs, const uint8_t *v, size_t vl) {
    uint8_t ib[8];
    index_bytes(ib, abs);
    return ks_batch_put_elem(b, &l->ck, KS_ELEMS, ib, 8, v, vl);
}

static int del_item(ks_batch *b, const list_ref *l, uint64_t abs) {
    uint8_t ib[8];
    index_bytes(ib, abs);
    return ks_batch_del_elem(b, &l->ck, KS_ELEMS, ib, 8);
}

/* Calls fn for the items at positions [from, to] (0-based, to < size) in order; fn returns non-zero
 * to stop. A missing index breaks L1: KS_ECORRUPT. */
typedef int item_fn(void *arg, uint64_t pos, const uint8_t *v, size_t vl);

static int list_range(cmd_ctx *x, const list_ref *l, uint64_t from, uint64_t to, item_fn *fn, void *arg) {
    if (from > to) return 0;
    ks_elems *it;
    int rc = ks_elems_open(x->k, &l->ck, KS_ELEMS, &it);
    if (rc) return rc;
    uint8_t ib[8];
    index_bytes(ib, l->c.head + from);
    ks_elems_seek(it, ib, 8);
    uint64_t pos = from;
    for (; pos <= to && ks_elems_valid(it); ks_elems_next(it), pos++) {
        size_t el, vl;
        const uint8_t *e = ks_elems_el(it, &el), *v = ks_elems_val(it, &vl);
        index_bytes(ib, l->c.head + pos);
        if (el != 8 || memcmp(e, ib, 8)) break;
        if (fn(arg, pos, v, vl)) {
            pos = to + 1; /* stopped on purpose: not a gap */
            break;
        }
    }
    rc = ks_elems_status(it);
    ks_elems_close(it);
    if (!rc && pos <= to) rc = KS_ECORRUPT;
    return rc;
}

/* The same, from `to` down to `from`, in chunks read forward. */
typedef struct chunk {
    uint8_t **v;
    size_t *vl;
    size_t n;
    int rc;
} chunk;

static int chunk_take(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    (void)pos;
    chunk *c = arg;
    uint8_t *copy = malloc(vl ? vl : 1);
    if (!copy) {
        c->rc = KS_ENOMEM;
        return 1;
    }
    if (vl) memcpy(copy, v, vl);
    c->v[c->n] = copy;
    c->vl[c->n++] = vl;
    return 0;
}

#define REVERSE_CHUNK 256

static int list_range_rev(cmd_ctx *x, const list_ref *l, uint64_t from, uint64_t to, item_fn *fn, void *arg) {
    uint8_t *v[REVERSE_CHUNK];
    size_t vl[REVERSE_CHUNK];
    bool stop = false;
    int rc = 0;
    for (uint64_t hi = to + 1; !rc && !stop && hi > from;) {
        uint64_t lo = hi - from > REVERSE_CHUNK ? hi - REVERSE_CHUNK : from;
        chunk c = {v, vl, 0, 0};
        rc = list_range(x, l, lo, hi - 1, chunk_take, &c);
        if (!rc) rc = c.rc;
        for (size_t i = c.n; i-- > 0;) {
            if (!rc && !stop && fn(arg, lo + i, v[i], vl[i])) stop = true;
            free(v[i]);
        }
        hi = lo;
    }
    return rc;
}

/* The list at key: 1 found, 0 missing, -1 replied. */
static int lookup_list(cmd_ctx *x, const uint8_t *key, size_t klen, bool read, ks_coll *c) {
    return cmd_coll_lookup(x, key, klen, KS_LIST, read, c);
}

/* ---- pushes ------------------------------------------------------------------------------------- */

/* Appends items argv[first..] at `where` to list l (under construction in b). */
static int push_items(cmd_ctx *x, ks_batch *b, list_ref *l, int where, size_t first) {
    int rc = 0;
    for (size_t i = first; !rc && i < x->argc; i++) {
        uint64_t abs = where == LEFT ? --l->c.head : l->c.tail++;
        rc = put_item(b, l, abs, x->argv[i], x->argvlen[i]);
        l->c.size++;
    }
    return rc;
}

static void push_generic(cmd_ctx *x, int where, bool only_existing) {
    lock1(x);
    ks_coll c;
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found < 0) goto out;
    if (!found && only_existing) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    if (!found) ks_coll_new(x->k, KS_LIST, &c);
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    int rc = push_items(x, b, &l, where, 2);
    if (!rc) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], &l.c);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, (long long)l.c.size);
out:
    unlock1(x);
}

void cmd_lpush(cmd_ctx *x) { push_generic(x, LEFT, false); }
void cmd_rpush(cmd_ctx *x) { push_generic(x, RIGHT, false); }
void cmd_lpushx(cmd_ctx *x) { push_generic(x, LEFT, true); }
void cmd_rpushx(cmd_ctx *x) { push_generic(x, RIGHT, true); }

/* ---- pops ---------------------------------------------------------------------------------------- */

typedef struct emit_items {
    reply_buf *out;
    ks_batch *b;   /* deletes of what is emitted, or NULL */
    const list_ref *l;
    uint64_t n;
    int rc;
} emit_items;

static int emit_item(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    emit_items *e = arg;
    reply_bulk(e->out, v, vl);
    if (e->b && !e->rc) e->rc = del_item(e->b, e->l, e->l->c.head + pos);
    e->n++;
    return e->rc != 0;
}

/* Pops up to count items at `where` from list l into out (and their deletes into b); updates l's
 * record fields. */
static int pop_items(cmd_ctx *x, ks_batch *b, list_ref *l, int where, uint64_t count, reply_buf *out, uint64_t *n) {
    if (count > l->c.size) count = l->c.size;
    emit_items e = {out, b, l, 0, 0};
    int rc = 0;
    if (count) {
        rc = where == LEFT ? list_range(x, l, 0, count - 1, emit_item, &e)
                           : list_range_rev(x, l, l->c.size - count, l->c.size - 1, emit_item, &e);
    }
    if (!rc) rc = e.rc;
    if (!rc && out->failed) rc = KS_ENOMEM;
    if (rc) return rc;
    if (where == LEFT) l->c.head += count;
    else l->c.tail -= count;
    l->c.size -= count;
    *n = count;
    return 0;
}

/* LPOP/RPOP key [count] */
static void pop_generic(cmd_ctx *x, int where) {
    bool with_count = x->argc == 3;
    long long count = 1;
    if (x->argc > 3) {
        reply_err_arity(x->rb, where == LEFT ? "lpop" : "rpop");
        return;
    }
    if (with_count && (!resp_str_to_ll(x->argv[2], x->argvlen[2], &count) || count < 0)) {
        reply_error(x->rb, "ERR value is out of range, must be positive");
        return;
    }
    lock1(x);
    ks_coll c;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) {
        if (with_count) reply_null_array(x->rb);
        else reply_null(x->rb);
    }
    if (found <= 0) goto out;
    if (with_count && count == 0) {
        reply_array_header(x->rb, 0);
        goto out;
    }
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    uint64_t n = 0;
    int rc = pop_items(x, b, &l, where, (uint64_t)count, &items, &n);
    if (!rc) rc = cmd_batch_coll(x, b, x->argv[1], x->argvlen[1], &l.c);
    if (rc) {
        cmd_reply_ks_error(x, rc);
        goto out;
    }
    if (!cmd_write(x, b)) goto out;
    if (with_count) reply_array_header(x->rb, n);
    reply_raw(x->rb, items.data, items.len);
out:
    reply_buf_destroy(&items);
    unlock1(x);
}

void cmd_lpop(cmd_ctx *x) { pop_generic(x, LEFT); }
void cmd_rpop(cmd_ctx *x) { pop_generic(x, RIGHT); }

/* ---- reads -------------------------------------------------------------------------------------- */

void cmd_llen(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    int found = lookup_list(x, x->argv[1], x->argvlen[1], true, &c);
    if (found >= 0) reply_int(x->rb, found ? (long long)c.size : 0);
    unlock1(x);
}

/* A 0-based position from a Redis index (negative: from the end); false when out of range. */
static bool position(long long index, uint64_t size, uint64_t *pos) {
    if (index < 0) {
        if ((uint64_t)(-(index + 1)) >= size) return false;
        *pos = size - (uint64_t)(-(index + 1)) - 1;
        return true;
    }
    if ((uint64_t)index >= size) return false;
    *pos = (uint64_t)index;
    return true;
}

typedef struct one_item {
    uint8_t *v;
    size_t vl;
} one_item;

static int take_one(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    (void)pos;
    one_item *o = arg;
    o->v = malloc(vl ? vl : 1);
    if (o->v && vl) memcpy(o->v, v, vl);
    o->vl = vl;
    return 1;
}

void cmd_lindex(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    long long index;
    one_item o = {0};
    int found = lookup_list(x, x->argv[1], x->argvlen[1], true, &c);
    if (found == 0) reply_null(x->rb);
    if (found <= 0 || !cmd_arg_ll(x, 2, &index)) goto out;
    uint64_t pos;
    if (!position(index, c.size, &pos)) {
        reply_null(x->rb);
        goto out;
    }
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    int rc = list_range(x, &l, pos, pos, take_one, &o);
    if (!rc && !o.v) rc = KS_ENOMEM;
    if (rc) cmd_reply_ks_error(x, rc);
    else reply_bulk(x->rb, o.v, o.vl);
out:
    free(o.v);
    unlock1(x);
}

void cmd_lrange(cmd_ctx *x) {
    long long start, end;
    if (!cmd_arg_ll(x, 2, &start) || !cmd_arg_ll(x, 3, &end)) return;
    lock1(x);
    ks_coll c;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = lookup_list(x, x->argv[1], x->argvlen[1], true, &c);
    uint64_t from, to;
    if (found == 0 || (found > 0 && !cmd_index_range(start, end, c.size, &from, &to))) reply_array_header(x->rb, 0);
    else if (found > 0) {
        list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
        emit_items e = {&items, NULL, &l, 0, 0};
        int rc = list_range(x, &l, from, to, emit_item, &e);
        if (!rc && items.failed) rc = KS_ENOMEM;
        if (rc) {
            cmd_reply_ks_error(x, rc);
        } else {
            reply_array_header(x->rb, e.n);
            reply_raw(x->rb, items.data, items.len);
        }
    }
    reply_buf_destroy(&items);
    unlock1(x);
}

/* ---- LSET / LTRIM ------------------------------------------------------------------------------------ */

void cmd_lset(cmd_ctx *x) {
    lock1(x);
    ks_coll c;
    long long index;
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_NO_SUCH_KEY);
    if (found <= 0 || !cmd_arg_ll(x, 2, &index)) goto out;
    uint64_t pos;
    if (!position(index, c.size, &pos)) {
        reply_shared(x->rb, REPLY_SH_INDEX_RANGE);
        goto out;
    }
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    int rc = put_item(b, &l, c.head + pos, x->argv[3], x->argvlen[3]);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_shared(x->rb, REPLY_SH_OK);
out:
    unlock1(x);
}

void cmd_ltrim(cmd_ctx *x) {
    long long start, end;
    if (!cmd_arg_ll(x, 2, &start) || !cmd_arg_ll(x, 3, &end)) return;
    lock1(x);
    ks_coll c;
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_OK);
    if (found <= 0) goto out;
    uint64_t from = c.size, to = 0; /* empty unless the range says otherwise */
    bool keep = cmd_index_range(start, end, c.size, &from, &to);
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    ks_batch *b = cmd_batch(x);
    int rc = 0;
    uint64_t cut_left = keep ? from : c.size, cut_right = keep ? c.size - 1 - to : 0;
    if (cut_left + cut_right == c.size) {
        rc = ks_batch_delete(b, x->ns, x->argv[1], x->argvlen[1]); /* all of it: the record alone */
    } else {
        for (uint64_t i = 0; !rc && i < cut_left; i++) rc = del_item(b, &l, c.head + i);
        for (uint64_t i = 0; !rc && i < cut_right; i++) rc = del_item(b, &l, c.tail - 1 - i);
        l.c.head += cut_left;
        l.c.tail -= cut_right;
        l.c.size -= cut_left + cut_right;
        if (!rc && (cut_left || cut_right)) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], &l.c);
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_shared(x->rb, REPLY_SH_OK);
out:
    unlock1(x);
}

/* ---- LINSERT / LREM: changes in the middle ------------------------------------------------------------ */

/* The items at [from, to], copied. */
typedef struct segment {
    uint8_t **v;
    size_t *vl;
    size_t n;
    int rc;
} segment;

static int seg_take(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    (void)pos;
    segment *s = arg;
    uint8_t *copy = malloc(vl ? vl : 1);
    if (!copy) {
        s->rc = KS_ENOMEM;
        return 1;
    }
    if (vl) memcpy(copy, v, vl);
    s->v[s->n] = copy;
    s->vl[s->n++] = vl;
    return 0;
}

static void seg_free(segment *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    free(s->vl);
}

static int seg_read(cmd_ctx *x, const list_ref *l, uint64_t from, uint64_t to, segment *s) {
    memset(s, 0, sizeof *s);
    if (from > to) return 0;
    uint64_t n = to - from + 1;
    s->v = malloc(n * sizeof *s->v);
    s->vl = malloc(n * sizeof *s->vl);
    if (!s->v || !s->vl) return KS_ENOMEM;
    int rc = list_range(x, l, from, to, seg_take, s);
    return rc ? rc : s->rc;
}

typedef struct find_item {
    const uint8_t *want;
    size_t wl;
    uint64_t pos;
    bool found;
} find_item;

static int find_one(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    find_item *f = arg;
    if (vl != f->wl || (vl && memcmp(v, f->want, vl))) return 0;
    f->pos = pos;
    f->found = true;
    return 1;
}

/* Inserts value at position q (0..size): the items on the shorter side move one step outwards. */
static int insert_at(cmd_ctx *x, ks_batch *b, list_ref *l, uint64_t q, const uint8_t *v, size_t vl) {
    segment s;
    int rc;
    if (q < l->c.size - q) { /* items [0, q) move left */
        rc = q ? seg_read(x, l, 0, q - 1, &s) : (memset(&s, 0, sizeof s), 0);
        for (size_t i = 0; !rc && i < s.n; i++) rc = put_item(b, l, l->c.head - 1 + i, s.v[i], s.vl[i]);
        l->c.head--;
    } else { /* items [q, size) move right */
        rc = q < l->c.size ? seg_read(x, l, q, l->c.size - 1, &s) : (memset(&s, 0, sizeof s), 0);
        for (size_t i = 0; !rc && i < s.n; i++) rc = put_item(b, l, l->c.head + q + 1 + i, s.v[i], s.vl[i]);
        l->c.tail++;
    }
    seg_free(&s);
    if (!rc) rc = put_item(b, l, l->c.head + q, v, vl);
    l->c.size++;
    return rc;
}

void cmd_linsert(cmd_ctx *x) {
    bool after;
    if (cmd_arg_is(x, 2, "after")) after = true;
    else if (cmd_arg_is(x, 2, "before")) after = false;
    else {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return;
    }
    lock1(x);
    ks_coll c;
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found <= 0) goto out;
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    find_item f = {x->argv[3], x->argvlen[3], 0, false};
    int rc = list_range(x, &l, 0, c.size - 1, find_one, &f);
    if (!rc && !f.found) {
        reply_int(x->rb, -1);
        goto out;
    }
    ks_batch *b = cmd_batch(x);
    if (!rc) rc = insert_at(x, b, &l, f.pos + (after ? 1 : 0), x->argv[4], x->argvlen[4]);
    if (!rc) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], &l.c);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, (long long)l.c.size);
out:
    unlock1(x);
}

typedef struct matches {
    const uint8_t *want;
    size_t wl;
    uint64_t limit; /* 0: all */
    uint64_t *pos;
    size_t n, cap;
    int rc;
} matches;

static int match_take(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    matches *m = arg;
    if (vl != m->wl || (vl && memcmp(v, m->want, vl))) return 0;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        uint64_t *p = realloc(m->pos, cap * sizeof *p);
        if (!p) {
            m->rc = KS_ENOMEM;
            return 1;
        }
        m->pos = p;
        m->cap = cap;
    }
    m->pos[m->n++] = pos;
    return m->limit && m->n == m->limit;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Removes the items at the sorted positions rm[0..n): the side that moves fewer items closes the
 * gaps (the items right of rm[0] move left, or those left of rm[n-1] move right). */
static int remove_at(cmd_ctx *x, ks_batch *b, list_ref *l, const uint64_t *rm, size_t n) {
    uint64_t lo = rm[0], hi = rm[n - 1], size = l->c.size;
    segment s;
    int rc;
    if (size - lo <= hi + 1) { /* compact [lo, size) leftwards */
        rc = seg_read(x, l, lo, size - 1, &s);
        uint64_t w = lo;
        size_t r = 0;
        for (size_t i = 0; !rc && i < s.n; i++) {
            if (r < n && rm[r] == lo + i) {
                r++;
                continue;
            }
            rc = put_item(b, l, l->c.head + w++, s.v[i], s.vl[i]);
        }
        for (uint64_t p = w; !rc && p < size; p++) rc = del_item(b, l, l->c.head + p);
        l->c.tail -= n;
    } else { /* compact [0, hi] rightwards */
        rc = seg_read(x, l, 0, hi, &s);
        uint64_t w = hi + 1; /* one past the next slot to fill, going down */
        size_t r = n;
        for (size_t i = s.n; !rc && i-- > 0;) {
            if (r > 0 && rm[r - 1] == i) {
                r--;
                continue;
            }
            rc = put_item(b, l, l->c.head + --w, s.v[i], s.vl[i]);
        }
        for (uint64_t p = 0; !rc && p < w; p++) rc = del_item(b, l, l->c.head + p);
        l->c.head += n;
    }
    seg_free(&s);
    l->c.size -= n;
    return rc;
}

void cmd_lrem(cmd_ctx *x) {
    long long count;
    if (!cmd_arg_ll(x, 2, &count)) return;
    lock1(x);
    ks_coll c;
    matches m = {x->argv[3], x->argvlen[3], 0, NULL, 0, 0, 0};
    int found = lookup_list(x, x->argv[1], x->argvlen[1], false, &c);
    if (found == 0) reply_shared(x->rb, REPLY_SH_ZERO);
    if (found <= 0) goto out;
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    m.limit = count < 0 ? (uint64_t)(-(count + 1)) + 1 : (uint64_t)count;
    int rc = count < 0 ? list_range_rev(x, &l, 0, c.size - 1, match_take, &m)
                       : list_range(x, &l, 0, c.size - 1, match_take, &m);
    if (!rc) rc = m.rc;
    if (!rc && m.n == 0) {
        reply_shared(x->rb, REPLY_SH_ZERO);
        goto out;
    }
    qsort(m.pos, m.n, sizeof *m.pos, cmp_u64);
    ks_batch *b = cmd_batch(x);
    if (!rc && m.n == c.size) rc = ks_batch_delete(b, x->ns, x->argv[1], x->argvlen[1]);
    else if (!rc) {
        rc = remove_at(x, b, &l, m.pos, m.n);
        if (!rc) rc = ks_batch_put_coll(b, x->ns, x->argv[1], x->argvlen[1], &l.c);
    }
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_int(x->rb, (long long)m.n);
out:
    free(m.pos);
    unlock1(x);
}

/* ---- LPOS -------------------------------------------------------------------------------------------- */

typedef struct lpos_scan {
    const uint8_t *want;
    size_t wl;
    long long rank;     /* > 0: the rank-th match in scan order starts the reply */
    long long count;    /* -1: no COUNT (one position); 0: all */
    long long maxlen;   /* 0: no limit */
    long long matches, scanned;
    reply_buf *out;
    long long emitted;
    long long first;    /* without COUNT: the position found, else -1 */
} lpos_scan;

static int lpos_step(void *arg, uint64_t pos, const uint8_t *v, size_t vl) {
    lpos_scan *s = arg;
    if (s->maxlen && s->scanned >= s->maxlen) return 1;
    s->scanned++;
    if (vl != s->wl || (vl && memcmp(v, s->want, vl))) return 0;
    if (++s->matches < s->rank) return 0;
    if (s->count == -1) {
        s->first = (long long)pos;
        return 1;
    }
    reply_int(s->out, (long long)pos);
    s->emitted++;
    return s->count && s->emitted >= s->count;
}

/* Redis's lposCommand: options first (their own error texts), then the key. */
void cmd_lpos(cmd_ctx *x) {
    long long rank = 1, count = -1, maxlen = 0;
    for (size_t j = 3; j < x->argc; j++) {
        bool more = j + 1 < x->argc;
        long long v;
        if (more && cmd_arg_is(x, j, "rank")) {
            if (!cmd_arg_ll(x, ++j, &v)) return;
            if (v == LLONG_MIN) {
                reply_errorf(x->rb, "ERR value is out of range, must be between %lld and %lld", -LLONG_MAX, LLONG_MAX);
                return;
            }
            if (v == 0) {
                reply_error(x->rb, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                                   "or use negative to start from the end of the list");
                return;
            }
            rank = v;
        } else if (more && cmd_arg_is(x, j, "count")) {
            j++;
            if (!resp_str_to_ll(x->argv[j], x->argvlen[j], &v) || v < 0) {
                reply_error(x->rb, "ERR COUNT can't be negative");
                return;
            }
            count = v;
        } else if (more && cmd_arg_is(x, j, "maxlen")) {
            j++;
            if (!resp_str_to_ll(x->argv[j], x->argvlen[j], &v) || v < 0) {
                reply_error(x->rb, "ERR MAXLEN can't be negative");
                return;
            }
            maxlen = v;
        } else {
            reply_shared(x->rb, REPLY_SH_SYNTAX);
            return;
        }
    }
    lock1(x);
    ks_coll c;
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    int found = lookup_list(x, x->argv[1], x->argvlen[1], true, &c);
    if (found == 0) {
        if (count != -1) reply_array_header(x->rb, 0);
        else reply_null(x->rb);
    }
    if (found <= 0) goto out;
    list_ref l = list_at(x, x->argv[1], x->argvlen[1], &c);
    lpos_scan s = {x->argv[2], x->argvlen[2], rank < 0 ? -rank : rank, count, maxlen, 0, 0, &items, 0, -1};
    int rc = rank < 0 ? list_range_rev(x, &l, 0, c.size - 1, lpos_step, &s) : list_range(x, &l, 0, c.size - 1, lpos_step, &s);
    if (!rc && items.failed) rc = KS_ENOMEM;
    if (rc) {
        cmd_reply_ks_error(x, rc);
    } else if (count != -1) {
        reply_array_header(x->rb, (size_t)s.emitted);
        reply_raw(x->rb, items.data, items.len);
    } else if (s.first >= 0) {
        reply_int(x->rb, s.first);
    } else {
        reply_null(x->rb);
    }
out:
    reply_buf_destroy(&items);
    unlock1(x);
}

/* ---- LMOVE / RPOPLPUSH / LMPOP -------------------------------------------------------------------------- */

static bool parse_side(cmd_ctx *x, size_t i, int *where) {
    if (cmd_arg_is(x, i, "left")) *where = LEFT;
    else if (cmd_arg_is(x, i, "right")) *where = RIGHT;
    else {
        reply_shared(x->rb, REPLY_SH_SYNTAX);
        return false;
    }
    return true;
}

static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Pops one item at `from` of argv[1] and pushes it at `to` of argv[2] (Redis's lmoveGenericCommand:
 * a missing source is nil before the destination's type is looked at). */
static void move_generic(cmd_ctx *x, int from, int to, bool blocking, long long timeout_ms) {
    const uint8_t *keys[2] = {x->argv[1], x->argv[2]};
    size_t lens[2] = {x->argvlen[1], x->argvlen[2]};
    bool same = same_bytes(keys[0], lens[0], keys[1], lens[1]);
    if (blocking && cmd_block_rerun(x) && x->c->block_timed_out) {
        reply_null_array(x->rb);
        return;
    }
    ks_lock_keys(x->k, x->ns, 2, keys, lens);
    ks_coll sc, dc;
    one_item v = {0};
    int found = blocking ? cmd_coll_lookup_ready(x, keys[0], lens[0], KS_LIST, &sc) : lookup_list(x, keys[0], lens[0], false, &sc);
    if (found == 0 && !(blocking && cmd_block(x, timeout_ms, 1, keys, lens))) {
        /* Redis: nil in MULTI (and for the plain forms), a null array on a timeout */
        if (blocking && !x->in_exec) reply_null_array(x->rb);
        else reply_null(x->rb);
    }
    if (found <= 0) goto out;
    int dfound = same ? 1 : lookup_list(x, keys[1], lens[1], false, &dc);
    if (dfound < 0) goto out;
    list_ref s = list_at(x, keys[0], lens[0], &sc);
    uint64_t pos = from == LEFT ? 0 : sc.size - 1;
    int rc = list_range(x, &s, pos, pos, take_one, &v);
    if (!rc && !v.v) rc = KS_ENOMEM;
    ks_batch *b = cmd_batch(x);
    if (!rc) rc = del_item(b, &s, sc.head + pos);
    if (from == LEFT) s.c.head++;
    else s.c.tail--;
    s.c.size--;
    /* the destination: the source itself (one shorter now: a rotation), or another list */
    list_ref d = s;
    if (!same) {
        if (!dfound) ks_coll_new(x->k, KS_LIST, &dc);
        d = list_at(x, keys[1], lens[1], &dc);
    }
    uint64_t abs = to == LEFT ? --d.c.head : d.c.tail++;
    d.c.size++;
    if (!rc) rc = put_item(b, &d, abs, v.v, v.vl);
    if (same) s = d;
    else if (!rc) rc = ks_batch_put_coll(b, x->ns, keys[1], lens[1], &d.c);
    if (!rc) rc = cmd_batch_coll(x, b, keys[0], lens[0], &s.c);
    if (rc) cmd_reply_ks_error(x, rc);
    else if (cmd_write(x, b)) reply_bulk(x->rb, v.v, v.vl);
out:
    free(v.v);
    ks_unlock_keys(x->k, x->ns, 2, keys, lens);
}

void cmd_lmove(cmd_ctx *x) {
    int from, to;
    if (parse_side(x, 3, &from) && parse_side(x, 4, &to)) move_generic(x, from, to, false, 0);
}

void cmd_rpoplpush(cmd_ctx *x) { move_generic(x, RIGHT, LEFT, false, 0); }

void cmd_blmove(cmd_ctx *x) {
    int from, to;
    long long ms;
    if (parse_side(x, 3, &from) && parse_side(x, 4, &to) && cmd_arg_timeout(x, 5, &ms)) move_generic(x, from, to, true, ms);
}

void cmd_brpoplpush(cmd_ctx *x) {
    long long ms;
    if (cmd_arg_timeout(x, 3, &ms)) move_generic(x, RIGHT, LEFT, true, ms);
}

/* Pops from the first non-empty list of keys[0..n) (WRONGTYPE at the first key of another type):
 * up to count items, replied as [key, [items]] (mpop) or [key, item] (BLPOP's shape); when all are
 * empty, blocks (blocking) or replies a null array. Holds every key's lock. */
static void pop_first(cmd_ctx *x, const uint8_t *const *keys, const size_t *lens, size_t n, int where, uint64_t count,
                      bool mpop, bool blocking, long long timeout_ms) {
    if (blocking && cmd_block_rerun(x) && x->c->block_timed_out) { /* Redis answers a timeout without looking */
        reply_null_array(x->rb);
        return;
    }
    ks_lock_keys(x->k, x->ns, n, keys, lens);
    reply_buf items;
    reply_buf_init(&items, x->rb->proto);
    bool done = false;
    for (size_t i = 0; i < n && !done; i++) {
        ks_coll c;
        int found = blocking ? cmd_coll_lookup_ready(x, keys[i], lens[i], KS_LIST, &c) : lookup_list(x, keys[i], lens[i], false, &c);
        if (found < 0) {
            done = true;
            break;
        }
        if (!found) continue;
        done = true;
        list_ref l = list_at(x, keys[i], lens[i], &c);
        ks_batch *b = cmd_batch(x);
        uint64_t got = 0;
        int rc = pop_items(x, b, &l, where, count, &items, &got);
        if (!rc) rc = cmd_batch_coll(x, b, keys[i], lens[i], &l.c);
        if (rc) {
            cmd_reply_ks_error(x, rc);
        } else if (cmd_write(x, b)) {
            reply_array_header(x->rb, 2);
            reply_bulk(x->rb, keys[i], lens[i]);
            if (mpop) reply_array_header(x->rb, got);
            reply_raw(x->rb, items.data, items.len);
        }
    }
    if (!done && !(blocking && cmd_block(x, timeout_ms, n, keys, lens))) reply_null_array(x->rb);
    reply_buf_destroy(&items);
    ks_unlock_keys(x->k, x->ns, n, keys, lens);
}

/* BLPOP / BRPOP key [key ...] timeout */
static void bpop_generic(cmd_ctx *x, int where) {
    long long ms;
    if (cmd_arg_timeout(x, x->argc - 1, &ms)) pop_first(x, x->argv + 1, x->argvlen + 1, x->argc - 2, where, 1, false, true, ms);
}

void cmd_blpop(cmd_ctx *x) { bpop_generic(x, LEFT); }
void cmd_brpop(cmd_ctx *x) { bpop_generic(x, RIGHT); }

/* [B]LMPOP [timeout] numkeys key [key ...] LEFT|RIGHT [COUNT count]: numkeys at argv[nk]. */
static void mpop_generic(cmd_ctx *x, size_t nk, bool blocking) {
    size_t numkeys;
    int where; /* LEFT 0, RIGHT 1 */
    long long count, ms = 0;
    if (!cmd_parse_mpop(x, nk, "left", "right", &numkeys, &where, &count)) return;
    if (blocking && !cmd_arg_timeout(x, 1, &ms)) return;
    pop_first(x, x->argv + nk + 1, x->argvlen + nk + 1, numkeys, where, (uint64_t)count, true, blocking, ms);
}

void cmd_lmpop(cmd_ctx *x) { mpop_generic(x, 1, false); }
void cmd_blmpop(cmd_ctx *x) { mpop_generic(x, 2, true); }
