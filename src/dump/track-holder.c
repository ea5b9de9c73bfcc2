/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who holds the tracking between two commands (docs/predump.md): a small
 * process forked by `stasis pre-dump` when it is done. It listens on an
 * abstract unix socket named after the images directory (its device and
 * inode), and the next command that names that directory with
 * --prev-images-dir (or `pre-dump --cancel -D` it) connects, receives every
 * process's tracking (pid, start time, back end, and its userfaultfd with
 * SCM_RIGHTS if it has one), and the holder exits. It also exits once all
 * the tracked processes are gone. When the last reference to a userfaultfd
 * is closed the kernel unregisters it: the tasks keep nothing of it. A
 * process tracked with soft-dirty bits has no fd: the holder only vouches
 * that its bits were cleared at the end of the last round.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"

#define HOLDER_PIDFILE "stasis-track.pid"

/* What the holder sends per process, with its userfaultfd if any; pid 0 ends the list. */
struct holder_msg {
	int32_t pid;
	uint32_t kind; /* enum mem_track_kind */
	uint64_t starttime;
};

void dump_tracking_free(struct dump_tracking *trk)
{
	if (!trk)
		return;
	for (size_t i = 0; i < trk->n; i++) {
		mem_snapshot_free(trk->v[i]->snap); /* stops its thread before the uffd goes */
		mem_tracker_release(&trk->v[i]->tracker);
		free(trk->v[i]);
	}
	free(trk->v);
	free(trk);
}

int dump_tracking_new(struct dump_tracking **ret)
{
	struct dump_tracking *trk = calloc(1, sizeof(*trk));

	if (!trk)
		return -ENOMEM;
	*ret = trk;
	return 0;
}

int dump_tracking_add(struct dump_tracking *trk, pid_t pid, uint64_t starttime,
		      const struct mem_tracker *t, struct dump_track_entry **ret)
{
	struct mem_tracker held = *t;
	struct dump_track_entry *e, **v;

	if (trk->n == trk->cap) {
		size_t cap = trk->cap ? trk->cap * 2 : 8;

		v = reallocarray(trk->v, cap, sizeof(*v));
		if (!v) {
			mem_tracker_release(&held);
			return -ENOMEM;
		}
		trk->v = v;
		trk->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		mem_tracker_release(&held);
		return -ENOMEM;
	}
	*e = (struct dump_track_entry){.pid = pid, .starttime = starttime, .tracker = held};
	trk->v[trk->n++] = e;
	if (ret)
		*ret = e;
	return 0;
}

struct dump_track_entry *dump_tracking_find(struct dump_tracking *trk, pid_t pid,
					    uint64_t starttime)
{
	for (size_t i = 0; trk && i < trk->n; i++)
		if (trk->v[i]->pid == pid && trk->v[i]->starttime == starttime)
			return trk->v[i];
	return NULL;
}

/* The holder's address: "\0stasis-track-DEV-INO" of the images directory. */
static int holder_addr(int dirfd, struct sockaddr_un *ret, socklen_t *ret_len)
{
	struct stat st;
	int n;

	if (fstat(dirfd, &st) < 0)
		return negative_errno();
	*ret = (struct sockaddr_un){.sun_family = AF_UNIX};
	n = snprintf(ret->sun_path + 1, sizeof(ret->sun_path) - 1, "stasis-track-%llx-%llx",
		     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	return 0;
}

static int recv_one(int sk, struct holder_msg *m, int *ret_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;

	n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return negative_errno();
	if (n != sizeof(*m))
		return -EBADMSG;
	*ret_fd = -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

int dump_holder_take(int dirfd, const char *label, struct dump_tracking **ret_trk)
{
	_cleanup_(dump_tracking_freep) struct dump_tracking *trk = NULL;
	_cleanup_close_ int sk = -1;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	r = holder_addr(dirfd, &sa, &len);
	if (r < 0)
		return r;
	sk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return negative_errno();
	if (connect(sk, (struct sockaddr *)&sa, len) < 0) {
		r = negative_errno();
		return r == -ECONNREFUSED ? -ENOENT : r;
	}
	r = dump_tracking_new(&trk);
	if (r < 0)
		return r;
	if (send(sk, "T", 1, MSG_NOSIGNAL) != 1)
		return negative_errno();
	for (;;) {
		struct holder_msg m;
		int fd;

		r = recv_one(sk, &m, &fd);
		if (r < 0) {
			pr_err("the tracking holder of %s broke off: %s", label, strerror(-r));
			return r;
		}
		if (m.pid == 0)
			break;
		if ((m.kind == MEM_TRACK_UFFD_WP) != (fd >= 0) || m.kind > MEM_TRACK_SOFT_DIRTY) {
			safe_close(fd);
			return -EBADMSG;
		}
		r = dump_tracking_add(trk, m.pid, m.starttime,
				      &(struct mem_tracker){.kind = m.kind, .uffd = fd}, NULL);
		if (r < 0)
			return r;
	}
	/* The holder has handed everything over; remove its pid file. */
	(void)unlinkat(dirfd, HOLDER_PIDFILE, 0);
	pr_info("%s: took the tracking of %zu processes from its holder", label, trk->n);
	*ret_trk = TAKE_PTR(trk);
	return 0;
}

static int send_one(int sk, const struct holder_msg *m, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = {(void *)m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sk, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*m) ? 0 : -EIO;
}

/* Serve one client: everything is handed over, then the holder's work is done. */
static void serve(int lsk, const struct dump_tracking *trk)
{
	int sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
	const struct holder_msg end = {};
	char cmd;

	if (sk < 0)
		return;
	if (recv(sk, &cmd, 1, 0) != 1 || cmd != 'T') {
		close(sk);
		return;
	}
	for (size_t i = 0; i < trk->n; i++) {
		const struct dump_track_entry *e = trk->v[i];
		const struct holder_msg m = {e->pid, e->tracker.kind, e->starttime};

		if (send_one(sk, &m, e->tracker.uffd) < 0)
			_exit(1);
	}
	(void)send_one(sk, &end, -1);
	close(sk);
	_exit(0);
}

/* Keep only what the holder needs: the socket, the userfaultfds, the pidfds (-1s ignored). */
static void close_others(const int *keep, size_t n)
{
	for (int fd = 3; fd < 65536; fd++) {
		bool kept = false;

		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

/* pfd: the socket, then a pidfd per process of trk (-1: gone already), opened before fork. */
static void holder_main(struct pollfd *pfd, const struct dump_tracking *trk)
{
	_cleanup_free_ int *keep = calloc(2 * trk->n + 1, sizeof(int));
	int lsk = pfd[0].fd;
	size_t nkeep = 0;
	int devnull;

	if (!keep)
		_exit(1);
	setsid();
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3 && devnull >= 0; fd++)
		dup2(devnull, fd);
	keep[nkeep++] = lsk;
	for (size_t i = 0; i < trk->n; i++) {
		keep[nkeep++] = trk->v[i]->tracker.uffd;
		keep[nkeep++] = pfd[i + 1].fd;
	}
	close_others(keep, nkeep);
	for (;;) {
		size_t alive = 0;

		/* A process gone takes its tracking with it; when none is left, so does the holder.
		 */
		for (size_t i = 0; i < trk->n; i++) {
			if (pfd[i + 1].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP))) {
				close(pfd[i + 1].fd);
				pfd[i + 1].fd = -1;
			}
			alive += pfd[i + 1].fd >= 0;
		}
		if (!alive)
			_exit(0);
		if (poll(pfd, trk->n + 1, -1) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[0].revents & POLLIN)
			serve(lsk, trk);
	}
}

static void close_pidfds(struct pollfd *pfd, size_t n)
{
	for (size_t i = 1; i <= n; i++)
		safe_close(pfd[i].fd);
}

static int write_pidfile(int dirfd, pid_t pid)
{
	_cleanup_close_ int fd =
		openat(dirfd, HOLDER_PIDFILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[32];
	int n;

	if (fd < 0)
		return negative_errno();
	n = snprintf(buf, sizeof(buf), "%d\n", pid);
	return write(fd, buf, (size_t)n) == n ? 0 : -EIO;
}

int dump_holder_spawn(int dirfd, const char *label, const struct dump_tracking *trk)
{
	_cleanup_free_ struct pollfd *pfd = NULL;
	_cleanup_close_ int lsk = -1;
	struct sockaddr_un sa;
	socklen_t len;
	pid_t pid;
	int r;

	if (!trk->n)
		return 0;
	r = holder_addr(dirfd, &sa, &len);
	if (r < 0)
		return r;
	lsk = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lsk < 0)
		return negative_errno();
	if (bind(lsk, (struct sockaddr *)&sa, len) < 0 || listen(lsk, 4) < 0) {
		r = negative_errno();
		pr_err("%s: cannot set up the tracking holder's socket: %s%s", label, strerror(-r),
		       r == -EADDRINUSE ? " (a holder for it runs already: stasis pre-dump "
					  "--cancel -D it first)"
					: "");
		return r;
	}
	pfd = calloc(trk->n + 1, sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;
	/* While stasis knows the processes are there: a pid reused later is not watched. */
	pfd[0] = (struct pollfd){.fd = lsk, .events = POLLIN};
	for (size_t i = 0; i < trk->n; i++)
		pfd[i + 1] =
			(struct pollfd){.fd = sys_pidfd_open(trk->v[i]->pid, 0), .events = POLLIN};
	pid = fork();
	if (pid == 0)
		holder_main(pfd, trk); /* never returns */
	close_pidfds(pfd, trk->n);
	if (pid < 0)
		return negative_errno();
	r = write_pidfile(dirfd, pid);
	if (r < 0)
		pr_warn("%s: cannot write %s: %s", label, HOLDER_PIDFILE, strerror(-r));
	pr_info("%s: the tracking of %zu processes is held by pid %d until the next dump or "
		"pre-dump --cancel",
		label, trk->n, pid);
	return 0;
}
