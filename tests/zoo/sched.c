/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scheduling: policy SCHED_BATCH with SCHED_RESET_ON_FORK, and nice 5 (both
 * only lower the task's claim, so no privilege is needed). After the restore
 * sched_getscheduler() gives the policy with its flag back, and
 * getpriority() the nice value.
 */
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>

#include "zoo.h"

#define POLICY (SCHED_BATCH | SCHED_RESET_ON_FORK)
#define NICE 5

static void setup(void)
{
	struct sched_param p = {.sched_priority = 0};

	if (sched_setscheduler(0, POLICY, &p) || setpriority(PRIO_PROCESS, 0, NICE))
		zoo_setup_failed("sched_setscheduler/setpriority: %m");
}

static void check(void)
{
	int policy = sched_getscheduler(0), nice;

	zoo_expect(policy == POLICY, "policy %#x, not SCHED_BATCH|SCHED_RESET_ON_FORK (%#x)",
		   policy, POLICY);
	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	zoo_expect(nice == NICE && !errno, "nice %d, not %d", nice, NICE);
}

static void break_policy(void)
{
	struct sched_param p = {.sched_priority = 0};

	sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &p);
}

static void break_reset_on_fork(void)
{
	struct sched_param p = {.sched_priority = 0};

	sched_setscheduler(0, SCHED_BATCH, &p);
}

static void break_nice(void)
{
	setpriority(PRIO_PROCESS, 0, NICE + 1);
}

static const struct zoo_break breaks[] = {
	{"policy SCHED_OTHER", break_policy},
	{"SCHED_RESET_ON_FORK cleared", break_reset_on_fork},
	{"nice one higher", break_nice},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
