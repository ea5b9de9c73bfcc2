/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Zombies: one child exited with status 7, another was killed by SIGUSR1;
 * root has not reaped them. They must come back as zombies of root, with
 * the same wait statuses, and without a SIGCHLD more (root counts the
 * SIGCHLDs it gets, one or two as the kernel merged them: as many after).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zoo.h"

#define EXIT_CODE 7

static pid_t exited, killed;
static volatile sig_atomic_t sigchlds;
static int sigchlds_before;
static int want_code = EXIT_CODE;

static void on_sigchld(int sig)
{
	(void)sig;
	sigchlds++;
}

/* A zombie of root's? */
static bool zombie_of_root(pid_t pid)
{
	struct zoo_stat st;

	return zoo_proc_stat(pid, &st) && st.state == 'Z' && st.ppid == getpid();
}

static void wait_zombie(pid_t pid)
{
	siginfo_t si;

	for (int i = 0; i < 5000; i++) {
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
			return;
		zoo_sleep_ms(1);
	}
	zoo_setup_failed("pid %d did not die", pid);
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler = on_sigchld, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		zoo_setup_failed("sigaction: %m");
	exited = fork();
	if (exited == 0)
		_exit(EXIT_CODE);
	killed = fork();
	if (killed == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGUSR1, SIG_DFL);
		for (;;)
			pause();
	}
	if (exited < 0 || killed < 0)
		zoo_setup_failed("fork: %m");
	kill(killed, SIGUSR1);
	wait_zombie(exited);
	wait_zombie(killed);
	zoo_sleep_ms(20); /* the SIGCHLDs are in */
	sigchlds_before = sigchlds;
}

static void check(void)
{
	int status;

	zoo_sleep_ms(20); /* a stray SIGCHLD would have come by now */
	zoo_expect(sigchlds == sigchlds_before, "root got %d SIGCHLDs, not %d", (int)sigchlds,
		   sigchlds_before);
	zoo_expect(zombie_of_root(exited), "pid %d is not a zombie of root", exited);
	zoo_expect(zombie_of_root(killed), "pid %d is not a zombie of root", killed);
	if (zoo_expect(waitpid(exited, &status, 0) == exited, "waitpid %d: %m", exited))
		zoo_expect(WIFEXITED(status) && WEXITSTATUS(status) == want_code,
			   "pid %d ended with status %#x, not exit %d", exited, status, want_code);
	if (zoo_expect(waitpid(killed, &status, 0) == killed, "waitpid %d: %m", killed))
		zoo_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1,
			   "pid %d ended with status %#x, not by SIGUSR1", killed, status);
}

static void break_code(void)
{
	want_code = EXIT_CODE + 1;
}

static const struct zoo_break breaks[] = {
	{"the exit status expected is another", break_code},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
