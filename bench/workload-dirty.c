/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workload-dirty SIZE_MIB PERMILLE PIDFILE
 *
 * The target of bench/predump.sh: SIZE_MIB of private anonymous memory,
 * filled, then PERMILLE thousandths of its pages written per second (a page
 * every so often, at random, in 10 ms steps) until SIGTERM. It leads its
 * own session and writes its pid to PIDFILE (through a rename) when ready.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

int main(int argc, char **argv)
{
	char tmp[4096];
	uint64_t x = 88172645463325252ull;
	size_t size, pages, per_step;
	uint8_t *mem;
	FILE *f;

	if (argc != 4)
		return 2;
	size = strtoull(argv[1], NULL, 10) << 20;
	pages = size / 4096;
	per_step = pages * strtoull(argv[2], NULL, 10) / 1000 / 100; /* 100 steps a second */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 0x5a, size);
	signal(SIGTERM, on_term);
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, argv[3]))
		return 1;
	while (!terminated) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		for (size_t k = 0; k < per_step; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			mem[(x % pages) * 4096 + (x >> 52)] = (uint8_t)x;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}
