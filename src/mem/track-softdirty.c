/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dirty memory tracking with soft-dirty bits (CONFIG_MEM_SOFT_DIRTY), for
 * kernels without userfaultfd WP_ASYNC: writing "4" to /proc/PID/clear_refs
 * clears the bits of every pte of the task (and VM_SOFTDIRTY of its VMAs);
 * a write sets the bit of its pte again (bit 55 of the /proc/PID/pagemap
 * entry); a new, grown or moved VMA is soft-dirty whole. The task must be
 * frozen from the scan to the clearing, else a write between them is lost:
 * the caller scans frozen, then clears (mem_softdirty_clear), then lets the
 * task go. Nothing is left in the task to remove: the bits are harmless.
 * Kernel: Documentation/admin-guide/mm/soft-dirty.rst, pagemap.rst.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/pagemap.h"
#include "image/image.h"
#include "mem/internal.h"

/*
 * Which extent a page goes to:
 * - nothing there (never touched, dropped), a page cache page of a private
 *   file mapping (the file's, not the task's), a guard or a marker: none;
 * - the zero page: none (reads as zeros), counted;
 * - soft-dirty (written since the clearing, or in a VMA new since), or in a
 *   range the parent does not hold: copied (IMG_PE_PRESENT);
 * - present and not mapped by this process alone: copied too. The zero page
 *   when its frame is unknown, and a KSM page (merging makes a new pte
 *   without the bit, even for a page written before) look like this; so does
 *   a page still shared with a parent or child after fork, which costs a copy
 *   per round until one of them writes it;
 * - else (present or swapped out, not written since): IMG_PE_PARENT.
 */
int mem_softdirty_classify(const uint64_t *pme, size_t n, uint64_t addr,
			   const struct mem_sd_range *rng, struct mem_extents *out,
			   struct mem_dump_stats *st)
{
	for (size_t i = 0; i < n; i++, addr += MEM_PAGE_SIZE) {
		uint64_t e = pme[i];
		bool present = e & PME_PRESENT;
		bool copy;
		int r;

		if (!(e & (PME_PRESENT | PME_SWAP)) || (e & (PME_FILE | PME_GUARD)) ||
		    pme_is_marker(e))
			continue;
		if (present && rng->zero_pfn && (e & PME_PFRAME_MASK) == rng->zero_pfn) {
			st->pages_zero++;
			continue;
		}
		copy = !rng->known || (e & PME_SOFT_DIRTY) || (present && !(e & PME_EXCLUSIVE));
		if (copy)
			st->pages_written++;
		else
			st->pages_parent++;
		r = mem_extents_add(out, addr, addr + MEM_PAGE_SIZE,
				    copy ? IMG_PE_PRESENT : IMG_PE_PARENT, rng->via_fd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The classification of one VMA's pagemap entries, chunk by chunk. */
struct sd_scan {
	struct mem_sd_range rng;
	struct mem_extents *out;
	struct mem_dump_stats *st;
};

static int classify_chunk(void *arg, const uint64_t *pme, size_t n, uint64_t addr)
{
	struct sd_scan *c = arg;

	return mem_softdirty_classify(pme, n, addr, &c->rng, c->out, c->st);
}

int mem_softdirty_collect(pid_t pid, bool has_parent, const struct mem_vmas *vmas,
			  struct mem_extents *out, struct mem_dump_stats *st)
{
	_cleanup_(mem_scan_freep) struct mem_scan *scan = NULL;
	int r;

	r = mem_scan_open(pid, MEM_SCAN_NO_IOCTL, &scan);
	if (r < 0)
		return r;
	for (size_t i = 0; i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];
		const VmaEntry *e = &v->e;
		/* A VMA the kernel marks soft-dirty whole is new (or moved, grown) since. */
		struct sd_scan c = {
			.rng = {.zero_pfn = mem_scan_zero_pfn(scan),
				.known = has_parent && mem_vma_trackable(v) && !v->soft_dirty,
				.via_fd = !(e->prot & PROT_READ)},
			.out = out,
			.st = st,
		};

		if (!mem_vma_has_private_pages(e))
			continue;
		st->pages_scanned += (e->end - e->start) / MEM_PAGE_SIZE;
		if (mem_vma_is(e, VMA_AREA_VDSO)) {
			r = mem_extents_add(out, e->start, e->end, IMG_PE_PRESENT, c.rng.via_fd);
			st->pages_written += (e->end - e->start) / MEM_PAGE_SIZE;
		} else {
			r = v->rss_swap_kib
				    ? mem_scan_pagemap(scan, e->start, e->end, classify_chunk, &c)
				    : 0;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int mem_softdirty_clear(pid_t pid)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, CLEAR_REFS_SOFT_DIRTY, 1) != 1) {
		r = negative_errno();
		pr_err("pid %d: cannot clear its soft-dirty bits (%s): %s; the next round could "
		       "not tell what it wrote",
		       pid, path, strerror(-r));
		return r;
	}
	return 0;
}
