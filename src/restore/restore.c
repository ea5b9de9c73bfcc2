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
#include <sys/wait.h>

#include "restore/internal.h"

static int prepare(struct rst_ctx *c)
{
	int r;

	r = rst_images_load(c, c->opts->images_dir);
	if (r == 0)
		r = rst_check_supported(c);
	if (r == 0)
		r = rst_vmas_plan(c);
	if (r == 0)
		r = rst_vdso_check(c);
	if (r == 0)
		r = rst_files_open(c);
	return r;
}

static int fork_task(struct rst_ctx *c)
{
	int r;

	r = rst_wait_pid_free(c);
	if (r == 0)
		r = rst_fork(c);
	if (r == 0)
		r = rst_files_set_owners(c);
	/* The task has its own references now. */
	rst_files_close_ours(&c->files);
	return r;
}

static int rebuild(struct rst_ctx *c)
{
	int r;

	r = rst_takeover(c);
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
		r = rst_files_late(c);
	if (r == 0)
		r = rst_seccomp(c);
	if (r == 0)
		r = rst_creds(c);
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

static int release(struct rst_ctx *c)
{
	int r = rsys_detach(TAKE_PTR(c->task));

	if (r < 0)
		rst_err(c, "cannot let the task go: %s", strerror(-r));
	else
		rst_info(c, "restored and running");
	return r;
}

/* Kill and reap what was created. rsys may reap it first, when it sees it die. */
static void kill_task(struct rst_ctx *c)
{
	if (!c->forked)
		return;
	rst_info(c, "killing the half-restored task");
	kill(c->pid, SIGKILL);
	if (c->task)
		(void)rsys_detach(TAKE_PTR(c->task));
	while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	c->forked = false;
}

static void cleanup(struct rst_ctx *c)
{
	rst_files_free(&c->files);
	free(c->vmas);
	rst_images_free(&c->img);
}

int restore_run(const struct restore_opts *opts, struct restore_result *ret_result)
{
	struct rst_ctx c = {.opts = opts, .files = {.cwd_fd = -1, .root_fd = -1}};
	int r;

	c.t_start = rst_now_us();
	r = prepare(&c);
	if (r == 0)
		r = fork_task(&c);
	if (r == 0)
		r = rebuild(&c);
	if (r == 0)
		r = write_pidfile(&c);
	if (r == 0)
		r = release(&c);
	if (r < 0) {
		kill_task(&c);
		cleanup(&c);
		return r;
	}
	(void)rst_write_stats(&c);
	*ret_result = (struct restore_result){.pid = c.pid};
	cleanup(&c);
	return 0;
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
