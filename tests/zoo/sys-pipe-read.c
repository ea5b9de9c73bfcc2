/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside read() on a pipe: the program holds a pipe to itself
 * with a few bytes queued, reads them, then blocks in read() on the empty
 * pipe until SIGTERM. A read interrupted by a stop is restarted by the
 * kernel (-ERESTARTSYS): after the restore the call must go on blocking, and
 * end only by SIGTERM (EINTR: the handler has no SA_RESTART), never return
 * data that was not written nor EINTR without a signal. Then the pipe must
 * still work both ways.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "zoo.h"

static volatile sig_atomic_t term;
static int p[2];
static const char first[] = "before the checkpoint";
static const char after[] = "after the restore";

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
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART */
	char buf[sizeof(first)];

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || pipe(p))
		zoo_setup_failed("sigaction or pipe: %m");
	if (write(p[1], first, sizeof(first)) != (ssize_t)sizeof(first) ||
	    read(p[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf) || memcmp(buf, first, sizeof(buf)))
		zoo_setup_failed("the pipe does not carry data");
}

static void read_until_term(void)
{
	char c;
	ssize_t r = read(p[0], &c, 1);
	int err = errno;

	if (r >= 0)
		zoo_fail("read on an empty pipe returned %zd (byte %#x)", r, r > 0 ? c : 0);
	else if (err != EINTR || !term)
		zoo_fail("read failed with errno %d%s", err, term ? "" : " and no SIGTERM came");
}

static void check_pipe(void)
{
	char buf[sizeof(after)];

	if (write(p[1], after, sizeof(after)) != (ssize_t)sizeof(after) ||
	    read(p[0], buf, sizeof(buf)) != (ssize_t)sizeof(buf) || memcmp(buf, after, sizeof(buf)))
		zoo_fail("the pipe no longer carries data after the restore");
}

/* A handler without SA_RESTART makes read fail with EINTR before any SIGTERM. */
static void break_stray_signal(void)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval soon = {.it_value = {0, 20000}};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &soon, NULL);
}

static void break_data(void)
{
	if (write(p[1], "x", 1) != 1)
		zoo_fail("cannot write the stray byte");
}

static const struct zoo_break breaks[] = {
	{"a SIGALRM handler interrupts read", break_stray_signal},
	{"a byte appears in the pipe", break_data},
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
	read_until_term();
	while (!term) /* after a failure: wait for SIGTERM like any zoo program */
		zoo_sleep_ms(10);
	check_pipe();
	return zoo_verdict();
}
