/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One remote syscall: block signals (all but the fault signals, see
 * signals.c), load the registers of the call with rip on a `syscall`
 * instruction, run to the syscall-entry stop (check it is ours), run to the
 * syscall-exit stop, read the result. The task stays there, parked, until
 * the next call or rsys_settle().
 *
 * PTRACE_SYSCALL rather than a breakpoint after the instruction: the stops
 * come from ptrace itself, so nothing is forced on the task (an int3 raises
 * SIGTRAP, which the kernel unblocks and resets to its default action if the
 * task blocks it), and the entry stop lets us check, and cancel, the call
 * before the kernel runs it.
 */

#include "arch/x86/syscall.h"
#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

static int get_syscall_info(struct rsys_task *t, struct ptrace_syscall_info *ret_info)
{
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(*ret_info), ret_info) < 0) {
		if (errno == ESRCH)
			return rsys_collect_death(t);
		int r = negative_errno();
		pr_perror("Can't read the syscall stop of %d", t->tid);
		return r;
	}
	return 0;
}

/* Resume with PTRACE_SYSCALL and wait for the next syscall stop, which must be `op`. */
static int run_to_syscall_stop(struct rsys_task *t, uint8_t op,
			       struct ptrace_syscall_info *ret_info)
{
	struct rsys_stop st;
	int r;

	r = rsys_resume(t, PTRACE_SYSCALL, 0);
	while (r == 0) {
		r = rsys_wait_stop(t, &st);
		if (r < 0)
			return r;
		switch (st.kind) {
		case RSYS_STOP_EXITED:
			return -ESRCH;
		case RSYS_STOP_SYSCALL:
			r = get_syscall_info(t, ret_info);
			if (r < 0)
				return r;
			if (ret_info->op != op) {
				pr_err("Task %d: syscall stop of kind %u where %u was expected",
				       t->tid, ret_info->op, op);
				return -EIO;
			}
			return 0;
		case RSYS_STOP_SIGNAL:
			/* Resuming with 0 discards it: a fault of ours, or one held for later. */
			r = rsys_signal_during_call(t, st.sig);
			if (r < 0)
				return r;
			r = rsys_resume(t, PTRACE_SYSCALL, 0);
			break;
		case RSYS_STOP_EVENT:
			/* A group stop began meanwhile; the kernel brings it back on detach. */
			r = rsys_resume(t, PTRACE_SYSCALL, 0);
			break;
		case RSYS_STOP_PTRACE:
			/* rsys_clone_thread()'s own clone3(): the new thread is collected there. */
			if (st.event == PTRACE_EVENT_CLONE && t->tracing_clone) {
				r = rsys_resume(t, PTRACE_SYSCALL, 0);
				break;
			}
			pr_err("Task %d: unexpected ptrace event %d during a remote syscall",
			       t->tid, st.event);
			return -EIO;
		}
	}
	return r;
}

/* At a syscall-entry stop that is not ours: make the kernel skip the call. */
static int cancel_syscall(struct rsys_task *t)
{
	struct ptrace_syscall_info info;
	struct x86_regs regs;
	int r;

	r = rsys_get_regs(t, &regs);
	if (r < 0)
		return r;
	regs.gpr.orig_rax = (unsigned long)-1;
	r = rsys_set_regs(t, &regs);
	if (r < 0)
		return r;
	return run_to_syscall_stop(t, PTRACE_SYSCALL_INFO_EXIT, &info);
}

static int run_call(struct rsys_task *t, long nr, const unsigned long args[6], unsigned long insn,
		    long *ret_result)
{
	struct ptrace_syscall_info info;
	struct x86_regs call = t->regs;
	int r;

	x86_regs_setup_syscall(&call, nr, args, insn);
	r = rsys_set_regs(t, &call);
	if (r < 0)
		return r;
	r = run_to_syscall_stop(t, PTRACE_SYSCALL_INFO_ENTRY, &info);
	if (r < 0)
		return r;
	if (info.entry.nr != (uint64_t)nr ||
	    info.instruction_pointer != insn + X86_SYSCALL_INSN_LEN) {
		pr_err("Task %d entered syscall %llu at %#llx instead of %ld at %#lx", t->tid,
		       (unsigned long long)info.entry.nr,
		       (unsigned long long)info.instruction_pointer, nr,
		       insn + X86_SYSCALL_INSN_LEN);
		r = cancel_syscall(t);
		return r < 0 ? r : -EIO;
	}
	r = run_to_syscall_stop(t, PTRACE_SYSCALL_INFO_EXIT, &info);
	if (r < 0)
		return r;
	*ret_result = (long)info.exit.rval;
	return 0;
}

int rsys_syscall(struct rsys_task *t, long nr, const unsigned long args[6], long *ret_result)
{
	struct rsys_poke poke;
	unsigned long insn;
	long result = 0;
	int r;

	if (t->state == RSYS_DEAD)
		return -ESRCH;
	if (t->state == RSYS_SEIZED)
		return -EINVAL;
	/* A filter may kill the task, or trap the call and leave it a SIGSYS of ours. */
	if (t->seccomp_mode != 0 && !(t->flags & RSYS_SUSPEND_SECCOMP)) {
		pr_err("Task %d runs under seccomp (mode %d): remote syscalls need its filters "
		       "suspended (RSYS_SUSPEND_SECCOMP, which takes CAP_SYS_ADMIN)",
		       t->tid, t->seccomp_mode);
		return -EPERM;
	}
	if (t->state == RSYS_FROZEN) {
		r = rsys_set_sigmask(t, rsys_call_sigmask());
		if (r < 0)
			return r;
		t->state = RSYS_PARKED;
	}

	if (t->scratch_base != 0) {
		insn = t->scratch_base;
		r = run_call(t, nr, args, insn, &result);
	} else {
		insn = t->regs.gpr.rip;
		r = rsys_poke(t, insn, x86_syscall_insn, X86_SYSCALL_INSN_LEN, &poke);
		if (r == 0) {
			r = run_call(t, nr, args, insn, &result);
			if (t->state != RSYS_DEAD) {
				int r2 = rsys_unpoke(t, &poke);
				if (r == 0)
					r = r2;
			}
		}
	}
	if (r < 0) {
		if (t->state == RSYS_PARKED)
			(void)rsys_settle(t);
		return r;
	}
	pr_debug("Task %d: remote syscall %ld returned %ld", t->tid, nr, result);
	*ret_result = result;
	return 0;
}
