/* test_manifest.c -- version edits (encoding, decoding untrusted bytes), versions (apply, L0
 * order, contradictions), and the version set: MANIFEST + CURRENT written, recovered, damaged,
 * and failing mid-write (M1-M3 in manifest.h).
 * Tables named by a MANIFEST are real files written with st_sst_builder, so recovery opens them.
 * Every test runs in its own temporary directory; every loop is bounded. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "io/io.h"
#include "table/sstable_builder.h"
#include "util/coding.h"
#include "util/err.h"
#include "util/ikey.h"
#include "version/filename.h"
#include "version/manifest.h"
#include "version/version.h"
#include "version/version_edit.h"

#define MAX_VSETS 4

typedef struct fx {
    char *dir;
    st_vset *vs[MAX_VSETS]; /* closed by teardown, so a failed assertion leaks nothing */
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    if (!(x->dir = st_test_tmpdir("manifest"))) {
        free(x);
        return -1;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    st_io_fault_arm(ST_FAULT_SYNC, 0, 0);
    st_io_fault_arm(ST_FAULT_RENAME, 0, 0);
    for (int i = 0; i < MAX_VSETS; i++) st_vset_close(x->vs[i]);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void assert_errmsg_has(const char *needle) {
    if (!strstr(st_errmsg(), needle)) fail_msg("st_errmsg() = \"%s\" lacks \"%s\"", st_errmsg(), needle);
}

static void set_ikey(st_buf *b, const char *ukey, uint64_t seq) {
    st_buf_clear(b);
    assert_int_equal(st_ikey_append(b, st_slice_str(ukey), seq, ST_KIND_PUT), 0);
}

/* A metadata record with made-up fields (no file behind it). */
static st_file_meta *fake_meta(int level, uint64_t number, uint64_t min_seq, uint64_t max_seq, const char *smallest,
                               const char *largest) {
    st_file_meta *f;
    assert_int_equal(st_file_meta_new(&f), 0);
    f->level = level;
    f->number = number;
    f->size = 1000 + number;
    f->entries = 10 * number;
    f->min_seq = min_seq;
    f->max_seq = max_seq;
    f->checksum = 0x0123456789abcdefull ^ number;
    f->ctime = 1700000000 + number;
    f->codec = ST_CODEC_ZSTD;
    f->tier = 0;
    set_ikey(&f->smallest, smallest, max_seq);
    set_ikey(&f->largest, largest, min_seq);
    return f;
}

static void value_of(char *out, size_t cap, const char *prefix, int i) { snprintf(out, cap, "value-%s-%d", prefix, i); }

/* Writes table `number` into dir: n PUTs "<prefix>NNNN" -> value_of(prefix, i) at seqs seq0+i.
 * Returns its metadata at `level` (refcount 1, no reader). */
static st_file_meta *make_table(const char *dir, uint64_t number, int level, const char *prefix, int n, uint64_t seq0) {
    char path[ST_PATH_MAX], key[64], val[64];
    st_fn_table(path, dir, number);
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL, &f), 0);
    st_sst_opts o = {.block_bytes = 4096, .restart_interval = 16, .bloom_bits_per_key = 10,
                     .codec = ST_CODEC_NONE, .zstd_level = 3};
    st_sst_builder *b;
    assert_int_equal(st_sst_builder_new(f, &o, &b), 0);
    st_buf ik;
    st_buf_init(&ik);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s%04d", prefix, i);
        value_of(val, sizeof val, prefix, i);
        set_ikey(&ik, key, seq0 + (uint64_t)i);
        assert_int_equal(st_sst_builder_add(b, st_buf_slice(&ik), st_slice_str(val)), 0);
    }
    st_buf_destroy(&ik);
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    assert_int_equal(st_sst_builder_finish(b, &meta), 0);
    assert_int_equal(st_file_sync(f), 0);
    st_sst_builder_free(b);
    assert_int_equal(st_file_close(f), 0);

    st_file_meta *fm;
    assert_int_equal(st_file_meta_new(&fm), 0);
    fm->level = level;
    fm->number = number;
    fm->size = meta.file_size;
    fm->entries = meta.entries;
    fm->min_seq = meta.min_seq;
    fm->max_seq = meta.max_seq;
    fm->checksum = meta.file_checksum;
    fm->ctime = 1700000000;
    fm->codec = ST_CODEC_NONE;
    assert_int_equal(st_buf_append(&fm->smallest, meta.smallest.data, meta.smallest.len), 0);
    assert_int_equal(st_buf_append(&fm->largest, meta.largest.data, meta.largest.len), 0);
    st_sst_meta_destroy(&meta);
    assert_int_equal(st_test_file_size(path), (long long)fm->size);
    return fm;
}

static void assert_buf_equal(const st_buf *a, const st_buf *b) {
    assert_int_equal(a->len, b->len);
    if (a->len) assert_memory_equal(a->data, b->data, a->len);
}

static void assert_meta_equal(const st_file_meta *a, const st_file_meta *b) {
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->number, b->number);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->entries, b->entries);
    assert_int_equal(a->min_seq, b->min_seq);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_int_equal(a->checksum, b->checksum);
    assert_int_equal(a->ctime, b->ctime);
    assert_int_equal(a->codec, b->codec);
    assert_int_equal(a->tier, b->tier);
    assert_buf_equal(&a->smallest, &b->smallest);
    assert_buf_equal(&a->largest, &b->largest);
}

static void assert_edit_equal(const st_version_edit *a, const st_version_edit *b) {
    assert_int_equal(a->has_log_number, b->has_log_number);
    assert_int_equal(a->has_next_file, b->has_next_file);
    assert_int_equal(a->has_last_seq, b->has_last_seq);
    if (a->has_log_number) assert_int_equal(a->log_number, b->log_number);
    if (a->has_next_file) assert_int_equal(a->next_file, b->next_file);
    if (a->has_last_seq) assert_int_equal(a->last_seq, b->last_seq);
    assert_int_equal(a->n_deleted, b->n_deleted);
    for (size_t i = 0; i < a->n_deleted; i++) {
        assert_int_equal(a->deleted[i].level, b->deleted[i].level);
        assert_int_equal(a->deleted[i].number, b->deleted[i].number);
    }
    assert_int_equal(a->n_added, b->n_added);
    for (size_t i = 0; i < a->n_added; i++) assert_meta_equal(a->added[i], b->added[i]);
}

/* The files of version v at level l, as numbers in version order. */
static size_t level_numbers(const st_version *v, int l, uint64_t *out, size_t cap) {
    assert_true(v->n_files[l] <= cap);
    for (size_t j = 0; j < v->n_files[l]; j++) out[j] = v->files[l][j]->number;
    return v->n_files[l];
}

static void assert_versions_equal(const st_version *a, const st_version *b) {
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        assert_int_equal(a->n_files[l], b->n_files[l]);
        for (size_t j = 0; j < a->n_files[l]; j++) assert_meta_equal(a->files[l][j], b->files[l][j]);
    }
}

/* An edit exercising every field: counters, deletions at several levels, three added files. */
static void full_edit(st_version_edit *e) {
    st_edit_init(e);
    e->has_log_number = true;
    e->log_number = 12;
    e->has_next_file = true;
    e->next_file = (UINT64_C(1) << 40) + 3; /* a multi-byte varint */
    e->has_last_seq = true;
    e->last_seq = ST_SEQ_MAX;
    assert_int_equal(st_edit_delete_file(e, 0, 4), 0);
    assert_int_equal(st_edit_delete_file(e, 3, 300), 0);
    assert_int_equal(st_edit_delete_file(e, ST_MAX_LEVELS - 1, UINT64_MAX), 0);
    const int levels[3] = {0, 1, 6};
    for (int i = 0; i < 3; i++) {
        st_file_meta *f = fake_meta(levels[i], 20 + (uint64_t)i, 100 * (uint64_t)i + 1, 100 * (uint64_t)i + 50,
                                    "a", "zz");
        f->tier = i;
        f->codec = i == 0 ? ST_CODEC_NONE : ST_CODEC_LZ4;
        /* binary keys: a NUL and a 0xff in the user key */
        st_buf_clear(&f->smallest);
        const uint8_t bin[3] = {0x00, 0xff, (uint8_t)i};
        assert_int_equal(st_ikey_append(&f->smallest, st_slice_make(bin, 3), f->max_seq, ST_KIND_DEL), 0);
        assert_int_equal(st_edit_add_file(e, f), 0);
        st_file_meta_unref(f);
    }
}

/* ---- version edit encoding ------------------------------------------------------------------ */

static void test_edit_roundtrip_preserves_every_field(void **state) {
    (void)state;
    st_version_edit e, d;
    full_edit(&e);
    st_buf enc, enc2;
    st_buf_init(&enc);
    st_buf_init(&enc2);
    assert_int_equal(st_edit_encode(&e, &enc), 0);
    st_edit_init(&d);
    assert_int_equal(st_edit_decode(st_buf_slice(&enc), &d), 0);
    assert_edit_equal(&e, &d);
    /* decode . encode is the identity on bytes too */
    assert_int_equal(st_edit_encode(&d, &enc2), 0);
    assert_buf_equal(&enc, &enc2);
    st_buf_destroy(&enc);
    st_buf_destroy(&enc2);
    st_edit_destroy(&e);
    st_edit_destroy(&d);
}

static void test_edit_empty_roundtrip(void **state) {
    (void)state;
    st_version_edit e, d;
    st_edit_init(&e);
    st_buf enc;
    st_buf_init(&enc);
    assert_int_equal(st_edit_encode(&e, &enc), 0);
    assert_int_equal(enc.len, 0);
    st_edit_init(&d);
    assert_int_equal(st_edit_decode(st_buf_slice(&enc), &d), 0);
    assert_edit_equal(&e, &d);
    st_buf_destroy(&enc);
}

/* A record has no length of its own (the log framing and its checksum bound it), so a prefix that
 * ends exactly between two fields is a well-formed shorter edit. Every other prefix cuts a field
 * and must be ST_ECORRUPT; no prefix may crash or decode to anything but its own bytes. */
static void test_edit_every_truncation_is_corrupt_or_a_field_prefix(void **state) {
    (void)state;
    st_version_edit e;
    full_edit(&e);
    st_buf enc;
    st_buf_init(&enc);
    assert_int_equal(st_edit_encode(&e, &enc), 0);
    const size_t fields = 3 + e.n_deleted + e.n_added;
    size_t clean = 0;
    for (size_t len = 0; len < enc.len; len++) {
        st_version_edit d;
        st_edit_init(&d);
        int rc = st_edit_decode(st_slice_make(enc.data, len), &d);
        if (rc == 0) {
            st_buf re;
            st_buf_init(&re);
            assert_int_equal(st_edit_encode(&d, &re), 0);
            assert_int_equal(re.len, len);
            if (len) assert_memory_equal(re.data, enc.data, len);
            st_buf_destroy(&re);
            clean++;
        } else if (rc != ST_ECORRUPT) {
            fail_msg("prefix of %zu bytes: %s", len, st_strerror(rc));
        }
        st_edit_destroy(&d);
    }
    /* the empty prefix plus one per field boundary before the end */
    assert_int_equal(clean, fields);
    st_buf_destroy(&enc);
    st_edit_destroy(&e);
}

static void expect_decode_corrupt(const uint8_t *p, size_t n, const char *why) {
    st_version_edit d;
    st_edit_init(&d);
    int rc = st_edit_decode(st_slice_make(p, n), &d);
    if (rc != ST_ECORRUPT) fail_msg("%s: decode returned %s, expected ST_ECORRUPT", why, st_strerror(rc));
    st_edit_destroy(&d); /* d may hold what came before the damage */
}

static void test_edit_unknown_tag_is_corrupt(void **state) {
    (void)state;
    st_version_edit e;
    full_edit(&e);
    st_buf enc;
    st_buf_init(&enc);
    assert_int_equal(st_edit_encode(&e, &enc), 0);
    const uint64_t bad_tags[] = {0, 6, 127, 128, 1u << 20, UINT64_MAX};
    for (size_t i = 0; i < sizeof bad_tags / sizeof bad_tags[0]; i++) {
        /* after valid fields, and alone */
        st_buf b;
        st_buf_init(&b);
        assert_int_equal(st_buf_append(&b, enc.data, enc.len), 0);
        assert_int_equal(st_buf_append_varint64(&b, bad_tags[i]), 0);
        assert_int_equal(st_buf_append_varint64(&b, 1), 0);
        expect_decode_corrupt(b.data, b.len, "unknown tag after valid fields");
        expect_decode_corrupt(b.data + enc.len, b.len - enc.len, "unknown tag alone");
        st_buf_destroy(&b);
    }
    st_buf_destroy(&enc);
    st_edit_destroy(&e);
}

static void test_edit_malformed_fields_are_corrupt(void **state) {
    (void)state;
    /* an 11-byte varint tag */
    uint8_t overlong[11];
    memset(overlong, 0xff, sizeof overlong);
    expect_decode_corrupt(overlong, sizeof overlong, "overlong varint");

    /* deleted file at level 64 (beyond anything on disk) */
    st_buf b;
    st_buf_init(&b);
    assert_int_equal(st_buf_append_varint64(&b, 4), 0);
    assert_int_equal(st_buf_append_varint64(&b, 64), 0);
    assert_int_equal(st_buf_append_varint64(&b, 9), 0);
    expect_decode_corrupt(b.data, b.len, "deleted file at level 64");

    /* new file whose smallest key is shorter than an internal key tag */
    st_version_edit e;
    st_edit_init(&e);
    st_file_meta *f = fake_meta(0, 5, 1, 2, "a", "b");
    st_buf_clear(&f->smallest);
    assert_int_equal(st_buf_append(&f->smallest, "short", 5), 0);
    assert_int_equal(st_edit_add_file(&e, f), 0);
    st_file_meta_unref(f);
    st_buf_clear(&b);
    assert_int_equal(st_edit_encode(&e, &b), 0);
    expect_decode_corrupt(b.data, b.len, "smallest key of 5 bytes");
    st_edit_destroy(&e);

    /* new file at level 64 */
    st_edit_init(&e);
    f = fake_meta(64, 5, 1, 2, "a", "b");
    assert_int_equal(st_edit_add_file(&e, f), 0);
    st_file_meta_unref(f);
    st_buf_clear(&b);
    assert_int_equal(st_edit_encode(&e, &b), 0);
    expect_decode_corrupt(b.data, b.len, "new file at level 64");
    st_edit_destroy(&e);
    st_buf_destroy(&b);
}

/* Random bytes (and random damage to a real record) never crash the decoder; whatever decodes
 * re-encodes to bytes that decode to the same edit. */
static void test_edit_decode_of_random_bytes_never_crashes(void **state) {
    (void)state;
    st_rng r;
    st_rng_seed(&r, st_test_seed("test_edit_decode_of_random_bytes_never_crashes", 20240611));
    st_version_edit e;
    full_edit(&e);
    st_buf enc;
    st_buf_init(&enc);
    assert_int_equal(st_edit_encode(&e, &enc), 0);
    uint8_t buf[256];
    int decoded = 0;
    for (int iter = 0; iter < 4000; iter++) {
        size_t n;
        if (iter % 2) {
            n = (size_t)st_rng_below(&r, sizeof buf);
            for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)st_rng_next(&r);
            if (n) buf[0] = (uint8_t)(1 + st_rng_below(&r, 5)); /* a known tag, often */
        } else {
            n = enc.len < sizeof buf ? enc.len : sizeof buf;
            memcpy(buf, enc.data, n);
            for (int k = 0; k < 3; k++) buf[st_rng_below(&r, n)] ^= (uint8_t)(1 + st_rng_below(&r, 255));
        }
        st_version_edit d;
        st_edit_init(&d);
        int rc = st_edit_decode(st_slice_make(buf, n), &d);
        if (rc == 0) {
            decoded++;
            st_buf re;
            st_buf_init(&re);
            assert_int_equal(st_edit_encode(&d, &re), 0);
            st_version_edit d2;
            st_edit_init(&d2);
            assert_int_equal(st_edit_decode(st_buf_slice(&re), &d2), 0);
            assert_edit_equal(&d, &d2);
            st_edit_destroy(&d2);
            st_buf_destroy(&re);
        } else {
            assert_int_equal(rc, ST_ECORRUPT);
        }
        st_edit_destroy(&d);
    }
    assert_true(decoded < 4000);
    st_buf_destroy(&enc);
    st_edit_destroy(&e);
}

/* ---- versions ------------------------------------------------------------------------------- */

static st_version *apply_ok(const st_version *base, st_version_edit *e) {
    st_version *v = NULL;
    int rc = st_version_apply(base, e, &v);
    if (rc) fail_msg("st_version_apply: %s (%s)", st_strerror(rc), st_errmsg());
    assert_non_null(v);
    st_edit_destroy(e);
    return v;
}

static void add_fake(st_version_edit *e, int level, uint64_t number, uint64_t max_seq, const char *sm, const char *lg) {
    st_file_meta *f = fake_meta(level, number, max_seq > 5 ? max_seq - 5 : 1, max_seq, sm, lg);
    assert_int_equal(st_edit_add_file(e, f), 0);
    st_file_meta_unref(f);
}

static void test_version_l0_is_newest_first(void **state) {
    (void)state;
    st_version *v0, *v1, *v2;
    assert_int_equal(st_version_new_empty(&v0), 0);
    st_version_edit e;
    st_edit_init(&e);
    add_fake(&e, 0, 7, 10, "a", "m");
    add_fake(&e, 0, 8, 30, "c", "z");
    add_fake(&e, 0, 9, 20, "b", "k");
    v1 = apply_ok(v0, &e);
    uint64_t n[8];
    assert_int_equal(level_numbers(v1, 0, n, 8), 3);
    assert_int_equal(n[0], 8);
    assert_int_equal(n[1], 9);
    assert_int_equal(n[2], 7);

    st_edit_init(&e);
    add_fake(&e, 0, 11, 25, "a", "a");
    add_fake(&e, 0, 12, 40, "q", "r");
    v2 = apply_ok(v1, &e);
    const uint64_t want[5] = {12, 8, 11, 9, 7};
    assert_int_equal(level_numbers(v2, 0, n, 8), 5);
    for (int i = 0; i < 5; i++) assert_int_equal(n[i], want[i]);
    assert_int_equal(st_version_check(v2), 0);
    /* V1: the base is untouched */
    assert_int_equal(v1->n_files[0], 3);
    assert_int_equal(v0->n_files[0], 0);
    st_version_unref(v0);
    st_version_unref(v1);
    st_version_unref(v2);
}

static void test_version_apply_adds_and_deletes(void **state) {
    (void)state;
    st_version *v0, *v1, *v2;
    assert_int_equal(st_version_new_empty(&v0), 0);
    st_version_edit e;
    st_edit_init(&e);
    add_fake(&e, 0, 5, 10, "a", "z");
    add_fake(&e, 1, 6, 4, "m", "p");
    add_fake(&e, 1, 7, 4, "a", "c"); /* sorted by smallest at L1 */
    add_fake(&e, 2, 8, 2, "a", "z");
    v1 = apply_ok(v0, &e);
    uint64_t n[8];
    assert_int_equal(level_numbers(v1, 1, n, 8), 2);
    assert_int_equal(n[0], 7);
    assert_int_equal(n[1], 6);
    assert_true(st_version_has_file(v1, 8));
    assert_false(st_version_has_file(v1, 9));

    st_edit_init(&e);
    assert_int_equal(st_edit_delete_file(&e, 1, 7), 0);
    assert_int_equal(st_edit_delete_file(&e, 0, 5), 0);
    add_fake(&e, 1, 9, 12, "q", "t");
    v2 = apply_ok(v1, &e);
    assert_int_equal(v2->n_files[0], 0);
    assert_int_equal(level_numbers(v2, 1, n, 8), 2);
    assert_int_equal(n[0], 6);
    assert_int_equal(n[1], 9);
    assert_int_equal(v2->n_files[2], 1);
    assert_false(st_version_has_file(v2, 5));
    assert_false(st_version_has_file(v2, 7));
    /* shared metadata: the same st_file_meta object in both versions */
    assert_ptr_equal(v1->files[2][0], v2->files[2][0]);
    assert_true(st_version_has_file(v1, 5));
    st_version_unref(v0);
    st_version_unref(v1);
    st_version_unref(v2);
}

static void expect_apply_corrupt(const st_version *base, st_version_edit *e, const char *needle) {
    st_version dummy;
    st_version *v = &dummy; /* any non-NULL value: a failure must leave NULL */
    int rc = st_version_apply(base, e, &v);
    if (rc != ST_ECORRUPT) fail_msg("apply returned %s, expected ST_ECORRUPT", st_strerror(rc));
    assert_null(v);
    assert_errmsg_has(needle);
    st_edit_destroy(e);
}

static void test_version_contradicting_edits_are_corrupt(void **state) {
    (void)state;
    st_version *v0, *v1;
    assert_int_equal(st_version_new_empty(&v0), 0);
    st_version_edit e;
    st_edit_init(&e);
    add_fake(&e, 0, 5, 10, "a", "z");
    add_fake(&e, 1, 6, 4, "a", "c");
    v1 = apply_ok(v0, &e);

    st_edit_init(&e);
    assert_int_equal(st_edit_delete_file(&e, 0, 99), 0);
    expect_apply_corrupt(v1, &e, "table 99"); /* a file that does not exist */

    st_edit_init(&e);
    assert_int_equal(st_edit_delete_file(&e, 1, 5), 0);
    expect_apply_corrupt(v1, &e, "table 5 from L1"); /* exists, but at another level */

    st_edit_init(&e);
    assert_int_equal(st_edit_delete_file(&e, 40, 5), 0);
    expect_apply_corrupt(v1, &e, "L40"); /* a level beyond ST_MAX_LEVELS: no out-of-bounds read */

    st_edit_init(&e);
    add_fake(&e, 2, 6, 4, "x", "y");
    expect_apply_corrupt(v1, &e, "twice"); /* a number already live */

    st_edit_init(&e);
    add_fake(&e, 2, 77, 4, "m", "n");
    add_fake(&e, 4, 77, 4, "m", "n");
    expect_apply_corrupt(v1, &e, "table 77 twice in one record"); /* a new number at two levels */

    st_edit_init(&e);
    add_fake(&e, ST_MAX_LEVELS, 70, 4, "x", "y");
    expect_apply_corrupt(v1, &e, "at level 7");

    /* the failed edits changed nothing */
    assert_int_equal(v1->n_files[0], 1);
    assert_int_equal(v1->n_files[1], 1);
    st_version_unref(v0);
    st_version_unref(v1);
}

static void test_version_overlapping_level1_fails_the_check(void **state) {
    (void)state;
    st_version *v0, *v1 = NULL;
    assert_int_equal(st_version_new_empty(&v0), 0);
    st_version_edit e;
    st_edit_init(&e);
    add_fake(&e, 1, 6, 4, "a", "m");
    add_fake(&e, 1, 7, 4, "k", "z");
    int rc = st_version_apply(v0, &e, &v1);
#ifdef ST_DEBUG_INVARIANTS
    /* the sanitizer build checks V3 on every apply */
    assert_int_equal(rc, ST_ECORRUPT);
    assert_null(v1);
#else
    assert_int_equal(rc, 0);
    assert_int_equal(st_version_check(v1), ST_ECORRUPT);
    st_version_unref(v1);
#endif
    assert_errmsg_has("overlap");
    st_edit_destroy(&e);
    st_version_unref(v0);
}

/* ---- the version set ------------------------------------------------------------------------ */

static st_vset *recover_ok(fx *x, int slot, bool expect_existed) {
    bool existed = !expect_existed;
    int rc = st_vset_recover(x->dir, NULL, NULL, NULL, &x->vs[slot], &existed);
    if (rc) fail_msg("st_vset_recover: %s (%s)", st_strerror(rc), st_errmsg());
    assert_non_null(x->vs[slot]);
    assert_int_equal(existed, expect_existed);
    return x->vs[slot];
}

static void expect_recover_corrupt(fx *x, const char *needle) {
    bool existed = false;
    st_vset *vs = NULL;
    int rc = st_vset_recover(x->dir, NULL, NULL, NULL, &vs, &existed);
    if (rc != ST_ECORRUPT) {
        st_vset_close(vs);
        fail_msg("st_vset_recover returned %s, expected ST_ECORRUPT (%s)", st_strerror(rc), st_errmsg());
    }
    if (needle) assert_errmsg_has(needle);
}

static int count_entries(const char *name, void *arg) {
    (void)name;
    (*(int *)arg)++;
    return 0;
}

static int dir_entries(const char *dir) {
    int n = 0;
    assert_int_equal(st_io_list_dir(dir, count_entries, &n), 0);
    return n;
}

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    size_t n = strlen(text);
    if (n) assert_int_equal(fwrite(text, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void test_vset_recover_of_empty_dir_starts_empty(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    st_version *v = st_vset_current(vs);
    for (int l = 0; l < ST_MAX_LEVELS; l++) assert_int_equal(v->n_files[l], 0);
    st_version_unref(v);
    assert_int_equal(st_vset_log_number(vs), 0);
    assert_int_equal(st_vset_last_seq(vs), 0);
    uint64_t first = st_vset_new_file_number(vs);
    assert_true(first >= 1); /* 0 is never a file number */
    assert_int_equal(st_vset_new_file_number(vs), first + 1);
    /* recovery writes nothing */
    assert_int_equal(dir_entries(x->dir), 0);
    /* without a MANIFEST there is nothing to append to */
    st_version_edit e;
    st_edit_init(&e);
    assert_int_equal(st_vset_log_and_apply(vs, &e), ST_EINVAL);
    st_edit_destroy(&e);
}

/* Builds: MANIFEST with {table A at L0}, then edits adding B (L0) and C (L1), then deleting A.
 * Returns the numbers of A, B, C. */
static void build_three_edits(fx *x, st_vset *vs, uint64_t num[3]) {
    for (int i = 0; i < 3; i++) num[i] = st_vset_new_file_number(vs);
    st_version_edit e;
    st_edit_init(&e);
    st_file_meta *a = make_table(x->dir, num[0], 0, "a", 50, 1);
    e.has_log_number = true;
    e.log_number = 3;
    e.has_last_seq = true;
    e.last_seq = 50;
    assert_int_equal(st_edit_add_file(&e, a), 0);
    st_file_meta_unref(a);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), 0);
    st_edit_destroy(&e);

    st_edit_init(&e);
    st_file_meta *b = make_table(x->dir, num[1], 0, "b", 40, 51);
    st_file_meta *c = make_table(x->dir, num[2], 1, "c", 300, 100);
    e.has_log_number = true;
    e.log_number = 9;
    e.last_seq = 77;
    assert_int_equal(st_edit_add_file(&e, b), 0);
    assert_int_equal(st_edit_add_file(&e, c), 0);
    st_file_meta_unref(b);
    st_file_meta_unref(c);
    assert_int_equal(st_vset_log_and_apply(vs, &e), 0);
    assert_true(e.has_next_file);
    st_edit_destroy(&e);

    st_vset_set_last_seq(vs, 500);
    st_edit_init(&e);
    assert_int_equal(st_edit_delete_file(&e, 0, num[0]), 0);
    assert_int_equal(st_vset_log_and_apply(vs, &e), 0);
    st_edit_destroy(&e);
}

static void expect_get(st_version *v, const char *ukey, const char *want) {
    int kind = 0;
    st_buf val;
    st_buf_init(&val);
    int rc = st_version_get(v, st_slice_str(ukey), ST_SEQ_MAX, &kind, &val);
    if (rc) fail_msg("get %s: %s (%s)", ukey, st_strerror(rc), st_errmsg());
    assert_int_equal(kind, ST_KIND_PUT);
    assert_int_equal(val.len, strlen(want));
    assert_memory_equal(val.data, want, val.len);
    st_buf_destroy(&val);
}

static void test_vset_log_and_apply_then_recover_gives_same_state(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    uint64_t num[3];
    build_three_edits(x, vs, num);
    st_version *v = st_vset_current(vs);
    assert_int_equal(v->n_files[0], 1);
    assert_int_equal(v->n_files[1], 1);
    assert_int_equal(v->files[0][0]->number, num[1]);
    assert_int_equal(v->files[1][0]->number, num[2]);
    uint64_t log_number = st_vset_log_number(vs), last_seq = st_vset_last_seq(vs);
    uint64_t manifest = st_vset_manifest_number(vs);
    assert_int_equal(log_number, 9);
    assert_int_equal(last_seq, 500);
    assert_true(manifest > num[2]); /* M3: one counter for every file */

    st_vset *vs2 = recover_ok(x, 1, true);
    st_version *v2 = st_vset_current(vs2);
    assert_versions_equal(v, v2);
    assert_int_equal(st_vset_log_number(vs2), log_number);
    assert_int_equal(st_vset_last_seq(vs2), last_seq);
    assert_int_equal(st_vset_manifest_number(vs2), manifest);
    /* M3 survives recovery: new numbers are above every number in use */
    uint64_t next = st_vset_new_file_number(vs2);
    assert_true(next > manifest && next > num[2]);
    /* readers are open: the tables answer lookups */
    for (int l = 0; l < 2; l++) assert_non_null(v2->files[l][0]->reader);
    expect_get(v2, "b0007", "value-b-7");
    expect_get(v2, "c0299", "value-c-299");
    int kind;
    st_buf val;
    st_buf_init(&val);
    assert_int_equal(st_version_get(v2, st_slice_str("a0001"), ST_SEQ_MAX, &kind, &val), ST_ENOTFOUND);
    st_buf_destroy(&val);

    /* a second MANIFEST from the recovered state, recovered again */
    st_version_edit e;
    st_edit_init(&e);
    assert_int_equal(st_vset_write_new_manifest(vs2, &e), 0);
    st_edit_destroy(&e);
    assert_true(st_vset_manifest_number(vs2) > manifest);
    st_vset *vs3 = recover_ok(x, 2, true);
    st_version *v3 = st_vset_current(vs3);
    assert_versions_equal(v, v3);
    assert_int_equal(st_vset_log_number(vs3), log_number);
    assert_int_equal(st_vset_last_seq(vs3), last_seq);
    assert_int_equal(st_vset_manifest_number(vs3), st_vset_manifest_number(vs2));
    st_version_unref(v);
    st_version_unref(v2);
    st_version_unref(v3);
}

/* M3 at open: numbers seen in the directory are never handed out again; marking only raises. */
static void test_vset_mark_file_number_used_only_raises(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    st_vset_mark_file_number_used(vs, 999999);
    assert_int_equal(st_vset_new_file_number(vs), 1000000);
    st_vset_mark_file_number_used(vs, 5);
    assert_int_equal(st_vset_new_file_number(vs), 1000001);
    st_vset_mark_file_number_used(vs, 1000001);
    assert_int_equal(st_vset_new_file_number(vs), 1000002);
    /* and the raised counter is what the next MANIFEST persists */
    st_version_edit e;
    st_edit_init(&e);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), 0);
    st_edit_destroy(&e);
    assert_int_equal(st_vset_manifest_number(vs), 1000003);
    st_vset *vs2 = recover_ok(x, 1, true);
    assert_true(st_vset_new_file_number(vs2) > 1000003);
}

static void test_vset_current_naming_a_missing_manifest_is_corrupt(void **state) {
    fx *x = *state;
    char path[ST_PATH_MAX];
    write_file(st_fn_current(path, x->dir), "MANIFEST-000099\n");
    expect_recover_corrupt(x, "MANIFEST-000099");
}

static void test_vset_garbage_current_is_corrupt(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    st_version_edit e;
    st_edit_init(&e);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), 0);
    st_edit_destroy(&e);
    char name[64];
    snprintf(name, sizeof name, "MANIFEST-%06llu", (unsigned long long)st_vset_manifest_number(vs));
    const char *bad[] = {
        "",
        "\n",
        "garbage",
        name,                   /* no newline */
        "MANIFEST-\n",
        "MANIFEST-12x\n",
        "CURRENT\n",
        "000001.log\n",
        "../MANIFEST-000001\n",
        "MANIFEST-000001\n\n",
    };
    char path[ST_PATH_MAX];
    st_fn_current(path, x->dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i]);
        expect_recover_corrupt(x, "CURRENT");
    }
    /* the real name still works: the failures were about CURRENT alone */
    char line[80];
    snprintf(line, sizeof line, "%s\n", name);
    write_file(path, line);
    recover_ok(x, 1, true);
}

static char *manifest_path(fx *x, st_vset *vs) {
    char path[ST_PATH_MAX];
    char *p = strdup(st_fn_manifest(path, x->dir, st_vset_manifest_number(vs)));
    assert_non_null(p);
    return p;
}

/* Every single flipped byte of a MANIFEST with one record is reported: the record is gone, and a
 * MANIFEST without a version record must never recover as an empty database. */
static void test_vset_flipped_byte_in_only_record_is_corrupt(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    uint64_t num = st_vset_new_file_number(vs);
    st_version_edit e;
    st_edit_init(&e);
    st_file_meta *a = make_table(x->dir, num, 0, "a", 20, 1);
    assert_int_equal(st_edit_add_file(&e, a), 0);
    st_file_meta_unref(a);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), 0);
    st_edit_destroy(&e);
    char *mp = manifest_path(x, vs);
    st_vset_close(vs);
    x->vs[0] = NULL;
    long long size = st_test_file_size(mp);
    assert_true(size > 7 && size < 1024);
    for (long long off = 0; off < size; off++) {
        assert_int_equal(st_test_flip_byte(mp, (uint64_t)off, 0), 0);
        expect_recover_corrupt(x, "MANIFEST");
        assert_int_equal(st_test_flip_byte(mp, (uint64_t)off, 0), 0);
    }
    /* all flips undone: the original recovers */
    st_vset *vs2 = recover_ok(x, 1, true);
    st_version *v = st_vset_current(vs2);
    assert_int_equal(v->n_files[0], 1);
    st_version_unref(v);
    free(mp);
}

/* A damaged record with a valid record after it cannot be a torn tail. */
static void test_vset_flipped_byte_in_first_of_two_records_is_corrupt(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    uint64_t num[3];
    build_three_edits(x, vs, num);
    char *mp = manifest_path(x, vs);
    assert_int_equal(st_test_flip_byte(mp, 20, 0), 0); /* inside the first (snapshot) record */
    expect_recover_corrupt(x, "MANIFEST");
    free(mp);
}

static void test_vset_missing_or_resized_table_is_corrupt(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    uint64_t num[3];
    build_three_edits(x, vs, num);
    char path[ST_PATH_MAX], moved[ST_PATH_MAX + 8];
    st_fn_table(path, x->dir, num[2]);
    snprintf(moved, sizeof moved, "%s.away", path);

    assert_int_equal(rename(path, moved), 0);
    expect_recover_corrupt(x, path);
    assert_errmsg_has("missing");

    assert_int_equal(rename(moved, path), 0);
    long long size = st_test_file_size(path);
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_int_equal(fputc('x', fp), 'x');
    assert_int_equal(fclose(fp), 0);
    expect_recover_corrupt(x, path);

    assert_int_equal(st_test_truncate(path, (uint64_t)size - 1), 0);
    expect_recover_corrupt(x, path);

    /* the right size but a damaged footer: the reader refuses it */
    assert_int_equal(st_test_truncate(path, (uint64_t)size - 1), 0);
    fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_int_equal(fputc('x', fp), 'x');
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(st_test_file_size(path), size);
    expect_recover_corrupt(x, NULL);
}

/* M1 + M2: an edit whose write or sync failed is not installed, and the set refuses further
 * edits; a fresh recovery still works. */
static void run_failed_log_and_apply(fx *x, enum st_io_fault_op op) {
    st_vset *vs = recover_ok(x, 0, false);
    st_version_edit e;
    st_edit_init(&e);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), 0);
    st_edit_destroy(&e);

    uint64_t n1 = st_vset_new_file_number(vs);
    st_edit_init(&e);
    st_file_meta *a = make_table(x->dir, n1, 0, "a", 10, 1);
    assert_int_equal(st_edit_add_file(&e, a), 0);
    st_file_meta_unref(a);
    st_io_fault_arm(op, 1, EIO);
    assert_int_equal(st_vset_log_and_apply(vs, &e), ST_EIO);
    st_io_fault_arm(op, 0, 0);
    st_edit_destroy(&e);
    st_version *v = st_vset_current(vs);
    assert_false(st_version_has_file(v, n1));
    st_version_unref(v);

    uint64_t n2 = st_vset_new_file_number(vs);
    st_edit_init(&e);
    st_file_meta *b = make_table(x->dir, n2, 0, "b", 10, 20);
    assert_int_equal(st_edit_add_file(&e, b), 0);
    st_file_meta_unref(b);
    assert_int_equal(st_vset_log_and_apply(vs, &e), ST_EFATAL);
    st_edit_destroy(&e);
    st_edit_init(&e);
    assert_int_equal(st_vset_log_and_apply(vs, &e), ST_EFATAL);
    st_edit_destroy(&e);
    v = st_vset_current(vs);
    assert_false(st_version_has_file(v, n2));
    st_version_unref(v);

    /* the failed record is on disk or not, but the MANIFEST is readable and never names n2 */
    st_vset *vs2 = recover_ok(x, 1, true);
    v = st_vset_current(vs2);
    assert_false(st_version_has_file(v, n2));
    assert_true(v->n_files[0] <= 1);
    st_version_unref(v);
}

static void test_vset_failed_sync_poisons(void **state) { run_failed_log_and_apply(*state, ST_FAULT_SYNC); }
static void test_vset_failed_write_poisons(void **state) { run_failed_log_and_apply(*state, ST_FAULT_WRITE); }

/* A failed rename of CURRENT.tmp leaves the old CURRENT, which still names a complete MANIFEST. */
static void test_vset_failed_current_rename_keeps_old_state(void **state) {
    fx *x = *state;
    st_vset *vs = recover_ok(x, 0, false);
    uint64_t num[3];
    build_three_edits(x, vs, num);
    st_version *before = st_vset_current(vs);
    uint64_t old_manifest = st_vset_manifest_number(vs);

    uint64_t n = st_vset_new_file_number(vs);
    st_version_edit e;
    st_edit_init(&e);
    st_file_meta *d = make_table(x->dir, n, 0, "d", 10, 600);
    assert_int_equal(st_edit_add_file(&e, d), 0);
    st_file_meta_unref(d);
    st_io_fault_arm(ST_FAULT_RENAME, 1, EIO);
    assert_int_equal(st_vset_write_new_manifest(vs, &e), ST_EIO);
    st_io_fault_arm(ST_FAULT_RENAME, 0, 0);
    st_edit_destroy(&e);
    assert_int_equal(st_vset_manifest_number(vs), old_manifest);

    st_vset *vs2 = recover_ok(x, 1, true);
    assert_int_equal(st_vset_manifest_number(vs2), old_manifest);
    st_version *after = st_vset_current(vs2);
    assert_versions_equal(before, after);
    assert_false(st_version_has_file(after, n));
    st_version_unref(before);
    st_version_unref(after);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_edit_roundtrip_preserves_every_field),
        T(test_edit_empty_roundtrip),
        T(test_edit_every_truncation_is_corrupt_or_a_field_prefix),
        T(test_edit_unknown_tag_is_corrupt),
        T(test_edit_malformed_fields_are_corrupt),
        T(test_edit_decode_of_random_bytes_never_crashes),
        T(test_version_l0_is_newest_first),
        T(test_version_apply_adds_and_deletes),
        T(test_version_contradicting_edits_are_corrupt),
        T(test_version_overlapping_level1_fails_the_check),
        T(test_vset_recover_of_empty_dir_starts_empty),
        T(test_vset_log_and_apply_then_recover_gives_same_state),
        T(test_vset_mark_file_number_used_only_raises),
        T(test_vset_current_naming_a_missing_manifest_is_corrupt),
        T(test_vset_garbage_current_is_corrupt),
        T(test_vset_flipped_byte_in_only_record_is_corrupt),
        T(test_vset_flipped_byte_in_first_of_two_records_is_corrupt),
        T(test_vset_missing_or_resized_table_is_corrupt),
        T(test_vset_failed_sync_poisons),
        T(test_vset_failed_write_poisons),
        T(test_vset_failed_current_rename_keeps_old_state),
    };
    return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
