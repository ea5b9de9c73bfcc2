/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FIFOs: one with its read end (non-blocking, and a dup of it) and its
 * write end, a buffer of 128 KiB and data queued; one opened read-write,
 * close-on-exec, with data; one of which the program holds only the write
 * end, with data. After the restore each fd is its FIFO again (the same
 * file on disk), the data is there in order, the flags and the buffer size
 * are kept, the dup shares its description, and data still flows.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

enum { A_RD = 10, A_WR, B_RW, C_WR, A_DUP };

#define A_SIZE (128 * 1024)
#define A_LEN 3000

static char path_a[4096], path_b[4096], path_c[4096];

static void open_at(int fd, const char *path, int flags)
{
	int f = open(path, flags);

	if (f < 0 || dup3(f, fd, flags & O_CLOEXEC) != fd)
		zoo_setup_failed("open %s: %m", path);
	close(f);
}

static void put(int fd, uint64_t seed, size_t len)
{
	char buf[A_LEN];

	zoo_fill(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		zoo_setup_failed("write to fd %d: %m", fd);
}

static void setup(void)
{
	int keep;

	zoo_path(path_a, sizeof(path_a), "fifo-a");
	zoo_path(path_b, sizeof(path_b), "fifo-b");
	zoo_path(path_c, sizeof(path_c), "fifo-c");
	if (mkfifo(path_a, 0600) || mkfifo(path_b, 0640) || mkfifo(path_c, 0600))
		zoo_setup_failed("mkfifo: %m");
	open_at(A_RD, path_a, O_RDONLY | O_NONBLOCK);
	open_at(A_WR, path_a, O_WRONLY);
	if (fcntl(A_WR, F_SETPIPE_SZ, A_SIZE) < 0)
		zoo_setup_failed("F_SETPIPE_SZ: %m");
	put(A_WR, 1, A_LEN);
	if (dup2(A_RD, A_DUP) != A_DUP)
		zoo_setup_failed("dup2: %m");
	open_at(B_RW, path_b, O_RDWR | O_CLOEXEC);
	put(B_RW, 2, 100);
	/* Only the write end: a reader for the time of the open. */
	keep = open(path_c, O_RDWR);
	open_at(C_WR, path_c, O_WRONLY);
	put(C_WR, 3, 50);
	close(keep);
}

static void expect_data(int fd, uint64_t seed, size_t len, const char *what)
{
	char buf[A_LEN + 1];
	ssize_t n = read(fd, buf, sizeof(buf));

	zoo_expect(n == (ssize_t)len && zoo_pattern_mismatch(buf, len, seed) < 0,
		   "%s: read %zd bytes, not the %zu queued", what, n, len);
}

static void expect_fifo(int fd, const char *path, const char *what)
{
	struct stat a, b;

	zoo_expect(fstat(fd, &a) == 0 && stat(path, &b) == 0 && S_ISFIFO(a.st_mode) &&
			   a.st_ino == b.st_ino && a.st_dev == b.st_dev,
		   "%s: fd %d is not the FIFO %s", what, fd, path);
}

static void check(void)
{
	int rd;

	expect_fifo(A_RD, path_a, "A's read end");
	expect_fifo(A_WR, path_a, "A's write end");
	expect_fifo(B_RW, path_b, "B");
	expect_fifo(C_WR, path_c, "C's write end");
	zoo_expect((fcntl(A_RD, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK) &&
			   (fcntl(A_WR, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_WRONLY &&
			   (fcntl(B_RW, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR &&
			   fcntl(B_RW, F_GETFD) == FD_CLOEXEC && fcntl(A_RD, F_GETFD) == 0,
		   "flags: A %#x/%#x, B %#x (fd %d)", fcntl(A_RD, F_GETFL), fcntl(A_WR, F_GETFL),
		   fcntl(B_RW, F_GETFL), fcntl(B_RW, F_GETFD));
	zoo_expect(fcntl(A_RD, F_GETPIPE_SZ) == A_SIZE, "A's buffer is %d bytes, not %d",
		   fcntl(A_RD, F_GETPIPE_SZ), A_SIZE);
	/* The dup shares the description: a flag set on one shows on the other. */
	fcntl(A_DUP, F_SETFL, O_NONBLOCK | O_APPEND);
	zoo_expect(fcntl(A_RD, F_GETFL) & O_APPEND, "A's dup does not share its description");
	expect_data(A_RD, 1, A_LEN, "A");
	expect_data(B_RW, 2, 100, "B");
	rd = open(path_c, O_RDONLY | O_NONBLOCK);
	expect_data(rd, 3, 50, "C");
	close(rd);
	put(A_WR, 4, 10);
	expect_data(A_DUP, 4, 10, "A after the restore");
}

static void break_read_a(void)
{
	char c;

	if (read(A_RD, &c, 1) != 1)
		zoo_die("break: read: %m");
}

static void break_more_b(void)
{
	put(B_RW, 9, 1);
}

static void break_blocking(void)
{
	fcntl(A_RD, F_SETFL, 0);
}

static void break_unshare(void)
{
	open_at(A_DUP, path_a, O_RDONLY | O_NONBLOCK);
}

static void break_c_other(void)
{
	open_at(C_WR, path_b, O_WRONLY);
}

static const struct zoo_break breaks[] = {
	{"a byte read out of A", break_read_a},
	{"a byte more written into B", break_more_b},
	{"A's read end made blocking", break_blocking},
	{"A's dup replaced by another open of A", break_unshare},
	{"C's write end replaced by one of B", break_c_other},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
