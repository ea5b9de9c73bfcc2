/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A counter advancing in a loop, every millisecond, with a shadow count in a
 * page of its own. Every step reads the wall clock and the monotonic clock
 * and neither may ever go backwards. After SIGTERM the loop goes on for
 * AFTER_TERM more steps: the counter must still advance (the process kept
 * counting after the restore) and both counts must agree.
 */
#include <sys/mman.h>
#include <time.h>

#include "zoo.h"

#define AFTER_TERM 100

static uint64_t count, term_count;
static uint64_t *shadow;
static struct timespec last_real, last_mono;
static bool stalled; /* set by a break only */

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Read clock into *last, failing if it went backwards. */
static void clock_step(clockid_t clock, const char *name, struct timespec *last)
{
	struct timespec now;
	int64_t back;

	clock_gettime(clock, &now);
	back = ts_ns(last) - ts_ns(&now);
	zoo_expect(back <= 0, "%s clock went back by %lld ns at step %llu", name, (long long)back,
		   (unsigned long long)count);
	*last = now;
}

static void step(void)
{
	if (!stalled) {
		count++;
		(*shadow)++;
	}
	clock_step(CLOCK_REALTIME, "wall", &last_real);
	clock_step(CLOCK_MONOTONIC, "monotonic", &last_mono);
	zoo_sleep_ms(1);
}

static void setup(void)
{
	shadow = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (shadow == MAP_FAILED)
		zoo_setup_failed("mmap: %m");
	clock_gettime(CLOCK_REALTIME, &last_real);
	clock_gettime(CLOCK_MONOTONIC, &last_mono);
	for (int i = 0; i < 10; i++)
		step();
}

static void check(void)
{
	zoo_expect(count == term_count + AFTER_TERM,
		   "counter advanced by %llu after SIGTERM, not %d",
		   (unsigned long long)(count - term_count), AFTER_TERM);
	zoo_expect(*shadow == count, "shadow counter is %llu, counter %llu",
		   (unsigned long long)*shadow, (unsigned long long)count);
}

static void break_stall(void)
{
	stalled = true;
}

static void break_shadow(void)
{
	*shadow += 5;
}

static void break_clock(void)
{
	last_real.tv_sec += 3600;
}

static const struct zoo_break breaks[] = {
	{"the counter stops advancing", break_stall},
	{"the shadow counter moved on its own", break_shadow},
	{"the last wall-clock reading put an hour ahead", break_clock},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	while (!zoo_terminated())
		step();
	term_count = count;
	for (int i = 0; i < AFTER_TERM; i++)
		step();
	check();
	return zoo_verdict();
}
