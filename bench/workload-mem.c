/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workload-mem SIZE_MIB PIDFILE VERDICT
 *
 * The target of bench/dump-restore.sh: SIZE_MIB of private anonymous
 * memory, every 8-byte word non-zero and different (a function of its index
 * and of a seed drawn at start), and a checksum of all of it. It leads its
 * own session, has /dev/null on its stdio and no other fd, and writes its
 * pid to PIDFILE (through a rename: never seen half written) once ready.
 *
 * On SIGTERM it checks every word against the pattern and the checksum
 * against the one taken when the memory was filled, writes its verdict to
 * VERDICT ("ok ..." or "BAD ...") and exits 0 if the memory is intact, 1 if
 * not. Run it, dump it, restore it, SIGTERM it: the verdict says whether
 * the restored memory is the dumped one, page by page.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

static volatile sig_atomic_t terminated;

/* Kept in the task's memory, so they are dumped and restored with it. */
static uint64_t *mem;
static size_t words;
static uint64_t seed;
static uint64_t checksum;

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

/* splitmix64's finaliser: every word differs from its neighbours and from zero. */
static uint64_t pattern(size_t i)
{
	uint64_t z = seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z ? z : 1;
}

/* Order-sensitive, so that two swapped pages change it too. */
static uint64_t mix(uint64_t sum, uint64_t w)
{
	return (sum ^ w) * 0x100000001b3ull;
}

static void fill(void)
{
	uint64_t sum = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < words; i++) {
		mem[i] = pattern(i);
		sum = mix(sum, mem[i]);
	}
	checksum = sum;
}

/* Returns the number of words that are not what fill() wrote. */
static size_t verify(uint64_t *ret_sum)
{
	uint64_t sum = 0xcbf29ce484222325ull;
	size_t bad = 0;

	for (size_t i = 0; i < words; i++) {
		bad += mem[i] != pattern(i);
		sum = mix(sum, mem[i]);
	}
	*ret_sum = sum;
	return bad;
}

static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return rename(tmp, path);
}

/* stdio on /dev/null, nothing else open: the dump sees the simplest fd table. */
static int detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return -1;
	return close_range(3, ~0u, 0);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	sigset_t term, old;
	char text[256];
	uint64_t sum;
	size_t bad;
	long mib;

	if (argc != 4 || (mib = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: %s SIZE_MIB PIDFILE VERDICT\n", argv[0]);
		return 2;
	}
	words = (size_t)mib << 17;
	mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		perror("workload-mem");
		return 2;
	}
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &old) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("workload-mem: SIGTERM");
		return 2;
	}
	fill();
	setsid();
	snprintf(text, sizeof(text), "%d\n", getpid());
	if (detach_stdio() < 0 || write_file(argv[2], text) < 0)
		return 2;
	while (!terminated)
		sigsuspend(&old);

	bad = verify(&sum);
	if (bad || sum != checksum)
		snprintf(text, sizeof(text),
			 "BAD %zu of %zu words differ, checksum %016llx != %016llx\n", bad, words,
			 (unsigned long long)sum, (unsigned long long)checksum);
	else
		snprintf(text, sizeof(text), "ok %zu MiB, checksum %016llx\n", (size_t)mib,
			 (unsigned long long)sum);
	if (write_file(argv[3], text) < 0)
		return 2;
	return bad || sum != checksum;
}
