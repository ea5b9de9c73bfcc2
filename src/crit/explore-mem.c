/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit x DIR mems|rss: the mappings of mm-PID.img, and the pagemap entries
 * beside the mappings they cover; as crit's text or as JSON.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/explore.h"
#include "proto/mm.pb-c.h"
#include "proto/pagemap.pb-c.h"

enum {
	VMA_AREA_REGULAR = 1 << 0,
	VMA_AREA_STACK = 1 << 1,
	VMA_AREA_VSYSCALL = 1 << 2,
	VMA_AREA_VDSO = 1 << 3,
	VMA_FILE_PRIVATE = 1 << 6,
	VMA_FILE_SHARED = 1 << 7,
	VMA_ANON_SHARED = 1 << 8,
	VMA_AREA_SYSVIPC = 1 << 10,
	VMA_AREA_SOCKET = 1 << 11,
	MAP_GROWSDOWN_FLAG = 0x0100,
};

/* ---- mems ---- */

static int vma_id(struct explorer *x, uint64_t shmid, size_t *ret)
{
	uint64_t *v;

	for (size_t i = 0; i < x->n_vids; i++)
		if (x->vids[i] == shmid) {
			*ret = i + 1;
			return 0;
		}
	v = realloc(x->vids, (x->n_vids + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	x->vids = v;
	x->vids[x->n_vids++] = shmid;
	*ret = x->n_vids;
	return 0;
}

/* What a mapping maps, in crit's order of tests: the kind word of the JSON form. */
static const char *vma_kind(const VmaEntry *vma)
{
	uint32_t st = vma->status;

	if (st & VMA_AREA_SYSVIPC)
		return "ips";
	if (st & VMA_ANON_SHARED)
		return "shmem";
	if (st & VMA_AREA_SOCKET)
		return "packet";
	if (st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))
		return "file";
	if (st & VMA_AREA_STACK)
		return "stack";
	if (st & VMA_AREA_VSYSCALL)
		return "vsyscall";
	if (st & VMA_AREA_VDSO)
		return "vdso";
	if (vma->flags & MAP_GROWSDOWN_FLAG)
		return "stack?";
	return "anon";
}

/* The name part of a mapping's line (fn in crit). */
static int vma_name(struct explorer *x, const VmaEntry *vma, char *buf, size_t size)
{
	_cleanup_free_ char *file = NULL;
	const char *kind = vma_kind(vma);
	size_t id;
	int r, n = 0;

	if (streq(kind, "ips") || streq(kind, "shmem") || streq(kind, "packet")) {
		r = vma_id(x, vma->shmid, &id);
		if (r < 0)
			return r;
		n = snprintf(buf, size, " %s[%zx]", kind, id);
	} else if (streq(kind, "file")) {
		r = explore_file_str(x, FD_TYPES__REG, (uint32_t)vma->shmid, &file);
		if (r < 0)
			return r;
		n = snprintf(buf, size, " %s", file);
		if (vma->pgoff)
			n += snprintf(buf + n, size - n, " + %#" PRIx64, vma->pgoff);
		if (vma->status & VMA_FILE_SHARED)
			n += snprintf(buf + n, size - n, " (s)");
	} else if (!streq(kind, "anon")) {
		n = snprintf(buf, size, " [%s]", kind);
	} else {
		buf[0] = '\0';
	}
	if (!(vma->status & VMA_AREA_REGULAR))
		snprintf(buf + n, size - n, " *");
	return 0;
}

static void prot_str(uint32_t prot, char ret[4])
{
	ret[0] = prot & 1 ? 'r' : '-';
	ret[1] = prot & 2 ? 'w' : '-';
	ret[2] = prot & 4 ? 'x' : '-';
	ret[3] = '\0';
}

static int vma_json(struct explorer *x, const VmaEntry *vma)
{
	const char *kind = vma_kind(vma);
	struct json_out *o = x->json;
	_cleanup_free_ char *file = NULL;
	char prot[4];
	int r;

	prot_str(vma->prot, prot);
	json_obj_begin(o);
	json_key(o, "start");
	json_u64(o, vma->start);
	json_key(o, "end");
	json_u64(o, vma->end);
	json_key(o, "prot");
	json_cstr(o, prot);
	json_key(o, "kind");
	json_cstr(o, kind);
	if (streq(kind, "file")) {
		r = explore_file_str(x, FD_TYPES__REG, (uint32_t)vma->shmid, &file);
		if (r < 0)
			return r;
		json_key(o, "file");
		json_cstr(o, file);
		json_key(o, "pgoff");
		json_u64(o, vma->pgoff);
		json_key(o, "shared");
		json_bool(o, vma->status & VMA_FILE_SHARED);
	} else if (streq(kind, "ips") || streq(kind, "shmem") || streq(kind, "packet")) {
		json_key(o, "shmid");
		json_u64(o, vma->shmid);
	}
	json_key(o, "regular");
	json_bool(o, vma->status & VMA_AREA_REGULAR);
	json_key(o, "status");
	json_u64(o, vma->status);
	json_key(o, "flags");
	json_u64(o, vma->flags);
	json_obj_end(o);
	return 0;
}

static int vma_line(struct explorer *x, const VmaEntry *vma)
{
	char name[PATH_MAX + 64], range[48], prot[4];
	int r;

	r = vma_name(x, vma, name, sizeof(name));
	if (r < 0)
		return r;
	prot_str(vma->prot, prot);
	snprintf(range, sizeof(range), "%08" PRIx64 "-%08" PRIx64, vma->start, vma->end);
	fprintf(x->out, "\t%-36s%s%s\n", range, prot, name);
	return 0;
}

int explore_mems_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *msg = NULL;
	_cleanup_free_ char *exe = NULL;
	const MmEntry *mm;
	int r;

	r = explore_read_one(x, IMG_MM, p->pid, &msg);
	if (r < 0)
		return r;
	mm = (const MmEntry *)msg;
	r = explore_file_str(x, FD_TYPES__REG, mm->exe_file_id, &exe);
	if (r == 0 && x->json) {
		json_key(x->json, "exe");
		json_cstr(x->json, exe);
		json_key(x->json, "vmas");
		json_arr_begin(x->json);
	} else if (r == 0) {
		fprintf(x->out, "%u\n", p->pid);
		fprintf(x->out, "\t%-36s    %s\n", "exe", exe);
	}
	for (size_t i = 0; i < mm->n_vmas && r == 0; i++)
		r = x->json ? vma_json(x, mm->vmas[i]) : vma_line(x, mm->vmas[i]);
	if (x->json)
		json_arr_end(x->json);
	img_msg_free(msg);
	return r;
}

/* ---- rss ---- */

/* Python's list indexing: -1 is the last element. */
static const VmaEntry *vma_at(const MmEntry *mm, long i)
{
	if (i < 0)
		i += (long)mm->n_vmas;
	return i >= 0 && (size_t)i < mm->n_vmas ? mm->vmas[i] : NULL;
}

static int rss_line(struct explorer *x, const MmEntry *mm, const PagemapEntry *pm, long *vmi,
		    long *pvmi)
{
	uint64_t pme = pm->vaddr + (pm->nr_pages << 12);
	char pstr[64];
	int r;

	snprintf(pstr, sizeof(pstr), "\t%" PRIx64 " / %-8" PRIu64, pm->vaddr, pm->nr_pages);
	fprintf(x->out, "%-24s", pstr);
	while (*vmi < (long)mm->n_vmas && vma_at(mm, *vmi) && vma_at(mm, *vmi)->end <= pm->vaddr)
		(*vmi)++;
	while (*vmi < (long)mm->n_vmas && vma_at(mm, *vmi) && vma_at(mm, *vmi)->start < pme) {
		const VmaEntry *vma = vma_at(mm, *vmi);

		if (*vmi == *pvmi) {
			fputs(" ~", x->out);
		} else {
			fprintf(x->out, " %08" PRIx64 " / %-8" PRIu64, vma->start,
				(vma->end - vma->start) >> 12);
			if (vma->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
				_cleanup_free_ char *file = NULL;

				r = explore_file_str(x, FD_TYPES__REG, (uint32_t)vma->shmid, &file);
				if (r < 0)
					return r;
				fprintf(x->out, " %s", file);
			}
			*pvmi = *vmi;
		}
		fprintf(x->out, "\n\t%23s", "");
		(*vmi)++;
	}
	(*vmi)--;
	fputc('\n', x->out);
	return 0;
}

/*
 * The JSON form lists, for each pagemap entry, the start of every mapping
 * it overlaps (not crit's walk, which can name the last mapping for an
 * entry before the first one).
 */
static void rss_json(struct explorer *x, const MmEntry *mm, const PagemapEntry *pm)
{
	uint64_t pme = pm->vaddr + (pm->nr_pages << 12);
	struct json_out *o = x->json;

	json_obj_begin(o);
	json_key(o, "vaddr");
	json_u64(o, pm->vaddr);
	json_key(o, "nr_pages");
	json_u64(o, pm->nr_pages);
	json_key(o, "flags");
	json_u64(o, pm->flags);
	json_key(o, "vmas");
	json_arr_begin(o);
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (mm->vmas[i]->start < pme && mm->vmas[i]->end > pm->vaddr)
			json_u64(o, mm->vmas[i]->start);
	json_arr_end(o);
	json_obj_end(o);
}

int explore_rss_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *mm = NULL;
	struct msgs pms = {};
	long vmi = 0, pvmi = -1;
	int r;

	r = explore_read_one(x, IMG_MM, p->pid, &mm);
	if (r < 0)
		return r;
	r = msgs_load(x->dir, IMG_PAGEMAP, p->pid, &pms);
	if (r == -ENOENT)
		pr_err("%s: no pagemap-%u.img", img_dir_path(x->dir), p->pid);
	if (r == 0)
		explore_list_begin(x, p, "pagemap");
	/* entry 0 is the pagemap head */
	for (size_t i = 1; i < pms.n && r == 0; i++) {
		const PagemapEntry *pm = (const PagemapEntry *)pms.m[i];

		if (x->json)
			rss_json(x, (const MmEntry *)mm, pm);
		else
			r = rss_line(x, (const MmEntry *)mm, pm, &vmi, &pvmi);
	}
	if (r == 0)
		explore_list_end(x);
	msgs_clear(&pms);
	img_msg_free(mm);
	return r;
}
