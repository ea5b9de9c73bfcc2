/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Single-stepped remote syscalls, seen from the task, which reads its own
 * eflags in a loop: the trap flag is never left set. A task is stepped only
 * while its SIGTRAP action is SIG_DFL: a SIGTRAP sent to it, before a call
 * or while a blocking remote call runs, still kills it after detach, and the
 * call's result is what it would have been; a SIGSTOP in a blocking remote
 * call neither; SIG_IGN set by a remote rt_sigaction() stays. A task that
 * catches SIGTRAP runs the two-stop path: its handler runs once per SIGTRAP
 * sent, even one sent to the thread at any moment of a session (stepping it
 * would lose some). One thread runs stepped calls while another of its
 * process is frozen; a seccomp filter that traps getpid() refuses remote
 * calls unless suspended, and is there again after.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "child.h"
#include "rsys/internal.h"

#define EFLAGS_TF 0x100UL
#define KILLED_BY_TRAP (128 + SIGTRAP)

/* watcher()'s arg. */
enum { WATCH_CATCH = 1, WATCH_THREAD = 2 };

static volatile sig_atomic_t trap_count, terminated, tf_seen, sys_count;
static volatile int other_tid;
static int pipe_fds[2] = {-1, -1};

static void on_trap(int sig)
{
	(void)sig;
	trap_count++;
}

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

/* Until SIGTERM: records whether the trap flag is ever set in this thread. */
static void watch_eflags(void)
{
	while (!terminated)
		if (__builtin_ia32_readeflags_u64() & EFLAGS_TF)
			tf_seen = 1;
}

static void *watch_thread(void *arg)
{
	(void)arg;
	other_tid = gettid();
	watch_eflags();
	return NULL;
}

/*
 * SIGTRAP caught by a handler that counts (WATCH_CATCH) or left at SIG_DFL,
 * then watch_eflags() in one thread, or two (WATCH_THREAD). Exits with 100 if
 * the trap flag was ever seen set, 101 if the SIGTRAP action changed, else
 * the handler's run count.
 */
static int watcher(void *arg)
{
	int how = (int)(intptr_t)arg;
	struct sigaction trap = {.sa_handler = how & WATCH_CATCH ? on_trap : SIG_DFL};
	struct sigaction term = {.sa_handler = on_term}, now;
	pthread_t th;

	/* Killed by SIGTRAP in some tests: no core file. */
	if (setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0}) < 0 ||
	    sigaction(SIGTRAP, &trap, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0)
		return 99;
	if (how & WATCH_THREAD) {
		if (pthread_create(&th, NULL, watch_thread, NULL))
			return 99;
		while (!other_tid)
			;
	}
	child_ready();
	watch_eflags();
	if (how & WATCH_THREAD)
		pthread_join(th, NULL);
	if (tf_seen)
		return 100;
	if (sigaction(SIGTRAP, NULL, &now) < 0 || now.sa_handler != trap.sa_handler)
		return 101;
	return trap_count;
}

static pid_t start_watcher(struct fixture *f, int how)
{
	return child_fork(f, watcher, (void *)(intptr_t)how);
}

/* Attach to a watcher whose SIGTRAP is SIG_DFL: its calls are stepped. */
static struct rsys_task *attach_stepped(struct fixture *f, pid_t pid)
{
	struct rsys_task *t = fixture_attach(f, pid);

	assert_false(t->sigtrap_not_default);
	return t;
}

static void stop_watcher(struct fixture *f, pid_t pid, int expect)
{
	usleep(20000);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), expect);
}

static void some_calls(struct rsys_task *t, pid_t pid)
{
	for (int i = 0; i < 5; i++)
		assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
}

/* Sessions of stepped calls, at the task's rip and from a scratch area. */
static void test_trap_flag_never_left_set(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, 0);
	unsigned long scratch;

	for (int round = 0; round < 20; round++) {
		struct rsys_task *t = attach_stepped(f, pid);

		some_calls(t, pid);
		assert_int_equal(rsys_mmap_scratch(t, 0, 64, &scratch), 0);
		some_calls(t, pid);
		assert_int_equal(rsys_munmap_scratch(t), 0);
		assert_settled(t);
		assert_false(rsys_task_regs(t)->gpr.eflags & EFLAGS_TF);
		fixture_detach(f);
		usleep(1000);
	}
	stop_watcher(f, pid, 0);
}

/*
 * A SIGTRAP sent to the process or to the thread before the calls: held and
 * sent again, it kills a stepped task and reaches a catching task's handler
 * once.
 */
static void trap_before_calls(void **state, bool to_thread, int how, int expect)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, how);
	struct rsys_task *t = how & WATCH_CATCH ? fixture_attach(f, pid) : attach_stepped(f, pid);

	if (to_thread)
		assert_int_equal(syscall(SYS_tgkill, pid, pid, SIGTRAP), 0);
	else
		assert_int_equal(kill(pid, SIGTRAP), 0);
	some_calls(t, pid);
	assert_settled(t);
	some_calls(t, pid);
	fixture_detach(f);
	stop_watcher(f, pid, expect);
}

static void test_kill_trap_before_stepped_calls(void **state)
{
	trap_before_calls(state, false, 0, KILLED_BY_TRAP);
}

static void test_tgkill_trap_before_stepped_calls(void **state)
{
	trap_before_calls(state, true, 0, KILLED_BY_TRAP);
}

static void test_kill_trap_before_calls_caught(void **state)
{
	trap_before_calls(state, false, WATCH_CATCH, 1);
}

static void test_tgkill_trap_before_calls_caught(void **state)
{
	trap_before_calls(state, true, WATCH_CATCH, 1);
}

/* While the child blocks in syscall nr: send sig to it, later fill the pipe. */
struct interferer {
	pid_t pid;
	long nr;
	int sig;
	bool ok;
};

static void *interfere(void *arg)
{
	struct interferer *in = arg;
	char data[8] = "stepped";

	in->ok = child_wait_in_syscall(in->pid, in->nr, 5000) && kill(in->pid, in->sig) == 0;
	usleep(100000);
	if (in->nr == __NR_read && write(pipe_fds[1], data, sizeof(data)) != sizeof(data))
		in->ok = false;
	return NULL;
}

/*
 * A remote call that blocks (read() on an empty pipe, or nanosleep()) is
 * interrupted by sig: the call goes on as the kernel would restart it, and
 * returns what it would have returned without the signal.
 */
static void signal_in_blocking_call(struct fixture *f, pid_t pid, long nr, int sig)
{
	struct rsys_task *t = fixture_attach(f, pid);
	struct interferer in = {.pid = pid, .nr = nr, .sig = sig};
	struct timespec ts = {.tv_nsec = 300 * 1000 * 1000};
	unsigned long scratch, args[6] = {0};
	char got[8];
	pthread_t th;

	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	if (nr == __NR_read)
		args[0] = (unsigned long)pipe_fds[0], args[1] = scratch + 1024, args[2] = 8;
	else
		args[0] = scratch + 1024;
	assert_int_equal(rsys_write_mem(t, scratch + 1024, &ts, sizeof(ts)), 0);
	assert_int_equal(pthread_create(&th, NULL, interfere, &in), 0);
	long long t0 = now_ms();
	/* Joined before any check: the thread uses `in` on this stack. */
	long res = -1;
	int r = rsys_syscall(t, nr, args, &res);
	long long elapsed = now_ms() - t0;
	pthread_join(th, NULL);
	assert_int_equal(r, 0);
	assert_true(in.ok);
	if (nr == __NR_read) {
		assert_int_equal(res, 8);
		assert_int_equal(rsys_read_mem(t, scratch + 1024, got, sizeof(got)), 0);
		assert_string_equal(got, "stepped");
	} else {
		assert_int_equal(res, 0);
		assert_true(elapsed >= 290);
	}
	some_calls(t, pid);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	assert_settled(t);
	fixture_detach(f);
}

static void trap_in_blocking_call(void **state, long nr, int how, int expect)
{
	struct fixture *f = *state;

	assert_int_equal(pipe(pipe_fds), 0);
	pid_t pid = start_watcher(f, how);

	signal_in_blocking_call(f, pid, nr, SIGTRAP);
	stop_watcher(f, pid, expect);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

static void test_trap_in_blocking_read(void **state)
{
	trap_in_blocking_call(state, __NR_read, 0, KILLED_BY_TRAP);
}

static void test_trap_in_blocking_nanosleep(void **state)
{
	trap_in_blocking_call(state, __NR_nanosleep, 0, KILLED_BY_TRAP);
}

static void test_trap_in_blocking_read_caught(void **state)
{
	trap_in_blocking_call(state, __NR_read, WATCH_CATCH, 1);
}

static void test_trap_in_blocking_nanosleep_caught(void **state)
{
	trap_in_blocking_call(state, __NR_nanosleep, WATCH_CATCH, 1);
}

/* The SIGSTOP is not lost either: the child stops once let go. */
static void test_sigstop_in_blocking_read(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pipe(pipe_fds), 0);
	pid_t pid = start_watcher(f, 0);

	signal_in_blocking_call(f, pid, __NR_read, SIGSTOP);
	long long end = now_ms() + 5000;
	while (child_state(pid) != 'T' && now_ms() < end)
		usleep(1000);
	assert_int_equal(child_state(pid), 'T');
	assert_int_equal(kill(pid, SIGCONT), 0);
	stop_watcher(f, pid, 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/*
 * A group-stopped task sent a SIGTRAP: stepped calls neither end the stop
 * nor lose the SIGTRAP, which kills it after SIGCONT.
 */
static void test_group_stopped_with_trap(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, 0);
	int status;

	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(kill(pid, SIGTRAP), 0);

	struct rsys_task *t = attach_stepped(f, pid);
	assert_int_equal(rsys_task_group_stop(t), SIGSTOP);
	some_calls(t, pid);
	assert_settled(t);
	some_calls(t, pid);
	fixture_detach(f);

	usleep(50000);
	assert_int_equal(child_state(pid), 'T');
	assert_int_equal(kill(pid, SIGCONT), 0);
	stop_watcher(f, pid, KILLED_BY_TRAP);
}

/* The kernel's struct sigaction for rt_sigaction(2) on x86_64. */
struct k_sigaction {
	unsigned long handler, flags, restorer;
	uint64_t mask;
};

/*
 * A remote rt_sigprocmask() that blocks SIGTRAP in a task that catches it:
 * had its exit been stepped, the step's trap, forced on a blocked SIGTRAP,
 * would have reset the handler to SIG_DFL. The mask itself is the task's
 * again at settle.
 */
static void test_remote_sigprocmask_keeps_handler(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, WATCH_CATCH);
	struct rsys_task *t = fixture_attach(f, pid);
	uint64_t block = 1ULL << (SIGTRAP - 1);
	unsigned long scratch;

	assert_int_equal(rsys_mmap_scratch(t, 0, 64, &scratch), 0);
	assert_int_equal(rsys_write_mem(t, scratch, &block, sizeof(block)), 0);
	assert_int_equal(remote(t, __NR_rt_sigprocmask, SIG_BLOCK, scratch, 0, 8, 0, 0), 0);
	some_calls(t, pid);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	assert_settled(t);
	fixture_detach(f);
	stop_watcher(f, pid, 0);
}

/*
 * A stepped task made to ignore SIGTRAP by a remote rt_sigaction(): that call
 * is not stepped, or its trap would reset SIG_IGN to SIG_DFL at once; then
 * SIG_DFL is put back.
 */
static void test_remote_sigaction_ignore(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, 0);
	struct rsys_task *t = attach_stepped(f, pid);
	struct k_sigaction ign = {.handler = (unsigned long)SIG_IGN}, now;
	unsigned long scratch;

	assert_int_equal(rsys_mmap_scratch(t, 0, 128, &scratch), 0);
	assert_int_equal(rsys_write_mem(t, scratch, &ign, sizeof(ign)), 0);
	assert_int_equal(remote(t, __NR_rt_sigaction, SIGTRAP, scratch, scratch + 64, 8, 0, 0), 0);
	some_calls(t, pid);
	assert_int_equal(remote(t, __NR_rt_sigaction, SIGTRAP, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_read_mem(t, scratch, &now, sizeof(now)), 0);
	assert_int_equal(now.handler, (unsigned long)SIG_IGN);
	assert_int_equal(remote(t, __NR_rt_sigaction, SIGTRAP, scratch + 64, 0, 8, 0, 0), 0);
	some_calls(t, pid);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	fixture_detach(f);
	stop_watcher(f, pid, 0);
}

/* One thread runs stepped calls while the other is frozen, then the other way round. */
static void test_threads_one_frozen(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_watcher(f, WATCH_THREAD);
	pid_t tid = child_other_thread(pid);
	struct rsys_task *leader;

	assert_int_equal(rsys_attach(pid, 0, &leader), 0);
	struct rsys_task *t = attach_stepped(f, tid);

	for (int i = 0; i < 5; i++)
		assert_int_equal(remote(t, __NR_gettid, 0, 0, 0, 0, 0, 0), tid);
	assert_settled(t);
	for (int i = 0; i < 5; i++)
		assert_int_equal(remote(leader, __NR_gettid, 0, 0, 0, 0, 0, 0), pid);
	assert_settled(leader);
	assert_int_equal(rsys_detach(leader), 0);
	fixture_detach(f);
	stop_watcher(f, pid, 0);
}

/* A SIGTRAP handler counting in memory shared with the test. */
static volatile int *shared_traps;

static void on_trap_shared(int sig)
{
	(void)sig;
	__atomic_add_fetch(shared_traps, 1, __ATOMIC_SEQ_CST);
}

static int shared_catcher(void *arg)
{
	struct sigaction trap = {.sa_handler = on_trap_shared}, term = {.sa_handler = on_term};

	(void)arg;
	if (sigaction(SIGTRAP, &trap, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0)
		return 99;
	child_ready();
	while (!terminated)
		;
	return 0;
}

struct late_trap {
	pid_t pid;
	int delay_us;
	int r;
};

static void *send_late_trap(void *arg)
{
	struct late_trap *lt = arg;

	usleep(lt->delay_us);
	lt->r = (int)syscall(SYS_tgkill, lt->pid, lt->pid, SIGTRAP);
	return NULL;
}

/*
 * A SIGTRAP sent to the thread at a random moment of a session of calls, 200
 * times: each reaches the handler. A stepped task loses some (4% of the
 * sessions here): those that come while the step's own SIGTRAP is queued
 * merge with it, which is why a task that catches SIGTRAP is not stepped.
 */
static void test_thread_trap_during_session_caught(void **state)
{
	struct fixture *f = *state;
	unsigned int seed = 1;
	int lost = 0;

	shared_traps = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shared_traps != MAP_FAILED);
	pid_t pid = child_fork(f, shared_catcher, NULL);
	for (int i = 0; i < 200; i++) {
		struct rsys_task *t = fixture_attach(f, pid);
		struct late_trap lt = {
			.pid = pid, .delay_us = (int)(rand_r(&seed) % 2000), .r = -1};
		int before = *shared_traps;
		pthread_t th;

		assert_int_equal(pthread_create(&th, NULL, send_late_trap, &lt), 0);
		for (int k = 0; k < 300; k++)
			if (remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0) != pid)
				break;
		pthread_join(th, NULL);
		assert_int_equal(lt.r, 0);
		fixture_detach(f);
		long long end = now_ms() + 1000;
		while (*shared_traps == before && now_ms() < end)
			usleep(100);
		lost += *shared_traps == before;
	}
	munmap((void *)shared_traps, 4096);
	assert_int_equal(lost, 0);
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
}

static void on_sys(int sig)
{
	(void)sig;
	sys_count++;
}

/*
 * getpid() raises SIGSYS (SECCOMP_RET_TRAP). Once told to stop, the child
 * calls getpid() itself: exits with the SIGSYS count (1 if the filter is
 * still there and no remote call was trapped), 100 if TF was seen.
 */
static int seccomp_trapper(void *arg)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	struct sigaction sys = {.sa_handler = on_sys}, term = {.sa_handler = on_term};

	(void)arg;
	if (sigaction(SIGSYS, &sys, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 99;
	child_ready();
	watch_eflags();
	syscall(__NR_getpid);
	return tf_seen ? 100 : sys_count;
}

static void test_seccomp_trap(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, seccomp_trapper, NULL);
	const unsigned long args[6] = {0};
	long res;

	struct rsys_task *t = fixture_attach(f, pid);
	assert_int_equal(rsys_syscall(t, __NR_getpid, args, &res), -EPERM);
	fixture_detach(f);

	assert_int_equal(rsys_attach(pid, RSYS_SUSPEND_SECCOMP, &f->task), 0);
	some_calls(f->task, pid);
	assert_settled(f->task);
	fixture_detach(f);
	stop_watcher(f, pid, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_trap_flag_never_left_set),          T(test_kill_trap_before_stepped_calls),
		T(test_tgkill_trap_before_stepped_calls),  T(test_kill_trap_before_calls_caught),
		T(test_tgkill_trap_before_calls_caught),   T(test_trap_in_blocking_read),
		T(test_trap_in_blocking_nanosleep),        T(test_trap_in_blocking_read_caught),
		T(test_trap_in_blocking_nanosleep_caught), T(test_sigstop_in_blocking_read),
		T(test_group_stopped_with_trap),           T(test_remote_sigprocmask_keeps_handler),
		T(test_remote_sigaction_ignore),           T(test_threads_one_frozen),
		T(test_thread_trap_during_session_caught), T(test_seccomp_trap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
