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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "base/clock.h"
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
	STEP_FORK,
	STEP_DUP,
	STEP_CHROOT,
	STEP_CHDIR,
	STEP_CLOSE,
	STEP_LOCK,
};

static const char *const step_names[] = {
	[STEP_READY] = "ready",
	[STEP_PDEATHSIG] = "prctl(PR_SET_PDEATHSIG)",
	[STEP_PARENT_GONE] = "checking its parent (the controller is gone)",
	[STEP_SETSID] = "setsid()",
	[STEP_SETPGID] = "setpgid()",
	[STEP_FORK] = "clone3() of a child with its old pid",
	[STEP_DUP] = "moving an fd to its number",
	[STEP_CHROOT] = "chroot() to its root",
	[STEP_CHDIR] = "fchdir() to its cwd",
	[STEP_CLOSE] = "closing the other fds",
	[STEP_LOCK] = "taking a POSIX lock again (another process holds a conflicting one?)",
};

struct child_report {
	int index; /* of the task in the plan */
	int step;
	int err;
	int fd;
};

/* What one task does before it is taken over. */
struct child_plan {
	pid_t pid;
	size_t parent;        /* index of its parent in the plan; the root's is 0, itself */
	uint64_t clone_flags; /* CLONE_FILES, CLONE_FS: what it shares with its parent */
	bool zombie;          /* it dies at once, as exit_status says */
	int exit_status;      /* a wait status */
	bool new_session;     /* setsid() */
	bool own_group;       /* setpgid(0, 0): it leads its group (or a shell job that did) */
	const struct rst_fd_move *moves;
	size_t nmoves;
	int cwd_fd;
	int root_fd; /* -1: the root stays "/" */
	bool has_umask;
	mode_t umask;
	int ctty_fd;    /* its fd on its controlling terminal, or -1 (tty.c) */
	bool ctty_lead; /* TIOCSCTTY: it leads its session */
	bool ctty_fg;   /* TIOCSPGRP: its group was in the foreground */
	const struct rst_posix_lock *locks;
	size_t nlocks;
	int *keep; /* sorted: the fds that stay open */
	size_t nkeep;
};

/* Every task of the tree, parents before children; tasks[0] is the root. */
struct fork_plan {
	struct child_plan *tasks;
	size_t n;
	pid_t controller;
	int report_fd;
};

static _noreturn_ void child_fail(const struct fork_plan *fp, size_t i, int step, int fd)
{
	struct child_report rep = {.index = (int)i, .step = step, .err = errno, .fd = fd};

	if (write(fp->report_fd, &rep, sizeof(rep)) < 0)
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

static _noreturn_ void child_main(const struct fork_plan *fp, size_t i);

/* An fd to its number; one the controller put at its number already (close-on-exec) only
 * gets its flag. */
static int move_fd(const struct rst_fd_move *m)
{
	if (m->src == m->dst)
		return m->cloexec ? 0 : fcntl(m->dst, F_SETFD, 0);
	return dup3(m->src, m->dst, m->cloexec ? O_CLOEXEC : 0);
}

static int take_posix_lock(const struct rst_posix_lock *l)
{
	struct flock fl = {
		.l_type = l->type, .l_whence = SEEK_SET, .l_start = l->start, .l_len = l->len};

	return fcntl(l->fd, F_SETLK, &fl);
}

/*
 * Its controlling terminal and foreground group, where the terminal allows:
 * another session may hold it (then the task comes back without one). With
 * every signal blocked, TIOCSPGRP from a background group is not stopped by
 * SIGTTOU.
 */
static void set_ctty(const struct child_plan *p)
{
	pid_t pgrp = getpgrp();

	if (p->ctty_fd < 0)
		return;
	if (p->ctty_lead)
		(void)ioctl(p->ctty_fd, TIOCSCTTY, 0);
	if (p->ctty_fg)
		(void)ioctl(p->ctty_fd, TIOCSPGRP, &pgrp);
}

static void report_ready(const struct fork_plan *fp, size_t i)
{
	struct child_report ready = {.index = (int)i, .step = STEP_READY};

	if (write(fp->report_fd, &ready, sizeof(ready)) != sizeof(ready))
		_exit(126);
}

/* Runs in task i: its children, with their old pids, before its fds are put in place. */
static void fork_children(const struct fork_plan *fp, size_t i)
{
	for (size_t j = 1; j < fp->n; j++) {
		pid_t want = fp->tasks[j].pid;
		struct clone_args args = {
			.flags = fp->tasks[j].clone_flags,
			.exit_signal = SIGCHLD,
			.set_tid = (uint64_t)(uintptr_t)&want,
			.set_tid_size = 1,
		};
		pid_t pid;

		if (fp->tasks[j].parent != i)
			continue;
		pid = sys_clone3(&args, sizeof(args));
		if (pid == 0)
			child_main(fp, j);
		if (pid != want)
			child_fail(fp, i, STEP_FORK, -1);
		/* One on our fd table cannot report once we close our end: we say it for it. */
		if (args.flags & CLONE_FILES)
			report_ready(fp, j);
	}
}

/*
 * A zombie dies as it had died: exit() with its status, or killed by its
 * signal (no core file: RLIMIT_CORE 0, so WCOREDUMP is lost).
 */
static _noreturn_ void die_as(int status)
{
	int sig = status & 0x7f;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	struct rlimit none = {0, 0};
	sigset_t set;

	if (sig == 0)
		_exit((status >> 8) & 0xff);
	setrlimit(RLIMIT_CORE, &none);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	_exit(128 + sig); /* a signal whose default is not to kill: as close as it gets */
}

/*
 * Every signal action back to the kernel's after exec (SIG_DFL, no flags,
 * mask or restorer): the restore then sets only the actions of the image
 * that differ (restore/signals.c), not all 62 with remote calls. The raw
 * call: glibc's sigaction() refuses the signals it keeps for itself.
 */
static void reset_actions(void)
{
	const uint64_t dfl[4] = {0}; /* the kernel's struct sigaction on x86_64 */

	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof(uint64_t));
}

static _noreturn_ void child_main(const struct fork_plan *fp, size_t i)
{
	const struct child_plan *p = &fp->tasks[i];
	pid_t parent = i == 0 ? fp->controller : fp->tasks[p->parent].pid;
	sigset_t all;

	/* Nothing may run a handler of the controller's here: its crash handler writes its log. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	reset_actions();
	/* Until the controller seizes it (then PTRACE_O_EXITKILL), die with its parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(fp, i, STEP_PDEATHSIG, -1);
	if (getppid() != parent)
		child_fail(fp, i, STEP_PARENT_GONE, -1);
	if (p->new_session && setsid() < 0)
		child_fail(fp, i, STEP_SETSID, -1);
	if (p->own_group && setpgid(0, 0) < 0)
		child_fail(fp, i, STEP_SETPGID, -1);
	fork_children(fp, i);
	if (p->zombie) {
		report_ready(fp, i);
		die_as(p->exit_status);
	}
	/* A table or fs shared with the parent is the parent's to set up. */
	if (!(p->clone_flags & CLONE_FS)) {
		if (p->root_fd >= 0 && (fchdir(p->root_fd) < 0 || chroot(".") < 0))
			child_fail(fp, i, STEP_CHROOT, -1);
		if (fchdir(p->cwd_fd) < 0)
			child_fail(fp, i, STEP_CHDIR, -1);
		if (p->has_umask)
			umask(p->umask);
	}
	if (!(p->clone_flags & CLONE_FILES)) {
		for (size_t k = 0; k < p->nmoves; k++)
			if (move_fd(&p->moves[k]) < 0)
				child_fail(fp, i, STEP_DUP, p->moves[k].dst);
		set_ctty(p);
		if (close_others(p) < 0)
			child_fail(fp, i, STEP_CLOSE, -1);
		/* Last: closing an fd drops the process's POSIX locks on its file. */
		for (size_t k = 0; k < p->nlocks; k++)
			if (take_posix_lock(&p->locks[k]) < 0)
				child_fail(fp, i, STEP_LOCK, p->locks[k].fd);
		report_ready(fp, i);
		close(fp->report_fd);
	}
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
	const struct rst_files *f = &c->files;
	size_t n = 0;

	*p = (struct child_plan){
		.pid = c->pid,
		.parent = c->parent,
		.new_session = item->sid == item->pid,
		.own_group = item->sid != item->pid && item->pgid == item->pid,
	};
	if (c->zombie) {
		p->zombie = true;
		p->exit_status = (int)c->img.core->tc->exit_code;
		return 0;
	}
	p->clone_flags = (c->share_files ? CLONE_FILES : 0) | (c->share_fs ? CLONE_FS : 0);
	p->moves = f->moves, p->nmoves = f->nmoves;
	p->cwd_fd = f->cwd_fd, p->root_fd = f->root_fd;
	p->has_umask = c->img.fs->has_umask, p->umask = (mode_t)c->img.fs->umask;
	p->ctty_fd = f->ctty_fd, p->ctty_lead = f->ctty_lead, p->ctty_fg = f->ctty_fg;
	p->locks = f->posix_locks, p->nlocks = f->nposix_locks;
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

/*
 * A child on its parent's fd table: the parent closes the fds that are not
 * its own, so it keeps the child's too (lent fds, and cwd and root unless
 * the fs is shared as well). The child's finish closes them.
 */
static int keep_for_child(struct child_plan *parent, struct rst_ctx *child)
{
	struct rst_files *f = &child->files;
	int *keep = reallocarray(parent->keep, parent->nkeep + f->nopen + 2, sizeof(int));

	if (!keep)
		return -ENOMEM;
	parent->keep = keep;
	for (size_t i = 0; i < f->nopen; i++)
		keep[parent->nkeep++] = f->open[i].fd;
	if (!child->share_fs) {
		f->lent_dirs[0] = f->cwd_fd;
		f->lent_dirs[1] = f->root_fd;
		for (size_t i = 0; i < 2; i++)
			if (f->lent_dirs[i] >= 0)
				keep[parent->nkeep++] = f->lent_dirs[i];
	}
	qsort(keep, parent->nkeep, sizeof(int), cmp_int);
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

static int clone_root(struct rst_ctx *root, const struct fork_plan *fp)
{
	pid_t want = root->pid;
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&want,
		.set_tid_size = 1,
	};
	pid_t pid;
	int r;

	pid = sys_clone3(&args, sizeof(args));
	if (pid == 0)
		child_main(fp, 0);
	if (pid < 0) {
		r = negative_errno();
		if (r == -EEXIST)
			rst_err(root, "clone3: the pid was taken meanwhile");
		else if (r == -EPERM)
			rst_err(root, "clone3: choosing a pid needs CAP_CHECKPOINT_RESTORE or "
				      "CAP_SYS_ADMIN");
		else
			rst_err(root, "clone3 with this pid failed: %s", strerror(-r));
		return r;
	}
	root->forked = true;
	if (pid != want) {
		rst_err(root, "clone3 gave pid %d instead", (int)pid);
		return -EIO;
	}
	return 0;
}

static int read_report(int fd, struct child_report *rep)
{
	size_t got = 0;

	while (got < sizeof(*rep)) {
		ssize_t k = read(fd, (char *)rep + got, sizeof(*rep) - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got == sizeof(*rep) ? 0 : -ECHILD;
}

static int report_failure(struct rst_ctx *tasks, size_t n, const struct child_report *rep)
{
	struct rst_ctx *c = rep->index >= 0 && (size_t)rep->index < n ? &tasks[rep->index] : tasks;
	int step = rep->step > STEP_READY && rep->step <= STEP_LOCK ? rep->step : STEP_PARENT_GONE;

	if (rep->fd >= 0)
		rst_err(c, "the new task failed at %s (fd %d): %s", step_names[step], rep->fd,
			strerror(rep->err));
	else
		rst_err(c, "the new task failed at %s: %s", step_names[step], strerror(rep->err));
	return rep->err > 0 ? -rep->err : -EIO;
}

/* Every task's report; 0 once all are ready and waiting, their ends of the pipe closed. */
static int wait_ready(struct rst_ctx *tasks, size_t n, int report_fd)
{
	struct child_report rep;
	ssize_t k;
	char c1;

	for (size_t ready = 0; ready < n; ready++) {
		if (read_report(report_fd, &rep) < 0) {
			rst_err(tasks, "a new task died before it was ready (%zu of %zu were)",
				ready, n);
			return -ECHILD;
		}
		if (rep.step != STEP_READY)
			return report_failure(tasks, n, &rep);
	}
	/* End of file: every task closed its end too, no fd of ours is left in them. */
	while ((k = read(report_fd, &c1, 1)) < 0 && errno == EINTR)
		;
	return k == 0 ? 0 : -EIO;
}

static void free_plan(struct fork_plan *fp)
{
	for (size_t i = 0; fp->tasks && i < fp->n; i++)
		free(fp->tasks[i].keep);
	free(fp->tasks);
}

int rst_fork_tree(struct rst_ctx *tasks, size_t n)
{
	_cleanup_close_ int rd = -1, wr = -1;
	struct fork_plan fp = {.n = n, .controller = getpid()};
	int pipefd[2], r;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		r = negative_errno();
		rst_err(tasks, "cannot make a pipe: %s", strerror(-r));
		return r;
	}
	rd = pipefd[0];
	wr = fcntl(pipefd[1], F_DUPFD_CLOEXEC, tasks->shared->min_fd);
	r = negative_errno();
	close(pipefd[1]);
	if (wr < 0) {
		rst_err(tasks, "cannot move a pipe above fd %d: %s", tasks->shared->min_fd,
			strerror(-r));
		return r;
	}
	fp.report_fd = wr;
	fp.tasks = calloc(n, sizeof(*fp.tasks));
	r = fp.tasks ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		r = make_plan(&tasks[i], wr, &fp.tasks[i]);
	for (size_t i = 1; r == 0 && i < n; i++)
		if (tasks[i].share_files)
			r = keep_for_child(&fp.tasks[tasks[i].parent], &tasks[i]);
	if (r == 0) {
		tasks->t_fork_start = monotonic_ns() / 1000;
		r = clone_root(tasks, &fp);
	}
	free_plan(&fp);
	if (r < 0)
		return r;
	wr = safe_close(wr);
	r = wait_ready(tasks, n, rd);
	tasks->t_fork_end = monotonic_ns() / 1000;
	if (r == 0)
		for (size_t i = 0; i < n; i++)
			tasks[i].forked = true;
	return r;
}
