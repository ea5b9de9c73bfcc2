/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Timers, which only the task can create: itimers (setitimer) and POSIX
 * timers. A POSIX timer is known to the program by its id, so it must come
 * back with the same one: with PR_TIMER_CREATE_RESTORE_IDS on (Linux
 * 6.16+), timer_create() takes the id it is given. The remaining times were
 * dumped relative, and are set relative. Signals of timers that expire
 * during the restore stay pending (remote syscalls block them all) and are
 * delivered once the task runs.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

/* itimers are not inherited by a new task: only the armed ones are set. */
static int set_itimers(struct rst_ctx *c)
{
	const TaskTimersEntry *t = c->img.core->tc->timers;
	const ItimerEntry *its[] = {t ? t->real : NULL, t ? t->virt : NULL, t ? t->prof : NULL};
	static const int which[] = {ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF};

	for (size_t i = 0; i < ELEMENTSOF(its); i++) {
		const ItimerEntry *e = its[i];
		struct itimerval v;
		unsigned long addr;
		long res;
		int r;

		if (!e || (!e->vsec && !e->vusec))
			continue;
		v = (struct itimerval){{(time_t)e->isec, (suseconds_t)e->iusec},
				       {(time_t)e->vsec, (suseconds_t)e->vusec}};
		r = rst_scratch_put(c, 0, &v, sizeof(v), &addr);
		if (r < 0)
			return r;
		res = rst_sys(c, __NR_setitimer, which[i], addr, 0);
		if (res < 0) {
			rst_err(c, "setitimer(%d) failed: %s", which[i], strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

/* Where the arguments go in the scratch area. */
#define SIGEVENT_OFF 0
#define TIMER_ID_OFF 128
#define ITIMERSPEC_OFF 192

static int create_posix(struct rst_ctx *c, const PosixTimerEntry *pt)
{
	struct sigevent ev = {.sigev_notify = (int)pt->it_sigev_notify,
			      .sigev_signo = (int)pt->si_signo,
			      .sigev_value.sival_ptr = (void *)(uintptr_t)pt->sival_ptr};
	struct itimerspec its = {{(time_t)pt->isec, (long)pt->insec},
				 {(time_t)pt->vsec, (long)pt->vnsec}};
	int id = (int)pt->it_id;
	unsigned long ev_addr, id_addr, its_addr;
	long res;
	int r;

	if (pt->has_notify_thread_id)
		ev._sigev_un._tid = pt->notify_thread_id;
	r = rst_scratch_put(c, SIGEVENT_OFF, &ev, sizeof(ev), &ev_addr);
	if (r == 0)
		r = rst_scratch_put(c, TIMER_ID_OFF, &id, sizeof(id), &id_addr);
	if (r == 0)
		r = rst_scratch_put(c, ITIMERSPEC_OFF, &its, sizeof(its), &its_addr);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_timer_create, pt->clock_id, ev_addr, id_addr);
	if (res < 0) {
		rst_err(c, "POSIX timer %u (clock %u): timer_create failed: %s", pt->it_id,
			pt->clock_id, strerror((int)-res));
		return (int)res;
	}
	res = rst_sys(c, __NR_timer_settime, pt->it_id, 0, its_addr, 0);
	if (res < 0) {
		rst_err(c, "POSIX timer %u: timer_settime failed: %s", pt->it_id,
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

static int set_posix_timers(struct rst_ctx *c)
{
	const TaskTimersEntry *t = c->img.core->tc->timers;
	long res;
	int r = 0;

	if (!t || !t->n_posix)
		return 0;
	res = rst_sys(c, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0,
		      0, 0);
	if (res < 0) {
		rst_err(c,
			"the task has %zu POSIX timers; giving them their ids back needs "
			"prctl(PR_TIMER_CREATE_RESTORE_IDS) (Linux 6.16): %s",
			t->n_posix, strerror((int)-res));
		return (int)res;
	}
	for (size_t i = 0; i < t->n_posix && r == 0; i++)
		r = create_posix(c, t->posix[i]);
	res = rst_sys(c, __NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF,
		      0, 0, 0);
	if (r == 0 && res < 0) {
		rst_err(c, "prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF) failed: %s",
			strerror((int)-res));
		r = (int)res;
	}
	return r;
}

int rst_timers(struct rst_ctx *c)
{
	int r = set_itimers(c);

	return r < 0 ? r : set_posix_timers(c);
}
