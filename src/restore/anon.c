/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * eventfd, timerfd, signalfd, epoll, inotify and fanotify (files/anon.h). The
 * controller makes each open file description before the task exists, and
 * the task inherits it like its other files (files.c). Two things need the
 * task's own fd numbers and wait until the task is rebuilt
 * (rst_files_late): the watches of an epoll, which the kernel keys by file
 * and fd number, and arming a timerfd, done last so that the restore does
 * not eat into its remaining time.
 */
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/timerfd.h>

#include "files/anon.h"
#include "restore/internal.h"

static int make(const FileEntry *f, const char *label)
{
	switch (f->type) {
	case FD_TYPES__EVENTFD:
		return f->efd ? eventfd_make(f->efd, label) : -EBADMSG;
	case FD_TYPES__TIMERFD:
		return f->tfd ? timerfd_make(f->tfd, label) : -EBADMSG;
	case FD_TYPES__SIGNALFD:
		return f->sgfd ? signalfd_make(f->sgfd, label) : -EBADMSG;
	case FD_TYPES__EVENTPOLL:
		return f->epfd ? epoll_make(f->epfd, label) : -EBADMSG;
	case FD_TYPES__INOTIFY:
		return f->ify ? inotify_make(f->ify, label) : -EBADMSG;
	case FD_TYPES__FANOTIFY:
		return f->ffy ? fanotify_make(f->ffy, label) : -EBADMSG;
	default:
		return -EOPNOTSUPP;
	}
}

bool rst_anon_type(int type)
{
	return type == FD_TYPES__EVENTFD || type == FD_TYPES__TIMERFD ||
	       type == FD_TYPES__SIGNALFD || type == FD_TYPES__EVENTPOLL ||
	       type == FD_TYPES__INOTIFY || type == FD_TYPES__FANOTIFY;
}

int rst_anon_open(struct rst_ctx *c, const FdinfoEntry *fe, const char *what)
{
	const FileEntry *f = rst_file_entry(&c->img, fe->id);
	char label[96];
	int fd;

	if (!f || (int)f->type != (int)fe->type) {
		rst_err(c, "%s: file %u is not in files.img, or of another kind", what, fe->id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s (%s)", (int)c->pid, what,
		 protobuf_c_enum_descriptor_get_value(&fd_types__descriptor, (int)f->type)->name);
	fd = make(f, label);
	if (fd == -EBADMSG)
		rst_err(c, "%s: file %u of type %d lacks its entry", what, fe->id, (int)f->type);
	return fd < 0 ? fd : rst_fd_move_up(c, fd, label);
}

static int add_watches(struct rst_ctx *c, uint32_t fd, const EventpollFileEntry *ep)
{
	for (size_t i = 0; i < ep->n_tfd; i++) {
		const EventpollTfdEntry *t = ep->tfd[i];
		struct epoll_event ev = {.events = t->events, .data.u64 = t->data};
		unsigned long addr;
		long res;
		int r;

		r = rst_scratch_put(c, 0, &ev, sizeof(ev), &addr);
		if (r < 0)
			return r;
		res = rst_sys(c, SYS_epoll_ctl, fd, EPOLL_CTL_ADD, t->tfd, addr);
		if (res < 0) {
			rst_err(c, "fd %u (epoll): cannot watch fd %u for events %#x: %s", fd,
				t->tfd, t->events, strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

static int arm_timer(struct rst_ctx *c, uint32_t fd, const TimerfdEntry *t)
{
	struct itimerspec value;
	unsigned long addr;
	char label[64];
	int flags, r;
	long res;

	snprintf(label, sizeof(label), "restore: pid %d: fd %u (timerfd)", (int)c->pid, fd);
	r = timerfd_arm_value(t, label, &flags, &value);
	if (r == 0)
		r = rst_scratch_put(c, 0, &value, sizeof(value), &addr);
	if (r < 0)
		return r;
	res = rst_sys(c, SYS_timerfd_settime, fd, (unsigned long)flags, addr, 0);
	if (res == 0 && t->ticks) {
		r = rst_scratch_put(c, 0, &t->ticks, sizeof(t->ticks), &addr);
		if (r < 0)
			return r;
		res = rst_sys(c, SYS_ioctl, fd, TFD_IOC_SET_TICKS, addr);
	}
	if (res < 0)
		rst_err(c, "fd %u (timerfd): cannot arm it (%llu expirations not read): %s", fd,
			(unsigned long long)t->ticks, strerror((int)-res));
	return res < 0 ? (int)res : 0;
}

bool rst_fd_seen_before(const struct rst_images *img, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (img->fds[j]->id == img->fds[i]->id)
			return true;
	return false;
}

int rst_files_late(struct rst_ctx *c)
{
	for (size_t i = 0; i < c->img.nfds; i++) {
		const FdinfoEntry *fe = c->img.fds[i];
		const FileEntry *f;
		int r = 0;

		/* Only these have late work (and rst_fd_seen_before() is a search one by one). */
		if ((fe->type != FD_TYPES__EVENTPOLL && fe->type != FD_TYPES__TIMERFD) ||
		    rst_fd_seen_before(&c->img, i))
			continue;
		f = rst_file_entry(&c->img, fe->id);
		if (f->type == FD_TYPES__EVENTPOLL)
			r = add_watches(c, fe->fd, f->epfd);
		else if (f->type == FD_TYPES__TIMERFD)
			r = arm_timer(c, fe->fd, f->tfd);
		if (r < 0)
			return r;
	}
	return 0;
}
