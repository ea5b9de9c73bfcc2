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
 * fails with ESRCH. So the process is given one last remote call as it is
 * killed, which keeps it in the kernel with its mm for a while:
 * madvise(MADV_WILLNEED) on its largest private anonymous memory, a hint
 * that changes nothing there (it only swaps in swapped pages, and a VMA
 * with any is not chosen). process_mrelease() starts meanwhile; the process
 * then exits and frees pages alongside it.
 *
 * Not when a thread may hold a robust futex: the kernel releases those from
 * the thread's robust list, read from its memory in exit_mm(), and the list
 * head would already be gone (the OOM reaper waits for the same reason).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/syscalls.h"
#include "dump/internal.h"

/*
 * The private anonymous VMA holding the most memory, none of it swapped, if
 * the process's private anonymous memory comes to min_kib or more. With
 * what a VMA holds unknown (a dump after pre-dumps), its size stands for
 * it, if the machine has no swap.
 */
static const VmaEntry *hint_vma(const struct mem_vmas *vmas, uint64_t min_kib)
{
	const VmaEntry *best = NULL;
	uint64_t total = 0, best_kib = 0;
	struct sysinfo si;
	bool no_swap = sysinfo(&si) == 0 && si.totalswap == 0;

	for (size_t i = 0; i < vmas->nr; i++) {
		const struct mem_vma *v = &vmas->v[i];
		bool known = v->rss_swap_kib != UINT64_MAX;
		uint64_t kib = known ? v->rss_swap_kib : (v->e.end - v->e.start) / 1024;

		if (!(v->e.flags & MAP_ANONYMOUS) || !mem_vma_has_private_pages(&v->e))
			continue;
		total += kib;
		if (kib > best_kib && (known ? v->swap_kib == 0 : no_swap)) {
			best = &v->e;
			best_kib = kib;
		}
	}
	return total >= min_kib ? best : NULL;
}

/* Whether rip lies in a private mapping, where a poke stays the process's own. */
static bool private_at(const struct mem_vmas *vmas, uint64_t rip)
{
	for (size_t i = 0; i < vmas->nr; i++)
		if (vmas->v[i].e.start <= rip && rip < vmas->v[i].e.end)
			return vmas->v[i].e.flags & MAP_PRIVATE;
	return false;
}

/* Whether no thread of the process holds, or is taking, a robust futex. */
static bool robust_lists_empty(const struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nthreads; i++) {
		const struct dump_thread *t = &ctx->threads[i];
		struct robust_list_head head;

		if (t->futex_rla == 0)
			continue;
		if (!t->task || rsys_read_mem(t->task, t->futex_rla, &head, sizeof(head)) < 0 ||
		    (uintptr_t)head.list.next != t->futex_rla || head.list_op_pending)
			return false;
	}
	return true;
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

/* Why the process gets no last call, or NULL: then the call's VMA and a pidfd. */
static const char *no_last_call(const struct dump_ctx *ctx, const VmaEntry **ret_vma,
				int *ret_pidfd)
{
	uint64_t min_kib = ctx->opts->reap_min_kib ?: DUMP_REAP_MIN_KIB_DEFAULT;

	*ret_vma = hint_vma(&ctx->vmas, min_kib);
	if (!*ret_vma)
		return "little private anonymous memory, or all of it swapped";
	if (!robust_lists_empty(ctx))
		return "a thread may hold a robust futex";
	if (!move_off_our_cpu(ctx->pid))
		return "it can run on no other CPU than ours";
	*ret_pidfd = sys_pidfd_open(ctx->pid, 0);
	if (*ret_pidfd < 0)
		return "no pidfd";
	return NULL;
}

/* SIGKILL, with a last call if it can have one; *ret_pidfd then for process_mrelease(). */
static void kill_start(const struct dump_ctx *ctx, int *ret_pidfd)
{
	struct rsys_task *leader = ctx->threads[0].task;
	const VmaEntry *e;
	const char *why = no_last_call(ctx, &e, ret_pidfd);

	if (!why) {
		const unsigned long args[6] = {e->start, e->end - e->start, MADV_WILLNEED};
		bool may_poke = private_at(&ctx->vmas, rsys_task_regs(leader)->gpr.rip);
		int r = rsys_start_last_call(leader, SYS_madvise, args, may_poke);

		why = r == 0 ? NULL : r == -EBUSY ? "no remote call possible" : strerror(-r);
	}
	if (why)
		pr_debug("pid %d: killed without a last call: %s", ctx->pid, why);
	/* Errors are the waits': rsys_kill() sends it again and collects the death. */
	(void)kill(ctx->pid, SIGKILL);
}

void dump_kill_and_reap(const struct dump_ctx *ctx)
{
	_cleanup_close_ int pidfd = -1;

	if (!ctx->threads[0].task)
		return; /* its leader is gone: dump_threads_release() kills the rest */
	kill_start(ctx, &pidfd);
	/* EINVAL: its mm is shared with a process that lives on; ESRCH: past exit_mm(). */
	if (pidfd >= 0 && sys_process_mrelease(pidfd, 0) < 0)
		pr_debug("pid %d: process_mrelease: %m", ctx->pid);
}
