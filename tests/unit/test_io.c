/* test_io.c -- engine/io on real files in a fresh temporary directory: open/append/pread/pwrite,
 * size and truncate, EOF, rename + directory sync, listing, whole-file reads, and the fault
 * injection that the WAL and recovery tests build on. Every call's -errno is checked. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "util/err.h"

typedef struct fixture {
    char *dir;
} fixture;

static void disarm_faults(void) {
    for (int op = 0; op < ST_FAULT_OPS; op++) st_io_fault_arm((enum st_io_fault_op)op, 0, 0);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    fx->dir = st_test_tmpdir("io");
    if (!fx->dir) {
        free(fx);
        return -1;
    }
    disarm_faults();
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    disarm_faults(); /* a failed assertion must not leave a fault armed for the next test */
    st_test_rmrf(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* A path inside the test dir, in a static buffer (one at a time is enough here). */
static const char *at(void **state, const char *name) {
    static char path[4096];
    fixture *fx = *state;
    snprintf(path, sizeof path, "%s/%s", fx->dir, name);
    return path;
}

static st_file *open_ok(const char *path, int flags) {
    st_file *f = NULL;
    assert_int_equal(st_file_open(path, flags, &f), 0);
    assert_non_null(f);
    return f;
}

static void expect_contents(st_file *f, const char *want, size_t n) {
    char buf[256];
    size_t got = 12345;
    assert_true(n < sizeof buf);
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 0, &got), 0);
    assert_int_equal(got, n);
    assert_memory_equal(buf, want, n);
}

/* ---- files ----------------------------------------------------------------------------------- */

static void test_append_then_pread_returns_the_bytes(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_string_equal(st_file_path(f), at(state, "a"));
    assert_int_equal(st_file_append_off(f), 0);
    assert_int_equal(st_file_append(f, "hello", 5), 0);
    assert_int_equal(st_file_append(f, " world", 6), 0);
    assert_int_equal(st_file_append_off(f), 11);
    assert_int_equal(st_file_sync(f), 0);

    uint64_t size = 0;
    assert_int_equal(st_file_size(f, &size), 0);
    assert_int_equal(size, 11);
    expect_contents(f, "hello world", 11);

    char buf[5];
    size_t n = 0;
    assert_int_equal(st_file_pread(f, buf, 5, 6, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "world", 5);
    assert_int_equal(st_file_close(f), 0);
    assert_int_equal(st_test_file_size(at(state, "a")), 11);
}

static void test_pread_past_eof_is_short_not_an_error(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "0123456789", 10), 0);
    char buf[64];
    size_t n = 999;
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 6, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "6789", 4);
    n = 999;
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 10, &n), 0);
    assert_int_equal(n, 0);
    n = 999;
    assert_int_equal(st_file_pread(f, buf, sizeof buf, 1u << 20, &n), 0);
    assert_int_equal(n, 0);
    n = 999;
    assert_int_equal(st_file_pread(f, buf, 0, 0, &n), 0);
    assert_int_equal(n, 0);
    st_file_close(f);
}

static void test_large_append_is_written_in_full(void **state) {
    size_t len = 3u << 20; /* several MiB: more than one write() may take */
    uint8_t *data = malloc(len), *back = malloc(len);
    assert_non_null(data);
    assert_non_null(back);
    for (size_t i = 0; i < len; i++) data[i] = (uint8_t)(i * 31 + (i >> 11));
    st_file *f = open_ok(at(state, "big"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, data, len), 0);
    size_t n = 0;
    assert_int_equal(st_file_pread(f, back, len, 0, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    st_file_close(f);
    free(data);
    free(back);
}

static void test_reopen_appends_after_existing_bytes(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "abc", 3), 0);
    assert_int_equal(st_file_close(f), 0);

    f = open_ok(at(state, "a"), ST_OPEN_WRITE);
    assert_int_equal(st_file_append_off(f), 3);
    assert_int_equal(st_file_append(f, "def", 3), 0);
    expect_contents(f, "abcdef", 6);
    st_file_close(f);

    f = open_ok(at(state, "a"), ST_OPEN_READ);
    expect_contents(f, "abcdef", 6);
    st_file_close(f);
}

static void test_pwrite_does_not_move_the_append_offset(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "aaaa", 4), 0);
    assert_int_equal(st_file_pwrite(f, "XY", 2, 1), 0);
    assert_int_equal(st_file_append_off(f), 4);
    assert_int_equal(st_file_append(f, "b", 1), 0);
    expect_contents(f, "aXYab", 5);
    st_file_close(f);
}

static void test_truncate_shrinks_and_pulls_back_the_append_offset(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "0123456789", 10), 0);
    assert_int_equal(st_file_truncate(f, 4), 0);
    uint64_t size = 0;
    assert_int_equal(st_file_size(f, &size), 0);
    assert_int_equal(size, 4);
    assert_int_equal(st_file_append_off(f), 4);
    assert_int_equal(st_file_append(f, "xy", 2), 0); /* lands where the file now ends */
    expect_contents(f, "0123xy", 6);
    assert_int_equal(st_file_truncate(f, 0), 0);
    assert_int_equal(st_file_size(f, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(st_file_append_off(f), 0);
    st_file_close(f);
}

static void test_open_flags_create_excl_and_trunc(void **state) {
    st_file *f = NULL;
    assert_int_equal(st_file_open(at(state, "a"), ST_OPEN_WRITE, &f), -ENOENT); /* no CREATE */
    f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL);
    assert_int_equal(st_file_append(f, "data", 4), 0);
    st_file_close(f);

    f = (st_file *)&f; /* poison: a failed open must reset it */
    assert_int_equal(st_file_open(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL, &f),
                     -EEXIST);
    assert_null(f);

    f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_TRUNC);
    assert_int_equal(st_file_append_off(f), 0);
    uint64_t size = 1;
    assert_int_equal(st_file_size(f, &size), 0);
    assert_int_equal(size, 0);
    st_file_close(f);
}

static void test_open_missing_file_is_enoent(void **state) {
    st_file *f = (st_file *)&f;
    assert_int_equal(st_file_open(at(state, "missing"), ST_OPEN_READ, &f), -ENOENT);
    assert_null(f);
    f = (st_file *)&f;
    assert_int_equal(st_file_open(at(state, "no/such/dir"), ST_OPEN_WRITE | ST_OPEN_CREATE, &f), -ENOENT);
    assert_null(f);
    assert_int_equal(st_err_from_errno(-ENOENT), ST_ENOTFOUND);
}

static void test_read_only_file_rejects_writes(void **state) {
    st_file *f = open_ok(at(state, "a"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_file_close(f);
    f = open_ok(at(state, "a"), ST_OPEN_READ);
    assert_int_equal(st_file_append(f, "x", 1), -EBADF);
    assert_int_equal(st_file_append_off(f), 0);
    st_file_close(f);
    assert_int_equal(st_file_close(NULL), 0);
}

/* ---- directories ------------------------------------------------------------------------------ */

static void test_rename_and_sync_dir_publish_a_file(void **state) {
    fixture *fx = *state;
    char *tmp = st_test_path(fx->dir, "CURRENT.tmp"), *final = st_test_path(fx->dir, "CURRENT");
    st_file *f = open_ok(tmp, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC);
    assert_int_equal(st_file_append(f, "MANIFEST-000001\n", 16), 0);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_close(f), 0);

    assert_int_equal(st_io_rename(tmp, final), 0);
    assert_int_equal(st_io_sync_dir(fx->dir), 0);
    assert_false(st_io_exists(tmp));
    assert_true(st_io_exists(final));
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(st_io_read_all(final, &data, &len), 0);
    assert_int_equal(len, 16);
    assert_string_equal(data, "MANIFEST-000001\n");
    free(data);

    /* Renaming over an existing file replaces it atomically. */
    f = open_ok(tmp, ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "MANIFEST-000002\n", 16), 0);
    st_file_close(f);
    assert_int_equal(st_io_rename(tmp, final), 0);
    assert_int_equal(st_io_read_all(final, &data, &len), 0);
    assert_string_equal(data, "MANIFEST-000002\n");
    free(data);

    assert_int_equal(st_io_rename(tmp, final), -ENOENT); /* tmp is gone now */
    assert_int_equal(st_io_sync_dir(at(state, "nodir")), -ENOENT);
    free(tmp);
    free(final);
}

static void test_mkdir_is_idempotent_and_unlink_removes(void **state) {
    fixture *fx = *state;
    char *sub = st_test_path(fx->dir, "sub");
    assert_false(st_io_exists(sub));
    assert_int_equal(st_io_mkdir(sub), 0);
    assert_true(st_io_exists(sub));
    assert_int_equal(st_io_mkdir(sub), 0); /* exists already: fine */
    assert_int_equal(st_io_mkdir(at(state, "no/parent")), -ENOENT);

    st_file *f = open_ok(at(state, "gone"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_file_close(f);
    assert_int_equal(st_io_unlink(at(state, "gone")), 0);
    assert_false(st_io_exists(at(state, "gone")));
    assert_int_equal(st_io_unlink(at(state, "gone")), -ENOENT);
    free(sub);
}

typedef struct listing {
    char names[16][32];
    int n;
    int stop_after; /* return 99 once this many names were seen; 0 = never */
} listing;

static int collect(const char *name, void *arg) {
    listing *l = arg;
    if (l->n < 16) snprintf(l->names[l->n], sizeof l->names[0], "%s", name);
    l->n++;
    return l->stop_after && l->n >= l->stop_after ? 99 : 0;
}

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

static void test_list_dir_names_every_entry_but_dots(void **state) {
    fixture *fx = *state;
    static const char *const names[] = {"000001.log", "000002.sst", "CURRENT", "MANIFEST-000003"};
    for (size_t i = 0; i < 4; i++) {
        st_file *f = open_ok(at(state, names[i]), ST_OPEN_WRITE | ST_OPEN_CREATE);
        st_file_close(f);
    }
    assert_int_equal(st_io_mkdir(at(state, "subdir")), 0);

    listing l = {.n = 0};
    assert_int_equal(st_io_list_dir(fx->dir, collect, &l), 0);
    assert_int_equal(l.n, 5);
    qsort(l.names, (size_t)l.n, sizeof l.names[0], cmp_names);
    for (size_t i = 0; i < 4; i++) assert_string_equal(l.names[i], names[i]);
    assert_string_equal(l.names[4], "subdir");

    listing stop = {.stop_after = 2};
    assert_int_equal(st_io_list_dir(fx->dir, collect, &stop), 99);
    assert_int_equal(stop.n, 2);

    listing empty = {.n = 0};
    assert_int_equal(st_io_list_dir(at(state, "subdir"), collect, &empty), 0);
    assert_int_equal(empty.n, 0);
    assert_int_equal(st_io_list_dir(at(state, "nodir"), collect, &empty), -ENOENT);
    assert_int_equal(empty.n, 0);
}

static void test_read_all_returns_whole_file_nul_terminated(void **state) {
    static const char content[] = "line one\n\0binary\xff tail";
    size_t clen = sizeof content - 1;
    st_file *f = open_ok(at(state, "cfg"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, content, clen), 0);
    st_file_close(f);

    char *data = NULL;
    size_t len = 0;
    assert_int_equal(st_io_read_all(at(state, "cfg"), &data, &len), 0);
    assert_non_null(data);
    assert_int_equal(len, clen); /* an embedded NUL does not end it */
    assert_memory_equal(data, content, clen);
    assert_int_equal(data[len], '\0');
    free(data);

    f = open_ok(at(state, "empty"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_file_close(f);
    len = 7;
    assert_int_equal(st_io_read_all(at(state, "empty"), &data, &len), 0);
    assert_non_null(data);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);

    data = (char *)&data;
    assert_int_equal(st_io_read_all(at(state, "missing"), &data, &len), -ENOENT);
    assert_null(data);
}

/* ---- fault injection -------------------------------------------------------------------------- */

static void test_armed_write_fault_fails_only_the_nth_write(void **state) {
    st_file *f = open_ok(at(state, "wal"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_io_fault_arm(ST_FAULT_WRITE, 2, EIO);
    assert_int_equal(st_file_append(f, "one,", 4), 0);
    assert_int_equal(st_file_append(f, "two,", 4), -EIO);
    assert_int_equal(st_file_append_off(f), 4); /* a failed append does not advance */
    assert_int_equal(st_file_append(f, "three", 5), 0);
    assert_int_equal(st_file_append(f, "!", 1), 0); /* fired once, then disarmed */
    expect_contents(f, "one,three!", 10);

    /* pwrite counts as a write too, and the armed errno is what comes back. */
    st_io_fault_arm(ST_FAULT_WRITE, 1, ENOSPC);
    assert_int_equal(st_file_pwrite(f, "Z", 1, 0), -ENOSPC);
    assert_int_equal(st_err_from_errno(-ENOSPC), ST_ENOSPC);
    assert_int_equal(st_file_pwrite(f, "O", 1, 0), 0);
    expect_contents(f, "One,three!", 10);

    /* Writes are not syncs: an armed sync fault leaves writes alone. */
    st_io_fault_arm(ST_FAULT_SYNC, 1, EIO);
    assert_int_equal(st_file_append(f, "?", 1), 0);
    st_file_close(f);
}

static void test_armed_sync_fault_fails_only_the_nth_sync(void **state) {
    fixture *fx = *state;
    st_file *f = open_ok(at(state, "wal"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    assert_int_equal(st_file_append(f, "rec", 3), 0);
    st_io_fault_arm(ST_FAULT_SYNC, 2, EIO);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_sync(f), -EIO);
    assert_int_equal(st_file_sync(f), 0);
    assert_int_equal(st_file_sync(f), 0);

    /* A directory sync is a sync too. */
    st_io_fault_arm(ST_FAULT_SYNC, 1, ENOSPC);
    assert_int_equal(st_io_sync_dir(fx->dir), -ENOSPC);
    assert_int_equal(st_io_sync_dir(fx->dir), 0);
    st_file_close(f);
}

static void test_disarmed_fault_never_fires(void **state) {
    st_file *f = open_ok(at(state, "wal"), ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_io_fault_arm(ST_FAULT_WRITE, 3, EIO);
    assert_int_equal(st_file_append(f, "a", 1), 0);
    st_io_fault_arm(ST_FAULT_WRITE, 0, EIO); /* disarm before it fires */
    for (int i = 0; i < 5; i++) assert_int_equal(st_file_append(f, "b", 1), 0);
    expect_contents(f, "abbbbb", 6);
    st_file_close(f);
}

static void test_armed_rename_fault_leaves_both_names(void **state) {
    fixture *fx = *state;
    char *from = st_test_path(fx->dir, "x.tmp"), *to = st_test_path(fx->dir, "x");
    st_file *f = open_ok(from, ST_OPEN_WRITE | ST_OPEN_CREATE);
    st_file_close(f);
    st_io_fault_arm(ST_FAULT_RENAME, 1, EIO);
    assert_int_equal(st_io_rename(from, to), -EIO);
    assert_true(st_io_exists(from));
    assert_false(st_io_exists(to));
    assert_int_equal(st_io_rename(from, to), 0);
    assert_false(st_io_exists(from));
    assert_true(st_io_exists(to));
    free(from);
    free(to);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_append_then_pread_returns_the_bytes),
        T(test_pread_past_eof_is_short_not_an_error),
        T(test_large_append_is_written_in_full),
        T(test_reopen_appends_after_existing_bytes),
        T(test_pwrite_does_not_move_the_append_offset),
        T(test_truncate_shrinks_and_pulls_back_the_append_offset),
        T(test_open_flags_create_excl_and_trunc),
        T(test_open_missing_file_is_enoent),
        T(test_read_only_file_rejects_writes),
        T(test_rename_and_sync_dir_publish_a_file),
        T(test_mkdir_is_idempotent_and_unlink_removes),
        T(test_list_dir_names_every_entry_but_dots),
        T(test_read_all_returns_whole_file_nul_terminated),
        T(test_armed_write_fault_fails_only_the_nth_write),
        T(test_armed_sync_fault_fails_only_the_nth_sync),
        T(test_disarmed_fault_never_fires),
        T(test_armed_rename_fault_leaves_both_names),
    };
    return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
