/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Terminals of a dump (docs/files.md, "Terminals"), as CRIU writes them: a
 * FileEntry of type TTY per open file description (TtyFileEntry: the id of
 * its terminal in tty-info.img, its status flags) and, once per terminal, a
 * TtyInfoEntry in tty-info.img: its kind, pty index, settings, and the
 * session and foreground group when it is the controlling terminal of a
 * dumped process.
 *
 * Only pty slaves whose master is outside the tree are dumped: the
 * terminal of a shell job. They need -j (--shell-job): the restore connects
 * them to its own terminal. Without -j they are refused, naming -j.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "base/log.h"
#include "dump/internal.h"
#include "files/tty.h"
#include "image/image.h"

struct dump_tty {
	TtyInfoEntry **infos; /* tty-info.img, one per terminal */
	size_t n;
};

static TtyInfoEntry *info_of(struct dump_tty *t, uint32_t id)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->infos[i]->id == id)
			return t->infos[i];
	return NULL;
}

static int add_info(struct dump_files *f, TtyInfoEntry *tie)
{
	TtyInfoEntry **n;

	if (!f->tty && !(f->tty = calloc(1, sizeof(*f->tty))))
		return -ENOMEM;
	n = reallocarray(f->tty->infos, f->tty->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	f->tty->infos = n;
	n[f->tty->n++] = tie;
	return 0;
}

/* The terminal's TtyInfoEntry, read from the task's fd through /proc the first time. */
static int new_info(struct dump_ctx *ctx, int fd, const struct stat *st, uint32_t id,
		    TtyInfoEntry **ret)
{
	struct arena *a = &ctx->files->arena;
	TtyInfoEntry *tie = ARENA_MSG(a, TtyInfoEntry, TTY_INFO_ENTRY__INIT);
	TtyPtyEntry *pty = ARENA_MSG(a, TtyPtyEntry, TTY_PTY_ENTRY__INIT);
	_cleanup_close_ int lfd = -1;
	char path[64];
	int r;

	if (!tie || !pty)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", ctx->pid, fd);
	lfd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (lfd < 0 || (r = tty_settings_read(lfd, a, tie)) < 0) {
		r = lfd < 0 ? negative_errno() : r;
		pr_err("pid %d fd %d: cannot read the settings of its terminal: %s", ctx->pid, fd,
		       strerror(-r));
		return r;
	}
	tie->id = id;
	tie->type = TTY_TYPE__PTY;
	tie->rdev = (uint32_t)st->st_rdev;
	tie->has_dev = true;
	tie->dev = (uint32_t)st->st_dev;
	pty->index = tty_pty_index(st->st_rdev);
	tie->pty = pty;
	r = add_info(ctx->files, tie);
	if (r < 0)
		return r;
	*ret = tie;
	return 0;
}

int dump_tty_fd(struct dump_ctx *ctx, int fd, const struct stat *st, const char *target,
		uint32_t flags, uint32_t *ret_id)
{
	struct arena *a = &ctx->files->arena;
	TtyFileEntry *tfe = ARENA_MSG(a, TtyFileEntry, TTY_FILE_ENTRY__INIT);
	FownEntry *fown = ARENA_MSG(a, FownEntry, FOWN_ENTRY__INIT);
	uint32_t id = tty_info_id(tty_pty_index(st->st_rdev), false);
	TtyInfoEntry *tie = info_of(ctx->files->tty, id);
	FileEntry *fe;
	int r;

	if (!tfe || !fown)
		return -ENOMEM;
	/* The master is not in the tree (stasis refuses masters): a shell's terminal. */
	if (!ctx->opts->shell_job) {
		pr_err("pid %d fd %d is the terminal %s, whose other end is outside the tree (a "
		       "shell's terminal): dump it with -j (--shell-job) and restore it with -j "
		       "from a terminal, or start the program with its stdio on files; the task "
		       "was "
		       "left running",
		       ctx->pid, fd, target);
		return -ENOTSUP;
	}
	if (!tie && (r = new_info(ctx, fd, st, id, &tie)) < 0)
		return r;
	/* The controlling terminal of this process: its session and foreground group. */
	if ((dev_t)(uint32_t)ctx->stat.tty_nr == st->st_rdev && !tie->sid) {
		tie->sid = (uint32_t)ctx->stat.session;
		tie->pgrp = ctx->stat.tpgid > 0 ? (uint32_t)ctx->stat.tpgid : 0;
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

int dump_tty_commit(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	if (!f->tty)
		return 0;
	r = img_create(dir, IMG_TTY_INFO, 0, &w);
	for (size_t i = 0; r >= 0 && i < f->tty->n; i++)
		r = img_write_entry(w, &f->tty->infos[i]->base, NULL, 0);
	return r < 0 ? r : img_writer_commit(TAKE_PTR(w));
}

void dump_tty_free(struct dump_files *f)
{
	if (f->tty)
		free(f->tty->infos);
	free(f->tty);
	f->tty = NULL;
}
