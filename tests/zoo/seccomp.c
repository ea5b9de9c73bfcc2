/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp filters: two stacked filters, the first making times() fail with
 * ENOMEDIUM and sysinfo() with ENOMSG, the second (installed with
 * SECCOMP_FILTER_FLAG_LOG) making sysinfo() fail with EOWNERDEAD. Of two
 * filters that fail a call, the newer one's errno wins: sysinfo() says which
 * came last. After the restore /proc/self/status counts two filters in mode
 * 2, both still act in their order, and other calls are untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "zoo.h"

/* Fail syscall nr with errno err and nr2 with err2; allow everything else. */
static void install(int nr, int err, int nr2, int err2, unsigned flags)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err2),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = ELEMENTSOF(code), .filter = code};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		zoo_die("seccomp(SECCOMP_SET_MODE_FILTER): %m");
}

/* The number after field in /proc/self/status, or -1. */
static int status_field(const char *field)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, field);
	return p ? atoi(p + strlen(field)) : -1;
}

static void check(void)
{
	struct sysinfo si;
	long r;

	zoo_expect(status_field("Seccomp:") == 2, "Seccomp: %d, not 2", status_field("Seccomp:"));
	zoo_expect(status_field("Seccomp_filters:") == 2, "Seccomp_filters: %d, not 2",
		   status_field("Seccomp_filters:"));
	r = syscall(SYS_times);
	zoo_expect(r == -1 && errno == ENOMEDIUM, "times() gave %ld (errno %d), not ENOMEDIUM", r,
		   r < 0 ? errno : 0);
	r = sysinfo(&si);
	zoo_expect(r == -1 && errno == EOWNERDEAD,
		   "sysinfo() gave %ld (errno %d), not EOWNERDEAD%s", r, r < 0 ? errno : 0,
		   r < 0 && errno == ENOMSG ? " (the filters are in the wrong order)" : "");
	r = syscall(SYS_getpgrp);
	zoo_expect(r > 0, "getpgrp() gave %ld (errno %d)", r, r < 0 ? errno : 0);
}

static void break_sysinfo(void)
{
	install(SYS_sysinfo, EPERM, -1, 0, 0);
}

static void break_getpgrp(void)
{
	install(SYS_getpgrp, EL2HLT, -1, 0, 0);
}

static void break_order(void)
{
	/* The first filter again, newest now: its ENOMSG wins for sysinfo(). */
	install(SYS_times, ENOMEDIUM, SYS_sysinfo, ENOMSG, 0);
}

static const struct zoo_break breaks[] = {
	{"a third filter makes sysinfo() fail with EPERM", break_sysinfo},
	{"a third filter makes getpgrp() fail", break_getpgrp},
	{"the first filter installed again on top", break_order},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	install(SYS_times, ENOMEDIUM, SYS_sysinfo, ENOMSG, 0);
	install(SYS_sysinfo, EOWNERDEAD, -1, 0, SECCOMP_FILTER_FLAG_LOG);
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}
