/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Restartable sequences: glibc registers an rseq area for each thread at
 * start. After the restore the same area must be registered again, with the
 * same length and signature (a second rseq() registration of it fails with
 * EBUSY exactly then), and the kernel must keep its cpu_id up to date (it
 * agrees with getcpu()).
 */
#include <errno.h>
#include <sched.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define RSEQ_LEN 32               /* what glibc 2.35+ registers: sizeof(struct rseq) */
#define RSEQ_SIGNATURE 0x53053053 /* RSEQ_SIG on x86 */
#define TRIES 100

static struct rseq *area;

static void setup(void)
{
	if (__rseq_size == 0)
		zoo_skip("glibc did not register rseq (GLIBC_TUNABLES=glibc.pthread.rseq=0, or an "
			 "old kernel)");
	area = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	if ((int)area->cpu_id < 0)
		zoo_setup_failed("rseq cpu_id is %d", (int)area->cpu_id);
}

static void check(void)
{
	long r = syscall(SYS_rseq, area, RSEQ_LEN, 0, RSEQ_SIGNATURE);
	int err = errno;
	unsigned cpu = 0;
	int i;

	if (r == 0)
		zoo_fail("the rseq area at %p was not registered (a new registration worked)",
			 (void *)area);
	else
		zoo_expect(err == EBUSY,
			   "registering the rseq area at %p again failed with errno %d, not EBUSY "
			   "(another area, length or signature is registered)",
			   (void *)area, err);
	/* The thread may move between the two reads: try a few times. */
	for (i = 0; i < TRIES; i++) {
		if (syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && (unsigned)area->cpu_id == cpu &&
		    area->cpu_id_start == cpu)
			break;
		sched_yield();
	}
	zoo_expect(i < TRIES, "rseq cpu_id %d cpu_id_start %u, getcpu() says %u", (int)area->cpu_id,
		   area->cpu_id_start, cpu);
}

static void break_unregister(void)
{
	syscall(SYS_rseq, area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIGNATURE);
}

static void break_stale(void)
{
	/* Unregistered, with a cpu_id that claims otherwise: only the registration shows it. */
	unsigned cpu = area->cpu_id;

	syscall(SYS_rseq, area, RSEQ_LEN, RSEQ_FLAG_UNREGISTER, RSEQ_SIGNATURE);
	area->cpu_id = area->cpu_id_start = cpu;
}

static const struct zoo_break breaks[] = {
	{"rseq unregistered", break_unregister},
	{"rseq unregistered, cpu_id left as it was", break_stale},
};

static const struct zoo_desc desc = {
	.requires = "rseq get_rseq_conf",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
