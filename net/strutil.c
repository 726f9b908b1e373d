/* strutil.c -- see strutil.h. The parsing rules copy Redis's util.c (string2ll, string2d,
 * string2ld) so that every command accepts and rejects exactly the numbers Redis does. strtod and
 * strtold need a NUL-terminated string, so their input is copied into a stack buffer first. */
#include "strutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool resp_str_to_ll(const uint8_t *p, size_t n, long long *out) {
    if (n == 0 || n > RESP_LL_STR_MAX) return false;
    if (n == 1 && p[0] == '0') {
        if (out) *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (p[0] == '-') {
        neg = true;
        if (++i == n) return false;
    }
    if (p[i] < '1' || p[i] > '9') return false; /* no leading zeros, no '+', no spaces */
    unsigned long long v = (unsigned long long)(p[i++] - '0');
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > ULLONG_MAX / 10) return false;
        v *= 10;
        if (v > ULLONG_MAX - d) return false;
        v += d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return false;
        /* -(LLONG_MAX+1) is representable only through the unsigned negation. */
        if (out) *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return false;
        if (out) *out = (long long)v;
    }
    return true;
}

bool resp_str_to_double(const uint8_t *p, size_t n, double *out) {
    char stackbuf[RESP_NUMSTR_MAX];
    char *buf = stackbuf;
    /* Redis's string2d takes any length (an sds is NUL-terminated); a long run of zero digits is
     * a valid number, so a long input is copied to the heap rather than rejected. */
    if (n == 0) return false;
    if (n >= sizeof stackbuf && !(buf = malloc(n + 1))) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    bool ok = !(buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r') || (size_t)(end - buf) != n ||
                (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
                isnan(v));
    if (buf != stackbuf) free(buf);
    if (ok && out) *out = v;
    return ok;
}

bool resp_str_to_ld(const uint8_t *p, size_t n, long double *out) {
    char buf[RESP_NUMSTR_MAX];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    long double v = strtold(buf, &end);
    if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r') || (size_t)(end - buf) != n ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return false;
    if (out) *out = v;
    return true;
}

static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819"
    "2021222324252627282930313233343536373839"
    "4041424344454647484950515253545556575859"
    "6061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static size_t digits10(unsigned long long v) {
    size_t n = 1;
    for (;;) {
        if (v < 10) return n;
        if (v < 100) return n + 1;
        if (v < 1000) return n + 2;
        if (v < 10000) return n + 3;
        v /= 10000u;
        n += 4;
    }
}

size_t resp_ull_to_str(char *dst, unsigned long long v) {
    size_t len = digits10(v);
    size_t i = len;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        dst[--i] = digit_pairs[d + 1];
        dst[--i] = digit_pairs[d];
    }
    if (v < 10) {
        dst[--i] = (char)('0' + v);
    } else {
        unsigned d = (unsigned)v * 2;
        dst[--i] = digit_pairs[d + 1];
        dst[--i] = digit_pairs[d];
    }
    return len;
}

size_t resp_ll_to_str(char *dst, long long v) {
    if (v >= 0) return resp_ull_to_str(dst, (unsigned long long)v);
    dst[0] = '-';
    /* Negate in unsigned arithmetic: -LLONG_MIN overflows a long long. */
    return 1 + resp_ull_to_str(dst + 1, 0ull - (unsigned long long)v);
}

size_t resp_double_to_str(char *dst, size_t cap, double d) {
    /* Spelled out: libc spellings differ ("-nan", "Infinity"), Redis sends these. */
    const char *lit = isnan(d) ? "nan" : isinf(d) ? (d > 0 ? "inf" : "-inf") : NULL;
    if (lit) {
        size_t n = strlen(lit);
        if (cap <= n) return 0;
        memcpy(dst, lit, n + 1);
        return n;
    }
    int n = snprintf(dst, cap, "%.17g", d);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t resp_ld_to_str(char *dst, size_t cap, long double v, bool human) {
    const char *lit = isnan(v) ? "nan" : isinf(v) ? (v > 0 ? "inf" : "-inf") : NULL;
    if (lit) {
        size_t n = strlen(lit);
        if (cap <= n) return 0;
        memcpy(dst, lit, n + 1);
        return n;
    }
    int r = snprintf(dst, cap, human ? "%.17Lf" : "%.17Lg", v);
    if (r < 0 || (size_t)r >= cap) return 0;
    size_t n = (size_t)r;
    if (human) {
        if (memchr(dst, '.', n)) {
            while (dst[n - 1] == '0') n--;
            if (dst[n - 1] == '.') n--;
        }
        if (n == 2 && dst[0] == '-' && dst[1] == '0') { /* -0.00000000000000000 */
            dst[0] = '0';
            n = 1;
        }
        dst[n] = '\0';
    }
    return n;
}
