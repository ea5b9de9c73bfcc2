/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * epoll: the watch list from fdinfo, one line per watch:
 *
 *   tfd:        4 events:       1c data:             1234  pos:0 ino:40e sdev:10
 *
 * (fd number, event mask with EPOLLET & co. in hex, the user's data in hex,
 * then the position, inode (hex) and device (kernel encoding, hex) of the
 * watched file). The kernel keys a watch by file and fd number, so a watch
 * is dumped by the fd number, after checking with kcmp(KCMP_EPOLL_TFD) that
 * this fd of the task is still the watched file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/kcmp.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/syscalls.h"
#include "files/anon.h"
#include "files/file.h"

static int parse_tfd(const char *v, const char *label, EventpollTfdEntry *t)
{
	uint64_t events, pos, ino, sdev;
	unsigned int tfd;
	int n = 0;

	if (sscanf(v, "%u%n", &tfd, &n) != 1 || proc_fdinfo_field(v + n, "events", 16, &events) ||
	    proc_fdinfo_field(v + n, "data", 16, &t->data) ||
	    proc_fdinfo_field(v + n, "pos", 10, &pos) ||
	    proc_fdinfo_field(v + n, "ino", 16, &ino) ||
	    proc_fdinfo_field(v + n, "sdev", 16, &sdev)) {
		pr_err("%s: cannot parse the watch \"tfd: %s\" of its fdinfo", label, v);
		return -EBADMSG;
	}
	t->tfd = tfd;
	t->events = (uint32_t)events;
	t->has_dev = t->has_inode = t->has_pos = true;
	t->dev = (uint32_t)sdev;
	t->inode = ino;
	t->pos = pos;
	return 0;
}

/* The watched file must be what fd tfd of the task is now (kcmp of the two files). */
static int check_target(pid_t pid, int epfd, const EventpollTfdEntry *t, const char *label)
{
	struct kcmp_epoll_slot slot = {.efd = (uint32_t)epfd, .tfd = t->tfd, .toff = 0};

	if (sys_kcmp(pid, pid, KCMP_EPOLL_TFD, t->tfd, (unsigned long)&slot) == 0)
		return 0;
	pr_err("%s: it watches fd %u, but the task closed that fd or put another file there "
	       "(the watched file is inode %#llx on device %#x); stasis restores a watch by "
	       "its fd number: keep the fd open while it is watched, or remove the watch "
	       "(EPOLL_CTL_DEL) before closing it",
	       label, t->tfd, (unsigned long long)t->inode, t->dev);
	return -ENOTSUP;
}

int epoll_from_fdinfo(pid_t pid, int fd, const struct proc_fdinfo *fi, struct arena *a,
		      const char *label, EventpollFileEntry *e)
{
	size_t n = 0;
	int r;

	for (size_t i = 0; i < fi->n_extra; i++)
		n += streq(fi->extra[i].key, "tfd");
	e->tfd = n ? arena_array(a, n, sizeof(*e->tfd)) : NULL;
	if (n && !e->tfd)
		return -ENOMEM;
	for (size_t i = 0; i < fi->n_extra; i++) {
		EventpollTfdEntry *t;

		if (!streq(fi->extra[i].key, "tfd"))
			continue;
		t = ARENA_MSG(a, EventpollTfdEntry, EVENTPOLL_TFD_ENTRY__INIT);
		if (!t)
			return -ENOMEM;
		r = parse_tfd(fi->extra[i].value, label, t);
		if (r == 0)
			r = check_target(pid, fd, t, label);
		if (r < 0)
			return r;
		e->tfd[e->n_tfd++] = t;
	}
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	return 0;
}

int epoll_make(const EventpollFileEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot create an epoll instance: %s", label, strerror(-r));
		return r;
	}
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}
