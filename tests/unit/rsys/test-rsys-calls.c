/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote syscalls in a running child: getpid, a scratch area written with
 * process_vm_writev and sent down a pipe by a remote write(2), prctl and
 * rt_sigaction queries, failures, and the poked instruction put back. After
 * each test the child checks its own memory and reports through its exit
 * status.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "arch/x86/syscall.h"
#include "child.h"
#include "rsys/internal.h"

/* The worker: spins, counting, until SIGTERM, then checks its memory. */
#define WORKER_NAME "rsys-worker"
#define WORKER_MEM 65536

static int data_pipe[2];
static volatile sig_atomic_t terminated;
static volatile uint64_t counter, shadow;
static uint8_t worker_mem[WORKER_MEM];

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
}

static void on_segv(int sig)
{
	(void)sig;
	_exit(13);
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Kill the process if it ever calls getppid(). */
static int install_seccomp(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(filter), .filter = filter};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static int worker(void *arg)
{
	struct sigaction term = {.sa_handler = on_term};
	struct sigaction usr1 = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction segv = {.sa_handler = on_segv};
	uint64_t sum;

	(void)arg;
	close(data_pipe[0]);
	for (size_t i = 0; i < WORKER_MEM; i++)
		worker_mem[i] = (uint8_t)(i * 13 + (i >> 8));
	sum = checksum(worker_mem, WORKER_MEM);
	sigemptyset(&usr1.sa_mask);
	sigaddset(&usr1.sa_mask, SIGUSR2);
	if (prctl(PR_SET_NAME, WORKER_NAME) < 0 || sigaction(SIGTERM, &term, NULL) < 0 ||
	    sigaction(SIGUSR1, &usr1, NULL) < 0 || sigaction(SIGSEGV, &segv, NULL) < 0)
		return 10;
	if (arg && install_seccomp() < 0)
		return 14;
	child_ready();
	while (!terminated) {
		counter++;
		shadow = counter * 3 + 1;
	}
	if (checksum(worker_mem, WORKER_MEM) != sum)
		return 11;
	if (counter == 0 || shadow != counter * 3 + 1)
		return 12;
	return 0;
}

static pid_t start_worker_with(struct fixture *f, bool seccomp)
{
	assert_int_equal(pipe(data_pipe), 0);
	pid_t pid = child_fork(f, worker, seccomp ? (void *)1 : NULL);
	close(data_pipe[1]);
	return pid;
}

static pid_t start_worker(struct fixture *f)
{
	return start_worker_with(f, false);
}

/* Let the worker run a little, stop it with SIGTERM and read its verdict. */
static void finish_worker(struct fixture *f, pid_t pid)
{
	usleep(20000);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
	close(data_pipe[0]);
}

static void test_getpid(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);

	assert_int_equal(rsys_task_group_stop(t), 0);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(remote(t, __NR_gettid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(remote(t, __NR_getppid, 0, 0, 0, 0, 0, 0), getpid());
	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

/* Does /proc/PID/maps hold a mapping starting at addr, with these permissions? */
static bool has_mapping(pid_t pid, unsigned long addr, const char *perms)
{
	char path[64], line[512];
	bool found = false;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fp = fopen(path, "re");
	assert_non_null(fp);
	while (!found && fgets(line, sizeof(line), fp)) {
		unsigned long start;
		char p[5];

		if (sscanf(line, "%lx-%*x %4s", &start, p) == 2 && start == addr)
			found = !perms || strcmp(p, perms) == 0;
	}
	fclose(fp);
	return found;
}

static void test_scratch_write_to_pipe(void **state)
{
	static const char msg[] = "written by a remote write(2)";
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	unsigned long scratch, base;
	char back[sizeof(msg)], got[sizeof(msg)];

	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	base = scratch & ~4095UL;
	assert_true(has_mapping(pid, base, "rwxp"));

	assert_int_equal(rsys_write_mem(t, scratch, msg, sizeof(msg)), 0);
	assert_int_equal(rsys_read_mem(t, scratch, back, sizeof(back)), 0);
	assert_memory_equal(back, msg, sizeof(msg));
	assert_int_equal(
		remote(t, __NR_write, (unsigned long)data_pipe[1], scratch, sizeof(msg), 0, 0, 0),
		sizeof(msg));
	assert_int_equal(read(data_pipe[0], got, sizeof(got)), sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));

	assert_int_equal(rsys_munmap_scratch(t), 0);
	assert_false(has_mapping(pid, base, NULL));
	assert_int_equal(rsys_read_mem(t, scratch, back, 1), -EFAULT);
	/* Without the area, the next call pokes the task's code again. */
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

static void test_scratch_at_fixed_address(void **state)
{
	const unsigned long want = 0x5a5a00000000UL;
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	unsigned long scratch, again;

	assert_int_equal(rsys_mmap_scratch(t, want, 100, &scratch), 0);
	assert_true(scratch > want && scratch < want + 4096);
	assert_true(has_mapping(pid, want, "rwxp"));
	assert_int_equal(rsys_mmap_scratch(t, 0, 100, &again), -EEXIST);
	assert_int_equal(rsys_munmap_scratch(t), 0);

	/* Where the worker's own data lives, the area is refused and nothing is replaced. */
	unsigned long taken = (unsigned long)worker_mem & ~4095UL;
	assert_int_equal(rsys_mmap_scratch(t, taken, 100, &again), -EEXIST);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

/* struct sigaction as the kernel's rt_sigaction takes it on x86_64. */
struct kernel_sigaction {
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	uint64_t mask;
};

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

static void test_prctl_and_sigaction(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	struct kernel_sigaction ksa;
	unsigned long scratch;
	char name[16] = "";

	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	assert_int_equal(remote(t, __NR_prctl, PR_GET_NAME, scratch, 0, 0, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, name, sizeof(name)), 0);
	assert_string_equal(name, WORKER_NAME);

	assert_int_equal(remote(t, __NR_prctl, PR_GET_PDEATHSIG, scratch, 0, 0, 0, 0), 0);
	int deathsig = 0;
	assert_int_equal(rsys_read_mem(t, scratch, &deathsig, sizeof(deathsig)), 0);
	assert_int_equal(deathsig, SIGKILL);

	assert_int_equal(remote(t, __NR_rt_sigaction, SIGUSR1, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, &ksa, sizeof(ksa)), 0);
	assert_int_equal(ksa.handler, (unsigned long)on_usr1);
	assert_int_equal(ksa.flags & (SA_SIGINFO | SA_RESTART | SA_RESTORER),
			 SA_SIGINFO | SA_RESTART | SA_RESTORER);
	assert_int_equal(ksa.mask, 1ULL << (SIGUSR2 - 1));

	assert_int_equal(remote(t, __NR_rt_sigaction, SIGTERM, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, &ksa, sizeof(ksa)), 0);
	assert_int_equal(ksa.handler, (unsigned long)on_term);
	assert_int_equal(ksa.flags & SA_RESTART, 0);

	assert_int_equal(remote(t, __NR_rt_sigaction, SIGUSR2, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, &ksa, sizeof(ksa)), 0);
	assert_int_equal(ksa.handler, (unsigned long)SIG_DFL);

	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

/* Failing calls and failing copies leave the task as it was. */
static void test_failures_leave_task(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	char byte = 0;

	assert_int_equal(remote(t, __NR_write, (unsigned long)data_pipe[1], 8, 10, 0, 0, 0),
			 -EFAULT);
	assert_int_equal(remote(t, 100000, 0, 0, 0, 0, 0, 0), -ENOSYS);
	assert_int_equal(remote(t, __NR_close, 100000, 0, 0, 0, 0, 0), -EBADF);
	assert_int_equal(rsys_write_mem(t, 8, &byte, 1), -EFAULT);
	assert_int_equal(rsys_read_mem(t, 8, &byte, 1), -EFAULT);
	/* Code is not writable through process_vm_writev. */
	assert_int_equal(rsys_write_mem(t, rsys_task_regs(t)->gpr.rip, &byte, 1), -EFAULT);
	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

/*
 * A remote call whose code faults (white box: the scratch area pointed at
 * the worker's data, which is not executable) fails with -EFAULT, and the
 * task keeps its own SIGSEGV handler: the kernel resets the handler of a
 * fault signal that is blocked, so those stay unblocked during calls.
 */
static void test_fault_in_call(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	const unsigned long args[6] = {0};
	struct kernel_sigaction ksa;
	unsigned long scratch;
	long res;

	t->scratch_base = (unsigned long)worker_mem;
	t->scratch_len = 4096;
	assert_int_equal(rsys_syscall(t, __NR_getpid, args, &res), -EFAULT);
	t->scratch_base = 0;
	t->scratch_len = 0;
	assert_settled(t);

	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	assert_int_equal(remote(t, __NR_rt_sigaction, SIGSEGV, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, &ksa, sizeof(ksa)), 0);
	assert_int_equal(ksa.handler, (unsigned long)on_segv);
	fixture_detach(f);
	finish_worker(f, pid);
}

/* Under a seccomp filter, remote syscalls are refused unless the filters are suspended. */
static void test_seccomp(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker_with(f, true);
	const unsigned long args[6] = {0};
	long res;

	struct rsys_task *t = fixture_attach(f, pid);
	assert_int_equal(rsys_syscall(t, __NR_getppid, args, &res), -EPERM);
	fixture_detach(f);

	assert_int_equal(rsys_attach(pid, RSYS_SUSPEND_SECCOMP, &f->task), 0);
	assert_int_equal(remote(f->task, __NR_getppid, 0, 0, 0, 0, 0, 0), getpid());
	assert_settled(f->task);
	fixture_detach(f);
	/* The filter is back: it would have killed the worker. */
	finish_worker(f, pid);
}

/* The syscall instruction poked at rip is gone again after the call. */
static void test_poke_restores_code(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	unsigned long rip = rsys_task_regs(t)->gpr.rip;
	uint8_t before[16], after[16];

	assert_int_equal(rsys_read_mem(t, rip - 8, before, sizeof(before)), 0);
	assert_memory_not_equal(before + 8, x86_syscall_insn, X86_SYSCALL_INSN_LEN);
	for (int i = 0; i < 20; i++)
		assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(rsys_read_mem(t, rip - 8, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	assert_settled(t);
	fixture_detach(f);
	finish_worker(f, pid);
}

/* The pipe's next bytes, waiting up to 5 s for them; the count read. */
static ssize_t read_within(int fd, void *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return read(fd, buf, len);
}

/* rsys_kill() (or rsys_detach()) the fixture's task; the worker must be gone (our child: reaped).
 */
static void kill_worker(struct fixture *f, pid_t pid, bool by_detach)
{
	struct rsys_task *t = TAKE_PTR(f->task);

	assert_int_equal(by_detach ? rsys_detach(t) : rsys_kill(t), 0);
	child_forget(f, pid);
	assert_int_equal(kill(pid, 0), -1);
	assert_int_equal(errno, ESRCH);
}

/* The first 64 bytes the worker's memory holds, as written by worker(). */
static void worker_pattern(uint8_t want[64])
{
	for (size_t i = 0; i < 64; i++)
		want[i] = (uint8_t)(i * 13 + (i >> 8));
}

/*
 * A last call runs after rsys_start_last_call() returns, with nothing waited
 * for, and ends in the step's SIGTRAP stop: the task runs nothing of its own
 * after it. rsys_kill() then collects the task past that stop. The worker
 * spins in its own code: the call needs a poke, refused without may_poke
 * (and then nothing was done: the worker goes on and passes its checks).
 */
static void test_last_call_runs(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	usleep(20000); /* in its loop by now, not on its way out of child_ready()'s write() */
	struct rsys_task *t = fixture_attach(f, pid);
	const unsigned long args[6] = {(unsigned long)data_pipe[1], (unsigned long)worker_mem, 64};
	uint8_t want[64], got[64], code[X86_SYSCALL_INSN_LEN];
	siginfo_t si = {0};

	assert_int_equal(
		rsys_read_mem(t, rsys_task_regs(t)->gpr.rip - sizeof(code), code, sizeof(code)), 0);
	assert_memory_not_equal(code, x86_syscall_insn, sizeof(code));
	assert_int_equal(rsys_start_last_call(t, __NR_write, args, false), -EBUSY);
	assert_settled(t);
	fixture_detach(f);
	t = fixture_attach(f, pid);
	worker_pattern(want);
	assert_int_equal(rsys_start_last_call(t, __NR_write, args, true), 0);
	assert_int_equal(read_within(data_pipe[0], got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WSTOPPED | WNOWAIT | __WALL), 0);
	assert_int_equal(si.si_code, CLD_TRAPPED);
	assert_int_equal(si.si_status, SIGTRAP);
	/* Nothing else may be done with it now but kill it. */
	assert_int_equal(rsys_syscall(t, __NR_getpid, args, &(long){0}), -EBUSY);
	assert_int_equal(rsys_settle(t), -EBUSY);
	kill_worker(f, pid, false);
	close(data_pipe[0]);
}

static volatile sig_atomic_t sleeper_woken;

static void on_sleeper_signal(int sig)
{
	(void)sig;
	sleeper_woken = 1;
}

/* Sleeps in pause() until a signal; its memory starts as the worker's does. */
static int sleeper(void *arg)
{
	(void)arg;
	close(data_pipe[0]);
	for (size_t i = 0; i < WORKER_MEM; i++)
		worker_mem[i] = (uint8_t)(i * 13 + (i >> 8));
	signal(SIGTERM, on_sleeper_signal);
	child_ready();
	while (!sleeper_woken)
		pause();
	return 0;
}

/*
 * A task frozen in a syscall has its syscall instruction right before rip:
 * the last call runs there without poking anything, may_poke or not. A
 * task in a last call cannot be let go: rsys_detach() kills it.
 */
static void test_last_call_in_syscall(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(pipe(data_pipe), 0);
	pid_t pid = child_fork(f, sleeper, NULL);
	close(data_pipe[1]);
	assert_true(child_wait_in_syscall(pid, __NR_pause, 5000));
	struct rsys_task *t = fixture_attach(f, pid);
	unsigned long rip = rsys_task_regs(t)->gpr.rip;
	const unsigned long args[6] = {(unsigned long)data_pipe[1], (unsigned long)worker_mem, 64};
	uint8_t before[16], after[16], want[64], got[64];

	assert_int_equal(rsys_read_mem(t, rip - 8, before, sizeof(before)), 0);
	assert_memory_equal(before + 6, x86_syscall_insn, X86_SYSCALL_INSN_LEN);
	worker_pattern(want);
	assert_int_equal(rsys_start_last_call(t, __NR_write, args, false), 0);
	assert_int_equal(read_within(data_pipe[0], got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(rsys_read_mem(t, rip - 8, after, sizeof(after)), 0);
	assert_memory_equal(before, after, sizeof(before));
	kill_worker(f, pid, true);
	close(data_pipe[0]);
}

/* A task killed in a last call that blocks is collected too. */
static void test_last_call_blocked(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid);
	unsigned long fds_at = (unsigned long)worker_mem + 4096; /* it is killed: no check after */
	int fds[2];

	/* A pipe of its own, which nobody writes to: a read() of it sleeps until the kill. */
	assert_int_equal(remote(t, __NR_pipe2, fds_at, 0, 0, 0, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, fds_at, fds, sizeof(fds)), 0);
	const unsigned long args[6] = {(unsigned long)fds[0], fds_at, 1};
	assert_int_equal(rsys_start_last_call(t, __NR_read, args, true), 0);
	assert_true(child_wait_in_syscall(pid, __NR_read, 5000));
	kill_worker(f, pid, false);
	close(data_pipe[0]);
}

/* Under seccomp no last call is started, and the task can still be killed. */
static void test_last_call_refused(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker_with(f, true);
	struct rsys_task *t = fixture_attach(f, pid);
	const unsigned long args[6] = {0};

	assert_int_equal(rsys_start_last_call(t, __NR_getpid, args, true), -EBUSY);
	kill_worker(f, pid, false);
	close(data_pipe[0]);
}

/* Attaching twice fails without disturbing the first session. */
static void test_attach_twice(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_worker(f);
	struct rsys_task *t = fixture_attach(f, pid), *t2 = NULL;

	assert_int_equal(rsys_attach(pid, 0, &t2), -EPERM);
	assert_null(t2);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	fixture_detach(f);
	finish_worker(f, pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getpid, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_scratch_write_to_pipe, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_scratch_at_fixed_address, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_prctl_and_sigaction, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failures_leave_task, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_poke_restores_code, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_fault_in_call, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_seccomp, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_attach_twice, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_call_runs, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_call_in_syscall, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_call_blocked, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_last_call_refused, fixture_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
