/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading process memory from images: pagemap-ID.img lists extents
 * (PagemapHead, then PagemapEntry...), the present ones are stored back to
 * back in pages-N.img, and PE_PARENT ones are in the parent image set of an
 * incremental dump, looked up there under the same id.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/sorted.h"
#include "image/internal.h"
#include "image/pb-msgs.h"

struct img_pagemap {
	struct img_dir *dir; /* borrowed */
	enum img_type type;
	uint64_t id;
	char *label;       /* the pagemap file, for messages */
	char *pages_label; /* the pages file */
	uint32_t pages_id;
	int pages_fd;
	uint64_t pages_size;
	struct img_page_extent *ext;
	size_t n;
	struct img_pagemap *parent;
};

void img_pagemap_free(struct img_pagemap *pm)
{
	if (!pm)
		return;
	img_pagemap_free(pm->parent);
	safe_close(pm->pages_fd);
	free(pm->ext);
	free(pm->label);
	free(pm->pages_label);
	free(pm);
}

size_t img_pagemap_extents(const struct img_pagemap *pm, const struct img_page_extent **ret_ext)
{
	*ret_ext = pm->ext;
	return pm->n;
}

uint32_t img_pagemap_pages_id(const struct img_pagemap *pm)
{
	return pm->pages_id;
}

int img_pagemap_pages_fd(const struct img_pagemap *pm)
{
	return pm->pages_fd;
}

/* CRIU < 4.2 kept the count in field 2 and had in_parent instead of flags. */
static void entry_to_extent(const PagemapEntry *pe, struct img_page_extent *x)
{
	x->vaddr = pe->vaddr;
	x->nr_pages = pe->has_nr_pages ? pe->nr_pages : pe->compat_nr_pages;
	if (pe->has_flags)
		x->flags = pe->flags;
	else
		x->flags = pe->has_in_parent && pe->in_parent ? IMG_PE_PARENT : IMG_PE_PRESENT;
	if (pe->has_in_parent && pe->in_parent)
		x->flags |= IMG_PE_PARENT;
}

static int extent_check(const struct img_file *f, const struct img_entry *e,
			const struct img_page_extent *x, uint64_t prev_end)
{
	const char *why = NULL;

	if (x->vaddr % IMG_PAGE_SIZE)
		why = "vaddr is not page aligned";
	else if (x->nr_pages == 0)
		why = "no pages";
	else if (x->nr_pages > (UINT64_MAX - x->vaddr) / IMG_PAGE_SIZE)
		why = "the extent wraps around the address space";
	else if (x->vaddr < prev_end)
		why = "overlaps the previous entry or is out of order";
	else if ((x->flags & IMG_PE_PARENT) && (x->flags & IMG_PE_PRESENT))
		why = "flags say both PE_PARENT and PE_PRESENT";
	if (!why)
		return 0;
	pr_err("%s: entry %u at offset 0x%llx: vaddr 0x%llx, %llu pages: %s", img_file_label(f),
	       e->index, (unsigned long long)e->offset, (unsigned long long)x->vaddr,
	       (unsigned long long)x->nr_pages, why);
	return -EBADMSG;
}

static int add_extent(struct img_pagemap *pm, size_t *cap, const struct img_page_extent *x)
{
	if (pm->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct img_page_extent *n = reallocarray(pm->ext, ncap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		pm->ext = n;
		*cap = ncap;
	}
	pm->ext[pm->n++] = *x;
	return 0;
}

static int load_extents(struct img_pagemap *pm, struct img_file *f, uint64_t *ret_present_bytes)
{
	uint64_t prev_end = 0, off = 0;
	bool have_head = false;
	size_t cap = 0;
	int r;

	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		struct img_page_extent x = {};

		r = img_next(f, &e);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		if (e.index == 0) {
			pm->pages_id = ((PagemapHead *)e.msg)->pages_id;
			have_head = true;
			continue;
		}
		entry_to_extent((PagemapEntry *)e.msg, &x);
		r = extent_check(f, &e, &x, prev_end);
		if (r < 0)
			return r;
		if (x.flags & IMG_PE_PRESENT) {
			x.file_off = off;
			off += x.nr_pages * IMG_PAGE_SIZE;
		}
		prev_end = x.vaddr + x.nr_pages * IMG_PAGE_SIZE;
		r = add_extent(pm, &cap, &x);
		if (r < 0)
			return r;
	}
	if (!have_head) {
		pr_err("%s: no pagemap_head entry", pm->label);
		return -EBADMSG;
	}
	*ret_present_bytes = off;
	return 0;
}

static int open_pages(struct img_pagemap *pm, uint64_t present_bytes)
{
	char name[64];
	struct stat st;
	int r;

	r = img_file_name(IMG_PAGES, pm->pages_id, name, sizeof(name));
	if (r < 0)
		return r;
	pm->pages_label = path_join_label(img_dir_path(pm->dir), name);
	if (!pm->pages_label)
		return -ENOMEM;
	pm->pages_fd = openat(img_dir_fd(pm->dir), name, O_RDONLY | O_CLOEXEC);
	if (pm->pages_fd < 0) {
		r = negative_errno();
		/* A pagemap with nothing present (all in the parent) needs no pages file. */
		if (r == -ENOENT && present_bytes == 0)
			return 0;
		pr_perror("%s: cannot open %s", pm->label, pm->pages_label);
		return r;
	}
	if (fstat(pm->pages_fd, &st) < 0) {
		r = negative_errno();
		pr_perror("cannot stat %s", pm->pages_label);
		return r;
	}
	pm->pages_size = st.st_size;
	if (present_bytes > pm->pages_size) {
		pr_err("%s: its entries need 0x%llx bytes of pages, %s has only 0x%llx", pm->label,
		       (unsigned long long)present_bytes, pm->pages_label,
		       (unsigned long long)pm->pages_size);
		return -EBADMSG;
	}
	return 0;
}

int img_pagemap_open(struct img_dir *dir, enum img_type pagemap_type, uint64_t id,
		     struct img_pagemap **ret_pm)
{
	_cleanup_(img_pagemap_freep) struct img_pagemap *pm = NULL;
	_cleanup_img_file_ struct img_file *f = NULL;
	uint64_t present_bytes = 0;
	int r;

	if (pagemap_type != IMG_PAGEMAP && pagemap_type != IMG_SHMEM_PAGEMAP)
		return -EINVAL;
	r = img_open(dir, pagemap_type, id, &f);
	if (r < 0)
		return r;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->pages_fd = -1;
	pm->dir = dir;
	pm->type = pagemap_type;
	pm->id = id;
	pm->label = strdup(img_file_label(f));
	if (!pm->label)
		return -ENOMEM;
	r = load_extents(pm, f, &present_bytes);
	if (r < 0)
		return r;
	r = open_pages(pm, present_bytes);
	if (r < 0)
		return r;
	*ret_pm = TAKE_PTR(pm);
	return 0;
}

static uint64_t extent_end(const void *base, size_t i)
{
	const struct img_page_extent *x = &((const struct img_page_extent *)base)[i];

	return x->vaddr + x->nr_pages * IMG_PAGE_SIZE;
}

/* The extent holding addr, or NULL; *ret_next is the first extent above addr (or NULL). */
static const struct img_page_extent *find_extent(const struct img_pagemap *pm, uint64_t addr,
						 const struct img_page_extent **ret_next)
{
	/* First extent whose end is above addr. */
	size_t lo = sorted_lower_bound(pm->ext, pm->n, addr + 1, extent_end);

	if (lo == pm->n) {
		*ret_next = NULL;
		return NULL;
	}
	if (pm->ext[lo].vaddr <= addr)
		return &pm->ext[lo];
	*ret_next = &pm->ext[lo];
	return NULL;
}

static int get_parent(struct img_pagemap *pm, uint64_t addr, struct img_pagemap **ret)
{
	struct img_dir *pdir;
	int r;

	if (pm->parent) {
		*ret = pm->parent;
		return 0;
	}
	r = img_dir_parent(pm->dir, &pdir);
	if (r == -ENOENT) {
		pr_err("%s: the page at 0x%llx is in the parent image set, but %s has no "
		       "\"parent\"",
		       pm->label, (unsigned long long)addr, img_dir_path(pm->dir));
		return r;
	}
	if (r < 0)
		return r;
	r = img_pagemap_open(pdir, pm->type, pm->id, &pm->parent);
	if (r == -ENOENT) {
		char name[64];

		img_file_name(pm->type, pm->id, name, sizeof(name));
		pr_err("%s: the page at 0x%llx is in the parent image set, which has no %s",
		       pm->label, (unsigned long long)addr, name);
	}
	if (r < 0)
		return r;
	*ret = pm->parent;
	return 0;
}

static int read_present(struct img_pagemap *pm, const struct img_page_extent *x, uint64_t addr,
			uint8_t *buf, size_t len)
{
	uint64_t off = x->file_off + (addr - x->vaddr);

	while (len) {
		ssize_t n = pread(pm->pages_fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = negative_errno();

			pr_perror("cannot read %s at offset 0x%llx", pm->pages_label,
				  (unsigned long long)off);
			return r;
		}
		if (n == 0) {
			pr_err("%s: ends at offset 0x%llx, inside the pages of 0x%llx",
			       pm->pages_label, (unsigned long long)off, (unsigned long long)addr);
			return -EBADMSG;
		}
		buf += n;
		len -= n;
		off += n;
		addr += n;
	}
	return 0;
}

int img_pagemap_read(struct img_pagemap *pm, uint64_t vaddr, void *buf, size_t len, unsigned flags)
{
	uint8_t *p = buf;
	int r;

	if (len > UINT64_MAX - vaddr)
		return -EINVAL;
	while (len) {
		const struct img_page_extent *next = NULL;
		const struct img_page_extent *x = find_extent(pm, vaddr, &next);
		struct img_pagemap *parent;
		uint64_t chunk;

		if (!x) {
			chunk = next ? MIN((uint64_t)len, next->vaddr - vaddr) : len;
			if (!(flags & IMG_READ_HOLES_AS_ZERO)) {
				pr_err("%s: no page at 0x%llx in the images", pm->label,
				       (unsigned long long)vaddr);
				return -ENOENT;
			}
			memset(p, 0, chunk);
		} else {
			chunk = MIN((uint64_t)len, x->vaddr + x->nr_pages * IMG_PAGE_SIZE - vaddr);
			if (x->flags & IMG_PE_PRESENT)
				r = read_present(pm, x, vaddr, p, chunk);
			else if (x->flags & IMG_PE_PARENT) {
				r = get_parent(pm, vaddr, &parent);
				if (r >= 0)
					r = img_pagemap_read(parent, vaddr, p, chunk, flags);
			} else {
				pr_err("%s: the page at 0x%llx is lazy: its contents are not in "
				       "the images",
				       pm->label, (unsigned long long)vaddr);
				r = -ENOENT;
			}
			if (r < 0)
				return r;
		}
		p += chunk;
		vaddr += chunk;
		len -= chunk;
	}
	return 0;
}
