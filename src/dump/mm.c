/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mm-PID.img, pagemap-PID.img and pages-1.img, through src/mem. */
#include <inttypes.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"

/* The pages image of a single-task dump (CRIU numbers them from 1). */

/*
 * The id in files.img of a file the task maps or runs, path being its link:
 * a deleted file goes to a ghost, read through link.
 */
static int mapped_file_id(struct dump_ctx *ctx, const char *path, const char *link, uint64_t dev,
			  uint64_t ino, const char *label, uint32_t *ret_id)
{
	if (dump_ghost_is_deleted(path))
		return dump_ghost_mapped(ctx, path, link, label, ret_id);
	return dump_files_mapped(ctx->files, path, dev, ino, ret_id);
}

int dump_vmas(struct dump_ctx *ctx)
{
	/* Read before the freeze: only maps is read now, to see that nothing changed. */
	const struct mem_vmas *pre = ctx->vmas_early.v ? &ctx->vmas_early : dump_vmas_armed(ctx);
	int r;

	if (ctx->opts->pre_dump && ctx->vmas.v)
		return 0; /* read frozen by a tracker that scans frozen (predump.c) */
	r = pre ? mem_vmas_refresh(ctx->pid, pre, &ctx->vmas, NULL)
		: mem_vmas_collect(ctx->pid, &ctx->vmas);

	/* File ids are for mm-PID.img, which a pre-dump does not write. */
	if (r < 0 || ctx->opts->pre_dump)
		return r;
	/* File VMAs name their file by its id in files.img (CRIU's shmid). */
	for (size_t i = 0; i < ctx->vmas.nr; i++) {
		struct mem_vma *v = &ctx->vmas.v[i];
		char link[96], label[96];
		uint32_t id;

		if (!(v->e.status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, ctx->pid,
			 v->e.start, v->e.end);
		snprintf(label, sizeof(label), "pid %d: VMA %" PRIx64 "-%" PRIx64, ctx->pid,
			 v->e.start, v->e.end);
		/* (by name too: a memfd of huge pages is refused there, not taken for a ghost) */
		if ((v->e.status & VMA_AREA_MEMFD) || dump_memfd_is(v->path))
			r = dump_memfd_mapped(ctx, v, link, label, &id);
		else
			r = mapped_file_id(ctx, v->path, link, v->dev, v->ino, label, &id);
		v->e.shmid = id;
		if (r < 0) {
			pr_err("%s maps %s, which cannot be dumped", label, v->path);
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
	r = mapped_file_id(ctx, exe, link, (uint64_t)st.st_dev, (uint64_t)st.st_ino, "executable",
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
 * the end of its furthest mapping; counted as CRIU does, in shpages_*. A
 * tracked round saves it against the parent where it can: the pages
 * written through every process's mappings are known by now.
 */
int dump_shmem(struct dump_ctx *ctx)
{
	const struct mem_vmas *vmas = &ctx->vmas;

	for (size_t v = 0; v < vmas->nr; v++) {
		const VmaEntry *e = &vmas->v[v].e;
		struct mem_dump_stats sh = {};
		uint64_t size = 0;
		int r;

		if (!(e->status & VMA_ANON_SHARED) ||
		    (!ctx->opts->snapshot && shmem_seen(ctx->sh, e->shmid)))
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
		if (ctx->opts->snapshot) { /* every mapping, each object once */
			r = dump_snapshot_shmem(ctx, e, size);
			if (r < 0)
				return r;
			continue;
		}
		r = mem_dump_shmem_tracked(ctx->sh->shmem_track, ctx->pid, e, size, ctx->dir,
					   dump_pages_id(ctx->sh), &sh);
		dump_count_shpages(&ctx->mem_stats, &sh);
		if (r == -ENOENT && ctx->opts->pre_dump) {
			/* The tree runs: the next round saves it whole (not in this set). */
			pr_info("pid %d: the shared memory at %" PRIx64 " is unmapped: not saved",
				ctx->pid, e->start);
			continue;
		}
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

/* Enough private memory that the pipes' few remote syscalls pay off. */
static bool worth_splicing(const struct dump_ctx *ctx)
{
	uint64_t min = ctx->opts->splice_min_kib ?: DUMP_SPLICE_MIN_KIB_DEFAULT, kib = 0;

	for (size_t i = 0; i < ctx->vmas.nr && kib < min; i++)
		if (mem_vma_has_private_pages(&ctx->vmas.v[i].e))
			kib += ctx->vmas.v[i].rss_swap_kib;
	return kib >= min;
}

static int dump_pages_through_pipes(struct dump_ctx *ctx, struct dump_splice *s,
				    struct mem_dump_opts *opts)
{
	int r, k;

	pr_info("pid %d: its pages vmspliced by itself into pipes of %zu KiB", ctx->pid,
		s->sp.pipe[0].size / 1024);
	opts->splicer = &s->sp;
	r = mem_dump_pages(ctx->pid, &ctx->vmas, ctx->dir, (uint64_t)ctx->pid,
			   dump_pages_id(ctx->sh), opts, &ctx->mem_stats);
	k = dump_splice_close(s);
	return r < 0 ? r : k;
}

/* The private pages: vmspliced by the task when it is worth it and it can, else read. */
static int dump_private_pages(struct dump_ctx *ctx, struct mem_dump_opts *opts)
{
	struct dump_splice s;
	int r;

	if (worth_splicing(ctx)) {
		r = dump_splice_open(ctx, &s);
		if (r == 0)
			return dump_pages_through_pipes(ctx, &s, opts);
		pr_info("pid %d: no pipes in the task (%s): pages read with process_vm_readv",
			ctx->pid, strerror(-r));
	}
	return mem_dump_pages(ctx->pid, &ctx->vmas, ctx->dir, (uint64_t)ctx->pid,
			      dump_pages_id(ctx->sh), opts, &ctx->mem_stats);
}

int dump_pages(struct dump_ctx *ctx)
{
	_cleanup_free_ uint64_t *sp = calloc(ctx->nthreads, sizeof(*sp));
	struct mem_dump_opts opts = {.thread_sp = sp, .nr_thread_sp = ctx->nthreads};
	int r;

	if (!sp)
		return -ENOMEM;
	/* The pages at every thread's stack pointer are dumped even when they look unused. */
	for (size_t i = 0; i < ctx->nthreads; i++)
		sp[i] = rsys_task_regs(ctx->threads[i].task)->gpr.rsp;

	if (ctx->track) /* --track-mem: what changed since the parent image set */
		r = dump_track_pages(ctx);
	else
		r = dump_private_pages(ctx, &opts);
	return r < 0 ? r : dump_memfd_pages(ctx);
}

uint32_t dump_pages_id(struct dump_shared *sh)
{
	return ++sh->next_pages_id;
}
