/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fanotify: a group reporting file ids (FAN_REPORT_FID, non-blocking) with
 * a mount mark (FAN_OPEN on the mount of the zoo's directory), an inode
 * mark (FAN_MODIFY on a file), an inode mark that only ignores (FAN_OPEN on
 * another file, surviving modification) and one of the newer ignore
 * semantics (FAN_MARK_IGNORE) that also reports FAN_CLOSE_WRITE. After the
 * restore: the group's flags and the same four marks (fdinfo, the mount by its
 * mnt_id), and the events of this process: opening and writing the marked
 * file is reported (FAN_OPEN by the mount mark, FAN_MODIFY by the inode
 * mark), opening the ignored file is not, even after a write to it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define GROUP_FLAGS (FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK)
#define EVENT_FLAGS O_RDONLY
#define KERNEL_O_LARGEFILE 0100000 /* glibc's O_LARGEFILE is 0 here; the kernel adds its own */

static int fan;
static char marked[4096], ignored[4096], ignoring[4096];
static uint64_t mnt_id;

/* A file handle as fanotify reports it (struct file_handle with room for its bytes). */
struct handle {
	struct file_handle h;
	unsigned char bytes[MAX_HANDLE_SZ];
};

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		zoo_setup_failed("create %s: %m", path);
	close(fd);
}

static void mark(unsigned int flags, uint64_t mask, const char *path)
{
	if (fanotify_mark(fan, flags, mask, AT_FDCWD, path) < 0)
		zoo_setup_failed("fanotify_mark(%#x, %#llx, %s): %m", flags,
				 (unsigned long long)mask, path);
}

static void setup(void)
{
	struct statx stx;

	zoo_path(marked, sizeof(marked), "marked");
	zoo_path(ignored, sizeof(ignored), "ignored");
	zoo_path(ignoring, sizeof(ignoring), "ignoring");
	touch(marked);
	touch(ignored);
	touch(ignoring);
	if (statx(AT_FDCWD, zoo_dir(), 0, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
		zoo_setup_failed("statx(%s, STATX_MNT_ID): %m", zoo_dir());
	mnt_id = stx.stx_mnt_id;
	fan = fanotify_init(GROUP_FLAGS, EVENT_FLAGS);
	if (fan < 0)
		zoo_setup_failed("fanotify_init: %m");
	mark(FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, zoo_dir());
	mark(FAN_MARK_ADD, FAN_MODIFY, marked);
	mark(FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_OPEN,
	     ignored);
	/* the newer ignore semantics (FAN_MARK_IGNORE), with a mask of its own */
	mark(FAN_MARK_ADD | FAN_MARK_IGNORE_SURV, FAN_OPEN, ignoring);
	mark(FAN_MARK_ADD, FAN_CLOSE_WRITE, ignoring);
}

/* Is there a line starting with want in info? */
static bool has_line(const char *info, const char *want)
{
	for (const char *p = info; (p = strstr(p, want)); p++)
		if (p == info || p[-1] == '\n')
			return true;
	return false;
}

static void check_inode_mark(const char *info, const char *path, const char *state)
{
	char want[128];
	struct stat st;

	if (!zoo_expect(stat(path, &st) == 0, "stat %s: %m", path))
		return;
	snprintf(want, sizeof(want), "fanotify ino:%llx sdev:", (unsigned long long)st.st_ino);
	zoo_expect(strstr(info, want) && strstr(strstr(info, want), state),
		   "no mark \"%s\" on %s in the fdinfo", state, path);
}

static void check_list(void)
{
	char info[4096], want[128];
	int n = 0;

	if (!zoo_expect(zoo_fdinfo(fan, info, sizeof(info)), "cannot read the fdinfo"))
		return;
	snprintf(want, sizeof(want), "fanotify flags:%x event-flags:%x\n", GROUP_FLAGS,
		 EVENT_FLAGS | KERNEL_O_LARGEFILE);
	zoo_expect(has_line(info, want), "the group is not \"%.*s\"", (int)strlen(want) - 1, want);
	snprintf(want, sizeof(want), "fanotify mnt_id:%llx mflags:0 mask:%x ignored_mask:0\n",
		 (unsigned long long)mnt_id, FAN_OPEN);
	zoo_expect(has_line(info, want), "no mount mark \"%.*s\"", (int)strlen(want) - 1, want);
	check_inode_mark(info, marked, "mflags:0 mask:2 ignored_mask:0 ");
	check_inode_mark(info, ignored, "mflags:40 mask:0 ignored_mask:20 ");
	check_inode_mark(info, ignoring, "mflags:440 mask:8 ignored_mask:20 ");
	for (const char *p = info; (p = strstr(p, "\nfanotify ")); p++)
		n++;
	zoo_expect(n == 5, "%d fanotify lines, not 5 (the group and 4 marks)", n);
}

static bool handle_of(const char *path, struct handle *ret)
{
	int mount_id;

	ret->h.handle_bytes = MAX_HANDLE_SZ;
	return zoo_expect(name_to_handle_at(AT_FDCWD, path, &ret->h, &mount_id, 0) == 0,
			  "name_to_handle_at(%s): %m", path);
}

static bool same_handle(const struct file_handle *a, const struct handle *b)
{
	return a->handle_type == b->h.handle_type && a->handle_bytes == b->h.handle_bytes &&
	       memcmp(a->f_handle, b->h.f_handle, a->handle_bytes) == 0;
}

/* The file handle of an event (its FID record), or NULL. */
static const struct file_handle *event_handle(const struct fanotify_event_metadata *m)
{
	const char *p = (const char *)m + m->metadata_len, *end = (const char *)m + m->event_len;

	while (p + sizeof(struct fanotify_event_info_header) <= end) {
		const struct fanotify_event_info_fid *fid = (const void *)p;

		if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_FID)
			return (const struct file_handle *)fid->handle;
		if (!fid->hdr.len)
			break;
		p += fid->hdr.len;
	}
	return NULL;
}

/*
 * Read every queued event; OR into *ret_marked and *ret_ignored the masks of
 * this process's events on each file (others' events on the mount are
 * skipped). false on a queue overflow.
 */
static bool read_events(const struct handle *hm, const struct handle *hi, uint64_t *ret_marked,
			uint64_t *ret_ignored)
{
	static char buf[8192] __attribute__((aligned(8)));
	ssize_t len;

	while ((len = read(fan, buf, sizeof(buf))) > 0) {
		const struct fanotify_event_metadata *m = (const void *)buf;

		for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			const struct file_handle *h = event_handle(m);

			if (m->mask & FAN_Q_OVERFLOW)
				return false;
			if (m->pid != getpid() || !h)
				continue;
			if (same_handle(h, hm))
				*ret_marked |= m->mask;
			else if (same_handle(h, hi))
				*ret_ignored |= m->mask;
		}
	}
	return true;
}

static void access_file(const char *path, int flags, bool write_it)
{
	int fd = open(path, flags | O_CLOEXEC);

	zoo_expect(fd >= 0, "open %s: %m", path);
	if (fd >= 0 && write_it)
		zoo_expect(write(fd, "x", 1) == 1, "write %s: %m", path);
	if (fd >= 0)
		close(fd);
}

static void check_events(void)
{
	struct handle hm, hi;
	uint64_t got_marked = 0, got_ignored = 0;

	if (!zoo_expect(fcntl(fan, F_GETFL) & O_NONBLOCK, "the fanotify group is blocking") ||
	    !handle_of(marked, &hm) || !handle_of(ignored, &hi))
		return;
	/* what the mount saw before (other programs, this one's setup) */
	read_events(&hm, &hi, &got_marked, &got_ignored);
	got_marked = got_ignored = 0;
	access_file(ignored, O_RDWR, true); /* a write: the ignored mask survives it */
	access_file(ignored, O_RDONLY, false);
	access_file(marked, O_WRONLY, true);
	if (!zoo_expect(read_events(&hm, &hi, &got_marked, &got_ignored),
			"the event queue overflowed"))
		return;
	zoo_expect(got_marked == (FAN_OPEN | FAN_MODIFY),
		   "events on the marked file: %#llx, not FAN_OPEN | FAN_MODIFY",
		   (unsigned long long)got_marked);
	zoo_expect(!(got_ignored & FAN_OPEN), "opening the ignored file was reported (%#llx)",
		   (unsigned long long)got_ignored);
}

static void check(void)
{
	check_list();
	check_events();
}

static void break_inode_mark(void)
{
	fanotify_mark(fan, FAN_MARK_REMOVE, FAN_MODIFY, AT_FDCWD, marked);
}

static void break_ignore(void)
{
	fanotify_mark(fan, FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, FAN_OPEN, AT_FDCWD, ignored);
}

static void break_mount_mark(void)
{
	fanotify_mark(fan, FAN_MARK_REMOVE | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD, zoo_dir());
}

static void break_mask(void)
{
	fanotify_mark(fan, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, marked);
}

static void break_new_ignore(void)
{
	fanotify_mark(fan, FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_OPEN, AT_FDCWD, ignoring);
}

static const struct zoo_break breaks[] = {
	{"the inode mark of the marked file removed", break_inode_mark},
	{"the ignore mark of the ignored file removed", break_ignore},
	{"the mount mark removed", break_mount_mark},
	{"the marked file's mask widened to FAN_CLOSE_WRITE", break_mask},
	{"the FAN_MARK_IGNORE mark's ignore mask removed", break_new_ignore},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
