/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The segment bases: FS (glibc's thread pointer, which errno and every TLS
 * variable go through) and GS, set with arch_prctl(ARCH_SET_GS) to a table
 * of values. After the restore both bases are what they were, a TLS variable
 * keeps its value, and %gs-relative loads read the table.
 */
#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define TABLE 8
#define TLS_VALUE 0x7153ace0u

static uint64_t table[TABLE];

static uint64_t table_value(int i)
{
	return 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
}
static unsigned long fs_base, gs_base;
static __thread volatile unsigned tls_var;

static unsigned long get_base(int code)
{
	unsigned long v = 0;

	syscall(SYS_arch_prctl, code, &v);
	return v;
}

static uint64_t gs_load(void)
{
	uint64_t v;

	/* table[3], through %gs */
	__asm__ volatile("movq %%gs:24, %0" : "=r"(v));
	return v;
}

static void setup(void)
{
	for (int i = 0; i < TABLE; i++)
		table[i] = table_value(i);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)table))
		zoo_setup_failed("arch_prctl(ARCH_SET_GS): %m");
	tls_var = TLS_VALUE;
	fs_base = get_base(ARCH_GET_FS);
	gs_base = get_base(ARCH_GET_GS);
	if (gs_base != (unsigned long)table)
		zoo_setup_failed("GS base %#lx, not %p", gs_base, (void *)table);
}

static void check(void)
{
	unsigned long fs = get_base(ARCH_GET_FS), gs = get_base(ARCH_GET_GS);

	zoo_expect(fs == fs_base, "FS base %#lx, not %#lx", fs, fs_base);
	zoo_expect(gs == gs_base, "GS base %#lx, not %#lx", gs, gs_base);
	zoo_expect(tls_var == TLS_VALUE, "a TLS variable is %#x, not %#x", tls_var, TLS_VALUE);
	if (gs == gs_base)
		zoo_expect(gs_load() == table_value(3), "%%gs:24 reads %#llx, not %#llx",
			   (unsigned long long)gs_load(), (unsigned long long)table_value(3));
}

static void break_gs(void)
{
	syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)(table + 1));
}

static void break_table(void)
{
	table[3] ^= 1;
}

static void break_tls(void)
{
	tls_var = 0;
}

static const struct zoo_break breaks[] = {
	{"the GS base moved by 8 bytes", break_gs},
	{"the table behind GS changed", break_table},
	{"a TLS variable changed", break_tls},
};

static const struct zoo_desc desc = {
	.requires = "ptrace_xstate",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
