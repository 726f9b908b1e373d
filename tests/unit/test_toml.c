/* test_toml.c -- net/toml: every value type, tables (dotted, implicit, arrays of tables, inline),
 * comments, string escapes, multi-line arrays and strings, and the exact "file:line: what" of
 * each kind of error, including the nesting bound. Pure parsing: no files. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

static toml_doc *parse_ok(const char *text) {
    char err[256];
    toml_doc *doc = NULL;
    int rc = toml_parse(text, strlen(text), "t.toml", &doc, err, sizeof err);
    if (rc != 0) print_error("unexpected parse error: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(doc);
    return doc;
}

static void parse_err(const char *text, const char *want) {
    char err[256];
    toml_doc *doc = (toml_doc *)&err; /* must be reset to NULL */
    int rc = toml_parse(text, strlen(text), "t.toml", &doc, err, sizeof err);
    assert_int_equal(rc, -1);
    assert_null(doc);
    assert_string_equal(err, want);
}

static const toml_node *get(const toml_doc *doc, const char *key) {
    const toml_node *n = toml_table_get(toml_root(doc), key);
    assert_non_null(n);
    return n;
}

static void test_toml_parses_every_value_type(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("s = \"text\"\n"
                             "i = 42\n"
                             "neg = -17\n"
                             "plus = +5\n"
                             "big = 1_000_000\n"
                             "max = 9223372036854775807\n"
                             "min = -9223372036854775808\n"
                             "hex = 0xDEAD_beef\n"
                             "oct = 0o755\n"
                             "bin = 0b1010\n"
                             "f = 3.25\n"
                             "e = -2e3\n"
                             "small = 6.626e-34\n"
                             "fu = 1_000.5\n"
                             "pinf = inf\n"
                             "ninf = -inf\n"
                             "nan = nan\n"
                             "t = true\n"
                             "no = false\n"
                             "arr = [1, 2, 3]\n"
                             "mixed = [1, \"two\", 3.0, [4]]\n"
                             "inl = { x = 1, y.z = \"deep\" }\n"
                             "empty = []\n");
    const toml_node *s = get(doc, "s");
    size_t len;
    assert_int_equal(toml_node_type(s), TOML_STRING);
    assert_string_equal(toml_string(s, &len), "text");
    assert_int_equal(len, 4);
    assert_int_equal(toml_node_line(s), 1);
    assert_int_equal(toml_int(get(doc, "i")), 42);
    assert_int_equal(toml_int(get(doc, "neg")), -17);
    assert_int_equal(toml_int(get(doc, "plus")), 5);
    assert_int_equal(toml_int(get(doc, "big")), 1000000);
    assert_true(toml_int(get(doc, "max")) == INT64_MAX);
    assert_true(toml_int(get(doc, "min")) == INT64_MIN);
    assert_int_equal(toml_int(get(doc, "hex")), 0xdeadbeef);
    assert_int_equal(toml_int(get(doc, "oct")), 0755);
    assert_int_equal(toml_int(get(doc, "bin")), 10);
    assert_int_equal(toml_node_type(get(doc, "f")), TOML_FLOAT);
    assert_true(toml_float(get(doc, "f")) == 3.25);
    assert_true(toml_float(get(doc, "e")) == -2000.0);
    assert_true(fabs(toml_float(get(doc, "small")) - 6.626e-34) < 1e-40);
    assert_true(toml_float(get(doc, "fu")) == 1000.5);
    assert_true(isinf(toml_float(get(doc, "pinf"))) && toml_float(get(doc, "pinf")) > 0);
    assert_true(isinf(toml_float(get(doc, "ninf"))) && toml_float(get(doc, "ninf")) < 0);
    assert_true(isnan(toml_float(get(doc, "nan"))));
    assert_int_equal(toml_node_type(get(doc, "t")), TOML_BOOL);
    assert_true(toml_bool(get(doc, "t")));
    assert_false(toml_bool(get(doc, "no")));

    const toml_node *arr = get(doc, "arr");
    assert_int_equal(toml_node_type(arr), TOML_ARRAY);
    assert_false(toml_is_table_array(arr));
    assert_int_equal(toml_array_len(arr), 3);
    assert_int_equal(toml_int(toml_array_at(arr, 2)), 3);
    assert_null(toml_array_at(arr, 3));
    const toml_node *mixed = get(doc, "mixed");
    assert_int_equal(toml_array_len(mixed), 4);
    assert_int_equal(toml_node_type(toml_array_at(mixed, 1)), TOML_STRING);
    assert_int_equal(toml_node_type(toml_array_at(mixed, 2)), TOML_FLOAT);
    assert_int_equal(toml_int(toml_array_at(toml_array_at(mixed, 3), 0)), 4);
    const toml_node *inl = get(doc, "inl");
    assert_int_equal(toml_node_type(inl), TOML_TABLE);
    assert_int_equal(toml_int(toml_table_get(inl, "x")), 1);
    assert_string_equal(toml_string(toml_table_get(toml_table_get(inl, "y"), "z"), NULL), "deep");
    assert_int_equal(toml_array_len(get(doc, "empty")), 0);
    assert_int_equal(toml_node_line(get(doc, "empty")), 23);
    toml_free(doc);
}

static void test_toml_strings_decode_escapes_and_keep_literals(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("a = \"q\\\" b\\\\ n\\n t\\t e\\u00e9 g\\U0001F600 \\b\\f\\r\"\n"
                             "lit = 'C:\\path\\no\\escapes \"ok\"'\n"
                             "nul = \"x\\u0000y\"\n"
                             "hash = \"# not a comment\" # a comment\n"
                             "ml = \"\"\"\nline one\nline two \\\n    joined\"\"\"\n"
                             "mll = '''\nraw \\n stays\n'''\n"
                             "q = \"\"\"two \"\"quotes\"\" \"\"\"\n"
                             "empty = \"\"\n");
    assert_string_equal(toml_string(get(doc, "a"), NULL),
                        "q\" b\\ n\n t\t e\xc3\xa9 g\xf0\x9f\x98\x80 \b\f\r");
    assert_string_equal(toml_string(get(doc, "lit"), NULL), "C:\\path\\no\\escapes \"ok\"");
    size_t len;
    const char *nul = toml_string(get(doc, "nul"), &len);
    assert_int_equal(len, 3);
    assert_memory_equal(nul, "x\0y", 3);
    assert_string_equal(toml_string(get(doc, "hash"), NULL), "# not a comment");
    assert_string_equal(toml_string(get(doc, "ml"), NULL), "line one\nline two joined");
    assert_int_equal(toml_node_line(get(doc, "ml")), 5);
    assert_string_equal(toml_string(get(doc, "mll"), NULL), "raw \\n stays\n");
    assert_int_equal(toml_node_line(get(doc, "mll")), 9); /* lines inside strings are counted */
    assert_string_equal(toml_string(get(doc, "q"), NULL), "two \"\"quotes\"\" ");
    assert_string_equal(toml_string(get(doc, "empty"), NULL), "");
    toml_free(doc);
}

static void test_toml_tables_dotted_headers_and_keys(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("top = 1\n"
                             "[server]\n"
                             "port = 6380\n"
                             "\"quoted key\" = 'q'\n"
                             "'lit.key' = 2\n"
                             "[a.b.c]\n"
                             "x = 1\n"
                             "[a]\n"            /* a was implicit: defining it now is fine */
                             "y = 2\n"
                             "[ a . b ]\n"      /* so was a.b */
                             "z = 3\n"
                             "[fruit]\n"
                             "apple.color = \"red\"\n"
                             "apple.taste.sweet = true\n"
                             "[fruit.apple.texture]\n" /* sub-table of a dotted-key table */
                             "smooth = true\n");
    const toml_node *root = toml_root(doc);
    assert_int_equal(toml_table_len(root), 4);
    const toml_node *v;
    assert_string_equal(toml_table_key(root, 0, &v), "top");
    assert_string_equal(toml_table_key(root, 1, NULL), "server");
    assert_string_equal(toml_table_key(root, 2, NULL), "a");
    assert_string_equal(toml_table_key(root, 3, NULL), "fruit");
    assert_null(toml_table_key(root, 4, NULL));

    const toml_node *server = get(doc, "server");
    assert_int_equal(toml_node_line(server), 2);
    assert_int_equal(toml_int(toml_table_get(server, "port")), 6380);
    assert_int_equal(toml_node_line(toml_table_get(server, "port")), 3);
    assert_string_equal(toml_string(toml_table_get(server, "quoted key"), NULL), "q");
    assert_int_equal(toml_int(toml_table_get(server, "lit.key")), 2);

    const toml_node *a = get(doc, "a");
    assert_int_equal(toml_node_line(a), 8); /* where it was defined, not first implied */
    assert_int_equal(toml_int(toml_table_get(a, "y")), 2);
    const toml_node *b = toml_table_get(a, "b");
    assert_int_equal(toml_node_line(b), 10);
    assert_int_equal(toml_int(toml_table_get(b, "z")), 3);
    assert_int_equal(toml_int(toml_table_get(toml_table_get(b, "c"), "x")), 1);

    const toml_node *apple = toml_table_get(get(doc, "fruit"), "apple");
    assert_string_equal(toml_string(toml_table_get(apple, "color"), NULL), "red");
    assert_true(toml_bool(toml_table_get(toml_table_get(apple, "taste"), "sweet")));
    assert_true(toml_bool(toml_table_get(toml_table_get(apple, "texture"), "smooth")));
    toml_free(doc);
}

static void test_toml_arrays_of_tables_keep_order_and_lines(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("[[tier]]\n"
                             "name = \"ssd\"\n"
                             "\n"
                             "[[tier]]\n"
                             "name = \"hdd\"\n"
                             "[tier.opts]\n" /* extends the last [[tier]] */
                             "direct = true\n"
                             "[[tier.sub]]\n"
                             "n = 1\n"
                             "[[tier.sub]]\n"
                             "n = 2\n");
    const toml_node *tier = get(doc, "tier");
    assert_true(toml_is_table_array(tier));
    assert_int_equal(toml_array_len(tier), 2);
    const toml_node *ssd = toml_array_at(tier, 0), *hdd = toml_array_at(tier, 1);
    assert_int_equal(toml_node_line(ssd), 1);
    assert_int_equal(toml_node_line(hdd), 4);
    assert_string_equal(toml_string(toml_table_get(ssd, "name"), NULL), "ssd");
    assert_null(toml_table_get(ssd, "opts"));
    assert_true(toml_bool(toml_table_get(toml_table_get(hdd, "opts"), "direct")));
    const toml_node *sub = toml_table_get(hdd, "sub");
    assert_int_equal(toml_array_len(sub), 2);
    assert_int_equal(toml_int(toml_table_get(toml_array_at(sub, 1), "n")), 2);
    assert_int_equal(toml_node_line(toml_array_at(sub, 1)), 10);
    toml_free(doc);
}

static void test_toml_comments_may_appear_anywhere_a_comment_may(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("# leading comment\n"
                             "   # indented comment\n"
                             "[server] # after a header\n"
                             "port = 1 # after a value\n"
                             "list = [ # after an opening bracket\n"
                             "  1, # after an element\n"
                             "  # on its own line\n"
                             "  2\n"
                             "] # after the close\n"
                             "#last line without newline");
    const toml_node *server = get(doc, "server");
    assert_int_equal(toml_int(toml_table_get(server, "port")), 1);
    const toml_node *list = toml_table_get(server, "list");
    assert_int_equal(toml_array_len(list), 2);
    assert_int_equal(toml_node_line(list), 5);
    toml_free(doc);
}

static void test_toml_multiline_nested_arrays_with_trailing_commas(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("bind = [\n"
                             "  \"127.0.0.1\",\n"
                             "  \"::1\",\n"
                             "]\n"
                             "m = [ [1, 2], [\n"
                             "  3,\n"
                             "  [4, [5,],],\n"
                             "], ]\n"
                             "after = 'x'\n");
    const toml_node *bind = get(doc, "bind");
    assert_int_equal(toml_array_len(bind), 2);
    assert_string_equal(toml_string(toml_array_at(bind, 1), NULL), "::1");
    assert_int_equal(toml_node_line(toml_array_at(bind, 1)), 3);
    const toml_node *m = get(doc, "m");
    assert_int_equal(toml_array_len(m), 2);
    const toml_node *second = toml_array_at(m, 1);
    assert_int_equal(toml_array_len(second), 2);
    const toml_node *inner = toml_array_at(toml_array_at(second, 1), 1);
    assert_int_equal(toml_int(toml_array_at(inner, 0)), 5);
    assert_int_equal(toml_node_line(get(doc, "after")), 9);
    toml_free(doc);
}

static void test_toml_crlf_bom_and_empty_documents(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("");
    assert_int_equal(toml_table_len(toml_root(doc)), 0);
    toml_free(doc);
    doc = parse_ok("\xef\xbb\xbf# bom\r\na = 1\r\n\r\n[t]\r\nb = [\r\n2\r\n]\r\n");
    assert_int_equal(toml_node_line(get(doc, "a")), 2);
    assert_int_equal(toml_node_line(get(doc, "t")), 4);
    assert_int_equal(toml_int(toml_array_at(toml_table_get(get(doc, "t"), "b"), 0)), 2);
    toml_free(doc);
    /* Not NUL-terminated: only len bytes are read. */
    char err[128];
    toml_doc *d2 = NULL;
    assert_int_equal(toml_parse("a = 1garbage", 5, "t.toml", &d2, err, sizeof err), 0);
    assert_int_equal(toml_int(toml_table_get(toml_root(d2), "a")), 1);
    toml_free(d2);
}

static void test_toml_errors_name_the_line_and_problem(void **state) {
    (void)state;
    /* missing '=' */
    parse_err("a = 1\nport 6380\n", "t.toml:2: expected '=' after key 'port', found '6'");
    parse_err("[s]\nport\n", "t.toml:2: expected '=' after key 'port', found end of line");
    parse_err("= 1\n", "t.toml:1: expected a key, found '='");
    /* bad strings */
    parse_err("a = 1\n\ns = \"abc\nb = 2\n", "t.toml:3: unterminated string (strings end on the line they start)");
    parse_err("s = \"bad \\q escape\"\n", "t.toml:1: invalid escape '\\q' in string");
    parse_err("s = \"\\u12\"\n", "t.toml:1: \\u escape needs 4 hex digits");
    parse_err("s = \"\\uD800\"\n", "t.toml:1: \\uD800 is not a Unicode scalar value");
    parse_err("x = 1\ns = \"\"\"never\nclosed\n", "t.toml:2: unterminated string");
    parse_err("s = 'tab\tok but bell \a no'\n", "t.toml:1: control character 0x07 in string");
    /* duplicate keys */
    parse_err("[t]\na = 1\nb = 2\na = 3\n", "t.toml:4: duplicate key 'a' (first defined on line 2)");
    parse_err("a.b = 1\na.b = 2\n", "t.toml:2: duplicate key 'a.b' (first defined on line 1)");
    parse_err("[a.b]\n[a]\nb = 1\n", "t.toml:3: duplicate key 'b' (first defined on line 1)");
    /* redefined tables */
    parse_err("[a]\nx = 1\n\n[a]\n", "t.toml:4: table 'a' is defined twice (first on line 1)");
    parse_err("[a.b]\n[a.b]\n", "t.toml:2: table 'a.b' is defined twice (first on line 1)");
    parse_err("a.b = 1\n[a]\n", "t.toml:2: table 'a' is defined twice (first on line 1)");
    parse_err("a = 1\n[a]\n", "t.toml:2: cannot define table 'a': it is already defined as an integer on line 1");
    parse_err("a = 1\n[a.b]\n", "t.toml:2: cannot define table 'a.b': 'a' is already defined as an integer on line 1");
    parse_err("a = [1]\n[[a]]\n",
              "t.toml:2: cannot define array of tables 'a': it is already defined as an array on line 1");
    parse_err("[[a]]\n[a]\n", "t.toml:2: cannot define table 'a': it is already defined as an array of tables on line 1");
    parse_err("a = {x = 1}\n[a.b]\n",
              "t.toml:2: cannot define table 'a.b': 'a' is already defined as an inline table on line 1");
    parse_err("a = {x = 1}\na.y = 2\n",
              "t.toml:2: cannot set key 'a.y': 'a' is already defined as an inline table on line 1");
    parse_err("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n",
              "t.toml:4: cannot set key 'b.c.t': 'b' is already defined as a table on line 1");
    /* unterminated arrays and inline tables */
    parse_err("a = 0\nx = [1,\n2,\n", "t.toml:2: unterminated array");
    parse_err("x = [1, 2\ny = 3\n", "t.toml:2: expected ',' or ']' in the array opened on line 1, found 'y'");
    parse_err("x = [1 2]\n", "t.toml:1: expected ',' or ']' in the array opened on line 1, found '2'");
    parse_err("x = {a = 1,\nb = 2}\n",
              "t.toml:1: unterminated inline table (it must close on the line it opens)");
    /* garbage after a value or header */
    parse_err("[server]\nport = 6380 6381\n", "t.toml:2: expected end of line after the value of 'port', found '6'");
    parse_err("s = \"a\" \"b\"\n", "t.toml:1: expected end of line after the value of 's', found '\"'");
    parse_err("[server] port = 1\n", "t.toml:1: expected end of line after the table header, found 'p'");
    parse_err("[server\n", "t.toml:1: expected ']' to close table header 'server', found end of line");
    parse_err("[[tier]\n", "t.toml:1: expected ']]' to close table header 'tier', found ']'");
    /* bad values */
    parse_err("a =\n", "t.toml:1: missing value");
    parse_err("a = # nothing\n", "t.toml:1: missing value");
    parse_err("a = hello\n", "t.toml:1: invalid value 'hello' (strings need quotes)");
    parse_err("a = 0123\n", "t.toml:1: invalid number '0123'");
    parse_err("a = 1__0\n", "t.toml:1: invalid number '1__0'");
    parse_err("a = 1.\n", "t.toml:1: invalid number '1.'");
    parse_err("a = 9223372036854775808\n", "t.toml:1: number '9223372036854775808' is out of range");
    parse_err("a = 1e999\n", "t.toml:1: number '1e999' is out of range");
    parse_err("a = 1979-05-27\n", "t.toml:1: dates and times are not supported ('1979-05-27')");
    parse_err("a = 1\nb = \xff\n", "t.toml:2: invalid UTF-8");
    parse_err("a = 1\rb = 2\n", "t.toml:1: carriage return not followed by a newline");
    parse_err("a = 1 # bell \a\n", "t.toml:1: control character 0x07 in comment");
}

/* Builds "a = " followed by depth '[' and depth ']'. */
static char *nested_arrays(int depth) {
    char *s = malloc((size_t)depth * 2 + 8);
    assert_non_null(s);
    char *w = s + sprintf(s, "a = ");
    for (int i = 0; i < depth; i++) *w++ = '[';
    for (int i = 0; i < depth; i++) *w++ = ']';
    *w++ = '\n';
    *w = '\0';
    return s;
}

static void test_toml_nesting_is_bounded(void **state) {
    (void)state;
    char *s = nested_arrays(TOML_MAX_DEPTH); /* the outermost array is depth 1 */
    toml_doc *doc = parse_ok(s);
    toml_free(doc);
    free(s);

    s = nested_arrays(TOML_MAX_DEPTH + 1);
    parse_err(s, "t.toml:1: nesting deeper than 32 levels");
    free(s);

    /* Far deeper input fails just as fast: no deep recursion. */
    s = nested_arrays(100000);
    parse_err(s, "t.toml:1: nesting deeper than 32 levels");
    free(s);

    char buf[4096];
    char *w = buf + sprintf(buf, "x = ");
    for (int i = 0; i < 40; i++) w += sprintf(w, "{a = ");
    w += sprintf(w, "1");
    for (int i = 0; i < 40; i++) *w++ = '}';
    *w = '\0';
    parse_err(buf, "t.toml:1: nesting deeper than 32 levels");

    w = buf + sprintf(buf, "[k");
    for (int i = 0; i < 40; i++) w += sprintf(w, ".k");
    sprintf(w, "]\n");
    parse_err(buf, "t.toml:1: key has more than 33 parts");

    w = buf + sprintf(buf, "[k");
    for (int i = 0; i < 32; i++) w += sprintf(w, ".k");
    sprintf(w, "]\n");
    parse_err(buf, "t.toml:1: nesting deeper than 32 levels");
}

static void test_toml_accessors_tolerate_null_and_wrong_types(void **state) {
    (void)state;
    toml_doc *doc = parse_ok("a = 1\n");
    const toml_node *a = get(doc, "a");
    assert_null(toml_table_get(a, "x"));
    assert_null(toml_table_get(NULL, "x"));
    assert_int_equal(toml_table_len(a), 0);
    assert_int_equal(toml_array_len(a), 0);
    assert_null(toml_array_at(a, 0));
    size_t len = 99;
    assert_null(toml_string(a, &len));
    assert_int_equal(len, 0);
    assert_int_equal(toml_int(NULL), 0);
    assert_false(toml_bool(a));
    assert_string_equal(toml_type_name(TOML_INT), "integer");
    assert_string_equal(toml_type_name(TOML_TABLE), "table");
    toml_free(doc);
    toml_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toml_parses_every_value_type),
        cmocka_unit_test(test_toml_strings_decode_escapes_and_keep_literals),
        cmocka_unit_test(test_toml_tables_dotted_headers_and_keys),
        cmocka_unit_test(test_toml_arrays_of_tables_keep_order_and_lines),
        cmocka_unit_test(test_toml_comments_may_appear_anywhere_a_comment_may),
        cmocka_unit_test(test_toml_multiline_nested_arrays_with_trailing_commas),
        cmocka_unit_test(test_toml_crlf_bom_and_empty_documents),
        cmocka_unit_test(test_toml_errors_name_the_line_and_problem),
        cmocka_unit_test(test_toml_nesting_is_bounded),
        cmocka_unit_test(test_toml_accessors_tolerate_null_and_wrong_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
