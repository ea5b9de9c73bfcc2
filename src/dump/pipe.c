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
#include "base/sorted.h"
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

/* A pipe of the process whose data is to be read, through fe. */
struct pipe_job {
	const FdinfoEntry *fe;
	struct pipe_contents pc;
};

static void pipe_label(const struct dump_ctx *ctx, const FdinfoEntry *fe, char *label, size_t size)
{
	snprintf(label, size, "pid %d fd %u (pipe:[%u])", ctx->pid, fe->fd,
		 pipe_of(ctx, fe)->pipe_id);
}

/* The data of every job, read while the tree is frozen, through one pidfd and one copier. */
static int peek_all(const struct dump_ctx *ctx, struct pipe_job *jobs, size_t n)
{
	_cleanup_close_ int pidfd = sys_pidfd_open(ctx->pid, 0);
	struct pipe_copier cp = PIPE_COPIER_INIT;
	int r = 0;

	if (pidfd < 0) {
		r = negative_errno();
		pr_err("pid %d: cannot open a pidfd to read its pipes: %s", ctx->pid, strerror(-r));
		return r;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		const PipeEntry *pe = pipe_of(ctx, jobs[i].fe);
		char label[80];
		int rfd;

		pipe_label(ctx, jobs[i].fe, label, sizeof(label));
		rfd = pipe_open_reader(pidfd, ctx->pid, (int)jobs[i].fe->fd,
				       (int)(pe->flags & O_ACCMODE), label);
		if (rfd < 0) {
			r = rfd;
			break;
		}
		r = pipe_peek(&cp, rfd, label, &jobs[i].pc);
		close(rfd);
	}
	pipe_copier_done(&cp);
	return r;
}

static uint64_t u32_key(const void *base, size_t i)
{
	return ((const uint32_t *)base)[i];
}

/*
 * Whether the data of pipe_id is written already (by this process or an
 * earlier one); if not, *ret_at is where it goes in sh->pipes_done.
 */
static bool pipe_seen(const struct dump_shared *sh, uint32_t pipe_id, size_t *ret_at)
{
	size_t at = sorted_lower_bound(sh->pipes_done, sh->npipes_done, pipe_id, u32_key);

	if (at < sh->npipes_done && sh->pipes_done[at] == pipe_id)
		return true;
	*ret_at = at;
	return false;
}

/* pipe_id's data is dumped (now): kept in order for pipe_seen(). */
static int mark_seen(struct dump_shared *sh, uint32_t pipe_id, size_t at)
{
	uint32_t *n = reallocarray(sh->pipes_done, sh->npipes_done + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	sh->pipes_done = n;
	memmove(n + at + 1, n + at, (sh->npipes_done - at) * sizeof(*n));
	n[at] = pipe_id;
	sh->npipes_done++;
	return 0;
}

/* The pipes of the process not dumped yet, each with the fd to read it through. */
static int pipe_jobs(struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n,
		     struct pipe_job **ret_jobs, size_t *ret_n)
{
	_cleanup_free_ struct pipe_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
	size_t njobs = 0, at;
	int r;

	if (!jobs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const PipeEntry *pe = pipe_of(ctx, &fds[i]);

		if (!pe || pipe_seen(ctx->sh, pe->pipe_id, &at))
			continue;
		r = mark_seen(ctx->sh, pe->pipe_id, at);
		if (r < 0)
			return r;
		/* fds[i] is its first fd: an earlier one would have been seen. */
		jobs[njobs++].fe = reading_fd(ctx, fds + i, n - i, pe->pipe_id);
	}
	*ret_jobs = TAKE_PTR(jobs);
	*ret_n = njobs;
	return 0;
}

static int write_pipe_data(struct dump_ctx *ctx, const struct pipe_job *job)
{
	PipeDataEntry pde = PIPE_DATA_ENTRY__INIT;
	char label[80];

	pipe_label(ctx, job->fe, label, sizeof(label));
	pde.pipe_id = pipe_of(ctx, job->fe)->pipe_id;
	pde.bytes = (uint32_t)job->pc.len;
	pde.has_size = true;
	pde.size = job->pc.size;
	pr_info("%s: %zu bytes queued in a buffer of %u", label, job->pc.len, job->pc.size);
	return img_write_entry(ctx->sh->pipes_data, &pde.base, job->pc.data, job->pc.len);
}

int dump_pipes_data(struct dump_ctx *ctx, const FdinfoEntry *fds, size_t n)
{
	struct pipe_job *jobs = NULL;
	size_t njobs = 0;
	int r;

	r = pipe_jobs(ctx, fds, n, &jobs, &njobs);
	/* Only a tree with pipes gets a pipes-data.img, as with CRIU; it is committed with
	 * files.img. */
	if (r == 0 && njobs && !ctx->sh->pipes_data)
		r = img_create(ctx->dir, IMG_PIPES_DATA, 0, &ctx->sh->pipes_data);
	if (r == 0 && njobs)
		r = peek_all(ctx, jobs, njobs);
	for (size_t i = 0; r == 0 && i < njobs; i++)
		r = write_pipe_data(ctx, &jobs[i]);
	for (size_t i = 0; i < njobs; i++)
		pipe_contents_done(&jobs[i].pc);
	free(jobs);
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
