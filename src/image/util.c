/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small file helpers of the image library. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/macro.h"
#include "image/internal.h"

char *path_join_label(const char *dir, const char *name)
{
	char *p;

	if (!dir || streq(dir, "."))
		return strdup(name);
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int read_all_fd(int fd, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	/* One byte more than the size, so that a regular file ends in one read(). */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			uint8_t *nb;

			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		if (!buf) {
			buf = malloc(cap);
			if (!buf)
				return -ENOMEM;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += n;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += n;
		len -= n;
	}
	return 0;
}

int tmpfile_create(int dirfd, const char *name, char **ret_tmp_name)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		_cleanup_free_ char *tmp = NULL;
		uint32_t rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid() * 2654435761u + attempt;
		if (asprintf(&tmp, ".%s.%08x.tmp", name, rnd) < 0)
			return -ENOMEM;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			*ret_tmp_name = TAKE_PTR(tmp);
			return fd;
		}
		if (errno != EEXIST)
			return negative_errno();
	}
	return -EEXIST;
}
