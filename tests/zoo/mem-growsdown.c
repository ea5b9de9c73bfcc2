/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A MAP_GROWSDOWN mapping (how old thread libraries made stacks): 4 pages
 * with data, with free space below. After restore it still has its data and
 * its VmFlags "gd", and a touch below its start grows it downwards.
 */
#include <string.h>
#include <sys/mman.h>

#include "zoo.h"

#define PAGE 4096UL
#define PAGES 4UL
#define ROOM (16UL << 20) /* free space kept below: more than the stack guard gap */
#define GROW_PAGES 2
#define SEED 61

static uint8_t *region;

static void setup(void)
{
	uint8_t *hole;

	/* Find a free place ROOM + PAGES big, then map at its top. */
	hole = mmap(NULL, ROOM + PAGES * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED || munmap(hole, ROOM + PAGES * PAGE))
		zoo_setup_failed("mmap: %m");
	region = mmap(hole + ROOM, PAGES * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
	if (region == MAP_FAILED)
		zoo_setup_failed("mmap(MAP_GROWSDOWN): %m");
	zoo_fill(region, PAGES * PAGE, SEED);
}

static void check(void)
{
	volatile uint8_t *below = region - GROW_PAGES * PAGE;
	struct zoo_vma v;
	long off;

	if (!zoo_expect(zoo_vma_at(region, &v), "the mapping is gone"))
		return;
	zoo_expect(
		v.start == (unsigned long)region && v.end == (unsigned long)region + PAGES * PAGE,
		"the mapping is %lx-%lx, not %p+%lu pages", v.start, v.end, (void *)region, PAGES);
	off = zoo_pattern_mismatch(region, PAGES * PAGE, SEED);
	zoo_expect(off < 0, "the mapping differs at offset %ld", off);
	/* Without "gd" the touch below would crash the program: check it first. */
	if (!zoo_expect(zoo_vma_flag(&v, "gd"), "VmFlags \"%s\" lack gd (MAP_GROWSDOWN)",
			v.vmflags))
		return;
	*below = 1;
	if (zoo_expect(zoo_vma_at(region, &v), "the mapping is gone after growing"))
		zoo_expect(v.start <= (unsigned long)below,
			   "the mapping did not grow: starts at %lx", v.start);
}

static void break_content(void)
{
	region[PAGE * 3 + 3] ^= 1;
}

static void break_not_growsdown(void)
{
	static uint8_t copy[PAGES * PAGE];

	memcpy(copy, region, sizeof(copy));
	if (mmap(region, sizeof(copy), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		zoo_die("break: mmap: %m");
	memcpy(region, copy, sizeof(copy));
}

static void break_grown(void)
{
	region[-1] = 0;
}

static const struct zoo_break breaks[] = {
	{"a byte changed", break_content},
	{"the mapping replaced by one without MAP_GROWSDOWN", break_not_growsdown},
	{"the mapping grown by a page", break_grown},
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
