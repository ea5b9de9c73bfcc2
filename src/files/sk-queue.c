/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data queued in a socket, copied without taking it out, as CRIU does:
 * SO_PEEK_OFF set to 0 makes each recvmsg(MSG_PEEK) start where the last
 * one ended (a plain MSG_PEEK always starts at the head, and on a stream
 * gives at most what one call gives); the program's own peek offset is put
 * back afterwards. Each call returns one datagram, or a run of stream bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/sock.h"

/* The largest datagram a unix socket takes (its sndbuf can be forced higher: refused then). */
#define SK_PEEK_BUF (4u << 20)

void sk_queue_done(struct sk_queue *q)
{
	free(q->data);
	free(q->lens);
	free(q->from);
	free(q->fromlens);
	*q = (struct sk_queue){};
}

/* The sender of the packet just added, when the queue keeps them. */
static int queue_add_from(struct sk_queue *q, const struct sockaddr_storage *from,
			  socklen_t fromlen)
{
	struct sockaddr_storage *f = reallocarray(q->from, q->n, sizeof(*f));
	socklen_t *l;

	if (!f)
		return -ENOMEM;
	q->from = f;
	l = reallocarray(q->fromlens, q->n, sizeof(*l));
	if (!l)
		return -ENOMEM;
	q->fromlens = l;
	q->from[q->n - 1] = *from;
	q->fromlens[q->n - 1] = fromlen;
	return 0;
}

static int queue_add(struct sk_queue *q, const uint8_t *buf, size_t len)
{
	uint8_t *d = realloc(q->data, q->len + len + 1);
	uint32_t *l;

	if (!d)
		return -ENOMEM;
	q->data = d;
	l = reallocarray(q->lens, q->n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	q->lens = l;
	memcpy(q->data + q->len, buf, len);
	q->len += len;
	q->lens[q->n++] = (uint32_t)len;
	return 0;
}

/* File descriptors in flight: closed again here (peeking installed them in us), and refused. */
static int check_control(struct msghdr *mh, const char *label)
{
	bool rights = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		rights = true;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++)
			close(((int *)CMSG_DATA(c))[i]);
	}
	if (rights || (mh->msg_flags & MSG_CTRUNC)) {
		pr_err("%s: file descriptors are in flight in its queue (SCM_RIGHTS); stasis "
		       "cannot checkpoint them: let the program receive them before the checkpoint",
		       label);
		return -ENOTSUP;
	}
	return 0;
}

static int peek_all(int fd, int type, bool want_from, uint8_t *buf, const char *label,
		    struct sk_queue *q)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} control;

	for (;;) {
		struct sockaddr_storage from = {};
		struct iovec iov = {buf, SK_PEEK_BUF};
		struct msghdr mh = {.msg_name = want_from ? &from : NULL,
				    .msg_namelen = want_from ? sizeof(from) : 0,
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = &control,
				    .msg_controllen = sizeof(control)};
		ssize_t n =
			recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			r = negative_errno();
			pr_err("%s: cannot read its queue: %s", label, strerror(-r));
			return r;
		}
		r = check_control(&mh, label);
		if (r < 0)
			return r;
		/* A stream at its end; a datagram of no bytes the peek offset cannot step over. */
		if (n == 0 && type == SOCK_STREAM)
			return 0;
		if (n == 0) {
			pr_err("%s: a datagram of zero bytes is queued in it; stasis cannot copy "
			       "it "
			       "without taking it out: let the program read it first",
			       label);
			return -ENOTSUP;
		}
		if ((size_t)n > SK_PEEK_BUF || (mh.msg_flags & MSG_TRUNC)) {
			pr_err("%s: a datagram of %zd bytes is queued, more than stasis reads (%u)",
			       label, n, SK_PEEK_BUF);
			return -E2BIG;
		}
		r = queue_add(q, buf, (size_t)n);
		if (r == 0 && want_from)
			r = queue_add_from(q, &from, mh.msg_namelen);
		if (r < 0)
			return r;
	}
}

static int queue_peek(int fd, int type, bool want_from, const char *label, struct sk_queue *ret)
{
	_cleanup_free_ uint8_t *buf = malloc(SK_PEEK_BUF);
	struct sk_queue q = {};
	int off = -1, zero = 0, r;
	socklen_t len = sizeof(off);

	if (!buf)
		return -ENOMEM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, &len) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0) {
		r = negative_errno();
		pr_err("%s: cannot set a peek offset to read its queue: %s", label, strerror(-r));
		return r;
	}
	r = peek_all(fd, type, want_from, buf, label, &q);
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 && r == 0) {
		r = negative_errno();
		pr_err("%s: cannot put its peek offset back to %d: %s", label, off, strerror(-r));
	}
	if (r < 0) {
		sk_queue_done(&q);
		return r;
	}
	*ret = q;
	return 0;
}

int sk_queue_peek(int fd, int type, const char *label, struct sk_queue *ret)
{
	return queue_peek(fd, type, false, label, ret);
}

int sk_queue_peek_from(int fd, int type, const char *label, struct sk_queue *ret)
{
	return queue_peek(fd, type, true, label, ret);
}

int sk_send(int fd, const void *data, size_t len, const void *to, socklen_t tolen,
	    const char *label)
{
	size_t done = 0;

	/* A datagram goes whole; a stream may take it in pieces. */
	do {
		ssize_t n = sendto(fd, (const uint8_t *)data + done, len - done,
				   MSG_NOSIGNAL | MSG_DONTWAIT, to, to ? tolen : 0);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = negative_errno();
			pr_err("%s: cannot queue %zu bytes in it again: %s", label, len,
			       strerror(-r));
			return r;
		}
		done += (size_t)n;
	} while (done < len);
	return 0;
}
