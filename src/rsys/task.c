/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seizing, freezing, settling and detaching one task (thread).
 *
 * The task is frozen in a PTRACE_EVENT_STOP: the trap PTRACE_INTERRUPT
 * asked for, or the group stop it was already in. That stop is taken inside
 * the kernel's signal code (get_signal()), before the kernel decides whether
 * an interrupted syscall restarts. Whatever rsys does in between, the task
 * is brought back into such a stop with its own registers before it is let
 * go, so the kernel makes that decision itself, as if rsys had never been
 * there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

int rsys_get_regs(struct rsys_task *t, struct x86_regs *ret_regs)
{
	int r = x86_regs_get(t->tid, ret_regs);

	return r == -ESRCH ? rsys_collect_death(t) : r;
}

int rsys_set_regs(struct rsys_task *t, const struct x86_regs *regs)
{
	int r = x86_regs_set(t->tid, regs);

	return r == -ESRCH ? rsys_collect_death(t) : r;
}

unsigned long rsys_ptrace_options(unsigned int flags)
{
	unsigned long options = PTRACE_O_TRACESYSGOOD;

	if (flags & RSYS_SUSPEND_SECCOMP)
		options |= PTRACE_O_SUSPEND_SECCOMP;
	if (flags & RSYS_EXIT_KILL)
		options |= PTRACE_O_EXITKILL;
	return options;
}

int rsys_seize(pid_t tid, unsigned int flags, struct rsys_task **ret_task)
{
	unsigned long options = rsys_ptrace_options(flags);
	_cleanup_free_ struct rsys_task *t = NULL;
	int r;

	if (flags & ~(RSYS_SUSPEND_SECCOMP | RSYS_EXIT_KILL))
		return -EINVAL;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tid = tid;
	t->flags = flags;
	t->state = RSYS_SEIZED;

	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0) {
		r = negative_errno();
		pr_perror("Can't seize task %d", tid);
		return r;
	}
	r = rsys_interrupt(t);
	if (r < 0)
		return r;
	*ret_task = TAKE_PTR(t);
	return 0;
}

/* A signal beat the interrupt: let the kernel deliver it, then stop again. */
static int deliver_signal(struct rsys_task *t, int sig)
{
	int r;

	pr_info("Task %d: delivering signal %d that arrived while it was being frozen", t->tid,
		sig);
	/* Before resuming: the signal-delivery-stop cleared the pending interrupt. */
	r = rsys_interrupt(t);
	if (r < 0)
		return r;
	return rsys_resume(t, PTRACE_CONT, sig);
}

/*
 * Of /proc/TID/status: the "Seccomp:" field (0 none, 1 strict, 2 filter) and
 * whether SIGTRAP's action is not SIG_DFL ("SigIgn:" and "SigCgt:", hex
 * masks where bit 4 is SIGTRAP).
 */
static int read_status(pid_t tid, int *ret_mode, bool *ret_trap_not_default)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[256];

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f) {
		int r = negative_errno();
		pr_perror("Can't open %s", path);
		return r;
	}
	unsigned long long ign = ~0ULL, cgt = ~0ULL; /* unknown: as if not SIG_DFL */
	int mode = 0; /* kernels without CONFIG_SECCOMP have no such line, and no filters */

	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigIgn: %llx", &ign) != 1 &&
		    sscanf(line, "SigCgt: %llx", &cgt) != 1)
			(void)sscanf(line, "Seccomp: %d", &mode);
	*ret_mode = mode;
	*ret_trap_not_default = (ign | cgt) & (1ULL << (SIGTRAP - 1));
	return 0;
}

int rsys_capture(struct rsys_task *t, int stop_sig)
{
	bool changed;
	int r;

	t->state = RSYS_FROZEN;
	t->group_stop = stop_sig == SIGTRAP ? 0 : stop_sig;
	r = rsys_get_regs(t, &t->regs);
	if (r < 0)
		return r;
	r = rsys_get_sigmask(t, &t->sigmask);
	if (r < 0)
		return r;
	r = read_status(t->tid, &t->seccomp_mode, &t->sigtrap_not_default);
	if (r < 0)
		return r;
	r = rsys_rseq_fixup(t, &changed);
	if (r < 0)
		return r;
	if (changed)
		r = rsys_set_regs(t, &t->regs);
	if (r < 0)
		return r;
	pr_debug("Task %d frozen at rip %#llx (orig_rax %lld, rax %lld), group stop %d", t->tid,
		 t->regs.gpr.rip, (long long)t->regs.gpr.orig_rax, (long long)t->regs.gpr.rax,
		 t->group_stop);
	return 0;
}

int rsys_wait_frozen(struct rsys_task *t)
{
	struct rsys_stop st;
	int r;

	if (t->state == RSYS_DEAD)
		return -ESRCH;
	if (t->state == RSYS_LAST_CALL)
		return -EBUSY;
	if (t->state != RSYS_SEIZED)
		return 0;
	for (;;) {
		r = rsys_wait_stop(t, &st);
		if (r < 0)
			return r;
		switch (st.kind) {
		case RSYS_STOP_EXITED:
			return -ESRCH;
		case RSYS_STOP_EVENT:
			return rsys_capture(t, st.sig);
		case RSYS_STOP_SIGNAL:
			r = deliver_signal(t, st.sig);
			break;
		case RSYS_STOP_SYSCALL:
		case RSYS_STOP_PTRACE:
			/* Not asked for; go on to the interrupt's trap. */
			pr_warn("Task %d: unexpected stop (event %d) while freezing", t->tid,
				st.event);
			r = rsys_interrupt(t);
			if (r == 0)
				r = rsys_resume(t, PTRACE_CONT, 0);
			break;
		}
		if (r < 0)
			return r;
	}
}

int rsys_attach(pid_t tid, unsigned int flags, struct rsys_task **ret_task)
{
	_cleanup_rsys_detach_ struct rsys_task *t = NULL;
	int r;

	r = rsys_seize(tid, flags, &t);
	if (r < 0)
		return r;
	r = rsys_wait_frozen(t);
	if (r < 0)
		return r;
	*ret_task = TAKE_PTR(t);
	return 0;
}

pid_t rsys_task_tid(const struct rsys_task *t)
{
	return t->tid;
}

const struct x86_regs *rsys_task_regs(const struct rsys_task *t)
{
	return &t->regs;
}

uint64_t rsys_task_sigmask(const struct rsys_task *t)
{
	return t->sigmask;
}

int rsys_task_group_stop(const struct rsys_task *t)
{
	return t->group_stop;
}

/* Wait for the trap asked for by PTRACE_INTERRUPT before the last resume. */
static int wait_trap(struct rsys_task *t)
{
	struct rsys_stop st;
	int r;

	for (;;) {
		r = rsys_wait_stop(t, &st);
		if (r < 0)
			return r;
		if (st.kind == RSYS_STOP_EXITED)
			return -ESRCH;
		if (st.kind == RSYS_STOP_EVENT)
			return 0;
		/* get_signal() takes the trap before dequeuing signals; be safe anyway. */
		if (st.kind == RSYS_STOP_SIGNAL)
			rsys_hold_signal(t, st.sig);
		else
			pr_warn("Task %d: unexpected stop (kind %d) while settling", t->tid,
				st.kind);
		r = rsys_interrupt(t);
		if (r == 0)
			r = rsys_resume(t, PTRACE_CONT, 0);
		if (r < 0)
			return r;
	}
}

int rsys_settle(struct rsys_task *t)
{
	int r;

	if (t->state == RSYS_DEAD)
		return -ESRCH;
	if (t->state == RSYS_LAST_CALL)
		return -EBUSY;
	if (t->state != RSYS_PARKED)
		return 0;
	r = rsys_set_regs(t, &t->regs);
	if (r < 0)
		return r;
	r = rsys_set_sigmask(t, t->sigmask);
	if (r < 0)
		return r;
	/*
	 * The task sits in a syscall-exit stop. With a trap pending, it stops
	 * again in get_signal() on its way back to user space, before any
	 * restart decision and before any signal is dequeued.
	 */
	r = rsys_interrupt(t);
	if (r == 0)
		r = rsys_resume(t, PTRACE_CONT, 0);
	if (r == 0)
		r = wait_trap(t);
	if (r < 0) {
		pr_err("Task %d could not be put back into its stop", t->tid);
		return r;
	}
	t->state = RSYS_FROZEN;
	return 0;
}

static void keep_first_error(int *ret, int r)
{
	if (*ret == 0 && r < 0)
		*ret = r;
}

/* Its last call (rsys_start_last_call) may have ended in a stop before the SIGKILL came. */
static void collect_death_after_call(struct rsys_task *t)
{
	struct rsys_stop st;

	while (rsys_wait_stop(t, &st) == 0 && st.kind != RSYS_STOP_EXITED)
		;
}

int rsys_kill(struct rsys_task *t)
{
	int r = 0;

	if (!t)
		return 0;
	if (kill(t->tid, SIGKILL) < 0 && errno != ESRCH)
		r = negative_errno();
	else if (t->state == RSYS_LAST_CALL)
		collect_death_after_call(t);
	else if (t->state != RSYS_DEAD)
		(void)rsys_collect_death(t); /* -ESRCH once the exit is seen: what we want */
	free(t);
	return r;
}

int rsys_detach(struct rsys_task *t)
{
	int ret = 0;

	if (!t)
		return 0;
	if (t->state == RSYS_LAST_CALL) /* it cannot go on as it was */
		return rsys_kill(t);
	if (t->state == RSYS_SEIZED)
		keep_first_error(&ret, rsys_wait_frozen(t));
	if (t->scratch_base != 0 && t->state != RSYS_DEAD)
		keep_first_error(&ret, rsys_munmap_scratch(t));
	if (t->state == RSYS_PARKED)
		keep_first_error(&ret, rsys_settle(t));
	if (t->state != RSYS_DEAD) {
		keep_first_error(&ret, rsys_requeue_held(t));
		if (ptrace(PTRACE_DETACH, t->tid, NULL, NULL) < 0) {
			int r = negative_errno();
			pr_perror("Can't detach from task %d", t->tid);
			keep_first_error(&ret, r);
		}
	} else {
		keep_first_error(&ret, -ESRCH);
	}
	free(t);
	return ret;
}
