/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Flags set with prctl(): not dumpable (PR_SET_DUMPABLE 0), a child
 * subreaper, transparent huge pages disabled, and a timer slack of
 * SLACK_NS. After the restore each reads back the same, and the THP flag
 * shows in /proc/self/status.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zoo.h"

#define SLACK_NS 1234567

/* The number after "THP_enabled:" in /proc/self/status, or -1. */
static int thp_enabled(void)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "THP_enabled:");
	return p ? atoi(p + strlen("THP_enabled:")) : -1;
}

static void setup(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) ||
	    prctl(PR_SET_TIMERSLACK, SLACK_NS, 0, 0, 0))
		zoo_setup_failed("prctl: %m");
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		zoo_setup_failed("PR_SET_THP_DISABLE: %m");
}

static void check(void)
{
	int subreaper = -1;
	int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	zoo_expect(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, "dumpable is %d, not 0",
		   prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0);
	zoo_expect(subreaper == 1, "child subreaper is %d, not 1", subreaper);
	zoo_expect(thp == 1, "PR_GET_THP_DISABLE says %d, not 1", thp);
	zoo_expect(thp_enabled() == 0, "/proc/self/status says THP_enabled: %d, not 0",
		   thp_enabled());
	zoo_expect(slack == SLACK_NS, "timer slack is %d ns, not %d", slack, SLACK_NS);
}

static void break_dumpable(void)
{
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void break_subreaper(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void break_thp(void)
{
	prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
}

static void break_slack(void)
{
	prctl(PR_SET_TIMERSLACK, SLACK_NS + 1, 0, 0, 0);
}

static const struct zoo_break breaks[] = {
	{"made dumpable", break_dumpable},
	{"no longer a child subreaper", break_subreaper},
	{"transparent huge pages enabled again", break_thp},
	{"the timer slack changed by 1 ns", break_slack},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
