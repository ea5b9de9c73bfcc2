/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading /proc files whole. seq_file hands out at most one buffer (a page
 * or more) per read, so the readers loop until EOF; for the single-record
 * files (stat, status, limits ...) that is one read and an empty one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

void proc_path(char path[PROC_PATH_MAX], pid_t pid, pid_t tid, const char *name)
{
	if (tid > 0)
		snprintf(path, PROC_PATH_MAX, "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	else
		snprintf(path, PROC_PATH_MAX, "/proc/%d/%s", (int)pid, name);
}

int proc_io_error(const char *path, const char *op)
{
	int r = negative_errno();

	/* A task that exited (ENOENT on open, ESRCH on read of a dead mm) is for the caller to
	 * judge. */
	if (r == -ENOENT || r == -ESRCH)
		pr_debug("%s: cannot %s: %m", path, op);
	else
		pr_perror("%s: cannot %s", path, op);
	return r;
}

static int open_proc(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	return fd < 0 ? proc_io_error(path, "open") : fd;
}

/* read() retried on EINTR; 0 at EOF. */
static ssize_t read_some(int fd, const char *path, char *buf, size_t size)
{
	ssize_t n;

	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	return n < 0 ? proc_io_error(path, "read") : n;
}

int proc_read_file_into(const char *path, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;
	char probe;

	if (size == 0)
		return -EINVAL;
	fd = open_proc(path);
	if (fd < 0)
		return fd;
	while (len < size - 1) {
		n = read_some(fd, path, buf + len, size - 1 - len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == size - 1) {
		/* full: it fits only if the file ends here */
		n = read_some(fd, path, &probe, 1);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			pr_err("%s: longer than the %zu bytes expected", path, size - 1);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*ret_len = len;
	return 0;
}

/* The whole of the open file fd; path names it in messages. */
static int read_whole(int fd, const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 4096;
	ssize_t n;

	if (fd < 0)
		return fd;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 2) {
			char *nbuf = realloc(buf, cap * 2);

			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap *= 2;
		}
		n = read_some(fd, path, buf + len, cap - 1 - len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

int proc_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open_proc(path);

	return read_whole(fd, path, ret_buf, ret_len);
}

int proc_read_file_at(int dirfd, const char *name, const char *path, char **ret_buf,
		      size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return proc_io_error(path, "open");
	return read_whole(fd, path, ret_buf, ret_len);
}
