/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Address-space arithmetic: the mappings a task has now (/proc/PID/maps),
 * and a free place that is free both now and in the layout to restore.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "restore/internal.h"

enum rst_special rst_special_of(const char *name)
{
	if (streq(name, "[vdso]"))
		return RST_SPECIAL_VDSO;
	/* [vvar_vclock] (Linux 6.13+) is the part of the vvar area with the clock pages. */
	if (streq(name, "[vvar]") || streq(name, "[vvar_vclock]"))
		return RST_SPECIAL_VVAR;
	if (streq(name, "[vsyscall]"))
		return RST_SPECIAL_VSYSCALL;
	return RST_SPECIAL_NONE;
}

/* "start-end perms offset dev inode   name" */
static int parse_line(const char *line, struct rst_mapping *ret)
{
	uint64_t start, end;
	int name_at = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %*s %*s %n", &start, &end, &name_at) <
		    2 ||
	    name_at == 0 || start >= end)
		return -EBADMSG;
	*ret = (struct rst_mapping){.start = start, .end = end};
	ret->special = rst_special_of(line + name_at);
	return 0;
}

int rst_maps_parse(const char *text, struct rst_mapping **ret_maps, size_t *ret_n)
{
	_cleanup_free_ struct rst_mapping *maps = NULL;
	size_t n = 0, cap = 0;

	while (*text) {
		const char *eol = strchrnul(text, '\n');
		char line[512];
		size_t len = MIN((size_t)(eol - text), sizeof(line) - 1);

		memcpy(line, text, len);
		line[len] = '\0';
		text = *eol ? eol + 1 : eol;
		if (len == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct rst_mapping *nm = reallocarray(maps, ncap, sizeof(*nm));

			if (!nm)
				return -ENOMEM;
			maps = nm;
			cap = ncap;
		}
		if (parse_line(line, &maps[n]) < 0) {
			pr_err("restore: cannot parse a line of /proc/PID/maps: '%s'", line);
			return -EBADMSG;
		}
		n++;
	}
	*ret_maps = TAKE_PTR(maps);
	*ret_n = n;
	return 0;
}

static int read_text(const char *path, char **ret_text)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return negative_errno();
	for (;;) {
		ssize_t k;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap += 65536;
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	*ret_text = TAKE_PTR(buf);
	return 0;
}

int rst_maps_read(pid_t pid, struct rst_mapping **ret_maps, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	r = read_text(path, &text);
	if (r < 0) {
		errno = -r;
		pr_perror("restore: cannot read %s", path);
		return r;
	}
	return rst_maps_parse(text, ret_maps, ret_n);
}

static int cmp_range(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int rst_find_gap(struct rst_range *busy, size_t n, uint64_t len, uint64_t lo, uint64_t hi,
		 uint64_t *ret_addr)
{
	/* A free page on each side keeps the area from merging with, or touching, its neighbours.
	 */
	uint64_t cand = ALIGN_UP(lo, RST_PAGE_SIZE) + RST_PAGE_SIZE;

	len = ALIGN_UP(len, RST_PAGE_SIZE);
	qsort(busy, n, sizeof(*busy), cmp_range);
	for (size_t i = 0; i <= n; i++) {
		uint64_t limit = i < n ? busy[i].start : hi;

		if (limit > cand && limit - cand >= len + RST_PAGE_SIZE &&
		    cand + len + RST_PAGE_SIZE <= hi) {
			*ret_addr = cand;
			return 0;
		}
		if (i < n && busy[i].end + RST_PAGE_SIZE > cand)
			cand = ALIGN_UP(busy[i].end, RST_PAGE_SIZE) + RST_PAGE_SIZE;
	}
	return -ENOSPC;
}
