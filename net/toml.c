/* toml.c -- a recursive-descent TOML parser building a tree of nodes (toml.h).
 *
 * One pass over the text after a UTF-8 check. Lines are either blank/comment, a header
 * `[a.b]` / `[[a.b]]` that selects the current table, or `key = value` inserted into it.
 * Redefinition rules follow TOML 1.0 through three table flags: a table is EXPLICIT once a header
 * names it, DOTTED when dotted keys created it, INLINE when it came from `{...}` (and is then
 * frozen). A header may reopen only a table that is none of these (one created implicitly as an
 * intermediate of another header); dotted keys may only walk through DOTTED tables; nothing may
 * extend an INLINE table. Recursion (arrays, inline tables) and tree depth are bounded by
 * TOML_MAX_DEPTH, which also bounds the recursion of toml_free. */
#include "toml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TBL_EXPLICIT = 1u << 0, /* named by a [header] */
    TBL_DOTTED = 1u << 1,   /* created by a dotted key */
    TBL_INLINE = 1u << 2,   /* an inline table: frozen */
    ARR_TABLES = 1u << 3,   /* an array made by [[headers]] */
};

enum { RC_SYNTAX = -1, RC_NOMEM = -2 };

typedef struct kv {
    char *key;
    toml_node *val;
} kv;

struct toml_node {
    toml_type type;
    int line;
    int depth;
    unsigned flags;
    union {
        struct { kv *v; size_t n, cap; } tab;
        struct { toml_node **v; size_t n, cap; } arr;
        struct { char *s; size_t len; } str;
        int64_t i;
        double f;
        bool b;
    } u;
};

struct toml_doc {
    toml_node *root;
};

/* A growable byte string for string values. */
typedef struct sbuf {
    char *d;
    size_t n, cap;
} sbuf;

/* A parsed (possibly dotted) key: parts[0..n), each NUL-terminated and owned. */
#define MAX_KEY_PARTS (TOML_MAX_DEPTH + 1)
typedef struct keypath {
    char *parts[MAX_KEY_PARTS];
    int n;
} keypath;

typedef struct parser {
    const char *p, *end;
    int line;
    const char *file;
    char *err;
    size_t errlen;
    int rc;          /* first error: RC_SYNTAX or RC_NOMEM */
    toml_node *root;
    toml_node *cur;  /* the table key/value lines go into */
} parser;

/* ---- errors ---------------------------------------------------------------------------------- */

static int fail(parser *ps, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *ps, int line, const char *fmt, ...) {
    if (ps->rc) return ps->rc;
    ps->rc = RC_SYNTAX;
    if (ps->errlen) {
        int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->file, line);
        if (n >= 0 && (size_t)n < ps->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return ps->rc;
}

static int oom(parser *ps) {
    if (ps->rc) return ps->rc;
    ps->rc = RC_NOMEM;
    if (ps->errlen) snprintf(ps->err, ps->errlen, "%s:%d: out of memory", ps->file, ps->line);
    return ps->rc;
}

/* A printable description of the byte at the cursor, for "found ..." messages. */
static const char *found(const parser *ps, char *buf, size_t size) {
    if (ps->p >= ps->end) return "end of file";
    unsigned char c = (unsigned char)*ps->p;
    if (c == '\n' || c == '\r') return "end of line";
    if (c >= 0x20 && c < 0x7f) snprintf(buf, size, "'%c'", c);
    else snprintf(buf, size, "byte 0x%02x", c);
    return buf;
}

/* "a.b.c" for messages; truncated if long. */
static const char *key_str(const keypath *k, int upto, char *buf, size_t size) {
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < upto && off < size; i++) {
        int n = snprintf(buf + off, size - off, "%s%s", i ? "." : "", k->parts[i]);
        if (n < 0) break;
        off += (size_t)n;
    }
    return buf;
}

/* ---- nodes ------------------------------------------------------------------------------------ */

static void node_free(toml_node *n) {
    if (!n) return;
    switch (n->type) {
    case TOML_TABLE:
        for (size_t i = 0; i < n->u.tab.n; i++) {
            free(n->u.tab.v[i].key);
            node_free(n->u.tab.v[i].val);
        }
        free(n->u.tab.v);
        break;
    case TOML_ARRAY:
        for (size_t i = 0; i < n->u.arr.n; i++) node_free(n->u.arr.v[i]);
        free(n->u.arr.v);
        break;
    case TOML_STRING:
        free(n->u.str.s);
        break;
    default:
        break;
    }
    free(n);
}

static toml_node *node_new(parser *ps, toml_type type, int depth, int line) {
    if (depth > TOML_MAX_DEPTH) {
        fail(ps, line, "nesting deeper than %d levels", TOML_MAX_DEPTH);
        return NULL;
    }
    toml_node *n = calloc(1, sizeof *n);
    if (!n) {
        oom(ps);
        return NULL;
    }
    n->type = type;
    n->depth = depth;
    n->line = line;
    return n;
}

static const toml_node *tab_get(const toml_node *t, const char *key) {
    for (size_t i = 0; i < t->u.tab.n; i++)
        if (strcmp(t->u.tab.v[i].key, key) == 0) return t->u.tab.v[i].val;
    return NULL;
}

/* Appends key -> val to t; on failure frees val. */
static int tab_put(parser *ps, toml_node *t, const char *key, toml_node *val) {
    if (t->u.tab.n == t->u.tab.cap) {
        size_t cap = t->u.tab.cap ? 2 * t->u.tab.cap : 8;
        kv *v = realloc(t->u.tab.v, cap * sizeof *v);
        if (!v) goto nomem;
        t->u.tab.v = v;
        t->u.tab.cap = cap;
    }
    char *k = strdup(key);
    if (!k) goto nomem;
    t->u.tab.v[t->u.tab.n++] = (kv){k, val};
    return 0;
nomem:
    node_free(val);
    return oom(ps);
}

/* Appends val to array a; on failure frees val. */
static int arr_push(parser *ps, toml_node *a, toml_node *val) {
    if (a->u.arr.n == a->u.arr.cap) {
        size_t cap = a->u.arr.cap ? 2 * a->u.arr.cap : 8;
        toml_node **v = realloc(a->u.arr.v, cap * sizeof *v);
        if (!v) {
            node_free(val);
            return oom(ps);
        }
        a->u.arr.v = v;
        a->u.arr.cap = cap;
    }
    a->u.arr.v[a->u.arr.n++] = val;
    return 0;
}

static int sbuf_add(parser *ps, sbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + n + 1) cap *= 2;
        char *d = realloc(b->d, cap);
        if (!d) return oom(ps);
        b->d = d;
        b->cap = cap;
    }
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n] = '\0';
    return 0;
}

static void keypath_free(keypath *k) {
    for (int i = 0; i < k->n; i++) free(k->parts[i]);
    k->n = 0;
}

/* ---- lexing helpers -------------------------------------------------------------------------- */

static bool at_eof(const parser *ps) { return ps->p >= ps->end; }
static int peek(const parser *ps) { return at_eof(ps) ? -1 : (unsigned char)*ps->p; }
static bool starts(const parser *ps, const char *s) {
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}
static bool is_bare(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}
/* Control characters TOML forbids in strings and comments (tab is allowed). */
static bool is_ctrl(int c) { return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f; }

static void skip_ws(parser *ps) {
    while (!at_eof(ps) && (*ps->p == ' ' || *ps->p == '\t')) ps->p++;
}

/* At '\n' or "\r\n": consumes it and returns 1; at a lone '\r' fails; else returns 0. */
static int eat_newline(parser *ps) {
    if (at_eof(ps)) return 0;
    if (*ps->p == '\n') {
        ps->p++;
        ps->line++;
        return 1;
    }
    if (*ps->p == '\r') {
        if (ps->end - ps->p >= 2 && ps->p[1] == '\n') {
            ps->p += 2;
            ps->line++;
            return 1;
        }
        return fail(ps, ps->line, "carriage return not followed by a newline");
    }
    return 0;
}

/* At '#': skips the comment up to (not including) the end of line. */
static int skip_comment(parser *ps) {
    ps->p++;
    while (!at_eof(ps) && *ps->p != '\n') {
        if (*ps->p == '\r' && ps->end - ps->p >= 2 && ps->p[1] == '\n') break;
        if (is_ctrl((unsigned char)*ps->p))
            return fail(ps, ps->line, "control character 0x%02x in comment", (unsigned char)*ps->p);
        ps->p++;
    }
    return 0;
}

/* Skips whitespace, comments and newlines (inside arrays). */
static int skip_ws_nl(parser *ps) {
    for (;;) {
        skip_ws(ps);
        if (peek(ps) == '#') {
            if (skip_comment(ps) < 0) return ps->rc;
            continue;
        }
        int r = eat_newline(ps);
        if (r < 0) return r;
        if (!r) return 0;
    }
}

/* Skips spaces, tabs and newlines (no comments: inside a multi-line string '#' is content). */
static int skip_ws_nl_plain(parser *ps) {
    for (;;) {
        skip_ws(ps);
        int r = eat_newline(ps);
        if (r <= 0) return r;
    }
}

/* After a value or header: optional whitespace and comment, then a newline or the end. */
static int expect_eol(parser *ps, const char *after) {
    skip_ws(ps);
    if (peek(ps) == '#' && skip_comment(ps) < 0) return ps->rc;
    if (at_eof(ps)) return 0;
    int r = eat_newline(ps);
    if (r) return r < 0 ? r : 0;
    char b[16];
    return fail(ps, ps->line, "expected end of line after %s, found %s", after, found(ps, b, sizeof b));
}

/* Returns the byte length of the valid UTF-8 sequence at s (max n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int check_utf8(parser *ps) {
    const unsigned char *s = (const unsigned char *)ps->p, *e = (const unsigned char *)ps->end;
    int line = 1;
    while (s < e) {
        size_t n = utf8_len(s, (size_t)(e - s));
        if (!n) return fail(ps, line, "invalid UTF-8");
        if (*s == '\n') line++;
        s += n;
    }
    return 0;
}

static size_t utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* ---- strings ---------------------------------------------------------------------------------- */

/* At the byte after a backslash in a basic string: appends the escaped character. */
static int parse_escape(parser *ps, sbuf *b) {
    if (at_eof(ps)) return fail(ps, ps->line, "unterminated string");
    char c = *ps->p++;
    const char *rep = NULL;
    switch (c) {
    case 'b': rep = "\b"; break;
    case 't': rep = "\t"; break;
    case 'n': rep = "\n"; break;
    case 'f': rep = "\f"; break;
    case 'r': rep = "\r"; break;
    case '"': rep = "\""; break;
    case '\\': rep = "\\"; break;
    case 'u':
    case 'U': {
        int digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int i = 0; i < digits; i++) {
            int h = at_eof(ps) ? -1 : hexval((unsigned char)*ps->p);
            if (h < 0) return fail(ps, ps->line, "\\%c escape needs %d hex digits", c, digits);
            cp = cp * 16 + (uint32_t)h;
            ps->p++;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return fail(ps, ps->line, "\\%c%0*X is not a Unicode scalar value", c, digits, (unsigned)cp);
        char u[4];
        return sbuf_add(ps, b, u, utf8_put(u, cp));
    }
    default:
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            return fail(ps, ps->line, "invalid escape '\\%c' in string", c);
        return fail(ps, ps->line, "invalid escape in string");
    }
    return sbuf_add(ps, b, rep, 1);
}

/* At the opening quote(s): parses a basic, literal or multi-line string into b. */
static int parse_string(parser *ps, sbuf *b) {
    char q = *ps->p;
    bool basic = q == '"';
    bool multi = starts(ps, basic ? "\"\"\"" : "'''");
    int start = ps->line;
    ps->p += multi ? 3 : 1;
    if (sbuf_add(ps, b, "", 0) < 0) return ps->rc; /* an empty string is "", never NULL */
    if (multi) {
        int r = eat_newline(ps); /* a newline right after the opening delimiter is trimmed */
        if (r < 0) return r;
    }
    for (;;) {
        if (at_eof(ps)) return fail(ps, start, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == (unsigned char)q) {
            if (!multi) {
                ps->p++;
                return 0;
            }
            size_t nq = 0;
            while (ps->p + nq < ps->end && ps->p[nq] == q) nq++;
            if (nq >= 3) {
                if (nq > 5) return fail(ps, ps->line, "too many quotes at the end of a multi-line string");
                if (sbuf_add(ps, b, ps->p, nq - 3) < 0) return ps->rc; /* up to two belong to the content */
                ps->p += nq;
                return 0;
            }
            if (sbuf_add(ps, b, ps->p, nq) < 0) return ps->rc;
            ps->p += nq;
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (!multi) return fail(ps, start, "unterminated string (strings end on the line they start)");
            int r = eat_newline(ps);
            if (r < 0) return r;
            if (sbuf_add(ps, b, "\n", 1) < 0) return ps->rc;
            continue;
        }
        if (c == '\\' && basic) {
            ps->p++;
            if (multi) {
                /* A line-ending backslash swallows the newline and the whitespace after it. */
                const char *save = ps->p;
                int save_line = ps->line;
                skip_ws(ps);
                int r = eat_newline(ps);
                if (r < 0) return r;
                if (r) {
                    if (skip_ws_nl_plain(ps) < 0) return ps->rc;
                    continue;
                }
                ps->p = save;
                ps->line = save_line;
            }
            if (parse_escape(ps, b) < 0) return ps->rc;
            continue;
        }
        if (is_ctrl(c)) return fail(ps, ps->line, "control character 0x%02x in string", c);
        size_t n = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (sbuf_add(ps, b, ps->p, n) < 0) return ps->rc;
        ps->p += n;
    }
}

/* ---- keys ------------------------------------------------------------------------------------- */

/* Parses one bare or quoted key part into *out (malloc'ed). */
static int parse_key_part(parser *ps, char **out) {
    int c = peek(ps);
    char f[16];
    if (c == '"' || c == '\'') {
        if (starts(ps, c == '"' ? "\"\"\"" : "'''"))
            return fail(ps, ps->line, "a multi-line string cannot be a key");
        sbuf b = {0};
        if (parse_string(ps, &b) < 0) {
            free(b.d);
            return ps->rc;
        }
        if (strlen(b.d) != b.n) {
            free(b.d);
            return fail(ps, ps->line, "key contains a NUL character");
        }
        *out = b.d;
        return 0;
    }
    const char *s = ps->p;
    while (!at_eof(ps) && is_bare((unsigned char)*ps->p)) ps->p++;
    if (ps->p == s) return fail(ps, ps->line, "expected a key, found %s", found(ps, f, sizeof f));
    if (!(*out = strndup(s, (size_t)(ps->p - s)))) return oom(ps);
    return 0;
}

/* Parses a possibly dotted key and the whitespace after it. */
static int parse_key(parser *ps, keypath *k) {
    for (;;) {
        if (k->n == MAX_KEY_PARTS) return fail(ps, ps->line, "key has more than %d parts", MAX_KEY_PARTS);
        if (parse_key_part(ps, &k->parts[k->n]) < 0) return ps->rc;
        k->n++;
        skip_ws(ps);
        if (peek(ps) != '.') return 0;
        ps->p++;
        skip_ws(ps);
    }
}

static toml_node *tab_find(toml_node *t, const char *key) { return (toml_node *)tab_get(t, key); }

/* "a table", "an integer", ... for messages. */
static const char *a_type(const toml_node *n) {
    switch (n->type) {
    case TOML_TABLE: return (n->flags & TBL_INLINE) ? "an inline table" : "a table";
    case TOML_ARRAY: return (n->flags & ARR_TABLES) ? "an array of tables" : "an array";
    case TOML_STRING: return "a string";
    case TOML_INT: return "an integer";
    case TOML_FLOAT: return "a float";
    case TOML_BOOL: return "a boolean";
    }
    return "a value";
}

/* ---- values ----------------------------------------------------------------------------------- */

static int parse_value(parser *ps, int depth, toml_node **out);
static int parse_keyval(parser *ps, toml_node *t, bool whole_line);

static int digit(int c, int radix) {
    int v = hexval(c);
    return v >= 0 && v < radix ? v : -1;
}

/* Length of a run of digits with single underscores between digits, or 0. */
static size_t scan_digits(const char *s, int radix) {
    if (digit((unsigned char)s[0], radix) < 0) return 0;
    size_t i = 1;
    for (;;) {
        if (digit((unsigned char)s[i], radix) >= 0) i++;
        else if (s[i] == '_' && digit((unsigned char)s[i + 1], radix) >= 0) i += 2;
        else return i;
    }
}

/* Accumulates the digits of s (underscores skipped) into *v; fails above limit. */
static bool accumulate(const char *s, size_t n, int radix, uint64_t limit, uint64_t *v) {
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') continue;
        uint64_t d = (uint64_t)digit((unsigned char)s[i], radix);
        if (x > (limit - d) / (uint64_t)radix) return false;
        x = x * (uint64_t)radix + d;
    }
    *v = x;
    return true;
}

enum { NUM_INT, NUM_FLOAT, NUM_BAD, NUM_RANGE };

/* Classifies and converts a number token (TOML grammar, checked here so strtod sees only it). */
static int parse_number(const char *tok, int64_t *iv, double *fv) {
    int radix = 0;
    if (tok[0] == '0' && tok[1] == 'x') radix = 16;
    else if (tok[0] == '0' && tok[1] == 'o') radix = 8;
    else if (tok[0] == '0' && tok[1] == 'b') radix = 2;
    if (radix) {
        size_t n = scan_digits(tok + 2, radix);
        uint64_t v;
        if (!n || tok[2 + n]) return NUM_BAD;
        if (!accumulate(tok + 2, n, radix, (uint64_t)INT64_MAX, &v)) return NUM_RANGE;
        *iv = (int64_t)v;
        return NUM_INT;
    }
    const char *s = tok;
    bool neg = *s == '-';
    if (*s == '+' || *s == '-') s++;
    if (strcmp(s, "inf") == 0 || strcmp(s, "nan") == 0) {
        *fv = copysign(s[0] == 'i' ? (double)INFINITY : (double)NAN, neg ? -1.0 : 1.0);
        return NUM_FLOAT;
    }
    size_t n = scan_digits(s, 10);
    if (!n || (s[0] == '0' && n > 1)) return NUM_BAD; /* no leading zeros */
    const char *q = s + n;
    bool is_float = false;
    if (*q == '.') {
        size_t m = scan_digits(++q, 10);
        if (!m) return NUM_BAD;
        q += m;
        is_float = true;
    }
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-') q++;
        size_t m = scan_digits(q, 10);
        if (!m) return NUM_BAD;
        q += m;
        is_float = true;
    }
    if (*q) return NUM_BAD;
    if (!is_float) {
        uint64_t v;
        if (!accumulate(s, n, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &v)) return NUM_RANGE;
        *iv = neg ? (int64_t)(0 - v) : (int64_t)v; /* 0 - 2^63 wraps to INT64_MIN */
        return NUM_INT;
    }
    char buf[128];
    size_t j = 0;
    for (const char *c = tok; *c; c++)
        if (*c != '_') buf[j++] = *c;
    buf[j] = '\0';
    double d = strtod(buf, NULL); /* the grammar was checked above: only range can fail */
    if (isinf(d)) return NUM_RANGE;
    *fv = d;
    return NUM_FLOAT;
}

static bool looks_like_datetime(const char *t) {
    if (strchr(t, ':')) return true;
    for (int i = 0; i < 8; i++) {
        bool want_dash = i == 4 || i == 7;
        if (!t[i] || (want_dash ? t[i] != '-' : (t[i] < '0' || t[i] > '9'))) return false;
    }
    return true;
}

/* Booleans, numbers, and helpful errors for anything else unquoted. */
static int parse_scalar(parser *ps, int depth, toml_node **out) {
    int line = ps->line;
    const char *s = ps->p;
    while (!at_eof(ps) && (is_bare((unsigned char)*ps->p) || *ps->p == '+' || *ps->p == '.' || *ps->p == ':'))
        ps->p++;
    size_t n = (size_t)(ps->p - s);
    char f[16];
    if (n == 0) {
        int c = peek(ps);
        if (c < 0 || c == '\n' || c == '\r' || c == '#') return fail(ps, line, "missing value");
        return fail(ps, line, "expected a value, found %s", found(ps, f, sizeof f));
    }
    char tok[128];
    if (n >= sizeof tok) return fail(ps, line, "value '%.16s...' is too long", s);
    memcpy(tok, s, n);
    tok[n] = '\0';

    toml_node *node;
    if (strcmp(tok, "true") == 0 || strcmp(tok, "false") == 0) {
        if (!(node = node_new(ps, TOML_BOOL, depth, line))) return ps->rc;
        node->u.b = tok[0] == 't';
        *out = node;
        return 0;
    }
    if (looks_like_datetime(tok)) return fail(ps, line, "dates and times are not supported ('%s')", tok);
    int64_t iv = 0;
    double fv = 0;
    switch (parse_number(tok, &iv, &fv)) {
    case NUM_INT:
        if (!(node = node_new(ps, TOML_INT, depth, line))) return ps->rc;
        node->u.i = iv;
        *out = node;
        return 0;
    case NUM_FLOAT:
        if (!(node = node_new(ps, TOML_FLOAT, depth, line))) return ps->rc;
        node->u.f = fv;
        *out = node;
        return 0;
    case NUM_RANGE:
        return fail(ps, line, "number '%s' is out of range", tok);
    default:
        if ((tok[0] >= '0' && tok[0] <= '9') || tok[0] == '+' || tok[0] == '-' || tok[0] == '.')
            return fail(ps, line, "invalid number '%s'", tok);
        return fail(ps, line, "invalid value '%s' (strings need quotes)", tok);
    }
}

static int parse_array(parser *ps, int depth, toml_node **out) {
    int start = ps->line;
    char f[16];
    toml_node *a = node_new(ps, TOML_ARRAY, depth, start);
    if (!a) return ps->rc;
    ps->p++;
    for (;;) {
        if (skip_ws_nl(ps) < 0) goto err;
        if (at_eof(ps)) goto unterminated;
        if (*ps->p == ']') break;
        toml_node *v = NULL;
        if (parse_value(ps, depth + 1, &v) < 0 || arr_push(ps, a, v) < 0) goto err;
        if (skip_ws_nl(ps) < 0) goto err;
        if (at_eof(ps)) goto unterminated;
        if (*ps->p == ']') break;
        if (*ps->p != ',') {
            fail(ps, ps->line, "expected ',' or ']' in the array opened on line %d, found %s", start,
                 found(ps, f, sizeof f));
            goto err;
        }
        ps->p++;
    }
    ps->p++;
    *out = a;
    return 0;
unterminated:
    fail(ps, start, "unterminated array");
err:
    node_free(a);
    return ps->rc;
}

static int parse_inline_table(parser *ps, int depth, toml_node **out) {
    int start = ps->line;
    char f[16];
    toml_node *t = node_new(ps, TOML_TABLE, depth, start);
    if (!t) return ps->rc;
    ps->p++;
    skip_ws(ps);
    if (peek(ps) != '}') {
        for (;;) {
            skip_ws(ps);
            int c = peek(ps);
            if (c < 0 || c == '\n' || c == '\r') goto unterminated;
            if (parse_keyval(ps, t, false) < 0) goto err;
            skip_ws(ps);
            c = peek(ps);
            if (c == '}') break;
            if (c < 0 || c == '\n' || c == '\r') goto unterminated;
            if (c != ',') {
                fail(ps, ps->line, "expected ',' or '}' in inline table, found %s", found(ps, f, sizeof f));
                goto err;
            }
            ps->p++;
        }
    }
    ps->p++;
    t->flags = TBL_INLINE;
    *out = t;
    return 0;
unterminated:
    fail(ps, start, "unterminated inline table (it must close on the line it opens)");
err:
    node_free(t);
    return ps->rc;
}

static int parse_value(parser *ps, int depth, toml_node **out) {
    *out = NULL;
    int c = peek(ps);
    if (c == '[') return parse_array(ps, depth, out);
    if (c == '{') return parse_inline_table(ps, depth, out);
    if (c != '"' && c != '\'') return parse_scalar(ps, depth, out);
    int line = ps->line;
    sbuf b = {0};
    if (parse_string(ps, &b) < 0) goto err;
    toml_node *n = node_new(ps, TOML_STRING, depth, line);
    if (!n) goto err;
    n->u.str.s = b.d;
    n->u.str.len = b.n;
    *out = n;
    return 0;
err:
    free(b.d);
    return ps->rc;
}

/* ---- lines ------------------------------------------------------------------------------------ */

/* key = value into table t; with whole_line, the end of the line must follow. */
static int parse_keyval(parser *ps, toml_node *t, bool whole_line) {
    keypath k = {0};
    int line = ps->line;
    char kb[160], pb[160], f[16];
    if (parse_key(ps, &k) < 0) goto out;
    if (peek(ps) != '=') {
        fail(ps, ps->line, "expected '=' after key '%s', found %s", key_str(&k, k.n, kb, sizeof kb),
             found(ps, f, sizeof f));
        goto out;
    }
    ps->p++;
    skip_ws(ps);
    for (int i = 0; i < k.n - 1; i++) {
        toml_node *v = tab_find(t, k.parts[i]);
        if (!v) {
            if (!(v = node_new(ps, TOML_TABLE, t->depth + 1, line)) || tab_put(ps, t, k.parts[i], v) < 0)
                goto out;
            v->flags = TBL_DOTTED;
        } else if (v->type != TOML_TABLE || !(v->flags & TBL_DOTTED) || (v->flags & TBL_INLINE)) {
            fail(ps, line, "cannot set key '%s': '%s' is already defined as %s on line %d",
                 key_str(&k, k.n, kb, sizeof kb), key_str(&k, i + 1, pb, sizeof pb), a_type(v), v->line);
            goto out;
        }
        t = v;
    }
    const toml_node *dup = tab_get(t, k.parts[k.n - 1]);
    if (dup) {
        fail(ps, line, "duplicate key '%s' (first defined on line %d)", key_str(&k, k.n, kb, sizeof kb),
             dup->line);
        goto out;
    }
    toml_node *val = NULL;
    if (parse_value(ps, t->depth + 1, &val) < 0 || tab_put(ps, t, k.parts[k.n - 1], val) < 0) goto out;
    if (whole_line) {
        char what[200];
        snprintf(what, sizeof what, "the value of '%s'", key_str(&k, k.n, kb, sizeof kb));
        expect_eol(ps, what);
    }
out:
    keypath_free(&k);
    return ps->rc;
}

/* Walks/creates the tables of a [header] or [[header]] and makes the result current. */
static int define_table(parser *ps, const keypath *k, bool aot, int line) {
    toml_node *t = ps->root;
    char kb[160], pb[160];
    const char *name = key_str(k, k->n, kb, sizeof kb);
    for (int i = 0; i < k->n - 1; i++) {
        toml_node *v = tab_find(t, k->parts[i]);
        if (!v) {
            if (!(v = node_new(ps, TOML_TABLE, t->depth + 1, line)) || tab_put(ps, t, k->parts[i], v) < 0)
                return ps->rc;
        } else if (v->type == TOML_ARRAY && (v->flags & ARR_TABLES)) {
            v = v->u.arr.v[v->u.arr.n - 1]; /* [a.b] after [[a]] extends the last a */
        } else if (v->type != TOML_TABLE || (v->flags & TBL_INLINE)) {
            return fail(ps, line, "cannot define table '%s': '%s' is already defined as %s on line %d",
                        name, key_str(k, i + 1, pb, sizeof pb), a_type(v), v->line);
        }
        t = v;
    }
    const char *last = k->parts[k->n - 1];
    toml_node *v = tab_find(t, last);
    if (!aot) {
        if (!v) {
            if (!(v = node_new(ps, TOML_TABLE, t->depth + 1, line)) || tab_put(ps, t, last, v) < 0) return ps->rc;
        } else if (v->type == TOML_TABLE && !(v->flags & (TBL_EXPLICIT | TBL_DOTTED | TBL_INLINE))) {
            v->line = line; /* implicitly created by an earlier header: this defines it */
        } else if (v->type == TOML_TABLE) {
            return fail(ps, line, "table '%s' is defined twice (first on line %d)", name, v->line);
        } else {
            return fail(ps, line, "cannot define table '%s': it is already defined as %s on line %d", name,
                        a_type(v), v->line);
        }
        v->flags |= TBL_EXPLICIT;
        ps->cur = v;
        return 0;
    }
    if (!v) {
        if (!(v = node_new(ps, TOML_ARRAY, t->depth + 1, line)) || tab_put(ps, t, last, v) < 0) return ps->rc;
        v->flags = ARR_TABLES;
    } else if (v->type != TOML_ARRAY || !(v->flags & ARR_TABLES)) {
        return fail(ps, line, "cannot define array of tables '%s': it is already defined as %s on line %d",
                    name, a_type(v), v->line);
    }
    toml_node *e = node_new(ps, TOML_TABLE, v->depth + 1, line);
    if (!e || arr_push(ps, v, e) < 0) return ps->rc;
    e->flags = TBL_EXPLICIT;
    ps->cur = e;
    return 0;
}

static int parse_header(parser *ps) {
    int line = ps->line;
    bool aot = starts(ps, "[[");
    char kb[160], f[16];
    keypath k = {0};
    ps->p += aot ? 2 : 1;
    skip_ws(ps);
    if (parse_key(ps, &k) < 0) goto out;
    if (aot ? !starts(ps, "]]") : peek(ps) != ']') {
        fail(ps, ps->line, "expected '%s' to close table header '%s', found %s", aot ? "]]" : "]",
             key_str(&k, k.n, kb, sizeof kb), found(ps, f, sizeof f));
        goto out;
    }
    ps->p += aot ? 2 : 1;
    if (define_table(ps, &k, aot, line) == 0) expect_eol(ps, "the table header");
out:
    keypath_free(&k);
    return ps->rc;
}

/* ---- API -------------------------------------------------------------------------------------- */

int toml_parse(const char *text, size_t len, const char *filename, toml_doc **out, char *err,
               size_t errlen) {
    *out = NULL;
    if (errlen) err[0] = '\0';
    if (!text) len = 0;
    parser ps = {
        .p = text, .end = text + len, .line = 1, .file = filename ? filename : "<toml>",
        .err = err, .errlen = errlen,
    };
    if (check_utf8(&ps) < 0) return ps.rc;
    if (starts(&ps, "\xef\xbb\xbf")) ps.p += 3; /* a UTF-8 byte order mark */
    if (!(ps.root = node_new(&ps, TOML_TABLE, 0, 1))) return ps.rc;
    ps.root->flags = TBL_EXPLICIT;
    ps.cur = ps.root;
    while (!ps.rc) {
        skip_ws(&ps);
        int c = peek(&ps);
        if (c < 0) break;
        if (c == '#') skip_comment(&ps);
        else if (c == '\n' || c == '\r') eat_newline(&ps);
        else if (c == '[') parse_header(&ps);
        else parse_keyval(&ps, ps.cur, true);
    }
    toml_doc *doc = ps.rc ? NULL : malloc(sizeof *doc);
    if (!doc) {
        if (!ps.rc) oom(&ps);
        node_free(ps.root);
        return ps.rc;
    }
    doc->root = ps.root;
    *out = doc;
    return 0;
}

void toml_free(toml_doc *doc) {
    if (!doc) return;
    node_free(doc->root);
    free(doc);
}

const toml_node *toml_root(const toml_doc *doc) { return doc->root; }
toml_type toml_node_type(const toml_node *n) { return n->type; }
int toml_node_line(const toml_node *n) { return n->line; }
bool toml_is_table_array(const toml_node *n) { return n->type == TOML_ARRAY && (n->flags & ARR_TABLES); }

const char *toml_type_name(toml_type t) {
    switch (t) {
    case TOML_TABLE: return "table";
    case TOML_ARRAY: return "array";
    case TOML_STRING: return "string";
    case TOML_INT: return "integer";
    case TOML_FLOAT: return "float";
    case TOML_BOOL: return "boolean";
    }
    return "unknown";
}

size_t toml_table_len(const toml_node *t) { return t && t->type == TOML_TABLE ? t->u.tab.n : 0; }

const char *toml_table_key(const toml_node *t, size_t i, const toml_node **val) {
    if (!t || t->type != TOML_TABLE || i >= t->u.tab.n) return NULL;
    if (val) *val = t->u.tab.v[i].val;
    return t->u.tab.v[i].key;
}

const toml_node *toml_table_get(const toml_node *t, const char *key) {
    return t && t->type == TOML_TABLE ? tab_get(t, key) : NULL;
}

size_t toml_array_len(const toml_node *a) { return a && a->type == TOML_ARRAY ? a->u.arr.n : 0; }

const toml_node *toml_array_at(const toml_node *a, size_t i) {
    return a && a->type == TOML_ARRAY && i < a->u.arr.n ? a->u.arr.v[i] : NULL;
}

const char *toml_string(const toml_node *n, size_t *len) {
    if (!n || n->type != TOML_STRING) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = n->u.str.len;
    return n->u.str.s;
}

int64_t toml_int(const toml_node *n) { return n && n->type == TOML_INT ? n->u.i : 0; }
double toml_float(const toml_node *n) { return n && n->type == TOML_FLOAT ? n->u.f : 0.0; }
bool toml_bool(const toml_node *n) { return n && n->type == TOML_BOOL && n->u.b; }
