/* fuzz_common.c -- the helpers of fuzz_common.h.
 *
 * The scratch directory is made once per process and removed by an atexit handler, which runs
 * when libFuzzer ends normally (-runs, -max_total_time); after a crash it stays behind with the
 * input that caused it, which helps reproduce. */
#include "fuzz_common.h"

#include <ftw.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "table/sstable_builder.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "util/hash.h"
#include "wal/wal_format.h"

static char tmpdir[FZ_PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tmpdir(void) { nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static bool usable_dir(const char *d) {
    struct stat st;
    return d && *d && stat(d, &st) == 0 && S_ISDIR(st.st_mode) && access(d, W_OK) == 0;
}

const char *fz_tmpdir(void) {
    if (tmpdir[0]) return tmpdir;
    const char *cands[] = {getenv("STRATA_FUZZ_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
    const char *base = "/tmp";
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (usable_dir(cands[i])) {
            base = cands[i];
            break;
        }
    snprintf(tmpdir, sizeof tmpdir, "%s/strata-fuzz-XXXXXX", base);
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "fuzz: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        abort();
    }
    atexit(remove_tmpdir);
    return tmpdir;
}

void fz_write_file(const char *name, const uint8_t *data, size_t n, char *out) {
    snprintf(out, FZ_PATH_MAX, "%s/%s", fz_tmpdir(), name);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FZ_CHECK(fd >= 0);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        FZ_CHECK(w > 0);
        off += (size_t)w;
    }
    FZ_CHECK(close(fd) == 0);
}

bool fz_verbose(void) {
    static int v = -1;
    if (v < 0) v = getenv("STRATA_FUZZ_VERBOSE") != NULL;
    return v;
}

void fz_io_posix(void) {
    st_io_options o = {.force_posix = true};
    st_io_init(&o);
}

void fz_log_fix_checksums(uint8_t *data, size_t n) {
    for (size_t start = 0; start < n; start += ST_LOG_BLOCK_SIZE) {
        size_t blen = n - start < ST_LOG_BLOCK_SIZE ? n - start : ST_LOG_BLOCK_SIZE;
        uint8_t *b = data + start;
        size_t pos = 0;
        while (pos + ST_LOG_HEADER_SIZE <= blen) {
            uint8_t *h = b + pos;
            uint8_t type = h[ST_LOG_OFF_TYPE];
            size_t len = st_get_fixed16(h + ST_LOG_OFF_LENGTH);
            /* Past the first implausible header the reader resynchronises only at the next block. */
            if (type == ST_LOG_ZERO || type > ST_LOG_TYPE_MAX || len > blen - pos - ST_LOG_HEADER_SIZE) break;
            st_put_fixed32(h + ST_LOG_OFF_CHECKSUM, st_checksum32(h + ST_LOG_OFF_TYPE, 1 + len));
            pos += ST_LOG_HEADER_SIZE + len;
        }
    }
}

void fz_make_table(const char *path, struct st_sst_meta *meta) {
    /* Small blocks and a short restart interval: several data blocks and restart points in 2 KiB;
     * no compression so the fuzzer mutates entries rather than lz4 streams. */
    st_sst_opts o = {.block_bytes = 256, .restart_interval = 4, .bloom_bits_per_key = 10, .codec = ST_CODEC_NONE,
                     .zstd_level = 3};
    st_file *f;
    FZ_CHECK(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f) == 0);
    st_sst_builder *b;
    FZ_CHECK(st_sst_builder_new(f, &o, &b) == 0);
    st_buf k;
    st_buf_init(&k);
    for (int i = 0; i < 40; i++) {
        char ukey[16], val[32];
        snprintf(ukey, sizeof ukey, "key%03d", i);
        snprintf(val, sizeof val, "value-%d", i * 7);
        int versions = i % 5 == 0 ? 2 : 1; /* some keys twice: newest first */
        for (int v = 0; v < versions; v++) {
            st_buf_clear(&k);
            int kind = i % 9 == 4 && v == 0 ? ST_KIND_DEL : ST_KIND_PUT;
            FZ_CHECK(st_ikey_append(&k, st_slice_str(ukey), (uint64_t)(200 - v * 100 + i), kind) == 0);
            FZ_CHECK(st_sst_builder_add(b, st_buf_slice(&k), kind == ST_KIND_PUT ? st_slice_str(val)
                                                                                  : st_slice_make(NULL, 0)) == 0);
        }
    }
    st_buf_destroy(&k);
    FZ_CHECK(st_sst_builder_finish(b, meta) == 0);
    st_sst_builder_free(b);
    FZ_CHECK(st_file_close(f) == 0);
}
