/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files, opened by the controller before the task exists: the task's own fds
 * (fdinfo: regular files here, pipes in pipe.c, FIFOs in fifo.c, sockets in
 * unix.c and inet.c, eventfd, timerfd, signalfd, epoll and inotify in
 * anon.c, memfds in memfd.c), the files its VMAs map, its
 * executable and its cwd. clone3() without CLONE_FILES copies the fd table,
 * so the task inherits them all; it then moves its fds to their numbers and
 * closes the rest, and the controller's remote mmap()s use the others by
 * number. Opening here, not in the task, means every failure is found, and
 * told with the file's name, while there is still nothing to undo.
 *
 * Every fd opened here is moved to min_fd or above (min_fd is above every fd
 * number the task had), so that the task's dup2()s never overwrite one.
 * Then a description of one task alone is put at that task's own number
 * when the controller has nothing there (see place_at_number()): the task
 * finds it in place, and the controller holds no copy of it above min_fd.
 * A task of N fds would otherwise need fd numbers up to min_fd + N, about
 * twice N, at the fork: 10,000 fds could not be restored under a hard
 * limit of 20,000 open files.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "base/sorted.h"
#include "restore/internal.h"

static const char *fd_type_name(int type)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&fd_types__descriptor, type);

	return v ? v->name : "unknown";
}

static bool is_remapped(const struct rst_ctx *c, uint32_t id)
{
	for (size_t i = 0; i < c->img.nremaps; i++)
		if (c->img.remaps[i]->orig_id == id)
			return true;
	return false;
}

/* The file of id, checked to be one this restore can open by name. */
static int reg_file(struct rst_ctx *c, uint32_t id, const char *what, const RegFileEntry **ret)
{
	const RegFileEntry *reg = rst_reg_file(&c->img, id);

	if (!reg) {
		for (size_t i = 0; i < c->img.nfiles; i++)
			if (c->img.files[i]->id == id) {
				rst_err(c,
					"%s: file %u is of kind %s; only regular files are "
					"supported yet",
					what, id, fd_type_name(c->img.files[i]->type));
				return -EOPNOTSUPP;
			}
		rst_err(c, "%s: file %u is not in files.img or reg-files.img", what, id);
		return -EBADMSG;
	}
	if ((is_remapped(c, id) && !rst_ghost_remap(&c->img, id)) || (reg->has_ext && reg->ext)) {
		rst_err(c, "%s: %s was deleted or external at dump time; not supported yet", what,
			reg->name);
		return -EOPNOTSUPP;
	}
	*ret = reg;
	return 0;
}

/* The file must be what was dumped: same kind, and for a regular file the same size. */
static int check_same(struct rst_ctx *c, int fd, const RegFileEntry *reg, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = negative_errno();
		rst_err(c, "%s: cannot stat %s: %s", what, reg->name, strerror(-r));
		return r;
	}
	if (reg->has_mode && (st.st_mode & S_IFMT) != (reg->mode & S_IFMT)) {
		rst_err(c, "%s: %s is not the same kind of file as when dumped (mode %o, was %o)",
			what, reg->name, st.st_mode, reg->mode);
		return -ESTALE;
	}
	if (reg->has_size && S_ISREG(st.st_mode) && (uint64_t)st.st_size != reg->size) {
		rst_err(c, "%s: %s has changed since the dump: its size is %lld bytes, it was %llu",
			what, reg->name, (long long)st.st_size, (unsigned long long)reg->size);
		return -ESTALE;
	}
	return 0;
}

int rst_fd_move_up(struct rst_ctx *c, int fd, const char *label)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, c->files.min_fd);
	int r = negative_errno();

	close(fd);
	if (nfd < 0) {
		pr_err("%s: cannot move its fd above %d: %s", label, c->files.min_fd, strerror(-r));
		return r;
	}
	return nfd;
}

static int open_reg(struct rst_ctx *c, const RegFileEntry *reg, int flags, const char *what)
{
	const RemapFilePathEntry *ghost = rst_ghost_remap(&c->img, reg->id);
	int fd, r;

	if (ghost && (fd = rst_ghost_open(c, ghost, reg, flags, what)) < 0)
		return fd;
	if (!ghost && (fd = open(reg->name, flags | O_CLOEXEC)) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot open %s: %s", what, reg->name, strerror(-r));
		return r;
	}
	r = check_same(c, fd, reg, what);
	if (r < 0) {
		close(fd);
		return r;
	}
	return rst_fd_move_up(c, fd, reg->name);
}

/* One more move; room for them is made once, for every fd of the task. */
static void add_move(struct rst_files *f, int src, int dst, bool cloexec, bool borrowed)
{
	f->moves[f->nmoves++] = (struct rst_fd_move){
		.src = src, .dst = dst, .cloexec = cloexec, .borrowed = borrowed};
}

/*
 * The description file id if it is open already: for another fd of this
 * task, or for another task of the tree (a file opened before a fork).
 * Descriptions are met in increasing id order, as a dump numbers them: a
 * search by halves, unless one came out of order.
 */
static uint64_t desc_key(const void *base, size_t i)
{
	return ((const struct rst_desc *)base)[i].id;
}

static const struct rst_desc *shared_desc(const struct rst_shared *s, uint32_t id)
{
	size_t at;

	if (s->descs_unsorted) {
		for (size_t i = 0; i < s->ndescs; i++)
			if (s->descs[i].id == id)
				return &s->descs[i];
		return NULL;
	}
	at = sorted_find(s->descs, s->ndescs, id, desc_key);
	return at < s->ndescs ? &s->descs[at] : NULL;
}

static int share(struct rst_shared *s, uint32_t id, int src)
{
	if (s->ndescs == s->descs_cap) {
		size_t cap = s->descs_cap ? s->descs_cap * 2 : 256;
		struct rst_desc *n = reallocarray(s->descs, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->descs = n;
		s->descs_cap = cap;
	}
	if (s->ndescs && s->descs[s->ndescs - 1].id > id)
		s->descs_unsorted = true;
	s->descs[s->ndescs++] = (struct rst_desc){id, src};
	return 0;
}

/* A regular file (device, directory) of the task, opened as it was, at its position. */
static int open_task_reg(struct rst_ctx *c, uint32_t id, const char *what)
{
	/* O_CREAT and O_TRUNC did their work when the program opened the file. */
	/* O_ASYNC is set by the task itself (rst_files_async): open() would not arm it. */
	const int drop = O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC | O_ASYNC;
	const RegFileEntry *reg;
	int src, r;

	r = reg_file(c, id, what, &reg);
	if (r < 0)
		return r;
	src = open_reg(c, reg, (int)reg->flags & ~drop, what);
	if (src < 0)
		return src;
	if (reg->pos && lseek(src, (off_t)reg->pos, SEEK_SET) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot seek %s to %llu: %s", what, reg->name,
			(unsigned long long)reg->pos, strerror(-r));
		close(src);
		return r;
	}
	return src;
}

/* A new open file description for fe, of its kind. */
static int open_task_fd(struct rst_ctx *c, const FdinfoEntry *fe, const char *what)
{
	if (fe->type == FD_TYPES__REG)
		return open_task_reg(c, fe->id, what);
	if (fe->type == FD_TYPES__PIPE)
		return rst_pipe_open(c, fe->id, what);
	if (fe->type == FD_TYPES__UNIXSK)
		return rst_unix_open(c, fe->id, what);
	if (fe->type == FD_TYPES__INETSK)
		return rst_inet_open(c, fe->id, what);
	if (fe->type == FD_TYPES__FIFO)
		return rst_fifo_open(c, fe->id, what);
	if (fe->type == FD_TYPES__TTY)
		return rst_tty_open(c, fe, what);
	if (fe->type == FD_TYPES__MEMFD)
		return rst_memfd_open_fd(c, fe->id, what);
	if (rst_anon_type(fe->type))
		return rst_anon_open(c, fe, what);
	rst_err(c, "%s is of kind %s, which stasis does not restore yet", what,
		fd_type_name(fe->type));
	return -EOPNOTSUPP;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Description ids and the task that has them, sorted by id then task. */
struct id_user {
	uint32_t id;
	uint32_t task;
};

static int cmp_id_user(const void *a, const void *b)
{
	const struct id_user *x = a, *y = b;

	return x->id != y->id ? cmp_u32(&x->id, &y->id) : cmp_u32(&x->task, &y->task);
}

int rst_files_plan(struct rst_ctx *tasks, size_t n)
{
	struct rst_shared *s = tasks[0].shared;
	_cleanup_free_ struct id_user *users = NULL;
	size_t nusers = 0, nsolo = 0;

	for (size_t i = 0; i < n; i++)
		nusers += tasks[i].zombie ? 0 : tasks[i].img.nfds;
	users = malloc((nusers ? nusers : 1) * sizeof(*users));
	s->solo_ids = malloc((nusers ? nusers : 1) * sizeof(*s->solo_ids));
	if (!users || !s->solo_ids)
		return -ENOMEM;
	nusers = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; !tasks[i].zombie && j < tasks[i].img.nfds; j++)
			users[nusers++] = (struct id_user){tasks[i].img.fds[j]->id, (uint32_t)i};
	qsort(users, nusers, sizeof(*users), cmp_id_user);
	/* An id is solo when its first and last users are the same task. */
	for (size_t i = 0, j; i < nusers; i = j) {
		for (j = i + 1; j < nusers && users[j].id == users[i].id; j++)
			;
		if (users[i].task == users[j - 1].task)
			s->solo_ids[nsolo++] = users[i].id;
	}
	s->nsolo_ids = nsolo;
	return 0;
}

static bool is_solo(const struct rst_shared *s, uint32_t id)
{
	return bsearch(&id, s->solo_ids, s->nsolo_ids, sizeof(id), cmp_u32) != NULL;
}

/*
 * src, a new description of this task alone, moved to the task's own number
 * dst if the controller has nothing there (its stdio, log and images are
 * there, and other tasks' descriptions): the task inherits it in place. No
 * other move of the task writes dst, and no other task reads it, so no
 * order of the task's moves can overwrite it before it is used.
 */
static int place_at_number(int src, int dst)
{
	if (fcntl(dst, F_GETFD) >= 0 || errno != EBADF)
		return src;
	if (dup3(src, dst, O_CLOEXEC) < 0)
		return src; /* it stays above min_fd: only the fd numbers are many */
	close(src);
	return dst;
}

static int open_task_fds(struct rst_ctx *c)
{
	c->files.moves = reallocarray(NULL, c->img.nfds ? c->img.nfds : 1, sizeof(*c->files.moves));
	if (!c->files.moves)
		return -ENOMEM;
	for (size_t i = 0; i < c->img.nfds; i++) {
		const FdinfoEntry *fe = c->img.fds[i];
		const struct rst_desc *d = shared_desc(c->shared, fe->id);
		bool borrowed = d != NULL;
		char what[32];
		int src = d ? d->src : -1, r;

		snprintf(what, sizeof(what), "fd %u", fe->fd);
		if (src < 0) {
			src = open_task_fd(c, fe, what);
			if (src >= 0 && is_solo(c->shared, fe->id))
				src = place_at_number(src, (int)fe->fd);
			if (src < 0)
				return src;
			r = share(c->shared, fe->id, src);
			if (r < 0) {
				close(src);
				return r;
			}
		}
		add_move(&c->files, src, (int)fe->fd, fe->flags & FD_CLOEXEC, borrowed);
	}
	return 0;
}

int rst_files_fd(const struct rst_ctx *c, uint32_t id, int accmode)
{
	for (size_t i = 0; i < c->files.nopen; i++)
		if (c->files.open[i].id == id && c->files.open[i].accmode == accmode)
			return c->files.open[i].fd;
	return -1;
}

/* Open file id for the task's own use (a mapping, the exe), once per access mode. */
static int open_for_task(struct rst_ctx *c, uint32_t id, int accmode, const char *what)
{
	const RegFileEntry *reg;
	struct rst_open_file *n;
	int fd, r;

	if (rst_files_fd(c, id, accmode) >= 0)
		return 0;
	if (rst_memfd_is(&c->img, id)) {
		fd = rst_memfd_open(c, id, accmode, false, what);
	} else {
		r = reg_file(c, id, what, &reg);
		if (r < 0)
			return r;
		fd = open_reg(c, reg, accmode, what);
	}
	if (fd < 0)
		return fd;
	n = reallocarray(c->files.open, c->files.nopen + 1, sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	c->files.open = n;
	c->files.open[c->files.nopen++] = (struct rst_open_file){id, accmode, fd};
	return 0;
}

/*
 * A private mapping only reads its file. A shared one is opened as the task
 * had it (fdflags), so that a later mprotect(PROT_WRITE) works as before.
 */
int rst_vma_accmode(const VmaEntry *e)
{
	if (!(e->status & VMA_FILE_SHARED))
		return O_RDONLY;
	if (e->has_fdflags)
		return (int)e->fdflags & O_ACCMODE;
	return (e->prot & PROT_WRITE) ? O_RDWR : O_RDONLY;
}

static int open_mapped_files(struct rst_ctx *c)
{
	const MmEntry *mm = c->img.mm;
	int r;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];
		char what[64];

		if (!(e->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			continue;
		snprintf(what, sizeof(what), "VMA %llx-%llx", (unsigned long long)e->start,
			 (unsigned long long)e->end);
		r = open_for_task(c, (uint32_t)e->shmid, rst_vma_accmode(e), what);
		if (r < 0)
			return r;
	}
	return open_for_task(c, mm->exe_file_id, O_RDONLY, "executable");
}

/* A directory the task is to be in (cwd, root), opened O_PATH above the task's fds. */
static int open_dir(struct rst_ctx *c, uint32_t id, const char *what, int *ret_fd)
{
	const RegFileEntry *dir;
	int fd, r;

	r = reg_file(c, id, what, &dir);
	if (r < 0)
		return r;
	fd = open(dir->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot open the directory %s: %s", what, dir->name, strerror(-r));
		return r;
	}
	fd = rst_fd_move_up(c, fd, dir->name);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

/* The paths are as the dump saw them, from its root: the new task chroots into its own. */
static int open_cwd(struct rst_ctx *c)
{
	const RegFileEntry *root;
	int r;

	r = reg_file(c, c->img.fs->root_id, "root", &root);
	if (r == 0 && !streq(root->name, "/"))
		r = open_dir(c, c->img.fs->root_id, "root", &c->files.root_fd);
	if (r == 0)
		r = open_dir(c, c->img.fs->cwd_id, "cwd", &c->files.cwd_fd);
	return r;
}

/*
 * The controller holds every description of the task at once, above the
 * task's own numbers: its soft limit of open files is raised to fit them
 * (up to the hard limit; the task gets its own limits back later).
 */
static void raise_nofile(struct rst_ctx *c)
{
	rlim_t want = (rlim_t)c->files.min_fd + 2 * c->img.nfds + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit hard = {want, want};

		if (setrlimit(RLIMIT_NOFILE, &hard) == 0)
			return;
	}
	rl.rlim_cur = MIN(want, rl.rlim_max);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		rst_warn(c, "cannot raise the limit of open files to %llu: %s",
			 (unsigned long long)want, strerror(errno));
}

int rst_files_open(struct rst_ctx *c)
{
	int r;

	c->files.min_fd = c->shared->min_fd;
	raise_nofile(c);
	r = open_task_fds(c);
	if (r == 0)
		r = rst_locks_take(c);
	if (r == 0)
		r = open_mapped_files(c);
	if (r == 0)
		r = open_cwd(c);
	return r;
}

void rst_files_close_ours(struct rst_files *f)
{
	if (f->ours_closed)
		return;
	for (size_t i = 0; i < f->nmoves; i++)
		if (!f->moves[i].borrowed)
			safe_close(f->moves[i].src);
	for (size_t i = 0; i < f->nopen; i++)
		safe_close(f->open[i].fd);
	f->cwd_fd = safe_close(f->cwd_fd);
	f->root_fd = safe_close(f->root_fd);
	f->ours_closed = true;
}

void rst_files_free(struct rst_files *f)
{
	rst_files_close_ours(f);
	free(f->moves);
	free(f->posix_locks);
	free(f->open);
	*f = (struct rst_files){.cwd_fd = -1, .root_fd = -1, .lent_dirs = {-1, -1}, .ctty_fd = -1};
}

int rst_files_min_fd(const struct rst_images *img)
{
	int max = 2; /* 0-2 stay the controller's */

	for (size_t i = 0; i < img->nfds; i++)
		max = MAX(max, (int)img->fds[i]->fd);
	return max + 1;
}

void rst_shared_free(struct rst_shared *s)
{
	rst_pipes_close(s);
	rst_unix_free(s);
	rst_fifos_free(s);
	rst_ghosts_free(s);
	rst_ttys_free(s);
	rst_locks_free(s);
	rst_memfds_free(s);
	free(s->pipes);
	free(s->descs);
	free(s->solo_ids);
	free(s->shmems);
	*s = (struct rst_shared){};
}
