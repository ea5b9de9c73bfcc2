/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * src/files/pipe.c on pipes of the test's own: the contents copied without
 * draining them, whatever the number of buffers they sit in; a reader on a
 * pipe of which only the write end is known; pipes made again with their
 * size and data; new descriptions of a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <cmocka.h>

#include "compat/syscalls.h"
#include "files/file.h"
#include "files/pipe.h"

#define DATA_SIZE 20000

/* One copier for every peek of the file, as the dump uses it: reused, grown, remade. */
static struct pipe_copier cp = PIPE_COPIER_INIT;
static int pidfd = -1;

static void fill_pattern(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 131 + seed) ^ (i >> 7));
}

static int queued(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static bool same_description(int a, int b)
{
	return sys_kcmp(getpid(), getpid(), KCMP_FILE, (unsigned long)a, (unsigned long)b) == 0;
}

static void close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

static void test_peek_leaves_the_data(void **state)
{
	static uint8_t data[DATA_SIZE], got[DATA_SIZE];
	struct pipe_contents pc = {};
	int p[2];

	(void)state;
	fill_pattern(data, sizeof(data), 7);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(fcntl(p[0], F_SETPIPE_SZ, 128 << 10), 128 << 10);
	assert_int_equal(write(p[1], data, sizeof(data)), sizeof(data));

	assert_int_equal(pipe_peek(&cp, p[0], "test pipe", &pc), 0);
	assert_int_equal(pc.len, DATA_SIZE);
	assert_int_equal(pc.size, 128 << 10);
	assert_memory_equal(pc.data, data, DATA_SIZE);
	/* Still all there, in order. */
	assert_int_equal(queued(p[0]), DATA_SIZE);
	assert_int_equal(read(p[0], got, sizeof(got)), DATA_SIZE);
	assert_memory_equal(got, data, DATA_SIZE);
	pipe_contents_done(&pc);
	assert_null(pc.data);
	close_pair(p);
}

static void test_peek_empty(void **state)
{
	struct pipe_contents pc = {.len = 99};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe_peek(&cp, p[0], "test pipe", &pc), 0);
	assert_int_equal(pc.len, 0);
	assert_null(pc.data);
	assert_int_equal(pc.size, fcntl(p[0], F_GETPIPE_SZ));
	close_pair(p);
}

/*
 * 32 packets of 10 bytes fill 32 buffers of a 128 KiB pipe: twice the
 * slots of a pipe of the default size. All 320 bytes must be copied.
 */
static void test_peek_many_buffers(void **state)
{
	struct pipe_contents pc = {};
	uint8_t data[320];
	int p[2];

	(void)state;
	fill_pattern(data, sizeof(data), 3);
	assert_int_equal(pipe2(p, O_DIRECT | O_NONBLOCK), 0);
	assert_int_equal(fcntl(p[0], F_SETPIPE_SZ, 128 << 10), 128 << 10);
	for (int i = 0; i < 32; i++)
		assert_int_equal(write(p[1], data + 10 * i, 10), 10);
	assert_int_equal(pipe_peek(&cp, p[0], "test pipe", &pc), 0);
	assert_int_equal(pc.len, sizeof(data));
	assert_memory_equal(pc.data, data, sizeof(data));
	assert_int_equal(queued(p[0]), sizeof(data));
	pipe_contents_done(&pc);
	close_pair(p);
}

static void test_reader_of_a_read_end(void **state)
{
	int p[2], r;

	(void)state;
	assert_int_equal(pipe(p), 0);
	r = pipe_open_reader(pidfd, getpid(), p[0], O_RDONLY, "test pipe");
	assert_true(r >= 0);
	/* pidfd_getfd: the very description, close-on-exec. */
	assert_true(same_description(r, p[0]));
	assert_int_equal(fcntl(r, F_GETFD), FD_CLOEXEC);
	close(r);
	close_pair(p);
}

static void test_reader_of_a_write_end(void **state)
{
	char c = 0;
	int p[2], r;

	(void)state;
	assert_int_equal(pipe(p), 0);
	r = pipe_open_reader(pidfd, getpid(), p[1], O_WRONLY, "test pipe");
	assert_true(r >= 0);
	assert_false(same_description(r, p[0]));
	assert_int_equal(fcntl(r, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	assert_int_equal(write(p[1], "k", 1), 1);
	assert_int_equal(read(r, &c, 1), 1);
	assert_int_equal(c, 'k');
	close(r);
	close_pair(p);
}

static void test_make(void **state)
{
	static uint8_t data[DATA_SIZE], got[DATA_SIZE];
	int p[2];

	(void)state;
	fill_pattern(data, sizeof(data), 9);
	assert_int_equal(pipe_make(128 << 10, data, sizeof(data), "test pipe", p), 0);
	assert_int_equal(fcntl(p[0], F_GETPIPE_SZ), 128 << 10);
	assert_int_equal(fcntl(p[0], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
	assert_int_equal(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY);
	assert_int_equal(fcntl(p[0], F_GETFD), FD_CLOEXEC);
	assert_int_equal(fcntl(p[1], F_GETFD), FD_CLOEXEC);
	assert_int_equal(queued(p[0]), DATA_SIZE);
	assert_int_equal(read(p[0], got, sizeof(got)), DATA_SIZE);
	assert_memory_equal(got, data, DATA_SIZE);
	close_pair(p);

	/* No size: the default; no data: empty. */
	assert_int_equal(pipe_make(0, NULL, 0, "test pipe", p), 0);
	assert_int_equal(fcntl(p[0], F_GETPIPE_SZ), 65536);
	assert_int_equal(queued(p[0]), 0);
	close_pair(p);
}

static void test_make_too_much(void **state)
{
	static uint8_t data[8192];
	int p[2] = {-1, -1};

	(void)state;
	assert_int_equal(pipe_make(4096, data, sizeof(data), "test pipe", p), -ENOSPC);
	assert_int_equal(p[0], -1);
}

static void test_reopen(void **state)
{
	int p[2], r;

	(void)state;
	assert_int_equal(pipe(p), 0);
	r = pipe_reopen(p[0], O_RDONLY | O_NONBLOCK, "test pipe");
	assert_true(r >= 0);
	assert_false(same_description(r, p[0]));
	assert_int_equal(fcntl(r, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(fcntl(r, F_GETFD), FD_CLOEXEC);
	close(r);
	assert_int_equal(file_set_flags(p[1], O_WRONLY | O_NONBLOCK, "test pipe"), 0);
	assert_int_equal(fcntl(p[1], F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_WRONLY | O_NONBLOCK);
	close_pair(p);
}

/* A copier closed (as after a failed tee) is made again, empty, on the next peek. */
static void test_peek_with_a_remade_copier(void **state)
{
	static uint8_t data[DATA_SIZE];
	struct pipe_contents pc = {};
	int p[2];

	(void)state;
	fill_pattern(data, sizeof(data), 5);
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(write(p[1], data, 100), 100);
	assert_int_equal(pipe_peek(&cp, p[0], "test pipe", &pc), 0);
	pipe_contents_done(&pc);
	/* Leftovers in the copier would come out with the next pipe's bytes. */
	assert_int_equal(write(cp.ends[1], "junk", 4), 4);
	pipe_copier_done(&cp);
	assert_int_equal(write(p[1], data + 100, 50), 50);
	assert_int_equal(pipe_peek(&cp, p[0], "test pipe", &pc), 0);
	assert_int_equal(pc.len, 150);
	assert_memory_equal(pc.data, data, 150);
	pipe_contents_done(&pc);
	close_pair(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_leaves_the_data),
		cmocka_unit_test(test_peek_empty),
		cmocka_unit_test(test_peek_many_buffers),
		cmocka_unit_test(test_reader_of_a_read_end),
		cmocka_unit_test(test_reader_of_a_write_end),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_make_too_much),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_peek_with_a_remade_copier),
	};
	int r;

	pidfd = sys_pidfd_open(getpid(), 0);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	pipe_copier_done(&cp);
	close(pidfd);
	return r;
}
