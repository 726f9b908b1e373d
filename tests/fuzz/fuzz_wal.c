/* fuzz_wal.c -- libFuzzer target for the record log reader (engine/wal/log_reader.h) that
 * recovery runs over every WAL and the MANIFEST, and for the write batches WAL records hold
 * (engine/db/write_batch.h, st_batch_iterate), decoded as recovery decodes them.
 *
 * Input: byte 0 holds flags, the rest is the log file.
 *   bit 0  strict tail (the MANIFEST's reading, st_log_reader_set_strict)
 *   bit 1  fix checksums first (fz_log_fix_checksums), so fragment order, torn tails, zero-filled
 *          space and record boundaries get fuzzed behind valid checksums
 * Checked: the reader returns only 0, ST_ENOTFOUND or ST_ECORRUPT (a file on tmpfs does not fail
 * with EIO), and once ended keeps returning the same code; end_off only grows, stays within the
 * file and covers the record bytes returned; dropped bytes are what lies past end_off; a batch
 * decodes to exactly its count of operations or ST_ECORRUPT. And writer and reader agree: the
 * records read, framed again with the writer's framing (log_frame.h) into a fresh log, read back
 * identical, with a clean end and nothing dropped. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/write_batch.h"
#include "fuzz_common.h"
#include "strata/st_status.h"
#include "io/io.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "wal/log_frame.h"
#include "wal/log_reader.h"

#define MAX_FILE ((size_t)256 << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_io_posix();
    return 0;
}

typedef struct batch_stats {
    uint64_t ops;
    uint64_t first_seq;
    uint64_t bytes;
} batch_stats;

static int on_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    batch_stats *b = arg;
    FZ_CHECK(seq == b->first_seq + b->ops); /* operation i gets seq + i */
    FZ_CHECK(kind == ST_KIND_PUT || kind == ST_KIND_DEL);
    if (kind == ST_KIND_DEL) FZ_CHECK(value.len == 0);
    /* Touch every byte: ASan checks the views lie inside the record. */
    for (size_t i = 0; i < key.len; i++) b->bytes += key.data[i];
    for (size_t i = 0; i < value.len; i++) b->bytes += value.data[i];
    b->ops++;
    return 0;
}

static void decode_batch(st_slice rec) {
    batch_stats b = {0};
    if (rec.len >= ST_BATCH_HEADER) b.first_seq = st_batch_seq(rec);
    int rc = st_batch_iterate(rec, on_op, &b);
    FZ_CHECK(rc == 0 || rc == ST_ECORRUPT);
    if (rc == 0) FZ_CHECK(b.ops == st_batch_rep_count(rec));
}

/* The records of a log, concatenated, with their lengths. */
typedef struct records {
    st_buf bytes;
    size_t *lens;
    size_t n, cap;
    int end_rc;
    uint64_t end_off, dropped;
} records;

static void records_free(records *r) {
    st_buf_destroy(&r->bytes);
    free(r->lens);
}

static void read_log(const char *name, const uint8_t *file, size_t size, bool strict, records *out) {
    char path[FZ_PATH_MAX];
    fz_write_file(name, file, size, path);
    st_file *f;
    FZ_CHECK(st_file_open(path, ST_OPEN_READ, &f) == 0);
    st_log_reader *r;
    FZ_CHECK(st_log_reader_new(f, &r) == 0);
    st_log_reader_set_strict(r, strict);
    FZ_CHECK(st_log_reader_end_off(r) == 0 && st_log_reader_dropped(r) == 0);
    st_buf rec;
    st_buf_init(&rec);
    uint64_t prev_end = 0, payload = 0;
    int rc;
    while ((rc = st_log_reader_next(r, &rec)) == 0) {
        uint64_t end = st_log_reader_end_off(r);
        FZ_CHECK(end > prev_end && end <= size); /* every record has a header, so it moves */
        payload += rec.len;
        FZ_CHECK(payload <= end);
        prev_end = end;
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 16;
            out->lens = realloc(out->lens, out->cap * sizeof *out->lens);
            FZ_CHECK(out->lens);
        }
        out->lens[out->n++] = rec.len;
        FZ_CHECK(st_buf_append(&out->bytes, rec.data, rec.len) == 0);
        decode_batch(st_buf_slice(&rec));
    }
    FZ_CHECK(rc == ST_ENOTFOUND || rc == ST_ECORRUPT);
    uint64_t end = st_log_reader_end_off(r), dropped = st_log_reader_dropped(r);
    FZ_CHECK(end == prev_end && dropped <= size - end);
    if (rc == ST_ECORRUPT) FZ_CHECK(dropped == size - end); /* all of it is refused */
    /* Ended for good: the same answer again, nothing returned. */
    FZ_CHECK(st_log_reader_next(r, &rec) == rc && rec.len == 0);
    FZ_CHECK(st_log_reader_end_off(r) == end && st_log_reader_dropped(r) == dropped);
    if (fz_verbose())
        fprintf(stderr, "%s: %zu records, end %llu, dropped %llu: %s\n", name, out->n, (unsigned long long)end,
                (unsigned long long)dropped, rc == ST_ECORRUPT ? st_errmsg() : "clean end");
    out->end_rc = rc;
    out->end_off = end;
    out->dropped = dropped;
    st_buf_destroy(&rec);
    st_log_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_FILE) return 0;
    bool strict = data[0] & 1, fix = data[0] & 2;
    size_t n = size - 1;
    uint8_t *file = malloc(n ? n : 1);
    FZ_CHECK(file);
    if (n) memcpy(file, data + 1, n);
    if (fix) fz_log_fix_checksums(file, n);

    records got = {0};
    read_log("input.log", file, n, strict, &got);

    /* Frame what was read as the writer would and read it back. */
    st_buf framed;
    st_buf_init(&framed);
    uint64_t block_off = 0;
    size_t off = 0;
    for (size_t i = 0; i < got.n; i++) {
        const uint8_t *p = got.bytes.data ? got.bytes.data + off : NULL; /* NULL: only empty records */
        FZ_CHECK(st_log_frame(&framed, &block_off, st_slice_make(p, got.lens[i])) == 0);
        off += got.lens[i];
    }
    records again = {0};
    read_log("reframed.log", framed.data, framed.len, strict, &again);
    FZ_CHECK(again.end_rc == ST_ENOTFOUND && again.dropped == 0 && again.end_off == framed.len);
    FZ_CHECK(again.n == got.n && again.bytes.len == got.bytes.len);
    FZ_CHECK(got.n == 0 || memcmp(again.lens, got.lens, got.n * sizeof *got.lens) == 0);
    FZ_CHECK(got.bytes.len == 0 || memcmp(again.bytes.data, got.bytes.data, got.bytes.len) == 0);

    records_free(&got);
    records_free(&again);
    st_buf_destroy(&framed);
    free(file);
    return 0;
}
