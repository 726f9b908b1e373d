/* st_status.h -- the status codes every engine function returns.
 *
 * Every engine call returns 0 (ST_OK) or one of the negative codes below. The text of the last
 * failure on the calling thread (what failed and where) is available from st_errmsg(). */
#ifndef STRATA_ST_STATUS_H
#define STRATA_ST_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

enum st_status {
    ST_OK = 0,
    ST_ENOTFOUND = -1, /* key absent: an outcome, never logged */
    ST_EINVAL = -2,    /* caller broke the contract or passed bad options */
    ST_ENOMEM = -3,
    ST_EIO = -4,       /* read/write/fsync failed; errno text in st_errmsg() */
    ST_ENOSPC = -5,
    ST_ECORRUPT = -6,  /* checksum/format mismatch: reported, never served */
    ST_EBUSY = -7,     /* write stall or lock held, retry */
    ST_EFATAL = -8,    /* db poisoned by a failed WAL/MANIFEST write or fsync; reopen */
    ST_EEXIST = -9,    /* database exists and error_if_exists was set */
};

/* Static, never NULL: a short name for rc ("ST_ECORRUPT: corruption"). */
const char *st_strerror(int rc);

/* Message of the last failing engine call on this thread (file, offset, errno text...), or "" if
 * none. Valid until the next engine call on this thread; copy it to keep it. */
const char *st_errmsg(void);
/* st_errmsg() without the "file.c:123: " prefix that says where in the engine it was recorded:
 * the text for people (a tool's message, a client's reply). */
const char *st_errtext(void);

#ifdef __cplusplus
}
#endif
#endif
