/* write_batch.c -- building and decoding write batches; see write_batch.h. */
#include "write_batch.h"

#include <stdlib.h>

#include "util/err.h"
#include "util/ikey.h"

int st_batch_new(st_batch **out) {
    st_batch *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b) return ST_ENOMEM;
    st_buf_init(&b->rep);
    if (st_buf_reserve(&b->rep, 256)) {
        free(b);
        return ST_ENOMEM;
    }
    st_batch_clear(b);
    *out = b;
    return 0;
}

void st_batch_free(st_batch *b) {
    if (!b) return;
    st_buf_destroy(&b->rep);
    free(b);
}

void st_batch_clear(st_batch *b) {
    b->rep.len = ST_BATCH_HEADER; /* the reserve in st_batch_new guarantees the room */
    memset(b->rep.data, 0, ST_BATCH_HEADER);
}

static int add(st_batch *b, int kind, st_slice key, const st_slice *value) {
    size_t mark = b->rep.len;
    uint8_t k = (uint8_t)kind;
    int rc = st_buf_append(&b->rep, &k, 1);
    if (!rc) rc = st_buf_append_lenprefixed(&b->rep, key);
    if (!rc && value) rc = st_buf_append_lenprefixed(&b->rep, *value);
    if (rc) {
        b->rep.len = mark;
        return rc;
    }
    st_put_fixed32(b->rep.data + 8, st_batch_count(b) + 1);
    return 0;
}

int st_batch_put(st_batch *b, st_slice key, st_slice value) {
    if (key.len > UINT32_MAX || value.len > UINT32_MAX) return st_err(ST_EINVAL, "key or value over 4 GiB");
    return add(b, ST_KIND_PUT, key, &value);
}

int st_batch_delete(st_batch *b, st_slice key) {
    if (key.len > UINT32_MAX) return st_err(ST_EINVAL, "key over 4 GiB");
    return add(b, ST_KIND_DEL, key, NULL);
}

uint32_t st_batch_count(const st_batch *b) { return st_get_fixed32(b->rep.data + 8); }
size_t st_batch_bytes(const st_batch *b) { return b->rep.len; }
void st_batch_set_seq(st_batch *b, uint64_t seq) { st_put_fixed64(b->rep.data, seq); }

int st_batch_iterate(st_slice rep, st_batch_fn fn, void *arg) {
    if (rep.len < ST_BATCH_HEADER) return st_err(ST_ECORRUPT, "write batch shorter than its header");
    uint64_t seq = st_batch_seq(rep);
    uint32_t count = st_batch_rep_count(rep), n = 0;
    const uint8_t *p = rep.data + ST_BATCH_HEADER, *end = rep.data + rep.len;
    while (p < end) {
        int kind = *p++;
        st_slice key, value = {0};
        if (!(p = st_get_lenprefixed(p, end, &key))) goto bad;
        if (kind == ST_KIND_PUT) {
            if (!(p = st_get_lenprefixed(p, end, &value))) goto bad;
        } else if (kind != ST_KIND_DEL) {
            goto bad;
        }
        if (n >= count) goto bad;
        int rc = fn(arg, seq + n, kind, key, value);
        if (rc) return rc;
        n++;
    }
    if (n != count) goto bad;
    return 0;
bad:
    return st_err(ST_ECORRUPT, "malformed write batch (seq %llu, operation %u of %u)", (unsigned long long)seq,
                  n, count);
}

typedef struct foreach_ctx {
    st_batch_op_fn fn;
    void *arg;
} foreach_ctx;

static int foreach_op(void *arg, uint64_t seq, int kind, st_slice key, st_slice value) {
    (void)seq;
    foreach_ctx *c = arg;
    return c->fn(c->arg, kind == ST_KIND_DEL, key, kind == ST_KIND_DEL ? (st_slice){0} : value);
}

int st_batch_foreach(const st_batch *b, st_batch_op_fn fn, void *arg) {
    foreach_ctx c = {fn, arg};
    return st_batch_iterate(st_buf_slice(&b->rep), foreach_op, &c);
}
