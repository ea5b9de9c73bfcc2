/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internet sockets without a connection (docs/files.md, "Internet
 * sockets"), as CRIU writes them: one FileEntry of type INETSK per socket
 * (InetSkEntry: family, type, protocol, state, addresses and ports,
 * backlog, options). They are read on the task's own description, taken
 * with pidfd_getfd; the datagrams queued in a UDP socket are copied without
 * taking them out, with their senders, into sk-queues.img.
 */
#include <fcntl.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/inet.h"
#include "files/sock.h"

static int task_socket(pid_t pid, int fd, const char *label)
{
	_cleanup_close_ int pidfd = sys_pidfd_open(pid, 0);
	int sk = pidfd < 0 ? -1 : sys_pidfd_getfd(pidfd, fd, 0);
	int r;

	if (sk >= 0)
		return sk;
	r = negative_errno();
	pr_err("%s: cannot take a copy of it with pidfd_getfd: %s", label, strerror(-r));
	return r;
}

static int dump_queue(struct dump_ctx *ctx, int sk, uint32_t id, const char *label)
{
	_cleanup_(sk_queue_done) struct sk_queue q = {};
	int r;

	r = sk_queue_peek_from(sk, SOCK_DGRAM, label, &q);
	if (r < 0 || !q.n)
		return r;
	pr_info("%s: %zu bytes queued in %zu datagrams", label, q.len, q.n);
	return dump_sk_queue_write(ctx, &q, id);
}

static InetSkEntry *new_entry(struct arena *a)
{
	InetSkEntry *e = ARENA_MSG(a, InetSkEntry, INET_SK_ENTRY__INIT);

	if (!e)
		return NULL;
	e->fown = ARENA_MSG(a, FownEntry, FOWN_ENTRY__INIT);
	e->opts = ARENA_MSG(a, SkOptsEntry, SK_OPTS_ENTRY__INIT);
	return e->fown && e->opts ? e : NULL;
}

int dump_inet_fd(struct dump_ctx *ctx, int fd, const struct stat *st, const struct proc_fdinfo *fi,
		 uint32_t *ret_id)
{
	struct arena *a = &ctx->files->arena;
	_cleanup_close_ int sk = -1;
	InetSkEntry *e = new_entry(a);
	bool queued = false;
	FileEntry *fe;
	char label[80];
	int r;

	if (!e)
		return -ENOMEM;
	snprintf(label, sizeof(label), "pid %d fd %d (socket:[%lu], inet)", ctx->pid, fd,
		 (unsigned long)st->st_ino);
	sk = task_socket(ctx->pid, fd, label);
	if (sk < 0)
		return sk;
	r = inet_sk_read(sk, label, a, e, &queued);
	if (r < 0)
		return r;
	if (dump_files_new(ctx->files, FD_TYPES__INETSK, &fe) < 0)
		return -ENOMEM;
	e->id = fe->id;
	e->ino = (uint32_t)st->st_ino;
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	fe->isk = e;
	if (queued) {
		r = dump_queue(ctx, sk, e->id, label);
		if (r < 0)
			return r;
	}
	*ret_id = fe->id;
	return 0;
}
