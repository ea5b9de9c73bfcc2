/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FIFOs (docs/files.md, "FIFOs"), opened by the controller by their path
 * before the task exists. Opening a FIFO for reading or writing alone
 * blocks until the other end is opened, so the first open of each FIFO is
 * read-write and non-blocking: that one (the keeper) is an end of both
 * kinds, so that every other open returns at once, and it writes the data
 * of fifo-data.img back into the FIFO. The keeper stays open until the end
 * of the restore, so that the data lives until the tasks hold their ends.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "files/file.h"
#include "files/pipe.h"
#include "restore/internal.h"

static const FifoEntry *fifo_by_id(const struct rst_images *img, uint32_t id)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i]->type == FD_TYPES__FIFO && img->files[i]->fifo &&
		    img->files[i]->fifo->id == id)
			return img->files[i]->fifo;
	return NULL;
}

static const struct rst_pipe_data *fifo_data(const struct rst_shared *s, uint32_t pipe_id)
{
	for (size_t i = 0; i < s->nfifo_data; i++)
		if (s->fifo_data[i].e->pipe_id == pipe_id)
			return &s->fifo_data[i];
	return NULL;
}

static int open_fifo(struct rst_ctx *c, const char *path, int flags, const char *label)
{
	struct stat st;
	int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC), r;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		r = fd < 0 ? negative_errno() : -ESTALE;
		rst_err(c, "%s: cannot open the FIFO %s: %s", label, path,
			r == -ESTALE ? "it is no FIFO now" : strerror(-r));
		safe_close(fd);
		return r;
	}
	return rst_fd_move_up(c, fd, label);
}

/* The keeper of FIFO pipe_id at path, opened (and filled) on the first fd of it. */
static int keeper(struct rst_ctx *c, uint32_t pipe_id, const char *path, const char *label)
{
	struct rst_shared *s = c->shared;
	const struct rst_pipe_data *pd;
	struct rst_fifo *n;
	int fd, r;

	for (size_t i = 0; i < s->nfifos; i++)
		if (s->fifos[i].pipe_id == pipe_id)
			return 0;
	if (!s->fifo_data_loaded) {
		r = rst_pipe_data_read(c->img.dir, IMG_FIFO_DATA, &s->fifo_data, &s->nfifo_data);
		if (r < 0)
			return r;
		s->fifo_data_loaded = true;
	}
	fd = open_fifo(c, path, O_RDWR, label);
	if (fd < 0)
		return fd;
	pd = fifo_data(s, pipe_id);
	r = pd ? pipe_fill(fd, pd->e->has_size ? pd->e->size : 0, pd->bytes, pd->len, label) : 0;
	n = r < 0 ? NULL : reallocarray(s->fifos, s->nfifos + 1, sizeof(*n));
	if (!n) {
		close(fd);
		return r < 0 ? r : -ENOMEM;
	}
	s->fifos = n;
	s->fifos[s->nfifos++] = (struct rst_fifo){pipe_id, fd};
	if (pd && pd->len)
		rst_info(c, "%s: %zu bytes queued again", label, pd->len);
	return 0;
}

int rst_fifo_open(struct rst_ctx *c, uint32_t id, const char *what)
{
	const int drop = O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC | O_NONBLOCK;
	const FifoEntry *e = fifo_by_id(&c->img, id);
	const RegFileEntry *reg = e ? rst_reg_file(&c->img, e->regf_id) : NULL;
	const RemapFilePathEntry *remap;
	char label[96], link[RST_GHOST_LINK_MAX];
	const char *path;
	int fd, r;

	if (!reg) {
		rst_err(c, "%s: file %u is not a FIFO with a path in files.img", what, id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s (FIFO)", (int)c->pid, what);
	/* a FIFO deleted while open: opened through the keeper of its ghost */
	remap = rst_ghost_remap(&c->img, e->regf_id);
	r = remap ? rst_ghost_link(c, remap, reg, label, link) : 0;
	path = remap ? link : reg->name;
	if (r >= 0)
		r = keeper(c, e->pipe_id, path, label);
	if (r < 0)
		return r;
	fd = open_fifo(c, path, (int)reg->flags & ~drop, label);
	if (fd < 0)
		return fd;
	r = file_set_flags(fd, reg->flags, label);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

void rst_fifos_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nfifos; i++)
		safe_close(s->fifos[i].keeper);
	free(s->fifos);
	rst_pipe_data_free(s->fifo_data, s->nfifo_data);
	s->fifos = NULL;
	s->fifo_data = NULL;
	s->nfifos = s->nfifo_data = 0;
}
