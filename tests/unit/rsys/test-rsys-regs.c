/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registers survive remote syscalls bit for bit. The child holds a pattern
 * in zmm0-31, k1-7 and r12-r15 inside one asm block, spinning on a flag in
 * shared memory; the parent reads its general registers and XSAVE area, runs
 * remote syscalls, and reads them again. Once released, the child stores
 * its registers and checks them itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <cpuid.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/fpu.h"
#include "child.h"

#define NZMM 32
#define NK 7
#define NGPR 4

/* Shared with the child: set by it once the pattern is loaded, by us to let it go. */
struct shared {
	volatile int spinning;
	volatile int go;
};

static struct shared *sh;
static uint8_t zin[NZMM * 64] __attribute__((aligned(64)));
static uint8_t zout[NZMM * 64] __attribute__((aligned(64)));
static uint16_t kin[NK], kout[NK];
static uint64_t gin[NGPR], gout[NGPR];

static void make_pattern(void)
{
	for (size_t i = 0; i < sizeof(zin); i++)
		zin[i] = (uint8_t)(i * 31 + 7);
	for (int i = 0; i < NK; i++)
		kin[i] = (uint16_t)(0x1234 * (i + 1));
	for (int i = 0; i < NGPR; i++)
		gin[i] = 0x0123456789abcdefULL ^ ((uint64_t)i << 56);
}

__attribute__((target("avx512f"), noinline)) static void hold_registers(void)
{
	asm volatile(
		"vmovdqu64 0(%[in]), %%zmm0\n"
		"vmovdqu64 64(%[in]), %%zmm1\n"
		"vmovdqu64 128(%[in]), %%zmm2\n"
		"vmovdqu64 192(%[in]), %%zmm3\n"
		"vmovdqu64 256(%[in]), %%zmm4\n"
		"vmovdqu64 320(%[in]), %%zmm5\n"
		"vmovdqu64 384(%[in]), %%zmm6\n"
		"vmovdqu64 448(%[in]), %%zmm7\n"
		"vmovdqu64 512(%[in]), %%zmm8\n"
		"vmovdqu64 576(%[in]), %%zmm9\n"
		"vmovdqu64 640(%[in]), %%zmm10\n"
		"vmovdqu64 704(%[in]), %%zmm11\n"
		"vmovdqu64 768(%[in]), %%zmm12\n"
		"vmovdqu64 832(%[in]), %%zmm13\n"
		"vmovdqu64 896(%[in]), %%zmm14\n"
		"vmovdqu64 960(%[in]), %%zmm15\n"
		"vmovdqu64 1024(%[in]), %%zmm16\n"
		"vmovdqu64 1088(%[in]), %%zmm17\n"
		"vmovdqu64 1152(%[in]), %%zmm18\n"
		"vmovdqu64 1216(%[in]), %%zmm19\n"
		"vmovdqu64 1280(%[in]), %%zmm20\n"
		"vmovdqu64 1344(%[in]), %%zmm21\n"
		"vmovdqu64 1408(%[in]), %%zmm22\n"
		"vmovdqu64 1472(%[in]), %%zmm23\n"
		"vmovdqu64 1536(%[in]), %%zmm24\n"
		"vmovdqu64 1600(%[in]), %%zmm25\n"
		"vmovdqu64 1664(%[in]), %%zmm26\n"
		"vmovdqu64 1728(%[in]), %%zmm27\n"
		"vmovdqu64 1792(%[in]), %%zmm28\n"
		"vmovdqu64 1856(%[in]), %%zmm29\n"
		"vmovdqu64 1920(%[in]), %%zmm30\n"
		"vmovdqu64 1984(%[in]), %%zmm31\n"
		"kmovw 0(%[kin]), %%k1\n"
		"kmovw 2(%[kin]), %%k2\n"
		"kmovw 4(%[kin]), %%k3\n"
		"kmovw 6(%[kin]), %%k4\n"
		"kmovw 8(%[kin]), %%k5\n"
		"kmovw 10(%[kin]), %%k6\n"
		"kmovw 12(%[kin]), %%k7\n"
		"mov 0(%[gin]), %%r12\n"
		"mov 8(%[gin]), %%r13\n"
		"mov 16(%[gin]), %%r14\n"
		"mov 24(%[gin]), %%r15\n"
		"movl $1, (%[spinning])\n"
		"1: pause\n"
		"cmpl $0, (%[go])\n"
		"je 1b\n"
		"vmovdqu64 %%zmm0, 0(%[out])\n"
		"vmovdqu64 %%zmm1, 64(%[out])\n"
		"vmovdqu64 %%zmm2, 128(%[out])\n"
		"vmovdqu64 %%zmm3, 192(%[out])\n"
		"vmovdqu64 %%zmm4, 256(%[out])\n"
		"vmovdqu64 %%zmm5, 320(%[out])\n"
		"vmovdqu64 %%zmm6, 384(%[out])\n"
		"vmovdqu64 %%zmm7, 448(%[out])\n"
		"vmovdqu64 %%zmm8, 512(%[out])\n"
		"vmovdqu64 %%zmm9, 576(%[out])\n"
		"vmovdqu64 %%zmm10, 640(%[out])\n"
		"vmovdqu64 %%zmm11, 704(%[out])\n"
		"vmovdqu64 %%zmm12, 768(%[out])\n"
		"vmovdqu64 %%zmm13, 832(%[out])\n"
		"vmovdqu64 %%zmm14, 896(%[out])\n"
		"vmovdqu64 %%zmm15, 960(%[out])\n"
		"vmovdqu64 %%zmm16, 1024(%[out])\n"
		"vmovdqu64 %%zmm17, 1088(%[out])\n"
		"vmovdqu64 %%zmm18, 1152(%[out])\n"
		"vmovdqu64 %%zmm19, 1216(%[out])\n"
		"vmovdqu64 %%zmm20, 1280(%[out])\n"
		"vmovdqu64 %%zmm21, 1344(%[out])\n"
		"vmovdqu64 %%zmm22, 1408(%[out])\n"
		"vmovdqu64 %%zmm23, 1472(%[out])\n"
		"vmovdqu64 %%zmm24, 1536(%[out])\n"
		"vmovdqu64 %%zmm25, 1600(%[out])\n"
		"vmovdqu64 %%zmm26, 1664(%[out])\n"
		"vmovdqu64 %%zmm27, 1728(%[out])\n"
		"vmovdqu64 %%zmm28, 1792(%[out])\n"
		"vmovdqu64 %%zmm29, 1856(%[out])\n"
		"vmovdqu64 %%zmm30, 1920(%[out])\n"
		"vmovdqu64 %%zmm31, 1984(%[out])\n"
		"kmovw %%k1, 0(%[kout])\n"
		"kmovw %%k2, 2(%[kout])\n"
		"kmovw %%k3, 4(%[kout])\n"
		"kmovw %%k4, 6(%[kout])\n"
		"kmovw %%k5, 8(%[kout])\n"
		"kmovw %%k6, 10(%[kout])\n"
		"kmovw %%k7, 12(%[kout])\n"
		"mov %%r12, 0(%[gout])\n"
		"mov %%r13, 8(%[gout])\n"
		"mov %%r14, 16(%[gout])\n"
		"mov %%r15, 24(%[gout])\n"
		:
		: [in] "r"(zin), [out] "r"(zout), [kin] "r"(kin), [kout] "r"(kout), [gin] "r"(gin),
		  [gout] "r"(gout), [spinning] "r"(&sh->spinning), [go] "r"(&sh->go)
		: "memory", "cc", "r12", "r13", "r14", "r15", "xmm0", "xmm1", "xmm2", "xmm3",
		  "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
		  "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
		  "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
		  "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
}

static int holder(void *arg)
{
	(void)arg;
	child_ready();
	hold_registers();
	if (memcmp(zin, zout, sizeof(zin)) != 0)
		return 2;
	if (memcmp(kin, kout, sizeof(kin)) != 0)
		return 3;
	if (memcmp(gin, gout, sizeof(gin)) != 0)
		return 4;
	return 0;
}

/* Offset of XSAVE component n in the standard format (CPUID 0xD, sub-leaf n, EBX). */
static size_t xsave_offset(unsigned int n)
{
	unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;

	assert_true(__get_cpuid_count(0xd, n, &eax, &ebx, &ecx, &edx));
	return ebx;
}

/* The zmm registers as the XSAVE area holds them: xmm (legacy), ymm high, zmm high, zmm16-31. */
static void zmm_from_xsave(const struct x86_fpu *fpu, uint8_t *out)
{
	const uint8_t *a = fpu->area;
	size_t ymmh = xsave_offset(2), zmmh = xsave_offset(6), hi16 = xsave_offset(7);

	assert_true(fpu->xsave);
	assert_true(hi16 + 16 * 64 <= fpu->size);
	for (int i = 0; i < 16; i++) {
		memcpy(out + i * 64, a + 160 + i * 16, 16);
		memcpy(out + i * 64 + 16, a + ymmh + i * 16, 16);
		memcpy(out + i * 64 + 32, a + zmmh + i * 32, 32);
	}
	memcpy(out + 16 * 64, a + hi16, 16 * 64);
}

static void test_registers_survive(void **state)
{
	struct fixture *f = *state;
	struct x86_fpu before, after, changed;
	struct x86_regs gpr_after;
	unsigned long scratch;
	uint8_t z[NZMM * 64];

	if (!__builtin_cpu_supports("avx512f"))
		skip();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	make_pattern();
	pid_t pid = child_fork(f, holder, NULL);
	long long end = now_ms() + 5000;
	while (!sh->spinning && now_ms() < end)
		usleep(1000);
	assert_true(sh->spinning);

	struct rsys_task *t = fixture_attach(f, pid);
	const struct x86_regs *gpr = rsys_task_regs(t);
	assert_int_equal(gpr->gpr.r12, gin[0]);
	assert_int_equal(gpr->gpr.r15, gin[3]);
	assert_int_equal(x86_fpu_get(pid, &before), 0);
	zmm_from_xsave(&before, z);
	assert_memory_equal(z, zin, sizeof(z));

	assert_int_equal(rsys_mmap_scratch(t, 0, 4096, &scratch), 0);
	assert_int_equal(rsys_write_mem(t, scratch, zin, sizeof(zin)), 0);
	assert_int_equal(remote(t, __NR_getpid, 0, 0, 0, 0, 0, 0), pid);
	assert_int_equal(remote(t, __NR_sched_yield, 0, 0, 0, 0, 0, 0), 0);
	assert_int_equal(rsys_munmap_scratch(t), 0);
	assert_settled(t);

	assert_int_equal(x86_fpu_get(pid, &after), 0);
	assert_int_equal(after.size, before.size);
	assert_memory_equal(after.area, before.area, before.size);
	assert_int_equal(x86_regs_get(pid, &gpr_after), 0);
	assert_memory_equal(&gpr_after, gpr, sizeof(gpr_after));

	/* Writing works too: change zmm31 through the area, read it back, put it back. */
	assert_int_equal(x86_fpu_get(pid, &changed), 0);
	((uint8_t *)changed.area)[xsave_offset(7) + 15 * 64] ^= 0xff;
	assert_int_equal(x86_fpu_set(pid, &changed), 0);
	x86_fpu_done(&after);
	assert_int_equal(x86_fpu_get(pid, &after), 0);
	assert_memory_equal(after.area, changed.area, changed.size);
	assert_int_equal(x86_fpu_set(pid, &before), 0);

	fixture_detach(f);
	sh->go = 1;
	assert_int_equal(child_wait_exit(f, pid, 5000), 0);
	x86_fpu_done(&before);
	x86_fpu_done(&after);
	x86_fpu_done(&changed);
	munmap(sh, sizeof(*sh));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers_survive, fixture_setup,
						fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
