/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/auxv: the auxiliary vector the kernel gave the program at exec,
 * raw (type, value) pairs of unsigned long up to and including AT_NULL.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "base/proc.h"

int proc_parse_auxv(const void *data, size_t len, const char *what, struct proc_auxv *ret)
{
	const char *bytes = data;
	size_t n_pairs = len / (2 * sizeof(uint64_t));
	struct proc_auxv aux = {0};
	size_t i;

	if (len % (2 * sizeof(uint64_t))) {
		pr_err("%s: %zu bytes, not a whole number of (type, value) pairs", what, len);
		return -EINVAL;
	}
	/* Kernel threads have no mm: an empty file. */
	if (len == 0) {
		*ret = aux;
		return 0;
	}
	for (i = 0; i < n_pairs; i++) {
		uint64_t type, value;

		/* data may be unaligned */
		memcpy(&type, bytes + 16 * i, sizeof(type));
		memcpy(&value, bytes + 16 * i + 8, sizeof(value));
		if (type == AT_NULL)
			break;
		if (aux.n == PROC_AUXV_MAX) {
			pr_err("%s: more than %d entries", what, PROC_AUXV_MAX);
			return -EINVAL;
		}
		aux.ent[aux.n].type = type;
		aux.ent[aux.n].value = value;
		aux.n++;
	}
	if (i == n_pairs) {
		pr_err("%s: entry %zu: no AT_NULL at the end", what, n_pairs);
		return -EINVAL;
	}
	*ret = aux;
	return 0;
}

int proc_read_auxv(pid_t pid, struct proc_auxv *ret)
{
	char path[PROC_PATH_MAX];
	/* room for one pair more than we keep, so that a full vector still shows its AT_NULL */
	uint64_t buf[2 * (PROC_AUXV_MAX + 1) + 1];
	size_t len;
	int r;

	proc_path(path, pid, 0, "auxv");
	r = proc_read_file_into(path, (char *)buf, sizeof(buf), &len);
	if (r < 0)
		return r;
	return proc_parse_auxv(buf, len, path, ret);
}
