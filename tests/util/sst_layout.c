/* sst_layout.c -- sst_layout.h: footer -> metaindex (properties, filter) and index -> data block
 * handles, decoded as docs/FORMAT.md lays them out. */
#include "sst_layout.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/io.h"
#include "table/block.h"
#include "table/compress.h"

void sst_block_contents(const char *file, st_block_handle h, st_buf *out) {
    st_buf_clear(out);
    uint8_t codec = (uint8_t)file[h.off + h.size];
    assert_int_equal(st_decompress((st_codec)codec, st_slice_make(file + h.off, h.size), out), 0);
}

void sst_get_layout(const char *path, sst_layout *l) {
    char *file;
    size_t len;
    assert_int_equal(st_io_read_all(path, &file, &len), 0);
    assert_true(len >= ST_SST_FOOTER_BYTES);
    const uint8_t *ft = (const uint8_t *)file + len - ST_SST_FOOTER_BYTES, *end = ft + ST_SST_FOOTER_BYTES;
    l->footer_off = len - ST_SST_FOOTER_BYTES;
    assert_non_null(st_block_handle_get(ft + ST_SST_FOOTER_METAINDEX_OFF, end, &l->meta));
    assert_non_null(st_block_handle_get(ft + ST_SST_FOOTER_INDEX_OFF, end, &l->index));
    st_buf c;
    st_buf_init(&c);
    sst_block_contents(file, l->meta, &c);
    st_block blk;
    assert_int_equal(st_block_init(&blk, st_buf_slice(&c)), 0);
    st_slice v;
    assert_int_equal(st_block_find(&blk, st_slice_str(ST_SST_META_PROPERTIES), &v), 0);
    assert_non_null(st_block_handle_get(v.data, v.data + v.len, &l->props));
    memset(&l->filter, 0, sizeof l->filter);
    if (st_block_find(&blk, st_slice_str(ST_SST_META_FILTER), &v) == 0)
        assert_non_null(st_block_handle_get(v.data, v.data + v.len, &l->filter));
    sst_block_contents(file, l->index, &c);
    assert_int_equal(st_block_init(&blk, st_buf_slice(&c)), 0);
    st_iter *it;
    assert_int_equal(st_block_iter_new(&blk, ST_BLOCK_IKEY, NULL, &it), 0);
    l->ndata = 0;
    l->data = NULL;
    for (st_iter_seek_first(it); st_iter_valid(it); st_iter_next(it)) {
        l->data = realloc(l->data, (l->ndata + 1) * sizeof *l->data);
        assert_non_null(l->data);
        v = st_iter_value(it);
        assert_non_null(st_block_handle_get(v.data, v.data + v.len, &l->data[l->ndata++]));
    }
    assert_int_equal(st_iter_status(it), 0);
    st_iter_free(it);
    st_buf_destroy(&c);
    free(file);
}
