/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * crit x DIR ps|fds|mems|rss: the explorers of crit's __main__.py, with
 * the same text. They read the images through the generated structs.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/bytes-conv.h"
#include "crit/crit.h"
#include "crit/msgs.h"
#include "image/image.h"
#include "proto/core.pb-c.h"
#include "proto/fdinfo.pb-c.h"
#include "proto/fs.pb-c.h"
#include "proto/mm.pb-c.h"
#include "proto/pagemap.pb-c.h"
#include "proto/pipe.pb-c.h"
#include "proto/pstree.pb-c.h"
#include "proto/regfile.pb-c.h"
#include "proto/sk-unix.pb-c.h"

/* A single-entry image, or a logged error. */
static int read_one(struct img_dir *dir, enum img_type type, uint64_t id, ProtobufCMessage **ret)
{
	int r = img_read_one(dir, type, id, ret);
	char name[64];

	if (r == -ENOENT && img_file_name(type, id, name, sizeof(name)) == 0)
		pr_err("%s/%s: no such image", img_dir_path(dir), name);
	return r;
}

struct explorer {
	struct img_dir *dir;
	FILE *out;
	struct msgs pstree;
	struct msgs files; /* files.img */
	struct msgs regs;  /* reg-files.img, pipes.img, unixsk.img: images before files.img */
	struct msgs pipes;
	struct msgs unixsks;
	/* vma_id of crit: small numbers for the shmid of shared mappings */
	uint64_t *vids;
	size_t n_vids;
};

static void explorer_clear(struct explorer *x)
{
	msgs_clear(&x->pstree);
	msgs_clear(&x->files);
	msgs_clear(&x->regs);
	msgs_clear(&x->pipes);
	msgs_clear(&x->unixsks);
	free(x->vids);
}

static const PstreeEntry *pstree_at(const struct explorer *x, size_t i)
{
	return (const PstreeEntry *)x->pstree.m[i];
}

/* ftype_find_in_files: the files.img entry of id, NULL if not there (or no files.img). */
static int find_in_files(struct explorer *x, uint32_t id, const FileEntry **ret)
{
	int r;

	if (!x->files.loaded) {
		r = msgs_load(x->dir, IMG_FILES, 0, &x->files);
		/* crit takes a files.img it cannot read as an empty one */
		if (r < 0 && r != -ENOENT && r != -EBADMSG)
			return r;
		x->files.loaded = true;
	}
	*ret = NULL;
	for (size_t i = 0; i < x->files.n; i++)
		if (((const FileEntry *)x->files.m[i])->id == id)
			*ret = (const FileEntry *)x->files.m[i];
	return 0;
}

/* The entry of id in an image of per-kind entries (an image before files.img). */
static int find_in_image(struct explorer *x, struct msgs *l, enum img_type type, uint32_t id,
			 const ProtobufCMessage **ret)
{
	const ProtobufCFieldDescriptor *f;
	int r;

	*ret = NULL;
	if (!l->loaded) {
		r = msgs_load(x->dir, type, 0, l);
		if (r == -ENOENT)
			l->loaded = true;
		else if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n; i++) {
		f = protobuf_c_message_descriptor_get_field_by_name(l->m[i]->descriptor, "id");
		if (f && *(const uint32_t *)((const char *)l->m[i] + f->offset) == id)
			*ret = l->m[i];
	}
	return 0;
}

/* get_file_str: how crit names the file of an fd, a cwd or a mapping. */
static int file_str(struct explorer *x, FdTypes type, uint32_t id, char **ret)
{
	const ProtobufCEnumValue *ev =
		protobuf_c_enum_descriptor_get_value(&fd_types__descriptor, type);
	const ProtobufCMessage *m = NULL;
	const FileEntry *fe;
	int r;

	if (type != FD_TYPES__REG && type != FD_TYPES__PIPE && type != FD_TYPES__UNIXSK) {
		if (ev)
			return asprintf(ret, "%s.%u", ev->name, id) < 0 ? -ENOMEM : 0;
		return asprintf(ret, "%d.%u", type, id) < 0 ? -ENOMEM : 0;
	}
	r = find_in_files(x, id, &fe);
	if (r < 0)
		return r;
	if (fe && type == FD_TYPES__REG)
		m = fe->reg ? &fe->reg->base : NULL;
	else if (fe && type == FD_TYPES__PIPE)
		m = fe->pipe ? &fe->pipe->base : NULL;
	else if (fe)
		m = fe->usk ? &fe->usk->base : NULL;
	else if (type == FD_TYPES__REG)
		r = find_in_image(x, &x->regs, IMG_REG_FILES, id, &m);
	else if (type == FD_TYPES__PIPE)
		r = find_in_image(x, &x->pipes, IMG_PIPES, id, &m);
	else
		r = find_in_image(x, &x->unixsks, IMG_UNIXSK, id, &m);
	if (r < 0)
		return r;
	if (type == FD_TYPES__REG) {
		const RegFileEntry *rf = (const RegFileEntry *)m;

		*ret = strdup(rf && rf->name && *rf->name ? rf->name : "unknown path");
	} else if (type == FD_TYPES__PIPE) {
		if (m)
			return asprintf(ret, "pipe[%u]", ((const PipeEntry *)m)->pipe_id) < 0
				       ? -ENOMEM
				       : 0;
		*ret = strdup("pipe[?]");
	} else {
		const UnixSkEntry *u = (const UnixSkEntry *)m;
		_cleanup_free_ char *name = NULL;
		size_t len = 0;

		if (!u) {
			*ret = strdup("unix[?]");
			return *ret ? 0 : -ENOMEM;
		}
		/* crit prints the name as decode shows it: quoted-printable */
		r = qp_encode(u->name.data, u->name.len, &name, &len);
		if (r < 0)
			return r;
		return asprintf(ret, "unix[%u (%u)%s%s]", u->ino, u->peer, len ? " " : "", name) < 0
			       ? -ENOMEM
			       : 0;
	}
	return *ret ? 0 : -ENOMEM;
}

/* "<before><file name><after>" */
static int print_file(struct explorer *x, const char *before, FdTypes type, uint32_t id,
		      const char *after)
{
	_cleanup_free_ char *s = NULL;
	int r = file_str(x, type, id, &s);

	if (r < 0)
		return r;
	fprintf(x->out, "%s%s%s", before, s, after);
	return 0;
}

/* ---- ps ---- */

static int print_ps(struct explorer *x, size_t i, const char *const *comms, unsigned depth)
{
	const PstreeEntry *p = pstree_at(x, i);
	int r;

	/* a task listed twice can make a loop */
	if (depth > x->pstree.n) {
		pr_err("%s/pstree.img: the process tree has a loop", img_dir_path(x->dir));
		return -EBADMSG;
	}
	fprintf(x->out, "%7u%7u%7u   %*s%s\n", p->pid, p->pgid, p->sid, 4 * depth, "", comms[i]);
	for (size_t k = 0; k < x->pstree.n; k++) {
		if (pstree_at(x, k)->ppid != p->pid || pstree_at(x, k)->ppid == 0)
			continue;
		r = print_ps(x, k, comms, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

static int explore_ps(struct explorer *x)
{
	_cleanup_free_ const char **comms = calloc(x->pstree.n + 1, sizeof(*comms));
	struct msgs cores = {};
	ssize_t root = -1;
	int r = 0;

	if (!comms)
		return -ENOMEM;
	cores.m = calloc(x->pstree.n + 1, sizeof(*cores.m));
	if (!cores.m)
		return -ENOMEM;
	for (size_t i = 0; i < x->pstree.n && r == 0; i++) {
		const PstreeEntry *p = pstree_at(x, i);
		const CoreEntry *core;
		bool parent_found = p->ppid == 0;

		r = read_one(x->dir, IMG_CORE, p->pid, &cores.m[i]);
		if (r < 0)
			break;
		cores.n++;
		core = (const CoreEntry *)cores.m[i];
		if (!core->tc) {
			pr_err("%s/core-%u.img: no task core (tc)", img_dir_path(x->dir), p->pid);
			r = -EBADMSG;
			break;
		}
		comms[i] = core->tc->comm;
		for (size_t k = 0; k < x->pstree.n; k++)
			parent_found |= pstree_at(x, k)->pid == p->ppid;
		if (!parent_found) {
			pr_err("%s/pstree.img: parent %u of %u is not in the tree",
			       img_dir_path(x->dir), p->ppid, p->pid);
			r = -EBADMSG;
		}
		/* crit takes the last task without a parent as the root */
		if (p->ppid == 0)
			root = i;
	}
	if (r == 0 && root < 0) {
		pr_err("%s/pstree.img: no root task", img_dir_path(x->dir));
		r = -EBADMSG;
	}
	if (r == 0) {
		fprintf(x->out, "%7s%7s%7s   %s\n", "PID", "PGID", "SID", "COMM");
		r = print_ps(x, root, comms, 0);
	}
	msgs_clear(&cores);
	return r;
}

/* ---- fds ---- */

static int explore_fds_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *ids = NULL, *fs = NULL;
	struct msgs fds = {};
	int r;

	r = read_one(x->dir, IMG_IDS, p->pid, &ids);
	if (r < 0)
		return r;
	r = msgs_load(x->dir, IMG_FDINFO, ((TaskKobjIdsEntry *)ids)->files_id, &fds);
	if (r == -ENOENT)
		pr_err("%s: no fdinfo-%u.img", img_dir_path(x->dir),
		       ((TaskKobjIdsEntry *)ids)->files_id);
	img_msg_free(ids);
	if (r < 0)
		return r;
	fprintf(x->out, "%u\n", p->pid);
	for (size_t i = 0; i < fds.n && r == 0; i++) {
		const FdinfoEntry *fd = (const FdinfoEntry *)fds.m[i];
		char before[32];

		snprintf(before, sizeof(before), "\t%7u: ", fd->fd);
		r = print_file(x, before, fd->type, fd->id, "\n");
	}
	msgs_clear(&fds);
	if (r == 0)
		r = read_one(x->dir, IMG_FS, p->pid, &fs);
	if (r == 0)
		r = print_file(x, "\t    cwd: ", FD_TYPES__REG, ((FsEntry *)fs)->cwd_id, "\n");
	if (r == 0)
		r = print_file(x, "\t   root: ", FD_TYPES__REG, ((FsEntry *)fs)->root_id, "\n");
	img_msg_free(fs);
	return r;
}

/* ---- mems ---- */

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

/* The name part of a mapping's line (fn in crit). */
static int vma_name(struct explorer *x, const VmaEntry *vma, char *buf, size_t size)
{
	_cleanup_free_ char *file = NULL;
	uint32_t st = vma->status;
	size_t id;
	int r, n = 0;

	if (st & (VMA_AREA_SYSVIPC | VMA_ANON_SHARED | VMA_AREA_SOCKET)) {
		r = vma_id(x, vma->shmid, &id);
		if (r < 0)
			return r;
		n = snprintf(buf, size, " %s[%zx]",
			     st & VMA_AREA_SYSVIPC  ? "ips"
			     : st & VMA_ANON_SHARED ? "shmem"
						    : "packet",
			     id);
	} else if (st & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		r = file_str(x, FD_TYPES__REG, (uint32_t)vma->shmid, &file);
		if (r < 0)
			return r;
		n = snprintf(buf, size, " %s", file);
		if (vma->pgoff)
			n += snprintf(buf + n, size - n, " + %#" PRIx64, vma->pgoff);
		if (st & VMA_FILE_SHARED)
			n += snprintf(buf + n, size - n, " (s)");
	} else if (st & VMA_AREA_STACK) {
		n = snprintf(buf, size, " [stack]");
	} else if (st & VMA_AREA_VSYSCALL) {
		n = snprintf(buf, size, " [vsyscall]");
	} else if (st & VMA_AREA_VDSO) {
		n = snprintf(buf, size, " [vdso]");
	} else if (vma->flags & MAP_GROWSDOWN_FLAG) {
		n = snprintf(buf, size, " [stack?]");
	} else {
		buf[0] = '\0';
	}
	if (!(st & VMA_AREA_REGULAR))
		snprintf(buf + n, size - n, " *");
	return 0;
}

static int explore_mems_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *msg = NULL;
	_cleanup_free_ char *exe = NULL;
	const MmEntry *mm;
	int r;

	r = read_one(x->dir, IMG_MM, p->pid, &msg);
	if (r < 0)
		return r;
	mm = (const MmEntry *)msg;
	fprintf(x->out, "%u\n", p->pid);
	r = file_str(x, FD_TYPES__REG, mm->exe_file_id, &exe);
	if (r == 0)
		fprintf(x->out, "\t%-36s    %s\n", "exe", exe);
	for (size_t i = 0; i < mm->n_vmas && r == 0; i++) {
		const VmaEntry *vma = mm->vmas[i];
		char name[PATH_MAX + 64], range[48];

		r = vma_name(x, vma, name, sizeof(name));
		if (r < 0)
			break;
		snprintf(range, sizeof(range), "%08" PRIx64 "-%08" PRIx64, vma->start, vma->end);
		fprintf(x->out, "\t%-36s%c%c%c%s\n", range, vma->prot & 1 ? 'r' : '-',
			vma->prot & 2 ? 'w' : '-', vma->prot & 4 ? 'x' : '-', name);
	}
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
				r = print_file(x, " ", FD_TYPES__REG, (uint32_t)vma->shmid, "");
				if (r < 0)
					return r;
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

static int explore_rss_of(struct explorer *x, const PstreeEntry *p)
{
	ProtobufCMessage *mm = NULL;
	struct msgs pms = {};
	long vmi = 0, pvmi = -1;
	int r;

	r = read_one(x->dir, IMG_MM, p->pid, &mm);
	if (r < 0)
		return r;
	r = msgs_load(x->dir, IMG_PAGEMAP, p->pid, &pms);
	if (r == -ENOENT)
		pr_err("%s: no pagemap-%u.img", img_dir_path(x->dir), p->pid);
	if (r == 0) {
		fprintf(x->out, "%u\n", p->pid);
		/* entry 0 is the pagemap head */
		for (size_t i = 1; i < pms.n && r == 0; i++)
			r = rss_line(x, (const MmEntry *)mm, (const PagemapEntry *)pms.m[i], &vmi,
				     &pvmi);
	}
	msgs_clear(&pms);
	img_msg_free(mm);
	return r;
}

int crit_explore(const char *dir_path, const char *what, FILE *out)
{
	static const struct {
		const char *name;
		int (*per_task)(struct explorer *x, const PstreeEntry *p);
	} explorers[] = {
		{"ps", NULL},
		{"fds", explore_fds_of},
		{"mems", explore_mems_of},
		{"rss", explore_rss_of},
	};
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	struct explorer x = {.out = out};
	size_t e;
	int r;

	for (e = 0; e < ELEMENTSOF(explorers); e++)
		if (streq(what, explorers[e].name))
			break;
	if (e == ELEMENTSOF(explorers))
		return -EINVAL;
	r = img_dir_open(dir_path, &dir);
	if (r < 0)
		return r;
	x.dir = dir;
	r = msgs_load(dir, IMG_PSTREE, 0, &x.pstree);
	if (r == -ENOENT)
		pr_err("%s/pstree.img: no such image", dir_path);
	if (r == 0 && !explorers[e].per_task)
		r = explore_ps(&x);
	else
		for (size_t i = 0; r == 0 && i < x.pstree.n; i++)
			r = explorers[e].per_task(&x, pstree_at(&x, i));
	explorer_clear(&x);
	return r;
}
