/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * --auto-dedup (docs/predump.md): once an image set is written, the pages
 * it saved again are punched out of the pages files of the image sets below
 * it (fallocate PUNCH_HOLE): a page PE_PRESENT in the parent is punched
 * there; a page PE_PARENT in the parent is looked for further down. The
 * walk stops at a restorable image set (one with inventory.img: a dump, not
 * a pre-dump), so that every set that can be restored still restores; only
 * pre-dumps, which nothing but their children reads, lose pages.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"

struct range {
	uint64_t start, end;
};

struct ranges {
	struct range *v;
	size_t n, cap;
};

static int ranges_add(struct ranges *r, uint64_t start, uint64_t end)
{
	if (r->n && r->v[r->n - 1].end == start) {
		r->v[r->n - 1].end = end;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct range *v = reallocarray(r->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct range){start, end};
	return 0;
}

static int punch(int fd, const char *dir, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
		int r = negative_errno();

		pr_perror("%s: cannot punch the pages at offset %" PRIu64 " out", dir, off);
		return r;
	}
	return 0;
}

/* Which pagemap image: pagemap-PID.img or pagemap-shmem-SHMID.img. */
struct pm_key {
	enum img_type type;
	uint64_t id;
};

/*
 * In the image set `dir`, punch the pages of `want` that it holds; those it
 * keeps in its own parent go to *deeper.
 */
static int dedup_level(struct img_dir *dir, struct pm_key key, const struct ranges *want,
		       struct ranges *deeper, uint64_t *punched)
{
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	_cleanup_close_ int fd = -1;
	const struct img_page_extent *x;
	char name[64];
	size_t nx, i = 0;
	int r;

	r = img_pagemap_open(dir, key.type, key.id, &pm);
	if (r < 0)
		return r;
	nx = img_pagemap_extents(pm, &x);
	r = img_file_name(IMG_PAGES, img_pagemap_pages_id(pm), name, sizeof(name));
	if (r < 0)
		return r;
	fd = openat(img_dir_fd(dir), name, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_perror("%s: cannot open %s", img_dir_path(dir), name);
		return r;
	}
	for (size_t k = 0; k < nx; k++) {
		uint64_t end = x[k].vaddr + x[k].nr_pages * IMG_PAGE_SIZE;

		while (i < want->n && want->v[i].end <= x[k].vaddr)
			i++;
		for (size_t j = i; j < want->n && want->v[j].start < end; j++) {
			uint64_t a = MAX(want->v[j].start, x[k].vaddr),
				 b = MIN(want->v[j].end, end);

			if (x[k].flags & IMG_PE_PRESENT) {
				r = punch(fd, img_dir_path(dir), x[k].file_off + (a - x[k].vaddr),
					  b - a);
				*punched += (b - a) / IMG_PAGE_SIZE;
			} else if (x[k].flags & IMG_PE_PARENT) {
				r = ranges_add(deeper, a, b);
			}
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static bool restorable(struct img_dir *dir)
{
	return faccessat(img_dir_fd(dir), "inventory.img", F_OK, 0) == 0;
}

/* The pages of key's image that dir saved, punched out of the pre-dumps below it. */
static int dedup_image(struct img_dir *dir, struct pm_key key, uint64_t *punched)
{
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	struct ranges want = {}, deeper = {};
	const struct img_page_extent *x;
	size_t nx;
	int r;

	r = img_pagemap_open(dir, key.type, key.id, &pm);
	if (r < 0)
		return r;
	nx = img_pagemap_extents(pm, &x);
	for (size_t k = 0; r >= 0 && k < nx; k++)
		if (x[k].flags & IMG_PE_PRESENT)
			r = ranges_add(&want, x[k].vaddr,
				       x[k].vaddr + x[k].nr_pages * IMG_PAGE_SIZE);
	while (r >= 0 && want.n) {
		struct ranges t;

		r = img_dir_parent(dir, &dir);
		if (r == -ENOENT || (r >= 0 && restorable(dir))) {
			r = 0;
			break;
		}
		if (r >= 0)
			r = dedup_level(dir, key, &want, &deeper, punched);
		if (r == -ENOENT) { /* a process or object new since that set */
			r = 0;
			break;
		}
		t = want;
		want = deeper;
		deeper = (struct ranges){.v = t.v, .cap = t.cap};
	}
	free(want.v);
	free(deeper.v);
	return r;
}

int dump_dedup(struct img_dir *dir)
{
	_cleanup_close_ int fd = openat(img_dir_fd(dir), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uint64_t punched = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = fd < 0 ? NULL : fdopendir(TAKE_FD(fd));
	if (!d)
		return negative_errno();
	while (r >= 0 && (de = readdir(d))) {
		unsigned long long id;
		char tail;

		if (sscanf(de->d_name, "pagemap-%llu.im%c", &id, &tail) == 2 && tail == 'g')
			r = dedup_image(dir, (struct pm_key){IMG_PAGEMAP, id}, &punched);
		else if (sscanf(de->d_name, "pagemap-shmem-%llu.im%c", &id, &tail) == 2 &&
			 tail == 'g')
			r = dedup_image(dir, (struct pm_key){IMG_SHMEM_PAGEMAP, id}, &punched);
	}
	closedir(d);
	if (r >= 0)
		pr_info("%s: --auto-dedup punched %" PRIu64 " pages out of the pre-dumps below it",
			img_dir_path(dir), punched);
	return r;
}
