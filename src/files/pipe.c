/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pipes: their contents copied without draining them, and pipes made again
 * with their contents (pipe.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "base/macro.h"
#include "compat/syscalls.h"
#include "files/file.h"
#include "files/pipe.h"

void pipe_contents_done(struct pipe_contents *c)
{
	free(c->data);
	*c = (struct pipe_contents){};
}

int pipe_open_reader(int pidfd, pid_t pid, int fd, int accmode, const char *label)
{
	char path[64];
	int rfd, r;

	if (accmode != O_WRONLY) {
		rfd = sys_pidfd_getfd(pidfd, fd, 0);
		if (rfd < 0) {
			r = negative_errno();
			pr_err("%s: cannot take a copy of it with pidfd_getfd: %s", label,
			       strerror(-r));
			return r;
		}
		return rfd;
	}
	/*
	 * Only a write end: /proc/PID/fd/FD opens another description of the
	 * same pipe, a reader of our own. Non-blocking, as a pipe with no
	 * writer left must not make the open wait.
	 */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0) {
		r = negative_errno();
		pr_err("%s: the task holds only its write end, and opening %s to read its data "
		       "failed: %s",
		       label, path, strerror(-r));
		return r;
	}
	return rfd;
}

static int read_exactly(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? negative_errno() : -EIO;
		done += (size_t)n;
	}
	return 0;
}

void pipe_copier_done(struct pipe_copier *cp)
{
	cp->ends[0] = safe_close(cp->ends[0]);
	cp->ends[1] = safe_close(cp->ends[1]);
	cp->size = 0;
}

/* The copier's pipe, non-blocking, with at least size bytes of buffer (as many slots). */
static int copier_ready(struct pipe_copier *cp, int size, const char *label)
{
	int r;

	if (cp->ends[0] < 0) {
		if (pipe2(cp->ends, O_CLOEXEC | O_NONBLOCK) < 0) {
			r = negative_errno();
			cp->ends[0] = cp->ends[1] = -1;
			pr_err("%s: cannot make a pipe to copy it into: %s", label, strerror(-r));
			return r;
		}
		cp->size = fcntl(cp->ends[1], F_GETPIPE_SZ);
	}
	if (cp->size < size) {
		if (fcntl(cp->ends[1], F_SETPIPE_SZ, size) < 0) {
			r = negative_errno();
			pr_err("%s: cannot grow a pipe to %d bytes to copy it into: %s", label,
			       size, strerror(-r));
			return r;
		}
		cp->size = size;
	}
	return 0;
}

int pipe_peek(struct pipe_copier *cp, int rfd, const char *label, struct pipe_contents *ret)
{
	_cleanup_free_ uint8_t *data = NULL;
	int size, queued = 0, r;
	ssize_t n;

	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0 || ioctl(rfd, FIONREAD, &queued) < 0) {
		r = negative_errno();
		pr_err("%s: cannot read its size or how much it holds: %s", label, strerror(-r));
		return r;
	}
	if (queued == 0) {
		*ret = (struct pipe_contents){.size = (uint32_t)size};
		return 0;
	}
	/* tee() links the pipe's buffers into ours, one slot each: ours is as big. */
	r = copier_ready(cp, size, label);
	if (r < 0)
		return r;
	n = tee(rfd, cp->ends[1], (size_t)queued, SPLICE_F_NONBLOCK);
	if (n != queued) {
		r = n < 0 ? negative_errno() : -EIO;
		/* What was copied stays in the copier: a new one next time. */
		pipe_copier_done(cp);
		if (n < 0)
			pr_err("%s: tee() of its %d bytes failed: %s", label, queued, strerror(-r));
		else
			pr_err("%s: tee() copied %zd of the %d bytes it holds", label, n, queued);
		return r;
	}
	data = malloc((size_t)queued);
	r = data ? read_exactly(cp->ends[0], data, (size_t)queued) : -ENOMEM;
	if (r < 0) {
		pipe_copier_done(cp);
		if (r == -ENOMEM)
			return r;
		pr_err("%s: reading the copy of its data failed: %s", label, strerror(-r));
		return r;
	}
	*ret = (struct pipe_contents){TAKE_PTR(data), (size_t)queued, (uint32_t)size};
	return 0;
}

/* fs.pipe-max-size, for the message of a pipe that cannot grow; -1 if unknown. */
static long pipe_max_size(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	long v = -1;

	if (!f || fscanf(f, "%ld", &v) != 1)
		return -1;
	return v;
}

static int set_size(int fd, uint32_t size, const char *label)
{
	int r;

	if (fcntl(fd, F_SETPIPE_SZ, (int)size) >= 0)
		return 0;
	r = negative_errno();
	if (r == -EPERM)
		pr_err("%s: cannot grow it to %u bytes: fs.pipe-max-size is %ld, and only "
		       "CAP_SYS_RESOURCE may go above it; raise it (sysctl fs.pipe-max-size=%u)",
		       label, size, pipe_max_size(), size);
	else
		pr_err("%s: cannot set its size to %u bytes: %s", label, size, strerror(-r));
	return r;
}

static int fill(int wfd, const uint8_t *data, size_t len, const char *label)
{
	size_t done = 0;
	int r;

	while (done < len) {
		ssize_t n = write(wfd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = negative_errno();
			if (r == -EAGAIN)
				pr_err("%s: its %zu bytes of data do not fit in a pipe of %d bytes",
				       label, len, fcntl(wfd, F_GETPIPE_SZ));
			else
				pr_err("%s: writing its data failed: %s", label, strerror(-r));
			return r == -EAGAIN ? -ENOSPC : r;
		}
		done += (size_t)n;
	}
	return 0;
}

int pipe_fill(int wfd, uint32_t size, const void *data, size_t len, const char *label)
{
	int r = size ? set_size(wfd, size, label) : 0;

	return r < 0 ? r : fill(wfd, data, len, label);
}

int pipe_make(uint32_t size, const void *data, size_t len, const char *label, int ret_ends[2])
{
	_cleanup_close_ int rd = -1, wr = -1;
	int ends[2], r;

	/* Non-blocking while it is filled: data that does not fit is an error, not a hang. */
	if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = negative_errno();
		pr_err("%s: cannot create it: %s", label, strerror(-r));
		return r;
	}
	rd = ends[0];
	wr = ends[1];
	r = pipe_fill(wr, size, data, len, label);
	if (r < 0)
		return r;
	if (fcntl(rd, F_SETFL, 0) < 0 || fcntl(wr, F_SETFL, 0) < 0) {
		r = negative_errno();
		pr_err("%s: cannot make it blocking: %s", label, strerror(-r));
		return r;
	}
	ret_ends[0] = TAKE_FD(rd);
	ret_ends[1] = TAKE_FD(wr);
	return 0;
}

int pipe_reopen(int end, uint32_t flags, const char *label)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", end);
	fd = open(path, (int)(flags & O_ACCMODE) | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_err("%s: cannot open another description of it (%s): %s", label, path,
		       strerror(-r));
		return r;
	}
	r = file_set_flags(fd, flags, label);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}
