/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Creating the task with its old pid: clone3() with set_tid. The child is a
 * copy of stasis; before the controller takes it over it does, from inside,
 * what is simplest from inside: its session and process group, its fds at
 * their numbers, its root, cwd and umask. Then it closes every other fd, says so
 * through a pipe and waits in pause() with every signal blocked. The
 * controller seizes it there (takeover.c).
 *
 * Why not raise(SIGSTOP), the usual way to wait for a tracer: a task seized
 * in a group stop is put back into it when the tracer detaches, and the
 * SIGCONT that would end it would be delivered to the restored program.
 *
 * The child runs on a copy of the controller's memory without glibc's fork
 * handlers, so it keeps to plain system calls, takes everything from a plan
 * made in advance, never logs (the copied log buffer is the controller's)
 * and ends with _exit().
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

/* How long a dying task may keep the pid before restore gives up. */
#define PID_FREE_TIMEOUT_MS 10000

enum child_step {
	STEP_READY,
	STEP_PDEATHSIG,
	STEP_PARENT_GONE,
	STEP_SETSID,
	STEP_SETPGID,
	STEP_DUP,
	STEP_CHROOT,
	STEP_CHDIR,
	STEP_CLOSE,
};

static const char *const step_names[] = {
	[STEP_READY] = "ready",
	[STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[STEP_PARENT_GONE] = "checking its parent (the controller is gone)",
	[STEP_SETSID] = "setsid()",
	[STEP_SETPGID] = "setpgid()",
	[STEP_DUP] = "moving an fd to its number",
	[STEP_CHROOT] = "chroot() to its root",
	[STEP_CHDIR] = "fchdir() to its cwd",
	[STEP_CLOSE] = "closing the other fds",
};

struct child_report {
	int step;
	int err;
	int fd;
};

struct child_plan {
	bool new_session; /* setsid() */
	bool own_group;   /* setpgid(0, 0), for a shell job that led its own group */
	const struct rst_fd_move *moves;
	size_t nmoves;
	int cwd_fd;
	int root_fd; /* -1: the root stays "/" */
	bool has_umask;
	mode_t umask;
	pid_t parent;
	int report_fd;
	int *keep; /* sorted: the fds that stay open */
	size_t nkeep;
};

static _noreturn_ void child_fail(const struct child_plan *p, int step, int fd)
{
	struct child_report rep = {.step = step, .err = errno, .fd = fd};

	if (write(p->report_fd, &rep, sizeof(rep)) < 0)
		_exit(126);
	_exit(127);
}

static int close_others(const struct child_plan *p)
{
	unsigned int next = 0;

	for (size_t i = 0; i < p->nkeep; i++) {
		unsigned int k = (unsigned int)p->keep[i];

		if (k > next && syscall(SYS_close_range, next, k - 1, 0) < 0)
			return -1;
		next = k + 1;
	}
	return (int)syscall(SYS_close_range, next, ~0U, 0);
}

static _noreturn_ void child_main(const struct child_plan *p)
{
	static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	struct child_report ready = {.step = STEP_READY};
	sigset_t all;

	/* Nothing may run a handler of the controller's here: its crash handler writes its log. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (size_t i = 0; i < ELEMENTSOF(faults); i++)
		sigaction(faults[i], &dfl, NULL);
	/* Until the controller seizes it (then PTRACE_O_EXITKILL), die with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(p, STEP_PDEATHSIG, -1);
	if (getppid() != p->parent)
		child_fail(p, STEP_PARENT_GONE, -1);
	if (p->new_session && setsid() < 0)
		child_fail(p, STEP_SETSID, -1);
	if (p->own_group && setpgid(0, 0) < 0)
		child_fail(p, STEP_SETPGID, -1);
	for (size_t i = 0; i < p->nmoves; i++)
		if (dup3(p->moves[i].src, p->moves[i].dst, p->moves[i].cloexec ? O_CLOEXEC : 0) < 0)
			child_fail(p, STEP_DUP, p->moves[i].dst);
	if (p->root_fd >= 0 && (fchdir(p->root_fd) < 0 || chroot(".") < 0))
		child_fail(p, STEP_CHROOT, -1);
	if (fchdir(p->cwd_fd) < 0)
		child_fail(p, STEP_CHDIR, -1);
	if (p->has_umask)
		umask(p->umask);
	if (close_others(p) < 0)
		child_fail(p, STEP_CLOSE, -1);
	if (write(p->report_fd, &ready, sizeof(ready)) != sizeof(ready))
		_exit(126);
	close(p->report_fd);
	for (;;)
		pause();
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int make_plan(struct rst_ctx *c, int report_fd, struct child_plan *p)
{
	const PstreeEntry *item = c->img.item;
	size_t n = 0;

	*p = (struct child_plan){
		.new_session = item->sid == item->pid,
		.own_group = item->sid != item->pid && item->pgid == item->pid,
		.moves = c->files.moves,
		.nmoves = c->files.nmoves,
		.cwd_fd = c->files.cwd_fd,
		.root_fd = c->files.root_fd,
		.has_umask = c->img.fs->has_umask,
		.umask = (mode_t)c->img.fs->umask,
		.parent = getpid(),
		.report_fd = report_fd,
	};
	p->keep = calloc(c->files.nmoves + c->files.nopen + 1, sizeof(int));
	if (!p->keep)
		return -ENOMEM;
	for (size_t i = 0; i < c->files.nmoves; i++)
		p->keep[n++] = c->files.moves[i].dst;
	for (size_t i = 0; i < c->files.nopen; i++)
		p->keep[n++] = c->files.open[i].fd;
	p->keep[n++] = report_fd;
	qsort(p->keep, n, sizeof(int), cmp_int);
	p->nkeep = n;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The state letter and name of /proc/PID, or -ENOENT once it is gone. */
static int pid_state(pid_t pid, char *ret_state, char *comm, size_t size)
{
	char path[64], buf[512], *open_paren, *close_paren;
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	if (!fgets(buf, sizeof(buf), f))
		return feof(f) ? -ENOENT : negative_errno();
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren[1] != ' ')
		return -EBADMSG;
	*close_paren = '\0';
	snprintf(comm, size, "%s", open_paren + 1);
	*ret_state = close_paren[2];
	return 0;
}

int rst_wait_pid_free(struct rst_ctx *c)
{
	char state, comm[64];

	for (long waited = 0;; waited += 20) {
		int r = pid_state(c->pid, &state, comm, sizeof(comm));

		if (r == -ENOENT || r == -ESRCH)
			return 0;
		if (r < 0) {
			rst_err(c, "cannot tell whether the pid is free: %s", strerror(-r));
			return r;
		}
		/* A zombie, or a task on its way out: its pid is freed when it is reaped. */
		if (state != 'Z' && state != 'X') {
			rst_err(c,
				"the pid is in use by '%s' (state %c); the task must get its "
				"old pid back",
				comm, state);
			return -EBUSY;
		}
		if (waited >= PID_FREE_TIMEOUT_MS) {
			rst_err(c, "the pid is still held by '%s', dead but not reaped after %d s",
				comm, PID_FREE_TIMEOUT_MS / 1000);
			return -EBUSY;
		}
		if (waited == 0)
			rst_info(c, "waiting for the dead '%s' holding the pid to be reaped", comm);
		sleep_ms(20);
	}
}

static int clone_with_pid(struct rst_ctx *c, const struct child_plan *plan)
{
	pid_t want = c->pid;
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&want,
		.set_tid_size = 1,
	};
	pid_t pid;
	int r;

	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0)
		child_main(plan);
	if (pid < 0) {
		r = negative_errno();
		if (r == -EEXIST)
			rst_err(c, "clone3: the pid was taken meanwhile");
		else if (r == -EPERM)
			rst_err(c, "clone3: choosing a pid needs CAP_CHECKPOINT_RESTORE or "
				   "CAP_SYS_ADMIN");
		else
			rst_err(c, "clone3 with this pid failed: %s", strerror(-r));
		return r;
	}
	c->forked = true;
	if (pid != want) {
		rst_err(c, "clone3 gave pid %d instead", (int)pid);
		return -EIO;
	}
	return 0;
}

/* Read the child's report; 0 once it is ready and waiting. */
static int wait_ready(struct rst_ctx *c, int report_fd)
{
	struct child_report rep;
	size_t got = 0;

	while (got < sizeof(rep)) {
		ssize_t k = read(report_fd, (char *)&rep + got, sizeof(rep) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got < sizeof(rep)) {
		rst_err(c, "the new task died before it was ready");
		return -ECHILD;
	}
	if (rep.step == STEP_READY) {
		/* End of file: the task closed its end too, no fd of ours is left in it. */
		char c1;
		ssize_t k;

		while ((k = read(report_fd, &c1, 1)) < 0 && errno == EINTR)
			;
		return k == 0 ? 0 : -EIO;
	}
	if (rep.step < STEP_READY || rep.step > STEP_CLOSE)
		rep.step = STEP_PARENT_GONE;
	if (rep.fd >= 0)
		rst_err(c, "the new task failed at %s (fd %d): %s", step_names[rep.step], rep.fd,
			strerror(rep.err));
	else
		rst_err(c, "the new task failed at %s: %s", step_names[rep.step],
			strerror(rep.err));
	return rep.err > 0 ? -rep.err : -EIO;
}

int rst_fork(struct rst_ctx *c)
{
	_cleanup_close_ int rd = -1, wr = -1;
	struct child_plan plan;
	int pipefd[2], r;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = negative_errno();
		rst_err(c, "cannot make a pipe: %s", strerror(-r));
		return r;
	}
	rd = pipefd[0];
	wr = fcntl(pipefd[1], F_DUPFD_CLOEXEC, c->files.min_fd);
	r = negative_errno();
	close(pipefd[1]);
	if (wr < 0) {
		rst_err(c, "cannot move a pipe above fd %d: %s", c->files.min_fd, strerror(-r));
		return r;
	}
	r = make_plan(c, wr, &plan);
	if (r < 0)
		return r;
	c->t_fork_start = rst_now_us();
	r = clone_with_pid(c, &plan);
	free(plan.keep);
	if (r < 0)
		return r;
	wr = safe_close(wr);
	r = wait_ready(c, rd);
	c->t_fork_end = rst_now_us();
	return r;
}
