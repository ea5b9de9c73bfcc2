/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * include/compat against the kernel's ABI: structure sizes and layouts,
 * ioctl numbers, flag bits and syscall numbers, written out as the numbers
 * the kernel documents (include/uapi/linux/{fs,userfaultfd,ptrace,sched}.h,
 * Documentation/admin-guide/mm/pagemap.rst, syscall_64.tbl). A wrong
 * definition here would make the kernel misread every call that uses it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "compat/fs.h"
#include "compat/pagemap.h"
#include "compat/ptrace.h"
#include "compat/rseq.h"
#include "compat/sched.h"
#include "compat/syscalls.h"
#include "compat/userfaultfd.h"

static void test_pagemap_scan(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct pm_scan_arg), 96);
	assert_int_equal(offsetof(struct pm_scan_arg, size), 0);
	assert_int_equal(offsetof(struct pm_scan_arg, flags), 8);
	assert_int_equal(offsetof(struct pm_scan_arg, start), 16);
	assert_int_equal(offsetof(struct pm_scan_arg, end), 24);
	assert_int_equal(offsetof(struct pm_scan_arg, walk_end), 32);
	assert_int_equal(offsetof(struct pm_scan_arg, vec), 40);
	assert_int_equal(offsetof(struct pm_scan_arg, vec_len), 48);
	assert_int_equal(offsetof(struct pm_scan_arg, max_pages), 56);
	assert_int_equal(offsetof(struct pm_scan_arg, category_inverted), 64);
	assert_int_equal(offsetof(struct pm_scan_arg, category_mask), 72);
	assert_int_equal(offsetof(struct pm_scan_arg, category_anyof_mask), 80);
	assert_int_equal(offsetof(struct pm_scan_arg, return_mask), 88);

	assert_int_equal(sizeof(struct page_region), 24);
	assert_int_equal(offsetof(struct page_region, start), 0);
	assert_int_equal(offsetof(struct page_region, end), 8);
	assert_int_equal(offsetof(struct page_region, categories), 16);

	/* _IOWR('f', 16, 96 bytes) */
	assert_int_equal(PAGEMAP_SCAN, 0xc0606610u);

	assert_int_equal(PAGE_IS_WPALLOWED, 0x01);
	assert_int_equal(PAGE_IS_WRITTEN, 0x02);
	assert_int_equal(PAGE_IS_FILE, 0x04);
	assert_int_equal(PAGE_IS_PRESENT, 0x08);
	assert_int_equal(PAGE_IS_SWAPPED, 0x10);
	assert_int_equal(PAGE_IS_PFNZERO, 0x20);
	assert_int_equal(PAGE_IS_HUGE, 0x40);
	assert_int_equal(PAGE_IS_SOFT_DIRTY, 0x80);
	assert_int_equal(PAGE_IS_GUARD, 0x100);
	assert_int_equal(PM_SCAN_WP_MATCHING, 1);
	assert_int_equal(PM_SCAN_CHECK_WPASYNC, 2);
}

static void test_pagemap_entry(void **state)
{
	(void)state;
	assert_int_equal(PME_SIZE, 8);
	assert_true(PME_PFRAME_MASK == 0x007fffffffffffffULL);
	assert_true(PME_SOFT_DIRTY == 1ULL << 55);
	assert_true(PME_EXCLUSIVE == 1ULL << 56);
	assert_true(PME_UFFD_WP == 1ULL << 57);
	assert_true(PME_GUARD == 1ULL << 58);
	assert_true(PME_FILE == 1ULL << 61);
	assert_true(PME_SWAP == 1ULL << 62);
	assert_true(PME_PRESENT == 1ULL << 63);
	assert_string_equal(CLEAR_REFS_SOFT_DIRTY, "4");
}

static void test_userfaultfd(void **state)
{
	(void)state;
	assert_int_equal(UFFD_FEATURE_WP_UNPOPULATED, 1 << 13);
	assert_int_equal(UFFD_FEATURE_POISON, 1 << 14);
	assert_int_equal(UFFD_FEATURE_WP_ASYNC, 1 << 15);
	assert_int_equal(UFFD_FEATURE_MOVE, 1 << 16);
	assert_int_equal(UFFDIO_REGISTER_MODE_WP, 2);
	assert_int_equal(UFFDIO_WRITEPROTECT_MODE_WP, 1);
	assert_int_equal(UFFDIO_WRITEPROTECT_MODE_DONTWAKE, 2);
	assert_int_equal(UFFDIO_COPY_MODE_WP, 2);
	assert_int_equal(UFFDIO_CONTINUE_MODE_WP, 2);

	assert_int_equal(sizeof(struct uffdio_writeprotect), 24);
	assert_int_equal(UFFDIO_WRITEPROTECT, 0xc018aa06u);

	assert_int_equal(sizeof(struct uffdio_move), 40);
	assert_int_equal(offsetof(struct uffdio_move, mode), 24);
	assert_int_equal(offsetof(struct uffdio_move, move), 32);
	assert_int_equal(UFFDIO_MOVE_MODE_DONTWAKE, 1);
	assert_int_equal(UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES, 2);
	assert_int_equal(UFFDIO_MOVE, 0xc028aa05u);

	assert_int_equal(sizeof(struct uffdio_poison), 32);
	assert_int_equal(offsetof(struct uffdio_poison, mode), 16);
	assert_int_equal(offsetof(struct uffdio_poison, updated), 24);
	assert_int_equal(UFFDIO_POISON_MODE_DONTWAKE, 1);
	assert_int_equal(UFFDIO_POISON, 0xc020aa08u);
}

static void test_ptrace(void **state)
{
	(void)state;
	assert_int_equal(PTRACE_GET_RSEQ_CONFIGURATION, 0x420f);
	assert_int_equal(PTRACE_EVENT_STOP, 128);
	assert_int_equal(sizeof(struct ptrace_rseq_configuration), 24);
	assert_int_equal(offsetof(struct ptrace_rseq_configuration, rseq_abi_size), 8);
	assert_int_equal(offsetof(struct ptrace_rseq_configuration, signature), 12);
	assert_int_equal(offsetof(struct ptrace_rseq_configuration, flags), 16);
}

static void test_clone3(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct clone_args), CLONE_ARGS_SIZE_VER2);
	assert_int_equal(CLONE_ARGS_SIZE_VER0, 64);
	assert_int_equal(CLONE_ARGS_SIZE_VER1, 80);
	assert_int_equal(CLONE_ARGS_SIZE_VER2, 88);
	assert_int_equal(offsetof(struct clone_args, exit_signal), 32);
	assert_int_equal(offsetof(struct clone_args, tls), 56);
	assert_int_equal(offsetof(struct clone_args, set_tid), 64);
	assert_int_equal(offsetof(struct clone_args, set_tid_size), 72);
	assert_int_equal(offsetof(struct clone_args, cgroup), 80);
	assert_int_equal(CLONE_PIDFD, 0x1000);
	assert_int_equal(CLONE_NEWTIME, 0x80);
	assert_true(CLONE_CLEAR_SIGHAND == 0x100000000ULL);
	assert_true(CLONE_INTO_CGROUP == 0x200000000ULL);
}

static void test_rseq(void **state)
{
	(void)state;
	assert_int_equal(RSEQ_SIG, 0x53053053);
	assert_int_equal(RSEQ_FLAG_UNREGISTER, 1);
	assert_int_equal(RSEQ_ORIG_SIZE, 32);
	assert_int_equal(AT_RSEQ_FEATURE_SIZE, 27);
	assert_int_equal(AT_RSEQ_ALIGN, 28);
}

static void test_syscall_numbers(void **state)
{
	(void)state;
	assert_int_equal(__NR_kcmp, 312);
	assert_int_equal(__NR_memfd_create, 319);
	assert_int_equal(__NR_userfaultfd, 323);
	assert_int_equal(__NR_rseq, 334);
	assert_int_equal(__NR_pidfd_send_signal, 424);
	assert_int_equal(__NR_io_uring_setup, 425);
	assert_int_equal(__NR_pidfd_open, 434);
	assert_int_equal(__NR_clone3, 435);
	assert_int_equal(__NR_pidfd_getfd, 438);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pagemap_scan),    cmocka_unit_test(test_pagemap_entry),
		cmocka_unit_test(test_userfaultfd),     cmocka_unit_test(test_ptrace),
		cmocka_unit_test(test_clone3),          cmocka_unit_test(test_rseq),
		cmocka_unit_test(test_syscall_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
