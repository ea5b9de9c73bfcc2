/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside futex(): the program waits for SIGTERM in a
 * FUTEX_WAIT_BITSET with an absolute CLOCK_REALTIME deadline an hour away
 * (the way glibc's sem_timedwait() and pthread_cond_timedwait() call it), so
 * the dump catches it inside the call. The kernel restarts such a wait when a
 * stop interrupts it (through its restart block, which a checkpoint loses;
 * with an absolute deadline, calling it again is the same): after the
 * restore the wait must go on, and end only when SIGTERM's handler changes
 * the futex word (EINTR, or EAGAIN if the handler ran before the call).
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

#define DEADLINE_S 3600

static volatile sig_atomic_t term;
static volatile uint32_t word; /* 0 while waiting; SIGTERM's handler sets it to 1 */
static uint32_t expected;      /* the value the waits expect */
static long deadline_s = DEADLINE_S;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
	word = 1;
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: EINTR on SIGTERM */

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		zoo_setup_failed("sigaction: %m");
}

/* Wait until SIGTERM; any other end of the wait is a failure. */
static void wait_and_check(void)
{
	while (!term) {
		struct timespec deadline;
		long r;
		int err;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += deadline_s;
		r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
			    expected, &deadline, NULL, FUTEX_BITSET_MATCH_ANY);
		err = errno;
		if (term && r < 0 && (err == EINTR || err == EAGAIN))
			return;
		zoo_fail("the futex wait returned %ld (errno %d) before SIGTERM", r,
			 r < 0 ? err : 0);
		return;
	}
}

static void break_value(void)
{
	expected = 7; /* the word holds 0: every wait fails at once with EAGAIN */
}

static void break_deadline(void)
{
	deadline_s = -1; /* already past: ETIMEDOUT at once */
}

static const struct zoo_break breaks[] = {
	{"the waits expect a value the word does not hold", break_value},
	{"the deadline put in the past", break_deadline},
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
	while (!term)
		zoo_sleep_ms(10);
	return zoo_verdict();
}
