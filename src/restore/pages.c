/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filling the task's memory from the images. The pages file is mapped in
 * windows of RST_WINDOW_SIZE, one at a time per copying thread, so that the
 * controller's memory does not grow with the task's. Private anonymous VMAs are filled with
 * UFFDIO_COPY (pages-uffd.c), which does not zero the pages first; the
 * others, and all of them where userfaultfd is not available, with
 * process_vm_writev() in batches of many extents. Either way each byte is
 * copied once, from the page cache into the task. Pages kept in a parent
 * image set (incremental dumps) go through a bounded buffer.
 *
 * Every page must land in a private VMA of the task; pages of the vDSO are
 * skipped (the task has this kernel's own, vdso.c checked they match).
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "base/sorted.h"
#include "restore/internal.h"
#include "restore/pages.h"

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

/*
 * What a fill works with: the batch of process_vm_writev(), the task's
 * userfaultfd (NULL if none) and which VMAs are registered with it.
 */
struct filler {
	struct rst_ctx *c;
	struct batch b;
	struct rst_uffd *u;
	bool *by_uffd; /* c->nvmas of them */
};

int rst_window_open(struct rst_ctx *c, struct img_pagemap *pm, struct rst_window *w)
{
	int fd = img_pagemap_pages_fd(pm);
	struct stat st = {0};

	*w = (struct rst_window){.pm = pm};
	if (fd >= 0 && fstat(fd, &st) < 0) {
		int r = negative_errno();
		rst_err(c, "cannot stat pages-%u.img: %s", img_pagemap_pages_id(pm), strerror(-r));
		return r;
	}
	w->size = (uint64_t)st.st_size;
	return 0;
}

void rst_window_close(struct rst_window *w)
{
	if (w->base)
		munmap((void *)w->base, w->len);
	w->base = NULL;
}

bool rst_window_has(const struct rst_window *w, uint64_t off)
{
	return w->base && off >= w->off && off < w->off + w->len;
}

/* Map the window of the file that holds offset off, in place of the current one. */
static int window_move(struct rst_ctx *c, struct rst_window *w, uint64_t off)
{
	uint64_t start = off - off % RST_WINDOW_SIZE, len;
	void *p;

	if (off >= w->size) {
		rst_err(c, "pages-%u.img: pages at offset %llu are beyond its end (%llu bytes)",
			img_pagemap_pages_id(w->pm), (unsigned long long)off,
			(unsigned long long)w->size);
		return -EBADMSG;
	}
	rst_window_close(w);
	len = MIN(RST_WINDOW_SIZE, w->size - start);
	/* Populated: the copies from it then take no fault on this side. */
	p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, img_pagemap_pages_fd(w->pm),
		 (off_t)start);
	if (p == MAP_FAILED) {
		int r = negative_errno();
		rst_err(c, "cannot map pages-%u.img at offset %llu: %s",
			img_pagemap_pages_id(w->pm), (unsigned long long)start, strerror(-r));
		return r;
	}
	w->base = p;
	w->off = start;
	w->len = len;
	return 0;
}

int rst_window_at(struct rst_ctx *c, struct rst_window *w, uint64_t off, uint64_t *len,
		  const uint8_t **ret)
{
	if (!rst_window_has(w, off)) {
		int r = window_move(c, w, off);

		if (r < 0)
			return r;
	}
	*len = MIN(*len, w->off + w->len - off);
	*ret = w->base + (off - w->off);
	return 0;
}

/* Pages [dst, dst + len) of the task from offset off of the window's file. */
static int put(struct filler *f, struct rst_window *w, uint64_t off, uint64_t dst, uint64_t len,
	       bool uffd)
{
	if (uffd)
		return rst_uffd_queue(f->u, off, dst, len);
	while (len) {
		uint64_t n = len;
		const uint8_t *src;
		/* The batch points into the window: written before the window moves. */
		int r = rst_window_has(w, off) ? 0 : flush(f->c, &f->b);

		if (r == 0)
			r = rst_window_at(f->c, w, off, &n, &src);
		if (r == 0)
			r = add(f->c, &f->b, src, dst, n);
		if (r < 0)
			return r;
		off += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/* Pages kept in the parent image set: through a buffer, chunk by chunk. */
static int write_from_parent(struct filler *f, struct img_pagemap *pm, uint64_t vaddr, uint64_t dst,
			     uint64_t len, bool uffd)
{
	struct rst_ctx *c = f->c;
	_cleanup_free_ uint8_t *buf = malloc(MIN(len, PARENT_CHUNK));
	int r;

	if (!buf)
		return -ENOMEM;
	while (len) {
		size_t chunk = MIN(len, PARENT_CHUNK);

		r = img_pagemap_read(pm, vaddr, buf, chunk, 0);
		if (r < 0)
			return r;
		if (uffd) {
			r = rst_uffd_copy(f->u, buf, dst, chunk);
			if (r < 0)
				return r;
		} else {
			r = rsys_write_mem(c->task, dst, buf, chunk);
			if (r < 0) {
				rst_err(c, "cannot write the pages at %llx: %s",
					(unsigned long long)dst, strerror(-r));
				return r;
			}
			c->pages_restored += chunk / RST_PAGE_SIZE;
		}
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

static uint64_t vma_end(const void *base, size_t i)
{
	return ((const struct rst_vma *)base)[i].e->end;
}

/* The index of the private VMA holding addr, or -1 (the VMAs are sorted). */
static ssize_t private_vma(const struct rst_ctx *c, uint64_t addr)
{
	/* The first VMA whose end is above addr. */
	size_t lo = sorted_lower_bound(c->vmas, c->nvmas, addr + 1, vma_end);

	if (lo == c->nvmas || !in_vma(c->vmas[lo].e, addr))
		return -1;
	return (c->vmas[lo].e->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE)) ? (ssize_t)lo : -1;
}

/* One extent of the task's pagemap: [s, e) split at VMA boundaries. */
static int fill_extent(struct filler *f, struct rst_window *w, const struct img_page_extent *x)
{
	struct rst_ctx *c = f->c;
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
		ssize_t v = private_vma(c, s);
		uint64_t end;
		int r;

		if (special) {
			s = MIN(e, special->end);
			continue;
		}
		if (v < 0) {
			rst_err(c, "pagemap-%d.img: the pages at %llx are not in any private VMA",
				c->pid, (unsigned long long)s);
			return -EBADMSG;
		}
		end = MIN(e, c->vmas[v].e->end);
		if (x->flags & IMG_PE_PRESENT)
			r = put(f, w, x->file_off + (s - x->vaddr), s, end - s, f->by_uffd[v]);
		else
			r = write_from_parent(f, c->img.pm, s, s, end - s, f->by_uffd[v]);
		if (r < 0)
			return r;
		s = end;
	}
	return 0;
}

static int fill_private(struct filler *f)
{
	struct rst_ctx *c = f->c;
	const struct img_page_extent *ext;
	size_t n = img_pagemap_extents(c->img.pm, &ext);
	struct rst_window w;
	int r;

	r = rst_window_open(c, c->img.pm, &w);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fill_extent(f, &w, &ext[i]);
	if (r == 0 && f->u)
		r = rst_uffd_run(f->u);
	if (r == 0)
		r = flush(c, &f->b);
	rst_window_close(&w);
	return r;
}

/* A shared anonymous VMA: its object's pages are offsets in pagemap-shmem-SHMID.img. */
static int fill_shared(struct filler *f, const VmaEntry *e)
{
	struct rst_ctx *c = f->c;
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	const struct img_page_extent *ext;
	struct rst_window w;
	size_t n;
	int r;

	r = img_pagemap_open(c->img.dir, IMG_SHMEM_PAGEMAP, e->shmid, &pm);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = rst_window_open(c, pm, &w);
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
			r = put(f, &w, ext[i].file_off, e->start + ext[i].vaddr, size, false);
		} else if (ext[i].flags & IMG_PE_PARENT) {
			r = write_from_parent(f, pm, ext[i].vaddr, e->start + ext[i].vaddr, size,
					      false);
		}
	}
	if (r == 0)
		r = flush(c, &f->b);
	rst_window_close(&w);
	return r;
}

/* Register the VMAs UFFDIO_COPY can fill, if the task could make a userfaultfd. */
static int register_uffd(struct filler *f)
{
	struct rst_ctx *c = f->c;
	int r = rst_uffd_open(c, c->img.pm, &f->u);

	for (size_t i = 0; i < c->nvmas && r == 0 && f->u; i++) {
		if (!c->vmas[i].has_pages || !rst_uffd_fits(&c->vmas[i]))
			continue;
		r = rst_uffd_register(f->u, &c->vmas[i]);
		f->by_uffd[i] = r == 0;
	}
	return r;
}

int rst_pages_fill(struct rst_ctx *c)
{
	_cleanup_free_ struct filler *f = calloc(1, sizeof(*f));
	_cleanup_free_ bool *by_uffd = calloc(c->nvmas + 1, sizeof(*by_uffd));
	int r;

	if (!f || !by_uffd)
		return -ENOMEM;
	*f = (struct filler){.c = c, .by_uffd = by_uffd};
	r = register_uffd(f);
	if (r == 0)
		r = fill_private(f);
	rst_uffd_close(f->u);
	for (size_t i = 0; i < c->nvmas && r == 0; i++)
		if ((c->vmas[i].e->status & VMA_ANON_SHARED) && c->vmas[i].has_pages)
			r = fill_shared(f, c->vmas[i].e);
	if (r == 0)
		rst_info(c, "%llu pages restored", (unsigned long long)c->pages_restored);
	return r;
}
