/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registers and FPU state survive the trip between CRIU's core-x86 messages
 * and the kernel's regset layouts: CRIU 4.2's own core image goes to an
 * XSAVE area and back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arch/x86/core.h"
#include "base/macro.h"
#include "core.pb-c.h"
#include "image/image.h"

static CoreEntry *fixture_core(void)
{
	const char *env = getenv("FIXTURES");
	char path[4096];
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct ProtobufCMessage *msg = NULL;

	snprintf(path, sizeof(path), "%s/images/counter", env ? env : STASIS_FIXTURES_DIR);
	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(img_read_one(dir, IMG_CORE, 21002, &msg), 0);
	return (CoreEntry *)msg;
}

static void test_gpregs_round_trip(void **state)
{
	CoreEntry *core = fixture_core();
	UserX86RegsEntry back = USER_X86_REGS_ENTRY__INIT;
	struct x86_regs regs;

	(void)state;
	assert_int_equal(x86_core_to_regs(core->thread_info->gpregs, &regs), 0);
	assert_int_equal(regs.gpr.orig_rax, 0xe6);
	assert_int_equal(regs.gpr.fs_base, 0x7f4946989740);
	x86_regs_to_core(&regs, &back);
	back.base = core->thread_info->gpregs->base;
	assert_memory_equal(&back, core->thread_info->gpregs, sizeof(back));
	img_msg_free(&core->base);
}

static void test_fpu_round_trip(void **state)
{
	CoreEntry *core = fixture_core();
	const UserX86FpregsEntry *fp = core->thread_info->fpregs;
	UserX86FpregsEntry back = USER_X86_FPREGS_ENTRY__INIT;
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	struct x86_fpu fpu;
	unsigned off, size;

	(void)state;
	assert_int_equal(x86_core_to_fpu(fp, &fpu), 0);
	assert_true(fpu.xsave);
	assert_int_equal(x86_fpu_to_core(&fpu, &back, &xs), 0);
	assert_int_equal(back.cwd, fp->cwd);
	assert_int_equal(back.mxcsr, fp->mxcsr);
	assert_memory_equal(back.st_space, fp->st_space, 32 * 4);
	assert_memory_equal(back.xmm_space, fp->xmm_space, 64 * 4);
	assert_int_equal(xs.xstate_bv, fp->xsave->xstate_bv);
	/* The AVX-512 state the fixture holds (this machine has AVX-512). */
	if (x86_xfeature_layout(X86_XFEATURE_OPMASK, &off, &size) == 0) {
		assert_int_equal(xs.n_opmask_reg, fp->xsave->n_opmask_reg);
		assert_memory_equal(xs.opmask_reg, fp->xsave->opmask_reg, 8 * xs.n_opmask_reg);
		assert_int_equal(xs.n_hi16_zmm, fp->xsave->n_hi16_zmm);
		assert_memory_equal(xs.hi16_zmm, fp->xsave->hi16_zmm, 8 * xs.n_hi16_zmm);
	}
	assert_int_equal(xs.n_ymmh_space, 64);
	assert_memory_equal(xs.ymmh_space, fp->xsave->ymmh_space, 256);
	x86_fpu_done(&fpu);
	img_msg_free(&core->base);
}

static void test_bad_fpu_message(void **state)
{
	UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;
	uint32_t st[31] = { 0 };
	struct x86_fpu fpu;

	(void)state;
	fp.n_st_space = ELEMENTSOF(st);
	fp.st_space = st;
	assert_int_equal(x86_core_to_fpu(&fp, &fpu), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpregs_round_trip),
		cmocka_unit_test(test_fpu_round_trip),
		cmocka_unit_test(test_bad_fpu_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
