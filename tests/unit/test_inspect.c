/* test_inspect.c -- strata/st_inspect.h and st_options.read_only, on real databases in temporary
 * directories: what the offline tool (strata-sst) builds on.
 *   read-only open: sees tables and WAL-only writes, refuses every write, changes no byte and
 *     creates no file, is refused while another handle holds LOCK, never creates a database;
 *   one table: info adds up to the file, scan returns every entry in order within bounds, verify
 *     and the whole-file checksum agree with the MANIFEST, damage is ST_ECORRUPT with an offset;
 *   one WAL: records and operations as written, a torn tail is not an error, damage with valid
 *     records after it is;
 *   the MANIFEST: every edit, and a final state equal to the open database's levels. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sst_layout.h"
#include "testutil.h"

#include "strata/st.h"
#include "strata/st_inspect.h"

#define NKEYS 200

typedef struct fx {
    char *dir;
    st_options o;
} fx;

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x || !(x->dir = st_test_tmpdir("inspect"))) {
        free(x);
        return -1;
    }
    st_options_default(&x->o);
    x->o.sync_mode = ST_SYNC_NO;
    x->o.codec = ST_CODEC_NONE;
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static st_slice key_of(char *buf, int i) {
    snprintf(buf, 32, "key%06d", i);
    return st_slice_str(buf);
}

/* keys 0..NKEYS-1 -> "v<i>", flushed to a table; then keys NKEYS..NKEYS+49 and the deletion of
 * keys 0..9 in the WAL only; closed. */
static void build_db(fx *x) {
    st_db *db;
    assert_int_equal(st_db_open(x->dir, &x->o, &db), 0);
    char k[32], v[32];
    for (int i = 0; i < NKEYS; i++) {
        snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(st_db_put(db, key_of(k, i), st_slice_str(v)), 0);
    }
    assert_int_equal(st_db_flush(db), 0);
    for (int i = NKEYS; i < NKEYS + 50; i++) {
        snprintf(v, sizeof v, "w%d", i);
        assert_int_equal(st_db_put(db, key_of(k, i), st_slice_str(v)), 0);
    }
    for (int i = 0; i < 10; i++) assert_int_equal(st_db_delete(db, key_of(k, i)), 0);
    assert_int_equal(st_db_close(db), 0);
}

/* "name size xxh3\n" for every file of dir, sorted by readdir order made stable with qsort. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static char *fingerprint(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *lines[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (e->d_name[0] == '.') continue;
        char *p = st_test_path(dir, e->d_name);
        uint64_t sum = 0, size = 0;
        int rc = st_file_checksum(p, &sum, &size);
        char *line = malloc(512);
        snprintf(line, 512, "%s %llu %016llx %d\n", e->d_name, (unsigned long long)size, (unsigned long long)sum, rc);
        lines[n++] = line;
        free(p);
    }
    closedir(d);
    qsort(lines, (size_t)n, sizeof *lines, cmp_str);
    char *out = calloc(1, (size_t)n * 512 + 1);
    for (int i = 0; i < n; i++) {
        strcat(out, lines[i]);
        free(lines[i]);
    }
    return out;
}

static void test_readonly_sees_all_and_writes_nothing(void **state) {
    fx *x = *state;
    build_db(x);
    char *before = fingerprint(x->dir);
    st_options ro = x->o;
    ro.read_only = true;
    st_db *db;
    assert_int_equal(st_db_open(x->dir, &ro, &db), 0);
    char k[32], want[32];
    for (int i = 0; i < NKEYS + 50; i++) {
        uint8_t *v = NULL;
        size_t n = 0;
        int rc = st_db_get(db, NULL, key_of(k, i), &v, &n);
        if (i < 10) {
            assert_int_equal(rc, ST_ENOTFOUND); /* deleted in the WAL only */
            continue;
        }
        assert_int_equal(rc, 0);
        snprintf(want, sizeof want, "%c%d", i < NKEYS ? 'v' : 'w', i);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        free(v);
    }
    /* an iterator sees the same */
    st_iter *it;
    assert_int_equal(st_db_iter_new(db, NULL, &it), 0);
    int count = 0;
    for (st_iter_seek_first(it); st_iter_valid(it) && count < 10000; st_iter_next(it)) count++;
    assert_int_equal(st_iter_status(it), 0);
    assert_int_equal(count, NKEYS + 50 - 10);
    st_iter_free(it);
    /* every write is refused, with a message that says why */
    assert_int_equal(st_db_put(db, st_slice_str("x"), st_slice_str("y")), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "read-only"));
    assert_int_equal(st_db_delete(db, st_slice_str("key000050")), ST_EINVAL);
    assert_int_equal(st_db_flush(db), ST_EINVAL);
    assert_int_equal(st_db_compact_range(db, NULL, NULL), ST_EINVAL);
    char msg[256];
    assert_int_equal(st_db_write_status(db, msg, sizeof msg), ST_EINVAL);
    assert_non_null(strstr(msg, "read-only"));
    assert_int_equal(st_db_wait_for_compactions(db), 0); /* nothing to wait for, ever */
    st_stats s;
    assert_int_equal(st_db_stats(db, &s), 0);
    assert_int_equal(s.level_files[0] + s.level_files[1] + s.level_files[2] + s.level_files[3] + s.level_files[4] +
                         s.level_files[5] + s.level_files[6],
                     1);
    assert_int_equal(st_db_close(db), 0);
    char *after = fingerprint(x->dir);
    assert_string_equal(before, after); /* no byte changed, no file created or deleted */
    free(before);
    free(after);
}

static void test_readonly_refuses_held_lock_and_creates_nothing(void **state) {
    fx *x = *state;
    build_db(x);
    st_db *db, *db2 = NULL;
    assert_int_equal(st_db_open(x->dir, &x->o, &db), 0);
    st_options ro = x->o;
    ro.read_only = true;
    assert_int_equal(st_db_open(x->dir, &ro, &db2), ST_EBUSY);
    assert_null(db2);
    assert_non_null(strstr(st_errmsg(), "LOCK"));
    assert_int_equal(st_db_close(db), 0);
    /* a missing directory is not created; an empty one does not become a database */
    char *missing = st_test_path(x->dir, "nope");
    assert_int_equal(st_db_open(missing, &ro, &db2), ST_EINVAL);
    assert_int_equal(st_test_file_size(missing), -1);
    char *empty = st_test_path(x->dir, "empty");
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_int_equal(st_db_open(empty, &ro, &db2), ST_EINVAL);
    assert_non_null(strstr(st_errmsg(), "CURRENT"));
    DIR *d = opendir(empty);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 0);
    free(missing);
    free(empty);
}

/* The path of the one live table. */
static char *only_table(fx *x, st_manifest_table *out) {
    st_manifest_state ms;
    assert_int_equal(st_manifest_read(x->dir, NULL, NULL, &ms), 0);
    assert_int_equal(ms.n_tables, 1);
    *out = ms.tables[0];
    out->smallest = out->largest = st_slice_make(NULL, 0); /* views die with ms */
    char name[32];
    snprintf(name, sizeof name, "%06llu.sst", (unsigned long long)ms.tables[0].number);
    st_manifest_state_free(&ms);
    return st_test_path(x->dir, name);
}

typedef struct collect {
    int n;
    char first[64], last[64];
    bool ordered;
    char prevbuf[64];
} collect;

static int collect_one(void *arg, const st_sstable_entry *e) {
    collect *c = arg;
    if (c->n && st_slice_cmp(st_slice_str(c->prevbuf), e->ukey) >= 0) c->ordered = false;
    snprintf(c->prevbuf, sizeof c->prevbuf, "%.*s", (int)e->ukey.len, (const char *)e->ukey.data);
    if (!c->n) snprintf(c->first, sizeof c->first, "%s", c->prevbuf);
    snprintf(c->last, sizeof c->last, "%s", c->prevbuf);
    if (e->kind != ST_ENTRY_PUT || e->seq == 0) c->ordered = false;
    c->n++;
    return 0;
}

static void test_table_info_scan_verify_checksum(void **state) {
    fx *x = *state;
    build_db(x);
    st_manifest_table mt;
    char *path = only_table(x, &mt);
    st_sstable *t;
    assert_int_equal(st_sstable_open(path, &t), 0);
    st_sstable_info ti;
    st_sstable_get_info(t, &ti);
    assert_int_equal(ti.number, mt.number);
    assert_int_equal(ti.entries, NKEYS);
    assert_int_equal(ti.deletions, 0);
    assert_int_equal(ti.file_size, (uint64_t)st_test_file_size(path));
    assert_int_equal(ti.data_bytes + ti.filter_bytes + ti.properties_bytes + ti.index_bytes + ti.metaindex_bytes +
                         ti.footer_bytes,
                     ti.file_size);
    assert_true(ti.data_blocks >= 1);
    assert_int_equal(ti.codec, ST_CODEC_NONE);
    st_slice uk;
    uint64_t seq;
    int kind;
    assert_int_equal(st_internal_key_parse(ti.smallest, &uk, &seq, &kind), 0);
    assert_int_equal(uk.len, 9);
    assert_memory_equal(uk.data, "key000000", 9);
    assert_int_equal(kind, ST_ENTRY_PUT);

    collect c = {.ordered = true};
    assert_int_equal(st_sstable_scan(t, st_slice_make(NULL, 0), st_slice_make(NULL, 0), collect_one, &c), 0);
    assert_int_equal(c.n, NKEYS);
    assert_true(c.ordered);
    assert_string_equal(c.first, "key000000");
    /* [key000050, key000060) */
    collect b = {.ordered = true};
    assert_int_equal(st_sstable_scan(t, st_slice_str("key000050"), st_slice_str("key000060"), collect_one, &b), 0);
    assert_int_equal(b.n, 10);
    assert_string_equal(b.first, "key000050");
    assert_string_equal(b.last, "key000059");
    assert_int_equal(st_sstable_verify(t), 0);
    st_sstable_close(t);
    uint64_t sum = 0, size = 0;
    assert_int_equal(st_file_checksum(path, &sum, &size), 0);
    assert_int_equal(sum, mt.checksum);
    assert_int_equal(size, mt.size);
    free(path);
}

static void test_table_damage_is_reported_with_offset(void **state) {
    fx *x = *state;
    build_db(x);
    st_manifest_table mt;
    char *path = only_table(x, &mt);
    sst_layout l;
    sst_get_layout(path, &l);
    assert_true(l.ndata >= 1);
    /* a data block: open works (it reads only meta blocks), scan and verify fail */
    assert_int_equal(st_test_flip_byte(path, l.data[0].off + 3, 0), 0);
    st_sstable *t;
    assert_int_equal(st_sstable_open(path, &t), 0);
    collect c = {.ordered = true};
    assert_int_equal(st_sstable_scan(t, st_slice_make(NULL, 0), st_slice_make(NULL, 0), collect_one, &c), ST_ECORRUPT);
    assert_non_null(strstr(st_errtext(), "offset"));
    assert_int_equal(c.n, 0); /* nothing of a damaged block is passed on */
    assert_int_equal(st_sstable_verify(t), ST_ECORRUPT);
    st_sstable_close(t);
    uint64_t sum = 0, size = 0;
    assert_int_equal(st_file_checksum(path, &sum, &size), 0);
    assert_true(sum != mt.checksum);
    assert_int_equal(st_test_flip_byte(path, l.data[0].off + 3, 0), 0); /* undo */
    /* the footer: open fails */
    assert_int_equal(st_test_flip_byte(path, l.footer_off + 2, 0), 0);
    assert_int_equal(st_sstable_open(path, &t), ST_ECORRUPT);
    assert_null(t);
    assert_non_null(strstr(st_errtext(), path));
    free(l.data);
    /* not a table, no file, a directory */
    char *junk = st_test_path(x->dir, "junk.bin");
    FILE *f = fopen(junk, "w");
    for (int i = 0; i < 300; i++) fputc(i * 7, f);
    fclose(f);
    assert_int_equal(st_sstable_open(junk, &t), ST_ECORRUPT);
    char *none = st_test_path(x->dir, "000999.sst");
    assert_int_equal(st_sstable_open(none, &t), ST_ENOTFOUND);
    assert_int_equal(st_sstable_open(x->dir, &t), ST_EINVAL);
    free(junk);
    free(none);
    free(path);
}

/* ---- WAL ---- */

typedef struct wal_seen {
    uint64_t records, ops, dels, first;
} wal_seen;

static int on_rec(void *arg, const st_wal_record *r) {
    wal_seen *w = arg;
    if (!w->records) w->first = r->first_seq;
    w->records++;
    return r->end > r->offset ? 0 : -100;
}

static int on_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    wal_seen *w = arg;
    w->ops++;
    w->dels += kind == ST_ENTRY_DEL;
    return seq && key.len ? 0 : -100;
}

static int stop_at_second(void *arg, const st_wal_record *r) {
    (void)r;
    wal_seen *w = arg;
    return ++w->records == 2 ? 7 : 0;
}

/* The one WAL left after build_db-like writes: 3 batches of 2, 3 and 1 operations. */
static char *write_wal(fx *x) {
    st_db *db;
    assert_int_equal(st_db_open(x->dir, &x->o, &db), 0);
    st_batch *b;
    assert_int_equal(st_batch_new(&b), 0);
    const int sizes[3] = {2, 3, 1};
    char k[32];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        st_batch_clear(b);
        for (int j = 0; j < sizes[i]; j++, n++) {
            if (n == 4) assert_int_equal(st_batch_delete(b, key_of(k, 0)), 0);
            else assert_int_equal(st_batch_put(b, key_of(k, n), st_slice_str("value")), 0);
        }
        assert_int_equal(st_db_write(db, b, 0, NULL), 0);
    }
    st_batch_free(b);
    assert_int_equal(st_db_close(db), 0);
    st_manifest_state ms;
    assert_int_equal(st_manifest_read(x->dir, NULL, NULL, &ms), 0);
    char name[32];
    snprintf(name, sizeof name, "%06llu.log", (unsigned long long)ms.log_number);
    st_manifest_state_free(&ms);
    return st_test_path(x->dir, name);
}

static void test_wal_records_torn_tail_and_damage(void **state) {
    fx *x = *state;
    char *wal = write_wal(x);
    wal_seen w = {0};
    st_wal_summary s;
    assert_int_equal(st_wal_file_read(wal, on_rec, on_op, &w, &s), 0);
    assert_int_equal(w.records, 3);
    assert_int_equal(w.ops, 6);
    assert_int_equal(w.dels, 1);
    assert_int_equal(s.records, 3);
    assert_int_equal(s.ops, 6);
    assert_int_equal(s.first_seq, w.first);
    assert_int_equal(s.last_seq, s.first_seq + 5);
    assert_int_equal(s.torn_bytes, 0);
    assert_true(s.valid_bytes > 0 && s.valid_bytes <= s.file_bytes);
    uint64_t valid = s.valid_bytes;
    /* a callback's non-zero return stops the read and is returned */
    wal_seen stop = {0};
    assert_int_equal(st_wal_file_read(wal, stop_at_second, NULL, &stop, NULL), 7);
    assert_int_equal(stop.records, 2);
    /* the last record cut short: a torn tail, the first two records stand */
    assert_int_equal(st_test_truncate(wal, valid - 3), 0);
    wal_seen w2 = {0};
    assert_int_equal(st_wal_file_read(wal, on_rec, on_op, &w2, &s), 0);
    assert_int_equal(w2.records, 2);
    assert_int_equal(s.records, 2);
    assert_true(s.torn_bytes > 0);
    /* the first record damaged, the second valid: corruption, named with its offset */
    assert_int_equal(st_test_flip_byte(wal, 9, 0), 0);
    assert_int_equal(st_wal_file_read(wal, NULL, NULL, NULL, &s), ST_ECORRUPT);
    assert_non_null(strstr(st_errtext(), "offset"));
    assert_int_equal(st_wal_file_read("/nonexistent/000001.log", NULL, NULL, NULL, &s), ST_ENOTFOUND);
    free(wal);
}

/* ---- MANIFEST ---- */

typedef struct man_seen {
    uint64_t edits, added, deleted;
} man_seen;

static int on_edit(void *arg, const st_manifest_edit *e) {
    man_seen *m = arg;
    assert_int_equal(e->index, m->edits);
    m->edits++;
    m->added += e->n_added;
    m->deleted += e->n_deleted;
    for (size_t i = 0; i < e->n_added; i++) assert_true(e->added[i].number > 0 && e->added[i].size > 0);
    return 0;
}

static void test_manifest_history_and_state(void **state) {
    fx *x = *state;
    build_db(x);
    st_db *db;
    assert_int_equal(st_db_open(x->dir, &x->o, &db), 0); /* recovery flushes the WAL's writes */
    assert_int_equal(st_db_compact_range(db, NULL, NULL), 0);
    st_stats s;
    assert_int_equal(st_db_stats(db, &s), 0);
    assert_int_equal(st_db_close(db), 0);
    man_seen m = {0};
    st_manifest_state ms;
    assert_int_equal(st_manifest_read(x->dir, on_edit, &m, &ms), 0);
    assert_int_equal(ms.edits, m.edits);
    assert_true(m.edits >= 2);
    assert_true(m.deleted >= 1); /* the compaction replaced its inputs */
    assert_int_equal(m.added - m.deleted, ms.n_tables);
    uint64_t per_level[ST_MAX_LEVELS] = {0};
    for (size_t i = 0; i < ms.n_tables; i++) {
        per_level[ms.tables[i].level]++;
        assert_true(ms.tables[i].smallest.len >= 8 && ms.tables[i].largest.len >= 8);
    }
    for (int l = 0; l < ST_MAX_LEVELS; l++) assert_int_equal(per_level[l], s.level_files[l]);
    assert_true(ms.last_seq >= NKEYS + 60);
    assert_non_null(strstr(ms.manifest, "MANIFEST-"));
    st_manifest_state_free(&ms);
    /* a damaged first record with a valid one after it */
    char *cur = st_test_path(x->dir, "CURRENT");
    FILE *f = fopen(cur, "r");
    char name[64] = "";
    assert_non_null(fgets(name, sizeof name, f));
    fclose(f);
    name[strcspn(name, "\n")] = 0;
    char *man = st_test_path(x->dir, name);
    assert_int_equal(st_test_flip_byte(man, 9, 0), 0);
    assert_int_equal(st_manifest_read(x->dir, NULL, NULL, &ms), ST_ECORRUPT);
    assert_non_null(strstr(st_errtext(), name));
    /* no CURRENT: not a database */
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(st_manifest_read(x->dir, NULL, NULL, &ms), ST_EINVAL);
    free(cur);
    free(man);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readonly_sees_all_and_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_refuses_held_lock_and_creates_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_info_scan_verify_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_damage_is_reported_with_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_records_torn_tail_and_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest_history_and_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
