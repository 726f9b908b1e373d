/* version.c -- applying edits to versions, and point lookups across levels.
 *
 * A version holds one reference on each of its st_file_meta, so consecutive versions share the
 * metadata (and open readers) of the tables they have in common.
 * Point lookups walk a key's path through the tables (next_table: L0 newest first, then the one
 * table per deeper level whose range holds the key) and stop at the first table that has the key
 * (a PUT or a tombstone). A multi-key lookup walks every path one table per round, so each round's
 * block reads can be issued together. */
#include "version.h"

#include <stdlib.h>

#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/ikey.h"

int st_version_new_empty(st_version **out) {
    st_version *v = calloc(1, sizeof *v);
    *out = v;
    if (!v) return ST_ENOMEM;
    atomic_init(&v->refs, 1);
    return 0;
}

void st_version_ref(st_version *v) { atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed); }

void st_version_unref(st_version *v) {
    if (!v) return;
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1) return;
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        for (size_t i = 0; i < v->n_files[l]; i++) st_file_meta_unref(v->files[l][i]);
        free(v->files[l]);
    }
    free(v);
}

static int cmp_l0(const void *a, const void *b) {
    const st_file_meta *x = *(st_file_meta *const *)a, *y = *(st_file_meta *const *)b;
    if (x->max_seq != y->max_seq) return x->max_seq > y->max_seq ? -1 : 1;
    return x->number > y->number ? -1 : (x->number < y->number);
}

static int cmp_smallest(const void *a, const void *b) {
    const st_file_meta *x = *(st_file_meta *const *)a, *y = *(st_file_meta *const *)b;
    int c = st_ikey_cmp(st_buf_slice(&x->smallest), st_buf_slice(&y->smallest));
    return c ? c : (x->number > y->number) - (x->number < y->number);
}

static bool deleted_in(const st_version_edit *e, int level, uint64_t number) {
    for (size_t i = 0; i < e->n_deleted; i++)
        if (e->deleted[i].level == level && e->deleted[i].number == number) return true;
    return false;
}

/* Deleted at any level: a trivial move is "delete from L, add at L+1" of the same number. */
static bool deleted_anywhere(const st_version_edit *e, uint64_t number) {
    for (size_t i = 0; i < e->n_deleted; i++)
        if (e->deleted[i].number == number) return true;
    return false;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first table number an edit adds twice, or 0 (table numbers start at 1). */
static int added_twice(const st_version_edit *e, uint64_t *dup) {
    *dup = 0;
    if (e->n_added < 2) return 0;
    uint64_t *nums = malloc(e->n_added * sizeof *nums);
    if (!nums) return ST_ENOMEM;
    for (size_t i = 0; i < e->n_added; i++) nums[i] = e->added[i]->number;
    qsort(nums, e->n_added, sizeof *nums, cmp_u64);
    for (size_t i = 1; i < e->n_added && !*dup; i++)
        if (nums[i] == nums[i - 1]) *dup = nums[i];
    free(nums);
    return 0;
}

int st_version_apply(const st_version *base, const st_version_edit *e, st_version **out) {
    st_version *v;
    ST_TRY(st_version_new_empty(&v));
    *out = NULL;
    int rc = 0;
    for (size_t i = 0; i < e->n_deleted; i++) {
        int l = e->deleted[i].level;
        bool found = false;
        for (size_t j = 0; l < ST_MAX_LEVELS && j < base->n_files[l] && !found; j++)
            found = base->files[l][j]->number == e->deleted[i].number;
        if (!found) {
            rc = st_err(ST_ECORRUPT, "manifest deletes table %llu from L%d, which does not hold it",
                        (unsigned long long)e->deleted[i].number, l);
            goto out;
        }
    }
    for (size_t i = 0; i < e->n_added; i++) {
        const st_file_meta *f = e->added[i];
        if (f->level < 0 || f->level >= ST_MAX_LEVELS) {
            rc = st_err(ST_ECORRUPT, "manifest adds table %llu at level %d (max %d)",
                        (unsigned long long)f->number, f->level, ST_MAX_LEVELS - 1);
            goto out;
        }
        if (st_version_has_file(base, f->number) && !deleted_anywhere(e, f->number)) {
            rc = st_err(ST_ECORRUPT, "manifest adds table %llu twice", (unsigned long long)f->number);
            goto out;
        }
    }
    /* ... nor twice in one edit (a table at two levels would be read, compacted and deleted twice) */
    uint64_t dup;
    if ((rc = added_twice(e, &dup))) goto out;
    if (dup) {
        rc = st_err(ST_ECORRUPT, "manifest adds table %llu twice in one record", (unsigned long long)dup);
        goto out;
    }
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        size_t cap = base->n_files[l];
        for (size_t i = 0; i < e->n_added; i++) cap += e->added[i]->level == l;
        if (!cap) continue;
        v->files[l] = malloc(cap * sizeof *v->files[l]);
        if (!v->files[l]) {
            rc = ST_ENOMEM;
            goto out;
        }
        for (size_t j = 0; j < base->n_files[l]; j++) {
            st_file_meta *f = base->files[l][j];
            if (deleted_in(e, l, f->number)) continue;
            st_file_meta_ref(f);
            v->files[l][v->n_files[l]++] = f;
        }
        for (size_t i = 0; i < e->n_added; i++) {
            if (e->added[i]->level != l) continue;
            st_file_meta_ref(e->added[i]);
            v->files[l][v->n_files[l]++] = e->added[i];
        }
        qsort(v->files[l], v->n_files[l], sizeof *v->files[l], l == 0 ? cmp_l0 : cmp_smallest);
    }
#ifdef ST_DEBUG_INVARIANTS
    rc = st_version_check(v);
#endif
out:
    if (rc) st_version_unref(v);
    else *out = v;
    return rc;
}

st_file_meta *st_version_find_file(const st_version *v, uint64_t number) {
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++)
            if (v->files[l][j]->number == number) return v->files[l][j];
    return NULL;
}

bool st_version_has_file(const st_version *v, uint64_t number) { return st_version_find_file(v, number) != NULL; }

int st_version_snapshot_edit(const st_version *v, st_version_edit *e) {
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) ST_TRY(st_edit_add_file(e, v->files[l][j]));
    return 0;
}

int st_version_check(const st_version *v) {
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            const st_file_meta *f = v->files[l][j];
            if (f->level != l)
                return st_err(ST_ECORRUPT, "table %llu sits in L%d but says L%d", (unsigned long long)f->number, l,
                              f->level);
            if (f->smallest.len < ST_IKEY_TAG_BYTES || f->largest.len < ST_IKEY_TAG_BYTES ||
                st_ikey_cmp(st_buf_slice(&f->smallest), st_buf_slice(&f->largest)) > 0)
                return st_err(ST_ECORRUPT, "L%d table %llu: smallest key above largest", l,
                              (unsigned long long)f->number);
        }
    for (size_t j = 1; j < v->n_files[0]; j++)
        if (v->files[0][j - 1]->max_seq < v->files[0][j]->max_seq)
            return st_err(ST_ECORRUPT, "L0 out of order at table %llu",
                          (unsigned long long)v->files[0][j]->number);
    /* V3, on user keys: one user key never spans two tables of a level (a lookup reads one) */
    for (int l = 1; l < ST_MAX_LEVELS; l++)
        for (size_t j = 1; j < v->n_files[l]; j++) {
            const st_file_meta *a = v->files[l][j - 1], *b = v->files[l][j];
            if (st_slice_cmp(st_ikey_user(st_buf_slice(&a->largest)), st_ikey_user(st_buf_slice(&b->smallest))) >= 0)
                return st_err(ST_ECORRUPT, "L%d tables %llu and %llu overlap or are out of order", l,
                              (unsigned long long)a->number, (unsigned long long)b->number);
        }
    return 0;
}

/* True if ukey lies within the table's user-key range. */
static bool covers(const st_file_meta *f, st_slice ukey) {
    return st_slice_cmp(ukey, st_ikey_user(st_buf_slice(&f->smallest))) >= 0 &&
           st_slice_cmp(ukey, st_ikey_user(st_buf_slice(&f->largest))) <= 0;
}

/* Where a key's path through the tables stands: the next L0 position, then the next level. */
typedef struct table_cursor {
    int level;
    size_t pos; /* in L0 */
} table_cursor;

/* The next table on ukey's path at snap_seq (V2, V3): L0 tables newest first, skipping those
 * whose range misses ukey or that hold nothing as old as snap_seq, then in each deeper level the
 * one table whose range may hold ukey. NULL once the path is done. */
static st_file_meta *next_table(const st_version *v, st_slice ukey, uint64_t snap_seq, table_cursor *c) {
    while (c->level == 0 && c->pos < v->n_files[0]) {
        st_file_meta *f = v->files[0][c->pos++];
        if (f->min_seq <= snap_seq && covers(f, ukey)) return f;
    }
    if (c->level == 0) c->level = 1;
    while (c->level < ST_MAX_LEVELS) {
        int l = c->level++;
        size_t lo = 0, hi = v->n_files[l];
        /* first file whose largest user key >= ukey */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (st_slice_cmp(st_ikey_user(st_buf_slice(&v->files[l][mid]->largest)), ukey) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < v->n_files[l] && covers(v->files[l][lo], ukey)) return v->files[l][lo];
    }
    return NULL;
}

int st_version_get(st_version *v, st_slice ukey, uint64_t snap_seq, int *kind, st_buf *value) {
    table_cursor c = {0, 0};
    st_file_meta *f;
    while ((f = next_table(v, ukey, snap_seq, &c))) {
        int rc = st_sst_reader_get(f->reader, ukey, snap_seq, kind, value);
        if (rc != ST_ENOTFOUND) return rc;
    }
    return ST_ENOTFOUND;
}

void st_version_prefetch(st_version *v, st_slice ukey, uint64_t hash) {
    table_cursor c = {0, 0};
    st_file_meta *f;
    while ((f = next_table(v, ukey, ST_SEQ_MAX, &c))) st_sst_reader_prefetch(f->reader, hash);
}

void st_version_multiget(st_version *v, uint64_t snap_seq, st_version_lookup *keys, size_t n) {
    table_cursor *cur = calloc(n, sizeof *cur);
    size_t *todo = malloc(n * sizeof *todo); /* keys still on their path */
    st_sst_lookup *gets = malloc(n * sizeof *gets);
    if (n && (!cur || !todo || !gets)) {
        /* No memory to batch: the same answers, key by key. */
        for (size_t i = 0; i < n; i++)
            keys[i].rc = st_version_get(v, keys[i].ukey, snap_seq, &keys[i].kind, &keys[i].value);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].rc = ST_ENOTFOUND;
        todo[i] = i;
    }
    /* Each round moves every key still on its path at least one table further, so the loop ends
     * after at most n_files[0] + ST_MAX_LEVELS rounds. */
    size_t ntodo = n;
    while (ntodo) {
        size_t m = 0;
        for (size_t k = 0; k < ntodo; k++) {
            size_t i = todo[k];
            st_file_meta *f = next_table(v, keys[i].ukey, snap_seq, &cur[i]);
            if (!f) continue; /* path done: ST_ENOTFOUND */
            gets[m] = (st_sst_lookup){.r = f->reader, .ukey = keys[i].ukey, .snap_seq = snap_seq,
                                      .value = &keys[i].value};
            todo[m++] = i;
        }
        st_sst_reader_multiget(gets, m);
        ntodo = 0;
        for (size_t k = 0; k < m; k++) {
            size_t i = todo[k];
            if (gets[k].rc == ST_ENOTFOUND) {
                todo[ntodo++] = i;
                continue;
            }
            keys[i].rc = gets[k].rc;
            keys[i].kind = gets[k].kind;
        }
    }
out:
    free(cur);
    free(todo);
    free(gets);
}
