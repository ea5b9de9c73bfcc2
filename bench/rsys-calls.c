/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cost of one remote syscall: a child that sleeps in pause() is frozen
 * with rsys and made to call getpid() N times, first at its own rip (the
 * instruction poked and put back each time), then from a scratch area.
 * Prints the mean and the best of ROUNDS rounds, in microseconds per call.
 *
 * Usage: rsys-calls [N [ROUNDS]]   (default: 2000 calls, 5 rounds)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsys/rsys.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Best microseconds per call over `rounds` rounds of n calls, or -1. */
static double time_calls(struct rsys_task *t, long n, int rounds)
{
	const unsigned long args[6] = {0};
	double best = -1;

	for (int k = 0; k < rounds; k++) {
		double t0 = now_us();
		long res;

		for (long i = 0; i < n; i++)
			if (rsys_syscall(t, SYS_getpid, args, &res) < 0)
				return -1;
		double per = (now_us() - t0) / n;
		if (best < 0 || per < best)
			best = per;
	}
	return best;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct rsys_task *t = NULL;
	unsigned long data;
	pid_t child;
	int ret = 1;

	child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	if (child < 0 || rsys_attach(child, 0, &t) < 0)
		goto out;
	double at_rip = time_calls(t, n, rounds);
	if (rsys_mmap_scratch(t, 0, 4096, &data) < 0)
		goto out;
	double scratch = time_calls(t, n, rounds);
	if (at_rip < 0 || scratch < 0)
		goto out;
	printf("remote getpid, best of %d rounds of %ld: %.1f us at the task's rip, "
	       "%.1f us from a scratch area\n",
	       rounds, n, at_rip, scratch);
	ret = 0;
out:
	if (t)
		(void)rsys_detach(t);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	return ret;
}
