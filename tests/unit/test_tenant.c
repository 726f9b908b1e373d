/* test_tenant.c -- SHA-256 (net/sha256.h) against the FIPS 180-4 / NIST vectors, split across its
 * two buffers at every padding boundary; and the tenant registry (net/tenant.h) on a real keyspace
 * in a temporary directory: config tenants created at first open, AUTH (right, wrong, unknown,
 * deleted), ADD / DEL / PASSWD / QUOTA and their errors, ids never reused, persistence across
 * close and reopen, the config file meeting runtime changes, damaged records refused with
 * KS_ECORRUPT, exact usage from tenant_stat_get, and tenant_over_quota (estimate, then rescan).
 * Reference digests were computed with coreutils `sha256sum` when this file was written.
 * Quota checks never depend on the clock: a check that must see exact usage follows a
 * tenant_stat_get (which rescans and resets the estimate), or is a tenant's first scan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keyspace.h"
#include "sha256.h"
#include "tenant.h"
#include "testutil.h"

/* ---- SHA-256 ------------------------------------------------------------------------------------- */

static void to_hex(const uint8_t d[SHA256_BYTES], char out[2 * SHA256_BYTES + 1]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_BYTES; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * SHA256_BYTES] = 0;
}

/* sha256_2(m[0, split), m[split, n)) must be want; an empty part is passed as NULL. */
static void expect_split(const uint8_t *m, size_t n, size_t split, const char *want, const char *what) {
    uint8_t d[SHA256_BYTES];
    char got[2 * SHA256_BYTES + 1];
    sha256_2(split ? m : NULL, split, n - split ? m + split : NULL, n - split, d);
    to_hex(d, got);
    if (strcmp(got, want) != 0) {
        print_error("%s (%zu bytes split at %zu)\n    got:  %s\n    want: %s\n", what, n, split, got, want);
        fail();
    }
}

/* Every split point of m: where the data sits in a or b must not matter. */
static void expect_all_splits(const uint8_t *m, size_t n, const char *want, const char *what) {
    for (size_t s = 0; s <= n; s++) expect_split(m, n, s, want, what);
}

static void test_sha256_fips_short_vectors(void **state) {
    (void)state;
    expect_all_splits((const uint8_t *)"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                      "empty message");
    expect_all_splits((const uint8_t *)"abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                      "\"abc\"");
    /* 448 bits: 56 bytes, so the length no longer fits the first block's padding */
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_int_equal(strlen(m448), 56);
    expect_all_splits((const uint8_t *)m448, 56, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                      "448-bit message");
}

static void test_sha256_padding_boundaries_at_every_split(void **state) {
    (void)state;
    /* m[i] = 'a' + i % 26, digests from `sha256sum`: lengths either side of the 55/56 (length field
     * no longer fits) and 64 (block) boundaries, for one block and for two */
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "595615dbe4f0f407ae397d08b4c2cb870cb9b0e11937416f950c5160acf9c005"},
        {56, "784f623b787495078e93ff28a25b581df0584055a7e71d8cd90c454716b92f51"},
        {63, "5ca3e1ef5207490eac01a795e5cc94d59582a5118bf9534665c8668d87aa647c"},
        {64, "2fcd5a0d60e4c941381fcc4e00a4bf8be422c3ddfafb93c809e8d1e2bfffae8e"},
        {65, "1b3cd1877ab2f2f19f7be001722554f336cb799df0329de0bb4c118dc6abc06d"},
        {119, "faef67da856d6fd9c8d12f9ed0a4fefd3cf0ce085ab43e2907418d457e3c354b"},
        {120, "c9512b08619c19fbb503c7da6b46ef20301e5f7a7a5f43989182398536f5c5c8"},
        {127, "1b9907986f18ddc2b37e18be502d82d69d6e18bb9dff9e16f2aceea7d88cb933"},
        {128, "6c05be2c4268843ae47e68e611277ce62c02153f2f4d2e1e2a1a4b44f766cf74"},
        {129, "cd6bba8374324cbcc0c296b94f35299c0b9820393116358ac3afaf091a4955a5"},
    };
    uint8_t m[129];
    for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)('a' + i % 26);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) expect_all_splits(m, v[i].n, v[i].hex, "alphabet pattern");
}

static void test_sha256_million_a(void **state) {
    (void)state;
    const size_t n = 1000000;
    uint8_t *m = malloc(n);
    assert_non_null(m);
    memset(m, 'a', n);
    static const size_t splits[] = {0, 1, 55, 56, 63, 64, 65, 500000, 999935, 999999, 1000000};
    for (size_t i = 0; i < sizeof splits / sizeof *splits; i++)
        expect_split(m, n, splits[i], "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
                     "one million 'a'");
    free(m);
}

/* ---- the registry: fixture ------------------------------------------------------------------------- */

typedef struct tspec {
    const char *name, *pw;
    uint64_t max_bytes, max_keys;
} tspec;

typedef struct fx {
    char *dir;
    ks *k;
    ks_batch *b;
    config cfg; /* its [[tenant]] tables are this file's (set_cfg_tenants), freed by clear_cfg_tenants */
    tenant_reg *r;
    char log[8192]; /* notices of the last open, one per line */
    size_t loglen;
} fx;

static void open_ks(fx *x) {
    ks_options o = {.dir = x->dir, .sync_mode = 3, .bloom_bits_per_key = -1, .codec = -1};
    char err[256];
    int rc = ks_open(&o, &x->k, err, sizeof err);
    if (rc) print_error("ks_open: %s\n", err);
    assert_int_equal(rc, 0);
}

static void log_cb(void *arg, const char *msg) {
    fx *x = arg;
    int n = snprintf(x->log + x->loglen, sizeof x->log - x->loglen, "%s\n", msg);
    if (n > 0) x->loglen += (size_t)n < sizeof x->log - x->loglen ? (size_t)n : sizeof x->log - x->loglen - 1;
}

static int open_reg_rc(fx *x, char *err, size_t errlen) {
    x->loglen = 0;
    x->log[0] = 0;
    return tenant_reg_open(x->k, &x->cfg, log_cb, x, &x->r, err, errlen);
}

static void open_reg(fx *x) {
    char err[512] = "";
    int rc = open_reg_rc(x, err, sizeof err);
    if (rc) print_error("tenant_reg_open: %d: %s\n", rc, err);
    assert_int_equal(rc, 0);
    assert_non_null(x->r);
}

/* Closes the registry and the keyspace and opens both again: what a restart sees. */
static void reopen(fx *x) {
    tenant_reg_free(x->r);
    x->r = NULL;
    assert_int_equal(ks_close(x->k), 0);
    x->k = NULL;
    open_ks(x);
    open_reg(x);
}

static void clear_cfg_tenants(fx *x) {
    for (size_t i = 0; i < x->cfg.n_tenants; i++) {
        free(x->cfg.tenants[i].name);
        free(x->cfg.tenants[i].password);
    }
    free(x->cfg.tenants);
    x->cfg.tenants = NULL;
    x->cfg.n_tenants = 0;
}

/* The config's [[tenant]] tables become ts[0, n), declared at lines 10, 20, ... */
static void set_cfg_tenants(fx *x, size_t n, const tspec *ts) {
    clear_cfg_tenants(x);
    x->cfg.tenants = calloc(n ? n : 1, sizeof *x->cfg.tenants);
    assert_non_null(x->cfg.tenants);
    for (size_t i = 0; i < n; i++) {
        config_tenant *t = &x->cfg.tenants[i];
        t->name = strdup(ts[i].name);
        t->password = strdup(ts[i].pw);
        assert_true(t->name && t->password);
        t->max_bytes = ts[i].max_bytes;
        t->max_keys = ts[i].max_keys;
        t->line = 10 * (int)(i + 1);
    }
    x->cfg.n_tenants = n;
}

static int setup(void **state) {
    fx *x = calloc(1, sizeof *x);
    if (!x) return -1;
    x->dir = st_test_tmpdir("tenant");
    if (!x->dir || config_init(&x->cfg) || ks_batch_new(&x->b)) return -1;
    ks_options o = {.dir = x->dir, .sync_mode = 3, .bloom_bits_per_key = -1, .codec = -1};
    char err[256];
    if (ks_open(&o, &x->k, err, sizeof err)) {
        fprintf(stderr, "ks_open: %s\n", err);
        return -1;
    }
    *state = x;
    return 0;
}

static int teardown(void **state) {
    fx *x = *state;
    tenant_reg_free(x->r);
    int rc = x->k ? ks_close(x->k) : 0;
    ks_batch_free(x->b);
    /* the tables are ours: detach them, so config_free is right whether or not it frees tenants */
    clear_cfg_tenants(x);
    config_free(&x->cfg);
    st_test_rmrf(x->dir);
    free(x->dir);
    free(x);
    return rc ? -1 : 0;
}

/* ---- the registry: helpers -------------------------------------------------------------------------- */

#define U8(s) ((const uint8_t *)(s))

static int add(fx *x, const char *name, const char *pw, uint64_t mb, uint64_t mk, uint32_t *id) {
    uint32_t dummy;
    return tenant_add(x->r, U8(name), strlen(name), U8(pw), strlen(pw), mb, mk, id ? id : &dummy);
}

static int del(fx *x, const char *name) {
    uint32_t id;
    return tenant_del(x->r, U8(name), strlen(name), &id);
}

static int auth(fx *x, const char *name, const char *pw, tenant_ent **e) {
    tenant_ent *dummy;
    tenant_ent **out = e ? e : &dummy;
    int rc = tenant_auth(x->r, U8(name), strlen(name), U8(pw), strlen(pw), out);
    if (rc) assert_null(*out);
    else assert_non_null(*out);
    return rc;
}

static tenant_stat stat_of(fx *x, const char *name) {
    tenant_stat st;
    int rc = tenant_stat_get(x->r, U8(name), strlen(name), &st);
    if (rc) print_error("tenant_stat_get(%s): %d\n", name, rc);
    assert_int_equal(rc, 0);
    return st;
}

static tenant_ent *ent(fx *x, const char *name, const char *pw) {
    tenant_ent *e = NULL;
    assert_int_equal(auth(x, name, pw, &e), 0);
    return e;
}

/* A string write into ns, committed, and told to e (if any) as cmd_write tells it. */
static void put(fx *x, tenant_ent *e, ks_ns ns, const char *key, const char *val, int64_t expire_ms) {
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_put_string(x->b, ns, U8(key), strlen(key), U8(val), strlen(val), expire_ms), 0);
    uint64_t lsn = 0;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    assert_int_equal(ks_commit(x->k, lsn), 0);
    if (e) tenant_note_write(e, ks_batch_count(x->b), ks_batch_bytes(x->b));
}

static void delete_key(fx *x, tenant_ent *e, ks_ns ns, const char *key) {
    ks_batch_clear(x->b);
    assert_int_equal(ks_batch_delete(x->b, ns, U8(key), strlen(key)), 0);
    uint64_t lsn = 0;
    assert_int_equal(ks_write(x->k, x->b, &lsn), 0);
    assert_int_equal(ks_commit(x->k, lsn), 0);
    if (e) tenant_note_write(e, ks_batch_count(x->b), ks_batch_bytes(x->b));
}

/* Bytes a string record of a tenant occupies: engine key (tenant u32 | db | 'M' | key) and value
 * (flags | [expire u64] | bytes); the expiry index entry lives in the global space, not the tenant's. */
static uint64_t string_bytes(size_t klen, size_t vlen, bool expires) {
    return (4 + 1 + 1 + klen) + (1 + (expires ? 8 : 0) + vlen);
}

typedef struct names {
    int n;
    char v[16][CONFIG_TENANT_NAME_MAX + 1];
} names;

static void collect_name(void *arg, const char *name) {
    names *ns = arg;
    assert_true(ns->n < 16);
    snprintf(ns->v[ns->n++], sizeof ns->v[0], "%s", name);
}

static void expect_log(fx *x, const char *needle, const char *needle2) {
    const char *p = strstr(x->log, needle);
    bool ok = p != NULL;
    if (ok && needle2) {
        const char *eol = strchr(p, '\n');
        const char *q = strstr(p, needle2);
        ok = q && (!eol || q < eol);
    }
    if (!ok) {
        print_error("log has no line with \"%s\"%s%s%s; it is:\n%s", needle, needle2 ? " and \"" : "",
                    needle2 ? needle2 : "", needle2 ? "\"" : "", x->log);
        fail();
    }
}

/* ---- the registry: tests --------------------------------------------------------------------------- */

static void test_tenant_config_tenants_are_created_at_first_open(void **state) {
    fx *x = *state;
    const tspec ts[] = {{"acme", "s3cret", 1 << 20, 100}, {"beta.co-1_x", "pw", 0, 0}};
    set_cfg_tenants(x, 2, ts);
    open_reg(x);
    assert_int_equal(tenant_count(x->r), 2);
    expect_log(x, "tenant 'acme' created from", "(id 1)");
    expect_log(x, "tenant 'beta.co-1_x' created from", "(id 2)");

    tenant_ent *e = ent(x, "acme", "s3cret");
    assert_int_equal(tenant_ent_id(e), 1);
    assert_string_equal(tenant_ent_name(e), "acme");
    assert_true(tenant_ent_alive(e));
    tenant_stat st = stat_of(x, "acme");
    assert_string_equal(st.name, "acme");
    assert_int_equal(st.id, 1);
    assert_true(st.max_bytes == 1 << 20 && st.max_keys == 100);
    assert_true(st.from_config);
    assert_true(st.keys == 0 && st.bytes == 0);
    st = stat_of(x, "beta.co-1_x");
    assert_int_equal(st.id, 2);
    assert_true(st.max_bytes == 0 && st.max_keys == 0);

    /* every failure is the same code, whatever went wrong */
    assert_int_equal(auth(x, "acme", "s3creT", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "acme", "s3cret ", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "acme", "", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "ACME", "s3cret", NULL), TENANT_EWRONGPASS); /* names are case-sensitive */
    assert_int_equal(auth(x, "nobody", "s3cret", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "default", "s3cret", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "", "", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "beta.co-1_x", "s3cret", NULL), TENANT_EWRONGPASS); /* another's password */
    assert_int_equal(auth(x, "beta.co-1_x", "pw", NULL), 0);

    /* the password is not stored in clear: no record holds its bytes */
    uint8_t *val = NULL;
    size_t vlen = 0;
    assert_int_equal(ks_sys_get(x->k, KS_SYS_TENANTS, U8("acme"), 4, &val, &vlen), 0);
    assert_int_equal(vlen, 70);
    assert_null(memmem(val, vlen, "s3cret", 6));
    free(val);

    /* a second open of the same database with the same file changes nothing and logs nothing */
    reopen(x);
    assert_int_equal(tenant_count(x->r), 2);
    assert_int_equal(x->loglen, 0);
    assert_int_equal(tenant_ent_id(ent(x, "acme", "s3cret")), 1);
}

static void test_tenant_add_del_passwd_quota_and_their_errors(void **state) {
    fx *x = *state;
    open_reg(x);
    assert_int_equal(tenant_count(x->r), 0);
    uint32_t id = 0;
    assert_int_equal(add(x, "t1", "pw1", 1000, 10, &id), 0);
    assert_int_equal(id, 1);
    assert_int_equal(add(x, "t1", "other", 0, 0, NULL), TENANT_EEXIST);
    assert_int_equal(auth(x, "t1", "pw1", NULL), 0); /* the failed ADD changed nothing */
    assert_int_equal(auth(x, "t1", "other", NULL), TENANT_EWRONGPASS);

    /* names: 1..64 of A-Z a-z 0-9 _ . -, not "default" in any case; passwords not empty */
    char n64[65], n65[66];
    memset(n64, 'n', 64);
    n64[64] = 0;
    memset(n65, 'n', 65);
    n65[65] = 0;
    static const char *const bad[] = {"", "default", "DEFAULT", "Default", "a b", "a:b", "a/b", "tenant\n", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (add(x, bad[i], "pw", 0, 0, NULL) != TENANT_EINVAL) {
            print_error("TENANT ADD '%s' was accepted\n", bad[i]);
            fail();
        }
    }
    assert_int_equal(add(x, n65, "pw", 0, 0, NULL), TENANT_EINVAL);
    assert_int_equal(add(x, "t2", "", 0, 0, NULL), TENANT_EINVAL);
    assert_int_equal(tenant_add(x->r, U8("bin\0x"), 5, U8("pw"), 2, 0, 0, &id), TENANT_EINVAL);
    assert_int_equal(add(x, n64, "pw", 0, 0, &id), 0);
    assert_int_equal(id, 2); /* refused adds took no id */
    assert_int_equal(add(x, "defaults", "pw", 0, 0, NULL), 0); /* only the exact word is reserved */
    /* a password is bytes: NULs and any length */
    assert_int_equal(tenant_add(x->r, U8("bin"), 3, U8("p\0w"), 3, 0, 0, &id), 0);
    tenant_ent *e = NULL;
    assert_int_equal(tenant_auth(x->r, U8("bin"), 3, U8("p\0w"), 3, &e), 0);
    assert_int_equal(tenant_auth(x->r, U8("bin"), 3, U8("p"), 1, &e), TENANT_EWRONGPASS);

    names ns = {0};
    tenant_list(x->r, collect_name, &ns);
    assert_int_equal(ns.n, 4);
    assert_string_equal(ns.v[0], "bin"); /* name order */
    assert_string_equal(ns.v[1], "defaults");
    assert_string_equal(ns.v[2], n64);
    assert_string_equal(ns.v[3], "t1");

    /* PASSWD: the old password stops working at once */
    tenant_ent *t1 = ent(x, "t1", "pw1");
    assert_int_equal(tenant_passwd(x->r, U8("t1"), 2, U8("pw2"), 3), 0);
    assert_int_equal(auth(x, "t1", "pw1", NULL), TENANT_EWRONGPASS);
    assert_ptr_equal(ent(x, "t1", "pw2"), t1); /* same tenant, same entry */
    assert_int_equal(tenant_passwd(x->r, U8("t1"), 2, U8(""), 0), TENANT_EINVAL);
    assert_int_equal(auth(x, "t1", "pw2", NULL), 0);
    assert_int_equal(tenant_passwd(x->r, U8("nope"), 4, U8("x"), 1), KS_ENOTFOUND);

    /* QUOTA: NULL leaves a quota as it is, 0 removes it */
    uint64_t mb = 5000, mk = 0;
    assert_int_equal(tenant_set_quota(x->r, U8("t1"), 2, &mb, NULL), 0);
    tenant_stat st = stat_of(x, "t1");
    assert_true(st.max_bytes == 5000 && st.max_keys == 10);
    assert_false(st.from_config);
    assert_int_equal(tenant_set_quota(x->r, U8("t1"), 2, NULL, &mk), 0);
    st = stat_of(x, "t1");
    assert_true(st.max_bytes == 5000 && st.max_keys == 0);
    assert_int_equal(tenant_set_quota(x->r, U8("t1"), 2, NULL, NULL), 0);
    st = stat_of(x, "t1");
    assert_true(st.max_bytes == 5000 && st.max_keys == 0);
    assert_int_equal(tenant_set_quota(x->r, U8("nope"), 4, &mb, &mk), KS_ENOTFOUND);

    /* DEL: AUTH fails, a connection's pointer sees it, everything else says "no such tenant" */
    uint32_t did = 0;
    assert_int_equal(tenant_del(x->r, U8("t1"), 2, &did), 0);
    assert_int_equal(did, 1);
    assert_false(tenant_ent_alive(t1));
    assert_string_equal(tenant_ent_name(t1), "t1"); /* still readable */
    assert_int_equal(auth(x, "t1", "pw2", NULL), TENANT_EWRONGPASS);
    assert_int_equal(del(x, "t1"), KS_ENOTFOUND);
    assert_int_equal(del(x, "never"), KS_ENOTFOUND);
    assert_int_equal(tenant_passwd(x->r, U8("t1"), 2, U8("x"), 1), KS_ENOTFOUND);
    assert_int_equal(tenant_set_quota(x->r, U8("t1"), 2, &mb, NULL), KS_ENOTFOUND);
    tenant_stat gone;
    assert_int_equal(tenant_stat_get(x->r, U8("t1"), 2, &gone), KS_ENOTFOUND);
    assert_int_equal(tenant_count(x->r), 3);
    uint32_t *ids = NULL;
    size_t nids = 0;
    assert_int_equal(tenant_ids(x->r, &ids, &nids), 0);
    assert_int_equal(nids, 3);
    for (size_t i = 0; i < nids; i++) assert_int_not_equal(ids[i], 1);
    free(ids);
}

static void test_tenant_ids_are_never_reused(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t a, b, c, b2;
    assert_int_equal(add(x, "a", "pw", 0, 0, &a), 0);
    assert_int_equal(add(x, "b", "pw", 0, 0, &b), 0);
    tenant_ent *old_b = ent(x, "b", "pw");
    assert_int_equal(del(x, "b"), 0);
    assert_int_equal(add(x, "c", "pw", 0, 0, &c), 0);
    assert_int_equal(add(x, "b", "new", 0, 0, &b2), 0); /* the name again: a new tenant */
    assert_true(a == 1 && b == 2 && c == 3 && b2 == 4);
    /* the connection that held the old b still holds a dead entry, not the new one */
    assert_false(tenant_ent_alive(old_b));
    assert_int_equal(tenant_ent_id(old_b), 2);
    tenant_ent *new_b = ent(x, "b", "new");
    assert_ptr_not_equal(new_b, old_b);
    assert_int_equal(tenant_ent_id(new_b), 4);
    assert_int_equal(auth(x, "b", "pw", NULL), TENANT_EWRONGPASS);

    /* deleting the newest id: the next one is still above it, across a reopen */
    assert_int_equal(del(x, "b"), 0);
    assert_int_equal(del(x, "c"), 0);
    assert_int_equal(del(x, "a"), 0);
    assert_int_equal(tenant_count(x->r), 0);
    reopen(x);
    assert_int_equal(tenant_count(x->r), 0);
    uint32_t d;
    assert_int_equal(add(x, "d", "pw", 0, 0, &d), 0);
    assert_int_equal(d, 5);
    assert_int_equal(add(x, "a", "pw", 0, 0, &a), 0);
    assert_int_equal(a, 6);
}

static void test_tenant_runtime_changes_persist_across_reopen(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t kid, gid;
    assert_int_equal(add(x, "keep", "k1", 0, 0, &kid), 0);
    assert_int_equal(add(x, "gone", "g1", 0, 0, &gid), 0);
    assert_int_equal(add(x, "quota", "q1", 111, 22, NULL), 0);
    assert_int_equal(tenant_passwd(x->r, U8("keep"), 4, U8("k2"), 2), 0);
    uint64_t mk = 33;
    assert_int_equal(tenant_set_quota(x->r, U8("quota"), 5, NULL, &mk), 0);
    assert_int_equal(del(x, "gone"), 0);
    put(x, NULL, (ks_ns){kid, 0}, "k", "v", 0);

    reopen(x);
    assert_int_equal(x->loglen, 0);
    assert_int_equal(tenant_count(x->r), 2);
    assert_int_equal(auth(x, "keep", "k1", NULL), TENANT_EWRONGPASS);
    assert_int_equal(tenant_ent_id(ent(x, "keep", "k2")), kid);
    assert_int_equal(auth(x, "gone", "g1", NULL), TENANT_EWRONGPASS);
    tenant_stat st;
    assert_int_equal(tenant_stat_get(x->r, U8("gone"), 4, &st), KS_ENOTFOUND);
    st = stat_of(x, "quota");
    assert_true(st.max_bytes == 111 && st.max_keys == 33);
    assert_false(st.from_config);
    st = stat_of(x, "keep");
    assert_int_equal(st.keys, 1); /* the data is the keyspace's; the tenant finds it again by id */
    assert_int_equal(st.bytes, string_bytes(1, 1, false));
    /* counters are since the start, not stored */
    assert_true(st.ops == 0 && st.refused == 0);

    /* the deleted name comes back as a new tenant, with a new id */
    uint32_t g2;
    assert_int_equal(add(x, "gone", "g2", 0, 0, &g2), 0);
    assert_true(g2 > gid && g2 > kid);
    reopen(x);
    assert_int_equal(tenant_ent_id(ent(x, "gone", "g2")), g2);
}

static void test_tenant_config_file_meets_runtime_changes(void **state) {
    fx *x = *state;
    const tspec v1[] = {
        {"file", "f1", 0, 0},    /* never touched at runtime: follows the file */
        {"pw", "p1", 0, 0},      /* TENANT PASSWD at runtime */
        {"quota", "q1", 0, 5},   /* TENANT QUOTA at runtime */
        {"del", "d1", 0, 0},     /* TENANT DEL at runtime */
        {"same", "s1", 100, 1},  /* unchanged in the file */
    };
    set_cfg_tenants(x, 5, v1);
    open_reg(x);
    assert_int_equal(tenant_count(x->r), 5);
    uint32_t del_id = tenant_ent_id(ent(x, "del", "d1"));
    assert_int_equal(tenant_passwd(x->r, U8("pw"), 2, U8("p-runtime"), 9), 0);
    uint64_t mk = 50;
    assert_int_equal(tenant_set_quota(x->r, U8("quota"), 5, NULL, &mk), 0);
    assert_int_equal(del(x, "del"), 0);
    uint32_t rt_id;
    assert_int_equal(add(x, "runtime", "r1", 0, 0, &rt_id), 0); /* the file will declare it later */

    const tspec v2[] = {
        {"file", "f2", 2048, 7},
        {"pw", "p2", 0, 0},
        {"quota", "q2", 0, 9},
        {"del", "d2", 0, 0},
        {"same", "s1", 100, 1},
        {"runtime", "r2", 0, 0},
        {"new", "n1", 0, 3},
    };
    set_cfg_tenants(x, 7, v2);
    reopen(x);

    /* edited in the file, never at runtime: the file wins */
    assert_int_equal(auth(x, "file", "f1", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "file", "f2", NULL), 0);
    tenant_stat st = stat_of(x, "file");
    assert_true(st.max_bytes == 2048 && st.max_keys == 7 && st.from_config);
    expect_log(x, "tenant 'file' updated from", ":10");

    /* changed at runtime: the runtime state wins, with a notice */
    assert_int_equal(auth(x, "pw", "p2", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "pw", "p-runtime", NULL), 0);
    assert_false(stat_of(x, "pw").from_config);
    expect_log(x, "tenant 'pw'", "ignored");
    expect_log(x, "tenant 'pw'", "changed");

    assert_int_equal(auth(x, "quota", "q2", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "quota", "q1", NULL), 0);
    st = stat_of(x, "quota");
    assert_true(st.max_keys == 50 && !st.from_config);
    expect_log(x, "tenant 'quota'", "ignored");

    /* deleted at runtime: stays deleted */
    assert_int_equal(auth(x, "del", "d1", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "del", "d2", NULL), TENANT_EWRONGPASS);
    expect_log(x, "tenant 'del'", "deleted");

    /* added at runtime, declared in the file afterwards: runtime */
    assert_int_equal(auth(x, "runtime", "r2", NULL), TENANT_EWRONGPASS);
    assert_int_equal(tenant_ent_id(ent(x, "runtime", "r1")), rt_id);
    expect_log(x, "tenant 'runtime'", "ignored");

    /* unchanged: no notice; new in the file: created with the next id */
    assert_true(stat_of(x, "same").from_config);
    assert_null(strstr(x->log, "'same'"));
    uint32_t new_id = tenant_ent_id(ent(x, "new", "n1"));
    assert_true(new_id > rt_id && new_id > del_id);
    expect_log(x, "tenant 'new' created from", ":70");
    assert_int_equal(tenant_count(x->r), 6);

    /* a third start with the same file: nothing to say, nothing changes */
    reopen(x);
    assert_null(strstr(x->log, "updated"));
    assert_null(strstr(x->log, "created"));
    assert_int_equal(auth(x, "file", "f2", NULL), 0);
    assert_int_equal(auth(x, "pw", "p-runtime", NULL), 0);
    assert_int_equal(tenant_ent_id(ent(x, "new", "n1")), new_id);

    /* a config tenant's runtime change after it followed the file is again the runtime's */
    assert_int_equal(tenant_passwd(x->r, U8("file"), 4, U8("f-runtime"), 9), 0);
    const tspec v3[] = {{"file", "f3", 0, 0}};
    set_cfg_tenants(x, 1, v3);
    reopen(x);
    assert_int_equal(auth(x, "file", "f3", NULL), TENANT_EWRONGPASS);
    assert_int_equal(auth(x, "file", "f-runtime", NULL), 0);
}

/* A record's bytes as tenant.c stores them (docs in tenant.c): 70 bytes, little-endian. */
static void make_record(uint8_t v[70], uint8_t format, uint8_t flags, uint32_t id) {
    memset(v, 0, 70);
    v[0] = format;
    v[1] = flags;
    for (int i = 0; i < 4; i++) v[2 + i] = (uint8_t)(id >> (8 * i));
}

static void test_tenant_damaged_record_fails_open(void **state) {
    fx *x = *state;
    open_reg(x);
    assert_int_equal(add(x, "good", "pw", 0, 0, NULL), 0);
    tenant_reg_free(x->r);
    x->r = NULL;

    uint8_t rec[70];
    static const uint8_t garbage[] = {0xde, 0xad, 0xbe, 0xef, 0x00};
    struct {
        const char *name;
        const uint8_t *v;
        size_t vlen;
        const char *want; /* in the error */
    } cases[] = {
        {"junk", garbage, sizeof garbage, "'junk' is damaged"},
        {"empty", garbage, 0, "'empty' is damaged"},
        {"format9", rec, sizeof rec, "'format9' is damaged"},
        {"long", rec, sizeof rec, "'long' is damaged"}, /* 71 bytes */
        {"id0", rec, sizeof rec, "'id0' has id 0"},
        {"idsys", rec, sizeof rec, "'idsys' has id 4294967294"},
        {"bad name", rec, sizeof rec, "'bad name' is damaged"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t big[71] = {0};
        const uint8_t *v = cases[i].v;
        size_t vlen = cases[i].vlen;
        if (!strcmp(cases[i].name, "format9")) make_record(rec, 9, 0, 7);
        else if (!strcmp(cases[i].name, "id0")) make_record(rec, 1, 0, 0);
        else if (!strcmp(cases[i].name, "idsys")) make_record(rec, 1, 0, KS_SYS_TENANT);
        else make_record(rec, 1, 0, 7);
        if (!strcmp(cases[i].name, "long")) {
            memcpy(big, rec, sizeof rec);
            v = big;
            vlen = sizeof big;
        }
        const char *name = cases[i].name;
        assert_int_equal(ks_sys_put(x->k, KS_SYS_TENANTS, U8(name), strlen(name), v, vlen), 0);
        char err[512] = "";
        int rc = open_reg_rc(x, err, sizeof err);
        if (rc != KS_ECORRUPT || x->r || !strstr(err, cases[i].want) || !strstr(err, "tenant record")) {
            print_error("record '%s': tenant_reg_open gave %d (want %d), err \"%s\" (want \"%s\")\n", name, rc,
                        KS_ECORRUPT, err, cases[i].want);
            fail();
        }
        /* once the record is gone the registry opens again, the good tenant intact */
        assert_int_equal(ks_sys_put(x->k, KS_SYS_TENANTS, U8(name), strlen(name), NULL, 0), 0);
        open_reg(x);
        assert_int_equal(auth(x, "good", "pw", NULL), 0);
        tenant_reg_free(x->r);
        x->r = NULL;
    }
    /* a damaged record is damaged after a restart too (nothing was repaired behind our back) */
    assert_int_equal(ks_sys_put(x->k, KS_SYS_TENANTS, U8("junk"), 4, garbage, sizeof garbage), 0);
    assert_int_equal(ks_close(x->k), 0);
    x->k = NULL;
    open_ks(x);
    char err[512] = "";
    assert_int_equal(open_reg_rc(x, err, sizeof err), KS_ECORRUPT);
    assert_null(x->r);
    assert_non_null(strstr(err, "'junk'"));
}

static void test_tenant_stat_counts_exact_keys_and_bytes(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t a, b;
    assert_int_equal(add(x, "a", "pw", 0, 0, &a), 0);
    assert_int_equal(add(x, "b", "pw", 0, 0, &b), 0);
    tenant_stat st = stat_of(x, "a");
    assert_true(st.keys == 0 && st.bytes == 0);

    /* a's keys in two databases, one with an expiry; neighbours in b, the admin space and a's
     * id's neighbours must not count */
    put(x, NULL, (ks_ns){a, 0}, "k1", "hello", 0);
    put(x, NULL, (ks_ns){a, 0}, "key2", "", 0);
    put(x, NULL, (ks_ns){a, 3}, "k1", "0123456789", 0);
    int64_t far = (int64_t)1 << 50; /* ms: not expired while the test runs */
    put(x, NULL, (ks_ns){a, 255}, "ttl", "v", far);
    put(x, NULL, (ks_ns){b, 0}, "k1", "other", 0);
    put(x, NULL, (ks_ns){0, 0}, "k1", "admin", 0);
    put(x, NULL, (ks_ns){a + 100, 0}, "k1", "stranger", 0);
    uint64_t want = string_bytes(2, 5, false) + string_bytes(4, 0, false) + string_bytes(2, 10, false) +
                    string_bytes(3, 1, true);
    st = stat_of(x, "a");
    assert_int_equal(st.keys, 4);
    assert_int_equal(st.bytes, want);
    st = stat_of(x, "b");
    assert_int_equal(st.keys, 1);
    assert_int_equal(st.bytes, string_bytes(2, 5, false));

    /* overwrite: same key count, new size; delete: gone from both */
    put(x, NULL, (ks_ns){a, 0}, "k1", "hello world", 0);
    delete_key(x, NULL, (ks_ns){a, 3}, "k1");
    want += 6;
    want -= string_bytes(2, 10, false);
    st = stat_of(x, "a");
    assert_int_equal(st.keys, 3);
    assert_int_equal(st.bytes, want);

    /* the system records (the registry itself) belong to no tenant */
    uint32_t c;
    assert_int_equal(add(x, "c", "pw", 0, 0, &c), 0);
    st = stat_of(x, "c");
    assert_true(st.keys == 0 && st.bytes == 0);
    uint64_t keys = 9, bytes = 9;
    assert_int_equal(ks_tenant_usage(x->k, 0, &keys, &bytes), 0);
    assert_int_equal(keys, 1); /* the admin's k1 only */
}

static void test_tenant_over_quota_estimates_then_rescans(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t id;
    assert_int_equal(add(x, "q", "pw", 0, 3, &id), 0);
    tenant_ent *e = ent(x, "q", "pw");
    ks_ns ns = {id, 0};

    /* three writes of one key: the estimate says three keys, the scan it triggers finds one */
    for (int i = 0; i < 3; i++) put(x, e, ns, "a", "v", 0);
    assert_null(tenant_over_quota(x->r, e));
    tenant_stat st = stat_of(x, "q");
    assert_true(st.keys == 1 && st.refused == 0);

    /* really full: refused, and counted, every time */
    put(x, e, ns, "b", "v", 0);
    put(x, e, ns, "c", "v", 0);
    st = stat_of(x, "q"); /* exact usage, no estimate left */
    assert_int_equal(st.keys, 3);
    assert_string_equal(tenant_over_quota(x->r, e), "keys");
    assert_string_equal(tenant_over_quota(x->r, e), "keys");
    assert_int_equal(stat_of(x, "q").refused, 2);

    /* a delete (never refused: the dispatcher does not ask for it); once usage is known again the
     * tenant may write */
    delete_key(x, e, ns, "c");
    st = stat_of(x, "q");
    assert_int_equal(st.keys, 2);
    assert_null(tenant_over_quota(x->r, e));
    put(x, e, ns, "c", "v", 0);
    assert_string_equal(tenant_over_quota(x->r, e), "keys"); /* estimate or scan: 3 either way */

    /* raising the quota lets it write at once; 0 removes it */
    uint64_t mk = 4;
    assert_int_equal(tenant_set_quota(x->r, U8("q"), 1, NULL, &mk), 0);
    assert_null(tenant_over_quota(x->r, e));
    mk = 0;
    assert_int_equal(tenant_set_quota(x->r, U8("q"), 1, NULL, &mk), 0);
    for (int i = 0; i < 20; i++) {
        char k[8];
        snprintf(k, sizeof k, "n%d", i);
        put(x, e, ns, k, "v", 0);
    }
    assert_null(tenant_over_quota(x->r, e));
    assert_int_equal(stat_of(x, "q").keys, 23);
}

static void test_tenant_over_quota_bytes(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t id;
    assert_int_equal(add(x, "bq", "pw", 64, 0, &id), 0);
    tenant_ent *e = ent(x, "bq", "pw");
    ks_ns ns = {id, 0};
    char big[101];
    memset(big, 'x', 100);
    big[100] = 0;
    assert_null(tenant_over_quota(x->r, e)); /* empty */
    put(x, e, ns, "k", big, 0);                /* the write that crosses the quota is allowed */
    assert_string_equal(tenant_over_quota(x->r, e), "bytes");
    tenant_stat st = stat_of(x, "bq");
    assert_int_equal(st.bytes, string_bytes(1, 100, false));
    assert_int_equal(st.refused, 1);

    uint64_t mb = 200;
    assert_int_equal(tenant_set_quota(x->r, U8("bq"), 2, &mb, NULL), 0);
    assert_null(tenant_over_quota(x->r, e));
    /* with both quotas reached, the key quota is named */
    uint64_t mk = 1;
    mb = 10;
    assert_int_equal(tenant_set_quota(x->r, U8("bq"), 2, &mb, &mk), 0);
    assert_string_equal(tenant_over_quota(x->r, e), "keys");
    mk = 0;
    assert_int_equal(tenant_set_quota(x->r, U8("bq"), 2, NULL, &mk), 0);
    assert_string_equal(tenant_over_quota(x->r, e), "bytes");

    /* a tenant without quotas is never refused, whatever it writes */
    uint32_t fid;
    assert_int_equal(add(x, "free", "pw", 0, 0, &fid), 0);
    tenant_ent *f = ent(x, "free", "pw");
    for (int i = 0; i < 10; i++) put(x, f, (ks_ns){fid, 0}, "k", big, 0);
    assert_null(tenant_over_quota(x->r, f));
    assert_int_equal(stat_of(x, "free").refused, 0);
}

static void test_tenant_over_quota_after_reopen_scans_first(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t full, room;
    assert_int_equal(add(x, "full", "pw", 0, 2, &full), 0);
    assert_int_equal(add(x, "room", "pw", 0, 5, &room), 0);
    put(x, NULL, (ks_ns){full, 0}, "a", "v", 0);
    put(x, NULL, (ks_ns){full, 1}, "b", "v", 0);
    put(x, NULL, (ks_ns){room, 0}, "a", "v", 0);
    reopen(x);
    /* nothing known about usage after a start: the first check scans, so a full tenant is refused
     * and one with room is not */
    assert_string_equal(tenant_over_quota(x->r, ent(x, "full", "pw")), "keys");
    assert_null(tenant_over_quota(x->r, ent(x, "room", "pw")));
    assert_int_equal(stat_of(x, "full").refused, 1);
}

/* A quota set on a tenant that had none must apply to the data it already has. */
static void test_tenant_quota_set_at_runtime_applies_to_existing_data(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t id;
    assert_int_equal(add(x, "late", "pw", 0, 0, &id), 0);
    tenant_ent *e = ent(x, "late", "pw");
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        put(x, e, (ks_ns){id, 0}, k, "v", 0);
    }
    uint64_t mk = 3;
    assert_int_equal(tenant_set_quota(x->r, U8("late"), 4, NULL, &mk), 0);
    const char *got = tenant_over_quota(x->r, e);
    assert_non_null(got);
    assert_string_equal(got, "keys");
}

/* TENANT DEL retires the id: the compaction filter drops every key under it (all databases, all
 * spaces), and the retirement survives a re-ADD of the name and a reopen; neighbours stay. */
static void test_tenant_del_drops_its_data_with_compactions(void **state) {
    fx *x = *state;
    open_reg(x);
    uint32_t a, b;
    assert_int_equal(add(x, "a", "pw", 0, 0, &a), 0);
    assert_int_equal(add(x, "b", "pw", 0, 0, &b), 0);
    for (int i = 0; i < 200; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        put(x, NULL, (ks_ns){a, (uint8_t)(i % 3)}, k, "payload-of-a", 0);
        put(x, NULL, (ks_ns){b, 0}, k, "payload-of-b", 0);
    }
    put(x, NULL, (ks_ns){0, 0}, "admin", "v", 0);
    assert_int_equal(ks_compact(x->k), 0);
    uint64_t keys, bytes;
    assert_int_equal(ks_tenant_usage(x->k, a, &keys, &bytes), 0);
    assert_int_equal(keys, 200);

    assert_int_equal(del(x, "a"), 0);
    /* deleting is O(1): the keys are still on disk until compactions pass */
    assert_int_equal(ks_compact(x->k), 0);
    assert_int_equal(ks_tenant_usage(x->k, a, &keys, &bytes), 0);
    assert_true(keys == 0 && bytes == 0);
    assert_int_equal(ks_tenant_usage(x->k, b, &keys, &bytes), 0);
    assert_int_equal(keys, 200);
    assert_int_equal(ks_tenant_usage(x->k, 0, &keys, &bytes), 0);
    assert_true(keys >= 1);

    /* keys that reach the retired id later (a command that was running during the delete, or data
     * a crash left behind) go too, even after the name is re-added and the database reopened */
    uint32_t a2;
    assert_int_equal(add(x, "a", "pw2", 0, 0, &a2), 0);
    assert_true(a2 > a);
    reopen(x);
    put(x, NULL, (ks_ns){a, 0}, "late", "write", 0);
    put(x, NULL, (ks_ns){a2, 0}, "fresh", "kept", 0);
    assert_int_equal(ks_compact(x->k), 0);
    assert_int_equal(ks_tenant_usage(x->k, a, &keys, &bytes), 0);
    assert_int_equal(keys, 0);
    assert_int_equal(ks_tenant_usage(x->k, a2, &keys, &bytes), 0);
    assert_int_equal(keys, 1);
    /* the default tenant and reserved ids cannot be retired */
    assert_int_equal(ks_tenant_retire(x->k, 0), KS_EINVAL);
    assert_int_equal(ks_tenant_retire(x->k, KS_SYS_TENANT), KS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_short_vectors),
        cmocka_unit_test(test_sha256_padding_boundaries_at_every_split),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test_setup_teardown(test_tenant_config_tenants_are_created_at_first_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_add_del_passwd_quota_and_their_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_ids_are_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_runtime_changes_persist_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_config_file_meets_runtime_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_damaged_record_fails_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_stat_counts_exact_keys_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_over_quota_estimates_then_rescans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_over_quota_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_over_quota_after_reopen_scans_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_quota_set_at_runtime_applies_to_existing_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_del_drops_its_data_with_compactions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
