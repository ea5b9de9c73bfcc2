/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Soft-dirty tracking (track-softdirty.c): which extents synthetic
 * /proc/PID/pagemap entries give, for a range the parent holds (known) or
 * not.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "compat/pagemap.h"
#include "image/image.h"
#include "mem/internal.h"

#define BASE UINT64_C(0x7f0000000000)
#define PG(i) (BASE + (uint64_t)(i)*MEM_PAGE_SIZE)

/* A present anonymous page of this process alone (frame 0x1234 + i), clean or soft-dirty. */
#define CLEAN (PME_PRESENT | PME_EXCLUSIVE | UINT64_C(0x1234))
#define DIRTY (CLEAN | PME_SOFT_DIRTY)
#define SWAPPED (PME_SWAP | UINT64_C(0x100)) /* swap type 0, offset 8 */
#define ZERO_PFN UINT64_C(0x99)
#define ZERO (PME_PRESENT | ZERO_PFN)

struct fixture {
	struct mem_extents x;
	struct mem_dump_stats st;
};

static int setup(void **state)
{
	*state = test_calloc(1, sizeof(struct fixture));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mem_extents_release(&f->x);
	test_free(f);
	return 0;
}

static void classify(struct fixture *f, const uint64_t *pme, size_t n, uint64_t addr, bool known)
{
	const struct mem_sd_range rng = {.zero_pfn = ZERO_PFN, .known = known};

	assert_int_equal(mem_softdirty_classify(pme, n, addr, &rng, &f->x, &f->st), 0);
}

static void assert_extent(const struct fixture *f, size_t i, uint64_t start, uint64_t end,
			  uint32_t flags)
{
	assert_true(i < f->x.n);
	assert_int_equal(f->x.v[i].start, start);
	assert_int_equal(f->x.v[i].end, end);
	assert_int_equal(f->x.v[i].flags, flags);
}

/* Clean pages are the parent's, soft-dirty ones copied; runs of each are joined. */
static void test_runs(void **state)
{
	struct fixture *f = *state;
	const uint64_t pme[] = {CLEAN, CLEAN, DIRTY, DIRTY, DIRTY, CLEAN, SWAPPED};

	classify(f, pme, 7, BASE, true);
	assert_int_equal(f->x.n, 3);
	assert_extent(f, 0, PG(0), PG(2), IMG_PE_PARENT);
	assert_extent(f, 1, PG(2), PG(5), IMG_PE_PRESENT);
	assert_extent(f, 2, PG(5), PG(7), IMG_PE_PARENT); /* swapped, not written: kept */
	assert_int_equal(f->st.pages_written, 3);
	assert_int_equal(f->st.pages_parent, 4);
}

/* Nothing there, a page cache page, a guard, a uffd-wp marker: no entry; the zero page counted. */
static void test_holes(void **state)
{
	struct fixture *f = *state;
	const uint64_t pme[] = {
		DIRTY,
		0,                                       /* never touched */
		PME_SOFT_DIRTY,                          /* a hole of a VMA soft-dirty whole */
		PME_PRESENT | PME_FILE | PME_SOFT_DIRTY, /* the file's page */
		PME_GUARD,
		PME_SWAP | PME_SWAP_TYPE_PTE_MARKER,
		ZERO,
		ZERO | PME_SOFT_DIRTY,
		DIRTY,
	};

	classify(f, pme, 9, BASE, true);
	assert_int_equal(f->x.n, 2);
	assert_extent(f, 0, PG(0), PG(1), IMG_PE_PRESENT);
	assert_extent(f, 1, PG(8), PG(9), IMG_PE_PRESENT);
	assert_int_equal(f->st.pages_zero, 2);
	assert_int_equal(f->st.pages_written, 2);
	assert_int_equal(f->st.pages_parent, 0);
}

/* Swapped pages keep their soft-dirty bit in the swap entry. */
static void test_swapped(void **state)
{
	struct fixture *f = *state;
	const uint64_t pme[] = {SWAPPED | PME_SOFT_DIRTY, SWAPPED, SWAPPED};

	classify(f, pme, 3, BASE, true);
	assert_int_equal(f->x.n, 2);
	assert_extent(f, 0, PG(0), PG(1), IMG_PE_PRESENT);
	assert_extent(f, 1, PG(1), PG(3), IMG_PE_PARENT);
}

/*
 * A present page mapped by others too (after fork, KSM, the zero page whose
 * frame is unknown) is copied even if clean: KSM makes a new pte without the
 * bit. Without CAP_SYS_ADMIN frames read 0: the zero page is then such a page.
 */
static void test_not_exclusive(void **state)
{
	struct fixture *f = *state;
	const uint64_t pme[] = {CLEAN, PME_PRESENT | UINT64_C(0x4321), PME_PRESENT, CLEAN};
	const struct mem_sd_range no_pfn = {.known = true};

	assert_int_equal(mem_softdirty_classify(pme, 4, BASE, &no_pfn, &f->x, &f->st), 0);
	assert_int_equal(f->x.n, 3);
	assert_extent(f, 0, PG(0), PG(1), IMG_PE_PARENT);
	assert_extent(f, 1, PG(1), PG(3), IMG_PE_PRESENT);
	assert_extent(f, 2, PG(3), PG(4), IMG_PE_PARENT);
	assert_int_equal(f->st.pages_zero, 0);
}

/*
 * Two VMAs side by side: the first known, the second not (new since the
 * parent's scan, or no parent): every page of the second is copied; an
 * extent runs on across the boundary only when both sides are copied.
 */
static void test_vma_boundary(void **state)
{
	struct fixture *f = *state;
	const uint64_t a[] = {CLEAN, DIRTY};
	const uint64_t b[] = {CLEAN, CLEAN, 0, CLEAN};

	classify(f, a, 2, PG(0), true);
	classify(f, b, 4, PG(2), false);
	assert_int_equal(f->x.n, 3);
	assert_extent(f, 0, PG(0), PG(1), IMG_PE_PARENT);
	assert_extent(f, 1, PG(1), PG(4), IMG_PE_PRESENT);
	assert_extent(f, 2, PG(5), PG(6), IMG_PE_PRESENT);
	assert_int_equal(f->st.pages_written, 4);
	assert_int_equal(f->st.pages_parent, 1);
}

/* A known VMA after an unknown one: clean pages right after the boundary are the parent's. */
static void test_vma_boundary_known_after(void **state)
{
	struct fixture *f = *state;
	const uint64_t a[] = {CLEAN};
	const uint64_t b[] = {CLEAN};

	classify(f, a, 1, PG(0), false);
	classify(f, b, 1, PG(1), true);
	assert_int_equal(f->x.n, 2);
	assert_extent(f, 0, PG(0), PG(1), IMG_PE_PRESENT);
	assert_extent(f, 1, PG(1), PG(2), IMG_PE_PARENT);
}

/* Unreadable memory (PROT_NONE) goes through /proc/PID/mem: not joined with readable pages. */
static void test_via_fd(void **state)
{
	struct fixture *f = *state;
	const uint64_t pme[] = {DIRTY};
	const struct mem_sd_range fd = {.known = true, .via_fd = true};

	classify(f, pme, 1, PG(0), true);
	assert_int_equal(mem_softdirty_classify(pme, 1, PG(1), &fd, &f->x, &f->st), 0);
	assert_int_equal(f->x.n, 2);
	assert_false(f->x.v[0].via_fd);
	assert_true(f->x.v[1].via_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vma_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vma_boundary_known_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
