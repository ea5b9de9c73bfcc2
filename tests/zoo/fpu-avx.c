/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registers and FPU state held across the checkpoint: ymm0-15 (both halves),
 * r12-r15, MXCSR, the x87 control word and a value on the x87 stack. One asm
 * block loads them all, publishes the pid file with a raw rename(2), sleeps
 * in raw nanosleep(2) calls until SIGTERM and stores everything back: no
 * compiled code runs in between to disturb the registers (signal handlers
 * do, but the kernel saves and restores the whole state around them).
 */
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "zoo.h"

#define NYMM 16
#define YMM_SIZE 32
#define MXCSR_SET 0xff80 /* round toward zero, flush to zero, all exceptions masked */
#define MXCSR_DEFAULT 0x1f80
#define FCW_SET 0x027f /* x87 precision 53 bits, all exceptions masked */
#define FCW_DEFAULT 0x037f
#define X87_VALUE 0x123456789abcdefLL

struct regs {
	uint8_t ymm[NYMM * YMM_SIZE];
	uint64_t gpr[4]; /* r12-r15 */
	uint32_t mxcsr;
	uint16_t fcw;
	int64_t x87;
};

struct ctx {
	struct regs in, out;
	uint32_t mxcsr_default;
	uint16_t fcw_default;
	uint32_t brk;
	const char *tmp, *pidfile;
	long rename_rc;
	struct timespec nap;
	const volatile int *term;
};

#define OFF(f) [f] "i"(offsetof(struct ctx, f))
#define YMM_LOAD(n) "vmovdqu " #n "*32+%c[in](%[c]), %%ymm" #n "\n\t"
#define YMM_STORE(n) "vmovdqu %%ymm" #n ", " #n "*32+%c[out](%[c])\n\t"
#define YMM_ALL(op)                                                                             \
	op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) \
		op(14) op(15)

/* clang-format off */
static void hold_registers(struct ctx *c)
{
	asm volatile(
		/* Load. */
		YMM_ALL(YMM_LOAD)
		"mov %c[in_gpr]+0(%[c]), %%r12\n\t"
		"mov %c[in_gpr]+8(%[c]), %%r13\n\t"
		"mov %c[in_gpr]+16(%[c]), %%r14\n\t"
		"mov %c[in_gpr]+24(%[c]), %%r15\n\t"
		"ldmxcsr %c[in_mxcsr](%[c])\n\t"
		"fldcw %c[in_fcw](%[c])\n\t"
		"fildll %c[in_x87](%[c])\n\t"
		/* Ready: rename(tmp, pidfile). */
		"mov $" ZOO_STR(SYS_rename) ", %%eax\n\t"
		"mov %c[tmp](%[c]), %%rdi\n\t"
		"mov %c[pidfile](%[c]), %%rsi\n\t"
		"syscall\n\t"
		"mov %%rax, %c[rename_rc](%[c])\n\t"
		/* Break mode damages one part of the state. */
		"cmpl $1, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"vpcmpeqd %%ymm9, %%ymm9, %%ymm9\n\t"
		"1: cmpl $2, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"vmovdqa %%xmm3, %%xmm3\n\t" /* a VEX.128 move clears bits 128-255 */
		"1: cmpl $3, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"not %%r13\n\t"
		"1: cmpl $4, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"ldmxcsr %c[mxcsr_default](%[c])\n\t"
		"1: cmpl $5, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"fldcw %c[fcw_default](%[c])\n\t"
		/* Sleep until SIGTERM. */
		"1: mov $" ZOO_STR(SYS_nanosleep) ", %%eax\n\t"
		"lea %c[nap](%[c]), %%rdi\n\t"
		"xor %%esi, %%esi\n\t"
		"syscall\n\t"
		"mov %c[term](%[c]), %%rax\n\t"
		"cmpl $0, (%%rax)\n\t"
		"je 1b\n\t"
		/* Store, then leave the state as the compiler expects it. */
		YMM_ALL(YMM_STORE)
		"mov %%r12, %c[out_gpr]+0(%[c])\n\t"
		"mov %%r13, %c[out_gpr]+8(%[c])\n\t"
		"mov %%r14, %c[out_gpr]+16(%[c])\n\t"
		"mov %%r15, %c[out_gpr]+24(%[c])\n\t"
		"stmxcsr %c[out_mxcsr](%[c])\n\t"
		"fnstcw %c[out_fcw](%[c])\n\t"
		"fistpll %c[out_x87](%[c])\n\t"
		"ldmxcsr %c[mxcsr_default](%[c])\n\t"
		"fldcw %c[fcw_default](%[c])\n\t"
		"vzeroupper\n\t"
		:
		: [c] "r"(c),
		  [in] "i"(offsetof(struct ctx, in.ymm)),
		  [out] "i"(offsetof(struct ctx, out.ymm)),
		  [in_gpr] "i"(offsetof(struct ctx, in.gpr)),
		  [out_gpr] "i"(offsetof(struct ctx, out.gpr)),
		  [in_mxcsr] "i"(offsetof(struct ctx, in.mxcsr)),
		  [out_mxcsr] "i"(offsetof(struct ctx, out.mxcsr)),
		  [in_fcw] "i"(offsetof(struct ctx, in.fcw)),
		  [out_fcw] "i"(offsetof(struct ctx, out.fcw)),
		  [in_x87] "i"(offsetof(struct ctx, in.x87)),
		  [out_x87] "i"(offsetof(struct ctx, out.x87)),
		  OFF(mxcsr_default), OFF(fcw_default), OFF(brk), OFF(tmp), OFF(pidfile),
		  OFF(rename_rc), OFF(nap), OFF(term)
		: "rax", "rcx", "rdx", "rdi", "rsi", "r11", "r12", "r13", "r14", "r15",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "st", "memory", "cc");
}
/* clang-format on */

static void check(const struct ctx *c)
{
	for (int i = 0; i < NYMM; i++) {
		const uint8_t *want = c->in.ymm + i * YMM_SIZE, *got = c->out.ymm + i * YMM_SIZE;

		zoo_expect(memcmp(want, got, 16) == 0, "xmm%d (low half of ymm%d) changed", i, i);
		zoo_expect(memcmp(want + 16, got + 16, 16) == 0, "upper half of ymm%d changed", i);
	}
	for (int i = 0; i < 4; i++)
		zoo_expect(c->in.gpr[i] == c->out.gpr[i], "r%d is %#llx, not %#llx", 12 + i,
			   (unsigned long long)c->out.gpr[i], (unsigned long long)c->in.gpr[i]);
	zoo_expect(c->out.mxcsr == c->in.mxcsr, "MXCSR is %#x, not %#x", c->out.mxcsr, c->in.mxcsr);
	zoo_expect(c->out.fcw == c->in.fcw, "x87 control word is %#x, not %#x", c->out.fcw,
		   c->in.fcw);
	zoo_expect(c->out.x87 == c->in.x87, "x87 st(0) is %#llx, not %#llx",
		   (unsigned long long)c->out.x87, (unsigned long long)c->in.x87);
}

static const struct zoo_break breaks[] = {
	/* Applied inside hold_registers(), by number. */
	{"ymm9 set to all ones", NULL},
	{"the upper half of ymm3 cleared", NULL},
	{"r13 inverted", NULL},
	{"MXCSR reset to its default", NULL},
	{"x87 control word reset to its default", NULL},
};

static const struct zoo_desc desc = {
	.requires = "ptrace_xstate",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	static struct ctx c = {
		.in = {.gpr = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x5555aaaa5555aaaaULL,
			       0x8000000000000001ULL},
		       .mxcsr = MXCSR_SET,
		       .fcw = FCW_SET,
		       .x87 = X87_VALUE},
		.mxcsr_default = MXCSR_DEFAULT,
		.fcw_default = FCW_DEFAULT,
		.nap = {0, 10 * 1000 * 1000},
	};

	zoo_init(argc, argv, &desc);
	if (!__builtin_cpu_supports("avx"))
		zoo_skip("the CPU (or the kernel) does not offer AVX");
	zoo_fill(c.in.ymm, sizeof(c.in.ymm), 31);
	c.brk = zoo_break_selected();
	c.tmp = zoo_ready_prepare();
	c.pidfile = zoo_pidfile();
	c.term = zoo_term_flag();
	hold_registers(&c);
	if (c.rename_rc)
		zoo_die("rename to %s failed: %ld", c.pidfile, c.rename_rc);
	check(&c);
	return zoo_verdict();
}
