/* compaction.c -- background compaction threads, running one compaction, st_db_compact_range and
 * write stalls; see compaction.h for the rules (CI1..CI3) and the install sequence.
 *
 * Scheduling: each compaction thread, under mu, reads the current version, scores it
 * (compaction_picker.c), marks its pick's inputs being_compacted, drops mu for all the I/O, and
 * retakes it to clear the marks and recompute the state. Flushes have their own thread, so a long
 * compaction never delays one (they share only the short MANIFEST append). A manual compaction
 * (st_db_compact_range) waits for running ones and holds new ones back while it runs.
 * Errors (db_status.h): a background compaction that fails for lack of space removes its outputs
 * (unless the failed MANIFEST record may name them: limbo), keeps its inputs, and the threads pick
 * nothing until its backoff passed; any other failure stops writes (D8). A manual compaction's
 * failure goes to its caller, and stops writes only if hard. A damaged input table is
 * ST_ECORRUPT from the merge (its message names the table and the block): nothing is installed,
 * nothing deleted. */
#include "compaction.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_status.h"
#include "merge_iter.h"
#include "migration.h"
#include "table/sstable_reader.h"
#include "table_out.h"
#include "util/err.h"
#include "util/ikey.h"
#include "version/filename.h"

uint64_t st_db_now_micros(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- state and stalls ------------------------------------------------------------------------ */

void st_db_compaction_state_update(st_db *db) {
    st_version *v = st_vset_current(db->vs);
    st_picker_level_state(&db->opts, v, &db->lstate);
    const st_options *o = &db->opts;
    int l0 = (int)v->n_files[0];
    uint64_t debt = db->lstate.pending_bytes;
    int stall = ST_STALL_NONE;
    if (l0 >= o->level0_stop_writes_trigger ||
        (o->hard_pending_compaction_bytes_limit && debt >= o->hard_pending_compaction_bytes_limit))
        stall = ST_STALL_STOP;
    else if (l0 >= o->level0_slowdown_writes_trigger ||
             (o->soft_pending_compaction_bytes_limit && debt >= o->soft_pending_compaction_bytes_limit))
        stall = ST_STALL_SLOWDOWN;
    atomic_store(&db->stall, stall);
    db->picker_idle = false;
    st_db_migration_kick(db);
#ifdef ST_DEBUG_INVARIANTS
    int rc = st_version_check(v);
    if (rc) {
        fprintf(stderr, "strata: version invariant broken: %s\n", st_errmsg());
        abort();
    }
#endif
    st_version_unref(v); /* the vset holds current: no file goes away here */
    pthread_cond_broadcast(&db->compact_cv);
    pthread_cond_broadcast(&db->done_cv);
}

int st_db_write_delay(st_db *db, size_t bytes, uint64_t *micros) {
    *micros = 0;
    ST_TRY(st_db_check_stopped(db));
    int s = atomic_load_explicit(&db->stall, memory_order_relaxed);
    if (s == ST_STALL_STOP) {
        int rc = ST_EBUSY;
        if (atomic_load(&db->soft_jobs)) { /* a compaction that cannot get space ends no stall */
            pthread_mutex_lock(&db->mu);
            if (db->soft[ST_JOB_COMPACTION].rc) rc = st_db_soft_refusal(db, ST_JOB_COMPACTION);
            pthread_mutex_unlock(&db->mu);
        }
        return rc;
    }
    if (s == ST_STALL_NONE) return 0;
    /* RocksDB's WriteController: one schedule shared by every writer; each write takes its
     * bytes' time at the rate, so writers as a whole go at delayed_write_rate while compaction
     * catches up, however many there are and whatever their batch sizes */
    uint64_t rate = db->opts.delayed_write_rate ? db->opts.delayed_write_rate : 1;
    uint64_t cost = (uint64_t)bytes * 1000000u / rate;
    uint64_t now = st_db_now_micros();
    pthread_mutex_lock(&db->delay_mu);
    if (db->delay_next_us < now) db->delay_next_us = now;
    *micros = db->delay_next_us - now;
    db->delay_next_us += cost;
    pthread_mutex_unlock(&db->delay_mu);
    atomic_fetch_add(&db->stat.write_stalls, 1);
    atomic_fetch_add(&db->stat.slowdowns, 1);
    atomic_fetch_add(&db->stat.stall_micros, *micros);
    return 0;
}

int st_db_write_stall(st_db *db) {
    if (atomic_load_explicit(&db->stall, memory_order_relaxed) != ST_STALL_STOP) return 0;
    uint64_t t0 = st_db_now_micros();
    int rc = 0;
    atomic_fetch_add(&db->stat.write_stalls, 1);
    atomic_fetch_add(&db->stat.stops, 1);
    pthread_mutex_lock(&db->mu);
    while (atomic_load(&db->stall) == ST_STALL_STOP && !db->bg_error && !db->shutting_down) {
        /* D7: with nothing running and nothing to pick, waiting would be for ever */
        if (db->picker_idle && db->compactions_running == 0 && !db->manual_active) break;
        /* ... and while compactions fail for lack of space, until someone frees some */
        if (db->soft[ST_JOB_COMPACTION].rc) {
            rc = st_db_soft_refusal(db, ST_JOB_COMPACTION);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&db->done_cv, &db->mu, &ts);
    }
    if (db->bg_error) rc = st_db_check_stopped(db);
    else if (db->shutting_down) rc = st_err(ST_EBUSY, "the database is closing");
    pthread_mutex_unlock(&db->mu);
    atomic_fetch_add(&db->stat.stall_micros, st_db_now_micros() - t0);
    return rc;
}

/* ---- one compaction -------------------------------------------------------------------------- */

typedef struct cjob {
    st_db *db;
    st_pick *p;
    uint64_t *snaps; /* live snapshot seqs, ascending */
    size_t n_snaps;
    uint64_t earliest; /* oldest snapshot, or UINT64_MAX */
    size_t lvl_ptr[ST_MAX_LEVELS];
    /* the compaction iterator */
    st_buf cur_ukey, ikey_buf;
    bool has_cur;
    size_t prev_stripe;
    /* outputs */
    st_table_out out;
    bool out_open;
    st_buf last_out_ukey;
    size_t gp_idx;
    uint64_t gp_overlap;
    bool gp_seen;
    st_file_meta **outs;
    size_t n_outs;
    uint64_t in_entries, dropped, written;
} cjob;

/* Index of the stripe holding seq: the first snapshot >= seq (n_snaps: above every snapshot). */
static size_t stripe(const cjob *j, uint64_t seq) {
    size_t lo = 0, hi = j->n_snaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->snaps[mid] < seq) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* IsBaseLevelForKey: no level below the output holds ukey. Keys arrive in ascending order, so each
 * level's cursor only moves forward. */
static bool base_for_key(cjob *j, st_slice ukey) {
    const st_version *v = j->p->v;
    for (int l = j->p->output_level + 1; l < ST_MAX_LEVELS; l++) {
        size_t *i = &j->lvl_ptr[l];
        while (*i < v->n_files[l] && st_slice_cmp(st_file_meta_ukey_largest(v->files[l][*i]), ukey) < 0) (*i)++;
        if (*i < v->n_files[l] && st_slice_cmp(st_file_meta_ukey_smallest(v->files[l][*i]), ukey) <= 0) return false;
    }
    return true;
}

/* LevelDB's ShouldStopBefore: true when the current output already overlaps too many grandparent
 * bytes to take ukey too. */
static bool gp_stop(cjob *j, st_slice ukey) {
    const st_pick *p = j->p;
    while (j->gp_idx < p->n_gp && st_slice_cmp(ukey, st_file_meta_ukey_largest(p->gp[j->gp_idx])) > 0) {
        if (j->gp_seen) j->gp_overlap += p->gp[j->gp_idx]->size;
        j->gp_idx++;
    }
    j->gp_seen = true;
    if (j->gp_overlap > p->max_gp_overlap) {
        j->gp_overlap = 0;
        return true;
    }
    return false;
}

static int finish_output(cjob *j) {
    j->out_open = false;
    st_file_meta *fm;
    ST_TRY(st_db_table_finish(j->db, &j->out, &fm));
    st_file_meta **a = realloc(j->outs, (j->n_outs + 1) * sizeof *a);
    if (!a) {
        char path[ST_PATH_MAX];
        st_file_meta_mark_obsolete(fm, st_tiers_table_path(&j->db->tiers, fm->tier, fm->number, path));
        st_file_meta_unref(fm);
        return ST_ENOMEM;
    }
    j->outs = a;
    j->outs[j->n_outs++] = fm;
    j->written += fm->size;
    return 0;
}

/* Writes one surviving entry, cutting the output only between user keys (V3). */
static int emit(cjob *j, st_slice ikey, st_slice value) {
    st_slice ukey = st_ikey_user(ikey);
    if (!j->out_open || st_slice_cmp(ukey, st_buf_slice(&j->last_out_ukey)) != 0) {
        bool stop = gp_stop(j, ukey);
        if (j->out_open && (stop || st_db_table_size(&j->out) >= j->p->target_file_bytes)) ST_TRY(finish_output(j));
        if (!j->out_open) {
            ST_TRY(st_db_table_open(j->db, j->p->output_level, &j->out));
            j->out_open = true;
        }
        st_buf_clear(&j->last_out_ukey);
        ST_TRY(st_buf_append(&j->last_out_ukey, ukey.data, ukey.len));
    }
    return st_db_table_add(&j->out, ikey, value);
}

/* The compaction iterator for one entry (CI1..CI3). */
static int process(cjob *j, st_slice ikey, st_slice value) {
    st_ikey_parts k;
    if (!st_ikey_parse(ikey, &k))
        return st_err(ST_ECORRUPT, "compaction met a malformed internal key in an input of L%d", j->p->level);
    j->in_entries++;
    bool first = !j->has_cur || st_slice_cmp(k.ukey, st_buf_slice(&j->cur_ukey)) != 0;
    size_t s = stripe(j, k.seq);
    if (first) {
        st_buf_clear(&j->cur_ukey);
        ST_TRY(st_buf_append(&j->cur_ukey, k.ukey.data, k.ukey.len));
        j->has_cur = true;
    } else if (s == j->prev_stripe) {
        j->dropped++; /* CI1 */
        return 0;
    }
    j->prev_stripe = s;
    int kind = k.kind;
    const st_options *o = &j->db->opts;
    if (first && kind == ST_KIND_PUT && o->compaction_filter) {
        st_slice nv = {0};
        st_filter_decision d = o->compaction_filter(o->compaction_filter_arg, j->p->output_level, k.ukey, value, &nv);
        if (d == ST_FILTER_REMOVE) {
            kind = ST_KIND_DEL; /* CI3 */
            value = (st_slice){0};
        } else if (d == ST_FILTER_CHANGE_VALUE) {
            value = nv;
        }
    }
    if (kind == ST_KIND_DEL && k.seq <= j->earliest && base_for_key(j, k.ukey)) {
        j->dropped++; /* CI2 */
        return 0;
    }
    if (kind != k.kind) {
        st_buf_clear(&j->ikey_buf);
        ST_TRY(st_ikey_append(&j->ikey_buf, k.ukey, k.seq, kind));
        ikey = st_buf_slice(&j->ikey_buf);
    }
    return emit(j, ikey, value);
}

static int snapshot_seqs(cjob *j) {
    st_db *db = j->db;
    pthread_mutex_lock(&db->mu);
    size_t n = 0;
    for (struct st_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) n++;
    j->snaps = n ? malloc(n * sizeof *j->snaps) : NULL;
    if (n && !j->snaps) {
        pthread_mutex_unlock(&db->mu);
        return ST_ENOMEM;
    }
    for (struct st_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) j->snaps[j->n_snaps++] = s->seq;
    pthread_mutex_unlock(&db->mu);
    /* taken in visible_seq order, so already ascending; sort anyway, it is cheap */
    for (size_t a = 1; a < j->n_snaps; a++)
        for (size_t b = a; b > 0 && j->snaps[b] < j->snaps[b - 1]; b--) {
            uint64_t t = j->snaps[b];
            j->snaps[b] = j->snaps[b - 1];
            j->snaps[b - 1] = t;
        }
    j->earliest = j->n_snaps ? j->snaps[0] : UINT64_MAX;
    return 0;
}

#define COMPACTION_READAHEAD (1u << 20)

static int merge_inputs(const st_pick *p, st_iter **out) {
    size_t n = p->n_in[0] + p->n_in[1], k = 0;
    st_iter **children = calloc(n ? n : 1, sizeof *children);
    if (!children) return ST_ENOMEM;
    st_sst_iter_opts io = st_sst_iter_opts_default();
    io.fill_cache = false; /* a compaction reads each block once: keep the cache for readers */
    int rc = 0;
    for (int i = 0; !rc && i < 2; i++)
        for (size_t x = 0; !rc && x < p->n_in[i]; x++) {
            /* O_DIRECT tables get no kernel readahead: read them 1 MiB at a time ourselves (on an
             * HDD, 16 x 64 KiB blocks per seek instead of one) */
            io.readahead_bytes = st_sst_reader_is_direct(p->in[i][x]->reader) ? COMPACTION_READAHEAD : 0;
            rc = st_sst_reader_iter_new_opts(p->in[i][x]->reader, &io, &children[k++]);
        }
    if (rc) {
        for (size_t x = 0; x < k; x++) st_iter_free(children[x]);
        free(children);
        return rc;
    }
    return st_merge_iter_new(children, k, out);
}

static int install(st_db *db, st_pick *p, st_file_meta **outs, size_t n_outs, bool *maybe_logged) {
    st_version_edit e;
    st_edit_init(&e);
    int rc = 0;
    for (int i = 0; !rc && i < 2; i++)
        for (size_t x = 0; !rc && x < p->n_in[i]; x++) rc = st_edit_delete_file(&e, p->in[i][x]->level, p->in[i][x]->number);
    for (size_t x = 0; !rc && x < n_outs; x++) rc = st_edit_add_file(&e, outs[x]);
    if (!rc) rc = st_vset_log_and_apply_ex(db->vs, &e, maybe_logged);
    st_edit_destroy(&e);
    return rc;
}

/* Relinks every input table one level down in one version edit (decide_move said they fit). */
static int trivial_move(st_db *db, st_pick *p) {
    st_version_edit e;
    st_edit_init(&e);
    int rc = 0;
    for (size_t j = 0; !rc && j < p->n_in[0]; j++) {
        st_file_meta *m;
        if ((rc = st_file_meta_moved(p->in[0][j], p->output_level, &m))) break;
        rc = st_edit_delete_file(&e, p->level, m->number);
        if (!rc) rc = st_edit_add_file(&e, m);
        st_file_meta_unref(m);
    }
    if (!rc) rc = st_vset_log_and_apply(db->vs, &e);
    st_edit_destroy(&e);
    if (!rc) atomic_fetch_add(&db->stat.trivial_moves, 1);
    return rc;
}

int st_db_run_compaction(st_db *db, st_pick *p) {
    int rc;
    if (p->trivial_move) {
        rc = trivial_move(db, p);
        if (!rc) atomic_fetch_add(&db->stat.compactions, 1);
        return rc;
    }
    cjob j;
    memset(&j, 0, sizeof j);
    j.db = db;
    j.p = p;
    st_buf_init(&j.cur_ukey);
    st_buf_init(&j.ikey_buf);
    st_buf_init(&j.last_out_ukey);
    st_iter *it = NULL;
    bool maybe_logged = false; /* the failed edit naming the outputs may be on disk */
    if ((rc = snapshot_seqs(&j)) || (rc = merge_inputs(p, &it))) goto out;
    uint64_t n = 0;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it)) {
        if ((++n & 1023) == 0 && atomic_load_explicit(&db->closing, memory_order_relaxed)) {
            rc = ST_EBUSY;
            goto out;
        }
        if ((rc = process(&j, st_iter_key(it), st_iter_value(it)))) goto out;
    }
    if ((rc = st_iter_status(it))) goto out;
    if (j.out_open && (rc = finish_output(&j))) goto out;
    if (atomic_load(&db->closing)) {
        rc = ST_EBUSY;
        goto out;
    }
    if ((rc = install(db, p, j.outs, j.n_outs, &maybe_logged))) goto out;
    st_db_limbo_sweep(db);
    /* F1: the inputs go once nothing reads them; we still hold them through p */
    char path[ST_PATH_MAX];
    for (int i = 0; i < 2; i++)
        for (size_t x = 0; x < p->n_in[i]; x++)
            st_file_meta_mark_obsolete(p->in[i][x], st_tiers_table_path(&db->tiers, p->in[i][x]->tier,
                                                                             p->in[i][x]->number, path));
    atomic_fetch_add(&db->stat.compactions, 1);
    atomic_fetch_add(&db->stat.compact_read, p->input_bytes);
    atomic_fetch_add(&db->stat.compact_written, j.written);
    atomic_fetch_add(&db->stat.compact_in, j.in_entries);
    atomic_fetch_add(&db->stat.compact_dropped, j.dropped);
out:
    st_iter_free(it);
    if (j.out_open) st_db_table_abandon(&j.out);
    for (size_t x = 0; x < j.n_outs; x++) {
        /* Not installed: remove the outputs. If the MANIFEST append itself failed, its record may
         * still be on disk, so they stay while that MANIFEST is CURRENT (limbo; a crash leaves
         * them for the next open to judge: delete_obsolete). */
        if (rc) {
            char opath[ST_PATH_MAX];
            st_tiers_table_path(&db->tiers, j.outs[x]->tier, j.outs[x]->number, opath);
            if (maybe_logged) st_db_limbo_add(db, opath);
            else st_file_meta_mark_obsolete(j.outs[x], opath);
        }
        st_file_meta_unref(j.outs[x]);
    }
    free(j.outs);
    free(j.snaps);
    st_buf_destroy(&j.cur_ukey);
    st_buf_destroy(&j.ikey_buf);
    st_buf_destroy(&j.last_out_ukey);
    return rc;
}

/* ---- background threads ---------------------------------------------------------------------- */

/* REQUIRES mu. A conflict-free pick of the current state, inputs marked; NULL when none. */
static st_pick *pick_locked(st_db *db) {
    if (db->bg_error || db->manual_active || db->shutting_down) return NULL;
    st_version *v = st_vset_current(db->vs);
    st_level_state ls;
    st_picker_level_state(&db->opts, v, &ls);
    st_pick *p = NULL;
    if (st_picker_pick(&db->opts, v, &ls, &p)) p = NULL; /* ENOMEM: try again at the next change */
    st_version_unref(v);
    if (p) {
        st_pick_mark(p, true);
        db->compactions_running++;
    }
    return p;
}

/* REQUIRES mu. Clears the marks and publishes the outcome; drops mu around freeing the pick, which
 * may unlink obsolete inputs. */
static void finish_locked(st_db *db, st_pick *p, int rc) {
    st_pick_mark(p, false);
    db->compactions_running--;
    if (rc) {
        char what[48];
        snprintf(what, sizeof what, "compaction L%d->L%d", p->level, p->output_level);
        st_db_job_failed(db, ST_JOB_COMPACTION, rc, what);
    } else if (!p->trivial_move) { /* a move writes nothing: it proves nothing about space */
        st_db_job_done(db, ST_JOB_COMPACTION);
    }
    if (!rc) st_db_sv_install(db); /* readers move to the new version (an ENOMEM keeps the old one: still right) */
    st_db_compaction_state_update(db);
    pthread_mutex_unlock(&db->mu);
    st_pick_free(p);
    pthread_mutex_lock(&db->mu);
}

void *st_db_compact_main(void *arg) {
    st_db *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->shutting_down) {
        uint64_t retry_at;
        if (st_db_job_backoff(db, ST_JOB_COMPACTION, &retry_at)) {
            st_db_cond_wait_until(&db->compact_cv, &db->mu, retry_at); /* not idle: work is due */
            continue;
        }
        st_pick *p = pick_locked(db);
        if (!p) {
            /* nothing due any more: nothing failing either */
            if (!db->bg_error && !db->manual_active) st_db_job_done(db, ST_JOB_COMPACTION);
            db->picker_idle = true;
            pthread_cond_broadcast(&db->done_cv); /* a writer stopped on a stall re-checks (D7) */
            pthread_cond_wait(&db->compact_cv, &db->mu);
            continue;
        }
        pthread_mutex_unlock(&db->mu);
        int rc = st_db_run_compaction(db, p);
        pthread_mutex_lock(&db->mu);
        finish_locked(db, p, rc);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

/* ---- manual compaction ----------------------------------------------------------------------- */

/* Runs one manual pick with the same bookkeeping as a background one. */
static int run_manual(st_db *db, st_pick *p) {
    pthread_mutex_lock(&db->mu);
    st_pick_mark(p, true);
    db->compactions_running++;
    pthread_mutex_unlock(&db->mu);
    int rc = st_db_run_compaction(db, p);
    pthread_mutex_lock(&db->mu);
    st_pick_mark(p, false);
    db->compactions_running--;
    if (rc && !st_db_is_soft(rc)) { /* soft: the caller gets it, nothing to retry in the background */
        char what[64];
        snprintf(what, sizeof what, "manual compaction L%d->L%d", p->level, p->output_level);
        st_db_job_failed(db, ST_JOB_COMPACTION, rc, what);
    }
    if (!rc) st_db_sv_install(db);
    st_db_compaction_state_update(db);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* Compacts `level`'s tables in the range into output_level until none is left (L0: one pass, as
 * flushes go on adding tables; a rewrite of the last level: every table once). `into_last`: the
 * output is the last level of the range, where a table with tombstones (or any table, with a
 * filter) is rewritten rather than moved, so that they are dropped. */
static int compact_level(st_db *db, int level, int output_level, const st_slice *begin, const st_slice *end,
                         bool into_last) {
    st_buf after;
    st_buf_init(&after);
    bool has_after = false;
    int rc = 0;
    for (;;) {
        if (atomic_load(&db->closing)) {
            rc = st_err(ST_EBUSY, "the database is closing");
            break;
        }
        st_version *v = st_vset_current(db->vs);
        st_pick *p = NULL;
        st_slice a = st_buf_slice(&after);
        rc = st_picker_pick_range(&db->opts, v, level, output_level, begin, end, has_after ? &a : NULL, true, &p);
        st_version_unref(v);
        if (rc || !p) break;
        if (p->trivial_move && into_last && (db->opts.compaction_filter || st_pick_has_deletions(p))) p->trivial_move = false;
        if (output_level == level) {
            /* a rewrite leaves the tables where they were: go on after them */
            st_slice hi = st_file_meta_ukey_largest(p->in[0][p->n_in[0] - 1]);
            st_buf_clear(&after);
            rc = st_buf_append(&after, hi.data, hi.len);
            has_after = true;
        }
        if (!rc) rc = run_manual(db, p);
        st_pick_free(p);
        if (rc || level == 0) break;
    }
    st_buf_destroy(&after);
    return rc;
}

static bool range_has(const st_version *v, int level, const st_slice *begin, const st_slice *end) {
    for (size_t j = 0; j < v->n_files[level]; j++)
        if (st_picker_meets(v->files[level][j], begin, end)) return true;
    return false;
}

/* The last level is rewritten when a filter may drop something or a table of the range holds
 * tombstones (RocksDB's bottommost_level_compaction = kIfHaveCompactionFilter, plus tombstones). */
static bool last_needs_rewrite(st_db *db, const st_version *v, int last, const st_slice *begin, const st_slice *end) {
    for (size_t j = 0; j < v->n_files[last]; j++) {
        const st_file_meta *f = v->files[last][j];
        if (!st_picker_meets(f, begin, end)) continue;
        if (db->opts.compaction_filter || (f->reader && st_sst_reader_props(f->reader)->deletions)) return true;
    }
    return false;
}

/* Holds background compactions back and waits for running ones (D6). */
static int manual_begin(st_db *db) {
    pthread_mutex_lock(&db->manual_mu);
    pthread_mutex_lock(&db->mu);
    db->manual_active++;
    while (db->compactions_running > 0 && !db->shutting_down) pthread_cond_wait(&db->done_cv, &db->mu);
    int rc = db->bg_error ? st_db_check_stopped(db) : 0;
    if (!rc && db->shutting_down) rc = st_err(ST_EBUSY, "the database is closing");
    pthread_mutex_unlock(&db->mu);
    return rc;
}

static void manual_end(st_db *db) {
    pthread_mutex_lock(&db->mu);
    db->manual_active--;
    st_db_compaction_state_update(db);
    pthread_mutex_unlock(&db->mu);
    pthread_mutex_unlock(&db->manual_mu);
}

int st_db_compact_level(st_db *db, int level, int output_level, const st_slice *begin, const st_slice *end) {
    if (level < 0 || output_level < level || output_level >= ST_MAX_LEVELS || (output_level == level && level == 0))
        return st_err(ST_EINVAL, "cannot compact L%d into L%d", level, output_level);
    int rc = manual_begin(db);
    if (!rc) rc = compact_level(db, level, output_level, begin, end, false);
    manual_end(db);
    return rc;
}

int st_db_compact_range(st_db *db, const st_slice *begin, const st_slice *end) {
    ST_TRY(st_db_flush(db));
    int rc = manual_begin(db);
    if (!rc) {
        st_version *v = st_vset_current(db->vs);
        st_level_state ls;
        st_picker_level_state(&db->opts, v, &ls);
        int last = ls.last_nonempty > 0 ? ls.last_nonempty : ls.base_level;
        int base = ls.base_level < last ? ls.base_level : last;
        bool l0 = range_has(v, 0, begin, end);
        st_version_unref(v);
        if (l0) rc = compact_level(db, 0, base, begin, end, base == last);
        for (int l = base; !rc && l < last; l++) rc = compact_level(db, l, l + 1, begin, end, l + 1 == last);
        if (!rc) {
            v = st_vset_current(db->vs);
            bool rewrite = last_needs_rewrite(db, v, last, begin, end);
            st_version_unref(v);
            if (rewrite) rc = compact_level(db, last, last, begin, end, true);
        }
    }
    manual_end(db);
    return rc;
}

int st_db_wait_for_compactions(st_db *db) {
    if (db->opts.read_only) return 0; /* no background work, ever */
    pthread_mutex_lock(&db->mu);
    /* picker_idle: a compaction thread found nothing to pick since the last change of the tree
     * (st_db_compaction_state_update clears it and wakes the threads, which set it again) */
    while (!db->bg_error && !db->shutting_down && !db->soft[ST_JOB_FLUSH].rc && !db->soft[ST_JOB_COMPACTION].rc &&
           (db->n_imm > 0 || db->compactions_running > 0 || !db->picker_idle ||
            (db->migrate_started && !db->migrate_idle)))
        pthread_cond_wait(&db->done_cv, &db->mu);
    int rc = 0;
    if (db->bg_error)
        rc = st_db_check_stopped(db);
    else if (db->shutting_down)
        rc = st_err(ST_EBUSY, "the database is closing");
    else if (db->soft[ST_JOB_FLUSH].rc)
        rc = st_err(ST_ENOSPC, "%s; retried in the background", db->soft[ST_JOB_FLUSH].msg);
    else if (db->soft[ST_JOB_COMPACTION].rc)
        rc = st_err(ST_ENOSPC, "%s; retried in the background", db->soft[ST_JOB_COMPACTION].msg);
    pthread_mutex_unlock(&db->mu);
    return rc;
}
