/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ghost files (docs/files.md, "Files deleted while open"), as CRIU writes
 * them: the fd's REG entry names the path the file had, a remap entry of
 * remap-fpath.img sends that entry to a ghost (orig_id -> remap_id, type
 * GHOST), and ghost-file-REMAP_ID.img holds the file's owner, mode, inode,
 * times and size, then its content. One ghost per inode of the tree, however
 * many descriptions are open on it.
 */
#include <fcntl.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "dump/internal.h"
#include "ghost-file.pb-c.h"
#include "image/image.h"

#define DELETED_SUFFIX " (deleted)"

struct dump_ghost {
	dev_t dev;
	ino_t ino;
	uint32_t id; /* ghost-file-ID.img */
};

bool dump_ghost_is_deleted(const char *target)
{
	size_t n = strlen(target), s = strlen(DELETED_SUFFIX);

	return target[0] == '/' && n > s && streq(target + n - s, DELETED_SUFFIX);
}

/* The ghost of (dev, ino) written already, or 0. */
static uint32_t ghost_seen(const struct dump_files *f, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < f->nghosts; i++)
		if (f->ghosts[i].dev == dev && f->ghosts[i].ino == ino)
			return f->ghosts[i].id;
	return 0;
}

/* The content, read through our own open of /proc/PID/fd/N: the task's fd may be write-only. */
static int copy_content(struct img_writer *w, pid_t pid, int fd, uint64_t size, const char *label)
{
	_cleanup_free_ uint8_t *buf = malloc(65536);
	_cleanup_close_ int rfd = -1;
	char link[64];
	uint64_t off = 0;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", pid, fd);
	rfd = open(link, O_RDONLY | O_CLOEXEC);
	if (rfd < 0) {
		int r = negative_errno();
		pr_err("%s: cannot open it to read its content: %s", label, strerror(-r));
		return r;
	}
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		size_t want = (size_t)MIN(size - off, (uint64_t)65536);
		ssize_t n = pread(rfd, buf, want, (off_t)off);
		int r;

		if (n <= 0) {
			r = n < 0 ? negative_errno() : -ESTALE;
			pr_err("%s: cannot read its content at %llu: %s", label,
			       (unsigned long long)off, n < 0 ? strerror(-r) : "it shrank");
			return r;
		}
		r = img_write_raw(w, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	return 0;
}

static int write_ghost(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t id,
		       const char *label)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	GhostFileEntry gfe = GHOST_FILE_ENTRY__INIT;
	Timeval atim = TIMEVAL__INIT, mtim = TIMEVAL__INIT;
	int r;

	gfe.uid = st->st_uid;
	gfe.gid = st->st_gid;
	gfe.mode = st->st_mode;
	/* The kernel's encoding of a device, as CRIU writes it (crit shows major:minor). */
	gfe.has_dev = gfe.has_ino = gfe.has_size = true;
	gfe.dev = (uint32_t)(major(st->st_dev) << 20 | minor(st->st_dev));
	gfe.ino = st->st_ino;
	gfe.size = (uint64_t)st->st_size;
	atim.tv_sec = (uint64_t)st->st_atim.tv_sec;
	atim.tv_usec = (uint64_t)st->st_atim.tv_nsec / 1000;
	mtim.tv_sec = (uint64_t)st->st_mtim.tv_sec;
	mtim.tv_usec = (uint64_t)st->st_mtim.tv_nsec / 1000;
	gfe.atim = &atim;
	gfe.mtim = &mtim;
	/* Not in chunks: the content follows the entry, the rest of the image (CRIU reads both). */
	r = img_create(ctx->dir, IMG_GHOST_FILE, id, &w);
	if (r >= 0)
		r = img_write_entry(w, &gfe.base, NULL, 0);
	/* a FIFO has no content here: its data goes into fifo-data.img */
	if (r >= 0 && S_ISREG(st->st_mode))
		r = copy_content(w, ctx->pid, fd, gfe.size, label);
	if (r >= 0)
		r = img_writer_commit(TAKE_PTR(w));
	if (r >= 0)
		pr_info("%s: %llu bytes saved in ghost-file-%x.img", label,
			(unsigned long long)gfe.size, id);
	return r;
}

/* The ghost of the file of fd: written on the first description met on its inode. */
static int ghost_of(struct dump_ctx *ctx, int fd, const struct stat *st, const char *label,
		    uint32_t *ret_id)
{
	struct dump_files *f = ctx->files;
	uint32_t id = ghost_seen(f, st->st_dev, st->st_ino);
	struct dump_ghost *n;
	int r;

	if (id) {
		*ret_id = id;
		return 0;
	}
	id = (uint32_t)f->nghosts + 1;
	r = write_ghost(ctx, fd, st, id, label);
	if (r < 0)
		return r;
	n = reallocarray(f->ghosts, f->nghosts + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->ghosts = n;
	f->ghosts[f->nghosts++] = (struct dump_ghost){st->st_dev, st->st_ino, id};
	*ret_id = id;
	return 0;
}

static int add_remap(struct dump_files *f, uint32_t orig_id, uint32_t remap_id)
{
	RemapFilePathEntry *e =
		ARENA_MSG(&f->arena, RemapFilePathEntry, REMAP_FILE_PATH_ENTRY__INIT);
	RemapFilePathEntry **n = reallocarray(f->remaps, f->nremaps + 1, sizeof(*n));

	if (n)
		f->remaps = n;
	if (!e || !n)
		return -ENOMEM;
	e->orig_id = orig_id;
	e->remap_id = remap_id;
	e->has_remap_type = true;
	e->remap_type = REMAP_TYPE__GHOST;
	f->remaps[f->nremaps++] = e;
	return 0;
}

/* Why a deleted file cannot be a ghost, or NULL. */
static const char *not_a_ghost(const struct stat *st, uint64_t limit, char *buf, size_t size)
{
	if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode))
		return "only deleted regular files and FIFOs are supported; close it in the "
		       "program before the checkpoint";
	if (st->st_nlink > 0)
		return "it is still linked under another name, which stasis cannot find back; "
		       "close it in the program before the checkpoint";
	if ((uint64_t)st->st_size > limit) {
		snprintf(buf, size,
			 "its %lld bytes are more than --ghost-limit (%llu bytes); raise "
			 "--ghost-limit to save its content in the images",
			 (long long)st->st_size, (unsigned long long)limit);
		return buf;
	}
	return NULL;
}

int dump_ghost_remap(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		     uint32_t reg_id)
{
	uint64_t limit = ctx->opts->ghost_limit ? ctx->opts->ghost_limit : DUMP_GHOST_LIMIT_DEFAULT;
	char label[PATH_MAX + 64], why[160];
	const char *refusal = not_a_ghost(st, limit, why, sizeof(why));
	uint32_t ghost_id;
	int r;

	if (refusal) {
		pr_err("pid %d fd %d is a file deleted while open (%s): stasis cannot checkpoint "
		       "it: %s; the task was left running",
		       ctx->pid, pfd->fd, pfd->target, refusal);
		return -ENOTSUP;
	}
	snprintf(label, sizeof(label), "pid %d fd %d (%s)", ctx->pid, pfd->fd, pfd->target);
	r = ghost_of(ctx, pfd->fd, st, label, &ghost_id);
	return r < 0 ? r : add_remap(ctx->files, reg_id, ghost_id);
}

char *dump_ghost_path(const char *target)
{
	return strndup(target, strlen(target) - strlen(DELETED_SUFFIX));
}

int dump_ghost_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		  const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	_cleanup_free_ char *path = dump_ghost_path(pfd->target);
	uint32_t reg_id;
	int r;

	if (!path)
		return -ENOMEM;
	r = dump_files_add_reg(ctx->files, path, st, fi->flags & ~(uint32_t)O_CLOEXEC,
			       (uint64_t)fi->pos, &reg_id);
	if (r < 0)
		return r;
	*ret_id = reg_id;
	return dump_ghost_remap(ctx, pfd, st, reg_id);
}

int dump_ghost_commit(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	if (!f->nremaps)
		return 0;
	r = img_create(dir, IMG_REMAP_FPATH, 0, &w);
	for (size_t i = 0; r >= 0 && i < f->nremaps; i++)
		r = img_write_entry(w, &f->remaps[i]->base, NULL, 0);
	return r < 0 ? r : img_writer_commit(TAKE_PTR(w));
}

void dump_ghost_free(struct dump_files *f)
{
	free(f->ghosts);
	free(f->remaps);
	f->ghosts = NULL;
	f->remaps = NULL;
	f->nghosts = f->nremaps = 0;
}
