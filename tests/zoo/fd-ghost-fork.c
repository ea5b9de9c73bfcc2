/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A file deleted while open whose description two processes share: the
 * parent writes 5000 pattern bytes to ghost-fork.data, seeks to OFFSET,
 * unlinks it and forks; the child inherits the fd. After the restore both
 * must hold one description (kcmp) of a deleted file with that content, at
 * OFFSET; the parent then moves the offset and the child must see it move.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define SIZE 5000
#define OFFSET 1234
#define SEED 63

static int fd;
static int report[2]; /* the child's answer: its offset once the parent moved it */
static int go[2];
static pid_t child;

static void child_main(void)
{
	char c;
	off_t off;

	signal(SIGTERM, SIG_IGN); /* the parent asks, after its own SIGTERM */
	if (read(go[0], &c, 1) != 1)
		_exit(2);
	off = lseek(fd, 0, SEEK_CUR);
	_exit(write(report[1], &off, sizeof(off)) == sizeof(off) ? 0 : 3);
}

static void setup(void)
{
	static uint8_t data[SIZE];
	char path[PATH_MAX];

	zoo_path(path, sizeof(path), "ghost-fork.data");
	zoo_fill(data, sizeof(data), SEED);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data) ||
	    lseek(fd, OFFSET, SEEK_SET) != OFFSET || unlink(path) < 0)
		zoo_setup_failed("%s: %m", path);
	if (pipe(report) < 0 || pipe(go) < 0)
		zoo_setup_failed("pipe: %m");
	child = fork();
	if (child < 0)
		zoo_setup_failed("fork: %m");
	if (child == 0)
		child_main();
}

static void check(void)
{
	static uint8_t got[SIZE], want[SIZE];
	struct stat st;
	off_t off = -1;

	zoo_expect(syscall(SYS_kcmp, getpid(), child, KCMP_FILE, fd, fd) == 0,
		   "the child's fd %d is another description", fd);
	zoo_expect(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == SIZE,
		   "fd %d is not on the deleted file (%lu links, %lld bytes)", fd,
		   (unsigned long)st.st_nlink, (long long)st.st_size);
	zoo_expect(lseek(fd, 0, SEEK_CUR) == OFFSET, "fd %d is not at offset %d", fd, OFFSET);
	zoo_fill(want, sizeof(want), SEED);
	zoo_expect(pread(fd, got, sizeof(got), 0) == SIZE && !memcmp(got, want, SIZE),
		   "the content of the deleted file differs");
	lseek(fd, 7, SEEK_SET);
	if (write(go[1], "g", 1) != 1 || read(report[0], &off, sizeof(off)) != sizeof(off))
		zoo_fail("no answer from the child: %m");
	else
		zoo_expect(off == 7, "the child's offset is %lld after the parent's seek to 7",
			   (long long)off);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void break_content(void)
{
	if (pwrite(fd, "?", 1, 9) != 1)
		zoo_die("break: pwrite: %m");
}

/* The parent's fd replaced by a new description of the same file at the same offset. */
static void break_share(void)
{
	char link[64];
	int n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = open(link, O_RDWR);
	if (n < 0 || lseek(n, OFFSET, SEEK_SET) != OFFSET || dup2(n, fd) < 0)
		zoo_die("break: reopen: %m");
	close(n);
}

static const struct zoo_break breaks[] = {
	{"a byte of the deleted file changed", break_content},
	{"the parent's fd made a description of its own", break_share},
};

static const struct zoo_desc desc = {
	.requires = "pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
