/* table_out.c -- one new table file: create, build, fdatasync, reopen; see table_out.h.
 * The reopened reader verifies the footer, index and filter just written, and shares the db's
 * block cache, so the first reads of a new table hit blocks that a compaction never cached. */
#include "table_out.h"

#include <errno.h>
#include <stdio.h>
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
    t->tier = db->tiers.level_tier[level];
    st_tiers_table_path(&db->tiers, t->tier, t->number, t->path);
    snprintf(t->tmp, sizeof t->tmp, "%s.tmp", t->path);
    st_seqwriter_options wo = {.direct = db->tiers.direct[t->tier], .chunk_bytes = 1u << 20, .max_in_flight = 1};
    if (wo.direct) {
        /* Writes inside the preallocated size run in parallel on ext4 (io.h); finish truncates
         * to the real size. An upper bound for the usual table: a memtable or a compaction
         * output, plus slack for the last entry and the meta blocks. */
        uint64_t bound = db->opts.write_buffer_bytes > db->opts.target_file_size_base ? db->opts.write_buffer_bytes
                                                                                       : db->opts.target_file_size_base;
        wo.prealloc_bytes = bound + bound / 8;
        wo.max_in_flight = 4;
    }
    int rc = st_seqwriter_open(t->tmp, &wo, &t->w);
    if (rc) return io_err(rc, "create", t->tmp);
    st_sst_opts so;
    st_db_level_sst_opts(&db->opts, level, &so);
    t->codec = so.codec;
    if ((rc = st_sst_builder_new_seq(t->w, t->path, &so, &t->b))) st_db_table_abandon(t);
    return rc;
}

int st_db_table_add(st_table_out *t, st_slice ikey, st_slice value) {
    t->entries++;
    return st_sst_builder_add(t->b, ikey, value);
}

uint64_t st_db_table_size(const st_table_out *t) { return st_sst_builder_file_size(t->b); }

void st_db_table_abandon(st_table_out *t) {
    if (!t->w && !t->b) return;
    st_sst_builder_free(t->b);
    st_seqwriter_abort(t->w); /* unlinks the temp file */
    t->b = NULL;
    t->w = NULL;
}

int st_db_table_finish(st_db *db, st_table_out *t, st_file_meta **out) {
    *out = NULL;
    st_file_meta *fm = NULL;
    st_sst_meta meta;
    st_sst_meta_init(&meta);
    int rc = st_sst_builder_finish(t->b, &meta);
    if (rc) goto out;
    /* T1: complete and fdatasync'ed under the temp name, then renamed and the directory synced */
    if ((rc = st_seqwriter_finish(t->w))) {
        rc = st_err(st_err_from_errno(rc), "writing out table %s (its last bytes, then fdatasync): %s", t->tmp,
                    strerror(-rc));
        goto out;
    }
    if ((rc = st_seqwriter_commit(t->w, t->path))) {
        rc = st_err(st_err_from_errno(rc), "rename of %s into place or fsync of its directory: %s", t->tmp,
                    strerror(-rc));
        goto out;
    }
    st_sst_builder_free(t->b);
    t->b = NULL;
    rc = st_seqwriter_close(t->w);
    t->w = NULL;
    if (rc) {
        rc = io_err(rc, "close", t->path);
        goto out;
    }
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
    fm->tier = t->tier;
    atomic_fetch_add(&db->stat.tier_written[t->tier], meta.file_size);
    if ((rc = st_buf_append(&fm->smallest, meta.smallest.data, meta.smallest.len)) ||
        (rc = st_buf_append(&fm->largest, meta.largest.data, meta.largest.len)))
        goto out;
    st_file *rf;
    if ((rc = st_file_open(t->path, st_tiers_read_flags(&db->tiers, t->tier), &rf))) {
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
        st_seqwriter_abort(t->w);
        t->w = NULL;
        st_io_unlink(t->path); /* renamed already, or absent */
    }
    return rc;
}
