/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipes in every shape one process can hold them:
 *  - "shared": two readers with descriptions of their own (the second opened
 *    through /proc/self/fd, non-blocking), and a write end duplicated (one
 *    description, the duplicate close-on-exec); 3000 bytes queued.
 *  - "orphan": only its read end left, 100 bytes queued: they come out,
 *    then end of file.
 *  - "deaf": only its write end left (10 bytes went in before the reader
 *    left): a write fails with EPIPE.
 *  - "small": empty, its buffer shrunk to one page.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "compat/syscalls.h"
#include "zoo.h"

#define SHARED_SIZE 3000
#define ORPHAN_SIZE 100
#define SHARED_SEED 21
#define ORPHAN_SEED 22
#define SMALL_SIZE 4096
#define KERNEL_O_LARGEFILE 0100000 /* glibc defines O_LARGEFILE as 0 on x86_64 */

static int shared_r, shared_r2, shared_w, shared_w2, orphan_r, deaf_w, small[2];

static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static void write_pattern(int fd, size_t n, uint64_t seed)
{
	uint8_t buf[SHARED_SIZE];

	zoo_fill(buf, n, seed);
	if (write(fd, buf, n) != (ssize_t)n)
		zoo_setup_failed("write to a pipe: %m");
}

static void setup(void)
{
	int p[2];

	/* Writes to a pipe without reader must fail the check, not kill the program. */
	signal(SIGPIPE, SIG_IGN);
	if (pipe(p))
		zoo_setup_failed("pipe: %m");
	shared_r = p[0];
	shared_w = p[1];
	shared_r2 = reopen(shared_r, O_RDONLY | O_NONBLOCK);
	shared_w2 = fcntl(shared_w, F_DUPFD_CLOEXEC, 0);
	if (shared_r2 < 0 || shared_w2 < 0)
		zoo_setup_failed("reopen or dup: %m");
	write_pattern(shared_w, SHARED_SIZE, SHARED_SEED);

	if (pipe2(p, O_NONBLOCK))
		zoo_setup_failed("pipe2: %m");
	orphan_r = p[0];
	write_pattern(p[1], ORPHAN_SIZE, ORPHAN_SEED);
	close(p[1]);

	if (pipe(p))
		zoo_setup_failed("pipe: %m");
	deaf_w = p[1];
	write_pattern(deaf_w, 10, 1);
	close(p[0]);

	if (pipe(small) || fcntl(small[0], F_SETPIPE_SZ, SMALL_SIZE) < 0)
		zoo_setup_failed("a small pipe: %m");
}

static int flags(int fd)
{
	return fcntl(fd, F_GETFL) & ~KERNEL_O_LARGEFILE;
}

static bool same_description(int a, int b)
{
	return sys_kcmp(getpid(), getpid(), KCMP_FILE, (unsigned long)a, (unsigned long)b) == 0;
}

static void check_shared(void)
{
	uint8_t got[SHARED_SIZE + 1];
	ssize_t n;
	long off;

	if (!zoo_expect(flags(shared_r) == O_RDONLY && flags(shared_r2) == (O_RDONLY | O_NONBLOCK),
			"reader flags are %#x and %#x, not O_RDONLY and O_RDONLY|O_NONBLOCK",
			flags(shared_r), flags(shared_r2)))
		fcntl(shared_r2, F_SETFL, O_NONBLOCK); /* the reads below must not hang */
	zoo_expect(!same_description(shared_r, shared_r2),
		   "the two readers share one open file description");
	zoo_expect(same_description(shared_w, shared_w2),
		   "the write end and its duplicate are separate descriptions");
	zoo_expect(fcntl(shared_w, F_GETFD) == 0 && fcntl(shared_w2, F_GETFD) == FD_CLOEXEC,
		   "close-on-exec of the write ends is %d and %d, not 0 and 1",
		   fcntl(shared_w, F_GETFD), fcntl(shared_w2, F_GETFD));
	n = read(shared_r2, got, sizeof(got));
	zoo_expect(n == SHARED_SIZE, "read %zd bytes from the shared pipe, not %d", n, SHARED_SIZE);
	off = zoo_pattern_mismatch(got, n > 0 ? (size_t)n : 0, SHARED_SEED);
	zoo_expect(off < 0, "shared pipe data differs at offset %ld", off);
	zoo_expect(read(shared_r2, got, 1) < 0 && errno == EAGAIN,
		   "the shared pipe is not empty after its data");
	zoo_expect(write(shared_w2, "y", 1) == 1 && read(shared_r, got, 1) == 1 && got[0] == 'y',
		   "a byte written to the duplicate does not come out of the first reader");
}

static void check_orphan(void)
{
	uint8_t got[ORPHAN_SIZE + 1];
	ssize_t n;
	long off;

	if (!zoo_expect(flags(orphan_r) == (O_RDONLY | O_NONBLOCK),
			"orphan reader flags are %#x, not O_RDONLY|O_NONBLOCK", flags(orphan_r)))
		fcntl(orphan_r, F_SETFL, O_NONBLOCK);
	n = read(orphan_r, got, sizeof(got));
	zoo_expect(n == ORPHAN_SIZE, "read %zd bytes from the orphan pipe, not %d", n, ORPHAN_SIZE);
	off = zoo_pattern_mismatch(got, n > 0 ? (size_t)n : 0, ORPHAN_SEED);
	zoo_expect(off < 0, "orphan pipe data differs at offset %ld", off);
	n = read(orphan_r, got, 1);
	zoo_expect(n == 0, "the orphan pipe gives %zd (%m), not end of file, after its data", n);
}

static void check_deaf_and_small(void)
{
	int queued = -1;

	zoo_expect(write(deaf_w, "z", 1) < 0 && errno == EPIPE,
		   "a write to the pipe without reader does not fail with EPIPE");
	ioctl(small[0], FIONREAD, &queued);
	zoo_expect(queued == 0, "the small pipe holds %d bytes, not 0", queued);
	zoo_expect(fcntl(small[1], F_GETPIPE_SZ) == SMALL_SIZE, "the small pipe's size is %d",
		   fcntl(small[1], F_GETPIPE_SZ));
}

static void break_read(void)
{
	uint8_t b;

	if (read(shared_r, &b, 1) != 1)
		zoo_die("break: read: %m");
}

static void break_blocking(void)
{
	fcntl(shared_r2, F_SETFL, O_RDONLY);
}

static void break_unshare(void)
{
	int fd = reopen(shared_w, O_WRONLY);

	if (fd < 0 || dup3(fd, shared_w2, O_CLOEXEC) < 0)
		zoo_die("break: reopen: %m");
	close(fd);
}

static void break_writer(void)
{
	if (reopen(orphan_r, O_WRONLY) < 0)
		zoo_die("break: reopen: %m");
}

static void break_reader(void)
{
	if (reopen(deaf_w, O_RDONLY | O_NONBLOCK) < 0)
		zoo_die("break: reopen: %m");
}

static void break_grow(void)
{
	fcntl(small[0], F_SETPIPE_SZ, 2 * SMALL_SIZE);
}

static const struct zoo_break breaks[] = {
	{"a byte read from the shared pipe", break_read},
	{"the second reader made blocking", break_blocking},
	{"the duplicate write end given a description of its own", break_unshare},
	{"a writer added to the orphan pipe", break_writer},
	{"a reader added to the deaf pipe", break_reader},
	{"the small pipe grown", break_grow},
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
	check_shared();
	check_orphan();
	check_deaf_and_small();
	return zoo_verdict();
}
