/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A task stopped inside an rseq critical section would be sent to the
 * section's abort handler by the kernel as soon as it returns to user space
 * (it was preempted). A remote syscall makes it return to user space at
 * another rip, where the kernel would instead just clear rseq_cs: the task
 * would then go on inside its section as if nothing had happened, and with
 * a syscall poked at its rip it would even run the abort handler under our
 * feet. So do the abort first, as the kernel would: rip = abort_ip. The
 * kernel clears rseq_cs itself at the next return to user space.
 */
#include <linux/rseq.h>
#include <stddef.h>

#include "arch/x86/syscall.h"
#include "base/log.h"
#include "compat/ptrace.h"
#include "rsys/internal.h"

/* struct rseq_cs, the critical section descriptor (include/uapi/linux/rseq.h). */
struct rseq_cs_desc {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
};

int rsys_rseq_fixup(struct rsys_task *t, bool *ret_changed)
{
	struct ptrace_rseq_configuration conf;
	struct rseq_cs_desc cs;
	uint64_t cs_addr, ip = t->regs.gpr.rip;
	uint32_t sig;
	int r;

	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->tid, (void *)sizeof(conf), &conf) < 0) {
		/* Before 5.13 there is no way to ask, and nothing to fix that we could see. */
		if (errno == EIO || errno == EINVAL) {
			*ret_changed = false;
			return 0;
		}
		r = negative_errno();
		pr_perror("Can't read the rseq configuration of %d", t->tid);
		return r;
	}
	cs_addr = 0;
	if (conf.rseq_abi_pointer != 0) {
		r = rsys_read_mem(t, conf.rseq_abi_pointer + offsetof(struct rseq, rseq_cs),
				  &cs_addr, sizeof(cs_addr));
		if (r < 0)
			return r;
	}
	if (cs_addr == 0) {
		*ret_changed = false;
		return 0;
	}
	r = rsys_read_mem(t, cs_addr, &cs, sizeof(cs));
	if (r < 0)
		return r;
	if (ip - cs.start_ip >= cs.post_commit_offset) {
		*ret_changed = false;
		return 0;
	}
	/*
	 * A syscall made inside a section is a bug of the program; the kernel
	 * would apply its restart logic to rip first. Leave such a task alone.
	 */
	if (x86_regs_in_syscall(&t->regs)) {
		pr_warn("Task %d is stopped in a syscall inside an rseq critical section", t->tid);
		*ret_changed = false;
		return 0;
	}
	/* A descriptor the kernel would reject gets the task killed: leave that to the kernel. */
	r = rsys_read_mem(t, cs.abort_ip - sizeof(sig), &sig, sizeof(sig));
	if (r < 0 || sig != conf.signature || cs.flags != 0 ||
	    cs.abort_ip - cs.start_ip < cs.post_commit_offset) {
		pr_warn("Task %d is stopped in an rseq critical section with a bad descriptor at "
			"%#lx",
			t->tid, (unsigned long)cs_addr);
		*ret_changed = false;
		return 0;
	}
	pr_info("Task %d stopped in an rseq critical section at %#lx: aborting it to %#lx", t->tid,
		(unsigned long)ip, (unsigned long)cs.abort_ip);
	t->regs.gpr.rip = cs.abort_ip;
	*ret_changed = true;
	return 0;
}
