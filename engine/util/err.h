/* err.h -- recording errors: code + where + message, per thread.
 *
 * `return st_err(ST_ECORRUPT, "sst %llu: bad checksum at %llu", ...);` stores "file:line: message"
 * in this thread's slot (read with st_errmsg()) and returns the code, so an error reads as one
 * statement. The engine never lets a raw errno escape: the io layer returns -errno and
 * st_err_from_errno() converts it at the boundary. */
#ifndef STRATA_UTIL_ERR_H
#define STRATA_UTIL_ERR_H

#include <stdio.h>
#include <stdlib.h>

#include "strata/st_status.h"

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

int st_err_at(const char *file, int line, int code, const char *fmt, ...) ST_PRINTF(4, 5);
#define st_err(code, ...) st_err_at(__FILE__, __LINE__, (code), __VA_ARGS__)

/* msg (an st_errmsg()) without st_err's "file.c:123: " prefix, which says where in the engine the
 * error was recorded: for messages meant for people. A view into msg. */
const char *st_err_text(const char *msg);

/* Maps a negative errno (io layer convention) to an ST_E* code: ENOSPC/EDQUOT -> ST_ENOSPC,
 * ENOMEM -> ST_ENOMEM, ENOENT -> ST_ENOTFOUND, anything else -> ST_EIO. */
int st_err_from_errno(int neg_errno);

/* Early return on a negative status. */
#define ST_TRY(expr)                   \
    do {                               \
        int rc_ = (expr);              \
        if (rc_ < 0) return rc_;       \
    } while (0)

/* Always-on assertion for programming errors (never for bytes from disk or a socket). */
#define ST_ASSERT(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#ifdef ST_DEBUG_INVARIANTS
#define ST_DASSERT(cond) ST_ASSERT(cond)
#else
#define ST_DASSERT(cond) ((void)0)
#endif

#endif
