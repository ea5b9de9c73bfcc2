/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pipes a frozen task vmsplices its own pages into, so that a dump
 * copies each page once (docs/mem.md, "Copying"). Two pipes are made in the
 * task with a remote pipe2 (non-blocking: a vmsplice that would wait fails
 * instead), both ends of each are taken out with pidfd_getfd, and the task
 * keeps only the write ends, which are closed again, with the scratch page
 * unmapped, when the pages are in. Until then the task holds two fds and
 * a page of stasis's: if stasis itself dies in between they stay (as a
 * parasite would); any error of stasis's closes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/syscalls.h"
#include "dump/internal.h"

/* The largest pipe an unprivileged user may ask for (fs.pipe-max-size's default). */
#define SPLICE_PIPE_SIZE (1u << 20)

static ssize_t task_vmsplice(void *arg, int task_fd, const struct iovec *iov, size_t n)
{
	struct dump_splice *s = arg;
	const unsigned long args[6] = {(unsigned long)task_fd, s->scratch, n, SPLICE_F_NONBLOCK};
	long res;
	int r;

	r = rsys_write_mem(s->task, s->scratch, iov, n * sizeof(*iov));
	if (r == 0)
		r = rsys_syscall(s->task, SYS_vmsplice, args, &res);
	return r < 0 ? r : res;
}

static int close_in_task(struct dump_splice *s, int fd)
{
	const unsigned long args[6] = {(unsigned long)fd};
	long res;
	int r = rsys_syscall(s->task, SYS_close, args, &res);

	if (r == 0 && res < 0)
		r = (int)res;
	if (r < 0)
		pr_err("pid %d: cannot close the pipe fd %d stasis made in it: %s",
		       rsys_task_tid(s->task), fd, strerror(-r));
	return r;
}

static int take_fd(int pidfd, int fd, int *ret_fd)
{
	int local = sys_pidfd_getfd(pidfd, fd, 0);

	if (local < 0)
		return negative_errno();
	*ret_fd = local;
	return 0;
}

/* A pipe made in the task; it keeps the write end only. */
static int make_pipe(struct dump_splice *s, int pidfd, struct mem_pipe *p)
{
	const unsigned long args[6] = {s->scratch, O_CLOEXEC | O_NONBLOCK};
	int fds[2], r, k;
	long res;

	r = rsys_syscall(s->task, SYS_pipe2, args, &res);
	if (r == 0 && res < 0)
		r = (int)res;
	if (r == 0)
		r = rsys_read_mem(s->task, s->scratch, fds, sizeof(fds));
	if (r < 0)
		return r;
	p->task_fd = fds[1];
	r = take_fd(pidfd, fds[0], &p->rfd);
	if (r == 0)
		r = take_fd(pidfd, fds[1], &p->wfd);
	k = close_in_task(s, fds[0]);
	if (r < 0 || k < 0)
		return r < 0 ? r : k;
	/* A smaller pipe (the sysctl lowered) only means more vmsplice calls. */
	(void)fcntl(p->rfd, F_SETPIPE_SZ, SPLICE_PIPE_SIZE);
	r = fcntl(p->rfd, F_GETPIPE_SZ);
	if (r < 0)
		return negative_errno();
	p->size = (size_t)r;
	return 0;
}

int dump_splice_open(struct dump_ctx *ctx, struct dump_splice *s)
{
	_cleanup_close_ int pidfd = -1;
	int r;

	*s = (struct dump_splice){.task = dump_leader(ctx)->task};
	for (size_t i = 0; i < ELEMENTSOF(s->sp.pipe); i++)
		s->sp.pipe[i] = (struct mem_pipe){.rfd = -1, .wfd = -1, .task_fd = -1};
	r = rsys_mmap_scratch(s->task, 0, REMOTE_SCRATCH_SIZE, &s->scratch);
	if (r < 0) {
		s->task = NULL;
		return r;
	}
	pidfd = sys_pidfd_open(ctx->pid, 0);
	r = pidfd < 0 ? negative_errno() : 0;
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(s->sp.pipe); i++)
		r = make_pipe(s, pidfd, &s->sp.pipe[i]);
	if (r < 0) {
		(void)dump_splice_close(s);
		return r;
	}
	s->sp.vmsplice = task_vmsplice;
	s->sp.arg = s;
	s->sp.max_iov = REMOTE_SCRATCH_SIZE / sizeof(struct iovec);
	return 0;
}

int dump_splice_close(struct dump_splice *s)
{
	int ret = 0;

	for (size_t i = 0; i < ELEMENTSOF(s->sp.pipe); i++) {
		struct mem_pipe *p = &s->sp.pipe[i];

		if (p->task_fd >= 0 && close_in_task(s, p->task_fd) < 0 && ret == 0)
			ret = -EIO;
		p->task_fd = -1;
		safe_close(p->rfd);
		safe_close(p->wfd);
		p->rfd = p->wfd = -1;
	}
	if (s->task) {
		int r = rsys_munmap_scratch(s->task);

		if (r == 0)
			r = rsys_settle(s->task);
		if (r < 0 && ret == 0)
			ret = r;
		s->task = NULL;
	}
	return ret;
}
