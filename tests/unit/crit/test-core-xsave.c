/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The XSAVE area of core files (src/crit/core-xsave.c): the image's features, the standard layout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "crit/core-xsave.h"

static uint32_t st[32], xmm[64], ymmh[64], pkru[2] = {0x55555554, 0};
static uint64_t opmask[8], zmm_upper[64], hi16[128];

static UserX86FpregsEntry fpregs(UserX86XsaveEntry *xs)
{
	UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;

	fp.cwd = 0x37f;
	fp.mxcsr = 0x1f80;
	fp.n_st_space = 32, fp.st_space = st;
	fp.n_xmm_space = 64, fp.xmm_space = xmm;
	xmm[0] = 0xabcdef01;
	fp.xsave = xs;
	return fp;
}

static uint64_t u64_at(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* AVX and PKRU without AVX-512 (an AMD Zen 3): XCR0 0x207, PKRU at 2688, 2696 bytes. */
static void test_foreign_features(void **state)
{
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	UserX86FpregsEntry fp = fpregs(&xs);
	struct core_xstate x;

	(void)state;
	xs.xstate_bv = 0x206 | 0x20; /* a bit of a feature the image lacks: dropped */
	xs.n_ymmh_space = 64, xs.ymmh_space = ymmh;
	ymmh[0] = 0x11111111;
	xs.n_pkru = 2, xs.pkru = pkru;
	assert_int_equal(core_xstate_build(&fp, 7, &x), 0);
	assert_true(x.xsave);
	assert_int_equal(x.xcr0, 0x207);
	assert_int_equal(x.size, 2696);
	assert_int_equal(u64_at(x.area, 464), 0x207);
	assert_int_equal(u64_at(x.area, 512), 0x206);
	assert_int_equal(u64_at(x.area, 576) & 0xffffffff, 0x11111111);
	assert_int_equal(u64_at(x.area, 2688), 0x55555554);
	assert_int_equal(u64_at(x.area, 160) & 0xffffffff, 0xabcdef01); /* xmm0 */
	core_xstate_done(&x);
}

static void test_avx512(void **state)
{
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	UserX86FpregsEntry fp = fpregs(&xs);
	struct core_xstate x;

	(void)state;
	xs.xstate_bv = 0xe7;
	xs.n_ymmh_space = 64, xs.ymmh_space = ymmh;
	xs.n_opmask_reg = 8, xs.opmask_reg = opmask;
	xs.n_zmm_upper = 64, xs.zmm_upper = zmm_upper;
	xs.n_hi16_zmm = 128, xs.hi16_zmm = hi16;
	hi16[127] = 0x77;
	assert_int_equal(core_xstate_build(&fp, 7, &x), 0);
	assert_int_equal(x.xcr0, 0xe7);
	assert_int_equal(x.size, 2688);
	assert_int_equal(u64_at(x.area, 2688 - 8), 0x77);
	core_xstate_done(&x);
}

static void test_fxsave_only(void **state)
{
	UserX86FpregsEntry fp = fpregs(NULL);
	struct core_xstate x;

	(void)state;
	assert_int_equal(core_xstate_build(&fp, 7, &x), 0);
	assert_false(x.xsave);
	assert_int_equal(x.size, 512);
	assert_int_equal(x.xcr0, 3);
	core_xstate_done(&x);
}

static void test_wrong_component_size(void **state)
{
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	UserX86FpregsEntry fp = fpregs(&xs);
	struct core_xstate x;

	(void)state;
	xs.n_ymmh_space = 63, xs.ymmh_space = ymmh;
	assert_int_equal(core_xstate_build(&fp, 7, &x), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_foreign_features),
		cmocka_unit_test(test_avx512),
		cmocka_unit_test(test_fxsave_only),
		cmocka_unit_test(test_wrong_component_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
