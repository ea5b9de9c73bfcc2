/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * eventfd: its counter and flags from fdinfo ("eventfd-count" in hex,
 * "eventfd-semaphore" since Linux 6.5); made again with the counter written
 * in (eventfd() takes only 32 bits of it).
 */
#include <string.h>
#include <sys/eventfd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/anon.h"
#include "files/file.h"

int eventfd_from_fdinfo(const struct proc_fdinfo *fi, const char *label, EventfdFileEntry *e)
{
	const char *count = proc_fdinfo_get(fi, "eventfd-count");
	const char *sem = proc_fdinfo_get(fi, "eventfd-semaphore");
	int r;

	if (!count) {
		pr_err("%s: no eventfd-count line in its fdinfo", label);
		return -EBADMSG;
	}
	r = proc_parse_u64(count, 16, label, &e->counter);
	if (r < 0)
		return r;
	if (!sem)
		pr_warn("%s: this kernel does not tell whether it is a semaphore (EFD_SEMAPHORE); "
			"restored as a counter",
			label);
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	if (sem && streq(sem, "1"))
		e->flags |= EFD_SEMAPHORE;
	return 0;
}

int eventfd_make(const EventfdFileEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | (e->flags & EFD_SEMAPHORE));
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot create an eventfd: %s", label, strerror(-r));
		return r;
	}
	if (e->counter && write(fd, &e->counter, sizeof(e->counter)) != sizeof(e->counter)) {
		r = negative_errno();
		pr_err("%s: cannot set its counter to %llu: %s", label,
		       (unsigned long long)e->counter, strerror(-r));
		return r;
	}
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}
