/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipes (docs/restore.md, "Pipes"). The controller makes each pipe once,
 * before the task exists: pipe2(), the dumped buffer size, the data it held
 * written back in (files/pipe.c). Then every open file description the task
 * had on it gets an fd: the first reader and the first writer share the
 * pipe's own two ends, any further one is a new description opened through
 * /proc/self/fd; each gets its status flags (O_NONBLOCK ...). The task
 * inherits these fds like its other files (files.c). An end no fd of the
 * task had is closed with the controller's copies: a pipe dumped with only
 * its read end gives its data, then end of file.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "files/file.h"
#include "files/pipe.h"
#include "restore/internal.h"

void rst_pipe_data_free(struct rst_pipe_data *pd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		img_msg_free((struct ProtobufCMessage *)pd[i].e);
		free(pd[i].bytes);
	}
	free(pd);
}

static int take_entry(struct img_entry *e, struct rst_pipe_data *ret)
{
	uint8_t *bytes = NULL;

	if (e->extra_len) {
		bytes = malloc(e->extra_len);
		if (!bytes)
			return -ENOMEM;
		memcpy(bytes, e->extra, e->extra_len);
	}
	*ret = (struct rst_pipe_data){(PipeDataEntry *)img_entry_take_msg(e), bytes, e->extra_len};
	return 0;
}

int rst_pipe_data_read(struct img_dir *dir, enum img_type type, struct rst_pipe_data **ret_pd,
		       size_t *ret_n)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct rst_pipe_data *pd = NULL;
	size_t n = 0;
	int r;

	r = img_open(dir, type, 0, &f);
	if (r == -ENOENT) {
		*ret_pd = NULL;
		*ret_n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		struct rst_pipe_data *npd;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		npd = reallocarray(pd, n + 1, sizeof(*pd));
		if (!npd) {
			r = -ENOMEM;
			break;
		}
		pd = npd;
		r = take_entry(&e, &pd[n]);
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		rst_pipe_data_free(pd, n);
		return r;
	}
	*ret_pd = pd;
	*ret_n = n;
	return 0;
}

const PipeEntry *rst_pipe_entry(const struct rst_images *img, uint32_t id)
{
	const FileEntry *fe = rst_file_entry(img, id);

	if (fe)
		return fe->type == FD_TYPES__PIPE ? fe->pipe : NULL;
	for (size_t i = 0; i < img->npipes; i++)
		if (img->pipes[i]->id == id)
			return img->pipes[i];
	return NULL;
}

static const struct rst_pipe_data *pipe_data_of(const struct rst_images *img, uint32_t pipe_id)
{
	for (size_t i = 0; i < img->npipe_data; i++)
		if (img->pipe_data[i].e->pipe_id == pipe_id)
			return &img->pipe_data[i];
	return NULL;
}

/* The pipe pipe_id, made on first use with its size and its data. */
static int pipe_get(struct rst_ctx *c, uint32_t pipe_id, const char *label, struct rst_pipe **ret_p)
{
	const struct rst_pipe_data *pd = pipe_data_of(&c->img, pipe_id);
	struct rst_pipe *p;
	int ends[2], r;

	struct rst_shared *s = c->shared;

	for (size_t i = 0; i < s->npipes; i++)
		if (s->pipes[i].pipe_id == pipe_id) {
			*ret_p = &s->pipes[i];
			return 0;
		}
	p = reallocarray(s->pipes, s->npipes + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->pipes = p;
	/* No entry in pipes-data.img: an empty pipe of the default size. */
	r = pipe_make(pd && pd->e->has_size ? pd->e->size : 0, pd ? pd->bytes : NULL,
		      pd ? pd->len : 0, label, ends);
	if (r < 0)
		return r;
	p = &s->pipes[s->npipes++];
	*p = (struct rst_pipe){.pipe_id = pipe_id, .ends = {-1, -1}};
	/* Listed first: rst_pipes_close() closes whatever rst_fd_move_up() leaves. */
	p->ends[0] = rst_fd_move_up(c, ends[0], label);
	p->ends[1] = rst_fd_move_up(c, ends[1], label);
	if (p->ends[0] < 0 || p->ends[1] < 0)
		return p->ends[0] < 0 ? p->ends[0] : p->ends[1];
	rst_info(c, "pipe %u: made with %zu bytes in a buffer of %u (0: the default)", pipe_id,
		 pd ? pd->len : 0, pd && pd->e->has_size ? pd->e->size : 0);
	*ret_p = p;
	return 0;
}

int rst_pipe_open(struct rst_ctx *c, uint32_t id, const char *what)
{
	const PipeEntry *pe = rst_pipe_entry(&c->img, id);
	struct rst_pipe *p;
	char label[96];
	int acc, end, fd, r;

	if (!pe) {
		rst_err(c, "%s: file %u is not a pipe in files.img or pipes.img", what, id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s: pipe %u", (int)c->pid, what,
		 pe->pipe_id);
	r = pipe_get(c, pe->pipe_id, label, &p);
	if (r < 0)
		return r;
	acc = (int)(pe->flags & O_ACCMODE);
	end = acc == O_WRONLY ? 1 : 0;
	if (acc == O_RDWR || p->given[end]) {
		fd = pipe_reopen(p->ends[end], pe->flags, label);
		return fd < 0 ? fd : rst_fd_move_up(c, fd, label);
	}
	fd = fcntl(p->ends[end], F_DUPFD_CLOEXEC, c->files.min_fd);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot duplicate its %s end: %s", label, end ? "write" : "read",
		       strerror(-r));
		return r;
	}
	p->given[end] = true;
	r = file_set_flags(fd, pe->flags, label);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

void rst_pipes_close(struct rst_shared *s)
{
	for (size_t i = 0; i < s->npipes; i++) {
		s->pipes[i].ends[0] = safe_close(s->pipes[i].ends[0]);
		s->pipes[i].ends[1] = safe_close(s->pipes[i].ends[1]);
	}
}
