/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory written without pause, for `dump -R --snapshot`: 64 MiB of private
 * anonymous pages, a random page and a moving window of 8 written every
 * step, with a model in another mapping that says which version of its
 * pattern fills every page. `pending` names the page being changed (its old
 * or new version both count).
 *
 * Data and model agree at every instant between two steps, and only then:
 * an image set whose pages were copied at different moments (a page saved
 * after it was written again, the model saved before) disagrees. The
 * program cannot know when it is checkpointed, so it checks everything
 * whenever it sees that it was stopped (more than 50 ms between two page
 * writes: the freeze of the snapshot, or the restore) before it writes the
 * next page, and at
 * SIGTERM. A restored program thus checks the image of the instant of the
 * freeze; the program that ran on checks that none of its writes was lost.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "zoo.h"

#define PAGE 4096ul
#define NPAGES 16384ul
#define WINDOW 8ul
#define GAP_NS (50 * 1000 * 1000ull)

static uint8_t *mem;
static uint64_t last_write; /* ns */
static struct model {
	uint32_t ver[NPAGES];
	volatile long pending; /* page being changed, or -1 */
	uint64_t rng;
	unsigned long window;
	unsigned long steps;
	unsigned long checks; /* after a pause */
} * m;

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = (const struct zoo_break[]){{"one page written behind the model's back", NULL}},
	.n_breaks = 1,
};

static uint64_t seed(unsigned long page, uint32_t ver)
{
	return ((uint64_t)page << 32) | ver;
}

static bool page_is(unsigned long i, uint32_t ver)
{
	return zoo_pattern_mismatch(mem + i * PAGE, PAGE, seed(i, ver)) < 0;
}

static void check(const char *when)
{
	unsigned long bad = 0, first = 0;

	for (unsigned long i = 0; i < NPAGES; i++) {
		bool ok = page_is(i, m->ver[i]);

		if (!ok && (long)i == m->pending)
			ok = page_is(i, m->ver[i] + 1);
		if (!ok && !bad++)
			first = i;
	}
	zoo_expect(!bad,
		   "%s: %lu of %lu pages differ from the model, the first page %lu (version %u)",
		   when, bad, NPAGES, first, m->ver[first]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Stopped for a while since the last write (frozen, or restored): check before writing. */
static void check_after_pause(void)
{
	uint64_t t = now_ns();

	if (last_write && t - last_write > GAP_NS) {
		check("after a pause");
		m->checks++;
		t = now_ns();
	}
	last_write = t;
}

static void write_page(unsigned long i)
{
	check_after_pause();
	m->pending = (long)i;
	zoo_fill(mem + i * PAGE, PAGE, seed(i, m->ver[i] + 1));
	m->ver[i]++;
	m->pending = -1;
}

static void step(void)
{
	write_page(zoo_xorshift(&m->rng) % NPAGES);
	for (unsigned long k = 0; k < WINDOW; k++)
		write_page((m->window + k) % NPAGES);
	m->window = (m->window + 3) % NPAGES;
	m->steps++;
}

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	mem = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || m == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	m->rng = 0x2545f4914f6cdd1dull;
	m->pending = -1;
	for (unsigned long i = 0; i < NPAGES; i++)
		write_page(i);
	signal(SIGUSR1, SIG_IGN); /* the predump suite's "change the layout" does not apply */
	zoo_ready();
	last_write = now_ns();
	while (!zoo_terminated())
		step();
	if (zoo_break_selected() == 1)
		mem[5 * PAGE + 7] ^= 1;
	check("at SIGTERM");
	zoo_expect(m->steps > 0, "it never wrote anything");
	return zoo_verdict();
}
