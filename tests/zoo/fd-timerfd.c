/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timerfds: a periodic one (50 ms, non-blocking) that must go on firing on
 * time; an absolute one on CLOCK_REALTIME an hour away; a one-shot that
 * expired before the checkpoint with its expiration not read; a disarmed one
 * on CLOCK_BOOTTIME, close-on-exec. The remaining time of a timer does not
 * run while it is checkpointed (as with CRIU), so the far one may be later
 * than an hour from its setup, by the time the program was away, never
 * earlier than what ran of it.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

#define PERIOD_NS 50000000L
#define FAR_S 3600

static int periodic, far, expired, disarmed;
static struct timespec t_setup;

static int make(clockid_t clock, int flags)
{
	int fd = timerfd_create(clock, flags);

	if (fd < 0)
		zoo_setup_failed("timerfd_create(%d): %m", (int)clock);
	return fd;
}

static void arm(int fd, int flags, time_t sec, long nsec, long interval_ns)
{
	struct itimerspec v = {.it_value = {sec, nsec}, .it_interval = {0, interval_ns}};

	if (timerfd_settime(fd, flags, &v, NULL))
		zoo_setup_failed("timerfd_settime: %m");
}

static void setup(void)
{
	struct timespec now;

	periodic = make(CLOCK_MONOTONIC, TFD_NONBLOCK);
	arm(periodic, 0, 0, PERIOD_NS, PERIOD_NS);
	far = make(CLOCK_REALTIME, TFD_NONBLOCK);
	clock_gettime(CLOCK_REALTIME, &now);
	arm(far, TFD_TIMER_ABSTIME, now.tv_sec + FAR_S, now.tv_nsec, 0);
	clock_gettime(CLOCK_MONOTONIC, &t_setup);
	expired = make(CLOCK_MONOTONIC, TFD_NONBLOCK);
	arm(expired, 0, 0, 1000000, 0);
	disarmed = make(CLOCK_BOOTTIME, TFD_CLOEXEC);
	zoo_sleep_ms(20);
}

static double seconds(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static uint64_t ticks(int fd)
{
	uint64_t n = 0;

	return read(fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

static bool fdinfo_has(int fd, const char *line)
{
	char info[512];

	return zoo_fdinfo(fd, info, sizeof(info)) && strstr(info, line);
}

static void check_periodic(void)
{
	struct pollfd p = {.fd = periodic, .events = POLLIN};
	struct timespec a, b;
	double waited;

	ticks(periodic);
	clock_gettime(CLOCK_MONOTONIC, &a);
	zoo_expect(poll(&p, 1, 1000) == 1, "the periodic timer did not fire within a second");
	clock_gettime(CLOCK_MONOTONIC, &b);
	waited = seconds(&b) - seconds(&a);
	zoo_expect(waited < 0.2, "the periodic timer took %.3f s to fire, its period is 0.05 s",
		   waited);
	zoo_expect(ticks(periodic) >= 1, "the periodic timer fired but counts nothing");
	zoo_expect(fcntl(periodic, F_GETFL) & O_NONBLOCK, "the periodic timer is blocking");
}

static void check_far(void)
{
	struct itimerspec v;
	struct timespec now;
	double left, ran;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ran = seconds(&now) - seconds(&t_setup);
	if (!zoo_expect(timerfd_gettime(far, &v) == 0, "timerfd_gettime: %m"))
		return;
	left = seconds(&v.it_value);
	zoo_expect(left <= FAR_S + 0.001 && left >= FAR_S - ran - 1,
		   "the far timer fires in %.3f s; %d s less at most %.3f s (the time it ran)",
		   left, FAR_S, ran);
	zoo_expect(v.it_interval.tv_sec == 0 && v.it_interval.tv_nsec == 0,
		   "the far timer has an interval");
	zoo_expect(fdinfo_has(far, "clockid: 0") && fdinfo_has(far, "settime flags: 01"),
		   "the far timer is not an absolute CLOCK_REALTIME one (fdinfo)");
}

static void check_expired(void)
{
	struct itimerspec v;
	uint64_t n = ticks(expired);

	zoo_expect(n == 1, "the expired timer counts %llu expirations, not 1",
		   (unsigned long long)n);
	zoo_expect(timerfd_gettime(expired, &v) == 0 && v.it_value.tv_sec == 0 &&
			   v.it_value.tv_nsec == 0,
		   "the expired timer is armed again");
}

static void check_disarmed(void)
{
	struct itimerspec v;

	zoo_expect(timerfd_gettime(disarmed, &v) == 0 && v.it_value.tv_sec == 0 &&
			   v.it_value.tv_nsec == 0 && v.it_interval.tv_nsec == 0,
		   "the disarmed timer is armed");
	zoo_expect(fdinfo_has(disarmed, "clockid: 7"), "the disarmed timer is not on BOOTTIME");
	zoo_expect(fcntl(disarmed, F_GETFD) & FD_CLOEXEC,
		   "the disarmed timer is not close-on-exec");
	zoo_expect(!(fcntl(disarmed, F_GETFL) & O_NONBLOCK), "the disarmed timer is non-blocking");
}

static void break_stop(void)
{
	arm(periodic, 0, 0, 0, 0);
}

static void break_read(void)
{
	ticks(expired);
}

static void break_later(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	arm(far, TFD_TIMER_ABSTIME, now.tv_sec + 2 * FAR_S, 0, 0);
}

static void break_clock(void)
{
	int fd = make(CLOCK_MONOTONIC, TFD_CLOEXEC);

	dup2(fd, disarmed);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"the periodic timer stopped", break_stop},
	{"the expiration of the one-shot read", break_read},
	{"the far timer moved an hour later", break_later},
	{"the disarmed timer replaced by one on CLOCK_MONOTONIC", break_clock},
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
	check_periodic();
	check_far();
	check_expired();
	check_disarmed();
	return zoo_verdict();
}
