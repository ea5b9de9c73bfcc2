/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unix sockets (docs/files.md, "Unix sockets"), made by the controller
 * before the task exists, which inherits them like its other files
 * (files.c):
 *
 *  - two sockets that are each other's peer: socketpair(), both ends at
 *    once; the end no fd has asked for yet waits in the shared list until
 *    its task (or fd) comes;
 *  - any other: socket(), bound to its name, listen()ing with its backlog,
 *    connected to its peer's name (the peer made first if it is in the
 *    tree; outside of it for --ext-unix-sk);
 *
 * then the options, the data of sk-queues.img sent again (from the peer for
 * a pair, to the socket's name otherwise), the shutdown state (last: it
 * stops sending) and the status flags.
 */
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sorted.h"
#include "files/file.h"
#include "files/sock.h"
#include "restore/internal.h"
#include "sk-packet.pb-c.h"

static const UnixSkEntry *usk_of(const struct rst_images *img, uint32_t id)
{
	const FileEntry *fe = rst_file_entry(img, id);

	return fe && fe->type == FD_TYPES__UNIXSK ? fe->usk : NULL;
}

static int cmp_u32(uint32_t x, uint32_t y)
{
	return (x > y) - (x < y);
}

static int cmp_usk_ino(const void *a, const void *b)
{
	return cmp_u32(((const struct rst_usk_ino *)a)->ino, ((const struct rst_usk_ino *)b)->ino);
}

static uint64_t usk_ino_key(const void *base, size_t i)
{
	return ((const struct rst_usk_ino *)base)[i].ino;
}

/* The unix socket of inode ino (a peer): by halves in an index of files.img made once. */
static const UnixSkEntry *usk_by_ino(struct rst_ctx *c, uint32_t ino)
{
	struct rst_shared *s = c->shared;
	size_t at;

	if (!s->usk_inos) {
		s->usk_inos = malloc((c->img.nfiles ? c->img.nfiles : 1) * sizeof(*s->usk_inos));
		if (!s->usk_inos)
			return NULL;
		for (size_t i = 0; i < c->img.nfiles; i++)
			if (c->img.files[i]->type == FD_TYPES__UNIXSK && c->img.files[i]->usk)
				s->usk_inos[s->nusk_inos++] = (struct rst_usk_ino){
					c->img.files[i]->usk->ino, c->img.files[i]->id};
		qsort(s->usk_inos, s->nusk_inos, sizeof(*s->usk_inos), cmp_usk_ino);
	}
	at = sorted_find(s->usk_inos, s->nusk_inos, ino, usk_ino_key);
	return at < s->nusk_inos ? usk_of(&c->img, s->usk_inos[at].id) : NULL;
}

static int cmp_packet(const void *a, const void *b)
{
	const struct rst_sk_packet *x = a, *y = b;

	return x->id_for != y->id_for ? cmp_u32(x->id_for, y->id_for) : cmp_u32(x->seq, y->seq);
}

int rst_sk_queues_load(struct rst_ctx *c)
{
	_cleanup_img_file_ struct img_file *f = NULL;
	struct rst_shared *s = c->shared;
	int r;

	if (s->skq_loaded)
		return 0;
	r = img_open(c->img.dir, IMG_SK_QUEUES, 0, &f);
	if (r == -ENOENT) {
		s->skq_loaded = true;
		return 0;
	}
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_img_entry_ struct img_entry e = {};
		const SkPacketEntry *pe;
		struct rst_sk_packet *n;

		r = img_next(f, &e);
		if (r <= 0)
			break;
		n = reallocarray(s->skq, s->nskq + 1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->skq = n;
		n = &s->skq[s->nskq];
		n->bytes = malloc(e.extra_len ? e.extra_len : 1);
		if (!n->bytes)
			return -ENOMEM;
		memcpy(n->bytes, e.extra, e.extra_len);
		n->len = e.extra_len;
		pe = (const SkPacketEntry *)e.msg;
		n->id_for = pe->id_for;
		n->fromlen = (socklen_t)MIN(pe->has_addr ? pe->addr.len : 0, sizeof(n->from));
		if (n->fromlen)
			memcpy(&n->from, pe->addr.data, n->fromlen);
		n->seq = (uint32_t)s->nskq;
		s->nskq++;
	}
	/* By socket, each socket's packets in their order: refill() finds them by halves. */
	qsort(s->skq, s->nskq, sizeof(*s->skq), cmp_packet);
	s->skq_loaded = r == 0;
	return r;
}

/* The socket name of e as an address; false if it has none. */
static bool name_addr(const UnixSkEntry *e, struct sockaddr_un *ret, socklen_t *ret_len)
{
	if (!e->name.len || e->name.len > sizeof(ret->sun_path))
		return false;
	*ret = (struct sockaddr_un){.sun_family = AF_UNIX};
	memcpy(ret->sun_path, e->name.data, e->name.len);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + e->name.len);
	return true;
}

static const char *name_text(const UnixSkEntry *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s%.*s", e->name.len && !e->name.data[0] ? "@" : "",
		 (int)(e->name.len && !e->name.data[0] ? e->name.len - 1 : e->name.len),
		 (const char *)e->name.data + (e->name.len && !e->name.data[0]));
	return buf;
}

/*
 * Bind fd to the name of e. A filesystem name left on disk by the dumped
 * program (killed, its socket file not removed) is removed first; the file
 * gets its owner and mode back; a name deleted before the dump is deleted
 * again.
 */
static int bind_name(struct rst_ctx *c, int fd, const UnixSkEntry *e, const char *label)
{
	struct sockaddr_un sa;
	socklen_t len;
	char path[sizeof(sa.sun_path) + 1], text[sizeof(sa.sun_path) + 2];
	bool fs = e->name.data[0] != '\0';
	struct stat st;
	int r;

	if (!name_addr(e, &sa, &len))
		return 0;
	memcpy(path, sa.sun_path, e->name.len);
	path[e->name.len] = '\0';
	if (fs && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot bind it to %s: %s", label, name_text(e, text, sizeof(text)),
			strerror(-r));
		return r;
	}
	if (fs && e->file_perms &&
	    (chmod(path, e->file_perms->mode & 07777) < 0 ||
	     lchown(path, e->file_perms->uid, e->file_perms->gid) < 0)) {
		r = negative_errno();
		rst_err(c, "%s: cannot give %s its mode and owner back: %s", label, path,
			strerror(-r));
		return r;
	}
	if (fs && e->has_deleted && e->deleted)
		unlink(path);
	return 0;
}

/*
 * A connected stream socket keeps no name of its own: an accepted socket
 * shows its listener's name, which the listener holds again.
 */
static bool binds_name(const UnixSkEntry *e)
{
	return e->name.len && !(e->type != SOCK_DGRAM && e->state == TCP_ESTABLISHED);
}

static uint64_t usk_key(const void *base, size_t i)
{
	return ((const struct rst_usk *)base)[i].id;
}

/* Where socket id is in s->usks (kept in id order), or would be. */
static size_t usk_slot(const struct rst_shared *s, uint32_t id)
{
	return sorted_lower_bound(s->usks, s->nusks, id, usk_key);
}

static uint64_t skq_key(const void *base, size_t i)
{
	return ((const struct rst_sk_packet *)base)[i].id_for;
}

static int pending_add(struct rst_shared *s, uint32_t id, int fd)
{
	size_t at = usk_slot(s, id);

	if (s->nusks == s->usks_cap) {
		size_t cap = s->usks_cap ? s->usks_cap * 2 : 64;
		struct rst_usk *n = reallocarray(s->usks, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->usks = n;
		s->usks_cap = cap;
	}
	memmove(s->usks + at + 1, s->usks + at, (s->nusks - at) * sizeof(*s->usks));
	s->usks[at] = (struct rst_usk){id, fd};
	s->nusks++;
	return 0;
}

/* The socket id if it was made already (an end of a pair, a peer); NULL if not made yet. */
static struct rst_usk *made(struct rst_shared *s, uint32_t id)
{
	size_t at = usk_slot(s, id);

	return at < s->nusks && s->usks[at].id == id ? &s->usks[at] : NULL;
}

/* Send again, through from (to to, if not NULL), what was queued in socket id. */
static int refill(struct rst_ctx *c, uint32_t id, int from, const struct sockaddr_un *to,
		  socklen_t tolen, const char *label)
{
	const struct rst_shared *s = c->shared;
	size_t bytes = 0;
	int r;

	for (size_t i = sorted_lower_bound(s->skq, s->nskq, id, skq_key);
	     i < s->nskq && s->skq[i].id_for == id; i++) {
		r = sk_send(from, s->skq[i].bytes, s->skq[i].len, to, tolen, label);
		if (r < 0)
			return r;
		bytes += s->skq[i].len;
	}
	if (bytes)
		rst_info(c, "%s: %zu bytes queued again", label, bytes);
	return 0;
}

/* The queue of a socket that has no peer to send it: sent to its name from a socket of ours. */
static int refill_by_name(struct rst_ctx *c, const UnixSkEntry *e, const char *label)
{
	_cleanup_close_ int tmp = -1;
	struct sockaddr_un sa;
	socklen_t len;

	for (size_t i = 0; i < c->shared->nskq; i++)
		if (c->shared->skq[i].id_for == e->id)
			goto has_data;
	return 0;
has_data:
	if (e->type != SOCK_DGRAM || !name_addr(e, &sa, &len)) {
		rst_err(c,
			"%s: data was queued in it, and it has no peer or name to send it "
			"again through",
			label);
		return -EOPNOTSUPP;
	}
	tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tmp < 0)
		return negative_errno();
	return refill(c, e->id, tmp, &sa, len, label);
}

static int shut(struct rst_ctx *c, int fd, const UnixSkEntry *e, const char *label)
{
	static const int how[] = {[SK_SHUTDOWN__READ] = SHUT_RD,
				  [SK_SHUTDOWN__WRITE] = SHUT_WR,
				  [SK_SHUTDOWN__BOTH] = SHUT_RDWR};
	int r;

	if (!e->has_shutdown || e->shutdown == SK_SHUTDOWN__NONE || e->shutdown > SK_SHUTDOWN__BOTH)
		return 0;
	if (shutdown(fd, how[e->shutdown]) == 0)
		return 0;
	r = negative_errno();
	rst_err(c, "%s: cannot shut it down again: %s", label, strerror(-r));
	return r;
}

/* What every socket gets once made: options and name. */
static int setup(struct rst_ctx *c, int fd, const UnixSkEntry *e, const char *label)
{
	int r = e->opts ? sk_opts_apply(fd, e->opts, label) : 0;

	if (r == 0 && binds_name(e))
		r = bind_name(c, fd, e, label);
	return r;
}

/* Shutdown and status flags: last, once the data is queued again. */
static int finish(struct rst_ctx *c, int fd, const UnixSkEntry *e, const char *label)
{
	int r = shut(c, fd, e, label);

	return r < 0 ? r : file_set_flags(fd, e->flags, label);
}

static int make_pair(struct rst_ctx *c, const UnixSkEntry *e, const UnixSkEntry *p,
		     const char *label)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, (int)e->type | SOCK_CLOEXEC, 0, sv) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot make a socket pair: %s", label, strerror(-r));
		return r;
	}
	sv[0] = rst_fd_move_up(c, sv[0], label);
	if (sv[0] < 0) {
		close(sv[1]);
		return sv[0];
	}
	sv[1] = rst_fd_move_up(c, sv[1], label);
	r = sv[1] < 0 ? sv[1] : pending_add(c->shared, p->id, sv[1]);
	if (r < 0) {
		close(sv[0]);
		safe_close(sv[1]);
		return r;
	}
	r = setup(c, sv[0], e, label);
	if (r == 0)
		r = setup(c, sv[1], p, label);
	if (r == 0)
		r = refill(c, e->id, sv[1], NULL, 0, label);
	if (r == 0)
		r = refill(c, p->id, sv[0], NULL, 0, label);
	if (r == 0)
		r = finish(c, sv[0], e, label);
	if (r == 0)
		r = finish(c, sv[1], p, label);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	return sv[0];
}

static int make_one(struct rst_ctx *c, const UnixSkEntry *e, const char *label);

/* Connect fd to its peer p by name; p made first (and kept for its fd) if it is in the tree. */
static int connect_peer(struct rst_ctx *c, int fd, const UnixSkEntry *p, const char *label)
{
	struct sockaddr_un sa;
	socklen_t len;
	char text[sizeof(sa.sun_path) + 2];
	int r;

	if (!(p->uflags & USK_EXTERN) && !made(c->shared, p->id)) {
		int pfd = make_one(c, p, label);

		if (pfd < 0)
			return pfd;
		r = pending_add(c->shared, p->id, pfd);
		if (r < 0) {
			close(pfd);
			return r;
		}
	}
	if (!name_addr(p, &sa, &len)) {
		rst_err(c, "%s: its peer socket:[%u] has no name to connect to", label, p->ino);
		return -EOPNOTSUPP;
	}
	if (connect(fd, (struct sockaddr *)&sa, len) == 0)
		return 0;
	r = negative_errno();
	rst_err(c, "%s: cannot connect it to %s%s: %s", label, name_text(p, text, sizeof(text)),
		p->uflags & USK_EXTERN ? " (outside the dumped tree)" : "", strerror(-r));
	return r;
}

/* A socket that is not one end of a pair: bound, listening or connected to its peer's name. */
static int make_one(struct rst_ctx *c, const UnixSkEntry *e, const char *label)
{
	const UnixSkEntry *p = e->peer ? usk_by_ino(c, e->peer) : NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (e->peer && !p) {
		rst_err(c, "%s: its peer socket:[%u] is not in files.img", label, e->peer);
		return -EBADMSG;
	}
	fd = socket(AF_UNIX, (int)e->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot make a unix socket: %s", label, strerror(-r));
		return r;
	}
	fd = rst_fd_move_up(c, TAKE_FD(fd), label);
	if (fd < 0)
		return fd;
	r = setup(c, fd, e, label);
	if (r == 0 && e->state == TCP_LISTEN && listen(fd, (int)e->backlog) < 0) {
		r = negative_errno();
		rst_err(c, "%s: cannot listen: %s", label, strerror(-r));
	}
	if (r == 0 && p)
		r = connect_peer(c, fd, p, label);
	if (r == 0)
		r = refill_by_name(c, e, label);
	if (r == 0)
		r = finish(c, fd, e, label);
	return r < 0 ? r : TAKE_FD(fd);
}

int rst_unix_open(struct rst_ctx *c, uint32_t id, const char *what)
{
	const UnixSkEntry *e = usk_of(&c->img, id), *p;
	struct rst_usk *m = made(c->shared, id);
	char label[96];
	int fd, r;

	if (!e) {
		rst_err(c, "%s: file %u is not a unix socket in files.img", what, id);
		return -EBADMSG;
	}
	snprintf(label, sizeof(label), "restore: pid %d: %s (socket:[%u], unix)", (int)c->pid, what,
		 e->ino);
	if (m && m->fd >= 0) {
		/* Made with its peer: it is this fd's now (closed with the task's others). */
		int fd = m->fd;

		m->fd = -1;
		return fd;
	}
	r = rst_sk_queues_load(c);
	if (r < 0)
		return r;
	p = e->peer ? usk_by_ino(c, e->peer) : NULL;
	if (p && p->peer == e->ino && !(p->uflags & USK_EXTERN))
		fd = make_pair(c, e, p, label);
	else
		fd = make_one(c, e, label);
	/* Listed as made, so that a socket connecting to it later does not make it again. */
	r = fd < 0 ? fd : pending_add(c->shared, id, -1);
	if (r < 0) {
		safe_close(fd);
		return r;
	}
	return fd;
}

void rst_unix_free(struct rst_shared *s)
{
	for (size_t i = 0; i < s->nusks; i++)
		safe_close(s->usks[i].fd);
	for (size_t i = 0; i < s->nskq; i++)
		free(s->skq[i].bytes);
	free(s->usks);
	free(s->usk_inos);
	free(s->skq);
	s->usks = NULL;
	s->usk_inos = NULL;
	s->skq = NULL;
	s->nusks = s->usks_cap = s->nusk_inos = s->nskq = 0;
}
