/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The last steps before the task is let go: register the dumped rseq area,
 * close the fds the controller lent the task, unmap the scratch area from
 * inside it (the last remote syscall), put the task back in its own stop,
 * and load the dumped registers, FPU state and blocked signals there.
 */
#include <linux/rseq.h>
#include <stddef.h>

#include "compat/ptrace.h"
#include "compat/syscalls.h"
#include "restore/internal.h"

int rst_rseq_register(struct rst_ctx *c)
{
	const RseqEntry *rs = c->img.core->thread_core->rseq_entry;
	long res;

	if (!rs || !rs->rseq_abi_pointer)
		return 0;
	res = rst_sys(c, __NR_rseq, rs->rseq_abi_pointer, rs->rseq_abi_size, 0, rs->signature);
	if (res < 0) {
		rst_err(c, "thread %d: cannot register the rseq area at %llx (%u bytes): %s",
			c->tid, (unsigned long long)rs->rseq_abi_pointer, rs->rseq_abi_size,
			strerror((int)-res));
		return (int)res;
	}
	return 0;
}

/*
 * A task dumped inside an rseq critical section: its rseq_cs goes back once
 * no remote syscall will run any more (each return to user space outside
 * the section clears it), so that the kernel aborts the section as it would
 * have.
 */
static int load_rseq_cs(struct rst_ctx *c)
{
	const RseqEntry *rs = c->img.core->thread_core->rseq_entry;
	uint64_t cs;

	if (!rs || !rs->rseq_abi_pointer || !rs->has_rseq_cs_pointer || !rs->rseq_cs_pointer)
		return 0;
	cs = rs->rseq_cs_pointer;
	return rsys_write_mem(c->cur, rs->rseq_abi_pointer + offsetof(struct rseq, rseq_cs), &cs,
			      sizeof(cs));
}

static int close_lent_fd(struct rst_ctx *c, int fd)
{
	long res = rst_sys(c, __NR_close, fd);

	if (res < 0) {
		rst_err(c, "cannot close fd %d in the task: %s", fd, strerror((int)-res));
		return (int)res;
	}
	return 0;
}

static int close_lent_fds(struct rst_ctx *c)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < c->files.nopen; i++)
		r = close_lent_fd(c, c->files.open[i].fd);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(c->files.lent_dirs); i++)
		if (c->files.lent_dirs[i] >= 0)
			r = close_lent_fd(c, c->files.lent_dirs[i]);
	return r;
}

static int load_sigmask(struct rst_ctx *c)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;
	uint64_t mask = tc->has_blk_sigset ? tc->blk_sigset
			: c->img.core->tc  ? c->img.core->tc->blk_sigset
					   : 0;

	if (ptrace(PTRACE_SETSIGMASK, c->tid, (void *)sizeof(mask), &mask) < 0) {
		int r = negative_errno();
		rst_err(c, "thread %d: cannot set the blocked signals %#llx: %s", c->tid,
			(unsigned long long)mask, strerror(-r));
		return r;
	}
	return 0;
}

int rst_thread_load(struct rst_ctx *c)
{
	int r;

	r = load_rseq_cs(c);
	if (r == 0)
		r = rst_regs_load(c);
	if (r == 0)
		r = load_sigmask(c);
	return r;
}

int rst_finish(struct rst_ctx *c)
{
	int r;

	r = rst_thread_finish(c);
	if (r == 0)
		r = rst_rseq_register(c);
	if (r == 0)
		r = close_lent_fds(c);
	if (r == 0) {
		r = rsys_munmap_scratch(c->task);
		if (r < 0)
			rst_err(c, "cannot unmap the scratch area: %s", strerror(-r));
	}
	if (r == 0) {
		r = rsys_settle(c->task);
		if (r < 0)
			rst_err(c, "cannot put the task back into its stop: %s", strerror(-r));
	}
	/* From here the task sits in its stop; rsys_detach() only lets it go. */
	if (r == 0)
		r = rst_thread_load(c);
	return r;
}
