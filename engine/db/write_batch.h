/* write_batch.h -- st_batch internals: the batch's bytes are also its WAL record.
 *
 * Format (docs/FORMAT.md#write-batch): seq fixed64 | count fixed32 | count x
 * (kind u8 | varint32 klen | key | [varint32 vlen | value if kind == PUT]).
 * The db stamps seq (the first operation's sequence number) just before appending to the WAL;
 * operation i gets seq + i. */
#ifndef STRATA_DB_WRITE_BATCH_H
#define STRATA_DB_WRITE_BATCH_H

#include "strata/st.h"
#include "util/coding.h"

#define ST_BATCH_HEADER 12

struct st_batch {
    st_buf rep;
};

typedef int (*st_batch_fn)(void *arg, uint64_t seq, int kind, st_slice key, st_slice value);

/* Calls fn for every operation of a serialized batch, in order, stopping at the first non-zero
 * return. Malformed bytes (from a WAL) give ST_ECORRUPT; the count must match exactly. */
int st_batch_iterate(st_slice rep, st_batch_fn fn, void *arg);

static inline uint64_t st_batch_seq(st_slice rep) { return st_get_fixed64(rep.data); }
static inline uint32_t st_batch_rep_count(st_slice rep) { return st_get_fixed32(rep.data + 8); }
void st_batch_set_seq(st_batch *b, uint64_t seq);

#endif
