/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pre-dumps and incremental dumps (docs/predump.md): the hooks the dump
 * runs when it saves memory against a previous image set.
 *
 * - dump_track_begin: the "parent" link to --prev-images-dir, and the
 *   tracking of the previous round (from the caller in --iterative, else
 *   from the holder of the previous directory).
 * - dump_track_proc (step "track", frozen): finds each process's tracker
 *   (src/mem/tracker.c), or starts one for a pre-dump: a userfaultfd made in
 *   the task, else soft-dirty bits.
 * - dump_track_scan (step "track-scan", frozen): a back end that scans
 *   frozen (soft-dirty) finds the pages and re-arms, before the tree goes.
 * - dump_track_pages: which pages changed (frozen; a pre-dump's userfaultfd
 *   scan runs once the tree is let go), copied at once by a dump, after the
 *   tree is let go by a pre-dump (dump_predump_copy).
 * - dump_track_end: a pre-dump hands the tracking to a holder; a dump
 *   closes the userfaultfds, which removes the tracking from the tasks.
 *
 * A snapshot (dump -R --snapshot) goes the same way with a synchronous
 * userfaultfd made in each task: its pages are protected frozen
 * (dump_track_pages) and copied by dump_predump_copy while the tree runs
 * (src/mem/snapshot.c).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "image/image.h"
#include "kerndat/kerndat.h"

/* What a process's pages are saved against. */
struct dump_proc_track {
	struct dump_track_entry *entry; /* its tracker, NULL if untracked */
	bool has_parent;                /* tracked since the parent's scan */
	bool collected;                 /* extents found already, frozen (dump_track_scan) */
	struct mem_extents extents;     /* a pre-dump's pages, copied after the freeze */
	struct mem_snapshot *snap;      /* a snapshot's pages, copied after the freeze */
	uint32_t pages_id;
};

static bool tracking_on(const struct dump_opts *o)
{
	return o->pre_dump || o->track_mem || o->snapshot;
}

/* The "parent" symlink, as criu makes it: --prev-images-dir as given, relative to DIR. */
static int link_parent(struct img_dir *dir, const char *prev)
{
	int dirfd = img_dir_fd(dir);

	if (unlinkat(dirfd, "parent", 0) < 0 && errno != ENOENT)
		return negative_errno();
	if (symlinkat(prev, dirfd, "parent") < 0) {
		int r = negative_errno();

		pr_perror("%s: cannot link \"parent\" to %s", img_dir_path(dir), prev);
		return r;
	}
	return 0;
}

/* The tracking of the previous round, from its holder; none: every page is saved. */
static int take_from_holder(struct img_dir *dir, const char *prev, struct dump_tracking **ret)
{
	_cleanup_close_ int pfd = openat(img_dir_fd(dir), prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (pfd < 0) {
		r = negative_errno();
		pr_err("cannot open the previous images directory %s: %s", prev, strerror(-r));
		return r;
	}
	r = dump_holder_take(pfd, prev, ret);
	if (r == -ENOENT) {
		pr_warn("no memory tracking is held for %s (no pre-dump there, or it was "
			"cancelled, or the processes were gone): every page is saved again",
			prev);
		return dump_tracking_new(ret);
	}
	return r;
}

int dump_tracking_take(const char *images_dir, const char *prev, struct dump_tracking **ret)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	int r = img_dir_open(images_dir, &dir);

	if (r < 0) {
		pr_err("cannot open the images directory %s: %s", images_dir, strerror(-r));
		return r;
	}
	return take_from_holder(dir, prev, ret);
}

int dump_track_begin(struct dump_shared *sh, const struct dump_opts *o, struct img_dir *dir)
{
	int r;

	if (!tracking_on(o))
		return 0;
	if (o->snapshot && (o->pre_dump || o->track_mem || !o->leave_running)) {
		pr_err("a snapshot is a dump of a tree left running (-R), alone: no pre-dump, no "
		       "--track-mem");
		return -EINVAL;
	}
	if (o->prev_images_dir && (r = link_parent(dir, o->prev_images_dir)) < 0)
		return r;
	if (o->tracking) {
		sh->tracking = o->tracking;
		return 0;
	}
	if (o->prev_images_dir)
		r = take_from_holder(dir, o->prev_images_dir, &sh->tracking_owned);
	else
		r = dump_tracking_new(&sh->tracking_owned);
	sh->tracking = sh->tracking_owned;
	return r;
}

int dump_vmas_early(struct dump_ctx *ctx)
{
	/* A pre-dump reads them once the tree runs again, a plain dump frozen, a snapshot
	 * when it arms (dump_vmas_armed). */
	if (!ctx->opts->track_mem)
		return 0;
	return mem_vmas_collect(ctx->pid, &ctx->vmas_early);
}

const struct mem_vmas *dump_vmas_armed(struct dump_ctx *ctx)
{
	struct dump_track_entry *e;

	if (!ctx->opts->snapshot || !ctx->sh->tracking)
		return NULL;
	e = dump_tracking_find(ctx->sh->tracking, ctx->pid, ctx->stat.starttime);
	return e && e->snap ? mem_snapshot_vmas(e->snap) : NULL;
}

int dump_snapshot_arm(struct dump_shared *sh)
{
	for (size_t i = 0; i < sh->tracking->n; i++) {
		struct dump_track_entry *e = sh->tracking->v[i];
		int r = mem_snapshot_arm(e->pid, e->tracker.uffd, &e->snap);

		if (r < 0) {
			pr_err("pid %d: cannot arm its snapshot: %s", e->pid, strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * A userfaultfd made in the task (remote syscall), taken out, and closed
 * there again; none (*ret_uffd untouched) if the kernel refuses one or its
 * WP_ASYNC mode to a pre-dump (warned).
 */
static int arm_uffd(struct dump_ctx *ctx, int *ret_uffd)
{
	_cleanup_close_ int pidfd = -1, uffd = -1;
	long rfd;
	int r;

	r = remote_call(&dump_leader(ctx)->rm, "userfaultfd(O_CLOEXEC|O_NONBLOCK)", SYS_userfaultfd,
			O_CLOEXEC | O_NONBLOCK, 0, 0, 0, &rfd);
	if (r < 0 && ctx->opts->snapshot) {
		pr_err("pid %d: no userfaultfd (%s%s): a snapshot needs one; dump without "
		       "--snapshot",
		       ctx->pid, strerror(-r),
		       r == -EPERM ? "; see sysctl vm.unprivileged_userfaultfd" : "");
		return r;
	}
	if (r < 0) {
		pr_warn("pid %d: no userfaultfd (%s%s)", ctx->pid, strerror(-r),
			r == -EPERM ? "; see sysctl vm.unprivileged_userfaultfd" : "");
		return 0;
	}
	pidfd = sys_pidfd_open(ctx->pid, 0);
	if (pidfd >= 0)
		uffd = sys_pidfd_getfd(pidfd, (int)rfd, 0);
	if (uffd < 0)
		r = negative_errno();
	/* Whatever happened, the task keeps no fd of ours. */
	if (remote_call(&dump_leader(ctx)->rm, "close(userfaultfd)", SYS_close, (unsigned long)rfd,
			0, 0, 0, NULL) < 0 &&
	    r >= 0)
		r = -EIO;
	if (r < 0) {
		pr_err("pid %d: cannot take its userfaultfd %ld out: %s", ctx->pid, rfd,
		       strerror(-r));
		return r;
	}
	if (ctx->opts->snapshot)
		r = mem_snapshot_api(ctx->pid, uffd);
	else if (mem_track_api(ctx->pid, uffd) < 0)
		return 0; /* warned; another back end, or none */
	if (r < 0)
		return r;
	*ret_uffd = TAKE_FD(uffd);
	return 0;
}

/* A task with a userfaultfd of its own: its memory cannot be tracked with ours. */
static int refuse_own_uffd(struct dump_ctx *ctx)
{
	struct proc_fd_table fds = {};
	int r = proc_read_fds(ctx->pid, &fds);

	for (size_t i = 0; r >= 0 && i < fds.n; i++)
		if (streq(fds.fds[i].target, "anon_inode:[userfaultfd]")) {
			pr_err("pid %d fd %d is a userfaultfd: stasis tracks memory with "
			       "userfaultfd and cannot share it with the program; close it in "
			       "the program, or dump without pre-dump",
			       ctx->pid, fds.fds[i].fd);
			r = -EBUSY;
		}
	proc_fd_table_free(&fds);
	return r;
}

/* Whether the kernel has soft-dirty bits: probed once per tracking set. */
static bool soft_dirty_ok(struct dump_tracking *trk)
{
	if (!trk->soft_dirty)
		trk->soft_dirty = kerndat_probe(KD_SOFT_DIRTY) == 1 ? 1 : -1;
	return trk->soft_dirty > 0;
}

static const char *why_untracked(enum dump_track_with with)
{
	switch (with) {
	case DUMP_TRACK_NONE:
		return "tracking disabled by STASIS_TRACK_WITH=none";
	case DUMP_TRACK_SOFT_DIRTY:
		return "soft-dirty forced by STASIS_TRACK_WITH, and the kernel has no soft-dirty "
		       "bits (CONFIG_MEM_SOFT_DIRTY)";
	default:
		return "no userfaultfd WP_ASYNC (Linux 6.7+) and no soft-dirty bits "
		       "(CONFIG_MEM_SOFT_DIRTY): see stasis check";
	}
}

/*
 * How a process new to the tracking is watched from now on: userfaultfd
 * WP_ASYNC, else soft-dirty bits, else not at all (warned: saved whole every
 * round). 1 with *ret set, 0 if untracked.
 */
static int start_tracker(struct dump_ctx *ctx, struct mem_tracker *ret)
{
	enum dump_track_with with = ctx->opts->snapshot ? DUMP_TRACK_AUTO : ctx->opts->track_with;
	struct mem_tracker t = {.kind = MEM_TRACK_UFFD_WP, .uffd = -1};
	int r;

	if (with == DUMP_TRACK_AUTO) {
		r = refuse_own_uffd(ctx);
		if (r >= 0)
			r = arm_uffd(ctx, &t.uffd);
		if (r < 0)
			return r;
	}
	if (with == DUMP_TRACK_SOFT_DIRTY_UNCHECKED)
		pr_warn("pid %d: soft-dirty bits used unchecked (STASIS_TRACK_WITH, a test hook): "
			"pages written between rounds are missed if the kernel has none",
			ctx->pid);
	if (t.uffd < 0) {
		if (with != DUMP_TRACK_SOFT_DIRTY_UNCHECKED &&
		    (with == DUMP_TRACK_NONE || !soft_dirty_ok(ctx->sh->tracking))) {
			pr_warn("pid %d: %s: its memory is saved whole in every round", ctx->pid,
				why_untracked(with));
			return 0;
		}
		t.kind = MEM_TRACK_SOFT_DIRTY;
	}
	pr_info("pid %d: its writes are tracked with %s", ctx->pid, mem_tracker_name(t.kind));
	*ret = t;
	return 1;
}

/*
 * The private pages to save, and the shared ones written through this
 * process's mappings (userfaultfd only: shared objects mapped by a process
 * tracked otherwise are saved whole).
 */
static int collect(struct dump_ctx *ctx)
{
	struct dump_proc_track *pt = ctx->track;
	const struct mem_tracker *t = pt->entry ? &pt->entry->tracker : NULL;
	int uffd = t && t->kind == MEM_TRACK_UFFD_WP ? t->uffd : -1;
	int r;

	r = mem_tracker_collect(ctx->pid, t, pt->has_parent, &ctx->vmas, &pt->extents,
				&ctx->mem_stats);
	if (r >= 0 && !ctx->sh->shmem_track)
		r = mem_shmem_track_new(ctx->dir, ctx->opts->prev_images_dir != NULL,
					&ctx->sh->shmem_track);
	if (r >= 0)
		r = mem_shmem_track_collect(ctx->sh->shmem_track, ctx->pid, ctx->stat.starttime,
					    uffd, pt->has_parent, &ctx->vmas);
	return r;
}

/*
 * A pre-dump's process whose tracker scans frozen (soft-dirty): its VMAs
 * and pages are found now (stasis's scratch page unmapped already), then
 * the tracking is re-armed, all before the tree is let go; the pages are
 * copied once it runs, as for any pre-dump.
 */
int dump_track_scan(struct dump_ctx *ctx)
{
	struct dump_proc_track *pt = ctx->track;
	int r;

	if (!ctx->opts->pre_dump || !pt || !pt->entry ||
	    !mem_tracker_scans_frozen(&pt->entry->tracker))
		return 0;
	r = mem_vmas_collect(ctx->pid, &ctx->vmas);
	if (r >= 0)
		r = collect(ctx);
	if (r >= 0)
		r = mem_tracker_rearm(ctx->pid, &pt->entry->tracker);
	pt->collected = r >= 0;
	return r;
}

int dump_track_proc(struct dump_ctx *ctx)
{
	struct dump_tracking *trk = ctx->sh->tracking;
	struct dump_proc_track *pt;
	struct mem_tracker t;
	int r;

	if (!tracking_on(ctx->opts))
		return 0;
	pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	ctx->track = pt;
	pt->entry = dump_tracking_find(trk, ctx->pid, ctx->stat.starttime);
	if (pt->entry) {
		pt->has_parent = ctx->opts->prev_images_dir != NULL;
	} else if (ctx->opts->pre_dump || ctx->opts->snapshot) {
		/* New since the last round (or the first round): only a pre-dump arms it. */
		r = start_tracker(ctx, &t);
		if (r > 0)
			r = dump_tracking_add(trk, ctx->pid, ctx->stat.starttime, &t, &pt->entry);
		if (r < 0)
			return r;
	}
	return 0;
}

void dump_track_free_proc(struct dump_ctx *ctx)
{
	if (!ctx->track)
		return;
	mem_extents_release(&ctx->track->extents);
	mem_snapshot_free(ctx->track->snap);
	free(ctx->track);
	ctx->track = NULL;
}

int dump_track_pages(struct dump_ctx *ctx)
{
	struct dump_proc_track *pt = ctx->track;
	int r;

	if (ctx->opts->snapshot && pt->entry->snap) {
		pt->snap = TAKE_PTR(pt->entry->snap);
		return mem_snapshot_freeze(pt->snap, &ctx->vmas, ctx->dir, (uint64_t)ctx->pid,
					   dump_pages_id(ctx->sh), &ctx->mem_stats);
	}
	if (ctx->opts->snapshot)
		return mem_snapshot_begin(ctx->pid, pt->entry->tracker.uffd, &ctx->vmas, ctx->dir,
					  (uint64_t)ctx->pid, dump_pages_id(ctx->sh),
					  &ctx->mem_stats, &pt->snap);
	r = pt->collected ? 0 : collect(ctx);
	if (r < 0)
		return r;
	pr_info("pid %d: %zu extents of pages to save (%" PRIu64 " written, %" PRIu64
		" in the parent)",
		ctx->pid, pt->extents.n, ctx->mem_stats.pages_written, ctx->mem_stats.pages_parent);
	pt->pages_id = dump_pages_id(ctx->sh);
	if (ctx->opts->pre_dump)
		return 0; /* copied once the tree runs again */
	return mem_dump_extents(ctx->pid, &pt->extents, ctx->dir, (uint64_t)ctx->pid, pt->pages_id,
				false);
}

static int snapshot_copy(struct dump_ctx *procs, size_t n)
{
	_cleanup_free_ struct mem_snapshot **v = calloc(n, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (procs[i].track && procs[i].track->snap)
			v[k++] = procs[i].track->snap;
	return mem_snapshot_finish(v, k, procs[0].sh->snap_shobjs, procs[0].sh->nsnap_shobjs,
				   procs[0].opts->snapshot_pause_ms);
}

int dump_snapshot_shmem(struct dump_ctx *ctx, const VmaEntry *e, uint64_t size)
{
	struct dump_shared *sh = ctx->sh;
	struct mem_snapshot *obj = NULL, **v;
	struct mem_dump_stats st = {};
	int r;

	for (size_t i = 0; i < sh->nsnap_shobjs && !obj; i++)
		if (mem_snapshot_shmid(sh->snap_shobjs[i]) == e->shmid)
			obj = sh->snap_shobjs[i];
	if (!obj) {
		v = reallocarray(sh->snap_shobjs, sh->nsnap_shobjs + 1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		sh->snap_shobjs = v;
		r = mem_snapshot_shmem_open(ctx->pid, e, size, ctx->dir, dump_pages_id(sh), &st,
					    &obj);
		if (r < 0)
			return r;
		v[sh->nsnap_shobjs++] = obj;
		dump_count_shpages(&ctx->mem_stats, &st);
	}
	return mem_snapshot_shmem_map(obj, ctx->track->snap, e);
}

int dump_predump_copy(struct dump_ctx *procs, size_t n)
{
	if (n && procs[0].opts->snapshot)
		return snapshot_copy(procs, n);
	for (size_t i = 0; i < n; i++) {
		struct dump_proc_track *pt = procs[i].track;
		int r;

		if (!pt) /* a zombie */
			continue;
		r = mem_dump_extents(procs[i].pid, &pt->extents, procs[i].dir,
				     (uint64_t)procs[i].pid, pt->pages_id, true);
		if (r < 0) {
			pr_err("pre-dump: cannot save the memory of pid %d: %s", procs[i].pid,
			       strerror(-r));
			return r;
		}
	}
	return 0;
}

int dump_track_end(struct dump_shared *sh, const struct dump_opts *o, struct img_dir *dir, bool ok)
{
	int r = 0;

	/* A pre-dump's command hands the tracking over to a holder; else it goes with us. */
	if (ok && o->pre_dump && sh->shmem_track)
		r = mem_shmem_track_save(sh->shmem_track, dir);
	if (ok && r >= 0 && o->pre_dump && sh->tracking_owned)
		r = dump_holder_spawn(img_dir_fd(dir), img_dir_path(dir), sh->tracking_owned);
	if (ok && r >= 0 && o->auto_dedup && o->prev_images_dir)
		r = dump_dedup(dir);
	dump_tracking_free(TAKE_PTR(sh->tracking_owned));
	sh->tracking = NULL;
	mem_shmem_track_free(TAKE_PTR(sh->shmem_track));
	for (size_t i = 0; i < sh->nsnap_shobjs; i++)
		mem_snapshot_free(sh->snap_shobjs[i]);
	free(TAKE_PTR(sh->snap_shobjs));
	sh->nsnap_shobjs = 0;
	return r;
}

int stasis_predump_cancel(const char *images_dir)
{
	_cleanup_(dump_tracking_freep) struct dump_tracking *trk = NULL;
	_cleanup_close_ int fd = open(images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = negative_errno();
		pr_err("cannot open the images directory %s: %s", images_dir, strerror(-r));
		return r;
	}
	r = dump_holder_take(fd, images_dir, &trk);
	if (r == -ENOENT) {
		pr_msg("%s: no memory tracking is held for it: nothing to cancel", images_dir);
		return 0;
	}
	if (r < 0)
		return r;
	pr_msg("%s: the memory tracking of %zu processes is removed", images_dir, trk->n);
	return 0;
}
