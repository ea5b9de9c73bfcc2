/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /proc/PID/fd (the open fds and their link targets) and
 * /proc/PID/fdinfo/FD: the common "pos flags mnt_id ino" head parsed, the
 * kind-specific lines (eventfd-count, tfd, sigmask, inotify wd, lock ...)
 * handed out as key/value pairs for the files layer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "base/proc-internal.h"
#include "base/proc.h"

/* ---- fdinfo ---- */

enum { HEAD_POS = 1, HEAD_FLAGS = 2, HEAD_MNT_ID = 4, HEAD_INO = 8, HEAD_ALL = 15 };

/* The common lines; 0 if key is not one of them, -EINVAL if its value is bad. */
static int parse_head_line(const char *key, const char *v, struct proc_fdinfo *fi)
{
	int r, bit;

	if (streq(key, "pos")) {
		r = proc_scan_s64(&v, &fi->pos);
		bit = HEAD_POS;
	} else if (streq(key, "flags")) {
		r = proc_scan_u32(&v, 8, &fi->flags);
		bit = HEAD_FLAGS;
	} else if (streq(key, "mnt_id")) {
		r = proc_scan_s32(&v, &fi->mnt_id);
		bit = HEAD_MNT_ID;
	} else if (streq(key, "ino")) {
		r = proc_scan_u64(&v, 10, &fi->ino);
		bit = HEAD_INO;
	} else {
		return 0;
	}
	if (r < 0 || *proc_skip_blanks(v))
		return -EINVAL;
	return bit;
}

static const char *const head_names[] = {"pos", "flags", "mnt_id", "ino"};

/* Cut the line at [line, end) into key and value, in place. */
static struct proc_kv split_line(char *line, char *end)
{
	char *colon = memchr(line, ':', (size_t)(end - line));
	struct proc_kv kv;
	char *k_end;

	*end = '\0';
	if (!colon)
		return (struct proc_kv){.key = line, .value = end};
	k_end = colon;
	while (k_end > line && (k_end[-1] == ' ' || k_end[-1] == '\t'))
		k_end--;
	*k_end = '\0';
	kv.key = line;
	kv.value = proc_skip_blanks(colon + 1);
	return kv;
}

int proc_parse_fdinfo(char *text, const char *what, struct proc_fdinfo *ret)
{
	struct proc_fdinfo fi = {0};
	size_t n_lines = 0, cap;
	unsigned int lineno = 1, seen = 0;

	for (const char *p = text; *p; p++)
		n_lines += *p == '\n';
	cap = n_lines + 1;
	fi.extra = malloc(cap * sizeof(*fi.extra));
	if (!fi.extra)
		return -ENOMEM;
	for (char *line = text; *line; lineno++) {
		char *end = (char *)proc_line_end(line);
		char *next = *end ? end + 1 : end;
		struct proc_kv kv = split_line(line, end);
		int bit = parse_head_line(kv.key, kv.value, &fi);

		if (bit < 0) {
			pr_err("%s: line %u: cannot parse %s", what, lineno, kv.key);
			free(fi.extra);
			return -EINVAL;
		}
		if (bit == 0 && *kv.key)
			fi.extra[fi.n_extra++] = kv;
		seen |= (unsigned int)bit;
		line = next;
	}
	if (seen != HEAD_ALL) {
		pr_err("%s: no %s line in %u lines", what,
		       head_names[__builtin_ctz(~seen & HEAD_ALL)], lineno - 1);
		free(fi.extra);
		return -EINVAL;
	}
	*ret = fi;
	return 0;
}

static int fdinfo_from(int dirfd, pid_t pid, int fd, struct proc_fdinfo *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[PROC_PATH_MAX], name[32];
	size_t len;
	int r;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	proc_path(path, pid, 0, name);
	if (dirfd >= 0)
		r = proc_read_file_at(dirfd, name + strlen("fdinfo/"), path, &buf, &len);
	else
		r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	r = proc_parse_fdinfo(buf, path, ret);
	if (r < 0)
		return r;
	ret->buf = TAKE_PTR(buf);
	return 0;
}

int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	return fdinfo_from(-1, pid, fd, ret);
}

int proc_read_fdinfo_at(int dirfd, pid_t pid, int fd, struct proc_fdinfo *ret)
{
	return fdinfo_from(dirfd, pid, fd, ret);
}

void proc_fdinfo_free(struct proc_fdinfo *fi)
{
	free(fi->extra);
	free(fi->buf);
	*fi = (struct proc_fdinfo){0};
}

const char *proc_fdinfo_get(const struct proc_fdinfo *fi, const char *key)
{
	for (size_t i = 0; i < fi->n_extra; i++)
		if (streq(fi->extra[i].key, key))
			return fi->extra[i].value;
	return NULL;
}

int proc_fdinfo_field(const char *value, const char *name, unsigned int base, uint64_t *ret)
{
	size_t len = strlen(name);

	for (const char *p = value; (p = strstr(p, name)); p += len) {
		const char *v = p + len;
		uint64_t x;

		if ((p != value && p[-1] != ' ' && p[-1] != '\t') || *v != ':')
			continue;
		v = proc_skip_blanks(v + 1);
		if (proc_scan_u64(&v, base, &x) < 0)
			return -EINVAL;
		*ret = x;
		return 0;
	}
	return -ENOENT;
}

/* ---- the fd table ---- */

struct fd_build {
	struct proc_fd *fds;
	size_t n, cap;
	char *strings;
	size_t len, size;
};

/* Record fd and its target; targets are laid end to end in the pool, in fd order. */
static int fd_build_add(struct fd_build *b, int fd, const char *target, size_t tlen)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		struct proc_fd *fds = realloc(b->fds, cap * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		b->fds = fds;
		b->cap = cap;
	}
	if (b->size - b->len < tlen + 1) {
		size_t size = MAX(b->size * 2, b->len + tlen + 1 + 4096);
		char *s = realloc(b->strings, size);

		if (!s)
			return -ENOMEM;
		b->strings = s;
		b->size = size;
	}
	memcpy(b->strings + b->len, target, tlen);
	b->strings[b->len + tlen] = '\0';
	/* the target pointer is set once the pool stops moving */
	b->fds[b->n++] = (struct proc_fd){.fd = fd};
	b->len += tlen + 1;
	return 0;
}

/* readlink of fd/NAME below dirfd; 0 and *ret_len, or -errno. */
static int read_fd_link(int dirfd, const char *name, char *buf, size_t size, size_t *ret_len)
{
	ssize_t n = readlinkat(dirfd, name, buf, size);

	if (n < 0)
		return negative_errno();
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	*ret_len = (size_t)n;
	return 0;
}

static int collect_fds(int dirfd, const char *path, struct fd_build *b)
{
	char dents[8192] __attribute__((aligned(8)));
	char target[PATH_MAX + 32];
	long n;

	while ((n = syscall(SYS_getdents64, dirfd, dents, sizeof(dents))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			const char *p = d->d_name;
			size_t tlen;
			int32_t fd;
			int r;

			off += d->d_reclen;
			if (proc_scan_s32(&p, &fd) < 0 || *p != '\0')
				continue; /* "." and ".." */
			r = read_fd_link(dirfd, d->d_name, target, sizeof(target), &tlen);
			if (r == -ENOENT) {
				pr_debug("%s/%d: closed while listing", path, fd);
				continue;
			}
			if (r < 0) {
				errno = -r;
				pr_perror("%s/%d: cannot read the link", path, fd);
				return r;
			}
			r = fd_build_add(b, fd, target, tlen);
			if (r < 0)
				return r;
		}
	}
	return n < 0 ? proc_io_error(path, "list") : 0;
}

static int cmp_fd(const void *a, const void *b)
{
	const struct proc_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

int proc_read_fds(pid_t pid, struct proc_fd_table *ret)
{
	struct fd_build b = {0};
	char path[PROC_PATH_MAX];
	_cleanup_close_ int dirfd = -1;
	int r;

	proc_path(path, pid, 0, "fd");
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return proc_io_error(path, "open");
	r = collect_fds(dirfd, path, &b);
	if (r < 0) {
		free(b.fds);
		free(b.strings);
		return r;
	}
	for (size_t i = 0, off = 0; i < b.n; i++) {
		b.fds[i].target = b.strings + off;
		off += strlen(b.fds[i].target) + 1;
	}
	/* /proc lists fds in order today; sorting makes it a promise. */
	qsort(b.fds, b.n, sizeof(*b.fds), cmp_fd);
	*ret = (struct proc_fd_table){.n = b.n, .fds = b.fds, .strings = b.strings};
	return 0;
}

void proc_fd_table_free(struct proc_fd_table *t)
{
	free(t->fds);
	free(t->strings);
	*t = (struct proc_fd_table){0};
}
