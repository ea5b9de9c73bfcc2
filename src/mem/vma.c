/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMAs of a task, as CRIU 4.2 writes them into mm-PID.img
 * (criu/proc_parse.c parse_smaps and handle_vma). docs/mem.md has the table.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "mem/internal.h"

/* VmaEntry.prot CRIU wants to see on a vDSO / vvar before calling it one. */
#define VDSO_PROT (PROT_READ | PROT_EXEC)
#define VVAR_PROT PROT_READ

struct collect {
	pid_t pid;
	int map_files;      /* /proc/PID/map_files */
	uint64_t shmem_dev; /* st_dev of shared anonymous memory (and memfd) */
	struct mem_vmas *out;
	size_t cap;
	/* The VMA being read: its head, its VmFlags */
	struct mem_vma cur;
	bool have_cur;
	char *name;
	struct smaps_vmflags vmf;
	/* The file of the VMA before, as smaps names it (CRIU borrows it when they match) */
	uint32_t last_major, last_minor;
	uint64_t last_ino;
};

void mem_vmas_release(struct mem_vmas *vmas)
{
	for (size_t i = 0; i < vmas->nr; i++)
		free(vmas->v[i].path);
	free(vmas->v);
	*vmas = (struct mem_vmas){};
}

bool mem_vma_has_private_pages(const VmaEntry *e)
{
	if (!mem_vma_is(e, VMA_AREA_REGULAR) || mem_vma_is(e, VMA_AREA_VVAR))
		return false;
	return mem_vma_is(e, VMA_ANON_PRIVATE) || mem_vma_is(e, VMA_FILE_PRIVATE);
}

/*
 * The device of shared anonymous memory: that of a MAP_SHARED|MAP_ANONYMOUS
 * mapping of our own (the kernel's internal shmem mount, which memfds share).
 */
static int shmem_dev(uint64_t *ret_dev)
{
	char path[64];
	struct stat st;
	void *p;
	int r = 0;

	p = mmap(NULL, MEM_PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + MEM_PAGE_SIZE);
	if (stat(path, &st) < 0)
		r = negative_errno();
	munmap(p, MEM_PAGE_SIZE);
	if (r < 0) {
		errno = -r;
		pr_perror("cannot stat %s to learn the shared memory device", path);
		return r;
	}
	*ret_dev = st.st_dev;
	return 0;
}

static void range_name(const VmaEntry *e, char *buf, size_t size)
{
	snprintf(buf, size, "%" PRIx64 "-%" PRIx64, e->start, e->end);
}

/* The access mode the file was opened with: the mode of its map_files link. */
static int read_fdflags(struct collect *c, struct mem_vma *v)
{
	char name[40];
	struct stat st;

	range_name(&v->e, name, sizeof(name));
	if (fstatat(c->map_files, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		int r = negative_errno();

		pr_perror("%d: cannot stat map_files/%s", c->pid, name);
		return r;
	}
	switch (st.st_mode & 0600) {
	case 0200:
		v->e.fdflags = O_WRONLY;
		break;
	case 0600:
		v->e.fdflags = O_RDWR;
		break;
	default:
		v->e.fdflags = O_RDONLY;
		break;
	}
	v->e.has_fdflags = true;
	return 0;
}

/* Stat and read the file a VMA maps, or take it from the VMA before if it is the same file. */
static int read_mapped_file(struct collect *c, struct mem_vma *v, const struct smaps_head *h,
			    const struct mem_vma *prev)
{
	char name[40], link[PATH_MAX + 32];
	struct stat st;
	ssize_t n;

	if (prev && prev->path && c->last_ino == h->ino && c->last_major == h->dev_major &&
	    c->last_minor == h->dev_minor) {
		v->path = strdup(prev->path);
		if (!v->path)
			return -ENOMEM;
		v->dev = prev->dev;
		v->ino = prev->ino;
		v->mode = prev->mode;
		v->same_file = true;
		return 0;
	}
	range_name(&v->e, name, sizeof(name));
	if (fstatat(c->map_files, name, &st, 0) < 0) {
		int r = negative_errno();

		if (r == -ENOENT) /* no file behind it after all (an anonymous special mapping) */
			return 0;
		pr_perror("%d: cannot stat the file mapped at %s", c->pid, name);
		return r;
	}
	n = readlinkat(c->map_files, name, link, sizeof(link) - 1);
	if (n < 0) {
		int r = negative_errno();

		pr_perror("%d: cannot read map_files/%s", c->pid, name);
		return r;
	}
	link[n] = '\0';
	v->path = strdup(link);
	if (!v->path)
		return -ENOMEM;
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	v->mode = st.st_mode;
	return 0;
}

/* The status bits given by the name of a special mapping ([vdso], [heap] ...). */
static uint32_t name_status(const char *name, uint32_t prot)
{
	if (streq(name, "[vsyscall]"))
		return VMA_AREA_VSYSCALL;
	if (streq(name, "[uprobes]"))
		return VMA_AREA_UPROBES;
	if (streq(name, "[vdso]"))
		return VMA_AREA_REGULAR | ((prot & VDSO_PROT) == VDSO_PROT ? VMA_AREA_VDSO : 0);
	if (streq(name, "[vvar]") || streq(name, "[vvar_vclock]"))
		return VMA_AREA_REGULAR | ((prot & VVAR_PROT) == VVAR_PROT ? VMA_AREA_VVAR : 0);
	if (streq(name, "[heap]"))
		return VMA_AREA_REGULAR | VMA_AREA_HEAP;
	return VMA_AREA_REGULAR;
}

static int refuse(const struct collect *c, const struct mem_vma *v, const char *what)
{
	pr_err("%d: the mapping %" PRIx64 "-%" PRIx64 " (%s) is %s: stasis cannot dump it", c->pid,
	       v->e.start, v->e.end, v->path ? v->path : c->name, what);
	return -ENOTSUP;
}

/* The kind of a mapping with a file behind it. */
static int classify_file(struct collect *c, struct mem_vma *v)
{
	VmaEntry *e = &v->e;
	bool shared = e->flags & MAP_SHARED;

	if (S_ISREG(v->mode) && v->dev == c->shmem_dev && !startswith(v->path, "/memfd:")) {
		/* /dev/zero (deleted), /SYSV%08x (deleted): shared anonymous memory */
		if (!shared)
			return refuse(c, v, "a private mapping of shared anonymous memory");
		e->flags |= MAP_ANONYMOUS;
		e->status |= VMA_ANON_SHARED;
		e->shmid = v->ino;
		if (startswith(v->path, "/SYSV"))
			e->status |= VMA_AREA_SYSVIPC;
		return 0;
	}
	if (S_ISREG(v->mode)) {
		if (v->dev == c->shmem_dev)
			e->status |= VMA_AREA_MEMFD;
	} else if (!S_ISCHR(v->mode) || !v->path || !startswith(v->path, "/dev/zero")) {
		/* a private /dev/zero is a file mapping for CRIU too; nothing else is */
		if (S_ISSOCK(v->mode))
			return refuse(c, v, "a socket's ring buffer");
		if ((v->mode & S_IFMT) == 0)
			return refuse(c, v, "an AIO ring");
		return refuse(c, v, "a mapping of a device");
	}
	e->status |= shared ? VMA_FILE_SHARED : VMA_FILE_PRIVATE;
	return 0;
}

static int classify(struct collect *c, struct mem_vma *v)
{
	VmaEntry *e = &v->e;

	e->status = name_status(c->name, e->prot);
	e->flags |= c->vmf.map_flags;
	if (c->vmf.madv) {
		e->has_madv = true;
		e->madv = c->vmf.madv;
	}
	/* A stasis extension field: MAP_LOCKED alone would lock the whole area at restore. */
	if (c->vmf.lock_onfault)
		e->has_lock_onfault = e->lock_onfault = true;
	v->uffd = c->vmf.uffd;
	v->soft_dirty = c->vmf.soft_dirty;
	if (c->vmf.shadow_stack)
		return refuse(c, v, "a shadow stack");
	/* vvar is VM_IO|VM_PFNMAP; any other such mapping is a device's memory */
	if (c->vmf.io_pfnmap && !mem_vma_is(e, VMA_AREA_VVAR))
		return refuse(c, v, "a device mapping (VM_IO or VM_PFNMAP)");
	if (!(e->status & VMA_AREA_REGULAR)) {
		e->flags |= MAP_ANONYMOUS;
		e->status |= VMA_ANON_PRIVATE;
		return 0;
	}
	if (v->path)
		return classify_file(c, v);
	e->flags |= MAP_ANONYMOUS;
	e->status |= (e->flags & MAP_SHARED) ? VMA_ANON_SHARED : VMA_ANON_PRIVATE;
	return 0;
}

static int append(struct collect *c, struct mem_vma *v)
{
	struct mem_vmas *out = c->out;

	if (out->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct mem_vma *n = reallocarray(out->v, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		out->v = n;
		c->cap = cap;
	}
	out->v[out->nr++] = *v;
	if (mem_vma_has_private_pages(&v->e))
		out->priv_pages += (v->e.end - v->e.start) / MEM_PAGE_SIZE;
	return 0;
}

/* The VMA whose head and VmFlags have been read: classify it and keep it. */
static int finish_vma(struct collect *c)
{
	struct mem_vma *prev = c->out->nr ? &c->out->v[c->out->nr - 1] : NULL;
	struct mem_vma *v = &c->cur;
	int r;

	c->have_cur = false;
	r = classify(c, v);
	if (r < 0)
		goto fail;
	/*
	 * Linux 6.13 split the vvar pages into [vvar] and [vvar_vclock]: CRIU
	 * 4.2 keeps them as one VVAR area, and so do we.
	 */
	if (streq(c->name, "[vvar_vclock]") && prev && mem_vma_is(&prev->e, VMA_AREA_VVAR) &&
	    prev->e.end == v->e.start) {
		prev->e.end = v->e.end;
		prev->rss_swap_kib += v->rss_swap_kib;
		prev->swap_kib += v->swap_kib;
		if (mem_vma_has_private_pages(&prev->e))
			c->out->priv_pages += (v->e.end - v->e.start) / MEM_PAGE_SIZE;
		free(v->path);
		return 0;
	}
	r = append(c, v);
	if (r >= 0)
		return 0;
fail:
	free(v->path);
	return r;
}

static int start_vma(struct collect *c, char *line)
{
	struct mem_vma *prev = c->out->nr ? &c->out->v[c->out->nr - 1] : NULL;
	struct smaps_head h;
	struct mem_vma *v = &c->cur;
	int r;

	r = smaps_parse_head(line, &h);
	if (r < 0) {
		pr_err("%d: cannot parse smaps line \"%s\"", c->pid, line);
		return -EBADMSG;
	}
	*v = (struct mem_vma){.e = VMA_ENTRY__INIT};
	v->e.start = h.start;
	v->e.end = h.end;
	v->e.pgoff = h.pgoff;
	v->e.prot = h.prot;
	v->e.flags = h.shared ? MAP_SHARED : MAP_PRIVATE;
	v->e.fd = -1;
	free(c->name);
	c->name = strdup(h.name);
	if (!c->name)
		return -ENOMEM;
	c->vmf = (struct smaps_vmflags){};
	c->have_cur = true;
	if (h.ino == 0) /* anonymous: no map_files link */
		r = 0;
	else
		r = read_mapped_file(c, v, &h, prev);
	c->last_major = h.dev_major;
	c->last_minor = h.dev_minor;
	c->last_ino = h.ino;
	if (r >= 0 && v->path)
		r = read_fdflags(c, v);
	if (r < 0) {
		free(v->path);
		c->have_cur = false;
	}
	return r;
}

static int read_smaps(struct collect *c, FILE *f)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int r;

	for (;;) {
		errno = 0;
		if (getline(&line, &cap, f) < 0) {
			if (errno) {
				r = negative_errno();
				pr_perror("%d: cannot read smaps", c->pid);
				return r;
			}
			break;
		}
		if (startswith(line, "VmFlags:")) {
			if (c->have_cur)
				smaps_parse_vmflags(line + strlen("VmFlags:"), &c->vmf);
			continue;
		}
		if (c->have_cur && (startswith(line, "Rss:") || startswith(line, "Swap:"))) {
			uint64_t kib = strtoull(strchr(line, ':') + 1, NULL, 10);

			c->cur.rss_swap_kib += kib;
			if (line[0] == 'S')
				c->cur.swap_kib += kib;
			continue;
		}
		if (line[0] < '0' || (line[0] > '9' && line[0] < 'a') || line[0] > 'f')
			continue; /* Rss:, Size: ... */
		if (c->have_cur && (r = finish_vma(c)) < 0)
			return r;
		r = start_vma(c, line);
		if (r < 0)
			return r;
	}
	return c->have_cur ? finish_vma(c) : 0;
}

int mem_vmas_collect(pid_t pid, struct mem_vmas *ret_vmas)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int map_files = -1;
	struct mem_vmas out = {};
	struct collect c = {.pid = pid, .out = &out};
	char path[64];
	int r;

	r = shmem_dev(&c.shmem_dev);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/map_files", pid);
	map_files = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (map_files < 0) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f) {
		r = negative_errno();
		pr_perror("cannot open %s", path);
		return r;
	}
	c.map_files = map_files;
	r = read_smaps(&c, f);
	if (c.have_cur)
		free(c.cur.path);
	free(c.name);
	if (r < 0) {
		mem_vmas_release(&out);
		return r;
	}
	*ret_vmas = out;
	return 0;
}
