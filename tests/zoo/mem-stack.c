/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main stack: 64 KiB of data in main()'s frame, and the [stack] mapping
 * itself. After the restore the data is there, the mapping has its bounds,
 * its name and its VmFlags "gd" (it grows down), and it still grows: a call
 * chain that goes GROW_BYTES below its start extends it (the kernel keeps
 * its guard gap below it).
 */
#include <stdio.h>
#include <string.h>

#include "zoo.h"

#define DATA_SIZE (64UL << 10)
#define SEED 121
#define GROW_BYTES (2UL << 20) /* within RLIMIT_STACK (8 MiB by default) */
#define FRAME (64UL << 10)

static struct zoo_vma before;

/* Use depth * FRAME bytes of stack, touching every page; returns a sum so it is not optimized out.
 */
static __attribute__((noinline)) unsigned grow(unsigned depth)
{
	volatile uint8_t frame[FRAME];

	for (size_t i = 0; i < FRAME; i += 4096)
		frame[i] = (uint8_t)depth;
	return depth ? grow(depth - 1) + frame[0] : frame[FRAME - 1];
}

static void check_mapping(const void *here)
{
	struct zoo_vma v;

	if (!zoo_expect(zoo_vma_at(here, &v), "no mapping holds the stack"))
		return;
	zoo_expect(v.start == before.start && v.end == before.end,
		   "the stack is %lx-%lx, it was %lx-%lx", v.start, v.end, before.start,
		   before.end);
	zoo_expect(zoo_vma_flag(&v, "gd"), "the stack's VmFlags \"%s\" lack gd", v.vmflags);
}

/* The [stack] name is /proc/self/maps's: the mapping that holds mm->start_stack. */
static bool named_stack(const void *here)
{
	char line[512];
	unsigned long a = (unsigned long)here, start, end;
	FILE *f = fopen("/proc/self/maps", "re");
	bool named = false;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && a >= start && a < end)
			named = strstr(line, "[stack]") != NULL;
	if (f)
		fclose(f);
	return named;
}

static void check_growth(const void *here)
{
	volatile char sp;
	struct zoo_vma v;

	/* From here down to GROW_BYTES below where the mapping started. */
	grow((unsigned)(((uintptr_t)&sp - (before.start - GROW_BYTES)) / FRAME + 1));
	if (zoo_expect(zoo_vma_at(here, &v), "no mapping holds the stack after growing"))
		zoo_expect(v.start <= before.start - GROW_BYTES,
			   "the stack did not grow: it starts at %lx, it did at %lx", v.start,
			   before.start);
}

int main(int argc, char **argv)
{
	static const struct zoo_break breaks[] = {
		{"a byte of the data on the stack changed", NULL},
		{"the stack grown by 1 MiB", NULL},
	};
	static const struct zoo_desc desc = {
		.requires = "pagemap_scan process_vm",
		.breaks = breaks,
		.n_breaks = ELEMENTSOF(breaks),
	};
	uint8_t data[DATA_SIZE];
	long off;

	zoo_init(argc, argv, &desc);
	zoo_fill(data, sizeof(data), SEED);
	if (!zoo_vma_at(data, &before))
		zoo_setup_failed("the stack is not in /proc/self/smaps");
	zoo_ready();
	if (zoo_break_selected() == 1)
		data[DATA_SIZE / 3] ^= 1;
	else if (zoo_break_selected() == 2)
		grow((1UL << 20) / FRAME);
	zoo_wait_term();
	off = zoo_pattern_mismatch(data, sizeof(data), SEED);
	zoo_expect(off < 0, "the data on the stack differs at offset %ld", off);
	check_mapping(data);
	zoo_expect(named_stack(data), "the mapping of the stack is not named [stack]");
	check_growth(data);
	return zoo_verdict();
}
