/* inspect.c -- strata/st_inspect.h: tables, WALs and the MANIFEST read one at a time for tools.
 *
 * Thin on purpose: each function drives the reader the engine itself uses (sstable_reader,
 * log_reader + st_batch_iterate, st_edit_decode + st_version_apply), so a tool's verdict on a file
 * is the engine's. No cache, no table cache: every block a tool asks for is read from the file
 * and checked on the spot. */
#include "strata/st_inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "table/sstable_format.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/ikey.h"
#include "version/filename.h"
#include "version/version.h"
#include "wal/log_reader.h"
#include "write_batch.h"

struct st_sstable {
    st_sst_reader *r;
};

static int open_err(int rc, const char *what, const char *path) {
    if (rc == -ENOENT) return st_err(ST_ENOTFOUND, "%s: no such file", path);
    return st_err(st_err_from_errno(rc), "%s %s: %s", what, path, strerror(-rc));
}

/* A regular file: tools get a clear message for a directory or a device, not a format error. */
static int check_regular(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return open_err(-errno, "stat", path);
    if (!S_ISREG(st.st_mode)) return st_err(ST_EINVAL, "%s is not a regular file", path);
    return 0;
}

int st_file_name_parse(const char *name, uint64_t *number) {
    const char *base = strrchr(name, '/');
    uint64_t n = 0;
    enum st_file_type t = st_fn_parse(base ? base + 1 : name, &n);
    if (number) *number = n;
    switch (t) {
    case ST_FT_LOG: return ST_FILE_WAL;
    case ST_FT_TABLE: return ST_FILE_TABLE;
    case ST_FT_MANIFEST: return ST_FILE_MANIFEST;
    case ST_FT_CURRENT: return ST_FILE_CURRENT;
    case ST_FT_LOCK: return ST_FILE_LOCK;
    default: return ST_FILE_OTHER;
    }
}

int st_sstable_open(const char *path, st_sstable **out) {
    *out = NULL;
    ST_TRY(check_regular(path));
    uint64_t number = 0;
    if (st_file_name_parse(path, &number) != ST_FILE_TABLE) number = 0;
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc) return open_err(rc, "open", path);
    st_sstable *t = calloc(1, sizeof *t);
    if (!t) {
        st_file_close(f);
        return st_err(ST_ENOMEM, "no memory to open %s", path);
    }
    if ((rc = st_sst_reader_open(f, number, NULL, &t->r))) { /* takes f */
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void st_sstable_close(st_sstable *t) {
    if (!t) return;
    st_sst_reader_unref(t->r);
    free(t);
}

void st_sstable_get_info(const st_sstable *t, st_sstable_info *out) {
    memset(out, 0, sizeof *out);
    const st_sst_props *p = st_sst_reader_props(t->r);
    st_sst_layout l;
    st_sst_reader_layout(t->r, &l);
    out->number = st_sst_reader_number(t->r);
    out->file_size = l.file_size;
    out->data_bytes = l.data_bytes;
    out->filter_bytes = l.filter_bytes;
    out->properties_bytes = l.properties_bytes;
    out->index_bytes = l.index_bytes;
    out->metaindex_bytes = l.metaindex_bytes;
    out->footer_bytes = l.footer_bytes;
    out->entries = p->entries;
    out->deletions = p->deletions;
    out->data_blocks = p->data_blocks;
    out->raw_key_bytes = p->raw_key_bytes;
    out->raw_value_bytes = p->raw_value_bytes;
    out->min_seq = p->min_seq;
    out->max_seq = p->max_seq;
    out->creation_time = p->creation_time;
    out->codec = (int)p->codec;
    out->block_bytes = p->block_bytes;
    out->bloom_bits_per_key = p->bloom_bits_per_key;
    out->format_version = p->format_version;
    out->smallest = st_buf_slice(&p->smallest);
    out->largest = st_buf_slice(&p->largest);
}

int st_internal_key_parse(st_slice ikey, st_slice *ukey, uint64_t *seq, int *kind) {
    st_ikey_parts p;
    if (!st_ikey_parse(ikey, &p)) return st_err(ST_ECORRUPT, "malformed internal key of %zu bytes", ikey.len);
    *ukey = p.ukey;
    *seq = p.seq;
    *kind = p.kind;
    return 0;
}

int st_sstable_scan(st_sstable *t, st_slice from, st_slice to, st_sstable_entry_fn fn, void *arg) {
    st_sst_iter_opts o = st_sst_iter_opts_default();
    o.fill_cache = false;
    st_iter *it;
    ST_TRY(st_sst_reader_iter_new_opts(t->r, &o, &it));
    int rc = 0;
    if (from.len) {
        st_buf seek;
        st_buf_init(&seek);
        rc = st_ikey_append(&seek, from, ST_SEQ_MAX, ST_KIND_SEEK);
        if (!rc) st_iter_seek(it, st_buf_slice(&seek));
        st_buf_destroy(&seek);
        if (rc) rc = st_err(ST_ENOMEM, "no memory for a seek key");
    } else {
        st_iter_seek_first(it);
    }
    for (; !rc && st_iter_valid(it); st_iter_next(it)) {
        st_ikey_parts p;
        st_slice k = st_iter_key(it);
        if (!st_ikey_parse(k, &p)) {
            rc = st_err(ST_ECORRUPT, "sst %" PRIu64 ": malformed internal key of %zu bytes",
                        st_sst_reader_number(t->r), k.len);
            break;
        }
        if (to.len && st_slice_cmp(p.ukey, to) >= 0) break;
        st_sstable_entry e = {p.ukey, p.seq, p.kind, p.kind == ST_KIND_PUT ? st_iter_value(it) : st_slice_make("", 0)};
        rc = fn(arg, &e);
    }
    if (!rc) rc = st_iter_status(it);
    st_iter_free(it);
    return rc;
}

int st_sstable_verify(st_sstable *t) { return st_sst_reader_verify(t->r); }

int st_file_checksum(const char *path, uint64_t *checksum, uint64_t *size) {
    *checksum = *size = 0;
    ST_TRY(check_regular(path));
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc) return open_err(rc, "open", path);
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        st_file_close(f);
        return st_err(ST_ENOMEM, "no memory to read %s", path);
    }
    st_hash_state h;
    st_hash_begin(&h);
    uint64_t off = 0;
    for (;;) {
        size_t got = 0;
        if ((rc = st_file_pread(f, buf, CHUNK, off, &got))) {
            rc = st_err(st_err_from_errno(rc), "read %s at offset %" PRIu64 ": %s", path, off, strerror(-rc));
            break;
        }
        st_hash_feed(&h, buf, got);
        off += got;
        if (got < CHUNK) break;
    }
    free(buf);
    st_file_close(f);
    if (!rc) {
        *checksum = st_hash_end(&h);
        *size = off;
    }
    return rc;
}

/* ---- WAL ------------------------------------------------------------------------------------- */

typedef struct wal_ops {
    st_wal_op_fn fn;
    void *arg;
} wal_ops;

static int count_noop(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    (void)arg, (void)seq, (void)kind, (void)key, (void)value;
    return 0;
}

static int pass_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    wal_ops *w = arg;
    return w->fn(w->arg, seq, kind, key, value);
}

int st_wal_file_read(const char *path, st_wal_record_fn on_record, st_wal_op_fn on_op, void *arg,
                     st_wal_summary *out) {
    st_wal_summary sum = {0};
    if (out) *out = sum;
    ST_TRY(check_regular(path));
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc) return open_err(rc, "open", path);
    st_file_size(f, &sum.file_bytes);
    st_log_reader *r;
    ST_TRY(st_log_reader_new(f, &r)); /* takes f */
    st_buf rec;
    st_buf_init(&rec);
    uint64_t start = 0;
    while ((rc = st_log_reader_next(r, &rec)) == 0) {
        st_slice b = st_buf_slice(&rec);
        /* recovery's rule: a batch that does not parse whole is damage, even under a good checksum */
        if (b.len < ST_BATCH_HEADER || (rc = st_batch_iterate(b, count_noop, NULL))) {
            rc = st_err(ST_ECORRUPT, "WAL %s: record %" PRIu64 " at offset %" PRIu64 " holds a malformed batch%s%s", path,
                        sum.records + 1, start, rc ? ": " : "", rc ? st_err_text(st_errmsg()) : "");
            break;
        }
        st_wal_record wr = {start, st_log_reader_end_off(r), st_batch_seq(b), st_batch_rep_count(b), b.len};
        if (!sum.records) sum.first_seq = wr.first_seq;
        if (wr.count) sum.last_seq = wr.first_seq + wr.count - 1;
        sum.records++;
        sum.ops += wr.count;
        sum.valid_bytes = wr.end;
        if (on_record && (rc = on_record(arg, &wr))) break;
        wal_ops w = {on_op, arg};
        if (on_op && (rc = st_batch_iterate(b, pass_op, &w))) break;
        start = wr.end;
    }
    if (rc == ST_ENOTFOUND) {
        rc = 0;
        sum.torn_bytes = st_log_reader_dropped(r);
    }
    st_buf_destroy(&rec);
    st_log_reader_free(r);
    if (out) *out = sum;
    return rc;
}

/* ---- MANIFEST -------------------------------------------------------------------------------- */

static void table_of(const st_file_meta *f, int level, st_manifest_table *t) {
    t->level = level;
    t->tier = f->tier;
    t->number = f->number;
    t->size = f->size;
    t->entries = f->entries;
    t->min_seq = f->min_seq;
    t->max_seq = f->max_seq;
    t->checksum = f->checksum;
    t->creation_time = f->ctime;
    t->codec = f->codec;
    t->smallest = st_buf_slice(&f->smallest);
    t->largest = st_buf_slice(&f->largest);
}

/* Calls fn with e's view. */
static int report_edit(const st_version_edit *e, uint64_t index, uint64_t end, st_manifest_edit_fn fn, void *arg) {
    st_manifest_deleted *del = calloc(e->n_deleted + 1, sizeof *del);
    st_manifest_table *add = calloc(e->n_added + 1, sizeof *add);
    int rc = 0;
    if (!del || !add) {
        rc = st_err(ST_ENOMEM, "no memory for a MANIFEST record");
    } else {
        for (size_t i = 0; i < e->n_deleted; i++) del[i] = (st_manifest_deleted){e->deleted[i].level, e->deleted[i].number};
        for (size_t i = 0; i < e->n_added; i++) table_of(e->added[i], e->added[i]->level, &add[i]);
        st_manifest_edit me = {index, end, e->has_log_number, e->has_next_file, e->has_last_seq, e->log_number,
                               e->next_file, e->last_seq, e->n_deleted, e->n_added, del, add};
        rc = fn(arg, &me);
    }
    free(del);
    free(add);
    return rc;
}

/* Copies v's tables into s (keys included: the version is gone when the caller reads them). */
static int state_of(const st_version *v, st_manifest_state *s) {
    size_t n = 0, bytes = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            n++;
            bytes += v->files[l][j]->smallest.len + v->files[l][j]->largest.len;
        }
    /* one block: the array, then every key it points at */
    uint8_t *mem = malloc(n * sizeof *s->tables + bytes + 1);
    if (!mem) return st_err(ST_ENOMEM, "no memory for the MANIFEST's tables");
    s->tables = (st_manifest_table *)(void *)mem;
    uint8_t *keys = mem + n * sizeof *s->tables;
    size_t i = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++, i++) {
            const st_file_meta *f = v->files[l][j];
            table_of(f, l, &s->tables[i]);
            if (f->smallest.len) memcpy(keys, f->smallest.data, f->smallest.len);
            s->tables[i].smallest = st_slice_make(keys, f->smallest.len);
            keys += f->smallest.len;
            if (f->largest.len) memcpy(keys, f->largest.data, f->largest.len);
            s->tables[i].largest = st_slice_make(keys, f->largest.len);
            keys += f->largest.len;
        }
    s->n_tables = n;
    return 0;
}

void st_manifest_state_free(st_manifest_state *s) {
    if (!s) return;
    free(s->manifest);
    free(s->tables);
    memset(s, 0, sizeof *s);
}

int st_manifest_read(const char *dir, st_manifest_edit_fn fn, void *arg, st_manifest_state *state) {
    if (state) memset(state, 0, sizeof *state);
    char path[ST_PATH_MAX], mpath[ST_PATH_MAX];
    if (strlen(dir) > ST_PATH_MAX - 64) return st_err(ST_EINVAL, "directory name too long");
    char *cur = NULL;
    size_t len = 0;
    int rc = st_io_read_all(st_fn_current(path, dir), &cur, &len);
    if (rc == -ENOENT) return st_err(ST_EINVAL, "%s is not a database: it has no CURRENT file", dir);
    if (rc) return open_err(rc, "read", path);
    uint64_t num = 0;
    if (len < 2 || cur[len - 1] != '\n' || memchr(cur, '/', len) || memchr(cur, 0, len)) {
        free(cur);
        return st_err(ST_ECORRUPT, "%s does not name a MANIFEST", path);
    }
    cur[len - 1] = 0;
    if (st_fn_parse(cur, &num) != ST_FT_MANIFEST) {
        free(cur);
        return st_err(ST_ECORRUPT, "%s does not name a MANIFEST", path);
    }
    st_fn_join(mpath, dir, cur);
    free(cur);
    st_file *f;
    rc = st_file_open(mpath, ST_OPEN_READ, &f);
    if (rc == -ENOENT) return st_err(ST_ECORRUPT, "CURRENT names %s, which is missing", mpath);
    if (rc) return open_err(rc, "open", mpath);
    st_log_reader *r;
    ST_TRY(st_log_reader_new(f, &r));
    st_log_reader_set_strict(r, true); /* as an open reads it (manifest.c) */
    st_version *v = NULL;
    if ((rc = st_version_new_empty(&v))) {
        st_log_reader_free(r);
        return rc;
    }
    st_manifest_state s = {0};
    st_buf rec;
    st_buf_init(&rec);
    uint64_t n = 0;
    while ((rc = st_log_reader_next(r, &rec)) == 0) {
        st_version_edit e;
        st_edit_init(&e);
        rc = st_edit_decode(st_buf_slice(&rec), &e);
        st_version *nv = NULL;
        if (!rc) rc = st_version_apply(v, &e, &nv);
        if (rc == ST_ECORRUPT)
            rc = st_err(rc, "MANIFEST %s: record %" PRIu64 " (ending at offset %" PRIu64 "): %s", mpath, n,
                        st_log_reader_end_off(r), st_err_text(st_errmsg()));
        if (!rc) {
            st_version_unref(v);
            v = nv;
            if (e.has_log_number) s.log_number = e.log_number;
            if (e.has_next_file) s.next_file = e.next_file;
            if (e.has_last_seq) s.last_seq = e.last_seq;
            if (fn) rc = report_edit(&e, n, st_log_reader_end_off(r), fn, arg);
        }
        st_edit_destroy(&e);
        if (rc) break;
        n++;
    }
    if (rc == ST_ENOTFOUND) rc = n ? 0 : st_err(ST_ECORRUPT, "%s holds no version record", mpath);
    s.edits = n;
    if (!rc && state) {
        rc = state_of(v, &s);
        if (!rc && !(s.manifest = strdup(mpath))) rc = st_err(ST_ENOMEM, "no memory");
        if (rc) st_manifest_state_free(&s);
        else *state = s;
    }
    st_buf_destroy(&rec);
    st_version_unref(v);
    st_log_reader_free(r);
    return rc;
}
