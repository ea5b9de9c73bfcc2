/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files deleted while open (ghost files):
 *
 *   ghost.data   10000 pattern bytes, mode 0640, then unlinked: a read-write
 *                fd at OFFSET and its dup, a read-only fd of its own
 *                description at RO_OFFSET, an append-only close-on-exec fd
 *   ghost.taken  3000 pattern bytes, unlinked, and a new file made at its
 *                path: the restore must not touch the new one
 *
 * After the restore each fd must be on a deleted file (no link, its
 * /proc/self/fd link ending in " (deleted)") with the content, mode, mtime,
 * offsets and flags it had, the dup on the same description (kcmp), and the
 * new file at the taken path as it was. (fd-ghost-fork: a description two
 * processes share; the dump suite checks this one as a single process.)
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zoo.h"

#define SIZE 10000
#define OFFSET 4321
#define RO_OFFSET 100
#define SEED 61
#define TAKEN_SIZE 3000
#define TAKEN_OFFSET 5
#define TAKEN_SEED 62
#define NEW_CONTENT "the new file at the path"

static int fd_rw, fd_dup, fd_ro, fd_append, fd_taken;
static char path[PATH_MAX], taken[PATH_MAX];
static struct timespec mtime;

static int open_filled(const char *name, size_t size, uint64_t seed, mode_t mode)
{
	static uint8_t data[SIZE];
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, mode);

	zoo_fill(data, size, seed);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || fchmod(fd, mode) < 0)
		zoo_setup_failed("write %s: %m", name);
	return fd;
}

static void setup(void)
{
	struct stat st;
	int fd;

	zoo_path(path, sizeof(path), "ghost.data");
	zoo_path(taken, sizeof(taken), "ghost.taken");
	fd_rw = open_filled(path, SIZE, SEED, 0640);
	fd_ro = open(path, O_RDONLY);
	fd_append = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	fd_dup = dup(fd_rw);
	if (fd_ro < 0 || fd_append < 0 || fd_dup < 0 || lseek(fd_rw, OFFSET, SEEK_SET) != OFFSET ||
	    lseek(fd_ro, RO_OFFSET, SEEK_SET) != RO_OFFSET || fstat(fd_rw, &st) < 0)
		zoo_setup_failed("open %s: %m", path);
	mtime = st.st_mtim;
	fd_taken = open_filled(taken, TAKEN_SIZE, TAKEN_SEED, 0600);
	if (lseek(fd_taken, TAKEN_OFFSET, SEEK_SET) != TAKEN_OFFSET || unlink(path) < 0 ||
	    unlink(taken) < 0)
		zoo_setup_failed("unlink: %m");
	fd = open(taken, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, NEW_CONTENT, strlen(NEW_CONTENT)) != (ssize_t)strlen(NEW_CONTENT))
		zoo_setup_failed("new %s: %m", taken);
	close(fd);
}

static bool same_description(int fd, int other)
{
	return syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, fd, other) == 0;
}

/* fd is on a deleted file named name, with its flags and fd flags, at offset off. */
static void check_fd(int fd, const char *name, int flags, int fd_flags, off_t off)
{
	char link[64], target[PATH_MAX + 16], want[PATH_MAX + 16];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	snprintf(want, sizeof(want), "%s (deleted)", name);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	zoo_expect(n > 0 && strstr(target, " (deleted)") &&
			   (streq(target, want) || strncmp(target, name, strlen(name)) == 0),
		   "fd %d links to '%s', not '%s'", fd, target, want);
	zoo_expect((fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND)) == flags,
		   "fd %d has flags %#x, not %#x", fd, fcntl(fd, F_GETFL), flags);
	zoo_expect(fcntl(fd, F_GETFD) == fd_flags, "fd %d has fd flags %#x, not %#x", fd,
		   fcntl(fd, F_GETFD), fd_flags);
	zoo_expect(lseek(fd, 0, SEEK_CUR) == off, "fd %d is at offset %lld, not %lld", fd,
		   (long long)lseek(fd, 0, SEEK_CUR), (long long)off);
}

static void check_content(int fd, size_t size, uint64_t seed, const char *name)
{
	static uint8_t got[SIZE], want[SIZE];

	zoo_fill(want, size, seed);
	zoo_expect(pread(fd, got, sizeof(got), 0) == (ssize_t)size && !memcmp(got, want, size),
		   "the content of the deleted %s differs", name);
}

static void check_inode(void)
{
	struct stat st, other;

	if (!zoo_expect(fstat(fd_rw, &st) == 0, "fstat: %m"))
		return;
	zoo_expect(S_ISREG(st.st_mode) && st.st_nlink == 0, "%s is linked again (%lu links)", path,
		   (unsigned long)st.st_nlink);
	zoo_expect((st.st_mode & 07777) == 0640, "%s has mode %o, not 640", path,
		   st.st_mode & 07777);
	zoo_expect(st.st_mtim.tv_sec == mtime.tv_sec &&
			   st.st_mtim.tv_nsec / 1000 == mtime.tv_nsec / 1000,
		   "%s has mtime %lld.%09ld, not %lld.%09ld", path, (long long)st.st_mtim.tv_sec,
		   st.st_mtim.tv_nsec, (long long)mtime.tv_sec, mtime.tv_nsec);
	for (int i = 0, fds[] = {fd_ro, fd_append}; i < 2; i++)
		zoo_expect(fstat(fds[i], &other) == 0 && other.st_ino == st.st_ino &&
				   other.st_dev == st.st_dev,
			   "fd %d is on another file than fd %d", fds[i], fd_rw);
}

static void check(void)
{
	char buf[64] = "";
	int fd;

	check_fd(fd_rw, path, O_RDWR, 0, OFFSET);
	check_fd(fd_dup, path, O_RDWR, 0, OFFSET);
	check_fd(fd_ro, path, O_RDONLY, 0, RO_OFFSET);
	check_fd(fd_append, path, O_WRONLY | O_APPEND, FD_CLOEXEC, 0);
	check_fd(fd_taken, taken, O_RDWR, 0, TAKEN_OFFSET);
	check_inode();
	check_content(fd_rw, SIZE, SEED, path);
	check_content(fd_taken, TAKEN_SIZE, TAKEN_SEED, taken);
	zoo_expect(same_description(fd_rw, fd_dup), "the dup is another description");
	zoo_expect(!same_description(fd_rw, fd_ro), "the read-only fd shares the dup's");
	fd = open(taken, O_RDONLY);
	zoo_expect(fd >= 0 && read(fd, buf, sizeof(buf) - 1) >= 0 && streq(buf, NEW_CONTENT),
		   "the new file at %s holds '%s'", taken, buf);
	if (fd >= 0)
		close(fd);
}

static void break_offset(void)
{
	lseek(fd_rw, 17, SEEK_CUR);
}

static void break_content(void)
{
	if (pwrite(fd_rw, "?", 1, 9) != 1)
		zoo_die("break: pwrite: %m");
}

static void break_mode(void)
{
	fchmod(fd_rw, 0600);
}

static void break_cloexec(void)
{
	fcntl(fd_append, F_SETFD, 0);
}

/* fd replaced by a new description of the same file at the same offset. */
static void reopen(int fd)
{
	char link[64];
	int n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = open(link, fcntl(fd, F_GETFL) & O_ACCMODE);
	if (n < 0 || lseek(n, lseek(fd, 0, SEEK_CUR), SEEK_SET) < 0 || dup2(n, fd) < 0)
		zoo_die("break: reopen fd %d: %m", fd);
	close(n);
}

static void break_dup(void)
{
	reopen(fd_dup);
}

static void break_new_file(void)
{
	int fd = open(taken, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, "x", 1) != 1)
		zoo_die("break: %s: %m", taken);
	close(fd);
}

static const struct zoo_break breaks[] = {
	{"the offset moved by 17 bytes", break_offset},
	{"a byte of the deleted file changed", break_content},
	{"the deleted file's mode changed to 600", break_mode},
	{"close-on-exec cleared on the append fd", break_cloexec},
	{"the dup made a description of its own", break_dup},
	{"the new file at the taken path rewritten", break_new_file},
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
