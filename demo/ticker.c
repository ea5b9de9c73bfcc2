/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The demo's workload: counts up twice a second and prints the count with a
 * running checksum of every value so far, so a restored ticker visibly goes
 * on from where it was checkpointed, with its memory intact.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	uint64_t sum = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long n = 1;; n++) {
		const struct timespec half = { 0, 500 * 1000 * 1000 };

		sum = sum * 31 + n;
		printf("ticker pid %d: count %lu checksum %016llx\n", getpid(), n,
		       (unsigned long long)sum);
		nanosleep(&half, NULL);
	}
}
