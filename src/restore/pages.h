/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by pages.c and pages-uffd.c: filling the task's memory. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct img_pagemap;
struct rst_ctx;
struct rst_vma;

/* ---- pages.c: a bounded view of a pages file -------------------------------- */

/* Mapped at once, aligned to it: mmap costs little at this size; one per copying thread. */
#define RST_WINDOW_SIZE (16UL << 20)

/* [off, off + len) of the pages file of pm, mapped at base (NULL: nothing mapped). */
struct rst_window {
	struct img_pagemap *pm;
	uint64_t size; /* of the file */
	const uint8_t *base;
	uint64_t off, len;
};

int rst_window_open(struct rst_ctx *c, struct img_pagemap *pm, struct rst_window *w);
/* Whether offset off is mapped now (else rst_window_at() moves the window). */
bool rst_window_has(const struct rst_window *w, uint64_t off);
/*
 * Bytes [off, off + *len) of the file at *ret, *len cut at the window's
 * end; the window moves if off is outside it. Thread-safe for distinct
 * windows.
 */
int rst_window_at(struct rst_ctx *c, struct rst_window *w, uint64_t off, uint64_t *len,
		  const uint8_t **ret);
void rst_window_close(struct rst_window *w);

/* ---- pages-uffd.c: UFFDIO_COPY into private anonymous memory ----------------- */

/*
 * The kernel puts each page in place already filled, where a write through
 * process_vm_writev() first faults in a zeroed page, then copies.
 */
struct rst_uffd;

/*
 * A userfaultfd of the task's mm, made by a userfaultfd() the task executes,
 * taken out with pidfd_getfd() and closed in the task at once: the task's
 * fd table is as before. Faults in registered ranges raise SIGBUS instead of
 * waiting (nobody serves them). Pages are read from the pages file of pm.
 * *ret_u is NULL if the kernel or the task's rights do not allow a
 * userfaultfd (pages then go by process_vm_writev; said at debug level). A
 * negative errno if the fd could not be closed in the task.
 */
int rst_uffd_open(struct rst_ctx *c, struct img_pagemap *pm, struct rst_uffd **ret_u);

/*
 * Close the userfaultfd: the last reference, so the kernel unregisters every
 * range of the task's mm (userfaultfd_release); nothing of it is left.
 */
void rst_uffd_close(struct rst_uffd *u);

/* Whether the VMA can be filled with UFFDIO_COPY: private anonymous, not locked, not hugetlb. */
bool rst_uffd_fits(const struct rst_vma *v);

/* Register the VMA in MISSING mode; until the uffd is closed its empty pages raise SIGBUS. */
int rst_uffd_register(struct rst_uffd *u, const struct rst_vma *v);

/* Copy file bytes [off, off + len) to dst in the task: queued, done by rst_uffd_run(). */
int rst_uffd_queue(struct rst_uffd *u, uint64_t off, uint64_t dst, uint64_t len);

/* Do the queued copies, on every CPU there is (up to two threads). */
int rst_uffd_run(struct rst_uffd *u);

/* Copy len bytes from src (ours) to dst at once (for pages read from a parent image set). */
int rst_uffd_copy(struct rst_uffd *u, const void *src, uint64_t dst, size_t len);
