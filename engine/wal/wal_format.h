/* wal_format.h -- on-disk framing of record logs: the WAL and the MANIFEST (docs/FORMAT.md#wal).
 *
 * A log is a sequence of 32768-byte blocks (the last may be partial). Each block holds whole
 * physical records, each a 7-byte header then its payload:
 *     checksum u32 LE | length u16 LE | type u8 | payload[length]
 * checksum = st_checksum32 (util/hash.h) over the type byte followed by the payload, which the
 * header lays out contiguously, so it is hashed in place. No header starts in a block's last 6
 * bytes: that trailer is zero-filled and skipped. A logical record that does not fit in the rest
 * of its block is split into FIRST, MIDDLE..., LAST fragments; so every block begins with a
 * header, which is where a reader resynchronises after damage. */
#ifndef STRATA_WAL_WAL_FORMAT_H
#define STRATA_WAL_WAL_FORMAT_H

#define ST_LOG_BLOCK_SIZE 32768
#define ST_LOG_HEADER_SIZE 7
/* Largest payload of one physical record: a fragment alone in a block. */
#define ST_LOG_MAX_FRAGMENT (ST_LOG_BLOCK_SIZE - ST_LOG_HEADER_SIZE)

/* Byte offsets of the header fields. */
#define ST_LOG_OFF_CHECKSUM 0
#define ST_LOG_OFF_LENGTH 4
#define ST_LOG_OFF_TYPE 6

/* Record types. On disk: never renumber. */
enum st_log_type {
    ST_LOG_ZERO = 0,   /* reserved: zeroed or preallocated space, never written as a record */
    ST_LOG_FULL = 1,   /* a whole logical record */
    ST_LOG_FIRST = 2,  /* first fragment */
    ST_LOG_MIDDLE = 3, /* interior fragment */
    ST_LOG_LAST = 4,   /* final fragment */
};
#define ST_LOG_TYPE_MAX ST_LOG_LAST

#endif
