/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading CRIU 4.2's images: every image of the fixtures decodes, with as
 * many entries and the same "magic" as CRIU's own crit printed
 * (crit-json/F.json).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pstree.pb-c.h"
#include "test-image-util.h"

static const char *const sets[] = {"counter", "pipes", "threads"};

/* The "magic" string and the number of objects in "entries" of crit's JSON. */
static void crit_json_summary(const char *json, char *magic, size_t magic_size, unsigned *ret_count)
{
	const char *m = strstr(json, "\"magic\": \""), *p;
	unsigned count = 0;
	int depth = 0;
	bool in_str = false;

	assert_non_null(m);
	m += strlen("\"magic\": \"");
	snprintf(magic, magic_size, "%.*s", (int)strcspn(m, "\""), m);
	p = strstr(json, "\"entries\": [");
	assert_non_null(p);
	for (p += strlen("\"entries\": ["); *p; p++) {
		if (in_str) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_str = false;
			continue;
		}
		if (*p == '"')
			in_str = true;
		else if (*p == '{' || *p == '[') {
			if (depth++ == 0 && *p == '{')
				count++;
		} else if (*p == '}' || *p == ']') {
			if (depth-- == 0)
				break;
		}
	}
	*ret_count = count;
}

static unsigned check_set(const char *set)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *path = fixture_path("images/%s", set);
	_cleanup_free_ char *jdir = fixture_path("images/%s/crit-json", set);
	unsigned checked = 0;
	struct dirent *de;
	DIR *d;

	assert_int_equal(img_dir_open(path, &dir), 0);
	d = opendir(jdir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		_cleanup_img_file_ struct img_file *f = NULL, *f2 = NULL;
		_cleanup_free_ char *jpath = NULL, *json = NULL, *img = NULL;
		size_t len = strlen(de->d_name), jlen = 0;
		unsigned want, n = 0, counted;
		char magic[64];
		int r;

		if (len < 6 || !streq(de->d_name + len - 5, ".json") ||
		    strstr(de->d_name, ".pretty."))
			continue;
		img = strndup(de->d_name, len - 5);
		assert_int_equal(asprintf(&jpath, "%s/%s", jdir, de->d_name) > 0, true);
		json = (char *)slurp(jpath, &jlen);
		assert_non_null(json);
		json = realloc(json, jlen + 1);
		json[jlen] = 0;
		crit_json_summary(json, magic, sizeof(magic), &want);

		assert_int_equal(img_open_name(dir, img, &f), 0);
		assert_string_equal(img_file_type(f)->name, magic);
		for (;;) {
			_cleanup_img_entry_ struct img_entry e = {};

			r = img_next(f, &e);
			assert_true(r >= 0);
			if (r == 0)
				break;
			assert_int_equal(e.index, n);
			assert_non_null(e.msg);
			assert_ptr_equal(e.desc, img_entry_desc(img_file_type(f), n));
			n++;
		}
		if (n != want)
			fail_msg("%s/%s: %u entries, crit printed %u", set, img, n, want);
		assert_int_equal(img_next(f, &(struct img_entry){}), 0);

		assert_int_equal(img_open_name(dir, img, &f2), 0);
		assert_int_equal(img_count(f2, &counted), 0);
		assert_int_equal(counted, want);
		checked++;
	}
	closedir(d);
	return checked;
}

static void test_every_fixture_image(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(sets); i++)
		/* At least core, fdinfo, files, fs, ids, inventory, mm, pagemap, pstree ... */
		assert_true(check_set(sets[i]) >= 12);
}

static void test_open_by_type(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *path = fixture_path("images/pipes");
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_img_entry_ struct img_entry e = {}, e2 = {};
	PstreeEntry *pe;

	(void)state;
	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(img_open(dir, IMG_PSTREE, 0, &f), 0);
	assert_int_equal(img_file_type(f)->type, IMG_PSTREE);
	assert_int_equal(img_next(f, &e), 1);
	pe = (PstreeEntry *)e.msg;
	assert_int_equal(pe->pid, 21102);
	assert_int_equal(pe->ppid, 0);
	assert_int_equal(img_next(f, &e2), 1);
	assert_int_equal(((PstreeEntry *)e2.msg)->pid, 21103);
	assert_int_equal(((PstreeEntry *)e2.msg)->ppid, 21102);
	/* Two magics, then the first entry's length prefix and message. */
	assert_int_equal(e.offset, 8);
	assert_int_equal(e2.offset, 8 + 4 + protobuf_c_message_get_packed_size(e.msg));

	/* Absent images are -ENOENT, quietly: many are optional. */
	assert_int_equal(img_open(dir, IMG_CORE, 1, &(struct img_file *){NULL}), -ENOENT);
	/* Raw images have no entries. */
	assert_int_equal(img_open(dir, IMG_PAGES, 1, &(struct img_file *){NULL}), -EINVAL);
}

static void test_extra_payload(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *path = fixture_path("images/pipes");
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_img_entry_ struct img_entry e = {};
	static const char want[] = "hello through the pipe"; /* and its NUL: 23 bytes */

	(void)state;
	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(img_open(dir, IMG_PIPES_DATA, 0, &f), 0);
	assert_int_equal(img_next(f, &e), 1);
	assert_int_equal(((PipeDataEntry *)e.msg)->bytes, 23);
	assert_int_equal(e.extra_len, 23);
	assert_memory_equal(e.extra, want, sizeof(want));
	assert_int_equal(img_next(f, &(struct img_entry){}), 0);
}

static void test_read_one(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *path = fixture_path("images/threads");
	ProtobufCMessage *msg = NULL;
	CoreEntry *core;

	(void)state;
	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(img_read_one(dir, IMG_CORE, 21204, &msg), 0);
	core = (CoreEntry *)msg;
	assert_int_equal(core->mtype, CORE_ENTRY__MARCH__X86_64);
	assert_non_null(core->thread_core);
	img_msg_free(msg);
	assert_int_equal(img_read_one(dir, IMG_CORE, 99, &msg), -ENOENT);
}

static void test_open_fd_and_path(void **state)
{
	_cleanup_free_ char *path = fixture_path("images/counter/stats-dump");
	_cleanup_img_file_ struct img_file *f = NULL, *g = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned n;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(img_open_fd(fd, "<stdin>", &f), 0);
	assert_string_equal(img_file_type(f)->name, "STATS");
	assert_string_equal(img_file_label(f), "<stdin>");
	assert_int_equal(img_count(f, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(img_open_path(path, &g), 0);
	assert_string_equal(img_file_label(g), path);
	assert_int_equal(img_open_path("/nonexistent/x.img", &(struct img_file *){NULL}), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_fixture_image), cmocka_unit_test(test_open_by_type),
		cmocka_unit_test(test_extra_payload),       cmocka_unit_test(test_read_one),
		cmocka_unit_test(test_open_fd_and_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
