/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/timers: the POSIX timers of a process, four lines each, newest
 * first (fs/proc/base.c show_timer()):
 *   ID: 1
 *   signal: 34/0000000000001234      signo / sigev_value, hex
 *   notify: signal/pid.1234          signal|none|thread / pid|tid . id
 *   ClockID: 1
 * The remaining time and overrun come from timer_gettime() in the task.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

/* The value of line p if it starts with key; NULL otherwise. */
static const char *line_value(const char *p, const char *key)
{
	size_t len = strlen(key);

	return strncmp(p, key, len) ? NULL : p + len;
}

static int parse_notify(const char *v, struct proc_posix_timer *t)
{
	static const struct {
		const char *name;
		int notify;
	} kinds[] = {
		{"signal/", SIGEV_SIGNAL},
		{"none/", SIGEV_NONE},
		{"thread/", SIGEV_THREAD},
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(kinds); i++)
		if (startswith(v, kinds[i].name))
			break;
	if (i == ELEMENTSOF(kinds))
		return -EINVAL;
	t->notify = kinds[i].notify;
	v += strlen(kinds[i].name);
	if (startswith(v, "tid."))
		t->notify |= SIGEV_THREAD_ID;
	else if (!startswith(v, "pid."))
		return -EINVAL;
	v += 4;
	return proc_scan_s32(&v, &t->notify_pid) < 0 || (*v && *v != '\n') ? -EINVAL : 0;
}

static int parse_signal(const char *v, struct proc_posix_timer *t)
{
	if (proc_scan_s32(&v, &t->signo) < 0 || *v++ != '/' ||
	    proc_scan_u64(&v, 16, &t->sigval) < 0)
		return -EINVAL;
	return *v && *v != '\n' ? -EINVAL : 0;
}

static int parse_number(const char *v, int32_t *ret)
{
	return proc_scan_s32(&v, ret) < 0 || (*v && *v != '\n') ? -EINVAL : 0;
}

/* One timer from the four lines at *pp; *lineno counts them. */
static int parse_timer(const char **pp, const char *what, unsigned int *lineno,
		       struct proc_posix_timer *t)
{
	static const char *const keys[] = {"ID: ", "signal: ", "notify: ", "ClockID: "};
	const char *p = *pp;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++, (*lineno)++) {
		const char *v = line_value(p, keys[i]);
		int r = -EINVAL;

		if (v && i == 0)
			r = parse_number(v, &t->id);
		else if (v && i == 1)
			r = parse_signal(v, t);
		else if (v && i == 2)
			r = parse_notify(v, t);
		else if (v)
			r = parse_number(v, &t->clock_id);
		if (r < 0) {
			pr_err("%s: line %u: cannot parse %.*s", what, *lineno,
			       (int)strcspn(keys[i], ":"), keys[i]);
			return r;
		}
		p = proc_line_end(p);
		if (*p)
			p++;
	}
	*pp = p;
	return 0;
}

int proc_parse_timers(const char *text, const char *what, struct proc_posix_timer **ret_timers,
		      size_t *ret_n)
{
	_cleanup_free_ struct proc_posix_timer *timers = NULL;
	size_t n = 0, max = 0;
	unsigned int lineno = 1;

	for (const char *p = text; (p = strstr(p, "ID: ")); p++)
		max += p == text || p[-1] == '\n';
	if (max) {
		timers = calloc(max, sizeof(*timers));
		if (!timers)
			return -ENOMEM;
	}
	for (const char *p = text; *p;) {
		int r;

		if (n == max) {
			pr_err("%s: line %u: cannot parse ID", what, lineno);
			return -EINVAL;
		}
		r = parse_timer(&p, what, &lineno, &timers[n]);
		if (r < 0)
			return r;
		n++;
	}
	*ret_timers = TAKE_PTR(timers);
	*ret_n = n;
	return 0;
}

int proc_read_timers(pid_t pid, struct proc_posix_timer **ret_timers, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX];
	size_t len;
	int r;

	proc_path(path, pid, 0, "timers");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	return proc_parse_timers(buf, path, ret_timers, ret_n);
}
