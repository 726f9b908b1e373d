/* gen_corpus.c -- writes the seed corpora of tests/fuzz (corpus/<target>/): real, valid inputs
 * made by the engine's own writers (block and table builders, the WAL, the MANIFEST's log writer
 * and edit encoder) and by a real database run, plus hand-written RESP streams and TOML files.
 *
 * Usage: fuzz_gen_corpus OUT_DIR [EXTRA.toml...]   (tests/fuzz/README.md, "Seeds")
 * Each file starts with the flag byte its target reads (see the target's header comment). Tables
 * carry a random per-file checksum base and a creation time, so a rerun changes their bytes but
 * not their shape. The files are committed, so CI never runs this. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/write_batch.h"
#include "fuzz_common.h"
#include "io/io.h"
#include "strata/st.h"
#include "table/block_builder.h"
#include "table/sstable_builder.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "version/filename.h"
#include "version/version_edit.h"
#include "wal/log_writer.h"
#include "wal/wal.h"

static const char *out_root;

static void die(const char *what) {
    fprintf(stderr, "gen_corpus: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void mkdir_p(const char *d) {
    if (mkdir(d, 0755) && errno != EEXIST) die(d);
}

/* Writes corpus/<target>/<name>: the flag byte then body. */
static void seed(const char *target, const char *name, int flag, const void *body, size_t n) {
    char dir[FZ_PATH_MAX], path[FZ_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s", out_root, target);
    mkdir_p(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) die(path);
    if (flag >= 0) fputc(flag, f);
    if (n && fwrite(body, 1, n, f) != n) die(path);
    if (fclose(f)) die(path);
}

static void read_file(const char *path, st_buf *out) {
    char *d;
    size_t n;
    if (st_io_read_all(path, &d, &n)) die(path);
    st_buf_clear(out);
    FZ_CHECK(st_buf_append(out, d, n) == 0);
    free(d);
}

/* ---- RESP ---------------------------------------------------------------------------------- */

/* A RESP seed: the setup byte (limits profile bits 0-1, unauth bit 2, "wanted" splits bit 3, split
 * count bits 4-7), the split bytes, then the stream. */
static void resp_seed(const char *name, int setup, const char *splits, const char *stream, size_t n) {
    size_t ns = (size_t)(setup >> 4) & 15;
    st_buf b;
    st_buf_init(&b);
    uint8_t c = (uint8_t)setup;
    FZ_CHECK(st_buf_append(&b, &c, 1) == 0 && st_buf_append(&b, splits, ns) == 0 &&
             st_buf_append(&b, stream, n) == 0);
    seed("fuzz_resp", name, -1, b.data, b.len);
    st_buf_destroy(&b);
}
#define RESP_SEED(name, setup, splits, lit) resp_seed(name, setup, splits, lit, sizeof lit - 1)

static void gen_resp(void) {
    RESP_SEED("multibulk", 0x00, "",
              "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
    RESP_SEED("multibulk-split", 0x31, "\x00\x05\x11",
              "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
    RESP_SEED("inline", 0x11, "\x02", "PING\r\nSET k \"a b\\x41\\n\" 'it\\'s'\r\nGET k\nECHO \"\\t\"\r\n\r\n");
    RESP_SEED("empty-requests", 0x00, "", "*0\r\n*-1\r\n\r\n   \r\n*1\r\n$4\r\nPING\r\n");
    RESP_SEED("binary-arg", 0x12, "\x00", "*2\r\n$4\r\nECHO\r\n$6\r\n\0\r\n\xff\x01\x02\r\n");
    RESP_SEED("expected-dollar", 0x01, "", "*2\r\n$3\r\nGET\r\n:12\r\n");
    RESP_SEED("bad-bulk-len", 0x00, "", "*1\r\n$-5\r\nxx\r\n");
    RESP_SEED("unbalanced-quotes", 0x00, "", "SET \"open\r\n");
    RESP_SEED("too-big-inline", 0x02, "", "SET key 0123456789012345678901234567890123456789\r\n");
    /* an unauthenticated client: 11 arguments is one too many */
    st_buf b;
    st_buf_init(&b);
    FZ_CHECK(st_buf_append(&b, "*11\r\n", 5) == 0);
    for (int i = 0; i < 11; i++) FZ_CHECK(st_buf_append(&b, "$1\r\nx\r\n", 7) == 0);
    resp_seed("unauth-too-many", 0x04, "", (const char *)b.data, b.len);
    /* a big bulk read in steps of exactly resp_bytes_wanted() */
    st_buf_clear(&b);
    const char *big = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000\r\n";
    FZ_CHECK(st_buf_append(&b, big, strlen(big)) == 0);
    for (int i = 0; i < 3000; i++) FZ_CHECK(st_buf_append(&b, "v", 1) == 0);
    FZ_CHECK(st_buf_append(&b, "\r\n*1\r\n$4\r\nPING\r\n", 16) == 0);
    resp_seed("big-bulk-wanted", 0x1b, "\x28", (const char *)b.data, b.len);
    st_buf_destroy(&b);
}

/* ---- config ---------------------------------------------------------------------------------- */

static void gen_config(int nextra, char **extra) {
    static const char minimal[] = "[server]\nport = 7000\ndir = \"/var/lib/strata\"\n";
    static const char full[] =
        "# every kind of value the parser knows\n"
        "[server]\n"
        "bind = [\"127.0.0.1\", \"::1\"]\n"
        "port = 0x1a2b\n"
        "appendfsync = 'always'\n"
        "workers = 2\n"
        "memory_limit = \"512 MiB\"\n"
        "requirepass = \"s3cr\\u00e9t\\t\"\n"
        "maxclients = 1_000\n"
        "slowlog_log_slower_than = -1\n"
        "loglevel = \"warning\"\n"
        "logfile = '''\n/tmp/strata.log'''\n"
        "[engine]\n"
        "write_buffer = 1048576\n"
        "block_size = \"16kb\"\n"
        "codec = \"zstd\"\n"
        "zstd_level = -3\n"
        "level0_stop_writes_trigger = 40\n"
        "[[tier]]\n"
        "name = \"fast\"\n"
        "dir = \"fast\"\n"
        "levels = [0, 2]\n"
        "high_watermark = 9e-1\n"
        "low_watermark = 0.5\n"
        "[[tier]]\n"
        "name = \"slow\"\n"
        "dir = \"/mnt/slow\"\n"
        "first_level = 3\n"
        "direct_io = true\n"
        "capacity = \"2TiB\"\n"
        "[[tenant]]\n"
        "name = \"acme\"\n"
        "password = \"pw\"\n"
        "max_keys = 1000\n";
    static const char toml_only[] =
        "a.b.c = { x = 1, y = [1.5, inf, -nan, +0.0], z = \"\"\"\nmulti\\\n  line\"\"\" }\n"
        "\"quoted key\" = 0o755\n"
        "'lit' = 0b1010\n"
        "arr = [ [1, 2], [\"x\"], [], { k = true } , ]\n"
        "[t1.'sub table']\n"
        "k = false # comment\n"
        "[[t2]]\n"
        "[[t2]]\n"
        "e = \"\\U0001F600\"\n";
    static const char bad[] = "[server]\nport = 70000\n";
    seed("fuzz_config", "minimal.toml", -1, minimal, sizeof minimal - 1);
    seed("fuzz_config", "full.toml", -1, full, sizeof full - 1);
    seed("fuzz_config", "toml-syntax.toml", -1, toml_only, sizeof toml_only - 1);
    seed("fuzz_config", "out-of-range.toml", -1, bad, sizeof bad - 1);
    for (int i = 0; i < nextra; i++) {
        st_buf b;
        st_buf_init(&b);
        read_file(extra[i], &b);
        const char *base = strrchr(extra[i], '/');
        seed("fuzz_config", base ? base + 1 : extra[i], -1, b.data, b.len);
        st_buf_destroy(&b);
    }
    static const char flags[] = "--port\0" "7001\0" "--bind\0" "127.0.0.1\0" "::1\0" "--memory-limit=64mb\0"
                                "--appendfsync\0" "no\0" "--requirepass\0" "\0";
    seed("fuzz_config", "flags", 0x01, flags, sizeof flags - 1);
    static const char sets[] = "maxclients\0" "100\0" "hz\0" "50\0" "requirepass\0" "secret\0"
                               "loglevel\0" "debug\0" "proto-max-bulk-len\0" "2mb\0" "port\0" "1\0"
                               "slowlog_*\0" "x\0" "save\0" "";
    seed("fuzz_config", "config-set", 0x02, sets, sizeof sets - 1);
}

/* ---- WAL ------------------------------------------------------------------------------------- */

/* A WAL of `nbatches` batches of `ops` operations each, values of vlen bytes. */
static void wal_seed(const char *scratch, const char *name, int flag, int nbatches, int ops, size_t vlen) {
    char path[ST_PATH_MAX];
    st_fn_log(path, scratch, 100);
    unlink(path);
    st_wal *w;
    FZ_CHECK(st_wal_open(path, 100, &w) == 0);
    st_batch *b;
    FZ_CHECK(st_batch_new(&b) == 0);
    char *val = malloc(vlen + 1);
    FZ_CHECK(val);
    memset(val, 'v', vlen);
    uint64_t seq = 1;
    for (int i = 0; i < nbatches; i++) {
        st_batch_clear(b);
        for (int j = 0; j < ops; j++) {
            char key[32];
            snprintf(key, sizeof key, "user:%d:%d", i, j);
            if (j % 4 == 3) FZ_CHECK(st_batch_delete(b, st_slice_str(key)) == 0);
            else FZ_CHECK(st_batch_put(b, st_slice_str(key), st_slice_make(val, vlen)) == 0);
        }
        st_batch_set_seq(b, seq);
        seq += (uint64_t)ops;
        FZ_CHECK(st_wal_append(w, st_slice_make(b->rep.data, b->rep.len), seq - 1) == 0);
    }
    FZ_CHECK(st_wal_close(w, true) == 0);
    st_batch_free(b);
    free(val);
    st_buf d;
    st_buf_init(&d);
    read_file(path, &d);
    seed("fuzz_wal", name, flag, d.data, d.len);
    st_buf_destroy(&d);
    unlink(path);
}

static void gen_wal(const char *scratch) {
    /* flag byte: bit 0 strict, bit 1 fix checksums */
    wal_seed(scratch, "one-batch", 0x00, 1, 3, 5);
    wal_seed(scratch, "many-batches", 0x02, 40, 2, 8);
    wal_seed(scratch, "strict", 0x01, 5, 4, 20);
    /* one batch larger than a block: FIRST, MIDDLE, LAST fragments */
    wal_seed(scratch, "fragmented", 0x02, 1, 1, 40000);
    /* enough small batches to cross a block boundary with a trailer */
    wal_seed(scratch, "two-blocks", 0x00, 700, 1, 40);
}

/* ---- blocks and tables ---------------------------------------------------------------------- */

static void block_seed(const char *name, int restart, bool ikeys, int n) {
    st_block_builder bb;
    st_block_builder_init(&bb, restart);
    st_buf k;
    st_buf_init(&k);
    for (int i = 0; i < n; i++) {
        char ukey[32], val[32];
        snprintf(ukey, sizeof ukey, ikeys ? "user:%04d" : "prop_%04d", i);
        snprintf(val, sizeof val, "%d", i * 31);
        st_buf_clear(&k);
        if (ikeys) FZ_CHECK(st_ikey_append(&k, st_slice_str(ukey), (uint64_t)(1000 - i), ST_KIND_PUT) == 0);
        else FZ_CHECK(st_buf_append(&k, ukey, strlen(ukey)) == 0);
        FZ_CHECK(st_block_builder_add(&bb, st_buf_slice(&k), st_slice_str(val)) == 0);
    }
    st_slice out;
    FZ_CHECK(st_block_builder_finish(&bb, &out) == 0);
    /* flag byte: bit 0 set = bytewise order */
    seed("fuzz_sst_block", name, ikeys ? 0x00 : 0x01, out.data, out.len);
    st_buf_destroy(&k);
    st_block_builder_destroy(&bb);
}

static void gen_blocks(void) {
    block_seed("data-restart16", 16, true, 40);
    block_seed("data-restart2", 2, true, 9);
    block_seed("index-restart1", 1, true, 12);
    block_seed("meta-bytewise", 1, false, 6);
    block_seed("empty", 16, true, 0);
}

static void table_seed(const char *scratch, const char *name, int flag, st_codec codec, int bloom, int n,
                       size_t vlen) {
    char path[ST_PATH_MAX];
    st_fn_table(path, scratch, 9);
    st_sst_opts o = {.block_bytes = 512, .restart_interval = 8, .bloom_bits_per_key = bloom, .codec = codec,
                     .zstd_level = 3};
    st_file *f;
    FZ_CHECK(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f) == 0);
    st_sst_builder *b;
    FZ_CHECK(st_sst_builder_new(f, &o, &b) == 0);
    st_buf k;
    st_buf_init(&k);
    char *val = malloc(vlen + 1);
    FZ_CHECK(val);
    for (int i = 0; i < n; i++) {
        char ukey[32];
        snprintf(ukey, sizeof ukey, "k%05d", i * 3);
        for (size_t j = 0; j < vlen; j++) val[j] = (char)('a' + (i + j / 7) % 26);
        st_buf_clear(&k);
        int kind = i % 11 == 5 ? ST_KIND_DEL : ST_KIND_PUT;
        FZ_CHECK(st_ikey_append(&k, st_slice_str(ukey), (uint64_t)(i + 1), kind) == 0);
        FZ_CHECK(st_sst_builder_add(b, st_buf_slice(&k), kind == ST_KIND_PUT ? st_slice_make(val, vlen)
                                                                              : st_slice_make(NULL, 0)) == 0);
    }
    FZ_CHECK(st_sst_builder_finish(b, NULL) == 0);
    st_sst_builder_free(b);
    FZ_CHECK(st_file_close(f) == 0);
    st_buf_destroy(&k);
    free(val);
    st_buf d;
    st_buf_init(&d);
    read_file(path, &d);
    seed("fuzz_sstable", name, flag, d.data, d.len);
    st_buf_destroy(&d);
    unlink(path);
}

static void gen_tables(const char *scratch) {
    /* flag byte: bit 0 fix checksums, bit 1 block cache, bit 2 table cache */
    table_seed(scratch, "plain", 0x00, ST_CODEC_NONE, 10, 60, 12);
    table_seed(scratch, "plain-fix-cached", 0x07, ST_CODEC_NONE, 10, 60, 12);
    table_seed(scratch, "lz4", 0x01, ST_CODEC_LZ4, 10, 80, 40);
    table_seed(scratch, "zstd", 0x03, ST_CODEC_ZSTD, 0, 80, 40);
    table_seed(scratch, "no-filter", 0x01, ST_CODEC_NONE, 0, 20, 4);
    table_seed(scratch, "empty", 0x00, ST_CODEC_NONE, 10, 0, 0);
    table_seed(scratch, "one-entry", 0x01, ST_CODEC_NONE, 10, 1, 3);
}

/* ---- MANIFEST ------------------------------------------------------------------------------ */

static void add_meta(st_version_edit *e, int level, uint64_t number, const st_sst_meta *m) {
    st_file_meta *f;
    FZ_CHECK(st_file_meta_new(&f) == 0);
    f->level = level;
    f->number = number;
    f->size = m->file_size;
    f->entries = m->entries;
    f->min_seq = m->min_seq;
    f->max_seq = m->max_seq;
    f->checksum = m->file_checksum;
    f->ctime = 1700000000;
    f->codec = ST_CODEC_NONE;
    FZ_CHECK(st_buf_append(&f->smallest, m->smallest.data, m->smallest.len) == 0);
    FZ_CHECK(st_buf_append(&f->largest, m->largest.data, m->largest.len) == 0);
    FZ_CHECK(st_edit_add_file(e, f) == 0);
    st_file_meta_unref(f);
}

/* A MANIFEST of the given edits (framed by the log writer) as a seed, and the same records
 * length-prefixed for the edit mode. */
static void manifest_seed(const char *scratch, const char *name, int flag, st_version_edit *edits, int n) {
    char path[ST_PATH_MAX];
    st_fn_manifest(path, scratch, 5);
    st_file *f;
    FZ_CHECK(st_file_open(path, ST_OPEN_WRITE | ST_OPEN_CREATE | ST_OPEN_TRUNC, &f) == 0);
    st_log_writer *w;
    FZ_CHECK(st_log_writer_new(f, &w) == 0);
    st_buf rec, raw;
    st_buf_init(&rec);
    st_buf_init(&raw);
    for (int i = 0; i < n; i++) {
        st_buf_clear(&rec);
        FZ_CHECK(st_edit_encode(&edits[i], &rec) == 0);
        FZ_CHECK(st_log_writer_add(w, st_buf_slice(&rec)) == 0);
        FZ_CHECK(st_buf_append_lenprefixed(&raw, st_buf_slice(&rec)) == 0);
    }
    FZ_CHECK(st_log_writer_sync(w) == 0);
    st_log_writer_free(w);
    st_buf d;
    st_buf_init(&d);
    read_file(path, &d);
    seed("fuzz_manifest", name, flag, d.data, d.len);
    char ename[128];
    snprintf(ename, sizeof ename, "%s-edits", name);
    seed("fuzz_manifest", ename, 0x01, raw.data, raw.len);
    st_buf_destroy(&d);
    st_buf_destroy(&rec);
    st_buf_destroy(&raw);
    unlink(path);
}

static void gen_manifests(const char *scratch) {
    /* The table fuzz_manifest puts in its database directory: same keys, same size. */
    char path[ST_PATH_MAX];
    st_sst_meta m;
    st_sst_meta_init(&m);
    fz_make_table(st_fn_table(path, scratch, FZ_TABLE_NUMBER), &m);
    unlink(path);

    /* flag byte: bit 0 edit mode, bit 1 fix checksums */
    st_version_edit e[4];
    for (int i = 0; i < 4; i++) st_edit_init(&e[i]);
    /* An open's snapshot: counters and the one table. */
    e[0].has_log_number = e[0].has_next_file = e[0].has_last_seq = true;
    e[0].log_number = 4;
    e[0].next_file = 10;
    e[0].last_seq = 300;
    add_meta(&e[0], 0, FZ_TABLE_NUMBER, &m);
    manifest_seed(scratch, "snapshot", 0x00, e, 1);
    /* Then a flush adds a table, a compaction moves both down and deletes them, one edit each. */
    e[1].has_log_number = e[1].has_next_file = true;
    e[1].log_number = 11;
    e[1].next_file = 13;
    add_meta(&e[1], 0, 12, &m);
    FZ_CHECK(st_edit_delete_file(&e[2], 0, 12) == 0);
    e[2].has_last_seq = true;
    e[2].last_seq = 400;
    manifest_seed(scratch, "flush-compact", 0x02, e, 3);
    FZ_CHECK(st_edit_delete_file(&e[3], 0, FZ_TABLE_NUMBER) == 0); /* a trivial move: same file, L3 */
    add_meta(&e[3], 3, FZ_TABLE_NUMBER, &m);
    manifest_seed(scratch, "move-down", 0x00, e, 4);
    for (int i = 0; i < 4; i++) st_edit_destroy(&e[i]);
    st_sst_meta_destroy(&m);
}

/* ---- a real database run: its MANIFEST and a live WAL --------------------------------------- */

static int find_files(const char *name, void *arg) {
    char **found = arg;
    uint64_t num;
    enum st_file_type t = st_fn_parse(name, &num);
    if (t == ST_FT_MANIFEST && !found[0]) found[0] = strdup(name);
    if (t == ST_FT_LOG && !found[1]) found[1] = strdup(name);
    return 0;
}

static void gen_db_run(const char *scratch) {
    char dir[ST_PATH_MAX];
    st_fn_join(dir, scratch, "db");
    mkdir_p(dir);
    st_options o;
    st_options_default(&o);
    o.write_buffer_bytes = 64 << 10;
    st_db *db;
    FZ_CHECK(st_db_open(dir, &o, &db) == 0);
    char key[32], val[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 200; i++) {
            snprintf(key, sizeof key, "key:%d", (i * 7919) % 1000);
            snprintf(val, sizeof val, "round %d value %d", round, i);
            FZ_CHECK(st_db_put(db, st_slice_str(key), st_slice_str(val)) == 0);
        }
        FZ_CHECK(st_db_flush(db) == 0);
    }
    FZ_CHECK(st_db_compact_range(db, NULL, NULL) == 0);
    for (int i = 0; i < 20; i++) { /* left in the WAL */
        snprintf(key, sizeof key, "tail:%d", i);
        FZ_CHECK(i % 5 ? st_db_put(db, st_slice_str(key), st_slice_str("x")) == 0
                       : st_db_delete(db, st_slice_str(key)) == 0);
    }
    char *found[2] = {NULL, NULL};
    FZ_CHECK(st_io_list_dir(dir, find_files, found) == 0);
    st_buf d;
    st_buf_init(&d);
    char path[ST_PATH_MAX];
    if (found[0]) { /* the engine's own MANIFEST (its tables are not there: recovery says so) */
        read_file(st_fn_join(path, dir, found[0]), &d);
        seed("fuzz_manifest", "db-run", 0x00, d.data, d.len);
    }
    if (found[1]) {
        read_file(st_fn_join(path, dir, found[1]), &d);
        if (d.len) seed("fuzz_wal", "db-run", 0x00, d.data, d.len);
    }
    st_buf_destroy(&d);
    free(found[0]);
    free(found[1]);
    FZ_CHECK(st_db_close(db) == 0);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_DIR [EXTRA.toml...]\n", argv[0]);
        return 2;
    }
    out_root = argv[1];
    mkdir_p(out_root);
    fz_io_posix();
    const char *scratch = fz_tmpdir();
    gen_resp();
    gen_config(argc - 2, argv + 2);
    gen_wal(scratch);
    gen_blocks();
    gen_tables(scratch);
    gen_manifests(scratch);
    gen_db_run(scratch);
    printf("seeds written under %s\n", out_root);
    return 0;
}
