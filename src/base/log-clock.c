/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cpuid.h>
#include <time.h>

#include "base/clock.h"
#include "base/log-clock.h"

uint64_t log_monotonic_ns(void)
{
	return monotonic_ns();
}

static bool has_invariant_tsc(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return false;
	return d & (1u << 8);
}

/* Ticks per ms over a 200 us spin: good to about 1e-4, used only as a fallback. */
static uint64_t estimate_ticks_per_ms(void)
{
	uint64_t n0 = log_monotonic_ns(), t0 = __builtin_ia32_rdtsc(), n1, t1;

	do {
		n1 = log_monotonic_ns();
		t1 = __builtin_ia32_rdtsc();
	} while (n1 - n0 < 200000);
	return (t1 - t0) * 1000000 / (n1 - n0);
}

void log_clock_start(struct log_clock *c, uint64_t (*injected)(void), bool allow_tsc)
{
	c->ns = injected ? injected : log_monotonic_ns;
	c->tsc = !injected && allow_tsc && has_invariant_tsc();
	c->ticks_per_ms = c->tsc ? estimate_ticks_per_ms() : 0;
	c->mono0 = c->ns();
	c->tsc0 = c->tsc ? __builtin_ia32_rdtsc() : 0;
}
