/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Terminals (docs/files.md, "Terminals"). A pty slave whose master was not
 * in the tree is the terminal of a shell job: with -j its fds are connected
 * to the terminal of stasis's stdin, as CRIU does. Each open file
 * description of it is a new one on that terminal (opened through
 * /proc/self/fd/0, so that its status flags are its own), the dumped
 * termios and window size are set on the terminal once, and when it was the
 * controlling terminal of the task:
 *
 *  - a task that led its session makes it its controlling terminal again
 *    (TIOCSCTTY, in the new task: fork.c), if no other session has it;
 *  - a task in stasis's session gets it with that session; if that session
 *    has none and stasis leads it, stasis makes it its own first;
 *  - a group that was in the foreground is put in the foreground again
 *    (TIOCSPGRP, in the new task once it has its group: fork.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "files/file.h"
#include "files/tty.h"
#include "restore/internal.h"

static const TtyFileEntry *tty_file(const struct rst_images *img, uint32_t id)
{
	const FileEntry *fe = rst_file_entry(img, id);

	return fe && fe->type == FD_TYPES__TTY ? fe->tty : NULL;
}

/* tty-info.img, read once for the tree. */
static int infos_load(struct rst_ctx *c)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct rst_shared *s = c->shared;
	int r;

	if (s->ttys_loaded)
		return 0;
	r = img_open(c->img.dir, IMG_TTY_INFO, 0, &f);
	if (r < 0) {
		rst_err(c, "cannot read tty-info.img: %s", strerror(-r));
		return r;
	}
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		struct rst_tty *n;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		n = reallocarray(s->ttys, s->nttys + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->ttys = n;
		s->ttys[s->nttys++] = (struct rst_tty){(TtyInfoEntry *)img_entry_take_msg(&e)};
	}
	s->ttys_loaded = r == 0;
	return r;
}

static struct rst_tty *tty_of(struct rst_shared *s, uint32_t id)
{
	for (size_t i = 0; i < s->nttys; i++)
		if (s->ttys[i].tie->id == id)
			return &s->ttys[i];
	return NULL;
}

/* A session leader without a controlling terminal (stasis started by setsid) takes this one. */
static void controller_takes_ctty(struct rst_ctx *c, int fd)
{
	_cleanup_close_ int cur = -1;

	if (getsid(0) != getpid())
		return;
	cur = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (cur >= 0)
		return;
	if (ioctl(fd, TIOCSCTTY, 0) < 0)
		rst_warn(c,
			 "cannot make stasis's terminal the controlling terminal of its session: "
			 "%s; the task comes back without one",
			 strerror(errno));
}

/* The task's controlling terminal and foreground group, set by the task itself (fork.c). */
static void plan_ctty(struct rst_ctx *c, const TtyInfoEntry *tie, int fd, uint32_t dst)
{
	const PstreeEntry *item = c->img.item;

	if (!tie->sid || tie->sid != item->sid || c->files.ctty_fd >= 0)
		return;
	c->files.ctty_fd = (int)dst;
	c->files.ctty_lead = item->sid == item->pid;
	c->files.ctty_fg = tie->pgrp == item->pgid;
	if (!c->files.ctty_lead)
		controller_takes_ctty(c, fd);
}

int rst_tty_open(struct rst_ctx *c, const FdinfoEntry *fe, const char *what)
{
	const TtyFileEntry *tfe = tty_file(&c->img, fe->id);
	struct rst_tty *t;
	char label[96];
	int fd, r;

	if (!tfe) {
		rst_err(c, "%s: file %u is not a terminal in files.img", what, fe->id);
		return -EBADMSG;
	}
	r = infos_load(c);
	if (r < 0)
		return r;
	t = tty_of(c->shared, tfe->tty_info_id);
	if (!t || t->tie->type != TTY_TYPE__PTY || !t->tie->pty) {
		rst_err(c, "%s: terminal %#x is not a pty in tty-info.img", what, tfe->tty_info_id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s (pty %u)", (int)c->pid, what,
		 t->tie->pty->index);
	if (!c->opts->shell_job) {
		pr_err("%s: the task's terminal was a shell's (its other end was not dumped): "
		       "restore it with -j (--shell-job) from a terminal, which it gets instead",
		       label);
		return -EOPNOTSUPP;
	}
	if (!isatty(STDIN_FILENO)) {
		pr_err("%s: -j gives the task stasis's terminal, and stasis's stdin is not a "
		       "terminal; run the restore from a terminal",
		       label);
		return -ENOTTY;
	}
	fd = open("/proc/self/fd/0", (int)(tfe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot open stasis's terminal: %s", label, strerror(-r));
		return r;
	}
	r = file_set_flags(fd, tfe->flags, label);
	if (r == 0 && !t->applied)
		r = tty_settings_apply(fd, t->tie, label);
	if (r < 0) {
		close(fd);
		return r;
	}
	t->applied = true;
	plan_ctty(c, t->tie, fd, fe->fd);
	return rst_fd_move_up(c, fd, label);
}

void rst_ttys_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nttys; i++)
		img_msg_free((struct ProtobufCMessage *)s->ttys[i].tie);
	free(s->ttys);
}
