/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside nanosleep(): the program waits for SIGTERM in
 * nanosleep(&req, &rem) of a few seconds each, so the dump catches it inside
 * the call. (A SIGTERM just before the call costs one sleep.) After the
 * restore the call must go on as the kernel would have it go on: sleep on,
 * or return -1/EINTR with the remaining time written to rem, as if a signal
 * had interrupted it (the kernel's restart block does not survive a
 * checkpoint); never return early with 0, another error, or a raw kernel
 * restart code. SIGTERM then interrupts it with EINTR and a valid rem.
 */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "zoo.h"

#define SLEEP_S 2
#define MAX_UNSIGNALLED 1 /* EINTR returns without a signal: one for the checkpoint */

static volatile sig_atomic_t term;
static struct timespec req = {SLEEP_S, 0};
static struct timespec *rem_ptr;
static struct timespec rem;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: EINTR on SIGTERM */

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		zoo_setup_failed("sigaction: %m");
	rem_ptr = &rem;
}

static long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000L + ts->tv_nsec;
}

/* Sleep until SIGTERM, checking each return of nanosleep(). */
static void sleep_and_check(void)
{
	int unsignalled = 0;

	while (!term) {
		struct timespec t0, t1, asked = req;
		int r, err;

		rem = (struct timespec){-1, -1};
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = nanosleep(&req, rem_ptr);
		err = errno;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r == 0) {
			if (!zoo_expect(ts_ns(&t1) - ts_ns(&t0) >= ts_ns(&asked),
					"nanosleep returned 0 after %ld ms of %ld ms",
					(ts_ns(&t1) - ts_ns(&t0)) / 1000000,
					ts_ns(&asked) / 1000000))
				return;
			continue;
		}
		if (!zoo_expect(err == EINTR, "nanosleep failed with errno %d, not EINTR", err) ||
		    !zoo_expect(rem.tv_sec >= 0 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L &&
					ts_ns(&rem) <= ts_ns(&asked),
				"nanosleep gave EINTR with remaining time %ld.%09ld of %ld s",
				(long)rem.tv_sec, rem.tv_nsec, (long)asked.tv_sec))
			return;
		unsignalled += !term;
		if (!zoo_expect(unsignalled <= MAX_UNSIGNALLED,
				"nanosleep gave EINTR %d times without a signal", unsignalled))
			return;
		req = rem;
	}
}

static void break_no_rem(void)
{
	rem_ptr = NULL;
}

static void break_bad_request(void)
{
	req.tv_nsec = 1000000000L;
}

static const struct zoo_break breaks[] = {
	{"nanosleep told not to write the remaining time", break_no_rem},
	{"nanosleep asked for an invalid time", break_bad_request},
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
	sleep_and_check();
	/* After a failed check, wait for SIGTERM as every zoo program does. */
	while (!term)
		zoo_sleep_ms(10);
	return zoo_verdict();
}
