/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * x86 thread state to and from CRIU's core-x86 messages (core-PID.img):
 * general registers, the FXSAVE/XSAVE area, and the TLS descriptors.
 *
 * Dump side: the messages point into the x86_fpu area (no copies), so the
 * area must outlive the packing of the message.
 */

#include "arch/x86/fpu.h"
#include "arch/x86/regs.h"
#include "core-x86.pb-c.h"

void x86_regs_to_core(const struct x86_regs *regs, UserX86RegsEntry *ret_entry);
int x86_core_to_regs(const UserX86RegsEntry *entry, struct x86_regs *ret_regs);

/*
 * Fill fp (and xs, which becomes fp->xsave when the area is an XSAVE area)
 * with pointers into fpu->area. -EBADMSG if the area is too small for the
 * components its header announces.
 */
int x86_fpu_to_core(const struct x86_fpu *fpu, UserX86FpregsEntry *fp, UserX86XsaveEntry *xs);

/* Build an XSAVE (or FXSAVE) area from a message, for x86_fpu_set(). */
int x86_core_to_fpu(const UserX86FpregsEntry *fp, struct x86_fpu *ret_fpu);

/* The XSAVE components stasis saves, and where they live in the standard format. */
enum x86_xfeature {
	X86_XFEATURE_YMM = 2,
	X86_XFEATURE_BNDREGS = 3,
	X86_XFEATURE_BNDCSR = 4,
	X86_XFEATURE_OPMASK = 5,
	X86_XFEATURE_ZMM_HI256 = 6,
	X86_XFEATURE_HI16_ZMM = 7,
	X86_XFEATURE_PKRU = 9,
};

/* Offset and size of a component in the standard (non-compacted) format; -ENODEV if none. */
int x86_xfeature_layout(enum x86_xfeature f, unsigned *ret_offset, unsigned *ret_size);
