/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMAs of the task, created with remote mmap() at their old addresses.
 * A VMA that gets pages from the images is mapped writable first, filled
 * (pages.c), then given its own protection; the others get it at once, so
 * that their kernel flags are those of the original (a mapping that was
 * never writable is not charged as one, and does not merge differently with
 * its neighbours).
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

/* Locked as its pages fault in (a stasis extension field): locked once filled, not mapped so. */
static bool lock_onfault(const VmaEntry *e)
{
	return e->has_lock_onfault && e->lock_onfault;
}

static const struct {
	uint32_t bit;
	const char *what;
} unsupported[] = {
	{VMA_AREA_SYSVIPC, "SysV shared memory"},
	{VMA_AREA_SOCKET, "a packet socket ring"},
	{VMA_AREA_AIORING, "an AIO ring"},
	{VMA_AREA_SHSTK, "a shadow stack"},
	{VMA_AREA_UPROBES, "uprobes"},
	{VMA_UNSUPP, "a mapping CRIU could not dump"},
};

static int check_kind(struct rst_ctx *c, const VmaEntry *e)
{
	for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
		if (e->status & unsupported[i].bit) {
			rst_err(c, "VMA %llx-%llx is %s; not supported yet",
				(unsigned long long)e->start, (unsigned long long)e->end,
				unsupported[i].what);
			return -EOPNOTSUPP;
		}
	if (!(e->status & VMA_AREA_REGULAR) || !(e->status & (VMA_ANON_PRIVATE | VMA_FILE_PRIVATE |
							      VMA_FILE_SHARED | VMA_ANON_SHARED))) {
		rst_err(c, "VMA %llx-%llx has status %#x, which restore does not know",
			(unsigned long long)e->start, (unsigned long long)e->end, e->status);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int check_bounds(struct rst_ctx *c, const VmaEntry *e, uint64_t prev_end)
{
	if (e->start >= e->end || e->start % RST_PAGE_SIZE || e->end % RST_PAGE_SIZE ||
	    e->start < prev_end) {
		rst_err(c,
			"mm-%d.img: VMA %llx-%llx is empty, not page aligned, or overlaps the "
			"previous one",
			c->pid, (unsigned long long)e->start, (unsigned long long)e->end);
		return -EBADMSG;
	}
	return 0;
}

/* Mark the VMAs that the pagemap gives contents to (both lists are sorted). */
static void mark_pages(struct rst_ctx *c)
{
	const struct img_page_extent *ext;
	size_t n = img_pagemap_extents(c->img.pm, &ext), v = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t s = ext[i].vaddr, e = s + ext[i].nr_pages * IMG_PAGE_SIZE;

		while (v < c->nvmas && c->vmas[v].e->end <= s)
			v++;
		for (size_t j = v; j < c->nvmas && c->vmas[j].e->start < e; j++)
			c->vmas[j].has_pages = true;
	}
	/* Shared anonymous memory gets its pages from its own pagemap (pages.c). */
	for (size_t j = 0; j < c->nvmas; j++)
		if (c->vmas[j].e->status & VMA_ANON_SHARED)
			c->vmas[j].has_pages = true;
}

int rst_vmas_plan(struct rst_ctx *c)
{
	const MmEntry *mm = c->img.mm;
	uint64_t prev_end = 0;
	int r;

	c->vmas = calloc(mm->n_vmas, sizeof(*c->vmas));
	if (!c->vmas && mm->n_vmas)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];

		r = check_bounds(c, e, prev_end);
		if (r < 0)
			return r;
		prev_end = e->end;
		/* Kernel-made mappings: the vsyscall page is everywhere, vDSO and vvar are moved.
		 */
		if (e->status & VMA_AREA_VSYSCALL)
			continue;
		if (e->status & VMA_AREA_VDSO) {
			c->vdso = e;
			continue;
		}
		if (e->status & VMA_AREA_VVAR) {
			c->vvar = e;
			continue;
		}
		r = check_kind(c, e);
		if (r < 0)
			return r;
		c->vmas[c->nvmas++] = (struct rst_vma){.e = e};
	}
	mark_pages(c);
	return 0;
}

/* The task (or an earlier one of the tree) that made shared anonymous object shmid. */
static const struct rst_shmem *shmem_made(const struct rst_ctx *c, uint64_t shmid)
{
	for (size_t i = 0; i < c->shared->nshmems; i++)
		if (c->shared->shmems[i].shmid == shmid)
			return &c->shared->shmems[i];
	return NULL;
}

static int shmem_remember(struct rst_ctx *c, const VmaEntry *e)
{
	struct rst_shared *s = c->shared;
	struct rst_shmem *n = reallocarray(s->shmems, s->nshmems + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->shmems = n;
	s->shmems[s->nshmems++] = (struct rst_shmem){e->shmid, c->pid, e->start, e->end};
	return 0;
}

/*
 * A shared anonymous object is made by its first mapping, a plain
 * MAP_SHARED|MAP_ANONYMOUS, and filled once. Every later mapping of it (in
 * this task or another: memory shared over fork) maps that same object:
 * the task opens it through /proc/PID/map_files of the first mapping and
 * maps the file at its offset. The object is then one, as it was.
 */
static int open_shmem(struct rst_ctx *c, const struct rst_shmem *made, const VmaEntry *e,
		      long *ret_fd)
{
	char path[96];
	unsigned long addr;
	long fd;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)made->pid,
		 (unsigned long long)made->start, (unsigned long long)made->end);
	r = rst_scratch_put(c, 0, path, strlen(path) + 1, &addr);
	if (r < 0)
		return r;
	fd = rst_sys(c, __NR_openat, AT_FDCWD, addr, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rst_err(c, "VMA %llx-%llx: cannot open the shared memory of pid %d through %s: %s",
			(unsigned long long)e->start, (unsigned long long)e->end, (int)made->pid,
			path, strerror((int)-fd));
		return (int)fd;
	}
	*ret_fd = fd;
	return 0;
}

static int map_shmem_again(struct rst_ctx *c, struct rst_vma *v, const struct rst_shmem *made)
{
	const VmaEntry *e = v->e;
	unsigned long flags = (e->flags & ~(unsigned long)MAP_ANONYMOUS) | MAP_FIXED_NOREPLACE;
	long fd = -1, res;
	int r;

	v->has_pages = false; /* filled through its first mapping */
	r = open_shmem(c, made, e, &fd);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_mmap, e->start, e->end - e->start, e->prot, flags, (unsigned long)fd,
		      e->pgoff);
	(void)rst_sys(c, __NR_close, (unsigned long)fd);
	if (res < 0 || (uint64_t)res != e->start) {
		rst_err(c, "VMA %llx-%llx: mmap of the shared memory failed: %s",
			(unsigned long long)e->start, (unsigned long long)e->end,
			res < 0 ? strerror((int)-res) : "placed elsewhere");
		return res < 0 ? (int)res : -EIO;
	}
	return 0;
}

static int map_one(struct rst_ctx *c, struct rst_vma *v)
{
	const VmaEntry *e = v->e;
	unsigned long prot = e->prot, flags = e->flags | MAP_FIXED_NOREPLACE, off = 0;
	long fd = -1, res;

	if (e->status & VMA_ANON_SHARED) {
		const struct rst_shmem *made = shmem_made(c, e->shmid);

		if (made)
			return map_shmem_again(c, v, made);
		if (e->pgoff) {
			rst_err(c,
				"VMA %llx-%llx: the first mapping of shared anonymous memory %llu "
				"is at "
				"offset %llx; stasis can only make such an object from its start",
				(unsigned long long)e->start, (unsigned long long)e->end,
				(unsigned long long)e->shmid, (unsigned long long)e->pgoff);
			return -EOPNOTSUPP;
		}
		int r = shmem_remember(c, e);
		if (r < 0)
			return r;
	}

	if (v->has_pages && (prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE)) {
		prot |= PROT_READ | PROT_WRITE;
		v->write_added = true;
	}
	if (lock_onfault(e))
		flags &= ~(unsigned long)MAP_LOCKED; /* MAP_LOCKED would fault it all in */
	if (e->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		fd = rst_files_fd(c, (uint32_t)e->shmid, rst_vma_accmode(e));
		flags &= ~(unsigned long)MAP_ANONYMOUS;
		off = e->pgoff;
	} else {
		flags |= MAP_ANONYMOUS;
	}
	res = rst_sys(c, __NR_mmap, e->start, e->end - e->start, prot, flags, (unsigned long)fd,
		      off);
	if (res < 0) {
		rst_err(c, "VMA %llx-%llx: mmap failed: %s", (unsigned long long)e->start,
			(unsigned long long)e->end, strerror((int)-res));
		return (int)res;
	}
	if ((uint64_t)res != e->start) {
		rst_err(c, "VMA %llx-%llx: mmap put it at %lx", (unsigned long long)e->start,
			(unsigned long long)e->end, res);
		return -EIO;
	}
	return 0;
}

int rst_vmas_map(struct rst_ctx *c)
{
	for (size_t i = 0; i < c->nvmas; i++) {
		int r = map_one(c, &c->vmas[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

/* madv holds one bit per madvise() advice that was in effect (1 << MADV_DONTDUMP ...). */
static int advise(struct rst_ctx *c, const VmaEntry *e)
{
	for (unsigned int adv = 0; adv < 64; adv++) {
		long res;

		if (!e->has_madv || !(e->madv & (1ULL << adv)))
			continue;
		res = rst_sys(c, __NR_madvise, e->start, e->end - e->start, adv);
		if (res < 0) {
			rst_err(c, "VMA %llx-%llx: madvise(%u) failed: %s",
				(unsigned long long)e->start, (unsigned long long)e->end, adv,
				strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

/* mlock2(MLOCK_ONFAULT): the pages just filled are locked, the others when they fault in. */
static int lock_filled(struct rst_ctx *c, const VmaEntry *e)
{
	long res = rst_sys(c, __NR_mlock2, e->start, e->end - e->start, MLOCK_ONFAULT);

	if (res < 0) {
		rst_err(c, "VMA %llx-%llx: mlock2(MLOCK_ONFAULT) failed: %s",
			(unsigned long long)e->start, (unsigned long long)e->end,
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

int rst_vmas_protect(struct rst_ctx *c)
{
	for (size_t i = 0; i < c->nvmas; i++) {
		const VmaEntry *e = c->vmas[i].e;
		int r;

		if (c->vmas[i].write_added) {
			long res = rst_sys(c, __NR_mprotect, e->start, e->end - e->start, e->prot);

			if (res < 0) {
				rst_err(c, "VMA %llx-%llx: mprotect failed: %s",
					(unsigned long long)e->start, (unsigned long long)e->end,
					strerror((int)-res));
				return (int)res;
			}
		}
		r = advise(c, e);
		if (r == 0 && lock_onfault(e))
			r = lock_filled(c, e);
		if (r < 0)
			return r;
	}
	return 0;
}
