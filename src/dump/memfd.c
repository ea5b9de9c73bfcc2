/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memfds (docs/files.md, "memfd"), as CRIU writes them: each open file
 * description on a memfd, and each memfd a VMA maps, is a MEMFD entry of
 * files.img (flags, position, the id of its inode); each memfd inode of the
 * tree is one entry of memfd.img (name, owner, mode, size, seals, shmid) and
 * its content is saved once, as shared memory is: the pages that hold data
 * into pagemap-shmem-SHMID.img, SHMID being the inode number.
 *
 * The content is read through an fd of ours on the task's file (its fd, or
 * the map_files link of a VMA when no fd is left): read-only, so that it
 * works on a memfd sealed against writes, and SEEK_DATA/SEEK_HOLE tell the
 * pages that were ever written.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "base/log.h"
#include "dump/internal.h"
#include "image/image.h"
#include "memfd.pb-c.h"

#define MEMFD_PREFIX "/memfd:"
#define DELETED_SUFFIX " (deleted)"

struct memfd_inode {
	dev_t dev;
	ino_t ino;
	MemfdInodeEntry *e; /* in the arena */
	int fd;             /* ours, read-only, until its content is saved (dump_memfd_pages) */
	char *label;        /* who holds it, for messages */
};

/* The MEMFD entry made for the mappings of an inode with these status flags. */
struct memfd_map {
	uint32_t inode_id;
	uint32_t flags;
	uint32_t file_id;
};

struct dump_memfd {
	struct memfd_inode *inodes; /* inode_id - 1 is the index */
	size_t ninodes;
	struct memfd_map *maps;
	size_t nmaps;
};

bool dump_memfd_is(const char *target)
{
	return startswith(target, MEMFD_PREFIX);
}

/* The name given to memfd_create(): the link without "/memfd:" and " (deleted)". */
static char *memfd_name(struct arena *a, const char *link)
{
	char name[PATH_MAX];
	size_t n, s = strlen(DELETED_SUFFIX);

	snprintf(name, sizeof(name), "%s", link + strlen(MEMFD_PREFIX));
	n = strlen(name);
	if (n >= s && streq(name + n - s, DELETED_SUFFIX))
		name[n - s] = '\0';
	return arena_strdup(a, name);
}

static struct dump_memfd *state(struct dump_files *f)
{
	if (!f->memfd)
		f->memfd = calloc(1, sizeof(*f->memfd));
	return f->memfd;
}

/* The entry of memfd.img of the memfd that fd (ours, read-only) is open on. */
static int inode_entry(struct dump_ctx *ctx, int fd, const struct stat *st, const char *link,
		       const char *label, MemfdInodeEntry **ret)
{
	MemfdInodeEntry *e =
		ARENA_MSG(&ctx->files->arena, MemfdInodeEntry, MEMFD_INODE_ENTRY__INIT);
	int seals, r;

	if (!e || !(e->name = memfd_name(&ctx->files->arena, link)))
		return -ENOMEM;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		r = negative_errno();
		pr_err("%s: cannot read the seals of the memfd: %s", label, strerror(-r));
		return r;
	}
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = (uint64_t)st->st_size;
	e->shmid = (uint32_t)st->st_ino; /* CRIU's choice: the inode number, as shared memory */
	e->seals = (uint32_t)seals;
	e->has_mode = true;
	e->mode = st->st_mode;
	*ret = e;
	return 0;
}

/* The id in memfd.img of the inode (dev, ino) if it was met, else 0. */
static uint32_t inode_seen(const struct dump_memfd *m, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < m->ninodes; i++)
		if ((uint64_t)m->inodes[i].dev == dev && (uint64_t)m->inodes[i].ino == ino)
			return (uint32_t)i + 1;
	return 0;
}

/*
 * The id in memfd.img of the memfd (dev, ino) at path (/proc/PID/fd/N or a
 * map_files link); met first, it is kept open for its content
 * (dump_memfd_pages).
 */
static int inode_id_of(struct dump_ctx *ctx, uint64_t dev, uint64_t ino, const char *path,
		       const char *link, const char *label, uint32_t *ret_id)
{
	struct dump_memfd *m = state(ctx->files);
	_cleanup_close_ int fd = -1;
	struct memfd_inode *n;
	MemfdInodeEntry *e;
	struct statfs sfs;
	struct stat st;
	int r;

	if (!m)
		return -ENOMEM;
	*ret_id = inode_seen(m, dev, ino);
	if (*ret_id)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		r = negative_errno();
		pr_err("%s: cannot open the memfd through %s: %s", label, path, strerror(-r));
		return r;
	}
	if (sfs.f_type != TMPFS_MAGIC) {
		pr_err("%s is %s, a memfd %s: stasis cannot checkpoint it; close (or unmap) it "
		       "in the program before the checkpoint; the task was left running",
		       label, link,
		       sfs.f_type == HUGETLBFS_MAGIC ? "of huge pages (MFD_HUGETLB)"
						     : "on an unknown file system");
		return -ENOTSUP;
	}
	r = inode_entry(ctx, fd, &st, link, label, &e);
	if (r < 0)
		return r;
	n = reallocarray(m->inodes, m->ninodes + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->inodes = n;
	e->inode_id = (uint64_t)m->ninodes + 1;
	m->inodes[m->ninodes] = (struct memfd_inode){st.st_dev, st.st_ino, e, -1,
						     arena_strdup(&ctx->files->arena, label)};
	if (!m->inodes[m->ninodes].label)
		return -ENOMEM;
	m->inodes[m->ninodes++].fd = TAKE_FD(fd);
	*ret_id = (uint32_t)e->inode_id;
	return 0;
}

/* A new MEMFD entry of files.img. */
static int add_file(struct dump_files *f, uint32_t inode_id, uint32_t flags, uint64_t pos,
		    uint32_t *ret_id)
{
	MemfdFileEntry *mfe = ARENA_MSG(&f->arena, MemfdFileEntry, MEMFD_FILE_ENTRY__INIT);
	FownEntry *fown = ARENA_MSG(&f->arena, FownEntry, FOWN_ENTRY__INIT);
	FileEntry *fe;

	if (!mfe || !fown || dump_files_new(f, FD_TYPES__MEMFD, &fe) < 0)
		return -ENOMEM;
	mfe->id = fe->id;
	mfe->flags = flags;
	mfe->pos = pos;
	mfe->fown = fown;
	mfe->inode_id = inode_id;
	fe->memfd = mfe;
	*ret_id = fe->id;
	return 0;
}

int dump_memfd_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		  const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	char path[64], label[PATH_MAX + 64];
	uint32_t inode_id;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", ctx->pid, pfd->fd);
	snprintf(label, sizeof(label), "pid %d fd %d", ctx->pid, pfd->fd);
	r = inode_id_of(ctx, (uint64_t)st->st_dev, (uint64_t)st->st_ino, path, pfd->target, label,
			&inode_id);
	if (r < 0)
		return r;
	return add_file(ctx->files, inode_id, fi->flags & ~(uint32_t)O_CLOEXEC, (uint64_t)fi->pos,
			ret_id);
}

int dump_memfd_mapped(struct dump_ctx *ctx, const struct mem_vma *v, const char *link,
		      const char *label, uint32_t *ret_id)
{
	struct dump_memfd *m = state(ctx->files);
	uint32_t inode_id, id, flags = v->e.fdflags;
	struct memfd_map *n;
	int r;

	if (!m)
		return -ENOMEM;
	r = inode_id_of(ctx, v->dev, v->ino, link, v->path, label, &inode_id);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->nmaps; i++)
		if (m->maps[i].inode_id == inode_id && m->maps[i].flags == flags) {
			*ret_id = m->maps[i].file_id;
			return 0;
		}
	n = reallocarray(m->maps, m->nmaps + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	m->maps = n;
	r = add_file(ctx->files, inode_id, flags, 0, &id);
	if (r < 0)
		return r;
	m->maps[m->nmaps++] = (struct memfd_map){inode_id, flags, id};
	*ret_id = id;
	return 0;
}

int dump_memfd_pages(struct dump_ctx *ctx)
{
	struct dump_memfd *m = ctx->files->memfd;

	for (size_t i = 0; m && i < m->ninodes; i++) {
		struct memfd_inode *in = &m->inodes[i];
		struct mem_dump_stats sh = {};
		int r;

		if (in->fd < 0)
			continue;
		r = mem_dump_shmem_fd(in->fd, in->e->shmid, in->e->size, ctx->dir,
				      dump_pages_id(ctx->sh), &sh);
		dump_count_shpages(&ctx->mem_stats, &sh);
		in->fd = safe_close(in->fd);
		if (r < 0) {
			pr_err("%s: cannot save the content of memfd \"%s\" (%" PRIu64
			       " bytes): %s",
			       in->label, in->e->name, in->e->size, strerror(-r));
			return r;
		}
		pr_info("%s: memfd \"%s\", %" PRIu64 " bytes, seals %#x, content in "
			"pagemap-shmem-%u.img",
			in->label, in->e->name, in->e->size, in->e->seals, in->e->shmid);
	}
	return 0;
}

int dump_memfd_commit(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	if (!f->memfd || !f->memfd->ninodes)
		return 0;
	r = img_create(dir, IMG_MEMFD_INODE, 0, &w);
	for (size_t i = 0; r >= 0 && i < f->memfd->ninodes; i++)
		r = img_write_entry(w, &f->memfd->inodes[i].e->base, NULL, 0);
	return r < 0 ? r : img_writer_commit(TAKE_PTR(w));
}

void dump_memfd_free(struct dump_files *f)
{
	if (!f->memfd)
		return;
	for (size_t i = 0; i < f->memfd->ninodes; i++)
		safe_close(f->memfd->inodes[i].fd);
	free(f->memfd->inodes);
	free(f->memfd->maps);
	free(f->memfd);
	f->memfd = NULL;
}
