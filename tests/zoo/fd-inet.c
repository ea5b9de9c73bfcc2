/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internet sockets without a connection, on the loopback: TCP listeners on
 * IPv4 (SO_REUSEADDR, TCP_NODELAY, a backlog of 7, non-blocking and
 * close-on-exec) and IPv6 (IPV6_V6ONLY, keepalive with an idle time of 77
 * s), a TCP socket only bound, UDP sockets bound on IPv4 (a locked receive
 * buffer) and dual-stack IPv6 (SO_REUSEPORT), a UDP socket connected over
 * IPv6, and one with UDP_CORK set and nothing held back. Datagrams are
 * queued in three of them, one from an IPv4 sender to the dual-stack
 * socket. After the restore each has its address, peer, options and
 * datagrams (with their senders), the listeners accept connections and the
 * UDP sockets still talk.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zoo.h"

/* Fixed numbers: the restore makes them in this order (a datagram's sender after it). */
enum { UC6 = 10, UB4, UB6, US4, TL4, TL6, TB4, CORK, NFDS };

static struct sockaddr_storage names[NFDS];

static int sock_at(int fd, int family, int type)
{
	int s = socket(family, type, 0);

	if (s < 0 || dup3(s, fd, type & SOCK_CLOEXEC ? O_CLOEXEC : 0) != fd)
		zoo_setup_failed("socket: %m");
	close(s);
	return fd;
}

static void opt(int fd, int level, int name, int v)
{
	if (setsockopt(fd, level, name, &v, sizeof(v)) < 0)
		zoo_setup_failed("setsockopt %d/%d on fd %d: %m", level, name, fd);
}

static int get_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, level, name, &v, &len);
	return v;
}

static void remember(int fd)
{
	socklen_t len = sizeof(names[fd]);

	if (getsockname(fd, (struct sockaddr *)&names[fd], &len) < 0)
		zoo_setup_failed("getsockname fd %d: %m", fd);
}

static void bind_to(int fd, const char *ip)
{
	struct sockaddr_storage ss = {};
	socklen_t len;

	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &in6->sin6_addr);
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &in->sin_addr);
		len = sizeof(*in);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		zoo_setup_failed("bind fd %d to %s: %m", fd, ip);
	remember(fd);
}

/* The address of fd as a peer sees it: the loopback one for a socket bound to any. */
static struct sockaddr_storage reach(int fd)
{
	struct sockaddr_storage ss = names[fd];

	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	return ss;
}

static void send_to(int from, int to, const char *msg)
{
	struct sockaddr_storage ss = reach(to);

	if (names[from].ss_family == AF_INET && ss.ss_family == AF_INET6) {
		/* To a dual-stack socket over IPv4. */
		struct sockaddr_in in = {.sin_family = AF_INET,
					 .sin_port = ((struct sockaddr_in6 *)&ss)->sin6_port,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

		memcpy(&ss, &in, sizeof(in));
	}

	if (sendto(from, msg, strlen(msg), 0, (struct sockaddr *)&ss, sizeof(ss)) < 0)
		zoo_setup_failed("sendto from fd %d to fd %d: %m", from, to);
}

static void setup(void)
{
	struct sockaddr_storage ss;

	bind_to(sock_at(UB4, AF_INET, SOCK_DGRAM), "127.0.0.1");
	opt(UB4, SOL_SOCKET, SO_RCVBUF, 65536);
	sock_at(UB6, AF_INET6, SOCK_DGRAM);
	opt(UB6, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	opt(UB6, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(UB6, "::");
	sock_at(UC6, AF_INET6, SOCK_DGRAM);
	ss = reach(UB6);
	if (connect(UC6, (struct sockaddr *)&ss, sizeof(ss)) < 0)
		zoo_setup_failed("connect: %m");
	remember(UC6);
	bind_to(sock_at(US4, AF_INET, SOCK_DGRAM), "127.0.0.1");
	send_to(US4, UB4, "first to ub4");
	send_to(US4, UB4, "second to ub4");
	send_to(US4, UB6, "v4 to dual-stack");
	send_to(UB6, UC6, "to the connected one");

	sock_at(TL4, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	opt(TL4, SOL_SOCKET, SO_REUSEADDR, 1);
	opt(TL4, IPPROTO_TCP, TCP_NODELAY, 1);
	bind_to(TL4, "127.0.0.1");
	sock_at(TL6, AF_INET6, SOCK_STREAM);
	opt(TL6, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	opt(TL6, SOL_SOCKET, SO_KEEPALIVE, 1);
	opt(TL6, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	bind_to(TL6, "::1");
	if (listen(TL4, 7) < 0 || listen(TL6, 3) < 0)
		zoo_setup_failed("listen: %m");
	bind_to(sock_at(TB4, AF_INET, SOCK_STREAM), "127.0.0.1");
	sock_at(CORK, AF_INET, SOCK_DGRAM);
	opt(CORK, IPPROTO_UDP, UDP_CORK, 1);
}

static bool same_name(int fd, const char *what)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &len);
	return zoo_expect(memcmp(&ss, &names[fd], len) == 0, "%s: its address changed", what);
}

/* The next datagram of fd: msg, from the address of fd `from`. */
static void expect_dgram(int fd, const char *msg, int from, const char *what)
{
	struct sockaddr_storage src = {}, want = names[from];
	socklen_t len = sizeof(src);
	char buf[64] = "";
	ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&src, &len);

	if (!zoo_expect(n >= 0 && strcmp(buf, msg) == 0, "%s: read '%s' (%zd), not '%s'", what, buf,
			n, msg))
		return;
	if (src.ss_family == AF_INET6 && want.ss_family == AF_INET) {
		/* A dual-stack socket sees an IPv4 sender as ::ffff:a.b.c.d. */
		struct sockaddr_in6 *s6 = (void *)&src;
		struct sockaddr_in *w = (void *)&want;

		zoo_expect(IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_port == w->sin_port &&
				   memcmp(&s6->sin6_addr.s6_addr[12], &w->sin_addr, 4) == 0,
			   "%s: '%s' came from another sender", what, msg);
		return;
	}
	if (want.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&want)->sin6_addr =
			((struct sockaddr_in6 *)&src)->sin6_addr;
	zoo_expect(memcmp(&src, &want, len) == 0, "%s: '%s' came from another sender", what, msg);
}

static void expect_empty(int fd, const char *what)
{
	char buf[64];

	zoo_expect(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
		   "%s: more datagrams are queued than were", what);
}

static void check_udp(void)
{
	struct sockaddr_storage peer = {}, want = reach(UB6);
	socklen_t len = sizeof(peer);

	for (int fd = UC6; fd < NFDS; fd++)
		if (fd != CORK)
			same_name(fd, "a socket");
	zoo_expect(getpeername(UC6, (struct sockaddr *)&peer, &len) == 0 &&
			   memcmp(&peer, &want, len) == 0,
		   "the connected UDP socket has another peer");
	expect_dgram(UB4, "first to ub4", US4, "UDP on IPv4");
	expect_dgram(UB4, "second to ub4", US4, "UDP on IPv4");
	expect_empty(UB4, "UDP on IPv4");
	zoo_expect(get_opt(UB4, SOL_SOCKET, SO_RCVBUF) == 2 * 65536, "UDP on IPv4: SO_RCVBUF is %d",
		   get_opt(UB4, SOL_SOCKET, SO_RCVBUF));
	expect_dgram(UB6, "v4 to dual-stack", US4, "dual-stack UDP");
	expect_empty(UB6, "dual-stack UDP");
	zoo_expect(get_opt(UB6, IPPROTO_IPV6, IPV6_V6ONLY) == 0 &&
			   get_opt(UB6, SOL_SOCKET, SO_REUSEPORT) == 1,
		   "dual-stack UDP: v6only %d, reuseport %d",
		   get_opt(UB6, IPPROTO_IPV6, IPV6_V6ONLY), get_opt(UB6, SOL_SOCKET, SO_REUSEPORT));
	expect_dgram(UC6, "to the connected one", UB6, "connected UDP");
	expect_empty(UC6, "connected UDP");
	zoo_expect(get_opt(CORK, IPPROTO_UDP, UDP_CORK) == 1, "UDP_CORK is off");
	/* They still talk. */
	send_to(US4, UB4, "after");
	zoo_sleep_ms(10);
	expect_dgram(UB4, "after", US4, "UDP on IPv4 after the restore");
}

/* A connection to listener l is accepted; the accepted socket inherits TCP_NODELAY. */
static void check_accepts(int l, int family, int nodelay, const char *what)
{
	struct sockaddr_storage ss = names[l];
	int c = socket(family, SOCK_STREAM, 0), a = -1;

	if (connect(c, (struct sockaddr *)&ss, sizeof(ss)) == 0) {
		for (int i = 0; i < 100 && a < 0; i++, zoo_sleep_ms(i ? 10 : 0))
			a = accept(l, NULL, NULL);
	}
	if (zoo_expect(a >= 0, "%s: does not accept a connection: %m", what))
		zoo_expect(get_opt(a, IPPROTO_TCP, TCP_NODELAY) == nodelay,
			   "%s: the accepted connection has TCP_NODELAY %d", what,
			   get_opt(a, IPPROTO_TCP, TCP_NODELAY));
	close(a);
	close(c);
}

static void check_tcp(void)
{
	zoo_expect(get_opt(TL4, SOL_SOCKET, SO_ACCEPTCONN) == 1 &&
			   get_opt(TL6, SOL_SOCKET, SO_ACCEPTCONN) == 1 &&
			   get_opt(TB4, SOL_SOCKET, SO_ACCEPTCONN) == 0,
		   "listening: %d %d %d, not 1 1 0", get_opt(TL4, SOL_SOCKET, SO_ACCEPTCONN),
		   get_opt(TL6, SOL_SOCKET, SO_ACCEPTCONN),
		   get_opt(TB4, SOL_SOCKET, SO_ACCEPTCONN));
	zoo_expect(get_opt(TL4, SOL_SOCKET, SO_REUSEADDR) == 1 &&
			   get_opt(TL4, IPPROTO_TCP, TCP_NODELAY) == 1 &&
			   fcntl(TL4, F_GETFL) & O_NONBLOCK && fcntl(TL4, F_GETFD) == FD_CLOEXEC,
		   "the IPv4 listener: reuseaddr %d nodelay %d flags %#x fd flags %d",
		   get_opt(TL4, SOL_SOCKET, SO_REUSEADDR), get_opt(TL4, IPPROTO_TCP, TCP_NODELAY),
		   fcntl(TL4, F_GETFL), fcntl(TL4, F_GETFD));
	zoo_expect(get_opt(TL6, IPPROTO_IPV6, IPV6_V6ONLY) == 1 &&
			   get_opt(TL6, SOL_SOCKET, SO_KEEPALIVE) == 1 &&
			   get_opt(TL6, IPPROTO_TCP, TCP_KEEPIDLE) == 77 &&
			   get_opt(TL6, SOL_SOCKET, SO_REUSEADDR) == 0 &&
			   !(fcntl(TL6, F_GETFL) & O_NONBLOCK),
		   "the IPv6 listener: v6only %d keepalive %d idle %d reuseaddr %d",
		   get_opt(TL6, IPPROTO_IPV6, IPV6_V6ONLY), get_opt(TL6, SOL_SOCKET, SO_KEEPALIVE),
		   get_opt(TL6, IPPROTO_TCP, TCP_KEEPIDLE), get_opt(TL6, SOL_SOCKET, SO_REUSEADDR));
	check_accepts(TL4, AF_INET, 1, "the IPv4 listener");
	fcntl(TL6, F_SETFL, O_NONBLOCK);
	check_accepts(TL6, AF_INET6, 0, "the IPv6 listener");
}

static void break_read(void)
{
	char buf[64];

	if (recv(UB4, buf, sizeof(buf), 0) < 0)
		zoo_die("break: recv: %m");
}

static void break_relisten(void)
{
	close(TL4);
	bind_to(sock_at(TL4, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC), "127.0.0.1");
}

static void break_nodelay(void)
{
	opt(TL4, IPPROTO_TCP, TCP_NODELAY, 0);
}

static void break_cork(void)
{
	opt(CORK, IPPROTO_UDP, UDP_CORK, 0);
}

static void break_extra(void)
{
	send_to(UB6, UC6, "one more");
}

static const struct zoo_break breaks[] = {
	{"a datagram read out of the IPv4 UDP socket", break_read},
	{"the IPv4 listener replaced by a socket only bound", break_relisten},
	{"TCP_NODELAY cleared on the IPv4 listener", break_nodelay},
	{"UDP_CORK cleared", break_cork},
	{"one more datagram sent to the connected UDP socket", break_extra},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_udp();
	check_tcp();
	return zoo_verdict();
}
