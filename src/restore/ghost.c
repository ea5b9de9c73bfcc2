/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ghost files (docs/files.md, "Files deleted while open"): a REG entry that
 * remap-fpath.img sends to a ghost (type GHOST) was a file deleted while
 * open. The controller makes the file again, once per ghost: at its old
 * path (or, if that name is taken now, a new name in the same directory),
 * with its content, owner, mode and times; keeps an fd on it (the keeper)
 * and unlinks it at once. Every description of it is then a new open of
 * the keeper through /proc/self/fd, with its own flags, so the program
 * finds a deleted file (its link ends in " (deleted)") with its content.
 * The keepers are closed with the rest of what the tree shares. A deleted
 * FIFO is made again the same way (mkfifo, no content: its data is in
 * fifo-data.img), and fifo.c opens it through its keeper.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "ghost-file.pb-c.h"
#include "image/image.h"
#include "restore/internal.h"

/* Images before CRIU 1.3 had no remap_type: the ghost bit was in remap_id. */
#define OLD_REMAP_GHOST 0x80000000u

const RemapFilePathEntry *rst_ghost_remap(const struct rst_images *img, uint32_t id)
{
	for (size_t i = 0; i < img->nremaps; i++) {
		const RemapFilePathEntry *e = img->remaps[i];

		if (e->orig_id != id)
			continue;
		if (e->has_remap_type ? e->remap_type == REMAP_TYPE__GHOST
				      : (e->remap_id & OLD_REMAP_GHOST) != 0)
			return e;
	}
	return NULL;
}

static int write_all_at(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);

		if (n < 0)
			return negative_errno();
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* The content of the ghost image into fd: the rest of entry 0, or chunks (holes between). */
static int fill(struct img_file *img, const GhostFileEntry *gfe, const struct img_entry *first,
		int fd)
{
	struct img_entry e = {};
	int r;

	if (gfe->has_size && ftruncate(fd, (off_t)gfe->size) < 0)
		return negative_errno();
	if (!gfe->chunks)
		return write_all_at(fd, first->extra, first->extra_len, 0);
	while ((r = img_next(img, &e)) > 0) {
		const GhostChunkEntry *ch = (const GhostChunkEntry *)e.msg;

		r = write_all_at(fd, e.extra, e.extra_len, ch->off);
		img_entry_clear(&e);
		if (r < 0)
			return r;
	}
	return r;
}

/* The attributes the file had: owner first (chown clears set-user-ID), then mode, then times. */
static int set_attrs(int fd, const GhostFileEntry *gfe)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};

	if (gfe->atim)
		ts[0] = (struct timespec){(time_t)gfe->atim->tv_sec,
					  (long)gfe->atim->tv_usec * 1000};
	if (gfe->mtim)
		ts[1] = (struct timespec){(time_t)gfe->mtim->tv_sec,
					  (long)gfe->mtim->tv_usec * 1000};
	if (fchown(fd, gfe->uid, gfe->gid) < 0 || fchmod(fd, gfe->mode & 07777) < 0 ||
	    futimens(fd, ts) < 0)
		return negative_errno();
	return 0;
}

/* A new file (or FIFO) at name; an fd on it, read-write (a FIFO's never blocks). */
static int create_new(const char *name, bool fifo)
{
	if (!fifo)
		return open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (mkfifo(name, 0600) < 0)
		return -1;
	return open(name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

/* A new file at path, or at a free name next to it; its name in ret_name (PATH_MAX). */
static int create_at_free_name(const char *path, uint32_t id, bool fifo, char *ret_name)
{
	snprintf(ret_name, PATH_MAX, "%s", path);
	for (unsigned i = 0; i < 100; i++) {
		int fd = create_new(ret_name, fifo);

		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? negative_errno() : fd;
		if (snprintf(ret_name, PATH_MAX, "%s.stasis-ghost-%x-%u", path, id, i) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	return -EEXIST;
}

/* A read-only description of the file of fd, which is closed. */
static int reopen_read_only(int fd)
{
	char link[64];
	int ro;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ro = open(link, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		ro = negative_errno();
	close(fd);
	return ro;
}

/* Ghost id made again from ghost-file-ID.img, its keeper returned (kept open by the caller). */
static int make_ghost(struct rst_ctx *c, uint32_t id, const char *path, const char *what)
{
	_cleanup_img_file_ struct img_file *img = NULL;
	_cleanup_img_entry_ struct img_entry first = {};
	const GhostFileEntry *gfe;
	char name[PATH_MAX];
	int fd, r;

	r = img_open(c->img.dir, IMG_GHOST_FILE, id, &img);
	if (r >= 0)
		r = img_next(img, &first);
	if (r <= 0) {
		rst_err(c, "%s: cannot read ghost-file-%x.img, the content of %s: %s", what, id,
			path, r == 0 ? "it is empty" : strerror(-r));
		return r == 0 ? -EBADMSG : r;
	}
	gfe = (const GhostFileEntry *)first.msg;
	if (!S_ISREG(gfe->mode) && !S_ISFIFO(gfe->mode)) {
		rst_err(c,
			"%s: the ghost of %s is no regular file or FIFO (mode %o); stasis restores "
			"deleted regular files and FIFOs only",
			what, path, gfe->mode);
		return -EOPNOTSUPP;
	}
	fd = create_at_free_name(path, id, S_ISFIFO(gfe->mode), name);
	if (fd < 0) {
		rst_err(c, "%s: cannot make the deleted file %s again: %s", what, path,
			strerror(-fd));
		return fd;
	}
	/* a FIFO's data is in fifo-data.img (fifo.c) */
	r = S_ISFIFO(gfe->mode) ? 0 : fill(img, gfe, &first, fd);
	if (r < 0)
		rst_err(c, "%s: cannot write the content of the deleted file %s into %s: %s", what,
			path, name, strerror(-r));
	else if ((r = set_attrs(fd, gfe)) < 0)
		rst_err(c,
			"%s: cannot give %s the owner, mode and times of the deleted file %s: %s",
			what, name, path, strerror(-r));
	if (unlink(name) < 0 && r >= 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot unlink %s again: %s", what, name, strerror(-r));
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	rst_info(c, "%s: deleted file %s made again as %s (%llu bytes)", what, path, name,
		 (unsigned long long)(gfe->has_size ? gfe->size : first.extra_len));
	/* Kept read-only: a writer would keep it from being a task's executable (ETXTBSY). */
	r = reopen_read_only(fd);
	if (r < 0) {
		rst_err(c, "%s: cannot reopen the deleted file %s read-only: %s", what, path,
			strerror(-r));
		return r;
	}
	return rst_fd_move_up(c, r, name);
}

static int keeper(struct rst_ctx *c, uint32_t id, const char *path, const char *what)
{
	struct rst_shared *s = c->shared;
	struct rst_ghost *n;
	int fd;

	for (size_t i = 0; i < s->nghosts; i++)
		if (s->ghosts[i].id == id)
			return s->ghosts[i].keeper;
	n = reallocarray(s->ghosts, s->nghosts + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->ghosts = n;
	fd = make_ghost(c, id, path, what);
	if (fd < 0)
		return fd;
	s->ghosts[s->nghosts++] = (struct rst_ghost){id, fd};
	return fd;
}

int rst_ghost_link(struct rst_ctx *c, const RemapFilePathEntry *remap, const RegFileEntry *reg,
		   const char *what, char ret_link[static RST_GHOST_LINK_MAX])
{
	uint32_t id = remap->has_remap_type ? remap->remap_id : remap->remap_id & ~OLD_REMAP_GHOST;
	int k = keeper(c, id, reg->name, what);

	if (k < 0)
		return k;
	snprintf(ret_link, RST_GHOST_LINK_MAX, "/proc/self/fd/%d", k);
	return 0;
}

int rst_ghost_open(struct rst_ctx *c, const RemapFilePathEntry *remap, const RegFileEntry *reg,
		   int flags, const char *what)
{
	char link[RST_GHOST_LINK_MAX];
	int r = rst_ghost_link(c, remap, reg, what, link), fd;

	if (r < 0)
		return r;
	fd = open(link, flags | O_CLOEXEC);
	if (fd < 0) {
		int r = negative_errno();
		rst_err(c, "%s: cannot open the deleted file %s again: %s", what, reg->name,
			strerror(-r));
		return r;
	}
	return fd;
}

void rst_ghosts_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nghosts; i++)
		safe_close(s->ghosts[i].keeper);
	free(s->ghosts);
	s->ghosts = NULL;
	s->nghosts = 0;
}
