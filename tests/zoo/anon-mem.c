/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Anonymous private memory: a dense region filled with a pattern, a sparse
 * region where only some pages were ever touched (the others must still read
 * as zeros), and a read-only region whose protection must survive.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "zoo.h"

#define PAGE 4096UL
#define DENSE_SIZE (8UL << 20)
#define SPARSE_SIZE (64UL << 20)
#define SPARSE_STEP 37 /* every 37th page of the sparse region is touched */
#define RO_SIZE (1UL << 20)

static uint8_t *dense, *sparse, *ro;
static uint64_t dense_sum;

static bool sparse_touched(size_t page)
{
	return page % SPARSE_STEP == 0;
}

static void *map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		zoo_setup_failed("mmap %zu bytes: %m", size);
	return p;
}

static void setup(void)
{
	dense = map(DENSE_SIZE);
	zoo_fill(dense, DENSE_SIZE, 1);
	dense_sum = zoo_checksum(dense, DENSE_SIZE);

	sparse = map(SPARSE_SIZE);
	for (size_t page = 0; page < SPARSE_SIZE / PAGE; page++)
		if (sparse_touched(page))
			zoo_fill(sparse + page * PAGE, PAGE, 100 + page);

	ro = map(RO_SIZE);
	zoo_fill(ro, RO_SIZE, 3);
	if (mprotect(ro, RO_SIZE, PROT_READ))
		zoo_setup_failed("mprotect: %m");
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void check_sparse(void)
{
	for (size_t page = 0; page < SPARSE_SIZE / PAGE; page++) {
		const uint8_t *p = sparse + page * PAGE;

		if (sparse_touched(page)) {
			if (!zoo_expect(zoo_pattern_mismatch(p, PAGE, 100 + page) < 0,
					"sparse region: touched page %zu lost its pattern", page))
				return;
		} else if (!zoo_expect(all_zero(p, PAGE),
				       "sparse region: untouched page %zu is not zero", page)) {
			return;
		}
	}
}

/* The protection of the mapping at addr, from /proc/self/maps ("r--p" ...). */
static bool maps_perms(const void *addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long start, end;
	bool found = false;

	if (!f)
		return false;
	while (!found && fscanf(f, "%lx-%lx %4s%*[^\n]", &start, &end, perms) == 3)
		found = start == (unsigned long)addr;
	fclose(f);
	return found;
}

static void check(void)
{
	long off = zoo_pattern_mismatch(dense, DENSE_SIZE, 1);
	char perms[5] = "";

	zoo_expect(off < 0, "dense region differs at offset %ld", off);
	zoo_expect(zoo_checksum(dense, DENSE_SIZE) == dense_sum, "dense region checksum differs");
	check_sparse();
	off = zoo_pattern_mismatch(ro, RO_SIZE, 3);
	zoo_expect(off < 0, "read-only region differs at offset %ld", off);
	if (zoo_expect(maps_perms(ro, perms), "read-only region not found in /proc/self/maps"))
		zoo_expect(strcmp(perms, "r--p") == 0, "read-only region is %s, not r--p", perms);
}

static void break_dense(void)
{
	dense[DENSE_SIZE / 2 + 123] ^= 0x40;
}

static void break_sparse_untouched(void)
{
	sparse[(SPARSE_STEP * 5 + 1) * PAGE + 7] = 1;
}

static void break_sparse_touched(void)
{
	madvise(sparse + SPARSE_STEP * 9 * PAGE, PAGE, MADV_DONTNEED);
}

static void break_ro(void)
{
	mprotect(ro, RO_SIZE, PROT_READ | PROT_WRITE);
}

static const struct zoo_break breaks[] = {
	{"a byte of the dense region flipped", break_dense},
	{"an untouched page of the sparse region written", break_sparse_untouched},
	{"a touched page of the sparse region dropped", break_sparse_touched},
	{"the read-only region made writable", break_ro},
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
