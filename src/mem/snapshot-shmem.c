/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared anonymous memory in a snapshot (docs/predump.md): each object is a
 * mem_snapshot of its own whose "addresses" are offsets in the object. At
 * the freeze its pages are found (SEEK_DATA on /proc/PID/map_files) and laid
 * out, and every mapping of it in the tree is write-protected whole with the
 * process's userfaultfd (markers in the empty entries: a page not mapped
 * there faults too): armed before (snapshot-arm.c), only what was written
 * or dropped since is protected again. Once the tree runs, the
 * background reads the object by offset (pread, no mapping), and a write
 * through any mapping is served by copying the object's 64 KiB block
 * first. A page is released in every mapping only once it is copied: a
 * write through another mapping faults there and finds it copied.
 *
 * The check after each read: in every mapping the pages are still present
 * or marked, and protected (mem_scan_all_protected: an unmapped or moved
 * mapping fails it), and the object still holds them (cachestat: a page
 * punched out keeps its markers). Without UFFD_FEATURE_EVENT_FORK a child
 * forked while the copy runs would map the object unprotected: with it,
 * such a fork fails the snapshot (snap_shmem_forked).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/sorted.h"
#include "compat/syscalls.h"
#include "compat/userfaultfd.h"
#include "image/image.h"
#include "mem/snapshot.h"

#define SHMEM_FAULT_BLOCK (16u * MEM_PAGE_SIZE)

static int maps_add(struct mem_snapshot *s, struct mem_snapshot *peer, const VmaEntry *e)
{
	struct snap_shmap *v = reallocarray(s->maps, s->nmaps + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	s->maps = v;
	v[s->nmaps++] = (struct snap_shmap){peer, e->start, e->end, e->pgoff};
	return 0;
}

/* The part of offsets [start, end) that mapping m shows, as addresses: false if none. */
static bool map_window(const struct snap_shmap *m, uint64_t start, uint64_t end, uint64_t *ret_a,
		       uint64_t *ret_b)
{
	uint64_t lo = MAX(start, m->pgoff), hi = MIN(end, m->pgoff + (m->end - m->start));

	if (lo >= hi)
		return false;
	*ret_a = m->start + (lo - m->pgoff);
	*ret_b = m->start + (hi - m->pgoff);
	return true;
}

bool snap_shmem_vma(const VmaEntry *e)
{
	return mem_vma_is(e, VMA_ANON_SHARED) && !mem_vma_is(e, VMA_AREA_SYSVIPC);
}

uint64_t mem_snapshot_shmid(const struct mem_snapshot *obj)
{
	return obj->shmid;
}

int mem_snapshot_shmem_open(pid_t pid, const VmaEntry *e, uint64_t size, struct img_dir *dir,
			    uint32_t pages_id, struct mem_dump_stats *st, struct mem_snapshot **ret)
{
	_cleanup_(mem_snapshot_freep) struct mem_snapshot *obj = NULL;
	uint64_t off = 0, start, end;
	int r;

	r = snap_new(0, -1, &obj);
	if (r < 0)
		return r;
	obj->shobj = true;
	obj->shmid = e->shmid;
	snprintf(obj->label, sizeof(obj->label), "shmem %" PRIu64, e->shmid);
	r = mem_shmem_open_object(pid, e, size, &obj->mem_fd);
	if (r < 0) {
		pr_err("pid %d: cannot open the shared memory at %" PRIx64 ": %s", pid, e->start,
		       strerror(-r));
		return r;
	}
	while (off < size && (r = mem_shmem_next_data(obj->mem_fd, off, size, &start, &end)) == 0) {
		r = snap_add_extent(obj, start, end, true, true, false);
		if (r < 0)
			return r;
		st->pages_written += (end - start) / MEM_PAGE_SIZE;
		off = end;
	}
	if (r < 0 && r != -ENXIO) {
		pr_err("%s: cannot find its pages: %s", obj->label, strerror(-r));
		return r;
	}
	st->pages_scanned += size / MEM_PAGE_SIZE;
	r = snap_layout(obj, dir, e->shmid, pages_id);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(obj);
	return 0;
}

/* Register e with proc's userfaultfd and protect it whole, or only what changed since armed. */
static int protect_mapping(struct mem_snapshot *obj, struct mem_snapshot *proc, const VmaEntry *e)
{
	bool ok;
	int r;

	if (snap_arm_reprotect_shared(proc, e, &r))
		return r;
	r = mem_uffd_register_wp(proc->pid, proc->uffd, e, &ok);
	if (r < 0)
		return r;
	if (!ok) {
		pr_err("%s: the kernel will not write-protect its shared memory at %" PRIx64
		       "-%" PRIx64 " (%s): dump without --snapshot",
		       proc->label, e->start, e->end, obj->label);
		return -EOPNOTSUPP;
	}
	return snap_uffd_protect(proc, e->start, e->end, true, true);
}

int mem_snapshot_shmem_map(struct mem_snapshot *obj, struct mem_snapshot *proc, const VmaEntry *e)
{
	int r = protect_mapping(obj, proc, e);

	if (r == 0)
		r = maps_add(obj, proc, e);
	if (r == 0)
		r = maps_add(proc, obj, e);
	return r;
}

/*
 * Whether the object still holds every page of [start, end): cachestat
 * counts those in memory and those in swap (no page: a hole), in a time
 * proportional to the range; SEEK_HOLE, without cachestat (before 6.5),
 * walks up to the next hole, which in an object without one is its end.
 */
static bool holds_all(const struct mem_snapshot *obj, uint64_t start, uint64_t end)
{
	struct stasis_cachestat_range range = {start, end - start};
	struct stasis_cachestat cs;
	off_t hole;

	if (sys_cachestat(obj->mem_fd, &range, &cs, 0) == 0)
		return cs.nr_cache + cs.nr_evicted >= (end - start) / MEM_PAGE_SIZE;
	hole = lseek(obj->mem_fd, (off_t)start, SEEK_HOLE);
	return hole >= 0 && (uint64_t)hole >= end;
}

int snap_shmem_verify(struct mem_snapshot *obj, int thread, uint64_t start, uint64_t end)
{
	uint64_t a, b;
	int r;

	for (size_t i = 0; i < obj->nmaps; i++) {
		if (!map_window(&obj->maps[i], start, end, &a, &b))
			continue;
		r = mem_scan_all_protected(obj->maps[i].peer->scan[thread], a, b);
		if (r < 0)
			return r;
		if (r == 0) {
			pr_err("%s: its mapping of %s at %" PRIx64 "-%" PRIx64 " lost its write "
			       "protection before stasis saved those pages (unmapped, moved, or "
			       "mapped again): the snapshot would not be consistent; dump again, "
			       "or without --snapshot",
			       obj->maps[i].peer->label, obj->label, a, b);
			return -ESTALE;
		}
	}
	if (holds_all(obj, start, end))
		return 0;
	pr_err("%s: pages in %" PRIx64 "-%" PRIx64 " were punched out of it (MADV_REMOVE, "
	       "fallocate) before stasis saved them: the snapshot would not be consistent; "
	       "dump again, or without --snapshot",
	       obj->label, start, end);
	return -ESTALE;
}

/* Release [start, end) of obj in every mapping but skip (released by the caller). */
static int release_maps(struct mem_snapshot *obj, uint64_t start, uint64_t end, bool wait,
			const struct snap_shmap *skip)
{
	int first = 0;

	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct snap_shmap *m = &obj->maps[i];
		uint64_t a, b;
		int r;

		if ((skip && m->peer == skip->peer && m->start == skip->start) ||
		    !map_window(m, start, end, &a, &b))
			continue;
		r = snap_uffd_protect(m->peer, a, b, false, wait);
		/* Not waiting (the fault server, which reads that userfaultfd's events):
		 * a write there faults and finds the page copied. */
		if (r == -EAGAIN && !wait)
			r = 0;
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

int snap_shmem_release(struct mem_snapshot *obj, uint64_t start, uint64_t end, bool wait)
{
	return release_maps(obj, start, end, wait, NULL);
}

static uint64_t extent_end(const void *base, size_t i)
{
	return ((const struct snap_extent *)base)[i].end;
}

/* The first extent of obj that ends after off. */
static size_t extent_after(const struct mem_snapshot *obj, uint64_t off)
{
	return sorted_lower_bound(obj->x, obj->n, off + 1, extent_end);
}

static const struct snap_shmap *find_map(const struct mem_snapshot *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nmaps; i++)
		if (addr >= s->maps[i].start && addr < s->maps[i].end)
			return &s->maps[i];
	return NULL;
}

/* Copy the pages of obj in [start, end) (offsets) not copied yet; wait for those being copied. */
static int copy_block(struct mem_snapshot *obj, uint64_t start, uint64_t end, uint8_t *buf)
{
	for (size_t i = extent_after(obj, start); i < obj->n && obj->x[i].start < end; i++) {
		const struct snap_extent *x = &obj->x[i];
		uint64_t a = MAX(start, x->start), b = MIN(end, x->end);
		int r = snap_copy_range(obj, 1, x, x->first + (a - x->start) / MEM_PAGE_SIZE,
					x->first + (b - x->start) / MEM_PAGE_SIZE, buf);

		if (r < 0)
			return r;
		obj->pages_faulted += (b - a) / MEM_PAGE_SIZE;
	}
	return 0;
}

bool snap_shmem_serve(struct mem_snapshot *s, uint64_t addr, uint8_t *buf, struct snap_ranges *held)
{
	const struct snap_shmap *m = find_map(s, addr);
	struct mem_snapshot *obj;
	uint64_t off, start, end, a = 0, b = 0;
	int r;

	if (!m)
		return false;
	obj = m->peer;
	off = addr - m->start + m->pgoff;
	start = MAX(m->pgoff, off & ~(uint64_t)(SHMEM_FAULT_BLOCK - 1));
	end = MIN(m->pgoff + (m->end - m->start),
		  (off & ~(uint64_t)(SHMEM_FAULT_BLOCK - 1)) + SHMEM_FAULT_BLOCK);
	r = copy_block(obj, start, end, buf);
	if (r < 0)
		snap_set_err(obj, r);
	/* Whatever happened, the writer goes on; the other mappings are spared a fault. */
	if (r == 0)
		(void)release_maps(obj, start, end, false, m);
	map_window(m, start, end, &a, &b);
	r = snap_ranges_add(held, a, b);
	if (r < 0) {
		snap_set_err(obj, r);
		(void)snap_uffd_protect(s, a, b, false, false);
	}
	return true;
}

void snap_shmem_forked(struct mem_snapshot *s)
{
	for (size_t i = 0; i < s->nmaps; i++) {
		struct mem_snapshot *obj = s->maps[i].peer;
		bool copied;

		pthread_mutex_lock(&obj->lock);
		copied = obj->copied;
		pthread_mutex_unlock(&obj->lock);
		if (copied)
			continue;
		pr_err("%s forked while its shared memory (%s) was being saved: the child could "
		       "write to it unseen, the snapshot would not be consistent; dump again, or "
		       "without --snapshot",
		       s->label, obj->label);
		snap_set_err(obj, -EBUSY);
		return;
	}
}
