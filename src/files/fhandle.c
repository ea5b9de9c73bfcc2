/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The file handles of fsnotify marks (files/fhandle.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc.h"
#include "files/fhandle.h"

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

int fhandle_from_fdinfo(const char *line, struct arena *a, FhEntry **ret_fh)
{
	const char *hex = strstr(line, "f_handle:");
	FhEntry *fh = ARENA_MSG(a, FhEntry, FH_ENTRY__INIT);
	uint64_t *words = arena_array(a, HANDLE_WORDS, sizeof(uint64_t));
	uint64_t nbytes, type;

	if (!fh || !words)
		return -ENOMEM;
	if (proc_fdinfo_field(line, "fhandle-bytes", 16, &nbytes) ||
	    proc_fdinfo_field(line, "fhandle-type", 16, &type) || !hex ||
	    parse_handle_bytes(hex + strlen("f_handle:"), nbytes, words) < 0)
		return -EBADMSG;
	fh->bytes = (uint32_t)nbytes;
	fh->type = (uint32_t)type;
	fh->handle = words;
	fh->n_handle = HANDLE_WORDS;
	*ret_fh = fh;
	return 0;
}

/* An fd on a mount of task pid on the device sdev (kernel encoding). */
static int open_mount_of(pid_t pid, uint32_t sdev, const char *label, const char *what)
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
	pr_err("%s: no mount of task %d on device %u:%u, where the file of %s is", label, (int)pid,
	       sdev >> 20, sdev & 0xfffff, what);
	return -ENOENT;
}

int fhandle_find_path(pid_t pid, uint32_t sdev, uint64_t ino, FhEntry *fh, struct arena *a,
		      const char *label, const char *what)
{
	_cleanup_free_ struct file_handle *h = NULL;
	_cleanup_close_ int mfd = -1, fd = -1;
	char link[64], target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int r;

	mfd = open_mount_of(pid, sdev, label, what);
	if (mfd < 0)
		return mfd;
	h = malloc(sizeof(*h) + fh->bytes);
	if (!h)
		return -ENOMEM;
	h->handle_bytes = fh->bytes;
	h->handle_type = (int)fh->type;
	memcpy(h->f_handle, fh->handle, fh->bytes);
	fd = open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = fd < 0 ? -1 : readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		r = negative_errno();
		pr_err("%s: cannot find the path of the file of %s (inode %#llx): %s", label, what,
		       (unsigned long long)ino, strerror(-r));
		return r;
	}
	target[n] = '\0';
	if (target[0] != '/' || lstat(target, &st) < 0 || st.st_ino != ino) {
		pr_err("%s: the file of %s (inode %#llx) is not reachable by a path (%s): "
		       "deleted, or not in this mount namespace; stasis restores a mark by path",
		       label, what, (unsigned long long)ino, target);
		return -ENOTSUP;
	}
	fh->path = arena_strdup(a, target);
	return fh->path ? 0 : -ENOMEM;
}

int fhandle_restore_path(const FhEntry *fh, uint64_t ino, const char *label, const char *what,
			 const char **ret_path)
{
	struct stat st;

	if (!fh || !fh->path) {
		pr_err("%s: %s has no path (an image made by CRIU without one); stasis restores "
		       "marks by path",
		       label, what);
		return -EOPNOTSUPP;
	}
	if (lstat(fh->path, &st) < 0 || st.st_ino != ino) {
		pr_err("%s: %s: %s is missing or is not the marked file any more (inode %#llx)",
		       label, what, fh->path, (unsigned long long)ino);
		return -ESTALE;
	}
	*ret_path = fh->path;
	return 0;
}
