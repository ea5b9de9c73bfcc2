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
#include "files/file.h"

#define HANDLE_WORDS 16 /* CRIU's FH_ENTRY_SIZES__min_entries: 128 bytes of handle */

/* "5d03000000000000": the handle's bytes in hex, into HANDLE_WORDS words. */
static int parse_handle_bytes(const char *hex, size_t nbytes, uint64_t *words)
{
	uint8_t *bytes = (uint8_t *)words;

	if (nbytes > HANDLE_WORDS * sizeof(uint64_t))
		return -E2BIG;
	for (size_t i = 0; i < nbytes; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -EBADMSG;
		bytes[i] = (uint8_t)b;
	}
	return 0;
}

static int parse_wd(const char *v, struct arena *a, const char *label, InotifyWdEntry *w)
{
	uint64_t wd, ino, sdev, mask, ignored, nbytes, type;
	const char *hex = strstr(v, "f_handle:");
	FhEntry *fh = ARENA_MSG(a, FhEntry, FH_ENTRY__INIT);
	uint64_t *words = arena_array(a, HANDLE_WORDS, sizeof(uint64_t));

	if (!fh || !words)
		return -ENOMEM;
	if (proc_fdinfo_field(v, "wd", 16, &wd) || proc_fdinfo_field(v, "ino", 16, &ino) ||
	    proc_fdinfo_field(v, "sdev", 16, &sdev) || proc_fdinfo_field(v, "mask", 16, &mask) ||
	    proc_fdinfo_field(v, "ignored_mask", 16, &ignored) ||
	    proc_fdinfo_field(v, "fhandle-bytes", 16, &nbytes) ||
	    proc_fdinfo_field(v, "fhandle-type", 16, &type) || !hex ||
	    parse_handle_bytes(hex + strlen("f_handle:"), nbytes, words) < 0) {
		pr_err("%s: cannot parse the watch \"inotify %s\" of its fdinfo", label, v);
		return -EBADMSG;
	}
	fh->bytes = (uint32_t)nbytes;
	fh->type = (uint32_t)type;
	fh->handle = words;
	fh->n_handle = HANDLE_WORDS;
	w->wd = (uint32_t)wd;
	w->i_ino = ino;
	w->s_dev = (uint32_t)sdev;
	w->mask = (uint32_t)mask;
	w->ignored_mask = (uint32_t)ignored;
	w->f_handle = fh;
	return 0;
}

/* An fd (O_PATH) on a mount of task pid on the device sdev (kernel encoding). */
static int open_mount_of(pid_t pid, uint32_t sdev, const char *label)
{
	_cleanup_(proc_mount_table_free) struct proc_mount_table t = {};
	char path[PATH_MAX + 32];
	int r;

	r = proc_read_mountinfo(pid, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t.n; i++) {
		if (t.mounts[i].major != sdev >> 20 || t.mounts[i].minor != (sdev & 0xfffff))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, t.mounts[i].mountpoint);
		/* not O_PATH: open_by_handle_at() does not take those */
		r = open(path, O_RDONLY | O_CLOEXEC);
		if (r >= 0)
			return r;
	}
	pr_err("%s: no mount of task %d on device %u:%u, where a watched file is", label, (int)pid,
	       sdev >> 20, sdev & 0xfffff);
	return -ENOENT;
}

/* The path of the watched inode, from its file handle. */
static int watch_path(pid_t pid, InotifyWdEntry *w, struct arena *a, const char *label)
{
	_cleanup_free_ struct file_handle *h = NULL;
	_cleanup_close_ int mfd = -1, fd = -1;
	char link[64], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	mfd = open_mount_of(pid, w->s_dev, label);
	if (mfd < 0)
		return mfd;
	h = malloc(sizeof(*h) + w->f_handle->bytes);
	if (!h)
		return -ENOMEM;
	h->handle_bytes = w->f_handle->bytes;
	h->handle_type = (int)w->f_handle->type;
	memcpy(h->f_handle, w->f_handle->handle, w->f_handle->bytes);
	fd = open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = fd < 0 ? -1 : readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		r = negative_errno();
		pr_err("%s: cannot find the path of the file of watch %u (inode %#llx): %s", label,
		       w->wd, (unsigned long long)w->i_ino, strerror(-r));
		return r;
	}
	target[n] = '\0';
	if (target[0] != '/' || stat(target, &st) < 0 || st.st_ino != w->i_ino) {
		pr_err("%s: the file of watch %u (inode %#llx) is not reachable by a path (%s): "
		       "deleted, or not in this mount namespace; stasis restores a watch by path",
		       label, w->wd, (unsigned long long)w->i_ino, target);
		return -ENOTSUP;
	}
	w->f_handle->path = arena_strdup(a, target);
	return w->f_handle->path ? 0 : -ENOMEM;
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
	const char *path = w->f_handle ? w->f_handle->path : NULL;
	struct stat st;
	int wd, r;

	if (!path) {
		pr_err("%s: watch %u has no path (an image made by CRIU without one); stasis "
		       "restores watches by path",
		       label, w->wd);
		return -EOPNOTSUPP;
	}
	if (stat(path, &st) < 0 || st.st_ino != w->i_ino) {
		pr_err("%s: watch %u: %s is missing or is not the watched file any more (inode "
		       "%#llx)",
		       label, w->wd, path, (unsigned long long)w->i_ino);
		return -ESTALE;
	}
	for (;;) {
		wd = inotify_add_watch(fd, path, w->mask);
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
