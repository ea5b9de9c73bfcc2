/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The other threads of the task. Once its memory, signal actions and
 * process-wide state are back, the leader makes each of them with a remote
 * clone3(CLONE_THREAD, set_tid = {old id}); rsys attaches a new thread as it
 * is born (PTRACE_O_TRACECLONE), so it never runs a single instruction of
 * its own until the end. A new thread shares what a thread shares (memory,
 * files, fs, signal actions) and starts with copies of the leader's
 * credentials, seccomp filters, scheduling and timer slack; what is each
 * thread's own (name, altstack, pending signals, tid and robust-list
 * addresses, scheduling, seccomp, credentials, rseq, registers, blocked
 * mask) is then set thread by thread, each thread running its own remote
 * syscalls from the leader's scratch area.
 *
 * The per-thread steps are written for "the current thread": c->tid,
 * c->cur and c->img.core are switched to each thread in turn.
 */
#include <linux/sched.h>
#include <signal.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

#define THREAD_FLAGS \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

static void use_thread(struct rst_ctx *c, size_t i)
{
	c->img.core = c->img.thread_cores[i];
	c->cur = c->thread_tasks[i];
	c->tid = (pid_t)c->img.item->threads[i];
}

static int create_one(struct rst_ctx *c, size_t i)
{
	pid_t tid = (pid_t)c->img.item->threads[i];
	struct clone_args args = {.flags = THREAD_FLAGS, .set_tid_size = 1};
	unsigned long tid_addr, args_addr;
	int r;

	r = rst_scratch_put(c, sizeof(args), &tid, sizeof(tid), &tid_addr);
	if (r < 0)
		return r;
	args.set_tid = tid_addr;
	r = rst_scratch_put(c, 0, &args, sizeof(args), &args_addr);
	if (r < 0)
		return r;
	r = rsys_clone_thread(c->task, args_addr, sizeof(args), tid, &c->thread_tasks[i]);
	if (r == -EEXIST)
		rst_err(c, "cannot make thread %d: the id is taken", tid);
	else if (r < 0)
		rst_err(c, "cannot make thread %d: %s", tid, strerror(-r));
	return r;
}

int rst_threads_create(struct rst_ctx *c)
{
	c->thread_tasks = calloc(c->img.nthreads, sizeof(*c->thread_tasks));
	if (!c->thread_tasks)
		return -ENOMEM;
	c->thread_tasks[0] = c->task;
	for (size_t i = 1; i < c->img.nthreads; i++) {
		int r = create_one(c, i);

		if (r < 0)
			return r;
	}
	if (c->img.nthreads > 1)
		rst_info(c, "%zu threads made", c->img.nthreads - 1);
	return 0;
}

int rst_threads_each(struct rst_ctx *c, int (*fn)(struct rst_ctx *c))
{
	int r = 0;

	for (size_t i = c->img.nthreads; r == 0 && i-- > 0;) {
		use_thread(c, i);
		r = fn(c);
	}
	use_thread(c, 0);
	return r;
}

/* A thread other than the leader: out of the scratch area, in its own stop, its registers. */
static int finish_other(struct rst_ctx *c)
{
	int r;

	if (c->cur == c->task)
		return 0;
	r = rst_rseq_register(c);
	if (r == 0)
		r = rsys_settle(c->cur);
	if (r == 0)
		r = rst_thread_load(c);
	return r;
}

int rst_thread_finish(struct rst_ctx *c)
{
	return rst_threads_each(c, finish_other);
}

void rst_threads_kill(struct rst_ctx *c)
{
	for (size_t i = 1; c->thread_tasks && i < c->img.nthreads; i++)
		(void)rsys_kill(TAKE_PTR(c->thread_tasks[i]));
}

int rst_threads_detach(struct rst_ctx *c)
{
	int ret = 0;

	for (size_t i = 1; c->thread_tasks && i < c->img.nthreads; i++) {
		int r = rsys_detach(TAKE_PTR(c->thread_tasks[i]));

		if (r < 0 && ret == 0) {
			rst_err(c, "cannot let thread %u go: %s", c->img.item->threads[i],
				strerror(-r));
			ret = r;
		}
	}
	return ret;
}
