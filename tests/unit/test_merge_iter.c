/* test_merge_iter.c -- the n-way merge of internal-key iterators (merge_iter.h): memtable children
 * with interleaved keys merge into exactly the sorted order, both ways; seek lands on the first
 * key >= the target and seek_for_prev on the last key <= it; random next/prev walks turn around
 * often and stay on the sorted order; empty children are harmless; and a child in error ends the
 * merge with its status, moving either way or turning around into it, and the user-key iterator
 * on top (db_iter.h) keeps that status sticky both ways until the next seek.
 * Every loop is bounded; the random tests print their seed. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "db/db_iter.h"
#include "db/merge_iter.h"
#include "mem/memtable.h"
#include "strata/st.h"
#include "util/coding.h"
#include "util/ikey.h"

#define MAX_CHILDREN 8
#define NENTRIES 3000

typedef struct ent {
    uint8_t ikey[24];
    size_t klen;
    uint8_t value[16];
    size_t vlen;
} ent;

typedef struct fx {
    char *dir;
    st_memtable *mem[MAX_CHILDREN];
    st_iter *merged;
    ent *e; /* all entries, sorted by internal key once built */
    size_t n;
    ent *fake_ents; /* what a fake child serves; outlives it */
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("merge");
    x->e = calloc(NENTRIES, sizeof *x->e);
    if (!x->dir || !x->e) {
        free(x->dir);
        free(x->e);
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_iter_free(x->merged);
    for (int i = 0; i < MAX_CHILDREN; i++) st_memtable_unref(x->mem[i]);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x->e);
    free(x->fake_ents);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static st_slice ent_key(const ent *e) { return st_slice_make(e->ikey, e->klen); }
static st_slice ent_value(const ent *e) { return st_slice_make(e->value, e->vlen); }

static int ent_cmp(const void *a, const void *b) { return st_ikey_cmp(ent_key(a), ent_key(b)); }

static void make_ikey(ent *e, const char *ukey, uint64_t seq, int kind) {
    size_t n = strlen(ukey);
    assert_true(n + 8 <= sizeof e->ikey);
    memcpy(e->ikey, ukey, n);
    st_put_fixed64(e->ikey + n, st_ikey_tag(seq, kind));
    e->klen = n + 8;
}

/* Adds entry e to memtable m. */
static void mem_add(st_memtable *m, const ent *e) {
    st_ikey_parts p = {.seq = 0, .kind = 0};
    assert_true(st_ikey_parse(ent_key(e), &p));
    assert_int_equal(st_memtable_add(m, p.seq, p.kind, p.ukey, ent_value(e)), 0);
}

static void new_mems(fx *x, int k) {
    for (int i = 0; i < k; i++) assert_int_equal(st_memtable_new(0, &x->mem[i]), 0);
}

/* Merges iterators over the first k memtables into x->merged. */
static void merge_mems(fx *x, int k) {
    st_iter **children = calloc(k ? (size_t)k : 1, sizeof *children);
    assert_non_null(children);
    for (int i = 0; i < k; i++) assert_int_equal(st_memtable_iter_new(x->mem[i], &children[i]), 0);
    assert_int_equal(st_merge_iter_new(children, (size_t)k, &x->merged), 0);
}

/* The merged iterator, from its current position, yields exactly e[from, to) and then ends
 * cleanly (to == n) or is still valid on e[to] (to < n). */
static void expect_run(st_iter *it, const ent *e, size_t from, size_t to, size_t n) {
    for (size_t i = from; i < to; i++) {
        if (!st_iter_valid(it))
            fail_msg("ended at entry %zu of %zu (status %s)", i, to, st_strerror(st_iter_status(it)));
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        if (st_slice_cmp(k, ent_key(&e[i])) != 0) fail_msg("entry %zu: wrong key", i);
        assert_int_equal(v.len, e[i].vlen);
        if (v.len) assert_memory_equal(v.data, e[i].value, v.len);
        st_iter_next(it);
    }
    if (to == n) {
        assert_false(st_iter_valid(it));
        assert_int_equal(st_iter_status(it), 0);
    } else {
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_iter_key(it), ent_key(&e[to])), 0);
    }
}

/* The merged iterator, from its current position, yields exactly e[from], e[from - 1], ...,
 * e[to + 1] moving backward, and then ends cleanly (to == -1) or is still valid on e[to]. */
static void expect_run_back(st_iter *it, const ent *e, long from, long to) {
    for (long i = from; i > to; i--) {
        if (!st_iter_valid(it))
            fail_msg("ended at entry %ld going down to %ld (status %s)", i, to, st_strerror(st_iter_status(it)));
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        if (st_slice_cmp(k, ent_key(&e[i])) != 0) fail_msg("entry %ld: wrong key", i);
        assert_int_equal(v.len, e[i].vlen);
        if (v.len) assert_memory_equal(v.data, e[i].value, v.len);
        st_iter_prev(it);
    }
    if (to < 0) {
        assert_false(st_iter_valid(it));
        assert_int_equal(st_iter_status(it), 0);
    } else {
        assert_true(st_iter_valid(it));
        assert_int_equal(st_slice_cmp(st_iter_key(it), ent_key(&e[to])), 0);
    }
}

/* First index whose key is >= target. */
static size_t lower_bound(const ent *e, size_t n, st_slice target) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(ent_key(&e[mid]), target) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Index of the last key <= target, -1 if none. */
static long last_at_or_before(const ent *e, size_t n, st_slice target) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(ent_key(&e[mid]), target) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return (long)lo - 1;
}

/* Random entries: few user keys (so versions of one key sit in different children), unique
 * sequence numbers, PUTs and DELs; each goes to a random child. Leaves x->e sorted. */
static void build_random(fx *x, st_rng *r, int k, size_t n) {
    uint64_t *seqs = malloc(n * sizeof *seqs);
    assert_non_null(seqs);
    for (size_t i = 0; i < n; i++) seqs[i] = i + 1;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)st_rng_below(r, i);
        uint64_t t = seqs[i - 1];
        seqs[i - 1] = seqs[j];
        seqs[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        ent *e = &x->e[i];
        char uk[16];
        /* keys that are prefixes of others, and a NUL-free binary-ish spread */
        snprintf(uk, sizeof uk, "k%0*llu", 1 + (int)st_rng_below(r, 3), (unsigned long long)st_rng_below(r, 150));
        make_ikey(e, uk, seqs[i], st_rng_below(r, 4) ? ST_KIND_PUT : ST_KIND_DEL);
        e->vlen = (size_t)st_rng_below(r, sizeof e->value);
        for (size_t j = 0; j < e->vlen; j++) e->value[j] = (uint8_t)st_rng_next(r);
        mem_add(x->mem[st_rng_below(r, (uint64_t)k)], e);
    }
    x->n = n;
    free(seqs);
    qsort(x->e, n, sizeof *x->e, ent_cmp);
    for (size_t i = 1; i < n; i++) assert_true(st_ikey_cmp(ent_key(&x->e[i - 1]), ent_key(&x->e[i])) < 0);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_merge_round_robin_children_yield_sorted_order(void **state) {
    fx *x = *state;
    const int k = 4;
    new_mems(x, k);
    /* child i holds keys i, i+k, i+2k, ...: every step of the merge changes child */
    for (size_t i = 0; i < 400; i++) {
        ent *e = &x->e[i];
        char uk[16];
        snprintf(uk, sizeof uk, "key%05zu", i);
        make_ikey(e, uk, 1000 - i, ST_KIND_PUT);
        e->vlen = (size_t)snprintf((char *)e->value, sizeof e->value, "v%zu", i);
        mem_add(x->mem[i % (size_t)k], e);
    }
    x->n = 400;
    merge_mems(x, k);
    st_iter_seek_first(x->merged);
    expect_run(x->merged, x->e, 0, x->n, x->n);
    /* seek_first again restarts */
    st_iter_seek_first(x->merged);
    expect_run(x->merged, x->e, 0, 10, x->n);
}

static void test_merge_random_children_yield_exactly_sorted_order(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_random_children_yield_exactly_sorted_order", 777));
    const int k = 5;
    new_mems(x, k);
    build_random(x, &r, k, NENTRIES);
    merge_mems(x, k);
    st_iter_seek_first(x->merged);
    expect_run(x->merged, x->e, 0, x->n, x->n);
}

static void test_merge_seek_lands_on_first_key_not_below_target(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_seek_lands_on_first_key_not_below_target", 4242));
    const int k = 3;
    new_mems(x, k);
    build_random(x, &r, k, 1500);
    merge_mems(x, k);
    for (int t = 0; t < 300; t++) {
        ent target;
        char uk[16];
        if (t % 3 == 0) {
            /* an existing key exactly */
            target = x->e[st_rng_below(&r, x->n)];
        } else {
            /* a lookup key: (ukey, snapshot, SEEK) lands on the newest version <= snapshot */
            snprintf(uk, sizeof uk, "k%0*llu", 1 + (int)st_rng_below(&r, 3),
                     (unsigned long long)st_rng_below(&r, 160));
            make_ikey(&target, uk, st_rng_below(&r, x->n + 10), ST_KIND_SEEK);
        }
        size_t want = lower_bound(x->e, x->n, ent_key(&target));
        st_iter_seek(x->merged, ent_key(&target));
        size_t to = want + 20 < x->n ? want + 20 : x->n;
        expect_run(x->merged, x->e, want, to, x->n);
    }
    /* past the end */
    ent last;
    make_ikey(&last, "l", 1, ST_KIND_PUT);
    st_iter_seek(x->merged, ent_key(&last));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
}

/* seek_forward from a forward position: a random walk of next steps and forward seeks to targets
 * at or after the current key (existing keys and lookup keys) lands where seek would, and moving
 * backward first makes it a plain seek. */
static void test_merge_seek_forward_lands_where_seek_would(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_seek_forward_lands_where_seek_would", 9090));
    const int k = 4;
    new_mems(x, k);
    build_random(x, &r, k, 1500);
    merge_mems(x, k);
    st_iter_seek_first(x->merged);
    size_t pos = 0; /* index of the current entry */
    for (int t = 0; t < 400 && pos < x->n; t++) {
        if (st_rng_below(&r, 3) == 0) {
            size_t steps = (size_t)st_rng_below(&r, 5);
            for (size_t s = 0; s < steps && pos < x->n; s++, pos++) st_iter_next(x->merged);
        } else {
            ent target;
            if (st_rng_below(&r, 2)) {
                target = x->e[pos + (size_t)st_rng_below(&r, x->n - pos)]; /* an entry at or after */
            } else {
                /* a lookup key for the current user key or a later one */
                st_slice cur = st_ikey_user(ent_key(&x->e[pos]));
                char uk[24];
                size_t n = cur.len < sizeof uk - 2 ? cur.len : sizeof uk - 2;
                memcpy(uk, cur.data, n);
                if (st_rng_below(&r, 2)) uk[n++] = 'z'; /* a later user key */
                uk[n] = 0;
                make_ikey(&target, uk, 0, 0); /* after every version of it */
            }
            if (st_ikey_cmp(ent_key(&target), ent_key(&x->e[pos])) < 0) continue;
            pos = lower_bound(x->e, x->n, ent_key(&target));
            st_iter_seek_forward(x->merged, ent_key(&target));
        }
        if (pos < x->n) {
            assert_true(st_iter_valid(x->merged));
            assert_int_equal(st_ikey_cmp(st_iter_key(x->merged), ent_key(&x->e[pos])), 0);
        } else {
            assert_false(st_iter_valid(x->merged));
        }
    }
    /* after a backward move the heap is the other way: seek_forward is a seek */
    st_iter_seek_last(x->merged);
    st_iter_prev(x->merged);
    ent t = x->e[x->n / 2];
    st_iter_seek_forward(x->merged, ent_key(&t));
    expect_run(x->merged, x->e, x->n / 2, x->n, x->n);
}

static void test_merge_backward_yields_reverse_sorted_order(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_backward_yields_reverse_sorted_order", 778));
    const int k = 5;
    new_mems(x, k);
    build_random(x, &r, k, NENTRIES);
    merge_mems(x, k);
    st_iter_seek_last(x->merged);
    expect_run_back(x->merged, x->e, (long)x->n - 1, -1);
    /* seek_last again restarts; seek_first after a backward run goes forward again */
    st_iter_seek_last(x->merged);
    expect_run_back(x->merged, x->e, (long)x->n - 1, (long)x->n - 11);
    st_iter_seek_first(x->merged);
    expect_run(x->merged, x->e, 0, 10, x->n);
}

static void test_merge_seek_for_prev_lands_on_last_key_not_above_target(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_seek_for_prev_lands_on_last_key_not_above_target", 4243));
    const int k = 3;
    new_mems(x, k);
    build_random(x, &r, k, 1500);
    merge_mems(x, k);
    for (int t = 0; t < 300; t++) {
        ent target;
        char uk[16];
        if (t % 3 == 0) {
            target = x->e[st_rng_below(&r, x->n)]; /* an existing key exactly */
        } else {
            snprintf(uk, sizeof uk, "k%0*llu", 1 + (int)st_rng_below(&r, 3),
                     (unsigned long long)st_rng_below(&r, 160));
            make_ikey(&target, uk, st_rng_below(&r, x->n + 10), t % 3 == 1 ? ST_KIND_SEEK : 0);
        }
        long want = last_at_or_before(x->e, x->n, ent_key(&target));
        st_iter_seek_for_prev(x->merged, ent_key(&target));
        long to = want - 20 > -1 ? want - 20 : -1;
        expect_run_back(x->merged, x->e, want, to);
    }
    /* before the first key */
    ent first;
    make_ikey(&first, "", ST_SEQ_MAX, ST_KIND_SEEK);
    st_iter_seek_for_prev(x->merged, ent_key(&first));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
    /* after the last */
    ent last;
    make_ikey(&last, "l", 1, ST_KIND_PUT);
    st_iter_seek_for_prev(x->merged, ent_key(&last));
    expect_run_back(x->merged, x->e, (long)x->n - 1, (long)x->n - 4);
}

/* Random next/prev sequences from random positions: every step, and every turn (which moves all
 * children), keeps the merged iterator on the sorted order. */
static void test_merge_random_walks_turn_around_anywhere(void **state) {
    fx *x = *state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_merge_random_walks_turn_around_anywhere", 99));
    const int k = 6;
    new_mems(x, k);
    build_random(x, &r, k, 2000);
    merge_mems(x, k);
    long pos = -1;
    for (int step = 0; step < 20000; step++) {
        if (pos < 0 || pos >= (long)x->n || st_rng_below(&r, 100) == 0) {
            if (pos < 0 || pos >= (long)x->n) {
                assert_false(st_iter_valid(x->merged));
                assert_int_equal(st_iter_status(x->merged), 0);
            }
            switch (st_rng_below(&r, 4)) {
            case 0: st_iter_seek_first(x->merged); pos = 0; break;
            case 1: st_iter_seek_last(x->merged); pos = (long)x->n - 1; break;
            case 2:
                pos = (long)st_rng_below(&r, x->n);
                st_iter_seek(x->merged, ent_key(&x->e[pos]));
                break;
            default:
                pos = (long)st_rng_below(&r, x->n);
                st_iter_seek_for_prev(x->merged, ent_key(&x->e[pos]));
            }
        }
        assert_true(st_iter_valid(x->merged));
        if (st_slice_cmp(st_iter_key(x->merged), ent_key(&x->e[pos])) != 0)
            fail_msg("step %d: not on entry %ld", step, pos);
        /* Short runs in one direction, so turns are frequent. */
        if (st_rng_below(&r, 2)) {
            st_iter_next(x->merged);
            pos++;
        } else {
            st_iter_prev(x->merged);
            pos--;
        }
    }
}

static void test_merge_of_empty_children_is_empty(void **state) {
    fx *x = *state;
    ent t;
    make_ikey(&t, "a", 5, ST_KIND_SEEK);

    /* no children at all */
    merge_mems(x, 0);
    st_iter_seek_first(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
    st_iter_seek(x->merged, ent_key(&t));
    assert_false(st_iter_valid(x->merged));
    st_iter_seek_last(x->merged);
    assert_false(st_iter_valid(x->merged));
    st_iter_seek_for_prev(x->merged, ent_key(&t));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
    st_iter_free(x->merged);
    x->merged = NULL;

    /* only empty memtables */
    new_mems(x, 3);
    merge_mems(x, 3);
    st_iter_seek_first(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
    st_iter_seek_last(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
    st_iter_free(x->merged);
    x->merged = NULL;

    /* empty ones around a single non-empty one */
    for (size_t i = 0; i < 50; i++) {
        char uk[16];
        snprintf(uk, sizeof uk, "key%03zu", i);
        make_ikey(&x->e[i], uk, i + 1, ST_KIND_PUT);
        x->e[i].vlen = 1;
        x->e[i].value[0] = (uint8_t)i;
        mem_add(x->mem[1], &x->e[i]);
    }
    x->n = 50;
    merge_mems(x, 3);
    st_iter_seek_first(x->merged);
    expect_run(x->merged, x->e, 0, 50, 50);
    st_iter_seek(x->merged, ent_key(&x->e[30]));
    expect_run(x->merged, x->e, 30, 50, 50);
    st_iter_seek_last(x->merged);
    expect_run_back(x->merged, x->e, 49, -1);
    /* turning around with empty children beside the only useful one */
    st_iter_seek_for_prev(x->merged, ent_key(&x->e[30]));
    expect_run_back(x->merged, x->e, 30, 28);
    expect_run(x->merged, x->e, 28, 50, 50);
}

/* ---- a child that fails -------------------------------------------------------------------- */

/* Serves ents[0, n) but cannot read outside [fail_below, fail_at): once it would be positioned on
 * an entry there it is invalid with status ST_ECORRUPT, as a table iterator meeting a bad block
 * is. pos SIZE_MAX is "before the first entry". */
typedef struct fake_iter {
    st_iter base;
    const ent *e;
    size_t n, fail_below, fail_at, pos;
    int status;
} fake_iter;

static void fake_settle(fake_iter *f) {
    f->status = (f->pos >= f->fail_at || f->pos < f->fail_below) && f->pos < f->n ? ST_ECORRUPT : 0;
}
static void fake_seek_first(st_iter *it) {
    fake_iter *f = (fake_iter *)it;
    f->pos = 0;
    fake_settle(f);
}
static void fake_seek(st_iter *it, st_slice target) {
    fake_iter *f = (fake_iter *)it;
    f->pos = lower_bound(f->e, f->n, target);
    fake_settle(f);
}
static void fake_next(st_iter *it) {
    fake_iter *f = (fake_iter *)it;
    assert_int_equal(f->status, 0); /* REQUIRES: valid */
    assert_true(f->pos < f->n);
    f->pos++;
    fake_settle(f);
}
static void fake_seek_last(st_iter *it) {
    fake_iter *f = (fake_iter *)it;
    f->pos = f->n ? f->n - 1 : SIZE_MAX;
    fake_settle(f);
}
static void fake_seek_for_prev(st_iter *it, st_slice target) {
    fake_iter *f = (fake_iter *)it;
    long p = last_at_or_before(f->e, f->n, target);
    f->pos = p < 0 ? SIZE_MAX : (size_t)p;
    fake_settle(f);
}
static void fake_prev(st_iter *it) {
    fake_iter *f = (fake_iter *)it;
    assert_int_equal(f->status, 0); /* REQUIRES: valid */
    assert_true(f->pos < f->n);
    f->pos = f->pos ? f->pos - 1 : SIZE_MAX;
    fake_settle(f);
}
static bool fake_valid(const st_iter *it) {
    const fake_iter *f = (const fake_iter *)it;
    return f->status == 0 && f->pos < f->n;
}
static st_slice fake_key(const st_iter *it) {
    const fake_iter *f = (const fake_iter *)it;
    return ent_key(&f->e[f->pos]);
}
static st_slice fake_value(const st_iter *it) {
    const fake_iter *f = (const fake_iter *)it;
    return ent_value(&f->e[f->pos]);
}
static int fake_status(const st_iter *it) { return ((const fake_iter *)it)->status; }
static void fake_destroy(st_iter *it) { free(it); }

static const struct st_iter_ops fake_ops = {
    .seek_first = fake_seek_first,
    .seek = fake_seek,
    .next = fake_next,
    .seek_last = fake_seek_last,
    .seek_for_prev = fake_seek_for_prev,
    .prev = fake_prev,
    .valid = fake_valid,
    .key = fake_key,
    .value = fake_value,
    .status = fake_status,
    .destroy = fake_destroy,
};

static st_iter *fake_new(const ent *e, size_t n, size_t fail_below, size_t fail_at) {
    fake_iter *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base.ops = &fake_ops;
    f->e = e;
    f->n = n;
    f->fail_below = fail_below;
    f->fail_at = fail_at;
    f->pos = SIZE_MAX;
    return &f->base;
}

/* Merges a memtable child holding a000, a002, ..., a098 with a fake child holding a001, ...,
 * a099 that fails outside its entries [fail_below, fail_at). The sorted union is x->e. */
static void two_children_failing(fx *x, size_t fail_below, size_t fail_at) {
    new_mems(x, 1);
    ent *odd = x->fake_ents = calloc(50, sizeof *odd);
    assert_non_null(odd);
    size_t no = 0;
    for (size_t i = 0; i < 100; i++) {
        char uk[16];
        snprintf(uk, sizeof uk, "a%03zu", i);
        make_ikey(&x->e[i], uk, 200 - i, ST_KIND_PUT);
        x->e[i].vlen = 2;
        x->e[i].value[0] = 'v';
        x->e[i].value[1] = (uint8_t)i;
        if (i % 2 == 0) mem_add(x->mem[0], &x->e[i]);
        else odd[no++] = x->e[i];
    }
    x->n = 100;
    st_iter **children = calloc(2, sizeof *children);
    assert_non_null(children);
    assert_int_equal(st_memtable_iter_new(x->mem[0], &children[0]), 0);
    children[1] = fake_new(odd, no, fail_below, fail_at);
    assert_int_equal(st_merge_iter_new(children, 2, &x->merged), 0);
}

static void two_children(fx *x, size_t fail_at) { two_children_failing(x, 0, fail_at); }

static void test_merge_child_error_at_start_makes_merge_invalid(void **state) {
    fx *x = *state;
    two_children(x, 0);
    st_iter_seek_first(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* a seek that lands the bad child on its bad entry fails the same way */
    st_iter_seek(x->merged, ent_key(&x->e[0]));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* the healthy child alone would have been valid: the error is not masked by it */
    st_iter_seek(x->merged, ent_key(&x->e[98]));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* a seek past the bad child's last entry leaves it cleanly exhausted */
    ent past;
    make_ikey(&past, "a099", 1, ST_KIND_PUT);
    st_iter_seek(x->merged, ent_key(&past));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), 0);
}

static void test_merge_child_error_midway_ends_merge_with_its_status(void **state) {
    fx *x = *state;
    /* the fake serves odd entries 0..9 (keys a001..a019), then fails */
    two_children(x, 10);
    st_iter_seek_first(x->merged);
    /* everything up to and including a019 comes out in order, then the merge stops */
    size_t yielded = 0;
    while (st_iter_valid(x->merged) && yielded < x->n) {
        assert_int_equal(st_slice_cmp(st_iter_key(x->merged), ent_key(&x->e[yielded])), 0);
        yielded++;
        st_iter_next(x->merged);
    }
    assert_int_equal(yielded, 20);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* sticky until a seek; a seek before the damage resets it */
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    st_iter_seek(x->merged, ent_key(&x->e[4]));
    assert_int_equal(st_iter_status(x->merged), 0);
    expect_run(x->merged, x->e, 4, 10, x->n);
}

static void test_merge_child_error_backward_ends_merge_with_its_status(void **state) {
    fx *x = *state;
    /* the fake serves odd entries 40..49 (keys a081..a099) backward, then fails at entry 39 */
    two_children_failing(x, 40, 50);
    st_iter_seek_last(x->merged);
    size_t yielded = 0;
    while (st_iter_valid(x->merged) && yielded < x->n) {
        assert_int_equal(st_slice_cmp(st_iter_key(x->merged), ent_key(&x->e[x->n - 1 - yielded])), 0);
        yielded++;
        st_iter_prev(x->merged);
    }
    assert_int_equal(yielded, 19); /* a099 down to a081: stepping the fake off a081 fails */
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* a seek_for_prev that lands the bad child on a bad entry fails; one above the damage works */
    st_iter_seek_for_prev(x->merged, ent_key(&x->e[50]));
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    st_iter_seek_for_prev(x->merged, ent_key(&x->e[95]));
    assert_int_equal(st_iter_status(x->merged), 0);
    expect_run_back(x->merged, x->e, 95, 85);
}

static void test_merge_turning_around_into_a_damaged_child_fails_with_its_status(void **state) {
    fx *x = *state;
    /* the fake serves a001..a019 (its entries 0..9) and fails from a021 on */
    two_children(x, 10);
    st_iter_seek_for_prev(x->merged, ent_key(&x->e[20])); /* a020, from the memtable */
    expect_run_back(x->merged, x->e, 20, 19);
    /* turning forward at a019 seeks the fake to a021: damaged */
    st_iter_next(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
    /* backward from the failing side: the fake fails below its entry 5 (keys under a011) */
    st_iter_free(x->merged);
    x->merged = NULL;
    st_memtable_unref(x->mem[0]);
    x->mem[0] = NULL;
    free(x->fake_ents);
    x->fake_ents = NULL;
    two_children_failing(x, 5, 50);
    st_iter_seek(x->merged, ent_key(&x->e[12])); /* a012, from the memtable; the fake is on a013 */
    expect_run(x->merged, x->e, 12, 13, x->n);
    /* turning back at a013 seeks the fake to a011 (ok), then steps it to a009: damaged */
    st_iter_prev(x->merged);
    expect_run_back(x->merged, x->e, 12, 11);
    st_iter_prev(x->merged);
    assert_false(st_iter_valid(x->merged));
    assert_int_equal(st_iter_status(x->merged), ST_ECORRUPT);
}

/* The user-key iterator over a merge with a damaged child: whichever way it meets the damage,
 * it stops with the child's status, which stays until the next positioning call. */
static void test_db_iter_over_a_damaged_child_reports_it_both_ways(void **state) {
    fx *x = *state;
    two_children_failing(x, 40, 50); /* the fake reads a081..a099 only */
    st_iter *d;
    assert_int_equal(st_db_iter_wrap(x->merged, ST_SEQ_MAX, st_slice_make(NULL, 0), st_slice_make(NULL, 0), NULL,
                                     NULL, &d),
                     0);
    x->merged = NULL; /* d owns it */
    st_iter_seek_last(d);
    size_t n = 0;
    for (; st_iter_valid(d) && n < 100; st_iter_prev(d)) n++;
    assert_true(n > 0 && n < 20);
    assert_int_equal(st_iter_status(d), ST_ECORRUPT);
    st_iter_seek_for_prev(d, st_slice_str("a099"));
    assert_true(st_iter_valid(d));
    assert_int_equal(st_iter_status(d), 0);
    assert_int_equal(st_slice_cmp(st_iter_key(d), st_slice_str("a099")), 0);
    /* forward from below the damage: a seek into the memtable's side, then a turn into the fake */
    st_iter_seek(d, st_slice_str("a050"));
    assert_false(st_iter_valid(d));
    assert_int_equal(st_iter_status(d), ST_ECORRUPT);
    st_iter_seek(d, st_slice_str("a090"));
    assert_int_equal(st_slice_cmp(st_iter_key(d), st_slice_str("a090")), 0);
    for (n = 0; st_iter_valid(d) && n < 100; n++) st_iter_prev(d);
    assert_int_equal(st_iter_status(d), ST_ECORRUPT);
    st_iter_seek_first(d);
    assert_int_equal(st_iter_status(d), ST_ECORRUPT); /* a000 sits next to the fake's bad a001 */
    st_iter_free(d);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_merge_round_robin_children_yield_sorted_order),
        T(test_merge_random_children_yield_exactly_sorted_order),
        T(test_merge_seek_lands_on_first_key_not_below_target),
        T(test_merge_seek_forward_lands_where_seek_would),
        T(test_merge_backward_yields_reverse_sorted_order),
        T(test_merge_seek_for_prev_lands_on_last_key_not_above_target),
        T(test_merge_random_walks_turn_around_anywhere),
        T(test_merge_of_empty_children_is_empty),
        T(test_merge_child_error_at_start_makes_merge_invalid),
        T(test_merge_child_error_midway_ends_merge_with_its_status),
        T(test_merge_child_error_backward_ends_merge_with_its_status),
        T(test_merge_turning_around_into_a_damaged_child_fails_with_its_status),
        T(test_db_iter_over_a_damaged_child_reports_it_both_ways),
    };
    return cmocka_run_group_tests_name("merge_iter", tests, NULL, NULL);
}
