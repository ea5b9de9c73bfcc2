/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The probes on the real kernel: each leaves no child behind (alive or
 * zombie), on success and on every error path of the child helpers, and gives
 * the same answer when run twice.
 *
 * Not a unit test (it forks, traces and probes the running kernel): it is run
 * by tests/suites/check.sh, not by the 'unit' suite.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "kerndat/child.h"
#include "kerndat/kerndat.h"

/* True if this process has no child at all, running, stopped or zombie. */
static bool no_children(void)
{
	siginfo_t info;

	return waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) < 0 &&
	       errno == ECHILD;
}

static void test_probes_leave_no_child(void **state)
{
	(void)state;
	for (int id = 0; id < _KD_COUNT; id++) {
		int first = kerndat_probe(id), second;

		assert_true(no_children());
		second = kerndat_probe(id);
		assert_true(no_children());
		if (first != second)
			fail_msg("%s: %d, then %d", kerndat_feature(id)->name, first, second);
		assert_true(first >= 0); /* on this machine every probe can tell */
	}
}

static int setup_fails(void *arg)
{
	(void)arg;
	return -EPERM;
}

static int setup_exits(void *arg)
{
	(void)arg;
	_exit(3);
}

static void test_child_setup_errors_reap(void **state)
{
	struct probe_child c = {.pid = 12345};

	(void)state;
	assert_int_equal(probe_child_start(&c, setup_fails, NULL), -EPERM);
	assert_int_equal(c.pid, 0);
	assert_true(no_children());

	assert_int_equal(probe_child_start(&c, setup_exits, NULL), -ECHILD);
	assert_int_equal(c.pid, 0);
	assert_true(no_children());
}

static void test_child_stop_traced(void **state)
{
	struct probe_child c;
	int st;

	(void)state;
	assert_int_equal(probe_child_start(&c, NULL, NULL), 0);
	assert_true(c.pid > 0);
	assert_false(no_children());
	assert_int_equal(ptrace(PTRACE_SEIZE, c.pid, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_INTERRUPT, c.pid, NULL, NULL), 0);
	assert_int_equal(waitpid(c.pid, &st, __WALL), c.pid);
	assert_true(WIFSTOPPED(st));
	probe_child_stop(&c);
	assert_int_equal(c.pid, 0);
	assert_true(no_children());
	probe_child_stop(&c); /* twice is harmless */
	assert_true(no_children());
}

static pid_t started_in_scope(void)
{
	_cleanup_probe_child_ struct probe_child c = {};

	assert_int_equal(probe_child_start(&c, NULL, NULL), 0);
	assert_false(no_children());
	return c.pid;
}

static void test_child_cleanup_on_return(void **state)
{
	(void)state;
	assert_true(started_in_scope() > 0);
	assert_true(no_children());
}

static int returns(void *arg)
{
	return *(int *)arg;
}

static int killed(void *arg)
{
	(void)arg;
	raise(SIGKILL);
	return 1;
}

static void test_in_child_results(void **state)
{
	static const int results[] = {1, 0, -EPERM, -EINVAL};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(results); i++) {
		int r = results[i];

		assert_int_equal(probe_in_child(returns, &r), results[i]);
		assert_true(no_children());
	}
	assert_int_equal(probe_in_child(killed, NULL), -ECHILD);
	assert_true(no_children());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probes_leave_no_child),
		cmocka_unit_test(test_child_setup_errors_reap),
		cmocka_unit_test(test_child_stop_traced),
		cmocka_unit_test(test_child_cleanup_on_return),
		cmocka_unit_test(test_in_child_results),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
