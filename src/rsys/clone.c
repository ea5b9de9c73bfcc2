/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A new thread made by a remote clone3() (restore: threads get their old
 * ids with set_tid). PTRACE_O_TRACECLONE is on for that one call, so the
 * kernel attaches the new thread to us before it runs a single instruction;
 * it starts in a PTRACE_EVENT_STOP, where it is taken as frozen: its
 * "own" registers are those clone3() gave it (the caller's, rax 0, rip after
 * the syscall instruction of the scratch area), which the restore replaces
 * before letting it go.
 */
#include <signal.h>
#include <stdlib.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "compat/syscalls.h"
#include "rsys/internal.h"

static int set_options(struct rsys_task *t, unsigned long options)
{
	if (ptrace(PTRACE_SETOPTIONS, t->tid, NULL, (void *)options) == 0)
		return 0;
	if (errno == ESRCH)
		return rsys_collect_death(t);
	int r = negative_errno();
	pr_perror("Can't set the ptrace options of task %d", t->tid);
	return r;
}

/* The new thread's first stop: the one the kernel gives an auto-attached tracee. */
static int adopt(struct rsys_task *creator, pid_t tid, struct rsys_task **ret)
{
	_cleanup_free_ struct rsys_task *t = calloc(1, sizeof(*t));
	struct rsys_stop st;
	int r;

	if (!t)
		return -ENOMEM;
	*t = (struct rsys_task){.tid = tid, .flags = creator->flags, .state = RSYS_SEIZED};
	for (;;) {
		r = rsys_wait_stop(t, &st);
		if (r < 0)
			return r;
		if (st.kind == RSYS_STOP_EXITED)
			return -ESRCH;
		if (st.kind == RSYS_STOP_EVENT)
			break;
		/* Nothing else is expected before its first stop; a signal waits. */
		if (st.kind == RSYS_STOP_SIGNAL)
			rsys_hold_signal(t, st.sig);
		r = rsys_resume(t, PTRACE_CONT, 0);
		if (r < 0)
			return r;
	}
	r = set_options(t, rsys_ptrace_options(t->flags));
	if (r == 0)
		r = rsys_capture(t, SIGTRAP);
	if (r == 0)
		r = rsys_borrow_scratch(t, creator, &(unsigned long){0});
	if (r < 0)
		return r;
	*ret = TAKE_PTR(t);
	return 0;
}

int rsys_clone_thread(struct rsys_task *t, unsigned long args_addr, size_t args_size, pid_t tid,
		      struct rsys_task **ret_thread)
{
	const unsigned long args[6] = {args_addr, args_size};
	long res;
	int r, r2;

	if (t->scratch_base == 0)
		return -EINVAL;
	r = set_options(t, rsys_ptrace_options(t->flags) | PTRACE_O_TRACECLONE);
	if (r < 0)
		return r;
	t->tracing_clone = true;
	r = rsys_syscall(t, __NR_clone3, args, &res);
	t->tracing_clone = false;
	r2 = set_options(t, rsys_ptrace_options(t->flags));
	if (r < 0)
		return r;
	if (r2 < 0)
		return r2;
	if (res < 0)
		return (int)res;
	if (res != tid) {
		pr_err("Task %d: clone3() made thread %ld instead of %d", t->tid, res, tid);
		return -EIO;
	}
	return adopt(t, tid, ret_thread);
}
