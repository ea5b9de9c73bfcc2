/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pure register arithmetic around system calls on x86_64: how to load a
 * register set so that the task executes one syscall, and what the kernel does to the registers of
 * a task stopped at the exit of an interrupted syscall when it resumes it without running a signal
 * handler (arch_do_signal_or_restart() in arch/x86/kernel/signal.c).
 */

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/regs.h"

/* `syscall` is 0f 05; a stopped task's rip is just past it. */
#define X86_SYSCALL_INSN_LEN 2
extern const uint8_t x86_syscall_insn[X86_SYSCALL_INSN_LEN];

/*
 * Kernel-internal return values that ptrace shows in rax of a task stopped
 * at the exit of an interrupted syscall (include/linux/errno.h); user space
 * never sees them.
 */
#ifndef ERESTARTSYS
#define ERESTARTSYS 512
#endif
#ifndef ERESTARTNOINTR
#define ERESTARTNOINTR 513
#endif
#ifndef ERESTARTNOHAND
#define ERESTARTNOHAND 514
#endif
#ifndef ERESTART_RESTARTBLOCK
#define ERESTART_RESTARTBLOCK 516
#endif

/* x32 syscalls carry this bit in their number (__X32_SYSCALL_BIT). */
#define X86_X32_SYSCALL_BIT 0x40000000UL

/* The eflags trap flag: single-step after each instruction (also in <asm/processor-flags.h>). */
#ifndef X86_EFLAGS_TF
#define X86_EFLAGS_TF 0x100UL
#endif

/*
 * Turn regs into "execute syscall nr(args) at insn_addr": rax and orig_rax
 * get nr, rdi rsi rdx r10 r8 r9 the arguments, rip insn_addr (which must hold
 * 0f 05), and the trap flag is cleared so no single-step trap follows. Every
 * other register keeps its value.
 */
void x86_regs_setup_syscall(struct x86_regs *regs, long nr, const unsigned long args[6],
			    unsigned long insn_addr);

/* The task stopped at the exit of a syscall (orig_rax is not -1). */
bool x86_regs_in_syscall(const struct x86_regs *regs);

/* rax holds one of the -ERESTART* codes above. */
bool x86_regs_restart_pending(const struct x86_regs *regs);

/*
 * Apply the kernel's restart logic to the registers of a task stopped at
 * the exit of a syscall: for -ERESTARTSYS, -ERESTARTNOINTR and
 * -ERESTARTNOHAND, rax = orig_rax and rip -= 2 (the syscall runs again); for
 * -ERESTART_RESTARTBLOCK, rax = __NR_restart_syscall and rip -= 2 (the
 * kernel resumes the call from the task's restart block). orig_rax is left
 * alone. Returns true if regs changed, false (regs untouched) if the task
 * was not in an interrupted syscall.
 *
 * This is what happens when no signal handler runs; with a handler, the
 * kernel turns some of these codes into -EINTR instead. Use it where the
 * kernel cannot do it itself (registers saved into an image); a task that
 * is resumed from its original stop gets the kernel's own logic.
 */
bool x86_regs_restart_syscall(struct x86_regs *regs);

/*
 * CRIU's rule for registers saved into an image (compel's get_task_regs):
 * a task caught in a syscall that would restart goes back to the syscall
 * instruction with rax = orig_rax; one that would restart through its
 * restart block (nanosleep ...) gets -EINTR, since the restart block does
 * not survive a checkpoint. Idempotent: dump applies it, restore applies it
 * again to images of older tools.
 */
void x86_regs_criu_restart(struct x86_regs *regs);

/* The -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND a task in a syscall holds in rax, or 0. */
int x86_regs_restart_code(const struct x86_regs *regs);
