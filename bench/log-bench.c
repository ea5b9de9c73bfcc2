/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cost per log call: stasis's binary records, stasis's own text mode, and
 * the classic text logger (snprintf + write per call, as CRIU's log does),
 * all writing to a file in DIR. Prints ns per call side by side.
 */
#include <fcntl.h>
#include <time.h>

#include "base/log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A line shaped like a dump log's: a few numbers and a path. */
#define BENCH_FMT "vma %lx-%lx prot %#x flags %#x off %llu file %s"
#define BENCH_ARGS(i)                                                                              \
	0x7f0000000000ul + (i) * 4096ul, 0x7f0000001000ul + (i) * 4096ul, 3, 0x22,                 \
		(unsigned long long)(i) * 4096, "/usr/lib/x86_64-linux-gnu/libc.so.6"

static double bench_stasis(const char *path, enum log_format format, long n)
{
	struct log_config cfg = { .path = path, .format = format, .level = LOGL_DEBUG,
				  .quiet_stderr = true };
	uint64_t t0;

	if (log_init(&cfg) < 0) {
		perror("log_init");
		exit(1);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		pr_debug(BENCH_FMT, BENCH_ARGS(i));
	log_fini(); /* the final flush is part of the cost */
	return (double)(now_ns() - t0) / (double)n;
}

/* The baseline: format every line and write it at once (CRIU's vprint_on_level). */
static double bench_snprintf_write(const char *path, long n)
{
	char line[512];
	uint64_t t0, start = now_ns();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		uint64_t ts = now_ns() - start;
		int len = snprintf(line, sizeof(line), "(%02llu.%06llu) " BENCH_FMT "\n",
				   (unsigned long long)(ts / 1000000000ull),
				   (unsigned long long)(ts % 1000000000ull / 1000), BENCH_ARGS(i));

		if (write(fd, line, (size_t)len) != len) {
			perror("write");
			exit(1);
		}
	}
	close(fd);
	return (double)(now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	char path[4096];
	double bin, text, base;

	/* A first pass touches the memory the files will use: this VM backs
	 * memory lazily, and the first touch would be measured otherwise. */
	snprintf(path, sizeof(path), "%s/bench-warmup.log", dir);
	bench_snprintf_write(path, n);
	bench_snprintf_write(path, n);
	unlink(path);

	snprintf(path, sizeof(path), "%s/bench-binary.log", dir);
	bin = bench_stasis(path, LOG_FORMAT_BINARY, n);
	snprintf(path, sizeof(path), "%s/bench-text.log", dir);
	text = bench_stasis(path, LOG_FORMAT_TEXT, n);
	snprintf(path, sizeof(path), "%s/bench-snprintf.log", dir);
	base = bench_snprintf_write(path, n);

	printf("%-34s %10s %10s\n", "logger", "ns/call", "vs binary");
	printf("%-34s %10.1f %9.1fx\n", "stasis binary", bin, 1.0);
	printf("%-34s %10.1f %9.1fx\n", "stasis text (buffered)", text, text / bin);
	printf("%-34s %10.1f %9.1fx\n", "snprintf + write per call (criu)", base, base / bin);
	printf("target: snprintf+write at least 10x the binary cost: %s\n",
	       base / bin >= 10 ? "met" : "NOT met");
	return 0;
}
