/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workload-dirty SIZE_MIB PERMILLE|max PIDFILE [PROGRESS]
 *
 * The target of bench/predump.sh: SIZE_MIB of private anonymous memory,
 * filled, then PERMILLE thousandths of its pages written per second (a page
 * every so often, at random, in 10 ms steps) until SIGTERM; with "max", a
 * random page after another as fast as it can (a program whose speed is
 * its writes: what a snapshot's background copy slows down most). It leads
 * its own session and writes its pid to PIDFILE (through a rename) when
 * ready. With PROGRESS, it appends "REALTIME_NS WRITES" to that file every
 * 20 ms (WRITES: page writes since it was ready), so that the writes per
 * second it managed before, during and after a dump can be computed.
 * With WORKLOAD_SHARED=1 in its environment the memory is MAP_SHARED |
 * MAP_ANONYMOUS instead (a shared anonymous object of SIZE_MIB).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_NS (20 * 1000 * 1000ull)

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Every PROGRESS_NS: one line (a single write, so that a reader sees whole lines). */
static void progress(int fd, uint64_t writes, uint64_t *next)
{
	char line[64];
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	int n;

	if (fd < 0 || now < *next)
		return;
	*next = now + PROGRESS_NS;
	n = snprintf(line, sizeof(line), "%llu %llu\n",
		     (unsigned long long)clock_ns(CLOCK_REALTIME), (unsigned long long)writes);
	if (write(fd, line, (size_t)n) != n)
		_exit(1);
}

int main(int argc, char **argv)
{
	char tmp[4096];
	uint64_t x = 88172645463325252ull, writes = 0, next = 0;
	size_t size, pages, per_step;
	bool busy, shared;
	uint8_t *mem;
	int pfd = -1;
	FILE *f;

	if (argc != 4 && argc != 5)
		return 2;
	size = strtoull(argv[1], NULL, 10) << 20;
	pages = size / 4096;
	busy = strcmp(argv[2], "max") == 0;
	/* A step: 1 page when busy, else 10 ms worth of the rate (100 steps a second). */
	per_step = busy ? 1 : pages * strtoull(argv[2], NULL, 10) / 1000 / 100;
	shared = getenv("WORKLOAD_SHARED") && strcmp(getenv("WORKLOAD_SHARED"), "1") == 0;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 0x5a, size);
	signal(SIGTERM, on_term);
	if (argc == 5 && (pfd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644)) < 0)
		return 1;
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
		writes += per_step;
		if (!busy || (writes & 63) == 0)
			progress(pfd, writes, &next);
		if (!busy)
			nanosleep(&ts, NULL);
	}
	return 0;
}
