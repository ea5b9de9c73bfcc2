/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "base/log.h"
#include "kerndat/child.h"

/* Exit codes above this carry an errno; larger errnos are clamped. */
#define EXIT_ERRNO_BASE 2
#define EXIT_ERRNO_MAX (255 - EXIT_ERRNO_BASE)

int probe_result_to_exit_code(int result)
{
	if (result > 0)
		return 0;
	if (result == 0)
		return 1;
	return EXIT_ERRNO_BASE + MIN(-result, EXIT_ERRNO_MAX);
}

int probe_result_from_wait_status(int wstatus)
{
	if (WIFSIGNALED(wstatus))
		return -ECHILD;
	if (!WIFEXITED(wstatus))
		return -EPROTO;
	switch (WEXITSTATUS(wstatus)) {
	case 0:
		return 1;
	case 1:
		return 0;
	default:
		return -(WEXITSTATUS(wstatus) - EXIT_ERRNO_BASE);
	}
}

int probe_wait_exit(pid_t pid, int *ret_wstatus)
{
	for (;;) {
		int st;

		if (waitpid(pid, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			*ret_wstatus = st;
			return 0;
		}
		/* A ptrace stop of a killed tracee: keep waiting for its end. */
	}
}

/* In the child: never return, never log. */
static _noreturn_ void child_main(pid_t parent, int ready_fd, int (*setup)(void *), void *arg)
{
	int r = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	if (setup)
		r = setup(arg);
	if (write(ready_fd, &r, sizeof(r)) != sizeof(r))
		_exit(127);
	close(ready_fd);
	for (;;)
		pause();
}

int probe_child_start(struct probe_child *c, int (*setup)(void *arg), void *arg)
{
	_cleanup_close_ int rd = -1;
	int pipefd[2], r, setup_result;
	pid_t parent = getpid();
	ssize_t n;

	c->pid = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return negative_errno();
	rd = pipefd[0];

	c->pid = fork();
	if (c->pid < 0) {
		r = negative_errno();
		c->pid = 0;
		close(pipefd[1]);
		pr_info("cannot fork a probe child: %s", strerror(-r));
		return r;
	}
	if (c->pid == 0) {
		close(rd);
		child_main(parent, pipefd[1], setup, arg);
	}
	close(pipefd[1]);

	do
		n = read(rd, &setup_result, sizeof(setup_result));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(setup_result)) {
		pr_info("probe child %d died before it was ready", c->pid);
		probe_child_stop(c);
		return -ECHILD;
	}
	if (setup_result < 0) {
		pr_info("probe child %d: setup failed: %s", c->pid, strerror(-setup_result));
		probe_child_stop(c);
		return setup_result;
	}
	return 0;
}

void probe_child_stop(struct probe_child *c)
{
	int saved = errno, st, r;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	r = probe_wait_exit(c->pid, &st);
	if (r < 0)
		pr_warn("cannot reap probe child %d: %s", c->pid, strerror(-r));
	c->pid = 0;
	errno = saved;
}

int probe_in_child(int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid(), pid;
	int st, r;

	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		pr_info("cannot fork a probe child: %s", strerror(-r));
		return r;
	}
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(probe_result_to_exit_code(-ECHILD));
		_exit(probe_result_to_exit_code(fn(arg)));
	}
	r = probe_wait_exit(pid, &st);
	if (r < 0) {
		/* Only a bug gets here (someone else reaped it); make sure it is gone. */
		kill(pid, SIGKILL);
		pr_warn("cannot reap probe child %d: %s", pid, strerror(-r));
		return r;
	}
	return probe_result_from_wait_status(st);
}
