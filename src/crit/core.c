/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stasis image core -D DIR [-p PID] -o OUTDIR: an ELF core file per process
 * of an image set, for gdb and readelf (see docs/crit.md). Notes come from
 * core-notes.c; this file reads the images, lays the file out and copies
 * the dumped pages into it, extent by extent (holes stay holes).
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/core-notes.h"
#include "crit/crit.h"
#include "crit/msgs.h"
#include "crit/output.h"
#include "fdinfo.pb-c.h"
#include "image/image.h"
#include "regfile.pb-c.h"

/* mm.proto's VmaEntry.status bits used here (CRIU's VMA_*). */
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define TASK_ZOMBIE 6 /* task_state */

#define COPY_CHUNK (1u << 20)

/* The names of the regular files of an image set, by file id. */
struct reg_names {
	struct msgs msgs;
	bool file_entries; /* FileEntry (files.img), else RegFileEntry (reg-files.img) */
};

static int reg_names_load(struct img_dir *dir, struct reg_names *ret)
{
	struct reg_names rn = {.file_entries = true};
	int r;

	r = msgs_load(dir, IMG_FILES, 0, &rn.msgs);
	if (r == -ENOENT) {
		rn.file_entries = false;
		r = msgs_load(dir, IMG_REG_FILES, 0, &rn.msgs);
	}
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = rn;
	return 0;
}

/* The reg-file entry of a file id, NULL if the images lack it. */
static const RegFileEntry *reg_file(const struct reg_names *rn, uint64_t id)
{
	for (size_t i = 0; i < rn->msgs.n; i++) {
		const ProtobufCMessage *m = rn->msgs.m[i];

		if (rn->file_entries && ((const FileEntry *)m)->id == id)
			return ((const FileEntry *)m)->reg;
		if (!rn->file_entries && ((const RegFileEntry *)m)->id == id)
			return (const RegFileEntry *)m;
	}
	return NULL;
}

static const char *reg_name(const struct reg_names *rn, uint64_t id)
{
	const RegFileEntry *rf = reg_file(rn, id);

	return rf && rf->name ? rf->name : "(unknown)";
}

/* What one process's core file is made of. */
struct proc_images {
	const PstreeEntry *task;
	CoreEntry **cores; /* per thread, main thread first */
	uint32_t *tids;
	size_t n_threads;
	MmEntry *mm;
	struct img_pagemap *pm; /* NULL if the process has no pagemap */
	struct core_file_map *files;
	size_t n_files;
	char psargs[81];
};

static void proc_images_done(struct proc_images *pi)
{
	for (size_t i = 0; i < pi->n_threads; i++)
		if (pi->cores[i])
			img_msg_free(&pi->cores[i]->base);
	free(pi->cores);
	free(pi->tids);
	if (pi->mm)
		img_msg_free(&pi->mm->base);
	if (pi->pm)
		img_pagemap_free(pi->pm);
	free(pi->files);
}

static int read_threads(struct img_dir *dir, struct proc_images *pi)
{
	const PstreeEntry *t = pi->task;
	size_t n = t->n_threads ? t->n_threads : 1;

	pi->cores = calloc(n, sizeof(*pi->cores));
	pi->tids = calloc(n, sizeof(*pi->tids));
	if (!pi->cores || !pi->tids)
		return -ENOMEM;
	pi->tids[0] = t->pid;
	pi->n_threads = 1;
	for (size_t i = 0; i < t->n_threads; i++)
		if (t->threads[i] != t->pid && pi->n_threads < n)
			pi->tids[pi->n_threads++] = t->threads[i];
	for (size_t i = 0; i < pi->n_threads; i++) {
		int r = img_read_one(dir, IMG_CORE, pi->tids[i],
				     (ProtobufCMessage **)&pi->cores[i]);

		if (r < 0) {
			if (r == -ENOENT)
				pr_err("%s: no core-%u.img for thread %u of %u", img_dir_path(dir),
				       pi->tids[i], pi->tids[i], t->pid);
			return r;
		}
	}
	return 0;
}

/* The command line from the dumped stack pages, NULs as spaces, as ps shows it. */
static void read_psargs(struct proc_images *pi)
{
	uint64_t start = pi->mm->mm_arg_start, end = pi->mm->mm_arg_end;
	size_t len = end > start ? MIN(end - start, sizeof(pi->psargs) - 1) : 0;

	memset(pi->psargs, 0, sizeof(pi->psargs));
	if (!pi->pm || img_pagemap_read(pi->pm, start, pi->psargs, len, IMG_READ_HOLES_AS_ZERO) < 0)
		len = 0;
	pi->psargs[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (pi->psargs[i] == '\0')
			pi->psargs[i] = ' ';
	while (len && pi->psargs[len - 1] == ' ')
		pi->psargs[--len] = '\0';
}

static int collect_files(struct proc_images *pi, const struct reg_names *rn)
{
	pi->files = calloc(pi->mm->n_vmas + 1, sizeof(*pi->files));
	if (!pi->files)
		return -ENOMEM;
	for (size_t i = 0; i < pi->mm->n_vmas; i++) {
		const VmaEntry *v = pi->mm->vmas[i];

		if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))
			pi->files[pi->n_files++] = (struct core_file_map){
				.start = v->start,
				.end = v->end,
				.pgoff = v->pgoff,
				.path = reg_name(rn, v->shmid),
			};
	}
	return 0;
}

static int read_process(struct img_dir *dir, const struct reg_names *rn, struct proc_images *pi)
{
	int r;

	r = read_threads(dir, pi);
	if (r < 0)
		return r;
	r = img_read_one(dir, IMG_MM, pi->task->pid, (ProtobufCMessage **)&pi->mm);
	if (r == -ENOENT)
		pr_err("%s: no mm-%u.img for process %u", img_dir_path(dir), pi->task->pid,
		       pi->task->pid);
	if (r < 0)
		return r;
	r = img_pagemap_open(dir, IMG_PAGEMAP, pi->task->pid, &pi->pm);
	if (r == -ENOENT)
		pr_warn("%s: no pagemap-%u.img: the core of %u has no memory contents",
			img_dir_path(dir), pi->task->pid, pi->task->pid);
	else if (r < 0)
		return r;
	read_psargs(pi);
	return collect_files(pi, rn);
}

/* Does any dumped page fall into [start, end)? */
static bool has_pages(const struct img_pagemap *pm, uint64_t start, uint64_t end)
{
	const struct img_page_extent *x;
	size_t n = pm ? img_pagemap_extents(pm, &x) : 0;

	for (size_t i = 0; i < n; i++)
		if (x[i].vaddr < end && x[i].vaddr + x[i].nr_pages * IMG_PAGE_SIZE > start)
			return true;
	return false;
}

static int write_at(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? negative_errno() : -EIO;

			errno = -r;
			pr_perror("cannot write %s", path);
			return r;
		}
		p += n, off += n, len -= n;
	}
	return 0;
}

/*
 * Copy the pages of pm that fall into [base, base + len) to the file at
 * off (+ their distance from base). base is the VMA's start for private
 * memory, its offset in the object for shared memory.
 */
static int copy_pages(struct img_pagemap *pm, uint64_t base, uint64_t len, int fd, uint64_t off,
		      const char *path, uint8_t *buf)
{
	const struct img_page_extent *x;
	size_t n = img_pagemap_extents(pm, &x);

	for (size_t i = 0; i < n; i++) {
		uint64_t s = MAX(x[i].vaddr, base);
		uint64_t e = MIN(x[i].vaddr + x[i].nr_pages * IMG_PAGE_SIZE, base + len);

		for (; s < e; s += COPY_CHUNK) {
			size_t chunk = MIN(COPY_CHUNK, e - s);
			int r = img_pagemap_read(pm, s, buf, chunk, 0);

			if (r == 0)
				r = write_at(fd, buf, chunk, off + (s - base), path);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/*
 * The mapped file, if it can stand for the pages the images lack: a
 * regular file at the dumped path with the dumped size. -1 (warned once per
 * mapping) otherwise: those pages stay zeros.
 */
static int open_mapped_file(const RegFileEntry *rf, const VmaEntry *v)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!rf || !rf->name)
		return -1;
	fd = open(rf->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (rf->has_size && (uint64_t)st.st_size != rf->size)) {
		pr_warn("mapping %#" PRIx64 "-%#" PRIx64 " of %s: the pages not in the images are "
			"zeros in the core file (the file is %s)",
			v->start, v->end, rf->name,
			fd < 0 ? "not readable" : "not the dumped one: other type or size");
		return -1;
	}
	return TAKE_FD(fd);
}

/* Copy [start, end) of a file mapping from the file (up to its end: beyond it, holes). */
static int copy_from_file(int in, const VmaEntry *v, uint64_t start, uint64_t end, int fd,
			  uint64_t off, const char *path, uint8_t *buf)
{
	for (uint64_t s = start; s < end; s += COPY_CHUNK) {
		size_t chunk = MIN(COPY_CHUNK, end - s);
		ssize_t n = pread(in, buf, chunk, (off_t)(v->pgoff + (s - v->start)));
		int r;

		if (n <= 0)
			return 0; /* the end of the file, or it went away: zeros */
		r = write_at(fd, buf, (size_t)n, off + (s - v->start), path);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * A file mapping with some dumped pages is written whole, as the kernel's
 * cores hold it: the dumped pages (written private ones) and the file's
 * contents for the others.
 */
static int fill_file_gaps(struct proc_images *pi, const RegFileEntry *rf, const VmaEntry *v, int fd,
			  uint64_t off, const char *path, uint8_t *buf)
{
	_cleanup_close_ int in = open_mapped_file(rf, v);
	const struct img_page_extent *x;
	size_t n = img_pagemap_extents(pi->pm, &x);
	uint64_t cur = v->start;
	int r = 0;

	if (in < 0)
		return 0;
	for (size_t i = 0; i < n && cur < v->end && r == 0; i++) {
		uint64_t xe = x[i].vaddr + x[i].nr_pages * IMG_PAGE_SIZE;

		if (xe <= cur)
			continue;
		if (x[i].vaddr > cur)
			r = copy_from_file(in, v, cur, MIN(x[i].vaddr, v->end), fd, off, path, buf);
		cur = MAX(cur, xe);
	}
	if (r == 0 && cur < v->end)
		r = copy_from_file(in, v, cur, v->end, fd, off, path, buf);
	return r;
}

static int copy_vma(struct img_dir *dir, struct proc_images *pi, const struct reg_names *rn,
		    const VmaEntry *v, int fd, uint64_t off, const char *path, uint8_t *buf)
{
	_cleanup_img_pagemap_ struct img_pagemap *shm = NULL;
	int r;

	if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		r = fill_file_gaps(pi, reg_file(rn, v->shmid), v, fd, off, path, buf);
		if (r < 0)
			return r;
	}
	if (!(v->status & VMA_ANON_SHARED))
		return pi->pm ? copy_pages(pi->pm, v->start, v->end - v->start, fd, off, path, buf)
			      : 0;
	r = img_pagemap_open(dir, IMG_SHMEM_PAGEMAP, v->shmid, &shm);
	if (r == -ENOENT)
		return 0; /* no page of this object was dumped */
	if (r < 0)
		return r;
	return copy_pages(shm, v->pgoff, v->end - v->start, fd, off, path, buf);
}

static uint32_t elf_flags(uint32_t prot)
{
	return (prot & PROT_READ ? PF_R : 0) | (prot & PROT_WRITE ? PF_W : 0) |
	       (prot & PROT_EXEC ? PF_X : 0);
}

/*
 * A file mapping of which no page was dumped gets no bytes in the file
 * (p_filesz 0), as in the kernel's cores: gdb reads it from the file.
 */
static uint64_t vma_file_size(const struct proc_images *pi, const VmaEntry *v)
{
	if ((v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) &&
	    !has_pages(pi->pm, v->start, v->end))
		return 0;
	return v->end - v->start;
}

static int write_core(struct img_dir *dir, struct proc_images *pi, const struct reg_names *rn,
		      const struct core_notes *notes, struct crit_out *o)
{
	size_t nph = 1 + pi->mm->n_vmas;
	_cleanup_free_ Elf64_Phdr *ph = calloc(nph, sizeof(*ph));
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	Elf64_Ehdr eh = {
		.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
			    ELFOSABI_NONE},
		.e_type = ET_CORE,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = nph < PN_XNUM ? nph : PN_XNUM,
	};
	uint64_t off = sizeof(eh) + nph * sizeof(*ph);
	int r;

	if (!ph || !buf)
		return -ENOMEM;
	if (nph >= PN_XNUM) {
		pr_err("%s: process %u has %zu mappings, more than an ELF core can list",
		       img_dir_path(dir), pi->task->pid, nph - 1);
		return -E2BIG;
	}
	ph[0] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = off, .p_filesz = notes->len, .p_align = 4};
	off = ALIGN_UP(off + notes->len, IMG_PAGE_SIZE);
	for (size_t i = 0; i < pi->mm->n_vmas; i++) {
		const VmaEntry *v = pi->mm->vmas[i];

		ph[i + 1] = (Elf64_Phdr){
			.p_type = PT_LOAD,
			.p_flags = elf_flags(v->prot),
			.p_offset = off,
			.p_vaddr = v->start,
			.p_filesz = vma_file_size(pi, v),
			.p_memsz = v->end - v->start,
			.p_align = IMG_PAGE_SIZE,
		};
		off += ph[i + 1].p_filesz;
	}
	r = write_at(o->fd, &eh, sizeof(eh), 0, o->path);
	if (r == 0)
		r = write_at(o->fd, ph, nph * sizeof(*ph), sizeof(eh), o->path);
	if (r == 0)
		r = write_at(o->fd, notes->data, notes->len, ph[0].p_offset, o->path);
	for (size_t i = 0; i < pi->mm->n_vmas && r == 0; i++)
		if (ph[i + 1].p_filesz)
			r = copy_vma(dir, pi, rn, pi->mm->vmas[i], o->fd, ph[i + 1].p_offset,
				     o->path, buf);
	if (r == 0 && ftruncate(o->fd, (off_t)off) < 0) {
		r = negative_errno();
		pr_perror("cannot size %s", o->path);
	}
	return r;
}

static int core_process(struct img_dir *dir, const struct reg_names *rn, const PstreeEntry *t,
			const char *out_dir)
{
	struct proc_images pi = {.task = t};
	struct core_notes notes = {};
	struct crit_out o = {.fd = -1};
	_cleanup_free_ char *path = NULL;
	int r;

	r = read_process(dir, rn, &pi);
	if (r == 0) {
		const struct core_process cp = {
			.task = t,
			.threads = (const CoreEntry *const *)pi.cores,
			.tids = pi.tids,
			.n_threads = pi.n_threads,
			.mm = pi.mm,
			.files = pi.files,
			.n_files = pi.n_files,
			.psargs = pi.psargs,
		};

		r = core_notes_build(&cp, &notes);
	}
	if (r == 0 && asprintf(&path, "%s/core.%u", out_dir, t->pid) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = crit_out_open(path, &o);
	if (r == 0)
		r = write_core(dir, &pi, rn, &notes, &o);
	if (r == 0)
		r = crit_out_commit(&o);
	else if (o.fd >= 0)
		crit_out_abort(&o);
	core_notes_done(&notes);
	proc_images_done(&pi);
	return r;
}

static bool is_zombie(struct img_dir *dir, const PstreeEntry *t)
{
	ProtobufCMessage *m = NULL;
	bool zombie;

	if (img_read_one(dir, IMG_CORE, t->pid, &m) < 0)
		return false; /* core_process says what is missing */
	zombie = ((CoreEntry *)m)->tc && ((CoreEntry *)m)->tc->task_state == TASK_ZOMBIE;
	img_msg_free(m);
	return zombie;
}

int crit_core(const char *dir_path, unsigned pid, const char *out_dir)
{
	_cleanup_img_dir_ struct img_dir *dir = NULL;
	_cleanup_img_file_ struct img_file *f = NULL;
	struct reg_names rn = {};
	bool found = false;
	int r;

	r = img_dir_open(dir_path, &dir);
	if (r < 0)
		return r;
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
		r = negative_errno();
		pr_perror("cannot create the output directory %s", out_dir);
		return r;
	}
	r = img_open(dir, IMG_PSTREE, 0, &f);
	if (r == -ENOENT)
		pr_err("%s/pstree.img: no such image", dir_path);
	if (r == 0)
		r = reg_names_load(dir, &rn);
	while (r == 0) {
		_cleanup_img_entry_ struct img_entry e = {};
		const PstreeEntry *t;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		t = (const PstreeEntry *)e.msg;
		r = 0;
		if (pid && t->pid != pid)
			continue;
		found = true;
		if (is_zombie(dir, t))
			pr_warn("%s: process %u is a zombie: it has no memory, no core file",
				dir_path, t->pid);
		else
			r = core_process(dir, &rn, t, out_dir);
	}
	msgs_clear(&rn.msgs);
	if (r == 0 && pid && !found) {
		pr_err("%s/pstree.img: no process %u in this image set (stasis image x %s ps "
		       "lists them)",
		       dir_path, pid, dir_path);
		r = -ESRCH;
	}
	return r;
}
