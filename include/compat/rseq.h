/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Restartable sequences: glibc's <sys/rseq.h> (which takes struct rseq and
 * enum rseq_flags from <linux/rseq.h>) plus what the kernel's ABI has that
 * older headers lack. Include this instead of either header.
 *
 * glibc (2.35+) registers an rseq area for every thread; __rseq_size is 0 if
 * it did not. The kernel writes that area on every return to user space, so a
 * restore must unregister it (rseq(area, len, RSEQ_FLAG_UNREGISTER, sig) with
 * the values PTRACE_GET_RSEQ_CONFIGURATION reports) before tearing down the
 * address space, and register the dumped one at the end.
 */

#include <sys/auxv.h>
#include <sys/rseq.h>

/* The signature glibc registers with on x86: it must precede every abort handler. */
#if !defined(RSEQ_SIG) && defined(__x86_64__)
#define RSEQ_SIG 0x53053053
#endif

/*
 * Size of the original struct rseq (4.18). Since 6.3 the kernel accepts larger
 * registrations (node_id, mm_cid) and reports the registered size through
 * AT_RSEQ_FEATURE_SIZE and PTRACE_GET_RSEQ_CONFIGURATION.
 */
#define RSEQ_ORIG_SIZE 32

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27 /* auxv: size of the rseq fields the kernel supports */
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28 /* auxv: alignment the kernel requires of the rseq area */
#endif
