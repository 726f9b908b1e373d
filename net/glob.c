/* glob.c -- see glob.h. A transcription of Redis 7's stringmatchlen_impl (util.c) with every read
 * bounded by the view lengths: Redis relies on the NUL after an sds in three places (pattern[1]
 * after a final '*', the class loop testing pattern[0] before its length, the trailing-'*' skip),
 * which here test the remaining length first and so behave as if that NUL were there. */
#include "glob.h"

#include <ctype.h>

#define GLOB_MAX_NESTING 1000

static int fold(int c, bool nocase) { return nocase && c >= 0 ? tolower(c) : c; }

/* *skip_longer: set when the pattern after a '*' matched nowhere in the rest of the string; then
 * no earlier '*' can help by consuming more (the rest would have to match even later). */
static bool match_impl(const uint8_t *p, size_t pn, const uint8_t *s, size_t sn, bool nocase, bool *skip_longer,
                       int nesting) {
    if (nesting > GLOB_MAX_NESTING) return false;
    while (pn && sn) {
        switch (p[0]) {
        case '*':
            while (pn > 1 && p[1] == '*') {
                p++;
                pn--;
            }
            if (pn == 1) return true;
            while (sn) {
                if (match_impl(p + 1, pn - 1, s, sn, nocase, skip_longer, nesting + 1)) return true;
                if (*skip_longer) return false;
                s++;
                sn--;
            }
            *skip_longer = true;
            return false;
        case '?':
            s++;
            sn--;
            break;
        case '[': {
            p++;
            pn--;
            bool negate = pn && p[0] == '^';
            if (negate) {
                p++;
                pn--;
            }
            bool match = false;
            for (;;) {
                if (pn == 0) {
                    /* unclosed class: step back so the shared advance below ends at the end */
                    p--;
                    pn++;
                    break;
                }
                if (p[0] == '\\' && pn >= 2) {
                    p++;
                    pn--;
                    if (p[0] == s[0]) match = true;
                } else if (p[0] == ']') {
                    break;
                } else if (pn >= 3 && p[1] == '-') {
                    /* as signed chars, like Redis where char is signed (x86-64): "[a-\xff]" is
                     * the range \xff..a there, and KEYS must select what redis-server does */
                    int lo = (signed char)p[0], hi = (signed char)p[2], c = (signed char)s[0];
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                    lo = fold(lo, nocase);
                    hi = fold(hi, nocase);
                    c = fold(c, nocase);
                    p += 2;
                    pn -= 2;
                    if (c >= lo && c <= hi) match = true;
                } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
                    match = true;
                }
                p++;
                pn--;
            }
            if (negate) match = !match;
            if (!match) return false;
            s++;
            sn--;
            break;
        }
        case '\\':
            if (pn >= 2) {
                p++;
                pn--;
            }
            /* fall through */
        default:
            if (fold(p[0], nocase) != fold(s[0], nocase)) return false;
            s++;
            sn--;
            break;
        }
        p++;
        pn--;
        if (sn == 0) {
            while (pn && p[0] == '*') {
                p++;
                pn--;
            }
            break;
        }
    }
    return pn == 0 && sn == 0;
}

bool glob_match(const uint8_t *pat, size_t plen, const uint8_t *str, size_t slen, bool nocase) {
    bool skip_longer = false;
    return match_impl(pat, plen, str, slen, nocase, &skip_longer, 0);
}

size_t glob_literal_prefix(const uint8_t *pat, size_t plen, uint8_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < plen;) {
        uint8_t c = pat[i];
        if (c == '*' || c == '?' || c == '[') break;
        if (c == '\\' && i + 1 < plen) {
            out[n++] = pat[i + 1];
            i += 2;
        } else {
            out[n++] = c;
            i++;
        }
    }
    return n;
}

bool glob_matches_all(const uint8_t *pat, size_t plen) { return plen == 1 && pat[0] == '*'; }
