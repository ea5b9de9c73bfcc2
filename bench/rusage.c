/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rusage OUT COMMAND [ARG...]
 *
 * Runs COMMAND, waits for it and writes to OUT one line:
 *   wall_s=0.532100 maxrss_kib=10240 anon_kib=2048 status=0
 * wall time from fork to reaping, the peak resident set of COMMAND (and of
 * the children it reaped itself, as wait4() counts them), and its exit
 * status (128 + signal if it was killed). Exits with that status.
 * A child that COMMAND leaves behind (a task restored with -d) is not
 * counted: it is not reaped by COMMAND.
 *
 * ru_maxrss counts the pages of files that COMMAND maps (an image file it
 * reads through mmap) as well as its own memory. anon_kib is the peak of
 * its own, anonymous memory alone (RssAnon of /proc/PID/status), sampled
 * every SAMPLE_MS while it runs: a peak shorter than that may be missed.
 */
#include <poll.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define SAMPLE_MS 2

static long rss_anon_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Samples the child's anonymous memory until it ends; returns the peak. */
static long watch_anon(pid_t pid)
{
	struct pollfd p = {.fd = (int)syscall(SYS_pidfd_open, pid, 0), .events = POLLIN};
	long peak = 0;

	if (p.fd < 0)
		return -1;
	for (;;) {
		long kib = rss_anon_kib(pid);

		if (kib > peak)
			peak = kib;
		if (poll(&p, 1, SAMPLE_MS) != 0)
			break;
	}
	close(p.fd);
	return peak;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	int status, code;
	long anon;
	double t0, wall;
	FILE *out;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: %s OUT COMMAND [ARG...]\n", argv[0]);
		return 2;
	}
	out = fopen(argv[1], "we");
	if (!out) {
		perror(argv[1]);
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	anon = watch_anon(pid);
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("wait4");
		return 2;
	}
	wall = now() - t0;
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "wall_s=%.6f maxrss_kib=%ld anon_kib=%ld status=%d\n", wall, ru.ru_maxrss,
		anon, code);
	if (fclose(out) != 0) {
		perror(argv[1]);
		return 2;
	}
	return code;
}
