/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internet sockets without a connection (inet.h): read on the task's own
 * description, made again by socket(), bind(), listen(), connect().
 */
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/file.h"
#include "files/inet.h"
#include "files/sock.h"

static int get_opt(int sk, int level, int opt, const char *name, const char *label, int *ret)
{
	socklen_t len = sizeof(*ret);
	int r;

	*ret = 0;
	if (getsockopt(sk, level, opt, ret, &len) == 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot read its option %s: %s", label, name, strerror(-r));
	return r;
}

static int set_opt(int sk, int level, int opt, const char *name, int v, const char *label)
{
	int r;

	if (setsockopt(sk, level, opt, &v, sizeof(v)) == 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot set its option %s to %d: %s", label, name, v, strerror(-r));
	return r;
}

static bool is_tcp(const InetSkEntry *e)
{
	return e->type == SOCK_STREAM && e->proto == IPPROTO_TCP;
}

static bool is_udp(const InetSkEntry *e)
{
	return e->type == SOCK_DGRAM && e->proto == IPPROTO_UDP;
}

/* "127.0.0.1:80", "[::1]:53" */
static const char *addr_text(const void *sa, char *buf, size_t size)
{
	const struct sockaddr_in *in = sa;
	const struct sockaddr_in6 *in6 = sa;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (in->sin_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return buf;
}

/* An address into the words of the entry (as CRIU: the raw network-order words) and a port. */
static int put_addr(struct arena *a, const struct sockaddr_storage *ss, uint32_t **ret_words,
		    size_t *ret_n, uint32_t *ret_port)
{
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;
	size_t n = ss->ss_family == AF_INET6 ? 4 : 1;
	uint32_t *w = arena_array(a, n, sizeof(*w));

	if (!w)
		return -ENOMEM;
	memcpy(w, n == 4 ? (const void *)&in6->sin6_addr : (const void *)&in->sin_addr,
	       n * sizeof(*w));
	*ret_port = ntohs(n == 4 ? in6->sin6_port : in->sin_port);
	*ret_words = w;
	*ret_n = n;
	return 0;
}

socklen_t inet_sk_addr(const InetSkEntry *e, bool dst, struct sockaddr_storage *ret)
{
	const uint32_t *w = dst ? e->dst_addr : e->src_addr;
	size_t n = dst ? e->n_dst_addr : e->n_src_addr;
	uint16_t port = htons((uint16_t)(dst ? e->dst_port : e->src_port));

	*ret = (struct sockaddr_storage){};
	if (e->family == AF_INET && n == 1) {
		struct sockaddr_in *in = (void *)ret;

		in->sin_family = AF_INET;
		in->sin_port = port;
		memcpy(&in->sin_addr, w, 4);
		return sizeof(*in);
	}
	if (e->family == AF_INET6 && n == 4) {
		struct sockaddr_in6 *in6 = (void *)ret;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		memcpy(&in6->sin6_addr, w, 16);
		return sizeof(*in6);
	}
	return 0;
}

/* Its state: TCP_INFO for TCP (a listener's backlog too), connected or not for UDP. */
static int read_state(int sk, const char *label, InetSkEntry *e)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct tcp_info ti = {};
	int r;

	if (is_udp(e)) {
		e->state = getpeername(sk, (struct sockaddr *)&peer, &len) == 0 ? TCP_ESTABLISHED
										: TCP_CLOSE;
		return 0;
	}
	len = sizeof(ti);
	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) {
		r = negative_errno();
		pr_err("%s: cannot read its TCP state: %s", label, strerror(-r));
		return r;
	}
	e->state = ti.tcpi_state;
	if (e->state == TCP_LISTEN && ti.tcpi_unacked) {
		/* A listener's tcpi_unacked is its accept queue, tcpi_sacked its backlog. */
		pr_err("%s: a listening TCP socket with %u connections not accepted yet; stasis "
		       "cannot checkpoint them: let the program accept them first",
		       label, ti.tcpi_unacked);
		return -ENOTSUP;
	}
	if (e->state == TCP_LISTEN)
		e->backlog = ti.tcpi_sacked;
	if (e->state != TCP_LISTEN && e->state != TCP_CLOSE) {
		pr_err("%s: a TCP connection (state %u); stasis cannot checkpoint established TCP "
		       "connections yet (criu's --tcp-established is not supported): close it in "
		       "the program before the checkpoint",
		       label, e->state);
		return -ENOTSUP;
	}
	return 0;
}

static int read_addrs(int sk, const char *label, struct arena *a, InetSkEntry *e)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(ss);
	int r;

	if (getsockname(sk, (struct sockaddr *)&ss, &len) < 0) {
		r = negative_errno();
		pr_err("%s: cannot read its address: %s", label, strerror(-r));
		return r;
	}
	r = put_addr(a, &ss, &e->src_addr, &e->n_src_addr, &e->src_port);
	if (r < 0 || e->state != TCP_ESTABLISHED)
		return r;
	len = sizeof(ss);
	if (getpeername(sk, (struct sockaddr *)&ss, &len) < 0) {
		r = negative_errno();
		pr_err("%s: cannot read its peer's address: %s", label, strerror(-r));
		return r;
	}
	return put_addr(a, &ss, &e->dst_addr, &e->n_dst_addr, &e->dst_port);
}

/* The options of an inet socket beyond those of every socket (sk_opts_read). */
static int read_inet_opts(int sk, const char *label, struct arena *a, InetSkEntry *e)
{
	SkOptsEntry *o = e->opts;
	struct linger lg = {};
	socklen_t len = sizeof(lg);
	char dev[IFNAMSIZ + 1] = "";
	int v, r;

	if (getsockopt(sk, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 && lg.l_onoff) {
		o->has_so_linger = true;
		o->so_linger = (uint32_t)lg.l_linger;
	}
	len = IFNAMSIZ;
	if (getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == 0 && len > 0 && dev[0]) {
		o->so_bound_dev = arena_strdup(a, dev);
		if (!o->so_bound_dev)
			return -ENOMEM;
	}
	r = get_opt(sk, SOL_IP, IP_FREEBIND, "IP_FREEBIND", label, &v);
	if (r == 0 && v) {
		e->ip_opts = ARENA_MSG(a, IpOptsEntry, IP_OPTS_ENTRY__INIT);
		if (!e->ip_opts)
			return -ENOMEM;
		e->ip_opts->has_freebind = true;
		e->ip_opts->freebind = true;
	}
	if (r == 0 && e->family == AF_INET6) {
		r = get_opt(sk, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", label, &v);
		e->has_v6only = true;
		e->v6only = v;
	}
	if (r == 0 && is_tcp(e)) {
		r = get_opt(sk, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", label, &v);
		e->has_tcp_nodelay = v;
		e->tcp_nodelay = v;
	}
	if (r == 0 && is_tcp(e) && o->has_so_keepalive) {
		int cnt, idle, intvl;

		r = get_opt(sk, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", label, &cnt);
		if (r == 0)
			r = get_opt(sk, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", label, &idle);
		if (r == 0)
			r = get_opt(sk, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", label, &intvl);
		o->has_tcp_keepcnt = o->has_tcp_keepidle = o->has_tcp_keepintvl = true;
		o->tcp_keepcnt = (uint32_t)cnt;
		o->tcp_keepidle = (uint32_t)idle;
		o->tcp_keepintvl = (uint32_t)intvl;
	}
	return r;
}

/* UDP_CORK: kept when nothing is held back; refused when data is (no way to read it). */
static int read_cork(int sk, const char *label, InetSkEntry *e)
{
	int cork, outq = 0, r;

	r = get_opt(sk, IPPROTO_UDP, UDP_CORK, "UDP_CORK", label, &cork);
	if (r < 0 || !cork)
		return r;
	if (ioctl(sk, SIOCOUTQ, &outq) == 0 && outq > 0) {
		pr_err("%s: UDP_CORK is set and %d bytes are held back in it; the kernel gives no "
		       "way to read them: let the program send them (clear UDP_CORK) before the "
		       "checkpoint",
		       label, outq);
		return -ENOTSUP;
	}
	e->has_udp_cork = true;
	e->udp_cork = true;
	return 0;
}

int inet_sk_read(int sk, const char *label, struct arena *a, InetSkEntry *e, bool *ret_queued)
{
	int family, type, proto, r;

	r = get_opt(sk, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", label, &family);
	if (r == 0)
		r = get_opt(sk, SOL_SOCKET, SO_TYPE, "SO_TYPE", label, &type);
	if (r == 0)
		r = get_opt(sk, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL", label, &proto);
	if (r < 0)
		return r;
	e->family = (uint32_t)family;
	e->type = (uint32_t)type;
	e->proto = (uint32_t)proto;
	if ((family != AF_INET && family != AF_INET6) || (!is_tcp(e) && !is_udp(e))) {
		pr_err("%s: an internet socket of type %d, protocol %d; stasis dumps TCP and UDP "
		       "sockets only: close it in the program before the checkpoint",
		       label, type, proto);
		return -ENOTSUP;
	}
	r = read_state(sk, label, e);
	if (r == 0)
		r = read_addrs(sk, label, a, e);
	if (r == 0)
		r = sk_opts_read(sk, label, e->opts);
	if (r == 0)
		r = read_inet_opts(sk, label, a, e);
	if (r == 0 && is_udp(e))
		r = read_cork(sk, label, e);
	if (r < 0)
		return r;
	*ret_queued = is_udp(e);
	return 0;
}

/* What must be set before bind(): the options, IPV6_V6ONLY, IP_FREEBIND, the device. */
static int set_options(int fd, const InetSkEntry *e, const char *label)
{
	const SkOptsEntry *o = e->opts;
	int r = sk_opts_apply(fd, o, label);

	if (r == 0 && e->has_v6only)
		r = set_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", e->v6only, label);
	if (r == 0 && e->ip_opts && e->ip_opts->freebind)
		r = set_opt(fd, SOL_IP, IP_FREEBIND, "IP_FREEBIND", 1, label);
	if (r == 0 && e->has_tcp_nodelay && e->tcp_nodelay)
		r = set_opt(fd, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1, label);
	if (r == 0 && o->has_tcp_keepcnt)
		r = set_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", (int)o->tcp_keepcnt,
			    label);
	if (r == 0 && o->has_tcp_keepidle)
		r = set_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", (int)o->tcp_keepidle,
			    label);
	if (r == 0 && o->has_tcp_keepintvl)
		r = set_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", (int)o->tcp_keepintvl,
			    label);
	if (r == 0 && o->has_so_linger) {
		struct linger lg = {1, (int)o->so_linger};

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			r = negative_errno();
			pr_err("%s: cannot set SO_LINGER: %s", label, strerror(-r));
		}
	}
	if (r == 0 && o->so_bound_dev &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->so_bound_dev,
		       (socklen_t)strlen(o->so_bound_dev)) < 0) {
		r = negative_errno();
		pr_err("%s: cannot bind it to the device %s: %s", label, o->so_bound_dev,
		       strerror(-r));
	}
	return r;
}

/* Which states stasis makes again: unconnected TCP, a listener, UDP connected or not. */
static int check_makeable(const InetSkEntry *e, const char *label)
{
	if ((e->family != AF_INET && e->family != AF_INET6) || (!is_tcp(e) && !is_udp(e))) {
		pr_err("%s: an internet socket of family %u, type %u, protocol %u; stasis restores "
		       "TCP and UDP sockets only",
		       label, e->family, e->type, e->proto);
		return -EOPNOTSUPP;
	}
	if (e->state == TCP_CLOSE || e->state == TCP_LISTEN ||
	    (is_udp(e) && e->state == TCP_ESTABLISHED))
		return 0;
	pr_err("%s: a TCP connection (state %u); stasis cannot restore established TCP "
	       "connections yet (--tcp-established is not supported)",
	       label, e->state);
	return -EOPNOTSUPP;
}

/* bind(), listen(), connect(): SO_REUSEADDR on meanwhile (inet_sk_finish puts it back). */
static int place(int fd, const InetSkEntry *e, const char *label)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char text[INET6_ADDRSTRLEN + 16];
	int r;

	if (e->src_port) {
		len = inet_sk_addr(e, false, &ss);
		r = set_opt(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1, label);
		if (r == 0 && (!len || bind(fd, (struct sockaddr *)&ss, len) < 0)) {
			r = len ? negative_errno() : -EBADMSG;
			pr_err("%s: cannot bind it to %s: %s", label,
			       len ? addr_text(&ss, text, sizeof(text)) : "(no address)",
			       strerror(-r));
		}
		if (r < 0)
			return r;
	}
	if (e->state == TCP_LISTEN && listen(fd, (int)e->backlog) < 0) {
		r = negative_errno();
		pr_err("%s: cannot listen: %s", label, strerror(-r));
		return r;
	}
	if (e->state != TCP_ESTABLISHED)
		return 0;
	len = inet_sk_addr(e, true, &ss);
	if (!len || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		r = len ? negative_errno() : -EBADMSG;
		pr_err("%s: cannot connect it to %s: %s", label,
		       len ? addr_text(&ss, text, sizeof(text)) : "(no address)", strerror(-r));
		return r;
	}
	return 0;
}

int inet_sk_make(const InetSkEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = check_makeable(e, label);
	if (r < 0)
		return r;
	if (!e->opts) {
		pr_err("%s: its entry has no options", label);
		return -EBADMSG;
	}
	fd = socket((int)e->family, (int)e->type | SOCK_CLOEXEC, (int)e->proto);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot make a socket: %s", label, strerror(-r));
		return r;
	}
	r = set_options(fd, e, label);
	if (r == 0)
		r = place(fd, e, label);
	return r < 0 ? r : TAKE_FD(fd);
}

int inet_sk_finish(int fd, const InetSkEntry *e, const char *label)
{
	int r = 0;

	if (e->src_port && !(e->opts->has_reuseaddr && e->opts->reuseaddr))
		r = set_opt(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 0, label);
	if (r == 0 && e->has_udp_cork && e->udp_cork)
		r = set_opt(fd, IPPROTO_UDP, UDP_CORK, "UDP_CORK", 1, label);
	return r < 0 ? r : file_set_flags(fd, e->flags, label);
}

/* Where a datagram for the socket goes: its address, the loopback one if it is bound to any. */
static socklen_t requeue_to(const InetSkEntry *e, const struct sockaddr *from,
			    struct sockaddr_storage *ret)
{
	socklen_t len = inet_sk_addr(e, false, ret);
	struct sockaddr_in *in = (void *)ret;
	struct sockaddr_in6 *in6 = (void *)ret;
	const struct sockaddr_in6 *from6 = (const void *)from;

	if (len && in->sin_family == AF_INET && in->sin_addr.s_addr == htonl(INADDR_ANY))
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (len && in6->sin6_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
		/* A dual-stack socket that got it from an IPv4 sender: to 127.0.0.1 then. */
		if (from->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&from6->sin6_addr))
			inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
		else
			in6->sin6_addr = in6addr_loopback;
	}
	return len;
}

int inet_sk_requeue(const InetSkEntry *e, const void *data, size_t len, const void *from,
		    socklen_t fromlen, const char *label)
{
	const struct sockaddr *sa = from;
	_cleanup_close_ int tmp = -1;
	struct sockaddr_storage to;
	socklen_t tolen;
	char text[INET6_ADDRSTRLEN + 16];
	int r;

	if (fromlen < sizeof(struct sockaddr_in) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		pr_err("%s: a datagram queued in it has no sender address in sk-queues.img", label);
		return -EBADMSG;
	}
	tolen = requeue_to(e, sa, &to);
	if (!tolen) {
		pr_err("%s: datagrams were queued in it, but it has no address", label);
		return -EBADMSG;
	}
	tmp = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (tmp < 0)
		return negative_errno();
	r = set_opt(tmp, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", 1, label);
	if (r < 0)
		return r;
	if (bind(tmp, sa, fromlen) < 0) {
		r = negative_errno();
		pr_err("%s: a datagram queued in it came from %s, and stasis sends queued "
		       "datagrams "
		       "again from their sender's address, which cannot be bound here (%s): let "
		       "the program read its queue before the checkpoint, or free that address",
		       label, addr_text(sa, text, sizeof(text)), strerror(-r));
		return r;
	}
	return sk_send(tmp, data, len, &to, tolen, label);
}
