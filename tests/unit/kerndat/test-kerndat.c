/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pure part of kerndat: the feature table, name lookup (criu's names,
 * '-' and '_' alike, aliases), which features are required, the verdict on a
 * set of results, and how probe results travel through a child's exit status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "kerndat/child.h"
#include "kerndat/kerndat.h"
#include "kerndat/probes.h"

static void test_table_is_complete(void **state)
{
	const struct kerndat_feature *f = kerndat_features();

	(void)state;
	for (int i = 0; i < _KD_COUNT; i++) {
		assert_int_equal(f[i].id, i);
		assert_ptr_equal(kerndat_feature(i), &f[i]);
		assert_non_null(f[i].name);
		assert_true(strspn(f[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_-") ==
			    strlen(f[i].name));
		assert_non_null(f[i].interface);
		assert_true(strlen(f[i].interface) > 0);
		assert_non_null(f[i].enables);
		assert_true(strlen(f[i].enables) > 0);
		assert_non_null(f[i].probe);
		/* no two names (or aliases) the lookup could confuse */
		for (int j = 0; j < i; j++) {
			assert_false(kerndat_name_matches(f[j].name, f[i].name));
			assert_false(kerndat_name_matches(f[j].alias, f[i].name));
			assert_false(kerndat_name_matches(f[j].name, f[i].alias));
		}
	}
	assert_null(kerndat_feature(_KD_COUNT));
	assert_null(kerndat_feature(-1));
}

static void test_name_matching(void **state)
{
	(void)state;
	assert_true(kerndat_name_matches("uffd-noncoop", "uffd-noncoop"));
	assert_true(kerndat_name_matches("uffd-noncoop", "uffd_noncoop"));
	assert_true(kerndat_name_matches("soft_dirty", "soft-dirty"));
	assert_false(kerndat_name_matches("soft_dirty", "soft_dirt"));
	assert_false(kerndat_name_matches("soft_dirty", "soft_dirty_"));
	assert_false(kerndat_name_matches("soft_dirty", "SOFT_DIRTY"));
	assert_false(kerndat_name_matches("soft_dirty", ""));
	assert_false(kerndat_name_matches(NULL, "soft_dirty"));
	assert_false(kerndat_name_matches("soft_dirty", NULL));
}

static void test_find(void **state)
{
	(void)state;
	/* criu's names */
	assert_int_equal(kerndat_find("mem_dirty_track")->id, KD_MEM_DIRTY_TRACK);
	assert_int_equal(kerndat_find("uffd")->id, KD_UFFD);
	assert_int_equal(kerndat_find("uffd-noncoop")->id, KD_UFFD_NONCOOP);
	assert_int_equal(kerndat_find("timens")->id, KD_TIMENS);
	assert_int_equal(kerndat_find("clone3_set_tid")->id, KD_CLONE3_SET_TID);
	assert_int_equal(kerndat_find("pidfd_store")->id, KD_PIDFD_STORE);
	assert_int_equal(kerndat_find("get_rseq_conf")->id, KD_GET_RSEQ_CONF);
	/* ours, variants and aliases */
	assert_int_equal(kerndat_find("pagemap_scan")->id, KD_PAGEMAP_SCAN);
	assert_int_equal(kerndat_find("pagemap-scan")->id, KD_PAGEMAP_SCAN);
	assert_int_equal(kerndat_find("soft-dirty")->id, KD_SOFT_DIRTY);
	assert_int_equal(kerndat_find("pidfd_getfd")->id, KD_PIDFD_STORE);
	assert_int_equal(kerndat_find("rseq")->id, KD_GET_RSEQ_CONF);
	/* no prefixes, no guesses */
	assert_null(kerndat_find("uffd_wp"));
	assert_null(kerndat_find("pagemap"));
	assert_null(kerndat_find(""));
	assert_null(kerndat_find("no_such_feature"));
}

static void test_required_classification(void **state)
{
	static const enum kerndat_id required[] = {
		KD_PTRACE_SEIZE, KD_PTRACE_XSTATE,  KD_GET_RSEQ_CONF, KD_PROCESS_VM,
		KD_PIDFD_STORE,  KD_CLONE3_SET_TID, KD_PAGEMAP_SCAN,  KD_KCMP,
		KD_MEMFD,        KD_PRCTL_MM_MAP,
	};
	bool is_required[_KD_COUNT] = {};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(required); i++)
		is_required[required[i]] = true;
	for (int i = 0; i < _KD_COUNT; i++)
		assert_int_equal(kerndat_feature(i)->required, is_required[i]);
	/* the ones the issue names optional */
	assert_false(kerndat_find("soft_dirty")->required);
	assert_false(kerndat_find("io_uring")->required);
	assert_false(kerndat_find("timens")->required);
	assert_false(kerndat_find("tcp_repair")->required);
}

static void all_present(struct kerndat *kd)
{
	for (int i = 0; i < _KD_COUNT; i++)
		kd->status[i] = 1;
}

static void test_required_ok(void **state)
{
	struct kerndat kd;

	(void)state;
	all_present(&kd);
	assert_true(kerndat_required_ok(&kd));
	assert_true(kerndat_has(&kd, KD_SOFT_DIRTY));

	kd.status[KD_SOFT_DIRTY] = 0;
	kd.status[KD_IO_URING] = -EPERM;
	assert_true(kerndat_required_ok(&kd));
	assert_false(kerndat_has(&kd, KD_SOFT_DIRTY));

	all_present(&kd);
	kd.status[KD_PAGEMAP_SCAN] = 0;
	assert_false(kerndat_required_ok(&kd));

	/* a probe that could not tell is not a yes */
	all_present(&kd);
	kd.status[KD_CLONE3_SET_TID] = -EPERM;
	assert_false(kerndat_required_ok(&kd));
	assert_false(kerndat_has(&kd, KD_CLONE3_SET_TID));
}

static void test_result_of_errno(void **state)
{
	(void)state;
	assert_int_equal(probe_result_of_errno(ENOSYS), 0);
	assert_int_equal(probe_result_of_errno(EINVAL), 0);
	assert_int_equal(probe_result_of_errno(ENOTTY), 0);
	assert_int_equal(probe_result_of_errno(EIO), 0);
	assert_int_equal(probe_result_of_errno(ENOPROTOOPT), 0);
	assert_int_equal(probe_result_of_errno(EOPNOTSUPP), 0);
	assert_int_equal(probe_result_of_errno(EPERM), -EPERM);
	assert_int_equal(probe_result_of_errno(ENOMEM), -ENOMEM);
	assert_int_equal(probe_result_of_errno(0), -EIO);
}

/* A wait status as the kernel builds it for an exit with `code`. */
static int exited(int code)
{
	return (code & 0xff) << 8;
}

static void test_exit_code_round_trip(void **state)
{
	static const int results[] = {1, 0, -EPERM, -EINVAL, -ENOSYS, -EHWPOISON};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(results); i++) {
		int code = probe_result_to_exit_code(results[i]);

		assert_in_range(code, 0, 255);
		assert_int_equal(probe_result_from_wait_status(exited(code)), results[i]);
	}
	assert_int_equal(probe_result_to_exit_code(1), 0);
	assert_int_equal(probe_result_to_exit_code(0), 1);
	/* an errno too large for an exit code stays an error */
	assert_true(probe_result_from_wait_status(exited(probe_result_to_exit_code(-100000))) < 0);
	/* a child killed by a signal could not tell */
	assert_int_equal(probe_result_from_wait_status(SIGKILL), -ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_complete),
		cmocka_unit_test(test_name_matching),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_required_classification),
		cmocka_unit_test(test_required_ok),
		cmocka_unit_test(test_result_of_errno),
		cmocka_unit_test(test_exit_code_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
