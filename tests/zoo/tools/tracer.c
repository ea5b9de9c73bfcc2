/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zoo-tracer PID READY: become PID's tracer (PTRACE_SEIZE, which does not
 * stop it), write READY, and hold on until SIGTERM or until the parent dies.
 * Exiting detaches the tracee, which runs on as before. tests/suites/dump.sh
 * uses it to show that stasis refuses a task that someone else traces.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t block, old;
	pid_t pid;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PID READY\n", argv[0]);
		return 2;
	}
	pid = (pid_t)atoi(argv[1]);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (sigaction(SIGTERM, &sa, NULL) || prctl(PR_SET_PDEATHSIG, SIGTERM)) {
		perror("zoo-tracer: setup");
		return 1;
	}
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL)) {
		fprintf(stderr, "zoo-tracer: PTRACE_SEIZE %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	f = fopen(argv[2], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		perror("zoo-tracer: ready file");
		return 1;
	}
	/* SIGTERM only arrives inside sigsuspend: no wakeup is lost. */
	while (!terminated)
		sigsuspend(&old);
	return 0;
}
