/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A snapshot armed while the task still runs (docs/predump.md), so that the
 * freeze pays only for what changed since:
 *
 * 1. Running: the private VMAs are registered with the (synchronous, WP
 *    markers, remove and unmap events) userfaultfd, the 2 MiB blocks that
 *    hold pages are write-protected (markers go into their empty entries
 *    too, so a first write there faults as well), and the pages of those
 *    blocks are found once they are protected. Shared anonymous VMAs are
 *    registered and protected whole (their pages, the object's, are found
 *    at the freeze: snapshot-shmem.c). From the first protection
 *    on, a thread serves the task's writes: the page is noted and released
 *    at once. Pages dropped (MADV_DONTNEED, MADV_FREE) and ranges unmapped
 *    are noted from their events.
 * 2. Frozen (mem_snapshot_freeze): the thread is stopped and what it left
 *    read. A VMA inside a VMA armed (split or mprotected at most) and not
 *    unmapped since keeps the pages found when armed, except where it must
 *    be looked at again: the pages written or dropped since, and the parts
 *    outside the protected blocks (written there, a page faults in without
 *    any message). Only those are scanned, and what they hold protected.
 *    Any other VMA (new, moved, grown) is handled as without arming.
 *
 * Nothing is trusted blindly: the background copy checks that every page
 * it read was still present and protected (snapshot.c), so a page the
 * arming got wrong fails the snapshot instead of corrupting it.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/userfaultfd.h"
#include "mem/snapshot.h"

#define ARM_BLOCK (2ull << 20)

struct snap_arm {
	struct snap_ranges vmas;   /* registered when armed */
	struct snap_ranges blocks; /* write-protected when armed */
	struct snap_ranges shared; /* shared anonymous VMAs registered, protected whole */
	struct snap_ranges pages;  /* holding something (not the zero page) once protected */
	/* Noted by the server while the task runs, under s->lock: */
	struct snap_ranges rescan;   /* written (released at once) or dropped since */
	struct snap_ranges unmapped; /* unmapped since */
	uint64_t writes;
	struct mem_vmas vmas_read; /* from smaps, before registering */
	int stop_fd;
	pthread_t thread;
	bool running;
};

static int cmp_range(const void *a, const void *b)
{
	const struct snap_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorted, overlapping and touching ranges joined. */
static void ranges_normalize(struct snap_ranges *r)
{
	size_t k = 0;

	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), cmp_range);
	for (size_t i = 1; i < r->n; i++) {
		if (r->v[i].start <= r->v[k].end)
			r->v[k].end = MAX(r->v[k].end, r->v[i].end);
		else
			r->v[++k] = r->v[i];
	}
	r->n = k + 1;
}

/* The first range of sorted r that ends after addr. */
static size_t ranges_find(const struct snap_ranges *r, uint64_t addr)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ranges_overlap(const struct snap_ranges *r, uint64_t start, uint64_t end)
{
	size_t i = ranges_find(r, start);

	return i < r->n && r->v[i].start < end;
}

static bool ranges_contain(const struct snap_ranges *r, uint64_t start, uint64_t end)
{
	size_t i = ranges_find(r, start);

	return i < r->n && r->v[i].start <= start && r->v[i].end >= end;
}

/* ---- The server, while the task runs ---- */

/* A message read while arming (snap_msg_fn): writes let go and noted, drops and unmaps noted. */
static void note(struct mem_snapshot *s, const struct uffd_msg *m, struct snap_ranges *held,
		 _unused_ void *arg)
{
	struct snap_arm *a = s->arm;
	struct snap_ranges *to = &a->rescan;
	uint64_t start, end;
	int r;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		start = m->arg.pagefault.address & ~(uint64_t)(MEM_PAGE_SIZE - 1);
		end = start + MEM_PAGE_SIZE;
		break;
	case UFFD_EVENT_REMOVE:
		start = m->arg.remove.start;
		end = m->arg.remove.end;
		break;
	case UFFD_EVENT_UNMAP:
		start = m->arg.remove.start;
		end = m->arg.remove.end;
		to = &a->unmapped;
		break;
	default:
		return;
	}
	pthread_mutex_lock(&s->lock);
	r = snap_ranges_add(to, start, end);
	a->writes += m->event == UFFD_EVENT_PAGEFAULT;
	pthread_mutex_unlock(&s->lock);
	/* Noted: the writer goes on at once; the page is looked at again at the freeze. */
	if (r == 0 && m->event == UFFD_EVENT_PAGEFAULT)
		r = snap_ranges_add(held, start, end);
	if (r < 0) {
		snap_set_err(s, r);
		if (m->event == UFFD_EVENT_PAGEFAULT)
			(void)snap_uffd_protect(s, start, end, false, false);
	}
}

static void *arm_main(void *arg)
{
	struct mem_snapshot *s = arg;
	struct pollfd pfd[2] = {
		{.fd = s->uffd, .events = POLLIN},
		{.fd = s->arm->stop_fd, .events = POLLIN},
	};

	while (!(pfd[1].revents & POLLIN)) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			snap_drain(s, note, NULL);
	}
	return NULL;
}

static int arm_start(struct mem_snapshot *s)
{
	struct snap_arm *a = s->arm;

	a->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (a->stop_fd < 0)
		return negative_errno();
	if (pthread_create(&a->thread, NULL, arm_main, s) != 0)
		return -EAGAIN;
	a->running = true;
	return 0;
}

/* Stop the server; what the task did before it was frozen is then all noted. */
static void arm_stop(struct mem_snapshot *s)
{
	struct snap_arm *a = s->arm;
	uint64_t one = 1;

	if (!a->running)
		return;
	if (write(a->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("%s: cannot stop the snapshot's server: %m", s->label);
	pthread_join(a->thread, NULL);
	a->running = false;
	snap_drain(s, note, NULL);
}

void snap_arm_free(struct mem_snapshot *s)
{
	struct snap_arm *a = s->arm;

	if (!a)
		return;
	arm_stop(s);
	safe_close(a->stop_fd);
	mem_vmas_release(&a->vmas_read);
	snap_ranges_release(&a->vmas);
	snap_ranges_release(&a->blocks);
	snap_ranges_release(&a->shared);
	snap_ranges_release(&a->pages);
	snap_ranges_release(&a->rescan);
	snap_ranges_release(&a->unmapped);
	free(a);
	s->arm = NULL;
}

/* ---- Arming ---- */

struct arm_scan {
	struct snap_ranges *to;
	uint64_t start, end; /* the VMA */
	bool blocks;         /* the 2 MiB blocks around the runs (zero pages too), else the runs */
};

static int on_arm_run(void *arg, const struct mem_run *run)
{
	struct arm_scan *c = arg;

	if (!c->blocks)
		return run->zero ? 0 : snap_ranges_add(c->to, run->start, run->end);
	return snap_ranges_add(c->to, MAX(c->start, run->start & ~(ARM_BLOCK - 1)),
			       MIN(c->end, (run->end + ARM_BLOCK - 1) & ~(ARM_BLOCK - 1)));
}

/* Register the VMAs that can be protected and find the blocks that hold pages. */
static int arm_register(struct mem_snapshot *s, const struct mem_vmas *vmas)
{
	struct snap_arm *a = s->arm;
	int r;

	for (size_t i = 0; i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];
		struct arm_scan c = {&a->blocks, v->e.start, v->e.end, true};
		bool ok = false, shared = snap_shmem_vma(&v->e);

		if (!shared && (!mem_vma_has_private_pages(&v->e) || !mem_vma_trackable(v)))
			continue; /* handled at the freeze */
		r = mem_uffd_register_wp(s->pid, s->uffd, &v->e, &ok);
		if (r < 0)
			return r;
		if (!ok)
			continue;
		if (shared) { /* protected whole: its pages are the object's, found frozen */
			r = snap_ranges_add(&a->shared, v->e.start, v->e.end);
			if (r < 0)
				return r;
			continue;
		}
		r = snap_ranges_add(&a->vmas, v->e.start, v->e.end);
		mem_scan_set_anon(s->scan[0], true); /* only anonymous memory registers here */
		if (r == 0 && v->rss_swap_kib)
			r = mem_scan_private(s->scan[0], v->e.start, v->e.end, on_arm_run, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Protect the shared VMAs and the blocks, then find the blocks' pages: a
 * page written meanwhile faults, and is noted.
 */
static int arm_protect(struct mem_snapshot *s)
{
	struct snap_arm *a = s->arm;
	int r;

	for (size_t i = 0; i < a->shared.n + a->blocks.n; i++) {
		const struct snap_range *b =
			i < a->shared.n ? &a->shared.v[i] : &a->blocks.v[i - a->shared.n];

		r = snap_uffd_protect(s, b->start, b->end, true, true);
		if (r == -ENOENT) {
			/* Mapped anew meanwhile (unregistered): part of the block may be
			 * unprotected. Looked at again, frozen. */
			pthread_mutex_lock(&s->lock);
			r = snap_ranges_add(&a->rescan, b->start, b->end);
			pthread_mutex_unlock(&s->lock);
		}
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < a->blocks.n; i++) {
		struct arm_scan c = {&a->pages, a->blocks.v[i].start, a->blocks.v[i].end, false};

		r = mem_scan_private(s->scan[0], c.start, c.end, on_arm_run, &c);
		if (r < 0)
			return r;
	}
	return 0;
}

int mem_snapshot_arm(pid_t pid, int uffd, struct mem_snapshot **ret)
{
	_cleanup_(mem_snapshot_freep) struct mem_snapshot *s = NULL;
	int r;

	r = snap_new(pid, uffd, &s);
	if (r < 0)
		return r;
	s->arm = calloc(1, sizeof(*s->arm));
	if (!s->arm)
		return -ENOMEM;
	s->arm->stop_fd = -1;
	r = mem_vmas_collect(pid, &s->arm->vmas_read);
	if (r >= 0)
		r = arm_register(s, &s->arm->vmas_read);
	if (r >= 0)
		r = arm_start(s);
	if (r >= 0)
		r = arm_protect(s);
	if (r < 0)
		return r;
	pr_info("%s: snapshot armed: %zu VMAs, %zu blocks protected, %zu shared VMAs", s->label,
		s->arm->vmas.n, s->arm->blocks.n, s->arm->shared.n);
	*ret = TAKE_PTR(s);
	return 0;
}

const struct mem_vmas *mem_snapshot_vmas(const struct mem_snapshot *s)
{
	return s->arm ? &s->arm->vmas_read : NULL;
}

/* ---- At the freeze ---- */

/* The address space armed is still the task's (an exec would have replaced it). */
static int check_same_mm(struct mem_snapshot *s)
{
	const struct snap_arm *a = s->arm;
	int r;

	if (!a->blocks.n)
		return 0;
	r = snap_uffd_protect(s, a->blocks.v[0].start, a->blocks.v[0].start + MEM_PAGE_SIZE, true,
			      true);
	if (r == -ESRCH) {
		pr_err("%s: it called exec() while its snapshot was being armed: dump again",
		       s->label);
		return r;
	}
	return r == -ENOENT ? 0 : r; /* ENOENT: that page was unmapped since (noted) */
}

/* The pages found when armed in [lo, hi): protected since, none written. */
static int add_armed_pages(struct mem_snapshot *s, const struct mem_vma *v, uint64_t lo,
			   uint64_t hi, struct mem_dump_stats *st)
{
	const struct snap_ranges *p = &s->arm->pages;
	bool via_fd = !(v->e.prot & PROT_READ);

	for (size_t i = ranges_find(p, lo); i < p->n && p->v[i].start < hi; i++) {
		uint64_t a = MAX(lo, p->v[i].start), b = MIN(hi, p->v[i].end);
		int r = snap_add_extent(s, a, b, via_fd, true, false);

		if (r < 0)
			return r;
		st->pages_written += (b - a) / MEM_PAGE_SIZE;
	}
	return 0;
}

/* What must be looked at again in VMA v: written or dropped since, or outside the blocks. */
static int again_ranges(const struct snap_arm *a, const struct mem_vma *v, struct snap_ranges *out)
{
	uint64_t lo = v->e.start, hi = v->e.end, at = lo;
	int r = 0;

	for (size_t i = ranges_find(&a->rescan, lo);
	     r == 0 && i < a->rescan.n && a->rescan.v[i].start < hi; i++)
		r = snap_ranges_add(out, MAX(lo, a->rescan.v[i].start),
				    MIN(hi, a->rescan.v[i].end));
	for (size_t i = ranges_find(&a->blocks, lo);
	     r == 0 && i < a->blocks.n && a->blocks.v[i].start < hi; i++) {
		if (a->blocks.v[i].start > at)
			r = snap_ranges_add(out, at, a->blocks.v[i].start);
		at = MAX(at, a->blocks.v[i].end);
	}
	if (r == 0 && at < hi)
		r = snap_ranges_add(out, at, hi);
	ranges_normalize(out);
	return r;
}

static int collect_armed(struct mem_snapshot *s, const struct mem_vma *v, struct mem_dump_stats *st)
{
	struct snap_ranges again = {};
	uint64_t at = v->e.start;
	int r;

	st->pages_scanned += (v->e.end - v->e.start) / MEM_PAGE_SIZE;
	r = again_ranges(s->arm, v, &again);
	for (size_t i = 0; r == 0 && i < again.n; i++) {
		r = add_armed_pages(s, v, at, again.v[i].start, st);
		if (r == 0)
			r = snap_scan_range(s, v, again.v[i].start, again.v[i].end, st);
		at = again.v[i].end;
	}
	if (r == 0)
		r = add_armed_pages(s, v, at, v->e.end, st);
	snap_ranges_release(&again);
	return r;
}

/* A VMA whose pages the arming knows: inside one armed, nothing unmapped there since. */
static bool armed(const struct snap_arm *a, const struct mem_vma *v)
{
	return mem_vma_trackable(v) && ranges_contain(&a->vmas, v->e.start, v->e.end) &&
	       !ranges_overlap(&a->unmapped, v->e.start, v->e.end);
}

bool snap_arm_reprotect_shared(struct mem_snapshot *s, const VmaEntry *e, int *ret)
{
	const struct snap_arm *a = s->arm;
	int r = 0;

	if (!a || !ranges_contain(&a->shared, e->start, e->end) ||
	    ranges_overlap(&a->unmapped, e->start, e->end))
		return false;
	for (size_t i = ranges_find(&a->rescan, e->start);
	     r == 0 && i < a->rescan.n && a->rescan.v[i].start < e->end; i++)
		r = snap_uffd_protect(s, MAX(e->start, a->rescan.v[i].start),
				      MIN(e->end, a->rescan.v[i].end), true, true);
	*ret = r;
	return true;
}

int mem_snapshot_freeze(struct mem_snapshot *s, const struct mem_vmas *vmas, struct img_dir *dir,
			uint64_t id, uint32_t pages_id, struct mem_dump_stats *st)
{
	struct snap_arm *a = s->arm;
	size_t fast = 0, fresh = 0;
	int r;

	arm_stop(s);
	if (s->err)
		return s->err;
	ranges_normalize(&a->rescan);
	ranges_normalize(&a->unmapped);
	r = check_same_mm(s);
	for (size_t i = 0; r == 0 && i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];

		if (!mem_vma_has_private_pages(&v->e))
			continue;
		if (!mem_vma_is(&v->e, VMA_AREA_VDSO) && armed(a, v)) {
			fast++;
			r = collect_armed(s, v, st);
		} else {
			fresh += mem_vma_trackable(v) && !mem_vma_is(&v->e, VMA_AREA_VDSO);
			r = snap_collect_vma(s, v, st);
		}
	}
	if (r < 0)
		return r;
	pr_info("%s: %" PRIu64 " writes served while armed, %zu ranges looked at again; "
		"%zu VMAs known from the arming, %zu new or changed since",
		s->label, a->writes, a->rescan.n, fast, fresh);
	return snap_layout(s, dir, id, pages_id);
}
