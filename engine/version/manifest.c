/* manifest.c -- recovery and logging of version edits; see manifest.h.
 *
 * Switching MANIFESTs: write MANIFEST-N (snapshot edit), fsync it, write CURRENT.tmp, fsync,
 * rename over CURRENT, fsync the directory. A crash before the rename leaves the old CURRENT valid
 * and MANIFEST-N an orphan (a failed switch unlinks it; a crash leaves it to the next open).
 * Running out of space (M2): an append or sync that fails with ENOSPC/EDQUOT may have left part
 * of the record in the MANIFEST, so nothing is ever appended after it; the next edit switches to a
 * new MANIFEST instead, holding the state with that edit applied. Until a switch succeeds the old
 * MANIFEST stays CURRENT, so a crash meanwhile recovers from it: without the failed record (torn:
 * cut off by EOF, which the reader takes as the end of the log) or with it whole, and the callers
 * keep the files such a record names (maybe_logged) until the next open sorts them out. */
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filename.h"
#include "io/io.h"
#include "table/sstable_reader.h"
#include "util/err.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

struct st_vset {
    char *dir;
    pthread_mutex_t mu;       /* guards current */
    pthread_mutex_t apply_mu; /* serialises log_and_apply */
    st_version *current;
    _Atomic uint64_t next_file;
    _Atomic uint64_t last_seq;
    _Atomic uint64_t log_number;
    uint64_t manifest_number;
    st_log_writer *log;    /* NULL while `rotate` */
    int fatal;
    bool rotate;           /* the last append ran out of space: the next edit starts a new MANIFEST */
    st_block_cache *cache; /* not owned */
    st_table_cache *files; /* not owned */
    const st_tiers *tiers; /* not owned, or &own_tiers */
    st_tiers own_tiers;    /* when recovered without tiers: the directory alone */
};

static int io_err(int neg, const char *what, const char *path) {
    return st_err(st_err_from_errno(neg), "%s %s: %s", what, path, strerror(-neg));
}

static int vset_new(const char *dir, st_vset **out) {
    st_vset *vs = calloc(1, sizeof *vs);
    *out = NULL;
    if (!vs || !(vs->dir = strdup(dir))) {
        free(vs);
        return ST_ENOMEM;
    }
    pthread_mutex_init(&vs->mu, NULL);
    pthread_mutex_init(&vs->apply_mu, NULL);
    int rc = st_version_new_empty(&vs->current);
    if (rc) {
        st_vset_close(vs);
        return rc;
    }
    vs->next_file = 1;
    *out = vs;
    return 0;
}

static void install(st_vset *vs, st_version *v) {
    pthread_mutex_lock(&vs->mu);
    st_version *old = vs->current;
    vs->current = v;
    pthread_mutex_unlock(&vs->mu);
    st_version_unref(old);
}

static void absorb_counters(st_vset *vs, const st_version_edit *e) {
    if (e->has_next_file && e->next_file > vs->next_file) vs->next_file = e->next_file;
    if (e->has_last_seq && e->last_seq > vs->last_seq) vs->last_seq = e->last_seq;
    if (e->has_log_number) vs->log_number = e->log_number;
}

static int open_readers(st_vset *vs, st_version *v) {
    char path[ST_PATH_MAX];
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            st_file_meta *f = v->files[l][j];
            if (f->reader) continue;
            /* T1: the MANIFEST's tier first. A table found only in another tier's directory (the
             * tiers were reconfigured, or the file moved by hand) is used there; the next
             * MANIFEST records where it is. */
            int id;
            if (st_tiers_locate(vs->tiers, f->number, f->tier, &id) != 0) {
                int named = f->tier < vs->tiers->n ? f->tier : 0;
                return st_err(ST_ECORRUPT, "table %s named by the MANIFEST is missing (and in no other tier)",
                              st_tiers_table_path(vs->tiers, named, f->number, path));
            }
            f->tier = id;
            st_tiers_table_path(vs->tiers, id, f->number, path);
            st_file *file;
            int rc = st_file_open(path, st_tiers_read_flags(vs->tiers, id), &file);
            if (rc == -ENOENT)
                return st_err(ST_ECORRUPT, "table %s named by the MANIFEST is missing", path);
            if (rc) return io_err(rc, "open", path);
            uint64_t size;
            if ((rc = st_file_size(file, &size)) < 0) {
                st_file_close(file);
                return io_err(rc, "stat", path);
            }
            if (size != f->size) {
                st_file_close(file);
                return st_err(ST_ECORRUPT, "table %s is %" PRIu64 " bytes, the MANIFEST says %" PRIu64, path,
                              size, f->size);
            }
            rc = st_sst_reader_open_in(file, f->number, vs->cache, vs->files, &f->reader);
            if (rc) return rc;
        }
    return 0;
}

static int replay(st_vset *vs, const char *path) {
    st_file *f;
    int rc = st_file_open(path, ST_OPEN_READ, &f);
    if (rc == -ENOENT) return st_err(ST_ECORRUPT, "CURRENT names %s, which is missing", path);
    if (rc) return io_err(rc, "open", path);
    st_log_reader *r;
    ST_TRY(st_log_reader_new(f, &r));
    st_log_reader_set_strict(r, true);
    st_buf rec;
    st_buf_init(&rec);
    int n = 0;
    while ((rc = st_log_reader_next(r, &rec)) == 0) {
        st_version_edit e;
        st_edit_init(&e);
        rc = st_edit_decode(st_buf_slice(&rec), &e);
        st_version *v = NULL;
        if (!rc) rc = st_version_apply(vs->current, &e, &v);
        if (!rc) {
            absorb_counters(vs, &e);
            install(vs, v);
        }
        st_edit_destroy(&e);
        if (rc) {
            if (rc == ST_ECORRUPT)
                st_err(rc, "MANIFEST %s: record %d (ending at offset %" PRIu64 "): %s", path, n,
                       st_log_reader_end_off(r), st_err_text(st_errmsg()));
            break;
        }
        n++;
    }
    st_buf_destroy(&rec);
    st_log_reader_free(r);
    if (rc == ST_ENOTFOUND) rc = 0;
    if (!rc && n == 0) rc = st_err(ST_ECORRUPT, "%s holds no version record", path);
    return rc;
}

int st_vset_recover(const char *dir, const st_tiers *tiers, st_block_cache *cache, st_table_cache *files,
                    st_vset **out, bool *existed) {
    *out = NULL;
    st_vset *vs;
    ST_TRY(vset_new(dir, &vs));
    if (!tiers) {
        int rc = st_tiers_init(&vs->own_tiers, dir, NULL);
        if (rc) {
            st_vset_close(vs);
            return rc;
        }
        tiers = &vs->own_tiers;
    }
    vs->tiers = tiers;
    vs->cache = cache;
    vs->files = files;
    char path[ST_PATH_MAX], mpath[ST_PATH_MAX];
    char *cur = NULL;
    size_t len = 0;
    int rc = st_io_read_all(st_fn_current(path, dir), &cur, &len);
    *existed = rc == 0;
    if (rc == -ENOENT) {
        *out = vs;
        return 0;
    }
    if (rc) {
        rc = io_err(rc, "read", path);
        goto fail;
    }
    uint64_t num;
    if (len < 2 || cur[len - 1] != '\n' || memchr(cur, '/', len)) goto bad_current;
    cur[len - 1] = 0;
    if (st_fn_parse(cur, &num) != ST_FT_MANIFEST) goto bad_current;
    vs->manifest_number = num;
    if ((rc = replay(vs, st_fn_join(mpath, dir, cur))) || (rc = open_readers(vs, vs->current))) goto fail;
    if (vs->next_file <= num) vs->next_file = num + 1;
    free(cur);
    *out = vs;
    return 0;
bad_current:
    rc = st_err(ST_ECORRUPT, "%s does not name a MANIFEST", path);
fail:
    free(cur);
    st_vset_close(vs);
    return rc;
}

static int append_edit(st_log_writer *w, st_version_edit *e) {
    st_buf rec;
    st_buf_init(&rec);
    int rc = st_edit_encode(e, &rec);
    if (!rc) rc = st_log_writer_add(w, st_buf_slice(&rec));
    if (!rc) rc = st_log_writer_sync(w);
    st_buf_destroy(&rec);
    return rc;
}

/* Writes MANIFEST-N holding v (the current version with e applied) and the counters, syncs it and
 * points CURRENT at it; on success it is vs->log and v is installed. REQUIRES apply_mu. Takes v.
 * On failure the new files are removed and *renamed says whether CURRENT may already name the new
 * MANIFEST (the rename happened, its directory sync failed): then nothing may be appended to
 * either MANIFEST any more. */
static int switch_manifest(st_vset *vs, const st_version_edit *e, st_version *v, bool *renamed) {
    char path[ST_PATH_MAX], tmp[ST_PATH_MAX], cur[ST_PATH_MAX];
    *renamed = false;
    st_version_edit snap;
    st_edit_init(&snap);
    st_log_writer *w = NULL;
    st_file *f = NULL;
    bool made = false, made_tmp = false;
    uint64_t num = vs->next_file++;
    snap.has_log_number = true;
    snap.log_number = e->has_log_number ? e->log_number : vs->log_number;
    snap.has_next_file = true;
    snap.next_file = vs->next_file;
    snap.has_last_seq = true;
    snap.last_seq = e->has_last_seq && e->last_seq > vs->last_seq ? e->last_seq : vs->last_seq;
    int rc = st_version_snapshot_edit(v, &snap);
    if (rc) goto out;
    st_fn_manifest(path, vs->dir, num);
    if ((rc = st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f))) {
        rc = io_err(rc, "create", path);
        goto out;
    }
    made = true;
    if ((rc = st_log_writer_new(f, &w))) goto out;
    f = NULL;
    if ((rc = append_edit(w, &snap))) goto out;
    /* CURRENT = "MANIFEST-NNNNNN\n", replaced atomically. */
    char line[64];
    int n = snprintf(line, sizeof line, "MANIFEST-%06" PRIu64 "\n", num);
    st_fn_join(tmp, vs->dir, "CURRENT.tmp");
    st_fn_current(cur, vs->dir);
    st_file *cf;
    if ((rc = st_file_open(tmp, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &cf))) {
        rc = io_err(rc, "create", tmp);
        goto out;
    }
    made_tmp = true;
    rc = st_file_append(cf, line, (size_t)n);
    if (!rc) rc = st_file_sync(cf);
    st_file_close(cf);
    if (!rc && !(rc = st_io_rename(tmp, cur))) {
        made_tmp = false;
        *renamed = true;
        rc = st_io_sync_dir(vs->dir);
    }
    if (rc) {
        rc = io_err(rc, *renamed ? "fsync of the directory after installing" : "install", cur);
        goto out;
    }
    st_log_writer_free(vs->log);
    vs->log = w;
    w = NULL;
    vs->manifest_number = num;
    absorb_counters(vs, &snap);
    install(vs, v);
    v = NULL;
out:
    st_log_writer_free(w);
    st_file_close(f);
    st_version_unref(v);
    st_edit_destroy(&snap);
    if (rc && made_tmp) st_io_unlink(tmp);
    if (rc && made && !*renamed) st_io_unlink(path);
    return rc;
}

int st_vset_write_new_manifest(st_vset *vs, st_version_edit *e) {
    pthread_mutex_lock(&vs->apply_mu);
    st_version *v = NULL;
    bool renamed = false;
    int rc = st_version_apply(vs->current, e, &v);
    if (!rc) rc = switch_manifest(vs, e, v, &renamed);
    if (rc && rc != ST_ENOMEM) vs->fatal = ST_EFATAL;
    if (!rc) vs->rotate = false;
    pthread_mutex_unlock(&vs->apply_mu);
    return rc;
}

int st_vset_log_and_apply(st_vset *vs, st_version_edit *e) {
    bool maybe_logged;
    return st_vset_log_and_apply_ex(vs, e, &maybe_logged);
}

int st_vset_log_and_apply_ex(st_vset *vs, st_version_edit *e, bool *maybe_logged) {
    *maybe_logged = false;
    pthread_mutex_lock(&vs->apply_mu);
    int rc = vs->fatal;
    st_version *v = NULL;
    if (rc) {
        rc = st_err(ST_EFATAL, "MANIFEST: an earlier write failed; reopen the database");
        goto out;
    }
    if (!vs->log && !vs->rotate) {
        rc = st_err(ST_EINVAL, "MANIFEST: no manifest open for writing");
        goto out;
    }
    e->has_next_file = true;
    e->next_file = vs->next_file;
    e->has_last_seq = true;
    if (e->last_seq < vs->last_seq) e->last_seq = vs->last_seq;
    if ((rc = st_version_apply(vs->current, e, &v))) goto out;
    if (vs->rotate) {
        uint64_t old = vs->manifest_number;
        bool renamed;
        rc = switch_manifest(vs, e, v, &renamed);
        v = NULL;
        *maybe_logged = renamed;
        if (rc) {
            /* Short of space again: the old MANIFEST is intact and CURRENT, try at the next edit.
             * Anything else, or CURRENT naming a MANIFEST whose directory entry may not last:
             * poisoned (M2). */
            if (renamed || rc != ST_ENOSPC) vs->fatal = ST_EFATAL;
            goto out;
        }
        vs->rotate = false;
        char path[ST_PATH_MAX];
        st_io_unlink(st_fn_manifest(path, vs->dir, old)); /* no longer CURRENT: durably so */
        goto out;
    }
    *maybe_logged = true;
    if ((rc = append_edit(vs->log, e))) {
        if (rc == ST_ENOSPC) {
            vs->rotate = true;
            st_log_writer_free(vs->log);
            vs->log = NULL;
        } else {
            vs->fatal = ST_EFATAL; /* M2: the record may be half on disk; never retry a failed sync */
        }
        goto out;
    }
    absorb_counters(vs, e);
    install(vs, v);
    v = NULL;
out:
    st_version_unref(v);
    pthread_mutex_unlock(&vs->apply_mu);
    return rc;
}

st_version *st_vset_current(st_vset *vs) {
    pthread_mutex_lock(&vs->mu);
    st_version *v = vs->current;
    st_version_ref(v);
    pthread_mutex_unlock(&vs->mu);
    return v;
}

uint64_t st_vset_new_file_number(st_vset *vs) { return vs->next_file++; }
void st_vset_mark_file_number_used(st_vset *vs, uint64_t n) {
    uint64_t cur = vs->next_file;
    while (cur <= n && !atomic_compare_exchange_weak(&vs->next_file, &cur, n + 1)) {
    }
}

uint64_t st_vset_log_number(st_vset *vs) { return vs->log_number; }
uint64_t st_vset_last_seq(st_vset *vs) { return vs->last_seq; }
uint64_t st_vset_manifest_number(st_vset *vs) { return vs->manifest_number; }

void st_vset_set_last_seq(st_vset *vs, uint64_t seq) {
    uint64_t cur = vs->last_seq;
    while (seq > cur && !atomic_compare_exchange_weak(&vs->last_seq, &cur, seq)) {
    }
}

void st_vset_close(st_vset *vs) {
    if (!vs) return;
    st_log_writer_free(vs->log);
    st_version_unref(vs->current);
    pthread_mutex_destroy(&vs->mu);
    pthread_mutex_destroy(&vs->apply_mu);
    st_tiers_destroy(&vs->own_tiers);
    free(vs->dir);
    free(vs);
}
