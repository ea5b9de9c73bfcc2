/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMAs of a frozen task without reading smaps (docs/predump.md): smaps
 * walks every page table entry to count Rss (tens of ms per GiB), so a dump
 * that wants a short freeze reads smaps while the tree still runs, and once
 * it is frozen only reads /proc/PID/maps, which walks no page table. If
 * every line of maps is a VMA read before (same range, protection, sharing,
 * offset and file), the VMAs read before are the VMAs now; otherwise smaps
 * is read again, frozen.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/log.h"
#include "base/macro.h"
#include "mem/internal.h"

/* Whether head h is what v says (the inode: that of its file, 0 for anonymous memory). */
static bool same_vma(const struct smaps_head *h, const struct mem_vma *v)
{
	return h->start == v->e.start && h->end == v->e.end && h->prot == v->e.prot &&
	       h->shared == !!(v->e.flags & MAP_SHARED) && h->pgoff == v->e.pgoff &&
	       h->ino == (v->path ? v->ino : 0);
}

/* Every line of maps is one of pre's VMAs, in order ([vvar_vclock] is in the [vvar] before). */
static int maps_unchanged(pid_t pid, const struct mem_vmas *pre, bool *ret_same)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, i = 0;
	char path[64];
	bool same = true;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		int r = negative_errno();

		pr_perror("cannot open %s", path);
		return r;
	}
	while (same && getline(&line, &cap, f) >= 0) {
		struct smaps_head h;

		if (smaps_parse_head(line, &h) < 0) {
			pr_err("%d: cannot parse maps line \"%s\"", pid, line);
			return -EBADMSG;
		}
		if (i < pre->nr && same_vma(&h, &pre->v[i]))
			i++;
		else if (i < pre->nr && streq(h.name, "[vvar]") &&
			 mem_vma_is(&pre->v[i].e, VMA_AREA_VVAR) && pre->v[i].e.start == h.start &&
			 pre->v[i].e.end > h.end)
			i++; /* [vvar_vclock] follows, merged into it */
		else if (!(streq(h.name, "[vvar_vclock]") && i > 0 &&
			   mem_vma_is(&pre->v[i - 1].e, VMA_AREA_VVAR) &&
			   pre->v[i - 1].e.end == h.end))
			same = false;
		if (!same)
			pr_debug("pid %d: the mapping %" PRIx64 "-%" PRIx64 " %s is new or changed",
				 pid, h.start, h.end, h.name);
	}
	*ret_same = same && i == pre->nr;
	return 0;
}

static int copy_vmas(const struct mem_vmas *pre, struct mem_vmas *ret)
{
	struct mem_vmas out = {.priv_pages = pre->priv_pages};

	out.v = calloc(pre->nr ? pre->nr : 1, sizeof(*out.v));
	if (!out.v)
		return -ENOMEM;
	for (; out.nr < pre->nr; out.nr++) {
		struct mem_vma *v = &out.v[out.nr];

		*v = pre->v[out.nr];
		/* What it holds now is not known: whoever skips empty VMAs must scan this one. */
		v->rss_swap_kib = v->swap_kib = UINT64_MAX;
		v->path = NULL;
		if (pre->v[out.nr].path && !(v->path = strdup(pre->v[out.nr].path))) {
			mem_vmas_release(&out);
			return -ENOMEM;
		}
	}
	*ret = out;
	return 0;
}

int mem_vmas_refresh(pid_t pid, const struct mem_vmas *pre, struct mem_vmas *ret_vmas,
		     bool *ret_reused)
{
	bool same = false;
	int r;

	r = maps_unchanged(pid, pre, &same);
	if (r < 0)
		return r;
	if (!same) {
		pr_info("pid %d: its mappings changed since they were read: reading smaps again",
			pid);
		r = mem_vmas_collect(pid, ret_vmas);
	} else {
		r = copy_vmas(pre, ret_vmas);
	}
	if (r >= 0 && ret_reused)
		*ret_reused = same;
	return r;
}
