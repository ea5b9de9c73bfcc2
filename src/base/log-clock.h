/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Record timestamps. Reading CLOCK_MONOTONIC costs about 27 ns here, a
 * third of a whole binary record, so binary logs store raw TSC ticks when the
 * CPU has an invariant TSC. The logger ends every block it writes with a
 * clock record (ticks, ns) and the decoder turns ticks into ns between two of
 * them. Text logs, injected test clocks and CPUs without an invariant TSC
 * use ns directly.
 */

#include <stdbool.h>
#include <stdint.h>

struct log_clock {
	bool tsc;               /* timestamps are ticks since tsc0 */
	uint64_t tsc0, mono0;   /* at log start */
	uint64_t ticks_per_ms;  /* estimate made at start, for a log cut before its first clock record */
	uint64_t (*ns)(void);   /* ns clock (injected by tests, or CLOCK_MONOTONIC) */
};

uint64_t log_monotonic_ns(void);

/* Start the clock; tsc is used only if allowed and the CPU has an invariant TSC. */
void log_clock_start(struct log_clock *c, uint64_t (*injected)(void), bool allow_tsc);

/* The timestamp of a record: ticks or ns since the start. */
static inline uint64_t log_clock_now(const struct log_clock *c)
{
	if (c->tsc)
		return __builtin_ia32_rdtsc() - c->tsc0;
	return c->ns() - c->mono0;
}

/* ns since the start, now (for clock records). */
static inline uint64_t log_clock_ns(const struct log_clock *c)
{
	return c->ns() - c->mono0;
}
