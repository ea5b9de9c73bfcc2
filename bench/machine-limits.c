/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * machine-limits warm MIB
 *     touch and free MIB of anonymous memory, so that the next allocations
 *     of this size find memory the hypervisor backs already.
 * machine-limits measure DIR MIB [ROUNDS]
 *     what this machine does alone, with nothing of stasis, best of ROUNDS
 *     (default 3), printed on one line of key=value (GB/s, 1e9 bytes):
 *       tmpfs_write   write() of MIB into a new file in DIR, 1 MiB at a time,
 *                     from one reused 1 MiB buffer (its source in the caches)
 *       tmpfs_write_cold  the same from MIB of resident anonymous memory,
 *                     each byte read once from RAM as a dump must: the
 *                     bound of any single copy of a task's pages to tmpfs
 *       readv         process_vm_readv of MIB of resident anonymous memory
 *                     into a reused 1 MiB buffer (what a dump does first)
 *       fill          memcpy from a file of DIR (in the page cache, mapped)
 *                     into fresh anonymous memory: each page faulted in,
 *                     zeroed by the kernel, then copied (a restore's path)
 *       uffd_copy     UFFDIO_COPY of the same file into fresh anonymous
 *                     memory registered with userfaultfd: no zeroing
 *       uffd_copy2    the same with two threads taking 8 MiB chunks in
 *                     turn (what stasis restore does on two CPUs; chunks
 *                     of 1 MiB share page tables and run slower)
 *       teardown_s    seconds from SIGKILL to the exit of a process that
 *                     holds MIB of resident anonymous memory: the kernel
 *                     frees it first (what a dump without -R waits for,
 *                     as criu's does)
 *
 * This VM backs memory lazily (the first touch of a page costs several
 * times its copy): each measurement is preceded by touching and freeing as
 * much memory as it will allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1ul << 20)
#define CHUNK MIB
/* Room for what a measurement allocates besides its MIB (buffers, page tables). */
#define WARM_EXTRA (64 * MIB)

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

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void warm(size_t bytes)
{
	uint8_t *p = map_anon(bytes);

	for (size_t i = 0; i < bytes; i += 4096)
		p[i] = 1;
	munmap(p, bytes);
}

static double gbs(size_t bytes, double seconds)
{
	return (double)bytes / seconds / 1e9;
}

/* Writes `size` bytes into a new `path`; the file stays for the next measurements. */
/* write() of size bytes into a new file at path, from src (advancing by `step` a chunk). */
static double bench_write_from(const char *path, const uint8_t *src, size_t size, size_t step)
{
	double t;
	int fd;

	unlink(path);
	warm(size + WARM_EXTRA);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(path);
	t = now();
	for (size_t off = 0; off < size; off += CHUNK)
		if (write(fd, src + off / CHUNK * step, CHUNK) != (ssize_t)CHUNK)
			die("write");
	t = now() - t;
	close(fd);
	return gbs(size, t);
}

static double bench_write(const char *path, size_t size)
{
	uint8_t *buf = map_anon(CHUNK);
	double g;

	memset(buf, 0x5a, CHUNK);
	g = bench_write_from(path, buf, size, 0);
	munmap(buf, CHUNK);
	return g;
}

static double bench_fill(const uint8_t *src, size_t size, uint8_t **ret_dst)
{
	uint8_t *dst;
	double t;

	warm(size + WARM_EXTRA);
	dst = map_anon(size);
	t = now();
	for (size_t off = 0; off < size; off += CHUNK)
		memcpy(dst + off, src + off, CHUNK);
	t = now() - t;
	*ret_dst = dst;
	return gbs(size, t);
}

/* Reads this process's own memory: the same page pinning and copy as from another one. */
static double bench_readv(const uint8_t *mem, size_t size)
{
	uint8_t *buf = map_anon(CHUNK);
	double t;

	memset(buf, 0, CHUNK);
	t = now();
	for (size_t off = 0; off < size; off += CHUNK) {
		struct iovec l = {buf, CHUNK}, r = {(void *)(mem + off), CHUNK};

		if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != (ssize_t)CHUNK)
			die("process_vm_readv");
	}
	t = now() - t;
	munmap(buf, CHUNK);
	return gbs(size, t);
}

/* The chunk each of two threads takes in turn: 4 page tables' worth, as stasis's jobs. */
#define UFFD_CHUNK (8 * MIB)

struct uffd_job {
	int uffd;
	const uint8_t *src;
	uint8_t *dst;
	size_t size;
	atomic_size_t next; /* the next chunk's offset */
};

static void *uffd_copy_chunks(void *arg)
{
	struct uffd_job *j = arg;

	for (size_t off; (off = atomic_fetch_add(&j->next, UFFD_CHUNK)) < j->size;) {
		size_t len = j->size - off < UFFD_CHUNK ? j->size - off : UFFD_CHUNK;
		struct uffdio_copy c = {
			.dst = (uintptr_t)(j->dst + off),
			.src = (uintptr_t)(j->src + off),
			.len = len,
			.mode = UFFDIO_COPY_MODE_DONTWAKE, /* nobody waits on these pages */
		};

		if (ioctl(j->uffd, UFFDIO_COPY, &c) < 0 || c.copy != (int64_t)len)
			die("UFFDIO_COPY");
	}
	return NULL;
}

/* 0 when userfaultfd is not available to this process. */
static double bench_uffd_copy(const uint8_t *src, size_t size, bool two_threads)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	struct uffd_job j = {.src = src, .size = size};
	pthread_t helper;
	double t;

	j.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (j.uffd < 0 || ioctl(j.uffd, UFFDIO_API, &api) < 0) {
		fprintf(stderr, "machine-limits: no userfaultfd: %s\n", strerror(errno));
		if (j.uffd >= 0)
			close(j.uffd);
		return 0;
	}
	warm(size + WARM_EXTRA);
	j.dst = map_anon(size);
	reg.range.start = (uintptr_t)j.dst;
	reg.range.len = size;
	if (ioctl(j.uffd, UFFDIO_REGISTER, &reg) < 0)
		die("UFFDIO_REGISTER");
	t = now();
	if (two_threads && pthread_create(&helper, NULL, uffd_copy_chunks, &j) != 0)
		die("pthread_create");
	uffd_copy_chunks(&j);
	if (two_threads)
		pthread_join(helper, NULL);
	t = now() - t;
	close(j.uffd);
	munmap(j.dst, size);
	return gbs(size, t);
}

/* Seconds from SIGKILL to the exit of a child holding size bytes of touched memory. */
static double bench_teardown(size_t size)
{
	int ready[2];
	pid_t pid;
	double t;
	char c;

	warm(size + WARM_EXTRA);
	if (pipe(ready) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		uint8_t *p = map_anon(size);

		for (size_t i = 0; i < size; i += 4096)
			p[i] = 1;
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("the teardown child");
	close(ready[0]);
	t = now();
	kill(pid, SIGKILL);
	if (waitpid(pid, NULL, 0) != pid)
		die("waitpid");
	return now() - t;
}

static double min_pos(double a, double b)
{
	return a > 0 && a < b ? a : b;
}

static double max(double a, double b)
{
	return a > b ? a : b;
}

static int measure(const char *dir, size_t size, int rounds)
{
	double w = 0, wc = 0, f = 0, r = 0, u = 0, u2 = 0, td = 0;
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/machine-limits.tmp", dir) >= (int)sizeof(path))
		die("path");
	for (int i = 0; i < rounds; i++) {
		uint8_t *src, *mem;
		int fd;

		w = max(w, bench_write(path, size));
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(path);
		/* MAP_POPULATE: only the destination's faults are measured. */
		src = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
		if (src == MAP_FAILED)
			die("mmap");
		close(fd);
		f = max(f, bench_fill(src, size, &mem));
		r = max(r, bench_readv(mem, size));
		wc = max(wc, bench_write_from(path, mem, size, CHUNK));
		munmap(mem, size);
		u = max(u, bench_uffd_copy(src, size, false));
		u2 = max(u2, bench_uffd_copy(src, size, true));
		munmap(src, size);
		td = min_pos(td, bench_teardown(size));
	}
	unlink(path);
	printf("tmpfs_write=%.2f tmpfs_write_cold=%.2f readv=%.2f fill=%.2f uffd_copy=%.2f "
	       "uffd_copy2=%.2f teardown_s=%.4f\n",
	       w, wc, r, f, u, u2, td);
	return 0;
}

static long parse_mib(const char *s)
{
	char *end;
	long mib = strtol(s, &end, 10);

	return *s && !*end && mib > 0 ? mib : -1;
}

int main(int argc, char **argv)
{
	long mib;

	if (argc == 3 && !strcmp(argv[1], "warm") && (mib = parse_mib(argv[2])) > 0) {
		warm((size_t)mib * MIB);
		return 0;
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "measure") &&
	    (mib = parse_mib(argv[3])) > 0) {
		int rounds = argc == 5 ? atoi(argv[4]) : 3;

		return measure(argv[2], (size_t)mib * MIB, rounds > 0 ? rounds : 1);
	}
	fprintf(stderr, "usage: %s warm MIB | measure DIR MIB [ROUNDS]\n", argv[0]);
	return 2;
}
