/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two kinds of /proc/PID/smaps lines stasis reads: a VMA's head line and
 * its VmFlags line. Pure functions, tested on their own.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "base/macro.h"
#include "mem/internal.h"

/* "%lx-%lx " at the start: the head of a VMA (other lines start with a field name). */
static bool is_head(const char *line)
{
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	if (p == line || *p++ != '-')
		return false;
	line = p;
	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p != line && *p == ' ';
}

int smaps_parse_head(char *line, struct smaps_head *ret_head)
{
	struct smaps_head h = {};
	char r, w, x, s;
	size_t len;
	int name_off = -1;

	if (!is_head(line))
		return -EINVAL;
	if (sscanf(line,
		   "%" SCNx64 "-%" SCNx64 " %c%c%c%c %" SCNx64 " %" SCNx32 ":%" SCNx32 " %" SCNu64
		   " %n",
		   &h.start, &h.end, &r, &w, &x, &s, &h.pgoff, &h.dev_major, &h.dev_minor, &h.ino,
		   &name_off) != 10 ||
	    name_off < 0)
		return -EINVAL;
	if (h.end <= h.start || (s != 's' && s != 'p'))
		return -EINVAL;
	h.prot = (r == 'r' ? PROT_READ : 0) | (w == 'w' ? PROT_WRITE : 0) |
		 (x == 'x' ? PROT_EXEC : 0);
	h.shared = s == 's';
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	/* %n stopped after the spaces that pad the name column, or at the end. */
	h.name = line + name_off;
	*ret_head = h;
	return 0;
}

struct vmflag {
	char name[3];
	uint32_t map_flag;
	int madv; /* -1: none */
};

/*
 * The VmFlags CRIU turns into mmap flags and madvise bits (criu/proc_parse.c
 * parse_vmflags), and wf (MADV_WIPEONFORK), which CRIU's restore applies like
 * any other bit.
 */
static const struct vmflag vmflags[] = {
	{"gd", MAP_GROWSDOWN, -1}, {"lo", MAP_LOCKED, -1},     {"nr", MAP_NORESERVE, -1},
	{"ht", MAP_HUGETLB, -1},   {"sr", 0, MADV_SEQUENTIAL}, {"rr", 0, MADV_RANDOM},
	{"dc", 0, MADV_DONTFORK},  {"dd", 0, MADV_DONTDUMP},   {"mg", 0, MADV_MERGEABLE},
	{"hg", 0, MADV_HUGEPAGE},  {"nh", 0, MADV_NOHUGEPAGE}, {"wf", 0, MADV_WIPEONFORK},
};

void smaps_parse_vmflags(const char *flags, struct smaps_vmflags *ret)
{
	const char *p = flags;

	*ret = (struct smaps_vmflags){};
	for (;;) {
		while (*p == ' ')
			p++;
		if (!p[0] || p[0] == '\n' || !p[1])
			break;
		for (size_t i = 0; i < ELEMENTSOF(vmflags); i++) {
			if (p[0] != vmflags[i].name[0] || p[1] != vmflags[i].name[1])
				continue;
			ret->map_flags |= vmflags[i].map_flag;
			if (vmflags[i].madv >= 0)
				ret->madv |= UINT64_C(1) << vmflags[i].madv;
		}
		if ((p[0] == 'i' && p[1] == 'o') || (p[0] == 'p' && p[1] == 'f'))
			ret->io_pfnmap = true;
		if (p[0] == 's' && p[1] == 's')
			ret->shadow_stack = true;
		if (p[0] == 'l' && p[1] == 'f')
			ret->lock_onfault = true;
		if (p[0] == 'u' && (p[1] == 'm' || p[1] == 'w' || p[1] == 'i'))
			ret->uffd = true;
		if (p[0] == 's' && p[1] == 'd')
			ret->soft_dirty = true;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
}
