/* test_io_uring.c -- engine/io's backends, O_DIRECT, the sequential writer and batched reads.
 * Every test runs twice in one process: group "io_uring" (st_io_init with uring_all, so single
 * ops on buffered files use the ring too; skipped where io_uring is unavailable) and group
 * "posix" (forced fallback). O_DIRECT is checked in /proc/self/fdinfo, the fallback when a
 * filesystem refuses it through ST_FAULT_DIRECT (tmpfs accepts O_DIRECT since Linux 6.6), the
 * io_uring fallback through ST_FAULT_URING. Every loop is bounded; random tests print a seed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"

typedef struct fixture {
    char *dir;
    bool uring; /* the io_uring group */
    char lines[8][256];
    int nlines;
} fixture;

/* ---- helpers ---------------------------------------------------------------------------------- */

static void capture_log(const char *line, void *arg) {
    fixture *fx = arg;
    if (fx->nlines < 8) snprintf(fx->lines[fx->nlines], sizeof fx->lines[0], "%s", line);
    fx->nlines++;
}

static void reset_hooks(void) {
    for (int op = 0; op < ST_FAULT_OPS; op++) st_io_fault_arm((enum st_io_fault_op)op, 0, 0);
    st_io_test_set_short(0, 0);
}

static void init_backend(bool uring) {
    st_io_options o = {.force_posix = !uring, .uring_all = uring};
    assert_int_equal(st_io_init(&o), 0);
}

static int setup_common(void **state, bool uring) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    fx->uring = uring;
    fx->dir = st_test_tmpdir("iou");
    if (!fx->dir) {
        free(fx);
        return -1;
    }
    reset_hooks();
    st_io_set_log(capture_log, fx);
    init_backend(uring);
    fx->nlines = 0;
    *state = fx;
    return 0;
}

static int setup_uring(void **state) { return setup_common(state, true); }
static int setup_posix(void **state) { return setup_common(state, false); }

static int teardown(void **state) {
    fixture *fx = *state;
    reset_hooks(); /* a failed assertion must not leave a fault armed for the next test */
    st_io_set_log(NULL, NULL);
    st_test_rmrf(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* The io_uring group's tests need io_uring; elsewhere they are skipped, not passed. */
static void need_backend(void **state) {
    fixture *fx = *state;
    if (fx->uring && st_io_backend_active() != ST_IO_URING) skip();
    assert_int_equal(st_io_backend_active(), fx->uring ? ST_IO_URING : ST_IO_POSIX);
}

static char *path_in(void **state, const char *name) {
    fixture *fx = *state;
    char *p = st_test_path(fx->dir, name);
    assert_non_null(p);
    return p;
}

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 131 + (i >> 9) * 7 + 3); }

static void fill_pattern(uint8_t *p, uint64_t off, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = pattern(off + i);
}

/* Writes size pattern bytes to path through a buffered st_file. */
static void write_pattern_file(const char *path, size_t size) {
    uint8_t *data = malloc(size ? size : 1);
    assert_non_null(data);
    fill_pattern(data, 0, size);
    st_file *f = NULL;
    assert_int_equal(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f), 0);
    assert_int_equal(st_file_append(f, data, size), 0);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_close(f), 0);
    free(data);
}

/* The open flags of fd from /proc/self/fdinfo ("flags:\t0100002"), or -1. */
static long fdinfo_flags(int fd) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    long flags = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "flags:", 6)) flags = strtol(line + 6, NULL, 8);
    fclose(f);
    return flags;
}

static void expect_direct_flag(st_file *f, bool want) {
    long flags = fdinfo_flags(st_file_fd(f));
    assert_true(flags >= 0);
    assert_int_equal((flags & O_DIRECT) != 0, want);
}

/* Checks buf against the pattern: n bytes read at off of a size-byte file. */
static void expect_pattern(const uint8_t *buf, uint64_t off, size_t n, size_t nread, uint64_t size) {
    size_t want = off >= size ? 0 : (size - off < n ? (size_t)(size - off) : n);
    assert_int_equal(nread, want);
    for (size_t i = 0; i < nread; i++)
        if (buf[i] != pattern(off + i)) fail_msg("byte %zu of read at %llu differs", i, (unsigned long long)off);
}

/* ---- backend choice --------------------------------------------------------------------------- */

static void test_backend_is_the_one_asked_for(void **state) {
    fixture *fx = *state;
    need_backend(state);
    assert_string_equal(st_io_backend_name(), fx->uring ? "io_uring" : "posix");
}

static void test_uring_refused_falls_back_with_one_line(void **state) {
    fixture *fx = *state;
    const char *env = getenv("STRATA_IO_BACKEND");
    if (env && !strcmp(env, "posix")) skip(); /* the probe is never reached */
    st_io_fault_arm(ST_FAULT_URING, 1, EPERM); /* Docker's seccomp profile says EPERM */
    fx->nlines = 0;
    assert_int_equal(st_io_init(NULL), 0);
    assert_int_equal(st_io_backend_active(), ST_IO_POSIX);
    assert_string_equal(st_io_backend_name(), "posix");
    assert_int_equal(fx->nlines, 1);
    assert_non_null(strstr(fx->lines[0], "io_uring unavailable"));
    assert_non_null(strstr(fx->lines[0], strerror(EPERM)));

    /* IO still works on the fallback. */
    char *p = path_in(state, "f");
    write_pattern_file(p, 10000);
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_READ, &f), 0);
    uint8_t buf[100];
    size_t n = 0;
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 9950, &n), 0);
    expect_pattern(buf, 9950, sizeof buf, n, 10000);
    st_file_close(f);
    free(p);
    init_backend(fx->uring);
}

/* ---- O_DIRECT --------------------------------------------------------------------------------- */

static void test_direct_open_sets_o_direct_in_fdinfo(void **state) {
    need_backend(state);
    char *p = path_in(state, "cold.sst");
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_DIRECT, &f), 0);
    /* /tmp here is ext4; if TMPDIR points at a filesystem without O_DIRECT, what we report must
     * still be the truth. */
    expect_direct_flag(f, st_file_is_direct(f));
    if (st_file_is_direct(f)) {
        uint32_t a = st_file_align(f);
        assert_true(a >= 512 && a <= 65536 && (a & (a - 1)) == 0);
    } else {
        assert_int_equal(st_file_align(f), 1);
    }
    st_file_close(f);

    assert_int_equal(st_file_open(p, ST_OPEN_READ, &f), 0); /* buffered unless asked */
    expect_direct_flag(f, false);
    assert_false(st_file_is_direct(f));
    assert_int_equal(st_file_align(f), 1);
    st_file_close(f);
    free(p);
}

static void test_direct_on_tmpfs_reports_what_the_kernel_did(void **state) {
    need_backend(state);
    struct stat st;
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) skip();
    char tmpl[] = "/dev/shm/strata-iou-XXXXXX";
    if (!mkdtemp(tmpl)) skip();
    char *p = st_test_path(tmpl, "x");
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_DIRECT, &f), 0);
    expect_direct_flag(f, st_file_is_direct(f));
    uint32_t a = st_file_align(f);
    size_t n = 4 * (size_t)a;
    uint8_t *buf = st_io_aligned_alloc(n, a), *back = malloc(n);
    assert_non_null(buf);
    assert_non_null(back);
    fill_pattern(buf, 0, n);
    assert_int_equal(st_file_pwrite(f, buf, n, 0), 0);
    size_t got = 0;
    assert_int_equal(st_file_pread(f, back, n - 3, 3, &got), 0);
    expect_pattern(back, 3, n - 3, got, n);
    st_file_close(f);
    free(buf);
    free(back);
    st_test_rmrf(tmpl);
    free(p);
}

static void test_refused_direct_falls_back_to_buffered_and_logs_once(void **state) {
    fixture *fx = *state;
    need_backend(state);
    char *p = path_in(state, "a.sst"), *q = path_in(state, "b.sst");
    st_io_fault_arm(ST_FAULT_DIRECT, 1, EINVAL); /* what open(O_DIRECT) says where refused */
    st_file *f = NULL;
    assert_int_equal(
        st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL | ST_OPEN_DIRECT, &f), 0);
    assert_false(st_file_is_direct(f));
    assert_int_equal(st_file_align(f), 1);
    expect_direct_flag(f, false);
    assert_int_equal(st_file_append(f, "abc", 3), 0); /* buffered: any size goes */
    st_file_close(f);
    assert_int_equal(fx->nlines, 1);
    assert_non_null(strstr(fx->lines[0], "O_DIRECT refused"));
    assert_non_null(strstr(fx->lines[0], fx->dir));

    st_io_fault_arm(ST_FAULT_DIRECT, 1, EINVAL); /* same directory: no second line */
    assert_int_equal(st_file_open(q, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_DIRECT, &f), 0);
    assert_false(st_file_is_direct(f));
    st_file_close(f);
    assert_int_equal(fx->nlines, 1);

    /* Other open errors are errors, not fallbacks. */
    st_io_fault_arm(ST_FAULT_DIRECT, 1, EACCES);
    f = (st_file *)&f;
    assert_int_equal(st_file_open(q, ST_OPEN_READ | ST_OPEN_DIRECT, &f), -EACCES);
    assert_null(f);
    free(p);
    free(q);
}

static void test_direct_unaligned_reads_return_the_right_bytes(void **state) {
    need_backend(state);
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("direct_unaligned_reads", 42));
    const size_t size = 5 * 4096 + 777; /* the tail is not a whole block */
    char *p = path_in(state, "t.sst");
    write_pattern_file(p, size);
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_READ | ST_OPEN_DIRECT, &f), 0);
    expect_direct_flag(f, st_file_is_direct(f));
    uint8_t *mem = st_io_aligned_alloc(size + 8192, 4096);
    assert_non_null(mem);
    for (int i = 0; i < 600; i++) {
        uint64_t off = st_rng_below(&rng, size + 100);
        size_t n = (size_t)st_rng_below(&rng, i % 10 == 0 ? size : 9000);
        uint8_t *buf = mem + st_rng_below(&rng, 64); /* unaligned memory too */
        size_t got = 99999;
        assert_int_equal(st_file_pread(f, buf, n, off, &got), 0);
        expect_pattern(buf, off, n, got, size);
    }
    static const struct { uint64_t off; size_t n; } edges[] = {
        {0, 0}, {0, 1}, {0, 4096}, {4096, 4096}, {5 * 4096, 777}, {5 * 4096, 4096},
        {5 * 4096 + 776, 1}, {5 * 4096 + 777, 1}, {size - 10, 10}, {size - 10, 11},
        {1, size - 1}, {0, size}, {0, size + 8192}, {1u << 30, 4096}, {4095, 2},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        size_t got = 99999;
        assert_int_equal(st_file_pread(f, mem, edges[i].n, edges[i].off, &got), 0);
        expect_pattern(mem, edges[i].off, edges[i].n, got, size);
    }
    free(mem);
    st_file_close(f);
    free(p);
}

static void test_direct_writes_need_aligned_offsets_and_lengths(void **state) {
    need_backend(state);
    char *p = path_in(state, "w.sst");
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_DIRECT, &f), 0);
    if (!st_file_is_direct(f)) {
        st_file_close(f);
        free(p);
        skip();
    }
    uint32_t a = st_file_align(f);
    uint8_t *mem = st_io_aligned_alloc(4 * (size_t)a + 64, a);
    assert_non_null(mem);
    fill_pattern(mem + 1, 0, 4 * (size_t)a);
    assert_int_equal(st_file_pwrite(f, mem + 1, a, 1), -EINVAL);     /* offset */
    assert_int_equal(st_file_pwrite(f, mem + 1, a - 1, 0), -EINVAL); /* length */
    assert_int_equal(st_file_pwrite(f, mem + 1, 4 * (size_t)a, 0), 0); /* buffer: bounced */
    fill_pattern(mem, 0, 4 * (size_t)a);
    assert_int_equal(st_file_append_off(f), 0);
    assert_int_equal(st_file_append(f, mem, 2 * (size_t)a), 0); /* aligned: straight from mem */
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_truncate(f, 3 * (uint64_t)a + 5), 0);
    uint8_t *back = malloc(8 * (size_t)a);
    size_t got = 0;
    assert_int_equal(st_file_pread(f, back, 8 * (size_t)a, 0, &got), 0);
    expect_pattern(back, 0, 8 * (size_t)a, got, 3 * (uint64_t)a + 5);
    free(back);
    free(mem);
    st_file_close(f);
    free(p);
}

/* ---- retries ---------------------------------------------------------------------------------- */

static void test_short_transfers_and_eagain_are_retried(void **state) {
    need_backend(state);
    const size_t size = (1u << 20) + 4321;
    uint8_t *data = malloc(size), *back = malloc(size + 100);
    assert_non_null(data);
    assert_non_null(back);
    fill_pattern(data, 0, size);
    st_io_test_set_short(1000, 3); /* every transfer short; every third completion -EAGAIN */
    char *p = path_in(state, "s");
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    assert_int_equal(st_file_append(f, data, size), 0);
    assert_int_equal(st_file_sync(f), 0);
    size_t got = 0;
    assert_int_equal(st_file_pread(f, back, size + 100, 0, &got), 0);
    expect_pattern(back, 0, size + 100, got, size);
    st_file_close(f);

    /* Direct: the cap rounds up to the alignment, tails end short at EOF. */
    assert_int_equal(st_file_open(p, ST_OPEN_READ | ST_OPEN_DIRECT, &f), 0);
    assert_int_equal(st_file_pread(f, back, size - 3, 3, &got), 0);
    expect_pattern(back, 3, size - 3, got, size);
    st_io_req reqs[8];
    for (size_t i = 0; i < 8; i++)
        reqs[i] = (st_io_req){.file = f, .off = i * 131072 + i, .len = 70000, .buf = back + i * 70000};
    assert_int_equal(st_io_read_batch(reqs, 8), 0);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(reqs[i].rc, 0);
        expect_pattern(reqs[i].buf, reqs[i].off, reqs[i].len, reqs[i].nread, size);
    }
    st_file_close(f);

    /* The sequential writer goes through the same retry paths. */
    st_seqwriter_options o = {.direct = true, .chunk_bytes = 64 << 10, .max_in_flight = 3};
    char *final = path_in(state, "s.sst");
    st_seqwriter *w = NULL;
    assert_int_equal(st_seqwriter_open(p, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, data, size), 0);
    assert_int_equal(st_seqwriter_commit(w, final), 0);
    assert_int_equal(st_seqwriter_close(w), 0);
    st_io_test_set_short(0, 0);
    assert_int_equal(st_test_file_size(final), size);
    char *all = NULL;
    size_t len = 0;
    assert_int_equal(st_io_read_all(final, &all, &len), 0);
    assert_int_equal(len, size);
    assert_memory_equal(all, data, size);
    free(all);
    free(final);
    free(p);
    free(data);
    free(back);
}

/* ---- sequential writer ------------------------------------------------------------------------ */

/* Writes size pattern bytes in random-sized appends and commits; checks size, bytes, no temp. */
static void seqwrite_and_check(void **state, st_rng *rng, size_t size, const st_seqwriter_options *o) {
    char *tmp = path_in(state, "000042.sst.tmp"), *final = path_in(state, "000042.sst");
    uint8_t *data = malloc(size ? size : 1);
    assert_non_null(data);
    fill_pattern(data, 0, size);
    st_seqwriter *w = NULL;
    assert_int_equal(st_seqwriter_open(tmp, o, &w), 0);
    assert_int_equal(st_seqwriter_is_direct(w), o->direct); /* /tmp is ext4 here */
    size_t pos = 0;
    for (int i = 0; pos < size && i < 1000000; i++) {
        size_t n = 1 + (size_t)st_rng_below(rng, i % 7 == 0 ? 300000 : 5000);
        if (n > size - pos) n = size - pos;
        assert_int_equal(st_seqwriter_append(w, data + pos, n), 0);
        pos += n;
    }
    assert_int_equal(pos, size);
    assert_int_equal(st_seqwriter_append(w, data, 0), 0);
    assert_int_equal(st_seqwriter_size(w), size);
    assert_int_equal(st_seqwriter_commit(w, final), 0);
    assert_int_equal(st_seqwriter_close(w), 0);
    assert_false(st_io_exists(tmp));
    assert_int_equal(st_test_file_size(final), (long long)size);
    char *all = NULL;
    size_t len = 0;
    assert_int_equal(st_io_read_all(final, &all, &len), 0);
    assert_int_equal(len, size);
    if (size) assert_memory_equal(all, data, size);
    free(all);
    assert_int_equal(st_io_unlink(final), 0);
    free(data);
    free(tmp);
    free(final);
}

static void test_seqwriter_files_have_exact_sizes_and_bytes(void **state) {
    need_backend(state);
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("seqwriter_exact", 7));
    const size_t chunk = 64 << 10;
    static const size_t sizes[] = {0, 1, 511, 512, 4095, 4096, 4097, (64 << 10) - 1, 64 << 10,
                                   (64 << 10) + 1, 3 * (64 << 10) + 123, 11 * (64 << 10) + 4096};
    for (int direct = 0; direct < 2; direct++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            st_seqwriter_options o = {.direct = direct, .chunk_bytes = chunk, .max_in_flight = 4,
                                      .prealloc_bytes = i % 2 ? sizes[i] + 100000 : 0};
            seqwrite_and_check(state, &rng, sizes[i], &o);
        }
    }
    /* Defaults: 1 MiB chunks, 4 in flight, several chunks, preallocation larger than the file. */
    st_seqwriter_options o = {.direct = true, .prealloc_bytes = 8u << 20};
    seqwrite_and_check(state, &rng, (5u << 20) + 333, &o);
}

static void test_seqwriter_abort_and_unfinished_close_remove_the_temp_file(void **state) {
    need_backend(state);
    char *tmp = path_in(state, "x.tmp");
    st_seqwriter_options o = {.direct = true, .chunk_bytes = 8192, .max_in_flight = 2,
                              .prealloc_bytes = 1 << 20};
    uint8_t buf[30000];
    fill_pattern(buf, 0, sizeof buf);
    st_seqwriter *w = NULL;
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, sizeof buf), 0); /* writes in flight */
    assert_true(st_io_exists(tmp));
    st_seqwriter_abort(w);
    assert_false(st_io_exists(tmp));
    st_seqwriter_abort(NULL);

    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, 100), 0);
    assert_int_equal(st_seqwriter_close(w), 0); /* never finished: same as abort */
    assert_false(st_io_exists(tmp));
    assert_int_equal(st_seqwriter_close(NULL), 0);

    /* Finished but not committed: the caller owns the file at the temp path. */
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, 100), 0);
    assert_int_equal(st_seqwriter_finish(w), 0);
    assert_int_equal(st_seqwriter_finish(w), 0); /* idempotent */
    assert_int_equal(st_seqwriter_append(w, buf, 1), -EINVAL);
    assert_int_equal(st_seqwriter_close(w), 0);
    assert_int_equal(st_test_file_size(tmp), 100);
    free(tmp);
}

static void test_seqwriter_faults_poison_it_and_abort_cleans_up(void **state) {
    need_backend(state);
    char *tmp = path_in(state, "f.tmp"), *final = path_in(state, "f.sst");
    st_seqwriter_options o = {.direct = true, .chunk_bytes = 8192, .max_in_flight = 2};
    static uint8_t buf[100000];
    fill_pattern(buf, 0, sizeof buf);
    st_seqwriter *w = NULL;

    /* Write: the 3rd chunk fails; that append and every later call say so. */
    st_io_fault_arm(ST_FAULT_WRITE, 3, EIO);
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    int rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++) rc = st_seqwriter_append(w, buf, 5000);
    assert_int_equal(rc, -EIO);
    assert_int_equal(st_seqwriter_append(w, buf, 1), -EIO);
    assert_int_equal(st_seqwriter_finish(w), -EIO);
    assert_int_equal(st_seqwriter_commit(w, final), -EIO);
    st_seqwriter_abort(w);
    assert_false(st_io_exists(tmp));
    assert_false(st_io_exists(final));

    /* Sync: finish fails, nothing is published. */
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, sizeof buf), 0);
    assert_int_equal(st_seqwriter_commit(w, final), -EIO);
    assert_false(st_io_exists(final));
    assert_int_equal(st_seqwriter_close(w), 0); /* poisoned: close removes the temp file */
    assert_false(st_io_exists(tmp));

    /* Rename: the file is complete at the temp path; abort removes it. */
    st_io_fault_arm(ST_FAULT_RENAME, 1, ENOSPC);
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, sizeof buf), 0);
    assert_int_equal(st_seqwriter_commit(w, final), -ENOSPC);
    assert_true(st_io_exists(tmp));
    assert_false(st_io_exists(final));
    st_seqwriter_abort(w);
    assert_false(st_io_exists(tmp));

    /* The directory sync after the rename: the file is published, the writer still reports. */
    st_io_fault_arm(ST_FAULT_SYNC, 2, EIO); /* 1st: the file's fdatasync; 2nd: the directory */
    assert_int_equal(st_seqwriter_open(tmp, &o, &w), 0);
    assert_int_equal(st_seqwriter_append(w, buf, 10), 0);
    assert_int_equal(st_seqwriter_commit(w, final), -EIO);
    st_seqwriter_abort(w); /* renamed away: abort must not touch the final name */
    assert_true(st_io_exists(final));
    assert_false(st_io_exists(tmp));

    /* Open errors: no writer. */
    w = (st_seqwriter *)&w;
    assert_int_equal(st_seqwriter_open("/nonexistent-dir/x.tmp", &o, &w), -ENOENT);
    assert_null(w);
    free(tmp);
    free(final);
}

/* ---- batched reads ---------------------------------------------------------------------------- */

static void test_batch_reads_equal_preads(void **state) {
    need_backend(state);
    st_rng rng;
    st_rng_seed(&rng, st_test_seed("batch_reads", 99));
    const size_t size = (2u << 20) + 999;
    char *p = path_in(state, "b.sst");
    write_pattern_file(p, size);
    st_file *direct = NULL, *buffered = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_READ | ST_OPEN_DIRECT, &direct), 0);
    assert_int_equal(st_file_open(p, ST_OPEN_READ, &buffered), 0);
    enum { N = 300 }; /* more than a ring's depth: submitted in waves */
    st_io_req *reqs = calloc(N, sizeof *reqs);
    uint8_t *bufs = malloc((size_t)N * 20000), *cmp = malloc(20000);
    assert_non_null(reqs);
    assert_non_null(bufs);
    assert_non_null(cmp);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t off = st_rng_below(&rng, 4) == 0 ? st_rng_below(&rng, 512) * 4096
                                                        : st_rng_below(&rng, size + 5000);
            size_t len = st_rng_below(&rng, 10) == 0 ? 4096 : (size_t)st_rng_below(&rng, 20000);
            reqs[i] = (st_io_req){.file = i % 3 ? direct : buffered, .off = off, .len = len,
                                  .buf = bufs + i * 20000, .nread = 12345, .rc = 1};
        }
        assert_int_equal(st_io_read_batch(reqs, N), 0);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(reqs[i].rc, 0);
            expect_pattern(reqs[i].buf, reqs[i].off, reqs[i].len, reqs[i].nread, size);
            size_t got = 0;
            assert_int_equal(st_file_pread(reqs[i].file, cmp, reqs[i].len, reqs[i].off, &got), 0);
            assert_int_equal(got, reqs[i].nread);
            assert_memory_equal(cmp, reqs[i].buf, got);
        }
    }
    assert_int_equal(st_io_read_batch(reqs, 0), 0);

    /* A failing request fails alone (a directory: EISDIR); the others are still read. */
    fixture *fx = *state;
    st_file *dir = NULL;
    assert_int_equal(st_file_open(fx->dir, ST_OPEN_READ, &dir), 0);
    reqs[0] = (st_io_req){.file = buffered, .off = 10, .len = 100, .buf = bufs};
    reqs[1] = (st_io_req){.file = dir, .off = 0, .len = 100, .buf = bufs + 100};
    reqs[2] = (st_io_req){.file = buffered, .off = size, .len = 100, .buf = bufs + 200};
    reqs[3] = (st_io_req){.file = direct, .off = 4096, .len = 4096, .buf = bufs + 8192};
    assert_int_equal(st_io_read_batch(reqs, 4), -EISDIR);
    assert_int_equal(reqs[0].rc, 0);
    expect_pattern(bufs, 10, 100, reqs[0].nread, size);
    assert_int_equal(reqs[1].rc, -EISDIR);
    assert_int_equal(reqs[2].rc, 0);
    assert_int_equal(reqs[2].nread, 0);
    assert_int_equal(reqs[3].rc, 0);
    expect_pattern(bufs + 8192, 4096, 4096, reqs[3].nread, size);
    st_file_close(dir);
    free(reqs);
    free(bufs);
    free(cmp);
    st_file_close(direct);
    st_file_close(buffered);
    free(p);
}

/* ---- concurrency ------------------------------------------------------------------------------ */

typedef struct reader_arg {
    st_file *f;
    size_t size;
    uint64_t seed;
    int errors;
} reader_arg;

static void *reader(void *p) {
    reader_arg *a = p;
    st_rng rng;
    st_rng_seed(&rng, a->seed);
    uint8_t *buf = malloc(16384 * 4);
    if (!buf) {
        a->errors++;
        return NULL;
    }
    for (int i = 0; i < 1500; i++) {
        uint64_t off = st_rng_below(&rng, a->size);
        size_t n = 1 + (size_t)st_rng_below(&rng, 16383), got = 0;
        if (st_file_pread(a->f, buf, n, off, &got) != 0) a->errors++;
        size_t want = a->size - off < n ? a->size - off : n;
        if (got != want) a->errors++;
        for (size_t j = 0; j < got; j++)
            if (buf[j] != pattern(off + j)) {
                a->errors++;
                break;
            }
        if (i % 50 == 0) { /* and a small batch now and then */
            st_io_req r[4];
            for (int k = 0; k < 4; k++)
                r[k] = (st_io_req){.file = a->f, .off = st_rng_below(&rng, a->size), .len = 16384,
                                   .buf = buf + k * 16384};
            if (st_io_read_batch(r, 4) != 0) a->errors++;
            for (int k = 0; k < 4; k++)
                for (size_t j = 0; j < r[k].nread; j++)
                    if (((uint8_t *)r[k].buf)[j] != pattern(r[k].off + j)) {
                        a->errors++;
                        break;
                    }
        }
    }
    free(buf);
    return NULL;
}

static void test_four_threads_read_one_file_concurrently(void **state) {
    fixture *fx = *state;
    need_backend(state);
    const size_t size = (3u << 20) + 17;
    char *p = path_in(state, "c.sst");
    write_pattern_file(p, size);
    uint64_t seed = st_test_seed("concurrent_reads", 1234);
    for (int direct = 0; direct < 2; direct++) {
        st_file *f = NULL;
        assert_int_equal(st_file_open(p, ST_OPEN_READ | (direct ? ST_OPEN_DIRECT : 0), &f), 0);
        unsigned rings_before = st_io_live_rings();
        pthread_t th[4];
        reader_arg args[4];
        for (int i = 0; i < 4; i++) {
            args[i] = (reader_arg){.f = f, .size = size, .seed = seed + (uint64_t)i};
            assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_int_equal(args[i].errors, 0);
        }
        /* Each reader had its own ring on io_uring; the key destructor freed it at exit. */
        assert_int_equal(st_io_live_rings(), rings_before);
        if (fx->uring) assert_true(rings_before >= 1); /* this thread's own */
        st_file_close(f);
    }
    free(p);
}

/* ---- fault injection on both backends ---------------------------------------------------------- */

static void test_write_and_sync_faults_fire_on_this_backend(void **state) {
    need_backend(state);
    char *p = path_in(state, "wal");
    st_file *f = NULL;
    assert_int_equal(st_file_open(p, ST_OPEN_WRITE | ST_OPEN_CREATE, &f), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 2, EIO);
    assert_int_equal(st_file_append(f, "one,", 4), 0);
    assert_int_equal(st_file_append(f, "two,", 4), -EIO);
    assert_int_equal(st_file_append(f, "three", 5), 0);
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_file_sync(f), -EIO);
    assert_int_equal(st_file_sync(f), 0);
    char buf[16];
    size_t n = 0;
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 0, &n), 0);
    assert_int_equal(n, 9);
    assert_memory_equal(buf, "one,three", 9);
    st_file_close(f);
    assert_int_equal(st_file_open(p, ST_OPEN_READ, &f), 0);
    assert_int_equal(st_file_append(f, "x", 1), -EBADF); /* the kernel's error comes through */
    st_file_close(f);
    free(p);
}

#define TU(name) cmocka_unit_test_setup_teardown(name, setup_uring, teardown)
#define TP(name) cmocka_unit_test_setup_teardown(name, setup_posix, teardown)
#define BOTH(X)                                                      \
    X(test_backend_is_the_one_asked_for),                            \
    X(test_uring_refused_falls_back_with_one_line),                  \
    X(test_direct_open_sets_o_direct_in_fdinfo),                     \
    X(test_direct_on_tmpfs_reports_what_the_kernel_did),             \
    X(test_refused_direct_falls_back_to_buffered_and_logs_once),     \
    X(test_direct_unaligned_reads_return_the_right_bytes),           \
    X(test_direct_writes_need_aligned_offsets_and_lengths),          \
    X(test_short_transfers_and_eagain_are_retried),                  \
    X(test_seqwriter_files_have_exact_sizes_and_bytes),              \
    X(test_seqwriter_abort_and_unfinished_close_remove_the_temp_file), \
    X(test_seqwriter_faults_poison_it_and_abort_cleans_up),          \
    X(test_batch_reads_equal_preads),                                \
    X(test_four_threads_read_one_file_concurrently),                 \
    X(test_write_and_sync_faults_fire_on_this_backend)

int main(void) {
    const struct CMUnitTest uring[] = {BOTH(TU)};
    const struct CMUnitTest posix[] = {BOTH(TP)};
    int failed = cmocka_run_group_tests_name("io_uring", uring, NULL, NULL);
    failed += cmocka_run_group_tests_name("posix", posix, NULL, NULL);
    return failed;
}
