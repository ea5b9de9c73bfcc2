/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workload-tree PROCS THREADS MIB PIDFILE VERDICT [spin|bomb]
 *
 * A tree for bench/tree.sh and tests/suites/tree.sh: the root and PROCS - 1
 * children, each process with THREADS threads (the main one included) and
 * MIB MiB of private memory filled with a pattern of its own. The threads
 * sleep in short nanosleeps, or spin ("spin"). With "bomb" the root writes
 * PIDFILE at once and the processes and threads are created one by one,
 * a few milliseconds apart, while a dump may be freezing the tree.
 *
 * SIGTERM to the root: every child checks its memory and exits 0 (or 1),
 * the root checks its own, reaps them and writes "ok" (or what failed) to
 * VERDICT. The children die with the root (PR_SET_PDEATHSIG).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Between two creations in bomb mode. */
#define BOMB_PAUSE_MS 3

static int nprocs, nthreads, mib;
static bool spin, bomb;
static volatile sig_atomic_t terminated;
static atomic_ulong spins;
static uint64_t *mem;
static size_t words;
static pid_t *kids;

static void on_signal(int sig)
{
	(void)sig;
	terminated = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static uint64_t word_of(unsigned seed, size_t i)
{
	return ((uint64_t)seed << 40) ^ (i * 0x9e3779b97f4a7c15ULL);
}

static void fill(unsigned seed)
{
	words = (size_t)mib << 17; /* 8-byte words in MIB MiB */
	if (!words)
		return;
	mem = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		exit(3);
	for (size_t i = 0; i < words; i++)
		mem[i] = word_of(seed, i);
}

static bool intact(unsigned seed)
{
	for (size_t i = 0; i < words; i++)
		if (mem[i] != word_of(seed, i))
			return false;
	return true;
}

static void *thread_main(void *arg)
{
	sigset_t all;

	/* SIGTERM is the main thread's: it waits for it in sigsuspend(). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	(void)arg;
	for (;;) {
		if (spin)
			atomic_fetch_add(&spins, 1);
		else
			sleep_ms(10);
	}
	return NULL;
}

static void start_threads(void)
{
	pthread_t t;

	for (int i = 1; i < nthreads; i++) {
		if (pthread_create(&t, NULL, thread_main, NULL) != 0)
			exit(4);
		if (bomb)
			sleep_ms(BOMB_PAUSE_MS);
	}
}

/* SIGTERM stays blocked but in sigsuspend(): one that comes early waits there. */
static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t term;

	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
}

static void wait_term(void)
{
	sigset_t none;

	sigemptyset(&none);
	while (!terminated)
		sigsuspend(&none);
}

static _Noreturn void child_main(unsigned seed, int ready_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fill(seed);
	start_threads();
	if (write(ready_fd, "r", 1) != 1)
		_exit(5);
	wait_term();
	_exit(intact(seed) ? 0 : 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		exit(6);
	fputs(text, f);
	fclose(f);
}

static void make_children(int ready[2])
{
	kids = calloc((size_t)nprocs, sizeof(*kids));
	if (!kids)
		exit(7);
	for (int i = 1; i < nprocs; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			exit(8);
		if (kids[i] == 0)
			child_main((unsigned)i, ready[1]);
		if (bomb)
			sleep_ms(BOMB_PAUSE_MS);
	}
}

static void wait_ready(int fd)
{
	char c;

	for (int i = 1; i < nprocs; i++)
		if (read(fd, &c, 1) != 1)
			exit(9);
}

/* SIGTERM: every child checks itself; their statuses and the root's own check. */
static void finish(const char *verdict)
{
	char why[128] = "ok\n";
	int status;

	for (int i = 1; i < nprocs; i++) {
		kill(kids[i], SIGTERM);
		if (waitpid(kids[i], &status, 0) != kids[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			snprintf(why, sizeof(why), "FAIL: child %d ended with status %#x\n", i,
				 status);
	}
	if (!intact(0))
		snprintf(why, sizeof(why), "FAIL: the root's memory changed\n");
	write_file(verdict, why);
}

int main(int argc, char **argv)
{
	char pid_text[32];
	int ready[2];

	if (argc < 6) {
		fprintf(stderr, "usage: %s PROCS THREADS MIB PIDFILE VERDICT [spin|bomb]\n",
			argv[0]);
		return 2;
	}
	nprocs = atoi(argv[1]), nthreads = atoi(argv[2]), mib = atoi(argv[3]);
	spin = argc > 6 && strcmp(argv[6], "spin") == 0;
	bomb = argc > 6 && strcmp(argv[6], "bomb") == 0;
	if (nprocs < 1 || nthreads < 1 || mib < 0 || pipe(ready) < 0)
		return 2;
	catch_signals();
	snprintf(pid_text, sizeof(pid_text), "%d\n", (int)getpid());
	if (bomb)
		write_file(argv[4], pid_text);
	fill(0);
	make_children(ready);
	start_threads();
	wait_ready(ready[0]);
	if (!bomb)
		write_file(argv[4], pid_text);
	wait_term();
	finish(argv[5]);
	return 0;
}
