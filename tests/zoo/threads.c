/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Four threads besides the main one, each holding what a thread has of its
 * own, and each caught somewhere else when the dump comes:
 *
 *   worker 0  spins, advancing its counter
 *   worker 1  sleeps in nanosleep() in a loop, advancing its counter
 *   worker 2  waits in a futex wait on a word of its own
 *   worker 3  blocks in read() on a pipe
 *
 * Each one has its thread id, a TLS value (fs base differs per thread), a
 * name (PR_SET_NAME), a blocked mask, a nice value and scheduling policy of
 * its own (SCHED_BATCH for worker 2) and, for workers 1 and 3, an
 * alternate signal stack. After SIGTERM the main thread wakes the waiting
 * ones (futex wake, a byte into the pipe) and every worker checks its own
 * state; the main thread checks that the counters still advance and that
 * /proc/self/task lists the same thread ids.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

#define NWORKERS 4
#define ALTSTACK_SIZE (64 * 1024)

struct worker {
	int index;
	pid_t tid;
	char name[16];
	uint64_t mask; /* its blocked signals: SIGUSR1 + index, SIGRTMIN + 3 * index */
	void *altstack;
	atomic_ulong counter;
	atomic_uint futex_word;
	int pipe_rd;
	atomic_int ready, checked;
	char why[160]; /* empty if its check passed */
};

static struct worker workers[NWORKERS];
static __thread uint64_t tls_value;
static pthread_t threads[NWORKERS];
static int wake_pipe[2];
static atomic_int stop;

static uint64_t tls_of(int i)
{
	return 0x5eed000000000000ull | ((uint64_t)i << 32) | 0xc0ffee;
}

static void set_mask(struct worker *w)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1 + w->index);
	sigaddset(&s, SIGRTMIN + 3 * w->index);
	pthread_sigmask(SIG_SETMASK, &s, NULL);
	w->mask = 0;
	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(&s, sig) == 1)
			w->mask |= 1ull << (sig - 1);
}

static int nice_of(const struct worker *w)
{
	return w->index + 1;
}

static int policy_of(const struct worker *w)
{
	return w->index == 2 ? SCHED_BATCH : SCHED_OTHER;
}

/* Per thread: setpriority() with a thread id, sched_setscheduler(0) for the caller. */
static void set_sched(struct worker *w)
{
	struct sched_param sp = {0};

	if (setpriority(PRIO_PROCESS, (id_t)w->tid, nice_of(w)) < 0 ||
	    sched_setscheduler(0, policy_of(w), &sp) < 0)
		snprintf(w->why, sizeof(w->why), "setup: scheduling: %m");
}

static void set_altstack(struct worker *w)
{
	stack_t ss = {.ss_size = ALTSTACK_SIZE};

	if (w->index != 1 && w->index != 3)
		return;
	w->altstack = malloc(ALTSTACK_SIZE);
	ss.ss_sp = w->altstack;
	if (!w->altstack || sigaltstack(&ss, NULL) < 0)
		snprintf(w->why, sizeof(w->why), "setup: sigaltstack: %m");
}

/* The first failed check of worker w; no malloc (it runs in the worker). */
_printf_(2, 3) static void why(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/* Run by each worker on itself, after SIGTERM. */
static void check_self(struct worker *w)
{
	char name[16] = "";
	sigset_t s;
	uint64_t mask = 0;
	stack_t ss;

	if ((pid_t)syscall(SYS_gettid) != w->tid)
		why(w, "worker %d: its thread id is %ld, not %d", w->index, syscall(SYS_gettid),
		    w->tid);
	if (tls_value != tls_of(w->index))
		why(w, "worker %d: its TLS value is %#llx", w->index,
		    (unsigned long long)tls_value);
	prctl(PR_GET_NAME, name);
	if (strcmp(name, w->name) != 0)
		why(w, "worker %d: its name is '%s', not '%s'", w->index, name, w->name);
	pthread_sigmask(SIG_BLOCK, NULL, &s);
	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(&s, sig) == 1)
			mask |= 1ull << (sig - 1);
	if (mask != w->mask)
		why(w, "worker %d: blocks %#llx, not %#llx", w->index, (unsigned long long)mask,
		    (unsigned long long)w->mask);
	errno = 0;
	if (getpriority(PRIO_PROCESS, (id_t)w->tid) != nice_of(w) || errno)
		why(w, "worker %d: its nice value is %d, not %d", w->index,
		    getpriority(PRIO_PROCESS, (id_t)w->tid), nice_of(w));
	if (sched_getscheduler(0) != policy_of(w))
		why(w, "worker %d: its policy is %d, not %d", w->index, sched_getscheduler(0),
		    policy_of(w));
	sigaltstack(NULL, &ss);
	if (w->altstack && (ss.ss_sp != w->altstack || ss.ss_size != ALTSTACK_SIZE))
		why(w, "worker %d: its altstack is %p, not %p", w->index, ss.ss_sp, w->altstack);
	if (!w->altstack && !(ss.ss_flags & SS_DISABLE))
		why(w, "worker %d: has an altstack at %p", w->index, ss.ss_sp);
}

static void wait_futex(struct worker *w)
{
	while (!atomic_load(&stop)) {
		long r = syscall(SYS_futex, &w->futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);

		if (r < 0 && errno != EINTR && errno != EAGAIN)
			why(w, "worker %d: futex wait failed: %m", w->index);
		atomic_fetch_add(&w->counter, 1);
	}
}

static void wait_read(struct worker *w)
{
	char c;

	while (!atomic_load(&stop)) {
		ssize_t k = read(w->pipe_rd, &c, 1);

		if (k < 0 && errno != EINTR)
			why(w, "worker %d: read failed: %m", w->index);
		atomic_fetch_add(&w->counter, 1);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	tls_value = tls_of(w->index);
	snprintf(w->name, sizeof(w->name), "zoo-w%d", w->index);
	prctl(PR_SET_NAME, w->name);
	set_mask(w);
	set_sched(w);
	set_altstack(w);
	atomic_store(&w->ready, 1);
	switch (w->index) {
	case 0:
		while (!atomic_load(&stop))
			atomic_fetch_add(&w->counter, 1);
		break;
	case 1:
		while (!atomic_load(&stop)) {
			zoo_sleep_ms(1);
			atomic_fetch_add(&w->counter, 1);
		}
		break;
	case 2:
		wait_futex(w);
		break;
	case 3:
		wait_read(w);
		break;
	}
	check_self(w);
	atomic_store(&w->checked, 1);
	return NULL;
}

static void setup(void)
{
	sigset_t all, old;

	if (pipe(wake_pipe) < 0)
		zoo_setup_failed("pipe: %m");
	/* The workers start with everything blocked: SIGTERM is the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < NWORKERS; i++) {
		workers[i].index = i;
		workers[i].pipe_rd = wake_pipe[0];
		if (pthread_create(&threads[i], NULL, worker_main, &workers[i]) != 0)
			zoo_setup_failed("pthread_create: %m");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < NWORKERS; i++)
		while (!atomic_load(&workers[i].ready))
			zoo_sleep_ms(1);
	tls_value = tls_of(100);
}

static void wake_all(void)
{
	atomic_store(&stop, 1);
	atomic_store(&workers[2].futex_word, 1);
	syscall(SYS_futex, &workers[2].futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	if (write(wake_pipe[1], "x", 1) != 1)
		zoo_fail("cannot write to the pipe of worker 3: %m");
}

static void check_tids(void)
{
	char path[64];

	for (int i = 0; i < NWORKERS; i++) {
		snprintf(path, sizeof(path), "/proc/self/task/%d", workers[i].tid);
		zoo_expect(access(path, F_OK) == 0,
			   "thread %d of worker %d is not in /proc/self/task", workers[i].tid, i);
	}
}

static void check(void)
{
	unsigned long before[2] = {atomic_load(&workers[0].counter),
				   atomic_load(&workers[1].counter)};

	check_tids();
	zoo_expect(tls_value == tls_of(100), "the main thread's TLS value changed");
	zoo_sleep_ms(50);
	zoo_expect(atomic_load(&workers[0].counter) > before[0], "worker 0 stopped spinning");
	zoo_expect(atomic_load(&workers[1].counter) > before[1], "worker 1 stopped sleeping");
	wake_all();
	for (int i = 0; i < NWORKERS; i++) {
		pthread_join(threads[i], NULL);
		zoo_expect(!workers[i].why[0], "%s", workers[i].why);
	}
}

/* Breaks, applied by the main thread right after the pid file. */
static void break_tls(void)
{
	tls_value = 1;
}

static void break_name(void)
{
	strcpy(workers[3].name, "renamed");
}

static void break_mask(void)
{
	workers[1].mask ^= 1;
}

static const struct zoo_break breaks[] = {
	{"the main thread's TLS value changed", break_tls},
	{"worker 3 expects another name", break_name},
	{"worker 1 expects another blocked mask", break_mask},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
