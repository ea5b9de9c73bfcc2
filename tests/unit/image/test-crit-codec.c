/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The text forms of crit: base64 and quoted-printable as Python writes
 * them (vectors made with Python 3.11's base64.encodebytes and
 * quopri.encodestring), Python's int(x, 0), flags, devices.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/render.h"

static void check_b64(const void *data, size_t len, const char *want)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *back = NULL;
	size_t tlen, blen, bad;

	assert_int_equal(b64_encode_lines(data, len, &text, &tlen), 0);
	assert_int_equal(tlen, strlen(want));
	assert_string_equal(text, want);
	assert_int_equal(b64_decode(text, tlen, &back, &blen, &bad), 0);
	assert_int_equal(blen, len);
	assert_memory_equal(back, data, len);
}

static void test_base64_lines(void **state)
{
	uint8_t seq[114];

	(void)state;
	for (size_t i = 0; i < sizeof(seq); i++)
		seq[i] = (uint8_t)i;
	check_b64(seq, 0, "");
	check_b64(seq, 1, "AA==\n");
	check_b64(seq, 2, "AAE=\n");
	check_b64(seq, 3, "AAEC\n");
	/* 57 bytes make one full line of 76 characters */
	check_b64(seq, 57,
		  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\n");
	check_b64(seq, 58,
		  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\n"
		  "OQ==\n");
	check_b64(seq, 114,
		  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\n"
		  "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\n");
	check_b64("hello through the pipe", 23, "aGVsbG8gdGhyb3VnaCB0aGUgcGlwZQA=\n");
}

static void test_base64_decode_errors(void **state)
{
	static const struct {
		const char *text;
		size_t bad_at;
	} bad[] = {
		{"YW!j", 2}, {"YWJ", 3}, {"Y===", 1}, {"YQ==YQ==", 4}, {"YQ=", 3}, {"=", 0},
	};
	uint8_t *data;
	size_t len, at;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		at = 999;
		assert_int_equal(b64_decode(bad[i].text, strlen(bad[i].text), &data, &len, &at),
				 -EINVAL);
		assert_int_equal(at, bad[i].bad_at);
	}
	/* whitespace is skipped anywhere */
	assert_int_equal(b64_decode(" Y W\nJ j\r\n", 10, &data, &len, &at), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
}

static void check_qp(const char *data, size_t len, const char *want)
{
	_cleanup_free_ char *text = NULL;
	size_t tlen;

	assert_int_equal(qp_encode((const uint8_t *)data, len, &text, &tlen), 0);
	assert_int_equal(tlen, strlen(want));
	assert_string_equal(text, want);
}

#define QP(lit, want) check_qp(lit, sizeof(lit) - 1, want)

static void test_quoted_printable(void **state)
{
	_cleanup_free_ uint8_t *back = NULL;
	size_t len;

	(void)state;
	QP("", "");
	QP("\0abc=def", "=00abc=3Ddef");
	QP("trailing space ", "trailing space=20");
	QP("tab\there\t", "tab\there=09");
	QP("line1 \nline2\t\nend", "line1=20\nline2=09\nend");
	QP("crlf\r\nline =\r\n", "crlf\r\nline =3D\r\n");
	QP(".", "=2E");
	QP(".\nx", "=2E\nx");
	QP("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\naaaaa");
	QP("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=",
	   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\n=3D");
	QP("\xff\xfe utf \xc3\xa9", "=FF=FE utf =C3=A9");
	QP("a\rb", "a\rb");

	/* decoding: soft breaks vanish, lone '=' and bad hex stay */
	assert_int_equal(qp_decode("ab=\ncd=3d=3D=zz=", 16, &back, &len), 0);
	assert_int_equal(len, 9);
	assert_memory_equal(back, "abcd===zz", 9);
}

static void check_pyint(const char *s, int want_r, bool want_neg, uint64_t want)
{
	bool neg = !want_neg;
	uint64_t v = ~want;

	assert_int_equal(crit_parse_pyint(s, strlen(s), &neg, &v), want_r);
	if (want_r == 0) {
		assert_int_equal(neg, want_neg);
		assert_true(v == want);
	}
}

static void test_python_int(void **state)
{
	(void)state;
	check_pyint("0", 0, false, 0);
	check_pyint("00", 0, false, 0);
	check_pyint(" 42 ", 0, false, 42);
	check_pyint("-17", 0, true, 17);
	check_pyint("+0x1F", 0, false, 31);
	check_pyint("0X_ff", 0, false, 255);
	check_pyint("0o17", 0, false, 15);
	check_pyint("0b101", 0, false, 5);
	check_pyint("1_000", 0, false, 1000);
	check_pyint("0xffffffffffffffff", 0, false, UINT64_MAX);
	check_pyint("18446744073709551615", 0, false, UINT64_MAX);
	check_pyint("18446744073709551616", -ERANGE, false, 0);
	check_pyint("012", -EINVAL, false, 0);
	check_pyint("1__0", -EINVAL, false, 0);
	check_pyint("10_", -EINVAL, false, 0);
	check_pyint("_10", -EINVAL, false, 0);
	check_pyint("0x", -EINVAL, false, 0);
	check_pyint("0b2", -EINVAL, false, 0);
	check_pyint("", -EINVAL, false, 0);
	check_pyint("12a", -EINVAL, false, 0);
}

static void test_flags(void **state)
{
	const struct crit_flag_map *prot = crit_flag_map_find("mmap.prot");
	const struct crit_flag_map *status = crit_flag_map_find("mmap.status");
	char buf[256];
	uint64_t v;

	(void)state;
	assert_non_null(prot);
	assert_null(crit_flag_map_find("no.such"));
	assert_int_equal(crit_flags_format(prot, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	crit_flags_format(prot, 5, buf, sizeof(buf));
	assert_string_equal(buf, "PROT_READ | PROT_EXEC");
	crit_flags_format(prot, 0x41, buf, sizeof(buf));
	assert_string_equal(buf, "PROT_READ | 0x40");
	crit_flags_format(prot, 0x40, buf, sizeof(buf));
	assert_string_equal(buf, "0x40");
	/* VMA_AREA_NONE (0) never shows */
	crit_flags_format(status, 0x201, buf, sizeof(buf));
	assert_string_equal(buf, "VMA_AREA_REGULAR | VMA_ANON_PRIVATE");
	assert_int_equal(crit_flags_format(prot, 7, buf, 10), -ENOBUFS);

	assert_int_equal(crit_flags_parse(prot, "", 0, &v), 0);
	assert_true(v == 0);
	assert_int_equal(crit_flags_parse(prot, "PROT_READ | 0x40|PROT_EXEC ", 27, &v), 0);
	assert_true(v == 0x45);
	assert_int_equal(crit_flags_parse(prot, "PROT_NOPE", 9, &v), -EINVAL);
	assert_int_equal(crit_flags_parse(prot, "PROT_READ |", 11, &v), -EINVAL);
}

static void test_dev_and_dict(void **state)
{
	const struct crit_dict_field *st = crit_dict_find("sk", "state");
	char buf[64];
	uint64_t dev;
	int64_t v;

	(void)state;
	crit_dev_format(2u << 20 | 5, false, buf, sizeof(buf));
	assert_string_equal(buf, "2:5");
	crit_dev_format(0x0801, true, buf, sizeof(buf));
	assert_string_equal(buf, "8:1");
	assert_int_equal(crit_dev_parse("2:5", 3, false, &dev), 0);
	assert_true(dev == (2u << 20 | 5));
	assert_int_equal(crit_dev_parse(" 259 : 65536", 12, true, &dev), 0);
	crit_dev_format(dev, true, buf, sizeof(buf));
	assert_string_equal(buf, "259:65536");
	assert_int_equal(crit_dev_parse("2", 1, false, &dev), -EINVAL);
	assert_int_equal(crit_dev_parse("2:0x5", 5, false, &dev), -EINVAL);
	assert_int_equal(crit_dev_parse("1:1048576", 9, false, &dev), -ERANGE);

	assert_non_null(st);
	assert_null(crit_dict_find("sk", "nosuchfield"));
	assert_string_equal(crit_dict_name(st, 10), "LISTEN");
	assert_null(crit_dict_name(st, 42));
	assert_true(crit_dict_value(st, "CLOSE", 5, &v));
	assert_int_equal(v, 7);
	assert_false(crit_dict_value(st, "CLOS", 4, &v));
	assert_string_equal(crit_dict_name(crit_dict_find("gen", "task_state"), 6), "Zombie");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_lines),
		cmocka_unit_test(test_base64_decode_errors),
		cmocka_unit_test(test_quoted_printable),
		cmocka_unit_test(test_python_int),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_dev_and_dict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
