/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipes of a dump, as CRIU writes them: one FileEntry of type PIPE per open
 * file description (PipeEntry: pipe_id is the pipe's inode, flags its
 * status flags), and in pipes-data.img, once per pipe, its buffer size and
 * the bytes it holds. The bytes are copied without draining the pipe
 * (files/pipe.c), so that a dump that fails later, or one made with -R,
 * leaves them where they were.
 */
#include <fcntl.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/pipe.h"
#include "image/image.h"
#include "pipe-data.pb-c.h"

static int add_pipe(struct dump_files *f, uint32_t pipe_id, uint32_t flags, uint32_t *ret_id)
{
	PipeEntry *pe = ARENA_MSG(&f->arena, PipeEntry, PIPE_ENTRY__INIT);
	FownEntry *fown = ARENA_MSG(&f->arena, FownEntry, FOWN_ENTRY__INIT);
	FileEntry *fe;
	int r;

	if (!pe || !fown)
		return -ENOMEM;
	r = dump_files_new(f, FD_TYPES__PIPE, &fe);
	if (r < 0)
		return r;
	pe->id = fe->id;
	pe->pipe_id = pipe_id;
	pe->flags = flags;
	pe->fown = fown;
	fe->pipe = pe;
	*ret_id = fe->id;
	return 0;
}

int dump_pipe_fd(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t flags,
		 uint32_t *ret_id)
{
	/* A packet-mode pipe: what tee() copies out of it loses the packet boundaries. */
	if (flags & O_DIRECT) {
		pr_err("pid %d fd %d is a pipe in packet mode (O_DIRECT): stasis cannot keep the "
		       "boundaries of its packets; open the pipe without O_DIRECT",
		       ctx->pid, fd);
		return -ENOTSUP;
	}
	/* CRIU's pipe_id is the inode number, 32 bits of it. */
	return add_pipe(ctx->files, (uint32_t)st->st_ino, flags & ~O_CLOEXEC, ret_id);
}

static const PipeEntry *pipe_of(const struct dump_ctx *ctx, const FdinfoEntry *e)
{
	return e->type == FD_TYPES__PIPE ? ctx->files->entries[e->id - 1]->pipe : NULL;
}

/* The fd to read pipe_id's data through: one that can read it if the task has one. */
static const FdinfoEntry *reading_fd(const struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n,
				     uint32_t pipe_id)
{
	const FdinfoEntry *any = NULL;

	for (size_t i = 0; i < n; i++) {
		const PipeEntry *pe = pipe_of(ctx, &fds[i]);

		if (!pe || pe->pipe_id != pipe_id)
			continue;
		if ((pe->flags & O_ACCMODE) != O_WRONLY)
			return &fds[i];
		if (!any)
			any = &fds[i];
	}
	return any;
}

/* What the pipes of one process are read through. */
struct pipe_reading {
	int pidfd;
	struct pipe_copier copier;
};

static int dump_one_pipe_data(struct dump_ctx *ctx, struct pipe_reading *rd, struct img_writer *w,
			      const FdinfoEntry *fe)
{
	_cleanup_(pipe_contents_done) struct pipe_contents pc = {};
	const PipeEntry *pe = pipe_of(ctx, fe);
	PipeDataEntry pde = PIPE_DATA_ENTRY__INIT;
	_cleanup_close_ int rfd = -1;
	char label[80];
	int r;

	snprintf(label, sizeof(label), "pid %d fd %u (pipe:[%u])", ctx->pid, fe->fd, pe->pipe_id);
	if (rd->pidfd < 0 && (pe->flags & O_ACCMODE) != O_WRONLY &&
	    (rd->pidfd = sys_pidfd_open(ctx->pid, 0)) < 0) {
		r = negative_errno();
		pr_err("%s: cannot open a pidfd of the task: %s", label, strerror(-r));
		return r;
	}
	rfd = pipe_open_reader(rd->pidfd, ctx->pid, (int)fe->fd, (int)(pe->flags & O_ACCMODE),
			       label);
	if (rfd < 0)
		return rfd;
	r = pipe_peek(&rd->copier, rfd, label, &pc);
	if (r < 0)
		return r;
	pde.pipe_id = pe->pipe_id;
	pde.bytes = (uint32_t)pc.len;
	pde.has_size = true;
	pde.size = pc.size;
	pr_info("%s: %zu bytes queued in a buffer of %u", label, pc.len, pc.size);
	return img_write_entry(w, &pde.base, pc.data, pc.len);
}

/* Whether the data of pipe_id is written already (by this process or an earlier one). */
static bool pipe_seen(const struct dump_shared *sh, uint32_t pipe_id)
{
	for (size_t i = 0; i < sh->npipes_done; i++)
		if (sh->pipes_done[i] == pipe_id)
			return true;
	return false;
}

static int mark_seen(struct dump_shared *sh, uint32_t pipe_id)
{
	uint32_t *n = reallocarray(sh->pipes_done, sh->npipes_done + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	sh->pipes_done = n;
	sh->pipes_done[sh->npipes_done++] = pipe_id;
	return 0;
}

static int dump_pipes_data_with(struct dump_ctx *ctx, struct pipe_reading *rd,
				const FdinfoEntry *fds, size_t n)
{
	struct dump_shared *sh = ctx->sh;
	int r;

	for (size_t i = 0; i < n; i++) {
		const PipeEntry *pe = pipe_of(ctx, &fds[i]);

		if (!pe || pipe_seen(sh, pe->pipe_id))
			continue;
		/* Only a tree with pipes gets a pipes-data.img, as with CRIU; it is committed with
		 * files.img. */
		if (!sh->pipes_data &&
		    (r = img_create(ctx->dir, IMG_PIPES_DATA, 0, &sh->pipes_data)) < 0)
			return r;
		/* fds[i] is its first fd: an earlier one would have been seen. */
		r = dump_one_pipe_data(ctx, rd, sh->pipes_data,
				       reading_fd(ctx, fds + i, n - i, pe->pipe_id));
		if (r == 0)
			r = mark_seen(sh, pe->pipe_id);
		if (r < 0)
			return r;
	}
	return 0;
}

int dump_pipes_data(struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n)
{
	struct pipe_reading rd = {.pidfd = -1, .copier = PIPE_COPIER_INIT};
	int r = dump_pipes_data_with(ctx, &rd, fds, n);

	safe_close(rd.pidfd);
	pipe_copier_done(&rd.copier);
	return r;
}

void dump_pipes_release(struct dump_shared *sh)
{
	img_writer_free(sh->pipes_data);
	sh->pipes_data = NULL;
	free(sh->pipes_done);
	sh->pipes_done = NULL;
	sh->npipes_done = 0;
}
