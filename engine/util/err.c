/* err.c -- per-thread error messages and the status names; see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

static _Thread_local char errmsg[512];

int st_err_at(const char *file, int line, int code, const char *fmt, ...) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    int n = snprintf(errmsg, sizeof errmsg, "%s:%d: ", base, line);
    if (n < 0 || (size_t)n >= sizeof errmsg) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg + n, sizeof errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

const char *st_errmsg(void) { return errmsg; }

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
