/* compaction_picker.h -- what to compact next: level targets, scores, debt, input selection.
 *
 * Pure functions over a version and the options: no I/O and no locks of their own. The caller
 * (the scheduler in compaction.c) holds the db's mu, which guards every st_file_meta's
 * being_compacted flag, so the flags and the version read together are consistent.
 * Rules (docs/ARCHITECTURE.md, "Life of a compaction"; RocksDB's leveled compaction):
 *   - targets: static L1 = max_bytes_for_level_base, x multiplier per level; or dynamic: backwards
 *     from the largest level, the base level being the first whose target fits the base size;
 *   - scores: L0 = files / trigger (or bytes / base target when larger); Ln = bytes not being
 *     compacted / target; the last level scores 0. The highest score >= 1 that yields a
 *     conflict-free pick wins;
 *   - inputs: L0 takes its oldest files (all, or an oldest run up to max_compaction_bytes, so every
 *     L0 file left behind is newer than the output); Ln takes the file with the least overlapping
 *     bytes in Ln+1 per byte of its own (compensated for tombstones: kMinOverlappingRatio); then
 *     every output-level file overlapping the inputs' hull, then the level widened while that
 *     does not pull in more output-level files and stays under max_compaction_bytes;
 *   - conflicts: no input and no output-level file overlapping the hull may be being compacted,
 *     and only one L0 compaction runs at a time. Since the hull of a pick is one interval covered
 *     by its own files, two picks that pass these checks write disjoint ranges of a level;
 *   - trivial move: one input, nothing to merge with in the output level, grandparent overlap
 *     within limits, and the output level's codec equals the table's (tier too: always 0 today).
 * P1: a pick's inputs are sorted as in their version (L0 newest first, Ln by key).
 * P2: every L0 table left out of an L0 pick is newer (max_seq) than every table in it, so
 *     readers, which look at L0 before deeper levels, never see an older version first. */
#ifndef STRATA_DB_COMPACTION_PICKER_H
#define STRATA_DB_COMPACTION_PICKER_H

#include <stdbool.h>
#include <stdint.h>

#include "strata/st.h"
#include "version/version.h"

/* Shape of the tree for one version. */
typedef struct st_level_state {
    int base_level;                      /* where L0 compacts to */
    uint64_t target[ST_MAX_LEVELS];      /* bytes; 0 for L0 and for levels above the base level */
    uint64_t bytes[ST_MAX_LEVELS];       /* total table bytes per level */
    double score[ST_MAX_LEVELS];         /* >= 1: due */
    uint64_t pending_bytes;              /* estimated compaction debt (RocksDB's estimate) */
    int last_nonempty;                   /* deepest level with a table; -1 when empty */
} st_level_state;

void st_picker_level_state(const st_options *o, const st_version *v, st_level_state *out);

/* max_compaction_bytes with its 0 default resolved. */
uint64_t st_picker_max_compaction_bytes(const st_options *o);

/* The codec tables written to `level` get (ST_CODEC_INHERIT resolved). */
st_codec st_picker_level_codec(const st_options *o, int level);

typedef struct st_pick {
    int level, output_level;   /* output_level == level: a rewrite of the last level (manual) */
    st_file_meta **in[2];      /* [0]: tables of `level`, [1]: of output_level; one ref each */
    size_t n_in[2];
    st_file_meta **gp;         /* tables of output_level + 1 overlapping the inputs; one ref each */
    size_t n_gp;
    st_version *v;             /* the version the pick was made from (one reference) */
    bool trivial_move;
    bool manual;
    double score;
    uint64_t input_bytes;
    uint64_t target_file_bytes; /* cut outputs at this size */
    uint64_t max_gp_overlap;    /* ... and when they overlap this many grandparent bytes */
} st_pick;

void st_pick_free(st_pick *p); /* NULL-safe; releases the refs (not the being_compacted flags) */
/* True if an input table of the upper level holds a deletion (its properties say so). */
bool st_pick_has_deletions(const st_pick *p);
/* Sets or clears being_compacted on every input. REQUIRES the db's mu. */
void st_pick_mark(st_pick *p, bool on);

/* The most urgent conflict-free compaction of v, or *out NULL when none is due (score < 1 or
 * every candidate conflicts with a running one). Errors: ST_ENOMEM. */
int st_picker_pick(const st_options *o, st_version *v, const st_level_state *ls, st_pick **out);

/* A manual compaction of `level`'s tables overlapping the user-key range [begin, end] (NULL:
 * unbounded) whose smallest user key is above *after (NULL: no such bound), into output_level
 * (level + 1, the base level for L0, or level itself for a rewrite). L0 takes every overlapping
 * table; deeper levels take tables in key order up to max_compaction_bytes. *out NULL: nothing in
 * the range. `allow_move`: a single table with no overlap may be moved instead of rewritten. */
int st_picker_pick_range(const st_options *o, st_version *v, int level, int output_level, const st_slice *begin,
                         const st_slice *end, const st_slice *after, bool allow_move, st_pick **out);

/* f's user-key range meets [*lo, *hi]; a NULL bound is unbounded. */
bool st_picker_meets(const st_file_meta *f, const st_slice *lo, const st_slice *hi);

/* Bytes of `level`'s tables overlapping the user-key range [lo, hi]. */
uint64_t st_picker_overlap_bytes(const st_version *v, int level, st_slice lo, st_slice hi);

#endif
