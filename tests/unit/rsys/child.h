/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Children for the rsys tests. Each test forks its children through a
 * fixture; the fixture's teardown detaches what is still attached, then
 * kills and reaps every child by pid, whether the test passed or not. The
 * children also die with the test process (PR_SET_PDEATHSIG).
 */

#include <stdbool.h>
#include <sys/types.h>

#include "rsys/rsys.h"

#define FIXTURE_MAX_CHILDREN 4

struct fixture {
	pid_t pids[FIXTURE_MAX_CHILDREN];
	int npids;
	struct rsys_task *task; /* detached by the teardown if the test left it attached */
};

/* cmocka setup/teardown: *state is a struct fixture. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/*
 * Fork a child that runs fn(arg) and _exit()s with its return value. fn calls
 * child_ready() once its state is set up; child_fork() returns after that.
 */
pid_t child_fork(struct fixture *f, int (*fn)(void *arg), void *arg);
void child_ready(void);

/* Exit code of the child, 128 + signal if killed, -1 on timeout (ms) or error. */
int child_wait_exit(struct fixture *f, pid_t pid, int timeout_ms);

/* Drop pid from the fixture: it was reaped elsewhere, its number may be reused. */
void child_forget(struct fixture *f, pid_t pid);

/* Wait until the child sleeps in syscall nr (from /proc/PID/syscall); false on timeout. */
bool child_wait_in_syscall(pid_t pid, long nr, int timeout_ms);

/* The thread of pid (a child with two threads) that is not pid. */
pid_t child_other_thread(pid_t pid);

/* The state letter of /proc/PID/stat ('R', 'S', 'T', 't'...), or 0. */
char child_state(pid_t pid);

/* Seize, interrupt and freeze pid; the task is kept in f->task. */
struct rsys_task *fixture_attach(struct fixture *f, pid_t pid);
/* Detach f->task and check that it went well. */
void fixture_detach(struct fixture *f);

/*
 * rsys_settle() and check the task is as it was frozen: its own registers,
 * in a PTRACE_EVENT_STOP again (the trap, or the group stop it was in).
 */
void assert_settled(struct rsys_task *t);

/* A remote syscall that must run; returns its raw result. */
long remote(struct rsys_task *t, long nr, unsigned long a0, unsigned long a1, unsigned long a2,
	    unsigned long a3, unsigned long a4, unsigned long a5);

/* Milliseconds of CLOCK_MONOTONIC. */
long long now_ms(void);
