/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A regular file held open at an offset: one read-write descriptor at byte
 * OFFSET of a 10000-byte pattern file, and an append-only close-on-exec
 * descriptor on the same file. Both must come back on the same file, with
 * their offset, flags and fd flags.
 */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zoo.h"

#define FILE_SIZE 10000
#define OFFSET 4321
#define READ_SIZE 100
#define SEED 21

static int fd_rw, fd_append;
static char path[PATH_MAX];
static dev_t dev;
static ino_t ino;

static void setup(void)
{
	static uint8_t data[FILE_SIZE];
	struct stat st;

	zoo_path(path, sizeof(path), "regfile.data");
	zoo_fill(data, sizeof(data), SEED);
	fd_rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd_rw < 0 || write(fd_rw, data, sizeof(data)) != sizeof(data))
		zoo_setup_failed("write %s: %m", path);
	if (lseek(fd_rw, OFFSET, SEEK_SET) != OFFSET)
		zoo_setup_failed("lseek: %m");
	fd_append = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd_append < 0 || fstat(fd_rw, &st))
		zoo_setup_failed("open %s: %m", path);
	dev = st.st_dev;
	ino = st.st_ino;
}

static void check_fd(int fd, const char *name, int flags, int fd_flags)
{
	struct stat st;

	if (!zoo_expect(fstat(fd, &st) == 0, "fstat(%s fd %d): %m", name, fd))
		return;
	zoo_expect(st.st_dev == dev && st.st_ino == ino, "%s fd %d is on another file", name, fd);
	zoo_expect(st.st_size == FILE_SIZE, "file size is %lld, not %d", (long long)st.st_size,
		   FILE_SIZE);
	zoo_expect((fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND)) == flags,
		   "%s fd %d has flags %#x, not %#x", name, fd, fcntl(fd, F_GETFL), flags);
	zoo_expect(fcntl(fd, F_GETFD) == fd_flags, "%s fd %d has fd flags %#x, not %#x", name, fd,
		   fcntl(fd, F_GETFD), fd_flags);
}

static void check(void)
{
	uint8_t got[READ_SIZE], want[OFFSET + READ_SIZE];
	off_t off = lseek(fd_rw, 0, SEEK_CUR);

	check_fd(fd_rw, "read-write", O_RDWR, 0);
	check_fd(fd_append, "append", O_WRONLY | O_APPEND, FD_CLOEXEC);
	zoo_expect(off == OFFSET, "offset is %lld, not %d", (long long)off, OFFSET);
	zoo_fill(want, sizeof(want), SEED);
	zoo_expect(pread(fd_rw, got, sizeof(got), OFFSET) == READ_SIZE &&
			   memcmp(got, want + OFFSET, READ_SIZE) == 0,
		   "file content at offset %d differs", OFFSET);
}

static void break_offset(void)
{
	lseek(fd_rw, 17, SEEK_CUR);
}

static void break_content(void)
{
	if (pwrite(fd_rw, "?", 1, OFFSET + 9) != 1)
		zoo_die("break: pwrite: %m");
}

static void break_cloexec(void)
{
	fcntl(fd_append, F_SETFD, 0);
}

static void break_other_file(void)
{
	char other[PATH_MAX];
	int fd;

	zoo_path(other, sizeof(other), "regfile.other");
	fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, fd_rw) < 0)
		zoo_die("break: %s: %m", other);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"the offset moved by 17 bytes", break_offset},
	{"a byte of the file changed", break_content},
	{"close-on-exec cleared on the append fd", break_cloexec},
	{"the read-write fd pointed at another file", break_other_file},
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
