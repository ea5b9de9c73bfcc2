/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing images: CRIU's images read and written again give the same bytes;
 * files appear atomically; entries are checked against the type table;
 * extra payloads of every kind survive a round trip.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ghost-file.pb-c.h"
#include "ipc-msg.pb-c.h"
#include "ipc-sem.pb-c.h"
#include "ipc-shm.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pstree.pb-c.h"
#include "tcp-stream.pb-c.h"
#include "test-image-util.h"

static char *tmp, *logpath;

static int setup_each(void **state)
{
	(void)state;
	tmp = scratch_dir();
	logpath = log_capture_start();
	return 0;
}

static int teardown_each(void **state)
{
	(void)state;
	remove_tree(tmp);
	unlink(logpath);
	free(tmp);
	free(logpath);
	return 0;
}

static char *tmp_path(const char *name)
{
	char *p;

	assert_int_equal(asprintf(&p, "%s/%s", tmp, name) > 0, true);
	return p;
}

static size_t dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Copy one image through the library and compare the bytes. */
static void copy_and_compare(struct img_dir *src, struct img_dir *dst, const char *name)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
	const struct img_type_desc *t;
	size_t alen = 0, blen = 0;
	uint64_t id = 0;
	int r;

	t = img_type_by_file_name(name, &id);
	assert_non_null(t);
	assert_int_equal(img_open(src, t->type, id, &f), 0);
	assert_int_equal(img_create(dst, t->type, id, &w), 0);
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};

		r = img_next(f, &e);
		assert_true(r >= 0);
		if (r == 0)
			break;
		assert_int_equal(img_write_entry(w, e.msg, e.extra, e.extra_len), 0);
	}
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);

	assert_int_equal(asprintf(&pa, "%s/%s", img_dir_path(src), name) > 0, true);
	assert_int_equal(asprintf(&pb, "%s/%s", img_dir_path(dst), name) > 0, true);
	a = (char *)slurp(pa, &alen);
	b = (char *)slurp(pb, &blen);
	assert_non_null(a);
	assert_non_null(b);
	if (alen != blen || memcmp(a, b, alen) != 0)
		fail_msg("%s: written back differently (%zu bytes, %zu before)", pa, blen, alen);
}

static void test_fixtures_round_trip(void **state)
{
	static const char *const sets[] = {"counter", "pipes", "threads"};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
		_cleanup_img_dir_ struct img_dir *src = NULL, *dst = NULL;
		_cleanup_free_ char *path = fixture_path("images/%s", sets[i]);
		_cleanup_free_ char *out = NULL;
		struct dirent *de;
		size_t copied = 0;
		DIR *d;

		assert_int_equal(asprintf(&out, "%s/%s", tmp, sets[i]) > 0, true);
		assert_int_equal(mkdir(out, 0700), 0);
		assert_int_equal(img_dir_open(path, &src), 0);
		assert_int_equal(img_dir_open(out, &dst), 0);
		d = opendir(path);
		assert_non_null(d);
		while ((de = readdir(d))) {
			const struct img_type_desc *t = img_type_by_file_name(de->d_name, NULL);

			if (!t || t->layout == IMG_LAYOUT_RAW)
				continue;
			copy_and_compare(src, dst, de->d_name);
			copied++;
		}
		closedir(d);
		assert_true(copied >= 12);
		/* Nothing but the images: no temporary file left behind. */
		assert_int_equal(dir_entries(out), copied);
	}
}

static void test_atomic_create(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_free_ char *final = tmp_path("pstree.img");
	struct img_writer *w = NULL;
	PstreeEntry pe = PSTREE_ENTRY__INIT;

	(void)state;
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	assert_int_equal(img_create(dir, IMG_PSTREE, 0, &w), 0);
	pe.pid = 42;
	assert_int_equal(img_write_entry(w, &pe.base, NULL, 0), 0);
	/* Only a hidden temporary file until commit. */
	assert_int_equal(access(final, F_OK), -1);
	assert_int_equal(dir_entries(tmp), 1);
	assert_int_equal(img_writer_commit(w), 0);
	assert_int_equal(access(final, F_OK), 0);
	assert_int_equal(dir_entries(tmp), 1);

	/* A writer dropped without commit leaves the old file and nothing else. */
	assert_int_equal(img_create(dir, IMG_PSTREE, 0, &w), 0);
	assert_int_equal(img_write_entry(w, &pe.base, NULL, 0), 0);
	img_writer_free(w);
	assert_int_equal(dir_entries(tmp), 1);
	{
		_cleanup_img_file_ struct img_file *f = NULL;
		unsigned n;

		assert_int_equal(img_open(dir, IMG_PSTREE, 0, &f), 0);
		assert_int_equal(img_count(f, &n), 0);
		assert_int_equal(n, 1);
	}
}

static void test_entries_are_checked(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL, *c = NULL, *p = NULL;
	_cleanup_free_ char *log = NULL;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	PipeDataEntry pd = PIPE_DATA_ENTRY__INIT;
	IpcSemEntry sem = IPC_SEM_ENTRY__INIT;

	(void)state;
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	/* A PSTREE message is no CORE entry. */
	assert_int_equal(img_create(dir, IMG_CORE, 1, &c), 0);
	assert_int_equal(img_write_entry(c, &pe.base, NULL, 0), -EINVAL);
	log = log_capture_take(logpath);
	assert_non_null(
		strstr(log, "/core-1.img: entry 0 must be a core_entry, not a pstree_entry"));
	free(log);
	/* Payload length must be what the message says. */
	assert_int_equal(img_create(dir, IMG_PIPES_DATA, 0, &w), 0);
	pd.bytes = 4;
	assert_int_equal(img_write_entry(w, &pd.base, "abc", 3), -EINVAL);
	log = log_capture_take(logpath);
	assert_non_null(strstr(log, "entry 0 announces 4 bytes of extra payload, 3 given"));
	assert_int_equal(img_write_entry(w, &pd.base, "abcd", 4), 0);
	/* Raw bytes only go to raw images. */
	assert_int_equal(img_write_raw(w, "x", 1), -EINVAL);
	/* A pagemap starts with its head. */
	assert_int_equal(img_create(dir, IMG_PAGEMAP, 5, &p), 0);
	assert_int_equal(img_write_entry(p, &pe.base, NULL, 0), -EINVAL);
	/* Semaphores of the wrong count. */
	{
		_cleanup_(img_writer_freep) struct img_writer *s = NULL;
		IpcDescEntry desc = IPC_DESC_ENTRY__INIT;
		uint16_t vals[3] = {1, 2, 3};

		sem.desc = &desc;
		sem.nsems = 2;
		assert_int_equal(img_create(dir, IMG_IPCNS_SEM, 1, &s), 0);
		assert_int_equal(img_write_entry(s, &sem.base, vals, sizeof(vals)), -EINVAL);
	}
	free(log_capture_take(logpath));
}

static void test_single_entry_images(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	TcpStreamEntry ts = TCP_STREAM_ENTRY__INIT;

	(void)state;
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	assert_int_equal(img_create(dir, IMG_TCP_STREAM, 0xabc, &w), 0);
	ts.inq_len = 2;
	ts.outq_len = 3;
	assert_int_equal(img_write_entry(w, &ts.base, "inout", 5), 0);
	assert_int_equal(img_write_entry(w, &ts.base, "inout", 5), -EINVAL);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);
	{
		_cleanup_img_file_ struct img_file *f = NULL;
		_cleanup_img_entry_ struct img_entry e = {};

		assert_int_equal(img_open(dir, IMG_TCP_STREAM, 0xabc, &f), 0);
		assert_string_equal(img_file_label(f) + strlen(tmp), "/tcp-stream-abc.img");
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, 5);
		assert_memory_equal(e.extra, "inout", 5);
	}
	free(log_capture_take(logpath));
}

/* Padded payloads: semaphores (to 8), shared memory (to 4), message queues. */
static void test_ipc_payloads(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	_cleanup_free_ uint8_t *q = NULL;
	_cleanup_free_ char *semf = tmp_path("ipcns-sem-1.img");
	IpcDescEntry desc = IPC_DESC_ENTRY__INIT;
	IpcSemEntry sem = IPC_SEM_ENTRY__INIT;
	IpcShmEntry shm = IPC_SHM_ENTRY__INIT;
	IpcMsgEntry me = IPC_MSG_ENTRY__INIT;
	IpcMsg m1 = IPC_MSG__INIT, m2 = IPC_MSG__INIT;
	uint16_t vals[3] = {7, 8, 9};
	size_t qlen = 0, flen = 0;
	uint8_t *file;

	(void)state;
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	sem.desc = &desc;
	sem.nsems = 3;
	assert_int_equal(img_create(dir, IMG_IPCNS_SEM, 1, &w), 0);
	assert_int_equal(img_write_entry(w, &sem.base, vals, sizeof(vals)), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);
	file = slurp(semf, &flen);
	/* magics + length + message + 6 bytes + 2 of padding */
	assert_int_equal(flen, 8 + 4 + protobuf_c_message_get_packed_size(&sem.base) + 8);
	free(file);

	shm.desc = &desc;
	shm.size = 5;
	assert_int_equal(img_create(dir, IMG_IPCNS_SHM, 1, &w), 0);
	assert_int_equal(img_write_entry(w, &shm.base, "12345", 5), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);

	m1.mtype = 1;
	m1.msize = 3;
	m2.mtype = 2;
	m2.msize = 9;
	assert_int_equal(img_ipc_msg_append(&q, &qlen, &m1.base, "abc", 3), 0);
	assert_int_equal(img_ipc_msg_append(&q, &qlen, &m2.base, "defghijkl", 9), 0);
	assert_int_equal(img_ipc_msg_append(&q, &qlen, &m2.base, "short", 5), -EINVAL);
	me.desc = &desc;
	me.qnum = 2;
	assert_int_equal(img_create(dir, IMG_IPCNS_MSG, 1, &w), 0);
	assert_int_equal(img_write_entry(w, &me.base, q, qlen), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);

	{
		_cleanup_img_file_ struct img_file *f = NULL;
		_cleanup_img_entry_ struct img_entry e = {};
		ProtobufCMessage *msg;
		const uint8_t *data;
		size_t cursor = 0, len;

		assert_int_equal(img_open(dir, IMG_IPCNS_SEM, 1, &f), 0);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, 6);
		assert_memory_equal(e.extra, vals, 6);
		assert_int_equal(img_next(f, &(struct img_entry){}), 0);
		img_entry_clear(&e);
		img_close(f);

		assert_int_equal(img_open(dir, IMG_IPCNS_SHM, 1, &f), 0);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, 5);
		assert_memory_equal(e.extra, "12345", 5);
		assert_int_equal(img_next(f, &(struct img_entry){}), 0);
		img_entry_clear(&e);
		img_close(f);

		assert_int_equal(img_open(dir, IMG_IPCNS_MSG, 1, &f), 0);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, qlen);
		assert_int_equal(img_ipc_msg_next(&e, &cursor, &msg, &data, &len), 1);
		assert_int_equal(((IpcMsg *)msg)->mtype, 1);
		assert_int_equal(len, 3);
		assert_memory_equal(data, "abc", 3);
		img_msg_free(msg);
		assert_int_equal(img_ipc_msg_next(&e, &cursor, &msg, &data, &len), 1);
		assert_int_equal(((IpcMsg *)msg)->mtype, 2);
		assert_memory_equal(data, "defghijkl", 9);
		img_msg_free(msg);
		assert_int_equal(img_ipc_msg_next(&e, &cursor, &msg, &data, &len), 0);
	}
}

static void test_ghost_files(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	GhostFileEntry gf = GHOST_FILE_ENTRY__INIT;
	GhostChunkEntry gc = GHOST_CHUNK_ENTRY__INIT;

	(void)state;
	assert_int_equal(img_dir_open(tmp, &dir), 0);
	/* Unchunked: the contents are the rest of the file, given in pieces. */
	gf.mode = 0100644;
	assert_int_equal(img_create(dir, IMG_GHOST_FILE, 1, &w), 0);
	assert_int_equal(img_write_entry(w, &gf.base, "hello ", 6), 0);
	assert_int_equal(img_write_raw(w, "world", 5), 0);
	assert_int_equal(img_write_entry(w, &gc.base, NULL, 0), -EINVAL);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);
	/* Chunked: entries of GhostChunkEntry, each with `len` bytes. */
	gf.has_chunks = true;
	gf.chunks = true;
	assert_int_equal(img_create(dir, IMG_GHOST_FILE, 2, &w), 0);
	assert_int_equal(img_write_entry(w, &gf.base, NULL, 0), 0);
	gc.len = 3;
	gc.off = 0;
	assert_int_equal(img_write_entry(w, &gc.base, "abc", 3), 0);
	gc.len = 2;
	gc.off = 4096;
	assert_int_equal(img_write_entry(w, &gc.base, "de", 2), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);

	{
		_cleanup_img_file_ struct img_file *f = NULL;
		_cleanup_img_entry_ struct img_entry e = {};
		unsigned n;

		assert_int_equal(img_open(dir, IMG_GHOST_FILE, 1, &f), 0);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, 11);
		assert_memory_equal(e.extra, "hello world", 11);
		assert_int_equal(img_next(f, &(struct img_entry){}), 0);
		img_entry_clear(&e);
		img_close(f);

		assert_int_equal(img_open(dir, IMG_GHOST_FILE, 2, &f), 0);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(e.extra_len, 0);
		img_entry_clear(&e);
		assert_int_equal(img_next(f, &e), 1);
		assert_ptr_equal(e.desc, &ghost_chunk_entry__descriptor);
		assert_memory_equal(e.extra, "abc", 3);
		img_entry_clear(&e);
		assert_int_equal(img_next(f, &e), 1);
		assert_int_equal(((GhostChunkEntry *)e.msg)->off, 4096);
		assert_memory_equal(e.extra, "de", 2);
		img_entry_clear(&e);
		img_close(f);
		f = NULL;
		assert_int_equal(img_open(dir, IMG_GHOST_FILE, 2, &f), 0);
		assert_int_equal(img_count(f, &n), 0);
		assert_int_equal(n, 3);
	}
	free(log_capture_take(logpath));
}

/* Writing to a caller's fd (crit encode to stdout) and to a path. */
static void test_fd_and_path(void **state)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	_cleanup_free_ char *path = tmp_path("out.img"), *path2 = tmp_path("other.img");
	_cleanup_close_ int fd = -1;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	size_t a = 0, b = 0;
	uint8_t *da, *db;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(img_create_fd(fd, "<stdout>", IMG_PSTREE, &w), 0);
	pe.pid = 9;
	assert_int_equal(img_write_entry(w, &pe.base, NULL, 0), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);
	/* The fd is still the caller's. */
	assert_int_equal(fcntl(fd, F_GETFD) >= 0, true);

	assert_int_equal(img_create_path(path2, IMG_PSTREE, &w), 0);
	assert_int_equal(img_write_entry(w, &pe.base, NULL, 0), 0);
	assert_int_equal(img_writer_commit(TAKE_PTR(w)), 0);
	da = slurp(path, &a);
	db = slurp(path2, &b);
	assert_int_equal(a, b);
	assert_memory_equal(da, db, a);
	assert_int_equal(a, 8 + 4 + protobuf_c_message_get_packed_size(&pe.base));
	free(da);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fixtures_round_trip, setup_each,
						teardown_each),
		cmocka_unit_test_setup_teardown(test_atomic_create, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_entries_are_checked, setup_each,
						teardown_each),
		cmocka_unit_test_setup_teardown(test_single_entry_images, setup_each,
						teardown_each),
		cmocka_unit_test_setup_teardown(test_ipc_payloads, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_ghost_files, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_fd_and_path, setup_each, teardown_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
