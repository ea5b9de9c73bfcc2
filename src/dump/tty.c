/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Terminals of a dump (docs/files.md, "Terminals"), as CRIU writes them: a
 * FileEntry of type TTY per open file description (TtyFileEntry: the id of
 * its terminal in tty-info.img, its status flags) and, once per terminal
 * (each end of a pty is one), a TtyInfoEntry in tty-info.img: its kind, pty
 * index, settings, and the session and foreground group when it is the
 * controlling terminal of a dumped process.
 *
 * Two kinds of ptys are dumped:
 *  - a pair the tree opened itself (/dev/ptmx): both ends, and the data
 *    queued towards each end in tty-data.img (CRIU's TtyDataEntry: tty_id
 *    is the end the data waits to be read from). It is read and written
 *    back at once, with the tree frozen (tty.h);
 *  - a slave whose master is outside the tree: the terminal of a shell job.
 *    It needs -j (--shell-job): the restore connects it to its own
 *    terminal. Without -j it is refused, naming -j, once every task is seen
 *    (the master may come in a later task).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "dump/internal.h"
#include "files/tty.h"
#include "compat/syscalls.h"
#include "image/image.h"

/* A terminal met, and the first fd it was met on (to name it in a refusal). */
struct dump_term {
	TtyInfoEntry *tie;
	pid_t pid;
	int fd;
	bool shell_job; /* -j was given */
};

struct dump_tty {
	struct dump_term *terms; /* tty-info.img, one per terminal */
	size_t n;
	TtyDataEntry **data; /* tty-data.img */
	size_t ndata;
};

static TtyInfoEntry *info_of(const struct dump_tty *t, uint32_t id)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->terms[i].tie->id == id)
			return t->terms[i].tie;
	return NULL;
}

static int tty_state(struct dump_files *f)
{
	if (!f->tty && !(f->tty = calloc(1, sizeof(*f->tty))))
		return -ENOMEM;
	return 0;
}

static int add_info(struct dump_ctx *ctx, int fd, TtyInfoEntry *tie)
{
	struct dump_files *f = ctx->files;
	struct dump_term *n;

	if (tty_state(f) < 0)
		return -ENOMEM;
	n = reallocarray(f->tty->terms, f->tty->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->tty->terms = n;
	n[f->tty->n++] = (struct dump_term){tie, ctx->pid, fd, ctx->opts->shell_job};
	return 0;
}

/* The TtyInfoEntry of the terminal lfd (ours) is on: the pty end id of index. */
static int add_pty_info(struct dump_ctx *ctx, int fd, int lfd, uint32_t id, uint32_t index,
			TtyInfoEntry **ret)
{
	struct arena *a = &ctx->files->arena;
	TtyInfoEntry *tie = ARENA_MSG(a, TtyInfoEntry, TTY_INFO_ENTRY__INIT);
	TtyPtyEntry *pty = ARENA_MSG(a, TtyPtyEntry, TTY_PTY_ENTRY__INIT);
	struct stat st;
	int r = 0;

	if (!tie || !pty)
		return -ENOMEM;
	if (fstat(lfd, &st) < 0 || (r = tty_settings_read(lfd, a, tie)) < 0) {
		r = r < 0 ? r : negative_errno();
		pr_err("pid %d fd %d: cannot read the settings of its terminal: %s", ctx->pid, fd,
		       strerror(-r));
		return r;
	}
	tie->id = id;
	tie->type = TTY_TYPE__PTY;
	tie->rdev = (uint32_t)st.st_rdev;
	tie->has_dev = true;
	tie->dev = (uint32_t)st.st_dev;
	pty->index = index;
	tie->pty = pty;
	r = add_info(ctx, fd, tie);
	if (r < 0)
		return r;
	*ret = tie;
	return 0;
}

/* The slave's TtyInfoEntry, read from the task's fd through /proc. */
static int new_slave_info(struct dump_ctx *ctx, int fd, const struct stat *st, TtyInfoEntry **ret)
{
	_cleanup_close_ int lfd = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", ctx->pid, fd);
	lfd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (lfd < 0) {
		r = negative_errno();
		pr_err("pid %d fd %d: cannot open its terminal %s: %s", ctx->pid, fd, path,
		       strerror(-r));
		return r;
	}
	return add_pty_info(ctx, fd, lfd, tty_info_id(tty_pty_index(st->st_rdev), false),
			    tty_pty_index(st->st_rdev), ret);
}

static int add_data(struct dump_ctx *ctx, uint32_t tty_id, uint8_t *buf, size_t len)
{
	struct dump_tty *t = ctx->files->tty;
	TtyDataEntry *e = ARENA_MSG(&ctx->files->arena, TtyDataEntry, TTY_DATA_ENTRY__INIT);
	uint8_t *copy = arena_alloc(&ctx->files->arena, len);
	TtyDataEntry **n = reallocarray(t->data, t->ndata + 1, sizeof(*n));

	if (n)
		t->data = n;
	if (!e || !copy || !n)
		return -ENOMEM;
	memcpy(copy, buf, len);
	e->tty_id = tty_id;
	e->data.data = copy;
	e->data.len = len;
	n[t->ndata++] = e;
	return 0;
}

/*
 * The data queued towards each end of the pair: read with the slave in raw
 * mode (so that a partial line in canonical mode is readable too) and
 * written back at once through the other end, then the slave's settings
 * are set again.
 */
static int take_queues(struct dump_ctx *ctx, int master, int slave, uint32_t index,
		       const char *label)
{
	_cleanup_free_ uint8_t *to_slave = NULL, *to_master = NULL;
	size_t ns = 0, nm = 0;
	struct termios saved;
	int r, rb;

	r = tty_make_raw(slave, &saved);
	if (r < 0) {
		pr_err("%s: cannot switch its slave to raw mode to read its queue: %s", label,
		       strerror(-r));
		return r;
	}
	r = tty_take_queue(slave, &to_slave, &ns);
	if (r >= 0)
		r = tty_take_queue(master, &to_master, &nm);
	rb = tty_write_all(master, to_slave, ns);
	if (rb >= 0)
		rb = tty_write_all(slave, to_master, nm);
	if (rb < 0)
		pr_err("%s: cannot write its queued data back (%zu bytes towards the slave, %zu "
		       "towards the master): %s; that data is lost",
		       label, ns, nm, strerror(-rb));
	if (tty_set_termios(slave, &saved) < 0)
		pr_err("%s: cannot set its slave's settings back: %m", label);
	if (r < 0) {
		pr_err("%s: cannot read its queued data: %s", label, strerror(-r));
		return r;
	}
	if (rb < 0)
		return rb;
	if (ns)
		r = add_data(ctx, tty_info_id(index, false), to_slave, ns);
	if (r >= 0 && nm)
		r = add_data(ctx, tty_info_id(index, true), to_master, nm);
	pr_debug("%s: %zu bytes queued towards the slave, %zu towards the master", label, ns, nm);
	return r;
}

/* Both ends of the pair whose master the task holds at fd (lfd, our copy): settings and data. */
static int dump_pair(struct dump_ctx *ctx, int fd, int lfd, uint32_t index)
{
	_cleanup_close_ int slave = -1;
	TtyInfoEntry *tie;
	char label[64];
	int locked = 0, pkt = 0, queued = 0, r;

	snprintf(label, sizeof(label), "pid %d fd %d (pty master %u)", ctx->pid, fd, index);
	if (ioctl(lfd, TIOCGPTLCK, &locked) < 0 || ioctl(lfd, TIOCGPKT, &pkt) < 0) {
		r = negative_errno();
		pr_err("%s: cannot read its lock and packet mode: %s", label, strerror(-r));
		return r;
	}
	if (locked) {
		pr_err("%s: its slave is still locked (unlockpt was not called): stasis does not "
		       "dump a locked pty; unlock it or close it before the checkpoint; the task "
		       "was left running",
		       label);
		return -ENOTSUP;
	}
	if (pkt && ioctl(lfd, FIONREAD, &queued) == 0 && queued > 0) {
		pr_err("%s: it is in packet mode (TIOCPKT) with %d bytes queued: stasis cannot "
		       "read them back as they were; read them before the checkpoint; the task "
		       "was left running",
		       label, queued);
		return -ENOTSUP;
	}
	slave = ioctl(lfd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (slave < 0) {
		r = -errno;
		pr_err("%s: cannot open its slave (TIOCGPTPEER): %s", label, strerror(-r));
		return r;
	}
	r = add_pty_info(ctx, fd, lfd, tty_info_id(index, true), index, &tie);
	if (r < 0)
		return r;
	tie->packet_mode = pkt != 0;
	if (!info_of(ctx->files->tty, tty_info_id(index, false)) &&
	    (r = add_pty_info(ctx, fd, slave, tty_info_id(index, false), index, &tie)) < 0)
		return r;
	return take_queues(ctx, lfd, slave, index, label);
}

/* A master: the id of its end; the pair is dumped on its first description. */
static int dump_master(struct dump_ctx *ctx, int fd, uint32_t *ret_id)
{
	_cleanup_close_ int pidfd = sys_pidfd_open(ctx->pid, 0);
	_cleanup_close_ int lfd = pidfd < 0 ? -1 : sys_pidfd_getfd(pidfd, fd, 0);
	uint32_t index;
	int r;

	if (lfd < 0) {
		r = negative_errno();
		pr_err("pid %d fd %d: cannot take a copy of its pty master with pidfd_getfd: %s",
		       ctx->pid, fd, strerror(-r));
		return r;
	}
	if (ioctl(lfd, TIOCGPTN, &index) < 0) {
		r = negative_errno();
		pr_err("pid %d fd %d: a pty master without an index (TIOCGPTN: %s): stasis dumps "
		       "Unix 98 ptys (/dev/ptmx) only; the task was left running",
		       ctx->pid, fd, strerror(-r));
		return r == -ENOTTY ? -ENOTSUP : r;
	}
	*ret_id = tty_info_id(index, true);
	if (info_of(ctx->files->tty, *ret_id))
		return 0;
	return dump_pair(ctx, fd, lfd, index);
}

int dump_tty_fd(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t flags,
		uint32_t *ret_id)
{
	struct arena *a = &ctx->files->arena;
	TtyFileEntry *tfe = ARENA_MSG(a, TtyFileEntry, TTY_FILE_ENTRY__INIT);
	FownEntry *fown = ARENA_MSG(a, FownEntry, FOWN_ENTRY__INIT);
	uint32_t id = tty_info_id(tty_pty_index(st->st_rdev), false);
	TtyInfoEntry *tie;
	FileEntry *fe;
	int r;

	if (!tfe || !fown)
		return -ENOMEM;
	if (tty_kind_of(st->st_rdev) == TTY_KIND_PTY_MASTER) {
		r = dump_master(ctx, fd, &id);
		if (r < 0)
			return r;
	} else {
		tie = info_of(ctx->files->tty, id);
		if (!tie && (r = new_slave_info(ctx, fd, st, &tie)) < 0)
			return r;
		/* The controlling terminal of this process: its session and foreground group. */
		if ((dev_t)(uint32_t)ctx->stat.tty_nr == st->st_rdev && !tie->sid) {
			tie->sid = (uint32_t)ctx->stat.session;
			tie->pgrp = ctx->stat.tpgid > 0 ? (uint32_t)ctx->stat.tpgid : 0;
		}
	}
	r = dump_files_new(ctx->files, FD_TYPES__TTY, &fe);
	if (r < 0)
		return r;
	tfe->id = fe->id;
	tfe->tty_info_id = id;
	tfe->flags = flags;
	tfe->fown = fown;
	fe->tty = tfe;
	*ret_id = fe->id;
	return 0;
}

/* A slave whose master is not in the tree is a shell's terminal: it needs -j. */
static int check_shell_jobs(const struct dump_tty *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct dump_term *s = &t->terms[i];

		if ((s->tie->id & 1) || s->shell_job || info_of(t, s->tie->id | 1))
			continue;
		pr_err("pid %d fd %d is the terminal /dev/pts/%u, whose master is outside the tree "
		       "(a shell's terminal): dump it with -j (--shell-job) and restore it with -j "
		       "from a terminal, or start the program with its stdio on files; the task "
		       "was left running",
		       s->pid, s->fd, s->tie->pty->index);
		return -ENOTSUP;
	}
	return 0;
}

int dump_tty_commit(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *info = NULL, *data = NULL;
	int r;

	if (!f->tty)
		return 0;
	r = check_shell_jobs(f->tty);
	if (r >= 0)
		r = img_create(dir, IMG_TTY_INFO, 0, &info);
	for (size_t i = 0; r >= 0 && i < f->tty->n; i++)
		r = img_write_entry(info, &f->tty->terms[i].tie->base, NULL, 0);
	if (r >= 0 && f->tty->ndata)
		r = img_create(dir, IMG_TTY_DATA, 0, &data);
	for (size_t i = 0; r >= 0 && i < f->tty->ndata; i++)
		r = img_write_entry(data, &f->tty->data[i]->base, NULL, 0);
	if (r >= 0)
		r = img_writer_commit(TAKE_PTR(info));
	if (r >= 0 && data)
		r = img_writer_commit(TAKE_PTR(data));
	return r;
}

void dump_tty_free(struct dump_files *f)
{
	if (f->tty) {
		free(f->tty->terms);
		free(f->tty->data);
	}
	free(f->tty);
	f->tty = NULL;
}
