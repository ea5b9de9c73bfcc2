/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * MmEntry: the layout facts of an address space, from /proc (criu/cr-dump.c
 * dump_task_mm takes the same ones from /proc/PID/stat, /proc/PID/auxv and
 * its parasite).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "mem/internal.h"

/* Fields of /proc/PID/stat (1-based, man 5 proc) that MmEntry takes. */
enum {
	STAT_START_CODE = 26,
	STAT_END_CODE = 27,
	STAT_START_STACK = 28,
	STAT_START_DATA = 45,
	STAT_END_DATA = 46,
	STAT_START_BRK = 47,
	STAT_ARG_START = 48,
	STAT_ARG_END = 49,
	STAT_ENV_START = 50,
	STAT_ENV_END = 51,
	STAT_FIELDS = 52,
};

static int read_file(pid_t pid, const char *name, void *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	size_t len = 0;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	while (len < size) {
		ssize_t n = read(fd, (char *)buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
fail:
	r = negative_errno();
	pr_perror("cannot read %s", path);
	return r;
}

/* Split /proc/PID/stat into its fields; the name (field 2) may hold spaces and parentheses. */
static int stat_fields(pid_t pid, char *buf, size_t len, uint64_t *fields)
{
	char *p = memrchr(buf, ')', len), *end;
	int field = 3;

	if (!p)
		goto bad;
	for (p++; field < STAT_FIELDS; field++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			goto bad;
		if (field == 3) { /* the state letter */
			p++;
			continue;
		}
		errno = 0;
		fields[field] = strtoull(p, &end, 10);
		if (end == p || errno)
			goto bad;
		p = end;
	}
	return 0;
bad:
	pr_err("cannot parse /proc/%d/stat (field %d)", pid, field);
	return -EBADMSG;
}

static int fill_from_stat(pid_t pid, MmEntry *mm)
{
	uint64_t f[STAT_FIELDS] = {};
	char buf[1024];
	size_t len;
	int r;

	r = read_file(pid, "stat", buf, sizeof(buf) - 1, &len);
	if (r < 0)
		return r;
	buf[len] = '\0';
	r = stat_fields(pid, buf, len, f);
	if (r < 0)
		return r;
	mm->mm_start_code = f[STAT_START_CODE];
	mm->mm_end_code = f[STAT_END_CODE];
	mm->mm_start_stack = f[STAT_START_STACK];
	mm->mm_start_data = f[STAT_START_DATA];
	mm->mm_end_data = f[STAT_END_DATA];
	mm->mm_start_brk = f[STAT_START_BRK];
	mm->mm_arg_start = f[STAT_ARG_START];
	mm->mm_arg_end = f[STAT_ARG_END];
	mm->mm_env_start = f[STAT_ENV_START];
	mm->mm_env_end = f[STAT_ENV_END];
	return 0;
}

/* The first MEM_AUXV_MAX_WORDS words, as CRIU reads them. */
static int fill_auxv(pid_t pid, MmEntry *mm)
{
	uint64_t *auxv;
	size_t len;
	int r;

	auxv = calloc(MEM_AUXV_MAX_WORDS, sizeof(*auxv));
	if (!auxv)
		return -ENOMEM;
	r = read_file(pid, "auxv", auxv, MEM_AUXV_MAX_WORDS * sizeof(*auxv), &len);
	if (r < 0) {
		free(auxv);
		return r;
	}
	mm->mm_saved_auxv = auxv;
	mm->n_mm_saved_auxv = len / sizeof(*auxv);
	return 0;
}

/* THP_enabled of /proc/PID/status: 0 once the task did prctl(PR_SET_THP_DISABLE). */
static int fill_thp(pid_t pid, MmEntry *mm)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned enabled;

		if (sscanf(line, "THP_enabled: %u", &enabled) == 1) {
			mm->has_thp_disabled = true;
			mm->thp_disabled = !enabled;
			return 0;
		}
	}
	/* A kernel without THP has no such line: nothing to restore. */
	return 0;
}

int mem_mm_fill(pid_t pid, const struct mem_vmas *vmas, const struct mem_mm_facts *facts,
		MmEntry *ret_mm)
{
	MmEntry mm = MM_ENTRY__INIT;
	int r;

	r = fill_from_stat(pid, &mm);
	if (r >= 0)
		r = fill_thp(pid, &mm);
	if (r >= 0)
		r = fill_auxv(pid, &mm);
	if (r < 0)
		return r;
	mm.vmas = calloc(vmas->nr ? vmas->nr : 1, sizeof(*mm.vmas));
	if (!mm.vmas) {
		mem_mm_release(&mm);
		return -ENOMEM;
	}
	for (size_t i = 0; i < vmas->nr; i++)
		mm.vmas[i] = &vmas->v[i].e;
	mm.n_vmas = vmas->nr;
	mm.mm_brk = facts->brk;
	mm.exe_file_id = facts->exe_file_id;
	mm.has_dumpable = true;
	mm.dumpable = facts->dumpable;
	*ret_mm = mm;
	return 0;
}

void mem_mm_release(MmEntry *mm)
{
	free(mm->mm_saved_auxv);
	free(mm->vmas);
	mm->mm_saved_auxv = NULL;
	mm->n_mm_saved_auxv = 0;
	mm->vmas = NULL;
	mm->n_vmas = 0;
}
