/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Number scanning for the /proc parsers: no locale, no errno, no
 * allocation, and strict (a sign where none is allowed is an error, unlike
 * strtoull).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/proc-internal.h"

static int digit_value(char c, unsigned int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return (unsigned int)v < base ? v : -1;
}

int proc_scan_u64(const char **pp, unsigned int base, uint64_t *ret)
{
	const char *p = *pp;
	uint64_t v = 0;
	int d;

	if (digit_value(*p, base) < 0)
		return -EINVAL;
	while ((d = digit_value(*p, base)) >= 0) {
		if (__builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, (unsigned int)d, &v))
			return -ERANGE;
		p++;
	}
	*pp = p;
	*ret = v;
	return 0;
}

int proc_scan_s64(const char **pp, int64_t *ret)
{
	const char *p = *pp;
	bool neg = *p == '-';
	uint64_t v;
	int r;

	if (neg)
		p++;
	r = proc_scan_u64(&p, 10, &v);
	if (r < 0)
		return r;
	if (v > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*pp = p;
	/* -(INT64_MIN) does not fit: negate in unsigned arithmetic */
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int proc_scan_u32(const char **pp, unsigned int base, uint32_t *ret)
{
	const char *p = *pp;
	uint64_t v;
	int r = proc_scan_u64(&p, base, &v);

	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -ERANGE;
	*pp = p;
	*ret = (uint32_t)v;
	return 0;
}

int proc_scan_s32(const char **pp, int32_t *ret)
{
	const char *p = *pp;
	int64_t v;
	int r = proc_scan_s64(&p, &v);

	if (r < 0)
		return r;
	if (v < INT32_MIN || v > INT32_MAX)
		return -ERANGE;
	*pp = p;
	*ret = (int32_t)v;
	return 0;
}

unsigned int proc_lineno(const char *text, const char *p)
{
	unsigned int n = 1;

	for (; text < p; text++)
		n += *text == '\n';
	return n;
}
