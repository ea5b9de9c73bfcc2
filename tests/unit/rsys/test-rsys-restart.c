/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Children frozen inside blocking syscalls: remote syscalls in between must
 * not change what the interrupted call does once the child is let go. The
 * kernel's own restart logic decides: nanosleep sleeps its full time,
 * read() gets the data written later or fails with EINTR if a handler
 * without SA_RESTART runs, pause() and sigsuspend() wait for their signal,
 * and sigsuspend() puts the old mask back.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/syscall.h"
#include "child.h"

static int pipe_fds[2];
static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int install_usr1(int flags)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = flags};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

/*
 * The remote work done while a child is frozen: a scratch area, data through
 * it, a few calls, the area unmapped. Then the registers must be the
 * frozen ones again.
 */
static void poke_around(struct rsys_task *t, pid_t pid)
{
	unsigned long scratch;
	char buf[8] = "abcdefg";

	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	assert_int_equal(rsys_write_mem(t, scratch, buf, sizeof(buf)), 0);
	assert_int_equal(remote(t, __NR_getcwd, scratch, 4096, 0, 0, 0, 0) > 0, 1);
	assert_int_equal(remote(t, __NR_rt_sigprocmask, SIG_BLOCK, 0, scratch, 8, 0, 0), 0);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	assert_settled(t);
}

/* Freeze pid, which sleeps in syscall nr, and check how the kernel left it. */
static struct rsys_task *freeze_in(struct fixture *f, pid_t pid, long nr, long restart_code)
{
	assert_true(child_wait_in_syscall(pid, nr, 5000));
	struct rsys_task *t = fixture_attach(f, pid);
	const struct x86_regs *regs = rsys_task_regs(t);

	assert_int_equal((long)regs->gpr.orig_rax, nr);
	assert_int_equal((long)regs->gpr.rax, restart_code);
	return t;
}

#define SLEEP_MS 600

static int sleeper(void *arg)
{
	struct timespec req = {.tv_sec = 0, .tv_nsec = SLEEP_MS * 1000000L};
	long long start;
	int r;

	(void)arg;
	child_ready();
	start = now_ms();
	r = nanosleep(&req, NULL);
	if (r != 0)
		return 2;
	if (now_ms() - start < SLEEP_MS)
		return 3;
	return 0;
}

/*
 * PTRACE_INTERRUPT makes clock_nanosleep return -ERESTART_RESTARTBLOCK; with
 * no handler run, the kernel resumes it with restart_syscall against the
 * same deadline: the sleep lasts its full time, not more, and never EINTR.
 */
static void test_nanosleep_full_duration(void **state)
{
	struct fixture *f = *state;
	long long start = now_ms();
	pid_t pid = child_fork(f, sleeper, NULL);
	struct rsys_task *t = freeze_in(f, pid, __NR_clock_nanosleep, -ERESTART_RESTARTBLOCK);

	poke_around(t, pid);
	fixture_detach(f);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
	/* It woke at its deadline, not a full sleep after the freeze (that would be 2 x). */
	assert_true(now_ms() - start < 2 * SLEEP_MS - 100);
}

/* Frozen past its deadline: the restarted sleep returns at once, with 0. */
static void test_nanosleep_frozen_past_deadline(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, sleeper, NULL);
	struct rsys_task *t = freeze_in(f, pid, __NR_clock_nanosleep, -ERESTART_RESTARTBLOCK);

	poke_around(t, pid);
	usleep((SLEEP_MS + 200) * 1000);
	long long detached = now_ms();
	fixture_detach(f);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
	assert_true(now_ms() - detached < SLEEP_MS - 150);
}

static const char pipe_msg[] = "late data";

/* read() on an empty pipe; 0 if it got the message, 2 for EINTR, 4 otherwise. */
static int reader(void *arg)
{
	char buf[sizeof(pipe_msg)];
	ssize_t n;
	int flags = (int)(intptr_t)arg;

	close(pipe_fds[1]);
	if (install_usr1(flags) < 0)
		return 9;
	child_ready();
	n = read(pipe_fds[0], buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return got_usr1 ? 2 : 5;
	if (n != sizeof(pipe_msg) || memcmp(buf, pipe_msg, sizeof(buf)) != 0)
		return 4;
	/* With SA_RESTART a handler may have run in between; report it. */
	return got_usr1 ? 1 : 0;
}

static pid_t start_reader(struct fixture *f, int sa_flags)
{
	assert_int_equal(pipe(pipe_fds), 0);
	pid_t pid = child_fork(f, reader, (void *)(intptr_t)sa_flags);
	close(pipe_fds[0]);
	return pid;
}

static void write_msg(void)
{
	assert_int_equal(write(pipe_fds[1], pipe_msg, sizeof(pipe_msg)), sizeof(pipe_msg));
	close(pipe_fds[1]);
}

/* read() was interrupted with -ERESTARTSYS: restarted, it still gets data written later. */
static void test_read_gets_later_data(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_reader(f, SA_RESTART);
	struct rsys_task *t = freeze_in(f, pid, __NR_read, -ERESTARTSYS);

	poke_around(t, pid);
	fixture_detach(f);
	/* Still blocked in read, not returned with -512 or EINTR. */
	assert_true(child_wait_in_syscall(pid, __NR_read, 5000));
	write_msg();
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
}

/*
 * A signal sent while the child is frozen is delivered after the detach,
 * and the kernel decides about the restart with the handler in view: no
 * SA_RESTART, so read() fails with EINTR. (Restarting the call ourselves,
 * rip -= 2, would leave it blocked instead.)
 */
static void test_read_eintr_by_handler(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_reader(f, 0);
	struct rsys_task *t = freeze_in(f, pid, __NR_read, -ERESTARTSYS);

	assert_int_equal(kill(pid, SIGUSR1), 0);
	poke_around(t, pid);
	fixture_detach(f);
	assert_int_equal(child_wait_exit(f, pid, 5000), 2);
	close(pipe_fds[1]);
}

/* The same with SA_RESTART: the handler runs, read() goes on and gets the data. */
static void test_read_restarted_after_handler(void **state)
{
	struct fixture *f = *state;
	pid_t pid = start_reader(f, SA_RESTART);
	struct rsys_task *t = freeze_in(f, pid, __NR_read, -ERESTARTSYS);

	assert_int_equal(kill(pid, SIGUSR1), 0);
	poke_around(t, pid);
	fixture_detach(f);
	assert_true(child_wait_in_syscall(pid, __NR_read, 5000));
	write_msg();
	assert_int_equal(child_wait_exit(f, pid, 5000), 1);
}

/* pause(): 0 if it returned EINTR after the handler ran, 3 if it returned for nothing. */
static int pauser(void *arg)
{
	(void)arg;
	if (install_usr1(SA_RESTART) < 0)
		return 9;
	child_ready();
	int r = pause();
	if (r == -1 && errno == EINTR && got_usr1)
		return 0;
	return 3;
}

static void test_pause_waits_for_signal(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, pauser, NULL);
	struct rsys_task *t = freeze_in(f, pid, __NR_pause, -ERESTARTNOHAND);

	poke_around(t, pid);
	fixture_detach(f);
	usleep(100000);
	assert_true(child_wait_in_syscall(pid, __NR_pause, 1000));
	assert_int_equal(kill(pid, SIGUSR1), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
}

/*
 * sigsuspend() swaps in a temporary mask and saves the old one for the
 * kernel to put back. rsys must report the saved mask and must not lose it.
 */
static int suspender(void *arg)
{
	sigset_t block, none, now;

	(void)arg;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&none);
	if (install_usr1(0) < 0 || sigprocmask(SIG_BLOCK, &block, NULL) < 0)
		return 9;
	child_ready();
	int r = sigsuspend(&none);
	if (r != -1 || errno != EINTR || !got_usr1)
		return 3;
	if (sigprocmask(SIG_BLOCK, NULL, &now) < 0 || !sigismember(&now, SIGUSR1))
		return 4;
	return 0;
}

static void test_sigsuspend_keeps_saved_mask(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, suspender, NULL);
	struct rsys_task *t = freeze_in(f, pid, __NR_rt_sigsuspend, -ERESTARTNOHAND);

	assert_int_equal(rsys_task_sigmask(t), 1ULL << (SIGUSR1 - 1));
	poke_around(t, pid);
	fixture_detach(f);
	usleep(50000);
	assert_true(child_wait_in_syscall(pid, __NR_rt_sigsuspend, 1000));
	assert_int_equal(kill(pid, SIGUSR1), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nanosleep_full_duration),      T(test_nanosleep_frozen_past_deadline),
		T(test_read_gets_later_data),         T(test_read_eintr_by_handler),
		T(test_read_restarted_after_handler), T(test_pause_waits_for_signal),
		T(test_sigsuspend_keeps_saved_mask),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
