/* resp_bench.c -- micro-benchmark of the request parser and the reply encoder.
 *
 * 1. parse: one buffer holding N pipelined "SET key:NNNNNN <100-byte value>" multibulk requests
 *    (about 150 MB for the default 1M), parsed request by request as a connection would after one
 *    huge read: zero-copy, so this measures header scanning and argv bookkeeping only.
 * 2. parse-split: the same stream fed in 16 KiB reads (Redis's PROTO_IOBUF_LEN), with the
 *    unconsumed tail of each read moved to the front of the buffer as a connection does.
 * 3. reply: N "+OK" shared replies and N 100-byte bulk replies appended to a reply_buf that is
 *    drained every 16 KiB, as the write path would.
 * Usage: strata-resp-bench [requests]   (default 1000000) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reply.h"
#include "resp.h"

#define VALUE_BYTES 100
#define READ_BYTES (16 << 10)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(const char *what, size_t n, double secs, size_t bytes) {
    printf("%-12s %9zu ops  %8.1f ns/op  %12.0f ops/s", what, n, secs * 1e9 / (double)n,
           (double)n / secs);
    if (bytes) printf("  %8.1f MB/s", (double)bytes / secs / 1e6);
    printf("\n");
}

/* Builds the pipeline; returns its length. */
static size_t build(uint8_t **out, size_t n) {
    size_t per = 4 + 4 + 5 + 5 + 12 + 6 + VALUE_BYTES + 2; /* *3 $3 SET $10 key:NNNNNN $100 v */
    uint8_t *buf = malloc(n * per);
    if (!buf) return 0;
    uint8_t *w = buf;
    char value[VALUE_BYTES];
    for (int j = 0; j < VALUE_BYTES; j++) value[j] = (char)('a' + j % 26);
    for (size_t i = 0; i < n; i++) {
        memcpy(w, "*3\r\n$3\r\nSET\r\n$10\r\nkey:", 22);
        w += 22;
        size_t k = i % 1000000;
        for (int d = 5; d >= 0; d--, k /= 10) w[d] = (uint8_t)('0' + k % 10);
        w += 6;
        memcpy(w, "\r\n$100\r\n", 8);
        w += 8;
        value[0] = (char)('A' + i % 26);
        memcpy(w, value, VALUE_BYTES);
        w += VALUE_BYTES;
        memcpy(w, "\r\n", 2);
        w += 2;
    }
    *out = buf;
    return (size_t)(w - buf);
}

static int bench_parse(const uint8_t *buf, size_t len, size_t n) {
    resp_parser *p = resp_parser_new(NULL);
    if (!p) return 1;
    size_t off = 0, got = 0, checksum = 0;
    double t0 = now_s();
    for (;;) {
        resp_argv a;
        size_t used;
        const char *err;
        int rc = resp_parse(p, buf + off, len - off, &a, &used, &err);
        off += used;
        if (rc != RESP_OK) {
            if (rc != RESP_NEED_MORE) {
                fprintf(stderr, "resp_bench: parse error: %s\n", err);
                return 1;
            }
            break;
        }
        checksum += a.argvlen[2] + a.argv[1][9];
        got++;
    }
    double secs = now_s() - t0;
    resp_parser_free(p);
    if (got != n || off != len) {
        fprintf(stderr, "resp_bench: parsed %zu of %zu requests\n", got, n);
        return 1;
    }
    report("parse", n, secs, len);
    return checksum == 0; /* keeps the loop's reads alive */
}

static int bench_parse_split(const uint8_t *src, size_t len, size_t n) {
    resp_parser *p = resp_parser_new(NULL);
    uint8_t *buf = malloc(2 * READ_BYTES);
    if (!p || !buf) return 1;
    size_t fill = 0, srcoff = 0, got = 0;
    double t0 = now_s();
    while (srcoff < len) {
        size_t r = len - srcoff < READ_BYTES ? len - srcoff : READ_BYTES; /* one "read" */
        memcpy(buf + fill, src + srcoff, r);
        fill += r;
        srcoff += r;
        size_t off = 0;
        for (;;) {
            resp_argv a;
            size_t used;
            const char *err;
            int rc = resp_parse(p, buf + off, fill - off, &a, &used, &err);
            off += used;
            if (rc == RESP_OK) {
                got++;
                continue;
            }
            if (rc != RESP_NEED_MORE) {
                fprintf(stderr, "resp_bench: parse error: %s\n", err);
                return 1;
            }
            break;
        }
        memmove(buf, buf + off, fill - off);
        fill -= off;
    }
    double secs = now_s() - t0;
    resp_parser_free(p);
    free(buf);
    if (got != n) {
        fprintf(stderr, "resp_bench: split parse got %zu of %zu requests\n", got, n);
        return 1;
    }
    report("parse-split", n, secs, len);
    return 0;
}

static int bench_reply(size_t n) {
    reply_buf rb;
    reply_buf_init(&rb, 2);
    char value[VALUE_BYTES];
    memset(value, 'v', sizeof value);
    size_t bytes = 0;
    for (int kind = 0; kind < 2; kind++) {
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            if (kind == 0) reply_shared(&rb, REPLY_SH_OK);
            else reply_bulk(&rb, value, sizeof value);
            if (rb.len >= READ_BYTES) { /* "write" it all */
                size_t k;
                reply_buf_unsent(&rb, &k);
                bytes += k;
                reply_buf_advance(&rb, k);
            }
        }
        double secs = now_s() - t0;
        report(kind == 0 ? "reply +OK" : "reply bulk", n, secs, 0);
    }
    int failed = rb.failed;
    reply_buf_destroy(&rb);
    return failed || bytes == 0;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0) n = 1;
    uint8_t *buf = NULL;
    size_t len = build(&buf, n);
    if (!len) {
        fprintf(stderr, "resp_bench: out of memory\n");
        return 1;
    }
    printf("resp_bench: %zu pipelined SET requests, %zu bytes (%.1f bytes each)\n", n, len,
           (double)len / (double)n);
    int rc = bench_parse(buf, len, n);
    rc |= bench_parse_split(buf, len, n);
    rc |= bench_reply(n);
    free(buf);
    return rc;
}
