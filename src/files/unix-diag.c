/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The unix sockets of our network namespace, as sock_diag lists them
 * (linux/unix_diag.h): one dump request for all of them, answered in
 * batches of netlink messages, kept sorted by inode. Asking once costs one
 * round of netlink messages, however many sockets the tree holds.
 */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "files/sock.h"

struct collect {
	struct unix_diag_sk *sk;
	size_t n, cap;
};

static void parse_attr(const struct nlattr *a, struct unix_diag_sk *s)
{
	const void *p = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case UNIX_DIAG_NAME:
		s->namelen = (uint8_t)MIN(len, sizeof(s->name));
		memcpy(s->name, p, s->namelen);
		break;
	case UNIX_DIAG_PEER:
		if (len >= sizeof(uint32_t))
			s->peer = mnl_attr_get_u32(a);
		break;
	case UNIX_DIAG_RQLEN:
		if (len >= sizeof(struct unix_diag_rqlen)) {
			const struct unix_diag_rqlen *q = p;

			s->rqlen = q->udiag_rqueue;
			s->wqlen = q->udiag_wqueue;
		}
		break;
	case UNIX_DIAG_VFS:
		if (len >= sizeof(struct unix_diag_vfs)) {
			const struct unix_diag_vfs *v = p;

			s->has_vfs = true;
			s->vfs_dev = v->udiag_vfs_dev;
			s->vfs_ino = v->udiag_vfs_ino;
		}
		break;
	case UNIX_DIAG_ICONS:
		s->nicons = (uint32_t)(len / sizeof(uint32_t));
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			s->shutdown = *(const uint8_t *)p;
		break;
	}
}

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	const struct unix_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct collect *c = data;
	struct unix_diag_sk *s;
	const struct nlattr *a;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return MNL_CB_ERROR;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct unix_diag_sk *n = reallocarray(c->sk, cap, sizeof(*n));

		if (!n)
			return MNL_CB_ERROR;
		c->sk = n;
		c->cap = cap;
	}
	s = &c->sk[c->n++];
	*s = (struct unix_diag_sk){
		.ino = m->udiag_ino, .type = m->udiag_type, .state = m->udiag_state};
	mnl_attr_for_each(a, nlh, sizeof(*m)) parse_attr(a, s);
	return MNL_CB_OK;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct unix_diag_sk *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int ask(struct mnl_socket *nl, struct collect *c)
{
	_cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
	struct unix_diag_req *req;
	struct nlmsghdr *nlh;
	unsigned int seq = 1, port = mnl_socket_get_portid(nl);
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_UNIX;
	req->udiag_states = ~0u;
	req->udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS |
			  UDIAG_SHOW_RQLEN;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return negative_errno();
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE * 4);
		if (n < 0)
			return negative_errno();
		r = mnl_cb_run(buf, (size_t)n, seq, port, on_message, c);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return errno ? negative_errno() : -EBADMSG;
	}
}

int unix_diag_collect(struct unix_diag_table *ret)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	struct collect c = {};
	int r;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = negative_errno();
		pr_err("cannot open a sock_diag netlink socket to list the unix sockets: %s",
		       strerror(-r));
		if (nl)
			mnl_socket_close(nl);
		return r;
	}
	r = ask(nl, &c);
	mnl_socket_close(nl);
	if (r < 0) {
		pr_err("sock_diag did not list the unix sockets: %s (is unix_diag, "
		       "CONFIG_UNIX_DIAG, available?)",
		       strerror(-r));
		free(c.sk);
		return r;
	}
	/* The shutdown attribute is always sent; the table is looked up by inode. */
	qsort(c.sk, c.n, sizeof(*c.sk), cmp_ino);
	*ret = (struct unix_diag_table){c.sk, c.n};
	return 0;
}

const struct unix_diag_sk *unix_diag_find(const struct unix_diag_table *t, uint32_t ino)
{
	struct unix_diag_sk key = {.ino = ino};

	return t->n ? bsearch(&key, t->sk, t->n, sizeof(key), cmp_ino) : NULL;
}

void unix_diag_free(struct unix_diag_table *t)
{
	free(t->sk);
	*t = (struct unix_diag_table){};
}
