/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared anonymous memory: 16 pages mapped MAP_SHARED | MAP_ANONYMOUS, three
 * of them written. After the restore the written pages hold their data, the
 * others zeros, and the mapping is still shared: a child's write into it
 * shows in the parent.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zoo.h"

#define PAGE 4096UL
#define PAGES 16
#define CHILD_PAGE 7

static const size_t written[] = {0, 5, PAGES - 1};
static uint8_t *shared;

static void setup(void)
{
	shared =
		mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	for (size_t i = 0; i < ELEMENTSOF(written); i++)
		zoo_fill(shared + written[i] * PAGE, PAGE, 110 + i);
}

static bool is_written(size_t page)
{
	for (size_t i = 0; i < ELEMENTSOF(written); i++)
		if (written[i] == page)
			return true;
	return false;
}

static void check_contents(void)
{
	for (size_t page = 0; page < PAGES; page++) {
		const uint8_t *p = shared + page * PAGE;
		size_t i;

		if (is_written(page)) {
			for (i = 0; i < ELEMENTSOF(written) && written[i] != page; i++)
				;
			zoo_expect(zoo_pattern_mismatch(p, PAGE, 110 + i) < 0,
				   "written page %zu differs", page);
			continue;
		}
		for (i = 0; i < PAGE && !p[i]; i++)
			;
		zoo_expect(i == PAGE, "untouched page %zu is not zero at byte %zu", page, i);
	}
}

static void check_shared(void)
{
	struct zoo_vma v;

	if (zoo_expect(zoo_vma_at(shared, &v), "the mapping is gone"))
		zoo_expect(strcmp(v.perms, "rw-s") == 0, "the mapping is %s, not rw-s", v.perms);
	zoo_shared_with_child(shared + CHILD_PAGE * PAGE, 0x5a, "the mapping");
}

static void break_content(void)
{
	shared[5 * PAGE + 9] ^= 4;
}

static void break_untouched(void)
{
	shared[3 * PAGE] = 1;
}

static void break_private(void)
{
	static uint8_t copy[PAGES * PAGE];

	memcpy(copy, shared, sizeof(copy));
	if (mmap(shared, sizeof(copy), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		zoo_die("break: mmap: %m");
	memcpy(shared, copy, sizeof(copy));
}

static const struct zoo_break breaks[] = {
	{"a byte of a written page changed", break_content},
	{"an untouched page written", break_untouched},
	{"the mapping made private, same bytes", break_private},
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
	check_contents();
	check_shared();
	return zoo_verdict();
}
