/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagemap-PID.img and pages-N.img: the private memory of a task. Which
 * pages, and the PE_LAZY flag, follow CRIU 4.2 (criu/mem.c generate_iovs,
 * should_dump_page, vma_entry_can_be_lazy); docs/mem.md has the table.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"
#include "mem/internal.h"

struct dump {
	pid_t pid;
	const struct mem_dump_opts *opts;
	struct mem_copier *copier;
	struct mem_dump_stats st;
	/* The VMA being scanned */
	uint32_t flags; /* IMG_PE_* of its pages */
	bool via_fd;    /* the task cannot read it: go through /proc/PID/mem */
};

/*
 * Pages a lazy restore may leave to userfaultfd: private anonymous memory,
 * but not locked, nor huge pages, nor the kernel's areas.
 */
static bool can_be_lazy(const VmaEntry *e)
{
	return (e->flags & MAP_ANONYMOUS) && (e->flags & MAP_PRIVATE) &&
	       !(e->flags & (MAP_LOCKED | MAP_HUGETLB)) && !mem_vma_is(e, VMA_AREA_VDSO) &&
	       !mem_vma_is(e, VMA_AREA_VVAR) && !mem_vma_is(e, VMA_AREA_VSYSCALL);
}

/* The page holding a thread's stack pointer, at or after addr and before end; or end. */
static uint64_t next_sp_page(const struct dump *d, uint64_t addr, uint64_t end)
{
	uint64_t best = end;

	for (size_t i = 0; i < d->opts->nr_thread_sp; i++) {
		uint64_t page = d->opts->thread_sp[i] & ~(uint64_t)(MEM_PAGE_SIZE - 1);

		if (page >= addr && page < best)
			best = page;
	}
	return best;
}

static int add(struct dump *d, uint64_t start, uint64_t end, uint32_t flags)
{
	uint64_t pages = (end - start) / MEM_PAGE_SIZE;

	d->st.pages_written += pages;
	if (flags & IMG_PE_LAZY)
		d->st.pages_lazy += pages;
	return mem_copier_add(d->copier, start, end - start, flags, d->via_fd);
}

static int on_run(void *arg, const struct mem_run *run)
{
	struct dump *d = arg;
	uint64_t addr = run->start;
	int r;

	if (run->zero) {
		d->st.pages_zero += (run->end - run->start) / MEM_PAGE_SIZE;
		return 0;
	}
	if (!(d->flags & IMG_PE_LAZY))
		return add(d, run->start, run->end, d->flags);
	/* Lazy, but for the pages under a thread's stack pointer. */
	while (addr < run->end) {
		uint64_t sp = next_sp_page(d, addr, run->end);

		if (sp > addr && (r = add(d, addr, sp, d->flags)) < 0)
			return r;
		if (sp == run->end)
			break;
		r = add(d, sp, sp + MEM_PAGE_SIZE, d->flags & ~IMG_PE_LAZY);
		if (r < 0)
			return r;
		addr = sp + MEM_PAGE_SIZE;
	}
	return 0;
}

static int dump_vma(struct dump *d, struct mem_scan *scan, const struct mem_vma *v)
{
	const VmaEntry *e = &v->e;

	d->st.pages_scanned += (e->end - e->start) / MEM_PAGE_SIZE;
	d->flags = IMG_PE_PRESENT | (can_be_lazy(e) ? IMG_PE_LAZY : 0);
	d->via_fd = !(e->prot & PROT_READ);
	/* The vDSO is saved whole: a restore on another kernel may need to compare it. */
	if (mem_vma_is(e, VMA_AREA_VDSO))
		return add(d, e->start, e->end, d->flags);
	/*
	 * Nothing resident nor swapped (smaps said so): no need to walk it. The
	 * reservations of sanitizers, Go and Java runtimes are terabytes of this.
	 */
	if (!v->rss_swap_kib)
		return 0;
	return mem_scan_private(scan, e->start, e->end, on_run, d);
}

static int open_mem(pid_t pid, int *ret_fd)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int mem_dump_pages(pid_t pid, const struct mem_vmas *vmas, struct img_dir *dir, uint64_t id,
		   uint32_t pages_id, const struct mem_dump_opts *opts,
		   struct mem_dump_stats *stats)
{
	static const struct mem_dump_opts no_opts;
	_cleanup_img_pagemap_writer_ struct img_pagemap_writer *w = NULL;
	_cleanup_(mem_scan_freep) struct mem_scan *scan = NULL;
	_cleanup_(mem_copier_freep) struct mem_copier *copier = NULL;
	_cleanup_close_ int mem_fd = -1;
	struct dump d = {.pid = pid, .opts = opts ? opts : &no_opts};
	char label[32];
	int r;

	r = mem_scan_open(pid, d.opts->scan_flags, &scan);
	if (r < 0)
		return r;
	r = open_mem(pid, &mem_fd);
	if (r < 0)
		return r;
	r = img_pagemap_writer_open(dir, IMG_PAGEMAP, id, pages_id, &w);
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "pid %d", pid);
	if (d.opts->splicer)
		r = mem_copier_open_splice(label, pid, mem_fd, w, d.opts->splicer,
					   d.opts->one_thread, &copier);
	else
		r = mem_copier_open(label, pid, mem_fd, w,
				    d.opts->buf_size ? d.opts->buf_size : MEM_DUMP_BUF_DEFAULT,
				    d.opts->one_thread, &copier);
	if (r < 0)
		return r;
	d.copier = copier;
	for (size_t i = 0; i < vmas->nr; i++) {
		if (!mem_vma_has_private_pages(&vmas->v[i].e))
			continue;
		r = dump_vma(&d, scan, &vmas->v[i]);
		if (r < 0)
			return r;
	}
	r = mem_copier_finish(copier);
	if (r < 0)
		return r;
	r = img_pagemap_writer_commit(TAKE_PTR(w));
	if (r < 0)
		return r;
	pr_info("%d: %" PRIu64 " pages scanned, %" PRIu64 " written (%" PRIu64 " lazy), %" PRIu64
		" zero",
		pid, d.st.pages_scanned, d.st.pages_written, d.st.pages_lazy, d.st.pages_zero);
	if (stats) {
		stats->pages_scanned += d.st.pages_scanned;
		stats->pages_written += d.st.pages_written;
		stats->pages_lazy += d.st.pages_lazy;
		stats->pages_zero += d.st.pages_zero;
	}
	return 0;
}
