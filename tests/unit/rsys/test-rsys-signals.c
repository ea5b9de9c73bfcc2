/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signals around a frozen task: a signal sent during the freeze is delivered
 * after detach, once, with its siginfo; the task's SIGTRAP handler, or
 * SIG_IGN, outlives remote syscalls, even SIG_IGN set by a remote
 * rt_sigaction on a task that was stepped until then; SIGSTOP, which cannot be blocked and
 * is taken out of the queue by a remote syscall, is sent again; a task
 * frozen in a group stop stays stopped; a signal met while freezing is
 * delivered first; a task killed in the middle is reported gone.
 */
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "child.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

static volatile sig_atomic_t usr1_count, usr1_value_ok, terminated;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	usr1_count++;
	if (si->si_code == SI_QUEUE && si->si_value.sival_int == 42)
		usr1_value_ok = 1;
}

static void on_term(int sig)
{
	(void)sig;
	terminated = 1;
}

/* Spins until SIGTERM; exits with 10 * (SIGUSR1 handler runs) + (the siginfo was right). */
static int spinner(void *arg)
{
	struct sigaction usr1 = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction term = {.sa_handler = on_term};

	(void)arg;
	if (sigaction(SIGUSR1, &usr1, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0)
		return 99;
	child_ready();
	while (!terminated)
		;
	return usr1_count * 10 + usr1_value_ok;
}

static uint64_t pending_mask(pid_t pid, const char *field)
{
	char path[64], line[256];
	uint64_t mask = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fp = fopen(path, "re");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, field, strlen(field)) == 0)
			mask = strtoull(line + strlen(field), NULL, 16);
	fclose(fp);
	return mask;
}

static void remote_work(struct rsys_task *t, pid_t pid)
{
	unsigned long scratch;

	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(rsys_mmap_scratch(t, 0, 64, &scratch), 0);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(rsys_munmap_scratch(t), 0);
}

static void stop_spinner(struct fixture *f, pid_t pid, int expect)
{
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), expect);
}

static void test_signal_during_freeze(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	struct rsys_task *t = fixture_attach(f, pid);
	union sigval v = {.sival_int = 42};

	assert_int_equal(sigqueue(pid, SIGUSR1, v), 0);
	remote_work(t, pid);
	assert_settled(t);
	/* Not delivered while frozen: still queued, with the registers untouched. */
	assert_true(pending_mask(pid, "ShdPnd:") & (1ULL << (SIGUSR1 - 1)));
	fixture_detach(f);
	usleep(20000);
	stop_spinner(f, pid, 11);
}

static void test_sigstop_during_remote_syscalls(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	struct rsys_task *t = fixture_attach(f, pid);

	assert_int_equal(kill(pid, SIGSTOP), 0);
	remote_work(t, pid);
	assert_settled(t);
	fixture_detach(f);

	/* The SIGSTOP was not lost: the child stops once let go. */
	long long end = now_ms() + 5000;
	while (child_state(pid) != 'T' && now_ms() < end)
		usleep(1000);
	assert_int_equal(child_state(pid), 'T');
	assert_int_equal(kill(pid, SIGCONT), 0);
	stop_spinner(f, pid, 0);
}

static void test_group_stopped_stays_stopped(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	int status;

	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
	assert_true(WIFSTOPPED(status));

	struct rsys_task *t = fixture_attach(f, pid);
	assert_int_equal(rsys_task_group_stop(t), SIGSTOP);
	remote_work(t, pid);
	assert_settled(t);
	fixture_detach(f);

	usleep(50000);
	assert_int_equal(child_state(pid), 'T');
	assert_int_equal(kill(pid, SIGCONT), 0);
	stop_spinner(f, pid, 0);
}

/*
 * A signal-delivery-stop before the interrupt's trap: seize without
 * interrupting, let a signal arrive and stop the task, then freeze. The
 * signal is delivered (its handler frame is set up), the task frozen at the
 * handler's first instruction, and the handler runs once after detach.
 */
static void test_signal_met_while_freezing(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	struct rsys_task *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->tid = pid;
	t->state = RSYS_SEIZED;
	f->task = t;
	assert_int_equal(ptrace(PTRACE_SEIZE, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD), 0);
	assert_int_equal(kill(pid, SIGUSR1), 0);
	assert_int_equal(rsys_wait_frozen(t), 0);
	assert_int_equal(rsys_task_regs(t)->gpr.rip, (unsigned long)on_usr1);
	assert_int_equal(rsys_task_regs(t)->gpr.rdi, SIGUSR1);
	remote_work(t, pid);
	assert_settled(t);
	fixture_detach(f);
	usleep(20000);
	stop_spinner(f, pid, 10);
}

static void test_killed_during_session(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	struct rsys_task *t = fixture_attach(f, pid);
	const unsigned long args[6] = {0};
	long res;

	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(rsys_syscall(t, __NR_getpid, args, &res), -ESRCH);
	assert_int_equal(rsys_settle(t), -ESRCH);
	f->task = NULL;
	assert_int_equal(rsys_detach(t), -ESRCH);
	/* rsys collected the death: the child is reaped. */
	assert_int_equal(waitpid(pid, NULL, WNOHANG | __WALL), -1);
	assert_int_equal(errno, ECHILD);
	child_forget(f, pid);
}

static volatile int thread_tid;

static void *spin_thread(void *arg)
{
	(void)arg;
	thread_tid = gettid();
	while (!terminated)
		;
	return NULL;
}

/* The main thread waits in pthread_join() while the second one spins. */
static int threaded(void *arg)
{
	struct sigaction term = {.sa_handler = on_term};
	pthread_t th;

	(void)arg;
	if (sigaction(SIGTERM, &term, NULL) < 0 || pthread_create(&th, NULL, spin_thread, NULL))
		return 99;
	while (!thread_tid)
		;
	child_ready();
	pthread_join(th, NULL);
	return 0;
}

/* A thread other than the leader is a task of its own: its tid, its process's pid. */
static void test_non_leader_thread(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, threaded, NULL);
	pid_t tid = child_other_thread(pid);
	struct rsys_task *t = fixture_attach(f, tid);

	assert_int_equal(remote(t, __NR_gettid, 0, 0, 0, 0, 0, 0), tid);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	remote_work(t, pid);
	assert_settled(t);
	fixture_detach(f);
	/* SIGTERM ends the spinning thread, then the main thread's join returns. */
	stop_spinner(f, pid, 0);
}

/*
 * RSYS_EXIT_KILL: a tracer (a child of ours here) attaches to the spinner
 * and exits without detaching; the spinner dies with it. Without the flag
 * it would go on running.
 */
static int exiting_tracer(void *arg)
{
	struct rsys_task *t;
	pid_t target = (pid_t)(intptr_t)arg;

	if (rsys_attach(target, RSYS_EXIT_KILL, &t) < 0)
		return 1;
	child_ready();
	_exit(0);
}

static void test_exit_kill(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, spinner, NULL);
	pid_t tracer = child_fork(f, exiting_tracer, (void *)(intptr_t)pid);

	assert_int_equal(child_wait_exit(f, tracer, 5000), 0);
	assert_int_equal(child_wait_exit(f, pid, 5000), 128 + SIGKILL);
}

static volatile sig_atomic_t trap_count;

static void on_trap(int sig)
{
	(void)sig;
	trap_count++;
}

/*
 * Spins until SIGTERM with SIGTRAP ignored (arg "ignore"), caught (arg NULL)
 * or at SIG_DFL (arg "ignore-later", for a test that makes it ignored
 * remotely); exits with 0 if its SIGTRAP action is then the one expected
 * (SIG_IGN for both "ignore" and "ignore-later"), 1 if not, 2 if the
 * handler ran.
 */
static int trap_keeper(void *arg)
{
	bool ignore = arg && strcmp(arg, "ignore") == 0, later = arg && !ignore;
	struct sigaction trap = {.sa_handler = ignore ? SIG_IGN : later ? SIG_DFL : on_trap};
	struct sigaction term = {.sa_handler = on_term}, now;

	if (sigaction(SIGTRAP, &trap, NULL) < 0 || sigaction(SIGTERM, &term, NULL) < 0)
		return 99;
	child_ready();
	while (!terminated)
		;
	if (sigaction(SIGTRAP, NULL, &now) < 0)
		return 99;
	if (later)
		trap.sa_handler = SIG_IGN;
	if (now.sa_handler != trap.sa_handler)
		return 1;
	return trap_count ? 2 : 0;
}

static void test_sigtrap_caught_kept(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, trap_keeper, NULL);

	remote_work(fixture_attach(f, pid), pid);
	fixture_detach(f);
	stop_spinner(f, pid, 0);
}

static void test_sigtrap_ignored_kept(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, trap_keeper, "ignore");

	remote_work(fixture_attach(f, pid), pid);
	fixture_detach(f);
	stop_spinner(f, pid, 0);
}

/* The kernel's struct sigaction for rt_sigaction(2) on x86_64. */
struct k_sigaction {
	unsigned long handler, flags, restorer;
	uint64_t mask;
};

/* The rt_sigaction() itself is not stepped: its step's trap would reset SIG_IGN to SIG_DFL. */
static void test_sigtrap_ignored_remotely_kept(void **state)
{
	struct fixture *f = *state;
	pid_t pid = child_fork(f, trap_keeper, "ignore-later");
	struct rsys_task *t = fixture_attach(f, pid);
	struct k_sigaction ign = {.handler = (unsigned long)SIG_IGN};
	unsigned long scratch;

	assert_int_equal(rsys_mmap_scratch(t, 0, 64, &scratch), 0);
	assert_int_equal(rsys_write_mem(t, scratch, &ign, sizeof(ign)), 0);
	assert_int_equal(remote(t, __NR_rt_sigaction, SIGTRAP, scratch, 0, 8, 0, 0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	fixture_detach(f);
	stop_spinner(f, pid, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_signal_during_freeze),
		T(test_sigtrap_caught_kept),
		T(test_sigtrap_ignored_kept),
		T(test_sigtrap_ignored_remotely_kept),
		T(test_sigstop_during_remote_syscalls),
		T(test_group_stopped_stays_stopped),
		T(test_signal_met_while_freezing),
		T(test_killed_during_session),
		T(test_non_leader_thread),
		T(test_exit_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
