/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * ptrace: glibc's <sys/ptrace.h> (for ptrace() itself) and the kernel's
 * <linux/ptrace.h> (for the structures), in the one order in which they
 * compile together, plus what older headers lack. Include this instead of
 * either header.
 */

#include <sys/ptrace.h>
/* After <sys/ptrace.h>: the other order breaks glibc's enum. */
#include <linux/ptrace.h>
#include <linux/types.h>
#include <linux/version.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Address, size, signature and flags of a tracee's registered rseq area (5.13). */
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
/* glibc may define the request number while the kernel headers lack the struct. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 13, 0)
struct ptrace_rseq_configuration {
	__u64 rseq_abi_pointer;
	__u32 rseq_abi_size;
	__u32 signature;
	__u32 flags;
	__u32 pad;
};
#endif
