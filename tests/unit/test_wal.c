/* test_wal.c -- the log framing (byte layout), the log reader's torn-tail versus corruption
 * decisions, the single-threaded log writer, and the group-commit WAL (W1-W3 in wal.h).
 * Every test runs in its own temporary directory; every loop is bounded. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "io/io.h"
#include "util/coding.h"
#include "util/err.h"
#include "util/hash.h"
#include "wal/log_frame.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"
#include "wal/wal.h"
#include "wal/wal_format.h"

#define BLOCK ST_LOG_BLOCK_SIZE
#define HDR ST_LOG_HEADER_SIZE

typedef struct fx {
    char *dir;
    char *path; /* the log under test, not created yet */
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("wal");
    x->path = x->dir ? st_test_path(x->dir, "000007.log") : NULL;
    if (!x->path) {
        free(x->dir);
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
    st_test_rmrf(x->dir);
    free(x->path);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

/* A deterministic payload; different tags give different bytes. */
static void fill(st_buf *b, size_t len, uint32_t tag) {
    st_buf_init(b);
    assert_int_equal(st_buf_reserve(b, len ? len : 1), 0);
    for (size_t i = 0; i < len; i++) b->data[i] = (uint8_t)(tag * 131u + i * 7u + (i >> 8));
    b->len = len;
}

static void free_recs(st_buf *recs, size_t n) {
    for (size_t i = 0; i < n; i++) st_buf_destroy(&recs[i]);
}

/* Writes recs with a log writer; ends[i] (optional) = offset just past record i. Returns the size. */
static uint64_t write_log(const char *path, const st_buf *recs, size_t n, uint64_t *ends) {
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f), 0);
    st_log_writer *w;
    assert_int_equal(st_log_writer_new(f, &w), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(st_log_writer_add(w, st_buf_slice(&recs[i])), 0);
        if (ends) ends[i] = st_log_writer_size(w);
    }
    assert_int_equal(st_log_writer_sync(w), 0);
    uint64_t size = st_log_writer_size(w);
    st_log_writer_free(w);
    assert_int_equal(st_test_file_size(path), (long long)size);
    return size;
}

typedef struct read_result {
    size_t n; /* records returned, each equal to expect[i] */
    int rc;   /* the status that ended the read */
    uint64_t end_off, dropped;
} read_result;

/* Reads path to its end; every record must equal the expected one at its index. */
static read_result read_log(const char *path, const st_buf *expect, size_t nexpect) {
    st_file *f;
    assert_int_equal(st_file_open(path, ST_OPEN_READ, &f), 0);
    st_log_reader *r;
    assert_int_equal(st_log_reader_new(f, &r), 0);
    st_buf rec;
    st_buf_init(&rec);
    read_result res = {0, 0, 0, 0};
    while ((res.rc = st_log_reader_next(r, &rec)) == 0) {
        assert_true(res.n < nexpect); /* bounds the loop too */
        assert_int_equal(rec.len, expect[res.n].len);
        if (rec.len) assert_memory_equal(rec.data, expect[res.n].data, rec.len);
        res.n++;
    }
    /* An ended reader stays ended. */
    assert_int_equal(st_log_reader_next(r, &rec), res.rc);
    assert_int_equal(rec.len, 0);
    res.end_off = st_log_reader_end_off(r);
    res.dropped = st_log_reader_dropped(r);
    st_buf_destroy(&rec);
    st_log_reader_free(r);
    return res;
}

static void write_bytes(const char *path, const uint8_t *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (n) assert_int_equal(fwrite(p, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* Appends a hand-made physical record. */
static void raw_record(st_buf *b, uint8_t type, const char *payload) {
    size_t n = strlen(payload);
    uint8_t h[HDR];
    st_put_fixed16(h + ST_LOG_OFF_LENGTH, (uint16_t)n);
    h[ST_LOG_OFF_TYPE] = type;
    size_t at = b->len;
    assert_int_equal(st_buf_append(b, h, HDR), 0);
    assert_int_equal(st_buf_append(b, payload, n), 0);
    st_put_fixed32(b->data + at, st_checksum32(b->data + at + ST_LOG_OFF_TYPE, 1 + n));
}

static void assert_errmsg_has(const char *needle) {
    if (!strstr(st_errmsg(), needle)) fail_msg("st_errmsg() = \"%s\" lacks \"%s\"", st_errmsg(), needle);
}

static void assert_errmsg_has_offset(uint64_t off) {
    char s[64];
    snprintf(s, sizeof s, "offset %llu ", (unsigned long long)off);
    assert_errmsg_has(s);
}

/* ---- framing ------------------------------------------------------------------------------- */

static void test_frame_layout_is_byte_exact(void **state) {
    fx *x = *state;
    st_buf recs[5];
    fill(&recs[0], 3, 0);
    memcpy(recs[0].data, "abc", 3);
    fill(&recs[1], BLOCK - 6 - 10 - HDR, 1); /* ends 6 bytes before the block end: a trailer */
    fill(&recs[2], 2, 2);
    fill(&recs[3], 2 * BLOCK - HDR - (BLOCK + 9) - HDR, 3); /* leaves exactly one header's room */
    fill(&recs[4], 5, 4);
    uint64_t ends[5];
    uint64_t size = write_log(x->path, recs, 5, ends);
    assert_int_equal(ends[0], 10);
    assert_int_equal(ends[1], BLOCK - 6);
    assert_int_equal(ends[2], BLOCK + 9);
    assert_int_equal(ends[3], 2 * BLOCK - HDR);
    assert_int_equal(ends[4], 2 * BLOCK + HDR + 5);
    assert_int_equal(size, ends[4]);

    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &data, &len), 0);
    const uint8_t *p = (const uint8_t *)data;
    assert_int_equal(len, size);
    /* checksum u32 LE over type + payload | length u16 LE | type u8 | payload */
    assert_int_equal(st_get_fixed32(p), st_checksum32("\x01" "abc", 4));
    assert_int_equal(p[4], 3);
    assert_int_equal(p[5], 0);
    assert_int_equal(p[6], ST_LOG_FULL);
    assert_memory_equal(p + 7, "abc", 3);
    /* The 6-byte trailer is zeros; the next record starts the next block. */
    for (size_t i = BLOCK - 6; i < BLOCK; i++) assert_int_equal(p[i], 0);
    assert_int_equal(st_get_fixed16(p + BLOCK + 4), 2);
    assert_int_equal(p[BLOCK + 6], ST_LOG_FULL);
    /* Exactly 7 bytes left: an empty FIRST there, the payload in a LAST at the next block. */
    const uint8_t *h = p + 2 * BLOCK - HDR;
    assert_int_equal(st_get_fixed16(h + 4), 0);
    assert_int_equal(h[6], ST_LOG_FIRST);
    assert_int_equal(st_get_fixed32(h), st_checksum32("\x02", 1));
    h = p + 2 * BLOCK;
    assert_int_equal(st_get_fixed16(h + 4), 5);
    assert_int_equal(h[6], ST_LOG_LAST);
    assert_int_equal(st_get_fixed32(h), st_checksum32(h + 6, 6));
    free(data);

    read_result r = read_log(x->path, recs, 5);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size);
    assert_int_equal(r.dropped, 0);
    free_recs(recs, 5);
}

static void test_frame_splits_large_record_first_middle_last(void **state) {
    fx *x = *state;
    st_buf rec;
    fill(&rec, 100 * 1024, 9);
    uint64_t size = write_log(x->path, &rec, 1, NULL);
    size_t last = 100 * 1024 - 3 * (BLOCK - HDR);
    assert_int_equal(size, 3 * BLOCK + HDR + last);
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &data, &len), 0);
    const uint8_t *p = (const uint8_t *)data;
    const uint8_t want_type[4] = {ST_LOG_FIRST, ST_LOG_MIDDLE, ST_LOG_MIDDLE, ST_LOG_LAST};
    for (size_t b = 0; b < 4; b++) {
        const uint8_t *h = p + b * BLOCK;
        size_t n = b < 3 ? BLOCK - HDR : last;
        assert_int_equal(h[6], want_type[b]);
        assert_int_equal(st_get_fixed16(h + 4), n);
        assert_int_equal(st_get_fixed32(h), st_checksum32(h + 6, 1 + n));
        assert_memory_equal(h + HDR, rec.data + b * (BLOCK - HDR), n);
    }
    free(data);
    read_result r = read_log(x->path, &rec, 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    st_buf_destroy(&rec);
}

static void test_frame_failure_leaves_buffer_unchanged(void **state) {
    (void)state;
    st_buf out;
    st_buf_init(&out);
    uint64_t off = 123;
    assert_int_equal(st_log_frame(&out, &off, st_slice_make("x", SIZE_MAX / 2)), ST_EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(off, 123);
    /* An empty record is one FULL header of length 0. */
    assert_int_equal(st_log_frame(&out, &off, st_slice_make(NULL, 0)), 0);
    assert_int_equal(out.len, HDR);
    assert_int_equal(off, 123 + HDR);
    assert_int_equal(out.data[6], ST_LOG_FULL);
    st_buf_destroy(&out);
}

/* ---- log writer + reader round trips ------------------------------------------------------- */

static void test_log_roundtrip_sizes_around_block_edges(void **state) {
    fx *x = *state;
    size_t sizes[64], ns = 0;
    sizes[ns++] = 0;
    sizes[ns++] = 1;
    sizes[ns++] = 100;
    for (size_t s = BLOCK - HDR - 13; s <= BLOCK + 2; s++) sizes[ns++] = s; /* 32748..32770 */
    sizes[ns++] = 2 * BLOCK;
    sizes[ns++] = 100 * 1024;
    for (size_t k = 0; k < ns; k++) {
        /* The first record sits at offset 0; the third, at an unaligned offset, must split. */
        st_buf recs[5];
        fill(&recs[0], sizes[k], 1);
        fill(&recs[1], 10, 2);
        fill(&recs[2], sizes[k], 3);
        fill(&recs[3], 0, 4);
        fill(&recs[4], 1, 5);
        uint64_t size = write_log(x->path, recs, 5, NULL);
        read_result r = read_log(x->path, recs, 5);
        if (r.n != 5 || r.rc != ST_ENOTFOUND) fail_msg("size %zu: %zu records, rc %d", sizes[k], r.n, r.rc);
        assert_int_equal(r.end_off, size);
        assert_int_equal(r.dropped, 0);
        free_recs(recs, 5);
    }
}

static void test_log_empty_file_is_end_of_log(void **state) {
    fx *x = *state;
    write_bytes(x->path, NULL, 0);
    read_result r = read_log(x->path, NULL, 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, 0);
    assert_int_equal(r.dropped, 0);
}

static void test_log_writer_reopen_continues_block_structure(void **state) {
    fx *x = *state;
    st_buf recs[5];
    fill(&recs[0], 10, 1);
    fill(&recs[1], 32700, 2);
    fill(&recs[2], 50, 3); /* crosses into block 1 */
    fill(&recs[3], 100, 4);
    fill(&recs[4], 40000, 5);
    uint64_t size1 = write_log(x->path, recs, 3, NULL);

    st_file *f;
    assert_int_equal(st_file_open(x->path, ST_OPEN_WRITE, &f), 0);
    st_log_writer *w;
    assert_int_equal(st_log_writer_new(f, &w), 0);
    assert_int_equal(st_log_writer_size(w), size1);
    assert_int_equal(st_log_writer_add(w, st_buf_slice(&recs[3])), 0);
    assert_int_equal(st_log_writer_add(w, st_buf_slice(&recs[4])), 0);
    assert_int_equal(st_test_file_size(x->path), (long long)size1); /* add() only buffers */
    assert_int_equal(st_log_writer_flush(w), 0);
    uint64_t size2 = st_log_writer_size(w);
    assert_int_equal(st_test_file_size(x->path), (long long)size2);
    st_log_writer_free(w);

    read_result r = read_log(x->path, recs, 5);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size2);
    free_recs(recs, 5);
}

static void test_log_writer_failed_write_poisons(void **state) {
    fx *x = *state;
    st_file *f;
    assert_int_equal(st_file_open(x->path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_log_writer *w;
    assert_int_equal(st_log_writer_new(f, &w), 0);
    assert_int_equal(st_log_writer_add(w, st_slice_str("edit")), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 1, EIO);
    assert_int_equal(st_log_writer_flush(w), ST_EIO);
    assert_errmsg_has(x->path);
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    assert_int_equal(st_log_writer_add(w, st_slice_str("more")), ST_EFATAL);
    assert_int_equal(st_log_writer_flush(w), ST_EFATAL);
    assert_int_equal(st_log_writer_sync(w), ST_EFATAL);
    st_log_writer_free(w);
}

static void test_log_writer_failed_sync_poisons(void **state) {
    fx *x = *state;
    st_file *f;
    assert_int_equal(st_file_open(x->path, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_log_writer *w;
    assert_int_equal(st_log_writer_new(f, &w), 0);
    assert_int_equal(st_log_writer_add(w, st_slice_str("edit")), 0);
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_log_writer_sync(w), ST_EIO);
    st_io_fault_arm(ST_FAULT_SYNC, 0, 0);
    assert_int_equal(st_log_writer_sync(w), ST_EFATAL); /* never retried */
    assert_int_equal(st_log_writer_add(w, st_slice_str("more")), ST_EFATAL);
    st_log_writer_free(w);
}

/* ---- torn tails ---------------------------------------------------------------------------- */

static void test_log_truncation_at_every_offset_yields_prefix(void **state) {
    fx *x = *state;
    /* Crosses one block boundary with a record split FIRST/LAST across it. */
    enum { N = 7 };
    const size_t sizes[N] = {0, 1, 50, 32680, 5, 300, 20};
    st_buf recs[N];
    for (size_t i = 0; i < N; i++) fill(&recs[i], sizes[i], (uint32_t)i);
    uint64_t ends[N];
    uint64_t size = write_log(x->path, recs, N, ends);
    assert_true(ends[3] < BLOCK && ends[4] > BLOCK);

    for (uint64_t t = size + 1; t-- > 0;) {
        assert_int_equal(st_test_truncate(x->path, t), 0);
        size_t k = 0;
        while (k < N && ends[k] <= t) k++;
        read_result r = read_log(x->path, recs, N);
        if (r.n != k || r.rc != ST_ENOTFOUND)
            fail_msg("truncated at %llu: %zu records (want %zu), rc %d: %s", (unsigned long long)t, r.n, k,
                     r.rc, st_errmsg());
        uint64_t end = k ? ends[k - 1] : 0;
        assert_int_equal(r.end_off, end);
        assert_int_equal(r.dropped, t - end);
    }
    free_recs(recs, N);
}

static void test_log_zero_filled_tail_is_end_of_log(void **state) {
    fx *x = *state;
    st_buf recs[3];
    fill(&recs[0], 10, 1);
    fill(&recs[1], 200, 2);
    fill(&recs[2], 5000, 3);
    uint64_t size = write_log(x->path, recs, 3, NULL);
    /* Preallocated-looking space over several blocks: a clean end, nothing dropped (a WAL with
     * zero-ahead always looks like this) */
    assert_int_equal(st_test_truncate(x->path, 100000), 0);
    read_result r = read_log(x->path, recs, 3);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size);
    assert_int_equal(r.dropped, 0);
    /* a torn record (its header half written) before the zeros is still a torn tail */
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &data, &len), 0);
    memset(data + size, 0x5a, 5);
    write_bytes(x->path, (const uint8_t *)data, len);
    free(data);
    r = read_log(x->path, recs, 3);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size);
    assert_int_equal(r.dropped, 100000 - size);
    free_recs(recs, 3);
}

static void test_log_zero_hole_before_valid_record_is_corrupt(void **state) {
    fx *x = *state;
    st_buf recs[3];
    fill(&recs[0], 10, 1);
    fill(&recs[1], 200, 2);
    fill(&recs[2], 30, 3);
    uint64_t ends[3];
    write_log(x->path, recs, 3, ends);
    char *data;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &data, &len), 0);
    memset(data + ends[0], 0, ends[1] - ends[0]); /* record 1 never reached the disk */
    write_bytes(x->path, (const uint8_t *)data, len);
    free(data);
    read_result r = read_log(x->path, recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has_offset(ends[0]);
    free_recs(recs, 3);
}

/* ---- damage -------------------------------------------------------------------------------- */

typedef struct three {
    st_buf recs[3];
    uint64_t ends[3];
    uint64_t size;
} three;

static void three_small_records(const char *path, three *t) {
    fill(&t->recs[0], 100, 1);
    fill(&t->recs[1], 200, 2);
    fill(&t->recs[2], 300, 3);
    t->size = write_log(path, t->recs, 3, t->ends);
}

static void test_log_flipped_byte_in_middle_record_is_corrupt(void **state) {
    fx *x = *state;
    three t;
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + HDR + 50, 0x10), 0);
    read_result r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has(x->path);
    assert_errmsg_has_offset(t.ends[0]);
    assert_errmsg_has("checksum");
    assert_int_equal(r.end_off, t.ends[0]);
    assert_int_equal(r.dropped, t.size - t.ends[0]);
    free_recs(t.recs, 3);
}

static void test_log_flipped_byte_in_last_record_is_torn_tail(void **state) {
    fx *x = *state;
    three t;
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[1] + HDR + 10, 0x01), 0);
    read_result r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, t.ends[1]);
    assert_int_equal(r.dropped, t.size - t.ends[1]);
    free_recs(t.recs, 3);
}

static void test_log_bad_type_byte(void **state) {
    fx *x = *state;
    three t;
    three_small_records(x->path, &t);
    /* FULL (1) -> 9: unknown type, valid records follow. */
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_TYPE, 0x08), 0);
    read_result r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has("type");
    assert_errmsg_has_offset(t.ends[0]);
    free_recs(t.recs, 3);

    /* The same in the last record: a torn tail. */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[1] + ST_LOG_OFF_TYPE, 0x08), 0);
    r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    free_recs(t.recs, 3);

    /* FULL -> FIRST keeps a known type but breaks the checksum (it covers the type byte). */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_TYPE, 0x03), 0);
    r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has("checksum");
    free_recs(t.recs, 3);
}

static void test_log_damaged_length_does_not_hide_later_records(void **state) {
    fx *x = *state;
    three t;
    /* 200 -> 0xffff: past the block end. */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_LENGTH, 200 ^ 0xff), 0);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_LENGTH + 1, 0xff), 0);
    read_result r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has("block end");
    free_recs(t.recs, 3);

    /* 200 -> 0x20c8: inside the block but past EOF, which looks like a torn payload. */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_LENGTH + 1, 0x20), 0);
    r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has("EOF");
    free_recs(t.recs, 3);

    /* 200 -> 100: the checksum fails and the next header is not where the length points. */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[0] + ST_LOG_OFF_LENGTH, 200 ^ 100), 0);
    r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    char want[64];
    snprintf(want, sizeof want, "valid record at offset %llu", (unsigned long long)t.ends[1]);
    assert_errmsg_has(want);
    free_recs(t.recs, 3);

    /* The last record's length past EOF: torn. */
    three_small_records(x->path, &t);
    assert_int_equal(st_test_flip_byte(x->path, t.ends[1] + ST_LOG_OFF_LENGTH + 1, 0x20), 0);
    r = read_log(x->path, t.recs, 3);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    free_recs(t.recs, 3);
}

static void test_log_damaged_first_fragment_with_later_blocks_is_corrupt(void **state) {
    fx *x = *state;
    st_buf recs[2];
    fill(&recs[0], 100 * 1024, 1);
    fill(&recs[1], 10, 2);
    uint64_t ends[2];
    write_log(x->path, recs, 2, ends);
    assert_int_equal(st_test_flip_byte(x->path, HDR + 100, 0x40), 0);
    read_result r = read_log(x->path, recs, 2);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has_offset(0);
    assert_errmsg_has("valid record at offset 32768");

    /* Damage in the LAST fragment of the final record: nothing valid follows. */
    write_log(x->path, recs, 1, ends);
    assert_int_equal(st_test_flip_byte(x->path, ends[0] - 1, 0x40), 0);
    r = read_log(x->path, recs, 1);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.dropped, ends[0]);
    free_recs(recs, 2);
}

static void test_log_fragments_out_of_order_are_corrupt(void **state) {
    fx *x = *state;
    st_buf want[2], log;
    fill(&want[0], 1, 0);
    want[0].data[0] = 'a';
    fill(&want[1], 3, 0);
    memcpy(want[1].data, "bcd", 3);

    /* Hand-made fragments need not fill blocks: FIRST/MIDDLE/LAST reassemble. */
    st_buf_init(&log);
    raw_record(&log, ST_LOG_FULL, "a");
    raw_record(&log, ST_LOG_FIRST, "b");
    raw_record(&log, ST_LOG_MIDDLE, "c");
    raw_record(&log, ST_LOG_LAST, "d");
    write_bytes(x->path, log.data, log.len);
    read_result r = read_log(x->path, want, 2);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.rc, ST_ENOTFOUND);

    /* A FULL where the LAST of an open record belongs. */
    st_buf_clear(&log);
    raw_record(&log, ST_LOG_FULL, "a");
    raw_record(&log, ST_LOG_FIRST, "bc");
    raw_record(&log, ST_LOG_FULL, "x");
    write_bytes(x->path, log.data, log.len);
    r = read_log(x->path, want, 2);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has_offset(8 + 9);
    assert_errmsg_has("LAST");

    /* A LAST or MIDDLE with no FIRST. */
    st_buf_clear(&log);
    raw_record(&log, ST_LOG_FULL, "a");
    raw_record(&log, ST_LOG_LAST, "y");
    write_bytes(x->path, log.data, log.len);
    r = read_log(x->path, want, 2);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has("without a FIRST");

    st_buf_clear(&log);
    raw_record(&log, ST_LOG_MIDDLE, "y");
    write_bytes(x->path, log.data, log.len);
    r = read_log(x->path, want, 2);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.rc, ST_ECORRUPT);
    assert_errmsg_has_offset(0);

    st_buf_destroy(&log);
    free_recs(want, 2);
}

/* Where each physical record of a well-formed log lies, parsed independently of the reader. */
typedef struct frag {
    uint64_t start, end;
    size_t rec; /* index of the logical record */
} frag;

static size_t parse_frags(const uint8_t *p, size_t len, frag *out, size_t cap) {
    size_t n = 0, rec = 0, pos = 0;
    while (pos < len) {
        if (BLOCK - pos % BLOCK < HDR) {
            pos += BLOCK - pos % BLOCK;
            continue;
        }
        assert_true(n < cap && pos + HDR <= len);
        size_t flen = st_get_fixed16(p + pos + 4);
        uint8_t type = p[pos + 6];
        out[n++] = (frag){pos, pos + HDR + flen, rec};
        if (type == ST_LOG_FULL || type == ST_LOG_LAST) rec++;
        pos += HDR + flen;
    }
    return n;
}

static void test_log_single_flip_anywhere_is_torn_or_corrupt_exactly(void **state) {
    fx *x = *state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("single_flip", 42));
    enum { N = 12 };
    st_buf recs[N];
    for (size_t i = 0; i < N; i++) {
        size_t len = i % 5 == 3 ? 30000 + st_rng_below(&rng, 20000) : st_rng_below(&rng, 400);
        fill(&recs[i], len, (uint32_t)(i + 100));
    }
    write_log(x->path, recs, N, NULL);
    char *orig;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &orig, &len), 0);
    frag frags[64];
    size_t nf = parse_frags((const uint8_t *)orig, len, frags, 64);
    assert_true(nf > N);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);

    for (int iter = 0; iter < 300; iter++) {
        uint64_t at = st_rng_below(&rng, len);
        uint8_t mask = (uint8_t)(1 + st_rng_below(&rng, 255));
        memcpy(copy, orig, len);
        copy[at] ^= mask;
        write_bytes(x->path, copy, len);
        /* Oracle: records before the damaged fragment's record survive; corruption iff any
         * physical record follows the damaged one; a flip in a trailer changes nothing. */
        size_t want_n = N;
        int want_rc = ST_ENOTFOUND;
        for (size_t j = 0; j < nf; j++) {
            if (at >= frags[j].start && at < frags[j].end) {
                want_n = frags[j].rec;
                want_rc = j + 1 < nf ? ST_ECORRUPT : ST_ENOTFOUND;
            }
        }
        read_result r = read_log(x->path, recs, N);
        if (r.n != want_n || r.rc != want_rc)
            fail_msg("flip %#x at %llu: %zu records rc %d, want %zu rc %d (%s)", mask, (unsigned long long)at,
                     r.n, r.rc, want_n, want_rc, st_errmsg());
    }
    free(copy);
    free(orig);
    free_recs(recs, N);
}

static void test_log_random_damage_never_yields_a_wrong_record(void **state) {
    fx *x = *state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("random_damage", 7));
    enum { N = 10 };
    st_buf recs[N];
    for (size_t i = 0; i < N; i++) fill(&recs[i], i == 4 ? 70000 : st_rng_below(&rng, 3000), (uint32_t)i);
    write_log(x->path, recs, N, NULL);
    char *orig;
    size_t len;
    assert_int_equal(st_io_read_all(x->path, &orig, &len), 0);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);

    for (int iter = 0; iter < 200; iter++) {
        memcpy(copy, orig, len);
        size_t n = len;
        size_t a = st_rng_below(&rng, len), span = 1 + st_rng_below(&rng, 2000);
        if (a + span > len) span = len - a;
        switch (iter % 4) {
        case 0: /* a few scattered flips */
            for (int k = 0; k < 3; k++) copy[st_rng_below(&rng, len)] ^= (uint8_t)(1 + st_rng_below(&rng, 255));
            break;
        case 1: memset(copy + a, 0, span); break;
        case 2:
            for (size_t k = 0; k < span; k++) copy[a + k] = (uint8_t)st_rng_next(&rng);
            break;
        case 3: /* garbage, then the tear */
            for (size_t k = a; k < a + span; k++) copy[k] = (uint8_t)st_rng_next(&rng);
            n = a + span;
            break;
        }
        write_bytes(x->path, copy, n);
        read_result r = read_log(x->path, recs, N); /* asserts each record returned is the original */
        assert_true(r.rc == ST_ENOTFOUND || r.rc == ST_ECORRUPT);
        assert_true(r.end_off + r.dropped == n);
    }
    free(copy);
    free(orig);
    free_recs(recs, N);
}

static void test_log_garbage_files_yield_no_records(void **state) {
    fx *x = *state;
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("garbage", 99));
    uint8_t *buf = malloc(3 * BLOCK);
    assert_non_null(buf);
    for (int iter = 0; iter < 40; iter++) {
        size_t n = st_rng_below(&rng, 3 * BLOCK);
        if (iter == 0) {
            /* Every offset looks like a plausible FULL header: worst case for the search. */
            n = 3 * BLOCK;
            memset(buf, 1, n);
        } else {
            for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)st_rng_next(&rng);
        }
        write_bytes(x->path, buf, n);
        read_result r = read_log(x->path, NULL, 0);
        assert_int_equal(r.n, 0);
        assert_true(r.rc == ST_ENOTFOUND || r.rc == ST_ECORRUPT);
        assert_int_equal(r.dropped, n);
    }
    free(buf);
}

/* ---- WAL ----------------------------------------------------------------------------------- */

/* The WAL payload of lsn in these tests: the lsn, then lsn-dependent filler. */
static void wal_payload(st_buf *b, uint64_t lsn) {
    st_buf_clear(b);
    assert_int_equal(st_buf_append_fixed64(b, lsn), 0);
    size_t n = lsn % 100 == 0 ? 40000 : (lsn % 97) * 13;
    assert_int_equal(st_buf_reserve(b, n), 0);
    for (size_t i = 0; i < n; i++) b->data[b->len + i] = (uint8_t)(lsn + i);
    b->len += n;
}

/* Reads the WAL at path: records must be the payloads of lsn 1..n in order. */
static void check_wal_records(const char *path, uint64_t n) {
    st_buf *want = calloc(n ? n : 1, sizeof *want);
    assert_non_null(want);
    for (uint64_t i = 0; i < n; i++) {
        st_buf_init(&want[i]);
        wal_payload(&want[i], i + 1);
    }
    read_result r = read_log(path, want, n);
    assert_int_equal(r.n, n);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.dropped, 0);
    free_recs(want, n);
    free(want);
}

static void test_wal_roundtrip_record_sizes(void **state) {
    fx *x = *state;
    const size_t sizes[] = {0, 1, 100, BLOCK - HDR, BLOCK - HDR + 1, BLOCK - 1, BLOCK, 100 * 1024, 5};
    enum { N = sizeof sizes / sizeof sizes[0] };
    st_buf recs[N];
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 7, &w), 0);
    assert_int_equal(st_wal_number(w), 7);
    for (size_t i = 0; i < N; i++) {
        fill(&recs[i], sizes[i], (uint32_t)i);
        assert_int_equal(st_wal_append(w, st_buf_slice(&recs[i]), 10 * (i + 1)), 0);
        assert_int_equal(st_wal_commit(w, 10 * (i + 1), i % 2 == 0), 0);
        assert_int_equal(st_wal_written_lsn(w), 10 * (i + 1));
    }
    assert_int_equal(st_wal_commit(w, 10 * N, true), 0);
    assert_int_equal(st_wal_synced_lsn(w), 10 * N);
    uint64_t size = st_wal_size(w);
    st_wal_stats s;
    st_wal_get_stats(w, &s);
    assert_int_equal(s.bytes, size);
    assert_int_equal(st_test_file_size(x->path), (long long)size);
    assert_int_equal(st_wal_close(w, true), 0);
    read_result r = read_log(x->path, recs, N);
    assert_int_equal(r.n, N);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size);
    free_recs(recs, N);
}

/* Zero-ahead: the file keeps written zeros past the records (so commits overwrite allocated
 * blocks within its size) and reads back exactly the records, nothing dropped, across blocks. */
static void test_wal_zero_ahead_keeps_zeros_past_the_records(void **state) {
    fx *x = *state;
    enum { N = 40, AHEAD = 64 << 10 };
    st_buf recs[N];
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 3, &w), 0);
    st_wal_set_zero_ahead(w, AHEAD);
    for (size_t i = 0; i < N; i++) {
        fill(&recs[i], 100 + 997 * i % 7000, (uint32_t)i);
        assert_int_equal(st_wal_append(w, st_buf_slice(&recs[i]), i + 1), 0);
        assert_int_equal(st_wal_commit(w, i + 1, true), 0);
        long long fsize = st_test_file_size(x->path);
        assert_true(fsize >= (long long)(st_wal_size(w) + AHEAD / 4)); /* zeros ahead */
        assert_true(fsize <= (long long)(st_wal_size(w) + AHEAD));
    }
    uint64_t size = st_wal_size(w);
    assert_int_equal(st_wal_close(w, true), 0);
    read_result r = read_log(x->path, recs, N);
    assert_int_equal(r.n, N);
    assert_int_equal(r.rc, ST_ENOTFOUND);
    assert_int_equal(r.end_off, size);
    assert_int_equal(r.dropped, 0);
    free_recs(recs, N);
}

static void test_wal_append_buffers_until_commit(void **state) {
    fx *x = *state;
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("batch-1"), 1), 0);
    assert_int_equal(st_wal_size(w), HDR + 7);
    assert_int_equal(st_test_file_size(x->path), 0);
    assert_int_equal(st_wal_written_lsn(w), 0);

    /* sync=false: written to the OS, not synced. */
    assert_int_equal(st_wal_commit(w, 1, false), 0);
    assert_int_equal(st_test_file_size(x->path), HDR + 7);
    assert_int_equal(st_wal_written_lsn(w), 1);
    assert_int_equal(st_wal_synced_lsn(w), 0);
    st_wal_stats s;
    st_wal_get_stats(w, &s);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.syncs, 0);

    /* sync=true on written bytes: one fdatasync, no second write. */
    assert_int_equal(st_wal_commit(w, 1, true), 0);
    assert_int_equal(st_wal_synced_lsn(w), 1);
    st_wal_get_stats(w, &s);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.syncs, 1);
    assert_int_equal(s.commits, 2);
    assert_int_equal(s.commits_grouped, 0);
    assert_int_equal(st_wal_close(w, false), 0);
}

static void test_wal_commit_writes_everything_appended(void **state) {
    fx *x = *state;
    st_buf p;
    st_buf_init(&p);
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    for (uint64_t lsn = 1; lsn <= 3; lsn++) {
        wal_payload(&p, lsn);
        assert_int_equal(st_wal_append(w, st_buf_slice(&p), lsn), 0);
    }
    /* One write takes the whole pending buffer, so lsn 3 is written along with 2. */
    assert_int_equal(st_wal_commit(w, 2, false), 0);
    assert_int_equal(st_wal_written_lsn(w), 3);
    for (uint64_t lsn = 4; lsn <= 5; lsn++) {
        wal_payload(&p, lsn);
        assert_int_equal(st_wal_append(w, st_buf_slice(&p), lsn), 0);
    }
    /* An lsn beyond the last appended covers everything appended so far. */
    assert_int_equal(st_wal_commit(w, 1000, true), 0);
    assert_int_equal(st_wal_synced_lsn(w), 5);
    assert_int_equal(st_wal_written_lsn(w), 5);
    st_wal_stats s;
    st_wal_get_stats(w, &s);
    assert_int_equal(s.writes, 2);
    assert_int_equal(s.syncs, 1);
    assert_int_equal(st_wal_close(w, true), 0);
    check_wal_records(x->path, 5);
    st_buf_destroy(&p);
}

static void test_wal_covered_commit_makes_no_syscall(void **state) {
    fx *x = *state;
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    /* Nothing appended: nothing to do. */
    assert_int_equal(st_wal_commit(w, 0, true), 0);
    assert_int_equal(st_wal_commit(w, 9, true), 0);
    st_buf p;
    st_buf_init(&p);
    for (uint64_t lsn = 1; lsn <= 3; lsn++) {
        wal_payload(&p, lsn);
        assert_int_equal(st_wal_append(w, st_buf_slice(&p), lsn), 0);
    }
    assert_int_equal(st_wal_commit(w, 3, true), 0);
    st_wal_stats s0, s1;
    st_wal_get_stats(w, &s0);
    /* Any write or fdatasync now would fail: the calls below must make none. */
    st_io_fault_arm(ST_FAULT_WRITE, 1, EIO);
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_wal_commit(w, 1, true), 0);
    assert_int_equal(st_wal_commit(w, 3, true), 0);
    assert_int_equal(st_wal_commit(w, 3, false), 0);
    assert_int_equal(st_wal_commit(w, 99, true), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    st_io_fault_arm(ST_FAULT_SYNC, 0, 0);
    st_wal_get_stats(w, &s1);
    assert_int_equal(s1.writes, s0.writes);
    assert_int_equal(s1.syncs, s0.syncs);
    assert_int_equal(s1.bytes, s0.bytes);
    assert_int_equal(s1.commits, s0.commits + 4);
    assert_int_equal(s1.commits_grouped, s0.commits_grouped + 4);
    assert_int_equal(st_wal_close(w, true), 0);
    st_buf_destroy(&p);
}

static void test_wal_lsn_must_increase(void **state) {
    fx *x = *state;
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("a"), 0), ST_EINVAL);
    assert_int_equal(st_wal_append(w, st_slice_str("a"), 5), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("b"), 5), ST_EINVAL);
    assert_int_equal(st_wal_append(w, st_slice_str("b"), 4), ST_EINVAL);
    assert_int_equal(st_wal_append(w, st_slice_str("b"), 6), 0);
    assert_int_equal(st_wal_size(w), 2 * (HDR + 1)); /* rejected appends framed nothing */
    assert_int_equal(st_wal_close(w, false), 0);
}

static void test_wal_open_refuses_existing_file(void **state) {
    fx *x = *state;
    st_wal *w, *w2 = (st_wal *)&w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    assert_int_equal(st_wal_open(x->path, 1, &w2), ST_EIO);
    assert_null(w2);
    assert_errmsg_has(x->path);
    assert_int_equal(st_wal_close(w, false), 0);

    char *missing = st_test_path(x->dir, "no-such-dir/000001.log");
    assert_int_equal(st_wal_open(missing, 1, &w2), ST_ENOTFOUND);
    assert_null(w2);
    free(missing);
}

static void test_wal_close_writes_pending(void **state) {
    fx *x = *state;
    st_buf p;
    st_buf_init(&p);
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    for (uint64_t lsn = 1; lsn <= 3; lsn++) {
        wal_payload(&p, lsn);
        assert_int_equal(st_wal_append(w, st_buf_slice(&p), lsn), 0);
    }
    assert_int_equal(st_wal_close(w, true), 0);
    check_wal_records(x->path, 3);
    assert_int_equal(st_wal_close(NULL, true), 0);
    st_buf_destroy(&p);
}

static void test_wal_failed_sync_poisons(void **state) {
    fx *x = *state;
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("one"), 1), 0);
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_wal_commit(w, 1, true), ST_EIO);
    assert_errmsg_has("fdatasync");
    assert_errmsg_has(x->path);
    st_io_fault_arm(ST_FAULT_SYNC, 0, 0);
    assert_int_equal(st_wal_synced_lsn(w), 0);
    /* W2: never retried, everything later is refused. */
    assert_int_equal(st_wal_commit(w, 1, true), ST_EFATAL);
    assert_int_equal(st_wal_commit(w, 1, false), ST_EFATAL);
    assert_int_equal(st_wal_append(w, st_slice_str("two"), 2), ST_EFATAL);
    assert_errmsg_has("poisoned");
    st_wal_stats s;
    st_wal_get_stats(w, &s);
    assert_int_equal(s.syncs, 0);
    assert_int_equal(st_wal_close(w, true), ST_EFATAL);
}

static void test_wal_failed_write_poisons(void **state) {
    fx *x = *state;
    st_wal *w;
    assert_int_equal(st_wal_open(x->path, 1, &w), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("one"), 1), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 1, ENOSPC);
    assert_int_equal(st_wal_commit(w, 1, false), ST_ENOSPC);
    assert_errmsg_has("offset 0");
    st_io_fault_arm(ST_FAULT_WRITE, 0, 0);
    assert_int_equal(st_wal_written_lsn(w), 0);
    assert_int_equal(st_wal_append(w, st_slice_str("two"), 2), ST_EFATAL);
    assert_int_equal(st_wal_commit(w, 1, false), ST_EFATAL);
    assert_int_equal(st_wal_commit(w, 1, true), ST_EFATAL);
    assert_int_equal(st_wal_close(w, false), ST_EFATAL);
}

/* ---- group commit -------------------------------------------------------------------------- */

enum { THREADS = 4, ITERS = 200 };

typedef struct group {
    st_wal *w;
    pthread_mutex_t mu; /* the db's write mutex: lsn assignment + append */
    pthread_barrier_t bar;
    bool rounds;        /* all threads append, then all commit, round after round */
    uint64_t next_lsn;
    int failures;       /* under mu; cmocka asserts only on the main thread */
    char why[256];
} group;

typedef struct worker {
    group *g;
    bool sync;
} worker;

static void group_fail(group *g, const char *what, uint64_t lsn, int rc) {
    pthread_mutex_lock(&g->mu);
    if (g->failures++ == 0)
        snprintf(g->why, sizeof g->why, "%s at lsn %llu: rc %d: %s", what, (unsigned long long)lsn, rc, st_errmsg());
    pthread_mutex_unlock(&g->mu);
}

static void *group_worker(void *arg) {
    worker *k = arg;
    group *g = k->g;
    st_buf p;
    st_buf_init(&p);
    for (int i = 0; i < ITERS; i++) {
        if (g->rounds) pthread_barrier_wait(&g->bar);
        pthread_mutex_lock(&g->mu);
        uint64_t lsn = ++g->next_lsn;
        st_buf_clear(&p);
        int rc = st_buf_append_fixed64(&p, lsn);
        size_t n = lsn % 100 == 0 ? 40000 : (lsn % 97) * 13; /* as wal_payload() */
        if (rc == 0) rc = st_buf_reserve(&p, n);
        if (rc == 0) {
            for (size_t j = 0; j < n; j++) p.data[p.len + j] = (uint8_t)(lsn + j);
            p.len += n;
            rc = st_wal_append(g->w, st_buf_slice(&p), lsn);
        }
        pthread_mutex_unlock(&g->mu);
        if (rc) group_fail(g, "append", lsn, rc);
        if (g->rounds) pthread_barrier_wait(&g->bar);
        rc = st_wal_commit(g->w, lsn, k->sync);
        if (rc) group_fail(g, "commit", lsn, rc);
        else if ((k->sync ? st_wal_synced_lsn(g->w) : st_wal_written_lsn(g->w)) < lsn)
            group_fail(g, "commit returned before its lsn was covered", lsn, 0);
    }
    st_buf_destroy(&p);
    return NULL;
}

static void run_group(group *g, const bool sync[THREADS]) {
    pthread_t t[THREADS];
    worker k[THREADS];
    assert_int_equal(pthread_mutex_init(&g->mu, NULL), 0);
    assert_int_equal(pthread_barrier_init(&g->bar, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        k[i] = (worker){g, sync[i]};
        assert_int_equal(pthread_create(&t[i], NULL, group_worker, &k[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&g->bar);
    pthread_mutex_destroy(&g->mu);
    if (g->failures) fail_msg("%d failures, first: %s", g->failures, g->why);
    assert_int_equal(g->next_lsn, THREADS * ITERS);
}

static void test_wal_group_commit_rounds_share_one_write_and_sync(void **state) {
    fx *x = *state;
    group g = {0};
    g.rounds = true;
    assert_int_equal(st_wal_open(x->path, 1, &g.w), 0);
    const bool sync[THREADS] = {true, true, true, true};
    run_group(&g, sync);
    /* Each round: all four batches are pending when the first commit arrives, so its thread
     * writes them all and syncs once; the other three find their lsn covered or wait for it. */
    st_wal_stats s;
    st_wal_get_stats(g.w, &s);
    assert_int_equal(s.commits, THREADS * ITERS);
    assert_int_equal(s.writes, ITERS);
    assert_int_equal(s.syncs, ITERS);
    assert_true(s.syncs < s.commits);
    assert_int_equal(s.commits_grouped, (THREADS - 1) * ITERS);
    assert_int_equal(st_wal_synced_lsn(g.w), THREADS * ITERS);
    assert_int_equal(s.bytes, st_wal_size(g.w));
    assert_int_equal(st_wal_close(g.w, true), 0);
    check_wal_records(x->path, THREADS * ITERS);
}

static void test_wal_group_commit_free_running_threads(void **state) {
    fx *x = *state;
    group g = {0};
    assert_int_equal(st_wal_open(x->path, 1, &g.w), 0);
    const bool sync[THREADS] = {true, true, true, false};
    run_group(&g, sync);
    st_wal_stats s;
    st_wal_get_stats(g.w, &s);
    assert_int_equal(s.commits, THREADS * ITERS);
    assert_true(s.writes <= s.commits);
    assert_true(s.syncs <= s.commits);
    assert_true(s.commits_grouped <= s.commits);
    assert_int_equal(st_wal_written_lsn(g.w), THREADS * ITERS);
    assert_int_equal(st_wal_commit(g.w, UINT64_MAX, true), 0);
    assert_int_equal(st_wal_synced_lsn(g.w), THREADS * ITERS);
    assert_int_equal(st_wal_close(g.w, true), 0);
    check_wal_records(x->path, THREADS * ITERS);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_frame_layout_is_byte_exact),
        T(test_frame_splits_large_record_first_middle_last),
        T(test_frame_failure_leaves_buffer_unchanged),
        T(test_log_roundtrip_sizes_around_block_edges),
        T(test_log_empty_file_is_end_of_log),
        T(test_log_writer_reopen_continues_block_structure),
        T(test_log_writer_failed_write_poisons),
        T(test_log_writer_failed_sync_poisons),
        T(test_log_truncation_at_every_offset_yields_prefix),
        T(test_log_zero_filled_tail_is_end_of_log),
        T(test_wal_zero_ahead_keeps_zeros_past_the_records),
        T(test_log_zero_hole_before_valid_record_is_corrupt),
        T(test_log_flipped_byte_in_middle_record_is_corrupt),
        T(test_log_flipped_byte_in_last_record_is_torn_tail),
        T(test_log_bad_type_byte),
        T(test_log_damaged_length_does_not_hide_later_records),
        T(test_log_damaged_first_fragment_with_later_blocks_is_corrupt),
        T(test_log_fragments_out_of_order_are_corrupt),
        T(test_log_single_flip_anywhere_is_torn_or_corrupt_exactly),
        T(test_log_random_damage_never_yields_a_wrong_record),
        T(test_log_garbage_files_yield_no_records),
        T(test_wal_roundtrip_record_sizes),
        T(test_wal_append_buffers_until_commit),
        T(test_wal_commit_writes_everything_appended),
        T(test_wal_covered_commit_makes_no_syscall),
        T(test_wal_lsn_must_increase),
        T(test_wal_open_refuses_existing_file),
        T(test_wal_close_writes_pending),
        T(test_wal_failed_sync_poisons),
        T(test_wal_failed_write_poisons),
        T(test_wal_group_commit_rounds_share_one_write_and_sync),
        T(test_wal_group_commit_free_running_threads),
    };
    return cmocka_run_group_tests_name("wal", tests, NULL, NULL);
}
