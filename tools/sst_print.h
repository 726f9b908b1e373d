/* sst_print.h -- how strata-sst prints: records of named fields as text or JSON lines, byte
 * strings escaped, and engine entries decoded into Strata's data model (keyspace.h).
 *
 * Text: `name=value` fields separated by one space; strings in double quotes with C escapes
 * (\" \\ \n \r \t, \xHH for any other byte outside 0x20..0x7e), so every line is one entry and
 * every byte string can be read back exactly. JSON: one object per line; strings escape every
 * byte outside 0x20..0x7e as \u00HH, i.e. a string's code points are its bytes (Latin-1), so
 * binary keys survive (Python: s.encode("latin-1")). Field names are the same in both. */
#ifndef STRATA_TOOLS_SST_PRINT_H
#define STRATA_TOOLS_SST_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strata/st_iter.h"

#define SP_MAX_DEPTH 4
typedef struct sp_out {
    FILE *f;
    bool json;
    bool lines;               /* text, one "name: value" per line (stats of one table) */
    int fields;               /* in the record being written */
    int depth;                /* open objects/arrays inside it */
    int items[SP_MAX_DEPTH];  /* items put in each */
    char open[SP_MAX_DEPTH];  /* '{' or '[' */
} sp_out;

/* A record: one line. */
void sp_begin(sp_out *o);
void sp_end(sp_out *o);
void sp_u64(sp_out *o, const char *name, uint64_t v);
void sp_i64(sp_out *o, const char *name, int64_t v);
void sp_dbl(sp_out *o, const char *name, double v);
void sp_bool(sp_out *o, const char *name, bool v);
void sp_bytes(sp_out *o, const char *name, const uint8_t *p, size_t n);
void sp_str(sp_out *o, const char *name, const char *z); /* a word: no quotes in text */
void sp_hex(sp_out *o, const char *name, const uint8_t *p, size_t n);

/* A quoted byte string alone (inside a value being composed). */
void sp_quote(sp_out *o, const uint8_t *p, size_t n);

/* Nested values, the same in text and JSON ({"f": "v"}, ["a", "b"]): open a field whose value is
 * an object or array, put its items, close it. */
void sp_open(sp_out *o, const char *name, char bracket); /* '{' or '[' */
void sp_item_bytes(sp_out *o, const uint8_t *key, size_t klen, const uint8_t *v, size_t vlen); /* "k": "v" in {} */
void sp_item_elem(sp_out *o, const uint8_t *v, size_t vlen);                                   /* "v" in [] */
void sp_item_pair(sp_out *o, const uint8_t *m, size_t mlen, double score);                     /* ["m", s] in [] */
void sp_item_more(sp_out *o, uint64_t more);                                                   /* a marker */
void sp_close(sp_out *o, char bracket);

/* One engine entry (key, and value unless a deletion), decoded: the fields after seq and kind.
 * raw: the engine key and value as they are, no decoding. now_ms: for ttl_ms. */
void sp_entry(sp_out *o, st_slice key, bool is_delete, st_slice value, bool raw, int64_t now_ms);

/* A user key of the engine (e.g. a table's smallest key) in one short line of text. */
void sp_describe_key(FILE *f, st_slice ukey);

/* "1.5 MiB" into buf. */
const char *sp_size(char buf[32], uint64_t bytes);

/* The inverse of the text escapes, for --from / --to: 0 with *out malloc'ed (caller frees) and
 * *len bytes, or -1 on a bad escape. */
int sp_unescape(const char *s, uint8_t **out, size_t *len);

#endif
