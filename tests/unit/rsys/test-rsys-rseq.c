/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A task frozen inside an rseq critical section. The child spins inside a
 * section whose abort handler counts aborts and re-enters it. The kernel
 * aborts the section whenever the task is preempted, so a frozen task must
 * be frozen at the abort handler: rsys moves rip there, and remote syscalls
 * (the first one poked at rip) then run without the kernel sending the task
 * off to the handler under our feet.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "child.h"
#include "compat/rseq.h"

/* struct rseq_cs from <linux/rseq.h>, which Debian 12's glibc headers already pull in. */
static struct rseq_cs cs_desc __attribute__((aligned(32)));

extern const char rsys_test_cs_start[], rsys_test_cs_end[], rsys_test_cs_abort[];

struct shared {
	volatile int spinning;
	volatile int go;
	volatile uint64_t aborts;
};
static struct shared *sh;

/* Spin in the section until go; the abort handler counts and goes back in. */
__attribute__((noinline)) static void spin_in_section(struct rseq *rs)
{
	asm volatile("0:\n"
		     "movq %[desc], 8(%[rs])\n"
		     "movl $1, (%[spinning])\n"
		     ".globl rsys_test_cs_start\n"
		     "rsys_test_cs_start:\n"
		     "cmpl $0, (%[go])\n"
		     "je rsys_test_cs_start\n"
		     ".globl rsys_test_cs_end\n"
		     "rsys_test_cs_end:\n"
		     "movq $0, 8(%[rs])\n"
		     "jmp 2f\n"
		     ".long 0x53053053\n"
		     ".globl rsys_test_cs_abort\n"
		     "rsys_test_cs_abort:\n"
		     "lock incq (%[aborts])\n"
		     "jmp 0b\n"
		     "2:\n"
		     :
		     : [rs] "r"(rs), [desc] "r"(&cs_desc), [go] "r"(&sh->go),
		       [spinning] "r"(&sh->spinning), [aborts] "r"(&sh->aborts)
		     : "memory", "cc");
}

static int spinner(void *arg)
{
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);

	(void)arg;
	cs_desc = (struct rseq_cs){
		.start_ip = (uintptr_t)rsys_test_cs_start,
		.post_commit_offset = (uintptr_t)(rsys_test_cs_end - rsys_test_cs_start),
		.abort_ip = (uintptr_t)rsys_test_cs_abort,
	};
	child_ready();
	spin_in_section(rs);
	return 0;
}

static void test_frozen_in_critical_section(void **state)
{
	struct fixture *f = *state;
	unsigned long start = (unsigned long)rsys_test_cs_start;
	unsigned long end = (unsigned long)rsys_test_cs_end;
	/* The child is forked from this thread: its rseq area is at the same address. */
	unsigned long rseq_cs_addr =
		(unsigned long)((char *)__builtin_thread_pointer() + __rseq_offset) +
		offsetof(struct rseq, rseq_cs);
	int at_abort = 0;

	if (__rseq_size == 0)
		skip();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	pid_t pid = child_fork(f, spinner, NULL);
	long long deadline = now_ms() + 5000;
	while (!sh->spinning && now_ms() < deadline)
		usleep(1000);
	assert_true(sh->spinning);

	/*
	 * 20 freezes, and more (up to 200) until one lands in the section: a
	 * loaded machine may keep the spinner from its CPU for most of them.
	 */
	for (int i = 0; i < 20 || (at_abort == 0 && i < 200); i++) {
		struct rsys_task *t = fixture_attach(f, pid);
		unsigned long rip = rsys_task_regs(t)->gpr.rip;
		uint64_t aborts = sh->aborts;

		/*
		 * Never frozen inside the section, unless the kernel had cleared
		 * rseq_cs already (a preemption between setting it and entering
		 * the section: the kernel clears it when rip is outside): then the
		 * kernel would not abort either.
		 */
		if (rip >= start && rip < end) {
			uint64_t cs = 1;

			assert_int_equal(rsys_read_mem(t, rseq_cs_addr, &cs, sizeof(cs)), 0);
			assert_int_equal(cs, 0);
		}
		if (rip == (unsigned long)rsys_test_cs_abort)
			at_abort++;
		/* The first call pokes the syscall at rip; the task must not run away. */
		assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
		assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
		assert_int_equal(sh->aborts, aborts);
		assert_settled(t);
		fixture_detach(f);
		/*
		 * Let it run before the next freeze: put back at the abort
		 * handler, it counts one more abort once it runs (a loaded
		 * machine may keep it waiting for a CPU for a while).
		 */
		long long until = now_ms() + (i < 20 ? 100 : 10);
		while (sh->aborts == aborts && now_ms() < until)
			usleep(500);
		usleep(1000);
	}
	/* It spins inside the section nearly all the time: freezes land there. */
	assert_true(at_abort > 0);
	sh->go = 1;
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frozen_in_critical_section, fixture_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
