/* toml.h -- the TOML subset strata-server's configuration needs, parsed into a read-only tree.
 *
 * Accepted (TOML 1.0 semantics): tables `[a]`, dotted headers `[a.b]`, arrays of tables `[[a]]`,
 * bare, "quoted" and 'literal' keys, dotted keys `a.b = 1`, basic strings with the escapes
 * \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX, literal strings, multi-line strings (""" and '''),
 * integers (decimal with `_` separators and a sign, 0x/0o/0b), floats (fraction, exponent, inf,
 * nan), booleans, arrays (multi-line, nested, mixed, trailing comma), inline tables, and comments.
 * Rejected with an error: dates and times, invalid UTF-8, control characters, duplicate keys,
 * redefined tables, nesting deeper than TOML_MAX_DEPTH.
 *
 * Every node remembers the line its value (or table header) starts on, so a consumer can name
 * "file:line" in its own errors. Errors from toml_parse read "tiering.toml:12: expected '=' after
 * key 'port'". Tables keep their keys in file order. Lookups are linear: this is for configuration
 * files, not data.
 *
 * Thread-safety: a parsed doc is immutable; any number of threads may read it. */
#ifndef STRATA_NET_TOML_H
#define STRATA_NET_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of tables and arrays (the root table is depth 0). */
#define TOML_MAX_DEPTH 32

typedef enum toml_type {
    TOML_TABLE = 1,
    TOML_ARRAY,
    TOML_STRING,
    TOML_INT,
    TOML_FLOAT,
    TOML_BOOL,
} toml_type;

typedef struct toml_doc toml_doc;
typedef struct toml_node toml_node;

/* Parses `len` bytes of `text` (need not be NUL-terminated). `filename` (may be NULL: "<toml>")
 * only prefixes error messages. On success returns 0 and *out is the caller's, released with
 * toml_free. On failure *out is NULL, `err` (errlen > 0) holds "file:line: what is wrong", and the
 * return value is -1 (syntax or semantic error) or -2 (out of memory). */
int toml_parse(const char *text, size_t len, const char *filename, toml_doc **out, char *err,
               size_t errlen);

void toml_free(toml_doc *doc); /* NULL-safe */

/* The root table. Nodes and their strings live as long as the doc. */
const toml_node *toml_root(const toml_doc *doc);

toml_type toml_node_type(const toml_node *n);
int toml_node_line(const toml_node *n);     /* 1-based */
const char *toml_type_name(toml_type t);    /* "table", "array", "string", "integer", ... */

/* True for a table or array that came from `[[name]]` headers (an array of tables). */
bool toml_is_table_array(const toml_node *n);

/* The accessors below accept NULL or a node of another type and then return NULL, 0 or false, so
 * a lookup chain needs one check at the end. */

/* ---- tables ---------------------------------------------------------------------------------- */

size_t toml_table_len(const toml_node *t);
/* The i-th key in file order (i < toml_table_len); *val (may be NULL) receives its value. */
const char *toml_table_key(const toml_node *t, size_t i, const toml_node **val);
/* The value of `key` in t, or NULL. */
const toml_node *toml_table_get(const toml_node *t, const char *key);

/* ---- arrays ---------------------------------------------------------------------------------- */

size_t toml_array_len(const toml_node *a);
const toml_node *toml_array_at(const toml_node *a, size_t i); /* NULL if i >= len */

/* ---- scalars --------------------------------------------------------------------------------- */

/* NUL-terminated UTF-8; *len (may be NULL) receives the length, which is shorter than strlen
 * would say only when the string holds "\u0000". Valid as long as the doc. */
const char *toml_string(const toml_node *n, size_t *len);
int64_t toml_int(const toml_node *n);
double toml_float(const toml_node *n);
bool toml_bool(const toml_node *n);

#endif
