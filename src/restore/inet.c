/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internet sockets without a connection (docs/files.md, "Internet
 * sockets"), made by the controller before the task exists, which inherits
 * them like its other files (files.c): socket(), the options, bind(),
 * listen(), connect(); then the datagrams of sk-queues.img sent again from
 * their senders' addresses, and last the status flags and the options that
 * had to wait (SO_REUSEADDR, on for the bind; UDP_CORK).
 */
#include "files/inet.h"
#include "restore/internal.h"

static const InetSkEntry *isk_by_id(const struct rst_images *img, uint32_t id)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i]->type == FD_TYPES__INETSK && img->files[i]->isk &&
		    img->files[i]->isk->id == id)
			return img->files[i]->isk;
	return NULL;
}

static int requeue(struct rst_ctx *c, const InetSkEntry *e, const char *label)
{
	const struct rst_shared *s = c->shared;
	size_t bytes = 0;
	int r;

	for (size_t i = 0; i < s->nskq; i++) {
		const struct rst_sk_packet *p = &s->skq[i];

		if (p->id_for != e->id)
			continue;
		r = inet_sk_requeue(e, p->bytes, p->len, &p->from, p->fromlen, label);
		if (r < 0)
			return r;
		bytes += p->len;
	}
	if (bytes)
		rst_info(c, "%s: %zu bytes queued again", label, bytes);
	return 0;
}

int rst_inet_open(struct rst_ctx *c, uint32_t id, const char *what)
{
	const InetSkEntry *e = isk_by_id(&c->img, id);
	char label[96];
	int fd, r;

	if (!e) {
		rst_err(c, "%s: file %u is not an internet socket in files.img", what, id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s (socket:[%u], inet)", (int)c->pid, what,
		 e->ino);
	r = rst_sk_queues_load(c);
	if (r < 0)
		return r;
	fd = inet_sk_make(e, label);
	if (fd < 0)
		return fd;
	fd = rst_fd_move_up(c, fd, label);
	if (fd < 0)
		return fd;
	r = requeue(c, e, label);
	if (r == 0)
		r = inet_sk_finish(fd, e, label);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
