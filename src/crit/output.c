/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/macro.h"
#include "crit/output.h"

static bool is_stdout(const char *path)
{
	return !path || streq(path, "-");
}

bool crit_out_is_replaceable(const char *path)
{
	struct stat st;

	if (is_stdout(path))
		return false;
	if (lstat(path, &st) < 0)
		return errno == ENOENT;
	return S_ISREG(st.st_mode);
}

int crit_out_open(const char *path, struct crit_out *ret_out)
{
	_cleanup_free_ char *tmp = NULL;
	mode_t mask;
	int fd, r;

	if (is_stdout(path)) {
		*ret_out = (struct crit_out){.fd = STDOUT_FILENO};
		return 0;
	}
	if (!crit_out_is_replaceable(path)) {
		fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (fd < 0) {
			r = negative_errno();
			pr_perror("cannot open %s", path);
			return r;
		}
		*ret_out = (struct crit_out){.fd = fd, .path = path};
		return 0;
	}
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		pr_perror("cannot create %s", tmp);
		return r;
	}
	/* mkostemp makes it 0600; give it the mode open(path, "w") would */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	*ret_out = (struct crit_out){.fd = fd, .path = path, .tmp_path = TAKE_PTR(tmp)};
	return 0;
}

int crit_out_write(struct crit_out *o, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(o->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? negative_errno() : -EIO;

			errno = -r;
			pr_perror("cannot write %s", o->path ? o->path : "<stdout>");
			return r;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int crit_out_commit(struct crit_out *o)
{
	int r = 0;

	if (!o->path)
		return 0;
	if (close(o->fd) < 0) {
		r = negative_errno();
		pr_perror("cannot write %s", o->path);
	}
	o->fd = -1;
	if (r == 0 && o->tmp_path && rename(o->tmp_path, o->path) < 0) {
		r = negative_errno();
		pr_perror("cannot rename %s to %s", o->tmp_path, o->path);
	}
	if (r < 0) {
		crit_out_abort(o);
		return r;
	}
	free(o->tmp_path);
	o->tmp_path = NULL;
	return 0;
}

void crit_out_abort(struct crit_out *o)
{
	if (o->path && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp_path) {
		unlink(o->tmp_path);
		free(o->tmp_path);
		o->tmp_path = NULL;
	}
}
