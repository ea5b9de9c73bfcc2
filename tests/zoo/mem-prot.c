/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Protections: a region with data made PROT_NONE (its pages must be saved
 * even though the task itself cannot read them), a region split into three
 * VMAs by an mprotect() of its middle pages to r-x, a write-only region with
 * data, and a PROT_NONE reservation that was never touched. After the check
 * of /proc/self/maps, the program opens the regions up again and reads them.
 */
#include <string.h>
#include <sys/mman.h>

#include "zoo.h"

#define PAGE 4096UL
#define HIDDEN_PAGES 4
#define SPLIT_PAGES 8
#define SPLIT_MID 2 /* pages [SPLIT_MID, SPLIT_MID + SPLIT_MID_PAGES) are r-x */
#define SPLIT_MID_PAGES 3
#define WO_PAGES 2
#define RESERVED_PAGES 64

enum { SEED_HIDDEN = 31, SEED_SPLIT, SEED_WO };

static uint8_t *hidden, *split, *wo, *reserved;

/* A mapping between two guard pages of a protection none of the regions has (--x), so
 * that it merges with nothing. */
static uint8_t *map(size_t pages, int prot)
{
	uint8_t *p = mmap(NULL, (pages + 2) * PAGE, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + PAGE, pages * PAGE, prot))
		zoo_setup_failed("mmap %zu pages: %m", pages);
	return p + PAGE;
}

static void setup(void)
{
	hidden = map(HIDDEN_PAGES, PROT_READ | PROT_WRITE);
	zoo_fill(hidden, HIDDEN_PAGES * PAGE, SEED_HIDDEN);
	split = map(SPLIT_PAGES, PROT_READ | PROT_WRITE);
	zoo_fill(split, SPLIT_PAGES * PAGE, SEED_SPLIT);
	wo = map(WO_PAGES, PROT_READ | PROT_WRITE);
	zoo_fill(wo, WO_PAGES * PAGE, SEED_WO);
	reserved = map(RESERVED_PAGES, PROT_NONE);
	if (mprotect(hidden, HIDDEN_PAGES * PAGE, PROT_NONE) ||
	    mprotect(split + SPLIT_MID * PAGE, SPLIT_MID_PAGES * PAGE, PROT_READ | PROT_EXEC) ||
	    mprotect(wo, WO_PAGES * PAGE, PROT_WRITE))
		zoo_setup_failed("mprotect: %m");
}

/* The mapping at addr must span [addr, addr + pages) with these permissions. */
static void expect_vma(const char *what, const void *addr, size_t pages, const char *perms)
{
	struct zoo_vma v;

	if (!zoo_expect(zoo_vma_at(addr, &v), "%s: no mapping at %p", what, addr))
		return;
	zoo_expect(strcmp(v.perms, perms) == 0, "%s: permissions %s, not %s", what, v.perms, perms);
	zoo_expect(v.start == (unsigned long)addr && v.end == (unsigned long)addr + pages * PAGE,
		   "%s: mapping %lx-%lx, not %lx-%lx", what, v.start, v.end, (unsigned long)addr,
		   (unsigned long)addr + pages * PAGE);
}

static void check_maps(void)
{
	expect_vma("PROT_NONE region", hidden, HIDDEN_PAGES, "---p");
	expect_vma("split region, head", split, SPLIT_MID, "rw-p");
	expect_vma("split region, middle", split + SPLIT_MID * PAGE, SPLIT_MID_PAGES, "r-xp");
	expect_vma("split region, tail", split + (SPLIT_MID + SPLIT_MID_PAGES) * PAGE,
		   SPLIT_PAGES - SPLIT_MID - SPLIT_MID_PAGES, "rw-p");
	expect_vma("write-only region", wo, WO_PAGES, "-w-p");
	expect_vma("reservation", reserved, RESERVED_PAGES, "---p");
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Open everything up (the maps were checked already) and read the contents. */
static void check_contents(void)
{
	long off;

	if (!zoo_expect(mprotect(hidden, HIDDEN_PAGES * PAGE, PROT_READ) == 0 &&
				mprotect(wo, WO_PAGES * PAGE, PROT_READ) == 0 &&
				mprotect(reserved, RESERVED_PAGES * PAGE, PROT_READ) == 0,
			"mprotect for the check: %m"))
		return;
	off = zoo_pattern_mismatch(hidden, HIDDEN_PAGES * PAGE, SEED_HIDDEN);
	zoo_expect(off < 0, "PROT_NONE region differs at offset %ld", off);
	off = zoo_pattern_mismatch(split, SPLIT_PAGES * PAGE, SEED_SPLIT);
	zoo_expect(off < 0, "split region differs at offset %ld", off);
	off = zoo_pattern_mismatch(wo, WO_PAGES * PAGE, SEED_WO);
	zoo_expect(off < 0, "write-only region differs at offset %ld", off);
	zoo_expect(all_zero(reserved, RESERVED_PAGES * PAGE), "the reservation is not all zeros");
}

static void break_hidden_readable(void)
{
	mprotect(hidden, HIDDEN_PAGES * PAGE, PROT_READ);
}

static void break_hidden_content(void)
{
	mprotect(hidden, HIDDEN_PAGES * PAGE, PROT_READ | PROT_WRITE);
	hidden[PAGE + 5] ^= 1;
	mprotect(hidden, HIDDEN_PAGES * PAGE, PROT_NONE);
}

static void break_split_merged(void)
{
	mprotect(split + SPLIT_MID * PAGE, SPLIT_MID_PAGES * PAGE, PROT_READ | PROT_WRITE);
}

static void break_wo(void)
{
	mprotect(wo, WO_PAGES * PAGE, PROT_READ | PROT_WRITE);
}

static void break_reserved(void)
{
	mprotect(reserved + 9 * PAGE, PAGE, PROT_READ | PROT_WRITE);
	reserved[9 * PAGE + 1] = 1;
	mprotect(reserved + 9 * PAGE, PAGE, PROT_NONE);
}

static const struct zoo_break breaks[] = {
	{"the PROT_NONE region made readable", break_hidden_readable},
	{"a byte of the PROT_NONE region changed", break_hidden_content},
	{"the middle of the split region made rw- (merged back)", break_split_merged},
	{"the write-only region made rw-", break_wo},
	{"a byte of the untouched reservation written", break_reserved},
};

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_maps();
	check_contents();
	return zoo_verdict();
}
