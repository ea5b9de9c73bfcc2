/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The blocked-signal mask of a stopped task, and signals that had to be held
 * back while it ran remote syscalls.
 *
 * PTRACE_GETSIGMASK gives the mask the task will run with: for a task
 * inside sigsuspend(), ppoll(), pselect6() or epoll_pwait() with a temporary
 * mask, the saved one that the kernel would restore (Linux 5.2+).
 * PTRACE_SETSIGMASK sets it and drops the "restore the saved mask" flag, so
 * writing back what GETSIGMASK read is exactly what the kernel does when the
 * task resumes without running a handler; an interrupted sigsuspend() that
 * is restarted then installs its temporary mask again.
 */
#include <signal.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

/* The kernel's sigset_t on x86_64: 64 bits, signal n is bit n-1. */
#define KERNEL_SIGSET_SIZE sizeof(uint64_t)

int rsys_get_sigmask(struct rsys_task *t, uint64_t *ret_mask)
{
	uint64_t mask;

	if (ptrace(PTRACE_GETSIGMASK, t->tid, (void *)KERNEL_SIGSET_SIZE, &mask) < 0) {
		if (errno == ESRCH)
			return rsys_collect_death(t);
		int r = negative_errno();
		pr_perror("Can't read the signal mask of %d", t->tid);
		return r;
	}
	*ret_mask = mask;
	return 0;
}

int rsys_set_sigmask(struct rsys_task *t, uint64_t mask)
{
	if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)KERNEL_SIGSET_SIZE, &mask) < 0) {
		if (errno == ESRCH)
			return rsys_collect_death(t);
		int r = negative_errno();
		pr_perror("Can't set the signal mask of %d", t->tid);
		return r;
	}
	return 0;
}

#define SIGBIT(sig) (1ULL << ((sig)-1))

/*
 * The signals the kernel raises when the running code faults. They stay
 * unblocked during a remote syscall: force_sig() resets the handler of a
 * blocked signal to SIG_DFL, which would destroy the task's handler if our
 * injected code ever faulted (or a seccomp filter trapped our call).
 */
#define FAULT_SIGNALS                                                                           \
	(SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | SIGBIT(SIGFPE) | SIGBIT(SIGTRAP) | \
	 SIGBIT(SIGSYS))

uint64_t rsys_call_sigmask(void)
{
	return ~FAULT_SIGNALS;
}

static int get_siginfo(struct rsys_task *t, siginfo_t *ret_si)
{
	if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, ret_si) < 0) {
		if (errno == ESRCH)
			return rsys_collect_death(t);
		int r = negative_errno();
		pr_perror("Can't read the siginfo of %d", t->tid);
		return r;
	}
	return 0;
}

int rsys_signal_during_call(struct rsys_task *t, int sig)
{
	siginfo_t si;
	int r;

	if (sig >= 1 && sig <= 64 && (FAULT_SIGNALS & SIGBIT(sig))) {
		r = get_siginfo(t, &si);
		if (r < 0)
			return r;
		/* Raised by the kernel (si_code > 0), not sent: the injected code faulted. */
		if (si.si_code > 0) {
			pr_err("Remote syscall in %d faulted: signal %d (code %d, address %p)",
			       t->tid, sig, si.si_code, si.si_addr);
			return -EFAULT;
		}
	}
	rsys_hold_signal(t, sig);
	return 0;
}

/*
 * At the SIGTRAP stop that ends a single-stepped call: a SIGTRAP someone sent
 * (si_code <= 0) took the step's place in the queue; it is held like any
 * signal that arrives during a call. The step's own is discarded.
 */
int rsys_hold_sent_trap(struct rsys_task *t)
{
	siginfo_t si;
	int r = get_siginfo(t, &si);

	if (r < 0)
		return r;
	if (si.si_code <= 0)
		rsys_hold_signal(t, SIGTRAP);
	return 0;
}

void rsys_hold_signal(struct rsys_task *t, int sig)
{
	if (sig < 1 || sig > 64)
		return;
	pr_info("Task %d: signal %d arrived during a remote syscall, held until detach", t->tid,
		sig);
	t->held |= SIGBIT(sig);
}

/*
 * Signals are blocked during a remote syscall, so the only ones that can be
 * taken out of the queue are SIGSTOP, which cannot be blocked (SIGKILL never
 * reaches us), and a fault signal that someone sent with kill(). Each is sent
 * again to the same thread with tkill(): SIGSTOP's siginfo is seen by nobody;
 * a sent SIGSEGV & co. loses its original sender's siginfo.
 */
int rsys_requeue_held(struct rsys_task *t)
{
	int ret = 0;

	for (int sig = 1; sig <= 64; sig++) {
		if (!(t->held & SIGBIT(sig)))
			continue;
		if (syscall(SYS_tkill, t->tid, sig) < 0) {
			int r = negative_errno();
			pr_perror("Can't send signal %d back to %d", sig, t->tid);
			if (ret == 0)
				ret = r;
			continue;
		}
		pr_info("Task %d: held signal %d queued again", t->tid, sig);
	}
	t->held = 0;
	return ret;
}
