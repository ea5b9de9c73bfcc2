/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signal-driven I/O of the open file descriptions (files/fown.h). The
 * owner and signal are set by the controller on its copy, once every task
 * exists (an owner must exist: F_SETOWN_EX fails with ESRCH otherwise).
 * O_ASYNC is set last by the task itself, with a remote fcntl(): the kernel
 * records the fd number of whoever turns it on and puts it in the signal's
 * si_fd, so the controller's would be the wrong one (file_set_flags() never
 * sets it, and open() would not arm it).
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "files/fown.h"
#include "restore/internal.h"

/* The owner and flags of file id: in its entry, for a FIFO in the REG entry it names. */
static bool common_of(const struct rst_images *img, uint32_t id, struct file_common *ret)
{
	const FileEntry *fe = rst_file_entry(img, id);
	const RegFileEntry *reg = NULL;

	if (fe && fe->type == FD_TYPES__FIFO && fe->fifo && fe->fifo->has_regf_id)
		reg = rst_reg_file(img, fe->fifo->regf_id);
	else if (fe)
		return file_entry_common(fe, ret);
	else
		reg = rst_reg_file(img, id); /* an image with reg-files.img */
	if (reg)
		*ret = (struct file_common){reg->fown, reg->flags};
	return reg;
}

int rst_files_set_owners(struct rst_ctx *c)
{
	for (size_t i = 0; i < c->img.nfds; i++) {
		const FownEntry *fown;
		struct file_common common;
		char label[64];
		int r;

		if (!common_of(&c->img, c->img.fds[i]->id, &common) || !(fown = common.fown) ||
		    (!fown->pid && !fown->signum))
			continue;
		for (size_t j = 0; j < c->files.nmoves; j++) {
			if (c->files.moves[j].dst != (int)c->img.fds[i]->fd)
				continue;
			snprintf(label, sizeof(label), "restore: pid %d: fd %d", (int)c->pid,
				 c->files.moves[j].dst);
			r = fown_apply(c->files.moves[j].src, fown, label);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int rst_files_async(struct rst_ctx *c)
{
	for (size_t i = 0; i < c->img.nfds; i++) {
		const FdinfoEntry *fe = c->img.fds[i];
		struct file_common common;
		long fl;

		if (!common_of(&c->img, fe->id, &common) || !(common.flags & O_ASYNC) ||
		    rst_fd_seen_before(&c->img, i))
			continue;
		fl = rst_sys(c, SYS_fcntl, fe->fd, F_GETFL);
		if (fl >= 0)
			fl = rst_sys(c, SYS_fcntl, fe->fd, F_SETFL, (unsigned long)fl | O_ASYNC);
		if (fl < 0) {
			rst_err(c, "fd %u: cannot set O_ASYNC: %s", fe->fd, strerror((int)-fl));
			return (int)fl;
		}
	}
	return 0;
}
