/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * clone3() ABI: struct clone_args and the CLONE_* flags, from
 * include/uapi/linux/sched.h. glibc's <sched.h> and <linux/sched.h> agree on
 * the flag values and compile together. Include this instead of either.
 */

#include <sched.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/version.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* clone3() only; for unshare() since 5.6 */
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* The versions of struct clone_args, by size. */
#ifndef CLONE_ARGS_SIZE_VER0
#define CLONE_ARGS_SIZE_VER0 64 /* 5.3: up to tls */
#endif
#ifndef CLONE_ARGS_SIZE_VER1
#define CLONE_ARGS_SIZE_VER1 80 /* 5.5: set_tid, set_tid_size */
#endif
#ifndef CLONE_ARGS_SIZE_VER2
#define CLONE_ARGS_SIZE_VER2 88 /* 5.7: cgroup */
#endif

/*
 * set_tid points to an array of set_tid_size pids, innermost pid namespace
 * first; choosing a pid needs CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN) in the
 * user namespace owning each of those pid namespaces. Headers older than 5.3
 * have no struct clone_args; 5.3 to 5.6 have one without the later fields,
 * which cannot be extended from here.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 3, 0)
struct clone_args {
	__aligned_u64 flags;
	__aligned_u64 pidfd;
	__aligned_u64 child_tid;
	__aligned_u64 parent_tid;
	__aligned_u64 exit_signal;
	__aligned_u64 stack;
	__aligned_u64 stack_size;
	__aligned_u64 tls;
	__aligned_u64 set_tid;
	__aligned_u64 set_tid_size;
	__aligned_u64 cgroup;
};
#elif LINUX_VERSION_CODE < KERNEL_VERSION(5, 7, 0)
#error "kernel headers 5.3 to 5.6 lack clone_args.set_tid/cgroup: build with headers >= 5.7"
#endif
