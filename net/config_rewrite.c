/* config_rewrite.c -- see config_rewrite.h. The file is handled as lines of text: the TOML parser
 * (toml.c) builds values, not a syntax tree that could be printed back, and an operator's
 * comments and layout matter more than a canonical form. */
#include "config_rewrite.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct lines {
    char **v;
    size_t n, cap;
    bool final_newline;
} lines;

static void lines_free(lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool lines_insert(lines *l, size_t at, const char *text) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **p = realloc(l->v, nc * sizeof *p);
        if (!p) return false;
        l->v = p;
        l->cap = nc;
    }
    char *copy = strdup(text);
    if (!copy) return false;
    memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof *l->v);
    l->v[at] = copy;
    l->n++;
    return true;
}

static int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int read_lines(const char *path, lines *l, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) return errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(CONFIG_FILE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_FILE_MAX_BYTES + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > CONFIG_FILE_MAX_BYTES;
    fclose(f);
    if (bad) {
        free(buf);
        return errf(err, errlen, "cannot read %s", path);
    }
    l->final_newline = n == 0 || buf[n - 1] == '\n';
    buf[n] = 0;
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (buf[i] != '\n') continue;
        buf[i] = 0;
        if (!lines_insert(l, l->n, buf + start)) rc = errf(err, errlen, "out of memory");
        start = i + 1;
    }
    if (!rc && start < n && !lines_insert(l, l->n, buf + start)) rc = errf(err, errlen, "out of memory");
    free(buf);
    return rc;
}

/* ---- one line of TOML ---------------------------------------------------------------------- */

/* A table header: "[name]" -> name; "[[name]]" -> "[[name]]" (an array of tables: never edited).
 * Returns false for other lines. */
static bool header_of(const char *line, char *out, size_t cap) {
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '[') return false;
    bool array = p[1] == '[';
    const char *s = p + (array ? 2 : 1), *e = strchr(s, ']');
    if (!e) return false;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    size_t n = (size_t)(e - s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (array) snprintf(out, cap, "[[%.*s]]", (int)n, s);
    else snprintf(out, cap, "%.*s", (int)n, s);
    return true;
}

/* A "key = value" line: its key (unquoted) and where the value starts and ends. */
typedef struct kv {
    char key[128];
    size_t vs, ve; /* value bytes [vs, ve) */
} kv;

static bool parse_kv(const char *line, kv *out) {
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    size_t k = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && k + 1 < sizeof out->key; p++) out->key[k++] = *p;
        if (*p != '"') return false;
        p++;
    } else {
        while ((isalnum((unsigned char)*p) || *p == '_' || *p == '-') && k + 1 < sizeof out->key) out->key[k++] = *p++;
    }
    if (!k) return false;
    out->key[k] = 0;
    while (*p == ' ' || *p == '\t') p++;
    if (*p != '=') return false;
    p++;
    while (*p == ' ' || *p == '\t') p++;
    out->vs = (size_t)(p - line);
    const char *e = p;
    if (*p == '"') {
        for (e = p + 1; *e && *e != '"'; e++)
            if (*e == '\\' && e[1]) e++;
        if (*e != '"') return false;
        e++;
    } else if (*p == '\'') {
        e = strchr(p + 1, '\'');
        if (!e) return false;
        e++;
    } else if (*p == '[') {
        int depth = 0;
        bool quoted = false;
        for (e = p; *e; e++) {
            if (quoted) {
                if (*e == '\\' && e[1]) e++;
                else if (*e == '"') quoted = false;
            } else if (*e == '"') {
                quoted = true;
            } else if (*e == '[') {
                depth++;
            } else if (*e == ']' && --depth == 0) {
                break;
            }
        }
        if (*e != ']') return false; /* an array over several lines: not rewritten in place */
        e++;
    } else {
        while (*e && *e != '#') e++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
    }
    out->ve = (size_t)(e - line);
    return true;
}

static bool key_eq(const char *a, const char *b, bool fold) {
    if (!fold) return strcmp(a, b) == 0;
    for (; *a && *b; a++, b++) {
        int x = *a == '_' ? '-' : tolower((unsigned char)*a), y = *b == '_' ? '-' : tolower((unsigned char)*b);
        if (x != y) return false;
    }
    return *a == *b;
}

/* The line that sets key in table section, or -1; *last (may be NULL) receives the last line of
 * that table holding a setting (its header when none), or -1 when the table is absent. */
static long find_key(const lines *l, const char *section, const char *key, bool fold, long *last) {
    char cur[128] = "";
    long hit = -1, end = -1;
    for (size_t i = 0; i < l->n; i++) {
        char h[128];
        if (header_of(l->v[i], h, sizeof h)) {
            snprintf(cur, sizeof cur, "%s", h);
            if (strcmp(cur, section) == 0) end = (long)i;
            continue;
        }
        if (strcmp(cur, section) != 0) continue;
        kv x;
        if (!parse_kv(l->v[i], &x)) continue;
        end = (long)i;
        if (hit < 0 && key_eq(x.key, key, fold)) hit = (long)i;
    }
    if (last) *last = end;
    return hit;
}

/* Line i with its value replaced by lit, keeping a trailing comment in its column if it can. */
static char *replace_value(const char *line, const kv *x, const char *lit) {
    const char *rest = line + x->ve;
    size_t sp = 0;
    while (rest[sp] == ' ' || rest[sp] == '\t') sp++;
    const char *comment = rest[sp] == '#' ? rest + sp : NULL;
    size_t old_len = x->ve - x->vs, lit_len = strlen(lit), pad = 0;
    if (comment) {
        size_t col = x->vs + old_len + sp; /* where the comment starts now */
        pad = col > x->vs + lit_len + 1 ? col - x->vs - lit_len : 1;
    }
    size_t n = x->vs + lit_len + pad + (comment ? strlen(comment) : 0) + 1;
    char *out = malloc(n);
    if (!out) return NULL;
    memcpy(out, line, x->vs);
    memcpy(out + x->vs, lit, lit_len);
    size_t w = x->vs + lit_len;
    if (comment) {
        memset(out + w, ' ', pad);
        w += pad;
        strcpy(out + w, comment);
    } else {
        out[w] = 0;
    }
    return out;
}

/* Sets key = lit in table section of l (see config_rewrite.h for where). */
static int set_key(lines *l, const char *section, const char *key, const char *lit, bool fold, char *err,
                   size_t errlen) {
    long last;
    long i = find_key(l, section, key, fold, &last);
    if (i >= 0) {
        kv x;
        parse_kv(l->v[i], &x);
        char *nl = replace_value(l->v[i], &x, lit);
        if (!nl) return errf(err, errlen, "out of memory");
        free(l->v[i]);
        l->v[i] = nl;
        return 0;
    }
    size_t need = strlen(key) + strlen(lit) + 8;
    char *line = malloc(need);
    if (!line) return errf(err, errlen, "out of memory");
    snprintf(line, need, "%s = %s", key, lit);
    bool ok;
    if (last >= 0) {
        ok = lines_insert(l, (size_t)last + 1, line);
    } else {
        char hdr[160];
        snprintf(hdr, sizeof hdr, "[%s]", section);
        ok = (l->n == 0 || lines_insert(l, l->n, "")) && lines_insert(l, l->n, hdr) && lines_insert(l, l->n, line);
    }
    free(line);
    return ok ? 0 : errf(err, errlen, "out of memory");
}

/* ---- writing --------------------------------------------------------------------------------- */

static int write_atomically(const char *path, const lines *l, char *err, size_t errlen) {
    char real[PATH_MAX];
    if (!realpath(path, real)) return errf(err, errlen, "cannot resolve %s: %s", path, strerror(errno));
    struct stat st;
    if (stat(real, &st) != 0) return errf(err, errlen, "cannot stat %s: %s", real, strerror(errno));
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.rewrite-tmp", real);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    if (fd < 0) return errf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    int rc = 0;
    for (size_t i = 0; i < l->n && !rc; i++) {
        const char *parts[2] = {l->v[i], (i + 1 < l->n || l->final_newline) ? "\n" : ""};
        for (int j = 0; j < 2 && !rc; j++) {
            size_t len = strlen(parts[j]), off = 0;
            while (off < len) {
                ssize_t w = write(fd, parts[j] + off, len - off);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) {
                    rc = errf(err, errlen, "cannot write %s: %s", tmp, strerror(w < 0 ? errno : EIO));
                    break;
                }
                off += (size_t)w;
            }
        }
    }
    if (!rc && fsync(fd) != 0) rc = errf(err, errlen, "cannot fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc) rc = errf(err, errlen, "cannot close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, real) != 0) rc = errf(err, errlen, "cannot rename %s to %s: %s", tmp, real, strerror(errno));
    if (rc) {
        unlink(tmp);
        return rc;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0) rc = errf(err, errlen, "cannot fsync directory %s: %s", dir, strerror(errno));
        close(dfd);
    }
    return rc;
}

/* A TOML literal for a [redis] value: an integer as is, anything else quoted. */
static void redis_literal(const char *v, char *out, size_t cap) {
    const char *p = v + (*v == '-');
    bool num = *p != 0;
    for (; *p && num; p++) num = isdigit((unsigned char)*p);
    if (num && strlen(v) < 19) {
        snprintf(out, cap, "%s", v);
        return;
    }
    size_t w = 0;
    out[w++] = '"';
    for (; *v && w + 8 < cap; v++) {
        if (*v == '"' || *v == '\\') out[w++] = '\\';
        out[w++] = *v;
    }
    out[w++] = '"';
    out[w] = 0;
}

int config_rewrite(const config *c, char *err, size_t errlen) {
    if (!c->config_file) return errf(err, errlen, "The server is running without a config file");
    config file;
    char why[512];
    if (config_load_file_only(&file, c->config_file, why, sizeof why)) {
        config_free(&file);
        return errf(err, errlen, "cannot rewrite %s: it no longer loads: %s", c->config_file, why);
    }
    if (file.workers == 0) file.workers = config_default_workers(sysconf(_SC_NPROCESSORS_ONLN));
    lines l = {0};
    int rc = read_lines(c->config_file, &l, err, errlen);
    for (size_t i = 0; !rc && i < config_param_count(); i++) {
        char *now = config_param_text(c, i), *was = config_param_text(&file, i);
        if (!now || !was) rc = errf(err, errlen, "out of memory");
        else if (strcmp(now, was) != 0) {
            config_param_desc d;
            config_param_describe(i, &d);
            char *lit = config_param_toml(c, i);
            rc = lit ? set_key(&l, d.section, d.key, lit, false, err, errlen) : errf(err, errlen, "out of memory");
            free(lit);
        }
        free(now);
        free(was);
    }
    for (size_t i = 0; !rc && i < compat_count(); i++) {
        const char *now = compat_get(&c->compat, (int)i), *was = compat_get(&file.compat, (int)i);
        if (strcmp(now, was) == 0) continue;
        char lit[512];
        redis_literal(now, lit, sizeof lit);
        rc = set_key(&l, "redis", compat_name((int)i), lit, true, err, errlen);
    }
    if (!rc) rc = write_atomically(c->config_file, &l, err, errlen);
    lines_free(&l);
    config_free(&file);
    return rc;
}
