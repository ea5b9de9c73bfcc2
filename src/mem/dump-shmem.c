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

/* The next run of data in [off, size): -ENXIO when there is none. */
static int next_data(int fd, uint64_t off, uint64_t size, uint64_t *ret_start, uint64_t *ret_end)
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

static int copy_object(int fd, uint64_t size, struct mem_copier *copier, uint64_t *ret_pages)
{
	uint64_t off = 0, start, end, pages = 0;
	int r;

	while (off < size) {
		r = next_data(fd, off, size, &start, &end);
		if (r == -ENXIO)
			break;
		if (r < 0) {
			errno = -r;
			pr_perror("cannot find the data of a shared memory object at %" PRIx64,
				  off);
			return r;
		}
		r = mem_copier_add(copier, start, end - start, IMG_PE_PRESENT, true);
		if (r < 0)
			return r;
		pages += (end - start) / MEM_PAGE_SIZE;
		off = end;
	}
	*ret_pages = pages;
	return 0;
}

int mem_dump_shmem_fd(int fd, uint64_t shmid, uint64_t size, struct img_dir *dir, uint32_t pages_id,
		      struct mem_dump_stats *stats)
{
	_cleanup_img_pagemap_writer_ struct img_pagemap_writer *w = NULL;
	_cleanup_(mem_copier_freep) struct mem_copier *copier = NULL;
	uint64_t pages = 0, end = ALIGN_UP(size, (uint64_t)MEM_PAGE_SIZE);
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
	r = copy_object(fd, end, copier, &pages);
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
		stats->pages_written += pages;
	}
	return 0;
}

int mem_dump_shmem(pid_t pid, const VmaEntry *vma, uint64_t size, struct img_dir *dir,
		   uint32_t pages_id, struct mem_dump_stats *stats)
{
	_cleanup_close_ int fd = -1;
	char path[96];
	int r;

	if (!mem_vma_is(vma, VMA_ANON_SHARED) || size % MEM_PAGE_SIZE)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, vma->start,
		 vma->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_perror("cannot open the shared memory %" PRIu64 " through %s", vma->shmid, path);
		return r;
	}
	return mem_dump_shmem_fd(fd, vma->shmid, size, dir, pages_id, stats);
}
