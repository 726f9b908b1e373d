/* test_sstable.c -- SSTable builder and reader against an in-memory model: iteration both ways
 * (seek, seek_for_prev, next/prev across block boundaries), point lookups at snapshots,
 * properties, whole-file checksum, corruption of every block type (met forward or backward), and
 * reads through a block cache (same answers, hits, corruption never cached, fill_cache=false). */
#include "sst_layout.h"
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"
#include "strata/st_status.h"
#include "table/block.h"
#include "table/block_cache.h"
#include "table/compress.h"
#include "table/sstable_builder.h"
#include "table/sstable_format.h"
#include "table/sstable_reader.h"
#include "table/table_cache.h"
#include "util/hash.h"
#include "util/ikey.h"

#define NENTRIES 20000

/* ---- the model ------------------------------------------------------------------------------- */

typedef struct ent {
    st_slice ukey, value, ikey;
    uint64_t seq;
    int kind;
} ent;

typedef struct model {
    ent *e;
    size_t n;
    st_slice *ukeys; /* distinct user keys, sorted */
    size_t nukeys;
    size_t *first;   /* first[i]: index in e of ukeys[i]'s newest version; first[nukeys] = n */
    st_buf arena;    /* not reallocated after build: slices point into separate mallocs instead */
    void **allocs;
    size_t nallocs, cap_allocs;
} model;

static uint8_t *model_alloc(model *m, size_t n) {
    if (m->nallocs == m->cap_allocs) {
        m->cap_allocs = m->cap_allocs ? 2 * m->cap_allocs : 1024;
        m->allocs = realloc(m->allocs, m->cap_allocs * sizeof *m->allocs);
        assert_non_null(m->allocs);
    }
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    m->allocs[m->nallocs++] = p;
    return p;
}

static int slice_qsort_cmp(const void *a, const void *b) {
    return st_slice_cmp(*(const st_slice *)a, *(const st_slice *)b);
}

static int u64_desc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : (x > y ? -1 : 0);
}

/* A binary user key: often a shared text prefix, then random bytes (0x00 and 0xff included). */
static st_slice random_ukey(model *m, st_rng *r) {
    size_t pre = st_rng_below(r, 3) == 0 ? 0 : 5;
    size_t n = pre + st_rng_below(r, 20);
    uint8_t *p = model_alloc(m, n);
    memcpy(p, "user:", pre);
    for (size_t i = pre; i < n; i++) {
        uint64_t x = st_rng_next(r);
        p[i] = (x & 0x300) == 0 ? (uint8_t)((x & 1) ? 0xff : 0x00) : (uint8_t)(x >> 16);
    }
    return st_slice_make(p, n);
}

static st_slice random_value(model *m, st_rng *r) {
    size_t n = st_rng_below(r, 300);
    uint8_t *p = model_alloc(m, n);
    bool text = st_rng_below(r, 2);
    for (size_t i = 0; i < n; i++) p[i] = text ? (uint8_t)"the quick brown fox "[i % 20] : (uint8_t)st_rng_next(r);
    return st_slice_make(p, n);
}

static void model_build(model *m, uint64_t seed, size_t target) {
    memset(m, 0, sizeof *m);
    st_rng r;
    st_rng_seed(&r, seed);
    size_t cap = target; /* enough distinct keys to reach target entries */
    st_slice *uk = malloc(cap * sizeof *uk);
    assert_non_null(uk);
    for (size_t i = 0; i < cap; i++) uk[i] = random_ukey(m, &r);
    qsort(uk, cap, sizeof *uk, slice_qsort_cmp);
    size_t nu = 0;
    for (size_t i = 0; i < cap; i++)
        if (nu == 0 || st_slice_cmp(uk[nu - 1], uk[i]) != 0) uk[nu++] = uk[i];
    m->ukeys = uk;
    m->e = calloc(target, sizeof *m->e);
    m->first = calloc(nu + 1, sizeof *m->first);
    assert_non_null(m->e);
    assert_non_null(m->first);
    size_t n = 0, k = 0;
    for (; k < nu && n < target; k++) {
        m->first[k] = n;
        size_t nver = 1 + st_rng_below(&r, 4);
        if (nver > target - n) nver = target - n;
        uint64_t seqs[4];
        for (size_t v = 0; v < nver; v++) {
            bool dup;
            do {
                seqs[v] = 2 + st_rng_below(&r, 1000000000);
                dup = false;
                for (size_t w = 0; w < v; w++) dup |= seqs[w] == seqs[v];
            } while (dup);
        }
        qsort(seqs, nver, sizeof seqs[0], u64_desc);
        for (size_t v = 0; v < nver; v++, n++) {
            ent *e = &m->e[n];
            e->ukey = uk[k];
            e->seq = seqs[v];
            e->kind = st_rng_below(&r, 5) == 0 ? ST_KIND_DEL : ST_KIND_PUT;
            e->value = e->kind == ST_KIND_PUT ? random_value(m, &r) : st_slice_make(NULL, 0);
            uint8_t *ik = model_alloc(m, e->ukey.len + 8);
            if (e->ukey.len) memcpy(ik, e->ukey.data, e->ukey.len);
            st_put_fixed64(ik + e->ukey.len, st_ikey_tag(e->seq, e->kind));
            e->ikey = st_slice_make(ik, e->ukey.len + 8);
        }
    }
    m->nukeys = k;
    m->first[k] = n;
    m->n = n;
}

static void model_free(model *m) {
    for (size_t i = 0; i < m->nallocs; i++) free(m->allocs[i]);
    free(m->allocs);
    free(m->ukeys);
    free(m->e);
    free(m->first);
}

/* Index of the first entry whose ikey >= target (m->n if none). */
static size_t model_lower_bound(const model *m, st_slice target) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(m->e[mid].ikey, target) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool model_has_ukey(const model *m, st_slice u) {
    return bsearch(&u, m->ukeys, m->nukeys, sizeof u, slice_qsort_cmp) != NULL;
}

/* ---- fixture and helpers --------------------------------------------------------------------- */

typedef struct fixture {
    char *dir;
    model m;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    fx->dir = st_test_tmpdir("sstable");
    if (!fx->dir) return -1;
    model_build(&fx->m, st_test_seed("test_sstable model", 31), NENTRIES);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    st_test_rmrf(fx->dir);
    free(fx->dir);
    model_free(&fx->m);
    free(fx);
    return 0;
}

static st_sst_opts default_opts(st_codec codec) {
    st_sst_opts o = {.block_bytes = 4096, .restart_interval = 16, .bloom_bits_per_key = 10, .codec = codec,
                     .zstd_level = 3};
    return o;
}

/* Builds a table of entries [first, first + n) of the model at path. */
static void build_table_range(const char *path, const st_sst_opts *o, const model *m, size_t first, size_t n,
                              st_sst_meta *meta) {
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f), 0);
    st_sst_builder *b;
    assert_int_equal(st_sst_builder_new(f, o, &b), 0);
    uint64_t raw = 0;
    for (size_t i = 0; i < n; i++) {
        const ent *e = &m->e[first + i];
        assert_int_equal(st_sst_builder_add(b, e->ikey, e->value), 0);
        raw += e->ikey.len + e->value.len;
        /* an estimate: never more than the raw bytes plus per-entry and per-block overhead */
        assert_true(st_sst_builder_file_size(b) <= raw + 20 * (i + 1));
    }
    assert_int_equal(st_sst_builder_finish(b, meta), 0);
    assert_int_equal(st_sst_builder_file_size(b), (uint64_t)st_file_append_off(f));
    st_sst_builder_free(b);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_close(f), 0);
}

/* Builds a table of entries [0, n) of the model at path. */
static void build_table(const char *path, const st_sst_opts *o, const model *m, size_t n, st_sst_meta *meta) {
    build_table_range(path, o, m, 0, n, meta);
}

static int open_reader_cached(const char *path, uint64_t number, st_block_cache *cache, st_sst_reader **r) {
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_READ, &f), 0);
    return st_sst_reader_open(f, number, cache, r);
}

static int open_reader(const char *path, uint64_t number, st_sst_reader **r) {
    return open_reader_cached(path, number, NULL, r);
}

static char *copy_file(const char *dir, const char *from, const char *name) {
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(from, &data, &len), 0);
    char *to = st_test_path(dir, name);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    free(data);
    return to;
}

/* Every entry, in order, equals the model's from entry `first` on (iterator options o, NULL for
 * the defaults); returns how many were served. Stops at the first invalid position and reports
 * its status through *status. */
static size_t scan_from(st_sst_reader *r, const model *m, size_t first, const st_sst_iter_opts *o, int *status) {
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new_opts(r, o, &it), 0);
    size_t i = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), i++) {
        assert_true(first + i < m->n);
        const ent *e = &m->e[first + i];
        st_slice k = st_iter_key(it), v = st_iter_value(it);
        assert_int_equal(k.len, e->ikey.len);
        assert_memory_equal(k.data, e->ikey.data, k.len);
        assert_int_equal(v.len, e->value.len);
        if (v.len) assert_memory_equal(v.data, e->value.data, v.len);
    }
    *status = st_iter_status(it);
    st_iter_free(it);
    return i;
}

static size_t scan_and_compare(st_sst_reader *r, const model *m, int *status) {
    return scan_from(r, m, 0, NULL, status);
}

static void expect_ent(st_iter *it, const ent *e) {
    assert_true(st_iter_valid(it));
    st_slice k = st_iter_key(it), v = st_iter_value(it);
    assert_int_equal(k.len, e->ikey.len);
    assert_memory_equal(k.data, e->ikey.data, k.len);
    assert_int_equal(v.len, e->value.len);
    if (v.len) assert_memory_equal(v.data, e->value.data, v.len);
}

/* scan_from backward: from seek_last, every entry equals the model's from the last down; returns
 * how many were served, the status of the first invalid position in *status. */
static size_t scan_backward(st_sst_reader *r, const model *m, const st_sst_iter_opts *o, int *status) {
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new_opts(r, o, &it), 0);
    size_t i = 0;
    for (st_iter_seek_last(it); st_iter_valid(it); st_iter_prev(it), i++) {
        assert_true(i < m->n);
        expect_ent(it, &m->e[m->n - 1 - i]);
    }
    *status = st_iter_status(it);
    st_iter_free(it);
    return i;
}

/* Index of the last entry whose ikey <= target, or SIZE_MAX if none. */
static size_t model_last_at_or_before(const model *m, st_slice target) {
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st_ikey_cmp(m->e[mid].ikey, target) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? SIZE_MAX : lo - 1;
}

/* Backward reads of a whole-model table: seek_last/prev over everything, seek_for_prev on exact,
 * in-between, before-first and after-last targets (each followed by steps both ways), and a random
 * walk of next and prev that crosses block boundaries. */
static void check_backward(st_sst_reader *r, const model *m, const char *name) {
    int status;
    assert_int_equal(scan_backward(r, m, NULL, &status), m->n);
    assert_int_equal(status, 0);
    st_rng rng;
    st_rng_seed(&rng, st_test_seed(name, 33));
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    st_buf t;
    st_buf_init(&t);
    for (int q = 0; q < 3000; q++) {
        const ent *e = &m->e[st_rng_below(&rng, m->n)];
        st_buf_clear(&t);
        switch (q % 4) {
        case 0: assert_int_equal(st_buf_append(&t, e->ikey.data, e->ikey.len), 0); break;
        case 1: assert_int_equal(st_ikey_append(&t, e->ukey, ST_SEQ_MAX, ST_KIND_SEEK), 0); break;
        case 2: assert_int_equal(st_ikey_append(&t, e->ukey, 0, 0), 0); break;
        default: /* a user key just after e's: append a byte */
            assert_int_equal(st_buf_append(&t, e->ukey.data, e->ukey.len), 0);
            assert_int_equal(st_buf_append(&t, "\x01", 1), 0);
            assert_int_equal(st_buf_append_fixed64(&t, st_ikey_tag(ST_SEQ_MAX, ST_KIND_SEEK)), 0);
        }
        size_t want = model_last_at_or_before(m, st_buf_slice(&t));
        st_iter_seek_for_prev(it, st_buf_slice(&t));
        if (want == SIZE_MAX) {
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), 0);
            continue;
        }
        expect_ent(it, &m->e[want]);
        if (q % 2) { /* on backward, or turn around */
            for (size_t s = 1; s < 3 && want >= s; s++) {
                st_iter_prev(it);
                expect_ent(it, &m->e[want - s]);
            }
        } else if (want + 1 < m->n) {
            st_iter_next(it);
            expect_ent(it, &m->e[want + 1]);
        }
    }
    /* before the first key (the empty user key at the highest tag is the least internal key),
     * then after the last */
    st_buf_clear(&t);
    assert_int_equal(st_ikey_append(&t, st_slice_make(NULL, 0), ST_SEQ_MAX, ST_KIND_SEEK), 0);
    st_iter_seek_for_prev(it, st_buf_slice(&t));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_buf_clear(&t);
    for (int i = 0; i < 26; i++) assert_int_equal(st_buf_append(&t, "\xff", 1), 0);
    assert_int_equal(st_buf_append_fixed64(&t, 0), 0);
    st_iter_seek_for_prev(it, st_buf_slice(&t));
    expect_ent(it, &m->e[m->n - 1]);

    /* A random walk, biased so it travels: runs of one direction then the other. */
    size_t pos = (size_t)st_rng_below(&rng, m->n);
    st_iter_seek(it, m->e[pos].ikey);
    bool back = false;
    for (int step = 0; step < 20000; step++) {
        expect_ent(it, &m->e[pos]);
        if (st_rng_below(&rng, 50) == 0) back = !back;
        if (back && pos == 0) {
            st_iter_prev(it);
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), 0);
            st_iter_seek_first(it);
            back = false;
        } else if (!back && pos == m->n - 1) {
            st_iter_next(it);
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), 0);
            st_iter_seek_last(it);
            back = true;
        } else if (back) {
            st_iter_prev(it);
            pos--;
        } else {
            st_iter_next(it);
            pos++;
        }
    }
    st_iter_free(it);
    st_buf_destroy(&t);
}

/* get(ukey, snap) per the model: the newest version of ukey with seq <= snap. */
static void expect_get(st_sst_reader *r, const model *m, size_t k, uint64_t snap, st_buf *val) {
    size_t want = SIZE_MAX;
    for (size_t i = m->first[k]; i < m->first[k + 1]; i++) {
        if (m->e[i].seq <= snap) {
            want = i;
            break;
        }
    }
    int kind = 0;
    int rc = st_sst_reader_get(r, m->ukeys[k], snap, &kind, val);
    if (want == SIZE_MAX) {
        assert_int_equal(rc, ST_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(kind, m->e[want].kind);
    assert_int_equal(val->len, m->e[want].value.len);
    if (val->len) assert_memory_equal(val->data, m->e[want].value.data, val->len);
}

/* ---- block locations, for the corruption tests ----------------------------------------------- */


/* First and last internal keys of data block j, as model indexes. */
static void data_block_range(const char *path, const sst_layout *l, size_t j, const model *m, size_t *lo, size_t *hi) {
    char *file;
    size_t len;
    assert_int_equal(st_io_read_all(path, &file, &len), 0);
    st_buf c;
    st_buf_init(&c);
    sst_block_contents(file, l->data[j], &c);
    st_block blk;
    assert_int_equal(st_block_init(&blk, st_buf_slice(&c)), 0);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, NULL, &it), 0);
    st_iter_seek_first(it);
    assert_true(st_iter_valid(it));
    *lo = model_lower_bound(m, st_iter_key(it));
    size_t n = 0;
    for (; st_iter_valid(it); st_iter_next(it)) n++;
    *hi = *lo + n - 1;
    st_iter_free(it);
    st_buf_destroy(&c);
    free(file);
}

/* ---- tests: contents ------------------------------------------------------------------------- */

static void check_table(fixture *fx, const st_sst_opts *o, const char *name) {
    const model *m = &fx->m;
    char *path = st_test_path(fx->dir, name);
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    time_t t0 = time(NULL);
    build_table(path, o, m, m->n, &meta);
    time_t t1 = time(NULL);

    /* meta */
    assert_int_equal(meta.file_size, (uint64_t)st_test_file_size(path));
    char *bytes;
    size_t len;
    assert_int_equal(st_io_read_all(path, &bytes, &len), 0);
    assert_int_equal(meta.file_checksum, st_hash64(bytes, len));
    free(bytes);
    uint64_t dels = 0, minseq = UINT64_MAX, maxseq = 0, kbytes = 0, vbytes = 0;
    for (size_t i = 0; i < m->n; i++) {
        dels += m->e[i].kind == ST_KIND_DEL;
        minseq = m->e[i].seq < minseq ? m->e[i].seq : minseq;
        maxseq = m->e[i].seq > maxseq ? m->e[i].seq : maxseq;
        kbytes += m->e[i].ikey.len;
        vbytes += m->e[i].value.len;
    }
    assert_int_equal(meta.entries, m->n);
    assert_int_equal(meta.deletions, dels);
    assert_int_equal(meta.min_seq, minseq);
    assert_int_equal(meta.max_seq, maxseq);
    assert_int_equal(meta.smallest.len, m->e[0].ikey.len);
    assert_memory_equal(meta.smallest.data, m->e[0].ikey.data, meta.smallest.len);
    assert_int_equal(meta.largest.len, m->e[m->n - 1].ikey.len);
    assert_memory_equal(meta.largest.data, m->e[m->n - 1].ikey.data, meta.largest.len);

    st_sst_reader *r;
    assert_int_equal(open_reader(path, 7, &r), 0);
    assert_int_equal(st_sst_reader_number(r), 7);

    /* props */
    const st_sst_props *p = st_sst_reader_props(r);
    sst_layout l;
    sst_get_layout(path, &l);
    assert_int_equal(p->entries, m->n);
    assert_int_equal(p->deletions, dels);
    assert_int_equal(p->data_blocks, l.ndata);
    assert_int_equal(p->raw_key_bytes, kbytes);
    assert_int_equal(p->raw_value_bytes, vbytes);
    assert_int_equal(p->min_seq, minseq);
    assert_int_equal(p->max_seq, maxseq);
    assert_true(p->creation_time >= (uint64_t)t0 && p->creation_time <= (uint64_t)t1);
    assert_int_equal(p->codec, o->codec);
    assert_int_equal(p->block_bytes, o->block_bytes);
    assert_int_equal(p->bloom_bits_per_key, (uint32_t)o->bloom_bits_per_key);
    assert_int_equal(p->format_version, 1);
    assert_int_equal(p->smallest.len, meta.smallest.len);
    assert_memory_equal(p->smallest.data, meta.smallest.data, p->smallest.len);
    assert_int_equal(p->largest.len, meta.largest.len);
    assert_memory_equal(p->largest.data, meta.largest.data, p->largest.len);
    assert_int_equal(l.filter.size != 0, o->bloom_bits_per_key != 0);
    free(l.data);

    /* full iteration */
    int status;
    assert_int_equal(scan_and_compare(r, m, &status), m->n);
    assert_int_equal(status, 0);
    assert_int_equal(st_sst_reader_verify(r), 0);

    /* seeks: existing keys, the newest possible version of a user key, and in-between keys */
    st_rng rng;
    st_rng_seed(&rng, st_test_seed(name, 32));
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    st_buf t;
    st_buf_init(&t);
    for (int q = 0; q < 3000; q++) {
        const ent *e = &m->e[st_rng_below(&rng, m->n)];
        st_buf_clear(&t);
        switch (q % 4) {
        case 0: assert_int_equal(st_buf_append(&t, e->ikey.data, e->ikey.len), 0); break;
        case 1: assert_int_equal(st_ikey_append(&t, e->ukey, ST_SEQ_MAX, ST_KIND_SEEK), 0); break;
        case 2: assert_int_equal(st_ikey_append(&t, e->ukey, e->seq - 1, ST_KIND_PUT), 0); break;
        default: /* a user key just after e's: append a byte */
            assert_int_equal(st_buf_append(&t, e->ukey.data, e->ukey.len), 0);
            assert_int_equal(st_buf_append(&t, "\x01", 1), 0);
            assert_int_equal(st_buf_append_fixed64(&t, st_ikey_tag(ST_SEQ_MAX, ST_KIND_SEEK)), 0);
        }
        size_t want = model_lower_bound(m, st_buf_slice(&t));
        st_iter_seek(it, st_buf_slice(&t));
        if (want == m->n) {
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), 0);
            continue;
        }
        assert_true(st_iter_valid(it));
        assert_int_equal(st_iter_key(it).len, m->e[want].ikey.len);
        assert_memory_equal(st_iter_key(it).data, m->e[want].ikey.data, m->e[want].ikey.len);
        /* and it carries on in order */
        for (size_t s = 1; s < 3 && want + s < m->n; s++) {
            st_iter_next(it);
            assert_true(st_iter_valid(it));
            assert_memory_equal(st_iter_key(it).data, m->e[want + s].ikey.data, m->e[want + s].ikey.len);
        }
    }
    /* past the last key */
    st_buf_clear(&t);
    for (int i = 0; i < 26; i++) assert_int_equal(st_buf_append(&t, "\xff", 1), 0); /* user keys are <= 24 bytes */
    assert_int_equal(st_buf_append_fixed64(&t, 0), 0);
    st_iter_seek(it, st_buf_slice(&t));
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_buf_destroy(&t);
    check_backward(r, m, name);

    /* get: every version of every user key at snapshots around its seqs */
    st_buf val;
    st_buf_init(&val);
    for (size_t k = 0; k < m->nukeys; k++) {
        expect_get(r, m, k, ST_SEQ_MAX, &val);
        expect_get(r, m, k, UINT64_MAX, &val);
        expect_get(r, m, k, 0, &val);
        for (size_t i = m->first[k]; i < m->first[k + 1]; i++) {
            expect_get(r, m, k, m->e[i].seq, &val);
            expect_get(r, m, k, m->e[i].seq - 1, &val);
            expect_get(r, m, k, m->e[i].seq + 1, &val);
        }
    }
    /* absent keys: ST_ENOTFOUND, mostly answered by the bloom filter */
    st_sst_counters c0, c1;
    st_sst_reader_counters(r, &c0);
    size_t absent = 0;
    for (int q = 0; q < 10000; q++) {
        uint8_t k[12];
        for (size_t i = 0; i < sizeof k; i++) k[i] = (uint8_t)st_rng_next(&rng);
        st_slice u = st_slice_make(k, 1 + st_rng_below(&rng, sizeof k));
        if (model_has_ukey(m, u)) continue;
        int kind;
        assert_int_equal(st_sst_reader_get(r, u, ST_SEQ_MAX, &kind, &val), ST_ENOTFOUND);
        absent++;
    }
    st_sst_reader_counters(r, &c1);
    if (o->bloom_bits_per_key) {
        assert_int_equal(c1.bloom_checks - c0.bloom_checks, absent);
        assert_true(c1.bloom_useful - c0.bloom_useful > absent * 95 / 100);
        assert_true(c1.block_reads - c0.block_reads < absent * 5 / 100);
    } else {
        assert_int_equal(c1.bloom_checks, 0);
    }
    st_buf_destroy(&val);
    st_sst_reader_unref(r);
    st_sst_meta_destroy(&meta);
    free(path);
}

static void test_table_without_compression_round_trips(void **state) {
    st_sst_opts o = default_opts(ST_CODEC_NONE);
    check_table(*state, &o, "none.sst");
}

static void test_lz4_table_round_trips(void **state) {
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    check_table(*state, &o, "lz4.sst");
}

static void test_zstd_table_round_trips(void **state) {
    st_sst_opts o = default_opts(ST_CODEC_ZSTD);
    check_table(*state, &o, "zstd.sst");
}

static void test_tiny_blocks_restart_interval_1_and_no_filter_round_trip(void **state) {
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    o.block_bytes = 200;
    o.restart_interval = 1;
    o.bloom_bits_per_key = 0;
    check_table(*state, &o, "tiny.sst");
}

static void test_large_blocks_round_trip(void **state) {
    st_sst_opts o = default_opts(ST_CODEC_ZSTD);
    o.block_bytes = 64 << 10;
    o.restart_interval = 32;
    check_table(*state, &o, "large.sst");
}

static void test_compression_shrinks_the_file(void **state) {
    fixture *fx = *state;
    st_sst_meta mn, ml, mz;
    st_sst_meta_init(&mn);
    st_sst_meta_init(&ml);
    st_sst_meta_init(&mz);
    char *pn = st_test_path(fx->dir, "n.sst"), *pl = st_test_path(fx->dir, "l.sst");
    char *pz = st_test_path(fx->dir, "z.sst");
    st_sst_opts o = default_opts(ST_CODEC_NONE);
    build_table(pn, &o, &fx->m, fx->m.n, &mn);
    o.codec = ST_CODEC_LZ4;
    build_table(pl, &o, &fx->m, fx->m.n, &ml);
    o.codec = ST_CODEC_ZSTD;
    build_table(pz, &o, &fx->m, fx->m.n, &mz);
    printf("file sizes: none %llu, lz4 %llu, zstd %llu\n", (unsigned long long)mn.file_size,
           (unsigned long long)ml.file_size, (unsigned long long)mz.file_size);
    assert_true(ml.file_size < mn.file_size);
    assert_true(mz.file_size < ml.file_size);
    st_sst_meta_destroy(&mn);
    st_sst_meta_destroy(&ml);
    st_sst_meta_destroy(&mz);
    free(pn);
    free(pl);
    free(pz);
}

static void test_empty_table_opens_and_finds_nothing(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "empty.sst");
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    build_table(path, &o, &fx->m, 0, &meta);
    assert_int_equal(meta.entries, 0);
    assert_int_equal(meta.smallest.len, 0);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 1, &r), 0);
    assert_int_equal(st_sst_reader_props(r)->entries, 0);
    assert_int_equal(st_sst_reader_props(r)->data_blocks, 0);
    int status;
    assert_int_equal(scan_and_compare(r, &fx->m, &status), 0);
    assert_int_equal(status, 0);
    assert_int_equal(scan_backward(r, &fx->m, NULL, &status), 0);
    assert_int_equal(status, 0);
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    st_iter_seek_for_prev(it, fx->m.e[0].ikey);
    assert_false(st_iter_valid(it));
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_buf v;
    st_buf_init(&v);
    int kind;
    assert_int_equal(st_sst_reader_get(r, fx->m.ukeys[0], ST_SEQ_MAX, &kind, &v), ST_ENOTFOUND);
    assert_int_equal(st_sst_reader_verify(r), 0);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    st_sst_meta_destroy(&meta);
    free(path);
}

static void test_entries_larger_than_a_block_round_trip(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "big.sst");
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    st_sst_builder *b;
    assert_int_equal(st_sst_builder_new(f, &o, &b), 0);
    size_t big = 300000;
    uint8_t *val = malloc(big), *key = malloc(10000);
    assert_non_null(val);
    assert_non_null(key);
    for (size_t i = 0; i < big; i++) val[i] = (uint8_t)(i * 7 + i / 1000);
    memset(key, 'k', 10000);
    st_buf ik;
    st_buf_init(&ik);
    for (int i = 0; i < 5; i++) {
        st_buf_clear(&ik);
        key[9999] = (uint8_t)('a' + i);
        assert_int_equal(st_ikey_append(&ik, st_slice_make(key, 10000), 100 + (uint64_t)i, ST_KIND_PUT), 0);
        assert_int_equal(st_sst_builder_add(b, st_buf_slice(&ik), st_slice_make(val, big - (size_t)i)), 0);
    }
    assert_int_equal(st_sst_builder_finish(b, NULL), 0);
    st_sst_builder_free(b);
    st_file_close(f);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 2, &r), 0);
    st_buf v;
    st_buf_init(&v);
    for (int i = 0; i < 5; i++) {
        key[9999] = (uint8_t)('a' + i);
        int kind;
        assert_int_equal(st_sst_reader_get(r, st_slice_make(key, 10000), ST_SEQ_MAX, &kind, &v), 0);
        assert_int_equal(kind, ST_KIND_PUT);
        assert_int_equal(v.len, big - (size_t)i);
        assert_memory_equal(v.data, val, v.len);
    }
    assert_int_equal(st_sst_reader_verify(r), 0);
    st_buf_destroy(&v);
    st_buf_destroy(&ik);
    st_sst_reader_unref(r);
    free(val);
    free(key);
    free(path);
}

static void test_out_of_order_or_malformed_add_is_einval_and_harmless(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    char *path = st_test_path(fx->dir, "order.sst");
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_sst_opts o = default_opts(ST_CODEC_NONE);
    st_sst_builder *b;
    assert_int_equal(st_sst_builder_new(f, &o, &b), 0);
    assert_int_equal(st_sst_builder_add(b, m->e[1].ikey, m->e[1].value), 0);
    assert_int_equal(st_sst_builder_add(b, m->e[1].ikey, m->e[1].value), ST_EINVAL); /* duplicate */
    assert_int_equal(st_sst_builder_add(b, m->e[0].ikey, m->e[0].value), ST_EINVAL); /* backwards */
    assert_int_equal(st_sst_builder_add(b, st_slice_str("short"), st_slice_str("v")), ST_EINVAL);
    uint8_t badkind[9] = {'a', 0x07, 1, 0, 0, 0, 0, 0, 0}; /* kind 7 */
    assert_int_equal(st_sst_builder_add(b, st_slice_make(badkind, 9), st_slice_str("v")), ST_EINVAL);
    for (size_t i = 2; i < 100; i++) assert_int_equal(st_sst_builder_add(b, m->e[i].ikey, m->e[i].value), 0);
    assert_int_equal(st_sst_builder_finish(b, NULL), 0);
    assert_int_equal(st_sst_builder_add(b, m->e[200].ikey, m->e[200].value), ST_EINVAL); /* finished */
    st_sst_builder_free(b);
    st_file_close(f);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 3, &r), 0);
    assert_int_equal(st_sst_reader_props(r)->entries, 99);
    assert_int_equal(st_sst_reader_verify(r), 0);
    st_sst_reader_unref(r);
    free(path);
}

static void test_bad_options_and_nonempty_file_are_einval(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "opts.sst");
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_sst_builder *b = (st_sst_builder *)1;
    st_sst_opts o = default_opts(ST_CODEC_NONE);
    o.restart_interval = 0;
    assert_int_equal(st_sst_builder_new(f, &o, &b), ST_EINVAL);
    assert_null(b);
    o = default_opts((st_codec)5);
    assert_int_equal(st_sst_builder_new(f, &o, &b), ST_EINVAL);
    o = default_opts(ST_CODEC_NONE);
    o.block_bytes = 0;
    assert_int_equal(st_sst_builder_new(f, &o, &b), ST_EINVAL);
    assert_int_equal(st_file_append(f, "x", 1), 0);
    o = default_opts(ST_CODEC_NONE);
    assert_int_equal(st_sst_builder_new(f, &o, &b), ST_EINVAL);
    st_file_close(f);
    free(path);
}

static void test_write_failure_is_reported_and_sticky(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    char *path = st_test_path(fx->dir, "wfail.sst");
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_sst_opts o = default_opts(ST_CODEC_NONE);
    st_sst_builder *b;
    assert_int_equal(st_sst_builder_new(f, &o, &b), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 1, 28 /* ENOSPC */);
    int rc = 0;
    size_t i = 0;
    for (; i < m->n && rc == 0; i++) rc = st_sst_builder_add(b, m->e[i].ikey, m->e[i].value);
    if (rc == 0) rc = st_sst_builder_finish(b, NULL);
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    assert_int_equal(rc, ST_ENOSPC);
    assert_non_null(strstr(st_errmsg(), "wfail.sst"));
    assert_int_equal(st_sst_builder_add(b, m->e[m->n - 1].ikey, m->e[m->n - 1].value), ST_ENOSPC);
    assert_int_equal(st_sst_builder_finish(b, NULL), ST_ENOSPC);
    st_sst_builder_free(b);
    st_file_close(f);
    free(path);
}

/* ---- tests: sharing -------------------------------------------------------------------------- */

static void test_iterator_keeps_the_reader_alive(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "ref.sst");
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    build_table(path, &o, &fx->m, 1000, NULL);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 4, &r), 0);
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    st_sst_reader_ref(r);
    st_sst_reader_unref(r);
    st_sst_reader_unref(r); /* the iterator's reference remains */
    size_t n = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it)) n++;
    assert_int_equal(n, 1000);
    st_iter_free(it);
    st_sst_reader_unref(NULL);
    free(path);
}

/* For threads (no cmocka asserts there): true if get(e's user key, latest) returns e exactly, e
 * being the newest version of its key. */
static bool gets_newest(st_sst_reader *r, const ent *e, st_buf *v) {
    int kind = 0;
    int rc = st_sst_reader_get(r, e->ukey, ST_SEQ_MAX, &kind, v);
    return !rc && kind == e->kind && v->len == e->value.len && (!v->len || !memcmp(v->data, e->value.data, v->len));
}

typedef struct getter {
    st_sst_reader *r;
    const model *m;
    uint64_t seed;
    int failures;
} getter;

static void *getter_main(void *arg) {
    getter *g = arg;
    st_rng rng;
    st_rng_seed(&rng, g->seed);
    st_buf v;
    st_buf_init(&v);
    for (int q = 0; q < 2000; q++) {
        size_t k = st_rng_below(&rng, g->m->nukeys);
        g->failures += !gets_newest(g->r, &g->m->e[g->m->first[k]], &v);
    }
    st_buf_destroy(&v);
    return NULL;
}

static void test_concurrent_gets_on_one_reader(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "mt.sst");
    st_sst_opts o = default_opts(ST_CODEC_ZSTD);
    build_table(path, &o, &fx->m, fx->m.n, NULL);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 5, &r), 0);
    uint64_t seed = st_test_seed(__func__, 33);
    getter g[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (getter){r, &fx->m, seed + (uint64_t)i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, getter_main, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(g[i].failures, 0);
    }
    st_sst_counters c;
    st_sst_reader_counters(r, &c);
    assert_int_equal(c.bloom_checks, 8000);
    assert_true(c.block_reads >= 8000 - c.bloom_useful);
    st_sst_reader_unref(r);
    free(path);
}

/* ---- tests: bounded open files (table_cache.h) ------------------------------------------------ */

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

typedef struct tc_getter {
    st_sst_reader **r;
    const size_t *ulo; /* table t holds user keys [ulo[t], ulo[t + 1]) */
    int tables;
    const model *m;
    uint64_t seed;
    int failures;
} tc_getter;

static void *tc_getter_main(void *arg) {
    tc_getter *g = arg;
    st_rng rng;
    st_rng_seed(&rng, g->seed);
    st_buf v;
    st_buf_init(&v);
    for (int q = 0; q < 2000; q++) {
        int t = (int)st_rng_below(&rng, (uint64_t)g->tables);
        size_t k = g->ulo[t] + st_rng_below(&rng, g->ulo[t + 1] - g->ulo[t]);
        g->failures += !gets_newest(g->r[t], &g->m->e[g->m->first[k]], &v);
    }
    st_buf_destroy(&v);
    return NULL;
}

/* Six tables through a table cache of two descriptors: reads reopen evicted files and are all
 * right, at most two descriptors are open between reads (a few more only while concurrent reads
 * pin theirs), and a table whose file vanished while its descriptor was evicted fails its read
 * with an error naming the file, never a wrong answer. */
static void test_table_cache_bounds_open_descriptors(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    enum { T = 6, THREADS = 4 };
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    char *paths[T];
    size_t ulo[T + 1];
    for (int t = 0; t <= T; t++) ulo[t] = m->nukeys * (size_t)t / T;
    for (int t = 0; t < T; t++) {
        char name[32];
        snprintf(name, sizeof name, "tc%d.sst", t);
        paths[t] = st_test_path(fx->dir, name);
        size_t first = m->first[ulo[t]];
        build_table_range(paths[t], &o, m, first, m->first[ulo[t + 1]] - first, NULL);
    }
    st_table_cache *tc;
    assert_int_equal(st_table_cache_new(0, &tc), ST_EINVAL);
    assert_int_equal(st_table_cache_new(2, &tc), 0);
    int fds0 = count_fds();
    st_sst_reader *r[T];
    for (int t = 0; t < T; t++) {
        st_file *f;
        assert_int_equal(st_file_open(paths[t], ST_OPEN_READ, &f), 0);
        assert_int_equal(st_sst_reader_open_in(f, (uint64_t)t + 1, NULL, tc, &r[t]), 0);
        assert_true(st_table_cache_open_files(tc) <= 2);
    }
    assert_true(count_fds() <= fds0 + 2);

    st_buf val;
    st_buf_init(&val);
    for (int round = 0; round < 2; round++) {
        for (int t = 0; t < T; t++) {
            for (size_t k = ulo[t]; k < ulo[t + 1]; k += 97) expect_get(r[t], m, k, ST_SEQ_MAX, &val);
            assert_true(st_table_cache_open_files(tc) <= 2);
            assert_true(count_fds() <= fds0 + 2);
        }
    }
    /* an iterator reads block after block of one table while gets on the others evict it */
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r[0], &it), 0);
    size_t i = m->first[ulo[0]], end = m->first[ulo[1]];
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), i++) {
        assert_true(i < end);
        assert_int_equal(st_iter_value(it).len, m->e[i].value.len);
        if ((i & 255) == 0) {
            expect_get(r[1], m, ulo[1] + i % (ulo[2] - ulo[1]), ST_SEQ_MAX, &val);
            expect_get(r[2], m, ulo[2] + i % (ulo[3] - ulo[2]), ST_SEQ_MAX, &val);
        }
    }
    assert_int_equal(st_iter_status(it), 0);
    assert_int_equal(i, end);
    st_iter_free(it);

    tc_getter g[THREADS];
    pthread_t th[THREADS];
    uint64_t seed = st_test_seed(__func__, 41);
    for (int k = 0; k < THREADS; k++) {
        g[k] = (tc_getter){r, ulo, T, m, seed + (uint64_t)k, 0};
        assert_int_equal(pthread_create(&th[k], NULL, tc_getter_main, &g[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        assert_int_equal(g[k].failures, 0);
    }
    assert_true(st_table_cache_open_files(tc) <= 2);
    assert_true(count_fds() <= fds0 + 2);

    /* table 5's descriptor is evicted by reads of 0..3 (with two descriptors and a second chance
     * per hit, four reads of other tables leave it no way to stay), then its file goes */
    expect_get(r[5], m, ulo[5], ST_SEQ_MAX, &val);
    for (int t = 0; t < 4; t++) expect_get(r[t], m, ulo[t], ST_SEQ_MAX, &val);
    assert_int_equal(unlink(paths[5]), 0);
    int kind = 0;
    const ent *e = &m->e[m->first[ulo[5] + 1]];
    int rc = st_sst_reader_get(r[5], e->ukey, ST_SEQ_MAX, &kind, &val);
    assert_int_equal(rc, ST_EIO); /* never ST_ENOTFOUND: that would serve "no such key" */
    assert_non_null(strstr(st_errmsg(), paths[5]));

    st_buf_destroy(&val);
    for (int t = 0; t < T; t++) {
        st_sst_reader_unref(r[t]);
        free(paths[t]);
    }
    assert_int_equal(st_table_cache_open_files(tc), 0);
    st_table_cache_free(tc);
    assert_true(count_fds() <= fds0);
}

/* ---- tests: corruption ----------------------------------------------------------------------- */

static char *build_pristine(fixture *fx, st_codec codec, sst_layout *l) {
    char *path = st_test_path(fx->dir, "pristine.sst");
    st_sst_opts o = default_opts(codec);
    build_table(path, &o, &fx->m, fx->m.n, NULL);
    sst_get_layout(path, l);
    return path;
}

static void expect_open_corrupt(const char *path, const char *what) {
    st_sst_reader *r = (st_sst_reader *)1;
    int rc = open_reader(path, 9, &r);
    if (rc != ST_ECORRUPT) fail_msg("%s: open returned %d, expected ST_ECORRUPT", what, rc);
    assert_null(r);
    assert_non_null(strstr(st_errmsg(), "sst 9"));
}

/* Offsets worth damaging in a block: first, middle and last stored byte, codec byte, checksum. */
static void block_positions(st_block_handle h, uint64_t pos[5]) {
    pos[0] = h.off;
    pos[1] = h.off + h.size / 2;
    pos[2] = h.off + (h.size ? h.size - 1 : 0);
    pos[3] = h.off + h.size;
    pos[4] = h.off + h.size + 3;
}

static void test_damaged_meta_blocks_fail_open_with_ecorrupt(void **state) {
    fixture *fx = *state;
    static const st_codec codecs[] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};
    for (size_t c = 0; c < 3; c++) {
        sst_layout l;
        char *pristine = build_pristine(fx, codecs[c], &l);
        struct { const char *name; st_block_handle h; } blocks[] = {
            {"filter", l.filter}, {"properties", l.props}, {"index", l.index}, {"metaindex", l.meta},
        };
        for (size_t b = 0; b < 4; b++) {
            uint64_t pos[5];
            block_positions(blocks[b].h, pos);
            for (int i = 0; i < 5; i++) {
                char *copy = copy_file(fx->dir, pristine, "damaged.sst");
                assert_int_equal(st_test_flip_byte(copy, pos[i], 0x10), 0);
                expect_open_corrupt(copy, blocks[b].name);
                assert_non_null(strstr(st_errmsg(), blocks[b].name));
                free(copy);
            }
        }
        /* every byte of the footer */
        for (uint64_t off = l.footer_off; off < l.footer_off + ST_SST_FOOTER_BYTES; off++) {
            char *copy = copy_file(fx->dir, pristine, "damaged.sst");
            assert_int_equal(st_test_flip_byte(copy, off, 0x01), 0);
            expect_open_corrupt(copy, "footer");
            free(copy);
        }
        free(l.data);
        free(pristine);
    }
}

static void test_damaged_data_block_is_reported_never_served(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    static const st_codec codecs[] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};
    for (size_t c = 0; c < 3; c++) {
        sst_layout l;
        char *pristine = build_pristine(fx, codecs[c], &l);
        size_t j = l.ndata / 2, lo, hi;
        data_block_range(pristine, &l, j, m, &lo, &hi);
        uint64_t pos[5];
        block_positions(l.data[j], pos);
        for (int p = 0; p < 5; p++) {
            char *copy = copy_file(fx->dir, pristine, "damaged.sst");
            assert_int_equal(st_test_flip_byte(copy, pos[p], 0x20), 0);
            st_sst_reader *r;
            assert_int_equal(open_reader(copy, 10, &r), 0); /* data blocks are read lazily */

            /* iteration serves exactly the entries before block j, then stops with ST_ECORRUPT */
            int status;
            size_t served = scan_and_compare(r, m, &status);
            assert_int_equal(status, ST_ECORRUPT);
            assert_int_equal(served, lo);

            /* backward: exactly the entries after block j, then ST_ECORRUPT */
            assert_int_equal(scan_backward(r, m, NULL, &status), m->n - 1 - hi);
            assert_int_equal(status, ST_ECORRUPT);

            /* a seek or seek_for_prev into the block fails too; so does turning around into it */
            st_iter *it;
            assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
            st_iter_seek(it, m->e[lo].ikey);
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), ST_ECORRUPT);
            st_iter_seek_for_prev(it, m->e[hi].ikey);
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), ST_ECORRUPT);
            st_iter_seek(it, m->e[hi + 1].ikey);
            expect_ent(it, &m->e[hi + 1]);
            st_iter_prev(it);
            assert_false(st_iter_valid(it));
            assert_int_equal(st_iter_status(it), ST_ECORRUPT);
            if (lo > 0) {
                st_iter_seek_for_prev(it, m->e[lo - 1].ikey);
                expect_ent(it, &m->e[lo - 1]);
                st_iter_next(it);
                assert_false(st_iter_valid(it));
                assert_int_equal(st_iter_status(it), ST_ECORRUPT);
            }
            st_iter_free(it);

            /* get: keys whose lookup lands in block j fail; all others answer right */
            st_buf v;
            st_buf_init(&v);
            size_t bad = 0;
            for (size_t k = 0; k < m->nukeys; k++) {
                size_t i = m->first[k];
                int kind = 0;
                int rc = st_sst_reader_get(r, m->ukeys[k], ST_SEQ_MAX, &kind, &v);
                if (i >= lo && i <= hi) {
                    assert_int_equal(rc, ST_ECORRUPT);
                    char want[64];
                    snprintf(want, sizeof want, "offset %llu", (unsigned long long)l.data[j].off);
                    assert_non_null(strstr(st_errmsg(), want));
                    bad++;
                    continue;
                }
                if (rc == ST_ECORRUPT) { /* the newest version is just past block j's range */
                    bad++;
                    continue;
                }
                assert_int_equal(rc, 0);
                assert_int_equal(kind, m->e[i].kind);
                assert_int_equal(v.len, m->e[i].value.len);
                if (v.len) assert_memory_equal(v.data, m->e[i].value.data, v.len);
            }
            assert_true(bad > 0);
            assert_int_equal(st_sst_reader_verify(r), ST_ECORRUPT);
            st_buf_destroy(&v);
            st_sst_reader_unref(r);
            free(copy);
        }
        free(l.data);
        free(pristine);
    }
}

/* An iterator with readahead (windows smaller than a block, about one block, many blocks, the whole
 * file) serves exactly what one without serves, forward and backward, seeks included, with every
 * block counted as read once; and a damaged block is still ST_ECORRUPT at the same entry, never
 * served from the window, in either direction. */
static void test_readahead_iterates_the_same_and_still_checks_every_block(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *pristine = build_pristine(fx, ST_CODEC_LZ4, &l);
    static const size_t windows[] = {1, 4096, 3 * 4096 + 7, 64 * 1024, 1u << 20, 64u << 20};
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        st_sst_iter_opts o = st_sst_iter_opts_default();
        o.fill_cache = false;
        o.readahead_bytes = windows[w];
        st_sst_reader *r;
        assert_int_equal(open_reader(pristine, 10, &r), 0);
        st_sst_counters c0, c1;
        st_sst_reader_counters(r, &c0);
        int status;
        assert_int_equal(scan_from(r, m, 0, &o, &status), m->n);
        assert_int_equal(status, 0);
        st_sst_reader_counters(r, &c1);
        assert_int_equal(c1.block_reads - c0.block_reads, l.ndata);
        /* backward, the window ends at the block missed: still one read per block */
        assert_int_equal(scan_backward(r, m, &o, &status), m->n);
        assert_int_equal(status, 0);
        st_sst_reader_counters(r, &c0);
        assert_int_equal(c0.block_reads - c1.block_reads, l.ndata);
        /* seeks backwards and forwards, out of and into the window */
        st_iter *it;
        assert_int_equal(st_sst_reader_iter_new_opts(r, &o, &it), 0);
        size_t probes[] = {m->n - 1, 0, m->n / 2, m->n / 3, m->n - 1, 1};
        for (size_t q = 0; q < sizeof probes / sizeof probes[0]; q++) {
            st_iter_seek(it, m->e[probes[q]].ikey);
            assert_true(st_iter_valid(it));
            st_slice k = st_iter_key(it);
            assert_int_equal(k.len, m->e[probes[q]].ikey.len);
            assert_memory_equal(k.data, m->e[probes[q]].ikey.data, k.len);
        }
        assert_int_equal(st_iter_status(it), 0);
        st_iter_free(it);
        st_sst_reader_unref(r);
    }
    size_t j = l.ndata / 2, lo, hi;
    data_block_range(pristine, &l, j, m, &lo, &hi);
    char *copy = copy_file(fx->dir, pristine, "damaged-ra.sst");
    assert_int_equal(st_test_flip_byte(copy, l.data[j].off + l.data[j].size / 2, 0x20), 0);
    st_sst_reader *r;
    assert_int_equal(open_reader(copy, 11, &r), 0);
    st_sst_iter_opts o = st_sst_iter_opts_default();
    o.readahead_bytes = 1u << 20;
    int status;
    assert_int_equal(scan_from(r, m, 0, &o, &status), lo);
    assert_int_equal(status, ST_ECORRUPT);
    assert_int_equal(scan_backward(r, m, &o, &status), m->n - 1 - hi);
    assert_int_equal(status, ST_ECORRUPT);
    st_sst_reader_unref(r);
    free(copy);
    free(l.data);
    free(pristine);
}

static void test_block_moved_to_another_offset_fails_its_checksum(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *pristine = build_pristine(fx, ST_CODEC_NONE, &l);
    /* Two data blocks of the same size: swap them (trailers included). */
    size_t a = SIZE_MAX, b = SIZE_MAX;
    for (size_t i = 0; i < l.ndata && a == SIZE_MAX; i++)
        for (size_t j = i + 1; j < l.ndata; j++)
            if (l.data[i].size == l.data[j].size) {
                a = i;
                b = j;
                break;
            }
    assert_true(a != SIZE_MAX);
    char *file;
    size_t len;
    assert_int_equal(st_io_read_all(pristine, &file, &len), 0);
    size_t n = (size_t)l.data[a].size + ST_SST_TRAILER_BYTES;
    char *tmp = malloc(n);
    assert_non_null(tmp);
    memcpy(tmp, file + l.data[a].off, n);
    memcpy(file + l.data[a].off, file + l.data[b].off, n);
    memcpy(file + l.data[b].off, tmp, n);
    char *path = st_test_path(fx->dir, "swapped.sst");
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(file, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 11, &r), 0);
    size_t lo, hi;
    data_block_range(pristine, &l, a, m, &lo, &hi);
    st_buf v;
    st_buf_init(&v);
    int kind;
    assert_int_equal(st_sst_reader_get(r, m->e[lo].ukey, m->e[lo].seq, &kind, &v), ST_ECORRUPT);
    assert_non_null(strstr(st_errmsg(), "checksum mismatch"));
    assert_int_equal(st_sst_reader_verify(r), ST_ECORRUPT);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    free(tmp);
    free(file);
    free(path);
    free(l.data);
    free(pristine);
}

static void test_block_from_another_table_fails_its_checksum(void **state) {
    fixture *fx = *state;
    sst_layout la, lb;
    char *a = build_pristine(fx, ST_CODEC_LZ4, &la);
    char *b = st_test_path(fx->dir, "twin.sst");
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    build_table(b, &o, &fx->m, fx->m.n, NULL); /* same contents, another random base */
    sst_get_layout(b, &lb);
    assert_int_equal(la.data[0].size, lb.data[0].size);
    char *fa, *fb;
    size_t na, nb;
    assert_int_equal(st_io_read_all(a, &fa, &na), 0);
    assert_int_equal(st_io_read_all(b, &fb, &nb), 0);
    /* identical stored bytes, different trailers */
    assert_memory_equal(fa, fb, la.data[0].size);
    memcpy(fb, fa, (size_t)la.data[0].size + ST_SST_TRAILER_BYTES);
    FILE *fp = fopen(b, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(fb, 1, nb, fp), nb);
    assert_int_equal(fclose(fp), 0);
    st_sst_reader *r;
    assert_int_equal(open_reader(b, 12, &r), 0);
    st_buf v;
    st_buf_init(&v);
    int kind;
    assert_int_equal(st_sst_reader_get(r, fx->m.e[0].ukey, ST_SEQ_MAX, &kind, &v), ST_ECORRUPT);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    free(fa);
    free(fb);
    free(la.data);
    free(lb.data);
    free(a);
    free(b);
}

static void test_truncated_file_is_ecorrupt(void **state) {
    fixture *fx = *state;
    sst_layout l;
    char *pristine = build_pristine(fx, ST_CODEC_LZ4, &l);
    long long size = st_test_file_size(pristine);
    const long long cuts[] = {size - 1, size - 30, size - ST_SST_FOOTER_BYTES, size / 2, 100, 60, 1, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char *copy = copy_file(fx->dir, pristine, "truncated.sst");
        assert_int_equal(st_test_truncate(copy, (uint64_t)cuts[i]), 0);
        expect_open_corrupt(copy, "truncated");
        free(copy);
    }
    free(l.data);
    free(pristine);
}

static void test_non_sstable_file_is_ecorrupt_with_a_clear_message(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "notes.txt");
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 100; i++) fprintf(fp, "this is a line of text, not a table %d\n", i);
    assert_int_equal(fclose(fp), 0);
    expect_open_corrupt(path, "text file");
    assert_non_null(strstr(st_errmsg(), "not an sstable"));
    assert_non_null(strstr(st_errmsg(), "notes.txt"));

    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("tiny", fp);
    assert_int_equal(fclose(fp), 0);
    expect_open_corrupt(path, "tiny file");
    assert_non_null(strstr(st_errmsg(), "too short"));
    free(path);
}

static void test_verify_finds_a_flipped_data_byte(void **state) {
    fixture *fx = *state;
    sst_layout l;
    char *path = build_pristine(fx, ST_CODEC_ZSTD, &l);
    st_sst_reader *r;
    assert_int_equal(open_reader(path, 13, &r), 0);
    assert_int_equal(st_sst_reader_verify(r), 0);
    size_t j = l.ndata - 1;
    assert_int_equal(st_test_flip_byte(path, l.data[j].off + l.data[j].size / 3, 0x04), 0);
    assert_int_equal(st_sst_reader_verify(r), ST_ECORRUPT);
    char want[64];
    snprintf(want, sizeof want, "data block at offset %llu", (unsigned long long)l.data[j].off);
    assert_non_null(strstr(st_errmsg(), want));
    st_sst_reader_unref(r);
    free(l.data);
    free(path);
}

/* ---- tests: block cache ---------------------------------------------------------------------- */

#ifdef ST_DEBUG_INVARIANTS
#define CHECK_CACHE(c) st_block_cache_check_invariants(c)
#else
#define CHECK_CACHE(c) ((void)(c))
#endif

static st_block_cache *new_cache(size_t capacity, int shard_bits) {
    st_block_cache *c;
    assert_int_equal(st_block_cache_new(capacity, shard_bits, 0.5, &c), 0);
    return c;
}

static st_cache_stats cache_stats(st_block_cache *c) {
    st_cache_stats s;
    st_block_cache_stats(c, &s);
    return s;
}

static st_sst_counters counters(const st_sst_reader *r) {
    st_sst_counters c;
    st_sst_reader_counters(r, &c);
    return c;
}

/* get(ukey, snap) gives the same answer on a and b. */
static void expect_same_get(st_sst_reader *a, st_sst_reader *b, st_slice ukey, uint64_t snap, st_buf *va,
                            st_buf *vb) {
    int ka = -1, kb = -1;
    int ra = st_sst_reader_get(a, ukey, snap, &ka, va);
    int rb = st_sst_reader_get(b, ukey, snap, &kb, vb);
    assert_int_equal(ra, rb);
    if (ra) return;
    assert_int_equal(ka, kb);
    assert_int_equal(va->len, vb->len);
    if (va->len) assert_memory_equal(va->data, vb->data, va->len);
}

static void test_reads_through_a_cache_match_reads_without_one(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    static const st_codec codecs[] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};
    for (size_t ci = 0; ci < 3; ci++) {
        sst_layout l;
        char *path = build_pristine(fx, codecs[ci], &l);
        st_block_cache *cache = new_cache(64 << 20, -1);
        st_sst_reader *rc, *ru;
        assert_int_equal(open_reader_cached(path, 20, cache, &rc), 0);
        assert_int_equal(open_reader(path, 21, &ru), 0);

        /* first scan: each block read once and inserted */
        int status;
        assert_int_equal(scan_and_compare(rc, m, &status), m->n);
        assert_int_equal(status, 0);
        st_sst_counters c = counters(rc);
        assert_int_equal(c.block_reads, l.ndata);
        assert_int_equal(c.cache_misses, l.ndata);
        assert_int_equal(c.cache_hits, 0);
        st_cache_stats s = cache_stats(cache);
        assert_int_equal(s.inserts, l.ndata);
        assert_int_equal(s.entries, l.ndata);
        assert_int_equal(s.pinned_bytes, 0);
        assert_int_equal(s.evictions, 0);
        uint64_t stored = 0;
        for (size_t j = 0; j < l.ndata; j++) stored += l.data[j].size;
        assert_true(s.usage_bytes >= stored + l.ndata * ST_BLOCK_CACHE_ENTRY_OVERHEAD);

        /* second scan, then gets at two snapshots per user key: all served by the cache */
        assert_int_equal(scan_and_compare(rc, m, &status), m->n);
        assert_int_equal(status, 0);
        assert_int_equal(counters(rc).cache_hits, l.ndata);
        st_buf va, vb;
        st_buf_init(&va);
        st_buf_init(&vb);
        for (size_t k = 0; k < m->nukeys; k++) {
            expect_get(rc, m, k, ST_SEQ_MAX, &va);
            expect_same_get(rc, ru, m->ukeys[k], ST_SEQ_MAX, &va, &vb);
            expect_same_get(rc, ru, m->ukeys[k], m->e[m->first[k]].seq - 1, &va, &vb);
        }
        c = counters(rc);
        assert_int_equal(c.block_reads, l.ndata); /* nothing more read from the file */
        assert_int_equal(c.cache_misses, l.ndata);
        assert_true(c.cache_hits > l.ndata + m->nukeys);
        s = cache_stats(cache);
        assert_int_equal(s.inserts, l.ndata);
        assert_int_equal(s.entries, l.ndata);
        assert_int_equal(s.pinned_bytes, 0);
        assert_int_equal(s.hits, c.cache_hits);
        assert_int_equal(s.misses, c.cache_misses);

        /* verify re-reads the file */
        assert_int_equal(st_sst_reader_verify(rc), 0);
        assert_int_equal(counters(rc).block_reads, 2 * l.ndata);
        CHECK_CACHE(cache);
        st_buf_destroy(&va);
        st_buf_destroy(&vb);
        st_sst_reader_unref(rc);
        st_sst_reader_unref(ru);
        st_block_cache_free(cache);
        free(l.data);
        free(path);
    }
}

static void test_second_read_of_a_block_is_a_cache_hit(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *path = build_pristine(fx, ST_CODEC_LZ4, &l);
    st_block_cache *cache = new_cache(1 << 20, 0);
    st_sst_reader *r;
    assert_int_equal(open_reader_cached(path, 22, cache, &r), 0);
    size_t k = m->nukeys / 2;
    const ent *e = &m->e[m->first[k]];
    st_buf v;
    st_buf_init(&v);
    expect_get(r, m, k, ST_SEQ_MAX, &v);
    st_sst_counters c = counters(r);
    assert_int_equal(c.block_reads, 1);
    assert_int_equal(c.cache_misses, 1);
    assert_int_equal(c.cache_hits, 0);
    st_cache_stats s = cache_stats(cache);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.entries, 1);

    expect_get(r, m, k, ST_SEQ_MAX, &v);
    c = counters(r);
    assert_int_equal(c.block_reads, 1);
    assert_int_equal(c.cache_hits, 1);
    s = cache_stats(cache);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.entries, 1);

    /* an iterator landing in the same block hits too */
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    st_iter_seek(it, e->ikey);
    assert_true(st_iter_valid(it));
    assert_memory_equal(st_iter_key(it).data, e->ikey.data, e->ikey.len);
    assert_true(cache_stats(cache).pinned_bytes > 0); /* the iterator pins its block */
    st_iter_free(it);
    c = counters(r);
    assert_int_equal(c.block_reads, 1);
    assert_int_equal(c.cache_hits, 2);
    assert_int_equal(cache_stats(cache).pinned_bytes, 0);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    free(l.data);
    free(path);
}

static void test_corrupt_block_with_a_cold_cache_is_ecorrupt_and_never_cached(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    static const st_codec codecs[] = {ST_CODEC_NONE, ST_CODEC_LZ4, ST_CODEC_ZSTD};
    for (size_t ci = 0; ci < 3; ci++) {
        sst_layout l;
        char *pristine = build_pristine(fx, codecs[ci], &l);
        size_t j = l.ndata / 2, lo, hi;
        data_block_range(pristine, &l, j, m, &lo, &hi);
        char want[64];
        snprintf(want, sizeof want, "data block at offset %llu", (unsigned long long)l.data[j].off);
        uint64_t pos[5];
        block_positions(l.data[j], pos);
        for (int p = 0; p < 5; p++) {
            char *copy = copy_file(fx->dir, pristine, "damaged.sst");
            assert_int_equal(st_test_flip_byte(copy, pos[p], 0x20), 0);
            st_block_cache *cache = new_cache(64 << 20, -1);
            st_sst_reader *r;
            assert_int_equal(open_reader_cached(copy, 23, cache, &r), 0);
            int status;
            assert_int_equal(scan_and_compare(r, m, &status), lo);
            assert_int_equal(status, ST_ECORRUPT);
            assert_non_null(strstr(st_errmsg(), want));
            st_cache_stats s = cache_stats(cache);
            assert_int_equal(s.inserts, j); /* the blocks before j, never j */
            assert_int_equal(s.entries, j);
            st_buf v;
            st_buf_init(&v);
            for (int again = 0; again < 2; again++) { /* still read (and rejected) every time */
                uint64_t reads = counters(r).block_reads;
                int kind;
                assert_int_equal(st_sst_reader_get(r, m->e[lo].ukey, m->e[lo].seq, &kind, &v), ST_ECORRUPT);
                assert_non_null(strstr(st_errmsg(), want));
                assert_int_equal(counters(r).block_reads, reads + 1);
            }
            s = cache_stats(cache);
            assert_int_equal(s.inserts, j);
            assert_int_equal(s.pinned_bytes, 0);
            assert_int_equal(st_sst_reader_verify(r), ST_ECORRUPT);
            st_buf_destroy(&v);
            st_sst_reader_unref(r);
            st_block_cache_free(cache);
            free(copy);
        }
        free(l.data);
        free(pristine);
    }
}

static void test_verify_reads_the_file_even_with_a_warm_cache(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *path = build_pristine(fx, ST_CODEC_ZSTD, &l);
    st_block_cache *cache = new_cache(64 << 20, -1);
    st_sst_reader *r;
    assert_int_equal(open_reader_cached(path, 24, cache, &r), 0);
    int status;
    assert_int_equal(scan_and_compare(r, m, &status), m->n);
    size_t j = l.ndata - 1;
    assert_int_equal(st_test_flip_byte(path, l.data[j].off + l.data[j].size / 3, 0x04), 0);
    /* reads keep using the copies verified when they were read... */
    assert_int_equal(scan_and_compare(r, m, &status), m->n);
    assert_int_equal(status, 0);
    /* ...and verify, which never uses the cache, finds the damage */
    assert_int_equal(st_sst_reader_verify(r), ST_ECORRUPT);
    char want[64];
    snprintf(want, sizeof want, "data block at offset %llu", (unsigned long long)l.data[j].off);
    assert_non_null(strstr(st_errmsg(), want));
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    free(l.data);
    free(path);
}

static void test_fill_cache_false_scan_leaves_the_cache_untouched(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *path = build_pristine(fx, ST_CODEC_LZ4, &l);
    st_block_cache *cache = new_cache(64 << 20, -1);
    st_sst_reader *r;
    assert_int_equal(open_reader_cached(path, 25, cache, &r), 0);
    st_sst_iter_opts o = st_sst_iter_opts_default();
    assert_true(o.fill_cache);
    o.fill_cache = false;
    int status;
    assert_int_equal(scan_from(r, m, 0, &o, &status), m->n);
    assert_int_equal(status, 0);
    st_cache_stats s = cache_stats(cache);
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.inserts, 0);
    assert_int_equal(s.usage_bytes, 0);
    assert_int_equal(s.misses, l.ndata); /* it did look */
    assert_int_equal(counters(r).block_reads, l.ndata);

    /* a block a get brought in is used by such a scan, and nothing else is added */
    st_buf v;
    st_buf_init(&v);
    expect_get(r, m, 0, ST_SEQ_MAX, &v);
    assert_int_equal(cache_stats(cache).entries, 1);
    assert_int_equal(scan_from(r, m, 0, &o, &status), m->n);
    assert_int_equal(status, 0);
    s = cache_stats(cache);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.inserts, 1);
    assert_int_equal(s.hits, 1);
    assert_int_equal(counters(r).block_reads, 2 * l.ndata);

    /* the default iterator fills it */
    assert_int_equal(scan_from(r, m, 0, NULL, &status), m->n);
    s = cache_stats(cache);
    assert_int_equal(s.entries, l.ndata);
    assert_int_equal(s.pinned_bytes, 0);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    free(l.data);
    free(path);
}

/* A zero-capacity cache keeps only pinned blocks: the one an iterator is in, the one a get is
 * reading. Everything still reads right and nothing stays behind. */
static void test_iterator_pins_only_its_current_block(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    sst_layout l;
    char *path = build_pristine(fx, ST_CODEC_LZ4, &l);
    st_block_cache *cache = new_cache(0, 0);
    st_sst_reader *r;
    assert_int_equal(open_reader_cached(path, 26, cache, &r), 0);
    st_iter *it;
    assert_int_equal(st_sst_reader_iter_new(r, &it), 0);
    size_t n = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it), n++) {
        assert_true(n < m->n);
        assert_memory_equal(st_iter_key(it).data, m->e[n].ikey.data, m->e[n].ikey.len);
        if (n % 97 == 0) {
            st_cache_stats s = cache_stats(cache);
            assert_int_equal(s.entries, 1);
            assert_true(s.pinned_bytes > 0);
            assert_int_equal(s.pinned_bytes, s.usage_bytes);
        }
    }
    assert_int_equal(n, m->n);
    assert_int_equal(st_iter_status(it), 0);
    st_cache_stats s = cache_stats(cache); /* the exhausted iterator let go of its last block */
    assert_int_equal(s.entries, 0);
    assert_int_equal(s.usage_bytes, 0);
    assert_int_equal(s.inserts, l.ndata);
    assert_int_equal(s.evictions, l.ndata);

    /* destroying a positioned iterator releases its pin */
    st_iter_seek(it, m->e[m->n / 2].ikey);
    assert_true(st_iter_valid(it));
    assert_true(cache_stats(cache).pinned_bytes > 0);
    st_iter_free(it);
    assert_int_equal(cache_stats(cache).usage_bytes, 0);

    st_buf v;
    st_buf_init(&v);
    for (size_t k = 0; k < m->nukeys; k += 7) expect_get(r, m, k, ST_SEQ_MAX, &v);
    s = cache_stats(cache);
    assert_int_equal(s.usage_bytes, 0);
    assert_int_equal(s.hits, 0);
    CHECK_CACHE(cache);
    st_buf_destroy(&v);
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    free(l.data);
    free(path);
}

/* Two tables with blocks at the same offsets, even under one file number, share a cache without
 * seeing each other's blocks; so does a table reopened after its file was rewritten. */
static void test_readers_sharing_a_cache_never_alias(void **state) {
    fixture *fx = *state;
    const model *m = &fx->m;
    size_t half = m->n / 2;
    char *pa = st_test_path(fx->dir, "a.sst"), *pb = st_test_path(fx->dir, "b.sst");
    st_sst_opts o = default_opts(ST_CODEC_LZ4);
    build_table_range(pa, &o, m, 0, half, NULL);
    build_table_range(pb, &o, m, half, m->n - half, NULL);
    st_block_cache *cache = new_cache(64 << 20, -1);
    st_sst_reader *ra, *rb;
    assert_int_equal(open_reader_cached(pa, 1, cache, &ra), 0);
    assert_int_equal(open_reader_cached(pb, 1, cache, &rb), 0);
    int status;
    for (int pass = 0; pass < 2; pass++) { /* the second pass is served from the cache */
        assert_int_equal(scan_from(ra, m, 0, NULL, &status), half);
        assert_int_equal(status, 0);
        assert_int_equal(scan_from(rb, m, half, NULL, &status), m->n - half);
        assert_int_equal(status, 0);
    }
    assert_true(counters(ra).cache_hits > 0 && counters(rb).cache_hits > 0);

    /* a.sst rewritten with b's contents and reopened under the same number */
    st_sst_reader_unref(ra);
    free(copy_file(fx->dir, pb, "a.sst"));
    assert_int_equal(open_reader_cached(pa, 1, cache, &ra), 0);
    assert_int_equal(scan_from(ra, m, half, NULL, &status), m->n - half);
    assert_int_equal(status, 0);
    assert_int_equal(counters(ra).cache_hits, 0);
    st_sst_reader_unref(ra);
    st_sst_reader_unref(rb);
    st_block_cache_free(cache);
    free(pa);
    free(pb);
}

static void test_concurrent_gets_through_a_small_cache(void **state) {
    fixture *fx = *state;
    char *path = st_test_path(fx->dir, "mtc.sst");
    st_sst_opts o = default_opts(ST_CODEC_ZSTD);
    build_table(path, &o, &fx->m, fx->m.n, NULL);
    st_block_cache *cache = new_cache(256 << 10, 2); /* a fraction of the table's blocks */
    st_sst_reader *r;
    assert_int_equal(open_reader_cached(path, 27, cache, &r), 0);
    uint64_t seed = st_test_seed(__func__, 34);
    getter g[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (getter){r, &fx->m, seed + (uint64_t)i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, getter_main, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(g[i].failures, 0);
    }
    st_sst_counters c = counters(r);
    assert_int_equal(c.bloom_useful, 0); /* present keys only */
    assert_int_equal(c.cache_hits + c.cache_misses, 8000);
    assert_int_equal(c.block_reads, c.cache_misses);
    st_cache_stats s = cache_stats(cache);
    assert_true(s.hits > 0 && s.evictions > 0);
    assert_int_equal(s.pinned_bytes, 0);
    assert_true(s.usage_bytes <= s.capacity_bytes + 3);
    CHECK_CACHE(cache);
    st_sst_reader_unref(r);
    st_block_cache_free(cache);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_without_compression_round_trips),
        cmocka_unit_test(test_lz4_table_round_trips),
        cmocka_unit_test(test_zstd_table_round_trips),
        cmocka_unit_test(test_tiny_blocks_restart_interval_1_and_no_filter_round_trip),
        cmocka_unit_test(test_large_blocks_round_trip),
        cmocka_unit_test(test_compression_shrinks_the_file),
        cmocka_unit_test(test_empty_table_opens_and_finds_nothing),
        cmocka_unit_test(test_entries_larger_than_a_block_round_trip),
        cmocka_unit_test(test_out_of_order_or_malformed_add_is_einval_and_harmless),
        cmocka_unit_test(test_bad_options_and_nonempty_file_are_einval),
        cmocka_unit_test(test_write_failure_is_reported_and_sticky),
        cmocka_unit_test(test_iterator_keeps_the_reader_alive),
        cmocka_unit_test(test_concurrent_gets_on_one_reader),
        cmocka_unit_test(test_damaged_meta_blocks_fail_open_with_ecorrupt),
        cmocka_unit_test(test_damaged_data_block_is_reported_never_served),
        cmocka_unit_test(test_readahead_iterates_the_same_and_still_checks_every_block),
        cmocka_unit_test(test_block_moved_to_another_offset_fails_its_checksum),
        cmocka_unit_test(test_block_from_another_table_fails_its_checksum),
        cmocka_unit_test(test_truncated_file_is_ecorrupt),
        cmocka_unit_test(test_non_sstable_file_is_ecorrupt_with_a_clear_message),
        cmocka_unit_test(test_verify_finds_a_flipped_data_byte),
        cmocka_unit_test(test_reads_through_a_cache_match_reads_without_one),
        cmocka_unit_test(test_second_read_of_a_block_is_a_cache_hit),
        cmocka_unit_test(test_corrupt_block_with_a_cold_cache_is_ecorrupt_and_never_cached),
        cmocka_unit_test(test_verify_reads_the_file_even_with_a_warm_cache),
        cmocka_unit_test(test_fill_cache_false_scan_leaves_the_cache_untouched),
        cmocka_unit_test(test_iterator_pins_only_its_current_block),
        cmocka_unit_test(test_readers_sharing_a_cache_never_alias),
        cmocka_unit_test(test_concurrent_gets_through_a_small_cache),
        cmocka_unit_test(test_table_cache_bounds_open_descriptors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
