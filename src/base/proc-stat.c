/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/stat: "pid (comm) state" then 49 numbers. comm is printed raw
 * and may hold spaces, parentheses and newlines, so it ends at the LAST ')'
 * of the text: nothing after it can hold one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

enum field_kind { F_U64, F_S64, F_U32, F_S32 };

struct stat_field {
	const char *name;
	unsigned short offset;
	unsigned char kind;
};

#define FIELD(name, kind)                                     \
	{                                                     \
#name, offsetof(struct proc_stat, name), kind \
	}

/* Fields 4 to 52 of proc_pid_stat(5), in order. */
static const struct stat_field fields[] = {
	FIELD(ppid, F_S32),        FIELD(pgrp, F_S32),        FIELD(session, F_S32),
	FIELD(tty_nr, F_S32),      FIELD(tpgid, F_S32),       FIELD(flags, F_U32),
	FIELD(minflt, F_U64),      FIELD(cminflt, F_U64),     FIELD(majflt, F_U64),
	FIELD(cmajflt, F_U64),     FIELD(utime, F_U64),       FIELD(stime, F_U64),
	FIELD(cutime, F_S64),      FIELD(cstime, F_S64),      FIELD(priority, F_S64),
	FIELD(nice, F_S64),        FIELD(num_threads, F_S64), FIELD(itrealvalue, F_S64),
	FIELD(starttime, F_U64),   FIELD(vsize, F_U64),       FIELD(rss, F_S64),
	FIELD(rsslim, F_U64),      FIELD(startcode, F_U64),   FIELD(endcode, F_U64),
	FIELD(startstack, F_U64),  FIELD(kstkesp, F_U64),     FIELD(kstkeip, F_U64),
	FIELD(signal, F_U64),      FIELD(blocked, F_U64),     FIELD(sigignore, F_U64),
	FIELD(sigcatch, F_U64),    FIELD(wchan, F_U64),       FIELD(nswap, F_U64),
	FIELD(cnswap, F_U64),      FIELD(exit_signal, F_S32), FIELD(processor, F_S32),
	FIELD(rt_priority, F_U32), FIELD(policy, F_U32),      FIELD(delayacct_blkio_ticks, F_U64),
	FIELD(guest_time, F_U64),  FIELD(cguest_time, F_S64), FIELD(start_data, F_U64),
	FIELD(end_data, F_U64),    FIELD(start_brk, F_U64),   FIELD(arg_start, F_U64),
	FIELD(arg_end, F_U64),     FIELD(env_start, F_U64),   FIELD(env_end, F_U64),
	FIELD(exit_code, F_S32),
};

static int scan_field(const char **pp, const struct stat_field *f, struct proc_stat *st)
{
	void *dst = (char *)st + f->offset;

	switch (f->kind) {
	case F_U64:
		return proc_scan_u64(pp, 10, dst);
	case F_S64:
		return proc_scan_s64(pp, dst);
	case F_U32:
		return proc_scan_u32(pp, 10, dst);
	default:
		return proc_scan_s32(pp, dst);
	}
}

static int parse_head(const char *text, const char *what, struct proc_stat *st, const char **ret_p)
{
	const char *p = text, *open, *close;
	size_t len;

	if (proc_scan_s32(&p, &st->pid) < 0 || p[0] != ' ' || p[1] != '(') {
		pr_err("%s: line 1: cannot parse pid", what);
		return -EINVAL;
	}
	open = p + 2;
	close = strrchr(open, ')');
	if (!close) {
		pr_err("%s: line 1: cannot parse comm (no closing parenthesis)", what);
		return -EINVAL;
	}
	len = (size_t)(close - open);
	if (len >= sizeof(st->comm)) {
		pr_err("%s: line 1: cannot parse comm (%zu bytes)", what, len);
		return -EINVAL;
	}
	memcpy(st->comm, open, len);
	st->comm[len] = '\0';
	p = close + 1;
	if (p[0] != ' ' || p[1] == '\0' || p[1] == ' ' || p[1] == '\n') {
		pr_err("%s: line %u: cannot parse state", what, proc_lineno(text, p));
		return -EINVAL;
	}
	st->state = p[1];
	*ret_p = p + 2;
	return 0;
}

int proc_parse_stat(const char *text, const char *what, struct proc_stat *ret)
{
	struct proc_stat st = {0};
	const char *p;
	int r;

	r = parse_head(text, what, &st, &p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		bool ok = *p == ' ';

		if (ok) {
			p++;
			/* a number ends at a blank: "31x3440" is a bad vsize, not vsize 31 */
			ok = scan_field(&p, &fields[i], &st) == 0 &&
			     (*p == ' ' || *p == '\n' || *p == '\0');
		}
		if (!ok) {
			pr_err("%s: line %u: cannot parse %s (field %zu)", what,
			       proc_lineno(text, p), fields[i].name, i + 4);
			return -EINVAL;
		}
	}
	/* What follows exit_code is left alone: newer kernels may append fields. */
	*ret = st;
	return 0;
}

int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *ret)
{
	char path[PROC_PATH_MAX];
	/* 52 fields of at most 20 digits and a 63-byte comm: well under 2 KiB */
	char buf[2048];
	size_t len;
	int r;

	proc_path(path, pid, tid, "stat");
	r = proc_read_file_into(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return proc_parse_stat(buf, path, ret);
}
