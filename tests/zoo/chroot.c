/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A changed root: the program chroots into a directory of its own, with a
 * working directory below it. After the restore "/" is that directory (its
 * marker file is at /marker), the cwd is the one below it, and ".." at the
 * root stays there.
 *
 * The zoo helper writes the pid file and the verdict by the absolute paths
 * it was given: inside the new root, the directory of that path is a
 * symlink back to the root, the program's directory, which holds the real
 * files (a relative one, which leads there from outside the root too).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define MARKER "chroot marker\n"

static struct stat root_st, cwd_st;

/* mkdir -p for the directories of path, under the current directory. */
static void make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			zoo_setup_failed("mkdir %s: %m", path);
		*p = '/';
	}
}

static void setup(void)
{
	char inner[PATH_MAX], up[PATH_MAX] = "";
	int fd;

	if (geteuid() != 0)
		zoo_skip("needs root (CAP_SYS_CHROOT) to change its root");
	/* The root is the program's directory (which holds the verdict file). */
	if (chdir(zoo_dir()))
		zoo_setup_failed("chdir %s: %m", zoo_dir());
	fd = open("marker", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, MARKER, strlen(MARKER)) != (ssize_t)strlen(MARKER) || close(fd))
		zoo_setup_failed("marker: %m");
	/* ./<zoo_dir> -> the root, for the helper's absolute paths: "../.." for /tmp/x/chroot. */
	snprintf(inner, sizeof(inner), ".%s", zoo_dir());
	make_dirs(inner);
	for (const char *p = strchr(zoo_dir() + 1, '/'); p; p = strchr(p + 1, '/'))
		strcat(up, up[0] ? "/.." : "..");
	if (symlink(up[0] ? up : ".", inner) && errno != EEXIST)
		zoo_setup_failed("symlink %s: %m", inner);
	if (mkdir("below", 0755) && errno != EEXIST)
		zoo_setup_failed("mkdir below: %m");
	if (chroot(".") || chdir("/below") || stat("/", &root_st) || stat(".", &cwd_st))
		zoo_setup_failed("chroot: %m");
}

static void check(void)
{
	char buf[64] = "", cwd[PATH_MAX];
	struct stat st;
	int fd = open("/marker", O_RDONLY | O_CLOEXEC);

	zoo_expect(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(MARKER) &&
			   strcmp(buf, MARKER) == 0,
		   "/marker is not the marker file: the root is not the program's directory");
	if (fd >= 0)
		close(fd);
	zoo_expect(stat("/", &st) == 0 && st.st_dev == root_st.st_dev &&
			   st.st_ino == root_st.st_ino,
		   "/ is another directory");
	zoo_expect(stat("/..", &st) == 0 && st.st_ino == root_st.st_ino, "/.. leaves the root");
	zoo_expect(stat(".", &st) == 0 && st.st_ino == cwd_st.st_ino,
		   "the cwd is another directory");
	zoo_expect(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/below") == 0,
		   "getcwd says %s, not /below", cwd);
}

static void break_cwd(void)
{
	chdir("/");
}

static void break_root(void)
{
	chroot("/below");
}

static const struct zoo_break breaks[] = {
	{"the cwd moved to /", break_cwd},
	{"the root moved to /below", break_root},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
