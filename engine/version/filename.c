/* filename.c -- see filename.h. */
#include "filename.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *st_fn_log(char *buf, const char *dir, uint64_t n) {
    snprintf(buf, ST_PATH_MAX, "%s/%06" PRIu64 ".log", dir, n);
    return buf;
}
char *st_fn_table(char *buf, const char *dir, uint64_t n) {
    snprintf(buf, ST_PATH_MAX, "%s/%06" PRIu64 ".sst", dir, n);
    return buf;
}
char *st_fn_manifest(char *buf, const char *dir, uint64_t n) {
    snprintf(buf, ST_PATH_MAX, "%s/MANIFEST-%06" PRIu64, dir, n);
    return buf;
}
char *st_fn_current(char *buf, const char *dir) { return st_fn_join(buf, dir, "CURRENT"); }
char *st_fn_lock(char *buf, const char *dir) { return st_fn_join(buf, dir, "LOCK"); }
char *st_fn_join(char *buf, const char *dir, const char *name) {
    snprintf(buf, ST_PATH_MAX, "%s/%s", dir, name);
    return buf;
}

/* File numbers above this are not ours (a stray file): ignoring them keeps the counter far from
 * wrapping and every name it produces parseable. */
#define ST_FILE_NUMBER_MAX (UINT64_C(1) << 48)

static int parse_num(const char *s, const char *end, uint64_t *n) {
    if (s == end) return -1;
    uint64_t v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > ST_FILE_NUMBER_MAX) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > ST_FILE_NUMBER_MAX) return -1;
    *n = v;
    return 0;
}

enum st_file_type st_fn_parse(const char *name, uint64_t *number) {
    size_t len = strlen(name);
    if (!strcmp(name, "CURRENT")) return ST_FT_CURRENT;
    if (!strcmp(name, "LOCK")) return ST_FT_LOCK;
    if (len > 4 && !strcmp(name + len - 4, ".tmp")) return ST_FT_TEMP;
    if (!strncmp(name, "MANIFEST-", 9))
        return parse_num(name + 9, name + len, number) ? ST_FT_UNKNOWN : ST_FT_MANIFEST;
    if (len > 4 && !strcmp(name + len - 4, ".log"))
        return parse_num(name, name + len - 4, number) ? ST_FT_UNKNOWN : ST_FT_LOG;
    if (len > 4 && !strcmp(name + len - 4, ".sst"))
        return parse_num(name, name + len - 4, number) ? ST_FT_UNKNOWN : ST_FT_TABLE;
    return ST_FT_UNKNOWN;
}
