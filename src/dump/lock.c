/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File locks of a dump (docs/files.md, "File locks"): filelocks.img, one
 * FileLockEntry per lock, read from the "lock:" lines of the fdinfo of each
 * fd. A flock or OFD lock belongs to the open file description, and every
 * fd on it (of any process) shows it: it is written once, with the first fd
 * that holds the description. A POSIX lock belongs to the process: written
 * with the first fd of that process on the description it was taken
 * through. Without --file-locks, a task holding a lock is refused.
 */
#include <stdlib.h>

#include "base/log.h"
#include "dump/internal.h"
#include "files/lock.h"
#include "image/image.h"

static int add_lock(struct dump_files *f, const FileLockEntry *e)
{
	FileLockEntry *copy = ARENA_MSG(&f->arena, FileLockEntry, FILE_LOCK_ENTRY__INIT);
	FileLockEntry **n = reallocarray(f->locks, f->nlocks + 1, sizeof(*n));

	if (!copy || !n)
		return -ENOMEM;
	*copy = *e;
	f->locks = n;
	f->locks[f->nlocks++] = copy;
	return 0;
}

static int refuse(const struct dump_ctx *ctx, int fd, const char *target, const char *what,
		  const char *advice)
{
	pr_err("pid %d fd %d (%s) holds %s: %s; the task was left running", ctx->pid, fd, target,
	       what, advice);
	return -ENOTSUP;
}

int dump_fd_locks(struct dump_ctx *ctx, int fd, const char *target, const struct proc_fdinfo *fi,
		  enum dump_desc_seen seen)
{
	for (size_t i = 0; i < fi->n_extra; i++) {
		FileLockEntry e;
		bool mandatory;
		char what[32];
		int r;

		if (!streq(fi->extra[i].key, "lock"))
			continue;
		if (lock_parse(fi->extra[i].value, &e, &mandatory) < 0) {
			pr_err("pid %d fd %d: cannot parse the lock line '%s' of its fdinfo",
			       ctx->pid, fd, fi->extra[i].value);
			return -EBADMSG;
		}
		snprintf(what, sizeof(what), "%s %s lock", e.flag == LOCK_KIND_OFD ? "an" : "a",
			 lock_kind_name(e.flag));
		if (e.flag == LOCK_KIND_LEASE || mandatory)
			return refuse(
				ctx, fd, target, mandatory ? "a mandatory lock" : "a lease",
				"stasis cannot take it again; release it before the checkpoint");
		if (!ctx->opts->file_locks)
			return refuse(ctx, fd, target, what,
				      "dump with --file-locks to checkpoint file locks");
		if (seen == DESC_SEEN_HERE ||
		    (seen == DESC_SEEN_ELSEWHERE && e.flag != LOCK_KIND_POSIX))
			continue;
		e.pid = ctx->pid;
		e.fd = fd;
		r = add_lock(ctx->files, &e);
		if (r < 0)
			return r;
		pr_info("pid %d fd %d: %s, %s, bytes %lld+%lld", ctx->pid, fd, what,
			e.type == F_WRLCK ? "write" : "read", (long long)e.start, (long long)e.len);
	}
	return 0;
}

int dump_locks_commit(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	if (!f->nlocks)
		return 0;
	r = img_create(dir, IMG_FILE_LOCKS, 0, &w);
	for (size_t i = 0; r >= 0 && i < f->nlocks; i++)
		r = img_write_entry(w, &f->locks[i]->base, NULL, 0);
	return r < 0 ? r : img_writer_commit(TAKE_PTR(w));
}
