/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pstree.img, ids-PID.img, inventory.img and the images CRIU always writes. */
#include <inttypes.h>
#include <linux/kcmp.h>
#include <sys/stat.h>

#include "compat/syscalls.h"

#include "base/log.h"
#include "core.pb-c.h"
#include "dump/internal.h"
#include "image/image.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"

/* CRIU's task_state of a zombie (TaskCoreEntry.task_state). */
#define TASK_DEAD 0x2

/* CRIU's image version (inventory.img_version). */
#define CRIU_IMG_VERSION 2

/*
 * Namespaces: this stasis restores tasks into its own namespaces, so a task
 * must share them. Ids are small numbers given in the order met; the task's
 * and stasis's own ("root") ids then match, which tells a restore that no
 * namespace has to be created.
 */
static const char *const ns_names[] = {"pid", "net", "ipc", "uts", "mnt", "user", "cgroup", "time"};

static int check_namespaces(pid_t pid)
{
	for (size_t i = 0; i < ELEMENTSOF(ns_names); i++) {
		char theirs[64], ours[64];
		struct stat a, b;

		snprintf(theirs, sizeof(theirs), "/proc/%d/ns/%s", pid, ns_names[i]);
		snprintf(ours, sizeof(ours), "/proc/self/ns/%s", ns_names[i]);
		if (stat(ours, &b) < 0)
			continue; /* a kernel without this namespace */
		if (stat(theirs, &a) < 0)
			return negative_errno();
		if (a.st_ino != b.st_ino) {
			pr_err("pid %d lives in another %s namespace than stasis: dumping "
			       "namespaces "
			       "is not supported yet; run stasis inside the same namespaces",
			       pid, ns_names[i]);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* The namespaces: stasis's own (see above). */
static void fill_ns_ids(TaskKobjIdsEntry *ids)
{
	ids->has_pid_ns_id = ids->has_net_ns_id = ids->has_ipc_ns_id = true;
	ids->has_uts_ns_id = ids->has_mnt_ns_id = ids->has_user_ns_id = true;
	ids->has_cgroup_ns_id = ids->has_time_ns_id = true;
	ids->pid_ns_id = 2, ids->net_ns_id = 3, ids->ipc_ns_id = 4, ids->uts_ns_id = 5;
	ids->mnt_ns_id = 6, ids->user_ns_id = 7, ids->cgroup_ns_id = 8, ids->time_ns_id = 9;
}

static void fill_ids(const struct dump_ctx *ctx, TaskKobjIdsEntry *ids)
{
	ids->vm_id = ctx->ids[0];
	ids->files_id = ctx->ids[1];
	ids->fs_id = ctx->ids[2];
	ids->sighand_id = ctx->ids[3];
	fill_ns_ids(ids);
}

static int write_inventory(struct img_dir *dir)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	TaskKobjIdsEntry root = TASK_KOBJ_IDS_ENTRY__INIT;

	root.vm_id = root.files_id = root.fs_id = root.sighand_id = 1;
	fill_ns_ids(&root);
	inv.img_version = CRIU_IMG_VERSION;
	inv.has_fdinfo_per_id = inv.fdinfo_per_id = true;
	inv.has_ns_per_id = inv.ns_per_id = true;
	inv.root_ids = &root;
	inv.has_lsmtype = true;
	inv.lsmtype = LSMTYPE__NO_LSM;
	return img_write_one(dir, IMG_INVENTORY, 0, &inv.base);
}

/*
 * A zombie, as CRIU writes one: its core holds only the task part, dead
 * (TASK_DEAD), with the wait status its parent will collect.
 */
static int write_zombie_core(const struct dump_ctx *ctx)
{
	CoreEntry core = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;

	core.mtype = CORE_ENTRY__MARCH__X86_64;
	tc.task_state = TASK_DEAD;
	tc.exit_code = (uint32_t)ctx->stat.exit_code;
	tc.comm = (char *)ctx->stat.comm;
	core.tc = &tc;
	pr_info("pid %d: a zombie, exit status %#x", ctx->pid, ctx->stat.exit_code);
	return img_write_one(ctx->dir, IMG_CORE, (uint64_t)ctx->pid, &core.base);
}

static int write_one(const struct dump_ctx *ctx)
{
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	_cleanup_free_ uint32_t *threads = calloc(MAX(ctx->nthreads, 1), sizeof(uint32_t));
	int r;

	if (!threads)
		return -ENOMEM;
	threads[0] = (uint32_t)ctx->pid; /* a zombie's only thread */
	for (size_t i = 0; i < ctx->nthreads; i++)
		threads[i] = (uint32_t)ctx->threads[i].tid;
	r = ctx->zombie ? 0 : check_namespaces(ctx->pid);
	if (r < 0)
		return r;
	pe.pid = (uint32_t)ctx->pid;
	pe.ppid = (uint32_t)ctx->ppid;
	pe.pgid = (uint32_t)ctx->stat.pgrp;
	pe.sid = (uint32_t)ctx->stat.session;
	pe.n_threads = MAX(ctx->nthreads, 1);
	pe.threads = threads;
	fill_ids(ctx, &ids);
	r = img_write_entry(ctx->sh->pstree, &pe.base, NULL, 0);
	if (r == 0 && ctx->zombie)
		return write_zombie_core(ctx);
	if (r == 0)
		r = img_write_one(ctx->dir, IMG_IDS, (uint64_t)ctx->pid, &ids.base);
	return r;
}

int dump_tree(struct dump_ctx *procs, size_t n)
{
	struct dump_shared *sh = procs[0].sh;
	int r;

	r = img_create(procs[0].dir, IMG_PSTREE, 0, &sh->pstree);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = write_one(&procs[i]);
	if (r == 0)
		r = img_writer_commit(TAKE_PTR(sh->pstree));
	if (r == 0)
		r = write_inventory(procs[0].dir);
	return r;
}

/*
 * What kcmp() orders: the processes sharing one object of a kind get the
 * same id. Each process is looked up among one representative per object
 * found so far, kept sorted in kcmp's order, by binary search: about
 * log2(objects) kcmp calls per process rather than one per pair.
 */
struct kcmp_set {
	int type; /* KCMP_VM, KCMP_FILES ... */
	pid_t *reps;
	uint32_t *ids;
	size_t n;
};

static int kcmp_find(struct dump_shared *sh, struct kcmp_set *set, pid_t pid, size_t *ret_pos,
		     bool *ret_found)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long k = sys_kcmp(pid, set->reps[mid], set->type, 0, 0);

		sh->kcmp_calls++;
		if (k < 0)
			return negative_errno();
		if (k == 0) {
			*ret_pos = mid;
			*ret_found = true;
			return 0;
		}
		if (k == 3) /* no order to search by: kcmp is unusable here */
			return -ENOTSUP;
		if (k == 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ret_pos = lo;
	*ret_found = false;
	return 0;
}

static int kcmp_id(struct dump_shared *sh, struct kcmp_set *set, pid_t pid, uint32_t *ret_id)
{
	size_t pos;
	bool found;
	int r;

	r = kcmp_find(sh, set, pid, &pos, &found);
	if (r < 0)
		return r;
	if (!found) {
		pid_t *reps = reallocarray(set->reps, set->n + 1, sizeof(*reps));
		uint32_t *ids = reps ? reallocarray(set->ids, set->n + 1, sizeof(*ids)) : NULL;

		if (reps)
			set->reps = reps;
		if (!ids)
			return -ENOMEM;
		set->ids = ids;
		memmove(set->reps + pos + 1, set->reps + pos, (set->n - pos) * sizeof(*reps));
		memmove(set->ids + pos + 1, set->ids + pos, (set->n - pos) * sizeof(*ids));
		set->reps[pos] = pid;
		set->ids[pos] = (uint32_t)set->n + 1;
		set->n++;
	}
	*ret_id = set->ids[pos];
	return 0;
}

int dump_tree_ids(struct dump_ctx *procs, size_t n)
{
	struct kcmp_set sets[4] = {{KCMP_VM}, {KCMP_FILES}, {KCMP_FS}, {KCMP_SIGHAND}};
	struct dump_shared *sh = procs[0].sh;
	uint64_t before = sh->kcmp_calls;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		for (size_t k = 0; r == 0 && !procs[i].zombie && k < ELEMENTSOF(sets); k++)
			r = kcmp_id(sh, &sets[k], procs[i].pid, &procs[i].ids[k]);
	for (size_t k = 0; k < ELEMENTSOF(sets); k++) {
		free(sets[k].reps);
		free(sets[k].ids);
	}
	if (r < 0) {
		pr_err("kcmp() failed: %s; stasis needs it to tell what processes share",
		       strerror(-r));
		return r;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (!procs[i].zombie && !procs[j].zombie &&
			    procs[i].ids[0] == procs[j].ids[0]) {
				pr_err("pid %d shares its memory with pid %d (vfork() or "
				       "CLONE_VM): "
				       "stasis cannot checkpoint that; dump again once the child "
				       "has "
				       "called exec() or exited",
				       procs[i].pid, procs[j].pid);
				return -ENOTSUP;
			}
	pr_info("kcmp: %" PRIu64 " calls to find what %zu processes share", sh->kcmp_calls - before,
		n);
	return 0;
}
