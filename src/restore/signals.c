/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signal state made by the task itself: handlers (rt_sigaction), the
 * alternate stack (sigaltstack), and the signals that were pending, queued
 * again with their siginfo (the kernel lets only a task queue a siginfo of
 * its own making to itself). The blocked mask is set last, with the
 * registers (finish.c): remote syscalls run with every signal blocked.
 */
#include <signal.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

/* The kernel's struct sigaction on x86_64 (rt_sigaction takes it, not glibc's). */
struct kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#define KERNEL_NSIG 64
#define SIGINFO_SIZE 128

/* CRIU saves one entry per signal 1..64 except SIGKILL and SIGSTOP, in order. */
static int set_actions(struct rst_ctx *c)
{
	const TaskCoreEntry *tc = c->img.core->tc;
	struct kernel_sigaction acts[KERNEL_NSIG];
	int sigs[KERNEL_NSIG];
	unsigned long base;
	size_t n = 0;
	int r;

	for (int sig = 1; sig <= KERNEL_NSIG && n < tc->n_sigactions; sig++) {
		const SaEntry *sa = tc->sigactions[n];

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		acts[n] =
			(struct kernel_sigaction){sa->sigaction, sa->flags, sa->restorer, sa->mask};
		sigs[n++] = sig;
	}
	if (n != tc->n_sigactions) {
		rst_err(c, "core-%d.img holds %zu signal actions, more than there are signals",
			c->pid, tc->n_sigactions);
		return -EBADMSG;
	}
	r = rst_scratch_put(c, 0, acts, n * sizeof(acts[0]), &base);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		long res;

		/* The task starts with every action as exec leaves it (fork.c): all zero. */
		if (!acts[i].handler && !acts[i].flags && !acts[i].restorer && !acts[i].mask)
			continue;
		res = rst_sys(c, __NR_rt_sigaction, sigs[i], base + i * sizeof(acts[0]), 0,
			      sizeof(uint64_t));

		if (res < 0) {
			rst_err(c, "rt_sigaction(%d) failed: %s", sigs[i], strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

/* The task inherited stasis's alternate stack, if any: always set it. */
static int set_altstack(struct rst_ctx *c)
{
	const ThreadSasEntry *sas = c->img.core->thread_core->sas;
	stack_t ss = {.ss_flags = SS_DISABLE};
	unsigned long addr;
	long res;
	int r;

	/* SS_ONSTACK is a state (running on it), not a setting. */
	if (sas && !(sas->ss_flags & SS_DISABLE))
		ss = (stack_t){.ss_sp = (void *)(uintptr_t)sas->ss_sp,
			       .ss_flags = (int)(sas->ss_flags & ~(uint32_t)SS_ONSTACK),
			       .ss_size = sas->ss_size};
	r = rst_scratch_put(c, 0, &ss, sizeof(ss), &addr);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_sigaltstack, addr, 0);
	if (res < 0) {
		rst_err(c, "sigaltstack(%p, %zu bytes) failed: %s", ss.ss_sp, ss.ss_size,
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

static int queue(struct rst_ctx *c, const SignalQueueEntry *q, bool shared)
{
	for (size_t i = 0; q && i < q->n_signals; i++) {
		const ProtobufCBinaryData *si = &q->signals[i]->siginfo;
		unsigned long addr;
		int sig, r;
		long res;

		if (si->len != SIGINFO_SIZE) {
			rst_err(c, "a pending signal has a siginfo of %zu bytes, not %d", si->len,
				SIGINFO_SIZE);
			return -EBADMSG;
		}
		memcpy(&sig, si->data, sizeof(sig));
		r = rst_scratch_put(c, 0, si->data, si->len, &addr);
		if (r < 0)
			return r;
		if (shared)
			res = rst_sys(c, __NR_rt_sigqueueinfo, c->pid, sig, addr);
		else
			res = rst_sys(c, __NR_rt_tgsigqueueinfo, c->pid, c->tid, sig, addr);
		if (res < 0) {
			rst_err(c, "cannot queue the pending signal %d again: %s", sig,
				strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

int rst_signals(struct rst_ctx *c)
{
	int r;

	r = set_actions(c);
	if (r == 0)
		r = queue(c, c->img.core->tc->signals_s, true);
	return r;
}

int rst_thread_signals(struct rst_ctx *c)
{
	int r;

	r = set_altstack(c);
	if (r == 0)
		r = queue(c, c->img.core->thread_core->signals_p, false);
	return r;
}
