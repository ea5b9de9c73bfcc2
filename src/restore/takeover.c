/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking the new task over: seize it, give it a scratch area at an address
 * free both in its current layout and in the one to restore, stop the kernel
 * from writing its rseq area, and unmap everything it has (a copy of stasis)
 * except the scratch area and the kernel's special mappings ([vdso], [vvar],
 * [vsyscall]), which are moved, not recreated (vdso.c).
 */
#include "compat/ptrace.h"
#include "compat/rseq.h"
#include "compat/syscalls.h"
#include "restore/internal.h"

/*
 * Data room of the scratch area: paths, auxv, signal actions, siginfo...
 * rsys puts its code in front of it, in less than a page.
 */
/* Room for the largest seccomp filter: BPF_MAXINSNS (4096) instructions of 8 bytes. */
#define SCRATCH_DATA_SIZE (36 * 1024)
#define SCRATCH_MAP_SIZE (SCRATCH_DATA_SIZE + RST_PAGE_SIZE)

/* Where the scratch area may go: above mmap_min_addr, below the 47-bit user space end. */
#define SCRATCH_LOW (1UL << 20)
#define SCRATCH_HIGH 0x7ffffffff000UL

static int place_scratch(struct rst_ctx *c, const struct rst_mapping *maps, size_t n,
			 uint64_t *ret_addr)
{
	const MmEntry *mm = c->img.mm;
	_cleanup_free_ struct rst_range *busy = calloc(n + mm->n_vmas, sizeof(*busy));
	size_t nb = 0;
	int r;

	if (!busy)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		busy[nb++] = (struct rst_range){maps[i].start, maps[i].end};
	for (size_t i = 0; i < mm->n_vmas; i++)
		busy[nb++] = (struct rst_range){mm->vmas[i]->start, mm->vmas[i]->end};
	r = rst_find_gap(busy, nb, SCRATCH_MAP_SIZE, SCRATCH_LOW, SCRATCH_HIGH, ret_addr);
	if (r < 0)
		rst_err(c,
			"no room for a %lu-byte scratch area outside both the current and the "
			"dumped address space",
			SCRATCH_MAP_SIZE);
	return r;
}

/*
 * glibc registered an rseq area in the copy of stasis; the kernel writes it
 * on every return to user space, so it must be unregistered before the
 * memory under it goes away (the task would get SIGSEGV).
 */
static int unregister_rseq(struct rst_ctx *c)
{
	struct ptrace_rseq_configuration conf;
	long res;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, c->pid, (void *)sizeof(conf), &conf) < 0) {
		/* Before 5.13 there is no way to ask; nor, mostly, an rseq registered by glibc. */
		if (errno == EIO || errno == EINVAL)
			return 0;
		int r = negative_errno();
		rst_err(c, "cannot read its rseq configuration: %s", strerror(-r));
		return r;
	}
	if (conf.rseq_abi_pointer == 0)
		return 0;
	res = rst_sys(c, __NR_rseq, conf.rseq_abi_pointer, conf.rseq_abi_size, RSEQ_FLAG_UNREGISTER,
		      conf.signature);
	if (res < 0) {
		rst_err(c, "cannot unregister the rseq area at %#llx: %s",
			(unsigned long long)conf.rseq_abi_pointer, strerror((int)-res));
		return (int)res;
	}
	return 0;
}

/* munmap every mapping but the special ones; neighbours go in one call. */
static int unmap_old(struct rst_ctx *c, const struct rst_mapping *maps, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint64_t start = maps[i].start, end = maps[i].end;
		long res;

		if (maps[i].special != RST_SPECIAL_NONE) {
			i++;
			continue;
		}
		while (++i < n && maps[i].special == RST_SPECIAL_NONE && maps[i].start == end)
			end = maps[i].end;
		res = rst_sys(c, __NR_munmap, start, end - start);
		if (res < 0) {
			rst_err(c, "cannot unmap %llx-%llx of the new task: %s",
				(unsigned long long)start, (unsigned long long)end,
				strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}

int rst_takeover(struct rst_ctx *c)
{
	_cleanup_free_ struct rst_mapping *maps = NULL;
	uint64_t addr;
	size_t n;
	int r;

	/* The filters installed near the end must not see the remote syscalls after them. */
	r = rsys_attach(c->pid, RSYS_EXIT_KILL | (rst_seccomp_wanted(c) ? RSYS_SUSPEND_SECCOMP : 0),
			&c->task);
	if (r < 0) {
		rst_err(c, "cannot seize the new task: %s", strerror(-r));
		return r;
	}
	c->cur = c->task;
	r = rst_maps_read(c->pid, &maps, &n);
	if (r < 0)
		return r;
	r = place_scratch(c, maps, n, &addr);
	if (r < 0)
		return r;
	r = rsys_mmap_scratch(c->task, addr, SCRATCH_DATA_SIZE, &c->scratch);
	if (r < 0) {
		rst_err(c, "cannot map the scratch area at %llx: %s", (unsigned long long)addr,
			strerror(-r));
		return r;
	}
	c->scratch_size = SCRATCH_DATA_SIZE;
	c->scratch_area =
		(struct rst_range){addr, ALIGN_UP(c->scratch + SCRATCH_DATA_SIZE, RST_PAGE_SIZE)};
	rst_debug(c, "scratch area at %llx", (unsigned long long)addr);
	r = unregister_rseq(c);
	if (r == 0)
		r = unmap_old(c, maps, n);
	if (r == 0)
		r = rst_vdso_move(c, maps, n);
	return r;
}
