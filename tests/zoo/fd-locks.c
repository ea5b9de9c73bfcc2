/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File locks (dumped with --file-locks): on one file, a POSIX write lock on
 * bytes 10-19 and a POSIX read lock from byte 100 to the end; on a second
 * file, an exclusive flock; on a third, an OFD read lock on bytes 0-99
 * through a description that two fds share. After the restore a child of
 * the program (another owner) must meet each lock where it was, of its
 * kind, and find the bytes between them free.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

static int posix_fd, flock_fd, ofd_fd, ofd_dup;
static char posix_path[4096], flock_path[4096], ofd_path[4096];

static int open_file(char *path, size_t size, const char *name)
{
	int fd;

	zoo_path(path, size, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0)
		zoo_setup_failed("%s: %m", path);
	return fd;
}

static void lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, cmd, &fl) < 0)
		zoo_setup_failed("fcntl lock %d+%d: %m", (int)start, (int)len);
}

static void setup(void)
{
	posix_fd = open_file(posix_path, sizeof(posix_path), "posix.lck");
	flock_fd = open_file(flock_path, sizeof(flock_path), "flock.lck");
	ofd_fd = open_file(ofd_path, sizeof(ofd_path), "ofd.lck");
	lock(posix_fd, F_SETLK, F_WRLCK, 10, 10);
	lock(posix_fd, F_SETLK, F_RDLCK, 100, 0);
	if (flock(flock_fd, LOCK_EX | LOCK_NB) < 0)
		zoo_setup_failed("flock: %m");
	ofd_dup = dup(ofd_fd);
	lock(ofd_dup, F_OFD_SETLK, F_RDLCK, 0, 100);
}

static void unlock_posix(void)
{
	lock(posix_fd, F_SETLK, F_UNLCK, 10, 10);
}

static void unlock_flock(void)
{
	flock(flock_fd, LOCK_UN);
}

static void unlock_ofd(void)
{
	lock(ofd_fd, F_OFD_SETLK, F_UNLCK, 0, 0);
}

static const struct zoo_break breaks[] = {
	{"the POSIX write lock released", unlock_posix},
	{"the flock released", unlock_flock},
	{"the OFD lock released", unlock_ofd},
};

static const struct zoo_desc desc = {
	.dump_options = "--file-locks",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

/* What another owner meets when it asks for a write lock on start+len: F_UNLCK if free. */
static short met(int fd, int cmd, off_t start, off_t len, pid_t *ret_pid)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	if (fcntl(fd, cmd, &fl) < 0)
		return -1;
	*ret_pid = fl.l_pid;
	return fl.l_type;
}

/* In a child: 0 if every lock is met where it should be, else the number of the failed check. */
static int child_checks(pid_t parent)
{
	int posix = open(posix_path, O_RDWR), fl = open(flock_path, O_RDWR),
	    ofd = open(ofd_path, O_RDWR);
	pid_t pid = 0;

	if (posix < 0 || fl < 0 || ofd < 0)
		return 1;
	if (met(posix, F_GETLK, 10, 10, &pid) != F_WRLCK || pid != parent)
		return 2;
	if (met(posix, F_GETLK, 20, 80, &pid) != F_UNLCK)
		return 3;
	if (met(posix, F_GETLK, 200, 1, &pid) != F_RDLCK || pid != parent)
		return 4;
	if (flock(fl, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 5;
	pid = 0;
	if (met(ofd, F_OFD_GETLK, 50, 1, &pid) != F_RDLCK || pid != -1)
		return 6;
	if (met(ofd, F_OFD_GETLK, 100, 10, &pid) != F_UNLCK)
		return 7;
	return 0;
}

static void check(void)
{
	static const char *const what[] = {
		"",
		"the child cannot open the files",
		"no POSIX write lock of the program on bytes 10-19",
		"bytes 20-99 of the POSIX file are locked",
		"no POSIX read lock of the program from byte 100",
		"no exclusive flock",
		"no OFD read lock on bytes 0-99",
		"bytes 100-109 of the OFD file are locked",
	};
	pid_t parent = getpid(), child = fork();
	int status = 0;
	size_t failed;

	if (child == 0)
		_exit(child_checks(parent));
	if (!zoo_expect(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status),
			"the checking child did not run"))
		return;
	failed = (size_t)WEXITSTATUS(status);
	zoo_expect(failed == 0, "%s", failed < ELEMENTSOF(what) ? what[failed] : "?");
}

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
