/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Per-task state. What only the task can set is done by remote syscalls
 * (personality, name, futex and tid addresses, prctl flags); what
 * may be set from outside is set by the controller (resource limits,
 * scheduling, oom_score_adj), which needs no scratch memory and gives the
 * same result: the task is ours, with our credentials (creds.c changes them
 * last).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

static const char *const rlimit_names[] = {
	"RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
	"RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
	"RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

/*
 * Raising a hard limit needs CAP_SYS_RESOURCE. Without it the task keeps
 * the hard limit it has, with the soft limit capped by it, and a warning.
 */
static int set_rlimit(struct rst_ctx *c, int res, const RlimitEntry *want)
{
	struct rlimit lim = {.rlim_cur = want->cur, .rlim_max = want->max}, cur;
	const char *name = (size_t)res < ELEMENTSOF(rlimit_names) ? rlimit_names[res] : "?";

	if (prlimit(c->pid, res, &lim, NULL) == 0)
		return 0;
	if (errno != EPERM || prlimit(c->pid, res, NULL, &cur) < 0 || want->max <= cur.rlim_max) {
		int r = negative_errno();
		rst_err(c, "cannot set %s to %llu/%llu: %s", name, (unsigned long long)want->cur,
			(unsigned long long)want->max, strerror(-r));
		return r;
	}
	rst_warn(c,
		 "%s: the hard limit %llu is above this one's %llu and cannot be raised "
		 "without CAP_SYS_RESOURCE; keeping %llu",
		 name, (unsigned long long)want->max, (unsigned long long)cur.rlim_max,
		 (unsigned long long)cur.rlim_max);
	lim = (struct rlimit){.rlim_cur = MIN(want->cur, cur.rlim_max), .rlim_max = cur.rlim_max};
	if (prlimit(c->pid, res, &lim, NULL) < 0) {
		int r = negative_errno();
		rst_err(c, "cannot set %s to %llu/%llu: %s", name, (unsigned long long)lim.rlim_cur,
			(unsigned long long)lim.rlim_max, strerror(-r));
		return r;
	}
	return 0;
}

static int set_rlimits(struct rst_ctx *c)
{
	const TaskRlimitsEntry *rl = c->img.core->tc->rlimits;

	for (size_t i = 0; rl && i < rl->n_rlimits && i < RLIM_NLIMITS; i++) {
		int r = set_rlimit(c, (int)i, rl->rlimits[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

static int remote_ok(struct rst_ctx *c, long res, const char *what)
{
	if (res >= 0)
		return 0;
	rst_err(c, "%s failed: %s", what, strerror((int)-res));
	return (int)res;
}

static int set_name(struct rst_ctx *c)
{
	const CoreEntry *core = c->img.core;
	const char *comm = core->thread_core->comm ? core->thread_core->comm
			   : core->tc              ? core->tc->comm
						   : NULL;
	char name[16] = "";
	unsigned long addr;
	int r;

	snprintf(name, sizeof(name), "%s", comm ? comm : "");
	r = rst_scratch_put(c, 0, name, sizeof(name), &addr);
	if (r < 0)
		return r;
	return remote_ok(c, rst_sys(c, __NR_prctl, PR_SET_NAME, addr, 0, 0, 0),
			 "prctl(PR_SET_NAME)");
}

static int set_addresses(struct rst_ctx *c)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;
	int r;

	r = remote_ok(c, rst_sys(c, __NR_set_tid_address, c->img.core->thread_info->clear_tid_addr),
		      "set_tid_address");
	if (r == 0 && tc->futex_rla_len)
		r = remote_ok(c, rst_sys(c, __NR_set_robust_list, tc->futex_rla, tc->futex_rla_len),
			      "set_robust_list");
	return r;
}

/* (The parent-death signal comes after the credentials, which reset it: creds.c.) */
static int set_prctl_flags(struct rst_ctx *c)
{
	const CoreEntry *core = c->img.core;

	if (core->tc->has_child_subreaper && core->tc->child_subreaper)
		return remote_ok(c, rst_sys(c, __NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0),
				 "prctl(PR_SET_CHILD_SUBREAPER)");
	return 0;
}

/* The task has stasis's slack; PR_SET_TIMERSLACK 0 would mean the default, so skip 0. */
static int set_timer_slack(struct rst_ctx *c)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;

	if (!tc->has_timer_slack_ns || !tc->timer_slack_ns)
		return 0;
	return remote_ok(c, rst_sys(c, __NR_prctl, PR_SET_TIMERSLACK, tc->timer_slack_ns, 0, 0, 0),
			 "prctl(PR_SET_TIMERSLACK)");
}

static int set_sched(struct rst_ctx *c)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;

	if (tc->has_sched_policy) {
		struct sched_param p = {.sched_priority =
						tc->has_sched_prio ? (int)tc->sched_prio : 0};

		if (sched_getscheduler(c->tid) != (int)tc->sched_policy || p.sched_priority) {
			if (sched_setscheduler(c->tid, (int)tc->sched_policy, &p) < 0) {
				int r = negative_errno();
				rst_err(c, "cannot set scheduling policy %u, priority %d: %s",
					tc->sched_policy, p.sched_priority, strerror(-r));
				return r;
			}
		}
	}
	if (tc->has_sched_nice) {
		errno = 0;
		int cur = getpriority(PRIO_PROCESS, (id_t)c->tid);

		if ((cur != tc->sched_nice || errno) &&
		    setpriority(PRIO_PROCESS, (id_t)c->tid, tc->sched_nice) < 0) {
			int r = negative_errno();
			rst_err(c, "cannot set nice %d: %s", tc->sched_nice, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Lowering it needs CAP_SYS_RESOURCE: without it, warn and keep the inherited value. */
static int set_oom_score_adj(struct rst_ctx *c)
{
	const TaskCoreEntry *tc = c->img.core->tc;
	char path[64];
	_cleanup_fclose_ FILE *f = NULL;

	if (!tc->has_oom_score_adj)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)c->pid);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%d", tc->oom_score_adj) < 0 || fflush(f) != 0) {
		int r = negative_errno();
		if (r == -EACCES || r == -EPERM) {
			rst_warn(c,
				 "cannot set oom_score_adj to %d without CAP_SYS_RESOURCE; "
				 "keeping the inherited one",
				 tc->oom_score_adj);
			return 0;
		}
		rst_err(c, "cannot set oom_score_adj to %d: %s", tc->oom_score_adj, strerror(-r));
		return r;
	}
	return 0;
}

int rst_task_state(struct rst_ctx *c)
{
	int r;

	r = set_rlimits(c);
	if (r == 0)
		r = remote_ok(c, rst_sys(c, __NR_personality, c->img.core->tc->personality),
			      "personality");
	if (r == 0)
		r = set_prctl_flags(c);
	if (r == 0)
		r = set_oom_score_adj(c);
	return r;
}

int rst_thread_state(struct rst_ctx *c)
{
	int r;

	r = set_name(c);
	if (r == 0)
		r = set_addresses(c);
	if (r == 0)
		r = set_timer_slack(c);
	if (r == 0)
		r = set_sched(c);
	return r;
}
