/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/limits: a header, then one row per resource:
 * "%-25s %-20s %-20s %-10s" (name, soft, hard, units), values in decimal or
 * "unlimited". Rows are matched by name, not position, so the order and
 * rows a future kernel adds do not matter. This is how stasis reads the
 * limits of a task of another user: prlimit() needs CAP_SYS_RESOURCE there.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

/* fs/proc/base.c lnames[] */
static const char *const row_names[PROC_RLIMIT_COUNT] = {
	[RLIMIT_CPU] = "Max cpu time",
	[RLIMIT_FSIZE] = "Max file size",
	[RLIMIT_DATA] = "Max data size",
	[RLIMIT_STACK] = "Max stack size",
	[RLIMIT_CORE] = "Max core file size",
	[RLIMIT_RSS] = "Max resident set",
	[RLIMIT_NPROC] = "Max processes",
	[RLIMIT_NOFILE] = "Max open files",
	[RLIMIT_MEMLOCK] = "Max locked memory",
	[RLIMIT_AS] = "Max address space",
	[RLIMIT_LOCKS] = "Max file locks",
	[RLIMIT_SIGPENDING] = "Max pending signals",
	[RLIMIT_MSGQUEUE] = "Max msgqueue size",
	[RLIMIT_NICE] = "Max nice priority",
	[RLIMIT_RTPRIO] = "Max realtime priority",
	[RLIMIT_RTTIME] = "Max realtime timeout",
};

_Static_assert(RLIMIT_NLIMITS == PROC_RLIMIT_COUNT, "one row per RLIMIT_*");

/* RLIMIT_* of the row starting at line (its name followed by a blank), or -1. */
static int row_resource(const char *line)
{
	for (int i = 0; i < PROC_RLIMIT_COUNT; i++) {
		size_t len = strlen(row_names[i]);

		if (!strncmp(line, row_names[i], len) && line[len] == ' ')
			return i;
	}
	return -1;
}

static int scan_limit(const char **pp, rlim_t *ret)
{
	const char *p = proc_skip_blanks(*pp);
	uint64_t v;

	if (startswith(p, "unlimited")) {
		*pp = p + strlen("unlimited");
		*ret = RLIM_INFINITY;
		return 0;
	}
	if (proc_scan_u64(&p, 10, &v) < 0)
		return -EINVAL;
	*pp = p;
	*ret = v;
	return 0;
}

int proc_parse_limits(const char *text, const char *what, struct proc_limits *ret)
{
	struct proc_limits lim;
	unsigned int seen = 0, lineno = 1;

	if (!startswith(text, "Limit ")) {
		pr_err("%s: line 1: cannot parse the header", what);
		return -EINVAL;
	}
	for (const char *line = text; *line; lineno++) {
		const char *end = proc_line_end(line);
		int res = lineno > 1 ? row_resource(line) : -1;

		if (res >= 0) {
			const char *p = line + strlen(row_names[res]);
			struct rlimit *l = &lim.lim[res];

			if (scan_limit(&p, &l->rlim_cur) < 0 || scan_limit(&p, &l->rlim_max) < 0 ||
			    (*p != ' ' && p != end)) {
				pr_err("%s: line %u: cannot parse %s", what, lineno,
				       row_names[res]);
				return -EINVAL;
			}
			seen |= 1u << res;
		} else if (lineno > 1) {
			pr_debug("%s: line %u: unknown limit ignored", what, lineno);
		}
		line = *end ? end + 1 : end;
	}
	if (seen != (1u << PROC_RLIMIT_COUNT) - 1) {
		pr_err("%s: no \"%s\" row in %u lines", what, row_names[__builtin_ctz(~seen)],
		       lineno - 1);
		return -EINVAL;
	}
	*ret = lim;
	return 0;
}

int proc_read_limits(pid_t pid, struct proc_limits *ret)
{
	char path[PROC_PATH_MAX];
	/* 17 lines of 79 bytes */
	char buf[4096];
	size_t len;
	int r;

	proc_path(path, pid, 0, "limits");
	r = proc_read_file_into(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return proc_parse_limits(buf, path, ret);
}
