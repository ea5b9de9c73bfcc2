/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probes of task control over ptrace: seizing and stopping a task, reading
 * its extended register state and its rseq registration. Each traces a
 * child of its own.
 */
#include <asm/prctl.h>
#include <elf.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "base/log.h"
#include "compat/ptrace.h"
#include "compat/rseq.h"
#include "kerndat/child.h"
#include "kerndat/probes.h"

/* Seize pid and stop it with PTRACE_INTERRUPT: 1 stopped, 0 not supported, -errno. */
static int seize_and_stop(pid_t pid)
{
	int st;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		pr_info("PTRACE_SEIZE of probe child %d: %m", pid);
		return probe_result_of_errno(errno);
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0) {
		pr_info("PTRACE_INTERRUPT of probe child %d: %m", pid);
		return probe_result_of_errno(errno);
	}
	while (waitpid(pid, &st, __WALL) < 0)
		if (errno != EINTR)
			return negative_errno();
	/* A seized task stopped by PTRACE_INTERRUPT reports PTRACE_EVENT_STOP. */
	if (!WIFSTOPPED(st) || (st >> 16) != PTRACE_EVENT_STOP) {
		pr_info("probe child %d: status %#x after PTRACE_INTERRUPT, not an event stop", pid,
			st);
		return 0;
	}
	return 1;
}

/* Start a child and stop it under ptrace: 1 stopped, 0 not supported, -errno. */
static int traced_child_start(struct probe_child *c)
{
	int r;

	r = probe_child_start(c, NULL, NULL);
	if (r < 0)
		return r;
	return seize_and_stop(c->pid);
}

int probe_ptrace_seize(void)
{
	_cleanup_probe_child_ struct probe_child c = {};
	int r;

	r = traced_child_start(&c);
	if (r > 0)
		pr_debug("probe child %d seized and stopped in an event stop", c.pid);
	return r;
}

#if defined(__x86_64__)
/* Legacy FXSAVE area (512 bytes) and XSAVE header (64 bytes) come first. */
#define XSAVE_MIN_SIZE 576
#define XSAVE_BUF_SIZE (64 * 1024)

int probe_ptrace_xstate(void)
{
	_cleanup_probe_child_ struct probe_child c = {};
	_cleanup_free_ void *buf = NULL;
	struct iovec iov;
	int r;

	r = traced_child_start(&c);
	if (r <= 0)
		return r;
	buf = calloc(1, XSAVE_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	iov = (struct iovec){.iov_base = buf, .iov_len = XSAVE_BUF_SIZE};
	if (ptrace(PTRACE_GETREGSET, c.pid, (void *)NT_X86_XSTATE, &iov) < 0) {
		pr_info("PTRACE_GETREGSET NT_X86_XSTATE: %m");
		/* ENODEV: the CPU has no XSAVE */
		return errno == ENODEV ? 0 : probe_result_of_errno(errno);
	}
	if (iov.iov_len < XSAVE_MIN_SIZE) {
		pr_info("NT_X86_XSTATE regset of %zu bytes: less than an XSAVE header",
			iov.iov_len);
		return 0;
	}
	pr_debug("xstate of probe child %d: %zu bytes", c.pid, iov.iov_len);
	return 1;
}
#else
#error "probe_ptrace_xstate: only x86_64 is supported so far"
#endif

/* Where glibc registered this thread's rseq area (the child's, after fork), or 0. */
static uint64_t glibc_rseq_area(void)
{
	unsigned long fs_base;

	if (__rseq_size == 0 || syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_base) < 0)
		return 0;
	return (uint64_t)(fs_base + __rseq_offset);
}

int probe_get_rseq_conf(void)
{
	_cleanup_probe_child_ struct probe_child c = {};
	struct ptrace_rseq_configuration conf = {};
	uint64_t expected = glibc_rseq_area();
	long n;
	int r;

	r = traced_child_start(&c);
	if (r <= 0)
		return r;
	n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, c.pid, (void *)sizeof(conf), &conf);
	if (n < 0) {
		pr_info("PTRACE_GET_RSEQ_CONFIGURATION: %m");
		return probe_result_of_errno(errno);
	}
	pr_debug("rseq of child %d: area %#llx size %u sig %#x flags %#x; glibc: %#llx, %u bytes",
		 c.pid, (unsigned long long)conf.rseq_abi_pointer, conf.rseq_abi_size,
		 conf.signature, conf.flags, (unsigned long long)expected, __rseq_size);
	/*
	 * The child inherits glibc's registration (made with the rseq syscall at
	 * startup): the kernel must report that area, or none if glibc did not
	 * register one.
	 */
	if ((size_t)n != sizeof(conf) || conf.rseq_abi_pointer != expected ||
	    (expected && (conf.rseq_abi_size < __rseq_size || conf.signature != RSEQ_SIG))) {
		pr_info("PTRACE_GET_RSEQ_CONFIGURATION (%ld bytes) differs from glibc's rseq", n);
		return 0;
	}
	return 1;
}
