/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inotify: one fdinfo line per watch,
 *
 *   inotify wd:2 ino:35d sdev:fe00000 mask:2 ignored_mask:0 fhandle-bytes:8
 *           fhandle-type:1 f_handle:5d03000000000000
 *
 * (all in hex; sdev in the kernel's encoding). The watched inode's path is
 * found by opening its file handle (open_by_handle_at) on a mount of that
 * device and reading the link of the result; it is kept in the handle's
 * entry with the handle (CRIU's fh_entry). The restore adds each watch by
 * path, checks the inode, and gets the old wd number back: the kernel hands
 * wd numbers out in increasing order, so a watch that gets a lower one is
 * removed and added again until it gets its own. Events queued and not read
 * at dump time are not kept (CRIU does not keep them either).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/anon.h"
#include "files/fhandle.h"
#include "files/file.h"

static int parse_wd(const char *v, struct arena *a, const char *label, InotifyWdEntry *w)
{
	uint64_t wd, ino, sdev, mask, ignored;
	int r = fhandle_from_fdinfo(v, a, &w->f_handle);

	if (r == -ENOMEM)
		return r;
	if (r < 0 || proc_fdinfo_field(v, "wd", 16, &wd) || proc_fdinfo_field(v, "ino", 16, &ino) ||
	    proc_fdinfo_field(v, "sdev", 16, &sdev) || proc_fdinfo_field(v, "mask", 16, &mask) ||
	    proc_fdinfo_field(v, "ignored_mask", 16, &ignored)) {
		pr_err("%s: cannot parse the watch \"inotify %s\" of its fdinfo", label, v);
		return -EBADMSG;
	}
	w->wd = (uint32_t)wd;
	w->i_ino = ino;
	w->s_dev = (uint32_t)sdev;
	w->mask = (uint32_t)mask;
	w->ignored_mask = (uint32_t)ignored;
	return 0;
}

/* The path of the watched inode, from its file handle. */
static int watch_path(pid_t pid, InotifyWdEntry *w, struct arena *a, const char *label)
{
	char what[32];

	snprintf(what, sizeof(what), "watch %u", w->wd);
	return fhandle_find_path(pid, w->s_dev, w->i_ino, w->f_handle, a, label, what);
}

int inotify_from_fdinfo(pid_t pid, const struct proc_fdinfo *fi, struct arena *a, const char *label,
			InotifyFileEntry *e)
{
	size_t n = 0;
	int r;

	for (size_t i = 0; i < fi->n_extra; i++)
		n += streq(fi->extra[i].key, "inotify wd");
	e->wd = n ? arena_array(a, n, sizeof(*e->wd)) : NULL;
	if (n && !e->wd)
		return -ENOMEM;
	for (size_t i = 0; i < fi->n_extra; i++) {
		InotifyWdEntry *w;
		char line[1024];

		if (!streq(fi->extra[i].key, "inotify wd"))
			continue;
		w = ARENA_MSG(a, InotifyWdEntry, INOTIFY_WD_ENTRY__INIT);
		if (!w)
			return -ENOMEM;
		/* the key took "inotify wd": put "wd:" back in front of its value */
		snprintf(line, sizeof(line), "wd:%s", fi->extra[i].value);
		r = parse_wd(line, a, label, w);
		if (r == 0)
			r = watch_path(pid, w, a, label);
		if (r < 0)
			return r;
		e->wd[e->n_wd++] = w;
	}
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	return 0;
}

/* Add w, with wd number w->wd. */
static int add_watch(int fd, const InotifyWdEntry *w, const char *label)
{
	const char *path;
	char what[32];
	int wd, r;

	snprintf(what, sizeof(what), "watch %u", w->wd);
	r = fhandle_restore_path(w->f_handle, w->i_ino, label, what, &path);
	if (r < 0)
		return r;
	for (;;) {
		/* the path is the inode's own: a last symbolic link is the watched file */
		wd = inotify_add_watch(fd, path, w->mask | IN_DONT_FOLLOW);
		if (wd < 0) {
			r = negative_errno();
			pr_err("%s: cannot watch %s (mask %#x): %s", label, path, w->mask,
			       strerror(-r));
			return r;
		}
		if ((uint32_t)wd == w->wd)
			return 0;
		if ((uint32_t)wd > w->wd) {
			pr_err("%s: watch of %s got wd %d, past its own %u: two watches on one "
			       "file, or out of order",
			       label, path, wd, w->wd);
			return -EEXIST;
		}
		inotify_rm_watch(fd, wd);
	}
}

static int cmp_wd(const void *a, const void *b)
{
	uint32_t x = (*(InotifyWdEntry *const *)a)->wd, y = (*(InotifyWdEntry *const *)b)->wd;

	return x < y ? -1 : x > y;
}

/* The IN_IGNORED events of the watches removed on the way to the right wd numbers. */
static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int inotify_make(const InotifyFileEntry *e, const char *label)
{
	_cleanup_free_ InotifyWdEntry **sorted = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot create an inotify instance: %s", label, strerror(-r));
		return r;
	}
	sorted = calloc(e->n_wd ? e->n_wd : 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, e->wd, e->n_wd * sizeof(*sorted));
	qsort(sorted, e->n_wd, sizeof(*sorted), cmp_wd);
	for (size_t i = 0; i < e->n_wd; i++) {
		r = add_watch(fd, sorted[i], label);
		if (r < 0)
			return r;
	}
	drain(fd);
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}
