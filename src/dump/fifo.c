/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FIFOs (docs/files.md, "FIFOs"), as CRIU writes them: a REG entry of
 * files.img for the path, with the fd's flags, and a FIFO entry naming it
 * (regf_id) and the FIFO's inode (pipe_id); in fifo-data.img, once per FIFO,
 * its buffer size and the bytes it holds, copied without draining it like
 * a pipe's. A FIFO deleted while open has its REG entry sent to a ghost
 * (ghost.c) with no content: its data is in fifo-data.img like any FIFO's.
 */
#include <fcntl.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/pipe.h"
#include "image/image.h"
#include "pipe-data.pb-c.h"

static bool fifo_seen(const struct dump_files *f, uint32_t pipe_id)
{
	for (size_t i = 0; i < f->nfifos_done; i++)
		if (f->fifos_done[i] == pipe_id)
			return true;
	return false;
}

static int dump_fifo_data(struct dump_ctx *ctx, int fd, uint32_t pipe_id, int accmode,
			  const char *label)
{
	_cleanup_(pipe_contents_done) struct pipe_contents pc = {};
	_cleanup_(pipe_copier_done) struct pipe_copier copier = PIPE_COPIER_INIT;
	PipeDataEntry pde = PIPE_DATA_ENTRY__INIT;
	struct dump_files *f = ctx->files;
	_cleanup_close_ int rfd = -1, pidfd = -1;
	uint32_t *done;
	int r;

	/* (FIFOs are rare: a pidfd and a copy pipe each, unlike pipes, which share them.) */
	if (accmode != O_WRONLY && (pidfd = sys_pidfd_open(ctx->pid, 0)) < 0) {
		r = negative_errno();
		pr_err("%s: cannot open a pidfd of the task: %s", label, strerror(-r));
		return r;
	}
	rfd = pipe_open_reader(pidfd, ctx->pid, fd, accmode, label);
	if (rfd < 0)
		return rfd;
	r = pipe_peek(&copier, rfd, label, &pc);
	if (r < 0)
		return r;
	if (!f->fifo_data && (r = img_create(ctx->dir, IMG_FIFO_DATA, 0, &f->fifo_data)) < 0)
		return r;
	pde.pipe_id = pipe_id;
	pde.bytes = (uint32_t)pc.len;
	pde.has_size = true;
	pde.size = pc.size;
	pr_info("%s: %zu bytes queued in a buffer of %u", label, pc.len, pc.size);
	r = img_write_entry(f->fifo_data, &pde.base, pc.data, pc.len);
	if (r < 0)
		return r;
	done = reallocarray(f->fifos_done, f->nfifos_done + 1, sizeof(*done));
	if (!done)
		return -ENOMEM;
	f->fifos_done = done;
	f->fifos_done[f->nfifos_done++] = pipe_id;
	return 0;
}

int dump_fifo_fd(struct dump_ctx *ctx, const struct proc_fd *pfd, const struct stat *st,
		 const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	FifoEntry *e = ARENA_MSG(&ctx->files->arena, FifoEntry, FIFO_ENTRY__INIT);
	uint32_t flags = fi->flags & ~(uint32_t)O_CLOEXEC, pipe_id = (uint32_t)st->st_ino;
	_cleanup_free_ char *path = NULL;
	char label[PATH_MAX + 64];
	bool deleted;
	FileEntry *fe;
	int r;

	if (!e)
		return -ENOMEM;
	snprintf(label, sizeof(label), "pid %d fd %d (FIFO %s)", ctx->pid, pfd->fd, pfd->target);
	if (flags & O_DIRECT) {
		pr_err("%s: it is in packet mode (O_DIRECT): stasis cannot keep the boundaries of "
		       "its packets; open it without O_DIRECT",
		       label);
		return -ENOTSUP;
	}
	deleted = dump_ghost_is_deleted(pfd->target);
	path = deleted ? dump_ghost_path(pfd->target) : strdup(pfd->target);
	if (!path)
		return -ENOMEM;
	r = dump_files_add_reg(ctx->files, path, st, flags, 0, &e->regf_id);
	/* deleted: made again at restore from its ghost (docs/files.md, "ghost FIFOs") */
	if (r >= 0 && deleted)
		r = dump_ghost_remap(ctx, pfd, st, e->regf_id);
	if (r < 0)
		return r;
	e->has_regf_id = true;
	e->pipe_id = pipe_id;
	if (!fifo_seen(ctx->files, pipe_id) &&
	    (r = dump_fifo_data(ctx, pfd->fd, pipe_id, (int)(flags & O_ACCMODE), label)) < 0)
		return r;
	if (dump_files_new(ctx->files, FD_TYPES__FIFO, &fe) < 0)
		return -ENOMEM;
	e->id = fe->id;
	fe->fifo = e;
	*ret_id = fe->id;
	return 0;
}
