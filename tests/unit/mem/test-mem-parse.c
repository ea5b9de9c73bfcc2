/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The smaps line parsers of src/mem (vma-parse.c). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "mem/internal.h"

static void test_head_file(void **state)
{
	char line[] = "7f4946b5f000-7f4946b61000 rw-p 001d3000 fe:00 332835                     "
		      "/usr/lib/x86_64-linux-gnu/libc.so.6\n";
	struct smaps_head h;

	(void)state;
	assert_int_equal(smaps_parse_head(line, &h), 0);
	assert_int_equal(h.start, 0x7f4946b5f000);
	assert_int_equal(h.end, 0x7f4946b61000);
	assert_int_equal(h.pgoff, 0x1d3000);
	assert_int_equal(h.dev_major, 0xfe);
	assert_int_equal(h.dev_minor, 0);
	assert_int_equal(h.ino, 332835);
	assert_int_equal(h.prot, PROT_READ | PROT_WRITE);
	assert_false(h.shared);
	assert_string_equal(h.name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void test_head_anon_and_special(void **state)
{
	char anon[] = "7f4946b61000-7f4946b6e000 rw-p 00000000 00:00 0 \n";
	char vsys[] = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  "
		      "[vsyscall]\n";
	char shm[] = "7feabf19d000-7feabf19f000 rw-s 00000000 00:01 62                         "
		     "/dev/zero (deleted)";
	struct smaps_head h;

	(void)state;
	assert_int_equal(smaps_parse_head(anon, &h), 0);
	assert_string_equal(h.name, "");
	assert_int_equal(h.ino, 0);
	assert_int_equal(smaps_parse_head(vsys, &h), 0);
	assert_int_equal(h.start, 0xffffffffff600000);
	assert_int_equal(h.prot, PROT_EXEC);
	assert_string_equal(h.name, "[vsyscall]");
	assert_int_equal(smaps_parse_head(shm, &h), 0);
	assert_true(h.shared);
	assert_int_equal(h.dev_minor, 1);
	assert_string_equal(h.name, "/dev/zero (deleted)");
}

static void test_head_rejects(void **state)
{
	char rss[] = "Rss:                   4 kB\n";
	char flags[] = "VmFlags: rd wr mr mw me ac \n";
	char bad_perm[] = "1000-2000 rw-x 00000000 00:00 0\n";
	char backwards[] = "2000-1000 rw-p 00000000 00:00 0\n";
	char truncated[] = "1000-2000 rw-p 00000000\n";
	struct smaps_head h;

	(void)state;
	assert_int_equal(smaps_parse_head(rss, &h), -EINVAL);
	assert_int_equal(smaps_parse_head(flags, &h), -EINVAL);
	assert_int_equal(smaps_parse_head(bad_perm, &h), -EINVAL);
	assert_int_equal(smaps_parse_head(backwards, &h), -EINVAL);
	assert_int_equal(smaps_parse_head(truncated, &h), -EINVAL);
}

static void test_vmflags(void **state)
{
	struct smaps_vmflags f;

	(void)state;
	smaps_parse_vmflags(" rd wr mr mw me gd ac \n", &f);
	assert_int_equal(f.map_flags, MAP_GROWSDOWN);
	assert_int_equal(f.madv, 0);
	assert_false(f.io_pfnmap);

	smaps_parse_vmflags(" rd wr mr mw me lo nr ht dc dd hg sr\n", &f);
	assert_int_equal(f.map_flags, MAP_LOCKED | MAP_NORESERVE | MAP_HUGETLB);
	assert_int_equal(f.madv, (1ul << MADV_DONTFORK) | (1ul << MADV_DONTDUMP) |
					 (1ul << MADV_HUGEPAGE) | (1ul << MADV_SEQUENTIAL));
	assert_false(f.lock_onfault);

	/* mlock2(MLOCK_ONFAULT): "lo" and "lf" */
	smaps_parse_vmflags(" rd wr mr mw me lo lf ac", &f);
	assert_int_equal(f.map_flags, MAP_LOCKED);
	assert_true(f.lock_onfault);
	assert_false(f.soft_dirty);

	/* VM_SOFTDIRTY: new since the soft-dirty bits were cleared */
	smaps_parse_vmflags(" rd wr mr mw me ac sd", &f);
	assert_true(f.soft_dirty);
	assert_int_equal(f.map_flags, 0);

	smaps_parse_vmflags(" rr mg nh wf", &f);
	assert_int_equal(f.map_flags, 0);
	assert_int_equal(f.madv, (1ul << MADV_RANDOM) | (1ul << MADV_MERGEABLE) |
					 (1ul << MADV_NOHUGEPAGE) | (1ul << MADV_WIPEONFORK));

	/* vvar: VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, CRIU's madv 0x10000 */
	smaps_parse_vmflags(" rd mr pf io de dd \n", &f);
	assert_true(f.io_pfnmap);
	assert_int_equal(f.madv, 0x10000);
	assert_false(f.shadow_stack);

	smaps_parse_vmflags(" rd wr ss", &f);
	assert_true(f.shadow_stack);
	assert_false(f.lock_onfault);
	/* mlock2(MLOCK_ONFAULT) */
	smaps_parse_vmflags(" rd wr lo lf", &f);
	assert_int_equal(f.map_flags, MAP_LOCKED);
	assert_true(f.lock_onfault);
	smaps_parse_vmflags("", &f);
	assert_int_equal(f.map_flags, 0);
	assert_int_equal(f.madv, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_file),
		cmocka_unit_test(test_head_anon_and_special),
		cmocka_unit_test(test_head_rejects),
		cmocka_unit_test(test_vmflags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
