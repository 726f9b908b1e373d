/* testutil.h -- helpers shared by the cmocka tests: real temporary directories, file surgery for
 * corruption tests, and a seeded PRNG whose seed every randomised test prints. */
#ifndef STRATA_TESTUTIL_H
#define STRATA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* mkdtemp under $TMPDIR (or /tmp); malloc'ed path, caller frees after st_test_rmrf. */
char *st_test_tmpdir(const char *tag);
/* Removes a directory tree (test dirs only); NULL-safe. */
void st_test_rmrf(const char *path);
/* Joins dir and name into a malloc'ed path. */
char *st_test_path(const char *dir, const char *name);
/* A file of the source tree (e.g. "tiering.toml"): $STRATA_SOURCE_DIR/name, else the tree this
 * file was compiled from (CMake passes absolute paths), else the first name found walking up from
 * the working directory. Malloc'ed, or NULL if none is readable. */
char *st_test_repo_file(const char *name);
/* XORs the byte at off of file path with mask (default 0x5a if mask is 0). Returns 0 or -1. */
int st_test_flip_byte(const char *path, uint64_t off, uint8_t mask);
/* Size of a file, or -1. */
long long st_test_file_size(const char *path);
/* Truncates a file to size. Returns 0 or -1. */
int st_test_truncate(const char *path, uint64_t size);

/* xorshift64* PRNG. */
typedef struct st_rng { uint64_t s; } st_rng;
static inline void st_rng_seed(st_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ull; }
static inline uint64_t st_rng_next(st_rng *r) {
    r->s ^= r->s >> 12; r->s ^= r->s << 25; r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}
static inline uint64_t st_rng_below(st_rng *r, uint64_t n) { return n ? st_rng_next(r) % n : 0; }
/* Seed from $STRATA_SEED if set, else `def`; prints "seed=N" so a failure can be replayed. */
uint64_t st_test_seed(const char *test, uint64_t def);

#endif
