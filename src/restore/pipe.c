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

#include "base/sorted.h"
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

static int cmp_u32(uint32_t x, uint32_t y)
{
	return (x > y) - (x < y);
}

static int cmp_pipe_data(const void *a, const void *b)
{
	return cmp_u32(((const struct rst_pipe_data *)a)->e->pipe_id,
		       ((const struct rst_pipe_data *)b)->e->pipe_id);
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
	/* By pipe_id: pipe_data_of() searches by halves (a tree has one entry per pipe). */
	qsort(pd, n, sizeof(*pd), cmp_pipe_data);
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

static uint64_t pipe_data_key(const void *base, size_t i)
{
	return ((const struct rst_pipe_data *)base)[i].e->pipe_id;
}

static const struct rst_pipe_data *pipe_data_of(const struct rst_images *img, uint32_t pipe_id)
{
	size_t at = sorted_find(img->pipe_data, img->npipe_data, pipe_id, pipe_data_key);

	return at < img->npipe_data ? &img->pipe_data[at] : NULL;
}

static uint64_t pipe_key(const void *base, size_t i)
{
	return ((const struct rst_pipe *)base)[i].pipe_id;
}

/* Where pipe_id is in s->pipes (kept in pipe_id order), or would be. */
static size_t pipe_slot(const struct rst_shared *s, uint32_t pipe_id)
{
	return sorted_lower_bound(s->pipes, s->npipes, pipe_id, pipe_key);
}

/* The pipe pipe_id, made on first use with its size and its data. */
static int pipe_get(struct rst_ctx *c, uint32_t pipe_id, const char *label, struct rst_pipe **ret_p)
{
	const struct rst_pipe_data *pd = pipe_data_of(&c->img, pipe_id);
	struct rst_shared *s = c->shared;
	size_t at = pipe_slot(s, pipe_id);
	struct rst_pipe *p;
	int ends[2], r;

	if (at < s->npipes && s->pipes[at].pipe_id == pipe_id) {
		*ret_p = &s->pipes[at];
		return 0;
	}
	if (s->npipes == s->pipes_cap) {
		size_t cap = s->pipes_cap ? s->pipes_cap * 2 : 64;

		p = reallocarray(s->pipes, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->pipes = p;
		s->pipes_cap = cap;
	}
	/* No entry in pipes-data.img: an empty pipe of the default size. */
	r = pipe_make(pd && pd->e->has_size ? pd->e->size : 0, pd ? pd->bytes : NULL,
		      pd ? pd->len : 0, label, ends);
	if (r < 0)
		return r;
	p = &s->pipes[at];
	memmove(p + 1, p, (s->npipes++ - at) * sizeof(*p));
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
