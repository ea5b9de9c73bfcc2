/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One-value files: comm, personality, oom_score_adj, loginuid,
 * timerslack_ns, and the cwd/root/exe/fd links.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

/* Nothing but an optional '\n' may follow the number. */
static int expect_end(const char *p, const char *text, const char *what)
{
	if (*p == '\n')
		p++;
	if (*p != '\0') {
		pr_err("%s: line %u: unexpected text after the number", what, proc_lineno(text, p));
		return -EINVAL;
	}
	return 0;
}

int proc_parse_u64(const char *text, unsigned int base, const char *what, uint64_t *ret)
{
	const char *p = text;
	uint64_t v;
	int r;

	if (base == 0) {
		base = 10;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			base = 16;
			p += 2;
		}
	}
	r = proc_scan_u64(&p, base, &v);
	if (r < 0) {
		pr_err("%s: line 1: cannot parse a number in base %u", what, base);
		return r;
	}
	r = expect_end(p, text, what);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int proc_parse_s64(const char *text, const char *what, int64_t *ret)
{
	const char *p = text;
	int64_t v;
	int r = proc_scan_s64(&p, &v);

	if (r < 0) {
		pr_err("%s: line 1: cannot parse a signed number", what);
		return r;
	}
	r = expect_end(p, text, what);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

int proc_parse_comm(const char *text, const char *what, char ret_comm[PROC_COMM_MAX])
{
	size_t len = strlen(text);

	/* Only the last '\n' is the kernel's: the name itself may hold one. */
	if (len == 0 || text[len - 1] != '\n') {
		pr_err("%s: line %u: the name does not end with a newline", what,
		       proc_lineno(text, text + len));
		return -EINVAL;
	}
	len--;
	if (len >= PROC_COMM_MAX) {
		pr_err("%s: line 1: a name of %zu bytes, longer than the kernel's %d", what, len,
		       PROC_COMM_MAX - 1);
		return -EINVAL;
	}
	memcpy(ret_comm, text, len);
	ret_comm[len] = '\0';
	return 0;
}

int proc_read_comm(pid_t pid, pid_t tid, char ret_comm[PROC_COMM_MAX])
{
	char path[PROC_PATH_MAX], buf[PROC_COMM_MAX + 1];
	size_t len;
	int r;

	proc_path(path, pid, tid, "comm");
	r = proc_read_file_into(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return proc_parse_comm(buf, path, ret_comm);
}

/* A file holding one unsigned number, in base (0: 0x prefix allowed). */
static int read_u64_file(pid_t pid, const char *name, unsigned int base, uint64_t *ret)
{
	char path[PROC_PATH_MAX], buf[64];
	size_t len;
	int r;

	proc_path(path, pid, 0, name);
	r = proc_read_file_into(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return proc_parse_u64(buf, base, path, ret);
}

int proc_read_personality(pid_t pid, uint32_t *ret)
{
	uint64_t v;
	int r = read_u64_file(pid, "personality", 16, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX) {
		pr_err("/proc/%d/personality: line 1: %#llx is out of range", (int)pid,
		       (unsigned long long)v);
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

int proc_read_loginuid(pid_t pid, uint32_t *ret)
{
	uint64_t v;
	int r = read_u64_file(pid, "loginuid", 10, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX) {
		pr_err("/proc/%d/loginuid: line 1: %llu is out of range", (int)pid,
		       (unsigned long long)v);
		return -EINVAL;
	}
	*ret = (uint32_t)v;
	return 0;
}

int proc_read_timerslack_ns(pid_t pid, uint64_t *ret)
{
	return read_u64_file(pid, "timerslack_ns", 10, ret);
}

int proc_read_oom_score_adj(pid_t pid, int32_t *ret)
{
	char path[PROC_PATH_MAX], buf[64];
	size_t len;
	int64_t v;
	int r;

	proc_path(path, pid, 0, "oom_score_adj");
	r = proc_read_file_into(path, buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	r = proc_parse_s64(buf, path, &v);
	if (r < 0)
		return r;
	if (v < INT32_MIN || v > INT32_MAX) {
		pr_err("%s: line 1: %lld is out of range", path, (long long)v);
		return -EINVAL;
	}
	*ret = (int32_t)v;
	return 0;
}

int proc_readlink(pid_t pid, const char *name, char **ret_target)
{
	char path[PROC_PATH_MAX];
	/* d_path() of /proc links is bounded by a page, " (deleted)" included */
	char buf[PATH_MAX + 32];
	ssize_t n;
	char *s;

	proc_path(path, pid, 0, name);
	n = readlink(path, buf, sizeof(buf));
	if (n < 0)
		return proc_io_error(path, "readlink");
	if ((size_t)n >= sizeof(buf)) {
		pr_err("%s: link target longer than %zu bytes", path, sizeof(buf) - 1);
		return -ENAMETOOLONG;
	}
	s = strndup(buf, (size_t)n);
	if (!s)
		return -ENOMEM;
	*ret_target = s;
	return 0;
}
