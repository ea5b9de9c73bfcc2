/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A sparse mapping: 1 GiB of private anonymous memory reserved with
 * MAP_NORESERVE, of which only three pages (the first, one in the middle,
 * the last) were ever written. They must come back with their data, the
 * rest must still read as zeros, and the restore must not have populated
 * the mapping: its resident size stays about what it was.
 */
#include <errno.h>
#include <sys/mman.h>

#include "zoo.h"

#define PAGE 4096UL
#define SIZE (1UL << 30)
#define NPAGES (SIZE / PAGE)
#define RSS_SLACK_KB 256 /* resident kilobytes the restore may add (page tables do not count) */
#define SAMPLE_STEP 4099 /* untouched pages read: every SAMPLE_STEP-th, a prime */

static const size_t touched[] = {0, NPAGES / 2 + 17, NPAGES - 1};
static uint8_t *region;
static unsigned long rss_setup_kb;
static bool noreserve;

static void setup(void)
{
	struct zoo_vma v;

	region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (region == MAP_FAILED)
		zoo_setup_failed("mmap 1 GiB: %m");
	/* Base pages only: a huge page would make the resident size depend on THP. */
	if (madvise(region, SIZE, MADV_NOHUGEPAGE) && errno != EINVAL)
		zoo_setup_failed("madvise(MADV_NOHUGEPAGE): %m");
	for (size_t i = 0; i < ELEMENTSOF(touched); i++)
		zoo_fill(region + touched[i] * PAGE, PAGE, 500 + i);
	if (!zoo_vma_at(region, &v))
		zoo_setup_failed("the region is not in /proc/self/smaps");
	rss_setup_kb = v.rss_kb;
	noreserve = zoo_vma_flag(&v, "nr");
}

static bool is_touched(size_t page)
{
	for (size_t i = 0; i < ELEMENTSOF(touched); i++)
		if (touched[i] == page)
			return true;
	return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check(void)
{
	struct zoo_vma v;

	/* The resident size first: reading the untouched pages maps the zero page,
	 * which smaps does not count, but be safe. */
	if (zoo_expect(zoo_vma_at(region, &v), "the region is not in /proc/self/smaps")) {
		zoo_expect(v.start == (unsigned long)region &&
				   v.end == (unsigned long)region + SIZE,
			   "the region is %lx-%lx, not %p+1GiB", v.start, v.end, (void *)region);
		zoo_expect(v.rss_kb <= rss_setup_kb + RSS_SLACK_KB,
			   "the region has %lu kB resident, it had %lu kB", v.rss_kb, rss_setup_kb);
		zoo_expect(zoo_vma_flag(&v, "nr") == noreserve, "VmFlags nr (MAP_NORESERVE) %s",
			   noreserve ? "lost" : "appeared");
	}
	for (size_t i = 0; i < ELEMENTSOF(touched); i++) {
		long off = zoo_pattern_mismatch(region + touched[i] * PAGE, PAGE, 500 + i);

		zoo_expect(off < 0, "touched page %zu differs at offset %ld", touched[i], off);
	}
	for (size_t page = 1; page < NPAGES; page += SAMPLE_STEP)
		if (!is_touched(page) && !zoo_expect(all_zero(region + page * PAGE, PAGE),
						     "untouched page %zu is not zero", page))
			break;
}

static void break_untouched(void)
{
	region[(1 + 7 * SAMPLE_STEP) * PAGE + 100] = 1;
}

static void break_populated(void)
{
	/* 4 MiB more resident: what a restore that writes zeros would do. */
	for (size_t page = 0; page < 1024; page++)
		region[(NPAGES / 4 + page) * PAGE] = 0;
}

static void break_dropped(void)
{
	madvise(region + touched[1] * PAGE, PAGE, MADV_DONTNEED);
}

static const struct zoo_break breaks[] = {
	{"an untouched page written", break_untouched},
	{"4 MiB of the mapping populated with zeros", break_populated},
	{"a touched page dropped", break_dropped},
};

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
