/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Probes of userfaultfd: the API handshake for the features stasis asks for,
 * and the whole dirty-tracking cycle (async write protection + PAGEMAP_SCAN)
 * on memory of this process.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "base/log.h"
#include "compat/fs.h"
#include "compat/syscalls.h"
#include "compat/userfaultfd.h"
#include "kerndat/probes.h"

/*
 * Open a userfaultfd and do the UFFDIO_API handshake asking for `features`
 * (the handshake is allowed once per fd). 1 with *ret_fd set if the kernel
 * accepts them, 0 if it does not know one of them, -errno otherwise.
 */
static int uffd_open(uint64_t features, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct uffdio_api api = {.api = UFFD_API, .features = features};

	fd = sys_userfaultfd(O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		pr_info("userfaultfd: %m");
		return probe_result_of_errno(errno);
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		pr_info("UFFDIO_API with features %#llx: %m", (unsigned long long)features);
		return probe_result_of_errno(errno);
	}
	pr_debug("UFFDIO_API accepted features %#llx; kernel offers %#llx, ioctls %#llx",
		 (unsigned long long)features, (unsigned long long)api.features,
		 (unsigned long long)api.ioctls);
	*ret_fd = TAKE_FD(fd);
	return 1;
}

static int uffd_probe_features(uint64_t features)
{
	_cleanup_close_ int fd = -1;

	return uffd_open(features, &fd);
}

int probe_uffd(void)
{
	return uffd_probe_features(0);
}

/* The events that let lazy restore follow a tree that forks, remaps and unmaps. */
int probe_uffd_noncoop(void)
{
	return uffd_probe_features(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
				   UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP);
}

int probe_uffd_wp_async(void)
{
	return uffd_probe_features(UFFD_FEATURE_WP_ASYNC);
}

int probe_uffd_wp_unpopulated(void)
{
	return uffd_probe_features(UFFD_FEATURE_WP_UNPOPULATED);
}

#define TRACK_PAGES 4
#define WRITTEN_PAGE 2

/* Pages written since the last scan, write-protecting them again; or -errno. */
static int scan_written(int pagemap, uintptr_t start, size_t len, struct page_region *vec,
			size_t vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start,
		.end = start + len,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	int n = ioctl(pagemap, PAGEMAP_SCAN, &arg);

	return n < 0 ? negative_errno() : n;
}

static int track_and_check(int uffd, char *mem, size_t page)
{
	_cleanup_close_ int pagemap = -1;
	size_t len = TRACK_PAGES * page;
	struct uffdio_register reg = {
		.range = {.start = (uintptr_t)mem, .len = len},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = reg.range,
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	struct page_region vec[TRACK_PAGES];
	int n, again;

	if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0 || ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) < 0) {
		pr_info("arming write protection: %m");
		return probe_result_of_errno(errno);
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		return negative_errno();
	/* Resolved by the kernel at once (async mode): no thread has to answer. */
	((volatile char *)mem)[WRITTEN_PAGE * page] = 2;
	n = scan_written(pagemap, (uintptr_t)mem, len, vec, ELEMENTSOF(vec));
	again = scan_written(pagemap, (uintptr_t)mem, len, vec + 1, ELEMENTSOF(vec) - 1);
	if (n < 0 || again < 0) {
		pr_info("PAGEMAP_SCAN for written pages: %s", strerror(-(n < 0 ? n : again)));
		return probe_result_of_errno(-(n < 0 ? n : again));
	}
	pr_debug("written pages: %d region(s) after the write, %d on the next scan", n, again);
	if (n != 1 || vec[0].start != (uintptr_t)mem + WRITTEN_PAGE * page ||
	    vec[0].end != vec[0].start + page || again != 0) {
		pr_info("PAGEMAP_SCAN did not report exactly the written page, then nothing");
		return 0;
	}
	return 1;
}

/*
 * The cycle pre-dump relies on: register memory in async write-protect mode,
 * write one page, PAGEMAP_SCAN must report exactly that page and re-arm it,
 * so that a second scan reports nothing.
 */
int probe_mem_dirty_track(void)
{
	_cleanup_close_ int uffd = -1;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *mem;
	int r;

	r = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, &uffd);
	if (r <= 0)
		return r;
	mem = mmap(NULL, TRACK_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED)
		return negative_errno();
	memset(mem, 1, TRACK_PAGES * page);
	r = track_and_check(uffd, mem, page);
	/* Unmapping also drops the registration. */
	munmap(mem, TRACK_PAGES * page);
	return r;
}
