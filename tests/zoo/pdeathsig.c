/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parent-death signal: prctl(PR_SET_PDEATHSIG, SIGUSR2), set after a
 * change of the fs gid (a change of credentials resets it, so a restore
 * that sets the credentials after it loses it). After the restore
 * PR_GET_PDEATHSIG still says SIGUSR2, and the signal came exactly when the
 * kernel sends it: once if the parent changed (a detached restore's parent,
 * stasis, exits), never while the parent is the one the program started
 * with.
 */
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zoo.h"

#define FSGID 4321

static volatile sig_atomic_t usr2;
static pid_t parent;

static void on_usr2(int sig)
{
	(void)sig;
	usr2++;
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler = on_usr2, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	parent = getppid();
	setfsgid(FSGID);
	if ((gid_t)setfsgid((gid_t)-1) != FSGID)
		zoo_setup_failed("setfsgid(%d) did not take", FSGID);
	if (sigaction(SIGUSR2, &sa, NULL) || prctl(PR_SET_PDEATHSIG, SIGUSR2, 0, 0, 0))
		zoo_setup_failed("PR_SET_PDEATHSIG: %m");
}

static void check(void)
{
	int sig = -1;
	bool orphaned = getppid() != parent;

	prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
	zoo_expect(sig == SIGUSR2, "the parent-death signal is %d, not SIGUSR2 (%d)", sig, SIGUSR2);
	zoo_expect(usr2 == (orphaned ? 1 : 0),
		   "SIGUSR2 came %d times; the parent %s (pid %d, now %d)", (int)usr2,
		   orphaned ? "changed: it must come once" : "is the same: it must not come",
		   (int)parent, (int)getppid());
}

static void break_cleared(void)
{
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
}

static void break_other(void)
{
	prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
}

static void break_spurious(void)
{
	raise(SIGUSR2);
}

static const struct zoo_break breaks[] = {
	{"the parent-death signal cleared", break_cleared},
	{"the parent-death signal made SIGUSR1", break_other},
	{"a SIGUSR2 while the parent lives", break_spurious},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
