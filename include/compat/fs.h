/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * <linux/fs.h> additions newer than Debian 12's headers: the PAGEMAP_SCAN
 * ioctl on /proc/PID/pagemap (Linux 6.7), as documented in
 * Documentation/admin-guide/mm/pagemap.rst and include/uapi/linux/fs.h.
 *
 * Include this instead of <linux/fs.h>: the kernel header comes first, so a
 * newer one wins and nothing here is defined twice.
 */

#include <linux/fs.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#ifndef PROCFS_IOCTL_MAGIC
#define PROCFS_IOCTL_MAGIC 'f'
#endif

#ifndef PAGEMAP_SCAN
/* Page categories: asked for in pm_scan_arg's masks, reported in page_region.categories. */
#define PAGE_IS_WPALLOWED (1 << 0)  /* async write protection (uffd WP_ASYNC) is armed */
#define PAGE_IS_WRITTEN (1 << 1)    /* written since it was last write-protected */
#define PAGE_IS_FILE (1 << 2)       /* file backed */
#define PAGE_IS_PRESENT (1 << 3)    /* present in memory */
#define PAGE_IS_SWAPPED (1 << 4)    /* swapped out */
#define PAGE_IS_PFNZERO (1 << 5)    /* maps the zero page */
#define PAGE_IS_HUGE (1 << 6)       /* THP or hugetlb backed */
#define PAGE_IS_SOFT_DIRTY (1 << 7) /* soft-dirty bit set */

/* One run of pages [start, end) sharing the same categories. */
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* Flags of pm_scan_arg.flags */
#define PM_SCAN_WP_MATCHING (1 << 0)   /* write-protect the matching pages again */
#define PM_SCAN_CHECK_WPASYNC (1 << 1) /* fail if a page in range is not WP_ASYNC-armed */

/*
 * @size:		sizeof(struct pm_scan_arg)
 * @flags:		PM_SCAN_* flags
 * @start, @end:	range to walk, page aligned
 * @walk_end:		(out) where the walk stopped: end, or earlier when vec or
 *			max_pages filled up; resume from there
 * @vec, @vec_len:	output array of struct page_region
 * @max_pages:		stop after this many matching pages (0: no limit)
 * @category_inverted:	categories whose sense is inverted before matching
 * @category_mask:	a page matches only if it has all of these
 * @category_anyof_mask: ... and at least one of these (if not 0)
 * @return_mask:	categories reported in page_region.categories
 *
 * The ioctl returns the number of regions written to vec.
 */
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR(PROCFS_IOCTL_MAGIC, 16, struct pm_scan_arg)
#endif /* PAGEMAP_SCAN */

/* Added after PAGEMAP_SCAN itself (Linux 6.15): a MADV_GUARD_INSTALL guard region. */
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD (1 << 8)
#endif
