/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pseudonym tables of `stasis image anonymize` (src/crit/anon-map.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/macro.h"
#include "crit/anon-map.h"

static char *path(struct anon_map *m, const char *p)
{
	char *s = NULL;

	assert_int_equal(anon_path(m, p, &s), 0);
	return s;
}

static void expect_path(struct anon_map *m, const char *orig, const char *want)
{
	_cleanup_free_ char *s = path(m, orig);

	assert_string_equal(s, want);
}

static void test_paths_keep_relations(void **state)
{
	_cleanup_anon_map_ struct anon_map *m = NULL;

	(void)state;
	assert_int_equal(anon_map_new(&m), 0);
	expect_path(m, "/home/ann/secret.txt", "/f1/f2/f3");
	expect_path(m, "/home/ann/other", "/f1/f2/f4");
	expect_path(m, "/home/ann/secret.txt", "/f1/f2/f3");
	expect_path(m, "/home/bob/secret.txt", "/f1/f5/f6"); /* same name, other directory */
	expect_path(m, "relative/ann", "f7/f8");
	expect_path(m, "/home/./ann/../x/", "/f1/./f9/../f10/");
	expect_path(m, "/", "/");
	expect_path(m, "", "");
	expect_path(m, "/dev/null", "/dev/null");
	expect_path(m, "/tmp/secret", "/tmp/f11");
	expect_path(m, "/x/tmp", "/f12/f13"); /* only the whole kept path is kept */
}

static void test_names(void **state)
{
	_cleanup_anon_map_ struct anon_map *m = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

	(void)state;
	assert_int_equal(anon_map_new(&m), 0);
	assert_int_equal(anon_name(m, ANON_TASK, "secret-comm", &a), 0);
	assert_int_equal(anon_name(m, ANON_TASK, "other", &b), 0);
	assert_int_equal(anon_name(m, ANON_TASK, "secret-comm", &c), 0);
	assert_int_equal(anon_name(m, ANON_NAME, "secret-comm", &d), 0);
	assert_string_equal(a, "task1");
	assert_string_equal(b, "task2");
	assert_string_equal(c, "task1");
	assert_string_equal(d, "name1");
}

static void test_unix_names(void **state)
{
	_cleanup_anon_map_ struct anon_map *m = NULL;
	_cleanup_free_ uint8_t *a = NULL, *p = NULL, *e = NULL;
	size_t la, lp, le;

	(void)state;
	assert_int_equal(anon_map_new(&m), 0);
	assert_int_equal(anon_unix_name(m, (const uint8_t *)"\0secret", 7, &a, &la), 0);
	assert_int_equal(la, 6);
	assert_memory_equal(a, "\0name1", 6);
	assert_int_equal(anon_unix_name(m, (const uint8_t *)"/run/x.sock", 11, &p, &lp), 0);
	assert_int_equal(lp, 7);
	assert_memory_equal(p, "/run/f1", 7);
	assert_int_equal(anon_unix_name(m, (const uint8_t *)"", 0, &e, &le), 0);
	assert_int_equal(le, 0);
}

static void test_addresses(void **state)
{
	_cleanup_anon_map_ struct anon_map *m = NULL;
	uint8_t a[4] = {192, 0, 2, 77}, b[4] = {192, 0, 2, 77}, c[4] = {198, 51, 100, 1};
	uint8_t lo[4] = {127, 0, 0, 1}, any[4] = {0};
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, v6b[16];
	uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 77}, one[16] = {[15] = 1};
	const uint8_t want_a[4] = {10, 0, 0, 1}, want_c[4] = {10, 0, 0, 2};
	const uint8_t want_v6[16] = {0xfd, [15] = 1};
	const uint8_t want_mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1};

	(void)state;
	memcpy(v6b, v6, 16);
	assert_int_equal(anon_map_new(&m), 0);
	assert_int_equal(anon_ipv4(m, a), 0);
	assert_int_equal(anon_ipv4(m, c), 0);
	assert_int_equal(anon_ipv4(m, b), 0);
	assert_memory_equal(a, want_a, 4);
	assert_memory_equal(b, want_a, 4);
	assert_memory_equal(c, want_c, 4);
	assert_int_equal(anon_ipv4(m, lo), 0);
	assert_int_equal(anon_ipv4(m, any), 0);
	assert_int_equal(lo[0], 127);
	assert_int_equal(any[0], 0);
	assert_int_equal(anon_ipv6(m, v6), 0);
	assert_int_equal(anon_ipv6(m, v6b), 0);
	assert_memory_equal(v6, want_v6, 16);
	assert_memory_equal(v6b, want_v6, 16);
	assert_int_equal(anon_ipv6(m, mapped), 0);
	assert_memory_equal(mapped, want_mapped, 16);
	assert_int_equal(anon_ipv6(m, one), 0);
	assert_int_equal(one[15], 1);
}

/* Many originals: the table grows and keeps every number. */
static void test_growth(void **state)
{
	_cleanup_anon_map_ struct anon_map *m = NULL;

	(void)state;
	assert_int_equal(anon_map_new(&m), 0);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			char orig[32], want[32];
			_cleanup_free_ char *s = NULL;

			snprintf(orig, sizeof(orig), "n%d", i);
			snprintf(want, sizeof(want), "name%d", i + 1);
			assert_int_equal(anon_name(m, ANON_NAME, orig, &s), 0);
			assert_string_equal(s, want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_keep_relations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unix_names),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
