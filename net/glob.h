/* glob.h -- Redis's glob-style pattern matching (util.c stringmatchlen), for KEYS and SCAN MATCH.
 *
 * Pattern syntax: '*' any run of bytes (also empty), '?' any one byte, '[abc]' one byte of the
 * class, '[^abc]' one byte not in it, '[a-z]' ranges (reversed ends are swapped), '\x' the byte x
 * literally (also inside a class). An unclosed '[' takes the rest of the pattern as its class; a
 * trailing lone '\' matches a '\'. Both pattern and string are (pointer, length) views:
 * binary-safe, never read past their length. Range ends compare as signed chars, as in Redis
 * built where char is signed (x86-64), so "[a-\xff]" is the range \xff..a (swapped), as there.
 * Complexity: as Redis 7, at most 1000 nested '*' are followed (deeper patterns do not match), and a
 * failed suffix match stops every earlier '*' from trying longer runs, so matching is
 * O(pattern * string) rather than exponential.
 * Thread-safety: reentrant. */
#ifndef STRATA_NET_GLOB_H
#define STRATA_NET_GLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if str[0, slen) matches pat[0, plen); nocase folds ASCII letters (tolower). */
bool glob_match(const uint8_t *pat, size_t plen, const uint8_t *str, size_t slen, bool nocase);

/* The literal bytes every match must start with: pat up to its first unescaped '*', '?' or '[',
 * with escapes resolved ("user\*x*" -> "user*x"). Writes them to out (which must hold plen
 * bytes; the prefix is never longer than the pattern) and returns their count. */
size_t glob_literal_prefix(const uint8_t *pat, size_t plen, uint8_t *out);

/* True if pat is exactly "*", which KEYS and SCAN take as "every key" without matching, as Redis
 * does (glob_match, like stringmatchlen, matches an empty string only with an empty pattern, so
 * the empty key is listed by "*" but not by "**"). */
bool glob_matches_all(const uint8_t *pat, size_t plen);

#endif
