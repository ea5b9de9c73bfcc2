/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which pages of a range hold something: the PAGEMAP_SCAN ioctl on
 * /proc/PID/pagemap (Linux 6.7), which walks the page tables in the kernel
 * and answers with runs of pages, or /proc/PID/pagemap read entry by entry
 * where the ioctl is missing. Both give the same runs.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/fs.h"
#include "compat/pagemap.h"
#include "mem/internal.h"

/* Regions per PAGEMAP_SCAN call, pagemap entries per read: bounded, whatever the range. */
#define SCAN_VEC_LEN 512
#define SCAN_PME_LEN 4096
/*
 * A private scan walks at most this much per PAGEMAP_SCAN call and hands
 * on a run that reached this size: a dump starts copying after the first
 * step's walk, and walks the rest while the writer drains (a dense GiB is
 * one run, and its walk took 5 ms before the first page moved).
 */
#define SCAN_STEP (8u << 20)

struct mem_scan {
	pid_t pid;
	int fd; /* /proc/PID/pagemap */
	bool ioctl;
	bool guard_category; /* PAGE_IS_GUARD is known (6.15+) */
	uint64_t step;       /* SCAN_STEP for a private scan (see there), else 0: whole ranges */
	/* The question of the scan running: PM_SCAN_* flags, categories reported */
	uint64_t scan_flags;
	uint64_t return_mask;
	bool tracked; /* runs tell written pages apart (mem_scan_tracked) */
	bool anon;    /* the range is anonymous memory: no page cache page to leave out */
	bool holes;   /* written pages only, empty entries included (mem_scan_written) */
	struct page_region vec[SCAN_VEC_LEN];
	uint64_t *pme;     /* fallback: SCAN_PME_LEN entries */
	uint64_t zero_pfn; /* fallback: the zero page's frame, 0 if unknown */
	/* The run being built: runs split by the walk are joined again. */
	struct mem_run run;
	bool have_run;
};

void mem_scan_free(struct mem_scan *s)
{
	if (!s)
		return;
	safe_close(s->fd);
	free(s->pme);
	free(s);
}

void mem_scan_set_anon(struct mem_scan *s, bool anon)
{
	s->anon = anon;
}

bool mem_scan_uses_ioctl(const struct mem_scan *s)
{
	return s->ioctl;
}

/* The frame of the shared zero page: map one, read it, look it up (needs CAP_SYS_ADMIN). */
static uint64_t find_zero_pfn(void)
{
	_cleanup_close_ int fd = -1;
	volatile const char *p;
	uint64_t pme = 0;

	p = mmap(NULL, MEM_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)*p; /* a read fault maps the zero page */
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && pread(fd, &pme, sizeof(pme),
			     (off_t)((uintptr_t)p / MEM_PAGE_SIZE * PME_SIZE)) != sizeof(pme))
		pme = 0;
	munmap((void *)p, MEM_PAGE_SIZE);
	return (pme & PME_PRESENT) ? pme & PME_PFRAME_MASK : 0;
}

static int use_fallback(struct mem_scan *s)
{
	s->ioctl = false;
	if (!s->pme) {
		s->pme = calloc(SCAN_PME_LEN, sizeof(*s->pme));
		if (!s->pme)
			return -ENOMEM;
	}
	s->zero_pfn = find_zero_pfn();
	if (!s->zero_pfn)
		pr_info("the zero page's frame is unknown: pages that map it will be dumped");
	return 0;
}

int mem_scan_open(pid_t pid, unsigned flags, struct mem_scan **ret_scan)
{
	_cleanup_(mem_scan_freep) struct mem_scan *s = NULL;
	char path[64];
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	s->ioctl = !(flags & MEM_SCAN_NO_IOCTL);
	s->guard_category = true;
	if (!s->ioctl && (r = use_fallback(s)) < 0)
		return r;
	*ret_scan = TAKE_PTR(s);
	return 0;
}

/* Hand a piece of run to fn, joining it to the run before when they touch. */
static int push(struct mem_scan *s, uint64_t start, uint64_t end, bool zero, bool written,
		mem_scan_fn fn, void *arg)
{
	int r;

	if (s->have_run && s->run.end == start && s->run.zero == zero &&
	    s->run.written == written) {
		s->run.end = end;
		return 0;
	}
	if (s->have_run && (r = fn(arg, &s->run)) < 0)
		return r;
	s->run = (struct mem_run){.start = start, .end = end, .zero = zero, .written = written};
	s->have_run = true;
	return 0;
}

static int flush(struct mem_scan *s, mem_scan_fn fn, void *arg)
{
	if (!s->have_run)
		return 0;
	s->have_run = false;
	return fn(arg, &s->run);
}

/*
 * Wanted: present or swapped, and neither a page cache page nor a guard;
 * reported: whether it is the zero page. Returns the number of regions, or
 * -ENOTTY when the ioctl cannot be used here.
 */
static int scan_ioctl_once(struct mem_scan *s, struct pm_scan_arg *a)
{
	/*
	 * Asking about PAGE_IS_FILE makes the kernel look up the page of every
	 * present entry (cache misses on struct page: most of the walk's time);
	 * anonymous memory has no page cache page, so it is not asked there.
	 */
	uint64_t exclude = (s->anon ? 0 : PAGE_IS_FILE) | (s->guard_category ? PAGE_IS_GUARD : 0);
	int n;

	a->size = sizeof(*a);
	a->flags = s->scan_flags;
	a->vec = (uintptr_t)s->vec;
	a->vec_len = SCAN_VEC_LEN;
	a->category_inverted = s->holes ? 0 : exclude;
	a->category_mask = s->holes ? PAGE_IS_WRITTEN : exclude;
	a->category_anyof_mask = s->holes ? 0 : PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	a->return_mask = s->return_mask;
	n = ioctl(s->fd, PAGEMAP_SCAN, a);
	if (n >= 0)
		return n;
	n = negative_errno();
	if (n == -EINVAL && s->guard_category) {
		/* A kernel older than 6.15 refuses the guard category: it has no guards either. */
		s->guard_category = false;
		return scan_ioctl_once(s, a);
	}
	if (n == -ENOTTY || n == -EINVAL)
		return -ENOTTY;
	return n;
}

static int read_pme(struct mem_scan *s, uint64_t addr, size_t n)
{
	off_t off = (off_t)(addr / MEM_PAGE_SIZE * PME_SIZE);
	ssize_t got = pread(s->fd, s->pme, n * PME_SIZE, off);

	if (got < 0 || (size_t)got != n * PME_SIZE) {
		int r = got < 0 ? negative_errno() : -EIO;

		errno = -r;
		pr_perror("%d: cannot read pagemap at %llx", s->pid, (unsigned long long)addr);
		return r;
	}
	return 0;
}

int mem_scan_pagemap(struct mem_scan *s, uint64_t start, uint64_t end, mem_pme_fn fn, void *arg)
{
	if (!s->pme && !(s->pme = calloc(SCAN_PME_LEN, sizeof(*s->pme))))
		return -ENOMEM;
	while (start < end) {
		size_t n = MIN((end - start) / MEM_PAGE_SIZE, (uint64_t)SCAN_PME_LEN);
		int r = read_pme(s, start, n);

		if (r == 0)
			r = fn(arg, s->pme, n, start);
		if (r < 0)
			return r;
		start += n * MEM_PAGE_SIZE;
	}
	return 0;
}

uint64_t mem_scan_zero_pfn(const struct mem_scan *s)
{
	return s->zero_pfn;
}

/* Where runs found in pagemap entries go. */
struct pusher {
	struct mem_scan *s;
	mem_scan_fn fn;
	void *arg;
};

/*
 * "Swapped" and not written since the last scan: either a page really in
 * swap (or being migrated), whose content the parent image set holds, or a
 * uffd-wp marker left where a protected page was dropped (MADV_DONTNEED of
 * a private file mapping), which holds nothing. Only /proc/PID/pagemap
 * tells them apart, by the swap type of the entry.
 */
static int push_unmarked(void *arg, const uint64_t *pme, size_t n, uint64_t addr)
{
	struct pusher *p = arg;
	int r;

	for (size_t i = 0; i < n; i++, addr += MEM_PAGE_SIZE)
		if (!pme_is_marker(pme[i]) &&
		    (r = push(p->s, addr, addr + MEM_PAGE_SIZE, false, false, p->fn, p->arg)) < 0)
			return r;
	return 0;
}

static int push_unwritten_swapped(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn,
				  void *arg)
{
	struct pusher p = {s, fn, arg};

	return mem_scan_pagemap(s, start, end, push_unmarked, &p);
}

static int scan_ioctl(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg)
{
	struct pm_scan_arg a = {.start = start};
	int n, r;

	while (a.start < end) {
		a.end = s->step ? MIN(end, a.start + s->step) : end;
		n = scan_ioctl_once(s, &a);
		if (n < 0) {
			if (n != -ENOTTY) {
				errno = -n;
				pr_perror("%d: PAGEMAP_SCAN of %llx-%llx failed", s->pid,
					  (unsigned long long)a.start, (unsigned long long)end);
			}
			return n;
		}
		for (int i = 0; i < n; i++) {
			const struct page_region *v = &s->vec[i];

			if ((v->categories & (PAGE_IS_SWAPPED | PAGE_IS_WRITTEN)) ==
			    PAGE_IS_SWAPPED)
				r = push_unwritten_swapped(s, v->start, v->end, fn, arg);
			else
				r = push(s, v->start, v->end, v->categories & PAGE_IS_PFNZERO,
					 s->tracked && (v->categories & PAGE_IS_WRITTEN), fn, arg);
			if (r < 0)
				return r;
		}
		if (s->step && s->have_run && s->run.end - s->run.start >= s->step &&
		    (r = flush(s, fn, arg)) < 0)
			return r;
		/* The walk stops early when vec is full; go on from where it stopped. */
		if (a.walk_end <= a.start)
			return -EIO;
		a.start = a.walk_end;
	}
	return 0;
}

/* Present or swapped, neither a page cache page nor a guard; the zero page told apart. */
static int push_held(void *arg, const uint64_t *pme, size_t n, uint64_t addr)
{
	struct pusher *p = arg;
	uint64_t zero_pfn = p->s->zero_pfn;
	int r;

	for (size_t i = 0; i < n; i++, addr += MEM_PAGE_SIZE) {
		bool zero;

		if (!(pme[i] & (PME_PRESENT | PME_SWAP)) || (pme[i] & (PME_FILE | PME_GUARD)))
			continue;
		zero = (pme[i] & PME_PRESENT) && zero_pfn && (pme[i] & PME_PFRAME_MASK) == zero_pfn;
		r = push(p->s, addr, addr + MEM_PAGE_SIZE, zero, false, p->fn, p->arg);
		if (r < 0)
			return r;
	}
	return 0;
}

static int scan_pagemap(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg)
{
	struct pusher p = {s, fn, arg};

	return mem_scan_pagemap(s, start, end, push_held, &p);
}

int mem_scan_private(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg)
{
	int r;

	if (start % MEM_PAGE_SIZE || end % MEM_PAGE_SIZE || end < start)
		return -EINVAL;
	s->have_run = false;
	s->scan_flags = 0;
	/*
	 * Swapped and written too: an empty entry write-protected with
	 * WP_UNPOPULATED holds a uffd-wp marker, which PAGEMAP_SCAN reports as
	 * a swapped page not written; push_unwritten_swapped leaves markers out.
	 */
	s->return_mask = PAGE_IS_PFNZERO | PAGE_IS_SWAPPED | PAGE_IS_WRITTEN;
	s->tracked = false;
	if (s->ioctl) {
		s->step = SCAN_STEP;
		r = scan_ioctl(s, start, end, fn, arg);
		s->step = 0;
		if (r != -ENOTTY)
			return r < 0 ? r : flush(s, fn, arg);
		pr_info("PAGEMAP_SCAN is not available: reading %d's pagemap instead", s->pid);
		if (s->have_run)
			return -EIO; /* the ioctl never fails after having worked */
		r = use_fallback(s);
		if (r < 0)
			return r;
	}
	r = scan_pagemap(s, start, end, fn, arg);
	return r < 0 ? r : flush(s, fn, arg);
}

/* A tracked scan: runs tell written pages apart; holes: empty entries too (mem_scan_written). */
static int scan_tracked(struct mem_scan *s, uint64_t start, uint64_t end, uint64_t flags,
			bool holes, mem_scan_fn fn, void *arg)
{
	int r;

	if (start % MEM_PAGE_SIZE || end % MEM_PAGE_SIZE || end < start)
		return -EINVAL;
	if (!s->ioctl)
		return -ENOTTY;
	s->have_run = false;
	s->scan_flags = flags;
	s->return_mask = PAGE_IS_PFNZERO | PAGE_IS_WRITTEN | PAGE_IS_SWAPPED;
	s->tracked = true;
	s->holes = holes;
	r = scan_ioctl(s, start, end, fn, arg);
	s->holes = false;
	return r < 0 ? r : flush(s, fn, arg);
}

int mem_scan_tracked(struct mem_scan *s, uint64_t start, uint64_t end, bool protect, mem_scan_fn fn,
		     void *arg)
{
	return scan_tracked(s, start, end,
			    protect ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0, false, fn,
			    arg);
}

int mem_scan_written(struct mem_scan *s, uint64_t start, uint64_t end, mem_scan_fn fn, void *arg)
{
	return scan_tracked(s, start, end, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, true, fn,
			    arg);
}

int mem_scan_wp_async_armed(struct mem_scan *s, uint64_t addr)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_CHECK_WPASYNC,
		.start = addr,
		.end = addr + MEM_PAGE_SIZE,
		.vec = (uintptr_t)s->vec,
		.vec_len = SCAN_VEC_LEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.return_mask = PAGE_IS_WRITTEN,
	};

	if (!s->ioctl)
		return -ENOTTY;
	if (ioctl(s->fd, PAGEMAP_SCAN, &a) >= 0)
		return 1;
	if (errno == EPERM) /* the walk met a VMA not watched by a WP_ASYNC userfaultfd */
		return 0;
	return negative_errno();
}

int mem_scan_all_protected(struct mem_scan *s, uint64_t start, uint64_t end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = start,
		.end = end,
		.vec = (uintptr_t)s->vec,
		.vec_len = SCAN_VEC_LEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED, /* markers: swapped */
		.return_mask = PAGE_IS_WRITTEN,
	};
	uint64_t next = start;

	if (!s->ioctl)
		return -ENOTTY;
	while (next < end) {
		int n = ioctl(s->fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return negative_errno();
		for (int i = 0; i < n; i++) {
			if (s->vec[i].start != next || (s->vec[i].categories & PAGE_IS_WRITTEN))
				return 0;
			next = s->vec[i].end;
		}
		if (a.walk_end <= a.start || n == 0)
			break;
		a.start = a.walk_end;
	}
	return next >= end;
}
