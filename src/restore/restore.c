/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The restore of one task, step by step (docs/restore.md):
 *
 *   prepare   read the images, refuse what is not supported, plan the VMAs,
 *             check the vDSO, open every file the task needs
 *   fork      wait for the pid to be free, clone3() with it, the child sets
 *             up its session, fds, cwd and umask, and waits
 *   rebuild   seize it, replace its address space, fill its memory, set its
 *             mm fields, signals, task state and credentials
 *   finish    rseq, scratch area away, registers, FPU, blocked signals
 *   release   pid file, detach
 *
 * Any failure kills and reaps the task: no half-built process is left.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "base/clock.h"
#include "compat/syscalls.h"

#include "restore/internal.h"

/* One task's images, checked and planned; its files are opened once every task's are read. */
static int prepare(struct rst_ctx *c)
{
	int r;

	if (c->zombie)
		return 0;
	r = rst_check_supported(c);
	if (r == 0)
		r = rst_vmas_plan(c);
	if (r == 0)
		r = rst_vdso_check(c);
	return r;
}

/* The group, once every task exists: one that is neither its own nor its parent's. */
static int set_pgid(struct rst_ctx *c)
{
	const PstreeEntry *item = c->img.item;
	long res;

	if (item->pgid == item->pid || item->sid == item->pid ||
	    getpgid(c->pid) == (pid_t)item->pgid)
		return 0;
	res = rst_sys(c, __NR_setpgid, 0, item->pgid);
	if (res < 0) {
		rst_err(c, "cannot join process group %u: %s", item->pgid, strerror((int)-res));
		return (int)res;
	}
	return 0;
}

/*
 * The zombies among its children died while it waited to be taken over:
 * their SIGCHLD is not the program's (it had it before the dump, and its
 * pending signals are queued again from the images). Take it out of the
 * queue.
 */
static int forget_sigchld(struct rst_ctx *c)
{
	struct timespec zero = {0};
	uint64_t set = 1ull << (SIGCHLD - 1);
	unsigned long set_addr, ts_addr;
	long res;
	int r;

	if (!c->has_zombies)
		return 0;
	r = rst_scratch_put(c, 0, &set, sizeof(set), &set_addr);
	if (r == 0)
		r = rst_scratch_put(c, sizeof(set), &zero, sizeof(zero), &ts_addr);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_rt_sigtimedwait, set_addr, 0, ts_addr, sizeof(set));
	if (res < 0 && res != -EAGAIN) {
		rst_err(c, "cannot take the SIGCHLD of its zombies out of its queue: %s",
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

/* What each thread has of its own; seccomp and credentials last, as they restrict it. */
static int per_thread(struct rst_ctx *c)
{
	int r;

	r = rst_thread_signals(c);
	if (r == 0)
		r = rst_thread_state(c);
	if (r == 0)
		r = rst_seccomp(c);
	if (r == 0)
		r = rst_creds(c);
	return r;
}

static int rebuild(struct rst_ctx *c)
{
	int r;

	r = rst_takeover(c);
	if (r == 0)
		r = set_pgid(c);
	if (r == 0)
		r = forget_sigchld(c);
	if (r == 0)
		r = rst_vmas_map(c);
	if (r == 0)
		r = rst_pages_fill(c);
	if (r == 0)
		r = rst_vmas_protect(c);
	if (r == 0)
		r = rst_mm_fields(c);
	if (r == 0)
		r = rst_signals(c);
	if (r == 0)
		r = rst_task_state(c);
	if (r == 0)
		r = rst_threads_create(c);
	/* After the threads: a POSIX timer may signal one of them (SIGEV_THREAD_ID). */
	if (r == 0)
		r = rst_timers(c);
	/* What needs the task's own fd numbers (epoll watches, armed timerfds). */
	if (r == 0)
		r = rst_files_late(c);
	if (r == 0)
		r = rst_files_async(c);
	if (r == 0)
		r = rst_threads_each(c, per_thread);
	if (r == 0)
		r = rst_finish(c);
	return r;
}

/* criu writes the bare number. */
static int write_pidfile(struct rst_ctx *c)
{
	_cleanup_close_ int fd = -1;
	char buf[32];
	int len, r;

	if (!c->opts->pidfile)
		return 0;
	fd = open(c->opts->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(buf, sizeof(buf), "%d", (int)c->pid);
	if (fd < 0 || write(fd, buf, (size_t)len) != len) {
		r = negative_errno();
		rst_err(c, "cannot write the pid file %s: %s", c->opts->pidfile, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * A task dumped in a group stop (SIGSTOP, SIGTSTP ...) is stopped again by
 * the same signal as soon as it is let go.
 */
static int stop_again(struct rst_ctx *c)
{
	const TaskCoreEntry *tc = c->img.core->tc;
	int sig = tc->has_stop_signo && tc->stop_signo ? (int)tc->stop_signo : SIGSTOP;

	if (tc->task_state != RST_TASK_STOPPED)
		return 0;
	if (kill(c->pid, sig) < 0) {
		int r = negative_errno();
		rst_err(c, "cannot stop the task again with signal %d: %s", sig, strerror(-r));
		return r;
	}
	rst_info(c, "stopped again by signal %d, as it was", sig);
	return 0;
}

static int release(struct rst_ctx *c)
{
	int r = rst_threads_detach(c);

	if (r == 0)
		r = rsys_detach(TAKE_PTR(c->task));
	if (r < 0)
		rst_err(c, "cannot let the task go: %s", strerror(-r));
	else
		rst_info(c, "restored and running");
	return r < 0 ? r : stop_again(c);
}

static void cleanup(struct rst_ctx *c)
{
	free(c->thread_tasks);
	rst_files_free(&c->files);
	free(c->vmas);
	rst_images_free(&c->img);
}

/* Every task of pstree.img: images read and checked, files opened. */
struct rst_tree {
	const struct restore_opts *opts;
	struct rst_shared shared;
	struct rst_ctx *tasks; /* pstree's order: the root first, parents before children */
	size_t n;
};

static struct rst_ctx new_ctx(struct rst_tree *t)
{
	return (struct rst_ctx){
		.opts = t->opts,
		.shared = &t->shared,
		.files = {.cwd_fd = -1, .root_fd = -1, .lent_dirs = {-1, -1}, .ctty_fd = -1},
		.t_start = monotonic_ns() / 1000,
	};
}

/*
 * An fd table or fs shared with the parent is made by clone3(CLONE_FILES,
 * CLONE_FS). One shared with another task only (siblings that did not
 * share with their parent, say) cannot be made so: refused.
 */
static int find_sharing(struct rst_tree *t, struct rst_ctx *c)
{
	const TaskKobjIdsEntry *mine, *parent;

	if (c->zombie) {
		t->tasks[c->parent].has_zombies = true;
		return 0;
	}
	mine = rst_ids(&c->img);
	parent = rst_ids(&t->tasks[c->parent].img);
	c->share_files = mine->files_id == parent->files_id;
	c->share_fs = mine->fs_id == parent->fs_id;
	for (size_t j = 0; j < t->n; j++) {
		const TaskKobjIdsEntry *o;

		if (&t->tasks[j] == c || j == c->parent || t->tasks[j].zombie)
			continue;
		o = rst_ids(&t->tasks[j].img);
		if ((!c->share_files && o->files_id == mine->files_id) ||
		    (!c->share_fs && o->fs_id == mine->fs_id)) {
			rst_err(c,
				"it shares its %s with pid %d, which is not its parent: stasis can "
				"only restore a table shared with the parent",
				o->files_id == mine->files_id ? "fd table"
							      : "fs (cwd, root, umask)",
				(int)t->tasks[j].pid);
			return -EOPNOTSUPP;
		}
	}
	if (c->share_files || c->share_fs)
		rst_info(c, "shares its parent's%s%s", c->share_files ? " fd table" : "",
			 c->share_fs ? " fs" : "");
	return 0;
}

static int load_tree(struct rst_tree *t)
{
	struct rst_ctx root = new_ctx(t);
	size_t n = 0;
	int r;

	r = rst_images_load(&root, t->opts->images_dir, 0, &n);
	t->tasks = calloc(MAX(n, 1), sizeof(*t->tasks));
	if (!t->tasks) {
		cleanup(&root);
		return -ENOMEM;
	}
	t->tasks[0] = root;
	t->n = 1;
	for (size_t i = 1; r == 0 && i < n; i++) {
		t->tasks[i] = new_ctx(t);
		t->n++;
		r = rst_images_load(&t->tasks[i], t->opts->images_dir, i, &(size_t){0});
	}
	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = prepare(&t->tasks[i]);
	for (size_t i = 1; r == 0 && i < t->n; i++)
		r = find_sharing(t, &t->tasks[i]);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		t->shared.min_fd = MAX(t->shared.min_fd, rst_files_min_fd(&t->tasks[i].img));
	if (r == 0)
		r = rst_files_plan(t->tasks, t->n);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = t->tasks[i].zombie ? 0 : rst_files_open(&t->tasks[i]);
	return r;
}

static int fork_tree(struct rst_tree *t)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = rst_wait_pid_free(&t->tasks[i]);
	if (r == 0)
		r = rst_fork_tree(t->tasks, t->n);
	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = rst_files_set_owners(&t->tasks[i]);
	/* The tasks have their own references now. */
	for (size_t i = 0; i < t->n; i++)
		rst_files_close_ours(&t->tasks[i].files);
	rst_pipes_close(&t->shared);
	return r;
}

static int finish_tree(struct rst_tree *t)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < t->n; i++)
		r = t->tasks[i].zombie ? 0 : rebuild(&t->tasks[i]);
	/* Every VMA is mapped: the memfd seals that forbid new writable mappings. */
	if (r == 0)
		r = rst_memfd_seal_late(&t->shared);
	if (r == 0)
		r = write_pidfile(&t->tasks[0]);
	/* The children first: a parent that runs may wait for them. */
	for (size_t i = t->n; r == 0 && i-- > 0;)
		r = t->tasks[i].zombie ? 0 : release(&t->tasks[i]);
	return r;
}

/*
 * Kill what was created and reap it. The controller is a child subreaper
 * while it restores, so a task whose parent is killed comes to it: reaping
 * in pstree's order (parents first) collects every one. rsys may have
 * collected one first, when it saw it die.
 */
static void kill_tree(struct rst_tree *t)
{
	for (size_t i = t->n; i-- > 0;)
		if (t->tasks[i].forked)
			kill(t->tasks[i].pid, SIGKILL);
	for (size_t i = 0; i < t->n; i++) {
		struct rst_ctx *c = &t->tasks[i];

		if (!c->forked)
			continue;
		rst_info(c, "killing the half-restored task");
		rst_threads_kill(c);
		if (c->task)
			(void)rsys_kill(TAKE_PTR(c->task));
		while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		c->forked = false;
	}
}

static void free_tree(struct rst_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		cleanup(&t->tasks[i]);
	free(t->tasks);
	rst_shared_free(&t->shared);
}

static void write_stats(struct rst_tree *t)
{
	for (size_t i = 1; i < t->n; i++)
		t->tasks[0].pages_restored += t->tasks[i].pages_restored;
	if (t->tasks[0].zombie)
		return;
	(void)rst_write_stats(&t->tasks[0]);
}

int restore_run(const struct restore_opts *opts, struct restore_result *ret_result)
{
	struct rst_tree t = {.opts = opts};
	int r;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		r = negative_errno();
		pr_err("restore: cannot become a child subreaper: %s", strerror(-r));
		return r;
	}
	r = load_tree(&t);
	if (r == 0)
		r = fork_tree(&t);
	if (r == 0)
		r = finish_tree(&t);
	if (r < 0)
		kill_tree(&t);
	else
		write_stats(&t);
	if (r == 0)
		*ret_result = (struct restore_result){.pid = t.tasks[0].pid};
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0);
	free_tree(&t);
	return r;
}

int restore_wait(pid_t pid, int *ret_status)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		int r = negative_errno();
		pr_perror("restore: cannot wait for pid %d", (int)pid);
		return r;
	}
	if (WIFEXITED(status))
		*ret_status = WEXITSTATUS(status);
	else
		*ret_status = 128 + WTERMSIG(status);
	pr_info("restore: pid %d ended with status %d", (int)pid, *ret_status);
	return 0;
}
