/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Raw wrappers for the system calls stasis needs and glibc 2.36 either lacks
 * (clone3, kcmp, userfaultfd, rseq, io_uring_setup, cachestat) or only has in newer
 * versions (the pidfd calls, 2.36). They behave like glibc's: -1 and errno on
 * failure. Syscall numbers are the x86_64 ones (arch/x86/entry/syscalls/
 * syscall_64.tbl), for headers that predate a call.
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "compat/sched.h"

#if defined(__x86_64__)
#ifndef __NR_kcmp
#define __NR_kcmp 312
#endif
#ifndef __NR_memfd_create
#define __NR_memfd_create 319
#endif
#ifndef __NR_userfaultfd
#define __NR_userfaultfd 323
#endif
#ifndef __NR_rseq
#define __NR_rseq 334
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448
#endif
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
#endif /* __x86_64__ */

/* <linux/mman.h> of Linux 6.5 */
struct stasis_cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct stasis_cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted; /* of a shmem file: its pages in swap */
	uint64_t nr_recently_evicted;
};

struct io_uring_params;

/*
 * Without CLONE_VM and with no stack given, the child runs on a copy of the
 * caller's stack like after fork() and returns 0 from here. glibc's cached
 * thread state is not updated in such a child: keep it to raw syscalls and
 * _exit(), or exec.
 */
static inline pid_t sys_clone3(struct clone_args *args, size_t size)
{
	return (pid_t)syscall(__NR_clone3, args, size);
}

static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_open, pid, flags);
}

/* Duplicate fd number targetfd of the task behind pidfd into the caller (5.6). */
static inline int sys_pidfd_getfd(int pidfd, int targetfd, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_getfd, pidfd, targetfd, flags);
}

static inline int sys_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	return (int)syscall(__NR_pidfd_send_signal, pidfd, sig, info, flags);
}

/* Free the memory of a process that is being killed, from the caller's side (5.15). */
static inline int sys_process_mrelease(int pidfd, unsigned int flags)
{
	return (int)syscall(__NR_process_mrelease, pidfd, flags);
}

/* 0 if equal, 1 or 2 for an ordering, 3 if not comparable; types in <linux/kcmp.h>. */
static inline int sys_kcmp(pid_t pid1, pid_t pid2, int type, unsigned long idx1, unsigned long idx2)
{
	return (int)syscall(__NR_kcmp, pid1, pid2, type, idx1, idx2);
}

static inline int sys_userfaultfd(int flags)
{
	return (int)syscall(__NR_userfaultfd, flags);
}

static inline int sys_rseq(void *rseq, uint32_t len, int flags, uint32_t sig)
{
	return (int)syscall(__NR_rseq, rseq, len, flags, sig);
}

/* The page cache state of [off, off + len) of fd (6.5). */
static inline int sys_cachestat(int fd, struct stasis_cachestat_range *range,
				struct stasis_cachestat *cs, unsigned int flags)
{
	return (int)syscall(__NR_cachestat, fd, range, cs, flags);
}

static inline int sys_io_uring_setup(unsigned int entries, struct io_uring_params *params)
{
	return (int)syscall(__NR_io_uring_setup, entries, params);
}
