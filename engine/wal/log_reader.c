/* log_reader.c -- reassembles logical records from the blocks of a log (wal_format.h); contract
 * in log_reader.h.
 *
 * One 32 KiB block is in memory at a time, read with pread. Physical records are checked in the
 * order type, length-fits-block, EOF, checksum, fragment order; nothing is trusted before its
 * checksum, and every access is bounded by the bytes actually read.
 * At the first anomaly the reader decides once, and for good, between torn tail and corruption:
 *  - EOF before a whole header: torn, nothing can follow;
 *  - anything else (bad type or checksum, length past the block end or past EOF, zeros): it
 *    searches every later byte offset, in the rest of this block and in each later block, for a
 *    physical record with a good checksum. Found: ST_ECORRUPT. None: torn tail, unless every byte
 *    from the anomaly to EOF is zero: that is space the WAL wrote ahead of its records
 *    (st_wal_set_zero_ahead), and the log ends there cleanly, nothing dropped.
 * Byte offsets, not only block starts, so that a damaged length field cannot hide the valid
 * records behind it in the same block; a payload "cut off by EOF" is searched too, since a
 * flipped length looks exactly like that. The price: a torn record whose payload embeds a framed
 * record (say a log file stored as a value) reads as corruption, which is loud, not lossy. */
#include "log_reader.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/hash.h"
#include "wal_format.h"

struct st_log_reader {
    st_file *f;
    uint64_t file_size;   /* read limit, fixed at open */
    uint8_t *block;       /* ST_LOG_BLOCK_SIZE bytes */
    size_t block_len;     /* valid bytes in block: < ST_LOG_BLOCK_SIZE only for the last block */
    uint64_t block_start; /* file offset of block[0] */
    size_t pos;           /* next header in block */
    uint64_t end_off;
    uint64_t dropped;
    bool strict;          /* st_log_reader_set_strict */
    int rc;               /* 0, or the sticky status once ended */
    uint64_t bad_off;     /* ST_ECORRUPT: the damaged record */
    uint64_t good_off;    /* ST_ECORRUPT: first valid record after it */
    const char *bad_why;
};

static int load_block(st_log_reader *r, uint64_t start) {
    size_t want = 0;
    if (start < r->file_size)
        want = r->file_size - start < ST_LOG_BLOCK_SIZE ? (size_t)(r->file_size - start) : ST_LOG_BLOCK_SIZE;
    size_t got = 0;
    int rc = want ? st_file_pread(r->f, r->block, want, start, &got) : 0;
    if (rc < 0)
        return st_err(st_err_from_errno(rc), "log %s: read of block at offset %llu: %s", st_file_path(r->f),
                      (unsigned long long)start, strerror(-rc));
    r->block_start = start;
    r->block_len = got;
    r->pos = 0;
    return 0;
}

/* A physical record with a good checksum starts at p of buf[0, len). len <= block size, so a
 * record found here also respects the block end. */
static bool valid_at(const uint8_t *buf, size_t len, size_t p) {
    if (len < ST_LOG_HEADER_SIZE || p > len - ST_LOG_HEADER_SIZE) return false;
    const uint8_t *h = buf + p;
    uint8_t type = h[ST_LOG_OFF_TYPE];
    if (type == ST_LOG_ZERO || type > ST_LOG_TYPE_MAX) return false;
    size_t n = st_get_fixed16(h + ST_LOG_OFF_LENGTH);
    if (n > len - p - ST_LOG_HEADER_SIZE) return false;
    return st_get_fixed32(h + ST_LOG_OFF_CHECKSUM) == st_checksum32(h + ST_LOG_OFF_TYPE, 1 + n);
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Searches for a valid record after the one at r->pos. 1 found (*good = its offset), 0 none, or
 * an I/O error; *zeros says whether every byte from r->pos to EOF is zero (space a WAL wrote
 * ahead of its records: the log ends cleanly there). Reuses r->block: the reader ends either way. */
static int valid_record_follows(st_log_reader *r, uint64_t *good, bool *zeros) {
    size_t p = r->pos + 1;
    *zeros = all_zero(r->block + r->pos, r->block_len - r->pos);
    for (;;) {
        for (; p + ST_LOG_HEADER_SIZE <= r->block_len; p++) {
            if (valid_at(r->block, r->block_len, p)) {
                *good = r->block_start + p;
                *zeros = false;
                return 1;
            }
        }
        if (r->block_len < ST_LOG_BLOCK_SIZE) return 0;
        ST_TRY(load_block(r, r->block_start + ST_LOG_BLOCK_SIZE));
        if (*zeros) *zeros = all_zero(r->block, r->block_len);
        p = 0;
    }
}

static int end_of_log(st_log_reader *r) {
    r->rc = ST_ENOTFOUND;
    r->dropped = r->file_size - r->end_off;
    return ST_ENOTFOUND;
}

static int report_corrupt(const st_log_reader *r) {
    return st_err(ST_ECORRUPT,
                  "log %s: damaged record at offset %llu (%s) followed by a valid record at offset %llu: "
                  "acknowledged data may be lost",
                  st_file_path(r->f), (unsigned long long)r->bad_off, r->bad_why,
                  (unsigned long long)r->good_off);
}

/* The record at r->pos is damaged: torn tail or corruption (see the top of the file). `cut` says
 * the damage looks like a write that never finished (EOF inside it, or zeros) rather than a
 * complete record whose bytes changed; a strict reader refuses the latter even at the tail. */
static int damaged(st_log_reader *r, const char *why, bool cut) {
    uint64_t bad = r->block_start + r->pos, good = 0;
    bool zeros = false;
    int found = valid_record_follows(r, &good, &zeros);
    if (found < 0) return r->rc = found;
    if (!found && zeros) { /* only zeros to EOF: space written ahead, a clean end (nothing dropped) */
        end_of_log(r);
        r->dropped = 0;
        return ST_ENOTFOUND;
    }
    if (!found && (cut || !r->strict)) return end_of_log(r);
    if (!found) {
        r->rc = ST_ECORRUPT;
        r->dropped = r->file_size - r->end_off;
        r->bad_off = bad;
        r->good_off = bad;
        r->bad_why = why;
        return st_err(ST_ECORRUPT, "log %s: damaged last record at offset %llu (%s): it was complete when written",
                      st_file_path(r->f), (unsigned long long)bad, why);
    }
    r->rc = ST_ECORRUPT;
    r->dropped = r->file_size - r->end_off;
    r->bad_off = bad;
    r->good_off = good;
    r->bad_why = why;
    return report_corrupt(r);
}

/* A fragment with a good checksum that does not fit the record being assembled: it is itself the
 * valid record that follows the damage (the lost fragments before it). */
static int out_of_order(st_log_reader *r, const char *why) {
    r->rc = ST_ECORRUPT;
    r->dropped = r->file_size - r->end_off;
    r->bad_off = r->good_off = r->block_start + r->pos;
    r->bad_why = why;
    return report_corrupt(r);
}

int st_log_reader_new(st_file *f, st_log_reader **out) {
    *out = NULL;
    int rc;
    st_log_reader *r = calloc(1, sizeof *r);
    uint8_t *block = malloc(ST_LOG_BLOCK_SIZE);
    if (!r || !block) {
        rc = st_err(ST_ENOMEM, "log %s: out of memory", st_file_path(f));
        goto fail;
    }
    r->f = f;
    r->block = block;
    if ((rc = st_file_size(f, &r->file_size)) < 0) {
        rc = st_err(st_err_from_errno(rc), "log %s: size: %s", st_file_path(f), strerror(-rc));
        goto fail;
    }
    if ((rc = load_block(r, 0)) < 0) goto fail;
    *out = r;
    return 0;
fail:
    free(block);
    free(r);
    st_file_close(f);
    return rc;
}

int st_log_reader_next(st_log_reader *r, st_buf *rec) {
    st_buf_clear(rec);
    if (r->rc == ST_ECORRUPT) return report_corrupt(r);
    if (r->rc == ST_ENOTFOUND) return ST_ENOTFOUND;
    if (r->rc < 0)
        return st_err(r->rc, "log %s: reader ended by an earlier error at offset %llu", st_file_path(r->f),
                      (unsigned long long)r->end_off);

    bool in_record = false; /* a FIRST has been taken and its LAST not yet */
    for (;;) {
        if (r->pos + ST_LOG_HEADER_SIZE > r->block_len) {
            if (r->block_len < ST_LOG_BLOCK_SIZE) return end_of_log(r); /* EOF, maybe mid-header */
            int rc = load_block(r, r->block_start + ST_LOG_BLOCK_SIZE); /* skip the trailer */
            if (rc < 0) return r->rc = rc;
            continue;
        }
        const uint8_t *h = r->block + r->pos;
        uint8_t type = h[ST_LOG_OFF_TYPE];
        size_t n = st_get_fixed16(h + ST_LOG_OFF_LENGTH);
        if (type == ST_LOG_ZERO) return damaged(r, "zero type: unwritten or zeroed space", true);
        if (type > ST_LOG_TYPE_MAX) return damaged(r, "unknown record type", false);
        if (r->pos + ST_LOG_HEADER_SIZE + n > ST_LOG_BLOCK_SIZE)
            return damaged(r, "length crosses the block end", false);
        if (r->pos + ST_LOG_HEADER_SIZE + n > r->block_len) return damaged(r, "payload cut off by EOF", true);
        if (st_get_fixed32(h + ST_LOG_OFF_CHECKSUM) != st_checksum32(h + ST_LOG_OFF_TYPE, 1 + n))
            return damaged(r, "checksum mismatch", false);

        bool starts = type == ST_LOG_FULL || type == ST_LOG_FIRST;
        if (starts && in_record) return out_of_order(r, "new record before the LAST fragment of the previous one");
        if (!starts && !in_record) return out_of_order(r, "MIDDLE or LAST fragment without a FIRST");
        if (n && st_buf_append(rec, h + ST_LOG_HEADER_SIZE, n) < 0) {
            r->rc = ST_ENOMEM;
            return st_err(ST_ENOMEM, "log %s: out of memory assembling a record at offset %llu",
                          st_file_path(r->f), (unsigned long long)(r->block_start + r->pos));
        }
        r->pos += ST_LOG_HEADER_SIZE + n;
        if (type == ST_LOG_FULL || type == ST_LOG_LAST) {
            r->end_off = r->block_start + r->pos;
            return 0;
        }
        in_record = true;
    }
}

uint64_t st_log_reader_end_off(const st_log_reader *r) { return r->end_off; }
void st_log_reader_set_strict(st_log_reader *r, bool on) { r->strict = on; }
uint64_t st_log_reader_dropped(const st_log_reader *r) { return r->dropped; }

void st_log_reader_free(st_log_reader *r) {
    if (!r) return;
    st_file_close(r->f);
    free(r->block);
    free(r);
}
