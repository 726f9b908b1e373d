/* testutil.c -- see testutil.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *st_test_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    char *p = NULL;
    if (asprintf(&p, "%s/strata-%s-XXXXXX", base, tag) < 0) return NULL;
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

void st_test_rmrf(const char *path) {
    if (path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *st_test_path(const char *dir, const char *name) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0) return NULL;
    return p;
}

char *st_test_repo_file(const char *name) {
    char *p = NULL;
    const char *env = getenv("STRATA_SOURCE_DIR");
    if (env && *env) {
        p = st_test_path(env, name);
        if (p && access(p, R_OK) == 0) return p;
        free(p);
    }
    const char *me = __FILE__, *tail = strstr(me, "tests/util/testutil.c");
    if (tail && me[0] == '/') {
        if (asprintf(&p, "%.*s%s", (int)(tail - me), me, name) > 0 && access(p, R_OK) == 0) return p;
        free(p);
    }
    char dir[4096];
    if (!getcwd(dir, sizeof dir)) return NULL;
    for (int up = 0; up < 16; up++) {
        p = st_test_path(dir, name);
        if (p && access(p, R_OK) == 0) return p;
        free(p);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) break;
        *slash = '\0';
    }
    return NULL;
}

int st_test_flip_byte(const char *path, uint64_t off, uint8_t mask) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return -1;
    uint8_t b;
    int rc = -1;
    if (pread(fd, &b, 1, (off_t)off) == 1) {
        b ^= mask ? mask : 0x5a;
        if (pwrite(fd, &b, 1, (off_t)off) == 1) rc = 0;
    }
    close(fd);
    return rc;
}

long long st_test_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int st_test_truncate(const char *path, uint64_t size) { return truncate(path, (off_t)size) == 0 ? 0 : -1; }

uint64_t st_test_seed(const char *test, uint64_t def) {
    const char *e = getenv("STRATA_SEED");
    uint64_t seed = e && *e ? strtoull(e, NULL, 0) : def;
    printf("%s: seed=%llu (replay with STRATA_SEED=%llu)\n", test, (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
    return seed;
}
