/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The owner of an open file description (files/fown.h), read on a copy of
 * the task's fd taken with pidfd_getfd (fcntl answers about the
 * description, whoever holds it), into the fown_entry of its file entry.
 */
#include <fcntl.h>
#include <string.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/fown.h"

/*
 * Reading an owner costs a copy of the fd and two calls, 2-4 us per
 * description, inside the frozen window: about 20 % of the dump of 2,000
 * files and pipes. So it is read where it acts: with O_ASYNC (the owner
 * gets SIGIO, or the F_SETSIG signal), and on internet sockets (SIGURG for
 * urgent data, without O_ASYNC). An O_PATH description has no owner (and
 * fcntl refuses to say so).
 */
static bool owner_matters(const FileEntry *fe, const struct file_common *common)
{
	return !(common->flags & O_PATH) &&
	       ((common->flags & O_ASYNC) || fe->type == FD_TYPES__INETSK);
}

int dump_fown(struct dump_ctx *ctx, int pidfd, int fd, uint32_t id)
{
	const struct dump_files *f = ctx->files;
	const FileEntry *fe = id && id <= f->n ? f->entries[id - 1] : NULL;
	_cleanup_close_ int copy = -1;
	struct file_common common;
	char label[64];
	int r;

	if (fe && fe->type == FD_TYPES__FIFO && fe->fifo && fe->fifo->regf_id &&
	    fe->fifo->regf_id <= f->n)
		fe = f->entries[fe->fifo->regf_id - 1];
	if (!fe || !file_entry_common(fe, &common) || !common.fown || !owner_matters(fe, &common))
		return 0;
	snprintf(label, sizeof(label), "pid %d fd %d", ctx->pid, fd);
	copy = sys_pidfd_getfd(pidfd, fd, 0);
	if (copy < 0) {
		r = negative_errno();
		pr_err("%s: cannot take a copy of it with pidfd_getfd to read its owner: %s", label,
		       strerror(-r));
		return r;
	}
	return fown_read(copy, label, common.fown);
}
