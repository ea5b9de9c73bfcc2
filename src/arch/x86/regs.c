/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <elf.h>
#include <sys/uio.h>

#include "arch/x86/regs.h"
#include "base/log.h"
#include "compat/ptrace.h"

int x86_regs_get(pid_t tid, struct x86_regs *ret_regs)
{
	struct user_regs_struct gpr;
	struct iovec iov = {.iov_base = &gpr, .iov_len = sizeof(gpr)};

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		int r = negative_errno();
		pr_perror("Can't read the registers of %d", tid);
		return r;
	}
	/* A compat task fills the smaller 32-bit user_regs_struct. */
	if (iov.iov_len != sizeof(gpr) || gpr.cs != X86_USER_CS_64) {
		pr_err("Task %d is a 32-bit task (cs %#llx, %zu bytes of registers): not supported",
		       tid, gpr.cs, iov.iov_len);
		return -EOPNOTSUPP;
	}
	ret_regs->gpr = gpr;
	return 0;
}

int x86_regs_set(pid_t tid, const struct x86_regs *regs)
{
	struct iovec iov = {.iov_base = (void *)&regs->gpr, .iov_len = sizeof(regs->gpr)};

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) < 0) {
		int r = negative_errno();
		pr_perror("Can't write the registers of %d", tid);
		return r;
	}
	return 0;
}
