/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mm-PID.img, pagemap-PID.img and pages-1.img, through src/mem. */
#include <inttypes.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"

/* The pages image of a single-task dump (CRIU numbers them from 1). */

int dump_vmas(struct dump_ctx *ctx)
{
	/* Read before the freeze: only maps is read now, to see that nothing changed. */
	const struct mem_vmas *pre = ctx->vmas_early.v ? &ctx->vmas_early : dump_vmas_armed(ctx);
	int r = pre ? mem_vmas_refresh(ctx->pid, pre, &ctx->vmas, NULL)
		    : mem_vmas_collect(ctx->pid, &ctx->vmas);

	if (r < 0)
		return r;
	/* File VMAs name their file by its id in files.img (CRIU's shmid). */
	for (size_t i = 0; i < ctx->vmas.nr; i++) {
		struct mem_vma *v = &ctx->vmas.v[i];

		if (!(v->e.status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			continue;
		uint32_t id;

		r = dump_files_mapped(ctx->files, v->path, v->dev, v->ino, &id);
		v->e.shmid = id;
		if (r < 0) {
			pr_err("pid %d: VMA %" PRIx64 "-%" PRIx64
			       " maps %s, which cannot be dumped",
			       ctx->pid, v->e.start, v->e.end, v->path);
			return r;
		}
	}
	return 0;
}

int dump_mm(struct dump_ctx *ctx)
{
	struct mem_mm_facts facts = {};
	_cleanup_free_ char *exe = NULL;
	MmEntry mm;
	struct stat st;
	char link[64];
	long brk, dumpable;
	int r;

	r = remote_call(&dump_leader(ctx)->rm, "brk(0)", SYS_brk, 0, 0, 0, 0, &brk);
	if (r >= 0)
		r = remote_call(&dump_leader(ctx)->rm, "prctl(PR_GET_DUMPABLE)", SYS_prctl,
				PR_GET_DUMPABLE, 0, 0, 0, &dumpable);
	if (r >= 0)
		r = proc_readlink(ctx->pid, "exe", &exe);
	if (r < 0)
		return r;
	snprintf(link, sizeof(link), "/proc/%d/exe", ctx->pid);
	if (stat(link, &st) < 0)
		return negative_errno();
	r = dump_files_mapped(ctx->files, exe, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
			      &facts.exe_file_id);
	if (r < 0)
		return r;
	facts.brk = (uint64_t)brk;
	facts.dumpable = (int)dumpable;
	r = mem_mm_fill(ctx->pid, &ctx->vmas, &facts, &mm);
	if (r < 0)
		return r;
	r = img_write_one(ctx->dir, IMG_MM, (uint64_t)ctx->pid, &mm.base);
	mem_mm_release(&mm);
	return r;
}

/* Is this shared anonymous object dumped already, by this process or an earlier one? */
static bool shmem_seen(const struct dump_shared *sh, uint64_t shmid)
{
	for (size_t i = 0; i < sh->nshmems_done; i++)
		if (sh->shmems_done[i] == shmid)
			return true;
	return false;
}

static int shmem_mark(struct dump_shared *sh, uint64_t shmid)
{
	uint64_t *n = reallocarray(sh->shmems_done, sh->nshmems_done + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	sh->shmems_done = n;
	sh->shmems_done[sh->nshmems_done++] = shmid;
	return 0;
}

/*
 * Each shared anonymous object once, into pagemap-shmem-SHMID.img and a
 * pages file of its own (ids after the task's, as CRIU numbers them), up to
 * the end of its furthest mapping.
 */
static int dump_shmem(struct dump_ctx *ctx)
{
	const struct mem_vmas *vmas = &ctx->vmas;

	for (size_t v = 0; v < vmas->nr; v++) {
		const VmaEntry *e = &vmas->v[v].e;
		uint64_t size = 0;
		int r;

		if (!(e->status & VMA_ANON_SHARED) || shmem_seen(ctx->sh, e->shmid))
			continue;
		if (e->status & VMA_AREA_SYSVIPC) {
			/* Its key, ids and permissions live in the IPC namespace (CRIU's
			 * ipcns-shm). */
			pr_err("pid %d: SysV shared memory at %" PRIx64
			       " (%s): stasis cannot dump it yet",
			       ctx->pid, e->start, vmas->v[v].path);
			return -ENOTSUP;
		}
		for (size_t i = v; i < vmas->nr; i++) {
			const VmaEntry *o = &vmas->v[i].e;

			if ((o->status & VMA_ANON_SHARED) && o->shmid == e->shmid)
				size = MAX(size, o->pgoff + o->end - o->start);
		}
		r = mem_dump_shmem(ctx->pid, e, size, ctx->dir, dump_pages_id(ctx->sh),
				   &ctx->mem_stats);
		if (r == 0)
			r = shmem_mark(ctx->sh, e->shmid);
		if (r < 0) {
			pr_err("pid %d: cannot dump the shared memory at %" PRIx64 ": %s", ctx->pid,
			       e->start, strerror(-r));
			return r;
		}
	}
	return 0;
}

int dump_pages(struct dump_ctx *ctx)
{
	_cleanup_free_ uint64_t *sp = calloc(ctx->nthreads, sizeof(*sp));
	const struct mem_dump_opts opts = {.thread_sp = sp, .nr_thread_sp = ctx->nthreads};
	int r;

	if (!sp)
		return -ENOMEM;
	/* The pages at every thread's stack pointer are dumped even when they look unused. */
	for (size_t i = 0; i < ctx->nthreads; i++)
		sp[i] = rsys_task_regs(ctx->threads[i].task)->gpr.rsp;

	if (ctx->track) /* --track-mem: what changed since the parent image set */
		r = dump_track_pages(ctx);
	else
		r = mem_dump_pages(ctx->pid, &ctx->vmas, ctx->dir, (uint64_t)ctx->pid,
				   dump_pages_id(ctx->sh), &opts, &ctx->mem_stats);
	return r < 0 ? r : dump_shmem(ctx);
}

uint32_t dump_pages_id(struct dump_shared *sh)
{
	return ++sh->next_pages_id;
}
