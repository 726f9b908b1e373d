/* test_coding.c -- engine/util: varints, fixed-width little-endian integers, st_buf, length-prefixed
 * slices, internal-key order and parsing, status names and error recording. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/coding.h"
#include "util/err.h"
#include "util/ikey.h"

/* ---- varints ----------------------------------------------------------------------------------- */

static const uint64_t varint_values[] = {
    0, 1, 127, 128, 255, 300, 16383, 16384, 2097151, 2097152,
    UINT32_MAX - 1, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_C(1) << 56, (UINT64_C(1) << 63) - 1,
    UINT64_C(1) << 63, UINT64_MAX - 1, UINT64_MAX,
};
#define N_VARINT_VALUES (sizeof varint_values / sizeof varint_values[0])

static int expected_varint_len(uint64_t v) {
    int n = 1;
    for (; v >= 128; v >>= 7) n++;
    return n;
}

static void test_varint64_round_trips_at_boundaries(void **state) {
    (void)state;
    for (size_t i = 0; i < N_VARINT_VALUES; i++) {
        uint64_t v = varint_values[i];
        uint8_t buf[ST_VARINT64_MAX + 1];
        memset(buf, 0xee, sizeof buf);
        uint8_t *end = st_put_varint64(buf, v);
        int len = (int)(end - buf);
        assert_int_equal(len, expected_varint_len(v));
        assert_int_equal(st_varint_len(v), len);
        assert_true(len <= ST_VARINT64_MAX);
        assert_int_equal(buf[len], 0xee); /* wrote nothing past its length */

        uint64_t got = ~v;
        const uint8_t *p = st_get_varint64(buf, buf + len, &got);
        assert_ptr_equal(p, buf + len);
        assert_true(got == v);
    }
}

static void test_varint_encodings_are_leb128(void **state) {
    (void)state;
    uint8_t buf[ST_VARINT64_MAX];
    assert_int_equal(st_put_varint64(buf, 0) - buf, 1);
    assert_int_equal(buf[0], 0x00);
    assert_int_equal(st_put_varint64(buf, 127) - buf, 1);
    assert_int_equal(buf[0], 0x7f);
    assert_int_equal(st_put_varint64(buf, 128) - buf, 2);
    assert_int_equal(buf[0], 0x80);
    assert_int_equal(buf[1], 0x01);
    assert_int_equal(st_put_varint64(buf, 300) - buf, 2);
    assert_int_equal(buf[0], 0xac);
    assert_int_equal(buf[1], 0x02);

    static const uint8_t u32max[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(st_put_varint32(buf, UINT32_MAX) - buf, 5);
    assert_memory_equal(buf, u32max, sizeof u32max);

    static const uint8_t u64max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(st_put_varint64(buf, UINT64_MAX) - buf, ST_VARINT64_MAX);
    assert_memory_equal(buf, u64max, sizeof u64max);
}

static void test_varint32_round_trips_and_rejects_wider_values(void **state) {
    (void)state;
    static const uint32_t values[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX - 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t buf[ST_VARINT32_MAX];
        uint8_t *end = st_put_varint32(buf, values[i]);
        assert_true(end - buf <= ST_VARINT32_MAX);
        uint32_t got = ~values[i];
        assert_ptr_equal(st_get_varint32(buf, end, &got), end);
        assert_int_equal(got, values[i]);
    }
    /* A well-formed varint64 above UINT32_MAX is not a varint32. */
    uint8_t buf[ST_VARINT64_MAX];
    uint32_t got = 7;
    uint8_t *end = st_put_varint64(buf, (uint64_t)UINT32_MAX + 1);
    assert_null(st_get_varint32(buf, end, &got));
    end = st_put_varint64(buf, UINT64_MAX);
    assert_null(st_get_varint32(buf, end, &got));
    assert_int_equal(got, 7); /* untouched on failure */
}

static void test_truncated_varint_returns_null(void **state) {
    (void)state;
    for (size_t i = 0; i < N_VARINT_VALUES; i++) {
        uint8_t buf[ST_VARINT64_MAX];
        int len = (int)(st_put_varint64(buf, varint_values[i]) - buf);
        for (int cut = 0; cut < len; cut++) {
            uint64_t got = 42;
            assert_null(st_get_varint64(buf, buf + cut, &got));
            assert_true(got == 42);
        }
    }
    /* Every byte has its continuation bit set: never terminates within the range. */
    uint8_t cont[4] = {0x80, 0x81, 0xff, 0x80};
    uint32_t v32;
    assert_null(st_get_varint32(cont, cont + sizeof cont, &v32));
}

static void test_overlong_varint64_returns_null(void **state) {
    (void)state;
    /* Eleven bytes: ten continuation bytes then a terminator -- longer than any uint64. */
    uint8_t buf[ST_VARINT64_MAX + 1];
    memset(buf, 0x80, ST_VARINT64_MAX);
    buf[ST_VARINT64_MAX] = 0x00;
    uint64_t got = 42;
    assert_null(st_get_varint64(buf, buf + sizeof buf, &got));
    assert_true(got == 42);
    memset(buf, 0xff, sizeof buf);
    assert_null(st_get_varint64(buf, buf + sizeof buf, &got));
}

static void test_varint_decode_stops_at_its_last_byte(void **state) {
    (void)state;
    uint8_t buf[3 * ST_VARINT64_MAX];
    uint8_t *p = st_put_varint64(buf, 300);
    p = st_put_varint64(p, 0);
    p = st_put_varint64(p, UINT64_MAX);
    const uint8_t *q = buf;
    uint64_t a, b, c;
    q = st_get_varint64(q, p, &a);
    assert_non_null(q);
    q = st_get_varint64(q, p, &b);
    assert_non_null(q);
    q = st_get_varint64(q, p, &c);
    assert_ptr_equal(q, p);
    assert_true(a == 300 && b == 0 && c == UINT64_MAX);
}

/* ---- fixed-width --------------------------------------------------------------------------------- */

static void test_fixed_ints_are_little_endian(void **state) {
    (void)state;
    uint8_t buf[9];
    memset(buf, 0, sizeof buf);
    st_put_fixed16(buf + 1, 0x0201); /* odd offset: no alignment assumed */
    assert_int_equal(buf[1], 0x01);
    assert_int_equal(buf[2], 0x02);
    assert_int_equal(st_get_fixed16(buf + 1), 0x0201);

    static const uint8_t le32[] = {0x04, 0x03, 0x02, 0x01};
    st_put_fixed32(buf + 1, 0x01020304u);
    assert_memory_equal(buf + 1, le32, sizeof le32);
    assert_int_equal(st_get_fixed32(buf + 1), 0x01020304u);

    static const uint8_t le64[] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
    st_put_fixed64(buf + 1, UINT64_C(0x0102030405060708));
    assert_memory_equal(buf + 1, le64, sizeof le64);
    assert_true(st_get_fixed64(buf + 1) == UINT64_C(0x0102030405060708));
    assert_int_equal(buf[0], 0); /* neighbours untouched */
}

static void test_fixed_ints_round_trip_extremes(void **state) {
    (void)state;
    uint8_t buf[8];
    static const uint32_t v32[] = {0, 1, 0x80, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof v32 / sizeof v32[0]; i++) {
        st_put_fixed32(buf, v32[i]);
        assert_int_equal(st_get_fixed32(buf), v32[i]);
    }
    static const uint64_t v64[] = {0, 1, 0x80, UINT64_C(0x8000000000000000), UINT64_MAX};
    for (size_t i = 0; i < sizeof v64 / sizeof v64[0]; i++) {
        st_put_fixed64(buf, v64[i]);
        assert_true(st_get_fixed64(buf) == v64[i]);
    }
    st_put_fixed16(buf, UINT16_MAX);
    assert_int_equal(st_get_fixed16(buf), UINT16_MAX);
}

/* ---- st_buf -------------------------------------------------------------------------------------- */

static void test_buf_grows_and_keeps_its_bytes(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);

    size_t last_cap = 0;
    int grew = 0;
    for (size_t i = 0; i < 10000; i++) {
        uint8_t c = (uint8_t)(i * 7);
        assert_int_equal(st_buf_append(&b, &c, 1), 0);
        assert_int_equal(b.len, i + 1);
        assert_true(b.cap >= b.len);
        if (b.cap != last_cap) grew++;
        last_cap = b.cap;
    }
    assert_true(grew > 1 && grew < 20); /* geometric growth, not one realloc per byte */
    for (size_t i = 0; i < 10000; i++) assert_int_equal(b.data[i], (uint8_t)(i * 7));

    st_slice s = st_buf_slice(&b);
    assert_ptr_equal(s.data, b.data);
    assert_int_equal(s.len, 10000);

    size_t cap = b.cap;
    st_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* clear keeps the memory */

    st_buf_destroy(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    st_buf_destroy(&b); /* destroying twice is harmless */
}

static void test_buf_reserve_makes_room_without_changing_len(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    assert_int_equal(st_buf_append(&b, "abc", 3), 0);
    assert_int_equal(st_buf_reserve(&b, 5000), 0);
    assert_int_equal(b.len, 3);
    assert_true(b.cap - b.len >= 5000);
    uint8_t *data = b.data;
    assert_int_equal(st_buf_append(&b, NULL, 0), 0); /* empty append needs no source */
    uint8_t big[5000];
    memset(big, 'x', sizeof big);
    assert_int_equal(st_buf_append(&b, big, sizeof big), 0);
    assert_ptr_equal(b.data, data); /* the reservation was used: no move */
    assert_memory_equal(b.data, "abc", 3);
    assert_memory_equal(b.data + 3, big, sizeof big);
    st_buf_destroy(&b);
}

static void test_buf_reserve_overflow_is_enomem(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    assert_int_equal(st_buf_append(&b, "a", 1), 0);
    /* len + extra wraps around: must fail without allocating or touching the bytes. */
    assert_int_equal(st_buf_reserve(&b, SIZE_MAX), ST_ENOMEM);
    assert_int_equal(st_buf_append(&b, "b", SIZE_MAX), ST_ENOMEM);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 'a');
    st_buf_destroy(&b);
}

static void test_buf_appends_encoded_integers(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    assert_int_equal(st_buf_append_fixed32(&b, 0x01020304u), 0);
    assert_int_equal(st_buf_append_fixed64(&b, UINT64_C(0x1112131415161718)), 0);
    assert_int_equal(st_buf_append_varint64(&b, 300), 0);
    assert_int_equal(st_buf_append_varint64(&b, UINT64_MAX), 0);
    assert_int_equal(b.len, 4 + 8 + 2 + 10);
    assert_int_equal(st_get_fixed32(b.data), 0x01020304u);
    assert_true(st_get_fixed64(b.data + 4) == UINT64_C(0x1112131415161718));
    uint64_t v;
    const uint8_t *p = st_get_varint64(b.data + 12, b.data + b.len, &v);
    assert_true(v == 300);
    p = st_get_varint64(p, b.data + b.len, &v);
    assert_true(v == UINT64_MAX);
    assert_ptr_equal(p, b.data + b.len);
    st_buf_destroy(&b);
}

/* ---- length-prefixed slices ---------------------------------------------------------------------- */

static void test_lenprefixed_round_trips(void **state) {
    (void)state;
    char long_str[200];
    memset(long_str, 'q', sizeof long_str);
    st_buf b;
    st_buf_init(&b);
    assert_int_equal(st_buf_append_lenprefixed(&b, st_slice_str("hello")), 0);
    assert_int_equal(st_buf_append_lenprefixed(&b, st_slice_make(NULL, 0)), 0);
    assert_int_equal(st_buf_append_lenprefixed(&b, st_slice_make(long_str, sizeof long_str)), 0);
    assert_int_equal(b.len, 1 + 5 + 1 + 2 + 200); /* a 200-byte slice needs a 2-byte length */
    assert_int_equal(b.data[0], 5);
    assert_memory_equal(b.data + 1, "hello", 5);
    assert_int_equal(b.data[6], 0);

    const uint8_t *p = b.data, *limit = b.data + b.len;
    st_slice s;
    p = st_get_lenprefixed(p, limit, &s);
    assert_non_null(p);
    assert_int_equal(s.len, 5);
    assert_memory_equal(s.data, "hello", 5);
    assert_ptr_equal(s.data, b.data + 1); /* a view into the input, not a copy */
    p = st_get_lenprefixed(p, limit, &s);
    assert_non_null(p);
    assert_int_equal(s.len, 0);
    p = st_get_lenprefixed(p, limit, &s);
    assert_ptr_equal(p, limit);
    assert_int_equal(s.len, sizeof long_str);
    assert_memory_equal(s.data, long_str, sizeof long_str);
    st_buf_destroy(&b);
}

static void test_truncated_lenprefixed_returns_null(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    char body[200];
    memset(body, 'z', sizeof body);
    assert_int_equal(st_buf_append_lenprefixed(&b, st_slice_make(body, sizeof body)), 0);
    st_slice s = {NULL, 0};
    /* Every proper prefix fails: inside the 2-byte length, and inside the body. */
    for (size_t cut = 0; cut < b.len; cut++)
        assert_null(st_get_lenprefixed(b.data, b.data + cut, &s));
    assert_non_null(st_get_lenprefixed(b.data, b.data + b.len, &s));
    /* A length above UINT32_MAX is not a varint32 length. */
    uint8_t huge[ST_VARINT64_MAX + 1];
    uint8_t *end = st_put_varint64(huge, (uint64_t)UINT32_MAX + 1);
    assert_null(st_get_lenprefixed(huge, end, &s));
    st_buf_destroy(&b);
}

/* ---- internal keys ------------------------------------------------------------------------------- */

/* Builds an internal key into b (cleared first) and returns a view of it. */
static st_slice ik(st_buf *b, const char *ukey, size_t ulen, uint64_t seq, int kind) {
    st_buf_clear(b);
    assert_int_equal(st_ikey_append(b, st_slice_make(ukey, ulen), seq, kind), 0);
    return st_buf_slice(b);
}

static void test_ikey_same_user_key_newer_seq_sorts_first(void **state) {
    (void)state;
    st_buf x, y;
    st_buf_init(&x);
    st_buf_init(&y);
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 5, ST_KIND_PUT), ik(&y, "k", 1, 3, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 3, ST_KIND_PUT), ik(&y, "k", 1, 5, ST_KIND_DEL)) > 0);
    assert_true(st_ikey_cmp(ik(&x, "k", 1, ST_SEQ_MAX, ST_KIND_DEL), ik(&y, "k", 1, 0, ST_KIND_PUT)) < 0);
    /* Seq 256 vs 1: the tag is compared as a number, not as little-endian bytes. */
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 256, ST_KIND_PUT), ik(&y, "k", 1, 1, ST_KIND_PUT)) < 0);
    /* Same seq: the higher kind first, so a lookup key (SEEK) precedes every stored entry at it. */
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 7, ST_KIND_PUT), ik(&y, "k", 1, 7, ST_KIND_DEL)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 7, ST_KIND_SEEK), ik(&y, "k", 1, 7, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "k", 1, 7, ST_KIND_SEEK), ik(&y, "k", 1, 8, ST_KIND_DEL)) > 0);
    assert_int_equal(st_ikey_cmp(ik(&x, "k", 1, 7, ST_KIND_PUT), ik(&y, "k", 1, 7, ST_KIND_PUT)), 0);
    st_buf_destroy(&x);
    st_buf_destroy(&y);
}

static void test_ikey_different_user_keys_sort_bytewise(void **state) {
    (void)state;
    st_buf x, y;
    st_buf_init(&x);
    st_buf_init(&y);
    /* The user key decides, whatever the sequence numbers. */
    assert_true(st_ikey_cmp(ik(&x, "a", 1, 1, ST_KIND_PUT), ik(&y, "b", 1, 100, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "b", 1, 100, ST_KIND_PUT), ik(&y, "a", 1, 1, ST_KIND_DEL)) > 0);
    /* Bytes are unsigned: 0x80 sorts after 0x7f; 0x00 is an ordinary byte. */
    assert_true(st_ikey_cmp(ik(&x, "\x7f", 1, 1, ST_KIND_PUT), ik(&y, "\x80", 1, 1, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "a\x00", 2, 1, ST_KIND_PUT), ik(&y, "a\x01", 2, 9, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "\xff", 1, 1, ST_KIND_PUT), ik(&y, "\x00\xff", 2, 1, ST_KIND_PUT)) > 0);
    st_buf_destroy(&x);
    st_buf_destroy(&y);
}

static void test_ikey_prefix_user_key_sorts_first(void **state) {
    (void)state;
    st_buf x, y;
    st_buf_init(&x);
    st_buf_init(&y);
    /* A plain memcmp of whole internal keys would compare "ab"'s tag bytes with "abc"'s 'c'. */
    assert_true(st_ikey_cmp(ik(&x, "ab", 2, ST_SEQ_MAX, ST_KIND_PUT), ik(&y, "abc", 3, 1, ST_KIND_PUT)) < 0);
    assert_true(st_ikey_cmp(ik(&x, "abc", 3, 1, ST_KIND_PUT), ik(&y, "ab", 2, 0, ST_KIND_DEL)) > 0);
    assert_true(st_ikey_cmp(ik(&x, "a", 1, 5, ST_KIND_PUT), ik(&y, "a\x00", 2, 5, ST_KIND_PUT)) < 0);
    /* The empty user key sorts before everything. */
    assert_true(st_ikey_cmp(ik(&x, "", 0, 1, ST_KIND_PUT), ik(&y, "\x00", 1, ST_SEQ_MAX, ST_KIND_PUT)) < 0);
    st_buf_destroy(&x);
    st_buf_destroy(&y);
}

static void test_ikey_parse_splits_user_key_seq_and_kind(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    st_ikey_parts parts;
    st_slice k = ik(&b, "user", 4, 123456789, ST_KIND_PUT);
    assert_int_equal(k.len, 4 + ST_IKEY_TAG_BYTES);
    assert_true(st_ikey_parse(k, &parts));
    assert_int_equal(parts.ukey.len, 4);
    assert_memory_equal(parts.ukey.data, "user", 4);
    assert_true(parts.seq == 123456789);
    assert_int_equal(parts.kind, ST_KIND_PUT);
    assert_int_equal(st_slice_cmp(st_ikey_user(k), st_slice_str("user")), 0);
    assert_true(st_ikey_seq(k) == 123456789);

    /* The tag is fixed64 LE (seq << 8 | kind): the kind byte comes first. */
    assert_int_equal(k.data[4], ST_KIND_PUT);

    k = ik(&b, "", 0, ST_SEQ_MAX, ST_KIND_DEL);
    assert_true(st_ikey_parse(k, &parts));
    assert_int_equal(parts.ukey.len, 0);
    assert_true(parts.seq == ST_SEQ_MAX);
    assert_int_equal(parts.kind, ST_KIND_DEL);
    st_buf_destroy(&b);
}

static void test_ikey_parse_rejects_short_keys(void **state) {
    (void)state;
    uint8_t bytes[ST_IKEY_TAG_BYTES];
    st_put_fixed64(bytes, st_ikey_tag(1, ST_KIND_PUT));
    st_ikey_parts parts;
    /* Shorter than a tag, even when the bytes present would be a valid tag prefix. */
    for (size_t len = 0; len < ST_IKEY_TAG_BYTES; len++)
        assert_false(st_ikey_parse(st_slice_make(bytes, len), &parts));
    assert_true(st_ikey_parse(st_slice_make(bytes, ST_IKEY_TAG_BYTES), &parts));
}

static void test_ikey_parse_rejects_unknown_kinds(void **state) {
    (void)state;
    st_buf b;
    st_buf_init(&b);
    st_ikey_parts parts;
    /* Everything but DEL and PUT, including SEEK: lookup keys are never stored. */
    static const int bad[] = {0, 3, 4, 0x7f, 0x80, 0xfe, ST_KIND_SEEK};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(st_ikey_parse(ik(&b, "key", 3, 9, bad[i]), &parts));
    assert_true(st_ikey_parse(ik(&b, "key", 3, 9, ST_KIND_DEL), &parts));
    assert_true(st_ikey_parse(ik(&b, "key", 3, 9, ST_KIND_PUT), &parts));
    st_buf_destroy(&b);
}

/* ---- status names and error recording ------------------------------------------------------------ */

static void test_strerror_names_every_code(void **state) {
    (void)state;
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {ST_OK, "ST_OK"},         {ST_ENOTFOUND, "ST_ENOTFOUND"}, {ST_EINVAL, "ST_EINVAL"},
        {ST_ENOMEM, "ST_ENOMEM"}, {ST_EIO, "ST_EIO"},             {ST_ENOSPC, "ST_ENOSPC"},
        {ST_ECORRUPT, "ST_ECORRUPT"}, {ST_EBUSY, "ST_EBUSY"},     {ST_EFATAL, "ST_EFATAL"},
        {ST_EEXIST, "ST_EEXIST"},
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = st_strerror(codes[i].code);
        assert_non_null(s);
        size_t len = strlen(codes[i].name);
        /* "ST_EIO: ..." -- the name, then a colon, so ST_EIO is not matched by ST_EIO_X. */
        assert_int_equal(strncmp(s, codes[i].name, len), 0);
        assert_int_equal(s[len], ':');
        for (size_t j = 0; j < i; j++) assert_string_not_equal(s, st_strerror(codes[j].code));
    }
    /* Codes outside the enum still get a static string. */
    assert_non_null(st_strerror(1));
    assert_non_null(st_strerror(-100));
    assert_string_equal(st_strerror(-100), st_strerror(12345));
    assert_null(strstr(st_strerror(-100), "ST_OK"));
}

static void test_err_records_where_and_why(void **state) {
    (void)state;
    int line = __LINE__ + 1;
    int rc = st_err(ST_ECORRUPT, "sst %d: bad checksum at %llu", 7, 4096ULL);
    assert_int_equal(rc, ST_ECORRUPT);
    char want[128];
    snprintf(want, sizeof want, "test_coding.c:%d: sst 7: bad checksum at 4096", line);
    assert_string_equal(st_errmsg(), want);

    /* A message longer than the slot is truncated, never overflowed. */
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(st_err(ST_EIO, "%s", big), ST_EIO);
    assert_true(strlen(st_errmsg()) < sizeof big - 1);
    assert_non_null(strstr(st_errmsg(), "mmmm"));
}

static void test_err_from_errno_maps_the_io_convention(void **state) {
    (void)state;
    assert_int_equal(st_err_from_errno(-ENOSPC), ST_ENOSPC);
    assert_int_equal(st_err_from_errno(-EDQUOT), ST_ENOSPC);
    assert_int_equal(st_err_from_errno(-ENOMEM), ST_ENOMEM);
    assert_int_equal(st_err_from_errno(-ENOENT), ST_ENOTFOUND);
    assert_int_equal(st_err_from_errno(-EIO), ST_EIO);
    assert_int_equal(st_err_from_errno(-EACCES), ST_EIO);
    assert_int_equal(st_err_from_errno(-EBADF), ST_EIO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint64_round_trips_at_boundaries),
        cmocka_unit_test(test_varint_encodings_are_leb128),
        cmocka_unit_test(test_varint32_round_trips_and_rejects_wider_values),
        cmocka_unit_test(test_truncated_varint_returns_null),
        cmocka_unit_test(test_overlong_varint64_returns_null),
        cmocka_unit_test(test_varint_decode_stops_at_its_last_byte),
        cmocka_unit_test(test_fixed_ints_are_little_endian),
        cmocka_unit_test(test_fixed_ints_round_trip_extremes),
        cmocka_unit_test(test_buf_grows_and_keeps_its_bytes),
        cmocka_unit_test(test_buf_reserve_makes_room_without_changing_len),
        cmocka_unit_test(test_buf_reserve_overflow_is_enomem),
        cmocka_unit_test(test_buf_appends_encoded_integers),
        cmocka_unit_test(test_lenprefixed_round_trips),
        cmocka_unit_test(test_truncated_lenprefixed_returns_null),
        cmocka_unit_test(test_ikey_same_user_key_newer_seq_sorts_first),
        cmocka_unit_test(test_ikey_different_user_keys_sort_bytewise),
        cmocka_unit_test(test_ikey_prefix_user_key_sorts_first),
        cmocka_unit_test(test_ikey_parse_splits_user_key_seq_and_kind),
        cmocka_unit_test(test_ikey_parse_rejects_short_keys),
        cmocka_unit_test(test_ikey_parse_rejects_unknown_kinds),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_err_records_where_and_why),
        cmocka_unit_test(test_err_from_errno_maps_the_io_convention),
    };
    return cmocka_run_group_tests_name("coding", tests, NULL, NULL);
}
