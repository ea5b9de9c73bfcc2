/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Owners of open file descriptions (F_SETOWN_EX, F_SETSIG): a pipe in
 * O_ASYNC mode owned by this process, with signal SIGRTMIN+2; a unix socket
 * in O_ASYNC mode owned by its process group with SIGRTMIN+3, the owner set
 * as uid 1001, euid 1002; an inotify instance in O_ASYNC mode owned by its
 * thread, no signal chosen; a UDP socket owned by the process without
 * O_ASYNC (its owner would get SIGURG, were it TCP). After the restore: each owner, signal and uid pair as it was, a write into
 * the pipe signals SIGRTMIN+2 with the read end's fd, and data into the
 * socket signals nothing (the kernel does not let uid 1001/1002 signal
 * root).
 */
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif

#define OWNER_UID 1001
#define OWNER_EUID 1002

static int pipe_fds[2], socks[2], ify, udp;

static int pipe_sig(void)
{
	return SIGRTMIN + 2;
}

static int sock_sig(void)
{
	return SIGRTMIN + 3;
}

static void set_owner(int fd, int type, pid_t pid)
{
	struct f_owner_ex owner = {.type = type, .pid = pid};

	if (fcntl(fd, F_SETOWN_EX, &owner) < 0)
		zoo_setup_failed("F_SETOWN_EX on fd %d: %m", fd);
}

static void make_async(int fd, int sig)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETSIG, sig) < 0)
		zoo_setup_failed("O_ASYNC and F_SETSIG on fd %d: %m", fd);
}

/* F_SETOWN_EX as OWNER_UID, OWNER_EUID: this thread alone changes its ids for the call. */
static void set_owner_as_other(int fd, int type, pid_t pid)
{
	if (syscall(SYS_setresuid, OWNER_UID, OWNER_EUID, -1) < 0)
		zoo_setup_failed("setresuid: %m");
	set_owner(fd, type, pid);
	if (syscall(SYS_setresuid, 0, 0, -1) < 0)
		zoo_setup_failed("setresuid back to root: %m");
}

static void setup(void)
{
	sigset_t set;

	if (geteuid() != 0)
		zoo_skip("needs root (sets an owner as another uid)");
	sigemptyset(&set);
	sigaddset(&set, pipe_sig());
	sigaddset(&set, sock_sig());
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(pipe_fds) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, socks) < 0 ||
	    (ify = inotify_init1(IN_NONBLOCK)) < 0 || (udp = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		zoo_setup_failed("pipe, socketpair, inotify_init1, socket: %m");
	make_async(pipe_fds[0], pipe_sig());
	set_owner(pipe_fds[0], F_OWNER_PID, getpid());
	make_async(socks[0], sock_sig());
	set_owner_as_other(socks[0], F_OWNER_PGRP, getpgrp());
	if (fcntl(ify, F_SETFL, O_ASYNC | O_NONBLOCK) < 0)
		zoo_setup_failed("O_ASYNC on the inotify instance: %m");
	set_owner(ify, F_OWNER_TID, (pid_t)syscall(SYS_gettid));
	set_owner(udp, F_OWNER_PID, getpid());
}

static void check_owner(int fd, const char *what, int type, pid_t pid, int sig, uid_t uid,
			uid_t euid)
{
	struct f_owner_ex owner = {.pid = -1};
	uid_t uids[2] = {~0u, ~0u};
	int got_sig = fcntl(fd, F_GETSIG);

	if (fcntl(fd, F_GETOWN_EX, &owner) < 0 ||
	    syscall(SYS_fcntl, fd, F_GETOWNER_UIDS, uids) < 0) {
		zoo_fail("%s: F_GETOWN_EX, F_GETOWNER_UIDS: %m", what);
		return;
	}
	zoo_expect((int)owner.type == type && owner.pid == pid,
		   "%s: owner type %d pid %d, not type %d pid %d", what, owner.type, owner.pid,
		   type, pid);
	zoo_expect(got_sig == sig, "%s: signal %d, not %d", what, got_sig, sig);
	zoo_expect(uids[0] == uid && uids[1] == euid, "%s: owner set as uid %u euid %u, not %u %u",
		   what, uids[0], uids[1], uid, euid);
}

/* The signal sig, if it comes within ms milliseconds. */
static bool wait_signal(int sig, unsigned ms, siginfo_t *ret)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, ret, &ts) == sig;
}

static void check_signals(void)
{
	siginfo_t si = {0};

	zoo_expect(write(pipe_fds[1], "x", 1) == 1, "write into the pipe: %m");
	if (zoo_expect(wait_signal(pipe_sig(), 2000, &si), "no SIGRTMIN+2 after a write "
							   "into the pipe"))
		zoo_expect(si.si_fd == pipe_fds[0] && si.si_code == POLL_IN,
			   "the pipe's signal has fd %d code %d, not fd %d POLL_IN", si.si_fd,
			   si.si_code, pipe_fds[0]);
	zoo_expect(write(socks[1], "x", 1) == 1, "write into the socket: %m");
	zoo_expect(!wait_signal(sock_sig(), 200, &si),
		   "the socket signalled its owner, which uid %u euid %u may not signal", OWNER_UID,
		   OWNER_EUID);
}

static void check(void)
{
	check_owner(pipe_fds[0], "the pipe", F_OWNER_PID, getpid(), pipe_sig(), 0, 0);
	check_owner(socks[0], "the socket", F_OWNER_PGRP, getpgrp(), sock_sig(), OWNER_UID,
		    OWNER_EUID);
	check_owner(ify, "the inotify instance", F_OWNER_TID, (pid_t)syscall(SYS_gettid), 0, 0, 0);
	zoo_expect(fcntl(ify, F_GETFL) & O_ASYNC, "the inotify instance lost O_ASYNC");
	check_owner(udp, "the UDP socket", F_OWNER_PID, getpid(), 0, 0, 0);
	check_signals();
}

static void break_pipe_sig(void)
{
	fcntl(pipe_fds[0], F_SETSIG, sock_sig()); /* blocked too: SIGIO would kill it */
}

static void break_pipe_owner(void)
{
	fcntl(pipe_fds[0], F_SETOWN, 0);
}

static void break_sock_uids(void)
{
	set_owner(socks[0], F_OWNER_PGRP, getpgrp()); /* as root */
}

static void break_ify_owner(void)
{
	set_owner(ify, F_OWNER_PID, getpid());
}

static void break_udp_owner(void)
{
	fcntl(udp, F_SETOWN, 0);
}

static const struct zoo_break breaks[] = {
	{"the pipe's signal changed to SIGRTMIN+3", break_pipe_sig},
	{"the pipe's owner removed", break_pipe_owner},
	{"the socket's owner set again as root", break_sock_uids},
	{"the inotify instance owned by the process, not the thread", break_ify_owner},
	{"the UDP socket's owner removed", break_udp_owner},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
