/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An epoll watching four fds of its own process: the read end of a pipe
 * holding data (EPOLLIN | EPOLLET), its write end (EPOLLOUT | EPOLLONESHOT),
 * an empty eventfd (EPOLLIN) and a disarmed timerfd (EPOLLIN), each with
 * its data. After the restore: the watch list as it was (fdinfo), the ready
 * events are the pipe's two and only them, edge-triggered and one-shot act
 * as such, the eventfd is reported once written, and a watch can be removed
 * by its fd number (the kernel keys watches by fd number).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "zoo.h"

enum { W_PIPE_IN, W_PIPE_OUT, W_EVENT, W_TIMER, N_WATCHES };

static int ep, pipe_ends[2], efd, tfd;

static const struct {
	uint32_t events;
	uint64_t data;
} watches[N_WATCHES] = {
	[W_PIPE_IN] = {EPOLLIN | EPOLLET, 0x1111000000000001ULL},
	[W_PIPE_OUT] = {EPOLLOUT | EPOLLONESHOT, 0x4444},
	[W_EVENT] = {EPOLLIN, 0x2222},
	[W_TIMER] = {EPOLLIN | EPOLLPRI, 0x3333},
};

static int watch_fd(int w)
{
	const int fds[N_WATCHES] = {pipe_ends[0], pipe_ends[1], efd, tfd};

	return fds[w];
}

static void setup(void)
{
	if (pipe2(pipe_ends, O_NONBLOCK) || write(pipe_ends[1], "data", 4) != 4)
		zoo_setup_failed("pipe: %m");
	efd = eventfd(0, EFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0 || tfd < 0 || ep < 0)
		zoo_setup_failed("eventfd, timerfd or epoll: %m");
	for (int w = 0; w < N_WATCHES; w++) {
		struct epoll_event ev = {.events = watches[w].events, .data.u64 = watches[w].data};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, watch_fd(w), &ev))
			zoo_setup_failed("epoll_ctl(ADD %d): %m", watch_fd(w));
	}
}

/* The fdinfo line of a watch, as the kernel prints it (it adds EPOLLERR | EPOLLHUP). */
static void check_listed(const char *info, int w)
{
	char line[128];

	snprintf(line, sizeof(line), "tfd: %8d events: %8x data: %16llx", watch_fd(w),
		 watches[w].events | EPOLLERR | EPOLLHUP, (unsigned long long)watches[w].data);
	zoo_expect(strstr(info, line), "the epoll's fdinfo lacks \"%s\"", line);
}

static void check_list(void)
{
	char info[2048];
	int n = 0;

	if (!zoo_expect(zoo_fdinfo(ep, info, sizeof(info)), "cannot read the epoll's fdinfo"))
		return;
	for (int w = 0; w < N_WATCHES; w++)
		check_listed(info, w);
	for (const char *p = info; (p = strstr(p, "tfd:")); p++)
		n++;
	zoo_expect(n == N_WATCHES, "the epoll has %d watches, not %d", n, N_WATCHES);
	zoo_expect(fcntl(ep, F_GETFD) & FD_CLOEXEC, "the epoll is not close-on-exec");
}

/* The data of the ready events, as a bit set of watches; -1 for an unknown one. */
static int ready(void)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, 0), set = 0;

	for (int i = 0; i < n; i++) {
		int w = 0;

		while (w < N_WATCHES && watches[w].data != ev[i].data.u64)
			w++;
		if (w == N_WATCHES)
			return -1;
		set |= 1 << w;
	}
	return set;
}

static void check_events(void)
{
	uint64_t one = 1;
	int r;

	r = ready();
	zoo_expect(r == (1 << W_PIPE_IN | 1 << W_PIPE_OUT),
		   "ready: %#x, not the pipe's read and write ends (%#x)", r,
		   1 << W_PIPE_IN | 1 << W_PIPE_OUT);
	r = ready();
	zoo_expect(r == 0, "ready again without news: %#x (edge-triggered, one-shot)", r);
	zoo_expect(write(efd, &one, sizeof(one)) == sizeof(one), "write to the eventfd: %m");
	r = ready();
	zoo_expect(r == 1 << W_EVENT, "ready after the eventfd was written: %#x, not %#x", r,
		   1 << W_EVENT);
	zoo_expect(epoll_ctl(ep, EPOLL_CTL_DEL, pipe_ends[0], NULL) == 0,
		   "the watch of fd %d cannot be removed by its number: %m", pipe_ends[0]);
}

static void break_del(void)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
}

static void break_data(void)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 0x9999};

	epoll_ctl(ep, EPOLL_CTL_MOD, pipe_ends[0], &ev);
}

static void break_drain(void)
{
	char buf[8];

	if (read(pipe_ends[0], buf, sizeof(buf)) != 4)
		zoo_die("break: read: %m");
}

static void break_replace(void)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	dup2(fd, efd);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"the eventfd's watch removed", break_del},
	{"the data of the pipe's watch changed", break_data},
	{"the pipe drained", break_drain},
	{"the eventfd replaced by another under its number", break_replace},
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
	check_list();
	check_events();
	return zoo_verdict();
}
