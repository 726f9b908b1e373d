/* err.c -- per-thread error messages and the status names; see err.h. */
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* Room for two paths and what went wrong at each: a message that wraps another (recovery naming
 * the WAL reader's finding, a write refused with the stop's cause) must not lose its end. */
static _Thread_local char errmsg[1024];

int st_err_at(const char *file, int line, int code, const char *fmt, ...) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    /* Formatted aside first: a message may wrap the previous one (an argument st_errmsg()). */
    char buf[sizeof errmsg];
    int n = snprintf(buf, sizeof buf, "%s:%d: ", base, line);
    if (n < 0 || (size_t)n >= sizeof buf) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    memcpy(errmsg, buf, sizeof errmsg);
    return code;
}

const char *st_errmsg(void) { return errmsg; }
const char *st_errtext(void) { return st_err_text(errmsg); }

const char *st_err_text(const char *m) {
    const char *p = m;
    while (*p && *p != ':' && *p != ' ') p++;
    if (p - m < 3 || *p != ':' || memcmp(p - 2, ".c", 2) != 0) return m;
    const char *q = p + 1;
    if (!isdigit((unsigned char)*q)) return m;
    while (isdigit((unsigned char)*q)) q++;
    return q[0] == ':' && q[1] == ' ' ? q + 2 : m;
}

int st_err_from_errno(int neg_errno) {
    switch (-neg_errno) {
    case ENOSPC:
    case EDQUOT: return ST_ENOSPC;
    case ENOMEM: return ST_ENOMEM;
    case ENOENT: return ST_ENOTFOUND;
    default: return ST_EIO;
    }
}

const char *st_strerror(int rc) {
    switch (rc) {
    case ST_OK: return "ST_OK: success";
    case ST_ENOTFOUND: return "ST_ENOTFOUND: not found";
    case ST_EINVAL: return "ST_EINVAL: invalid argument";
    case ST_ENOMEM: return "ST_ENOMEM: out of memory";
    case ST_EIO: return "ST_EIO: I/O error";
    case ST_ENOSPC: return "ST_ENOSPC: no space left on device";
    case ST_ECORRUPT: return "ST_ECORRUPT: corruption detected";
    case ST_EBUSY: return "ST_EBUSY: busy, retry";
    case ST_EFATAL: return "ST_EFATAL: database poisoned by an earlier write/sync failure";
    case ST_EEXIST: return "ST_EEXIST: database already exists";
    default: return "unknown status";
    }
}
