/* merge_iter.h -- merges n child iterators over internal keys into one ordered stream.
 *
 * Children are ordered by st_ikey_cmp; equal internal keys cannot occur (every write has its own
 * sequence number). A child's error makes the merged iterator invalid with that status, in either
 * direction. Steps cost O(log n) both ways; a change of direction (prev after next, next after
 * prev) repositions every child with one seek first (merge_iter.c). */
#ifndef STRATA_DB_MERGE_ITER_H
#define STRATA_DB_MERGE_ITER_H

#include "strata/st_iter.h"

/* Takes ownership of the n children (freed with the merged iterator, even on failure) and of the
 * `children` array itself (malloc'ed). */
int st_merge_iter_new(st_iter **children, size_t n, st_iter **out);

#endif
