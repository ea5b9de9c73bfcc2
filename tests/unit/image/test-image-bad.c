/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad input: each broken file gives one error naming the file and the byte
 * offset, and -EBADMSG, never a crash.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ipc-msg.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pstree.pb-c.h"
#include "test-image-util.h"

#define CORE_MAGIC 0x55053847u
#define PSTREE_MAGIC 0x50273030u

static char *tmp, *logpath;

static int setup(void **state)
{
	(void)state;
	tmp = scratch_dir();
	logpath = log_capture_start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(tmp);
	unlink(logpath);
	free(tmp);
	free(logpath);
	return 0;
}

/* A little-endian image under construction. */
struct buf {
	uint8_t d[4096];
	size_t n;
};

static void put32(struct buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->d[b->n++] = v >> (8 * i);
}

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_msg(struct buf *b, const ProtobufCMessage *m)
{
	put32(b, protobuf_c_message_get_packed_size(m));
	b->n += protobuf_c_message_pack(m, b->d + b->n);
}

/* Open tmp/name holding b, by name (type from the magic); return the error and the log. */
static int open_bad(const char *name, const struct buf *b, char **ret_log)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	assert_int_equal(asprintf(&path, "%s/%s", tmp, name) > 0, true);
	spew(path, b->d, b->n);
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	r = img_open_name(dir, name, &f);
	while (r >= 0) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		if (r == 0)
			break;
	}
	*ret_log = log_capture_take(logpath);
	return r;
}

/* The log holds exactly one error line, and it contains `want`. */
static void assert_one_error(const char *log, const char *want)
{
	const char *nl = strchr(log, '\n');

	if (!strstr(log, want))
		fail_msg("expected \"%s\" in the log, got \"%s\"", want, log);
	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
}

static void test_empty(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct buf b = {};

	(void)state;
	assert_int_equal(open_bad("empty.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/empty.img: 0 bytes: too short for an image magic");
}

static void test_truncated_magic(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put(&b, "\x47\x38", 2);
	assert_int_equal(open_bad("core-1.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/core-1.img: 6 bytes: truncated after the head magic at offset 0x0");
}

static void test_unknown_magic(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, 0xdeadbeef);
	assert_int_equal(open_bad("x.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/x.img: unknown image magic 0xdeadbeef at offset 0x4");
	free(log);

	/* Without a head magic only inventory is allowed. */
	b.n = 0;
	put32(&b, CORE_MAGIC);
	assert_int_equal(open_bad("y.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/y.img: unknown image magic 0x55053847 at offset 0x0");
}

static void test_wrong_head_magic(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_SERVICE_MAGIC);
	put32(&b, CORE_MAGIC);
	assert_int_equal(open_bad("core-2.img", &b, &log), -EBADMSG);
	assert_one_error(log,
			 "/core-2.img: head magic 0x55105940 at offset 0x0 does not fit a CORE "
			 "image (0x54564319 expected)");
}

/* Opened by type, a file must carry that type's magic. */
static void test_magic_of_another_type(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *path = NULL, *log = NULL;
	struct img_file *f = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, PSTREE_MAGIC);
	assert_int_equal(asprintf(&path, "%s/core-3.img", tmp) > 0, true);
	spew(path, b.d, b.n);
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	assert_int_equal(img_open(dir, IMG_CORE, 3, &f), -EBADMSG);
	assert_null(f);
	log = log_capture_take(logpath);
	assert_one_error(log, "/core-3.img: magic 0x50273030 at offset 0x4 is not the magic of a "
			      "CORE image");
}

/* The example: a length prefix larger than the rest of the file. */
static void test_length_beyond_end(void **state)
{
	_cleanup_free_ char *src = fixture_path("images/counter/pagemap-21002.img");
	_cleanup_free_ char *log = NULL, *want = NULL;
	struct buf b = {};
	uint8_t *data;
	size_t len = 0, off = 8;

	(void)state;
	data = slurp(src, &len);
	assert_non_null(data);
	assert_true(len < sizeof(b.d));
	put(&b, data, len);
	free(data);
	/* Walk to entry 3 and break its length. */
	for (int i = 0; i < 3; i++)
		off += 4 + (b.d[off] | b.d[off + 1] << 8 | b.d[off + 2] << 16 | b.d[off + 3] << 24);
	b.d[off] = 123456 & 0xff;
	b.d[off + 1] = 123456 >> 8 & 0xff;
	b.d[off + 2] = 123456 >> 16;
	b.d[off + 3] = 0;
	assert_int_equal(open_bad("pagemap-21002.img", &b, &log), -EBADMSG);
	assert_int_equal(asprintf(&want,
				  "/pagemap-21002.img: entry 3 at offset 0x%zx: length 123456 is "
				  "beyond the end of the file (size 0x%zx)",
				  off, b.n) > 0,
			 true);
	assert_one_error(log, want);
}

static void test_truncated_length_prefix(void **state)
{
	_cleanup_free_ char *log = NULL;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, PSTREE_MAGIC);
	pe.pid = 1;
	put_msg(&b, &pe.base);
	put(&b, "\x02\x00", 2);
	assert_int_equal(open_bad("pstree.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/pstree.img: entry 1 at offset 0x");
	assert_non_null(strstr(log, "2 bytes left, too few for a length prefix"));
}

static void test_garbage_protobuf(void **state)
{
	_cleanup_free_ char *log = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, CORE_MAGIC);
	put32(&b, 5);
	put(&b, "\xff\xff\xff\xff\xff", 5);
	assert_int_equal(open_bad("core-4.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/core-4.img: entry 0 at offset 0x8: 5 bytes that are not a valid "
			      "core_entry");
	free(log);

	/* A message missing a required field is not valid either. */
	b.n = 0;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, PSTREE_MAGIC);
	put32(&b, 0);
	assert_int_equal(open_bad("pstree.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/pstree.img: entry 0 at offset 0x8: 0 bytes that are not a valid "
			      "pstree_entry");
}

static void test_extra_beyond_end(void **state)
{
	_cleanup_free_ char *log = NULL;
	PipeDataEntry pd = PIPE_DATA_ENTRY__INIT;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, 0x56453709); /* PIPES_DATA */
	pd.pipe_id = 7;
	pd.bytes = 23;
	put_msg(&b, &pd.base);
	put(&b, "0123456789", 10);
	assert_int_equal(open_bad("pipes-data.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/pipes-data.img: entry 0 at offset 0x8: its extra payload is beyond "
			      "the end of the file");
}

static void test_bad_ipc_msg_payload(void **state)
{
	_cleanup_free_ char *log = NULL;
	IpcDescEntry desc = IPC_DESC_ENTRY__INIT;
	IpcMsgEntry me = IPC_MSG_ENTRY__INIT;
	struct buf b = {};

	(void)state;
	put32(&b, IMG_COMMON_MAGIC);
	put32(&b, 0x55453737); /* IPCNS_MSG */
	me.desc = &desc;
	me.qnum = 2;
	put_msg(&b, &me.base);
	put32(&b, 3);
	put(&b, "\xff\xff\xff", 3);
	assert_int_equal(open_bad("ipcns-msg-1.img", &b, &log), -EBADMSG);
	assert_one_error(log, "/ipcns-msg-1.img: entry 0 at offset 0x8: queued message: cannot "
			      "decode ipc_msg");
}

static void test_read_one_with_two(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *log = NULL, *path = NULL;
	ProtobufCMessage *msg = NULL;
	struct buf b = {};

	(void)state;
	put32(&b, 0x58313116); /* INVENTORY, no head magic */
	put32(&b, 2);
	put(&b, "\x08\x02", 2);
	put32(&b, 2);
	put(&b, "\x08\x02", 2);
	assert_int_equal(asprintf(&path, "%s/inventory.img", tmp) > 0, true);
	spew(path, b.d, b.n);
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	assert_int_equal(img_read_one(dir, IMG_INVENTORY, 0, &msg), -EBADMSG);
	assert_null(msg);
	log = log_capture_take(logpath);
	assert_one_error(log,
			 "/inventory.img: entry 1 at offset 0xa: one entry expected, more found");
}

/* Every prefix of every fixture image, and every single-byte change of the small ones. */
static void test_no_crash_on_damage(void **state)
{
	static const char *const files[] = {
		"counter/core-21002.img", "counter/pagemap-21002.img", "pipes/pipes-data.img",
		"pipes/pstree.img",       "counter/inventory.img",     "counter/stats-dump",
		"counter/mm-21002.img",   "pipes/files.img",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(files); i++) {
		_cleanup_free_ char *path = fixture_path("images/%s", files[i]);
		_cleanup_free_ uint8_t *data = NULL;
		size_t len = 0;

		data = slurp(path, &len);
		assert_non_null(data);
		for (size_t cut = 0; cut <= len; cut++) {
			for (size_t flip = 0; flip <= (len < 600 ? cut : 0); flip++) {
				_cleanup_free_ uint8_t *copy = malloc(cut + 1);
				_cleanup_img_file_ struct img_file *f = NULL;
				int r;

				memcpy(copy, data, cut);
				if (flip < cut)
					copy[flip] ^= 0xa5;
				r = img_open_mem(copy, cut, files[i], &f);
				while (r >= 0) {
					_cleanup_img_entry_ struct img_entry e = {};

					r = img_next(f, &e);
					if (r == 0)
						break;
				}
				assert_true(r == 0 || r == -EBADMSG);
			}
		}
		free(log_capture_take(logpath));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_truncated_magic),
		cmocka_unit_test(test_unknown_magic),
		cmocka_unit_test(test_wrong_head_magic),
		cmocka_unit_test(test_magic_of_another_type),
		cmocka_unit_test(test_length_beyond_end),
		cmocka_unit_test(test_truncated_length_prefix),
		cmocka_unit_test(test_garbage_protobuf),
		cmocka_unit_test(test_extra_beyond_end),
		cmocka_unit_test(test_bad_ipc_msg_payload),
		cmocka_unit_test(test_read_one_with_two),
		cmocka_unit_test(test_no_crash_on_damage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
