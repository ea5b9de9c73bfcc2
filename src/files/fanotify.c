/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fanotify: fdinfo shows the group, then one line per mark (all in hex),
 *
 *   fanotify flags:202 event-flags:8000
 *   fanotify ino:a78122 sdev:fe00000 mflags:0 mask:2 ignored_mask:0 fhandle-bytes:8
 *            fhandle-type:1 f_handle:2281a700914c0851
 *   fanotify mnt_id:1b mflags:0 mask:20 ignored_mask:0
 *   fanotify sdev:1b mflags:0 mask:20 ignored_mask:0
 *
 * an inode mark, a mount mark and a filesystem mark. Inode marks keep their
 * file handle and the path it leads to (files/fhandle.h), mount marks the
 * mount point of their mount (as CRIU: absolute, in the task's mount
 * namespace, which must be stasis's). Filesystem marks have no place in
 * CRIU's image and are refused. The restore makes the group with the same
 * flags and adds each mark by path. Events queued and not read at dump time
 * are lost (as with CRIU: they cannot be read without taking them).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/anon.h"
#include "files/fhandle.h"
#include "files/file.h"

/* The mark flags fdinfo shows (mflags), all of which the restore gives back. */
#define KNOWN_MFLAGS (FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)

/* "fanotify KEY" and its value, as one "KEY:value" line again. */
static void whole_line(const struct proc_kv *kv, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%s", kv->key + strlen("fanotify "), kv->value);
}

static int parse_common(const char *line, FanotifyMarkEntry *m)
{
	uint64_t mflags, mask, ignored;

	if (proc_fdinfo_field(line, "mflags", 16, &mflags) ||
	    proc_fdinfo_field(line, "mask", 16, &mask) ||
	    proc_fdinfo_field(line, "ignored_mask", 16, &ignored))
		return -EBADMSG;
	m->mflags = (uint32_t)mflags;
	m->mask = (uint32_t)mask;
	m->ignored_mask = (uint32_t)ignored;
	return 0;
}

static int inode_mark(pid_t pid, const char *line, struct arena *a, const char *label,
		      FanotifyMarkEntry *m)
{
	FanotifyInodeMarkEntry *ie =
		ARENA_MSG(a, FanotifyInodeMarkEntry, FANOTIFY_INODE_MARK_ENTRY__INIT);
	uint64_t ino, sdev;
	char what[64];
	int r;

	if (!ie)
		return -ENOMEM;
	if (proc_fdinfo_field(line, "ino", 16, &ino) || proc_fdinfo_field(line, "sdev", 16, &sdev))
		return -EBADMSG;
	r = fhandle_from_fdinfo(line, a, &ie->f_handle);
	if (r < 0)
		return r; /* -EBADMSG: the caller names the line */
	m->type = MARK_TYPE__INODE;
	m->s_dev = (uint32_t)sdev;
	ie->i_ino = ino;
	m->ie = ie;
	snprintf(what, sizeof(what), "the mark on inode %#llx", (unsigned long long)ino);
	return fhandle_find_path(pid, m->s_dev, ino, ie->f_handle, a, label, what);
}

/* The mount point of mount mnt_id of task pid, checked to be that mount here too. */
static int mount_mark_path(pid_t pid, FanotifyMarkEntry *m, struct arena *a, const char *label)
{
	_cleanup_(proc_mount_table_free) struct proc_mount_table t = {};
	const struct proc_mount *mnt = NULL;
	struct statx stx;
	int r;

	r = proc_read_mountinfo(pid, &t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t.n && !mnt; i++)
		if ((uint32_t)t.mounts[i].mnt_id == m->me->mnt_id)
			mnt = &t.mounts[i];
	if (!mnt) {
		pr_err("%s: the mount of a mount mark (mnt_id %u) is not in the mount namespace of "
		       "task %d; remove the mark before the checkpoint",
		       label, m->me->mnt_id, (int)pid);
		return -ENOTSUP;
	}
	if (statx(AT_FDCWD, mnt->mountpoint, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != m->me->mnt_id) {
		pr_err("%s: the mount of a mount mark (mnt_id %u, %s in task %d) is not that path "
		       "in stasis's mount namespace; stasis restores a mount mark by path",
		       label, m->me->mnt_id, mnt->mountpoint, (int)pid);
		return -ENOTSUP;
	}
	m->s_dev = mnt->major << 20 | mnt->minor;
	m->me->path = arena_strdup(a, mnt->mountpoint);
	return m->me->path ? 0 : -ENOMEM;
}

static int mount_mark(pid_t pid, const char *line, struct arena *a, const char *label,
		      FanotifyMarkEntry *m)
{
	uint64_t mnt_id;

	m->me = ARENA_MSG(a, FanotifyMountMarkEntry, FANOTIFY_MOUNT_MARK_ENTRY__INIT);
	if (!m->me)
		return -ENOMEM;
	if (proc_fdinfo_field(line, "mnt_id", 16, &mnt_id))
		return -EBADMSG;
	m->type = MARK_TYPE__MOUNT;
	m->me->mnt_id = (uint32_t)mnt_id;
	return mount_mark_path(pid, m, a, label);
}

/* One "fanotify ..." line of a mark into m. */
static int parse_mark(pid_t pid, const struct proc_kv *kv, struct arena *a, const char *label,
		      FanotifyMarkEntry *m)
{
	char line[1024];
	int r;

	whole_line(kv, line, sizeof(line));
	if (streq(kv->key, "fanotify sdev")) {
		pr_err("%s: a filesystem mark (FAN_MARK_FILESYSTEM, \"%s\"): CRIU's image has no "
		       "place for it; remove the mark before the checkpoint",
		       label, line);
		return -ENOTSUP;
	}
	if (parse_common(line, m) < 0)
		r = -EBADMSG;
	else if (streq(kv->key, "fanotify ino"))
		r = inode_mark(pid, line, a, label, m);
	else if (streq(kv->key, "fanotify mnt_id"))
		r = mount_mark(pid, line, a, label, m);
	else
		r = -EBADMSG;
	if (r == -EBADMSG)
		pr_err("%s: cannot parse the mark \"%s\" of its fdinfo", label, line);
	else if (r == 0 && (m->mflags & ~KNOWN_MFLAGS)) {
		pr_err("%s: the mark \"%s\" has flags %#x stasis does not know; remove the mark "
		       "before the checkpoint",
		       label, line, m->mflags & ~KNOWN_MFLAGS);
		r = -ENOTSUP;
	}
	return r;
}

static int parse_group(const struct proc_fdinfo *fi, const char *label, FanotifyFileEntry *e)
{
	const char *v = proc_fdinfo_get(fi, "fanotify flags");
	uint64_t flags, evflags;
	char line[256];

	snprintf(line, sizeof(line), "flags:%s", v ? v : "");
	if (!v || proc_fdinfo_field(line, "flags", 16, &flags) ||
	    proc_fdinfo_field(line, "event-flags", 16, &evflags)) {
		pr_err("%s: no \"fanotify flags\" line in its fdinfo, or a bad one", label);
		return -EBADMSG;
	}
	e->faflags = (uint32_t)flags;
	e->evflags = (uint32_t)evflags;
	return 0;
}

int fanotify_from_fdinfo(pid_t pid, const struct proc_fdinfo *fi, struct arena *a,
			 const char *label, FanotifyFileEntry *e)
{
	size_t n = 0;
	int r;

	r = parse_group(fi, label, e);
	if (r < 0)
		return r;
	for (size_t i = 0; i < fi->n_extra; i++)
		n += startswith(fi->extra[i].key, "fanotify ") &&
		     !streq(fi->extra[i].key, "fanotify flags");
	e->mark = n ? arena_array(a, n, sizeof(*e->mark)) : NULL;
	if (n && !e->mark)
		return -ENOMEM;
	for (size_t i = 0; i < fi->n_extra; i++) {
		FanotifyMarkEntry *m;

		if (!startswith(fi->extra[i].key, "fanotify ") ||
		    streq(fi->extra[i].key, "fanotify flags"))
			continue;
		m = ARENA_MSG(a, FanotifyMarkEntry, FANOTIFY_MARK_ENTRY__INIT);
		if (!m)
			return -ENOMEM;
		m->id = e->id;
		r = parse_mark(pid, &fi->extra[i], a, label, m);
		if (r < 0)
			return r;
		e->mark[e->n_mark++] = m;
	}
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	return 0;
}

/* The path of a mount mark's mount at restore: its mount point, which must be one here. */
static int mount_target(const FanotifyMarkEntry *m, const char *label, char *buf, size_t size)
{
	struct statx stx;

	if (!m->me || !m->me->path) {
		pr_err("%s: a mount mark (mnt_id %u) without its mount point (an image made by "
		       "CRIU "
		       "in a mount namespace); stasis restores a mount mark by path",
		       label, m->me ? m->me->mnt_id : 0);
		return -EOPNOTSUPP;
	}
	/* CRIU writes the mount point absolute; accept it relative to / too */
	snprintf(buf, size, "%s%s", m->me->path[0] == '/' ? "" : "/", m->me->path);
	if (statx(AT_FDCWD, buf, AT_SYMLINK_NOFOLLOW, 0, &stx) < 0 ||
	    !(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
	    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		pr_err("%s: %s is not a mount point here (a mount mark's mount): mount it again "
		       "before the restore",
		       label, buf);
		return -ENOENT;
	}
	return 0;
}

static int mark_once(int fd, unsigned int flags, uint32_t mask, const char *path, const char *label)
{
	int r;

	if (!mask || fanotify_mark(fd, flags, mask, AT_FDCWD, path) == 0)
		return 0;
	r = negative_errno();
	pr_err("%s: cannot mark %s (flags %#x, mask %#x): %s", label, path, flags, mask,
	       strerror(-r));
	return r;
}

static int add_mark(int fd, const FanotifyMarkEntry *m, const char *label)
{
	unsigned int where, ignore;
	char buf[PATH_MAX + 2], what[64];
	const char *path = buf;
	int r;

	if (m->type == MARK_TYPE__MOUNT) {
		where = FAN_MARK_MOUNT;
		r = mount_target(m, label, buf, sizeof(buf));
	} else if (m->type == MARK_TYPE__INODE && m->ie) {
		/* the path is the inode's own: a last symbolic link is the marked file */
		where = FAN_MARK_DONT_FOLLOW;
		snprintf(what, sizeof(what), "the mark on inode %#llx",
			 (unsigned long long)m->ie->i_ino);
		r = fhandle_restore_path(m->ie->f_handle, m->ie->i_ino, label, what, &path);
	} else {
		pr_err("%s: a mark of type %d, or without its entry", label, (int)m->type);
		r = -EBADMSG;
	}
	if (r < 0)
		return r;
	/* an evictable mark stays one: each addition without the flag would pin it */
	where |= FAN_MARK_ADD | (m->mflags & FAN_MARK_EVICTABLE);
	ignore = (m->mflags & FAN_MARK_IGNORE ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK) |
		 (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY);
	/* The kernel fixes a mark's ignore semantics at its first addition. */
	if (m->mflags & FAN_MARK_IGNORE) {
		r = mark_once(fd, where | ignore, m->ignored_mask, path, label);
		return r < 0 ? r : mark_once(fd, where, m->mask, path, label);
	}
	r = mark_once(fd, where, m->mask, path, label);
	return r < 0 ? r : mark_once(fd, where | ignore, m->ignored_mask, path, label);
}

int fanotify_make(const FanotifyFileEntry *e, const char *label)
{
	_cleanup_close_ int fd = -1;
	int r;

	/*
	 * The group keeps FAN_CLOEXEC in the flags fdinfo shows: the
	 * controller's copy is made close-on-exec by fcntl() instead.
	 */
	fd = fanotify_init(e->faflags, e->evflags);
	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = negative_errno();
		pr_err("%s: cannot create a fanotify group (flags %#x, event flags %#x): %s", label,
		       e->faflags, e->evflags, strerror(-r));
		return r;
	}
	for (size_t i = 0; i < e->n_mark; i++) {
		r = add_mark(fd, e->mark[i], label);
		if (r < 0)
			return r;
	}
	r = file_set_flags(fd, e->flags, label);
	return r < 0 ? r : TAKE_FD(fd);
}
