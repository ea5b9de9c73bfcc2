/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dump, step by step. Every step only reads the task; the task is
 * frozen with ptrace from the first step that needs it to the end, and on
 * any failure it is detached exactly as it was (rsys puts back what a
 * remote syscall touched). Only after everything is written is it killed
 * (or let go with --leave-running).
 */
#include <signal.h>
#include <time.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"
#include "stats.pb-c.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Refuse what this stasis cannot dump, before touching the task. */
static int check_target(struct dump_ctx *ctx)
{
	_cleanup_(proc_tree_free) struct proc_tree tree = {};
	int r;

	if (ctx->pid == getpid()) {
		pr_err("stasis cannot dump itself");
		return -EINVAL;
	}
	r = proc_walk_tree(ctx->pid, &tree);
	if (r == -ESRCH || r == -ENOENT) {
		pr_err("pid %d does not exist", ctx->pid);
		return -ESRCH;
	}
	if (r < 0)
		return r;
	if (tree.n_tasks > 1) {
		pr_err("pid %d has child processes (%d first): stasis cannot dump process trees "
		       "yet",
		       ctx->pid, tree.tasks[1].pid);
		return -ENOTSUP;
	}
	r = proc_read_stat(ctx->pid, 0, &ctx->stat);
	if (r < 0)
		return r;
	if (ctx->stat.state == 'Z') {
		pr_err("pid %d is a zombie: there is nothing left to checkpoint", ctx->pid);
		return -ENOTSUP;
	}
	r = proc_read_status(ctx->pid, 0, &ctx->status);
	if (r < 0)
		return r;
	if (ctx->status.tracer_pid) {
		pr_err("pid %d is traced by pid %d (a debugger?): detach it first, then dump",
		       ctx->pid, ctx->status.tracer_pid);
		return -EBUSY;
	}
	return 0;
}

static int freeze(struct dump_ctx *ctx)
{
	int r = dump_freeze(ctx);

	if (r < 0)
		return r;
	ctx->t_frozen = now_ns();
	/* Read again now that it cannot change. */
	proc_status_done(&ctx->status);
	if ((r = proc_read_stat(ctx->pid, 0, &ctx->stat)) < 0 ||
	    (r = proc_read_status(ctx->pid, 0, &ctx->status)) < 0)
		return r;
	return 0;
}

static int open_remote(struct dump_ctx *ctx)
{
	return dump_threads_remote_open(ctx);
}

/*
 * Before the pages: nothing of stasis stays mapped in the task, and the task
 * is back in its own stop with its own registers, so that it goes on
 * unharmed even if stasis dies while the pages are copied.
 */
static int close_remote(struct dump_ctx *ctx)
{
	return dump_threads_remote_close(ctx);
}

static int timed_pages(struct dump_ctx *ctx)
{
	uint64_t t0 = now_ns();
	int r = dump_pages(ctx);

	ctx->t_memdump = now_ns() - t0;
	ctx->t_memwrite = ctx->t_memdump; /* copied and written in one pass */
	return r;
}

static int write_files(struct dump_ctx *ctx)
{
	return dump_files_write(&ctx->files, ctx->dir);
}

static int write_stats(struct dump_ctx *ctx)
{
	DumpStatsEntry d = DUMP_STATS_ENTRY__INIT;
	StatsEntry s = STATS_ENTRY__INIT;

	/* In microseconds, as CRIU writes them. */
	d.freezing_time = (uint32_t)((ctx->t_frozen - ctx->t_start) / 1000);
	d.frozen_time = (uint32_t)((now_ns() - ctx->t_frozen) / 1000);
	d.memdump_time = (uint32_t)(ctx->t_memdump / 1000);
	d.memwrite_time = (uint32_t)(ctx->t_memwrite / 1000);
	d.pages_scanned = ctx->mem_stats.pages_scanned;
	d.pages_written = ctx->mem_stats.pages_written;
	d.pages_lazy = 0; /* only a --lazy-pages dump leaves pages to be fetched later */
	s.dump = &d;
	return img_write_one(ctx->dir, IMG_STATS_DUMP, 0, &s.base);
}

struct dump_step {
	const char *name;
	int (*run)(struct dump_ctx *ctx);
};

static const struct dump_step steps[] = {
	{"check", check_target},    {"freeze", freeze},     {"vmas", dump_vmas},
	{"remote", open_remote},    {"mm", dump_mm},        {"core", dump_core},
	{"unremote", close_remote}, {"fds", dump_fds},      {"fs", dump_fs},
	{"pages", timed_pages},     {"files", write_files}, {"tree", dump_tree},
	{"stats", write_stats},
};

const char *stasis_dump_step_name(int step)
{
	return step >= 1 && step <= (int)ELEMENTSOF(steps) ? steps[step - 1].name : NULL;
}

static int run_steps(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		int r;

		if (ctx->opts->fail_step == (int)i + 1) {
			pr_err("dump: failing at step %zu (%s) on request (STASIS_FAIL_STEP)",
			       i + 1, steps[i].name);
			return -ECANCELED;
		}
		pr_info("dump step %zu: %s", i + 1, steps[i].name);
		r = steps[i].run(ctx);
		if (r < 0) {
			pr_err("dump of pid %d failed at step %s: %s", ctx->pid, steps[i].name,
			       strerror(-r));
			return r;
		}
	}
	return 0;
}

/* After a good dump: the task dies (criu's default) or goes on. */
static int finish(struct dump_ctx *ctx)
{
	return dump_threads_release(ctx, !ctx->opts->leave_running);
}

int stasis_dump(const struct dump_opts *opts)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct dump_ctx ctx = {.opts = opts, .pid = opts->pid, .t_start = now_ns()};
	int r;

	r = img_dir_open(opts->images_dir, &dir);
	if (r < 0) {
		pr_err("cannot open the images directory %s: %s", opts->images_dir, strerror(-r));
		return r;
	}
	ctx.dir = dir;
	r = run_steps(&ctx);
	if (r >= 0)
		r = finish(&ctx);
	if (r < 0 && ctx.nthreads) {
		/* A failed dump: the task goes on as if nothing happened. */
		int k = dump_threads_release(&ctx, false);

		if (k < 0)
			pr_err("pid %d: could not be let go cleanly: %s", ctx.pid, strerror(-k));
		else
			pr_msg("pid %d was left running as it was", ctx.pid);
	}
	dump_threads_free(&ctx);
	mem_vmas_release(&ctx.vmas);
	dump_files_release(&ctx.files);
	proc_status_done(&ctx.status);
	if (r >= 0)
		pr_info("dump of pid %d done", ctx.pid);
	return r;
}
