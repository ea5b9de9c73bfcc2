/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unix sockets (docs/files.md, "Unix sockets"), as CRIU writes them: one
 * FileEntry of type UNIXSK per socket (UnixSkEntry: inode, type, state,
 * peer inode, name, backlog, shutdown, options), and in sk-queues.img the
 * data queued in each, one SkPacketEntry per datagram or run of stream
 * bytes, id_for naming the socket that holds it. The sockets and their peers
 * come from sock_diag, asked once per dump; the queues are copied through
 * the task's own socket (pidfd_getfd) without taking them out.
 *
 * Peers are checked once every process is dumped (dump_unix_finish): a peer
 * outside the tree is refused, unless --ext-unix-sk allows a connection to
 * a named socket, which the restore connects to again.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "base/log.h"
#include "compat/syscalls.h"
#include "dump/internal.h"
#include "files/sock.h"
#include "image/image.h"
#include "sk-packet.pb-c.h"

struct dump_usk {
	UnixSkEntry *e;
	bool queued; /* data in its receive queue */
	pid_t pid;
	int fd;
};

struct dump_unix {
	struct unix_diag_table diag;
	struct dump_usk *sks;
	size_t n;
	bool ext_unix_sk;
	pid_t pidfd_pid; /* the task pidfd refers to, to take copies of its sockets */
	int pidfd;
};

static int unix_state(struct dump_ctx *ctx, struct dump_unix **ret)
{
	struct dump_files *f = ctx->files;
	struct dump_unix *u = f->usk;
	int r;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		r = unix_diag_collect(&u->diag);
		if (r < 0) {
			free(u);
			return r;
		}
		u->ext_unix_sk = ctx->opts->ext_unix_sk;
		u->pidfd = -1;
		f->usk = u;
	}
	*ret = u;
	return 0;
}

/* Connections waiting to be accepted, fds in flight, relative names: refused. */
static int check_dumpable(const struct unix_diag_sk *s, const struct proc_fdinfo *fi,
			  const char *label)
{
	const char *scm = proc_fdinfo_get(fi, "scm_fds");

	if (s->state == TCP_LISTEN && (s->rqlen || s->nicons)) {
		pr_err("%s: a listening unix socket with %u connections not accepted yet; stasis "
		       "cannot checkpoint them: let the program accept them first",
		       label, s->rqlen ? s->rqlen : s->nicons);
		return -ENOTSUP;
	}
	if (scm && !streq(scm, "0")) {
		pr_err("%s: %s file descriptors are in flight in its queue (SCM_RIGHTS); stasis "
		       "cannot checkpoint them: let the program receive them first",
		       label, scm);
		return -ENOTSUP;
	}
	if (s->namelen && s->name[0] != '\0' && s->name[0] != '/') {
		pr_err("%s: it is bound to the relative name %.*s, which depends on the directory "
		       "it was bound in; stasis cannot restore it: bind it to an absolute path",
		       label, (int)s->namelen, s->name);
		return -ENOTSUP;
	}
	return 0;
}

/* A filesystem name: its owner and mode, or that the file was removed since the bind. */
static int fill_name(struct arena *a, const struct unix_diag_sk *s, UnixSkEntry *e)
{
	char path[sizeof(s->name) + 1];
	struct stat st;

	e->name.data = arena_alloc(a, s->namelen ? s->namelen : 1);
	if (!e->name.data)
		return -ENOMEM;
	memcpy(e->name.data, s->name, s->namelen);
	e->name.len = s->namelen;
	if (!s->namelen || s->name[0] == '\0' || !s->has_vfs)
		return 0;
	memcpy(path, s->name, s->namelen);
	path[s->namelen] = '\0';
	if (stat(path, &st) < 0 || st.st_ino != s->vfs_ino || !S_ISSOCK(st.st_mode)) {
		e->has_deleted = true;
		e->deleted = true;
		return 0;
	}
	e->file_perms = ARENA_MSG(a, FilePermsEntry, FILE_PERMS_ENTRY__INIT);
	if (!e->file_perms)
		return -ENOMEM;
	e->file_perms->mode = st.st_mode;
	e->file_perms->uid = st.st_uid;
	e->file_perms->gid = st.st_gid;
	return 0;
}

static UnixSkEntry *new_entry(struct arena *a, const struct unix_diag_sk *s)
{
	UnixSkEntry *e = ARENA_MSG(a, UnixSkEntry, UNIX_SK_ENTRY__INIT);

	if (!e)
		return NULL;
	e->fown = ARENA_MSG(a, FownEntry, FOWN_ENTRY__INIT);
	e->opts = ARENA_MSG(a, SkOptsEntry, SK_OPTS_ENTRY__INIT);
	if (!e->fown || !e->opts || fill_name(a, s, e) < 0)
		return NULL;
	e->ino = s->ino;
	e->type = s->type;
	e->state = s->state;
	e->peer = s->peer;
	e->backlog = s->state == TCP_LISTEN ? s->wqlen : 0;
	if (s->shutdown) {
		/* RCV_SHUTDOWN and SEND_SHUTDOWN are sk_shutdown's READ and WRITE. */
		e->has_shutdown = true;
		e->shutdown = (SkShutdown)(s->shutdown & 3);
	}
	return e;
}

static int remember(struct dump_unix *u, UnixSkEntry *e, bool queued, pid_t pid, int fd)
{
	struct dump_usk *n = reallocarray(u->sks, u->n + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	u->sks = n;
	u->sks[u->n++] = (struct dump_usk){e, queued, pid, fd};
	return 0;
}

/* The task's socket fd, in the dumper: its own description, to read its options and queue. */
static int task_socket(struct dump_unix *u, pid_t pid, int fd, const char *label)
{
	int sk, r;

	if (u->pidfd_pid != pid) {
		u->pidfd = safe_close(u->pidfd);
		u->pidfd = sys_pidfd_open(pid, 0);
		u->pidfd_pid = u->pidfd < 0 ? 0 : pid;
	}
	sk = u->pidfd < 0 ? -1 : sys_pidfd_getfd(u->pidfd, fd, 0);
	if (sk < 0) {
		r = negative_errno();
		pr_err("%s: cannot take a copy of it with pidfd_getfd: %s", label, strerror(-r));
		return r;
	}
	return sk;
}

/* The queue of the socket sk, into sk-queues.img for the socket id. */
static int dump_queue(struct dump_ctx *ctx, int sk, int type, uint32_t id, const char *label)
{
	_cleanup_(sk_queue_done) struct sk_queue q = {};
	int r;

	r = sk_queue_peek(sk, type, label, &q);
	if (r < 0)
		return r;
	pr_info("%s: %zu bytes queued in %zu packets", label, q.len, q.n);
	return dump_sk_queue_write(ctx, &q, id);
}

int dump_unix_fd(struct dump_ctx *ctx, int fd, const struct stat *st, const struct proc_fdinfo *fi,
		 uint32_t *ret_id)
{
	struct arena *a = &ctx->files->arena;
	_cleanup_close_ int sk = -1;
	const struct unix_diag_sk *s;
	struct dump_unix *u;
	UnixSkEntry *e;
	FileEntry *fe;
	char label[80];
	int r;

	snprintf(label, sizeof(label), "pid %d fd %d (socket:[%lu], unix)", ctx->pid, fd,
		 (unsigned long)st->st_ino);
	r = unix_state(ctx, &u);
	if (r < 0)
		return r;
	s = unix_diag_find(&u->diag, (uint32_t)st->st_ino);
	if (!s) {
		pr_err("%s: sock_diag does not list it: is it in another network namespace? "
		       "stasis cannot checkpoint it",
		       label);
		return -ENOTSUP;
	}
	r = check_dumpable(s, fi, label);
	if (r < 0)
		return r;
	e = new_entry(a, s);
	if (!e || dump_files_new(ctx->files, FD_TYPES__UNIXSK, &fe) < 0)
		return -ENOMEM;
	e->id = fe->id;
	e->flags = fi->flags & ~(uint32_t)O_CLOEXEC;
	fe->usk = e;
	sk = task_socket(u, ctx->pid, fd, label);
	if (sk < 0)
		return sk;
	r = sk_opts_read(sk, label, e->opts);
	if (r == 0 && s->state != TCP_LISTEN && s->rqlen)
		r = dump_queue(ctx, sk, s->type, e->id, label);
	if (r == 0)
		r = remember(u, e, s->state != TCP_LISTEN && s->rqlen, ctx->pid, fd);
	if (r < 0)
		return r;
	*ret_id = fe->id;
	return 0;
}

/* For --ext-unix-sk: the peer outside the tree, as an entry the restore connects to by name. */
static int add_external(struct dump_files *f, struct dump_unix *u, const struct dump_usk *k)
{
	const struct unix_diag_sk *p = unix_diag_find(&u->diag, k->e->peer);
	UnixSkEntry *e;
	FileEntry *fe;

	for (size_t i = 0; i < f->n; i++)
		if (f->entries[i]->usk && f->entries[i]->usk->ino == k->e->peer)
			return 0; /* another socket of the tree connects to it too */
	if (!p || !p->namelen) {
		pr_err("pid %d fd %d: its unix socket's peer (socket:[%u]) is outside the dumped "
		       "tree and has no name to connect to again; stasis cannot restore it even "
		       "with --ext-unix-sk",
		       k->pid, k->fd, k->e->peer);
		return -ENOTSUP;
	}
	if (k->queued && k->e->type != SOCK_DGRAM) {
		pr_err("pid %d fd %d: data from a peer outside the tree (socket:[%u]) is queued in "
		       "it; stasis cannot queue it again: let the program read it first",
		       k->pid, k->fd, k->e->peer);
		return -ENOTSUP;
	}
	e = new_entry(&f->arena, p);
	if (!e || dump_files_new(f, FD_TYPES__UNIXSK, &fe) < 0)
		return -ENOMEM;
	e->id = fe->id;
	e->uflags = USK_EXTERN;
	fe->usk = e;
	return 0;
}

static bool in_tree(const struct dump_unix *u, uint32_t ino)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->sks[i].e->ino == ino)
			return true;
	return false;
}

int dump_unix_finish(struct dump_files *f)
{
	struct dump_unix *u = f->usk;
	int r;

	if (!u)
		return 0;
	for (size_t i = 0; i < u->n; i++) {
		const struct dump_usk *k = &u->sks[i];

		if (!k->e->peer || in_tree(u, k->e->peer))
			continue;
		if (!u->ext_unix_sk) {
			pr_err("pid %d fd %d: its unix socket is connected to socket:[%u], which "
			       "no "
			       "process of the dumped tree holds; dump that process too, or pass "
			       "--ext-unix-sk to connect to its name again at restore",
			       k->pid, k->fd, k->e->peer);
			return -ENOTSUP;
		}
		r = add_external(f, u, k);
		if (r < 0)
			return r;
	}
	return 0;
}

int dump_unix_commit(struct dump_files *f)
{
	return f->sk_queues ? img_writer_commit(TAKE_PTR(f->sk_queues)) : 0;
}

void dump_unix_free(struct dump_files *f)
{
	struct dump_unix *u = f->usk;

	if (!u)
		return;
	unix_diag_free(&u->diag);
	safe_close(u->pidfd);
	free(u->sks);
	free(u);
	f->usk = NULL;
}
