/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checkpointed inside pause(), while eight threads spin (every signal
 * blocked in them), in the classic loop `while (!term) pause();`. pause()
 * is restarted by the kernel after the stop (-ERESTARTNOHAND) unless a
 * handler runs: then it fails with EINTR. A restored task must keep that
 * choice to the kernel: if it were put back before the syscall instead, a
 * SIGTERM that comes before it runs again (likely here: the spinners keep
 * both CPUs busy) would run the handler first and leave the program asleep
 * in a new pause() for good. tests/suites/tree.sh sends SIGTERM at once
 * after the restore; the zoo cycle sends it a little later.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "zoo.h"

#define SPINNERS 8

static volatile sig_atomic_t term;
static atomic_ulong spins;
static int want_errno = EINTR;

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void *spin(void *arg)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;)
		atomic_fetch_add(&spins, 1);
	return arg;
}

static void setup(void)
{
	struct sigaction sa = {.sa_handler =
				       on_term}; /* no SA_RESTART: pause never restarts anyway */
	pthread_t t;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0)
		zoo_setup_failed("sigaction: %m");
	for (int i = 0; i < SPINNERS; i++)
		if (pthread_create(&t, NULL, spin, NULL) != 0)
			zoo_setup_failed("pthread_create");
}

static void wait_term(void)
{
	while (!term) {
		int r = pause();

		zoo_expect(r == -1 && errno == want_errno, "pause() returned %d, errno %d", r,
			   errno);
	}
}

static void break_errno(void)
{
	want_errno = EAGAIN;
}

static const struct zoo_break breaks[] = {
	{"pause() expected to fail with EAGAIN", break_errno},
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
	wait_term();
	return zoo_verdict();
}
