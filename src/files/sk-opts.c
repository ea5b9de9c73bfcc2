/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The socket options kept for every socket (SkOptsEntry, as CRIU): buffer
 * sizes, timeouts and the boolean options that change what the program
 * sees. Buffer sizes are set again only when the program had set them
 * (SO_BUF_LOCK says so): a size the kernel chose, and tunes, stays the
 * kernel's.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/sock.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif
#define SOCK_SNDBUF_LOCK 1
#define SOCK_RCVBUF_LOCK 2

static int get_int(int fd, int opt, const char *name, const char *label, uint32_t *ret)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0) {
		int r = negative_errno();
		pr_err("%s: cannot read its option %s: %s", label, name, strerror(-r));
		return r;
	}
	*ret = (uint32_t)v;
	return 0;
}

static int get_time(int fd, int opt, const char *label, uint64_t *ret_sec, uint64_t *ret_usec)
{
	struct timeval tv = {};
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0) {
		int r = negative_errno();
		pr_err("%s: cannot read its timeouts: %s", label, strerror(-r));
		return r;
	}
	*ret_sec = (uint64_t)tv.tv_sec;
	*ret_usec = (uint64_t)tv.tv_usec;
	return 0;
}

/* The boolean (or small integer) options: their name, and where they go in the entry. */
/* Each is an int in the kernel, and 4 bytes in the entry (uint32 or protobuf_c_boolean). */
#define INT_OPT(opt, field)                                                                 \
	{                                                                                   \
		opt, #opt, offsetof(SkOptsEntry, has_##field), offsetof(SkOptsEntry, field) \
	}
static const struct {
	int opt;
	const char *name;
	size_t has, field;
} int_opts[] = {
	INT_OPT(SO_REUSEADDR, reuseaddr),    INT_OPT(SO_REUSEPORT, so_reuseport),
	INT_OPT(SO_PASSCRED, so_passcred),   INT_OPT(SO_PASSSEC, so_passsec),
	INT_OPT(SO_BROADCAST, so_broadcast), INT_OPT(SO_KEEPALIVE, so_keepalive),
	INT_OPT(SO_DONTROUTE, so_dontroute), INT_OPT(SO_OOBINLINE, so_oobinline),
	INT_OPT(SO_PRIORITY, so_priority),   INT_OPT(SO_RCVLOWAT, so_rcvlowat),
	INT_OPT(SO_MARK, so_mark),
};

int sk_opts_read(int fd, const char *label, SkOptsEntry *e)
{
	uint32_t lock = 0;
	int r;

	r = get_int(fd, SO_SNDBUF, "SO_SNDBUF", label, &e->so_sndbuf);
	if (r == 0)
		r = get_int(fd, SO_RCVBUF, "SO_RCVBUF", label, &e->so_rcvbuf);
	if (r == 0)
		r = get_time(fd, SO_SNDTIMEO, label, &e->so_snd_tmo_sec, &e->so_snd_tmo_usec);
	if (r == 0)
		r = get_time(fd, SO_RCVTIMEO, label, &e->so_rcv_tmo_sec, &e->so_rcv_tmo_usec);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(int_opts); i++) {
		int v = 0;
		socklen_t len = sizeof(v);

		if (getsockopt(fd, SOL_SOCKET, int_opts[i].opt, &v, &len) < 0) {
			/* One that does not apply to this family (SO_PASSCRED on TCP since 6.x). */
			if (errno == EOPNOTSUPP || errno == ENOPROTOOPT)
				continue;
			r = negative_errno();
			pr_err("%s: cannot read its option %s: %s", label, int_opts[i].name,
			       strerror(-r));
		}
		if (r < 0 || !v)
			continue;
		*(protobuf_c_boolean *)((char *)e + int_opts[i].has) = true;
		memcpy((char *)e + int_opts[i].field, &v, sizeof(v));
	}
	if (r == 0 && get_int(fd, SO_BUF_LOCK, "SO_BUF_LOCK", label, &lock) == 0 && lock) {
		e->has_so_buf_lock = true;
		e->so_buf_lock = lock;
	}
	return r;
}

static int set_opt(int fd, int opt, const char *name, const void *v, socklen_t len,
		   const char *label)
{
	int r;

	if (setsockopt(fd, SOL_SOCKET, opt, v, len) == 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot set its option %s: %s", label, name, strerror(-r));
	return r;
}

/* The kernel doubles what it is given: half the size read is what makes it again. */
static int set_buf(int fd, int force, int plain, const char *name, uint32_t size, const char *label)
{
	int v = (int)(size / 2);

	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) == 0)
		return 0;
	return set_opt(fd, plain, name, &v, sizeof(v), label);
}

int sk_opts_apply(int fd, const SkOptsEntry *e, const char *label)
{
	struct timeval snd = {(time_t)e->so_snd_tmo_sec, (suseconds_t)e->so_snd_tmo_usec};
	struct timeval rcv = {(time_t)e->so_rcv_tmo_sec, (suseconds_t)e->so_rcv_tmo_usec};
	uint32_t lock = e->has_so_buf_lock ? e->so_buf_lock : 0;
	int r = 0;

	if (lock & SOCK_SNDBUF_LOCK)
		r = set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, "SO_SNDBUF", e->so_sndbuf, label);
	if (r == 0 && (lock & SOCK_RCVBUF_LOCK))
		r = set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, "SO_RCVBUF", e->so_rcvbuf, label);
	if (r == 0 && (snd.tv_sec || snd.tv_usec))
		r = set_opt(fd, SO_SNDTIMEO, "SO_SNDTIMEO", &snd, sizeof(snd), label);
	if (r == 0 && (rcv.tv_sec || rcv.tv_usec))
		r = set_opt(fd, SO_RCVTIMEO, "SO_RCVTIMEO", &rcv, sizeof(rcv), label);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(int_opts); i++) {
		int v = 0;

		if (!*(const protobuf_c_boolean *)((const char *)e + int_opts[i].has))
			continue;
		memcpy(&v, (const char *)e + int_opts[i].field, sizeof(v));
		if (v)
			r = set_opt(fd, int_opts[i].opt, int_opts[i].name, &v, sizeof(v), label);
	}
	return r;
}
