/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp: the task's mode goes into its thread core, its filters into
 * seccomp.img, as CRIU writes them (criu/seccomp.c): the filters newest
 * first, each but the newest naming the next newer one in `prev`, and the
 * thread core naming the oldest in `seccomp_filter`, where the restore
 * starts installing; the flags from PTRACE_SECCOMP_GET_METADATA
 * (SECCOMP_FILTER_FLAG_LOG). The task is frozen with
 * PTRACE_O_SUSPEND_SECCOMP, so its filters do not see the remote syscalls
 * of the dump.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "compat/ptrace.h"

#include "base/log.h"
#include "core.pb-c.h"
#include "dump/internal.h"
#include "image/image.h"
#include "seccomp.pb-c.h"

/* The filter at index (0: the oldest), copied into the arena: 1, or 0 when there is none. */
static int read_filter(pid_t pid, unsigned long index, struct arena *a, SeccompFilter **ret)
{
	struct seccomp_metadata meta = {.filter_off = index};
	struct sock_filter *insns;
	SeccompFilter *f;
	long n;

	n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, NULL);
	if (n < 0 && errno == ENOENT)
		return 0;
	if (n <= 0 || n > BPF_MAXINSNS) {
		int r = n < 0 ? negative_errno() : -EBADMSG;

		pr_err("pid %d: cannot read seccomp filter %lu: %s", pid, index, strerror(-r));
		return r;
	}
	insns = arena_array(a, (size_t)n, sizeof(*insns));
	f = ARENA_MSG(a, SeccompFilter, SECCOMP_FILTER__INIT);
	if (!insns || !f)
		return -ENOMEM;
	errno = EIO; /* if the second read gives another length */
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, pid, index, insns) != n ||
	    ptrace(PTRACE_SECCOMP_GET_METADATA, pid, sizeof(meta), &meta) < 0) {
		int r = negative_errno();

		pr_err("pid %d: cannot read seccomp filter %lu: %s", pid, index, strerror(-r));
		return r;
	}
	f->filter = (ProtobufCBinaryData){.len = (size_t)n * sizeof(*insns), .data = (void *)insns};
	f->has_flags = true;
	f->flags = (uint32_t)meta.flags;
	*ret = f;
	return 1;
}

/* Every filter of the task, oldest first, as the kernel numbers them. */
static int read_filters(pid_t pid, struct arena *a, SeccompFilter ***ret, size_t *ret_n)
{
	SeccompFilter **list = NULL;
	size_t n = 0;

	for (;;) {
		SeccompFilter *f, **grown;
		int r = read_filter(pid, n, a, &f);

		if (r < 0)
			return r;
		if (r == 0)
			break;
		grown = arena_array(a, n + 1, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (n)
			memcpy(grown, list, n * sizeof(*grown));
		list = grown;
		list[n++] = f;
	}
	*ret = list;
	*ret_n = n;
	return 0;
}

/* Room for n more filters in the tree's list. */
static int grow_filters(struct dump_shared *sh, size_t n)
{
	SeccompFilter **grown = arena_array(&sh->arena, sh->nfilters + n, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	if (sh->nfilters)
		memcpy(grown, sh->filters, sh->nfilters * sizeof(*grown));
	sh->filters = grown;
	return 0;
}

/*
 * The leader's mode; its filters go into seccomp.img, after those of the
 * processes before it, each pointing to the one installed before it.
 */
static int dump_leader_seccomp(struct dump_ctx *ctx, ThreadCoreEntry *th)
{
	struct dump_shared *sh = ctx->sh;
	SeccompFilter **oldest_first = NULL;
	size_t n = 0, base = sh->nfilters;
	int r;

	if (dump_leader(ctx)->status.seccomp == SECCOMP_MODE_FILTER) {
		r = read_filters(ctx->pid, &sh->arena, &oldest_first, &n);
		if (r == 0)
			r = grow_filters(sh, n);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			SeccompFilter *f = oldest_first[n - 1 - i]; /* the i-th newest */

			f->has_prev = i > 0;
			f->prev = i > 0 ? (uint32_t)(base + i - 1) : 0;
			sh->filters[sh->nfilters++] = f;
		}
		th->has_seccomp_filter = n > 0;
		th->seccomp_filter = n ? (uint32_t)(base + n - 1) : 0;
	}
	if (dump_leader(ctx)->status.seccomp != SECCOMP_MODE_DISABLED) {
		th->has_seccomp_mode = true;
		th->seccomp_mode = (SeccompMode)dump_leader(ctx)->status.seccomp;
		pr_info("pid %d: seccomp mode %u, %zu filters", ctx->pid, dump_leader(ctx)->status.seccomp, n);
	}
	ctx->seccomp_filter = th->has_seccomp_filter ? (int64_t)th->seccomp_filter : -1;
	return 0;
}

int dump_seccomp_write(struct dump_shared *sh, struct img_dir *dir)
{
	SeccompEntry se = SECCOMP_ENTRY__INIT;

	se.seccomp_filters = sh->filters;
	se.n_seccomp_filters = sh->nfilters;
	return img_write_one(dir, IMG_SECCOMP, 0, &se.base);
}

/*
 * Another thread: seccomp.img is the leader's chain, so a thread must have
 * the same mode and as many filters (the usual case: filters installed
 * before the threads, or with SECCOMP_FILTER_FLAG_TSYNC).
 */
static int dump_other_seccomp(struct dump_ctx *ctx, const struct dump_thread *t, struct arena *a,
			      ThreadCoreEntry *th)
{
	const struct dump_thread *leader = dump_leader(ctx);
	SeccompFilter **filters = NULL, **theirs = NULL;
	size_t n = 0, nl = 0;
	int r;

	if (t->status.seccomp == SECCOMP_MODE_DISABLED &&
	    leader->status.seccomp == SECCOMP_MODE_DISABLED)
		return 0;
	if (t->status.seccomp == SECCOMP_MODE_FILTER &&
	    leader->status.seccomp == SECCOMP_MODE_FILTER) {
		r = read_filters(t->tid, a, &filters, &n);
		if (r >= 0)
			r = read_filters(ctx->pid, a, &theirs, &nl);
		if (r < 0)
			return r;
	}
	if (t->status.seccomp != leader->status.seccomp || n != nl) {
		pr_err("pid %d thread %d: its seccomp state (mode %u, %zu filters) differs from "
		       "the main thread's (mode %u, %zu filters); stasis dumps one filter chain "
		       "per process: install filters with SECCOMP_FILTER_FLAG_TSYNC",
		       ctx->pid, t->tid, t->status.seccomp, n, leader->status.seccomp, nl);
		return -ENOTSUP;
	}
	th->has_seccomp_mode = true;
	th->seccomp_mode = (SeccompMode)t->status.seccomp;
	th->has_seccomp_filter = ctx->seccomp_filter >= 0;
	th->seccomp_filter = ctx->seccomp_filter >= 0 ? (uint32_t)ctx->seccomp_filter : 0;
	return 0;
}

int dump_seccomp(struct dump_ctx *ctx, const struct dump_thread *t, struct arena *a,
		 ThreadCoreEntry *th)
{
	if (t == dump_leader(ctx))
		return dump_leader_seccomp(ctx, th);
	return dump_other_seccomp(ctx, t, a, th);
}
