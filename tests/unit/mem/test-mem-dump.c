/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Page scanning and dumping on a live child with a known layout
 * (layout.c): the pages written must be exactly those CRIU would write,
 * byte for byte what the child holds, read back through the image library.
 */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/macro.h"
#include "image/image.h"
#include "layout.h"
#include "mem/internal.h"

struct state {
	struct child c;
	struct mem_vmas vmas;
	unsigned ndirs;
};

static int setup(void **state)
{
	struct state *s = calloc(1, sizeof(*s));

	*state = s;
	if (!s)
		return -1;
	if (!layout_start(&s->c) || mem_vmas_collect(s->c.pid, &s->vmas) < 0) {
		layout_stop(&s->c); /* the teardown does not run after a failed setup */
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct state *s = *state;

	if (s) {
		mem_vmas_release(&s->vmas);
		layout_stop(&s->c);
		free(s);
	}
	return 0;
}

/*
 * Reading /proc/PID/pagemap costs 8 bytes per page whatever is mapped: the
 * comparisons with that path leave out the sanitizer's terabytes of shadow
 * (of which a few pages are resident) that an ASan build gives the child.
 */
#define PAGEMAP_PATH_MAX_VMA (4ul << 30)

/* The VMAs of at most PAGEMAP_PATH_MAX_VMA bytes (sharing the strings: free .v only). */
static struct mem_vmas small_vmas(const struct mem_vmas *all)
{
	struct mem_vmas out = {.v = calloc(all->nr, sizeof(*out.v))};

	assert_non_null(out.v);
	for (size_t i = 0; i < all->nr; i++)
		if (all->v[i].e.end - all->v[i].e.start <= PAGEMAP_PATH_MAX_VMA)
			out.v[out.nr++] = all->v[i];
	return out;
}

/* Dump the child's private memory into a new image directory and open its pagemap. */
static struct img_pagemap *dump_vmas(struct state *s, const struct mem_vmas *vmas,
				     const struct mem_dump_opts *opts, struct mem_dump_stats *st)
{
	struct img_pagemap *pm;
	struct img_dir *dir;
	char name[16];

	snprintf(name, sizeof(name), "d%u", s->ndirs++);
	dir = make_img_dir(s->c.dir, name);
	assert_int_equal(mem_dump_pages(s->c.pid, vmas, dir, s->c.pid, 1, opts, st), 0);
	assert_int_equal(img_pagemap_open(dir, IMG_PAGEMAP, s->c.pid, &pm), 0);
	img_dir_free(dir);
	return pm;
}

static struct img_pagemap *dump(struct state *s, const struct mem_dump_opts *opts,
				struct mem_dump_stats *st)
{
	return dump_vmas(s, &s->vmas, opts, st);
}

struct count {
	uint64_t pages, lazy;
};

/* The pages of the images in [start, end). */
static struct count pages_in(const struct img_pagemap *pm, uint64_t start, uint64_t end)
{
	const struct img_page_extent *x;
	size_t n = img_pagemap_extents(pm, &x);
	struct count c = {};

	for (size_t i = 0; i < n; i++) {
		uint64_t a = MAX(x[i].vaddr, start);
		uint64_t b = MIN(x[i].vaddr + x[i].nr_pages * PG, end);

		if (a >= b)
			continue;
		assert_true(x[i].flags & IMG_PE_PRESENT);
		c.pages += (b - a) / PG;
		if (x[i].flags & IMG_PE_LAZY)
			c.lazy += (b - a) / PG;
	}
	return c;
}

static bool has_page(const struct img_pagemap *pm, uint64_t addr)
{
	return pages_in(pm, addr, addr + PG).pages == 1;
}

/* Every page of the images is what the child holds; adjacent entries differ in flags. */
static uint64_t check_contents(struct state *s, struct img_pagemap *pm)
{
	const struct img_page_extent *x;
	size_t n = img_pagemap_extents(pm, &x);
	uint8_t want[PG], got[PG];
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		if (i && x[i - 1].vaddr + x[i - 1].nr_pages * PG == x[i].vaddr)
			assert_int_not_equal(x[i - 1].flags, x[i].flags);
		for (uint64_t p = 0; p < x[i].nr_pages; p++) {
			uint64_t addr = x[i].vaddr + p * PG;

			assert_true(child_read(s->c.pid, addr, want, PG));
			assert_int_equal(img_pagemap_read(pm, addr, got, PG, 0), 0);
			assert_memory_equal(want, got, PG);
		}
		total += x[i].nr_pages;
	}
	return total;
}

static void test_dump(void **state)
{
	struct state *s = *state;
	struct mem_dump_stats st = {};
	struct img_pagemap *pm = dump(s, NULL, &st);
	const struct layout *l = &s->c.l;
	uint64_t vdso, vdso_end, vvar, vvar_end;
	struct count c;

	c = pages_in(pm, l->anon, l->anon + ANON_PAGES * PG);
	assert_int_equal(c.pages, ANON_PAGES);
	assert_int_equal(c.lazy, ANON_PAGES);

	/* 1 GiB reserved, 3 pages touched: 3 pages */
	assert_int_equal(pages_in(pm, l->sparse, l->sparse + SPARSE_SIZE).pages, 3);
	for (int i = 0; i < 3; i++)
		assert_true(has_page(pm, l->sparse + sparse_touched[i]));

	/* Private file mapping: the copied-on-write page only, and not lazy */
	c = pages_in(pm, l->file, l->file + FILE_PAGES * PG);
	assert_int_equal(c.pages, 1);
	assert_int_equal(c.lazy, 0);
	assert_true(has_page(pm, l->file + FILE_COW_PAGE * PG));

	/* Read-only zero-page mappings are not saved */
	assert_int_equal(pages_in(pm, l->zero, l->zero + ZERO_PAGES * PG).pages, 1);
	assert_true(has_page(pm, l->zero + ZERO_WRITTEN * PG));
	assert_true(st.pages_zero >= ZERO_PAGES - 1);

	/* Written, then read-only and PROT_NONE: all saved (through /proc/PID/mem) */
	assert_int_equal(pages_in(pm, l->prot, l->prot + PROT_PAGES * PG).pages, PROT_PAGES);
	assert_int_equal(pages_in(pm, l->none, l->none + NONE_PAGES * PG).pages, 0);

	/* Shared memory goes elsewhere (mem_dump_shmem) */
	assert_int_equal(pages_in(pm, l->shared, l->shared + SHARED_PAGES * PG).pages, 0);

	/* MADV_DONTDUMP is for core dumps: the pages are saved */
	assert_int_equal(pages_in(pm, l->madv, l->madv + MADV_PAGES * PG).pages, MADV_PAGES);

	/* Locked pages are not lazy */
	c = pages_in(pm, l->locked, l->locked + LOCKED_PAGES * PG);
	assert_int_equal(c.pages, LOCKED_PAGES);
	assert_int_equal(c.lazy, LOCKED_PAGES - 1);
	assert_int_equal(pages_in(pm, l->locked + PG, l->locked + 2 * PG).lazy, 0);

	assert_int_equal(pages_in(pm, l->grows, l->grows + GROWS_PAGES * PG).pages, 1);

	/* The vDSO whole and not lazy, nothing of vvar */
	assert_true(maps_range(s->c.pid, "[vdso]", &vdso, &vdso_end));
	c = pages_in(pm, vdso, vdso_end);
	assert_int_equal(c.pages, (vdso_end - vdso) / PG);
	assert_int_equal(c.lazy, 0);
	assert_true(maps_range(s->c.pid, "[vvar]", &vvar, &vvar_end));
	assert_int_equal(pages_in(pm, vvar, vvar_end).pages, 0);
	if (maps_range(s->c.pid, "[vvar_vclock]", &vvar, &vvar_end))
		assert_int_equal(pages_in(pm, vvar, vvar_end).pages, 0);

	assert_int_equal(check_contents(s, pm), st.pages_written);
	assert_true(st.pages_scanned >= s->vmas.priv_pages);
	assert_true(st.pages_lazy < st.pages_written);
	img_pagemap_free(pm);
}

/* Same extents, same pages, whatever the scanning path and the buffer size. */
static void assert_same_extents(struct img_pagemap *a, struct img_pagemap *b)
{
	const struct img_page_extent *xa, *xb;
	size_t na = img_pagemap_extents(a, &xa), nb = img_pagemap_extents(b, &xb);

	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(xa[i].vaddr, xb[i].vaddr);
		assert_int_equal(xa[i].nr_pages, xb[i].nr_pages);
		assert_int_equal(xa[i].flags, xb[i].flags);
	}
}

static void test_paths_agree(void **state)
{
	struct state *s = *state;
	struct mem_dump_opts pagemap = {.scan_flags = MEM_SCAN_NO_IOCTL};
	struct mem_dump_opts small = {.buf_size = 1}; /* the smallest: 2 x 16 pages */
	struct mem_dump_opts small_one = {.buf_size = 1, .one_thread = true};
	struct mem_dump_stats st1 = {}, st2 = {}, st3 = {}, st4 = {}, st5 = {};
	struct mem_vmas vmas = small_vmas(&s->vmas);
	struct img_pagemap *a = dump(s, NULL, &st1);
	struct img_pagemap *b = dump_vmas(s, &vmas, &pagemap, &st2);
	struct img_pagemap *b1 = dump_vmas(s, &vmas, NULL, &st5);
	struct img_pagemap *c = dump(s, &small, &st3);
	struct img_pagemap *d = dump(s, &small_one, &st4);

	free(vmas.v);
	assert_same_extents(b1, b);
	assert_int_equal(st5.pages_written, st2.pages_written);
	assert_int_equal(st5.pages_zero, st2.pages_zero);
	assert_same_extents(a, c);
	assert_same_extents(a, d);
	assert_int_equal(check_contents(s, c), st3.pages_written);
	assert_int_equal(check_contents(s, d), st4.pages_written);
	img_pagemap_free(a);
	img_pagemap_free(b);
	img_pagemap_free(b1);
	img_pagemap_free(c);
	img_pagemap_free(d);
}

/* The page under a thread's stack pointer is not lazy; the pages around it are. */
static void test_stack_pointer_page(void **state)
{
	struct state *s = *state;
	const struct layout *l = &s->c.l;
	uint64_t sp = l->anon + 10 * PG + 123;
	struct mem_dump_opts opts = {.thread_sp = &sp, .nr_thread_sp = 1};
	struct mem_dump_stats st = {};
	struct img_pagemap *pm = dump(s, &opts, &st);
	struct count c;

	c = pages_in(pm, l->anon, l->anon + ANON_PAGES * PG);
	assert_int_equal(c.pages, ANON_PAGES);
	assert_int_equal(c.lazy, ANON_PAGES - 1);
	assert_int_equal(pages_in(pm, l->anon + 10 * PG, l->anon + 11 * PG).lazy, 0);
	assert_int_equal(pages_in(pm, l->anon + 9 * PG, l->anon + 10 * PG).lazy, 1);
	assert_int_equal(pages_in(pm, l->anon + 11 * PG, l->anon + 12 * PG).lazy, 1);
	img_pagemap_free(pm);
}

struct runs {
	struct mem_run r[256];
	size_t n;
};

static int collect_run(void *arg, const struct mem_run *run)
{
	struct runs *rs = arg;

	if (rs->n == ELEMENTSOF(rs->r))
		return -E2BIG;
	if (rs->n)
		assert_true(run->start >= rs->r[rs->n - 1].end);
	rs->r[rs->n++] = *run;
	return 0;
}

/* PAGEMAP_SCAN and /proc/PID/pagemap give the same runs over every private VMA. */
static void test_scan(void **state)
{
	struct state *s = *state;
	struct mem_scan *ioc, *pme;
	const struct layout *l = &s->c.l;
	struct runs *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	assert_int_equal(mem_scan_open(s->c.pid, 0, &ioc), 0);
	assert_int_equal(mem_scan_open(s->c.pid, MEM_SCAN_NO_IOCTL, &pme), 0);
	for (size_t i = 0; i < s->vmas.nr; i++) {
		const VmaEntry *e = &s->vmas.v[i].e;

		if (!mem_vma_has_private_pages(e) || e->end - e->start > PAGEMAP_PATH_MAX_VMA)
			continue;
		a->n = b->n = 0;
		assert_int_equal(mem_scan_private(ioc, e->start, e->end, collect_run, a), 0);
		assert_int_equal(mem_scan_private(pme, e->start, e->end, collect_run, b), 0);
		assert_int_equal(a->n, b->n);
		assert_memory_equal(a->r, b->r, a->n * sizeof(a->r[0]));
	}
	assert_true(mem_scan_uses_ioctl(ioc)); /* Linux 6.7+ */
	assert_false(mem_scan_uses_ioctl(pme));

	/* The zero-page region: 3 zero pages, 1 written, 12 zero */
	a->n = 0;
	assert_int_equal(mem_scan_private(ioc, l->zero, l->zero + ZERO_PAGES * PG, collect_run, a),
			 0);
	assert_int_equal(a->n, 3);
	assert_true(a->r[0].zero && !a->r[1].zero && a->r[2].zero);
	assert_int_equal(a->r[1].start, l->zero + ZERO_WRITTEN * PG);
	assert_int_equal(a->r[1].end, l->zero + (ZERO_WRITTEN + 1) * PG);
	assert_int_equal(mem_scan_private(ioc, l->zero + 1, l->zero + PG, collect_run, a), -EINVAL);
	mem_scan_free(ioc);
	mem_scan_free(pme);
	free(a);
	free(b);
}

static void test_shmem(void **state)
{
	struct state *s = *state;
	const struct mem_vma *v = find_vma(&s->vmas, s->c.l.shared);
	struct mem_dump_stats st = {};
	const struct img_page_extent *x;
	struct img_pagemap *pm;
	struct img_dir *dir;
	uint8_t got[PG], want[PG];
	size_t n;

	assert_non_null(v);
	dir = make_img_dir(s->c.dir, "shmem");
	assert_int_equal(mem_dump_shmem(s->c.pid, &v->e, SHARED_PAGES * PG, dir, 3, &st), 0);
	assert_int_equal(img_pagemap_open(dir, IMG_SHMEM_PAGEMAP, v->e.shmid, &pm), 0);
	assert_int_equal(img_pagemap_pages_id(pm), 3);
	/* At their offsets in the object: pages 0-3 and 6 */
	n = img_pagemap_extents(pm, &x);
	assert_int_equal(n, 2);
	assert_int_equal(x[0].vaddr, 0);
	assert_int_equal(x[0].nr_pages, 4);
	assert_int_equal(x[0].flags, IMG_PE_PRESENT);
	assert_int_equal(x[1].vaddr, 6 * PG);
	assert_int_equal(x[1].nr_pages, 1);
	for (uint64_t off = 0; off < 7 * PG; off += PG) {
		if (off == 4 * PG || off == 5 * PG)
			continue;
		assert_true(child_read(s->c.pid, s->c.l.shared + off, want, PG));
		assert_int_equal(img_pagemap_read(pm, off, got, PG, 0), 0);
		assert_memory_equal(want, got, PG);
	}
	assert_int_equal(st.pages_written, 5);
	assert_int_equal(st.pages_scanned, SHARED_PAGES);
	/* Only shared anonymous memory goes this way */
	assert_int_equal(mem_dump_shmem(s->c.pid, &s->vmas.v[0].e, PG, dir, 4, NULL), -EINVAL);
	img_pagemap_free(pm);
	img_dir_free(dir);
}

/*
 * The copier on its own: a batch that runs into pages the task cannot read
 * (read-only then PROT_NONE, read with process_vm_readv) finishes through
 * /proc/PID/mem; a page that is not mapped at all is an error.
 */
static void test_copier_short_read(void **state)
{
	struct state *s = *state;
	const uint64_t prot = s->c.l.prot;
	struct img_pagemap_writer *w = NULL;
	struct mem_copier *copier = NULL;
	const struct img_page_extent *x;
	struct img_pagemap *pm;
	struct img_dir *dir = make_img_dir(s->c.dir, "copier");
	uint8_t want[PG], got[PG];
	char path[64];
	int mem_fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", s->c.pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(mem_fd >= 0);
	assert_int_equal(img_pagemap_writer_open(dir, IMG_PAGEMAP, 1, 1, &w), 0);
	assert_int_equal(mem_copier_open("test", s->c.pid, mem_fd, w, 0, false, &copier), 0);
	assert_int_equal(mem_copier_add(copier, prot, PROT_PAGES * PG, IMG_PE_PRESENT, false), 0);
	assert_int_equal(mem_copier_finish(copier), 0);
	mem_copier_free(copier);
	assert_int_equal(img_pagemap_writer_commit(w), 0);
	assert_int_equal(img_pagemap_open(dir, IMG_PAGEMAP, 1, &pm), 0);
	assert_int_equal(img_pagemap_extents(pm, &x), 1);
	assert_int_equal(x[0].nr_pages, PROT_PAGES);
	for (uint64_t p = 0; p < PROT_PAGES; p++) {
		assert_true(child_read(s->c.pid, prot + p * PG, want, PG));
		assert_int_equal(img_pagemap_read(pm, prot + p * PG, got, PG, 0), 0);
		assert_memory_equal(want, got, PG);
	}
	img_pagemap_free(pm);

	/* The page before each region of the layout is a hole */
	assert_int_equal(img_pagemap_writer_open(dir, IMG_PAGEMAP, 2, 2, &w), 0);
	assert_int_equal(mem_copier_open("test", s->c.pid, mem_fd, w, 0, false, &copier), 0);
	assert_int_equal(mem_copier_add(copier, prot - PG, 2 * PG, IMG_PE_PRESENT, false), 0);
	assert_true(mem_copier_finish(copier) < 0);
	assert_true(mem_copier_add(copier, prot, PG, IMG_PE_PRESENT, false) < 0);
	mem_copier_free(copier);
	img_pagemap_writer_free(w);
	close(mem_fd);
	img_dir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_paths_agree),
		cmocka_unit_test(test_stack_pointer_page),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_shmem),
		cmocka_unit_test(test_copier_short_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
