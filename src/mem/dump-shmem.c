/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pagemap-shmem-SHMID.img: the pages of a shared anonymous memory object,
 * saved once whatever the number of tasks and VMAs that map it. The object
 * is reached through /proc/PID/map_files of one of its VMAs; SEEK_DATA and
 * SEEK_HOLE on it say which pages were ever written (swapped ones too,
 * which a page table walk of the task would miss when they are not mapped
 * there), and pread copies them without mapping anything. Entries are at
 * the page's offset in the object, as CRIU writes them.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"
#include "mem/internal.h"

int mem_shmem_next_data(int fd, uint64_t off, uint64_t size, uint64_t *ret_start, uint64_t *ret_end)
{
	off_t data, hole;

	data = lseek(fd, (off_t)off, SEEK_DATA);
	if (data < 0)
		return negative_errno();
	if ((uint64_t)data >= size)
		return -ENXIO;
	hole = lseek(fd, data, SEEK_HOLE);
	if (hole < 0)
		return negative_errno();
	*ret_start = (uint64_t)data & ~(uint64_t)(MEM_PAGE_SIZE - 1);
	*ret_end = MIN(ALIGN_UP((uint64_t)hole, (uint64_t)MEM_PAGE_SIZE), size);
	return 0;
}

/*
 * What an incremental dump saves against: the pages written since the
 * parent's scan (bits), and the parent's pagemap of the object, which holds
 * the others it had (an object's page that was a hole then is copied).
 */
struct against {
	const uint8_t *bits;
	uint64_t npages;
	struct img_pagemap *parent;
	const struct img_page_extent *ext;
	size_t next;
	size_t n;
};

static bool page_written(const struct against *a, uint64_t page)
{
	return page < a->npages && (a->bits[page / 8] & (1u << (page % 8)));
}

/* Does the parent chain hold the page at off? Offsets come in increasing order. */
static bool parent_has(struct against *a, uint64_t off)
{
	while (a->next < a->n &&
	       a->ext[a->next].vaddr + a->ext[a->next].nr_pages * MEM_PAGE_SIZE <= off)
		a->next++;
	return a->next < a->n && a->ext[a->next].vaddr <= off &&
	       (a->ext[a->next].flags & (IMG_PE_PRESENT | IMG_PE_PARENT));
}

/* The page at off is kept in the parent chain: not written since, and held there. */
static bool kept(struct against *a, uint64_t off)
{
	return a && !page_written(a, off / MEM_PAGE_SIZE) && parent_has(a, off);
}

/* A run of data pages: copied, or, against a parent, split into copied and kept there. */
static int add_run(struct mem_copier *copier, struct against *a, uint64_t start, uint64_t end,
		   struct mem_dump_stats *st)
{
	while (start < end) {
		uint64_t off = start;
		bool keep = kept(a, off);
		int r;

		do
			off += MEM_PAGE_SIZE;
		while (off < end && kept(a, off) == keep);
		r = mem_copier_add(copier, start, off - start,
				   keep ? IMG_PE_PARENT : IMG_PE_PRESENT, true);
		if (r < 0)
			return r;
		if (keep)
			st->pages_parent += (off - start) / MEM_PAGE_SIZE;
		else
			st->pages_written += (off - start) / MEM_PAGE_SIZE;
		start = off;
	}
	return 0;
}

static int copy_object(int fd, uint64_t size, struct mem_copier *copier, struct against *a,
		       struct mem_dump_stats *st)
{
	uint64_t off = 0, start, end;
	int r;

	while (off < size) {
		r = mem_shmem_next_data(fd, off, size, &start, &end);
		if (r == -ENXIO)
			break;
		if (r < 0) {
			errno = -r;
			pr_perror("cannot find the data of a shared memory object at %" PRIx64,
				  off);
			return r;
		}
		r = add_run(copier, a, start, end, st);
		if (r < 0)
			return r;
		off = end;
	}
	return 0;
}

static int dump_object(int fd, uint64_t shmid, uint64_t size, struct img_dir *dir,
		       uint32_t pages_id, struct against *a, struct mem_dump_stats *stats)
{
	_cleanup_img_pagemap_writer_ struct img_pagemap_writer *w = NULL;
	_cleanup_(mem_copier_freep) struct mem_copier *copier = NULL;
	uint64_t end = ALIGN_UP(size, (uint64_t)MEM_PAGE_SIZE);
	struct mem_dump_stats st = {};
	char label[32];
	int r;

	r = img_pagemap_writer_open(dir, IMG_SHMEM_PAGEMAP, shmid, pages_id, &w);
	if (r < 0)
		return r;
	snprintf(label, sizeof(label), "shmem %" PRIu64, shmid);
	r = mem_copier_open(label, 0, fd, w, MEM_DUMP_BUF_DEFAULT, false, &copier);
	if (r < 0)
		return r;
	mem_copier_zero_past_end(copier);
	r = copy_object(fd, end, copier, a, &st);
	if (r < 0)
		return r;
	r = mem_copier_finish(copier);
	if (r < 0)
		return r;
	r = img_pagemap_writer_commit(TAKE_PTR(w));
	if (r < 0)
		return r;
	if (stats) {
		stats->pages_scanned += end / MEM_PAGE_SIZE;
		stats->pages_written += st.pages_written;
		stats->pages_parent += st.pages_parent;
	}
	return 0;
}

int mem_dump_shmem_fd(int fd, uint64_t shmid, uint64_t size, struct img_dir *dir, uint32_t pages_id,
		      struct mem_dump_stats *stats)
{
	return dump_object(fd, shmid, size, dir, pages_id, NULL, stats);
}

int mem_shmem_open_object(pid_t pid, const VmaEntry *vma, uint64_t size, int *ret_fd)
{
	char path[96];
	int fd, r;

	if (!mem_vma_is(vma, VMA_ANON_SHARED) || size % MEM_PAGE_SIZE)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, vma->start,
		 vma->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		/* (-ENOENT: unmapped by a task that runs; the caller decides.) */
		if (r != -ENOENT)
			pr_perror("cannot open the shared memory %" PRIu64 " through %s",
				  vma->shmid, path);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int mem_dump_shmem(pid_t pid, const VmaEntry *vma, uint64_t size, struct img_dir *dir,
		   uint32_t pages_id, struct mem_dump_stats *stats)
{
	return mem_dump_shmem_tracked(NULL, pid, vma, size, dir, pages_id, stats);
}

/* The parent image set's pagemap of the object: -ENOENT if it has none. */
static int open_parent(struct img_dir *dir, uint64_t shmid, struct img_pagemap **ret)
{
	struct img_dir *pdir;
	int r = img_dir_parent(dir, &pdir);

	if (r < 0)
		return r;
	return img_pagemap_open(pdir, IMG_SHMEM_PAGEMAP, shmid, ret);
}

int mem_dump_shmem_tracked(const struct mem_shmem_track *t, pid_t pid, const VmaEntry *vma,
			   uint64_t size, struct img_dir *dir, uint32_t pages_id,
			   struct mem_dump_stats *stats)
{
	_cleanup_img_pagemap_ struct img_pagemap *parent = NULL;
	_cleanup_close_ int fd = -1;
	struct against a = {};
	int r;

	r = mem_shmem_open_object(pid, vma, size, &fd);
	if (r < 0)
		return r;
	if (!mem_shmem_track_written(t, vma->shmid, &a.bits, &a.npages))
		return dump_object(fd, vma->shmid, size, dir, pages_id, NULL, stats);
	r = open_parent(dir, vma->shmid, &parent);
	if (r == -ENOENT) {
		pr_debug("shmem %" PRIu64 ": not in the parent image set: saved whole", vma->shmid);
		return dump_object(fd, vma->shmid, size, dir, pages_id, NULL, stats);
	}
	if (r < 0)
		return r;
	a.parent = parent;
	a.n = img_pagemap_extents(parent, &a.ext);
	return dump_object(fd, vma->shmid, size, dir, pages_id, &a, stats);
}
