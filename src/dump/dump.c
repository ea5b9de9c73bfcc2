/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dump, step by step. Every step only reads the task; the task is
 * frozen with ptrace from the first step that needs it to the end, and on
 * any failure it is detached exactly as it was (rsys puts back what a
 * remote syscall touched). Only after everything is written is it killed
 * (or let go with --leave-running).
 */
#include <inttypes.h>
#include <linux/kcmp.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "image/image.h"
#include "stats.pb-c.h"

/* What is dumped: every process of the tree below opts->pid, parents first. */
struct dump_tree {
	const struct dump_opts *opts;
	struct img_dir *dir;
	struct dump_shared sh;
	struct dump_ctx *procs;
	size_t n, cap;
	uint64_t t_start, t_frozen, t_released; /* ns, monotonic; t_released: a pre-dump's */
};

static int add_proc(struct dump_tree *t, pid_t pid, pid_t ppid)
{
	struct dump_ctx *c;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;

		c = reallocarray(t->procs, cap, sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->procs = c;
		t->cap = cap;
	}
	t->procs[t->n++] = (struct dump_ctx){
		.opts = t->opts,
		.dir = t->dir,
		.sh = &t->sh,
		.files = &t->sh.files,
		.pid = pid,
		.ppid = ppid,
		.seccomp_filter = -1,
	};
	return 0;
}

static struct dump_ctx *find_proc(struct dump_tree *t, pid_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->procs[i].pid == pid)
			return &t->procs[i];
	return NULL;
}

/* A process that stasis cannot dump: refused by name, before or after the freeze. */
static int check_proc(struct dump_ctx *ctx)
{
	struct proc_status status = {};
	struct proc_stat stat;
	int r;

	r = proc_read_stat(ctx->pid, 0, &stat);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	ctx->stat = stat; /* read again once frozen */
	if (stat.state == 'Z') {
		_cleanup_free_ pid_t *tids = NULL;
		size_t n = 0;

		/* A zombie leader with threads left: the process lives on. */
		if (proc_read_tasks(ctx->pid, &tids, &n) == 0 && n > 1) {
			pr_err("pid %d: its main thread has exited while %zu other threads "
			       "still run: stasis cannot checkpoint that (nor can CRIU); dump "
			       "it once they have exited, or keep its main thread alive",
			       ctx->pid, n - 1);
			return -ENOTSUP;
		}
		if (!ctx->ppid) {
			pr_err("pid %d is a zombie: there is nothing left to checkpoint", ctx->pid);
			return -ENOTSUP;
		}
		/* Its parent has not reaped it yet: it comes back as a zombie (tree.c). */
		ctx->zombie = true;
		return 0;
	}
	/* A vfork() child runs on its parent's memory until it execs: the parent cannot be
	 * frozen meanwhile. */
	if (ctx->ppid && sys_kcmp(ctx->pid, ctx->ppid, KCMP_VM, 0, 0) == 0) {
		pr_err("pid %d shares its memory with pid %d (vfork() or CLONE_VM): stasis cannot "
		       "checkpoint that; dump again once the child has called exec() or exited",
		       ctx->pid, ctx->ppid);
		return -ENOTSUP;
	}
	r = proc_read_status(ctx->pid, 0, &status);
	if (r < 0)
		return r;
	if (status.tracer_pid && status.tracer_pid != getpid()) {
		pr_err("pid %d is traced by pid %d (a debugger?): detach it first, then dump",
		       ctx->pid, status.tracer_pid);
		r = -EBUSY;
	}
	proc_status_done(&status);
	return r;
}

/*
 * A session is its task's own or its parent's: one inherited from a task
 * that is gone (or outside the tree below the root) cannot be made again
 * by a restore without a helper task (CRIU makes one; stasis refuses).
 */
static int check_session(struct dump_tree *t, const struct dump_ctx *ctx)
{
	const struct dump_ctx *parent = ctx->ppid ? find_proc(t, ctx->ppid) : NULL;

	if (!parent || ctx->stat.session == ctx->pid || ctx->stat.session == parent->stat.session)
		return 0;
	pr_err("pid %d is in session %d, which its parent %d is not in: the session's leader, or "
	       "a task between them, is gone; stasis cannot restore such a session (dump the "
	       "tree of the session leader, or start the program with setsid)",
	       ctx->pid, ctx->stat.session, parent->pid);
	return -ENOTSUP;
}

/* Every process of the tree as /proc shows it now; new ones are added (ppid known). */
static int walk(struct dump_tree *t, size_t *ret_new)
{
	_cleanup_(proc_tree_free) struct proc_tree tree = {};
	size_t before = t->n;
	int r;

	r = proc_walk_tree(t->opts->pid, &tree);
	if (r == -ESRCH || r == -ENOENT) {
		pr_err("pid %d does not exist", t->opts->pid);
		return -ESRCH;
	}
	for (size_t i = 0; r >= 0 && i < tree.n_tasks; i++) {
		const struct proc_tree_task *pt = &tree.tasks[i];

		if (find_proc(t, pt->pid))
			continue;
		r = add_proc(t, pt->pid, pt->parent < 0 ? 0 : tree.tasks[pt->parent].pid);
		if (r >= 0)
			r = check_proc(&t->procs[t->n - 1]);
		if (r >= 0)
			r = check_session(t, &t->procs[t->n - 1]);
	}
	if (r < 0)
		return r;
	*ret_new = t->n - before;
	return 0;
}

/* Refuse what this stasis cannot dump, before touching the tree. */
static int check_target(struct dump_tree *t)
{
	size_t fresh;

	if (t->opts->pid == getpid()) {
		pr_err("stasis cannot dump itself");
		return -EINVAL;
	}
	return walk(t, &fresh);
}

/*
 * Freeze every process, and again the processes forked meanwhile, until a
 * walk of the frozen tree finds no new one. The rounds are bounded.
 */
static int freeze(struct dump_tree *t)
{
	size_t done = 0, fresh = 1;
	int r = 0;

	for (int round = 0; fresh; round++) {
		if (round == 64) {
			pr_err("pid %d: its tree keeps forking faster than stasis can freeze it "
			       "(%zu "
			       "processes so far); try again, or stop it first",
			       t->opts->pid, t->n);
			return -EAGAIN;
		}
		for (; done < t->n; done++) {
			struct dump_ctx *ctx = &t->procs[done];

			if (ctx->zombie)
				continue;
			/* (The process's status is its leader's, read by dump_freeze().) */
			r = dump_freeze(ctx);
			if (r == 0)
				r = proc_read_stat(ctx->pid, 0, &ctx->stat);
			if (r < 0)
				return r;
		}
		r = walk(t, &fresh);
		if (r < 0)
			return r;
	}
	t->t_frozen = monotonic_ns();
	pr_info("pid %d: %zu processes frozen", t->opts->pid, t->n);
	return dump_tree_ids(t->procs, t->n);
}

static int open_remote(struct dump_ctx *ctx)
{
	return dump_threads_remote_open(ctx);
}

/*
 * Before the fds and the pages: nothing of stasis stays mapped in the task,
 * and the task is back in its own stop with its own registers, so that it
 * goes on unharmed if stasis dies now. (A big process's pages step maps a
 * scratch page and two pipes again for its copy: docs/mem.md.)
 */
static int close_remote(struct dump_ctx *ctx)
{
	return dump_threads_remote_close(ctx);
}

static int timed_pages(struct dump_ctx *ctx)
{
	uint64_t t0 = monotonic_ns();
	int r = ctx->opts->pre_dump ? dump_track_pages(ctx) : dump_pages(ctx);

	ctx->t_memdump = monotonic_ns() - t0;
	return r;
}

static int timed_shmem(struct dump_ctx *ctx)
{
	uint64_t t0 = monotonic_ns();
	int r = dump_shmem(ctx);

	ctx->t_memdump += monotonic_ns() - t0;
	return r;
}

static int write_files(struct dump_tree *t)
{
	int r = dump_files_write(&t->sh.files, t->dir);

	if (r == 0 && t->sh.pipes_data)
		r = img_writer_commit(TAKE_PTR(t->sh.pipes_data));
	if (r == 0)
		r = dump_seccomp_write(&t->sh, t->dir);
	return r;
}

static int write_tree(struct dump_tree *t)
{
	return dump_tree(t->procs, t->n);
}

static int write_stats(struct dump_tree *t)
{
	DumpStatsEntry d = DUMP_STATS_ENTRY__INIT;
	StatsEntry s = STATS_ENTRY__INIT;

	/* In microseconds, as CRIU writes them. */
	d.freezing_time = (uint32_t)((t->t_frozen - t->t_start) / 1000);
	d.frozen_time =
		(uint32_t)(((t->t_released ? t->t_released : monotonic_ns()) - t->t_frozen) / 1000);
	for (size_t i = 0; i < t->n; i++) {
		d.memdump_time += (uint32_t)(t->procs[i].t_memdump / 1000);
		d.pages_scanned += t->procs[i].mem_stats.pages_scanned;
		d.pages_written += t->procs[i].mem_stats.pages_written;
		d.pages_skipped_parent += t->procs[i].mem_stats.pages_parent;
		d.shpages_scanned += t->procs[i].mem_stats.shpages_scanned;
		d.shpages_written += t->procs[i].mem_stats.shpages_written;
	}
	d.has_shpages_scanned = d.has_shpages_written = d.shpages_scanned > 0;
	d.memwrite_time = d.memdump_time; /* copied and written in one pass */
	d.pages_lazy = 0; /* only a --lazy-pages dump leaves pages to be fetched later */
	s.dump = &d;
	return img_write_one(t->dir, IMG_STATS_DUMP, 0, &s.base);
}

/*
 * A step is done for the whole tree, or for each process in turn. pre: also
 * in a pre-dump, frozen; pre_after: also in a pre-dump, once the tree runs
 * again (a pre-dump needs no consistent state: docs/predump.md).
 */
struct dump_step {
	const char *name;
	int (*tree)(struct dump_tree *t);
	int (*each)(struct dump_ctx *ctx);
	bool pre, pre_after;
};

static const struct dump_step steps[] = {
	{"check", check_target, .pre = true},
	{"vmas-early", NULL, dump_vmas_early},
	{"freeze", freeze, .pre = true},
	{"vmas", NULL, dump_vmas, .pre_after = true},
	{"remote", NULL, open_remote, .pre = true},
	{"mm", NULL, dump_mm},
	{"core", NULL, dump_core},
	{"track", NULL, dump_track_proc, .pre = true},
	{"unremote", NULL, close_remote, .pre = true},
	{"track-scan", NULL, dump_track_scan, .pre = true},
	{"fds", NULL, dump_fds},
	{"fs", NULL, dump_fs},
	{"pages", NULL, timed_pages, .pre_after = true},
	{"shmem", NULL, timed_shmem, .pre_after = true},
	{"files", write_files},
	{"tree", write_tree},
	{"stats", write_stats, .pre_after = true},
};

const char *stasis_dump_step_name(int step)
{
	return step >= 1 && step <= (int)ELEMENTSOF(steps) ? steps[step - 1].name : NULL;
}

static int run_step(struct dump_tree *t, const struct dump_step *s)
{
	if (s->tree)
		return s->tree(t);
	for (size_t i = 0; i < t->n; i++) {
		int r = t->procs[i].zombie ? 0 : s->each(&t->procs[i]);

		if (r < 0) {
			if (t->n > 1)
				pr_err("dump: step %s failed for pid %d", s->name, t->procs[i].pid);
			return r;
		}
	}
	return 0;
}

/* The steps of a dump; in a pre-dump, those done frozen (after: those done after). */
static int run_steps(struct dump_tree *t, bool after)
{
	for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
		int r;

		if (t->opts->pre_dump && !(after ? steps[i].pre_after : steps[i].pre))
			continue;
		if (t->opts->fail_step == (int)i + 1) {
			pr_err("dump: failing at step %zu (%s) on request (STASIS_FAIL_STEP)",
			       i + 1, steps[i].name);
			return -ECANCELED;
		}
		pr_info("dump step %zu: %s", i + 1, steps[i].name);
		r = run_step(t, &steps[i]);
		if (r < 0) {
			pr_err("dump of pid %d failed at step %s: %s", t->opts->pid, steps[i].name,
			       strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * Let every process go: killed after a good dump (criu's default), else
 * detached as it was. The children first, so that no parent sees a child
 * die while it still runs.
 */
static int release(struct dump_tree *t, bool kill)
{
	int ret = 0;

	/* Each is waited for once all are killed: their teardowns overlap. */
	for (size_t i = t->n; kill && i-- > 0;)
		if (!t->procs[i].zombie)
			dump_kill_and_reap(&t->procs[i]);
	for (size_t i = t->n; i-- > 0;) {
		int r = dump_threads_release(&t->procs[i], kill);

		if (ret == 0)
			ret = r;
	}
	return ret;
}

/* Forget the processes and what was learnt of them (what they share stays). */
static void forget_procs(struct dump_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		dump_threads_free(&t->procs[i]);
		dump_track_free_proc(&t->procs[i]);
		mem_vmas_release(&t->procs[i].vmas);
		mem_vmas_release(&t->procs[i].vmas_early);
	}
	t->n = 0;
}

static void free_tree(struct dump_tree *t)
{
	forget_procs(t);
	free(t->procs);
	dump_pipes_release(&t->sh);
	img_writer_free(t->sh.pstree);
	free(t->sh.shmems_done);
	free(t->sh.descs);
	free(t->sh.fdtables_done);
	arena_free(&t->sh.arena);
	dump_files_release(&t->sh.files);
}

static const struct dump_step *find_step(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(steps); i++)
		if (streq(steps[i].name, name))
			return &steps[i];
	abort(); /* a name of this file */
}

/*
 * dump -R --snapshot: the tree is stopped a first time only to make a
 * userfaultfd in each process (a remote syscall) and let go; its memory is
 * armed while it runs (docs/predump.md), then the dump proper freezes it.
 */
static int snapshot_prearm(struct dump_tree *t)
{
	static const char *const names[] = {"check", "freeze", "remote", "track", "unremote"};
	int r = 0, k;

	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(names); i++)
		r = run_step(t, find_step(names[i]));
	k = release(t, false);
	if (r >= 0)
		r = k;
	if (r >= 0)
		pr_info("snapshot: the tree was stopped %" PRIu64 " us to make its userfaultfds",
			(monotonic_ns() - t->t_frozen) / 1000);
	forget_procs(t);
	if (r >= 0)
		r = dump_snapshot_arm(&t->sh);
	if (r >= 0 && t->opts->snapshot_pause_ms)
		usleep(t->opts->snapshot_pause_ms * 1000u);
	return r;
}

int stasis_dump(const struct dump_opts *opts)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct dump_tree t = {.opts = opts, .t_start = monotonic_ns()};
	int r, k;

	if (opts->track_mem && opts->prev_images_dir && !opts->tracking && !opts->pre_dump)
		return dump_track_mem_last_round(opts);
	r = img_dir_open(opts->images_dir, &dir);
	if (r < 0) {
		pr_err("cannot open the images directory %s: %s", opts->images_dir, strerror(-r));
		return r;
	}
	t.dir = dir;
	r = dump_track_begin(&t.sh, opts, dir);
	if (r >= 0 && opts->snapshot)
		r = snapshot_prearm(&t);
	if (r >= 0)
		r = run_steps(&t, false);
	bool killed = r >= 0 && !opts->leave_running && !opts->pre_dump;

	if (r >= 0)
		r = release(&t, killed);
	if (r < 0 && killed) /* the images are whole; the tree was sent SIGKILL all the same */
		pr_err("pid %d: dumped, but its tree could not all be killed: %s", opts->pid,
		       strerror(-r));
	t.t_released = opts->pre_dump ? monotonic_ns() : 0;
	if (r >= 0 && opts->pre_dump)
		r = run_steps(&t, true);
	if (r >= 0 && (opts->pre_dump || opts->snapshot))
		r = dump_predump_copy(t.procs, t.n);
	if (r < 0 && !killed) {
		/* A failed dump: the tree goes on as if nothing happened. */
		k = release(&t, false);

		if (k < 0)
			pr_err("pid %d: could not be let go cleanly: %s", opts->pid, strerror(-k));
		else if (t.n)
			pr_msg("pid %d was left running as it was", opts->pid);
	}
	k = dump_track_end(&t.sh, opts, dir, r >= 0);
	if (r >= 0)
		r = k;
	free_tree(&t);
	if (r >= 0)
		pr_info("dump of pid %d done", opts->pid);
	return r;
}
