/* sst_layout.h -- where the blocks of a table file are, for tests that damage one on purpose
 * (test_sstable's corruption cases, test_faults). Reads a pristine file with the format's own
 * decoders and trusts its bytes; failures are cmocka assertions. */
#ifndef STRATA_TESTS_SST_LAYOUT_H
#define STRATA_TESTS_SST_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "table/sstable_format.h"
#include "util/coding.h"

typedef struct sst_layout {
    st_block_handle meta, index, props, filter; /* filter all zero when the table has none */
    st_block_handle *data;                      /* ndata data blocks in key order; caller frees */
    size_t ndata;
    uint64_t footer_off;
} sst_layout;

/* The decompressed contents of the block at h of the file bytes `file`. */
void sst_block_contents(const char *file, st_block_handle h, st_buf *out);
/* Fills *l for the table at path; free(l->data) afterwards. */
void sst_get_layout(const char *path, sst_layout *l);

#endif
