/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Filling private anonymous memory with UFFDIO_COPY (pages-uffd.c): the
 * kernel puts each page in place already filled, where a write through
 * process_vm_writev() first faults in a zeroed page, then copies. Used by
 * pages.c only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rst_ctx;
struct rst_vma;

/*
 * A userfaultfd of the task's mm, made by a userfaultfd() the task executes,
 * taken out with pidfd_getfd() and closed in the task at once: the task's
 * fd table is as before. Faults in registered ranges raise SIGBUS instead of
 * waiting (nobody serves them). *ret_fd is the fd, or -1 if the kernel or
 * the task's rights do not allow one (pages then go by process_vm_writev;
 * said at debug level). A negative errno if the fd could not be closed in
 * the task.
 */
int rst_uffd_open(struct rst_ctx *c, int *ret_fd);

/* Whether the VMA can be filled with UFFDIO_COPY: private anonymous, not locked, not hugetlb. */
bool rst_uffd_fits(const struct rst_vma *v);

/* Register the VMA in MISSING mode; until the uffd is closed its empty pages raise SIGBUS. */
int rst_uffd_register(struct rst_ctx *c, int uffd, const struct rst_vma *v);

/*
 * Copy len bytes from src (ours) to dst (the task's, registered), page
 * aligned. A page already there (which UFFDIO_COPY refuses) is written
 * with process_vm_writev().
 */
int rst_uffd_copy(struct rst_ctx *c, int uffd, const void *src, uint64_t dst, size_t len);
