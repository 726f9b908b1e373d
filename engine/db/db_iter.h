/* db_iter.h -- turns a merged stream of internal keys into the user's view at a sequence number:
 * one entry per user key (its newest version <= snap_seq), deleted keys hidden, within
 * [lower, upper), in both directions: seek_last lands on the last key < upper, seek_for_prev(t) on
 * the last key <= t that is < upper, and prev ends (invalid, status 0) below lower. Moving
 * backward the value is a copy (the internal iterator has moved past it), so a backward step
 * costs one copy of the value more than a forward one. */
#ifndef STRATA_DB_DB_ITER_H
#define STRATA_DB_DB_ITER_H

#include "strata/st_iter.h"

typedef void (*st_release_fn)(void *arg);

/* Takes ownership of `internal`. Bounds are copied (len 0 = unbounded). release(arg) runs when the
 * iterator is freed (it drops the memtable/version references the iterator pins). */
int st_db_iter_wrap(st_iter *internal, uint64_t snap_seq, st_slice lower, st_slice upper,
                    st_release_fn release, void *arg, st_iter **out);

#endif
