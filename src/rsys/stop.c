/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Collecting ptrace stops with waitpid() and telling them apart. With
 * PTRACE_SEIZE and PTRACE_O_TRACESYSGOOD, the status alone says which stop it
 * is: status >> 16 is the PTRACE_EVENT_* (PTRACE_EVENT_STOP for interrupt
 * traps and group stops), WSTOPSIG is SIGTRAP | 0x80 for syscall stops, and
 * anything else is a signal-delivery-stop.
 */
#include <signal.h>
#include <sys/wait.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

static void decode_status(int status, struct rsys_stop *st)
{
	int event = (unsigned int)status >> 16;

	*st = (struct rsys_stop){.sig = WSTOPSIG(status), .event = event};
	if (event == PTRACE_EVENT_STOP)
		st->kind = RSYS_STOP_EVENT;
	else if (event != 0)
		st->kind = RSYS_STOP_PTRACE;
	else if (st->sig == (SIGTRAP | 0x80))
		st->kind = RSYS_STOP_SYSCALL;
	else
		st->kind = RSYS_STOP_SIGNAL;
}

int rsys_wait_stop(struct rsys_task *t, struct rsys_stop *ret_stop)
{
	int status;
	pid_t p;

	if (t->state == RSYS_DEAD)
		return -ESRCH;
	do
		p = waitpid(t->tid, &status, __WALL);
	while (p < 0 && errno == EINTR);
	if (p < 0) {
		int r = negative_errno();
		pr_perror("Can't wait for task %d", t->tid);
		return r;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (WIFEXITED(status))
			pr_info("Task %d exited with %d", t->tid, WEXITSTATUS(status));
		else
			pr_info("Task %d was killed by signal %d", t->tid, WTERMSIG(status));
		t->state = RSYS_DEAD;
		*ret_stop = (struct rsys_stop){.kind = RSYS_STOP_EXITED};
		return 0;
	}
	if (!WIFSTOPPED(status)) {
		pr_err("Task %d reported status %#x, which is not a stop", t->tid, status);
		return -EIO;
	}
	decode_status(status, ret_stop);
	pr_debug("Task %d stopped: kind %d signal %d event %d", t->tid, ret_stop->kind,
		 ret_stop->sig, ret_stop->event);
	return 0;
}

int rsys_collect_death(struct rsys_task *t)
{
	struct rsys_stop st;
	int r;

	/*
	 * ESRCH from ptrace on a task we keep stopped: SIGKILL woke it up to
	 * exit, and nothing stops it on the way (no PTRACE_O_TRACEEXIT).
	 */
	r = rsys_wait_stop(t, &st);
	if (r < 0)
		return r;
	if (st.kind != RSYS_STOP_EXITED) {
		pr_err("Task %d refused a ptrace request but is still there (stop kind %d)", t->tid,
		       st.kind);
		return -EIO;
	}
	return -ESRCH;
}

int rsys_resume(struct rsys_task *t, int request, int sig)
{
	if (ptrace(request, t->tid, NULL, (void *)(unsigned long)sig) == 0)
		return 0;
	if (errno == ESRCH)
		return rsys_collect_death(t);
	int r = negative_errno();
	pr_perror("Can't resume task %d (ptrace request %d)", t->tid, request);
	return r;
}

int rsys_interrupt(struct rsys_task *t)
{
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) == 0)
		return 0;
	if (errno == ESRCH)
		return rsys_collect_death(t);
	int r = negative_errno();
	pr_perror("Can't interrupt task %d", t->tid);
	return r;
}
