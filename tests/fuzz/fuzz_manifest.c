/* fuzz_manifest.c -- libFuzzer target for the MANIFEST: version edit records
 * (engine/version/version_edit.h) and their replay into versions (version.h, manifest.h).
 *
 * Input: byte 0 holds flags, the rest depends on bit 0.
 *   bit 0 clear  a MANIFEST file: written as MANIFEST-000005 into a database directory whose
 *                CURRENT names it and which holds one real table (number FZ_TABLE_NUMBER, made
 *                once per process), then recovered with st_vset_recover as an open does
 *   bit 0 set    edit records: varint32 length + bytes each (a remainder that is not one is a
 *                last record), decoded and applied one after another to an empty version
 *   bit 1        MANIFEST mode: fix the log's record checksums first (fz_log_fix_checksums)
 * Checked: decoding and recovery return 0 or ST_ECORRUPT (ST_ENOMEM for absurd sizes), a
 * failed decode leaks nothing; a decoded edit re-encodes canonically (decode(encode(e)) encodes
 * the same bytes); applying an edit either fails with ST_ECORRUPT or gives a version in which
 * every table has a level below ST_MAX_LEVELS and appears once, whose snapshot edit rebuilds the
 * same version from nothing; a recovered set has every table's reader open, and hands out file
 * numbers above its MANIFEST's. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "strata/st_status.h"
#include "io/io.h"
#include "table/sstable_builder.h"
#include "version/filename.h"
#include "version/manifest.h"
#include "version/version.h"
#include "version/version_edit.h"

#define MAX_INPUT ((size_t)256 << 10)
#define MANIFEST_NUMBER 5

static char dbdir[FZ_PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_io_posix();
    /* The scratch directory is the database: the table and CURRENT live there for good, only the
     * MANIFEST changes per input. */
    snprintf(dbdir, sizeof dbdir, "%s", fz_tmpdir());
    char path[ST_PATH_MAX];
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    fz_make_table(st_fn_table(path, dbdir, FZ_TABLE_NUMBER), &meta);
    st_sst_meta_destroy(&meta);
    char cur[64];
    int n = snprintf(cur, sizeof cur, "MANIFEST-%06d\n", MANIFEST_NUMBER);
    fz_write_file("CURRENT", (const uint8_t *)cur, (size_t)n, path);
    return 0;
}

static bool edit_rc_ok(int rc) { return rc == 0 || rc == ST_ECORRUPT || rc == ST_ENOMEM; }

/* Every table of v once, at a level the version holds it in. */
static size_t check_version(const st_version *v) {
    size_t total = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            const st_file_meta *f = v->files[l][j];
            FZ_CHECK(f && f->level == l && st_version_find_file(v, f->number) == f);
            FZ_CHECK(f->smallest.len >= 8 && f->largest.len >= 8);
            total++;
        }
    int rc = st_version_check(v);
    FZ_CHECK(rc == 0 || rc == ST_ECORRUPT);
    return total;
}

static bool same_version(const st_version *a, const st_version *b) {
    for (int l = 0; l < ST_MAX_LEVELS; l++) {
        if (a->n_files[l] != b->n_files[l]) return false;
        for (size_t j = 0; j < a->n_files[l]; j++)
            if (a->files[l][j]->number != b->files[l][j]->number) return false;
    }
    return true;
}

/* Encoding what was decoded is a fixed point: decode(encode(e)) encodes to the same bytes. */
static void check_roundtrip(const st_version_edit *e) {
    st_buf a, b;
    st_buf_init(&a);
    st_buf_init(&b);
    FZ_CHECK(st_edit_encode(e, &a) == 0);
    st_version_edit e2;
    st_edit_init(&e2);
    FZ_CHECK(st_edit_decode(st_buf_slice(&a), &e2) == 0);
    FZ_CHECK(e2.n_added == e->n_added && e2.n_deleted == e->n_deleted);
    FZ_CHECK(e2.has_log_number == e->has_log_number && e2.has_next_file == e->has_next_file &&
             e2.has_last_seq == e->has_last_seq);
    FZ_CHECK(st_edit_encode(&e2, &b) == 0);
    FZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
    st_edit_destroy(&e2);
    st_buf_destroy(&a);
    st_buf_destroy(&b);
}

/* A snapshot edit of v applied to nothing is v again. */
static void check_snapshot(const st_version *v) {
    st_version_edit snap;
    st_edit_init(&snap);
    FZ_CHECK(st_version_snapshot_edit(v, &snap) == 0);
    check_roundtrip(&snap);
    st_version *empty, *again = NULL;
    FZ_CHECK(st_version_new_empty(&empty) == 0);
    int rc = st_version_apply(empty, &snap, &again);
    FZ_CHECK(rc == 0 || rc == ST_ECORRUPT);
    /* ST_ECORRUPT only from the debug level check, which v itself failed. */
    if (rc) FZ_CHECK(st_version_check(v) == ST_ECORRUPT);
    else FZ_CHECK(same_version(v, again));
    st_version_unref(again);
    st_version_unref(empty);
    st_edit_destroy(&snap);
}

static void fuzz_edits(const uint8_t *p, size_t n) {
    st_version *v;
    FZ_CHECK(st_version_new_empty(&v) == 0);
    const uint8_t *end = p + n;
    for (int k = 0; p < end && k < 64; k++) {
        st_slice rec;
        const uint8_t *next = st_get_lenprefixed(p, end, &rec);
        if (!next) { /* not a length-prefixed record: the rest is one */
            rec = st_slice_make(p, (size_t)(end - p));
            next = end;
        }
        p = next;
        st_version_edit e;
        st_edit_init(&e);
        int rc = st_edit_decode(rec, &e);
        FZ_CHECK(edit_rc_ok(rc));
        if (fz_verbose()) fprintf(stderr, "record %d: %zu bytes: %s\n", k, rec.len, rc ? st_errmsg() : "decoded");
        if (rc == 0) {
            check_roundtrip(&e);
            st_version *nv = NULL;
            rc = st_version_apply(v, &e, &nv);
            FZ_CHECK(rc == 0 || rc == ST_ECORRUPT);
            if (fz_verbose() && rc) fprintf(stderr, "apply: %s\n", st_errmsg());
            if (rc == 0) {
                check_version(nv);
                st_version_unref(v);
                v = nv;
            }
        }
        st_edit_destroy(&e); /* also after a failed decode: whatever it filled is freed */
    }
    check_snapshot(v);
    st_version_unref(v);
}

static void fuzz_manifest_file(uint8_t *file, size_t n, bool fix) {
    if (fix) fz_log_fix_checksums(file, n);
    char path[FZ_PATH_MAX], name[64];
    snprintf(name, sizeof name, "MANIFEST-%06d", MANIFEST_NUMBER);
    fz_write_file(name, file, n, path);
    st_vset *vs = (st_vset *)1;
    bool existed = false;
    int rc = st_vset_recover(dbdir, NULL, NULL, NULL, &vs, &existed);
    FZ_CHECK(edit_rc_ok(rc));
    if (fz_verbose()) fprintf(stderr, "recover: %s\n", rc ? st_errmsg() : "ok");
    if (rc) {
        FZ_CHECK(vs == NULL);
        return;
    }
    FZ_CHECK(vs && existed && st_vset_manifest_number(vs) == MANIFEST_NUMBER);
    st_version *v = st_vset_current(vs);
    check_version(v);
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            FZ_CHECK(v->files[l][j]->number == FZ_TABLE_NUMBER); /* the only table there is */
            FZ_CHECK(v->files[l][j]->reader != NULL);
        }
    check_snapshot(v);
    FZ_CHECK(st_vset_new_file_number(vs) > MANIFEST_NUMBER);
    (void)st_vset_log_number(vs);
    (void)st_vset_last_seq(vs);
    st_version_unref(v);
    st_vset_close(vs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_INPUT) return 0;
    unsigned flags = data[0];
    size_t n = size - 1;
    uint8_t *rest = malloc(n ? n : 1); /* exact size: a read past it is a heap overflow */
    FZ_CHECK(rest);
    if (n) memcpy(rest, data + 1, n);
    if (flags & 1) fuzz_edits(rest, n);
    else fuzz_manifest_file(rest, n, flags & 2);
    free(rest);
    return 0;
}
