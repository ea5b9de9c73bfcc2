/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* File locks: parsed from fdinfo, taken again (lock.h). */
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/lock.h"

int lock_parse(const char *value, FileLockEntry *ret, bool *ret_mandatory)
{
	static const struct {
		const char *name;
		uint32_t flag;
	} kinds[] = {
		{"POSIX", LOCK_KIND_POSIX}, {"FLOCK", LOCK_KIND_FLOCK}, {"OFDLCK", LOCK_KIND_OFD},
		{"LEASE", LOCK_KIND_LEASE}, {"DELEG", LOCK_KIND_LEASE},
	};
	char kind[16], mode[16], type[16], end[32];
	long long start;
	FileLockEntry e = FILE_LOCK_ENTRY__INIT;
	size_t i;

	if (sscanf(value, "%*d: %15s %15s %15s %*d %*s %lld %31s", kind, mode, type, &start, end) !=
		    5 ||
	    start < 0)
		return -EINVAL;
	for (i = 0; i < ELEMENTSOF(kinds) && !streq(kind, kinds[i].name); i++)
		;
	if (i == ELEMENTSOF(kinds))
		return -EINVAL;
	e.flag = kinds[i].flag;
	if (streq(type, "WRITE"))
		e.type = F_WRLCK;
	else if (streq(type, "READ"))
		e.type = F_RDLCK;
	else if (e.flag != LOCK_KIND_LEASE)
		return -EINVAL;
	e.start = start;
	if (!streq(end, "EOF")) {
		long long last;

		if (sscanf(end, "%lld", &last) != 1 || last < start)
			return -EINVAL;
		e.len = last - start + 1;
	}
	*ret = e;
	*ret_mandatory = !streq(mode, "ADVISORY");
	return 0;
}

const char *lock_kind_name(uint32_t flag)
{
	switch (flag) {
	case LOCK_KIND_POSIX:
		return "POSIX";
	case LOCK_KIND_FLOCK:
		return "flock";
	case LOCK_KIND_OFD:
		return "OFD";
	case LOCK_KIND_LEASE:
		return "lease";
	default:
		return "unknown";
	}
}

static struct flock lock_flock_of(const FileLockEntry *e)
{
	return (struct flock){
		.l_type = (short)e->type,
		.l_whence = SEEK_SET,
		.l_start = e->start,
		.l_len = e->len,
	};
}

int lock_take_on_description(int fd, const FileLockEntry *e, const char *label)
{
	struct flock fl = lock_flock_of(e);
	int r = 0;

	if (e->flag == LOCK_KIND_FLOCK)
		r = flock(fd, (e->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
	else if (e->flag == LOCK_KIND_OFD)
		r = fcntl(fd, F_OFD_SETLK, &fl);
	else
		r = -1, errno = EINVAL;
	if (r == 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot take its %s lock again (%s, bytes %lld+%lld): %s%s", label,
	       lock_kind_name(e->flag), e->type == F_WRLCK ? "write" : "read", (long long)e->start,
	       (long long)e->len, strerror(-r),
	       r == -EAGAIN || r == -EWOULDBLOCK ? "; another process holds a conflicting lock"
						 : "");
	return r;
}
