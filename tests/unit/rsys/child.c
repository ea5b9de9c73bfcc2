/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "child.h"

static int ready_fd = -1;

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (getenv("RSYS_TEST_DEBUG"))
		log_level_current = LOGL_DEBUG;
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (f->task)
		(void)rsys_detach(f->task);
	for (int i = 0; i < f->npids; i++) {
		if (f->pids[i] <= 0)
			continue;
		kill(f->pids[i], SIGKILL);
		while (waitpid(f->pids[i], NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	free(f);
	return 0;
}

void child_ready(void)
{
	char c = 'r';

	if (write(ready_fd, &c, 1) != 1)
		_exit(120);
	close(ready_fd);
	ready_fd = -1;
}

pid_t child_fork(struct fixture *f, int (*fn)(void *arg), void *arg)
{
	pid_t parent = getpid(), pid;
	int p[2];
	char c;

	assert_true(f->npids < FIXTURE_MAX_CHILDREN);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		ready_fd = p[1];
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(121);
		_exit(fn(arg));
	}
	f->pids[f->npids++] = pid;
	close(p[1]);
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

void child_forget(struct fixture *f, pid_t pid)
{
	for (int i = 0; i < f->npids; i++)
		if (f->pids[i] == pid)
			f->pids[i] = 0;
}

int child_wait_exit(struct fixture *f, pid_t pid, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG | __WALL);
		if (r == pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
			child_forget(f, pid);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() > end)
			return -1;
		usleep(2000);
	}
}

bool child_wait_in_syscall(pid_t pid, long nr, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	while (now_ms() <= end) {
		FILE *fp = fopen(path, "re");
		long cur = -2;

		if (fp) {
			if (fgets(buf, sizeof(buf), fp) && buf[0] >= '0' && buf[0] <= '9')
				cur = strtol(buf, NULL, 10);
			fclose(fp);
		}
		/* The number alone is not enough: it must also be asleep in it. */
		if (cur == nr && child_state(pid) == 'S')
			return true;
		usleep(2000);
	}
	return false;
}

char child_state(pid_t pid)
{
	char path[64], buf[512];
	FILE *fp;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	p = fgets(buf, sizeof(buf), fp);
	fclose(fp);
	if (!p || !(p = strrchr(buf, ')')) || p[1] != ' ')
		return 0;
	return p[2];
}

struct rsys_task *fixture_attach(struct fixture *f, pid_t pid)
{
	assert_null(f->task);
	assert_int_equal(rsys_attach(pid, 0, &f->task), 0);
	assert_non_null(f->task);
	assert_int_equal(rsys_task_tid(f->task), pid);
	return f->task;
}

void fixture_detach(struct fixture *f)
{
	struct rsys_task *t = f->task;

	f->task = NULL;
	assert_int_equal(rsys_detach(t), 0);
}

void assert_settled(struct rsys_task *t)
{
	pid_t tid = rsys_task_tid(t);
	int stop_sig = rsys_task_group_stop(t) ? rsys_task_group_stop(t) : SIGTRAP;
	struct x86_regs now;
	siginfo_t si;

	assert_int_equal(rsys_settle(t), 0);
	assert_int_equal(x86_regs_get(tid, &now), 0);
	assert_memory_equal(&now, rsys_task_regs(t), sizeof(now));
	assert_int_equal(ptrace(PTRACE_GETSIGINFO, tid, NULL, &si), 0);
	assert_int_equal(si.si_code, stop_sig | (PTRACE_EVENT_STOP << 8));
}

long remote(struct rsys_task *t, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
	    unsigned long a3, unsigned long a4, unsigned long a5)
{
	const unsigned long args[6] = {a0, a1, a2, a3, a4, a5};
	long res = 0x5a5a5a5a;

	assert_int_equal(rsys_syscall(t, nr, args, &res), 0);
	return res;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t child_other_thread(pid_t pid)
{
	char path[64];
	struct dirent *de;
	pid_t tid = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (atoi(de->d_name) > 0 && atoi(de->d_name) != pid)
			tid = atoi(de->d_name);
	closedir(d);
	assert_true(tid > 0);
	return tid;
}
