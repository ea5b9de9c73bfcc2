/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zoo-family: a zoo program (same contract, see docs/testing.md) in a shape
 * that `stasis dump` must refuse, chosen by STASIS_ZOO_FAMILY:
 *
 *   child    a child process, sleeping; the check wants it still there
 *   zombie   a child that exited and was not reaped; the check reaps it
 *   thread   a second thread counting; the check wants it still counting
 *   vfork    a child blocked in vfork(): its own child shares its memory and
 *            sleeps; the check kills the child (its child dies with it)
 *   lost-session  a child in a session whose leader is gone: root (a child
 *            subreaper) forks a child that calls setsid(), forks it and
 *            exits; the check kills it
 *
 * tests/suites/dump.sh uses it to see that a refused dump leaves such a
 * process as it was. Not in the zoo list: it is no state to checkpoint.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

static pid_t child;
static pthread_t thread;
static atomic_ulong ticks;
static atomic_bool stop;

static void *count(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&ticks, 1);
		zoo_sleep_ms(1);
	}
	return NULL;
}

static void start_child(bool linger)
{
	pid_t parent = getpid();

	child = fork();
	if (child < 0)
		zoo_setup_failed("fork: %m");
	if (child > 0)
		return;
	/* The child never outlives its parent, whatever happens to it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	while (linger)
		pause();
	_exit(0);
}

/* The child vforks; the vfork child sleeps and never execs. */
static void start_vfork_child(void)
{
	pid_t parent = getpid();

	child = fork();
	if (child < 0)
		zoo_setup_failed("fork: %m");
	if (child > 0)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	if (vfork() == 0) {
		/* Only system calls here: this runs on the parent's memory. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	_exit(0);
}

/* The grandchild of a session leader that exited, adopted by root. */
static void start_lost_session(void)
{
	pid_t root = getpid(), leader;
	int status;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		zoo_setup_failed("PR_SET_CHILD_SUBREAPER: %m");
	leader = fork();
	if (leader < 0)
		zoo_setup_failed("fork: %m");
	if (leader == 0) {
		if (setsid() < 0)
			_exit(1);
		if (fork() == 0) {
			while (getppid() != root)
				usleep(1000);
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != root)
				_exit(1);
			for (;;)
				pause();
		}
		_exit(0);
	}
	if (waitpid(leader, &status, 0) != leader)
		zoo_setup_failed("waitpid: %m");
	for (int i = 0; i < 5000 && !child; i++) {
		char path[96], buf[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)root, (int)root);
		f = fopen(path, "re");
		if (f && fgets(buf, sizeof(buf), f))
			child = atoi(buf);
		if (f)
			fclose(f);
		if (!child)
			zoo_sleep_ms(1);
	}
	if (!child)
		zoo_setup_failed("the grandchild was not adopted");
}

/* Wait until the vfork child is there, so that the dump sees it. */
static void wait_vfork_child(void)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)child, (int)child);
	for (int i = 0; i < 5000; i++) {
		char buf[32] = "";
		FILE *f = fopen(path, "re");

		if (f && fgets(buf, sizeof(buf), f) && buf[0] >= '1' && buf[0] <= '9') {
			fclose(f);
			return;
		}
		if (f)
			fclose(f);
		zoo_sleep_ms(1);
	}
	zoo_setup_failed("the child %d did not vfork", (int)child);
}

/* Wait until the zombie is one, so that the dump sees it so. */
static void wait_zombie(void)
{
	siginfo_t si;

	for (int i = 0; i < 5000; i++) {
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
			return;
		zoo_sleep_ms(1);
	}
	zoo_setup_failed("the child %d did not exit", (int)child);
}

static void setup(const char *mode)
{
	int r;

	if (strcmp(mode, "child") == 0) {
		start_child(true);
	} else if (strcmp(mode, "zombie") == 0) {
		start_child(false);
		wait_zombie();
	} else if (strcmp(mode, "lost-session") == 0) {
		start_lost_session();
	} else if (strcmp(mode, "vfork") == 0) {
		start_vfork_child();
		wait_vfork_child();
	} else if (strcmp(mode, "thread") == 0) {
		r = pthread_create(&thread, NULL, count, NULL);
		if (r)
			zoo_setup_failed("pthread_create: %s", strerror(r));
	} else {
		zoo_setup_failed("STASIS_ZOO_FAMILY must be child, zombie, thread, vfork or "
				 "lost-session");
	}
}

static void check_child(int want_sig, int want_status)
{
	int status;

	if (want_sig) {
		zoo_expect(waitpid(child, &status, WNOHANG) == 0, "the child %d is gone",
			   (int)child);
		kill(child, want_sig);
	}
	if (!zoo_expect(waitpid(child, &status, 0) == child, "waitpid(%d): %m", (int)child))
		return;
	if (want_sig)
		zoo_expect(WIFSIGNALED(status) && WTERMSIG(status) == want_sig,
			   "the child ended with status %#x, not by signal %d", status, want_sig);
	else
		zoo_expect(WIFEXITED(status) && WEXITSTATUS(status) == want_status,
			   "the child ended with status %#x, not exit %d", status, want_status);
}

static void check_thread(void)
{
	unsigned long before = atomic_load(&ticks);

	zoo_sleep_ms(50);
	zoo_expect(atomic_load(&ticks) > before, "the thread stopped counting at %lu", before);
	atomic_store(&stop, true);
	zoo_expect(pthread_join(thread, NULL) == 0, "pthread_join failed");
}

static void check(const char *mode)
{
	if (strcmp(mode, "child") == 0 || strcmp(mode, "vfork") == 0 ||
	    strcmp(mode, "lost-session") == 0)
		check_child(SIGKILL, 0);
	else if (strcmp(mode, "zombie") == 0)
		check_child(0, 0);
	else
		check_thread();
}

/* No breaks: the suite breaks nothing here, it only asks for refusals. */
static const struct zoo_desc desc = {0};

int main(int argc, char **argv)
{
	const char *mode = getenv("STASIS_ZOO_FAMILY");

	zoo_init(argc, argv, &desc);
	if (!mode)
		mode = "";
	setup(mode);
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check(mode);
	return zoo_verdict();
}
