/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <cpuid.h>
#include <elf.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "arch/x86/fpu.h"
#include "base/log.h"
#include "compat/ptrace.h"

/* Far above any real XSAVE area (AMX included: about 11 KiB). */
#define X86_XSAVE_SIZE_LIMIT (1u << 20)

size_t x86_xsave_max_size(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_XSAVE))
		return 0;
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return 0;
	/* ECX covers every feature the CPU supports, even those the kernel left disabled. */
	return ecx;
}

uint64_t x86_xcr0(void)
{
	unsigned int eax, ebx, ecx, edx, lo, hi;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

/* Read one regset into a fresh buffer of `size` bytes; the kernel says how much it filled. */
static int get_regset(pid_t tid, unsigned int type, size_t size, struct x86_fpu *ret_fpu)
{
	_cleanup_free_ void *buf = calloc(1, size);
	struct iovec iov = {.iov_base = buf, .iov_len = size};

	if (!buf)
		return -ENOMEM;
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(unsigned long)type, &iov) < 0)
		return negative_errno();
	ret_fpu->size = iov.iov_len;
	ret_fpu->area = TAKE_PTR(buf);
	return 0;
}

/*
 * The kernel copies min(buffer, its regset size) and reports what it copied,
 * so a full buffer may mean a truncated one: grow and retry until it is not.
 * CPUID's maximum is normally already enough.
 */
static int get_xstate(pid_t tid, struct x86_fpu *ret_fpu)
{
	size_t size = x86_xsave_max_size();

	if (size == 0)
		return -ENODEV;
	for (; size <= X86_XSAVE_SIZE_LIMIT; size *= 2) {
		struct x86_fpu fpu = {.xsave = true};
		int r = get_regset(tid, NT_X86_XSTATE, size, &fpu);

		if (r < 0)
			return r;
		if (fpu.size < size) {
			*ret_fpu = fpu;
			return 0;
		}
		x86_fpu_done(&fpu);
	}
	return -EOVERFLOW;
}

int x86_fpu_get(pid_t tid, struct x86_fpu *ret_fpu)
{
	struct x86_fpu fpu = {};
	int r;

	r = get_xstate(tid, &fpu);
	if (r == -ENODEV || r == -EINVAL)
		r = get_regset(tid, NT_PRFPREG, sizeof(struct user_fpregs_struct), &fpu);
	if (r < 0) {
		errno = -r;
		pr_perror("Can't read the FPU state of %d", tid);
		return r;
	}
	*ret_fpu = fpu;
	return 0;
}

int x86_fpu_set(pid_t tid, const struct x86_fpu *fpu)
{
	struct iovec iov = {.iov_base = fpu->area, .iov_len = fpu->size};
	unsigned long type = fpu->xsave ? NT_X86_XSTATE : NT_PRFPREG;

	if (ptrace(PTRACE_SETREGSET, tid, (void *)type, &iov) < 0) {
		int r = negative_errno();
		pr_perror("Can't write the FPU state of %d (%zu bytes)", tid, fpu->size);
		return r;
	}
	return 0;
}

void x86_fpu_done(struct x86_fpu *fpu)
{
	free(fpu->area);
	fpu->area = NULL;
	fpu->size = 0;
}
