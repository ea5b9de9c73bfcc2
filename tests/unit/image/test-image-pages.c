/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process memory from images: the counter fixture's heap buffer read back
 * through pagemap → pages-N.img, parent chains of incremental dumps, old
 * pagemap entries, the pagemap writer, and broken pagemaps.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pagemap.pb-c.h"
#include "test-image-util.h"

#define PAGE IMG_PAGE_SIZE

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

/* counter.c's checksum (FNV-1a, 64 bit). */
static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/*
 * counter.c fills a 4 MiB malloc'ed buffer with (i * 2654435761u >> 13):
 * glibc serves it with mmap, 16 bytes after the start of the mapping, which
 * mm-21002.img shows at 0x7f4946588000.
 */
#define COUNTER_PID 21002
#define COUNTER_BUF 0x7f4946588010ull
#define COUNTER_LEN (4u << 20)
#define COUNTER_SUM 0xf1c2fd17479ab383ull

static void test_counter_heap_checksum(void **state)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	_cleanup_free_ char *path = fixture_path("images/counter");
	_cleanup_free_ uint8_t *buf = malloc(COUNTER_LEN), *want = malloc(COUNTER_LEN);
	const struct img_page_extent *ext;
	size_t n;

	(void)state;
	for (size_t i = 0; i < COUNTER_LEN; i++)
		want[i] = (uint8_t)(i * 2654435761u >> 13);
	assert_int_equal(fnv(want, COUNTER_LEN), COUNTER_SUM);

	assert_int_equal(img_dir_open(path, &dir), 0);
	assert_int_equal(img_pagemap_open(dir, IMG_PAGEMAP, COUNTER_PID, &pm), 0);
	assert_int_equal(img_pagemap_pages_id(pm), 1);
	n = img_pagemap_extents(pm, &ext);
	assert_int_equal(n, 16); /* crit: 17 entries, the first is the head */
	assert_int_equal(ext[0].vaddr, 0x56210ebd2000ull);
	assert_int_equal(ext[0].flags, IMG_PE_PRESENT);
	assert_int_equal(ext[3].flags, IMG_PE_PRESENT | IMG_PE_LAZY);
	assert_int_equal(ext[3].file_off, 0x4000);

	assert_int_equal(img_pagemap_read(pm, COUNTER_BUF, buf, COUNTER_LEN, 0), 0);
	assert_int_equal(fnv(buf, COUNTER_LEN), COUNTER_SUM);
	assert_memory_equal(buf, want, COUNTER_LEN);

	/* Unaligned, across two extents (0x7f4946687000). */
	assert_int_equal(img_pagemap_read(pm, 0x7f4946686ff0ull, buf, 32, 0), 0);
	assert_memory_equal(buf, want + (0x7f4946686ff0ull - COUNTER_BUF), 32);

	/* 0x7f4946b5b000 - 0x1000 is not dumped. */
	assert_int_equal(img_pagemap_read(pm, 0x7f4946b5a000ull, buf, 2 * PAGE, 0), -ENOENT);
	free(log_capture_take(logpath));
	memset(buf, 0xff, PAGE);
	assert_int_equal(
		img_pagemap_read(pm, 0x7f4946b5a000ull, buf, 2 * PAGE, IMG_READ_HOLES_AS_ZERO), 0);
	for (size_t i = 0; i < PAGE; i++)
		assert_int_equal(buf[i], 0);
}

static void fill(uint8_t *p, size_t pages, char c)
{
	memset(p, c, pages * PAGE);
}

/* Make DIR/NAME with a "parent" link to PARENT (relative, as CRIU writes it), or none. */
static struct img_dir *make_set(const char *name, const char *parent)
{
	_cleanup_free_ char *path = NULL, *link = NULL;
	struct img_dir *dir;

	assert_int_equal(asprintf(&path, "%s/%s", tmp, name) > 0, true);
	assert_int_equal(mkdir(path, 0700), 0);
	if (parent) {
		assert_int_equal(asprintf(&link, "%s/parent", path) > 0, true);
		assert_int_equal(symlink(parent, link), 0);
	}
	assert_int_equal(img_dir_open(path, &dir), 0);
	return dir;
}

static void add(struct img_pagemap_writer *w, uint64_t vaddr, uint64_t pages, uint32_t flags,
		char c)
{
	_cleanup_free_ uint8_t *data = NULL;

	if (flags & IMG_PE_PRESENT) {
		data = malloc(pages * PAGE);
		fill(data, pages, c);
	}
	assert_int_equal(img_pagemap_writer_add(w, vaddr, pages, flags, data), 0);
}

static void expect_bytes(struct img_pagemap *pm, uint64_t vaddr, size_t len, const char *pattern)
{
	_cleanup_free_ uint8_t *buf = malloc(len);
	size_t per = len / strlen(pattern);

	assert_int_equal(img_pagemap_read(pm, vaddr, buf, len, 0), 0);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (uint8_t)pattern[i / per])
			fail_msg("byte 0x%zx of 0x%llx is '%c', '%c' expected", i,
				 (unsigned long long)vaddr, buf[i], pattern[i / per]);
}

/*
 * Three dumps: gen1 has pages A A B; gen2 rewrote the second page (C) and
 * keeps the rest in its parent; gen3 rewrote nothing but a new page D.
 */
static void test_parent_chain(void **state)
{
	struct img_dir *g1 = make_set("gen1", NULL), *g2 = make_set("gen2", "../gen1"),
		       *g3 = make_set("gen3", "../gen2");
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	struct img_pagemap_writer *w = NULL;

	(void)state;
	assert_int_equal(img_pagemap_writer_open(g1, IMG_PAGEMAP, 7, 1, &w), 0);
	add(w, 0x10000, 2, IMG_PE_PRESENT, 'A');
	add(w, 0x20000, 1, IMG_PE_PRESENT, 'B');
	assert_int_equal(img_pagemap_writer_commit(w), 0);

	assert_int_equal(img_pagemap_writer_open(g2, IMG_PAGEMAP, 7, 2, &w), 0);
	add(w, 0x10000, 1, IMG_PE_PARENT, 0);
	add(w, 0x11000, 1, IMG_PE_PRESENT, 'C');
	add(w, 0x20000, 1, IMG_PE_PARENT, 0);
	assert_int_equal(img_pagemap_writer_commit(w), 0);

	assert_int_equal(img_pagemap_writer_open(g3, IMG_PAGEMAP, 7, 3, &w), 0);
	add(w, 0x10000, 2, IMG_PE_PARENT, 0);
	add(w, 0x20000, 1, IMG_PE_PARENT, 0);
	add(w, 0x30000, 1, IMG_PE_PRESENT | IMG_PE_LAZY, 'D');
	add(w, 0x40000, 1, IMG_PE_LAZY, 0);
	assert_int_equal(img_pagemap_writer_commit(w), 0);

	assert_int_equal(img_pagemap_open(g3, IMG_PAGEMAP, 7, &pm), 0);
	expect_bytes(pm, 0x10000, 2 * PAGE, "AC");
	expect_bytes(pm, 0x10800, PAGE, "AC");
	expect_bytes(pm, 0x20000, PAGE, "B");
	expect_bytes(pm, 0x30000, PAGE, "D");
	/* Lazy pages without PE_PRESENT are not in the images. */
	assert_int_equal(img_pagemap_read(pm, 0x40000, (uint8_t[16]){}, 16, 0), -ENOENT);
	{
		_cleanup_free_ char *log = log_capture_take(logpath);

		assert_non_null(strstr(log, "/gen3/pagemap-7.img: the page at 0x40000 is lazy"));
	}
	img_dir_free(g1);
	img_dir_free(g2);
	img_pagemap_free(TAKE_PTR(pm));
	img_dir_free(g3);
}

static void test_parent_missing(void **state)
{
	struct img_dir *orphan = make_set("orphan", NULL), *loop = make_set("loop", ".");
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL, *pl = NULL;
	struct img_pagemap_writer *w = NULL;
	_cleanup_free_ char *log = NULL;

	(void)state;
	assert_int_equal(img_pagemap_writer_open(orphan, IMG_PAGEMAP, 1, 1, &w), 0);
	add(w, 0x10000, 1, IMG_PE_PARENT, 0);
	assert_int_equal(img_pagemap_writer_commit(w), 0);
	assert_int_equal(img_pagemap_open(orphan, IMG_PAGEMAP, 1, &pm), 0);
	assert_int_equal(img_pagemap_read(pm, 0x10000, (uint8_t[8]){}, 8, 0), -ENOENT);
	log = log_capture_take(logpath);
	assert_non_null(strstr(log, "the page at 0x10000 is in the parent image set, but "));
	assert_non_null(strstr(log, "/orphan has no \"parent\""));

	/* A parent link to itself: refused after IMG_MAX_PARENT_DEPTH steps. */
	assert_int_equal(img_pagemap_writer_open(loop, IMG_PAGEMAP, 1, 1, &w), 0);
	add(w, 0x10000, 1, IMG_PE_PARENT, 0);
	assert_int_equal(img_pagemap_writer_commit(w), 0);
	assert_int_equal(img_pagemap_open(loop, IMG_PAGEMAP, 1, &pl), 0);
	assert_int_equal(img_pagemap_read(pl, 0x10000, (uint8_t[8]){}, 8, 0), -ELOOP);
	free(log);
	log = log_capture_take(logpath);
	assert_non_null(strstr(log, "parent image sets: a \"parent\" link loop?"));
	img_pagemap_free(TAKE_PTR(pm));
	img_pagemap_free(TAKE_PTR(pl));
	img_dir_free(orphan);
	img_dir_free(loop);
}

/* CRIU before 4.2: the count in field 2, in_parent instead of flags. */
static void test_old_pagemap_entries(void **state)
{
	struct img_dir *parent = make_set("old1", NULL), *child = make_set("old2", "../old1");
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	struct img_pagemap_writer *pw = NULL;
	struct img_writer *w = NULL;
	PagemapHead head = PAGEMAP_HEAD__INIT;
	PagemapEntry a = PAGEMAP_ENTRY__INIT, b = PAGEMAP_ENTRY__INIT;
	const struct img_page_extent *ext;
	uint8_t page[PAGE];
	int fd;

	(void)state;
	assert_int_equal(img_pagemap_writer_open(parent, IMG_PAGEMAP, 3, 1, &pw), 0);
	add(pw, 0x5000, 1, IMG_PE_PRESENT, 'P');
	assert_int_equal(img_pagemap_writer_commit(pw), 0);

	assert_int_equal(img_create(child, IMG_PAGEMAP, 3, &w), 0);
	head.pages_id = 9;
	assert_int_equal(img_write_entry(w, &head.base, NULL, 0), 0);
	a.vaddr = 0x4000;
	a.compat_nr_pages = 1;
	b.vaddr = 0x5000;
	b.compat_nr_pages = 1;
	b.has_in_parent = true;
	b.in_parent = true;
	assert_int_equal(img_write_entry(w, &a.base, NULL, 0), 0);
	assert_int_equal(img_write_entry(w, &b.base, NULL, 0), 0);
	assert_int_equal(img_writer_commit(w), 0);
	assert_int_equal(img_create(child, IMG_PAGES, 9, &w), 0);
	fd = img_writer_fd(w);
	assert_true(fd >= 0);
	fill(page, 1, 'N');
	assert_int_equal(write(fd, page, PAGE), PAGE);
	assert_int_equal(img_writer_commit(w), 0);

	assert_int_equal(img_pagemap_open(child, IMG_PAGEMAP, 3, &pm), 0);
	assert_int_equal(img_pagemap_extents(pm, &ext), 2);
	assert_int_equal(ext[0].nr_pages, 1);
	assert_int_equal(ext[0].flags, IMG_PE_PRESENT);
	assert_int_equal(ext[1].flags, IMG_PE_PARENT);
	expect_bytes(pm, 0x4000, 2 * PAGE, "NP");
	img_pagemap_free(TAKE_PTR(pm));
	img_dir_free(parent);
	img_dir_free(child);
}

/* Pages appended by the caller to the pages fd, then announced. */
static void test_writer_pages_fd(void **state)
{
	struct img_dir *dir = make_set("fdw", NULL);
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	struct img_pagemap_writer *w = NULL;
	uint8_t pages[2 * PAGE];
	int fd;

	(void)state;
	assert_int_equal(img_pagemap_writer_open(dir, IMG_SHMEM_PAGEMAP, 77, 4, &w), 0);
	fd = img_pagemap_writer_pages_fd(w);
	fill(pages, 2, 'x');
	assert_int_equal(write(fd, pages, sizeof(pages)), (ssize_t)sizeof(pages));
	assert_int_equal(img_pagemap_writer_add(w, 0x1000, 2, IMG_PE_PRESENT, NULL), 0);
	add(w, 0x3000, 1, IMG_PE_PRESENT, 'y');
	/* Claiming pages that were not appended is caught. */
	assert_int_equal(img_pagemap_writer_add(w, 0x9000, 1, IMG_PE_PRESENT, NULL), -EINVAL);
	/* So are extents out of order, or both in the parent and present. */
	assert_int_equal(img_pagemap_writer_add(w, 0x2000, 1, IMG_PE_PARENT, NULL), -EINVAL);
	assert_int_equal(img_pagemap_writer_add(w, 0xa000, 1, IMG_PE_PARENT | IMG_PE_PRESENT, NULL),
			 -EINVAL);
	assert_int_equal(img_pagemap_writer_add(w, 0xa001, 1, IMG_PE_PARENT, NULL), -EINVAL);
	assert_int_equal(img_pagemap_writer_commit(w), 0);
	free(log_capture_take(logpath));

	assert_int_equal(img_pagemap_open(dir, IMG_SHMEM_PAGEMAP, 77, &pm), 0);
	expect_bytes(pm, 0x1000, 3 * PAGE, "xxy");
	img_pagemap_free(TAKE_PTR(pm));
	img_dir_free(dir);
}

/* Write a pagemap with the given extents (raw entries, no checks) and pages-1.img of `pages` pages.
 */
static int open_crafted(struct img_dir *dir, const struct img_page_extent *x, size_t n,
			size_t pages, char **ret_log)
{
	struct img_pagemap *pm = NULL;
	struct img_writer *w = NULL;
	PagemapHead head = PAGEMAP_HEAD__INIT;
	_cleanup_free_ uint8_t *data = calloc(pages + 1, PAGE);
	int r;

	assert_int_equal(img_create(dir, IMG_PAGEMAP, 1, &w), 0);
	head.pages_id = 1;
	assert_int_equal(img_write_entry(w, &head.base, NULL, 0), 0);
	for (size_t i = 0; i < n; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = x[i].vaddr;
		pe.has_nr_pages = true;
		pe.nr_pages = x[i].nr_pages;
		pe.has_flags = true;
		pe.flags = x[i].flags;
		assert_int_equal(img_write_entry(w, &pe.base, NULL, 0), 0);
	}
	assert_int_equal(img_writer_commit(w), 0);
	assert_int_equal(img_create(dir, IMG_PAGES, 1, &w), 0);
	assert_int_equal(img_write_raw(w, data, pages * PAGE), 0);
	assert_int_equal(img_writer_commit(w), 0);
	r = img_pagemap_open(dir, IMG_PAGEMAP, 1, &pm);
	img_pagemap_free(pm);
	*ret_log = log_capture_take(logpath);
	return r;
}

static void test_broken_pagemaps(void **state)
{
	struct img_dir *dir = make_set("broken", NULL);
	char *log = NULL;

	(void)state;
	{
		const struct img_page_extent x[] = {{0x10000, 2, IMG_PE_PRESENT},
						    {0x11000, 1, IMG_PE_PRESENT}};

		assert_int_equal(open_crafted(dir, x, 2, 3, &log), -EBADMSG);
		assert_non_null(strstr(log, "/pagemap-1.img: entry 2 at offset 0x"));
		assert_non_null(strstr(log, "overlaps the previous entry or is out of order"));
		free(log);
	}
	{
		const struct img_page_extent x[] = {{0x10000, 4, IMG_PE_PRESENT}};

		assert_int_equal(open_crafted(dir, x, 1, 3, &log), -EBADMSG);
		assert_non_null(
			strstr(log, "/pagemap-1.img: its entries need 0x4000 bytes of pages, "));
		assert_non_null(strstr(log, "/pages-1.img has only 0x3000"));
		free(log);
	}
	{
		const struct img_page_extent x[] = {{0x10010, 1, IMG_PE_PRESENT}};

		assert_int_equal(open_crafted(dir, x, 1, 1, &log), -EBADMSG);
		assert_non_null(strstr(log, "vaddr 0x10010, 1 pages: vaddr is not page aligned"));
		free(log);
	}
	{
		const struct img_page_extent x[] = {{0xfffffffffffff000ull, 2, IMG_PE_PRESENT}};

		assert_int_equal(open_crafted(dir, x, 1, 1, &log), -EBADMSG);
		assert_non_null(strstr(log, "wraps around the address space"));
		free(log);
	}
	{
		const struct img_page_extent x[] = {{0x1000, 1, IMG_PE_PRESENT | IMG_PE_PARENT}};

		assert_int_equal(open_crafted(dir, x, 1, 1, &log), -EBADMSG);
		assert_non_null(strstr(log, "both PE_PARENT and PE_PRESENT"));
		free(log);
	}
	img_dir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counter_heap_checksum, setup_each,
						teardown_each),
		cmocka_unit_test_setup_teardown(test_parent_chain, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_parent_missing, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_old_pagemap_entries, setup_each,
						teardown_each),
		cmocka_unit_test_setup_teardown(test_writer_pages_fd, setup_each, teardown_each),
		cmocka_unit_test_setup_teardown(test_broken_pagemaps, setup_each, teardown_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
