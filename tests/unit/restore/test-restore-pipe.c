/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading pipes-data.img for the restore: CRIU 4.2's (the pipes fixture:
 * 23 bytes, "hello through the pipe" and its NUL), one that stasis writes
 * (an empty pipe next to a full one), and a directory without the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "restore/internal.h"

static const char *fixtures_dir(void)
{
	const char *env = getenv("STASIS_FIXTURES");

	return env ? env : STASIS_FIXTURES_DIR;
}

static void test_criu_fixture(void **state)
{
	static const char hello[] = "hello through the pipe";
	struct img_dir *dir = NULL;
	struct rst_pipe_data *pd = NULL;
	char path[4096];
	size_t n = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/images/pipes", fixtures_dir());
	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(rst_pipe_data_read(dir, IMG_PIPES_DATA, &pd, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pd[0].e->pipe_id, 1853673);
	assert_int_equal(pd[0].e->bytes, sizeof(hello));
	assert_true(pd[0].e->has_size);
	assert_int_equal(pd[0].e->size, 65536);
	assert_int_equal(pd[0].len, sizeof(hello));
	assert_memory_equal(pd[0].bytes, hello, sizeof(hello));
	rst_pipe_data_free(pd, n);
	img_dir_free(dir);
}

static void test_written_and_absent(void **state)
{
	char tmpl[] = "/tmp/test-restore-pipe.XXXXXX";
	struct img_writer *w = NULL;
	struct img_dir *dir = NULL;
	struct rst_pipe_data *pd = NULL;
	PipeDataEntry empty = PIPE_DATA_ENTRY__INIT, full = PIPE_DATA_ENTRY__INIT;
	size_t n = 99;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	assert_int_equal(img_dir_open(tmpl, &dir), 0);
	/* No pipes-data.img: no pipe data, not an error. */
	assert_int_equal(rst_pipe_data_read(dir, IMG_PIPES_DATA, &pd, &n), 0);
	assert_int_equal(n, 0);
	assert_null(pd);

	empty.pipe_id = 5;
	full.pipe_id = 6;
	full.bytes = 3;
	full.has_size = true;
	full.size = 4096;
	assert_int_equal(img_create(dir, IMG_PIPES_DATA, 0, &w), 0);
	assert_int_equal(img_write_entry(w, &empty.base, NULL, 0), 0);
	assert_int_equal(img_write_entry(w, &full.base, "abc", 3), 0);
	assert_int_equal(img_writer_commit(w), 0);

	assert_int_equal(rst_pipe_data_read(dir, IMG_PIPES_DATA, &pd, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pd[0].e->pipe_id, 5);
	assert_int_equal(pd[0].len, 0);
	assert_null(pd[0].bytes);
	assert_false(pd[0].e->has_size);
	assert_int_equal(pd[1].e->pipe_id, 6);
	assert_int_equal(pd[1].len, 3);
	assert_memory_equal(pd[1].bytes, "abc", 3);
	assert_int_equal(pd[1].e->size, 4096);
	rst_pipe_data_free(pd, n);

	assert_int_equal(unlinkat(img_dir_fd(dir), "pipes-data.img", 0), 0);
	img_dir_free(dir);
	assert_int_equal(rmdir(tmpl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_criu_fixture),
		cmocka_unit_test(test_written_and_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
