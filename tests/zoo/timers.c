/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timers: a periodic ITIMER_REAL, a long ITIMER_VIRTUAL, a periodic POSIX
 * timer signalling with a value, and a one-shot POSIX timer an hour away.
 * After SIGTERM the program watches the periodic ones tick for a while: they
 * must still be armed, with their intervals, and deliver their signals.
 */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "zoo.h"

#define REAL_MS 50
#define POSIX_MS 20
#define WATCH_MS 400
#define VIRTUAL_S 1000
#define SLACK_MS 50
#define ONESHOT_S 3600
#define COOKIE 0x5eed

static timer_t periodic, oneshot;
static volatile sig_atomic_t alrm_ticks, posix_ticks, posix_cookie_ok = 1;

static void on_alrm(int sig)
{
	(void)sig;
	alrm_ticks++;
}

static void on_posix(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	posix_ticks++;
	if (si->si_code != SI_TIMER || si->si_value.sival_int != COOKIE)
		posix_cookie_ok = 0;
}

static struct timespec ms_ts(long ms)
{
	return (struct timespec){ms / 1000, ms % 1000 * 1000000};
}

static void setup_itimers(void)
{
	struct sigaction sa = {.sa_handler = on_alrm, .sa_flags = SA_RESTART};
	struct itimerval real = {{0, REAL_MS * 1000}, {0, REAL_MS * 1000}};
	struct itimerval virt = {{VIRTUAL_S / 2, 0}, {VIRTUAL_S, 0}};

	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &real, NULL) ||
	    setitimer(ITIMER_VIRTUAL, &virt, NULL))
		zoo_setup_failed("itimers: %m");
}

static void setup_posix(void)
{
	struct sigaction sa = {.sa_sigaction = on_posix, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL,
			      .sigev_signo = SIGRTMIN + 1,
			      .sigev_value.sival_int = COOKIE};
	/* Not SIGEV_NONE: this kernel (6.18) keeps reporting the old expiry of a
	 * disarmed SIGEV_NONE timer, which would hide a lost one. */
	struct sigevent later = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2};
	struct itimerspec every = {ms_ts(POSIX_MS), ms_ts(POSIX_MS)};
	struct itimerspec once = {{0, 0}, {ONESHOT_S, 0}};

	if (sigaction(SIGRTMIN + 1, &sa, NULL) || timer_create(CLOCK_MONOTONIC, &ev, &periodic) ||
	    timer_settime(periodic, 0, &every, NULL) ||
	    timer_create(CLOCK_REALTIME, &later, &oneshot) ||
	    timer_settime(oneshot, 0, &once, NULL))
		zoo_setup_failed("POSIX timers: %m");
}

static long tv_ms(const struct timeval *tv)
{
	return tv->tv_sec * 1000 + tv->tv_usec / 1000;
}

static long ts_ms(const struct timespec *ts)
{
	return ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static void check_settings(void)
{
	struct itimerval it;
	struct itimerspec ts;

	getitimer(ITIMER_REAL, &it);
	zoo_expect(tv_ms(&it.it_interval) == REAL_MS, "ITIMER_REAL interval is %ld ms, not %d",
		   tv_ms(&it.it_interval), REAL_MS);
	getitimer(ITIMER_VIRTUAL, &it);
	zoo_expect(tv_ms(&it.it_interval) == VIRTUAL_S / 2 * 1000,
		   "ITIMER_VIRTUAL interval is %ld ms, not %d s", tv_ms(&it.it_interval),
		   VIRTUAL_S / 2);
	/* The kernel rounds CPU-time timers up to a tick, hence the slack. */
	zoo_expect(tv_ms(&it.it_value) > 0 && tv_ms(&it.it_value) <= VIRTUAL_S * 1000 + SLACK_MS,
		   "ITIMER_VIRTUAL has %ld ms left, not (0, %d s]", tv_ms(&it.it_value), VIRTUAL_S);
	if (zoo_expect(timer_gettime(periodic, &ts) == 0, "periodic POSIX timer: %m"))
		zoo_expect(ts_ms(&ts.it_interval) == POSIX_MS,
			   "periodic POSIX timer interval is %ld ms, not %d",
			   ts_ms(&ts.it_interval), POSIX_MS);
	if (zoo_expect(timer_gettime(oneshot, &ts) == 0, "one-shot POSIX timer: %m"))
		zoo_expect(ts_ms(&ts.it_value) > 0 && ts_ms(&ts.it_value) <= ONESHOT_S * 1000 &&
				   ts_ms(&ts.it_interval) == 0,
			   "one-shot POSIX timer has %ld ms left every %ld ms, not (0, %d s] once",
			   ts_ms(&ts.it_value), ts_ms(&ts.it_interval), ONESHOT_S);
}

/* Let the periodic timers run for WATCH_MS; allow them to lose half their ticks. */
static void check_ticking(void)
{
	int alrm, posix;

	alrm_ticks = posix_ticks = 0;
	zoo_sleep_ms(WATCH_MS);
	alrm = alrm_ticks;
	posix = posix_ticks;
	zoo_expect(alrm >= WATCH_MS / REAL_MS / 2, "%d SIGALRM in %d ms, expected about %d", alrm,
		   WATCH_MS, WATCH_MS / REAL_MS);
	zoo_expect(posix >= WATCH_MS / POSIX_MS / 2,
		   "%d POSIX timer signals in %d ms, expected about %d", posix, WATCH_MS,
		   WATCH_MS / POSIX_MS);
	zoo_expect(posix_cookie_ok, "a POSIX timer signal came without SI_TIMER and its value");
}

static void break_real(void)
{
	struct itimerval off = {};

	setitimer(ITIMER_REAL, &off, NULL);
}

static void break_virtual(void)
{
	struct itimerval off = {};

	setitimer(ITIMER_VIRTUAL, &off, NULL);
}

static void break_deleted(void)
{
	timer_delete(periodic);
}

static void break_interval(void)
{
	struct itimerspec slower = {ms_ts(POSIX_MS + 10), ms_ts(POSIX_MS + 10)};

	timer_settime(periodic, 0, &slower, NULL);
}

static void break_oneshot(void)
{
	struct itimerspec off = {};

	timer_settime(oneshot, 0, &off, NULL);
}

static const struct zoo_break breaks[] = {
	{"ITIMER_REAL disarmed", break_real},
	{"ITIMER_VIRTUAL disarmed", break_virtual},
	{"the periodic POSIX timer deleted", break_deleted},
	{"the periodic POSIX timer slowed to 30 ms", break_interval},
	{"the one-shot POSIX timer disarmed", break_oneshot},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup_itimers();
	setup_posix();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_settings();
	check_ticking();
	return zoo_verdict();
}
