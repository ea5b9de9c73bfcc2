/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Task control and remote system calls over ptrace: the only way stasis acts
 * inside another task (there is no parasite). docs/rsys.md tells the story.
 *
 * A task is one thread. rsys_attach() seizes it and waits until it sits in
 * a ptrace stop ("frozen"); from then on its registers and signal mask are
 * known and it can be made to execute single system calls with
 * rsys_syscall(). rsys_detach() puts everything back (registers, memory,
 * signal mask, pending signals) and lets it go, so that the task cannot tell
 * it was stopped, beyond the time that passed.
 *
 * Every function returns 0 (or a non-negative value) or a negative errno;
 * -ESRCH means the task is gone. All calls for one task must come from the
 * thread that attached it (ptrace's rule).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/x86/regs.h"
#include "base/macro.h"

struct rsys_task;

enum {
	/* PTRACE_O_SUSPEND_SECCOMP: the task's seccomp filters do not see remote syscalls. */
	RSYS_SUSPEND_SECCOMP = 1u << 0,
	/* PTRACE_O_EXITKILL: the task dies if the tracer does (for tasks stasis creates). */
	RSYS_EXIT_KILL = 1u << 1,
};

/*
 * PTRACE_SEIZE tid with `flags` (RSYS_*) and PTRACE_INTERRUPT it, without
 * waiting: seize every thread first, then rsys_wait_frozen() each, so that
 * the threads stop together.
 */
int rsys_seize(pid_t tid, unsigned int flags, struct rsys_task **ret_task);

/*
 * Wait until the seized task stops. A signal that reaches the task first
 * (signal-delivery-stop) is delivered as if it had come just before the
 * freeze (its handler frame is set up, no handler code runs) and the wait
 * goes on. Then the registers and the signal mask are read. If the task was
 * stopped inside an rseq critical section, its rip is moved to the abort
 * handler, as the kernel does when such a task is scheduled again.
 */
int rsys_wait_frozen(struct rsys_task *t);

/* rsys_seize() and rsys_wait_frozen(); on failure the task is detached again. */
int rsys_attach(pid_t tid, unsigned int flags, struct rsys_task **ret_task);

pid_t rsys_task_tid(const struct rsys_task *t);

/* The registers of the frozen task: what it goes on with once detached. */
const struct x86_regs *rsys_task_regs(const struct rsys_task *t);

/* The signals it blocks (for a task inside sigsuspend, ppoll... the mask the call will restore). */
uint64_t rsys_task_sigmask(const struct rsys_task *t);

/* The stop signal if the task was frozen in a group stop (SIGSTOP, SIGTSTP...), else 0. */
int rsys_task_group_stop(const struct rsys_task *t);

/*
 * Make the task execute `nr(args[0..5])` and store the value the syscall
 * returned (-errno on failure, as the raw syscall returns it) in
 * *ret_result. Returns 0 if the call ran, whatever its result, or a negative
 * errno if it could not be run; the task is then as it was. The syscall
 * instruction used is the scratch area's (rsys_mmap_scratch()) if there is
 * one, else two bytes poked at the task's rip and restored at once.
 *
 * The call must not block and must not alter the task's restart block
 * (nanosleep, poll...): signals stay blocked while it runs, so a blocking
 * call waits for good. Between two calls the task stays parked in a syscall
 * stop of ours; rsys_settle() or rsys_detach() returns it to its own stop.
 */
int rsys_syscall(struct rsys_task *t, long nr, const unsigned long args[6], long *ret_result);

/*
 * Map a scratch area in the task with a remote mmap: read, write, execute,
 * private, anonymous. Its first bytes hold the syscall instruction that all
 * further remote syscalls use; *ret_addr is the start of `size` bytes free
 * for data (arguments for remote syscalls, results to read back). addr 0 lets
 * the kernel choose; another address is taken exactly (MAP_FIXED_NOREPLACE),
 * which restore needs to keep the area out of the way of the old layout.
 * -EEXIST if the task already has one.
 */
int rsys_mmap_scratch(struct rsys_task *t, unsigned long addr, size_t size,
		      unsigned long *ret_addr);

/*
 * Unmap it (a munmap executed from inside the area itself). For an area
 * borrowed from another thread, only forget it.
 */
int rsys_munmap_scratch(struct rsys_task *t);

/*
 * Let thread t (of the same process as owner) run its remote syscalls from
 * owner's scratch area: one mapping serves every thread. *ret_addr is the
 * data part, as rsys_mmap_scratch() gives it. The owner unmaps it, after the
 * borrowers are settled or detached. -EEXIST if t has an area already.
 */
int rsys_borrow_scratch(struct rsys_task *t, const struct rsys_task *owner,
			unsigned long *ret_addr);

/*
 * Make the task run clone3() with the struct clone_args at args_addr (in
 * its memory, args_size bytes), which must create a thread of it with id
 * tid (CLONE_THREAD, set_tid). The new thread is attached as it is born and
 * returned frozen, with the same flags as t and t's scratch area borrowed.
 * The syscall's own failure is returned as a negative errno.
 */
int rsys_clone_thread(struct rsys_task *t, unsigned long args_addr, size_t args_size, pid_t tid,
		      struct rsys_task **ret_thread);

/*
 * Copy between the task's memory and ours (process_vm_readv/writev). Writes
 * need a writable mapping. -EFAULT if any byte of the range is not mapped.
 */
int rsys_read_mem(struct rsys_task *t, unsigned long addr, void *buf, size_t len);
int rsys_write_mem(struct rsys_task *t, unsigned long addr, const void *buf, size_t len);

/*
 * Put the task back into the stop it was frozen in: its registers and
 * signal mask restored, stopped inside the kernel's signal code, so that an
 * interrupted syscall is restarted (or fails with EINTR) by the kernel's own
 * logic once the task is detached. A no-op for a task that is already there.
 */
int rsys_settle(struct rsys_task *t);

/*
 * Unmap the scratch area, settle, queue again the signals that had to be
 * held back (see docs/rsys.md), PTRACE_DETACH, and free t, whatever
 * happens. Returns the first error met; -ESRCH if the task is gone (its
 * exit status was collected by rsys: a child of the caller is reaped).
 */
int rsys_detach(struct rsys_task *t);

/*
 * SIGKILL the task, wait until it is gone (its registers are not put back:
 * it never runs again) and free t. For a dump that ends by killing, and for
 * a half-built restored task. 0, or the error of kill().
 */
int rsys_kill(struct rsys_task *t);

/*
 * Start one last syscall of ours in the task and return at once: the call
 * runs on the task's CPU while the caller goes on, and the task runs nothing
 * of its own again (its registers, and a poked instruction, are not put
 * back). Only rsys_kill() may follow once this has changed anything; of a
 * process, kill the leader last (the kernel reports a leader's death only
 * after its other threads are reaped). For a dump that kills: the call
 * keeps the task in the kernel with its memory as it is killed
 * (dump/kill.c). may_poke: the task's code at rip may be patched, if no
 * syscall instruction is at hand (rip's mapping is private). 0 if the call
 * was started; -EBUSY if nothing was done (the task runs under seccomp, is
 * not stopped by rsys, or has no instruction at hand); another error of
 * ptrace.
 */
int rsys_start_last_call(struct rsys_task *t, long nr, const unsigned long args[6], bool may_poke);

static inline void rsys_detachp(struct rsys_task **t)
{
	if (*t)
		(void)rsys_detach(*t);
}
#define _cleanup_rsys_detach_ _cleanup_(rsys_detachp)
