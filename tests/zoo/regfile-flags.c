/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Regular files open with unusual status flags and offsets: read-only with
 * O_NOATIME at OFF_NOATIME, write-only with O_SYNC at OFF_SYNC, read-write
 * with O_DIRECT at a block boundary (when the file system allows it),
 * non-blocking past the end of the file, an O_PATH descriptor, and a dup of
 * the first that shares its offset. After the restore every fd has its flags
 * and offset, and the dup still shares the offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define FILE_SIZE 16384
#define SEED 101
/* The status flags F_GETFL reports and the check compares. */
#define FLAG_MASK \
	(O_ACCMODE | O_APPEND | O_NOATIME | O_SYNC | O_DSYNC | O_DIRECT | O_NONBLOCK | O_PATH)

struct open_fd {
	const char *what;
	int flags;
	off_t offset; /* -1: none (O_PATH) */
	int fd;
	int getfl; /* what F_GETFL said at setup */
};

static struct open_fd fds[] = {
	{"O_RDONLY|O_NOATIME", O_RDONLY | O_NOATIME, 123, -1, 0},
	{"O_WRONLY|O_SYNC", O_WRONLY | O_SYNC, 2000, -1, 0},
	{"O_RDWR|O_DIRECT", O_RDWR | O_DIRECT, 8192, -1, 0},
	{"O_RDONLY|O_NONBLOCK past the end", O_RDONLY | O_NONBLOCK, FILE_SIZE + 777, -1, 0},
	{"O_PATH", O_PATH, -1, -1, 0},
};

enum { NOATIME, SYNC, DIRECT, NONBLOCK, PATH };

static int dup_fd;
static char path[PATH_MAX];
static ino_t ino;

static void setup(void)
{
	static uint8_t data[FILE_SIZE];
	struct stat st;
	int fd;

	zoo_path(path, sizeof(path), "regfile-flags.data");
	zoo_fill(data, sizeof(data), SEED);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data) || fstat(fd, &st) || close(fd))
		zoo_setup_failed("write %s: %m", path);
	ino = st.st_ino;
	for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
		struct open_fd *o = &fds[i];

		o->fd = open(path, o->flags);
		if (o->fd < 0 && i == DIRECT && errno == EINVAL) /* no O_DIRECT on this fs */
			o->fd = open(path, o->flags &= ~O_DIRECT);
		if (o->fd < 0 || (o->offset >= 0 && lseek(o->fd, o->offset, SEEK_SET) != o->offset))
			zoo_setup_failed("open %s %s: %m", path, o->what);
		o->getfl = fcntl(o->fd, F_GETFL) & FLAG_MASK;
	}
	dup_fd = dup(fds[NOATIME].fd);
	if (dup_fd < 0)
		zoo_setup_failed("dup: %m");
}

static void check_fd(const struct open_fd *o)
{
	int fl = fcntl(o->fd, F_GETFL);
	struct stat st;
	off_t off;

	if (!zoo_expect(fl >= 0 && fstat(o->fd, &st) == 0, "%s fd %d: %m", o->what, o->fd))
		return;
	zoo_expect(st.st_ino == ino, "%s fd %d is on another file", o->what, o->fd);
	zoo_expect((fl & FLAG_MASK) == o->getfl, "%s fd %d: flags %#o, not %#o", o->what, o->fd,
		   fl & FLAG_MASK, o->getfl);
	if (o->offset < 0)
		return;
	off = lseek(o->fd, 0, SEEK_CUR);
	zoo_expect(off == o->offset, "%s fd %d: offset %lld, not %lld", o->what, o->fd,
		   (long long)off, (long long)o->offset);
}

static void check(void)
{
	off_t off;

	for (size_t i = 0; i < ELEMENTSOF(fds); i++)
		check_fd(&fds[i]);
	/* The dup shares the offset: moving one moves the other. */
	lseek(fds[NOATIME].fd, 5, SEEK_SET);
	off = lseek(dup_fd, 0, SEEK_CUR);
	zoo_expect(off == 5, "the dup of fd %d has offset %lld after the original moved to 5",
		   fds[NOATIME].fd, (long long)off);
}

static void break_noatime(void)
{
	fcntl(fds[NOATIME].fd, F_SETFL, fcntl(fds[NOATIME].fd, F_GETFL) & ~O_NOATIME);
}

static void break_nonblock(void)
{
	fcntl(fds[NONBLOCK].fd, F_SETFL, fcntl(fds[NONBLOCK].fd, F_GETFL) & ~O_NONBLOCK);
}

static void break_offset(void)
{
	lseek(fds[SYNC].fd, 1, SEEK_CUR);
}

static void break_shared(void)
{
	int fd = open(path, O_RDONLY | O_NOATIME);

	if (fd < 0 || dup2(fd, dup_fd) < 0)
		zoo_die("break: %m");
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"O_NOATIME cleared", break_noatime},
	{"O_NONBLOCK cleared", break_nonblock},
	{"the O_SYNC fd's offset moved by one", break_offset},
	{"the dup replaced by a file of its own", break_shared},
};

static const struct zoo_desc desc = {
	.requires = "pidfd_store",
	.breaks = breaks,
	.n_breaks = ELEMENTSOF(breaks),
};

int main(int argc, char **argv)
{
	return zoo_run(argc, argv, &desc, setup, check);
}
