/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The heap: the program break moved up by an odd size with sbrk(), the new
 * space filled with a pattern. Both the content and the break itself (and
 * start_brk, from /proc/self/stat) must survive. The check path does not
 * call malloc, which could move the break on its own.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zoo.h"

#define HEAP_GROWTH ((3UL << 20) + 123)

static uint8_t *heap;
static void *brk_end;
static unsigned long start_brk;
static uint64_t heap_sum;

/* Field 47 of /proc/self/stat, start_brk; 0 if it cannot be read. */
static unsigned long read_start_brk(void)
{
	char buf[2048], *p;
	ssize_t n;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces: count fields after its closing parenthesis (field 2). */
	p = strrchr(buf, ')');
	for (int field = 2; p && field < 47; field++)
		p = strchr(p + 1, ' ');
	return p ? strtoul(p + 1, NULL, 10) : 0;
}

static void setup(void)
{
	heap = sbrk(HEAP_GROWTH);
	if (heap == (void *)-1)
		zoo_setup_failed("sbrk: %m");
	zoo_fill(heap, HEAP_GROWTH, 7);
	heap_sum = zoo_checksum(heap, HEAP_GROWTH);
	brk_end = sbrk(0);
	start_brk = read_start_brk();
	if (!start_brk)
		zoo_setup_failed("cannot read start_brk from /proc/self/stat");
}

static void check(void)
{
	void *now = sbrk(0);
	unsigned long start_now = read_start_brk();
	long off;

	/* Before anything that could allocate. */
	zoo_expect(now == brk_end, "program break is %p, not %p", now, brk_end);
	zoo_expect(start_now == start_brk, "start_brk is %#lx, not %#lx", start_now, start_brk);
	if (now < brk_end)
		return; /* the end of the heap is gone: reading it would fault */
	off = zoo_pattern_mismatch(heap, HEAP_GROWTH, 7);
	zoo_expect(off < 0, "heap differs at offset %ld", off);
	zoo_expect(zoo_checksum(heap, HEAP_GROWTH) == heap_sum, "heap checksum differs");
}

static void break_content(void)
{
	heap[HEAP_GROWTH - 5] ^= 1;
}

static void break_brk(void)
{
	sbrk(4096);
}

static void break_shrink(void)
{
	sbrk(-(intptr_t)(64 << 10));
}

static const struct zoo_break breaks[] = {
	{"a heap byte flipped", break_content},
	{"the program break moved up a page", break_brk},
	{"the heap shrunk by 64 KiB", break_shrink},
};

static const struct zoo_desc desc = {
	.requires = "prctl_mm_map",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
