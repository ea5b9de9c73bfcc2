/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing pagemap-ID.img and pages-N.img together, as CRIU 4.2 does: a
 * PagemapHead, then one PagemapEntry per extent with the page count in
 * nr_pages (compat_nr_pages left 0), present pages appended to pages-N.img.
 */

#include <stdlib.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/internal.h"
#include "image/pb-msgs.h"

struct img_pagemap_writer {
	struct img_writer *pagemap;
	struct img_writer *pages;
	int pages_fd;       /* owned by ->pages */
	uint64_t pages_end; /* bytes of pages written so far */
	uint64_t next_vaddr;
};

void img_pagemap_writer_free(struct img_pagemap_writer *w)
{
	if (!w)
		return;
	img_writer_free(w->pagemap);
	img_writer_free(w->pages);
	free(w);
}

int img_pagemap_writer_open(struct img_dir *dir, enum img_type pagemap_type, uint64_t id,
			    uint32_t pages_id, struct img_pagemap_writer **ret_w)
{
	_cleanup_(img_pagemap_writer_freep) struct img_pagemap_writer *w = NULL;
	PagemapHead head = PAGEMAP_HEAD__INIT;
	int r;

	if (pagemap_type != IMG_PAGEMAP && pagemap_type != IMG_SHMEM_PAGEMAP)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	r = img_create(dir, pagemap_type, id, &w->pagemap);
	if (r < 0)
		return r;
	r = img_create(dir, IMG_PAGES, pages_id, &w->pages);
	if (r < 0)
		return r;
	/* Pages are written straight to the fd, so that callers may append there too. */
	w->pages_fd = img_writer_fd(w->pages);
	if (w->pages_fd < 0)
		return w->pages_fd;
	head.pages_id = pages_id;
	r = img_write_entry(w->pagemap, &head.base, NULL, 0);
	if (r < 0)
		return r;
	*ret_w = TAKE_PTR(w);
	return 0;
}

int img_pagemap_writer_pages_fd(struct img_pagemap_writer *w)
{
	return w->pages_fd;
}

static int check_extent(uint64_t vaddr, uint64_t nr_pages, uint32_t flags, uint64_t next_vaddr)
{
	if (vaddr % IMG_PAGE_SIZE || nr_pages == 0 ||
	    nr_pages > (UINT64_MAX - vaddr) / IMG_PAGE_SIZE || vaddr < next_vaddr)
		return -EINVAL;
	if (flags & ~(IMG_PE_PARENT | IMG_PE_LAZY | IMG_PE_PRESENT))
		return -EINVAL;
	if ((flags & IMG_PE_PARENT) && (flags & IMG_PE_PRESENT))
		return -EINVAL;
	return 0;
}

/*
 * The caller appended the pages itself: the file must hold them (it may
 * already hold the pages of later extents too, appended in bulk).
 */
static int check_appended(struct img_pagemap_writer *w, uint64_t bytes)
{
	struct stat st;

	if (fstat(w->pages_fd, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_size < w->pages_end + bytes) {
		pr_err("pages file is 0x%llx bytes long, at least 0x%llx expected after this extent",
		       (unsigned long long)st.st_size, (unsigned long long)(w->pages_end + bytes));
		return -EINVAL;
	}
	return 0;
}

int img_pagemap_writer_add(struct img_pagemap_writer *w, uint64_t vaddr, uint64_t nr_pages,
			   uint32_t flags, const void *data)
{
	PagemapEntry pe = PAGEMAP_ENTRY__INIT;
	uint64_t bytes;
	int r;

	r = check_extent(vaddr, nr_pages, flags, w->next_vaddr);
	if (r < 0) {
		pr_err("bad pagemap extent: vaddr 0x%llx, %llu pages, flags 0x%x (next free "
		       "0x%llx)",
		       (unsigned long long)vaddr, (unsigned long long)nr_pages, flags,
		       (unsigned long long)w->next_vaddr);
		return r;
	}
	bytes = nr_pages * IMG_PAGE_SIZE;
	if (flags & IMG_PE_PRESENT) {
		if (bytes > SIZE_MAX)
			return -E2BIG;
		if (!data)
			r = check_appended(w, bytes);
		else if ((r = write_all(w->pages_fd, data, bytes)) < 0) {
			errno = -r;
			pr_perror("cannot write pages for 0x%llx", (unsigned long long)vaddr);
		}
		if (r < 0)
			return r;
		w->pages_end += bytes;
	}
	pe.vaddr = vaddr;
	pe.compat_nr_pages = 0;
	pe.has_flags = true;
	pe.flags = flags;
	pe.has_nr_pages = true;
	pe.nr_pages = nr_pages;
	r = img_write_entry(w->pagemap, &pe.base, NULL, 0);
	if (r < 0)
		return r;
	w->next_vaddr = vaddr + bytes;
	return 0;
}

int img_pagemap_writer_commit(struct img_pagemap_writer *w)
{
	_cleanup_(img_pagemap_writer_freep) struct img_pagemap_writer *ww = w;
	int r;

	/* Pages first: a pagemap that is in place always finds its pages. */
	r = img_writer_commit(TAKE_PTR(w->pages));
	if (r < 0)
		return r;
	return img_writer_commit(TAKE_PTR(w->pagemap));
}
