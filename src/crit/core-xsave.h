/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The XSAVE area of a core file's NT_X86_XSTATE note, built from the image
 * alone: the features are those the image holds (the dumping CPU's), laid
 * out in the standard format gdb expects, whatever CPU runs stasis.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core-x86.pb-c.h"

struct core_xstate {
	uint8_t *area; /* malloc'ed; the first 512 bytes are the FXSAVE image (NT_FPREGSET) */
	size_t size;   /* 512 without XSAVE, else what the features need */
	uint64_t xcr0; /* x87 | SSE | every component the image holds; also at byte 464 */
	bool xsave;
};

/*
 * -EBADMSG (logged, naming core-TID.img) if a component does not have the
 * size of its feature.
 */
int core_xstate_build(const UserX86FpregsEntry *fp, uint32_t tid, struct core_xstate *ret);
void core_xstate_done(struct core_xstate *x);
