/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The working directory and the umask: the program moves into a directory of
 * its own (with a space in its name) and sets an unusual umask.
 */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define MASK 0027

static char dir[PATH_MAX];
static dev_t dev;
static ino_t ino;

static void setup(void)
{
	struct stat st;

	zoo_path(dir, sizeof(dir), "cwd here");
	if (mkdir(dir, 0755) || chdir(dir) || stat(".", &st))
		zoo_setup_failed("%s: %m", dir);
	dev = st.st_dev;
	ino = st.st_ino;
	umask(MASK);
}

static void check(void)
{
	char now[PATH_MAX];
	struct stat st;
	mode_t mask = umask(0);

	umask(mask);
	zoo_expect(mask == MASK, "umask is %04o, not %04o", (unsigned)mask, MASK);
	if (zoo_expect(getcwd(now, sizeof(now)) != NULL, "getcwd: %m"))
		zoo_expect(strcmp(now, dir) == 0, "cwd is %s, not %s", now, dir);
	if (zoo_expect(stat(".", &st) == 0, "stat(.): %m"))
		zoo_expect(st.st_dev == dev && st.st_ino == ino, "cwd is another directory");
}

static void break_cwd(void)
{
	if (chdir(".."))
		zoo_die("break: chdir: %m");
}

static void break_umask(void)
{
	umask(0022);
}

static const struct zoo_break breaks[] = {
	{"cwd moved to the parent directory", break_cwd},
	{"umask set to 0022", break_umask},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
