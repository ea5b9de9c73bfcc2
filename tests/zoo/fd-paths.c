/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files reached by path beyond plain regular files: an O_PATH fd of a
 * file, an O_PATH | O_NOFOLLOW fd of a symbolic link, a directory read
 * half-way (its position kept), and the character devices /dev/zero,
 * /dev/urandom (non-blocking) and /dev/full (write-only, close-on-exec).
 * After the restore each fd is the same file with the same flags, the
 * directory goes on where it was, and the devices behave as themselves.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

enum { PATHFD = 10, LINKFD, DIRFD, ZERO, URANDOM, FULL };

#define NFILES 40
/* The kernel shows it in F_GETFL; glibc's O_LARGEFILE is 0 on 64 bits. */
#define KERNEL_O_LARGEFILE 0100000

static char file[4096], link_[4096], dir[4096];
static char next_name[256]; /* the entry the directory gives next */

static void open_at(int fd, const char *path, int flags)
{
	int f = open(path, flags);

	if (f < 0 || dup3(f, fd, flags & O_CLOEXEC) != fd)
		zoo_setup_failed("open %s: %m", path);
	close(f);
}

/* One entry of the directory fd, read with getdents64 one at a time. */
static bool next_entry(int fd, char *name, size_t size)
{
	_Alignas(8) char buf[1024];
	long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	struct dirent64 *d = (struct dirent64 *)buf;

	if (n <= 0)
		return false;
	if (strlen(d->d_name) >= size)
		return false;
	strcpy(name, d->d_name);
	/* getdents64 may give several: go back to just after the first. */
	lseek(fd, d->d_off, SEEK_SET);
	return true;
}

static void setup(void)
{
	char name[4200];

	zoo_path(file, sizeof(file), "file");
	zoo_path(link_, sizeof(link_), "link");
	zoo_path(dir, sizeof(dir), "dir");
	if (mkdir(dir, 0700) || symlink(file, link_))
		zoo_setup_failed("mkdir/symlink: %m");
	close(open(file, O_CREAT | O_WRONLY, 0600));
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "%s/entry-%02d", dir, i);
		close(open(name, O_CREAT | O_WRONLY, 0600));
	}
	open_at(PATHFD, file, O_PATH);
	open_at(LINKFD, link_, O_PATH | O_NOFOLLOW);
	open_at(DIRFD, dir, O_RDONLY | O_DIRECTORY);
	for (int i = 0; i < NFILES / 2; i++)
		if (!next_entry(DIRFD, name, sizeof(name)))
			zoo_setup_failed("the directory ended early");
	/* What comes next, without moving on. */
	{
		off_t pos = lseek(DIRFD, 0, SEEK_CUR);

		next_entry(DIRFD, next_name, sizeof(next_name));
		lseek(DIRFD, pos, SEEK_SET);
	}
	open_at(ZERO, "/dev/zero", O_RDONLY);
	open_at(URANDOM, "/dev/urandom", O_RDONLY | O_NONBLOCK);
	open_at(FULL, "/dev/full", O_WRONLY | O_CLOEXEC);
}

static void expect_same(int fd, const char *path, bool follow, int flags, const char *what)
{
	struct stat a, b;

	zoo_expect(fstat(fd, &a) == 0 && (follow ? stat(path, &b) : lstat(path, &b)) == 0 &&
			   a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_rdev == b.st_rdev &&
			   a.st_mode == b.st_mode,
		   "%s: fd %d is not %s", what, fd, path);
	zoo_expect((fcntl(fd, F_GETFL) & ~KERNEL_O_LARGEFILE) == flags, "%s: flags %#o, not %#o",
		   what, fcntl(fd, F_GETFL) & ~KERNEL_O_LARGEFILE, flags);
}

static void check(void)
{
	char name[256] = "", buf[16] = {1};

	expect_same(PATHFD, file, true, O_PATH, "the O_PATH file");
	expect_same(LINKFD, link_, false, O_PATH | O_NOFOLLOW, "the O_PATH link");
	expect_same(DIRFD, dir, true, O_RDONLY | O_DIRECTORY, "the directory");
	expect_same(ZERO, "/dev/zero", true, O_RDONLY, "/dev/zero");
	expect_same(URANDOM, "/dev/urandom", true, O_RDONLY | O_NONBLOCK, "/dev/urandom");
	expect_same(FULL, "/dev/full", true, O_WRONLY, "/dev/full");
	zoo_expect(fcntl(FULL, F_GETFD) == FD_CLOEXEC && fcntl(ZERO, F_GETFD) == 0,
		   "close-on-exec: /dev/full %d, /dev/zero %d", fcntl(FULL, F_GETFD),
		   fcntl(ZERO, F_GETFD));
	next_entry(DIRFD, name, sizeof(name));
	zoo_expect(streq(name, next_name), "the directory gives %s next, not %s", name, next_name);
	zoo_expect(read(ZERO, buf, sizeof(buf)) == sizeof(buf) && !buf[0] && !buf[15],
		   "/dev/zero does not read zeros");
	zoo_expect(write(FULL, buf, 1) < 0 && errno == ENOSPC, "/dev/full is not full");
}

static void break_dir(void)
{
	char name[256];

	next_entry(DIRFD, name, sizeof(name));
}

static void break_path(void)
{
	open_at(PATHFD, dir, O_PATH);
}

static void break_follow(void)
{
	open_at(LINKFD, link_, O_PATH);
}

static void break_dev(void)
{
	open_at(URANDOM, "/dev/zero", O_RDONLY | O_NONBLOCK);
}

static const struct zoo_break breaks[] = {
	{"the directory read one entry further", break_dir},
	{"the O_PATH fd opened on another file", break_path},
	{"the link's O_PATH fd made to follow the link", break_follow},
	{"/dev/urandom replaced by /dev/zero", break_dev},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
