/* fuzz_config.c -- libFuzzer target for strata-server's configuration: the TOML parser
 * (net/toml.h) and config loading (net/config.h).
 *
 * Input, by its first byte:
 *   0x01  command-line flags: the rest split at NUL bytes into argv for config_load (never a
 *         config file: arguments that would name one are dropped, so no input opens a path)
 *   0x02  CONFIG SET: the rest as NUL-separated name, value pairs applied to the defaults
 *   else  a config file: the whole input through toml_parse (in memory); if it parses, written to
 *         a file in the scratch directory and loaded with config_load (the only way to load a file)
 * Checked: toml_parse returns 0 with a tree or an error with "file:line: " text; the tree is
 * consistent (every key finds its own value, arrays and strings keep their lengths, depth stays
 * within TOML_MAX_DEPTH); config_load and config_set return only their documented codes, a
 * failed config_set changes nothing, and a loaded configuration survives CONFIG GET -> flags ->
 * config_load unchanged (file, flags and CONFIG GET agree on every value). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "toml.h"

#define MAX_INPUT ((size_t)64 << 10)
#define MAX_ARGS 160

/* ---- the TOML tree ---------------------------------------------------------------------------- */

static void walk(const toml_node *n, int depth) {
    FZ_CHECK(n && depth <= TOML_MAX_DEPTH + 1);
    FZ_CHECK(toml_node_line(n) >= 1);
    FZ_CHECK(toml_type_name(toml_node_type(n)) != NULL);
    switch (toml_node_type(n)) {
    case TOML_TABLE:
        for (size_t i = 0; i < toml_table_len(n); i++) {
            const toml_node *v = NULL;
            const char *key = toml_table_key(n, i, &v);
            FZ_CHECK(key && v);
            FZ_CHECK(toml_table_get(n, key) == v); /* keys are unique and NUL-free */
            walk(v, depth + 1);
        }
        FZ_CHECK(toml_table_key(n, toml_table_len(n), NULL) == NULL);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < toml_array_len(n); i++) walk(toml_array_at(n, i), depth + 1);
        FZ_CHECK(toml_array_at(n, toml_array_len(n)) == NULL);
        break;
    case TOML_STRING: {
        size_t len = SIZE_MAX;
        const char *s = toml_string(n, &len);
        FZ_CHECK(s && s[len] == '\0' && strlen(s) <= len);
        break;
    }
    case TOML_INT: (void)toml_int(n); break;
    case TOML_FLOAT: (void)toml_float(n); break;
    case TOML_BOOL: (void)toml_bool(n); break;
    default: FZ_CHECK(!"unknown node type");
    }
    /* Accessors of another type answer NULL / 0 / false instead of misreading. */
    if (toml_node_type(n) != TOML_STRING) FZ_CHECK(toml_string(n, NULL) == NULL);
    if (toml_node_type(n) != TOML_TABLE) FZ_CHECK(toml_table_len(n) == 0 && toml_table_get(n, "a") == NULL);
    if (toml_node_type(n) != TOML_ARRAY) FZ_CHECK(toml_array_len(n) == 0);
}

/* Returns whether the text is valid TOML. */
static bool fuzz_toml(const uint8_t *data, size_t size) {
    toml_doc *doc = (toml_doc *)1;
    char err[256];
    int rc = toml_parse((const char *)data, size, "fuzz.toml", &doc, err, sizeof err);
    FZ_CHECK(rc == 0 || rc == -1 || rc == -2);
    if (fz_verbose()) fprintf(stderr, "toml: %s\n", rc ? err : "parsed");
    if (rc) {
        FZ_CHECK(doc == NULL);
        FZ_CHECK(strncmp(err, "fuzz.toml:", 10) == 0);
        return false;
    }
    FZ_CHECK(doc && toml_node_type(toml_root(doc)) == TOML_TABLE);
    walk(toml_root(doc), 0);
    toml_free(doc);
    return true;
}

/* ---- configurations ------------------------------------------------------------------------- */

/* CONFIG GET's answer as "name\0value\0" pairs (values may hold any byte but NUL). */
typedef struct pairs {
    char *s;
    size_t len, cap;
    size_t n;
} pairs;

static void pairs_add(pairs *t, const char *s) {
    size_t n = strlen(s) + 1;
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2;
        t->s = realloc(t->s, t->cap);
        FZ_CHECK(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
}

static void get_cb(const char *name, const char *value, void *ud) {
    pairs *t = ud;
    pairs_add(t, name);
    pairs_add(t, value);
    t->n++;
}

static pairs get(const config *c, const char *pattern) {
    pairs t = {0};
    int n = config_get(c, pattern, get_cb, &t);
    FZ_CHECK(n >= 0 && (size_t)n == t.n);
    return t;
}

static bool pairs_eq(const pairs *a, const pairs *b) {
    return a->n == b->n && a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

static void pairs_print(const char *what, const pairs *t) {
    fprintf(stderr, "--- %s\n", what);
    for (size_t off = 0; off < t->len;) {
        const char *name = t->s + off;
        off += strlen(name) + 1;
        fprintf(stderr, "%s = \"%s\"\n", name, t->s + off);
        off += strlen(t->s + off) + 1;
    }
}

static bool load_ok(int rc, const char *err) {
    FZ_CHECK(rc == CONFIG_OK || rc == CONFIG_EINVAL || rc == CONFIG_ENOMEM);
    if (rc) FZ_CHECK(err[0]);
    return rc == CONFIG_OK;
}

/* What every successful load must satisfy. */
static void check_loaded(const config *c) {
    st_options o;
    config_to_engine_options(c, &o);
    (void)config_block_cache_bytes(c);
    FZ_CHECK(c->workers >= 1 && c->n_bind >= 1);
    for (size_t i = 0; i < c->n_tiers; i++) FZ_CHECK(c->tiers[i].path && c->tiers[i].name);

    /* CONFIG GET's text, given back as --name=value flags, must rebuild the same values. */
    pairs before = get(c, "*");
    FZ_CHECK(before.n > 0 && before.n < MAX_ARGS);
    char *argv[MAX_ARGS + CONFIG_MAX_BIND + 1];
    int argc = 0;
    argv[argc++] = strdup("strata-server");
    for (size_t off = 0; off < before.len;) {
        const char *name = before.s + off;
        off += strlen(name) + 1;
        const char *value = before.s + off;
        off += strlen(value) + 1;
        FZ_CHECK(config_is_param(name) || compat_find(name) >= 0); /* Redis's knobs are flags too */
        char *flag = malloc(strlen(name) + strlen(value) + 4);
        FZ_CHECK(flag);
        if (strcmp(name, "bind") == 0) { /* a list: one argument per address */
            sprintf(flag, "--%s", name);
            argv[argc++] = flag;
            char *copy = strdup(value), *save = NULL;
            FZ_CHECK(copy);
            for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
                FZ_CHECK(argc < MAX_ARGS + CONFIG_MAX_BIND);
                argv[argc++] = strdup(a);
            }
            free(copy);
        } else {
            sprintf(flag, "--%s=%s", name, value);
            argv[argc++] = flag;
        }
    }
    config c2;
    char err[512];
    int rc = config_load(&c2, argc, argv, err, sizeof err);
    if (rc != CONFIG_OK) {
        fprintf(stderr, "CONFIG GET output not accepted back as flags: %s\n", err);
        pairs_print("CONFIG GET", &before);
        FZ_CHECK(rc == CONFIG_OK);
    }
    pairs after = get(&c2, "*");
    if (!pairs_eq(&before, &after)) {
        fprintf(stderr, "flags from CONFIG GET changed values\n");
        pairs_print("before", &before);
        pairs_print("after", &after);
        FZ_CHECK(!"round trip");
    }
    config_free(&c2);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(before.s);
    free(after.s);
}

static void fuzz_file(const uint8_t *data, size_t size) {
    char path[FZ_PATH_MAX];
    fz_write_file("fuzz.toml", data, size, path);
    char *argv[] = {"strata-server", path};
    config c;
    char err[512];
    int rc = config_load(&c, 2, argv, err, sizeof err);
    if (fz_verbose()) fprintf(stderr, "config file: %s\n", rc ? err : "loaded");
    if (load_ok(rc, err)) check_loaded(&c);
    config_free(&c);
}

static void fuzz_flags(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    FZ_CHECK(buf);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "strata-server";
    for (size_t off = 0; off < size && argc < MAX_ARGS; off += strlen(buf + off) + 1) {
        char *a = buf + off;
        /* Nothing may name a file to read: the first positional argument and --config. */
        if (argc == 1 && a[0] != '-') continue;
        if (strncmp(a, "--config", 8) == 0) continue;
        argv[argc++] = a;
    }
    config c;
    char err[512];
    int rc = config_load(&c, argc, argv, err, sizeof err);
    if (fz_verbose()) fprintf(stderr, "flags: %s\n", rc ? err : "loaded");
    if (load_ok(rc, err)) check_loaded(&c);
    config_free(&c);
    free(buf);
}

static void fuzz_set(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 2);
    FZ_CHECK(buf);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    config c;
    FZ_CHECK(config_init(&c) == CONFIG_OK);
    size_t off = 0;
    for (int k = 0; k < 32 && off < size; k++) {
        const char *name = buf + off;
        off += strlen(name) + 1;
        const char *value = buf + off; /* buf[size + 1] is the last byte off can reach here */
        off += strlen(value) + 1;
        (void)config_is_param(name);
        (void)config_is_runtime(name);
        uint64_t sz;
        (void)config_parse_size(value, &sz);
        pairs before = get(&c, "*");
        char err[512] = "";
        int rc = config_set(&c, name, value, err, sizeof err);
        if (fz_verbose()) fprintf(stderr, "CONFIG SET %s %s: %s\n", name, value, rc ? err : "OK");
        FZ_CHECK(rc == CONFIG_OK || rc == CONFIG_EUNKNOWN || rc == CONFIG_EIMMUTABLE || rc == CONFIG_EINVAL ||
                 rc == CONFIG_ENOMEM);
        pairs after = get(&c, "*");
        if (rc) {
            FZ_CHECK(err[0] && pairs_eq(&before, &after)); /* a failed CONFIG SET changes nothing */
        } else if (!config_is_param(name)) {
            FZ_CHECK(pairs_eq(&before, &after)); /* a fixed answer ("save"): set to what it is */
        } else {
            FZ_CHECK(config_is_runtime(name));
            /* Setting what CONFIG GET now shows changes nothing more. */
            pairs one = get(&c, name);
            FZ_CHECK(one.n == 1);
            const char *shown = one.s + strlen(one.s) + 1;
            FZ_CHECK(config_set(&c, name, shown, err, sizeof err) == CONFIG_OK);
            pairs again = get(&c, "*");
            FZ_CHECK(pairs_eq(&after, &again));
            free(again.s);
            free(one.s);
        }
        /* The name as a CONFIG GET pattern: any glob, bounded work. */
        pairs any = get(&c, name);
        free(any.s);
        free(before.s);
        free(after.s);
    }
    config_free(&c);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAX_INPUT) return 0;
    if (size >= 1 && data[0] == 0x01) {
        fuzz_flags(data + 1, size - 1);
    } else if (size >= 1 && data[0] == 0x02) {
        fuzz_set(data + 1, size - 1);
    } else {
        /* config_load reads the file into a 1 MiB buffer, an mmap per call under ASan: only
         * text that parses, the part config.c interprets, is worth that. */
        if (fuzz_toml(data, size)) fuzz_file(data, size);
    }
    return 0;
}
