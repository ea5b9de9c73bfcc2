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
	uint32_t id;         /* ghost-file-ID.img */
	uint32_t map_reg_id; /* the REG entry its mappings name, 0 until one is met */
};

bool dump_ghost_is_deleted(const char *target)
{
	size_t n = strlen(target), s = strlen(DELETED_SUFFIX);

	return target[0] == '/' && n > s && streq(target + n - s, DELETED_SUFFIX);
}

/* The ghost of (dev, ino) written already, or NULL. */
static struct dump_ghost *ghost_seen(const struct dump_files *f, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < f->nghosts; i++)
		if (f->ghosts[i].dev == dev && f->ghosts[i].ino == ino)
			return &f->ghosts[i];
	return NULL;
}

/*
 * The content, read through our own open of link (/proc/PID/fd/N, a
 * map_files link, /proc/PID/exe): the task's fd may be write-only.
 */
static int copy_content(struct img_writer *w, const char *link, uint64_t size, const char *label)
{
	_cleanup_free_ uint8_t *buf = malloc(65536);
	_cleanup_close_ int rfd = -1;
	uint64_t off = 0;

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

static int write_ghost(struct dump_ctx *ctx, const char *link, const struct stat *st, uint32_t id,
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
		r = copy_content(w, link, gfe.size, label);
	if (r >= 0)
		r = img_writer_commit(TAKE_PTR(w));
	if (r >= 0)
		pr_info("%s: %llu bytes saved in ghost-file-%x.img", label,
			(unsigned long long)gfe.size, id);
	return r;
}

/* The ghost of the file open at link: written on the first description or mapping met on it. */
static int ghost_of(struct dump_ctx *ctx, const char *link, const struct stat *st,
		    const char *label, struct dump_ghost **ret)
{
	struct dump_files *f = ctx->files;
	struct dump_ghost *g = ghost_seen(f, st->st_dev, st->st_ino), *n;
	uint32_t id;
	int r;

	if (g) {
		*ret = g;
		return 0;
	}
	id = (uint32_t)f->nghosts + 1;
	r = write_ghost(ctx, link, st, id, label);
	if (r < 0)
		return r;
	n = reallocarray(f->ghosts, f->nghosts + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->ghosts = n;
	f->ghosts[f->nghosts] = (struct dump_ghost){st->st_dev, st->st_ino, id, 0};
	*ret = &f->ghosts[f->nghosts++];
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

/*
 * The ghost of target (a link ending in " (deleted)"; who holds it: label,
 * how: "open" or "mapped"), read through link; refused by name if it cannot
 * be one.
 */
static int ghost_for(struct dump_ctx *ctx, const char *target, const char *link,
		     const struct stat *st, const char *label, const char *how,
		     struct dump_ghost **ret_ghost)
{
	uint64_t limit = ctx->opts->ghost_limit ? ctx->opts->ghost_limit : DUMP_GHOST_LIMIT_DEFAULT;
	char what[PATH_MAX + 96], why[160];
	const char *refusal = not_a_ghost(st, limit, why, sizeof(why));

	if (refusal) {
		pr_err("%s is a file deleted while %s (%s): stasis cannot checkpoint it: %s; the "
		       "task was left running",
		       label, how, target, refusal);
		return -ENOTSUP;
	}
	snprintf(what, sizeof(what), "%s (%s)", label, target);
	return ghost_of(ctx, link, st, what, ret_ghost);
}

char *dump_ghost_path(const char *target)
{
	return strndup(target, strlen(target) - strlen(DELETED_SUFFIX));
}

/* A REG entry for target with flags and pos, sent by a remap to the ghost of the file. */
static int ghost_reg(struct dump_ctx *ctx, const char *target, const char *link,
		     const struct stat *st, const char *label, const char *how, uint32_t flags,
		     uint64_t pos, struct dump_ghost **ret_ghost, uint32_t *ret_id)
{
	_cleanup_free_ char *path = dump_ghost_path(target);
	struct dump_ghost *g;
	uint32_t reg_id;
	int r;

	if (!path)
		return -ENOMEM;
	r = ghost_for(ctx, target, link, st, label, how, &g);
	if (r < 0)
		return r;
	r = dump_files_add_reg(ctx->files, path, st, flags, pos, &reg_id);
	if (r < 0)
		return r;
	*ret_ghost = g;
	*ret_id = reg_id;
	return add_remap(ctx->files, reg_id, g->id);
}

int dump_ghost_remap(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		     uint32_t reg_id)
{
	char label[64], link[64];
	struct dump_ghost *g;
	int r;

	snprintf(label, sizeof(label), "pid %d fd %d", ctx->pid, pfd->fd);
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", ctx->pid, pfd->fd);
	r = ghost_for(ctx, pfd->target, link, st, label, "open", &g);
	return r < 0 ? r : add_remap(ctx->files, reg_id, g->id);
}

int dump_ghost_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		  const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	char label[64], link[64];
	struct dump_ghost *g;

	snprintf(label, sizeof(label), "pid %d fd %d", ctx->pid, pfd->fd);
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", ctx->pid, pfd->fd);
	return ghost_reg(ctx, pfd->target, link, st, label, "open",
			 fi->flags & ~(uint32_t)O_CLOEXEC, (uint64_t)fi->pos, &g, ret_id);
}

int dump_ghost_mapped(struct dump_ctx *ctx, const char *target, const char *link, const char *label,
		      uint32_t *ret_id)
{
	struct dump_ghost *g;
	struct stat st;
	int r;

	if (stat(link, &st) < 0) {
		r = negative_errno();
		pr_err("%s: cannot stat %s, the deleted file %s: %s", label, link, target,
		       strerror(-r));
		return r;
	}
	g = ghost_seen(ctx->files, st.st_dev, st.st_ino);
	if (g && g->map_reg_id) {
		*ret_id = g->map_reg_id;
		return 0;
	}
	/* One entry for every mapping of the file, flags 0 and pos 0, as dump_files_mapped(). */
	r = ghost_reg(ctx, target, link, &st, label, "mapped", 0, 0, &g, ret_id);
	if (r < 0)
		return r;
	g->map_reg_id = *ret_id;
	return 0;
}

bool dump_ghost_remapped(const struct dump_files *f, uint32_t id)
{
	for (size_t i = 0; i < f->nremaps; i++)
		if (f->remaps[i]->orig_id == id)
			return true;
	return false;
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
