/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Scanning helpers shared by the proc-*.c parsers. They never log: the
 * parser that calls them knows the file and the line, and logs.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline const char *proc_skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The '\n' ending the line at p, or its terminating NUL. */
static inline const char *proc_line_end(const char *p)
{
	return strchrnul(p, '\n');
}

/*
 * Digits in base 8, 10 or 16 (no prefix, no sign) at *pp; *pp is moved past
 * them. -EINVAL without a digit, -ERANGE on overflow.
 */
int proc_scan_u64(const char **pp, unsigned int base, uint64_t *ret);
/* An optional '-' then decimal digits. */
int proc_scan_s64(const char **pp, int64_t *ret);
/* The same, range-checked into 32 bits. */
int proc_scan_u32(const char **pp, unsigned int base, uint32_t *ret);
int proc_scan_s32(const char **pp, int32_t *ret);

/* Line number (from 1) of position p in text, for error messages. */
unsigned int proc_lineno(const char *text, const char *p);

/* The numeric names listed in the open /proc directory dirfd (pids, tids, fds), in its order. */
int proc_list_numeric(int dirfd, const char *path, int32_t **ret, size_t *ret_n);

/* The same one at a time, with getdents64 (no DIR allocation), from where fd's offset is. */
struct proc_dents {
	int fd;
	long len, off;
	char buf[8192] __attribute__((aligned(8)));
};
/* 1 and the next number in *ret, 0 at the end, or -errno (not logged). */
int proc_dents_next(struct proc_dents *it, int32_t *ret);

/* Log a failed open/read of path (quietly for a vanished task) and return -errno. */
int proc_io_error(const char *path, const char *op);
