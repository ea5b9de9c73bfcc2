/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMAs and mm facts of a live child with a known layout (layout.c): each
 * region's VmaEntry must be what CRIU 4.2 writes for it.
 */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "base/macro.h"
#include "image/image.h"
#include "layout.h"

struct state {
	struct child c;
	struct mem_vmas vmas;
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

/* The VMA at addr must span exactly [addr, addr + pages) and carry these. */
static const VmaEntry *expect_vma(struct state *s, uint64_t addr, unsigned long pages,
				  uint32_t prot, uint32_t flags, uint32_t status)
{
	const struct mem_vma *v = find_vma(&s->vmas, addr);

	assert_non_null(v);
	assert_int_equal(v->e.start, addr);
	assert_int_equal(v->e.end, addr + pages * PG);
	assert_int_equal(v->e.prot, prot);
	assert_int_equal(v->e.flags, flags);
	assert_int_equal(v->e.status, status);
	assert_int_equal(v->e.fd, -1);
	return &v->e;
}

#define RW (PROT_READ | PROT_WRITE)
#define ANON_PRIV (MAP_PRIVATE | MAP_ANONYMOUS)
#define REG_ANON (VMA_AREA_REGULAR | VMA_ANON_PRIVATE)

static void test_anonymous(void **state)
{
	struct state *s = *state;
	const VmaEntry *e;

	e = expect_vma(s, s->c.l.anon, ANON_PAGES, RW, ANON_PRIV, REG_ANON);
	assert_false(e->has_madv);
	assert_false(e->has_fdflags);
	assert_int_equal(e->shmid, 0);
	assert_int_equal(e->pgoff, 0);
	expect_vma(s, s->c.l.sparse, SPARSE_SIZE / PG, RW, ANON_PRIV | MAP_NORESERVE, REG_ANON);
	assert_int_equal(find_vma(&s->vmas, s->c.l.anon)->rss_swap_kib, ANON_PAGES * PG / 1024);
	expect_vma(s, s->c.l.none, NONE_PAGES, PROT_NONE, ANON_PRIV, REG_ANON);
	assert_int_equal(find_vma(&s->vmas, s->c.l.none)->rss_swap_kib, 0);
	assert_int_equal(find_vma(&s->vmas, s->c.l.sparse)->rss_swap_kib, 3 * PG / 1024);
	expect_vma(s, s->c.l.zero, ZERO_PAGES, RW, ANON_PRIV, REG_ANON);
	/* No guard page is added below a MAP_GROWSDOWN area: the kernel keeps its gap outside */
	expect_vma(s, s->c.l.grows, GROWS_PAGES, RW, ANON_PRIV | MAP_GROWSDOWN, REG_ANON);
}

static void test_mprotect_madvise_mlock(void **state)
{
	struct state *s = *state;
	const VmaEntry *e;

	expect_vma(s, s->c.l.prot, 4, PROT_READ, ANON_PRIV, REG_ANON);
	expect_vma(s, s->c.l.prot + 4 * PG, 4, PROT_NONE, ANON_PRIV, REG_ANON);

	e = expect_vma(s, s->c.l.madv, 4, RW, ANON_PRIV, REG_ANON);
	assert_true(e->has_madv);
	assert_int_equal(e->madv, 1ul << MADV_DONTFORK);
	e = expect_vma(s, s->c.l.madv + 4 * PG, 4, RW, ANON_PRIV, REG_ANON);
	assert_int_equal(e->madv, 1ul << MADV_DONTDUMP);
	e = expect_vma(s, s->c.l.madv + 8 * PG, 4, RW, ANON_PRIV, REG_ANON);
	assert_int_equal(e->madv, 1ul << MADV_HUGEPAGE);

	expect_vma(s, s->c.l.locked, 1, RW, ANON_PRIV, REG_ANON);
	expect_vma(s, s->c.l.locked + PG, 1, RW, ANON_PRIV | MAP_LOCKED, REG_ANON);
	expect_vma(s, s->c.l.locked + 2 * PG, 2, RW, ANON_PRIV, REG_ANON);
}

static void test_file_private(void **state)
{
	struct state *s = *state;
	const struct mem_vma *v;
	struct stat st;

	expect_vma(s, s->c.l.file, FILE_PAGES, RW, MAP_PRIVATE,
		   VMA_AREA_REGULAR | VMA_FILE_PRIVATE);
	v = find_vma(&s->vmas, s->c.l.file);
	assert_true(v->e.has_fdflags);
	assert_int_equal(v->e.fdflags, O_RDONLY);
	assert_int_equal(v->e.shmid, 0); /* the caller's file id */
	assert_string_equal(v->path, s->c.file_path);
	assert_int_equal(stat(s->c.file_path, &st), 0);
	assert_int_equal(v->dev, st.st_dev);
	assert_int_equal(v->ino, st.st_ino);
	assert_true(S_ISREG(v->mode));
	assert_false(v->same_file);
}

static void test_shared_anonymous(void **state)
{
	struct state *s = *state;
	const VmaEntry *e;
	char path[96];
	struct stat st;

	e = expect_vma(s, s->c.l.shared, SHARED_PAGES, RW, MAP_SHARED | MAP_ANONYMOUS,
		       VMA_AREA_REGULAR | VMA_ANON_SHARED);
	snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx", s->c.pid,
		 (unsigned long)e->start, (unsigned long)e->end);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(e->shmid, st.st_ino);
	assert_true(e->has_fdflags);
	assert_int_equal(e->fdflags, O_RDWR);
}

/* The kernel's own areas: vDSO, vvar (with vvar_vclock), vsyscall, heap, stack. */
static void test_special(void **state)
{
	struct state *s = *state;
	uint64_t start, end, vstart, vend;
	const struct mem_vma *v;
	unsigned nvdso = 0, nvvar = 0;

	assert_true(maps_range(s->c.pid, "[vdso]", &start, &end));
	expect_vma(s, start, (end - start) / PG, PROT_READ | PROT_EXEC, ANON_PRIV,
		   VMA_AREA_REGULAR | VMA_AREA_VDSO | VMA_ANON_PRIVATE);

	assert_true(maps_range(s->c.pid, "[vvar]", &vstart, &vend));
	if (maps_range(s->c.pid, "[vvar_vclock]", &start, &end)) {
		/* one VVAR area over both, as CRIU 4.2 */
		assert_int_equal(start, vend);
		vend = end;
	}
	v = find_vma(&s->vmas, vstart);
	expect_vma(s, vstart, (vend - vstart) / PG, PROT_READ, ANON_PRIV,
		   VMA_AREA_REGULAR | VMA_AREA_VVAR | VMA_ANON_PRIVATE);
	assert_int_equal(v->e.madv, 1ul << MADV_DONTDUMP);

	assert_true(maps_range(s->c.pid, "[vsyscall]", &start, &end));
	expect_vma(s, start, 1, PROT_EXEC, ANON_PRIV, VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE);

	/* CRIU marks no VMA_AREA_STACK; the stack is known by its MAP_GROWSDOWN */
	assert_true(maps_range(s->c.pid, "[stack]", &start, &end));
	expect_vma(s, start, (end - start) / PG, RW, ANON_PRIV | MAP_GROWSDOWN, REG_ANON);
	assert_true(s->c.l.stack_var >= start && s->c.l.stack_var < end);

	if (maps_range(s->c.pid, "[heap]", &start, &end))
		expect_vma(s, start, (end - start) / PG, RW, ANON_PRIV,
			   VMA_AREA_REGULAR | VMA_AREA_HEAP | VMA_ANON_PRIVATE);

	for (size_t i = 0; i < s->vmas.nr; i++) {
		nvdso += mem_vma_is(&s->vmas.v[i].e, VMA_AREA_VDSO);
		nvvar += mem_vma_is(&s->vmas.v[i].e, VMA_AREA_VVAR);
	}
	assert_int_equal(nvdso, 1);
	assert_int_equal(nvvar, 1);
}

/* The VMAs are sorted, do not overlap, and the program's mappings share their file. */
static void test_list(void **state)
{
	struct state *s = *state;
	uint64_t priv = 0;
	bool borrowed = false;

	for (size_t i = 0; i < s->vmas.nr; i++) {
		const struct mem_vma *v = &s->vmas.v[i];

		if (i)
			assert_true(v->e.start >= s->vmas.v[i - 1].e.end);
		if (mem_vma_has_private_pages(&v->e))
			priv += (v->e.end - v->e.start) / PG;
		if (v->same_file) {
			borrowed = true;
			assert_string_equal(v->path, s->vmas.v[i - 1].path);
		}
		/* every VMA with a file has fdflags, no other */
		assert_int_equal(v->e.has_fdflags, v->path != NULL);
	}
	assert_int_equal(priv, s->vmas.priv_pages);
	assert_true(borrowed); /* libc has several VMAs in a row */
}

static void test_mm(void **state)
{
	struct state *s = *state;
	struct mem_mm_facts facts = {.brk = 0x123000, .dumpable = 1, .exe_file_id = 7};
	_cleanup_free_ char *cmdline = NULL, *arg = NULL;
	struct img_dir *dir;
	struct ProtobufCMessage *msg = NULL;
	MmEntry mm, *back;
	bool pagesz = false;
	char path[64];
	size_t len = 0;
	FILE *f;

	assert_int_equal(mem_mm_fill(s->c.pid, &s->vmas, &facts, &mm), 0);
	assert_int_equal(mm.n_vmas, s->vmas.nr);
	assert_ptr_equal(mm.vmas[0], &s->vmas.v[0].e);
	assert_int_equal(mm.mm_brk, 0x123000);
	assert_int_equal(mm.exe_file_id, 7);
	assert_true(mm.has_dumpable);
	assert_int_equal(mm.dumpable, 1);
	assert_true(mm.has_thp_disabled);
	assert_true(mm.thp_disabled); /* the child did PR_SET_THP_DISABLE */
	assert_true(mm.mm_start_code < mm.mm_end_code);
	assert_true(mm.mm_start_data < mm.mm_end_data);
	assert_true(mm.mm_start_brk != 0);
	assert_non_null(find_vma(&s->vmas, mm.mm_start_stack));

	/* arg_start..arg_end is the child's command line, as /proc says */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", s->c.pid);
	f = fopen(path, "re");
	assert_non_null(f);
	cmdline = calloc(1, 4096);
	len = fread(cmdline, 1, 4096, f);
	fclose(f);
	assert_int_equal(mm.mm_arg_end - mm.mm_arg_start, len);
	arg = calloc(1, len);
	assert_true(child_read(s->c.pid, mm.mm_arg_start, arg, len));
	assert_memory_equal(arg, cmdline, len);
	assert_true(mm.mm_env_start >= mm.mm_arg_end && mm.mm_env_end > mm.mm_env_start);

	assert_true(mm.n_mm_saved_auxv > 0 && mm.n_mm_saved_auxv <= MEM_AUXV_MAX_WORDS);
	for (size_t i = 0; i + 1 < mm.n_mm_saved_auxv; i += 2)
		if (mm.mm_saved_auxv[i] == AT_PAGESZ)
			pagesz = mm.mm_saved_auxv[i + 1] == PG;
	assert_true(pagesz);

	/* It makes a valid mm image */
	dir = make_img_dir(s->c.dir, "mm");
	assert_int_equal(img_write_one(dir, IMG_MM, 42, &mm.base), 0);
	assert_int_equal(img_read_one(dir, IMG_MM, 42, &msg), 0);
	back = (MmEntry *)msg;
	assert_int_equal(back->n_vmas, s->vmas.nr);
	assert_int_equal(back->vmas[3]->status, s->vmas.v[3].e.status);
	assert_int_equal(back->mm_arg_start, mm.mm_arg_start);
	img_msg_free(msg);
	img_dir_free(dir);
	mem_mm_release(&mm);
	assert_null(mm.vmas);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anonymous),    cmocka_unit_test(test_mprotect_madvise_mlock),
		cmocka_unit_test(test_file_private), cmocka_unit_test(test_shared_anonymous),
		cmocka_unit_test(test_special),      cmocka_unit_test(test_list),
		cmocka_unit_test(test_mm),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
