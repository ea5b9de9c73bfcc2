/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pstree.img, ids-PID.img, inventory.img and the images CRIU always writes. */
#include <sys/stat.h>

#include "base/log.h"
#include "core.pb-c.h"
#include "dump/internal.h"
#include "image/image.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"

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

static void fill_ids(TaskKobjIdsEntry *ids)
{
	/* vm, files, fs, sighand: one object each; the namespaces: ours. */
	ids->vm_id = ids->files_id = ids->fs_id = ids->sighand_id = 1;
	ids->has_pid_ns_id = ids->has_net_ns_id = ids->has_ipc_ns_id = true;
	ids->has_uts_ns_id = ids->has_mnt_ns_id = ids->has_user_ns_id = true;
	ids->has_cgroup_ns_id = ids->has_time_ns_id = true;
	ids->pid_ns_id = 2, ids->net_ns_id = 3, ids->ipc_ns_id = 4, ids->uts_ns_id = 5;
	ids->mnt_ns_id = 6, ids->user_ns_id = 7, ids->cgroup_ns_id = 8, ids->time_ns_id = 9;
}

static int write_inventory(struct dump_ctx *ctx)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	TaskKobjIdsEntry root = TASK_KOBJ_IDS_ENTRY__INIT;

	fill_ids(&root);
	inv.img_version = CRIU_IMG_VERSION;
	inv.has_fdinfo_per_id = inv.fdinfo_per_id = true;
	inv.has_ns_per_id = inv.ns_per_id = true;
	inv.root_ids = &root;
	inv.has_lsmtype = true;
	inv.lsmtype = LSMTYPE__NO_LSM;
	return img_write_one(ctx->dir, IMG_INVENTORY, 0, &inv.base);
}

int dump_tree(struct dump_ctx *ctx)
{
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	_cleanup_free_ uint32_t *threads = calloc(ctx->nthreads, sizeof(uint32_t));
	int r;

	if (!threads)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->nthreads; i++)
		threads[i] = (uint32_t)ctx->threads[i].tid;

	r = check_namespaces(ctx->pid);
	if (r < 0)
		return r;
	pe.pid = (uint32_t)ctx->pid;
	pe.ppid = 0; /* the root of the dumped tree */
	pe.pgid = (uint32_t)ctx->stat.pgrp;
	pe.sid = (uint32_t)ctx->stat.session;
	pe.n_threads = ctx->nthreads;
	pe.threads = threads;
	fill_ids(&ids);
	if ((r = img_write_one(ctx->dir, IMG_PSTREE, 0, &pe.base)) < 0 ||
	    (r = img_write_one(ctx->dir, IMG_IDS, (uint64_t)ctx->pid, &ids.base)) < 0)
		return r;
	return write_inventory(ctx);
}
