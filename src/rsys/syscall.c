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
 *
 * Faster, and the usual way: PTRACE_SINGLESTEP over the instruction. The
 * kernel runs the call and reports the step on the way out (x86's
 * user_single_step_report(): a SIGTRAP that ptrace sees as a
 * signal-delivery-stop and that is discarded), so a call takes one round
 * trip to the task instead of two. That SIGTRAP is forced like an int3's,
 * so only tasks whose SIGTRAP action is SIG_DFL are stepped (can_step()).
 * Those whose SIGTRAP is ignored or caught, and clone calls whose new thread
 * must be collected at the PTRACE_EVENT_CLONE stop, take the two-stop path.
 * A task parked after a step sits in get_signal(), where rsys_settle()'s
 * interrupt trap finds it as after an exit stop.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

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

/*
 * How a call's run ends: at the syscall stop `op` (PTRACE_SYSCALL, the
 * two-stop path), or at the step's SIGTRAP stop with rip at end_rip
 * (PTRACE_SINGLESTEP), where result is read from rax.
 */
struct call_run {
	int request;
	uint8_t op;
	unsigned long end_rip;
	struct ptrace_syscall_info info;
	long result;
};

/* 1 if this SIGTRAP stop is the end of the step, 0 if not, or a negative errno. */
static int step_ended(struct rsys_task *t, struct call_run *run)
{
	struct x86_regs regs;
	int r = rsys_get_regs(t, &regs);

	if (r < 0)
		return r;
	if (regs.gpr.rip != run->end_rip)
		return 0;
	run->result = (long)regs.gpr.rax;
	r = rsys_hold_sent_trap(t);
	return r < 0 ? r : 1;
}

/* Resume with run->request until the stop that ends the run. */
static int run_to_end(struct rsys_task *t, struct call_run *run)
{
	struct rsys_stop st;
	int r;

	r = rsys_resume(t, run->request, 0);
	while (r == 0) {
		r = rsys_wait_stop(t, &st);
		if (r < 0)
			return r;
		switch (st.kind) {
		case RSYS_STOP_EXITED:
			return -ESRCH;
		case RSYS_STOP_SYSCALL:
			if (run->request != PTRACE_SYSCALL)
				goto unexpected;
			r = get_syscall_info(t, &run->info);
			if (r < 0)
				return r;
			if (run->info.op != run->op) {
				pr_err("Task %d: syscall stop of kind %u where %u was expected",
				       t->tid, run->info.op, run->op);
				return -EIO;
			}
			return 0;
		case RSYS_STOP_SIGNAL:
			if (run->request == PTRACE_SINGLESTEP && st.sig == SIGTRAP) {
				r = step_ended(t, run);
				if (r != 0)
					return r < 0 ? r : 0;
			}
			/* Resuming with 0 discards it: a fault of ours, or one held for later. */
			r = rsys_signal_during_call(t, st.sig);
			if (r == 0)
				r = rsys_resume(t, run->request, 0);
			break;
		case RSYS_STOP_EVENT:
			/* A group stop began meanwhile; the kernel brings it back on detach. */
			r = rsys_resume(t, run->request, 0);
			break;
		case RSYS_STOP_PTRACE:
			/* rsys_clone_thread()'s own clone3(): the new thread is collected there. */
			if (st.event == PTRACE_EVENT_CLONE && t->tracing_clone &&
			    run->request == PTRACE_SYSCALL) {
				r = rsys_resume(t, run->request, 0);
				break;
			}
			goto unexpected;
		}
	}
	return r;
unexpected:
	pr_err("Task %d: unexpected stop (kind %d, event %d) during a remote syscall", t->tid,
	       st.kind, st.event);
	return -EIO;
}

/* Resume with PTRACE_SYSCALL and wait for the next syscall stop, which must be `op`. */
static int run_to_syscall_stop(struct rsys_task *t, uint8_t op,
			       struct ptrace_syscall_info *ret_info)
{
	struct call_run run = {.request = PTRACE_SYSCALL, .op = op};
	int r = run_to_end(t, &run);

	if (r == 0)
		*ret_info = run.info;
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

/* Single-step over the instruction at insn: one stop, past it. */
static int step_call(struct rsys_task *t, unsigned long insn, long *ret_result)
{
	struct call_run run = {.request = PTRACE_SINGLESTEP,
			       .end_rip = insn + X86_SYSCALL_INSN_LEN};
	int r = run_to_end(t, &run);

	if (r == 0)
		*ret_result = run.result;
	return r;
}

/*
 * Only a task whose SIGTRAP action is SIG_DFL is stepped. The step's trap
 * is forced: force_sig() resets an ignored or blocked SIGTRAP's action to
 * SIG_DFL, and a SIGTRAP sent to the thread while the step's is queued
 * merges with it and is lost with it. With SIG_DFL, the reset changes
 * nothing, and the lost SIGTRAP is one that would have killed the task a
 * few microseconds later (docs/rsys.md). A remote rt_sigaction() on SIGTRAP
 * is not stepped either, nor anything after it.
 */
static bool can_step(struct rsys_task *t, long nr, const unsigned long args[6])
{
	if (nr == SYS_rt_sigaction && args[0] == SIGTRAP && args[1] != 0)
		t->sigtrap_not_default = true;
	return !t->sigtrap_not_default && !t->tracing_clone;
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
	if (can_step(t, nr, args))
		return step_call(t, insn, ret_result);
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

/*
 * A blocking call can be interrupted by the signals that stay unblocked
 * during remote calls (SIGSTOP, a fault signal someone sent) and exit with a
 * -ERESTART* code. The kernel turns that code into a restart only on the
 * way back to user space, with the registers it then finds, which are the
 * next call's or the task's own. The signal is held and no handler runs, so
 * the call is run again here as the kernel would restart it: the same
 * call, or restart_syscall() for one that left a restart block.
 */
static int run_call_restarting(struct rsys_task *t, long nr, const unsigned long args[6],
			       unsigned long insn, long *ret_result)
{
	for (;;) {
		struct x86_regs end = {
			.gpr = {.orig_rax = (unsigned long)nr, .rip = insn + X86_SYSCALL_INSN_LEN}};
		long result = 0;
		int r = run_call(t, nr, args, insn, &result);

		if (r < 0)
			return r;
		end.gpr.rax = (unsigned long)result;
		if (!x86_regs_restart_syscall(&end)) {
			*ret_result = result;
			return 0;
		}
		pr_debug("Task %d: remote syscall %ld interrupted (%ld), restarted as %llu", t->tid,
			 nr, result, (unsigned long long)end.gpr.rax);
		nr = (long)end.gpr.rax;
	}
}

int rsys_syscall(struct rsys_task *t, long nr, const unsigned long args[6], long *ret_result)
{
	struct rsys_poke poke;
	unsigned long insn;
	long result = 0;
	int r;

	if (t->state == RSYS_DEAD)
		return -ESRCH;
	if (t->state == RSYS_LAST_CALL)
		return -EBUSY;
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
		r = run_call_restarting(t, nr, args, insn, &result);
	} else {
		insn = t->regs.gpr.rip;
		r = rsys_poke(t, insn, x86_syscall_insn, X86_SYSCALL_INSN_LEN, &poke);
		if (r == 0) {
			r = run_call_restarting(t, nr, args, insn, &result);
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

/*
 * A syscall instruction for a last call: the scratch area's, or the one the
 * task was frozen right after (stopped in a syscall), or else one poked at
 * rip if may_poke. A last call's poke is never undone, so the caller allows
 * it only where rip's mapping is private: in a shared one it would stay in
 * the object, for the others that map it.
 */
static int last_call_insn(struct rsys_task *t, bool may_poke, unsigned long *ret_insn)
{
	unsigned long rip = t->regs.gpr.rip, word;
	struct rsys_poke poke;
	int r;

	if (t->scratch_base) {
		*ret_insn = t->scratch_base;
		return 0;
	}
	errno = 0;
	word = (unsigned long)ptrace(PTRACE_PEEKTEXT, t->tid, (void *)(rip - X86_SYSCALL_INSN_LEN),
				     NULL);
	if (errno == 0 && memcmp(&word, x86_syscall_insn, X86_SYSCALL_INSN_LEN) == 0) {
		*ret_insn = rip - X86_SYSCALL_INSN_LEN;
		return 0;
	}
	if (!may_poke)
		return -EBUSY;
	r = rsys_poke(t, rip, x86_syscall_insn, X86_SYSCALL_INSN_LEN, &poke);
	if (r < 0)
		return r;
	*ret_insn = rip;
	return 0;
}

/*
 * The call is single-stepped: if it ends before the SIGKILL comes, the task
 * stops right after it and never runs the bytes after the instruction.
 * PTRACE_O_EXITKILL: should we die before the SIGKILL, the task must not go
 * on with the call's registers.
 */
int rsys_start_last_call(struct rsys_task *t, long nr, const unsigned long args[6], bool may_poke)
{
	struct x86_regs call = t->regs;
	unsigned long insn;
	int r;

	if ((t->state != RSYS_FROZEN && t->state != RSYS_PARKED) || t->seccomp_mode != 0)
		return -EBUSY;
	if (ptrace(PTRACE_SETOPTIONS, t->tid, NULL,
		   (void *)(rsys_ptrace_options(t->flags) | PTRACE_O_EXITKILL)) < 0)
		return negative_errno();
	r = last_call_insn(t, may_poke, &insn);
	if (r < 0)
		return r;
	t->state = RSYS_LAST_CALL; /* from here on, it cannot go on as it was */
	x86_regs_setup_syscall(&call, nr, args, insn);
	r = rsys_set_regs(t, &call);
	if (r < 0)
		return r;
	if (ptrace(PTRACE_SINGLESTEP, t->tid, NULL, NULL) < 0)
		return negative_errno();
	pr_debug("Task %d: last remote syscall %ld started", t->tid, nr);
	return 0;
}
