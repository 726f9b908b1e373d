/* log_writer.c -- record framing (st_log_frame, shared with wal.c) and the single-threaded log
 * writer of log_writer.h.
 *
 * Framing walks the record through the blocks: each fragment takes what is left of the current
 * block after its 7-byte header; when fewer than 7 bytes are left they become the zero trailer and
 * the next fragment starts a new block. With exactly 7 bytes left a non-empty record begins with an
 * empty FIRST fragment there (as LevelDB does), which keeps the rule "every block starts with a
 * header" without a special case. */
#include "log_writer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log_frame.h"
#include "util/err.h"
#include "util/hash.h"
#include "wal_format.h"

int st_log_frame(st_buf *out, uint64_t *block_off, st_slice rec) {
    if (rec.len > SIZE_MAX / 4) return ST_EINVAL;
    /* Fragments: a possibly short first one, full-block ones, a last one; each may cost a header
     * and a trailer. Reserving the bound up front keeps out unchanged on failure. */
    size_t frags = rec.len / ST_LOG_MAX_FRAGMENT + 2;
    ST_TRY(st_buf_reserve(out, rec.len + frags * (2 * ST_LOG_HEADER_SIZE - 1)));

    uint8_t *p = out->data + out->len;
    size_t off = (size_t)*block_off;
    ST_ASSERT(off < ST_LOG_BLOCK_SIZE);
    const uint8_t *src = rec.data;
    size_t left = rec.len;
    bool first = true;
    do {
        size_t room = ST_LOG_BLOCK_SIZE - off;
        if (room < ST_LOG_HEADER_SIZE) {
            memset(p, 0, room);
            p += room;
            off = 0;
            room = ST_LOG_BLOCK_SIZE;
        }
        size_t frag = left < room - ST_LOG_HEADER_SIZE ? left : room - ST_LOG_HEADER_SIZE;
        bool last = frag == left;
        uint8_t type = first ? (last ? ST_LOG_FULL : ST_LOG_FIRST) : (last ? ST_LOG_LAST : ST_LOG_MIDDLE);
        st_put_fixed16(p + ST_LOG_OFF_LENGTH, (uint16_t)frag);
        p[ST_LOG_OFF_TYPE] = type;
        if (frag) {
            memcpy(p + ST_LOG_HEADER_SIZE, src, frag);
            src += frag;
        }
        st_put_fixed32(p + ST_LOG_OFF_CHECKSUM, st_checksum32(p + ST_LOG_OFF_TYPE, 1 + frag));
        p += ST_LOG_HEADER_SIZE + frag;
        off += ST_LOG_HEADER_SIZE + frag;
        left -= frag;
        first = false;
    } while (left > 0);

    out->len = (size_t)(p - out->data);
    ST_ASSERT(out->len <= out->cap);
    *block_off = off == ST_LOG_BLOCK_SIZE ? 0 : off;
    return 0;
}

struct st_log_writer {
    st_file *f;
    st_buf buf;         /* framed bytes not yet written; they start at st_file_append_off(f) */
    uint64_t block_off; /* (append_off + buf.len) % ST_LOG_BLOCK_SIZE */
    bool poisoned;      /* L2 */
};

int st_log_writer_new(st_file *f, st_log_writer **out) {
    *out = NULL;
    st_log_writer *w = calloc(1, sizeof *w);
    if (!w) {
        st_file_close(f);
        return st_err(ST_ENOMEM, "log writer: out of memory");
    }
    w->f = f;
    st_buf_init(&w->buf);
    w->block_off = st_file_append_off(f) % ST_LOG_BLOCK_SIZE;
    *out = w;
    return 0;
}

static int poisoned_err(const st_log_writer *w) {
    return st_err(ST_EFATAL, "log %s: poisoned by an earlier failed write or sync", st_file_path(w->f));
}

int st_log_writer_add(st_log_writer *w, st_slice rec) {
    if (w->poisoned) return poisoned_err(w);
    int rc = st_log_frame(&w->buf, &w->block_off, rec);
    if (rc < 0)
        return st_err(rc, "log %s: cannot frame a record of %zu bytes", st_file_path(w->f), rec.len);
    return 0;
}

int st_log_writer_flush(st_log_writer *w) {
    if (w->poisoned) return poisoned_err(w);
    if (w->buf.len == 0) return 0;
    uint64_t off = st_file_append_off(w->f);
    int rc = st_file_append(w->f, w->buf.data, w->buf.len);
    if (rc < 0) {
        /* Part of the buffer may have reached the file: rewriting it could duplicate records. */
        w->poisoned = true;
        return st_err(st_err_from_errno(rc), "log %s: write of %zu bytes at offset %llu: %s",
                      st_file_path(w->f), w->buf.len, (unsigned long long)off, strerror(-rc));
    }
    st_buf_clear(&w->buf);
    return 0;
}

int st_log_writer_sync(st_log_writer *w) {
    ST_TRY(st_log_writer_flush(w));
    int rc = st_file_sync(w->f);
    if (rc < 0) {
        /* After a failed fdatasync the kernel may have dropped the dirty pages: never retry. */
        w->poisoned = true;
        return st_err(st_err_from_errno(rc), "log %s: fdatasync at size %llu: %s", st_file_path(w->f),
                      (unsigned long long)st_file_append_off(w->f), strerror(-rc));
    }
    return 0;
}

uint64_t st_log_writer_size(const st_log_writer *w) { return st_file_append_off(w->f) + w->buf.len; }

void st_log_writer_free(st_log_writer *w) {
    if (!w) return;
    st_file_close(w->f);
    st_buf_destroy(&w->buf);
    free(w);
}
