/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real-time scheduling: the main thread SCHED_FIFO at priority 7, a second
 * thread SCHED_RR at priority 3. Both sleep (a real-time thread that spins
 * would starve the machine). Each must keep its policy and priority.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define MAIN_PRIO 7
#define THREAD_PRIO 3

static pthread_t thread;
static atomic_int thread_policy = -1, thread_prio = -1;
static atomic_bool check_now, checked;
static int want_main_prio = MAIN_PRIO;

static void *thread_main(void *arg)
{
	struct sched_param sp = {.sched_priority = THREAD_PRIO};

	if (sched_setscheduler(0, SCHED_RR, &sp) < 0)
		atomic_store(&thread_policy, -2);
	while (!atomic_load(&check_now))
		zoo_sleep_ms(5);
	if (sched_getparam(0, &sp) == 0)
		atomic_store(&thread_prio, sp.sched_priority);
	if (atomic_load(&thread_policy) != -2)
		atomic_store(&thread_policy, sched_getscheduler(0));
	atomic_store(&checked, true);
	return arg;
}

static void setup(void)
{
	struct sched_param sp = {.sched_priority = MAIN_PRIO};

	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		zoo_setup_failed("sched_setscheduler(SCHED_FIFO): %m");
	if (pthread_create(&thread, NULL, thread_main, NULL) != 0)
		zoo_setup_failed("pthread_create");
	zoo_sleep_ms(20);
	if (atomic_load(&thread_policy) == -2)
		zoo_setup_failed("sched_setscheduler(SCHED_RR) failed in the thread");
}

static void check(void)
{
	struct sched_param sp;

	zoo_expect(sched_getscheduler(0) == SCHED_FIFO, "the main thread's policy is %d, not FIFO",
		   sched_getscheduler(0));
	zoo_expect(sched_getparam(0, &sp) == 0 && sp.sched_priority == want_main_prio,
		   "the main thread's priority is %d, not %d", sp.sched_priority, want_main_prio);
	atomic_store(&check_now, true);
	pthread_join(thread, NULL);
	zoo_expect(atomic_load(&thread_policy) == SCHED_RR, "the thread's policy is %d, not RR",
		   atomic_load(&thread_policy));
	zoo_expect(atomic_load(&thread_prio) == THREAD_PRIO, "the thread's priority is %d, not %d",
		   atomic_load(&thread_prio), THREAD_PRIO);
}

static void break_prio(void)
{
	want_main_prio = MAIN_PRIO + 1;
}

static const struct zoo_break breaks[] = {
	{"the main thread's priority expected one higher", break_prio},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
