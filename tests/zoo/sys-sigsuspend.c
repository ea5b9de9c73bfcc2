/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside sigsuspend() (pause() with a mask, the race-free way
 * to wait for a signal): SIGTERM and SIGUSR1 are blocked, and the program
 * waits in sigsuspend() with a mask that lets SIGTERM through. The kernel
 * keeps the program's own mask aside while the call runs. After the
 * restore the call must go on (the kernel restarts it), end with EINTR when
 * SIGTERM comes, and the program's own mask must be back afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <sys/time.h>

#include "zoo.h"

static volatile sig_atomic_t term, alarms;
static sigset_t blocked, during;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler = on_term};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		zoo_setup_failed("sigaction: %m");
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL) || sigprocmask(SIG_BLOCK, NULL, &during))
		zoo_setup_failed("sigprocmask: %m");
	blocked = during;
	sigdelset(&during, SIGTERM);
}

static void wait_and_check(void)
{
	int r = sigsuspend(&during), err = errno;

	if (!term) {
		zoo_fail("sigsuspend returned %d (errno %d) before SIGTERM", r, err);
		while (!term)
			sigsuspend(&during);
		return;
	}
	zoo_expect(r == -1 && err == EINTR, "sigsuspend returned %d (errno %d), not EINTR", r, err);
}

static void check_mask(void)
{
	sigset_t now;

	sigprocmask(SIG_BLOCK, NULL, &now);
	for (int sig = 1; sig < SIGRTMAX; sig++)
		if (!zoo_expect(sigismember(&now, sig) == sigismember(&blocked, sig),
				"after sigsuspend, signal %d is %s", sig,
				sigismember(&now, sig) ? "blocked" : "not blocked"))
			return;
}

static void break_mask(void)
{
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
}

static void break_stray_signal(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval soon = {.it_value = {0, 20000}};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &soon, NULL);
}

static const struct zoo_break breaks[] = {
	{"SIGUSR1 unblocked", break_mask},
	{"a SIGALRM handler ends sigsuspend", break_stray_signal},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	wait_and_check();
	check_mask();
	return zoo_verdict();
}
