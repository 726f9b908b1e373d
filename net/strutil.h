/* strutil.h -- number <-> string conversions with Redis's exact rules, for the RESP parser, the
 * reply encoder and the command procs. Inputs are (pointer, length) views: binary-safe, never
 * NUL-terminated, never read past their length. No function here allocates except
 * resp_str_to_double on inputs of RESP_NUMSTR_MAX bytes or more.
 * Thread-safety: all functions are reentrant. They assume the "C" locale (the server never calls
 * setlocale), as Redis does. */
#ifndef STRATA_NET_STRUTIL_H
#define STRATA_NET_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text of a long long, sign included, without a NUL ("-9223372036854775808"). */
#define RESP_LL_STR_MAX 20
/* Buffer size that holds any resp_ld_to_str/resp_double_to_str output plus its NUL (Redis's
 * MAX_LONG_DOUBLE_CHARS: "%.17Lf" of 1e4000 is about 4000 characters). */
#define RESP_LD_STR_MAX (5 * 1024)
/* resp_str_to_ld rejects inputs of this many bytes or more (Redis's string2ld buffer). */
#define RESP_NUMSTR_MAX RESP_LD_STR_MAX

/* Redis's string2ll. Accepts exactly: "0", or an optional '-' followed by a digit 1-9 and more
 * digits, in range [LLONG_MIN, LLONG_MAX]. Rejects empty input, spaces anywhere, '+', leading zeros
 * ("01", "-0"), and inputs of 21 bytes or more. On success stores *out (if out is non-NULL) and
 * returns true; on failure returns false and leaves *out unchanged. */
bool resp_str_to_ll(const uint8_t *p, size_t n, long long *out);

/* Redis's string2d (getDoubleFromObject): strtod over the whole input. Rejects empty input, a
 * leading space, trailing bytes (so also trailing spaces and embedded NULs), "nan" in any
 * spelling, and overflow/underflow to +-HUGE_VAL or 0 with ERANGE. Accepts what strtod does
 * otherwise: "inf", "-infinity", "+1.5", "1e10", hex floats. Returns true and stores *out. */
bool resp_str_to_double(const uint8_t *p, size_t n, double *out);

/* Redis's string2ld (INCRBYFLOAT, HINCRBYFLOAT): the same rules as resp_str_to_double through
 * strtold, and inputs of RESP_NUMSTR_MAX bytes or more are rejected. */
bool resp_str_to_ld(const uint8_t *p, size_t n, long double *out);

/* Redis's ll2string without printf. Writes the decimal text of v to dst (which must hold
 * RESP_LL_STR_MAX bytes), no NUL; returns its length (1..20). */
size_t resp_ll_to_str(char *dst, long long v);
/* The same for an unsigned value (dst holds 20 bytes). */
size_t resp_ull_to_str(char *dst, unsigned long long v);

/* Redis's "%.17g" double text as addReplyDouble sends it (Redis <= 7.0): 3.0 -> "3",
 * 1.5 -> "1.5", -0.0 -> "-0", 1e300 -> "1.0000000000000001e+300", +-inf -> "inf"/"-inf",
 * any NaN -> "nan". dst holds at least 32 bytes; writes a NUL; returns the length. */
size_t resp_double_to_str(char *dst, size_t cap, double d);

/* Redis's ld2string. human=true is LD_STR_HUMAN (INCRBYFLOAT): "%.17Lf" with trailing zeros and a
 * trailing '.' removed and "-0" turned into "0"; human=false is LD_STR_AUTO ("%.17Lg"). +-inf ->
 * "inf"/"-inf". Writes a NUL; returns the length, or 0 if cap is too small (use RESP_LD_STR_MAX). */
size_t resp_ld_to_str(char *dst, size_t cap, long double v, bool human);

#endif
