/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cpuid.h>
#include <stddef.h>

#include "arch/x86/core.h"
#include "base/log.h"

/* The legacy FXSAVE region (the first 512 bytes of an XSAVE area). */
struct fxsave {
	uint16_t cwd, swd;
	uint8_t twd, pad0;
	uint16_t fop;
	uint64_t rip, rdp;
	uint32_t mxcsr, mxcsr_mask;
	uint32_t st_space[32];
	uint32_t xmm_space[64];
	uint32_t padding[24];
};

/* Natural alignment gives the hardware layout: no packing needed. */
_Static_assert(sizeof(struct fxsave) == 512, "FXSAVE region is 512 bytes");
_Static_assert(offsetof(struct fxsave, rip) == 8 && offsetof(struct fxsave, mxcsr) == 24 &&
		       offsetof(struct fxsave, st_space) == 32 &&
		       offsetof(struct fxsave, xmm_space) == 160,
	       "FXSAVE layout");

#define XSAVE_HDR_OFFSET 512
#define XSAVE_HDR_SIZE 64

void x86_regs_to_core(const struct x86_regs *regs, UserX86RegsEntry *e)
{
	const struct user_regs_struct *r = &regs->gpr;

	e->r15 = r->r15, e->r14 = r->r14, e->r13 = r->r13, e->r12 = r->r12;
	e->bp = r->rbp, e->bx = r->rbx, e->r11 = r->r11, e->r10 = r->r10;
	e->r9 = r->r9, e->r8 = r->r8, e->ax = r->rax, e->cx = r->rcx;
	e->dx = r->rdx, e->si = r->rsi, e->di = r->rdi, e->orig_ax = r->orig_rax;
	e->ip = r->rip, e->cs = r->cs, e->flags = r->eflags, e->sp = r->rsp;
	e->ss = r->ss, e->fs_base = r->fs_base, e->gs_base = r->gs_base;
	e->ds = r->ds, e->es = r->es, e->fs = r->fs, e->gs = r->gs;
	e->has_mode = true;
	e->mode = USER_X86_REGS_MODE__NATIVE;
}

int x86_core_to_regs(const UserX86RegsEntry *e, struct x86_regs *ret_regs)
{
	struct user_regs_struct r = {};

	if (e->has_mode && e->mode != USER_X86_REGS_MODE__NATIVE) {
		pr_err("32-bit (compat) tasks are not supported by stasis");
		return -EOPNOTSUPP;
	}
	r.r15 = e->r15, r.r14 = e->r14, r.r13 = e->r13, r.r12 = e->r12;
	r.rbp = e->bp, r.rbx = e->bx, r.r11 = e->r11, r.r10 = e->r10;
	r.r9 = e->r9, r.r8 = e->r8, r.rax = e->ax, r.rcx = e->cx;
	r.rdx = e->dx, r.rsi = e->si, r.rdi = e->di, r.orig_rax = e->orig_ax;
	r.rip = e->ip, r.cs = e->cs, r.eflags = e->flags, r.rsp = e->sp;
	r.ss = e->ss, r.fs_base = e->fs_base, r.gs_base = e->gs_base;
	r.ds = e->ds, r.es = e->es, r.fs = e->fs, r.gs = e->gs;
	ret_regs->gpr = r;
	return 0;
}

int x86_xfeature_layout(enum x86_xfeature f, unsigned *ret_offset, unsigned *ret_size)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return -ENODEV;
	/* EDX:EAX of sub-leaf 0: the user state components this CPU supports. */
	if (!(((uint64_t)edx << 32 | eax) & (1ull << f)))
		return -ENODEV;
	if (!__get_cpuid_count(0xd, f, &eax, &ebx, &ecx, &edx) || eax == 0)
		return -ENODEV;
	*ret_offset = ebx;
	*ret_size = eax;
	return 0;
}

/* One XSAVE component as a repeated field: n elements of elem bytes. */
struct component {
	enum x86_xfeature feature;
	size_t elem;
	size_t *n;
	void **data;
};

static int components_of(UserX86XsaveEntry *xs, struct component ret[7])
{
	struct component c[] = {
		{X86_XFEATURE_YMM, 4, &xs->n_ymmh_space, (void **)&xs->ymmh_space},
		{X86_XFEATURE_BNDREGS, 8, &xs->n_bndreg_state, (void **)&xs->bndreg_state},
		{X86_XFEATURE_BNDCSR, 8, &xs->n_bndcsr_state, (void **)&xs->bndcsr_state},
		{X86_XFEATURE_OPMASK, 8, &xs->n_opmask_reg, (void **)&xs->opmask_reg},
		{X86_XFEATURE_ZMM_HI256, 8, &xs->n_zmm_upper, (void **)&xs->zmm_upper},
		{X86_XFEATURE_HI16_ZMM, 8, &xs->n_hi16_zmm, (void **)&xs->hi16_zmm},
		{X86_XFEATURE_PKRU, 4, &xs->n_pkru, (void **)&xs->pkru},
	};

	memcpy(ret, c, sizeof(c));
	return (int)ELEMENTSOF(c);
}

int x86_fpu_to_core(const struct x86_fpu *fpu, UserX86FpregsEntry *fp, UserX86XsaveEntry *xs)
{
	struct fxsave *fx = fpu->area;
	struct component comps[7];
	uint64_t xstate_bv;
	int n;

	if (fpu->size < sizeof(*fx))
		return -EBADMSG;
	fp->cwd = fx->cwd, fp->swd = fx->swd, fp->twd = fx->twd, fp->fop = fx->fop;
	fp->rip = fx->rip, fp->rdp = fx->rdp;
	fp->mxcsr = fx->mxcsr, fp->mxcsr_mask = fx->mxcsr_mask;
	fp->n_st_space = ELEMENTSOF(fx->st_space), fp->st_space = fx->st_space;
	fp->n_xmm_space = ELEMENTSOF(fx->xmm_space), fp->xmm_space = fx->xmm_space;
	fp->n_padding = ELEMENTSOF(fx->padding), fp->padding = fx->padding;
	if (!fpu->xsave)
		return 0;
	if (fpu->size < XSAVE_HDR_OFFSET + XSAVE_HDR_SIZE)
		return -EBADMSG;
	memcpy(&xstate_bv, (uint8_t *)fpu->area + XSAVE_HDR_OFFSET, 8);
	xs->xstate_bv = xstate_bv;
	/* Every supported component is saved, in use or not (as CRIU does). */
	n = components_of(xs, comps);
	for (int i = 0; i < n; i++) {
		unsigned off, size;

		if (x86_xfeature_layout(comps[i].feature, &off, &size) < 0)
			continue;
		if ((size_t)off + size > fpu->size)
			return -EBADMSG;
		*comps[i].n = size / comps[i].elem;
		*comps[i].data = (uint8_t *)fpu->area + off;
	}
	fp->xsave = xs;
	return 0;
}

int x86_core_to_fpu(const UserX86FpregsEntry *fp, struct x86_fpu *ret_fpu)
{
	size_t size = fp->xsave ? x86_xsave_max_size() : sizeof(struct fxsave);
	_cleanup_free_ uint8_t *area = NULL;
	struct fxsave *fx;

	if (fp->n_st_space != 32 || fp->n_xmm_space != 64 || size < sizeof(*fx)) {
		pr_err("core: FPU state has %zu st and %zu xmm words, not 32 and 64",
		       fp->n_st_space, fp->n_xmm_space);
		return -EBADMSG;
	}
	area = calloc(1, size);
	if (!area)
		return -ENOMEM;
	fx = (struct fxsave *)area;
	fx->cwd = (uint16_t)fp->cwd, fx->swd = (uint16_t)fp->swd, fx->twd = (uint8_t)fp->twd;
	fx->fop = (uint16_t)fp->fop, fx->rip = fp->rip, fx->rdp = fp->rdp;
	fx->mxcsr = fp->mxcsr, fx->mxcsr_mask = fp->mxcsr_mask;
	memcpy(fx->st_space, fp->st_space, sizeof(fx->st_space));
	memcpy(fx->xmm_space, fp->xmm_space, sizeof(fx->xmm_space));
	if (fp->xsave) {
		UserX86XsaveEntry xs = *fp->xsave;
		struct component comps[7];
		uint64_t placed = 1 | 2; /* x87 and SSE live in the legacy region */
		int n = components_of(&xs, comps);

		for (int i = 0; i < n; i++) {
			unsigned off, csize;

			if (*comps[i].n == 0)
				continue;
			if (x86_xfeature_layout(comps[i].feature, &off, &csize) < 0 ||
			    *comps[i].n * comps[i].elem != csize || off + csize > size) {
				pr_err("core: xsave component %d (%zu bytes) does not fit this "
				       "CPU; "
				       "restore on a CPU with the same features",
				       comps[i].feature, *comps[i].n * comps[i].elem);
				return -EOPNOTSUPP;
			}
			memcpy(area + off, *comps[i].data, csize);
			placed |= 1ull << comps[i].feature;
		}
		/* A component not in xstate_bv is in its init state: keep it so. */
		uint64_t bv = fp->xsave->xstate_bv & placed;
		memcpy(area + XSAVE_HDR_OFFSET, &bv, 8);
	}
	*ret_fpu = (struct x86_fpu){.area = TAKE_PTR(area), .size = size, .xsave = !!fp->xsave};
	return 0;
}
