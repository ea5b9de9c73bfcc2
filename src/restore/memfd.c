/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfds (docs/files.md, "memfd"): each memfd inode of memfd.img is made
 * once for the tree by the controller, on the first MEMFD entry of
 * files.img that names it (an fd, or a VMA that maps it): memfd_create()
 * with its name, its size, its content from pagemap-shmem-SHMID.img, its
 * owner and mode, then its seals. The controller keeps that fd (the keeper)
 * until the restore ends; every description of the memfd is a new open of
 * /proc/self/fd/KEEPER with its own flags and position, and every VMA maps
 * the same inode, so that the tree shares one object as it did.
 *
 * Seals come after the content. F_SEAL_FUTURE_WRITE (and F_SEAL_SEAL with
 * it) waits until every task has mapped its VMAs (rst_memfd_seal_late): it
 * refuses new writable shared mappings, and the program may have made some
 * before it sealed. The other seals are added at once: a mapping of a memfd
 * sealed with F_SEAL_WRITE could not have been writable and shared, and the
 * kernel takes a read-only shared mapping of it only once it is sealed.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "memfd.pb-c.h"
#include "restore/internal.h"

#define COPY_CHUNK (1UL << 20)

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

struct rst_memfd {
	const MemfdInodeEntry *e;
	int keeper;              /* -1 until it is made */
	unsigned int late_seals; /* added by rst_memfd_seal_late() */
};

struct rst_memfds {
	MemfdInodeEntry **entries; /* memfd.img */
	size_t nentries;
	struct rst_memfd *v; /* one per entry, once all are read */
	size_t n;
};

/* memfd.img, read once for the tree. */
static int load(struct rst_ctx *c, struct rst_memfds **ret)
{
	struct rst_shared *s = c->shared;
	struct rst_memfds *m;
	int r;

	if (s->memfds) {
		*ret = s->memfds;
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	s->memfds = m;
	r = rst_load_all(c, IMG_MEMFD_INODE, false, (void ***)&m->entries, &m->nentries);
	if (r < 0)
		return r;
	m->v = calloc(m->nentries ? m->nentries : 1, sizeof(*m->v));
	if (!m->v)
		return -ENOMEM;
	for (size_t i = 0; i < m->nentries; i++)
		m->v[i] = (struct rst_memfd){.e = m->entries[i], .keeper = -1};
	m->n = m->nentries;
	*ret = m;
	return 0;
}

/* The content of pagemap-shmem-SHMID.img into the new memfd fd, up to its size. */
static int fill(struct rst_ctx *c, const MemfdInodeEntry *e, int fd)
{
	_cleanup_img_pagemap_ struct img_pagemap *pm = NULL;
	_cleanup_free_ uint8_t *buf = malloc(COPY_CHUNK);
	const struct img_page_extent *ext;
	size_t n;
	int r;

	r = img_pagemap_open(c->img.dir, IMG_SHMEM_PAGEMAP, e->shmid, &pm);
	if (r == -ENOENT)
		return 0; /* no page was ever written */
	if (r < 0)
		return r;
	if (!buf)
		return -ENOMEM;
	n = img_pagemap_extents(pm, &ext);
	for (size_t i = 0; i < n; i++) {
		uint64_t off = ext[i].vaddr, end = off + ext[i].nr_pages * IMG_PAGE_SIZE;

		if (end > ALIGN_UP(e->size, (uint64_t)IMG_PAGE_SIZE))
			return -EBADMSG;
		end = MIN(end, e->size);
		while (off < end) {
			size_t len = (size_t)MIN(end - off, (uint64_t)COPY_CHUNK);

			r = img_pagemap_read(pm, off, buf, len, 0);
			if (r < 0)
				return r;
			if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
				return errno ? negative_errno() : -EIO;
			off += len;
		}
	}
	return 0;
}

/* The seals added as soon as the content is in; *ret_late: those that wait. */
static unsigned int early_seals(const MemfdInodeEntry *e, unsigned int *ret_late)
{
	unsigned int late = 0;

	if (e->seals & F_SEAL_FUTURE_WRITE)
		late = e->seals & (F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
	*ret_late = late;
	return e->seals & ~late;
}

/* Owner, mode (before F_SEAL_EXEC forbids it), then the seals that need not wait. */
static int finish_inode(struct rst_ctx *c, struct rst_memfd *m, int fd, bool sealing,
			const char *what)
{
	const MemfdInodeEntry *e = m->e;
	unsigned int seals = early_seals(e, &m->late_seals);

	if (fchown(fd, e->uid, e->gid) < 0 ||
	    (e->has_mode && fchmod(fd, (mode_t)e->mode & 07777) < 0)) {
		int r = negative_errno();
		rst_err(c, "%s: cannot give memfd \"%s\" owner %u:%u and mode %o: %s", what,
			e->name, e->uid, e->gid, e->mode & 07777, strerror(-r));
		return r;
	}
	if (sealing && seals && fcntl(fd, F_ADD_SEALS, seals) < 0) {
		int r = negative_errno();
		rst_err(c, "%s: cannot seal memfd \"%s\" with %#x: %s", what, e->name, seals,
			strerror(-r));
		return r;
	}
	return 0;
}

/* The memfd of m made again: its keeper. */
static int make(struct rst_ctx *c, struct rst_memfd *m, const char *what)
{
	const MemfdInodeEntry *e = m->e;
	/* Without MFD_ALLOW_SEALING a memfd is born sealed with F_SEAL_SEAL alone. */
	bool sealing = e->seals != F_SEAL_SEAL;
	_cleanup_close_ int fd = -1;
	int r;

	if (e->has_hugetlb_flag && e->hugetlb_flag) {
		rst_err(c, "%s: memfd \"%s\" was of huge pages (MFD_HUGETLB); not supported", what,
			e->name);
		return -EOPNOTSUPP;
	}
	fd = memfd_create(e->name, MFD_CLOEXEC | (sealing ? MFD_ALLOW_SEALING : 0));
	if (fd < 0 || ftruncate(fd, (off_t)e->size) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot make memfd \"%s\" of %llu bytes again: %s", what, e->name,
			(unsigned long long)e->size, strerror(-r));
		return r;
	}
	r = fill(c, e, fd);
	if (r < 0) {
		rst_err(c,
			"%s: cannot write the content of memfd \"%s\" from "
			"pagemap-shmem-%u.img: %s",
			what, e->name, e->shmid, strerror(-r));
		return r;
	}
	r = finish_inode(c, m, fd, sealing, what);
	if (r < 0)
		return r;
	rst_info(c, "%s: memfd \"%s\" made again (%llu bytes, seals %#x)", what, e->name,
		 (unsigned long long)e->size, e->seals);
	return rst_fd_move_up(c, TAKE_FD(fd), e->name);
}

/* The keeper of the memfd inode inode_id, made when it is first asked for. */
static int keeper(struct rst_ctx *c, uint32_t inode_id, const char *what)
{
	struct rst_memfds *all;
	int r = load(c, &all);

	if (r < 0)
		return r;
	for (size_t i = 0; i < all->n; i++) {
		struct rst_memfd *m = &all->v[i];

		if (m->e->inode_id != inode_id)
			continue;
		if (m->keeper < 0) {
			r = make(c, m, what);
			if (r < 0)
				return r;
			m->keeper = r;
		}
		return m->keeper;
	}
	rst_err(c, "%s: memfd inode %u is not in memfd.img", what, inode_id);
	return -EBADMSG;
}

static const MemfdFileEntry *entry_of(struct rst_ctx *c, uint32_t id, const char *what)
{
	const FileEntry *f = rst_file_entry(&c->img, id);

	if (!f || f->type != FD_TYPES__MEMFD || !f->memfd) {
		rst_err(c, "%s: file %u is not a MEMFD entry of files.img", what, id);
		return NULL;
	}
	return f->memfd;
}

bool rst_memfd_is(const struct rst_images *img, uint32_t id)
{
	const FileEntry *f = rst_file_entry(img, id);

	return f && f->type == FD_TYPES__MEMFD;
}

int rst_memfd_open(struct rst_ctx *c, uint32_t id, int flags, bool seek, const char *what)
{
	const int drop = O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC;
	const MemfdFileEntry *mfe = entry_of(c, id, what);
	char link[64];
	int k, fd;

	if (!mfe)
		return -EBADMSG;
	k = keeper(c, mfe->inode_id, what);
	if (k < 0)
		return k;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", k);
	fd = open(link, (flags & ~drop) | O_CLOEXEC);
	if (fd < 0 || (seek && mfe->pos && lseek(fd, (off_t)mfe->pos, SEEK_SET) < 0)) {
		int r = negative_errno();
		rst_err(c, "%s: cannot open memfd inode %u again (flags %#x, position %llu): %s",
			what, mfe->inode_id, flags, (unsigned long long)mfe->pos, strerror(-r));
		safe_close(fd);
		return r;
	}
	return rst_fd_move_up(c, fd, what);
}

int rst_memfd_open_fd(struct rst_ctx *c, uint32_t id, const char *what)
{
	const MemfdFileEntry *mfe = entry_of(c, id, what);

	return mfe ? rst_memfd_open(c, id, (int)mfe->flags, true, what) : -EBADMSG;
}

int rst_memfd_seal_late(struct rst_shared *s)
{
	for (size_t i = 0; s->memfds && i < s->memfds->n; i++) {
		const struct rst_memfd *m = &s->memfds->v[i];

		if (m->keeper < 0 || !m->late_seals)
			continue;
		if (fcntl(m->keeper, F_ADD_SEALS, m->late_seals) < 0) {
			int r = negative_errno();
			pr_err("restore: cannot seal memfd \"%s\" with %#x once mapped: %s",
			       m->e->name, m->late_seals, strerror(-r));
			return r;
		}
	}
	return 0;
}

void rst_memfds_free(struct rst_shared *s)
{
	struct rst_memfds *m = s->memfds;

	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		safe_close(m->v[i].keeper);
	for (size_t i = 0; i < m->nentries; i++)
		img_msg_free(&m->entries[i]->base);
	free(m->entries);
	free(m->v);
	free(m);
	s->memfds = NULL;
}
