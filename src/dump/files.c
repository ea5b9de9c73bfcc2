/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files of a dump: files.img (one FileEntry per open file description or
 * mapped file) and fdinfo-ID.img (which fd holds which file). Regular
 * files, directories and character devices reached by path are dumped
 * here, pipes in pipe.c, FIFOs in fifo.c, unix sockets in unix.c, TCP and
 * UDP sockets in inet.c, eventfd, timerfd, signalfd, epoll, inotify and
 * fanotify in anon.c, memfds in memfd.c; every other kind is refused by
 * name, with what the user can do.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/tty.h"
#include "fs.pb-c.h"
#include "image/image.h"

static int files_grow(struct dump_files *f)
{
	size_t cap = f->cap ? f->cap * 2 : 32;
	FileEntry **e;

	if (f->n < f->cap)
		return 0;
	e = realloc(f->entries, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	f->entries = e;
	f->cap = cap;
	return 0;
}

int dump_files_new(struct dump_files *f, FdTypes type, FileEntry **ret_fe)
{
	FileEntry *fe = ARENA_MSG(&f->arena, FileEntry, FILE_ENTRY__INIT);

	if (!fe || files_grow(f) < 0)
		return -ENOMEM;
	fe->id = (uint32_t)f->n + 1;
	fe->type = type;
	f->entries[f->n++] = fe;
	*ret_fe = fe;
	return 0;
}

int dump_files_add_reg(struct dump_files *f, const char *path, const struct stat *st,
		       uint32_t flags, uint64_t pos, uint32_t *ret_id)
{
	RegFileEntry *reg = ARENA_MSG(&f->arena, RegFileEntry, REG_FILE_ENTRY__INIT);
	FownEntry *fown = ARENA_MSG(&f->arena, FownEntry, FOWN_ENTRY__INIT);
	FileEntry *fe;

	if (!reg || !fown)
		return -ENOMEM;
	reg->flags = flags;
	reg->pos = pos;
	reg->fown = fown;
	reg->name = arena_strdup(&f->arena, path);
	if (!reg->name || dump_files_new(f, FD_TYPES__REG, &fe) < 0)
		return -ENOMEM;
	reg->id = fe->id;
	reg->has_mode = true;
	reg->mode = st->st_mode;
	if (S_ISREG(st->st_mode)) {
		/* restore checks it: a file that changed size is not the one dumped */
		reg->has_size = true;
		reg->size = (uint64_t)st->st_size;
	}
	fe->reg = reg;
	*ret_id = fe->id;
	return 0;
}

int dump_files_mapped(struct dump_files *f, const char *path, uint64_t dev, uint64_t ino,
		      uint32_t *ret_id)
{
	struct stat st;

	/* One entry per mapped file: the same path with flags 0 and pos 0 is it. */
	for (size_t i = 0; i < f->n; i++) {
		RegFileEntry *reg = f->entries[i]->reg;

		if (reg && reg->flags == 0 && reg->pos == 0 && streq(reg->name, path) &&
		    !dump_ghost_remapped(f, reg->id)) {
			*ret_id = reg->id;
			return 0;
		}
	}
	if (stat(path, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino) {
		pr_err("%s was replaced on disk while mapped; stasis cannot dump such mappings yet",
		       path);
		return -ENOTSUP;
	}
	return dump_files_add_reg(f, path, &st, 0, 0, ret_id);
}

int dump_files_write(struct dump_files *f, struct img_dir *dir)
{
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	int r;

	r = dump_unix_finish(f);
	if (r >= 0)
		r = img_create(dir, IMG_FILES, 0, &w);
	for (size_t i = 0; r >= 0 && i < f->n; i++)
		r = img_write_entry(w, &f->entries[i]->base, NULL, 0);
	if (r >= 0)
		r = img_writer_commit(TAKE_PTR(w));
	if (r >= 0)
		r = dump_unix_commit(f);
	if (r >= 0 && f->fifo_data)
		r = img_writer_commit(TAKE_PTR(f->fifo_data));
	if (r >= 0)
		r = dump_ghost_commit(f, dir);
	if (r >= 0)
		r = dump_tty_commit(f, dir);
	if (r >= 0)
		r = dump_memfd_commit(f, dir);
	if (r >= 0)
		r = dump_locks_commit(f, dir);
	return r;
}

void dump_files_release(struct dump_files *f)
{
	dump_unix_free(f);
	img_writer_free(f->sk_queues);
	img_writer_free(f->fifo_data);
	free(f->fifos_done);
	dump_ghost_free(f);
	dump_tty_free(f);
	dump_memfd_free(f);
	free(f->locks);
	dump_desc_index_free(f->desc_index);
	arena_free(&f->arena);
	free(f->entries);
	*f = (struct dump_files){};
}

/* A kind stasis cannot dump, with what the user can do about it. */
struct refusal {
	const char *kind;
	const char *advice;
};

#define CLOSE_IT "close it in the program before the checkpoint"

static const struct {
	const char *prefix; /* of the /proc/PID/fd link */
	struct refusal refusal;
} anon_refusals[] = {
	{"anon_inode:[io_uring]",
	 {"an io_uring instance", "the kernel gives no way to read or rebuild its rings and "
				  "requests in flight; " CLOSE_IT}},
	{"anon_inode:[userfaultfd]",
	 {"a userfaultfd", "its registrations and pending faults cannot be read back; " CLOSE_IT}},
	{"anon_inode:[perf_event]",
	 {"a perf event", "its counters and ring buffer cannot be rebuilt; " CLOSE_IT}},
	{"anon_inode:bpf",
	 {"a BPF object", "stasis does not dump BPF maps, programs or links; " CLOSE_IT}},
	{"anon_inode:[pidfd]", {"a pidfd", "not supported yet; " CLOSE_IT}},
	{"anon_inode:",
	 {"an unknown anonymous inode", "stasis does not know this kind; " CLOSE_IT}},
};

static int refuse_fd(pid_t pid, int fd, const char *target, const struct refusal *why)
{
	pr_err("pid %d fd %d is %s (%s): stasis cannot checkpoint it: %s; the task was left "
	       "running",
	       pid, fd, why->kind, target, why->advice);
	return -ENOTSUP;
}

static const struct refusal *unsupported_kind(const char *target, const struct stat *st)
{
	static const struct refusal not_yet[] = {
		{"a special file", "not supported yet; " CLOSE_IT},
		{"a terminal",
		 "only pty pairs and the pty slave of a shell job (-j) are supported yet; "
		 "run the program with its stdin, stdout and stderr on files or /dev/null"},
	};

	for (size_t i = 0; startswith(target, "anon_inode:") && i < ELEMENTSOF(anon_refusals); i++)
		if (startswith(target, anon_refusals[i].prefix))
			return &anon_refusals[i].refusal;
	if (target[0] != '/')
		return &not_yet[0];
	if (S_ISCHR(st->st_mode) &&
	    (major(st->st_rdev) == 136 || major(st->st_rdev) == 4 || major(st->st_rdev) == 5))
		return &not_yet[1];
	return NULL;
}

/*
 * The kind of socket the fd is, from its protocol's name (the sockfs
 * attribute system.sockprotoname: "UNIX", "TCP", "UDPv6" ...); a protocol
 * stasis does not dump is refused here.
 */
static int socket_type(pid_t pid, int fd, const char *link, const char *target, FdTypes *ret_type)
{
	static const struct {
		const char *proto;
		FdTypes type;
	} protos[] = {
		{"UNIX", FD_TYPES__UNIXSK}, /* UNIX-STREAM, UNIX-DGRAM ... since Linux 6.6 */
		{"TCP", FD_TYPES__INETSK},  {"TCPv6", FD_TYPES__INETSK},
		{"UDP", FD_TYPES__INETSK},  {"UDPv6", FD_TYPES__INETSK},
	};
	char proto[32] = "";
	ssize_t n = getxattr(link, "system.sockprotoname", proto, sizeof(proto) - 1);
	char kind[64];

	if (n < 0)
		return negative_errno();
	proto[n] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(protos); i++)
		if (streq(proto, protos[i].proto) ||
		    (protos[i].type == FD_TYPES__UNIXSK && startswith(proto, protos[i].proto) &&
		     proto[strlen(protos[i].proto)] == '-')) {
			*ret_type = protos[i].type;
			return 0;
		}
	snprintf(kind, sizeof(kind), "a socket of protocol %s", proto);
	return refuse_fd(
		pid, fd, target,
		&(struct refusal){kind, "stasis dumps unix, TCP and UDP sockets only; " CLOSE_IT});
}

/* The kind of the fd (FD_TYPES__UND: one stasis refuses, *ret_why says why). */
static FdTypes fd_type(const char *target, const struct stat *st, const struct refusal **ret_why)
{
	FdTypes type = dump_anon_type(target);

	if (startswith(target, "pipe:"))
		return FD_TYPES__PIPE;
	if (S_ISFIFO(st->st_mode) && target[0] == '/') /* deleted too: fifo.c */
		return FD_TYPES__FIFO;
	if (S_ISCHR(st->st_mode) && (tty_kind_of(st->st_rdev) == TTY_KIND_PTY_SLAVE ||
				     tty_kind_of(st->st_rdev) == TTY_KIND_PTY_MASTER))
		return FD_TYPES__TTY;
	if (type != FD_TYPES__UND)
		return type;
	if (S_ISREG(st->st_mode) && dump_memfd_is(target))
		return FD_TYPES__MEMFD;
	*ret_why = unsupported_kind(target, st);
	return *ret_why ? FD_TYPES__UND : FD_TYPES__REG;
}

/* A new description: its entry in files.img. */
static int dump_description(struct dump_ctx *ctx, const struct proc_fd *pfd, FdTypes type,
			    const struct stat *st, const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	switch (type) {
	case FD_TYPES__PIPE:
		return dump_pipe_fd(ctx, pfd->fd, st, fi->flags, ret_id);
	case FD_TYPES__UNIXSK:
		return dump_unix_fd(ctx, pfd->fd, st, fi, ret_id);
	case FD_TYPES__INETSK:
		return dump_inet_fd(ctx, pfd->fd, st, fi, ret_id);
	case FD_TYPES__FIFO:
		return dump_fifo_fd(ctx, pfd, st, fi, ret_id);
	case FD_TYPES__TTY:
		return dump_tty_fd(ctx, pfd->fd, st, fi->flags & ~O_CLOEXEC, ret_id);
	case FD_TYPES__MEMFD:
		return dump_memfd_fd(ctx, pfd, st, fi, ret_id);
	case FD_TYPES__REG:
		if (dump_ghost_is_deleted(pfd->target))
			return dump_ghost_fd(ctx, pfd, st, fi, ret_id);
		return dump_files_add_reg(ctx->files, pfd->target, st, fi->flags & ~O_CLOEXEC,
					  (uint64_t)fi->pos, ret_id);
	default:
		return dump_anon_fd(ctx, pfd->fd, type, fi, ret_id);
	}
}

/* What tells apart two files of one kind on the same (anonymous) inode, where the kernel says. */
static uint64_t kind_id(FdTypes type, const struct proc_fdinfo *fi)
{
	const char *id = type == FD_TYPES__EVENTFD ? proc_fdinfo_get(fi, "eventfd-id") : NULL;
	uint64_t v = 0;

	/* Without one (an older kernel), kcmp() tells them apart, only slower. */
	if (id && proc_parse_u64(id, 10, "eventfd-id", &v) < 0)
		v = 0;
	return v;
}

static int dump_one_fd(struct dump_ctx *ctx, int pidfd, const struct proc_fd *pfd, FdinfoEntry *e)
{
	const struct proc_fdinfo *fi = &pfd->fi;
	const struct refusal *why = NULL;
	enum dump_desc_seen seen = DESC_NEW;
	struct dump_desc_slot slot;
	struct dump_desc d;
	FdTypes type;
	int r;

	if (S_ISSOCK(pfd->st.st_mode)) {
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/fd/%d", ctx->pid, pfd->fd);
		r = socket_type(ctx->pid, pfd->fd, link, pfd->target, &type);
		if (r < 0)
			return r;
	} else {
		type = fd_type(pfd->target, &pfd->st, &why);
	}
	if (type == FD_TYPES__UND)
		return refuse_fd(ctx->pid, pfd->fd, pfd->target, why);
	*e = (FdinfoEntry)FDINFO_ENTRY__INIT;
	e->fd = (uint32_t)pfd->fd;
	e->type = type;
	e->flags = (fi->flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	d = (struct dump_desc){.dev = pfd->st.st_dev,
			       .ino = pfd->st.st_ino,
			       .pos = fi->pos,
			       .flags = fi->flags & ~O_CLOEXEC,
			       .kind_id = kind_id(type, fi),
			       .pid = ctx->pid,
			       .fd = pfd->fd};
	e->id = dump_desc_find(ctx->sh, &d, &seen, &slot);
	r = dump_fd_locks(ctx, pfd->fd, pfd->target, fi, seen);
	if (r < 0 || e->id)
		return r;
	r = dump_description(ctx, pfd, type, &pfd->st, fi, &e->id);
	if (r >= 0)
		r = dump_fown(ctx, pidfd, pfd->fd, e->id);
	d.id = e->id;
	return r < 0 ? r : dump_desc_add(ctx->sh, &d, &slot);
}

/* Was the fd table files_id written for an earlier process (CLONE_FILES)? */
static bool fdtable_seen(struct dump_shared *sh, uint32_t files_id)
{
	for (size_t i = 0; i < sh->nfdtables_done; i++)
		if (sh->fdtables_done[i] == files_id)
			return true;
	return false;
}

static int fdtable_mark(struct dump_shared *sh, uint32_t files_id)
{
	uint32_t *n = reallocarray(sh->fdtables_done, sh->nfdtables_done + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	sh->fdtables_done = n;
	sh->fdtables_done[sh->nfdtables_done++] = files_id;
	return 0;
}

int dump_fds(struct dump_ctx *ctx)
{
	_cleanup_(proc_fd_table_free) struct proc_fd_table table = {};
	_cleanup_free_ FdinfoEntry *done = NULL;
	_cleanup_(img_writer_freep) struct img_writer *w = NULL;
	uint64_t kcmp_before = ctx->sh->kcmp_calls;
	_cleanup_close_ int pidfd = -1;
	int r;

	if (fdtable_seen(ctx->sh, ctx->ids[1]))
		return 0;
	r = proc_read_fds_fdinfo(ctx->pid, &table);
	if (r < 0)
		return r;
	/* The task's pidfd, for dump_fown(). */
	pidfd = sys_pidfd_open(ctx->pid, 0);
	if (pidfd < 0)
		return negative_errno();
	done = calloc(table.n ? table.n : 1, sizeof(*done));
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < table.n; i++) {
		r = dump_one_fd(ctx, pidfd, &table.fds[i], &done[i]);
		if (r < 0)
			return r;
		pr_info("pid %d fd %d: %s, file id %u", ctx->pid, table.fds[i].fd,
			table.fds[i].target, done[i].id);
	}
	pr_info("pid %d: %zu fds, kcmp: %" PRIu64 " calls to find their shared descriptions",
		ctx->pid, table.n, ctx->sh->kcmp_calls - kcmp_before);
	r = dump_pipes_data(ctx, done, table.n);
	if (r < 0)
		return r;
	/* fdinfo-ID.img, ID being the files_id of ids-PID.img. */
	r = img_create(ctx->dir, IMG_FDINFO, ctx->ids[1], &w);
	for (size_t i = 0; r >= 0 && i < table.n; i++)
		r = img_write_entry(w, &done[i].base, NULL, 0);
	if (r >= 0)
		r = img_writer_commit(TAKE_PTR(w));
	return r < 0 ? r : fdtable_mark(ctx->sh, ctx->ids[1]);
}

static int dump_dir_link(struct dump_ctx *ctx, const char *name, uint32_t *ret_id)
{
	_cleanup_free_ char *target = NULL;
	struct stat st;
	char link[64];
	int r;

	r = proc_readlink(ctx->pid, name, &target);
	if (r < 0)
		return r;
	snprintf(link, sizeof(link), "/proc/%d/%s", ctx->pid, name);
	if (stat(link, &st) < 0)
		return negative_errno();
	if (strstr(target, " (deleted)")) {
		pr_err("pid %d: its %s %s was deleted; stasis cannot restore it", ctx->pid, name,
		       target);
		return -ENOTSUP;
	}
	return dump_files_add_reg(ctx->files, target, &st, 0, 0, ret_id);
}

int dump_fs(struct dump_ctx *ctx)
{
	FsEntry fs = FS_ENTRY__INIT;
	int r;

	r = dump_dir_link(ctx, "cwd", &fs.cwd_id);
	if (r >= 0)
		r = dump_dir_link(ctx, "root", &fs.root_id);
	if (r < 0)
		return r;
	fs.has_umask = true;
	fs.umask = dump_leader(ctx)->status.umask;
	return img_write_one(ctx->dir, IMG_FS, (uint64_t)ctx->pid, &fs.base);
}
