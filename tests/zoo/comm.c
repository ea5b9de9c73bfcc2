/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The task's name: prctl(PR_SET_NAME) with a name of 15 bytes (the most
 * there is room for) holding a tab (which /proc/PID/status shows escaped),
 * a space and non-ASCII bytes. After the restore PR_GET_NAME and
 * /proc/self/comm give it back.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zoo.h"

static const char name[16] = "zoo\tc\xc3\xa9mm 12345"; /* 15 bytes and the NUL */

static void setup(void)
{
	if (prctl(PR_SET_NAME, name, 0, 0, 0))
		zoo_setup_failed("PR_SET_NAME: %m");
}

static void check(void)
{
	char now[16] = "", proc[32] = "";
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, proc, sizeof(proc) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0 && proc[n - 1] == '\n')
		proc[n - 1] = '\0';
	zoo_expect(prctl(PR_GET_NAME, now, 0, 0, 0) == 0 && strcmp(now, name) == 0,
		   "PR_GET_NAME says \"%s\", not \"%s\"", now, name);
	zoo_expect(strcmp(proc, name) == 0, "/proc/self/comm says \"%s\", not \"%s\"", proc, name);
}

static void break_name(void)
{
	prctl(PR_SET_NAME, "zoo comm 12345", 0, 0, 0);
}

static void break_short(void)
{
	prctl(PR_SET_NAME, "zoo\tc\xc3\xa9mm 1234", 0, 0, 0);
}

static const struct zoo_break breaks[] = {
	{"the name changed", break_name},
	{"the name lost its last character", break_short},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
