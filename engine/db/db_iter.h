/* db_iter.h -- turns a merged stream of internal keys into the user's view at a sequence number:
 * one entry per user key (its newest version <= snap_seq), deleted keys hidden, within
 * [lower, upper). */
#ifndef STRATA_DB_DB_ITER_H
#define STRATA_DB_DB_ITER_H

#include "strata/st_iter.h"

typedef void (*st_release_fn)(void *arg);

/* Takes ownership of `internal`. Bounds are copied (len 0 = unbounded). release(arg) runs when the
 * iterator is freed (it drops the memtable/version references the iterator pins). */
int st_db_iter_wrap(st_iter *internal, uint64_t snap_seq, st_slice lower, st_slice upper,
                    st_release_fn release, void *arg, st_iter **out);

#endif
