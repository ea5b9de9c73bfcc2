/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Sockets: what unix and inet sockets share (docs/files.md, "Unix sockets").
 *
 *  - the sockets of a kind as the kernel's sock_diag netlink interface lists
 *    them (unix: inode, type, state, peer, name, queue lengths, shutdown),
 *    asked once per dump and looked up by inode;
 *  - the socket options that matter (SkOptsEntry: buffer sizes, timeouts,
 *    SO_PASSCRED ...), read and set again;
 *  - the data queued in a socket, copied without taking it out (MSG_PEEK
 *    with SO_PEEK_OFF, the offset put back afterwards), and sent again.
 *
 * `label` names the socket in messages ("pid 42 fd 3 (socket:[1234])");
 * every function logs its failure once and returns a negative errno.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sk-opts.pb-c.h"

/* UnixSkEntry.uflags: the socket is outside the tree (--ext-unix-sk), as CRIU's. */
#define USK_EXTERN (1u << 0)

/* A unix socket as sock_diag describes it. */
struct unix_diag_sk {
	uint32_t ino;
	uint32_t peer;    /* inode of the peer, 0 if none */
	uint8_t type;     /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t state;    /* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE ... */
	uint8_t shutdown; /* RCV_SHUTDOWN (1) | SEND_SHUTDOWN (2) */
	uint32_t rqlen;   /* bytes queued; a listener: connections not accepted yet */
	uint32_t wqlen;   /* a listener: its backlog */
	bool has_vfs;     /* bound to a filesystem name: the inode it made */
	uint32_t vfs_dev, vfs_ino;
	uint32_t nicons; /* a listener: connections not accepted yet */
	uint8_t namelen; /* bytes of name (sun_path); an abstract name starts with \0 */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct unix_diag_table {
	struct unix_diag_sk *sk; /* sorted by inode */
	size_t n;
};

/* Every unix socket of our network namespace. */
int unix_diag_collect(struct unix_diag_table *ret);
const struct unix_diag_sk *unix_diag_find(const struct unix_diag_table *t, uint32_t ino);
void unix_diag_free(struct unix_diag_table *t);

/* The options of socket fd into e. */
int sk_opts_read(int fd, const char *label, SkOptsEntry *e);
/* Set them again on fd. */
int sk_opts_apply(int fd, const SkOptsEntry *e, const char *label);

/* What a socket's receive queue holds: packets (dgram, seqpacket) or chunks (stream). */
struct sk_queue {
	uint8_t *data; /* malloc'ed, every packet's bytes one after the other */
	size_t len;
	uint32_t *lens; /* malloc'ed, the length of each packet */
	size_t n;
	/* With sk_queue_peek_from() only: each packet's sender (malloc'ed), or NULL. */
	struct sockaddr_storage *from;
	socklen_t *fromlens;
};

void sk_queue_done(struct sk_queue *q);
/*
 * Copy the queue of socket fd (of type type) without taking it out. Data
 * carrying file descriptors (SCM_RIGHTS) is refused: the fds in flight
 * cannot be kept. A zero-length datagram is refused too (the kernel's peek
 * offset cannot step over it).
 */
int sk_queue_peek(int fd, int type, const char *label, struct sk_queue *ret);
/* The same, with the sender's address of each datagram (ret->from). */
int sk_queue_peek_from(int fd, int type, const char *label, struct sk_queue *ret);
/* Send len bytes as one packet through fd (to to, a struct sockaddr_*, if not NULL). */
int sk_send(int fd, const void *data, size_t len, const void *to, socklen_t tolen,
	    const char *label);
