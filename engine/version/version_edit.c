/* version_edit.c -- encoding and decoding of MANIFEST records.
 *
 * Record = sequence of (tag, fields); every integer is a varint64 unless marked. Tags (on disk:
 * never renumber):
 *   1 log_number | 2 next_file | 3 last_seq
 *   4 deleted file: level (< 64), number
 *   5 new file: level (< 64), number, size, entries, min_seq, max_seq,
 *     checksum fixed64, ctime, codec (<= 255), tier (<= 255),
 *     smallest, largest (varint32 length + bytes, internal keys)
 * An unknown tag fails the decode: a MANIFEST written by a newer format is not half-understood. */
#include "version_edit.h"

#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/ikey.h"

enum { TAG_LOG_NUMBER = 1, TAG_NEXT_FILE = 2, TAG_LAST_SEQ = 3, TAG_DELETED = 4, TAG_NEW_FILE = 5 };

#define MAX_LEVEL_ON_DISK 64

int st_file_meta_new(st_file_meta **out) {
    st_file_meta *f = calloc(1, sizeof *f);
    *out = f;
    if (!f) return ST_ENOMEM;
    atomic_init(&f->refs, 1);
    st_buf_init(&f->smallest);
    st_buf_init(&f->largest);
    return 0;
}

void st_file_meta_ref(st_file_meta *f) { atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed); }

void st_file_meta_unref(st_file_meta *f) {
    if (!f) return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1) return;
    st_sst_reader_unref(f->reader);
    if (f->obsolete_path) {
        /* F1: no version, iterator or compaction holds the file any more (moved copies hold f) */
        st_io_unlink(f->obsolete_path);
        free(f->obsolete_path);
    }
    st_file_meta_unref(f->moved_from);
    st_buf_destroy(&f->smallest);
    st_buf_destroy(&f->largest);
    free(f);
}

int st_file_meta_copy(const st_file_meta *f, int level, int tier, st_file_meta **out) {
    st_file_meta *m;
    *out = NULL;
    ST_TRY(st_file_meta_new(&m));
    int rc = st_buf_append(&m->smallest, f->smallest.data, f->smallest.len);
    if (!rc) rc = st_buf_append(&m->largest, f->largest.data, f->largest.len);
    if (rc) {
        st_file_meta_unref(m);
        return rc;
    }
    m->level = level;
    m->number = f->number;
    m->size = f->size;
    m->entries = f->entries;
    m->min_seq = f->min_seq;
    m->max_seq = f->max_seq;
    m->checksum = f->checksum;
    m->ctime = f->ctime;
    m->codec = f->codec;
    m->tier = tier;
    *out = m;
    return 0;
}

int st_file_meta_moved(st_file_meta *f, int level, st_file_meta **out) {
    st_file_meta *m;
    ST_TRY(st_file_meta_copy(f, level, f->tier, &m));
    if (f->reader) st_sst_reader_ref(f->reader);
    m->reader = f->reader;
    st_file_meta_ref(f);
    m->moved_from = f;
    *out = m;
    return 0;
}

int st_file_meta_mark_obsolete(st_file_meta *f, const char *path) {
    while (f->moved_from) f = f->moved_from;
    if (f->obsolete_path) return 0;
    char *p = strdup(path);
    if (!p) return ST_ENOMEM;
    f->obsolete_path = p;
    return 0;
}

st_slice st_file_meta_ukey_smallest(const st_file_meta *f) { return st_ikey_user(st_buf_slice(&f->smallest)); }
st_slice st_file_meta_ukey_largest(const st_file_meta *f) { return st_ikey_user(st_buf_slice(&f->largest)); }

void st_edit_init(st_version_edit *e) { memset(e, 0, sizeof *e); }

void st_edit_destroy(st_version_edit *e) {
    for (size_t i = 0; i < e->n_added; i++) st_file_meta_unref(e->added[i]);
    free(e->added);
    free(e->deleted);
    st_edit_init(e);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * elem);
    if (!p) return ST_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

int st_edit_delete_file(st_version_edit *e, int level, uint64_t number) {
    ST_TRY(grow((void **)&e->deleted, &e->cap_deleted, e->n_deleted, sizeof *e->deleted));
    e->deleted[e->n_deleted].level = level;
    e->deleted[e->n_deleted].number = number;
    e->n_deleted++;
    return 0;
}

int st_edit_add_file(st_version_edit *e, st_file_meta *f) {
    ST_TRY(grow((void **)&e->added, &e->cap_added, e->n_added, sizeof *e->added));
    st_file_meta_ref(f);
    e->added[e->n_added++] = f;
    return 0;
}

int st_edit_encode(const st_version_edit *e, st_buf *out) {
    int rc = 0;
#define PUT(x) do { if ((rc = (x)) < 0) return rc; } while (0)
    if (e->has_log_number) { PUT(st_buf_append_varint64(out, TAG_LOG_NUMBER)); PUT(st_buf_append_varint64(out, e->log_number)); }
    if (e->has_next_file) { PUT(st_buf_append_varint64(out, TAG_NEXT_FILE)); PUT(st_buf_append_varint64(out, e->next_file)); }
    if (e->has_last_seq) { PUT(st_buf_append_varint64(out, TAG_LAST_SEQ)); PUT(st_buf_append_varint64(out, e->last_seq)); }
    for (size_t i = 0; i < e->n_deleted; i++) {
        PUT(st_buf_append_varint64(out, TAG_DELETED));
        PUT(st_buf_append_varint64(out, (uint64_t)e->deleted[i].level));
        PUT(st_buf_append_varint64(out, e->deleted[i].number));
    }
    for (size_t i = 0; i < e->n_added; i++) {
        const st_file_meta *f = e->added[i];
        PUT(st_buf_append_varint64(out, TAG_NEW_FILE));
        PUT(st_buf_append_varint64(out, (uint64_t)f->level));
        PUT(st_buf_append_varint64(out, f->number));
        PUT(st_buf_append_varint64(out, f->size));
        PUT(st_buf_append_varint64(out, f->entries));
        PUT(st_buf_append_varint64(out, f->min_seq));
        PUT(st_buf_append_varint64(out, f->max_seq));
        PUT(st_buf_append_fixed64(out, f->checksum));
        PUT(st_buf_append_varint64(out, f->ctime));
        PUT(st_buf_append_varint64(out, (uint64_t)f->codec));
        PUT(st_buf_append_varint64(out, (uint64_t)f->tier));
        PUT(st_buf_append_lenprefixed(out, st_buf_slice(&f->smallest)));
        PUT(st_buf_append_lenprefixed(out, st_buf_slice(&f->largest)));
    }
#undef PUT
    return 0;
}

static int corrupt(size_t off, const char *what) {
    return st_err(ST_ECORRUPT, "manifest record: %s at byte %zu", what, off);
}

int st_edit_decode(st_slice rec, st_version_edit *e) {
    /* An empty record may come with data NULL (an st_buf never grown), and NULL + 0 is undefined. */
    const uint8_t *p = rec.data, *end = rec.len ? rec.data + rec.len : rec.data;
    while (p < end) {
        size_t off = (size_t)(p - rec.data);
        uint64_t tag, a, b;
        if (!(p = st_get_varint64(p, end, &tag))) return corrupt(off, "truncated tag");
        switch (tag) {
        case TAG_LOG_NUMBER:
        case TAG_NEXT_FILE:
        case TAG_LAST_SEQ:
            if (!(p = st_get_varint64(p, end, &a))) return corrupt(off, "truncated number");
            if (tag == TAG_LOG_NUMBER) e->has_log_number = true, e->log_number = a;
            else if (tag == TAG_NEXT_FILE) e->has_next_file = true, e->next_file = a;
            else e->has_last_seq = true, e->last_seq = a;
            break;
        case TAG_DELETED:
            if (!(p = st_get_varint64(p, end, &a)) || !(p = st_get_varint64(p, end, &b)))
                return corrupt(off, "truncated deleted-file entry");
            if (a >= MAX_LEVEL_ON_DISK) return corrupt(off, "bad level");
            ST_TRY(st_edit_delete_file(e, (int)a, b));
            break;
        case TAG_NEW_FILE: {
            st_file_meta *f;
            ST_TRY(st_file_meta_new(&f));
            uint64_t level = 0, codec = 0, tier = 0;
            st_slice sm, lg;
            bool ok = (p = st_get_varint64(p, end, &level)) && (p = st_get_varint64(p, end, &f->number)) &&
                      (p = st_get_varint64(p, end, &f->size)) && (p = st_get_varint64(p, end, &f->entries)) &&
                      (p = st_get_varint64(p, end, &f->min_seq)) && (p = st_get_varint64(p, end, &f->max_seq)) &&
                      (end - p >= 8);
            if (ok) {
                f->checksum = st_get_fixed64(p);
                p += 8;
                ok = (p = st_get_varint64(p, end, &f->ctime)) && (p = st_get_varint64(p, end, &codec)) &&
                     (p = st_get_varint64(p, end, &tier)) && (p = st_get_lenprefixed(p, end, &sm)) &&
                     (p = st_get_lenprefixed(p, end, &lg));
            }
            if (!ok || level >= MAX_LEVEL_ON_DISK || codec > 255 || tier > 255 ||
                sm.len < ST_IKEY_TAG_BYTES || lg.len < ST_IKEY_TAG_BYTES) {
                st_file_meta_unref(f);
                return corrupt(off, "malformed new-file entry");
            }
            f->level = (int)level;
            f->codec = (int)codec;
            f->tier = (int)tier;
            int rc = st_buf_append(&f->smallest, sm.data, sm.len);
            if (!rc) rc = st_buf_append(&f->largest, lg.data, lg.len);
            if (!rc) rc = st_edit_add_file(e, f);
            st_file_meta_unref(f);
            if (rc) return rc;
            break;
        }
        default:
            return corrupt(off, "unknown tag");
        }
        if (!p) return corrupt(off, "truncated field");
    }
    return 0;
}
