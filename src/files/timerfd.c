/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timerfd: clock, expirations not read yet, settime flags, remaining time
 * and interval, from fdinfo:
 *
 *   clockid: 1
 *   ticks: 0
 *   settime flags: 01
 *   it_value: (9, 999990501)
 *   it_interval: (1, 500)
 *
 * it_value is the time left, also for an absolute timer (0 for a periodic
 * timer whose expiration is not read yet: see timerfd_arm_value()). The restore makes
 * the timer unarmed; the caller arms it at the end of the restore (as CRIU's
 * restorer does), so that the time the restore takes is not taken from it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/anon.h"
#include "files/file.h"

static int get_u64(const struct proc_fdinfo *fi, const char *key, unsigned int base,
		   const char *label, uint64_t *ret)
{
	const char *v = proc_fdinfo_get(fi, key);

	if (!v) {
		pr_err("%s: no %s line in its fdinfo", label, key);
		return -EBADMSG;
	}
	return proc_parse_u64(v, base, label, ret);
}

/* "(SEC, NSEC)" */
static int get_pair(const struct proc_fdinfo *fi, const char *key, const char *label,
		    uint64_t *ret_sec, uint64_t *ret_nsec)
{
	const char *v = proc_fdinfo_get(fi, key);
	unsigned long long sec, nsec;
	int end = 0;

	if (!v || sscanf(v, "(%llu, %llu)%n", &sec, &nsec, &end) != 2 || v[end] ||
	    nsec >= 1000000000ULL) {
		pr_err("%s: no %s line of the form (SEC, NSEC) in its fdinfo", label, key);
		return -EBADMSG;
	}
	*ret_sec = sec;
	*ret_nsec = nsec;
	return 0;
}

int timerfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, TimerfdEntry *e)
{
	uint64_t clockid, flags;
	int r;

	r = get_u64(fi, "clockid", 10, label, &clockid);
	if (r == 0)
		r = get_u64(fi, "ticks", 10, label, &e->ticks);
	if (r == 0)
		r = get_u64(fi, "settime flags", 8, label, &flags);
	if (r == 0)
		r = get_pair(fi, "it_value", label, &e->vsec, &e->vnsec);
	if (r == 0)
		r = get_pair(fi, "it_interval", label, &e->isec, &e->insec);
	if (r < 0)
		return r;
	e->clockid = (uint32_t)clockid;
	e->settime_flags = (uint32_t)flags;
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	return 0;
}

int timerfd_make(const TimerfdEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = timerfd_create((clockid_t)e->clockid, TFD_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot create a timerfd on clock %u: %s", label, e->clockid,
		       strerror(-r));
		return r;
	}
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}

int timerfd_arm_value(const TimerfdEntry *e, const char *label, int *ret_flags,
		      struct itimerspec *ret_value)
{
	struct itimerspec v = {
		.it_value = {(time_t)e->vsec, (long)e->vnsec},
		.it_interval = {(time_t)e->isec, (long)e->insec},
	};
	struct timespec now;
	int r;

	if (e->vnsec >= 1000000000ULL || e->insec >= 1000000000ULL) {
		pr_err("%s: its times have %llu and %llu ns, not below a second", label,
		       (unsigned long long)e->vnsec, (unsigned long long)e->insec);
		return -EBADMSG;
	}
	/*
	 * A periodic timer that expired and was not read yet shows 0 left: the
	 * kernel forwards it only when it is read. Its next expiration is at
	 * most one interval away; 0 would disarm it.
	 */
	if (!e->vsec && !e->vnsec && (e->isec || e->insec))
		v.it_value = v.it_interval;
	/* An absolute timer is set to a time on its clock: now plus what was left. */
	if ((e->settime_flags & TFD_TIMER_ABSTIME) && (v.it_value.tv_sec || v.it_value.tv_nsec)) {
		if (clock_gettime((clockid_t)e->clockid, &now) < 0) {
			r = negative_errno();
			pr_err("%s: cannot read its clock %u: %s", label, e->clockid, strerror(-r));
			return r;
		}
		v.it_value.tv_sec += now.tv_sec;
		v.it_value.tv_nsec += now.tv_nsec;
		if (v.it_value.tv_nsec >= 1000000000L) {
			v.it_value.tv_sec++;
			v.it_value.tv_nsec -= 1000000000L;
		}
	}
	*ret_flags = (int)e->settime_flags;
	*ret_value = v;
	return 0;
}
