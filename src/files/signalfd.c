/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * signalfd: its mask from fdinfo ("sigmask", 64 bits in hex, bit N-1 for
 * signal N). Made again with the raw system call, which takes every signal
 * (glibc's sigaddset() refuses the two it keeps for itself).
 */
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/anon.h"
#include "files/file.h"

int signalfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, SignalfdEntry *e)
{
	const char *mask = proc_fdinfo_get(fi, "sigmask");
	int r;

	if (!mask) {
		pr_err("%s: no sigmask line in its fdinfo", label);
		return -EBADMSG;
	}
	r = proc_parse_u64(mask, 16, label, &e->sigmask);
	if (r < 0)
		return r;
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	return 0;
}

int signalfd_make(const SignalfdEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	uint64_t mask = e->sigmask;
	int r;

	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask), SFD_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot create a signalfd for the signals %#llx: %s", label,
		       (unsigned long long)mask, strerror(-r));
		return r;
	}
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}
