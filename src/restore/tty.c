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
 *
 * A pty pair of the tree (its master was dumped) is opened again by the
 * controller on the first fd of either end: /dev/ptmx, unlockpt, the slave
 * through TIOCGPTPEER; with the slave in raw mode, the data of tty-data.img
 * is queued again through the other end, then each end gets its settings.
 * The new pair has an index of its own (a new /dev/pts/N). The master's
 * description is given to the tasks; each description of the slave is a
 * new one (TIOCGPTPEER). The controller holds both ends until the end of
 * the restore.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "files/file.h"
#include "files/tty.h"
#include "restore/internal.h"

static const TtyFileEntry *tty_file(const struct rst_images *img, uint32_t id)
{
	const FileEntry *fe = rst_file_entry(img, id);

	return fe && fe->type == FD_TYPES__TTY ? fe->tty : NULL;
}

int rst_load_all(struct rst_ctx *c, enum img_type type, bool optional, void ***ret_msgs,
		    size_t *ret_n)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	char name[64];
	int r;

	r = img_open(c->img.dir, type, 0, &f);
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0) {
		img_file_name(type, 0, name, sizeof(name));
		rst_err(c, "cannot read %s: %s", name, strerror(-r));
		return r;
	}
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		void **n;

		r = img_next(f, &e);
		if (r <= 0)
			return r;
		n = reallocarray(*ret_msgs, *ret_n + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		*ret_msgs = n;
		n[(*ret_n)++] = img_entry_take_msg(&e);
	}
}

/* tty-info.img and tty-data.img, read once for the tree. */
static int infos_load(struct rst_ctx *c)
{
	struct rst_shared *s = c->shared;
	_cleanup_free_ void **infos = NULL;
	size_t n = 0;
	int r;

	if (s->ttys_loaded)
		return 0;
	r = rst_load_all(c, IMG_TTY_INFO, false, &infos, &n);
	if (r >= 0 && !(s->ttys = calloc(n ? n : 1, sizeof(*s->ttys))))
		r = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (r >= 0)
			s->ttys[s->nttys++] = (struct rst_tty){infos[i]};
		else
			img_msg_free(infos[i]);
	}
	if (r >= 0)
		r = rst_load_all(c, IMG_TTY_DATA, true, (void ***)&s->tty_data, &s->ntty_data);
	s->ttys_loaded = r >= 0;
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

static const TtyDataEntry *tty_data_of(const struct rst_shared *s, uint32_t tty_id)
{
	for (size_t i = 0; i < s->ntty_data; i++)
		if (s->tty_data[i]->tty_id == tty_id)
			return s->tty_data[i];
	return NULL;
}

/* Queue data read from end tty_id again: written through its peer. */
static int queue_again(const struct rst_shared *s, uint32_t tty_id, int peer, const char *label)
{
	const TtyDataEntry *d = tty_data_of(s, tty_id);
	int r;

	if (!d || !d->data.len)
		return 0;
	r = tty_write_all(peer, d->data.data, d->data.len);
	if (r < 0)
		pr_err("%s: cannot queue its %zu bytes again: %s", label, d->data.len,
		       strerror(-r));
	return r;
}

/* The new pair's queues and settings, from the dumped ends' entries. */
static int pair_fill(struct rst_shared *s, const struct rst_pty *p, const char *label)
{
	const struct rst_tty *st = tty_of(s, tty_info_id(p->index, false));
	const struct rst_tty *mt = tty_of(s, tty_info_id(p->index, true));
	struct termios saved;
	int r;

	if (!st || !mt) {
		pr_err("%s: tty-info.img lacks an end of the pair", label);
		return -EBADMSG;
	}
	r = tty_make_raw(p->slave, &saved);
	if (r >= 0)
		r = queue_again(s, st->tie->id, p->master, label);
	if (r >= 0)
		r = queue_again(s, mt->tie->id, p->slave, label);
	if (r >= 0)
		r = tty_settings_apply(p->slave, st->tie, label);
	if (r >= 0)
		r = tty_settings_apply(p->master, mt->tie, label);
	if (r >= 0 && mt->tie->packet_mode && ioctl(p->master, TIOCPKT, &(int){1}) < 0) {
		r = negative_errno();
		pr_err("%s: cannot put its master in packet mode: %s", label, strerror(-r));
	}
	return r;
}

/* The pair that stands for the dumped pty index, opened on the first fd of either end. */
static int pair_of(struct rst_ctx *c, uint32_t index, const char *label, struct rst_pty **ret)
{
	struct rst_shared *s = c->shared;
	struct rst_pty p = {index, -1, -1}, *n;
	int r;

	for (size_t i = 0; i < s->nptys; i++)
		if (s->ptys[i].index == index) {
			*ret = &s->ptys[i];
			return 0;
		}
	p.master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p.master < 0 || unlockpt(p.master) < 0 ||
	    (p.slave = ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		r = negative_errno();
		pr_err("%s: cannot open a new pty pair (/dev/ptmx): %s", label, strerror(-r));
	} else {
		r = pair_fill(s, &p, label);
	}
	n = r < 0 ? NULL : reallocarray(s->ptys, s->nptys + 1, sizeof(*n));
	if (!n) {
		safe_close(p.master);
		safe_close(p.slave);
		return r < 0 ? r : -ENOMEM;
	}
	s->ptys = n;
	s->ptys[s->nptys] = p;
	*ret = &s->ptys[s->nptys++];
	return 0;
}

/* A description of an end of a pair of the tree: the master's own, or a new one of the slave. */
static int pair_open(struct rst_ctx *c, const struct rst_tty *t, const TtyFileEntry *tfe,
		     uint32_t dst, const char *label)
{
	bool master = tfe->tty_info_id & 1;
	struct rst_pty *p;
	int fd, r;

	r = pair_of(c, t->tie->pty->index, label, &p);
	if (r < 0)
		return r;
	if (master)
		fd = fcntl(p->master, F_DUPFD_CLOEXEC, 0);
	else
		fd = ioctl(p->master, TIOCGPTPEER,
			   (int)(tfe->flags & O_ACCMODE) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot open its %s again: %s", label, master ? "master" : "slave",
		       strerror(-r));
		return r;
	}
	r = file_set_flags(fd, tfe->flags, label);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (!master)
		plan_ctty(c, t->tie, fd, dst);
	return rst_fd_move_up(c, fd, label);
}

/* A shell job's terminal (its master was not dumped): stasis's own terminal, with -j. */
static int shell_tty_open(struct rst_ctx *c, struct rst_tty *t, const TtyFileEntry *tfe,
			  uint32_t dst, const char *label)
{
	int fd, r;

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
	plan_ctty(c, t->tie, fd, dst);
	return rst_fd_move_up(c, fd, label);
}

int rst_tty_open(struct rst_ctx *c, const FdinfoEntry *fe, const char *what)
{
	const TtyFileEntry *tfe = tty_file(&c->img, fe->id);
	struct rst_tty *t;
	char label[96];
	int r;

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
	/* The master's entry is there when the tree held the master: a pair of its own. */
	if (tty_of(c->shared, tfe->tty_info_id | 1))
		return pair_open(c, t, tfe, fe->fd, label);
	return shell_tty_open(c, t, tfe, fe->fd, label);
}

void rst_ttys_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nttys; i++)
		img_msg_free((struct ProtobufCMessage *)s->ttys[i].tie);
	free(s->ttys);
	for (size_t i = 0; i < s->ntty_data; i++)
		img_msg_free((struct ProtobufCMessage *)s->tty_data[i]);
	free(s->tty_data);
	for (size_t i = 0; i < s->nptys; i++) {
		safe_close(s->ptys[i].master);
		safe_close(s->ptys[i].slave);
	}
	free(s->ptys);
}
