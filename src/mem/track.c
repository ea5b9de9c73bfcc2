/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dirty memory tracking with userfaultfd write protection in asynchronous
 * mode (Linux 6.7): the private VMAs of a task are registered with a
 * WP_ASYNC userfaultfd; PAGEMAP_SCAN then reports which pages were written
 * since the last scan (they are no longer write-protected) and protects
 * them again in the same call. A write to a protected page costs the task a
 * minor fault that the kernel resolves by itself: no message, no thread.
 *
 * The pages of one round are a list of extents: written (or never seen)
 * pages are copied into this image set, the others are IMG_PE_PARENT.
 * docs/predump.md tells why each case is right.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/userfaultfd.h"
#include "image/image.h"
#include "mem/internal.h"

int mem_track_api(pid_t pid, int uffd)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		int r = negative_errno();

		pr_warn("pid %d: its userfaultfd refuses write-protect tracking (WP_ASYNC, "
			"Linux 6.7+): %s",
			pid, strerror(-r));
		return r;
	}
	return 0;
}

bool mem_vma_trackable(const struct mem_vma *v)
{
	const VmaEntry *e = &v->e;

	return mem_vma_has_private_pages(e) && !mem_vma_is(e, VMA_AREA_VDSO) &&
	       !(e->flags & MAP_HUGETLB);
}

int mem_uffd_register_wp(pid_t pid, int uffd, const VmaEntry *e, bool *ret_ok)
{
	struct uffdio_register reg = {
		.range = {.start = e->start, .len = e->end - e->start},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	*ret_ok = false;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) == 0) {
		*ret_ok = true;
		return 0;
	}
	if (errno == EBUSY) {
		pr_err("pid %d: the VMA %" PRIx64 "-%" PRIx64
		       " is registered with a userfaultfd of the task's own: stasis tracks "
		       "memory with userfaultfd and cannot share it; dump without "
		       "pre-dump/--track-mem",
		       pid, e->start, e->end);
		return -EBUSY;
	}
	pr_debug("pid %d: VMA %" PRIx64 "-%" PRIx64 " cannot be tracked (%m): saved whole", pid,
		 e->start, e->end);
	return 0;
}

int mem_extents_add(struct mem_extents *x, uint64_t start, uint64_t end, uint32_t flags,
		    bool via_fd)
{
	struct mem_extent *last = x->n ? &x->v[x->n - 1] : NULL;

	if (last && last->end == start && last->flags == flags && last->via_fd == via_fd) {
		last->end = end;
		return 0;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct mem_extent *v = reallocarray(x->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = (struct mem_extent){start, end, flags, via_fd};
	return 0;
}

void mem_extents_release(struct mem_extents *x)
{
	free(x->v);
	*x = (struct mem_extents){};
}

struct collect {
	struct mem_extents *out;
	struct mem_dump_stats *st;
	bool known; /* the parent image set holds every page not written since */
	bool via_fd;
};

static int on_run(void *arg, const struct mem_run *run)
{
	struct collect *c = arg;
	uint64_t pages = (run->end - run->start) / MEM_PAGE_SIZE;
	bool copy = run->written || !c->known;

	if (run->zero) {
		c->st->pages_zero += pages;
		return 0;
	}
	if (copy)
		c->st->pages_written += pages;
	else
		c->st->pages_parent += pages;
	return mem_extents_add(c->out, run->start, run->end, copy ? IMG_PE_PRESENT : IMG_PE_PARENT,
			       c->via_fd);
}

int mem_track_collect(pid_t pid, int uffd, bool has_parent, const struct mem_vmas *vmas,
		      struct mem_extents *out, struct mem_dump_stats *st)
{
	_cleanup_(mem_scan_freep) struct mem_scan *scan = NULL;
	int r;

	r = mem_scan_open(pid, 0, &scan);
	if (r < 0)
		return r;
	for (size_t i = 0; i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];
		const VmaEntry *e = &v->e;
		struct collect c = {.out = out, .st = st, .via_fd = !(e->prot & PROT_READ)};
		bool registered = false;

		if (!mem_vma_has_private_pages(e))
			continue;
		st->pages_scanned += (e->end - e->start) / MEM_PAGE_SIZE;
		if (mem_vma_is(e, VMA_AREA_VDSO)) {
			st->pages_written += (e->end - e->start) / MEM_PAGE_SIZE;
			r = mem_extents_add(out, e->start, e->end, IMG_PE_PRESENT, c.via_fd);
			if (r < 0)
				return r;
			continue;
		}
		/*
		 * Only a VMA registered before this scan (with our userfaultfd: the
		 * task has none of its own, and registering again works) has been
		 * watched since the parent's scan. A new, moved (mremap drops the
		 * registration) or untracked one is saved whole. Asked of the
		 * kernel, not of smaps read earlier: a VMA unmapped and mapped
		 * again at the same place since has the same maps line.
		 */
		if (uffd >= 0 && mem_vma_trackable(v)) {
			r = has_parent ? mem_scan_wp_async_armed(scan, e->start) : 0;
			if (r >= 0)
				c.known = r > 0;
			if (r >= 0)
				r = mem_uffd_register_wp(pid, uffd, e, &registered);
			if (r < 0)
				return r;
		} else if (v->uffd) {
			pr_err("pid %d: the VMA %" PRIx64 "-%" PRIx64
			       " is registered with a userfaultfd of the task's own: stasis "
			       "tracks memory with userfaultfd and cannot share it",
			       pid, e->start, e->end);
			return -EBUSY;
		}
		c.known = c.known && registered;
		if (!v->rss_swap_kib)
			continue;
		mem_scan_set_anon(scan, mem_vma_is(e, VMA_ANON_PRIVATE));
		r = mem_scan_tracked(scan, e->start, e->end, registered, on_run, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

int mem_dump_extents(pid_t pid, const struct mem_extents *x, struct img_dir *dir, uint64_t id,
		     uint32_t pages_id, bool running)
{
	_cleanup_img_pagemap_writer_ struct img_pagemap_writer *w = NULL;
	_cleanup_(mem_copier_freep) struct mem_copier *copier = NULL;
	_cleanup_close_ int mem_fd = -1;
	char label[32], path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	r = img_pagemap_writer_open(dir, IMG_PAGEMAP, id, pages_id, &w);
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "pid %d", pid);
	r = mem_copier_open(label, pid, mem_fd, w, MEM_DUMP_BUF_DEFAULT, false, &copier);
	if (r < 0)
		return r;
	if (running)
		mem_copier_zero_unreadable(copier);
	for (size_t i = 0; i < x->n; i++) {
		const struct mem_extent *e = &x->v[i];

		r = mem_copier_add(copier, e->start, e->end - e->start, e->flags, e->via_fd);
		if (r < 0)
			return r;
	}
	r = mem_copier_finish(copier);
	if (r < 0)
		return r;
	return img_pagemap_writer_commit(TAKE_PTR(w));
}
