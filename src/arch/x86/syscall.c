/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/syscall.h>

#include "arch/x86/syscall.h"

const uint8_t x86_syscall_insn[X86_SYSCALL_INSN_LEN] = {0x0f, 0x05};

void x86_regs_setup_syscall(struct x86_regs *regs, long nr, const unsigned long args[6],
			    unsigned long insn_addr)
{
	struct user_regs_struct *r = &regs->gpr;

	r->rax = (unsigned long)nr;
	r->orig_rax = (unsigned long)nr;
	r->rdi = args[0];
	r->rsi = args[1];
	r->rdx = args[2];
	r->r10 = args[3];
	r->r8 = args[4];
	r->r9 = args[5];
	r->rip = insn_addr;
	r->eflags &= ~X86_EFLAGS_TF;
}

bool x86_regs_in_syscall(const struct x86_regs *regs)
{
	/* The kernel tests exactly this (syscall_get_nr() != -1). */
	return (long)regs->gpr.orig_rax != -1;
}

bool x86_regs_restart_pending(const struct x86_regs *regs)
{
	switch ((long)regs->gpr.rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		return true;
	default:
		return false;
	}
}

bool x86_regs_restart_syscall(struct x86_regs *regs)
{
	struct user_regs_struct *r = &regs->gpr;

	if (!x86_regs_in_syscall(regs) || !x86_regs_restart_pending(regs))
		return false;
	if ((long)r->rax == -ERESTART_RESTARTBLOCK)
		r->rax = __NR_restart_syscall | (r->orig_rax & X86_X32_SYSCALL_BIT);
	else
		r->rax = r->orig_rax;
	r->rip -= X86_SYSCALL_INSN_LEN;
	return true;
}

int x86_regs_restart_code(const struct x86_regs *regs)
{
	long rax = (long)regs->gpr.rax;

	if ((long)regs->gpr.orig_rax < 0)
		return 0;
	return rax == -ERESTARTSYS || rax == -ERESTARTNOINTR || rax == -ERESTARTNOHAND ? (int)rax : 0;
}

void x86_regs_criu_restart(struct x86_regs *regs)
{
	struct user_regs_struct *r = &regs->gpr;

	if ((long)r->orig_rax < 0)
		return;
	switch ((long)r->rax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		r->rax = r->orig_rax;
		r->rip -= X86_SYSCALL_INSN_LEN;
		break;
	case -ERESTART_RESTARTBLOCK:
		r->rax = (unsigned long long)-EINTR;
		break;
	}
}
