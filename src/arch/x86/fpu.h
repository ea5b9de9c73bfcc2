/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The FPU/SSE/AVX/AVX-512 state of a stopped task: the XSAVE area in
 * standard (non-compacted) format through NT_X86_XSTATE, or the 512-byte
 * FXSAVE image through NT_PRFPREG on CPUs without XSAVE.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct x86_fpu {
	void *area;  /* malloc'ed; the first 512 bytes are the FXSAVE layout in both formats */
	size_t size; /* bytes the kernel returned; SETREGSET wants exactly this many back */
	bool xsave;  /* area is an XSAVE area (header at 512, extended components after it) */
};

/* Largest XSAVE area this CPU may need (CPUID leaf 0xD, sub-leaf 0, ECX); 0 without XSAVE. */
size_t x86_xsave_max_size(void);

/* The XSAVE features the kernel enabled (XCR0, from XGETBV); 0 without XSAVE. */
uint64_t x86_xcr0(void);

/* Allocates ret_fpu->area; release it with x86_fpu_done(). */
int x86_fpu_get(pid_t tid, struct x86_fpu *ret_fpu);
int x86_fpu_set(pid_t tid, const struct x86_fpu *fpu);
void x86_fpu_done(struct x86_fpu *fpu);
