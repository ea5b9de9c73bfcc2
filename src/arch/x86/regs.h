/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * General purpose registers of a stopped 64-bit x86 task, read and written
 * with PTRACE_GETREGSET / PTRACE_SETREGSET NT_PRSTATUS. fs_base and gs_base
 * are part of user_regs_struct, so they travel with the rest.
 */

#include <sys/types.h>
#include <sys/user.h>

struct x86_regs {
	struct user_regs_struct gpr;
};

/* The user code segment of 64-bit tasks (__USER_CS); 32-bit tasks run with 0x23. */
#define X86_USER_CS_64 0x33

/*
 * 0, -ESRCH if the task is gone or not stopped, -EOPNOTSUPP for a 32-bit
 * (compat) task, whose regset has another layout.
 */
int x86_regs_get(pid_t tid, struct x86_regs *ret_regs);
int x86_regs_set(pid_t tid, const struct x86_regs *regs);
