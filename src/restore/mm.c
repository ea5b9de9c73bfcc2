/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fields of the task's mm that are not mappings: code, data, brk,
 * stack, arguments, environment, auxv and the executable, set in one
 * prctl(PR_SET_MM, PR_SET_MM_MAP) once the VMAs exist (the kernel checks
 * them against the limits, and wants the executable file as an fd). Then
 * the mm's flags.
 */
#include <fcntl.h>
#include <sys/prctl.h>

#include "compat/syscalls.h"
#include "restore/internal.h"

/* Where the arguments go in the scratch area. */
#define MM_MAP_OFF 0
#define AUXV_OFF 256
/* The kernel keeps at most AT_VECTOR_SIZE words of auxv (about 50); leave room. */
#define AUXV_MAX_WORDS 256

static int set_mm_map(struct rst_ctx *c)
{
	const MmEntry *mm = c->img.mm;
	uint64_t auxv[AUXV_MAX_WORDS + 2];
	size_t n = mm->n_mm_saved_auxv;
	struct prctl_mm_map map = {
		.start_code = mm->mm_start_code,
		.end_code = mm->mm_end_code,
		.start_data = mm->mm_start_data,
		.end_data = mm->mm_end_data,
		.start_brk = mm->mm_start_brk,
		.brk = mm->mm_brk,
		.start_stack = mm->mm_start_stack,
		.arg_start = mm->mm_arg_start,
		.arg_end = mm->mm_arg_end,
		.env_start = mm->mm_env_start,
		.env_end = mm->mm_env_end,
	};
	unsigned long map_addr, auxv_addr;
	int exe_fd, r;
	long res;

	if (n > AUXV_MAX_WORDS || n % 2) {
		rst_err(c,
			"mm-%d.img: an auxv of %zu words is not a list of pairs the kernel keeps",
			c->pid, n);
		return -EBADMSG;
	}
	memcpy(auxv, mm->mm_saved_auxv, n * sizeof(uint64_t));
	/* CRIU leaves the AT_NULL pair out; the kernel wants the vector to end with it. */
	if (n < 2 || auxv[n - 2] != 0) {
		auxv[n++] = 0;
		auxv[n++] = 0;
	}
	exe_fd = rst_files_fd(c, mm->exe_file_id, O_RDONLY);
	r = rst_scratch_put(c, AUXV_OFF, auxv, n * sizeof(uint64_t), &auxv_addr);
	if (r < 0)
		return r;
	map.auxv = (__u64 *)(uintptr_t)auxv_addr;
	map.auxv_size = (__u32)(n * sizeof(uint64_t));
	map.exe_fd = (__u32)exe_fd;
	r = rst_scratch_put(c, MM_MAP_OFF, &map, sizeof(map), &map_addr);
	if (r < 0)
		return r;
	res = rst_sys(c, __NR_prctl, PR_SET_MM, PR_SET_MM_MAP, map_addr, sizeof(map));
	if (res < 0) {
		rst_err(c,
			"prctl(PR_SET_MM_MAP) failed: %s (code %llx-%llx, data %llx-%llx, brk "
			"%llx-%llx, stack %llx)",
			strerror((int)-res), (unsigned long long)map.start_code,
			(unsigned long long)map.end_code, (unsigned long long)map.start_data,
			(unsigned long long)map.end_data, (unsigned long long)map.start_brk,
			(unsigned long long)map.brk, (unsigned long long)map.start_stack);
		return (int)res;
	}
	return 0;
}

int rst_mm_fields(struct rst_ctx *c)
{
	const MmEntry *mm = c->img.mm;
	int r;
	long res;

	r = set_mm_map(c);
	if (r < 0)
		return r;
	if (mm->has_thp_disabled && mm->thp_disabled) {
		res = rst_sys(c, __NR_prctl, PR_SET_THP_DISABLE, 1, 0, 0, 0);
		if (res < 0) {
			rst_err(c, "prctl(PR_SET_THP_DISABLE) failed: %s", strerror((int)-res));
			return (int)res;
		}
	}
	return 0;
}
