/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signalfds: one for SIGUSR1 and SIGRTMIN+3, non-blocking, with SIGUSR1
 * blocked and pending (sent with a value); one for SIGUSR2, blocking and
 * close-on-exec. After the restore the first reads the pending SIGUSR1 with
 * its value, then nothing; both have their masks.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "zoo.h"

#define VALUE 0x5151

static int usr1, usr2;
static sigset_t mask1;

static int make(int fd, const sigset_t *mask, int flags)
{
	int r = signalfd(fd, mask, flags);

	if (r < 0)
		zoo_setup_failed("signalfd: %m");
	return r;
}

static void setup(void)
{
	union sigval v = {.sival_int = VALUE};
	sigset_t mask2;

	sigemptyset(&mask1);
	sigaddset(&mask1, SIGUSR1);
	sigaddset(&mask1, SIGRTMIN + 3);
	sigemptyset(&mask2);
	sigaddset(&mask2, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask1, NULL) || sigqueue(getpid(), SIGUSR1, v))
		zoo_setup_failed("blocking or queueing SIGUSR1: %m");
	usr1 = make(-1, &mask1, SFD_NONBLOCK);
	usr2 = make(-1, &mask2, SFD_CLOEXEC);
}

/* The sigmask line of fdinfo: bit N-1 for signal N. */
static void check_mask(int fd, uint64_t want, const char *what)
{
	char info[512], line[64];

	snprintf(line, sizeof(line), "sigmask:\t%016llx", (unsigned long long)want);
	zoo_expect(zoo_fdinfo(fd, info, sizeof(info)) && strstr(info, line),
		   "%s: its fdinfo has no \"%s\"", what, line);
}

static void check(void)
{
	struct signalfd_siginfo si = {};
	ssize_t n;

	check_mask(usr1, 1ULL << (SIGUSR1 - 1) | 1ULL << (SIGRTMIN + 3 - 1),
		   "the SIGUSR1 signalfd");
	check_mask(usr2, 1ULL << (SIGUSR2 - 1), "the SIGUSR2 signalfd");
	zoo_expect(fcntl(usr1, F_GETFL) & O_NONBLOCK, "the SIGUSR1 signalfd is blocking");
	zoo_expect(!(fcntl(usr2, F_GETFL) & O_NONBLOCK), "the SIGUSR2 signalfd is non-blocking");
	zoo_expect(fcntl(usr2, F_GETFD) & FD_CLOEXEC, "the SIGUSR2 signalfd is not close-on-exec");
	if (!(fcntl(usr1, F_GETFL) & O_NONBLOCK))
		return; /* a read would wait for ever */
	n = read(usr1, &si, sizeof(si));
	zoo_expect(n == sizeof(si) && si.ssi_signo == SIGUSR1 && si.ssi_int == VALUE,
		   "the SIGUSR1 signalfd reads %zd bytes, signal %u value %#x, not SIGUSR1 %#x", n,
		   si.ssi_signo, si.ssi_int, VALUE);
	zoo_expect(read(usr1, &si, sizeof(si)) < 0 && errno == EAGAIN,
		   "the SIGUSR1 signalfd has more than one signal");
}

static void break_take(void)
{
	struct signalfd_siginfo si;

	if (read(usr1, &si, sizeof(si)) != sizeof(si))
		zoo_die("break: read: %m");
}

static void break_mask(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	make(usr1, &m, SFD_NONBLOCK);
}

static void break_blocking(void)
{
	fcntl(usr1, F_SETFL, 0);
}

static const struct zoo_break breaks[] = {
	{"the pending SIGUSR1 read out", break_take},
	{"SIGRTMIN+3 taken out of the first mask", break_mask},
	{"the first signalfd made blocking", break_blocking},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
