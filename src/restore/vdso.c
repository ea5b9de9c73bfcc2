/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vDSO and the vvar pages it reads. They cannot be created by mmap():
 * the new task keeps the kernel's own (it is a copy of stasis, so they sit
 * where stasis has them) and they are moved with mremap() to the dumped
 * addresses, which also tells the kernel where the vDSO now is (signal
 * return, /proc/PID/maps).
 *
 * The vDSO code finds the vvar pages at a fixed distance, so the block
 * [vvar][vvar_vclock][vdso] moves as a whole, and the dumped layout must be
 * the same as this kernel's. glibc keeps pointers into the vDSO in the
 * task's memory, so its code must be the same too: restoring across kernels
 * (which needs a proxy vDSO) is not supported yet.
 */
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

/* The special block of a maps listing: [vvar*][vdso] pieces, and where the vdso is. */
struct special_block {
	uint64_t start, end;      /* the span of the pieces */
	uint64_t vdso, vdso_end;  /* 0 if there is no vdso */
	uint64_t vvar, vvar_size; /* first vvar piece, total vvar bytes */
};

static void find_block(const struct rst_mapping *maps, size_t n, struct special_block *b)
{
	*b = (struct special_block){};
	for (size_t i = 0; i < n; i++) {
		const struct rst_mapping *m = &maps[i];

		if (m->special != RST_SPECIAL_VDSO && m->special != RST_SPECIAL_VVAR)
			continue;
		if (b->start == 0 || m->start < b->start)
			b->start = m->start;
		b->end = MAX(b->end, m->end);
		if (m->special == RST_SPECIAL_VDSO) {
			b->vdso = m->start;
			b->vdso_end = m->end;
		} else {
			if (b->vvar == 0 || m->start < b->vvar)
				b->vvar = m->start;
			b->vvar_size += m->end - m->start;
		}
	}
}

static int check_layout(struct rst_ctx *c, const struct special_block *b)
{
	const VmaEntry *vdso = c->vdso, *vvar = c->vvar;

	if (!vdso)
		return 0;
	if (!b->vdso) {
		rst_err(c, "the task had a vDSO, this kernel gives none (vdso=0?)");
		return -EOPNOTSUPP;
	}
	if (vdso->end - vdso->start != b->vdso_end - b->vdso ||
	    (vvar ? vvar->end - vvar->start : 0) != b->vvar_size ||
	    (vvar && (int64_t)(vvar->start - vdso->start) != (int64_t)(b->vvar - b->vdso))) {
		rst_err(c,
			"the dumped vDSO (%llu bytes, vvar %llu bytes) is not laid out as this "
			"kernel's (%llu bytes, vvar %llu bytes); restoring on another kernel is "
			"not supported yet",
			(unsigned long long)(vdso->end - vdso->start),
			(unsigned long long)(vvar ? vvar->end - vvar->start : 0),
			(unsigned long long)(b->vdso_end - b->vdso),
			(unsigned long long)b->vvar_size);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The global functions of a vDSO image, from its section headers (the kernel keeps them). */
static int vdso_func(const uint8_t *img, size_t len, size_t index, const char **ret_name,
		     uint64_t *ret_value)
{
	const Elf64_Ehdr *eh = (const void *)img;
	const Elf64_Shdr *sh, *sym = NULL, *str;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(*sh) ||
	    eh->e_shoff > len || eh->e_shnum > (len - eh->e_shoff) / sizeof(*sh))
		return -EBADMSG;
	sh = (const void *)(img + eh->e_shoff);
	for (size_t i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM)
			sym = &sh[i];
	if (!sym || sym->sh_link >= eh->e_shnum || sym->sh_entsize != sizeof(Elf64_Sym) ||
	    sym->sh_offset > len || sym->sh_size > len - sym->sh_offset)
		return -EBADMSG;
	str = &sh[sym->sh_link];
	if (str->sh_offset > len || str->sh_size > len - str->sh_offset || str->sh_size == 0)
		return -EBADMSG;
	for (size_t i = 0, k = 0; i < sym->sh_size / sizeof(Elf64_Sym); i++) {
		const Elf64_Sym *s = (const void *)(img + sym->sh_offset + i * sizeof(Elf64_Sym));

		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
		    ELF64_ST_BIND(s->st_info) != STB_GLOBAL || s->st_name >= str->sh_size)
			continue;
		if (k++ == index) {
			const char *name = (const char *)img + str->sh_offset + s->st_name;

			if (!memchr(name, '\0', str->sh_size - s->st_name))
				return -EBADMSG;
			*ret_name = name;
			*ret_value = s->st_value;
			return 1;
		}
	}
	return 0;
}

int rst_vdso_compatible(const void *dumped, size_t dlen, const void *ours, size_t olen,
			const char **ret_symbol)
{
	const char *name, *oname;
	uint64_t value, ovalue;
	int r;

	*ret_symbol = NULL;
	for (size_t i = 0; (r = vdso_func(dumped, dlen, i, &name, &value)) > 0; i++) {
		bool found = false;

		for (size_t j = 0; !found && vdso_func(ours, olen, j, &oname, &ovalue) > 0; j++)
			found = streq(name, oname) && value == ovalue;
		if (!found) {
			*ret_symbol = name;
			return 0;
		}
	}
	return r < 0 ? r : 1;
}

/*
 * If the dump kept the vDSO's pages, every function they offer must be at
 * the same place in this kernel's: glibc saved their addresses. (The code
 * itself may differ: another build of the same kernel.)
 */
static int check_code(struct rst_ctx *c, const struct special_block *b)
{
	const struct img_page_extent *ext;
	size_t n = img_pagemap_extents(c->img.pm, &ext), len = b->vdso_end - b->vdso;
	const void *ours = (const void *)getauxval(AT_SYSINFO_EHDR);
	_cleanup_free_ uint8_t *dumped = NULL;
	const char *sym;
	bool covered = false;
	int r;

	if (!c->vdso || !ours)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ext[i].vaddr <= c->vdso->start &&
		    ext[i].vaddr + ext[i].nr_pages * IMG_PAGE_SIZE >= c->vdso->end)
			covered = true;
	if (!covered)
		return 0;
	dumped = malloc(len);
	if (!dumped)
		return -ENOMEM;
	r = img_pagemap_read(c->img.pm, c->vdso->start, dumped, len, 0);
	if (r < 0)
		return r;
	r = rst_vdso_compatible(dumped, len, ours, len, &sym);
	if (r < 0) {
		rst_err(c, "the dumped vDSO pages at %llx are not an ELF image with symbols",
			(unsigned long long)c->vdso->start);
		return r;
	}
	if (r == 0) {
		rst_err(c,
			"the dumped vDSO has %s, which this kernel's vDSO lacks or has elsewhere; "
			"restoring on another kernel is not supported yet",
			sym);
		return -EOPNOTSUPP;
	}
	return 0;
}

int rst_vdso_check(struct rst_ctx *c)
{
	_cleanup_free_ struct rst_mapping *maps = NULL;
	struct special_block b;
	size_t n;
	int r;

	/* The new task is a copy of this process: its special mappings are these. */
	r = rst_maps_read(getpid(), &maps, &n);
	if (r < 0)
		return r;
	find_block(maps, n, &b);
	r = check_layout(c, &b);
	if (r == 0)
		r = check_code(c, &b);
	return r;
}

static int move_piece(struct rst_ctx *c, uint64_t from, uint64_t len, uint64_t to)
{
	long res;

	if (from == to)
		return 0;
	res = rst_sys(c, __NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (res < 0) {
		rst_err(c, "cannot move the special mapping at %llx (%llu bytes) to %llx: %s",
			(unsigned long long)from, (unsigned long long)len, (unsigned long long)to,
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

/* Move every piece of the block, now based at cur, to be based at dst (distances kept). */
static int move_block(struct rst_ctx *c, const struct rst_mapping *maps, size_t n,
		      const struct special_block *b, uint64_t cur, uint64_t dst)
{
	for (size_t i = 0; i < n; i++) {
		const struct rst_mapping *m = &maps[i];
		uint64_t off = m->start - b->start;
		int r;

		if (m->special != RST_SPECIAL_VDSO && m->special != RST_SPECIAL_VVAR)
			continue;
		r = move_piece(c, cur + off, m->end - m->start, dst + off);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A place for the block free now (only the block and scratch remain) and in the dumped layout. */
static int find_temp(struct rst_ctx *c, const struct special_block *b, uint64_t *ret_addr)
{
	const MmEntry *mm = c->img.mm;
	_cleanup_free_ struct rst_range *busy = calloc(mm->n_vmas + 2, sizeof(*busy));
	size_t nb = 0;

	if (!busy)
		return -ENOMEM;
	busy[nb++] = (struct rst_range){b->start, b->end};
	busy[nb++] = c->scratch_area;
	for (size_t i = 0; i < mm->n_vmas; i++)
		busy[nb++] = (struct rst_range){mm->vmas[i]->start, mm->vmas[i]->end};
	return rst_find_gap(busy, nb, b->end - b->start, 1UL << 20, 0x7ffffffff000UL, ret_addr);
}

static int unmap_block(struct rst_ctx *c, const struct special_block *b)
{
	long res = rst_sys(c, __NR_munmap, b->start, b->end - b->start);

	if (res < 0) {
		rst_err(c, "cannot unmap the vDSO the task did not have: %s", strerror((int)-res));
		return (int)res;
	}
	return 0;
}

int rst_vdso_move(struct rst_ctx *c, const struct rst_mapping *maps, size_t n)
{
	struct special_block b;
	uint64_t target, temp;
	int r;

	find_block(maps, n, &b);
	if (b.start == 0)
		return 0;
	if (!c->vdso)
		return unmap_block(c, &b);
	target = c->vdso->start - (b.vdso - b.start);
	if (target == b.start)
		return 0;
	rst_debug(c, "moving the vDSO block %llx-%llx to %llx", (unsigned long long)b.start,
		  (unsigned long long)b.end, (unsigned long long)target);
	/* mremap() refuses overlapping ranges: go through a free place first. */
	if (target < b.end && b.start < target + (b.end - b.start)) {
		r = find_temp(c, &b, &temp);
		if (r < 0) {
			rst_err(c, "no free place to move the vDSO through");
			return r;
		}
		r = move_block(c, maps, n, &b, b.start, temp);
		if (r < 0)
			return r;
		return move_block(c, maps, n, &b, temp, target);
	}
	return move_block(c, maps, n, &b, b.start, target);
}
