/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Internet sockets without a connection (docs/files.md, "Internet
 * sockets"): TCP sockets that listen or were only bound, UDP sockets bound
 * or connected, IPv4 and IPv6, with their options. What the kernel says of
 * a socket is read on the task's own description (pidfd_getfd):
 * getsockname(), getpeername(), TCP_INFO for the state and a listener's
 * backlog, getsockopt() for the options.
 *
 * `label` names the socket in messages; every function logs its failure
 * once and returns a negative errno.
 */

#include <stdbool.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "sk-inet.pb-c.h"

/*
 * The state of socket sk into e (its arrays in a): family, type, protocol,
 * state, addresses, ports, backlog, options. A connection (or one being
 * made), a listener with connections not accepted yet and a UDP socket
 * holding back corked data are refused. ret_queued: a UDP socket with
 * datagrams to read.
 */
int inet_sk_read(int sk, const char *label, struct arena *a, InetSkEntry *e, bool *ret_queued);

/* Its local (or, dst, peer) address as a sockaddr; 0 if e holds none. */
socklen_t inet_sk_addr(const InetSkEntry *e, bool dst, struct sockaddr_storage *ret);

/*
 * A new socket (close-on-exec) made as e says, bound, listening, connected,
 * its options set; the status flags and the last options wait for
 * inet_sk_finish(), once its queue is filled again.
 */
int inet_sk_make(const InetSkEntry *e, const char *label);
int inet_sk_finish(int fd, const InetSkEntry *e, const char *label);

/*
 * Queue a datagram in the socket e describes (made already): sent to its
 * address from a socket bound to the datagram's sender, from (fromlen
 * bytes). -EADDRINUSE or -EADDRNOTAVAIL when that address cannot be bound
 * here, logged.
 */
int inet_sk_requeue(const InetSkEntry *e, const void *data, size_t len, const void *from,
		    socklen_t fromlen, const char *label);
