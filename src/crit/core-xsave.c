/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NT_X86_XSTATE from core-x86 messages. The image holds each XSAVE
 * component as a field, not its place in the area, so the place is the
 * standard (non-compacted) format of Intel's SDM, which is what gdb assumes
 * for a core file whose XCR0 has these features. The restore's
 * x86_core_to_fpu() asks this CPU instead (CPUID leaf 0xd), which is right
 * for loading registers here but would give an image from another CPU the
 * features and layout of this one.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/core.h"
#include "base/log.h"
#include "base/macro.h"
#include "crit/core-xsave.h"

/* Where the kernel puts XCR0 in the FXSAVE area (sw_reserved, see asm/user.h). */
#define XSAVE_XCR0_OFFSET 464
#define XSAVE_HDR_OFFSET 512
#define XSAVE_LEGACY_SIZE 512
#define XSAVE_MIN_SIZE (512 + 64)

struct component {
	unsigned feature, offset, size;
	size_t elem, n;
	const void *data;
};

/* The components of xs with their standard offsets and sizes. */
static size_t components_of(const UserX86XsaveEntry *xs, struct component ret[7])
{
	const struct component c[] = {
		{2, 576, 256, 4, xs->n_ymmh_space, xs->ymmh_space},     /* YMM_Hi128 */
		{3, 960, 64, 8, xs->n_bndreg_state, xs->bndreg_state},  /* MPX BNDREGS */
		{4, 1024, 64, 8, xs->n_bndcsr_state, xs->bndcsr_state}, /* MPX BNDCSR */
		{5, 1088, 64, 8, xs->n_opmask_reg, xs->opmask_reg},     /* AVX-512 k0-7 */
		{6, 1152, 512, 8, xs->n_zmm_upper, xs->zmm_upper},      /* ZMM_Hi256 */
		{7, 1664, 1024, 8, xs->n_hi16_zmm, xs->hi16_zmm},       /* Hi16_ZMM */
		{9, 2688, 8, 4, xs->n_pkru, xs->pkru},                  /* PKRU */
	};

	memcpy(ret, c, sizeof(c));
	return ELEMENTSOF(c);
}

void core_xstate_done(struct core_xstate *x)
{
	free(x->area);
	*x = (struct core_xstate){};
}

/* The FXSAVE image of the legacy fields (the restore's code, without XSAVE). */
static int legacy_area(const UserX86FpregsEntry *fp, uint8_t *area)
{
	UserX86FpregsEntry legacy = *fp;
	struct x86_fpu fpu;
	int r;

	legacy.xsave = NULL;
	r = x86_core_to_fpu(&legacy, &fpu);
	if (r < 0)
		return r;
	memcpy(area, fpu.area, MIN(fpu.size, (size_t)XSAVE_LEGACY_SIZE));
	x86_fpu_done(&fpu);
	return 0;
}

int core_xstate_build(const UserX86FpregsEntry *fp, uint32_t tid, struct core_xstate *ret)
{
	struct component comps[7];
	size_t n = fp->xsave ? components_of(fp->xsave, comps) : 0, size = XSAVE_LEGACY_SIZE;
	_cleanup_free_ uint8_t *area = NULL;
	uint64_t xcr0 = 1 | 2, bv; /* x87 and SSE live in the legacy region */
	int r;

	if (fp->xsave)
		size = XSAVE_MIN_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (!comps[i].n)
			continue;
		if (comps[i].n * comps[i].elem != comps[i].size) {
			pr_err("core-%u.img: xsave component %u has %zu bytes, not %u", tid,
			       comps[i].feature, comps[i].n * comps[i].elem, comps[i].size);
			return -EBADMSG;
		}
		xcr0 |= 1ull << comps[i].feature;
		size = MAX(size, (size_t)comps[i].offset + comps[i].size);
	}
	area = calloc(1, size);
	if (!area)
		return -ENOMEM;
	r = legacy_area(fp, area);
	if (r < 0)
		return r;
	if (fp->xsave) {
		for (size_t i = 0; i < n; i++)
			if (comps[i].n)
				memcpy(area + comps[i].offset, comps[i].data, comps[i].size);
		/* a component not in xstate_bv is in its init state: keep it so */
		bv = fp->xsave->xstate_bv & xcr0;
		memcpy(area + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
		memcpy(area + XSAVE_XCR0_OFFSET, &xcr0, sizeof(xcr0));
	}
	*ret = (struct core_xstate){
		.area = TAKE_PTR(area), .size = size, .xcr0 = xcr0, .xsave = !!fp->xsave};
	return 0;
}
