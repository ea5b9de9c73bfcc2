/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside ppoll() with a signal mask: SIGTERM is blocked, and the
 * program waits for it in ppoll(no fds, no timeout, a mask without SIGTERM),
 * which unblocks it only for the call. A task stopped there runs with the
 * call's mask; the kernel keeps its own mask aside, to be put back when the
 * call ends. After the restore the call must go on (the kernel restarts it),
 * end with EINTR on SIGTERM, and leave the program's own mask in place:
 * SIGTERM (and SIGUSR1) blocked again.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <string.h>
#include <unistd.h>

#include "zoo.h"

static volatile sig_atomic_t term;
static sigset_t blocked, during;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
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

static void ppoll_and_check(void)
{
	int r = 0, err = 0;

	while (!term) {
		r = ppoll(NULL, 0, NULL, &during);
		err = errno;
		if (!term)
			break;
	}
	if (!term) {
		zoo_fail("ppoll returned %d (errno %d) before SIGTERM", r, r < 0 ? err : 0);
		return;
	}
	zoo_expect(r == -1 && err == EINTR, "ppoll returned %d (errno %d), not EINTR", r, err);
}

static void check_mask(void)
{
	sigset_t now;

	sigprocmask(SIG_BLOCK, NULL, &now);
	for (int sig = 1; sig < SIGRTMAX; sig++)
		if (!zoo_expect(sigismember(&now, sig) == sigismember(&blocked, sig),
				"after ppoll, signal %d (%s) is %s", sig, strsignal(sig),
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
	{"a SIGALRM handler interrupts ppoll", break_stray_signal},
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
	ppoll_and_check();
	/* After a failed check: SIGTERM is blocked but for ppoll, so wait in ppoll. */
	while (!term) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		ppoll(NULL, 0, &ts, &during);
	}
	check_mask();
	return zoo_verdict();
}
