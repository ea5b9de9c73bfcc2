/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pure register arithmetic of src/arch/x86/syscall.c: loading a syscall
 * and the kernel's restart rules for interrupted calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "arch/x86/syscall.h"

/* Registers with a distinct value everywhere, so that any stray change shows. */
static struct x86_regs pattern_regs(void)
{
	struct x86_regs regs;
	unsigned char *p = (unsigned char *)&regs;

	for (size_t i = 0; i < sizeof(regs); i++)
		p[i] = (unsigned char)(i * 7 + 3);
	return regs;
}

/* A task stopped at the exit of syscall nr that returned rax, rip past the instruction. */
static struct x86_regs stopped_in(long nr, long rax)
{
	struct x86_regs regs = pattern_regs();

	regs.gpr.orig_rax = (unsigned long)nr;
	regs.gpr.rax = (unsigned long)rax;
	regs.gpr.rip = 0x401002;
	return regs;
}

static void test_setup_syscall(void **state)
{
	(void)state;
	const unsigned long args[6] = {11, 22, 33, 44, 55, 66};
	struct x86_regs before = pattern_regs(), regs;

	before.gpr.eflags = 0x346; /* TF (0x100) set, with other flags around it */
	regs = before;
	x86_regs_setup_syscall(&regs, __NR_mmap, args, 0x7f0000001000UL);

	assert_int_equal(regs.gpr.rax, __NR_mmap);
	assert_int_equal(regs.gpr.orig_rax, __NR_mmap);
	assert_int_equal(regs.gpr.rdi, 11);
	assert_int_equal(regs.gpr.rsi, 22);
	assert_int_equal(regs.gpr.rdx, 33);
	assert_int_equal(regs.gpr.r10, 44);
	assert_int_equal(regs.gpr.r8, 55);
	assert_int_equal(regs.gpr.r9, 66);
	assert_int_equal(regs.gpr.rip, 0x7f0000001000UL);
	assert_int_equal(regs.gpr.eflags, 0x246);

	/* Nothing else moves: not the stack, not rcx (the 4th C argument, not the syscall's). */
	struct x86_regs expect = before;
	expect.gpr.rax = regs.gpr.rax;
	expect.gpr.orig_rax = regs.gpr.orig_rax;
	expect.gpr.rdi = regs.gpr.rdi;
	expect.gpr.rsi = regs.gpr.rsi;
	expect.gpr.rdx = regs.gpr.rdx;
	expect.gpr.r10 = regs.gpr.r10;
	expect.gpr.r8 = regs.gpr.r8;
	expect.gpr.r9 = regs.gpr.r9;
	expect.gpr.rip = regs.gpr.rip;
	expect.gpr.eflags = regs.gpr.eflags;
	assert_memory_equal(&regs, &expect, sizeof(regs));
}

static void test_syscall_insn(void **state)
{
	(void)state;
	assert_int_equal(x86_syscall_insn[0], 0x0f);
	assert_int_equal(x86_syscall_insn[1], 0x05);
}

/* -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND: the same call runs again. */
static void test_restart_same_call(void **state)
{
	(void)state;
	const long codes[] = {-ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct x86_regs regs = stopped_in(__NR_read, codes[i]);
		struct x86_regs expect = regs;

		assert_true(x86_regs_in_syscall(&regs));
		assert_true(x86_regs_restart_pending(&regs));
		assert_true(x86_regs_restart_syscall(&regs));
		expect.gpr.rax = __NR_read;
		expect.gpr.rip = 0x401000;
		assert_memory_equal(&regs, &expect, sizeof(regs));
	}
}

/* -ERESTART_RESTARTBLOCK: restart_syscall() resumes from the task's restart block. */
static void test_restart_block(void **state)
{
	(void)state;
	struct x86_regs regs = stopped_in(__NR_clock_nanosleep, -ERESTART_RESTARTBLOCK);
	struct x86_regs expect = regs;

	assert_true(x86_regs_restart_syscall(&regs));
	expect.gpr.rax = __NR_restart_syscall;
	expect.gpr.rip = 0x401000;
	/* orig_rax stays: the kernel leaves it too. */
	assert_memory_equal(&regs, &expect, sizeof(regs));
}

/* An x32 call restarts as x32 restart_syscall. */
static void test_restart_block_x32(void **state)
{
	(void)state;
	struct x86_regs regs =
		stopped_in((long)(X86_X32_SYSCALL_BIT | __NR_nanosleep), -ERESTART_RESTARTBLOCK);

	assert_true(x86_regs_restart_syscall(&regs));
	assert_int_equal(regs.gpr.rax, X86_X32_SYSCALL_BIT | __NR_restart_syscall);
}

/* Not in a syscall, or a final result: nothing to do and nothing touched. */
static void test_no_restart(void **state)
{
	(void)state;
	const struct {
		long orig_rax, rax;
	} cases[] = {
		{-1, -ERESTARTSYS},       /* stopped in user code with a stray rax */
		{-1, 0},                  /* stopped in user code */
		{__NR_read, -EINTR},      /* epoll_wait-like: EINTR is final */
		{__NR_read, 5},           /* finished */
		{__NR_read, -EAGAIN},     /* ordinary failure */
		{__NR_read, -515},        /* between the codes: not a restart code */
		{__NR_read, -517},        /* above them */
		{__NR_read, ERESTARTSYS}, /* positive 512: a result, not a code */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct x86_regs regs = stopped_in(cases[i].orig_rax, cases[i].rax);
		struct x86_regs expect = regs;

		assert_false(x86_regs_restart_syscall(&regs));
		assert_memory_equal(&regs, &expect, sizeof(regs));
	}
	struct x86_regs user = stopped_in(-1, 0);
	assert_false(x86_regs_in_syscall(&user));
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup_syscall),
		cmocka_unit_test(test_syscall_insn),
		cmocka_unit_test(test_restart_same_call),
		cmocka_unit_test(test_restart_block),
		cmocka_unit_test(test_restart_block_x32),
		cmocka_unit_test(test_no_restart),
	};
	/* clang-format on */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
