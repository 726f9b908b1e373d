/* compaction_picker.c -- level targets, scores, compaction debt and input selection; see
 * compaction_picker.h for the rules. Overlap is always judged on user keys: a level >= 1 never
 * splits one user key across two tables (V3), so a compaction must take every version of a key. */
#include "compaction_picker.h"

#include "version/tiers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "table/sstable_reader.h"
#include "util/err.h"
#include "util/ikey.h"
#include "version/tiers.h"

static st_slice umin(const st_file_meta *f) { return st_file_meta_ukey_smallest(f); }
static st_slice umax(const st_file_meta *f) { return st_file_meta_ukey_largest(f); }

bool st_picker_meets(const st_file_meta *f, const st_slice *lo, const st_slice *hi) {
    return !(lo && st_slice_cmp(umax(f), *lo) < 0) && !(hi && st_slice_cmp(umin(f), *hi) > 0);
}

uint64_t st_picker_max_compaction_bytes(const st_options *o) {
    return o->max_compaction_bytes ? o->max_compaction_bytes : 25 * o->target_file_size_base;
}

st_codec st_picker_level_codec(const st_options *o, int level) {
    int c = o->levels[level].codec;
    return c == ST_CODEC_INHERIT ? o->codec : (st_codec)c;
}

uint64_t st_picker_overlap_bytes(const st_version *v, int level, st_slice lo, st_slice hi) {
    uint64_t n = 0;
    for (size_t j = 0; j < v->n_files[level]; j++)
        if (st_picker_meets(v->files[level][j], &lo, &hi)) n += v->files[level][j]->size;
    return n;
}

static uint64_t sat_mul(uint64_t x, double m) {
    double r = (double)x * m;
    return r >= 1.8e19 ? UINT64_MAX : (uint64_t)r;
}

/* RocksDB VersionStorageInfo::CalculateBaseBytes. */
static void targets(const st_options *o, st_level_state *s) {
    const int last = ST_MAX_LEVELS - 1;
    double mult = o->max_bytes_for_level_multiplier;
    uint64_t base = o->max_bytes_for_level_base;
    for (int l = 0; l < ST_MAX_LEVELS; l++) s->target[l] = 0;
    if (!o->level_compaction_dynamic_level_bytes) {
        s->base_level = 1;
        uint64_t t = base;
        for (int l = 1; l < ST_MAX_LEVELS; l++) {
            s->target[l] = t;
            t = sat_mul(t, mult);
        }
        return;
    }
    int first = -1;
    uint64_t max_size = 0;
    for (int l = 1; l < ST_MAX_LEVELS; l++) {
        if (s->bytes[l] && first < 0) first = l;
        if (s->bytes[l] > max_size) max_size = s->bytes[l];
    }
    if (first < 0) {
        /* nothing below L0 yet: L0 goes straight to the last level */
        s->base_level = last;
        s->target[last] = base;
        return;
    }
    double cur = (double)max_size;
    for (int l = last - 1; l >= first; l--) cur /= mult;
    uint64_t base_min = (uint64_t)((double)base / mult);
    uint64_t base_size;
    s->base_level = first;
    if (cur <= (double)base_min) {
        base_size = base_min + 1;
    } else {
        while (s->base_level > 1 && cur > (double)base) {
            s->base_level--;
            cur /= mult;
        }
        base_size = cur > (double)base ? base : (cur < 1 ? 1 : (uint64_t)cur);
    }
    uint64_t t = base_size;
    for (int l = s->base_level; l < ST_MAX_LEVELS; l++) {
        if (l > s->base_level) t = sat_mul(t, mult);
        /* never below the base size: an hourglass shape would starve L0 of compactions */
        s->target[l] = t > base ? t : base;
    }
}

/* RocksDB VersionStorageInfo::EstimateCompactionBytesNeeded. */
static uint64_t debt(const st_options *o, const st_version *v, const st_level_state *s) {
    uint64_t need = 0, to_next = 0, next_bytes = 0;
    bool l0_due = (int)v->n_files[0] >= o->level0_file_num_compaction_trigger || s->bytes[0] >= o->max_bytes_for_level_base;
    if (l0_due) need = to_next = s->bytes[0];
    for (int l = s->base_level; l <= ST_MAX_LEVELS - 2; l++) {
        uint64_t size = next_bytes ? next_bytes : s->bytes[l];
        next_bytes = 0;
        if (l == s->base_level && l0_due) need += size;
        size += to_next;
        to_next = 0;
        if (size > s->target[l]) {
            to_next = size - s->target[l];
            next_bytes = s->bytes[l + 1];
            if (next_bytes) need += (uint64_t)((double)to_next * ((double)next_bytes / (double)size + 1));
        }
    }
    return need;
}

void st_picker_level_state(const st_options *o, const st_version *v, st_level_state *s) {
    memset(s, 0, sizeof *s);
    s->last_nonempty = -1;
    uint64_t free_bytes[ST_MAX_LEVELS] = {0};
    size_t l0_free = 0;
    for (int l = 0; l < ST_MAX_LEVELS; l++)
        for (size_t j = 0; j < v->n_files[l]; j++) {
            const st_file_meta *f = v->files[l][j];
            s->bytes[l] += f->size;
            s->last_nonempty = l;
            if (!f->being_compacted) {
                free_bytes[l] += f->size;
                l0_free += l == 0;
            }
        }
    targets(o, s);
    s->pending_bytes = debt(o, v, s);
    double sc = (double)l0_free / (double)o->level0_file_num_compaction_trigger;
    uint64_t bt = s->target[s->base_level];
    if (l0_free > 1 && bt && (double)free_bytes[0] / (double)bt > sc) sc = (double)free_bytes[0] / (double)bt;
    s->score[0] = sc;
    for (int l = 1; l < ST_MAX_LEVELS - 1; l++)
        s->score[l] = s->target[l] ? (double)free_bytes[l] / (double)s->target[l] : 0;
}

/* ---- picks ----------------------------------------------------------------------------------- */

void st_pick_free(st_pick *p) {
    if (!p) return;
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; j < p->n_in[i]; j++) st_file_meta_unref(p->in[i][j]);
        free(p->in[i]);
    }
    for (size_t j = 0; j < p->n_gp; j++) st_file_meta_unref(p->gp[j]);
    free(p->gp);
    st_version_unref(p->v);
    free(p);
}

void st_pick_mark(st_pick *p, bool on) {
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < p->n_in[i]; j++) p->in[i][j]->being_compacted = on;
}

/* Appends f (referenced) to one of the pick's arrays. */
static int push(st_file_meta ***arr, size_t *n, st_file_meta *f) {
    st_file_meta **a = realloc(*arr, (*n + 1) * sizeof *a);
    if (!a) return ST_ENOMEM;
    st_file_meta_ref(f);
    a[(*n)++] = f;
    *arr = a;
    return 0;
}

/* The user-key hull of the pick's inputs (both levels). */
static void hull(const st_pick *p, st_slice *lo, st_slice *hi) {
    bool first = true;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < p->n_in[i]; j++) {
            const st_file_meta *f = p->in[i][j];
            if (first || st_slice_cmp(umin(f), *lo) < 0) *lo = umin(f);
            if (first || st_slice_cmp(umax(f), *hi) > 0) *hi = umax(f);
            first = false;
        }
}

/* Output-level overlap of the start inputs' hull, and the grandparents. ST_EBUSY when an
 * output-level table in the hull is being compacted. */
static int complete(const st_options *o, st_pick *p) {
    st_slice lo, hi;
    hull(p, &lo, &hi);
    if (p->output_level != p->level) {
        const st_version *v = p->v;
        for (size_t j = 0; j < v->n_files[p->output_level]; j++) {
            st_file_meta *f = v->files[p->output_level][j];
            if (!st_picker_meets(f, &lo, &hi)) continue;
            if (f->being_compacted) return ST_EBUSY;
            ST_TRY(push(&p->in[1], &p->n_in[1], f));
        }
        hull(p, &lo, &hi);
    }
    if (p->output_level + 1 < ST_MAX_LEVELS) {
        int g = p->output_level + 1;
        for (size_t j = 0; j < p->v->n_files[g]; j++)
            if (st_picker_meets(p->v->files[g][j], &lo, &hi)) ST_TRY(push(&p->gp, &p->n_gp, p->v->files[g][j]));
    }
    p->input_bytes = 0;
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < p->n_in[i]; j++) p->input_bytes += p->in[i][j]->size;
    p->target_file_bytes = o->target_file_size_base;
    p->max_gp_overlap = 10 * o->target_file_size_base;
    return 0;
}

bool st_pick_has_deletions(const st_pick *p) {
    for (size_t j = 0; j < p->n_in[0]; j++) {
        const st_file_meta *f = p->in[0][j];
        if (f->reader && st_sst_reader_props(f->reader)->deletions) return true;
    }
    return false;
}

static int by_smallest(const void *a, const void *b) {
    const st_file_meta *x = *(st_file_meta *const *)a, *y = *(st_file_meta *const *)b;
    return st_slice_cmp(umin(x), umin(y));
}

/* A move needs inputs that can sit side by side in the output level: nothing of it overlaps
 * them (n_in[1] == 0), and, several L0 tables (a sequential load), they do not overlap one
 * another. Each keeps its codec and tier, so each must already have the output level's. */
static bool decide_move(const st_options *o, const st_pick *p) {
    if (p->output_level == p->level || p->n_in[0] == 0 || p->n_in[1] != 0) return false;
    for (size_t j = 0; j < p->n_in[0]; j++) {
        const st_file_meta *f = p->in[0][j];
        if (f->codec != (int)st_picker_level_codec(o, p->output_level) || f->tier != st_tiers_level_tier(o, p->output_level))
            return false;
    }
    if (p->level == 0 && p->n_in[0] > 1) {
        st_file_meta **sorted = malloc(p->n_in[0] * sizeof *sorted);
        if (!sorted) return false; /* a real compaction is always right */
        memcpy(sorted, p->in[0], p->n_in[0] * sizeof *sorted);
        qsort(sorted, p->n_in[0], sizeof *sorted, by_smallest);
        bool apart = true;
        for (size_t j = 1; j < p->n_in[0] && apart; j++) apart = st_slice_cmp(umax(sorted[j - 1]), umin(sorted[j])) < 0;
        free(sorted);
        if (!apart) return false;
    }
    uint64_t gp = 0;
    for (size_t j = 0; j < p->n_gp; j++) gp += p->gp[j]->size;
    return gp <= p->max_gp_overlap;
}

static int new_pick(st_version *v, int level, int output_level, st_pick **out) {
    st_pick *p = calloc(1, sizeof *p);
    *out = p;
    if (!p) return ST_ENOMEM;
    st_version_ref(v);
    p->v = v;
    p->level = level;
    p->output_level = output_level;
    return 0;
}

/* Tombstone-heavy tables count for more (RocksDB's compensated size): each deletion weighs as
 * much again as an average entry, so they are picked sooner and their tombstones meet what they
 * delete. */
static double compensated(const st_file_meta *f) {
    double size = (double)(f->size ? f->size : 1);
    if (!f->reader || !f->entries) return size;
    const st_sst_props *pr = st_sst_reader_props(f->reader);
    return size + size * (double)pr->deletions / (double)f->entries;
}

/* L0 -> base: the oldest tables (the end of the newest-first array) up to max_compaction_bytes. */
static int pick_l0(const st_options *o, st_version *v, const st_level_state *ls, st_pick **out) {
    *out = NULL;
    size_t n = v->n_files[0];
    for (size_t j = 0; j < n; j++)
        if (v->files[0][j]->being_compacted) return 0; /* one L0 compaction at a time */
    if (n == 0) return 0;
    st_pick *p;
    ST_TRY(new_pick(v, 0, ls->base_level, &p));
    uint64_t limit = st_picker_max_compaction_bytes(o), sum = 0;
    size_t take = 0;
    while (take < n && (take < 2 || sum + v->files[0][n - 1 - take]->size <= limit)) sum += v->files[0][n - 1 - take++]->size;
    int rc = 0;
    for (size_t j = n - take; !rc && j < n; j++) rc = push(&p->in[0], &p->n_in[0], v->files[0][j]); /* P1 */
    if (!rc) rc = complete(o, p);
    if (rc) {
        st_pick_free(p);
        return rc == ST_EBUSY ? 0 : rc;
    }
    *out = p;
    return 0;
}

/* Ln -> Ln+1, n >= 1: the file with the least overlap ratio, then widened. */
static int pick_ln(const st_options *o, st_version *v, int level, st_pick **out) {
    *out = NULL;
    int outl = level + 1;
    size_t best = SIZE_MAX;
    double best_ratio = 0;
    for (size_t j = 0; j < v->n_files[level]; j++) {
        const st_file_meta *f = v->files[level][j];
        if (f->being_compacted) continue;
        uint64_t ov = 0;
        bool busy = false;
        st_slice lo = umin(f), hi = umax(f);
        for (size_t k = 0; k < v->n_files[outl] && !busy; k++) {
            const st_file_meta *g = v->files[outl][k];
            if (!st_picker_meets(g, &lo, &hi)) continue;
            busy = g->being_compacted;
            ov += g->size;
        }
        if (busy) continue;
        double ratio = (double)ov / compensated(f);
        if (best == SIZE_MAX || ratio < best_ratio) {
            best = j;
            best_ratio = ratio;
        }
    }
    if (best == SIZE_MAX) return 0;
    st_pick *p;
    ST_TRY(new_pick(v, level, outl, &p));
    int rc = push(&p->in[0], &p->n_in[0], v->files[level][best]);
    if (!rc) rc = complete(o, p);
    if (!rc && p->n_in[1] > 0) {
        /* Widen the start level over the whole hull when that pulls in no more output-level
         * tables and stays under the limit (LevelDB's SetupOtherInputs). */
        st_slice lo, hi;
        hull(p, &lo, &hi);
        size_t a = best, b = best;
        while (a > 0 && st_picker_meets(v->files[level][a - 1], &lo, &hi)) a--;
        while (b + 1 < v->n_files[level] && st_picker_meets(v->files[level][b + 1], &lo, &hi)) b++;
        if (a != b) {
            uint64_t sum = 0;
            bool busy = false;
            st_slice elo = umin(v->files[level][a]), ehi = umax(v->files[level][b]);
            if (st_slice_cmp(lo, elo) < 0) elo = lo;
            if (st_slice_cmp(hi, ehi) > 0) ehi = hi;
            for (size_t j = a; j <= b; j++) {
                sum += v->files[level][j]->size;
                busy |= v->files[level][j]->being_compacted;
            }
            size_t n_out = 0;
            for (size_t k = 0; k < v->n_files[outl]; k++) n_out += st_picker_meets(v->files[outl][k], &elo, &ehi);
            for (size_t k = 0; k < p->n_in[1]; k++) sum += p->in[1][k]->size;
            if (!busy && n_out == p->n_in[1] && sum <= st_picker_max_compaction_bytes(o)) {
                st_pick *w;
                rc = new_pick(v, level, outl, &w);
                for (size_t j = a; !rc && j <= b; j++) rc = push(&w->in[0], &w->n_in[0], v->files[level][j]);
                if (!rc) rc = complete(o, w);
                if (!rc) {
                    st_pick_free(p);
                    p = w;
                } else {
                    st_pick_free(w);
                }
            }
        }
    }
    if (rc) {
        st_pick_free(p);
        return rc == ST_EBUSY ? 0 : rc;
    }
    *out = p;
    return 0;
}

int st_picker_pick(const st_options *o, st_version *v, const st_level_state *ls, st_pick **out) {
    *out = NULL;
    int order[ST_MAX_LEVELS - 1];
    int n = 0;
    for (int l = 0; l < ST_MAX_LEVELS - 1; l++)
        if (ls->score[l] >= 1) order[n++] = l;
    /* highest score first; on a tie the upper level (L0 before the rest) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ls->score[order[j]] > ls->score[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        st_pick *p = NULL;
        ST_TRY(order[i] == 0 ? pick_l0(o, v, ls, &p) : pick_ln(o, v, order[i], &p));
        if (!p) continue;
        p->score = ls->score[order[i]];
        p->trivial_move = decide_move(o, p);
        /* Into the bottom, a table must be rewritten for its tombstones to go and for the
         * compaction filter to see it: nothing below would ever rewrite it. */
        if (p->trivial_move && p->output_level >= ls->last_nonempty && (o->compaction_filter || st_pick_has_deletions(p)))
            p->trivial_move = false;
        *out = p;
        return 0;
    }
    return 0;
}

int st_picker_pick_range(const st_options *o, st_version *v, int level, int output_level, const st_slice *begin,
                         const st_slice *end, const st_slice *after, bool allow_move, st_pick **out) {
    *out = NULL;
    st_pick *p;
    ST_TRY(new_pick(v, level, output_level, &p));
    p->manual = true;
    uint64_t limit = st_picker_max_compaction_bytes(o), sum = 0;
    int rc = 0;
    for (size_t j = 0; !rc && j < v->n_files[level]; j++) {
        st_file_meta *f = v->files[level][j];
        /* L0: every table, whatever the range (P2; a table in the range may hold keys outside it
         * that older tables hold too) */
        if (level > 0 && (!st_picker_meets(f, begin, end) || (after && st_slice_cmp(umin(f), *after) <= 0))) continue;
        if (level > 0 && p->n_in[0] > 0 && sum >= limit) break;
        if (f->being_compacted) rc = ST_EBUSY;
        else rc = push(&p->in[0], &p->n_in[0], f);
        sum += f->size;
    }
    if (!rc && p->n_in[0] == 0) {
        st_pick_free(p);
        return 0;
    }
    if (!rc) rc = complete(o, p);
    if (rc) {
        st_pick_free(p);
        return rc == ST_EBUSY ? st_err(ST_EBUSY, "manual compaction met a table being compacted") : rc;
    }
    p->trivial_move = allow_move && decide_move(o, p);
    *out = p;
    return 0;
}
