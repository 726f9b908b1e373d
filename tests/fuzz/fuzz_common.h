/* fuzz_common.h -- what the libFuzzer targets in tests/fuzz share: a scratch directory, writing an
 * input as a file, an always-on check, and "checksum fixers" that make mutated bytes pass the
 * format's checksums so the fuzzer reaches the parsing behind them.
 *
 * Why fixers: every WAL/MANIFEST record and every SSTable block carries a checksum, so nearly every
 * mutation of a seed dies at the first checksum compare and the decoders behind it see only the
 * seeds. A target that takes a "fix" bit from its input rewrites the checksums of whatever
 * structure it can walk; with the bit clear the checksum paths themselves get fuzzed.
 * A fixer only reads and writes inside data[0, n), even when the bytes are garbage. (The SSTable
 * fixer needs the table code and lives in fuzz_sstable.c.)
 * Thread-safety: none; libFuzzer runs one input at a time per process. */
#ifndef STRATA_FUZZ_COMMON_H
#define STRATA_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The harness's own assertion: a broken invariant is a crash libFuzzer records as an artifact.
 * Unlike assert() it never compiles away. */
#define FZ_CHECK(cond)                                                                      \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* A directory private to this process, made on first use under $STRATA_FUZZ_TMPDIR, /dev/shm (no
 * disk writes per input), $TMPDIR or /tmp, and removed with its files at exit. */
const char *fz_tmpdir(void);

#define FZ_PATH_MAX 4096

/* Writes data[0, n) as the file `name` in fz_tmpdir(), replacing it; its path goes to out
 * (FZ_PATH_MAX bytes). A failure to write is the harness's problem, not the input's: it aborts. */
void fz_write_file(const char *name, const uint8_t *data, size_t n, char *out);

/* True when STRATA_FUZZ_VERBOSE is set: targets then print each input's outcome (running a
 * target on one file shows why a seed stops where it does). */
bool fz_verbose(void);

/* Forces the engine's io layer to plain pread/pwrite: deterministic and cheap per input. */
void fz_io_posix(void);

/* Record logs (WAL, MANIFEST; engine/wal/wal_format.h): walks the 32 KiB blocks as the reader
 * does and rewrites the checksum of every physical record whose type and length are plausible. */
void fz_log_fix_checksums(uint8_t *data, size_t n);

/* The table fuzz_manifest's MANIFEST seeds name: number FZ_TABLE_NUMBER, written by fz_make_table
 * with fixed keys and options, so the harness and gen_corpus make the same file (the same size,
 * which recovery checks against the MANIFEST's record; the per-file checksum base differs). */
#define FZ_TABLE_NUMBER 7

struct st_sst_meta;

/* Writes that table at path; fills meta (initialised by the caller with st_sst_meta_init) for the
 * MANIFEST's new-file record. Aborts on failure. */
void fz_make_table(const char *path, struct st_sst_meta *meta);

/* A small deterministic PRNG for operation sequences derived from the input. */
typedef struct fz_rng {
    uint64_t s;
} fz_rng;
static inline void fz_rng_seed(fz_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ull; }
static inline uint64_t fz_rng_next(fz_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}
static inline uint64_t fz_rng_below(fz_rng *r, uint64_t n) { return n ? fz_rng_next(r) % n : 0; }

#endif
