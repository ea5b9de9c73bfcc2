/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vDSO and its data pages: [vdso] and [vvar] (and [vvar_vclock]) at the
 * addresses the program started with (glibc keeps pointers into the vDSO),
 * AT_SYSINFO_EHDR pointing at [vdso], and the clocks read through the vDSO
 * in step with the kernel's (a clock_gettime() through the vDSO falls between
 * two made with the system call).
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zoo.h"

#define SPECIALS 3

struct special {
	const char *name;
	unsigned long start, end; /* 0: not there */
};

static struct special want[SPECIALS] = {{"[vdso]"}, {"[vvar]"}, {"[vvar_vclock]"}};

static void read_specials(struct special *s)
{
	char line[512], name[64];
	unsigned long start, end;
	FILE *f = fopen("/proc/self/maps", "re");

	for (int i = 0; i < SPECIALS; i++)
		s[i].start = s[i].end = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %63s", &start, &end, name) == 3)
			for (int i = 0; i < SPECIALS; i++)
				if (strcmp(name, s[i].name) == 0)
					s[i].start = start, s[i].end = end;
	if (f)
		fclose(f);
}

static long long ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static void check_clocks(void)
{
	static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};

	for (size_t i = 0; i < ELEMENTSOF(clocks); i++) {
		struct timespec a, v, b;

		syscall(SYS_clock_gettime, clocks[i], &a);
		clock_gettime(clocks[i], &v); /* through the vDSO */
		syscall(SYS_clock_gettime, clocks[i], &b);
		zoo_expect(ns_of(&a) <= ns_of(&v) && ns_of(&v) <= ns_of(&b),
			   "clock %d through the vDSO says %lld ns, not within [%lld, %lld]",
			   (int)clocks[i], ns_of(&v), ns_of(&a), ns_of(&b));
	}
}

static void check(void)
{
	struct special now[SPECIALS] = {{"[vdso]"}, {"[vvar]"}, {"[vvar_vclock]"}};
	bool same = true;

	read_specials(now);
	for (int i = 0; i < SPECIALS; i++)
		same &= zoo_expect(now[i].start == want[i].start && now[i].end == want[i].end,
				   "%s is at %lx-%lx, it was at %lx-%lx", want[i].name,
				   now[i].start, now[i].end, want[i].start, want[i].end);
	zoo_expect(getauxval(AT_SYSINFO_EHDR) == now[0].start,
		   "AT_SYSINFO_EHDR is %#lx, [vdso] starts at %#lx", getauxval(AT_SYSINFO_EHDR),
		   now[0].start);
	/* glibc calls into the vDSO where it was: only if it is still there. */
	if (same)
		check_clocks();
}

static void break_moved(void)
{
	/* The whole block one megabyte up: the kernel follows the vDSO, glibc does not. */
	unsigned long lo = want[1].start ? want[1].start : want[0].start, hi = want[0].end;
	void *to = mmap(NULL, hi - lo + (1UL << 20), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (to == MAP_FAILED || mremap((void *)lo, hi - lo, hi - lo, MREMAP_MAYMOVE | MREMAP_FIXED,
				       (char *)to + (1UL << 20)) == MAP_FAILED)
		zoo_die("break: mremap: %m");
}

static void break_vvar(void)
{
	munmap((void *)want[1].start, want[1].end - want[1].start);
}

static const struct zoo_break breaks[] = {
	{"the vDSO block moved", break_moved},
	{"[vvar] unmapped", break_vvar},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	read_specials(want);
	if (!want[0].start || !want[1].start)
		zoo_skip("no [vdso] or [vvar] in /proc/self/maps");
	if (getauxval(AT_SYSINFO_EHDR) != want[0].start)
		zoo_setup_failed("AT_SYSINFO_EHDR %#lx is not [vdso] %#lx",
				 getauxval(AT_SYSINFO_EHDR), want[0].start);
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check();
	return zoo_verdict();
}
