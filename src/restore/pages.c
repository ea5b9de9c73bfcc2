/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filling the task's memory from the images. The pages file is mapped here
 * and written into the task with process_vm_writev() in batches of many
 * extents, so each byte is copied once, from the page cache into the task.
 * Pages kept in a parent image set (incremental dumps) go through a bounded
 * buffer.
 *
 * Every page must land in a private VMA of the task; pages of the vDSO are
 * skipped (the task has this kernel's own, vdso.c checked they match).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "restore/internal.h"

#define BATCH_IOVS 512
#define PARENT_CHUNK (1UL << 20)

struct batch {
	struct iovec local[BATCH_IOVS], remote[BATCH_IOVS];
	size_t n, bytes;
};

static int flush(struct rst_ctx *c, struct batch *b)
{
	size_t done = 0, i = 0;

	while (i < b->n) {
		ssize_t k = process_vm_writev(c->pid, b->local + i, b->n - i, b->remote + i,
					      b->n - i, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int r = k < 0 ? negative_errno() : -EFAULT;
			rst_err(c, "cannot write the pages at %lx: %s",
				(unsigned long)b->remote[i].iov_base, strerror(-r));
			return r;
		}
		done += (size_t)k;
		/* A short write stops at a page it could not reach: skip what was written. */
		while (i < b->n && (size_t)k >= b->remote[i].iov_len) {
			k -= (ssize_t)b->remote[i].iov_len;
			i++;
		}
		if (i < b->n && k > 0) {
			b->local[i].iov_base = (char *)b->local[i].iov_base + k;
			b->remote[i].iov_base = (char *)b->remote[i].iov_base + k;
			b->local[i].iov_len -= (size_t)k;
			b->remote[i].iov_len -= (size_t)k;
		}
	}
	c->pages_restored += done / RST_PAGE_SIZE;
	b->n = 0;
	b->bytes = 0;
	return 0;
}

static int add(struct rst_ctx *c, struct batch *b, const void *src, uint64_t dst, size_t len)
{
	if (b->n == BATCH_IOVS) {
		int r = flush(c, b);
		if (r < 0)
			return r;
	}
	b->local[b->n] = (struct iovec){(void *)src, len};
	b->remote[b->n] = (struct iovec){(void *)(uintptr_t)dst, len};
	b->n++;
	b->bytes += len;
	return 0;
}

/* Pages kept in the parent image set: through a buffer, chunk by chunk. */
static int write_from_parent(struct rst_ctx *c, struct img_pagemap *pm, uint64_t vaddr,
			     uint64_t dst, uint64_t len)
{
	_cleanup_free_ uint8_t *buf = malloc(MIN(len, PARENT_CHUNK));
	int r;

	if (!buf)
		return -ENOMEM;
	while (len) {
		size_t chunk = MIN(len, PARENT_CHUNK);

		r = img_pagemap_read(pm, vaddr, buf, chunk, 0);
		if (r < 0)
			return r;
		r = rsys_write_mem(c->task, dst, buf, chunk);
		if (r < 0) {
			rst_err(c, "cannot write the pages at %llx: %s", (unsigned long long)dst,
				strerror(-r));
			return r;
		}
		c->pages_restored += chunk / RST_PAGE_SIZE;
		vaddr += chunk;
		dst += chunk;
		len -= chunk;
	}
	return 0;
}

static bool in_vma(const VmaEntry *e, uint64_t addr)
{
	return e && addr >= e->start && addr < e->end;
}

/* The private VMA holding addr, or NULL (the VMAs are sorted). */
static const struct rst_vma *private_vma(const struct rst_ctx *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nvmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->vmas[mid].e->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->nvmas || !in_vma(c->vmas[lo].e, addr))
		return NULL;
	return (c->vmas[lo].e->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)) ? &c->vmas[lo]
									       : NULL;
}

/* One extent of the task's pagemap: [s, e) split at VMA boundaries. */
static int fill_extent(struct rst_ctx *c, struct batch *b, const uint8_t *pages,
		       const struct img_page_extent *x)
{
	uint64_t s = x->vaddr, e = x->vaddr + x->nr_pages * IMG_PAGE_SIZE;

	if (!(x->flags & (IMG_PE_PRESENT | IMG_PE_PARENT))) {
		rst_err(c,
			"the pages at %llx are lazy (kept by a page server); lazy restore is "
			"not supported yet",
			(unsigned long long)s);
		return -EOPNOTSUPP;
	}
	while (s < e) {
		const VmaEntry *special = in_vma(c->vdso, s)   ? c->vdso
					  : in_vma(c->vvar, s) ? c->vvar
							       : NULL;
		const struct rst_vma *v = private_vma(c, s);
		uint64_t end;
		int r;

		if (special) {
			s = MIN(e, special->end);
			continue;
		}
		if (!v) {
			rst_err(c, "pagemap-%d.img: the pages at %llx are not in any private VMA",
				c->pid, (unsigned long long)s);
			return -EBADMSG;
		}
		end = MIN(e, v->e->end);
		if (x->flags & IMG_PE_PRESENT)
			r = add(c, b, pages + x->file_off + (s - x->vaddr), s, end - s);
		else
			r = write_from_parent(c, c->img.pm, s, s, end - s);
		if (r < 0)
			return r;
		s = end;
	}
	return 0;
}

/* Map the pages file read-only; NULL (and 0) if there is none or it is empty. */
static int map_pages(struct rst_ctx *c, struct img_pagemap *pm, const uint8_t **ret,
		     size_t *ret_len)
{
	int fd = img_pagemap_pages_fd(pm);
	struct stat st;
	void *p;

	*ret = NULL;
	*ret_len = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (st.st_size == 0)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int r = negative_errno();
		rst_err(c, "cannot map pages-%u.img: %s", img_pagemap_pages_id(pm), strerror(-r));
		return r;
	}
	*ret = p;
	*ret_len = (size_t)st.st_size;
	return 0;
}

static int fill_private(struct rst_ctx *c, struct batch *b)
{
	const struct img_page_extent *ext;
	size_t n = img_pagemap_extents(c->img.pm, &ext), len;
	const uint8_t *pages;
	int r;

	r = map_pages(c, c->img.pm, &pages, &len);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++)
		r = fill_extent(c, b, pages, &ext[i]);
	if (r == 0)
		r = flush(c, b);
	if (pages)
		munmap((void *)pages, len);
	return r;
}

/* A shared anonymous VMA: its object's pages are offsets in pagemap-shmem-SHMID.img. */
static int fill_shared(struct rst_ctx *c, struct batch *b, const VmaEntry *e)
{
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	const struct img_page_extent *ext;
	const uint8_t *pages;
	size_t n, len;
	int r;

	r = img_pagemap_open(c->img.dir, IMG_SHMEM_PAGEMAP, e->shmid, &pm);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = map_pages(c, pm, &pages, &len);
	if (r < 0)
		return r;
	n = img_pagemap_extents(pm, &ext);
	for (size_t i = 0; i < n && r == 0; i++) {
		uint64_t size = ext[i].nr_pages * IMG_PAGE_SIZE;

		if (ext[i].vaddr + size > e->end - e->start) {
			rst_err(c,
				"pagemap-shmem-%llu.img: pages at offset %llx are beyond VMA "
				"%llx-%llx",
				(unsigned long long)e->shmid, (unsigned long long)ext[i].vaddr,
				(unsigned long long)e->start, (unsigned long long)e->end);
			r = -EBADMSG;
		} else if (ext[i].flags & IMG_PE_PRESENT) {
			r = add(c, b, pages + ext[i].file_off, e->start + ext[i].vaddr, size);
		} else if (ext[i].flags & IMG_PE_PARENT) {
			r = write_from_parent(c, pm, ext[i].vaddr, e->start + ext[i].vaddr, size);
		}
	}
	if (r == 0)
		r = flush(c, b);
	if (pages)
		munmap((void *)pages, len);
	return r;
}

int rst_pages_fill(struct rst_ctx *c)
{
	_cleanup_free_ struct batch *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	r = fill_private(c, b);
	for (size_t i = 0; i < c->nvmas && r == 0; i++)
		if ((c->vmas[i].e->status & VMA_ANON_SHARED) && c->vmas[i].has_pages)
			r = fill_shared(c, b, c->vmas[i].e);
	if (r == 0)
		rst_info(c, "%llu pages restored", (unsigned long long)c->pages_restored);
	return r;
}
