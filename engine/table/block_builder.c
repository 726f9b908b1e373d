/* block_builder.c -- LevelDB-style prefix-compressed blocks; see block_builder.h.
 *
 * Entry: varint32 shared, varint32 non_shared, varint32 value_len, key[shared..], value.
 * Trailer: u32 restart_offset[n], u32 n. restart_offset[0] is always 0. */
#include "block_builder.h"

#include "strata/st_status.h"

void st_block_builder_init(st_block_builder *b, int restart_interval) {
    st_buf_init(&b->buf);
    st_buf_init(&b->restarts);
    st_buf_init(&b->last_key);
    b->restart_interval = restart_interval < 1 ? 1 : restart_interval;
    st_block_builder_reset(b);
}

void st_block_builder_destroy(st_block_builder *b) {
    st_buf_destroy(&b->buf);
    st_buf_destroy(&b->restarts);
    st_buf_destroy(&b->last_key);
}

void st_block_builder_reset(st_block_builder *b) {
    st_buf_clear(&b->buf);
    st_buf_clear(&b->restarts);
    st_buf_clear(&b->last_key);
    b->counter = 0;
    b->entries = 0;
    b->finished = false;
}

size_t st_block_builder_size_estimate(const st_block_builder *b) {
    size_t nrestarts = b->restarts.len / 4;
    return b->buf.len + (nrestarts ? nrestarts : 1) * 4 + 4;
}

int st_block_builder_add(st_block_builder *b, st_slice key, st_slice value) {
    if (key.len > UINT32_MAX || value.len > UINT32_MAX) return ST_EINVAL;
    size_t shared = 0;
    if (b->counter < b->restart_interval && b->entries > 0) {
        size_t n = key.len < b->last_key.len ? key.len : b->last_key.len;
        while (shared < n && b->last_key.data[shared] == key.data[shared]) shared++;
    } else {
        b->counter = 0;
    }
    size_t non_shared = key.len - shared;
    /* BB2: the entry and the restart array must still fit u32 offsets. */
    uint64_t after = (uint64_t)st_block_builder_size_estimate(b) + 3 * ST_VARINT32_MAX + non_shared + value.len + 4;
    if (after > UINT32_MAX) return ST_EINVAL;

    /* Reserve everything first: a failed add leaves the block unchanged. */
    int rc;
    if ((rc = st_buf_reserve(&b->buf, 3 * ST_VARINT32_MAX + non_shared + value.len)) ||
        (rc = st_buf_reserve(&b->restarts, 4)) || (rc = st_buf_reserve(&b->last_key, key.len)))
        return rc;
    if (b->counter == 0) st_buf_append_fixed32(&b->restarts, (uint32_t)b->buf.len);
    uint8_t *p = b->buf.data + b->buf.len;
    p = st_put_varint32(p, (uint32_t)shared);
    p = st_put_varint32(p, (uint32_t)non_shared);
    p = st_put_varint32(p, (uint32_t)value.len);
    if (non_shared) memcpy(p, key.data + shared, non_shared);
    p += non_shared;
    if (value.len) memcpy(p, value.data, value.len);
    p += value.len;
    b->buf.len = (size_t)(p - b->buf.data);

    b->last_key.len = shared;
    st_buf_append(&b->last_key, key.data + shared, non_shared);
    b->counter++;
    b->entries++;
    return 0;
}

int st_block_builder_finish(st_block_builder *b, st_slice *out) {
    int rc;
    if (!b->finished) {
        if (b->restarts.len == 0 && (rc = st_buf_append_fixed32(&b->restarts, 0))) return rc;
        if ((rc = st_buf_append(&b->buf, b->restarts.data, b->restarts.len))) return rc;
        if ((rc = st_buf_append_fixed32(&b->buf, (uint32_t)(b->restarts.len / 4)))) return rc;
        b->finished = true;
    }
    *out = st_buf_slice(&b->buf);
    return 0;
}
