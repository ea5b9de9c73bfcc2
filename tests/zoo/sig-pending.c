/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pending signals: with SIGUSR1, SIGUSR2 and two real-time signals blocked,
 * the program queues to itself, process-wide with sigqueue(), SIGUSR1 with a
 * value and the real-time signal three times with three values, and, to the
 * thread only with rt_tgsigqueueinfo(), SIGUSR2 and the other real-time
 * signal. After the restore each is still pending where it was, and
 * sigtimedwait() takes them out in order with their siginfo (code, value,
 * sender pid and uid); then nothing else is pending.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

struct queued {
	int sig;
	int value;
	bool thread; /* queued to the thread, not to the process */
};

#define RT_SHARED (SIGRTMIN + 4)
#define RT_THREAD (SIGRTMIN + 6)

static struct queued queued[6];
static size_t n_queued;
static sigset_t blocked;
static pid_t pid;
static uid_t uid;

static void queue(int sig, int value, bool thread)
{
	siginfo_t si = {.si_signo = sig, .si_code = SI_QUEUE};
	long r;

	si.si_pid = pid;
	si.si_uid = uid;
	si.si_value.sival_int = value;
	if (thread)
		r = syscall(SYS_rt_tgsigqueueinfo, pid, pid, sig, &si);
	else
		r = sigqueue(pid, sig, si.si_value);
	if (r)
		zoo_setup_failed("queue signal %d: %m", sig);
	queued[n_queued++] = (struct queued){sig, value, thread};
}

static void setup(void)
{
	pid = getpid();
	uid = getuid();
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	sigaddset(&blocked, RT_SHARED);
	sigaddset(&blocked, RT_THREAD);
	if (sigprocmask(SIG_BLOCK, &blocked, NULL))
		zoo_setup_failed("sigprocmask: %m");
	/* In the order sigtimedwait() gives them back: the thread's before the
	 * process's, lowest signal first, first in first out within one. */
	queue(SIGUSR2, 202, true);
	queue(RT_THREAD, 303, true);
	queue(SIGUSR1, 101, false);
	queue(RT_SHARED, 1, false);
	queue(RT_SHARED, 2, false);
	queue(RT_SHARED, 3, false);
}

/* The pending set of the process (ShdPnd) or the thread (SigPnd), from /proc/self/status. */
static unsigned long long proc_pending(const char *field)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ~0ULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ~0ULL;
	buf[n] = '\0';
	p = strstr(buf, field);
	return p ? strtoull(p + strlen(field), NULL, 16) : ~0ULL;
}

static void check_where(void)
{
	unsigned long long shared = 0, thread = 0;

	for (size_t i = 0; i < n_queued; i++)
		*(queued[i].thread ? &thread : &shared) |= 1ULL << (queued[i].sig - 1);
	zoo_expect(proc_pending("ShdPnd:") == shared, "ShdPnd is %llx, not %llx",
		   proc_pending("ShdPnd:"), shared);
	zoo_expect(proc_pending("SigPnd:") == thread, "SigPnd is %llx, not %llx",
		   proc_pending("SigPnd:"), thread);
}

static void check_take(void)
{
	struct timespec zero = {0, 0};
	siginfo_t si;

	for (size_t i = 0; i < n_queued; i++) {
		const struct queued *q = &queued[i];
		int sig = sigtimedwait(&blocked, &si, &zero);

		if (!zoo_expect(sig == q->sig, "pending signal %zu is %d, not %d", i, sig, q->sig))
			return;
		zoo_expect(si.si_code == SI_QUEUE && si.si_value.sival_int == q->value,
			   "signal %d: code %d value %d, not SI_QUEUE value %d", sig, si.si_code,
			   si.si_value.sival_int, q->value);
		zoo_expect(si.si_pid == pid && si.si_uid == uid,
			   "signal %d: sent by pid %d uid %d, not %d %d", sig, (int)si.si_pid,
			   (int)si.si_uid, (int)pid, (int)uid);
	}
	zoo_expect(sigtimedwait(&blocked, &si, &zero) < 0 && errno == EAGAIN,
		   "signal %d pending after the queued ones", si.si_signo);
}

static void break_taken(void)
{
	struct timespec zero = {0, 0};
	sigset_t rt;

	sigemptyset(&rt);
	sigaddset(&rt, RT_SHARED);
	sigtimedwait(&rt, NULL, &zero);
}

static void break_extra(void)
{
	sigqueue(pid, RT_THREAD, (union sigval){.sival_int = 9});
}

static void break_thread_to_process(void)
{
	struct timespec zero = {0, 0};
	sigset_t usr2;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigtimedwait(&usr2, NULL, &zero);
	sigqueue(pid, SIGUSR2, (union sigval){.sival_int = 202});
}

static const struct zoo_break breaks[] = {
	{"one of the queued real-time signals taken", break_taken},
	{"one more real-time signal queued", break_extra},
	{"SIGUSR2 pending for the process instead of the thread", break_thread_to_process},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_where();
	check_take();
	return zoo_verdict();
}
