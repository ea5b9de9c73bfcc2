/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The probe functions behind the feature table of kerndat.c. Each returns 1
 * if the feature works, 0 if the kernel lacks it, -errno if it cannot tell.
 */

/* probe-ptrace.c */
int probe_ptrace_seize(void);
int probe_ptrace_xstate(void);
int probe_get_rseq_conf(void);

/* probe-task.c */
int probe_process_vm(void);
int probe_pidfd_store(void);
int probe_clone3_set_tid(void);
int probe_kcmp(void);
int probe_timens(void);

/* probe-mem.c */
int probe_pagemap_scan(void);
int probe_soft_dirty(void);
int probe_memfd(void);
int probe_prctl_mm_map(void);

/* probe-uffd.c */
int probe_uffd(void);
int probe_uffd_noncoop(void);
int probe_uffd_wp_async(void);
int probe_uffd_wp_unpopulated(void);
int probe_mem_dirty_track(void);

/* probe-sys.c */
int probe_tcp_repair(void);
int probe_io_uring(void);

/*
 * The errnos with which a kernel says "no such call, request or option":
 * the feature is missing (0). Any other errno is a failed probe (-errno).
 */
int probe_result_of_errno(int err);
