/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit's JSON text: the writer against what Python's json.dump() writes
 * (separators, indent=4, ensure_ascii), the strict parser (values, byte
 * offsets of errors, surrogates) and the round trip of bytes that are not
 * UTF-8.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/macro.h"
#include "crit/json-out.h"
#include "crit/json-parse.h"

static void build(struct json_out *o)
{
	json_obj_begin(o);
	json_key(o, "magic");
	json_cstr(o, "PSTREE");
	json_key(o, "entries");
	json_arr_begin(o);
	json_obj_begin(o);
	json_key(o, "pid");
	json_u64(o, UINT64_MAX);
	json_key(o, "neg");
	json_i64(o, INT64_MIN);
	json_key(o, "ok");
	json_bool(o, true);
	json_key(o, "empty");
	json_arr_begin(o);
	json_arr_end(o);
	json_key(o, "obj");
	json_obj_begin(o);
	json_obj_end(o);
	json_obj_end(o);
	json_arr_end(o);
	json_obj_end(o);
}

static void test_plain_and_pretty_layout(void **state)
{
	struct json_out o;

	(void)state;
	assert_int_equal(json_out_init(&o, false, 0), 0);
	build(&o);
	assert_int_equal(o.error, 0);
	assert_int_equal(o.len, strlen("{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": "
				       "18446744073709551615, \"neg\": -9223372036854775808, "
				       "\"ok\": true, \"empty\": [], \"obj\": {}}]}"));
	assert_memory_equal(
		o.buf,
		"{\"magic\": \"PSTREE\", \"entries\": [{\"pid\": 18446744073709551615, "
		"\"neg\": -9223372036854775808, \"ok\": true, \"empty\": [], \"obj\": {}}]}",
		o.len);
	json_out_fini(&o);

	assert_int_equal(json_out_init(&o, true, 0), 0);
	build(&o);
	json_raw(&o, "", 0);
	{
		static const char want[] = "{\n"
					   "    \"magic\": \"PSTREE\",\n"
					   "    \"entries\": [\n"
					   "        {\n"
					   "            \"pid\": 18446744073709551615,\n"
					   "            \"neg\": -9223372036854775808,\n"
					   "            \"ok\": true,\n"
					   "            \"empty\": [],\n"
					   "            \"obj\": {}\n"
					   "        }\n"
					   "    ]\n"
					   "}";

		assert_int_equal(o.len, sizeof(want) - 1);
		assert_memory_equal(o.buf, want, o.len);
	}
	json_out_fini(&o);
}

static void check_str(const char *in, size_t len, const char *want)
{
	struct json_out o;

	assert_int_equal(json_out_init(&o, false, 0), 0);
	json_str(&o, in, len);
	assert_int_equal(o.len, strlen(want));
	assert_memory_equal(o.buf, want, o.len);
	json_out_fini(&o);
}

#define STR(lit, want) check_str(lit, sizeof(lit) - 1, want)

static void test_string_escapes(void **state)
{
	(void)state;
	/* what json.dumps() gives for the same Python str */
	STR("plain /path", "\"plain /path\"");
	STR("q\"b\\n\n\r\t\b\f", "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\"");
	STR("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	STR("\0x", "\"\\u0000x\"");
	STR("d\xc3\xa9j\xc3\xa0 \xe2\x98\x83", "\"d\\u00e9j\\u00e0 \\u2603\"");
	STR("\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\"");
	/* not UTF-8: surrogateescape, byte by byte */
	STR("\xff\xc3(\xed\xa0\x80\xc0\xaf",
	    "\"\\udcff\\udcc3(\\udced\\udca0\\udc80\\udcc0\\udcaf\"");
}

static const struct jv *parse_ok(const char *text, struct json_doc **doc)
{
	struct json_error err = {};

	assert_int_equal(json_parse(text, strlen(text), doc, &err), 0);
	return json_doc_root(*doc);
}

static void test_parse_values(void **state)
{
	_cleanup_json_doc_ struct json_doc *doc = NULL;
	const struct jv *root, *v;

	(void)state;
	root = parse_ok(
		"\xef\xbb\xbf { \"a\" : [1, -0, 18446744073709551615, 1.5e3, true, false, null],"
		"\"s\": \"x\\u00e9\\ud83d\\ude00\\/\\udcff\", \"o\": {}} \n",
		&doc);
	assert_int_equal(root->type, JV_OBJECT);
	assert_int_equal(root->obj.n, 3);
	assert_int_equal(root->offset, 4);
	v = jv_get(root, "a");
	assert_non_null(v);
	assert_int_equal(v->type, JV_ARRAY);
	assert_int_equal(v->arr.n, 7);
	assert_int_equal(v->arr.items[2].type, JV_NUMBER);
	assert_int_equal(v->arr.items[2].num.len, 20);
	assert_memory_equal(v->arr.items[2].num.text, "18446744073709551615", 20);
	assert_true(v->arr.items[2].num.integer);
	assert_false(v->arr.items[3].num.integer);
	assert_int_equal(v->arr.items[4].type, JV_BOOL);
	assert_true(v->arr.items[4].b);
	assert_int_equal(v->arr.items[6].type, JV_NULL);
	v = jv_get(root, "s");
	assert_int_equal(v->type, JV_STRING);
	/* \udcff is the byte 0xff again */
	assert_int_equal(v->str.len, 9);
	assert_memory_equal(v->str.s, "x\xc3\xa9\xf0\x9f\x98\x80/\xff", 9);
	assert_int_equal(jv_get(root, "o")->obj.n, 0);
	assert_null(jv_get(root, "nope"));
}

static void check_error(const char *text, size_t len, size_t offset)
{
	struct json_doc *doc = NULL;
	struct json_error err = {};

	assert_int_equal(json_parse(text, len, &doc, &err), -EINVAL);
	assert_null(doc);
	assert_non_null(err.what);
	if (err.offset != offset)
		fail_msg("%s: error at %zu (%s), %zu expected", text, err.offset, err.what, offset);
}

#define BAD(lit, off) check_error(lit, sizeof(lit) - 1, off)

static void test_parse_errors(void **state)
{
	(void)state;
	BAD("", 0);
	BAD("  ", 2);
	BAD("{\"a\": 1,}", 8);
	BAD("[1 2]", 3);
	BAD("{\"a\" 1}", 5);
	BAD("{1: 2}", 1);
	BAD("[01]", 2);
	BAD("[1.]", 3);
	BAD("[1e]", 3);
	BAD("[-]", 1);
	BAD("[+1]", 1);
	BAD("[tru]", 1);
	BAD("\"abc", 0);
	BAD("\"a\tb\"", 2);
	BAD("\"a\\x\"", 2);
	BAD("\"\\u12g4\"", 5);
	BAD("\"\\ud800\"", 1);
	BAD("\"\\ude00x\"", 1);
	BAD("\"\xff\"", 1);
	BAD("\"\xc3\"", 1);
	BAD("{} {}", 3);
	BAD("[1] x", 4);
	BAD("NaN", 0);
}

static void test_parse_depth(void **state)
{
	char deep[2000];

	(void)state;
	memset(deep, '[', sizeof(deep));
	check_error(deep, sizeof(deep), 256);
}

static void test_bytes_round_trip(void **state)
{
	/* every byte value: json_str then the parser gives the same bytes back */
	_cleanup_json_doc_ struct json_doc *doc = NULL;
	struct json_error err = {};
	struct json_out o;
	char all[256];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	assert_int_equal(json_out_init(&o, false, 0), 0);
	json_str(&o, all, sizeof(all));
	assert_int_equal(json_parse(o.buf, o.len, &doc, &err), 0);
	assert_int_equal(json_doc_root(doc)->str.len, 256);
	assert_memory_equal(json_doc_root(doc)->str.s, all, 256);
	json_out_fini(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_pretty_layout),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_bytes_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
