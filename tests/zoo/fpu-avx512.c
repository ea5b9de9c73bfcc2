/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AVX-512 state held across the checkpoint: zmm0-31 (all 512 bits) and the
 * opmask registers k0-7, with MXCSR. Same scheme as fpu-avx.c: one asm block
 * loads, publishes the pid file with a raw rename(2), sleeps in raw
 * nanosleep(2) until SIGTERM and stores. Skipped on a CPU without AVX-512F
 * and AVX-512BW (64-bit opmasks).
 */
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "zoo.h"

#define NZMM 32
#define ZMM_SIZE 64
#define NK 8
#define MXCSR_SET 0x5f80 /* round down, all exceptions masked */
#define MXCSR_DEFAULT 0x1f80

struct regs {
	uint8_t zmm[NZMM * ZMM_SIZE];
	uint64_t k[NK];
	uint32_t mxcsr;
};

struct ctx {
	struct regs in, out;
	uint32_t mxcsr_default;
	uint32_t brk;
	const char *tmp, *pidfile;
	long rename_rc;
	struct timespec nap;
	const volatile int *term;
};

#define OFF(f) [f] "i"(offsetof(struct ctx, f))
#define ZMM_LOAD(n) "vmovdqu64 " #n "*64+%c[in](%[c]), %%zmm" #n "\n\t"
#define ZMM_STORE(n) "vmovdqu64 %%zmm" #n ", " #n "*64+%c[out](%[c])\n\t"
#define K_LOAD(n) "kmovq " #n "*8+%c[in_k](%[c]), %%k" #n "\n\t"
#define K_STORE(n) "kmovq %%k" #n ", " #n "*8+%c[out_k](%[c])\n\t"
#define K_ALL(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7)
#define ZMM_ALL(op)                                                                             \
	op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11) op(12) op(13) \
		op(14) op(15) op(16) op(17) op(18) op(19) op(20) op(21) op(22) op(23) op(24)    \
			op(25) op(26) op(27) op(28) op(29) op(30) op(31)

/* The target attribute lets the asm name zmm16-31 and k0-7 as clobbered;
 * the rest of the program stays runnable on any x86_64, to reach its skip. */
/* clang-format off */
__attribute__((noinline, target("avx512f,avx512bw")))
static void hold_registers(struct ctx *c)
{
	asm volatile(
		/* Load. */
		ZMM_ALL(ZMM_LOAD)
		K_ALL(K_LOAD)
		"ldmxcsr %c[in_mxcsr](%[c])\n\t"
		/* Ready: rename(tmp, pidfile). */
		"mov $" ZOO_STR(SYS_rename) ", %%eax\n\t"
		"mov %c[tmp](%[c]), %%rdi\n\t"
		"mov %c[pidfile](%[c]), %%rsi\n\t"
		"syscall\n\t"
		"mov %%rax, %c[rename_rc](%[c])\n\t"
		/* Break mode damages one part of the state. */
		"cmpl $1, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"vpxorq %%zmm20, %%zmm20, %%zmm20\n\t"
		"1: cmpl $2, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"vmovdqa %%ymm5, %%ymm5\n\t" /* a VEX.256 move clears bits 256-511 */
		"1: cmpl $3, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"kxorq %%k5, %%k5, %%k5\n\t"
		"1: cmpl $4, %c[brk](%[c])\n\t"
		"jne 1f\n\t"
		"ldmxcsr %c[mxcsr_default](%[c])\n\t"
		/* Sleep until SIGTERM. */
		"1: mov $" ZOO_STR(SYS_nanosleep) ", %%eax\n\t"
		"lea %c[nap](%[c]), %%rdi\n\t"
		"xor %%esi, %%esi\n\t"
		"syscall\n\t"
		"mov %c[term](%[c]), %%rax\n\t"
		"cmpl $0, (%%rax)\n\t"
		"je 1b\n\t"
		/* Store, then leave the state as the compiler expects it. */
		ZMM_ALL(ZMM_STORE)
		K_ALL(K_STORE)
		"stmxcsr %c[out_mxcsr](%[c])\n\t"
		"ldmxcsr %c[mxcsr_default](%[c])\n\t"
		"vzeroupper\n\t"
		:
		: [c] "r"(c),
		  [in] "i"(offsetof(struct ctx, in.zmm)),
		  [out] "i"(offsetof(struct ctx, out.zmm)),
		  [in_k] "i"(offsetof(struct ctx, in.k)),
		  [out_k] "i"(offsetof(struct ctx, out.k)),
		  [in_mxcsr] "i"(offsetof(struct ctx, in.mxcsr)),
		  [out_mxcsr] "i"(offsetof(struct ctx, out.mxcsr)),
		  OFF(mxcsr_default), OFF(brk), OFF(tmp), OFF(pidfile), OFF(rename_rc), OFF(nap),
		  OFF(term)
		: "rax", "rcx", "rdi", "rsi", "r11",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
		  "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
		  "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "memory", "cc");
}
/* clang-format on */

static void check(const struct ctx *c)
{
	for (int i = 0; i < NZMM; i++) {
		const uint8_t *want = c->in.zmm + i * ZMM_SIZE, *got = c->out.zmm + i * ZMM_SIZE;

		zoo_expect(memcmp(want, got, 32) == 0, "ymm%d (low half of zmm%d) changed", i, i);
		zoo_expect(memcmp(want + 32, got + 32, 32) == 0, "upper half of zmm%d changed", i);
	}
	for (int i = 0; i < NK; i++)
		zoo_expect(c->in.k[i] == c->out.k[i], "k%d is %#llx, not %#llx", i,
			   (unsigned long long)c->out.k[i], (unsigned long long)c->in.k[i]);
	zoo_expect(c->out.mxcsr == c->in.mxcsr, "MXCSR is %#x, not %#x", c->out.mxcsr, c->in.mxcsr);
}

static const struct zoo_break breaks[] = {
	/* Applied inside hold_registers(), by number. */
	{"zmm20 cleared", NULL},
	{"the upper half of zmm5 cleared", NULL},
	{"k5 cleared", NULL},
	{"MXCSR reset to its default", NULL},
};

static const struct zoo_desc desc = {
	.requires = "ptrace_xstate",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	static struct ctx c = {
		.in = {.mxcsr = MXCSR_SET},
		.mxcsr_default = MXCSR_DEFAULT,
		.nap = {0, 10 * 1000 * 1000},
	};

	zoo_init(argc, argv, &desc);
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw"))
		zoo_skip("the CPU (or the kernel) does not offer AVX-512F and AVX-512BW");
	zoo_fill(c.in.zmm, sizeof(c.in.zmm), 41);
	zoo_fill(c.in.k, sizeof(c.in.k), 43);
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
