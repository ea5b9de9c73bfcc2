/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pipe to itself holding unread data: both ends open in the same process,
 * 20000 bytes of pattern waiting in a pipe grown to 128 KiB, the read end
 * non-blocking. A pipe gets a new inode when it is recreated, so the check
 * asks that both ends share one, not that it be the old one.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define DATA_SIZE 20000
#define PIPE_SIZE (128 << 10)
#define SEED 11
#define KERNEL_O_LARGEFILE 0100000 /* glibc defines O_LARGEFILE as 0 on x86_64 */

static int ends[2];

static void setup(void)
{
	static uint8_t data[DATA_SIZE];

	/* A write to a pipe without reader must fail the check, not kill the program. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(ends))
		zoo_setup_failed("pipe: %m");
	if (fcntl(ends[0], F_SETPIPE_SZ, PIPE_SIZE) < 0)
		zoo_setup_failed("F_SETPIPE_SZ: %m");
	if (fcntl(ends[0], F_SETFL, O_NONBLOCK))
		zoo_setup_failed("F_SETFL: %m");
	zoo_fill(data, sizeof(data), SEED);
	if (write(ends[1], data, sizeof(data)) != sizeof(data))
		zoo_setup_failed("write to the pipe: %m");
}

/* The file status flags, but O_LARGEFILE: meaningless on 64 bits, and set
 * by the kernel on an end reopened through /proc/self/fd, as a restore may. */
static int flags(int fd)
{
	return fcntl(fd, F_GETFL) & ~KERNEL_O_LARGEFILE;
}

static void check_ends(void)
{
	struct stat r, w;

	if (!zoo_expect(fstat(ends[0], &r) == 0 && fstat(ends[1], &w) == 0, "fstat: %m"))
		return;
	zoo_expect(S_ISFIFO(r.st_mode) && S_ISFIFO(w.st_mode), "fds %d and %d are not both pipes",
		   ends[0], ends[1]);
	zoo_expect(r.st_ino == w.st_ino, "fds %d and %d are ends of different pipes (%lu, %lu)",
		   ends[0], ends[1], (unsigned long)r.st_ino, (unsigned long)w.st_ino);
	zoo_expect(flags(ends[0]) == (O_RDONLY | O_NONBLOCK),
		   "read end flags are %#x, not O_RDONLY|O_NONBLOCK", flags(ends[0]));
	zoo_expect(flags(ends[1]) == O_WRONLY, "write end flags are %#x, not O_WRONLY",
		   flags(ends[1]));
	zoo_expect(fcntl(ends[0], F_GETPIPE_SZ) == PIPE_SIZE, "pipe size is %d, not %d",
		   fcntl(ends[0], F_GETPIPE_SZ), PIPE_SIZE);
}

static void check_data(void)
{
	static uint8_t got[DATA_SIZE + 1];
	int queued = -1;
	ssize_t n, more;
	long off;
	char c = 'x';

	ioctl(ends[0], FIONREAD, &queued);
	zoo_expect(queued == DATA_SIZE, "%d bytes in the pipe, not %d", queued, DATA_SIZE);
	n = read(ends[0], got, sizeof(got));
	zoo_expect(n == DATA_SIZE, "read %zd bytes from the pipe, not %d", n, DATA_SIZE);
	off = zoo_pattern_mismatch(got, n > 0 ? (size_t)n : 0, SEED);
	zoo_expect(off < 0, "pipe data differs at offset %ld", off);
	more = read(ends[0], got, 1);
	zoo_expect(more < 0 && errno == EAGAIN, "pipe not empty after the data, or blocking");
	/* Still one working pipe: what goes in one end comes out of the other. */
	zoo_expect(write(ends[1], &c, 1) == 1 && read(ends[0], &c, 1) == 1 && c == 'x',
		   "a byte written to fd %d does not come out of fd %d", ends[1], ends[0]);
}

static void break_drain(void)
{
	uint8_t b;

	if (read(ends[0], &b, 1) != 1)
		zoo_die("break: read: %m");
}

static void break_extra(void)
{
	if (write(ends[1], "zz", 2) != 2)
		zoo_die("break: write: %m");
}

static void break_swap(void)
{
	int other[2];

	if (pipe(other))
		zoo_die("break: pipe: %m");
	dup2(other[1], ends[1]);
	close(other[1]);
	/* other[0] stays open: the other pipe keeps a reader. */
}

static void break_size(void)
{
	fcntl(ends[0], F_SETPIPE_SZ, PIPE_SIZE / 2);
}

static const struct zoo_break breaks[] = {
	{"a byte read out of the pipe", break_drain},
	{"two more bytes written into the pipe", break_extra},
	{"the write end replaced by another pipe's", break_swap},
	{"the pipe shrunk to 64 KiB", break_size},
};

static const struct zoo_desc desc = {
	.requires = "pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_ends();
	check_data();
	return zoo_verdict();
}
