/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Killing the processes after a good dump, with their memory freed on two
 * CPUs.
 *
 * The wait for the kill is part of the dump (docs/dump.md, "Speed"), and a
 * killed process frees its memory in its own context, on one CPU: about
 * 25 ms per GiB here. process_mrelease() frees it from our side too, in
 * parallel with the process's own exit_mmap(), but only if it finds the mm
 * still attached to the process: woken by SIGKILL on an idle CPU, the
 * process gets past exit_mm() in microseconds, and process_mrelease() then
 * fails with ESRCH. So the process is given one last remote call, as it is
 * killed, that keeps it in the kernel with its mm for a while:
 * madvise(MADV_WILLNEED) on its largest private memory, a hint that changes
 * nothing (anonymous pages: it only looks for swapped ones). process_mrelease()
 * starts meanwhile; the process then exits and frees pages alongside it.
 * The call is harmless even if the mm is shared with a process that lives
 * on, and process_mrelease() refuses such an mm (EINVAL).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"

/* The VMA that holds the most memory, if the process holds min_kib or more in all. */
static const VmaEntry *largest_vma(const struct mem_vmas *vmas, uint64_t min_kib)
{
	const struct mem_vma *best = NULL;
	uint64_t total = 0;

	for (size_t i = 0; i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];

		if (v->rss_swap_kib == UINT64_MAX)
			return NULL;
		total += v->rss_swap_kib;
		if (!best || v->rss_swap_kib > best->rss_swap_kib)
			best = v;
	}
	return total >= min_kib && best ? &best->e : NULL;
}

/*
 * Keep the process off the CPU we run on: woken there for its last call, it
 * would take that CPU from process_mrelease() for milliseconds (its
 * affinity no longer matters, it is being killed). false if it may run
 * nowhere else.
 */
static bool move_off_our_cpu(pid_t pid)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(pid, sizeof(set), &set) < 0)
		return false;
	CPU_CLR(cpu, &set);
	return CPU_COUNT(&set) > 0 && sched_setaffinity(pid, sizeof(set), &set) == 0;
}

int dump_kill_start(struct dump_ctx *ctx)
{
	struct rsys_task *leader = ctx->threads[0].task;
	const VmaEntry *e =
		largest_vma(&ctx->vmas, ctx->opts->reap_min_kib ?: DUMP_REAP_MIN_KIB_DEFAULT);

	ctx->pidfd = -1;
	if (!leader)
		return 0;
	if (e && move_off_our_cpu(ctx->pid))
		ctx->pidfd = sys_pidfd_open(ctx->pid, 0);
	if (ctx->pidfd < 0) {
		if (kill(ctx->pid, SIGKILL) < 0 && errno != ESRCH)
			return negative_errno();
		return 0;
	}
	const unsigned long args[6] = {e->start, e->end - e->start, MADV_WILLNEED};
	int r = rsys_start_last_call(leader, SYS_madvise, args);

	if (r < 0)
		pr_debug("pid %d: killed without a last call: %s", ctx->pid, strerror(-r));
	if (kill(ctx->pid, SIGKILL) < 0 && errno != ESRCH)
		return negative_errno();
	return 0;
}

void dump_kill_reap(struct dump_ctx *ctx)
{
	if (ctx->pidfd < 0)
		return;
	/* EINVAL: its mm is shared with a process that lives on; ESRCH: past exit_mm(). */
	if (sys_process_mrelease(ctx->pidfd, 0) < 0)
		pr_debug("pid %d: process_mrelease: %m", ctx->pid);
	close(ctx->pidfd);
	ctx->pidfd = -1;
}
