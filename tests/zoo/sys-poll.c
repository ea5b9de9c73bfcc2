/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside poll(): the program waits for SIGTERM in poll() on an
 * fd that never becomes ready (its own stdin, /dev/null, asked only for
 * POLLPRI), with a timeout of POLL_MS, so the dump catches it inside the call.
 * The kernel restarts a poll() that a stop interrupts: after the restore the
 * call must go on and end by its timeout (0) or by SIGTERM (EINTR), never with
 * EINTR when no signal came.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "zoo.h"

#define POLL_MS 300

static volatile sig_atomic_t term;
static struct pollfd pfd = {.fd = 0, .events = POLLPRI};
static struct pollfd *fds = &pfd;

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
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: EINTR on SIGTERM */

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		zoo_setup_failed("sigaction: %m");
}

static void poll_and_check(void)
{
	while (!term) {
		int r = poll(fds, 1, POLL_MS), err = errno;

		if (r == 0)
			continue;
		if (r < 0 && err == EINTR && term)
			return;
		if (r < 0)
			zoo_fail("poll failed with errno %d%s", err,
				 err == EINTR ? " and no signal came" : "");
		else
			zoo_fail("poll returned %d (revents %#x) on an fd that is never ready", r,
				 fds->revents);
		return;
	}
}

/* A signal with a handler interrupts poll: the EINTR the check must not see without one. */
static void break_stray_signal(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval soon = {.it_value = {0, 20000}};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &soon, NULL);
}

static void break_bad_fds(void)
{
	fds = (struct pollfd *)16;
}

static const struct zoo_break breaks[] = {
	{"a SIGALRM handler interrupts poll", break_stray_signal},
	{"poll given a bad pointer", break_bad_fds},
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
	poll_and_check();
	while (!term)
		zoo_sleep_ms(10);
	return zoo_verdict();
}
