/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory that keeps changing while pre-dumps run: 16 MiB of private
 * anonymous pages, written all the time (random pages, and a window of 16
 * pages that moves along), some dropped with MADV_DONTNEED (they must read
 * as zeros) or MADV_FREE (old content or zeros). A model in memory says what
 * every page holds: its version, whose pattern fills the whole page. After
 * the restore, every byte is checked against the model.
 *
 * A checkpoint may stop the program between a page and its model entry:
 * `pending` names the page being changed, and its old or new state are
 * both accepted.
 */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "zoo.h"

#define PAGE 4096ul
#define NPAGES 4096ul
#define WINDOW 16ul

enum { ST_ZERO, ST_DATA, ST_FREED };

static uint8_t *mem;
static struct model {
	uint32_t ver[NPAGES];
	uint8_t state[NPAGES];
	volatile long pending; /* page being changed, or -1 */
	uint64_t rng;
	unsigned long window;
	unsigned long steps;
} * m;

static const struct zoo_desc desc = {
	.requires = "pagemap_scan process_vm",
	.breaks = (const struct zoo_break[]){{"one page written behind the model's back", NULL},
					     {"the model of a page changed", NULL}},
	.n_breaks = 2,
};

static uint64_t next(void)
{
	return zoo_xorshift(&m->rng);
}

static uint64_t seed(unsigned long page, uint32_t ver)
{
	return ((uint64_t)page << 32) | ver;
}

static void write_page(unsigned long i)
{
	m->pending = (long)i;
	zoo_fill(mem + i * PAGE, PAGE, seed(i, m->ver[i] + 1));
	m->ver[i]++;
	m->state[i] = ST_DATA;
	m->pending = -1;
}

static void drop_page(unsigned long i, int advice, int state)
{
	m->pending = (long)i;
	madvise(mem + i * PAGE, PAGE, advice);
	m->state[i] = (uint8_t)state;
	m->pending = -1;
}

static void step(void)
{
	unsigned long r = next();

	write_page(r % NPAGES);
	for (unsigned long k = 0; k < WINDOW; k++)
		write_page((m->window + k) % NPAGES);
	m->window = (m->window + 1) % NPAGES;
	if (r % 61 == 0)
		drop_page((r >> 20) % NPAGES, MADV_DONTNEED, ST_ZERO);
	if (r % 67 == 0)
		drop_page((r >> 24) % NPAGES, MADV_FREE, ST_FREED);
	m->steps++;
}

static bool all_zero(const uint8_t *p)
{
	for (unsigned long k = 0; k < PAGE; k++)
		if (p[k])
			return false;
	return true;
}

static bool page_is(unsigned long i, uint8_t state, uint32_t ver)
{
	const uint8_t *p = mem + i * PAGE;

	if (state == ST_ZERO)
		return all_zero(p);
	if (zoo_pattern_mismatch(p, PAGE, seed(i, ver)) < 0)
		return true;
	return state == ST_FREED && all_zero(p);
}

static void check(void)
{
	unsigned long bad = 0, first = 0;

	for (unsigned long i = 0; i < NPAGES; i++) {
		bool ok = page_is(i, m->state[i], m->ver[i]);

		/* Stopped halfway through changing it: the state before counts too. */
		if (!ok && (long)i == m->pending)
			ok = page_is(i, ST_DATA, m->ver[i] + 1) || all_zero(mem + i * PAGE) ||
			     page_is(i, ST_DATA, m->ver[i]);
		if (!ok && !bad++)
			first = i;
	}
	zoo_expect(!bad, "%lu of %lu pages differ from the model, the first page %lu (version %u)",
		   bad, NPAGES, first, m->ver[first]);
	zoo_expect(m->steps > 0, "it never wrote anything");
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
	for (unsigned long i = 0; i < NPAGES; i += 2)
		write_page(i);
	signal(SIGUSR1, SIG_IGN); /* the predump suite's "change the layout" does not apply */
	zoo_ready();
	while (!zoo_terminated()) {
		for (int k = 0; k < 50; k++)
			step();
		zoo_sleep_ms(1);
	}
	/* The pages change all the time: a break is applied once they stop. */
	if (zoo_break_selected() == 1)
		mem[5 * PAGE + 7] ^= 1;
	if (zoo_break_selected() == 2)
		m->ver[8] += 2;
	check();
	return zoo_verdict();
}
