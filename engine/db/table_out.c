/* table_out.c -- one new table file: create, build, fdatasync, reopen; see table_out.h.
 * The reopened reader verifies the footer, index and filter just written, and shares the db's
 * block cache, so the first reads of a new table hit blocks that a compaction never cached. */
#include "table_out.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "compaction_picker.h"
#include "table/sstable_reader.h"
#include "util/err.h"

static int io_err(int neg, const char *what, const char *path) {
    return st_err(st_err_from_errno(neg), "%s %s: %s", what, path, strerror(-neg));
}

void st_db_level_sst_opts(const st_options *o, int level, st_sst_opts *so) {
    const st_level_options *lo = &o->levels[level];
    so->block_bytes = lo->block_bytes ? lo->block_bytes : o->block_bytes;
    so->restart_interval = o->restart_interval;
    so->bloom_bits_per_key = o->bloom_bits_per_key;
    so->codec = st_picker_level_codec(o, level);
    so->zstd_level = lo->codec == ST_CODEC_INHERIT ? o->zstd_level : lo->zstd_level;
}

int st_db_table_open(st_db *db, int level, st_table_out *t) {
    memset(t, 0, sizeof *t);
    t->number = st_vset_new_file_number(db->vs);
    t->level = level;
    st_fn_table(t->path, db->dir, t->number);
    int rc = st_file_open(t->path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_EXCL, &t->f);
    if (rc) return io_err(rc, "create", t->path);
    st_sst_opts so;
    st_db_level_sst_opts(&db->opts, level, &so);
    t->codec = so.codec;
    if ((rc = st_sst_builder_new(t->f, &so, &t->b))) st_db_table_abandon(t);
    return rc;
}

int st_db_table_add(st_table_out *t, st_slice ikey, st_slice value) {
    t->entries++;
    return st_sst_builder_add(t->b, ikey, value);
}

uint64_t st_db_table_size(const st_table_out *t) { return st_sst_builder_file_size(t->b); }

void st_db_table_abandon(st_table_out *t) {
    if (!t->f && !t->b) return;
    st_sst_builder_free(t->b);
    st_file_close(t->f);
    st_io_unlink(t->path);
    t->b = NULL;
    t->f = NULL;
}

int st_db_table_finish(st_db *db, st_table_out *t, bool sync_dir, st_file_meta **out) {
    *out = NULL;
    st_file_meta *fm = NULL;
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    int rc = st_sst_builder_finish(t->b, &meta);
    if (rc) goto out;
    if ((rc = st_file_sync(t->f)) || (sync_dir && (rc = st_io_sync_dir(db->dir)))) {
        rc = io_err(rc, "sync", t->path);
        goto out;
    }
    st_sst_builder_free(t->b);
    t->b = NULL;
    st_file_close(t->f);
    t->f = NULL;
    if ((rc = st_file_meta_new(&fm))) goto out;
    fm->level = t->level;
    fm->number = t->number;
    fm->size = meta.file_size;
    fm->entries = meta.entries;
    fm->min_seq = meta.min_seq;
    fm->max_seq = meta.max_seq;
    fm->checksum = meta.file_checksum;
    fm->ctime = (uint64_t)time(NULL);
    fm->codec = t->codec;
    if ((rc = st_buf_append(&fm->smallest, meta.smallest.data, meta.smallest.len)) ||
        (rc = st_buf_append(&fm->largest, meta.largest.data, meta.largest.len)))
        goto out;
    st_file *rf;
    if ((rc = st_file_open(t->path, ST_OPEN_READ, &rf))) {
        rc = io_err(rc, "open", t->path);
        goto out;
    }
    rc = st_sst_reader_open_in(rf, t->number, db->cache, db->files, &fm->reader); /* owns rf, even on failure */
    if (rc) goto out;
    *out = fm;
    fm = NULL;
out:
    st_sst_meta_destroy(&meta);
    st_file_meta_unref(fm);
    if (rc) {
        st_sst_builder_free(t->b);
        t->b = NULL;
        st_file_close(t->f);
        t->f = NULL;
        st_io_unlink(t->path);
    }
    return rc;
}
