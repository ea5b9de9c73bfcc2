/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scratch area: one anonymous mapping in the task, made with a remote
 * mmap, that holds the syscall instruction every later remote syscall runs
 * (so the task's own code is poked only once, for that mmap) and room for
 * the arguments and results of remote syscalls.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "arch/x86/syscall.h"
#include "base/log.h"
#include "rsys/internal.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* A syscall's raw return value is an error if it lies in -4095..-1. */
static bool syscall_failed(long res)
{
	return res < 0 && res >= -4095;
}

static int remote_munmap(struct rsys_task *t, unsigned long addr, size_t len)
{
	const unsigned long args[6] = {addr, len};
	long res;
	int r;

	r = rsys_syscall(t, __NR_munmap, args, &res);
	if (r < 0)
		return r;
	if (syscall_failed(res)) {
		pr_err("Remote munmap of %#lx (%zu bytes) in %d failed: %s", addr, len, t->tid,
		       strerror((int)-res));
		return (int)res;
	}
	return 0;
}

int rsys_mmap_scratch(struct rsys_task *t, unsigned long addr, size_t size, unsigned long *ret_addr)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = ALIGN_UP(size + RSYS_CODE_AREA, page);
	unsigned long flags = MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED_NOREPLACE : 0);
	const unsigned long args[6] = {
		addr, len, PROT_READ | PROT_WRITE | PROT_EXEC, flags, (unsigned long)-1, 0,
	};
	uint8_t code[RSYS_CODE_AREA];
	long res;
	int r;

	if (t->scratch_base != 0)
		return -EEXIST;
	r = rsys_syscall(t, __NR_mmap, args, &res);
	if (r < 0)
		return r;
	if (syscall_failed(res)) {
		pr_err("Remote mmap of %zu bytes at %#lx in %d failed: %s", len, addr, t->tid,
		       strerror((int)-res));
		return (int)res;
	}
	/* Kernels before 4.17 take MAP_FIXED_NOREPLACE as a mere hint. */
	if (addr != 0 && (unsigned long)res != addr) {
		pr_err("Remote mmap in %d put the scratch area at %#lx instead of %#lx", t->tid,
		       (unsigned long)res, addr);
		(void)remote_munmap(t, (unsigned long)res, len);
		return -EEXIST;
	}

	/* syscall, then int3s: running past the instruction traps instead of running garbage. */
	memset(code, 0xcc, sizeof(code));
	memcpy(code, x86_syscall_insn, X86_SYSCALL_INSN_LEN);
	r = rsys_write_mem(t, (unsigned long)res, code, sizeof(code));
	if (r < 0) {
		(void)remote_munmap(t, (unsigned long)res, len);
		return r;
	}
	t->scratch_base = (unsigned long)res;
	t->scratch_len = len;
	pr_debug("Task %d: scratch area at %#lx, %zu bytes", t->tid, t->scratch_base, len);
	*ret_addr = t->scratch_base + RSYS_CODE_AREA;
	return 0;
}

int rsys_munmap_scratch(struct rsys_task *t)
{
	int r;

	if (t->scratch_base == 0)
		return 0;
	if (t->scratch_borrowed) {
		t->scratch_base = 0;
		t->scratch_len = 0;
		t->scratch_borrowed = false;
		return 0;
	}
	/* Runs from inside the area it unmaps: the task is parked at the syscall exit, never back
	 * in it. */
	r = remote_munmap(t, t->scratch_base, t->scratch_len);
	if (r < 0)
		return r;
	t->scratch_base = 0;
	t->scratch_len = 0;
	return 0;
}

int rsys_borrow_scratch(struct rsys_task *t, const struct rsys_task *owner,
			unsigned long *ret_addr)
{
	if (t->scratch_base != 0)
		return -EEXIST;
	if (owner->scratch_base == 0)
		return -EINVAL;
	t->scratch_base = owner->scratch_base;
	t->scratch_len = owner->scratch_len;
	t->scratch_borrowed = true;
	*ret_addr = t->scratch_base + RSYS_CODE_AREA;
	return 0;
}
