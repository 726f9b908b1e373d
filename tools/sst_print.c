/* sst_print.c -- see sst_print.h. */
#include "sst_print.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keyspace.h"
#include "strata/st_inspect.h"
#include "tenant.h"

static const char hexd[] = "0123456789abcdef";

static void esc(sp_out *o, const uint8_t *p, size_t n) {
    FILE *f = o->f;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c >= 0x20 && c < 0x7f) {
            fputc(c, f);
        } else if (o->json) {
            fprintf(f, "\\u00%c%c", hexd[c >> 4], hexd[c & 15]);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else {
            fprintf(f, "\\x%c%c", hexd[c >> 4], hexd[c & 15]);
        }
    }
}

void sp_quote(sp_out *o, const uint8_t *p, size_t n) {
    fputc('"', o->f);
    esc(o, p, n);
    fputc('"', o->f);
}

void sp_begin(sp_out *o) {
    o->fields = 0;
    o->depth = 0;
    if (o->json) fputc('{', o->f);
}

void sp_end(sp_out *o) {
    if (o->json) fputc('}', o->f);
    fputc('\n', o->f);
}

static void name(sp_out *o, const char *n) {
    if (o->fields++) fputc(o->json ? ',' : o->lines ? '\n' : ' ', o->f);
    if (o->json) fprintf(o->f, "\"%s\":", n);
    else if (o->lines) fprintf(o->f, "%-20s ", n);
    else fprintf(o->f, "%s=", n);
}

void sp_u64(sp_out *o, const char *n, uint64_t v) {
    name(o, n);
    fprintf(o->f, "%" PRIu64, v);
}

void sp_i64(sp_out *o, const char *n, int64_t v) {
    name(o, n);
    fprintf(o->f, "%" PRId64, v);
}

static void dbl(sp_out *o, double v) {
    if (isinf(v)) fputs(o->json ? (v > 0 ? "\"inf\"" : "\"-inf\"") : (v > 0 ? "inf" : "-inf"), o->f);
    else if (isnan(v)) fputs(o->json ? "\"nan\"" : "nan", o->f);
    else fprintf(o->f, "%.17g", v);
}

void sp_dbl(sp_out *o, const char *n, double v) {
    name(o, n);
    dbl(o, v);
}

void sp_bool(sp_out *o, const char *n, bool v) {
    name(o, n);
    fputs(v ? "true" : "false", o->f);
}

void sp_bytes(sp_out *o, const char *n, const uint8_t *p, size_t len) {
    name(o, n);
    sp_quote(o, p, len);
}

void sp_str(sp_out *o, const char *n, const char *z) {
    name(o, n);
    if (o->json) sp_quote(o, (const uint8_t *)z, strlen(z));
    else fputs(z, o->f);
}

void sp_hex(sp_out *o, const char *n, const uint8_t *p, size_t len) {
    name(o, n);
    if (o->json) fputc('"', o->f);
    for (size_t i = 0; i < len; i++) fprintf(o->f, "%c%c", hexd[p[i] >> 4], hexd[p[i] & 15]);
    if (o->json) fputc('"', o->f);
}

void sp_open(sp_out *o, const char *n, char bracket) {
    name(o, n);
    fputc(bracket, o->f);
    if (o->depth < SP_MAX_DEPTH) {
        o->items[o->depth] = 0;
        o->open[o->depth] = bracket;
    }
    o->depth++;
}

static void item_sep(sp_out *o) {
    int d = o->depth - 1;
    if (d >= 0 && d < SP_MAX_DEPTH && o->items[d]++) fputs(o->json ? "," : ", ", o->f);
}

void sp_item_bytes(sp_out *o, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen) {
    item_sep(o);
    sp_quote(o, k, klen);
    fputs(o->json ? ":" : ": ", o->f);
    sp_quote(o, v, vlen);
}

void sp_item_elem(sp_out *o, const uint8_t *v, size_t vlen) {
    item_sep(o);
    sp_quote(o, v, vlen);
}

void sp_item_pair(sp_out *o, const uint8_t *m, size_t mlen, double score) {
    item_sep(o);
    fputc('[', o->f);
    sp_quote(o, m, mlen);
    fputs(o->json ? "," : ", ", o->f);
    dbl(o, score);
    fputc(']', o->f);
}

void sp_item_more(sp_out *o, uint64_t more) {
    item_sep(o);
    int d = o->depth - 1;
    /* inside an object the marker needs a key to stay valid JSON */
    if (d >= 0 && d < SP_MAX_DEPTH && o->open[d] == '{') {
        fputs(o->json ? "\"...\":" : "\"...\": ", o->f);
        fprintf(o->f, "\"%" PRIu64 " more\"", more);
    } else if (o->json) {
        fprintf(o->f, "\"...%" PRIu64 " more\"", more);
    } else {
        fprintf(o->f, "...%" PRIu64 " more", more);
    }
}

void sp_close(sp_out *o, char bracket) {
    fputc(bracket, o->f);
    if (o->depth > 0) o->depth--;
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static double dbl_of_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static const char *space_name(int space) {
    switch (space) {
    case 'M': return "record";
    case 'S': return "element";
    case 'Z': return "score";
    case 'R': return "rank";
    case 'X': return "expiry";
    case KS_SYS_TENANTS: return "tenant";
    case KS_SYS_RETIRED: return "retired";
    default: return "unknown";
    }
}

static void expiry_fields(sp_out *o, int64_t expire_ms, int64_t now_ms) {
    sp_i64(o, "expire_ms", expire_ms);
    sp_i64(o, "ttl_ms", expire_ms - now_ms);
}

static void record_fields(sp_out *o, const uint8_t *v, size_t vlen, int64_t now_ms) {
    ks_rec r;
    if (ks_rec_parse(v, vlen, &r)) {
        sp_str(o, "type", "malformed");
        sp_bytes(o, "value", v, vlen);
        return;
    }
    sp_str(o, "type", ks_type_name(r.type));
    if (r.expire_ms) expiry_fields(o, r.expire_ms, now_ms);
    if (r.type == KS_STRING) {
        sp_bytes(o, "value", r.payload, r.payload_len);
    } else {
        ks_coll c;
        if (ks_rec_coll(&r, &c) == 0) {
            sp_u64(o, "version", c.version);
            sp_u64(o, "size", c.size);
            if (c.type == KS_LIST) {
                sp_u64(o, "head", c.head);
                sp_u64(o, "tail", c.tail);
            }
        } else {
            sp_bytes(o, "payload", r.payload, r.payload_len);
        }
    }
    ks_rec_free(&r);
}

void sp_entry(sp_out *o, st_slice key, bool is_delete, st_slice value, bool raw, int64_t now_ms) {
    if (raw) {
        sp_bytes(o, "key", key.data, key.len);
        if (!is_delete) sp_bytes(o, "value", value.data, value.len);
        return;
    }
    ks_key_info ki;
    if (ks_key_decode(key.data, key.len, &ki)) {
        sp_str(o, "space", "unknown");
        sp_bytes(o, "key", key.data, key.len);
        if (!is_delete) sp_bytes(o, "value", value.data, value.len);
        return;
    }
    sp_str(o, "space", space_name(ki.space));
    if (ki.space == KS_SYS_TENANTS) {
        sp_bytes(o, "name", ki.key, ki.klen);
        tenant_record tr;
        if (is_delete) return;
        if (tenant_record_decode(value.data, value.len, &tr)) {
            sp_str(o, "record", "malformed");
            sp_bytes(o, "value", value.data, value.len);
            return;
        }
        sp_u64(o, "id", tr.id);
        sp_bool(o, "deleted", tr.deleted);
        sp_bool(o, "from_config", tr.from_config);
        sp_u64(o, "max_bytes", tr.max_bytes);
        sp_u64(o, "max_keys", tr.max_keys);
        return;
    }
    if (ki.space == KS_SYS_RETIRED) {
        if (ki.klen == 4) sp_u64(o, "id", (uint64_t)ki.key[0] << 24 | (uint64_t)ki.key[1] << 16 | (uint64_t)ki.key[2] << 8 | ki.key[3]);
        else sp_bytes(o, "name", ki.key, ki.klen);
        return;
    }
    sp_u64(o, "tenant", ki.tenant);
    sp_u64(o, "db", ki.db);
    sp_bytes(o, "key", ki.key, ki.klen);
    switch (ki.space) {
    case 'M':
        if (!is_delete) record_fields(o, value.data, value.len, now_ms);
        break;
    case 'X':
        expiry_fields(o, ki.expire_ms, now_ms);
        break;
    case 'S':
        sp_u64(o, "version", ki.version);
        sp_bytes(o, "element", ki.el, ki.elen);
        if (!is_delete) sp_bytes(o, "value", value.data, value.len);
        break;
    case 'Z':
        sp_u64(o, "version", ki.version);
        sp_bytes(o, "member", ki.el, ki.elen);
        if (!is_delete) {
            if (value.len == 8) sp_dbl(o, "score", dbl_of_bits(le64(value.data)));
            else sp_bytes(o, "value", value.data, value.len);
        }
        break;
    case 'R':
        sp_u64(o, "version", ki.version);
        if (ki.elen >= 2) {
            sp_u64(o, "level", ki.el[0]);
            sp_bytes(o, "separator", ki.el + 2, ki.elen - 2);
        } else {
            sp_bytes(o, "element", ki.el, ki.elen);
        }
        if (!is_delete) {
            if (value.len == 8) sp_u64(o, "count", le64(value.data));
            else sp_bytes(o, "value", value.data, value.len);
        }
        break;
    default: break;
    }
}

void sp_describe_key(FILE *f, st_slice ukey) {
    sp_out o = {.f = f};
    ks_key_info ki;
    if (ks_key_decode(ukey.data, ukey.len, &ki) || ki.space == KS_SYS_TENANTS || ki.space == KS_SYS_RETIRED) {
        sp_quote(&o, ukey.data, ukey.len);
        return;
    }
    fprintf(f, "%s:t%" PRIu32 ":db%u:", space_name(ki.space), ki.tenant, ki.db);
    sp_quote(&o, ki.key, ki.klen);
    if (ki.space == 'S' || ki.space == 'Z' || ki.space == 'R') {
        fprintf(f, "@v%" PRIu64 ":", ki.version);
        sp_quote(&o, ki.el, ki.elen);
    }
}

const char *sp_size(char buf[32], uint64_t b) {
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    if (i == 0) snprintf(buf, 32, "%" PRIu64 " B", b);
    else snprintf(buf, 32, "%.1f %s", v, u[i]);
    return buf;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sp_unescape(const char *s, uint8_t **out, size_t *len) {
    size_t n = strlen(s);
    uint8_t *p = malloc(n + 1);
    if (!p) return -1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            p[j++] = (uint8_t)s[i];
            continue;
        }
        if (++i >= n) goto bad;
        switch (s[i]) {
        case '\\': p[j++] = '\\'; break;
        case '"': p[j++] = '"'; break;
        case 'n': p[j++] = '\n'; break;
        case 'r': p[j++] = '\r'; break;
        case 't': p[j++] = '\t'; break;
        case 'x': {
            int h = i + 2 < n ? hexval(s[i + 1]) : -1, l = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (h < 0 || l < 0) goto bad;
            p[j++] = (uint8_t)(h << 4 | l);
            i += 2;
            break;
        }
        default: goto bad;
        }
    }
    *out = p;
    *len = j;
    return 0;
bad:
    free(p);
    return -1;
}
