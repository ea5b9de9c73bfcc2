/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image type table: names, magics, file names, messages. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <protobuf-c/protobuf-c.h>

#include "test-image-util.h"

/* Types that legitimately share a magic with an earlier entry of the table. */
static bool is_alias(enum img_type t)
{
	return t == IMG_STATS_RESTORE || t == IMG_PSIGNAL || t == IMG_SHMEM_PAGEMAP;
}

static void test_table_is_complete(void **state)
{
	(void)state;
	for (int i = 0; i < IMG_TYPE_MAX; i++) {
		const struct img_type_desc *t = &img_types[i];

		assert_int_equal(t->type, i);
		assert_non_null(t->name);
		assert_non_null(t->fmt);
		if (t->layout == IMG_LAYOUT_RAW) {
			assert_int_equal(t->magic, IMG_RAW_MAGIC);
			assert_null(t->msg);
			continue;
		}
		assert_int_not_equal(t->magic, 0);
		assert_non_null(t->msg);
		assert_int_equal(((const ProtobufCMessageDescriptor *)t->msg)->magic,
				 PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
		/* Only inventory.img has no head magic (CRIU's images v1.1). */
		if (i == IMG_INVENTORY)
			assert_int_equal(t->head_magic, 0);
		else
			assert_true(t->head_magic == IMG_COMMON_MAGIC ||
				    t->head_magic == IMG_SERVICE_MAGIC);
	}
}

static void test_magics_unique(void **state)
{
	(void)state;
	for (int i = 0; i < IMG_TYPE_MAX; i++) {
		const struct img_type_desc *t = &img_types[i], *by;

		if (t->layout == IMG_LAYOUT_RAW) {
			assert_null(img_type_by_magic(t->magic));
			continue;
		}
		by = img_type_by_magic(t->magic);
		assert_non_null(by);
		if (is_alias(t->type)) {
			assert_true(by->type < t->type);
			assert_string_equal(by->name, t->name);
		} else
			assert_int_equal(by->type, t->type);
	}
	assert_null(img_type_by_magic(0x12345678));
	assert_null(img_type_by_magic(IMG_COMMON_MAGIC));
}

static void test_known_values(void **state)
{
	char name[64];

	(void)state;
	/* Checked against CRIU 4.2's images in the fixtures. */
	assert_int_equal(img_types[IMG_INVENTORY].magic, 0x58313116);
	assert_int_equal(img_types[IMG_CORE].magic, 0x55053847);
	assert_int_equal(img_types[IMG_PAGEMAP].magic, 0x56084025);
	assert_int_equal(img_types[IMG_STATS_DUMP].head_magic, IMG_SERVICE_MAGIC);
	assert_string_equal(img_types[IMG_PIPES_DATA].name, "PIPES_DATA");
	assert_int_equal(img_types[IMG_PIPES_DATA].extra, IMG_EXTRA_PIPE_DATA);
	assert_ptr_equal(img_entry_desc(&img_types[IMG_PAGEMAP], 0),
			 img_types[IMG_PAGEMAP].first_msg);
	assert_ptr_equal(img_entry_desc(&img_types[IMG_PAGEMAP], 1), img_types[IMG_PAGEMAP].msg);
	assert_ptr_equal(img_entry_desc(&img_types[IMG_CORE], 0), img_types[IMG_CORE].msg);

	assert_int_equal(img_file_name(IMG_CORE, 21002, name, sizeof(name)), 0);
	assert_string_equal(name, "core-21002.img");
	assert_int_equal(img_file_name(IMG_GHOST_FILE, 0x1f, name, sizeof(name)), 0);
	assert_string_equal(name, "ghost-file-1f.img");
	assert_int_equal(img_file_name(IMG_INVENTORY, 7, name, sizeof(name)), 0);
	assert_string_equal(name, "inventory.img");
	assert_int_equal(img_file_name(IMG_STATS_DUMP, 0, name, sizeof(name)), 0);
	assert_string_equal(name, "stats-dump");
	assert_int_equal(img_file_name(IMG_CORE, 21002, name, 8), -ENAMETOOLONG);
	assert_int_equal(img_file_name(IMG_TYPE_MAX, 0, name, sizeof(name)), -EINVAL);
}

static void test_by_name(void **state)
{
	(void)state;
	assert_int_equal(img_type_by_name("PSTREE")->type, IMG_PSTREE);
	assert_int_equal(img_type_by_name("STATS")->type, IMG_STATS_DUMP);
	assert_null(img_type_by_name("NOPE"));
}

/* Every type's file name maps back to the type and the id. */
static void test_file_name_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < IMG_TYPE_MAX; i++) {
		const struct img_type_desc *t;
		uint64_t id = 0, want = strchr(img_types[i].fmt, '%') ? 4242 : 0;
		char name[64];

		assert_int_equal(img_file_name(i, want, name, sizeof(name)), 0);
		t = img_type_by_file_name(name, &id);
		assert_non_null(t);
		assert_int_equal(t->type, i);
		assert_int_equal(id, want);
	}
	assert_null(img_type_by_file_name("core-.img", NULL));
	assert_null(img_type_by_file_name("core--1.img", NULL));
	assert_null(img_type_by_file_name("core-12x.img", NULL));
	assert_null(img_type_by_file_name("parent", NULL));
	assert_int_equal(img_type_by_file_name("pagemap-shmem-9.img", NULL)->type,
			 IMG_SHMEM_PAGEMAP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_complete),    cmocka_unit_test(test_magics_unique),
		cmocka_unit_test(test_known_values),         cmocka_unit_test(test_by_name),
		cmocka_unit_test(test_file_name_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
