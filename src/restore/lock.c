/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File locks (docs/files.md, "File locks"), taken again from
 * filelocks.img once the task's descriptions are open. A flock or OFD lock
 * belongs to the open file description: the controller takes it on its fd
 * before the fork, and the task inherits the description with it. A POSIX
 * lock belongs to the process that took it: the new task takes it itself,
 * at the end of its setup in fork.c, once its fds are at their numbers and
 * the controller's copies are closed (closing any fd on a file drops the
 * process's POSIX locks on it).
 */
#include <stdlib.h>

#include "files/lock.h"
#include "restore/internal.h"

/* filelocks.img (absent: no locks), read once for the tree. */
static int locks_load(struct rst_ctx *c)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct rst_shared *s = c->shared;
	int r;

	if (s->locks_loaded)
		return 0;
	r = img_open(c->img.dir, IMG_FILE_LOCKS, 0, &f);
	for (; r >= 0;) {
		_cleanup_img_entry_ struct img_entry e = {};
		FileLockEntry **n;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		n = reallocarray(s->locks, s->nlocks + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->locks = n;
		s->locks[s->nlocks++] = (FileLockEntry *)img_entry_take_msg(&e);
	}
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		rst_err(c, "cannot read filelocks.img: %s", strerror(-r));
	s->locks_loaded = r == 0;
	return r;
}

static int src_of_fd(const struct rst_files *f, int fd)
{
	for (size_t i = 0; i < f->nmoves; i++)
		if (f->moves[i].dst == fd)
			return f->moves[i].src;
	return -1;
}

static int plan_posix(struct rst_files *f, const FileLockEntry *e)
{
	struct rst_posix_lock *n = reallocarray(f->posix_locks, f->nposix_locks + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	f->posix_locks = n;
	f->posix_locks[f->nposix_locks++] =
		(struct rst_posix_lock){e->fd, (short)e->type, e->start, e->len};
	return 0;
}

int rst_locks_take(struct rst_ctx *c)
{
	int r = locks_load(c);

	for (size_t i = 0; r == 0 && i < c->shared->nlocks; i++) {
		const FileLockEntry *e = c->shared->locks[i];
		int src = src_of_fd(&c->files, e->fd);
		char label[64];

		if (e->pid != c->pid)
			continue;
		snprintf(label, sizeof(label), "restore: pid %d: fd %d", (int)c->pid, e->fd);
		if (src < 0) {
			pr_err("%s: filelocks.img has a %s lock on it, and the task has no such fd",
			       label, lock_kind_name(e->flag));
			return -EBADMSG;
		}
		if (e->flag == LOCK_KIND_POSIX)
			r = plan_posix(&c->files, e);
		else
			r = lock_take_on_description(src, e, label);
	}
	return r;
}

void rst_locks_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nlocks; i++)
		img_msg_free((struct ProtobufCMessage *)s->locks[i]);
	free(s->locks);
}
