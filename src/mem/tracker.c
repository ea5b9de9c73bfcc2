/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One tracking interface over the back ends of dirty memory tracking
 * (docs/predump.md): userfaultfd WP_ASYNC with PAGEMAP_SCAN (track.c), and
 * soft-dirty bits (track-softdirty.c) for kernels without WP_ASYNC.
 */

#include <errno.h>

#include "base/macro.h"
#include "mem/internal.h"

struct tracker_ops {
	const char *name;
	bool scans_frozen;
	int (*collect)(pid_t pid, const struct mem_tracker *t, bool has_parent,
		       const struct mem_vmas *vmas, struct mem_extents *out,
		       struct mem_dump_stats *st);
	int (*rearm)(pid_t pid, const struct mem_tracker *t);
};

static int uffd_collect(pid_t pid, const struct mem_tracker *t, bool has_parent,
			const struct mem_vmas *vmas, struct mem_extents *out,
			struct mem_dump_stats *st)
{
	return mem_track_collect(pid, t->uffd, has_parent, vmas, out, st);
}

/* The scan protected every page it reported again: nothing more to do. */
static int uffd_rearm(pid_t pid, const struct mem_tracker *t)
{
	(void)pid;
	(void)t;
	return 0;
}

static int sd_collect(pid_t pid, const struct mem_tracker *t, bool has_parent,
		      const struct mem_vmas *vmas, struct mem_extents *out,
		      struct mem_dump_stats *st)
{
	(void)t;
	return mem_softdirty_collect(pid, has_parent, vmas, out, st);
}

static int sd_rearm(pid_t pid, const struct mem_tracker *t)
{
	(void)t;
	return mem_softdirty_clear(pid);
}

static const struct tracker_ops ops[] = {
	[MEM_TRACK_UFFD_WP] = {"userfaultfd WP_ASYNC", false, uffd_collect, uffd_rearm},
	[MEM_TRACK_SOFT_DIRTY] = {"soft-dirty", true, sd_collect, sd_rearm},
};

const char *mem_tracker_name(enum mem_track_kind kind)
{
	return (size_t)kind < ELEMENTSOF(ops) ? ops[kind].name : "?";
}

bool mem_tracker_scans_frozen(const struct mem_tracker *t)
{
	return t && ops[t->kind].scans_frozen;
}

int mem_tracker_collect(pid_t pid, const struct mem_tracker *t, bool has_parent,
			const struct mem_vmas *vmas, struct mem_extents *out,
			struct mem_dump_stats *st)
{
	if (!t) /* untracked: every page is saved */
		return mem_track_collect(pid, -1, false, vmas, out, st);
	return ops[t->kind].collect(pid, t, has_parent, vmas, out, st);
}

int mem_tracker_rearm(pid_t pid, const struct mem_tracker *t)
{
	return t ? ops[t->kind].rearm(pid, t) : 0;
}

void mem_tracker_release(struct mem_tracker *t)
{
	t->uffd = safe_close(t->uffd);
}
