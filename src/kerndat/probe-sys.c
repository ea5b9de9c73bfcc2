/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probes of single system calls and options on this process: kcmp, the
 * prctl that sets mm fields, TCP repair mode, io_uring.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "kerndat/probes.h"

/* A file compares equal to its dup and differs from another file. */
int probe_kcmp(void)
{
	_cleanup_close_ int a = -1, b = -1, a2 = -1;
	pid_t self = getpid();
	int same, other;

	a = eventfd(0, EFD_CLOEXEC);
	b = eventfd(0, EFD_CLOEXEC);
	if (a < 0 || b < 0)
		return negative_errno();
	a2 = fcntl(a, F_DUPFD_CLOEXEC, 0);
	if (a2 < 0)
		return negative_errno();
	same = sys_kcmp(self, self, KCMP_FILE, (unsigned long)a, (unsigned long)a2);
	if (same < 0) {
		pr_info("kcmp: %m");
		return probe_result_of_errno(errno);
	}
	other = sys_kcmp(self, self, KCMP_FILE, (unsigned long)a, (unsigned long)b);
	if (other < 0)
		return negative_errno();
	if (same != 0 || other == 0) {
		pr_info("kcmp KCMP_FILE: %d for a dup, %d for another file", same, other);
		return 0;
	}
	return 1;
}

/* The size query needs no privilege and changes nothing. */
int probe_prctl_mm_map(void)
{
	unsigned int size = 0;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) < 0) {
		pr_info("prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE): %m");
		return probe_result_of_errno(errno);
	}
	if (size != sizeof(struct prctl_mm_map)) {
		pr_info("kernel's struct prctl_mm_map has %u bytes, ours %zu", size,
			sizeof(struct prctl_mm_map));
		return 0;
	}
	return 1;
}

/* Repair mode on a fresh socket, and the window parameters restore sets (4.8). */
int probe_tcp_repair(void)
{
	_cleanup_close_ int sk = -1;
	struct tcp_repair_window win;
	socklen_t len = sizeof(win);
	int on = TCP_REPAIR_ON;

	sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (sk < 0)
		return negative_errno();
	if (setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0) {
		pr_info("setsockopt(TCP_REPAIR): %m");
		return probe_result_of_errno(errno);
	}
	if (getsockopt(sk, SOL_TCP, TCP_REPAIR_WINDOW, &win, &len) < 0) {
		pr_info("getsockopt(TCP_REPAIR_WINDOW): %m");
		return probe_result_of_errno(errno);
	}
	return 1;
}

int probe_io_uring(void)
{
	_cleanup_close_ int fd = -1;
	struct io_uring_params params = {};

	fd = sys_io_uring_setup(1, &params);
	if (fd < 0) {
		/* EPERM: disabled by the kernel.io_uring_disabled sysctl (or seccomp) */
		pr_info("io_uring_setup: %m");
		return errno == EPERM ? 0 : probe_result_of_errno(errno);
	}
	pr_debug("io_uring_setup: features %#x", params.features);
	return 1;
}
