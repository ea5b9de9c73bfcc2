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
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
		/* Most fds have none: no array for them (a table keeps thousands). */
		if (bit == 0 && *kv.key && !fi.extra &&
		    !(fi.extra = malloc(cap * sizeof(*fi.extra))))
			return -ENOMEM;
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

/*
 * The text of fdinfo/NAME below dirfd. fdinfo is one seq_file record: a read
 * with room for all of it returns all of it, so a short read is its end and
 * the usual second read that returns 0 is saved (one read() per fd, not two).
 * It is read on the stack and kept in a buffer of its size: a table of
 * thousands of fds keeps every fdinfo, and every fresh page costs (the
 * kernel clears it, and here the hypervisor backs it on first touch).
 */
static int read_fdinfo_text(int dirfd, const char *name, const char *path, char **ret_buf)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	char first[1024];
	size_t len, cap;
	ssize_t n;

	if (fd < 0)
		return proc_io_error(path, "open");
	do
		n = read(fd, first, sizeof(first) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return proc_io_error(path, "read");
	len = (size_t)n;
	/* Longer than the first read (an epoll of many watches, many locks): the rest after. */
	cap = len < sizeof(first) - 1 ? len + 1 : 2 * sizeof(first);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, first, len);
	while (len >= sizeof(first) - 1) {
		size_t want;

		if (cap - len < 2) {
			char *nbuf = realloc(buf, cap *= 2);

			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
		}
		want = cap - 1 - len;
		n = read(fd, buf + len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return proc_io_error(path, "read");
		len += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

static int fdinfo_from(int dirfd, pid_t pid, int fd, struct proc_fdinfo *ret)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int own_dir = -1;
	char path[PROC_PATH_MAX], name[16];
	int r;

	snprintf(name, sizeof(name), "%d", fd);
	if (dirfd < 0) {
		proc_path(path, pid, 0, "fdinfo");
		own_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (own_dir < 0)
			return proc_io_error(path, "open");
		dirfd = own_dir;
	}
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	r = read_fdinfo_text(dirfd, name, path, &buf);
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

int proc_dents_next(struct proc_dents *it, int32_t *ret)
{
	for (;;) {
		while (it->off < it->len) {
			struct dirent64 *d = (struct dirent64 *)(it->buf + it->off);
			const char *p = d->d_name;
			int32_t x;

			it->off += d->d_reclen;
			if (proc_scan_s32(&p, &x) == 0 && *p == '\0') {
				*ret = x;
				return 1;
			}
			/* "." and ".." */
		}
		it->len = syscall(SYS_getdents64, it->fd, it->buf, sizeof(it->buf));
		it->off = 0;
		if (it->len <= 0)
			return it->len < 0 ? negative_errno() : 0;
	}
}

int proc_list_numeric(int dirfd, const char *path, int32_t **ret, size_t *ret_n)
{
	struct proc_dents it = {.fd = dirfd};
	_cleanup_free_ int32_t *v = NULL;
	size_t n = 0, cap = 0;
	int32_t x;
	int r;

	while ((r = proc_dents_next(&it, &x)) > 0) {
		if (n == cap) {
			int32_t *nv = reallocarray(v, cap = cap ? cap * 2 : 64, sizeof(*v));

			if (!nv)
				return -ENOMEM;
			v = nv;
		}
		v[n++] = x;
	}
	if (r < 0) {
		errno = -r;
		return proc_io_error(path, "list");
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/*
 * A filesystem of the kernel's own, whose files have no path: pipefs (a
 * FIFO's inode is on the filesystem of its path), sockfs. Every pipe and
 * socket has its mode and device, and fdinfo's mnt_id names it.
 */
struct pseudo_fs {
	dev_t dev;
	mode_t mode;
	int32_t mnt_id; /* -1 unless learnt (with fdinfo only) */
};

/* What a file of ours, fd, shows of its filesystem. */
static int learn_fs(int fd, bool mnt_id, struct pseudo_fs *ret)
{
	struct proc_fdinfo fi = {};
	struct stat st;
	int r = 0;

	if (fstat(fd, &st) < 0)
		r = negative_errno();
	if (r == 0 && mnt_id)
		r = fdinfo_from(-1, getpid(), fd, &fi);
	if (r == 0)
		*ret = (struct pseudo_fs){st.st_dev, st.st_mode, mnt_id ? fi.mnt_id : -1};
	proc_fdinfo_free(&fi);
	close(fd);
	return r;
}

/* What every part of one walk over a process's fds reads. */
struct fd_walk {
	pid_t pid;
	int fd_dir, fdinfo_dir; /* /proc/PID/fd, /proc/PID/fdinfo (-1: no fdinfo wanted) */
	struct pseudo_fs pipefs, sockfs;
	/* The directory listed: fdinfo's when it is read (its dentries are the ones used then) */
	char list_path[PROC_PATH_MAX];
};

/* pipefs and sockfs, from a pipe and a socket of our own. */
static int learn_pseudo_fs(struct fd_walk *w)
{
	bool mnt_id = w->fdinfo_dir >= 0;
	int p[2], sk, r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	close(p[1]);
	r = learn_fs(p[0], mnt_id, &w->pipefs);
	if (r < 0)
		return r;
	sk = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return sk < 0 ? negative_errno() : learn_fs(sk, mnt_id, &w->sockfs);
}

/*
 * The fds numbered from lo up to (not including) hi, listed and walked by
 * one thread, with a pool of its own for the targets.
 */
struct fd_slice {
	const struct fd_walk *w;
	int lo, hi;
	struct proc_fd *fds; /* the fds open, fds[0..n), in the order listed */
	size_t *offs;        /* fds[i].target's offset in strings until the slices are joined */
	size_t n, cap;
	char *strings;
	size_t len, size;
	bool unordered; /* listed out of order (/proc lists them in order today) */
	int r;
};

static int pool_add(struct fd_slice *sl, const char *s, size_t slen, size_t *ret_off)
{
	if (sl->size - sl->len < slen + 1) {
		size_t size = MAX(sl->size * 2, sl->len + slen + 1 + 4096);
		char *n = realloc(sl->strings, size);

		if (!n)
			return -ENOMEM;
		sl->strings = n;
		sl->size = size;
	}
	memcpy(sl->strings + sl->len, s, slen);
	sl->strings[sl->len + slen] = '\0';
	*ret_off = sl->len;
	sl->len += slen + 1;
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

/*
 * The link text of pfd, into the pool. A pipe's and a socket's are made
 * from the inode number ("pipe:[INO]", "socket:[INO]", as the kernel names
 * them): no readlink for them, the most numerous fds of a busy process.
 */
static int fd_target(struct fd_slice *sl, const struct proc_fd *pfd, const char *name,
		     size_t *ret_off)
{
	char target[PATH_MAX + 32];
	size_t tlen;
	int r = 0;

	if (S_ISSOCK(pfd->st.st_mode))
		tlen = (size_t)snprintf(target, sizeof(target), "socket:[%lu]",
					(unsigned long)pfd->st.st_ino);
	else if (S_ISFIFO(pfd->st.st_mode) && pfd->st.st_dev == sl->w->pipefs.dev)
		tlen = (size_t)snprintf(target, sizeof(target), "pipe:[%lu]",
					(unsigned long)pfd->st.st_ino);
	else
		r = read_fd_link(sl->w->fd_dir, name, target, sizeof(target), &tlen);
	return r < 0 ? r : pool_add(sl, target, tlen, ret_off);
}

/*
 * A pipe or a socket, known by fdinfo's mnt_id: its stat is made from its
 * filesystem and fdinfo's inode (every other field is left 0), and /proc/PID/fd/N
 * is not touched at all (most fds of a busy process, one stat() less each).
 */
static bool on_pseudo_fs(struct fd_slice *sl, struct proc_fd *pfd, size_t *ret_off, int *ret_r)
{
	const struct pseudo_fs *fs = pfd->fi.mnt_id == sl->w->pipefs.mnt_id   ? &sl->w->pipefs
				     : pfd->fi.mnt_id == sl->w->sockfs.mnt_id ? &sl->w->sockfs
									      : NULL;
	char target[48];
	size_t tlen;

	if (!fs || pfd->fi.mnt_id < 0)
		return false;
	pfd->st = (struct stat){.st_dev = fs->dev, .st_ino = pfd->fi.ino, .st_mode = fs->mode};
	tlen = (size_t)snprintf(target, sizeof(target), "%s:[%" PRIu64 "]",
				fs == &sl->w->pipefs ? "pipe" : "socket", pfd->fi.ino);
	*ret_r = pool_add(sl, target, tlen, ret_off);
	return true;
}

/* pfd->fd's stat, target (its offset in the pool) and fdinfo; -ENOENT if it was closed. */
static int walk_one(struct fd_slice *sl, struct proc_fd *pfd, size_t *ret_off)
{
	char name[16];
	int r = 0;

	if (sl->w->fdinfo_dir >= 0) {
		r = fdinfo_from(sl->w->fdinfo_dir, sl->w->pid, pfd->fd, &pfd->fi);
		if (r < 0 || on_pseudo_fs(sl, pfd, ret_off, &r))
			return r;
	}
	snprintf(name, sizeof(name), "%d", pfd->fd);
	if (fstatat(sl->w->fd_dir, name, &pfd->st, 0) < 0)
		return negative_errno();
	return fd_target(sl, pfd, name, ret_off);
}

static int slice_grow(struct fd_slice *sl)
{
	size_t cap = sl->cap ? sl->cap * 2 : 256;
	struct proc_fd *fds = reallocarray(sl->fds, cap, sizeof(*fds));
	size_t *offs;

	if (!fds)
		return -ENOMEM;
	sl->fds = fds;
	offs = reallocarray(sl->offs, cap, sizeof(*offs));
	if (!offs)
		return -ENOMEM;
	sl->offs = offs;
	sl->cap = cap;
	return 0;
}

/* fd, listed: walked into the slice; left out if it was closed meanwhile. */
static int slice_add(struct fd_slice *sl, int fd)
{
	struct proc_fd *pfd;
	int r;

	if (sl->n == sl->cap && (r = slice_grow(sl)) < 0)
		return r;
	pfd = &sl->fds[sl->n];
	*pfd = (struct proc_fd){.fd = fd};
	r = walk_one(sl, pfd, &sl->offs[sl->n]);
	if (r == -ENOENT) {
		pr_debug("pid %d fd %d: closed while listing", sl->w->pid, fd);
		proc_fdinfo_free(&pfd->fi);
		return 0;
	}
	if (r < 0) {
		errno = -r;
		pr_perror("pid %d fd %d: cannot read /proc/%d/fd/%d", sl->w->pid, fd, sl->w->pid,
			  fd);
		proc_fdinfo_free(&pfd->fi);
		return r;
	}
	sl->unordered |= sl->n && sl->fds[sl->n - 1].fd > fd;
	sl->n++;
	return 0;
}

/*
 * The slice's fds, listed from lo on through a directory fd of its own: a
 * /proc fd directory's offset is the fd number + 2, so each thread lists
 * (and so makes the dentries of) its own part.
 */
static void *walk_slice(void *arg)
{
	struct fd_slice *sl = arg;
	struct proc_dents it = {.fd = open(sl->w->list_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
	int32_t fd;
	int r;

	if (it.fd < 0) {
		sl->r = proc_io_error(sl->w->list_path, "open");
		return NULL;
	}
	if (sl->lo > 0 && lseek(it.fd, (off_t)sl->lo + 2, SEEK_SET) < 0) {
		sl->r = proc_io_error(sl->w->list_path, "seek");
		close(it.fd);
		return NULL;
	}
	while ((r = proc_dents_next(&it, &fd)) > 0 && fd < sl->hi)
		if (fd >= sl->lo && (sl->r = slice_add(sl, fd)) < 0)
			break;
	if (r < 0) {
		errno = -r;
		sl->r = proc_io_error(sl->w->list_path, "list");
	}
	close(it.fd);
	return NULL;
}

static void slice_free(struct fd_slice *sl)
{
	for (size_t i = 0; i < sl->n; i++)
		proc_fdinfo_free(&sl->fds[i].fi);
	free(sl->fds);
	free(sl->offs);
	free(sl->strings);
}

static int cmp_fd(const void *a, const void *b)
{
	const struct proc_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/*
 * The slices' fds in one table, in fd order, with one pool of targets: the
 * first slice's arrays grown to hold the second's (no copy of the whole
 * table: every page written the first time costs).
 */
static int join_slices(struct fd_slice *sl, size_t n_slices, struct proc_fd_table *ret)
{
	struct fd_slice *first = &sl[0];
	bool unordered = first->unordered;

	for (size_t i = 1; i < n_slices; i++) {
		struct fd_slice *o = &sl[i];
		struct proc_fd *fds = reallocarray(first->fds, first->n + o->n + 1, sizeof(*fds));
		size_t *offs =
			fds ? reallocarray(first->offs, first->n + o->n + 1, sizeof(*offs)) : NULL;
		char *strings = offs ? realloc(first->strings, first->len + o->len + 1) : NULL;

		if (fds)
			first->fds = fds;
		if (offs)
			first->offs = offs;
		if (!strings)
			return -ENOMEM;
		first->strings = strings;
		memcpy(first->fds + first->n, o->fds, o->n * sizeof(*o->fds));
		for (size_t j = 0; j < o->n; j++)
			first->offs[first->n + j] = first->len + o->offs[j];
		memcpy(first->strings + first->len, o->strings, o->len);
		first->n += o->n;
		first->len += o->len;
		o->n = 0; /* their fdinfo belongs to the first slice now */
		unordered |= o->unordered;
	}
	*ret = (struct proc_fd_table){.n = first->n, .fds = first->fds, .strings = first->strings};
	for (size_t i = 0; i < ret->n; i++)
		ret->fds[i].target = ret->strings + first->offs[i];
	if (unordered)
		qsort(ret->fds, ret->n, sizeof(*ret->fds), cmp_fd);
	/* The table owns them now. */
	first->fds = NULL;
	first->strings = NULL;
	first->n = 0;
	return 0;
}

/* Below this many fds, a second thread costs more than it saves. */
#define FDS_PER_THREAD 256

/*
 * The walk costs several system calls per fd (fdinfo, and stat and readlink
 * for a file with a path), all kernel work that runs in parallel: a table
 * of many fds is cut in two at the middle fd number, each half listed and
 * walked by a thread of its own, when two CPUs are there (it is the
 * longest part of a frozen dump of a process with many fds). The number of
 * open fds is the size of /proc/PID/fd (Linux 6.2 and later; else 0: one
 * thread); the cut assumes they are numbered densely, as they usually are:
 * if not, the halves are only uneven.
 */
/* The CPUs this process may run on, 1 if unknown. */
static int usable_cpus(void)
{
	cpu_set_t cpus;

	return sched_getaffinity(0, sizeof(cpus), &cpus) < 0 ? 1 : CPU_COUNT(&cpus);
}

static int split_at(size_t count)
{
	if (count < 2 * FDS_PER_THREAD || count > INT_MAX || usable_cpus() < 2)
		return -1;
	return (int)(count / 2);
}

static int walk_fds(const struct fd_walk *w, struct proc_fd_table *ret)
{
	struct stat st;
	size_t count = fstat(w->fd_dir, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size : 0;
	int cut = split_at(count);
	struct fd_slice sl[2] = {{.w = w, .lo = 0, .hi = cut < 0 ? INT_MAX : cut},
				 {.w = w, .lo = cut, .hi = INT_MAX}};
	size_t n_slices = cut < 0 ? 1 : 2;
	pthread_t helper;
	bool helping = false;
	int r = 0;

	/* Room for the fds expected, so that no array is copied as it grows. */
	for (size_t i = 0; count && i < n_slices; i++) {
		sl[i].cap = count / n_slices + 32;
		sl[i].fds = malloc(sl[i].cap * sizeof(*sl[i].fds));
		sl[i].offs = malloc(sl[i].cap * sizeof(*sl[i].offs));
		if (!sl[i].fds || !sl[i].offs)
			r = -ENOMEM;
	}
	if (r == 0 && n_slices == 2 &&
	    !(helping = !pthread_create(&helper, NULL, walk_slice, &sl[1])))
		pr_debug("pid %d: no second thread for the fd walk, walking on alone", w->pid);
	if (r == 0)
		walk_slice(&sl[0]);
	if (helping)
		pthread_join(helper, NULL);
	else if (r == 0 && n_slices == 2)
		walk_slice(&sl[1]);
	for (size_t i = 0; r == 0 && i < n_slices; i++)
		r = sl[i].r;
	if (r == 0)
		r = join_slices(sl, n_slices, ret);
	for (size_t i = 0; i < n_slices; i++)
		slice_free(&sl[i]);
	return r;
}

static int read_fds(pid_t pid, bool fdinfo, struct proc_fd_table *ret)
{
	struct fd_walk w = {.pid = pid, .fd_dir = -1, .fdinfo_dir = -1};
	_cleanup_close_ int fd_dir = -1, fdinfo_dir = -1;
	char path[PROC_PATH_MAX];
	int r;

	proc_path(path, pid, 0, "fd");
	w.fd_dir = fd_dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd_dir < 0)
		return proc_io_error(path, "open");
	memcpy(w.list_path, path, sizeof(path));
	if (fdinfo) {
		proc_path(w.list_path, pid, 0, "fdinfo");
		w.fdinfo_dir = fdinfo_dir = open(w.list_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fdinfo_dir < 0)
			return proc_io_error(w.list_path, "open");
	}
	r = learn_pseudo_fs(&w);
	return r < 0 ? r : walk_fds(&w, ret);
}

int proc_read_fds(pid_t pid, struct proc_fd_table *ret)
{
	return read_fds(pid, false, ret);
}

int proc_read_fds_fdinfo(pid_t pid, struct proc_fd_table *ret)
{
	return read_fds(pid, true, ret);
}

void proc_fd_table_free(struct proc_fd_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		proc_fdinfo_free(&t->fds[i].fi);
	free(t->fds);
	free(t->strings);
	*t = (struct proc_fd_table){0};
}
