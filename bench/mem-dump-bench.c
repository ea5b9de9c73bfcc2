/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mem-dump-bench SIZE_MIB DIR [BUF_MIB [ROUNDS]]
 *
 * Dump SIZE_MIB of non-zero private anonymous memory of a stopped child
 * into DIR with mem_dump_pages(), and measure, in the same run, what the
 * machine can do: process_vm_readv alone into a reused buffer, write()
 * alone to a file in DIR. The dump runs in a process of its own, forked
 * while the driver is small, so that its peak RSS is stasis's alone.
 *
 * This VM backs memory lazily (the first touch costs ~2.9 s/GiB) and hands
 * freed memory back to the host after a second or two: every measurement
 * is preceded by touching and freeing as much memory as it will allocate.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/macro.h"
#include "image/image.h"
#include "mem/mem.h"

#define MIB (1ul << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Have the hypervisor back `bytes` of memory again before it is allocated for real. */
static void warm(size_t bytes)
{
	uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	for (size_t i = 0; i < bytes; i += 4096)
		p[i] = 1;
	munmap(p, bytes);
}

static pid_t start_target(size_t size, uint64_t *ret_addr)
{
	int pfd[2], status;
	uint64_t addr;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		uint64_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				   -1, 0);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (p == MAP_FAILED)
			_exit(1);
		for (size_t i = 0; i < size / sizeof(*p); i++)
			p[i] = i * 0x9e3779b97f4a7c15ull + 1;
		addr = (uintptr_t)p;
		if (write(pfd[1], &addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &addr, sizeof(addr)) != sizeof(addr))
		die("target");
	close(pfd[0]);
	if (kill(pid, SIGSTOP) < 0 || waitpid(pid, &status, WUNTRACED) != pid)
		die("stop target");
	*ret_addr = addr;
	return pid;
}

static double bench_readv(pid_t pid, uint64_t addr, size_t size, size_t chunk)
{
	uint8_t *buf =
		mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t;

	if (buf == MAP_FAILED)
		die("mmap");
	memset(buf, 0, chunk);
	t = now();
	for (size_t off = 0; off < size; off += chunk) {
		struct iovec l = {buf, chunk}, r = {(void *)(uintptr_t)(addr + off), chunk};

		if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)chunk)
			die("process_vm_readv");
	}
	t = now() - t;
	munmap(buf, chunk);
	return t;
}

static double bench_write(const char *dir, size_t size, size_t chunk)
{
	uint8_t *buf =
		mmap(NULL, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char path[4096];
	double t;
	int fd;

	if (buf == MAP_FAILED)
		die("mmap");
	memset(buf, 0x5a, chunk);
	snprintf(path, sizeof(path), "%s/write-bench", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path);
	t = now();
	for (size_t off = 0; off < size; off += chunk)
		if (write(fd, buf, chunk) != (ssize_t)chunk)
			die("write");
	t = now() - t;
	close(fd);
	unlink(path);
	munmap(buf, chunk);
	return t;
}

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

struct dump_result {
	double collect; /* reading the VMAs (smaps) */
	double pages;   /* scanning and copying the pages */
	long rss_before_kib;
	uint64_t written;
};

/* In a child of our own: collect, dump, report. Its peak RSS comes back through wait4. */
static void run_dump(pid_t target, const char *dir, unsigned round, size_t buf, bool one_thread,
		     struct dump_result *res, long *ret_peak_kib)
{
	struct rusage ru;
	int pfd[2], status;
	pid_t pid;

	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		struct mem_dump_opts opts = {.buf_size = buf, .one_thread = one_thread};
		struct mem_dump_stats st = {};
		struct dump_result r = {.rss_before_kib = rss_kib()};
		struct mem_vmas vmas;
		struct img_dir *d;
		char path[4096];
		double t;

		snprintf(path, sizeof(path), "%s/img-%u", dir, round);
		if (mkdir(path, 0700) < 0 || img_dir_open(path, &d) < 0)
			_exit(1);
		t = now();
		if (mem_vmas_collect(target, &vmas) < 0)
			_exit(1);
		r.collect = now() - t;
		t = now();
		if (mem_dump_pages(target, &vmas, d, target, 1, &opts, &st) < 0)
			_exit(1);
		r.pages = now() - t;
		r.written = st.pages_written;
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], res, sizeof(*res)) != sizeof(*res))
		die("dump failed");
	close(pfd[0]);
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("dump process");
	*ret_peak_kib = ru.ru_maxrss;
}

/* Dump in a process of its own, check, clean up; GB/s over the whole dump (VMAs and pages). */
static double dump_once(pid_t target, const char *dir, unsigned round, size_t size, size_t buf,
			bool one_thread, struct dump_result *res, long *peak)
{
	char cmd[4096];

	warm(size + size / 4);
	run_dump(target, dir, round, buf, one_thread, res, peak);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/img-%u'", dir, round);
	if (system(cmd) != 0)
		die("rm");
	if (res->written * 4096 < size)
		die("the dump missed pages");
	return (double)size / (res->collect + res->pages) / 1e9;
}

int main(int argc, char **argv)
{
	size_t size, buf;
	unsigned rounds;
	uint64_t addr;
	pid_t target;

	if (argc < 3) {
		fprintf(stderr, "usage: %s SIZE_MIB DIR [BUF_MIB [ROUNDS]]\n", argv[0]);
		return 2;
	}
	size = strtoul(argv[1], NULL, 10) * MIB;
	buf = (argc > 3 ? strtoul(argv[3], NULL, 10) : MEM_DUMP_BUF_DEFAULT / MIB) * MIB;
	rounds = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 3;
	warm(size);
	target = start_target(size, &addr);
	printf("%zu MiB of private anonymous memory, copy buffer %zu MiB, %u rounds (GB = 1e9 "
	       "bytes)\n",
	       size / MIB, buf / MIB, rounds);
	printf("%-5s %10s %10s %11s | %12s %12s %10s %18s\n", "round", "readv", "write",
	       "serial r+w", "stasis dump", "stasis dump", "(of which", "stasis peak RSS");
	printf("%-5s %10s %10s %11s | %12s %12s %10s %18s\n", "", "GB/s", "GB/s", "GB/s",
	       "1 thr GB/s", "2 thr GB/s", "smaps ms)", "(before dumping)");
	for (unsigned i = 0; i < rounds; i++) {
		struct dump_result r1, r2;
		double rd, wr, one, two;
		long peak1, peak2;

		one = dump_once(target, argv[2], i, size, buf, true, &r1, &peak1);
		two = dump_once(target, argv[2], i, size, buf, false, &r2, &peak2);
		rd = (double)size / bench_readv(target, addr, size, 1 * MIB) / 1e9;
		warm(size + size / 4);
		wr = (double)size / bench_write(argv[2], size, 1 * MIB) / 1e9;
		printf("%-5u %10.2f %10.2f %11.2f | %12.2f %12.2f %10.0f %8ld KiB (%ld)\n", i, rd,
		       wr, 1 / (1 / rd + 1 / wr), one, two, r2.collect * 1e3, MAX(peak1, peak2),
		       r2.rss_before_kib);
		fflush(stdout);
	}
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	return 0;
}
