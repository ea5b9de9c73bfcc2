/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Children that share more than memory pages with their parent:
 *
 *   child A  made with clone(CLONE_FILES): one fd table with root
 *   child B  made with clone(CLONE_FS): one cwd and umask with root
 *
 * After SIGTERM, root asks A to open a file and tell its fd number: root
 * must have that fd too. Root asks B to chdir() into a directory and set a
 * umask: root must be there too, with that umask. Then each child exits 0.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define STACK_SIZE (256 * 1024)

struct kid {
	pid_t pid;
	int cmd[2], answer[2];
};

static struct kid files_kid, fs_kid;
static char subdir[256];
static mode_t want_umask = 0047;

static int answer(struct kid *k, int value)
{
	return write(k->answer[1], &value, sizeof(value)) == sizeof(value) ? 0 : 1;
}

/* A: open a file, say its number, wait for root to look, close it. */
static int files_kid_main(void *arg)
{
	struct kid *k = arg;
	char c;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(k->cmd[0], &c, 1) != 1)
		return 2;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (answer(k, fd) || read(k->cmd[0], &c, 1) != 1)
		return 3;
	close(fd);
	return 0;
}

/* B: change the shared cwd and umask, say so. */
static int fs_kid_main(void *arg)
{
	struct kid *k = arg;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (read(k->cmd[0], &c, 1) != 1)
		return 2;
	umask(0047);
	return answer(k, chdir(subdir)) ? 3 : 0;
}

static void start(struct kid *k, int (*fn)(void *), int flags)
{
	char *stack = malloc(STACK_SIZE);

	if (!stack || pipe2(k->cmd, O_CLOEXEC) < 0 || pipe2(k->answer, O_CLOEXEC) < 0)
		zoo_setup_failed("pipes: %m");
	k->pid = clone(fn, stack + STACK_SIZE, flags | SIGCHLD, k);
	if (k->pid < 0)
		zoo_setup_failed("clone: %m");
}

static void setup(void)
{
	zoo_path(subdir, sizeof(subdir), "shared-cwd");
	if (mkdir(subdir, 0700) < 0)
		zoo_setup_failed("mkdir %s: %m", subdir);
	umask(0022);
	start(&files_kid, files_kid_main, CLONE_FILES);
	start(&fs_kid, fs_kid_main, CLONE_FS);
}

static int ask(struct kid *k)
{
	int value = -1;

	if (write(k->cmd[1], "x", 1) != 1 ||
	    read(k->answer[0], &value, sizeof(value)) != sizeof(value))
		zoo_fail("pid %d did not answer", k->pid);
	return value;
}

static void reap(struct kid *k)
{
	int status;

	if (!zoo_expect(waitpid(k->pid, &status, 0) == k->pid, "waitpid %d: %m", k->pid))
		return;
	zoo_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pid %d ended with %#x", k->pid,
		   status);
}

static void check(void)
{
	char cwd[256] = "";
	int fd = ask(&files_kid);
	mode_t old;

	zoo_expect(fd >= 0 && fcntl(fd, F_GETFD) >= 0,
		   "child A opened fd %d, which root does not have: not one fd table", fd);
	if (write(files_kid.cmd[1], "x", 1) != 1)
		zoo_fail("cannot tell child A to go on");
	reap(&files_kid);
	zoo_expect(ask(&fs_kid) == 0, "child B could not chdir");
	reap(&fs_kid);
	zoo_expect(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, subdir) == 0,
		   "root's cwd is %s, not %s where child B went: not one fs", cwd, subdir);
	old = umask(0);
	zoo_expect(old == want_umask, "root's umask is %03o, not %03o as child B set it", old,
		   want_umask);
}

static void break_umask(void)
{
	want_umask = 0077;
}

static const struct zoo_break breaks[] = {
	{"root expects another umask from child B", break_umask},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
