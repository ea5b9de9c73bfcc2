/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registers the task goes on with, from core-PID.img.
 *
 * A task dumped inside a syscall that was interrupted has rax = -ERESTART*
 * in the kernel's view. CRIU converts this when it dumps (the saved rip
 * already points at the syscall again, or rax says -EINTR): the task cannot
 * take the kernel's restart path after a restore, because its restart block
 * (nanosleep's remaining time...) did not survive. The same rule is applied
 * here to registers that still hold such a code, then orig_rax is set to -1
 * so that the kernel, which stops the task inside its signal code, does not
 * apply its own restart logic on top (as sigreturn does).
 */
#include "arch/x86/core.h"
#include "arch/x86/syscall.h"
#include "restore/internal.h"

void rst_regs_no_restart(struct x86_regs *regs)
{
	x86_regs_criu_restart(regs);
	regs->gpr.orig_rax = (unsigned long long)-1;
}

/*
 * A syscall the thread was interrupted in, with its -ERESTART* code known
 * (stasis writes it, core.proto field 1001): the thread is put back at the
 * syscall's exit with rax = that code, as it was in the kernel. The thread
 * goes on from its stop inside the kernel's signal code, so the kernel
 * decides as it would have: a signal that comes first runs its handler and
 * the call fails with EINTR or restarts (SA_RESTART), as the code says;
 * else the call restarts. Without the code (CRIU's images), CRIU's way: the
 * thread goes back on the syscall instruction, and a signal that comes
 * before it runs it again does not interrupt it.
 */
static bool back_into_syscall(struct rst_ctx *c, struct x86_regs *regs)
{
	const ThreadCoreEntry *tc = c->img.core->thread_core;
	uint8_t insn[X86_SYSCALL_INSN_LEN];

	if (!tc->has_syscall_restart || (long)regs->gpr.orig_rax < 0 ||
	    regs->gpr.rax != regs->gpr.orig_rax)
		return false;
	if (rsys_read_mem(c->cur, regs->gpr.rip, insn, sizeof(insn)) < 0 ||
	    memcmp(insn, x86_syscall_insn, sizeof(insn)) != 0)
		return false;
	regs->gpr.rip += X86_SYSCALL_INSN_LEN;
	regs->gpr.rax = (unsigned long long)(long long)tc->syscall_restart;
	return true;
}

int rst_regs_load(struct rst_ctx *c)
{
	const ThreadInfoX86 *ti = c->img.core->thread_info;
	struct x86_regs regs;
	struct x86_fpu fpu;
	int r;

	r = x86_core_to_regs(ti->gpregs, &regs);
	if (r < 0)
		return r;
	if (!back_into_syscall(c, &regs))
		rst_regs_no_restart(&regs);
	r = x86_core_to_fpu(ti->fpregs, &fpu);
	if (r < 0)
		return r;
	r = x86_fpu_set(c->tid, &fpu);
	x86_fpu_done(&fpu);
	if (r < 0) {
		rst_err(c, "cannot load the FPU state (xstate_bv %#llx): %s",
			(unsigned long long)(ti->fpregs->xsave ? ti->fpregs->xsave->xstate_bv : 0),
			strerror(-r));
		return r;
	}
	r = x86_regs_set(c->tid, &regs);
	if (r < 0) {
		rst_err(c, "cannot load the registers: %s", strerror(-r));
		return r;
	}
	rst_debug(c, "registers loaded: rip %llx rsp %llx rax %llx", regs.gpr.rip, regs.gpr.rsp,
		  regs.gpr.rax);
	return 0;
}
