/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared anonymous memory across pre-dump rounds (docs/predump.md). An
 * object's page changes through any of its mappings, so a round notes, per
 * object, the union of the pages written through each mapping in the tree
 * (by object offset: the VMA's pgoff plus the page's place in it). A page
 * counts as unwritten only where every mapping shows it present and
 * protected, or a uffd-wp marker: an empty entry may be a page written
 * there and zapped since (the data stays in the object), so it counts as
 * written, and each round protects empty entries too (markers).
 *
 * The writes through a mapping that is gone (munmap, a process that
 * exited) are lost with its page table: each round writes its list of
 * mappings into its image set (stasis-shmem-maps), and an object is saved
 * against the parent only if every mapping of the parent's round is still
 * there, unchanged, and every mapping now was registered before this scan.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/image.h"
#include "mem/internal.h"

#define MAPS_FILE "stasis-shmem-maps"

/* A mapping of an object by a process of the tree. */
struct shm_map {
	pid_t pid;
	uint64_t starttime;
	uint64_t shmid, start, end, pgoff;
};

struct shm_obj {
	uint64_t shmid;
	bool known;       /* every mapping now was watched since the parent's scan */
	uint8_t *written; /* one bit per page of the object */
	uint64_t npages;  /* pages the bitmap covers */
};

struct mem_shmem_track {
	struct shm_obj *obj;
	size_t nobj;
	struct shm_map *maps; /* this round's */
	size_t nmaps;
	struct shm_map *prev; /* the parent round's */
	size_t nprev;
	bool has_prev; /* the parent's list was read */
};

void mem_shmem_track_free(struct mem_shmem_track *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nobj; i++)
		free(t->obj[i].written);
	free(t->obj);
	free(t->maps);
	free(t->prev);
	free(t);
}

static int maps_add(struct shm_map **v, size_t *n, const struct shm_map *m)
{
	struct shm_map *nv = reallocarray(*v, *n + 1, sizeof(**v));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = *m;
	*v = nv;
	return 0;
}

/* The parent round's mappings; none listed (an older image set, a dump): has_prev false. */
static int read_prev(struct mem_shmem_track *t, struct img_dir *dir)
{
	_cleanup_fclose_ FILE *f = NULL;
	struct img_dir *pdir;
	struct shm_map m;
	int fd, r;

	r = img_dir_parent(dir, &pdir);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	fd = openat(img_dir_fd(pdir), MAPS_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while ((r = fscanf(f, "%d %" SCNu64 " %" SCNu64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &m.pid,
			   &m.starttime, &m.shmid, &m.start, &m.end, &m.pgoff)) == 6)
		if (maps_add(&t->prev, &t->nprev, &m) < 0)
			return -ENOMEM;
	if (r != EOF) {
		pr_err("%s/%s: not a list of mappings", img_dir_path(pdir), MAPS_FILE);
		return -EBADMSG;
	}
	t->has_prev = true;
	return 0;
}

int mem_shmem_track_new(struct img_dir *dir, bool has_parent, struct mem_shmem_track **ret)
{
	struct mem_shmem_track *t = calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = has_parent ? read_prev(t, dir) : 0;
	if (r < 0) {
		mem_shmem_track_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static struct shm_obj *obj_get(struct mem_shmem_track *t, uint64_t shmid)
{
	struct shm_obj *v;

	for (size_t i = 0; i < t->nobj; i++)
		if (t->obj[i].shmid == shmid)
			return &t->obj[i];
	v = reallocarray(t->obj, t->nobj + 1, sizeof(*v));
	if (!v)
		return NULL;
	t->obj = v;
	v[t->nobj] = (struct shm_obj){.shmid = shmid, .known = true};
	return &v[t->nobj++];
}

/* Pages [first, first + n) of the object written: the bitmap grows as needed. */
static int obj_mark(struct shm_obj *o, uint64_t first, uint64_t n)
{
	if (first + n > o->npages) {
		uint64_t bytes = (first + n + 7) / 8, old = (o->npages + 7) / 8;
		uint8_t *w = realloc(o->written, bytes);

		if (!w)
			return -ENOMEM;
		memset(w + old, 0, bytes - old);
		o->written = w;
		o->npages = bytes * 8;
	}
	for (uint64_t p = first; p < first + n; p++)
		o->written[p / 8] |= (uint8_t)(1u << (p % 8));
	return 0;
}

struct mark {
	struct shm_obj *o;
	const VmaEntry *e;
};

static int on_written(void *arg, const struct mem_run *run)
{
	const struct mark *m = arg;

	return obj_mark(m->o, (m->e->pgoff + run->start - m->e->start) / MEM_PAGE_SIZE,
			(run->end - run->start) / MEM_PAGE_SIZE);
}

/* One shared VMA of a tracked process: registered, its written pages noted and protected. */
static int collect_vma(struct mem_scan *scan, pid_t pid, int uffd, bool tracked, struct shm_obj *o,
		       const VmaEntry *e)
{
	struct mark m = {o, e};
	bool registered = false;
	int r;

	r = tracked ? mem_scan_wp_async_armed(scan, e->start) : 0;
	if (r == 0)
		o->known = false; /* new since the parent's scan, moved, or never registered */
	if (r >= 0)
		r = mem_uffd_register_wp(pid, uffd, e, &registered);
	if (r < 0)
		return r;
	if (!registered) {
		o->known = false;
		return 0;
	}
	return mem_scan_written(scan, e->start, e->end, on_written, &m);
}

int mem_shmem_track_collect(struct mem_shmem_track *t, pid_t pid, uint64_t starttime, int uffd,
			    bool tracked, const struct mem_vmas *vmas)
{
	_cleanup_(mem_scan_freep) struct mem_scan *scan = NULL;
	int r;

	for (size_t i = 0; i < vmas->nr; i++) {
		const VmaEntry *e = &vmas->v[i].e;
		struct shm_map m = {pid, starttime, e->shmid, e->start, e->end, e->pgoff};
		struct shm_obj *o;

		if (!mem_vma_is(e, VMA_ANON_SHARED))
			continue;
		o = obj_get(t, e->shmid);
		if (!o || maps_add(&t->maps, &t->nmaps, &m) < 0)
			return -ENOMEM;
		/* A SysV segment may be attached outside the tree: saved whole. */
		if (uffd < 0 || mem_vma_is(e, VMA_AREA_SYSVIPC)) {
			o->known = false;
			continue;
		}
		if (!scan && (r = mem_scan_open(pid, 0, &scan)) < 0)
			return r;
		r = collect_vma(scan, pid, uffd, tracked, o, e);
		if (r < 0)
			return r;
	}
	return 0;
}

int mem_shmem_track_save(const struct mem_shmem_track *t, struct img_dir *dir)
{
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r = 0;

	fd = openat(img_dir_fd(dir), MAPS_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		r = negative_errno();
		if (fd >= 0)
			close(fd);
		pr_perror("%s: cannot write %s", img_dir_path(dir), MAPS_FILE);
		return r;
	}
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct shm_map *m = &t->maps[i];

		fprintf(f, "%d %" PRIu64 " %" PRIu64 " %" PRIx64 " %" PRIx64 " %" PRIx64 "\n",
			m->pid, m->starttime, m->shmid, m->start, m->end, m->pgoff);
	}
	if (fflush(f) != 0 || ferror(f)) {
		r = -EIO;
		pr_err("%s: cannot write %s", img_dir_path(dir), MAPS_FILE);
	}
	return r;
}

static bool maps_has(const struct mem_shmem_track *t, const struct shm_map *m)
{
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct shm_map *x = &t->maps[i];

		if (x->pid == m->pid && x->starttime == m->starttime && x->shmid == m->shmid &&
		    x->start == m->start && x->end == m->end && x->pgoff == m->pgoff)
			return true;
	}
	return false;
}

bool mem_shmem_track_written(const struct mem_shmem_track *t, uint64_t shmid,
			     const uint8_t **ret_bits, uint64_t *ret_npages)
{
	const struct shm_obj *o = NULL;

	if (!t || !t->has_prev)
		return false;
	for (size_t i = 0; i < t->nobj && !o; i++)
		if (t->obj[i].shmid == shmid)
			o = &t->obj[i];
	if (!o || !o->known)
		return false;
	/* A mapping of the parent's round gone or changed: its writes are not known. */
	for (size_t i = 0; i < t->nprev; i++)
		if (t->prev[i].shmid == shmid && !maps_has(t, &t->prev[i]))
			return false;
	*ret_bits = o->written;
	*ret_npages = o->npages;
	return true;
}
