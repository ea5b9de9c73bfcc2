/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unix sockets of every shape: socket pairs (stream, seqpacket, datagram)
 * with data queued in both directions, a stream pair shut down for writing
 * on one side, a listener bound to a file and one to an abstract name, a
 * connection accepted from the first (data both ways), a datagram server
 * bound to a file with a client connected to it and its datagrams queued;
 * SO_PASSCRED, a locked send buffer and O_NONBLOCK on some of them. After
 * the restore every byte must come out in order, with its packet
 * boundaries, and names, peers, options and shutdown state must hold.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zoo.h"

#define SNDBUF 65536

static int st[2], sp[2], dg[2], sh[2];
static int lst, abs_lst, acc, cli, dsrv, dcli;
static char lst_path[108], dsrv_path[108], abs_name[64];

static void pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type, 0, sv) < 0)
		zoo_setup_failed("socketpair: %m");
}

static void send_all(int fd, const char *const *msgs)
{
	for (; *msgs; msgs++)
		if (send(fd, *msgs, strlen(*msgs), 0) != (ssize_t)strlen(*msgs))
			zoo_setup_failed("send: %m");
}

static socklen_t addr_of(const char *name, bool abstract, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	strncpy(sa->sun_path + abstract, name, sizeof(sa->sun_path) - 2);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name));
}

static int bound(int type, const char *name, bool abstract)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(name, abstract, &sa);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		zoo_setup_failed("bind %s: %m", name);
	return fd;
}

static int connected(int type, const char *name, bool abstract)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(name, abstract, &sa);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, len) < 0)
		zoo_setup_failed("connect to %s: %m", name);
	return fd;
}

static const char *const st_ab[] = {"stream ", "a to b ", "in three", NULL};
static const char *const st_ba[] = {"b to a", NULL};
static const char *const sp_ab[] = {"packet one", "two", "packet three", NULL};
static const char *const dg_ab[] = {"dgram 1", "dgram 2", NULL};
static const char *const dg_ba[] = {"dgram back", NULL};
static const char *const acc_cs[] = {"from the client", NULL};
static const char *const acc_sc[] = {"from the server", NULL};
static const char *const dsrv_in[] = {"to the server 1", "to the server 2", NULL};

static void setup(void)
{
	int one = 1, buf = SNDBUF;

	signal(SIGPIPE, SIG_IGN);
	pair(SOCK_STREAM, st);
	send_all(st[0], st_ab);
	send_all(st[1], st_ba);
	pair(SOCK_SEQPACKET, sp);
	send_all(sp[0], sp_ab);
	if (setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) < 0)
		zoo_setup_failed("setsockopt: %m");
	pair(SOCK_DGRAM, dg);
	send_all(dg[0], dg_ab);
	send_all(dg[1], dg_ba);
	fcntl(dg[1], F_SETFL, O_NONBLOCK);
	pair(SOCK_STREAM, sh);
	send_all(sh[0], (const char *const[]){"bye", NULL});
	shutdown(sh[0], SHUT_WR);

	zoo_path(lst_path, sizeof(lst_path), "listen.sock");
	unlink(lst_path);
	lst = bound(SOCK_STREAM, lst_path, false);
	if (listen(lst, 7) < 0)
		zoo_setup_failed("listen: %m");
	cli = connected(SOCK_STREAM, lst_path, false);
	acc = accept(lst, NULL, NULL);
	if (acc < 0)
		zoo_setup_failed("accept: %m");
	send_all(cli, acc_cs);
	send_all(acc, acc_sc);

	snprintf(abs_name, sizeof(abs_name), "stasis-zoo-unix-%d", getpid());
	abs_lst = bound(SOCK_SEQPACKET, abs_name, true);
	if (listen(abs_lst, 3) < 0)
		zoo_setup_failed("listen: %m");

	zoo_path(dsrv_path, sizeof(dsrv_path), "dgram.sock");
	unlink(dsrv_path);
	dsrv = bound(SOCK_DGRAM, dsrv_path, false);
	dcli = connected(SOCK_DGRAM, dsrv_path, false);
	send_all(dcli, dsrv_in);
}

/* Every message of msgs, one receive each (packets) or all together (stream), then nothing. */
static void expect_queue(int fd, const char *const *msgs, bool stream, const char *what)
{
	char want[256] = "", got[256];
	ssize_t n;

	if (stream) {
		for (; *msgs; msgs++)
			strcat(want, *msgs);
		n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
		got[n > 0 ? n : 0] = '\0';
		zoo_expect(n == (ssize_t)strlen(want) && !memcmp(got, want, (size_t)n),
			   "%s: read '%s', not '%s'", what, got, want);
	} else {
		for (; *msgs; msgs++) {
			n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
			got[n > 0 ? n : 0] = '\0';
			if (!zoo_expect(n == (ssize_t)strlen(*msgs) && !strcmp(got, *msgs),
					"%s: packet '%s', not '%s'", what, got, *msgs))
				return;
		}
	}
	n = recv(fd, got, sizeof(got), MSG_DONTWAIT);
	zoo_expect(n < 0 && errno == EAGAIN, "%s: more data than was queued (%zd)", what, n);
}

static bool name_is(int fd, bool peer, const char *name, bool abstract, const char *what)
{
	struct sockaddr_un sa = {}, want;
	socklen_t len = sizeof(sa), wlen = addr_of(name, abstract, &want);
	int r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len)
		     : getsockname(fd, (struct sockaddr *)&sa, &len);

	/* A path comes back with its terminating NUL counted, an abstract name exactly. */
	bool same = abstract ? len == wlen && !memcmp(sa.sun_path, want.sun_path,
						      wlen - offsetof(struct sockaddr_un, sun_path))
			     : !strcmp(sa.sun_path, want.sun_path);

	return zoo_expect(r == 0 && same, "%s: %s is '%s%s', not '%s'", what,
			  peer ? "peer name" : "name", sa.sun_path[0] ? "" : "@",
			  sa.sun_path + !sa.sun_path[0], name);
}

static int opt(int fd, int o)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, SOL_SOCKET, o, &v, &len);
	return v;
}

static void check_pairs(void)
{
	char c, got[8];

	expect_queue(st[1], st_ab, true, "stream a to b");
	expect_queue(st[0], st_ba, true, "stream b to a");
	expect_queue(sp[1], sp_ab, false, "seqpacket");
	zoo_expect(opt(sp[1], SO_PASSCRED) == 1, "seqpacket: SO_PASSCRED lost");
	zoo_expect(opt(sp[0], SO_SNDBUF) == 2 * SNDBUF, "seqpacket: SO_SNDBUF %d, not %d",
		   opt(sp[0], SO_SNDBUF), 2 * SNDBUF);
	expect_queue(dg[1], dg_ab, false, "dgram pair a to b");
	expect_queue(dg[0], dg_ba, false, "dgram pair b to a");
	zoo_expect(fcntl(dg[1], F_GETFL) & O_NONBLOCK, "dgram pair: O_NONBLOCK lost");
	zoo_expect(send(st[0], "x", 1, 0) == 1 && recv(st[1], &c, 1, 0) == 1 && c == 'x',
		   "the stream pair does not carry data any more");
	zoo_expect(recv(sh[1], got, sizeof(got), MSG_DONTWAIT) == 3 && !memcmp(got, "bye", 3),
		   "shut down stream: its data is lost");
	zoo_expect(recv(sh[1], &c, 1, MSG_DONTWAIT) == 0, "shut down stream: no end of file");
	zoo_expect(send(sh[0], "x", 1, 0) < 0 && errno == EPIPE,
		   "shut down stream: its writer can still write");
}

static void check_named(void)
{
	int fd, a;

	if (name_is(lst, false, lst_path, false, "listener") &&
	    zoo_expect(opt(lst, SO_ACCEPTCONN) == 1, "listener: not listening")) {
		fd = connected(SOCK_STREAM, lst_path, false);
		a = accept(lst, NULL, NULL);
		zoo_expect(a >= 0 && send(fd, "hi", 2, 0) == 2, "listener: no new connection");
		close(fd);
		close(a);
	}
	expect_queue(acc, acc_cs, true, "accepted connection, client to server");
	expect_queue(cli, acc_sc, true, "accepted connection, server to client");
	name_is(abs_lst, false, abs_name, true, "abstract listener");
	zoo_expect(opt(abs_lst, SO_ACCEPTCONN) == 1, "abstract listener: not listening");
	name_is(dsrv, false, dsrv_path, false, "dgram server");
	name_is(dcli, true, dsrv_path, false, "dgram client");
	expect_queue(dsrv, dsrv_in, false, "dgram server");
	zoo_expect(send(dcli, "again", 5, 0) == 5, "dgram client: cannot send any more");
	expect_queue(dsrv, (const char *const[]){"again", NULL}, false, "dgram server, later");
}

static void break_read(void)
{
	char c;

	if (recv(st[1], &c, 1, 0) != 1)
		zoo_die("break: recv: %m");
}

static void break_dgram(void)
{
	char buf[64];

	if (recv(dsrv, buf, sizeof(buf), 0) < 0)
		zoo_die("break: recv: %m");
}

static void break_listener(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	dup2(fd, lst);
	close(fd);
}

static void break_passcred(void)
{
	int zero = 0;

	setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &zero, sizeof(zero));
}

static void break_packet(void)
{
	send(sp[0], "more", 4, 0);
}

static const struct zoo_break breaks[] = {
	{"a byte of the stream pair read", break_read},
	{"a datagram of the server read", break_dgram},
	{"the listener replaced by an unbound socket", break_listener},
	{"SO_PASSCRED turned off", break_passcred},
	{"one more seqpacket queued", break_packet},
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
	check_pairs();
	check_named();
	return zoo_verdict();
}
