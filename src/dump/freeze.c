/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Freezing every thread of the process, and letting them all go again.
 *
 * Each thread is seized and interrupted (PTRACE_SEIZE does not follow the
 * clone()s of a thread that is still running), then /proc/PID/task is read
 * again: a thread created meanwhile is seized in the next round. A thread
 * in a ptrace stop creates nothing, so once a listing finds no new thread
 * the whole group is frozen; the rounds are bounded for a process that
 * outruns them.
 */
#include "base/log.h"
#include "dump/internal.h"

#define FREEZE_ROUNDS 64

static bool is_known(const struct dump_ctx *ctx, pid_t tid)
{
	for (size_t i = 0; i < ctx->nthreads; i++)
		if (ctx->threads[i].tid == tid)
			return true;
	return false;
}

static int add_thread(struct dump_ctx *ctx, pid_t tid, size_t *cap)
{
	struct dump_thread *t;
	int r;

	if (ctx->nthreads == *cap) {
		size_t n = *cap ? *cap * 2 : 8;

		t = realloc(ctx->threads, n * sizeof(*t));
		if (!t)
			return -ENOMEM;
		ctx->threads = t;
		*cap = n;
	}
	t = &ctx->threads[ctx->nthreads];
	*t = (struct dump_thread){.tid = tid};
	r = rsys_seize(tid, RSYS_SUSPEND_SECCOMP, &t->task);
	if (r == -ESRCH)
		return 0; /* it exited meanwhile: nothing to dump */
	if (r < 0) {
		pr_err("pid %d thread %d: cannot freeze it with ptrace: %s", ctx->pid, tid,
		       strerror(-r));
		return r;
	}
	ctx->nthreads++;
	return 0;
}

/* One round: seize every thread not seen yet; how many were new. */
static int seize_new(struct dump_ctx *ctx, size_t *cap, size_t *ret_new)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0, before = ctx->nthreads;
	int r;

	r = proc_read_tasks(ctx->pid, &tids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (is_known(ctx, tids[i]))
			continue;
		r = add_thread(ctx, tids[i], cap);
		if (r < 0)
			return r;
	}
	*ret_new = ctx->nthreads - before;
	return 0;
}

static int wait_all(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nthreads; i++) {
		struct dump_thread *t = &ctx->threads[i];
		int r = rsys_wait_frozen(t->task);

		if (r < 0) {
			pr_err("pid %d thread %d: did not stop: %s", ctx->pid, t->tid,
			       strerror(-r));
			return r;
		}
		r = proc_read_status(ctx->pid, t->tid, &t->status);
		if (r < 0)
			return r;
	}
	return 0;
}

int dump_freeze(struct dump_ctx *ctx)
{
	size_t cap = 0, fresh = 0;
	int r;

	/* The leader first: threads[0] is the process's representative everywhere. */
	r = add_thread(ctx, ctx->pid, &cap);
	if (r == 0 && ctx->nthreads == 0)
		r = -ESRCH;
	for (int round = 0; r == 0; round++) {
		r = seize_new(ctx, &cap, &fresh);
		if (r < 0 || fresh == 0)
			break;
		if (round == FREEZE_ROUNDS) {
			pr_err("pid %d keeps creating threads faster than stasis can freeze them "
			       "(%zu so far); try again, or stop it first (kill -STOP)",
			       ctx->pid, ctx->nthreads);
			r = -EAGAIN;
		}
	}
	if (r == 0)
		r = wait_all(ctx);
	if (r == 0 && ctx->threads[0].tid != ctx->pid)
		r = -ESRCH;
	if (r == 0)
		pr_info("pid %d: %zu threads frozen", ctx->pid, ctx->nthreads);
	return r;
}

int dump_threads_remote_open(struct dump_ctx *ctx)
{
	struct dump_thread *leader = dump_leader(ctx);
	int r;

	r = remote_open(leader->task, &leader->rm);
	for (size_t i = 1; r == 0 && i < ctx->nthreads; i++) {
		struct dump_thread *t = &ctx->threads[i];

		r = rsys_borrow_scratch(t->task, leader->task, &t->rm.scratch);
		t->rm.task = t->task;
	}
	return r;
}

/* Every thread back in its own stop with its own registers; nothing of stasis left mapped. */
int dump_threads_remote_close(struct dump_ctx *ctx)
{
	int r = 0;

	for (size_t i = ctx->nthreads; r == 0 && i-- > 0;) {
		struct dump_thread *t = &ctx->threads[i];

		r = rsys_munmap_scratch(t->task);
		t->rm.task = NULL;
		if (r == 0)
			r = rsys_settle(t->task);
	}
	return r;
}

int dump_threads_release(struct dump_ctx *ctx, bool kill)
{
	int ret = 0;

	/* The borrowers before the leader, which unmaps the scratch area they ran from. */
	for (size_t i = ctx->nthreads; i-- > 0;) {
		struct dump_thread *t = &ctx->threads[i];
		int r;

		if (!t->task)
			continue;
		r = kill ? rsys_kill(TAKE_PTR(t->task)) : rsys_detach(TAKE_PTR(t->task));
		if (ret == 0 && r < 0 && !(kill && r == -ESRCH))
			ret = r;
	}
	return ret;
}

void dump_threads_free(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nthreads; i++)
		proc_status_done(&ctx->threads[i].status);
	free(ctx->threads);
	ctx->threads = NULL;
	ctx->nthreads = 0;
}
