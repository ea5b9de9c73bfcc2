/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * eventfds: a counter above 32 bits, non-blocking; a semaphore
 * (EFD_SEMAPHORE) holding 3, non-blocking; an empty one, blocking and
 * close-on-exec. Each must come back with its count, its mode and its flags.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zoo.h"

#define BIG_COUNT 0x123456789ULL
#define SEM_COUNT 3

static int big, sem, empty;

static int make(uint64_t count, int flags)
{
	int fd = eventfd(0, flags);

	if (fd < 0)
		zoo_setup_failed("eventfd: %m");
	if (count && write(fd, &count, sizeof(count)) != sizeof(count))
		zoo_setup_failed("write to an eventfd: %m");
	return fd;
}

static void setup(void)
{
	big = make(BIG_COUNT, EFD_NONBLOCK);
	sem = make(SEM_COUNT, EFD_NONBLOCK | EFD_SEMAPHORE);
	empty = make(0, EFD_CLOEXEC);
}

static bool check_flags(int fd, int fl, bool cloexec, const char *what)
{
	return zoo_expect((fcntl(fd, F_GETFL) & ~0100000) == fl, "%s: flags %#x, not %#x", what,
			  fcntl(fd, F_GETFL), fl) &&
	       zoo_expect(!!(fcntl(fd, F_GETFD) & FD_CLOEXEC) == cloexec, "%s: close-on-exec is %s",
			  what, cloexec ? "off" : "on");
}

static void check_big(void)
{
	uint64_t v = 0;

	/* A blocking read of an empty counter would never end. */
	if (!check_flags(big, O_RDWR | O_NONBLOCK, false, "the big counter"))
		return;
	zoo_expect(read(big, &v, sizeof(v)) == sizeof(v) && v == BIG_COUNT,
		   "the big counter reads %#llx, not %#llx", (unsigned long long)v, BIG_COUNT);
	zoo_expect(read(big, &v, sizeof(v)) < 0 && errno == EAGAIN,
		   "the big counter is not empty after a read");
}

static void check_sem(void)
{
	char info[512];
	uint64_t v;
	int got = 0;

	if (!check_flags(sem, O_RDWR | O_NONBLOCK, false, "the semaphore"))
		return;
	zoo_expect(zoo_fdinfo(sem, info, sizeof(info)) && strstr(info, "eventfd-semaphore: 1"),
		   "the semaphore is not one (fdinfo)");
	while (got < 10 && read(sem, &v, sizeof(v)) == sizeof(v) && v == 1)
		got++;
	zoo_expect(got == SEM_COUNT, "the semaphore gave %d reads of 1, not %d", got, SEM_COUNT);
}

static void check_empty(void)
{
	struct pollfd p = {.fd = empty, .events = POLLIN | POLLOUT};
	uint64_t one = 1, v = 0;

	check_flags(empty, O_RDWR, true, "the empty eventfd");
	zoo_expect(poll(&p, 1, 0) == 1 && p.revents == POLLOUT,
		   "the empty eventfd polls %#x, not POLLOUT only", p.revents);
	/* Still an eventfd: what is written can be read (it is readable, so no block). */
	zoo_expect(write(empty, &one, sizeof(one)) == sizeof(one) &&
			   read(empty, &v, sizeof(v)) == sizeof(v) && v == 1,
		   "the empty eventfd does not count");
}

static void break_read_big(void)
{
	uint64_t v;

	if (read(big, &v, sizeof(v)) != sizeof(v))
		zoo_die("break: read: %m");
}

static void break_post_sem(void)
{
	uint64_t one = 1;

	if (write(sem, &one, sizeof(one)) != sizeof(one))
		zoo_die("break: write: %m");
}

static void break_not_sem(void)
{
	int fd = make(SEM_COUNT, EFD_NONBLOCK);

	dup2(fd, sem);
	close(fd);
}

static void break_blocking(void)
{
	fcntl(big, F_SETFL, 0);
}

static const struct zoo_break breaks[] = {
	{"the big counter read out", break_read_big},
	{"the semaphore posted once more", break_post_sem},
	{"the semaphore replaced by a counter of 3", break_not_sem},
	{"the big counter made blocking", break_blocking},
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
	check_big();
	check_sem();
	check_empty();
	return zoo_verdict();
}
