/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure parts of restore: /proc/PID/maps parsing, the search for a place
 * free in two layouts, the syscall-restart rule for dumped registers, and
 * the comparison of two vDSO images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <cmocka.h>

#include "arch/x86/syscall.h"
#include "restore/internal.h"

static void test_maps_parse(void **state)
{
	const char *text =
		"55a000f5b000-55a000f5d000 r--p 00000000 fe:00 247134     /usr/bin/cat\n"
		"7fea99957000-7fea99979000 rw-p 00000000 00:00 0 \n"
		"7fea99979000-7fea999d0000 r--p 00000000 fe:00 1   /tmp/a file with spaces\n"
		"7fea99bc9000-7fea99bcd000 r--p 00000000 00:00 0                  [vvar]\n"
		"7fea99bcd000-7fea99bcf000 r--p 00000000 00:00 0                  [vvar_vclock]\n"
		"7fea99bcf000-7fea99bd1000 r-xp 00000000 00:00 0                  [vdso]\n"
		"7ffc03391000-7ffc033b2000 rw-p 00000000 00:00 0                  [stack]\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]\n";
	static const enum rst_special want[] = {
		RST_SPECIAL_NONE, RST_SPECIAL_NONE, RST_SPECIAL_NONE, RST_SPECIAL_VVAR,
		RST_SPECIAL_VVAR, RST_SPECIAL_VDSO, RST_SPECIAL_NONE, RST_SPECIAL_VSYSCALL,
	};
	struct rst_mapping *maps = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(rst_maps_parse(text, &maps, &n), 0);
	assert_int_equal(n, ELEMENTSOF(want));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(maps[i].special, want[i]);
	assert_true(maps[0].start == 0x55a000f5b000 && maps[0].end == 0x55a000f5d000);
	assert_true(maps[7].start == 0xffffffffff600000 && maps[7].end == 0xffffffffff601000);
	free(maps);

	assert_int_equal(rst_maps_parse("garbage\n", &maps, &n), -EBADMSG);
	assert_int_equal(rst_maps_parse("2000-1000 r--p 0 0:0 0\n", &maps, &n), -EBADMSG);
	assert_int_equal(rst_maps_parse("", &maps, &n), 0);
	assert_int_equal(n, 0);
	free(maps);
}

#define P 4096ULL

static void test_find_gap(void **state)
{
	struct rst_range busy[] = {
		{10 * P, 20 * P},
		{1 * P, 5 * P}, /* unsorted on purpose */
		{22 * P, 30 * P},
		{12 * P, 14 * P}, /* inside another: both layouts may agree */
	};
	uint64_t addr;

	(void)state;
	/* Between 5 and 10 there is room for 3 pages with a free page on each side. */
	assert_int_equal(rst_find_gap(busy, ELEMENTSOF(busy), 3 * P, 0, 100 * P, &addr), 0);
	assert_int_equal(addr, 6 * P);
	/* 4 pages do not fit there (5..10 leaves 3 between the guards), nor in 20..22. */
	assert_int_equal(rst_find_gap(busy, ELEMENTSOF(busy), 4 * P, 0, 100 * P, &addr), 0);
	assert_int_equal(addr, 31 * P);
	/* Nothing below hi. */
	assert_int_equal(rst_find_gap(busy, ELEMENTSOF(busy), 4 * P, 0, 34 * P, &addr), -ENOSPC);
	assert_int_equal(rst_find_gap(busy, ELEMENTSOF(busy), 4 * P, 0, 36 * P, &addr), 0);
	assert_int_equal(addr, 31 * P);
	/* A busy range above hi (the vsyscall page) does not open room beyond hi. */
	{
		struct rst_range high[] = {{0, 8 * P}, {1000 * P, 1001 * P}};

		assert_int_equal(rst_find_gap(high, 2, 4 * P, 0, 10 * P, &addr), -ENOSPC);
	}
	/* lo is respected; a length is rounded up to pages. */
	assert_int_equal(rst_find_gap(busy, ELEMENTSOF(busy), 100, 40 * P, 100 * P, &addr), 0);
	assert_int_equal(addr, 41 * P);
}

static struct x86_regs regs_in_syscall(long nr, long ret)
{
	struct x86_regs r = {};

	r.gpr.orig_rax = (unsigned long long)nr;
	r.gpr.rax = (unsigned long long)ret;
	r.gpr.rip = 0x1000;
	return r;
}

static void test_no_restart(void **state)
{
	static const long restart_again[] = {-ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND};
	struct x86_regs r;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(restart_again); i++) {
		r = regs_in_syscall(230, restart_again[i]);
		rst_regs_no_restart(&r);
		assert_int_equal(r.gpr.rax, 230);
		assert_int_equal(r.gpr.rip, 0x1000 - 2);
		assert_int_equal((long)r.gpr.orig_rax, -1);
	}
	/* The restart block did not survive: the call fails with EINTR. */
	r = regs_in_syscall(230, -ERESTART_RESTARTBLOCK);
	rst_regs_no_restart(&r);
	assert_int_equal((long)r.gpr.rax, -EINTR);
	assert_int_equal(r.gpr.rip, 0x1000);
	/* What CRIU already converted (the counter fixture: clock_nanosleep, -EINTR) stays. */
	r = regs_in_syscall(0xe6, -EINTR);
	rst_regs_no_restart(&r);
	assert_int_equal((long)r.gpr.rax, -EINTR);
	assert_int_equal(r.gpr.rip, 0x1000);
	assert_int_equal((long)r.gpr.orig_rax, -1);
	/* Not in a syscall: rax is just a value, even one that looks like a restart code. */
	r = regs_in_syscall(-1, -ERESTARTSYS);
	rst_regs_no_restart(&r);
	assert_int_equal((long)r.gpr.rax, -ERESTARTSYS);
	assert_int_equal(r.gpr.rip, 0x1000);
}

/* This process's vDSO: an image with the symbol table the comparison reads. */
static const uint8_t *own_vdso(size_t *ret_len)
{
	const uint8_t *p = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
	struct rst_mapping *maps = NULL;
	size_t n = 0;

	*ret_len = 0;
	assert_int_equal(rst_maps_read(getpid(), &maps, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (maps[i].special == RST_SPECIAL_VDSO && maps[i].start == (uintptr_t)p)
			*ret_len = maps[i].end - maps[i].start;
	free(maps);
	return *ret_len ? p : NULL;
}

static void test_vdso_compatible(void **state)
{
	size_t len;
	const uint8_t *ours = own_vdso(&len);
	_cleanup_free_ uint8_t *copy = NULL;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const char *sym;
	bool changed = false;

	(void)state;
	if (!ours)
		skip();
	assert_int_equal(rst_vdso_compatible(ours, len, ours, len, &sym), 1);
	assert_null(sym);

	/* Move one global function: the comparison must name it. */
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, ours, len);
	eh = (const Elf64_Ehdr *)copy;
	sh = (const Elf64_Shdr *)(copy + eh->e_shoff);
	for (size_t i = 0; i < eh->e_shnum && !changed; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym) && !changed; k++) {
			Elf64_Sym *s = (Elf64_Sym *)(copy + sh[i].sh_offset) + k;

			if (ELF64_ST_TYPE(s->st_info) == STT_FUNC &&
			    ELF64_ST_BIND(s->st_info) == STB_GLOBAL) {
				s->st_value += 16;
				changed = true;
			}
		}
	}
	assert_true(changed);
	assert_int_equal(rst_vdso_compatible(copy, len, ours, len, &sym), 0);
	assert_non_null(sym);
	assert_true(startswith(sym, "__vdso_") || startswith(sym, "__kernel_"));

	/* Not an ELF image. */
	memset(copy, 0, 64);
	assert_int_equal(rst_vdso_compatible(copy, len, ours, len, &sym), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_parse),
		cmocka_unit_test(test_find_gap),
		cmocka_unit_test(test_no_restart),
		cmocka_unit_test(test_vdso_compatible),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
