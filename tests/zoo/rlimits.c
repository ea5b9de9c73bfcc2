/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resource limits: soft and hard limits set to unusual values, all lower
 * than where they started (raising a hard limit would need CAP_SYS_RESOURCE,
 * which the test machine does not give).
 */
#include <sys/resource.h>

#include "zoo.h"

struct limit {
	int resource;
	const char *name;
	rlim_t soft, hard; /* asked; a hard limit never above the current one */
	struct rlimit set; /* what the kernel reported after setup */
};

static struct limit limits[] = {
	{RLIMIT_NOFILE, "RLIMIT_NOFILE", 777, 4000},
	{RLIMIT_CORE, "RLIMIT_CORE", 0, 8 << 20},
	{RLIMIT_STACK, "RLIMIT_STACK", 6 << 20, RLIM_INFINITY},
	{RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", 12345, 400000},
	{RLIMIT_CPU, "RLIMIT_CPU", 36000, 72000},
};

static void setup(void)
{
	for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
		struct limit *l = &limits[i];
		struct rlimit r;

		if (getrlimit(l->resource, &r))
			zoo_setup_failed("getrlimit(%s): %m", l->name);
		r.rlim_max = MIN(r.rlim_max, l->hard);
		r.rlim_cur = MIN(l->soft, r.rlim_max);
		if (setrlimit(l->resource, &r) || getrlimit(l->resource, &l->set))
			zoo_setup_failed("setrlimit(%s): %m", l->name);
	}
}

static void check(void)
{
	for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
		const struct limit *l = &limits[i];
		struct rlimit r;

		if (!zoo_expect(getrlimit(l->resource, &r) == 0, "getrlimit(%s): %m", l->name))
			continue;
		zoo_expect(r.rlim_cur == l->set.rlim_cur && r.rlim_max == l->set.rlim_max,
			   "%s is %llu/%llu, not %llu/%llu", l->name,
			   (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max,
			   (unsigned long long)l->set.rlim_cur,
			   (unsigned long long)l->set.rlim_max);
	}
}

static void change(int resource, long soft_delta, long hard_delta)
{
	struct rlimit r;

	getrlimit(resource, &r);
	r.rlim_cur += soft_delta;
	r.rlim_max += hard_delta;
	if (setrlimit(resource, &r))
		zoo_die("break: setrlimit: %m");
}

static void break_nofile(void)
{
	change(RLIMIT_NOFILE, -1, 0);
}

static void break_core(void)
{
	change(RLIMIT_CORE, 4096, 0);
}

static void break_msgqueue(void)
{
	change(RLIMIT_MSGQUEUE, 0, -1);
}

static const struct zoo_break breaks[] = {
	{"RLIMIT_NOFILE soft limit lowered by one", break_nofile},
	{"RLIMIT_CORE soft limit raised", break_core},
	{"RLIMIT_MSGQUEUE hard limit lowered by one", break_msgqueue},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
