/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Locked memory: 8 pages with data locked with mlock() (all resident and
 * locked), and 16 pages locked with mlock2(MLOCK_ONFAULT) of which only 2
 * were touched (locked as they fault in, the others still absent). After
 * restore both keep their VmFlags ("lo", and "lf" for the second), their
 * data, and their locked sizes.
 */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096UL
#define LOCKED_PAGES 8
#define ONFAULT_PAGES 16
#define ONFAULT_TOUCHED 2
#define SEED_LOCKED 81
#define SEED_ONFAULT 82

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

static uint8_t *locked, *onfault;

static void setup(void)
{
	/* A guard page between the two, so that they cannot merge. */
	uint8_t *base = mmap(NULL, (LOCKED_PAGES + 1 + ONFAULT_PAGES) * PAGE,
			     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED || mprotect(base + LOCKED_PAGES * PAGE, PAGE, PROT_NONE))
		zoo_setup_failed("mmap: %m");
	locked = base;
	onfault = base + (LOCKED_PAGES + 1) * PAGE;
	zoo_fill(locked, LOCKED_PAGES * PAGE, SEED_LOCKED);
	/* The system calls themselves: ASan, for one, makes mlock() a no-op. */
	if (syscall(SYS_mlock, locked, LOCKED_PAGES * PAGE))
		zoo_setup_failed("mlock: %m");
	if (syscall(SYS_mlock2, onfault, ONFAULT_PAGES * PAGE, MLOCK_ONFAULT))
		zoo_setup_failed("mlock2(MLOCK_ONFAULT): %m");
	zoo_fill(onfault, ONFAULT_TOUCHED * PAGE, SEED_ONFAULT);
}

static void check_region(const char *what, const void *addr, size_t pages, bool lf,
			 unsigned long locked_kb)
{
	struct zoo_vma v;

	if (!zoo_expect(zoo_vma_at(addr, &v), "%s region is gone", what))
		return;
	zoo_expect(v.start == (unsigned long)addr && v.end == (unsigned long)addr + pages * PAGE,
		   "%s region is %lx-%lx, not %p+%zu pages", what, v.start, v.end, addr, pages);
	zoo_expect(zoo_vma_flag(&v, "lo"), "%s region: VmFlags \"%s\" lack lo", what, v.vmflags);
	zoo_expect(zoo_vma_flag(&v, "lf") == lf, "%s region: VmFlags \"%s\" %s lf", what, v.vmflags,
		   lf ? "lack" : "have");
	zoo_expect(v.locked_kb == locked_kb, "%s region: %lu kB locked, not %lu", what, v.locked_kb,
		   locked_kb);
}

static void check(void)
{
	long off;

	check_region("mlock", locked, LOCKED_PAGES, false, LOCKED_PAGES * PAGE / 1024);
	check_region("MLOCK_ONFAULT", onfault, ONFAULT_PAGES, true, ONFAULT_TOUCHED * PAGE / 1024);
	off = zoo_pattern_mismatch(locked, LOCKED_PAGES * PAGE, SEED_LOCKED);
	zoo_expect(off < 0, "mlock region differs at offset %ld", off);
	off = zoo_pattern_mismatch(onfault, ONFAULT_TOUCHED * PAGE, SEED_ONFAULT);
	zoo_expect(off < 0, "MLOCK_ONFAULT region differs at offset %ld", off);
}

static void break_unlocked(void)
{
	syscall(SYS_munlock, locked, LOCKED_PAGES * PAGE);
}

static void break_onfault_lost(void)
{
	/* Locked, but all of it at once: what a plain mlock() would do. */
	syscall(SYS_mlock, onfault, ONFAULT_PAGES * PAGE);
}

static void break_touched(void)
{
	onfault[(ONFAULT_PAGES - 1) * PAGE] = 0;
}

static void break_content(void)
{
	locked[5 * PAGE + 5] ^= 2;
}

static const struct zoo_break breaks[] = {
	{"the mlock region unlocked", break_unlocked},
	{"the MLOCK_ONFAULT region locked whole with mlock()", break_onfault_lost},
	{"one more page of the MLOCK_ONFAULT region touched", break_touched},
	{"a byte of the mlock region changed", break_content},
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
