/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probes of page-table inspection (PAGEMAP_SCAN, soft-dirty bits) and of
 * memfd, which restore uses for shared anonymous memory.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/log.h"
#include "compat/fs.h"
#include "compat/pagemap.h"
#include "kerndat/child.h"
#include "kerndat/probes.h"

struct mapping {
	void *addr;
	size_t len;
};

static void unmapp(struct mapping *m)
{
	if (m->addr && m->addr != MAP_FAILED)
		munmap(m->addr, m->len);
}

#define _cleanup_unmap_ _cleanup_(unmapp)

static int map_anon(struct mapping *m, size_t len)
{
	m->len = len;
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->addr == MAP_FAILED) {
		m->addr = NULL;
		return negative_errno();
	}
	return 0;
}

/* Run in the child: make the first page of the mapping present. */
static int touch_first_page(void *arg)
{
	*(volatile char *)arg = 1;
	return 0;
}

/*
 * The mapping is untouched in the parent; the child writes its first page.
 * PAGEMAP_SCAN on the child's pagemap must report exactly that page present,
 * which proves the ioctl reads another process's page tables.
 */
int probe_pagemap_scan(void)
{
	_cleanup_unmap_ struct mapping m = {};
	_cleanup_probe_child_ struct probe_child c = {};
	_cleanup_close_ int fd = -1;
	long page = sysconf(_SC_PAGESIZE);
	struct page_region regions[4] = {};
	struct pm_scan_arg arg;
	char path[64];
	int r, n;

	r = map_anon(&m, 2 * (size_t)page);
	if (r < 0)
		return r;
	r = probe_child_start(&c, touch_first_page, m.addr);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", c.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		pr_info("cannot open %s: %m", path);
		return negative_errno();
	}
	arg = (struct pm_scan_arg){
		.size = sizeof(arg),
		.start = (uintptr_t)m.addr,
		.end = (uintptr_t)m.addr + m.len,
		.vec = (uintptr_t)regions,
		.vec_len = ELEMENTSOF(regions),
		.category_mask = PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_PRESENT,
	};
	n = ioctl(fd, PAGEMAP_SCAN, &arg);
	if (n < 0) {
		pr_info("PAGEMAP_SCAN on %s: %m", path);
		/* ENOTTY: no such ioctl */
		return probe_result_of_errno(errno);
	}
	if (n != 1 || regions[0].start != arg.start || regions[0].end != arg.start + page ||
	    regions[0].categories != PAGE_IS_PRESENT || arg.walk_end != arg.end) {
		pr_info("PAGEMAP_SCAN: %d regions, not the one page the child wrote", n);
		return 0;
	}
	pr_debug("PAGEMAP_SCAN on %s found the page probe child %d wrote", path, c.pid);
	return 1;
}

static int read_pme(int fd, const void *addr, uint64_t *ret)
{
	long page = sysconf(_SC_PAGESIZE);
	off_t off = (off_t)((uintptr_t)addr / (uintptr_t)page * PME_SIZE);

	if (pread(fd, ret, PME_SIZE, off) != (ssize_t)PME_SIZE)
		return negative_errno();
	return 0;
}

static int clear_soft_dirty(void)
{
	_cleanup_close_ int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	if (write(fd, CLEAR_REFS_SOFT_DIRTY, 1) != 1)
		return negative_errno();
	return 0;
}

/*
 * Clear the soft-dirty bits of this process, then write a page: the page's
 * pagemap entry must go from clean to soft-dirty (bit 55). Without
 * CONFIG_MEM_SOFT_DIRTY the write to clear_refs is accepted but the bit
 * never comes up.
 */
int probe_soft_dirty(void)
{
	_cleanup_unmap_ struct mapping m = {};
	_cleanup_close_ int fd = -1;
	uint64_t before, after;
	int r;

	r = map_anon(&m, (size_t)sysconf(_SC_PAGESIZE));
	if (r < 0)
		return r;
	*(volatile char *)m.addr = 1;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	r = clear_soft_dirty();
	if (r < 0) {
		pr_info("cannot clear soft-dirty bits: %s", strerror(-r));
		return probe_result_of_errno(-r);
	}
	r = read_pme(fd, m.addr, &before);
	if (r < 0)
		return r;
	*(volatile char *)m.addr = 2;
	r = read_pme(fd, m.addr, &after);
	if (r < 0)
		return r;
	pr_debug("pagemap entry: %#llx after clear_refs 4, %#llx after a write",
		 (unsigned long long)before, (unsigned long long)after);
	if ((before & PME_SOFT_DIRTY) || !(after & PME_SOFT_DIRTY)) {
		pr_info("soft-dirty bit does not follow writes (no CONFIG_MEM_SOFT_DIRTY)");
		return 0;
	}
	return 1;
}

int probe_memfd(void)
{
	_cleanup_close_ int fd = -1;
	int seals;

	fd = memfd_create("stasis-check", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		pr_info("memfd_create: %m");
		return probe_result_of_errno(errno);
	}
	if (ftruncate(fd, sysconf(_SC_PAGESIZE)) < 0)
		return negative_errno();
	/* Sealing comes with memfd (3.17); restore replays a memfd's seals. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		pr_info("F_GET_SEALS on a memfd: %m");
		return probe_result_of_errno(errno);
	}
	pr_debug("memfd created, seals %#x", seals);
	return 1;
}
