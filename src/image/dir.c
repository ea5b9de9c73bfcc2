/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A directory of images, and the parent chain of incremental dumps. */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/macro.h"
#include "image/internal.h"

struct img_dir {
	int fd;
	char *path;
	unsigned depth; /* 0 for the directory opened by the caller */
	struct img_dir *parent;
	int parent_err; /* 0: not looked up yet or found */
};

static int dir_new(int fd, const char *path, unsigned depth, struct img_dir **ret)
{
	struct img_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->path = strdup(path);
	if (!d->path) {
		free(d);
		return -ENOMEM;
	}
	d->fd = fd;
	d->depth = depth;
	*ret = d;
	return 0;
}

int img_dir_open(const char *path, struct img_dir **ret_dir)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = negative_errno();
		pr_perror("cannot open the image directory %s", path);
		return r;
	}
	r = dir_new(fd, path, 0, ret_dir);
	if (r < 0)
		return r;
	TAKE_FD(fd);
	return 0;
}

int img_dir_open_fd(int dirfd, const char *path, struct img_dir **ret_dir)
{
	return dir_new(dirfd, path, 0, ret_dir);
}

void img_dir_free(struct img_dir *dir)
{
	if (!dir)
		return;
	img_dir_free(dir->parent);
	safe_close(dir->fd);
	free(dir->path);
	free(dir);
}

int img_dir_fd(const struct img_dir *dir)
{
	return dir->fd;
}

const char *img_dir_path(const struct img_dir *dir)
{
	return dir->path;
}

int img_dir_parent(struct img_dir *dir, struct img_dir **ret_parent)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (dir->parent) {
		*ret_parent = dir->parent;
		return 0;
	}
	if (dir->parent_err)
		return dir->parent_err;
	if (dir->depth >= IMG_MAX_PARENT_DEPTH) {
		pr_err("%s: more than %d parent image sets: a \"parent\" link loop?", dir->path,
		       IMG_MAX_PARENT_DEPTH);
		return dir->parent_err = -ELOOP;
	}
	path = path_join_label(dir->path, "parent");
	if (!path)
		return -ENOMEM;
	fd = openat(dir->fd, "parent", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		if (r != -ENOENT)
			pr_perror("cannot open the parent image set %s", path);
		return dir->parent_err = r;
	}
	r = dir_new(fd, path, dir->depth + 1, &dir->parent);
	if (r < 0)
		return r;
	TAKE_FD(fd);
	*ret_parent = dir->parent;
	return 0;
}
