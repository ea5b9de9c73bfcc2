/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inotify: watches on a file (IN_MODIFY, wd 1) and on a directory
 * (IN_CREATE | IN_DELETE, wd 3: wd 2, on another file, was removed), the
 * instance non-blocking. After the restore: the same wd numbers and masks
 * (fdinfo), nothing queued, and a change to each watched object is reported
 * under its wd.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define DIR_MASK (IN_CREATE | IN_DELETE)

static int in, wd_file, wd_dir;
static char dir[4096], file[4096 + 8], other[4096 + 8];

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		zoo_setup_failed("create %s: %m", path);
	close(fd);
}

static void drain(void)
{
	char buf[4096];

	while (read(in, buf, sizeof(buf)) > 0)
		;
}

static void setup(void)
{
	int wd_other;

	zoo_path(dir, sizeof(dir), "watched");
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		zoo_setup_failed("mkdir %s: %m", dir);
	touch(file);
	touch(other);
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		zoo_setup_failed("inotify_init1: %m");
	wd_file = inotify_add_watch(in, file, IN_MODIFY);
	wd_other = inotify_add_watch(in, other, IN_ATTRIB);
	wd_dir = inotify_add_watch(in, dir, DIR_MASK);
	if (wd_file != 1 || wd_other != 2 || wd_dir != 3)
		zoo_setup_failed("watches got wd %d %d %d, not 1 2 3", wd_file, wd_other, wd_dir);
	inotify_rm_watch(in, wd_other);
	drain(); /* the IN_IGNORED of the removed watch */
}

static void check_list(void)
{
	char info[2048], line[64];
	int n = 0;

	if (!zoo_expect(zoo_fdinfo(in, info, sizeof(info)), "cannot read the fdinfo"))
		return;
	snprintf(line, sizeof(line), "inotify wd:%x ", wd_file);
	zoo_expect(strstr(info, line) && strstr(strstr(info, line), "mask:2 "),
		   "no watch %d with mask IN_MODIFY in the fdinfo", wd_file);
	snprintf(line, sizeof(line), "inotify wd:%x ", wd_dir);
	zoo_expect(strstr(info, line) && strstr(strstr(info, line), "mask:300 "),
		   "no watch %d with mask IN_CREATE|IN_DELETE in the fdinfo", wd_dir);
	for (const char *p = info; (p = strstr(p, "inotify wd:")); p++)
		n++;
	zoo_expect(n == 2, "%d watches, not 2", n);
}

/* The next event: its wd and mask; false if none. */
static bool next_event(int *ret_wd, uint32_t *ret_mask)
{
	static char buf[4096] __attribute__((aligned(8)));
	static ssize_t len, off;
	const struct inotify_event *e;

	if (off >= len) {
		len = read(in, buf, sizeof(buf));
		off = 0;
		if (len <= 0)
			return false;
	}
	e = (const struct inotify_event *)(buf + off);
	off += (ssize_t)(sizeof(*e) + e->len);
	*ret_wd = e->wd;
	*ret_mask = e->mask;
	return true;
}

static void check_events(void)
{
	char path[4096 + 8];
	uint32_t mask = 0;
	int wd = 0, fd;

	if (next_event(&wd, &mask))
		zoo_fail("an event was queued: wd %d mask %#x", wd, mask);
	if (!zoo_expect(fcntl(in, F_GETFL) & O_NONBLOCK, "the inotify instance is blocking"))
		return;
	fd = open(file, O_WRONLY | O_CLOEXEC);
	zoo_expect(fd >= 0 && write(fd, "x", 1) == 1, "write %s: %m", file);
	if (fd >= 0)
		close(fd);
	zoo_expect(next_event(&wd, &mask) && wd == wd_file && mask == IN_MODIFY,
		   "after a write: wd %d mask %#x, not wd %d IN_MODIFY", wd, mask, wd_file);
	snprintf(path, sizeof(path), "%s/new", dir);
	touch(path);
	unlink(path);
	zoo_expect(next_event(&wd, &mask) && wd == wd_dir && mask == IN_CREATE,
		   "after a create: wd %d mask %#x, not wd %d IN_CREATE", wd, mask, wd_dir);
	zoo_expect(next_event(&wd, &mask) && wd == wd_dir && mask == IN_DELETE,
		   "after an unlink: wd %d mask %#x, not wd %d IN_DELETE", wd, mask, wd_dir);
}

static void break_rm(void)
{
	inotify_rm_watch(in, wd_file);
}

static void break_add(void)
{
	inotify_add_watch(in, other, IN_ATTRIB);
}

static void break_mask(void)
{
	inotify_add_watch(in, dir, IN_DELETE);
}

static void break_queue(void)
{
	unlink(other); /* in the watched directory: IN_DELETE queued */
}

static const struct zoo_break breaks[] = {
	{"the watch of the file removed", break_rm},
	{"a third watch added", break_add},
	{"the directory's mask narrowed to IN_DELETE", break_mask},
	{"an event queued (a file deleted in the directory)", break_queue},
};

static const struct zoo_desc desc = {
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	zoo_init(argc, argv, &desc);
	setup();
	zoo_ready();
	zoo_break_now();
	zoo_wait_term();
	check_list();
	check_events();
	return zoo_verdict();
}
